/*
 * lib/at/client_sync.c - blocking wrapper over the asynchronous client (see
 * client_sync.h): one private event_base, loop until the callback ran.
 */
#include "at/client_sync.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

struct at_sync {
    struct event_base *base;
    struct at_client *c;
    /* the running call */
    bool done;
    int err;
    int at_code;
    bool conn_error;
    char msg[600];
    char *data, *value, *id;
    size_t value_len;
    struct at_metadata md;
    bool has_md;
    char **keys;
    size_t nkeys;
    /* monitor */
    bool stop;
    bool mon_live;
    int mon_err;
    at_monitor_cb mon_cb;
    void *mon_data;
};

static void reset(struct at_sync *s)
{
    s->done = false;
    s->err = 0;
    s->at_code = -1;
    s->conn_error = false;
    np_free(s->data);
    s->data = NULL;
    np_freezero(s->value, s->value ? s->value_len + 1 : 0);
    s->value = NULL;
    s->value_len = 0;
    np_free(s->id);
    s->id = NULL;
    at_metadata_clear(&s->md);
    s->has_md = false;
    at_sync_free_keys(s->keys, s->nkeys);
    s->keys = NULL;
    s->nkeys = 0;
}

static void on_result(struct at_client *c, const struct at_result *r, void *data)
{
    struct at_sync *s = data;

    (void)c;
    s->done = true;
    s->err = r->err;
    s->at_code = r->at_code;
    s->conn_error = r->conn_error;
    snprintf(s->msg, sizeof(s->msg), "%s", r->message ? r->message : "");
    if (r->err)
        return;
    if (r->data && (s->data = np_strdup(r->data)) == NULL)
        s->err = NP_ERR_NOMEM;
    if (r->id && (s->id = np_strdup(r->id)) == NULL)
        s->err = NP_ERR_NOMEM;
    if (r->value) {
        if ((s->value = np_memdup0(r->value, r->value_len)) == NULL)
            s->err = NP_ERR_NOMEM;
        else
            s->value_len = r->value_len;
    }
    if (r->md) {
        if (at_metadata_copy(&s->md, r->md) != 0)
            s->err = NP_ERR_NOMEM;
        else
            s->has_md = true;
    }
    if (r->n_keys) {
        if ((s->keys = np_calloc(r->n_keys, sizeof(char *))) == NULL) {
            s->err = NP_ERR_NOMEM;
            return;
        }
        for (size_t i = 0; i < r->n_keys; i++) {
            if ((s->keys[i] = np_strdup(r->keys[i])) == NULL) {
                s->err = NP_ERR_NOMEM;
                return;
            }
            s->nkeys = i + 1;
        }
    }
    if (s->err)
        snprintf(s->msg, sizeof(s->msg), "out of memory");
}

/* Run the loop until the queued operation completed (r: queueing result). */
static int run(struct at_sync *s, int r)
{
    if (r != 0) {
        s->err = r;
        s->at_code = -1;
        s->conn_error = false;
        snprintf(s->msg, sizeof(s->msg), "%s",
                 r == NP_ERR_INVAL ? "invalid request (check the key, value and arguments)"
                                   : np_strerror(r));
        return r;
    }
    while (!s->done) {
        /* every operation holds a deadline timer, so the loop always has an
         * event to wait for and ends within the request timeout */
        if (event_base_loop(s->base, EVLOOP_ONCE) != 0) {
            s->err = NP_ERR_INTERNAL;
            snprintf(s->msg, sizeof(s->msg), "event loop stopped");
            return s->err;
        }
    }
    return s->err;
}

int at_sync_open(const struct at_client_opts *opts, struct at_sync **out, char *errbuf,
                 size_t errlen)
{
    struct at_client_opts o;
    struct at_sync *s = NULL;
    int r = NP_ERR_NOMEM;

    if (out)
        *out = NULL;
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!opts || !out)
        return NP_ERR_INVAL;
    o = *opts;
    o.persistent = false;
    o.dns = NULL;
    if ((s = np_calloc(1, sizeof(*s))) == NULL)
        goto out;
    s->at_code = -1;
    if ((s->base = event_base_new()) == NULL)
        goto out;
    if ((r = at_client_new(s->base, &o, &s->c)) != 0) {
        snprintf(s->msg, sizeof(s->msg), "cannot set up the client: %s", np_strerror(r));
        goto out;
    }
    reset(s);
    r = run(s, at_client_cmd(s->c, "noop:0", on_result, s));
    if (r != 0)
        goto out;
    *out = s;
    s = NULL;
out:
    if (s) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s", s->msg[0] ? s->msg : np_strerror(r));
        at_sync_close(s);
    } else if (r != 0 && errbuf && errlen) {
        snprintf(errbuf, errlen, "%s", np_strerror(r));
    }
    return r;
}

void at_sync_close(struct at_sync *s)
{
    if (!s)
        return;
    at_client_free(s->c);
    reset(s);
    if (s->base)
        event_base_free(s->base);
    np_free(s);
}

int at_sync_get(struct at_sync *s, const char *key, unsigned flags, char **value, size_t *len,
                struct at_metadata *md)
{
    int r;

