/*
 * Unit tests of src/sshnp/clientapp.c and sshcmd.c: the programs' run-time
 * with the flow_harness world plugged in instead of the atProtocol: sshnp
 * runs (a fake) ssh through the tunnel and exits with its status; the ssh
 * command line (options first, -i extras, HostKeyAlias, quoting); errors
 * print the section-10 text and a hint and exit 1; sshnp -x prints the
 * command, the background child serves one connection and exits 0; npt -x
 * prints the port alone and serves connections until its timeout; npt -K
 * restarts on the same local port; --list-devices.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "clientapp.h"
#include "flow_harness.h"
#include "np/client_opts.h"
#include "sshcmd.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"
#include "util/time.h"

#define FAKE_SSH NP_BINARY_DIR "/tests/unit/sshnp/fake_ssh"

/* ------------------------------------------------------------- the world */

struct world {
    struct fh h;
    struct np_client_opts *opts; /* npt: remote_port set to the echo server's */
    struct clientapp *app;
    int silent_relay;
    int attached, torn_down;
    int scans, pings, username_gets, requests; /* the world's counters at teardown */
};

static void to_app(void *data, const char *from, const char *key, const char *value, size_t len)
{
    clientapp_notification(data, from, key, value, len);
}

static void connected_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    clientapp_connected(arg);
}

static int w_attach(struct clientapp *app, struct event_base *base, void *data,
                    struct np_client_io *io, char *err, size_t errlen)
{
    struct world *w = data;
    struct timeval tv = {0, 1000};

    (void)err;
    (void)errlen;
    fh_init_on(&w->h, base);
    w->h.relay_silent = w->silent_relay;
    w->h.deliver_fn = to_app;
    w->h.deliver_data = app;
    w->app = app;
    w->attached = 1;
    if (w->opts && w->opts->prog == NP_PROG_NPT)
        w->opts->remote_port = fh_echo_port(&w->h);
    *io = fh_io(&w->h);
    return event_base_once(base, -1, EV_TIMEOUT, connected_cb, app, &tv);
}

static void w_teardown(void *data)
{
    struct world *w = data;

    w->scans = w->h.scans;
    w->pings = w->h.pings;
    w->username_gets = w->h.username_gets;
    w->requests = w->h.requests;
    fh_done(&w->h);
    w->torn_down = 1;
}

static void env_init(struct clientapp_env *e, struct world *w, FILE *out, FILE *err)
{
    const struct fh_keys *k = fh_keys();

    memset(w, 0, sizeof(*w));
    memset(e, 0, sizeof(*e));
    e->attach = w_attach;
    e->teardown = w_teardown;
    e->data = w;
    e->enc_key = k->client_enc;
    e->pkam_key = k->client_pkam;
    e->sk_uri = FH_SK_CLIENT;
    e->ssh_program = FAKE_SSH;
    e->out = out;
    e->err = err;
    e->connect_timeout_ms = 10000;
}

static void parse(struct np_client_opts *o, int prog, const char **args)
{
    char *argv[40];
    char err[256];
    int argc = 0;

    argv[argc++] = prog == NP_PROG_NPT ? "npt" : "sshnp";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    assert_int_equal(np_client_opts_parse(o, prog, argc, argv, err, sizeof(err)), 0);
}

