/*
 * bench/np_bench_at.c - atServer benchmark and notification load tool, run
 * by bench/atserver.sh and bench/load_at.sh (never by CTest).
 *
 *   np_bench_at bench [--smoke]
 *       brings up a real atdirectory + one atserver process hosting the
 *       official demo atSigns @alice🛠 and @bob🛠 (tests/integration np_itest)
 *       and measures: directory lookups/s (one TLS connection, four in
 *       parallel, a new connection per lookup); update+llookup pairs/s (one
 *       authenticated connection, four in parallel); the notify -> monitor
 *       push round trip (one at a time: p50/p99) and notifications/s from
 *       @alice🛠 to @bob🛠 with four sender connections (and the latency under
 *       that load); the atserver's RSS per hosted atSign (a separate server
 *       with 1 atSign, then with N created atSigns: the difference / (N-1)).
 *   np_bench_at load [--clients N] [--seconds S]
 *       N sender connections (half @alice🛠 -> @bob🛠, half the other way),
 *       each keeping one notify in flight for S seconds; one raw monitor per
 *       recipient counts every id: sent (acknowledged) vs received, lost,
 *       duplicated, delivery latency p50/p99, atserver RSS before/peak/after.
 *
 * Results are "ROW\t<metric>\t<value>\t<unit>\t<note>" lines on stdout
 * (np_bench_at_util.h); progress on stderr. Needs NP_SOURCE_DIR,
 * NP_ATSERVER, NP_ATDIRECTORY in the environment (the scripts set them).
 * Notifications are sent with isEncrypted:false so that the figures are the
 * server's, not the client's AES; monitors are raw (np_bench_at_rawmon.h) so
 * that duplicates are seen, not filtered.
 */
#include "np_bench_at_rawmon.h"
#include "np_bench_at_util.h"

#include "at/client.h"
#include "crypto/atkeys.h"
#include "itest.h"
#include "net/bclient.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define TIMEOUT_MS 15000
#define MAX_CONNS  512

/* The environment shared by every measurement. */
struct ctx {
    struct itest_at env;
    struct itest_demo demo;
    struct event_base *base;
    struct net_tls_ctx *tls;
    const char *atsign[2]; /* alice, bob */
    const struct np_atkeys *keys[2];
};

static double secs(int64_t us)
{
    return (double)us / 1e6;
}

/* ------------------------------------------------------ directory lookups */

struct dirjob {
    const struct ctx *x;
    long n;      /* lookups to do */
    int newconn; /* a new TLS connection for every lookup */
    long done;
    int err;
    pthread_t th;
};

static int dir_connect(const struct ctx *x, struct net_bclient **c)
{
    char buf[64];
    size_t len;
    int r;

    if ((r = net_bclient_connect("127.0.0.1", x->env.dir_port, x->env.ca, "localhost", TIMEOUT_MS,
                                 c)) != 0)
        return r;
    if ((r = net_bclient_read_until(*c, '@', buf, sizeof(buf), &len, TIMEOUT_MS)) != 0) {
        net_bclient_close(*c);
        *c = NULL;
    }
    return r;
}

/* One lookup of @alice🛠 (without the '@'); the answer must be host:port. */
static int dir_lookup(struct net_bclient *c, const char *name)
{
    char line[256];
    const char *p = line;
    size_t len;
    int r;

    if ((r = net_bclient_send_line(c, name, TIMEOUT_MS)) != 0 ||
        (r = net_bclient_read_line(c, line, sizeof(line), &len, TIMEOUT_MS)) != 0)
        return r;
    while (*p == '@') /* the prompt that followed the previous answer */
        p++;
    return strchr(p, ':') && !np_str_startswith(p, "null") ? 0 : NP_ERR_PROTO;
}

static void *dir_thread(void *arg)
{
    struct dirjob *j = arg;
    struct net_bclient *c = NULL;
    const char *name = j->x->atsign[0] + 1;

    for (j->done = 0; j->done < j->n; j->done++) {
        if (!c && (j->err = dir_connect(j->x, &c)) != 0)
            break;
        if ((j->err = dir_lookup(c, name)) != 0)
            break;
        if (j->newconn) {
            net_bclient_close(c);
            c = NULL;
        }
    }
    net_bclient_close(c);
    return NULL;
}

/* Run `threads` jobs of n lookups each; lookups/s into *rate. */
static int dir_bench(const struct ctx *x, int threads, long n, int newconn, double *rate)
{
    struct dirjob j[8];
    int64_t t0 = nb_mono_us(), dt;
    long total = 0;
    int err = 0;

    *rate = 0;
    memset(j, 0, sizeof(j));
    for (int i = 0; i < threads; i++) {
        j[i].x = x;
        j[i].n = n;
        j[i].newconn = newconn;
        if (pthread_create(&j[i].th, NULL, dir_thread, &j[i]) != 0)
            return NP_ERR_INTERNAL;
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(j[i].th, NULL);
        total += j[i].done;
        if (j[i].err)
            err = j[i].err;
    }
    dt = nb_mono_us() - t0;
    if (err) {
        nb_log("directory lookups failed: %s", np_strerror(err));
        return err;
    }
    *rate = (double)total / secs(dt);
    return 0;
}

