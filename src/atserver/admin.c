/*
 * src/atserver/admin.c - "atserver create" and "atserver list": add an
 * atSign to a data directory (hosts table, its database with the cram
 * secret and the server signing key pair, optionally its directory entry)
 * and list what a data directory hosts. No server needs to run.
 */
#include "atserver.h"
#include "hostsdb.h"
#include "kv.h"
#include "server.h"

#include "request.h" /* src/atdirectory: atSign names and addresses */
#include "table.h"   /* src/atdirectory: the directory table */

#include "at/atsign.h"
#include "crypto/rand.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#define SECRET_MAX 1024

static bool is_hex(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SECRET_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

/* The cram secret: given (HEX, or "-" = first line of stdin) or 64 random
 * bytes as 128 hex digits like the official demo secrets. */
static int get_secret(const struct as_opts *o, char secret[SECRET_MAX + 2])
{
    unsigned char raw[64];

    if (o->cram_secret && strcmp(o->cram_secret, "-") == 0) {
        if (!fgets(secret, SECRET_MAX + 2, stdin)) {
            np_error("--cram-secret -: nothing on stdin");
            return NP_ERR_INVAL;
        }
        np_str_trim(secret);
    } else if (o->cram_secret) {
        snprintf(secret, SECRET_MAX + 2, "%s", o->cram_secret);
    } else {
        if (np_random_bytes(raw, sizeof(raw)) != 0)
            return NP_ERR_CRYPTO;
        for (size_t i = 0; i < sizeof(raw); i++)
            snprintf(secret + 2 * i, 3, "%02x", raw[i]);
        np_memzero(raw, sizeof(raw));
        return 0;
    }
    if (!is_hex(secret)) {
        np_error("--cram-secret: expected 1 to %d hexadecimal digits", SECRET_MAX);
        return NP_ERR_INVAL;
    }
    return 0;
}

static int register_directory(const struct as_opts *o, const char *atsign)
{
    struct dir_table *t = NULL;
    char name[DIR_NAME_BUF], hp[NP_HOST_MAX + 16], addr[DIR_ADDR_BUF];
    int r;

    if (dir_atsign_normalise(atsign, strlen(atsign), name) != 0 ||
        np_hostport_format(hp, sizeof(hp), o->host, o->port) != 0 ||
        dir_address_check(hp, addr, sizeof(addr)) != 0) {
        np_error("cannot make a directory entry from %s and %s:%d", atsign, o->host, o->port);
        return NP_ERR_INVAL;
    }
    if ((r = dir_table_open(o->directory_db, DIR_TABLE_CREATE, &t)) != 0 ||
        (r = dir_table_set(t, name, addr)) != 0) {
        np_error("cannot register %s in the directory %s", atsign, o->directory_db);
        dir_table_close(t);
        return r;
    }
    dir_table_close(t);
    np_info("directory %s: %s -> %s", o->directory_db, atsign, addr);
    return 0;
}

int as_admin_create(const struct as_opts *o)
{
    struct hostsdb *db = NULL;
    struct event_base *base = NULL;
    struct as_server *srv = NULL;
    struct as_host *h = NULL;
    char atsign[AT_ATSIGN_BUF], secret[SECRET_MAX + 2];
    bool added = false;
    int status = 1, r;

    memset(secret, 0, sizeof(secret));
    if (at_atsign_normalise(o->atsign, strlen(o->atsign), atsign, sizeof(atsign)) != 0) {
        np_error("invalid atSign \"%s\": use letters, digits, _ - and emoji", o->atsign);
        return 2;
    }
    if (strlen(o->host) > NP_HOST_MAX || !o->host[0] || strpbrk(o->host, " :/@")) {
        np_error("invalid --host \"%s\"", o->host);
        return 2;
    }
    if (get_secret(o, secret) != 0) {
        status = 2;
        goto out;
    }
    if ((r = hostsdb_open(o->data_dir, true, &db)) != 0)
        goto out;
    if ((r = hostsdb_add(db, atsign, o->port, o->host)) != 0) {
        if (r == NP_ERR_EXISTS)
            np_error("%s or port %d is already used in %s", atsign, o->port, o->data_dir);
        goto out;
    }
    added = true;
    if ((base = event_base_new()) == NULL || as_server_new(base, &o->cfg, NULL, &srv) != 0)
        goto out;
    if ((r = as_server_add_host(srv, o->data_dir, atsign, 0, false, &h)) != 0)
        goto out;
    if ((r = kv_put_simple(h, "privatekey:at_secret", secret, np_wall_ms())) != 0) {
        np_error("%s: cannot store the cram secret: %s", atsign, np_strerror(r));
        goto out;
    }
    if (o->directory_db && register_directory(o, atsign) != 0)
        goto out;
    if (printf("%s\n", secret) < 0 || fflush(stdout) != 0)
        goto out;
    np_info("created %s on port %d in %s", atsign, o->port, o->data_dir);
    status = 0;
out:
    if (status != 0 && added && hostsdb_remove(db, atsign) != 0)
        np_warn("could not undo the hosts entry of %s", atsign);
    as_server_free(srv);
    if (base)
        event_base_free(base);
    hostsdb_close(db);
    np_memzero(secret, sizeof(secret));
    return status;
}

static int print_row(const char *atsign, int port, const char *host, void *arg)
{
    (void)arg;
    return printf("%s %d %s\n", atsign, port, host) < 0 ? NP_ERR_IO : 0;
}

int as_admin_list(const struct as_opts *o)
{
    struct hostsdb *db = NULL;
    int r;

    if ((r = hostsdb_open(o->data_dir, false, &db)) != 0) {
        np_error("no atSigns in %s", o->data_dir);
        return 1;
    }
    r = hostsdb_list(db, print_row, NULL);
    hostsdb_close(db);
    if (fflush(stdout) != 0)
        r = NP_ERR_IO;
    return r == 0 ? 0 : 1;
}
