/*
 * Unit tests for lib/net over real TLS on loopback: an event-driven server
 * (net_listener + net_conn) runs in a second thread on its own event_base;
 * the tests drive it with the blocking client (net_bclient) or with an
 * event-driven client on the main thread. Certificates come from
 * tests/integration/lib/mkca.sh, generated at test time: "a" is the
 * trusted PKI, "b" an unrelated one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "itest.h"
#include "net/bclient.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#define T_MS 5000 /* generous per-call timeout for steps expected to succeed */

static char g_dir[512];
static char ca_a[600], cert_a[600], key_a[600], ccert_a[600], ckey_a[600], ca_b[600];

/* ------------------------------------------------------------------ */
/* Event-driven test server in its own thread                          */
/* ------------------------------------------------------------------ */

struct tconn;

struct tsrv {
    struct event_base *base;
    struct net_listener *lst;
    struct net_tls_ctx *tls;
    struct net_conn_opts opts;
    struct event *stop_ev;
    struct event *resume_ev; /* "pause" command */
    struct net_conn *paused;
    struct tconn *conns;
    pthread_t th;
    int pipefd[2];
    int port;
    int dispatch_result;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n_closed;    /* on_close calls */
    int last_reason; /* reason of the last on_close */
};

struct tconn {
    struct tsrv *s;
    struct net_conn *c;
    struct tconn *next;
};

static struct tsrv *cur; /* server of the running test (stopped in teardown) */

static void forget(struct tsrv *s, struct tconn *t)
{
    for (struct tconn **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    free(t);
}

static void wr(struct net_conn *c, const char *s)
{
    net_conn_write(c, s, strlen(s));
}

static void s_on_connected(struct net_conn *c, void *data)
{
    (void)data;
    wr(c, "@");
}

static void s_on_data(struct net_conn *c, const unsigned char *p, size_t n, void *data)
{
    (void)data;
    net_conn_write(c, p, n); /* raw echo */
}

static void s_on_close(struct net_conn *c, int reason, void *data)
{
    struct tconn *t = data;
    struct tsrv *s = t->s;

    (void)c;
    if (s->paused == c) {
        s->paused = NULL;
        event_del(s->resume_ev);
    }
    forget(s, t);
    pthread_mutex_lock(&s->mu);
    s->n_closed++;
    s->last_reason = reason;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct tsrv *s = arg;

    (void)fd;
    (void)what;
    if (s->paused) {
        wr(s->paused, "data:pause\n@");
        net_conn_resume(s->paused);
        s->paused = NULL;
    }
}

static void s_on_line(struct net_conn *c, char *line, size_t len, void *data)
{
    struct tconn *t = data;
    struct tsrv *s = t->s;
    char buf[512];

    (void)len;
    if (strcmp(line, "silent") == 0) {
        return;
    } else if (strcmp(line, "two") == 0) {
        wr(c, "one\n@");
        wr(c, "two\n@");
    } else if (strcmp(line, "gather") == 0) {
        struct iovec v[4] = {{"data:", 5}, {"x", 1}, {"\n", 1}, {"@alice@", 7}};
        net_conn_writev(c, v, 4);
    } else if (strcmp(line, "bye") == 0) {
        wr(c, "bye\n");
        net_conn_close(c);
    } else if (strcmp(line, "pause") == 0) {
        struct timeval tv = {0, 100 * 1000};
        net_conn_pause(c);
        s->paused = c;
        evtimer_add(s->resume_ev, &tv);
    } else if (strcmp(line, "peer") == 0) {
        struct net_peer_cert *pc = NULL;
        if (net_conn_peer_cert(c, &pc) == 0) {
            snprintf(
                buf, sizeof(buf), "cn=%s dns=%s n=%zu m1=%d m2=%d m3=%d\n",
                net_peer_cert_cn(pc) ? net_peer_cert_cn(pc) : "-",
                net_peer_cert_dns(pc, 0) ? net_peer_cert_dns(pc, 0) : "-",
                net_peer_cert_dns_count(pc), net_peer_cert_matches_host(pc, "CLIENT.localhost"),
                net_peer_cert_matches_host(pc, "example.org"), net_peer_cert_matches_host(pc, ""));
            net_peer_cert_free(pc);
            wr(c, buf);
        } else {
            wr(c, "none\n");
        }
    } else if (strcmp(line, "big") == 0) {
        size_t n = s->opts.max_output + 1;
        char *big = calloc(1, n);
        int r = big ? net_conn_write(c, big, n) : NP_ERR_NOMEM;
        free(big);
        snprintf(buf, sizeof(buf), "limit=%d\n", r);
        wr(c, buf);
    } else if (strcmp(line, "free") == 0) {
        forget(s, t);
        net_conn_free(c);
    } else if (strcmp(line, "data") == 0) {
        struct net_conn_cbs cbs = {.on_data = s_on_data, .on_close = s_on_close};
        net_conn_set_callbacks(c, &cbs);
        wr(c, "ok\n");
    } else {
        snprintf(buf, sizeof(buf), "data:%s\n@", line);
        wr(c, buf);
    }
}

static void s_accept(int fd, const struct sockaddr *sa, int salen, void *data)
{
    struct tsrv *s = data;
    struct net_conn_cbs cbs = {
        .on_connected = s_on_connected, .on_line = s_on_line, .on_close = s_on_close};
    struct tconn *t = calloc(1, sizeof(*t));

    (void)sa;
    (void)salen;
    if (!t) {
        close(fd);
        return;
    }
    t->s = s;
    if (net_conn_accept(s->base, fd, s->tls, &s->opts, &cbs, t, &t->c) != 0) {
        free(t);
        return;
    }
    t->next = s->conns;
    s->conns = t;
}

/* Stop request from the main thread: free everything; the loop then runs
 * out of events and event_base_dispatch returns 1. */
static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct tsrv *s = arg;

    (void)fd;
    (void)what;
    while (s->conns) {
        struct tconn *t = s->conns;
        s->conns = t->next;
        net_conn_free(t->c);
        free(t);
    }
    net_listener_free(s->lst);
    s->lst = NULL;
    event_free(s->resume_ev);
    s->resume_ev = NULL;
    event_free(s->stop_ev);
    s->stop_ev = NULL;
}

