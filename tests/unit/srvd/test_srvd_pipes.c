/*
 * tests/unit/srvd/test_srvd_pipes.c - the relay's splice pipes and their
 * pool (src/srvd/pump.c, srvd_int.h), checked against what their comments
 * promise, both in the relay's counters and in the descriptors this process
 * really holds (/proc/self/fd):
 *   - a direction holds a pipe only while it moves bytes: an idle pair holds
 *     none (only its two sockets);
 *   - a pipe given back is reused by the next busy direction: a pair that
 *     moves bytes again and again creates and closes no pipes;
 *   - the pool keeps at most RELAY_PIPE_POOL empty pipes, more are closed;
 *   - at most RELAY_BIG_PIPES pipes are enlarged to RELAY_PIPE_SIZE;
 *   - the pool is closed when the last session is gone, and every pipe (in
 *     use or pooled) when the relay is freed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "srvd_int.h"
#include "srvd_testlib.h"
#include "util/err.h"
#include "util/str.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SID1     "7b7b7b7b-0000-4000-8000-0000000000a1"
#define KIB      1024u
#define MAX_INOS 1024

/* The pipes open in this process: distinct inodes (both ends of a pipe
 * share one), and one descriptor of each in fds (may be NULL). */
struct pipeset {
    unsigned long ino[MAX_INOS];
    int fd[MAX_INOS];
    size_t n;
};

static void pipes_scan(struct pipeset *ps)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    memset(ps, 0, sizeof(*ps));
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[300], link[64];
        unsigned long ino;
        int64_t fd;
        ssize_t n;
        size_t i;

        if (np_parse_i64(e->d_name, 0, INT32_MAX, &fd) != 0 || fd == dirfd(d))
            continue;
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
            continue;
        link[n] = '\0';
        if (sscanf(link, "pipe:[%lu]", &ino) != 1)
            continue;
        for (i = 0; i < ps->n && ps->ino[i] != ino; i++)
            ;
        if (i == ps->n) {
            assert_true(ps->n < MAX_INOS);
            ps->ino[ps->n] = ino;
            ps->fd[ps->n] = (int)fd;
            ps->n++;
        }
    }
    closedir(d);
}

static int pipes_has(const struct pipeset *ps, unsigned long ino)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->ino[i] == ino)
            return 1;
    return 0;
}

/* The pipes of now that were not open at `base` (the relay's). */
static void pipes_new(const struct pipeset *base, struct pipeset *out)
{
    struct pipeset now;
    size_t k = 0;

    pipes_scan(&now);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < now.n; i++) {
        if (pipes_has(base, now.ino[i]))
            continue;
        out->ino[k] = now.ino[i];
        out->fd[k] = now.fd[i];
        k++;
    }
    out->n = k;
}

static size_t relay_pipes(const struct pipeset *base)
{
    struct pipeset ps;

    pipes_new(base, &ps);
    return ps.n;
}

static int pipes_in_use(const struct relay *r)
{
    return r->n_pipes - (int)r->n_pipe_pool;
}

static int none_in_use(void *arg)
{
    return pipes_in_use(arg) == 0;
}

struct want_use {
    const struct relay *r;
    int n;
};

static int in_use_at_least(void *arg)
{
    const struct want_use *w = arg;
    return pipes_in_use(w->r) >= w->n;
}

static int no_sessions(void *arg)
{
    return relay_session_count(arg) == 0;
}

struct peers {
    struct tpeer **p;
    size_t n;
    uint64_t each;
};