/* ---------------------------------------------------------- at clients */

static int client_ready(void *arg)
{
    struct at_client **cs = arg;

    for (int i = 0; cs[i]; i++)
        if (!at_client_is_ready(cs[i]))
            return 0;
    return 1;
}

/* n authenticated clients (NULL-terminated array cs[n + 1]) as atsign w. */
static int clients_open(struct ctx *x, int who, int n, struct at_client **cs)
{
    struct at_client_opts o;
    int r;

    for (int i = 0; i <= n; i++)
        cs[i] = NULL;
    for (int i = 0; i < n; i++) {
        itest_at_opts(&x->env, &o, x->atsign[who], x->keys[who], TIMEOUT_MS);
        if ((r = at_client_new(x->base, &o, &cs[i])) != 0 || (r = at_client_start(cs[i])) != 0) {
            nb_log("client %d: %s", i, np_strerror(r));
            return r;
        }
    }
    if ((r = nb_run_until(x->base, client_ready, cs, 60000)) != 0)
        nb_log("clients did not authenticate: %s", np_strerror(r));
    return r;
}

static void clients_free(struct at_client **cs)
{
    for (int i = 0; cs[i]; i++) {
        at_client_free(cs[i]);
        cs[i] = NULL;
    }
}

/* ------------------------------------------------- update + llookup pairs */

struct pairer {
    struct ctx *x;
    struct at_client *c;
    int id, phase, stopped, err;
    long i, pairs;
    int64_t deadline;
};

static void pair_next(struct pairer *p);

static void pair_cb(struct at_client *c, const struct at_result *r, void *data)
{
    struct pairer *p = data;
    char want[64];
    (void)c;

    if (r->err != 0) {
        p->err = r->err;
        p->stopped = 1;
        nb_log("pairs: %s: %s", np_strerror(r->err), r->message ? r->message : "");
        return;
    }
    if (p->phase == 0) {
        char cmd[256];
        p->phase = 1;
        snprintf(cmd, sizeof(cmd), "llookup:public:k%dx%ld.bench%s", p->id, p->i, p->x->atsign[0]);
        if ((p->err = at_client_cmd(p->c, cmd, pair_cb, p)) != 0)
            p->stopped = 1;
        return;
    }
    snprintf(want, sizeof(want), "v%ld", p->i);
    if (!r->data || strcmp(r->data, want) != 0) {
        p->err = NP_ERR_PROTO;
        p->stopped = 1;
        nb_log("pairs: llookup answered %s, want %s", r->data ? r->data : "(null)", want);
        return;
    }
    p->pairs++;
    p->i++;
    pair_next(p);
}

static void pair_next(struct pairer *p)
{
    char cmd[256];

    if (nb_mono_us() >= p->deadline) {
        p->stopped = 1;
        return;
    }
    p->phase = 0;
    snprintf(cmd, sizeof(cmd), "update:public:k%dx%ld.bench%s v%ld", p->id, p->i, p->x->atsign[0],
             p->i);
    if ((p->err = at_client_cmd(p->c, cmd, pair_cb, p)) != 0)
        p->stopped = 1;
}

struct pairset {
    struct pairer *p;
    int n;
};

static int pairs_done(void *arg)
{
    struct pairset *s = arg;

    for (int i = 0; i < s->n; i++)
        if (!s->p[i].stopped)
            return 0;
    return 1;
}

static int pairs_bench(struct ctx *x, int nconn, int ms, int round, double *rate)
{
    struct at_client *cs[9];
    struct pairer p[8];
    struct pairset set = {p, nconn};
    int64_t t0;
    long total = 0;
    int r;

    *rate = 0;
    memset(p, 0, sizeof(p));
    if ((r = clients_open(x, 0, nconn, cs)) != 0)
        goto out;
    t0 = nb_mono_us();
    for (int i = 0; i < nconn; i++) {
        p[i].x = x;
        p[i].c = cs[i];
        p[i].id = round * 10 + i;
        p[i].deadline = t0 + (int64_t)ms * 1000;
        pair_next(&p[i]);
    }
    if ((r = nb_run_until(x->base, pairs_done, &set, ms + TIMEOUT_MS + 5000)) != 0)
        goto out;
    for (int i = 0; i < nconn; i++) {
        total += p[i].pairs;
        if (p[i].err)
            r = p[i].err;
    }
    *rate = (double)total / secs(nb_mono_us() - t0);
out:
    clients_free(cs);
    return r;
}

