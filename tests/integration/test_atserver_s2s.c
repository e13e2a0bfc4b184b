/*
 * Integration test of server-to-server traffic (atprotocol.md 2.1, 3.4,
 * 6.4-6.6, 7.2, 7.3): one atdirectory and TWO atserver processes on
 * 127.0.0.1, server A hosting @alice🛠 and server B hosting @bob🛠 (demo
 * fixtures, certificates from lib/mkca.sh for "localhost"):
 *   (a) lookup of a key @bob shares with @alice from @alice's owner
 *       connection (A -> B with from/pol, B connecting back to A), caching
 *       with ttr (7.3), plookup with its cached:public: copy, the public
 *       key cached by the handshake, scan:@bob, unknown atSigns;
 *   (b) notify @alice -> @bob: the exact notify line B receives (7.2, from
 *       B's wire trace), pushed once to @bob's monitor with fromAtSign
 *       @alice and the exact fields, notify:status delivered;
 *   (c) B down while notified: queued/errored, B back -> delivered once;
 *       the sender restarted with the record still queued -> delivered;
 *   (d) from:@alice on B without a client certificate, with one naming
 *       another host (both AT0401), with A's certificate (proof), and with
 *       --no-client-cert-required without a certificate;
 *   (e) pol by hand: a forged proof signature -> AT0401; the real signing
 *       key -> "@alice🛠@" and the pol visibility of lookup.
 * Every process is stopped by pid (group teardown, PR_SET_PDEATHSIG).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astest.h"
#include "itest.h"

#include "crypto/rsa.h"
#include "net/bclient.h"
#include "net/tls.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#define ALICE   ASTEST_ALICE
#define BOB     ASTEST_BOB
#define WAIT_MS 15000

static const char *prog;
static char dir[512], ca[700], cert[700], key[700], wcert[700], wkey[700], dirdb[700], conf[700];
static char data_a[700], data_b[700], log_a[700], log_b[700], log_d[700], out_path[700];
static char root[64];
static int port_d, port_a, port_b;
static pid_t pid_d = -1, pid_a = -1, pid_b = -1;
static struct np_atkeys *alice_keys, *bob_keys;
static const char prompt_a[] = ALICE "@", prompt_b[] = BOB "@";

/* ---- processes ---- */

static int create(const char *data, const char *atsign, int port, const char *secret)
{
    char portstr[16];
    const char *argv[] = {prog,     "create",        atsign,   "--data-dir", data,
                          "--port", portstr,         "--host", "localhost",  "--directory-db",
                          dirdb,    "--cram-secret", secret,   NULL};
    int st = -1;

    snprintf(portstr, sizeof(portstr), "%d", port);
    if (mkdir(data, 0700) != 0 && access(data, F_OK) != 0)
        return NP_ERR_IO;
    if (itest_run(argv, out_path, 60000, &st) != 0 || st != 0) {
        itest_dump_file("atserver create", out_path);
        return NP_ERR_IO;
    }
    return 0;
}

static int start_dir(void)
{
    char portstr[16];
    const char *argv[] = {itest_env("NP_ATDIRECTORY", "atdirectory"),
                          "--bind",
                          "127.0.0.1",
                          "--port",
                          portstr,
                          "--cert",
                          cert,
                          "--key",
                          key,
                          "--db",
                          dirdb,
                          "--notfound-delay",
                          "0",
                          NULL};

    snprintf(portstr, sizeof(portstr), "%d", port_d);
    if (itest_spawn(argv, log_d, &pid_d) != 0 ||
        itest_wait_port("127.0.0.1", port_d, pid_d, 20000) != 0) {
        itest_dump_file("atdirectory log", log_d);
        return NP_ERR_IO;
    }
    return 0;
}

/* Start the server of data (B with the -vv wire trace); no_ccr adds
 * --no-client-cert-required. */
