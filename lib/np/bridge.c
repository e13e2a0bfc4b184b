/*
 * lib/np/bridge.c - the in-process srv (noports-wire.md 8): outbound connect
 * with address fallback, the relay preamble (none / auth line / ESCR), the
 * connection pair with its in-place AES-CTR pump and back-pressure, the
 * single-mode bridge and the lifetime rule of 8.4. Multi mode's control
 * channel is in bridge_mux.c.
 *
 * Data path: bytes read from one socket of a pair sit in that bufferevent's
 * input evbuffer; they are XORed with the keystream in place, chain by chain
 * (evbuffer_peek), then the chains are moved to the other socket's output
 * (evbuffer_add_buffer, no copy). When an output holds NP_BRIDGE_HWM bytes
 * the source stops reading until it drains to half of that.
 */
#include "np/bridge.h"
#include "np/bridge_int.h"

#include "crypto/aes.h"
#include "crypto/b64.h"
#include "crypto/rand.h"
#include "net/tcp.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#define MAX_ADDRS     8
#define MAX_READ_SIZE (64 * 1024)

enum { ST_WAIT = 0, ST_PENDING, ST_READY, ST_FAILED };
enum { RC_CONNECTING = 1, RC_FLUSH, RC_CHALLENGE, RC_OK, RC_RETRY_WAIT, RC_DONE };

static struct timeval ms_tv(int ms)
{
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

/* ---------------------------------------------------------------- addresses */

struct addrlist {
    struct sockaddr_storage a[MAX_ADDRS];
    socklen_t len[MAX_ADDRS];
    int n;
};

static void addrs_add(struct addrlist *l, const struct sockaddr *sa, socklen_t len)
{
    if (l->n >= MAX_ADDRS || len > sizeof(l->a[0]))
        return;
    memcpy(&l->a[l->n], sa, len);
    l->len[l->n++] = len;
}

static void addrs_add_ai(struct addrlist *l, const struct evutil_addrinfo *ai)
{
    for (; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            addrs_add(l, ai->ai_addr, (socklen_t)ai->ai_addrlen);
}

static void addrs_add_v4(struct addrlist *l, const struct in_addr *a, int port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr = *a;
    addrs_add(l, (struct sockaddr *)&sin, sizeof(sin));
}

static void addrs_add_v6(struct addrlist *l, const struct in6_addr *a, int port)
{
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons((unsigned short)port);
    sin6.sin6_addr = *a;
    addrs_add(l, (struct sockaddr *)&sin6, sizeof(sin6));
}

/* Addresses known without a lookup: IP literals, and "localhost" as
 * 127.0.0.1 then ::1 (services often listen on IPv4 loopback only, while the
 * name may resolve to ::1 first). NP_AGAIN if the name needs resolving. */
static int addrs_static(const char *host, int port, struct addrlist *l)
{
    struct in_addr a4;
    struct in6_addr a6;

    memset(l, 0, sizeof(*l));
    if (strcasecmp(host, "localhost") == 0) {
        a4.s_addr = htonl(INADDR_LOOPBACK);
        addrs_add_v4(l, &a4, port);
        addrs_add_v6(l, &in6addr_loopback, port);
        return 0;
    }
    if (inet_pton(AF_INET, host, &a4) == 1) {
        addrs_add_v4(l, &a4, port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        addrs_add_v6(l, &a6, port);
        return 0;
    }
    return NP_AGAIN;
}

/* Blocking lookup (only for names, only without an evdns_base). */
static int addrs_lookup(const char *host, int port, int passive, struct addrlist *l)
{
    struct evutil_addrinfo hints, *res = NULL;
    char portstr[16];
    int e;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG | (passive ? EVUTIL_AI_PASSIVE : 0);
    snprintf(portstr, sizeof(portstr), "%d", port);
    if ((e = evutil_getaddrinfo(host, portstr, &hints, &res)) != 0) {
        np_warn("bridge: cannot resolve %s: %s", host, evutil_gai_strerror(e));
        return NP_ERR_NOTFOUND;
    }
    addrs_add_ai(l, res);
    evutil_freeaddrinfo(res);
    return l->n > 0 ? 0 : NP_ERR_NOTFOUND;
}

static const char *addr_str(const struct sockaddr_storage *ss, char *dst, size_t size)
{
    const void *a = ss->ss_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
    if (!evutil_inet_ntop(ss->ss_family, a, dst, size))
        snprintf(dst, size, "?");
    return dst;
}

static void sock_tune(struct bufferevent *bev)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    int one = 1;

    /* Interactive ssh wants every keystroke out at once. */
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bufferevent_set_max_single_read(bev, MAX_READ_SIZE);
    bufferevent_set_max_single_write(bev, MAX_READ_SIZE);
}

/* ---------------------------------------------------- outbound TCP connect */

struct bconn;
typedef void (*bconn_fn)(struct bconn *c, struct bufferevent *bev, const char *detail, void *data);

struct bconn {
    struct np_bridge *b;
    const char *what; /* "relay" or "local" (static text) */
    char host[NP_HOST_MAX + 1];
    int port;
    struct addrlist addrs;
    int idx, starting;
    int refused_now; /* connect(2) already said ECONNREFUSED (libevent reports it later) */
    struct evdns_getaddrinfo_request *req;
    struct bufferevent *bev;
    struct event *defer; /* reports a failure found while starting */
    char err[160];       /* what went wrong so far */
    bconn_fn cb;
    void *data;
};

static void bconn_free(struct bconn *c)
{
    if (!c)
        return;
    if (c->req) {
        struct evdns_getaddrinfo_request *req = c->req;
        c->req = NULL;
        evdns_getaddrinfo_cancel(req); /* runs the callback with EVUTIL_EAI_CANCEL */
    }
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->defer)
        event_free(c->defer);
    np_free(c);
}

static void bconn_fail(struct bconn *c)
{
    char detail[NP_BRIDGE_DETAIL_MAX];

    snprintf(detail, sizeof(detail), "%s %s:%d: connect: %s", c->what, c->host, c->port,
             c->err[0] ? c->err : "no address");
    c->cb(c, NULL, detail, c->data);
}

static void bconn_note(struct bconn *c, int idx, int err)
{
    char a[INET6_ADDRSTRLEN], note[96];
    size_t used = strlen(c->err);

    snprintf(note, sizeof(note), "%s%s (%s)", used ? ", " : "", err ? strerror(err) : "failed",
             addr_str(&c->addrs.a[idx], a, sizeof(a)));
    if (used < sizeof(c->err) - 1)
        snprintf(c->err + used, sizeof(c->err) - used, "%s", note);
}

static void bconn_event_cb(struct bufferevent *bev, short what, void *arg);

/* Start connecting to the next address; 0 if a connect is in flight. */
static int bconn_next(struct bconn *c)
{
    while (c->idx < c->addrs.n) {
        int i = c->idx++;
        struct sockaddr *sa = (struct sockaddr *)&c->addrs.a[i];
        struct timeval tv = ms_tv(NP_BRIDGE_CONNECT_MS);
        evutil_socket_t fd;
        struct bufferevent *bev;

        /* Own socket so that it is close-on-exec (sshnp execs ssh). */
        fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            bconn_note(c, i, errno);
            continue;
        }
        if ((bev = bufferevent_socket_new(c->b->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
            close(fd);
            bconn_note(c, i, ENOMEM);
            continue;
        }
        bufferevent_setcb(bev, NULL, NULL, bconn_event_cb, c);
        bufferevent_set_timeouts(bev, NULL, &tv);
        errno = 0;
        if (bufferevent_socket_connect(bev, sa, (int)c->addrs.len[i]) != 0) {
            bconn_note(c, i, errno);
            bufferevent_free(bev);
            continue;
        }
        c->refused_now = errno == ECONNREFUSED;
        c->bev = bev;
        return 0;
    }
    return NP_ERR_CONNECT;
}

static void bconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct bconn *c = arg;
    int err = EVUTIL_SOCKET_ERROR();

    if (what & BEV_EVENT_CONNECTED) {
        c->bev = NULL;
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        bufferevent_set_timeouts(bev, NULL, NULL);
        sock_tune(bev);
        c->cb(c, bev, NULL, c->data);
        return;
    }
    if (c->refused_now)
        err = ECONNREFUSED;
    bconn_note(c, c->idx - 1, (what & BEV_EVENT_TIMEOUT) ? ETIMEDOUT : err);
    c->bev = NULL;
    bufferevent_free(bev);
    if (bconn_next(c) == 0)
        return;
    bconn_fail(c);
}

static void bconn_defer_cb(evutil_socket_t fd, short what, void *arg)
{
    bconn_fail(arg);
}

static void bconn_dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
    struct bconn *c = arg;

