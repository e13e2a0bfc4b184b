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
#include "at/monitor.h"
#include "crypto/atkeys.h"
#include "itest.h"
#include "relay.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#define ALICE "@alice\xf0\x9f\x9b\xa0"
#define BOB   "@bob\xf0\x9f\x9b\xa0"
#define RELAY "@relay1"
#define ALICE_CRAM                                                                                 \
    "b26455a907582760ebf35bc4847de549bc41c24b25c8b1c58d5964f7b4f8a43bc55b0e9a601c9a9657d9a8b8bbc3" \
    "2f88b4e38ffaca03c8710ebae1b14ca9f364"
#define BOB_CRAM                                                                                   \
    "33c2df30b79743ff880fc1c832a5c69170974dd736231b84ee360df89a0faff1f6efe0e83064144a7b4e5029334a" \
    "d1daedc49bf82c0be1f763f590c28e33ba0a"
#define RELAY_CRAM "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char dir[512], ca[600], cert[600], key[600], dirdb[600], data[600], bindir[600];
static char alice_keys[600], bob_keys[600], relay_keys[600];
static char srv_log[600], dir_log[600], npd_log[600], out_path[600], root[64];
static int dir_port, alice_port, bob_port, relay_port;
static pid_t dir_pid = -1, srv_pid = -1, npd_pid = -1;
static struct np_atkeys *ka, *kb, *kr;

/* the relay, played here */
static struct event_base *base;
static struct relay *relay;
static struct at_client *rc;
static struct at_monitor *rm;
static struct tb_echo *echo;
static int relay_live;

static const char *prog(const char *env)
{
    const char *p = getenv(env);

    if (!p)
        fail_msg("%s not set (run through ctest)", env);
    return p;
}

static int copy_keys(const char *fixture, const char *path)
{
    char src[700];
    char *text;
    int fd, ok;

    snprintf(src, sizeof(src), "%s/../shared/fixtures/official-demo-atkeys/%s",
             itest_env("NP_SOURCE_DIR", "."), fixture);
    if ((text = itest_read_file(src, 65536)) == NULL)
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (fd >= 0)
        close(fd);
    free(text);
    return ok ? 0 : -1;
}

static int create_atsign(const char *atsign, int port, const char *cram)
{
    char portstr[16];
    int st = -1;
    const char *argv[] = {prog("NP_ATSERVER"),
                          "create",
                          atsign,
                          "--data-dir",
                          data,
                          "--port",
                          portstr,
                          "--host",
                          "localhost",
                          "--directory-db",
                          dirdb,
                          "--cram-secret",
                          cram,
                          NULL};

    snprintf(portstr, sizeof(portstr), "%d", port);
    if (itest_run(argv, out_path, 20000, &st) != 0 || st != 0) {
        itest_dump_file("atserver create", out_path);
        return -1;
    }
    return 0;
}

static void base_opts(struct at_client_opts *o, const char *atsign, const struct np_atkeys *k)
{
    memset(o, 0, sizeof(*o));
    o->atsign = atsign;
    o->keys = k;
    o->root_host = "127.0.0.1";
    o->root_port = dir_port;
    o->ca_file = ca;
    o->request_timeout_ms = 8000;
    o->connect_timeout_ms = 8000;
}

static int provision(const char *atsign, const char *cram, const struct np_atkeys *k)
{
    struct at_client_opts o;
    struct at_sync *s = NULL;
    char line[2048], pub[256], err[512];
    char *d = NULL;
    int r;

    base_opts(&o, atsign, NULL);
    o.auth = AT_CLIENT_AUTH_CRAM;
    o.cram_secret = cram;
    if ((r = at_sync_open(&o, &s, err, sizeof(err))) != 0) {
        fprintf(stderr, "provision %s: %s\n", atsign, err);
        return r;
    }
    snprintf(line, sizeof(line), "update:privatekey:at_pkam_publickey %s", k->pkam_public_b64);
    if ((r = at_sync_cmd(s, line, &d)) != 0)
        fprintf(stderr, "provision %s: %s\n", atsign, at_sync_error(s));
    np_free(d);
    snprintf(pub, sizeof(pub), "public:publickey%s", atsign);
    if (r == 0 && (r = at_sync_put(s, pub, k->enc_public_b64, NULL)) != 0)
        fprintf(stderr, "provision %s: %s\n", atsign, at_sync_error(s));
    at_sync_close(s);
    return r;
}

