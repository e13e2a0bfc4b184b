/*
 * src/atserver/notify_store.c - the notification log on SQLite
 * (notify_store.h; database plumbing in store_db.c).
 *
 * Depends on lib/util and libsqlite3 only. Invariant: date_ms is unique and
 * strictly increasing in insertion order (a persisted high-water mark in the
 * counters table, enforced by a UNIQUE column), so monitor replay by
 * "date_ms > epochMillis" is exact.
 */
#include "notify_store.h"
#include "keystore.h"
#include "store_int.h"

#include <stdint.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

struct ns {
    struct store_db *d;
};

enum {
    N_NEXT_DATE,
    N_INSERT,
    N_GET,
    N_STATUS,
    N_REMOVE,
    N_LIST,
    N_QUEUED,
    N_TRIM,
    N_MARK_EXPIRED,
    N_DELETE_OLD,
    N_COUNT,
    N__COUNT
};

#define NS_COLS                                                                                    \
    "seq, id, from_atsign, to_atsign, nkey, type, op, message_type, priority, status,"             \
    " retry_count, strategy, notifier, depth, value, meta, ttl_ms, date_ms, expires_at_ms"

static const char *const ns_sql[N__COUNT] = {
    [N_NEXT_DATE] = "UPDATE counters SET value = max(value + 1, ?1) WHERE name = 'notify_ms'"
                    " RETURNING value",
    [N_INSERT] = "INSERT INTO notifications(id, from_atsign, to_atsign, nkey, type, op,"
                 " message_type, priority, status, retry_count, strategy, notifier, depth, value,"
                 " meta, ttl_ms, date_ms, expires_at_ms)"
                 " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
                 " ?17, ?18)",
    [N_GET] = "SELECT " NS_COLS " FROM notifications WHERE id = ?1",
    [N_STATUS] = "UPDATE notifications SET status = ?2, retry_count = ?3 WHERE id = ?1",
    [N_REMOVE] = "DELETE FROM notifications WHERE id = ?1",
    [N_LIST] = "SELECT " NS_COLS " FROM notifications"
               " WHERE (?1 = 0 OR type IN (?1 & 1, ?1 & 2, ?1 & 4))"
               " AND date_ms >= ?2 AND (?3 = 0 OR date_ms < ?3)"
               " AND (?4 <= 0 OR ((expires_at_ms = 0 OR expires_at_ms >= ?4) AND status != 3))"
               " AND (?5 IS NULL OR to_atsign = ?5)"
               " ORDER BY date_ms, seq LIMIT ?6",
    [N_QUEUED] = "SELECT " NS_COLS " FROM notifications"
                 " WHERE type = 1 AND (status = 0 OR (status = 2 AND retry_count < ?2))"
                 " AND (expires_at_ms = 0 OR expires_at_ms >= ?1)"
                 " ORDER BY date_ms, seq",
    [N_TRIM] = "UPDATE notifications SET status = 3 WHERE seq IN ("
               "SELECT seq FROM notifications WHERE type = 1 AND to_atsign = ?1"
               " AND notifier = ?2 AND status IN (0, 2)"
               " ORDER BY date_ms DESC, seq DESC LIMIT -1 OFFSET ?3) RETURNING " NS_COLS,
    [N_MARK_EXPIRED] = "UPDATE notifications SET status = 3 WHERE status IN (0, 2)"
                       " AND expires_at_ms > 0 AND expires_at_ms < ?1",
    [N_DELETE_OLD] = "DELETE FROM notifications WHERE (expires_at_ms > 0 AND expires_at_ms < ?1)"
                     " OR (expires_at_ms = 0 AND date_ms < ?2)",
    [N_COUNT] = "SELECT count(*) FROM notifications",
};

sqlite3 *ns_int_db(struct ns *ns)
{
    return ns ? ns->d->db : NULL;
}

int ns_open(const char *dir, const char *atsign, unsigned flags, struct ns **out)
{
    struct ns *ns = NULL;
    int r = NP_ERR_INTERNAL;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = NULL;
    if ((ns = np_calloc(1, sizeof(*ns))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = store_db_open(dir, atsign, flags, ns_sql, N__COUNT, &ns->d)) != 0)
        goto out;
    *out = ns;
    ns = NULL;
    r = 0;
out:
    ns_close(ns);
    return r;
}

