/*
 * lib/net/conn.c - event-driven connections (see conn.h and
 * docs/internals/net.md).
 *
 * A connection is a small state machine around one bufferevent:
 *   RESOLVING -> CONNECTING -> HANDSHAKE -> OPEN -> CLOSING -> DONE
 * (accepted TLS sockets start in HANDSHAKE, accepted plain ones in OPEN).
 * TCP connect is done here with one address at a time so that a refused
 * address falls through to the next one; the bufferevent is created on the
 * connected socket.
 *
 * Re-entrancy invariant: every libevent callback of ours brackets its work
 * with enter()/leave(). finish() releases the transport at once but the
 * struct itself is freed only by leave() when no callback of ours is on the
 * stack, so a user callback may close or free its connection at any point.
 */
#include "net/conn.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "net/tls_int.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

enum conn_state { ST_RESOLVING, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_DONE };

/* Deferred work for the kick event. */
enum { K_CONNECTED = 1, K_INPUT = 2, K_FAIL = 4, K_FLUSH = 8 };

/* libevent may hand this much to one SSL_write: large enough that a queued
 * block is never cut in the middle (a block is one evbuffer chain). */
#define MAX_SINGLE_WRITE (1 << 20)

struct net_conn {
    struct event_base *base;
    struct bufferevent *bev; /* NULL until the transport exists */
    struct event *timer;     /* opening deadline */
    struct event *kick;      /* deferred work, see enum K_* */
    struct net_tls_ctx *tls; /* reference held while opening (NULL after) */
    struct net_conn_cbs cbs;
    void *data;
    enum conn_state state;
    int depth;        /* our callbacks currently on the stack */
    int silent;       /* net_conn_free: no on_close */
    int paused;       /* net_conn_pause */
    int announced;    /* on_connected delivered: input may flow */
    int pending;      /* K_* flags for the kick event */
    int fail_reason;  /* reason for K_FAIL */
    int close_reason; /* reason reported when CLOSING completes */
    /* client side */
    char *verify_name;
    struct evdns_getaddrinfo_request *dns_req;
    struct evutil_addrinfo *ai_list, *ai_next;
    int fd;                /* socket while TCP connect is pending */
    struct event *conn_ev; /* EV_WRITE on fd while connecting */
    /* limits */
    size_t max_line, max_output;
    int skip_long;     /* opts.skip_long_lines */
    size_t discarding; /* bytes of an over-long line dropped so far (skip_long) */
    int idle_ms, write_ms, open_ms;
    char *line;                  /* max_line + 2 bytes */
    char peer[NP_HOST_MAX + 16]; /* "host:port" / "[v6]:port" for logs */
};

static void release(struct net_conn *c);
static void finish(struct net_conn *c, int reason, int graceful);
static void try_next_addr(struct net_conn *c);

static void enter(struct net_conn *c)
{
    c->depth++;
}

/* Last statement of every libevent callback: frees c when finished. */
static void leave(struct net_conn *c)
{
    if (--c->depth == 0 && c->state == ST_DONE)
        release(c);
}

static void kick(struct net_conn *c, int what)
{
    c->pending |= what;
    event_active(c->kick, 0, 0);
}

static void set_timeouts(struct net_conn *c)
{
    struct timeval r = {c->idle_ms / 1000, (c->idle_ms % 1000) * 1000};
    struct timeval w = {c->write_ms / 1000, (c->write_ms % 1000) * 1000};

    bufferevent_set_timeouts(c->bev, c->idle_ms > 0 ? &r : NULL, c->write_ms > 0 ? &w : NULL);
}

