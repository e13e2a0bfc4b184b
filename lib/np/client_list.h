/*
 * lib/np/client_list.h - `sshnp --list-devices` (noports-wire.md 6.5) on the
 * caller's event loop, through the same np_client_io boundary as the session.
 *
 *   1. scan for device_info records shared with us (regex
 *      device_info\.[^.@]+\.sshnp@ - without ':', which our atServer's scan
 *      grammar refuses; keys "[cached:]@me:device_info.<dev>.sshnp@<atSign>");
 *      with device_atsign set only that atSign's records are kept;
 *   2. get each record (bypassing caches) and parse the device-info JSON,
 *      skipping records that are missing or do not parse;
 *   3. ping each device (ping.<dev>.sshnp) and collect heartbeats for
 *      wait_ms (10 s; earlier when every device has answered);
 *   4. done(); np_client_list_print writes the result:
 *        Active Devices:
 *          <device> - v<version> (core v<core>)
 *          - allowedServices: [<a>, <b>]
 *        Inactive Devices:
 *          ...
 *      Devices are named <device>@<atSign> when device_atsign is NULL.
 * At most NP_LIST_MAX devices are kept. Everything runs on one thread.
 */
#ifndef NP_NP_CLIENT_LIST_H
#define NP_NP_CLIENT_LIST_H
#include <stddef.h>
#include <stdio.h>

#include "np/client_session.h"

#define NP_LIST_MAX     256
#define NP_LIST_WAIT_MS 10000

struct np_client_list;

struct np_list_config {
    const char *client_atsign; /* "@me" (normalised) */
    const char *device_atsign; /* NULL: every atSign */
    int wait_ms;               /* 0: NP_LIST_WAIT_MS */
    struct np_client_io io;    /* scan, get, notify, cancel */
    void (*progress)(void *data, int level, const char *msg);
    /* status 0, or the scan's error (message says what failed); may free l */
    void (*done)(struct np_client_list *l, int status, const char *message, void *data);
    void *data;
};

/* Errors: NP_ERR_INVAL (missing atSign, io.scan/get/notify or done), NP_ERR_NOMEM. */
int np_client_list_new(struct event_base *base, const struct np_list_config *c,
                       struct np_client_list **out);
/* Start the scan. Errors from io.scan (done is then not called). */
int np_client_list_start(struct np_client_list *l);
/* Feed a decrypted notification; 0 if it was a heartbeat we wait for, else
 * NP_ERR_NOTFOUND. */
int np_client_list_notification(struct np_client_list *l, const char *from, const char *key,
                                const char *value, size_t len);
/* Write the result (see above). Returns the number of devices. */
size_t np_client_list_print(const struct np_client_list *l, FILE *f);
/* Devices found / active so far. */
size_t np_client_list_count(const struct np_client_list *l, size_t *active);
void np_client_list_free(struct np_client_list *l);

#endif
