/*
 * bench/np_bench_npd.c - sshnpd benchmark and load tool, run by
 * bench/sshnpd.sh and bench/load_at.sh against the environment of
 * tests/lib/env.sh (directory, atserver, srvd, sshnpd on 127.0.0.1).
 *
 *   np_bench_npd --root-port P --ca FILE
 *                --client @c --client-keys FILE --device @d --device-name NAME
 *                --relay @r --target-port PORT --sessions N
 *                [--direct] [--pace-ms MS]
 *                [--flood-keys FILE --flood-atsign @x] [--watch-pid PID]
 *                [--prefix NAME] [--settle-ms MS]
 *
 * Session mode (default): N real npt sessions in this one process (lib/np
 * client sessions over one lib/at client + monitor as the client atSign,
 * src/sshnp's atglue), established one after another (the next starts
 * when the previous is up, at least --pace-ms, default 300, after it):
 * each pings the daemon, asks the relay for ports, generates its
 * ephemeral RSA-2048 key, sends its signed npt_request (localhost:PORT)
 * and, once the daemon's signed answer verifies, opens its bridge through
 * srvd; no traffic is sent. They stay live until all are up. (Serial set-up
 * keeps this one process's key generations - CPU seconds each on a busy
 * machine - from stalling its atServer connection past its deadlines; real
 * clients generate their keys in parallel, one per process.)
 *
 * Direct mode (--direct): a burst. One ephemeral key is generated first;
 * then N signed npt_requests (the exact payload a client sends, each with
 * its own session id and nonces) are queued at once, naming as relay a
 * local sink listener of this tool that accepts the daemon's relay
 * connections and holds them. Each answer is checked like a client does
 * (envelope signed by public:publickey@<device>, status, session id).
 *
 * With --flood-keys, meanwhile a second atSign that is NOT a manager of the
 * daemon sends pings to it as fast as one connection allows, and a monitor
 * on that atSign counts whatever the daemon sends back (must be nothing).
 * --watch-pid: the daemon's RSS is sampled every 100 ms (before, peak,
 * with every session live, after they closed).
 *
 * Results: "ROW\t<prefix>.<metric>\t..." lines on stdout; progress on stderr.
 */
#include "np_bench_at_util.h"

#include "at/client.h"
#include "at/monitor.h"
#include "atglue.h"
#include "crypto/atkeys.h"
#include "crypto/rand.h"
#include "crypto/rsa.h"
#include "net/tcp.h"
#include "np/client_opts.h"
#include "np/client_session.h"
#include "np/envelope.h"
#include "np/messages.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_SESSIONS 1000
#define STEP_MS      100
#define SETTLE_MS    120000

struct opts {
    int root_port, target_port, sessions, direct, pace_ms, settle_ms;
    const char *ca, *client, *client_keys, *device, *device_name, *relay;
    const char *flood_keys, *flood_atsign, *prefix;
    pid_t watch;
};

struct sess {
    struct bench *b;
    struct np_client_session *s;   /* session mode */
    char sid[NP_UUID_STR_LEN + 1]; /* direct mode */
    int started, ready, done, status;
    int64_t t_sent, t_ready;
};

struct bench {
    const struct opts *o;
    struct event_base *base;
    struct atglue *g;
    struct np_client_io io;
    const struct np_rsa_key *enc; /* the client's encryption key (signs requests) */
    int mon_up;
    struct sess *ss;
    int n_started, n_ready, n_failed;
    char first_err[300];
    int64_t t0, t_last_ready;
    struct nb_samples rtt; /* direct: request queued -> answer verified */
    /* direct mode: its own client + monitor (deadlines long enough for a
     * queue of N notifies on one connection) */
    struct at_client *dc;
    struct at_monitor *dm;
    int n_sent, n_send_failed;
    struct np_rsa_key *eph, *device_key;
    char *eph_pub;
    int key_status; /* 1 fetched, < 0 failed, 0 pending */
    int sink_fd, sink_port;
    struct event *sink_ev;
    int *held;
    int n_held, cap_held;
    /* flood */
    struct at_client *fc;
    struct at_monitor *fm;
    int flood_on, flood_inflight;
    uint64_t flood_sent, flood_answers;
    /* RSS */
    long rss_peak;
    int64_t next_sample;
};