static int start_server(const char *data, const char *log, int port, bool trace, bool no_ccr,
                        pid_t *pid)
{
    const char *argv[] = {prog,
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
                          "--config",
                          conf,
                          trace ? "-vv" : "-v",
                          no_ccr ? "--no-client-cert-required" : NULL,
                          NULL};

    if (itest_spawn(argv, log, pid) != 0 || itest_wait_port("127.0.0.1", port, *pid, 30000) != 0) {
        itest_dump_file("atserver log", log);
        return NP_ERR_IO;
    }
    return 0;
}

static void start_a(void)
{
    assert_int_equal(start_server(data_a, log_a, port_a, false, false, &pid_a), 0);
}

static void start_b(bool no_ccr)
{
    assert_int_equal(start_server(data_b, log_b, port_b, true, no_ccr, &pid_b), 0);
}

static void stop(pid_t *pid)
{
    int st = -1;

    assert_int_equal(itest_stop(*pid, 10000, &st), 0);
    *pid = -1;
    assert_int_equal(st, 0); /* a clean exit (and no sanitizer report) */
}

/* ---- connections ---- */

static struct net_bclient *login(int port, const char *atsign, const struct np_atkeys *k)
{
    struct net_bclient *c = NULL;

    assert_int_equal(astest_connect(port, ca, &c), 0);
    assert_int_equal(astest_login_pkam(c, atsign, k), 0);
    return c;
}

static void cmd_buf(struct net_bclient *c, const char *line, const char *prompt, char *buf,
                    size_t size)
{
    int r = astest_cmd(c, line, prompt, buf, size);

    if (r != 0) {
        itest_dump_file("server A log", log_a);
        itest_dump_file("server B log", log_b);
        fail_msg("\"%.200s\" failed: %s", line, np_strerror(r));
    }
}

static void cmd(struct net_bclient *c, const char *line, const char *prompt, const char *want)
{
    char buf[16384];

    cmd_buf(c, line, prompt, buf, sizeof(buf));
    if (strcmp(buf, want) != 0) {
        itest_dump_file("server A log", log_a);
        itest_dump_file("server B log", log_b);
        fail_msg("\"%.200s\" answered \"%.300s\", expected \"%s\"", line, buf, want);
    }
}

static void cmd_prefix(struct net_bclient *c, const char *line, const char *prompt,
                       const char *prefix, char *out, size_t size)
{
    char buf[16384];

    cmd_buf(c, line, prompt, buf, sizeof(buf));
    if (strncmp(buf, prefix, strlen(prefix)) != 0) {
        itest_dump_file("server A log", log_a);
        itest_dump_file("server B log", log_b);
        fail_msg("\"%.200s\" answered \"%.300s\", expected %s...", line, buf, prefix);
    }
    if (out)
        snprintf(out, size, "%s", buf + strlen(prefix));
}

/* Poll "notify:status:<id>" on c until it answers data:<want>. */
static void wait_status(struct net_bclient *c, const char *id, const char *want)
{
    char line[256], buf[256], exp[64];
    int64_t deadline = np_mono_ms() + WAIT_MS;

    snprintf(line, sizeof(line), "notify:status:%s", id);
    snprintf(exp, sizeof(exp), "data:%s", want);
    for (;;) {
        cmd_buf(c, line, prompt_a, buf, sizeof(buf));
        if (strcmp(buf, exp) == 0)
            return;
        if (np_mono_ms() > deadline) {
            itest_dump_file("server A log", log_a);
            itest_dump_file("server B log", log_b);
            fail_msg("notification %s: status %s, expected %s", id, buf, exp);
        }
        usleep(50 * 1000);
    }
}

/* The next non-stats notification line on monitor m. */
static void next_notification(struct net_bclient *m, char *buf, size_t size, int timeout_ms)
{
    int64_t deadline = np_mono_ms() + timeout_ms;

    for (;;) {
        int left = (int)(deadline - np_mono_ms());
        int r = net_bclient_read_line(m, buf, size, NULL, left > 0 ? left : 1);
        if (r != 0) {
            itest_dump_file("server A log", log_a);
            itest_dump_file("server B log", log_b);
            fail_msg("no notification on the monitor: %s", np_strerror(r));
        }
        if (strncmp(buf, "notification: {\"id\":\"-1\"", 25) != 0)
            return;
    }
}

