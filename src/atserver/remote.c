/*
 * src/atserver/remote.c - the server-to-server boundary (see remote.h).
 *
 * In-process short cut for atSigns hosted by this process; otherwise the
 * network path over outbound.h (after remote_start): remote lookups and
 * scans on pooled connections (pol-authenticated for shared data,
 * unauthenticated for plookup), the client-certificate check of from:,
 * pol verification over a fresh connection back to the claimed atSign's
 * server, and the per-recipient notification queue (7.2) with retries,
 * quarantine and persisted status.
 *
 * An asynchronous request of an inbound connection is a struct rctx: the
 * connection is suspended with rctx_cancel as its cancel hook; the
 * completion calls the caller's done, frees the rctx and resumes.
 */
#include "remote.h"
#include "conn.h"
#include "keystore.h"
#include "kv.h"
#include "notify_store.h"
#include "outbound.h"
#include "s2s.h"
#include "server.h"

#include "at/error.h"
#include "at/metadata.h"
#include "net/conn.h"
#include "net/tls.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

/* At most one "not available" line per this many ms. */
#define NOTE_EVERY_MS 10000
/* The proof a requester publishes lives this long (3.4). */
#define PROOF_TTL_MS 60000
/* Cached public values without a ttr live this long (6.5). */
#define PUBLIC_CACHE_TTL_MS (24LL * 3600 * 1000)
/* Notifications sent per batch to one recipient. */
#define NQ_BATCH 64
/* Longest key built here ("cached:public:" + key + atSigns). */
#define KEY_BUF (AT_KEY_BUF + 2 * AT_ATSIGN_BUF + 64)

/* The notifications of one hosted atSign (me) waiting for one recipient. */
struct nq {
    struct remote *r;
    struct nq *next;
    char me[AT_ATSIGN_BUF], to[AT_ATSIGN_BUF];
    char **ids; /* waiting, oldest first */
    size_t n, cap;
    char **batch; /* being sent; batch[pos] is in flight while req is set */
    size_t nb, pos;
    struct ob_req *req;
    int64_t cur_retry;
    int64_t quarantine_until; /* np_mono_ms */
};

struct remote {
    struct as_server *srv;
    int64_t last_note; /* np_mono_ms of the last "not available" log line */
    uint64_t suppressed;
    struct net_tls_ctx *tls;
    struct evdns_base *dns;
    struct ob *ob; /* NULL: no network path */
    struct event *kick;
    struct nq *queues;
};

int remote_new(struct as_server *srv, struct remote **out)
{
    struct remote *r;

    *out = NULL;
    if ((r = np_calloc(1, sizeof(*r))) == NULL)
        return NP_ERR_NOMEM;
    r->srv = srv;
    *out = r;
    return 0;
}

static void nq_free(struct nq *q)
{
    ob_cancel(q->req);
    for (size_t i = 0; i < q->n; i++)
        np_free(q->ids[i]);
    np_free(q->ids);
    for (size_t i = 0; i < q->nb; i++)
        np_free(q->batch[i]);
    np_free(q->batch);
    np_free(q);
}

void remote_free(struct remote *r)
{
    if (!r)
        return;
    while (r->queues) {
        struct nq *q = r->queues;
        r->queues = q->next;
        nq_free(q);
    }
    ob_free(r->ob);
    if (r->kick)
        event_free(r->kick);
    if (r->dns)
        evdns_base_free(r->dns, 0);
    net_tls_ctx_free(r->tls);
    np_free(r);
}

size_t remote_outbound_count(const struct remote *r)
{
    return r ? ob_count(r->ob) : 0;
}

void remote_answer_clear(struct remote_answer *a)
{
    if (!a)
        return;
    ks_entry_free(a->entry);
    for (size_t i = 0; i < a->n_keys; i++)
        np_free(a->keys[i]);
    np_free(a->keys);
    memset(a, 0, sizeof(*a));
}

/* Log (rate-limited) that something needs the network path. */
static void not_available(struct as_server *srv, const char *what, const char *atsign)
{
    struct remote *r = srv->remote;
    int64_t now = np_mono_ms();

    if (r && r->last_note != 0 && now - r->last_note < NOTE_EVERY_MS) {
        r->suppressed++;
        return;
    }
    np_info("%s for %s: server-to-server traffic needs --root-domain (%llu similar messages "
            "suppressed)",
            what, atsign, r ? (unsigned long long)r->suppressed : 0ULL);
    if (r) {
        r->last_note = now;
        r->suppressed = 0;
    }
}

