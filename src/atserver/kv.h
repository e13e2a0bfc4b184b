/*
 * src/atserver/kv.h - key writes and reads with atProtocol semantics on top
 * of the raw key store (keystore.h): metadata merge (5.1: absent options
 * keep the stored value, "null" clears), server-managed fields (createdBy,
 * createdAt kept, updatedAt, version, status), derived dates (5.3), which
 * keys go to the commit log (10.3), and the JSON/`:all` renderings of 5.2.
 *
 * The metadata JSON is stored complete (the 5.2 object) so that reads
 * return it as is; only writes parse it (to merge).
 */
#ifndef ATSERVER_KV_H
#define ATSERVER_KV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct as_host;
struct at_metadata;
struct ks_entry;

/* Is a write of `key` recorded in the commit log (10.3)? Not for
 * private:, privatekey:, local: keys and public:_ keys (but public:__ is). */
bool kv_logged(const char *key);

/* How kv_put treats the value. */
enum kv_value_mode {
    KV_SET_VALUE = 0, /* store `value` (NULL stores a null value) */
    KV_KEEP_VALUE     /* update:meta: keep the stored value (null if new) */
};

/*
 * Write `key` (already canonical) on h: merge md (may be NULL) into the
 * stored metadata, set the server-managed fields, recompute the dates at
 * now_ms, store durably. op: the commit-log symbol for a logged key ('+',
 * '*' or '#'; '+' is turned into '*' when metadata options were given);
 * unlogged keys ignore it; KS_OP_NONE skips the commit log for any key
 * (APKAM internal writes, 10.3). *commit_id (may be NULL) gets the commit id or
 * -1. Updates h->last_commit. md_out (may be NULL) receives the merged
 * metadata as stored (caller clears it; left empty on error).
 * Errors: storage errors of ks_put, NP_ERR_NOMEM.
 */
int kv_put(struct as_host *h, const char *key, const char *value, enum kv_value_mode mode,
           const struct at_metadata *md, int op, int64_t now_ms, int64_t *commit_id,
           struct at_metadata *md_out);

/* Shorthand: write a server-internal key (no metadata options, op '*'). */
int kv_put_simple(struct as_host *h, const char *key, const char *value, int64_t now_ms);

/* Delete `key` (logged per kv_logged). Updates h->last_commit. */
int kv_delete(struct as_host *h, const char *key, int64_t now_ms, int64_t *commit_id, int *deleted);

/* Read `key` at now_ms (ks_get). NP_ERR_NOTFOUND when absent. */
int kv_get(struct as_host *h, const char *key, int64_t now_ms, struct ks_entry **out);

/* Parse an entry's stored metadata into *md (cleared first). An entry
 * without metadata gives an empty md. NP_ERR_FORMAT/NP_ERR_NOMEM. */
int kv_entry_metadata(const struct ks_entry *e, struct at_metadata *md);

/* Is a cached copy fresh (5.3): ttr -1, or now <= refreshAt? */
bool kv_cache_fresh(const struct ks_entry *e, int64_t now_ms);

/*
 * The 5.2 renderings of an entry into a new string (*out, np_free):
 * metadata JSON; {"key":<key_name>,"data":<value|null>,"metaData":{...}}.
 * key_name NULL uses the stored key. NP_ERR_NOMEM.
 */
int kv_render_meta(const struct ks_entry *e, char **out);
int kv_render_all(const struct ks_entry *e, const char *key_name, char **out);

#endif