static void sample(struct bench *b)
{
    int64_t now = nb_mono_us();
    long v;

    if (b->o->watch <= 0 || now < b->next_sample)
        return;
    b->next_sample = now + STEP_MS * 1000;
    if ((v = nb_rss_kb(b->o->watch)) > b->rss_peak)
        b->rss_peak = v;
}

/* Remember the first failure: "what (detail)". */
static void fail_note(struct bench *b, const char *what, const char *detail)
{
    if (!b->first_err[0])
        snprintf(b->first_err, sizeof(b->first_err), "%s (%s)", what ? what : "?",
                 detail ? detail : "");
}

/* ---- session mode ------------------------------------------------------- */

static void ev_progress(void *data, int level, const char *msg)
{
    (void)data;
    (void)level;
    (void)msg;
}

static void ev_ready(struct np_client_session *s, const struct np_client_ready *r, void *data)
{
    struct sess *x = data;
    (void)s;
    (void)r;

    x->ready = 1;
    x->t_ready = nb_mono_us();
    x->b->n_ready++;
    x->b->t_last_ready = x->t_ready;
}

static void ev_done(struct np_client_session *s, int status, const char *message,
                    const char *detail, const char *hint, void *data)
{
    struct sess *x = data;
    (void)s;
    (void)hint;

    x->done = 1;
    x->status = status;
    if (x->ready)
        return;
    x->b->n_failed++;
    fail_note(x->b, message, detail);
}

static int session_start(struct bench *b, struct sess *x, const struct np_rsa_key *enc)
{
    const struct opts *o = b->o;
    struct np_client_config c;
    int r;

    np_client_config_init(&c);
    c.kind = NP_PROG_NPT;
    c.client_atsign = o->client;
    c.device_atsign = o->device;
    c.relay_atsign = o->relay;
    c.device = o->device_name;
    c.enc_key = enc;
    c.remote_host = "localhost";
    c.remote_port = o->target_port;
    c.npt_timeout_ms = 600000; /* held until we close them */
    c.relay_timeout_ms = c.ping_timeout_ms = c.answer_timeout_ms = 60000;
    c.io = b->io;
    c.ev.progress = ev_progress;
    c.ev.ready = ev_ready;
    c.ev.done = ev_done;
    c.ev.data = x;
    x->started = 1;
    x->t_sent = nb_mono_us();
    if ((r = np_client_session_new(b->base, &c, &x->s)) != 0 ||
        (r = np_client_session_start(x->s)) != 0) {
        nb_log("session: %s", np_strerror(r));
        np_client_session_free(x->s);
        x->s = NULL;
        x->done = 1;
        b->n_failed++;
        fail_note(b, "cannot start", np_strerror(r));
    }
    return r;
}

/* ---- direct mode: signed requests to a sink ------------------------------ */

static void sink_accept(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    (void)what;

    for (int i = 0; i < 64; i++) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
            return; /* EAGAIN or an error: try on the next wake-up */
        if (b->n_held == b->cap_held) {
            int cap = b->cap_held ? b->cap_held * 2 : 256;
            int *n = realloc(b->held, (size_t)cap * sizeof(int));
            if (!n) {
                close(c);
                return;
            }
            b->held = n;
            b->cap_held = cap;
        }
        b->held[b->n_held++] = c; /* held, never read: the daemon's bridge waits */
    }
}

static int sink_open(struct bench *b)
{
    int r;

    if ((r = net_tcp_listen("127.0.0.1", 0, 1024, &b->sink_fd)) != 0 ||
        (r = net_tcp_local_port(b->sink_fd, &b->sink_port)) != 0)
        return r;
    evutil_make_socket_nonblocking(b->sink_fd);
    if ((b->sink_ev = event_new(b->base, b->sink_fd, EV_READ | EV_PERSIST, sink_accept, b)) ==
            NULL ||
        event_add(b->sink_ev, NULL) != 0)
        return NP_ERR_NOMEM;
    return 0;
}

static void sink_release(struct bench *b)
{
    for (int i = 0; i < b->n_held; i++)
        close(b->held[i]);
    b->n_held = 0;
}

