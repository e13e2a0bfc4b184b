/*
 * Unit tests for lib/np/bridge_mux.c, multi mode (npt), in-process on
 * 127.0.0.1 with the harness relay and echo server: five concurrent
 * connections of 4 MiB each through a client and a daemon bridge; what the
 * control channel carries; no encryption; heartbeats; and, playing the
 * client by hand against the daemon: newline-less legacy messages, ignored
 * heartbeat / garbage lines, refused downgrade, the 4 KiB control bound,
 * a failing local connect, retries of a refused data socket, timeouts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "crypto/aes.h"
#include "np/bridge.h"
#include "np/bridge_mux.h"
#include "test_bridge_harness.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define MiB (1024 * 1024)

struct done {
    int called, reason;
    char detail[512];
    struct np_bridge **slot;
    struct np_bridge_stats st; /* the counters at the end */
};

static void on_done(struct np_bridge *b, int reason, const char *detail, void *data)
{
    struct done *d = data;

    np_bridge_get_stats(b, &d->st);
    d->called++;
    d->reason = reason;
    snprintf(d->detail, sizeof(d->detail), "%s", detail);
    np_bridge_free(b);
    if (d->slot)
        *d->slot = NULL;
}

static int done_called(void *arg)
{
    return ((struct done *)arg)->called > 0;
}

static void mux_cfg(struct np_bridge_config *c, int side, int relay_port, int local_port,
                    const struct np_bridge_keys *k, struct done *d, struct np_bridge **slot)
{
    np_bridge_config_init(c);
    c->side = side;
    c->multi = 1;
    c->relay_host = "127.0.0.1";
    c->relay_port = relay_port;
    c->local_port = local_port;
    c->keys = *k;
    c->timeout_ms = 5000;
    c->escr = tb_escr_answer;
    c->on_done = on_done;
    c->data = d;
    d->slot = slot;
}

/* Decrypt a recorded control stream with the session C2D keys. */
static char *control_text(const struct np_buf *rec, const struct np_bridge_keys *k)
{
    char *t = np_memdup0(np_buf_ptr(rec), np_buf_len(rec));
    struct np_aes_ctr *c = NULL;

    assert_non_null(t);
    if (k->mode != NP_BRIDGE_PLAIN) {
        assert_int_equal(np_aes_ctr_new(k->c2d_key, k->c2d_iv, &c), 0);
        assert_int_equal(np_aes_ctr_apply(c, t, np_buf_len(rec)), 0);
        np_aes_ctr_free(c);
    }
    return t;
}

struct clients {
    struct tb_client *c[5];
    int n;
    struct done *cd, *dd;
};

static int clients_done(void *arg)
{
    struct clients *s = arg;
    for (int i = 0; i < s->n; i++)
        if (!tb_client_done(s->c[i]))
            return 0;
    return 1;
}

static int clients_and_bridges_done(void *arg)
{
    struct clients *s = arg;
    return clients_done(s) && s->cd->called && s->dd->called;
}

