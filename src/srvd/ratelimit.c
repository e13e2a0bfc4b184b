/* src/srvd/ratelimit.c - per-sender token buckets (see ratelimit.h). */
#include "ratelimit.h"
#include "map.h"
#include "util/alloc.h"
#include "util/err.h"

#include <ctype.h>
#include <string.h>

#define RL_KEY_MAX 256

struct bucket {
    struct bucket *prev, *next;
    int64_t milli; /* tokens x 1000 */
    int64_t last_ms;
    char key[RL_KEY_MAX + 1];
};

struct ratelimit {
    int per_min;
    int64_t cap_milli;
    size_t max;
    struct smap *m;
    struct bucket *head;
};

struct ratelimit *rl_new(int per_min, int burst, size_t max_entries)
{
    struct ratelimit *rl = np_calloc(1, sizeof(*rl));

    if (!rl)
        return NULL;
    rl->per_min = per_min;
    rl->cap_milli = (int64_t)(burst > 0 ? burst : 1) * 1000;
    rl->max = max_entries ? max_entries : 1;
    if ((rl->m = smap_new()) == NULL) {
        np_free(rl);
        return NULL;
    }
    return rl;
}

static void unlink_free(struct ratelimit *rl, struct bucket *b)
{
    smap_del(rl->m, b->key);
    if (b->prev)
        b->prev->next = b->next;
    else
        rl->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    np_free(b);
}

void rl_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    while (rl->head)
        unlink_free(rl, rl->head);
    smap_free(rl->m);
    np_free(rl);
}

static void refill(const struct ratelimit *rl, struct bucket *b, int64_t now)
{
    int64_t dt = now - b->last_ms;

    if (dt > 0) {
        /* per_min tokens per 60000 ms = per_min milli-tokens per 60 ms */
        int64_t add = dt * rl->per_min / 60;
        b->milli = b->milli + add > rl->cap_milli ? rl->cap_milli : b->milli + add;
        b->last_ms = now;
    }
}

int rl_allow(struct ratelimit *rl, const char *who, int64_t now_ms)
{
    char key[RL_KEY_MAX + 1];
    struct bucket *b;
    size_t n;

    if (!rl || rl->per_min <= 0)
        return 1;
    if (!who)
        return 0;
    n = strlen(who);
    if (n > RL_KEY_MAX)
        n = RL_KEY_MAX;
    for (size_t i = 0; i < n; i++)
        key[i] = (char)tolower((unsigned char)who[i]);
    key[n] = '\0';
    if ((b = smap_get(rl->m, key)) == NULL) {
        if (smap_count(rl->m) >= rl->max) {
            struct bucket *it = rl->head;
            while (it) {
                struct bucket *next = it->next;
                refill(rl, it, now_ms);
                if (it->milli >= rl->cap_milli)
                    unlink_free(rl, it);
                it = next;
            }
            if (smap_count(rl->m) >= rl->max)
                return 0;
        }
        if ((b = np_calloc(1, sizeof(*b))) == NULL)
            return 0;
        memcpy(b->key, key, n + 1);
        b->milli = rl->cap_milli;
        b->last_ms = now_ms;
        if (smap_put(rl->m, b->key, b) != 0) {
            np_free(b);
            return 0;
        }
        b->next = rl->head;
        if (rl->head)
            rl->head->prev = b;
        rl->head = b;
    }
    refill(rl, b, now_ms);
    if (b->milli < 1000)
        return 0;
    b->milli -= 1000;
    return 1;
}
