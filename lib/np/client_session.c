/*
 * lib/np/client_session.c - the sshnp / npt session state machine: start,
 * incoming notifications (relay answer, NACK, ping answer, daemon answer),
 * lookups, timers and the deferred ready/done reports. The session request,
 * the answer and the bridge are in client_answer.c. See client_session.h.
 */
#include "np/client_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "at/atsign.h"
#include "crypto/aes.h"
#include "crypto/rsa.h"
#include "np/bridge.h"
#include "np/client_int.h"
#include "np/client_opts.h"
#include "np/device.h"
#include "np/messages.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#define KEY_MAX 512

/* ------------------------------------------------------------ reporting */

void np_client__progress(struct np_client_session *s, int level, const char *fmt, ...)
{
    char msg[CS_DETAIL_MAX];
    va_list ap;

    if (!s->ev.progress)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s->ev.progress(s->ev.data, level, msg);
}

static void stop_timers(struct np_client_session *s)
{
    evtimer_del(s->relay_timer);
    evtimer_del(s->ping_timer);
    evtimer_del(s->answer_timer);
    event_del(s->keygen_ev);
}

static void cancel_gets(struct np_client_session *s)
{
    if (s->gets > 0 && s->io.cancel)
        s->io.cancel(s->io.data, s);
    s->gets = 0;
}

void np_client__fail(struct np_client_session *s, int status, const char *msg, const char *detail,
                     const char *hint)
{
    if (s->state == CS_DONE || s->done_pending)
        return;
    stop_timers(s);
    cancel_gets(s);
    if (s->bridge) {
        np_bridge_free(s->bridge);
        s->bridge = NULL;
    }
    s->state = CS_DONE;
    s->done_pending = 1;
    s->done_status = status;
    snprintf(s->msg, sizeof(s->msg), "%s", msg ? msg : "");
    snprintf(s->detail, sizeof(s->detail), "%s", detail ? detail : "");
    snprintf(s->hint, sizeof(s->hint), "%s", hint ? hint : "");
    event_active(s->report_ev, EV_TIMEOUT, 0);
}

void np_client__report_ready(struct np_client_session *s)
{
    s->ready_pending = 1;
    event_active(s->report_ev, EV_TIMEOUT, 0);
}

static void report_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_client_session *s = arg;
    struct np_client_ready r;

    (void)fd;
    (void)what;
    if (s->ready_pending) {
        s->ready_pending = 0;
        if (s->done_pending) /* deliver done next, unless ready frees us */
            event_active(s->report_ev, EV_TIMEOUT, 0);
        if (!s->ev.ready)
            return;
        memset(&r, 0, sizeof(r));
        r.local_port = s->stdio || !s->bridge ? 0 : np_bridge_local_port(s->bridge);
        r.local_host = s->local_host;
        r.remote_user = s->remote_user;
        r.session_id = s->sid;
        r.relay_host = s->relay_ans ? s->relay_ans->address : NULL;
        r.relay_port = s->relay_ans ? s->relay_ans->port_a : 0;
        r.twin_keys = s->twin;
        s->ev.ready(s, &r, s->ev.data); /* may free s */
        return;
    }
    if (s->done_pending) {
        s->done_pending = 0;
        s->ev.done(s, s->done_status, s->msg, s->detail, s->hint, s->ev.data); /* may free s */
    }
}

/* --------------------------------------------------------------- timers */

static void relay_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_client_session *s = arg;
    char msg[CS_MSG_MAX];

    (void)fd;
    (void)what;
    snprintf(msg, sizeof(msg), "Connection timeout to srvd %s service", s->relay);
    np_client__fail(s, NP_ERR_TIMEOUT, msg, NULL,
                    "Check the relay atSign (-r) and that its srvd is running and connected to "
                    "its atServer; the relay must also accept requests from the -f atSign.");
}

static void ping_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_client_session *s = arg;

    (void)fd;
    (void)what;
    if (s->info)
        return;
    s->ping_timed_out = 1; /* reported once the relay has answered (relay first) */
    np_client__maybe_request(s);
}

