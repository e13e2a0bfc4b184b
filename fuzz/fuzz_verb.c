/*
 * fuzz/fuzz_verb.c - libFuzzer harness for at_verb_parse: any byte string as
 * one command line. Checks the parse result's invariants and that a parsed
 * notify yields a full key, then frees everything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "at/verb.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct at_cmd c;
    int rc = at_verb_parse((const char *)data, size, &c);

    if ((rc == 0) != (c.err == AT_PERR_NONE))
        abort();
    if (rc == 0 && c.verb == AT_VERB_NONE)
        abort();
    (void)at_verb_info(c.verb)->usage;
    (void)at_perr_code(c.err);
    if (rc == 0 && c.verb == AT_VERB_NOTIFY) {
        char full[4096];
        (void)at_cmd_notify_full_key(&c, full, sizeof(full));
    }
    /* keys that parsed must format and round-trip */
    if (rc == 0 && (c.verb == AT_VERB_LLOOKUP || c.verb == AT_VERB_DELETE ||
                    (c.verb == AT_VERB_UPDATE && !c.u.update.json))) {
        const struct at_key *k = c.verb == AT_VERB_DELETE   ? &c.u.del.key
                                 : c.verb == AT_VERB_UPDATE ? &c.u.update.key
                                                            : &c.u.lookup.key;
        char buf[AT_KEY_BUF];
        if (at_key_format(k, buf, sizeof(buf)) != 0)
            abort();
    }
    if (rc == 0 && c.verb == AT_VERB_UPDATE && !c.u.update.json) {
        struct np_buf *b = np_buf_new(AT_LINE_MAX + 64);
        if (b) {
            /* rebuilding may fail only for values the builder refuses */
            (void)at_build_update(b, &c.md, &c.u.update.key, c.u.update.value);
            np_buf_free(b);
        }
    }
    at_cmd_free(&c);
    return 0;
}