static int log_has(const char *path, const char *text, int ms)
{
    int64_t end = np_mono_ms() + ms;

    for (;;) {
        char *l = itest_read_file(path, 4 << 20);
        int found = l && strstr(l, text);

        free(l);
        if (found)
            return 1;
        if (np_mono_ms() >= end)
            return 0;
        usleep(50 * 1000);
    }
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

struct fetch {
    relay_key_done_fn done;
    void *arg;
    int cancelled;
    struct fetch *next;
};
static struct fetch *fetches;

static void fetch_cb(struct at_client *c, const struct at_result *r, void *d)
{
    struct fetch *f = d, **pp = &fetches;

    (void)c;
    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp)
        *pp = f->next;
    if (!f->cancelled)
        f->done(f->arg, r->err, r->err == 0 ? r->value : NULL);
    np_free(f);
}

static int ks_fetch(void *d, const char *uri, relay_key_done_fn done, void *arg)
{
    struct fetch *f = np_calloc(1, sizeof(*f));
    int r;

    (void)d;
    if (!f)
        return NP_ERR_NOMEM;
    f->done = done;
    f->arg = arg;
    if ((r = at_client_get(rc, uri, 0, fetch_cb, f)) != 0) {
        np_free(f);
        return r;
    }
    f->next = fetches;
    fetches = f;
    return 0;
}

