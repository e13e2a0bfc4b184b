/*
 * tests/unit/srvd/test_srvd_auth.c - per-socket relay authentication
 * (noports-wire.md 5.9, 5.10, 7.3): legacy lines, ESCR, auto-detection,
 * failures that must close the socket and never pair it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "srvd_testlib.h"
#include "np/envelope.h"
#include "np/escr.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/time.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define SID1 "5a5a5a5a-0000-4000-8000-000000000001"
#define SID2 "5a5a5a5a-0000-4000-8000-000000000002"
#define SID3 "5a5a5a5a-0000-4000-8000-000000000003"
#define SID4 "5a5a5a5a-0000-4000-8000-000000000004"

static struct tpeer *legacy_peer(struct th *t, int side_b, const struct th_session *s,
                                 const char *data)
{
    size_t n = 0;
    char *line = th_auth_line(t, side_b, s, &n);
    struct tpeer *p = tp_connect(t, side_b ? s->port_b : s->port_a);

    /* auth line and first data in one write: the data must survive */
    tp_send(p, line, n, 0);
    if (data)
        tp_send(p, data, strlen(data), 1);
    np_free(line);
    return p;
}

static void test_legacy_auth_pairs(void **state)
{
    struct th t;
    struct th_session s;
    struct tpeer *a, *b;
    struct relay_stats st;
    (void)state;

    th_init(&t);
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 1, 1, 0, &s), 0);
    a = legacy_peer(&t, 0, &s, "hello-from-A");
    b = legacy_peer(&t, 1, &s, "hello-from-B");
    assert_true(tp_wait_rx(b, 12, 3000));
    assert_true(tp_wait_rx(a, 12, 3000));
    assert_memory_equal(b->head, "hello-from-A", 12);
    assert_memory_equal(a->head, "hello-from-B", 12);
    /* then more data both ways, unchanged */
    tp_stream(a, 100000, 7);
    tp_stream(b, 50000, 8);
    assert_true(tp_wait_rx(b, 12 + 100000, 5000));
    assert_true(tp_wait_rx(a, 12 + 50000, 5000));
    assert_int_equal(b->rx_hash, a->tx_hash);
    assert_int_equal(a->rx_hash, b->tx_hash);
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.auth_legacy, 2);
    assert_int_equal(st.challenges, 0);
    assert_int_equal(st.pairs_created, 1);
    tp_free(a);
    tp_free(b);

    /* more sockets of the same session: keys were fetched once, not per socket */
    for (int i = 0; i < 3; i++) {
        a = legacy_peer(&t, 0, &s, "x");
        b = legacy_peer(&t, 1, &s, "y");
        assert_true(tp_wait_rx(b, 1, 3000));
        assert_true(tp_wait_rx(a, 1, 3000));
        tp_free(a);
        tp_free(b);
    }
    assert_int_equal(th_key_fetches(&t, "public:publickey@alice"), 1);
    assert_int_equal(th_key_fetches(&t, "public:publickey@device2"), 1);
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.auth_legacy, 8);
    th_done(&t);
}

/* An envelope over an arbitrary payload, signed with k, plus '\n'. */
static char *forged_line(const char *payload, const struct np_rsa_key *k)
{
    cJSON *p = cJSON_Parse(payload);
    char *env = NULL, *line;
    size_t n;

    assert_non_null(p);
    assert_int_equal(np_envelope_sign(k, p, &env), 0);
    cJSON_Delete(p);
    n = strlen(env);
    line = np_malloc(n + 2);
    assert_non_null(line);
    memcpy(line, env, n);
    line[n] = '\n';
    line[n + 1] = '\0';
    np_free(env);
    return line;
}