static void answer_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_client_session *s = arg;

    (void)fd;
    (void)what;
    np_client__fail(s, NP_ERR_TIMEOUT, "No response from the device daemon", NULL,
                    "The daemon answered the ping but not the session request: check its log "
                    "(permit-open for this host:port, reaching the relay, key changes).");
}

static void keygen_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_client_session *s = arg;
    int r;

    (void)fd;
    (void)what;
    if (s->state != CS_WAIT)
        return;
    if (!s->eph && s->eph_take) { /* being made by the caller meanwhile */
        struct np_rsa_key *k = NULL;

        r = s->eph_take(s->eph_take_data, &k);
        if (r == NP_AGAIN)
            return; /* np_client_session_eph_ready() comes back here */
        s->eph_take = NULL;
        s->eph = r == 0 ? k : NULL;
    }
    if (s->eph) { /* made by the caller */
        np_client__maybe_request(s);
        return;
    }
    if ((r = np_rsa_generate_session(&s->eph)) != 0) {
        np_client__fail(s, r, "Cannot generate the session key pair", np_strerror(r), NULL);
        return;
    }
    np_client__progress(s, NP_LOG_DEBUG, "Generated the ephemeral RSA-2048 session key pair");
    np_client__maybe_request(s);
}

void np_client_session_eph_ready(struct np_client_session *s)
{
    if (s && !s->eph && s->eph_take && s->keygen_armed)
        keygen_cb(-1, 0, s);
}

static void arm(struct event *ev, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(ev, &tv);
}

/* ------------------------------------------------------------ public API */

void np_client_config_init(struct np_client_config *c)
{
    memset(c, 0, sizeof(*c));
    c->kind = NP_PROG_SSHNP;
    c->authenticate_client = 1;
    c->authenticate_device = 1;
    c->relay_auth_mode = NP_RELAY_AUTH_PAYLOAD;
    c->remote_host = "localhost";
    c->npt_timeout_ms = NP_CLIENT_NPT_DEFAULT_MS;
    c->stdio_fd = -1;
}

static int dup_or_null(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    return (*dst = np_strdup(src)) ? 0 : NP_ERR_NOMEM;
}