static void test_mux_five_concurrent(void **state)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct tb_relay *relay = tb_relay_new(base, TB_AUTH_NONE);
    struct tb_echo *echo = tb_echo_new(base, NULL);
    struct np_bridge_keys keys;
    struct np_bridge_config cc, dc;
    struct np_bridge *cb = NULL, *db = NULL;
    struct done cd = {0}, dd = {0};
    struct clients s = {{NULL}, 5, &cd, &dd};
    char *ctl, *p;
    int lines = 0;

    assert_non_null(relay);
    assert_non_null(echo);
    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_TWIN_KEYS), 0);
    mux_cfg(&dc, NP_BRIDGE_DAEMON, tb_relay_port(relay, 'b'), tb_echo_port(echo), &keys, &dd, &db);
    mux_cfg(&cc, NP_BRIDGE_CLIENT, tb_relay_port(relay, 'a'), 0, &keys, &cd, &cb);
    dc.timeout_ms = cc.timeout_ms = 2500;
    assert_int_equal(np_bridge_new(base, &dc, &db), 0);
    assert_int_equal(np_bridge_new(base, &cc, &cb), 0);
    for (int i = 0; i < 5; i++) {
        s.c[i] = tb_client_new(base, np_bridge_local_port(cb), 4 * MiB, 1000u + (uint32_t)i, NULL);
        assert_non_null(s.c[i]);
    }
    assert_int_equal(tb_run_until(base, clients_done, &s, 60000), 0);
    for (int i = 0; i < 5; i++) { /* each got its own bytes back */
        assert_true(tb_client_ok(s.c[i]));
        assert_true(tb_client_sum_sent(s.c[i]) == tb_client_sum_received(s.c[i]));
    }
    assert_int_equal(tb_relay_pairs(relay), 6); /* control + 5 */
    /* The control stream: five twin-key connect lines, encrypted with C2D. */
    ctl = control_text(tb_relay_rec(relay, 'a', 0), &keys);
    assert_memory_not_equal(np_buf_ptr(tb_relay_rec(relay, 'a', 0)), "connect:", 8);
    for (p = ctl; *p;) {
        char *nl = strchr(p, '\n');
        struct np_ctl_msg m;
        assert_non_null(nl);
        assert_int_equal(np_ctl_parse_line(p, (size_t)(nl - p), &m), 0);
        assert_int_equal(m.kind, NP_CTL_CONNECT);
        assert_int_equal(m.keys.mode, NP_BRIDGE_TWIN_KEYS);
        assert_memory_not_equal(m.keys.c2d_key, keys.c2d_key, 32); /* fresh per connection */
        lines++;
        p = nl + 1;
    }
    assert_int_equal(lines, 5);
    np_free(ctl);
    /* The daemon never writes on the control channel. */
    assert_int_equal(np_buf_len(tb_relay_rec(relay, 'b', 0)), 0);
    /* After the timer, the last connection's end (or the timer) ends both. */
    assert_int_equal(tb_run_until(base, clients_and_bridges_done, &s, 5000), 0);
    assert_true(cd.reason == NP_BRIDGE_TIMEOUT || cd.reason == NP_BRIDGE_LOCAL_CLOSED);
    assert_true(dd.reason == NP_BRIDGE_TIMEOUT || dd.reason == NP_BRIDGE_RELAY_CLOSED ||
                dd.reason == NP_BRIDGE_CONTROL_CLOSED);
    assert_null(cb);
    assert_null(db);
    assert_int_equal(cd.st.connections, 5);
    assert_int_equal(cd.st.ctl_connects, 5);
    assert_int_equal(cd.st.heartbeats, 0);
    assert_true(cd.st.bytes_to_relay == 5ull * 4 * MiB);
    assert_true(cd.st.bytes_from_relay == 5ull * 4 * MiB);
    assert_int_equal(dd.st.connections, 5);
    assert_int_equal(dd.st.ctl_connects, 5);
    assert_int_equal(dd.st.ctl_rejected, 0);
    assert_true(dd.st.bytes_to_relay == 5ull * 4 * MiB);
    for (int i = 0; i < 5; i++)
        tb_client_free(s.c[i]);
    tb_echo_free(echo);
    tb_relay_free(relay);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

static void test_mux_plain_and_heartbeat(void **state)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct tb_relay *relay = tb_relay_new(base, TB_AUTH_NONE);
    struct tb_echo *echo = tb_echo_new(base, "hello\n");
    struct np_bridge_keys keys;
    struct np_bridge_config cc, dc;
    struct np_bridge *cb = NULL, *db = NULL;
    struct done cd = {0}, dd = {0};
    struct np_bridge_stats cs, ds;
    struct clients s = {{NULL}, 1, &cd, &dd};
    char *ctl;

    assert_non_null(relay);
    assert_non_null(echo);
    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_PLAIN), 0);
    mux_cfg(&dc, NP_BRIDGE_DAEMON, tb_relay_port(relay, 'b'), tb_echo_port(echo), &keys, &dd, &db);
    mux_cfg(&cc, NP_BRIDGE_CLIENT, tb_relay_port(relay, 'a'), 0, &keys, &cd, &cb);
    cc.heartbeat_ms = 40;
    assert_int_equal(np_bridge_new(base, &dc, &db), 0);
    assert_int_equal(np_bridge_new(base, &cc, &cb), 0);
    tb_run_for(base, 300);
    np_bridge_get_stats(cb, &cs);
    np_bridge_get_stats(db, &ds);
    assert_true(cs.heartbeats >= 3);
    assert_true(ds.heartbeats >= 3);
    assert_int_equal(ds.ctl_rejected, 0);
    assert_int_equal(ds.connections, 0);
    s.c[0] = tb_client_new(base, np_bridge_local_port(cb), 256 * 1024, 77, "hello\n");
    assert_non_null(s.c[0]);
    assert_int_equal(tb_run_until(base, clients_done, &s, 5000), 0);
    assert_true(tb_client_ok(s.c[0]));
    /* Unencrypted session: plaintext connect line and plaintext data. */
    ctl = control_text(tb_relay_rec(relay, 'a', 0), &keys);
    assert_non_null(strstr(ctl, "heartbeat:1\nheartbeat:2\n"));
    assert_non_null(strstr(ctl, "connect:no:encrypt\n"));
    np_free(ctl);
    assert_memory_equal(np_buf_ptr(tb_relay_rec(relay, 'b', 1)), "hello\n", 6);
    np_bridge_free(cb);
    np_bridge_free(db);
    assert_int_equal(cd.called + dd.called, 0);
    tb_client_free(s.c[0]);
    tb_echo_free(echo);
    tb_relay_free(relay);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