    if (value)
        *value = NULL;
    if (len)
        *len = 0;
    if (md)
        at_metadata_init(md);
    if (!s)
        return NP_ERR_INVAL;
    reset(s);
    if ((r = run(s, at_client_get(s->c, key, flags, on_result, s))) != 0)
        return r;
    if (md && s->has_md && at_metadata_copy(md, &s->md) != 0)
        return NP_ERR_NOMEM;
    if (value) {
        *value = s->value;
        s->value = NULL;
    }
    if (len)
        *len = s->value_len;
    return 0;
}

int at_sync_put(struct at_sync *s, const char *key, const char *value, const struct at_metadata *md)
{
    if (!s)
        return NP_ERR_INVAL;
    reset(s);
    return run(s, at_client_put(s->c, key, value, md, on_result, s));
}

int at_sync_delete(struct at_sync *s, const char *key)
{
    if (!s)
        return NP_ERR_INVAL;
    reset(s);
    return run(s, at_client_delete(s->c, key, on_result, s));
}

int at_sync_scan(struct at_sync *s, const char *regex, bool show_hidden, char ***keys, size_t *n)
{
    int r;

    if (keys)
        *keys = NULL;
    if (n)
        *n = 0;
    if (!s || !keys || !n)
        return NP_ERR_INVAL;
    reset(s);
    if ((r = run(s, at_client_scan(s->c, regex, show_hidden, on_result, s))) != 0)
        return r;
    *keys = s->keys;
    *n = s->nkeys;
    s->keys = NULL;
    s->nkeys = 0;
    return 0;
}

void at_sync_free_keys(char **keys, size_t n)
{
    if (!keys)
        return;
    for (size_t i = 0; i < n; i++)
        np_free(keys[i]);
    np_free(keys);
}

int at_sync_notify(struct at_sync *s, const struct at_client_notify *n, char **id)
{
    int r;

    if (id)
        *id = NULL;
    if (!s)
        return NP_ERR_INVAL;
    reset(s);
    if ((r = run(s, at_client_notify(s->c, n, on_result, s))) != 0)
        return r;
    if (id) {
        *id = s->id;
        s->id = NULL;
    }
    return 0;
}

int at_sync_cmd(struct at_sync *s, const char *line, char **data)
{
    int r;

    if (data)
        *data = NULL;
    if (!s)
        return NP_ERR_INVAL;
    reset(s);
    if ((r = run(s, at_client_cmd(s->c, line, on_result, s))) != 0)
        return r;
    if (data) {
        *data = s->data;
        s->data = NULL;
    }
    return 0;
}

static void mon_status(struct at_monitor *m, int connected, int err, const char *msg, void *data)
{
    struct at_sync *s = data;

    (void)m;
    if (connected) {
        s->mon_live = true;
        return;
    }
    snprintf(s->msg, sizeof(s->msg), "%s", msg ? msg : np_strerror(err));
    if (!s->mon_live && (err == NP_ERR_AUTH || err == NP_ERR_NOTFOUND)) {
        s->mon_err = err;
        at_sync_stop(s);
    }
}

static void mon_note(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    struct at_sync *s = data;

    s->mon_cb(m, n, s->mon_data);
}

static void mon_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct at_sync *s = arg;

    (void)fd;
    (void)what;
    s->mon_err = NP_ERR_TIMEOUT;
    at_sync_stop(s);
}

int at_sync_monitor(struct at_sync *s, const struct at_monitor_opts *o, at_monitor_cb cb,
                    void *data, int timeout_ms)
{
    struct at_monitor *m = NULL;
    struct event *t = NULL;
    int r;

    if (!s || !cb)
        return NP_ERR_INVAL;
    reset(s);
    s->stop = false;
    s->mon_live = false;
    s->mon_err = 0;
    s->mon_cb = cb;
    s->mon_data = data;
    s->msg[0] = '\0';
    if (timeout_ms > 0) {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        if ((t = evtimer_new(s->base, mon_timeout, s)) == NULL)
            return NP_ERR_NOMEM;
        evtimer_add(t, &tv);
    }
    if ((r = at_monitor_start(s->c, o, mon_note, mon_status, s, &m)) != 0)
        goto out;
    /* the monitor connection keeps timers armed: the loop never runs dry */
    while (!s->stop)
        if (event_base_loop(s->base, EVLOOP_ONCE) != 0)
            break;
    r = s->mon_err;
    s->err = r;
    if (r == NP_ERR_TIMEOUT)
        snprintf(s->msg, sizeof(s->msg), "%d ms passed", timeout_ms);
out:
    at_monitor_free(m);
    if (t)
        event_free(t);
    return r;
}

void at_sync_stop(struct at_sync *s)
{
    if (!s)
        return;
    s->stop = true;
    event_base_loopbreak(s->base);
}

struct event_base *at_sync_base(struct at_sync *s)
{
    return s ? s->base : NULL;
}

struct at_client *at_sync_client(struct at_sync *s)
{
    return s ? s->c : NULL;
}

const char *at_sync_error(const struct at_sync *s)
{
    return s ? s->msg : "";
}

int at_sync_at_code(const struct at_sync *s)
{
    return s ? s->at_code : -1;
}

bool at_sync_conn_error(const struct at_sync *s)
{
    return s && s->conn_error;
}
