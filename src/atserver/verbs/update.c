/*
 * src/atserver/verbs/update.c - update, update:meta, update:json
 * (atprotocol.md 6.1, 6.2, 4.1 AT0016 rules, 7.4 auto-notifications, 7.7
 * stats notifications). Metadata merge and the commit log are kv.c's job.
 */
#include "../conn.h"
#include "../dispatch.h"
#include "../keystore.h"
#include "../kv.h"
#include "../notif.h"
#include "../server.h"

#include "at/atkey.h"
#include "at/error.h"
#include "at/metadata.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/*
 * May the owner write key k (4.1)? Writes the canonical key text to buf and
 * returns true, or answers AT0016 and returns false.
 */
static bool writable_key(struct as_conn *c, const struct at_key *k, char *buf, size_t size)
{
    const char *me = c->host->atsign;

    if (k->owner[0] && strcmp(k->owner, me) != 0) {
        conn_reply_error(c, AT_E_INVALID_KEY, "the owner of a key must be %s, not %s", me,
                         k->owner);
        return false;
    }
    switch (k->type) {
    case AT_KEY_SELF:
    case AT_KEY_SHARED:
    case AT_KEY_PUBLIC:
    case AT_KEY_RESERVED:
        break;
    case AT_KEY_INVALID:
        conn_reply_error(c, AT_E_INVALID_KEY, "a key needs the owner %s", me);
        return false;
    default:
        conn_reply_error(c, AT_E_INVALID_KEY, "You may not update keys of type %s",
                         at_key_type_name(k->type));
        return false;
    }
    if (at_key_format(k, buf, size) != 0) {
        conn_reply_error(c, AT_E_INVALID_KEY, "invalid key");
        return false;
    }
    return true;
}

/* After a successful write: answer, stats notification, auto-notify. */
static void written(struct as_conn *c, const struct at_key *k, const char *key, int64_t cid,
                    const char *value, const struct at_metadata *md, bool meta_only)
{
    struct as_host *h = c->host;
    char num[32];

    snprintf(num, sizeof(num), "%lld", (long long)cid);
    conn_reply_str(c, num);
    notif_push_stats(h, AT_NOTIFY_UPDATE);
    if (k->type == AT_KEY_SHARED && !k->cached && h->srv->cfg.auto_notify)
        notif_auto(h, key, k->shared_with, AT_NOTIFY_UPDATE, meta_only ? NULL : value, md);
}

static void do_update(struct as_conn *c, const struct at_key *k, const char *value, size_t vlen,
                      const struct at_metadata *opts)
{
    struct as_host *h = c->host;
    struct at_metadata md;
    char key[AT_KEY_BUF];
    int64_t cid = -1;
    int r;

    at_metadata_init(&md);
    if (!writable_key(c, k, key, sizeof(key)))
        return;
    if (vlen > h->srv->cfg.max_value_size) {
        np_info("%s: update refused: value of %zu bytes over the limit of %zu", c->tag, vlen,
                h->srv->cfg.max_value_size);
        conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "value of %zu bytes is over the limit of %zu",
                         vlen, h->srv->cfg.max_value_size);
        return;
    }
    if (value && memchr(value, '\n', vlen)) { /* only update:json can carry one */
        conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "values may not contain newlines");
        return;
    }
    r = kv_put(h, key, value, KV_SET_VALUE, opts, KS_OP_CREATE, np_wall_ms(), &cid, &md);
    if (r != 0) {
        conn_reply_store_error(c, r, "update");
        return;
    }
    written(c, k, key, cid, value, &md, false);
    at_metadata_clear(&md);
}

/* update:json:{"atKey","value","sharedBy","sharedWith","metadata":{...,"isPublic"}} */
static void update_json(struct as_conn *c, const char *json)
{
    static const enum at_md_field server_fields[] = {
        AT_MD_CREATED_BY, AT_MD_UPDATED_BY, AT_MD_CREATED_AT, AT_MD_UPDATED_AT, AT_MD_AVAILABLE_AT,
        AT_MD_EXPIRES_AT, AT_MD_REFRESH_AT, AT_MD_STATUS,     AT_MD_VERSION};
    struct at_metadata md;
    struct at_key k;
    cJSON *o = cJSON_Parse(json), *name, *val, *by, *with, *meta, *pub;
    char *vtxt = NULL;
    bool is_public = false;

    at_metadata_init(&md);
    name = cJSON_GetObjectItemCaseSensitive(o, "atKey");
    val = cJSON_GetObjectItemCaseSensitive(o, "value");
    by = cJSON_GetObjectItemCaseSensitive(o, "sharedBy");
    with = cJSON_GetObjectItemCaseSensitive(o, "sharedWith");
    meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    if (!cJSON_IsString(name) || (by && !cJSON_IsString(by) && !cJSON_IsNull(by)) ||
        (with && !cJSON_IsString(with) && !cJSON_IsNull(with)) ||
        (meta && !cJSON_IsObject(meta) && !cJSON_IsNull(meta))) {
        conn_reply_error(c, AT_E_INVALID_SYNTAX,
                         "Invalid syntax. update:json needs atKey, "
                         "value, sharedBy, sharedWith, metadata");
        goto out;
    }
    if (cJSON_IsObject(meta)) {
        pub = cJSON_GetObjectItemCaseSensitive(meta, "isPublic");
        is_public = cJSON_IsTrue(pub);
        if (at_metadata_from_cjson(&md, meta) != 0) {
            conn_reply_error(c, AT_E_INVALID_SYNTAX, "Invalid syntax. bad metadata");
            goto out;
        }
        for (size_t i = 0; i < sizeof(server_fields) / sizeof(server_fields[0]); i++)
            at_metadata_unset(&md, server_fields[i]);
    }
    if (at_key_make(&k, is_public ? AT_KEY_FORM_PUBLIC : AT_KEY_FORM_PLAIN,
                    cJSON_IsString(with) ? with->valuestring : NULL, name->valuestring,
                    cJSON_IsString(by) ? by->valuestring : c->host->atsign, false) != 0) {
        conn_reply_error(c, AT_E_INVALID_KEY, "invalid key");
        goto out;
    }
    if (cJSON_IsString(val)) {
        if ((vtxt = np_strdup(val->valuestring)) == NULL) {
            conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
            goto out;
        }
    } else if (val && !cJSON_IsNull(val)) {
        char *p = cJSON_PrintUnformatted(val);
        vtxt = p ? np_strdup(p) : NULL;
        if (p)
            cJSON_free(p);
        if (!vtxt) {
            conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
            goto out;
        }
    }
    do_update(c, &k, vtxt, vtxt ? strlen(vtxt) : 0, &md);
out:
    np_free(vtxt);
    at_metadata_clear(&md);
    cJSON_Delete(o);
}

void verb_update(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_update *u = &cmd->u.update;

    if (u->json) {
        update_json(c, u->json);
        return;
    }
    do_update(c, &u->key, u->value, u->value_len, &cmd->md);
}

void verb_update_meta(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_key *k = &cmd->u.update.key;
    struct as_host *h = c->host;
    struct at_metadata md;
    char key[AT_KEY_BUF];
    int64_t cid = -1;
    int r;

    if (!writable_key(c, k, key, sizeof(key)))
        return;
    r = kv_put(h, key, NULL, KV_KEEP_VALUE, &cmd->md, KS_OP_META, np_wall_ms(), &cid, &md);
    if (r != 0) {
        conn_reply_store_error(c, r, "update:meta");
        return;
    }
    written(c, k, key, cid, NULL, &md, true);
    at_metadata_clear(&md);
}
