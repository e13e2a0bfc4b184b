/*
 * fuzz/fuzz_b64.c - strict base64 decoding. Properties: no crash, and every
 * accepted input is canonical (re-encoding gives back exactly the input).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b64.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *dec = NULL, exact[32];
    char *enc = NULL, *text;
    size_t n = 0, elen = 0;

    if (np_b64_decode((const char *)data, size, &dec, &n) == 0) {
        if (np_b64_encode(dec, n, &enc, &elen) != 0 || elen != size || memcmp(enc, data, size) != 0)
            abort();
        np_free(enc);
        np_free(dec);
    }
    /* decode_exact takes a C string */
    if ((text = np_memdup0(data, size)) != NULL) {
        int r = np_b64_decode_exact(text, exact, sizeof(exact));
        if (r == 0 && (strlen(text) != 44 || text[43] != '='))
            abort();
        np_free(text);
    }
    return 0;
}