    if (result == EVUTIL_EAI_CANCEL)
        return; /* bconn_free is running */
    c->req = NULL;
    if (result != 0) {
        snprintf(c->err, sizeof(c->err), "cannot resolve: %s", evutil_gai_strerror(result));
    } else {
        addrs_add_ai(&c->addrs, res);
    }
    if (res)
        evutil_freeaddrinfo(res);
    if (c->starting)
        return; /* np_bridge's start code continues */
    if (c->addrs.n > 0 && bconn_next(c) == 0)
        return;
    bconn_fail(c);
}

/* Connect to host:port, trying each address in order. Never calls cb before
 * returning; cb gets the connected bufferevent (owned by the callee) or NULL
 * and a detail text. */
static int bconn_start(struct np_bridge *b, const char *what, const char *host, int port,
                       bconn_fn cb, void *data, struct bconn **out)
{
    struct bconn *c = NULL;
    int r = NP_ERR_INTERNAL;

    *out = NULL;
    if ((c = np_calloc(1, sizeof(*c))) == NULL)
        return NP_ERR_NOMEM;
    c->b = b;
    c->what = what;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    c->cb = cb;
    c->data = data;
    if ((c->defer = event_new(b->base, -1, 0, bconn_defer_cb, c)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if (addrs_static(host, port, &c->addrs) == NP_AGAIN) {
        if (b->dns) {
            struct evutil_addrinfo hints;
            char portstr[16];

            memset(&hints, 0, sizeof(hints));
            hints.ai_family = AF_UNSPEC;
            hints.ai_socktype = SOCK_STREAM;
            hints.ai_protocol = IPPROTO_TCP;
            hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
            snprintf(portstr, sizeof(portstr), "%d", port);
            c->starting = 1;
            c->req = evdns_getaddrinfo(b->dns, host, portstr, &hints, bconn_dns_cb, c);
            c->starting = 0;
            if (c->req) { /* answer comes later */
                *out = c;
                return 0;
            }
        } else if (addrs_lookup(host, port, 0, &c->addrs) != 0) {
            snprintf(c->err, sizeof(c->err), "cannot resolve the name");
        }
    }
    if (c->addrs.n == 0 || bconn_next(c) != 0)
        event_active(c->defer, EV_TIMEOUT, 1);
    *out = c;
    c = NULL;
    r = 0;
out:
    bconn_free(c);
    return r;
}

/* ------------------------------------------------ relay socket + preamble */

struct np_rconn {
    struct np_bridge *b;
    int tries_left, state;
    struct bconn *conn;
    struct bufferevent *bev;
    struct event *timer; /* attempt deadline, or the pause before a retry */
    np_rconn_fn cb;
    void *data;
};

void np_bridge__rconn_free(struct np_rconn *rc)
{
    if (!rc)
        return;
    bconn_free(rc->conn);
    if (rc->bev)
        bufferevent_free(rc->bev);
    if (rc->timer)
        event_free(rc->timer);
    np_free(rc);
}

static void rc_connected(struct bconn *c, struct bufferevent *bev, const char *detail, void *arg);

static int rc_attempt(struct np_rconn *rc)
{
    struct timeval tv = ms_tv(NP_BRIDGE_SETUP_MS);
    int r;

    rc->state = RC_CONNECTING;
    r = bconn_start(rc->b, "relay", rc->b->relay_host, rc->b->relay_port, rc_connected, rc,
                    &rc->conn);
    if (r == 0)
        evtimer_add(rc->timer, &tv);
    return r;
}

/* This attempt failed: retry after a pause, or report. */
static void rc_failed(struct np_rconn *rc, int reason, const char *detail)
{
    struct timeval tv = ms_tv(rc->b->relay_retry_ms);

    bconn_free(rc->conn);
    rc->conn = NULL;
    if (rc->bev) {
        bufferevent_free(rc->bev);
        rc->bev = NULL;
    }
    evtimer_del(rc->timer);
    if (--rc->tries_left > 0) {
        np_warn("bridge: %s; retrying in %d ms (%d more tries)", detail, rc->b->relay_retry_ms,
                rc->tries_left);
        rc->state = RC_RETRY_WAIT;
        evtimer_add(rc->timer, &tv);
        return;
    }
    rc->state = RC_DONE;
    rc->cb(rc, NULL, reason, detail, rc->data);
}

static void rc_ready(struct np_rconn *rc)
{
    struct bufferevent *bev = rc->bev;

    evtimer_del(rc->timer);
    rc->bev = NULL;
    rc->state = RC_DONE;
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    bufferevent_disable(bev, EV_READ);
    bufferevent_setwatermark(bev, EV_READ | EV_WRITE, 0, 0);
    rc->cb(rc, bev, 0, NULL, rc->data);
}

static void rc_fail_auth(struct np_rconn *rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void rc_fail_auth(struct np_rconn *rc, const char *fmt, ...)
{
    char msg[200], detail[NP_BRIDGE_DETAIL_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(detail, sizeof(detail), "relay %s:%d: authentication: %s", rc->b->relay_host,
             rc->b->relay_port, msg);
    rc_failed(rc, NP_BRIDGE_RELAY_AUTH_FAILED, detail);
}

static void rc_read_cb(struct bufferevent *bev, void *arg)
{
    struct np_rconn *rc = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (rc->state == RC_CHALLENGE || rc->state == RC_OK) {
        char line[NP_BRIDGE_PREAMBLE_MAX + 1], esc[80];
        struct evbuffer_ptr eol;
        size_t n;

        eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
        if (eol.pos < 0) {
            if (evbuffer_get_length(in) >= NP_BRIDGE_PREAMBLE_MAX)
                rc_fail_auth(rc, "line over %d bytes", NP_BRIDGE_PREAMBLE_MAX);
            return;
        }
        if ((size_t)eol.pos >= NP_BRIDGE_PREAMBLE_MAX) {
            rc_fail_auth(rc, "line over %d bytes", NP_BRIDGE_PREAMBLE_MAX);
            return;
        }
        n = (size_t)eol.pos;
        evbuffer_remove(in, line, n);
        evbuffer_drain(in, 1);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        line[n] = '\0';
        if (rc->state == RC_CHALLENGE) {
            char *resp = NULL;
            int r = rc->b->escr(line, n, &resp, rc->b->escr_data);

            if (r != 0 || !resp) {
                np_freezero_str(resp);
                rc_fail_auth(rc, "cannot answer the challenge: %s",
                             np_strerror(r ? r : NP_ERR_INTERNAL));
                return;
            }
            size_t rl = strlen(resp);
            int add_nl = rl == 0 || resp[rl - 1] != '\n';

            r = bufferevent_write(bev, resp, rl);
            np_freezero_str(resp);
            if (r != 0 || (add_nl && bufferevent_write(bev, "\n", 1) != 0)) {
                rc_fail_auth(rc, "cannot send the response");
                return;
            }
            rc->state = RC_OK;
            continue;
        }
        if (strcmp(line, "ok") == 0) {
            rc_ready(rc); /* bytes after "ok\n" stay in the input: they are data */
            return;
        }
        rc_fail_auth(rc, "relay answered \"%s\"", np_log_escape(esc, sizeof(esc), line, n));
        return;
    }
}

static void rc_write_cb(struct bufferevent *bev, void *arg)
{
    struct np_rconn *rc = arg;

    if (rc->state == RC_FLUSH && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        rc_ready(rc); /* the auth line is in the kernel: the relay sees it first */
}

static void rc_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct np_rconn *rc = arg;
    int err = EVUTIL_SOCKET_ERROR();

    if (what & BEV_EVENT_EOF)
        rc_fail_auth(rc, "relay closed the connection");
    else
        rc_fail_auth(rc, "%s", strerror(err));
}

static void rc_connected(struct bconn *c, struct bufferevent *bev, const char *detail, void *arg)
{
    struct np_rconn *rc = arg;
    struct np_bridge *b = rc->b;

    bconn_free(c);
    rc->conn = NULL;
    if (!bev) {
        rc_failed(rc, NP_BRIDGE_RELAY_CONNECT_FAILED, detail);
        return;
    }
    rc->bev = bev;
    /* a relay whose host vanished without a FIN must not hold the session */
    if (bufferevent_getfd(bev) >= 0)
        net_tcp_set_dead_peer_detection(bufferevent_getfd(bev));
    switch (b->auth) {
    case NP_BRIDGE_AUTH_LINE:
        rc->state = RC_FLUSH;
        bufferevent_setcb(bev, NULL, rc_write_cb, rc_event_cb, rc);
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        bufferevent_setwatermark(bev, EV_READ, 0, NP_BRIDGE_PREAMBLE_MAX);
        if (bufferevent_write(bev, b->auth_line, b->auth_line_len) != 0) {
            rc_fail_auth(rc, "cannot send the auth line");
            return;
        }
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        break;
    case NP_BRIDGE_AUTH_ESCR:
        rc->state = RC_CHALLENGE;
        bufferevent_setcb(bev, rc_read_cb, NULL, rc_event_cb, rc);
        bufferevent_setwatermark(bev, EV_READ, 0, NP_BRIDGE_PREAMBLE_MAX);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        break;
    default:
        rc_ready(rc);
        break;
    }
}

static void rc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_rconn *rc = arg;
    char detail[NP_BRIDGE_DETAIL_MAX];

    if (rc->state == RC_RETRY_WAIT) {
        if (rc_attempt(rc) != 0) {
            rc->state = RC_DONE;
            rc->cb(rc, NULL, NP_BRIDGE_INTERNAL_ERROR, "relay: out of memory", rc->data);
        }
        return;
    }
    if (rc->state == RC_CONNECTING) {
        snprintf(detail, sizeof(detail), "relay %s:%d: connect: no connection within %d ms",
                 rc->b->relay_host, rc->b->relay_port, NP_BRIDGE_SETUP_MS);
        rc_failed(rc, NP_BRIDGE_RELAY_CONNECT_FAILED, detail);
        return;
    }
    rc_fail_auth(rc, "not done within %d ms", NP_BRIDGE_SETUP_MS);
}

int np_bridge__rconn_start(struct np_bridge *b, int tries, np_rconn_fn cb, void *data,
                           struct np_rconn **out)
{
    struct np_rconn *rc = NULL;
    int r = NP_ERR_INTERNAL;

    *out = NULL;
    if ((rc = np_calloc(1, sizeof(*rc))) == NULL)
        return NP_ERR_NOMEM;
    rc->b = b;
    rc->tries_left = tries > 0 ? tries : 1;
    rc->cb = cb;
    rc->data = data;
    if ((rc->timer = evtimer_new(b->base, rc_timer_cb, rc)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = rc_attempt(rc)) != 0)
        goto out;
    *out = rc;
    rc = NULL;
    r = 0;
out:
    np_bridge__rconn_free(rc);
    return r;
}

/* ------------------------------------------------------- connection pair */

struct np_bpair {
    struct np_bridge *b;
    struct np_bpair *prev, *next; /* b->pairs */
    struct np_bpair *q_next;      /* b->q_head queue */
    unsigned id;
    int queued, active;
    int lstate, rstate; /* ST_* of each side's setup */
    struct bufferevent *local, *relay;
    struct bconn *lconn;            /* daemon: local connect in progress */
    struct np_rconn *rc;            /* relay socket in progress */
    struct np_aes_ctr *enc, *dec;   /* local->relay, relay->local; NULL = plaintext */
    struct np_bridge_keys keys;     /* until announced (multi client) */
    int eof_local, eof_relay;       /* that socket's read side ended */
    int shut_local, shut_relay;     /* that socket's write side is shut down */
    int paused_local, paused_relay; /* that socket stopped reading (back-pressure) */
    int reason;                     /* first failure or first end */
    char detail[NP_BRIDGE_DETAIL_MAX];
};

static void bridge_pair_gone(struct np_bridge *b, int reason, const char *detail);

static void pair_free(struct np_bpair *p)
{
    if (!p)
        return;
    bconn_free(p->lconn);
    np_bridge__rconn_free(p->rc);
    if (p->local)
        bufferevent_free(p->local);
    if (p->relay)
        bufferevent_free(p->relay);
    np_aes_ctr_free(p->enc);
    np_aes_ctr_free(p->dec);
    np_memzero(&p->keys, sizeof(p->keys));
    np_free(p);
}

static void queue_remove(struct np_bridge *b, struct np_bpair *p)
{
    struct np_bpair **pp = &b->q_head, *prev = NULL;

    for (; *pp; prev = *pp, pp = &(*pp)->q_next) {
        if (*pp == p) {
            *pp = p->q_next;
            if (b->q_tail == p)
                b->q_tail = prev;
            break;
        }
    }
    p->q_next = NULL;
    p->queued = 0;
}

static void pair_unlink(struct np_bpair *p)
{
    struct np_bridge *b = p->b;

    if (p->queued)
        queue_remove(b, p);
    if (p->prev)
        p->prev->next = p->next;
    else
        b->pairs = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    b->npairs--;
    b->st.live = b->npairs;
}

/* Close and free p, then apply the lifetime rule. p is gone afterwards. */
static void pair_close(struct np_bpair *p, int reason, const char *detail)
{
    struct np_bridge *b = p->b;
    char d[NP_BRIDGE_DETAIL_MAX];

    snprintf(d, sizeof(d), "%s", detail ? detail : "");
    np_debug("bridge: connection %u ended: %s", p->id, d);
    pair_unlink(p);
    pair_free(p);
    bridge_pair_gone(b, reason, d);
}

static void pair_set_reason(struct np_bpair *p, int reason, const char *detail)
{
    if (p->reason)
        return;
    p->reason = reason;
    snprintf(p->detail, sizeof(p->detail), "%s", detail);
}

int np_bridge__crypt_evbuffer(struct np_aes_ctr *c, struct evbuffer *buf, size_t n)
{
    struct evbuffer_ptr pos;
    size_t done = 0;

    if (evbuffer_ptr_set(buf, &pos, 0, EVBUFFER_PTR_SET) != 0)
        return NP_ERR_INTERNAL;
    while (done < n) {
        struct evbuffer_iovec v[16];
        int k = evbuffer_peek(buf, (ev_ssize_t)(n - done), &pos, v, 16);
        size_t step = 0;

        if (k <= 0)
            return NP_ERR_INTERNAL;
        if (k > 16)
            k = 16;
        for (int i = 0; i < k && done + step < n; i++) {
            size_t len = v[i].iov_len;
            if (len > n - done - step)
                len = n - done - step;
            if (np_aes_ctr_apply(c, v[i].iov_base, len) != 0)
                return NP_ERR_CRYPTO;
            step += len;
        }
        done += step;
        if (done < n && evbuffer_ptr_set(buf, &pos, step, EVBUFFER_PTR_ADD) != 0)
            return NP_ERR_INTERNAL;
    }
    return 0;
}

/* Move what src has read to dst, transformed. Returns -1 if p was closed. */
static int pump(struct np_bpair *p, int from_local)
{
    struct bufferevent *src = from_local ? p->local : p->relay;
    struct bufferevent *dst = from_local ? p->relay : p->local;
    struct np_aes_ctr *c = from_local ? p->enc : p->dec;
    struct evbuffer *in = bufferevent_get_input(src);
    struct evbuffer *out = bufferevent_get_output(dst);
    size_t n = evbuffer_get_length(in);

    if (n == 0)
        return 0;
    if (c && np_bridge__crypt_evbuffer(c, in, n) != 0) {
        pair_close(p, NP_BRIDGE_INTERNAL_ERROR, "stream cipher failed");
        return -1;
    }
    if (evbuffer_add_buffer(out, in) != 0) {
        pair_close(p, NP_BRIDGE_INTERNAL_ERROR, "out of memory");
        return -1;
    }
    if (from_local)
        p->b->st.bytes_to_relay += n;
    else
        p->b->st.bytes_from_relay += n;
    if (evbuffer_get_length(out) > p->b->st.queued_max)
        p->b->st.queued_max = evbuffer_get_length(out);
    if (evbuffer_get_length(out) >= NP_BRIDGE_HWM) {
        /* Slow destination: stop reading the source until dst drains to half. */
        bufferevent_disable(src, EV_READ);
        *(from_local ? &p->paused_local : &p->paused_relay) = 1;
        bufferevent_setwatermark(dst, EV_WRITE, NP_BRIDGE_HWM / 2, 0);
    }
    return 0;
}

static void pair_read_cb(struct bufferevent *bev, void *arg)
{
    struct np_bpair *p = arg;

    (void)pump(p, bev == p->local);
}

/* Shut down dst's write side once everything queued for it is written. */
static int pair_flush_shut(struct np_bpair *p, int dst_local)
{
    struct bufferevent *dst = dst_local ? p->local : p->relay;
    int *shut = dst_local ? &p->shut_local : &p->shut_relay;

    if (*shut || evbuffer_get_length(bufferevent_get_output(dst)) > 0)
        return 0;
    (void)shutdown(bufferevent_getfd(dst), SHUT_WR);
    *shut = 1;
    if (p->eof_local && p->eof_relay && p->shut_local && p->shut_relay) {
        pair_close(p, p->reason, p->detail);
        return -1;
    }
    return 0;
}

static void pair_write_cb(struct bufferevent *dst, void *arg)
{
    struct np_bpair *p = arg;
    int dst_local = dst == p->local;
    struct bufferevent *src = dst_local ? p->relay : p->local;
    int *paused = dst_local ? &p->paused_relay : &p->paused_local;
    int src_eof = dst_local ? p->eof_relay : p->eof_local;

    if (*paused) {
        *paused = 0;
        bufferevent_setwatermark(dst, EV_WRITE, 0, 0);
        if (!src_eof)
            bufferevent_enable(src, EV_READ);
    }
    if (src_eof)
        (void)pair_flush_shut(p, dst_local);
}

/* The relay socket failed with ETIMEDOUT: the relay's host answered neither
 * data nor keep-alive probes (net_tcp_set_dead_peer_detection), e.g. it
 * vanished without a FIN. Say so, with its address, rather than a bare
 * "Connection timed out". */
void np_bridge__relay_silent_detail(const struct np_bridge *b, char *dst, size_t size)
{
    int secs = net_tcp_dead_peer_timeout_s();

    if (secs > 0)
        snprintf(dst, size,
                 "relay connection lost: no answer from %s:%d for %d s (relay host gone or "
                 "unreachable?)",
                 b->relay_host, b->relay_port, secs);
    else
        snprintf(dst, size,
                 "relay connection lost: no answer from %s:%d (timed out; relay host gone or "
                 "unreachable?)",
                 b->relay_host, b->relay_port);
}

static void pair_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct np_bpair *p = arg;
    int from_local = bev == p->local;
    int err = EVUTIL_SOCKET_ERROR(); /* before anything else can change errno */
    char detail[NP_BRIDGE_DETAIL_MAX];

    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
        *(from_local ? &p->eof_local : &p->eof_relay) = 1;
        pair_set_reason(p, from_local ? NP_BRIDGE_LOCAL_CLOSED : NP_BRIDGE_RELAY_CLOSED,
                        from_local ? "local side closed the connection"
                                   : "relay closed the connection");
        /* Half-close: pass the EOF on once the other side has everything. */
        *(from_local ? &p->paused_local : &p->paused_relay) = 0;
        bufferevent_setwatermark(from_local ? p->relay : p->local, EV_WRITE, 0, 0);
        /* From now on the pair is winding down, and the idle timeout
         * applies (8.1): if the other side takes nothing or sends nothing
         * for timeout_ms, it is gone (a stopped or vanished peer would
         * otherwise hold the pair, and with it the bridge, forever). */
        {
            struct timeval tv = ms_tv(p->b->timeout_ms);
            bufferevent_set_timeouts(from_local ? p->relay : p->local, &tv, &tv);
            bufferevent_set_timeouts(bev, NULL, &tv);
        }
        (void)pair_flush_shut(p, !from_local);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) /* only armed by the half-close above */
        np_info("bridge: connection %u: no progress on the %s side for %d ms after the %s side "
                "closed; closing it",
                p->id, from_local ? "local" : "relay", p->b->timeout_ms,
                p->eof_local ? "local" : "relay");
    if ((what & BEV_EVENT_ERROR) && !from_local && err == ETIMEDOUT)
        np_bridge__relay_silent_detail(p->b, detail, sizeof(detail));
    else
        snprintf(detail, sizeof(detail), "%s connection: %s", from_local ? "local" : "relay",
                 (what & BEV_EVENT_ERROR) ? strerror(err) : "timeout");
    pair_set_reason(p, from_local ? NP_BRIDGE_LOCAL_CLOSED : NP_BRIDGE_RELAY_CLOSED, detail);
    pair_close(p, p->reason, p->detail);
}

static void pair_activate(struct np_bpair *p)
{
    struct bufferevent *both[2] = {p->local, p->relay};

    p->active = 1;
    for (int i = 0; i < 2; i++) {
        bufferevent_setcb(both[i], pair_read_cb, pair_write_cb, pair_event_cb, p);
        bufferevent_setwatermark(both[i], EV_READ, 0, NP_BRIDGE_HWM);
        bufferevent_setwatermark(both[i], EV_WRITE, 0, 0);
        bufferevent_enable(both[i], EV_READ | EV_WRITE);
    }
    np_debug("bridge: connection %u bridged", p->id);
    /* Bytes that followed the relay's "ok" are already in its input. */
    (void)pump(p, 0);
}

/* Both sides settled: bridge them, or close the pair (order was kept: the
 * relay socket was opened in turn even if the local side failed). */
static void pair_check(struct np_bpair *p)
{
    if (p->lstate == ST_PENDING || p->rstate == ST_WAIT || p->rstate == ST_PENDING)
        return;
    if (p->lstate == ST_READY && p->rstate == ST_READY) {
        pair_activate(p);
        return;
    }
    pair_close(p, p->reason, p->detail);
}

static void pair_local_cb(struct bconn *c, struct bufferevent *bev, const char *detail, void *arg)
{
    struct np_bpair *p = arg;

    bconn_free(c);
    p->lconn = NULL;
    if (bev) {
        p->local = bev;
        p->lstate = ST_READY;
    } else {
        np_warn("bridge: connection %u: %s", p->id, detail);
        pair_set_reason(p, NP_BRIDGE_LOCAL_CONNECT_FAILED, detail);
        p->lstate = ST_FAILED;
    }
    pair_check(p);
}

static void pair_relay_cb(struct np_rconn *rc, struct bufferevent *bev, int reason,
                          const char *detail, void *arg)
{
    struct np_bpair *p = arg;
    struct np_bridge *b = p->b;

    np_bridge__rconn_free(rc);
    p->rc = NULL;
    b->relay_busy = 0;
    if (bev) {
        p->relay = bev;
        p->rstate = ST_READY;
    } else {
        np_warn("bridge: connection %u: %s", p->id, detail);
        pair_set_reason(p, reason, detail);
        p->rstate = ST_FAILED;
    }
    pair_check(p); /* may free p, and may finish b (b stays allocated) */
    np_bridge__queue_kick(b);
}

int np_bridge__pair_add(struct np_bridge *b, evutil_socket_t fd, const struct np_bridge_keys *k,
                        const char *refuse)
{
    struct np_bpair *p = NULL;
    int r = NP_ERR_INTERNAL;
    int client = b->side == NP_BRIDGE_CLIENT;

    if ((p = np_calloc(1, sizeof(*p))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    p->b = b;
    p->id = ++b->pair_seq;
    p->keys = *k;
    if (k->mode != NP_BRIDGE_PLAIN) {
        const unsigned char *ek = client ? k->c2d_key : k->d2c_key;
        const unsigned char *ei = client ? k->c2d_iv : k->d2c_iv;
        const unsigned char *dk = client ? k->d2c_key : k->c2d_key;
        const unsigned char *di = client ? k->d2c_iv : k->c2d_iv;

        if ((r = np_aes_ctr_new(ek, ei, &p->enc)) != 0 ||
            (r = np_aes_ctr_new(dk, di, &p->dec)) != 0)
            goto out;
    }
    if (fd >= 0) {
        if ((p->local = bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
            r = NP_ERR_NOMEM;
            goto out;
        }
        fd = -1;
        sock_tune(p->local);
        p->lstate = ST_READY;
    } else if (refuse) {
        pair_set_reason(p, NP_BRIDGE_LOCAL_CONNECT_FAILED, refuse);
        p->lstate = ST_FAILED;
    } else {
        if ((r = bconn_start(b, "local", b->local_host, b->local_port, pair_local_cb, p,
                             &p->lconn)) != 0)
            goto out;
        p->lstate = ST_PENDING;
    }
    /* Link, count, queue for the relay socket. */
    p->next = b->pairs;
    if (b->pairs)
        b->pairs->prev = p;
    b->pairs = p;
    b->npairs++;
    b->st.live = b->npairs;
    b->st.connections++;
    p->queued = 1;
    if (b->q_tail)
        b->q_tail->q_next = p;
    else
        b->q_head = p;
    b->q_tail = p;
    p = NULL;
    r = 0;
out:
    if (fd >= 0)
        evutil_closesocket(fd);
    pair_free(p);
    if (r == 0)
        np_bridge__queue_kick(b);
    return r;
}

void np_bridge__queue_kick(struct np_bridge *b)
{
    while (!b->finished && !b->relay_busy && b->q_head) {
        struct np_bpair *p = b->q_head;
        int tries =
            b->relay_tries > 0 ? b->relay_tries : (b->multi && b->side == NP_BRIDGE_DAEMON ? 4 : 1);
        int r;

        if (b->multi && !b->ctl)
            return; /* the control connection pairs first */
        queue_remove(b, p);
        if (b->multi && b->side == NP_BRIDGE_CLIENT &&
            (r = np_bridge__mux_commit(b, &p->keys)) != 0) {
            pair_close(p, NP_BRIDGE_INTERNAL_ERROR, "cannot send the connect message");
            continue;
        }
        np_memzero(&p->keys, sizeof(p->keys));
        if ((r = np_bridge__rconn_start(b, tries, pair_relay_cb, p, &p->rc)) != 0) {
            /* Multi client: the daemon will open a socket we do not match;
             * nothing better is possible without memory. */
            pair_close(p, NP_BRIDGE_INTERNAL_ERROR, "cannot open a relay socket");
            continue;
        }
        p->rstate = ST_PENDING;
        b->relay_busy = 1;
    }
}

/* ------------------------------------------------------------- lifetime */

static void bridge_close_all(struct np_bridge *b)
{
    if (b->listener) {
        evconnlistener_free(b->listener);
        b->listener = NULL;
    }
    if (b->relisten)
        event_del(b->relisten);
    if (b->timer)
        event_del(b->timer);
    while (b->pairs) {
        struct np_bpair *p = b->pairs;
        pair_unlink(p);
        pair_free(p);
    }
    b->q_head = b->q_tail = NULL;
    b->relay_busy = 0;
    np_bridge__mux_close(b);
}

void np_bridge__finish(struct np_bridge *b, int reason, const char *fmt, ...)
{
    va_list ap;

    if (b->finished)
        return;
    b->finished = 1;
    b->reason = reason;
    b->st.live_at_end = b->npairs;
    {
        /* Early: well before the timeout. The peer's timer (same timeout)
         * may run a little ahead of ours (it started first), hence the
         * margin of half the timeout, at most 5 s. */
        int64_t margin = b->timeout_ms / 2 < 5000 ? b->timeout_ms / 2 : 5000;
        b->st.ended_early =
            !b->timer_fired && np_mono_ms() - b->started_ms < b->timeout_ms - margin;
    }
    va_start(ap, fmt);
    vsnprintf(b->detail, sizeof(b->detail), fmt, ap);
    va_end(ap);
    bridge_close_all(b);
    event_active(b->done_ev, EV_TIMEOUT, 1);
}

static void bridge_pair_gone(struct np_bridge *b, int reason, const char *detail)
{
    if (b->finished)
        return;
    if (!b->multi) { /* the one connection is over: nothing more can happen */
        np_bridge__finish(b, reason, "%s", detail);
        return;
    }
    if (b->timer_fired && b->npairs == 0)
        np_bridge__finish(b, reason, "last connection ended: %s", detail);
}

static void bridge_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_bridge *b = arg;

    b->timer_fired = 1;
    if (b->npairs == 0 && b->st.connections == 0)
        np_bridge__finish(b, NP_BRIDGE_TIMEOUT, "no connection within %d ms", b->timeout_ms);
    else if (b->npairs == 0)
        np_bridge__finish(b, NP_BRIDGE_TIMEOUT, "no connection left after %d ms", b->timeout_ms);
}

static void bridge_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_bridge *b = arg;

    np_info("bridge: ended (%s): %s", np_bridge_reason_str(b->reason), b->detail);
    b->on_done(b, b->reason, b->detail, b->data); /* may free b: nothing after this */
}

/* -------------------------------------------------------- client listener */

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    struct np_bridge *b = arg;
    struct np_bridge_keys k;
    int r;

    if (b->finished) {
        evutil_closesocket(fd);
        return;
    }
    if (!b->multi) { /* one connection only: stop listening now */
        evconnlistener_free(b->listener);
        b->listener = NULL;
        k = b->keys;
    } else if (b->npairs >= NP_BRIDGE_MAX_PAIRS) {
        np_warn("bridge: %u connections open; refusing another", b->npairs);
        evutil_closesocket(fd);
        return;
    } else if ((r = np_bridge_keys_random(&k, b->keys.mode)) != 0) {
        np_log_r(NP_LOG_WARN, r, "bridge: cannot make connection keys");
        evutil_closesocket(fd);
        return;
    }
    r = np_bridge__pair_add(b, fd, &k, NULL);
    np_memzero(&k, sizeof(k));
    if (r != 0) {
        np_log_r(NP_LOG_WARN, r, "bridge: cannot bridge an accepted connection");
        if (!b->multi)
            np_bridge__finish(b, NP_BRIDGE_INTERNAL_ERROR, "cannot bridge the connection: %s",
                              np_strerror(r));
    }
}

static void relisten_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_bridge *b = arg;

    if (b->listener)
        evconnlistener_enable(b->listener);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct np_bridge *b = arg;
    struct timeval tv = ms_tv(1000);
    int err = EVUTIL_SOCKET_ERROR();

    /* E.g. EMFILE: pause instead of spinning on a ready listener. */
    np_warn("bridge: accept on %s:%d: %s", b->local_host, b->local_port, strerror(err));
    evconnlistener_disable(l);
    evtimer_add(b->relisten, &tv);
}

