/*
 * src/atserver/keystore.c - the key store and commit log on SQLite
 * (keystore.h; database plumbing in store_db.c).
 *
 * Depends on lib/util and libsqlite3 only; never on the protocol grammar.
 * Invariant: every public write is one BEGIN IMMEDIATE ... COMMIT transaction
 * on a WAL database with synchronous=FULL, so a 0 return means the change is
 * on disk, and any failure rolls the whole change back.
 */
#include "keystore.h"
#include "store_int.h"

#include <stdint.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

struct ks {
    struct store_db *d;
};

enum {
    S_PUT,
    S_GET,
    S_DEL,
    S_SCAN,
    S_SCAN_KEYS,
    S_COUNT,
    S_LOG_DEL,
    S_LOG_NEXT,
    S_LOG_INS,
    S_LAST_ID,
    S_LOG_DESC,
    S_LOG_SINCE,
    S_EXPIRED,
    S_LOGGED,
    S_RENAME,
    S__COUNT
};

#define ENTRY_COLS                                                                                 \
    "created_at_ms, updated_at_ms, available_at_ms, expires_at_ms, refresh_at_ms, version, logged"

static const char *const ks_sql[S__COUNT] = {
    [S_PUT] = "INSERT INTO keys(key, value, meta, created_at_ms, updated_at_ms, available_at_ms,"
              " expires_at_ms, refresh_at_ms, version, logged)"
              " VALUES(?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, 0, ?8)"
              " ON CONFLICT(key) DO UPDATE SET value = excluded.value, meta = excluded.meta,"
              " updated_at_ms = excluded.updated_at_ms,"
              " available_at_ms = excluded.available_at_ms,"
              " expires_at_ms = excluded.expires_at_ms, refresh_at_ms = excluded.refresh_at_ms,"
              " version = version + 1, logged = excluded.logged"
              " RETURNING created_at_ms, version",
    [S_GET] = "SELECT key, value, meta, " ENTRY_COLS " FROM keys WHERE key = ?1",
    [S_DEL] = "DELETE FROM keys WHERE key = ?1",
    [S_SCAN] = "SELECT key, value, meta, " ENTRY_COLS " FROM keys WHERE ?1 OR"
               " ((available_at_ms = 0 OR available_at_ms <= ?2) AND"
               " (expires_at_ms = 0 OR expires_at_ms >= ?2)) ORDER BY key",
    [S_SCAN_KEYS] = "SELECT key, NULL, NULL, " ENTRY_COLS " FROM keys WHERE ?1 OR"
                    " ((available_at_ms = 0 OR available_at_ms <= ?2) AND"
                    " (expires_at_ms = 0 OR expires_at_ms >= ?2)) ORDER BY key",
    [S_COUNT] = "SELECT count(*) FROM keys",
    [S_LOG_DEL] = "DELETE FROM commits WHERE key = ?1",
    [S_LOG_NEXT] = "UPDATE counters SET value = value + 1 WHERE name = 'commit' RETURNING value",
    [S_LOG_INS] = "INSERT INTO commits(id, key, op, op_time_ms) VALUES(?1, ?2, ?3, ?4)",
    [S_LAST_ID] = "SELECT value FROM counters WHERE name = 'commit'",
    [S_LOG_DESC] = "SELECT id, key, op, op_time_ms FROM commits ORDER BY id DESC",
    [S_LOG_SINCE] = "SELECT id, key, op, op_time_ms FROM commits WHERE id > ?1 ORDER BY id",
    [S_EXPIRED] = ("SELECT key, logged FROM keys WHERE expires_at_ms > 0 AND expires_at_ms < ?1"
                   " ORDER BY expires_at_ms LIMIT ?2"),
    [S_LOGGED] = "SELECT logged FROM keys WHERE key = ?1",
    [S_RENAME] = "UPDATE keys SET key = ?2, logged = ?3 WHERE key = ?1",
};

sqlite3 *ks_int_db(struct ks *ks)
{
    return ks ? ks->d->db : NULL;
}

