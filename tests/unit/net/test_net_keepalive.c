/*
 * Unit tests for net_tcp_set_dead_peer_detection (lib/net/tcp.c): the
 * socket options it sets, read back with getsockopt (and the total that
 * net_tcp_dead_peer_timeout_s reports for messages), for the defaults,
 * NP_TCP_KEEPALIVE overrides, "0" (off) and invalid values (defaults kept,
 * one warning). The variable is parsed once per process, so each case
 * calls the test hook net_tcp__keepalive_reload after setenv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tcp.h"
#include "util/log.h"

struct ka_opts {
    int keepalive, idle, intvl, cnt;
    unsigned int user_ms;
};

static void read_opts(int fd, struct ka_opts *o)
{
    socklen_t len;

    memset(o, 0, sizeof(*o));
    len = sizeof(o->keepalive);
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o->keepalive, &len), 0);
    len = sizeof(o->idle);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o->idle, &len), 0);
    len = sizeof(o->intvl);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o->intvl, &len), 0);
    len = sizeof(o->cnt);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o->cnt, &len), 0);
    len = sizeof(o->user_ms);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &o->user_ms, &len), 0);
}

/* A fresh socket's options before the call (the kernel's defaults). */
static void fresh_opts(struct ka_opts *o)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    read_opts(fd, o);
    close(fd);
}

/* Apply to a new socket of family and read the options back: 0, or -1
 * (no such family), or the failing call's line (reported by the caller:
 * nothing asserts while stderr is redirected). */
static int apply_one(int family, struct ka_opts *o)
{
    int fd = socket(family, SOCK_STREAM, 0), r = 0;
    socklen_t len;

    memset(o, 0, sizeof(*o));
    if (fd < 0)
        return -1;
    if (net_tcp_set_dead_peer_detection(fd) != 0)
        r = __LINE__;
    len = sizeof(int);
    if (!r && getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o->keepalive, &len) != 0)
        r = __LINE__;
    if (!r && getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o->idle, &len) != 0)
        r = __LINE__;
    if (!r && getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o->intvl, &len) != 0)
        r = __LINE__;
    if (!r && getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o->cnt, &len) != 0)
        r = __LINE__;
    if (!r && getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &o->user_ms, &len) != 0)
        r = __LINE__;
    close(fd);
    return r;
}

/*
 * Set NP_TCP_KEEPALIVE (NULL: unset), reload, apply to a new socket, read
 * the options back into *o. Whatever the calls log goes to a temporary file
 * whose text is returned in log (size logsz).
 */
static void apply(const char *env, struct ka_opts *o, char *log, size_t logsz)
{
    char path[] = "/tmp/np-test-keepalive-XXXXXX";
    struct ka_opts o2;
    int lfd, saved, r4, r6;
    ssize_t n;

    if (env)
        assert_int_equal(setenv("NP_TCP_KEEPALIVE", env, 1), 0);
    else
        assert_int_equal(unsetenv("NP_TCP_KEEPALIVE"), 0);
    net_tcp__keepalive_reload();

    lfd = mkstemp(path);
    assert_true(lfd >= 0);
    unlink(path);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(lfd, STDERR_FILENO) >= 0);
    r4 = apply_one(AF_INET, o);
    /* parsed once: a second socket gets the same without a second warning */
    r6 = apply_one(AF_INET6, &o2);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);

    assert_int_equal(lseek(lfd, 0, SEEK_SET), 0);
    n = read(lfd, log, logsz - 1);
    close(lfd);
    assert_true(n >= 0);
    log[n] = '\0';
    if (r4 != 0)
        fail_msg("NP_TCP_KEEPALIVE=%s: IPv4 socket: call at line %d failed; log: %s",
                 env ? env : "(unset)", r4, log);
    if (r6 > 0)
        fail_msg("NP_TCP_KEEPALIVE=%s: IPv6 socket: call at line %d failed; log: %s",
                 env ? env : "(unset)", r6, log);
    if (r6 == 0) /* (-1: no IPv6 here, one socket is enough) */
        assert_memory_equal(o, &o2, sizeof(o2));
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void assert_opts(const struct ka_opts *o, int idle, int intvl, int cnt)
{
    assert_int_equal(o->keepalive, 1);
    assert_int_equal(o->idle, idle);
    assert_int_equal(o->intvl, intvl);
    assert_int_equal(o->cnt, cnt);
    assert_int_equal(o->user_ms, (unsigned int)(idle + intvl * cnt) * 1000u);
    assert_int_equal(net_tcp_dead_peer_timeout_s(), idle + intvl * cnt);
}

