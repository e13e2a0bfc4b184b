/*
 * src/atserver/outbound.c - outbound connections to other atServers (see
 * outbound.h; atprotocol.md 3.4, 10.4).
 *
 * A session is a state machine around one net_conn in raw mode (the "@"
 * prompt and the pol answer have no newline, so bytes are collected by hand
 * into a bounded buffer):
 *
 *   DIR -> CONNECT -> PROMPT -> PUBKEY -> [FROM -> POL] -> READY -> CLOSING
 *
 * with DEAD as the end of every path. One timer per session bounds each
 * step, then each request in flight, and closes an idle pooled session.
 * Re-entrancy: every callback of ours brackets its work with depth++/--;
 * a session is freed only when it is DEAD, no callback of ours is on the
 * stack and nobody owns it any more (pooled, or fresh and released).
 */
#include "outbound.h"
#include "s2s.h"

#include "at/atsign.h"
#include "at/error.h"
#include "at/response.h"
#include "at/root.h"
#include "net/conn.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#define DIR_CACHE_MAX 256
/* Output beyond the longest command line. */
#define OUT_SLACK (64u << 10)
/* Bytes of a remote error message kept in a reply. */
#define MSG_MAX 200

enum st { S_DIR, S_CONNECT, S_PROMPT, S_PUBKEY, S_FROM, S_POL, S_READY, S_CLOSING, S_DEAD };

static const char *const st_names[] = {
    "directory lookup", "connect", "prompt", "public key lookup", "from", "pol", "ready",
    "closing",          "closed"};

struct dir_entry {
    char atsign[AT_ATSIGN_BUF];
    char host[NP_HOST_MAX + 1];
    int port;
    int64_t exp; /* np_mono_ms */
};

struct ob {
    struct event_base *base;
    struct ob_params p;
    char root_host[NP_HOST_MAX + 1];
    struct ob_sess *sessions;
    struct ob_dirq *dirqs;
    struct dir_entry cache[DIR_CACHE_MAX];
    size_t n_cache;
};

struct ob_dirq {
    struct ob *o;
    struct ob_dirq *prev, *next;
    char atsign[AT_ATSIGN_BUF];
    struct at_root_req *rr;
    struct event *ev; /* delivers a cached answer from the loop */
    ob_dir_fn done;
    void *arg;
    char host[NP_HOST_MAX + 1];
    int port;
};

struct ob_req {
    struct ob_sess *s;
    struct ob_req *next;
    char *line;
    int timeout_ms;
    ob_done_fn done;
    void *arg;
    bool cancelled; /* in flight, answer to be dropped */
};

struct ob_sess {
    struct ob *o;
    struct ob_sess *prev, *next;
    char me[AT_ATSIGN_BUF], remote[AT_ATSIGN_BUF];
    char pol_prompt[AT_ATSIGN_BUF + 1]; /* "<me>@" */
    enum ob_kind kind;
    bool fresh, released;
    enum st st;
    int depth;
    struct ob_dirq *dirq;
    struct net_conn *nc;
    struct np_buf *in;
    struct event *timer;
    struct ob_req *head, *tail; /* head is in flight when inflight */
    bool inflight;
    char host[NP_HOST_MAX + 1];
    int port;
};

/* ---- directory ---- */

static struct dir_entry *cache_find(struct ob *o, const char *atsign)
{
    int64_t now = np_mono_ms();

    for (size_t i = 0; i < o->n_cache; i++)
        if (strcmp(o->cache[i].atsign, atsign) == 0)
            return o->cache[i].exp > now ? &o->cache[i] : NULL;
    return NULL;
}

static void cache_put(struct ob *o, const char *atsign, const char *host, int port)
{
    struct dir_entry *e = NULL;

    if (o->p.dir_cache_ms <= 0)
        return;
    for (size_t i = 0; i < o->n_cache && !e; i++)
        if (strcmp(o->cache[i].atsign, atsign) == 0)
            e = &o->cache[i];
    if (!e && o->n_cache < DIR_CACHE_MAX)
        e = &o->cache[o->n_cache++];
    if (!e) { /* full: replace the entry that expires first */
        e = &o->cache[0];
        for (size_t i = 1; i < o->n_cache; i++)
            if (o->cache[i].exp < e->exp)
                e = &o->cache[i];
    }
    snprintf(e->atsign, sizeof(e->atsign), "%s", atsign);
    snprintf(e->host, sizeof(e->host), "%s", host);
    e->port = port;
    e->exp = np_mono_ms() + o->p.dir_cache_ms;
}

