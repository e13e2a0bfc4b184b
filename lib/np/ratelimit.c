/*
 * lib/np/ratelimit.c - per-sender token buckets (see ratelimit.h).
 *
 * Tokens are counted in units of 1/60000 token, so one millisecond at
 * per_min tokens a minute adds exactly per_min units: refill never loses a
 * fraction however often a sender calls. Buckets are allocated on first use
 * and found through a fixed chained hash index (FNV-1a over the lower-cased
 * key) of about max_entries slots, so a lookup costs O(1) on average and at
 * most O(max_entries). Sweeping the table for refilled buckets costs
 * O(max_entries); `quiet_until` remembers the earliest time any bucket can
 * have refilled, so a flood of newcomers against a full table does not sweep
 * on every message.
 */
#include "np/ratelimit.h"
#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

#define UNITS_PER_TOKEN 60000 /* ms in a minute: 1 ms adds per_min units */

struct bucket {
    struct bucket *next; /* hash chain */
    int64_t units;       /* tokens x UNITS_PER_TOKEN */
    int64_t last_ms;     /* time of the last refill */
    int64_t logged_ms;   /* time of the last report */
    uint64_t dropped;    /* refusals since the last report */
    int reported;        /* logged_ms is valid */
    char key[];          /* lower-cased, NUL-terminated */
};

struct np_ratelimit {
    int per_min;
    int64_t cap;    /* burst x UNITS_PER_TOKEN */
    size_t max;     /* most buckets */
    size_t count;   /* buckets now */
    size_t n_slots; /* power of two */
    struct bucket **slot;
    int64_t quiet_until; /* valid if have_quiet: no bucket is full before */
    int have_quiet;
};

/* Lower-case (ASCII) and truncate `who` into key; returns its length and
 * sets *hash to its FNV-1a hash, in one pass. */
static size_t key_of(const char *who, char key[NP_RATELIMIT_KEY_MAX + 1], size_t *hash)
{
    uint64_t h = 1469598103934665603ULL;
    size_t n = 0;

    for (; who[n] && n < NP_RATELIMIT_KEY_MAX; n++) {
        char c = who[n];
        key[n] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        h = (h ^ (unsigned char)key[n]) * 1099511628211ULL;
    }
    key[n] = '\0';
    *hash = (size_t)h;
    return n;
}

int np_ratelimit_new(int per_min, int burst, size_t max_entries, struct np_ratelimit **out)
{
    struct np_ratelimit *rl = NULL;
    int r = NP_ERR_INVAL;

    if (!out)
        goto out;
    *out = NULL;
    r = NP_ERR_NOMEM;
    if ((rl = np_calloc(1, sizeof(*rl))) == NULL)
        goto out;
    rl->per_min = per_min;
    rl->cap = (int64_t)(burst > 0 ? burst : 1) * UNITS_PER_TOKEN;
    rl->max = max_entries ? max_entries : 1;
    rl->n_slots = 1;
    /* about one slot per bucket, capped so a huge max costs no huge index */
    while (rl->n_slots < rl->max && rl->n_slots < 65536)
        rl->n_slots <<= 1;
    if ((rl->slot = np_calloc(rl->n_slots, sizeof(*rl->slot))) == NULL)
        goto out;
    *out = rl;
    rl = NULL;
    r = 0;
out:
    np_ratelimit_free(rl);
    return r;
}

void np_ratelimit_free(struct np_ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; rl->slot && i < rl->n_slots; i++) {
        while (rl->slot[i]) {
            struct bucket *b = rl->slot[i];
            rl->slot[i] = b->next;
            np_free(b);
        }
    }
    np_free(rl->slot);
    np_free(rl);
}

size_t np_ratelimit_count(const struct np_ratelimit *rl)
{
    return rl ? rl->count : 0;
}

static void refill(const struct np_ratelimit *rl, struct bucket *b, int64_t now)
{
    int64_t dt = now - b->last_ms;
    int64_t need;

    if (dt <= 0)
        return;
    b->last_ms = now;
    need = rl->cap - b->units;
    /* compare before multiplying: dt * per_min may not fit */
    if (dt >= (need + rl->per_min - 1) / rl->per_min)
        b->units = rl->cap;
    else
        b->units += dt * rl->per_min;
}

/* Milliseconds until a refilled bucket is full again. */
static int64_t ms_to_full(const struct np_ratelimit *rl, const struct bucket *b)
{
    return (rl->cap - b->units + rl->per_min - 1) / rl->per_min;
}

/* Forget every bucket that has refilled completely; when none has, remember
 * when the first one will. */
static void sweep(struct np_ratelimit *rl, int64_t now)
{
    int64_t soonest = INT64_MAX;

    if (rl->have_quiet && now < rl->quiet_until)
        return;
    for (size_t i = 0; i < rl->n_slots; i++) {
        struct bucket **pp = &rl->slot[i];
        while (*pp) {
            struct bucket *b = *pp;
            refill(rl, b, now);
            if (b->units >= rl->cap) {
                *pp = b->next;
                np_free(b);
                rl->count--;
                continue;
            }
            if (ms_to_full(rl, b) < soonest)
                soonest = ms_to_full(rl, b);
            pp = &b->next;
        }
    }
    /* Buckets only drain until a new one is added, which needs room, which
     * needs a later sweep to free some: the bound holds until then. */
    rl->have_quiet = rl->count >= rl->max;
    rl->quiet_until = soonest > INT64_MAX - (now > 0 ? now : 0) ? INT64_MAX : now + soonest;
}

static struct bucket *lookup(struct np_ratelimit *rl, const char *key, size_t n, size_t hash,
                             int64_t now)
{
    size_t h = hash & (rl->n_slots - 1);
    struct bucket *b;

    for (b = rl->slot[h]; b; b = b->next)
        if (strcmp(b->key, key) == 0)
            return b;
    if (rl->count >= rl->max) {
        sweep(rl, now);
        if (rl->count >= rl->max)
            return NULL;
    }
    if ((b = np_calloc(1, sizeof(*b) + n + 1)) == NULL)
        return NULL;
    memcpy(b->key, key, n + 1);
    b->units = rl->cap;
    b->last_ms = now;
    b->next = rl->slot[h];
    rl->slot[h] = b;
    rl->count++;
    return b;
}

int np_ratelimit_allow(struct np_ratelimit *rl, const char *who, int64_t now_ms, uint64_t *report)
{
    char key[NP_RATELIMIT_KEY_MAX + 1];
    struct bucket *b;
    size_t n, hash;

    if (report)
        *report = 0;
    if (!rl || rl->per_min <= 0)
        return 1;
    if (!who)
        return 0;
    n = key_of(who, key, &hash);
    if ((b = lookup(rl, key, n, hash, now_ms)) == NULL)
        return 0; /* table full of senders still limited, or no memory */
    refill(rl, b, now_ms);
    if (b->units >= UNITS_PER_TOKEN) {
        b->units -= UNITS_PER_TOKEN;
        return 1;
    }
    b->dropped++;
    if (!b->reported || now_ms - b->logged_ms >= NP_RATELIMIT_REPORT_MS) {
        if (report)
            *report = b->dropped;
        b->dropped = 0;
        b->logged_ms = now_ms;
        b->reported = 1;
    }
    return 0;
}
