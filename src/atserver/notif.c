/*
 * src/atserver/notif.c - the notification subsystem (see notif.h;
 * atprotocol.md 7). Records are persisted in the notification log of the
 * host (notify_store.h) before anything is answered or pushed.
 */
#include "notif.h"
#include "conn.h"
#include "keystore.h"
#include "kv.h"
#include "monitor.h"
#include "notify_store.h"
#include "remote.h"
#include "server.h"

#include "at/atkey.h"
#include "at/metadata.h"
#include "at/notification.h"
#include "crypto/rand.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>

/* Encryption-related fields a notification carries (6.8). */
static const enum at_md_field enc_fields[] = {
    AT_MD_SHARED_KEY_ENC, AT_MD_PUB_KEY_CS,       AT_MD_ENC_KEY_NAME, AT_MD_ENC_ALGO,
    AT_MD_IV_NONCE,       AT_MD_SKE_ENC_KEY_NAME, AT_MD_SKE_ENC_ALGO};

static int copy_str(struct at_metadata *dst, const struct at_metadata *src, enum at_md_field f)
{
    const char *v;

    if (!at_metadata_has(src, f))
        return 0;
    switch (f) {
    case AT_MD_SHARED_KEY_ENC:
        v = src->shared_key_enc;
        break;
    case AT_MD_PUB_KEY_CS:
        v = src->pub_key_cs;
        break;
    case AT_MD_ENC_KEY_NAME:
        v = src->enc_key_name;
        break;
    case AT_MD_ENC_ALGO:
        v = src->enc_algo;
        break;
    case AT_MD_IV_NONCE:
        v = src->iv_nonce;
        break;
    case AT_MD_SKE_ENC_KEY_NAME:
        v = src->ske_enc_key_name;
        break;
    default:
        v = src->ske_enc_algo;
        break;
    }
    return v ? at_metadata_set_str(dst, f, v) : 0;
}

int notif_md_from_options(const struct at_metadata *opts, bool with_ttr, bool is_encrypted,
                          struct at_metadata *out)
{
    int r;

    at_metadata_init(out);
    if ((r = at_metadata_set_int(out, AT_MD_TTL,
                                 at_metadata_has(opts, AT_MD_TTL) ? opts->ttl : 0)) != 0 ||
        (r = at_metadata_set_int(out, AT_MD_TTB,
                                 at_metadata_has(opts, AT_MD_TTB) ? opts->ttb : 0)) != 0)
        goto out;
    if (with_ttr && at_metadata_has(opts, AT_MD_TTR) &&
        (r = at_metadata_set_int(out, AT_MD_TTR, opts->ttr)) != 0)
        goto out;
    if (with_ttr && at_metadata_has(opts, AT_MD_CCD) &&
        (r = at_metadata_set_bool(out, AT_MD_CCD, opts->ccd)) != 0)
        goto out;
    if ((r = at_metadata_set_bool(out, AT_MD_IS_ENCRYPTED, is_encrypted)) != 0)
        goto out;
    for (size_t i = 0; i < sizeof(enc_fields) / sizeof(enc_fields[0]); i++)
        if ((r = copy_str(out, opts, enc_fields[i])) != 0)
            goto out;
    return 0;
out:
    at_metadata_clear(out);
    return r;
}

/* Metadata JSON of a record: the notification metadata with the dates of
 * the receipt (availableAt/expiresAt of replay variant (b)). */
static int record_meta_json(const struct at_metadata *md, int64_t now_ms, char **json)
{
    struct at_metadata m;
    int r;

    *json = NULL;
    if (!md)
        return 0;
    if ((r = at_metadata_copy(&m, md)) != 0)
        return r;
    at_metadata_compute_dates(&m, now_ms);
    r = at_metadata_to_json(&m, false, json);
    at_metadata_clear(&m);
    return r;
}

