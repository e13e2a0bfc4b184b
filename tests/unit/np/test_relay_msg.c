/* tests/unit/np/test_relay_msg.c - relay notification payloads (noports-wire.md 5.8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

#define BASE_REQ                                                                                   \
    "{\"sessionId\":\"6c4d4ad6-5f2b-4c38-9a4e-6a8b1c2d3e4f\",\"atSignA\":\"@alice\","              \
    "\"atSignB\":\"@bob\",\"authenticateSocketA\":true,\"authenticateSocketB\":false,"             \
    "\"clientNonce\":\"2024-07-04T06:12:10.792736\"}"

static int parse_req(const char *s, struct np_relay_request **out)
{
    return np_relay_request_parse(s, strlen(s), out);
}

static void test_request_baseline(void **state)
{
    struct np_relay_request *r = NULL;
    (void)state;

    assert_int_equal(parse_req(BASE_REQ, &r), 0);
    assert_non_null(r);
    assert_string_equal(r->session_id, "6c4d4ad6-5f2b-4c38-9a4e-6a8b1c2d3e4f");
    assert_string_equal(r->atsign_a, "@alice");
    assert_string_equal(r->atsign_b, "@bob");
    assert_int_equal(r->authenticate_a, 1);
    assert_int_equal(r->authenticate_b, 0);
    assert_string_equal(r->client_nonce, "2024-07-04T06:12:10.792736");
    /* NEWER defaults */
    assert_int_equal(r->relay_auth_mode, NP_RELAY_AUTH_PAYLOAD);
    assert_null(r->relay_auth_aes_key);
    assert_int_equal(r->only443, 0);
    assert_int_equal(r->multiple_acks_ok, 0);
    assert_int_equal(r->send_json_response, 0);
    assert_int_equal(r->n_pre_fetch, 0);
    assert_null(r->pre_fetch);
    assert_int_equal(r->legacy, 0);
    np_relay_request_free(r);
}

static void test_request_newer(void **state)
{
    const char *s = "{\"sessionId\":\"s1\",\"atSignA\":\"@a\",\"atSignB\":\"@b\","
                    "\"authenticateSocketA\":true,\"authenticateSocketB\":true,"
                    "\"clientNonce\":\"n\",\"relayAuthMode\":\"escr\","
                    "\"relayAuthAesKey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
                    "\"only443\":false,\"multipleAcksOk\":true,"
                    "\"preFetch\":[\"public:publickey@b\",\"public:x@a\"],"
                    "\"sendJsonResponse\":true,\"futureThing\":{\"x\":[1,2]},\"another\":7}";
    struct np_relay_request *r = NULL;
    (void)state;

    assert_int_equal(parse_req(s, &r), 0);
    assert_int_equal(r->relay_auth_mode, NP_RELAY_AUTH_ESCR);
    assert_string_equal(r->relay_auth_aes_key, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    assert_int_equal(r->only443, 0);
    assert_int_equal(r->multiple_acks_ok, 1);
    assert_int_equal(r->send_json_response, 1);
    assert_int_equal(r->n_pre_fetch, 2);
    assert_string_equal(r->pre_fetch[0], "public:publickey@b");
    assert_string_equal(r->pre_fetch[1], "public:x@a");
    np_relay_request_free(r);

    /* null key and null preFetch are accepted as "none" */
    s = "{\"sessionId\":\"s1\",\"atSignA\":\"@a\",\"atSignB\":\"@b\","
        "\"authenticateSocketA\":false,\"authenticateSocketB\":false,"
        "\"clientNonce\":\"n\",\"relayAuthAesKey\":null,\"preFetch\":null}";
    assert_int_equal(parse_req(s, &r), 0);
    assert_null(r->relay_auth_aes_key);
    assert_int_equal(r->n_pre_fetch, 0);
    np_relay_request_free(r);
}

static void test_request_bad(void **state)
{
    static const char *bad[] = {
        "[]",
        "\"x\"",
        "{}",
        "{\"sessionId\":\"s\"}",
        /* wrong types */
        "{\"sessionId\":1,\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\"}",
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":"
        "\"true\",\"authenticateSocketB\":true,\"clientNonce\":\"n\"}",
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":1,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\"}",
        /* missing authenticateSocketB */
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"clientNonce\":\"n\"}",
        /* missing clientNonce */
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true}",
        /* empty required string */
        "{\"sessionId\":\"\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\"}",
        /* null required string */
        "{\"sessionId\":\"s\",\"atSignA\":null,\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\"}",
        /* NEWER members with wrong types / values */
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\",\"relayAuthMode\":\"ESCR\"}",
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\",\"only443\":\"no\"}",
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\",\"multipleAcksOk\":0}",
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\",\"sendJsonResponse\":null}",
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\",\"preFetch\":\"public:x@a\"}",
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\",\"preFetch\":[\"a\",3]}",
        "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\",\"authenticateSocketA\":true,"
        "\"authenticateSocketB\":true,\"clientNonce\":\"n\",\"relayAuthAesKey\":5}",
        /* embedded NUL escape */
        "{\"sessionId\":\"s\\u0000x\",\"atSignA\":\"@a\",\"atSignB\":\"@b\","
        "\"authenticateSocketA\":true,\"authenticateSocketB\":true,\"clientNonce\":\"n\"}",
        /* trailing garbage, broken syntax */
        BASE_REQ "x",
        "{\"sessionId\":\"s\",",
        "",
    };
    struct np_relay_request *r = (struct np_relay_request *)1;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse_req(bad[i], &r);
        if (rc != NP_ERR_FORMAT)
            fprintf(stderr, "case %zu: %d\n", i, rc);
        assert_int_equal(rc, NP_ERR_FORMAT);
        assert_null(r);
    }
    /* an escaped backslash followed by u0000 is just text */
    const char *ok = "{\"sessionId\":\"s\\\\u0000\",\"atSignA\":\"@a\",\"atSignB\":\"@b\","
                     "\"authenticateSocketA\":true,\"authenticateSocketB\":true,"
                     "\"clientNonce\":\"n\"}";
    assert_int_equal(parse_req(ok, &r), 0);
    assert_string_equal(r->session_id, "s\\u0000");
    np_relay_request_free(r);
}