/* Nothing but stats notifications for ms. */
static void monitor_quiet(struct net_bclient *m, int ms)
{
    char buf[8192];
    int64_t deadline = np_mono_ms() + ms;

    for (;;) {
        int left = (int)(deadline - np_mono_ms()), r;
        if (left <= 0)
            return;
        r = net_bclient_read_line(m, buf, sizeof(buf), NULL, left);
        if (r == NP_ERR_TIMEOUT)
            return;
        assert_int_equal(r, 0);
        if (strncmp(buf, "notification: {\"id\":\"-1\"", 25) != 0)
            fail_msg("unexpected second notification: %.300s", buf);
    }
}

static struct net_bclient *monitor(int port, const char *atsign, const struct np_atkeys *k,
                                   const char *args)
{
    struct net_bclient *m = login(port, atsign, k);
    char line[256];

    snprintf(line, sizeof(line), "monitor%s", args);
    assert_int_equal(net_bclient_send_line(m, line, ASTEST_TIMEOUT_MS), 0);
    return m;
}

/* Read exactly the bytes of want (e.g. a pol answer without newline). */
static void read_exact(struct net_bclient *c, const char *want)
{
    char buf[512];
    size_t have = 0, n = strlen(want);

    while (have < n) {
        size_t got = 0;
        int r = net_bclient_read_some(c, buf + have, n - have, &got, ASTEST_TIMEOUT_MS);
        if (r != 0) {
            itest_dump_file("server A log", log_a);
            itest_dump_file("server B log", log_b);
            fail_msg("reading \"%s\": %s (have \"%.*s\")", want, np_strerror(r), (int)have, buf);
        }
        have += got;
    }
    buf[have] = '\0';
    assert_string_equal(buf, want);
}

/* A TLS connection to port presenting cert/key (NULL: none); the "@"
 * prompt is read. */
static struct net_bclient *connect_with(int port, const char *c_cert, const char *c_key)
{
    struct net_tls_client_opts o = {.ca_file = ca, .cert_file = c_cert, .key_file = c_key};
    struct net_tls_ctx *tls = NULL;
    struct net_bclient *c = NULL;
    char buf[8];
    size_t n = 0;

    assert_int_equal(net_tls_client_ctx_new(&o, &tls), 0);
    assert_int_equal(
        net_bclient_connect_ctx("127.0.0.1", port, tls, "localhost", ASTEST_TIMEOUT_MS, &c), 0);
    net_tls_ctx_free(tls);
    assert_int_equal(net_bclient_read_until(c, '@', buf, sizeof(buf), &n, ASTEST_TIMEOUT_MS), 0);
    assert_int_equal(n, 1);
    return c;
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    FILE *f;

