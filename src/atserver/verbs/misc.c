/*
 * src/atserver/verbs/misc.c - stats, info, noop, config (block/allow),
 * enroll:request on a cram connection, keys:get of that enrollment's
 * default keys, sync:from (atprotocol.md 3.6, 3.7, 6.11, 6.12).
 */
#include "../conn.h"
#include "../dispatch.h"
#include "../keystore.h"
#include "../kv.h"
#include "../notify_store.h"
#include "../remote.h"
#include "../server.h"

#include "at/error.h"
#include "at/metadata.h"
#include "crypto/rand.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <cjson/cJSON.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

/* ---- stats ---- */

struct commit_match {
    regex_t *re;
};

static int commit_match(const char *key, void *arg)
{
    const struct commit_match *m = arg;
    return regexec(m->re, key, 0, NULL, 0) == 0;
}

/* Append one {"id","name","value"} stat; values are strings (6.11). */
static int add_stat(struct np_buf *b, int *n, int id, const char *name, const char *value)
{
    cJSON *o = cJSON_CreateObject();
    char num[16], *txt = NULL;
    int r = NP_ERR_NOMEM;

    snprintf(num, sizeof(num), "%d", id);
    if (o && cJSON_AddStringToObject(o, "id", num) && cJSON_AddStringToObject(o, "name", name) &&
        cJSON_AddStringToObject(o, "value", value) && (txt = cJSON_PrintUnformatted(o)) != NULL)
        r = np_buf_putf(b, "%s%s", *n ? ", " : "", txt);
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(o);
    if (r == 0)
        (*n)++;
    return r;
}

static bool want(uint32_t ids, int id)
{
    return ids == 0 || (ids & (1u << id));
}

void verb_stats(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_stats *s = &cmd->u.stats;
    struct as_host *h = c->host;
    struct np_buf *b = np_buf_new(65536);
    struct commit_match m;
    regex_t re;
    bool have_re = false;
    char v[64];
    int n = 0, r = 0;
    int64_t id = -1, count = 0;

    if (!b || np_buf_put_u8(b, '[') != 0) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        goto out;
    }
    if (s->regex) {
        if (!verb_regex(c, &re, s->regex))
            goto out;
        have_re = true;
    }
    if (want(s->ids, 1)) {
        snprintf(v, sizeof(v), "%d", h->n_conns);
        r = r ? r : add_stat(b, &n, 1, "activeInboundConnections", v);
    }
    if (want(s->ids, 2)) {
        snprintf(v, sizeof(v), "%zu", remote_outbound_count(h->srv->remote));
        r = r ? r : add_stat(b, &n, 2, "activeOutboundConnections", v);
    }
    if (want(s->ids, 3)) {
        m.re = &re;
        if ((r = r ? r : ks_last_commit_id(h->ks, have_re ? commit_match : NULL, &m, &id)) == 0) {
            snprintf(v, sizeof(v), "%lld", (long long)id);
            r = add_stat(b, &n, 3, "lastCommitID", v);
        }
    }
    if (want(s->ids, 7))
        r = r ? r : add_stat(b, &n, 7, "secondaryServerVersion", AS_COMPAT_VERSION);
    if (want(s->ids, 8)) {
        if (h->last_login_ms)
            np_time_dart_utc(v, sizeof(v), h->last_login_ms);
        else
            snprintf(v, sizeof(v), "null");
        r = r ? r : add_stat(b, &n, 8, "LastLoggedInDatetime", v);
    }
    if (want(s->ids, 10)) {
        if (h->last_pkam_ms)
            np_time_dart_utc(v, sizeof(v), h->last_pkam_ms);
        else
            snprintf(v, sizeof(v), "null");
        r = r ? r : add_stat(b, &n, 10, "LastPkam", v);
    }
    if (want(s->ids, 11) && r == 0) {
        count = 0;
        ns_count(h->ns, &count);
        snprintf(v, sizeof(v), "%lld", (long long)count);
        r = add_stat(b, &n, 11, "NotificationCount", v);
    }
    if (r == 0)
        r = np_buf_put_u8(b, ']');
    if (r == NP_ERR_NOMEM || r == NP_ERR_TOOBIG)
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
    else if (r != 0)
        conn_reply_store_error(c, r, "stats");
    else
        conn_reply_data(c, np_buf_ptr(b), np_buf_len(b), true);
