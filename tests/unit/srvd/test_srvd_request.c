/*
 * tests/unit/srvd/test_srvd_request.c - the relay's request handling
 * (noports-wire.md 7.1, 5.8): answers, NACKs, the manager check, limits,
 * the auth_modes hint, grace timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "srvd_testlib.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>

#define SID1 "0f0e0d0c-1111-4222-8333-444455556666"
#define SID2 "0f0e0d0c-1111-4222-8333-444455556667"
#define SID3 "0f0e0d0c-1111-4222-8333-444455556668"

static void test_request_gets_ports(void **state)
{
    struct th t;
    struct th_session s;
    struct th_notice *n;
    struct tpeer *a, *b;
    struct relay_stats st;
    (void)state;

    th_init(&t);
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    n = th_last_notice(&t);
    assert_string_equal(n->to, TH_ALICE);
    assert_string_equal(n->key, SID1 ".sshrvd");
    assert_int_equal(n->ttl_ms, 10000);
    /* CSV: <address>,<portA>,<portB>,<rvdNonce> */
    {
        char want[128];
        snprintf(want, sizeof(want), "127.0.0.1,%d,%d,%s", s.port_a, s.port_b, s.rvd_nonce);
        assert_string_equal(n->value, want);
    }
    assert_true(s.port_a > 0 && s.port_b > 0 && s.port_a != s.port_b);
    assert_int_equal(strlen(s.rvd_nonce), 26); /* ISO-8601 with microseconds */
    assert_true(relay_session_exists(t.relay, SID1));

    /* both ports accept */
    a = tp_connect(&t, s.port_a);
    b = tp_connect(&t, s.port_b);
    th_run_for(&t, 50);
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.sockets_accepted, 2);
    assert_int_equal(st.pairs_live, 1);
    tp_free(a);
    tp_free(b);

    /* JSON form when asked, members in spec order */
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID2, 1, 1, TH_REQ_JSON, &s), 0);
    n = th_last_notice(&t);
    {
        char want[256];
        snprintf(want, sizeof(want),
                 "{\"address\":\"127.0.0.1\",\"portA\":%d,\"portB\":%d,\"rvdNonce\":\"%s\","
                 "\"supportsEventLogging\":false,\"autoDetectsRelayAuth\":true}",
                 s.port_a, s.port_b, s.rvd_nonce);
        assert_string_equal(n->value, want);
    }

    /* the same session id again: refused; NACK only with multipleAcksOk */
    int before = t.n_notices;
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID2, 1, 1, TH_REQ_JSON, NULL),
                     NP_ERR_EXISTS);
    assert_int_equal(t.n_notices, before);
    assert_int_equal(
        th_request(&t, TH_ALICE, TH_ALICE, SID2, 1, 1, TH_REQ_JSON | TH_REQ_ACKS, NULL),
        NP_ERR_EXISTS);
    assert_int_equal(t.n_notices, before + 1);
    n = th_last_notice(&t);
    assert_int_equal(n->is_nack, 1);
    assert_string_equal(n->key, "nack." SID2 ".sshrvd");
    assert_string_equal(n->to, TH_ALICE);
    assert_string_equal(n->value, np_relay_nack_text(NP_RELAY_NACK_SESSION_EXISTS));
    th_done(&t);
}

static void test_legacy_and_other_keys(void **state)
{
    struct th t;
    struct th_notice *n;
    struct np_relay_answer *a = NULL;
    const char *v = SID3;
    (void)state;

    th_init(&t);
    th_start(&t);
    assert_int_equal(
        relay_handle_request(t.relay, "@alice", "@relay:dev1.sshrvd@alice", v, strlen(v)), 0);
    n = th_last_notice(&t);
    assert_non_null(n);
    assert_string_equal(n->key, SID3 ".sshrvd");
    assert_int_equal(np_relay_answer_parse(n->value, strlen(n->value), &a), 0);
    assert_null(a->rvd_nonce); /* legacy answers carry the literal null */
    assert_non_null(strstr(n->value, ",null"));
    np_relay_answer_free(a);
    /* not relay requests: ignored without an answer */
    assert_int_equal(relay_handle_request(t.relay, "@alice", "@relay:dev1.sshnp@alice", "x", 1),
                     NP_ERR_UNSUPPORTED);
    assert_int_equal(
        relay_handle_request(t.relay, "@alice", "@relay:logging.s.sessions.sshrvd@alice", "{}", 2),
        NP_ERR_UNSUPPORTED);
    /* malformed request_ports */
    assert_int_equal(relay_handle_request(t.relay, "@alice",
                                          "@relay:dev1.request_ports.sshrvd@alice", "{\"x\":1}", 7),
                     NP_ERR_FORMAT);
    assert_int_equal(t.n_notices, 1);
    /* session ids that cannot be part of a key are refused */
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, "a.b", 0, 0, 0, NULL), NP_ERR_FORMAT);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, "a b", 0, 0, 0, NULL), NP_ERR_FORMAT);
    assert_int_equal(t.n_notices, 1);
    th_done(&t);
}