static void *srv_main(void *arg)
{
    struct tsrv *s = arg;

    s->dispatch_result = event_base_dispatch(s->base);
    return NULL;
}

/* Start a server on host:0; tls NULL = plain TCP. */
static struct tsrv *srv_start(const char *host, int tls, const char *client_ca,
                              const struct net_conn_opts *opts)
{
    struct tsrv *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (opts)
        s->opts = *opts;
    if (tls) {
        struct net_tls_server_opts o = {
            .cert_file = cert_a, .key_file = key_a, .client_ca_file = client_ca};
        assert_int_equal(net_tls_server_ctx_new(&o, &s->tls), 0);
    }
    assert_non_null(s->base = event_base_new());
    assert_int_equal(pipe(s->pipefd), 0);
    assert_non_null(s->stop_ev = event_new(s->base, s->pipefd[0], EV_READ, stop_cb, s));
    assert_int_equal(event_add(s->stop_ev, NULL), 0);
    assert_non_null(s->resume_ev = evtimer_new(s->base, resume_cb, s));
    assert_int_equal(net_listener_new(s->base, host, 0, s_accept, s, &s->lst), 0);
    s->port = net_listener_port(s->lst);
    assert_true(s->port > 0);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
    cur = s;
    return s;
}

/* Stop and join; returns the dispatch result (1 = ended with no events). */
static int srv_stop(struct tsrv *s)
{
    int r;

    if (!s)
        return -1;
    if (write(s->pipefd[1], "x", 1) != 1)
        return -1;
    pthread_join(s->th, NULL);
    r = s->dispatch_result;
    event_base_free(s->base);
    net_tls_ctx_free(s->tls);
    close(s->pipefd[0]);
    close(s->pipefd[1]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
    if (cur == s)
        cur = NULL;
    return r;
}

/* Wait (bounded) until the server has seen n closes; returns last reason. */
static int srv_wait_closed(struct tsrv *s, int n, int timeout_ms)
{
    struct timespec ts;
    int reason;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->n_closed < n)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0)
            break;
    reason = s->n_closed >= n ? s->last_reason : 12345;
    pthread_mutex_unlock(&s->mu);
    return reason;
}

static int teardown_srv(void **state)
{
    (void)state;
    if (cur)
        srv_stop(cur);
    cur = NULL;
    return 0;
}

/* Connect with the trusted CA and read the initial prompt. */
static struct net_bclient *connect_ok(struct tsrv *s, const char *host, const char *name)
{
    struct net_bclient *c = NULL;
    char buf[16];
    size_t n = 0;

