/*
 * tests/unit/np/test_bridge_harness.c - the in-process relay, echo server,
 * streaming client and raw relay socket used by the bridge tests (see
 * test_bridge_harness.h). Test code: simple, bounded, single-threaded.
 */
#include "test_bridge_harness.h"

#include "crypto/aes.h"
#include "util/alloc.h"
#include "util/buf.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

/* Sanitizer builds: libevent allocates a chain per read, so the 16 MiB round
 * trips churn through hundreds of MiB; a smaller quarantine than the 256 MiB
 * default keeps them fast (use-after-free of recently freed memory is still
 * caught). ASAN_OPTIONS from the environment still wins. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=32";
}

#define REC_MAX   (40u * 1024 * 1024)
#define RELAY_HWM (1024 * 1024)
#define MAX_SOCKS 64
#define CHUNK     (64 * 1024)

static struct evconnlistener *listen_any(struct event_base *base, evconnlistener_cb cb, void *arg,
                                         int *port)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    struct evconnlistener *l;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l = evconnlistener_new_bind(base, cb, arg,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                64, (struct sockaddr *)&sin, sizeof(sin));
    if (!l)
        return NULL;
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &sl);
    *port = ntohs(sin.sin_port);
    return l;
}

/* ------------------------------------------------------------------ relay */

enum { S_PREAUTH, S_RESPONSE, S_QUEUED, S_PAIRED, S_CLOSED };

struct tb_sock {
    struct tb_relay *r;
    char side;
    int state, closing, paused, ok_pending;
    struct bufferevent *bev;
    struct tb_sock *peer, *q_next;
    struct np_buf *rec;
    char challenge[64];
};

struct tb_relay {
    struct event_base *base;
    int auth, hold_ok_a, refuse_a, refuse_b;
    struct evconnlistener *la, *lb;
    int port_a, port_b;
    char line_a[4200], line_b[4200];
    struct tb_sock *socks_a[MAX_SOCKS], *socks_b[MAX_SOCKS];
    unsigned na, nb, pairs, auth_failures, challenges;
    struct tb_sock *qa, *qb; /* FIFO heads */
};

static void sock_close(struct tb_sock *s)
{
    if (s->bev) {
        bufferevent_free(s->bev);
        s->bev = NULL;
    }
    s->state = S_CLOSED;
}

static void q_remove(struct tb_sock **q, struct tb_sock *s)
{
    for (; *q; q = &(*q)->q_next)
        if (*q == s) {
            *q = s->q_next;
            break;
        }
    s->q_next = NULL;
}

/* Close s and, after flushing, its peer (the relay destroys both). */
static void sock_end(struct tb_sock *s)
{
    struct tb_sock *p = s->peer;

    q_remove(s->side == 'a' ? &s->r->qa : &s->r->qb, s);
    sock_close(s);
    if (p && p->bev && !p->closing) {
        p->closing = 1;
        p->peer = NULL;
        if (evbuffer_get_length(bufferevent_get_output(p->bev)) == 0)
            sock_close(p);
        else
            bufferevent_disable(p->bev, EV_READ);
    }
    s->peer = NULL;
}

static int rec_add(struct tb_sock *s, const void *d, size_t n)
{
    return np_buf_put(s->rec, d, n);
}

/* Forward what s has (paired) to its peer. */
static void forward(struct tb_sock *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    struct tb_sock *p = s->peer;
    size_t n = evbuffer_get_length(in);
    struct evbuffer *out;

    if (!p || !p->bev || n == 0)
        return;
    out = bufferevent_get_output(p->bev);
    {
        struct evbuffer_iovec v[64];
        int k = evbuffer_peek(in, (ev_ssize_t)n, NULL, v, 64);
        int rc = 0;

        if (k > 64) /* many small chains: linearize */
            rc = rec_add(s, evbuffer_pullup(in, (ev_ssize_t)n), n);
        for (int i = 0; k <= 64 && i < k && rc == 0; i++)
            rc = rec_add(s, v[i].iov_base, v[i].iov_len);
        if (rc != 0) {
            sock_end(s);
            return;
        }
    }
    if (p->ok_pending) { /* "ok\n" and the first data in one write */
        p->ok_pending = 0;
        evbuffer_add(out, "ok\n", 3);
    }
    evbuffer_add_buffer(out, in);
    if (evbuffer_get_length(out) >= RELAY_HWM) {
        bufferevent_disable(s->bev, EV_READ);
        s->paused = 1;
        bufferevent_setwatermark(p->bev, EV_WRITE, RELAY_HWM / 2, 0);
    }
}

