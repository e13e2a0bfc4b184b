/*
 * fuzz/fuzz_dirline.c - the atdirectory request line (src/atdirectory/
 * request.c). Any bytes as a request line, and as a host:port argument;
 * checks the invariants the server relies on:
 *  - a lookup yields a non-empty NUL-terminated name with no '@', no '.',
 *    no ASCII upper case, space or control byte, and at most 165 bytes;
 *  - normalising a normalised name (with or without '@') is the identity;
 *  - every other kind leaves the name empty;
 *  - an accepted address is canonical (checking it again gives the same
 *    text) and its answer is exactly "<address>\r\n@".
 */
#include "request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *name)
{
    char again[DIR_NAME_BUF], at[DIR_NAME_BUF + 1];
    size_t n = strlen(name);

    if (n == 0 || n >= DIR_NAME_BUF - 2)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '@' || c == '.' || c <= ' ' || c == 0x7f || (c >= 'A' && c <= 'Z'))
            abort();
    }
    if (dir_atsign_normalise(name, n, again) != 0 || strcmp(again, name) != 0)
        abort();
    at[0] = '@';
    memcpy(at + 1, name, n + 1);
    if (dir_atsign_normalise(at, n + 1, again) != 0 || strcmp(again, name) != 0)
        abort();
    /* "@exit" is the exit command; the atSign @exit is looked up as "exit" */
    if (strcmp(name, "exit") != 0 &&
        (dir_request_parse(at, n + 1, again) != DIR_REQ_LOOKUP || strcmp(again, name) != 0))
        abort();
}

static void check_address(const uint8_t *data, size_t size)
{
    char in[512], addr[DIR_ADDR_BUF], again[DIR_ADDR_BUF], ans[DIR_ANSWER_BUF];
    size_t n = size < sizeof(in) - 1 ? size : sizeof(in) - 1;
    int len;

    memcpy(in, data, n);
    in[n] = '\0';
    if (dir_address_check(in, addr, sizeof(addr)) != 0) {
        if (addr[0] != '\0')
            abort();
        return;
    }
    if (dir_address_check(addr, again, sizeof(again)) != 0 || strcmp(addr, again) != 0)
        abort();
    len = dir_answer_format(addr, ans, sizeof(ans));
    if (len != (int)strlen(addr) + 3 || memcmp(ans + len - 3, "\r\n@", 3) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[DIR_NAME_BUF];
    int kind;

    kind = dir_request_parse((const char *)data, size, name);
    if (kind == DIR_REQ_LOOKUP)
        check_name(name);
    else if (name[0] != '\0' || kind < DIR_REQ_LOOKUP || kind > DIR_REQ_INVALID)
        abort();
    check_address(data, size);
    return 0;
}
