/*
 * fuzz/fuzz_notification.c - libFuzzer harness for the monitor push JSON
 * parser; what parses is serialised again and must parse back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "at/notification.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct at_notification n, again;
    char *json = NULL;

    if (at_notification_parse((const char *)data, size, &n) == 0) {
        if (at_notification_to_json(&n, &json) == 0) {
            if (at_notification_parse(json, strlen(json), &again) != 0)
                abort();
            at_notification_clear(&again);
        }
        np_free(json);
    }
    at_notification_clear(&n);
    return 0;
}
