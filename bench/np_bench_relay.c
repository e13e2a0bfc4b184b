/*
 * bench/np_bench_relay.c - srvd under measurement (bench/relay.sh and
 * bench/load_srvd.sh). In a private environment (tests/integration/lib
 * itest: atdirectory + one atserver hosting @alice🛠 (the relay's manager),
 * @bob🛠 and @relay1, official demo keys) it starts srvd, asks it for
 * sessions exactly as a client does (request_ports notification over the
 * atServer, answer read from our monitor; np/relay_msg.h) and opens
 * authenticated socket pairs (legacy auth line of each side, np/relay_auth.h;
 * one signed line per side per session, sent on every socket of it).
 *
 *   np_bench_relay relay [--bytes N] [--pairs P] [--rtt N] [--idle N]
 *                        [--per-session K] [--nice N] [--repeat R]
 *     throughput of 1 pair (R times, a session each: every run and the
 *     median of each figure; srvd's CPU time, our sender threads' and the
 *     sink process's) and of P concurrent pairs moving N bytes in all
 *     (A sides send from threads of this process, the B sides go to sinks in
 *     a child process: the layout of np_bench_pump send -> sink for the
 *     direct runs, np_bench_io.h), N one-byte round
 *     trips, then a fresh srvd holding N idle authenticated pairs (K per
 *     session): its RSS and fd count before and after. --nice: our sender
 *     and sink threads run at this nice value (srvd does not).
 *   np_bench_relay load [--loop L] [--idle N] [--per-session K]
 *                       [--rss-tolerance-kb T]
 *     L sessions set up and torn down one after another (request, two
 *     authenticated sockets, 16 bytes each way, close), then N concurrent
 *     idle pairs, then everything closed: srvd RSS and fds at start (after
 *     one warm-up session), after the loop, at the peak and at the end, and
 *     pass=1 when the fds came back exactly and the RSS within T KiB.
 *
 * Results go to stdout as key=value lines, progress to stderr. Every wait is
 * bounded; srvd and the at servers are stopped by pid (and get SIGTERM if
 * this process dies: itest_spawn's PR_SET_PDEATHSIG).
 */
#include "np_bench_io.h"
#include "itest.h"
#include "at/client.h"
#include "at/monitor.h"
#include "crypto/atkeys.h"
#include "crypto/rand.h"
#include "crypto/rsa.h"
#include "np/relay_auth.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef NP_BENCH_SOURCE_DIR
#define NP_BENCH_SOURCE_DIR "."
#endif
#ifndef NP_BENCH_SRVD
#define NP_BENCH_SRVD "srvd"
#endif
#ifndef NP_BENCH_ATSERVER
#define NP_BENCH_ATSERVER "atserver"
#endif
#ifndef NP_BENCH_ATDIRECTORY
#define NP_BENCH_ATDIRECTORY "atdirectory"
#endif

#define ANSWER_WAIT_MS 20000
#define IO_WAIT_MS     30000
#define SETTLE_MS      1000
#define MAX_REPEAT     99

struct opts {
    const char *cmd;
    uint64_t bytes;
    int64_t pairs, rtt, idle, per_session, loop, rss_tol_kb, grace_ms, linger_ms, nice, repeat;
};

struct bench {
    struct itest_at env;
    struct itest_demo demo;
    char srvd_log[700];
    pid_t srvd_pid;
    int srvd_runs;
    struct event_base *base;
    struct at_client *cli;
    struct at_monitor *mon;
    struct event *tick;
    struct np_rsa_key *priv_a, *priv_b;
    /* the request being waited for */
    char want_sid[NP_UUID_STR_LEN + 1];
    char *answer;
    int nacked, notify_err;
    int64_t t0;
};

/* One session: its answer and the auth line of each side. */
struct sess {
    char sid[NP_UUID_STR_LEN + 1];
    char cn[64];
    int port_a, port_b;
    char *line_a, *line_b;
    size_t len_a, len_b;
};

static struct bench B;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    int64_t ms = np_mono_ms() - B.t0;

    fprintf(stderr, "[np_bench_relay %3lld.%lds] ", (long long)(ms / 1000),
            (long)(ms % 1000) / 100);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void sess_clear(struct sess *s)
{
    np_free(s->line_a);
    np_free(s->line_b);
    memset(s, 0, sizeof(*s));
}

/* ---- srvd -------------------------------------------------------------- */

static void srvd_stop(void)
{
    if (B.srvd_pid > 0)
        itest_stop(B.srvd_pid, 10000, NULL);
    B.srvd_pid = -1;
}

