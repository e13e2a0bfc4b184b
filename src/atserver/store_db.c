/*
 * src/atserver/store_db.c - the SQLite plumbing shared by the key store and
 * the notification store (store_int.h): file naming, opening with WAL and
 * synchronous=FULL, schema creation and checks, the statement cache,
 * transactions and the one translation of SQLite results to NP_ERR_* codes.
 *
 * Depends on lib/util and libsqlite3 only. Invariant: a handle returned by
 * store_db_open has the current schema, belongs to the atSign it was opened
 * for, and (unless read-only) its file, WAL and directory entries are durable.
 */
#include "keystore.h"
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

/* Longest atSign accepted (55 characters of up to 4 UTF-8 bytes, with room). */
#define ATSIGN_MAX 256
/* Encoded names longer than this are cut and suffixed with a hash. */
#define NAME_PLAIN_MAX 120
#define NAME_CUT       100

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_TOOBIG:
        return NP_ERR_TOOBIG;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return NP_ERR_PERM;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
        return NP_ERR_IO;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return NP_ERR_TIMEOUT;
    case SQLITE_NOMEM:
        return NP_ERR_NOMEM;
    case SQLITE_CONSTRAINT:
        return NP_ERR_EXISTS;
    default:
        return NP_ERR_DB;
    }
}

static int db_err(sqlite3 *db, int rc, const char *what)
{
    int r = map_rc(rc);
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

    if (r == NP_ERR_TOOBIG || r == NP_ERR_PERM || r == NP_ERR_EXISTS)
        np_warn("store: %s: %s (sqlite %d)", what, msg, rc);
    else
        np_error("store: %s: %s (sqlite %d)", what, msg, rc);
    return r;
}

int store_err(struct store_db *d, int rc, const char *what)
{
    return db_err(d ? d->db : NULL, rc, what);
}

size_t store_grow(size_t cur, size_t elem)
{
    size_t n = cur ? cur * 2 : 16;

    if (n < cur || elem == 0 || n > SIZE_MAX / elem)
        return 0;
    return n;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);

    if (rc != SQLITE_OK) {
        *out = NULL;
        return db_err(db, rc, "prepare");
    }
    return 0;
}

int store_stmt(struct store_db *d, size_t idx, sqlite3_stmt **out)
{
    int r;

    *out = NULL;
    if (idx >= d->nstmt)
        return NP_ERR_INTERNAL;
    if (d->db == NULL) /* a reopen failed (reopen_if_writable) */
        return NP_ERR_IO;
    if (d->stmt[idx] == NULL && (r = prepare(d->db, d->sql[idx], &d->stmt[idx])) != 0)
        return r;
    store_reset(d->stmt[idx]);
    *out = d->stmt[idx];
    return 0;
}

void store_reset(sqlite3_stmt *s)
{
    if (s == NULL)
        return;
    /* The step that failed already reported the error; reset repeats it. */
    (void)sqlite3_reset(s);
    (void)sqlite3_clear_bindings(s);
}

int store_bind(struct store_db *d, sqlite3_stmt *s, const char *types, ...)
{
    va_list ap;
    int rc = SQLITE_OK, i;

    va_start(ap, types);
    for (i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
        if (types[i] == 't') {
            const char *t = va_arg(ap, const char *);
            rc =
                t ? sqlite3_bind_text(s, i + 1, t, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i + 1);
        } else if (types[i] == 'i') {
            rc = sqlite3_bind_int64(s, i + 1, (sqlite3_int64)va_arg(ap, int64_t));
        } else {
            rc = SQLITE_MISUSE;
        }
    }
    va_end(ap);
    return rc == SQLITE_OK ? 0 : store_err(d, rc, "bind");
}

int store_step(struct store_db *d, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return store_err(d, rc, what);
}

int store_exec(struct store_db *d, sqlite3_stmt *s, const char *what)
{
    int r = store_step(d, s, what);

    store_reset(s);
    if (r == 1) /* a statement we expected to return nothing returned a row */
        return NP_ERR_INTERNAL;
    return r;
}

int store_col_text(sqlite3_stmt *s, int i, const char **p, size_t *len)
{
    *p = NULL;
    *len = 0;
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return 0;
    *p = (const char *)sqlite3_column_text(s, i);
    if (*p == NULL)
        return NP_ERR_NOMEM;
    *len = (size_t)sqlite3_column_bytes(s, i);
    return 0;
}

