/*
 * src/atserver/notify_store.h - the persistent notification log of one
 * hosted atSign (atprotocol.md 7.1-7.5, 10.5; docs/internals/keystore.md).
 *
 * Records live in the `notifications` table of the same database file as the
 * key store (<dir>/<name>.db, see ks_open); an ns handle is its own SQLite
 * connection to that file. Like the key store it knows no protocol grammar:
 * metadata is opaque JSON text and the caller builds keys and ids.
 *
 * Receipt time: ns_insert assigns date_ms = max(now_ms, previous date_ms + 1)
 * from a persisted high-water mark, so date_ms (the protocol's
 * notificationDateTime / epochMillis) is unique and strictly increasing per
 * store, also across restarts, deletions and a wall clock that steps back.
 * Hence there are no ties: replaying "date_ms strictly greater than the last
 * epochMillis seen" never skips or repeats a record. Records inserted in the
 * same wall-clock millisecond get consecutive milliseconds in insertion order
 * (the `seq` column records insertion order as well).
 *
 * Durability and errors as in keystore.h: a 0 return from a write means it is
 * on disk; SQLite failures become NP_ERR_TOOBIG (disk full), NP_ERR_PERM
 * (read-only), NP_ERR_IO, NP_ERR_TIMEOUT, NP_ERR_NOMEM or NP_ERR_DB.
 * One thread per handle.
 */
#ifndef NP_ATSERVER_NOTIFY_STORE_H
#define NP_ATSERVER_NOTIFY_STORE_H
#include <stddef.h>
#include <stdint.h>

struct ns;

/* Record type; the values are bits so that filters can combine them. */
enum ns_type { NS_TYPE_SENT = 1, NS_TYPE_RECEIVED = 2, NS_TYPE_SELF = 4 };
enum ns_op { NS_OP_UPDATE = 0, NS_OP_DELETE = 1 };
enum ns_msgtype { NS_MSG_KEY = 0, NS_MSG_TEXT = 1 };
enum ns_priority { NS_PRIO_LOW = 0, NS_PRIO_MEDIUM = 1, NS_PRIO_HIGH = 2 };
enum ns_status {
    NS_STATUS_QUEUED = 0,
    NS_STATUS_DELIVERED = 1,
    NS_STATUS_ERRORED = 2,
    NS_STATUS_EXPIRED = 3
};
enum ns_strategy { NS_STRATEGY_ALL = 0, NS_STRATEGY_LATEST = 1 };

/* Longest id accepted (Dart uses a 36-character UUID). */
#define NS_ID_MAX 128
/* A record without expiry is dropped this long after its receipt (7.1). */
#define NS_NO_EXPIRY_MAX_AGE_MS (72LL * 3600 * 1000)

/*
 * One notification (every field of atprotocol.md 7.1).
 * As input of ns_insert all pointers are borrowed for the call; as output
 * (ns_get, lists) the record and its strings are one allocated block freed
 * with ns_record_free (or with the list).
 */
struct ns_record {
    const char *id;          /* unique, 1..NS_ID_MAX bytes */
    const char *from_atsign; /* "@alice" */
    const char *to_atsign;   /* "@bob" */
    const char *key;         /* full notification key, e.g. "@bob:k.ns@alice" */
    int type;                /* enum ns_type (exactly one bit) */
    int op;                  /* enum ns_op */
    int message_type;        /* enum ns_msgtype */
    int priority;            /* enum ns_priority */
    int status;              /* enum ns_status */
    int64_t retry_count;
    int strategy;         /* enum ns_strategy */
    const char *notifier; /* e.g. "SYSTEM"; NULL is stored as "SYSTEM" */
    int64_t depth;        /* latestN */
    const char *value;    /* atValue; NULL allowed */
    const char *meta_json;
    int64_t ttl_ms;        /* ttln; <= 0: no expiry (dropped after 72 h) */
    int64_t date_ms;       /* output: receipt time as assigned by ns_insert */
    int64_t expires_at_ms; /* output: date_ms + ttl_ms, or 0 for none */
    int64_t seq;           /* output: insertion order */
};

struct ns_list {
    size_t count;
    struct ns_record **items;
};