/* --- the client played by hand against a daemon bridge --- */

struct hand {
    struct event_base *base;
    struct tb_relay *relay;
    struct tb_echo *echo;
    struct np_bridge_keys keys;
    struct np_bridge *db;
    struct done dd;
    struct tb_raw *ctl;
    int fd0;
};

static void hand_start(struct hand *h, int mode, int local_port)
{
    struct np_bridge_config dc;

    memset(h, 0, sizeof(*h));
    h->fd0 = tb_fd_count();
    h->base = event_base_new();
    h->relay = tb_relay_new(h->base, TB_AUTH_NONE);
    h->echo = tb_echo_new(h->base, NULL);
    assert_non_null(h->relay);
    assert_non_null(h->echo);
    assert_int_equal(np_bridge_keys_random(&h->keys, mode), 0);
    mux_cfg(&dc, NP_BRIDGE_DAEMON, tb_relay_port(h->relay, 'b'),
            local_port ? local_port : tb_echo_port(h->echo), &h->keys, &h->dd, &h->db);
    assert_int_equal(np_bridge_new(h->base, &dc, &h->db), 0);
    h->ctl = tb_raw_new(h->base, tb_relay_port(h->relay, 'a'), mode ? h->keys.c2d_key : NULL,
                        h->keys.c2d_iv, NULL, NULL);
    assert_non_null(h->ctl);
    tb_run_for(h->base, 30);
    assert_int_equal(tb_relay_pairs(h->relay), 1);
}

static void hand_end(struct hand *h)
{
    tb_raw_free(h->ctl);
    np_bridge_free(h->db);
    tb_echo_free(h->echo);
    tb_relay_free(h->relay);
    event_base_free(h->base);
    assert_int_equal(tb_fd_count(), h->fd0);
}

/* A data socket playing the client's end with connection keys k. */
static struct tb_raw *hand_data(struct hand *h, const struct np_bridge_keys *k)
{
    struct tb_raw *r;

    if (k->mode == NP_BRIDGE_PLAIN)
        r = tb_raw_new(h->base, tb_relay_port(h->relay, 'a'), NULL, NULL, NULL, NULL);
    else
        r = tb_raw_new(h->base, tb_relay_port(h->relay, 'a'), k->c2d_key, k->c2d_iv, k->d2c_key,
                       k->d2c_iv);
    assert_non_null(r);
    /* Queued at the relay before the daemon's socket arrives (the test relay,
     * like some real ones, drops a queued socket that closes). */
    tb_run_for(h->base, 20);
    return r;
}

struct want {
    struct tb_raw *r;
    size_t n;
};

static int got_bytes(void *arg)
{
    struct want *w = arg;
    return np_buf_len(tb_raw_received(w->r)) >= w->n;
}

static int got_eof(void *arg)
{
    return tb_raw_eof(arg);
}

/* Send text on a data socket and expect it echoed back. */
static void echo_through(struct hand *h, struct tb_raw *r, const char *text)
{
    struct want w = {r, strlen(text)};

    assert_int_equal(tb_raw_send(r, text, strlen(text)), 0);
    assert_int_equal(tb_run_until(h->base, got_bytes, &w, 4000), 0);
    assert_int_equal(np_buf_len(tb_raw_received(r)), strlen(text));
    assert_memory_equal(np_buf_ptr(tb_raw_received(r)), text, strlen(text));
}

static void connect_line(const struct np_bridge_keys *k, char *line, size_t *len)
{
    assert_int_equal(np_ctl_format_connect(k, line, NP_CTL_CONNECT_MAX, len), 0);
}

