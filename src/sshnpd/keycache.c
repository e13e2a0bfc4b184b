/*
 * src/sshnpd/keycache.c - the clients' public:publickey records, fetched
 * through io.fetch_key and kept for key_cache_ms. Concurrent requests for
 * one atSign share one lookup. A caller whose signature check fails asks
 * again with refresh = 1 (keys get rotated: a stale cache is the classic
 * cause of "Signature not verified", noports-wire.md 3.2). Failed lookups
 * are not cached.
 */
#include "crypto/rsa.h"
#include "sshnpd_int.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/time.h"

#include <string.h>
#include <strings.h>

struct sd_keywait {
    struct sd_keywait *next;
    struct kc_entry *e;
    sd_key_cb cb;
    void *arg;
};

struct kc_entry {
    struct sd_keycache *kc;
    char atsign[AT_ATSIGN_BUF];
    struct np_rsa_key *key; /* NULL until fetched */
    int64_t fetched_ms;
    int fetching;
    int busy; /* calling waiters: must not be evicted */
    struct sd_keywait *waiters;
};

struct sd_keycache {
    struct sshnpd_io io;
    int ttl_ms;
    size_t max;
    struct kc_entry **e;
    size_t n;
    uint64_t fetches;
};

int sd_keycache_new(const struct sshnpd_io *io, int ttl_ms, size_t max, struct sd_keycache **out)
{
    struct sd_keycache *kc;

    *out = NULL;
    if ((kc = np_calloc(1, sizeof(*kc))) == NULL)
        return NP_ERR_NOMEM;
    kc->io = *io;
    kc->ttl_ms = ttl_ms;
    kc->max = max ? max : 1;
    if ((kc->e = np_calloc(kc->max, sizeof(*kc->e))) == NULL) {
        np_free(kc);
        return NP_ERR_NOMEM;
    }
    *out = kc;
    return 0;
}

static void entry_free(struct kc_entry *e)
{
    struct sd_keywait *w = e->waiters;

    if (e->fetching && e->kc->io.cancel_fetch)
        e->kc->io.cancel_fetch(e->kc->io.data, e);
    while (w) {
        struct sd_keywait *n = w->next;
        np_free(w);
        w = n;
    }
    np_rsa_free(e->key);
    np_free(e);
}

void sd_keycache_free(struct sd_keycache *kc)
{
    if (!kc)
        return;
    for (size_t i = 0; i < kc->n; i++)
        entry_free(kc->e[i]);
    np_free(kc->e);
    np_free(kc);
}

uint64_t sd_keycache_fetches(const struct sd_keycache *kc)
{
    return kc ? kc->fetches : 0;
}

static void on_fetched(void *arg, int status, const char *value)
{
    struct kc_entry *e = arg;
    struct sd_keywait *w;
    struct np_rsa_key *k = NULL;
    int r = status;

    e->fetching = 0;
    if (r == 0 && (!value || (r = np_rsa_from_public_b64(value, &k)) != 0))
        r = r ? r : NP_ERR_FORMAT;
    if (r == 0) {
        np_rsa_free(e->key);
        e->key = k;
        e->fetched_ms = np_mono_ms();
    } else {
        np_debug("sshnpd: public:publickey%s: lookup failed: %s", e->atsign, np_strerror(r));
    }
    /* Detach first: a callback may start a new lookup for this entry. */
    w = e->waiters;
    e->waiters = NULL;
    e->busy = 1;
    while (w) {
        struct sd_keywait *n = w->next;
        w->cb(w->arg, r, r == 0 ? k : NULL);
        np_free(w);
        w = n;
    }
    e->busy = 0;
}

static struct kc_entry *lookup(struct sd_keycache *kc, const char *atsign)
{
    for (size_t i = 0; i < kc->n; i++)
        if (strcasecmp(kc->e[i]->atsign, atsign) == 0)
            return kc->e[i];
    return NULL;
}

static int make_room(struct sd_keycache *kc)
{
    size_t oldest = kc->n;

    if (kc->n < kc->max)
        return 0;
    for (size_t i = 0; i < kc->n; i++)
        if (!kc->e[i]->fetching && !kc->e[i]->busy &&
            (oldest == kc->n || kc->e[i]->fetched_ms < kc->e[oldest]->fetched_ms))
            oldest = i;
    if (oldest == kc->n)
        return NP_ERR_LIMIT;
    entry_free(kc->e[oldest]);
    kc->e[oldest] = kc->e[--kc->n];
    return 0;
}

int sd_keycache_get(struct sd_keycache *kc, const char *atsign, int refresh, sd_key_cb cb,
                    void *arg, const struct np_rsa_key **key, struct sd_keywait **wout)
{
    struct kc_entry *e;
    struct sd_keywait *w;
    int r;

    *key = NULL;
    *wout = NULL;
    if (!kc || !atsign || !cb || strlen(atsign) >= AT_ATSIGN_BUF)
        return NP_ERR_INVAL;
    if ((e = lookup(kc, atsign)) == NULL) {
        if ((r = make_room(kc)) != 0)
            return r;
        if ((e = np_calloc(1, sizeof(*e))) == NULL)
            return NP_ERR_NOMEM;
        e->kc = kc;
        memcpy(e->atsign, atsign, strlen(atsign) + 1);
        kc->e[kc->n++] = e;
    }
    if (!refresh && !e->fetching && e->key && np_mono_ms() - e->fetched_ms < kc->ttl_ms) {
        *key = e->key;
        return 0;
    }
    if ((w = np_calloc(1, sizeof(*w))) == NULL)
        return NP_ERR_NOMEM;
    if (!e->fetching) {
        kc->fetches++;
        if ((r = kc->io.fetch_key(kc->io.data, e->atsign, on_fetched, e)) != 0) {
            np_free(w);
            return r;
        }
        e->fetching = 1;
    }
    w->e = e;
    w->cb = cb;
    w->arg = arg;
    w->next = e->waiters;
    e->waiters = w;
    *wout = w;
    return NP_AGAIN;
}

void sd_keycache_cancel(struct sd_keywait *w)
{
    struct sd_keywait **p;

    if (!w)
        return;
    for (p = &w->e->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            np_free(w);
            return;
        }
}
