/*
 * src/atdirectory/request.c - request-line handling for the directory (see
 * request.h). Everything here reads untrusted bytes with explicit lengths
 * and writes only into caller buffers of documented size.
 */
#include "request.h"
#include "at/atsign.h"
#include "util/addr.h"
#include "util/err.h"
#include "util/str.h"

#include <stdint.h>
#include <string.h>

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int dir_atsign_normalise(const char *s, size_t len, char name[DIR_NAME_BUF])
{
    char at[AT_ATSIGN_BUF];
    int r;

    name[0] = '\0';
    if (!s)
        return NP_ERR_FORMAT;
    /* One set of atSign rules for the whole project (lib/at); the directory
     * keys its table by the name without the '@', as the official root does. */
    if ((r = at_atsign_normalise(s, len, at, sizeof(at))) != 0)
        return r == NP_ERR_TOOBIG ? NP_ERR_TOOBIG : NP_ERR_FORMAT;
    memcpy(name, at + 1, strlen(at)); /* includes the NUL; fits: AT_ATSIGN_BUF == DIR_NAME_BUF */
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
