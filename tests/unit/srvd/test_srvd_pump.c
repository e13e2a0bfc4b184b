/*
 * tests/unit/srvd/test_srvd_pump.c - pairing and the data path of the relay
 * (noports-wire.md 7.2): bytes unchanged both ways (splice and the
 * read/write fallback), FIFO pairing, back-pressure with bounded relay
 * memory, half-close, graceful shutdown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "srvd_testlib.h"
#include "util/err.h"
#include "util/time.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SID1 "7b7b7b7b-0000-4000-8000-000000000001"
#define SID2 "7b7b7b7b-0000-4000-8000-000000000002"
#define MIB  (1024u * 1024u)

struct two {
    struct tpeer *a, *b;
    uint64_t na, nb;
};

static int both_received(void *arg)
{
    struct two *w = arg;
    return (w->b->rx >= w->na || w->b->eof) && (w->a->rx >= w->nb || w->a->eof);
}

static int pairs_live(struct th *t)
{
    struct relay_stats st;
    relay_get_stats(t->relay, &st);
    return (int)st.pairs_live;
}

static int no_pairs(void *arg)
{
    return pairs_live(arg) == 0;
}

static void transfer(struct th *t, uint64_t each)
{
    struct th_session s;
    struct two w;
    struct relay_stats st;

    assert_int_equal(th_request(t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    w.a = tp_connect(t, s.port_a);
    w.b = tp_connect(t, s.port_b);
    w.na = w.nb = each;
    tp_stream(w.a, each, 1234);
    tp_stream(w.b, each, 5678);
    assert_true(th_run_until(t, both_received, &w, 60000));
    assert_int_equal(w.b->rx, each);
    assert_int_equal(w.a->rx, each);
    assert_int_equal(w.b->rx_hash, w.a->tx_hash);
    assert_int_equal(w.a->rx_hash, w.b->tx_hash);
    /* the checksums are of the generated streams, not just equal to each other */
    assert_int_equal(w.b->rx_hash, th_stream_hash(each, 1234));
    assert_int_equal(w.a->rx_hash, th_stream_hash(each, 5678));
    /* A closes: B sees the FIN; the pair ends when B closes as well */
    tp_free(w.a);
    assert_true(tp_wait_eof(w.b, 3000));
    assert_int_equal(w.b->err, 0);
    tp_free(w.b);
    assert_true(th_run_until(t, no_pairs, t, 3000));
    relay_get_stats(t->relay, &st);
    assert_int_equal(st.pairs_created, 1);
    assert_int_equal(st.pairs_closed, 1);
}

static void test_16mib_splice(void **state)
{
    struct th t;
    struct relay_stats st;
    (void)state;

    th_init(&t);
    th_start(&t);
    transfer(&t, 16 * MIB);
    relay_get_stats(t.relay, &st);
    assert_true(st.bytes_spliced >= 32ull * MIB);
    assert_int_equal(st.bytes_copied, 0);
    assert_int_equal(st.splice_fallbacks, 0);
    assert_true(st.pipe_capacity > 0);
    assert_true(st.max_in_flight <= st.pipe_capacity);
    th_done(&t);
}

static void test_rw_fallback(void **state)
{
    struct th t;
    struct relay_stats st;
    (void)state;

    th_init(&t);
    t.cfg.force_rw = 1;
    t.cfg.rw_buf = 16 * 1024;
    th_start(&t);
    transfer(&t, 4 * MIB);
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.bytes_spliced, 0);
    assert_true(st.bytes_copied >= 8ull * MIB);
    assert_true(st.max_in_flight <= 16 * 1024);
    th_done(&t);
}

struct acc {
    struct th *t;
    uint64_t n;
};

static int accepted(void *arg)
{
    struct acc *a = arg;
    struct relay_stats st;
    relay_get_stats(a->t->relay, &st);
    return st.sockets_accepted >= a->n;
}

