/*
 * lib/at/client.c - struct at_client: options and keys, the operation
 * machinery (at_op_*: deadlines, deferred completion), raw commands and the
 * atProtocol error mapping. The operations themselves are in client_ops.c,
 * shared-key handling in client_keys.c, the connection in client_conn.c.
 *
 * Invariant: user callbacks run only from done_cb (the `done` event), one
 * op at a time, with no other client code on the stack; an op whose
 * callback ran is freed right after. at_client_free from inside a callback
 * marks the client dead and the memory goes when done_cb returns.
 */
#include "at/client.h"
#include "at/atsign.h"
#include "at/client_int.h"
#include "at/error.h"
#include "at/root.h"
#include "crypto/atkeys.h"
#include "crypto/rsa.h"
#include "net/tls.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

struct at_client {
    struct event_base *base;
    struct evdns_base *dns;
    struct net_tls_ctx *tls;
    bool own_tls;
    struct at_conn *conn;
    char atsign[AT_ATSIGN_BUF];
    enum at_client_auth auth;
    char *root_host, *server_host, *cram_secret, *enrollment_id;
    int root_port, server_port;
    struct np_rsa_key *pkam, *enc_priv;
    char *enc_pub_b64, *self_key_b64;
    struct at_client_opts o; /* numeric options (strings above) */
    at_client_event_cb ev_cb;
    void *ev_data;
    struct at_op *live;                  /* ops not yet completed */
    struct at_op *done_head, *done_tail; /* completed, callback pending */
    struct event *done_ev;
    void *keys_state; /* client_keys.c */
    int busy, dead;
};

/* ---- error mapping ---- */

int at_client_err_from_code(int code)
{
    switch (code) {
    case AT_E_KEY_NOT_FOUND:
    case AT_E_SECONDARY_NOT_FOUND:
        return NP_ERR_NOTFOUND;
    case AT_E_AUTH_FAILED:
    case AT_E_APKAM_DENIED:
    case AT_E_APKAM_FAILED:
    case AT_E_APKAM_REVOKED:
    case AT_E_TOO_MANY_REQUESTS:
        return NP_ERR_AUTH;
    case AT_E_UNAUTHORIZED:
    case AT_E_CONNECTION:
        return NP_ERR_PERM;
    case AT_E_TIMEOUT:
        return NP_ERR_TIMEOUT;
    case AT_E_SOCKET:
    case AT_E_HANDSHAKE:
    case AT_E_SECONDARY_CONNECT:
        return NP_ERR_CONNECT;
    case AT_E_INVALID_KEY:
    case AT_E_ILLEGAL_ARGUMENTS:
        return NP_ERR_INVAL;
    case AT_E_BUFFER_LIMIT:
        return NP_ERR_TOOBIG;
    case AT_E_OUTBOUND_LIMIT:
    case AT_E_INBOUND_LIMIT:
        return NP_ERR_LIMIT;
    default:
        return NP_ERR_PROTO;
    }
}

/* ---- ops ---- */

static void op_unlink(struct at_op *op)
{
    struct at_client *c = op->c;

    if (op->prev)
        op->prev->next = op->next;
    else if (c->live == op)
        c->live = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
}

static void op_free(struct at_op *op)
{
    if (!op)
        return;
    if (op->timer)
        event_free(op->timer);
    np_freezero_str(op->value);
    at_metadata_clear(&op->md);
    np_free(op->text);
    np_free(op->id);
    np_free(op->r_message);
    np_free(op->r_data);
    if (op->r_value_secret)
        np_freezero(op->r_value, op->r_value_len + 1);
    else
        np_free(op->r_value);
    np_free(op->r_id);
    at_metadata_clear(&op->r_md);
    for (size_t i = 0; i < op->r_nkeys; i++)
        np_free(op->r_keys[i]);
    np_free(op->r_keys);
    np_memzero(op->other, sizeof(op->other));
    np_free(op);
}

