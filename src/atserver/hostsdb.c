/*
 * src/atserver/hostsdb.c - the table of hosted atSigns (see hostsdb.h).
 */
#include "hostsdb.h"
#include "atserver.h"

#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct hostsdb {
    sqlite3 *db;
};

static int fail(struct hostsdb *h, const char *what)
{
    np_error("hosts table: %s: %s", what, sqlite3_errmsg(h->db));
    return NP_ERR_DB;
}

int hostsdb_open(const char *dir, bool create, struct hostsdb **out)
{
    static const char schema[] =
        "PRAGMA synchronous=FULL;"
        "CREATE TABLE IF NOT EXISTS hosts(atsign TEXT PRIMARY KEY, port INTEGER NOT NULL,"
        " host TEXT NOT NULL);"
        "CREATE UNIQUE INDEX IF NOT EXISTS hosts_port ON hosts(port) WHERE port > 0;";
    struct hostsdb *h = NULL;
    char path[4096];
    int r = NP_ERR_INTERNAL, fd;

    *out = NULL;
    if (snprintf(path, sizeof(path), "%s/%s", dir, AS_HOSTS_FILE) >= (int)sizeof(path))
        return NP_ERR_INVAL;
    if (access(path, F_OK) != 0) {
        if (!create)
            return NP_ERR_NOTFOUND;
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            np_error("cannot create %s: %s", dir, strerror(errno));
            return NP_ERR_IO;
        }
        if ((fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) < 0) {
            np_error("cannot create %s: %s", path, strerror(errno));
            return NP_ERR_IO;
        }
        close(fd);
    }
    if ((h = np_calloc(1, sizeof(*h))) == NULL)
        return NP_ERR_NOMEM;
    if (sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        r = fail(h, "open");
        goto out;
    }
    sqlite3_busy_timeout(h->db, 5000);
    if (sqlite3_exec(h->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        r = fail(h, "schema");
        goto out;
    }
    *out = h;
    h = NULL;
    r = 0;
out:
    hostsdb_close(h);
    return r;
}

void hostsdb_close(struct hostsdb *h)
{
    if (!h)
        return;
    sqlite3_close(h->db);
    np_free(h);
}

int hostsdb_add(struct hostsdb *h, const char *atsign, int port, const char *host)
{
    sqlite3_stmt *st = NULL;
    int r, rc;

    if (sqlite3_prepare_v2(h->db, "INSERT INTO hosts(atsign, port, host) VALUES(?1, ?2, ?3)", -1,
                           &st, NULL) != SQLITE_OK)
        return fail(h, "prepare");
    sqlite3_bind_text(st, 1, atsign, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, port);
    sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        r = 0;
    else if ((rc & 0xff) == SQLITE_CONSTRAINT)
        r = NP_ERR_EXISTS;
    else
        r = fail(h, "insert");
    sqlite3_finalize(st);
    return r;
}

int hostsdb_remove(struct hostsdb *h, const char *atsign)
{
    sqlite3_stmt *st = NULL;
    int r;

    if (sqlite3_prepare_v2(h->db, "DELETE FROM hosts WHERE atsign = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return fail(h, "prepare");
    sqlite3_bind_text(st, 1, atsign, -1, SQLITE_STATIC);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(h, "delete");
    sqlite3_finalize(st);
    return r;
}

int hostsdb_list(struct hostsdb *h, hostsdb_row_fn fn, void *arg)
{
    sqlite3_stmt *st = NULL;
    int r = 0, rc;

    if (sqlite3_prepare_v2(h->db, "SELECT atsign, port, host FROM hosts ORDER BY atsign", -1, &st,
                           NULL) != SQLITE_OK)
        return fail(h, "prepare");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        const char *hn = (const char *)sqlite3_column_text(st, 2);
        if ((r = fn(a ? a : "", sqlite3_column_int(st, 1), hn ? hn : "", arg)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = fail(h, "list");
    sqlite3_finalize(st);
    return r;
}