int ks_open(const char *dir, const char *atsign, unsigned flags, struct ks **out)
{
    struct ks *ks = NULL;
    int r = NP_ERR_INTERNAL;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = NULL;
    if ((ks = np_calloc(1, sizeof(*ks))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = store_db_open(dir, atsign, flags, ks_sql, S__COUNT, &ks->d)) != 0)
        goto out;
    *out = ks;
    ks = NULL;
    r = 0;
out:
    ks_close(ks);
    return r;
}

void ks_close(struct ks *ks)
{
    if (ks == NULL)
        return;
    store_db_close(ks->d);
    np_free(ks);
}

static int check_key(const char *key)
{
    size_t n;

    if (key == NULL || *key == '\0')
        return NP_ERR_INVAL;
    n = strnlen(key, KS_KEY_MAX + 1);
    return n > KS_KEY_MAX ? NP_ERR_TOOBIG : 0;
}

static int is_active(int64_t avail, int64_t exp, int64_t now)
{
    return (avail == 0 || now >= avail) && (exp == 0 || now <= exp);
}

/* Copy the current row (columns: key, value, meta, ENTRY_COLS) into one
 * allocated block. */
static int entry_from_row(sqlite3_stmt *s, int64_t now_ms, struct ks_entry **out)
{
    const char *k, *v, *m;
    size_t kl, vl, ml, total;
    struct ks_entry *e;
    char *p;
    int r;

    *out = NULL;
    if ((r = store_col_text(s, 0, &k, &kl)) != 0 || (r = store_col_text(s, 1, &v, &vl)) != 0 ||
        (r = store_col_text(s, 2, &m, &ml)) != 0)
        return r;
    if (k == NULL)
        return NP_ERR_DB;
    /* Each length is below SQLite's 1e9-byte limit, so the sum cannot wrap. */
    total = sizeof(*e) + kl + 1 + (v ? vl + 1 : 0) + (m ? ml + 1 : 0);
    if ((e = np_malloc(total)) == NULL)
        return NP_ERR_NOMEM;
    p = (char *)(e + 1);
    memcpy(p, k, kl);
    p[kl] = '\0';
    e->key = p;
    p += kl + 1;
    e->value = NULL;
    if (v) {
        memcpy(p, v, vl);
        p[vl] = '\0';
        e->value = p;
        p += vl + 1;
    }
    e->meta_json = NULL;
    if (m) {
        memcpy(p, m, ml);
        p[ml] = '\0';
        e->meta_json = p;
    }
    e->created_at_ms = sqlite3_column_int64(s, 3);
    e->updated_at_ms = sqlite3_column_int64(s, 4);
    e->available_at_ms = sqlite3_column_int64(s, 5);
    e->expires_at_ms = sqlite3_column_int64(s, 6);
    e->refresh_at_ms = sqlite3_column_int64(s, 7);
    e->version = sqlite3_column_int64(s, 8);
    e->logged = sqlite3_column_int(s, 9) != 0;
    e->active = is_active(e->available_at_ms, e->expires_at_ms, now_ms);
    *out = e;
    return 0;
}

/* Append one commit entry for key (dropping its older entries: the log keeps
 * the newest entry per key). Inside a transaction. */
static int log_commit(struct ks *ks, const char *key, int op, int64_t now_ms, int64_t *id_out)
{
    sqlite3_stmt *s;
    char opstr[2] = {(char)op, '\0'};
    int64_t id = -1;
    int r;

    if ((r = store_stmt(ks->d, S_LOG_DEL, &s)) != 0 || (r = store_bind(ks->d, s, "t", key)) != 0 ||
        (r = store_exec(ks->d, s, "commit log compaction")) != 0)
        return r;
    if ((r = store_stmt(ks->d, S_LOG_NEXT, &s)) != 0)
        return r;
    if ((r = store_step(ks->d, s, "next commit id")) == 1) {
        id = sqlite3_column_int64(s, 0);
        r = store_step(ks->d, s, "next commit id"); /* run RETURNING to completion */
    } else if (r == 0) {
        r = NP_ERR_DB; /* the counter row is missing */
    }
    store_reset(s);
    if (r != 0)
        return r < 0 ? r : NP_ERR_DB;
    if ((r = store_stmt(ks->d, S_LOG_INS, &s)) != 0 ||
        (r = store_bind(ks->d, s, "itti", id, key, opstr, now_ms)) != 0 ||
        (r = store_exec(ks->d, s, "commit log insert")) != 0)
        return r;
    *id_out = id;
    return 0;
}

