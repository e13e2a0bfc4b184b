/*
 * Fault injection: the atServer goes away under sshnpd and srvd (issue 9,
 * item 1). Real atdirectory, atserver, sshnpd (@bob🛠, device "garage",
 * manager @alice🛠) and srvd (@relay1, manager @alice🛠) on 127.0.0.1; the
 * test speaks as @alice🛠 through lib/at.
 *
 *   1. down at start-up: both daemons start while the atServer (provisioned
 *      first) is not running; they keep retrying and say why; once it runs
 *      they connect, sshnpd answers a ping and srvd a request_ports;
 *   2. down mid-run: the atServer stops for NP_FAULT_OUTAGE_S seconds
 *      (default 5; the 30 s works too but costs a minute of test
 *      time, with the back-off cap of 30 s) and comes back: both reconnect
 *      and serve new requests;
 *   3. moved: the atServer restarts on NEW ports, the hosts table and the
 *      directory entry (`atdirectory set`) updated while it was down: both
 *      daemons look the atSigns up again and reconnect;
 *   4. SIGTERM stops both with status 0 (in sanitizer builds the itest
 *      helpers fail the test on any leak report at exit).
 * Every process is stopped by pid; every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astest.h"
#include "crypto/atkeys.h"
#include "fault_common.h"
#include "itest.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

static struct itest_at env;
static struct itest_demo demo;
static struct fault_proc npd = {-1, ""}, rvd = {-1, ""};
static int64_t connected_at; /* when both daemons were last seen connected */

static void dump_all(void)
{
    itest_dump_file("sshnpd log", npd.log);
    itest_dump_file("srvd log", rvd.log);
    itest_dump_file("atserver log", env.srv_log);
}

static void stop_atserver(void)
{
    int st = -1;

    assert_int_equal(itest_stop(env.srv_pid, 10000, &st), 0);
    env.srv_pid = -1;
    assert_int_equal(st, 0);
}

/* Both daemons serve: a ping answered by sshnpd, a request by srvd. */
static void both_serve(const char *when)
{
    int a = 0, b = 0;

    if (fault_ping(&env, &demo, 20000) != 0) {
        dump_all();
        fail_msg("%s: sshnpd did not answer a ping", when);
    }
    if (fault_relay_request(&env, &demo, 20000, &a, &b) != 0) {
        dump_all();
        fail_msg("%s: srvd did not answer a request", when);
    }
    assert_true(a > 0 && b > 0 && a != b);
}

/* Both daemons have logged `times` "... connection available" for both of
 * their connections (at most ms). */
static void both_connected(int times, int ms, const char *when)
{
    if (!fault_wait_connected(&npd, times, ms) || !fault_wait_connected(&rvd, times, ms)) {
        dump_all();
        fail_msg("%s: the daemons did not (re)connect", when);
    }
    connected_at = np_mono_ms();
}

/* Outages hit daemons that have been up a while: lib/at reconnects at once
 * (then backs off from 0.5 s) after a connection that lived 10 s or more,
 * but keeps backing off after one that dropped soon after login. */
static void settle(void)
{
    while (np_mono_ms() < connected_at + 11000)
        poll(NULL, 0, 100);
}