static void fill_record(struct ns_record *rec, const struct notif_req *rq, const char *id, int type,
                        int status, const char *meta_json, int64_t ttl_ms)
{
    memset(rec, 0, sizeof(*rec));
    rec->id = id;
    rec->from_atsign = rq->from;
    rec->to_atsign = rq->to;
    rec->key = rq->key;
    rec->type = type;
    rec->op = rq->op == AT_NOTIFY_DELETE ? NS_OP_DELETE : NS_OP_UPDATE;
    rec->message_type = rq->msg_type == AT_MSG_TEXT ? NS_MSG_TEXT : NS_MSG_KEY;
    rec->priority = (int)rq->priority;
    rec->status = status;
    rec->retry_count = 0;
    rec->strategy = rq->strategy == AT_STRATEGY_LATEST ? NS_STRATEGY_LATEST : NS_STRATEGY_ALL;
    rec->notifier = rq->notifier ? rq->notifier : "SYSTEM";
    rec->depth = rq->latest_n > 0 ? rq->latest_n : 1;
    rec->value = rq->value;
    rec->meta_json = meta_json;
    rec->ttl_ms = ttl_ms;
}

static int record_to_notification(const struct ns_record *rec, bool replay,
                                  struct at_notification *n)
{
    int r;

    at_notification_init(n);
    if ((r = at_notification_set_strings(n, rec->id, rec->from_atsign, rec->to_atsign, rec->key,
                                         rec->value)) != 0)
        return r;
    n->op = rec->op == NS_OP_DELETE ? AT_NOTIFY_DELETE : AT_NOTIFY_UPDATE;
    n->epoch_ms = rec->date_ms;
    n->msg_type = rec->message_type == NS_MSG_TEXT ? AT_MSG_TEXT : AT_MSG_KEY;
    n->md_kind = replay ? AT_NOTIF_MD_REPLAY : AT_NOTIF_MD_LIVE;
    if (rec->meta_json &&
        (r = at_metadata_from_json(&n->md, rec->meta_json, strlen(rec->meta_json))) != 0) {
        at_notification_clear(n);
        return r;
    }
    n->is_encrypted = at_metadata_has(&n->md, AT_MD_IS_ENCRYPTED) && n->md.is_encrypted;
    return 0;
}

int notif_format_line(const struct ns_record *rec, bool replay, struct np_buf *b)
{
    struct at_notification n;
    int r;

    if ((r = record_to_notification(rec, replay, &n)) != 0)
        return r;
    r = at_notification_format_line(&n, b);
    at_notification_clear(&n);
    return r;
}

int notif_record_json(const struct ns_record *rec, bool replay, char **out)
{
    struct at_notification n;
    int r;

    *out = NULL;
    if ((r = record_to_notification(rec, replay, &n)) != 0)
        return r;
    r = at_notification_to_json(&n, out);
    at_notification_clear(&n);
    return r;
}

bool notif_matches(const struct ns_record *rec, const void *re)
{
    const char *from = rec->from_atsign;

    if (regexec(re, rec->key, 0, NULL, 0) == 0)
        return true;
    if (from && from[0] == '@')
        from++;
    return from && regexec(re, from, 0, NULL, 0) == 0;
}

/* Push a persisted record to every monitor of h that wants it. */
static void push_record(struct as_host *h, const struct ns_record *rec)
{
    struct np_buf *b = NULL;
    struct as_conn *c, *next;
    bool any = false;

    for (c = h->conns; c; c = c->next)
        any = any || (c->mon && !c->closing);
    if (!any)
        return;
    if ((b = np_buf_new(2 * h->srv->cfg.auth_max_line + 65536)) == NULL ||
        notif_format_line(rec, false, b) != 0) {
        np_error("%s: cannot format notification %s for monitors", h->atsign, rec->id);
        np_buf_free(b);
        return;
    }
    for (c = h->conns; c; c = next) {
        next = c->next;
        monitor_offer(c, rec, np_buf_ptr(b), np_buf_len(b));
    }
    np_buf_free(b);
}