static int valid_op(int op, int allow_none)
{
    return (op == KS_OP_NONE && allow_none) || op == KS_OP_CREATE || op == KS_OP_UPDATE ||
           op == KS_OP_META;
}

int ks_put(struct ks *ks, const char *key, const char *value, const char *meta_json,
           const struct ks_times *t, int op, struct ks_put_result *res)
{
    struct ks_put_result out = {-1, 0, 0, 0};
    sqlite3_stmt *s = NULL;
    int r = NP_ERR_INTERNAL, in_tx = 0;

    if (res)
        memset(res, 0, sizeof(*res));
    if (ks == NULL || t == NULL || !valid_op(op, 1))
        return NP_ERR_INVAL;
    if ((r = check_key(key)) != 0)
        return r;
    if ((r = store_begin(ks->d)) != 0)
        goto out;
    in_tx = 1;
    if ((r = store_stmt(ks->d, S_PUT, &s)) != 0 ||
        (r = store_bind(ks->d, s, "tttiiiii", key, value, meta_json, t->now_ms, t->available_at_ms,
                        t->expires_at_ms, t->refresh_at_ms, (int64_t)(op != KS_OP_NONE))) != 0)
        goto out;
    if ((r = store_step(ks->d, s, "put")) != 1) {
        r = r < 0 ? r : NP_ERR_DB;
        goto out;
    }
    out.created_at_ms = sqlite3_column_int64(s, 0);
    out.version = sqlite3_column_int64(s, 1);
    out.created = out.version == 0;
    if ((r = store_step(ks->d, s, "put")) != 0) {
        r = r < 0 ? r : NP_ERR_DB;
        goto out;
    }
    store_reset(s);
    s = NULL;
    if (op != KS_OP_NONE && (r = log_commit(ks, key, op, t->now_ms, &out.commit_id)) != 0)
        goto out;
    in_tx = 0;
    if ((r = store_commit(ks->d)) != 0)
        goto out;
    if (res)
        *res = out;
    r = 0;
out:
    store_reset(s);
    if (in_tx)
        store_rollback(ks->d);
    return r;
}

int ks_get(struct ks *ks, const char *key, int64_t now_ms, struct ks_entry **out)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = NULL;
    if (ks == NULL)
        return NP_ERR_INVAL;
    if ((r = check_key(key)) != 0)
        return r;
    if ((r = store_stmt(ks->d, S_GET, &s)) != 0 || (r = store_bind(ks->d, s, "t", key)) != 0)
        goto out;
    r = store_step(ks->d, s, "get");
    if (r == 0)
        r = NP_ERR_NOTFOUND;
    else if (r == 1)
        r = entry_from_row(s, now_ms, out);
out:
    store_reset(s);
    return r;
}

void ks_entry_free(struct ks_entry *e)
{
    np_free(e);
}

int ks_delete(struct ks *ks, const char *key, int op, int64_t now_ms, int64_t *commit_id_out,
              int *deleted_out)
{
    sqlite3_stmt *s = NULL;
    int64_t id = -1;
    int r = NP_ERR_INTERNAL, in_tx = 0, deleted;

    if (commit_id_out)
        *commit_id_out = -1;
    if (deleted_out)
        *deleted_out = 0;
    if (ks == NULL || (op != KS_OP_NONE && op != KS_OP_DELETE))
        return NP_ERR_INVAL;
    if ((r = check_key(key)) != 0)
        return r;
    if ((r = store_begin(ks->d)) != 0)
        goto out;
    in_tx = 1;
    if ((r = store_stmt(ks->d, S_DEL, &s)) != 0 || (r = store_bind(ks->d, s, "t", key)) != 0 ||
        (r = store_exec(ks->d, s, "delete")) != 0)
        goto out;
    deleted = sqlite3_changes(ks->d->db) > 0;
    if (op != KS_OP_NONE && (r = log_commit(ks, key, op, now_ms, &id)) != 0)
        goto out;
    in_tx = 0;
    if ((r = store_commit(ks->d)) != 0)
        goto out;
    if (commit_id_out)
        *commit_id_out = id;
    if (deleted_out)
        *deleted_out = deleted;
    r = 0;
out:
    if (in_tx)
        store_rollback(ks->d);
    return r;
}