static void try_pair(struct tb_relay *r)
{
    while (r->qa && r->qb) {
        struct tb_sock *a = r->qa, *b = r->qb;

        r->qa = a->q_next;
        r->qb = b->q_next;
        a->q_next = b->q_next = NULL;
        a->peer = b;
        b->peer = a;
        a->state = b->state = S_PAIRED;
        r->pairs++;
        forward(a);
        if (b->bev)
            forward(b);
    }
}

static void authed(struct tb_sock *s)
{
    struct tb_sock **q = s->side == 'a' ? &s->r->qa : &s->r->qb;

    s->state = S_QUEUED;
    while (*q)
        q = &(*q)->q_next;
    *q = s;
    try_pair(s->r);
}

static void relay_auth_fail(struct tb_sock *s)
{
    s->r->auth_failures++;
    sock_end(s);
}

/* Take one '\n'-terminated line (<= 4096) off the input; 1 if taken. */
static int take_line(struct tb_sock *s, char *line, size_t size)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);

    if (eol.pos < 0 || (size_t)eol.pos >= size)
        return 0;
    evbuffer_remove(in, line, (size_t)eol.pos + 1);
    rec_add(s, line, (size_t)eol.pos + 1);
    line[eol.pos] = '\0';
    return 1;
}

static void relay_read_cb(struct bufferevent *bev, void *arg)
{
    struct tb_sock *s = arg;
    struct tb_relay *r = s->r;
    static char line[4200];

    if (s->state == S_PREAUTH && r->auth == TB_AUTH_LINE) {
        const char *want = s->side == 'a' ? r->line_a : r->line_b;
        if (!take_line(s, line, sizeof(line))) {
            if (evbuffer_get_length(bufferevent_get_input(bev)) > 4096)
                relay_auth_fail(s);
            return;
        }
        if (want[0] && strcmp(line, want) != 0) {
            relay_auth_fail(s);
            return;
        }
        authed(s);
        return;
    }
    if (s->state == S_RESPONSE) {
        char want[128];
        if (!take_line(s, line, sizeof(line)))
            return;
        snprintf(want, sizeof(want), "resp:%s", s->challenge);
        int *refuse = s->side == 'a' ? &r->refuse_a : &r->refuse_b;
        if (*refuse != 0 || strcmp(line, want) != 0) {
            if (*refuse > 0)
                (*refuse)--;
            bufferevent_write(bev, "Socket auth failed\n", 19);
            r->auth_failures++;
            s->closing = 1; /* closed when flushed */
            bufferevent_disable(bev, EV_READ);
            return;
        }
        if (s->side == 'a' && r->hold_ok_a)
            s->ok_pending = 1;
        else
            bufferevent_write(bev, "ok\n", 3);
        authed(s);
        return;
    }
    if (s->state == S_PAIRED)
        forward(s);
}

static void relay_write_cb(struct bufferevent *bev, void *arg)
{
    struct tb_sock *s = arg;
    struct tb_sock *p = s->peer;

    if (s->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        sock_close(s);
        return;
    }
    if (p && p->paused && p->bev) {
        p->paused = 0;
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        bufferevent_enable(p->bev, EV_READ);
        forward(p);
    }
}

static void relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct tb_sock *s = arg;

    if (s->state == S_PAIRED && (what & BEV_EVENT_EOF))
        forward(s); /* anything read before the EOF */
    sock_end(s);
}

