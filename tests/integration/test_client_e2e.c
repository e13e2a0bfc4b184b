/*
 * Integration test of the atProtocol client (lib/at client, monitor,
 * blocking wrapper) and of atc against our REAL atdirectory and atserver
 * on 127.0.0.1, with the official demo .atKeys of @alice🛠 and @bob🛠.
 *
 * Set-up (group): throw-away CA (mkca.sh); "atserver create" for both
 * atSigns with their demo cram secrets, registered in an atdirectory
 * database; atdirectory and "atserver run" started; then each atSign is
 * provisioned as the official VE does it (atprotocol.md 13): cram, then
 * update:privatekey:at_pkam_publickey and update:public:publickey@<atsign>.
 * Both atSigns live in one atserver process (in-process delivery).
 *
 * Every process started here is stopped by pid in the group teardown (and
 * gets SIGTERM through PR_SET_PDEATHSIG if this process dies).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "at/client.h"
#include "at/client_sync.h"
#include "at/monitor.h"
#include "crypto/atkeys.h"
#include "itest.h"
#include "net/tcp.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#define ALICE "@alice\xf0\x9f\x9b\xa0"
#define BOB   "@bob\xf0\x9f\x9b\xa0"
#define ALICE_CRAM                                                                                 \
    "b26455a907582760ebf35bc4847de549bc41c24b25c8b1c58d5964f7b4f8a43bc55b0e9a601c9a9657d9a8b8bbc3" \
    "2f88b4e38ffaca03c8710ebae1b14ca9f364"
#define BOB_CRAM                                                                                   \
    "33c2df30b79743ff880fc1c832a5c69170974dd736231b84ee360df89a0faff1f6efe0e83064144a7b4e5029334a" \
    "d1daedc49bf82c0be1f763f590c28e33ba0a"

static char dir[512], ca[600], cert[600], key[600], dirdb[600], data[600];
static char alice_keys[600], bob_keys[600], srv_log[600], dir_log[600], out_path[600];
static char root[64];
static int dir_port, alice_port, bob_port;
static pid_t dir_pid = -1, srv_pid = -1;
static struct np_atkeys *ka, *kb;

static const char *prog(const char *env, const char *name)
{
    const char *p = getenv(env);

    if (!p)
        fail_msg("%s not set (run through ctest)", env);
    (void)name;
    return p;
}

/* Copy a fixture .atKeys file to path with mode 0600. */
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

static int run_prog(const char *const argv[], int *status)
{
    return itest_run(argv, out_path, 20000, status);
}