static int ks_list_push(struct ks_list *l, size_t *cap, struct ks_entry *e)
{
    if (l->count == *cap) {
        size_t n = store_grow(*cap, sizeof(*l->items));
        struct ks_entry **items = n ? np_realloc(l->items, n * sizeof(*items)) : NULL;
        if (items == NULL)
            return NP_ERR_NOMEM;
        l->items = items;
        *cap = n;
    }
    l->items[l->count++] = e;
    return 0;
}

int ks_scan(struct ks *ks, int64_t now_ms, unsigned flags, ks_match_fn match, void *arg,
            struct ks_list **out)
{
    struct ks_list *l = NULL;
    struct ks_entry *e = NULL;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    int r = NP_ERR_INTERNAL;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = NULL;
    if (ks == NULL || (flags & ~(KS_SCAN_KEYS_ONLY | KS_SCAN_INACTIVE)) != 0)
        return NP_ERR_INVAL;
    if ((l = np_calloc(1, sizeof(*l))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = store_stmt(ks->d, (flags & KS_SCAN_KEYS_ONLY) ? S_SCAN_KEYS : S_SCAN, &s)) != 0 ||
        (r = store_bind(ks->d, s, "ii", (int64_t)((flags & KS_SCAN_INACTIVE) != 0), now_ms)) != 0)
        goto out;
    while ((r = store_step(ks->d, s, "scan")) == 1) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        if (k == NULL) {
            r = NP_ERR_NOMEM;
            goto out;
        }
        if (match && !match(k, arg))
            continue;
        if ((r = entry_from_row(s, now_ms, &e)) != 0 || (r = ks_list_push(l, &cap, e)) != 0)
            goto out;
        e = NULL;
    }
    if (r != 0)
        goto out;
    *out = l;
    l = NULL;
out:
    store_reset(s);
    ks_entry_free(e);
    ks_list_free(l);
    return r;
}

void ks_list_free(struct ks_list *l)
{
    size_t i;

    if (l == NULL)
        return;
    for (i = 0; i < l->count; i++)
        ks_entry_free(l->items[i]);
    np_free(l->items);
    np_free(l);
}

int ks_count(struct ks *ks, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = 0;
    if (ks == NULL)
        return NP_ERR_INVAL;
    if ((r = store_stmt(ks->d, S_COUNT, &s)) != 0)
        return r;
    if ((r = store_step(ks->d, s, "count")) == 1) {
        *out = sqlite3_column_int64(s, 0);
        r = 0;
    } else if (r == 0) {
        r = NP_ERR_DB;
    }
    store_reset(s);
    return r;
}

int ks_last_commit_id(struct ks *ks, ks_match_fn match, void *arg, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int64_t id = -1;
    int r;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = -1;
    if (ks == NULL)
        return NP_ERR_INVAL;
    if (match == NULL) {
        if ((r = store_stmt(ks->d, S_LAST_ID, &s)) != 0)
            return r;
        if ((r = store_step(ks->d, s, "last commit id")) == 1) {
            id = sqlite3_column_int64(s, 0);
            r = 0;
        } else if (r == 0) {
            r = NP_ERR_DB;
        }
        goto out;
    }
    if ((r = store_stmt(ks->d, S_LOG_DESC, &s)) != 0)
        return r;
    while ((r = store_step(ks->d, s, "last commit id")) == 1) {
        const char *k = (const char *)sqlite3_column_text(s, 1);
        if (k == NULL) {
            r = NP_ERR_NOMEM;
            break;
        }
        if (match(k, arg)) {
            id = sqlite3_column_int64(s, 0);
            r = 0;
            break;
        }
    }
out:
    store_reset(s);
    if (r == 0)
        *out = id;
    return r;
}