void notif_push_stats(struct as_host *h, enum at_notify_op op)
{
    struct at_notification n;
    struct np_buf *b = NULL;
    struct as_conn *c;
    bool any = false;

    for (c = h->conns; c; c = c->next)
        any = any || (c->mon && !c->closing);
    if (!any)
        return;
    at_notification_init(&n);
    if (at_notification_make_stats(&n, h->atsign, h->last_commit, op, np_wall_ms()) != 0 ||
        (b = np_buf_new(4096)) == NULL || at_notification_format_line(&n, b) != 0) {
        np_error("%s: cannot build a stats notification", h->atsign);
        goto out;
    }
    for (c = h->conns; c; c = c->next)
        monitor_push_all(c, np_buf_ptr(b), np_buf_len(b));
out:
    np_buf_free(b);
    at_notification_clear(&n);
}

/* 7.3 item 2: cached copies driven by notifications that carry a ttr. */
static void cache_side_effects(struct as_host *to, const struct notif_req *rq, int64_t now)
{
    struct ks_entry *e = NULL;
    struct at_metadata md;
    struct at_key k;
    size_t klen = strlen(rq->key);
    char *cached = NULL;
    int r;

    if (rq->msg_type != AT_MSG_KEY)
        return;
    if (rq->op == AT_NOTIFY_UPDATE &&
        !(rq->md && at_metadata_has(rq->md, AT_MD_TTR) && rq->md->ttr != 0))
        return;
    if ((cached = np_malloc(klen + 8)) == NULL)
        return;
    snprintf(cached, klen + 8, "cached:%s", rq->key);
    np_str_lower(cached); /* stored keys are lower-case; notification keys keep case */
    /* only well-formed cached shared keys within the length limit */
    if (at_key_parse(cached, strlen(cached), &k) != 0 || k.type != AT_KEY_CACHED_SHARED) {
        np_debug("%s: not caching %s (not a valid cached key)", to->atsign, rq->key);
        goto out;
    }
    /* only the owner of a key may update or remove our copy of it (a
     * pol-authenticated @x cannot write cached:...@y) */
    if (strcmp(k.owner, rq->from) != 0 || strcmp(k.shared_with, to->atsign) != 0) {
        np_info("%s: not caching %s: sent by %s, not by its owner", to->atsign, rq->key, rq->from);
        goto out;
    }
    r = kv_get(to, cached, now, &e);
    if (rq->op == AT_NOTIFY_DELETE) {
        if (r == 0 && kv_entry_metadata(e, &md) == 0) {
            bool ccd = at_metadata_has(&md, AT_MD_CCD) && md.ccd;
            at_metadata_clear(&md);
            if (ccd && kv_delete(to, cached, now, NULL, NULL) == 0)
                notif_push_stats(to, AT_NOTIFY_DELETE);
        }
        goto out;
    }
    if (!rq->value && r != 0)
        goto out; /* metadata-only update of a copy we do not have */
    r = kv_put(to, cached, rq->value, rq->value ? KV_SET_VALUE : KV_KEEP_VALUE, rq->md,
               rq->value ? KS_OP_UPDATE : KS_OP_META, now, NULL, NULL);
    if (r != 0)
        np_error("%s: cannot store %s: %s", to->atsign, cached, np_strerror(r));
    else
        notif_push_stats(to, AT_NOTIFY_UPDATE);
out:
    ks_entry_free(e);
    np_free(cached);
}

