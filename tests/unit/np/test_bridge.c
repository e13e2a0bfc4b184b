/*
 * Unit tests for lib/np/bridge.c, single mode (sshnp <-> sshd), in-process
 * on 127.0.0.1 with the test relay, echo server and streaming client of
 * test_bridge_harness.c: round trips with checksums, what the relay sees
 * (AES-256-CTR of the plaintext, checked with an independent context; the
 * auth line first, in plaintext), twin keys, no encryption, ESCR, timeout,
 * local close, connect and auth failures, back-pressure bound, config
 * checks. Every test checks that it closed every descriptor it opened.
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
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "crypto/aes.h"
#include "crypto/b64.h"
#include "np/bridge.h"
#include "test_bridge_harness.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/time.h"

#define MiB (1024 * 1024)

static const char LINE_A[] = "{\"payload\":{\"sessionId\":\"s1\"},\"signature\":\"client\"}";
static const char LINE_B[] = "{\"payload\":{\"sessionId\":\"s1\"},\"signature\":\"daemon\"}";

struct done {
    int called, reason;
    char detail[512];
    struct np_bridge **slot;
};

static void on_done(struct np_bridge *b, int reason, const char *detail, void *data)
{
    struct done *d = data;

    d->called++;
    d->reason = reason;
    snprintf(d->detail, sizeof(d->detail), "%s", detail);
    np_bridge_free(b); /* freeing from the callback is allowed */
    if (d->slot)
        *d->slot = NULL;
}

static void cfg_for(struct np_bridge_config *c, int side, int relay_port, int local_port,
                    const struct np_bridge_keys *k, int auth, struct done *d)
{
    np_bridge_config_init(c);
    c->side = side;
    c->relay_host = "127.0.0.1";
    c->relay_port = relay_port;
    c->local_port = local_port;
    c->keys = *k;
    c->auth = auth;
    c->timeout_ms = 8000;
    if (auth == NP_BRIDGE_AUTH_LINE) {
        c->auth_line = side == NP_BRIDGE_CLIENT ? LINE_A : LINE_B;
        c->auth_line_len = strlen(c->auth_line);
    }
    c->escr = tb_escr_answer;
    c->on_done = on_done;
    c->data = d;
}

/* Length of the preamble the relay recorded on a socket. */
static size_t preamble_len(const struct np_buf *rec, int auth)
{
    const char *nl;

    if (auth == NP_BRIDGE_AUTH_NONE)
        return 0;
    nl = memchr(np_buf_ptr(rec), '\n', np_buf_len(rec));
    assert_non_null(nl);
    return (size_t)(nl - np_buf_ptr(rec)) + 1;
}

/* What the relay saw after the preamble must be AES-CTR(key, iv) of plain. */
static void check_wire(const struct np_buf *rec, size_t pre, const unsigned char *plain, size_t n,
                       int crypt, const unsigned char *key, const unsigned char *iv)
{
    const unsigned char *wire = (const unsigned char *)np_buf_ptr(rec) + pre;
    unsigned char *want;
    struct np_aes_ctr *ctr = NULL;

    assert_int_equal(np_buf_len(rec), pre + n);
    if (crypt == NP_BRIDGE_PLAIN) {
        assert_memory_equal(wire, plain, n);
        return;
    }
    assert_memory_not_equal(wire, plain, n);
    want = np_malloc(n);
    assert_non_null(want);
    memcpy(want, plain, n);
    assert_int_equal(np_aes_ctr_new(key, iv, &ctr), 0);
    /* Odd-sized steps: the keystream is continuous across calls. */
    for (size_t off = 0; off < n;) {
        size_t step = n - off < 4099 ? n - off : 4099;
        assert_int_equal(np_aes_ctr_apply(ctr, want + off, step), 0);
        off += step;
    }
    np_aes_ctr_free(ctr);
    assert_memory_equal(wire, want, n);
    np_free(want);
}

struct rt {
    int crypt, auth;
    size_t n;
    const char *banner, *daemon_host;
    int hold_ok;
    int dns; /* resolve daemon_host with an evdns_base reading a test hosts file */
};