static void test_request_limits(void **state)
{
    char big[NP_RELAY_MSG_MAX + 64];
    char field[NP_RELAY_FIELD_MAX + 2];
    struct np_relay_request *r = NULL;
    (void)state;

    memset(field, 'x', sizeof(field) - 1);
    field[sizeof(field) - 1] = '\0';
    snprintf(big, sizeof(big),
             "{\"sessionId\":\"%s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\","
             "\"authenticateSocketA\":true,\"authenticateSocketB\":true,\"clientNonce\":\"n\"}",
             field);
    assert_int_equal(parse_req(big, &r), NP_ERR_TOOBIG);
    assert_null(r);
    /* exactly at the field limit is fine */
    field[NP_RELAY_FIELD_MAX] = '\0';
    snprintf(big, sizeof(big),
             "{\"sessionId\":\"%s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\","
             "\"authenticateSocketA\":true,\"authenticateSocketB\":true,\"clientNonce\":\"n\"}",
             field);
    assert_int_equal(parse_req(big, &r), 0);
    assert_int_equal(strlen(r->session_id), NP_RELAY_FIELD_MAX);
    np_relay_request_free(r);
    r = NULL;
    /* whole text over the maximum */
    memset(big, ' ', sizeof(big));
    memcpy(big, BASE_REQ, strlen(BASE_REQ));
    assert_int_equal(np_relay_request_parse(big, NP_RELAY_MSG_MAX + 1, &r), NP_ERR_TOOBIG);
    assert_null(r);
    /* too many preFetch URIs */
    {
        char txt[2048];
        size_t o = (size_t)snprintf(txt, sizeof(txt),
                                    "{\"sessionId\":\"s\",\"atSignA\":\"@a\",\"atSignB\":\"@b\","
                                    "\"authenticateSocketA\":true,\"authenticateSocketB\":true,"
                                    "\"clientNonce\":\"n\",\"preFetch\":[");
        for (int i = 0; i <= NP_RELAY_PREFETCH_MAX; i++)
            o += (size_t)snprintf(txt + o, sizeof(txt) - o, "%s\"u%d\"", i ? "," : "", i);
        snprintf(txt + o, sizeof(txt) - o, "]}");
        assert_int_equal(parse_req(txt, &r), NP_ERR_TOOBIG);
        assert_null(r);
    }
}

