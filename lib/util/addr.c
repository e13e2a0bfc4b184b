/* lib/util/addr.c - host:port parsing. */
#include "util/addr.h"
#include "util/err.h"
#include "util/str.h"

#include <stdint.h>
#include <string.h>

static int valid_host_chars(const char *h, size_t n, int v6)
{
    if (n == 0 || n > NP_HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c <= 0x20 || c == 0x7f || c == '/' || c == '[' || c == ']' || c == '@')
            return 0;
        if (c == ':' && !v6)
            return 0;
    }
    return 1;
}

int np_hostport_parse(const char *s, int default_port, char host[NP_HOST_MAX + 1], int *port)
{
    const char *h, *p = NULL, *colon;
    size_t hl;
    int v6 = 0;
    int64_t v;

    if (!s || !*s)
        return NP_ERR_FORMAT;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close)
            return NP_ERR_FORMAT;
        h = s + 1;
        hl = (size_t)(close - h);
        v6 = 1;
        if (close[1] == ':')
            p = close + 2;
        else if (close[1] != '\0')
            return NP_ERR_FORMAT;
    } else {
        colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) { /* bare IPv6 literal, no port */
            h = s;
            hl = strlen(s);
            v6 = 1;
        } else {
            h = s;
            hl = colon ? (size_t)(colon - s) : strlen(s);
            if (colon)
                p = colon + 1;
        }
    }
    if (!valid_host_chars(h, hl, v6))
        return NP_ERR_FORMAT;
    if (p) {
        if (np_parse_i64(p, 1, 65535, &v) != 0)
            return NP_ERR_FORMAT;
    } else {
        if (default_port < 1 || default_port > 65535)
            return NP_ERR_FORMAT;
        v = default_port;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)v;
    return 0;
}

int np_hostport_format(char *dst, size_t size, const char *host, int port)
{
    if (strchr(host, ':'))
        return np_str_fmt(dst, size, "[%s]:%d", host, port);
    return np_str_fmt(dst, size, "%s:%d", host, port);
}