static int bridge_listen(struct np_bridge *b)
{
    struct addrlist l;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char a[INET6_ADDRSTRLEN];
    int r;

    if (addrs_static(b->local_host, b->local_port, &l) == NP_AGAIN &&
        (r = addrs_lookup(b->local_host, b->local_port, 1, &l)) != 0)
        return NP_ERR_FORMAT;
    if (l.n == 0)
        return NP_ERR_FORMAT;
    addr_str(&l.a[0], a, sizeof(a));
    if (strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0)
        np_warn("bridge: listening on all interfaces (%s): anyone who can reach this host can "
                "use the tunnel",
                a);
    b->listener = evconnlistener_new_bind(
        b->base, accept_cb, b, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
        16, (struct sockaddr *)&l.a[0], (int)l.len[0]);
    if (!b->listener) {
        int err = errno;
        np_error("bridge: cannot listen on %s:%d: %s", a, b->local_port, strerror(err));
        return err == EADDRINUSE ? NP_ERR_EXISTS : NP_ERR_IO;
    }
    evconnlistener_set_error_cb(b->listener, accept_error_cb);
    if (getsockname(evconnlistener_get_fd(b->listener), (struct sockaddr *)&ss, &sl) != 0)
        return NP_ERR_IO;
    b->local_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    np_debug("bridge: listening on %s:%d", a, b->local_port);
    return 0;
}