static void relay_accept(struct tb_relay *r, char side, evutil_socket_t fd)
{
    struct tb_sock *s = np_calloc(1, sizeof(*s));
    struct tb_sock **slot = side == 'a' ? &r->socks_a[r->na] : &r->socks_b[r->nb];

    if (!s || (side == 'a' ? r->na : r->nb) >= MAX_SOCKS) {
        np_free(s);
        close(fd);
        return;
    }
    *slot = s;
    if (side == 'a')
        r->na++;
    else
        r->nb++;
    s->r = r;
    s->side = side;
    s->rec = np_buf_new(REC_MAX);
    s->bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(s->bev, relay_read_cb, relay_write_cb, relay_event_cb, s);
    bufferevent_setwatermark(s->bev, EV_READ, 0, RELAY_HWM);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    switch (r->auth) {
    case TB_AUTH_NONE:
        authed(s);
        break;
    case TB_AUTH_LINE:
        s->state = S_PREAUTH;
        break;
    default:
        s->state = S_RESPONSE;
        snprintf(s->challenge, sizeof(s->challenge), "challenge-%c-%u", side, ++r->challenges);
        bufferevent_write(s->bev, s->challenge, strlen(s->challenge));
        bufferevent_write(s->bev, "\n", 1);
        break;
    }
}

static void accept_a(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                     void *arg)
{
    relay_accept(arg, 'a', fd);
}

static void accept_b(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                     void *arg)
{
    relay_accept(arg, 'b', fd);
}

struct tb_relay *tb_relay_new(struct event_base *base, int auth)
{
    struct tb_relay *r = np_calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->base = base;
    r->auth = auth;
    r->la = listen_any(base, accept_a, r, &r->port_a);
    r->lb = listen_any(base, accept_b, r, &r->port_b);
    if (!r->la || !r->lb) {
        tb_relay_free(r);
        return NULL;
    }
    return r;
}

void tb_relay_free(struct tb_relay *r)
{
    if (!r)
        return;
    if (r->la)
        evconnlistener_free(r->la);
    if (r->lb)
        evconnlistener_free(r->lb);
    for (unsigned i = 0; i < r->na; i++) {
        sock_close(r->socks_a[i]);
        np_buf_free(r->socks_a[i]->rec);
        np_free(r->socks_a[i]);
    }
    for (unsigned i = 0; i < r->nb; i++) {
        sock_close(r->socks_b[i]);
        np_buf_free(r->socks_b[i]->rec);
        np_free(r->socks_b[i]);
    }
    np_free(r);
}

int tb_relay_port(const struct tb_relay *r, char side)
{
    return side == 'a' ? r->port_a : r->port_b;
}

void tb_relay_expect_line(struct tb_relay *r, char side, const char *line)
{
    snprintf(side == 'a' ? r->line_a : r->line_b, sizeof(r->line_a), "%s", line);
}

void tb_relay_hold_ok_a(struct tb_relay *r, int on)
{
    r->hold_ok_a = on;
}

void tb_relay_refuse(struct tb_relay *r, char side, int count)
{
    *(side == 'a' ? &r->refuse_a : &r->refuse_b) = count;
}

unsigned tb_relay_pairs(const struct tb_relay *r)
{
    return r->pairs;
}

unsigned tb_relay_auth_failures(const struct tb_relay *r)
{
    return r->auth_failures;
}

unsigned tb_relay_sockets(const struct tb_relay *r, char side)
{
    return side == 'a' ? r->na : r->nb;
}

const struct np_buf *tb_relay_rec(const struct tb_relay *r, char side, unsigned k)
{
    if (side == 'a')
        return k < r->na ? r->socks_a[k]->rec : NULL;
    return k < r->nb ? r->socks_b[k]->rec : NULL;
}

int tb_escr_answer(const char *challenge, size_t len, char **response, void *data)
{
    char buf[128];
    int *calls = data;

    if (calls)
        (*calls)++;
    snprintf(buf, sizeof(buf), "resp:%.*s", (int)len, challenge);
    *response = np_strdup(buf);
    return *response ? 0 : -3;
}

/* ------------------------------------------------------------------- echo */

struct tb_echo_conn {
    struct tb_echo *e;
    struct bufferevent *bev;
    int eof;
};

struct tb_echo {
    struct event_base *base;
    struct evconnlistener *l;
    int port;
    char banner[128];
    struct tb_echo_conn *conns[MAX_SOCKS];
    unsigned n;
};

