/*
 * Fault injection and bad input against the real atserver binary on
 * 127.0.0.1 (issue 9, items 3-5; helpers in tests/protocol/astest.h):
 *
 *   1. disk full: while the server runs, its file size limit is lowered to
 *      a little above its largest data file (prlimit(2) on its pid,
 *      RLIMIT_FSIZE soft limit, hard limit untouched; the server ignores
 *      SIGXFSZ, so writes fail with EFBIG exactly where a full disk fails
 *      them - and this works for root, unlike a read-only folder). The test
 *      writes 32 KiB values until one is refused: the refusal is an
 *      error:AT0002 line, everything acknowledged before stays readable,
 *      reads (llookup, plookup by another atSign) keep working while full,
 *      and once the limit is lifted ("space returns") writes work again;
 *      after a restart every acknowledged key is still there. The server's
 *      log goes through a FIFO to a `cat` process, so the limit never hits
 *      the log file.
 *   2. SIGKILL during a burst of 1,000 pipelined updates (batches of 50
 *      lines in flight): the server is killed after a random number of
 *      acknowledgements; after a restart every key that got `data:` has its
 *      value, and no key has a wrong one.
 *   3. bad input from an authenticated client: a line over the 10,240,000
 *      byte limit (AT0005, connection closed, the server serves the next
 *      connection), update:json with 100,000 levels of nesting and with
 *      wrong member types (value and metadata), absurd metadata numbers,
 *      invalid UTF-8 and a NUL byte in keys and values, a deeply nested
 *      clientConfig in `from`, enroll:request with nesting and wrong types
 *      on a cram connection:
 *      each gets one error line (or, for opaque value bytes, a normal
 *      answer) and the very next good command on the same connection is
 *      answered correctly.
 * Every process is stopped by pid (group teardown, PR_SET_PDEATHSIG).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astest.h"
#include "crypto/rand.h"
#include "fault_common.h"
#include "itest.h"
#include "net/bclient.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#define BIG_VALUE  (32 * 1024)
#define FILL_MAX   3000
#define BURST      1000
#define BATCH      50
#define RESP_MAX   (BIG_VALUE + 4096)
#define LINE_LIMIT 10240000 /* AT_LINE_MAX: the authenticated line limit */

static const char *prog;
static char dir[512], ca[700], cert[700], key[700], data[600], conf[600];
static char log_path[600], fifo[600];
static struct np_atkeys *alice_keys, *bob_keys;
static pid_t pid = -1, cat_pid = -1;
static int port_a, port_b;
static char prompt_a[64], prompt_b[64];
static char *resp; /* RESP_MAX bytes */

/* ---- the server --------------------------------------------------------- */

/* Start the server with its output through a FIFO drained by cat into
 * log_path (a file the server never writes itself). */
static void start(void)
{
    const char *atsigns[2] = {ASTEST_ALICE, ASTEST_BOB};
    const char *cat_argv[] = {"/bin/cat", fifo, NULL};
    int ports[2];

    assert_int_equal(itest_spawn(cat_argv, log_path, &cat_pid), 0);
    assert_int_equal(
        astest_start(prog, data, cert, key, conf, fifo, log_path, atsigns, ports, 2, &pid), 0);
    port_a = ports[0];
    port_b = ports[1];
}

static void stop(int sig)
{
    int st = -1;

    if (pid > 0) {
        if (sig == SIGKILL)
            kill(pid, SIGKILL);
        assert_int_equal(itest_stop(pid, 10000, &st), 0);
        pid = -1;
        assert_int_equal(st, sig == SIGKILL ? 128 + SIGKILL : 0);
    }
    /* cat ends with the server's output; its sanitizer-free exit is 0 */
    assert_int_equal(fault_wait_exit(cat_pid, 10000, &st), 0);
    cat_pid = -1;
    assert_int_equal(st, 0);
}

static struct net_bclient *login(int port, const char *atsign, const struct np_atkeys *k)
{
    struct net_bclient *c = NULL;

    assert_int_equal(astest_connect(port, ca, &c), 0);
    assert_int_equal(astest_login_pkam(c, atsign, k), 0);
    return c;
}

