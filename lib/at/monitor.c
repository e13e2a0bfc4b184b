/*
 * lib/at/monitor.c - the monitor connection (see monitor.h and
 * docs/internals/client.md).
 *
 * Pipeline: pushed line -> at_notification_parse -> skip stats (id -1) ->
 * de-duplicate by id (at_idset) -> pending FIFO -> decrypt (possibly after
 * an asynchronous key fetch on the client's command connection) ->
 * delivered in FIFO order from the `deliver` event. Connection status
 * changes are queued the same way, so user callbacks only ever run from
 * deliver_cb with no monitor or connection code below them on the stack.
 */
#include "at/monitor.h"
#include "at/client_int.h"
#include "at/e2e.h"
#include "at/notification.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

struct at_monitor;

struct pending {
    struct at_monitor *m;
    struct at_notification n;
    char *plain; /* secret when decrypted */
    size_t plain_len;
    bool plain_secret;
    int decrypt_err;
    bool ready;
    bool retried;
    struct at_keywait *wait;
    struct pending *next;
};

struct status {
    int connected, err;
    char *msg;
    struct status *next;
};

struct at_monitor {
    struct at_client *c;
    struct at_conn *conn;
    struct at_monitor_opts o;
    char *regex;
    at_monitor_cb cb;
    at_monitor_status_cb scb;
    void *data;
    struct at_idset *seen;
    struct pending *head, *tail;
    size_t npending;
    bool paused;
    struct status *st_head, *st_tail;
    struct event *deliver_ev;
    int64_t last_epoch, started_wall;
    uint64_t delivered;
    bool live;
    int busy, dead;
};

int64_t at_monitor_resume_epoch(int64_t since_epoch, int64_t started_wall, int64_t last_epoch)
{
    if (last_epoch > 0)
        return last_epoch - 1;
    if (since_epoch >= 0)
        return since_epoch;
    if (started_wall > 0)
        return started_wall;
    return -1;
}

static void pending_free(struct at_monitor *m, struct pending *p)
{
    if (p->wait)
        at_client__cancel_want(m->c, p->wait);
    if (p->plain_secret)
        np_freezero(p->plain, p->plain_len + 1);
    else
        np_free(p->plain);
    at_notification_clear(&p->n);
    np_free(p);
}

static void kick(struct at_monitor *m)
{
    if (!m->dead)
        event_active(m->deliver_ev, EV_TIMEOUT, 0);
}

static void queue_status(struct at_monitor *m, int connected, int err, const char *msg)
{
    struct status *s;

    if (!m->scb)
        return;
    if ((s = np_calloc(1, sizeof(*s))) == NULL)
        return;
    s->connected = connected;
    s->err = err;
    s->msg = msg ? np_strdup(msg) : NULL;
    if (m->st_tail)
        m->st_tail->next = s;
    else
        m->st_head = s;
    m->st_tail = s;
    kick(m);
}

/* ---- decryption ---- */

/* The ciphertext of a notification: the value, or for an encrypted text
 * message the text after "<to>:". */
static const char *cipher_of(const struct at_notification *n)
{
    if (n->msg_type == AT_MSG_TEXT) {
        const char *colon = n->key ? strchr(n->key, ':') : NULL;
        return colon ? colon + 1 : NULL;
    }
    return n->value;
}

static int try_decrypt(struct pending *p, const char *key_b64)
{
    const char *iv = at_metadata_has(&p->n.md, AT_MD_IV_NONCE) ? p->n.md.iv_nonce : NULL;
    char *plain = NULL;
    size_t n = 0;
    int r = at_e2e_decrypt(key_b64, iv, cipher_of(&p->n), &plain, &n);

    if (r == 0) {
        p->plain = plain;
        p->plain_len = n;
        p->plain_secret = true;
        p->decrypt_err = 0;
    }
    return r;
}

static void prepare(struct pending *p);

static void key_ready(void *arg, int err, int at_code, const char *key, const char *msg)
{
    struct pending *p = arg;
    struct at_monitor *m = p->m;
    int r;

    (void)at_code;
    p->wait = NULL;
    if (err) {
        np_warn("monitor %s: cannot decrypt notification %s from %s: %s", at_client_atsign(m->c),
                p->n.id, p->n.from ? p->n.from : "?", msg ? msg : np_strerror(err));
        p->decrypt_err = err;
        p->ready = true;
    } else if ((r = try_decrypt(p, key)) != 0) {
        np_warn("monitor %s: notification %s from %s does not decrypt: %s", at_client_atsign(m->c),
                p->n.id, p->n.from, np_strerror(r));
        p->decrypt_err = r;
        p->ready = true;
    } else {
        p->ready = true;
    }
    kick(m);
}

static void want(struct pending *p, unsigned flags)
{
    int r = at_client__want_key(p->m->c, AT_KK_THEIRS, p->n.from, flags, key_ready, p, &p->wait);

    if (r != 0) {
        p->decrypt_err = r;
        p->ready = true;
    }
}

