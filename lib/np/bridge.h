/*
 * lib/np/bridge.h - the in-process "srv" (noports-wire.md 3.5, 5.9, 5.10, 8):
 * joins local TCP sockets to relay sockets on the caller's libevent loop.
 *
 * One object, four shapes, chosen by the config:
 * - single, client side (sshnp): listen on local_host:local_port (default
 *   127.0.0.1, port 0 = the OS chooses; the port is known when np_bridge_new
 *   returns), accept ONE connection (the listener then closes), connect to
 *   the relay (port A), bridge.
 * - single, daemon side (sshnpd ssh): connect to the relay (port B) and to
 *   local_host:local_port ("localhost" tries 127.0.0.1, then ::1), bridge.
 * - multi (npt, see bridge_mux.h): a control connection first, then one relay
 *   connection per local connection, announced on the control channel.
 *
 * Every relay socket starts with a plaintext preamble: nothing, the legacy
 * auth line (opaque bytes from the caller), or ESCR (the caller's callback
 * turns the relay's challenge into the response line; the bridge then waits
 * for "ok"). After it the stream is AES-256-CTR (one context per direction
 * per relay connection, starting at the IV), or plaintext.
 *
 * Lifetime (8.4): a timer of timeout_ms starts at creation; if no connection
 * exists when it fires, the bridge ends; after it fired, the end of the last
 * connection ends it. Single mode ends when its one connection ends. In
 * multi mode the end of the control connection ends the bridge. The end is
 * reported once through on_done, from a fresh event-loop callback.
 * Once one side of a connection has ended (EOF), the connection is closed
 * if the other side makes no progress for timeout_ms (nothing arrives, or
 * queued bytes cannot be written): a stopped or vanished peer cannot keep a
 * half-closed connection, and so the bridge, alive forever.
 *
 * The program must ignore SIGPIPE (writing to a socket whose peer is gone
 * would otherwise kill it); the bridge does not change signal dispositions.
 *
 * Thread: everything runs on the caller's event_base thread.
 * Depends on libevent (event2) and crypto/aes.h; no threads, no blocking I/O
 * except getaddrinfo(3) for host names when no evdns_base is given.
 */
#ifndef NP_NP_BRIDGE_H
#define NP_NP_BRIDGE_H
#include <stddef.h>
#include <stdint.h>

#include "crypto/aes.h"

struct event_base;
struct evdns_base;
struct np_bridge;

enum np_bridge_side {
    NP_BRIDGE_CLIENT = 1, /* sshnp / npt: local listener, relay port A */
    NP_BRIDGE_DAEMON = 2  /* sshnpd: relay port B, connects to the local service */
};

enum np_bridge_crypt {
    NP_BRIDGE_PLAIN = 0,      /* no relay encryption (--no-et) */
    NP_BRIDGE_SINGLE_KEY = 1, /* BASELINE: same key and IV both directions */
    NP_BRIDGE_TWIN_KEYS = 2   /* NEWER: C2D and D2C bundles */
};

enum np_bridge_auth {
    NP_BRIDGE_AUTH_NONE = 0, /* relay does not authenticate sockets */
    NP_BRIDGE_AUTH_LINE = 1, /* legacy signed-envelope line (5.9) */
    NP_BRIDGE_AUTH_ESCR = 2  /* challenge-response (5.10) */
};

/* Why a bridge ended (on_done). */
enum np_bridge_reason {
    NP_BRIDGE_TIMEOUT = 1,              /* no connection when the timer fired */
    NP_BRIDGE_LOCAL_CLOSED = 2,         /* last connection ended; local side ended first */
    NP_BRIDGE_RELAY_CLOSED = 3,         /* last connection ended; relay side ended first */
    NP_BRIDGE_LOCAL_CONNECT_FAILED = 4, /* daemon: local service unreachable */
    NP_BRIDGE_RELAY_CONNECT_FAILED = 5, /* relay unreachable (or setup deadline) */
    NP_BRIDGE_RELAY_AUTH_FAILED = 6,    /* preamble failed (ESCR refused, bad line) */
    NP_BRIDGE_CONTROL_CLOSED = 7,       /* multi: the control connection ended */
    NP_BRIDGE_CONTROL_ERROR = 8,        /* multi: control protocol violation */
    NP_BRIDGE_INTERNAL_ERROR = 9        /* allocation or crypto failure */
};

/*
 * Stream keys. mode NP_BRIDGE_SINGLE_KEY uses c2d_* for both directions (the
 * d2c_* fields are then a copy). The client encrypts with C2D and decrypts
 * with D2C; the daemon the reverse. Secret: wipe copies with np_memzero.
 */
struct np_bridge_keys {
    int mode; /* enum np_bridge_crypt */
    unsigned char c2d_key[NP_AES_KEY_LEN];
    unsigned char c2d_iv[NP_AES_IV_LEN];
    unsigned char d2c_key[NP_AES_KEY_LEN];
    unsigned char d2c_iv[NP_AES_IV_LEN];
};

/*
 * ESCR callback: `challenge` is the relay's challenge line (len bytes, NUL-
 * terminated, without "\r\n"). Store the response line (the bridge appends
 * "\n" unless it ends with one; np_escr_response_build's line fits as is) as a
 * new string in *response (the bridge frees it with np_freezero_str) and
 * return 0, or return a negative NP_ERR_* code to
 * fail that relay socket. Called once per relay socket (fresh challenge each
 * time), from the event loop; it must not block for long and must not free
 * the bridge.
 */
