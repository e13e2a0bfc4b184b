/*
 * src/atserver/conn.c - per-connection state, limits and framing (see
 * conn.h; atprotocol.md 2.2-2.4; style.md practice 11).
 *
 * Framing: bytes from net_conn (on_data, raw) are appended to a bounded
 * input buffer and split at every '\n' (a '\r' before it is dropped), and
 * the lines are dispatched strictly in order. A command that completes later
 * (noop timer, remote request) suspends processing: the socket is paused and
 * the remaining lines wait in the buffer. The line limit depends on the
 * state: tight before authentication (unauth_max_line), AT_LINE_MAX after;
 * an over-long line is answered with AT0005 and the connection is closed.
 *
 * Output: every response is built in one buffer and handed to net_conn as
 * one block, which net_conn sends with one SSL_write (2.2).
 */
#include "conn.h"
#include "dispatch.h"
#include "monitor.h"
#include "server.h"

#include "at/error.h"
#include "at/response.h"
#include "crypto/rand.h"
#include "net/conn.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

/* Input accepted beyond the line limit in one read (a line and the start
 * of the next one); output beyond the largest response. */
#define IN_SLACK  (1u << 20)
#define OUT_SLACK (1u << 20)
/* Buffers that grew past this are released once empty. */
#define BUF_KEEP (64u << 10)
/* Connections accepted only to be refused with AT0012, beyond the limit. */
#define REFUSE_SLACK 16
/* At most one AT0012 warning per host per this many ms. */
#define REFUSE_LOG_MS 5000
/* Bytes of a line or response shown in the -vv trace. */
#define TRACE_MAX 300

static size_t line_limit(const struct as_conn *c)
{
    const struct as_config *cfg = &c->host->srv->cfg;
    return c->auth == AT_AUTH_NONE ? cfg->unauth_max_line : cfg->auth_max_line;
}

static size_t out_max(const struct as_config *cfg)
{
    /* a value may double when escaped in JSON (:all) */
    return 2 * cfg->auth_max_line + OUT_SLACK;
}

/* The allowed idle time: shrinks linearly from 50 % pool load to the
 * minimum at 100 % (2.3). */
static int idle_ms(const struct as_host *h, bool authed)
{
    const struct as_config *cfg = &h->srv->cfg;
    int64_t full = authed ? cfg->auth_idle_ms : cfg->unauth_idle_ms;
    int64_t min = authed ? cfg->auth_idle_min_ms : cfg->unauth_idle_min_ms;
    double load = cfg->max_conns > 0 ? (double)h->n_conns / cfg->max_conns : 0;
    int64_t v = full;

    if (load > 0.5 && full > min) {
        double f = (1.0 - load) / 0.5;
        if (f < 0)
            f = 0;
        v = min + (int64_t)((double)(full - min) * f);
    }
    if (v > INT_MAX)
        v = INT_MAX;
    return (int)(v < 0 ? 0 : v);
}

const char *conn_prompt(const struct as_conn *c)
{
    if (c->auth == AT_AUTH_OWNER)
        return c->host->prompt;
    if (c->auth == AT_AUTH_POL)
        return c->pol_prompt;
    return "@";
}

const char *conn_error_prompt(const struct as_conn *c)
{
    return c->auth == AT_AUTH_OWNER ? c->host->prompt : "@";
}

static void trace_out(struct as_conn *c, const void *p, size_t n)
{
    char esc[TRACE_MAX * 4 + 8];

    if (np_log_level_current < NP_LOG_TRACE)
        return;
    if (c->redact_output) {
        np_trace("%s -> <response of %zu bytes not shown>", c->tag, n);
        return;
    }
    np_trace("%s -> %s", c->tag, np_log_escape(esc, sizeof(esc), p, n < TRACE_MAX ? n : TRACE_MAX));
}

int conn_write_raw(struct as_conn *c, const void *p, size_t n)
{
    if (c->closing)
        return NP_ERR_CLOSED;
    trace_out(c, p, n);
    if (!c->nc)
        return np_buf_put(c->mem, p, n) == 0 ? 0 : NP_ERR_LIMIT;
    return net_conn_write(c->nc, p, n);
}

