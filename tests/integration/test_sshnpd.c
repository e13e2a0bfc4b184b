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
 * Set-up through itest_at_* (the official VE's provisioning: cram,
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static struct itest_at env;
static char npd_log[600];
static pid_t npd_pid = -1;
static struct itest_demo demo;

static const char *prog(const char *env_name)
{
    const char *p = getenv(env_name);

    if (!p)
        fail_msg("%s not set (run through ctest)", env_name);
    return p;
}

/* Does the daemon's log hold `text` at least `times` times (polled, at
 * most ms)? */
static int log_has_n(const char *text, int times, int ms)
{
    return itest_log_wait(npd_log, text, times, ms);
}

static int log_has(const char *text, int ms)
{
    return log_has_n(text, 1, ms);
}

static int start_daemon(void)
{
    const char *argv[] = {prog("NP_SSHNPD"),
                          "-a",
                          ITEST_BOB,
                          "-m",
                          ITEST_ALICE,
                          "-d",
                          "Garage",
                          "-k",
                          demo.bob,
                          "--root-domain",
                          env.root,
                          "--ca-file",
                          env.ca,
                          "-v",
                          NULL};

    if (itest_spawn(argv, npd_log, &npd_pid) != 0)
        return -1;
    if (!log_has("monitor connection available", 30000) ||
        !log_has("command connection available", 30000)) {
        itest_dump_file("sshnpd log", npd_log);
        itest_dump_file("atserver log", env.srv_log);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;

    np_log_set_level(NP_LOG_WARN);
    if (itest_at_setup(&env, "sshnpd") != 0)
        return -1;
    snprintf(npd_log, sizeof(npd_log), "%s/sshnpd.log", env.dir);
    if (itest_at_demo(&env, 1, &demo) != 0)
        return -1;
    return start_daemon();
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(npd_pid, 5000, NULL);
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
    no.to = ITEST_BOB;
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

    assert_int_equal(ping_as(ITEST_ALICE, demo.ka, 20000, &h), 0);
    if (h.n != 1) {
        itest_dump_file("sshnpd log", npd_log);
        fail_msg("no heartbeat");
    }
    assert_string_equal(h.from, ITEST_BOB);
    assert_non_null(strstr(h.value, "\"devicename\":\"garage\""));
    assert_non_null(strstr(h.value, "\"twinKeys\":true"));
    assert_non_null(strstr(h.value, "\"allowedServices\":[\"localhost:22\",\"localhost:3389\"]"));
}

static void test_records_shared(void **state)
{
    struct at_sync *s = open_as(ITEST_ALICE, demo.ka);
    char *v = NULL;
    size_t n = 0;
    int r = -1;
    (void)state;

    /* written right after the daemon connected; allow for the round trip */
    for (int i = 0; i < 100 && r != 0; i++) {
        r = at_sync_get(s, "device_info.garage.sshnp" ITEST_BOB, 0, &v, &n, NULL);
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
    assert_int_equal(at_sync_get(s, "username.garage.sshnp" ITEST_BOB, 0, &v, &n, NULL), 0);
    assert_true(n > 0);
    np_freezero(v, n + 1);
    at_sync_close(s);
}

static void test_stranger_gets_nothing(void **state)
{
    struct heard h;
    (void)state;

    assert_int_equal(ping_as(ITEST_RELAY, demo.kr, 3000, &h), NP_ERR_TIMEOUT);
    assert_int_equal(h.n, 0);
}

/* The atServer goes away and comes back: the daemon reconnects both
 * connections by itself, re-shares its records and answers again. */
static void test_atserver_restart(void **state)
{
    struct heard h;
    (void)state;

    assert_int_equal(itest_stop(env.srv_pid, 5000, NULL), 0);
    env.srv_pid = -1;
    assert_true(log_has("monitor connection lost", 20000));
    assert_true(log_has("command connection lost", 20000));
    usleep(500 * 1000);
    assert_int_equal(itest_at_start_server(&env), 0);
    if (!log_has_n("monitor connection available", 2, 60000) ||
        !log_has_n("command connection available", 2, 60000)) {
        itest_dump_file("sshnpd log", npd_log);
        fail_msg("the daemon did not reconnect");
    }
    assert_true(log_has_n("sharing records", 2, 1000));
    assert_int_equal(ping_as(ITEST_ALICE, demo.ka, 20000, &h), 0);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.from, ITEST_BOB);
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
