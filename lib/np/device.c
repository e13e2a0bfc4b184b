/* lib/np/device.c - device-name normalisation/validation, npt durations. */
#include "np/device.h"
#include "util/err.h"

#include <ctype.h>
#include <string.h>

static int name_char(unsigned char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
        return 1;
    return !first && c == '-';
}

int np_device_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n < 2 || n > NP_DEVICE_NAME_MAX)
        return NP_ERR_FORMAT;
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)name[i], i == 0))
            return NP_ERR_FORMAT;
    return 0;
}

int np_device_name_normalize(const char *in, char *out, size_t size)
{
    char tmp[NP_DEVICE_NAME_MAX + 2];
    size_t o = 0;
    int in_space = 0;

    if (!in)
        return NP_ERR_FORMAT;
    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isspace(c)) {
            if (in_space)
                continue;
            in_space = 1;
            c = '_';
        } else {
            in_space = 0;
            c = (unsigned char)tolower(c);
        }
        if (o >= NP_DEVICE_NAME_MAX + 1)
            return NP_ERR_FORMAT; /* too long */
        tmp[o++] = (char)c;
    }
    tmp[o] = '\0';
    if (np_device_name_valid(tmp) != 0)
        return NP_ERR_FORMAT;
    if (o + 1 > size)
        return NP_ERR_TOOBIG;
    memcpy(out, tmp, o + 1);
    return 0;
}

int np_duration_parse(const char *s, int64_t *ms_out)
{
    const int64_t max_ms = 365LL * 24 * 3600 * 1000;
    int64_t total = 0;
    int tokens = 0;
    const char *p = s;

    if (!s || !*s)
        return NP_ERR_FORMAT;
    if (strcmp(s, "0") == 0) {
        *ms_out = max_ms;
        return 0;
    }
    while (*p) {
        int64_t v = 0, unit;
        int digits = 0;

        if (tokens && *p == ',')
            p++;
        while (*p >= '0' && *p <= '9') {
            if (v > max_ms / 10)
                return NP_ERR_FORMAT;
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        if (!digits)
            return NP_ERR_FORMAT;
        switch (*p) {
        case 'd':
            unit = 86400000LL;
            p++;
            break;
        case 'h':
            unit = 3600000LL;
            p++;
            break;
        case 'm':
            unit = 60000LL;
            p++;
            break;
        case 's':
            unit = 1000LL;
            p++;
            break;
        case '\0':
            if (tokens)
                return NP_ERR_FORMAT; /* "1h30": unit missing */
            unit = 1000LL;
            break;
        default:
            return NP_ERR_FORMAT;
        }
        if (v > max_ms / unit || total + v * unit > max_ms)
            return NP_ERR_FORMAT;
        total += v * unit;
        tokens++;
    }
    if (total <= 0)
        return NP_ERR_FORMAT;
    *ms_out = total;
    return 0;
}
