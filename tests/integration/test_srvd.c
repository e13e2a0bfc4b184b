/*
 * Integration test of the srvd binary against our REAL atdirectory and
 * atserver on 127.0.0.1. One atserver process hosts the relay @relay1, the
 * client @alice🛠 (the relay's --manager) and the daemon @bob🛠 (official demo
 * fixtures, provisioned as the official VE does it: tests/integration/lib
 * itest_at_*). As @alice🛠, through lib/at, the test sends request_ports
 * notifications (np/relay_msg.h) and reads the answer on its own monitor:
 *   - CSV answer; two sockets to portA/portB, each authenticated with its
 *     side's legacy auth line (np/relay_auth.h: alice's and bob's
 *     encryption keys), then 64 MiB each way arrive unchanged (every byte
 *     compared with a deterministic stream);
 *   - 100 authenticated pairs in one session pair in order (FIFO);
 *   - JSON answer when sendJsonResponse is set;
 *   - a request from @bob🛠 (not the manager) gets nothing (bounded wait);
 *   - the atserver is restarted while srvd runs: srvd logs the loss and the
 *     reconnection once each and answers a new request within 10 s.
 * Every process is stopped by pid (and gets SIGTERM through
 * PR_SET_PDEATHSIG if this process dies); the temp dir is removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "at/client.h"
#include "at/client_sync.h"
#include "at/monitor.h"
#include "crypto/atkeys.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "crypto/rsa.h"
#include "itest.h"
#include "np/relay_auth.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#define DATA_LEN ((size_t)64 << 20) /* each way */

static struct itest_at env;
static char srvd_log[600];
static pid_t srvd_pid = -1;
static struct itest_demo demo;

static int log_count(const char *text)
{
    return itest_log_count(srvd_log, text);
}

/* Does srvd's log hold `text` at least `times` times (polled, at most ms)? */
static int log_has_n(const char *text, int times, int ms)
{
    return itest_log_wait(srvd_log, text, times, ms);
}