/* Decide what a new notification needs; decrypt at once when the key is
 * at hand, else start a key fetch (key_ready finishes it). */
static void prepare(struct pending *p)
{
    struct at_monitor *m = p->m;
    const struct at_notification *n = &p->n;
    const char *cipher = cipher_of(n);
    char key[AT_E2E_KEY_B64_BUF];

    p->ready = true;
    if (m->o.raw || !n->is_encrypted || !cipher || !*cipher)
        return;
    if (n->key && strstr(n->key, "shared_key"))
        return; /* 8.4: shared-key records are not decrypted */
    if (!n->from) {
        p->decrypt_err = NP_ERR_FORMAT;
        return;
    }
    if (at_metadata_has(&n->md, AT_MD_SHARED_KEY_ENC) && n->md.shared_key_enc &&
        at_client__unwrap(m->c, n->md.shared_key_enc, key) == 0) {
        int r = try_decrypt(p, key);
        if (r == 0)
            at_client__cache_key(m->c, AT_KK_THEIRS, n->from, key);
        np_memzero(key, sizeof(key));
        if (r == 0)
            return;
    }
    if (at_client__cached_key(m->c, AT_KK_THEIRS, n->from, key, sizeof(key)) == 0) {
        int r = try_decrypt(p, key);
        np_memzero(key, sizeof(key));
        if (r == 0)
            return;
        /* the sender may have made a new key: fetch it again once */
        at_client__drop_key(m->c, AT_KK_THEIRS, n->from);
        p->retried = true;
        p->ready = false;
        want(p, AT_KW_REFRESH);
        return;
    }
    p->ready = false;
    want(p, 0);
}

/* ---- delivery ---- */

static void release(struct at_monitor *m)
{
    while (m->st_head) {
        struct status *s = m->st_head;
        m->st_head = s->next;
        np_free(s->msg);
        np_free(s);
    }
    if (m->deliver_ev)
        event_free(m->deliver_ev);
    at_idset_free(m->seen);
    np_free(m->regex);
    np_free(m);
}

static void deliver_one(struct at_monitor *m, struct pending *p)
{
    struct at_monitor_notification x;
    const struct at_notification *n = &p->n;

    memset(&x, 0, sizeof(x));
    x.id = n->id;
    x.from = n->from;
    x.to = n->to;
    x.key = n->key;
    x.raw_value = n->value;
    if (p->plain) {
        x.value = p->plain;
        x.value_len = p->plain_len;
    } else if (m->o.raw || !n->is_encrypted) {
        x.value = n->value;
        x.value_len = n->value ? strlen(n->value) : 0;
    }
    x.decrypt_err = p->decrypt_err;
    x.is_encrypted = n->is_encrypted;
    x.epoch_ms = n->epoch_ms;
    x.op = n->op;
    x.msg_type = n->msg_type;
    x.md = &n->md;
    m->delivered++;
    m->cb(m, &x, m->data);
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct at_monitor *m = arg;

    (void)fd;
    (void)what;
    m->busy++;
    while (m->st_head && !m->dead) {
        struct status *s = m->st_head;
        m->st_head = s->next;
        if (!m->st_head)
            m->st_tail = NULL;
        m->scb(m, s->connected, s->err, s->msg, m->data);
        np_free(s->msg);
        np_free(s);
    }
    while (m->head && m->head->ready && !m->dead) {
        struct pending *p = m->head;
        m->head = p->next;
        if (!m->head)
            m->tail = NULL;
        m->npending--;
        deliver_one(m, p);
        pending_free(m, p);
    }
    if (!m->dead && m->paused && m->npending < AT_MONITOR_MAX_PENDING / 2) {
        m->paused = false;
        at_conn_pause(m->conn, false);
    }
    if (--m->busy == 0 && m->dead)
        release(m);
}

/* ---- connection hooks ---- */

static void on_push(void *owner, const char *json, size_t len)
{
    struct at_monitor *m = owner;
    struct pending *p;
    char esc[160];
    int r;

    if ((p = np_calloc(1, sizeof(*p))) == NULL) {
        np_error("monitor %s: out of memory; notification dropped", at_client_atsign(m->c));
        return;
    }
    p->m = m;
    if ((r = at_notification_parse(json, len, &p->n)) != 0) {
        np_warn("monitor %s: bad notification (%s): %s", at_client_atsign(m->c), np_strerror(r),
                np_log_escape(esc, sizeof(esc), json, len));
        np_free(p);
        return;
    }
    if (at_notification_is_stats(&p->n)) {
        pending_free(m, p);
        return;
    }
    if (at_idset_check_add(m->seen, p->n.id) == 1) {
        np_debug("monitor %s: duplicate notification %s dropped", at_client_atsign(m->c), p->n.id);
        pending_free(m, p);
        return;
    }
    if (p->n.epoch_ms > m->last_epoch)
        m->last_epoch = p->n.epoch_ms;
    if (m->tail)
        m->tail->next = p;
    else
        m->head = p;
    m->tail = p;
    if (++m->npending >= AT_MONITOR_MAX_PENDING && !m->paused) {
        m->paused = true;
        at_conn_pause(m->conn, true);
    }
    prepare(p);
    if (m->head->ready)
        kick(m);
}