/* Send line, return the response body (in resp). */
static const char *cmd(struct net_bclient *c, const char *line, const char *prompt)
{
    int r = astest_cmd(c, line, prompt, resp, RESP_MAX);

    if (r != 0)
        fail_msg("\"%.80s\": no response (%s)", line, np_strerror(r));
    return resp;
}

static void cmd_is(struct net_bclient *c, const char *line, const char *prompt, const char *want)
{
    const char *got = cmd(c, line, prompt);

    if (strcmp(got, want) != 0)
        fail_msg("\"%.80s\" answered \"%.200s\", expected \"%.200s\"", line, got, want);
}

/* whatever else comes first, the connection ends */
static void expect_eof(struct net_bclient *c)
{
    assert_int_equal(astest_read_to_end(c), NP_ERR_EOF);
}

/* Largest regular file under path (recursively). */
static off_t largest_file(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    off_t max = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char p[1200];
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            off_t m = largest_file(p);
            if (m > max)
                max = m;
        } else if (S_ISREG(st.st_mode) && st.st_size > max) {
            max = st.st_size;
        }
    }
    closedir(d);
    return max;
}

static void set_fsize(rlim_t soft)
{
    struct rlimit rl;

    assert_int_equal(prlimit(pid, RLIMIT_FSIZE, NULL, &rl), 0);
    rl.rlim_cur = soft;
    assert_int_equal(prlimit(pid, RLIMIT_FSIZE, &rl, NULL), 0);
}

/* ---- setup -------------------------------------------------------------- */