static void cache_forget(struct ob *o, const char *atsign)
{
    for (size_t i = 0; i < o->n_cache; i++)
        if (strcmp(o->cache[i].atsign, atsign) == 0)
            o->cache[i].exp = 0;
}

static void dirq_free(struct ob_dirq *q)
{
    struct ob *o = q->o;

    if (q->prev)
        q->prev->next = q->next;
    else if (o->dirqs == q)
        o->dirqs = q->next;
    if (q->next)
        q->next->prev = q->prev;
    if (q->rr)
        at_root_cancel(q->rr);
    if (q->ev)
        event_free(q->ev);
    np_free(q);
}

static void dirq_deliver(struct ob_dirq *q, int err)
{
    ob_dir_fn done = q->done;
    void *arg = q->arg;
    char host[NP_HOST_MAX + 1];
    int port = q->port;

    snprintf(host, sizeof(host), "%s", q->host);
    q->rr = NULL; /* finished (or never started) */
    dirq_free(q);
    done(arg, err, err == 0 ? host : NULL, err == 0 ? port : 0);
}

static void dirq_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dirq_deliver(arg, 0);
}

static void dirq_root_cb(int err, const char *host, int port, void *data)
{
    struct ob_dirq *q = data;

    q->rr = NULL;
    if (err == 0) {
        snprintf(q->host, sizeof(q->host), "%s", host);
        q->port = port;
        cache_put(q->o, q->atsign, host, port);
        np_debug("directory: %s is at %s:%d", q->atsign, host, port);
    } else {
        np_debug("directory: %s: %s", q->atsign, np_strerror(err));
    }
    dirq_deliver(q, err);
}

int ob_dir_lookup(struct ob *o, const char *atsign, ob_dir_fn done, void *arg, struct ob_dirq **out)
{
    struct ob_dirq *q;
    struct dir_entry *e;
    int r;

    if (out)
        *out = NULL;
    if (!o || !atsign || !done || strlen(atsign) >= AT_ATSIGN_BUF)
        return NP_ERR_INVAL;
    if ((q = np_calloc(1, sizeof(*q))) == NULL)
        return NP_ERR_NOMEM;
    q->o = o;
    q->done = done;
    q->arg = arg;
    snprintf(q->atsign, sizeof(q->atsign), "%s", atsign);
    if ((e = cache_find(o, atsign)) != NULL) {
        snprintf(q->host, sizeof(q->host), "%s", e->host);
        q->port = e->port;
        if ((q->ev = event_new(o->base, -1, 0, dirq_ev_cb, q)) == NULL) {
            np_free(q);
            return NP_ERR_NOMEM;
        }
        event_active(q->ev, 0, 0);
    } else if ((r = at_root_lookup(o->base, o->p.dns, o->p.tls, o->root_host, o->p.root_port,
                                   atsign, o->p.connect_ms, dirq_root_cb, q, &q->rr)) != 0) {
        np_free(q);
        return r;
    }
    q->next = o->dirqs;
    if (o->dirqs)
        o->dirqs->prev = q;
    o->dirqs = q;
    if (out)
        *out = q;
    return 0;
}

void ob_dir_cancel(struct ob_dirq *q)
{
    if (q)
        dirq_free(q);
}

/* ---- sessions ---- */

static void sess_pump(struct ob_sess *s);

static void req_free(struct ob_req *q)
{
    np_free(q->line);
    np_free(q);
}

