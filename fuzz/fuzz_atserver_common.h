/*
 * fuzz/fuzz_atserver_common.h - a memory-mode atServer shared by the atServer
 * fuzz harnesses: one event base, @alice and @bob hosted from a throw-away
 * directory (on /dev/shm when available, so the per-write fsync is cheap),
 * created on first use and removed at exit. Header-only on purpose: each
 * harness is one translation unit plus replay_main.c.
 */
#ifndef NP_FUZZ_ATSERVER_COMMON_H
#define NP_FUZZ_ATSERVER_COMMON_H
#include "atserver.h"
#include "server.h"

#include "util/log.h"

#include <event2/event.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct fz_server {
    char dir[256];
    struct event_base *base;
    struct as_server *srv;
    struct as_host *alice, *bob;
};

static struct fz_server fz;

static int fz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fz_cleanup(void)
{
    as_server_free(fz.srv);
    if (fz.base)
        event_base_free(fz.base);
    if (fz.dir[0])
        nftw(fz.dir, fz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* The server, created on first call; aborts if it cannot be made. */
static struct fz_server *fz_server(void)
{
    struct as_config cfg;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    if (fz.srv)
        return &fz;
    np_log_set_level(-1);
    snprintf(fz.dir, sizeof(fz.dir), "%s/np-fuzz-atserver-XXXXXX", base);
    if (!mkdtemp(fz.dir))
        abort();
    as_config_defaults(&cfg);
    cfg.noop_max_ms = 0; /* noop answers at once */
    cfg.stats_interval_s = -1;
    cfg.unauth_max_line = 4096;
    cfg.auth_max_line = 65536;
    cfg.max_value_size = 16384;
    cfg.replay_batch = 4;
    if ((fz.base = event_base_new()) == NULL || as_server_new(fz.base, &cfg, NULL, &fz.srv) != 0 ||
        as_server_add_host(fz.srv, fz.dir, "@alice", 0, false, &fz.alice) != 0 ||
        as_server_add_host(fz.srv, fz.dir, "@bob", 0, false, &fz.bob) != 0)
        abort();
    atexit(fz_cleanup);
    return &fz;
}

#endif