static void test_request_legacy(void **state)
{
    struct np_relay_request *r = NULL;
    const char *v = " 0b1c2d3e-aaaa-bbbb-cccc-000000000001\n";
    (void)state;

    assert_int_equal(np_relay_request_legacy("@alice", v, strlen(v), &r), 0);
    assert_string_equal(r->session_id, "0b1c2d3e-aaaa-bbbb-cccc-000000000001");
    assert_string_equal(r->atsign_a, "@alice");
    assert_null(r->atsign_b);
    assert_null(r->client_nonce);
    assert_int_equal(r->authenticate_a, 0);
    assert_int_equal(r->authenticate_b, 0);
    assert_int_equal(r->legacy, 1);
    np_relay_request_free(r);
    r = NULL;
    assert_int_equal(np_relay_request_legacy("@alice", "  ", 2, &r), NP_ERR_FORMAT);
    assert_int_equal(np_relay_request_legacy("@alice", "a\x01", 2, &r), NP_ERR_FORMAT);
    assert_int_equal(np_relay_request_legacy("", "abc", 3, &r), NP_ERR_INVAL);
    assert_null(r);
}

static void test_request_build(void **state)
{
    struct np_relay_request q;
    char *pf[] = {"public:publickey@bob"};
    char *s = NULL;
    struct np_relay_request *back = NULL;
    (void)state;

    memset(&q, 0, sizeof(q));
    q.session_id = "6c4d4ad6-5f2b-4c38-9a4e-6a8b1c2d3e4f";
    q.atsign_a = "@alice";
    q.atsign_b = "@bob";
    q.authenticate_a = 1;
    q.authenticate_b = 0;
    q.client_nonce = "2024-07-04T06:12:10.792736";
    assert_int_equal(np_relay_request_build(&q, 0, &s), 0);
    assert_string_equal(s, BASE_REQ);
    np_free(s);

    q.authenticate_b = 1;
    q.relay_auth_mode = NP_RELAY_AUTH_PAYLOAD;
    q.multiple_acks_ok = 1;
    q.send_json_response = 1;
    q.pre_fetch = pf;
    q.n_pre_fetch = 1;
    assert_int_equal(np_relay_request_build(&q, NP_RELAY_REQ_NEWER, &s), 0);
    assert_string_equal(
        s, "{\"sessionId\":\"6c4d4ad6-5f2b-4c38-9a4e-6a8b1c2d3e4f\",\"atSignA\":\"@alice\","
           "\"atSignB\":\"@bob\",\"authenticateSocketA\":true,\"authenticateSocketB\":true,"
           "\"clientNonce\":\"2024-07-04T06:12:10.792736\",\"relayAuthMode\":\"payload\","
           "\"relayAuthAesKey\":null,\"only443\":false,\"multipleAcksOk\":true,"
           "\"preFetch\":[\"public:publickey@bob\"],\"sendJsonResponse\":true}");
    /* round trip */
    assert_int_equal(parse_req(s, &back), 0);
    assert_string_equal(back->session_id, q.session_id);
    assert_int_equal(back->authenticate_b, 1);
    assert_int_equal(back->multiple_acks_ok, 1);
    assert_int_equal(back->n_pre_fetch, 1);
    assert_string_equal(back->pre_fetch[0], "public:publickey@bob");
    np_relay_request_free(back);
    np_free(s);
    s = NULL;

    q.client_nonce = NULL;
    assert_int_equal(np_relay_request_build(&q, 0, &s), NP_ERR_INVAL);
    assert_null(s);
}

static void test_answer_build(void **state)
{
    struct np_relay_answer a;
    char *s = NULL;
    (void)state;

    assert_int_equal(np_relay_answer_build_csv("relay.example.com", 40001, 40002,
                                               "2024-07-04T06:12:11.000001", &s),
                     0);
    assert_string_equal(s, "relay.example.com,40001,40002,2024-07-04T06:12:11.000001");
    np_free(s);
    assert_int_equal(np_relay_answer_build_csv("10.0.0.1", 1, 65535, NULL, &s), 0);
    assert_string_equal(s, "10.0.0.1,1,65535,null");
    np_free(s);
    s = NULL;
    assert_int_equal(np_relay_answer_build_csv("a,b", 1, 2, "n", &s), NP_ERR_INVAL);
    assert_int_equal(np_relay_answer_build_csv("a", 0, 2, "n", &s), NP_ERR_INVAL);
    assert_int_equal(np_relay_answer_build_csv("a", 1, 65536, "n", &s), NP_ERR_INVAL);
    assert_int_equal(np_relay_answer_build_csv("", 1, 2, "n", &s), NP_ERR_INVAL);
    assert_int_equal(np_relay_answer_build_csv("a", 1, 2, "x\ny", &s), NP_ERR_INVAL);
    assert_null(s);

    memset(&a, 0, sizeof(a));
    a.address = "192.0.2.7";
    a.port_a = 40001;
    a.port_b = 40002;
    a.rvd_nonce = "2024-07-04T06:12:11.000001";
    a.supports_event_logging = 0;
    a.auto_detects_relay_auth = 1;
    assert_int_equal(np_relay_answer_build_json(&a, &s), 0);
    assert_string_equal(s, "{\"address\":\"192.0.2.7\",\"portA\":40001,\"portB\":40002,"
                           "\"rvdNonce\":\"2024-07-04T06:12:11.000001\","
                           "\"supportsEventLogging\":false,\"autoDetectsRelayAuth\":true}");
    np_free(s);
}

