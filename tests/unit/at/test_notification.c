/* Unit tests for lib/at notification.c: push JSON build/parse, stats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "at/notification.h"
#include "at/response.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define IV "EBESExQVFhcYGRobHB0eHw=="

/* Appendix A.4, first push (variant a). */
static const char *const a4_json =
    "{\"id\":\"9d1c6b0e\",\"from\":\"@alice\",\"to\":\"@bob\",\"key\":\"@bob:ping.dev.sshnp@"
    "alice\","
    "\"value\":\"c2VjcmV0\",\"operation\":\"update\",\"epochMillis\":1729730000123,"
    "\"messageType\":\"MessageType.key\",\"isEncrypted\":true,\"metadata\":{\"encKeyName\":null,"
    "\"encAlgo\":null,\"ivNonce\":\"" IV "\",\"skeEncKeyName\":null,\"skeEncAlgo\":null,"
    "\"sharedKeyEnc\":null}}";

/* Appendix A.4, stats push (7.7). */
static const char *const a4_stats =
    "{\"id\":\"-1\",\"from\":\"@bob\",\"to\":\"@bob\",\"key\":\"statsNotification.@bob\","
    "\"value\":\"42\",\"operation\":\"update\",\"epochMillis\":1729730005000,"
    "\"messageType\":\"MessageType.key\",\"isEncrypted\":false,\"metadata\":null}";

static void test_build_live(void **state)
{
    struct at_notification n;
    char *json = NULL;
    (void)state;
    at_notification_init(&n);
    assert_int_equal(at_notification_set_strings(&n, "9d1c6b0e", "@alice", "@bob",
                                                 "@bob:ping.dev.sshnp@alice", "c2VjcmV0"),
                     0);
    n.epoch_ms = 1729730000123LL;
    n.is_encrypted = true;
    n.md_kind = AT_NOTIF_MD_LIVE;
    at_metadata_set_str(&n.md, AT_MD_IV_NONCE, IV);
    assert_int_equal(at_notification_to_json(&n, &json), 0);
    assert_string_equal(json, a4_json);
    np_free(json);
    /* the line form, and the client classifier sees a notification */
    {
        struct np_buf *b = np_buf_new(4096);
        struct at_response r;
        assert_int_equal(at_notification_format_line(&n, b), 0);
        assert_true(strncmp(np_buf_ptr(b), "notification: {", 15) == 0);
        assert_int_equal(np_buf_ptr(b)[np_buf_len(b) - 1], '\n');
        assert_int_equal(at_response_parse(np_buf_ptr(b), np_buf_len(b) - 1, &r), 0);
        assert_int_equal(r.kind, AT_RESP_NOTIFICATION);
        assert_int_equal(r.payload_len, strlen(a4_json));
        assert_memory_equal(r.payload, a4_json, r.payload_len);
        at_response_clear(&r);
        np_buf_free(b);
    }
    at_notification_clear(&n);
}

static void test_build_replay_and_null_value(void **state)
{
    struct at_notification n;
    char *json = NULL;
    (void)state;
    at_notification_init(&n);
    assert_int_equal(at_notification_set_strings(&n, "n1", "@alice", "@bob", "@bob:hello", NULL),
                     0);
    n.op = AT_NOTIFY_DELETE;
    n.msg_type = AT_MSG_TEXT;
    n.epoch_ms = 5;
    n.md_kind = AT_NOTIF_MD_REPLAY;
    at_metadata_set_int(&n.md, AT_MD_EXPIRES_AT, 1729733702123LL);
    assert_int_equal(at_notification_to_json(&n, &json), 0);
    assert_string_equal(json,
                        "{\"id\":\"n1\",\"from\":\"@alice\",\"to\":\"@bob\",\"key\":\"@bob:hello\","
                        "\"value\":null,\"operation\":\"delete\",\"epochMillis\":5,"
                        "\"messageType\":\"MessageType.text\",\"isEncrypted\":false,"
                        "\"metadata\":{\"encKeyName\":null,\"encAlgo\":null,\"ivNonce\":null,"
                        "\"skeEncKeyName\":null,\"skeEncAlgo\":null,\"availableAt\":\"null\","
                        "\"expiresAt\":\"2024-10-24 01:35:02.123Z\"}}");
    /* parse it back */
    {
        struct at_notification p;
        assert_int_equal(at_notification_parse(json, strlen(json), &p), 0);
        assert_int_equal(p.md_kind, AT_NOTIF_MD_REPLAY);
        assert_true(at_metadata_has(&p.md, AT_MD_EXPIRES_AT));
        assert_true(p.md.expires_at == 1729733702123LL);
        assert_false(at_metadata_has(&p.md, AT_MD_AVAILABLE_AT));
        assert_null(p.value);
        assert_int_equal(p.op, AT_NOTIFY_DELETE);
        assert_int_equal(p.msg_type, AT_MSG_TEXT);
        char *again = NULL;
        assert_int_equal(at_notification_to_json(&p, &again), 0);
        assert_string_equal(again, json);
        np_free(again);
        at_notification_clear(&p);
    }
    np_free(json);
    at_notification_clear(&n);
}

