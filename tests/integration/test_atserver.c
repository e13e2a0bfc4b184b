/*
 * Integration test of the real atserver binary on 127.0.0.1 (certificates
 * from lib/mkca.sh, helpers in tests/protocol/astest.h):
 *   - "atserver create": printed cram secret, hosts table, directory entry,
 *     refusals;
 *   - durability: keys and notifications written, the server SIGKILLed,
 *     restarted, everything read back; the notification is replayed by
 *     monitor:<epochMillis>; a notification to another server stays queued;
 *   - default limits: a 70 KiB line before authentication (AT0005 + close),
 *     the connection limit (AT0012);
 *   - storage failure: the kernel refuses every file write of the running
 *     server (RLIMIT_FSIZE lowered to 0 with prlimit(2) - the same failure
 *     path as a full disk, and it works for root, unlike chmod): writes answer
 *     AT0002 and close the connection, reads keep working, writes work again
 *     once the limit is lifted.
 * Every server is stopped by pid (group teardown, PR_SET_PDEATHSIG).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astest.h"
#include "itest.h"
#include "table.h" /* src/atdirectory */

#include "net/bclient.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

static const char *prog;
static char dir[512], ca[700], cert[700], key[700], data[600], log_path[600], conf[600];
static struct np_atkeys *alice_keys, *bob_keys;
static pid_t pid = -1;
static int port_a, port_b;
static char prompt_a[64], prompt_b[64];

/* ---- helpers ---- */