void ns_close(struct ns *ns)
{
    if (ns == NULL)
        return;
    store_db_close(ns->d);
    np_free(ns);
}

static int check_id(const char *id)
{
    if (id == NULL || *id == '\0')
        return NP_ERR_INVAL;
    return strnlen(id, NS_ID_MAX + 1) > NS_ID_MAX ? NP_ERR_TOOBIG : 0;
}

static int nonempty(const char *s)
{
    return s != NULL && *s != '\0';
}

static int check_record(const struct ns_record *r)
{
    int e;

    if ((e = check_id(r->id)) != 0)
        return e;
    if (!nonempty(r->from_atsign) || !nonempty(r->to_atsign) || !nonempty(r->key))
        return NP_ERR_INVAL;
    if ((r->type != NS_TYPE_SENT && r->type != NS_TYPE_RECEIVED && r->type != NS_TYPE_SELF) ||
        (r->op != NS_OP_UPDATE && r->op != NS_OP_DELETE) ||
        (r->message_type != NS_MSG_KEY && r->message_type != NS_MSG_TEXT) ||
        r->priority < NS_PRIO_LOW || r->priority > NS_PRIO_HIGH || r->status < NS_STATUS_QUEUED ||
        r->status > NS_STATUS_EXPIRED ||
        (r->strategy != NS_STRATEGY_ALL && r->strategy != NS_STRATEGY_LATEST) ||
        r->retry_count < 0 || r->depth < 0)
        return NP_ERR_INVAL;
    return 0;
}

/* Copy the current row (NS_COLS) into one allocated block. */
static int record_from_row(sqlite3_stmt *s, struct ns_record **out)
{
    /* Text columns, in NS_COLS order, and where each goes. */
    static const int col[7] = {1, 2, 3, 4, 12, 14, 15};
    const char *txt[7];
    size_t len[7], total = 0;
    struct ns_record *rec;
    const char **dst[7];
    char *p;
    int i, r;

    *out = NULL;
    for (i = 0; i < 7; i++) {
        if ((r = store_col_text(s, col[i], &txt[i], &len[i])) != 0)
            return r;
        if (txt[i] == NULL && i < 5)
            return NP_ERR_DB; /* NOT NULL columns */
        total += txt[i] ? len[i] + 1 : 0;
    }
    if ((rec = np_calloc(1, sizeof(*rec) + total)) == NULL)
        return NP_ERR_NOMEM;
    dst[0] = &rec->id;
    dst[1] = &rec->from_atsign;
    dst[2] = &rec->to_atsign;
    dst[3] = &rec->key;
    dst[4] = &rec->notifier;
    dst[5] = &rec->value;
    dst[6] = &rec->meta_json;
    p = (char *)(rec + 1);
    for (i = 0; i < 7; i++) {
        if (txt[i] == NULL)
            continue;
        memcpy(p, txt[i], len[i]);
        p[len[i]] = '\0';
        *dst[i] = p;
        p += len[i] + 1;
    }
    rec->seq = sqlite3_column_int64(s, 0);
    rec->type = sqlite3_column_int(s, 5);
    rec->op = sqlite3_column_int(s, 6);
    rec->message_type = sqlite3_column_int(s, 7);
    rec->priority = sqlite3_column_int(s, 8);
    rec->status = sqlite3_column_int(s, 9);
    rec->retry_count = sqlite3_column_int64(s, 10);
    rec->strategy = sqlite3_column_int(s, 11);
    rec->depth = sqlite3_column_int64(s, 13);
    rec->ttl_ms = sqlite3_column_int64(s, 16);
    rec->date_ms = sqlite3_column_int64(s, 17);
    rec->expires_at_ms = sqlite3_column_int64(s, 18);
    *out = rec;
    return 0;
}

void ns_record_free(struct ns_record *rec)
{
    np_free(rec);
}

