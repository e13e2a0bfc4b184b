/*
 * src/sshnpd/ratelimit.c - per-sender token buckets for incoming messages
 * (noports-wire.md 13: the Dart daemon has none; a flood of pings or
 * requests would otherwise make us sign, fetch keys and call the policy).
 *
 * A fixed table of `max` buckets, searched linearly (the table is small and
 * the rate of messages is low); when it is full the least recently seen
 * sender is forgotten, so a newcomer is never refused for lack of room.
 * Drops are reported at most once per minute per sender.
 */
#include "sshnpd_int.h"
#include "util/alloc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LOG_WINDOW_MS 60000

struct bucket {
    char who[AT_ATSIGN_BUF];
    int64_t milli; /* tokens x 1000 */
    int64_t last_ms;
    int64_t seen_ms;
    int64_t logged_ms;
    uint64_t dropped;
    int used;
};

struct sd_rate {
    int per_min;
    int64_t cap_milli;
    size_t max;
    struct bucket *b;
};

struct sd_rate *sd_rate_new(int per_min, int burst, size_t max)
{
    struct sd_rate *rl = np_calloc(1, sizeof(*rl));

    if (!rl)
        return NULL;
    rl->per_min = per_min;
    rl->cap_milli = (int64_t)(burst > 0 ? burst : 1) * 1000;
    rl->max = max ? max : 1;
    if ((rl->b = np_calloc(rl->max, sizeof(*rl->b))) == NULL) {
        np_free(rl);
        return NULL;
    }
    return rl;
}

void sd_rate_free(struct sd_rate *rl)
{
    if (!rl)
        return;
    np_free(rl->b);
    np_free(rl);
}

static struct bucket *find(struct sd_rate *rl, const char *who, int64_t now)
{
    struct bucket *victim = NULL;

    for (size_t i = 0; i < rl->max; i++) {
        struct bucket *b = &rl->b[i];
        if (b->used && strcasecmp(b->who, who) == 0)
            return b;
        if (!victim || (victim->used && (!b->used || b->seen_ms < victim->seen_ms)))
            victim = b;
    }
    memset(victim, 0, sizeof(*victim));
    victim->used = 1;
    snprintf(victim->who, sizeof(victim->who), "%s", who);
    victim->milli = rl->cap_milli;
    victim->last_ms = now;
    victim->logged_ms = now - LOG_WINDOW_MS;
    return victim;
}

int sd_rate_allow(struct sd_rate *rl, const char *who, int64_t now_ms, uint64_t *report)
{
    struct bucket *b;
    int64_t dt;

    if (report)
        *report = 0;
    if (!rl || rl->per_min <= 0)
        return 1;
    if (!who)
        return 0;
    b = find(rl, who, now_ms);
    b->seen_ms = now_ms;
    dt = now_ms - b->last_ms;
    if (dt > 0) {
        /* per_min tokens per 60000 ms = per_min milli-tokens per 60 ms */
        int64_t add = dt * rl->per_min / 60;
        b->milli = b->milli + add > rl->cap_milli ? rl->cap_milli : b->milli + add;
        b->last_ms = now_ms;
    }
    if (b->milli >= 1000) {
        b->milli -= 1000;
        return 1;
    }
    b->dropped++;
    if (now_ms - b->logged_ms >= LOG_WINDOW_MS) {
        if (report)
            *report = b->dropped;
        b->dropped = 0;
        b->logged_ms = now_ms;
    }
    return 0;
}