size_t conn_output_pending(const struct as_conn *c)
{
    return c->nc ? net_conn_output_len(c->nc) : c->mem_pending;
}

/* Send the response built in c->out; a response that cannot be queued
 * closes the connection. */
static void send_out(struct as_conn *c)
{
    int r = conn_write_raw(c, np_buf_ptr(c->out), np_buf_len(c->out));

    c->redact_output = false;
    if (r != 0 && r != NP_ERR_CLOSED) {
        np_warn("%s: cannot queue a response of %zu bytes (%s); closing", c->tag,
                np_buf_len(c->out), np_strerror(r));
        conn_close(c);
    }
    if (np_buf_len(c->out) > BUF_KEEP) {
        struct np_buf *nb = np_buf_new(np_buf_max(c->out));
        if (nb) {
            np_buf_free(c->out);
            c->out = nb;
        }
    }
    np_buf_reset(c->out);
}

void conn_reply_data(struct as_conn *c, const char *payload, size_t len, bool spaced)
{
    int r;

    if (c->closing)
        return;
    np_buf_reset(c->out);
    if ((r = at_response_format_data(c->out, payload, len, spaced, conn_prompt(c))) != 0) {
        np_buf_reset(c->out);
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "response too large");
        return;
    }
    send_out(c);
}

void conn_reply_str(struct as_conn *c, const char *payload)
{
    conn_reply_data(c, payload, strlen(payload), false);
}

void conn_reply_error(struct as_conn *c, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (c->closing)
        return;
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    np_buf_reset(c->out);
    c->redact_output = false;
    if (at_response_format_error(c->out, code, fmt ? msg : NULL, c->auth == AT_AUTH_OWNER,
                                 c->json_errors, conn_error_prompt(c)) != 0) {
        np_error("%s: cannot format error AT%04d", c->tag, code);
        conn_close(c);
        return;
    }
    np_debug("%s: AT%04d %s", c->tag, code, fmt ? msg : "");
    send_out(c);
    if (at_err_closes_connection(code))
        conn_close(c);
}

void conn_reply_error_colon(struct as_conn *c, int code, const char *message)
{
    if (c->closing)
        return;
    np_buf_reset(c->out);
    if (at_response_format_error_colon(c->out, code, message, conn_error_prompt(c)) != 0) {
        conn_close(c);
        return;
    }
    send_out(c);
}

void conn_reply_store_error(struct as_conn *c, int r, const char *what)
{
    np_error("%s: storage failure while %s: %s", c->tag, what, np_strerror(r));
    conn_reply_error(c, AT_E_DATASTORE, "%s failed: %s", what, np_strerror(r));
}

void conn_close(struct as_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->nc)
        net_conn_close(c->nc);
}

static void overlong(struct as_conn *c)
{
    size_t limit = line_limit(c);

    np_info("%s: command line over %zu bytes (%s); closing", c->tag, limit,
            c->auth == AT_AUTH_NONE ? "unauthenticated" : "authenticated");
    np_buf_reset(c->in);
    conn_reply_error(c, AT_E_BUFFER_LIMIT, "command line over %zu bytes", limit);
    conn_close(c);
}

static void release_big_input(struct as_conn *c)
{
    struct np_buf *nb;

    if (np_buf_len(c->in) != 0 || (nb = np_buf_new(np_buf_max(c->in))) == NULL)
        return;
    np_buf_free(c->in);
    c->in = nb;
}

/* Dispatch buffered complete lines in order until suspended or closed. */
static void process(struct as_conn *c)
{
    bool big = false;

    while (!c->busy && !c->closing) {
        char *line = NULL;
        size_t len = 0;
        int r = np_buf_take_line(c->in, line_limit(c), &line, &len);
        if (r == NP_AGAIN)
            break;
        if (r == NP_ERR_TOOBIG) {
            overlong(c);
            break;
        }
        if (r != 0) {
            np_error("%s: out of memory reading a command; closing", c->tag);
            conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
            break;
        }
        if (len > BUF_KEEP)
            big = true;
        c->n_cmds++;
        dispatch_line(c, line, len);
        np_free(line);
    }
    if (big)
        release_big_input(c);
    if (c->busy && c->nc)
        net_conn_pause(c->nc);
}