static int srvd_start(int grace_ms)
{
    char grace[32];
    const char *argv[] = {itest_env("NP_SRVD", NP_BENCH_SRVD),
                          "-a",
                          ITEST_RELAY,
                          "-i",
                          "127.0.0.1",
                          "-m",
                          ITEST_ALICE,
                          "-k",
                          B.demo.relay,
                          "--root-domain",
                          B.env.root,
                          "--ca-file",
                          B.env.ca,
                          "--bind",
                          "127.0.0.1",
                          "--rate-limit",
                          "0",
                          "--max-sessions",
                          "1000000",
                          "--max-sockets",
                          "1000000",
                          "--session-grace-ms",
                          grace,
                          "--shutdown-grace",
                          "0",
                          NULL};

    snprintf(grace, sizeof(grace), "%d", grace_ms);
    snprintf(B.srvd_log, sizeof(B.srvd_log), "%s/srvd-%d.log", B.env.dir, ++B.srvd_runs);
    if (itest_spawn(argv, B.srvd_log, &B.srvd_pid) != 0)
        return NP_ERR_IO;
    if (!itest_log_wait(B.srvd_log, "monitor connection available", 1, 30000) ||
        !itest_log_wait(B.srvd_log, "command connection available", 1, 30000)) {
        itest_dump_file("srvd log", B.srvd_log);
        return NP_ERR_TIMEOUT;
    }
    return 0;
}

/* ---- the client: requests over the atServer ------------------------------ */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void on_note(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    (void)m;
    (void)data;
    if (!n->key || !n->value || !n->from || B.answer || !B.want_sid[0] ||
        strcmp(n->from, ITEST_RELAY) != 0 || !strstr(n->key, B.want_sid))
        return;
    if (strstr(n->key, "nack."))
        B.nacked = 1;
    else
        B.answer = np_memdup0(n->value, n->value_len);
    event_base_loopbreak(B.base);
}

static void on_notified(struct at_client *c, const struct at_result *r, void *data)
{
    (void)c;
    (void)data;
    if (r->err) {
        B.notify_err = r->err;
        event_base_loopbreak(B.base);
    }
}

/* Run the loop until cond() or ms pass. */
static int loop_until(int (*cond)(void), int ms)
{
    int64_t end = np_mono_ms() + ms;

    while (!cond()) {
        if (np_mono_ms() >= end)
            return NP_ERR_TIMEOUT;
        event_base_loop(B.base, EVLOOP_ONCE);
    }
    return 0;
}

static int mon_live(void)
{
    return at_monitor_is_live(B.mon);
}

static int client_up(void)
{
    struct at_client_opts o;
    struct at_monitor_opts mo;
    struct timeval tv = {0, 100 * 1000};
    int rc;

    if ((B.base = event_base_new()) == NULL ||
        (B.tick = event_new(B.base, -1, EV_PERSIST, on_tick, NULL)) == NULL ||
        event_add(B.tick, &tv) != 0)
        return NP_ERR_NOMEM;
    itest_at_opts(&B.env, &o, ITEST_ALICE, B.demo.ka, 15000);
    o.persistent = true;
    if ((rc = at_client_new(B.base, &o, &B.cli)) != 0 || (rc = at_client_start(B.cli)) != 0)
        return rc;
    memset(&mo, 0, sizeof(mo));
    mo.regex = "\\.sshrvd";
    mo.since_epoch_ms = -1;
    if ((rc = at_monitor_start(B.cli, &mo, on_note, NULL, NULL, &B.mon)) != 0)
        return rc;
    return loop_until(mon_live, 30000);
}

static int answered(void)
{
    return B.answer != NULL || B.nacked || B.notify_err != 0;
}

/* Ask srvd for a session (both sides authenticated) and sign its lines. */
static int request(struct sess *s)
{
    struct np_relay_request rq;
    struct np_relay_answer *ans = NULL;
    struct at_client_notify no;
    char *text = NULL;
    int rc;

    memset(s, 0, sizeof(*s));
    if ((rc = np_uuid4(s->sid)) != 0)
        return rc;
    np_time_iso_local_us(s->cn, sizeof(s->cn));
    memset(&rq, 0, sizeof(rq));
    rq.session_id = s->sid;
    rq.atsign_a = (char *)ITEST_ALICE;
    rq.atsign_b = (char *)ITEST_BOB;
    rq.authenticate_a = 1;
    rq.authenticate_b = 1;
    rq.client_nonce = s->cn;
    rq.multiple_acks_ok = 1;
    rq.send_json_response = 1;
    if ((rc = np_relay_request_build(&rq, NP_RELAY_REQ_NEWER, &text)) != 0)
        return rc;
    snprintf(B.want_sid, sizeof(B.want_sid), "%s", s->sid);
    B.nacked = B.notify_err = 0;
    memset(&no, 0, sizeof(no));
    no.to = ITEST_RELAY;
    no.key = "bench.request_ports.sshrvd";
    no.value = text;
    no.ttl = 10000;
    no.ttln = 60000;
    if ((rc = at_client_notify(B.cli, &no, on_notified, NULL)) != 0)
        goto out;
    rc = loop_until(answered, ANSWER_WAIT_MS);
    if (rc == 0 && !B.answer)
        rc = B.nacked ? NP_ERR_PERM : B.notify_err;
    if (rc != 0) {
        fprintf(stderr, "np_bench_relay: no answer for session %s: %s\n", s->sid, np_strerror(rc));
        goto out;
    }
    if ((rc = np_relay_answer_parse(B.answer, strlen(B.answer), &ans)) != 0 || !ans->rvd_nonce) {
        rc = rc ? rc : NP_ERR_FORMAT;
        goto out;
    }
    s->port_a = ans->port_a;
    s->port_b = ans->port_b;
    if ((rc = np_relay_auth_line_build(B.priv_a, s->sid, s->cn, ans->rvd_nonce, &s->line_a,
                                       &s->len_a)) != 0 ||
        (rc = np_relay_auth_line_build(B.priv_b, s->sid, s->cn, ans->rvd_nonce, &s->line_b,
                                       &s->len_b)) != 0)
        goto out;
out:
    B.want_sid[0] = '\0';
    np_free(B.answer);
    B.answer = NULL;
    np_free(text);
    np_relay_answer_free(ans);
    if (rc != 0)
        sess_clear(s);
    return rc;
}