int notif_receive(struct as_host *to, const struct notif_req *rq)
{
    struct ns_record rec;
    char *meta = NULL;
    int64_t now = np_wall_ms(), ttl;
    int r;

    if (!rq->id || !rq->from || !rq->to || !rq->key)
        return NP_ERR_INVAL;
    if (strcmp(rq->from, to->atsign) != 0 && !as_host_admits(to, rq->from)) {
        np_info("%s: notification %s from %s refused by the block/allow list", to->atsign, rq->id,
                rq->from);
        return NP_ERR_PERM;
    }
    if ((r = record_meta_json(rq->md, now, &meta)) != 0)
        return r;
    ttl = rq->ttln_ms > 0 ? rq->ttln_ms : to->srv->cfg.notify_ttl_ms;
    fill_record(&rec, rq, rq->id, NS_TYPE_RECEIVED, NS_STATUS_DELIVERED, meta, ttl);
    r = ns_insert(to->ns, &rec, now, &rec.date_ms, &rec.expires_at_ms);
    if (r != 0) {
        if (r != NP_ERR_EXISTS)
            np_error("%s: cannot store notification %s: %s", to->atsign, rq->id, np_strerror(r));
        np_free(meta);
        return r;
    }
    np_debug("%s: received notification %s from %s", to->atsign, rq->id, rq->from);
    /* 7.3: the persisted record goes to the monitors first, then the cache */
    push_record(to, &rec);
    cache_side_effects(to, rq, now);
    np_free(meta);
    return 0;
}

int notif_send(struct as_host *h, const struct notif_req *rq, char id_out[NOTIF_ID_BUF])
{
    struct as_host *to;
    struct ns_record rec, *old = NULL;
    struct notif_req q = *rq;
    char uuid[NP_UUID_STR_LEN + 1], *meta = NULL;
    int64_t now = np_wall_ms(), ttl;
    int r, status;

    id_out[0] = '\0';
    if (!rq->from || !rq->to || !rq->key)
        return NP_ERR_INVAL;
    if (!q.id) {
        if (np_uuid4(uuid) != 0)
            return NP_ERR_INTERNAL;
        q.id = uuid;
    } else if (strlen(q.id) >= NOTIF_ID_BUF || strlen(q.id) > NS_ID_MAX) {
        return NP_ERR_INVAL;
    } else if ((r = ns_get(h->ns, q.id, &old)) != NP_ERR_NOTFOUND) {
        ns_record_free(old);
        return r == 0 ? NP_ERR_EXISTS : r;
    }
    snprintf(id_out, NOTIF_ID_BUF, "%s", q.id);
    ttl = q.ttln_ms > 0 ? q.ttln_ms : h->srv->cfg.notify_ttl_ms;
    q.ttln_ms = ttl;
    if (strcmp(q.to, h->atsign) == 0) /* to ourselves: received at once (6.8) */
        return notif_receive(h, &q);
    if ((r = record_meta_json(q.md, now, &meta)) != 0)
        return r;
    to = as_server_find_host(h->srv, q.to);
    if (to) {
        /* hosted here: deliver without a network hop */
        r = notif_receive(to, &q);
        status = (r == 0 || r == NP_ERR_EXISTS) ? NS_STATUS_DELIVERED : NS_STATUS_ERRORED;
        fill_record(&rec, &q, q.id, NS_TYPE_SENT, status, meta, ttl);
        rec.retry_count = status == NS_STATUS_DELIVERED ? 0 : 1;
    } else {
        fill_record(&rec, &q, q.id, NS_TYPE_SENT, NS_STATUS_QUEUED, meta, ttl);
    }
    r = ns_insert(h->ns, &rec, now, &rec.date_ms, &rec.expires_at_ms);
    if (r != 0) {
        np_error("%s: cannot store sent notification %s: %s", h->atsign, q.id, np_strerror(r));
        goto out;
    }
    if (!to) {
        if (q.strategy == AT_STRATEGY_LATEST) {
            struct ns_list *trimmed = NULL;
            if (ns_trim_latest(h->ns, q.to, rec.notifier, (size_t)rec.depth, &trimmed) == 0 &&
                trimmed->count)
                np_debug("%s: strategy latest dropped %zu older notifications to %s", h->atsign,
                         trimmed->count, q.to);
            ns_list_free(trimmed);
        }
        remote_notify_queued(h, &rec);
    }
out:
    np_free(meta);
    return r;
}

