/* tests/unit/sshnp/flow_harness.c - in-process world for the client flow
 * tests (see flow_harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flow_harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "../np/test_bridge_harness.h"
#include "crypto/b64.h"
#include "crypto/rsa.h"
#include "np/client_opts.h"
#include "np/envelope.h"
#include "np/escr.h"
#include "np/relay_auth.h"
#include "np/relay_msg.h"
#include "relay.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

/* ------------------------------------------------------------ fixture keys */

static struct fh_keys keys;

static void gen(struct np_rsa_key **k, char **pub)
{
    assert_int_equal(np_rsa_generate(k), 0);
    assert_int_equal(np_rsa_public_b64(*k, pub), 0);
}

const struct fh_keys *fh_keys(void)
{
    if (!keys.client_enc) {
        gen(&keys.client_enc, &keys.client_enc_pub);
        gen(&keys.client_pkam, &keys.client_pkam_pub);
        gen(&keys.dev_enc, &keys.dev_enc_pub);
        gen(&keys.dev_pkam, &keys.dev_pkam_pub);
        gen(&keys.other, &keys.other_pub);
    }
    return &keys;
}

/* ------------------------------------------------------- deferred actions */

enum { P_NOTE = 1, P_DELIVER, P_GET, P_FETCH };

struct fh_pending {
    struct fh_pending *next;
    struct fh *h;
    struct event *ev;
    int kind;
    char *a, *b, *c; /* NOTE: to, key, value; DELIVER: from, key, value; GET/FETCH: value */
    int status;
    np_client_get_fn get_done;
    relay_key_done_fn fetch_done;
    void *arg;
};

static void pending_unlink(struct fh *h, struct fh_pending *p)
{
    struct fh_pending **pp = &h->pending;

    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    event_free(p->ev);
    np_free(p->a);
    np_free(p->b);
    np_free(p->c);
    np_free(p);
}

static void route_note(struct fh *h, const char *to, const char *key, const char *value);

static void pending_fire(evutil_socket_t fd, short what, void *arg)
{
    struct fh_pending *p = arg;
    struct fh *h = p->h;

    (void)fd;
    (void)what;
    /* unlink first: the action may add or cancel others */
    struct fh_pending q = *p;
    p->a = p->b = p->c = NULL;
    pending_unlink(h, p);
    switch (q.kind) {
    case P_NOTE:
        route_note(h, q.a, q.b, q.c);
        break;
    case P_DELIVER:
        if (h->deliver_fn)
            h->deliver_fn(h->deliver_data, q.a, q.b, q.c, strlen(q.c));
        else if (h->s)
            (void)np_client_session_notification(h->s, q.a, q.b, q.c, strlen(q.c));
        break;
    case P_GET:
        q.get_done(q.arg, q.status, q.c, q.c ? strlen(q.c) : 0);
        break;
    case P_FETCH:
        q.fetch_done(q.arg, q.status, q.c);
        break;
    }
    np_free(q.a);
    np_free(q.b);
    np_free(q.c);
}

static struct fh_pending *pending_add(struct fh *h, int kind, const char *a, const char *b,
                                      const char *c)
{
    struct fh_pending *p = np_calloc(1, sizeof(*p));
    int ms = h->delay_ms > 0 ? h->delay_ms : 1;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    assert_non_null(p);
    p->h = h;
    p->kind = kind;
    p->a = a ? np_strdup(a) : NULL;
    p->b = b ? np_strdup(b) : NULL;
    p->c = c ? np_strdup(c) : NULL;
    p->ev = evtimer_new(h->base, pending_fire, p);
    assert_non_null(p->ev);
    /* keep FIFO order for equal delays: append */
    struct fh_pending **pp = &h->pending;
    while (*pp)
        pp = &(*pp)->next;
    *pp = p;
    evtimer_add(p->ev, &tv);
    return p;
}

static void pending_cancel(struct fh *h, int kind, void *arg)
{
    struct fh_pending *p = h->pending, *next;

    for (; p; p = next) {
        next = p->next;
        if (p->kind == kind && p->arg == arg)
            pending_unlink(h, p);
    }
}