/* ------------------------------------------------------- notification flow */

struct flow;

struct sender {
    struct flow *f;
    struct at_client *c;
    int idx, to; /* recipient: 0 alice, 1 bob */
    int64_t cur; /* seq in flight */
    int inflight, stopped, waiting;
    int64_t *sent_us;
    uint8_t *acked; /* 0 pending, 1 acknowledged, 2 failed */
    uint8_t *recv;  /* arrivals (saturating) */
    size_t cap;
    uint64_t n_acked, n_failed;
};

struct flow_mon {
    struct flow *f;
    int who;
    struct nb_rawmon *m;
};

struct flow {
    struct ctx *x;
    const char *tag; /* id prefix (letters) */
    struct sender *s;
    int n;
    int lockstep;  /* wait for the monitor push before the next notify */
    int64_t count; /* per sender (lockstep), 0 = until the deadline */
    int64_t deadline, t_start, t_stop;
    struct flow_mon mon[2];
    uint64_t received, dups, unexpected, misrouted;
    struct nb_samples lat;
    pid_t watch; /* atserver: RSS sampled every 200 ms */
    long rss_peak;
    int64_t next_sample;
};

static void send_next(struct sender *s);

static void notify_cb(struct at_client *c, const struct at_result *r, void *data)
{
    struct sender *s = data;
    (void)c;

    s->inflight = 0;
    if (r->err != 0) {
        s->acked[s->cur] = 2;
        s->n_failed++;
        s->stopped = 1; /* a broken connection would fail every next one at once */
        nb_log("sender %d: notify failed: %s %s", s->idx, np_strerror(r->err),
               r->message ? r->message : "");
        return;
    }
    s->acked[s->cur] = 1;
    s->n_acked++;
    if (s->f->lockstep && s->recv[s->cur] == 0) {
        s->waiting = 1; /* the monitor push comes later */
        return;
    }
    s->cur++;
    send_next(s);
}

static int sender_grow(struct sender *s)
{
    size_t cap = s->cap ? s->cap * 2 : 4096;
    int64_t *t;
    uint8_t *a, *v;

    if ((t = realloc(s->sent_us, cap * sizeof(*t))) == NULL)
        return NP_ERR_NOMEM;
    s->sent_us = t;
    if ((a = realloc(s->acked, cap)) == NULL)
        return NP_ERR_NOMEM;
    s->acked = a;
    if ((v = realloc(s->recv, cap)) == NULL)
        return NP_ERR_NOMEM;
    s->recv = v;
    memset(s->acked + s->cap, 0, cap - s->cap);
    memset(s->recv + s->cap, 0, cap - s->cap);
    s->cap = cap;
    return 0;
}

static void send_next(struct sender *s)
{
    struct flow *f = s->f;
    struct at_client_notify n;
    char id[64];
    int r;

    if (s->stopped)
        return;
    if (nb_mono_us() >= f->deadline || (f->count > 0 && s->cur >= f->count)) {
        s->stopped = 1;
        return;
    }
    if ((size_t)s->cur >= s->cap && sender_grow(s) != 0) {
        s->stopped = 1;
        return;
    }
    snprintf(id, sizeof(id), "%s%dx%lld", f->tag, s->idx, (long long)s->cur);
    memset(&n, 0, sizeof(n));
    n.to = f->x->atsign[s->to];
    n.key = "n.bench";
    n.value = "v";
    n.id = id;
    n.op = AT_NOTIFY_UPDATE;
    n.plaintext = true;
    s->sent_us[s->cur] = nb_mono_us();
    s->inflight = 1;
    s->waiting = 0;
    if ((r = at_client_notify(s->c, &n, notify_cb, s)) != 0) {
        s->inflight = 0;
        s->stopped = 1;
        nb_log("sender %d: notify: %s", s->idx, np_strerror(r));
    }
}

static void on_mon(void *data, const char *id, const char *from, int64_t epoch_ms)
{
    struct flow_mon *fm = data;
    struct flow *f = fm->f;
    size_t tl = strlen(f->tag);
    const char *x;
    int64_t si, seq, now = nb_mono_us();
    struct sender *s;
    (void)from;
    (void)epoch_ms;

    if (!id || strncmp(id, f->tag, tl) != 0 || (x = strchr(id + tl, 'x')) == NULL ||
        np_parse_i64n(id + tl, (size_t)(x - id - (ptrdiff_t)tl), 0, f->n - 1, &si) != 0 ||
        np_parse_i64(x + 1, 0, INT64_MAX, &seq) != 0) {
        f->unexpected++;
        return;
    }
    s = &f->s[si];
    if ((size_t)seq >= s->cap || seq > s->cur) {
        f->unexpected++;
        return;
    }
    if (s->to != fm->who) {
        f->misrouted++;
        return;
    }
    if (s->recv[seq] < 255)
        s->recv[seq]++;
    if (s->recv[seq] > 1) {
        f->dups++;
        return;
    }
    f->received++;
    nb_samples_add(&f->lat, now - s->sent_us[seq]);
    if (f->lockstep && s->waiting && seq == s->cur) {
        s->cur++;
        send_next(s);
    }
}

