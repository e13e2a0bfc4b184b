/*
 * src/atserver/server.c - the process and its hosted atSigns (server.h):
 * opening each atSign's stores, the one-time server signing key pair
 * (atprotocol.md 3.4, 4.2), block/allow lists, listeners, the start-up
 * re-queue of unsent notifications, and teardown that frees everything.
 */
#include "server.h"
#include "conn.h"
#include "hostsdb.h"
#include "keystore.h"
#include "kv.h"
#include "notif.h"
#include "notify_store.h"
#include "remote.h"

#include "at/atsign.h"
#include "crypto/rsa.h"
#include "net/listener.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

/* ---- atSign lists ---- */

bool as_list_has(const struct as_atsign_list *l, const char *atsign)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], atsign) == 0)
            return true;
    return false;
}

int as_list_add(struct as_atsign_list *l, const char *atsign)
{
    if (as_list_has(l, atsign))
        return 0;
    if (strlen(atsign) >= AT_ATSIGN_BUF)
        return NP_ERR_INVAL;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        void *nv = np_realloc(l->v, ncap * sizeof(*l->v));
        if (!nv)
            return NP_ERR_NOMEM;
        l->v = nv;
        l->cap = ncap;
    }
    snprintf(l->v[l->n++], AT_ATSIGN_BUF, "%s", atsign);
    return 0;
}

void as_list_remove(struct as_atsign_list *l, const char *atsign)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], atsign) == 0) {
            memmove(l->v[i], l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
            l->n--;
            return;
        }
    }
}

void as_list_clear(struct as_atsign_list *l)
{
    np_free(l->v);
    memset(l, 0, sizeof(*l));
}

bool as_host_admits(const struct as_host *h, const char *from)
{
    if (as_list_has(&h->block, from))
        return false;
    return h->allow.n == 0 || as_list_has(&h->allow, from);
}

/* Keys of the lists and their JSON member names. */
static void list_key(const struct as_host *h, bool allow, char *key, size_t size)
{
    snprintf(key, size, "private:%s%s", allow ? "allowlist" : "blocklist", h->atsign);
}

static int save_list(struct as_host *h, bool allow)
{
    const struct as_atsign_list *l = allow ? &h->allow : &h->block;
    cJSON *o = cJSON_CreateObject(), *arr;
    char key[AT_ATSIGN_BUF + 32], *txt = NULL;
    int r = NP_ERR_NOMEM;

    if (!o || (arr = cJSON_AddArrayToObject(o, allow ? "allowList" : "blockList")) == NULL)
        goto out;
    for (size_t i = 0; i < l->n; i++) {
        cJSON *s = cJSON_CreateString(l->v[i]);
        if (!s)
            goto out;
        cJSON_AddItemToArray(arr, s);
    }
    if ((txt = cJSON_PrintUnformatted(o)) == NULL)
        goto out;
    list_key(h, allow, key, sizeof(key));
    r = kv_put_simple(h, key, txt, np_wall_ms());
out:
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(o);
    return r;
}

int as_host_save_lists(struct as_host *h)
{
    int r = save_list(h, false);
    return r ? r : save_list(h, true);
}

static int load_list(struct as_host *h, bool allow)
{
    struct as_atsign_list *l = allow ? &h->allow : &h->block;
    struct ks_entry *e = NULL;
    cJSON *o = NULL, *arr, *it;
    char key[AT_ATSIGN_BUF + 32], norm[AT_ATSIGN_BUF];
    int r;

    list_key(h, allow, key, sizeof(key));
    r = ks_get(h->ks, key, np_wall_ms(), &e);
    if (r == NP_ERR_NOTFOUND)
        return 0;
    if (r != 0)
        return r;
    if (e->value && (o = cJSON_Parse(e->value)) != NULL) {
        arr = cJSON_GetObjectItemCaseSensitive(o, allow ? "allowList" : "blockList");
        cJSON_ArrayForEach(it, arr)
        {
            if (cJSON_IsString(it) &&
                at_atsign_normalise(it->valuestring, strlen(it->valuestring), norm, sizeof(norm)) ==
                    0 &&
                (r = as_list_add(l, norm)) != 0)
                break;
        }
    } else {
        np_warn("%s: %s is unreadable; starting with an empty list", h->atsign, key);
    }
    cJSON_Delete(o);
    ks_entry_free(e);
    return r;
}

/* ---- the signing key pair ---- */

