/*
 * src/atserver/remote.h - the boundary to other atServers (server-to-server,
 * atprotocol.md 3.4, 6.4-6.6, 7.2, 10.4). Every place where the atServer
 * would talk to another server goes through this interface:
 *
 *   remote_lookup      lookup/plookup of another atSign's key
 *   remote_scan        scan:<@other>
 *   remote_check_from  from:<@other> (client certificate vs directory)
 *   remote_pol         pol (connect back, verify the signed proof)
 *   remote_notify_queued  a sent notification waiting for another server
 *
 * What exists today: atSigns hosted in THIS process are served in-process
 * (no network hop: a lookup reads the owner's store with the visibility a
 * pol-authenticated peer would get). Everything that would need a network
 * connection answers the protocol's error (AT0007 "Secondary server not
 * found" for lookups/scans, AT0401 for from/pol) or, for notifications,
 * stays persisted as queued; each logs that remote delivery is not
 * implemented.
 *
 * Asynchrony contract (ready for the network implementation): a call either
 * completes synchronously (returns 0 and fills *ans; `done` is not called)
 * or returns NP_AGAIN after suspending the connection (conn_suspend), and
 * later calls done(c, ans, arg) from the loop and then resumes the
 * connection; if the connection ends first the request is cancelled and
 * done(NULL, NULL, arg) is called once so that the caller can free arg.
 * Today every call completes synchronously.
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

/* Per-process state (connection pools etc. later). */
int remote_new(struct as_server *srv, struct remote **out);
void remote_free(struct remote *r);

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
 * checked). 0: go on and issue the pol proof; otherwise an AT error code
 * with a message in ans.
 */
int remote_check_from(struct as_conn *c, const char *atsign, struct remote_answer *ans);

/* pol on c after from:<@x>: verify @x (3.4). On success the connection
 * becomes pol-authenticated (ans->code 0). */
int remote_pol(struct as_conn *c, struct remote_answer *ans, remote_done_fn done, void *arg);

/* A sent record of h with status queued for an atSign on another server
 * (new, or re-queued at start). The record stays persisted as queued until
 * delivered, errored for good, or expired (ttln). */
void remote_notify_queued(struct as_host *h, const struct ns_record *rec);

#endif