static void device_key_done(struct at_client *c, const struct at_result *r, void *data)
{
    struct bench *b = data;
    (void)c;

    if (r->err == 0 && r->value && np_rsa_from_public_b64(r->value, &b->device_key) == 0)
        b->key_status = 1;
    else
        b->key_status = r->err ? r->err : NP_ERR_FORMAT;
}

/* The atServer's answer to one request's notify. */
static void direct_sent(struct at_client *c, const struct at_result *r, void *data)
{
    struct sess *x = data;
    struct bench *b = x->b;
    (void)c;

    if (r->err == 0) {
        b->n_sent++;
        return;
    }
    b->n_send_failed++;
    if (!x->done) {
        x->done = 1;
        b->n_failed++;
        fail_note(b, "request not sent", np_strerror(r->err));
    }
}

static int direct_send(struct bench *b, struct sess *x, const struct np_rsa_key *enc)
{
    struct np_session_req q;
    char cn[NP_UUID_STR_LEN + 1], rn[NP_UUID_STR_LEN + 1], key[256];
    struct at_client_notify n;
    cJSON *payload = NULL;
    char *json = NULL;
    int r;

    memset(&q, 0, sizeof(q));
    if ((r = np_uuid4(x->sid)) != 0 || (r = np_uuid4(cn)) != 0 || (r = np_uuid4(rn)) != 0)
        goto out;
    q.npt = 1;
    q.direct = 1;
    q.session_id = x->sid;
    q.host = "127.0.0.1";
    q.port = b->sink_port;
    q.authenticate_to_rvd = 1;
    q.client_nonce = cn;
    q.rvd_nonce = rn;
    q.encrypt_rvd_traffic = 1;
    q.client_ephemeral_pk = b->eph_pub;
    q.client_ephemeral_pk_type = "rsa2048";
    q.requested_port = b->o->target_port;
    q.requested_host = "localhost";
    q.timeout_ms = 600000;
    q.twin_keys = 1;
    if ((r = np_session_req_to_json(&q, &payload)) != 0 ||
        (r = np_envelope_sign(enc, payload, &json)) != 0 ||
        (r = np_str_fmt(key, sizeof(key), "npt_request.%s.sshnp", b->o->device_name)) != 0)
        goto out;
    memset(&n, 0, sizeof(n));
    n.to = b->o->device;
    n.key = key;
    n.value = json;
    n.ttl = 10000;
    x->started = 1;
    x->t_sent = nb_mono_us();
    r = at_client_notify(b->dc, &n, direct_sent, x);
out:
    cJSON_Delete(payload);
    np_free(json);
    return r;
}

/* An answer "<to>:<sid>.<device>.sshnp<@device>" from the daemon. */
static void direct_answer(struct bench *b, const char *key, const char *value, size_t len)
{
    const char *p = strchr(key, ':'), *dot;
    struct np_envelope *env = NULL;
    struct np_session_answer *a = NULL;
    struct sess *x = NULL;
    char err[160];

    if (!p || (dot = strchr(++p, '.')) == NULL || (size_t)(dot - p) != NP_UUID_STR_LEN)
        return;
    for (int i = 0; i < b->o->sessions && !x; i++)
        if (b->ss[i].started && strncmp(b->ss[i].sid, p, NP_UUID_STR_LEN) == 0)
            x = &b->ss[i];
    if (!x || x->done)
        return;
    x->done = 1;
    if (len == 0 || value[0] != '{') {
        b->n_failed++;
        fail_note(b, "error answer", value);
        return;
    }
    if (np_envelope_parse(value, len, &env) != 0 || np_envelope_check(env, b->device_key) != 0 ||
        np_session_answer_parse(np_envelope_payload(env), &a, err, sizeof(err)) != 0 ||
        !a->status || strcmp(a->status, "connected") != 0 || !a->session_id ||
        strcmp(a->session_id, x->sid) != 0) {
        b->n_failed++;
        fail_note(b, "answer does not verify or does not match", NULL);
    } else {
        x->ready = 1;
        x->t_ready = nb_mono_us();
        b->n_ready++;
        b->t_last_ready = x->t_ready;
        nb_samples_add(&b->rtt, x->t_ready - x->t_sent);
    }
    np_session_answer_free(a);
    np_envelope_free(env);
}

/* ---- notifications to the client atSign ----------------------------------- */

