/*
 * Fault injection: a half-open atServer (issue 9, item 2). The atServer
 * process of sshnpd (@bob🛠) and srvd (@relay1) is SIGSTOPped: the kernel
 * keeps every TCP connection open and answers for it, but nothing is read
 * or written - what a peer that vanished without a FIN looks like. Both
 * daemons must notice through their keep-alive (a noop:0 every 30 s on an
 * idle connection, unanswered within the 10 s request time-out: 13 lists
 * 15/90 s for the official daemons) and say so within 60 s, keep running,
 * and, once the atServer continues (SIGCONT), reconnect and serve: a ping
 * answered by sshnpd, a request_ports answered by srvd. SIGTERM then stops
 * both with status 0 (and, in sanitizer builds, without a leak report).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/atkeys.h"
#include "fault_common.h"
#include "itest.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

static struct itest_at env;
static struct itest_demo demo;
static struct fault_proc npd = {-1, ""}, rvd = {-1, ""};
static int stopped;

static void dump_all(void)
{
    itest_dump_file("sshnpd log", npd.log);
    itest_dump_file("srvd log", rvd.log);
}

static int group_setup(void **state)
{
    (void)state;
    np_log_set_level(NP_LOG_WARN);
    if (itest_at_setup(&env, "fault-stopped") != 0 || itest_at_demo(&env, 1, &demo) != 0 ||
        fault_start_sshnpd(&env, &demo, 22, NULL, "sshnpd", 30000, &npd) != 0 ||
        fault_start_srvd(&env, &demo, NULL, NULL, "srvd", 30000, &rvd) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (stopped)
        kill(env.srv_pid, SIGCONT);
    itest_stop(npd.pid, 10000, NULL);
    itest_stop(rvd.pid, 40000, NULL);
    itest_demo_free(&demo);
    itest_at_teardown(&env);
    return 0;
}

static void test_stopped_atserver(void **state)
{
    int64_t t0;
    (void)state;

    /* both serve before */
    assert_int_equal(fault_ping(&env, &demo, 20000), 0);
    assert_int_equal(fault_relay_request(&env, &demo, 20000, NULL, NULL), 0);

    assert_int_equal(kill(env.srv_pid, SIGSTOP), 0);
    stopped = 1;
    t0 = np_mono_ms();
    if (!itest_log_wait(npd.log, "monitor connection lost", 1, 60000) ||
        !itest_log_wait(rvd.log, "monitor connection lost", 1, 60000 - (int)(np_mono_ms() - t0))) {
        dump_all();
        fail_msg("a daemon did not notice the stopped atServer within 60 s");
    }
    fprintf(stderr, "both daemons noticed the stopped atServer after %lld ms\n",
            (long long)(np_mono_ms() - t0));
    assert_true(fault_alive(npd.pid));
    assert_true(fault_alive(rvd.pid));

    assert_int_equal(kill(env.srv_pid, SIGCONT), 0);
    stopped = 0;
    if (!fault_wait_connected(&npd, 2, 60000) || !fault_wait_connected(&rvd, 2, 60000)) {
        dump_all();
        fail_msg("the daemons did not reconnect after the atServer continued");
    }
    if (fault_ping(&env, &demo, 20000) != 0 ||
        fault_relay_request(&env, &demo, 20000, NULL, NULL) != 0) {
        dump_all();
        fail_msg("the daemons do not serve after the atServer continued");
    }
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
        cmocka_unit_test(test_stopped_atserver),
        cmocka_unit_test(test_sigterm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
