/*
 * src/atserver/store_int.h - private to the atServer store (keystore.c,
 * notify_store.c) and its unit tests: the SQLite handle shared by both
 * modules, statement cache, transactions and the SQLite -> NP_ERR_* mapping.
 *
 * Both stores live in the same database file per atSign
 * (<dir>/<name>.db, see ks_open); each open handle is its own SQLite
 * connection. The schema (all tables) is created by whichever opens first.
 * Implemented in store_db.c.
 */
#ifndef NP_ATSERVER_STORE_INT_H
#define NP_ATSERVER_STORE_INT_H
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* PRAGMA user_version of the schema this code writes. */
#define STORE_SCHEMA_VERSION 1
/* PRAGMA application_id marking our files ("NPAT"). */
#define STORE_APPLICATION_ID 0x4e504154
/* How long a write waits for another connection's lock. */
#define STORE_BUSY_TIMEOUT_MS 5000

struct store_db {
    sqlite3 *db;
    int readonly;           /* opened read-only (flag or file mode) */
    char *dir, *atsign;     /* as opened, for reopening (store_begin) */
    char *path;             /* the database file */
    unsigned flags;         /* KS_OPEN_* as opened */
    struct store_db *next;  /* every open handle of the process */
    size_t nstmt;           /* number of entries in sql and stmt */
    const char *const *sql; /* statement texts (static), indexed by slot */
    sqlite3_stmt **stmt;    /* prepared on first use, finalized at close */
    sqlite3_stmt *tx[3];    /* BEGIN IMMEDIATE, COMMIT, ROLLBACK */
};

/*
 * Open the database of `atsign` under `dir` as ks_open describes, ensure the
 * schema, and set up a statement cache for the nsql texts in sql (the array
 * must outlive the handle). *out: new handle (store_db_close).
 */
int store_db_open(const char *dir, const char *atsign, unsigned flags, const char *const *sql,
                  size_t nsql, struct store_db **out);
void store_db_close(struct store_db *d);

/* Translate a SQLite result code (as in keystore.h) and log it with `what`
 * and SQLite's message. Returns the NP_ERR_* code (never 0). */
int store_err(struct store_db *d, int rc, const char *what);

/* The cached statement for slot idx, reset and with bindings cleared. */
int store_stmt(struct store_db *d, size_t idx, sqlite3_stmt **out);

/*
 * Bind parameters 1..n from a type string: 't' const char * (NULL binds SQL
 * NULL; the text must stay valid until the statement is reset), 'i' int64_t.
 */
int store_bind(struct store_db *d, sqlite3_stmt *s, const char *types, ...);

/* Step: 1 = a row is ready, 0 = done, < 0 = error (translated and logged). */
int store_step(struct store_db *d, sqlite3_stmt *s, const char *what);
/* Step a statement that returns no rows, then reset it. */
int store_exec(struct store_db *d, sqlite3_stmt *s, const char *what);
/* Reset and clear bindings (ends the statement's read). */
void store_reset(sqlite3_stmt *s);

/*
 * Column i of the current row as text: *p borrowed until the next step/reset,
 * NULL for SQL NULL; *len its length in bytes. NP_ERR_NOMEM if SQLite could
 * not convert it.
 */
int store_col_text(sqlite3_stmt *s, int i, const char **p, size_t *len);

/* New capacity for a growing array of `elem` bytes per item holding `cur`
 * items: 0 on overflow (caller reports NP_ERR_NOMEM). */
size_t store_grow(size_t cur, size_t elem);

/* New capacity for a growing array of `elem` bytes per item holding `cur`
 * items: 0 on overflow (caller reports NP_ERR_NOMEM). */
size_t store_grow(size_t cur, size_t elem);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. store_commit rolls back on failure;
 * store_rollback is a no-op outside a transaction. NP_ERR_PERM when the
 * handle is read-only.
 * A handle that is read-only only because its file or folder was when it
 * was opened (not KS_OPEN_READONLY) is reopened by store_begin once the
 * folder and files are writable again, so writes recover without a restart.
 * SQLite shares a file's -shm between the connections of a process, and a
 * -shm opened read-only keeps every new connection read-only, so all such
 * handles of that file are closed and reopened together: this finalizes
 * their cached statements, so no statement of any handle of the same file
 * may be in use across store_begin (the stores never hold one across calls).
 * Single-threaded: the list of open handles is not locked. */
int store_begin(struct store_db *d);
int store_commit(struct store_db *d);
void store_rollback(struct store_db *d);

/* Tests only: the raw connection of a handle (e.g. to set
 * PRAGMA max_page_count and simulate a full disk). */
struct ks;
struct ns;
sqlite3 *ks_int_db(struct ks *ks);
sqlite3 *ns_int_db(struct ns *ns);

#endif