static int commit_from_row(sqlite3_stmt *s, struct ks_commit **out)
{
    const char *k, *op;
    size_t kl, ol;
    struct ks_commit *c;
    int r;

    *out = NULL;
    if ((r = store_col_text(s, 1, &k, &kl)) != 0 || (r = store_col_text(s, 2, &op, &ol)) != 0)
        return r;
    if (k == NULL || op == NULL || ol != 1)
        return NP_ERR_DB;
    if ((c = np_malloc(sizeof(*c) + kl + 1)) == NULL)
        return NP_ERR_NOMEM;
    memcpy((char *)(c + 1), k, kl);
    ((char *)(c + 1))[kl] = '\0';
    c->key = (const char *)(c + 1);
    c->id = sqlite3_column_int64(s, 0);
    c->op = op[0];
    c->op_time_ms = sqlite3_column_int64(s, 3);
    *out = c;
    return 0;
}

int ks_commits_since(struct ks *ks, int64_t after_id, size_t limit, ks_match_fn match, void *arg,
                     struct ks_commit_list **out)
{
    struct ks_commit_list *l = NULL;
    struct ks_commit *c = NULL;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    int r = NP_ERR_INTERNAL;

    if (out == NULL)
        return NP_ERR_INVAL;
    *out = NULL;
    if (ks == NULL)
        return NP_ERR_INVAL;
    if ((l = np_calloc(1, sizeof(*l))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = store_stmt(ks->d, S_LOG_SINCE, &s)) != 0 ||
        (r = store_bind(ks->d, s, "i", after_id)) != 0)
        goto out;
    while ((limit == 0 || l->count < limit) && (r = store_step(ks->d, s, "commits")) == 1) {
        const char *k = (const char *)sqlite3_column_text(s, 1);
        if (k == NULL) {
            r = NP_ERR_NOMEM;
            goto out;
        }
        if (match && !match(k, arg))
            continue;
        if ((r = commit_from_row(s, &c)) != 0)
            goto out;
        if (l->count == cap) {
            size_t n = store_grow(cap, sizeof(*l->items));
            struct ks_commit **items = n ? np_realloc(l->items, n * sizeof(*items)) : NULL;
            if (items == NULL) {
                r = NP_ERR_NOMEM;
                goto out;
            }
            l->items = items;
            cap = n;
        }
        l->items[l->count++] = c;
        c = NULL;
    }
    if (r < 0)
        goto out;
    *out = l;
    l = NULL;
    r = 0;
out:
    store_reset(s);
    np_free(c);
    ks_commit_list_free(l);
    return r;
}

void ks_commit_list_free(struct ks_commit_list *l)
{
    size_t i;

    if (l == NULL)
        return;
    for (i = 0; i < l->count; i++)
        np_free(l->items[i]);
    np_free(l->items);
    np_free(l);
}