/* ------------------------------------------------------------- public API */

void np_bridge_config_init(struct np_bridge_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->side = NP_BRIDGE_CLIENT;
    cfg->timeout_ms = 30000;
    cfg->keys.mode = NP_BRIDGE_PLAIN;
    cfg->auth = NP_BRIDGE_AUTH_NONE;
}

int np_bridge_keys_from_b64(struct np_bridge_keys *k, const char *key, const char *iv,
                            const char *d2c_key, const char *d2c_iv)
{
    int r;

    if (!k)
        return NP_ERR_INVAL;
    memset(k, 0, sizeof(*k));
    if (!key || !iv || (!d2c_key) != (!d2c_iv))
        return NP_ERR_INVAL;
    if ((r = np_b64_decode_exact(key, k->c2d_key, NP_AES_KEY_LEN)) != 0 ||
        (r = np_b64_decode_exact(iv, k->c2d_iv, NP_AES_IV_LEN)) != 0)
        goto out;
    if (d2c_key) {
        if ((r = np_b64_decode_exact(d2c_key, k->d2c_key, NP_AES_KEY_LEN)) != 0 ||
            (r = np_b64_decode_exact(d2c_iv, k->d2c_iv, NP_AES_IV_LEN)) != 0)
            goto out;
        k->mode = NP_BRIDGE_TWIN_KEYS;
    } else {
        memcpy(k->d2c_key, k->c2d_key, NP_AES_KEY_LEN);
        memcpy(k->d2c_iv, k->c2d_iv, NP_AES_IV_LEN);
        k->mode = NP_BRIDGE_SINGLE_KEY;
    }
    r = 0;
out:
    if (r != 0) {
        np_memzero(k, sizeof(*k));
        r = r == NP_ERR_INVAL ? r : NP_ERR_FORMAT;
    }
    return r;
}