static int flow_total_acked(const struct flow *f, uint64_t *failed)
{
    uint64_t a = 0, e = 0;

    for (int i = 0; i < f->n; i++) {
        a += f->s[i].n_acked;
        e += f->s[i].n_failed;
    }
    if (failed)
        *failed = e;
    return (int)(a > INT32_MAX ? INT32_MAX : a);
}

static void flow_sample(struct flow *f)
{
    int64_t now = nb_mono_us();
    long v;

    if (f->watch <= 0 || now < f->next_sample)
        return;
    f->next_sample = now + 200000;
    if ((v = nb_rss_kb(f->watch)) > f->rss_peak)
        f->rss_peak = v;
}

static int senders_stopped(void *arg)
{
    struct flow *f = arg;

    flow_sample(f);
    for (int i = 0; i < f->n; i++) {
        struct sender *s = &f->s[i];
        if (f->lockstep && s->waiting && nb_mono_us() >= f->deadline)
            s->stopped = 1; /* a lost push must not hang the lockstep run */
        if (!s->stopped || s->inflight)
            return 0;
    }
    return 1;
}

static int all_received(void *arg)
{
    struct flow *f = arg;

    flow_sample(f);
    return f->received >= (uint64_t)flow_total_acked(f, NULL);
}

static int mons_live(void *arg)
{
    struct flow *f = arg;

    for (int i = 0; i < 2; i++)
        if (f->mon[i].m && !nb_rawmon_is_live(f->mon[i].m))
            return 0;
    return 1;
}

/* Results of one flow. */
struct flow_res {
    uint64_t sent, failed, received, lost, dups, unexpected, misrouted;
    double send_rate, recv_rate, secs;
    int64_t p50, p99, max;
    long rss_peak;
};

/*
 * n senders (direction: both = alternate, else all alice -> bob), for ms
 * milliseconds or `count` notifications each (lockstep = one at a time,
 * waiting for the push). Monitors on the recipients.
 */