static void test_manager_check(void **state)
{
    struct th t;
    struct th_session s;
    (void)state;

    th_init(&t);
    t.cfg.manager = "@alice";
    th_start(&t);
    /* a forged atSignA: the sender is not the manager */
    assert_int_equal(th_request(&t, "@mallory", TH_ALICE, SID1, 0, 0, TH_REQ_ACKS, NULL),
                     NP_ERR_PERM);
    /* the sender's own atSign, not the manager */
    assert_int_equal(th_request(&t, "@mallory", "@mallory", SID1, 0, 0, TH_REQ_ACKS, NULL),
                     NP_ERR_PERM);
    /* unauthorized senders get no answer at all, not even a NACK */
    assert_int_equal(t.n_notices, 0);
    assert_false(relay_session_exists(t.relay, SID1));
    /* the manager itself (atSign compared case-insensitively) */
    assert_int_equal(th_request(&t, "@Alice", TH_ALICE, SID1, 0, 0, 0, &s), 0);
    assert_int_equal(t.n_notices, 1);
    th_done(&t);

    /* open relay: atSignA must still be the sender */
    th_init(&t);
    th_start(&t);
    assert_int_equal(th_request(&t, "@mallory", TH_ALICE, SID1, 0, 0, 0, NULL), NP_ERR_PERM);
    assert_int_equal(t.n_notices, 0);
    assert_int_equal(th_request(&t, "@mallory", "@mallory", SID1, 0, 0, 0, &s), 0);
    th_done(&t);
}

static void test_limits(void **state)
{
    struct th t;
    struct th_session s;
    struct relay_stats st;
    struct tpeer *p[3];
    (void)state;

    /* max sessions */
    th_init(&t);
    t.cfg.max_sessions = 2;
    t.cfg.max_sockets_per_session = 2;
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, &s), 0);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID2, 0, 0, 0, NULL), 0);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID3, 0, 0, TH_REQ_ACKS, NULL),
                     NP_ERR_LIMIT);
    assert_string_equal(th_last_notice(&t)->value, np_relay_nack_text(NP_RELAY_NACK_SESSION_LIMIT));
    assert_false(relay_session_exists(t.relay, SID3));
    /* max sockets per session: the third connection is closed at once */
    p[0] = tp_connect(&t, s.port_a);
    p[1] = tp_connect(&t, s.port_a);
    th_run_for(&t, 50);
    p[2] = tp_connect(&t, s.port_a);
    assert_true(tp_wait_eof(p[2], 2000));
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.sockets_accepted, 3);
    assert_int_equal(st.sockets_rejected, 1);
    assert_false(p[0]->eof);
    assert_false(p[1]->eof);
    for (int i = 0; i < 3; i++)
        tp_free(p[i]);
    th_done(&t);

    /* per-sender rate limit: burst of 3 */
    th_init(&t);
    t.cfg.rate_per_min = 60;
    t.cfg.rate_burst = 3;
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, "r1", 0, 0, 0, NULL), 0);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, "r2", 0, 0, 0, NULL), 0);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, "r3", 0, 0, 0, NULL), 0);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, "r4", 0, 0, 0, NULL), NP_ERR_LIMIT);
    assert_int_equal(th_request(&t, "@ALICE", "@ALICE", "r5", 0, 0, 0, NULL), NP_ERR_LIMIT);
    /* another sender has its own bucket */
    assert_int_equal(th_request(&t, "@bob", "@bob", "r6", 0, 0, 0, NULL), 0);
    relay_get_stats(t.relay, &st);
    assert_int_equal(st.rate_limited, 2);
    /* one token per second comes back */
    th_run_for(&t, 1100);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, "r7", 0, 0, 0, NULL), 0);
    th_done(&t);

    /* only443 is not offered; a bad relayAuthAesKey is refused */
    th_init(&t);
    th_start(&t);
    {
        const char *q = "{\"sessionId\":\"x1\",\"atSignA\":\"@alice\",\"atSignB\":\"@b\","
                        "\"authenticateSocketA\":true,\"authenticateSocketB\":true,"
                        "\"clientNonce\":\"n\",\"only443\":true,\"multipleAcksOk\":true}";
        assert_int_equal(relay_handle_request(t.relay, "@alice",
                                              "@relay:d.request_ports.sshrvd@alice", q, strlen(q)),
                         NP_ERR_UNSUPPORTED);
        assert_string_equal(th_last_notice(&t)->value, np_relay_nack_text(NP_RELAY_NACK_NO_443));
        q = "{\"sessionId\":\"x2\",\"atSignA\":\"@alice\",\"atSignB\":\"@b\","
            "\"authenticateSocketA\":true,\"authenticateSocketB\":true,"
            "\"clientNonce\":\"n\",\"relayAuthAesKey\":\"c2hvcnQ=\"}";
        assert_int_equal(relay_handle_request(t.relay, "@alice",
                                              "@relay:d.request_ports.sshrvd@alice", q, strlen(q)),
                         NP_ERR_FORMAT);
        assert_int_equal(relay_session_count(t.relay), 0);
    }
    /* the outbox cannot send: no session is left behind */
    t.outbox_fail = 1;
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 0, 0, 0, NULL), NP_ERR_IO);
    assert_int_equal(relay_session_count(t.relay), 0);
    th_done(&t);
}