static void sess_maybe_free(struct ob_sess *s)
{
    struct ob *o = s->o;

    if (s->depth > 0 || s->st != S_DEAD || (s->fresh && !s->released))
        return;
    while (s->head) {
        struct ob_req *q = s->head;
        s->head = q->next;
        req_free(q);
    }
    if (s->prev)
        s->prev->next = s->next;
    else if (o->sessions == s)
        o->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->dirq)
        ob_dir_cancel(s->dirq);
    net_conn_free(s->nc);
    if (s->timer)
        event_free(s->timer);
    np_buf_free(s->in);
    np_free(s);
}

static void arm(struct ob_sess *s, int64_t ms)
{
    struct timeval tv;

    if (ms <= 0) {
        event_del(s->timer);
        return;
    }
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    evtimer_add(s->timer, &tv);
}

/* The session is over: every queued request gets rep. */
static void sess_fail(struct ob_sess *s, const struct ob_reply *rep)
{
    struct ob_req *q;

    if (s->st == S_DEAD)
        return;
    if (s->st == S_READY && !s->inflight && !s->head)
        np_debug("%s -> %s: idle outbound connection ended: %s", s->me, s->remote, rep->message);
    else if (s->st != S_CLOSING)
        np_info("%s -> %s: outbound connection failed during %s: AT%04d %s", s->me, s->remote,
                st_names[s->st], rep->code, rep->message);
    s->st = S_DEAD;
    if (s->dirq) {
        ob_dir_cancel(s->dirq);
        s->dirq = NULL;
    }
    net_conn_free(s->nc);
    s->nc = NULL;
    event_del(s->timer);
    s->inflight = false;
    s->depth++;
    while ((q = s->head) != NULL) {
        s->head = q->next;
        if (!s->head)
            s->tail = NULL;
        if (!q->cancelled)
            q->done(q->arg, rep);
        req_free(q);
    }
    s->depth--;
    sess_maybe_free(s);
}

static void fail(struct ob_sess *s, int code, bool transport, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct ob_sess *s, int code, bool transport, const char *fmt, ...)
{
    struct ob_reply rep;
    va_list ap;

    memset(&rep, 0, sizeof(rep));
    rep.code = code;
    rep.transport = transport;
    va_start(ap, fmt);
    vsnprintf(rep.message, sizeof(rep.message), fmt, ap);
    va_end(ap);
    sess_fail(s, &rep);
}

/* Graceful end of an idle or released session. */
static void sess_close(struct ob_sess *s)
{
    if (s->st >= S_CLOSING)
        return;
    np_debug("%s -> %s: closing the outbound connection", s->me, s->remote);
    event_del(s->timer);
    if (!s->nc) {
        fail(s, AT_E_SOCKET, true, "closed");
        return;
    }
    s->st = S_CLOSING;
    net_conn_close(s->nc);
}

static int sess_write(struct ob_sess *s, const char *line)
{
    struct iovec v[2];
    int r;

    v[0].iov_base = (void *)line;
    v[0].iov_len = strlen(line);
    v[1].iov_base = (void *)"\n";
    v[1].iov_len = 1;
    if ((r = net_conn_writev(s->nc, v, 2)) != 0)
        fail(s, AT_E_SOCKET, true, "cannot send to %s: %s", s->remote, np_strerror(r));
    return r;
}

/* Send a handshake line and wait for its answer in state st. */
static void step(struct ob_sess *s, enum st st, const char *line, int ms)
{
    s->st = st;
    if (sess_write(s, line) == 0)
        arm(s, ms);
}

static void ready(struct ob_sess *s)
{
    s->st = S_READY;
    event_del(s->timer);
    np_debug("%s -> %s: outbound connection ready (%s)", s->me, s->remote,
             s->kind == OB_AUTH ? "pol-authenticated" : "unauthenticated");
    sess_pump(s);
}

static void after_prompt(struct ob_sess *s)
{
    char line[AT_ATSIGN_BUF + 32];

    snprintf(line, sizeof(line), "lookup:all:publickey%s", s->remote);
    step(s, S_PUBKEY, line, s->o->p.lookup_ms);
}

static void after_pubkey(struct ob_sess *s)
{
    char line[AT_ATSIGN_BUF + 8];

    if (s->kind != OB_AUTH) {
        ready(s);
        return;
    }
    snprintf(line, sizeof(line), "from:%s", s->me);
    step(s, S_FROM, line, s->o->p.handshake_ms);
}