static int flow_run(struct ctx *x, const char *tag, int n, int both, int lockstep, int64_t count,
                    int ms, pid_t watch, struct flow_res *res)
{
    struct at_client *cs[2][MAX_CONNS + 1];
    struct flow f;
    int ncl[2] = {0, 0}, r;

    memset(res, 0, sizeof(*res));
    memset(&f, 0, sizeof(f));
    memset(cs, 0, sizeof(cs));
    f.x = x;
    f.tag = tag;
    f.n = n;
    f.lockstep = lockstep;
    f.count = count;
    f.watch = watch;
    if (n < 1 || n > MAX_CONNS || (f.s = calloc((size_t)n, sizeof(*f.s))) == NULL)
        return NP_ERR_INVAL;
    for (int i = 0; i < n; i++) {
        f.s[i].f = &f;
        f.s[i].idx = i;
        f.s[i].to = both ? (i % 2 == 0 ? 1 : 0) : 1;
        ncl[1 - f.s[i].to]++;
    }
    /* monitors on each recipient, then the senders' connections */
    for (int w = 0; w < 2; w++) {
        int port = x->env.ports[w];
        if (w == 0 && !both)
            continue;
        f.mon[w].f = &f;
        f.mon[w].who = w;
        if ((r = nb_rawmon_start(x->base, x->tls, "127.0.0.1", port, x->atsign[w],
                                 x->keys[w]->pkam_private_b64, on_mon, &f.mon[w], &f.mon[w].m)) !=
            0)
            goto out;
    }
    if ((r = nb_run_until(x->base, mons_live, &f, 30000)) != 0) {
        nb_log("monitors did not come up: %s", np_strerror(r));
        goto out;
    }
    for (int w = 0; w < 2; w++)
        if (ncl[w] && (r = clients_open(x, w, ncl[w], cs[w])) != 0)
            goto out;
    {
        int k[2] = {0, 0};
        for (int i = 0; i < n; i++) {
            int w = 1 - f.s[i].to;
            f.s[i].c = cs[w][k[w]++];
        }
    }
    nb_log("%s: %d sender(s) %s, %s", tag, n, both ? "both ways" : "@alice -> @bob",
           lockstep ? "one at a time" : "one in flight each");
    f.t_start = nb_mono_us();
    f.deadline = f.t_start + (int64_t)ms * 1000;
    if (watch > 0)
        f.rss_peak = nb_rss_kb(watch);
    for (int i = 0; i < n; i++)
        send_next(&f.s[i]);
    r = nb_run_until(x->base, senders_stopped, &f, ms + TIMEOUT_MS + 5000);
    f.t_stop = nb_mono_us();
    if (r != 0)
        nb_log("%s: senders did not finish in time", tag);
    /* drain: every acknowledged notification should arrive */
    if (nb_run_until(x->base, all_received, &f, TIMEOUT_MS) != 0)
        nb_log("%s: %llu of %d acknowledged notifications arrived", tag,
               (unsigned long long)f.received, flow_total_acked(&f, NULL));
    nb_run_until(x->base, NULL, NULL, 300); /* late duplicates */
    for (int i = 0; i < n; i++) {
        struct sender *s = &f.s[i];
        for (int64_t q = 0; q < s->cur + (s->inflight ? 1 : 0) && (size_t)q < s->cap; q++)
            if (s->acked[q] == 1 && s->recv[q] == 0)
                res->lost++;
    }
    res->sent = (uint64_t)flow_total_acked(&f, &res->failed);
    res->received = f.received;
    res->dups = f.dups;
    res->unexpected = f.unexpected;
    res->misrouted = f.misrouted;
    res->secs = secs(f.t_stop - f.t_start);
    res->send_rate = res->secs > 0 ? (double)res->sent / res->secs : 0;
    res->recv_rate = res->secs > 0 ? (double)res->received / res->secs : 0;
    nb_samples_pct(&f.lat, 50, &res->p50);
    nb_samples_pct(&f.lat, 99, &res->p99);
    nb_samples_pct(&f.lat, 100, &res->max);
    res->rss_peak = f.rss_peak;
    for (int w = 0; w < 2; w++)
        if (f.mon[w].m && nb_rawmon_bad(f.mon[w].m))
            nb_log("monitor %d: %llu unparsable line(s)", w,
                   (unsigned long long)nb_rawmon_bad(f.mon[w].m));
    nb_log("%s: sent %llu (failed %llu), received %llu, lost %llu, duplicated %llu in %.1f s", tag,
           (unsigned long long)res->sent, (unsigned long long)res->failed,
           (unsigned long long)res->received, (unsigned long long)res->lost,
           (unsigned long long)res->dups, res->secs);
    r = 0;
out:
    for (int w = 0; w < 2; w++) {
        clients_free(cs[w]);
        nb_rawmon_free(f.mon[w].m);
    }
    for (int i = 0; i < n; i++) {
        free(f.s[i].sent_us);
        free(f.s[i].acked);
        free(f.s[i].recv);
    }
    free(f.s);
    nb_samples_free(&f.lat);
    return r;
}

/* ------------------------------------------------------- RSS per atSign */

/* A separate atserver with n fresh atSigns in dir; its RSS once every port
 * accepts and settle_ms have passed. */
static int rss_server(struct ctx *x, int n, int settle_ms, long *rss, long *anon)
{
    char dir[700], data[760], log[760], out[760], name[32], portstr[16];
    int *ports = calloc((size_t)n, sizeof(int));
    pid_t pid = -1;
    int r = NP_ERR_IO, st;

    *rss = *anon = -1;
    if (!ports)
        return NP_ERR_NOMEM;
    snprintf(dir, sizeof(dir), "%s/rss%d", x->env.dir, n);
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(log, sizeof(log), "%s/atserver.log", dir);
    snprintf(out, sizeof(out), "%s/create.out", dir);
    if (mkdir(dir, 0700) != 0 || mkdir(data, 0700) != 0)
        goto out;
    for (int i = 0; i < n; i++) {
        const char *argv[] = {itest_env("NP_ATSERVER", "atserver"),
                              "create",
                              name,
                              "--data-dir",
                              data,
                              "--port",
                              portstr,
                              "--host",
                              "localhost",
                              NULL};
        snprintf(name, sizeof(name), "@rss%d", i);
        if (itest_free_port(&ports[i]) != 0)
            goto out;
        snprintf(portstr, sizeof(portstr), "%d", ports[i]);
        if (itest_run(argv, out, 20000, &st) != 0 || st != 0) {
            itest_dump_file("atserver create", out);
            goto out;
        }
    }
    {
        const char *argv[] = {itest_env("NP_ATSERVER", "atserver"),
                              "run",
                              "--data-dir",
                              data,
                              "--cert",
                              x->env.cert,
                              "--key",
                              x->env.key,
                              "--bind",
                              "127.0.0.1",
                              "--root-domain",
                              x->env.root,
                              "--ca-file",
                              x->env.ca,
                              NULL};
        if (itest_spawn(argv, log, &pid) != 0)
            goto out;
    }
    for (int i = 0; i < n; i++)
        if (itest_wait_port("127.0.0.1", ports[i], pid, 60000) != 0) {
            itest_dump_file("atserver log", log);
            goto out;
        }
    nb_run_until(x->base, NULL, NULL, settle_ms);
    *rss = nb_rss_kb(pid);
    *anon = nb_rss_anon_kb(pid);
    r = *rss > 0 ? 0 : NP_ERR_IO;
out:
    itest_stop(pid, 5000, NULL);
    free(ports);
    return r;
}

