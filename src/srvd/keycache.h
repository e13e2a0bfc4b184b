/*
 * src/srvd/keycache.h - public keys fetched through the relay_keysource,
 * shared by every socket and session that needs the same URI.
 *
 * One entry per URI: at most one fetch in flight; waiters queue on it and are
 * called back from the loop when it completes. A successful key is kept for
 * ttl_ms after it arrived, and for as long as a session pins it (so a
 * session's keys are fetched once, however many sockets it authenticates);
 * a failure is remembered for one second. Entries nobody uses are swept
 * lazily when new ones are added; at most `max` entries exist.
 */
#ifndef SRVD_KEYCACHE_H
#define SRVD_KEYCACHE_H
#include <stddef.h>
#include <stdint.h>

#include "relay.h"

struct event_base;
struct np_rsa_key;
struct keycache;
struct kc_entry;

/* A party waiting for a key. Embed it; set cb; the other fields are private. */
struct kc_waiter {
    /* status 0 and key (borrowed for the call), or a negative NP_ERR_* code. */
    void (*cb)(struct kc_waiter *w, int status, const struct np_rsa_key *key);
    struct kc_entry *entry;
    struct kc_waiter *prev, *next;
};

/* New cache over src (copied). fetch_counter (may be NULL) is incremented per
 * fetch started. NULL on allocation failure. */
struct keycache *kc_new(struct event_base *base, const struct relay_keysource *src, int ttl_ms,
                        size_t max, uint64_t *fetch_counter);
/* Cancel fetches in flight, drop waiters without calling them, free. NULL-safe. */
void kc_free(struct keycache *kc);

/*
 * Get the key for uri. 0: cached, *key borrowed (use it before returning to
 * the loop), w untouched. NP_AGAIN: w is queued and w->cb will be called once
 * from the loop. Negative: failed now (cached failure, fetch refused, limit),
 * w untouched and never called.
 */
int kc_get(struct keycache *kc, const char *uri, struct kc_waiter *w,
           const struct np_rsa_key **key);
/* Withdraw a queued waiter (no-op if it is not queued). */
void kc_cancel(struct kc_waiter *w);

/* Pin uri: start fetching it if needed and keep it while pinned. Returns the
 * entry to pass to kc_unpin, or NULL (fetch could not start; not fatal). */
struct kc_entry *kc_pin(struct keycache *kc, const char *uri);
void kc_unpin(struct keycache *kc, struct kc_entry *e);

#endif
