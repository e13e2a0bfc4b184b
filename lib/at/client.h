/*
 * lib/at/client.h - the asynchronous atProtocol client (atprotocol.md 2, 3,
 * 6, 8, 14.3) on a libevent event_base: what every NoPorts daemon uses to
 * talk to its own atServer.
 *
 * One struct at_client owns one command connection to the atServer of its
 * atSign: directory lookup (root.h), TLS with host-name verification, then
 * PKAM (or cram for onboarding, or no authentication). Commands are sent one
 * at a time (the protocol has no request ids); further ones wait in a FIFO.
 * Every operation has a deadline (opts.request_timeout_ms from the moment
 * it is queued) and a callback that is called exactly once, always from the
 * event loop, never from inside the call that queued the operation. A
 * function that returns an error never calls the callback.
 *
 * Connection policy:
 *   - The connection is opened lazily when an operation is queued, or at
 *     once by at_client_start. A command that was sent when the connection
 *     broke fails (NP_ERR_EOF, NP_ERR_TIMEOUT, ...): it is never re-sent,
 *     because the server may have executed it.
 *   - persistent = false (tools): a failed connection attempt fails every
 *     queued operation with its reason (conn_error set in the result).
 *   - persistent = true (daemons): after any failure or drop the client
 *     reconnects with capped exponential back-off and jitter
 *     (at_client_backoff_ms); queued operations wait until their deadlines.
 *     Authentication failures and "atSign not in the directory" still fail
 *     the queued operations at once (retrying does not fix them soon).
 *   - With keepalive_ms > 0 an idle authenticated connection sends "noop:0"
 *     at that interval; an unanswered one (request_timeout_ms) drops and
 *     re-opens the connection.
 *   - Reads are bounded: a response line over max_line bytes drops the
 *     connection (NP_ERR_TOOBIG); on a monitor connection such a line is
 *     skipped (logged) and the monitor goes on.
 *
 * Keys (atprotocol.md 4.1) are given as text in any accepted form:
 *   public:k.ns@owner   @with:k.ns@owner   k.ns@owner   cached:...
 *   privatekey:name (put/delete only)
 * A key without "@owner" belongs to the client's own atSign. Values:
 *   public  - stored and read as is (a value holding a newline is sent as
 *             base64 with encoding:base64, as Dart does, and decoded on read);
 *   self    - AES-256-CTR with the self-encryption key and a random ivNonce;
 *   shared  - E2E with the per-pair shared key (8.2-8.3), created on first
 *             use (llookup/plookup/update as Dart and at_c do; the recipient's
 *             copy gets ttr:3888000); keys shared with us are read with
 *             lookup:shared_key@owner, or metadata sharedKeyEnc when present.
 * Shared keys and public keys are cached in memory for the client's life.
 *
 * Loop/thread: every function and callback runs on the event_base thread.
 * Secrets (keys, decrypted values) are never logged; the protocol trace
 * (-vv, np_trace) shows command lines with pkam/cram proofs redacted.
 */
#ifndef AT_CLIENT_H
#define AT_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at/metadata.h"
#include "at/verb.h"

struct event_base;
struct evdns_base;
struct net_tls_ctx;
struct np_atkeys;
struct at_client;

enum at_client_auth {
    AT_CLIENT_AUTH_PKAM = 0, /* from + pkam with the .atKeys PKAM key (default) */
    AT_CLIENT_AUTH_CRAM,     /* from + cram with cram_secret (onboarding) */
    AT_CLIENT_AUTH_NONE      /* no authentication (public lookups only) */
};

#define AT_CLIENT_DEFAULT_TIMEOUT_MS  10000
#define AT_CLIENT_DEFAULT_MAX_LINE    (1u << 20)
#define AT_CLIENT_DEFAULT_BACKOFF_MS  500
#define AT_CLIENT_DEFAULT_BACKOFF_MAX 30000

