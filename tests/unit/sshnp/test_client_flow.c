/*
 * Unit tests of lib/np/client_session.c (the sshnp / npt flow, noports-wire.md
 * 6.1, 6.4, 10, 13) against the in-process world of flow_harness.h: the real
 * relay engine, a daemon double with a real daemon-side bridge, and an echo
 * server. Covered: an sshnp session whose bytes round-trip through both
 * bridges and the relay (single and twin keys, JSON and CSV relay answers,
 * ESCR), the exact error texts of section 10 within shortened timeouts
 * (relay silent, ping silent, daemon silent, daemon error text, missing
 * feature, missing username, NACK), signature failures and the key re-fetch,
 * first relay answer wins, -s, npt with five concurrent 1 MiB connections,
 * heartbeats only to daemons that accept them, and --stdio through pipes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../np/test_bridge_harness.h"
#include "crypto/rsa.h"
#include "flow_harness.h"
#include "np/client_opts.h"
#include "np/client_stdio.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/time.h"

#define KiB 1024
#define MiB (1024 * 1024)

static struct fh H;

static int setup(void **state)
{
    (void)state;
    fh_init(&H);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fh_done(&H);
    return 0;
}

/* Run one echo client of n bytes through the local port and wait for it. */
static void roundtrip(struct fh *h, size_t n, uint32_t seed)
{
    struct tb_client *c = tb_client_new(h->base, h->rport, n, seed, NULL);
    int64_t end = np_mono_ms() + 20000;

    assert_non_null(c);
    while (!tb_client_done(c) && np_mono_ms() < end)
        tb_run_for(h->base, 5);
    assert_true(tb_client_done(c));
    assert_true(tb_client_ok(c));
    assert_int_equal(tb_client_received(c), n);
    assert_true(tb_client_sum_sent(c) == tb_client_sum_received(c));
    tb_client_free(c);
}

static void ssh_session(struct fh *h, void (*tweak)(struct np_client_config *))
{
    struct np_client_config c;

    fh_config(h, NP_PROG_SSHNP, &c);
    if (tweak)
        tweak(&c);
    fh_session(h, &c);
    assert_int_equal(fh_run_until(h, fh_ready_or_done, 20000), 0);
}

/* ------------------------------------------------------------ sshnp flow */

static void test_sshnp_roundtrip(void **state)
{
    uint64_t legacy = 0, escr = 0, pairs = 0;
    struct np_bridge_stats st;

    (void)state;
    ssh_session(&H, NULL);
    assert_int_equal(H.done, 0);
    assert_int_equal(H.ready, 1);
    assert_true(H.rport > 0);
    assert_string_equal(H.ruser, FH_USER); /* from the username record */
    assert_int_equal(H.rtwin, 0);
    /* what the daemon got */
    assert_int_equal(H.pings, 1);
    assert_int_equal(H.requests, 1);
    assert_true(H.req_sig_ok);
    assert_int_equal(H.req->npt, 0);
    assert_int_equal(H.req->direct, 1);
    assert_int_equal(H.req->authenticate_to_rvd, 1);
    assert_int_equal(H.req->encrypt_rvd_traffic, 1);
    assert_string_equal(H.req->client_ephemeral_pk_type, "rsa2048");
    assert_int_equal(H.req->twin_keys, -1); /* the daemon does not offer twin keys */
    assert_null(H.req->relay_auth_mode);
    assert_string_equal(H.req->session_id, np_client_session_id(H.s));
    /* request_ports carries the NEWER members we promise */
    assert_non_null(strstr(H.request_ports, "\"sendJsonResponse\":true"));
    assert_non_null(strstr(H.request_ports, "\"multipleAcksOk\":true"));
    assert_non_null(strstr(H.request_ports, "\"authenticateSocketA\":true"));
    roundtrip(&H, 256 * KiB, 7);
    assert_int_equal(fh_run_until(&H, fh_is_done, 10000), 0);
    assert_int_equal(H.dstatus, 0);
    np_client_session_stats(H.s, &st);
    assert_true(st.bytes_to_relay == 256 * KiB && st.bytes_from_relay == 256 * KiB);
    fh_relay_stats(&H, &legacy, &escr, &pairs);
    assert_int_equal(legacy, 2); /* both sides authenticated with the signed line */
    assert_int_equal(escr, 0);
    assert_int_equal(pairs, 1);
    assert_true(H.progress_lines >= 5);
}

