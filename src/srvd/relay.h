/*
 * src/srvd/relay.h - the relay engine of srvd (noports-wire.md section 7):
 * sessions of two listening ports (A = client, B = daemon), per-socket
 * authentication (legacy line 5.9 or ESCR 5.10, auto-detected), FIFO
 * pairing, and a splice(2) data pump. Everything runs on one libevent loop;
 * no threads, no blocking calls.
 *
 * The engine does not speak the atProtocol. Its two boundaries are
 * interfaces that the program supplies:
 *   - input: the program's notification monitor calls relay_handle_request()
 *     with each decrypted notification in the sshrvd namespace;
 *   - output: struct relay_outbox sends the answers / NACKs;
 *   - struct relay_keysource looks up public keys (public:publickey@x and
 *     ESCR signing-key URIs) asynchronously.
 * Tests plug in test doubles of both.
 *
 * The caller must ignore SIGPIPE (splice(2) to a closed socket raises it).
 */
#ifndef SRVD_RELAY_H
#define SRVD_RELAY_H
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct relay;

/* A notification the relay wants sent (answer or NACK). All pointers are
 * borrowed for the duration of the send call only. */
struct relay_notice {
    const char *to;         /* recipient atSign (the requester) */
    const char *key;        /* record name with namespace: "<sid>.sshrvd" / "nack.<sid>.sshrvd" */
    const char *value;      /* CSV / JSON answer, or the NACK reason text */
    const char *session_id; /* for logs */
    int64_t ttl_ms;         /* record ttl; 0 = none */
    int is_nack;
};

/*
 * Output interface. send() queues the notification (encrypted notify, ttln
 * 60 s) and returns 0, or a negative NP_ERR_* code if it cannot; it must not
 * call back into the relay.
 */
struct relay_outbox {
    int (*send)(void *data, const struct relay_notice *n);
    void *data;
};

/* Completion of a key fetch: status 0 with value (the key's value text, e.g.
 * B64 SPKI; borrowed for the call) or a negative NP_ERR_* code and NULL. */
typedef void (*relay_key_done_fn)(void *arg, int status, const char *value);

/*
 * Key-lookup interface. fetch() starts an asynchronous lookup of `uri`
 * ("public:publickey@alice", "public:_apsk.<eid>.a.__e@alice") and returns 0;
 * done(arg, ...) is then called exactly once, later, from the event loop
 * (never from inside fetch). A non-zero return means done will not be called.
 * cancel(data, arg) withdraws interest: done must not be called for arg
 * afterwards (cancel may be NULL if fetch never outlives the relay).
 */
struct relay_keysource {
    int (*fetch)(void *data, const char *uri, relay_key_done_fn done, void *arg);
    void (*cancel)(void *data, void *arg);
    void *data;
};

/* Engine settings (relay_config_defaults fills every field). */
struct relay_config {
    const char *address;     /* --ip, sent verbatim to clients (required) */
    const char *manager;     /* "open" (or NULL) or the only atSign allowed */
    const char *const *bind; /* n_bind numeric addresses; n_bind 0 = 0.0.0.0 and :: if present */
    size_t n_bind;
    int port_lo, port_hi;        /* 0, 0: OS-chosen ports; else a range to pick from */
    int max_sessions;            /* live sessions (default 1000) */
    int max_sockets_per_session; /* accepted sockets alive per session (default 256) */
    int grace_ms;                /* session grace for the first pair (default 30000) */
    int auth_timeout_ms;         /* per-socket auth deadline (default 5000) */
    int detect_ms;               /* silence before an ESCR challenge (default 500) */
    int key_cache_ms;            /* public-key cache lifetime (default 30000) */
    int rate_per_min;            /* requests per sender per minute (default 60; 0 = no limit) */
    int rate_burst;              /* token bucket size (default 60) */
    int force_rw;                /* 1: never splice, always read/write (tests) */
    size_t rw_buf;               /* read/write fallback buffer per direction (default 64 KiB) */
};