struct rt_state {
    struct tb_client *client;
    struct done *cd, *dd;
};

static int rt_finished(void *arg)
{
    struct rt_state *s = arg;
    return tb_client_done(s->client) && s->cd->called && s->dd->called;
}

static void round_trip(const struct rt *o)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct tb_relay *relay;
    struct tb_echo *echo;
    struct np_bridge_keys keys;
    struct np_bridge_config cc, dc;
    struct np_bridge *cb = NULL, *db = NULL;
    struct done cd = {0}, dd = {0};
    struct rt_state st;
    struct evdns_base *dns = NULL;
    int escr_calls = 0, port;
    uint32_t seed = 0x5eed1234u + (uint32_t)o->n;
    size_t blen = o->banner ? strlen(o->banner) : 0;
    unsigned char *plain, *back;

    assert_non_null(base);
    relay = tb_relay_new(base, o->auth);
    echo = tb_echo_new(base, o->banner);
    assert_non_null(relay);
    assert_non_null(echo);
    tb_relay_expect_line(relay, 'a', LINE_A);
    tb_relay_expect_line(relay, 'b', LINE_B);
    tb_relay_hold_ok_a(relay, o->hold_ok);
    assert_int_equal(np_bridge_keys_random(&keys, o->crypt), 0);

    cfg_for(&dc, NP_BRIDGE_DAEMON, tb_relay_port(relay, 'b'), tb_echo_port(echo), &keys, o->auth,
            &dd);
    dc.local_host = o->daemon_host;
    if (o->dns) {
        char hosts[] = "/tmp/np-bridge-hosts-XXXXXX";
        int fd = mkstemp(hosts);
        FILE *f;

        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        assert_non_null(f);
        fprintf(f, "127.0.0.1 %s\n", o->daemon_host);
        fclose(f);
        dns = evdns_base_new(base, 0);
        assert_non_null(dns);
        assert_int_equal(evdns_base_load_hosts(dns, hosts), 0);
        unlink(hosts);
        dc.dns = dns;
    }
    dc.escr_data = &escr_calls;
    dd.slot = &db;
    cfg_for(&cc, NP_BRIDGE_CLIENT, tb_relay_port(relay, 'a'), 0, &keys, o->auth, &cd);
    cc.escr_data = &escr_calls;
    cd.slot = &cb;
    assert_int_equal(np_bridge_new(base, &dc, &db), 0);
    assert_int_equal(np_bridge_new(base, &cc, &cb), 0);
    port = np_bridge_local_port(cb);
    assert_true(port > 0 && port < 65536); /* known before any event ran */

    st.client = tb_client_new(base, port, o->n, seed, o->banner);
    assert_non_null(st.client);
    st.cd = &cd;
    st.dd = &dd;
    assert_int_equal(tb_run_until(base, rt_finished, &st, 60000), 0);

    /* Every byte came back unchanged. */
    assert_true(tb_client_ok(st.client));
    assert_int_equal(tb_client_received(st.client), o->n);
    assert_true(tb_client_sum_sent(st.client) == tb_client_sum_received(st.client));
    /* Both ends closed in order: the client's local side first. */
    assert_int_equal(cd.called, 1);
    assert_int_equal(dd.called, 1);
    assert_int_equal(cd.reason, NP_BRIDGE_LOCAL_CLOSED);
    assert_true(dd.reason == NP_BRIDGE_RELAY_CLOSED || dd.reason == NP_BRIDGE_LOCAL_CLOSED);
    assert_null(cb);
    assert_null(db);
    assert_int_equal(tb_relay_pairs(relay), 1);
    assert_int_equal(tb_relay_auth_failures(relay), 0);
    assert_int_equal(tb_echo_accepted(echo), 1);
    if (o->auth == NP_BRIDGE_AUTH_ESCR)
        assert_int_equal(escr_calls, 2);

    /* What the relay saw. */
    plain = np_malloc(o->n);
    back = np_malloc(blen + o->n);
    assert_non_null(plain);
    assert_non_null(back);
    tb_stream(seed, plain, o->n);
    memcpy(back, o->banner ? o->banner : "", blen);
    memcpy(back + blen, plain, o->n);
    {
        const struct np_buf *ra = tb_relay_rec(relay, 'a', 0), *rb = tb_relay_rec(relay, 'b', 0);
        size_t pa, pb;

        assert_non_null(ra);
        assert_non_null(rb);
        pa = preamble_len(ra, o->auth);
        pb = preamble_len(rb, o->auth);
        if (o->auth == NP_BRIDGE_AUTH_LINE) { /* the auth line first, in plaintext */
            assert_int_equal(pa, strlen(LINE_A) + 1);
            assert_memory_equal(np_buf_ptr(ra), LINE_A, strlen(LINE_A));
            assert_memory_equal(np_buf_ptr(rb), LINE_B, strlen(LINE_B));
        }
        if (o->auth == NP_BRIDGE_AUTH_ESCR) {
            assert_memory_equal(np_buf_ptr(ra), "resp:challenge-a-", 17);
            assert_memory_equal(np_buf_ptr(rb), "resp:challenge-b-", 17);
        }
        /* client -> daemon: C2D; daemon -> client: D2C (= C2D in single mode). */
        check_wire(ra, pa, plain, o->n, o->crypt, keys.c2d_key, keys.c2d_iv);
        check_wire(rb, pb, back, blen + o->n, o->crypt, keys.d2c_key, keys.d2c_iv);
        if (o->crypt == NP_BRIDGE_SINGLE_KEY && blen == 0) /* same keystream both ways */
            assert_memory_equal(np_buf_ptr(ra) + pa, np_buf_ptr(rb) + pb, o->n);
        if (o->crypt == NP_BRIDGE_TWIN_KEYS)
            assert_memory_not_equal(np_buf_ptr(ra) + pa, np_buf_ptr(rb) + pb, 4096);
    }
    np_free(plain);
    np_free(back);

    tb_client_free(st.client);
    tb_echo_free(echo);
    tb_relay_free(relay);
    if (dns)
        evdns_base_free(dns, 0);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