/* Options; zero-initialise, then set what is wanted. Strings are copied. */
struct at_client_opts {
    const char *atsign;           /* required: "@alice" or "alice" */
    const struct np_atkeys *keys; /* required for PKAM and for E2E operations (copied) */
    enum at_client_auth auth;
    const char *cram_secret; /* AT_CLIENT_AUTH_CRAM */
    const char *root_host;   /* NULL: AT_ROOT_DEFAULT_HOST */
    int root_port;           /* 0: AT_ROOT_DEFAULT_PORT */
    const char *server_host; /* set: use host:port, no directory lookup */
    int server_port;
    const char *ca_file;     /* PEM trust store for directory and atServer; NULL: system */
    struct net_tls_ctx *tls; /* optional client context (borrowed, outlives the client);
                                overrides ca_file */
    struct evdns_base *dns;  /* optional non-blocking resolver; NULL: getaddrinfo */
    int connect_timeout_ms;  /* directory + connect + TLS + auth; 0: 10000 */
    int request_timeout_ms;  /* per operation; 0: 10000 */
    int keepalive_ms;        /* noop:0 interval when idle; 0: none */
    int backoff_initial_ms;  /* 0: 500 */
    int backoff_max_ms;      /* 0: 30000 */
    size_t max_line;         /* longest response line; 0: 1 MiB */
    bool persistent;         /* keep connected, see above */
};

/*
 * The outcome of an operation, passed to its callback. Every pointer is
 * borrowed and valid only during the callback.
 */
struct at_result {
    int err;                      /* 0 or NP_ERR_* (at_client_err_from_code for server errors) */
    int at_code;                  /* ATxxxx number of a server error (15 for AT0015), else -1 */
    bool conn_error;              /* failed because no authenticated connection could be made
                                     (directory, connect, TLS, authentication) */
    const char *message;          /* on error: the server's text or our reason; else NULL */
    const char *data;             /* payload of the last data: answer (raw commands), or NULL */
    const char *value;            /* get: the (decrypted) value; NULL for a null value */
    size_t value_len;             /* bytes in value (values may hold NUL after decryption) */
    const struct at_metadata *md; /* get: the key's metadata (NULL when none) */
    const char *const *keys;      /* scan: n_keys key names */
    size_t n_keys;
    const char *id; /* notify: the notification id */
};

typedef void (*at_client_cb)(struct at_client *c, const struct at_result *r, void *data);

/* Connection state changes reported to the owner (at_client_set_event_cb). */
enum at_client_event {
    AT_CLIENT_EV_READY = 1, /* connected and authenticated */
    AT_CLIENT_EV_DOWN       /* a connection attempt failed or an open connection dropped */
};
typedef void (*at_client_event_cb)(struct at_client *c, enum at_client_event ev, int err,
                                   const char *message, void *data);

/*
 * Create a client bound to base (nothing is sent yet). Parses the keys
 * (PKAM private key, encryption key pair, self-encryption key).
 * *out = NULL at entry. Errors: NP_ERR_INVAL (missing atSign/keys/secret,
 * bad atSign), NP_ERR_FORMAT (keys do not parse), NP_ERR_IO/NP_ERR_TLS
 * (CA file), NP_ERR_NOMEM.
 */
int at_client_new(struct event_base *base, const struct at_client_opts *o, struct at_client **out);

/*
 * Free the client. Operations still pending complete with NP_ERR_CLOSED:
 * their callbacks are called from inside this call and must not use the
 * client (every client function returns NP_ERR_CLOSED then). Safe to call
 * from any client callback. NULL-safe. Monitors made from this client
 * must be freed first.
 */
void at_client_free(struct at_client *c);

/* Report connection events to cb (NULL to stop). Events come from the loop. */
void at_client_set_event_cb(struct at_client *c, at_client_event_cb cb, void *data);

/* Open the connection now (persistent clients stay connected). Errors:
 * NP_ERR_CLOSED. */
int at_client_start(struct at_client *c);

/* "@alice" (normalised). */
const char *at_client_atsign(const struct at_client *c);
/* 1 when connected and authenticated. */
int at_client_is_ready(const struct at_client *c);
/* Our encryption public key text (B64 SPKI) or NULL when no keys. */
const char *at_client_enc_public_key(const struct at_client *c);

/* Flags of at_client_get. */
#define AT_GET_RAW    0x1u /* no decryption: value exactly as stored */
#define AT_GET_BYPASS 0x2u /* lookup/plookup with bypassCache:true */

/*
 * Operations. Each returns 0 (the callback will be called) or an error
 * (NP_ERR_INVAL for a bad key/argument, NP_ERR_CLOSED, NP_ERR_NOMEM; the
 * callback is not called). Result errors: the mapped server error
 * (NP_ERR_NOTFOUND for AT0015, ...), NP_ERR_TIMEOUT, NP_ERR_EOF, connection
 * errors, NP_ERR_FORMAT/NP_ERR_CRYPTO when a value cannot be decrypted.
 */