static int create_atsign(const char *atsign, int port, const char *cram)
{
    char portstr[16];
    int st = -1;

    snprintf(portstr, sizeof(portstr), "%d", port);
    {
        const char *argv[] = {prog("NP_ATSERVER", "atserver"),
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
        if (run_prog(argv, &st) != 0 || st != 0) {
            itest_dump_file("atserver create", out_path);
            return -1;
        }
    }
    return 0;
}

static int start_atserver(void)
{
    const char *argv[] = {prog("NP_ATSERVER", "atserver"),
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
                          "-v",
                          NULL};

    if (itest_spawn(argv, srv_log, &srv_pid) != 0)
        return -1;
    if (itest_wait_port("127.0.0.1", alice_port, srv_pid, 15000) != 0 ||
        itest_wait_port("127.0.0.1", bob_port, srv_pid, 15000) != 0) {
        itest_dump_file("atserver log", srv_log);
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

/* The VE's provisioning: cram, PKAM public key, encryption public key. */
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

static int group_setup(void **state)
{
    char err[512];
    char *mk;
    const char *dargv[16];
    char dportstr[16];
    int n = 0;

    (void)state;
    np_log_set_level(NP_LOG_WARN);
    if (itest_tmpdir("clientit", dir, sizeof(dir)) != 0 || itest_mkca(dir) != 0)
        return -1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    snprintf(dirdb, sizeof(dirdb), "%s/directory.db", dir);
    snprintf(data, sizeof(data), "%s/atserver", dir);
    snprintf(alice_keys, sizeof(alice_keys), "%s/alice.atKeys", dir);
    snprintf(bob_keys, sizeof(bob_keys), "%s/bob.atKeys", dir);
    snprintf(srv_log, sizeof(srv_log), "%s/atserver.log", dir);
    snprintf(dir_log, sizeof(dir_log), "%s/atdirectory.log", dir);
    snprintf(out_path, sizeof(out_path), "%s/out.txt", dir);
    mk = data;
    if (mkdir(mk, 0700) != 0)
        return -1;
    if (copy_keys("alice-wrench.atKeys", alice_keys) != 0 ||
        copy_keys("bob-wrench.atKeys", bob_keys) != 0)
        return -1;
    if (np_atkeys_load(alice_keys, &ka, err, sizeof(err)) != 0 ||
        np_atkeys_load(bob_keys, &kb, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (itest_free_port(&dir_port) != 0 || itest_free_port(&alice_port) != 0 ||
        itest_free_port(&bob_port) != 0)
        return -1;
    if (create_atsign(ALICE, alice_port, ALICE_CRAM) != 0 ||
        create_atsign(BOB, bob_port, BOB_CRAM) != 0)
        return -1;
    snprintf(dportstr, sizeof(dportstr), "%d", dir_port);
    snprintf(root, sizeof(root), "127.0.0.1:%d", dir_port);
    dargv[n++] = prog("NP_ATDIRECTORY", "atdirectory");
    dargv[n++] = "--bind";
    dargv[n++] = "127.0.0.1";
    dargv[n++] = "--port";
    dargv[n++] = dportstr;
    dargv[n++] = "--cert";
    dargv[n++] = cert;
    dargv[n++] = "--key";
    dargv[n++] = key;
    dargv[n++] = "--db";
    dargv[n++] = dirdb;
    dargv[n++] = "--notfound-delay";
    dargv[n++] = "0";
    dargv[n] = NULL;
    if (itest_spawn(dargv, dir_log, &dir_pid) != 0 ||
        itest_wait_port("127.0.0.1", dir_port, dir_pid, 10000) != 0) {
        itest_dump_file("atdirectory log", dir_log);
        return -1;
    }
    if (start_atserver() != 0)
        return -1;
    if (provision(ALICE, ALICE_CRAM, ka) != 0 || provision(BOB, BOB_CRAM, kb) != 0) {
        itest_dump_file("atserver log", srv_log);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(srv_pid, 5000, NULL);
    itest_stop(dir_pid, 5000, NULL);
    np_atkeys_free(ka);
    np_atkeys_free(kb);
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

static void want_value(struct at_sync *s, const char *k, const char *want)
{
    char *v = NULL;
    size_t n = 0;
    int r = at_sync_get(s, k, 0, &v, &n, NULL);

    if (r != 0)
        fail_msg("get %s: %s (%s)", k, np_strerror(r), at_sync_error(s));
    assert_non_null(v);
    assert_string_equal(v, want);
    np_freezero(v, n + 1);
}

/* ------------------------------------------------------------------ */

static void test_auth(void **state)
{
    struct at_client_opts o;
    struct at_sync *s = NULL;
    char err[512];

    (void)state;
    s = open_as(ALICE, ka);
    at_sync_close(s);
    s = NULL;
    /* bob's keys do not log in as alice */
    base_opts(&o, ALICE, kb);
    assert_int_equal(at_sync_open(&o, &s, err, sizeof(err)), NP_ERR_AUTH);
    assert_null(s);
    assert_non_null(strstr(err, "pkam"));
    /* an atSign the directory does not know */
    base_opts(&o, "@nobody42", ka);
    assert_int_equal(at_sync_open(&o, &s, err, sizeof(err)), NP_ERR_NOTFOUND);
    assert_non_null(strstr(err, "not in the directory"));
}

static bool has_key(char **keys, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], k) == 0)
            return true;
    return false;
}

/* put/get/delete/scan for the public, self and shared forms. */
static void test_key_forms(void **state)
{
    struct at_sync *a = open_as(ALICE, ka), *b = open_as(BOB, kb);
    struct at_metadata md;
    char **keys = NULL;
    size_t n = 0;
    char *v = NULL;
    size_t vl = 0;

    (void)state;
    /* public */
    assert_int_equal(at_sync_put(a, "public:loc.demo", "London", NULL), 0);
    want_value(a, "public:loc.demo" ALICE, "London");
    want_value(b, "public:loc.demo" ALICE, "London");
    /* self, encrypted with the self-encryption key */
    assert_int_equal(at_sync_put(a, "phone.demo", "+44 1234 567", NULL), 0);
    want_value(a, "phone.demo" ALICE, "+44 1234 567");
    assert_int_equal(at_sync_get(a, "phone.demo", AT_GET_RAW, &v, &vl, &md), 0);
    assert_string_not_equal(v, "+44 1234 567"); /* stored as ciphertext */
    assert_true(at_metadata_has(&md, AT_MD_IV_NONCE));
    at_metadata_clear(&md);
    np_free(v);
    /* shared alice -> bob: bob reads it through his own server */
    assert_int_equal(at_sync_put(a, "@bob\xf0\x9f\x9b\xa0:msg.demo", "hello bob", NULL), 0);
    want_value(a, BOB ":msg.demo" ALICE, "hello bob");
    want_value(b, "msg.demo" ALICE, "hello bob");
    /* metadata travels; a ttr lets bob's server cache the value, which bob
     * then reads from his own store (cached:@bob:...@alice) */
    at_metadata_init(&md);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTR, 3600), 0);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTL, 600000), 0);
    assert_int_equal(at_sync_put(a, BOB ":cmsg.demo", "cache me", &md), 0);
    at_metadata_clear(&md);
    assert_int_equal(at_sync_get(b, "cmsg.demo" ALICE, 0, &v, &vl, &md), 0);
    assert_string_equal(v, "cache me");
    assert_true(at_metadata_has(&md, AT_MD_TTL));
    assert_int_equal(md.ttl, 600000);
    at_metadata_clear(&md);
    np_freezero(v, vl + 1);
    want_value(b, "cached:" BOB ":cmsg.demo" ALICE, "cache me");
    /* scan lists them */
    assert_int_equal(at_sync_scan(a, "\\.demo", false, &keys, &n), 0);
    assert_true(has_key(keys, n, "public:loc.demo" ALICE));
    assert_true(has_key(keys, n, "phone.demo" ALICE));
    assert_true(has_key(keys, n, BOB ":msg.demo" ALICE));
    at_sync_free_keys(keys, n);
    /* delete */
    assert_int_equal(at_sync_delete(a, "phone.demo"), 0);
    assert_int_equal(at_sync_get(a, "phone.demo", 0, &v, &vl, NULL), NP_ERR_NOTFOUND);
    assert_int_equal(at_sync_at_code(a), 15);
    assert_int_equal(at_sync_scan(a, "phone\\.demo", false, &keys, &n), 0);
    assert_false(has_key(keys, n, "phone.demo" ALICE));
    at_sync_free_keys(keys, n);
    at_sync_close(a);
    at_sync_close(b);
}