void relay_config_defaults(struct relay_config *c);

/* Counters for logs and tests. */
struct relay_stats {
    uint64_t requests;         /* notifications handled */
    uint64_t requests_refused; /* refused (silently or with a NACK) */
    uint64_t rate_limited;     /* of which by the per-sender rate limit */
    uint64_t nacks;            /* NACKs sent */
    uint64_t sessions_created; /* sessions answered */
    uint64_t sessions_closed;  /* sessions ended */
    unsigned sessions_live;    /* sessions now */
    uint64_t sockets_accepted; /* sockets accepted on session ports */
    uint64_t sockets_rejected; /* closed at accept (limits) */
    uint64_t auth_ok;          /* sockets authenticated (legacy or ESCR) */
    uint64_t auth_legacy;      /* of which by the legacy line */
    uint64_t auth_escr;        /* of which by ESCR */
    uint64_t auth_failed;      /* sockets closed during authentication */
    uint64_t challenges;       /* ESCR challenges sent */
    uint64_t pairs_created;    /* socket pairs joined */
    uint64_t pairs_closed;     /* socket pairs ended */
    unsigned pairs_live;       /* pairs now */
    uint64_t key_fetches;      /* lookups started through the keysource */
    uint64_t bytes_spliced;    /* data bytes moved by splice(2) */
    uint64_t bytes_copied;     /* data bytes moved by read/write (fallback, auth leftovers) */
    uint64_t splice_fallbacks; /* directions that fell back to read/write */
    size_t max_in_flight;      /* most bytes read from a source and not yet written */
    size_t pipe_capacity;      /* bytes one splice pipe holds */
};

/*
 * New relay on `base` (borrowed; must outlive the relay). cfg strings are
 * copied. outbox and keys are copied (their data pointers are borrowed).
 * Bind addresses are parsed here (bad address -> NP_ERR_INVAL). *out is set
 * only on success.
 */
int relay_new(struct event_base *base, const struct relay_config *cfg,
              const struct relay_outbox *outbox, const struct relay_keysource *keys,
              struct relay **out);

/* Close every session and socket at once and free the relay (NULL-safe).
 * Pending key fetches are cancelled. Call from outside relay callbacks. */
void relay_free(struct relay *r);

/*
 * Handle one decrypted notification received by the relay's atSign:
 * sender = the notification's sender atSign ("@alice"), key = the key as
 * received ("@relay:dev.request_ports.sshrvd@alice"), value/len = the
 * decrypted value. Recognises request_ports (5.8.1), auth_modes (5.8.4) and
 * legacy requests; other keys are ignored.
 *
 * Returns 0 when a session was created and answered (or a hint applied),
 * else the reason it was not: NP_ERR_UNSUPPORTED (not a relay request, or
 * only443), NP_ERR_LIMIT (rate limit or max sessions), NP_ERR_FORMAT (bad
 * request), NP_ERR_PERM (manager check / atSignA is not the sender / hint
 * from the wrong atSign), NP_ERR_EXISTS (session id in use), NP_ERR_NOTFOUND
 * (hint for an unknown session), NP_ERR_CLOSED (shutting down), or the
 * error of listening / sending. Refusals are logged; a NACK is sent only
 * when the request set multipleAcksOk.
 */
int relay_handle_request(struct relay *r, const char *sender, const char *key, const char *value,
                         size_t len);

/*
 * Graceful stop: close every listener and every socket not yet paired, refuse
 * new requests, and let live pairs run. When the last pair ends, or grace_ms
 * after this call, everything left is closed and done(arg) is called once
 * from the loop. Returns 0, or NP_ERR_CLOSED if already shutting down.
 */
int relay_shutdown(struct relay *r, int grace_ms, void (*done)(void *arg), void *arg);

void relay_get_stats(const struct relay *r, struct relay_stats *out);

/* Test/diagnostic helpers: is a session with this id live; how many. */
int relay_session_exists(const struct relay *r, const char *session_id);
unsigned relay_session_count(const struct relay *r);

#endif