    assert_int_equal(net_bclient_connect(host, s->port, ca_a, name, T_MS, &c), 0);
    assert_int_equal(net_bclient_read_some(c, buf, 1, &n, T_MS), 0);
    assert_int_equal(n, 1);
    assert_int_equal(buf[0], '@');
    return c;
}

/* Read exactly `want` (as a string) through successive reads. */
static void expect_bytes(struct net_bclient *c, const char *want)
{
    size_t wl = strlen(want), have = 0;
    char buf[1024];

    assert_true(wl < sizeof(buf));
    while (have < wl) {
        size_t got = 0;
        assert_int_equal(net_bclient_read_some(c, buf + have, wl - have, &got, T_MS), 0);
        have += got;
    }
    buf[have] = '\0';
    assert_string_equal(buf, want);
}

/* ------------------------------------------------------------------ */
/* Tests with the blocking client                                      */
/* ------------------------------------------------------------------ */

static void test_verify_localhost(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    char buf[64];
    size_t n;

    (void)state;
    assert_int_equal(net_bclient_send_line(c, "hello", T_MS), 0);
    assert_int_equal(net_bclient_read_until(c, '@', buf, sizeof(buf), &n, T_MS), 0);
    assert_string_equal(buf, "data:hello\n@");
    assert_int_equal(n, 12);
    net_bclient_close(c);
    /* the name defaults to the host: "localhost" resolves and verifies */
    c = connect_ok(s, "localhost", NULL);
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_verify_ip_san(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", NULL); /* IP SAN 127.0.0.1 */

    (void)state;
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_verify_wrong_name(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = NULL;

    (void)state;
    assert_int_equal(net_bclient_connect("127.0.0.1", s->port, ca_a, "wrong.example", T_MS, &c),
                     NP_ERR_TLS);
    assert_null(c);
    assert_int_equal(net_bclient_connect("127.0.0.1", s->port, ca_a, "127.0.0.2", T_MS, &c),
                     NP_ERR_TLS);
    /* the server saw a failed handshake */
    assert_int_equal(srv_wait_closed(s, 2, T_MS), NP_ERR_TLS);
    assert_int_equal(srv_stop(s), 1);
}

static void test_untrusted_ca(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = NULL;

    (void)state;
    assert_int_equal(net_bclient_connect("127.0.0.1", s->port, ca_b, "localhost", T_MS, &c),
                     NP_ERR_TLS);
    assert_null(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_ctx_errors(void **state)
{
    struct net_tls_ctx *t = (struct net_tls_ctx *)&t;
    struct net_tls_server_opts o = {.cert_file = cert_a, .key_file = ckey_a};
    struct net_tls_server_opts missing = {.cert_file = "/nonexistent.pem", .key_file = key_a};
    struct net_tls_client_opts co = {.ca_file = "/nonexistent.pem"};
    struct net_tls_client_opts half = {.cert_file = ccert_a};

    (void)state;
    np_log_set_level(NP_LOG_ERROR); /* the failures below log errors on purpose */
    assert_int_equal(net_tls_server_ctx_new(&o, &t), NP_ERR_TLS); /* key mismatch */
    assert_null(t);
    assert_int_equal(net_tls_server_ctx_new(&missing, &t), NP_ERR_IO);
    assert_int_equal(net_tls_server_ctx_new(NULL, &t), NP_ERR_INVAL);
    assert_int_equal(net_tls_client_ctx_new(&co, &t), NP_ERR_IO);
    assert_int_equal(net_tls_client_ctx_new(&half, &t), NP_ERR_INVAL);
    np_log_set_level(NP_LOG_WARN);
    assert_int_equal(net_tls_client_ctx_new(NULL, &t), 0); /* system store */
    assert_false(net_tls_ctx_is_server(t));
    net_tls_ctx_free(t);
    net_tls_ctx_free(NULL);
}

static void test_framing(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    static const char two[] = "a\r\nb\n";

    (void)state;
    /* two lines, \r\n and \n, in one segment */
    assert_int_equal(net_bclient_write(c, two, sizeof(two) - 1, T_MS), 0);
    expect_bytes(c, "data:a\n@data:b\n@");
    /* a line split over two writes, and an empty line */
    assert_int_equal(net_bclient_write(c, "hel", 3, T_MS), 0);
    assert_int_equal(net_bclient_write(c, "lo\n\n", 4, T_MS), 0);
    expect_bytes(c, "data:hello\n@data:\n@");
    net_bclient_close(c);
    assert_int_equal(srv_wait_closed(s, 1, T_MS), NP_ERR_EOF);
    assert_int_equal(srv_stop(s), 1);
}

static void test_line_too_long(void **state)
{
    struct net_conn_opts o = {.max_line = 64};
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, &o);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    char line[128], want[160], buf[16];
    size_t n;

    (void)state;
    /* exactly max_line bytes is fine */
    memset(line, 'x', 64);
    line[64] = '\0';
    snprintf(want, sizeof(want), "data:%s\n@", line);
    assert_int_equal(net_bclient_send_line(c, line, T_MS), 0);
    expect_bytes(c, want);
    /* one more byte without a newline closes the connection */
    memset(line, 'y', 65);
    assert_int_equal(net_bclient_write(c, line, 65, T_MS), 0);
    assert_int_equal(net_bclient_read_some(c, buf, sizeof(buf), &n, T_MS), NP_ERR_EOF);
    assert_int_equal(srv_wait_closed(s, 1, T_MS), NP_ERR_TOOBIG);
    net_bclient_close(c);
    /* and so does an over-long line that has its newline */
    c = connect_ok(s, "127.0.0.1", "localhost");
    memset(line, 'z', 100);
    line[100] = '\0';
    assert_int_equal(net_bclient_send_line(c, line, T_MS), 0);
    assert_int_equal(net_bclient_read_some(c, buf, sizeof(buf), &n, T_MS), NP_ERR_EOF);
    assert_int_equal(srv_wait_closed(s, 2, T_MS), NP_ERR_TOOBIG);
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_one_write_one_record(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    char buf[256];
    size_t n = 0;

    (void)state;
    /* a gathered write (4 pieces) arrives as one TLS record */
    assert_int_equal(net_bclient_send_line(c, "gather", T_MS), 0);
    assert_int_equal(net_bclient_read_some(c, buf, sizeof(buf), &n, T_MS), 0);
    buf[n] = '\0';
    assert_string_equal(buf, "data:x\n@alice@");
    /* two writes in one callback: two records, neither split nor merged */
    assert_int_equal(net_bclient_send_line(c, "two", T_MS), 0);
    assert_int_equal(net_bclient_read_some(c, buf, sizeof(buf), &n, T_MS), 0);
    buf[n] = '\0';
    assert_string_equal(buf, "one\n@");
    assert_int_equal(net_bclient_read_some(c, buf, sizeof(buf), &n, T_MS), 0);
    buf[n] = '\0';
    assert_string_equal(buf, "two\n@");
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_client_read_timeout(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    char buf[64];
    size_t n = 99;
    int64_t t0, dt;

    (void)state;
    assert_int_equal(net_bclient_send_line(c, "silent", T_MS), 0);
    t0 = np_mono_ms();
    assert_int_equal(net_bclient_read_line(c, buf, sizeof(buf), &n, 200), NP_ERR_TIMEOUT);
    dt = np_mono_ms() - t0;
    assert_int_equal(n, 0);
    assert_in_range(dt, 190, 1500);
    /* the connection still works afterwards */
    assert_int_equal(net_bclient_send_line(c, "again", T_MS), 0);
    assert_int_equal(net_bclient_read_line(c, buf, sizeof(buf), &n, T_MS), 0);
    assert_string_equal(buf, "data:again");
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_connect_timeout_no_handshake(void **state)
{
    struct net_bclient *c = NULL;
    int fd = -1, port = 0;
    int64_t t0, dt;

    (void)state;
    /* listening socket that never accepts: TCP completes, TLS never does */
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 4, &fd), 0);
    assert_int_equal(net_tcp_local_port(fd, &port), 0);
    t0 = np_mono_ms();
    assert_int_equal(net_bclient_connect("127.0.0.1", port, ca_a, "localhost", 300, &c),
                     NP_ERR_TIMEOUT);
    dt = np_mono_ms() - t0;
    assert_null(c);
    assert_in_range(dt, 290, 2000);
    close(fd);
}

static void test_server_idle_timeout(void **state)
{
    struct net_conn_opts o = {.idle_timeout_ms = 200};
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, &o);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    char buf[16];
    size_t n;
    int64_t t0 = np_mono_ms(), dt;

    (void)state;
    assert_int_equal(net_bclient_read_some(c, buf, sizeof(buf), &n, 3000), NP_ERR_EOF);
    dt = np_mono_ms() - t0;
    assert_in_range(dt, 100, 1500);
    assert_int_equal(srv_wait_closed(s, 1, T_MS), NP_ERR_TIMEOUT);
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_graceful_close_flushes(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    char buf[64];
    size_t n;

    (void)state;
    assert_int_equal(net_bclient_send_line(c, "bye", T_MS), 0);
    assert_int_equal(net_bclient_read_line(c, buf, sizeof(buf), &n, T_MS), 0);
    assert_string_equal(buf, "bye");
    assert_int_equal(net_bclient_read_some(c, buf, sizeof(buf), &n, T_MS), NP_ERR_EOF);
    assert_int_equal(srv_wait_closed(s, 1, T_MS), 0);
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_pause_resume_keeps_order(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    static const char req[] = "pause\nx\ny\n";
    int64_t t0;

    (void)state;
    t0 = np_mono_ms();
    assert_int_equal(net_bclient_write(c, req, sizeof(req) - 1, T_MS), 0);
    expect_bytes(c, "data:pause\n@data:x\n@data:y\n@");
    assert_true(np_mono_ms() - t0 >= 90);
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_client_certificate(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, ca_a, NULL);
    struct net_tls_client_opts co = {.ca_file = ca_a, .cert_file = ccert_a, .key_file = ckey_a};
    struct net_tls_ctx *ctx = NULL;
    struct net_bclient *c = NULL;
    char buf[256];
    size_t n;

    (void)state;
    assert_int_equal(net_tls_client_ctx_new(&co, &ctx), 0);
    assert_int_equal(net_bclient_connect_ctx("127.0.0.1", s->port, ctx, "localhost", T_MS, &c), 0);
    expect_bytes(c, "@");
    assert_int_equal(net_bclient_send_line(c, "peer", T_MS), 0);
    assert_int_equal(net_bclient_read_line(c, buf, sizeof(buf), &n, T_MS), 0);
    assert_string_equal(buf, "cn=client.localhost dns=client.localhost n=1 m1=1 m2=0 m3=0");
    net_bclient_close(c);
    /* requested, not required: no certificate still connects */
    c = connect_ok(s, "127.0.0.1", "localhost");
    assert_int_equal(net_bclient_send_line(c, "peer", T_MS), 0);
    assert_int_equal(net_bclient_read_line(c, buf, sizeof(buf), &n, T_MS), 0);
    assert_string_equal(buf, "none");
    net_bclient_close(c);
    net_tls_ctx_free(ctx);
    assert_int_equal(srv_stop(s), 1);
}

static void test_output_limit(void **state)
{
    struct net_conn_opts o = {.max_output = 1024};
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, &o);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    char buf[64], want[64];
    size_t n;

    (void)state;
    assert_int_equal(net_bclient_send_line(c, "big", T_MS), 0);
    assert_int_equal(net_bclient_read_line(c, buf, sizeof(buf), &n, T_MS), 0);
    snprintf(want, sizeof(want), "limit=%d", NP_ERR_LIMIT);
    assert_string_equal(buf, want);
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_free_inside_callback(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    char buf[16];
    size_t n;

    (void)state;
    assert_int_equal(net_bclient_send_line(c, "free", T_MS), 0);
    assert_int_equal(net_bclient_read_some(c, buf, sizeof(buf), &n, T_MS), NP_ERR_EOF);
    net_bclient_close(c);
    /* a round trip on a new connection: the server thread has finished the
     * callback that freed the first one */
    c = connect_ok(s, "127.0.0.1", "localhost");
    assert_int_equal(net_bclient_send_line(c, "sync", T_MS), 0);
    expect_bytes(c, "data:sync\n@");
    pthread_mutex_lock(&s->mu);
    assert_int_equal(s->n_closed, 0); /* net_conn_free never calls on_close */
    pthread_mutex_unlock(&s->mu);
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_switch_to_data_mode(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct net_bclient *c = connect_ok(s, "127.0.0.1", "localhost");
    static const char req[] = "data\nraw bytes\n\r\x01";

    (void)state;
    assert_int_equal(net_bclient_write(c, req, sizeof(req) - 1, T_MS), 0);
    expect_bytes(c, "ok\nraw bytes\n\r\x01");
    net_bclient_close(c);
    assert_int_equal(srv_wait_closed(s, 1, T_MS), NP_ERR_EOF);
    assert_int_equal(srv_stop(s), 1);
}

static void test_ipv6_listener(void **state)
{
    struct tsrv *s = srv_start("::1", 1, NULL, NULL);
    char want[64];
    struct net_bclient *c;

    (void)state;
    snprintf(want, sizeof(want), "[::1]:%d", s->port);
    assert_string_equal(net_listener_addr(s->lst), want);
    c = connect_ok(s, "::1", NULL); /* IP SAN ::1 */
    assert_int_equal(net_bclient_send_line(c, "v6", T_MS), 0);
    expect_bytes(c, "data:v6\n@");
    net_bclient_close(c);
    assert_int_equal(srv_stop(s), 1);
}

static void test_plain_tcp(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 0, NULL, NULL);
    struct net_bclient *c = NULL;

    (void)state;
    assert_int_equal(net_bclient_connect_ctx("127.0.0.1", s->port, NULL, NULL, T_MS, &c), 0);
    expect_bytes(c, "@");
    assert_int_equal(net_bclient_send_line(c, "plain", T_MS), 0);
    expect_bytes(c, "data:plain\n@");
    net_bclient_close(c);
    assert_int_equal(srv_wait_closed(s, 1, T_MS), NP_ERR_EOF);
    assert_int_equal(srv_stop(s), 1);
}

/* ------------------------------------------------------------------ */
/* Event-driven client on the main thread                              */
/* ------------------------------------------------------------------ */

struct ecli {
    struct net_conn *c;
    int connected;
    int closed;
    int reason;
    char got[256];
    size_t n;
    const char *until;            /* close once this much arrived */
    struct event_base *exit_base; /* leave this loop in on_close */
};

static void e_on_connected(struct net_conn *c, void *data)
{
    struct ecli *e = data;

    e->connected++;
    assert_int_equal(net_conn_write(c, "hi\n", 3), 0);
}

static void e_on_data(struct net_conn *c, const unsigned char *p, size_t n, void *data)
{
    struct ecli *e = data;

    if (e->n + n < sizeof(e->got)) {
        memcpy(e->got + e->n, p, n);
        e->n += n;
        e->got[e->n] = '\0';
    }
    if (e->until && strcmp(e->got, e->until) == 0)
        net_conn_close(c);
}

static void e_on_close(struct net_conn *c, int reason, void *data)
{
    struct ecli *e = data;

    (void)c;
    e->closed++;
    e->reason = reason;
    if (e->exit_base)
        event_base_loopexit(e->exit_base, NULL);
}

static const struct net_conn_cbs e_cbs = {
    .on_connected = e_on_connected, .on_data = e_on_data, .on_close = e_on_close};

/* Run one event-client connection to completion; returns the dispatch
 * result (1 = the loop ended because nothing was left). */
static int run_client(const char *host, int port, int tls, const char *name, int use_dns,
                      int open_ms, struct ecli *e)
{
    struct event_base *base = event_base_new();
    struct evdns_base *dns = NULL;
    struct net_tls_client_opts co = {.ca_file = ca_a};
    struct net_tls_ctx *ctx = NULL;
    struct net_conn_opts o = {.open_timeout_ms = open_ms};
    int r;

    assert_non_null(base);
    if (tls)
        assert_int_equal(net_tls_client_ctx_new(&co, &ctx), 0);
    if (use_dns) {
        /* an evdns base keeps an event registered while it exists, so the
         * loop is left from on_close instead of running dry */
        dns = evdns_base_new(base,
                             EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        assert_non_null(dns);
        e->exit_base = base;
    }
    assert_int_equal(net_conn_connect(base, dns, host, port, ctx, name, &o, &e_cbs, e, &e->c), 0);
    net_tls_ctx_free(ctx); /* connections keep their own reference */
    assert_int_equal(e->closed, 0);
    assert_int_equal(e->connected, 0); /* never called synchronously */
    r = event_base_dispatch(base);
    if (dns) {
        assert_int_equal(r, 0);
        evdns_base_free(dns, 0);
        r = event_base_loop(base, EVLOOP_NONBLOCK); /* 1: nothing left */
    }
    event_base_free(base);
    return r;
}

static void test_event_client_tls(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct ecli e = {.until = "@data:hi\n@"};

    (void)state;
    assert_int_equal(run_client("127.0.0.1", s->port, 1, "localhost", 0, 0, &e), 1);
    assert_int_equal(e.connected, 1);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.reason, 0);
    assert_string_equal(e.got, "@data:hi\n@");
    assert_int_equal(srv_wait_closed(s, 1, T_MS), NP_ERR_EOF);
    assert_int_equal(srv_stop(s), 1);
}

static void test_event_client_dns_name(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct ecli e = {.until = "@data:hi\n@"};

    (void)state;
    /* "localhost" through evdns (hosts file); verified against the SAN */
    assert_int_equal(run_client("localhost", s->port, 1, NULL, 1, 0, &e), 1);
    assert_int_equal(e.connected, 1);
    assert_int_equal(e.reason, 0);
    assert_string_equal(e.got, "@data:hi\n@");
    assert_int_equal(srv_stop(s), 1);
}

static void test_event_client_wrong_name(void **state)
{
    struct tsrv *s = srv_start("127.0.0.1", 1, NULL, NULL);
    struct ecli e = {0};

    (void)state;
    assert_int_equal(run_client("127.0.0.1", s->port, 1, "wrong.example", 0, 0, &e), 1);
    assert_int_equal(e.connected, 0);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.reason, NP_ERR_TLS);
    assert_int_equal(srv_stop(s), 1);
}

static void test_event_client_refused(void **state)
{
    struct ecli e = {0};
    int port = 0;

    (void)state;
    assert_int_equal(itest_free_port(&port), 0);
    assert_int_equal(run_client("127.0.0.1", port, 1, "localhost", 0, 0, &e), 1);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.reason, NP_ERR_CONNECT);
}

static void test_event_client_open_timeout(void **state)
{
    struct ecli e = {0};
    int fd = -1, port = 0;
    int64_t t0, dt;

    (void)state;
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 4, &fd), 0);
    assert_int_equal(net_tcp_local_port(fd, &port), 0);
    t0 = np_mono_ms();
    assert_int_equal(run_client("127.0.0.1", port, 1, "localhost", 0, 200, &e), 1);
    dt = np_mono_ms() - t0;
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.reason, NP_ERR_TIMEOUT);
    assert_in_range(dt, 190, 2000);
    close(fd);
}