static int group_setup(void **state)
{
    char caout[560];
    FILE *f;

    (void)state;
    signal(SIGPIPE, SIG_IGN); /* the server may close while we still send */
    np_log_set_level(NP_LOG_WARN);
    prog = itest_env("NP_ATSERVER", NULL);
    if (itest_tmpdir("fault-store", dir, sizeof(dir)) != 0)
        return -1;
    snprintf(caout, sizeof(caout), "%s/ca", dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", caout);
    snprintf(cert, sizeof(cert), "%s/server.pem", caout);
    snprintf(key, sizeof(key), "%s/server.key", caout);
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(log_path, sizeof(log_path), "%s/server.log", dir);
    snprintf(fifo, sizeof(fifo), "%s/server.fifo", dir);
    snprintf(conf, sizeof(conf), "%s/server.conf", dir);
    snprintf(prompt_a, sizeof(prompt_a), "%s@", ASTEST_ALICE);
    snprintf(prompt_b, sizeof(prompt_b), "%s@", ASTEST_BOB);
    if ((resp = malloc(RESP_MAX)) == NULL || mkfifo(fifo, 0600) != 0 || itest_mkca(caout) != 0 ||
        astest_load_atkeys(dir, "alice-wrench.atKeys", &alice_keys) != 0 ||
        astest_load_atkeys(dir, "bob-wrench.atKeys", &bob_keys) != 0)
        return -1;
    if (astest_create(prog, data, ASTEST_ALICE, 40001, ASTEST_ALICE_SECRET) != 0 ||
        astest_create(prog, data, ASTEST_BOB, 40002, ASTEST_BOB_SECRET) != 0 ||
        astest_set_port(data, ASTEST_ALICE, 0) != 0 || astest_set_port(data, ASTEST_BOB, 0) != 0)
        return -1;
    if ((f = fopen(conf, "w")) == NULL)
        return -1;
    fputs("stats_interval_s = -1\n", f);
    fclose(f);
    /* provision both atSigns once */
    {
        const char *atsigns[2] = {ASTEST_ALICE, ASTEST_BOB};
        const char *cat_argv[] = {"/bin/cat", fifo, NULL};
        int ports[2], st = -1, r;
        if (itest_spawn(cat_argv, log_path, &cat_pid) != 0 ||
            astest_start(prog, data, cert, key, conf, fifo, log_path, atsigns, ports, 2, &pid) != 0)
            return -1;
        r = astest_provision(ports[0], ca, ASTEST_ALICE, ASTEST_ALICE_SECRET, alice_keys) == 0 &&
                    astest_provision(ports[1], ca, ASTEST_BOB, ASTEST_BOB_SECRET, bob_keys) == 0
                ? 0
                : -1;
        itest_stop(pid, 10000, &st);
        pid = -1;
        fault_wait_exit(cat_pid, 10000, NULL);
        cat_pid = -1;
        if (r != 0 || st != 0)
            return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(pid, 5000, NULL);
    itest_stop(cat_pid, 5000, NULL);
    np_atkeys_free(alice_keys);
    np_atkeys_free(bob_keys);
    free(resp);
    if (getenv("NP_KEEP_TMP") == NULL)
        itest_rmtree(dir);
    return 0;
}

/* ---- 1. disk full ------------------------------------------------------- */

static char *fill_value(int i)
{
    char *v = malloc(BIG_VALUE + 1);

    assert_non_null(v);
    memset(v, 'a' + i % 26, BIG_VALUE);
    snprintf(v, 16, "fill%05d-", i);
    v[strlen(v)] = 'z'; /* overwrite the NUL snprintf left */
    v[BIG_VALUE] = '\0';
    return v;
}

static void read_fill(struct net_bclient *c, int i)
{
    char line[128], *v = fill_value(i);

    snprintf(line, sizeof(line), "llookup:public:fill%d%s", i, ASTEST_ALICE);
    cmd(c, line, prompt_a);
    if (strncmp(resp, "data:", 5) != 0 || strcmp(resp + 5, v) != 0)
        fail_msg("fill%d: \"%.60s...\"", i, resp);
    free(v);
}

static void test_disk_full(void **state)
{
    struct net_bclient *a, *b;
    char line[128], errline[512];
    static char big[BIG_VALUE + 256];
    off_t limit;
    int acked = 0, refused = -1;
    (void)state;

    start();
    a = login(port_a, ASTEST_ALICE, alice_keys);
    cmd(a, "update:public:before" ASTEST_ALICE " kept", prompt_a);
    assert_true(strncmp(resp, "data:", 5) == 0);
    /* the "disk" has a little room left */
    limit = largest_file(data) + 256 * 1024;
    set_fsize((rlim_t)limit);
    for (int i = 0; i < FILL_MAX; i++) {
        char *v = fill_value(i);
        snprintf(big, sizeof(big), "update:public:fill%d%s %s", i, ASTEST_ALICE, v);
        free(v);
        cmd(a, big, prompt_a);
        if (strncmp(resp, "data:", 5) != 0) {
            refused = i;
            snprintf(errline, sizeof(errline), "%s", resp);
            break;
        }
        acked++;
    }
    if (refused < 0)
        fail_msg("%d writes of %d bytes fitted under a %lld byte file limit", FILL_MAX, BIG_VALUE,
                 (long long)limit);
    if (strncmp(errline, "error:AT0002-", 13) != 0)
        fail_msg("the refused write answered \"%s\"", errline);
    expect_eof(a); /* AT0002 closes the connection */
    net_bclient_close(a);
    assert_true(acked > 0);
    assert_true(fault_alive(pid));

    /* still full: reads work, writes are refused, nothing is lost */
    a = login(port_a, ASTEST_ALICE, alice_keys);
    cmd_is(a, "llookup:public:before" ASTEST_ALICE, prompt_a, "data:kept");
    read_fill(a, 0);
    read_fill(a, acked - 1);
    snprintf(line, sizeof(line), "llookup:public:fill%d%s", refused, ASTEST_ALICE);
    cmd(a, line, prompt_a);
    assert_true(strncmp(resp, "error:AT0015-", 13) == 0);
    b = login(port_b, ASTEST_BOB, bob_keys);
    cmd_is(b, "plookup:before" ASTEST_ALICE, prompt_b, "data:kept");
    cmd(b, "update:public:fill999999" ASTEST_BOB " x", prompt_b);
    net_bclient_close(b);

    /* space returns */
    set_fsize(RLIM_INFINITY);
    cmd(a, "update:public:after" ASTEST_ALICE " yes", prompt_a);
    assert_true(strncmp(resp, "data:", 5) == 0);
    cmd_is(a, "llookup:public:after" ASTEST_ALICE, prompt_a, "data:yes");
    net_bclient_close(a);

    /* and after a restart everything acknowledged is there */
    stop(SIGTERM);
    assert_true(itest_log_count(log_path, "storage failure while update") >= 1);
    start();
    a = login(port_a, ASTEST_ALICE, alice_keys);
    for (int i = 0; i < acked; i++)
        read_fill(a, i);
    cmd_is(a, "llookup:public:after" ASTEST_ALICE, prompt_a, "data:yes");
    cmd_is(a, "llookup:public:before" ASTEST_ALICE, prompt_a, "data:kept");
    net_bclient_close(a);
    stop(SIGTERM);
}

/* ---- 2. SIGKILL during a burst ------------------------------------------ */

static void test_kill_during_burst(void **state)
{
    struct net_bclient *a;
    static char batch[BATCH * 160];
    static unsigned char acked[BURST];
    char token[17], line[256];
    uint32_t rnd = 0;
    int kill_after, n_acked = 0, sent = 0, read_done = 0, dead = 0;
    (void)state;

    assert_int_equal(np_random_bytes(&rnd, sizeof(rnd)), 0);
    kill_after = 100 + (int)(rnd % 800); /* somewhere in the middle */
    snprintf(token, sizeof(token), "%08x", (unsigned)(rnd ^ 0x5a5a5a5au));
    memset(acked, 0, sizeof(acked));
    start();
    a = login(port_a, ASTEST_ALICE, alice_keys);
    while (read_done < BURST && !dead) {
        size_t len = 0;
        /* keep up to two batches in flight */
        while (sent < BURST && sent - read_done < 2 * BATCH) {
            len = 0;
            for (int k = 0; k < BATCH && sent < BURST; k++, sent++)
                len += (size_t)snprintf(batch + len, sizeof(batch) - len,
                                        "update:public:burst%d%s v%d-%s\n", sent, ASTEST_ALICE,
                                        sent, token);
            if (net_bclient_write(a, batch, len, ASTEST_TIMEOUT_MS) != 0) {
                dead = 1;
                break;
            }
        }
        if (dead)
            break;
        if (astest_read_response(a, prompt_a, resp, RESP_MAX) != 0) {
            dead = 1;
            break;
        }
        if (strncmp(resp, "data:", 5) == 0) {
            acked[read_done] = 1;
            n_acked++;
        }
        read_done++;
        if (n_acked == kill_after && pid > 0) {
            kill(pid, SIGKILL);
            /* what was already answered still counts: keep reading to EOF */
        }
    }
    net_bclient_close(a);
    assert_true(n_acked >= kill_after);
    assert_true(n_acked < BURST); /* the kill came before the end */
    stop(SIGKILL);

    start();
    a = login(port_a, ASTEST_ALICE, alice_keys);
    for (int i = 0; i < BURST; i++) {
        char want[64];
        snprintf(line, sizeof(line), "llookup:public:burst%d%s", i, ASTEST_ALICE);
        snprintf(want, sizeof(want), "data:v%d-%s", i, token);
        cmd(a, line, prompt_a);
        if (acked[i] && strcmp(resp, want) != 0)
            fail_msg("burst%d was acknowledged but reads \"%s\"", i, resp);
        if (!acked[i] && strcmp(resp, want) != 0 && strncmp(resp, "error:AT0015-", 13) != 0)
            fail_msg("burst%d (not acknowledged) reads \"%s\"", i, resp);
    }
    net_bclient_close(a);
    stop(SIGTERM);
}

/* ---- 3. bad input ------------------------------------------------------- */

/* The connection still answers a good command correctly. */
static void still_good(struct net_bclient *c, const char *after)
{
    const char *got = cmd(c, "llookup:public:good" ASTEST_ALICE, prompt_a);

    if (strcmp(got, "data:fine") != 0)
        fail_msg("after %s the good command answered \"%.200s\"", after, got);
}

/* Send line; the answer must be an error line; then the good command. */
static void bad(struct net_bclient *c, const char *what, const char *line)
{
    const char *got = cmd(c, line, prompt_a);

    if (strncmp(got, "error:AT", 8) != 0)
        fail_msg("%s answered \"%.200s\", expected an error", what, got);
    still_good(c, what);
}

/* "[[[...]]]" nested depth deep, inside prefix/suffix, as a new string. */
static char *nested(const char *prefix, size_t depth, const char *suffix)
{
    size_t n = strlen(prefix) + 2 * depth + strlen(suffix);
    char *s = malloc(n + 1), *p;

    assert_non_null(s);
    p = s + strlen(prefix);
    memcpy(s, prefix, strlen(prefix));
    memset(p, '[', depth);
    memset(p + depth, ']', depth);
    memcpy(p + 2 * depth, suffix, strlen(suffix) + 1);
    return s;
}

static void test_bad_input(void **state)
{
    struct net_bclient *a, *x;
    char *s;
    (void)state;

    start();
    a = login(port_a, ASTEST_ALICE, alice_keys);
    cmd(a, "update:public:good" ASTEST_ALICE " fine", prompt_a);
    assert_true(strncmp(resp, "data:", 5) == 0);

    /* JSON where the server parses JSON */
    s = nested("update:json:", 100000, "");
    bad(a, "update:json nested 100000 deep", s);
    free(s);
    s = nested("update:json:{\"atKey\":\"public:deep" ASTEST_ALICE "\",\"value\":", 100000, "}");
    bad(a, "update:json with a 100000 deep value", s);
    free(s);
    bad(a, "update:json atKey 5", "update:json:{\"atKey\":5,\"value\":{}}");
    bad(a, "update:json wrong member types",
        "update:json:{\"atKey\":\"public:wt" ASTEST_ALICE
        "\",\"value\":\"v\",\"sharedBy\":7,\"metadata\":\"no\"}");
    s = nested("update:json:{\"atKey\":\"public:dm" ASTEST_ALICE
               "\",\"value\":\"v\",\"metadata\":{\"ttl\":",
               100000, "}}");
    bad(a, "update:json with 100000 deep metadata", s);
    free(s);
    bad(a, "update:json metadata of wrong types",
        "update:json:{\"atKey\":\"public:mt" ASTEST_ALICE
        "\",\"value\":\"v\",\"sharedBy\":\"" ASTEST_ALICE
        "\",\"sharedWith\":null,\"metadata\":{\"ttl\":\"abc\",\"isBinary\":[1],"
        "\"dataSignature\":{}}}");
    bad(a, "update:json array", "update:json:[1,2,3]");
    bad(a, "update:json truncated", "update:json:{\"atKey\":\"public:tr" ASTEST_ALICE "\",\"va");

    /* metadata numbers */
    bad(a, "ttl overflow", "update:ttl:99999999999999999999999:public:ovf" ASTEST_ALICE " v");
    bad(a, "ttr overflow", "update:ttr:-99999999999999999999999:public:ovf" ASTEST_ALICE " v");
    bad(a, "noop overflow", "noop:99999999999999999999999");

    /* invalid UTF-8 and NUL bytes in keys: refused or not, no crash */
    cmd(a, "update:public:bad\xff\xfekey" ASTEST_ALICE " v", prompt_a);
    assert_true(strncmp(resp, "error:AT", 8) == 0 || strncmp(resp, "data:", 5) == 0);
    still_good(a, "an invalid UTF-8 key");
    cmd(a, "llookup:public:\xc0\x80" ASTEST_ALICE, prompt_a);
    assert_true(strncmp(resp, "error:AT", 8) == 0);
    still_good(a, "an overlong UTF-8 key");
    /* values are opaque bytes: stored and read back exactly */
    cmd(a, "update:public:badval" ASTEST_ALICE " \xff\xfe\xc0\x80\xed\xa0\x80", prompt_a);
    if (strncmp(resp, "data:", 5) == 0)
        cmd_is(a, "llookup:public:badval" ASTEST_ALICE, prompt_a,
               "data:\xff\xfe\xc0\x80\xed\xa0\x80");
    else
        assert_true(strncmp(resp, "error:AT", 8) == 0);
    still_good(a, "an invalid UTF-8 value");
    {
        static const char nul[] = "update:public:nul" ASTEST_ALICE " a\0b\n";
        assert_int_equal(net_bclient_write(a, nul, sizeof(nul) - 1, ASTEST_TIMEOUT_MS), 0);
        assert_int_equal(astest_read_response(a, prompt_a, resp, RESP_MAX), 0);
        assert_true(strncmp(resp, "error:AT", 8) == 0 || strncmp(resp, "data:", 5) == 0);
        still_good(a, "a NUL byte in a line");
    }
    /* scan still lists keys after all that */
    cmd(a, "scan", prompt_a);
    assert_true(strncmp(resp, "data:[", 6) == 0);
    assert_non_null(strstr(resp, "public:good" ASTEST_ALICE));
    still_good(a, "scan");

    /* a deeply nested clientConfig before authentication */
    assert_int_equal(astest_connect(port_a, ca, &x), 0);
    s = nested("from:" ASTEST_ALICE ":clientConfig:{\"version\":", 30000, "}");
    assert_int_equal(astest_cmd(x, s, "@", resp, RESP_MAX), 0);
    free(s);
    assert_true(strncmp(resp, "error:AT", 8) == 0 || strncmp(resp, "data:", 5) == 0);
    net_bclient_close(x);

    /* enroll:request (JSON) on a cram connection: nesting and wrong types */
    assert_int_equal(astest_connect(port_b, ca, &x), 0);
    assert_int_equal(astest_login_cram(x, ASTEST_BOB, ASTEST_BOB_SECRET), 0);
    s = nested("enroll:request:{\"apkamPublicKey\":", 100000, "}");
    assert_int_equal(astest_cmd(x, s, prompt_b, resp, RESP_MAX), 0);
    free(s);
    assert_true(strncmp(resp, "error:AT", 8) == 0);
    assert_int_equal(astest_cmd(x, "enroll:request:{\"apkamPublicKey\":5,\"appName\":[]}", prompt_b,
                                resp, RESP_MAX),
                     0);
    assert_true(strncmp(resp, "error:AT", 8) == 0);
    assert_int_equal(astest_cmd(x, "llookup:public:publickey" ASTEST_BOB, prompt_b, resp, RESP_MAX),
                     0);
    assert_true(strncmp(resp, "data:", 5) == 0 && strlen(resp) > 100);
    net_bclient_close(x);

    /* a line over the limit: AT0005, then the connection is closed. Exactly
     * the limit without a newline, so that the server has read every byte
     * when it closes (no reset racing its answer). */
    s = malloc(LINE_LIMIT);
    assert_non_null(s);
    memset(s, 'v', LINE_LIMIT);
    memcpy(s, "update:public:huge" ASTEST_ALICE " ", strlen("update:public:huge" ASTEST_ALICE " "));
    for (size_t off = 0; off < LINE_LIMIT;) {
        size_t n = LINE_LIMIT - off < 16384 ? LINE_LIMIT - off : 16384;
        if (net_bclient_write(a, s + off, n, ASTEST_TIMEOUT_MS) != 0)
            break; /* the server may close before it read everything */
        off += n;
    }
    free(s);
    assert_int_equal(astest_read_response(a, prompt_a, resp, RESP_MAX), 0);
    if (strncmp(resp, "error:AT0005-", 13) != 0)
        fail_msg("an over-long line answered \"%.200s\"", resp);
    expect_eof(a);
    net_bclient_close(a);

    /* the server is fine: a new connection, the same data */
    a = login(port_a, ASTEST_ALICE, alice_keys);
    still_good(a, "an over-long line on another connection");
    cmd(a, "llookup:public:huge" ASTEST_ALICE, prompt_a);
    assert_true(strncmp(resp, "error:AT0015-", 13) == 0);
    net_bclient_close(a);
    stop(SIGTERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_kill_during_burst),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