static void op_stop(struct at_op *op)
{
    if (op->timer)
        evtimer_del(op->timer);
    if (op->req) {
        at_conn_cancel(op->c->conn, op->req);
        op->req = NULL;
    }
    if (op->wait) {
        at_client__cancel_want(op->c, op->wait);
        op->wait = NULL;
    }
}

static void call_cb(struct at_op *op)
{
    struct at_result r;

    memset(&r, 0, sizeof(r));
    r.err = op->err;
    r.at_code = op->err ? op->at_code : -1;
    r.conn_error = op->err ? op->conn_error : false;
    r.message = op->err ? (op->r_message ? op->r_message : np_strerror(op->err)) : NULL;
    r.data = op->r_data;
    r.value = op->r_value;
    r.value_len = op->r_value_len;
    r.md = op->r_has_md ? &op->r_md : NULL;
    r.keys = (const char *const *)op->r_keys;
    r.n_keys = op->r_nkeys;
    r.id = op->r_id;
    if (op->cb)
        op->cb(op->c, &r, op->data);
}

static void client_release(struct at_client *c);

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct at_client *c = arg;

    (void)fd;
    (void)what;
    c->busy++;
    while (c->done_head && !c->dead) {
        struct at_op *op = c->done_head;
        c->done_head = op->done_next;
        if (!c->done_head)
            c->done_tail = NULL;
        call_cb(op);
        op_free(op);
    }
    if (--c->busy == 0 && c->dead)
        client_release(c);
}

static void op_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct at_op *op = arg;
    char msg[96];

    (void)fd;
    (void)what;
    snprintf(msg, sizeof(msg), "operation timed out after %d ms", op->timeout_ms);
    at_op_fail(op, NP_ERR_TIMEOUT, -1, !at_conn_is_ready(op->c->conn), msg);
}

struct at_op *at_op_new(struct at_client *c, at_client_cb cb, void *data)
{
    struct at_op *op = np_calloc(1, sizeof(*op));
    struct timeval tv;

    if (!op)
        return NULL;
    op->c = c;
    op->cb = cb;
    op->data = data;
    op->at_code = -1;
    op->timeout_ms = c->o.request_timeout_ms;
    op->deadline = np_mono_ms() + op->timeout_ms;
    if ((op->timer = evtimer_new(c->base, op_timer_cb, op)) == NULL) {
        np_free(op);
        return NULL;
    }
    tv.tv_sec = op->timeout_ms / 1000;
    tv.tv_usec = (op->timeout_ms % 1000) * 1000;
    evtimer_add(op->timer, &tv);
    op->next = c->live;
    if (c->live)
        c->live->prev = op;
    c->live = op;
    return op;
}

void at_op_discard(struct at_op *op)
{
    if (!op)
        return;
    op_stop(op);
    op_unlink(op);
    op_free(op);
}

void at_op_done(struct at_op *op)
{
    struct at_client *c = op->c;

    if (op->done)
        return;
    op->done = true;
    op_stop(op);
    op_unlink(op);
    if (c->done_tail)
        c->done_tail->done_next = op;
    else
        c->done_head = op;
    c->done_tail = op;
    event_active(c->done_ev, EV_TIMEOUT, 0);
}

void at_op_fail(struct at_op *op, int err, int at_code, bool conn_error, const char *msg)
{
    if (op->done)
        return;
    op->err = err ? err : NP_ERR_INTERNAL;
    op->at_code = at_code;
    op->conn_error = conn_error;
    np_free(op->r_message);
    op->r_message = msg ? np_strdup(msg) : NULL;
    at_op_done(op);
}

void at_op_fail_outcome(struct at_op *op, const struct at_conn_outcome *o)
{
    if (o->err) {
        at_op_fail(op, o->err, -1, o->conn_error, o->msg);
    } else if (o->resp->kind == AT_RESP_ERROR) {
        char code[AT_ERR_CODE_BUF] = "";
        char msg[600];
        if (o->resp->code >= 0)
            at_err_code_format(code, sizeof(code), o->resp->code);
        snprintf(msg, sizeof(msg), "%s%s%s", code, code[0] ? ": " : "",
                 o->resp->message ? o->resp->message : "error");
        at_op_fail(op, at_client_err_from_code(o->resp->code), o->resp->code, false, msg);
    } else {
        at_op_fail(op, NP_ERR_PROTO, -1, false, "unexpected answer from the atServer");
    }
}