int ks_expire(struct ks *ks, int64_t now_ms, size_t max, size_t *count_out)
{
    struct ks_list *l = NULL;
    struct ks_entry *e = NULL;
    sqlite3_stmt *s = NULL;
    size_t cap = 0, i;
    int64_t id;
    int r = NP_ERR_INTERNAL, in_tx = 0;

    if (count_out)
        *count_out = 0;
    if (ks == NULL)
        return NP_ERR_INVAL;
    if ((l = np_calloc(1, sizeof(*l))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = store_begin(ks->d)) != 0)
        goto out;
    in_tx = 1;
    /* Collect first: deleting rows under a running SELECT is not defined. */
    if ((r = store_stmt(ks->d, S_EXPIRED, &s)) != 0 ||
        (r = store_bind(ks->d, s, "ii", now_ms,
                        (int64_t)(max == 0 || max > INT64_MAX ? -1 : (int64_t)max))) != 0)
        goto out;
    while ((r = store_step(ks->d, s, "expire scan")) == 1) {
        const char *k;
        size_t kl;
        if ((r = store_col_text(s, 0, &k, &kl)) != 0)
            goto out;
        if (k == NULL) {
            r = NP_ERR_DB;
            goto out;
        }
        if ((e = np_calloc(1, sizeof(*e) + kl + 1)) == NULL) {
            r = NP_ERR_NOMEM;
            goto out;
        }
        memcpy((char *)(e + 1), k, kl);
        e->key = (const char *)(e + 1);
        e->logged = sqlite3_column_int(s, 1) != 0;
        if ((r = ks_list_push(l, &cap, e)) != 0)
            goto out;
        e = NULL;
    }
    if (r != 0)
        goto out;
    store_reset(s);
    s = NULL;
    for (i = 0; i < l->count; i++) {
        if ((r = store_stmt(ks->d, S_DEL, &s)) != 0 ||
            (r = store_bind(ks->d, s, "t", l->items[i]->key)) != 0 ||
            (r = store_exec(ks->d, s, "expire delete")) != 0)
            goto out;
        s = NULL;
        if (l->items[i]->logged &&
            (r = log_commit(ks, l->items[i]->key, KS_OP_DELETE, now_ms, &id)) != 0)
            goto out;
    }
    in_tx = 0;
    if ((r = store_commit(ks->d)) != 0)
        goto out;
    if (count_out)
        *count_out = l->count;
    if (l->count)
        np_debug("store: expired %zu keys", l->count);
    r = 0;
out:
    store_reset(s);
    if (in_tx)
        store_rollback(ks->d);
    ks_entry_free(e);
    ks_list_free(l);
    return r;
}

/* 1 and *logged if key exists, 0 if not, < 0 on error. */
static int key_logged(struct ks *ks, const char *key, int *logged)
{
    sqlite3_stmt *s = NULL;
    int r;

    if ((r = store_stmt(ks->d, S_LOGGED, &s)) != 0 || (r = store_bind(ks->d, s, "t", key)) != 0)
        goto out;
    if ((r = store_step(ks->d, s, "rename lookup")) == 1)
        *logged = sqlite3_column_int(s, 0) != 0;
out:
    store_reset(s);
    return r;
}

int ks_rename(struct ks *ks, const char *from, const char *to, int op, int64_t now_ms,
              int64_t *commit_id_out)
{
    sqlite3_stmt *s = NULL;
    int64_t id = -1, old_id;
    int r = NP_ERR_INTERNAL, in_tx = 0, from_logged = 0, to_logged = 0;

    if (commit_id_out)
        *commit_id_out = -1;
    if (ks == NULL || (op != KS_OP_NONE && op != KS_OP_UPDATE))
        return NP_ERR_INVAL;
    if ((r = check_key(from)) != 0 || (r = check_key(to)) != 0)
        return r;
    if (strcmp(from, to) == 0)
        return NP_ERR_INVAL;
    if ((r = store_begin(ks->d)) != 0)
        goto out;
    in_tx = 1;
    if ((r = key_logged(ks, to, &to_logged)) != 0) {
        r = r == 1 ? NP_ERR_EXISTS : r;
        goto out;
    }
    if ((r = key_logged(ks, from, &from_logged)) != 1) {
        r = r == 0 ? NP_ERR_NOTFOUND : r;
        goto out;
    }
    if ((r = store_stmt(ks->d, S_RENAME, &s)) != 0 ||
        (r = store_bind(ks->d, s, "tti", from, to, (int64_t)(op != KS_OP_NONE))) != 0 ||
        (r = store_exec(ks->d, s, "rename")) != 0)
        goto out;
    if (op != KS_OP_NONE) {
        if (from_logged && (r = log_commit(ks, from, KS_OP_DELETE, now_ms, &old_id)) != 0)
            goto out;
        if ((r = log_commit(ks, to, KS_OP_UPDATE, now_ms, &id)) != 0)
            goto out;
    }
    in_tx = 0;
    if ((r = store_commit(ks->d)) != 0)
        goto out;
    if (commit_id_out)
        *commit_id_out = id;
    r = 0;
out:
    if (in_tx)
        store_rollback(ks->d);
    return r;
}