static void on_from(struct ob_sess *s, const struct at_response *r)
{
    char sid_key[S2S_SID_KEY_BUF], proof[S2S_PROOF_MAX + 1];
    int e;

    if (r->kind == AT_RESP_ERROR) {
        fail(s, AT_E_HANDSHAKE, true, "from:%s refused by %s: %s", s->me, s->remote,
             r->message ? r->message : "error");
        return;
    }
    if (r->kind != AT_RESP_DATA ||
        s2s_parse_proof(r->payload, r->payload_len, s->me, sid_key, proof) != 0) {
        fail(s, AT_E_HANDSHAKE, true, "unexpected answer to from:%s from %s", s->me, s->remote);
        return;
    }
    if (!s->o->p.hooks.prove ||
        (e = s->o->p.hooks.prove(s->o->p.hooks.arg, s->me, sid_key, proof)) != 0) {
        fail(s, AT_E_HANDSHAKE, true, "cannot publish the pol proof for %s", s->me);
        return;
    }
    step(s, S_POL, "pol", s->o->p.handshake_ms);
}

/* The answer to the request in flight. */
static void on_answer(struct ob_sess *s, const struct at_response *r)
{
    struct ob_req *q = s->head;
    struct ob_reply rep;

    s->inflight = false;
    event_del(s->timer);
    memset(&rep, 0, sizeof(rep));
    if (r->kind == AT_RESP_DATA) {
        rep.data = r->payload;
        rep.data_len = r->payload_len;
    } else {
        rep.code = r->code > 0 ? r->code : AT_E_INTERNAL_EXCEPTION;
        snprintf(rep.message, sizeof(rep.message), "%.*s", MSG_MAX,
                 r->message ? r->message : "error");
    }
    s->head = q->next;
    if (!s->head)
        s->tail = NULL;
    if (!q->cancelled)
        q->done(q->arg, &rep);
    req_free(q);
    sess_pump(s);
}

/* One complete response line in the current state. */
static void on_line(struct ob_sess *s, const char *line, size_t len)
{
    struct at_response r;

    if (at_response_parse(line, len, &r) != 0) {
        fail(s, AT_E_INTERNAL_EXCEPTION, true, "out of memory");
        return;
    }
    if (r.kind == AT_RESP_EMPTY || r.kind == AT_RESP_NOTIFICATION)
        goto out; /* nothing for us */
    if (r.kind != AT_RESP_DATA && r.kind != AT_RESP_ERROR) {
        fail(s, AT_E_SOCKET, true, "unexpected line from %s in state %s", s->remote,
             st_names[s->st]);
        goto out;
    }
    switch (s->st) {
    case S_PROMPT:
        fail(s, r.code > 0 ? r.code : AT_E_SOCKET, true, "%s refused the connection: %.*s",
             s->remote, MSG_MAX, r.message ? r.message : "");
        break;
    case S_PUBKEY:
        if (r.kind == AT_RESP_DATA && s->o->p.hooks.pubkey)
            s->o->p.hooks.pubkey(s->o->p.hooks.arg, s->me, s->remote, r.payload, r.payload_len);
        else if (r.kind == AT_RESP_ERROR)
            np_debug("%s -> %s: no public key (%s)", s->me, s->remote, r.message ? r.message : "");
        after_pubkey(s);
        break;
    case S_FROM:
        on_from(s, &r);
        break;
    case S_POL:
        fail(s, AT_E_HANDSHAKE, true, "pol refused by %s: %.*s", s->remote, MSG_MAX,
             r.message ? r.message : "unexpected answer");
        break;
    case S_READY:
        if (s->inflight)
            on_answer(s, &r);
        else
            np_debug("%s -> %s: unexpected answer dropped", s->me, s->remote);
        break;
    default:
        break;
    }
out:
    at_response_clear(&r);
}

/* S_PROMPT: a leading '@'. S_POL: "<me>@" after leftover prompts. Returns
 * true when it consumed input and the state moved on. */
