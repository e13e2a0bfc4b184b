/*
 * End-to-end test of the sshnp and npt binaries on 127.0.0.1 against our
 * REAL atdirectory, atserver and sshnpd: client @alice🛠, device @bob🛠
 * ("garage", manager @alice🛠), relay @relay1.
 *
 * srvd has no atProtocol connection yet (src/srvd/main.c), so this test
 * plays the relay itself: the srvd relay engine (srvd_engine) in this
 * process, fed by a lib/at monitor of @relay1 and answering through a
 * lib/at client (the glue srvd will get). "sshd" is an echo server in this
 * process (sshnpd --local-sshd-port), and "ssh" is tests/unit/sshnp's
 * fake_ssh found first in PATH: it round-trips bytes through the tunnel.
 *
 * Covered: sshnp finds the user name the daemon shares, gets a port pair,
 * has its request accepted by the real daemon, verifies the signed answer,
 * and the bytes of "ssh" go through both bridges and the relay (both sides
 * authenticated by the relay); npt -x prints a port that then carries two
 * connections; sshnp --stdio (ProxyCommand) carries its stdin/stdout to
 * "sshd" and back; sshnp --list-devices lists the daemon as active. Every
 * process is stopped by pid; every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "../unit/np/test_bridge_harness.h"
#include "at/client.h"
#include "at/client_sync.h"
#include "at/keyfetch.h"
#include "at/monitor.h"
#include "crypto/atkeys.h"
#include "itest.h"
#include "relay.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

static struct itest_at env;
static char bindir[600], npd_log[600];
static pid_t npd_pid = -1;
static struct itest_demo demo;

/* the relay, played here */
static struct event_base *base;
static struct relay *relay;
static struct at_client *rc;
static struct at_monitor *rm;
static struct at_keyfetch *kf;
static struct tb_echo *echo;
static int relay_live;

static const char *prog(const char *env_name)
{
    const char *p = getenv(env_name);

    if (!p)
        fail_msg("%s not set (run through ctest)", env_name);
    return p;
}

static int log_has(const char *path, const char *text, int ms)
{
    return itest_log_wait(path, text, 1, ms);
}

/* ------------------------------------------------ the relay's at glue */

static void sent_cb(struct at_client *c, const struct at_result *r, void *d)
{
    (void)c;
    (void)d;
    if (r->err != 0)
        fprintf(stderr, "relay: notify failed: %s\n", r->message ? r->message : "");
}

static int ob_send(void *d, const struct relay_notice *n)
{
    struct at_client_notify no;

    (void)d;
    memset(&no, 0, sizeof(no));
    no.to = n->to;
    no.key = n->key;
    no.value = n->value;
    no.ttl = n->ttl_ms;
    no.ttln = 60000;
    return at_client_notify(rc, &no, sent_cb, NULL) == 0 ? 0 : NP_ERR_IO;
}

static int ks_fetch(void *d, const char *uri, relay_key_done_fn done, void *arg)
{
    (void)d;
    return at_keyfetch_get(kf, uri, 0, done, arg);
}

static void ks_cancel(void *d, void *arg)
{
    (void)d;
    at_keyfetch_cancel(kf, arg);
}

static void mon_cb(struct at_monitor *m, const struct at_monitor_notification *n, void *d)
{
    (void)m;
    (void)d;
    if (n->from && n->key && n->value)
        (void)relay_handle_request(relay, n->from, n->key, n->value, n->value_len);
}

static void mon_status(struct at_monitor *m, int up, int err, const char *msg, void *d)
{
    (void)m;
    (void)err;
    (void)msg;
    (void)d;
    relay_live = up;
}

static int start_relay(void)
{
    struct relay_config cfg;
    static const char *bind[1] = {"127.0.0.1"};
    struct relay_outbox ob = {ob_send, NULL};
    struct relay_keysource ks = {ks_fetch, ks_cancel, NULL};
    struct at_client_opts o;
    struct at_monitor_opts mo;

    relay_config_defaults(&cfg);
    cfg.address = "127.0.0.1";
    cfg.bind = bind;
    cfg.n_bind = 1;
    cfg.rate_per_min = 0;
    if (relay_new(base, &cfg, &ob, &ks, &relay) != 0)
        return -1;
    itest_at_opts(&env, &o, ITEST_RELAY, demo.kr, 8000);
    if (at_client_new(base, &o, &rc) != 0 || at_keyfetch_new(rc, &kf) != 0)
        return -1;
    memset(&mo, 0, sizeof(mo));
    mo.regex = "sshrvd";
    mo.since_epoch_ms = -1;
    if (at_monitor_start(rc, &mo, mon_cb, mon_status, NULL, &rm) != 0)
        return -1;
    for (int64_t end = np_mono_ms() + 20000; !relay_live && np_mono_ms() < end;)
        tb_run_for(base, 20);
    return relay_live ? 0 : -1;
}

/* ---------------------------------------------------------------- setup */