/* Deliver a notification to the client: key "@client:<name>@from". */
static void deliver(struct fh *h, const char *from, const char *name, const char *value)
{
    char key[1300];

    snprintf(key, sizeof(key), "%s:%s%s", FH_CLIENT, name, from);
    pending_add(h, P_DELIVER, from, key, value);
}

/* ------------------------------------------------------------- the relay */

static int ob_send(void *data, const struct relay_notice *n)
{
    struct fh *h = data;
    struct np_relay_answer *a = NULL;
    char *csv = NULL;

    if (!n->is_nack && h->relay_csv && n->value[0] == '{') {
        assert_int_equal(np_relay_answer_parse(n->value, strlen(n->value), &a), 0);
        assert_int_equal(
            np_relay_answer_build_csv(a->address, a->port_a, a->port_b, a->rvd_nonce, &csv), 0);
        deliver(h, FH_RELAY, n->key, csv);
        np_free(csv);
    } else {
        deliver(h, FH_RELAY, n->key, n->value);
    }
    if (!n->is_nack && h->relay_dup) {
        /* a second relay sharing the atSign answers too: must be ignored */
        deliver(h, FH_RELAY, n->key, "127.0.0.1,1,2,late-nonce");
    }
    np_relay_answer_free(a);
    return 0;
}

static int ks_fetch(void *data, const char *uri, relay_key_done_fn done, void *arg)
{
    struct fh *h = data;
    const struct fh_keys *k = fh_keys();
    const char *v = NULL;
    struct fh_pending *p;

    if (strcasecmp(uri, "public:publickey" FH_CLIENT) == 0)
        v = k->client_enc_pub;
    else if (strcasecmp(uri, "public:publickey" FH_DEVICE) == 0)
        v = k->dev_enc_pub;
    else if (strcasecmp(uri, FH_SK_CLIENT) == 0)
        v = k->client_pkam_pub;
    else if (strcasecmp(uri, FH_SK_DEVICE) == 0)
        v = k->dev_pkam_pub;
    p = pending_add(h, P_FETCH, NULL, NULL, v);
    p->status = v ? 0 : NP_ERR_NOTFOUND;
    p->fetch_done = done;
    p->arg = arg;
    return 0;
}

static void ks_cancel(void *data, void *arg)
{
    pending_cancel(data, P_FETCH, arg);
}

/* ------------------------------------------------------------ the daemon */

static void dbridge_done(struct np_bridge *b, int reason, const char *detail, void *data)
{
    struct fh *h = data;

    (void)detail;
    np_bridge_get_stats(b, &h->dstats);
    h->dbridge_done = 1;
    h->dbridge_reason = reason;
    np_bridge_free(b);
    h->dbridge = NULL;
}

static int dev_escr(const char *challenge, size_t len, char **response, void *data)
{
    struct fh *h = data;

    (void)len;
    return np_escr_response_build(fh_keys()->dev_pkam, FH_SK_DEVICE, h->req->session_id, challenge,
                                  'b', h->req->relay_auth_aes_key, response, NULL);
}

/* RSA-wrap the B64 text of n bytes for the client's ephemeral key. */
static char *wrap(const struct np_rsa_key *eph, const unsigned char *bytes, size_t n)
{
    char *text = NULL, *out = NULL;

    assert_int_equal(np_b64_encode(bytes, n, &text, NULL), 0);
    assert_int_equal(np_rsa_encrypt_b64(eph, text, strlen(text), &out), 0);
    np_free(text);
    return out;
}