static void echo_close(struct tb_echo_conn *c)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
}

static void echo_read_cb(struct bufferevent *bev, void *arg)
{
    struct evbuffer *out = bufferevent_get_output(bev);

    evbuffer_add_buffer(out, bufferevent_get_input(bev));
    if (evbuffer_get_length(out) >= RELAY_HWM) {
        bufferevent_disable(bev, EV_READ);
        bufferevent_setwatermark(bev, EV_WRITE, RELAY_HWM / 2, 0);
    }
}

static void echo_write_cb(struct bufferevent *bev, void *arg)
{
    struct tb_echo_conn *c = arg;

    if (c->eof) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            echo_close(c);
        return;
    }
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    bufferevent_enable(bev, EV_READ);
}

static void echo_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct tb_echo_conn *c = arg;

    if ((what & BEV_EVENT_EOF) && evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        c->eof = 1; /* finish echoing, then close */
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        return;
    }
    echo_close(c);
}

static void echo_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                        void *arg)
{
    struct tb_echo *e = arg;
    struct tb_echo_conn *c;

    if (e->n >= MAX_SOCKS || (c = np_calloc(1, sizeof(*c))) == NULL) {
        close(fd);
        return;
    }
    e->conns[e->n++] = c;
    c->e = e;
    c->bev = bufferevent_socket_new(e->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, echo_read_cb, echo_write_cb, echo_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (e->banner[0])
        bufferevent_write(c->bev, e->banner, strlen(e->banner));
}

struct tb_echo *tb_echo_new(struct event_base *base, const char *banner)
{
    struct tb_echo *e = np_calloc(1, sizeof(*e));

    if (!e)
        return NULL;
    e->base = base;
    if (banner)
        snprintf(e->banner, sizeof(e->banner), "%s", banner);
    if ((e->l = listen_any(base, echo_accept, e, &e->port)) == NULL) {
        np_free(e);
        return NULL;
    }
    return e;
}

void tb_echo_free(struct tb_echo *e)
{
    if (!e)
        return;
    evconnlistener_free(e->l);
    for (unsigned i = 0; i < e->n; i++) {
        echo_close(e->conns[i]);
        np_free(e->conns[i]);
    }
    np_free(e);
}

int tb_echo_port(const struct tb_echo *e)
{
    return e->port;
}

unsigned tb_echo_accepted(const struct tb_echo *e)
{
    return e->n;
}

/* ----------------------------------------------------------------- client */

struct prng {
    uint32_t x, cur; /* state; unused bytes of the last word */
    unsigned left;   /* how many bytes of cur are unused */
};

/* xorshift32, four output bytes per step (cheap under -O0 sanitizer builds);
 * the byte stream does not depend on how it is cut into calls. */
static void prng_fill(struct prng *p, unsigned char *out, size_t n)
{
    size_t i = 0;

    for (; i < n && p->left; i++, p->left--, p->cur >>= 8)
        out[i] = (unsigned char)p->cur;
    while (i < n) {
        uint32_t x = p->x;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p->x = x;
        if (n - i >= 4) {
            out[i] = (unsigned char)x;
            out[i + 1] = (unsigned char)(x >> 8);
            out[i + 2] = (unsigned char)(x >> 16);
            out[i + 3] = (unsigned char)(x >> 24);
            i += 4;
            continue;
        }
        p->cur = x;
        p->left = 4;
        for (; i < n; i++, p->left--, p->cur >>= 8)
            out[i] = (unsigned char)p->cur;
    }
}

void tb_stream(uint32_t seed, unsigned char *out, size_t n)
{
    struct prng p = {seed ? seed : 1, 0, 0};
    prng_fill(&p, out, n);
}

struct tb_client {
    struct bufferevent *bev;
    size_t n, sent, received, banner_got;
    struct prng tx, rx;
    char banner[128];
    size_t banner_len;
    int done, bad, connected;
    uint64_t sum_tx, sum_rx, pend_tx, pend_rx;
    unsigned npend_tx, npend_rx;
};

/* Order-dependent checksum, eight bytes per step, independent of how the
 * stream is cut into calls (a partial word waits in *pend). */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 1099511628211ULL;
    return h ^ (h >> 29);
}

