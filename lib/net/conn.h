/*
 * lib/net/conn.h - an event-driven connection on libevent: TLS (through
 * bufferevent_openssl) or plain TCP, accepted or connected, delivering
 * bounded lines or raw bytes to callbacks.
 *
 * Loop and thread: every function here, and every callback, runs on the
 * thread that runs the event_base the connection was created on. Nothing
 * blocks; nothing sleeps.
 *
 * Life cycle:
 *   opening --(TCP connected, TLS handshake done)--> open --> finished
 *   on_connected is called once when the connection becomes open.
 *   on_close(c, reason, data) is called exactly once when the connection is
 *   finished, for any reason, unless the owner called net_conn_free. After
 *   on_close returns the library frees the net_conn: `c` must not be used
 *   again. The owner's `data` is the owner's to free (typically in on_close).
 *   Reasons: 0 after net_conn_close completed (output flushed);
 *   NP_ERR_EOF (peer closed), NP_ERR_TIMEOUT (open deadline, idle or write
 *   timeout), NP_ERR_TOOBIG (line over max_line), NP_ERR_TLS (handshake or
 *   certificate failure, TLS protocol error), NP_ERR_CONNECT (resolve or TCP
 *   connect failed), NP_ERR_IO (socket error), NP_ERR_NOMEM.
 *
 * Callbacks are never called from inside the net_conn_* call that created
 * or changed the connection; they always come from the event loop. A
 * callback may call any net_conn_* function on its own connection,
 * including net_conn_close and net_conn_free.
 *
 * Framing: with on_line set, input is split at each '\n'; the line passed
 * to on_line excludes the '\n' and one '\r' before it, is NUL-terminated,
 * may be modified in place and is valid only during the call. A line (or
 * unterminated input) longer than max_line bytes before its '\n' finishes
 * the connection with NP_ERR_TOOBIG (or, with skip_long_lines, is discarded
 * up to its '\n' without being buffered, and reading goes on). With on_line NULL and on_data set,
 * bytes are delivered as they arrive. The callbacks may be swapped at any
 * time (e.g. a text handshake followed by raw bytes); buffered input then
 * goes to the new callback.
 *
 * Writes: each net_conn_write/net_conn_writev call is queued as one
 * contiguous block and handed to TLS in one SSL_write, so a response of up
 * to 16 KiB leaves in a single TLS record (atprotocol.md 2.2: body, newline
 * and prompt must arrive together).
 */
#ifndef NP_NET_CONN_H
#define NP_NET_CONN_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

struct event_base;
struct evdns_base;
struct net_conn;
struct net_tls_ctx;
struct net_peer_cert;

struct net_conn_cbs {
    /* Connection open (TCP connected and, with TLS, handshake done). */
    void (*on_connected)(struct net_conn *c, void *data);
    /* One input line, see "Framing" above. */
    void (*on_line)(struct net_conn *c, char *line, size_t len, void *data);
    /* Raw input bytes (only when on_line is NULL); borrowed, all consumed. */
    void (*on_data)(struct net_conn *c, const unsigned char *p, size_t n, void *data);
    /* The connection is finished; see "Life cycle" above. */
    void (*on_close)(struct net_conn *c, int reason, void *data);
};

#define NET_CONN_DEFAULT_MAX_LINE   65536
#define NET_CONN_DEFAULT_MAX_OUTPUT (4u << 20)
#define NET_CONN_DEFAULT_OPEN_MS    10000
/* Bound on flushing output after net_conn_close when no write timeout is set. */
#define NET_CONN_CLOSE_FLUSH_MS 10000

/* Limits; a zeroed struct (or NULL) gives the defaults. */
struct net_conn_opts {
    size_t max_line;      /* bytes before '\n'; 0 = NET_CONN_DEFAULT_MAX_LINE */
    size_t max_output;    /* queued output ceiling; 0 = NET_CONN_DEFAULT_MAX_OUTPUT */
    int open_timeout_ms;  /* resolve + connect + handshake; 0 = NET_CONN_DEFAULT_OPEN_MS */
    int idle_timeout_ms;  /* no input for this long finishes the connection; 0 = none */
    int write_timeout_ms; /* queued output making no progress this long; 0 = none */
    bool skip_long_lines; /* on_line framing: discard a line over max_line (logged)
                             instead of finishing the connection; for streams of
                             independent lines such as a monitor */
};