static void test_bad_auth_closed(void **state)
{
    struct th t;
    struct th_session s, wrong;
    struct tpeer *b, *p[7], *a;
    struct relay_stats st;
    char *line, payload[512];
    size_t n;
    int64_t t0;
    (void)state;

    th_init(&t);
    t.cfg.auth_timeout_ms = 500;
    th_start(&t);
    /* authenticate side A only; B is paired without auth */
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 1, 0, 0, &s), 0);
    b = tp_connect(&t, s.port_b);

    /* 0: signed with the daemon's key on port A */
    line = th_auth_line(&t, 1, &s, &n);
    p[0] = tp_connect(&t, s.port_a);
    tp_send(p[0], line, n, 0);
    np_free(line);
    /* 1: another relay nonce */
    wrong = s;
    snprintf(wrong.rvd_nonce, sizeof(wrong.rvd_nonce), "2020-01-01T00:00:00.000000");
    line = th_auth_line(&t, 0, &wrong, &n);
    p[1] = tp_connect(&t, s.port_a);
    tp_send(p[1], line, n, 0);
    np_free(line);
    /* 2: correctly signed by alice, but the payload has an extra member */
    snprintf(payload, sizeof(payload),
             "{\"sessionId\":\"%s\",\"clientNonce\":\"%s\",\"rvdNonce\":\"%s\",\"x\":1}", s.sid,
             s.client_nonce, s.rvd_nonce);
    line = forged_line(payload, t.alice_enc);
    p[2] = tp_connect(&t, s.port_a);
    tp_send(p[2], line, strlen(line), 0);
    np_free(line);
    /* 3: not JSON at all */
    p[3] = tp_connect(&t, s.port_a);
    tp_send(p[3], "SSH-2.0-OpenSSH\r\n", 17, 0);
    /* 4: a line that never ends: over 4096 bytes */
    {
        static char big[5000];
        memset(big, 'a', sizeof(big));
        big[0] = '{';
        p[4] = tp_connect(&t, s.port_a);
        tp_send(p[4], big, sizeof(big), 0);
    }
    /* 5: malformed JSON line */
    p[5] = tp_connect(&t, s.port_a);
    tp_send(p[5], "{\"payload\":\n", 12, 0);
    /* 6: starts a line and stalls: closed at the deadline */
    t0 = np_mono_ms();
    p[6] = tp_connect(&t, s.port_a);
    tp_send(p[6], "{\"pay", 5, 0);

    for (int i = 0; i < 6; i++)
        assert_true(tp_wait_eof(p[i], 3000));
    assert_true(tp_wait_eof(p[6], 3000));
    assert_true(np_mono_ms() - t0 >= 450);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(p[i]->rx, 0); /* nothing was ever forwarded to them */
        tp_free(p[i]);
    }
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.auth_failed, 7);
    assert_int_equal(st.pairs_created, 0);
    assert_false(b->eof);
    assert_int_equal(b->rx, 0);

    /* a good A still pairs with the waiting B */
    a = legacy_peer(&t, 0, &s, "good");
    assert_true(tp_wait_rx(b, 4, 3000));
    assert_memory_equal(b->head, "good", 4);
    tp_free(a);
    tp_free(b);
    th_done(&t);

    /* the client's public key cannot be found: sockets fail */
    th_init(&t);
    th_key_set(&t, "public:publickey@alice", NULL);
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID2, 1, 0, 0, &s), 0);
    a = legacy_peer(&t, 0, &s, NULL);
    assert_true(tp_wait_eof(a, 3000));
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.auth_failed, 1);
    assert_int_equal(st.auth_ok, 0);
    tp_free(a);
    th_done(&t);
}

/* Connect a silent ESCR peer, wait for its challenge; *ms = time it took. */
static struct tpeer *escr_connect(struct th *t, int port, char *challenge, size_t size, int64_t *ms)
{
    int64_t t0 = np_mono_ms();
    struct tpeer *p = tp_connect(t, port);

    assert_int_equal(tp_wait_line(p, challenge, size, 3000), 0);
    if (ms)
        *ms = np_mono_ms() - t0;
    assert_int_equal(strlen(challenge), NP_ESCR_CHALLENGE_LEN);
    return p;
}

