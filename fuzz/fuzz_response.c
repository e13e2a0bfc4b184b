/*
 * fuzz/fuzz_response.c - libFuzzer harness for the client-side response
 * classifier (prompt stripping, data/error/notification/pol lines).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "at/response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct at_response r;
    size_t skip = at_response_prompt_len((const char *)data, size);

    if (skip > size)
        abort();
    if (at_response_parse((const char *)data, size, &r) == 0) {
        if (r.payload && (r.payload < (const char *)data ||
                          r.payload + r.payload_len > (const char *)data + size))
            abort();
        if (r.kind == AT_RESP_ERROR && !r.message)
            abort();
    }
    at_response_clear(&r);
    return 0;
}
