/*
 * lib/at/root.c - asynchronous atDirectory lookup (see root.h).
 *
 * One net_conn in raw mode: the "@" prompt has no newline, so bytes are
 * collected by hand into a fixed buffer of AT_ROOT_MAX_ANSWER bytes. A
 * timer bounds the whole exchange; the callback runs once, from the loop.
 */
#include "at/root.h"
#include "at/atsign.h"
#include "net/conn.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

struct at_root_req {
    struct net_conn *conn;
    struct event *timer;
    at_root_cb cb;
    void *data;
    int prompted; /* the "@" prompt was seen and the atSign sent */
    char name[AT_ATSIGN_BUF];
    char buf[AT_ROOT_MAX_ANSWER + 1];
    size_t len;
};

int at_root_parse_answer(const char *s, size_t n, char host[NP_HOST_MAX + 1], int *port)
{
    char tmp[NP_HOST_MAX + 16];

    if (host)
        host[0] = '\0';
    if (port)
        *port = 0;
    if (!s || !host || !port)
        return NP_ERR_INVAL;
    while (n > 0 && (s[0] == '@' || isspace((unsigned char)s[0]))) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == '@' || isspace((unsigned char)s[n - 1])))
        n--;
    if (n == 4 && memcmp(s, "null", 4) == 0)
        return NP_ERR_NOTFOUND;
    if (n == 0 || n >= sizeof(tmp) || memchr(s, '\0', n))
        return NP_ERR_FORMAT;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (np_hostport_parse(tmp, 0, host, port) != 0) {
        host[0] = '\0';
        *port = 0;
        return NP_ERR_FORMAT;
    }
    return 0;
}

static void req_free(struct at_root_req *q)
{
    if (!q)
        return;
    net_conn_free(q->conn);
    if (q->timer)
        event_free(q->timer);
    np_free(q);
}

/* Deliver the result and release the request. */
static void finish(struct at_root_req *q, int err, const char *host, int port)
{
    at_root_cb cb = q->cb;
    void *data = q->data;
    char h[NP_HOST_MAX + 1] = "";

    if (host)
        snprintf(h, sizeof(h), "%s", host);
    req_free(q);
    cb(err, err == 0 ? h : NULL, err == 0 ? port : 0, data);
}

static void answer_done(struct at_root_req *q, size_t line_len)
{
    char host[NP_HOST_MAX + 1];
    int port = 0;
    int r = at_root_parse_answer(q->buf, line_len, host, &port);

    if (r == NP_ERR_NOTFOUND)
        np_debug("directory: %s is not known", q->name);
    else if (r != 0) {
        char esc[128];
        np_warn("directory: unparsable answer for %s: \"%s\"", q->name,
                np_log_escape(esc, sizeof(esc), q->buf, line_len));
    }
    finish(q, r, r == 0 ? host : NULL, port);
}

static void on_data(struct net_conn *c, const unsigned char *p, size_t n, void *data)
{
    struct at_root_req *q = data;

    if (!q->prompted) {
        const unsigned char *at = memchr(p, '@', n);
        char line[AT_ATSIGN_BUF + 2];
        int len;
        if (!at) {
            /* anything before the prompt is noise; bound it */
            if (q->len + n > AT_ROOT_MAX_ANSWER) {
                finish(q, NP_ERR_PROTO, NULL, 0);
                return;
            }
            q->len += n;
            return;
        }
        q->len = 0;
        q->prompted = 1;
        len = snprintf(line, sizeof(line), "%s\n", q->name + 1);
        if (len < 0 || (size_t)len >= sizeof(line) || net_conn_write(c, line, (size_t)len) != 0) {
            finish(q, NP_ERR_IO, NULL, 0);
            return;
        }
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    while (n > 0) {
        size_t room = AT_ROOT_MAX_ANSWER - q->len;
        size_t take = n < room ? n : room;
        char *nl;
        memcpy(q->buf + q->len, p, take);
        q->len += take;
        q->buf[q->len] = '\0';
        p += take;
        n -= take;
        if ((nl = memchr(q->buf, '\n', q->len)) != NULL) {
            answer_done(q, (size_t)(nl - q->buf));
            return;
        }
        if (q->len == AT_ROOT_MAX_ANSWER) {
            np_warn("directory: answer for %s longer than %d bytes", q->name, AT_ROOT_MAX_ANSWER);
            finish(q, NP_ERR_TOOBIG, NULL, 0);
            return;
        }
    }
}

static void on_close(struct net_conn *c, int reason, void *data)
{
    struct at_root_req *q = data;

    (void)c;
    q->conn = NULL; /* freed by net_conn after this returns */
    if (q->prompted && q->len > 0) {
        /* a directory that closes right after an answer without newline */
        answer_done(q, q->len);
        return;
    }
    if (reason == 0)
        reason = NP_ERR_EOF;
    np_debug("directory lookup of %s failed: %s", q->name, np_strerror(reason));
    finish(q, reason, NULL, 0);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct at_root_req *q = arg;

    (void)fd;
    (void)what;
    np_debug("directory lookup of %s timed out", q->name);
    finish(q, NP_ERR_TIMEOUT, NULL, 0);
}

int at_root_lookup(struct event_base *base, struct evdns_base *dns, struct net_tls_ctx *tls,
                   const char *root_host, int root_port, const char *atsign, int timeout_ms,
                   at_root_cb cb, void *data, struct at_root_req **out)
{
    static const struct net_conn_cbs cbs = {NULL, NULL, on_data, on_close};
    struct net_conn_opts o;
    struct at_root_req *q = NULL;
    struct timeval tv;
    int r;

    if (out)
        *out = NULL;
    if (!base || !root_host || !*root_host || root_port <= 0 || root_port > 65535 || !atsign ||
        !cb || timeout_ms <= 0)
        return NP_ERR_INVAL;
    if ((q = np_calloc(1, sizeof(*q))) == NULL)
        return NP_ERR_NOMEM;
    q->cb = cb;
    q->data = data;
    if ((r = at_atsign_normalise(atsign, strlen(atsign), q->name, sizeof(q->name))) != 0) {
        r = NP_ERR_INVAL;
        goto out;
    }
    r = NP_ERR_NOMEM;
    if ((q->timer = evtimer_new(base, on_timer, q)) == NULL)
        goto out;
    memset(&o, 0, sizeof(o));
    o.open_timeout_ms = timeout_ms;
    if ((r = net_conn_connect(base, dns, root_host, root_port, tls, NULL, &o, &cbs, q, &q->conn)) !=
        0)
        goto out;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    evtimer_add(q->timer, &tv);
    if (out)
        *out = q;
    q = NULL;
    r = 0;
out:
    req_free(q);
    return r;
}

void at_root_cancel(struct at_root_req *req)
{
    req_free(req);
}