static void twin(struct np_client_config *c)
{
    c->remote_user = "bob";
}

static void test_sshnp_twin_keys(void **state)
{
    (void)state;
    H.features |= NP_FEAT_TWIN_KEYS;
    H.daemon_twin = 1;
    ssh_session(&H, twin);
    assert_int_equal(H.ready, 1);
    assert_int_equal(H.rtwin, 1);
    assert_int_equal(H.req->twin_keys, 1);
    assert_string_equal(H.ruser, "bob"); /* -u wins: no username lookup */
    assert_int_equal(H.username_gets, 0);
    roundtrip(&H, 128 * KiB, 11);
}

static void test_sshnp_twin_asked_single_given(void **state)
{
    (void)state;
    H.features |= NP_FEAT_TWIN_KEYS; /* advertised, but the answer has one bundle */
    H.daemon_twin = 0;
    ssh_session(&H, NULL);
    assert_int_equal(H.ready, 1);
    assert_int_equal(H.req->twin_keys, 1);
    assert_int_equal(H.rtwin, 0);
    roundtrip(&H, 64 * KiB, 12);
}

static void test_sshnp_csv_answer(void **state)
{
    (void)state;
    H.relay_csv = 1; /* a BASELINE relay */
    ssh_session(&H, NULL);
    assert_int_equal(H.ready, 1);
    roundtrip(&H, 64 * KiB, 13);
}

/* A key pair the caller made before connecting (sshnp does, so that a slow
 * key generation runs before any deadline) is the one the session uses. */
static struct np_rsa_key *given_eph;

static void with_eph(struct np_client_config *c)
{
    c->eph_key = given_eph;
}

static void test_sshnp_given_ephemeral_key(void **state)
{
    char *pub = NULL;

    (void)state;
    assert_int_equal(np_rsa_generate(&given_eph), 0);
    assert_int_equal(np_rsa_public_b64(given_eph, &pub), 0);
    ssh_session(&H, with_eph);
    given_eph = NULL; /* the session owns it */
    assert_int_equal(H.ready, 1);
    assert_non_null(H.req);
    assert_string_equal(H.req->client_ephemeral_pk, pub);
    roundtrip(&H, 64 * KiB, 5); /* the answer was unwrapped with that key */
    np_free(pub);
}

/* A key made on the caller's thread that is not ready when the session
 * first asks: the session waits (eph_take says NP_AGAIN, the loop keeps
 * running and takes the ping and relay answers) and sends its request once
 * the caller says the key is there (np_client_session_eph_ready). */
struct late_eph {
    struct np_rsa_key *key;
    int ready, asked_early, taken;
    struct event *ev;
};
static struct late_eph late;

static int late_take(void *data, struct np_rsa_key **key)
{
    struct late_eph *l = data;

    *key = NULL;
    if (!l->ready) {
        l->asked_early++;
        return NP_AGAIN;
    }
    l->taken++;
    *key = l->key;
    l->key = NULL;
    return 0;
}

static void late_ready_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    late.ready = 1;
    np_client_session_eph_ready(H.s);
}

static void with_late_eph(struct np_client_config *c)
{
    struct timeval tv = {0, 300 * 1000};

    c->eph_take = late_take;
    c->eph_take_data = &late;
    late.ev = evtimer_new(H.base, late_ready_cb, NULL);
    assert_non_null(late.ev);
    evtimer_add(late.ev, &tv);
}

static void test_sshnp_ephemeral_key_ready_late(void **state)
{
    char *pub = NULL;

    (void)state;
    memset(&late, 0, sizeof(late));
    assert_int_equal(np_rsa_generate_session(&late.key), 0);
    assert_int_equal(np_rsa_public_b64(late.key, &pub), 0);
    ssh_session(&H, with_late_eph);
    assert_int_equal(H.ready, 1);
    assert_true(late.asked_early >= 1); /* it asked before the key existed ... */
    assert_int_equal(late.taken, 1);    /* ... and took it exactly once */
    assert_non_null(H.req);
    assert_string_equal(H.req->client_ephemeral_pk, pub);
    roundtrip(&H, 64 * KiB, 6); /* the answer was unwrapped with that key */
    event_free(late.ev);
    np_free(pub);
}