static void test_single_key_16mib(void **state)
{
    struct rt o = {NP_BRIDGE_SINGLE_KEY, NP_BRIDGE_AUTH_NONE, 16 * MiB, NULL, NULL, 0, 0};
    round_trip(&o);
}

static void test_twin_keys(void **state)
{
    struct rt o = {NP_BRIDGE_TWIN_KEYS, NP_BRIDGE_AUTH_NONE, 4 * MiB, NULL, NULL, 0, 0};
    round_trip(&o);
}

static void test_no_encryption(void **state)
{
    struct rt o = {NP_BRIDGE_PLAIN, NP_BRIDGE_AUTH_NONE, 2 * MiB, NULL, NULL, 0, 0};
    round_trip(&o);
}

/* Legacy auth line first, and "localhost" reaching a 127.0.0.1-only service. */
static void test_auth_line_localhost(void **state)
{
    struct rt o = {NP_BRIDGE_SINGLE_KEY,
                   NP_BRIDGE_AUTH_LINE,
                   512 * 1024,
                   "SSH-2.0-test\r\n",
                   "localhost",
                   0,
                   0};
    round_trip(&o);
}

/* ESCR; the relay sends "ok\n" and the first data bytes in one write. */
static void test_escr(void **state)
{
    struct rt o = {
        NP_BRIDGE_TWIN_KEYS, NP_BRIDGE_AUTH_ESCR, 512 * 1024, "SSH-2.0-banner\r\n", NULL, 1, 0};
    round_trip(&o);
}

/* A host name resolved through the caller's evdns_base (no blocking lookup). */
static void test_evdns_name(void **state)
{
    struct rt o = {NP_BRIDGE_SINGLE_KEY,
                   NP_BRIDGE_AUTH_NONE,
                   256 * 1024,
                   NULL,
                   "sshd.bridge-test.invalid",
                   0,
                   1};
    round_trip(&o);
}

