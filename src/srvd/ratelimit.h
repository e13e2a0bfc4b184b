/*
 * src/srvd/ratelimit.h - per-sender token buckets for incoming requests.
 *
 * Each sender (atSign, compared case-insensitively) has a bucket of `burst`
 * tokens refilled at per_min tokens per minute; a request takes one token.
 * At most max_entries senders are tracked: when full, buckets that have
 * refilled completely are forgotten (they carry no state); if none has, new
 * senders are refused until one has.
 */
#ifndef SRVD_RATELIMIT_H
#define SRVD_RATELIMIT_H
#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* per_min <= 0 disables limiting (rl_allow always 1). NULL on allocation failure. */
struct ratelimit *rl_new(int per_min, int burst, size_t max_entries);
void rl_free(struct ratelimit *rl);
/* 1 if `who` may make a request at now_ms (and a token is taken), else 0. */
int rl_allow(struct ratelimit *rl, const char *who, int64_t now_ms);

#endif