static void test_first_relay_answer_wins(void **state)
{
    (void)state;
    H.relay_dup = 1;
    ssh_session(&H, NULL);
    assert_int_equal(H.ready, 1);
    roundtrip(&H, 32 * KiB, 14);
}

static void escr(struct np_client_config *c)
{
    c->relay_auth_mode = NP_RELAY_AUTH_ESCR;
}

static void test_sshnp_escr(void **state)
{
    uint64_t legacy = 0, escr_n = 0;

    (void)state;
    H.features |= NP_FEAT_RAM_ESCR;
    ssh_session(&H, escr);
    assert_int_equal(H.ready, 1);
    assert_string_equal(H.req->relay_auth_mode, "escr");
    assert_non_null(H.req->relay_auth_aes_key);
    assert_non_null(strstr(H.request_ports, "\"relayAuthAesKey\":\""));
    roundtrip(&H, 64 * KiB, 15);
    fh_relay_stats(&H, &legacy, &escr_n, NULL);
    assert_int_equal(escr_n, 2);
    assert_int_equal(legacy, 0);
}

static void test_sshnp_escr_needs_autodetect(void **state)
{
    (void)state;
    H.relay_csv = 1; /* a CSV answer cannot say autoDetectsRelayAuth */
    ssh_session(&H, escr);
    assert_int_equal(H.done, 1);
    assert_int_equal(H.ready, 0);
    assert_string_equal(H.dmsg, "The relay does not support ESCR authentication");
}

static void no_auth(struct np_client_config *c)
{
    c->authenticate_client = 0;
    c->authenticate_device = 0;
}

static void test_sshnp_no_relay_auth(void **state)
{
    uint64_t legacy = 1;

    (void)state;
    ssh_session(&H, no_auth);
    assert_int_equal(H.ready, 1);
    assert_int_equal(H.req->authenticate_to_rvd, 0);
    roundtrip(&H, 32 * KiB, 16);
    fh_relay_stats(&H, &legacy, NULL, NULL);
    assert_int_equal(legacy, 0);
}

/* --------------------------------------------------------------- errors */

/* One short timeout at a time: the others stay long enough for a loaded
 * machine (RSA key generation runs on the loop). */
static void short_timeouts(struct np_client_config *c)
{
    c->relay_timeout_ms = 300;
    c->ping_timeout_ms = 300;
    c->answer_timeout_ms = 300;
}

static void short_ping(struct np_client_config *c)
{
    c->ping_timeout_ms = 300;
}

static void short_answer(struct np_client_config *c)
{
    c->answer_timeout_ms = 300;
}

static void test_relay_timeout(void **state)
{
    (void)state;
    H.relay_silent = 1;
    ssh_session(&H, short_timeouts);
    assert_int_equal(H.done, 1);
    assert_int_equal(H.dstatus, NP_ERR_TIMEOUT);
    assert_string_equal(H.dmsg, "Connection timeout to srvd @relay service");
    assert_true(H.dhint[0] != '\0');
    assert_true(H.t_done - H.t_start >= 290 && H.t_done - H.t_start < 3000);
    assert_int_equal(H.requests, 0);
}

static void test_relay_timeout_wins_over_ping(void **state)
{
    (void)state;
    H.relay_silent = 1;
    H.ping_silent = 1;
    ssh_session(&H, short_timeouts);
    assert_string_equal(H.dmsg, "Connection timeout to srvd @relay service");
}

static void test_ping_timeout(void **state)
{
    (void)state;
    H.ping_silent = 1;
    ssh_session(&H, short_ping);
    assert_int_equal(H.done, 1);
    assert_string_equal(H.dmsg, "Daemon feature check timed out");
    assert_int_equal(H.requests, 0);
}

static void test_daemon_silent(void **state)
{
    (void)state;
    H.daemon_silent = 1;
    ssh_session(&H, short_answer);
    assert_int_equal(H.done, 1);
    assert_int_equal(H.dstatus, NP_ERR_TIMEOUT);
    assert_string_equal(H.dmsg, "No response from the device daemon");
    assert_int_equal(H.requests, 1);
}

