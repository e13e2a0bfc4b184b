/*
 * lib/at/client_conn.c - one connection to an atServer with a command FIFO
 * (see client_int.h and docs/internals/client.md).
 *
 * States:
 *   IDLE -> RESOLVING (directory) -> CONNECTING (TCP+TLS) -> AUTH_FROM
 *        -> AUTH_PROOF (pkam/cram) -> READY;  any failure -> IDLE or BACKOFF
 * READY sends one queued command at a time; the answer (data:/error:, with
 * any "@" / "@alice@" prompt glued in front stripped by at_response_parse)
 * completes it. "notification: " lines go to the on_push hook at any time.
 *
 * Timers: the attempt timer bounds a whole connection attempt; every command
 * has its own deadline; the keep-alive timer sends noop:0 when idle; the
 * retry timer spaces reconnection attempts (at_client_backoff_ms).
 *
 * Re-entrancy: every entry from the loop is bracketed by enter()/leave();
 * a hook or a response callback may reset the connection or queue more
 * commands, and at_conn_free inside one only marks the object dead - the
 * memory goes when the outermost entry leaves. Work that could complete a
 * command (connecting, writing) is started from the `kick` event, so no
 * callback ever runs inside at_conn_cmd or at_conn_start.
 */
#include "at/client_int.h"
#include "at/root.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "crypto/rsa.h"
#include "net/conn.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

/* An authenticated connection that lived this long resets the back-off. */
#define AT_CONN_STABLE_MS 10000

enum kstate { K_IDLE, K_RESOLVING, K_CONNECTING, K_AUTH_FROM, K_AUTH_PROOF, K_READY, K_BACKOFF };

struct at_conn_req {
    struct at_conn *k;
    char *line; /* with the trailing '\n' */
    size_t len;
    bool secret;
    int timeout_ms;
    struct event *timer;
    at_conn_resp_fn fn; /* NULL once cancelled */
    void *arg;
    struct at_conn_req *next;
};

struct at_conn {
    struct at_conn_cfg cfg;
    enum kstate st;
    struct at_root_req *root;
    struct net_conn *nc;
    struct event *attempt_timer, *retry_timer, *keepalive_timer, *kick;
    struct at_conn_req *inflight;
    struct at_conn_req *qhead, *qtail;
    unsigned attempt;
    char host[NP_HOST_MAX + 1];
    int port;
    bool have_addr;
    bool start_pending; /* at_conn_start called, no attempt made yet */
    bool paused;
    int last_err;
    char last_msg[1024];
    unsigned gen;     /* bumped by every teardown of the transport */
    int64_t ready_at; /* np_mono_ms() of the last successful authentication */
    int busy, dead;
};

static void teardown(struct at_conn *k);
static void attempt_failed(struct at_conn *k, int err, bool fatal, const char *msg);
static void dropped(struct at_conn *k, int err, const char *msg);

static void enter(struct at_conn *k)
{
    k->busy++;
}

static void release(struct at_conn *k)
{
    if (k->attempt_timer)
        event_free(k->attempt_timer);
    if (k->retry_timer)
        event_free(k->retry_timer);
    if (k->keepalive_timer)
        event_free(k->keepalive_timer);
    if (k->kick)
        event_free(k->kick);
    np_free(k);
}

/* Returns 1 when the object is gone (caller must not touch it). */
static int leave(struct at_conn *k)
{
    if (--k->busy == 0 && k->dead) {
        release(k);
        return 1;
    }
    return 0;
}

static void set_timer(struct event *ev, int ms)
{
    struct timeval tv;

    if (ms < 0)
        ms = 0;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(ev, &tv);
}

static void kick(struct at_conn *k)
{
    if (!k->dead)
        event_active(k->kick, EV_TIMEOUT, 0);
}

static void req_free(struct at_conn_req *q)
{
    if (!q)
        return;
    if (q->timer)
        event_free(q->timer);
    np_free(q->line);
    np_free(q);
}

/* Call the request's callback (if any) with an error, then free it. */
static void req_fail(struct at_conn_req *q, int err, bool conn_error, const char *msg)
{
    struct at_conn_outcome o = {err, conn_error, msg, NULL};

    if (q->fn)
        q->fn(q->arg, &o);
    req_free(q);
}