/* The whole content of a tmpfile. */
static char *slurp(FILE *f)
{
    long n;
    char *s;

    fflush(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    assert_true(n >= 0);
    s = np_malloc((size_t)n + 1);
    assert_non_null(s);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    return s;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Wait (bounded) for a child to exit; returns its exit status or -1. */
static int reap(pid_t pid, int max_ms)
{
    int64_t end = np_mono_ms() + max_ms;
    int st = 0;

    while (np_mono_ms() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);

        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    (void)waitpid(pid, &st, 0);
    return -1;
}

/* Blocking echo round trip of n bytes through 127.0.0.1:port. */
static void echo_through(int port, size_t n, unsigned seed)
{
    struct sockaddr_in sa;
    struct timeval tv = {10, 0};
    unsigned char *out = np_malloc(n), *in = np_malloc(n);
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0 && out && in);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(i * 13 + seed);
    for (size_t sent = 0; sent < n;) {
        ssize_t k = write(fd, out + sent, n - sent);

        assert_true(k > 0);
        sent += (size_t)k;
        while (got < sent) {
            ssize_t r = read(fd, in + got, n - got);

            assert_true(r > 0);
            got += (size_t)r;
        }
    }
    assert_memory_equal(out, in, n);
    close(fd);
    np_free(out);
    np_free(in);
}

/* ------------------------------------------------------------- sshcmd */

static void test_sshcmd(void **state)
{
    char *opts[2] = {"Compression=no", "ProxyJump=a b"};
    struct sshcmd_params p;
    struct sshcmd c;
    char *line = NULL;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.port = 40123;
    p.host = "127.0.0.1";
    p.user = "pi";
    p.identity = "/home/me/.ssh/id ed25519";
    p.options = opts;
    p.n_options = 2;
    p.device = "garage";
    p.device_atsign = "@pi";
    assert_int_equal(sshcmd_build(&p, &c), 0);
    assert_int_equal(sshcmd_format(&c, &line), 0);
    assert_string_equal(line, "ssh -p 40123 -o Compression=no -o 'ProxyJump=a b' -i "
                              "'/home/me/.ssh/id ed25519' -o StrictHostKeyChecking=accept-new -o "
                              "IdentitiesOnly=yes -o HostKeyAlias=garage.pi.sshnp pi@127.0.0.1");
    assert_null(c.argv[c.argc]);
    np_free(line);
    sshcmd_free(&c);
    /* without -i: no StrictHostKeyChecking override; quotes inside quotes */
    p.identity = NULL;
    p.n_options = 0;
    p.user = "o'neil";
    assert_int_equal(sshcmd_build(&p, &c), 0);
    assert_int_equal(sshcmd_format(&c, &line), 0);
    assert_string_equal(line,
                        "ssh -p 40123 -o HostKeyAlias=garage.pi.sshnp 'o'\\''neil@127.0.0.1'");
    np_free(line);
    sshcmd_free(&c);
    p.port = 0;
    assert_int_equal(sshcmd_build(&p, &c), NP_ERR_INVAL);
}

/* ------------------------------------------------------------ programs */

static void test_sshnp_runs_ssh(void **state)
{
    const char *args[] = {"-f", "@alice", "-t", "@pi",          "-r", "@relay",
                          "-d", "garage", "-i", "/tmp/id_test", "-o", "Compression=no",
                          NULL};
    char argsfile[] = "/tmp/fake_ssh_args_XXXXXX";
    struct np_client_opts o;
    struct clientapp_env e;
    struct world w;
    FILE *out = tmpfile(), *err = tmpfile();
    char *a, *log;
    int fd;

    (void)state;
    assert_true((fd = mkstemp(argsfile)) >= 0);
    close(fd);
    setenv("FAKE_SSH_ARGS", argsfile, 1);
    setenv("FAKE_SSH_BYTES", "200000", 1);
    parse(&o, NP_PROG_SSHNP, args);
    env_init(&e, &w, out, err);
    assert_int_equal(clientapp_run(&o, &e), 0);
    assert_true(w.torn_down);
    FILE *f = fopen(argsfile, "r");
    assert_non_null(f);
    a = slurp(f);
    fclose(f);
    unlink(argsfile);
    unsetenv("FAKE_SSH_ARGS");
    unsetenv("FAKE_SSH_BYTES");
    /* user options first, then ours */
    assert_non_null(strstr(a, "-p\n"));
    assert_non_null(strstr(a, "-o\nCompression=no\n-i\n/tmp/id_test\n-o\n"
                              "StrictHostKeyChecking=accept-new\n-o\nIdentitiesOnly=yes\n-o\n"
                              "HostKeyAlias=garage.pi.sshnp\n" FH_USER "@127.0.0.1\n"));
    log = slurp(err);
    assert_non_null(strstr(log, " : Pinging the device daemon @pi"));
    assert_non_null(strstr(log, " : Starting: "));
    assert_null(strstr(log, "Error:"));
    np_free(a);
    np_free(log);
    fclose(out);
    fclose(err);
    np_client_opts_clear(&o);
}

static void test_sshnp_exit_status_of_ssh(void **state)
{
    const char *args[] = {"-f", "@alice", "-t", "@pi", "-r",   "@relay",
                          "-d", "garage", "-q", "-u",  "root", NULL};
    struct np_client_opts o;
    struct clientapp_env e;
    struct world w;
    FILE *out = tmpfile(), *err = tmpfile();
    char *log;

    (void)state;
    setenv("FAKE_SSH_EXIT", "42", 1);
    parse(&o, NP_PROG_SSHNP, args);
    env_init(&e, &w, out, err);
    assert_int_equal(clientapp_run(&o, &e), 42);
    unsetenv("FAKE_SSH_EXIT");
    assert_true(w.torn_down);
    assert_int_equal(w.requests, 1);
    assert_int_equal(w.username_gets, 0);
    log = slurp(err);
    assert_string_equal(log, ""); /* -q */
    np_free(log);
    fclose(out);
    fclose(err);
    np_client_opts_clear(&o);
}

static void test_error_output(void **state)
{
    const char *args[] = {"-f", "@alice", "-t", "@pi", "-r", "@relay", "-d", "garage", "-q", NULL};
    struct np_client_opts o;
    struct clientapp_env e;
    struct world w;
    FILE *out = tmpfile(), *err = tmpfile();
    char *log;

    (void)state;
    parse(&o, NP_PROG_SSHNP, args);
    env_init(&e, &w, out, err);
    w.silent_relay = 1;
    e.relay_timeout_ms = 300;
    assert_int_equal(clientapp_run(&o, &e), 1);
    log = slurp(err);
    assert_non_null(strstr(log, "Error: Connection timeout to srvd @relay service\nHint: "));
    np_free(log);
    fclose(out);
    fclose(err);
    np_client_opts_clear(&o);
}

static void test_sshnp_x(void **state)
{
    const char *args[] = {"-f", "@alice", "-t", "@pi", "-r", "@relay", "-d", "garage", "-x", NULL};
    struct np_client_opts o;
    struct clientapp_env e;
    struct world w;
    FILE *out = tmpfile(), *err = tmpfile();
    pid_t child = -1;
    char *text;
    const char *p;
    int64_t port = 0;

    (void)state;
    parse(&o, NP_PROG_SSHNP, args);
    env_init(&e, &w, out, err);
    e.ssh_program = NULL;
    e.child_pid = &child;
    assert_int_equal(clientapp_run(&o, &e), 0); /* the parent, at once */
    assert_true(child > 0);
    assert_false(w.attached); /* everything happened in the child */
    text = slurp(out);
    assert_true(strncmp(text, "ssh -p ", 7) == 0);
    assert_non_null(strstr(text, " -o HostKeyAlias=garage.pi.sshnp " FH_USER "@127.0.0.1\n"));
    p = text + 7;
    assert_int_equal(np_parse_i64n(p, strcspn(p, " "), 1, 65535, &port), 0);
    echo_through((int)port, 300000, 1);      /* the child serves the one connection */
    assert_int_equal(reap(child, 15000), 0); /* and then ends by itself */
    np_free(text);
    fclose(out);
    fclose(err);
    np_client_opts_clear(&o);
}

static void test_npt_x(void **state)
{
    const char *args[] = {"-f", "@alice", "-t", "@pi",       "-r", "@relay", "-d", "garage",
                          "-p", "1",      "-h", "127.0.0.1", "-T", "2s",     "-x", NULL};
    struct np_client_opts o;
    struct clientapp_env e;
    struct world w;
    FILE *out = tmpfile(), *err = tmpfile();
    pid_t child = -1;
    char *text;
    int64_t port = 0;

    (void)state;
    parse(&o, NP_PROG_NPT, args);
    env_init(&e, &w, out, err);
    e.child_pid = &child;
    w.opts = &o; /* the world's echo port is only known in the child: -p 1 is replaced there */
    assert_int_equal(clientapp_run(&o, &e), 0);
    text = slurp(out);
    assert_int_equal(text[strlen(text) - 1], '\n'); /* the port alone */
    text[strlen(text) - 1] = '\0';
    assert_int_equal(np_parse_i64(text, 1, 65535, &port), 0);
    echo_through((int)port, 100000, 2);
    echo_through((int)port, 100000, 3);      /* npt: more than one connection */
    assert_int_equal(reap(child, 15000), 0); /* -T 2s after the last one */
    np_free(text);
    fclose(out);
    fclose(err);
    np_client_opts_clear(&o);
}

static void test_npt_keep_alive(void **state)
{
    const char *args[] = {"-f",     "@alice", "-t", "@pi", "-r", "@relay", "-d",
                          "garage", "-p",     "1",  "-T",  "1s", "-K",     NULL};
    struct np_client_opts o;
    struct clientapp_env e;
    struct world w;
    FILE *out = tmpfile(), *err = tmpfile();
    char *log, *first;
    char line[64];

    (void)state;
    parse(&o, NP_PROG_NPT, args);
    env_init(&e, &w, out, err);
    w.opts = &o;
    e.restart_delay_ms = 100;
    e.max_sessions = 2;
    int rc = clientapp_run(&o, &e);
    log = slurp(err);
    if (getenv("FH_DEBUG") || rc != 1)
        fprintf(stderr, "%s", log);
    assert_int_equal(rc, 1); /* nobody connected, twice */
    assert_int_equal(count(log, "npt is listening on 127.0.0.1:"), 2);
    assert_int_equal(count(log, "Keep-alive: starting a new session"), 1);
    /* the same local port both times */
    first = strstr(log, "npt is listening on 127.0.0.1:");
    snprintf(line, sizeof(line), "%.*s", (int)strcspn(first, "\n"), first);
    assert_non_null(strstr(first + 1, line));
    np_free(log);
    fclose(out);
    fclose(err);
    np_client_opts_clear(&o);
}

static void test_list_devices(void **state)
{
    const char *args[] = {"-f", "@alice", "--ls", NULL};
    struct np_client_opts o;
    struct clientapp_env e;
    struct world w;
    FILE *out = tmpfile(), *err = tmpfile();
    char *text;

    (void)state;
    parse(&o, NP_PROG_SSHNP, args);
    env_init(&e, &w, out, err);
    e.list_wait_ms = 500;
    assert_int_equal(clientapp_run(&o, &e), 0);
    text = slurp(out);
    assert_string_equal(text, "Active Devices:\n"
                              "  garage@pi - v5.6.3 (core v6.2.0)\n"
                              "  - allowedServices: [localhost:22, localhost:3389]\n"
                              "Inactive Devices:\n"
                              "  attic@pi - v5.6.1 (core v6.1.0)\n"
                              "  - allowedServices: []\n");
    assert_int_equal(w.scans, 1);
    assert_int_equal(w.pings, 2);
    np_free(text);
    fclose(out);
    fclose(err);
    np_client_opts_clear(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sshcmd),
        cmocka_unit_test(test_sshnp_runs_ssh),
        cmocka_unit_test(test_sshnp_exit_status_of_ssh),
        cmocka_unit_test(test_error_output),
        cmocka_unit_test(test_sshnp_x),
        cmocka_unit_test(test_npt_x),
        cmocka_unit_test(test_npt_keep_alive),
        cmocka_unit_test(test_list_devices),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