/* ------------------------------------------------------- fsync probe */

/* fsync(2)s per second of a small file in dir for ms milliseconds: every
 * update and notification of the atserver costs at least one (SQLite WAL,
 * synchronous=FULL), so this bounds the write figures on this machine. */
static double fsync_rate(const char *dir, int ms)
{
    char path[700];
    int64_t t0 = nb_mono_us(), end = t0 + (int64_t)ms * 1000;
    long n = 0;
    int fd;

    snprintf(path, sizeof(path), "%s/fsync-probe", dir);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
        return 0;
    while (nb_mono_us() < end) {
        if (write(fd, "0123456789abcdef", 16) != 16 || fsync(fd) != 0)
            break;
        n++;
    }
    close(fd);
    unlink(path);
    return (double)n / secs(nb_mono_us() - t0);
}

static void fsync_row(const struct ctx *x, const char *name, int ms)
{
    nb_row(name, fsync_rate(x->env.dir, ms), 0, "1/s",
           "write+fsync of a small file next to the atserver data: bounds every figure that "
           "writes (busy disk = lower)");
}

/* ------------------------------------------------------------ set-up */

/* --config FILE for the benchmark's atserver (np_bench_at writes). */
static const char *g_srv_config;

static int ctx_open(struct ctx *x, const char *tag)
{
    struct net_tls_client_opts to;

    memset(x, 0, sizeof(*x));
    x->env.dir_pid = x->env.srv_pid = -1;
    if (itest_at_setup(&x->env, tag) != 0 ||
        (x->env.srv_config = g_srv_config, itest_at_demo(&x->env, 0, &x->demo)) != 0) {
        nb_log("cannot bring up atdirectory + atserver");
        return NP_ERR_IO;
    }
    x->atsign[0] = ITEST_ALICE;
    x->atsign[1] = ITEST_BOB;
    x->keys[0] = x->demo.ka;
    x->keys[1] = x->demo.kb;
    memset(&to, 0, sizeof(to));
    to.ca_file = x->env.ca;
    if ((x->base = event_base_new()) == NULL || net_tls_client_ctx_new(&to, &x->tls) != 0)
        return NP_ERR_NOMEM;
    nb_log("atdirectory %s, atserver pid %d: @alice port %d, @bob port %d", x->env.root,
           (int)x->env.srv_pid, x->env.ports[0], x->env.ports[1]);
    return 0;
}

static void ctx_close(struct ctx *x)
{
    net_tls_ctx_free(x->tls);
    if (x->base)
        event_base_free(x->base);
    itest_demo_free(&x->demo);
    itest_at_teardown(&x->env);
}

/* ------------------------------------------------------------ commands */

