/*
 * lib/np/bridge_int.h - internals shared by bridge.c (outbound connect,
 * relay preamble, the connection pair and its pump, lifetime) and
 * bridge_mux.c (the npt control channel). Private to lib/np.
 *
 * Invariants: every object below belongs to exactly one struct np_bridge;
 * struct np_bridge itself is only freed by np_bridge_free, never from inside
 * the bridge's own callbacks, so code may use `b` after closing a pair or
 * finishing, but never a pair after np_bridge__pair_close or finish.
 */
#ifndef NP_NP_BRIDGE_INT_H
#define NP_NP_BRIDGE_INT_H
#include <stddef.h>

#include <event2/util.h>

#include "np/bridge.h"
#include "util/addr.h"

struct bufferevent;
struct evbuffer;
struct event;
struct evconnlistener;
struct np_aes_ctr;
struct np_buf;
struct np_bpair;
struct np_rconn;

#define NP_BRIDGE_HWM          (256 * 1024) /* bytes queued per direction before the source pauses */
#define NP_BRIDGE_PREAMBLE_MAX 4096         /* longest relay preamble line (challenge, "ok") */
#define NP_BRIDGE_SETUP_MS     15000        /* connect + preamble deadline per relay attempt */
#define NP_BRIDGE_CONNECT_MS   5000         /* TCP connect deadline per address */
#define NP_BRIDGE_MAX_PAIRS    256          /* data connections alive or waiting, per bridge */
#define NP_BRIDGE_DETAIL_MAX   512

struct np_bridge {
    struct event_base *base;
    struct evdns_base *dns;
    /* configuration (copied) */
    int side, multi, timeout_ms, auth, heartbeat_ms, relay_tries, relay_retry_ms;
    char relay_host[NP_HOST_MAX + 1];
    int relay_port;
    char local_host[NP_HOST_MAX + 1];
    int local_port; /* client: the bound port once listening */
    struct np_bridge_keys keys;
    unsigned char *auth_line; /* with its "\n" */
    size_t auth_line_len;
    np_bridge_escr_fn escr;
    void *escr_data;
    np_bridge_done_fn on_done;
    void *data;

    struct evconnlistener *listener; /* client; single: closed after one accept */
    struct event *relisten;          /* re-enable the listener after an accept error */
    struct event *timer;             /* the 8.4 lifetime timer */
    struct event *done_ev;           /* runs on_done from a fresh callback */
    int timer_fired, finished;
    int64_t started_ms; /* np_mono_ms() when the lifetime timer was armed */
    int reason;
    char detail[NP_BRIDGE_DETAIL_MAX];

    struct np_bpair *pairs; /* every data connection (the 8.4 count) */
    unsigned npairs, pair_seq;
    struct np_bpair *q_head, *q_tail; /* waiting for their turn to open a relay socket */
    int relay_busy;                   /* one relay socket is being opened (keeps the order) */

    /* multi (bridge_mux.c) */
    struct np_rconn *ctl_rc;    /* control relay socket being opened */
    struct bufferevent *ctl;    /* control relay socket once ready */
    struct np_aes_ctr *ctl_ctr; /* control stream cipher (C2D / single), or NULL */
    struct np_buf *ctl_buf;     /* daemon: decrypted control bytes without a newline yet */
    struct event *hb_ev;        /* client heartbeat timer */
    long long hb_seq;
    struct np_bridge_stats st;
};

/* Relay socket: connect (with tries) + plaintext preamble. On success bev is
 * the connected socket (no callbacks set, reading disabled, any bytes after
 * the preamble still in its input) and belongs to the callee; on failure bev
 * is NULL and reason/detail say why. rc may be freed inside the callback. */
typedef void (*np_rconn_fn)(struct np_rconn *rc, struct bufferevent *bev, int reason,
                            const char *detail, void *data);

/* Start opening a relay socket; never calls cb before returning. */
int np_bridge__rconn_start(struct np_bridge *b, int tries, np_rconn_fn cb, void *data,
                           struct np_rconn **out);
void np_bridge__rconn_free(struct np_rconn *rc);

/*
 * Add a data connection: the local side is `fd` (accepted; always owned by
 * the callee, closed on error) or, with fd < 0, a connect to the configured
 * local host:port, or, with refuse != NULL, nothing (the relay socket is
 * still opened in turn and then closed, to keep the relay's pairing order).
 * Keys are copied. The relay socket opens when its turn comes.
 */
int np_bridge__pair_add(struct np_bridge *b, evutil_socket_t fd, const struct np_bridge_keys *k,
                        const char *refuse);

/* Open the next queued relay socket if none is being opened (and, in multi
 * mode, the control channel is up). */
void np_bridge__queue_kick(struct np_bridge *b);

/* The text for a relay socket that failed with ETIMEDOUT (its host answered
 * neither data nor keep-alive probes): "relay connection lost: no answer
 * from HOST:PORT for N s (...)". */
void np_bridge__relay_silent_detail(const struct np_bridge *b, char *dst, size_t size);

/* End the bridge: close everything, then report through on_done. */
void np_bridge__finish(struct np_bridge *b, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* AES-CTR the first n bytes of buf in place, over its chains (no copy). */
int np_bridge__crypt_evbuffer(struct np_aes_ctr *c, struct evbuffer *buf, size_t n);

/* bridge_mux.c: start the control connection (and heartbeat timer). */
int np_bridge__mux_start(struct np_bridge *b);
/* bridge_mux.c, client: announce a data connection on the control channel. */
int np_bridge__mux_commit(struct np_bridge *b, const struct np_bridge_keys *k);
/* bridge_mux.c: free the control channel (NULL-safe parts). */
void np_bridge__mux_close(struct np_bridge *b);

#endif
