/*
 * lib/at/client_sync.h - a small BLOCKING atProtocol client for command-line
 * tools (atc, at_activate) and tests; never for the daemons.
 *
 * It is a thin wrapper: each struct at_sync owns a private event_base and
 * an at_client (client.h) on it, and every call queues one asynchronous
 * operation and runs that loop until the operation's callback has run. So
 * the blocking API has exactly the asynchronous client's behaviour (E2E,
 * prompts, bounded reads) and every call is bounded by the request timeout
 * of the options (opts.request_timeout_ms, default 10 s): no sleeps, no
 * retry loops. Connection failures are reported, not retried (the client
 * is not persistent).
 *
 * Errors: functions return 0 or a negative NP_ERR_* code; at_sync_error()
 * gives the message of the last failure (the server's text for server
 * errors), at_sync_at_code() its AT code (-1 if none) and
 * at_sync_conn_error() whether it happened while connecting or
 * authenticating (then NP_ERR_NOTFOUND = atSign not in the directory,
 * NP_ERR_AUTH = authentication refused). Out-parameters are cleared at
 * entry and set only on success. One thread per at_sync.
 */
#ifndef AT_CLIENT_SYNC_H
#define AT_CLIENT_SYNC_H
#include <stdbool.h>
#include <stddef.h>

#include "at/client.h"
#include "at/monitor.h"

struct at_sync;
struct event_base;

/*
 * Create the client and connect + authenticate now (opts as for
 * at_client_new; persistent and dns are ignored, tls may be given).
 * On failure *out stays NULL and errbuf (may be NULL) gets the reason.
 */
int at_sync_open(const struct at_client_opts *opts, struct at_sync **out, char *errbuf,
                 size_t errlen);
/* Free everything; NULL-safe. */
void at_sync_close(struct at_sync *s);

/* Read a key (at_client_get). *value is a new NUL-terminated string of
 * *len bytes (NULL for a null value; a secret when it was decrypted: free
 * with np_freezero(*value, *len + 1)); md (may be NULL) receives a copy of
 * the metadata (at_metadata_clear it). */
int at_sync_get(struct at_sync *s, const char *key, unsigned flags, char **value, size_t *len,
                struct at_metadata *md);
/* Write a key (at_client_put). */
int at_sync_put(struct at_sync *s, const char *key, const char *value,
                const struct at_metadata *md);
int at_sync_delete(struct at_sync *s, const char *key);
/* List keys; *keys is a new array of *n new strings (at_sync_free_keys). */
int at_sync_scan(struct at_sync *s, const char *regex, bool show_hidden, char ***keys, size_t *n);
void at_sync_free_keys(char **keys, size_t n);
/* Send a notification; *id (may be NULL) gets a new string (np_free). */
int at_sync_notify(struct at_sync *s, const struct at_client_notify *n, char **id);
/* Send a raw command; *data (may be NULL) gets the data: payload (np_free). */
int at_sync_cmd(struct at_sync *s, const char *line, char **data);

/*
 * Monitor until at_sync_stop() is called (from the callback, or from an
 * event such as a signal added to at_sync_base()), or timeout_ms passes
 * (<= 0: no limit). Returns 0 when stopped, NP_ERR_TIMEOUT at the timeout,
 * a start error, or the error that made the monitor give up (authentication
 * refused / atSign unknown before it ever went live).
 */
int at_sync_monitor(struct at_sync *s, const struct at_monitor_opts *o, at_monitor_cb cb,
                    void *data, int timeout_ms);
/* Make the running at_sync_monitor return 0 (idempotent). */
void at_sync_stop(struct at_sync *s);

struct event_base *at_sync_base(struct at_sync *s);
struct at_client *at_sync_client(struct at_sync *s);
const char *at_sync_error(const struct at_sync *s);
int at_sync_at_code(const struct at_sync *s);
bool at_sync_conn_error(const struct at_sync *s);

#endif
