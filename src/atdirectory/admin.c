/*
 * src/atdirectory/admin.c - the admin subcommands (set, remove, list):
 * they work on the database file directly, with or without a running
 * server (WAL lets a server keep reading while they write).
 */
#include "atdirectory.h"
#include "request.h"
#include "table.h"

#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

/* Normalise the atSign argument; prints why it is rejected. */
static int arg_name(const struct dir_opts *o, char name[DIR_NAME_BUF])
{
    int r = o->atsign ? dir_atsign_normalise(o->atsign, strlen(o->atsign), name) : NP_ERR_FORMAT;

    if (r == NP_ERR_TOOBIG)
        np_error("invalid atSign: more than %d characters", DIR_ATSIGN_MAX_UNITS);
    else if (r != 0)
        np_error("invalid atSign \"%s\": use letters, digits, _ - and emoji",
                 o->atsign ? o->atsign : "");
    return r;
}

int dir_admin_set(const struct dir_opts *o)
{
    struct dir_table *t = NULL;
    char name[DIR_NAME_BUF], addr[DIR_ADDR_BUF];
    int r;

    if (arg_name(o, name) != 0)
        return 2;
    if (!o->address || dir_address_check(o->address, addr, sizeof(addr)) != 0) {
        np_error("invalid address \"%s\": expected host:port with port 1-65535",
                 o->address ? o->address : "");
        return 2;
    }
    if ((r = dir_table_open(o->db_path, DIR_TABLE_CREATE, &t)) != 0)
        return 1;
    r = dir_table_set(t, name, addr);
    dir_table_close(t);
    if (r != 0)
        return 1;
    np_info("set @%s -> %s", name, addr);
    return 0;
}

int dir_admin_remove(const struct dir_opts *o)
{
    struct dir_table *t = NULL;
    char name[DIR_NAME_BUF];
    int r;

    if (arg_name(o, name) != 0)
        return 2;
    if (dir_table_open(o->db_path, 0, &t) != 0)
        return 1;
    r = dir_table_remove(t, name);
    dir_table_close(t);
    if (r == NP_ERR_NOTFOUND) {
        np_error("@%s is not in the directory", name);
        return 1;
    }
    if (r != 0)
        return 1;
    np_info("removed @%s", name);
    return 0;
}

static int print_row(const char *name, const char *addr, void *data)
{
    (void)data;
    return printf("@%s %s\n", name, addr) < 0 ? NP_ERR_IO : 0;
}

int dir_admin_list(const struct dir_opts *o)
{
    struct dir_table *t = NULL;
    int r;

    if (dir_table_open(o->db_path, 0, &t) != 0)
        return 1;
    r = dir_table_list(t, print_row, NULL);
    dir_table_close(t);
    if (fflush(stdout) != 0)
        r = NP_ERR_IO;
    return r == 0 ? 0 : 1;
}