out:
    if (have_re)
        regfree(&re);
    np_buf_free(b);
}

/* ---- info, noop ---- */

void verb_info(struct as_conn *c, struct at_cmd *cmd)
{
    int64_t up = np_mono_ms() - c->host->srv->started_mono;
    char buf[256];

    if (cmd->u.info.brief)
        snprintf(buf, sizeof(buf), "{\"version\":\"%s\",\"uptimeAsMillis\":%lld}",
                 AS_COMPAT_VERSION, (long long)up);
    else
        snprintf(buf, sizeof(buf),
                 "{\"version\":\"%s\",\"uptimeAsWords\":\"%lld hours %lld minutes %lld "
                 "seconds\"}",
                 AS_COMPAT_VERSION, (long long)(up / 3600000), (long long)(up / 60000 % 60),
                 (long long)(up / 1000 % 60));
    conn_reply_str(c, buf);
}

static void noop_fire(struct as_conn *c)
{
    conn_reply_str(c, "ok");
    conn_resume(c);
}

static void noop_cancel(struct as_conn *c)
{
    if (c->timer)
        evtimer_del(c->timer);
}

void verb_noop(struct as_conn *c, struct at_cmd *cmd)
{
    int64_t ms = cmd->u.noop.ms;

    if (ms > c->host->srv->cfg.noop_max_ms)
        ms = c->host->srv->cfg.noop_max_ms;
    if (ms <= 0) {
        conn_reply_str(c, "ok");
        return;
    }
    /* wait without blocking the loop; later lines of this connection wait */
    if (conn_start_timer(c, ms, noop_fire) != 0) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "cannot start a timer");
        return;
    }
    conn_suspend(c, noop_cancel, NULL);
}

/* ---- config:block / config:allow ---- */

void verb_config(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_config *k = &cmd->u.config;
    struct as_host *h = c->host;
    struct as_atsign_list *l;
    cJSON *arr = NULL;
    char *txt = NULL, norm[AT_ATSIGN_BUF];
    int r;

    if (k->list == AT_CONFIG_SETTING) {
        conn_reply_str(c, "testing mode disabled by default");
        return;
    }
    l = k->list == AT_CONFIG_ALLOW ? &h->allow : &h->block;
    switch (k->op) {
    case AT_CONFIG_ADD:
    case AT_CONFIG_REMOVE:
        for (size_t i = 0; i < k->n_atsigns; i++) {
            if (at_atsign_normalise(k->atsigns[i], strlen(k->atsigns[i]), norm, sizeof(norm)) !=
                    0 ||
                strcmp(norm, h->atsign) == 0)
                continue; /* the own atSign is ignored (6.11) */
            if (k->op == AT_CONFIG_REMOVE)
                as_list_remove(l, norm);
            else if (as_list_add(l, norm) != 0) {
                conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
                return;
            }
        }
        if ((r = as_host_save_lists(h)) != 0) {
            conn_reply_store_error(c, r, "config");
            return;
        }
        np_info("%s: %s list now has %zu atSigns", c->tag,
                k->list == AT_CONFIG_ALLOW ? "allow" : "block", l->n);
        conn_reply_str(c, "success");
        return;
    case AT_CONFIG_SHOW:
        if (l->n == 0) {
            conn_reply_str(c, "null");
            return;
        }
        if ((arr = cJSON_CreateArray()) == NULL)
            goto oom;
        for (size_t i = 0; i < l->n; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(l->v[i]));
        if ((txt = cJSON_PrintUnformatted(arr)) == NULL)
            goto oom;
        conn_reply_str(c, txt);
        cJSON_free(txt);
        cJSON_Delete(arr);
        return;
    default:
        conn_reply_str(c, "testing mode disabled by default");
        return;
    }
oom:
    cJSON_Delete(arr);
    conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
}

/* ---- enroll:request (cram connection), keys:get ---- */

static const char *json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* APKAM internal writes skip the commit log (10.3). */
static int put_nolog(struct as_host *h, const char *key, const char *v, int64_t now)
{
    return kv_put(h, key, v, KV_SET_VALUE, NULL, KS_OP_NONE, now, NULL, NULL);
}

