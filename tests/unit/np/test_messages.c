/* Unit tests for lib/np/messages.c: exact member order of the signed
 * payloads (noports-wire.md Appendix A), type checks, message types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "np/json.h"
#include "np/messages.h"
#include "util/alloc.h"
#include "util/err.h"

static const char *const A4_DEVICE_INFO =
    "{\"devicename\":\"garage\",\"deviceGroupName\":\"__none__\",\"version\":\"5.6.3\","
    "\"corePackageVersion\":\"6.2.0\",\"supportedFeatures\":{\"srAuth\":true,\"srE2ee\":true,"
    "\"acceptsPublicKeys\":false,\"supportsPortChoice\":true,\"adjustableTimeout\":true},"
    "\"allowedServices\":[\"localhost:22\",\"localhost:3389\"]}";

static void test_device_info_exact(void **state)
{
    char *svc[] = {"localhost:22", "localhost:3389"};
    struct np_device_info d = {
        .devicename = "garage",
        .device_group = "__none__",
        .version = "5.6.3",
        .core_version = "6.2.0",
        .has_features = 1,
        .features_present = NP_FEAT_SR_AUTH | NP_FEAT_SR_E2EE | NP_FEAT_ACCEPTS_PUBLIC_KEYS |
                            NP_FEAT_PORT_CHOICE | NP_FEAT_ADJ_TIMEOUT,
        .features = NP_FEAT_SR_AUTH | NP_FEAT_SR_E2EE | NP_FEAT_PORT_CHOICE | NP_FEAT_ADJ_TIMEOUT,
        .allowed_services = svc,
        .n_allowed = 2,
    };
    char *json = NULL;
    struct np_device_info *p = NULL;

    assert_int_equal(np_device_info_to_json(&d, &json), 0);
    assert_string_equal(json, A4_DEVICE_INFO);
    assert_int_equal(np_device_info_parse(json, strlen(json), &p), 0);
    assert_string_equal(p->devicename, "garage");
    assert_int_equal(p->n_allowed, 2);
    assert_string_equal(p->allowed_services[1], "localhost:3389");
    assert_true(np_device_info_has(p, NP_FEAT_SR_E2EE));
    assert_false(np_device_info_has(p, NP_FEAT_ACCEPTS_PUBLIC_KEYS));
    assert_false(np_device_info_has(p, NP_FEAT_TWIN_KEYS));
    assert_true(p->features_present & NP_FEAT_ACCEPTS_PUBLIC_KEYS);
    np_device_info_free(p);
    np_free(json);

    /* v4 daemon: no supportedFeatures -> only acceptsPublicKeys assumed */
    const char *v4 = "{\"devicename\":\"x1\",\"version\":\"4.0.5\"}";
    assert_int_equal(np_device_info_parse(v4, strlen(v4), &p), 0);
    assert_false(p->has_features);
    assert_true(np_device_info_has(p, NP_FEAT_ACCEPTS_PUBLIC_KEYS));
    assert_false(np_device_info_has(p, NP_FEAT_SR_AUTH));
    np_device_info_free(p);

    static const char *const bad[] = {
        "[]",
        "{}",
        "{\"devicename\":1}",
        "{\"devicename\":\"a\",\"supportedFeatures\":[]}",
        "{\"devicename\":\"a\",\"supportedFeatures\":{\"srAuth\":1}}",
        "{\"devicename\":\"a\",\"allowedServices\":[1]}",
        "{\"devicename\":\"a\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = (struct np_device_info *)1;
        assert_true(np_device_info_parse(bad[i], strlen(bad[i]), &p) < 0);
        assert_null(p);
    }
}