int np_bridge_keys_random(struct np_bridge_keys *k, int mode)
{
    int r;

    if (!k)
        return NP_ERR_INVAL;
    memset(k, 0, sizeof(*k));
    switch (mode) {
    case NP_BRIDGE_PLAIN:
        return 0;
    case NP_BRIDGE_SINGLE_KEY:
        if ((r = np_random_bytes(k->c2d_key, NP_AES_KEY_LEN)) != 0 ||
            (r = np_random_bytes(k->c2d_iv, NP_AES_IV_LEN)) != 0)
            break;
        memcpy(k->d2c_key, k->c2d_key, NP_AES_KEY_LEN);
        memcpy(k->d2c_iv, k->c2d_iv, NP_AES_IV_LEN);
        k->mode = mode;
        return 0;
    case NP_BRIDGE_TWIN_KEYS:
        if ((r = np_random_bytes(k->c2d_key, NP_AES_KEY_LEN)) != 0 ||
            (r = np_random_bytes(k->c2d_iv, NP_AES_IV_LEN)) != 0 ||
            (r = np_random_bytes(k->d2c_key, NP_AES_KEY_LEN)) != 0 ||
            (r = np_random_bytes(k->d2c_iv, NP_AES_IV_LEN)) != 0)
            break;
        k->mode = mode;
        return 0;
    default:
        return NP_ERR_INVAL;
    }
    np_memzero(k, sizeof(*k));
    return r;
}

