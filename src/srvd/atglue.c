/* src/srvd/atglue.c - relay_outbox / relay_keysource over lib/at (see atglue.h). */
#include "atglue.h"
#include "at/client.h"
#include "at/keyfetch.h"
#include "at/monitor.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

struct srvd_glue {
    struct at_client *client;
    struct at_monitor *monitor;
    struct at_keyfetch *fetches;
    struct relay *relay;
    int keepalive_ms;
    int client_up;  /* -1 unknown, 0 down, 1 up */
    int monitor_up; /* same */
};

/* Context of one notification sent, for its log line. */
struct sent {
    char what[8];
    char name[320];
};

/* ---- connection state --------------------------------------------------- */

static void on_client_event(struct at_client *c, enum at_client_event ev, int err,
                            const char *message, void *data)
{
    struct srvd_glue *g = data;
    (void)c;

    at_client_log_link(&g->client_up, ev == AT_CLIENT_EV_READY, "srvd",
                       "atServer command connection", err, message);
}

static void on_monitor_status(struct at_monitor *m, int connected, int err, const char *message,
                              void *data)
{
    struct srvd_glue *g = data;
    (void)m;

    at_client_log_link(&g->monitor_up, connected, "srvd", "monitor connection", err, message);
}

static void on_notification(struct at_monitor *m, const struct at_monitor_notification *n,
                            void *data)
{
    struct srvd_glue *g = data;
    int r;
    (void)m;

    if (!g->relay || !n->from || !n->key || (n->id && strcmp(n->id, "-1") == 0))
        return;
    if (n->op != AT_NOTIFY_UPDATE)
        return;
    if (!n->value) {
        if (n->is_encrypted)
            np_debug("srvd: notification %s could not be decrypted: %s", n->id ? n->id : "?",
                     np_strerror(n->decrypt_err));
        return;
    }
    r = relay_handle_request(g->relay, n->from, n->key, n->value, n->value_len);
    np_debug("srvd: notification %s from %s: %s", n->id ? n->id : "?", n->from,
             r == 0 ? "handled" : np_strerror(r));
}

/* ---- relay_outbox ------------------------------------------------------- */

static void on_sent(struct at_client *c, const struct at_result *r, void *data)
{
    struct sent *s = data;
    (void)c;

    if (r->err == 0)
        np_debug("srvd: %s %s sent (id %s)", s->what, s->name, r->id ? r->id : "?");
    else if (r->err != NP_ERR_CLOSED)
        np_warn("srvd: %s %s not sent: %s%s%s", s->what, s->name, np_strerror(r->err),
                r->message ? ": " : "", r->message ? r->message : "");
    np_free(s);
}

static int ob_send(void *data, const struct relay_notice *n)
{
    struct srvd_glue *g = data;
    struct at_client_notify no;
    struct sent *s;
    int r;

    if (!n->to || !n->key || !n->value)
        return NP_ERR_INVAL;
    if ((s = np_calloc(1, sizeof(*s))) == NULL)
        return NP_ERR_NOMEM;
    snprintf(s->what, sizeof(s->what), "%s", n->is_nack ? "NACK" : "answer");
    snprintf(s->name, sizeof(s->name), "%s:%s", n->to, n->key);
    memset(&no, 0, sizeof(no));
    no.to = n->to;
    no.key = n->key;
    no.value = n->value;
    no.op = AT_NOTIFY_UPDATE;
    no.ttl = n->ttl_ms;
    no.ttln = SRVD_GLUE_TTLN_MS;
    if ((r = at_client_notify(g->client, &no, on_sent, s)) != 0) {
        np_warn("srvd: cannot queue %s %s: %s", s->what, s->name, np_strerror(r));
        np_free(s);
    }
    return r;
}

/* ---- relay_keysource ---------------------------------------------------- */

static int ks_fetch(void *data, const char *uri, relay_key_done_fn done, void *arg)
{
    struct srvd_glue *g = data;

    return at_keyfetch_get(g->fetches, uri, AT_GET_BYPASS, done, arg);
}

static void ks_cancel(void *data, void *arg)
{
    struct srvd_glue *g = data;

    at_keyfetch_cancel(g->fetches, arg);
}

/* ---- lifetime ----------------------------------------------------------- */

int srvd_glue_new(struct event_base *base, const struct srvd_glue_opts *o, struct srvd_glue **out)
{
    struct at_client_opts co;
    struct srvd_glue *g;
    int r;

    *out = NULL;
    if ((g = np_calloc(1, sizeof(*g))) == NULL)
        return NP_ERR_NOMEM;
    g->keepalive_ms = o->keepalive_ms > 0 ? o->keepalive_ms : 30000;
    g->client_up = g->monitor_up = -1;
    memset(&co, 0, sizeof(co));
    co.atsign = o->atsign;
    co.keys = o->keys;
    co.auth = AT_CLIENT_AUTH_PKAM;
    co.root_host = o->root_host;
    co.root_port = o->root_port;
    co.ca_file = o->ca_file;
    co.keepalive_ms = g->keepalive_ms;
    co.persistent = true;
    if ((r = at_client_new(base, &co, &g->client)) != 0 ||
        (r = at_keyfetch_new(g->client, &g->fetches)) != 0) {
        at_client_free(g->client);
        np_free(g);
        return r;
    }
    at_client_set_event_cb(g->client, on_client_event, g);
    *out = g;
    return 0;
}

struct relay_outbox srvd_glue_outbox(struct srvd_glue *g)
{
    struct relay_outbox ob = {ob_send, g};
    return ob;
}

struct relay_keysource srvd_glue_keysource(struct srvd_glue *g)
{
    struct relay_keysource ks = {ks_fetch, ks_cancel, g};
    return ks;
}

int srvd_glue_start(struct srvd_glue *g, struct relay *r)
{
    struct at_monitor_opts mo;
    int rc;

    g->relay = r;
    if ((rc = at_client_start(g->client)) != 0)
        return rc;
    memset(&mo, 0, sizeof(mo));
    mo.regex = SRVD_GLUE_REGEX;
    /* Live only at start-up (older requests have expired for their
     * clients); after a reconnection lib/at resumes from the last one seen. */
    mo.since_epoch_ms = -1;
    mo.keepalive_ms = g->keepalive_ms;
    return at_monitor_start(g->client, &mo, on_notification, on_monitor_status, g, &g->monitor);
}

int srvd_glue_is_up(const struct srvd_glue *g)
{
    return g && g->client_up == 1 && g->monitor_up == 1;
}

void srvd_glue_free(struct srvd_glue *g)
{
    if (!g)
        return;
    g->relay = NULL;
    at_monitor_free(g->monitor);
    at_keyfetch_free(g->fetches); /* outstanding lookups: no more callbacks */
    at_client_free(g->client);
    np_free(g);
}