static const char *const tx_sql[3] = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};

static int tx_run(struct store_db *d, int which)
{
    int r;

    if (d->db == NULL) /* a reopen failed (reopen_if_writable) */
        return NP_ERR_IO;
    if (d->tx[which] == NULL && (r = prepare(d->db, tx_sql[which], &d->tx[which])) != 0)
        return r;
    return store_exec(d, d->tx[which], tx_sql[which]);
}

static void reopen_if_writable(struct store_db *d);

int store_begin(struct store_db *d)
{
    reopen_if_writable(d);
    return tx_run(d, 0);
}

void store_rollback(struct store_db *d)
{
    if (d->db == NULL || sqlite3_get_autocommit(d->db))
        return; /* SQLite already rolled back (e.g. after SQLITE_FULL) */
    if (tx_run(d, 2) != 0)
        np_error("store: rollback failed");
}

int store_commit(struct store_db *d)
{
    int r = tx_run(d, 1);

    if (r != 0)
        store_rollback(d);
    return r;
}

/* One-off statement outside the cache (open time). */
static int exec_once(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        np_error("store: %s: %s (sqlite %d)", sql, msg ? msg : sqlite3_errstr(rc), rc);
        sqlite3_free(msg);
        return map_rc(rc);
    }
    return 0;
}

/* Run a one-row query (PRAGMA or SELECT) with an optional text parameter and
 * return column 0 as integer (*iv) or copy it as text (tv, tsize). */
static int query_once(sqlite3 *db, const char *sql, const char *param, int64_t *iv, char *tv,
                      size_t tsize)
{
    sqlite3_stmt *s = NULL;
    int r = NP_ERR_INTERNAL, rc;

    if ((r = prepare(db, sql, &s)) != 0)
        goto out;
    if (param && (rc = sqlite3_bind_text(s, 1, param, -1, SQLITE_STATIC)) != SQLITE_OK) {
        r = db_err(db, rc, sql);
        goto out;
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        r = NP_ERR_NOTFOUND;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        r = db_err(db, rc, sql);
        goto out;
    }
    if (iv)
        *iv = sqlite3_column_int64(s, 0);
    if (tv) {
        const char *t = (const char *)sqlite3_column_text(s, 0);
        if ((r = np_str_fmt(tv, tsize, "%s", t ? t : "")) != 0)
            goto out;
    }
    r = 0;
out:
    sqlite3_finalize(s);
    return r;
}

static const char schema_sql[] =
    "CREATE TABLE meta(name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
    "CREATE TABLE counters(name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);"
    "INSERT INTO counters VALUES('commit', -1), ('notify_ms', 0);"
    "CREATE TABLE keys("
    " key TEXT PRIMARY KEY NOT NULL, value TEXT, meta TEXT,"
    " created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL,"
    " available_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL,"
    " refresh_at_ms INTEGER NOT NULL, version INTEGER NOT NULL, logged INTEGER NOT NULL);"
    "CREATE INDEX keys_expiry ON keys(expires_at_ms) WHERE expires_at_ms > 0;"
    "CREATE TABLE commits(id INTEGER PRIMARY KEY, key TEXT NOT NULL, op TEXT NOT NULL,"
    " op_time_ms INTEGER NOT NULL);"
    "CREATE INDEX commits_key ON commits(key);"
    "CREATE TABLE notifications("
    " seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " from_atsign TEXT NOT NULL, to_atsign TEXT NOT NULL, nkey TEXT NOT NULL,"
    " type INTEGER NOT NULL, op INTEGER NOT NULL, message_type INTEGER NOT NULL,"
    " priority INTEGER NOT NULL, status INTEGER NOT NULL, retry_count INTEGER NOT NULL,"
    " strategy INTEGER NOT NULL, notifier TEXT NOT NULL, depth INTEGER NOT NULL,"
    " value TEXT, meta TEXT, ttl_ms INTEGER NOT NULL, date_ms INTEGER NOT NULL UNIQUE,"
    " expires_at_ms INTEGER NOT NULL);"
    "CREATE INDEX notifications_type_date ON notifications(type, date_ms);"
    "CREATE INDEX notifications_sent ON notifications(to_atsign, notifier) WHERE type = 1;";