static void test_answer_parse(void **state)
{
    struct np_relay_answer *a = NULL;
    const char *s;
    (void)state;

    s = "relay.example.com,40001,40002,2024-07-04T06:12:11.000001";
    assert_int_equal(np_relay_answer_parse(s, strlen(s), &a), 0);
    assert_int_equal(a->json, 0);
    assert_string_equal(a->address, "relay.example.com");
    assert_int_equal(a->port_a, 40001);
    assert_int_equal(a->port_b, 40002);
    assert_string_equal(a->rvd_nonce, "2024-07-04T06:12:11.000001");
    np_relay_answer_free(a);

    s = "10.0.0.1,1,65535,null";
    assert_int_equal(np_relay_answer_parse(s, strlen(s), &a), 0);
    assert_null(a->rvd_nonce);
    np_relay_answer_free(a);

    s = " {\"address\":\"::1\",\"portA\":5,\"portB\":6,\"rvdNonce\":\"n\","
        "\"autoDetectsRelayAuth\":true,\"zzz\":1}";
    assert_int_equal(np_relay_answer_parse(s, strlen(s), &a), 0);
    assert_int_equal(a->json, 1);
    assert_string_equal(a->address, "::1");
    assert_int_equal(a->port_a, 5);
    assert_int_equal(a->port_b, 6);
    assert_string_equal(a->rvd_nonce, "n");
    assert_int_equal(a->supports_event_logging, 0);
    assert_int_equal(a->auto_detects_relay_auth, 1);
    np_relay_answer_free(a);
    a = NULL;

    static const char *bad[] = {
        "a,1,2",
        "a,1,2,n,x",
        ",1,2,n",
        "a,1,2,",
        "a,0,2,n",
        "a,1,65536,n",
        "a,1x,2,n",
        "a,+1,2,n",
        "a,1,2,n\x01",
        "{\"address\":\"a\",\"portA\":1.5,\"portB\":2,\"rvdNonce\":\"n\"}",
        "{\"address\":\"a\",\"portA\":\"1\",\"portB\":2,\"rvdNonce\":\"n\"}",
        "{\"address\":\"a\",\"portA\":1,\"portB\":2}",
        "{\"address\":\"a\",\"portA\":1,\"portB\":70000,\"rvdNonce\":\"n\"}",
        "{\"address\":\"a\",\"portA\":1,\"portB\":2,\"rvdNonce\":\"n\",\"autoDetectsRelayAuth\":1}",
        "{\"address\":\"a\"",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(np_relay_answer_parse(bad[i], strlen(bad[i]), &a), NP_ERR_FORMAT);
        assert_null(a);
    }
}

static void test_auth_modes(void **state)
{
    struct np_relay_auth_modes *m = NULL;
    char *s = NULL;
    (void)state;

    assert_int_equal(
        np_relay_auth_modes_build("sid", "nonce", NP_RELAY_AUTH_PAYLOAD, NP_RELAY_AUTH_ESCR, &s),
        0);
    assert_string_equal(
        s,
        "{\"sessionId\":\"sid\",\"rvdNonce\":\"nonce\",\"sideA\":\"payload\",\"sideB\":\"escr\"}");
    assert_int_equal(np_relay_auth_modes_parse(s, strlen(s), &m), 0);
    assert_string_equal(m->session_id, "sid");
    assert_string_equal(m->rvd_nonce, "nonce");
    assert_int_equal(m->side_a, NP_RELAY_AUTH_PAYLOAD);
    assert_int_equal(m->side_b, NP_RELAY_AUTH_ESCR);
    np_relay_auth_modes_free(m);
    np_free(s);
    m = NULL;

    s = "{\"sessionId\":\"sid\",\"rvdNonce\":\"nonce\",\"sideA\":\"payload\",\"sideB\":\"none\"}";
    assert_int_equal(np_relay_auth_modes_parse(s, strlen(s), &m), NP_ERR_FORMAT);
    s = "{\"sessionId\":\"sid\",\"sideA\":\"payload\",\"sideB\":\"escr\"}";
    assert_int_equal(np_relay_auth_modes_parse(s, strlen(s), &m), NP_ERR_FORMAT);
    assert_null(m);

    enum np_relay_auth_mode mode;
    assert_int_equal(np_relay_auth_mode_parse("escr", &mode), 0);
    assert_int_equal(mode, NP_RELAY_AUTH_ESCR);
    assert_int_equal(np_relay_auth_mode_parse("Escr", &mode), NP_ERR_FORMAT);
    assert_string_equal(np_relay_auth_mode_name(NP_RELAY_AUTH_PAYLOAD), "payload");
}