static int cmd_bench(int smoke)
{
    long n_dir = smoke ? 200 : 20000, n_new = smoke ? 20 : 1000, n_rt = smoke ? 30 : 1000;
    int pair_ms = smoke ? 500 : 5000, tp_ms = smoke ? 1000 : 10000, n_rss = smoke ? 3 : 100;
    struct flow_res fr;
    struct ctx x;
    char note[256];
    double rate;
    long rss1, anon1, rssn, anonn;
    int r;

    if ((r = ctx_open(&x, "benchat")) != 0)
        goto out;
    fsync_row(&x, "machine.fsync_per_s", smoke ? 200 : 1000);

    nb_log("directory lookups");
    if ((r = dir_bench(&x, 1, n_dir, 0, &rate)) != 0)
        goto out;
    snprintf(note, sizeof(note), "%ld lookups of one atSign over one TLS connection", n_dir);
    nb_row("directory.lookups_per_s.1conn", rate, 0, "1/s", note);
    if ((r = dir_bench(&x, 4, n_dir / 4, 0, &rate)) != 0)
        goto out;
    nb_row("directory.lookups_per_s.4conn", rate, 0, "1/s",
           "4 connections in parallel (threads), one lookup in flight each");
    if ((r = dir_bench(&x, 1, n_new, 1, &rate)) != 0)
        goto out;
    snprintf(note, sizeof(note), "%ld lookups, TCP+TLS handshake each", n_new);
    nb_row("directory.lookups_per_s.newconn", rate, 0, "1/s", note);

    nb_log("update + llookup pairs");
    if ((r = pairs_bench(&x, 1, pair_ms, 0, &rate)) != 0)
        goto out;
    nb_row("atserver.update_llookup_pairs_per_s.1conn", rate, 0, "1/s",
           "update:public + llookup of a new key, one authenticated connection, SQLite "
           "synchronous=FULL");
    if ((r = pairs_bench(&x, 4, pair_ms, 1, &rate)) != 0)
        goto out;
    nb_row("atserver.update_llookup_pairs_per_s.4conn", rate, 0, "1/s",
           "4 authenticated connections in parallel");

    nb_log("notification round trip");
    if ((r = flow_run(&x, "rt", 1, 0, 1, n_rt, 120000, -1, &fr)) != 0)
        goto out;
    if (fr.received == 0) {
        r = NP_ERR_TIMEOUT;
        goto out;
    }
    snprintf(note, sizeof(note),
             "issue 8: notify on @alice's connection -> push on @bob's monitor, one at a time, "
             "%llu samples",
             (unsigned long long)fr.received);
    nb_row("notify_roundtrip.p50", (double)fr.p50 / 1000.0, 2, "ms", note);
    nb_row("notify_roundtrip.p99", (double)fr.p99 / 1000.0, 2, "ms", "same run");

    nb_log("notification throughput");
    if ((r = flow_run(&x, "tp", 4, 0, 0, 0, tp_ms, x.env.srv_pid, &fr)) != 0)
        goto out;
    snprintf(note, sizeof(note),
             "@alice -> @bob (same process), 4 sender connections, one notify in flight each, "
             "%.0f s; %llu sent, %llu lost, %llu duplicated",
             fr.secs, (unsigned long long)fr.sent, (unsigned long long)fr.lost,
             (unsigned long long)fr.dups);
    nb_row("atserver.notifications_per_s", fr.recv_rate, 0, "1/s", note);
    nb_row("atserver.notify_latency_loaded.p50", (double)fr.p50 / 1000.0, 2, "ms",
           "notify -> monitor push under that load");
    nb_row("atserver.notify_latency_loaded.p99", (double)fr.p99 / 1000.0, 2, "ms",
           "notify -> monitor push under that load");
    if (fr.lost || fr.dups || fr.failed) {
        nb_log("notifications lost/duplicated/failed in the throughput run");
        r = NP_ERR_PROTO;
        goto out;
    }
    nb_row("atserver.rss_after_bench", (double)nb_rss_kb(x.env.srv_pid), 0, "KiB",
           "the benchmark's atserver (2 atSigns) after the runs above");

    nb_log("RSS per hosted atSign (1 vs %d)", n_rss);
    if ((r = rss_server(&x, 1, smoke ? 200 : 1000, &rss1, &anon1)) != 0 ||
        (r = rss_server(&x, n_rss, smoke ? 200 : 1000, &rssn, &anonn)) != 0)
        goto out;
    nb_row("atserver.rss_1_atsign", (double)rss1, 0, "KiB", "idle, just started");
    snprintf(note, sizeof(note), "idle, just started, %d created atSigns (not connected)", n_rss);
    nb_row("atserver.rss_n_atsigns", (double)rssn, 0, "KiB", note);
    snprintf(note, sizeof(note), "(RSS(%d) - RSS(1)) / %d; RssAnon alone: %.1f KiB", n_rss,
             n_rss - 1, (double)(anonn - anon1) / (n_rss - 1));
    nb_row("atserver.rss_per_atsign", (double)(rssn - rss1) / (n_rss - 1), 1, "KiB", note);
    r = 0;
out:
    ctx_close(&x);
    return r;
}