static int config_check(const struct event_base *base, const struct np_bridge_config *c)
{
    int client = c->side == NP_BRIDGE_CLIENT;

    if (!base || (c->side != NP_BRIDGE_CLIENT && c->side != NP_BRIDGE_DAEMON) || !c->on_done)
        return NP_ERR_INVAL;
    if (!c->relay_host || !c->relay_host[0] || strlen(c->relay_host) > NP_HOST_MAX ||
        c->relay_port < 1 || c->relay_port > 65535)
        return NP_ERR_INVAL;
    if ((c->local_host && (!c->local_host[0] || strlen(c->local_host) > NP_HOST_MAX)) ||
        c->local_port < (client ? 0 : 1) || c->local_port > 65535)
        return NP_ERR_INVAL;
    if (c->timeout_ms <= 0 || c->heartbeat_ms < 0 || c->relay_tries < 0 || c->relay_tries > 100 ||
        c->relay_retry_ms < 0)
        return NP_ERR_INVAL;
    if (c->keys.mode != NP_BRIDGE_PLAIN && c->keys.mode != NP_BRIDGE_SINGLE_KEY &&
        c->keys.mode != NP_BRIDGE_TWIN_KEYS)
        return NP_ERR_INVAL;
    switch (c->auth) {
    case NP_BRIDGE_AUTH_NONE:
        return 0;
    case NP_BRIDGE_AUTH_LINE:
        return c->auth_line && c->auth_line_len > 0 && c->auth_line_len <= NP_BRIDGE_PREAMBLE_MAX
                   ? 0
                   : NP_ERR_INVAL;
    case NP_BRIDGE_AUTH_ESCR:
        return c->escr ? 0 : NP_ERR_INVAL;
    default:
        return NP_ERR_INVAL;
    }
}

