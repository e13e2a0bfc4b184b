/*
 * fuzz/fuzz_atkey.c - libFuzzer harness for at_key_parse and the atSign
 * normaliser; a key that parses must format and re-parse to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "at/atkey.h"
#include "at/atsign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct at_key k, k2;
    char buf[AT_KEY_BUF], at[AT_ATSIGN_BUF];

    if (at_key_parse((const char *)data, size, &k) == 0) {
        if (at_key_format(&k, buf, sizeof(buf)) != 0)
            abort();
        if (at_key_parse(buf, strlen(buf), &k2) != 0 || memcmp(&k, &k2, sizeof(k)) != 0)
            abort();
        (void)at_key_is_protected(&k, "@alice", NULL);
        (void)at_key_type_name(k.type);
    }
    if (at_atsign_normalise((const char *)data, size, at, sizeof(at)) == 0) {
        char again[AT_ATSIGN_BUF];
        if (at_atsign_check(at, strlen(at)) != 0 ||
            at_atsign_normalise(at, strlen(at), again, sizeof(again)) != 0 ||
            strcmp(at, again) != 0)
            abort();
    }
    return 0;
}
