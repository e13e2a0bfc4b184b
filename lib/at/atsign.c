/*
 * lib/at/atsign.c - atSign normalisation (Dart rules) and the strict check
 * used inside keys. See atsign.h for the accepted alphabet.
 */
#include "at/atsign.h"
#include "at/at_int.h"
#include "util/err.h"

#include <string.h>

/* ASCII characters allowed in a canonical atSign (after lower-casing). */
static int ascii_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/*
 * Walk name[0..n): validate each character, optionally copy it (lower-cased)
 * to out, skipping '.' when drop_dots. Returns 0, NP_ERR_FORMAT or
 * NP_ERR_TOOBIG; *olen = bytes written.
 */
static int scan_name(const char *name, size_t n, int drop_dots, char *out, size_t *olen)
{
    size_t i = 0, units = 0, o = 0;

    while (i < n) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x80) {
            if (c == '.' && drop_dots) {
                i++;
                continue;
            }
            if (!ascii_ok((char)c))
                return NP_ERR_FORMAT;
            if (out)
                out[o] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (char)c;
            o++;
            i++;
            units++;
        } else {
            uint32_t cp;
            size_t l = at__utf8_decode(name + i, n - i, &cp);
            if (l == 0 || !at__cp_allowed(cp))
                return NP_ERR_FORMAT;
            if (out)
                memcpy(out + o, name + i, l);
            o += l;
            i += l;
            units += cp >= 0x10000 ? 2 : 1;
        }
        if (units > AT_ATSIGN_MAX_CHARS)
            return NP_ERR_TOOBIG;
    }
    if (units == 0)
        return NP_ERR_FORMAT;
    *olen = o;
    return 0;
}

int at_atsign_normalise(const char *in, size_t n, char *out, size_t out_size)
{
    size_t olen = 0;
    int r;

    if (!out || out_size == 0)
        return NP_ERR_INVAL;
    out[0] = '\0';
    if (!in || out_size < AT_ATSIGN_BUF)
        return NP_ERR_INVAL;
    if (n > 0 && in[0] == '@') {
        in++;
        n--;
    }
    /* scan first without writing so that out stays empty on failure */
    if ((r = scan_name(in, n, 1, NULL, &olen)) != 0)
        return r;
    out[0] = '@';
    scan_name(in, n, 1, out + 1, &olen);
    out[1 + olen] = '\0';
    return 0;
}

int at_atsign_check(const char *s, size_t n)
{
    size_t olen;

    if (!s || n < 2 || s[0] != '@')
        return NP_ERR_FORMAT;
    return scan_name(s + 1, n - 1, 0, NULL, &olen);
}

int at_atsign_equal(const char *a, const char *b)
{
    char x[AT_ATSIGN_BUF], y[AT_ATSIGN_BUF];

    if (!a || !b || at_atsign_normalise(a, strlen(a), x, sizeof(x)) != 0 ||
        at_atsign_normalise(b, strlen(b), y, sizeof(y)) != 0)
        return 0;
    return strcmp(x, y) == 0;
}