static void test_stats(void **state)
{
    struct at_notification n;
    char *json = NULL;
    (void)state;
    at_notification_init(&n);
    assert_int_equal(at_notification_make_stats(&n, "@bob", 42, AT_NOTIFY_UPDATE, 1729730005000LL),
                     0);
    assert_true(at_notification_is_stats(&n));
    assert_int_equal(at_notification_to_json(&n, &json), 0);
    assert_string_equal(json, a4_stats);
    np_free(json);
    assert_int_equal(at_notification_make_stats(&n, "@bob", 43, AT_NOTIFY_DELETE, 1), 0);
    assert_int_equal(at_notification_to_json(&n, &json), 0);
    assert_non_null(strstr(json, "\"value\":\"43\",\"operation\":\"delete\""));
    np_free(json);
    assert_int_equal(at_notification_make_stats(&n, "bob", 1, AT_NOTIFY_UPDATE, 1), NP_ERR_INVAL);
    at_notification_clear(&n);
}

static void test_parse_a4(void **state)
{
    struct at_notification n;
    (void)state;
    assert_int_equal(at_notification_parse(a4_json, strlen(a4_json), &n), 0);
    assert_string_equal(n.id, "9d1c6b0e");
    assert_string_equal(n.from, "@alice");
    assert_string_equal(n.to, "@bob");
    assert_string_equal(n.key, "@bob:ping.dev.sshnp@alice");
    assert_string_equal(n.value, "c2VjcmV0");
    assert_int_equal(n.op, AT_NOTIFY_UPDATE);
    assert_true(n.epoch_ms == 1729730000123LL);
    assert_int_equal(n.msg_type, AT_MSG_KEY);
    assert_true(n.is_encrypted);
    assert_int_equal(n.md_kind, AT_NOTIF_MD_LIVE);
    assert_string_equal(n.md.iv_nonce, IV);
    assert_false(at_metadata_has(&n.md, AT_MD_SHARED_KEY_ENC));
    assert_false(at_notification_is_stats(&n));
    at_notification_clear(&n);
    assert_int_equal(at_notification_parse(a4_stats, strlen(a4_stats), &n), 0);
    assert_true(at_notification_is_stats(&n));
    assert_int_equal(n.md_kind, AT_NOTIF_MD_NULL);
    assert_string_equal(n.value, "42");
    at_notification_clear(&n);
}

static void test_parse_variants(void **state)
{
    static const struct {
        const char *json;
        int rc;
    } cases[] = {
        /* members in another order, missing optional members */
        {"{\"metadata\":null,\"isEncrypted\":false,\"epochMillis\":1,\"key\":\"k\",\"id\":\"1\"}",
         0},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"from\":null,\"to\":null,\"value\":null}",
         0},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"messageType\":\"text\","
         "\"operation\":\"OperationType.delete\"}",
         0},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"metadata\":{\"ivNonce\":\"null\"}}", 0},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"extra\":[1,{}]}", 0},
        /* type violations */
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":\"1\"}", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1.5}", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\"}", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"isEncrypted\":\"true\"}", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"isEncrypted\":null}", NP_ERR_FORMAT},
        {"{\"id\":1,\"key\":\"k\",\"epochMillis\":1}", NP_ERR_FORMAT},
        {"{\"id\":null,\"key\":\"k\",\"epochMillis\":1}", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"epochMillis\":1}", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"value\":5}", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"from\":[]}", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"metadata\":\"x\"}", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"metadata\":{\"ivNonce\":3}}",
         NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"metadata\":{\"expiresAt\":\"soon\"}}",
         NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"operation\":\"append\"}", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"messageType\":\"MessageType.x\"}",
         NP_ERR_FORMAT},
        {"[]", NP_ERR_FORMAT},
        {"{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1} trailing", NP_ERR_FORMAT},
        {"", NP_ERR_FORMAT},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct at_notification n;
        int rc = at_notification_parse(cases[i].json, strlen(cases[i].json), &n);
        if (rc != cases[i].rc)
            fail_msg("case %zu %s: %d", i, cases[i].json, rc);
        if (rc != 0)
            assert_null(n.id);
        at_notification_clear(&n);
    }
    {
        struct at_notification n;
        const char *j = "{\"id\":\"1\",\"key\":\"k\",\"epochMillis\":1,\"metadata\":{\"ivNonce\":"
                        "\"null\",\"sharedKeyEnc\":\"c2tl\"}}";
        assert_int_equal(at_notification_parse(j, strlen(j), &n), 0);
        assert_int_equal(n.md_kind, AT_NOTIF_MD_LIVE);
        assert_false(at_metadata_has(&n.md, AT_MD_IV_NONCE)); /* "null" string = null */
        assert_null(n.md.iv_nonce);
        assert_string_equal(n.md.shared_key_enc, "c2tl");
        assert_false(n.is_encrypted);
        at_notification_clear(&n);
    }
}

static void test_alloc_failures(void **state)
{
    (void)state;
    for (long k = 0; k < 20; k++) {
        struct at_notification n;
        char *json = NULL;
        np_alloc_fail_after(k);
        int rc = at_notification_parse(a4_json, strlen(a4_json), &n);
        np_alloc_fail_after(-1);
        assert_true(rc == 0 || rc == NP_ERR_NOMEM || rc == NP_ERR_FORMAT);
        if (rc == 0) {
            np_alloc_fail_after(k);
            rc = at_notification_to_json(&n, &json);
            np_alloc_fail_after(-1);
            assert_true(rc == 0 || rc == NP_ERR_NOMEM);
            np_free(json);
        }
        at_notification_clear(&n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_live),     cmocka_unit_test(test_build_replay_and_null_value),
        cmocka_unit_test(test_stats),          cmocka_unit_test(test_parse_a4),
        cmocka_unit_test(test_parse_variants), cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