static bool special(struct ob_sess *s)
{
    const char *b = np_buf_ptr(s->in), *nl, *m;
    size_t n = np_buf_len(s->in), plen, lim;

    if (n == 0)
        return false;
    if (s->st == S_PROMPT) {
        if (b[0] != '@')
            return false; /* an error line (e.g. AT0012): read as a line */
        np_buf_consume(s->in, 1);
        after_prompt(s);
        return true;
    }
    /* S_POL */
    plen = strlen(s->pol_prompt);
    nl = memchr(b, '\n', n);
    lim = nl ? (size_t)(nl - b) : n;
    for (size_t i = 0; i + plen <= lim; i++) {
        m = b + i;
        if (memcmp(m, s->pol_prompt, plen) == 0) {
            np_buf_consume(s->in, i + plen);
            ready(s);
            return true;
        }
        if (b[i] != '@')
            break; /* only leftover prompts may come first */
    }
    return false;
}

static void process(struct ob_sess *s)
{
    while (s->st >= S_PROMPT && s->st <= S_READY && np_buf_len(s->in) > 0) {
        char *line = NULL;
        size_t len = 0;
        int r;

        if ((s->st == S_PROMPT || s->st == S_POL) && special(s))
            continue;
        r = np_buf_take_line(s->in, s->o->p.max_input, &line, &len);
        if (r == NP_AGAIN)
            return;
        if (r != 0) {
            fail(s, r == NP_ERR_TOOBIG ? AT_E_BUFFER_LIMIT : AT_E_INTERNAL_EXCEPTION, true,
                 "answer from %s over %zu bytes", s->remote, s->o->p.max_input);
            return;
        }
        on_line(s, line, len);
        np_free(line);
    }
}

static void nc_on_connected(struct net_conn *nc, void *data)
{
    struct ob_sess *s = data;

    (void)nc;
    s->depth++;
    np_debug("%s -> %s: connected to %s:%d", s->me, s->remote, s->host, s->port);
    s->st = S_PROMPT;
    arm(s, s->o->p.connect_ms);
    s->depth--;
    sess_maybe_free(s);
}

static void nc_on_data(struct net_conn *nc, const unsigned char *p, size_t n, void *data)
{
    struct ob_sess *s = data;

    (void)nc;
    s->depth++;
    if (s->st == S_CLOSING) {
        /* input after our close: ignore */
    } else if (np_buf_put(s->in, p, n) != 0) {
        fail(s, AT_E_BUFFER_LIMIT, true, "answer from %s over %zu bytes", s->remote,
             s->o->p.max_input);
    } else {
        process(s);
    }
    s->depth--;
    sess_maybe_free(s);
}

static void nc_on_close(struct net_conn *nc, int reason, void *data)
{
    struct ob_sess *s = data;

    (void)nc;
    s->nc = NULL; /* net_conn frees itself after this callback */
    s->depth++;
    if (s->st == S_CLOSING) {
        s->st = S_DEAD;
    } else {
        if (s->st <= S_PROMPT)
            cache_forget(s->o, s->remote); /* maybe it moved: ask the directory again */
        fail(s, reason == NP_ERR_TIMEOUT ? AT_E_TIMEOUT : AT_E_SOCKET, true,
             "connection to %s (%s:%d) %s: %s", s->remote, s->host, s->port,
             s->st <= S_CONNECT ? "failed" : "closed", reason ? np_strerror(reason) : "closed");
    }
    s->depth--;
    sess_maybe_free(s);
}

