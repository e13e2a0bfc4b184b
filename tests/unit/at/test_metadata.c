/* Unit tests for lib/at metadata.c and metadata_json.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "at/metadata.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

/* Parse options, format them back; check rc and the canonical text. */
struct opt_case {
    const char *in;
    int rc;
    const char *canon;
};

static const struct opt_case opt_cases[] = {
    {"", 0, ""},
    {":ttl:60000", 0, ":ttl:60000"},
    {":ttl:0:ttb:0:ttr:-1:ccd:true", 0, ":ttl:0:ttb:0:ttr:-1:ccd:true"},
    /* any order in, canonical order out */
    {":ivNonce:EBESExQVFhcYGRobHB0eHw==:isEncrypted:true:ttl:10000", 0,
     ":ttl:10000:isEncrypted:true:ivNonce:EBESExQVFhcYGRobHB0eHw=="},
    /* the at_c order (isBinary/isEncrypted before dataSignature, hash/algo) */
    {":ttl:1:ttb:2:ttr:3:ccd:false:isBinary:false:isEncrypted:true:dataSignature:c2ln:"
     "sharedKeyStatus:ok:sharedKeyEnc:a2V5:hash:abc:algo:sha256:encoding:base64:encKeyName:k:"
     "encAlgo:AES:ivNonce:aXY=:skeEncKeyName:s:skeEncAlgo:RSA",
     0,
     ":ttl:1:ttb:2:ttr:3:ccd:false:dataSignature:c2ln:sharedKeyStatus:ok:isBinary:false:"
     "isEncrypted:true:sharedKeyEnc:a2V5:hash:abc:algo:sha256:encoding:base64:encKeyName:k:"
     "encAlgo:AES:ivNonce:aXY=:skeEncKeyName:s:skeEncAlgo:RSA"},
    {":pubKeyCS:0a1b2c:sharedKeyEnc:QQ==", 0, ":sharedKeyEnc:QQ==:pubKeyCS:0a1b2c"},
    /* names and bools case-insensitive; numbers canonicalised */
    {":TTL:007:IsEncrypted:TRUE:CCD:False", 0, ":ttl:7:ccd:false:isEncrypted:true"},
    /* ttr 0 = unset but accepted */
    {":ttr:0", 0, ":ttr:0"},
    /* null clears strings */
    {":ivNonce:null", 0, ":ivNonce:null"},
    /* errors */
    {":ttl:-1", NP_ERR_FORMAT, NULL},
    {":ttb:-5", NP_ERR_FORMAT, NULL},
    {":ttr:-2", NP_ERR_FORMAT, NULL},
    {":ttl:abc", NP_ERR_FORMAT, NULL},
    {":ttl:", NP_ERR_FORMAT, NULL},
    {":ttl", NP_ERR_FORMAT, NULL},
    {":ttl:1.5", NP_ERR_FORMAT, NULL},
    {":ttl:99999999999999999999", NP_ERR_FORMAT, NULL},
    {":ttl:100000000000001", NP_ERR_FORMAT, NULL},
    {":ttr:100000000001", NP_ERR_FORMAT, NULL},
    {":ccd:yes", NP_ERR_FORMAT, NULL},
    {":isEncrypted:1", NP_ERR_FORMAT, NULL},
    {":ttl:null", NP_ERR_FORMAT, NULL},
    {":dataSignature:", NP_ERR_FORMAT, NULL},
    {":dataSignature:a b", NP_ERR_FORMAT, NULL},
    {":dataSignature:a@b", NP_ERR_FORMAT, NULL},
    {":bogus:1", NP_ERR_FORMAT, NULL},
    {":createdAt:2024", NP_ERR_FORMAT, NULL},
    {":version:3", NP_ERR_FORMAT, NULL},
    {"ttl:1", NP_ERR_FORMAT, NULL},
    {":ttl:1:", NP_ERR_FORMAT, NULL},
    {":ttl:1:ttl:2", NP_ERR_EXISTS, NULL},
    {":ivNonce:a:ivNonce:b", NP_ERR_EXISTS, NULL},
};