/* Clients before 5.6.1: consecutive 77-byte messages without newline. */
static void test_mux_legacy_newlineless(void **state)
{
    struct hand h;
    struct np_bridge_keys k1, k2;
    char l1[NP_CTL_CONNECT_MAX], l2[NP_CTL_CONNECT_MAX], both[2 * NP_CTL_LEGACY_LEN];
    size_t n1, n2;
    struct tb_raw *d1, *d2;
    struct np_bridge_stats st;

    hand_start(&h, NP_BRIDGE_SINGLE_KEY, 0);
    assert_int_equal(np_bridge_keys_random(&k1, NP_BRIDGE_SINGLE_KEY), 0);
    assert_int_equal(np_bridge_keys_random(&k2, NP_BRIDGE_SINGLE_KEY), 0);
    connect_line(&k1, l1, &n1);
    connect_line(&k2, l2, &n2);
    assert_int_equal(n1, NP_CTL_LEGACY_LEN + 1);
    memcpy(both, l1, NP_CTL_LEGACY_LEN); /* without the '\n' */
    memcpy(both + NP_CTL_LEGACY_LEN, l2, NP_CTL_LEGACY_LEN);
    d1 = hand_data(&h, &k1);
    d2 = hand_data(&h, &k2);
    assert_int_equal(tb_raw_send(h.ctl, both, sizeof(both)), 0);
    echo_through(&h, d1, "ping from the first connection");
    echo_through(&h, d2, "and from the second");
    np_bridge_get_stats(h.db, &st);
    assert_int_equal(st.ctl_connects, 2);
    assert_int_equal(st.ctl_rejected, 0);
    assert_int_equal(st.live, 2);
    tb_raw_free(d1);
    tb_raw_free(d2);
    hand_end(&h);
}

/* Heartbeats ignored, garbage logged and ignored, downgrade refused (its
 * relay socket still opened and closed, keeping the order); the session
 * survives; the end of the control connection ends it. */
static void test_mux_garbage_lines(void **state)
{
    static const char junk[] = "heartbeat:7\n"
                               "hello world\n"
                               "connect:abc:def\n"
                               "  \r\n"
                               "connect:no:encrypt\n";
    struct hand h;
    struct np_bridge_keys k;
    char line[NP_CTL_CONNECT_MAX];
    size_t n;
    struct tb_raw *refused, *good;
    struct np_bridge_stats st;

    hand_start(&h, NP_BRIDGE_TWIN_KEYS, 0);
    assert_int_equal(np_bridge_keys_random(&k, NP_BRIDGE_TWIN_KEYS), 0);
    connect_line(&k, line, &n);
    refused = hand_data(&h, &k); /* pairs with the downgrade's socket */
    good = hand_data(&h, &k);
    assert_int_equal(tb_raw_send(h.ctl, junk, strlen(junk)), 0);
    assert_int_equal(tb_raw_send(h.ctl, line, n), 0);
    assert_int_equal(tb_run_until(h.base, got_eof, refused, 4000), 0);
    echo_through(&h, good, "still alive");
    np_bridge_get_stats(h.db, &st);
    assert_int_equal(st.heartbeats, 1);
    assert_int_equal(st.ctl_rejected, 3);
    assert_int_equal(st.ctl_connects, 1);
    assert_int_equal(st.connections, 2);
    assert_int_equal(h.dd.called, 0);
    /* The client's control connection ends: the daemon's session ends. */
    tb_raw_free(h.ctl);
    h.ctl = NULL;
    assert_int_equal(tb_run_until(h.base, done_called, &h.dd, 4000), 0);
    assert_int_equal(h.dd.reason, NP_BRIDGE_CONTROL_CLOSED);
    assert_null(h.db);
    tb_raw_free(refused);
    tb_raw_free(good);
    hand_end(&h);
}

static void test_mux_control_bound(void **state)
{
    struct hand h;
    char *x = np_malloc(5000);

    assert_non_null(x);
    memset(x, 'x', 5000);
    hand_start(&h, NP_BRIDGE_TWIN_KEYS, 0);
    assert_int_equal(tb_raw_send(h.ctl, x, 5000), 0);
    assert_int_equal(tb_run_until(h.base, done_called, &h.dd, 4000), 0);
    assert_int_equal(h.dd.reason, NP_BRIDGE_CONTROL_ERROR);
    assert_non_null(strstr(h.dd.detail, "4096 bytes without a newline"));
    np_free(x);
    hand_end(&h);
}

/* The requested service is down: the daemon closes that relay socket (the
 * client's data socket then ends) and keeps the session. */
static void test_mux_local_connect_fails(void **state)
{
    struct hand h;
    struct np_bridge_keys k;
    char line[NP_CTL_CONNECT_MAX];
    size_t n;
    struct tb_raw *d;
    struct np_bridge_stats st;

    hand_start(&h, NP_BRIDGE_SINGLE_KEY, tb_closed_port());
    assert_int_equal(np_bridge_keys_random(&k, NP_BRIDGE_SINGLE_KEY), 0);
    connect_line(&k, line, &n);
    d = hand_data(&h, &k);
    assert_int_equal(tb_raw_send(h.ctl, line, n), 0);
    assert_int_equal(tb_run_until(h.base, got_eof, d, 4000), 0);
    np_bridge_get_stats(h.db, &st);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.live, 0);
    assert_int_equal(tb_relay_sockets(h.relay, 'b'), 2);
    assert_int_equal(h.dd.called, 0);
    tb_raw_free(d);
    hand_end(&h);
}