/* Store {"value": v} under key (unlogged APKAM key). */
static int put_wrapped(struct as_host *h, const char *key, const char *v, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    char *txt = NULL;
    int r = NP_ERR_NOMEM;

    if (o && cJSON_AddStringToObject(o, "value", v) && (txt = cJSON_PrintUnformatted(o)) != NULL)
        r = put_nolog(h, key, txt, now);
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(o);
    return r;
}

static void enroll_request(struct as_conn *c, const char *json)
{
    struct as_host *h = c->host;
    struct np_rsa_key *k = NULL;
    cJSON *in = NULL, *rec = NULL, *ns, *ap;
    char id[NP_UUID_STR_LEN + 1], key[256], *txt = NULL, answer[128];
    const char *pub, *enc_priv, *self_key;
    int64_t now = np_wall_ms();
    int r;

    if (!json || (in = cJSON_Parse(json)) == NULL || !cJSON_IsObject(in)) {
        conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "enroll:request needs a JSON object");
        goto out;
    }
    pub = json_str(in, "apkamPublicKey");
    if (!pub || np_rsa_from_public_b64(pub, &k) != 0) {
        conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "apkamPublicKey is missing or not an RSA key");
        goto out;
    }
    if (np_uuid4(id) != 0 || (rec = cJSON_CreateObject()) == NULL)
        goto oom;
    /* a cram connection is the onboarding client: approve at once (3.6) */
    if (!cJSON_AddStringToObject(rec, "sessionId", c->sid) ||
        !cJSON_AddStringToObject(rec, "appName",
                                 json_str(in, "appName") ? json_str(in, "appName") : "") ||
        !cJSON_AddStringToObject(rec, "deviceName",
                                 json_str(in, "deviceName") ? json_str(in, "deviceName") : "") ||
        (ns = cJSON_AddObjectToObject(rec, "namespaces")) == NULL ||
        !cJSON_AddStringToObject(ns, "__manage", "rw") || !cJSON_AddStringToObject(ns, "*", "rw") ||
        !cJSON_AddStringToObject(rec, "apkamPublicKey", pub) ||
        !cJSON_AddStringToObject(rec, "requestType", "newEnrollment") ||
        (ap = cJSON_AddObjectToObject(rec, "approval")) == NULL ||
        !cJSON_AddStringToObject(ap, "state", "approved"))
        goto oom;
    if (json_str(in, "encryptedAPKAMSymmetricKey") &&
        !cJSON_AddStringToObject(rec, "encryptedAPKAMSymmetricKey",
                                 json_str(in, "encryptedAPKAMSymmetricKey")))
        goto oom;
    if ((txt = cJSON_PrintUnformatted(rec)) == NULL)
        goto oom;
    snprintf(key, sizeof(key), "%s.new.enrollments.__manage%s", id, h->atsign);
    if ((r = put_nolog(h, key, txt, now)) != 0)
        goto store;
    enc_priv = json_str(in, "encryptedDefaultEncryptionPrivateKey");
    self_key = json_str(in, "encryptedDefaultSelfEncryptionKey");
    snprintf(key, sizeof(key), "%s.default_enc_private_key.__manage%s", id, h->atsign);
    if (enc_priv && (r = put_wrapped(h, key, enc_priv, now)) != 0)
        goto store;
    snprintf(key, sizeof(key), "%s.default_self_enc_key.__manage%s", id, h->atsign);
    if (self_key && (r = put_wrapped(h, key, self_key, now)) != 0)
        goto store;
    if ((r = kv_put_simple(h, "privatekey:at_pkam_publickey", pub, now)) != 0)
        goto store;
    np_info("%s: enrollment %s approved (cram connection)", c->tag, id);
    snprintf(answer, sizeof(answer), "{\"enrollmentId\":\"%s\",\"status\":\"approved\"}", id);
    conn_reply_str(c, answer);
    goto out;
store:
    conn_reply_store_error(c, r, "enroll:request");
    goto out;
oom:
    conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
out:
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(rec);
    cJSON_Delete(in);
    np_rsa_free(k);
}

void verb_enroll(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_enroll *e = &cmd->u.enroll;

    if (e->op == AT_ENROLL_REQUEST && c->auth == AT_AUTH_OWNER && c->method == AS_AUTH_CRAM) {
        enroll_request(c, e->json);
        return;
    }
    if (c->auth == AT_AUTH_NONE) {
        conn_reply_error(c, AT_E_AUTH_FAILED,
                         "enroll without authentication needs an OTP, which this server does "
                         "not support yet");
        return;
    }
    conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS,
                     "only enroll:request on a cram-authenticated connection is supported");
}