static void test_escr(void **state)
{
    struct th t;
    struct th_session s;
    struct tpeer *a, *b, *x;
    struct relay_stats st;
    char ch[128], ch2[128], reply[128], *line, *line_a1;
    size_t n, n_a1;
    int64_t ms;
    (void)state;

    th_init(&t);
    t.cfg.detect_ms = 400;
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 1, 1, TH_REQ_JSON | TH_REQ_ESCR, &s),
                     0);
    /* side A: silent, so challenged after the detection window */
    a = escr_connect(&t, s.port_a, ch, sizeof(ch), &ms);
    assert_true(ms >= 380);
    line_a1 = th_escr_line(&t, 'a', t.alice_pkam, TH_SK_ALICE, s.sid, ch, &n_a1);
    tp_send(a, line_a1, n_a1, 0);
    assert_int_equal(tp_wait_line(a, reply, sizeof(reply), 3000), 0);
    assert_string_equal(reply, "ok");
    /* side B */
    b = escr_connect(&t, s.port_b, ch2, sizeof(ch2), NULL);
    assert_string_not_equal(ch, ch2);
    line = th_escr_line(&t, 'b', t.dev_pkam, TH_SK_DEVICE, s.sid, ch2, &n);
    tp_send(b, line, n, 0);
    np_free(line);
    assert_int_equal(tp_wait_line(b, reply, sizeof(reply), 3000), 0);
    assert_string_equal(reply, "ok");
    /* paired: data both ways */
    tp_reset_rx(a);
    tp_reset_rx(b);
    tp_stream(a, 200000, 11);
    tp_stream(b, 200000, 12);
    assert_true(tp_wait_rx(b, 200000, 5000));
    assert_true(tp_wait_rx(a, 200000, 5000));
    assert_int_equal(b->rx_hash, a->tx_hash);
    assert_int_equal(a->rx_hash, b->tx_hash);
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.auth_escr, 2);
    assert_int_equal(st.pairs_created, 1);

    /* a new A socket: the side is known to speak ESCR, so no window; the
     * challenge is fresh, and replaying the first response fails */
    x = escr_connect(&t, s.port_a, ch2, sizeof(ch2), &ms);
    assert_true(ms < 300);
    assert_string_not_equal(ch, ch2);
    tp_send(x, line_a1, n_a1, 0);
    assert_int_equal(tp_wait_line(x, reply, sizeof(reply), 3000), 0);
    assert_string_equal(reply, "Socket auth failed");
    assert_true(tp_wait_eof(x, 3000));
    tp_free(x);

    /* wrong side: a B socket answering as side a */
    x = escr_connect(&t, s.port_b, ch2, sizeof(ch2), NULL);
    line = th_escr_line(&t, 'a', t.alice_pkam, TH_SK_ALICE, s.sid, ch2, &n);
    tp_send(x, line, n, 0);
    np_free(line);
    assert_int_equal(tp_wait_line(x, reply, sizeof(reply), 3000), 0);
    assert_string_equal(reply, "Socket auth failed");
    assert_true(tp_wait_eof(x, 3000));
    tp_free(x);

    /* right side and URI, but signed with another key */
    x = escr_connect(&t, s.port_a, ch2, sizeof(ch2), NULL);
    line = th_escr_line(&t, 'a', t.dev_pkam, TH_SK_ALICE, s.sid, ch2, &n);
    tp_send(x, line, n, 0);
    np_free(line);
    assert_int_equal(tp_wait_line(x, reply, sizeof(reply), 3000), 0);
    assert_string_equal(reply, "Socket auth failed");
    assert_true(tp_wait_eof(x, 3000));
    tp_free(x);

    /* not printable */
    x = escr_connect(&t, s.port_a, ch2, sizeof(ch2), NULL);
    tp_send(x, SID1 ":\x01\x02\n", strlen(SID1) + 4, 0);
    assert_int_equal(tp_wait_line(x, reply, sizeof(reply), 3000), 0);
    assert_string_equal(reply, "Socket auth failed");
    assert_true(tp_wait_eof(x, 3000));
    tp_free(x);

    relay_get_stats(t.relay, &st);
    assert_int_equal(st.pairs_created, 1);
    assert_int_equal(st.auth_failed, 4);
    /* one signing-key lookup per side for the whole session */
    assert_int_equal(th_key_fetches(&t, TH_SK_ALICE), 1);
    assert_int_equal(th_key_fetches(&t, TH_SK_DEVICE), 1);
    np_free(line_a1);
    tp_free(a);
    tp_free(b);
    th_done(&t);
}

static void test_auto_detect(void **state)
{
    struct th t;
    struct th_session s;
    struct tpeer *p;
    struct relay_stats st;
    char ch[128], reply[64], *line;
    size_t n;
    int64_t ms;
    (void)state;

    th_init(&t);
    t.cfg.detect_ms = 300;
    t.cfg.auth_timeout_ms = 1500;
    th_start(&t);

    /* '{' first: legacy, no challenge is ever sent */
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 1, 0, TH_REQ_ESCR, &s), 0);
    p = legacy_peer(&t, 0, &s, NULL);
    th_run_for(&t, 500);
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.auth_legacy, 1);
    assert_int_equal(st.challenges, 0);
    assert_int_equal(p->rx, 0);
    assert_false(p->eof);
    tp_free(p);

    /* silence: ESCR challenge after the window */
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID2, 1, 0, TH_REQ_ESCR, &s), 0);
    p = escr_connect(&t, s.port_a, ch, sizeof(ch), &ms);
    assert_true(ms >= 290);
    line = th_escr_line(&t, 'a', t.alice_pkam, TH_SK_ALICE, s.sid, ch, &n);
    tp_send(p, line, n, 0);
    np_free(line);
    assert_int_equal(tp_wait_line(p, reply, sizeof(reply), 3000), 0);
    assert_string_equal(reply, "ok");
    tp_free(p);

    /* anything else first: closed (a fresh session: this side's mode is not
     * yet known to be ESCR, so the bytes arrive inside the window) */
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID4, 1, 0, TH_REQ_ESCR, &s), 0);
    p = tp_connect(&t, s.port_a);
    tp_send(p, "GET / HTTP/1.1\r\n", 16, 0);
    assert_true(tp_wait_eof(p, 3000));
    tp_free(p);

    /* no relayAuthAesKey in the request: a silent socket is never challenged,
     * and is closed at the deadline */
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID3, 1, 0, 0, &s), 0);
    p = tp_connect(&t, s.port_a);
    assert_true(tp_wait_eof(p, 3000));
    assert_int_equal(p->rx, 0);
    tp_free(p);
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.challenges, 1);
    assert_int_equal(st.auth_ok, 2);
    assert_int_equal(st.auth_failed, 2);
    th_done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_auth_pairs),
        cmocka_unit_test(test_bad_auth_closed),
        cmocka_unit_test(test_escr),
        cmocka_unit_test(test_auto_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