static void test_fifo_three_pairs(void **state)
{
    struct th t;
    struct th_session s;
    struct tpeer *a[3], *b[3];
    struct acc w = {&t, 0};
    (void)state;

    th_init(&t);
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    for (int i = 0; i < 3; i++) {
        char msg[8];
        a[i] = tp_connect(&t, s.port_a);
        w.n++;
        assert_true(th_run_until(&t, accepted, &w, 3000));
        snprintf(msg, sizeof(msg), "A%d", i);
        tp_send(a[i], msg, 2, 1);
    }
    for (int i = 0; i < 3; i++) {
        char msg[8];
        b[i] = tp_connect(&t, s.port_b);
        w.n++;
        assert_true(th_run_until(&t, accepted, &w, 3000));
        snprintf(msg, sizeof(msg), "B%d", i);
        tp_send(b[i], msg, 2, 1);
    }
    for (int i = 0; i < 3; i++) {
        char want[8];
        assert_true(tp_wait_rx(b[i], 2, 3000));
        assert_true(tp_wait_rx(a[i], 2, 3000));
        snprintf(want, sizeof(want), "A%d", i);
        assert_memory_equal(b[i]->head, want, 2);
        snprintf(want, sizeof(want), "B%d", i);
        assert_memory_equal(a[i]->head, want, 2);
    }
    assert_int_equal(pairs_live(&t), 3);
    for (int i = 0; i < 3; i++) {
        tp_free(a[i]);
        tp_free(b[i]);
    }
    assert_true(th_run_until(&t, no_pairs, &t, 3000));
    th_done(&t);
}

struct stall {
    struct tpeer *p;
    int ms;
};

/* The writer has sent something, still has data to send, and has sent
 * nothing for `ms` milliseconds. (It need not have seen EAGAIN: a send that
 * fills the socket buffer exactly leaves it waiting for EPOLLOUT instead.) */
static int writer_stalled(void *arg)
{
    struct stall *s = arg;
    return !tp_sent_all(s->p) && s->p->last_tx_ms != 0 &&
           np_mono_ms() - s->p->last_tx_ms >= (int64_t)s->ms;
}

static uint64_t read_sysctl_max(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned long long a = 0, b = 0, c = 0;

    if (!f)
        return 16 * MIB;
    if (fscanf(f, "%llu %llu %llu", &a, &b, &c) != 3)
        c = 16 * MIB;
    fclose(f);
    return c;
}

static void backpressure(int force_rw)
{
    struct th t;
    struct th_session s;
    struct tpeer *a, *b;
    struct relay_stats st;
    struct stall w;
    const uint64_t total = 48ull * MIB;
    uint64_t sent, bound;

    th_init(&t);
    t.cfg.force_rw = force_rw;
    t.cfg.rw_buf = 32 * 1024;
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    a = tp_connect(&t, s.port_a);
    b = tp_connect(&t, s.port_b);
    tp_pause(b, 1); /* the slow reader reads nothing */
    tp_stream(a, total, 99);
    w.p = a;
    w.ms = 300;
    /* the writer must end up blocked, long before the 48 MiB are out */
    assert_true(th_run_until(&t, writer_stalled, &w, 20000));
    sent = a->tx - (a->q_len - a->q_off);
    relay_get_stats(t.relay, &st);
    /* The relay itself holds at most one pipe / one buffer per direction. */
    if (force_rw)
        assert_true(st.max_in_flight <= t.cfg.rw_buf);
    else
        assert_true(st.max_in_flight <= st.pipe_capacity);
    /* Everything else sits in the four kernel socket buffers on the way. */
    bound = 2 * read_sysctl_max("/proc/sys/net/ipv4/tcp_wmem") +
            2 * read_sysctl_max("/proc/sys/net/ipv4/tcp_rmem") + 2 * MIB;
    assert_true(sent < bound);
    assert_true(sent < total);
    assert_int_equal(b->rx, 0);
    /* the reader wakes up: everything arrives, unchanged */
    tp_pause(b, 0);
    assert_true(tp_wait_rx(b, total, 60000));
    assert_int_equal(b->rx, total);
    assert_int_equal(b->rx_hash, a->tx_hash);
    relay_get_stats(t.relay, &st);
    if (force_rw) {
        assert_int_equal(st.bytes_spliced, 0);
        assert_true(st.max_in_flight <= t.cfg.rw_buf);
    } else {
        assert_true(st.bytes_spliced >= total);
        assert_true(st.max_in_flight <= st.pipe_capacity);
    }
    tp_free(a);
    tp_free(b);
    th_done(&t);
}

static void test_backpressure_splice(void **state)
{
    (void)state;
    backpressure(0);
}

static void test_backpressure_rw(void **state)
{
    (void)state;
    backpressure(1);
}