/*
 * Wrap an accepted socket. Takes ownership of fd in every case (closed on
 * error). tls: a server context (borrowed, only used during this call), or
 * NULL for plain TCP. cbs is copied; on_close is required. *out is set to
 * NULL at entry and to the connection on success; no callback has run yet.
 * Errors: NP_ERR_INVAL, NP_ERR_NOMEM, NP_ERR_TLS.
 */
int net_conn_accept(struct event_base *base, int fd, struct net_tls_ctx *tls,
                    const struct net_conn_opts *opts, const struct net_conn_cbs *cbs, void *data,
                    struct net_conn **out);

/*
 * Connect to host:port and, with tls (a client context, borrowed), run the
 * TLS handshake verifying the server certificate against verify_name (NULL:
 * host). Every address the name resolves to is tried in turn until one
 * accepts the TCP connection. dns: an evdns base for non-blocking
 * resolution; NULL uses getaddrinfo(3), which blocks for names that are
 * neither numeric nor in /etc/hosts - use NULL only with numeric hosts or
 * in tools. The whole opening phase is bounded by opts->open_timeout_ms.
 * Failures after this call returns 0 are reported through on_close.
 * *out = NULL at entry. Errors: NP_ERR_INVAL, NP_ERR_NOMEM.
 */
int net_conn_connect(struct event_base *base, struct evdns_base *dns, const char *host, int port,
                     struct net_tls_ctx *tls, const char *verify_name,
                     const struct net_conn_opts *opts, const struct net_conn_cbs *cbs, void *data,
                     struct net_conn **out);

/*
 * Queue bytes as one contiguous block (see "Writes"). Allowed once open
 * (from on_connected on). Errors: NP_ERR_INVAL (not open yet), NP_ERR_CLOSED
 * (closing or finished), NP_ERR_LIMIT (queued output would exceed
 * max_output; nothing queued - the caller decides whether to close),
 * NP_ERR_NOMEM. The bytes are copied; the caller keeps its buffers.
 */
int net_conn_write(struct net_conn *c, const void *p, size_t n);
/* Gather several pieces into one block, e.g. {body, "\n", prompt}. */
int net_conn_writev(struct net_conn *c, const struct iovec *iov, int iovcnt);
/* Bytes queued and not yet handed to the kernel. */
size_t net_conn_output_len(const struct net_conn *c);

/*
 * Graceful close: stop reading and delivering input, flush queued output
 * (bounded by the write timeout, NET_CONN_CLOSE_FLUSH_MS if none), send a
 * TLS close_notify, close the socket, then call on_close(c, 0). No-op if
 * already closing. Safe to call during the opening phase.
 */
void net_conn_close(struct net_conn *c);

/*
 * Immediate close and free: queued output is dropped and on_close is NOT
 * called. `c` is invalid after this call (inside a callback the memory is
 * released when the callback returns). NULL-safe. Use it when the owner
 * shuts down or has already forgotten the connection.
 */
void net_conn_free(struct net_conn *c);

/* Stop reading and delivering input (e.g. while a request is served
 * asynchronously); idle timeout is suspended too. */
void net_conn_pause(struct net_conn *c);
/* Undo net_conn_pause; buffered input is delivered from the loop. */
void net_conn_resume(struct net_conn *c);

/* Replace the callbacks (copied; on_close must stay non-NULL). */
void net_conn_set_callbacks(struct net_conn *c, const struct net_conn_cbs *cbs);
void net_conn_set_data(struct net_conn *c, void *data);
void *net_conn_data(const struct net_conn *c);
/* Change the idle and write timeouts (ms, 0 = none) of an open connection. */
void net_conn_set_timeouts(struct net_conn *c, int idle_timeout_ms, int write_timeout_ms);

/* Peer address "1.2.3.4:5" / "[::1]:5" for logs (valid for c's lifetime). */
const char *net_conn_peer(const struct net_conn *c);
/* 1 when open and not closing. */
int net_conn_is_open(const struct net_conn *c);
/* 1 if the connection runs over TLS. */
int net_conn_is_tls(const struct net_conn *c);

/*
 * Names from the peer's certificate (TLS, open connections only). The
 * caller owns *out (net_peer_cert_free). *out = NULL at entry.
 * Errors: NP_ERR_NOTFOUND (no verified peer certificate, plain TCP),
 * NP_ERR_INVAL (not open), NP_ERR_NOMEM.
 */
int net_conn_peer_cert(struct net_conn *c, struct net_peer_cert **out);

#endif