/* Lower-cased atSign without '@' as recorded in the file. */
static int atsign_norm(const char *atsign, char *dst, size_t size)
{
    size_t n;

    if (atsign == NULL)
        return NP_ERR_INVAL;
    if (*atsign == '@')
        atsign++;
    n = strlen(atsign);
    if (n == 0 || n > ATSIGN_MAX || n >= size)
        return NP_ERR_INVAL;
    memcpy(dst, atsign, n + 1);
    np_str_lower(dst);
    return 0;
}

int ks_file_name(const char *atsign, char *dst, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    char norm[ATSIGN_MAX + 1], enc[ATSIGN_MAX * 3 + 1];
    uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 */
    size_t i, e = 0;
    int r;

    if (dst == NULL || size < KS_FILE_NAME_MAX)
        return NP_ERR_INVAL;
    dst[0] = '\0';
    if ((r = atsign_norm(atsign, norm, sizeof(norm))) != 0)
        return r;
    for (i = 0; norm[i] != '\0'; i++) {
        unsigned char c = (unsigned char)norm[i];
        h = (h ^ c) * 1099511628211ULL;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
            enc[e++] = (char)c;
        } else {
            enc[e++] = '%';
            enc[e++] = hex[c >> 4];
            enc[e++] = hex[c & 15];
        }
    }
    if (e <= NAME_PLAIN_MAX)
        return np_str_fmt(dst, size, "%.*s.db", (int)e, enc);
    /* Cut long names (emoji are 12 characters each) without splitting an
     * escape; '~' never appears in the plain form, so the forms cannot clash. */
    e = NAME_CUT;
    if (enc[e - 1] == '%')
        e -= 1;
    else if (enc[e - 2] == '%')
        e -= 2;
    return np_str_fmt(dst, size, "%.*s~%016" PRIx64 ".db", (int)e, enc, h);
}

static int errno_to_np(int e)
{
    return (e == EACCES || e == EPERM || e == EROFS) ? NP_ERR_PERM : NP_ERR_IO;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

    if (fd < 0)
        return errno_to_np(errno);
    if (fsync(fd) != 0 && errno != EINVAL)
        r = NP_ERR_IO;
    close(fd);
    return r;
}

/* Create the directory and an empty 0600 file (SQLite gives its -wal and -shm
 * files the mode of the database file), and make both names durable. */
static int precreate(const char *dir, const char *path)
{
    int fd, r;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        np_error("store: mkdir %s: %s", dir, strerror(errno));
        return errno_to_np(errno);
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0; /* exists, or not creatable: SQLite reports what matters */
    r = fsync(fd) == 0 ? 0 : NP_ERR_IO;
    close(fd);
    if (r == 0)
        r = fsync_dir(dir);
    return r;
}

static int ensure_schema(sqlite3 *db, const char *norm, int readonly)
{
    int64_t uv = 0, app = 0;
    char have[ATSIGN_MAX + 1];
    int r;

    if ((r = query_once(db, "PRAGMA user_version", NULL, &uv, NULL, 0)) != 0)
        return r;
    if (uv == 0) {
        if (readonly) {
            np_error("store: database for @%s has no schema and is read-only", norm);
            return NP_ERR_NOTFOUND;
        }
        if ((r = exec_once(db, "BEGIN IMMEDIATE")) != 0)
            return r;
        /* Another process may have won the race to create it. */
        if ((r = query_once(db, "PRAGMA user_version", NULL, &uv, NULL, 0)) == 0 && uv == 0) {
            char sql[64];
            if ((r = exec_once(db, schema_sql)) == 0 &&
                (r = query_once(db, "INSERT INTO meta VALUES('atsign', ?1) RETURNING 1", norm, NULL,
                                NULL, 0)) == 0 &&
                (r = np_str_fmt(sql, sizeof(sql), "PRAGMA application_id=%d",
                                STORE_APPLICATION_ID)) == 0 &&
                (r = exec_once(db, sql)) == 0 &&
                (r = np_str_fmt(sql, sizeof(sql), "PRAGMA user_version=%d",
                                STORE_SCHEMA_VERSION)) == 0)
                r = exec_once(db, sql);
        }
        if (r == 0)
            r = exec_once(db, "COMMIT");
        if (r != 0) {
            if (!sqlite3_get_autocommit(db))
                (void)exec_once(db, "ROLLBACK");
            return r;
        }
        if ((r = query_once(db, "PRAGMA user_version", NULL, &uv, NULL, 0)) != 0)
            return r;
    }
    if ((r = query_once(db, "PRAGMA application_id", NULL, &app, NULL, 0)) != 0)
        return r;
    if (app != STORE_APPLICATION_ID || uv != STORE_SCHEMA_VERSION) {
        np_error("store: not an atServer store or unknown schema (id %" PRId64 ", version %" PRId64
                 ")",
                 app, uv);
        return NP_ERR_DB;
    }
    r = query_once(db, "SELECT value FROM meta WHERE name = 'atsign'", NULL, NULL, have,
                   sizeof(have));
    if (r == NP_ERR_NOTFOUND || (r == 0 && strcmp(have, norm) != 0)) {
        np_error("store: database file belongs to another atSign");
        return NP_ERR_EXISTS;
    }
    return r;
}

