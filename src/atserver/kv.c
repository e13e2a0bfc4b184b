/*
 * src/atserver/kv.c - atProtocol key semantics over the raw key store (see
 * kv.h): merge, server-managed metadata, commit-log policy, renderings.
 */
#include "kv.h"
#include "keystore.h"
#include "server.h"

#include "at/metadata.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <cjson/cJSON.h>
#include <string.h>

bool kv_logged(const char *key)
{
    if (np_str_startswith(key, "private:") || np_str_startswith(key, "privatekey:") ||
        np_str_startswith(key, "local:"))
        return false;
    if (np_str_startswith(key, "public:_") && !np_str_startswith(key, "public:__"))
        return false;
    return true;
}

int kv_entry_metadata(const struct ks_entry *e, struct at_metadata *md)
{
    at_metadata_init(md);
    if (!e->meta_json || !e->meta_json[0])
        return 0;
    return at_metadata_from_json(md, e->meta_json, strlen(e->meta_json));
}

/* Set the fields the server manages on every write (10.2). */
static int set_server_fields(struct at_metadata *m, const struct as_host *h,
                             const struct ks_entry *old, int64_t now_ms)
{
    int r;

    if (!at_metadata_has(m, AT_MD_CREATED_BY) &&
        (r = at_metadata_set_str(m, AT_MD_CREATED_BY, h->atsign)) != 0)
        return r;
    if ((r = at_metadata_set_str(m, AT_MD_UPDATED_BY, h->atsign)) != 0 ||
        (r = at_metadata_set_int(m, AT_MD_CREATED_AT, old ? old->created_at_ms : now_ms)) != 0 ||
        (r = at_metadata_set_int(m, AT_MD_UPDATED_AT, now_ms)) != 0 ||
        (r = at_metadata_set_str(m, AT_MD_STATUS, "active")) != 0 ||
        (r = at_metadata_set_int(m, AT_MD_VERSION, old ? old->version + 1 : 0)) != 0)
        return r;
    at_metadata_compute_dates(m, now_ms);
    return 0;
}

int kv_put(struct as_host *h, const char *key, const char *value, enum kv_value_mode mode,
           const struct at_metadata *md, int op, int64_t now_ms, int64_t *commit_id,
           struct at_metadata *md_out)
{
    struct ks_entry *old = NULL;
    struct at_metadata m;
    struct ks_put_result res;
    struct ks_times t;
    char *json = NULL;
    bool logged = op != KS_OP_NONE && kv_logged(key);
    int r;

    at_metadata_init(&m);
    if (md_out)
        at_metadata_init(md_out);
    if (commit_id)
        *commit_id = -1;
    r = ks_get(h->ks, key, now_ms, &old);
    if (r != 0 && r != NP_ERR_NOTFOUND)
        goto out;
    if (old && kv_entry_metadata(old, &m) != 0) {
        /* unreadable stored metadata: start over rather than fail forever */
        np_warn("%s: stored metadata of a key is unreadable; replacing it", h->atsign);
        at_metadata_clear(&m);
    }
    if (md && (r = at_metadata_merge(&m, md)) != 0)
        goto out;
    if ((r = set_server_fields(&m, h, old, now_ms)) != 0 ||
        (r = at_metadata_to_json(&m, false, &json)) != 0)
        goto out;
    memset(&t, 0, sizeof(t));
    t.now_ms = now_ms;
    t.available_at_ms = at_metadata_has(&m, AT_MD_AVAILABLE_AT) ? m.available_at : 0;
    t.expires_at_ms = at_metadata_has(&m, AT_MD_EXPIRES_AT) ? m.expires_at : 0;
    t.refresh_at_ms = at_metadata_has(&m, AT_MD_REFRESH_AT) ? m.refresh_at : 0;
    if (mode == KV_KEEP_VALUE)
        value = old ? old->value : NULL;
    if (!logged)
        op = KS_OP_NONE;
    else if (op == KS_OP_CREATE && (old || (md && md->present)))
        op = KS_OP_UPDATE;
    if ((r = ks_put(h->ks, key, value, json, &t, op, &res)) != 0)
        goto out;
    if (logged) {
        h->last_commit = res.commit_id;
        if (commit_id)
            *commit_id = res.commit_id;
    }
    if (md_out) {
        *md_out = m; /* hand over the owned strings */
        at_metadata_init(&m);
    }
    r = 0;
out:
    ks_entry_free(old);
    at_metadata_clear(&m);
    np_free(json);
    return r;
}

int kv_put_simple(struct as_host *h, const char *key, const char *value, int64_t now_ms)
{
    return kv_put(h, key, value, KV_SET_VALUE, NULL, KS_OP_UPDATE, now_ms, NULL, NULL);
}

int kv_delete(struct as_host *h, const char *key, int64_t now_ms, int64_t *commit_id, int *deleted)
{
    bool logged = kv_logged(key);
    int64_t id = -1;
    int r;

    if (commit_id)
        *commit_id = -1;
    r = ks_delete(h->ks, key, logged ? KS_OP_DELETE : KS_OP_NONE, now_ms, &id, deleted);
    if (r != 0)
        return r;
    if (logged) {
        h->last_commit = id;
        if (commit_id)
            *commit_id = id;
    }
    return 0;
}

int kv_get(struct as_host *h, const char *key, int64_t now_ms, struct ks_entry **out)
{
    return ks_get(h->ks, key, now_ms, out);
}

bool kv_cache_fresh(const struct ks_entry *e, int64_t now_ms)
{
    /* refresh_at is 0 for ttr -1 ("cache forever") and for no ttr */
    return e->refresh_at_ms == 0 || now_ms <= e->refresh_at_ms;
}

int kv_render_meta(const struct ks_entry *e, char **out)
{
    *out = np_strdup(e->meta_json && e->meta_json[0] ? e->meta_json : "{}");
    return *out ? 0 : NP_ERR_NOMEM;
}

int kv_render_all(const struct ks_entry *e, const char *key_name, char **out)
{
    cJSON *o = NULL;
    char *txt = NULL;
    int r = NP_ERR_NOMEM;

    *out = NULL;
    if ((o = cJSON_CreateObject()) == NULL ||
        !cJSON_AddStringToObject(o, "key", key_name ? key_name : e->key) ||
        !(e->value ? cJSON_AddStringToObject(o, "data", e->value)
                   : cJSON_AddNullToObject(o, "data")) ||
        !cJSON_AddRawToObject(o, "metaData", e->meta_json && e->meta_json[0] ? e->meta_json : "{}"))
        goto out;
    if ((txt = cJSON_PrintUnformatted(o)) == NULL || (*out = np_strdup(txt)) == NULL)
        goto out;
    r = 0;
out:
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(o);
    return r;
}
