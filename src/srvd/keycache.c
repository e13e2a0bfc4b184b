/*
 * src/srvd/keycache.c - asynchronous public-key cache (see keycache.h).
 *
 * Completion of a fetch is always delivered to waiters from a zero-delay
 * timer of the entry, so a keysource that (wrongly) completes inside fetch()
 * cannot re-enter a caller that is still inside kc_get().
 */
#include "keycache.h"
#include "map.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <event2/event.h>
#include <string.h>

#define KC_NEG_MS 1000

struct kc_entry {
    struct keycache *kc;
    struct kc_entry *prev, *next; /* all entries, for sweeping */
    char *uri;
    struct np_rsa_key *key; /* set when fetched */
    int status;             /* result of the last fetch (0 or NP_ERR_*) */
    int64_t until_ms;       /* cached result valid until (monotonic) */
    int pending;            /* fetch in flight */
    int notify_armed;       /* completion delivery scheduled */
    unsigned pins;
    struct kc_waiter *waiters, *waiters_tail;
    struct event *notify_ev;
};

struct keycache {
    struct event_base *base;
    struct relay_keysource src;
    int ttl_ms;
    size_t max;
    uint64_t *fetches;
    struct smap *m;
    struct kc_entry *head;
};

struct keycache *kc_new(struct event_base *base, const struct relay_keysource *src, int ttl_ms,
                        size_t max, uint64_t *fetch_counter)
{
    struct keycache *kc;

    if (!base || !src || !src->fetch)
        return NULL;
    if ((kc = np_calloc(1, sizeof(*kc))) == NULL)
        return NULL;
    kc->base = base;
    kc->src = *src;
    kc->ttl_ms = ttl_ms;
    kc->max = max ? max : 1;
    kc->fetches = fetch_counter;
    if ((kc->m = smap_new()) == NULL) {
        np_free(kc);
        return NULL;
    }
    return kc;
}

static void entry_free(struct kc_entry *e)
{
    struct keycache *kc = e->kc;

    if (e->pending && kc->src.cancel)
        kc->src.cancel(kc->src.data, e);
    while (e->waiters) {
        struct kc_waiter *w = e->waiters;
        e->waiters = w->next;
        w->entry = NULL;
        w->prev = w->next = NULL;
    }
    smap_del(kc->m, e->uri);
    if (e->prev)
        e->prev->next = e->next;
    else
        kc->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    if (e->notify_ev)
        event_free(e->notify_ev);
    np_rsa_free(e->key);
    np_free(e->uri);
    np_free(e);
}

void kc_free(struct keycache *kc)
{
    if (!kc)
        return;
    while (kc->head)
        entry_free(kc->head);
    smap_free(kc->m);
    np_free(kc);
}

static int idle(const struct kc_entry *e)
{
    return !e->pending && !e->notify_armed && !e->waiters && e->pins == 0;
}

/* Drop entries nobody needs whose result is stale. */
static void sweep(struct keycache *kc, int64_t now)
{
    struct kc_entry *e = kc->head;

    while (e) {
        struct kc_entry *next = e->next;
        if (idle(e) && now >= e->until_ms)
            entry_free(e);
        e = next;
    }
}

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kc_entry *e = arg;
    (void)fd;
    (void)what;

    /* Waiters may cancel other waiters or queue new ones on this entry while
     * we call them: take one from the head each time. A waiter queued during
     * this loop (after a failure) would start a new fetch; it is served by
     * that fetch, not by this result. notify_armed stays set until the loop
     * is over so that no sweep can free the entry under us. */
    while (e->waiters && !e->pending) {
        struct kc_waiter *w = e->waiters;
        e->waiters = w->next;
        if (e->waiters)
            e->waiters->prev = NULL;
        else
            e->waiters_tail = NULL;
        w->entry = NULL;
        w->prev = w->next = NULL;
        w->cb(w, e->status, e->status == 0 ? e->key : NULL);
    }
    e->notify_armed = 0;
}

static void fetch_done(void *arg, int status, const char *value)
{
    struct kc_entry *e = arg;
    struct np_rsa_key *k = NULL;
    int64_t now = np_mono_ms();

    if (!e->pending)
        return; /* not expected: the fetch was not ours any more */
    e->pending = 0;
    if (status == 0) {
        char *v = value ? np_strdup(value) : NULL;
        if (!v) {
            status = value ? NP_ERR_NOMEM : NP_ERR_NOTFOUND;
        } else {
            /* tolerate surrounding whitespace around the B64 SPKI */
            size_t n = strlen(v), a = 0;
            while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\r' || v[n - 1] == ' '))
                v[--n] = '\0';
            while (v[a] == ' ')
                a++;
            status = np_rsa_from_public_b64(v + a, &k);
            np_free(v);
        }
    }
    np_rsa_free(e->key);
    e->key = k;
    e->status = status;
    e->until_ms = now + (status == 0 ? e->kc->ttl_ms : KC_NEG_MS);
    if (status != 0)
        np_log_r(NP_LOG_WARN, status, "srvd: key lookup %s failed", e->uri);
    else
        np_debug("srvd: key %s fetched", e->uri);
    if (e->waiters) {
        static const struct timeval zero = {0, 0};
        e->notify_armed = 1;
        event_add(e->notify_ev, &zero);
    }
}

