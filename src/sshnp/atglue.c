/*
 * src/sshnp/atglue.c - np_client_io over lib/at's client and monitor (see
 * atglue.h).
 */
#include "atglue.h"

#include <stdio.h>
#include <string.h>

#include "at/client.h"
#include "at/monitor.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

/* One get or scan in flight. */
struct op {
    struct op *next, *prev;
    struct atglue *g;
    np_client_get_fn get_done;
    np_client_scan_fn scan_done;
    void (*put_done)(void *data, int err, const char *message);
    void *arg;
    int cancelled;
    char *key, *value; /* ensure_signing_key: the record and its value */
};

struct atglue {
    struct at_client *c;
    struct at_monitor *m;
    struct op *ops;
    void (*on_notification)(void *data, const char *from, const char *key, const char *value,
                            size_t len);
    void (*on_status)(void *data, int up, int err, const char *message);
    void *data;
};

static struct op *op_new(struct atglue *g, void *arg)
{
    struct op *o = np_calloc(1, sizeof(*o));

    if (!o)
        return NULL;
    o->g = g;
    o->arg = arg;
    o->next = g->ops;
    if (g->ops)
        g->ops->prev = o;
    g->ops = o;
    return o;
}

static void op_free(struct op *o)
{
    if (!o)
        return;
    if (o->g) {
        if (o->prev)
            o->prev->next = o->next;
        else
            o->g->ops = o->next;
        if (o->next)
            o->next->prev = o->prev;
    }
    np_free(o->key);
    np_free(o->value);
    np_free(o);
}

/* ------------------------------------------------------------------ io */

static void notify_cb(struct at_client *c, const struct at_result *r, void *data)
{
    (void)c;
    (void)data;
    if (r->err != 0)
        np_warn("sending a notification failed: %s%s%s", np_strerror(r->err),
                r->message ? ": " : "", r->message ? r->message : "");
}

static int io_notify(void *data, const char *to, const char *key, const char *value, int64_t ttl_ms)
{
    struct atglue *g = data;
    struct at_client_notify n;

    memset(&n, 0, sizeof(n));
    n.to = to;
    n.key = key;
    n.value = value;
    n.op = AT_NOTIFY_UPDATE;
    n.ttl = ttl_ms;
    n.ttln = 60000;
    np_debug("notify %s -> %s", key, to);
    return at_client_notify(g->c, &n, notify_cb, NULL);
}

static void get_cb(struct at_client *c, const struct at_result *r, void *data)
{
    struct op *o = data;

    (void)c;
    if (!o->cancelled)
        o->get_done(o->arg, r->err, r->err == 0 ? r->value : NULL,
                    r->err == 0 && r->value ? r->value_len : 0);
    op_free(o);
}

static int io_get(void *data, const char *key, int bypass, np_client_get_fn done, void *arg)
{
    struct atglue *g = data;
    struct op *o = op_new(g, arg);
    int r;

    if (!o)
        return NP_ERR_NOMEM;
    o->get_done = done;
    if ((r = at_client_get(g->c, key, bypass ? AT_GET_BYPASS : 0, get_cb, o)) != 0)
        op_free(o);
    return r;
}

static void scan_cb(struct at_client *c, const struct at_result *r, void *data)
{
    struct op *o = data;

    (void)c;
    if (!o->cancelled)
        o->scan_done(o->arg, r->err, r->err == 0 ? r->keys : NULL, r->err == 0 ? r->n_keys : 0);
    op_free(o);
}

static int io_scan(void *data, const char *regex, np_client_scan_fn done, void *arg)
{
    struct atglue *g = data;
    struct op *o = op_new(g, arg);
    int r;

    if (!o)
        return NP_ERR_NOMEM;
    o->scan_done = done;
    if ((r = at_client_scan(g->c, regex, false, scan_cb, o)) != 0)
        op_free(o);
    return r;
}

static void io_cancel(void *data, void *arg)
{
    struct atglue *g = data;

    for (struct op *o = g->ops; o; o = o->next)
        if (o->arg == arg)
            o->cancelled = 1;
}

struct np_client_io atglue_io(struct atglue *g)
{
    struct np_client_io io;

    memset(&io, 0, sizeof(io));
    io.notify = io_notify;
    io.get = io_get;
    io.scan = io_scan;
    io.cancel = io_cancel;
    io.data = g;
    return io;
}

/* ------------------------------------------------------------- monitor */

static void mon_cb(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    struct atglue *g = data;

    (void)m;
    if (!n->from || !n->key)
        return;
    if (!n->value) {
        np_debug("notification %s from %s has no usable value (%s)", n->key, n->from,
                 n->decrypt_err ? np_strerror(n->decrypt_err) : "none");
        return;
    }
    g->on_notification(g->data, n->from, n->key, n->value, n->value_len);
}