static void unlink_queued(struct at_conn *k, struct at_conn_req *q)
{
    struct at_conn_req *prev = NULL;

    for (struct at_conn_req *p = k->qhead; p; prev = p, p = p->next) {
        if (p != q)
            continue;
        if (prev)
            prev->next = p->next;
        else
            k->qhead = p->next;
        if (k->qtail == p)
            k->qtail = prev;
        p->next = NULL;
        return;
    }
}

/* Fail every queued (not in-flight) command. The list is detached first:
 * callbacks may queue new commands, which then wait for the next attempt. */
static void fail_queue(struct at_conn *k, int err, bool conn_error, const char *msg)
{
    struct at_conn_req *q = k->qhead;

    k->qhead = k->qtail = NULL;
    while (q) {
        struct at_conn_req *next = q->next;
        req_fail(q, err, conn_error, msg);
        q = next;
        if (k->dead) {
            while (q) {
                next = q->next;
                req_free(q);
                q = next;
            }
            return;
        }
    }
}

static void trace_line(struct at_conn *k, const char *dir, const char *line, size_t len,
                       bool secret)
{
    char esc[512];

    if (np_log_level_current < NP_LOG_TRACE)
        return;
    if (secret) {
        const char *colon = memchr(line, ':', len);
        size_t n = colon ? (size_t)(colon - line) + 1 : len;
        np_trace("%s %s %s %.*s<redacted>", k->cfg.atsign, k->cfg.tag, dir, (int)n, line);
        return;
    }
    np_trace("%s %s %s %s", k->cfg.atsign, k->cfg.tag, dir,
             np_log_escape(esc, sizeof(esc), line, len));
}

/* Write one line (adds '\n'). */
static int write_line(struct at_conn *k, const char *line, size_t len, bool secret)
{
    struct iovec iov[2];

    if (!k->nc)
        return NP_ERR_CLOSED;
    trace_line(k, ">", line, len, secret);
    iov[0].iov_base = (void *)line;
    iov[0].iov_len = len;
    iov[1].iov_base = (void *)"\n";
    iov[1].iov_len = 1;
    return net_conn_writev(k->nc, iov, 2);
}

/* ---- connection attempt ---- */

static void on_attempt_timer(evutil_socket_t fd, short what, void *arg)
{
    struct at_conn *k = arg;
    char msg[128];

    (void)fd;
    (void)what;
    enter(k);
    snprintf(msg, sizeof(msg), "no authenticated connection to the atServer within %d ms",
             k->cfg.connect_timeout_ms);
    attempt_failed(k, NP_ERR_TIMEOUT, false, msg);
    leave(k);
}

static void on_line(struct net_conn *c, char *line, size_t len, void *data);
static void on_connected(struct net_conn *c, void *data);
static void on_close(struct net_conn *c, int reason, void *data);

static void connect_server(struct at_conn *k)
{
    static const struct net_conn_cbs cbs = {on_connected, on_line, NULL, on_close};
    struct net_conn_opts o;
    char msg[NP_HOST_MAX + 80];
    int r;

    memset(&o, 0, sizeof(o));
    o.max_line = k->cfg.max_line;
    o.skip_long_lines = k->cfg.skip_long_lines;
    o.open_timeout_ms = k->cfg.connect_timeout_ms;
    k->st = K_CONNECTING;
    np_debug("%s %s: connecting to %s:%d", k->cfg.atsign, k->cfg.tag, k->host, k->port);
    r = net_conn_connect(k->cfg.base, k->cfg.dns, k->host, k->port, k->cfg.tls, NULL, &o, &cbs, k,
                         &k->nc);
    if (r != 0) {
        snprintf(msg, sizeof(msg), "cannot connect to %s:%d: %s", k->host, k->port, np_strerror(r));
        attempt_failed(k, r, false, msg);
    }
}

static void on_root(int err, const char *host, int port, void *data)
{
    struct at_conn *k = data;
    char msg[NP_HOST_MAX + 120];

    enter(k);
    k->root = NULL;
    if (err == NP_ERR_NOTFOUND) {
        snprintf(msg, sizeof(msg), "%s is not in the directory %s:%d", k->cfg.atsign,
                 k->cfg.root_host, k->cfg.root_port);
        attempt_failed(k, err, true, msg);
    } else if (err != 0) {
        snprintf(msg, sizeof(msg), "directory lookup of %s at %s:%d failed: %s", k->cfg.atsign,
                 k->cfg.root_host, k->cfg.root_port, np_strerror(err));
        attempt_failed(k, err, false, msg);
    } else {
        snprintf(k->host, sizeof(k->host), "%s", host);
        k->port = port;
        k->have_addr = true;
        np_debug("%s: atServer is %s:%d", k->cfg.atsign, host, port);
        connect_server(k);
    }
    leave(k);
}