static void daemon_request(struct fh *h, int npt, const char *value)
{
    const struct fh_keys *k = fh_keys();
    struct np_envelope *e = NULL;
    struct np_rsa_key *eph = NULL;
    struct np_session_answer a;
    struct np_bridge_config bc;
    struct np_bridge_keys bk;
    cJSON *payload = NULL;
    char *json = NULL, *line = NULL, name[128];
    size_t line_len = 0;
    int twin;

    h->requests++;
    assert_int_equal(np_envelope_parse(value, strlen(value), &e), 0);
    h->req_sig_ok = np_envelope_check(e, k->client_enc) == 0;
    np_session_req_free(h->req);
    h->req = NULL;
    assert_int_equal(np_session_req_parse(np_envelope_payload(e), npt, &h->req, NULL, 0), 0);
    np_envelope_free(e);
    snprintf(name, sizeof(name), "%s.%s.sshnp", h->req->session_id, FH_DEV);
    if (h->daemon_silent)
        return;
    if (h->daemon_error) {
        deliver(h, FH_DEVICE, name, h->daemon_error);
        return;
    }
    assert_true(h->req_sig_ok);
    twin = h->daemon_twin && h->req->twin_keys == 1;
    assert_int_equal(np_bridge_keys_random(&bk, twin ? NP_BRIDGE_TWIN_KEYS : NP_BRIDGE_SINGLE_KEY),
                     0);
    /* daemon side of the bridge */
    np_bridge_config_init(&bc);
    bc.side = NP_BRIDGE_DAEMON;
    bc.multi = npt;
    bc.relay_host = h->req->host;
    bc.relay_port = h->req->port;
    bc.local_host = npt ? h->req->requested_host : "127.0.0.1";
    bc.local_port = npt ? h->req->requested_port : tb_echo_port(h->echo);
    /* a little longer than the client's, so that the client's timer decides */
    bc.timeout_ms = npt ? (int)h->req->timeout_ms + 2000 : 5000;
    bc.keys = bk;
    bc.on_done = dbridge_done;
    bc.data = h;
    if (h->req->authenticate_to_rvd == 1 && h->req->relay_auth_mode &&
        strcmp(h->req->relay_auth_mode, "escr") == 0) {
        bc.auth = NP_BRIDGE_AUTH_ESCR;
        bc.escr = dev_escr;
        bc.escr_data = h;
    } else if (h->req->authenticate_to_rvd == 1) {
        assert_int_equal(np_relay_auth_line_build(k->dev_enc, h->req->session_id,
                                                  h->req->client_nonce, h->req->rvd_nonce, &line,
                                                  &line_len),
                         0);
        bc.auth = NP_BRIDGE_AUTH_LINE;
        bc.auth_line = line;
        bc.auth_line_len = line_len;
    }
    np_bridge_free(h->dbridge); /* npt -K: the previous session's side */
    h->dbridge = NULL;
    assert_int_equal(np_bridge_new(h->base, &bc, &h->dbridge), 0);
    np_free(line);
    /* signed answer */
    assert_int_equal(np_rsa_from_public_b64(h->req->client_ephemeral_pk, &eph), 0);
    memset(&a, 0, sizeof(a));
    a.status = "connected";
    a.session_id = h->req->session_id;
    a.has_ephemeral_private_key = !npt;
    if (twin) {
        a.aes_key_c2d = wrap(eph, bk.c2d_key, NP_AES_KEY_LEN);
        a.iv_c2d = wrap(eph, bk.c2d_iv, NP_AES_IV_LEN);
        a.aes_key_d2c = wrap(eph, bk.d2c_key, NP_AES_KEY_LEN);
        a.iv_d2c = wrap(eph, bk.d2c_iv, NP_AES_IV_LEN);
    } else {
        a.session_aes_key = wrap(eph, bk.c2d_key, NP_AES_KEY_LEN);
        a.session_iv = wrap(eph, bk.c2d_iv, NP_AES_IV_LEN);
    }
    assert_int_equal(np_session_answer_to_json(&a, &payload), 0);
    assert_int_equal(np_envelope_sign(h->bad_sig ? k->other : k->dev_enc, payload, &json), 0);
    deliver(h, FH_DEVICE, name, json);
    np_free(a.aes_key_c2d);
    np_free(a.iv_c2d);
    np_free(a.aes_key_d2c);
    np_free(a.iv_d2c);
    np_free(a.session_aes_key);
    np_free(a.session_iv);
    np_free(json);
    cJSON_Delete(payload);
    np_rsa_free(eph);
    np_memzero(&bk, sizeof(bk));
}