void ns_list_free(struct ns_list *l)
{
    size_t i;

    if (l == NULL)
        return;
    for (i = 0; i < l->count; i++)
        ns_record_free(l->items[i]);
    np_free(l->items);
    np_free(l);
}

/* Step s to the end, collecting every row into a new list. */
static int collect(struct ns *ns, sqlite3_stmt *s, size_t limit, const char *what,
                   struct ns_list **out)
{
    struct ns_list *l = NULL;
    struct ns_record *rec = NULL;
    size_t cap = 0;
    int r = NP_ERR_INTERNAL;

    *out = NULL;
    if ((l = np_calloc(1, sizeof(*l))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    while ((limit == 0 || l->count < limit) && (r = store_step(ns->d, s, what)) == 1) {
        if ((r = record_from_row(s, &rec)) != 0)
            goto out;
        if (l->count == cap) {
            size_t n = store_grow(cap, sizeof(*l->items));
            struct ns_record **items = n ? np_realloc(l->items, n * sizeof(*items)) : NULL;
            if (items == NULL) {
                r = NP_ERR_NOMEM;
                goto out;
            }
            l->items = items;
            cap = n;
        }
        l->items[l->count++] = rec;
        rec = NULL;
    }
    if (r < 0)
        goto out;
    *out = l;
    l = NULL;
    r = 0;
out:
    ns_record_free(rec);
    ns_list_free(l);
    return r;
}

int ns_insert(struct ns *ns, const struct ns_record *rec, int64_t now_ms, int64_t *date_ms_out,
              int64_t *expires_at_out)
{
    sqlite3_stmt *s = NULL;
    int64_t date = 0, expires = 0;
    int r = NP_ERR_INTERNAL, in_tx = 0;

    if (date_ms_out)
        *date_ms_out = 0;
    if (expires_at_out)
        *expires_at_out = 0;
    if (ns == NULL || rec == NULL)
        return NP_ERR_INVAL;
    if ((r = check_record(rec)) != 0)
        return r;
    if ((r = store_begin(ns->d)) != 0)
        goto out;
    in_tx = 1;
    if ((r = store_stmt(ns->d, N_NEXT_DATE, &s)) != 0 ||
        (r = store_bind(ns->d, s, "i", now_ms)) != 0)
        goto out;
    if ((r = store_step(ns->d, s, "next notification time")) != 1) {
        r = r < 0 ? r : NP_ERR_DB;
        goto out;
    }
    date = sqlite3_column_int64(s, 0);
    if ((r = store_step(ns->d, s, "next notification time")) != 0) {
        r = r < 0 ? r : NP_ERR_DB;
        goto out;
    }
    store_reset(s);
    s = NULL;
    if (rec->ttl_ms > 0) {
        if (rec->ttl_ms > INT64_MAX - date) {
            r = NP_ERR_INVAL;
            goto out;
        }
        expires = date + rec->ttl_ms;
    }
    if ((r = store_stmt(ns->d, N_INSERT, &s)) != 0 ||
        (r = store_bind(ns->d, s, "ttttiiiiiiitittiii", rec->id, rec->from_atsign, rec->to_atsign,
                        rec->key, (int64_t)rec->type, (int64_t)rec->op, (int64_t)rec->message_type,
                        (int64_t)rec->priority, (int64_t)rec->status, rec->retry_count,
                        (int64_t)rec->strategy, rec->notifier ? rec->notifier : "SYSTEM",
                        rec->depth, rec->value, rec->meta_json,
                        rec->ttl_ms > 0 ? rec->ttl_ms : (int64_t)0, date, expires)) != 0 ||
        (r = store_exec(ns->d, s, "notification insert")) != 0)
        goto out;
    s = NULL;
    in_tx = 0;
    if ((r = store_commit(ns->d)) != 0)
        goto out;
    if (date_ms_out)
        *date_ms_out = date;
    if (expires_at_out)
        *expires_at_out = expires;
    r = 0;
out:
    store_reset(s);
    if (in_tx)
        store_rollback(ns->d);
    return r;
}

int ns_get(struct ns *ns, const char *id, struct ns_record **out)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = NULL;
    if (ns == NULL)
        return NP_ERR_INVAL;
    if ((r = check_id(id)) != 0)
        return r == NP_ERR_TOOBIG ? NP_ERR_NOTFOUND : r;
    if ((r = store_stmt(ns->d, N_GET, &s)) != 0 || (r = store_bind(ns->d, s, "t", id)) != 0)
        goto out;
    r = store_step(ns->d, s, "notification get");
    if (r == 0)
        r = NP_ERR_NOTFOUND;
    else if (r == 1)
        r = record_from_row(s, out);
out:
    store_reset(s);
    return r;
}

/* Run a one-row-changing statement keyed by id; NP_ERR_NOTFOUND if no row. */
static int change_by_id(struct ns *ns, sqlite3_stmt *s, const char *what)
{
    int r = store_exec(ns->d, s, what);

    if (r == 0 && sqlite3_changes(ns->d->db) == 0)
        r = NP_ERR_NOTFOUND;
    return r;
}

int ns_set_status(struct ns *ns, const char *id, int status, int64_t retry_count)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (ns == NULL || status < NS_STATUS_QUEUED || status > NS_STATUS_EXPIRED || retry_count < 0)
        return NP_ERR_INVAL;
    if ((r = check_id(id)) != 0)
        return r == NP_ERR_TOOBIG ? NP_ERR_NOTFOUND : r;
    if ((r = store_stmt(ns->d, N_STATUS, &s)) != 0 ||
        (r = store_bind(ns->d, s, "tii", id, (int64_t)status, retry_count)) != 0) {
        store_reset(s);
        return r;
    }
    return change_by_id(ns, s, "notification status");
}

