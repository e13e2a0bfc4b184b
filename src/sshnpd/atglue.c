/* src/sshnpd/atglue.c - struct sshnpd_io over lib/at (see atglue.h). */
#include "atglue.h"
#include "at/client.h"
#include "at/keyfetch.h"
#include "at/metadata.h"
#include "at/monitor.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <stdio.h>
#include <string.h>

/* Context of a fire-and-forget operation, for its log line. */
struct gop {
    char what[16];
    char name[300];
};

struct sd_glue {
    struct event_base *base;
    struct at_client *client;
    struct at_monitor *monitor;
    struct sshnpd *d;
    struct at_keyfetch *fetches; /* public-key lookups, cancellable per session */
    int keepalive_ms;
    int client_up;  /* -1 unknown, 0 down, 1 up */
    int monitor_up; /* same */
};

/* ---- connection state --------------------------------------------------- */

static void on_client_event(struct at_client *c, enum at_client_event ev, int err,
                            const char *message, void *data)
{
    struct sd_glue *g = data;
    (void)c;

    at_client_log_link(&g->client_up, ev == AT_CLIENT_EV_READY, "sshnpd",
                       "atServer command connection", err, message);
    if (ev == AT_CLIENT_EV_READY && g->d)
        sshnpd_connected(g->d);
}

static void on_monitor_status(struct at_monitor *m, int connected, int err, const char *message,
                              void *data)
{
    struct sd_glue *g = data;
    (void)m;

    at_client_log_link(&g->monitor_up, connected, "sshnpd", "monitor connection", err, message);
}

static void on_notification(struct at_monitor *m, const struct at_monitor_notification *n,
                            void *data)
{
    struct sd_glue *g = data;
    (void)m;

    if (!g->d || !n->from || !n->key)
        return;
    if (n->is_encrypted && !n->value) {
        np_debug("sshnpd: notification %s could not be decrypted: %s", n->id ? n->id : "?",
                 np_strerror(n->decrypt_err));
        return;
    }
    sshnpd_handle(g->d, n->id, n->from, n->key, n->value, n->value ? n->value_len : 0);
}

/* ---- the interface ------------------------------------------------------ */

static struct gop *gop_new(const char *what, const char *name)
{
    struct gop *op = np_calloc(1, sizeof(*op));

    if (op) {
        snprintf(op->what, sizeof(op->what), "%s", what);
        snprintf(op->name, sizeof(op->name), "%s", name);
    }
    return op;
}

static void on_op_done(struct at_client *c, const struct at_result *r, void *data)
{
    struct gop *op = data;
    (void)c;

    if (r->err == 0)
        np_debug("sshnpd: %s %s: ok", op->what, op->name);
    else if (r->err == NP_ERR_NOTFOUND && strcmp(op->what, "delete") == 0)
        np_debug("sshnpd: delete %s: not there", op->name);
    else if (r->err != NP_ERR_CLOSED)
        np_warn("sshnpd: %s %s failed: %s%s%s", op->what, op->name, np_strerror(r->err),
                r->message ? ": " : "", r->message ? r->message : "");
    np_free(op);
}

static int io_notify(void *data, const char *to, const char *key, const char *value, int64_t ttl,
                     int64_t ttln)
{
    struct sd_glue *g = data;
    struct at_client_notify n;
    char name[300];
    struct gop *op;
    int r;

    memset(&n, 0, sizeof(n));
    n.to = to;
    n.key = key;
    n.value = value;
    n.op = AT_NOTIFY_UPDATE;
    n.ttl = ttl;
    n.ttln = ttln;
    snprintf(name, sizeof(name), "%s:%s", to, key);
    if ((op = gop_new("notify", name)) == NULL)
        return NP_ERR_NOMEM;
    if ((r = at_client_notify(g->client, &n, on_op_done, op)) != 0)
        np_free(op);
    return r;
}

static int io_fetch_key(void *data, const char *atsign, sshnpd_key_done_fn done, void *arg)
{
    struct sd_glue *g = data;
    char key[300];

    if (np_str_fmt(key, sizeof(key), "public:publickey%s%s", atsign[0] == '@' ? "" : "@", atsign) !=
        0)
        return NP_ERR_INVAL;
    return at_keyfetch_get(g->fetches, key, AT_GET_BYPASS, done, arg);
}