/* Connect an authenticated pair of session s; with ping, prove that srvd
 * joined the two (one byte each way). */
static int pair_open(const struct sess *s, int ping, int *fa, int *fb)
{
    unsigned char c = 'p';
    int a = -1, b = -1, rc;

    *fa = *fb = -1;
    if ((rc = bench_io_connect("127.0.0.1", s->port_a, IO_WAIT_MS, &a)) != 0 ||
        (rc = bench_io_write_all(a, s->line_a, s->len_a, IO_WAIT_MS)) != 0 ||
        (rc = bench_io_connect("127.0.0.1", s->port_b, IO_WAIT_MS, &b)) != 0 ||
        (rc = bench_io_write_all(b, s->line_b, s->len_b, IO_WAIT_MS)) != 0)
        goto out;
    if (ping && ((rc = bench_io_write_all(a, &c, 1, IO_WAIT_MS)) != 0 ||
                 (rc = bench_io_read_all(b, &c, 1, IO_WAIT_MS)) != 0 ||
                 (rc = bench_io_write_all(b, &c, 1, IO_WAIT_MS)) != 0 ||
                 (rc = bench_io_read_all(a, &c, 1, IO_WAIT_MS)) != 0))
        goto out;
    *fa = a;
    *fb = b;
    a = b = -1;
out:
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
    return rc;
}

/* ---- environment --------------------------------------------------------- */

static int env_up(void)
{
    int rc;

    setenv("NP_SOURCE_DIR", itest_env("NP_SOURCE_DIR", NP_BENCH_SOURCE_DIR), 1);
    setenv("NP_ATSERVER", itest_env("NP_ATSERVER", NP_BENCH_ATSERVER), 1);
    setenv("NP_ATDIRECTORY", itest_env("NP_ATDIRECTORY", NP_BENCH_ATDIRECTORY), 1);
    if ((rc = itest_at_setup(&B.env, "bench-relay")) != 0 ||
        (rc = itest_at_demo(&B.env, 1, &B.demo)) != 0)
        return rc;
    if ((rc = np_rsa_from_private_b64(B.demo.ka->enc_private_b64, &B.priv_a)) != 0 ||
        (rc = np_rsa_from_private_b64(B.demo.kb->enc_private_b64, &B.priv_b)) != 0)
        return rc;
    say("atdirectory + atserver up (%s), %s %s %s provisioned", B.env.root, ITEST_ALICE, ITEST_BOB,
        ITEST_RELAY);
    return 0;
}

static void env_down(void)
{
    srvd_stop();
    at_monitor_free(B.mon);
    at_client_free(B.cli);
    if (B.tick)
        event_free(B.tick);
    if (B.base)
        event_base_free(B.base);
    np_rsa_free(B.priv_a);
    np_rsa_free(B.priv_b);
    itest_demo_free(&B.demo);
    itest_at_teardown(&B.env);
}

/* fds srvd needs for n idle pairs in `sessions` sessions (it inherits our
 * limit): 2 sockets per idle pair (a direction holds a splice pipe only
 * while it moves bytes), 2 listeners per session, its pipe pool (at most
 * 64 pipes) and a few of its own. */
static long nofile_need(long n, long sessions)
{
    return 2 * n + 2 * sessions + 2 * 64 + 64;
}

/* Fit the idle pair count to RLIMIT_NOFILE; loud when reduced. */
static long fit_pairs(long want, long per_session)
{
    long have = 0, n = want;

    if (bench_io_raise_nofile(nofile_need(want, (want + per_session - 1) / per_session), &have) ==
        0)
        return want;
    while (n > 0 && nofile_need(n, (n + per_session - 1) / per_session) > have)
        n--;
    printf("nofile_limited=1\n");
    fprintf(stderr,
            "np_bench_relay: RLIMIT_NOFILE hard limit %ld is too low for %ld idle pairs (need "
            "%ld); ONLY %ld pairs measured (raise it with ulimit -Hn; needs CAP_SYS_RESOURCE)\n",
            have, want, nofile_need(want, (want + per_session - 1) / per_session), n);
    return n;
}