void verb_keys(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_keys *k = &cmd->u.keys;
    struct as_host *h = c->host;
    struct ks_entry *e = NULL;
    char key[512];
    int r;

    if (k->op != AT_KEYS_GET || !k->key_name) {
        conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "only keys:get:keyName:<name> is supported");
        return;
    }
    snprintf(key, sizeof(key), "%s", k->key_name);
    np_str_lower(key);
    /* only the default keys stored by enroll:request */
    if (!np_str_endswith(key, h->atsign) || (!strstr(key, ".default_enc_private_key.__manage@") &&
                                             !strstr(key, ".default_self_enc_key.__manage@"))) {
        conn_reply_error(c, AT_E_KEY_NOT_FOUND, "%s does not exist in keystore", key);
        return;
    }
    r = kv_get(h, key, np_wall_ms(), &e);
    if (r == NP_ERR_NOTFOUND || (r == 0 && !e->active))
        conn_reply_error(c, AT_E_KEY_NOT_FOUND, "%s does not exist in keystore", key);
    else if (r != 0)
        conn_reply_store_error(c, r, "keys:get");
    else
        conn_reply_str(c, e->value ? e->value : "null");
    ks_entry_free(e);
}

/* ---- sync:from ---- */

#define SYNC_PAGE_MAX  100
#define SYNC_BYTES_MAX (5u << 20)

void verb_sync(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_sync *s = &cmd->u.sync;
    struct as_host *h = c->host;
    struct ks_commit_list *list = NULL;
    struct commit_match m;
    struct np_buf *b = NULL;
    regex_t re;
    bool have_re = false;
    size_t limit = s->limit > 0 && s->limit < SYNC_PAGE_MAX ? (size_t)s->limit : SYNC_PAGE_MAX;
    size_t n = 0;
    int r;

    if (s->regex) {
        if (!verb_regex(c, &re, s->regex))
            return;
        have_re = true;
    }
    m.re = &re;
    r = ks_commits_since(h->ks, s->from_commit, limit, have_re ? commit_match : NULL, &m, &list);
    if (r != 0) {
        conn_reply_store_error(c, r, "sync");
        goto out;
    }
    if ((b = np_buf_new(SYNC_BYTES_MAX + c->host->srv->cfg.auth_max_line * 2)) == NULL ||
        np_buf_put_u8(b, '[') != 0)
        goto oom;
    for (size_t i = 0; i < list->count && np_buf_len(b) < SYNC_BYTES_MAX; i++) {
        const struct ks_commit *cm = list->items[i];
        struct ks_entry *e = NULL;
        struct at_metadata md;
        cJSON *o = cJSON_CreateObject(), *meta;
        char *txt = NULL, *mjson = NULL, op[2] = {cm->op, '\0'};
        at_metadata_init(&md);
        if (!o || !cJSON_AddStringToObject(o, "atKey", cm->key)) {
            cJSON_Delete(o);
            goto oom;
        }
        if (cm->op != '-' && kv_get(h, cm->key, np_wall_ms(), &e) == 0) {
            if (e->value)
                cJSON_AddStringToObject(o, "value", e->value);
            else
                cJSON_AddNullToObject(o, "value");
            if (kv_entry_metadata(e, &md) == 0 && at_metadata_to_json(&md, true, &mjson) == 0 &&
                (meta = cJSON_Parse(mjson)) != NULL)
                cJSON_AddItemToObject(o, "metadata", meta);
        }
        cJSON_AddNumberToObject(o, "commitId", (double)cm->id);
        cJSON_AddStringToObject(o, "operation", op);
        txt = cJSON_PrintUnformatted(o);
        r = txt ? np_buf_putf(b, "%s%s", n ? "," : "", txt) : NP_ERR_NOMEM;
        if (txt)
            cJSON_free(txt);
        cJSON_Delete(o);
        np_free(mjson);
        at_metadata_clear(&md);
        ks_entry_free(e);
        if (r != 0)
            break;
        n++;
    }
    np_buf_put_u8(b, ']');
    conn_reply_data(c, np_buf_ptr(b), np_buf_len(b), false);
    goto out;
oom:
    conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
out:
    np_buf_free(b);
    ks_commit_list_free(list);
    if (have_re)
        regfree(&re);
}
