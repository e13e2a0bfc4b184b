/*
 * lib/np/ratelimit.h - per-sender token buckets for incoming messages, shared
 * by sshnpd (notifications) and srvd (relay requests). noports-wire.md 13:
 * the Dart daemon has no rate limit; a flood would otherwise make us sign,
 * fetch keys and allocate ports for every message.
 *
 * Each sender (an atSign, compared ASCII-case-insensitively, at most
 * NP_RATELIMIT_KEY_MAX bytes significant) has a bucket of `burst` tokens,
 * refilled continuously at per_min tokens per minute (exact integer
 * arithmetic, no rounding loss); a message takes one token. A new sender
 * starts with a full bucket.
 *
 * The table is bounded: at most max_entries senders are tracked. When it is
 * full and a new sender arrives, buckets that have refilled completely are
 * forgotten (they carry no state, so nothing is lost); if none has, the new
 * sender is refused until one has. A limited sender's bucket is therefore
 * never reset by a crowd of other senders. Memory use is bounded by
 * max_entries small allocations plus a fixed index.
 *
 * Depends only on lib/util. Not thread-safe: one limiter per event loop.
 */
#ifndef NP_NP_RATELIMIT_H
#define NP_NP_RATELIMIT_H
#include <stddef.h>
#include <stdint.h>

struct np_ratelimit;

/* Bytes of a sender name that count; longer names are truncated (so two
 * senders sharing the first 255 bytes share a bucket: never fewer limits). */
#define NP_RATELIMIT_KEY_MAX 255
/* Drops of one sender are reported at most once per this many ms. */
#define NP_RATELIMIT_REPORT_MS 60000

/*
 * New limiter into *out (cleared at entry, set only on success; free with
 * np_ratelimit_free). per_min <= 0 disables limiting: np_ratelimit_allow
 * then always allows and tracks nothing. burst <= 0 counts as 1;
 * max_entries 0 counts as 1. Returns 0, NP_ERR_INVAL (out NULL) or
 * NP_ERR_NOMEM.
 */
int np_ratelimit_new(int per_min, int burst, size_t max_entries, struct np_ratelimit **out);

/* Free the limiter and every bucket (NULL-safe). */
void np_ratelimit_free(struct np_ratelimit *rl);

/*
 * May `who` send a message at now_ms (any monotonic millisecond clock; a
 * clock that goes back refills nothing)? Returns 1 and takes a token, or 0.
 * A NULL or disabled limiter allows everything; a NULL `who` is refused.
 * A new sender is refused when the table is full of buckets that have not
 * refilled completely, and when its bucket cannot be allocated.
 *
 * report (may be NULL) is cleared at entry. On a refusal of a tracked sender
 * it is set, at most once per NP_RATELIMIT_REPORT_MS per sender (the first
 * refusal is reported at once), to the number of refusals since the last
 * report, including this one; otherwise it stays 0. Counts not yet reported
 * are lost when a bucket is forgotten.
 */
int np_ratelimit_allow(struct np_ratelimit *rl, const char *who, int64_t now_ms, uint64_t *report);

/* Number of senders tracked now (0 for NULL or a disabled limiter). */
size_t np_ratelimit_count(const struct np_ratelimit *rl);

#endif