/* ---- idle pairs ----------------------------------------------------------
 * Each session's pairs are opened and then held by a child process of ours
 * (a "holder"), so that this process never needs more than a few
 * descriptors however many pairs there are (the RLIMIT_NOFILE of one
 * process may be far below 2 per pair). A holder reports how many pairs it
 * opened and pinged, then waits until its control pipe closes (or this
 * process dies: PR_SET_PDEATHSIG) and exits, closing its sockets. */

struct holder {
    pid_t pid;
    int ctl; /* write end; closing it ends the holder */
};

struct idle_set {
    struct holder *h;
    long nh;
    long n; /* pairs open */
    long peak_rss;
};

static void idle_close(struct idle_set *is)
{
    for (long i = 0; i < is->nh; i++)
        close(is->h[i].ctl);
    for (long i = 0; i < is->nh; i++)
        itest_stop(is->h[i].pid, 10000, NULL); /* it exits on EOF; SIGTERM/KILL if not */
    np_free(is->h);
    memset(is, 0, sizeof(*is));
}

/* Child: open k pinged pairs of s, report the count on st, hold them until
 * ctl reads EOF. Never returns. */
static void holder_main(const struct sess *s, long k, int ctl, int st)
{
    unsigned char c;
    long n = 0;
    int lo = ctl < st ? ctl : st, hi = ctl < st ? st : ctl;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* only our two pipe ends: no copies of the parent's sockets or of the
     * other holders' control pipes */
    if (lo > 3)
        close_range(3, (unsigned)lo - 1, 0);
    if (hi > lo + 1)
        close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
    close_range((unsigned)hi + 1, ~0u, 0);
    for (; n < k; n++) {
        int a, b;
        int rc = pair_open(s, 1, &a, &b);
        if (rc != 0) {
            fprintf(stderr, "np_bench_relay: pair %ld of session %s: %s\n", n, s->sid,
                    np_strerror(rc));
            break;
        }
    }
    if (write(st, &n, sizeof(n)) != (ssize_t)sizeof(n))
        _exit(1);
    while (read(ctl, &c, 1) < 0 && errno == EINTR)
        ;
    _exit(0);
}

/* Read exactly n bytes from a pipe within ms. */
static int read_pipe(int fd, void *p, size_t n, int ms)
{
    unsigned char *b = p;
    int64_t end = np_mono_ms() + ms;

    while (n > 0) {
        struct pollfd pf = {fd, POLLIN, 0};
        int64_t left = end - np_mono_ms();
        ssize_t r;
        if (left <= 0)
            return NP_ERR_TIMEOUT;
        if (poll(&pf, 1, (int)left) < 0 && errno != EINTR)
            return NP_ERR_IO;
        if (!pf.revents)
            continue;
        if ((r = read(fd, b, n)) == 0)
            return NP_ERR_EOF;
        if (r < 0 && errno != EINTR && errno != EAGAIN)
            return NP_ERR_IO;
        if (r > 0) {
            b += r;
            n -= (size_t)r;
        }
    }
    return 0;
}

static int holder_start(struct idle_set *is, const struct sess *s, long k)
{
    struct holder *h = &is->h[is->nh];
    int ctl[2], st[2], rc;
    long got = -1;

    if (pipe2(ctl, O_CLOEXEC) != 0)
        return NP_ERR_IO;
    if (pipe2(st, O_CLOEXEC) != 0) {
        close(ctl[0]);
        close(ctl[1]);
        return NP_ERR_IO;
    }
    fflush(NULL);
    h->pid = fork();
    if (h->pid == 0) {
        close(ctl[1]);
        close(st[0]);
        holder_main(s, k, ctl[0], st[1]);
    }
    close(ctl[0]);
    close(st[1]);
    if (h->pid < 0) {
        close(ctl[1]);
        close(st[0]);
        return NP_ERR_IO;
    }
    h->ctl = ctl[1];
    is->nh++;
    /* its report (a pipe: read(2), not recv): at most IO_WAIT_MS */
    rc = read_pipe(st[0], &got, sizeof(got), IO_WAIT_MS);
    close(st[0]);
    if (rc != 0)
        return rc;
    is->n += got;
    return got == k ? 0 : NP_ERR_IO;
}

/* Open n pinged pairs, per_session per session; *sessions gets the count. */
static int idle_open(struct idle_set *is, long n, long per_session, long *sessions)
{
    long nsess = (n + per_session - 1) / per_session;
    int rc = 0;

    memset(is, 0, sizeof(*is));
    *sessions = 0;
    if ((is->h = np_calloc((size_t)nsess + 1, sizeof(*is->h))) == NULL)
        return NP_ERR_NOMEM;
    while (is->n < n) {
        struct sess s;
        long k = n - is->n < per_session ? n - is->n : per_session;
        long before = is->n;
        if ((rc = request(&s)) != 0)
            break;
        (*sessions)++;
        rc = holder_start(is, &s, k);
        sess_clear(&s);
        if (rc != 0) {
            fprintf(stderr, "np_bench_relay: holder of session %ld: %s\n", *sessions,
                    np_strerror(rc));
            break;
        }
        if (is->n / 1000 != before / 1000) {
            long rss = bench_io_rss_kb(B.srvd_pid);
            if (rss > is->peak_rss)
                is->peak_rss = rss;
            say("%ld idle pairs open (srvd RSS %ld KiB, %ld fds)", is->n, rss,
                bench_io_fd_count(B.srvd_pid));
        }
    }
    return rc;
}