static void test_half_close(void **state)
{
    struct th t;
    struct th_session s;
    struct tpeer *a, *b;
    (void)state;

    th_init(&t);
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    a = tp_connect(&t, s.port_a);
    b = tp_connect(&t, s.port_b);
    tp_send(a, "request", 7, 1);
    tp_shutdown_after(a);
    /* B gets the data, then the FIN */
    assert_true(tp_wait_eof(b, 3000));
    assert_int_equal(b->rx, 7);
    assert_int_equal(b->err, 0);
    assert_memory_equal(b->head, "request", 7);
    /* the other direction still works */
    assert_int_equal(pairs_live(&t), 1);
    tp_send(b, "response", 8, 1);
    assert_true(tp_wait_rx(a, 8, 3000));
    assert_memory_equal(a->head, "response", 8);
    assert_false(a->eof);
    /* B finishes too: A sees the FIN and the pair is gone */
    tp_shutdown_after(b);
    assert_true(tp_wait_eof(a, 3000));
    assert_int_equal(a->err, 0);
    assert_true(th_run_until(&t, no_pairs, &t, 3000));
    tp_free(a);
    tp_free(b);
    th_done(&t);
}

static int done_called;

static void on_done(void *arg)
{
    (void)arg;
    done_called++;
}

static int is_done(void *arg)
{
    (void)arg;
    return done_called > 0;
}

static void test_shutdown(void **state)
{
    struct th t;
    struct th_session s, s2;
    struct tpeer *a, *b, *p;
    int64_t t0;
    (void)state;

    th_init(&t);
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID2, 0, 0, 0, &s2), 0);
    a = tp_connect(&t, s.port_a);
    b = tp_connect(&t, s.port_b);
    p = tp_connect(&t, s2.port_a); /* waits for a partner that never comes */
    tp_send(a, "x", 1, 1);
    assert_true(tp_wait_rx(b, 1, 3000));

    done_called = 0;
    assert_int_equal(relay_shutdown(t.relay, 5000, on_done, NULL), 0);
    assert_int_equal(relay_shutdown(t.relay, 5000, on_done, NULL), NP_ERR_CLOSED);
    /* listeners are closed, unpaired sockets dropped, requests refused */
    assert_true(th_port_closed(s.port_a));
    assert_true(th_port_closed(s2.port_b));
    assert_true(tp_wait_eof(p, 3000));
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, "late", 0, 0, 0, NULL), NP_ERR_CLOSED);
    assert_int_equal(relay_session_count(t.relay), 1);
    /* the live pair keeps working */
    tp_send(b, "yz", 2, 1);
    assert_true(tp_wait_rx(a, 2, 3000));
    assert_int_equal(done_called, 0);
    /* when it ends, the relay is done */
    tp_free(a);
    tp_free(b);
    tp_free(p);
    assert_true(th_run_until(&t, is_done, NULL, 3000));
    assert_int_equal(done_called, 1);
    assert_int_equal(relay_session_count(t.relay), 0);
    th_done(&t);

    /* a pair that does not end is closed when the grace period is over */
    th_init(&t);
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    a = tp_connect(&t, s.port_a);
    b = tp_connect(&t, s.port_b);
    tp_send(a, "x", 1, 1);
    assert_true(tp_wait_rx(b, 1, 3000));
    done_called = 0;
    t0 = np_mono_ms();
    assert_int_equal(relay_shutdown(t.relay, 200, on_done, NULL), 0);
    assert_true(th_run_until(&t, is_done, NULL, 3000));
    assert_true(np_mono_ms() - t0 >= 190);
    assert_true(tp_wait_eof(a, 3000));
    assert_true(tp_wait_eof(b, 3000));
    assert_int_equal(pairs_live(&t), 0);
    tp_free(a);
    tp_free(b);
    th_done(&t);
}

static void test_reset_closes_pair(void **state)
{
    struct th t;
    struct th_session s;
    struct tpeer *a, *b;
    struct linger lg = {1, 0};
    (void)state;

    th_init(&t);
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    a = tp_connect(&t, s.port_a);
    b = tp_connect(&t, s.port_b);
    tp_send(a, "x", 1, 1);
    assert_true(tp_wait_rx(b, 1, 3000));
    /* A aborts (RST): B's end is closed too */
    assert_int_equal(setsockopt(a->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    tp_free(a);
    assert_true(tp_wait_eof(b, 3000));
    assert_true(th_run_until(&t, no_pairs, &t, 3000));
    tp_free(b);
    th_done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_16mib_splice),     cmocka_unit_test(test_rw_fallback),
        cmocka_unit_test(test_fifo_three_pairs), cmocka_unit_test(test_backpressure_splice),
        cmocka_unit_test(test_backpressure_rw),  cmocka_unit_test(test_half_close),
        cmocka_unit_test(test_shutdown),         cmocka_unit_test(test_reset_closes_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