int np_client_session_new(struct event_base *base, const struct np_client_config *c,
                          struct np_client_session **out)
{
    struct np_client_session *s = NULL;
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!base || !c || (c->kind != NP_PROG_SSHNP && c->kind != NP_PROG_NPT) || !c->client_atsign ||
        !c->device_atsign || !c->relay_atsign || !c->device || !c->enc_key || !c->io.notify ||
        !c->io.get || !c->ev.done || c->local_port < 0 || c->local_port > 65535 ||
        np_device_name_valid(c->device) != 0 ||
        (c->kind == NP_PROG_NPT && (c->remote_port < 1 || c->remote_port > 65535 ||
                                    c->npt_timeout_ms <= 0 || c->npt_timeout_ms > INT32_MAX)) ||
        (c->remote_user && !np_client__valid_user(c->remote_user)) || c->heartbeat_ms < 0)
        return NP_ERR_INVAL;
    if (c->relay_auth_mode == NP_RELAY_AUTH_ESCR && c->authenticate_client &&
        (!c->pkam_key || !c->sk_uri))
        return NP_ERR_UNSUPPORTED;
    if ((s = np_calloc(1, sizeof(*s))) == NULL)
        return NP_ERR_NOMEM;
    s->base = base;
    s->kind = c->kind;
    s->npt = c->kind == NP_PROG_NPT;
    s->enc_key = c->enc_key;
    s->pkam_key = c->pkam_key;
    s->auth_client = c->authenticate_client ? 1 : 0;
    s->auth_device = c->authenticate_device ? 1 : 0;
    s->relay_auth_mode = c->relay_auth_mode;
    s->remote_port = c->remote_port;
    s->npt_timeout_ms = c->npt_timeout_ms;
    s->heartbeat_ms = c->heartbeat_ms;
    s->local_port = c->local_port;
    s->stdio_fd = -1;
    s->relay_timeout_ms =
        c->relay_timeout_ms > 0 ? c->relay_timeout_ms : NP_CLIENT_RELAY_TIMEOUT_MS;
    s->ping_timeout_ms = c->ping_timeout_ms > 0 ? c->ping_timeout_ms : NP_CLIENT_PING_TIMEOUT_MS;
    s->answer_timeout_ms =
        c->answer_timeout_ms > 0 ? c->answer_timeout_ms : NP_CLIENT_ANSWER_TIMEOUT_MS;
    s->bridge_timeout_ms =
        c->bridge_timeout_ms > 0 ? c->bridge_timeout_ms : NP_CLIENT_SSH_BRIDGE_MS;
    s->dns = c->dns;
    s->io = c->io;
    s->ev = c->ev;
    if ((r = dup_or_null(&s->client, c->client_atsign)) ||
        (r = dup_or_null(&s->device_at, c->device_atsign)) ||
        (r = dup_or_null(&s->relay, c->relay_atsign)) || (r = dup_or_null(&s->device, c->device)) ||
        (r = dup_or_null(&s->sk_uri, c->sk_uri)) ||
        (r = dup_or_null(&s->remote_user, c->remote_user)) ||
        (r = dup_or_null(&s->ssh_public_key, c->ssh_public_key)) ||
        (r = dup_or_null(&s->remote_host, c->remote_host ? c->remote_host : "localhost")) ||
        (r = dup_or_null(&s->local_host, c->local_host ? c->local_host : "127.0.0.1")))
        goto out;
    if ((r = np_uuid4(s->sid)) != 0)
        goto out;
    if ((s->relay_timer = evtimer_new(base, relay_timer_cb, s)) == NULL ||
        (s->ping_timer = evtimer_new(base, ping_timer_cb, s)) == NULL ||
        (s->answer_timer = evtimer_new(base, answer_timer_cb, s)) == NULL ||
        (s->keygen_ev = evtimer_new(base, keygen_cb, s)) == NULL ||
        (s->report_ev = event_new(base, -1, 0, report_cb, s)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    s->stdio_fd = c->stdio_fd;
    s->stdio = c->stdio_fd >= 0;
    s->eph = c->eph_key; /* ours from here on */
    s->eph_take = c->eph_take;
    s->eph_take_data = c->eph_take_data;
    *out = s;
    s = NULL;
    r = 0;
out:
    np_client_session_free(s);
    return r;
}

static int send_note(struct np_client_session *s, const char *to, const char *key,
                     const char *value, int64_t ttl)
{
    int r = s->io.notify(s->io.data, to, key, value, ttl);

    if (r != 0)
        np_client__progress(s, NP_LOG_DEBUG, "Sending %s to %s failed: %s", key, to,
                            np_strerror(r));
    return r;
}

static int send_relay_request(struct np_client_session *s)
{
    struct np_relay_request q;
    char *json = NULL, *pf[2] = {NULL, NULL}, key[KEY_MAX];
    int r;

    memset(&q, 0, sizeof(q));
    q.session_id = s->sid;
    q.atsign_a = s->client;
    q.atsign_b = s->device_at;
    q.authenticate_a = s->auth_client;
    q.authenticate_b = s->auth_device;
    q.client_nonce = s->client_nonce;
    q.relay_auth_mode = NP_RELAY_AUTH_PAYLOAD; /* per-socket detection does the rest (7.3) */
    q.relay_auth_aes_key = s->escr_key_b64;
    q.multiple_acks_ok = 1;
    q.send_json_response = 1;
    if (s->auth_client || s->auth_device) { /* let the relay look the keys up early */
        r = NP_ERR_NOMEM;
        if ((pf[0] = np_malloc(KEY_MAX)) == NULL || (pf[1] = np_malloc(KEY_MAX)) == NULL)
            goto out;
        snprintf(pf[0], KEY_MAX, "public:publickey%s", s->client);
        snprintf(pf[1], KEY_MAX, "public:publickey%s", s->device_at);
        q.pre_fetch = pf;
        q.n_pre_fetch = 2;
    }
    if ((r = np_relay_request_build(&q, NP_RELAY_REQ_NEWER, &json)) != 0)
        goto out;
    if ((r = np_str_fmt(key, sizeof(key), "%s.request_ports.sshrvd", s->device)) != 0)
        goto out;
    r = send_note(s, s->relay, key, json, 10000);
out:
    np_free(pf[0]);
    np_free(pf[1]);
    np_free(json);
    return r;
}

int np_client_session_start(struct np_client_session *s)
{
    char key[KEY_MAX];
    int r;

    if (!s)
        return NP_ERR_INVAL;
    if (s->state != CS_NEW)
        return NP_ERR_CLOSED;
    np_time_iso_local_us(s->client_nonce, sizeof(s->client_nonce));
    if (s->relay_auth_mode == NP_RELAY_AUTH_ESCR && (r = np_aes_new_key_b64(&s->escr_key_b64)) != 0)
        return r;
    s->state = CS_WAIT;
    np_client__progress(s, NP_LOG_DEBUG, "Session id %s", s->sid);
    /* 1. ping (feature check) */
    np_client__progress(s, NP_LOG_INFO, "Pinging the device daemon %s (device %s)", s->device_at,
                        s->device);
    if ((r = np_str_fmt(key, sizeof(key), "ping.%s.sshnp", s->device)) != 0 ||
        (r = send_note(s, s->device_at, key, "ping", 0)) != 0)
        goto fail;
    /* 2. user name */
    if (!s->npt && !s->remote_user) {
        np_client__progress(s, NP_LOG_INFO, "Fetching the remote user name shared by %s",
                            s->device_at);
        if ((r = np_client__fetch_user(s)) != 0)
            goto fail;
    }
    /* 3. ssh public key (fire and forget) */
    if (!s->npt && s->ssh_public_key) {
        np_client__progress(s, NP_LOG_INFO, "Sending our ssh public key to %s", s->device_at);
        if ((r = np_str_fmt(key, sizeof(key), "sshpublickey.%s.sshnp", s->device)) != 0 ||
            (r = send_note(s, s->device_at, key, s->ssh_public_key, 10000)) != 0)
            goto fail;
    }
    /* 4. relay */
    np_client__progress(s, NP_LOG_INFO, "Requesting a port pair from the relay %s", s->relay);
    if ((r = send_relay_request(s)) != 0)
        goto fail;
    /* 5. the daemon's key, for the answer's signature */
    if ((r = np_client__fetch_key(s, 0)) != 0)
        goto fail;
    arm(s->relay_timer, s->relay_timeout_ms);
    arm(s->ping_timer, s->ping_timeout_ms);
    arm(s->keygen_ev, 0); /* RSA key generation takes a while: after the sends */
    s->keygen_armed = 1;
    return 0;
fail:
    stop_timers(s);
    cancel_gets(s);
    s->state = CS_DONE;
    return r;
}

const char *np_client_session_id(const struct np_client_session *s)
{
    return s ? s->sid : NULL;
}

void np_client_session_stats(const struct np_client_session *s, struct np_bridge_stats *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof(*st));
    if (s && s->bridge)
        np_bridge_get_stats(s->bridge, st);
    else if (s)
        *st = s->st_end;
}

void np_client_session_free(struct np_client_session *s)
{
    if (!s)
        return;
    cancel_gets(s);
    np_bridge_free(s->bridge);
    if (s->relay_timer)
        event_free(s->relay_timer);
    if (s->ping_timer)
        event_free(s->ping_timer);
    if (s->answer_timer)
        event_free(s->answer_timer);
    if (s->keygen_ev)
        event_free(s->keygen_ev);
    if (s->report_ev)
        event_free(s->report_ev);
    if (s->stdio_fd >= 0)
        evutil_closesocket(s->stdio_fd);
    np_free(s->client);
    np_free(s->device_at);
    np_free(s->relay);
    np_free(s->device);
    np_free(s->sk_uri);
    np_free(s->remote_user);
    np_free(s->ssh_public_key);
    np_free(s->remote_host);
    np_free(s->local_host);
    np_freezero_str(s->escr_key_b64);
    np_rsa_free(s->eph);
    np_relay_answer_free(s->relay_ans);
    np_device_info_free(s->info);
    np_rsa_free(s->dev_pub);
    np_free(s->answer);
    np_free(s);
}
