/*
 * src/atserver/verbs/monitor.c - monitor (atprotocol.md 6.10, 7.5, 7.6) and
 * the monitor side of a connection (monitor.h).
 *
 * "monitor" writes no response. With <epochMillis> the connection first
 * replays the stored received (and with selfNotifications self)
 * notifications whose receipt time is strictly greater, oldest first, in
 * batches (one batch per loop turn, so a long replay does not stall other
 * connections and respects the output ceiling). While the replay runs, new
 * records are not pushed live: the replay reaches them itself, because
 * receipt times are unique and increasing (notify_store.h). After it has
 * caught up, every new record is pushed once. Stats notifications go to
 * every monitor regardless of its regex.
 */
#include "../conn.h"
#include "../dispatch.h"
#include "../monitor.h"
#include "../notif.h"
#include "../notify_store.h"
#include "../server.h"

#include "at/error.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <regex.h>
#include <string.h>

#include <event2/event.h>

/* Wait this long before replaying more when the output queue is full. */
#define REPLAY_WAIT_MS 50

struct monitor {
    struct as_conn *c;
    regex_t re;
    bool self;
    bool replaying;
    int64_t since;    /* replay cursor: last date_ms replayed */
    struct event *ev; /* replay continuation */
    struct np_buf *line;
};

void monitor_free(struct monitor *m)
{
    if (!m)
        return;
    regfree(&m->re);
    if (m->ev)
        event_free(m->ev);
    np_buf_free(m->line);
    np_free(m);
}

/* Write a line within the output ceiling; a consumer that is too slow is
 * disconnected (style.md practice 11). */
static void mon_write(struct as_conn *c, const char *line, size_t n)
{
    const struct as_config *cfg = &c->host->srv->cfg;
    size_t pending = conn_output_pending(c);
    int64_t now = np_mono_ms();

    if (c->closing)
        return;
    if (pending + n > cfg->monitor_hard_limit) {
        np_warn("%s: monitor consumer too slow: %zu bytes queued (hard limit %zu); closing", c->tag,
                pending, cfg->monitor_hard_limit);
        conn_close(c);
        return;
    }
    if (conn_write_raw(c, line, n) != 0) {
        np_warn("%s: cannot queue a notification; closing", c->tag);
        conn_close(c);
        return;
    }
    if (pending + n > cfg->monitor_soft_limit) {
        if (c->over_since == 0) {
            c->over_since = now;
        } else if (now - c->over_since >= (int64_t)cfg->monitor_soft_s * 1000) {
            np_warn("%s: monitor consumer over %zu queued bytes for %d s; closing", c->tag,
                    cfg->monitor_soft_limit, cfg->monitor_soft_s);
            conn_close(c);
        }
    } else {
        c->over_since = 0;
    }
}

void monitor_check(struct as_conn *c, int64_t now_mono)
{
    const struct as_config *cfg = &c->host->srv->cfg;

    if (!c->mon || c->closing)
        return;
    if (conn_output_pending(c) <= cfg->monitor_soft_limit) {
        c->over_since = 0;
        return;
    }
    if (c->over_since == 0) {
        c->over_since = now_mono;
    } else if (now_mono - c->over_since >= (int64_t)cfg->monitor_soft_s * 1000) {
        np_warn("%s: monitor consumer over %zu queued bytes for %d s; closing", c->tag,
                cfg->monitor_soft_limit, cfg->monitor_soft_s);
        conn_close(c);
    }
}

static bool wants(const struct monitor *m, const struct ns_record *rec)
{
    if (rec->type == NS_TYPE_SELF ? !m->self : rec->type != NS_TYPE_RECEIVED)
        return false;
    return notif_matches(rec, &m->re);
}

void monitor_offer(struct as_conn *c, const struct ns_record *rec, const char *line, size_t n)
{
    if (!c->mon || c->closing || c->mon->replaying || !wants(c->mon, rec))
        return;
    mon_write(c, line, n);
}

void monitor_push_all(struct as_conn *c, const char *line, size_t n)
{
    if (c->mon && !c->closing)
        mon_write(c, line, n);
}

static void schedule(struct monitor *m, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

    event_add(m->ev, &tv);
}

/* Replay one batch; reschedules itself until caught up. */
static void replay_step(struct as_conn *c)
{
    struct monitor *m = c->mon;
    const struct as_config *cfg = &c->host->srv->cfg;
    struct ns_list *list = NULL;
    int r;

    if (c->closing)
        return;
    if (conn_output_pending(c) > cfg->monitor_soft_limit) {
        schedule(m, REPLAY_WAIT_MS);
        return;
    }
    r = ns_list_received(c->host->ns, m->since, np_wall_ms(), m->self, cfg->replay_batch, &list);
    if (r != 0) {
        m->replaying = false;
        conn_reply_store_error(c, r, "monitor replay");
        return;
    }
    for (size_t i = 0; i < list->count && !c->closing; i++) {
        const struct ns_record *rec = list->items[i];
        m->since = rec->date_ms;
        if (!wants(m, rec))
            continue;
        np_buf_reset(m->line);
        if (notif_format_line(rec, true, m->line) != 0) {
            np_warn("%s: cannot format stored notification %s; skipped", c->tag, rec->id);
            continue;
        }
        mon_write(c, np_buf_ptr(m->line), np_buf_len(m->line));
    }
    if (list->count < cfg->replay_batch) {
        m->replaying = false;
        np_debug("%s: monitor replay done", c->tag);
    } else {
        schedule(m, 0);
    }
    ns_list_free(list);
}

static void replay_cb(evutil_socket_t fd, short what, void *arg)
{
    struct monitor *m = arg;

    (void)fd;
    (void)what;
    replay_step(m->c);
}

void verb_monitor(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_monitor *o = &cmd->u.monitor;
    struct monitor *m;

    if ((m = np_calloc(1, sizeof(*m))) == NULL) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return;
    }
    if (!verb_regex(c, &m->re, o->regex ? o->regex : ".*")) {
        np_free(m);
        return;
    }
    m->c = c;
    m->self = o->self_notifications;
    if ((m->ev = event_new(c->host->srv->base, -1, 0, replay_cb, m)) == NULL ||
        (m->line = np_buf_new(2 * c->host->srv->cfg.auth_max_line + 65536)) == NULL) {
        monitor_free(m);
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return;
    }
    monitor_free(c->mon); /* a second monitor command replaces the first */
    c->mon = m;
    c->over_since = 0;
    np_debug("%s: monitor%s%s", c->tag, m->self ? " (self notifications)" : "",
             o->has_epoch ? " with replay" : "");
    if (o->has_epoch) {
        m->replaying = true;
        m->since = o->epoch_ms;
        replay_step(c);
    }
}