static int no_sessions(void *arg)
{
    return relay_session_count(arg) == 0;
}

static void test_grace_timeout(void **state)
{
    struct th t;
    struct th_session s;
    struct tpeer *a, *b;
    int64_t t0;
    (void)state;

    th_init(&t);
    t.cfg.grace_ms = 200;
    th_start(&t);
    t0 = np_mono_ms();
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 1, 1, 0, &s), 0);
    assert_false(th_port_closed(s.port_a));
    /* an unauthenticated-but-pending socket does not keep the session alive */
    a = tp_connect(&t, s.port_a);
    assert_true(th_run_until(&t, no_sessions, t.relay, 3000));
    assert_true(np_mono_ms() - t0 >= 190);
    assert_true(tp_wait_eof(a, 1000));
    /* the ports are free again */
    assert_true(th_port_closed(s.port_a));
    assert_true(th_port_closed(s.port_b));
    tp_free(a);

    /* a session whose pair outlives the grace period ends with the pair */
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID2, 0, 0, 0, &s), 0);
    a = tp_connect(&t, s.port_a);
    b = tp_connect(&t, s.port_b);
    th_run_for(&t, 400);
    assert_true(relay_session_exists(t.relay, SID2));
    tp_send(a, "ping", 4, 1);
    assert_true(tp_wait_rx(b, 4, 2000));
    tp_free(a);
    tp_free(b);
    assert_true(th_run_until(&t, no_sessions, t.relay, 3000));
    assert_true(th_port_closed(s.port_a));
    th_done(&t);
}

static void test_auth_modes_hint(void **state)
{
    struct th t;
    struct th_session s;
    char *hint = NULL;
    const char *key = "@relay:dev1.auth_modes.sshrvd@alice";
    (void)state;

    th_init(&t);
    th_start(&t);
    assert_int_equal(th_request(&t, TH_ALICE, TH_ALICE, SID1, 1, 1, TH_REQ_JSON | TH_REQ_ESCR, &s),
                     0);
    /* wrong nonce, wrong sender, unknown session */
    assert_int_equal(np_relay_auth_modes_build(SID1, "not-the-nonce", NP_RELAY_AUTH_PAYLOAD,
                                               NP_RELAY_AUTH_ESCR, &hint),
                     0);
    assert_int_equal(relay_handle_request(t.relay, "@alice", key, hint, strlen(hint)), NP_ERR_PERM);
    np_free(hint);
    assert_int_equal(np_relay_auth_modes_build(SID1, s.rvd_nonce, NP_RELAY_AUTH_PAYLOAD,
                                               NP_RELAY_AUTH_ESCR, &hint),
                     0);
    assert_int_equal(relay_handle_request(t.relay, "@device2", "@relay:dev1.auth_modes.sshrvd@d",
                                          hint, strlen(hint)),
                     NP_ERR_PERM);
    assert_int_equal(relay_handle_request(t.relay, "@alice", key, hint, strlen(hint)), 0);
    np_free(hint);
    assert_int_equal(np_relay_auth_modes_build("nosuch", s.rvd_nonce, NP_RELAY_AUTH_PAYLOAD,
                                               NP_RELAY_AUTH_ESCR, &hint),
                     0);
    assert_int_equal(relay_handle_request(t.relay, "@alice", key, hint, strlen(hint)),
                     NP_ERR_NOTFOUND);
    np_free(hint);
    th_done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_gets_ports), cmocka_unit_test(test_legacy_and_other_keys),
        cmocka_unit_test(test_manager_check),      cmocka_unit_test(test_limits),
        cmocka_unit_test(test_grace_timeout),      cmocka_unit_test(test_auth_modes_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