/* Generate and store the server signing key pair once (4.2). */
static int ensure_signing_keys(struct as_host *h)
{
    struct ks_entry *e = NULL;
    struct np_rsa_key *k = NULL;
    char key[2 * AT_ATSIGN_BUF + 32], *pub = NULL, *priv = NULL;
    int64_t now = np_wall_ms();
    int r;

    snprintf(key, sizeof(key), "public:signing_publickey%s", h->atsign);
    r = ks_get(h->ks, key, now, &e);
    ks_entry_free(e);
    if (r != NP_ERR_NOTFOUND)
        return r;
    np_info("%s: generating the server signing key pair", h->atsign);
    if ((r = np_rsa_generate(&k)) != 0 || (r = np_rsa_public_b64(k, &pub)) != 0 ||
        (r = np_rsa_private_b64(k, &priv)) != 0)
        goto out;
    snprintf(key, sizeof(key), "%s:signing_privatekey%s", h->atsign, h->atsign);
    if ((r = kv_put_simple(h, key, priv, now)) != 0)
        goto out;
    snprintf(key, sizeof(key), "public:signing_publickey%s", h->atsign);
    if ((r = kv_put_simple(h, key, pub, now)) != 0 ||
        (r = kv_put_simple(h, "privatekey:signing_keypair_generated", "true", now)) != 0)
        goto out;
    r = 0;
out:
    np_rsa_free(k);
    np_free(pub);
    np_freezero_str(priv);
    return r;
}

/* ---- server and hosts ---- */

int as_server_new(struct event_base *base, const struct as_config *cfg, struct net_tls_ctx *tls,
                  struct as_server **out)
{
    struct as_server *s;

    *out = NULL;
    if ((s = np_calloc(1, sizeof(*s))) == NULL)
        return NP_ERR_NOMEM;
    s->cfg = *cfg;
    s->base = base;
    s->tls = tls;
    s->started_mono = np_mono_ms();
    if (remote_new(s, &s->remote) != 0) {
        np_free(s);
        return NP_ERR_NOMEM;
    }
    *out = s;
    return 0;
}

struct as_host *as_server_find_host(struct as_server *srv, const char *atsign)
{
    for (struct as_host *h = srv->hosts; h; h = h->next)
        if (strcmp(h->atsign, atsign) == 0)
            return h;
    return NULL;
}

static void on_accept(int fd, const struct sockaddr *sa, int salen, void *data)
{
    (void)sa;
    (void)salen;
    conn_accept(data, fd);
}

static void host_free(struct as_host *h)
{
    if (!h)
        return;
    while (h->conns)
        conn_destroy(h->conns);
    net_listener_free(h->lst);
    ks_close(h->ks);
    ns_close(h->ns);
    as_list_clear(&h->block);
    as_list_clear(&h->allow);
    np_free(h);
}

int as_server_add_host(struct as_server *srv, const char *data_dir, const char *atsign, int port,
                       bool listen, struct as_host **out)
{
    struct as_host *h = NULL, **tail;
    int r;

    if (out)
        *out = NULL;
    if ((h = np_calloc(1, sizeof(*h))) == NULL)
        return NP_ERR_NOMEM;
    h->srv = srv;
    h->port = port;
    h->last_commit = -1;
    if ((r = at_atsign_normalise(atsign, strlen(atsign), h->atsign, sizeof(h->atsign))) != 0) {
        np_error("invalid atSign %s", atsign);
        goto fail;
    }
    if (as_server_find_host(srv, h->atsign)) {
        r = NP_ERR_EXISTS;
        goto fail;
    }
    snprintf(h->prompt, sizeof(h->prompt), "%s@", h->atsign);
    unsigned oflags = srv->cfg.durable_writes ? 0 : KS_OPEN_SYNC_NORMAL;
    if ((r = ks_open(data_dir, h->atsign, oflags, &h->ks)) != 0 ||
        (r = ns_open(data_dir, h->atsign, oflags, &h->ns)) != 0) {
        np_error("%s: cannot open its store in %s: %s", h->atsign, data_dir, np_strerror(r));
        goto fail;
    }
    if ((r = ensure_signing_keys(h)) != 0) {
        np_error("%s: cannot create the signing key pair: %s", h->atsign, np_strerror(r));
        goto fail;
    }
    if ((r = load_list(h, false)) != 0 || (r = load_list(h, true)) != 0 ||
        (r = ks_last_commit_id(h->ks, NULL, NULL, &h->last_commit)) != 0) {
        np_error("%s: cannot read its store: %s", h->atsign, np_strerror(r));
        goto fail;
    }
    if (listen) {
        if ((r = net_listener_new(srv->base, srv->bind, port, on_accept, h, &h->lst)) != 0) {
            np_error("%s: cannot listen on port %d: %s", h->atsign, port, np_strerror(r));
            goto fail;
        }
        h->port = net_listener_port(h->lst);
        np_info("%s: listening on %s (TLS)", h->atsign, net_listener_addr(h->lst));
    }
    for (tail = &srv->hosts; *tail; tail = &(*tail)->next)
        ;
    *tail = h;
    srv->n_hosts++;
    if (out)
        *out = h;
    return 0;
fail:
    host_free(h);
    return r;
}