int ns_remove(struct ns *ns, const char *id)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (ns == NULL)
        return NP_ERR_INVAL;
    if ((r = check_id(id)) != 0)
        return r == NP_ERR_TOOBIG ? NP_ERR_NOTFOUND : r;
    if ((r = store_stmt(ns->d, N_REMOVE, &s)) != 0 || (r = store_bind(ns->d, s, "t", id)) != 0) {
        store_reset(s);
        return r;
    }
    return change_by_id(ns, s, "notification remove");
}

int ns_list(struct ns *ns, const struct ns_filter *f, struct ns_list **out)
{
    static const struct ns_filter all = {0};
    sqlite3_stmt *s = NULL;
    int r;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = NULL;
    if (ns == NULL)
        return NP_ERR_INVAL;
    if (f == NULL)
        f = &all;
    if ((f->types & ~7u) != 0)
        return NP_ERR_INVAL;
    if ((r = store_stmt(ns->d, N_LIST, &s)) != 0 ||
        (r = store_bind(
             ns->d, s, "iiiiti", (int64_t)f->types, f->from_ms, f->to_ms, f->now_ms, f->to_atsign,
             (int64_t)(f->limit == 0 || f->limit > INT64_MAX ? -1 : (int64_t)f->limit))) != 0)
        goto out;
    r = collect(ns, s, 0, "notification list", out);
out:
    store_reset(s);
    return r;
}

int ns_list_received(struct ns *ns, int64_t since_ms, int64_t now_ms, int include_self,
                     size_t limit, struct ns_list **out)
{
    struct ns_filter f = {0};

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = NULL;
    if (ns == NULL)
        return NP_ERR_INVAL;
    if (since_ms == INT64_MAX) { /* nothing can be later: an empty list */
        *out = np_calloc(1, sizeof(**out));
        return *out ? 0 : NP_ERR_NOMEM;
    }
    f.types = NS_TYPE_RECEIVED | (include_self ? NS_TYPE_SELF : 0u);
    f.from_ms = since_ms < 0 ? 0 : since_ms + 1;
    f.now_ms = now_ms > 0 ? now_ms : 1;
    f.limit = limit;
    return ns_list(ns, &f, out);
}

int ns_list_queued_sent(struct ns *ns, int64_t now_ms, int64_t max_retries, struct ns_list **out)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = NULL;
    if (ns == NULL)
        return NP_ERR_INVAL;
    if ((r = store_stmt(ns->d, N_QUEUED, &s)) != 0 ||
        (r = store_bind(ns->d, s, "ii", now_ms, max_retries)) != 0)
        goto out;
    r = collect(ns, s, 0, "queued notifications", out);
