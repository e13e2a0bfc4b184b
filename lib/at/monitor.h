/*
 * lib/at/monitor.h - receiving notifications (atprotocol.md 6.10, 7.5-7.7,
 * 8.4, 14.3 item 6) on a dedicated monitor connection.
 *
 * An at_monitor opens its own connection to the atServer of an at_client's
 * atSign (same directory, TLS and keys), authenticates, and sends
 * "monitor[:selfNotifications][:<epochMillis>] <regex>". Every pushed
 * "notification: <json>" line is parsed (at_notification_parse); stats
 * notifications (id "-1") are skipped; ids already seen are dropped (a
 * bounded set of the most recent AT_MONITOR_DEDUP_DEFAULT ids, kept across
 * reconnections); encrypted values are decrypted with the sender's shared
 * key, fetched once over the client's command connection and cached
 * (metadata sharedKeyEnc is used when present); keys containing
 * "shared_key" are never decrypted (8.4). Notifications reach the callback
 * in arrival order, each exactly once.
 *
 * Liveness: "noop:0" every keepalive_ms; no answer within the client's
 * request timeout, a dropped connection or an error line reconnects with
 * the client's back-off, and the new monitor command asks for everything
 * after the last notification seen (at_monitor_resume_epoch), so nothing
 * received by the server in between is lost and nothing is handed twice.
 *
 * The monitor borrows the client: free every monitor before its client.
 * Loop/thread: the client's event_base. The callback runs from the loop.
 */
#ifndef AT_MONITOR_H
#define AT_MONITOR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at/metadata.h"
#include "at/verb.h"

struct at_client;
struct at_monitor;

#define AT_MONITOR_DEDUP_DEFAULT     4096
#define AT_MONITOR_KEEPALIVE_DEFAULT 30000
/* Notifications waiting for a key before input is paused. */
#define AT_MONITOR_MAX_PENDING 256

struct at_monitor_opts {
    const char *regex;       /* NULL: ".*" (any notification) */
    int64_t since_epoch_ms;  /* < 0: only new notifications; >= 0: replay those received
                                after this server time first */
    bool self_notifications; /* ask for self notifications too */
    bool raw;                /* do not decrypt */
    int keepalive_ms;        /* 0: AT_MONITOR_KEEPALIVE_DEFAULT; < 0: none */
    size_t dedup_capacity;   /* 0: AT_MONITOR_DEDUP_DEFAULT */
};

/* One notification; every pointer is borrowed for the duration of the call. */
struct at_monitor_notification {
    const char *id;
    const char *from, *to; /* "@alice", "@bob" (may be NULL if the server sent null) */
    const char *key;       /* full key as sent, e.g. "@bob:ping.dev.sshnp@alice" */
    const char *value;     /* plaintext: decrypted, or as sent when not encrypted;
                              NULL when there is none or it could not be decrypted */
    size_t value_len;
    const char *raw_value; /* value exactly as pushed (ciphertext when encrypted) */
    int decrypt_err;       /* 0, or why an encrypted value could not be decrypted */
    bool is_encrypted;
    int64_t epoch_ms; /* the server's receive time */
    enum at_notify_op op;
    enum at_msg_type msg_type;
    const struct at_metadata *md; /* ivNonce etc. (may be empty) */
};

typedef void (*at_monitor_cb)(struct at_monitor *m, const struct at_monitor_notification *n,
                              void *data);
/* Connection status: connected = 1 when the monitor command was sent on a
 * fresh authenticated connection, 0 when the connection went down (err,
 * message say why). May be NULL. */
typedef void (*at_monitor_status_cb)(struct at_monitor *m, int connected, int err,
                                     const char *message, void *data);

/*
 * Start monitoring for client c (which must have keys unless opts->raw).
 * The connection is opened at once and kept open until at_monitor_free.
 * *out = NULL at entry. Errors: NP_ERR_INVAL (bad regex text, missing
 * callback), NP_ERR_NOMEM, NP_ERR_CLOSED. Callbacks never run inside this
 * call.
 */
int at_monitor_start(struct at_client *c, const struct at_monitor_opts *o, at_monitor_cb cb,
                     at_monitor_status_cb status_cb, void *data, struct at_monitor **out);

/* Stop and free; no callback runs afterwards. Safe inside a callback.
 * NULL-safe. */
void at_monitor_free(struct at_monitor *m);

/* epochMillis of the newest notification seen (0 if none). */
int64_t at_monitor_last_epoch(const struct at_monitor *m);
/* Notifications handed to the callback so far. */
uint64_t at_monitor_delivered(const struct at_monitor *m);
/* 1 when the monitor command is active on an authenticated connection. */
int at_monitor_is_live(const struct at_monitor *m);

/*
 * The epochMillis to put in the monitor command (-1: none, live only), pure:
 * after notifications were seen, last_epoch - 1 (the server replays those
 * received strictly after the value, so notifications of the same
 * millisecond are replayed too and the duplicate is dropped by id); before
 * any, since_epoch when >= 0; else, on a reconnection (started_wall > 0),
 * the wall-clock time of the first successful start; else -1.
 */
int64_t at_monitor_resume_epoch(int64_t since_epoch, int64_t started_wall, int64_t last_epoch);

/* ---- bounded set of recently seen ids (de-duplication), FIFO eviction ---- */
struct at_idset;
/* capacity > 0; NULL on allocation failure. */
struct at_idset *at_idset_new(size_t capacity);
void at_idset_free(struct at_idset *s);
/* 1 if id is in the set; else add it (evicting the oldest when full) and
 * return 0; NP_ERR_NOMEM / NP_ERR_INVAL. */
int at_idset_check_add(struct at_idset *s, const char *id);
int at_idset_contains(const struct at_idset *s, const char *id);
size_t at_idset_count(const struct at_idset *s);

#endif
