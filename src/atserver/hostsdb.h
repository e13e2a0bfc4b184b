/*
 * src/atserver/hostsdb.h - the table of hosted atSigns under the data
 * directory (<data-dir>/hosts.sqlite3): atSign, TLS port and the host name
 * published in the directory. Written by "atserver create", read by
 * "atserver run" and "atserver list". SQLite, one small table; SQLite's
 * codes never leave hostsdb.c.
 */
#ifndef ATSERVER_HOSTSDB_H
#define ATSERVER_HOSTSDB_H
#include <stdbool.h>
#include <stddef.h>

struct hostsdb;

/*
 * Open <dir>/hosts.sqlite3. With create, the directory (one level, mode
 * 0700) and the file (0600) are created when missing. *out = NULL at entry.
 * Errors: NP_ERR_NOTFOUND (no file and !create), NP_ERR_IO, NP_ERR_DB,
 * NP_ERR_NOMEM.
 */
int hostsdb_open(const char *dir, bool create, struct hostsdb **out);
void hostsdb_close(struct hostsdb *db);

/* Add an atSign (normalised "@alice"). NP_ERR_EXISTS when the atSign or
 * the port is taken; NP_ERR_DB. Port 0 (allowed for any number of atSigns)
 * makes "run" listen on a port the kernel picks, which it logs: tests use
 * it to avoid racing for free ports. */
int hostsdb_add(struct hostsdb *db, const char *atsign, int port, const char *host);

/* Remove an atSign again (undo of a failed create). */
int hostsdb_remove(struct hostsdb *db, const char *atsign);

/* Call fn for every row in atSign order; a non-zero return stops the walk
 * and is returned. Strings are valid during the call only. */
typedef int (*hostsdb_row_fn)(const char *atsign, int port, const char *host, void *arg);
int hostsdb_list(struct hostsdb *db, hostsdb_row_fn fn, void *arg);

#endif