static int open_db(const char *dir, const char *atsign, unsigned flags, sqlite3 **out)
{
    char name[KS_FILE_NAME_MAX], norm[ATSIGN_MAX + 1], path[4096];
    sqlite3 *db = NULL;
    int r = NP_ERR_INTERNAL, rc, on = 1, readonly = (flags & KS_OPEN_READONLY) != 0;

    *out = NULL;
    if (dir == NULL || *dir == '\0' || (flags & ~(KS_OPEN_READONLY | KS_OPEN_SYNC_NORMAL)) != 0)
        return NP_ERR_INVAL;
    if ((r = atsign_norm(atsign, norm, sizeof(norm))) != 0 ||
        (r = ks_file_name(atsign, name, sizeof(name))) != 0)
        return r;
    if ((r = np_str_fmt(path, sizeof(path), "%s/%s", dir, name)) != 0)
        return NP_ERR_INVAL;
    if (!readonly && (r = precreate(dir, path)) != 0)
        return r;
    rc = sqlite3_open_v2(
        path, &db,
        SQLITE_OPEN_NOMUTEX |
            (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE),
        NULL);
    if (rc != SQLITE_OK) {
        r = db_err(db, rc, "open");
        goto out;
    }
    sqlite3_extended_result_codes(db, 1);
    if ((rc = sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS)) != SQLITE_OK) {
        r = db_err(db, rc, "busy_timeout");
        goto out;
    }
    /* Keep -wal and -shm after close so a later read-only open (read-only
     * directory) can still read the database. */
    if ((rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &on)) != SQLITE_OK)
        np_warn("store: cannot set persistent WAL (sqlite %d)", rc);
    readonly = readonly || sqlite3_db_readonly(db, "main") == 1;
    if (!readonly) {
        char mode[16];
        if ((r = query_once(db, "PRAGMA journal_mode=WAL", NULL, NULL, mode, sizeof(mode))) != 0)
            goto out;
        if (strcmp(mode, "wal") != 0) {
            np_error("store: %s: cannot switch to WAL (mode %s)", path, mode);
            r = NP_ERR_DB;
            goto out;
        }
    }
    if ((r = exec_once(db, (flags & KS_OPEN_SYNC_NORMAL) ? "PRAGMA synchronous=NORMAL"
                                                         : "PRAGMA synchronous=FULL")) != 0 ||
        (r = exec_once(db, "PRAGMA journal_size_limit=4194304")) != 0 ||
        (r = ensure_schema(db, norm, readonly)) != 0)
        goto out;
    if (!readonly) {
        /* A real write now creates the -wal file; then sync the directory so
         * the names of the database and its WAL survive a power loss. */
        char sql[96];
        if ((r = np_str_fmt(sql, sizeof(sql),
                            "INSERT OR REPLACE INTO meta VALUES('last_open_ms', '%" PRId64 "')",
                            np_wall_ms())) != 0 ||
            (r = exec_once(db, sql)) != 0 || (r = fsync_dir(dir)) != 0)
            goto out;
    }
    *out = db;
    db = NULL;
    r = 0;
out:
    if (db && sqlite3_close(db) != SQLITE_OK)
        np_error("store: close after failed open failed");
    return r;
}

