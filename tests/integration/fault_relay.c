/*
 * Fault injection on the data path (issue 9, item 2). Real atdirectory,
 * atserver, sshnpd (@bob🛠, device "garage", manager @alice🛠, forwarding to
 * an echo server in this process), srvd (@relay1) and npt (as @alice🛠) on
 * loopback:
 *
 *   1. the relay atSign's srvd is not running: npt ends with "Connection
 *      timeout to srvd @relay1 service" after its 20 s relay wait (13);
 *   2. srvd answers with an address nobody listens on (-i ::1 while it
 *      binds 127.0.0.1 only): npt ends at once with "Cannot connect to the
 *      relay", sshnpd's bridge ends with "relay connect failed";
 *   3. srvd is SIGKILLed while bytes flow through npt -> relay -> sshnpd ->
 *      echo: the local connection ends, npt exits, sshnpd logs the end of
 *      the session;
 *   4. srvd is SIGSTOPped (half-open: the kernel keeps the sockets, nobody
 *      moves bytes) mid-stream: npt still ends by its -T rule once the
 *      local connection is closed, sshnpd keeps answering pings meanwhile,
 *      and its session ends as soon as the stopped relay dies.
 * After every npt run no process of it is left (nothing names its key
 * file). SIGTERM then stops sshnpd with status 0 and, in sanitizer builds,
 * without a leak report (itest checks every child it reaps).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
static struct fault_echo *echo;
static int echo_port;
static pid_t npt_pid = -1;
static char npt_log[600];
static int npt_runs;

static void dump_all(void)
{
    itest_dump_file("npt log", npt_log);
    itest_dump_file("sshnpd log", npd.log);
    itest_dump_file("srvd log", rvd.log);
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    np_log_set_level(NP_LOG_WARN);
    if (itest_at_setup(&env, "fault-relay") != 0 || itest_at_demo(&env, 1, &demo) != 0 ||
        fault_echo_start(&echo, &echo_port) != 0)
        return -1;
    return fault_start_sshnpd(&env, &demo, echo_port, NULL, "sshnpd", 30000, &npd);
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(npt_pid, 5000, NULL);
    if (rvd.pid > 0)
        kill(rvd.pid, SIGCONT);
    itest_stop(rvd.pid, 10000, NULL);
    itest_stop(npd.pid, 10000, NULL);
    fault_echo_stop(echo);
    itest_demo_free(&demo);
    itest_at_teardown(&env);
    return 0;
}

/* Start npt (-T 3s) to the echo server; its log is npt-<n>.log. */
static void start_npt(void)
{
    char port[16];
    const char *argv[] = {itest_env("NP_NPT", "npt"),
                          "-f",
                          ITEST_ALICE,
                          "-t",
                          ITEST_BOB,
                          "-d",
                          FAULT_DEVICE,
                          "-r",
                          ITEST_RELAY,
                          "-k",
                          demo.alice,
                          "--root-domain",
                          env.root,
                          "--ca-file",
                          env.ca,
                          "-p",
                          port,
                          "-h",
                          "127.0.0.1",
                          "-T",
                          "3s",
                          NULL};

    snprintf(port, sizeof(port), "%d", echo_port);
    snprintf(npt_log, sizeof(npt_log), "%s/npt-%d.log", env.dir, ++npt_runs);
    assert_int_equal(itest_spawn(argv, npt_log, &npt_pid), 0);
}

/* npt's exit status, waiting at most ms; fails the test if it still runs. */
static int npt_exit(int ms)
{
    int st = -1;

    if (fault_wait_exit(npt_pid, ms, &st) != 0) {
        dump_all();
        fail_msg("npt still runs after %d ms", ms);
    }
    npt_pid = -1;
    /* nothing of that run is left: no process names the client's key file */
    assert_int_equal(fault_procs_naming(demo.alice), 0);
    return st;
}

/* The local port npt listens on (its "npt is listening on" line), at most ms. */
static int npt_port(int ms)
{
    const char *tag = "npt is listening on 127.0.0.1:";
    char *text, *p;
    int64_t v = 0;

    if (!itest_log_wait(npt_log, tag, 1, ms)) {
        dump_all();
        fail_msg("npt did not start listening");
    }
    text = itest_read_file(npt_log, 1 << 20);
    assert_non_null(text);
    p = strstr(text, tag) + strlen(tag);
    p[strspn(p, "0123456789")] = '\0';
    assert_int_equal(np_parse_i64(p, 1, 65535, &v), 0);
    free(text);
    return (int)v;
}

/*
 * Move bytes through fd (echoed back) until `after` bytes came back, then
 * call act (may be NULL); go on until the connection ends or, when
 * want_end is 0, until ms passed. Returns the bytes echoed back; *ended is
 * set when the connection ended (EOF or error).
 */
static size_t pump(int fd, size_t after, void (*act)(void), int want_end, int ms, int *ended)
{
    static unsigned char out[65536], in[65536];
    size_t sent = 0, got = 0;
    int64_t end = np_mono_ms() + ms;
    int acted = 0;

    *ended = 0;
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (unsigned char)(i * 7 + 3);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    while (np_mono_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;

        if (sent - got < 256 * 1024)
            p.events |= POLLOUT;
        if (poll(&p, 1, 50) < 0 && errno != EINTR)
            break;
        if ((p.revents & POLLOUT) && (n = write(fd, out, sizeof(out))) > 0)
            sent += (size_t)n;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            n = read(fd, in, sizeof(in));
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                *ended = 1;
                break;
            }
            if (n > 0)
                got += (size_t)n;
        }
        if (!acted && got >= after) {
            acted = 1;
            if (act)
                act();
            if (!want_end)
                end = np_mono_ms() + 1500; /* a little longer: nothing must move */
        }
    }
    return got;
}