static void ks_cancel(void *d, void *arg)
{
    (void)d;
    for (struct fetch *f = fetches; f; f = f->next)
        if (f->arg == arg)
            f->cancelled = 1;
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
    base_opts(&o, RELAY, kr);
    if (at_client_new(base, &o, &rc) != 0)
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
                          BOB,
                          "-m",
                          ALICE,
                          "-d",
                          "garage",
                          "-k",
                          bob_keys,
                          "--root-domain",
                          root,
                          "--ca-file",
                          ca,
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
    char err[512], dportstr[16], link[700];
    (void)state;

    signal(SIGPIPE, SIG_IGN);
    np_log_set_level(NP_LOG_WARN);
    if (itest_tmpdir("sshnp", dir, sizeof(dir)) != 0 || itest_mkca(dir) != 0)
        return -1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    snprintf(dirdb, sizeof(dirdb), "%s/directory.db", dir);
    snprintf(data, sizeof(data), "%s/atserver", dir);
    snprintf(bindir, sizeof(bindir), "%s/bin", dir);
    snprintf(alice_keys, sizeof(alice_keys), "%s/alice.atKeys", dir);
    snprintf(bob_keys, sizeof(bob_keys), "%s/bob.atKeys", dir);
    snprintf(relay_keys, sizeof(relay_keys), "%s/relay.atKeys", dir);
    snprintf(srv_log, sizeof(srv_log), "%s/atserver.log", dir);
    snprintf(dir_log, sizeof(dir_log), "%s/atdirectory.log", dir);
    snprintf(npd_log, sizeof(npd_log), "%s/sshnpd.log", dir);
    snprintf(out_path, sizeof(out_path), "%s/out.txt", dir);
    if (mkdir(data, 0700) != 0 || mkdir(bindir, 0700) != 0)
        return -1;
    snprintf(link, sizeof(link), "%s/ssh", bindir);
    if (symlink(prog("NP_FAKE_SSH"), link) != 0)
        return -1;
    if (copy_keys("alice-wrench.atKeys", alice_keys) != 0 ||
        copy_keys("bob-wrench.atKeys", bob_keys) != 0 ||
        copy_keys("relay1.atKeys", relay_keys) != 0)
        return -1;
    if (np_atkeys_load(alice_keys, &ka, err, sizeof(err)) != 0 ||
        np_atkeys_load(bob_keys, &kb, err, sizeof(err)) != 0 ||
        np_atkeys_load(relay_keys, &kr, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (itest_free_port(&dir_port) != 0 || itest_free_port(&alice_port) != 0 ||
        itest_free_port(&bob_port) != 0 || itest_free_port(&relay_port) != 0)
        return -1;
    if (create_atsign(ALICE, alice_port, ALICE_CRAM) != 0 ||
        create_atsign(BOB, bob_port, BOB_CRAM) != 0 ||
        create_atsign(RELAY, relay_port, RELAY_CRAM) != 0)
        return -1;
    snprintf(dportstr, sizeof(dportstr), "%d", dir_port);
    snprintf(root, sizeof(root), "127.0.0.1:%d", dir_port);
    {
        const char *dargv[] = {prog("NP_ATDIRECTORY"),
                               "--bind",
                               "127.0.0.1",
                               "--port",
                               dportstr,
                               "--cert",
                               cert,
                               "--key",
                               key,
                               "--db",
                               dirdb,
                               "--notfound-delay",
                               "0",
                               NULL};
        const char *sargv[] = {prog("NP_ATSERVER"),
                               "run",
                               "--data-dir",
                               data,
                               "--cert",
                               cert,
                               "--key",
                               key,
                               "--bind",
                               "127.0.0.1",
                               "--root-domain",
                               root,
                               "--ca-file",
                               ca,
                               NULL};

        if (itest_spawn(dargv, dir_log, &dir_pid) != 0 ||
            itest_wait_port("127.0.0.1", dir_port, dir_pid, 10000) != 0) {
            itest_dump_file("atdirectory log", dir_log);
            return -1;
        }
        if (itest_spawn(sargv, srv_log, &srv_pid) != 0 ||
            itest_wait_port("127.0.0.1", alice_port, srv_pid, 15000) != 0 ||
            itest_wait_port("127.0.0.1", bob_port, srv_pid, 15000) != 0 ||
            itest_wait_port("127.0.0.1", relay_port, srv_pid, 15000) != 0) {
            itest_dump_file("atserver log", srv_log);
            return -1;
        }
    }
    if (provision(ALICE, ALICE_CRAM, ka) != 0 || provision(BOB, BOB_CRAM, kb) != 0 ||
        provision(RELAY, RELAY_CRAM, kr) != 0) {
        itest_dump_file("atserver log", srv_log);
        return -1;
    }
    if ((base = event_base_new()) == NULL || (echo = tb_echo_new(base, NULL)) == NULL)
        return -1;
    if (start_relay() != 0) {
        itest_dump_file("atserver log", srv_log);
        return -1;
    }
    return start_daemon();
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(npd_pid, 5000, NULL);
    at_monitor_free(rm);
    at_client_free(rc);
    relay_free(relay);
    tb_echo_free(echo);
    if (base)
        event_base_free(base);
    itest_stop(srv_pid, 5000, NULL);
    itest_stop(dir_pid, 5000, NULL);
    np_atkeys_free(ka);
    np_atkeys_free(kb);
    np_atkeys_free(kr);
    if (getenv("NP_KEEP_TMP") == NULL)
        itest_rmtree(dir);
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
    const char *argv[] = {prog("NP_SSHNP"),
                          "-f",
                          ALICE,
                          "-t",
                          BOB,
                          "-d",
                          "garage",
                          "-r",
                          RELAY,
                          "-k",
                          alice_keys,
                          "--root-domain",
                          root,
                          "--ca-file",
                          ca,
                          "-v",
                          NULL};
    (void)state;

    snprintf(log, sizeof(log), "%s/sshnp.log", dir);
    snprintf(args, sizeof(args), "%s/ssh_args.txt", dir);
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
    assert_non_null(strstr(a, "Session accepted by " BOB " (twin keys)"));
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
    const char *argv[] = {prog("NP_NPT"), "-f",        ALICE, "-t", BOB,        "-d",
                          "garage",       "-r",        RELAY, "-k", alice_keys, "--root-domain",
                          root,           "--ca-file", ca,    "-p", port,       "-h",
                          "127.0.0.1",    "-x",        "-T",  "3s", "-q",       NULL};
    int64_t p = 0;
    (void)state;

    snprintf(port, sizeof(port), "%d", tb_echo_port(echo));
    snprintf(log, sizeof(log), "%s/npt.log", dir);
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
    const char *argv[] = {prog("NP_SSHNP"),
                          "-f",
                          ALICE,
                          "-t",
                          BOB,
                          "-d",
                          "garage",
                          "-r",
                          RELAY,
                          "-k",
                          alice_keys,
                          "--root-domain",
                          root,
                          "--ca-file",
                          ca,
                          "--stdio",
                          "-q",
                          NULL};
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
    const char *argv[] = {prog("NP_SSHNP"),
                          "-f",
                          ALICE,
                          "--list-devices",
                          "-k",
                          alice_keys,
                          "--root-domain",
                          root,
                          "--ca-file",
                          ca,
                          "-q",
                          NULL};
    (void)state;

    snprintf(log, sizeof(log), "%s/list.log", dir);
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