static void test_event_close_while_opening(void **state)
{
    struct event_base *base = event_base_new();
    struct ecli e = {0};
    int fd = -1, port = 0;

    (void)state;
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 4, &fd), 0);
    assert_int_equal(net_tcp_local_port(fd, &port), 0);
    assert_int_equal(
        net_conn_connect(base, NULL, "127.0.0.1", port, NULL, NULL, NULL, &e_cbs, &e, &e.c), 0);
    net_conn_close(e.c);
    assert_int_equal(e.closed, 0); /* reported from the loop, not from close */
    assert_int_equal(event_base_dispatch(base), 1);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.reason, 0);
    assert_int_equal(e.connected, 0);
    /* net_conn_free before the loop runs: no callback at all */
    memset(&e, 0, sizeof(e));
    assert_int_equal(
        net_conn_connect(base, NULL, "127.0.0.1", port, NULL, NULL, NULL, &e_cbs, &e, &e.c), 0);
    net_conn_free(e.c);
    assert_int_equal(event_base_dispatch(base), 1);
    assert_int_equal(e.closed, 0);
    event_base_free(base);
    close(fd);
}

static void test_conn_bad_args(void **state)
{
    struct event_base *base = event_base_new();
    struct net_conn *c = (struct net_conn *)&c;
    struct net_tls_server_opts so = {.cert_file = cert_a, .key_file = key_a};
    struct net_tls_ctx *sctx = NULL;
    struct ecli e = {0};

    (void)state;
    assert_int_equal(net_tls_server_ctx_new(&so, &sctx), 0);
    assert_int_equal(net_conn_connect(base, NULL, "", 1, NULL, NULL, NULL, &e_cbs, &e, &c),
                     NP_ERR_INVAL);
    assert_null(c);
    assert_int_equal(net_conn_connect(base, NULL, "127.0.0.1", 0, NULL, NULL, NULL, &e_cbs, &e, &c),
                     NP_ERR_INVAL);
    /* a server context cannot connect */
    assert_int_equal(net_conn_connect(base, NULL, "127.0.0.1", 1, sctx, NULL, NULL, &e_cbs, &e, &c),
                     NP_ERR_INVAL);
    assert_int_equal(net_conn_accept(base, -1, NULL, NULL, &e_cbs, &e, &c), NP_ERR_INVAL);
    assert_int_equal(net_conn_write(NULL, "x", 1), NP_ERR_INVAL);
    net_conn_free(NULL);
    net_conn_close(NULL);
    net_tls_ctx_free(sctx);
    event_base_free(base);
}

