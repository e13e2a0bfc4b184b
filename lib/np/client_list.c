/*
 * lib/np/client_list.c - sshnp --list-devices: scan, read device_info,
 * ping, wait for heartbeats, print (see client_list.h).
 */
#include "np/client_list.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "at/atsign.h"
#include "np/device.h"
#include "np/messages.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

struct dev {
    char name[NP_DEVICE_NAME_MAX + 1];
    char atsign[AT_ATSIGN_BUF];
    struct np_device_info *info; /* NULL: not (yet) read */
    int active;
    int get_done;
};

struct np_client_list {
    struct event_base *base;
    char *me, *only;
    int wait_ms;
    struct np_client_io io;
    void (*progress)(void *data, int level, const char *msg);
    void (*done)(struct np_client_list *l, int status, const char *message, void *data);
    void *data;
    struct dev *devs;
    size_t n, gets;
    int phase; /* 0 new, 1 scanning, 2 reading, 3 pinging, 4 done */
    int ops;   /* lookups in flight */
    struct event *timer, *report_ev;
    int status;
    char msg[256];
};

static void say(struct np_client_list *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct np_client_list *l, int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (!l->progress)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    l->progress(l->data, level, msg);
}

static void finish(struct np_client_list *l, int status, const char *msg)
{
    if (l->phase == 4)
        return;
    l->phase = 4;
    l->status = status;
    snprintf(l->msg, sizeof(l->msg), "%s", msg);
    evtimer_del(l->timer);
    if (l->ops > 0 && l->io.cancel)
        l->io.cancel(l->io.data, l);
    l->ops = 0;
    event_active(l->report_ev, EV_TIMEOUT, 0);
}

static void report_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_client_list *l = arg;

    (void)fd;
    (void)what;
    l->done(l, l->status, l->msg, l->data);
}

static void all_answered_check(struct np_client_list *l)
{
    size_t want = 0, got = 0;

    if (l->phase != 3)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (!l->devs[i].info)
            continue;
        want++;
        got += l->devs[i].active ? 1 : 0;
    }
    if (got == want)
        finish(l, 0, "every device answered");
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_client_list *l = arg;

    (void)fd;
    (void)what;
    finish(l, 0, "wait over");
}

static void ping_all(struct np_client_list *l)
{
    struct timeval tv = {l->wait_ms / 1000, (l->wait_ms % 1000) * 1000};
    char key[128];

    l->phase = 3;
    for (size_t i = 0; i < l->n; i++) {
        struct dev *d = &l->devs[i];

        if (!d->info)
            continue;
        snprintf(key, sizeof(key), "ping.%s.sshnp", d->name);
        if (l->io.notify(l->io.data, d->atsign, key, "ping", 0) != 0)
            say(l, NP_LOG_DEBUG, "Cannot ping %s%s", d->name, d->atsign);
    }
    say(l, NP_LOG_INFO, "Pinged the devices; waiting up to %d s for answers", l->wait_ms / 1000);
    evtimer_add(l->timer, &tv);
    all_answered_check(l);
}

static void get_done(void *arg, int status, const char *value, size_t len);

/* The get callback knows only the list; find the first device whose get is
 * still pending (gets are answered in order by the at client, and each
 * answer names no key), so do them one at a time. */
static void next_get(struct np_client_list *l)
{
    char key[300];

    while (l->gets < l->n) {
        struct dev *d = &l->devs[l->gets];

        snprintf(key, sizeof(key), "%s:device_info.%s.sshnp%s", l->me, d->name, d->atsign);
        if (l->io.get(l->io.data, key, 1, get_done, l) == 0) {
            l->ops++;
            return;
        }
        d->get_done = 1;
        l->gets++;
    }
    ping_all(l);
}