static void daemon_ping(struct fh *h)
{
    struct np_device_info d;
    char *json = NULL, *svc[1] = {"localhost:22"}, name[128];

    h->pings++;
    if (h->ping_silent)
        return;
    memset(&d, 0, sizeof(d));
    d.devicename = FH_DEV;
    d.device_group = "__none__";
    d.version = "5.6.3";
    d.core_version = "6.2.0";
    d.has_features = 1;
    d.features_present = NP_FEAT__ALL;
    d.features = h->features;
    d.allowed_services = svc;
    d.n_allowed = 1;
    assert_int_equal(np_device_info_to_json(&d, &json), 0);
    snprintf(name, sizeof(name), "heartbeat.%s.sshnp", FH_DEV);
    deliver(h, FH_DEVICE, name, json);
    np_free(json);
}

static void route_note(struct fh *h, const char *to, const char *key, const char *value)
{
    char full[1300], name[600];

    if (strcmp(to, FH_RELAY) == 0) {
        np_free(h->request_ports);
        h->request_ports = np_strdup(value);
        if (h->relay_silent)
            return;
        if (h->relay_nack) {
            struct np_relay_request *q = NULL;

            assert_int_equal(np_relay_request_parse(value, strlen(value), &q), 0);
            snprintf(name, sizeof(name), "nack.%s.sshrvd", q->session_id);
            deliver(h, FH_RELAY, name, "session limit reached");
            np_relay_request_free(q);
            return;
        }
        snprintf(full, sizeof(full), "%s:%s%s", FH_RELAY, key, FH_CLIENT);
        (void)relay_handle_request(h->relay, FH_CLIENT, full, value, strlen(value));
        return;
    }
    assert_string_equal(to, FH_DEVICE);
    if (strcmp(key, "ping." FH_DEV ".sshnp") == 0) {
        assert_string_equal(value, "ping");
        daemon_ping(h);
    } else if (strcmp(key, "ping.attic.sshnp") == 0) {
        h->pings++; /* that daemon is down */
    } else if (strcmp(key, "ssh_request." FH_DEV ".sshnp") == 0) {
        daemon_request(h, 0, value);
    } else if (strcmp(key, "npt_request." FH_DEV ".sshnp") == 0) {
        daemon_request(h, 1, value);
    } else if (strcmp(key, "sshpublickey." FH_DEV ".sshnp") == 0) {
        h->pubkeys_sent++;
        np_free(h->sshpublickey);
        h->sshpublickey = np_strdup(value);
    } else {
        fail_msg("unexpected notification %s to %s", key, to);
    }
}

/* -------------------------------------------------- the client's io double */

static int io_notify(void *data, const char *to, const char *key, const char *value, int64_t ttl_ms)
{
    struct fh *h = data;

    (void)ttl_ms;
    assert_non_null(value);
    pending_add(h, P_NOTE, to, key, value);
    return 0;
}

static int io_get(void *data, const char *key, int bypass, np_client_get_fn done, void *arg)
{
    struct fh *h = data;
    const struct fh_keys *k = fh_keys();
    struct fh_pending *p;
    const char *v = NULL;

    (void)bypass;
    if (strcmp(key, "public:publickey" FH_DEVICE) == 0) {
        h->key_fetches++;
        v = (h->dev_key_stale && h->key_fetches == 1) ? k->other_pub : k->dev_enc_pub;
    } else if (strcmp(key, FH_CLIENT ":username." FH_DEV ".sshnp" FH_DEVICE) == 0) {
        h->username_gets++;
        v = h->no_username ? NULL : FH_USER;
    } else if (strcmp(key, FH_CLIENT ":device_info." FH_DEV ".sshnp" FH_DEVICE) == 0) {
        v = "{\"devicename\":\"" FH_DEV "\",\"version\":\"5.6.3\",\"corePackageVersion\":"
            "\"6.2.0\",\"supportedFeatures\":{\"srAuth\":true},\"allowedServices\":"
            "[\"localhost:22\",\"localhost:3389\"]}";
    } else if (strcmp(key, FH_CLIENT ":device_info.attic.sshnp" FH_DEVICE) == 0) {
        v = "{\"devicename\":\"attic\",\"version\":\"5.6.1\",\"corePackageVersion\":"
            "\"6.1.0\",\"allowedServices\":[]}";
    } else if (strcmp(key, FH_CLIENT ":device_info.gone.sshnp" FH_DEVICE) == 0) {
        v = NULL;
    } else {
        fail_msg("unexpected get %s", key);
    }
    p = pending_add(h, P_GET, NULL, NULL, v);
    p->status = v ? 0 : NP_ERR_NOTFOUND;
    p->get_done = done;
    p->arg = arg;
    return 0;
}

