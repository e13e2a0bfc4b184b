/*
 * Integration test of the srvd binary against our REAL atdirectory and
 * atserver on 127.0.0.1. One atserver process hosts the relay @relay1, the
 * client @alice🛠 (the relay's --manager) and the daemon @bob🛠 (official demo
 * fixtures, provisioned as the official VE does it: tests/integration/lib
 * itest_at_*). As @alice🛠, through lib/at, the test sends request_ports
 * notifications (np/relay_msg.h) and reads the answer on its own monitor:
 *   - CSV answer; two sockets to portA/portB, each authenticated with its
 *     side's legacy auth line (np/relay_auth.h: alice's and bob's
 *     encryption keys), then 1 MiB each way arrives unchanged (SHA-256);
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

#define DATA_LEN (1u << 20)

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

/* Move DATA_LEN bytes a->b and b->a at the same time (non-blocking, at
 * most 60 s); the received bytes go to ra / rb. */
static void pump_both(int a, int b, const unsigned char *da, const unsigned char *db,
                      unsigned char *ra, unsigned char *rb)
{
    size_t wa = 0, wb = 0, na = 0, nb = 0;
    int64_t end = np_mono_ms() + 60000;

    fcntl(a, F_SETFL, O_NONBLOCK);
    fcntl(b, F_SETFL, O_NONBLOCK);
    while (wa < DATA_LEN || wb < DATA_LEN || na < DATA_LEN || nb < DATA_LEN) {
        struct pollfd p[2] = {{a, 0, 0}, {b, 0, 0}};
        ssize_t n;

        assert_true(np_mono_ms() < end);
        p[0].events = (short)((wa < DATA_LEN ? POLLOUT : 0) | (na < DATA_LEN ? POLLIN : 0));
        p[1].events = (short)((wb < DATA_LEN ? POLLOUT : 0) | (nb < DATA_LEN ? POLLIN : 0));
        if (poll(p, 2, 1000) < 0 && errno != EINTR)
            fail_msg("poll: %s", strerror(errno));
        if ((p[0].revents & POLLOUT) && wa < DATA_LEN &&
            (n = write(a, da + wa, DATA_LEN - wa < 65536 ? DATA_LEN - wa : 65536)) > 0)
            wa += (size_t)n;
        if ((p[1].revents & POLLOUT) && wb < DATA_LEN &&
            (n = write(b, db + wb, DATA_LEN - wb < 65536 ? DATA_LEN - wb : 65536)) > 0)
            wb += (size_t)n;
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && na < DATA_LEN) {
            n = read(a, ra + na, DATA_LEN - na);
            if (n == 0)
                fail_msg("side A closed after %zu bytes", na);
            if (n > 0)
                na += (size_t)n;
        }
        if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && nb < DATA_LEN) {
            n = read(b, rb + nb, DATA_LEN - nb);
            if (n == 0)
                fail_msg("side B closed after %zu bytes", nb);
            if (n > 0)
                nb += (size_t)n;
        }
    }
}

static void test_csv_answer_and_data(void **state)
{
    char sid[NP_UUID_STR_LEN + 1], cn[64], ha[65], hb[65], hra[65], hrb[65];
    struct np_relay_answer *ans = NULL;
    unsigned char *da, *db, *ra, *rb;
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
    da = np_malloc(DATA_LEN);
    db = np_malloc(DATA_LEN);
    ra = np_calloc(1, DATA_LEN);
    rb = np_calloc(1, DATA_LEN);
    assert_true(da && db && ra && rb);
    assert_int_equal(np_random_bytes(da, DATA_LEN), 0);
    assert_int_equal(np_random_bytes(db, DATA_LEN), 0);
    pump_both(a, b, da, db, ra, rb);
    assert_int_equal(np_sha256_hex(da, DATA_LEN, ha), 0);
    assert_int_equal(np_sha256_hex(db, DATA_LEN, hb), 0);
    assert_int_equal(np_sha256_hex(rb, DATA_LEN, hrb), 0); /* B got what A sent */
    assert_int_equal(np_sha256_hex(ra, DATA_LEN, hra), 0); /* A got what B sent */
    assert_string_equal(ha, hrb);
    assert_string_equal(hb, hra);
    close(a);
    close(b);
    np_free(da);
    np_free(db);
    np_free(ra);
    np_free(rb);
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
        cmocka_unit_test(test_csv_answer_and_data),
        cmocka_unit_test(test_json_answer),
        cmocka_unit_test(test_not_manager_gets_nothing),
        cmocka_unit_test(test_atserver_restart),
        cmocka_unit_test(test_sigterm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