static void kill_relay(void)
{
    assert_int_equal(kill(rvd.pid, SIGKILL), 0);
}

static void stop_relay(void)
{
    assert_int_equal(kill(rvd.pid, SIGSTOP), 0);
}

/* ---- tests -------------------------------------------------------------- */

static void test_relay_not_running(void **state)
{
    int64_t t0 = np_mono_ms();
    int st;
    (void)state;

    start_npt();
    st = npt_exit(45000);
    assert_int_equal(st, 1);
    assert_true(np_mono_ms() - t0 >= 19000); /* it waited the documented 20 s */
    assert_true(
        itest_log_count(npt_log, "Error: Connection timeout to srvd " ITEST_RELAY " service") == 1);
    assert_true(fault_alive(npd.pid));
}

static void test_relay_unreachable(void **state)
{
    int st;
    (void)state;

    /* srvd listens on 127.0.0.1 but tells everybody to come to ::1 */
    assert_int_equal(fault_start_srvd(&env, &demo, "::1", NULL, "srvd-bad", 30000, &rvd), 0);
    start_npt();
    st = npt_exit(40000);
    if (st != 1 || itest_log_count(npt_log, "Error: Cannot connect to the relay at ::1:") != 1) {
        dump_all();
        fail_msg("npt: exit %d without the expected error", st);
    }
    /* the daemon answered, tried port B on ::1 and gave up on its own */
    if (!itest_log_wait(npd.log, "relay connect failed", 1, 20000)) {
        dump_all();
        fail_msg("sshnpd did not report the unreachable relay");
    }
    assert_int_equal(itest_stop(rvd.pid, 40000, &st), 0);
    rvd.pid = -1;
    assert_int_equal(st, 0);
}

static void test_relay_killed_mid_stream(void **state)
{
    int fd, ended = 0, st, ended_before = itest_log_count(npd.log, "ended after");
    size_t got;
    (void)state;

    assert_int_equal(fault_start_srvd(&env, &demo, NULL, NULL, "srvd-kill", 30000, &rvd), 0);
    start_npt();
    assert_true((fd = fault_connect(npt_port(40000))) >= 0);
    got = pump(fd, 256 * 1024, kill_relay, 1, 20000, &ended);
    close(fd);
    if (!ended) {
        dump_all();
        fail_msg("the local connection did not end after the relay died (%zu bytes back)", got);
    }
    assert_true(got >= 256 * 1024);
    assert_int_equal(itest_stop(rvd.pid, 5000, &st), 0); /* reap it */
    rvd.pid = -1;
    assert_int_equal(st, 128 + SIGKILL);
    /* npt ends by itself: its control channel is gone */
    st = npt_exit(15000);
    assert_true(itest_log_count(npt_log, "Session ended (control channel closed)") == 1 ||
                itest_log_count(npt_log, "Error: ") == 1);
    (void)st;
    /* and so does the daemon's side of the session */
    if (!itest_log_wait(npd.log, "ended after", ended_before + 1, 15000)) {
        dump_all();
        fail_msg("sshnpd's session did not end after the relay died");
    }
    assert_true(fault_alive(npd.pid));
}

static void test_relay_stopped_mid_stream(void **state)
{
    int fd, ended = 0, st, ended_before = itest_log_count(npd.log, "ended after");
    int64_t t0;
    size_t got;
    (void)state;

    assert_int_equal(fault_start_srvd(&env, &demo, NULL, NULL, "srvd-stop", 30000, &rvd), 0);
    start_npt();
    assert_true((fd = fault_connect(npt_port(40000))) >= 0);
    got = pump(fd, 128 * 1024, stop_relay, 0, 20000, &ended);
    /* nothing came back or ended while the relay is stopped */
    assert_false(ended);
    assert_true(got >= 128 * 1024);
    /* npt: closing the last local connection ends the session (-T 3s) even
     * though the relay cannot see it */
    t0 = np_mono_ms();
    close(fd);
    st = npt_exit(15000);
    assert_true(np_mono_ms() - t0 < 10000);
    (void)st;
    /* the daemon is not stuck: it still answers */
    assert_int_equal(fault_ping(&env, &demo, 20000), 0);
    /* its session waits for the relay (no FIN came through): no idle timeout
     * ends a live pair (noports-wire.md 8.4) */
    assert_int_equal(itest_log_count(npd.log, "ended after"), ended_before);
    /* the stopped relay dies: the kernel closes its sockets and the daemon's
     * session ends at once */
    assert_int_equal(kill(rvd.pid, SIGKILL), 0);
    assert_int_equal(itest_stop(rvd.pid, 5000, &st), 0);
    rvd.pid = -1;
    if (!itest_log_wait(npd.log, "ended after", ended_before + 1, 10000)) {
        dump_all();
        fail_msg("sshnpd's session did not end after the stopped relay died");
    }
}

/* The daemon exits cleanly on SIGTERM, with no sanitizer report. */
static void test_sigterm(void **state)
{
    (void)state;
    assert_int_equal(fault_stop_clean(&npd, 10000), 0);
    assert_int_equal(itest_sanitizer_reports(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_not_running),
        cmocka_unit_test(test_relay_unreachable),
        cmocka_unit_test(test_relay_killed_mid_stream),
        cmocka_unit_test(test_relay_stopped_mid_stream),
        cmocka_unit_test(test_sigterm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