static void on_ready(void *owner)
{
    struct at_monitor *m = owner;
    struct np_buf *b = np_buf_new(8192);
    int64_t since = at_monitor_resume_epoch(m->o.since_epoch_ms, m->started_wall, m->last_epoch);
    int r = b ? at_build_monitor(b, false, m->o.self_notifications, false, since, m->regex)
              : NP_ERR_NOMEM;

    if (r == 0)
        r = at_conn_send_line(m->conn, np_buf_ptr(b));
    np_buf_free(b);
    if (r != 0) {
        at_conn_reset(m->conn, r, "cannot send the monitor command");
        return;
    }
    if (m->started_wall == 0)
        m->started_wall = np_wall_ms();
    m->paused = false;
    m->live = true;
    np_debug("monitor %s: live (since %lld)", at_client_atsign(m->c), (long long)since);
    queue_status(m, 1, 0, NULL);
}

static void on_down(void *owner, int err, const char *msg)
{
    struct at_monitor *m = owner;

    m->live = false;
    m->paused = false;
    queue_status(m, 0, err, msg);
}

/* ---- API ---- */

int at_monitor_start(struct at_client *c, const struct at_monitor_opts *o, at_monitor_cb cb,
                     at_monitor_status_cb status_cb, void *data, struct at_monitor **out)
{
    struct at_monitor *m = NULL;
    struct at_conn_cfg cfg;
    int r = NP_ERR_NOMEM;

    if (out)
        *out = NULL;
    if (!c || at_client__dead(c))
        return NP_ERR_CLOSED;
    if (!cb || !out || (o && o->regex && (!*o->regex || strpbrk(o->regex, "\r\n"))))
        return NP_ERR_INVAL;
    if ((m = np_calloc(1, sizeof(*m))) == NULL)
        return NP_ERR_NOMEM;
    m->c = c;
    m->cb = cb;
    m->scb = status_cb;
    m->data = data;
    if (o)
        m->o = *o;
    else
        m->o.since_epoch_ms = -1;
    if (m->o.keepalive_ms == 0)
        m->o.keepalive_ms = AT_MONITOR_KEEPALIVE_DEFAULT;
    if (m->o.dedup_capacity == 0)
        m->o.dedup_capacity = AT_MONITOR_DEDUP_DEFAULT;
    if ((m->o.regex && (m->regex = np_strdup(m->o.regex)) == NULL) ||
        (m->seen = at_idset_new(m->o.dedup_capacity)) == NULL ||
        (m->deliver_ev = event_new(at_client__base(c), -1, 0, deliver_cb, m)) == NULL)
        goto out;
    m->o.regex = NULL;
    at_client__conn_cfg(c, &cfg);
    cfg.tag = "monitor";
    cfg.persistent = true;
    /* One notification too long for us must not drop the monitor: it would
     * be replayed at every reconnect until it expires (a cheap denial of
     * service by any atSign). Lines are independent, so skip it. */
    cfg.skip_long_lines = true;
    cfg.keepalive_ms = m->o.keepalive_ms > 0 ? m->o.keepalive_ms : 0;
    cfg.hooks.on_ready = on_ready;
    cfg.hooks.on_down = on_down;
    cfg.hooks.on_push = on_push;
    cfg.owner = m;
    if ((r = at_conn_new(&cfg, &m->conn)) != 0 || (r = at_conn_start(m->conn)) != 0)
        goto out;
    *out = m;
    m = NULL;
    r = 0;
out:
    if (m) {
        at_conn_free(m->conn);
        release(m);
    }
    return r;
}

void at_monitor_free(struct at_monitor *m)
{
    if (!m || m->dead)
        return;
    m->dead = 1;
    at_conn_free(m->conn);
    m->conn = NULL;
    while (m->head) {
        struct pending *p = m->head;
        m->head = p->next;
        pending_free(m, p);
    }
    m->tail = NULL;
    event_del(m->deliver_ev);
    if (m->busy == 0)
        release(m);
}

int64_t at_monitor_last_epoch(const struct at_monitor *m)
{
    return m ? m->last_epoch : 0;
}

uint64_t at_monitor_delivered(const struct at_monitor *m)
{
    return m ? m->delivered : 0;
}

int at_monitor_is_live(const struct at_monitor *m)
{
    return m && !m->dead && m->live;
}