static void get_done(void *arg, int status, const char *value, size_t len)
{
    struct np_client_list *l = arg;
    struct dev *d;

    l->ops--;
    if (l->phase != 2 || l->gets >= l->n)
        return;
    d = &l->devs[l->gets++];
    d->get_done = 1;
    if (status != 0 || !value || np_device_info_parse(value, len, &d->info) != 0)
        say(l, NP_LOG_DEBUG, "Skipping %s%s: its device_info cannot be read", d->name, d->atsign);
    next_get(l);
}

/* "[cached:]@me:device_info.<dev>.sshnp@<atSign>" -> device and atSign. */
static int parse_key(struct np_client_list *l, const char *key, struct dev *d)
{
    const char *p = key, *dot, *at;
    size_t melen = strlen(l->me);
    char dev[NP_DEVICE_NAME_MAX + 1];

    if (strncasecmp(p, "cached:", 7) == 0)
        p += 7;
    if (strncasecmp(p, l->me, melen) != 0 || p[melen] != ':')
        return NP_ERR_FORMAT;
    p += melen + 1;
    if (strncasecmp(p, "device_info.", 12) != 0)
        return NP_ERR_FORMAT;
    p += 12;
    if ((at = strrchr(p, '@')) == NULL || at - p < 7 || strncasecmp(at - 6, ".sshnp", 6) != 0)
        return NP_ERR_FORMAT;
    dot = at - 6;
    if ((size_t)(dot - p) > NP_DEVICE_NAME_MAX || dot == p)
        return NP_ERR_FORMAT;
    memcpy(dev, p, (size_t)(dot - p));
    dev[dot - p] = '\0';
    np_str_lower(dev);
    if (np_device_name_valid(dev) != 0)
        return NP_ERR_FORMAT;
    if (at_atsign_normalise(at, strlen(at), d->atsign, sizeof(d->atsign)) != 0)
        return NP_ERR_FORMAT;
    memcpy(d->name, dev, strlen(dev) + 1);
    return 0;
}

static void scan_done(void *arg, int status, const char *const *keys, size_t n)
{
    struct np_client_list *l = arg;
    char msg[256];

    l->ops--;
    if (l->phase != 1)
        return;
    if (status != 0) {
        snprintf(msg, sizeof(msg), "Cannot list the device_info records: %s", np_strerror(status));
        finish(l, status, msg);
        return;
    }
    if ((l->devs = np_calloc(n < NP_LIST_MAX ? (n ? n : 1) : NP_LIST_MAX, sizeof(*l->devs))) ==
        NULL) {
        finish(l, NP_ERR_NOMEM, "Out of memory");
        return;
    }
    for (size_t i = 0; i < n && l->n < NP_LIST_MAX; i++) {
        struct dev d;
        int dup = 0;

        memset(&d, 0, sizeof(d));
        if (!keys[i] || parse_key(l, keys[i], &d) != 0)
            continue;
        if (l->only && !at_atsign_equal(d.atsign, l->only))
            continue;
        for (size_t j = 0; j < l->n; j++)
            dup |= strcmp(l->devs[j].name, d.name) == 0 && strcmp(l->devs[j].atsign, d.atsign) == 0;
        if (!dup)
            l->devs[l->n++] = d;
    }
    say(l, NP_LOG_INFO, "Found %zu device record(s); reading them", l->n);
    l->phase = 2;
    next_get(l);
}

int np_client_list_new(struct event_base *base, const struct np_list_config *c,
                       struct np_client_list **out)
{
    struct np_client_list *l = NULL;
    int r = NP_ERR_NOMEM;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!base || !c || !c->client_atsign || !c->io.scan || !c->io.get || !c->io.notify ||
        !c->done || c->wait_ms < 0)
        return NP_ERR_INVAL;
    if ((l = np_calloc(1, sizeof(*l))) == NULL)
        return NP_ERR_NOMEM;
    l->base = base;
    l->wait_ms = c->wait_ms > 0 ? c->wait_ms : NP_LIST_WAIT_MS;
    l->io = c->io;
    l->progress = c->progress;
    l->done = c->done;
    l->data = c->data;
    if ((l->me = np_strdup(c->client_atsign)) == NULL ||
        (c->device_atsign && (l->only = np_strdup(c->device_atsign)) == NULL) ||
        (l->timer = evtimer_new(base, timer_cb, l)) == NULL ||
        (l->report_ev = event_new(base, -1, 0, report_cb, l)) == NULL)
        goto out;
    *out = l;
    l = NULL;
    r = 0;
