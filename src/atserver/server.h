/*
 * src/atserver/server.h - the process (struct as_server) and the atSigns it
 * hosts (struct as_host). One process, one libevent loop, any number of
 * hosted atSigns; each has its own key store + notification log (SQLite,
 * keystore.h / notify_store.h), its own TLS port and its own connections.
 *
 * The structs are shared by the server's modules (conn.c, dispatch.c,
 * verbs/, notif.c, jobs.c, remote.c) and are deliberately not opaque inside
 * this program; nothing outside src/atserver sees them.
 *
 * A server can also run without TLS or listeners ("memory mode": tls NULL,
 * hosts added with listen == false) so that unit tests and fuzzers drive
 * connections in-process (conn.h, conn_new_memory).
 *
 * Loop/thread: everything on the loop thread of srv->base.
 */
#ifndef ATSERVER_SERVER_H
#define ATSERVER_SERVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at/atsign.h"
#include "atserver.h"

struct event_base;
struct event;
struct net_tls_ctx;
struct net_listener;
struct ks;
struct ns;
struct as_conn;
struct remote;

/* A list of atSigns (config:block / config:allow). */
struct as_atsign_list {
    size_t n, cap;
    char (*v)[AT_ATSIGN_BUF];
};

struct as_host {
    struct as_server *srv;
    struct as_host *next;
    char atsign[AT_ATSIGN_BUF];     /* "@alice" (normalised) */
    char prompt[AT_ATSIGN_BUF + 1]; /* "@alice@" */
    int port;                       /* TLS port (0 in memory mode) */
    struct ks *ks;
    struct ns *ns;
    struct net_listener *lst;
    struct as_conn *conns; /* every live connection of this atSign */
    int n_conns;
    struct as_atsign_list block, allow;
    int64_t last_commit;   /* newest commit id, -1 none */
    int64_t last_login_ms; /* wall clock of the last cram/pkam, 0 none */
    int64_t last_pkam_ms;
    uint64_t n_accepted, n_refused;
    int64_t last_refusal_log; /* np_mono_ms, rate-limits the AT0012 warning */
};

struct as_server {
    struct as_config cfg;
    struct event_base *base;          /* borrowed */
    struct net_tls_ctx *tls;          /* owned; NULL in memory mode */
    const char *bind;                 /* listen address (borrowed), NULL = all */
    const char *root_domain;          /* for server-to-server (borrowed), may be NULL */
    const char *ca_file;              /* peers and client certificates (borrowed), may be NULL */
    const char *cert_file, *key_file; /* our certificate, also the outbound client cert */
    struct as_host *hosts;
    size_t n_hosts;
    int64_t started_mono; /* np_mono_ms at start (info uptime) */
    uint64_t next_conn_id;
    struct event *stats_ev, *expiry_ev, *tick_ev, *s2s_ev;
    struct remote *remote; /* server-to-server state (remote.c) */
};

/* New server on base (borrowed). cfg is copied. tls: server context (the
 * server takes the reference) or NULL for memory mode. *out = NULL at entry.
 * Errors: NP_ERR_NOMEM. */
int as_server_new(struct event_base *base, const struct as_config *cfg, struct net_tls_ctx *tls,
                  struct as_server **out);

/*
 * Open the stores of `atsign` in data_dir and start hosting it: make sure
 * the server signing key pair exists (4.2), load block/allow lists and the
 * last commit id, and with listen == true listen on srv->bind:port (TLS).
 * *out (may be NULL) gets the host. Errors: from ks_open/ns_open, the
 * listener (NP_ERR_IO), NP_ERR_EXISTS (already hosted), NP_ERR_NOMEM.
 */
int as_server_add_host(struct as_server *srv, const char *data_dir, const char *atsign, int port,
                       bool listen, struct as_host **out);

/* Re-deliver or re-queue sent notifications still queued (7.2 item 5):
 * recipients hosted here get them now, others go to the remote module. */
void as_server_requeue(struct as_server *srv);

/* The hosted atSign equal to `atsign` (normalised form), or NULL. */
struct as_host *as_server_find_host(struct as_server *srv, const char *atsign);

/* Close every connection (without on_close), listener, timer and store.
 * NULL-safe. The base is not freed. */
void as_server_free(struct as_server *srv);

/* Background jobs (jobs.c): stats notifications, expiry, monitor queue
 * checks, the server-to-server notification queue. jobs_start errors: NP_ERR_NOMEM. jobs_stop is
 * NULL-safe. */
int jobs_start(struct as_server *srv);
void jobs_stop(struct as_server *srv);
/* Run the expiry job once now (also used by tests). */
void jobs_expire_now(struct as_server *srv);

/* Block/allow list helpers (server.c). */
bool as_list_has(const struct as_atsign_list *l, const char *atsign);
int as_list_add(struct as_atsign_list *l, const char *atsign);
void as_list_remove(struct as_atsign_list *l, const char *atsign);
void as_list_clear(struct as_atsign_list *l);
/* May `from` (another atSign) talk to host h: not blocked, and in the allow
 * list when that list is non-empty. */
bool as_host_admits(const struct as_host *h, const char *from);
/* Persist h's block and allow lists (private:blocklist / private:allowlist
 * keys). Storage errors as for ks_put. */
int as_host_save_lists(struct as_host *h);

#endif