static void test_options_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
        const struct opt_case *c = &opt_cases[i];
        struct at_metadata md;
        struct np_buf *b = np_buf_new(4096);
        at_metadata_init(&md);
        int rc = at_metadata_parse_options(&md, c->in, strlen(c->in));
        if (rc != c->rc)
            fail_msg("case %zu '%s': rc %d want %d", i, c->in, rc, c->rc);
        if (rc == 0) {
            assert_int_equal(at_metadata_format_options(&md, b), 0);
            if (strcmp(np_buf_ptr(b), c->canon) != 0)
                fail_msg("case %zu: '%s' want '%s'", i, np_buf_ptr(b), c->canon);
            /* round trip: the canonical text parses to the same set */
            struct at_metadata md2;
            struct np_buf *b2 = np_buf_new(4096);
            at_metadata_init(&md2);
            assert_int_equal(at_metadata_parse_options(&md2, np_buf_ptr(b), np_buf_len(b)), 0);
            assert_int_equal(at_metadata_format_options(&md2, b2), 0);
            assert_string_equal(np_buf_ptr(b), np_buf_ptr(b2));
            assert_int_equal(md.present, md2.present);
            at_metadata_clear(&md2);
            np_buf_free(b2);
        }
        at_metadata_clear(&md);
        np_buf_free(b);
    }
}

static void test_option_values(void **state)
{
    struct at_metadata md;
    const char *t = ":ttl:60000:ttb:5:ttr:-1:ccd:true:isBinary:false:isEncrypted:true:"
                    "ivNonce:EBESExQVFhcYGRobHB0eHw==:sharedKeyEnc:null";
    (void)state;
    at_metadata_init(&md);
    assert_int_equal(at_metadata_parse_options(&md, t, strlen(t)), 0);
    assert_true(md.ttl == 60000 && md.ttb == 5 && md.ttr == -1);
    assert_true(md.ccd && !md.is_binary && md.is_encrypted);
    assert_string_equal(md.iv_nonce, "EBESExQVFhcYGRobHB0eHw==");
    assert_true(at_metadata_has(&md, AT_MD_IV_NONCE));
    assert_false(at_metadata_has(&md, AT_MD_SHARED_KEY_ENC));
    assert_true(md.present & AT_MD_BIT(AT_MD_SHARED_KEY_ENC));
    assert_true(md.nulled & AT_MD_BIT(AT_MD_SHARED_KEY_ENC));
    assert_false(at_metadata_has(&md, AT_MD_DATA_SIGNATURE));
    assert_int_equal(at_metadata_option_lookup("IVNONCE", 7), AT_MD_IV_NONCE);
    assert_int_equal(at_metadata_option_lookup("message_type", 12), -1);
    assert_int_equal(at_metadata_option_lookup("status", 6), -1);
    assert_string_equal(at_metadata_field_name(AT_MD_PUB_KEY_CS), "pubKeyCS");
    at_metadata_clear(&md);
    assert_int_equal(md.present, 0);
    assert_null(md.iv_nonce);
    at_metadata_clear(NULL);
}

static void test_merge(void **state)
{
    struct at_metadata old, upd;
    const char *a = ":ttl:1000:ccd:true:ivNonce:AAAA:dataSignature:sig";
    const char *b = ":ttl:2000:ivNonce:null:isEncrypted:true";
    (void)state;
    at_metadata_init(&old);
    at_metadata_init(&upd);
    assert_int_equal(at_metadata_parse_options(&old, a, strlen(a)), 0);
    assert_int_equal(at_metadata_parse_options(&upd, b, strlen(b)), 0);
    assert_int_equal(at_metadata_merge(&old, &upd), 0);
    assert_true(old.ttl == 2000);                  /* replaced */
    assert_true(at_metadata_has(&old, AT_MD_CCD)); /* absent in update: kept */
    assert_true(old.ccd);
    assert_string_equal(old.data_signature, "sig");      /* kept */
    assert_false(at_metadata_has(&old, AT_MD_IV_NONCE)); /* null: cleared */
    assert_false(old.present & AT_MD_BIT(AT_MD_IV_NONCE));
    assert_null(old.iv_nonce);
    assert_true(at_metadata_has(&old, AT_MD_IS_ENCRYPTED) && old.is_encrypted);
    /* copy keeps the null markers */
    {
        struct at_metadata c;
        assert_int_equal(at_metadata_copy(&c, &upd), 0);
        assert_true(c.nulled & AT_MD_BIT(AT_MD_IV_NONCE));
        assert_true(c.present == upd.present);
        assert_true(c.ttl == 2000);
        at_metadata_clear(&c);
    }
    /* allocation failure in merge is reported */
    np_alloc_fail_after(0);
    {
        struct at_metadata x;
        at_metadata_init(&x);
        assert_int_equal(at_metadata_merge(&x, &old), NP_ERR_NOMEM);
        at_metadata_clear(&x);
        assert_int_equal(at_metadata_parse_options(&x, ":ivNonce:abc", 12), NP_ERR_NOMEM);
        at_metadata_clear(&x);
    }
    np_alloc_fail_after(-1);
    at_metadata_clear(&old);
    at_metadata_clear(&upd);
}