static void start_attempt(struct at_conn *k)
{
    int r;

    set_timer(k->attempt_timer, k->cfg.connect_timeout_ms);
    if (k->cfg.server_host) {
        snprintf(k->host, sizeof(k->host), "%s", k->cfg.server_host);
        k->port = k->cfg.server_port;
        connect_server(k);
        return;
    }
    if (k->have_addr) {
        connect_server(k);
        return;
    }
    k->st = K_RESOLVING;
    r = at_root_lookup(k->cfg.base, k->cfg.dns, k->cfg.tls, k->cfg.root_host, k->cfg.root_port,
                       k->cfg.atsign, k->cfg.connect_timeout_ms, on_root, k, &k->root);
    if (r != 0)
        attempt_failed(k, r, false, "cannot start the directory lookup");
}

static void schedule_retry(struct at_conn *k)
{
    uint32_t rnd = 0;
    int ms;

    if (np_random_bytes(&rnd, sizeof(rnd)) != 0)
        rnd = 0;
    ms = at_client_backoff_ms(k->attempt, k->cfg.backoff_initial_ms, k->cfg.backoff_max_ms, rnd);
    k->attempt++;
    k->st = K_BACKOFF;
    np_debug("%s %s: reconnecting in %d ms", k->cfg.atsign, k->cfg.tag, ms);
    set_timer(k->retry_timer, ms);
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
    struct at_conn *k = arg;

    (void)fd;
    (void)what;
    enter(k);
    if (k->st == K_BACKOFF) {
        k->st = K_IDLE;
        start_attempt(k);
    }
    leave(k);
}

/* Close the transport and stop attempt/keep-alive timers. */
static void teardown(struct at_conn *k)
{
    if (k->root) {
        at_root_cancel(k->root);
        k->root = NULL;
    }
    if (k->nc) {
        net_conn_free(k->nc);
        k->nc = NULL;
    }
    evtimer_del(k->attempt_timer);
    evtimer_del(k->keepalive_timer);
    k->paused = false;
    k->gen++;
}

static void remember(struct at_conn *k, int err, const char *msg)
{
    k->last_err = err;
    snprintf(k->last_msg, sizeof(k->last_msg), "%s", msg ? msg : np_strerror(err));
}

static bool addr_error(int err)
{
    return err == NP_ERR_CONNECT || err == NP_ERR_TLS || err == NP_ERR_TIMEOUT ||
           err == NP_ERR_EOF || err == NP_ERR_NOTFOUND;
}

static void attempt_failed(struct at_conn *k, int err, bool fatal, const char *msg)
{
    teardown(k);
    if (k->inflight) { /* cannot happen before READY; be safe */
        struct at_conn_req *q = k->inflight;
        k->inflight = NULL;
        req_fail(q, err, true, msg);
        if (k->dead)
            return;
    }
    remember(k, err, msg);
    if (addr_error(err) && !k->cfg.server_host)
        k->have_addr = false;
    k->st = K_IDLE;
    NP_LOG_AT(k->cfg.persistent ? NP_LOG_WARN : NP_LOG_DEBUG, NULL, "%s %s: %s", k->cfg.atsign,
              k->cfg.tag, k->last_msg);
    if (k->cfg.hooks.on_down) {
        k->cfg.hooks.on_down(k->cfg.owner, err, k->last_msg);
        if (k->dead)
            return;
    }
    if (fatal || !k->cfg.persistent) {
        fail_queue(k, err, true, k->last_msg);
        if (k->dead)
            return;
    }
    if (k->cfg.persistent && k->st == K_IDLE)
        schedule_retry(k);
    else if (k->qhead && k->st == K_IDLE)
        kick(k); /* commands queued by the callbacks: try again */
}