/* Close the socket, cancel resolving/connecting; idempotent. */
static void teardown(struct net_conn *c, int graceful)
{
    if (c->dns_req) {
        struct evdns_getaddrinfo_request *req = c->dns_req;
        c->dns_req = NULL;
        evdns_getaddrinfo_cancel(req); /* callback runs with EVUTIL_EAI_CANCEL */
    }
    if (c->conn_ev) {
        event_free(c->conn_ev);
        c->conn_ev = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->bev) {
        struct ssl_st *ssl = bufferevent_openssl_get_ssl(c->bev);
        if (graceful && ssl)
            net_tls_ssl_shutdown(ssl);
        /* Safe inside the bufferevent's own callback: libevent holds a
         * reference until the callback returns, and no callback of ours
         * runs after this. Closes the socket and frees the SSL. */
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    if (c->timer)
        event_del(c->timer);
    if (c->kick)
        event_del(c->kick);
    if (c->ai_list) {
        evutil_freeaddrinfo(c->ai_list);
        c->ai_list = c->ai_next = NULL;
    }
}

static void release(struct net_conn *c)
{
    teardown(c, 0);
    if (c->timer)
        event_free(c->timer);
    if (c->kick)
        event_free(c->kick);
    net_tls_ctx_free(c->tls);
    np_free(c->verify_name);
    np_free(c->line);
    np_free(c);
}

/* The connection is over: transport gone, on_close delivered (once). */
static void finish(struct net_conn *c, int reason, int graceful)
{
    if (c->state == ST_DONE)
        return;
    if (reason != 0 && reason != NP_ERR_EOF)
        np_debug("%s: connection ended: %s", c->peer, np_strerror(reason));
    c->state = ST_DONE;
    teardown(c, graceful);
    if (!c->silent && c->cbs.on_close) {
        c->depth++;
        c->cbs.on_close(c, reason, c->data);
        c->depth--;
    }
}

/* Deliver buffered input while open, not paused and someone consumes it. */
static void process_input(struct net_conn *c)
{
    struct evbuffer *in;

    if (!c->bev)
        return;
    in = bufferevent_get_input(c->bev);
    while (c->state == ST_OPEN && !c->paused && c->announced) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            return;
        if (c->cbs.on_line) {
            struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
            size_t n;
            if (c->skip_long && (c->discarding > 0 || (p.pos < 0 && avail > c->max_line) ||
                                 (p.pos >= 0 && (size_t)p.pos > c->max_line))) {
                /* drop the over-long line up to and including its '\n' */
                size_t drop = p.pos >= 0 ? (size_t)p.pos + 1 : avail;
                evbuffer_drain(in, drop);
                c->discarding += drop;
                if (p.pos >= 0) {
                    np_warn("%s: skipped a line of %zu bytes (limit %zu)", c->peer,
                            c->discarding - 1, c->max_line);
                    c->discarding = 0;
                }
                continue;
            }
            if (p.pos < 0 || (size_t)p.pos > c->max_line) {
                if (p.pos >= 0 || avail > c->max_line) {
                    np_debug("%s: line longer than %zu bytes", c->peer, c->max_line);
                    finish(c, NP_ERR_TOOBIG, 0);
                }
                return;
            }
            n = (size_t)p.pos;
            if (evbuffer_remove(in, c->line, n + 1) != (int)(n + 1)) {
                finish(c, NP_ERR_INTERNAL, 0);
                return;
            }
            if (n > 0 && c->line[n - 1] == '\r')
                n--;
            c->line[n] = '\0';
            c->cbs.on_line(c, c->line, n, c->data);
        } else if (c->cbs.on_data) {
            size_t n = evbuffer_get_contiguous_space(in);
            unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)n);
            if (!p) {
                finish(c, NP_ERR_NOMEM, 0);
                return;
            }
            c->cbs.on_data(c, p, n, c->data);
            if (c->state != ST_DONE)
                evbuffer_drain(in, n);
        } else {
            /* nobody consumes input: stop reading until callbacks change */
            bufferevent_disable(c->bev, EV_READ);
            return;
        }
    }
}

/* Transition to OPEN; on_connected comes from the kick event. */
static void set_open(struct net_conn *c)
{
    c->state = ST_OPEN;
    event_del(c->timer);
    set_timeouts(c);
    if (c->paused) /* paused while opening: reading stays off from now on */
        bufferevent_disable(c->bev, EV_READ);
    kick(c, K_CONNECTED | K_INPUT);
}

static int map_event_error(struct net_conn *c)
{
    unsigned long tls_err = bufferevent_get_openssl_error(c->bev);
    struct ssl_st *ssl = bufferevent_openssl_get_ssl(c->bev);
    int err = EVUTIL_SOCKET_ERROR();

    if (ssl && (c->state == ST_HANDSHAKE || tls_err != 0)) {
        net_tls_log_failure(ssl, tls_err, c->peer);
        return NP_ERR_TLS;
    }
    np_debug("%s: socket error: %s", c->peer, err ? evutil_socket_error_to_string(err) : "-");
    return err == ECONNRESET || err == EPIPE ? NP_ERR_EOF : NP_ERR_IO;
}

