/*
 * src/sshnp/atglue.h - the client programs' connection to their atServer:
 * implements struct np_client_io (np/client_session.h) with the atProtocol
 * client of lib/at (client.h, monitor.h) and feeds every decrypted
 * notification of the NoPorts namespaces to the program.
 *
 * One at_client (command connection: notify, get, scan, put) and one
 * at_monitor (regex `\.(sshnp|sshrvd)@`, only new notifications) on the
 * program's event_base, both authenticated with PKAM from the .atKeys file.
 * Notifications are sent encrypted with record ttl as asked and ttln 60 s
 * (noports-wire.md 2.2); a failed notify is logged (the session's timers
 * then report what did not happen). Gets and scans can be cancelled: the
 * at client's answer is then dropped.
 *
 * Everything runs on one thread, the event_base's.
 */
#ifndef SSHNP_ATGLUE_H
#define SSHNP_ATGLUE_H
#include <stddef.h>

#include "np/client_session.h"

struct event_base;
struct np_atkeys;
struct atglue;

struct atglue_opts {
    const char *atsign;           /* "@alice" */
    const struct np_atkeys *keys; /* borrowed for atglue_new only (copied by the client) */
    const char *root_host;        /* directory */
    int root_port;
    const char *ca_file; /* NULL: system trust store */
    /* A decrypted notification (borrowed strings). */
    void (*on_notification)(void *data, const char *from, const char *key, const char *value,
                            size_t len);
    /* The monitor is live (up = 1) or went down (up = 0; err and message say why). */
    void (*on_status)(void *data, int up, int err, const char *message);
    void *data;
};

/* Create the client and start the monitor. Errors from at_client_new /
 * at_monitor_start; message in err. */
int atglue_new(struct event_base *base, const struct atglue_opts *o, struct atglue **out, char *err,
               size_t errlen);

/* The io interface (data = g). */
struct np_client_io atglue_io(struct atglue *g);

/*
 * ESCR needs the record public:_apsk.<enrollmentId|primary>.a.__e@<atSign>
 * holding our PKAM public key (noports-wire.md 5.10). Look it up and put it
 * when missing; done(data, err) once, from the loop. *uri gets the URI
 * (np_free). Errors before any callback: NP_ERR_INVAL, NP_ERR_NOMEM.
 */
int atglue_ensure_signing_key(struct atglue *g, const char *enrollment_id, const char *pkam_pub_b64,
                              void (*done)(void *data, int err, const char *message), void *data,
                              char **uri);

/* Close both connections; pending callbacks are dropped. NULL-safe. */
void atglue_free(struct atglue *g);

#endif