    (void)state;
    np_log_set_level(NP_LOG_WARN);
    prog = itest_env("NP_ATSERVER", "atserver");
    if (itest_tmpdir("s2s", dir, sizeof(dir)) != 0 || itest_mkca(dir) != 0 ||
        itest_issue_cert(dir, "wrong", "wrong.example") != 0)
        return -1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    snprintf(wcert, sizeof(wcert), "%s/wrong.pem", dir);
    snprintf(wkey, sizeof(wkey), "%s/wrong.key", dir);
    snprintf(dirdb, sizeof(dirdb), "%s/directory.db", dir);
    snprintf(conf, sizeof(conf), "%s/atserver.conf", dir);
    snprintf(data_a, sizeof(data_a), "%s/a", dir);
    snprintf(data_b, sizeof(data_b), "%s/b", dir);
    snprintf(log_a, sizeof(log_a), "%s/a.log", dir);
    snprintf(log_b, sizeof(log_b), "%s/b.log", dir);
    snprintf(log_d, sizeof(log_d), "%s/directory.log", dir);
    snprintf(out_path, sizeof(out_path), "%s/out.txt", dir);
    if ((f = fopen(conf, "w")) == NULL)
        return -1;
    /* short retry timings so that (c) takes about a second, not 15 */
    fputs("stats_interval_s = -1\n"
          "s2s_job_ms = 200\n"
          "s2s_quarantine_ms = 300\n"
          "s2s_directory_cache_ms = 1000\n",
          f);
    fclose(f);
    if (itest_free_port(&port_d) != 0 || itest_free_port(&port_a) != 0 ||
        itest_free_port(&port_b) != 0)
        return -1;
    if (port_a == port_b || port_a == port_d || port_b == port_d)
        return -1;
    snprintf(root, sizeof(root), "127.0.0.1:%d", port_d);
    if (create(data_a, ALICE, port_a, ASTEST_ALICE_SECRET) != 0 ||
        create(data_b, BOB, port_b, ASTEST_BOB_SECRET) != 0 ||
        astest_load_atkeys(dir, "alice-wrench.atKeys", &alice_keys) != 0 ||
        astest_load_atkeys(dir, "bob-wrench.atKeys", &bob_keys) != 0)
        return -1;
    if (start_dir() != 0 || start_server(data_a, log_a, port_a, false, false, &pid_a) != 0 ||
        start_server(data_b, log_b, port_b, true, false, &pid_b) != 0)
        return -1;
    if (astest_provision(port_a, ca, ALICE, ASTEST_ALICE_SECRET, alice_keys) != 0 ||
        astest_provision(port_b, ca, BOB, ASTEST_BOB_SECRET, bob_keys) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(pid_a, 5000, NULL);
    itest_stop(pid_b, 5000, NULL);
    itest_stop(pid_d, 5000, NULL);
    np_atkeys_free(alice_keys);
    np_atkeys_free(bob_keys);
    if (getenv("NP_KEEP_TMP") == NULL)
        itest_rmtree(dir);
    return 0;
}

/* ---- (a) remote lookups ---- */

static void test_remote_lookup(void **state)
{
    struct net_bclient *a, *b;
    char line[8192], buf[16384];
    int64_t deadline;

    (void)state;
    a = login(port_a, ALICE, alice_keys);
    b = login(port_b, BOB, bob_keys);
    cmd_prefix(b, "update:" ALICE ":shared.s2s" BOB " hello-alice", prompt_b, "data:", NULL, 0);
    cmd_prefix(b, "update:public:pub.s2s" BOB " public-value", prompt_b, "data:", NULL, 0);
    /* A -> B over pol: B sees the pol-authenticated @alice and answers
     * @alice:shared.s2s@bob */
    cmd(a, "lookup:shared.s2s" BOB, prompt_a, "data:hello-alice");
    cmd_prefix(a, "lookup:all:shared.s2s" BOB, prompt_a,
               "data:{\"key\":\"" ALICE ":shared.s2s" BOB "\",\"data\":\"hello-alice\"", NULL, 0);
    /* no ttr: nothing cached */
    cmd_prefix(a, "llookup:cached:" ALICE ":shared.s2s" BOB, prompt_a, "error:AT0015-", NULL, 0);
    /* a key @bob does not share with @alice */
    cmd_prefix(a, "lookup:nothing.s2s" BOB, prompt_a, "error:AT0015-", NULL, 0);
    /* the handshake cached @bob's public key */
    snprintf(line, sizeof(line), "data:%s", bob_keys->enc_public_b64);
    cmd(a, "llookup:cached:public:publickey" BOB, prompt_a, line);
    /* plookup: unauthenticated remote lookup, cached as cached:public: */
    cmd(a, "plookup:pub.s2s" BOB, prompt_a, "data:public-value");
    cmd(a, "llookup:cached:public:pub.s2s" BOB, prompt_a, "data:public-value");
    cmd_prefix(a, "plookup:all:pub.s2s" BOB, prompt_a,
               "data:{\"key\":\"public:pub.s2s" BOB "\",\"data\":\"public-value\"", NULL, 0);
    snprintf(line, sizeof(line), "data:%s", bob_keys->enc_public_b64);
    cmd(a, "plookup:publickey" BOB, prompt_a, line);
    /* scan:@bob over pol lists what @bob shares with @alice */
    cmd_buf(a, "scan:" BOB, prompt_a, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"shared.s2s" BOB "\""));
    /* an atSign the directory does not know */
    cmd_prefix(a, "lookup:k@nobody", prompt_a, "error:AT0007-", NULL, 0);
    cmd_prefix(a, "plookup:k@nobody", prompt_a, "error:AT0007-", NULL, 0);
    /* ttr: the update's auto-notification reaches A, which caches (7.3) */
    cmd_prefix(b, "update:ttr:-1:ccd:true:" ALICE ":cached.s2s" BOB " cache-me", prompt_b,
               "data:", NULL, 0);
    deadline = np_mono_ms() + WAIT_MS;
    for (;;) {
        cmd_buf(a, "llookup:cached:" ALICE ":cached.s2s" BOB, prompt_a, buf, sizeof(buf));
        if (strcmp(buf, "data:cache-me") == 0)
            break;
        if (np_mono_ms() > deadline)
            fail_msg("cached copy never arrived: %s", buf);
        usleep(50 * 1000);
    }
    cmd(a, "lookup:cached.s2s" BOB, prompt_a, "data:cache-me");
    /* ccd: deleting the original removes the cached copy on A */
    cmd_prefix(b, "delete:" ALICE ":cached.s2s" BOB, prompt_b, "data:", NULL, 0);
    deadline = np_mono_ms() + WAIT_MS;
    for (;;) {
        cmd_buf(a, "llookup:cached:" ALICE ":cached.s2s" BOB, prompt_a, buf, sizeof(buf));
        if (strncmp(buf, "error:AT0015-", 13) == 0)
            break;
        if (np_mono_ms() > deadline)
            fail_msg("cached copy never removed: %s", buf);
        usleep(50 * 1000);
    }
    /* one pooled pol connection A -> B (and the unauthenticated one) */
    cmd_prefix(a, "stats:2", prompt_a,
               "data: [{\"id\":\"2\",\"name\":\"activeOutboundConnections\"", NULL, 0);
    net_bclient_close(a);
    net_bclient_close(b);
}

