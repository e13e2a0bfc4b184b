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

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static struct itest_at env;
static struct itest_demo demo;

static const char *prog(const char *env_name, const char *name)
{
    const char *p = getenv(env_name);

    if (!p)
        fail_msg("%s not set (run through ctest)", env_name);
    (void)name;
    return p;
}

static int group_setup(void **state)
{
    (void)state;
    np_log_set_level(NP_LOG_WARN);
    if (itest_at_setup(&env, "clientit") != 0)
        return -1;
    env.srv_verbose = 1;
    if (itest_at_demo(&env, 0, &demo) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    itest_demo_free(&demo);
    itest_at_teardown(&env);
    return 0;
}

static struct at_sync *open_as(const char *atsign, const struct np_atkeys *k)
{
    struct at_client_opts o;
    struct at_sync *s = NULL;
    char err[512];

    itest_at_opts(&env, &o, atsign, k, 8000);
    if (at_sync_open(&o, &s, err, sizeof(err)) != 0) {
        itest_dump_file("atserver log", env.srv_log);
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
    s = open_as(ITEST_ALICE, demo.ka);
    at_sync_close(s);
    s = NULL;
    /* bob's keys do not log in as alice */
    itest_at_opts(&env, &o, ITEST_ALICE, demo.kb, 8000);
    assert_int_equal(at_sync_open(&o, &s, err, sizeof(err)), NP_ERR_AUTH);
    assert_null(s);
    assert_non_null(strstr(err, "pkam"));
    /* an atSign the directory does not know */
    itest_at_opts(&env, &o, "@nobody42", demo.ka, 8000);
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
    struct at_sync *a = open_as(ITEST_ALICE, demo.ka), *b = open_as(ITEST_BOB, demo.kb);
    struct at_metadata md;
    char **keys = NULL;
    size_t n = 0;
    char *v = NULL;
    size_t vl = 0;

    (void)state;
    /* public */
    assert_int_equal(at_sync_put(a, "public:loc.demo", "London", NULL), 0);
    want_value(a, "public:loc.demo" ITEST_ALICE, "London");
    want_value(b, "public:loc.demo" ITEST_ALICE, "London");
    /* self, encrypted with the self-encryption key */
    assert_int_equal(at_sync_put(a, "phone.demo", "+44 1234 567", NULL), 0);
    want_value(a, "phone.demo" ITEST_ALICE, "+44 1234 567");
    assert_int_equal(at_sync_get(a, "phone.demo", AT_GET_RAW, &v, &vl, &md), 0);
    assert_string_not_equal(v, "+44 1234 567"); /* stored as ciphertext */
    assert_true(at_metadata_has(&md, AT_MD_IV_NONCE));
    at_metadata_clear(&md);
    np_free(v);
    /* shared alice -> bob: bob reads it through his own server */
    assert_int_equal(at_sync_put(a, "@bob\xf0\x9f\x9b\xa0:msg.demo", "hello bob", NULL), 0);
    want_value(a, ITEST_BOB ":msg.demo" ITEST_ALICE, "hello bob");
    want_value(b, "msg.demo" ITEST_ALICE, "hello bob");
    /* metadata travels; a ttr lets bob's server cache the value, which bob
     * then reads from his own store (cached:@bob:...@alice) */
    at_metadata_init(&md);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTR, 3600), 0);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTL, 600000), 0);
    assert_int_equal(at_sync_put(a, ITEST_BOB ":cmsg.demo", "cache me", &md), 0);
    at_metadata_clear(&md);
    assert_int_equal(at_sync_get(b, "cmsg.demo" ITEST_ALICE, 0, &v, &vl, &md), 0);
    assert_string_equal(v, "cache me");
    assert_true(at_metadata_has(&md, AT_MD_TTL));
    assert_int_equal(md.ttl, 600000);
    at_metadata_clear(&md);
    np_freezero(v, vl + 1);
    want_value(b, "cached:" ITEST_BOB ":cmsg.demo" ITEST_ALICE, "cache me");
    /* scan lists them */
    assert_int_equal(at_sync_scan(a, "\\.demo", false, &keys, &n), 0);
    assert_true(has_key(keys, n, "public:loc.demo" ITEST_ALICE));
    assert_true(has_key(keys, n, "phone.demo" ITEST_ALICE));
    assert_true(has_key(keys, n, ITEST_BOB ":msg.demo" ITEST_ALICE));
    at_sync_free_keys(keys, n);
    /* delete */
    assert_int_equal(at_sync_delete(a, "phone.demo"), 0);
    assert_int_equal(at_sync_get(a, "phone.demo", 0, &v, &vl, NULL), NP_ERR_NOTFOUND);
    assert_int_equal(at_sync_at_code(a), 15);
    assert_int_equal(at_sync_scan(a, "phone\\.demo", false, &keys, &n), 0);
    assert_false(has_key(keys, n, "phone.demo" ITEST_ALICE));
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
    struct at_sync *a = open_as(ITEST_ALICE, demo.ka);
    struct at_client_notify nt;

    memset(&nt, 0, sizeof(nt));
    nt.to = ITEST_BOB;
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
    itest_at_opts(&env, &o, ITEST_BOB, demo.kb, 8000);
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
        itest_dump_file("atserver log", env.srv_log);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], id1);
    assert_string_equal(g.values[0], "first message");
    assert_int_equal(g.errs[0], 0);
    /* restart the server; a notification is sent while bob is away */
    assert_int_equal(itest_stop(env.srv_pid, 5000, NULL), 0);
    env.srv_pid = -1;
    run_until(base, &live, 300); /* bob notices the drop */
    assert_false(at_monitor_is_live(m));
    assert_int_equal(itest_at_start_server(&env), 0);
    notify("while away", &id2);
    notify("after restart", &id3);
    g.want = 3;
    g.got = false;
    if (!run_until(base, &g.got, 20000))
        itest_dump_file("atserver log", env.srv_log);
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
    argv[n++] = env.root;
    argv[n++] = "--ca-file";
    argv[n++] = env.ca;
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
    assert_int_equal(itest_run(argv, env.out, 30000, &st), 0);
    return st;
}

