/*
 * src/atdirectory/request.c - request-line handling for the directory (see
 * request.h). Everything here reads untrusted bytes with explicit lengths
 * and writes only into caller buffers of documented size.
 */
#include "request.h"
#include "util/addr.h"
#include "util/err.h"
#include "util/str.h"

#include <stdint.h>
#include <string.h>

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int ascii_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Decode one UTF-8 sequence (shortest form, no surrogates, <= U+10FFFF);
 * returns its length or 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c, min;
    size_t len;

    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        c = s[0] & 0x1F;
        min = 0x80;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        c = s[0] & 0x0F;
        min = 0x800;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        c = s[0] & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* Non-ASCII code points allowed in an atSign: not C1 controls, not spaces. */
static int cp_ok(uint32_t cp)
{
    if (cp < 0xA0)
        return 0;
    switch (cp) {
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF:
        return 0;
    default:
        return !(cp >= 0x2000 && cp <= 0x200A);
    }
}

int dir_atsign_normalise(const char *s, size_t len, char name[DIR_NAME_BUF])
{
    const unsigned char *u = (const unsigned char *)s;
    char tmp[DIR_NAME_BUF];
    size_t i = 0, o = 0, units = 0;

    name[0] = '\0';
    if (!s)
        return NP_ERR_FORMAT;
    if (len > 0 && u[0] == '@')
        i = 1;
    while (i < len) {
        uint32_t cp;
        size_t l;
        if (u[i] < 0x80) {
            if (u[i] == '.') { /* the Dart normaliser deletes dots */
                i++;
                continue;
            }
            if (!ascii_ok(u[i]))
                return NP_ERR_FORMAT;
            tmp[o++] = (char)((u[i] >= 'A' && u[i] <= 'Z') ? u[i] - 'A' + 'a' : u[i]);
            i++;
            units++;
        } else {
            if ((l = utf8_decode(u + i, len - i, &cp)) == 0 || !cp_ok(cp))
                return NP_ERR_FORMAT;
            units += cp >= 0x10000 ? 2 : 1;
            if (units > DIR_ATSIGN_MAX_UNITS)
                return NP_ERR_TOOBIG;
            memcpy(tmp + o, u + i, l);
            o += l;
            i += l;
        }
        if (units > DIR_ATSIGN_MAX_UNITS)
            return NP_ERR_TOOBIG;
    }
    if (units == 0)
        return NP_ERR_FORMAT;
    memcpy(name, tmp, o); /* o <= 55 * 3 < DIR_NAME_BUF */
    name[o] = '\0';
    return 0;
}

int dir_request_parse(const char *line, size_t len, char name[DIR_NAME_BUF])
{
    const unsigned char *u = (const unsigned char *)line;
    size_t a = 0, b = len;

    name[0] = '\0';
    if (!line)
        return DIR_REQ_EMPTY;
    while (a < b && is_space(u[a]))
        a++;
    while (b > a && is_space(u[b - 1]))
        b--;
    if (a == b)
        return DIR_REQ_EMPTY;
    if (b - a == 5 && line[a] == '@' && (u[a + 1] | 0x20) == 'e' && (u[a + 2] | 0x20) == 'x' &&
        (u[a + 3] | 0x20) == 'i' && (u[a + 4] | 0x20) == 't')
        return DIR_REQ_EXIT;
    return dir_atsign_normalise(line + a, b - a, name) == 0 ? DIR_REQ_LOOKUP : DIR_REQ_INVALID;
}

int dir_address_check(const char *s, char *out, size_t size)
{
    char host[NP_HOST_MAX + 1];
    int port = 0;

    if (out && size)
        out[0] = '\0';
    if (!s || !out || size < DIR_ADDR_BUF || np_hostport_parse(s, 0, host, &port) != 0)
        return NP_ERR_FORMAT;
    return np_hostport_format(out, size, host, port) == 0 ? 0 : NP_ERR_FORMAT;
}

int dir_answer_format(const char *address, char *out, size_t size)
{
    size_t n = address ? strlen(address) : 4;

    if (!out || size < n + 4)
        return NP_ERR_TOOBIG;
    memcpy(out, address ? address : "null", n);
    memcpy(out + n, "\r\n@", 4); /* includes the NUL */
    return (int)(n + 3);
}