static int start_daemon(void)
{
    char port[16];
    const char *argv[] = {prog("NP_SSHNPD"),
                          "-a",
                          ITEST_BOB,
                          "-m",
                          ITEST_ALICE,
                          "-d",
                          "garage",
                          "-k",
                          demo.bob,
                          "--root-domain",
                          env.root,
                          "--ca-file",
                          env.ca,
                          "--local-sshd-port",
                          port,
                          "--permit-open",
                          "localhost:*,127.0.0.1:*",
                          "-v",
                          NULL};

    snprintf(port, sizeof(port), "%d", tb_echo_port(echo));
    if (itest_spawn(argv, npd_log, &npd_pid) != 0)
        return -1;
    if (!log_has(npd_log, "monitor connection available", 30000) ||
        !log_has(npd_log, "sharing records", 30000)) {
        itest_dump_file("sshnpd log", npd_log);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    char link[700];
    (void)state;

    signal(SIGPIPE, SIG_IGN);
    np_log_set_level(NP_LOG_WARN);
    if (itest_at_setup(&env, "sshnp") != 0)
        return -1;
    snprintf(bindir, sizeof(bindir), "%s/bin", env.dir);
    snprintf(npd_log, sizeof(npd_log), "%s/sshnpd.log", env.dir);
    if (mkdir(bindir, 0700) != 0)
        return -1;
    snprintf(link, sizeof(link), "%s/ssh", bindir);
    if (symlink(prog("NP_FAKE_SSH"), link) != 0)
        return -1;
    if (itest_at_demo(&env, 1, &demo) != 0)
        return -1;
    if ((base = event_base_new()) == NULL || (echo = tb_echo_new(base, NULL)) == NULL)
        return -1;
    if (start_relay() != 0) {
        itest_dump_file("atserver log", env.srv_log);
        return -1;
    }
    return start_daemon();
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(npd_pid, 5000, NULL);
    at_monitor_free(rm);
    at_client_free(rc); /* outstanding key lookups complete (closed) here */
    at_keyfetch_free(kf);
    relay_free(relay);
    tb_echo_free(echo);
    if (base)
        event_base_free(base);
    itest_demo_free(&demo);
    itest_at_teardown(&env);
    return 0;
}

/* ------------------------------------------------------------------ runs */

/* Wait (bounded, running the relay) until nothing listens on 127.0.0.1:port. */
static int itest_wait_closed(int port, int ms)
{
    struct sockaddr_in sa;
    int64_t end = np_mono_ms() + ms;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (np_mono_ms() < end) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), r;

        if (fd < 0)
            return -1;
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
        if (r != 0)
            return 0;
        tb_run_for(base, 100);
    }
    return -1;
}

/* Start a client binary with the test's PATH (fake ssh first) and run the
 * relay's loop until it exits (at most ms); its exit status or -1. */
static int run_client(const char *const argv[], const char *log, int ms, pid_t *keep)
{
    char path[2048];
    pid_t pid;
    int st = 0;
    int64_t end = np_mono_ms() + ms;

    snprintf(path, sizeof(path), "%s:%s", bindir, itest_env("PATH", "/usr/bin:/bin"));
    setenv("PATH", path, 1);
    if (itest_spawn(argv, log, &pid) != 0)
        return -1;
    if (keep)
        *keep = pid;
    while (np_mono_ms() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);

        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        tb_run_for(base, 10);
    }
    itest_stop(pid, 2000, NULL);
    return -1;
}

static void test_sshnp_session(void **state)
{
    char log[600], args[600];
    char *a;
    struct relay_stats st;
    const char *argv[] = {
        prog("NP_SSHNP"), "-f",        ITEST_ALICE, "-t", ITEST_BOB,  "-d",
        "garage",         "-r",        ITEST_RELAY, "-k", demo.alice, "--root-domain",
        env.root,         "--ca-file", env.ca,      "-v", NULL};
    (void)state;

    snprintf(log, sizeof(log), "%s/sshnp.log", env.dir);
    snprintf(args, sizeof(args), "%s/ssh_args.txt", env.dir);
    setenv("FAKE_SSH_ARGS", args, 1);
    setenv("FAKE_SSH_BYTES", "300000", 1);
    if (run_client(argv, log, 90000, NULL) != 0) {
        itest_dump_file("sshnp log", log);
        itest_dump_file("sshnpd log", npd_log);
        fail_msg("sshnp did not succeed");
    }
    a = itest_read_file(log, 1 << 20);
    assert_non_null(a);
    /* our sshnpd advertises twinKeys, so the session used C2D/D2C bundles */
    assert_non_null(strstr(a, "Session accepted by " ITEST_BOB " (twin keys)"));
    assert_non_null(strstr(a, "Remote user name is "));
    free(a);
    a = itest_read_file(args, 65536);
    assert_non_null(a);
    assert_non_null(strstr(a, "-o\nHostKeyAlias=garage.bob\xf0\x9f\x9b\xa0.sshnp\n"));
    assert_non_null(strstr(a, "@127.0.0.1\n")); /* the user name the daemon shares */
    free(a);
    relay_get_stats(relay, &st);
    assert_true(st.auth_legacy >= 2); /* both sides authenticated by the relay */
    assert_true(st.pairs_created >= 1);
    unsetenv("FAKE_SSH_ARGS");
    unsetenv("FAKE_SSH_BYTES");
}