static void set_error(struct remote_answer *ans, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(struct remote_answer *ans, int code, const char *fmt, ...)
{
    va_list ap;

    ans->code = code;
    va_start(ap, fmt);
    vsnprintf(ans->message, sizeof(ans->message), fmt, ap);
    va_end(ap);
}

/* ---- asynchronous requests of inbound connections ---- */

enum rkind { RX_LOOKUP, RX_SCAN, RX_FROM, RX_POL };

struct rctx {
    struct remote *r;
    struct as_conn *c;
    remote_done_fn done;
    void *arg;
    enum rkind kind;
    struct ob_req *req[2];
    int pending;
    struct ob_dirq *dirq;
    struct net_peer_cert *pc;
    char *res[2]; /* pol: signature, signing public key */
    char owner[AT_ATSIGN_BUF];
    char name[KEY_BUF];
    char proof[S2S_PROOF_MAX + 1];
    struct remote_answer ans;
};

static void rctx_free(struct rctx *x)
{
    for (int i = 0; i < 2; i++) {
        ob_cancel(x->req[i]);
        np_free(x->res[i]);
    }
    ob_dir_cancel(x->dirq);
    net_peer_cert_free(x->pc);
    remote_answer_clear(&x->ans);
    np_free(x);
}

/* The connection went away: cancel, let the caller free its arg. */
static void rctx_cancel(struct as_conn *c)
{
    struct rctx *x = c->async;

    if (!x)
        return;
    x->done(NULL, NULL, x->arg);
    rctx_free(x);
}

static struct rctx *rctx_new(struct as_conn *c, enum rkind kind, remote_done_fn done, void *arg)
{
    struct rctx *x = np_calloc(1, sizeof(*x));

    if (!x)
        return NULL;
    x->r = c->host->srv->remote;
    x->c = c;
    x->kind = kind;
    x->done = done;
    x->arg = arg;
    return x;
}

static int rctx_suspend(struct rctx *x)
{
    conn_suspend(x->c, rctx_cancel, x);
    return NP_AGAIN;
}

static void rctx_finish(struct rctx *x)
{
    struct as_conn *c = x->c;

    c->cancel = NULL;
    c->async = NULL;
    x->done(c, &x->ans, x->arg);
    rctx_free(x);
    conn_resume(c);
}

/* ---- lookups and scans ---- */

static bool is_null(const struct ob_reply *rep)
{
    return rep->data_len == 4 && memcmp(rep->data, "null", 4) == 0;
}

static void lookup_reply(void *arg, const struct ob_reply *rep)
{
    struct rctx *x = arg;
    int e;

    x->req[0] = NULL;
    if (rep->code != 0)
        set_error(&x->ans, rep->code, "%s", rep->message);
    else if (is_null(rep))
        set_error(&x->ans, AT_E_KEY_NOT_FOUND, "%s does not exist in keystore", x->name);
    else if ((e = s2s_entry_from_all(rep->data, rep->data_len, &x->ans.entry)) != 0)
        set_error(&x->ans, AT_E_INTERNAL_ERROR, "unreadable answer from %s (%s)", x->owner,
                  np_strerror(e));
    rctx_finish(x);
}

/* Map a failure to queue a request to an answer. */
static void queue_error(struct remote_answer *ans, int e, const char *owner)
{
    if (e == NP_ERR_LIMIT)
        set_error(ans, AT_E_OUTBOUND_LIMIT, "too many outbound connections");
    else
        set_error(ans, AT_E_SECONDARY_CONNECT, "%s: %s", owner, np_strerror(e));
}

static int lookup_local(struct as_conn *c, struct as_host *owner,
                        const struct remote_lookup_req *rq, struct remote_answer *ans)
{
    struct as_host *me = c->host;
    char key[KEY_BUF];
    int r;

    ans->local = true;
    if (!rq->public_only && !as_host_admits(owner, me->atsign)) {
        set_error(ans, AT_E_HANDSHAKE, "%s refuses connections from %s", rq->owner, me->atsign);
        return 0;
    }
    if (rq->public_only)
        snprintf(key, sizeof(key), "public:%s%s", rq->entity, rq->owner);
    else
        snprintf(key, sizeof(key), "%s:%s%s", me->atsign, rq->entity, rq->owner);
    r = kv_get(owner, key, np_wall_ms(), &ans->entry);
    if (r == NP_ERR_NOTFOUND)
        set_error(ans, AT_E_KEY_NOT_FOUND, "%s does not exist in keystore", key);
    else if (r != 0)
        set_error(ans, AT_E_SECONDARY_CONNECT, "%s: lookup failed (%s)", rq->owner, np_strerror(r));
    return 0;
}

int remote_lookup(struct as_conn *c, const struct remote_lookup_req *rq, struct remote_answer *ans,
                  remote_done_fn done, void *arg)
{
    struct as_host *me = c->host, *owner = as_server_find_host(me->srv, rq->owner);
    struct remote *r = me->srv->remote;
    struct rctx *x;
    char line[KEY_BUF + 16];
    int e;

    memset(ans, 0, sizeof(*ans));
    if (owner)
        return lookup_local(c, owner, rq, ans);
    if (!r || !r->ob) {
        not_available(me->srv, rq->public_only ? "plookup" : "lookup", rq->owner);
        set_error(ans, AT_E_SECONDARY_NOT_FOUND, "%s is not hosted on this server", rq->owner);
        return 0;
    }
    if ((x = rctx_new(c, RX_LOOKUP, done, arg)) == NULL) {
        set_error(ans, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return 0;
    }
    snprintf(x->owner, sizeof(x->owner), "%s", rq->owner);
    if (rq->public_only)
        snprintf(x->name, sizeof(x->name), "public:%s%s", rq->entity, rq->owner);
    else
        snprintf(x->name, sizeof(x->name), "%s:%s%s", me->atsign, rq->entity, rq->owner);
    snprintf(line, sizeof(line), "lookup:all:%s%s", rq->entity, rq->owner);
    e = ob_send(r->ob, me->atsign, rq->owner, rq->public_only ? OB_UNAUTH : OB_AUTH, line,
                me->srv->cfg.s2s_lookup_ms, lookup_reply, x, &x->req[0]);
    if (e != 0) {
        queue_error(ans, e, rq->owner);
        rctx_free(x);
        return 0;
    }
    return rctx_suspend(x);
}

static void scan_reply(void *arg, const struct ob_reply *rep)
{
    struct rctx *x = arg;

    x->req[0] = NULL;
    if (rep->code != 0)
        set_error(&x->ans, rep->code, "%s", rep->message);
    else if (s2s_keys_from_json(rep->data, rep->data_len, &x->ans.keys, &x->ans.n_keys) != 0)
        set_error(&x->ans, AT_E_INTERNAL_ERROR, "unreadable scan answer from %s", x->owner);
    rctx_finish(x);
}

struct scan_arg {
    char prefix[AT_ATSIGN_BUF + 2];
};

static int shared_with_me(const char *key, void *arg)
{
    const struct scan_arg *s = arg;
    return np_str_startswith(key, s->prefix);
}

static int scan_local(struct as_conn *c, struct as_host *owner, struct remote_answer *ans)
{
    struct as_host *me = c->host;
    struct ks_list *list = NULL;
    struct scan_arg s;
    size_t plen;
    int r;

    ans->local = true;
    if (!as_host_admits(owner, me->atsign)) {
        set_error(ans, AT_E_HANDSHAKE, "%s refuses connections from %s", owner->atsign, me->atsign);
        return 0;
    }
    snprintf(s.prefix, sizeof(s.prefix), "%s:", me->atsign);
    plen = strlen(s.prefix);
    r = ks_scan(owner->ks, np_wall_ms(), KS_SCAN_KEYS_ONLY, shared_with_me, &s, &list);
    if (r != 0) {
        set_error(ans, AT_E_SECONDARY_CONNECT, "%s: scan failed (%s)", owner->atsign,
                  np_strerror(r));
        return 0;
    }
    if (list->count && (ans->keys = np_calloc(list->count, sizeof(char *))) == NULL) {
        ks_list_free(list);
        set_error(ans, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < list->count; i++) {
        if ((ans->keys[ans->n_keys] = np_strdup(list->items[i]->key + plen)) == NULL) {
            set_error(ans, AT_E_INTERNAL_EXCEPTION, "out of memory");
            break;
        }
        ans->n_keys++;
    }
    ks_list_free(list);
    return 0;
}

int remote_scan(struct as_conn *c, const char *owner_atsign, struct remote_answer *ans,
                remote_done_fn done, void *arg)
{
    struct as_host *me = c->host, *owner = as_server_find_host(me->srv, owner_atsign);
    struct remote *r = me->srv->remote;
    struct rctx *x;
    int e;

    memset(ans, 0, sizeof(*ans));
    if (owner)
        return scan_local(c, owner, ans);
    if (!r || !r->ob) {
        not_available(me->srv, "scan", owner_atsign);
        set_error(ans, AT_E_SECONDARY_NOT_FOUND, "%s is not hosted on this server", owner_atsign);
        return 0;
    }
    if ((x = rctx_new(c, RX_SCAN, done, arg)) == NULL) {
        set_error(ans, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return 0;
    }
    snprintf(x->owner, sizeof(x->owner), "%s", owner_atsign);
    e = ob_send(r->ob, me->atsign, owner_atsign, OB_AUTH, "scan", me->srv->cfg.s2s_lookup_ms,
                scan_reply, x, &x->req[0]);
    if (e != 0) {
        queue_error(ans, e, owner_atsign);
        rctx_free(x);
        return 0;
    }
    return rctx_suspend(x);
}

/* ---- from: the client certificate ---- */

static void from_dir_cb(void *arg, int err, const char *host, int port)
{
    struct rctx *x = arg;

    (void)port;
    x->dirq = NULL;
    if (err == NP_ERR_NOTFOUND)
        set_error(&x->ans, AT_E_AUTH_FAILED,
                  "Certificate Verification Failed: %s is not known to the directory", x->owner);
    else if (err != 0)
        set_error(&x->ans, AT_E_AUTH_FAILED,
                  "Certificate Verification Failed: directory lookup of %s failed", x->owner);
    else if (!net_peer_cert_matches_host(x->pc, host)) {
        np_info("%s: from:%s with a client certificate (%s) that does not name %s", x->c->tag,
                x->owner, net_peer_cert_subject(x->pc), host);
        set_error(&x->ans, AT_E_AUTH_FAILED,
                  "Certificate Verification Failed: the client certificate does not name %s", host);
    }
    rctx_finish(x);
}

int remote_check_from(struct as_conn *c, const char *atsign, struct remote_answer *ans,
                      remote_done_fn done, void *arg)
{
    struct as_server *srv = c->host->srv;
    struct remote *r = srv->remote;
    struct net_peer_cert *pc = NULL;
    struct rctx *x;
    int e;

    memset(ans, 0, sizeof(*ans));
    if (!srv->cfg.client_cert_required)
        return 0;
    if (!c->nc || net_conn_peer_cert(c->nc, &pc) != 0) {
        set_error(ans, AT_E_AUTH_FAILED, "Certificate Verification Failed: no client certificate");
        return 0;
    }
    if (!r || !r->ob) {
        net_peer_cert_free(pc);
        not_available(srv, "from (client certificate check)", atsign);
        set_error(ans, AT_E_AUTH_FAILED, "Certificate Verification Failed: cannot verify %s",
                  atsign);
        return 0;
    }
    if ((x = rctx_new(c, RX_FROM, done, arg)) == NULL) {
        net_peer_cert_free(pc);
        set_error(ans, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return 0;
    }
    x->pc = pc;
    snprintf(x->owner, sizeof(x->owner), "%s", atsign);
    if ((e = ob_dir_lookup(r->ob, atsign, from_dir_cb, x, &x->dirq)) != 0) {
        set_error(ans, AT_E_AUTH_FAILED, "Certificate Verification Failed: %s", np_strerror(e));
        rctx_free(x);
        return 0;
    }
    return rctx_suspend(x);
}

/* ---- pol ---- */

static void pol_verify(struct remote_answer *ans, const char *from, const char *proof,
                       const char *sig, const char *pub)
{
    int e;

    if (!sig || !pub) {
        set_error(ans, AT_E_AUTH_FAILED, "Pol Authentication Failed");
        return;
    }
    if ((e = s2s_verify_proof(pub, proof, sig)) != 0) {
        np_info("pol: the proof of %s does not verify (%s)", from, np_strerror(e));
        set_error(ans, AT_E_AUTH_FAILED, "Pol Authentication Failed");
    }
}

/* pol for an atSign hosted here: read the proof and key from its store. */
static int pol_local(struct as_conn *c, struct as_host *from, const char *proof,
                     struct remote_answer *ans)
{
    struct ks_entry *sig = NULL, *pub = NULL;
    char key[KEY_BUF];
    int64_t now = np_wall_ms();

    ans->local = true;
    snprintf(key, sizeof(key), "public:%s%s", c->sid, from->atsign);
    if (kv_get(from, key, now, &sig) != 0 || !sig->active)
        ks_entry_free(sig), sig = NULL;
    snprintf(key, sizeof(key), "public:signing_publickey%s", from->atsign);
    if (kv_get(from, key, now, &pub) != 0)
        ks_entry_free(pub), pub = NULL;
    pol_verify(ans, from->atsign, proof, sig ? sig->value : NULL, pub ? pub->value : NULL);
    ks_entry_free(sig);
    ks_entry_free(pub);
    return 0;
}

static void pol_step(struct rctx *x, int i, const struct ob_reply *rep)
{
    x->req[i] = NULL;
    if (rep->code == 0 && !is_null(rep))
        x->res[i] = np_memdup0(rep->data, rep->data_len);
    else
        np_info("%s: pol: lookup %d on %s's server failed: AT%04d %s", x->c->tag, i, x->owner,
                rep->code, rep->code ? rep->message : "null");
    if (--x->pending > 0)
        return;
    pol_verify(&x->ans, x->owner, x->proof, x->res[0], x->res[1]);
    rctx_finish(x);
}

static void pol_sig_reply(void *arg, const struct ob_reply *rep)
{
    pol_step(arg, 0, rep);
}

static void pol_key_reply(void *arg, const struct ob_reply *rep)
{
    pol_step(arg, 1, rep);
}

int remote_pol(struct as_conn *c, struct remote_answer *ans, remote_done_fn done, void *arg)
{
    struct as_host *me = c->host, *from = as_server_find_host(me->srv, c->from);
    struct remote *r = me->srv->remote;
    const char *colon = c->challenge ? strchr(c->challenge, ':') : NULL;
    struct ob_sess *s = NULL;
    struct rctx *x;
    char line[KEY_BUF];
    int e;

    memset(ans, 0, sizeof(*ans));
    if (!colon || strlen(colon + 1) > S2S_PROOF_MAX) {
        set_error(ans, AT_E_AUTH_FAILED, "Pol Authentication Failed");
        return 0;
    }
    if (from)
        return pol_local(c, from, colon + 1, ans);
    if (!r || !r->ob) {
        not_available(me->srv, "pol", c->from);
        set_error(ans, AT_E_AUTH_FAILED, "Pol Authentication Failed: cannot verify %s", c->from);
        return 0;
    }
    if ((x = rctx_new(c, RX_POL, done, arg)) == NULL) {
        set_error(ans, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return 0;
    }
    snprintf(x->owner, sizeof(x->owner), "%s", c->from);
    snprintf(x->proof, sizeof(x->proof), "%s", colon + 1);
    if ((e = ob_fresh(r->ob, me->atsign, c->from, &s)) != 0)
        goto fail;
    snprintf(line, sizeof(line), "lookup:%s%s", c->sid, c->from);
    if ((e = ob_sess_send(s, line, me->srv->cfg.s2s_lookup_ms, pol_sig_reply, x, &x->req[0])) != 0)
        goto fail;
    x->pending++;
    snprintf(line, sizeof(line), "lookup:signing_publickey%s", c->from);
    if ((e = ob_sess_send(s, line, me->srv->cfg.s2s_lookup_ms, pol_key_reply, x, &x->req[1])) != 0)
        goto fail;
    x->pending++;
    ob_sess_release(s);
    np_debug("%s: pol: verifying %s on its server", c->tag, c->from);
    return rctx_suspend(x);
fail:
    set_error(ans, AT_E_AUTH_FAILED, "Pol Authentication Failed: %s", np_strerror(e));
    rctx_free(x); /* cancels the queued lookups first */
    ob_sess_release(s);
    return 0;
}

/* ---- caching of public values ---- */

static void strip_server_fields(struct at_metadata *md)
{
    static const enum at_md_field f[] = {AT_MD_CREATED_BY, AT_MD_UPDATED_BY,   AT_MD_CREATED_AT,
                                         AT_MD_UPDATED_AT, AT_MD_AVAILABLE_AT, AT_MD_EXPIRES_AT,
                                         AT_MD_REFRESH_AT, AT_MD_STATUS,       AT_MD_VERSION};

    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        at_metadata_unset(md, f[i]);
}

/* 8.2: the public key of `owner` changed: retire our copy of the shared
 * key for it so that the next send makes a new one. */
static void retire_shared_key(struct as_host *h, const char *owner, int64_t now)
{
    char from[KEY_BUF], to[KEY_BUF];
    int64_t cid = -1;
    int r;

    snprintf(from, sizeof(from), "shared_key.%s%s", owner + 1, h->atsign);
    snprintf(to, sizeof(to), "shared_key.%s.until.%lld%s", owner + 1, (long long)now, h->atsign);
    r = ks_rename(h->ks, from, to, KS_OP_UPDATE, now, &cid);
    if (r == 0) {
        np_info("%s: the public key of %s changed; %s renamed to %s", h->atsign, owner, from, to);
        if (cid >= 0)
            h->last_commit = cid;
    } else if (r != NP_ERR_NOTFOUND) {
        np_warn("%s: cannot rename %s: %s", h->atsign, from, np_strerror(r));
    }
}

int remote_cache_public(struct as_host *h, const char *entity, const char *owner,
                        const struct ks_entry *e)
{
    struct ks_entry *old = NULL;
    struct at_metadata md;
    char cached[KEY_BUF];
    bool pk = strcmp(entity, "publickey") == 0;
    int64_t now = np_wall_ms();
    int r;

    if (!e || !e->value)
        return 0;
    at_metadata_init(&md);
    snprintf(cached, sizeof(cached), "cached:public:%s%s", entity, owner);
    if (pk) {
        r = kv_get(h, cached, now, &old);
        if (r == 0 && old->active && old->value && strcmp(old->value, e->value) == 0) {
            r = 0; /* unchanged and fresh: no write (6.5) */
            goto out;
        }
        if (r == 0 && old->value && strcmp(old->value, e->value) != 0)
            retire_shared_key(h, owner, now);
    }
    if (kv_entry_metadata(e, &md) != 0)
        at_metadata_clear(&md);
    strip_server_fields(&md);
    if (!(at_metadata_has(&md, AT_MD_TTR) && md.ttr != 0) &&
        (r = at_metadata_set_int(&md, AT_MD_TTL, PUBLIC_CACHE_TTL_MS)) != 0)
        goto out;
    if (pk && (r = at_metadata_set_int(&md, AT_MD_TTR, -1)) != 0)
        goto out;
    r = kv_put(h, cached, e->value, KV_SET_VALUE, &md, KS_OP_UPDATE, now, NULL, NULL);
    if (r != 0)
        np_warn("%s: cannot cache %s: %s", h->atsign, cached, np_strerror(r));
out:
    ks_entry_free(old);
    at_metadata_clear(&md);
    return r;
}

/* ---- hooks of the outbound engine ---- */

static void hook_pubkey(void *arg, const char *me, const char *remote, const char *json, size_t n)
{
    struct remote *r = arg;
    struct as_host *h = as_server_find_host(r->srv, me);
    struct ks_entry *e = NULL;

    if (!h)
        return;
    if (s2s_entry_from_all(json, n, &e) != 0) {
        np_debug("%s: unreadable public key answer from %s", me, remote);
        return;
    }
    remote_cache_public(h, "publickey", remote, e);
    ks_entry_free(e);
}

static int hook_prove(void *arg, const char *me, const char *sid_key, const char *proof)
{
    struct remote *r = arg;
    struct as_host *h = as_server_find_host(r->srv, me);
    struct ks_entry *e = NULL;
    struct at_metadata md;
    char key[KEY_BUF], *sig = NULL;
    int64_t now = np_wall_ms();
    int rc;

    if (!h)
        return NP_ERR_NOTFOUND;
    at_metadata_init(&md);
    snprintf(key, sizeof(key), "%s:signing_privatekey%s", me, me);
    if ((rc = kv_get(h, key, now, &e)) != 0 || !e->value) {
        np_error("%s: no server signing key (%s)", me, rc ? np_strerror(rc) : "empty");
        rc = rc ? rc : NP_ERR_NOTFOUND;
        goto out;
    }
    if ((rc = s2s_sign_proof(e->value, proof, &sig)) != 0) {
        np_error("%s: cannot sign the pol proof: %s", me, np_strerror(rc));
        goto out;
    }
    snprintf(key, sizeof(key), "public:%s", sid_key);
    if ((rc = at_metadata_set_int(&md, AT_MD_TTL, PROOF_TTL_MS)) == 0)
        rc = kv_put(h, key, sig, KV_SET_VALUE, &md, KS_OP_UPDATE, now, NULL, NULL);
    if (rc != 0)
        np_error("%s: cannot store the pol proof: %s", me, np_strerror(rc));
out:
    if (e && e->value)
        np_memzero((char *)e->value, strlen(e->value));
    ks_entry_free(e);
    np_free(sig);
    at_metadata_clear(&md);
    return rc;
}

/* ---- the notification queue (7.2) ---- */

static bool sendable(const struct ns_record *rec, const char *to, int64_t now, int64_t max)
{
    return rec->type == NS_TYPE_SENT &&
           (rec->status == NS_STATUS_QUEUED || rec->status == NS_STATUS_ERRORED) &&
           rec->retry_count < max && (rec->expires_at_ms <= 0 || now <= rec->expires_at_ms) &&
           strcmp(rec->to_atsign, to) == 0;
}

static int ids_push(char ***v, size_t *n, size_t *cap, char *id)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        char **nv = np_realloc(*v, ncap * sizeof(*nv));
        if (!nv)
            return NP_ERR_NOMEM;
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = id;
    return 0;
}

static void nq_batch_free(struct nq *q)
{
    for (size_t i = 0; i < q->nb; i++)
        np_free(q->batch[i]);
    np_free(q->batch);
    q->batch = NULL;
    q->nb = q->pos = 0;
}

static void kick(struct remote *r)
{
    if (r->kick)
        event_active(r->kick, 0, 0);
}

/* The batch from pos on failed: errored, retry + 1, re-queued in front
 * while retries and ttln allow; a connection failure quarantines. */
static void nq_fail(struct remote *r, struct nq *q, bool transport, const char *why)
{
    struct as_server *srv = r->srv;
    struct as_host *h = as_server_find_host(srv, q->me);
    char **keep = NULL;
    size_t nk = 0, ck = 0;
    int64_t now = np_wall_ms();

    for (size_t i = q->pos; i < q->nb; i++) {
        struct ns_record *rec = NULL;
        char *id = q->batch[i];
        q->batch[i] = NULL;
        if (h && ns_get(h->ns, id, &rec) == 0 &&
            sendable(rec, q->to, now, srv->cfg.s2s_max_retries)) {
            int64_t retry = rec->retry_count + 1;
            if (ns_set_status(h->ns, id, NS_STATUS_ERRORED, retry) != 0)
                np_warn("%s: cannot update notification %s", q->me, id);
            if (retry < srv->cfg.s2s_max_retries &&
                (rec->expires_at_ms <= 0 || now <= rec->expires_at_ms) &&
                ids_push(&keep, &nk, &ck, id) == 0)
                id = NULL;
            else if (id)
                np_info("%s: notification %s to %s errored for good after %lld attempts", q->me, id,
                        q->to, (long long)retry);
        }
        ns_record_free(rec);
        np_free(id);
    }
    nq_batch_free(q);
    if (nk) {
        for (size_t i = 0; i < q->n; i++)
            if (ids_push(&keep, &nk, &ck, q->ids[i]) != 0)
                np_free(q->ids[i]);
        np_free(q->ids);
        q->ids = keep;
        q->n = nk;
        q->cap = ck;
    } else {
        np_free(keep);
    }
    if (transport) {
        q->quarantine_until = np_mono_ms() + srv->cfg.s2s_quarantine_ms;
        np_info("%s: %s quarantined for %lld ms (%s); %zu notifications wait", q->me, q->to,
                (long long)srv->cfg.s2s_quarantine_ms, why, q->n);
    }
}

static void nq_next(struct nq *q);

static void nq_reply(void *arg, const struct ob_reply *rep)
{
    struct nq *q = arg;
    struct as_host *h = as_server_find_host(q->r->srv, q->me);
    const char *id = q->batch[q->pos];
    int e;

    q->req = NULL;
    if (rep->code == 0 && rep->data_len == 7 && memcmp(rep->data, "success", 7) == 0) {
        np_debug("%s: notification %s delivered to %s", q->me, id, q->to);
        if (h && (e = ns_set_status(h->ns, id, NS_STATUS_DELIVERED, q->cur_retry)) != 0)
            np_warn("%s: cannot mark notification %s delivered: %s", q->me, id, np_strerror(e));
        q->pos++;
        nq_next(q);
        return;
    }
    if (rep->code)
        np_info("%s: notification %s to %s not delivered: AT%04d %s", q->me, id, q->to, rep->code,
                rep->message);
    else
        np_info("%s: notification %s to %s not delivered: unexpected answer data:%.*s", q->me, id,
                q->to, (int)(rep->data_len < 64 ? rep->data_len : 64), rep->data);
    nq_fail(q->r, q, rep->transport, rep->code ? rep->message : "unexpected answer");
}

/* Send batch[pos] (skipping what is no longer sendable), or end the batch. */
static void nq_next(struct nq *q)
{
    struct remote *r = q->r;
    struct as_server *srv = r->srv;
    struct as_host *h = as_server_find_host(srv, q->me);
    struct np_buf *b = NULL;
    int e;

    while (h && q->pos < q->nb) {
        struct ns_record *rec = NULL;
        const char *id = q->batch[q->pos];
        int64_t now = np_wall_ms();

        if (ns_get(h->ns, id, &rec) != 0 || !sendable(rec, q->to, now, srv->cfg.s2s_max_retries)) {
            ns_record_free(rec);
            q->pos++;
            continue;
        }
        if (!b && (b = np_buf_new(2 * srv->cfg.auth_max_line + 65536)) == NULL) {
            ns_record_free(rec);
            break;
        }
        np_buf_reset(b);
        if ((e = s2s_notify_line(rec, b)) != 0) {
            np_warn("%s: notification %s cannot be forwarded (%s); giving up on it", q->me, id,
                    np_strerror(e));
            ns_set_status(h->ns, id, NS_STATUS_ERRORED, srv->cfg.s2s_max_retries);
            ns_record_free(rec);
            q->pos++;
            continue;
        }
        q->cur_retry = rec->retry_count;
        ns_record_free(rec);
        e = ob_send(r->ob, q->me, q->to, OB_AUTH, np_buf_ptr(b), srv->cfg.s2s_notify_ms, nq_reply,
                    q, &q->req);
        np_buf_free(b);
        if (e != 0)
            nq_fail(r, q, true, np_strerror(e));
        return;
    }
    np_buf_free(b);
    if (q->pos < q->nb) { /* out of memory or the host is gone: try later */
        nq_fail(r, q, false, "local failure");
        return;
    }
    nq_batch_free(q);
    if (q->n)
        kick(r);
}

static void nq_run(struct nq *q, int64_t now_mono)
{
    size_t take;

    if (q->req || q->nb || q->n == 0 || now_mono < q->quarantine_until)
        return;
    take = q->n < NQ_BATCH ? q->n : NQ_BATCH;
    if ((q->batch = np_calloc(take, sizeof(char *))) == NULL)
        return;
    memcpy(q->batch, q->ids, take * sizeof(char *));
    memmove(q->ids, q->ids + take, (q->n - take) * sizeof(char *));
    q->n -= take;
    q->nb = take;
    q->pos = 0;
    nq_next(q);
}

void remote_notify_run(struct as_server *srv)
{
    struct remote *r = srv->remote;
    int64_t now = np_mono_ms();

    if (!r || !r->ob)
        return;
    for (struct nq *q = r->queues; q; q = q->next)
        nq_run(q, now);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct remote *r = arg;

    (void)fd;
    (void)what;
    remote_notify_run(r->srv);
}

static bool nq_has(const struct nq *q, const char *id)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->ids[i], id) == 0)
            return true;
    for (size_t i = 0; i < q->nb; i++)
        if (q->batch[i] && strcmp(q->batch[i], id) == 0)
            return true;
    return false;
}

void remote_notify_queued(struct as_host *h, const struct ns_record *rec)
{
    struct remote *r = h->srv->remote;
    struct nq *q;
    char *id;

    if (!r || !r->ob) {
        np_debug("%s: notification %s to %s stays queued", h->atsign, rec->id, rec->to_atsign);
        not_available(h->srv, "notification delivery", rec->to_atsign);
        return;
    }
    for (q = r->queues; q; q = q->next)
        if (strcmp(q->me, h->atsign) == 0 && strcmp(q->to, rec->to_atsign) == 0)
            break;
    if (!q) {
        if ((q = np_calloc(1, sizeof(*q))) == NULL)
            goto nomem;
        q->r = r;
        snprintf(q->me, sizeof(q->me), "%s", h->atsign);
        snprintf(q->to, sizeof(q->to), "%s", rec->to_atsign);
        q->next = r->queues;
        r->queues = q;
    }
    if (nq_has(q, rec->id))
        return;
    if ((id = np_strdup(rec->id)) == NULL)
        goto nomem;
    if (ids_push(&q->ids, &q->n, &q->cap, id) != 0) {
        np_free(id);
        goto nomem;
    }
    np_debug("%s: notification %s to %s queued for delivery", h->atsign, rec->id, rec->to_atsign);
    kick(r);
    return;
nomem:
    np_error("%s: out of memory queueing notification %s (it stays persisted as queued)", h->atsign,
             rec->id);
}

/* ---- start ---- */

int remote_start(struct remote *r, const struct remote_net *n)
{
    const struct as_config *cfg = &r->srv->cfg;
    struct net_tls_client_opts to;
    struct ob_params p;
    char host[NP_HOST_MAX + 1];
    int port, e;

    if (!n || !n->root_domain)
        return NP_ERR_INVAL;
    if (np_hostport_parse(n->root_domain, 64, host, &port) != 0) {
        np_error("invalid --root-domain %s (expected host[:port])", n->root_domain);
        return NP_ERR_FORMAT;
    }
    memset(&to, 0, sizeof(to));
    to.ca_file = n->ca_file;
    to.cert_file = n->cert_file;
    to.key_file = n->key_file;
    if ((e = net_tls_client_ctx_new(&to, &r->tls)) != 0) {
        np_error("cannot set up TLS for server-to-server connections: %s", np_strerror(e));
        return e;
    }
    r->dns = evdns_base_new(r->srv->base,
                            EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!r->dns)
        np_warn("no DNS resolver (resolv.conf unusable); host names resolve with getaddrinfo");
    memset(&p, 0, sizeof(p));
    p.root_host = host;
    p.root_port = port;
    p.tls = r->tls;
    p.dns = r->dns;
    p.connect_ms = cfg->s2s_connect_ms;
    p.handshake_ms = cfg->s2s_handshake_ms;
    p.lookup_ms = cfg->s2s_lookup_ms;
    p.idle_ms = cfg->s2s_idle_ms;
    p.dir_cache_ms = cfg->s2s_directory_cache_ms;
    p.max_sessions = cfg->s2s_max_connections;
    p.max_input = 2 * cfg->auth_max_line + 65536;
    p.hooks.arg = r;
    p.hooks.pubkey = hook_pubkey;
    p.hooks.prove = hook_prove;
    if ((e = ob_new(r->srv->base, &p, &r->ob)) != 0 ||
        (r->kick = event_new(r->srv->base, -1, 0, kick_cb, r)) == NULL) {
        ob_free(r->ob);
        r->ob = NULL;
        return e ? e : NP_ERR_NOMEM;
    }
    np_info("server-to-server: directory %s:%d, client certificates %s", host, port,
            cfg->client_cert_required ? "required" : "not required");
    return 0;
}
