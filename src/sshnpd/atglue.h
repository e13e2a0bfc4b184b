/*
 * src/sshnpd/atglue.h - the sshnpd engine's action interface (daemon.h,
 * struct sshnpd_io) implemented with the lib/at client, and the monitor
 * that feeds it notifications.
 *
 * Two connections to the device atSign's atServer, as design.md asks:
 *   - commands (at_client, persistent): notify, public-key lookups, put,
 *     delete; "noop:0" keep-alive;
 *   - monitor (at_monitor) with the engine's regex; decrypted, de-duplicated
 *     notifications go to sshnpd_handle.
 * Both reconnect on their own with capped exponential back-off (the lib/at
 * policy); each up/down transition is logged once. After every
 * (re)authentication of the command connection the engine is told
 * (sshnpd_connected) so that it re-writes its records.
 */
#ifndef SSHNPD_ATGLUE_H
#define SSHNPD_ATGLUE_H
#include "daemon.h"

struct event_base;
struct evdns_base;
struct np_atkeys;
struct sd_glue;

struct sd_glue_opts {
    const char *atsign;           /* "@device" */
    const struct np_atkeys *keys; /* copied by the client */
    const char *root_host;        /* atDirectory */
    int root_port;
    const char *ca_file;    /* NULL: system trust store */
    struct evdns_base *dns; /* may be NULL */
    int keepalive_ms;       /* noop interval on both connections */
};

/* Create the client (nothing is sent yet). *out only on success. */
int sd_glue_new(struct event_base *base, const struct sd_glue_opts *o, struct sd_glue **out);
/* The interface to give to sshnpd_new (data = g). */
struct sshnpd_io sd_glue_io(struct sd_glue *g);
/* Connect both connections; notifications go to d (borrowed: free d
 * first, then the glue). regex: the monitor regex. */
int sd_glue_start(struct sd_glue *g, struct sshnpd *d, const char *regex);
/* Stop and free (NULL-safe). Free the engine first: it cancels its lookups. */
void sd_glue_free(struct sd_glue *g);

#endif