static void test_daemon_error(void **state)
{
    (void)state;
    H.daemon_error = "Daemon does not permit connections to localhost:2222";
    ssh_session(&H, NULL);
    assert_int_equal(H.done, 1);
    assert_string_equal(H.dmsg, "Received error response from the device daemon");
    assert_string_equal(H.ddetail, "Daemon does not permit connections to localhost:2222");
}

static void test_bad_signature(void **state)
{
    (void)state;
    H.bad_sig = 1;
    ssh_session(&H, NULL);
    assert_int_equal(H.done, 1);
    assert_int_equal(H.ready, 0);
    assert_int_equal(H.dstatus, NP_ERR_VERIFY);
    assert_non_null(strstr(H.dmsg, "bad signature"));
    assert_int_equal(H.key_fetches, 2); /* fetched again before giving up */
}

static void test_rotated_key_refetched(void **state)
{
    (void)state;
    H.dev_key_stale = 1; /* the first lookup returns an old key */
    ssh_session(&H, NULL);
    assert_int_equal(H.ready, 1);
    assert_int_equal(H.key_fetches, 2);
    roundtrip(&H, 16 * KiB, 17);
}

static void test_feature_missing(void **state)
{
    (void)state;
    H.features &= ~NP_FEAT_SR_E2EE;
    ssh_session(&H, NULL);
    assert_int_equal(H.done, 1);
    assert_int_equal(H.dstatus, NP_ERR_UNSUPPORTED);
    assert_true(strncmp(H.dmsg, "This device daemon does not ", 28) == 0);
    assert_non_null(strstr(H.dmsg, "srE2ee"));
    assert_int_equal(H.requests, 0);
}

static void test_srauth_needed_only_when_authenticating(void **state)
{
    (void)state;
    H.features &= ~NP_FEAT_SR_AUTH;
    ssh_session(&H, NULL);
    assert_string_equal(H.ddetail, "srAuth");
    fh_done(&H);
    fh_init(&H);
    H.features &= ~NP_FEAT_SR_AUTH;
    ssh_session(&H, no_auth); /* --no-ad: srAuth not required */
    assert_int_equal(H.ready, 1);
}

static void send_key(struct np_client_config *c)
{
    c->ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey alice@laptop";
}