static void sess_dir_cb(void *arg, int err, const char *host, int port)
{
    static const struct net_conn_cbs cbs = {
        .on_connected = nc_on_connected, .on_data = nc_on_data, .on_close = nc_on_close};
    struct ob_sess *s = arg;
    struct net_conn_opts co;
    int r;

    s->dirq = NULL;
    s->depth++;
    if (err == NP_ERR_NOTFOUND) {
        fail(s, AT_E_SECONDARY_NOT_FOUND, true, "%s is not known to the directory", s->remote);
    } else if (err != 0) {
        fail(s, AT_E_SOCKET, true, "directory lookup of %s failed: %s", s->remote,
             np_strerror(err));
    } else {
        snprintf(s->host, sizeof(s->host), "%s", host);
        s->port = port;
        memset(&co, 0, sizeof(co));
        co.max_line = 1; /* unused: raw input */
        co.max_output = s->o->p.max_input + OUT_SLACK;
        co.open_timeout_ms = s->o->p.connect_ms;
        s->st = S_CONNECT;
        if ((r = net_conn_connect(s->o->base, s->o->p.dns, host, port, s->o->p.tls, host, &co, &cbs,
                                  s, &s->nc)) != 0)
            fail(s, AT_E_SOCKET, true, "cannot connect to %s: %s", s->remote, np_strerror(r));
    }
    s->depth--;
    sess_maybe_free(s);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ob_sess *s = arg;

    (void)fd;
    (void)what;
    s->depth++;
    if (s->st == S_READY && !s->inflight)
        sess_close(s); /* idle */
    else if (s->st < S_CLOSING)
        fail(s, AT_E_TIMEOUT, true, "no answer from %s in time (%s)", s->remote, st_names[s->st]);
    s->depth--;
    sess_maybe_free(s);
}

/* Send the next queued request, or close/idle when there is none. */
static void sess_pump(struct ob_sess *s)
{
    struct ob_req *q;

    if (s->st != S_READY || s->inflight)
        return;
    if ((q = s->head) != NULL) {
        if (sess_write(s, q->line) == 0) {
            s->inflight = true;
            arm(s, q->timeout_ms);
        }
        return;
    }
    if (s->fresh && s->released)
        sess_close(s);
    else if (!s->fresh)
        arm(s, s->o->p.idle_ms);
}

static int sess_new(struct ob *o, const char *me, const char *remote, enum ob_kind kind, bool fresh,
                    struct ob_sess **out)
{
    struct ob_sess *s;
    int r;

    *out = NULL;
    if ((int)ob_count(o) >= o->p.max_sessions)
        return NP_ERR_LIMIT;
    if ((s = np_calloc(1, sizeof(*s))) == NULL)
        return NP_ERR_NOMEM;
    s->o = o;
    s->kind = kind;
    s->fresh = fresh;
    snprintf(s->me, sizeof(s->me), "%s", me);
    snprintf(s->remote, sizeof(s->remote), "%s", remote);
    snprintf(s->pol_prompt, sizeof(s->pol_prompt), "%s@", me);
    if ((s->in = np_buf_new(o->p.max_input + OUT_SLACK)) == NULL ||
        (s->timer = evtimer_new(o->base, timer_cb, s)) == NULL) {
        np_buf_free(s->in);
        np_free(s);
        return NP_ERR_NOMEM;
    }
    s->st = S_DIR;
    if ((r = ob_dir_lookup(o, remote, sess_dir_cb, s, &s->dirq)) != 0) {
        event_free(s->timer);
        np_buf_free(s->in);
        np_free(s);
        return r;
    }
    s->next = o->sessions;
    if (o->sessions)
        o->sessions->prev = s;
    o->sessions = s;
    np_debug("%s -> %s: opening an outbound connection (%s%s)", me, remote,
             kind == OB_AUTH ? "pol" : "unauthenticated", fresh ? ", fresh" : "");
    *out = s;
    return 0;
}

static int queue(struct ob_sess *s, const char *line, int timeout_ms, ob_done_fn done, void *arg,
                 struct ob_req **out)
{
    struct ob_req *q;

    if ((q = np_calloc(1, sizeof(*q))) == NULL || (q->line = np_strdup(line)) == NULL) {
        np_free(q);
        return NP_ERR_NOMEM;
    }
    q->s = s;
    q->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
    q->done = done;
    q->arg = arg;
    if (s->tail)
        s->tail->next = q;
    else
        s->head = q;
    s->tail = q;
    if (out)
        *out = q;
    if (s->st == S_READY && !s->inflight) {
        event_del(s->timer); /* no longer idle */
        sess_pump(s);
    }
    return 0;
}

static bool line_ok(const char *line)
{
    return line && *line && !strchr(line, '\n') && !strchr(line, '\r');
}