static void write_conf(const char *text)
{
    FILE *f = fopen(conf, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void start_log(const char *logfile, const char *read_log)
{
    const char *atsigns[2] = {ASTEST_ALICE, ASTEST_BOB};
    int ports[2];

    assert_int_equal(
        astest_start(prog, data, cert, key, conf, logfile, read_log, atsigns, ports, 2, &pid), 0);
    port_a = ports[0];
    port_b = ports[1];
}

static void start(void)
{
    start_log(log_path, NULL);
}

/*
 * The server log through a FIFO drained by a thread: with RLIMIT_FSIZE at 0
 * the server could not write a log *file* either, but pipes are not files.
 */
struct drain {
    int fd;
    FILE *copy; /* everything read, for astest_start to find the ports */
    volatile int stop;
    char *text;
    size_t len, cap;
    pthread_t th;
};

static void *drain_main(void *arg)
{
    struct drain *d = arg;
    char buf[65536];

    for (;;) {
        struct pollfd p = {d->fd, POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, 50) <= 0) {
            if (d->stop)
                break;
            continue;
        }
        if ((n = read(d->fd, buf, sizeof(buf))) <= 0) {
            if (n == 0 && d->stop)
                break;
            if (n == 0)
                poll(NULL, 0, 10);
            continue;
        }
        if (d->len + (size_t)n + 1 > d->cap) {
            size_t ncap = (d->len + (size_t)n + 1) * 2;
            char *t = realloc(d->text, ncap);
            if (!t)
                break;
            d->text = t;
            d->cap = ncap;
        }
        memcpy(d->text + d->len, buf, (size_t)n);
        d->len += (size_t)n;
        d->text[d->len] = '\0';
        fwrite(buf, 1, (size_t)n, d->copy);
        fflush(d->copy);
    }
    return NULL;
}

static void stop(int sig)
{
    int st = -1;

    if (pid <= 0)
        return;
    if (sig == SIGKILL)
        kill(pid, SIGKILL);
    assert_int_equal(itest_stop(pid, 10000, &st), 0);
    pid = -1;
    if (sig == SIGKILL)
        assert_int_equal(st, 128 + SIGKILL);
    else
        assert_int_equal(st, 0);
}

static struct net_bclient *login(int port, const char *atsign, const struct np_atkeys *k)
{
    struct net_bclient *c = NULL;

    assert_int_equal(astest_connect(port, ca, &c), 0);
    assert_int_equal(astest_login_pkam(c, atsign, k), 0);
    return c;
}

/* Send line, expect exactly want (body) with prompt. */
static void cmd(struct net_bclient *c, const char *line, const char *prompt, const char *want)
{
    char buf[8192];

    assert_int_equal(astest_cmd(c, line, prompt, buf, sizeof(buf)), 0);
    assert_string_equal(buf, want);
}

/* Send line, expect a body starting with prefix; copy the rest to out. */
static void cmd_prefix(struct net_bclient *c, const char *line, const char *prompt,
                       const char *prefix, char *out, size_t size)
{
    char buf[8192];

    assert_int_equal(astest_cmd(c, line, prompt, buf, sizeof(buf)), 0);
    if (strncmp(buf, prefix, strlen(prefix)) != 0)
        fail_msg("\"%s\" answered \"%s\", expected %s...", line, buf, prefix);
    if (out)
        snprintf(out, size, "%.127s", buf + strlen(prefix));
}

static void expect_eof(struct net_bclient *c)
{
    char b[256];
    size_t n = 0;

    assert_int_equal(net_bclient_read_some(c, b, sizeof(b), &n, ASTEST_TIMEOUT_MS), NP_ERR_EOF);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    char caout[560];

    (void)state;
    signal(SIGPIPE, SIG_IGN); /* the server may close while we still send */
    np_log_set_level(NP_LOG_WARN);
    prog = itest_env("NP_ATSERVER", NULL);
    if (itest_tmpdir("atserver", dir, sizeof(dir)) != 0)
        return -1;
    snprintf(caout, sizeof(caout), "%s/ca", dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", caout);
    snprintf(cert, sizeof(cert), "%s/server.pem", caout);
    snprintf(key, sizeof(key), "%s/server.key", caout);
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(log_path, sizeof(log_path), "%s/server.log", dir);
    snprintf(conf, sizeof(conf), "%s/server.conf", dir);
    snprintf(prompt_a, sizeof(prompt_a), "%s@", ASTEST_ALICE);
    snprintf(prompt_b, sizeof(prompt_b), "%s@", ASTEST_BOB);
    if (itest_mkca(caout) != 0 ||
        astest_load_atkeys(dir, "alice-wrench.atKeys", &alice_keys) != 0 ||
        astest_load_atkeys(dir, "bob-wrench.atKeys", &bob_keys) != 0)
        return -1;
    /* then port 0: the server picks free ports and logs them (no race) */
    if (astest_create(prog, data, ASTEST_ALICE, 40001, ASTEST_ALICE_SECRET) != 0 ||
        astest_create(prog, data, ASTEST_BOB, 40002, ASTEST_BOB_SECRET) != 0 ||
        astest_set_port(data, ASTEST_ALICE, 0) != 0 || astest_set_port(data, ASTEST_BOB, 0) != 0)
        return -1;
    write_conf("stats_interval_s = -1\n");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (pid > 0)
        itest_stop(pid, 3000, NULL);
    np_atkeys_free(alice_keys);
    np_atkeys_free(bob_keys);
    itest_rmtree(dir);
    return 0;
}

/* ---- tests ---- */

static void test_create(void **state)
{
    char d2[700], dirdb[700], out[700], addr[300], portstr[16];
    const char *create[] = {prog,     "create", "@dave",  "--data-dir",       d2,
                            "--port", portstr,  "--host", "vip.example.test", "--directory-db",
                            dirdb,    NULL};
    const char *dup[] = {prog, "create", "@Dave", "--data-dir", d2, "--port", "1999", NULL};
    const char *bad[] = {prog, "create", "@da:ve", "--data-dir", d2, "--port", "1999", NULL};
    const char *badsecret[] = {prog,     "create", "@erin",         "--data-dir", d2,
                               "--port", "1998",   "--cram-secret", "nothex",     NULL};
    const char *list[] = {prog, "list", "--data-dir", d2, NULL};
    struct dir_table *t = NULL;
    char *text;
    int st = -1;

    (void)state;
    snprintf(d2, sizeof(d2), "%s/create", dir);
    snprintf(dirdb, sizeof(dirdb), "%s/directory.db", dir);
    snprintf(out, sizeof(out), "%s/create.out", dir);
    snprintf(portstr, sizeof(portstr), "%d", 1234);
    assert_int_equal(itest_run(create, out, 30000, &st), 0);
    assert_int_equal(st, 0);
    /* stdout: the random cram secret, a line of 128 lower-case hex digits
     * (the captured output also holds the log lines of stderr) */
    text = itest_read_file(out, 65536);
    assert_non_null(text);
    {
        int found = 0;
        for (char *ln = text, *nl; ln && *ln; ln = nl ? nl + 1 : NULL) {
            nl = strchr(ln, '\n');
            if (nl && nl - ln == 128 && strspn(ln, "0123456789abcdef") == 128)
                found++;
        }
        assert_int_equal(found, 1);
    }
    free(text);
    /* the directory knows the atSign */
    assert_int_equal(dir_table_open(dirdb, 0, &t), 0);
    assert_int_equal(dir_table_lookup(t, "dave", addr, sizeof(addr)), 0);
    assert_string_equal(addr, "vip.example.test:1234");
    dir_table_close(t);
    /* refusals: the same atSign again, an invalid atSign, a non-hex secret */
    assert_int_equal(itest_run(dup, out, 30000, &st), 0);
    assert_int_equal(st, 1);
    assert_int_equal(itest_run(bad, out, 30000, &st), 0);
    assert_int_equal(st, 2);
    assert_int_equal(itest_run(badsecret, out, 30000, &st), 0);
    assert_int_equal(st, 2);
    assert_int_equal(itest_run(list, out, 30000, &st), 0);
    assert_int_equal(st, 0);
    text = itest_read_file(out, 65536);
    assert_non_null(text);
    assert_string_equal(text, "@dave 1234 vip.example.test\n");
    free(text);
}

static void test_durability(void **state)
{
    struct net_bclient *a, *b, *m;
    char nid[128], qid[128], cid[32], line[512], buf[8192], ep[32];

    (void)state;
    start();
    assert_int_equal(astest_provision(port_a, ca, ASTEST_ALICE, ASTEST_ALICE_SECRET, alice_keys),
                     0);
    assert_int_equal(astest_provision(port_b, ca, ASTEST_BOB, ASTEST_BOB_SECRET, bob_keys), 0);
    a = login(port_a, ASTEST_ALICE, alice_keys);
    cmd_prefix(a, "update:public:durable" ASTEST_ALICE " survives", prompt_a, "data:", cid,
               sizeof(cid));
    cmd(a, "update:ttr:-1:@bob\xf0\x9f\x9b\xa0:shared.app" ASTEST_ALICE " s3cr3t", prompt_a,
        "data:4");
    cmd_prefix(a, "notify:@bob\xf0\x9f\x9b\xa0:kill.test" ASTEST_ALICE ":v1", prompt_a,
               "data:", nid, sizeof(nid));
    cmd_prefix(a, "notify:@elsewhere:queued.test" ASTEST_ALICE ":v2", prompt_a, "data:", qid,
               sizeof(qid));
    /* acknowledged = durable: kill without any chance to flush */
    stop(SIGKILL);
    net_bclient_close(a);

    start();
    a = login(port_a, ASTEST_ALICE, alice_keys);
    cmd(a, "llookup:public:durable" ASTEST_ALICE, prompt_a, "data:survives");
    snprintf(line, sizeof(line), "notify:status:%s", nid);
    cmd(a, line, prompt_a, "data:delivered");
    snprintf(line, sizeof(line), "notify:status:%s", qid);
    cmd(a, line, prompt_a, "data:queued");
    cmd(a, "stats:3", prompt_a, "data: [{\"id\":\"3\",\"name\":\"lastCommitID\",\"value\":\"4\"}]");
    b = login(port_b, ASTEST_BOB, bob_keys);
    cmd(b, "lookup:shared.app" ASTEST_ALICE, prompt_b, "data:s3cr3t");
    cmd(b, "llookup:cached:@bob\xf0\x9f\x9b\xa0:shared.app" ASTEST_ALICE, prompt_b, "data:s3cr3t");
    /* the received notification is replayed to a monitor from before it */
    m = login(port_b, ASTEST_BOB, bob_keys);
    assert_int_equal(net_bclient_send_line(m, "monitor:0 kill", ASTEST_TIMEOUT_MS), 0);
    assert_int_equal(net_bclient_read_line(m, buf, sizeof(buf), NULL, ASTEST_TIMEOUT_MS), 0);
    snprintf(line, sizeof(line), "notification: {\"id\":\"%s\",\"from\":\"%s\"", nid, ASTEST_ALICE);
    assert_true(strncmp(buf, line, strlen(line)) == 0);
    assert_non_null(strstr(buf, "\"value\":\"v1\""));
    /* and not replayed to a monitor that starts at its epochMillis */
    {
        const char *e = strstr(buf, "\"epochMillis\":");
        assert_non_null(e);
        snprintf(ep, sizeof(ep), "%.13s", e + 14);
    }
    net_bclient_close(m);
    m = login(port_b, ASTEST_BOB, bob_keys);
    snprintf(line, sizeof(line), "monitor:%s kill", ep);
    assert_int_equal(net_bclient_send_line(m, line, ASTEST_TIMEOUT_MS), 0);
    cmd(m, "noop:0", prompt_b, "data:ok");
    net_bclient_close(m);
    net_bclient_close(a);
    net_bclient_close(b);
    stop(SIGTERM);
}

static void test_limits(void **state)
{
    struct net_bclient *c[3] = {NULL, NULL, NULL}, *x = NULL;
    char *big;
    char buf[512];
    size_t n = 0;

    (void)state;
    write_conf("stats_interval_s = -1\nmax_connections = 3\n");
    start();
    /* the default unauthenticated line limit is 64 KiB */
    assert_int_equal(astest_connect(port_a, ca, &x), 0);
    big = malloc(70 * 1024 + 1);
    assert_non_null(big);
    memset(big, 'x', 70 * 1024);
    big[70 * 1024] = '\0';
    /* the server may close before it read everything: the send can fail */
    (void)net_bclient_send_line(x, big, ASTEST_TIMEOUT_MS);
    free(big);
    assert_int_equal(astest_read_response(x, "@", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "error:AT0005-Exception: command line over 65536 bytes");
    expect_eof(x);
    net_bclient_close(x);
    /* three connections, the fourth is refused without a prompt */
    for (int i = 0; i < 3; i++)
        assert_int_equal(astest_connect(port_a, ca, &c[i]), 0);
    assert_int_equal(
        net_bclient_connect("127.0.0.1", port_a, ca, "localhost", ASTEST_TIMEOUT_MS, &x), 0);
    assert_int_equal(net_bclient_read_line(x, buf, sizeof(buf), &n, ASTEST_TIMEOUT_MS), 0);
    assert_string_equal(buf, "error:AT0012-Inbound connection limit exceeded");
    expect_eof(x);
    net_bclient_close(x);
    for (int i = 0; i < 3; i++)
        net_bclient_close(c[i]);
    stop(SIGTERM);
    write_conf("stats_interval_s = -1\n");
}

static void set_fsize(rlim_t soft)
{
    struct rlimit rl;

    assert_int_equal(prlimit(pid, RLIMIT_FSIZE, NULL, &rl), 0);
    rl.rlim_cur = soft;
    assert_int_equal(prlimit(pid, RLIMIT_FSIZE, &rl, NULL), 0);
}

static void test_write_failure(void **state)
{
    struct net_bclient *a, *b;
    struct drain d;
    char buf[512], fifo[700], copy[700];

    (void)state;
    memset(&d, 0, sizeof(d));
    snprintf(fifo, sizeof(fifo), "%s/log.fifo", dir);
    snprintf(copy, sizeof(copy), "%s/log.copy", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_true((d.fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) >= 0);
    assert_non_null(d.copy = fopen(copy, "w"));
    assert_int_equal(pthread_create(&d.th, NULL, drain_main, &d), 0);
    start_log(fifo, copy);
    a = login(port_a, ASTEST_ALICE, alice_keys);
    cmd_prefix(a, "update:public:before" ASTEST_ALICE " ok", prompt_a, "data:", NULL, 0);
    /* from now on every file write of the server fails (EFBIG) */
    set_fsize(0);
    assert_int_equal(
        astest_cmd(a, "update:public:during" ASTEST_ALICE " no", prompt_a, buf, sizeof(buf)), 0);
    assert_true(strncmp(buf, "error:AT0002-DataStore exception : update failed", 48) == 0);
    expect_eof(a); /* AT0002 closes the connection */
    net_bclient_close(a);
    /* the server keeps running and serves reads */
    a = login(port_a, ASTEST_ALICE, alice_keys);
    cmd(a, "llookup:public:before" ASTEST_ALICE, prompt_a, "data:ok");
    cmd(a, "llookup:public:during" ASTEST_ALICE, prompt_a,
        "error:AT0015-key not found : public:during" ASTEST_ALICE " does not exist in keystore");
    assert_int_equal(astest_cmd(a, "notify:@bob\xf0\x9f\x9b\xa0:n.app" ASTEST_ALICE ":x", prompt_a,
                                buf, sizeof(buf)),
                     0);
    assert_true(strncmp(buf, "error:AT0002-", 13) == 0);
    net_bclient_close(a);
    b = login(port_b, ASTEST_BOB, bob_keys);
    cmd(b, "plookup:before" ASTEST_ALICE, prompt_b, "data:ok");
    net_bclient_close(b);
    /* space is back: writes work again on the same stores */
    set_fsize(RLIM_INFINITY);
    a = login(port_a, ASTEST_ALICE, alice_keys);
    cmd_prefix(a, "update:public:after" ASTEST_ALICE " yes", prompt_a, "data:", NULL, 0);
    cmd(a, "llookup:public:after" ASTEST_ALICE, prompt_a, "data:yes");
    net_bclient_close(a);
    stop(SIGTERM);
    d.stop = 1;
    pthread_join(d.th, NULL);
    close(d.fd);
    fclose(d.copy);
    /* the failure was logged */
    assert_non_null(d.text);
    assert_non_null(strstr(d.text, "storage failure while update"));
    free(d.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_durability),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_write_failure),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
