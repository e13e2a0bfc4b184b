/*
 * Integration test of the sshnpd binary against our REAL atdirectory and
 * atserver on 127.0.0.1: the daemon (@bob🛠, device "garage", manager
 * @alice🛠) connects and authenticates with PKAM, shares its device_info
 * and username records with its manager, answers a ping sent by the
 * manager through the atServer with its device-info heartbeat, and sends
 * nothing at all to an atSign it does not know (@relay1); when the
 * atServer is restarted it reconnects by itself and answers again. SIGTERM
 * stops it with status 0.
 *
 * Set-up as in test_client_e2e.c (the official VE's provisioning: cram,
 * then the PKAM public key and public:publickey). Every process started
 * here is stopped by pid in the group teardown (and gets SIGTERM through
 * PR_SET_PDEATHSIG if this process dies). The ssh/npt session path with a
 * real sshd is the later end-to-end test's job; the engine's sessions are
 * covered in tests/unit/sshnpd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "at/client.h"
#include "at/client_sync.h"
#include "at/monitor.h"
#include "crypto/atkeys.h"
#include "itest.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#define ALICE "@alice\xf0\x9f\x9b\xa0"
#define BOB   "@bob\xf0\x9f\x9b\xa0"
#define RELAY "@relay1"
#define ALICE_CRAM                                                                                 \
    "b26455a907582760ebf35bc4847de549bc41c24b25c8b1c58d5964f7b4f8a43bc55b0e9a601c9a9657d9a8b8bbc3" \
    "2f88b4e38ffaca03c8710ebae1b14ca9f364"
#define BOB_CRAM                                                                                   \
    "33c2df30b79743ff880fc1c832a5c69170974dd736231b84ee360df89a0faff1f6efe0e83064144a7b4e5029334a" \
    "d1daedc49bf82c0be1f763f590c28e33ba0a"
/* @relay1's server is created here, so its cram secret is ours to choose. */
#define RELAY_CRAM "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char dir[512], ca[600], cert[600], key[600], dirdb[600], data[600];
static char alice_keys[600], bob_keys[600], relay_keys[600];
static char srv_log[600], dir_log[600], npd_log[600], out_path[600], root[64];
static int dir_port, alice_port, bob_port, relay_port;
static pid_t dir_pid = -1, srv_pid = -1, npd_pid = -1;
static struct np_atkeys *ka, *kb, *kr;

static const char *prog(const char *env)
{
    const char *p = getenv(env);

    if (!p)
        fail_msg("%s not set (run through ctest)", env);
    return p;
}

static int copy_keys(const char *fixture, const char *path)
{
    char src[700];
    char *text;
    int fd, ok;

    snprintf(src, sizeof(src), "%s/../shared/fixtures/official-demo-atkeys/%s",
             itest_env("NP_SOURCE_DIR", "."), fixture);
    if ((text = itest_read_file(src, 65536)) == NULL)
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (fd >= 0)
        close(fd);
    free(text);
    return ok ? 0 : -1;
}

static int create_atsign(const char *atsign, int port, const char *cram)
{
    char portstr[16];
    int st = -1;
    const char *argv[] = {prog("NP_ATSERVER"),
                          "create",
                          atsign,
                          "--data-dir",
                          data,
                          "--port",
                          portstr,
                          "--host",
                          "localhost",
                          "--directory-db",
                          dirdb,
                          "--cram-secret",
                          cram,
                          NULL};

    snprintf(portstr, sizeof(portstr), "%d", port);
    if (itest_run(argv, out_path, 20000, &st) != 0 || st != 0) {
        itest_dump_file("atserver create", out_path);
        return -1;
    }
    return 0;
}

static void base_opts(struct at_client_opts *o, const char *atsign, const struct np_atkeys *k)
{
    memset(o, 0, sizeof(*o));
    o->atsign = atsign;
    o->keys = k;
    o->root_host = "127.0.0.1";
    o->root_port = dir_port;
    o->ca_file = ca;
    o->request_timeout_ms = 8000;
    o->connect_timeout_ms = 8000;
}