static int done_called(void *arg)
{
    return ((struct done *)arg)->called > 0;
}

static void test_timeout(void **state)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct tb_relay *relay = tb_relay_new(base, TB_AUTH_NONE);
    struct np_bridge_keys keys;
    struct np_bridge_config c;
    struct np_bridge *b = NULL;
    struct done d = {0};
    struct tb_raw *late;
    int64_t t0;
    int port;

    assert_non_null(relay);
    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_SINGLE_KEY), 0);
    cfg_for(&c, NP_BRIDGE_CLIENT, tb_relay_port(relay, 'a'), 0, &keys, NP_BRIDGE_AUTH_NONE, &d);
    c.timeout_ms = 250;
    d.slot = &b;
    t0 = np_mono_ms();
    assert_int_equal(np_bridge_new(base, &c, &b), 0);
    port = np_bridge_local_port(b);
    assert_int_equal(tb_run_until(base, done_called, &d, 3000), 0);
    assert_true(np_mono_ms() - t0 >= 240);
    assert_int_equal(d.reason, NP_BRIDGE_TIMEOUT);
    assert_string_equal(np_bridge_reason_str(d.reason), "timeout");
    assert_non_null(strstr(d.detail, "no connection"));
    assert_null(b);
    assert_int_equal(tb_relay_sockets(relay, 'a'), 0);
    /* The listener is gone. */
    late = tb_raw_new(base, port, NULL, NULL, NULL, NULL);
    assert_non_null(late);
    tb_run_for(base, 100);
    assert_true(tb_raw_eof(late));
    tb_raw_free(late);
    tb_relay_free(relay);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

struct two_done {
    struct done *a, *b;
};

static int both_done(void *arg)
{
    struct two_done *t = arg;
    return t->a->called && t->b->called;
}

/* The local side connects and closes at once: both ends finish and free
 * everything; the single listener accepted exactly one connection. */
static void test_local_close(void **state)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct tb_relay *relay = tb_relay_new(base, TB_AUTH_NONE);
    struct tb_echo *echo = tb_echo_new(base, NULL);
    struct np_bridge_keys keys;
    struct np_bridge_config cc, dc;
    struct np_bridge *cb = NULL, *db = NULL;
    struct done cd = {0}, dd = {0};
    struct two_done t = {&cd, &dd};
    struct tb_raw *raw, *second;

    assert_non_null(relay);
    assert_non_null(echo);
    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_SINGLE_KEY), 0);
    cfg_for(&dc, NP_BRIDGE_DAEMON, tb_relay_port(relay, 'b'), tb_echo_port(echo), &keys,
            NP_BRIDGE_AUTH_NONE, &dd);
    cfg_for(&cc, NP_BRIDGE_CLIENT, tb_relay_port(relay, 'a'), 0, &keys, NP_BRIDGE_AUTH_NONE, &cd);
    cd.slot = &cb;
    dd.slot = &db;
    assert_int_equal(np_bridge_new(base, &dc, &db), 0);
    assert_int_equal(np_bridge_new(base, &cc, &cb), 0);
    raw = tb_raw_new(base, np_bridge_local_port(cb), NULL, NULL, NULL, NULL);
    assert_non_null(raw);
    tb_run_for(base, 50);
    /* A second connection is refused: the listener closed after one accept. */
    second = tb_raw_new(base, np_bridge_local_port(cb), NULL, NULL, NULL, NULL);
    assert_non_null(second);
    tb_run_for(base, 50);
    assert_true(tb_raw_eof(second));
    assert_false(tb_raw_eof(raw));
    tb_raw_free(second);
    tb_raw_free(raw);
    assert_int_equal(tb_run_until(base, both_done, &t, 5000), 0);
    assert_int_equal(cd.reason, NP_BRIDGE_LOCAL_CLOSED);
    assert_int_equal(dd.reason, NP_BRIDGE_RELAY_CLOSED);
    assert_null(cb);
    assert_null(db);
    tb_echo_free(echo);
    tb_relay_free(relay);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