static int cmd_load(int clients, int seconds)
{
    struct flow_res fr;
    struct ctx x;
    char note[256];
    long before, after;
    int r, pass;

    if ((r = ctx_open(&x, "loadat")) != 0)
        goto out;
    fsync_row(&x, "atserver.load.machine_fsync_per_s", seconds < 10 ? 200 : 1000);
    before = nb_rss_kb(x.env.srv_pid);
    if ((r = flow_run(&x, "ld", clients, 1, 0, 0, seconds * 1000, x.env.srv_pid, &fr)) != 0)
        goto out;
    nb_run_until(x.base, NULL, NULL, 500);
    after = nb_rss_kb(x.env.srv_pid);
    pass = fr.sent > 0 && fr.lost == 0 && fr.dups == 0 && fr.failed == 0 && fr.unexpected == 0 &&
           fr.misrouted == 0 && fr.received == fr.sent;
    snprintf(note, sizeof(note),
             "%d clients (half @alice->@bob, half back) for %d s, one notify in flight each",
             clients, seconds);
    nb_row("atserver.load.notifications_sent", (double)fr.sent, 0, "count", note);
    nb_row("atserver.load.notifications_received", (double)fr.received, 0, "count",
           "distinct ids at the raw monitors");
    nb_row("atserver.load.notifications_lost", (double)fr.lost, 0, "count",
           "acknowledged (data:<id>) but never pushed");
    nb_row("atserver.load.notifications_duplicated", (double)fr.dups, 0, "count",
           "extra pushes of an id already received");
    nb_row("atserver.load.notify_failed", (double)fr.failed, 0, "count",
           "notify commands that got an error or timed out");
    nb_row("atserver.load.pass", pass, 0, "bool",
           "1 = every acknowledged notification pushed exactly once");
    nb_row("atserver.load.notifications_per_s", fr.recv_rate, 0, "1/s", "received");
    nb_row("atserver.load.latency.p50", (double)fr.p50 / 1000.0, 2, "ms", "notify -> push");
    nb_row("atserver.load.latency.p99", (double)fr.p99 / 1000.0, 2, "ms", "notify -> push");
    nb_row("atserver.load.rss_before", (double)before, 0, "KiB", "atserver, 2 atSigns");
    nb_row("atserver.load.rss_peak", (double)fr.rss_peak, 0, "KiB", "sampled every 200 ms");
    nb_row("atserver.load.rss_after", (double)after, 0, "KiB", "clients gone");
    r = 0;
out:
    ctx_close(&x);
    return r;
}

/* The write-bound figures again with the server's config FILE (e.g.
 * durable_writes = false), metric names prefixed with `prefix`. */
static int cmd_writes(int smoke, const char *config, const char *prefix)
{
    int pair_ms = smoke ? 500 : 5000, tp_ms = smoke ? 1000 : 10000, r;
    struct flow_res fr;
    struct ctx x;
    char name[128], note[256];
    double rate;

    g_srv_config = config;
    if ((r = ctx_open(&x, "benchatw")) != 0)
        goto out;
    if ((r = pairs_bench(&x, 1, pair_ms, 0, &rate)) != 0)
        goto out;
    snprintf(name, sizeof(name), "%s.update_llookup_pairs_per_s.1conn", prefix);
    snprintf(note, sizeof(note), "as atserver.update_llookup_pairs_per_s.1conn, server config %s",
             prefix);
    nb_row(name, rate, 0, "1/s", note);
    if ((r = flow_run(&x, "tpw", 4, 0, 0, 0, tp_ms, x.env.srv_pid, &fr)) != 0)
        goto out;
    snprintf(name, sizeof(name), "%s.notifications_per_s", prefix);
    snprintf(note, sizeof(note), "as atserver.notifications_per_s; %llu sent, %llu lost",
             (unsigned long long)fr.sent, (unsigned long long)fr.lost);
    nb_row(name, fr.recv_rate, 0, "1/s", note);
    snprintf(name, sizeof(name), "%s.notify_latency_loaded.p99", prefix);
    nb_row(name, (double)fr.p99 / 1000.0, 2, "ms", "notify -> monitor push under that load");
    if (fr.lost || fr.dups || fr.failed) {
        nb_log("notifications lost/duplicated/failed in the throughput run");
        r = NP_ERR_PROTO;
        goto out;
    }
    r = 0;
out:
    ctx_close(&x);
    return r;
}

static void usage(void)
{
    fprintf(stderr, "usage: np_bench_at bench [--smoke]\n"
                    "       np_bench_at writes [--smoke] CONFIG_FILE PREFIX\n"
                    "       np_bench_at load [--clients N] [--seconds S]\n");
}

int main(int argc, char **argv)
{
    int r;

    np_log_set_level(NP_LOG_WARN);
    net_ignore_sigpipe();
    nb_log_tag("np_bench_at");
    if (argc < 2) {
        usage();
        return 2;
    }
    if (strcmp(argv[1], "bench") == 0) {
        int smoke = argc > 2 && strcmp(argv[2], "--smoke") == 0;
        r = cmd_bench(smoke);
    } else if (strcmp(argv[1], "writes") == 0) {
        int smoke = argc > 2 && strcmp(argv[2], "--smoke") == 0;
        if (argc != 4 + smoke) {
            usage();
            return 2;
        }
        r = cmd_writes(smoke, argv[2 + smoke], argv[3 + smoke]);
    } else if (strcmp(argv[1], "load") == 0) {
        int clients = 50, seconds = 60;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
                clients = (int)nb_arg_long("--clients", argv[++i], MAX_CONNS);
            else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
                seconds = (int)nb_arg_long("--seconds", argv[++i], 3600);
            else {
                usage();
                return 2;
            }
        }
        r = cmd_load(clients, seconds);
    } else {
        usage();
        return 2;
    }
    if (r != 0)
        nb_log("failed: %s", np_strerror(r));
    return r == 0 ? 0 : 1;
}
