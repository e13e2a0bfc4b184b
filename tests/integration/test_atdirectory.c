/*
 * Integration test of the real atdirectory binary on 127.0.0.1: admin
 * subcommands on a temporary database, then a TLS server (certificates
 * from lib/mkca.sh) queried with the blocking client; answers are compared
 * byte for byte with atprotocol.md 2.5 ("host:port\r\n@", "null\r\n@").
 * Every server started here is stopped by pid (also when a test fails:
 * group teardown, and PR_SET_PDEATHSIG if this process dies).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "net/bclient.h"
#include "net/tcp.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#define T_MS     3000 /* per-call timeout for steps expected to succeed */
#define NF_DELAY 200  /* --notfound-delay used by the main server */

static const char *prog;
static char dir[512], ca[600], cert[600], key[600], db[600], log_path[600], out_path[600];
static pid_t srv_pid = -1; /* the main server */
static pid_t max_pid = -1; /* test_max_conns's server */
static int srv_port;

/* Run atdirectory with the given arguments (NULL-terminated) plus
 * "--db <db>"; returns the exit status. Output goes to out_path. */
static int admin(const char *a1, ...)
{
    const char *argv[16];
    int n = 0, st = -1;
    va_list ap;

    argv[n++] = prog;
    va_start(ap, a1);
    for (const char *a = a1; a && n < 12; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n++] = "--db";
    argv[n++] = db;
    argv[n] = NULL;
    assert_int_equal(itest_run(argv, out_path, 10000, &st), 0);
    return st;
}

/* Start a server on a free port with extra arguments; waits until ready. */
static pid_t start_server(const char *logfile, int *port, const char *x1, const char *x2)
{
    char portstr[16];
    const char *argv[32];
    pid_t pid = -1;
    int n = 0;

    assert_int_equal(itest_free_port(port), 0);
    snprintf(portstr, sizeof(portstr), "%d", *port);
    argv[n++] = prog;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--port";
    argv[n++] = portstr;
    argv[n++] = "--cert";
    argv[n++] = cert;
    argv[n++] = "--key";
    argv[n++] = key;
    argv[n++] = "--db";
    argv[n++] = db;
    argv[n++] = "--notfound-delay";
    argv[n++] = "200";
    argv[n++] = "--idle-timeout";
    argv[n++] = "1";
    argv[n++] = "-v";
    if (x1)
        argv[n++] = x1;
    if (x2)
        argv[n++] = x2;
    argv[n] = NULL;
    assert_int_equal(itest_spawn(argv, logfile, &pid), 0);
    if (itest_wait_port("127.0.0.1", *port, pid, 10000) != 0) {
        itest_dump_file("atdirectory log", logfile);
        itest_stop(pid, 2000, NULL);
        fail_msg("atdirectory did not start");
    }
    return pid;
}

/* The prompt comes right after the handshake, alone in its record. */
static void expect_bytes_prompt(struct net_bclient *c)
{
    char b[4];
    size_t n = 0;

    assert_int_equal(net_bclient_read_some(c, b, sizeof(b), &n, T_MS), 0);
    assert_int_equal(n, 1);
    assert_int_equal(b[0], '@');
}

static struct net_bclient *dconnect(int port)
{
    struct net_bclient *c = NULL;

    assert_int_equal(net_bclient_connect("127.0.0.1", port, ca, "localhost", T_MS, &c), 0);
    expect_bytes_prompt(c);
    return c;
}

/* Send raw bytes, then read exactly through the next '@' and compare. */
static void ask_raw(struct net_bclient *c, const char *raw, const char *want)
{
    char buf[512];
    size_t n = 0;

    assert_int_equal(net_bclient_write(c, raw, strlen(raw), T_MS), 0);
    assert_int_equal(net_bclient_read_until(c, '@', buf, sizeof(buf), &n, T_MS), 0);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, want);
}

static void ask(struct net_bclient *c, const char *line, const char *want)
{
    char raw[512];

    snprintf(raw, sizeof(raw), "%s\n", line);
    ask_raw(c, raw, want);
}

/* The server closed: EOF with no bytes before it. */
static void expect_eof(struct net_bclient *c, int timeout_ms)
{
    char buf[64];
    size_t n = 0;

    assert_int_equal(net_bclient_read_some(c, buf, sizeof(buf), &n, timeout_ms), NP_ERR_EOF);
}

/* ------------------------------------------------------------------ */