static void scan_fire(evutil_socket_t fd, short what, void *arg);

struct fh_scan {
    struct fh *h;
    np_client_scan_fn done;
    void *arg;
    struct event *ev;
};

static void scan_fire(evutil_socket_t fd, short what, void *arg)
{
    static const char *const keys[] = {
        "cached:" FH_CLIENT ":device_info." FH_DEV ".sshnp" FH_DEVICE,
        FH_CLIENT ":device_info.attic.sshnp" FH_DEVICE, /* its daemon is down */
        FH_CLIENT ":device_info.gone.sshnp" FH_DEVICE,  /* no record any more */
        FH_CLIENT ":something_else.sshnp" FH_DEVICE,
        "cached:" FH_CLIENT ":device_info." FH_DEV ".sshnp" FH_DEVICE, /* duplicate */
    };
    struct fh_scan *sc = arg;

    (void)fd;
    (void)what;
    sc->h->scans++;
    event_free(sc->ev);
    sc->done(sc->arg, 0, keys, sizeof(keys) / sizeof(keys[0]));
    np_free(sc);
}

static int io_scan(void *data, const char *regex, np_client_scan_fn done, void *arg)
{
    struct fh *h = data;
    struct fh_scan *sc = np_calloc(1, sizeof(*sc));
    struct timeval tv = {0, 1000};

    assert_non_null(sc);
    assert_non_null(strstr(regex, "device_info"));
    sc->h = h;
    sc->done = done;
    sc->arg = arg;
    sc->ev = evtimer_new(h->base, scan_fire, sc);
    assert_non_null(sc->ev);
    evtimer_add(sc->ev, &tv);
    return 0;
}

static void io_cancel(void *data, void *arg)
{
    pending_cancel(data, P_GET, arg);
}

/* ----------------------------------------------------- session callbacks */

static void ev_progress(void *data, int level, const char *msg)
{
    struct fh *h = data;

    (void)level;
    h->progress_lines++;
    snprintf(h->last_progress, sizeof(h->last_progress), "%s", msg);
    if (getenv("FH_DEBUG"))
        fprintf(stderr, "progress: %s\n", msg);
}

static void ev_ready(struct np_client_session *s, const struct np_client_ready *r, void *data)
{
    struct fh *h = data;

    assert_ptr_equal(s, h->s);
    h->ready++;
    h->rport = r->local_port;
    h->rtwin = r->twin_keys;
    snprintf(h->ruser, sizeof(h->ruser), "%s", r->remote_user ? r->remote_user : "");
    assert_string_equal(r->session_id, np_client_session_id(s));
}

static void ev_done(struct np_client_session *s, int status, const char *msg, const char *detail,
                    const char *hint, void *data)
{
    struct fh *h = data;

    assert_ptr_equal(s, h->s);
    h->done++;
    h->dstatus = status;
    h->t_done = np_mono_ms();
    snprintf(h->dmsg, sizeof(h->dmsg), "%s", msg);
    snprintf(h->ddetail, sizeof(h->ddetail), "%s", detail);
    snprintf(h->dhint, sizeof(h->dhint), "%s", hint);
    if (getenv("FH_DEBUG"))
        fprintf(stderr, "done: %d %s [%s] (%s)\n", status, msg, detail, hint);
}

/* ------------------------------------------------------------- harness */

void fh_init(struct fh *h)
{
    struct event_base *base = event_base_new();

    assert_non_null(base);
    fh_init_on(h, base);
    h->own_base = 1;
}