static int start_fetch(struct kc_entry *e)
{
    struct keycache *kc = e->kc;
    int r;

    e->pending = 1;
    r = kc->src.fetch(kc->src.data, e->uri, fetch_done, e);
    if (r != 0) {
        e->pending = 0;
        e->status = r;
        e->until_ms = np_mono_ms() + KC_NEG_MS;
        np_log_r(NP_LOG_WARN, r, "srvd: cannot look up %s", e->uri);
        return r;
    }
    if (kc->fetches)
        (*kc->fetches)++;
    return 0;
}

/* Find or create the entry for uri (not fetching). */
static struct kc_entry *entry_get(struct keycache *kc, const char *uri, int *err)
{
    struct kc_entry *e = smap_get(kc->m, uri);

    *err = 0;
    if (e)
        return e;
    if (smap_count(kc->m) >= kc->max)
        sweep(kc, np_mono_ms());
    if (smap_count(kc->m) >= kc->max) {
        *err = NP_ERR_LIMIT;
        return NULL;
    }
    *err = NP_ERR_NOMEM;
    if ((e = np_calloc(1, sizeof(*e))) == NULL)
        return NULL;
    e->kc = kc;
    e->status = NP_ERR_NOTFOUND;
    e->until_ms = 0;
    if ((e->uri = np_strdup(uri)) == NULL ||
        (e->notify_ev = evtimer_new(kc->base, notify_cb, e)) == NULL ||
        smap_put(kc->m, e->uri, e) != 0) {
        if (e->notify_ev)
            event_free(e->notify_ev);
        np_free(e->uri);
        np_free(e);
        return NULL;
    }
    e->next = kc->head;
    if (kc->head)
        kc->head->prev = e;
    kc->head = e;
    *err = 0;
    return e;
}

/* Is the cached result still usable? Pinned keys do not expire. */
static int fresh(const struct kc_entry *e, int64_t now)
{
    if (e->pending)
        return 0;
    if (e->status == 0 && e->key && (e->pins > 0 || now < e->until_ms))
        return 1;
    return e->status != 0 && e->until_ms > 0 && now < e->until_ms;
}

int kc_get(struct keycache *kc, const char *uri, struct kc_waiter *w, const struct np_rsa_key **key)
{
    struct kc_entry *e;
    int64_t now = np_mono_ms();
    int r;

    if (!key)
        return NP_ERR_INVAL;
    *key = NULL;
    if (!kc || !uri || !w || !w->cb || w->entry)
        return NP_ERR_INVAL;
    if ((e = entry_get(kc, uri, &r)) == NULL)
        return r;
    if (fresh(e, now) && !e->notify_armed) {
        if (e->status != 0)
            return e->status;
        *key = e->key;
        return 0;
    }
    if (!e->pending && !e->notify_armed && (r = start_fetch(e)) != 0)
        return r;
    /* queue at the tail: FIFO */
    w->entry = e;
    w->next = NULL;
    w->prev = e->waiters_tail;
    if (e->waiters_tail)
        e->waiters_tail->next = w;
    else
        e->waiters = w;
    e->waiters_tail = w;
    return NP_AGAIN;
}

void kc_cancel(struct kc_waiter *w)
{
    struct kc_entry *e;

    if (!w || (e = w->entry) == NULL)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        e->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        e->waiters_tail = w->prev;
    w->entry = NULL;
    w->prev = w->next = NULL;
}

struct kc_entry *kc_pin(struct keycache *kc, const char *uri)
{
    struct kc_entry *e;
    int r;

    if (!kc || !uri)
        return NULL;
    if ((e = entry_get(kc, uri, &r)) == NULL)
        return NULL;
    if (!e->pending && !e->notify_armed && !fresh(e, np_mono_ms()) && start_fetch(e) != 0) {
        if (idle(e))
            entry_free(e);
        return NULL;
    }
    e->pins++;
    return e;
}

void kc_unpin(struct keycache *kc, struct kc_entry *e)
{
    (void)kc;
    if (!e || e->pins == 0)
        return;
    e->pins--;
    /* an unpinned key stays for ttl_ms after it arrived, then is swept */
}
