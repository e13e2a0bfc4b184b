/*
 * lib/at/text.c - the text primitives of at_int.h: UTF-8 validation, Dart
 * length counting, case-insensitive slices and Dart date texts. Pure
 * functions over caller-owned memory; no allocation, no I/O.
 */
#include "at/at_int.h"
#include "util/err.h"
#include "util/time.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

size_t at__utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c;
    size_t len;

    if (n == 0)
        return 0;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] >= 0xC2 && u[0] <= 0xDF) {
        len = 2;
        c = u[0] & 0x1F;
    } else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        len = 3;
        c = u[0] & 0x0F;
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        len = 4;
        c = u[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (u[i] & 0x3F);
    }
    /* overlong forms, surrogates and values above U+10FFFF */
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

size_t at__utf16_len(const char *s, size_t n)
{
    size_t units = 0, i = 0;

    while (i < n) {
        uint32_t cp;
        size_t l = at__utf8_decode(s + i, n - i, &cp);
        if (l == 0)
            return (size_t)-1;
        units += cp >= 0x10000 ? 2 : 1;
        i += l;
    }
    return units;
}

bool at__cp_allowed(uint32_t cp)
{
    if (cp < 0xA0) /* ASCII is judged by the callers; C1 controls never */
        return false;
    switch (cp) {
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF:
        return false;
    default:
        break;
    }
    if (cp >= 0x2000 && cp <= 0x200A) /* Unicode spaces */
        return false;
    return true;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool at__eq_ci(const char *s, size_t n, const char *lit)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (lit[i] == '\0' || lower(s[i]) != lower(lit[i]))
            return false;
    return lit[i] == '\0';
}

bool at__starts_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (*s == '\0' || lower(*s) != lower(*prefix))
            return false;
    return true;
}

void at__lower_n(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s[i] = lower(s[i]);
}

bool at__is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* 0001-01-01 00:00:00.000Z and 9999-12-31 23:59:59.999Z */
#define DATE_MIN_MS (-62135596800000LL)
#define DATE_MAX_MS 253402300799999LL

void at__date_format(char *dst, size_t size, int64_t epoch_ms)
{
    if (epoch_ms < DATE_MIN_MS)
        epoch_ms = DATE_MIN_MS;
    if (epoch_ms > DATE_MAX_MS)
        epoch_ms = DATE_MAX_MS;
    np_time_dart_utc(dst, size, epoch_ms);
}

int64_t at__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* H. Hinnant's algorithm */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

bool at__date_valid(int64_t y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int max;

    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return false;
    max = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        max = 29;
    return d <= max;
}

/* Read exactly `w` digits at s[*i]. */
static int digits(const char *s, size_t n, size_t *i, int w, int64_t *v)
{
    int64_t r = 0;

    if (*i + (size_t)w > n)
        return NP_ERR_FORMAT;
    for (int k = 0; k < w; k++) {
        char c = s[*i + (size_t)k];
        if (c < '0' || c > '9')
            return NP_ERR_FORMAT;
        r = r * 10 + (c - '0');
    }
    *i += (size_t)w;
    *v = r;
    return 0;
}

static int expect(const char *s, size_t n, size_t *i, char c)
{
    if (*i >= n || s[*i] != c)
        return NP_ERR_FORMAT;
    (*i)++;
    return 0;
}

int at__date_parse(const char *s, size_t n, int64_t *out_ms)
{
    int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, frac = 0;
    size_t i = 0;

    if (digits(s, n, &i, 4, &y) || expect(s, n, &i, '-') || digits(s, n, &i, 2, &mo) ||
        expect(s, n, &i, '-') || digits(s, n, &i, 2, &d))
        return NP_ERR_FORMAT;
    if (i >= n || (s[i] != ' ' && s[i] != 'T'))
        return NP_ERR_FORMAT;
    i++;
    if (digits(s, n, &i, 2, &h) || expect(s, n, &i, ':') || digits(s, n, &i, 2, &mi) ||
        expect(s, n, &i, ':') || digits(s, n, &i, 2, &se))
        return NP_ERR_FORMAT;
    if (i < n && s[i] == '.') {
        int nd = 0;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9' && nd < 6) {
            if (nd < 3)
                frac = frac * 10 + (s[i] - '0');
            nd++;
            i++;
        }
        if (nd == 0)
            return NP_ERR_FORMAT;
        for (int k = nd; k < 3; k++)
            frac *= 10;
    }
    if (i < n && s[i] == 'Z')
        i++;
    if (i != n || !at__date_valid(y, (int)mo, (int)d) || h > 23 || mi > 59 || se > 59)
        return NP_ERR_FORMAT;
    *out_ms = ((at__days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) * 60 + mi) * 60000 +
              se * 1000 + frac;
    return 0;
}

void *at__json_parse(const char *s, size_t n)
{
    const char *end = NULL;
    cJSON *j;

    if (!s || n == 0)
        return NULL;
    j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!j)
        return NULL;
    while (end && end < s + n && at__is_space(*end))
        end++;
    if (!end || end != s + n) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}