static void on_glue_notification(void *data, const char *from, const char *key, const char *value,
                                 size_t len)
{
    struct bench *b = data;

    /* every session sees every notification, as separate client processes
     * with their own monitors would: the daemon's ping answers
     * (heartbeat.<device>.sshnp) carry no session id, so each waiting
     * session takes one as its feature check */
    for (int i = 0; i < b->o->sessions; i++)
        if (b->ss[i].s)
            np_client_session_notification(b->ss[i].s, from, key, value, len);
}

static void on_glue_status(void *data, int up, int err, const char *message);

static void on_direct_mon(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    struct bench *b = data;
    (void)m;

    if (n->from && strcasecmp(n->from, b->o->device) == 0 && n->key && n->value)
        direct_answer(b, n->key, n->value, n->value_len);
}

static void on_direct_status(struct at_monitor *m, int connected, int err, const char *message,
                             void *data)
{
    (void)m;
    on_glue_status(data, connected, err, message);
}

/* Direct mode: our own client and monitor as the client atSign. */
static int direct_open(struct bench *b, const struct np_atkeys *k)
{
    struct at_client_opts co;
    struct at_monitor_opts mo;
    int r;

    memset(&co, 0, sizeof(co));
    co.atsign = b->o->client;
    co.keys = k;
    co.root_host = "127.0.0.1";
    co.root_port = b->o->root_port;
    co.ca_file = b->o->ca;
    co.connect_timeout_ms = 30000;
    co.request_timeout_ms = 300000; /* counted from queueing: N notifies wait in line */
    if ((r = at_client_new(b->base, &co, &b->dc)) != 0 || (r = at_client_start(b->dc)) != 0)
        return r;
    memset(&mo, 0, sizeof(mo));
    mo.regex = "\\.sshnp@";
    mo.since_epoch_ms = -1;
    return at_monitor_start(b->dc, &mo, on_direct_mon, on_direct_status, b, &b->dm);
}

static void on_glue_status(void *data, int up, int err, const char *message)
{
    struct bench *b = data;

    b->mon_up = up;
    if (!up)
        nb_log("client monitor down: %s %s", np_strerror(err), message ? message : "");
}

/* ---- the unauthorized flood --------------------------------------------- */

static void flood_next(struct bench *b);

static void flood_cb(struct at_client *c, const struct at_result *r, void *data)
{
    struct bench *b = data;
    (void)c;

    b->flood_inflight = 0;
    if (r->err != 0) {
        b->flood_on = 0; /* the connection is gone: stop */
        nb_log("flood: notify failed: %s", np_strerror(r->err));
        return;
    }
    b->flood_sent++;
    flood_next(b);
}

static void flood_next(struct bench *b)
{
    struct at_client_notify n;
    char key[128];

    if (!b->flood_on || b->flood_inflight)
        return;
    snprintf(key, sizeof(key), "ping.%s.sshnp", b->o->device_name);
    memset(&n, 0, sizeof(n));
    n.to = b->o->device;
    n.key = key;
    n.value = "ping";
    n.ttl = 10000;
    if (at_client_notify(b->fc, &n, flood_cb, b) == 0)
        b->flood_inflight = 1;
    else
        b->flood_on = 0;
}

static void on_flood_mon(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    struct bench *b = data;
    (void)m;

    if (n->from && strcasecmp(n->from, b->o->device) == 0)
        b->flood_answers++;
}

static int flood_start(struct bench *b, const struct np_atkeys *k)
{
    struct at_client_opts co;
    struct at_monitor_opts mo;
    int r;

    memset(&co, 0, sizeof(co));
    co.atsign = b->o->flood_atsign;
    co.keys = k;
    co.root_host = "127.0.0.1";
    co.root_port = b->o->root_port;
    co.ca_file = b->o->ca;
    co.connect_timeout_ms = co.request_timeout_ms = 30000;
    if ((r = at_client_new(b->base, &co, &b->fc)) != 0 || (r = at_client_start(b->fc)) != 0)
        return r;
    memset(&mo, 0, sizeof(mo));
    mo.regex = "\\.sshnp@";
    mo.since_epoch_ms = -1;
    return at_monitor_start(b->fc, &mo, on_flood_mon, NULL, b, &b->fm);
}

/* ---- loop predicates ---------------------------------------------------- */

