/*
 * fuzz/fuzz_atserver_merge.c - libFuzzer harness of the metadata merge path
 * of key writes (kv.c): two wire option sequences (split at the first NUL
 * byte, e.g. ":ttl:1000:ivNonce:x" and ":ttl:null:ccd:true") are parsed
 * and written one after the other to the same key through kv_put (merge
 * with the stored JSON, server-managed fields, derived dates), then the
 * stored metadata is read back and rendered as 5.2 JSON and :all, and the
 * notification metadata is derived from it. Invariants checked: the second
 * write's version is the first's + 1, the stored JSON parses again.
 */
#include "fuzz_atserver_common.h"

#include "keystore.h"
#include "kv.h"
#include "notif.h"

#include "at/metadata.h"
#include "util/alloc.h"
#include "util/time.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_server *f = fz_server();
    struct at_metadata md[2], back, nmd;
    const uint8_t *nul = memchr(data, 0, size);
    size_t n0 = nul ? (size_t)(nul - data) : size;
    struct ks_entry *e = NULL;
    char *txt = NULL;
    int64_t now = np_wall_ms(), v0 = -1;

    at_metadata_init(&md[0]);
    at_metadata_init(&md[1]);
    at_metadata_init(&back);
    at_metadata_init(&nmd);
    if (size > 4096)
        return 0;
    /* a parse error leaves the options parsed so far: write those anyway */
    at_metadata_parse_options(&md[0], (const char *)data, n0);
    if (nul)
        at_metadata_parse_options(&md[1], (const char *)nul + 1, size - n0 - 1);
    kv_delete(f->alice, "@bob:fuzz.merge@alice", now, NULL, NULL);
    for (int i = 0; i < 2; i++) {
        if (kv_put(f->alice, "@bob:fuzz.merge@alice", "v", KV_SET_VALUE, &md[i], '+', now + i, NULL,
                   NULL) != 0)
            goto out;
        if (kv_get(f->alice, "@bob:fuzz.merge@alice", now + i, &e) != 0)
            abort();
        if (i == 0)
            v0 = e->version;
        else if (e->version != v0 + 1)
            abort();
        if (kv_entry_metadata(e, &back) != 0)
            abort(); /* we stored it: it must parse */
        if (kv_render_all(e, NULL, &txt) != 0)
            abort();
        np_free(txt);
        txt = NULL;
        if (notif_md_from_options(&back, true, back.is_encrypted, &nmd) == 0)
            at_metadata_clear(&nmd);
        at_metadata_clear(&back);
        ks_entry_free(e);
        e = NULL;
    }
out:
    ks_entry_free(e);
    at_metadata_clear(&md[0]);
    at_metadata_clear(&md[1]);
    return 0;
}