static void test_admin_list(void **state)
{
    char *out;

    (void)state;
    assert_int_equal(admin("list", NULL), 0);
    out = itest_read_file(out_path, 4096);
    assert_non_null(out);
    /* sorted by name; stored without '@', lower-case */
    assert_string_equal(out, "@alice 127.0.0.1:25000\n"
                             "@alice\xf0\x9f\x9b\xa0 vip.ve.atsign.zone:25000\n"
                             "@bob [::1]:25003\n");
    free(out);
}

static void test_admin_rejects(void **state)
{
    char a55[64], a56[64];

    (void)state;
    memset(a55, 'a', 55);
    a55[55] = '\0';
    memset(a56, 'b', 56);
    a56[56] = '\0';
    assert_int_equal(admin("set", "@al ice", "h:1", NULL), 2);
    assert_int_equal(admin("set", "@a:b", "h:1", NULL), 2);
    assert_int_equal(admin("set", "@a@b", "h:1", NULL), 2);
    assert_int_equal(admin("set", "@", "h:1", NULL), 2);
    assert_int_equal(admin("set", "", "h:1", NULL), 2);
    assert_int_equal(admin("set", "@\xff\xfe", "h:1", NULL), 2);
    assert_int_equal(admin("set", a56, "h:1", NULL), 2);
    assert_int_equal(admin("set", "carol", "host", NULL), 2);
    assert_int_equal(admin("set", "carol", "host:0", NULL), 2);
    assert_int_equal(admin("set", "carol", "host:65536", NULL), 2);
    assert_int_equal(admin("set", "carol", ":64", NULL), 2);
    assert_int_equal(admin("set", "carol", "a b:64", NULL), 2);
    assert_int_equal(admin("set", "carol", NULL), 2);
    assert_int_equal(admin("frobnicate", NULL), 2);
    assert_int_equal(admin("remove", "@nobody", NULL), 1);
    /* 55 characters is the maximum that works */
    assert_int_equal(admin("set", a55, "h:1", NULL), 0);
    assert_int_equal(admin("remove", a55, NULL), 0);
    assert_int_equal(admin("remove", a55, NULL), 1);
}

static void test_lookup_forms(void **state)
{
    struct net_bclient *c = dconnect(srv_port);

    (void)state;
    ask(c, "alice", "127.0.0.1:25000\r\n@");
    ask(c, "@alice", "127.0.0.1:25000\r\n@");
    ask(c, "ALICE", "127.0.0.1:25000\r\n@");
    ask_raw(c, "  @Alice \r\n", "127.0.0.1:25000\r\n@");
    ask(c, "alice\xf0\x9f\x9b\xa0", "vip.ve.atsign.zone:25000\r\n@");
    ask(c, "@ALICE\xf0\x9f\x9b\xa0", "vip.ve.atsign.zone:25000\r\n@");
    ask(c, "@bob", "[::1]:25003\r\n@");
    net_bclient_close(c);
}

static void test_unknown_and_empty(void **state)
{
    struct net_bclient *c = dconnect(srv_port);
    int64_t t0 = np_mono_ms();

    (void)state;
    ask(c, "", "null\r\n@");
    ask_raw(c, "\r\n", "null\r\n@"); /* at_c's "press enter" */
    ask(c, "   ", "null\r\n@");
    ask(c, "@nobody", "null\r\n@"); /* the first not-found is immediate */
    ask(c, "bob", "[::1]:25003\r\n@");
    /* blank lines are not counted: nothing above was delayed */
    assert_true(np_mono_ms() - t0 < NF_DELAY - 20);
    net_bclient_close(c);
}

static void test_notfound_rationing(void **state)
{
    struct net_bclient *c = dconnect(srv_port);
    int64_t t0, dt;

    (void)state;
    t0 = np_mono_ms();
    ask(c, "nobody1", "null\r\n@");
    assert_true(np_mono_ms() - t0 < NF_DELAY - 20);
    t0 = np_mono_ms();
    ask(c, "not:an:atsign", "null\r\n@"); /* invalid names count too */
    dt = np_mono_ms() - t0;
    assert_in_range(dt, NF_DELAY - 10, NF_DELAY + 2000);
    t0 = np_mono_ms();
    assert_int_equal(net_bclient_send_line(c, "nobody3", T_MS), 0);
    expect_eof(c, T_MS); /* the third closes, after the delay, unanswered */
    dt = np_mono_ms() - t0;
    assert_in_range(dt, NF_DELAY - 10, NF_DELAY + 2000);
    net_bclient_close(c);
}

static void test_exit(void **state)
{
    struct net_bclient *c = dconnect(srv_port);

    (void)state;
    ask(c, "alice", "127.0.0.1:25000\r\n@");
    assert_int_equal(net_bclient_send_line(c, "@exit", T_MS), 0);
    expect_eof(c, T_MS);
    net_bclient_close(c);
    c = dconnect(srv_port);
    assert_int_equal(net_bclient_send_line(c, " @EXIT", T_MS), 0);
    expect_eof(c, T_MS);
    net_bclient_close(c);
}