static void bev_read_cb(struct bufferevent *bev, void *arg)
{
    struct net_conn *c = arg;

    (void)bev;
    enter(c);
    process_input(c);
    leave(c);
}

static void bev_write_cb(struct bufferevent *bev, void *arg)
{
    struct net_conn *c = arg;

    enter(c);
    if (c->state == ST_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        finish(c, c->close_reason, 1);
    leave(c);
}

static void bev_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct net_conn *c = arg;

    (void)bev;
    enter(c);
    if (c->state == ST_DONE) {
        /* nothing: already finished */
    } else if (what & BEV_EVENT_CONNECTED) {
        if (c->state == ST_HANDSHAKE) {
            np_debug("%s: TLS handshake done", c->peer);
            set_open(c);
        }
    } else if (what & BEV_EVENT_EOF) {
        if (c->state == ST_HANDSHAKE)
            finish(c, NP_ERR_TLS, 0);
        else
            finish(c, c->state == ST_CLOSING ? c->close_reason : NP_ERR_EOF, 0);
    } else if (what & BEV_EVENT_TIMEOUT) {
        np_debug("%s: %s timeout", c->peer, (what & BEV_EVENT_READING) ? "idle" : "write");
        finish(c, NP_ERR_TIMEOUT, 0);
    } else if (what & BEV_EVENT_ERROR) {
        finish(c, map_event_error(c), 0);
    }
    leave(c);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_conn *c = arg;
    int p = c->pending;

    (void)fd;
    (void)what;
    enter(c);
    c->pending = 0;
    if (p & K_FAIL) {
        finish(c, c->fail_reason, 0);
    } else {
        if ((p & K_CONNECTED) && c->state == ST_OPEN) {
            c->announced = 1;
            if (c->cbs.on_connected)
                c->cbs.on_connected(c, c->data);
        }
        if ((p & K_INPUT) && c->state == ST_OPEN && c->bev) {
            process_input(c);
        }
        if (c->state == ST_CLOSING &&
            (!c->bev || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0))
            finish(c, c->close_reason, 1);
    }
    leave(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_conn *c = arg;

    (void)fd;
    (void)what;
    enter(c);
    if (c->state < ST_OPEN) {
        np_debug("%s: timed out while %s", c->peer,
                 c->state == ST_RESOLVING    ? "resolving"
                 : c->state == ST_CONNECTING ? "connecting"
                                             : "in the TLS handshake");
        finish(c, NP_ERR_TIMEOUT, 0);
    }
    leave(c);
}

static void fail_later(struct net_conn *c, int reason)
{
    c->fail_reason = reason;
    kick(c, K_FAIL);
}

static struct net_conn *conn_new(struct event_base *base, const struct net_conn_opts *o,
                                 const struct net_conn_cbs *cbs, void *data)
{
    struct net_conn *c;

    if ((c = np_calloc(1, sizeof(*c))) == NULL)
        return NULL;
    c->base = base;
    c->cbs = *cbs;
    c->data = data;
    c->fd = -1;
    c->max_line = o && o->max_line ? o->max_line : NET_CONN_DEFAULT_MAX_LINE;
    c->skip_long = o && o->skip_long_lines;
    c->max_output = o && o->max_output ? o->max_output : NET_CONN_DEFAULT_MAX_OUTPUT;
    c->open_ms = o && o->open_timeout_ms > 0 ? o->open_timeout_ms : NET_CONN_DEFAULT_OPEN_MS;
    c->idle_ms = o && o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 0;
    c->write_ms = o && o->write_timeout_ms > 0 ? o->write_timeout_ms : 0;
    snprintf(c->peer, sizeof(c->peer), "?");
    if ((c->line = np_malloc(c->max_line + 2)) == NULL ||
        (c->timer = evtimer_new(base, timer_cb, c)) == NULL ||
        (c->kick = event_new(base, -1, 0, kick_cb, c)) == NULL) {
        release(c);
        return NULL;
    }
    return c;
}

static void arm_open_timer(struct net_conn *c)
{
    struct timeval tv = {c->open_ms / 1000, (c->open_ms % 1000) * 1000};

    evtimer_add(c->timer, &tv);
}

/* Create the bufferevent on a connected/accepted socket (owned). */
static int start_transport(struct net_conn *c, int fd, int server)
{
    const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
    struct ssl_st *ssl = NULL;
    int r;

    net_tcp_set_nodelay(fd, 1);
    if (c->tls) {
        if ((r = net_tls_ssl_new(c->tls, server ? NULL : c->verify_name, &ssl)) != 0) {
            close(fd);
            return r;
        }
        c->bev = bufferevent_openssl_socket_new(
            c->base, fd, ssl, server ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
            opts);
        if (!c->bev) {
            net_tls_ssl_free(ssl);
            close(fd);
            return NP_ERR_NOMEM;
        }
        bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    } else {
        if ((c->bev = bufferevent_socket_new(c->base, fd, opts)) == NULL) {
            close(fd);
            return NP_ERR_NOMEM;
        }
    }
    net_tls_ctx_free(c->tls); /* the SSL object holds the context now */
    c->tls = NULL;
    bufferevent_set_max_single_write(c->bev, MAX_SINGLE_WRITE);
    bufferevent_setcb(c->bev, bev_read_cb, bev_write_cb, bev_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (ssl)
        c->state = ST_HANDSHAKE; /* BEV_EVENT_CONNECTED opens it */
    else
        set_open(c);
    return 0;
}

int net_conn_accept(struct event_base *base, int fd, struct net_tls_ctx *tls,
                    const struct net_conn_opts *opts, const struct net_conn_cbs *cbs, void *data,
                    struct net_conn **out)
{
    struct net_conn *c = NULL;
    int r;

    if (out)
        *out = NULL;
    if (!base || fd < 0 || !cbs || !cbs->on_close || !out || (tls && !net_tls_ctx_is_server(tls))) {
        if (fd >= 0)
            close(fd);
        return NP_ERR_INVAL;
    }
    if ((c = conn_new(base, opts, cbs, data)) == NULL) {
        close(fd);
        return NP_ERR_NOMEM;
    }
    net_tcp_peer_str(fd, c->peer, sizeof(c->peer));
    c->tls = net_tls_ctx_ref(tls);
    if ((r = start_transport(c, fd, 1)) != 0) {
        release(c);
        return r;
    }
    if (c->state == ST_HANDSHAKE)
        arm_open_timer(c);
    *out = c;
    return 0;
}

/* All addresses failed or resolving failed. */
static void connect_failed(struct net_conn *c, const char *why)
{
    np_debug("%s: cannot connect: %s", c->peer, why);
    if (c->ai_list) {
        evutil_freeaddrinfo(c->ai_list);
        c->ai_list = c->ai_next = NULL;
    }
    fail_later(c, NP_ERR_CONNECT);
}

static void conn_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_conn *c = arg;
    int r;

    (void)what;
    enter(c);
    event_free(c->conn_ev);
    c->conn_ev = NULL;
    c->fd = -1;
    if (c->state != ST_CONNECTING) {
        close(fd);
    } else if (net_tcp_connect_finish(fd) == 0) {
        evutil_freeaddrinfo(c->ai_list);
        c->ai_list = c->ai_next = NULL;
        np_debug("%s: TCP connected", c->peer);
        if ((r = start_transport(c, fd, 0)) != 0)
            fail_later(c, r);
    } else {
        close(fd);
        try_next_addr(c);
    }
    leave(c);
}

static void try_next_addr(struct net_conn *c)
{
    while (c->ai_next) {
        struct evutil_addrinfo *ai = c->ai_next;
        char host[NET_ADDR_STR_MAX];
        int fd, r;

        c->ai_next = ai->ai_next;
        net_tcp_addr_str(ai->ai_addr, (socklen_t)ai->ai_addrlen, host, sizeof(host));
        np_debug("%s: trying %s", c->peer, host);
        r = net_tcp_connect_start(ai->ai_addr, (socklen_t)ai->ai_addrlen, &fd);
        if (r == 0) {
            evutil_freeaddrinfo(c->ai_list);
            c->ai_list = c->ai_next = NULL;
            if ((r = start_transport(c, fd, 0)) != 0)
                fail_later(c, r);
            return;
        }
        if (r == NP_AGAIN) {
            c->state = ST_CONNECTING;
            c->fd = fd;
            if ((c->conn_ev = event_new(c->base, fd, EV_WRITE, conn_ev_cb, c)) == NULL ||
                event_add(c->conn_ev, NULL) != 0) {
                fail_later(c, NP_ERR_NOMEM);
                return;
            }
            return;
        }
    }
    connect_failed(c, "no address accepted the connection");
}

static void dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
    struct net_conn *c = arg;

    if (result == EVUTIL_EAI_CANCEL) { /* from teardown: c may be going away */
        if (res)
            evutil_freeaddrinfo(res);
        return;
    }
    enter(c);
    c->dns_req = NULL;
    if (c->state != ST_RESOLVING) {
        if (res)
            evutil_freeaddrinfo(res);
    } else if (result != 0 || !res) {
        if (res)
            evutil_freeaddrinfo(res);
        connect_failed(c, evutil_gai_strerror(result));
    } else {
        c->ai_list = c->ai_next = res;
        try_next_addr(c);
    }
    leave(c);
}