static void test_tcp_helpers(void **state)
{
    struct sockaddr_in6 a6;
    char buf[NET_ADDR_STR_MAX];
    int lfd = -1, cfd = -1, port = 0, r, free_port = 0;

    (void)state;
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 8, &lfd), 0);
    assert_int_equal(net_tcp_local_port(lfd, &port), 0);
    assert_true(port > 0);
    r = net_tcp_connect_numeric("127.0.0.1", port, &cfd);
    assert_true(r == 0 || r == NP_AGAIN);
    assert_true(cfd >= 0);
    assert_int_equal(itest_wait_port("127.0.0.1", port, 0, T_MS), 0);
    assert_int_equal(net_tcp_connect_finish(cfd), 0);
    assert_int_equal(net_tcp_set_nodelay(cfd, 1), 0);
    assert_int_equal(net_tcp_set_keepalive(cfd, 30, 10, 3), 0);
    close(cfd);
    close(lfd);
    assert_int_equal(net_tcp_connect_numeric("localhost", port, &cfd), NP_ERR_INVAL);
    assert_int_equal(cfd, -1);
    assert_int_equal(net_tcp_listen("127.0.0.1", 70000, 8, &lfd), NP_ERR_INVAL);
    /* refused: either at once or after the socket turns writable */
    assert_int_equal(itest_free_port(&free_port), 0);
    r = net_tcp_connect_numeric("127.0.0.1", free_port, &cfd);
    if (r == NP_AGAIN) {
        struct pollfd p = {.fd = cfd, .events = POLLOUT};
        assert_int_equal(poll(&p, 1, T_MS), 1);
        r = net_tcp_connect_finish(cfd);
        close(cfd);
    }
    assert_int_equal(r, NP_ERR_CONNECT);
    memset(&a6, 0, sizeof(a6));
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(64);
    a6.sin6_addr.s6_addr[15] = 1;
    assert_string_equal(net_tcp_addr_str((struct sockaddr *)&a6, sizeof(a6), buf, sizeof(buf)),
                        "[::1]:64");
}