static void checksum_add(uint64_t *h, uint64_t *pend, unsigned *npend, const unsigned char *p,
                         size_t n)
{
    size_t i = 0;

    while (i < n && *npend) { /* finish a partial word */
        *pend |= (uint64_t)p[i++] << (8 * *npend);
        if (++*npend == 8) {
            *h = mix(*h, *pend);
            *pend = 0;
            *npend = 0;
        }
    }
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        *h = mix(*h, w);
    }
    for (; i < n; i++)
        *pend |= (uint64_t)p[i] << (8 * (*npend)++);
}

static void client_fill(struct tb_client *c)
{
    static unsigned char buf[CHUNK];
    struct evbuffer *out = bufferevent_get_output(c->bev);

    while (c->sent < c->n && evbuffer_get_length(out) < 4 * CHUNK) {
        size_t k = c->n - c->sent < CHUNK ? c->n - c->sent : CHUNK;
        prng_fill(&c->tx, buf, k);
        checksum_add(&c->sum_tx, &c->pend_tx, &c->npend_tx, buf, k);
        evbuffer_add(out, buf, k);
        c->sent += k;
    }
}

static void client_finish(struct tb_client *c)
{
    c->done = 1;
    bufferevent_free(c->bev);
    c->bev = NULL;
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
    static unsigned char got[CHUNK], want[CHUNK];
    struct tb_client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (c->banner_got < c->banner_len && evbuffer_get_length(in) > 0) {
        char ch;
        evbuffer_remove(in, &ch, 1);
        if (ch != c->banner[c->banner_got++])
            c->bad = 1;
    }
    for (;;) {
        int k = evbuffer_remove(in, got, sizeof(got));
        if (k <= 0)
            break;
        if (c->received + (size_t)k > c->n) {
            c->bad = 1;
            k = (int)(c->n - c->received);
        }
        prng_fill(&c->rx, want, (size_t)k);
        if (memcmp(got, want, (size_t)k) != 0)
            c->bad = 1;
        checksum_add(&c->sum_rx, &c->pend_rx, &c->npend_rx, got, (size_t)k);
        c->received += (size_t)k;
    }
    if (c->received == c->n && c->banner_got == c->banner_len)
        client_finish(c);
}

static void client_write_cb(struct bufferevent *bev, void *arg)
{
    client_fill(arg);
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct tb_client *c = arg;

    if (what & BEV_EVENT_CONNECTED) {
        c->connected = 1;
        client_fill(c);
        return;
    }
    c->bad = 1; /* closed before everything came back */
    client_finish(c);
}

struct tb_client *tb_client_new(struct event_base *base, int port, size_t n, uint32_t seed,
                                const char *banner)
{
    struct tb_client *c = np_calloc(1, sizeof(*c));
    struct sockaddr_in sin;

    if (!c)
        return NULL;
    c->n = n;
    c->tx.x = c->rx.x = seed ? seed : 1;
    c->sum_tx = c->sum_rx = 14695981039346656037ULL;
    if (banner) {
        snprintf(c->banner, sizeof(c->banner), "%s", banner);
        c->banner_len = strlen(c->banner);
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((unsigned short)port);
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, client_read_cb, client_write_cb, client_event_cb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, CHUNK, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        tb_client_free(c);
        return NULL;
    }
    return c;
}

void tb_client_free(struct tb_client *c)
{
    if (!c)
        return;
    if (c->bev)
        bufferevent_free(c->bev);
    np_free(c);
}

int tb_client_done(const struct tb_client *c)
{
    return c->done;
}

int tb_client_ok(const struct tb_client *c)
{
    return c->done && !c->bad && c->received == c->n && c->sent == c->n;
}

size_t tb_client_received(const struct tb_client *c)
{
    return c->received;
}

uint64_t tb_client_sum_sent(const struct tb_client *c)
{
    return mix(c->sum_tx, c->pend_tx ^ c->npend_tx);
}