/* ---- monitor ---- */

struct mon {
    int n;
    char ids[16][64];
    char values[16][128];
    int errs[16];
    bool got;
    int want;
};

static void on_note(struct at_monitor *m, const struct at_monitor_notification *x, void *data)
{
    struct mon *g = data;

    (void)m;
    if (!strstr(x->key, ".itest"))
        return; /* auto-notifications of shared-key writes etc. */
    if (g->n < 16) {
        snprintf(g->ids[g->n], sizeof(g->ids[0]), "%s", x->id);
        snprintf(g->values[g->n], sizeof(g->values[0]), "%.*s", (int)x->value_len,
                 x->value ? x->value : "");
        g->errs[g->n] = x->decrypt_err;
    }
    g->n++;
    if (g->n >= g->want)
        g->got = true;
}

static void flag_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

static bool run_until(struct event_base *base, const bool *flag, int ms)
{
    bool expired = false;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    struct event *t = evtimer_new(base, flag_cb, &expired);

    evtimer_add(t, &tv);
    while (!*flag && !expired)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
    return *flag;
}

static void notify(const char *value, char **id)
{
    struct at_sync *a = open_as(ALICE, ka);
    struct at_client_notify nt;

    memset(&nt, 0, sizeof(nt));
    nt.to = BOB;
    nt.key = "ping.itest";
    nt.value = value;
    nt.ttl = 10000;
    nt.ttln = 60000;
    if (at_sync_notify(a, &nt, id) != 0)
        fail_msg("notify: %s", at_sync_error(a));
    at_sync_close(a);
}

/* An encrypted notification from alice reaches bob's monitor, decrypted;
 * then the atserver restarts and the monitor, reconnecting, delivers what
 * was sent meanwhile, each notification exactly once. */