int ob_send(struct ob *o, const char *me, const char *remote, enum ob_kind kind, const char *line,
            int timeout_ms, ob_done_fn done, void *arg, struct ob_req **out)
{
    struct ob_sess *s;
    int r;

    if (out)
        *out = NULL;
    if (!o || !me || !remote || !done || !line_ok(line) || strlen(me) >= AT_ATSIGN_BUF ||
        strlen(remote) >= AT_ATSIGN_BUF)
        return NP_ERR_INVAL;
    for (s = o->sessions; s; s = s->next)
        if (!s->fresh && s->kind == kind && s->st < S_CLOSING && strcmp(s->me, me) == 0 &&
            strcmp(s->remote, remote) == 0)
            break;
    if (!s && (r = sess_new(o, me, remote, kind, false, &s)) != 0)
        return r;
    return queue(s, line, timeout_ms, done, arg, out);
}

int ob_fresh(struct ob *o, const char *me, const char *remote, struct ob_sess **out)
{
    if (out)
        *out = NULL;
    if (!o || !me || !remote || !out || strlen(me) >= AT_ATSIGN_BUF ||
        strlen(remote) >= AT_ATSIGN_BUF)
        return NP_ERR_INVAL;
    return sess_new(o, me, remote, OB_UNAUTH, true, out);
}

int ob_sess_send(struct ob_sess *s, const char *line, int timeout_ms, ob_done_fn done, void *arg,
                 struct ob_req **out)
{
    if (out)
        *out = NULL;
    if (!s || s->released || !done || !line_ok(line))
        return NP_ERR_INVAL;
    if (s->st == S_DEAD || s->st == S_CLOSING)
        return NP_ERR_CLOSED;
    return queue(s, line, timeout_ms, done, arg, out);
}

void ob_sess_release(struct ob_sess *s)
{
    if (!s)
        return;
    s->released = true;
    if (s->st == S_READY && !s->inflight && !s->head)
        sess_close(s);
    else if (s->st < S_READY && !s->head)
        fail(s, AT_E_SOCKET, true, "no longer needed");
    sess_maybe_free(s);
}

void ob_cancel(struct ob_req *q)
{
    struct ob_sess *s;
    struct ob_req **pp;

    if (!q)
        return;
    s = q->s;
    if (s->inflight && s->head == q) {
        q->cancelled = true;
        return;
    }
    for (pp = &s->head; *pp; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    }
    s->tail = NULL;
    for (struct ob_req *it = s->head; it; it = it->next)
        s->tail = it;
    req_free(q);
    if (s->fresh && s->released && !s->head) {
        if (s->st == S_READY)
            sess_close(s);
        else if (s->st < S_READY)
            fail(s, AT_E_SOCKET, true, "no longer needed");
        sess_maybe_free(s);
    }
}

size_t ob_count(const struct ob *o)
{
    size_t n = 0;

    for (const struct ob_sess *s = o ? o->sessions : NULL; s; s = s->next)
        if (s->st != S_DEAD)
            n++;
    return n;
}

/* ---- engine ---- */

int ob_new(struct event_base *base, const struct ob_params *p, struct ob **out)
{
    struct ob *o;

    *out = NULL;
    if (!base || !p || !p->root_host || !p->tls || strlen(p->root_host) > NP_HOST_MAX ||
        p->root_port < 1 || p->root_port > 65535 || p->max_input == 0)
        return NP_ERR_INVAL;
    if ((o = np_calloc(1, sizeof(*o))) == NULL)
        return NP_ERR_NOMEM;
    o->base = base;
    o->p = *p;
    snprintf(o->root_host, sizeof(o->root_host), "%s", p->root_host);
    o->p.root_host = o->root_host;
    if (o->p.max_sessions <= 0)
        o->p.max_sessions = 1;
    *out = o;
    return 0;
}

void ob_free(struct ob *o)
{
    if (!o)
        return;
    while (o->sessions) {
        struct ob_sess *s = o->sessions;
        s->st = S_DEAD;
        s->depth = 0;
        s->released = true;
        sess_maybe_free(s);
    }
    while (o->dirqs)
        dirq_free(o->dirqs);
    np_free(o);
}