static int group_setup(void **state)
{
    char b[600];

    (void)state;
    net_ignore_sigpipe();
    np_log_set_level(getenv("NP_TEST_LOG") ? np_log_level_parse(getenv("NP_TEST_LOG"))
                                           : NP_LOG_WARN);
    if (itest_tmpdir("net", g_dir, sizeof(g_dir)) != 0)
        return -1;
    snprintf(b, sizeof(b), "%s/a", g_dir);
    if (itest_mkca(b) != 0)
        return -1;
    snprintf(ca_a, sizeof(ca_a), "%s/a/ca.pem", g_dir);
    snprintf(cert_a, sizeof(cert_a), "%s/a/server.pem", g_dir);
    snprintf(key_a, sizeof(key_a), "%s/a/server.key", g_dir);
    snprintf(ccert_a, sizeof(ccert_a), "%s/a/client.pem", g_dir);
    snprintf(ckey_a, sizeof(ckey_a), "%s/a/client.key", g_dir);
    snprintf(b, sizeof(b), "%s/b", g_dir);
    if (itest_mkca(b) != 0)
        return -1;
    snprintf(ca_b, sizeof(ca_b), "%s/b/ca.pem", g_dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return itest_rmtree(g_dir) == 0 ? 0 : -1;
}

#define T(f) cmocka_unit_test_teardown(f, teardown_srv)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_verify_localhost),
        T(test_verify_ip_san),
        T(test_verify_wrong_name),
        T(test_untrusted_ca),
        T(test_ctx_errors),
        T(test_framing),
        T(test_line_too_long),
        T(test_one_write_one_record),
        T(test_client_read_timeout),
        T(test_connect_timeout_no_handshake),
        T(test_server_idle_timeout),
        T(test_graceful_close_flushes),
        T(test_pause_resume_keeps_order),
        T(test_client_certificate),
        T(test_output_limit),
        T(test_free_inside_callback),
        T(test_switch_to_data_mode),
        T(test_ipv6_listener),
        T(test_plain_tcp),
        T(test_event_client_tls),
        T(test_event_client_dns_name),
        T(test_event_client_wrong_name),
        T(test_event_client_refused),
        T(test_event_client_open_timeout),
        T(test_event_close_while_opening),
        T(test_conn_bad_args),
        T(test_tcp_helpers),
    };
    if (getenv("NP_TEST_FILTER"))
        cmocka_set_test_filter(getenv("NP_TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