void notif_auto(struct as_host *h, const char *key, const char *with, enum at_notify_op op,
                const char *value, const struct at_metadata *key_md)
{
    static const enum at_md_field kept[] = {AT_MD_TTL, AT_MD_TTB, AT_MD_TTR, AT_MD_CCD};
    struct notif_req rq;
    struct at_metadata md;
    char id[NOTIF_ID_BUF];
    int r = 0;

    at_metadata_init(&md);
    memset(&rq, 0, sizeof(rq));
    rq.from = h->atsign;
    rq.to = with;
    rq.key = key;
    rq.op = op;
    rq.msg_type = AT_MSG_KEY;
    rq.notifier = "system";
    rq.latest_n = 1;
    if (op == AT_NOTIFY_DELETE) {
        rq.ttln_ms = h->srv->cfg.delete_notify_ttl_ms; /* no value, no metadata */
    } else {
        rq.value = value;
        for (size_t i = 0; key_md && i < sizeof(kept) / sizeof(kept[0]) && r == 0; i++) {
            enum at_md_field f = kept[i];
            if (!at_metadata_has(key_md, f))
                continue;
            if (f == AT_MD_CCD)
                r = at_metadata_set_bool(&md, f, key_md->ccd);
            else
                r = at_metadata_set_int(&md, f,
                                        f == AT_MD_TTL   ? key_md->ttl
                                        : f == AT_MD_TTB ? key_md->ttb
                                                         : key_md->ttr);
        }
        if (r == 0)
            r = at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED,
                                     key_md && at_metadata_has(key_md, AT_MD_IS_ENCRYPTED) &&
                                         key_md->is_encrypted);
        for (size_t i = 0; key_md && i < sizeof(enc_fields) / sizeof(enc_fields[0]) && r == 0; i++)
            r = copy_str(&md, key_md, enc_fields[i]);
        rq.md = &md;
    }
    if (r == 0)
        r = notif_send(h, &rq, id);
    if (r != 0)
        np_warn("%s: auto-notification of %s to %s failed: %s", h->atsign, key, with,
                np_strerror(r));
    at_metadata_clear(&md);
}

void notif_redeliver(struct as_host *h, const struct ns_record *rec)
{
    struct as_host *to = as_server_find_host(h->srv, rec->to_atsign);
    struct at_metadata md;
    struct notif_req rq;
    int r;

    if (!to) {
        remote_notify_queued(h, rec);
        return;
    }
    at_metadata_init(&md);
    if (rec->meta_json && at_metadata_from_json(&md, rec->meta_json, strlen(rec->meta_json)) != 0)
        at_metadata_clear(&md);
    memset(&rq, 0, sizeof(rq));
    rq.id = rec->id;
    rq.from = rec->from_atsign;
    rq.to = rec->to_atsign;
    rq.key = rec->key;
    rq.value = rec->value;
    rq.op = rec->op == NS_OP_DELETE ? AT_NOTIFY_DELETE : AT_NOTIFY_UPDATE;
    rq.msg_type = rec->message_type == NS_MSG_TEXT ? AT_MSG_TEXT : AT_MSG_KEY;
    rq.priority = (enum at_priority)rec->priority;
    rq.notifier = rec->notifier;
    rq.latest_n = rec->depth;
    rq.ttln_ms = rec->ttl_ms;
    rq.md = rec->meta_json ? &md : NULL;
    r = notif_receive(to, &rq);
    r = ns_set_status(h->ns, rec->id,
                      (r == 0 || r == NP_ERR_EXISTS) ? NS_STATUS_DELIVERED : NS_STATUS_ERRORED,
                      rec->retry_count + 1);
    if (r != 0)
        np_warn("%s: cannot update notification %s: %s", h->atsign, rec->id, np_strerror(r));
    at_metadata_clear(&md);
}