static void io_cancel_fetch(void *data, void *arg)
{
    struct sd_glue *g = data;

    at_keyfetch_cancel(g->fetches, arg);
}

static int io_put(void *data, const struct sshnpd_record *rec)
{
    struct sd_glue *g = data;
    struct at_metadata md;
    struct gop *op;
    int r = 0;

    at_metadata_init(&md);
    if (rec->ttl_ms > 0)
        r = at_metadata_set_int(&md, AT_MD_TTL, rec->ttl_ms);
    if (r == 0 && rec->ttr != 0)
        r = at_metadata_set_int(&md, AT_MD_TTR, rec->ttr);
    if (r == 0 && rec->ccd)
        r = at_metadata_set_bool(&md, AT_MD_CCD, true);
    if (r == 0 && (op = gop_new("put", rec->atkey)) == NULL)
        r = NP_ERR_NOMEM;
    if (r == 0 && (r = at_client_put(g->client, rec->atkey, rec->value, &md, on_op_done, op)) != 0)
        np_free(op);
    if (r != 0)
        np_warn("sshnpd: cannot put %s: %s", rec->atkey, np_strerror(r));
    at_metadata_clear(&md);
    return r;
}

static int io_del(void *data, const char *atkey)
{
    struct sd_glue *g = data;
    struct gop *op;
    int r;

    if ((op = gop_new("delete", atkey)) == NULL)
        return NP_ERR_NOMEM;
    if ((r = at_client_delete(g->client, atkey, on_op_done, op)) != 0) {
        np_free(op);
        np_warn("sshnpd: cannot delete %s: %s", atkey, np_strerror(r));
    }
    return r;
}

/* ---- lifetime ----------------------------------------------------------- */

int sd_glue_new(struct event_base *base, const struct sd_glue_opts *o, struct sd_glue **out)
{
    struct at_client_opts co;
    struct sd_glue *g;
    int r;

    *out = NULL;
    if ((g = np_calloc(1, sizeof(*g))) == NULL)
        return NP_ERR_NOMEM;
    g->base = base;
    g->keepalive_ms = o->keepalive_ms > 0 ? o->keepalive_ms : 30000;
    g->client_up = g->monitor_up = -1;
    memset(&co, 0, sizeof(co));
    co.atsign = o->atsign;
    co.keys = o->keys;
    co.auth = AT_CLIENT_AUTH_PKAM;
    co.root_host = o->root_host;
    co.root_port = o->root_port;
    co.ca_file = o->ca_file;
    co.dns = o->dns;
    co.keepalive_ms = g->keepalive_ms;
    co.persistent = true;
    if ((r = at_client_new(base, &co, &g->client)) != 0) {
        np_free(g);
        return r;
    }
    if ((r = at_keyfetch_new(g->client, &g->fetches)) != 0) {
        at_client_free(g->client);
        np_free(g);
        return r;
    }
    at_client_set_event_cb(g->client, on_client_event, g);
    *out = g;
    return 0;
}

struct sshnpd_io sd_glue_io(struct sd_glue *g)
{
    struct sshnpd_io io = {io_notify, io_fetch_key, io_cancel_fetch, io_put, io_del, g};
    return io;
}

int sd_glue_start(struct sd_glue *g, struct sshnpd *d, const char *regex)
{
    struct at_monitor_opts mo;
    int r;

    g->d = d;
    if ((r = at_client_start(g->client)) != 0)
        return r;
    memset(&mo, 0, sizeof(mo));
    mo.regex = regex;
    mo.since_epoch_ms = -1; /* only new requests: old ones have expired anyway */
    mo.keepalive_ms = g->keepalive_ms;
    return at_monitor_start(g->client, &mo, on_notification, on_monitor_status, g, &g->monitor);
}

void sd_glue_free(struct sd_glue *g)
{
    if (!g)
        return;
    g->d = NULL;
    at_monitor_free(g->monitor);
    at_client_free(g->client); /* pending lookups complete (closed) here */
    at_keyfetch_free(g->fetches);
    np_free(g);
}