/* ---- (b) notifications ---- */

static void test_notify(void **state)
{
    struct net_bclient *a, *m;
    char id[160], line[1024], want[2048], esc[4096], buf[16384];
    const char *e, *end;

    (void)state;
    a = login(port_a, ALICE, alice_keys);
    m = monitor(port_b, BOB, bob_keys, ":0 ping\\.s2s");
    cmd_prefix(a,
               "notify:update:ttl:60000:isEncrypted:true:ivNonce:EBESExQVFhcYGRobHB0eHw==:" BOB
               ":ping.s2s" ALICE ":value1",
               prompt_a, "data:", id, sizeof(id));
    next_notification(m, buf, sizeof(buf), WAIT_MS);
    snprintf(want, sizeof(want),
             "notification: {\"id\":\"%s\",\"from\":\"" ALICE "\",\"to\":\"" BOB "\",\"key\":\"" BOB
             ":ping.s2s" ALICE "\",\"value\":\"value1\",\"operation\":\"update\",\"epochMillis\":",
             id);
    if (strncmp(buf, want, strlen(want)) != 0)
        fail_msg("got %s\nexpected %s...", buf, want);
    e = buf + strlen(want);
    end = e;
    while (*end >= '0' && *end <= '9')
        end++;
    assert_true(end > e);
    assert_string_equal(end, ",\"messageType\":\"MessageType.key\",\"isEncrypted\":true,"
                             "\"metadata\":{\"encKeyName\":null,\"encAlgo\":null,\"ivNonce\":"
                             "\"EBESExQVFhcYGRobHB0eHw==\",\"skeEncKeyName\":null,\"skeEncAlgo\":"
                             "null,\"sharedKeyEnc\":null}}");
    wait_status(a, id, "delivered");
    /* the exact line B received (7.2), from B's wire trace */
    snprintf(line, sizeof(line),
             "<- notify:id:%s:update:messageType:key:notifier:SYSTEM:ttln:900000:ttl:60000:ttb:0:"
             "isEncrypted:true:ivNonce:EBESExQVFhcYGRobHB0eHw==:" BOB ":ping.s2s" ALICE ":value1",
             id);
    np_log_escape(esc, sizeof(esc), line, strlen(line));
    assert_int_equal(itest_log_count(log_b, esc), 1);
    monitor_quiet(m, 700);
    net_bclient_close(m);
    net_bclient_close(a);
}