static void test_nack_and_keys(void **state)
{
    char buf[128];
    (void)state;

    /* every reason has its own non-empty text */
    for (int i = NP_RELAY_NACK_BAD_REQUEST; i <= NP_RELAY_NACK_INTERNAL; i++) {
        const char *t = np_relay_nack_text((enum np_relay_nack_reason)i);
        assert_non_null(t);
        assert_true(strlen(t) > 10);
        assert_true(t[0] != '{');
        for (int j = NP_RELAY_NACK_BAD_REQUEST; j < i; j++)
            assert_string_not_equal(t, np_relay_nack_text((enum np_relay_nack_reason)j));
    }

    assert_int_equal(np_relay_key_classify("@relay:dev1.request_ports.sshrvd@alice"),
                     NP_RELAY_KEY_REQUEST_PORTS);
    assert_int_equal(np_relay_key_classify("@RELAY:Dev1.REQUEST_PORTS.SSHRVD@alice"),
                     NP_RELAY_KEY_REQUEST_PORTS);
    assert_int_equal(np_relay_key_classify("dev1.request_ports.sshrvd"),
                     NP_RELAY_KEY_REQUEST_PORTS);
    assert_int_equal(np_relay_key_classify("@relay:dev1.auth_modes.sshrvd@alice"),
                     NP_RELAY_KEY_AUTH_MODES);
    assert_int_equal(np_relay_key_classify("@relay:dev1.sshrvd@alice"), NP_RELAY_KEY_LEGACY);
    assert_int_equal(np_relay_key_classify("@relay:logging.s1.sessions.sshrvd@alice"),
                     NP_RELAY_KEY_OTHER);
    assert_int_equal(np_relay_key_classify("@relay:.request_ports.sshrvd@alice"),
                     NP_RELAY_KEY_OTHER);
    assert_int_equal(np_relay_key_classify("@relay:dev1.sshnp@alice"), NP_RELAY_KEY_OTHER);
    assert_int_equal(np_relay_key_classify("@relay:.sshrvd@alice"), NP_RELAY_KEY_OTHER);
    assert_int_equal(np_relay_key_classify(NULL), NP_RELAY_KEY_OTHER);

    assert_int_equal(np_relay_key_answer("sid-1", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "sid-1.sshrvd");
    assert_int_equal(np_relay_key_nack("sid-1", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "nack.sid-1.sshrvd");
    assert_int_equal(np_relay_key_nack("sid-1", buf, 8), NP_ERR_TOOBIG);
}

static void test_alloc_failures(void **state)
{
    /* Every allocation failure inside the parsers/builders is reported, never crashes,
     * and leaves *out NULL; with enough allocations the same call succeeds. */
    int ok = 0;
    (void)state;

    for (long n = 0; n < 200 && !ok; n++) {
        struct np_relay_request *r = NULL;
        char *s = NULL;
        int rc;

        np_alloc_fail_after(n);
        rc = parse_req(BASE_REQ, &r);
        if (rc == 0) {
            rc = np_relay_request_build(r, NP_RELAY_REQ_NEWER, &s);
            ok = rc == 0;
        } else {
            assert_null(r);
        }
        np_alloc_fail_after(-1);
        np_free(s);
        np_relay_request_free(r);
    }
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_baseline), cmocka_unit_test(test_request_newer),
        cmocka_unit_test(test_request_bad),      cmocka_unit_test(test_request_limits),
        cmocka_unit_test(test_request_legacy),   cmocka_unit_test(test_request_build),
        cmocka_unit_test(test_answer_build),     cmocka_unit_test(test_answer_parse),
        cmocka_unit_test(test_auth_modes),       cmocka_unit_test(test_nack_and_keys),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