/* Daemon: the local service is down; the relay socket is opened then closed. */
static void test_local_connect_failed(void **state)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct tb_relay *relay = tb_relay_new(base, TB_AUTH_NONE);
    struct np_bridge_keys keys;
    struct np_bridge_config c;
    struct np_bridge *b = NULL;
    struct done d = {0};
    int dead = tb_closed_port();
    char want[64];

    assert_non_null(relay);
    assert_true(dead > 0);
    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_SINGLE_KEY), 0);
    cfg_for(&c, NP_BRIDGE_DAEMON, tb_relay_port(relay, 'b'), dead, &keys, NP_BRIDGE_AUTH_NONE, &d);
    c.local_host = "localhost"; /* tries 127.0.0.1, then ::1 */
    d.slot = &b;
    assert_int_equal(np_bridge_new(base, &c, &b), 0);
    assert_int_equal(tb_run_until(base, done_called, &d, 5000), 0);
    assert_int_equal(d.reason, NP_BRIDGE_LOCAL_CONNECT_FAILED);
    snprintf(want, sizeof(want), "local localhost:%d: connect:", dead);
    assert_non_null(strstr(d.detail, want));
    assert_non_null(strstr(d.detail, "Connection refused (127.0.0.1)"));
    assert_non_null(strstr(d.detail, "(::1)"));
    assert_int_equal(tb_relay_sockets(relay, 'b'), 1);
    tb_relay_free(relay);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

/* Client: the relay is down. */
static void test_relay_connect_failed(void **state)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct np_bridge_keys keys;
    struct np_bridge_config c;
    struct np_bridge *b = NULL;
    struct done d = {0};
    struct tb_raw *raw;
    int dead = tb_closed_port();
    char want[80];

    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_TWIN_KEYS), 0);
    cfg_for(&c, NP_BRIDGE_CLIENT, dead, 0, &keys, NP_BRIDGE_AUTH_NONE, &d);
    d.slot = &b;
    assert_int_equal(np_bridge_new(base, &c, &b), 0);
    raw = tb_raw_new(base, np_bridge_local_port(b), NULL, NULL, NULL, NULL);
    assert_non_null(raw);
    assert_int_equal(tb_run_until(base, done_called, &d, 5000), 0);
    assert_int_equal(d.reason, NP_BRIDGE_RELAY_CONNECT_FAILED);
    snprintf(want, sizeof(want), "relay 127.0.0.1:%d: connect: Connection refused", dead);
    assert_non_null(strstr(d.detail, want));
    tb_run_for(base, 20);
    assert_true(tb_raw_eof(raw)); /* the accepted connection was closed */
    tb_raw_free(raw);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

/* ESCR refused by the relay. */
static void test_escr_refused(void **state)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct tb_relay *relay = tb_relay_new(base, TB_AUTH_ESCR);
    struct np_bridge_keys keys;
    struct np_bridge_config c;
    struct tb_echo *echo = tb_echo_new(base, NULL);
    struct np_bridge *b = NULL;
    struct done d = {0};
    int calls = 0;

    assert_non_null(relay);
    assert_non_null(echo);
    tb_relay_refuse(relay, 'b', -1);
    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_SINGLE_KEY), 0);
    cfg_for(&c, NP_BRIDGE_DAEMON, tb_relay_port(relay, 'b'), tb_echo_port(echo), &keys,
            NP_BRIDGE_AUTH_ESCR, &d);
    c.escr_data = &calls;
    d.slot = &b;
    assert_int_equal(np_bridge_new(base, &c, &b), 0);
    assert_int_equal(tb_run_until(base, done_called, &d, 5000), 0);
    assert_int_equal(d.reason, NP_BRIDGE_RELAY_AUTH_FAILED);
    assert_non_null(strstr(d.detail, "Socket auth failed"));
    assert_int_equal(calls, 1);
    assert_int_equal(tb_relay_auth_failures(relay), 1);
    tb_echo_free(echo);
    tb_relay_free(relay);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