/* Blocking echo round trip through 127.0.0.1:port while the relay runs. */
static void echo_via(int port, size_t n)
{
    struct tb_client *c = tb_client_new(base, port, n, (uint32_t)n, NULL);
    int64_t end = np_mono_ms() + 20000;

    assert_non_null(c);
    while (!tb_client_done(c) && np_mono_ms() < end)
        tb_run_for(base, 5);
    assert_true(tb_client_done(c) && tb_client_ok(c));
    tb_client_free(c);
}

static void test_npt_x(void **state)
{
    char log[600], port[16], *text;
    const char *argv[] = {
        prog("NP_NPT"), "-f",        ITEST_ALICE, "-t", ITEST_BOB,  "-d",
        "garage",       "-r",        ITEST_RELAY, "-k", demo.alice, "--root-domain",
        env.root,       "--ca-file", env.ca,      "-p", port,       "-h",
        "127.0.0.1",    "-x",        "-T",        "3s", "-q",       NULL};
    int64_t p = 0;
    (void)state;

    snprintf(port, sizeof(port), "%d", tb_echo_port(echo));
    snprintf(log, sizeof(log), "%s/npt.log", env.dir);
    if (run_client(argv, log, 90000, NULL) != 0) {
        itest_dump_file("npt log", log);
        itest_dump_file("sshnpd log", npd_log);
        fail_msg("npt -x did not succeed");
    }
    text = itest_read_file(log, 65536); /* stdout and stderr: the port is the last line */
    assert_non_null(text);
    text[strlen(text) - 1] = '\0';
    assert_int_equal(
        np_parse_i64(strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text, 1, 65535, &p), 0);
    free(text);
    echo_via((int)p, 200000);
    echo_via((int)p, 100000);
    /* the background npt ends by itself 3 s after the last connection */
    assert_int_equal(itest_wait_closed((int)p, 20000), 0);
}

/* sshnp --stdio, as ssh's ProxyCommand runs it: bytes on its stdin reach
 * "sshd" (the echo server) and come back on its stdout; EOF on stdin ends it. */
static void test_sshnp_stdio(void **state)
{
    const char *argv[] = {
        prog("NP_SSHNP"), "-f",        ITEST_ALICE, "-t",      ITEST_BOB,  "-d",
        "garage",         "-r",        ITEST_RELAY, "-k",      demo.alice, "--root-domain",
        env.root,         "--ca-file", env.ca,      "--stdio", "-q",       NULL};
    int in[2], out[2], st = -1;
    unsigned char data[100000], back[sizeof(data)];
    size_t sent = 0, got = 0;
    int64_t end = np_mono_ms() + 60000;
    pid_t pid;
    (void)state;

    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 31 + 7);
    if ((pid = fork()) == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    assert_true(pid > 0);
    close(in[0]);
    close(out[1]);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    while (got < sizeof(data) && np_mono_ms() < end) {
        ssize_t k;

        if (sent < sizeof(data) && (k = write(in[1], data + sent, sizeof(data) - sent)) > 0)
            sent += (size_t)k;
        if (sent == sizeof(data) && in[1] >= 0) {
            close(in[1]);
            in[1] = -1;
        }
        if ((k = read(out[0], back + got, sizeof(back) - got)) > 0)
            got += (size_t)k;
        tb_run_for(base, 2);
    }
    while (np_mono_ms() < end && waitpid(pid, &st, WNOHANG) != pid)
        tb_run_for(base, 10);
    if (np_mono_ms() >= end) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    if (in[1] >= 0)
        close(in[1]);
    close(out[0]);
    assert_int_equal(got, sizeof(data));
    assert_memory_equal(data, back, sizeof(data));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_list_devices(void **state)
{
    char log[600], *text;
    const char *argv[] = {
        prog("NP_SSHNP"), "-f",     ITEST_ALICE, "--list-devices", "-k", demo.alice,
        "--root-domain",  env.root, "--ca-file", env.ca,           "-q", NULL};
    (void)state;

    snprintf(log, sizeof(log), "%s/list.log", env.dir);
    if (run_client(argv, log, 60000, NULL) != 0) {
        itest_dump_file("list log", log);
        fail_msg("sshnp --list-devices failed");
    }
    text = itest_read_file(log, 65536);
    assert_non_null(text);
    if (!strstr(text, "Active Devices:\n  garage@bob\xf0\x9f\x9b\xa0 - v")) {
        itest_dump_file("list log", log);
        fail_msg("garage is not listed as active");
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sshnp_session),
        cmocka_unit_test(test_npt_x),
        cmocka_unit_test(test_sshnp_stdio),
        cmocka_unit_test(test_list_devices),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