static int mon_ready(void *arg)
{
    struct bench *b = arg;

    sample(b);
    return b->mon_up && (!b->o->flood_keys || (b->fm && at_monitor_is_live(b->fm) && b->fc &&
                                               at_client_is_ready(b->fc)));
}

static int key_fetched(void *arg)
{
    struct bench *b = arg;

    sample(b);
    return b->key_status != 0;
}

/* Session mode: start the sessions that are due (pacing); then all settled? */
static int all_settled(void *arg)
{
    struct bench *b = arg;
    int64_t now = nb_mono_us();

    sample(b);
    /* one session at a time: the next starts once the previous one is up
     * (or failed) and pace_ms after it started */
    while (!b->o->direct && b->n_started < b->o->sessions &&
           (b->n_started == 0 || (b->ss[b->n_started - 1].ready || b->ss[b->n_started - 1].done)) &&
           (b->n_started == 0 || now >= b->ss[b->n_started - 1].t_sent + b->o->pace_ms * 1000LL))
        session_start(b, &b->ss[b->n_started++], b->enc);
    return b->n_ready + b->n_failed >= b->o->sessions;
}

static int just_sample(void *arg)
{
    sample(arg);
    return 0;
}

static int flood_idle(void *arg)
{
    struct bench *b = arg;

    sample(b);
    return !b->flood_inflight;
}

/* ---- main --------------------------------------------------------------- */

static void row(const struct bench *b, const char *metric, double v, int dec, const char *unit,
                const char *note)
{
    char name[200];

    snprintf(name, sizeof(name), "%s.%s", b->o->prefix, metric);
    nb_row(name, v, dec, unit, note);
}

static void report(struct bench *b, long before, long live, long after, long fds_live)
{
    const struct opts *o = b->o;
    char note[400];
    int64_t p50 = 0, p99 = 0;

    if (o->direct)
        snprintf(note, sizeof(note),
                 "signed npt_requests queued at once by one client connection (relay: a local "
                 "sink)");
    else
        snprintf(note, sizeof(note),
                 "real npt sessions through srvd from one client process, set up one after "
                 "another (>= %d ms apart)",
                 o->pace_ms);
    row(b, "sessions_requested", o->sessions, 0, "count", note);
    if (o->direct)
        row(b, "requests_sent", b->n_sent, 0, "count",
            "notify acknowledged by the atServer (the rest failed on the client side)");
    snprintf(note, sizeof(note), "signed answer verified%s; last %.1f s after the first request",
             o->direct ? "" : ", bridge up",
             b->t_last_ready ? (double)(b->t_last_ready - b->t0) / 1e6 : 0.0);
    row(b, "sessions_answered", b->n_ready, 0, "count", note);
    row(b, "sessions_failed", b->n_failed, 0, "count", b->first_err[0] ? b->first_err : "none");
    if (o->direct && nb_samples_pct(&b->rtt, 50, &p50) == 0 &&
        nb_samples_pct(&b->rtt, 99, &p99) == 0) {
        row(b, "answer_rtt.p50", (double)p50 / 1000.0, 1, "ms",
            "client view: request queued -> answer verified, incl. the queue of the burst");
        row(b, "answer_rtt.p99", (double)p99 / 1000.0, 1, "ms", "same");
    }
    if (o->flood_keys) {
        snprintf(note, sizeof(note), "pings from %s (not a manager), one in flight",
                 o->flood_atsign);
        row(b, "flood_pings_sent", (double)b->flood_sent, 0, "count", note);
        row(b, "flood_answers", (double)b->flood_answers, 0, "count",
            "notifications from the daemon to the flooder: must be 0");
    }
    if (o->watch > 0) {
        row(b, "rss_before", before, 0, "KiB", "sshnpd");
        row(b, "rss_peak", b->rss_peak, 0, "KiB", "sampled every 100 ms");
        snprintf(note, sizeof(note), "every session live; %ld open fds", fds_live);
        row(b, "rss_live", live, 0, "KiB", note);
        snprintf(note, sizeof(note), "%.1f s after the sessions were closed",
                 (double)o->settle_ms / 1000.0);
        row(b, "rss_after", after, 0, "KiB", note);
    }
}