static void test_dates(void **state)
{
    struct at_metadata md;
    const int64_t now = 1729733702123LL;
    (void)state;
    at_metadata_init(&md);
    at_metadata_set_int(&md, AT_MD_TTL, 60000);
    at_metadata_set_int(&md, AT_MD_TTB, 1000);
    at_metadata_set_int(&md, AT_MD_TTR, 3888000);
    at_metadata_compute_dates(&md, now);
    assert_true(md.available_at == now + 1000);
    assert_true(md.expires_at == now + 1000 + 60000);
    assert_true(md.refresh_at == now + 3888000LL * 1000); /* ttr in seconds */
    assert_false(at_metadata_is_active(&md, now));
    assert_true(at_metadata_is_active(&md, now + 1000));
    assert_true(at_metadata_is_active(&md, now + 61000));
    assert_false(at_metadata_is_active(&md, now + 61001));
    /* ttl 0 / no ttb / ttr -1: no derived dates */
    at_metadata_set_int(&md, AT_MD_TTL, 0);
    at_metadata_unset(&md, AT_MD_TTB);
    at_metadata_set_int(&md, AT_MD_TTR, -1);
    at_metadata_compute_dates(&md, now);
    assert_false(at_metadata_has(&md, AT_MD_AVAILABLE_AT));
    assert_false(at_metadata_has(&md, AT_MD_EXPIRES_AT));
    assert_false(at_metadata_has(&md, AT_MD_REFRESH_AT));
    assert_true(at_metadata_is_active(&md, now));
    /* ttl without ttb */
    at_metadata_set_int(&md, AT_MD_TTL, 10);
    at_metadata_compute_dates(&md, now);
    assert_true(md.expires_at == now + 10);
    at_metadata_clear(&md);
}

static void test_json_exact(void **state)
{
    struct at_metadata md;
    char *json = NULL;
    const int64_t t = 1729733702123LL;
    (void)state;
    at_metadata_init(&md);
    /* set in a scrambled order; output order is fixed by 5.2 */
    at_metadata_set_str(&md, AT_MD_IV_NONCE, "EBESExQVFhcYGRobHB0eHw==");
    at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED, true);
    at_metadata_set_int(&md, AT_MD_TTL, 60000);
    at_metadata_set_int(&md, AT_MD_VERSION, 3);
    at_metadata_set_str(&md, AT_MD_STATUS, "active");
    at_metadata_set_int(&md, AT_MD_UPDATED_AT, t + 1);
    at_metadata_set_int(&md, AT_MD_CREATED_AT, t);
    at_metadata_set_str(&md, AT_MD_UPDATED_BY, "@alice");
    at_metadata_set_str(&md, AT_MD_CREATED_BY, "@alice");
    at_metadata_set_int(&md, AT_MD_TTB, 0);
    at_metadata_set_bool(&md, AT_MD_CCD, false);
    at_metadata_set_null(&md, AT_MD_SHARED_KEY_ENC);
    assert_int_equal(at_metadata_to_json(&md, false, &json), 0);
    assert_string_equal(json, "{\"createdBy\":\"@alice\",\"updatedBy\":\"@alice\","
                              "\"createdAt\":\"2024-10-24 01:35:02.123Z\","
                              "\"updatedAt\":\"2024-10-24 01:35:02.124Z\",\"status\":\"active\","
                              "\"version\":3,\"ttl\":60000,\"ttb\":0,\"ccd\":false,"
                              "\"isEncrypted\":true,\"ivNonce\":\"EBESExQVFhcYGRobHB0eHw==\"}");
    /* parse back */
    {
        struct at_metadata back;
        char *json2 = NULL;
        assert_int_equal(at_metadata_from_json(&back, json, strlen(json)), 0);
        assert_true(back.created_at == t && back.updated_at == t + 1 && back.version == 3);
        assert_int_equal(at_metadata_to_json(&back, false, &json2), 0);
        assert_string_equal(json, json2);
        np_free(json2);
        /* stringified variant, and back */
        assert_int_equal(at_metadata_to_json(&back, true, &json2), 0);
        assert_non_null(strstr(json2, "\"version\":\"3\",\"ttl\":\"60000\""));
        assert_non_null(strstr(json2, "\"isEncrypted\":\"true\""));
        at_metadata_clear(&back);
        assert_int_equal(at_metadata_from_json(&back, json2, strlen(json2)), 0);
        assert_true(back.ttl == 60000 && back.is_encrypted && back.version == 3);
        np_free(json2);
        at_metadata_clear(&back);
    }
    np_free(json);
    /* empty metadata */
    at_metadata_clear(&md);
    assert_int_equal(at_metadata_to_json(&md, false, &json), 0);
    assert_string_equal(json, "{}");
    np_free(json);
}