static void test_long_line(void **state)
{
    struct net_bclient *c = dconnect(srv_port);
    char line[400];

    (void)state;
    /* 255 bytes is the most a line may hold: answered (not an atSign) */
    memset(line, 'a', 255);
    line[255] = '\0';
    ask(c, line, "null\r\n@");
    /* 256 bytes: closed without an answer */
    memset(line, 'a', 256);
    line[256] = '\0';
    assert_int_equal(net_bclient_send_line(c, line, T_MS), 0);
    expect_eof(c, T_MS);
    net_bclient_close(c);
    /* the same without a newline at all */
    c = dconnect(srv_port);
    memset(line, 'b', 300);
    assert_int_equal(net_bclient_write(c, line, 300, T_MS), 0);
    expect_eof(c, T_MS);
    net_bclient_close(c);
}

static void test_pipelined(void **state)
{
    struct net_bclient *c = dconnect(srv_port);
    char buf[256];
    size_t n = 0, have = 0;
    static const char want[] = "127.0.0.1:25000\r\n@[::1]:25003\r\n@null\r\n@";

    (void)state;
    assert_int_equal(net_bclient_write(c, "alice\nbob\n\n", 11, T_MS), 0);
    while (have < sizeof(want) - 1) {
        assert_int_equal(net_bclient_read_some(c, buf + have, sizeof(buf) - 1 - have, &n, T_MS), 0);
        have += n;
    }
    buf[have] = '\0';
    assert_string_equal(buf, want);
    net_bclient_close(c);
}

static void test_live_update(void **state)
{
    struct net_bclient *c = dconnect(srv_port);

    (void)state;
    ask(c, "carol", "null\r\n@");
    assert_int_equal(admin("set", "@Carol", "carol.example:6464", NULL), 0);
    ask(c, "carol", "carol.example:6464\r\n@");
    assert_int_equal(admin("remove", "CAROL", NULL), 0);
    net_bclient_close(c);
    c = dconnect(srv_port); /* fresh connection: no not-found rationing */
    ask(c, "carol", "null\r\n@");
    net_bclient_close(c);
}

static void test_idle_timeout(void **state)
{
    struct net_bclient *c = dconnect(srv_port);
    int64_t t0 = np_mono_ms(), dt;

    (void)state;
    expect_eof(c, 5000); /* --idle-timeout 1 */
    dt = np_mono_ms() - t0;
    assert_in_range(dt, 800, 4000);
    net_bclient_close(c);
}

static void test_wrong_name_rejected(void **state)
{
    struct net_bclient *c = NULL;

    (void)state;
    assert_int_equal(net_bclient_connect("127.0.0.1", srv_port, ca, "root.atsign.org", T_MS, &c),
                     NP_ERR_TLS);
    assert_null(c);
}

/* Connect, retrying (bounded) while the single slot of a --max-conns 1
 * server is still taken by a connection it has not yet seen close. */
static struct net_bclient *connect_retry(int port)
{
    struct net_bclient *c = NULL;
    int r = -1;

    for (int i = 0; i < 100 && r != 0; i++) {
        r = net_bclient_connect("127.0.0.1", port, ca, "localhost", T_MS, &c);
        if (r != 0)
            usleep(20 * 1000);
    }
    assert_int_equal(r, 0);
    return c;
}

static void test_max_conns(void **state)
{
    char lp[640], *log;
    struct net_bclient *a, *b = NULL;
    int port = 0, st = -1;

    (void)state;
    snprintf(lp, sizeof(lp), "%s/max.log", dir);
    max_pid = start_server(lp, &port, "--max-conns", "1");
    /* the readiness probe may still hold the slot for a moment */
    a = connect_retry(port);
    expect_bytes_prompt(a);
    /* a second connection is accepted and closed at once */
    assert_int_not_equal(net_bclient_connect("127.0.0.1", port, ca, "localhost", T_MS, &b), 0);
    assert_null(b);
    ask(a, "alice", "127.0.0.1:25000\r\n@");
    net_bclient_close(a);
    /* once the first is gone there is room again */
    b = connect_retry(port);
    expect_bytes_prompt(b);
    net_bclient_close(b);
    assert_int_equal(itest_stop(max_pid, 5000, &st), 0);
    max_pid = -1;
    assert_int_equal(st, 0);
    log = itest_read_file(lp, 1 << 16);
    assert_non_null(log);
    assert_non_null(strstr(log, "connection limit (1) reached"));
    free(log);
}