/* An open (authenticated) connection ended. */
static void dropped(struct at_conn *k, int err, const char *msg)
{
    struct at_conn_req *q = k->inflight;
    char m[400];

    teardown(k);
    k->inflight = NULL;
    k->st = K_IDLE;
    snprintf(m, sizeof(m), "connection to the atServer lost: %s", msg ? msg : np_strerror(err));
    remember(k, err, m);
    np_info("%s %s: %s", k->cfg.atsign, k->cfg.tag, m);
    if (q) {
        req_fail(q, err, false, m);
        if (k->dead)
            return;
    }
    if (k->cfg.hooks.on_down) {
        k->cfg.hooks.on_down(k->cfg.owner, err, m);
        if (k->dead)
            return;
    }
    if (k->st != K_IDLE)
        return; /* a callback started something */
    /* a connection that stayed up a while reconnects at once; one that the
     * server drops right after login backs off like a failed attempt */
    if (np_mono_ms() - k->ready_at >= AT_CONN_STABLE_MS)
        k->attempt = 0;
    if (k->cfg.persistent)
        schedule_retry(k);
    else if (k->qhead)
        kick(k);
}

/* ---- authentication ---- */

static int send_proof(struct at_conn *k, const char *challenge, size_t n)
{
    struct np_buf *b = np_buf_new(4096);
    char *sig = NULL;
    int r = NP_ERR_NOMEM;

    if (!b)
        goto out;
    if (k->cfg.auth == AT_CLIENT_AUTH_CRAM) {
        struct np_buf *in = np_buf_new(8192);
        char hex[2 * NP_SHA512_LEN + 1];
        if (!in)
            goto out;
        r = np_buf_put_str(in, k->cfg.cram_secret);
        if (r == 0)
            r = np_buf_put(in, challenge, n);
        if (r == 0)
            r = np_sha512_hex(np_buf_ptr(in), np_buf_len(in), hex);
        np_buf_free_secret(in);
        if (r == 0)
            r = at_build_cram(b, hex);
        np_memzero(hex, sizeof(hex));
    } else {
        r = np_rsa_sign_b64(k->cfg.pkam, NP_HASH_SHA256, challenge, n, &sig);
        if (r == 0)
            r = at_build_pkam(b, k->cfg.enrollment_id != NULL, AT_SIGN_RSA2048, AT_HASH_SHA256,
                              k->cfg.enrollment_id, sig);
    }
    if (r != 0)
        goto out;
    k->st = K_AUTH_PROOF;
    r = write_line(k, np_buf_ptr(b), np_buf_len(b), true);
out:
    np_free(sig);
    np_buf_free_secret(b);
    return r;
}

static void become_ready(struct at_conn *k)
{
    unsigned gen = k->gen;

    k->st = K_READY;
    k->ready_at = np_mono_ms();
    k->last_err = 0;
    k->last_msg[0] = '\0';
    evtimer_del(k->attempt_timer);
    np_debug("%s %s: ready", k->cfg.atsign, k->cfg.tag);
    if (k->cfg.keepalive_ms > 0) {
        struct timeval tv = {k->cfg.keepalive_ms / 1000, (k->cfg.keepalive_ms % 1000) * 1000};
        event_add(k->keepalive_timer, &tv);
    }
    if (k->cfg.hooks.on_ready) {
        k->cfg.hooks.on_ready(k->cfg.owner);
        if (k->dead || k->gen != gen)
            return;
    }
    kick(k);
}

static void auth_answer(struct at_conn *k, const struct at_response *resp)
{
    char msg[400];
    int r;

    if (resp->kind == AT_RESP_ERROR) {
        int err = at_client_err_from_code(resp->code);
        bool auth = err == NP_ERR_AUTH || k->st == K_AUTH_PROOF;
        snprintf(msg, sizeof(msg), "%s failed for %s: %s",
                 k->st == K_AUTH_FROM                 ? "from"
                 : k->cfg.auth == AT_CLIENT_AUTH_CRAM ? "cram authentication"
                                                      : "pkam authentication",
                 k->cfg.atsign, resp->message ? resp->message : "error");
        attempt_failed(k, auth ? NP_ERR_AUTH : err, auth, msg);
        return;
    }
    if (resp->kind != AT_RESP_DATA) {
        attempt_failed(k, NP_ERR_PROTO, false, "unexpected answer during authentication");
        return;
    }
    if (k->st == K_AUTH_FROM) {
        if (resp->payload_len == 0) {
            attempt_failed(k, NP_ERR_PROTO, false, "empty from: challenge");
            return;
        }
        if ((r = send_proof(k, resp->payload, resp->payload_len)) != 0)
            attempt_failed(k, r, false, "cannot send the authentication proof");
        return;
    }
    if (resp->payload_len == 7 && memcmp(resp->payload, "success", 7) == 0) {
        become_ready(k);
        return;
    }
    attempt_failed(k, NP_ERR_PROTO, false, "authentication answer is not data:success");
}

