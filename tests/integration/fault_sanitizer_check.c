/*
 * Self-test of the sanitizer check in tests/integration/lib/itest.c (issue
 * 9, item 6): a daemon that reports a leak or a sanitizer error when it
 * stops must fail the integration test that started it. Children here are
 * small shell scripts that behave like an ASan build of a server would:
 *   - LeakSanitizer's report and exit status 23 after SIGTERM (itest_stop);
 *   - exit status 134 (SIGABRT, as with ASAN_OPTIONS=abort_on_error=1)
 *     without a log (itest_stop);
 *   - a UBSan "runtime error:" line and exit 0 (itest_run);
 *   - an AddressSanitizer report by a child that the test reaped itself
 *     (found by itest_rmtree before the log is removed);
 *   - clean children: exit 0 after SIGTERM, and a log from an earlier run
 *     (before the child's start offset) holding a report: not counted.
 * Each case checks the count, then takes the reports back
 * (itest_sanitizer_take_reports) so that this test itself passes; a last
 * case runs a child in a grandchild process and checks that the exit
 * status of a process with a report is 1 at its end.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "util/log.h"

static char dir[512];

static void path(char *dst, size_t size, const char *name)
{
    snprintf(dst, size, "%s/%s", dir, name);
}

/* Start `sh -c script` with its output in log (may be NULL). */
static pid_t sh(const char *script, const char *log)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    pid_t pid = -1;

    assert_int_equal(itest_spawn(argv, log, &pid), 0);
    return pid;
}

/* A script that says it is up, then waits for SIGTERM and runs `on_term`. */
static pid_t daemon_like(const char *on_term, const char *log)
{
    char script[1024], up[600];
    pid_t pid;

    path(up, sizeof(up), "up");
    unlink(up);
    snprintf(script, sizeof(script),
             "trap '%s' TERM; : >'%s'; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); "
             "done; exit 9",
             on_term, up);
    pid = sh(script, log);
    for (int i = 0; i < 200 && access(up, F_OK) != 0; i++)
        usleep(10000);
    assert_int_equal(access(up, F_OK), 0);
    return pid;
}

static int group_setup(void **state)
{
    (void)state;
    np_log_set_level(NP_LOG_WARN);
    return itest_tmpdir("fault-san", dir, sizeof(dir));
}

static int group_teardown(void **state)
{
    (void)state;
    itest_rmtree(dir);
    return 0;
}

static void test_leak_report_on_sigterm(void **state)
{
    char log[600];
    int st = -1;
    pid_t pid;
    (void)state;

    path(log, sizeof(log), "leak.log");
    assert_int_equal(itest_sanitizer_take_reports(), 0);
    pid = daemon_like("echo ==1==ERROR: LeakSanitizer: detected memory leaks; exit 23", log);
    assert_int_equal(itest_stop(pid, 5000, &st), 0);
    assert_int_equal(st, 23);
    assert_int_equal(itest_sanitizer_take_reports(), 1); /* one report, not two */
}

static void test_abort_without_log(void **state)
{
    int st = -1;
    pid_t pid;
    (void)state;

    pid = daemon_like("trap - ABRT; kill -ABRT $$", NULL);
    assert_int_equal(itest_stop(pid, 5000, &st), 0);
    assert_int_equal(st, 128 + SIGABRT);
    assert_int_equal(itest_sanitizer_take_reports(), 1);
}

static void test_ubsan_line_in_run_output(void **state)
{
    char out[600];
    const char *argv[] = {"/bin/sh", "-c",
                          "echo 'x.c:1:2: runtime error: signed integer overflow'; exit 0", NULL};
    int st = -1;
    (void)state;

    path(out, sizeof(out), "run.out");
    assert_int_equal(itest_run(argv, out, 5000, &st), 0);
    assert_int_equal(st, 0);
    assert_int_equal(itest_sanitizer_take_reports(), 1);
}

static void test_reaped_elsewhere_found_by_rmtree(void **state)
{
    char sub[600], log[700];
    int st = 0;
    pid_t pid;
    (void)state;

    path(sub, sizeof(sub), "sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(log, sizeof(log), "%s/asan.log", sub);
    pid = sh("echo '==7==ERROR: AddressSanitizer: heap-use-after-free'; exit 1", log);
    assert_int_equal(waitpid(pid, &st, 0), pid); /* not through itest */
    assert_int_equal(itest_sanitizer_reports(), 0);
    assert_int_equal(itest_rmtree(sub), 0);
    assert_int_equal(access(sub, F_OK), -1);
    assert_int_equal(itest_sanitizer_take_reports(), 1);
}

static void test_clean_children_are_not_reports(void **state)
{
    char log[600];
    FILE *f;
    int st = -1;
    pid_t pid;
    (void)state;

    /* an earlier run's report is in the log already: not this child's */
    path(log, sizeof(log), "reused.log");
    assert_non_null(f = fopen(log, "w"));
    fputs("==3==ERROR: LeakSanitizer: detected memory leaks\n", f);
    fclose(f);
    pid = daemon_like("echo stopping; exit 0", log);
    assert_int_equal(itest_stop(pid, 5000, &st), 0);
    assert_int_equal(st, 0);
    /* a SIGKILLed child and an ordinary failure are not sanitizer reports */
    pid = daemon_like("", NULL);
    kill(pid, SIGKILL);
    assert_int_equal(itest_stop(pid, 5000, &st), 0);
    assert_int_equal(st, 128 + SIGKILL);
    {
        const char *argv[] = {"/bin/sh", "-c", "echo usage error; exit 2", NULL};
        assert_int_equal(itest_run(argv, NULL, 5000, &st), 0);
        assert_int_equal(st, 2);
    }
    assert_int_equal(itest_sanitizer_reports(), 0);
}

/* The whole point: a process whose child reported ends with status 1, even
 * though every assertion passed. */
static void test_report_fails_the_process(void **state)
{
    char log[600];
    int st = -1;
    pid_t p;
    (void)state;

    path(log, sizeof(log), "grandchild.log");
    fflush(NULL);
    if ((p = fork()) == 0) {
        const char *argv[] = {"/bin/sh", "-c",
                              "echo '==5==ERROR: LeakSanitizer: detected memory leaks'; exit 23",
                              NULL};
        int s = -1;
        itest_run(argv, log, 5000, &s);
        exit(s == 23 ? 0 : 3); /* the atexit check turns 0 into 1 */
    }
    assert_true(p > 0);
    assert_int_equal(waitpid(p, &st, 0), p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_int_equal(itest_sanitizer_reports(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leak_report_on_sigterm),
        cmocka_unit_test(test_abort_without_log),
        cmocka_unit_test(test_ubsan_line_in_run_output),
        cmocka_unit_test(test_reaped_elsewhere_found_by_rmtree),
        cmocka_unit_test(test_clean_children_are_not_reports),
        cmocka_unit_test(test_report_fails_the_process),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
