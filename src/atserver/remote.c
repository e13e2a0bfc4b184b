/*
 * src/atserver/remote.c - the server-to-server boundary (see remote.h).
 *
 * Implemented here: the in-process short cut for atSigns hosted by this
 * process, with the visibility a pol-authenticated peer would get on the
 * owner's server (lookup: <@me>:<key><@owner>; plookup: public:...; scan:
 * keys starting <@me>:). Not implemented yet (another change adds it): the
 * network path - directory lookup, outbound TLS with the server
 * certificate, from/pol, the notification queue towards other servers.
 * Those places answer the protocol's error or keep notifications queued, and
 * log (rate-limited) that remote delivery is not implemented.
 */
#include "remote.h"
#include "conn.h"
#include "keystore.h"
#include "kv.h"
#include "notify_store.h"
#include "server.h"

#include "at/error.h"
#include "net/conn.h"
#include "net/tls.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* At most one "not implemented" line per this many ms. */
#define NOTE_EVERY_MS 10000

struct remote {
    struct as_server *srv;
    int64_t last_note; /* np_mono_ms of the last "not implemented" log line */
    uint64_t suppressed;
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

void remote_free(struct remote *r)
{
    np_free(r);
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
static void not_implemented(struct as_server *srv, const char *what, const char *atsign)
{
    struct remote *r = srv->remote;
    int64_t now = np_mono_ms();

    if (r && r->last_note != 0 && now - r->last_note < NOTE_EVERY_MS) {
        r->suppressed++;
        return;
    }
    np_info("%s for %s: server-to-server traffic is not implemented yet (%llu similar "
            "messages suppressed)",
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

int remote_lookup(struct as_conn *c, const struct remote_lookup_req *rq, struct remote_answer *ans,
                  remote_done_fn done, void *arg)
{
    struct as_host *me = c->host, *owner = as_server_find_host(me->srv, rq->owner);
    char key[AT_KEY_BUF + 2 * AT_ATSIGN_BUF + 16];
    int r;

    (void)done;
    (void)arg;
    memset(ans, 0, sizeof(*ans));
    if (!owner) {
        not_implemented(me->srv, rq->public_only ? "plookup" : "lookup", rq->owner);
        set_error(ans, AT_E_SECONDARY_NOT_FOUND, "%s is not hosted on this server", rq->owner);
        return 0;
    }
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

struct scan_arg {
    char prefix[AT_ATSIGN_BUF + 2];
};

static int shared_with_me(const char *key, void *arg)
{
    const struct scan_arg *s = arg;
    return np_str_startswith(key, s->prefix);
}

int remote_scan(struct as_conn *c, const char *owner_atsign, struct remote_answer *ans,
                remote_done_fn done, void *arg)
{
    struct as_host *me = c->host, *owner = as_server_find_host(me->srv, owner_atsign);
    struct ks_list *list = NULL;
    struct scan_arg s;
    size_t plen;
    int r;

    (void)done;
    (void)arg;
    memset(ans, 0, sizeof(*ans));
    if (!owner) {
        not_implemented(me->srv, "scan", owner_atsign);
        set_error(ans, AT_E_SECONDARY_NOT_FOUND, "%s is not hosted on this server", owner_atsign);
        return 0;
    }
    if (!as_host_admits(owner, me->atsign)) {
        set_error(ans, AT_E_HANDSHAKE, "%s refuses connections from %s", owner_atsign, me->atsign);
        return 0;
    }
    snprintf(s.prefix, sizeof(s.prefix), "%s:", me->atsign);
    plen = strlen(s.prefix);
    r = ks_scan(owner->ks, np_wall_ms(), KS_SCAN_KEYS_ONLY, shared_with_me, &s, &list);
    if (r != 0) {
        set_error(ans, AT_E_SECONDARY_CONNECT, "%s: scan failed (%s)", owner_atsign,
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

int remote_check_from(struct as_conn *c, const char *atsign, struct remote_answer *ans)
{
    struct as_server *srv = c->host->srv;
    struct net_peer_cert *pc = NULL;

    memset(ans, 0, sizeof(*ans));
    if (!srv->cfg.client_cert_required)
        return 0;
    if (!c->nc || net_conn_peer_cert(c->nc, &pc) != 0) {
        set_error(ans, AT_E_AUTH_FAILED, "Certificate Verification Failed: no client certificate");
        return 0;
    }
    net_peer_cert_free(pc);
    /* checking the certificate needs the directory's host for atsign */
    not_implemented(srv, "from (client certificate check)", atsign);
    set_error(ans, AT_E_AUTH_FAILED, "Certificate Verification Failed: cannot verify %s", atsign);
    return 0;
}

int remote_pol(struct as_conn *c, struct remote_answer *ans, remote_done_fn done, void *arg)
{
    (void)done;
    (void)arg;
    memset(ans, 0, sizeof(*ans));
    not_implemented(c->host->srv, "pol", c->from);
    set_error(ans, AT_E_AUTH_FAILED, "Pol Authentication Failed: cannot verify %s", c->from);
    return 0;
}

void remote_notify_queued(struct as_host *h, const struct ns_record *rec)
{
    np_debug("%s: notification %s to %s queued", h->atsign, rec->id, rec->to_atsign);
    not_implemented(h->srv, "notification delivery", rec->to_atsign);
}