/* Read a key (see the key forms above); r->value, r->md. A key that exists
 * without a live value (data:null) completes with NP_ERR_NOTFOUND and
 * at_code -1. */
int at_client_get(struct at_client *c, const char *key, unsigned flags, at_client_cb cb,
                  void *data);

/* Write a key. md (may be NULL) is copied; ttl, ttb, ttr, ccd, ... are
 * passed on; isEncrypted/ivNonce are set by the client for encrypted
 * forms. value must be non-empty text without NUL. */
int at_client_put(struct at_client *c, const char *key, const char *value,
                  const struct at_metadata *md, at_client_cb cb, void *data);

/* Delete a key ("delete:<full key>"). */
int at_client_delete(struct at_client *c, const char *key, at_client_cb cb, void *data);

/* List keys: scan[:showHidden:true][ <regex>] (regex may be NULL); r->keys. */
int at_client_scan(struct at_client *c, const char *regex, bool show_hidden, at_client_cb cb,
                   void *data);

/* A notification to send (zero-initialise). */
struct at_client_notify {
    const char *to;       /* "@bob" (required) */
    const char *key;      /* key name without "@to:" and "@me", e.g. "ping.dev.sshnp" */
    const char *value;    /* may be NULL (no value) */
    const char *id;       /* NULL: a new UUID v4 */
    enum at_notify_op op; /* update (default) or delete */
    int64_t ttl;          /* ms of the record; <= 0: not sent */
    int64_t ttln;         /* ms the notification is kept; <= 0: server default */
    bool plaintext;       /* true: send value unencrypted (isEncrypted:false) */
};

/*
 * Send a notification: notify:id:<id>:<op>:messageType:key[:ttln:<ms>]
 * [:ttl:<ms>]:isEncrypted:<bool>[:ivNonce:<b64>]:<to>:<key><me>[:<value>],
 * the value encrypted with our shared key for `to` (created if needed).
 * r->id is the id the server answered.
 */
int at_client_notify(struct at_client *c, const struct at_client_notify *n, at_client_cb cb,
                     void *data);

/* Send one raw command line (no newline) and report the answer: r->data
 * for data:, the mapped error otherwise. For onboarding and tools. The
 * line is not logged when it starts with pkam: or cram:. */
int at_client_cmd(struct at_client *c, const char *line, at_client_cb cb, void *data);

/* Drop the cached shared/public keys of atsign (e.g. after a key change). */
void at_client_forget_keys(struct at_client *c, const char *atsign);

/* The NP_ERR_* code for an atProtocol error number (AT0015 -> NP_ERR_NOTFOUND,
 * AT0401/AT0025-28 -> NP_ERR_AUTH, AT0009/AT0013 -> NP_ERR_PERM, AT0007 ->
 * NP_ERR_NOTFOUND, AT0023 -> NP_ERR_TIMEOUT, AT0004/8/21 -> NP_ERR_CONNECT,
 * AT0003 -> NP_ERR_PROTO, AT0016/22 -> NP_ERR_INVAL, AT0005 -> NP_ERR_TOOBIG,
 * AT0006/12 -> NP_ERR_LIMIT, others NP_ERR_PROTO). */
int at_client_err_from_code(int at_code);

/*
 * Reconnect delay for attempt number `attempt` (0 = first retry right after
 * a drop: 0 ms): base = min(max, initial * 2^(attempt-1)), then jitter to a
 * value in [base/2, base] chosen by rnd. Never above max. Pure.
 */
int at_client_backoff_ms(unsigned attempt, int initial_ms, int max_ms, uint32_t rnd);

/*
 * Log a connection's state change once, for the daemons' event and status
 * callbacks. *state is -1 (unknown, the initial value), 0 (down) or 1 (up).
 * Coming up logs "<who>: <what> available" at info level; going down logs
 * "<who>: <what> lost: <np_strerror(err)>[: <message>]" at warn level; a
 * repeat of the current state logs nothing. message may be NULL.
 */
void at_client_log_link(int *state, int up, const char *who, const char *what, int err,
                        const char *message);

#endif
