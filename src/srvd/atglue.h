/*
 * src/srvd/atglue.h - the relay engine's atProtocol side (relay.h's
 * struct relay_outbox and struct relay_keysource) over the lib/at client,
 * and the monitor that feeds the engine (noports-wire.md 4.3, 7.1).
 *
 * Two connections to the relay atSign's atServer:
 *   - commands (at_client, persistent, "noop:0" keep-alive): the answers
 *     `@client:<sessionId>.sshrvd@relay` and NACKs
 *     `@client:nack.<sessionId>.sshrvd@relay` as encrypted notifications
 *     (ttl from the engine, 10 s for answers; ttln 60 s), and the public-key
 *     lookups (`public:publickey@x`, ESCR signing-key URIs) with bypassCache,
 *     cancellable (at/keyfetch.h);
 *   - monitor (at_monitor) with the regex `\.sshrvd@`: every decrypted
 *     update notification with a value goes to relay_handle_request.
 * Both reconnect by themselves with capped exponential back-off (lib/at);
 * after a reconnection the monitor asks for everything after the last
 * notification it saw, so requests the atServer kept meanwhile are not
 * lost. Each up/down transition of each connection is logged once.
 */
#ifndef SRVD_ATGLUE_H
#define SRVD_ATGLUE_H
#include "relay.h"

struct event_base;
struct np_atkeys;
struct srvd_glue;

/* The monitor regex of the relay (7.1, NEWER form). */
#define SRVD_GLUE_REGEX "\\.sshrvd@"
/* ttln of the answers and NACKs (13). */
#define SRVD_GLUE_TTLN_MS 60000

struct srvd_glue_opts {
    const char *atsign;           /* "@relay" */
    const struct np_atkeys *keys; /* copied by the client */
    const char *root_host;        /* atDirectory; NULL: the lib/at default */
    int root_port;
    const char *ca_file; /* NULL: system trust store */
    int keepalive_ms;    /* noop interval on both connections; 0: 30000 */
};

/* Create the client (nothing is sent yet). Errors of at_client_new /
 * at_keyfetch_new. *out only on success. */
int srvd_glue_new(struct event_base *base, const struct srvd_glue_opts *o, struct srvd_glue **out);

/* The interfaces to give to relay_new (data = g, borrowed). */
struct relay_outbox srvd_glue_outbox(struct srvd_glue *g);
struct relay_keysource srvd_glue_keysource(struct srvd_glue *g);

/* Connect both connections; notifications go to r (borrowed: free the
 * relay first, then the glue). Errors: at_client_start / at_monitor_start. */
int srvd_glue_start(struct srvd_glue *g, struct relay *r);

/* 1 when the monitor is live and the command connection authenticated. */
int srvd_glue_is_up(const struct srvd_glue *g);

/* Stop and free (NULL-safe). Free the relay first (it cancels its key
 * fetches); lookups still outstanding are dropped without callbacks. */
void srvd_glue_free(struct srvd_glue *g);

#endif
