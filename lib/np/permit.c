/* lib/np/permit.c - permit-open list parsing and matching. */
#include "np/permit.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PERMIT_MAX_ITEMS 256

struct permit_item {
    char *text; /* "host:port" as given (trimmed) */
    char *host; /* "*" or host name */
    int port;   /* 0 = any */
};

struct np_permit {
    struct permit_item *items;
    size_t n;
};

void np_permit_free(struct np_permit *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        np_free(p->items[i].text);
        np_free(p->items[i].host);
    }
    np_free(p->items);
    np_free(p);
}

static int parse_item(const char *s, size_t len, struct permit_item *it)
{
    const char *colon = NULL;
    int64_t port = 0;

    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    if (!colon || colon == s || (size_t)(colon - s) == len - 1)
        return NP_ERR_FORMAT;
    for (const char *c = s; c < colon; c++)
        if ((unsigned char)*c <= ' ')
            return NP_ERR_FORMAT;
    size_t plen = len - (size_t)(colon - s) - 1;
    if (!(plen == 1 && colon[1] == '*') && np_parse_i64n(colon + 1, plen, 1, 65535, &port) != 0)
        return NP_ERR_FORMAT;
    it->text = np_memdup0(s, len);
    it->host = np_memdup0(s, (size_t)(colon - s));
    it->port = (int)port;
    if (!it->text || !it->host) {
        np_free(it->text);
        np_free(it->host);
        return NP_ERR_NOMEM;
    }
    return 0;
}

int np_permit_parse(const char *csv, struct np_permit **out, char *errbuf, size_t errlen)
{
    struct np_permit *p = NULL;
    const char *s = csv;
    int r = NP_ERR_INTERNAL;

    *out = NULL;
    if (!csv)
        return NP_ERR_INVAL;
    if ((p = np_calloc(1, sizeof(*p))) == NULL)
        return NP_ERR_NOMEM;
    if ((p->items = np_calloc(PERMIT_MAX_ITEMS, sizeof(*p->items))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *a = s, *b = s + len;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a) {
            if (p->n == PERMIT_MAX_ITEMS) {
                r = NP_ERR_TOOBIG;
                goto out;
            }
            if ((r = parse_item(a, (size_t)(b - a), &p->items[p->n])) != 0) {
                if (errbuf && errlen)
                    snprintf(errbuf, errlen, "invalid permit-open entry '%.*s' (want host:port)",
                             (int)(b - a > 100 ? 100 : b - a), a);
                goto out;
            }
            p->n++;
        }
        s = end ? end + 1 : s + len;
    }
    *out = p;
    p = NULL;
    r = 0;
out:
    np_permit_free(p);
    return r;
}

int np_permit_allows(const struct np_permit *p, const char *host, int port)
{
    if (!p || !host)
        return 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct permit_item *it = &p->items[i];
        int host_ok = strcmp(it->host, "*") == 0 || strcasecmp(it->host, host) == 0;
        int port_ok = it->port == 0 || it->port == port;
        if (host_ok && port_ok)
            return 1;
    }
    return 0;
}

size_t np_permit_count(const struct np_permit *p)
{
    return p ? p->n : 0;
}

const char *np_permit_item(const struct np_permit *p, size_t i)
{
    return p && i < p->n ? p->items[i].text : NULL;
}