static int provision(const char *atsign, const char *cram, const struct np_atkeys *k)
{
    struct at_client_opts o;
    struct at_sync *s = NULL;
    char line[2048], pub[256], err[512];
    char *d = NULL;
    int r;

    base_opts(&o, atsign, NULL);
    o.auth = AT_CLIENT_AUTH_CRAM;
    o.cram_secret = cram;
    if ((r = at_sync_open(&o, &s, err, sizeof(err))) != 0) {
        fprintf(stderr, "provision %s: %s\n", atsign, err);
        return r;
    }
    snprintf(line, sizeof(line), "update:privatekey:at_pkam_publickey %s", k->pkam_public_b64);
    if ((r = at_sync_cmd(s, line, &d)) != 0)
        fprintf(stderr, "provision %s: %s\n", atsign, at_sync_error(s));
    np_free(d);
    snprintf(pub, sizeof(pub), "public:publickey%s", atsign);
    if (r == 0 && (r = at_sync_put(s, pub, k->enc_public_b64, NULL)) != 0)
        fprintf(stderr, "provision %s: %s\n", atsign, at_sync_error(s));
    at_sync_close(s);
    return r;
}

/* Does the daemon's log hold `text` at least `times` times (polled, at
 * most ms)? */
static int log_has_n(const char *text, int times, int ms)
{
    int64_t end = np_mono_ms() + ms;

    for (;;) {
        char *l = itest_read_file(npd_log, 4 << 20);
        int found = 0;
        for (const char *p = l; p && (p = strstr(p, text)) != NULL; p += strlen(text))
            found++;
        free(l);
        if (found >= times)
            return 1;
        if (np_mono_ms() >= end)
            return 0;
        usleep(50 * 1000);
    }
}

static int log_has(const char *text, int ms)
{
    return log_has_n(text, 1, ms);
}

static int start_daemon(void)
{
    const char *argv[] = {
        prog("NP_SSHNPD"), "-a", BOB,         "-m", ALICE, "-d", "Garage", "-k", bob_keys,
        "--root-domain",   root, "--ca-file", ca,   "-v",  NULL};

    if (itest_spawn(argv, npd_log, &npd_pid) != 0)
        return -1;
    if (!log_has("monitor connection available", 30000) ||
        !log_has("command connection available", 30000)) {
        itest_dump_file("sshnpd log", npd_log);
        itest_dump_file("atserver log", srv_log);
        return -1;
    }
    return 0;
}

