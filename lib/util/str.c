/* lib/util/str.c - checked number parsing and small string helpers. */
#include "util/str.h"
#include "util/err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int np_parse_i64n(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0, lim;

    if (!s || n == 0)
        return NP_ERR_FORMAT;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n)
        return NP_ERR_FORMAT;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return NP_ERR_FORMAT;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return NP_ERR_TOOBIG;
        v = v * 10 + d;
    }
    int64_t r = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    if (r < min || r > max)
        return NP_ERR_TOOBIG;
    *out = r;
    return 0;
}

int np_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    return s ? np_parse_i64n(s, strlen(s), min, max, out) : NP_ERR_FORMAT;
}

int np_str_startswith(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int np_str_endswith(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

char *np_str_lower(char *s)
{
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return s;
}

char *np_str_trim(char *s)
{
    size_t n = strlen(s), a = 0;

    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    while (a < n && isspace((unsigned char)s[a]))
        a++;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
    return s;
}

int np_str_fmt(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t)n >= size) ? NP_ERR_TOOBIG : 0;
}
