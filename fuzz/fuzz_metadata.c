/*
 * fuzz/fuzz_metadata.c - libFuzzer harness for metadata: the first byte
 * selects wire options (at_metadata_parse_options) or JSON
 * (at_metadata_from_json); whatever parses is formatted again and must parse
 * back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "at/metadata.h"
#include "util/alloc.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct at_metadata md, again;
    struct np_buf *b;
    char *json = NULL;

    if (size == 0)
        return 0;
    at_metadata_init(&md);
    at_metadata_init(&again);
    if (data[0] & 1) {
        if (at_metadata_parse_options(&md, (const char *)data + 1, size - 1) == 0 &&
            (b = np_buf_new(1 << 20)) != NULL) {
            if (at_metadata_format_options(&md, b) == 0 &&
                at_metadata_parse_options(&again, np_buf_ptr(b), np_buf_len(b)) != 0)
                abort();
            np_buf_free(b);
        }
    } else if (at_metadata_from_json(&md, (const char *)data + 1, size - 1) == 0) {
        at_metadata_compute_dates(&md, 1729733702123LL);
        (void)at_metadata_is_active(&md, 1729733702123LL);
        if (at_metadata_to_json(&md, data[0] & 2, &json) == 0 &&
            at_metadata_from_json(&again, json, strlen(json)) != 0)
            abort();
        np_free(json);
    }
    at_metadata_merge(&again, &md);
    at_metadata_clear(&md);
    at_metadata_clear(&again);
    return 0;
}
