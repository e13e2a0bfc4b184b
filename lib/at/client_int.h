/*
 * lib/at/client_int.h - internals of the client shared by client*.c and
 * monitor.c (not part of the API).
 *
 * struct at_conn is one authenticated connection to an atServer with a FIFO
 * of commands (client_conn.c): the command connection of an at_client and
 * the connection of an at_monitor are both at_conns. It owns the transport,
 * the directory lookup, authentication, per-command timers, keep-alive and
 * reconnection; its owner sees it through three hooks and per-command
 * response callbacks. Response callbacks and hooks are only called from the
 * event loop, never from inside at_conn_cmd / at_conn_start.
 *
 * The key-job API (client_keys.c) gives the monitor access to the client's
 * shared-key cache and lookups.
 */
#ifndef AT_CLIENT_INT_H
#define AT_CLIENT_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at/client.h"
#include "at/atkey.h"
#include "at/response.h"

struct np_buf;
struct np_rsa_key;
struct at_conn;
struct at_conn_req;

/* What an at_conn reports for one command. */
struct at_conn_outcome {
    int err;                        /* 0: resp is a data: or error: answer */
    bool conn_error;                /* err: no authenticated connection could be made */
    const char *msg;                /* err: description */
    const struct at_response *resp; /* err == 0 only */
};
typedef void (*at_conn_resp_fn)(void *arg, const struct at_conn_outcome *o);

struct at_conn_hooks {
    void (*on_ready)(void *owner);                            /* authenticated */
    void (*on_down)(void *owner, int err, const char *msg);   /* attempt failed / dropped */
    void (*on_push)(void *owner, const char *json, size_t n); /* "notification: <json>" */
};

struct at_conn_cfg {
    struct event_base *base;
    struct evdns_base *dns;
    struct net_tls_ctx *tls; /* borrowed */
    const char *atsign;      /* normalised; borrowed */
    enum at_client_auth auth;
    const struct np_rsa_key *pkam; /* borrowed (PKAM) */
    const char *enrollment_id;     /* borrowed, may be NULL */
    const char *cram_secret;       /* borrowed (CRAM) */
    const char *root_host;         /* borrowed */
    int root_port;
    const char *server_host; /* borrowed, NULL: directory */
    int server_port;
    int connect_timeout_ms, keepalive_ms, keepalive_timeout_ms;
    int backoff_initial_ms, backoff_max_ms;
    size_t max_line;
    bool persistent;
    bool skip_long_lines; /* monitor: an over-long line is skipped, not fatal */
    const char *tag;      /* "cmd" / "monitor" for logs */
    struct at_conn_hooks hooks;
    void *owner;
};

int at_conn_new(const struct at_conn_cfg *cfg, struct at_conn **out);
/* Tear down silently (no callbacks); NULL-safe; safe inside hooks. */
void at_conn_free(struct at_conn *k);
/* Connect now (and, when persistent, stay connected). */
int at_conn_start(struct at_conn *k);
/*
 * Queue a command (line without newline; copied). timeout_ms > 0 from now.
 * secret: do not trace the line. *h (may be NULL) is a handle for
 * at_conn_cancel, valid until fn runs. Errors: NP_ERR_INVAL, NP_ERR_NOMEM,
 * NP_ERR_CLOSED; fn is never called then.
 */
int at_conn_cmd(struct at_conn *k, const char *line, int timeout_ms, bool secret,
                at_conn_resp_fn fn, void *arg, struct at_conn_req **h);
/* Forget a queued or in-flight command: fn will not be called. */
void at_conn_cancel(struct at_conn *k, struct at_conn_req *h);
/* Write a line that gets no answer (monitor); only when ready. */
int at_conn_send_line(struct at_conn *k, const char *line);
/* Drop the connection (in-flight command fails with err) and reconnect per
 * policy. */
void at_conn_reset(struct at_conn *k, int err, const char *msg);
/* Stop / resume reading input (back-pressure). */
void at_conn_pause(struct at_conn *k, bool pause);
int at_conn_is_ready(const struct at_conn *k);
/* Reconnect attempts since the last success (tests, logs). */
unsigned at_conn_attempts(const struct at_conn *k);

/* ---- client internals used by the monitor ---- */

enum at_keykind {
    AT_KK_MINE = 0, /* our shared key for another atSign (shared_key.<x>@me) */
    AT_KK_THEIRS,   /* the key another atSign shared with us (lookup:shared_key@x) */
    AT_KK_PUB       /* another atSign's encryption public key text */
};
#define AT_KW_CREATE  0x1u /* MINE: create when absent */
#define AT_KW_REFRESH 0x2u /* ignore the cache; THEIRS/PUB: bypassCache:true */

struct at_keywait;
/* value: key text (AES key B64, or public key B64), borrowed during the call;
 * at_code: the server's AT error number behind err, or -1. */
typedef void (*at_keywait_fn)(void *arg, int err, int at_code, const char *value, const char *msg);

/* Copy a cached key into out (size bytes); 0 or NP_ERR_NOTFOUND/TOOBIG. */
int at_client__cached_key(struct at_client *c, enum at_keykind kind, const char *atsign, char *out,
                          size_t size);
/* Store a key in the cache (e.g. from metadata sharedKeyEnc). */
int at_client__cache_key(struct at_client *c, enum at_keykind kind, const char *atsign,
                         const char *value);
/* Drop one cached key. */
void at_client__drop_key(struct at_client *c, enum at_keykind kind, const char *atsign);
/*
 * Fetch (or create, AT_KW_CREATE) a key, joining a fetch already under way
 * for the same key. fn is called once from the loop unless cancelled.
 * Errors: NP_ERR_INVAL (no keys), NP_ERR_NOMEM, NP_ERR_CLOSED.
 */