uint64_t tb_client_sum_received(const struct tb_client *c)
{
    return mix(c->sum_rx, c->pend_rx ^ c->npend_rx);
}

/* -------------------------------------------------------------------- raw */

struct tb_raw {
    struct bufferevent *bev;
    struct np_aes_ctr *enc, *dec;
    struct np_buf *rx;
    int eof;
};

static void raw_read_cb(struct bufferevent *bev, void *arg)
{
    struct tb_raw *r = arg;
    unsigned char buf[4096];
    int n;

    while ((n = evbuffer_remove(bufferevent_get_input(bev), buf, sizeof(buf))) > 0) {
        if (r->dec)
            np_aes_ctr_apply(r->dec, buf, (size_t)n);
        np_buf_put(r->rx, buf, (size_t)n);
    }
}

static void raw_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct tb_raw *r = arg;

    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        r->eof = 1;
}

struct tb_raw *tb_raw_new(struct event_base *base, int port, const unsigned char *enc_key,
                          const unsigned char *enc_iv, const unsigned char *dec_key,
                          const unsigned char *dec_iv)
{
    struct tb_raw *r = np_calloc(1, sizeof(*r));
    struct sockaddr_in sin;

    if (!r)
        return NULL;
    if ((r->rx = np_buf_new(1 << 20)) == NULL ||
        (enc_key && np_aes_ctr_new(enc_key, enc_iv, &r->enc) != 0) ||
        (dec_key && np_aes_ctr_new(dec_key, dec_iv, &r->dec) != 0)) {
        tb_raw_free(r);
        return NULL;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((unsigned short)port);
    r->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(r->bev, raw_read_cb, NULL, raw_event_cb, r);
    bufferevent_enable(r->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(r->bev, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        tb_raw_free(r);
        return NULL;
    }
    return r;
}

void tb_raw_free(struct tb_raw *r)
{
    if (!r)
        return;
    if (r->bev)
        bufferevent_free(r->bev);
    np_aes_ctr_free(r->enc);
    np_aes_ctr_free(r->dec);
    np_buf_free(r->rx);
    np_free(r);
}

int tb_raw_send(struct tb_raw *r, const void *data, size_t len)
{
    unsigned char *tmp = np_malloc(len ? len : 1);
    int rc;

    if (!tmp)
        return -1;
    memcpy(tmp, data, len);
    if (r->enc)
        np_aes_ctr_apply(r->enc, tmp, len);
    rc = bufferevent_write(r->bev, tmp, len);
    np_free(tmp);
    return rc;
}

const struct np_buf *tb_raw_received(const struct tb_raw *r)
{
    return r->rx;
}

int tb_raw_eof(const struct tb_raw *r)
{
    return r->eof;
}

void tb_raw_set_reading(struct tb_raw *r, int on)
{
    if (on)
        bufferevent_enable(r->bev, EV_READ);
    else
        bufferevent_disable(r->bev, EV_READ);
}

/* ------------------------------------------------------------------- loop */

struct run_state {
    struct event_base *base;
    int (*cond)(void *);
    void *arg;
    int met;
};

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct run_state *s = arg;

    if (s->cond && s->cond(s->arg)) {
        s->met = 1;
        event_base_loopbreak(s->base);
    }
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

int tb_run_until(struct event_base *base, int (*cond)(void *), void *arg, int max_ms)
{
    struct run_state s = {base, cond, arg, 0};
    struct timeval poll = {0, 2000}, dl = {max_ms / 1000, (max_ms % 1000) * 1000};
    struct event *pe, *de;

    if (cond && cond(arg))
        return 0;
    pe = event_new(base, -1, EV_PERSIST, poll_cb, &s);
    de = evtimer_new(base, deadline_cb, base);
    event_add(pe, &poll);
    event_add(de, &dl);
    event_base_dispatch(base);
    event_free(pe);
    event_free(de);
    return s.met ? 0 : -1;
}

void tb_run_for(struct event_base *base, int ms)
{
    (void)tb_run_until(base, NULL, NULL, ms);
}

int tb_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own descriptor */
}

int tb_closed_port(void)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &sl) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}