static void mon_status(struct at_monitor *m, int connected, int err, const char *message,
                       void *data)
{
    struct atglue *g = data;

    (void)m;
    if (g->on_status)
        g->on_status(g->data, connected, err, message);
}

int atglue_new(struct event_base *base, const struct atglue_opts *o, struct atglue **out, char *err,
               size_t errlen)
{
    struct at_client_opts co;
    struct at_monitor_opts mo;
    struct atglue *g = NULL;
    int r;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!base || !o || !o->atsign || !o->keys || !o->on_notification)
        return NP_ERR_INVAL;
    if ((g = np_calloc(1, sizeof(*g))) == NULL)
        return NP_ERR_NOMEM;
    g->on_notification = o->on_notification;
    g->on_status = o->on_status;
    g->data = o->data;
    memset(&co, 0, sizeof(co));
    co.atsign = o->atsign;
    co.keys = o->keys;
    co.auth = AT_CLIENT_AUTH_PKAM;
    co.root_host = o->root_host;
    co.root_port = o->root_port;
    co.ca_file = o->ca_file;
    co.persistent = false; /* a CLI reports connection problems instead of retrying */
    if ((r = at_client_new(base, &co, &g->c)) != 0) {
        snprintf(err, errlen, "cannot set up the atProtocol client: %s", np_strerror(r));
        goto out;
    }
    memset(&mo, 0, sizeof(mo));
    mo.regex = "\\.(sshnp|sshrvd)@";
    mo.since_epoch_ms = -1;
    if ((r = at_monitor_start(g->c, &mo, mon_cb, mon_status, g, &g->m)) != 0) {
        snprintf(err, errlen, "cannot start the notification monitor: %s", np_strerror(r));
        goto out;
    }
    if ((r = at_client_start(g->c)) != 0) {
        snprintf(err, errlen, "cannot connect to the atServer: %s", np_strerror(r));
        goto out;
    }
    *out = g;
    g = NULL;
out:
    atglue_free(g);
    return r;
}

/* ----------------------------------------------------------- ESCR key */

static void put_cb(struct at_client *c, const struct at_result *r, void *data)
{
    struct op *o = data;

    (void)c;
    if (!o->cancelled)
        o->put_done(o->arg, r->err,
                    r->err ? (r->message ? r->message : np_strerror(r->err)) : NULL);
    op_free(o);
}

static void sk_get_cb(struct at_client *c, const struct at_result *r, void *data)
{
    struct op *o = data;
    struct atglue *g = o->g;
    int rc;

    if (o->cancelled) {
        op_free(o);
        return;
    }
    if (r->err == 0 && r->value && strcmp(r->value, o->value) == 0) {
        o->put_done(o->arg, 0, NULL); /* already published */
        op_free(o);
        return;
    }
    np_info("publishing %s (ESCR signing key)", o->key);
    if ((rc = at_client_put(c, o->key, o->value, NULL, put_cb, o)) != 0) {
        o->put_done(o->arg, rc, "cannot queue the put");
        op_free(o);
    }
    (void)g;
}

int atglue_ensure_signing_key(struct atglue *g, const char *enrollment_id, const char *pkam_pub_b64,
                              void (*done)(void *data, int err, const char *message), void *data,
                              char **uri)
{
    struct op *o = NULL;
    char key[512];
    int r;

    if (!uri)
        return NP_ERR_INVAL;
    *uri = NULL;
    if (!g || !pkam_pub_b64 || !done)
        return NP_ERR_INVAL;
    snprintf(key, sizeof(key), "public:_apsk.%s.a.__e%s",
             enrollment_id && enrollment_id[0] ? enrollment_id : "primary", at_client_atsign(g->c));
    if ((o = op_new(g, data)) == NULL || (o->key = np_strdup(key)) == NULL ||
        (o->value = np_strdup(pkam_pub_b64)) == NULL || (*uri = np_strdup(key)) == NULL) {
        op_free(o);
        return NP_ERR_NOMEM;
    }
    o->put_done = done;
    if ((r = at_client_get(g->c, key, AT_GET_BYPASS, sk_get_cb, o)) != 0) {
        op_free(o);
        np_free(*uri);
        *uri = NULL;
    }
    return r;
}

void atglue_free(struct atglue *g)
{
    if (!g)
        return;
    for (struct op *o = g->ops; o; o = o->next)
        o->cancelled = 1;
    at_monitor_free(g->m);
    at_client_free(g->c); /* completes pending ops (cancelled: dropped) */
    while (g->ops)
        op_free(g->ops);
    np_free(g);
}