bool at_op_is_data(const struct at_conn_outcome *o)
{
    return o->err == 0 && o->resp && o->resp->kind == AT_RESP_DATA;
}

static void op_resp(void *arg, const struct at_conn_outcome *o)
{
    struct at_op *op = arg;

    op->req = NULL;
    if (op->done)
        return;
    op->step(op, o);
}

void at_op_send(struct at_op *op, const char *line, bool secret, at_op_step_fn step)
{
    int64_t left = op->deadline - np_mono_ms();
    int r;

    if (op->done)
        return;
    if (left < 1)
        left = 1;
    op->step = step;
    r = at_conn_cmd(op->c->conn, line, (int)left, secret, op_resp, op, &op->req);
    if (r != 0)
        at_op_fail(op, r, -1, false, "cannot queue the command");
}

void at_op_send_buf(struct at_op *op, struct np_buf *b, int build_err, at_op_step_fn step)
{
    if (build_err != 0 || !b)
        at_op_fail(op, build_err ? build_err : NP_ERR_NOMEM, -1, false, "cannot build the command");
    else
        at_op_send(op, np_buf_ptr(b), false, step);
    np_buf_free(b);
}

static void op_key_cb(void *arg, int err, int at_code, const char *value, const char *msg)
{
    struct at_op *op = arg;

    op->wait = NULL;
    if (op->done)
        return;
    op->key_step(op, err, at_code, value, msg);
}

void at_op_want_key(struct at_op *op, enum at_keykind kind, const char *atsign, unsigned flags,
                    at_op_key_fn fn)
{
    int r;

    if (op->done)
        return;
    op->key_step = fn;
    r = at_client__want_key(op->c, kind, atsign, flags, op_key_cb, op, &op->wait);
    if (r != 0)
        at_op_fail(op, r, -1, false, "cannot look up the key");
}

/* ---- raw command ---- */

static void cmd_answer(struct at_op *op, const struct at_conn_outcome *o)
{
    if (!at_op_is_data(o)) {
        at_op_fail_outcome(op, o);
        return;
    }
    if ((op->r_data = np_memdup0(o->resp->payload, o->resp->payload_len)) == NULL) {
        at_op_fail(op, NP_ERR_NOMEM, -1, false, NULL);
        return;
    }
    at_op_done(op);
}

int at_client_cmd(struct at_client *c, const char *line, at_client_cb cb, void *data)
{
    struct at_op *op;
    bool secret;

    if (!c || c->dead)
        return NP_ERR_CLOSED;
    if (!line || !*line || !cb || strpbrk(line, "\r\n"))
        return NP_ERR_INVAL;
    if ((op = at_op_new(c, cb, data)) == NULL)
        return NP_ERR_NOMEM;
    secret = strncmp(line, "pkam:", 5) == 0 || strncmp(line, "cram:", 5) == 0;
    at_op_send(op, line, secret, cmd_answer);
    return 0;
}

/* ---- connection hooks ---- */

static void conn_ready(void *owner)
{
    struct at_client *c = owner;

    if (c->ev_cb)
        c->ev_cb(c, AT_CLIENT_EV_READY, 0, NULL, c->ev_data);
}

static void conn_down(void *owner, int err, const char *msg)
{
    struct at_client *c = owner;

    if (c->ev_cb)
        c->ev_cb(c, AT_CLIENT_EV_DOWN, err, msg, c->ev_data);
}

/* ---- life cycle ---- */

static int copy_str(char **dst, const char *src)
{
    if (!src)
        return 0;
    return (*dst = np_strdup(src)) ? 0 : NP_ERR_NOMEM;
}