static void test_notify_monitor_restart(void **state)
{
    struct event_base *base = event_base_new();
    struct at_client_opts o;
    struct at_monitor_opts mo;
    struct at_client *c = NULL;
    struct at_monitor *m = NULL;
    struct mon g = {0};
    bool live = false;
    char *id1 = NULL, *id2 = NULL, *id3 = NULL;

    (void)state;
    base_opts(&o, BOB, kb);
    o.persistent = true;
    o.backoff_initial_ms = 100;
    o.backoff_max_ms = 500;
    assert_int_equal(at_client_new(base, &o, &c), 0);
    memset(&mo, 0, sizeof(mo));
    mo.regex = "\\.itest";
    mo.since_epoch_ms = -1;
    mo.keepalive_ms = 1000;
    assert_int_equal(at_monitor_start(c, &mo, on_note, NULL, &g, &m), 0);
    /* wait until the monitor command is out */
    for (int i = 0; i < 100 && !at_monitor_is_live(m); i++)
        run_until(base, &live, 50);
    assert_true(at_monitor_is_live(m));
    notify("first message", &id1);
    g.want = 1;
    if (!run_until(base, &g.got, 10000))
        itest_dump_file("atserver log", srv_log);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], id1);
    assert_string_equal(g.values[0], "first message");
    assert_int_equal(g.errs[0], 0);
    /* restart the server; a notification is sent while bob is away */
    assert_int_equal(itest_stop(srv_pid, 5000, NULL), 0);
    srv_pid = -1;
    run_until(base, &live, 300); /* bob notices the drop */
    assert_false(at_monitor_is_live(m));
    assert_int_equal(start_atserver(), 0);
    notify("while away", &id2);
    notify("after restart", &id3);
    g.want = 3;
    g.got = false;
    if (!run_until(base, &g.got, 20000))
        itest_dump_file("atserver log", srv_log);
    run_until(base, &live, 1500); /* anything duplicated would show up now */
    assert_int_equal(g.n, 3);
    assert_string_equal(g.ids[1], id2);
    assert_string_equal(g.values[1], "while away");
    assert_string_equal(g.ids[2], id3);
    assert_string_equal(g.values[2], "after restart");
    at_monitor_free(m);
    at_client_free(c);
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_free(base);
    np_free(id1);
    np_free(id2);
    np_free(id3);
}

/* ---- atc ---- */

static int atc(const char *as, const char *keys, const char *a1, const char *a2, const char *a3,
               const char *a4, const char *a5)
{
    const char *argv[24];
    int n = 0, st = -1;

    argv[n++] = prog("NP_ATC", "atc");
    argv[n++] = "-a";
    argv[n++] = as;
    argv[n++] = "-k";
    argv[n++] = keys;
    argv[n++] = "--root-domain";
    argv[n++] = root;
    argv[n++] = "--ca-file";
    argv[n++] = ca;
    argv[n++] = "--timeout";
    argv[n++] = "8000";
    if (a1)
        argv[n++] = a1;
    if (a2)
        argv[n++] = a2;
    if (a3)
        argv[n++] = a3;
    if (a4)
        argv[n++] = a4;
    if (a5)
        argv[n++] = a5;
    argv[n] = NULL;
    assert_int_equal(itest_run(argv, out_path, 30000, &st), 0);
    return st;
}

static char *out_text(void)
{
    char *t = itest_read_file(out_path, 1 << 20);

    assert_non_null(t);
    return t;
}

static void test_atc_commands(void **state)
{
    char *t;

    (void)state;
    assert_int_equal(atc(ALICE, alice_keys, "put", "city.atc", "Paris", NULL, NULL), 0);
    assert_int_equal(atc(ALICE, alice_keys, "get", "city.atc", NULL, NULL, NULL), 0);
    t = out_text();
    assert_string_equal(t, "Paris\n");
    free(t);
    assert_int_equal(
        atc(ALICE, alice_keys, "put", "note.atc", "for bob only", "--shared-with", BOB), 0);
    assert_int_equal(atc(BOB, bob_keys, "lookup", ALICE ":note.atc", NULL, NULL, NULL), 0);
    t = out_text();
    assert_string_equal(t, "for bob only\n");
    free(t);
    assert_int_equal(atc(BOB, bob_keys, "lookup", "note.atc" ALICE, NULL, NULL, NULL), 0);
    t = out_text();
    assert_string_equal(t, "for bob only\n");
    free(t);
    assert_int_equal(atc(ALICE, alice_keys, "put", "pub.atc", "open", "--public", NULL), 0);
    assert_int_equal(atc(BOB, bob_keys, "lookup", "public:pub.atc" ALICE, NULL, NULL, NULL), 0);
    t = out_text();
    assert_string_equal(t, "open\n");
    free(t);
    assert_int_equal(atc(ALICE, alice_keys, "scan", "\\.atc", NULL, NULL, NULL), 0);
    t = out_text();
    assert_non_null(strstr(t, "city.atc" ALICE "\n"));
    assert_non_null(strstr(t, "public:pub.atc" ALICE "\n"));
    free(t);
    assert_int_equal(atc(ALICE, alice_keys, "delete", "city.atc", NULL, NULL, NULL), 0);
    /* exit codes */
    assert_int_equal(atc(ALICE, alice_keys, "get", "city.atc", NULL, NULL, NULL), 5);
    t = out_text();
    assert_non_null(strstr(t, "AT0015"));
    free(t);
    assert_int_equal(atc("@nobody42", alice_keys, "get", "x", NULL, NULL, NULL), 3);
    assert_int_equal(atc(ALICE, bob_keys, "get", "x", NULL, NULL, NULL), 4);
    assert_int_equal(atc(ALICE, alice_keys, "frobnicate", NULL, NULL, NULL, NULL), 2);
    assert_int_equal(atc(ALICE, alice_keys, "get", NULL, NULL, NULL, NULL), 2);
    assert_int_equal(atc(ALICE, "/nonexistent/x.atKeys", "get", "x", NULL, NULL, NULL), 8);
    assert_int_equal(atc(ALICE, alice_keys, "put", "bad key", "v", NULL, NULL), 2);
}