/* ---- (c) delivery while the receiver (or the sender) was down ---- */

static void test_receiver_down(void **state)
{
    struct net_bclient *a, *m;
    char id[160], buf[16384], want[256];

    (void)state;
    stop(&pid_b);
    a = login(port_a, ALICE, alice_keys);
    cmd_prefix(a, "notify:update:" BOB ":down.s2s" ALICE ":while-down", prompt_a, "data:", id,
               sizeof(id));
    /* an attempt fails (connection refused): errored, retried later */
    wait_status(a, id, "errored");
    start_b(false);
    wait_status(a, id, "delivered");
    m = monitor(port_b, BOB, bob_keys, ":0 down\\.s2s");
    next_notification(m, buf, sizeof(buf), WAIT_MS);
    snprintf(want, sizeof(want), "notification: {\"id\":\"%s\",\"from\":\"" ALICE "\"", id);
    assert_true(strncmp(buf, want, strlen(want)) == 0);
    assert_non_null(strstr(buf, "\"value\":\"while-down\""));
    monitor_quiet(m, 700); /* exactly once */
    net_bclient_close(m);

    /* the sender restarts with the record still queued */
    stop(&pid_b);
    cmd_prefix(a, "notify:update:" BOB ":restart.s2s" ALICE ":after-restart", prompt_a, "data:", id,
               sizeof(id));
    net_bclient_close(a);
    stop(&pid_a);
    start_b(false);
    start_a();
    a = login(port_a, ALICE, alice_keys);
    wait_status(a, id, "delivered");
    m = monitor(port_b, BOB, bob_keys, ":0 restart\\.s2s");
    next_notification(m, buf, sizeof(buf), WAIT_MS);
    snprintf(want, sizeof(want), "notification: {\"id\":\"%s\",\"from\":\"" ALICE "\"", id);
    assert_true(strncmp(buf, want, strlen(want)) == 0);
    assert_non_null(strstr(buf, "\"value\":\"after-restart\""));
    monitor_quiet(m, 700);
    net_bclient_close(m);
    net_bclient_close(a);
}

/* ---- (d) client certificates on from: ---- */

static void test_client_certificates(void **state)
{
    struct net_bclient *c;
    char buf[1024];

    (void)state;
    c = connect_with(port_b, NULL, NULL);
    cmd(c, "from:" ALICE, "@",
        "error:AT0401-Exception: Certificate Verification Failed: no client certificate");
    net_bclient_close(c);
    c = connect_with(port_b, wcert, wkey);
    cmd(c, "from:" ALICE, "@",
        "error:AT0401-Exception: Certificate Verification Failed: the client certificate does "
        "not name localhost");
    net_bclient_close(c);
    c = connect_with(port_b, cert, key);
    cmd_prefix(c, "from:" ALICE, "@", "data:proof:_", buf, sizeof(buf));
    assert_non_null(strstr(buf, ALICE ":"));
    net_bclient_close(c);
    /* --no-client-cert-required: any peer may claim an atSign (pol still
     * decides) */
    stop(&pid_b);
    start_b(true);
    c = connect_with(port_b, NULL, NULL);
    cmd_prefix(c, "from:" ALICE, "@", "data:proof:_", NULL, 0);
    net_bclient_close(c);
    stop(&pid_b);
    start_b(false);
}

