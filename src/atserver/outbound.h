/*
 * src/atserver/outbound.h - outbound connections to other atServers
 * (atprotocol.md 2.1, 3.4, 10.4): directory lookups with a small cache, and
 * sessions that carry one command at a time to another atSign's server.
 *
 * A session belongs to a local atSign ("me") and a remote atSign. Opening
 * one: directory lookup of the remote atSign (async, at_root_lookup), TLS
 * connect presenting the server certificate as the client certificate and
 * verifying the peer against the CA file and the directory's host name,
 * the "@" prompt, "lookup:all:publickey<@remote>" (handed to the pubkey
 * hook: the caller caches it), and for authenticated sessions "from:<me>"
 * -> "data:proof:<sid><me>:<proof>" (the prove hook signs the proof and
 * publishes public:<sid><me>) -> "pol" -> "<me>@". Then queued commands are
 * sent one at a time, each bounded by its own deadline.
 *
 * Pooled sessions: one per (me, remote, kind), shared by every caller,
 * closed after the configured idle time. Fresh sessions (ob_fresh): a new
 * unauthenticated connection private to its owner (pol verification),
 * closed once released and drained.
 *
 * Failures (every queued request gets the same reply): remote atSign
 * unknown to the directory AT0007, directory/TCP/TLS failure or the peer
 * closing AT0004, no answer in time AT0023, failed from/pol AT0008, session
 * limit AT0006. Replies of such failures have transport = true (the
 * notification queue quarantines the recipient); an error line from the
 * remote server is passed through with its own code and transport = false.
 *
 * Loop: everything on the server's event_base; callbacks come from the
 * loop, never from inside the call that queued the request. Nothing blocks.
 */
#ifndef ATSERVER_OUTBOUND_H
#define ATSERVER_OUTBOUND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evdns_base;
struct net_tls_ctx;
struct ob;
struct ob_sess;
struct ob_req;
struct ob_dirq;

enum ob_kind { OB_UNAUTH = 0, OB_AUTH = 1 };

struct ob_reply {
    int code;       /* 0: "data:" answer; otherwise an AT error code */
    bool transport; /* the connection or handshake failed (not a remote error line) */
    char message[256];
    const char *data; /* code 0: the payload after "data:" (borrowed for the call) */
    size_t data_len;
};

/* Request completion (exactly once unless cancelled). */
typedef void (*ob_done_fn)(void *arg, const struct ob_reply *rep);
/* Directory answer: err 0 with host/port (borrowed for the call), or
 * NP_ERR_NOTFOUND (unknown atSign) / another negative code. */
typedef void (*ob_dir_fn)(void *arg, int err, const char *host, int port);

struct ob_hooks {
    void *arg;
    /* The JSON of "lookup:all:publickey<remote>" on a new connection. */
    void (*pubkey)(void *arg, const char *me, const char *remote, const char *json, size_t n);
    /* Sign proof for me and publish public:<sid_key> (sid_key = "<sid><me>")
     * for 60 s; 0 or a negative code (the handshake then fails). */
    int (*prove)(void *arg, const char *me, const char *sid_key, const char *proof);
};

struct ob_params {
    const char *root_host; /* the directory (copied) */
    int root_port;
    struct net_tls_ctx *tls; /* client context with our certificate (borrowed) */
    struct evdns_base *dns;  /* resolver (borrowed), NULL: getaddrinfo */
    int connect_ms;          /* directory lookup, and TCP + TLS + "@" prompt */
    int handshake_ms;        /* from and pol answers (3 s) */
    int lookup_ms;           /* the publickey lookup of the handshake (5 s) */
    int64_t idle_ms;         /* pooled session idle time (10 min) */
    int64_t dir_cache_ms;    /* directory answers are reused this long */
    int max_sessions;        /* outbound connections in total (AT0006 beyond) */
    size_t max_input;        /* longest answer line */
    struct ob_hooks hooks;
};

/* New engine on base (borrowed) with p (copied). *out = NULL at entry.
 * Errors: NP_ERR_INVAL, NP_ERR_NOMEM. */
int ob_new(struct event_base *base, const struct ob_params *p, struct ob **out);
/* Close every session and directory lookup without calling back. NULL-safe. */
void ob_free(struct ob *o);

/*
 * Queue `line` (no newline) on the pooled session (me, remote, kind),
 * opening it when needed. done gets the reply within timeout_ms after the
 * line was sent (the opening phase has its own deadlines). *out (may be
 * NULL) identifies the request for ob_cancel until done ran.
 * Errors (done never called): NP_ERR_INVAL, NP_ERR_NOMEM.
 */
int ob_send(struct ob *o, const char *me, const char *remote, enum ob_kind kind, const char *line,
            int timeout_ms, ob_done_fn done, void *arg, struct ob_req **out);

/* A fresh unauthenticated session of me to remote's server, private to
 * the caller (ob_sess_send), closed after ob_sess_release once its queue
 * is empty. Errors: NP_ERR_INVAL, NP_ERR_NOMEM. */
int ob_fresh(struct ob *o, const char *me, const char *remote, struct ob_sess **out);
/* As ob_send on a session from ob_fresh (before its release); NP_ERR_CLOSED
 * when the session already failed (its earlier requests got the reply). */
int ob_sess_send(struct ob_sess *s, const char *line, int timeout_ms, ob_done_fn done, void *arg,
                 struct ob_req **out);
/* The owner is done with s; queued requests still complete. NULL-safe. */
void ob_sess_release(struct ob_sess *s);

/* Withdraw a request: done is not called. NULL-safe; not after done ran.
 * A request already sent keeps its session busy until its answer (or
 * deadline) arrives, which is then dropped. */
void ob_cancel(struct ob_req *q);

/* Directory lookup of atsign (cached answers come back from the loop too).
 * *out (may be NULL) for ob_dir_cancel until done ran. Errors:
 * NP_ERR_INVAL, NP_ERR_NOMEM. */
int ob_dir_lookup(struct ob *o, const char *atsign, ob_dir_fn done, void *arg,
                  struct ob_dirq **out);
/* NULL-safe; not after done ran. */
void ob_dir_cancel(struct ob_dirq *q);

/* Open outbound sessions (stats id 2). */
size_t ob_count(const struct ob *o);

#endif