out:
    np_client_list_free(l);
    return r;
}

int np_client_list_start(struct np_client_list *l)
{
    int r;

    if (!l || l->phase != 0)
        return NP_ERR_INVAL;
    say(l, NP_LOG_INFO, "Searching for devices that share their info with %s", l->me);
    if ((r = l->io.scan(l->io.data, "device_info\\.[^.@]+\\.sshnp@", scan_done, l)) != 0)
        return r;
    l->ops++;
    l->phase = 1;
    return 0;
}

int np_client_list_notification(struct np_client_list *l, const char *from, const char *key,
                                const char *value, size_t len)
{
    const char *name, *at;
    char want[128];
    size_t n;

    (void)value;
    (void)len;
    if (!l || !from || !key || l->phase != 3)
        return NP_ERR_NOTFOUND;
    name = key;
    if (name[0] == '@' && (at = strchr(name, ':')) != NULL)
        name = at + 1;
    at = strrchr(name, '@');
    n = at ? (size_t)(at - name) : strlen(name);
    for (size_t i = 0; i < l->n; i++) {
        struct dev *d = &l->devs[i];

        if (!d->info || d->active || !at_atsign_equal(from, d->atsign))
            continue;
        snprintf(want, sizeof(want), "heartbeat.%s.sshnp", d->name);
        if (strlen(want) == n && strncasecmp(name, want, n) == 0) {
            d->active = 1;
            all_answered_check(l);
            return 0;
        }
    }
    return NP_ERR_NOTFOUND;
}

static void print_dev(const struct np_client_list *l, const struct dev *d, FILE *f)
{
    const struct np_device_info *i = d->info;

    fprintf(f, "  %s%s - v%s (core v%s)\n", d->name, l->only ? "" : d->atsign,
            i->version ? i->version : "?", i->core_version ? i->core_version : "?");
    fputs("  - allowedServices: [", f);
    for (size_t k = 0; k < i->n_allowed; k++)
        fprintf(f, "%s%s", k ? ", " : "", i->allowed_services[k]);
    fputs("]\n", f);
}

size_t np_client_list_print(const struct np_client_list *l, FILE *f)
{
    size_t total = 0, shown;

    if (!l || !f)
        return 0;
    for (int active = 1; active >= 0; active--) {
        fputs(active ? "Active Devices:\n" : "Inactive Devices:\n", f);
        shown = 0;
        for (size_t i = 0; i < l->n; i++) {
            if (!l->devs[i].info || l->devs[i].active != active)
                continue;
            print_dev(l, &l->devs[i], f);
            shown++;
        }
        if (!shown)
            fputs("  (none)\n", f);
        total += shown;
    }
    return total;
}

size_t np_client_list_count(const struct np_client_list *l, size_t *active)
{
    size_t n = 0, a = 0;

    for (size_t i = 0; l && i < l->n; i++) {
        if (!l->devs[i].info)
            continue;
        n++;
        a += l->devs[i].active ? 1 : 0;
    }
    if (active)
        *active = a;
    return n;
}

void np_client_list_free(struct np_client_list *l)
{
    if (!l)
        return;
    if (l->ops > 0 && l->io.cancel)
        l->io.cancel(l->io.data, l);
    if (l->timer)
        event_free(l->timer);
    if (l->report_ev)
        event_free(l->report_ev);
    for (size_t i = 0; i < l->n; i++)
        np_device_info_free(l->devs[i].info);
    np_free(l->devs);
    np_free(l->me);
    np_free(l->only);
    np_free(l);
}