static int load_keys(struct at_client *c, const struct np_atkeys *k)
{
    int r;

    if (k->pkam_private_b64 && (r = np_rsa_from_private_b64(k->pkam_private_b64, &c->pkam)) != 0)
        return r;
    if (k->enc_private_b64 && (r = np_rsa_from_private_b64(k->enc_private_b64, &c->enc_priv)) != 0)
        return r;
    if ((r = copy_str(&c->enc_pub_b64, k->enc_public_b64)) != 0 ||
        (r = copy_str(&c->self_key_b64, k->self_enc_key_b64)) != 0 ||
        (r = copy_str(&c->enrollment_id, k->enrollment_id)) != 0)
        return r;
    return 0;
}

int at_client_new(struct event_base *base, const struct at_client_opts *o, struct at_client **out)
{
    struct at_client *c = NULL;
    struct at_conn_cfg cfg;
    int r = NP_ERR_INVAL;

    if (out)
        *out = NULL;
    if (!base || !o || !out || !o->atsign)
        return NP_ERR_INVAL;
    if ((o->auth == AT_CLIENT_AUTH_PKAM && !o->keys) ||
        (o->auth == AT_CLIENT_AUTH_CRAM && (!o->cram_secret || !*o->cram_secret)) ||
        (o->server_host && (o->server_port <= 0 || o->server_port > 65535)) || o->root_port < 0 ||
        o->root_port > 65535)
        return NP_ERR_INVAL;
    if ((c = np_calloc(1, sizeof(*c))) == NULL)
        return NP_ERR_NOMEM;
    c->base = base;
    c->dns = o->dns;
    c->o = *o;
    c->auth = o->auth;
    if (at_atsign_normalise(o->atsign, strlen(o->atsign), c->atsign, sizeof(c->atsign)) != 0)
        goto out;
    if (c->o.connect_timeout_ms <= 0)
        c->o.connect_timeout_ms = AT_CLIENT_DEFAULT_TIMEOUT_MS;
    if (c->o.request_timeout_ms <= 0)
        c->o.request_timeout_ms = AT_CLIENT_DEFAULT_TIMEOUT_MS;
    if (c->o.keepalive_ms < 0)
        c->o.keepalive_ms = 0;
    if (c->o.backoff_initial_ms <= 0)
        c->o.backoff_initial_ms = AT_CLIENT_DEFAULT_BACKOFF_MS;
    if (c->o.backoff_max_ms <= 0)
        c->o.backoff_max_ms = AT_CLIENT_DEFAULT_BACKOFF_MAX;
    if (c->o.max_line == 0)
        c->o.max_line = AT_CLIENT_DEFAULT_MAX_LINE;
    c->root_port = o->root_port ? o->root_port : AT_ROOT_DEFAULT_PORT;
    c->server_port = o->server_port;
    r = NP_ERR_NOMEM;
    if (copy_str(&c->root_host, o->root_host ? o->root_host : AT_ROOT_DEFAULT_HOST) != 0 ||
        copy_str(&c->server_host, o->server_host) != 0 ||
        copy_str(&c->cram_secret, o->cram_secret) != 0)
        goto out;
    if (o->keys && (r = load_keys(c, o->keys)) != 0) {
        np_error("%s: the keys do not load: %s", c->atsign, np_strerror(r));
        goto out;
    }
    if (o->auth == AT_CLIENT_AUTH_PKAM && !c->pkam) {
        np_error("%s: the keys have no PKAM private key", c->atsign);
        r = NP_ERR_INVAL;
        goto out;
    }
    if (o->tls) {
        c->tls = o->tls;
    } else {
        struct net_tls_client_opts to = {o->ca_file, NULL, NULL};
        if ((r = net_tls_client_ctx_new(&to, &c->tls)) != 0)
            goto out;
        c->own_tls = true;
    }
    r = NP_ERR_NOMEM;
    if ((c->done_ev = event_new(base, -1, 0, done_cb, c)) == NULL)
        goto out;
    at_client__conn_cfg(c, &cfg);
    cfg.tag = "cmd";
    cfg.persistent = o->persistent;
    cfg.keepalive_ms = c->o.keepalive_ms;
    cfg.hooks.on_ready = conn_ready;
    cfg.hooks.on_down = conn_down;
    cfg.owner = c;
    if ((r = at_conn_new(&cfg, &c->conn)) != 0)
        goto out;
    *out = c;
    c = NULL;
    r = 0;
out:
    if (c) {
        c->dead = 1;
        client_release(c);
    }
    return r;
}