void conn_feed(struct as_conn *c, const void *p, size_t n)
{
    if (c->closing || n == 0)
        return;
    if (np_buf_put(c->in, p, n) != 0) {
        overlong(c);
        return;
    }
    if (memchr(p, '\n', n))
        process(c);
    else if (!c->busy && np_buf_len(c->in) >= line_limit(c))
        overlong(c);
}

void conn_set_owner(struct as_conn *c, enum as_auth_method m)
{
    struct as_host *h = c->host;

    c->auth = AT_AUTH_OWNER;
    c->method = m;
    h->last_login_ms = np_wall_ms();
    if (m == AS_AUTH_PKAM)
        h->last_pkam_ms = h->last_login_ms;
    if (c->nc)
        net_conn_set_timeouts(c->nc, idle_ms(h, true), h->srv->cfg.write_timeout_ms);
}

void conn_suspend(struct as_conn *c, conn_cancel_fn cancel, void *async)
{
    c->busy = true;
    c->cancel = cancel;
    c->async = async;
}

void conn_resume(struct as_conn *c)
{
    c->busy = false;
    c->cancel = NULL;
    c->async = NULL;
    if (c->closing)
        return;
    if (c->nc)
        net_conn_resume(c->nc);
    process(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg);

int conn_start_timer(struct as_conn *c, int64_t ms, void (*cb)(struct as_conn *c))
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

    if (!c->timer && (c->timer = evtimer_new(c->host->srv->base, timer_cb, c)) == NULL)
        return NP_ERR_NOMEM;
    c->timer_cb = cb;
    return evtimer_add(c->timer, &tv) == 0 ? 0 : NP_ERR_INTERNAL;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct as_conn *c = arg;
    void (*cb)(struct as_conn *) = c->timer_cb;

    (void)fd;
    (void)what;
    c->timer_cb = NULL;
    if (cb)
        cb(c);
}

/* ---- construction and teardown ---- */

static struct as_conn *conn_alloc(struct as_host *h)
{
    struct as_server *srv = h->srv;
    struct as_conn *c = np_calloc(1, sizeof(*c));
    char uuid[NP_UUID_STR_LEN + 1];

    if (!c)
        return NULL;
    c->host = h;
    c->id = ++srv->next_conn_id;
    c->in = np_buf_new(srv->cfg.auth_max_line + IN_SLACK);
    c->out = np_buf_new(out_max(&srv->cfg));
    if (!c->in || !c->out || np_uuid4(uuid) != 0) {
        np_buf_free(c->in);
        np_buf_free(c->out);
        np_free(c);
        return NULL;
    }
    snprintf(c->sid, sizeof(c->sid), "_%s", uuid);
    c->tokens = srv->cfg.unauth_cmds_burst;
    c->tokens_ms = np_mono_ms();
    snprintf(c->tag, sizeof(c->tag), "%s #%llu", h->atsign, (unsigned long long)c->id);
    return c;
}

static void link_conn(struct as_conn *c)
{
    struct as_host *h = c->host;

    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->n_conns++;
}

void conn_destroy(struct as_conn *c)
{
    struct as_host *h;

    if (!c)
        return;
    h = c->host;
    if (c->cancel) {
        conn_cancel_fn fn = c->cancel;
        c->cancel = NULL;
        fn(c);
    }
    if (c->timer)
        event_free(c->timer);
    monitor_free(c->mon);
    if (c->prev)
        c->prev->next = c->next;
    else if (h->conns == c)
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->n_conns--;
    if (c->nc)
        net_conn_free(c->nc);
    np_buf_free(c->in);
    np_buf_free(c->out);
    np_buf_free(c->mem);
    np_free(c->challenge);
    np_free(c->enrollment_id);
    np_free(c);
}