/* ---- transport callbacks ---- */

static void on_connected(struct net_conn *c, void *data)
{
    struct at_conn *k = data;
    struct np_buf *b = NULL;
    int r;

    (void)c;
    enter(k);
    if (k->cfg.auth == AT_CLIENT_AUTH_NONE) {
        become_ready(k);
        goto out;
    }
    r = NP_ERR_NOMEM;
    if ((b = np_buf_new(512)) != NULL && (r = at_build_from(b, k->cfg.atsign, NULL)) == 0) {
        k->st = K_AUTH_FROM;
        r = write_line(k, np_buf_ptr(b), np_buf_len(b), false);
    }
    if (r != 0)
        attempt_failed(k, r, false, "cannot send from:");
out:
    np_buf_free(b);
    leave(k);
}

static void complete_inflight(struct at_conn *k, const struct at_response *resp)
{
    struct at_conn_req *q = k->inflight;
    struct at_conn_outcome o = {0, false, NULL, resp};

    k->inflight = NULL;
    if (q->fn)
        q->fn(q->arg, &o);
    req_free(q);
    if (!k->dead)
        kick(k);
}

static void on_line(struct net_conn *c, char *line, size_t len, void *data)
{
    struct at_conn *k = data;
    struct at_response resp;
    char esc[200];
    char m[300];

    (void)c;
    enter(k);
    if (at_response_parse(line, len, &resp) != 0) {
        at_conn_reset(k, NP_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (resp.kind == AT_RESP_NOTIFICATION) {
        if (k->st == K_READY && k->cfg.hooks.on_push)
            k->cfg.hooks.on_push(k->cfg.owner, resp.payload, resp.payload_len);
        else
            np_debug("%s %s: notification ignored", k->cfg.atsign, k->cfg.tag);
        goto out;
    }
    trace_line(k, "<", line, len, false);
    if (resp.kind == AT_RESP_EMPTY)
        goto out;
    if (k->st == K_AUTH_FROM || k->st == K_AUTH_PROOF) {
        auth_answer(k, &resp);
        goto out;
    }
    if (resp.kind != AT_RESP_DATA && resp.kind != AT_RESP_ERROR) {
        snprintf(m, sizeof(m), "unexpected line from the atServer: \"%s\"",
                 np_log_escape(esc, sizeof(esc), line, len));
        np_warn("%s %s: %s", k->cfg.atsign, k->cfg.tag, m);
        if (k->inflight)
            at_conn_reset(k, NP_ERR_PROTO, m);
        goto out;
    }
    if (!k->inflight) {
        if (resp.kind == AT_RESP_ERROR) {
            snprintf(m, sizeof(m), "unsolicited error from the atServer: %s",
                     resp.message ? resp.message : "");
            at_conn_reset(k, at_client_err_from_code(resp.code), m);
        } else {
            np_debug("%s %s: unsolicited data line ignored", k->cfg.atsign, k->cfg.tag);
        }
        goto out;
    }
    complete_inflight(k, &resp);
out:
    at_response_clear(&resp);
    leave(k);
}

static void on_close(struct net_conn *c, int reason, void *data)
{
    struct at_conn *k = data;
    char msg[512];

    (void)c;
    enter(k);
    k->nc = NULL; /* net_conn frees itself after this callback */
    if (reason == 0)
        reason = NP_ERR_EOF;
    if (k->st == K_READY) {
        dropped(k, reason,
                reason == NP_ERR_TOOBIG ? "response line too long" : np_strerror(reason));
    } else {
        snprintf(msg, sizeof(msg), "connection to %s:%d failed: %s%s", k->host, k->port,
                 np_strerror(reason),
                 reason == NP_ERR_TLS ? " (certificate or TLS handshake failure)" : "");
        attempt_failed(k, reason, false, msg);
    }
    leave(k);
}

/* ---- queue ---- */

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    struct at_conn *k = arg;
    struct at_conn_req *q;
    int r;

    (void)fd;
    (void)what;
    enter(k);
    if (k->st == K_IDLE && (k->qhead || k->start_pending)) {
        k->start_pending = false;
        start_attempt(k);
        goto out;
    }
    while (k->st == K_READY && !k->inflight && k->qhead) {
        q = k->qhead;
        k->qhead = q->next;
        if (!k->qhead)
            k->qtail = NULL;
        q->next = NULL;
        k->inflight = q;
        if ((r = write_line(k, q->line, q->len - 1, q->secret)) != 0) {
            at_conn_reset(k, r, "cannot write to the atServer");
            goto out;
        }
    }
out:
    leave(k);
}

static void on_req_timer(evutil_socket_t fd, short what, void *arg)
{
    struct at_conn_req *q = arg;
    struct at_conn *k = q->k;
    char msg[1200];

    (void)fd;
    (void)what;
    enter(k);
    if (q == k->inflight) {
        snprintf(msg, sizeof(msg), "no answer from the atServer within %d ms", q->timeout_ms);
        np_warn("%s %s: %s", k->cfg.atsign, k->cfg.tag, msg);
        at_conn_reset(k, NP_ERR_TIMEOUT, msg);
    } else {
        bool conn = k->st != K_READY;
        unlink_queued(k, q);
        if (conn)
            snprintf(msg, sizeof(msg), "not connected to the atServer within %d ms%s%s",
                     q->timeout_ms, k->last_msg[0] ? ": " : "", k->last_msg);
        else
            snprintf(msg, sizeof(msg), "timed out after %d ms waiting in the command queue",
                     q->timeout_ms);
        req_fail(q, NP_ERR_TIMEOUT, conn, msg);
    }
    leave(k);
}

static void keepalive_done(void *arg, const struct at_conn_outcome *o)
{
    struct at_conn *k = arg;

    if (o->err == 0 && o->resp->kind == AT_RESP_ERROR)
        np_debug("%s %s: noop answered with an error", k->cfg.atsign, k->cfg.tag);
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    struct at_conn *k = arg;

    (void)fd;
    (void)what;
    enter(k);
    if (k->st == K_READY && !k->inflight && !k->qhead)
        at_conn_cmd(k, "noop:0", k->cfg.keepalive_timeout_ms, false, keepalive_done, k, NULL);
    leave(k);
}

/* ---- API ---- */

int at_conn_new(const struct at_conn_cfg *cfg, struct at_conn **out)
{
    struct at_conn *k = NULL;
    int r = NP_ERR_NOMEM;

    if (out)
        *out = NULL;
    if (!cfg || !out || !cfg->base || !cfg->atsign || !cfg->tls ||
        (cfg->auth == AT_CLIENT_AUTH_PKAM && !cfg->pkam) ||
        (cfg->auth == AT_CLIENT_AUTH_CRAM && !cfg->cram_secret) ||
        (!cfg->server_host && !cfg->root_host))
        return NP_ERR_INVAL;
    if ((k = np_calloc(1, sizeof(*k))) == NULL)
        return NP_ERR_NOMEM;
    k->cfg = *cfg;
    if (!k->cfg.tag)
        k->cfg.tag = "conn";
    if ((k->attempt_timer = evtimer_new(cfg->base, on_attempt_timer, k)) == NULL ||
        (k->retry_timer = evtimer_new(cfg->base, on_retry_timer, k)) == NULL ||
        (k->keepalive_timer = event_new(cfg->base, -1, EV_PERSIST, on_keepalive, k)) == NULL ||
        (k->kick = event_new(cfg->base, -1, 0, on_kick, k)) == NULL)
        goto out;
    *out = k;
    k = NULL;
    r = 0;
out:
    if (k)
        release(k);
    return r;
}

void at_conn_free(struct at_conn *k)
{
    struct at_conn_req *q, *next;

    if (!k || k->dead)
        return;
    k->dead = 1;
    teardown(k);
    evtimer_del(k->retry_timer);
    event_del(k->kick);
    req_free(k->inflight);
    k->inflight = NULL;
    for (q = k->qhead; q; q = next) {
        next = q->next;
        req_free(q);
    }
    k->qhead = k->qtail = NULL;
    if (k->busy == 0)
        release(k);
}

int at_conn_start(struct at_conn *k)
{
    if (!k || k->dead)
        return NP_ERR_CLOSED;
    if (k->st == K_IDLE)
        k->start_pending = true;
    kick(k);
    return 0;
}

int at_conn_cmd(struct at_conn *k, const char *line, int timeout_ms, bool secret,
                at_conn_resp_fn fn, void *arg, struct at_conn_req **h)
{
    struct at_conn_req *q = NULL;
    size_t n;
    int r = NP_ERR_NOMEM;

    if (h)
        *h = NULL;
    if (!k || k->dead)
        return NP_ERR_CLOSED;
    if (!line || !fn || timeout_ms <= 0 || strpbrk(line, "\r\n"))
        return NP_ERR_INVAL;
    n = strlen(line);
    if ((q = np_calloc(1, sizeof(*q))) == NULL || (q->line = np_malloc(n + 2)) == NULL ||
        (q->timer = evtimer_new(k->cfg.base, on_req_timer, q)) == NULL)
        goto out;
    memcpy(q->line, line, n);
    q->line[n] = '\n';
    q->line[n + 1] = '\0';
    q->len = n + 1;
    q->k = k;
    q->secret = secret;
    q->timeout_ms = timeout_ms;
    q->fn = fn;
    q->arg = arg;
    set_timer(q->timer, timeout_ms);
    if (k->qtail)
        k->qtail->next = q;
    else
        k->qhead = q;
    k->qtail = q;
    if (h)
        *h = q;
    q = NULL;
    kick(k);
    r = 0;
out:
    req_free(q);
    return r;
}

void at_conn_cancel(struct at_conn *k, struct at_conn_req *h)
{
    if (!k || !h)
        return;
    if (h == k->inflight) {
        h->fn = NULL; /* the answer is still consumed when it comes */
        return;
    }
    unlink_queued(k, h);
    req_free(h);
}

int at_conn_send_line(struct at_conn *k, const char *line)
{
    if (!k || k->dead || !k->nc)
        return NP_ERR_CLOSED;
    if (!line || strpbrk(line, "\r\n"))
        return NP_ERR_INVAL;
    return write_line(k, line, strlen(line), false);
}

void at_conn_reset(struct at_conn *k, int err, const char *msg)
{
    if (!k || k->dead)
        return;
    if (k->st == K_READY)
        dropped(k, err, msg);
    else if (k->st != K_IDLE && k->st != K_BACKOFF)
        attempt_failed(k, err, false, msg);
}

void at_conn_pause(struct at_conn *k, bool pause)
{
    if (!k || !k->nc || k->paused == pause)
        return;
    k->paused = pause;
    if (pause)
        net_conn_pause(k->nc);
    else
        net_conn_resume(k->nc);
}

int at_conn_is_ready(const struct at_conn *k)
{
    return k && !k->dead && k->st == K_READY;
}

unsigned at_conn_attempts(const struct at_conn *k)
{
    return k ? k->attempt : 0;
}

int at_client_backoff_ms(unsigned attempt, int initial_ms, int max_ms, uint32_t rnd)
{
    int64_t base;
    int64_t half;

    if (attempt == 0)
        return 0;
    if (initial_ms <= 0)
        initial_ms = AT_CLIENT_DEFAULT_BACKOFF_MS;
    if (max_ms <= 0)
        max_ms = AT_CLIENT_DEFAULT_BACKOFF_MAX;
    if (initial_ms > max_ms)
        initial_ms = max_ms;
    base = initial_ms;
    for (unsigned i = 1; i < attempt && base < max_ms; i++)
        base *= 2;
    if (base > max_ms)
        base = max_ms;
    half = base / 2;
    return (int)(half + (int64_t)(rnd % (uint32_t)(base - half + 1)));
}

void at_client_log_link(int *state, int up, const char *who, const char *what, int err,
                        const char *message)
{
    if (up) {
        if (*state != 1)
            np_info("%s: %s available", who, what);
        *state = 1;
        return;
    }
    if (*state != 0)
        np_warn("%s: %s lost: %s%s%s", who, what, np_strerror(err), message ? ": " : "",
                message ? message : "");
    *state = 0;
}
