/* lib/util/buf.c - bounded growable buffer. Invariant: off + len < cap and
 * data[off + len] == '\0' whenever data != NULL. */
#include "util/buf.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

struct np_buf {
    char *data; /* storage, cap bytes, or NULL before the first append */
    size_t cap; /* allocated bytes */
    size_t off; /* read offset of the first unconsumed byte */
    size_t len; /* unconsumed content bytes */
    size_t max; /* hard maximum of len */
};

struct np_buf *np_buf_new(size_t max)
{
    struct np_buf *b;

    if (max == 0 || max > ((size_t)1 << 40))
        return NULL;
    if ((b = np_calloc(1, sizeof(*b))) == NULL)
        return NULL;
    b->max = max;
    return b;
}

void np_buf_free(struct np_buf *b)
{
    if (!b)
        return;
    np_free(b->data);
    np_free(b);
}

void np_buf_free_secret(struct np_buf *b)
{
    if (!b)
        return;
    np_freezero(b->data, b->cap);
    np_free(b);
}

size_t np_buf_len(const struct np_buf *b)
{
    return b->len;
}

size_t np_buf_max(const struct np_buf *b)
{
    return b->max;
}

const char *np_buf_ptr(const struct np_buf *b)
{
    return b->data ? b->data + b->off : "";
}

char *np_buf_mutable_ptr(struct np_buf *b)
{
    return b->data ? b->data + b->off : NULL;
}

/* Make room for `need` more content bytes plus the NUL. */
static int reserve(struct np_buf *b, size_t need)
{
    size_t want, ncap;
    char *n;

    if (need > b->max - b->len)
        return NP_ERR_TOOBIG;
    want = b->len + need + 1;
    if (b->data && b->off + want <= b->cap)
        return 0;
    if (b->data && want <= b->cap) { /* compact instead of growing */
        memmove(b->data, b->data + b->off, b->len + 1);
        b->off = 0;
        return 0;
    }
    ncap = b->cap ? b->cap : 64;
    while (ncap < want)
        ncap = ncap > ((size_t)-1) / 2 ? want : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1 > want ? b->max + 1 : want;
    if ((n = np_malloc(ncap)) == NULL)
        return NP_ERR_NOMEM;
    if (b->data)
        memcpy(n, b->data + b->off, b->len);
    n[b->len] = '\0';
    np_free(b->data);
    b->data = n;
    b->cap = ncap;
    b->off = 0;
    return 0;
}

int np_buf_put(struct np_buf *b, const void *data, size_t len)
{
    int r;

    if ((r = reserve(b, len)) != 0)
        return r;
    if (len)
        memcpy(b->data + b->off + b->len, data, len);
    b->len += len;
    b->data[b->off + b->len] = '\0';
    return 0;
}

int np_buf_put_str(struct np_buf *b, const char *s)
{
    return np_buf_put(b, s, strlen(s));
}

int np_buf_put_u8(struct np_buf *b, unsigned char c)
{
    return np_buf_put(b, &c, 1);
}

int np_buf_vputf(struct np_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n, r;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NP_ERR_INVAL;
    if ((r = reserve(b, (size_t)n)) != 0)
        return r;
    vsnprintf(b->data + b->off + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int np_buf_putf(struct np_buf *b, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = np_buf_vputf(b, fmt, ap);
    va_end(ap);
    return r;
}

int np_buf_consume(struct np_buf *b, size_t n)
{
    if (n > b->len)
        return NP_ERR_INVAL;
    if (n == 0)
        return 0;
    b->off += n;
    b->len -= n;
    if (b->len == 0)
        b->off = 0;
    b->data[b->off + b->len] = '\0';
    return 0;
}

void np_buf_reset(struct np_buf *b)
{
    b->off = b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int np_buf_take_line(struct np_buf *b, size_t limit, char **line, size_t *len)
{
    const char *p, *nl;
    size_t n;

    *line = NULL;
    if (len)
        *len = 0;
    p = np_buf_ptr(b);
    nl = b->len ? memchr(p, '\n', b->len) : NULL;
    if (!nl)
        return b->len >= limit ? NP_ERR_TOOBIG : NP_AGAIN;
    n = (size_t)(nl - p);
    if (n > limit)
        return NP_ERR_TOOBIG;
    if ((*line = np_memdup0(p, n > 0 && p[n - 1] == '\r' ? n - 1 : n)) == NULL)
        return NP_ERR_NOMEM;
    if (len)
        *len = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
    np_buf_consume(b, n + 1);
    return 0;
}

char *np_buf_detach(struct np_buf *b, size_t *len)
{
    char *s = np_memdup0(np_buf_ptr(b), b->len);

    if (!s)
        return NULL;
    if (len)
        *len = b->len;
    np_buf_reset(b);
    return s;
}