void as_server_requeue(struct as_server *srv)
{
    for (struct as_host *h = srv->hosts; h; h = h->next) {
        struct ns_list *list = NULL;
        int r = ns_list_queued_sent(h->ns, np_wall_ms(), srv->cfg.s2s_max_retries, &list);
        if (r != 0) {
            np_error("%s: cannot read queued notifications: %s", h->atsign, np_strerror(r));
            continue;
        }
        if (list->count)
            np_info("%s: %zu sent notifications still queued", h->atsign, list->count);
        for (size_t i = 0; i < list->count; i++)
            notif_redeliver(h, list->items[i]);
        ns_list_free(list);
    }
}

void as_server_free(struct as_server *srv)
{
    if (!srv)
        return;
    jobs_stop(srv);
    while (srv->hosts) {
        struct as_host *h = srv->hosts;
        srv->hosts = h->next;
        host_free(h);
    }
    remote_free(srv->remote);
    net_tls_ctx_free(srv->tls);
    np_free(srv);
}

/* ---- atserver run ---- */

struct host_row {
    char atsign[AT_ATSIGN_BUF];
    int port;
};

struct rows {
    struct host_row *v;
    size_t n, cap;
};

static int collect_row(const char *atsign, int port, const char *host, void *arg)
{
    struct rows *rows = arg;

    (void)host;
    if (rows->n == rows->cap) {
        size_t ncap = rows->cap ? rows->cap * 2 : 8;
        void *nv = np_realloc(rows->v, ncap * sizeof(*rows->v));
        if (!nv)
            return NP_ERR_NOMEM;
        rows->v = nv;
        rows->cap = ncap;
    }
    snprintf(rows->v[rows->n].atsign, AT_ATSIGN_BUF, "%s", atsign);
    rows->v[rows->n++].port = port;
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    np_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(arg);
}

int as_run(const struct as_opts *o)
{
    struct net_tls_server_opts to = {
        .cert_file = o->cert_file, .key_file = o->key_file, .client_ca_file = o->ca_file};
    struct hostsdb *db = NULL;
    struct rows rows = {NULL, 0, 0};
    struct net_tls_ctx *tls = NULL;
    struct event_base *base = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    struct as_server *srv = NULL;
    int r, status = 1;

    net_ignore_sigpipe();
    /* a file size limit must fail the write (AT0002), not kill the server */
    signal(SIGXFSZ, SIG_IGN);
    if ((r = hostsdb_open(o->data_dir, false, &db)) != 0) {
        np_error("no atSigns in %s (create one with \"atserver create\")", o->data_dir);
        goto out;
    }
    r = hostsdb_list(db, collect_row, &rows);
    hostsdb_close(db);
    if (r != 0)
        goto out;
    if (rows.n == 0) {
        np_error("no atSigns in %s (create one with \"atserver create\")", o->data_dir);
        goto out;
    }
    if ((r = net_tls_server_ctx_new(&to, &tls)) != 0) {
        np_error("cannot set up TLS with %s and %s", o->cert_file, o->key_file);
        goto out;
    }
    if ((base = event_base_new()) == NULL || as_server_new(base, &o->cfg, tls, &srv) != 0)
        goto out;
    tls = NULL; /* owned by srv */
    srv->bind = o->bind;
    srv->root_domain = o->root_domain;
    srv->ca_file = o->ca_file;
    srv->cert_file = o->cert_file;
    srv->key_file = o->key_file;
    if (o->root_domain) {
        struct remote_net rn = {.root_domain = o->root_domain,
                                .ca_file = o->ca_file,
                                .cert_file = o->cert_file,
                                .key_file = o->key_file};
        if (remote_start(srv->remote, &rn) != 0)
            goto out;
    } else {
        np_info("no --root-domain: server-to-server traffic is off (atSigns of other servers "
                "are unknown; notifications to them stay queued)");
    }
    for (size_t i = 0; i < rows.n; i++)
        if (as_server_add_host(srv, o->data_dir, rows.v[i].atsign, rows.v[i].port, true, NULL) != 0)
            goto out;
    jobs_expire_now(srv);
    as_server_requeue(srv);
    if (jobs_start(srv) != 0 || (sigterm = evsignal_new(base, SIGTERM, on_signal, base)) == NULL ||
        (sigint = evsignal_new(base, SIGINT, on_signal, base)) == NULL ||
        event_add(sigterm, NULL) != 0 || event_add(sigint, NULL) != 0)
        goto out;
    np_info("serving %zu atSigns from %s", srv->n_hosts, o->data_dir);
    if (event_base_dispatch(base) < 0) {
        np_error("event loop failed");
        goto out;
    }
    status = 0;
out:
    as_server_free(srv);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (base) {
        /* let libevent run the finalizers of the freed bufferevents */
        event_base_loop(base, EVLOOP_NONBLOCK);
        if (event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED | EVENT_BASE_COUNT_ACTIVE) != 0)
            np_warn("event loop not empty at shutdown");
        event_base_free(base);
    }
    net_tls_ctx_free(tls);
    np_free(rows.v);
    return status;
}