static void test_bad_startup(void **state)
{
    const char *no_cert[] = {prog, "--port", "0", "--db", db, NULL};
    const char *bad_port[] = {prog, "--port", "70000", "--cert", cert, "--key", key, NULL};
    const char *missing[] = {
        prog,    "--bind", "127.0.0.1", "--port", "0", "--cert", "/nonexistent.pem",
        "--key", key,      "--db",      db,       NULL};
    const char *help[] = {prog, "--help", NULL};
    int st = -1;
    char *out;

    (void)state;
    assert_int_equal(itest_run(no_cert, out_path, 10000, &st), 0);
    assert_int_equal(st, 2);
    assert_int_equal(itest_run(bad_port, out_path, 10000, &st), 0);
    assert_int_equal(st, 2);
    assert_int_equal(itest_run(missing, out_path, 10000, &st), 0);
    assert_int_equal(st, 1);
    assert_int_equal(itest_run(help, out_path, 10000, &st), 0);
    assert_int_equal(st, 0);
    out = itest_read_file(out_path, 8192);
    assert_non_null(out);
    assert_non_null(strstr(out, "atdirectory set ATSIGN HOST:PORT"));
    free(out);
}

/* Last: SIGTERM stops the main server cleanly (exit 0, shutdown logged). */
static void test_clean_shutdown(void **state)
{
    int st = -1;
    char *log;

    (void)state;
    /* one connection left open must not block the shutdown */
    struct net_bclient *c = dconnect(srv_port);
    assert_int_equal(itest_stop(srv_pid, 5000, &st), 0);
    srv_pid = -1;
    assert_int_equal(st, 0);
    expect_eof(c, T_MS);
    net_bclient_close(c);
    log = itest_read_file(log_path, 1 << 20);
    assert_non_null(log);
    assert_non_null(strstr(log, "SIGTERM: shutting down"));
    assert_non_null(strstr(log, "lookups"));
    assert_null(strstr(log, "not empty"));
    free(log);
}

static int group_setup(void **state)
{
    char pki[520];

    (void)state;
    net_ignore_sigpipe();
    np_log_set_level(NP_LOG_ERROR);
    prog = itest_env("NP_ATDIRECTORY", NULL);
    if (!*prog || access(prog, X_OK) != 0) {
        fprintf(stderr, "NP_ATDIRECTORY does not name the atdirectory binary\n");
        return -1;
    }
    if (itest_tmpdir("atdirectory", dir, sizeof(dir)) != 0)
        return -1;
    snprintf(pki, sizeof(pki), "%s/pki", dir);
    if (itest_mkca(pki) != 0)
        return -1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
    snprintf(cert, sizeof(cert), "%s/server.pem", pki);
    snprintf(key, sizeof(key), "%s/server.key", pki);
    snprintf(db, sizeof(db), "%s/directory.db", dir);
    snprintf(log_path, sizeof(log_path), "%s/atdirectory.log", dir);
    snprintf(out_path, sizeof(out_path), "%s/admin.out", dir);
    return 0;
}

/* Records, then the main server (a test so that failures are reported). */
static void test_setup_server(void **state)
{
    (void)state;
    assert_int_equal(admin("set", "@Alice\xf0\x9f\x9b\xa0", "vip.ve.atsign.zone:25000", NULL), 0);
    assert_int_equal(admin("set", "alice", "127.0.0.1:25000", NULL), 0);
    assert_int_equal(admin("set", "@bob", "[::1]:25003", NULL), 0);
    srv_pid = start_server(log_path, &srv_port, NULL, NULL);
}

static int group_teardown(void **state)
{
    int st = -1;

    (void)state;
    if (srv_pid > 0) {
        itest_stop(srv_pid, 5000, &st);
        fprintf(stderr, "atdirectory stopped in teardown, status %d\n", st);
    }
    if (max_pid > 0)
        itest_stop(max_pid, 5000, NULL);
    itest_dump_file("atdirectory log", log_path);
    return itest_rmtree(dir) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_server),
        cmocka_unit_test(test_admin_list),
        cmocka_unit_test(test_admin_rejects),
        cmocka_unit_test(test_lookup_forms),
        cmocka_unit_test(test_unknown_and_empty),
        cmocka_unit_test(test_notfound_rationing),
        cmocka_unit_test(test_exit),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_live_update),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_wrong_name_rejected),
        cmocka_unit_test(test_max_conns),
        cmocka_unit_test(test_bad_startup),
        cmocka_unit_test(test_clean_shutdown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