int net_conn_connect(struct event_base *base, struct evdns_base *dns, const char *host, int port,
                     struct net_tls_ctx *tls, const char *verify_name,
                     const struct net_conn_opts *opts, const struct net_conn_cbs *cbs, void *data,
                     struct net_conn **out)
{
    struct net_conn *c = NULL;
    struct evutil_addrinfo hints;
    struct evdns_getaddrinfo_request *req;
    char portstr[8];

    if (out)
        *out = NULL;
    if (!base || !host || !*host || strlen(host) > NP_HOST_MAX || port < 1 || port > 65535 ||
        !cbs || !cbs->on_close || !out || (tls && net_tls_ctx_is_server(tls)))
        return NP_ERR_INVAL;
    if ((c = conn_new(base, opts, cbs, data)) == NULL)
        return NP_ERR_NOMEM;
    if (tls && (c->verify_name = np_strdup(verify_name ? verify_name : host)) == NULL) {
        release(c);
        return NP_ERR_NOMEM;
    }
    c->tls = net_tls_ctx_ref(tls);
    c->state = ST_RESOLVING;
    snprintf(c->peer, sizeof(c->peer), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    snprintf(portstr, sizeof(portstr), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    arm_open_timer(c);
    /* From here on every failure is reported through on_close. The
     * resolver callback may run before evdns_getaddrinfo returns; it never
     * calls user callbacks directly (failures go through the kick event),
     * and the depth guard keeps c alive. */
    c->depth++;
    if (dns) {
        req = evdns_getaddrinfo(dns, host, portstr, &hints, dns_cb, c);
        if (req && c->state == ST_RESOLVING && !c->ai_list)
            c->dns_req = req;
    } else {
        struct evutil_addrinfo *res = NULL;
        int g = evutil_getaddrinfo(host, portstr, &hints, &res);
        dns_cb(g, res, c);
    }
    c->depth--;
    *out = c;
    return 0;
}

/* ---- output ---- */

static void free_block(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    np_free((void *)data);
}

int net_conn_writev(struct net_conn *c, const struct iovec *iov, int iovcnt)
{
    struct evbuffer *out;
    size_t total = 0, off = 0, queued;
    char *dst;

    if (!c || (iovcnt > 0 && !iov) || iovcnt < 0)
        return NP_ERR_INVAL;
    if (c->state >= ST_CLOSING)
        return NP_ERR_CLOSED;
    if (c->state != ST_OPEN || !c->bev)
        return NP_ERR_INVAL;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > c->max_output)
            return NP_ERR_LIMIT;
        total += iov[i].iov_len;
    }
    if (total == 0)
        return 0;
    out = bufferevent_get_output(c->bev);
    queued = evbuffer_get_length(out);
    if (total > c->max_output || queued > c->max_output - total)
        return NP_ERR_LIMIT;
    if (queued == 0) {
        /* Empty output: reserve one contiguous extent (one chain). */
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(out, (ev_ssize_t)total, &v, 1) != 1 || v.iov_len < total)
            return NP_ERR_NOMEM;
        dst = v.iov_base;
        for (int i = 0; i < iovcnt; i++) {
            if (iov[i].iov_len)
                memcpy(dst + off, iov[i].iov_base, iov[i].iov_len);
            off += iov[i].iov_len;
        }
        v.iov_len = total;
        return evbuffer_commit_space(out, &v, 1) == 0 ? 0 : NP_ERR_NOMEM;
    }
    /* Output pending: a chain of its own, so that libevent's SSL_write of
     * this block is not merged with, or cut by, the previous one. */
    if ((dst = np_malloc(total)) == NULL)
        return NP_ERR_NOMEM;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len)
            memcpy(dst + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    if (evbuffer_add_reference(out, dst, total, free_block, NULL) != 0) {
        np_free(dst);
        return NP_ERR_NOMEM;
    }
    return 0;
}