static void client_release(struct at_client *c)
{
    at_conn_free(c->conn);
    at_client__keys_shutdown(c);
    if (c->done_ev)
        event_free(c->done_ev);
    if (c->own_tls)
        net_tls_ctx_free(c->tls);
    np_rsa_free(c->pkam);
    np_rsa_free(c->enc_priv);
    np_free(c->enc_pub_b64);
    np_freezero_str(c->self_key_b64);
    np_freezero_str(c->cram_secret);
    np_free(c->enrollment_id);
    np_free(c->root_host);
    np_free(c->server_host);
    np_free(c);
}

void at_client_free(struct at_client *c)
{
    struct at_op *op;

    if (!c || c->dead)
        return;
    c->dead = 1;
    c->busy++;
    for (op = c->live; op; op = op->next)
        op_stop(op);
    at_conn_free(c->conn);
    c->conn = NULL;
    at_client__keys_shutdown(c);
    /* completed ops keep their results; pending ones end with CLOSED */
    while ((op = c->live) != NULL) {
        op->done = true;
        op_unlink(op);
        op->err = NP_ERR_CLOSED;
        op->at_code = -1;
        np_free(op->r_message);
        op->r_message = NULL;
        call_cb(op);
        op_free(op);
    }
    while ((op = c->done_head) != NULL) {
        c->done_head = op->done_next;
        call_cb(op);
        op_free(op);
    }
    c->done_tail = NULL;
    if (--c->busy == 0)
        client_release(c);
}

void at_client_set_event_cb(struct at_client *c, at_client_event_cb cb, void *data)
{
    if (!c)
        return;
    c->ev_cb = cb;
    c->ev_data = data;
}

int at_client_start(struct at_client *c)
{
    if (!c || c->dead)
        return NP_ERR_CLOSED;
    return at_conn_start(c->conn);
}

const char *at_client_atsign(const struct at_client *c)
{
    return c ? c->atsign : NULL;
}

int at_client_is_ready(const struct at_client *c)
{
    return c && !c->dead && at_conn_is_ready(c->conn);
}

const char *at_client_enc_public_key(const struct at_client *c)
{
    return c ? c->enc_pub_b64 : NULL;
}

/* ---- internal accessors ---- */

struct at_conn *at_client__conn(struct at_client *c)
{
    return c->conn;
}

const struct np_rsa_key *at_client__enc_private(const struct at_client *c)
{
    return c->enc_priv;
}

const char *at_client__self_key(const struct at_client *c)
{
    return c->self_key_b64;
}

struct event_base *at_client__base(const struct at_client *c)
{
    return c->base;
}

int at_client__request_timeout(const struct at_client *c)
{
    return c->o.request_timeout_ms;
}

int at_client__dead(const struct at_client *c)
{
    return c->dead;
}

void **at_client__keys_slot(struct at_client *c)
{
    return &c->keys_state;
}

void at_client__conn_cfg(const struct at_client *c, struct at_conn_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->base = c->base;
    cfg->dns = c->dns;
    cfg->tls = c->tls;
    cfg->atsign = c->atsign;
    cfg->auth = c->auth;
    cfg->pkam = c->pkam;
    cfg->enrollment_id = c->enrollment_id;
    cfg->cram_secret = c->cram_secret;
    cfg->root_host = c->root_host;
    cfg->root_port = c->root_port;
    cfg->server_host = c->server_host;
    cfg->server_port = c->server_port;
    cfg->connect_timeout_ms = c->o.connect_timeout_ms;
    cfg->keepalive_timeout_ms = c->o.request_timeout_ms;
    cfg->backoff_initial_ms = c->o.backoff_initial_ms;
    cfg->backoff_max_ms = c->o.backoff_max_ms;
    cfg->max_line = c->o.max_line;
}