static int all_received(void *arg)
{
    const struct peers *w = arg;
    for (size_t i = 0; i < w->n; i++)
        if (w->p[i]->rx < w->each)
            return 0;
    return 1;
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

struct want_pairs {
    struct th *t;
    int n;
};

static int pairs_at_least(void *arg)
{
    struct want_pairs *w = arg;
    return pairs_live(w->t) >= w->n;
}

static int pool_not_empty(void *arg)
{
    const struct relay *r = arg;
    return r->n_pipe_pool > 0;
}

/* Shrink the relay's send buffer toward every B (the test reaches into
 * the relay's pairs): a slow reader then backs bytes up into the relay's
 * pipe after a few KiB, not after the megabytes TCP would queue. */
static void small_sndbuf_to_b(struct relay *r)
{
    int sz = 16384;

    for (struct session *s = r->s_head; s; s = s->next)
        for (struct pair *p = s->pairs; p; p = p->next)
            assert_int_equal(setsockopt(p->fd[SIDE_B], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
}

/* Neither direction of any pair of the relay holds a pipe. */
static void assert_pairs_hold_no_pipe(const struct relay *r)
{
    int pairs = 0;

    for (const struct session *s = r->s_head; s; s = s->next)
        for (const struct pair *p = s->pairs; p; p = p->next) {
            assert_int_equal(p->d[0].pipe[0], -1);
            assert_int_equal(p->d[1].pipe[0], -1);
            pairs++;
        }
    assert_true(pairs > 0);
}

/* One pair moving bytes both ways in bursts: an idle pair holds no pipe,
 * and the pipes are taken from the pool again and again, never new. */
static void test_idle_pair_holds_none_and_reuse(void **state)
{
    struct th t;
    struct th_session s;
    struct tpeer *a, *b;
    struct pipeset base, first, now;
    struct relay_stats st;
    struct want_pairs wp;
    uint64_t spliced;
    (void)state;

    th_init(&t);
    th_start(&t);
    pipes_scan(&base); /* the harness's own (libevent's) pipes */
    assert_int_equal(t.relay->n_pipes, 0);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    a = tp_connect(&t, s.port_a);
    b = tp_connect(&t, s.port_b);
    /* joined but silent: no pipe at all */
    wp.t = &t;
    wp.n = 1;
    assert_true(th_run_until(&t, pairs_at_least, &wp, 3000));
    th_run_for(&t, 50);
    assert_int_equal(t.relay->n_pipes, 0);
    assert_int_equal(relay_pipes(&base), 0);

    /* the first burst, both ways at once, creates the pipes it needs */
    tp_stream(a, 256 * KIB, 1);
    tp_stream(b, 256 * KIB, 2);
    assert_true(tp_wait_rx(b, 256 * KIB, 10000));
    assert_true(tp_wait_rx(a, 256 * KIB, 10000));
    assert_true(th_run_until(&t, none_in_use, t.relay, 3000));
    assert_pairs_hold_no_pipe(t.relay);
    assert_true(t.relay->n_pipes >= 1 && t.relay->n_pipes <= 2);
    assert_int_equal((int)t.relay->n_pipe_pool, t.relay->n_pipes);
    pipes_new(&base, &first);
    assert_int_equal((int)first.n, t.relay->n_pipes); /* the counters tell the truth */
    relay_get_stats(t.relay, &st);
    spliced = st.bytes_spliced;
    assert_true(spliced >= 512 * KIB);

    /* 20 more bursts: the same pipes every time */
    for (int i = 0; i < 20; i++) {
        uint64_t ra = a->rx, rb = b->rx;
        tp_stream(a, 64 * KIB, 10 + (uint32_t)i);
        tp_stream(b, 64 * KIB, 100 + (uint32_t)i);
        assert_true(tp_wait_rx(b, rb + 64 * KIB, 10000));
        assert_true(tp_wait_rx(a, ra + 64 * KIB, 10000));
        assert_true(th_run_until(&t, none_in_use, t.relay, 3000));
        assert_pairs_hold_no_pipe(t.relay);
        pipes_new(&base, &now);
        assert_int_equal(now.n, first.n);
        for (size_t k = 0; k < now.n; k++)
            assert_true(pipes_has(&first, now.ino[k]));
    }
    relay_get_stats(t.relay, &st);
    assert_true(st.bytes_spliced >= spliced + 40 * 64 * KIB);
    assert_int_equal(st.splice_fallbacks, 0);
    assert_int_equal(b->rx_hash, a->tx_hash);
    assert_int_equal(a->rx_hash, b->tx_hash);
    tp_free(a);
    tp_free(b);
    th_done(&t);
    assert_int_equal(relay_pipes(&base), 0);
}

/* More busy directions than the pool holds: each holds its own pipe while
 * bytes wait for the slow reader; when all are idle again the pool keeps
 * RELAY_PIPE_POOL of them and the others are closed; the pool goes with
 * the last session. */
static void test_pool_bounded(void **state)
{
    enum { N = RELAY_PIPE_POOL + 8 };
    const uint64_t each = 256 * KIB;
    struct th t;
    struct th_session s;
    struct tpeer *a[N], *b[N];
    struct pipeset base, ps;
    struct want_use w;
    struct want_pairs wp;
    struct peers rx = {b, N, each};
    size_t big = 0;
    (void)state;

    th_init(&t);
    t.cfg.grace_ms = 1000; /* the session closes soon after its last pair */
    th_start(&t);
    pipes_scan(&base); /* the harness's own (libevent's) pipes */
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    for (int i = 0; i < N; i++) {
        a[i] = tp_connect(&t, s.port_a);
        b[i] = tp_connect(&t, s.port_b);
        tp_pause(b[i], 1); /* slow readers */
    }
    wp.t = &t;
    wp.n = N;
    assert_true(th_run_until(&t, pairs_at_least, &wp, 20000));
    assert_int_equal(t.relay->n_pipes, 0); /* N idle pairs: no pipe */
    small_sndbuf_to_b(t.relay);
    for (int i = 0; i < N; i++)
        tp_stream(a[i], each, 1000 + (uint32_t)i);
    /* every A->B direction ends up holding a pipe with bytes in it */
    w.r = t.relay;
    w.n = N;
    assert_true(th_run_until(&t, in_use_at_least, &w, 30000));
    assert_int_equal(pipes_in_use(t.relay), N);
    assert_int_equal(t.relay->n_pipes, N);
    pipes_new(&base, &ps);
    assert_int_equal((int)ps.n, N);
    for (size_t i = 0; i < ps.n; i++)
        if (fcntl(ps.fd[i], F_GETPIPE_SZ) >= RELAY_PIPE_SIZE)
            big++;
    assert_true(big <= RELAY_BIG_PIPES);

    /* the readers wake up: every byte arrives, every pipe is given back */
    for (int i = 0; i < N; i++)
        tp_pause(b[i], 0);
    assert_true(th_run_until(&t, all_received, &rx, 60000));
    for (int i = 0; i < N; i++) {
        int found = 0;
        assert_int_equal(b[i]->rx, each);
        for (int k = 0; k < N && !found; k++)
            found = b[i]->rx_hash == a[k]->tx_hash;
        assert_true(found);
    }
    assert_true(th_run_until(&t, none_in_use, t.relay, 3000));
    assert_pairs_hold_no_pipe(t.relay);
    assert_int_equal((int)t.relay->n_pipe_pool, RELAY_PIPE_POOL);
    assert_int_equal(t.relay->n_pipes, RELAY_PIPE_POOL);
    assert_int_equal((int)relay_pipes(&base), RELAY_PIPE_POOL);

    /* all pairs end, the session follows (grace over): no pipe left */
    for (int i = 0; i < N; i++) {
        tp_free(a[i]);
        tp_free(b[i]);
    }
    assert_true(th_run_until(&t, no_pairs, &t, 5000));
    assert_true(th_run_until(&t, no_sessions, t.relay, 5000));
    assert_int_equal(t.relay->n_pipes, 0);
    assert_int_equal(t.relay->n_pipe_pool, 0);
    assert_int_equal(relay_pipes(&base), 0);
    th_done(&t);
    assert_int_equal(relay_pipes(&base), 0);
}

/* Freeing the relay closes pipes in use (with bytes in them) and pooled
 * ones alike. */
static void test_free_closes_all(void **state)
{
    struct th t;
    struct th_session s;
    struct tpeer *a, *b, *c, *d;
    struct pipeset base;
    struct want_use w;
    struct want_pairs wp;
    (void)state;

    th_init(&t);
    th_start(&t);
    pipes_scan(&base); /* the harness's own (libevent's) pipes */
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    /* pair 1 (a, b) is stuck with bytes in its pipe */
    a = tp_connect(&t, s.port_a);
    b = tp_connect(&t, s.port_b);
    wp.t = &t;
    wp.n = 1;
    assert_true(th_run_until(&t, pairs_at_least, &wp, 3000));
    tp_pause(b, 1);
    small_sndbuf_to_b(t.relay);
    tp_stream(a, 1024 * KIB, 7);
    w.r = t.relay;
    w.n = 1;
    assert_true(th_run_until(&t, in_use_at_least, &w, 10000));
    /* pair 2 (c, d) moves a little and gives its pipe to the pool */
    c = tp_connect(&t, s.port_a);
    d = tp_connect(&t, s.port_b);
    tp_send(c, "ping", 4, 1);
    assert_true(tp_wait_rx(d, 4, 3000));
    assert_true(th_run_until(&t, pool_not_empty, t.relay, 3000));
    assert_int_equal(pipes_in_use(t.relay), 1);
    assert_int_equal((int)t.relay->n_pipe_pool, 1);
    assert_int_equal((int)relay_pipes(&base), 2);

    relay_free(t.relay);
    t.relay = NULL;
    assert_int_equal(relay_pipes(&base), 0);
    tp_free(a);
    tp_free(b);
    tp_free(c);
    tp_free(d);
    th_done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_pair_holds_none_and_reuse),
        cmocka_unit_test(test_pool_bounded),
        cmocka_unit_test(test_free_closes_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