static int group_setup(void **state)
{
    (void)state;
    np_log_set_level(NP_LOG_WARN);
    if (itest_at_setup(&env, "fault-outage") != 0 || itest_at_demo(&env, 1, &demo) != 0)
        return -1;
    /* provisioned; now the daemons' atServer is down */
    if (itest_stop(env.srv_pid, 10000, NULL) != 0)
        return -1;
    env.srv_pid = -1;
    if (fault_start_sshnpd(&env, &demo, 22, NULL, "sshnpd", 0, &npd) != 0 ||
        fault_start_srvd(&env, &demo, NULL, NULL, "srvd", 0, &rvd) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(npd.pid, 10000, NULL);
    itest_stop(rvd.pid, 10000, NULL);
    itest_demo_free(&demo);
    itest_at_teardown(&env);
    return 0;
}

static void test_down_at_startup(void **state)
{
    int64_t end = np_mono_ms() + 3000;
    (void)state;

    /* 3 s without an atServer: both keep running and keep trying */
    while (np_mono_ms() < end) {
        assert_true(fault_alive(npd.pid));
        assert_true(fault_alive(rvd.pid));
        poll(NULL, 0, 100);
    }
    assert_int_equal(itest_log_count(npd.log, "monitor connection available"), 0);
    assert_int_equal(itest_log_count(rvd.log, "monitor connection available"), 0);
    /* ...and say why, once per transition rather than once per attempt */
    assert_true(itest_log_count(npd.log, "Connection refused") >= 1);
    assert_true(itest_log_count(rvd.log, "Connection refused") >= 1);
    assert_int_equal(itest_at_start_server(&env), 0);
    both_connected(1, 30000, "atServer started late");
    both_serve("atServer started late");
}

static void test_down_mid_run(void **state)
{
    int64_t secs = 5, end;
    (void)state;

    if (getenv("NP_FAULT_OUTAGE_S") &&
        np_parse_i64(getenv("NP_FAULT_OUTAGE_S"), 1, 120, &secs) != 0)
        fail_msg("NP_FAULT_OUTAGE_S: expected 1 to 120 seconds");
    settle();
    stop_atserver();
    assert_true(itest_log_wait(npd.log, "monitor connection lost", 1, 20000));
    assert_true(itest_log_wait(rvd.log, "monitor connection lost", 1, 20000));
    end = np_mono_ms() + secs * 1000;
    while (np_mono_ms() < end) {
        assert_true(fault_alive(npd.pid));
        assert_true(fault_alive(rvd.pid));
        poll(NULL, 0, 100);
    }
    assert_int_equal(itest_at_start_server(&env), 0);
    /* the back-off is capped at 30 s */
    both_connected(2, (int)secs * 1000 + 40000, "atServer back after an outage");
    fprintf(stderr, "reconnected %lld ms after the atServer came back\n",
            (long long)(np_mono_ms() - end));
    both_serve("atServer back after an outage");
}

static void test_moved_to_new_ports(void **state)
{
    char addr[64];
    (void)state;

    settle();
    stop_atserver();
    for (int i = 0; i < env.n; i++) {
        int port, st = -1;
        const char *argv[] = {itest_env("NP_ATDIRECTORY", "atdirectory"),
                              "set",
                              env.atsigns[i],
                              addr,
                              "--db",
                              env.dirdb,
                              NULL};

        assert_int_equal(itest_free_port(&port), 0);
        assert_int_not_equal(port, env.ports[i]);
        assert_int_equal(astest_set_port(env.data, env.atsigns[i], port), 0);
        snprintf(addr, sizeof(addr), "localhost:%d", port);
        assert_int_equal(itest_run(argv, env.out, 20000, &st), 0);
        if (st != 0) {
            itest_dump_file("atdirectory set", env.out);
            fail_msg("atdirectory set %s %s exited %d", env.atsigns[i], addr, st);
        }
        env.ports[i] = port;
    }
    assert_int_equal(itest_at_start_server(&env), 0); /* waits for the new ports */
    /* the server listens on the new ports only: connecting again proves
     * that both daemons looked their atSigns up again */
    both_connected(3, 60000, "atServer on new ports");
    both_serve("atServer on new ports");
}

/* Both daemons exit cleanly on SIGTERM, with no sanitizer report. */
static void test_sigterm(void **state)
{
    (void)state;
    assert_int_equal(fault_stop_clean(&npd, 10000), 0);
    assert_int_equal(fault_stop_clean(&rvd, 40000), 0);
    assert_int_equal(itest_sanitizer_reports(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_down_at_startup),
        cmocka_unit_test(test_down_mid_run),
        cmocka_unit_test(test_moved_to_new_ports),
        cmocka_unit_test(test_sigterm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
