/*
 * src/atserver/notif.h - the notification subsystem of one process
 * (atprotocol.md 7): sending (owner notify, auto-notifications), receiving
 * (records of type received, caching side effects of 7.3), delivery to
 * monitor connections (7.5, 7.6) and stats notifications (7.7).
 *
 * Routing of a notification sent by hosted atSign A to atSign B:
 *   B == A          -> one record on A, type received, status delivered;
 *   B hosted here   -> delivered in-process, no network hop: a received
 *                      record on B (pushed to B's monitors, cached copy
 *                      when ttr was set) and a sent record on A with status
 *                      delivered (errored when B's lists refuse A);
 *   B elsewhere     -> a sent record on A with status queued, handed to the
 *                      server-to-server module (remote.h), which today only
 *                      keeps it queued.
 * Every record is persisted (durable) before the caller answers.
 */
#ifndef ATSERVER_NOTIF_H
#define ATSERVER_NOTIF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at/verb.h"

struct as_host;
struct as_conn;
struct at_metadata;
struct ns_record;
struct np_buf;

/* One notification to send or receive. Strings are borrowed. */
struct notif_req {
    const char *id;    /* NULL: the sender generates a UUID */
    const char *from;  /* sender atSign "@alice" */
    const char *to;    /* recipient atSign "@bob" */
    const char *key;   /* full key "@bob:k.ns@alice" or "@bob:<text>" */
    const char *value; /* NULL = none */
    enum at_notify_op op;
    enum at_msg_type msg_type;
    enum at_priority priority;
    enum at_strategy strategy;
    int64_t latest_n;
    const char *notifier;         /* NULL = "SYSTEM" */
    int64_t ttln_ms;              /* <= 0: the configured default */
    const struct at_metadata *md; /* metadata to record (6.8 list); may be NULL */
};

#define NOTIF_ID_BUF 130

/*
 * Send rq from host h (rq->from must be h's atSign), routed as described
 * above. id_out gets the notification id. Errors: NP_ERR_EXISTS (the id
 * is already used on h), storage errors of the sender's record (the caller
 * answers AT0002), NP_ERR_NOMEM, NP_ERR_INVAL.
 */
int notif_send(struct as_host *h, const struct notif_req *rq, char id_out[NOTIF_ID_BUF]);

/*
 * Receive rq on host `to` from rq->from (in-process delivery today; a
 * pol-authenticated connection later). Refused (NP_ERR_PERM, nothing
 * stored or pushed) when to's block/allow lists do not admit the sender.
 * NP_ERR_EXISTS when this id was received before (nothing pushed again).
 * Otherwise persists a received record, applies the caching rules of 7.3
 * and pushes it to to's monitors.
 */
int notif_receive(struct as_host *to, const struct notif_req *rq);

/*
 * Auto-notification (7.4) after a write of the shared key `key`
 * ("@bob:k@alice") on h: update with the value and the key's metadata, or
 * delete without either. Failures are logged, never reported.
 */
void notif_auto(struct as_host *h, const char *key, const char *with, enum at_notify_op op,
                const char *value, const struct at_metadata *key_md);

/* Deliver a queued sent record again (restart re-queue). */
void notif_redeliver(struct as_host *h, const struct ns_record *rec);

/* Push a stats notification (7.7) with h's last commit id to every
 * monitor connection of h. */
void notif_push_stats(struct as_host *h, enum at_notify_op op);

/*
 * Append the monitor line "notification: <json>\n" for a stored record:
 * replay == false gives metadata variant (a), true variant (b) (7.6).
 * Errors: NP_ERR_NOMEM, NP_ERR_TOOBIG (buffer), NP_ERR_FORMAT (stored
 * metadata unreadable).
 */
int notif_format_line(const struct ns_record *rec, bool replay, struct np_buf *b);
/* The same object as JSON text (notify:list), new string (np_free). */
int notif_record_json(const struct ns_record *rec, bool replay, char **out);

/* Does a record match a monitor/notify:list regex (searched in the key or
 * in the sender without '@')? re is a compiled regex_t. */
bool notif_matches(const struct ns_record *rec, const void *re);

/* The 6.8 metadata that a notification records, from the command's
 * options: ttl and ttb (0 when absent), ttr + ccd (update with value, or
 * delete), isEncrypted as given to is_encrypted, and the encryption
 * fields. *out is initialised here; NP_ERR_NOMEM. */
int notif_md_from_options(const struct at_metadata *opts, bool with_ttr, bool is_encrypted,
                          struct at_metadata *out);

#endif