static void test_public_key(void **state)
{
    (void)state;
    ssh_session(&H, send_key);
    assert_int_equal(H.done, 1);
    assert_non_null(strstr(H.dmsg, "accept ssh public keys"));
    fh_done(&H);
    fh_init(&H);
    H.features |= NP_FEAT_ACCEPTS_PUBLIC_KEYS;
    ssh_session(&H, send_key);
    assert_int_equal(H.ready, 1);
    assert_int_equal(H.pubkeys_sent, 1);
    assert_string_equal(H.sshpublickey, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey alice@laptop");
}

static void test_no_username(void **state)
{
    (void)state;
    H.no_username = 1;
    ssh_session(&H, NULL);
    assert_int_equal(H.done, 1);
    assert_string_equal(H.dmsg, "Remote username record not shared with the client");
    assert_int_equal(H.requests, 0);
}

static void test_nack(void **state)
{
    (void)state;
    H.relay_nack = 1;
    ssh_session(&H, NULL);
    assert_int_equal(H.done, 1);
    assert_string_equal(H.dmsg, "The relay @relay refused the session");
    assert_string_equal(H.ddetail, "session limit reached");
}

static void test_bad_config(void **state)
{
    struct np_client_config c;
    struct np_client_session *s = (void *)1;

    (void)state;
    fh_config(&H, NP_PROG_SSHNP, &c);
    c.device = "Bad Name";
    assert_int_equal(np_client_session_new(H.base, &c, &s), NP_ERR_INVAL);
    assert_null(s);
    fh_config(&H, NP_PROG_SSHNP, &c);
    c.remote_user = "-oProxyCommand=evil";
    assert_int_equal(np_client_session_new(H.base, &c, &s), NP_ERR_INVAL);
    fh_config(&H, NP_PROG_NPT, &c);
    c.remote_port = 0;
    assert_int_equal(np_client_session_new(H.base, &c, &s), NP_ERR_INVAL);
    fh_config(&H, NP_PROG_SSHNP, &c);
    c.relay_auth_mode = NP_RELAY_AUTH_ESCR;
    c.pkam_key = NULL;
    assert_int_equal(np_client_session_new(H.base, &c, &s), NP_ERR_UNSUPPORTED);
}

static void test_free_while_waiting(void **state)
{
    struct np_client_config c;

    (void)state;
    H.daemon_silent = 1;
    fh_config(&H, NP_PROG_SSHNP, &c);
    fh_session(&H, &c);
    tb_run_for(H.base, 50);
    np_client_session_free(H.s); /* pending lookups are cancelled, no callback */
    H.s = NULL;
    tb_run_for(H.base, 100);
    assert_int_equal(H.done, 0);
    assert_int_equal(H.ready, 0);
}

/* ------------------------------------------------------------------- npt */

static void npt_session(struct fh *h, void (*tweak)(struct np_client_config *))
{
    struct np_client_config c;

    fh_config(h, NP_PROG_NPT, &c);
    if (tweak)
        tweak(&c);
    fh_session(h, &c);
    assert_int_equal(fh_run_until(h, fh_ready_or_done, 20000), 0);
}

static void test_npt_five_connections(void **state)
{
    struct tb_client *cl[5];
    int64_t end = np_mono_ms() + 30000;
    int all;

    (void)state;
    npt_session(&H, NULL);
    assert_int_equal(H.ready, 1);
    assert_int_equal(H.req->npt, 1);
    assert_int_equal(H.req->requested_port, fh_echo_port(&H));
    assert_string_equal(H.req->requested_host, "127.0.0.1");
    assert_int_equal(H.req->timeout_ms, 30000);
    for (int i = 0; i < 5; i++) {
        cl[i] = tb_client_new(H.base, H.rport, 1 * MiB, 100 + (uint32_t)i, NULL);
        assert_non_null(cl[i]);
    }
    do {
        tb_run_for(H.base, 5);
        all = 1;
        for (int i = 0; i < 5; i++)
            all &= tb_client_done(cl[i]);
    } while (!all && np_mono_ms() < end);
    for (int i = 0; i < 5; i++) {
        assert_true(tb_client_done(cl[i]));
        assert_true(tb_client_ok(cl[i]));
        assert_int_equal(tb_client_received(cl[i]), 1 * MiB);
        tb_client_free(cl[i]);
    }
    np_bridge_get_stats(H.dbridge, &H.dstats);
    assert_int_equal(H.dstats.ctl_connects, 5);
    assert_int_equal(H.dstats.connections, 5);
    assert_int_equal(H.done, 0); /* npt stays up for more connections */
}

static void long_timeout(struct np_client_config *c)
{
    c->npt_timeout_ms = 3600 * 1000;
}

static void test_npt_timeout_needs_feature(void **state)
{
    (void)state;
    H.features &= ~NP_FEAT_ADJ_TIMEOUT;
    npt_session(&H, long_timeout);
    assert_int_equal(H.done, 1);
    assert_non_null(strstr(H.dmsg, "adjustableTimeout"));
    fh_done(&H);
    fh_init(&H);
    npt_session(&H, long_timeout);
    assert_int_equal(H.ready, 1);
    assert_int_equal(H.req->timeout_ms, 3600 * 1000);
}

static void test_npt_port_choice_needed(void **state)
{
    (void)state;
    H.features &= ~NP_FEAT_PORT_CHOICE;
    npt_session(&H, NULL);
    assert_int_equal(H.done, 1);
    assert_non_null(strstr(H.dmsg, "supportsPortChoice"));
}

static void heartbeats(struct np_client_config *c)
{
    c->heartbeat_ms = 30;
}

static void test_npt_heartbeats_only_when_accepted(void **state)
{
    struct np_bridge_stats st;

    (void)state;
    npt_session(&H, heartbeats);
    assert_int_equal(H.ready, 1);
    tb_run_for(H.base, 200);
    np_client_session_stats(H.s, &st);
    assert_int_equal(st.heartbeats, 0); /* not advertised: never sent */
    fh_done(&H);
    fh_init(&H);
    H.features |= NP_FEAT_CC_HEARTBEATS;
    npt_session(&H, heartbeats);
    assert_int_equal(H.ready, 1);
    for (int64_t end = np_mono_ms() + 5000; np_mono_ms() < end;) {
        tb_run_for(H.base, 20);
        np_client_session_stats(H.s, &st);
        if (st.heartbeats >= 2)
            break;
    }
    assert_true(st.heartbeats >= 2);
    np_bridge_get_stats(H.dbridge, &H.dstats);
    assert_true(H.dstats.heartbeats >= 1);
    roundtrip(&H, 16 * KiB, 18); /* heartbeats do not disturb the data path */
}

/* ----------------------------------------------------------------- stdio */

struct stdio_ctx {
    int done, err;
};

static void stdio_done(struct np_stdio_pipe *p, int err, void *data)
{
    struct stdio_ctx *x = data;

    (void)p;
    x->done = 1;
    x->err = err;
}

static void set_stdio(struct np_client_config *c)
{
    (void)c;
}

static void stdio_flow(int npt)
{
    int in[2], out[2], peer = -1;
    struct np_stdio_pipe *p = NULL;
    struct stdio_ctx x = {0, 0};
    struct np_client_config c;
    unsigned char data[64 * KiB], back[64 * KiB];
    size_t got = 0, sent = 0;
    int64_t end = np_mono_ms() + 20000;

    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(np_stdio_pipe_new(H.base, in[0], out[1], stdio_done, &x, &peer, &p), 0);
    assert_true(peer >= 0);
    fh_config(&H, npt ? NP_PROG_NPT : NP_PROG_SSHNP, &c);
    set_stdio(&c);
    c.stdio_fd = peer;
    fh_session(&H, &c);
    assert_int_equal(fh_run_until(&H, fh_ready_or_done, 20000), 0);
    assert_int_equal(H.ready, 1);
    assert_int_equal(H.rport, 0); /* no local port */
    tb_stream(42, data, sizeof(data));
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    while (got < sizeof(data) && np_mono_ms() < end) {
        ssize_t k;

        if (sent < sizeof(data) && (k = write(in[1], data + sent, sizeof(data) - sent)) > 0)
            sent += (size_t)k;
        if (sent == sizeof(data) && in[1] >= 0) {
            close(in[1]); /* EOF on our stdin */
            in[1] = -1;
        }
        if ((k = read(out[0], back + got, sizeof(back) - got)) > 0)
            got += (size_t)k;
        tb_run_for(H.base, 2);
    }
    assert_int_equal(got, sizeof(data));
    assert_memory_equal(data, back, sizeof(data));
    /* stdin's EOF travels to the echo server, whose EOF comes back */
    while (!x.done && np_mono_ms() < end)
        tb_run_for(H.base, 5);
    assert_int_equal(x.done, 1);
    assert_int_equal(x.err, 0);
    np_stdio_pipe_free(p);
    close(in[0]);
    close(out[0]);
    close(out[1]);
}

static void test_sshnp_stdio(void **state)
{
    (void)state;
    stdio_flow(0);
    assert_int_equal(fh_run_until(&H, fh_is_done, 5000), 0);
    assert_int_equal(H.dstatus, 0);
}

static void test_npt_stdio(void **state)
{
    (void)state;
    stdio_flow(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_sshnp_roundtrip),
        T(test_sshnp_twin_keys),
        T(test_sshnp_twin_asked_single_given),
        T(test_sshnp_csv_answer),
        T(test_sshnp_given_ephemeral_key),
        T(test_sshnp_ephemeral_key_ready_late),
        T(test_first_relay_answer_wins),
        T(test_sshnp_escr),
        T(test_sshnp_escr_needs_autodetect),
        T(test_sshnp_no_relay_auth),
        T(test_relay_timeout),
        T(test_relay_timeout_wins_over_ping),
        T(test_ping_timeout),
        T(test_daemon_silent),
        T(test_daemon_error),
        T(test_bad_signature),
        T(test_rotated_key_refetched),
        T(test_feature_missing),
        T(test_srauth_needed_only_when_authenticating),
        T(test_public_key),
        T(test_no_username),
        T(test_nack),
        T(test_bad_config),
        T(test_free_while_waiting),
        T(test_npt_five_connections),
        T(test_npt_timeout_needs_feature),
        T(test_npt_port_choice_needed),
        T(test_npt_heartbeats_only_when_accepted),
        T(test_sshnp_stdio),
        T(test_npt_stdio),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