static int start_atserver(void)
{
    const char *sargv[] = {prog("NP_ATSERVER"),
                           "run",
                           "--data-dir",
                           data,
                           "--cert",
                           cert,
                           "--key",
                           key,
                           "--bind",
                           "127.0.0.1",
                           "--root-domain",
                           root,
                           "--ca-file",
                           ca,
                           NULL};

    if (itest_spawn(sargv, srv_log, &srv_pid) != 0 ||
        itest_wait_port("127.0.0.1", alice_port, srv_pid, 15000) != 0 ||
        itest_wait_port("127.0.0.1", bob_port, srv_pid, 15000) != 0 ||
        itest_wait_port("127.0.0.1", relay_port, srv_pid, 15000) != 0) {
        itest_dump_file("atserver log", srv_log);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    char err[512], dportstr[16];
    (void)state;

    np_log_set_level(NP_LOG_WARN);
    if (itest_tmpdir("sshnpd", dir, sizeof(dir)) != 0 || itest_mkca(dir) != 0)
        return -1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    snprintf(dirdb, sizeof(dirdb), "%s/directory.db", dir);
    snprintf(data, sizeof(data), "%s/atserver", dir);
    snprintf(alice_keys, sizeof(alice_keys), "%s/alice.atKeys", dir);
    snprintf(bob_keys, sizeof(bob_keys), "%s/bob.atKeys", dir);
    snprintf(relay_keys, sizeof(relay_keys), "%s/relay.atKeys", dir);
    snprintf(srv_log, sizeof(srv_log), "%s/atserver.log", dir);
    snprintf(dir_log, sizeof(dir_log), "%s/atdirectory.log", dir);
    snprintf(npd_log, sizeof(npd_log), "%s/sshnpd.log", dir);
    snprintf(out_path, sizeof(out_path), "%s/out.txt", dir);
    if (mkdir(data, 0700) != 0)
        return -1;
    if (copy_keys("alice-wrench.atKeys", alice_keys) != 0 ||
        copy_keys("bob-wrench.atKeys", bob_keys) != 0 ||
        copy_keys("relay1.atKeys", relay_keys) != 0)
        return -1;
    if (np_atkeys_load(alice_keys, &ka, err, sizeof(err)) != 0 ||
        np_atkeys_load(bob_keys, &kb, err, sizeof(err)) != 0 ||
        np_atkeys_load(relay_keys, &kr, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (itest_free_port(&dir_port) != 0 || itest_free_port(&alice_port) != 0 ||
        itest_free_port(&bob_port) != 0 || itest_free_port(&relay_port) != 0)
        return -1;
    if (create_atsign(ALICE, alice_port, ALICE_CRAM) != 0 ||
        create_atsign(BOB, bob_port, BOB_CRAM) != 0 ||
        create_atsign(RELAY, relay_port, RELAY_CRAM) != 0)
        return -1;
    snprintf(dportstr, sizeof(dportstr), "%d", dir_port);
    snprintf(root, sizeof(root), "127.0.0.1:%d", dir_port);
    {
        const char *dargv[] = {prog("NP_ATDIRECTORY"),
                               "--bind",
                               "127.0.0.1",
                               "--port",
                               dportstr,
                               "--cert",
                               cert,
                               "--key",
                               key,
                               "--db",
                               dirdb,
                               "--notfound-delay",
                               "0",
                               NULL};
        if (itest_spawn(dargv, dir_log, &dir_pid) != 0 ||
            itest_wait_port("127.0.0.1", dir_port, dir_pid, 10000) != 0) {
            itest_dump_file("atdirectory log", dir_log);
            return -1;
        }
    }
    if (start_atserver() != 0)
        return -1;
    if (provision(ALICE, ALICE_CRAM, ka) != 0 || provision(BOB, BOB_CRAM, kb) != 0 ||
        provision(RELAY, RELAY_CRAM, kr) != 0) {
        itest_dump_file("atserver log", srv_log);
        return -1;
    }
    return start_daemon();
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(npd_pid, 5000, NULL);
    itest_stop(srv_pid, 5000, NULL);
    itest_stop(dir_pid, 5000, NULL);
    np_atkeys_free(ka);
    np_atkeys_free(kb);
    np_atkeys_free(kr);
    if (getenv("NP_KEEP_TMP") == NULL)
        itest_rmtree(dir);
    return 0;
}

static struct at_sync *open_as(const char *atsign, const struct np_atkeys *k)
{
    struct at_client_opts o;
    struct at_sync *s = NULL;
    char err[512];

    base_opts(&o, atsign, k);
    if (at_sync_open(&o, &s, err, sizeof(err)) != 0) {
        itest_dump_file("atserver log", srv_log);
        fail_msg("open %s: %s", atsign, err);
    }
    return s;
}

struct heard {
    struct at_sync *s;
    int n;
    char from[128];
    char value[4096];
};

static void on_heartbeat(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    struct heard *h = data;
    (void)m;

    if (!n->key || !strstr(n->key, "heartbeat.garage.sshnp"))
        return;
    h->n++;
    snprintf(h->from, sizeof(h->from), "%s", n->from ? n->from : "");
    snprintf(h->value, sizeof(h->value), "%s", n->value ? n->value : "");
    at_sync_stop(h->s);
}

/* Send a ping as `atsign` and listen for the heartbeat for at most ms. */
static int ping_as(const char *atsign, const struct np_atkeys *k, int ms, struct heard *h)
{
    struct at_client_notify no;
    struct at_monitor_opts mo;
    struct at_sync *s = open_as(atsign, k);
    int64_t since = np_wall_ms() - 1000;
    int r;

    memset(h, 0, sizeof(*h));
    h->s = s;
    memset(&no, 0, sizeof(no));
    no.to = BOB;
    no.key = "ping.garage.sshnp";
    no.value = "ping";
    no.ttln = 60000;
    if ((r = at_sync_notify(s, &no, NULL)) != 0) {
        fprintf(stderr, "notify as %s: %s\n", atsign, at_sync_error(s));
        at_sync_close(s);
        return r;
    }
    memset(&mo, 0, sizeof(mo));
    mo.regex = "heartbeat\\.garage\\.sshnp";
    mo.since_epoch_ms = since; /* the answer may come before the monitor starts */
    r = at_sync_monitor(s, &mo, on_heartbeat, h, ms);
    at_sync_close(s);
    return r;
}

static void test_ping_answered(void **state)
{
    struct heard h;
    (void)state;

    assert_int_equal(ping_as(ALICE, ka, 20000, &h), 0);
    if (h.n != 1) {
        itest_dump_file("sshnpd log", npd_log);
        fail_msg("no heartbeat");
    }
    assert_string_equal(h.from, BOB);
    assert_non_null(strstr(h.value, "\"devicename\":\"garage\""));
    assert_non_null(strstr(h.value, "\"twinKeys\":true"));
    assert_non_null(strstr(h.value, "\"allowedServices\":[\"localhost:22\",\"localhost:3389\"]"));
}

static void test_records_shared(void **state)
{
    struct at_sync *s = open_as(ALICE, ka);
    char *v = NULL;
    size_t n = 0;
    int r = -1;
    (void)state;

    /* written right after the daemon connected; allow for the round trip */
    for (int i = 0; i < 100 && r != 0; i++) {
        r = at_sync_get(s, "device_info.garage.sshnp" BOB, 0, &v, &n, NULL);
        if (r != 0)
            usleep(100 * 1000);
    }
    if (r != 0) {
        itest_dump_file("sshnpd log", npd_log);
        fail_msg("device_info not shared: %s", at_sync_error(s));
    }
    assert_non_null(strstr(v, "\"devicename\":\"garage\""));
    np_freezero(v, n + 1);
    v = NULL;
    assert_int_equal(at_sync_get(s, "username.garage.sshnp" BOB, 0, &v, &n, NULL), 0);
    assert_true(n > 0);
    np_freezero(v, n + 1);
    at_sync_close(s);
}

static void test_stranger_gets_nothing(void **state)
{
    struct heard h;
    (void)state;

    assert_int_equal(ping_as(RELAY, kr, 3000, &h), NP_ERR_TIMEOUT);
    assert_int_equal(h.n, 0);
}

/* The atServer goes away and comes back: the daemon reconnects both
 * connections by itself, re-shares its records and answers again. */
static void test_atserver_restart(void **state)
{
    struct heard h;
    (void)state;

    assert_int_equal(itest_stop(srv_pid, 5000, NULL), 0);
    srv_pid = -1;
    assert_true(log_has("monitor connection lost", 20000));
    assert_true(log_has("command connection lost", 20000));
    usleep(500 * 1000);
    assert_int_equal(start_atserver(), 0);
    if (!log_has_n("monitor connection available", 2, 60000) ||
        !log_has_n("command connection available", 2, 60000)) {
        itest_dump_file("sshnpd log", npd_log);
        fail_msg("the daemon did not reconnect");
    }
    assert_true(log_has_n("sharing records", 2, 1000));
    assert_int_equal(ping_as(ALICE, ka, 20000, &h), 0);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.from, BOB);
}

static void test_sigterm(void **state)
{
    int st = -1;
    (void)state;

    assert_int_equal(itest_stop(npd_pid, 5000, &st), 0);
    npd_pid = -1;
    assert_int_equal(st, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_answered),
        cmocka_unit_test(test_records_shared),
        cmocka_unit_test(test_stranger_gets_nothing),
        cmocka_unit_test(test_atserver_restart),
        cmocka_unit_test(test_sigterm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