static int run(const struct opts *o)
{
    struct np_atkeys *ck = NULL, *fk = NULL;
    struct np_rsa_key *enc = NULL;
    struct atglue_opts go;
    struct bench b;
    char err[512];
    long before = -1, live = -1, after = -1, fds_live = -1;
    int r;

    memset(&b, 0, sizeof(b));
    b.o = o;
    b.sink_fd = -1;
    if ((b.ss = calloc((size_t)o->sessions, sizeof(*b.ss))) == NULL ||
        (b.base = event_base_new()) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < o->sessions; i++)
        b.ss[i].b = &b;
    if ((r = np_atkeys_load(o->client_keys, &ck, err, sizeof(err))) != 0 ||
        (o->flood_keys && (r = np_atkeys_load(o->flood_keys, &fk, err, sizeof(err))) != 0)) {
        nb_log("%s", err);
        goto out;
    }
    if ((r = np_rsa_from_private_b64(ck->enc_private_b64, &enc)) != 0)
        goto out;
    b.enc = enc;
    if (o->direct) {
        if ((r = direct_open(&b, ck)) != 0) {
            nb_log("client: %s", np_strerror(r));
            goto out;
        }
    } else {
        memset(&go, 0, sizeof(go));
        go.atsign = o->client;
        go.keys = ck;
        go.root_host = "127.0.0.1";
        go.root_port = o->root_port;
        go.ca_file = o->ca;
        go.on_notification = on_glue_notification;
        go.on_status = on_glue_status;
        go.data = &b;
        if ((r = atglue_new(b.base, &go, &b.g, err, sizeof(err))) != 0) {
            nb_log("client: %s", err);
            goto out;
        }
        b.io = atglue_io(b.g);
    }
    if (o->flood_keys && (r = flood_start(&b, fk)) != 0)
        goto out;
    if ((r = nb_run_until(b.base, mon_ready, &b, 30000)) != 0) {
        nb_log("client connections did not come up");
        goto out;
    }
    if (o->direct) {
        char key[200];
        if ((r = sink_open(&b)) != 0 || (r = np_rsa_generate(&b.eph)) != 0 ||
            (r = np_rsa_public_b64(b.eph, &b.eph_pub)) != 0)
            goto out;
        snprintf(key, sizeof(key), "public:publickey%s", o->device);
        if ((r = at_client_get(b.dc, key, 0, device_key_done, &b)) != 0 ||
            (r = nb_run_until(b.base, key_fetched, &b, 30000)) != 0 ||
            (r = b.key_status < 0 ? b.key_status : 0) != 0) {
            nb_log("cannot get %s: %s", key, np_strerror(r));
            goto out;
        }
    }
    if (o->watch > 0)
        before = b.rss_peak = nb_rss_kb(o->watch);

    /* the burst (direct) or the paced sessions, and the flood */
    b.t0 = nb_mono_us();
    if (o->flood_keys) {
        b.flood_on = 1;
        flood_next(&b);
    }
    if (o->direct) {
        for (int i = 0; i < o->sessions; i++)
            if ((r = direct_send(&b, &b.ss[i], enc)) != 0) {
                nb_log("request %d: %s", i, np_strerror(r));
                goto out;
            }
        b.n_started = o->sessions;
    }
    nb_log("%d %s%s", o->sessions, o->direct ? "signed requests queued" : "sessions, paced",
           o->flood_keys ? ", with the ping flood" : "");
    if (nb_run_until(b.base, all_settled, &b,
                     o->direct ? SETTLE_MS : SETTLE_MS / 2 + o->sessions * 5000) != 0)
        nb_log("sessions did not settle: %d answered, %d failed", b.n_ready, b.n_failed);
    b.flood_on = 0;
    nb_log("%d answered, %d failed in %.1f s%s%s", b.n_ready, b.n_failed,
           (double)(nb_mono_us() - b.t0) / 1e6, b.first_err[0] ? "; first error: " : "",
           b.first_err);
    /* hold: let the daemon's bridges finish their relay handshakes */
    nb_run_until(b.base, just_sample, &b, o->settle_ms / 2);
    if (o->watch > 0) {
        live = nb_rss_kb(o->watch);
        fds_live = nb_fd_count(o->watch);
    }
    if (o->flood_keys) {
        nb_run_until(b.base, flood_idle, &b, 30000);
        nb_run_until(b.base, just_sample, &b, o->settle_ms / 2); /* late answers */
    }
    for (int i = 0; i < o->sessions; i++) {
        np_client_session_free(b.ss[i].s);
        b.ss[i].s = NULL;
    }
    sink_release(&b);
    nb_run_until(b.base, just_sample, &b, o->settle_ms); /* the daemon ends its bridges */
    if (o->watch > 0)
        after = nb_rss_kb(o->watch);
    report(&b, before, live, after, fds_live);
    r = b.n_ready > 0 ? 0 : NP_ERR_TIMEOUT;
out:
    if (b.ss)
        for (int i = 0; i < o->sessions; i++)
            np_client_session_free(b.ss[i].s);
    sink_release(&b);
    if (b.sink_ev)
        event_free(b.sink_ev);
    if (b.sink_fd >= 0)
        close(b.sink_fd);
    free(b.held);
    at_monitor_free(b.fm);
    at_client_free(b.fc);
    at_monitor_free(b.dm);
    at_client_free(b.dc);
    atglue_free(b.g);
    if (b.base)
        event_base_free(b.base);
    free(b.ss);
    nb_samples_free(&b.rtt);
    np_rsa_free(b.eph);
    np_rsa_free(b.device_key);
    np_free(b.eph_pub);
    np_rsa_free(enc);
    np_atkeys_free(ck);
    np_atkeys_free(fk);
    return r;
}