int np_bridge_new(struct event_base *base, const struct np_bridge_config *cfg,
                  struct np_bridge **out)
{
    struct np_bridge *b = NULL;
    struct timeval tv;
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!cfg || (r = config_check(base, cfg)) != 0)
        return NP_ERR_INVAL;
    if ((b = np_calloc(1, sizeof(*b))) == NULL)
        return NP_ERR_NOMEM;
    b->base = base;
    b->dns = cfg->dns;
    b->side = cfg->side;
    b->multi = cfg->multi ? 1 : 0;
    b->timeout_ms = cfg->timeout_ms;
    b->auth = cfg->auth;
    b->heartbeat_ms = cfg->heartbeat_ms;
    b->relay_tries = cfg->relay_tries;
    b->relay_retry_ms = cfg->relay_retry_ms > 0 ? cfg->relay_retry_ms : 1000;
    snprintf(b->relay_host, sizeof(b->relay_host), "%s", cfg->relay_host);
    b->relay_port = cfg->relay_port;
    snprintf(b->local_host, sizeof(b->local_host), "%s",
             cfg->local_host ? cfg->local_host
                             : (cfg->side == NP_BRIDGE_CLIENT ? "127.0.0.1" : "localhost"));
    b->local_port = cfg->local_port;
    b->keys = cfg->keys;
    if (b->keys.mode == NP_BRIDGE_SINGLE_KEY) {
        memcpy(b->keys.d2c_key, b->keys.c2d_key, NP_AES_KEY_LEN);
        memcpy(b->keys.d2c_iv, b->keys.c2d_iv, NP_AES_IV_LEN);
    }
    if (b->auth == NP_BRIDGE_AUTH_LINE) {
        const unsigned char *line = cfg->auth_line;
        int nl = line[cfg->auth_line_len - 1] != '\n';

        if ((b->auth_line = np_malloc(cfg->auth_line_len + 1)) == NULL) {
            r = NP_ERR_NOMEM;
            goto out;
        }
        memcpy(b->auth_line, line, cfg->auth_line_len);
        if (nl)
            b->auth_line[cfg->auth_line_len] = '\n';
        b->auth_line_len = cfg->auth_line_len + (size_t)nl;
    }
    b->escr = cfg->escr;
    b->escr_data = cfg->escr_data;
    b->on_done = cfg->on_done;
    b->data = cfg->data;
    if ((b->timer = evtimer_new(base, bridge_timer_cb, b)) == NULL ||
        (b->done_ev = event_new(base, -1, 0, bridge_done_cb, b)) == NULL ||
        (b->relisten = evtimer_new(base, relisten_cb, b)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if (b->side == NP_BRIDGE_CLIENT && (r = bridge_listen(b)) != 0)
        goto out;
    if (b->multi)
        r = np_bridge__mux_start(b);
    else if (b->side == NP_BRIDGE_DAEMON)
        r = np_bridge__pair_add(b, -1, &b->keys, NULL);
    if (r != 0)
        goto out;
    tv = ms_tv(b->timeout_ms);
    evtimer_add(b->timer, &tv);
    b->started_ms = np_mono_ms();
    *out = b;
    b = NULL;
    r = 0;
out:
    np_bridge_free(b);
    return r;
}

int np_bridge_local_port(const struct np_bridge *b)
{
    return b ? b->local_port : 0;
}

void np_bridge_get_stats(const struct np_bridge *b, struct np_bridge_stats *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof(*st));
    if (b)
        *st = b->st;
}