/* A local reader that never reads: the bridge stops reading from the relay
 * once NP_BRIDGE_HWM bytes wait for the local socket. */
static void test_back_pressure(void **state)
{
    int fd0 = tb_fd_count();
    struct event_base *base = event_base_new();
    struct tb_relay *relay = tb_relay_new(base, TB_AUTH_NONE);
    struct tb_echo *echo = tb_echo_new(base, NULL);
    struct np_bridge_keys keys;
    struct np_bridge_config cc, dc;
    struct np_bridge *cb = NULL, *db = NULL;
    struct done cd = {0}, dd = {0};
    struct np_bridge_stats st;
    struct tb_raw *raw;
    unsigned char *blob;
    size_t n = 32 * MiB;

    assert_non_null(relay);
    assert_non_null(echo);
    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_SINGLE_KEY), 0);
    cfg_for(&dc, NP_BRIDGE_DAEMON, tb_relay_port(relay, 'b'), tb_echo_port(echo), &keys,
            NP_BRIDGE_AUTH_NONE, &dd);
    cfg_for(&cc, NP_BRIDGE_CLIENT, tb_relay_port(relay, 'a'), 0, &keys, NP_BRIDGE_AUTH_NONE, &cd);
    assert_int_equal(np_bridge_new(base, &dc, &db), 0);
    assert_int_equal(np_bridge_new(base, &cc, &cb), 0);
    raw = tb_raw_new(base, np_bridge_local_port(cb), NULL, NULL, NULL, NULL);
    assert_non_null(raw);
    tb_raw_set_reading(raw, 0);
    blob = np_calloc(1, n);
    assert_non_null(blob);
    assert_int_equal(tb_raw_send(raw, blob, n), 0); /* queued in the test's own buffer */
    np_free(blob);
    tb_run_for(base, 1500);
    np_bridge_get_stats(cb, &st);
    assert_true(st.bytes_to_relay > 0);
    /* bounded: the high mark plus at most one read */
    assert_true(st.queued_max <= 256 * 1024 + 64 * 1024);
    assert_true(st.queued_max >= 128 * 1024); /* the limit was actually reached */
    np_bridge_get_stats(db, &st);
    assert_true(st.queued_max <= 256 * 1024 + 64 * 1024);
    assert_int_equal(cd.called + dd.called, 0);
    np_bridge_free(cb); /* no on_done after an explicit free */
    np_bridge_free(db);
    tb_run_for(base, 20);
    assert_int_equal(cd.called + dd.called, 0);
    tb_raw_free(raw);
    tb_echo_free(echo);
    tb_relay_free(relay);
    event_base_free(base);
    assert_int_equal(tb_fd_count(), fd0);
}