int net_conn_write(struct net_conn *c, const void *p, size_t n)
{
    struct iovec v;

    if (n > 0 && !p)
        return NP_ERR_INVAL;
    v.iov_base = (void *)p;
    v.iov_len = n;
    return net_conn_writev(c, &v, 1);
}

size_t net_conn_output_len(const struct net_conn *c)
{
    return c && c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

/* ---- control ---- */

void net_conn_close(struct net_conn *c)
{
    if (!c || c->state >= ST_CLOSING)
        return;
    if (c->state < ST_OPEN) {
        /* nothing to flush: drop the attempt, report from the loop */
        teardown(c, 0);
        c->state = ST_CLOSING;
        c->close_reason = 0;
        kick(c, K_FLUSH);
        return;
    }
    c->state = ST_CLOSING;
    c->close_reason = 0;
    bufferevent_disable(c->bev, EV_READ);
    if (c->write_ms <= 0) {
        struct timeval w = {NET_CONN_CLOSE_FLUSH_MS / 1000, 0};
        bufferevent_set_timeouts(c->bev, NULL, &w);
    }
    kick(c, K_FLUSH);
}

void net_conn_free(struct net_conn *c)
{
    if (!c)
        return;
    c->silent = 1;
    if (c->state != ST_DONE)
        finish(c, NP_ERR_CLOSED, 0);
    if (c->depth == 0)
        release(c);
}

void net_conn_pause(struct net_conn *c)
{
    if (!c || c->paused)
        return;
    c->paused = 1;
    if (c->bev && c->state == ST_OPEN)
        bufferevent_disable(c->bev, EV_READ);
}

void net_conn_resume(struct net_conn *c)
{
    if (!c || !c->paused)
        return;
    c->paused = 0;
    if (c->bev && c->state == ST_OPEN) {
        bufferevent_enable(c->bev, EV_READ);
        kick(c, K_INPUT);
    }
}

void net_conn_set_callbacks(struct net_conn *c, const struct net_conn_cbs *cbs)
{
    if (!c || !cbs || !cbs->on_close)
        return;
    c->cbs = *cbs;
    if (c->bev && c->state == ST_OPEN && !c->paused) {
        bufferevent_enable(c->bev, EV_READ);
        kick(c, K_INPUT);
    }
}

void net_conn_set_data(struct net_conn *c, void *data)
{
    c->data = data;
}

void *net_conn_data(const struct net_conn *c)
{
    return c->data;
}

void net_conn_set_timeouts(struct net_conn *c, int idle_timeout_ms, int write_timeout_ms)
{
    c->idle_ms = idle_timeout_ms > 0 ? idle_timeout_ms : 0;
    c->write_ms = write_timeout_ms > 0 ? write_timeout_ms : 0;
    if (c->bev && c->state == ST_OPEN)
        set_timeouts(c);
}

const char *net_conn_peer(const struct net_conn *c)
{
    return c->peer;
}

int net_conn_is_open(const struct net_conn *c)
{
    return c && c->state == ST_OPEN;
}

int net_conn_is_tls(const struct net_conn *c)
{
    return c && c->bev && bufferevent_openssl_get_ssl(c->bev) != NULL;
}

int net_conn_peer_cert(struct net_conn *c, struct net_peer_cert **out)
{
    struct ssl_st *ssl;

    if (out)
        *out = NULL;
    if (!c || !out || c->state != ST_OPEN || !c->bev)
        return NP_ERR_INVAL;
    if ((ssl = bufferevent_openssl_get_ssl(c->bev)) == NULL)
        return NP_ERR_NOTFOUND;
    return net_tls_ssl_peer_cert(ssl, out);
}