/* Wait until srvd holds at most `fds` descriptors (sessions closed). */
static int wait_fds(long fds, int ms)
{
    int64_t end = np_mono_ms() + ms;

    while (bench_io_fd_count(B.srvd_pid) > fds) {
        if (np_mono_ms() >= end)
            return NP_ERR_TIMEOUT;
        event_base_loop(B.base, EVLOOP_ONCE); /* keep our client serviced meanwhile */
    }
    return 0;
}

static void settle(int ms)
{
    int64_t end = np_mono_ms() + ms;

    while (np_mono_ms() < end)
        event_base_loop(B.base, EVLOOP_ONCE);
}

/* ---- relay: throughput, round trips, idle RSS ---------------------------- */

/* One throughput measurement. */
struct tp_res {
    long pairs;
    uint64_t bytes;
    double secs;
    long srvd_cpu_ms, sender_cpu_ms, sink_cpu_ms;
};

static int throughput(long pairs, uint64_t total, struct tp_res *res)
{
    struct sess s;
    int fds[BENCH_IO_MAX_CONNS], fdb[BENCH_IO_MAX_CONNS];
    long n = 0;
    double secs = 0;
    long cpu0, cpu1, snd0, snd1, sink_cpu = -1;
    uint64_t each = total / (uint64_t)pairs;
    pid_t sink = -1;
    int rc = 0, rc2;

    memset(res, 0, sizeof(*res));
    memset(&s, 0, sizeof(s));
    for (; n < pairs; n++) {
        if ((rc = request(&s)) != 0 || (rc = pair_open(&s, 0, &fds[n], &fdb[n])) != 0)
            break;
        sess_clear(&s);
    }
    sess_clear(&s);
    /* the sinks in their own process, as np_bench_pump sink for direct */
    if (rc == 0)
        rc = bench_io_sink_fork(fdb, (size_t)n, &sink);
    for (long i = 0; i < n; i++)
        close(fdb[i]);
    cpu0 = bench_io_cpu_ms(B.srvd_pid);
    snd0 = bench_io_self_cpu_ms();
    if (rc == 0)
        rc = bench_io_throughput(fds, (size_t)n, each, IO_WAIT_MS, &secs);
    snd1 = bench_io_self_cpu_ms();
    cpu1 = bench_io_cpu_ms(B.srvd_pid);
    for (long i = 0; i < n; i++)
        close(fds[i]); /* the sinks see EOF through srvd and end */
    if ((rc2 = bench_io_child_wait(sink, IO_WAIT_MS, &sink_cpu)) != 0 && rc == 0)
        rc = rc2;
    if (rc != 0) {
        fprintf(stderr, "np_bench_relay: throughput over %ld pair(s): %s\n", pairs,
                np_strerror(rc));
        return rc;
    }
    res->pairs = n;
    res->bytes = each * (uint64_t)n;
    res->secs = secs;
    res->srvd_cpu_ms = cpu1 - cpu0;
    res->sender_cpu_ms = snd1 - snd0;
    res->sink_cpu_ms = sink_cpu;
    say("%ld pair(s): %llu bytes in %.3f s, srvd CPU %ld ms", n, (unsigned long long)res->bytes,
        secs, res->srvd_cpu_ms);
    return 0;
}

static double tp_mbps(const struct tp_res *r)
{
    return r->secs > 0 ? (double)r->bytes / r->secs / 1e6 : 0.0;
}

