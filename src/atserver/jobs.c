/*
 * src/atserver/jobs.c - the server's periodic work on the loop:
 *   stats   every stats_interval_s: a stats notification (7.7) to every
 *           monitor (off with -1);
 *   expiry  every expiry_interval_s: delete expired keys (with '-' commit
 *           entries) and mark/drop expired notifications (5.3, 7.1);
 *   tick    every second: output-queue ceilings of monitor connections;
 *   s2s     every s2s_job_ms: the notification queues towards other
 *           servers (remote.h; only when server-to-server is on).
 * Each job does a bounded amount of work per run so the loop stays
 * responsive (ks_expire deletes at most EXPIRE_BATCH keys per call).
 */
#include "conn.h"
#include "keystore.h"
#include "monitor.h"
#include "notif.h"
#include "notify_store.h"
#include "remote.h"
#include "server.h"

#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <event2/event.h>

#define EXPIRE_BATCH 1000

static void stats_cb(evutil_socket_t fd, short what, void *arg)
{
    struct as_server *srv = arg;

    (void)fd;
    (void)what;
    for (struct as_host *h = srv->hosts; h; h = h->next)
        notif_push_stats(h, AT_NOTIFY_UPDATE);
}

void jobs_expire_now(struct as_server *srv)
{
    int64_t now = np_wall_ms();

    for (struct as_host *h = srv->hosts; h; h = h->next) {
        size_t n = 0, marked = 0, deleted = 0;
        int r = ks_expire(h->ks, now, EXPIRE_BATCH, &n);
        if (r != 0)
            np_warn("%s: expired-key cleanup failed: %s", h->atsign, np_strerror(r));
        else if (n) {
            np_debug("%s: deleted %zu expired keys", h->atsign, n);
            ks_last_commit_id(h->ks, NULL, NULL, &h->last_commit);
        }
        r = ns_expire(h->ns, now, srv->cfg.notify_retain_ms, &marked, &deleted);
        if (r != 0)
            np_warn("%s: notification cleanup failed: %s", h->atsign, np_strerror(r));
        else if (marked || deleted)
            np_debug("%s: %zu notifications expired, %zu dropped", h->atsign, marked, deleted);
    }
}

static void expiry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    jobs_expire_now(arg);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct as_server *srv = arg;
    int64_t now = np_mono_ms();

    (void)fd;
    (void)what;
    for (struct as_host *h = srv->hosts; h; h = h->next)
        for (struct as_conn *c = h->conns; c; c = c->next)
            monitor_check(c, now);
}

static void s2s_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    remote_notify_run(arg);
}

static int periodic_ms(struct as_server *srv, struct event **ev, int64_t ms,
                       void (*cb)(evutil_socket_t, short, void *))
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

    if ((*ev = event_new(srv->base, -1, EV_PERSIST, cb, srv)) == NULL || event_add(*ev, &tv) != 0)
        return NP_ERR_NOMEM;
    return 0;
}

static int periodic(struct as_server *srv, struct event **ev, int seconds,
                    void (*cb)(evutil_socket_t, short, void *))
{
    return periodic_ms(srv, ev, (int64_t)seconds * 1000, cb);
}

int jobs_start(struct as_server *srv)
{
    int r = 0;

    if (srv->cfg.stats_interval_s > 0)
        r = periodic(srv, &srv->stats_ev, srv->cfg.stats_interval_s, stats_cb);
    if (r == 0 && srv->cfg.expiry_interval_s > 0)
        r = periodic(srv, &srv->expiry_ev, srv->cfg.expiry_interval_s, expiry_cb);
    if (r == 0)
        r = periodic(srv, &srv->tick_ev, 1, tick_cb);
    if (r == 0 && srv->root_domain && srv->cfg.s2s_job_ms > 0)
        r = periodic_ms(srv, &srv->s2s_ev, srv->cfg.s2s_job_ms, s2s_cb);
    if (r != 0)
        jobs_stop(srv);
    return r;
}

void jobs_stop(struct as_server *srv)
{
    if (!srv)
        return;
    if (srv->stats_ev)
        event_free(srv->stats_ev);
    if (srv->expiry_ev)
        event_free(srv->expiry_ev);
    if (srv->tick_ev)
        event_free(srv->tick_ev);
    if (srv->s2s_ev)
        event_free(srv->s2s_ev);
    srv->stats_ev = srv->expiry_ev = srv->tick_ev = srv->s2s_ev = NULL;
}