void fh_init_on(struct fh *h, struct event_base *base)
{
    struct relay_config cfg;
    static const char *bind[1] = {"127.0.0.1"};
    struct relay_outbox ob = {ob_send, h};
    struct relay_keysource ks = {ks_fetch, ks_cancel, h};

    memset(h, 0, sizeof(*h));
    signal(SIGPIPE, SIG_IGN);
    np_log_set_level(getenv("FH_DEBUG") ? NP_LOG_DEBUG : NP_LOG_ERROR);
    (void)fh_keys();
    h->base = base;
    relay_config_defaults(&cfg);
    cfg.address = "127.0.0.1";
    cfg.bind = bind;
    cfg.n_bind = 1;
    cfg.detect_ms = 100;
    cfg.grace_ms = 5000;
    cfg.rate_per_min = 0;
    assert_int_equal(relay_new(h->base, &cfg, &ob, &ks, &h->relay), 0);
    h->echo = tb_echo_new(h->base, NULL);
    assert_non_null(h->echo);
    h->features = NP_FEAT_SR_AUTH | NP_FEAT_SR_E2EE | NP_FEAT_PORT_CHOICE | NP_FEAT_ADJ_TIMEOUT;
    h->t_start = np_mono_ms();
}

void fh_done(struct fh *h)
{
    np_client_session_free(h->s);
    h->s = NULL;
    np_bridge_free(h->dbridge);
    relay_free(h->relay);
    while (h->pending)
        pending_unlink(h, h->pending);
    tb_echo_free(h->echo);
    if (h->own_base)
        event_base_free(h->base);
    np_session_req_free(h->req);
    np_free(h->sshpublickey);
    np_free(h->request_ports);
    memset(h, 0, sizeof(*h));
}

struct np_client_io fh_io(struct fh *h)
{
    struct np_client_io io = {io_notify, io_get, io_scan, io_cancel, h};

    return io;
}

void fh_config(struct fh *h, int kind, struct np_client_config *c)
{
    const struct fh_keys *k = fh_keys();

    np_client_config_init(c);
    c->kind = kind;
    c->client_atsign = FH_CLIENT;
    c->device_atsign = FH_DEVICE;
    c->relay_atsign = FH_RELAY;
    c->device = FH_DEV;
    c->enc_key = k->client_enc;
    c->pkam_key = k->client_pkam;
    c->sk_uri = FH_SK_CLIENT;
    if (kind == NP_PROG_NPT) {
        c->remote_host = "127.0.0.1";
        c->remote_port = tb_echo_port(h->echo);
    }
    c->io.notify = io_notify;
    c->io.get = io_get;
    c->io.scan = io_scan;
    c->io.cancel = io_cancel;
    c->io.data = h;
    c->ev.progress = ev_progress;
    c->ev.ready = ev_ready;
    c->ev.done = ev_done;
    c->ev.data = h;
}

void fh_session(struct fh *h, const struct np_client_config *c)
{
    assert_int_equal(np_client_session_new(h->base, c, &h->s), 0);
    h->t_start = np_mono_ms();
    assert_int_equal(np_client_session_start(h->s), 0);
}

int fh_run_until(struct fh *h, int (*cond)(struct fh *), int max_ms)
{
    int64_t end = np_mono_ms() + max_ms;

    while (!cond(h)) {
        struct timeval tv = {0, 2000};

        if (np_mono_ms() > end)
            return -1;
        event_base_loopexit(h->base, &tv);
        event_base_loop(h->base, EVLOOP_ONCE);
    }
    return 0;
}

int fh_is_ready(struct fh *h)
{
    return h->ready > 0;
}

int fh_is_done(struct fh *h)
{
    return h->done > 0;
}

int fh_ready_or_done(struct fh *h)
{
    return h->ready > 0 || h->done > 0;
}

void fh_relay_stats(struct fh *h, uint64_t *auth_legacy, uint64_t *auth_escr, uint64_t *pairs)
{
    struct relay_stats st;

    relay_get_stats(h->relay, &st);
    if (auth_legacy)
        *auth_legacy = st.auth_legacy;
    if (auth_escr)
        *auth_escr = st.auth_escr;
    if (pairs)
        *pairs = st.pairs_created;
}

int fh_echo_port(struct fh *h)
{
    return tb_echo_port(h->echo);
}