static void test_mux_timeouts(void **state)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct tb_relay *relay = tb_relay_new(base, TB_AUTH_NONE);
    struct np_bridge_keys keys;
    struct np_bridge_config cc, dc;
    struct np_bridge *cb = NULL, *db = NULL;
    struct done cd = {0}, dd = {0};

    assert_non_null(relay);
    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_SINGLE_KEY), 0);
    mux_cfg(&dc, NP_BRIDGE_DAEMON, tb_relay_port(relay, 'b'), 9, &keys, &dd, &db);
    mux_cfg(&cc, NP_BRIDGE_CLIENT, tb_relay_port(relay, 'a'), 0, &keys, &cd, &cb);
    dc.timeout_ms = 200;
    cc.timeout_ms = 300;
    assert_int_equal(np_bridge_new(base, &dc, &db), 0);
    assert_int_equal(np_bridge_new(base, &cc, &cb), 0);
    assert_int_equal(tb_run_until(base, done_called, &dd, 3000), 0);
    assert_int_equal(dd.reason, NP_BRIDGE_TIMEOUT);
    /* The client ends by its own timer or because its control pair ended. */
    assert_int_equal(tb_run_until(base, done_called, &cd, 3000), 0);
    assert_true(cd.reason == NP_BRIDGE_TIMEOUT || cd.reason == NP_BRIDGE_CONTROL_CLOSED);
    assert_null(cb);
    assert_null(db);
    tb_relay_free(relay);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

/* ESCR on every socket; the daemon's data socket is refused twice and
 * succeeds on the third try (4 tries allowed). */
static void test_mux_escr_retry(void **state)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct tb_relay *relay = tb_relay_new(base, TB_AUTH_ESCR);
    struct tb_echo *echo = tb_echo_new(base, NULL);
    struct np_bridge_keys keys;
    struct np_bridge_config cc, dc;
    struct np_bridge *cb = NULL, *db = NULL;
    struct done cd = {0}, dd = {0};
    struct clients s = {{NULL}, 1, &cd, &dd};
    int ccalls = 0, dcalls = 0;

    assert_non_null(relay);
    assert_non_null(echo);
    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_SINGLE_KEY), 0);
    mux_cfg(&dc, NP_BRIDGE_DAEMON, tb_relay_port(relay, 'b'), tb_echo_port(echo), &keys, &dd, &db);
    mux_cfg(&cc, NP_BRIDGE_CLIENT, tb_relay_port(relay, 'a'), 0, &keys, &cd, &cb);
    dc.auth = cc.auth = NP_BRIDGE_AUTH_ESCR;
    dc.escr_data = &dcalls;
    cc.escr_data = &ccalls;
    dc.relay_retry_ms = 50;
    assert_int_equal(np_bridge_new(base, &dc, &db), 0);
    assert_int_equal(np_bridge_new(base, &cc, &cb), 0);
    tb_run_for(base, 50);
    assert_int_equal(tb_relay_pairs(relay), 1); /* the control pair */
    tb_relay_refuse(relay, 'b', 2);
    s.c[0] = tb_client_new(base, np_bridge_local_port(cb), 128 * 1024, 5, NULL);
    assert_non_null(s.c[0]);
    assert_int_equal(tb_run_until(base, clients_done, &s, 5000), 0);
    assert_true(tb_client_ok(s.c[0]));
    assert_int_equal(tb_relay_auth_failures(relay), 2);
    assert_int_equal(tb_relay_sockets(relay, 'b'), 4);
    assert_int_equal(dcalls, 4);
    assert_int_equal(ccalls, 2);
    np_bridge_free(cb);
    np_bridge_free(db);
    tb_client_free(s.c[0]);
    tb_echo_free(echo);
    tb_relay_free(relay);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mux_five_concurrent),
        cmocka_unit_test(test_mux_plain_and_heartbeat),
        cmocka_unit_test(test_mux_legacy_newlineless),
        cmocka_unit_test(test_mux_garbage_lines),
        cmocka_unit_test(test_mux_control_bound),
        cmocka_unit_test(test_mux_local_connect_fails),
        cmocka_unit_test(test_mux_timeouts),
        cmocka_unit_test(test_mux_escr_retry),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
