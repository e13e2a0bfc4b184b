/*
 * src/atserver/remote.h - the boundary to other atServers (server-to-server,
 * atprotocol.md 3.4, 6.4-6.6, 7.2, 10.4). Every place where the atServer
 * talks to another server goes through this interface:
 *
 *   remote_lookup      lookup/plookup of another atSign's key
 *   remote_scan        scan:<@other>
 *   remote_check_from  from:<@other> (client certificate vs directory)
 *   remote_pol         pol (connect back, verify the signed proof)
 *   remote_notify_queued  a sent notification waiting for another server
 *
 * atSigns hosted in THIS process are always served in-process (no network
 * hop: a lookup reads the owner's store with the visibility a
 * pol-authenticated peer would get; pol reads the proof and signing key
 * from the claimed atSign's store). Everything else uses the network once
 * remote_start has run (atserver run with --root-domain; outbound.h): the
 * directory, outbound TLS connections presenting the server certificate,
 * from/pol, pooled connections, the notification queue with retries and
 * quarantine. Without remote_start (memory mode, no --root-domain) those
 * calls answer the protocol's error (AT0007 "Secondary server not found"
 * for lookups/scans, AT0401 for from/pol) and notifications stay queued.
 *
 * Asynchrony contract: a call either completes synchronously (returns 0
 * and fills *ans; `done` is not called) or returns NP_AGAIN after
 * suspending the connection (conn_suspend), and later calls
 * done(c, ans, arg) from the loop and then resumes the connection; if the
 * connection ends first the request is cancelled and done(NULL, NULL, arg)
 * is called once so that the caller can free arg.
 */
#ifndef ATSERVER_REMOTE_H
#define ATSERVER_REMOTE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at/atsign.h"
#include "at/verb.h"

struct as_server;
struct as_host;
struct as_conn;
struct ks_entry;
struct ns_record;
struct remote;

/* Per-process state. remote_free cancels everything without callbacks; call
 * it after the connections are gone (as_server_free). NULL-safe. */
int remote_new(struct as_server *srv, struct remote **out);
void remote_free(struct remote *r);

/* What the network path needs (strings borrowed for the process lifetime). */
struct remote_net {
    const char *root_domain; /* "host[:port]" of the directory (port 64 by default) */
    const char *ca_file;     /* trusted CAs for peers and the directory; NULL = system store */
    const char *cert_file;   /* our server certificate chain, presented as client certificate */
    const char *key_file;
};

/*
 * Enable the network path (outbound TLS context, resolver, connection
 * pool, notification queue). Errors: NP_ERR_FORMAT (root domain),
 * NP_ERR_IO/NP_ERR_TLS (certificate files), NP_ERR_NOMEM.
 */
int remote_start(struct remote *r, const struct remote_net *n);

/* Send what the notification queues hold (jobs.c calls it every
 * s2s_job_ms; quarantined recipients wait). */
void remote_notify_run(struct as_server *srv);

/* Outbound connections open now (stats id 2). */
size_t remote_outbound_count(const struct remote *r);

/*
 * Cache another atSign's public value e (a remote answer) on h as
 * cached:public:<entity><owner> (6.5): with the remote ttr if non-zero,
 * else a 24 h ttl; "publickey" also gets ttr -1, is rewritten only when
 * changed or stale, and a change renames shared_key.<owner-name><@me> to
 * shared_key.<owner-name>.until.<epochMillis><@me> (8.2). Storage errors.
 */
int remote_cache_public(struct as_host *h, const char *entity, const char *owner,
                        const struct ks_entry *e);

struct remote_lookup_req {
    char owner[AT_ATSIGN_BUF]; /* "@bob" (not the caller's own atSign) */
    const char *entity;        /* key name without owner, e.g. "shared_key" */
    bool public_only;          /* plookup: public:<entity><owner> */
    bool bypass_cache;
};

/* Outcome of a remote request. code 0 = success; otherwise an AT error
 * code with message (owned). entry: the key as the owner stores it, with
 * value and metadata (owned; ks_entry_free). */
struct remote_answer {
    int code;
    bool local; /* served in-process (no network, nothing to cache for plookup) */
    char message[256];
    struct ks_entry *entry;
    char **keys; /* remote_scan: key names (owned, n_keys entries) */
    size_t n_keys;
};

void remote_answer_clear(struct remote_answer *a);

typedef void (*remote_done_fn)(struct as_conn *c, struct remote_answer *ans, void *arg);

/* Read rq on the owner's server as c's atSign (see the contract above). */
int remote_lookup(struct as_conn *c, const struct remote_lookup_req *rq, struct remote_answer *ans,
                  remote_done_fn done, void *arg);

/* List what `owner` shares with c's atSign (scan:<@other>), keys as the
 * owner's server lists them for a pol-authenticated peer. */
int remote_scan(struct as_conn *c, const char *owner, struct remote_answer *ans,
                remote_done_fn done, void *arg);

/*
 * from:<atsign> by another atSign on c (block/allow lists already
 * checked): with client certificates required, the peer's certificate must
 * name the directory's host of atsign (2.1). ans->code 0: go on and issue
 * the pol proof; otherwise an AT error code with a message. Asynchronous
 * (directory lookup) per the contract above.
 */
int remote_check_from(struct as_conn *c, const char *atsign, struct remote_answer *ans,
                      remote_done_fn done, void *arg);

/* pol on c after from:<@x>: fetch public:<sid><@x> and
 * public:signing_publickey<@x> from @x's server over a new unauthenticated
 * connection and verify the signature over the proof (3.4). ans->code 0:
 * verified (the caller marks the connection pol-authenticated); else
 * AT0401 "Pol Authentication Failed". */
int remote_pol(struct as_conn *c, struct remote_answer *ans, remote_done_fn done, void *arg);

/* A sent record of h with status queued (or errored with retries left)
 * for an atSign on another server (new, or re-queued at start): queued in
 * memory per recipient and sent as "notify:<body>" (7.2); data:success
 * marks it delivered, anything else errored with retryCount + 1 and
 * re-queued while retries and ttln allow; a connection failure
 * quarantines the recipient for s2s_quarantine_ms. */
void remote_notify_queued(struct as_host *h, const struct ns_record *rec);

#endif
