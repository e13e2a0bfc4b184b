/*
 * lib/at/keyfetch.h - a set of cancellable asynchronous lookups over an
 * at_client, for daemons whose engines fetch public keys
 * ("public:publickey@x", signing-key URIs) and may lose interest before the
 * answer arrives (the srvd relay's keysource; sshnpd's key lookups can use
 * it the same way).
 *
 * at_client_get has no cancel: a lookup always completes. This set keeps
 * every outstanding lookup with its owner token (`arg`); at_keyfetch_cancel
 * marks the lookups of a token so that their done callback is never
 * called, and the client's completion then just frees the entry. Freeing the
 * set orphans the outstanding entries the same way (they are freed when the
 * client completes them, at the latest from at_client_free), so the set may
 * be freed before or after its client.
 *
 * Loop/thread: the client's event_base; done runs from the loop, never from
 * inside at_keyfetch_get.
 */
#ifndef AT_KEYFETCH_H
#define AT_KEYFETCH_H
#include <stddef.h>

struct at_client;
struct at_keyfetch;

/* Completion: status 0 with value (borrowed for the call; a lookup that
 * answers with no value is NP_ERR_NOTFOUND), or a negative NP_ERR_* code
 * and NULL. */
typedef void (*at_keyfetch_done_fn)(void *arg, int status, const char *value);

/* New empty set over client c (borrowed). *out only on success
 * (NP_ERR_NOMEM, NP_ERR_INVAL for a NULL client). */
int at_keyfetch_new(struct at_client *c, struct at_keyfetch **out);

/*
 * Start at_client_get(key, flags) (AT_GET_BYPASS is usual for public keys).
 * Returns 0 and later calls done(arg, ...) exactly once unless cancelled;
 * or an error of at_client_get / NP_ERR_NOMEM, and done is never called.
 */
int at_keyfetch_get(struct at_keyfetch *s, const char *key, unsigned flags,
                    at_keyfetch_done_fn done, void *arg);

/* Withdraw every outstanding lookup started with arg: done will not be
 * called for them. Unknown arg: nothing happens. NULL-safe. */
void at_keyfetch_cancel(struct at_keyfetch *s, void *arg);

/* Lookups started and not yet completed (cancelled ones included). */
size_t at_keyfetch_pending(const struct at_keyfetch *s);

/* Free the set; outstanding lookups are cancelled (see above). NULL-safe. */
void at_keyfetch_free(struct at_keyfetch *s);

#endif