static void nc_on_connected(struct net_conn *nc, void *data)
{
    struct as_conn *c = data;
    struct as_host *h = c->host;

    if (c->refuse) {
        struct np_buf *b = c->out;
        int64_t now = np_mono_ms();
        h->n_refused++;
        if (h->last_refusal_log == 0 || now - h->last_refusal_log >= REFUSE_LOG_MS) {
            np_warn("%s: inbound connection limit (%d) reached: refusing %s with AT0012", h->atsign,
                    h->srv->cfg.max_conns, net_conn_peer(nc));
            h->last_refusal_log = now;
        }
        np_buf_reset(b);
        if (at_response_format_error(b, AT_E_INBOUND_LIMIT, NULL, false, false, NULL) == 0)
            conn_write_raw(c, np_buf_ptr(b), np_buf_len(b));
        np_buf_reset(b);
        conn_close(c);
        return;
    }
    np_debug("%s: connected", c->tag);
    conn_write_raw(c, "@", 1);
}

static void nc_on_data(struct net_conn *nc, const unsigned char *p, size_t n, void *data)
{
    (void)nc;
    conn_feed(data, p, n);
}

static void nc_on_close(struct net_conn *nc, int reason, void *data)
{
    struct as_conn *c = data;

    (void)nc;
    if (reason == NP_ERR_TIMEOUT)
        np_info("%s: idle, handshake or write timeout; closed", c->tag);
    else if (reason == NP_ERR_TLS)
        np_debug("%s: TLS failure; closed", c->tag);
    else
        np_debug("%s: closed (%s)", c->tag, reason ? np_strerror(reason) : "by us");
    c->nc = NULL; /* net_conn frees it after this callback */
    conn_destroy(c);
}

int conn_accept(struct as_host *h, int fd)
{
    static const struct net_conn_cbs cbs = {
        .on_connected = nc_on_connected, .on_data = nc_on_data, .on_close = nc_on_close};
    struct as_server *srv = h->srv;
    struct net_conn_opts co;
    struct as_conn *c;
    int r;

    if (h->n_conns >= srv->cfg.max_conns + REFUSE_SLACK) {
        h->n_refused++;
        close(fd);
        return NP_ERR_LIMIT;
    }
    if ((c = conn_alloc(h)) == NULL) {
        np_error("%s: out of memory; refusing a connection", h->atsign);
        close(fd);
        return NP_ERR_NOMEM;
    }
    c->refuse = h->n_conns >= srv->cfg.max_conns;
    memset(&co, 0, sizeof(co));
    co.max_line = 1; /* unused: raw input (on_data) */
    co.max_output = out_max(&srv->cfg);
    co.open_timeout_ms = srv->cfg.handshake_ms;
    co.idle_timeout_ms = idle_ms(h, false);
    co.write_timeout_ms = srv->cfg.write_timeout_ms;
    if ((r = net_conn_accept(srv->base, fd, srv->tls, &co, &cbs, c, &c->nc)) != 0) {
        np_warn("%s: cannot set up a connection: %s", h->atsign, np_strerror(r));
        np_buf_free(c->in);
        np_buf_free(c->out);
        np_free(c);
        return r;
    }
    snprintf(c->tag, sizeof(c->tag), "%s %s #%llu", h->atsign, net_conn_peer(c->nc),
             (unsigned long long)c->id);
    h->n_accepted++;
    link_conn(c);
    return 0;
}

int conn_new_memory(struct as_host *h, struct as_conn **out)
{
    struct as_conn *c;

    *out = NULL;
    if ((c = conn_alloc(h)) == NULL)
        return NP_ERR_NOMEM;
    if ((c->mem = np_buf_new(out_max(&h->srv->cfg))) == NULL) {
        np_buf_free(c->in);
        np_buf_free(c->out);
        np_free(c);
        return NP_ERR_NOMEM;
    }
    link_conn(c);
    conn_write_raw(c, "@", 1);
    *out = c;
    return 0;
}

struct np_buf *conn_memory_output(struct as_conn *c)
{
    return c->mem;
}

void conn_free(struct as_conn *c)
{
    conn_destroy(c);
}