int at_client__want_key(struct at_client *c, enum at_keykind kind, const char *atsign,
                        unsigned flags, at_keywait_fn fn, void *arg, struct at_keywait **out);
void at_client__cancel_want(struct at_client *c, struct at_keywait *w);
/* Unwrap a key that was RSA-encrypted for us (sharedKeyEnc, shared_key values). */
int at_client__unwrap(struct at_client *c, const char *wrapped, char out[45]);
/* The self-encryption key text, or NULL. */
const char *at_client__self_key(const struct at_client *c);
/* A copy of the command connection's configuration (pointers borrowed from
 * the client) for another connection of the same atSign. */
void at_client__conn_cfg(const struct at_client *c, struct at_conn_cfg *cfg);
struct event_base *at_client__base(const struct at_client *c);
int at_client__request_timeout(const struct at_client *c);

/* ---- answer parsers (pure; client_ops.c; fuzzed by fuzz_client) ---- */

/*
 * A lookup:all / llookup:all / plookup:all answer payload
 * {"key":…,"data":…,"metaData":{…}} (members in any order): *value is a new
 * string (NULL for a null value), *md the metadata (initialised; cleared on
 * error), *has_md whether there was a metaData object. "null" (expired key)
 * is NP_ERR_NOTFOUND; malformed answers NP_ERR_PROTO; *why (static text)
 * says what was wrong.
 */
int at_client__parse_all(const char *payload, size_t n, char **value, struct at_metadata *md,
                         bool *has_md, const char **why);
/* A scan answer payload, a JSON array of strings ("null" = empty): *keys a
 * new array of *nkeys new strings. NP_ERR_PROTO / NP_ERR_NOMEM. */
int at_client__parse_keys(const char *payload, size_t n, char ***keys, size_t *nkeys,
                          const char **why);

/* ---- client.c <-> client_keys.c / client_ops.c ---- */

struct at_conn *at_client__conn(struct at_client *c);
/* Free every key job and cached key (client teardown). */
void at_client__keys_shutdown(struct at_client *c);
/* 1 once at_client_free ran. */
int at_client__dead(const struct at_client *c);
/* Where client_keys.c keeps its state (cache, jobs). */
void **at_client__keys_slot(struct at_client *c);
/* The parsed encryption key pair (NULL without keys). */
const struct np_rsa_key *at_client__enc_private(const struct at_client *c);

/*
 * One user operation (get/put/...): a small state machine that sends
 * commands through the client's at_conn and waits for keys. It completes
 * exactly once (op_done), and its callback runs from the client's `done`
 * event. Fields marked "result" are owned by the op and freed with it.
 */
struct at_op;
typedef void (*at_op_step_fn)(struct at_op *op, const struct at_conn_outcome *o);
typedef void (*at_op_key_fn)(struct at_op *op, int err, int at_code, const char *value,
                             const char *msg);

struct at_op {
    struct at_client *c;
    at_client_cb cb;
    void *data;
    struct event *timer; /* deadline */
    int64_t deadline;    /* np_mono_ms */
    int timeout_ms;
    struct at_conn_req *req; /* command in progress */
    struct at_keywait *wait; /* key wait in progress */
    at_op_step_fn step;      /* receives the command's answer */
    at_op_key_fn key_step;   /* receives the key */
    bool done;
    /* operation inputs */
    int kind, phase;
    unsigned flags;
    struct at_key key;
    char *value;           /* put/notify plaintext input (wiped) */
    struct at_metadata md; /* put/notify metadata */
    char other[AT_ATSIGN_BUF];
    char *text; /* notify key name / scan regex / raw line */
    char *id;   /* notify id */
    int64_t ttln;
    int notify_op;
    bool retried; /* one refresh of a stale cached key done */
    /* result */
    int err, at_code;
    bool conn_error;
    char *r_message, *r_data, *r_value, *r_id;
    size_t r_value_len;
    bool r_value_secret;
    struct at_metadata r_md;
    bool r_has_md;
    char **r_keys;
    size_t r_nkeys;
    struct at_op *prev, *next; /* live list */
    struct at_op *done_next;
};

/* New op with the client's request timeout; linked into the live list.
 * NULL on allocation failure. */
struct at_op *at_op_new(struct at_client *c, at_client_cb cb, void *data);
/* Free an op that was never started (no callback). */
void at_op_discard(struct at_op *op);
/* Send a command; its answer goes to step. On a queueing error the op
 * completes with that error. */
void at_op_send(struct at_op *op, const char *line, bool secret, at_op_step_fn step);
/* Same with a line built in an np_buf (freed here). */
void at_op_send_buf(struct at_op *op, struct np_buf *b, int build_err, at_op_step_fn step);
/* Wait for a key; the answer goes to fn. */
void at_op_want_key(struct at_op *op, enum at_keykind kind, const char *atsign, unsigned flags,
                    at_op_key_fn fn);
/* Complete successfully / with an error (message copied, may be NULL). */
void at_op_done(struct at_op *op);
void at_op_fail(struct at_op *op, int err, int at_code, bool conn_error, const char *msg);
/* Complete with the error of a failed outcome (o->err, or an error: answer). */
void at_op_fail_outcome(struct at_op *op, const struct at_conn_outcome *o);
/* Is this outcome a data: answer? (else the caller usually fails the op) */
bool at_op_is_data(const struct at_conn_outcome *o);

#endif