static char *out_text(void)
{
    char *t = itest_read_file(env.out, 1 << 20);

    assert_non_null(t);
    return t;
}

static void test_atc_commands(void **state)
{
    char *t;

    (void)state;
    assert_int_equal(atc(ITEST_ALICE, demo.alice, "put", "city.atc", "Paris", NULL, NULL), 0);
    assert_int_equal(atc(ITEST_ALICE, demo.alice, "get", "city.atc", NULL, NULL, NULL), 0);
    t = out_text();
    assert_string_equal(t, "Paris\n");
    free(t);
    assert_int_equal(
        atc(ITEST_ALICE, demo.alice, "put", "note.atc", "for bob only", "--shared-with", ITEST_BOB),
        0);
    assert_int_equal(atc(ITEST_BOB, demo.bob, "lookup", ITEST_ALICE ":note.atc", NULL, NULL, NULL),
                     0);
    t = out_text();
    assert_string_equal(t, "for bob only\n");
    free(t);
    assert_int_equal(atc(ITEST_BOB, demo.bob, "lookup", "note.atc" ITEST_ALICE, NULL, NULL, NULL),
                     0);
    t = out_text();
    assert_string_equal(t, "for bob only\n");
    free(t);
    assert_int_equal(atc(ITEST_ALICE, demo.alice, "put", "pub.atc", "open", "--public", NULL), 0);
    assert_int_equal(
        atc(ITEST_BOB, demo.bob, "lookup", "public:pub.atc" ITEST_ALICE, NULL, NULL, NULL), 0);
    t = out_text();
    assert_string_equal(t, "open\n");
    free(t);
    assert_int_equal(atc(ITEST_ALICE, demo.alice, "scan", "\\.atc", NULL, NULL, NULL), 0);
    t = out_text();
    assert_non_null(strstr(t, "city.atc" ITEST_ALICE "\n"));
    assert_non_null(strstr(t, "public:pub.atc" ITEST_ALICE "\n"));
    free(t);
    assert_int_equal(atc(ITEST_ALICE, demo.alice, "delete", "city.atc", NULL, NULL, NULL), 0);
    /* exit codes */
    assert_int_equal(atc(ITEST_ALICE, demo.alice, "get", "city.atc", NULL, NULL, NULL), 5);
    t = out_text();
    assert_non_null(strstr(t, "AT0015"));
    free(t);
    assert_int_equal(atc("@nobody42", demo.alice, "get", "x", NULL, NULL, NULL), 3);
    assert_int_equal(atc(ITEST_ALICE, demo.bob, "get", "x", NULL, NULL, NULL), 4);
    assert_int_equal(atc(ITEST_ALICE, demo.alice, "frobnicate", NULL, NULL, NULL, NULL), 2);
    assert_int_equal(atc(ITEST_ALICE, demo.alice, "get", NULL, NULL, NULL, NULL), 2);
    assert_int_equal(atc(ITEST_ALICE, "/nonexistent/x.atKeys", "get", "x", NULL, NULL, NULL), 8);
    assert_int_equal(atc(ITEST_ALICE, demo.alice, "put", "bad key", "v", NULL, NULL), 2);
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
    argv[n++] = ITEST_ALICE;
    argv[n++] = "-k";
    argv[n++] = demo.alice;
    argv[n++] = "--server";
    argv[n++] = server;
    argv[n++] = "--ca-file";
    argv[n++] = env.ca;
    argv[n++] = "--timeout";
    argv[n++] = "700";
    argv[n++] = "get";
    argv[n++] = "x";
    argv[n] = NULL;
    t0 = np_mono_ms();
    assert_int_equal(itest_run(argv, env.out, 20000, &st), 0);
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
    snprintf(mon_out, sizeof(mon_out), "%s/monitor.out", env.dir);
    argv[n++] = prog("NP_ATC", "atc");
    argv[n++] = "-a";
    argv[n++] = ITEST_BOB;
    argv[n++] = "-k";
    argv[n++] = demo.bob;
    argv[n++] = "--root-domain";
    argv[n++] = env.root;
    argv[n++] = "--ca-file";
    argv[n++] = env.ca;
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
    assert_int_equal(
        atc(ITEST_ALICE, demo.alice, "notify", ITEST_BOB, "hello.atcmon", "knock knock", "--ttln"),
        2); /* --ttln without its value: usage */
    assert_int_equal(
        atc(ITEST_ALICE, demo.alice, "notify", ITEST_BOB, "hello.atcmon", "knock knock", NULL), 0);
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
    assert_non_null(strstr(t, "\"from\":\"" ITEST_ALICE "\""));
    assert_non_null(strstr(t, "\"key\":\"" ITEST_BOB ":hello.atcmon" ITEST_ALICE "\""));
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