static void test_ssh_request_exact(void **state)
{
    struct np_session_req q = {
        .npt = 0,
        .direct = 1,
        .session_id = "0f6c7d2e-6a54-4b7e-9a8e-2f1d3c4b5a69",
        .host = "203.0.113.7",
        .port = 40002,
        .authenticate_to_rvd = 1,
        .client_nonce = "2024-10-20T10:00:00.123456",
        .rvd_nonce = "2024-10-20T10:00:00.456789",
        .encrypt_rvd_traffic = 1,
        .client_ephemeral_pk = "MIIBIjANBgkq",
        .client_ephemeral_pk_type = "rsa2048",
        .twin_keys = -1,
    };
    cJSON *o = NULL;
    char *text = NULL;
    struct np_session_req *p = NULL;
    char err[100];

    assert_int_equal(np_session_req_to_json(&q, &o), 0);
    assert_int_equal(np_json_canonical(o, &text, NULL), 0);
    assert_string_equal(
        text, "{\"direct\":true,\"sessionId\":\"0f6c7d2e-6a54-4b7e-9a8e-2f1d3c4b5a69\","
              "\"host\":\"203.0.113.7\",\"port\":40002,\"authenticateToRvd\":true,"
              "\"clientNonce\":\"2024-10-20T10:00:00.123456\","
              "\"rvdNonce\":\"2024-10-20T10:00:00.456789\",\"encryptRvdTraffic\":true,"
              "\"clientEphemeralPK\":\"MIIBIjANBgkq\",\"clientEphemeralPKType\":\"rsa2048\"}");
    assert_int_equal(np_session_req_parse(o, 0, &p, err, sizeof(err)), 0);
    assert_string_equal(p->session_id, q.session_id);
    assert_int_equal(p->port, 40002);
    assert_int_equal(p->direct, 1);
    assert_int_equal(p->twin_keys, -1);
    np_session_req_free(p);
    cJSON_Delete(o);
    np_free(text);

    /* v4 client: only direct, sessionId, host, port */
    const char *v4 = "{\"direct\":true,\"sessionId\":\"s\",\"host\":\"h\",\"port\":1}";
    assert_int_equal(np_json_parse(v4, strlen(v4), 4096, &o), 0);
    assert_int_equal(np_session_req_parse(o, 0, &p, err, sizeof(err)), 0);
    assert_int_equal(p->encrypt_rvd_traffic, -1);
    assert_null(p->client_ephemeral_pk);
    np_session_req_free(p);
    cJSON_Delete(o);

    static const struct {
        const char *json, *member;
    } bad[] = {
        {"{\"direct\":true,\"host\":\"h\",\"port\":1}", "sessionId"},
        {"{\"direct\":true,\"sessionId\":\"s\",\"host\":\"h\",\"port\":\"1\"}", "port"},
        {"{\"direct\":true,\"sessionId\":\"s\",\"host\":\"h\",\"port\":1.5}", "port"},
        {"{\"direct\":true,\"sessionId\":\"s\",\"host\":\"h\",\"port\":70000}", "port"},
        {"{\"direct\":1,\"sessionId\":\"s\",\"host\":\"h\",\"port\":1}", "direct"},
        {"{\"direct\":true,\"sessionId\":\"s\",\"host\":\"h\",\"port\":1,"
         "\"encryptRvdTraffic\":\"yes\"}",
         "encryptRvdTraffic"},
        {"{\"direct\":true,\"sessionId\":\"s\",\"host\":\"h\",\"port\":1,\"twinKeys\":0}",
         "twinKeys"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(np_json_parse(bad[i].json, strlen(bad[i].json), 4096, &o), 0);
        err[0] = '\0';
        p = (struct np_session_req *)1;
        assert_int_equal(np_session_req_parse(o, 0, &p, err, sizeof(err)), NP_ERR_FORMAT);
        assert_null(p);
        assert_non_null(strstr(err, bad[i].member));
        cJSON_Delete(o);
    }
}

static void test_npt_request_exact(void **state)
{
    struct np_session_req q = {
        .npt = 1,
        .session_id = "s1",
        .host = "203.0.113.7",
        .port = 40002,
        .requested_port = 3389,
        .requested_host = "localhost",
        .authenticate_to_rvd = 1,
        .client_nonce = "cn",
        .rvd_nonce = "rn",
        .encrypt_rvd_traffic = 1,
        .client_ephemeral_pk = "PK",
        .client_ephemeral_pk_type = "rsa2048",
        .timeout_ms = 30000,
        .twin_keys = 1,
    };
    cJSON *o = NULL;
    char *text = NULL;
    struct np_session_req *p = NULL;

    assert_int_equal(np_session_req_to_json(&q, &o), 0);
    assert_int_equal(np_json_canonical(o, &text, NULL), 0);
    assert_string_equal(text,
                        "{\"sessionId\":\"s1\",\"rvdHost\":\"203.0.113.7\",\"rvdPort\":40002,"
                        "\"requestedPort\":3389,\"requestedHost\":\"localhost\","
                        "\"authenticateToRvd\":true,\"clientNonce\":\"cn\",\"rvdNonce\":\"rn\","
                        "\"encryptRvdTraffic\":true,\"clientEphemeralPK\":\"PK\","
                        "\"clientEphemeralPKType\":\"rsa2048\",\"timeout\":30000,"
                        "\"twinKeys\":true}");
    assert_int_equal(np_session_req_parse(o, 1, &p, NULL, 0), 0);
    assert_int_equal(p->requested_port, 3389);
    assert_true(p->timeout_ms == 30000);
    assert_int_equal(p->twin_keys, 1);
    np_session_req_free(p);
    /* timeout absent -> 60000 */
    cJSON_DeleteItemFromObjectCaseSensitive(o, "timeout");
    assert_int_equal(np_session_req_parse(o, 1, &p, NULL, 0), 0);
    assert_true(p->timeout_ms == 60000);
    np_session_req_free(p);
    /* npt requires requestedPort */
    cJSON_DeleteItemFromObjectCaseSensitive(o, "requestedPort");
    assert_int_equal(np_session_req_parse(o, 1, &p, NULL, 0), NP_ERR_FORMAT);
    cJSON_Delete(o);
    np_free(text);
}

static void test_answer(void **state)
{
    struct np_session_answer a = {.status = "connected",
                                  .session_id = "s1",
                                  .has_ephemeral_private_key = 1,
                                  .session_aes_key = "K",
                                  .session_iv = "I"};
    struct np_session_answer t = {
        .session_id = "s2", .aes_key_c2d = "a", .iv_c2d = "b", .aes_key_d2c = "c", .iv_d2c = "d"};
    cJSON *o = NULL;
    char *text = NULL;
    struct np_session_answer *p = NULL;

    assert_int_equal(np_session_answer_to_json(&a, &o), 0);
    assert_int_equal(np_json_canonical(o, &text, NULL), 0);
    assert_string_equal(text, "{\"status\":\"connected\",\"sessionId\":\"s1\","
                              "\"ephemeralPrivateKey\":null,\"sessionAESKey\":\"K\","
                              "\"sessionIV\":\"I\"}");
    assert_int_equal(np_session_answer_parse(o, &p, NULL, 0), 0);
    assert_true(p->has_ephemeral_private_key);
    assert_null(p->ephemeral_private_key);
    assert_string_equal(p->session_iv, "I");
    np_session_answer_free(p);
    cJSON_Delete(o);
    np_free(text);

    assert_int_equal(np_session_answer_to_json(&t, &o), 0);
    assert_int_equal(np_json_canonical(o, &text, NULL), 0);
    assert_string_equal(text, "{\"status\":\"connected\",\"sessionId\":\"s2\",\"aesKeyC2D\":\"a\","
                              "\"ivC2D\":\"b\",\"aesKeyD2C\":\"c\",\"ivD2C\":\"d\"}");
    assert_int_equal(np_session_answer_parse(o, &p, NULL, 0), 0);
    assert_false(p->has_ephemeral_private_key);
    assert_string_equal(p->iv_d2c, "d");
    np_session_answer_free(p);
    /* incomplete twin set */
    cJSON_DeleteItemFromObjectCaseSensitive(o, "ivD2C");
    char err[64];
    assert_int_equal(np_session_answer_parse(o, &p, err, sizeof(err)), NP_ERR_FORMAT);
    assert_non_null(strstr(err, "twin"));
    cJSON_Delete(o);
    np_free(text);
}

static void test_msg_type(void **state)
{
    char t[64];
    assert_int_equal(
        np_msg_type_from_key("@device:ping.garage.sshnp@client", "garage", "@client", t, sizeof(t)),
        0);
    assert_string_equal(t, "ping");
    assert_int_equal(np_msg_type_from_key("@Device:SSH_Request.Garage.SSHNP@Client", "garage",
                                          "@client", t, sizeof(t)),
                     0);
    assert_string_equal(t, "ssh_request");
    assert_int_equal(
        np_msg_type_from_key("npt_request.garage.sshnp@client", "garage", "client", t, sizeof(t)),
        0);
    assert_string_equal(t, "npt_request");
    assert_int_equal(
        np_msg_type_from_key("@device:ping.other.sshnp@client", "garage", "@client", t, sizeof(t)),
        NP_ERR_FORMAT);
    assert_int_equal(
        np_msg_type_from_key("@device:ping.garage.sshnp@eve", "garage", "@client", t, sizeof(t)),
        NP_ERR_FORMAT);
    assert_int_equal(
        np_msg_type_from_key("@device:.garage.sshnp@client", "garage", "@client", t, sizeof(t)),
        NP_ERR_FORMAT);
    assert_int_equal(
        np_msg_type_from_key("@device:sshpublickey.garage.sshnp@client", "garage", "@client", t, 5),
        NP_ERR_TOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_info_exact), cmocka_unit_test(test_ssh_request_exact),
        cmocka_unit_test(test_npt_request_exact), cmocka_unit_test(test_answer),
        cmocka_unit_test(test_msg_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