typedef int (*np_bridge_escr_fn)(const char *challenge, size_t len, char **response, void *data);

/*
 * End callback, called exactly once per bridge that np_bridge_new returned,
 * unless np_bridge_free came first. `reason` is an enum np_bridge_reason;
 * `detail` (borrowed, valid during the call) says which socket and why, e.g.
 * "relay 10.0.0.1:4321: connect: Connection refused". Every socket and timer
 * of the bridge is already closed; the callback may call np_bridge_free(b).
 */
typedef void (*np_bridge_done_fn)(struct np_bridge *b, int reason, const char *detail, void *data);

struct np_bridge_config {
    int side;               /* enum np_bridge_side */
    int multi;              /* 0 = single (sshnp/sshnpd), 1 = multi with control channel (npt) */
    const char *relay_host; /* relay address (IP literal or name) */
    int relay_port;         /* A for the client, B for the daemon */
    /* client: address to listen on (NULL = "127.0.0.1"), port 0 = ephemeral;
     * daemon: the service to connect to (NULL = "localhost"). */
    const char *local_host;
    int local_port;
    int timeout_ms;             /* lifetime timer, > 0 (default 30000) */
    struct np_bridge_keys keys; /* session keys (copied) */
    int auth;                   /* enum np_bridge_auth */
    const void *auth_line;      /* NP_BRIDGE_AUTH_LINE: bytes (copied); "\n" appended if absent */
    size_t auth_line_len;       /* at most 4096 */
    np_bridge_escr_fn escr;     /* NP_BRIDGE_AUTH_ESCR */
    void *escr_data;
    int heartbeat_ms;       /* multi client: "heartbeat:<n>" every so often; 0 = never (only
                             * for daemons advertising controlChannelHeartbeats) */
    int relay_tries;        /* attempts per data relay socket; 0 = default (1; multi daemon 4) */
    int relay_retry_ms;     /* pause between attempts; 0 = 1000 */
    struct evdns_base *dns; /* optional async resolver for host names */
    np_bridge_done_fn on_done;
    void *data; /* passed to on_done */
};

struct np_bridge_stats {
    uint64_t bytes_to_relay;   /* plaintext bytes local -> relay, all connections */
    uint64_t bytes_from_relay; /* plaintext bytes relay -> local */
    unsigned connections;      /* data connections started (pairs) */
    unsigned live;             /* data connections alive now */
    unsigned live_at_end;      /* data connections still alive when the bridge ended
                                  (before it closed them); set once it has ended */
    unsigned ended_early;      /* 1: it ended well before its timeout (more than
                                  min(timeout/2, 5 s) before it would fire) */
    unsigned ctl_connects;     /* multi: connect messages sent (client) / accepted (daemon) */
    unsigned ctl_rejected;     /* multi daemon: control lines rejected */
    unsigned heartbeats;       /* multi: heartbeats sent (client) / seen (daemon) */
    size_t queued_max;         /* most bytes ever queued toward one socket (back-pressure) */
};

/* Fill *cfg with defaults: single client, 127.0.0.1:0, 30 s, plaintext, no auth. */
void np_bridge_config_init(struct np_bridge_config *cfg);

/*
 * Fill *k from base64 texts (key 44 chars -> 32 bytes, IV 24 chars -> 16).
 * d2c_key and d2c_iv both NULL: single-key mode; both given: twin keys (key
 * and iv are then the C2D bundle). NP_ERR_FORMAT on bad base64 or length,
 * NP_ERR_INVAL on a lone d2c value. *k is cleared at entry.
 */
int np_bridge_keys_from_b64(struct np_bridge_keys *k, const char *key, const char *iv,
                            const char *d2c_key, const char *d2c_iv);

/* Fresh random keys of the given mode (plain: all zero). */
int np_bridge_keys_random(struct np_bridge_keys *k, int mode);

/*
 * Create a bridge on `base` and start it (client: listening; daemon:
 * connecting). The config and everything it points to is copied; the caller
 * may wipe it afterwards. On success *out owns the bridge: free it with
 * np_bridge_free (from on_done or later). Errors: NP_ERR_INVAL (bad config),
 * NP_ERR_IO / NP_ERR_EXISTS (cannot listen: address in use), NP_ERR_FORMAT
 * (cannot resolve local_host), NP_ERR_NOMEM, NP_ERR_CRYPTO; on error
 * nothing is left behind and on_done is never called.
 */
int np_bridge_new(struct event_base *base, const struct np_bridge_config *cfg,
                  struct np_bridge **out);

/* Client: the port the listener is bound to (also when local_port was 0);
 * daemon: the configured local port. */
int np_bridge_local_port(const struct np_bridge *b);

/* Copy the counters into *st. */
void np_bridge_get_stats(const struct np_bridge *b, struct np_bridge_stats *st);

/* Static English name of a reason ("timeout", "local closed", ...). */
const char *np_bridge_reason_str(int reason);

/* Close everything (without calling on_done if it has not run yet) and free;
 * NULL is accepted. Wipes keys. */
void np_bridge_free(struct np_bridge *b);

#endif