static void tp_print(const char *name, const struct tp_res *r)
{
    printf("%s_pairs=%ld\n%s_bytes=%llu\n%s_seconds=%.6f\n%s_mbps=%.1f\n%s_srvd_cpu_ms=%ld\n"
           "%s_sender_cpu_ms=%ld\n%s_sink_cpu_ms=%ld\n",
           name, r->pairs, name, (unsigned long long)r->bytes, name, r->secs, name, tp_mbps(r),
           name, r->srvd_cpu_ms, name, r->sender_cpu_ms, name, r->sink_cpu_ms);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;

    return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Median of each figure of n runs (each sorted on its own). */
static void tp_median(const struct tp_res *runs, size_t n, struct tp_res *m)
{
    double secs[MAX_REPEAT];
    long c[3][MAX_REPEAT];

    for (size_t i = 0; i < n; i++) {
        secs[i] = runs[i].secs;
        c[0][i] = runs[i].srvd_cpu_ms;
        c[1][i] = runs[i].sender_cpu_ms;
        c[2][i] = runs[i].sink_cpu_ms;
    }
    qsort(secs, n, sizeof(double), cmp_dbl);
    for (int k = 0; k < 3; k++)
        qsort(c[k], n, sizeof(long), cmp_long);
    *m = runs[0];
    m->secs = secs[n / 2];
    m->srvd_cpu_ms = c[0][n / 2];
    m->sender_cpu_ms = c[1][n / 2];
    m->sink_cpu_ms = c[2][n / 2];
}

/* The 1-pair throughput `repeat` times (a session each): every run as
 * srvd_tp1_run<k>_*, and srvd_tp1_* the median of each figure. */
static int throughput_1pair(uint64_t bytes, long repeat)
{
    struct tp_res runs[MAX_REPEAT], m;
    char name[32];
    int rc;

    for (long k = 0; k < repeat; k++) {
        if ((rc = throughput(1, bytes, &runs[k])) != 0)
            return rc;
        snprintf(name, sizeof(name), "srvd_tp1_run%ld", k + 1);
        if (repeat > 1)
            tp_print(name, &runs[k]);
    }
    tp_median(runs, (size_t)repeat, &m);
    printf("srvd_tp1_runs=%ld\n", repeat);
    tp_print("srvd_tp1", &m);
    return 0;
}

static int rtt(long count)
{
    struct sess s;
    double *smp = NULL, mean = 0;
    pid_t sink = -1;
    int a = -1, b = -1, rc, rc2;

    if ((smp = np_calloc((size_t)count, sizeof(double))) == NULL)
        return NP_ERR_NOMEM;
    if ((rc = request(&s)) != 0 || (rc = pair_open(&s, 0, &a, &b)) != 0)
        goto out;
    rc = bench_io_sink_fork(&b, 1, &sink); /* as np_bench_pump sink for direct */
    close(b);
    if (rc != 0)
        goto out;
    if ((rc = bench_io_rtt(a, (size_t)count, IO_WAIT_MS, smp)) != 0)
        goto out;
    for (long i = 0; i < count; i++)
        mean += smp[i];
    printf(
        "srvd_rtt_count=%ld\nsrvd_rtt_p50_us=%.1f\nsrvd_rtt_p99_us=%.1f\nsrvd_rtt_mean_us=%.1f\n",
        count, bench_io_percentile(smp, (size_t)count, 50),
        bench_io_percentile(smp, (size_t)count, 99), mean / (double)count);
out:
    if (a >= 0)
        close(a);
    if ((rc2 = bench_io_child_wait(sink, IO_WAIT_MS, NULL)) != 0 && rc == 0)
        rc = rc2;
    if (rc != 0)
        fprintf(stderr, "np_bench_relay: round trips: %s\n", np_strerror(rc));
    sess_clear(&s);
    np_free(smp);
    return rc;
}

static int idle_rss(long want, long per_session)
{
    struct idle_set is;
    long n = fit_pairs(want, per_session), sessions = 0, rss0, fd0, rss, fds;
    int rc;

    srvd_stop();
    if ((rc = srvd_start(30000)) != 0)
        return rc;
    settle(SETTLE_MS);
    rss0 = bench_io_rss_kb(B.srvd_pid);
    fd0 = bench_io_fd_count(B.srvd_pid);
    say("fresh srvd: RSS %ld KiB, %ld fds; opening %ld idle pairs", rss0, fd0, n);
    rc = idle_open(&is, n, per_session, &sessions);
    if (rc == 0) {
        settle(SETTLE_MS);
        rss = bench_io_rss_kb(B.srvd_pid);
        fds = bench_io_fd_count(B.srvd_pid);
        printf("idle_pairs=%ld\nidle_sessions=%ld\nsrvd_rss_start_kb=%ld\nsrvd_fds_start=%ld\n"
               "srvd_rss_idle_kb=%ld\nsrvd_fds_idle=%ld\n",
               is.n, sessions, rss0, fd0, rss, fds);
        say("%ld idle pairs in %ld sessions: srvd RSS %ld KiB, %ld fds", is.n, sessions, rss, fds);
    }
    idle_close(&is);
    return rc;
}

/* ---- load ------------------------------------------------------------------ */

/* One session set up and torn down: 16 bytes each way through one pair. */
static int one_cycle(void)
{
    struct sess s;
    unsigned char out[16], in[16];
    int a = -1, b = -1, rc;

    memset(out, 'a', sizeof(out));
    if ((rc = request(&s)) != 0 || (rc = pair_open(&s, 0, &a, &b)) != 0 ||
        (rc = bench_io_write_all(a, out, sizeof(out), IO_WAIT_MS)) != 0 ||
        (rc = bench_io_read_all(b, in, sizeof(in), IO_WAIT_MS)) != 0 ||
        (rc = bench_io_write_all(b, in, sizeof(in), IO_WAIT_MS)) != 0 ||
        (rc = bench_io_read_all(a, in, sizeof(in), IO_WAIT_MS)) != 0)
        goto out;
    if (memcmp(in, out, sizeof(in)) != 0)
        rc = NP_ERR_PROTO;
out:
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
    sess_clear(&s);
    return rc;
}

/* One round of n idle pairs: open them (peak), close them, wait until
 * srvd is back at fd0 descriptors (end). */
struct round {
    long pairs, sessions, rss_peak, fds_peak, rss_end, fds_end;
};

static int idle_round(const struct opts *o, long n, long fd0, struct round *rd)
{
    struct idle_set is;
    int rc;

    memset(rd, 0, sizeof(*rd));
    rc = idle_open(&is, n, o->per_session, &rd->sessions);
    rd->pairs = is.n;
    if (rc == 0) {
        settle(SETTLE_MS);
        rd->rss_peak = bench_io_rss_kb(B.srvd_pid);
        rd->fds_peak = bench_io_fd_count(B.srvd_pid);
        if (is.peak_rss > rd->rss_peak)
            rd->rss_peak = is.peak_rss;
        say("peak: %ld idle pairs in %ld sessions: srvd RSS %ld KiB, %ld fds", rd->pairs,
            rd->sessions, rd->rss_peak, rd->fds_peak);
    }
    idle_close(&is);
    if (rc != 0)
        return rc;
    if (wait_fds(fd0, (int)o->grace_ms + 30000) != 0)
        say("srvd still holds more fds than at the start");
    settle(SETTLE_MS);
    rd->rss_end = bench_io_rss_kb(B.srvd_pid);
    rd->fds_end = bench_io_fd_count(B.srvd_pid);
    say("all closed: srvd RSS %ld KiB, %ld fds", rd->rss_end, rd->fds_end);
    return 0;
}

static int load(const struct opts *o)
{
    struct round r1, r2;
    long n = fit_pairs(o->idle, o->per_session);
    long rss0, fd0, rss1, fd1, tol = (long)o->rss_tol_kb;
    int64_t t;
    double secs;
    int rc, pass, back;

    if ((rc = srvd_start((int)o->grace_ms)) != 0)
        return rc;
    /* start level: after one warm-up session (shared keys, key cache and
     * one-time library allocations exist from then on) has gone again */
    fd0 = bench_io_fd_count(B.srvd_pid);
    if ((rc = one_cycle()) != 0 || (rc = wait_fds(fd0, (int)o->grace_ms + 15000)) != 0) {
        fprintf(stderr, "np_bench_relay: warm-up session: %s\n", np_strerror(rc));
        return rc;
    }
    settle(SETTLE_MS);
    rss0 = bench_io_rss_kb(B.srvd_pid);
    fd0 = bench_io_fd_count(B.srvd_pid);
    say("start (after a warm-up session): srvd RSS %ld KiB, %ld fds", rss0, fd0);

    t = np_mono_ms();
    for (long i = 0; i < o->loop; i++) {
        if ((rc = one_cycle()) != 0) {
            fprintf(stderr, "np_bench_relay: load cycle %ld: %s\n", i, np_strerror(rc));
            return rc;
        }
        if ((i + 1) % 500 == 0)
            say("%ld sessions set up and torn down (srvd RSS %ld KiB, %ld fds)", i + 1,
                bench_io_rss_kb(B.srvd_pid), bench_io_fd_count(B.srvd_pid));
    }
    secs = (double)(np_mono_ms() - t) / 1000.0;
    printf("loop_sessions=%lld\nloop_seconds=%.3f\nloop_rate=%.1f\n", (long long)o->loop, secs,
           secs > 0 ? (double)o->loop / secs : 0.0);
    /* the last sessions close when their grace period ends */
    if (wait_fds(fd0, (int)o->grace_ms + 15000) != 0)
        say("sessions of the loop still open after the grace period");
    settle(SETTLE_MS);
    rss1 = bench_io_rss_kb(B.srvd_pid);
    fd1 = bench_io_fd_count(B.srvd_pid);
    say("after the loop (%.1f s): srvd RSS %ld KiB, %ld fds", secs, rss1, fd1);

    /* two identical peaks: the first may leave a high-water mark (heap
     * pages pinned by libevent's per-descriptor entries, which live until
     * the event base goes), the second must not add to it */
    if ((rc = idle_round(o, n, fd0, &r1)) != 0 || (rc = idle_round(o, n, fd0, &r2)) != 0)
        return rc;
    back = r1.fds_end == fd0 && r1.rss_end <= rss0 + tol;
    pass = fd1 == fd0 && r1.fds_end == fd0 && r2.fds_end == fd0 && rss1 <= rss0 + tol &&
           r2.rss_end <= r1.rss_end + tol;
    say("end: srvd RSS %ld KiB, %ld fds -> %s", r2.rss_end, r2.fds_end, pass ? "PASS" : "FAIL");
    if (o->linger_ms > 0) { /* for a look at srvd (/proc/<pid>/smaps) by hand */
        say("srvd pid %d stays up %lld ms (--linger-ms)", (int)B.srvd_pid, (long long)o->linger_ms);
        settle((int)o->linger_ms);
    }
    printf("rss_start_kb=%ld\nfds_start=%ld\nrss_after_loop_kb=%ld\nfds_after_loop=%ld\n"
           "idle_pairs=%ld\nidle_sessions=%ld\nrss_peak_kb=%ld\nfds_peak=%ld\n"
           "rss_end_kb=%ld\nfds_end=%ld\nrss_peak2_kb=%ld\nrss_end2_kb=%ld\nfds_end2=%ld\n"
           "rss_tolerance_kb=%ld\nrss_back_to_start=%d\npass=%d\n",
           rss0, fd0, rss1, fd1, r1.pairs, r1.sessions, r1.rss_peak, r1.fds_peak, r1.rss_end,
           r1.fds_end, r2.rss_peak, r2.rss_end, r2.fds_end, tol, back, pass);
    return 0;
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: np_bench_relay relay [--bytes N[K|M|G]] [--pairs P] [--rtt N] "
                    "[--idle N] [--per-session K] [--nice N] [--repeat R]\n"
                    "       np_bench_relay load [--loop L] [--idle N] [--per-session K] "
                    "[--grace-ms MS] [--rss-tolerance-kb T] [--linger-ms MS]\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"bytes", required_argument, NULL, 'b'},
        {"pairs", required_argument, NULL, 'p'},
        {"rtt", required_argument, NULL, 'r'},
        {"idle", required_argument, NULL, 'i'},
        {"per-session", required_argument, NULL, 'k'},
        {"loop", required_argument, NULL, 'l'},
        {"grace-ms", required_argument, NULL, 'g'},
        {"rss-tolerance-kb", required_argument, NULL, 't'},
        {"linger-ms", required_argument, NULL, 'z'},
        {"nice", required_argument, NULL, 'n'},
        {"repeat", required_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    int c, bad = 0;

    memset(o, 0, sizeof(*o));
    o->bytes = 1u << 30;
    o->pairs = 64;
    o->repeat = 1;
    o->rtt = 10000;
    o->idle = 10000;
    o->per_session = 100;
    o->loop = 2000;
    o->grace_ms = 2000;
    o->rss_tol_kb = 2048;
    if (argc < 2)
        return NP_ERR_INVAL;
    o->cmd = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'b':
            bad |= bench_io_parse_size(optarg, &o->bytes) != 0 || o->bytes == 0;
            break;
        case 'p':
            bad |= np_parse_i64(optarg, 1, BENCH_IO_MAX_CONNS, &o->pairs) != 0;
            break;
        case 'r':
            bad |= np_parse_i64(optarg, 0, BENCH_IO_MAX_SAMPLES, &o->rtt) != 0;
            break;
        case 'i':
            bad |= np_parse_i64(optarg, 0, 1000000, &o->idle) != 0;
            break;
        case 'k':
            bad |= np_parse_i64(optarg, 1, 100000, &o->per_session) != 0;
            break;
        case 'l':
            bad |= np_parse_i64(optarg, 0, 10000000, &o->loop) != 0;
            break;
        case 'g':
            bad |= np_parse_i64(optarg, 100, 600000, &o->grace_ms) != 0;
            break;
        case 't':
            bad |= np_parse_i64(optarg, 0, 10000000, &o->rss_tol_kb) != 0;
            break;
        case 'z':
            bad |= np_parse_i64(optarg, 0, 600000, &o->linger_ms) != 0;
            break;
        case 'n':
            bad |= np_parse_i64(optarg, 0, 19, &o->nice) != 0;
            break;
        case 'R':
            bad |= np_parse_i64(optarg, 1, MAX_REPEAT, &o->repeat) != 0;
            break;
        default:
            bad = 1;
        }
    }
    return bad || optind != argc ? NP_ERR_INVAL : 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    np_log_set_level(NP_LOG_ERROR);
    B.srvd_pid = -1;
    B.t0 = np_mono_ms();
    if (parse(argc, argv, &o) != 0 || (strcmp(o.cmd, "relay") != 0 && strcmp(o.cmd, "load") != 0)) {
        usage();
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    bench_io_nice = (int)o.nice; /* our sender and sink threads, not srvd */
    if ((rc = env_up()) != 0) {
        fprintf(stderr, "np_bench_relay: environment: %s\n", np_strerror(rc));
        goto out;
    }
    if ((rc = client_up()) != 0) {
        fprintf(stderr, "np_bench_relay: client for %s: %s\n", ITEST_ALICE, np_strerror(rc));
        goto out;
    }
    if (strcmp(o.cmd, "load") == 0) {
        rc = load(&o);
        goto out;
    }
    if ((rc = srvd_start(30000)) != 0)
        goto out;
    say("srvd up (pid %d)", (int)B.srvd_pid);
    if ((rc = throughput_1pair(o.bytes, (long)o.repeat)) != 0)
        goto out;
    if (o.pairs > 1) {
        struct tp_res res;
        if ((rc = throughput((long)o.pairs, o.bytes, &res)) != 0)
            goto out;
        tp_print("srvd_tpn", &res);
    }
    if (o.rtt > 0 && (rc = rtt((long)o.rtt)) != 0)
        goto out;
    if (o.idle > 0)
        rc = idle_rss((long)o.idle, (long)o.per_session);
out:
    if (rc != 0 && B.srvd_log[0])
        itest_dump_file("srvd log (tail)", B.srvd_log);
    env_down();
    return rc == 0 ? 0 : 1;
}