static void test_config_errors(void **state)
{
    struct event_base *base = event_base_new();
    struct np_bridge_keys keys;
    struct np_bridge_config c, bad;
    struct np_bridge *b = (struct np_bridge *)&c;
    struct done d = {0};
    int port;

    assert_int_equal(np_bridge_keys_random(&keys, NP_BRIDGE_SINGLE_KEY), 0);
    cfg_for(&c, NP_BRIDGE_CLIENT, 9, 0, &keys, NP_BRIDGE_AUTH_NONE, &d);
    bad = c;
    bad.relay_host = NULL;
    assert_int_equal(np_bridge_new(base, &bad, &b), NP_ERR_INVAL);
    assert_null(b);
    bad = c;
    bad.relay_port = 70000;
    assert_int_equal(np_bridge_new(base, &bad, &b), NP_ERR_INVAL);
    bad = c;
    bad.timeout_ms = 0;
    assert_int_equal(np_bridge_new(base, &bad, &b), NP_ERR_INVAL);
    bad = c;
    bad.on_done = NULL;
    assert_int_equal(np_bridge_new(base, &bad, &b), NP_ERR_INVAL);
    bad = c;
    bad.auth = NP_BRIDGE_AUTH_LINE;
    bad.auth_line = NULL;
    assert_int_equal(np_bridge_new(base, &bad, &b), NP_ERR_INVAL);
    bad = c;
    bad.auth = NP_BRIDGE_AUTH_ESCR;
    bad.escr = NULL;
    assert_int_equal(np_bridge_new(base, &bad, &b), NP_ERR_INVAL);
    bad = c;
    bad.keys.mode = 7;
    assert_int_equal(np_bridge_new(base, &bad, &b), NP_ERR_INVAL);
    bad = c;
    bad.side = NP_BRIDGE_DAEMON; /* daemon needs a local port */
    assert_int_equal(np_bridge_new(base, &bad, &b), NP_ERR_INVAL);
    assert_int_equal(np_bridge_new(NULL, &c, &b), NP_ERR_INVAL);
    assert_null(b);
    /* The port is taken: no probe-then-bind race, the error is immediate. */
    assert_int_equal(np_bridge_new(base, &c, &b), 0);
    port = np_bridge_local_port(b);
    bad = c;
    bad.local_port = port;
    {
        struct np_bridge *b2 = NULL;
        assert_int_equal(np_bridge_new(base, &bad, &b2), NP_ERR_EXISTS);
        assert_null(b2);
    }
    np_bridge_free(b);
    np_bridge_free(NULL);
    tb_run_for(base, 10);
    assert_int_equal(d.called, 0);
    event_base_free(base);
}

static void test_keys_b64(void **state)
{
    struct np_bridge_keys k;
    unsigned char raw[32];
    char *key = NULL, *iv = NULL;

    for (int i = 0; i < 32; i++)
        raw[i] = (unsigned char)(i * 7 + 1);
    assert_int_equal(np_b64_encode(raw, 32, &key, NULL), 0);
    assert_int_equal(np_b64_encode(raw, 16, &iv, NULL), 0);
    assert_int_equal(strlen(key), 44);
    assert_int_equal(strlen(iv), 24);
    assert_int_equal(np_bridge_keys_from_b64(&k, key, iv, NULL, NULL), 0);
    assert_int_equal(k.mode, NP_BRIDGE_SINGLE_KEY);
    assert_memory_equal(k.c2d_key, raw, 32);
    assert_memory_equal(k.d2c_key, raw, 32);
    assert_memory_equal(k.d2c_iv, raw, 16);
    assert_int_equal(np_bridge_keys_from_b64(&k, key, iv, key, iv), 0);
    assert_int_equal(k.mode, NP_BRIDGE_TWIN_KEYS);
    assert_int_equal(np_bridge_keys_from_b64(&k, iv, iv, NULL, NULL), NP_ERR_FORMAT);
    assert_int_equal(k.mode, 0);
    assert_int_equal(np_bridge_keys_from_b64(&k, key, key, NULL, NULL), NP_ERR_FORMAT);
    assert_int_equal(np_bridge_keys_from_b64(&k, key, iv, key, NULL), NP_ERR_INVAL);
    assert_int_equal(np_bridge_keys_from_b64(&k, "not base64!", iv, NULL, NULL), NP_ERR_FORMAT);
    assert_int_equal(np_bridge_keys_random(&k, NP_BRIDGE_TWIN_KEYS), 0);
    assert_memory_not_equal(k.c2d_key, k.d2c_key, 32);
    assert_int_equal(np_bridge_keys_random(&k, 9), NP_ERR_INVAL);
    np_free(key);
    np_free(iv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_key_16mib),
        cmocka_unit_test(test_twin_keys),
        cmocka_unit_test(test_no_encryption),
        cmocka_unit_test(test_auth_line_localhost),
        cmocka_unit_test(test_escr),
        cmocka_unit_test(test_evdns_name),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_local_close),
        cmocka_unit_test(test_local_connect_failed),
        cmocka_unit_test(test_relay_connect_failed),
        cmocka_unit_test(test_escr_refused),
        cmocka_unit_test(test_back_pressure),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_keys_b64),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