/* Filter of ns_list. A zeroed struct means "everything". */
struct ns_filter {
    unsigned types;        /* NS_TYPE_* mask; 0 = all types */
    int64_t from_ms;       /* date_ms >= from_ms (0 = no lower bound) */
    int64_t to_ms;         /* date_ms < to_ms (0 = no upper bound) */
    int64_t now_ms;        /* > 0: only records unexpired at now_ms and not status expired */
    const char *to_atsign; /* non-NULL: only records addressed to this atSign */
    size_t limit;          /* 0 = no limit */
};

/* Open (creating if needed) the notification log of `atsign` in `dir`; same
 * file, flags (KS_OPEN_READONLY) and errors as ks_open. *out: ns_close. */
int ns_open(const char *dir, const char *atsign, unsigned flags, struct ns **out);
/* Close; NULL is fine. Returned records stay valid. */
void ns_close(struct ns *ns);

/*
 * Persist a new record (call before answering data:<id> / data:success).
 * Input: every field of *rec except date_ms, expires_at_ms and seq; now_ms
 * is the receipt time. The assigned date_ms and expiry go to *date_ms_out and
 * *expires_at_out (each may be NULL). Errors: NP_ERR_INVAL (missing id,
 * atSigns or key, id over NS_ID_MAX, enum out of range), NP_ERR_EXISTS (id
 * already stored), storage errors.
 */
int ns_insert(struct ns *ns, const struct ns_record *rec, int64_t now_ms, int64_t *date_ms_out,
              int64_t *expires_at_out);

/* The record `id` (new block, ns_record_free). NP_ERR_NOTFOUND if unknown.
 * The stored status is returned as is: compare expires_at_ms with the
 * current time to report "expired" before ns_expire has run. */
int ns_get(struct ns *ns, const char *id, struct ns_record **out);

void ns_record_free(struct ns_record *rec);
void ns_list_free(struct ns_list *l);

/* Set status and retry count of `id`. NP_ERR_NOTFOUND if unknown. */
int ns_set_status(struct ns *ns, const char *id, int status, int64_t retry_count);

/* Delete `id`. NP_ERR_NOTFOUND if unknown (notify:remove may still answer
 * success). */
int ns_remove(struct ns *ns, const char *id);

/* Records matching *f, oldest first (date_ms, then seq). *out: new list. */
int ns_list(struct ns *ns, const struct ns_filter *f, struct ns_list **out);

/*
 * Monitor replay: received (and, with include_self, self) records with
 * date_ms strictly greater than since_ms, unexpired at now_ms and not status
 * expired, oldest first, at most limit (0 = all).
 */
int ns_list_received(struct ns *ns, int64_t since_ms, int64_t now_ms, int include_self,
                     size_t limit, struct ns_list **out);

/*
 * Re-queue after restart: sent records with status queued, or errored with
 * retry_count < max_retries, unexpired at now_ms, oldest first.
 */
int ns_list_queued_sent(struct ns *ns, int64_t now_ms, int64_t max_retries, struct ns_list **out);

/*
 * Strategy "latest": of the sent records to `to_atsign` from `notifier`
 * (NULL = "SYSTEM") that are still queued or errored, keep the newest keep_n
 * and mark the others expired (they will never be sent; notify:status then
 * says expired). *trimmed_out (may be NULL) receives the marked records so
 * the caller can drop them from its in-memory queue.
 */
int ns_trim_latest(struct ns *ns, const char *to_atsign, const char *notifier, size_t keep_n,
                   struct ns_list **trimmed_out);

/*
 * Housekeeping: mark queued/errored records whose expiry passed as expired,
 * then delete records that expired more than retain_ms before now_ms, and
 * records without expiry older than NS_NO_EXPIRY_MAX_AGE_MS. Counts go to
 * *marked_out and *deleted_out (each may be NULL).
 */
int ns_expire(struct ns *ns, int64_t now_ms, int64_t retain_ms, size_t *marked_out,
              size_t *deleted_out);

/* Number of stored records (stats NotificationCount). */
int ns_count(struct ns *ns, int64_t *out);

#endif