/* ---- (e) pol by hand ---- */

/* from:@alice on B with A's certificate; proof key and proof into sid_key
 * ("_<uuid>@alice🛠") and proof. */
static struct net_bclient *from_alice(char *sid_key, size_t ks, char *proof, size_t ps)
{
    struct net_bclient *c = connect_with(port_b, cert, key);
    char buf[1024], *colon;

    cmd_prefix(c, "from:" ALICE, "@", "data:proof:", buf, sizeof(buf));
    colon = strstr(buf, ALICE ":");
    assert_non_null(colon);
    colon += strlen(ALICE);
    snprintf(sid_key, ks, "%.*s", (int)(colon - buf), buf);
    snprintf(proof, ps, "%s", colon + 1);
    return c;
}

static void publish(struct net_bclient *a, const char *sid_key, const char *sig)
{
    char line[2048];

    snprintf(line, sizeof(line), "update:ttl:60000:public:%s %s", sid_key, sig);
    cmd(a, line, prompt_a, "data:-1"); /* public:_ keys are not in the commit log */
}

static void test_pol_by_hand(void **state)
{
    struct net_bclient *a, *c;
    struct np_rsa_key *other = NULL, *signing = NULL;
    char sid_key[256], proof[256], buf[8192], *sig = NULL;

    (void)state;
    a = login(port_a, ALICE, alice_keys);
    /* pol before from */
    c = connect_with(port_b, cert, key);
    cmd(c, "pol", "@", "error:AT0401-Exception: You must execute a 'from:' command before pol");
    net_bclient_close(c);
    /* a proof signed with another key */
    c = from_alice(sid_key, sizeof(sid_key), proof, sizeof(proof));
    assert_int_equal(np_rsa_generate(&other), 0);
    assert_int_equal(np_rsa_sign_b64(other, NP_HASH_SHA256, proof, strlen(proof), &sig), 0);
    publish(a, sid_key, sig);
    np_free(sig);
    sig = NULL;
    cmd(c, "pol", "@", "error:AT0401-Exception: Pol Authentication Failed");
    /* no proof published at all */
    net_bclient_close(c);
    c = from_alice(sid_key, sizeof(sid_key), proof, sizeof(proof));
    cmd(c, "pol", "@", "error:AT0401-Exception: Pol Authentication Failed");
    net_bclient_close(c);
    /* the real signing key of @alice's server: pol succeeds */
    cmd_prefix(a, "llookup:" ALICE ":signing_privatekey" ALICE, prompt_a, "data:", buf,
               sizeof(buf));
    assert_int_equal(np_rsa_from_private_b64(buf, &signing), 0);
    c = from_alice(sid_key, sizeof(sid_key), proof, sizeof(proof));
    assert_int_equal(np_rsa_sign_b64(signing, NP_HASH_SHA256, proof, strlen(proof), &sig), 0);
    publish(a, sid_key, sig);
    assert_int_equal(net_bclient_send_line(c, "pol", ASTEST_TIMEOUT_MS), 0);
    read_exact(c, ALICE "@");
    /* pol visibility: @alice:<k>@bob only, owner verbs refused */
    cmd(c, "lookup:shared.s2s" BOB, ALICE "@", "data:hello-alice");
    cmd_prefix(c, "lookup:pub.s2s" BOB, "@", "error:AT0015-", NULL, 0);
    cmd_prefix(c, "llookup:public:pub.s2s" BOB, "@", "error:AT0401-", NULL, 0);
    net_bclient_close(c);
    np_free(sig);
    np_rsa_free(other);
    np_rsa_free(signing);
    net_bclient_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_lookup), cmocka_unit_test(test_notify),
        cmocka_unit_test(test_receiver_down), cmocka_unit_test(test_client_certificates),
        cmocka_unit_test(test_pol_by_hand),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
