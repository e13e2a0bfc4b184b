/*
 * src/atdirectory/table.c - the directory table in SQLite (see table.h).
 * Schema version 1:
 *   directory(atsign TEXT PRIMARY KEY, address TEXT NOT NULL) WITHOUT ROWID
 * All statements are prepared at open and reset after each use.
 */
#include "table.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#include <string.h>
#include <sqlite3.h>

#define SCHEMA_VERSION  1
#define BUSY_TIMEOUT_MS 5000

struct dir_table {
    sqlite3 *db;
    sqlite3_stmt *lookup;
    sqlite3_stmt *set;
    sqlite3_stmt *remove;
};

static int db_fail(struct dir_table *t, const char *what)
{
    np_error("database: %s: %s", what, t->db ? sqlite3_errmsg(t->db) : "?");
    return NP_ERR_DB;
}

static int exec(struct dir_table *t, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(t->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        np_error("database: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return NP_ERR_DB;
    }
    return 0;
}

/* Stamp a new database with SCHEMA_VERSION; refuse one from the future. */
static int check_version(struct dir_table *t)
{
    sqlite3_stmt *st = NULL;
    int v = -1;

    if (sqlite3_prepare_v2(t->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(t, "user_version");
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (v == 0)
        return exec(t, "PRAGMA user_version=1");
    if (v != SCHEMA_VERSION) {
        np_error("database: schema version %d, this program knows %d", v, SCHEMA_VERSION);
        return NP_ERR_DB;
    }
    return 0;
}

static int prepare(struct dir_table *t, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v3(t->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_fail(t, sql);
    return 0;
}

int dir_table_open(const char *path, int flags, struct dir_table **out)
{
    struct dir_table *t = NULL;
    int r = NP_ERR_INTERNAL, oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, rc;

    if (out)
        *out = NULL;
    if (!path || !*path || !out)
        return NP_ERR_INVAL;
    if (flags & DIR_TABLE_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    if ((t = np_calloc(1, sizeof(*t))) == NULL)
        return NP_ERR_NOMEM;
    if ((rc = sqlite3_open_v2(path, &t->db, oflags, NULL)) != SQLITE_OK) {
        if (rc == SQLITE_CANTOPEN && !(flags & DIR_TABLE_CREATE)) {
            np_error("database %s: cannot open (missing?)", path);
            r = NP_ERR_NOTFOUND;
        } else {
            r = db_fail(t, path);
        }
        goto out;
    }
    sqlite3_busy_timeout(t->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(t->db, 1);
    if ((r = exec(t, "PRAGMA journal_mode=WAL")) != 0 ||
        (r = exec(t, "PRAGMA synchronous=NORMAL")) != 0 ||
        (r = exec(t, "CREATE TABLE IF NOT EXISTS directory ("
                     " atsign TEXT PRIMARY KEY NOT NULL,"
                     " address TEXT NOT NULL) WITHOUT ROWID")) != 0 ||
        (r = check_version(t)) != 0)
        goto out;
    if ((r = prepare(t, "SELECT address FROM directory WHERE atsign = ?1", &t->lookup)) != 0 ||
        (r = prepare(t, "INSERT OR REPLACE INTO directory (atsign, address) VALUES (?1, ?2)",
                     &t->set)) != 0 ||
        (r = prepare(t, "DELETE FROM directory WHERE atsign = ?1", &t->remove)) != 0)
        goto out;
    *out = t;
    t = NULL;
    r = 0;
out:
    dir_table_close(t);
    return r;
}

void dir_table_close(struct dir_table *t)
{
    if (!t)
        return;
    sqlite3_finalize(t->lookup);
    sqlite3_finalize(t->set);
    sqlite3_finalize(t->remove);
    if (t->db && sqlite3_close(t->db) != SQLITE_OK)
        np_warn("database: close: %s", sqlite3_errmsg(t->db));
    np_free(t);
}

int dir_table_lookup(struct dir_table *t, const char *name, char *addr, size_t size)
{
    int r, rc;

    if (addr && size)
        addr[0] = '\0';
    if (!t || !name || !addr || size == 0)
        return NP_ERR_INVAL;
    if (sqlite3_bind_text(t->lookup, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
        r = db_fail(t, "bind");
        goto out;
    }
    rc = sqlite3_step(t->lookup);
    if (rc == SQLITE_DONE) {
        r = NP_ERR_NOTFOUND;
    } else if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(t->lookup, 0);
        int n = sqlite3_column_bytes(t->lookup, 0);
        if (!v || n < 0 || (size_t)n >= size) {
            r = NP_ERR_TOOBIG;
        } else {
            memcpy(addr, v, (size_t)n);
            addr[n] = '\0';
            r = 0;
        }
    } else {
        r = db_fail(t, "lookup");
    }
out:
    sqlite3_reset(t->lookup);
    sqlite3_clear_bindings(t->lookup);
    return r;
}

int dir_table_set(struct dir_table *t, const char *name, const char *addr)
{
    int r;

    if (!t || !name || !addr)
        return NP_ERR_INVAL;
    if (sqlite3_bind_text(t->set, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(t->set, 2, addr, -1, SQLITE_STATIC) != SQLITE_OK)
        r = db_fail(t, "bind");
    else
        r = sqlite3_step(t->set) == SQLITE_DONE ? 0 : db_fail(t, "set");
    sqlite3_reset(t->set);
    sqlite3_clear_bindings(t->set);
    return r;
}

int dir_table_remove(struct dir_table *t, const char *name)
{
    int r;

    if (!t || !name)
        return NP_ERR_INVAL;
    if (sqlite3_bind_text(t->remove, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
        r = db_fail(t, "bind");
    else if (sqlite3_step(t->remove) != SQLITE_DONE)
        r = db_fail(t, "remove");
    else
        r = sqlite3_changes(t->db) > 0 ? 0 : NP_ERR_NOTFOUND;
    sqlite3_reset(t->remove);
    sqlite3_clear_bindings(t->remove);
    return r;
}

int dir_table_list(struct dir_table *t, dir_table_row_fn fn, void *data)
{
    sqlite3_stmt *st = NULL;
    int r = 0, rc;

    if (!t || !fn)
        return NP_ERR_INVAL;
    if (sqlite3_prepare_v2(t->db, "SELECT atsign, address FROM directory ORDER BY atsign", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(t, "list");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(st, 0);
        const char *a = (const char *)sqlite3_column_text(st, 1);
        if ((r = fn(n ? n : "", a ? a : "", data)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = db_fail(t, "list");
    sqlite3_finalize(st);
    return r;
}

int dir_table_count(struct dir_table *t, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int r;

    if (n)
        *n = 0;
    if (!t || !n)
        return NP_ERR_INVAL;
    if (sqlite3_prepare_v2(t->db, "SELECT count(*) FROM directory", -1, &st, NULL) != SQLITE_OK)
        return db_fail(t, "count");
    if (sqlite3_step(st) == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
        r = 0;
    } else {
        r = db_fail(t, "count");
    }
    sqlite3_finalize(st);
    return r;
}
