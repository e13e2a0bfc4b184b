/*
 * fuzz/fuzz_atkeys.c - the .atKeys parser. Properties: no crash or leak; an
 * error always comes with a message; a parsed file serialises and parses
 * back to the same keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/atkeys.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct np_atkeys *k = NULL, *k2 = NULL;
    char err[256], *text = NULL;

    err[0] = '\0';
    if (np_atkeys_parse((const char *)data, size, &k, err, sizeof(err)) != 0) {
        if (k || err[0] == '\0' || strlen(err) >= sizeof(err))
            abort();
        return 0;
    }
    if (np_atkeys_serialize(k, k->atsign, &text) == 0) {
        if (np_atkeys_parse(text, strlen(text), &k2, err, sizeof(err)) != 0)
            abort();
        if (!same(k->pkam_public_b64, k2->pkam_public_b64) ||
            !same(k->pkam_private_b64, k2->pkam_private_b64) ||
            !same(k->enc_public_b64, k2->enc_public_b64) ||
            !same(k->enc_private_b64, k2->enc_private_b64) ||
            !same(k->self_enc_key_b64, k2->self_enc_key_b64) ||
            !same(k->enrollment_id, k2->enrollment_id) || !same(k->atsign, k2->atsign))
            abort();
        np_atkeys_free(k2);
        np_freezero_str(text);
    }
    np_atkeys_free(k);
    return 0;
}