static void test_json_parse(void **state)
{
    static const struct {
        const char *json;
        int rc;
    } cases[] = {
        {"{\"ttl\":1,\"createdBy\":\"@a\"}", 0},
        {"{\"isEncrypted\":true,\"ttr\":-1,\"refreshAt\":\"2024-10-24 01:35:02.123Z\"}", 0},
        {"{\"ttl\":\"1000\",\"isEncrypted\":\"true\",\"ccd\":\"false\",\"ivNonce\":\"null\","
         "\"dataSignature\":null,\"expiresAt\":\"null\"}",
         0},
        {"{\"unknown\":[1,2],\"pubKeyHash\":{\"hash\":\"x\"}}", 0},
        {"  {\"ttl\":1}  ", 0},
        {"{\"ttl\":1.5}", NP_ERR_FORMAT},
        {"{\"ttl\":\"x\"}", NP_ERR_FORMAT},
        {"{\"ttl\":true}", NP_ERR_FORMAT},
        {"{\"isEncrypted\":1}", NP_ERR_FORMAT},
        {"{\"isEncrypted\":\"yes\"}", NP_ERR_FORMAT},
        {"{\"ivNonce\":5}", NP_ERR_FORMAT},
        {"{\"createdAt\":\"yesterday\"}", NP_ERR_FORMAT},
        {"{\"createdAt\":12}", NP_ERR_FORMAT},
        {"[1]", NP_ERR_FORMAT},
        {"{\"ttl\":1}x", NP_ERR_FORMAT},
        {"{", NP_ERR_FORMAT},
        {"", NP_ERR_FORMAT},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct at_metadata md;
        int rc = at_metadata_from_json(&md, cases[i].json, strlen(cases[i].json));
        if (rc != cases[i].rc)
            fail_msg("case %zu %s: %d", i, cases[i].json, rc);
        if (rc != 0)
            assert_int_equal(md.present, 0);
        at_metadata_clear(&md);
    }
    {
        struct at_metadata md;
        const char *j = "{\"ttl\":\"1000\",\"isEncrypted\":\"true\",\"ivNonce\":\"null\"}";
        assert_int_equal(at_metadata_from_json(&md, j, strlen(j)), 0);
        assert_true(md.ttl == 1000 && md.is_encrypted);
        assert_false(at_metadata_has(&md, AT_MD_IV_NONCE));
        at_metadata_clear(&md);
    }
}

static void test_setters(void **state)
{
    struct at_metadata md;
    (void)state;
    at_metadata_init(&md);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_IV_NONCE, 1), NP_ERR_INVAL);
    assert_int_equal(at_metadata_set_bool(&md, AT_MD_TTL, true), NP_ERR_INVAL);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_CCD, "x"), NP_ERR_INVAL);
    assert_int_equal(at_metadata_set_str(&md, AT_MD__COUNT, "x"), NP_ERR_INVAL);
    assert_int_equal(at_metadata_parse_option(&md, AT_MD_STATUS, "x", 1), NP_ERR_INVAL);
    assert_int_equal(md.present, 0);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_ENCODING, "base64"), 0);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_ENCODING, "utf8"), 0);
    assert_string_equal(md.encoding, "utf8");
    /* formatting refuses a value that would break the grammar */
    {
        struct np_buf *b = np_buf_new(256);
        at_metadata_set_str(&md, AT_MD_ENC_ALGO, "a:b");
        assert_int_equal(at_metadata_format_options(&md, b), NP_ERR_INVAL);
        np_buf_free(b);
    }
    at_metadata_clear(&md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_table), cmocka_unit_test(test_option_values),
        cmocka_unit_test(test_merge),         cmocka_unit_test(test_dates),
        cmocka_unit_test(test_json_exact),    cmocka_unit_test(test_json_parse),
        cmocka_unit_test(test_setters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