static void usage(void)
{
    fprintf(stderr, "usage: np_bench_npd --root-port P --ca FILE --client @c --client-keys FILE\n"
                    "         --device @d --device-name NAME --relay @r --target-port PORT\n"
                    "         --sessions N [--direct] [--pace-ms MS]\n"
                    "         [--flood-atsign @x --flood-keys FILE]\n"
                    "         [--watch-pid PID] [--prefix NAME] [--settle-ms MS]\n");
}

int main(int argc, char **argv)
{
    struct opts o;
    int r;

    memset(&o, 0, sizeof(o));
    o.prefix = "sshnpd";
    o.pace_ms = 300;
    o.settle_ms = 3000;
    np_log_set_level(NP_LOG_WARN);
    net_ignore_sigpipe();
    nb_log_tag("np_bench_npd");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--direct") == 0) {
            o.direct = 1;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--root-port") == 0)
            o.root_port = (int)nb_arg_long(a, v, 65535);
        else if (strcmp(a, "--target-port") == 0)
            o.target_port = (int)nb_arg_long(a, v, 65535);
        else if (strcmp(a, "--sessions") == 0)
            o.sessions = (int)nb_arg_long(a, v, MAX_SESSIONS);
        else if (strcmp(a, "--pace-ms") == 0)
            o.pace_ms = (int)nb_arg_long(a, v, 60000);
        else if (strcmp(a, "--settle-ms") == 0)
            o.settle_ms = (int)nb_arg_long(a, v, 60000);
        else if (strcmp(a, "--watch-pid") == 0)
            o.watch = (pid_t)nb_arg_long(a, v, 1L << 30);
        else if (strcmp(a, "--ca") == 0)
            o.ca = v;
        else if (strcmp(a, "--client") == 0)
            o.client = v;
        else if (strcmp(a, "--client-keys") == 0)
            o.client_keys = v;
        else if (strcmp(a, "--device") == 0)
            o.device = v;
        else if (strcmp(a, "--device-name") == 0)
            o.device_name = v;
        else if (strcmp(a, "--relay") == 0)
            o.relay = v;
        else if (strcmp(a, "--flood-keys") == 0)
            o.flood_keys = v;
        else if (strcmp(a, "--flood-atsign") == 0)
            o.flood_atsign = v;
        else if (strcmp(a, "--prefix") == 0)
            o.prefix = v;
        else {
            usage();
            return 2;
        }
    }
    if (!o.root_port || !o.target_port || !o.sessions || !o.ca || !o.client || !o.client_keys ||
        !o.device || !o.device_name || !o.relay || (!o.flood_keys != !o.flood_atsign)) {
        usage();
        return 2;
    }
    r = run(&o);
    if (r != 0)
        nb_log("failed: %s", np_strerror(r));
    return r == 0 ? 0 : 1;
}