static int start_srvd(void)
{
    const char *argv[] = {itest_env("NP_SRVD", "srvd"),
                          "-a",
                          ITEST_RELAY,
                          "-i",
                          "127.0.0.1",
                          "-m",
                          ITEST_ALICE,
                          "-k",
                          demo.relay,
                          "--root-domain",
                          env.root,
                          "--ca-file",
                          env.ca,
                          "--bind",
                          "127.0.0.1",
                          "-v",
                          NULL};

    if (itest_spawn(argv, srvd_log, &srvd_pid) != 0)
        return -1;
    if (!log_has_n("monitor connection available", 1, 60000) ||
        !log_has_n("command connection available", 1, 60000)) {
        itest_dump_file("srvd log", srvd_log);
        itest_dump_file("atserver log", env.srv_log);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;

    np_log_set_level(NP_LOG_WARN);
    if (itest_at_setup(&env, "srvd") != 0)
        return -1;
    snprintf(srvd_log, sizeof(srvd_log), "%s/srvd.log", env.dir);
    if (itest_at_demo(&env, 1, &demo) != 0)
        return -1;
    return start_srvd();
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(srvd_pid, 5000, NULL);
    itest_demo_free(&demo);
    itest_at_teardown(&env);
    return 0;
}

/* ---- one request and its answer ----------------------------------------- */

struct heard {
    struct at_sync *s;
    int n;
    char key[512];
    char value[4096];
};

static void on_answer(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    struct heard *h = data;
    (void)m;

    if (!n->key || !n->value || !n->from || strcmp(n->from, ITEST_RELAY) != 0)
        return;
    h->n++;
    snprintf(h->key, sizeof(h->key), "%s", n->key);
    snprintf(h->value, sizeof(h->value), "%.*s", (int)n->value_len, n->value);
    at_sync_stop(h->s);
}

/*
 * As `as` (keys k) ask the relay for a session (atSignA = as, atSignB =
 * ITEST_BOB, both sides authenticated) and wait at most ms for the answer.
 * Returns the at_sync_monitor result (NP_ERR_TIMEOUT: no answer).
 */
static int request(const char *as, const struct np_atkeys *k, int json, int ms, char *sid,
                   char *nonce, struct heard *h)
{
    struct np_relay_request rq;
    struct at_client_opts o;
    struct at_client_notify no;
    struct at_monitor_opts mo;
    struct at_sync *s = NULL;
    char err[512], regex[128], *text = NULL;
    int64_t since = np_wall_ms() - 1000;
    int r;

    memset(h, 0, sizeof(*h));
    assert_int_equal(np_uuid4(sid), 0);
    snprintf(nonce, 64, "nonce-%lld", (long long)np_wall_ms());
    memset(&rq, 0, sizeof(rq));
    rq.session_id = sid;
    rq.atsign_a = (char *)as;
    rq.atsign_b = (char *)ITEST_BOB;
    rq.authenticate_a = 1;
    rq.authenticate_b = 1;
    rq.client_nonce = nonce;
    rq.multiple_acks_ok = 1;
    rq.send_json_response = json;
    assert_int_equal(np_relay_request_build(&rq, NP_RELAY_REQ_NEWER, &text), 0);

    itest_at_opts(&env, &o, as, k, 15000);
    if (at_sync_open(&o, &s, err, sizeof(err)) != 0) {
        np_free(text);
        fail_msg("open %s: %s", as, err);
    }
    h->s = s;
    memset(&no, 0, sizeof(no));
    no.to = ITEST_RELAY;
    no.key = "garage.request_ports.sshrvd";
    no.value = text;
    no.ttl = 10000;
    no.ttln = 60000;
    if ((r = at_sync_notify(s, &no, NULL)) != 0) {
        fprintf(stderr, "notify as %s: %s\n", as, at_sync_error(s));
        goto out;
    }
    memset(&mo, 0, sizeof(mo));
    snprintf(regex, sizeof(regex), "%s\\.sshrvd", sid);
    mo.regex = regex;
    mo.since_epoch_ms = since; /* the answer may come before the monitor starts */
    r = at_sync_monitor(s, &mo, on_answer, h, ms);
out:
    np_free(text);
    at_sync_close(s);
    return r;
}

/* ---- the data path ------------------------------------------------------ */

static int connect_to(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_auth(int fd, const struct np_atkeys *k, const char *sid, const char *cn,
                      const char *rn)
{
    struct np_rsa_key *priv = NULL;
    char *line = NULL;
    size_t len = 0;

    assert_int_equal(np_rsa_from_private_b64(k->enc_private_b64, &priv), 0);
    assert_int_equal(np_relay_auth_line_build(priv, sid, cn, rn, &line, &len), 0);
    assert_int_equal(write(fd, line, len), (ssize_t)len);
    np_free(line);
    np_rsa_free(priv);
}

/* Byte `off` onwards of the deterministic stream `seed` (splitmix64 of
 * the 8-byte block index): both ends can produce it at any offset, so 64 MiB
 * are checked exactly without being held in memory. */
static void gen(uint64_t seed, size_t off, unsigned char *dst, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = off + k;
        uint64_t x = seed + (uint64_t)(i / 8) * 0x9E3779B97F4A7C15ull;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        x ^= x >> 31;
        dst[k] = (unsigned char)(x >> (8 * (i % 8)));
    }
}

#define CHUNK 65536

/* Read exactly n bytes (the socket has SO_RCVTIMEO set); 0 or -1. */
static int read_exact(int fd, char *dst, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(fd, dst + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Move len bytes of stream sa a->b and of stream sb b->a at the same time
 * (non-blocking, at most 120 s); every received byte is compared with the
 * stream it must be. */
static void pump_both(int a, int b, size_t len, uint64_t sa, uint64_t sb)
{
    static unsigned char out[CHUNK], in[CHUNK], want[CHUNK];
    size_t w[2] = {0, 0}, r[2] = {0, 0};
    int fd[2] = {a, b};
    uint64_t seed[2] = {sa, sb};
    int64_t end = np_mono_ms() + 120000;

    fcntl(a, F_SETFL, O_NONBLOCK);
    fcntl(b, F_SETFL, O_NONBLOCK);
    while (w[0] < len || w[1] < len || r[0] < len || r[1] < len) {
        struct pollfd p[2];

        assert_true(np_mono_ms() < end);
        for (int s = 0; s < 2; s++) {
            p[s].fd = fd[s];
            p[s].events = (short)((w[s] < len ? POLLOUT : 0) | (r[s] < len ? POLLIN : 0));
            p[s].revents = 0;
        }
        if (poll(p, 2, 1000) < 0 && errno != EINTR)
            fail_msg("poll: %s", strerror(errno));
        for (int s = 0; s < 2; s++) {
            ssize_t n;
            size_t m;
            if ((p[s].revents & POLLOUT) && w[s] < len) {
                m = len - w[s] < CHUNK ? len - w[s] : CHUNK;
                gen(seed[s], w[s], out, m);
                if ((n = write(fd[s], out, m)) > 0)
                    w[s] += (size_t)n;
            }
            if ((p[s].revents & (POLLIN | POLLHUP | POLLERR)) && r[s] < len) {
                m = len - r[s] < CHUNK ? len - r[s] : CHUNK;
                n = read(fd[s], in, m);
                if (n == 0)
                    fail_msg("side %c closed after %zu bytes", s ? 'B' : 'A', r[s]);
                if (n > 0) {
                    /* side s receives the other side's stream */
                    gen(seed[1 - s], r[s], want, (size_t)n);
                    if (memcmp(in, want, (size_t)n) != 0)
                        fail_msg("side %c: wrong bytes at offset %zu", s ? 'B' : 'A', r[s]);
                    r[s] += (size_t)n;
                }
            }
        }
    }
}

static void test_csv_answer_and_data(void **state)
{
    char sid[NP_UUID_STR_LEN + 1], cn[64];
    struct np_relay_answer *ans = NULL;
    struct heard h;
    int a, b;
    (void)state;

    if (request(ITEST_ALICE, demo.ka, 0, 30000, sid, cn, &h) != 0 || h.n != 1) {
        itest_dump_file("srvd log", srvd_log);
        fail_msg("no answer");
    }
    assert_non_null(strstr(h.key, sid));
    assert_null(strstr(h.key, "nack."));
    assert_true(h.value[0] != '{');
    assert_int_equal(np_relay_answer_parse(h.value, strlen(h.value), &ans), 0);
    assert_false(ans->json);
    assert_string_equal(ans->address, "127.0.0.1");
    assert_non_null(ans->rvd_nonce);
    assert_true(ans->port_a != ans->port_b);

    a = connect_to(ans->port_a);
    b = connect_to(ans->port_b);
    send_auth(a, demo.ka, sid, cn, ans->rvd_nonce);
    send_auth(b, demo.kb, sid, cn, ans->rvd_nonce);
    pump_both(a, b, DATA_LEN, 0x1234567890abcdefull ^ (uint64_t)np_wall_ms(),
              0xfedcba0987654321ull ^ (uint64_t)np_wall_ms());
    close(a);
    close(b);
    np_relay_answer_free(ans);
}

/* 100 authenticated pairs in one session (npt multi mode): side A's i-th
 * socket is paired with side B's i-th (FIFO), each pair carries its own
 * bytes both ways. */
#define NPAIRS 100
static void test_hundred_pairs_in_order(void **state)
{
    char sid[NP_UUID_STR_LEN + 1], cn[64], tag[32], got[32];
    struct np_relay_answer *ans = NULL;
    static int fa[NPAIRS], fb[NPAIRS];
    struct heard h;
    (void)state;

    if (request(ITEST_ALICE, demo.ka, 0, 30000, sid, cn, &h) != 0 || h.n != 1) {
        itest_dump_file("srvd log", srvd_log);
        fail_msg("no answer");
    }
    assert_int_equal(np_relay_answer_parse(h.value, strlen(h.value), &ans), 0);
    for (int i = 0; i < NPAIRS; i++) {
        fa[i] = connect_to(ans->port_a);
        send_auth(fa[i], demo.ka, sid, cn, ans->rvd_nonce);
    }
    for (int i = 0; i < NPAIRS; i++) {
        fb[i] = connect_to(ans->port_b);
        send_auth(fb[i], demo.kb, sid, cn, ans->rvd_nonce);
    }
    for (int i = 0; i < NPAIRS; i++) {
        struct timeval tv = {30, 0};
        int n = snprintf(tag, sizeof(tag), "pair %03d A->B\n", i);
        assert_int_equal(setsockopt(fb[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        assert_int_equal(setsockopt(fa[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        assert_int_equal(write(fa[i], tag, (size_t)n), n);
        memset(got, 0, sizeof(got));
        assert_int_equal(read_exact(fb[i], got, (size_t)n), 0);
        assert_string_equal(got, tag);
        n = snprintf(tag, sizeof(tag), "pair %03d B->A\n", i);
        assert_int_equal(write(fb[i], tag, (size_t)n), n);
        memset(got, 0, sizeof(got));
        assert_int_equal(read_exact(fa[i], got, (size_t)n), 0);
        assert_string_equal(got, tag);
    }
    for (int i = 0; i < NPAIRS; i++) {
        close(fa[i]);
        close(fb[i]);
    }
    np_relay_answer_free(ans);
}

static void test_json_answer(void **state)
{
    char sid[NP_UUID_STR_LEN + 1], cn[64];
    struct np_relay_answer *ans = NULL;
    struct heard h;
    (void)state;

    assert_int_equal(request(ITEST_ALICE, demo.ka, 1, 30000, sid, cn, &h), 0);
    assert_int_equal(h.n, 1);
    assert_true(h.value[0] == '{');
    assert_int_equal(np_relay_answer_parse(h.value, strlen(h.value), &ans), 0);
    assert_true(ans->json);
    assert_string_equal(ans->address, "127.0.0.1");
    assert_non_null(ans->rvd_nonce);
    assert_true(ans->port_a > 0 && ans->port_b > 0);
    np_relay_answer_free(ans);
}

static void test_not_manager_gets_nothing(void **state)
{
    char sid[NP_UUID_STR_LEN + 1], cn[64];
    struct heard h;
    (void)state;

    assert_int_equal(request(ITEST_BOB, demo.kb, 1, 5000, sid, cn, &h), NP_ERR_TIMEOUT);
    assert_int_equal(h.n, 0);
}

/* The atServer goes away and comes back while srvd runs. */
static void test_atserver_restart(void **state)
{
    char sid[NP_UUID_STR_LEN + 1], cn[64];
    struct heard h;
    (void)state;

    assert_int_equal(log_count("monitor connection lost"), 0);
    assert_int_equal(itest_stop(env.srv_pid, 5000, NULL), 0);
    env.srv_pid = -1;
    assert_true(log_has_n("monitor connection lost", 1, 30000));
    assert_true(log_has_n("command connection lost", 1, 30000));
    usleep(500 * 1000);
    assert_int_equal(itest_at_start_server(&env), 0);
    /* no waiting for srvd: the request is queued at the server at once */
    if (request(ITEST_ALICE, demo.ka, 0, 10000, sid, cn, &h) != 0 || h.n != 1) {
        itest_dump_file("srvd log", srvd_log);
        fail_msg("no answer after the restart");
    }
    assert_non_null(strstr(h.key, sid));
    assert_true(log_has_n("monitor connection available", 2, 30000));
    assert_true(log_has_n("command connection available", 2, 30000));
    /* each transition logged once */
    assert_int_equal(log_count("monitor connection lost"), 1);
    assert_int_equal(log_count("monitor connection available"), 2);
}

static void test_sigterm(void **state)
{
    int st = -1;
    (void)state;

    assert_int_equal(itest_stop(srvd_pid, 10000, &st), 0);
    srvd_pid = -1;
    assert_int_equal(st, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_answer_and_data), cmocka_unit_test(test_hundred_pairs_in_order),
        cmocka_unit_test(test_json_answer),         cmocka_unit_test(test_not_manager_gets_nothing),
        cmocka_unit_test(test_atserver_restart),    cmocka_unit_test(test_sigterm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
