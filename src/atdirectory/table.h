/*
 * src/atdirectory/table.h - the directory table in SQLite: normalised
 * atSign name (without '@', see request.h) -> "host:port".
 *
 * One table, WAL journal, so that admin commands (set/remove) can write
 * while a server reads, and a crash loses nothing committed. The lookup
 * statement is prepared once and reused: a lookup is one index probe with
 * no allocation. Names and addresses are validated by the caller
 * (request.h); this module stores what it is given.
 * Single thread per struct dir_table. Errors: 0 or NP_ERR_*; SQLite's own
 * codes and messages are logged here, never returned.
 */
#ifndef ATDIRECTORY_TABLE_H
#define ATDIRECTORY_TABLE_H
#include <stddef.h>
#include <stdint.h>

struct dir_table;

enum {
    DIR_TABLE_CREATE = 1, /* create the file and schema if missing */
};

/*
 * Open (and with DIR_TABLE_CREATE create) the database at path and make
 * sure the schema exists. *out = NULL at entry. Errors: NP_ERR_NOTFOUND
 * (no such file without DIR_TABLE_CREATE), NP_ERR_DB (not a database,
 * permissions, schema problem), NP_ERR_NOMEM.
 */
int dir_table_open(const char *path, int flags, struct dir_table **out);
/* Finalize statements and close; NULL-safe. */
void dir_table_close(struct dir_table *t);

/* Copy the address of name to addr (NUL-terminated). addr[0] = '\0' at
 * entry. Errors: NP_ERR_NOTFOUND, NP_ERR_TOOBIG (does not fit), NP_ERR_DB. */
int dir_table_lookup(struct dir_table *t, const char *name, char *addr, size_t size);
/* Insert or replace. Errors: NP_ERR_DB. */
int dir_table_set(struct dir_table *t, const char *name, const char *addr);
/* Delete. Errors: NP_ERR_NOTFOUND, NP_ERR_DB. */
int dir_table_remove(struct dir_table *t, const char *name);

/* Called for every row in name order; a non-zero return stops the walk and
 * is returned by dir_table_list. Strings are valid during the call only. */
typedef int (*dir_table_row_fn)(const char *name, const char *addr, void *data);
int dir_table_list(struct dir_table *t, dir_table_row_fn fn, void *data);
/* Number of rows. *n = 0 at entry. */
int dir_table_count(struct dir_table *t, int64_t *n);

#endif