const char *np_bridge_reason_str(int reason)
{
    switch (reason) {
    case NP_BRIDGE_TIMEOUT:
        return "timeout";
    case NP_BRIDGE_LOCAL_CLOSED:
        return "local closed";
    case NP_BRIDGE_RELAY_CLOSED:
        return "relay closed";
    case NP_BRIDGE_LOCAL_CONNECT_FAILED:
        return "local connect failed";
    case NP_BRIDGE_RELAY_CONNECT_FAILED:
        return "relay connect failed";
    case NP_BRIDGE_RELAY_AUTH_FAILED:
        return "relay authentication failed";
    case NP_BRIDGE_CONTROL_CLOSED:
        return "control channel closed";
    case NP_BRIDGE_CONTROL_ERROR:
        return "control channel error";
    case NP_BRIDGE_INTERNAL_ERROR:
        return "internal error";
    default:
        return "unknown";
    }
}

void np_bridge_free(struct np_bridge *b)
{
    if (!b)
        return;
    bridge_close_all(b);
    if (b->timer)
        event_free(b->timer);
    if (b->done_ev)
        event_free(b->done_ev);
    if (b->relisten)
        event_free(b->relisten);
    if (b->auth_line)
        np_freezero(b->auth_line, b->auth_line_len);
    np_memzero(&b->keys, sizeof(b->keys));
    np_free(b);
}