/* A server that accepts TCP but never speaks: atc gives up at --timeout. */
static void test_atc_timeout(void **state)
{
    const char *argv[20];
    char server[64];
    int fd = -1, port = 0, st = -1, n = 0;
    int64_t t0;

    (void)state;
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 8, &fd), 0);
    assert_int_equal(net_tcp_local_port(fd, &port), 0);
    snprintf(server, sizeof(server), "127.0.0.1:%d", port);
    argv[n++] = prog("NP_ATC", "atc");
    argv[n++] = "-a";
    argv[n++] = ALICE;
    argv[n++] = "-k";
    argv[n++] = alice_keys;
    argv[n++] = "--server";
    argv[n++] = server;
    argv[n++] = "--ca-file";
    argv[n++] = ca;
    argv[n++] = "--timeout";
    argv[n++] = "700";
    argv[n++] = "get";
    argv[n++] = "x";
    argv[n] = NULL;
    t0 = np_mono_ms();
    assert_int_equal(itest_run(argv, out_path, 20000, &st), 0);
    close(fd);
    assert_int_equal(st, 6);
    assert_true(np_mono_ms() - t0 < 10000);
}

/* atc notify / atc monitor --count between two processes. */
static void test_atc_notify_monitor(void **state)
{
    const char *argv[24];
    char since[32];
    char mon_out[700];
    pid_t pid = -1;
    int st = -1, n = 0;
    char *t;

    (void)state;
    snprintf(since, sizeof(since), "%" PRId64, np_wall_ms() - 1000);
    snprintf(mon_out, sizeof(mon_out), "%s/monitor.out", dir);
    argv[n++] = prog("NP_ATC", "atc");
    argv[n++] = "-a";
    argv[n++] = BOB;
    argv[n++] = "-k";
    argv[n++] = bob_keys;
    argv[n++] = "--root-domain";
    argv[n++] = root;
    argv[n++] = "--ca-file";
    argv[n++] = ca;
    argv[n++] = "--timeout";
    argv[n++] = "20000";
    argv[n++] = "monitor";
    argv[n++] = "hello\\.atcmon";
    argv[n++] = "--count";
    argv[n++] = "1";
    argv[n++] = "--since";
    argv[n++] = since;
    argv[n] = NULL;
    assert_int_equal(itest_spawn(argv, mon_out, &pid), 0);
    assert_int_equal(atc(ALICE, alice_keys, "notify", BOB, "hello.atcmon", "knock knock", "--ttln"),
                     2); /* --ttln without its value: usage */
    assert_int_equal(atc(ALICE, alice_keys, "notify", BOB, "hello.atcmon", "knock knock", NULL), 0);
    /* the monitor exits by itself after one notification */
    for (int i = 0; i < 400; i++) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            pid = -1;
            break;
        }
        {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (pid > 0) {
        itest_stop(pid, 2000, NULL);
        itest_dump_file("atc monitor output", mon_out);
        fail_msg("atc monitor did not finish");
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        itest_dump_file("atc monitor output", mon_out);
        fail_msg("atc monitor: status 0x%x", st);
    }
    t = itest_read_file(mon_out, 1 << 20);
    assert_non_null(t);
    assert_non_null(strstr(t, "\"value\":\"knock knock\""));
    assert_non_null(strstr(t, "\"from\":\"" ALICE "\""));
    assert_non_null(strstr(t, "\"key\":\"" BOB ":hello.atcmon" ALICE "\""));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth),         cmocka_unit_test(test_key_forms),
        cmocka_unit_test(test_atc_commands), cmocka_unit_test(test_atc_notify_monitor),
        cmocka_unit_test(test_atc_timeout),  cmocka_unit_test(test_notify_monitor_restart),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