out:
    store_reset(s);
    return r;
}

int ns_trim_latest(struct ns *ns, const char *to_atsign, const char *notifier, size_t keep_n,
                   struct ns_list **trimmed_out)
{
    struct ns_list *l = NULL;
    sqlite3_stmt *s = NULL;
    int r = NP_ERR_INTERNAL, in_tx = 0;

    if (trimmed_out)
        *trimmed_out = NULL;
    if (ns == NULL || !nonempty(to_atsign) || keep_n > INT64_MAX)
        return NP_ERR_INVAL;
    if ((r = store_begin(ns->d)) != 0)
        goto out;
    in_tx = 1;
    if ((r = store_stmt(ns->d, N_TRIM, &s)) != 0 ||
        (r = store_bind(ns->d, s, "tti", to_atsign, notifier ? notifier : "SYSTEM",
                        (int64_t)keep_n)) != 0 ||
        (r = collect(ns, s, 0, "notification trim", &l)) != 0)
        goto out;
    store_reset(s);
    s = NULL;
    in_tx = 0;
    if ((r = store_commit(ns->d)) != 0)
        goto out;
    if (l->count)
        np_debug("store: strategy latest superseded %zu notifications", l->count);
    if (trimmed_out) {
        *trimmed_out = l;
        l = NULL;
    }
    r = 0;
out:
    store_reset(s);
    if (in_tx)
        store_rollback(ns->d);
    ns_list_free(l);
    return r;
}

int ns_expire(struct ns *ns, int64_t now_ms, int64_t retain_ms, size_t *marked_out,
              size_t *deleted_out)
{
    sqlite3_stmt *s = NULL;
    int64_t cut_expired, cut_old;
    size_t marked = 0, deleted = 0;
    int r = NP_ERR_INTERNAL, in_tx = 0;

    if (marked_out)
        *marked_out = 0;
    if (deleted_out)
        *deleted_out = 0;
    if (ns == NULL || retain_ms < 0)
        return NP_ERR_INVAL;
    cut_expired = now_ms > INT64_MIN + retain_ms ? now_ms - retain_ms : INT64_MIN;
    cut_old =
        now_ms > INT64_MIN + NS_NO_EXPIRY_MAX_AGE_MS ? now_ms - NS_NO_EXPIRY_MAX_AGE_MS : INT64_MIN;
    if ((r = store_begin(ns->d)) != 0)
        goto out;
    in_tx = 1;
    if ((r = store_stmt(ns->d, N_MARK_EXPIRED, &s)) != 0 ||
        (r = store_bind(ns->d, s, "i", now_ms)) != 0 ||
        (r = store_exec(ns->d, s, "notification expire")) != 0)
        goto out;
    marked = (size_t)sqlite3_changes(ns->d->db);
    if ((r = store_stmt(ns->d, N_DELETE_OLD, &s)) != 0 ||
        (r = store_bind(ns->d, s, "ii", cut_expired, cut_old)) != 0 ||
        (r = store_exec(ns->d, s, "notification compaction")) != 0)
        goto out;
    deleted = (size_t)sqlite3_changes(ns->d->db);
    s = NULL;
    in_tx = 0;
    if ((r = store_commit(ns->d)) != 0)
        goto out;
    if (marked_out)
        *marked_out = marked;
    if (deleted_out)
        *deleted_out = deleted;
    r = 0;
out:
    store_reset(s);
    if (in_tx)
        store_rollback(ns->d);
    return r;
}

int ns_count(struct ns *ns, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = 0;
    if (ns == NULL)
        return NP_ERR_INVAL;
    if ((r = store_stmt(ns->d, N_COUNT, &s)) != 0)
        return r;
    if ((r = store_step(ns->d, s, "notification count")) == 1) {
        *out = sqlite3_column_int64(s, 0);
        r = 0;
    } else if (r == 0) {
        r = NP_ERR_DB;
    }
    store_reset(s);
    return r;
}
