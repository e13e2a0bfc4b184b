/*
 * tests/unit/srvd/test_srvd_main.c - srvd's command line (options.c) and the
 * program itself: it starts, says that the atProtocol side is not wired yet,
 * and exits 0 on SIGTERM. The child process is stopped by pid; every wait is
 * bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "options.h"
#include "util/err.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse(struct srvd_options *o, char *err, size_t n, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    FILE *null = fopen("/dev/null", "w");
    int rc;

    argv[argc++] = "srvd";
    va_start(ap, n);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    rc = srvd_options_parse(argc, argv, o, null, err, n);
    fclose(null);
    return rc;
}

static void test_options(void **state)
{
    struct srvd_options o;
    char err[256];
    (void)state;

    assert_int_equal(parse(&o, err, sizeof(err), "--help", NULL), 1);
    srvd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-i", "1.2.3.4", NULL), NP_ERR_INVAL);
    assert_non_null(strstr(err, "--atsign"));
    srvd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@r", NULL), NP_ERR_INVAL);
    assert_non_null(strstr(err, "--ip"));
    srvd_options_free(&o);

    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@relay", "-i", "relay.example.com", "-m",
                           "@alice", "-k", "/k", "--root-domain", "root.example:6464", "--bind",
                           "127.0.0.1,::1", "--bind", "10.0.0.1", "--port-range", "40000-40100",
                           "--max-sessions", "7", "--auth-detect-ms", "250", "--shutdown-grace",
                           "3", "--no-splice", "-v", "-v", NULL),
                     0);
    assert_string_equal(o.atsign, "@relay");
    assert_string_equal(o.ip, "relay.example.com");
    assert_string_equal(o.manager, "@alice");
    assert_string_equal(o.key_file, "/k");
    assert_string_equal(o.root_host, "root.example");
    assert_int_equal(o.root_port, 6464);
    assert_int_equal(o.n_bind, 3);
    assert_string_equal(o.bind[0], "127.0.0.1");
    assert_string_equal(o.bind[1], "::1");
    assert_string_equal(o.bind[2], "10.0.0.1");
    assert_int_equal(o.port_lo, 40000);
    assert_int_equal(o.port_hi, 40100);
    assert_int_equal(o.max_sessions, 7);
    assert_int_equal(o.detect_ms, 250);
    assert_int_equal(o.shutdown_grace_ms, 3000);
    assert_int_equal(o.force_rw, 1);
    assert_int_equal(o.verbose, 2);
    srvd_options_free(&o);

    /* defaults */
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@r", "-i", "1.2.3.4", NULL), 0);
    assert_string_equal(o.manager, "open");
    assert_string_equal(o.root_host, "root.atsign.org");
    assert_int_equal(o.root_port, 64);
    assert_int_equal(o.n_bind, 0);
    assert_int_equal(o.grace_ms, 30000);
    assert_int_equal(o.auth_timeout_ms, 5000);
    assert_int_equal(o.detect_ms, 500);
    srvd_options_free(&o);

    static const char *bad[][2] = {
        {"--port-range", "5-4"},  {"--port-range", "0-10"},
        {"--port-range", "10"},   {"--port-range", "1-70000"},
        {"--max-sessions", "0"},  {"--max-sessions", "x"},
        {"--bind", ","},          {"--auth-detect-ms", "-1"},
        {"--root-domain", "a b"}, {"-i", "a,b"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            parse(&o, err, sizeof(err), "-a", "@r", "-i", "1.2.3.4", bad[i][0], bad[i][1], NULL),
            NP_ERR_INVAL);
        srvd_options_free(&o);
    }
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@r", "-i", "1.2.3.4", "--bogus", NULL),
                     NP_ERR_INVAL);
    srvd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@r", "-i", "1.2.3.4", "extra", NULL),
                     NP_ERR_INVAL);
    srvd_options_free(&o);
}

/* Copy the demo relay keys into a private temp file (mode 0600). */
static void make_keys(char *path, size_t size)
{
    char src[1024], buf[16384];
    int in, out;
    ssize_t n;

    snprintf(src, sizeof(src), "%s/../shared/fixtures/official-demo-atkeys/relay1.atKeys",
             NP_SOURCE_DIR);
    snprintf(path, size, "/tmp/srvd-test-keys-XXXXXX");
    out = mkstemp(path);
    assert_true(out >= 0);
    assert_int_equal(fchmod(out, 0600), 0);
    in = open(src, O_RDONLY);
    assert_true(in >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

/* Read the child's stderr until `want` appears or timeout_ms passes. */
static int wait_output(int fd, char *acc, size_t size, size_t *len, const char *want,
                       int timeout_ms)
{
    int64_t end = np_mono_ms() + timeout_ms;

    while (!strstr(acc, want)) {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = end - np_mono_ms();
        ssize_t n;
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return 0;
        n = read(fd, acc + *len, size - 1 - *len);
        if (n <= 0)
            return 0;
        *len += (size_t)n;
        acc[*len] = '\0';
    }
    return 1;
}

static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
    int64_t end = np_mono_ms() + timeout_ms;

    while (np_mono_ms() < end) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        usleep(10000);
    }
    return 0;
}

static void test_program_sigterm(void **state)
{
    char keys[64], bin[1024], acc[8192] = "";
    size_t len = 0;
    int pfd[2], status = 0;
    pid_t pid;
    (void)state;

    snprintf(bin, sizeof(bin), "%s/src/srvd/srvd", NP_BINARY_DIR);
    make_keys(keys, sizeof(keys));
    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        /* a directory that refuses (port 1 on loopback): no outside network */
        execl(bin, bin, "-a", "@relay1", "-i", "127.0.0.1", "-k", keys, "--bind", "127.0.0.1",
              "--root-domain", "127.0.0.1:1", "--shutdown-grace", "1", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    if (!wait_output(pfd[0], acc, sizeof(acc), &len, "monitor connection lost", 10000)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fprintf(stderr, "srvd output: %s\n", acc);
        fail_msg("srvd did not start");
    }
    assert_int_equal(kill(pid, SIGTERM), 0);
    if (!wait_exit(pid, 10000, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("srvd did not stop on SIGTERM");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    wait_output(pfd[0], acc, sizeof(acc), &len, "stopped", 2000);
    assert_non_null(strstr(acc, "stopped"));
    close(pfd[0]);

    /* unreadable keys: a clear error and exit status 1 */
    assert_int_equal(chmod(keys, 0644), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execl(bin, bin, "-a", "@relay1", "-i", "127.0.0.1", "-k", keys, (char *)NULL);
        _exit(127);
    }
    if (!wait_exit(pid, 10000, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("srvd did not exit on bad keys");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    unlink(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_program_sigterm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