static void test_defaults(void **state)
{
    struct ka_opts o;
    char log[512];

    (void)state;
    apply(NULL, &o, log, sizeof(log));
    assert_opts(&o, NET_TCP_KEEPIDLE_S, NET_TCP_KEEPINTVL_S, NET_TCP_KEEPCNT);
    assert_int_equal(o.user_ms, 60000); /* 30 s + 3 x 10 s */
    assert_string_equal(log, "");
    apply("", &o, log, sizeof(log));
    assert_opts(&o, NET_TCP_KEEPIDLE_S, NET_TCP_KEEPINTVL_S, NET_TCP_KEEPCNT);
    assert_string_equal(log, "");
}

static void test_override(void **state)
{
    struct ka_opts o;
    char log[512];

    (void)state;
    apply("1,1,2", &o, log, sizeof(log));
    assert_opts(&o, 1, 1, 2);
    assert_int_equal(o.user_ms, 3000);
    assert_string_equal(log, "");
    apply("7,3,5", &o, log, sizeof(log));
    assert_opts(&o, 7, 3, 5);
    assert_string_equal(log, "");
    apply("3600,1,100", &o, log, sizeof(log));
    assert_opts(&o, 3600, 1, 100);
    assert_string_equal(log, "");
}

/* The largest values the kernel takes (TCP_KEEPCNT stops at 127): all set,
 * and the user timeout (~5 days) is exact. */
static void test_override_max(void **state)
{
    struct ka_opts o;
    char log[512];

    (void)state;
    apply("3600,3600,127", &o, log, sizeof(log));
    assert_opts(&o, 3600, 3600, NET_TCP_KEEPCNT_MAX);
    assert_int_equal(o.user_ms, 460800000u);
    assert_string_equal(log, "");
}

static void test_off(void **state)
{
    struct ka_opts before, o;
    char log[512];

    (void)state;
    fresh_opts(&before);
    assert_int_equal(before.keepalive, 0);
    apply("0", &o, log, sizeof(log));
    /* nothing set: the socket keeps the kernel's values */
    assert_memory_equal(&o, &before, sizeof(o));
    assert_int_equal(net_tcp_dead_peer_timeout_s(), 0);
    assert_string_equal(log, "");
}

static void test_invalid(void **state)
{
    static const char *const bad[] = {"5,5",    "0,1,1",    "a,b,c",    "1,1,1,1", "1,1,",
                                      ",1,1",   "3601,1,1", "1,3601,1", "1,1,128", "1,-1,1",
                                      "1,1,2x", " 1,1,1",   "00000",    "1;1;1"};
    struct ka_opts o;
    char log[1024];

    (void)state;
    /* first a valid override, so "defaults kept" is a real change back */
    apply("2,2,2", &o, log, sizeof(log));
    assert_opts(&o, 2, 2, 2);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[64];

        apply(bad[i], &o, log, sizeof(log));
        assert_opts(&o, NET_TCP_KEEPIDLE_S, NET_TCP_KEEPINTVL_S, NET_TCP_KEEPCNT);
        snprintf(want, sizeof(want), "NP_TCP_KEEPALIVE=\"%s\" ignored", bad[i]);
        if (count(log, want) != 1)
            fail_msg("value \"%s\": want one warning, log: %s", bad[i], log);
        apply("2,2,2", &o, log, sizeof(log));
        assert_opts(&o, 2, 2, 2);
    }
}

/* Control bytes in the value are escaped in the warning. */
static void test_invalid_escaped(void **state)
{
    struct ka_opts o;
    char log[1024];

    (void)state;
    apply("1,1,1\n\033[31m", &o, log, sizeof(log));
    assert_opts(&o, NET_TCP_KEEPIDLE_S, NET_TCP_KEEPINTVL_S, NET_TCP_KEEPCNT);
    assert_int_equal(count(log, "ignored"), 1);
    assert_null(strchr(log, '\033'));
    assert_int_equal(count(log, "\n"), 1); /* the line's own end only */
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("NP_TCP_KEEPALIVE");
    net_tcp__keepalive_reload();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_override, teardown),
        cmocka_unit_test_teardown(test_override_max, teardown),
        cmocka_unit_test_teardown(test_off, teardown),
        cmocka_unit_test_teardown(test_invalid, teardown),
        cmocka_unit_test_teardown(test_invalid_escaped, teardown),
    };

    np_log_set_level(NP_LOG_INFO);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