/* ---- reopening after the folder was read-only ---------------------------- */

/* Every open handle (store_int.h: single-threaded). */
static struct store_db *handles;

/* Fell back to read-only at open (file, folder or mount read-only)? */
static int fell_back(const struct store_db *d)
{
    return d->readonly && !(d->flags & KS_OPEN_READONLY);
}

/* May this process write the folder, the file, and its -wal and -shm where
 * they exist? (access(2) also reports a read-only mount, EROFS.) */
static int writable_now(const struct store_db *d)
{
    static const char *const ext[2] = {"-wal", "-shm"};
    char p[4200];

    if (access(d->dir, W_OK) != 0 || access(d->path, W_OK) != 0)
        return 0;
    for (int i = 0; i < 2; i++)
        if (np_str_fmt(p, sizeof(p), "%s%s", d->path, ext[i]) != 0 ||
            (access(p, F_OK) == 0 && access(p, W_OK) != 0))
            return 0;
    return 1;
}

static void close_conn(struct store_db *d)
{
    size_t i;
    int rc;

    for (i = 0; d->stmt && i < d->nstmt; i++) {
        sqlite3_finalize(d->stmt[i]);
        d->stmt[i] = NULL;
    }
    for (i = 0; i < 3; i++) {
        sqlite3_finalize(d->tx[i]);
        d->tx[i] = NULL;
    }
    if (d->db && (rc = sqlite3_close(d->db)) != SQLITE_OK)
        np_error("store: close: sqlite %d", rc);
    d->db = NULL;
}

/* d fell back to read-only: once the folder is writable, close every such
 * handle of its file, then reopen them (store_int.h, store_begin). A handle
 * that cannot be reopened at all answers NP_ERR_IO from then on. */
static void reopen_if_writable(struct store_db *d)
{
    struct store_db *h;
    int n = 0, rw = 0;

    if (!fell_back(d) || !writable_now(d))
        return;
    for (h = handles; h; h = h->next)
        if (fell_back(h) && strcmp(h->path, d->path) == 0)
            close_conn(h);
    for (h = handles; h; h = h->next) {
        if (h->db != NULL || strcmp(h->path, d->path) != 0)
            continue;
        n++;
        if (open_db(h->dir, h->atsign, h->flags, &h->db) != 0) {
            np_error("store: %s: cannot reopen the database; its writes and reads fail until "
                     "a restart",
                     h->atsign);
            continue;
        }
        h->readonly = sqlite3_db_readonly(h->db, "main") == 1;
        rw += !h->readonly;
    }
    if (rw == n)
        np_info("store: %s: the data folder is writable again; reopened %d database "
                "connection(s) read-write",
                d->atsign, n);
}

int store_db_open(const char *dir, const char *atsign, unsigned flags, const char *const *sql,
                  size_t nsql, struct store_db **out)
{
    struct store_db *d = NULL;
    char name[KS_FILE_NAME_MAX], path[4096];
    int r = NP_ERR_INTERNAL;

    *out = NULL;
    if ((d = np_calloc(1, sizeof(*d))) == NULL ||
        (d->stmt = np_calloc(nsql, sizeof(*d->stmt))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    d->sql = sql;
    d->nstmt = nsql;
    d->flags = flags;
    if ((r = open_db(dir, atsign, flags, &d->db)) != 0)
        goto out;
    if ((r = ks_file_name(atsign, name, sizeof(name))) != 0 ||
        (r = np_str_fmt(path, sizeof(path), "%s/%s", dir, name)) != 0)
        goto out;
    if ((d->dir = np_strdup(dir)) == NULL || (d->atsign = np_strdup(atsign)) == NULL ||
        (d->path = np_strdup(path)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    d->readonly = (flags & KS_OPEN_READONLY) || sqlite3_db_readonly(d->db, "main") == 1;
    d->next = handles;
    handles = d;
    *out = d;
    d = NULL;
    r = 0;
out:
    store_db_close(d);
    return r;
}

void store_db_close(struct store_db *d)
{
    if (d == NULL)
        return;
    for (struct store_db **p = &handles; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    close_conn(d);
    np_free(d->stmt);
    np_free(d->dir);
    np_free(d->atsign);
    np_free(d->path);
    np_free(d);
}
