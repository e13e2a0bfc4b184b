/* Unit tests for lib/np/json.c: strict parse and the canonical serialisation (noports-wire 3.2.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "np/json.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

/* canonical(parse(in)) must be exactly want, and canonical again of that. */
static void check(const char *in, const char *want)
{
    cJSON *v = NULL, *v2 = NULL;
    char *out = NULL, *out2 = NULL;
    size_t n = 0;

    assert_int_equal(np_json_parse(in, strlen(in), 1 << 20, &v), 0);
    assert_int_equal(np_json_canonical(v, &out, &n), 0);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(np_json_parse(out, n, 1 << 20, &v2), 0);
    assert_int_equal(np_json_canonical(v2, &out2, NULL), 0);
    assert_string_equal(out2, want);
    cJSON_Delete(v);
    cJSON_Delete(v2);
    np_free(out);
    np_free(out2);
}

static void test_known_objects(void **state)
{
    check("{ \"a\" : 1 , \"b\" : [ true , false , null ] ,\n \"c\" : { \"d\" : \"x/y\" } }",
          "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x/y\"}}");
    /* member order is preserved, not sorted; duplicates are kept */
    check("{\"z\":1,\"a\":2,\"m\":3}", "{\"z\":1,\"a\":2,\"m\":3}");
    check("{\"a\":1,\"a\":2}", "{\"a\":1,\"a\":2}");
    check("{}", "{}");
    check("[]", "[]");
    check("[{},[],\"\",0]", "[{},[],\"\",0]");
    /* the relay-auth payload of noports-wire 5.9 */
    check("{\"sessionId\":\"0f6c7d2e-6a54-4b7e-9a8e-2f1d3c4b5a69\",\"clientNonce\":\"2024-10-20T10:"
          "00:00.123456\",\"rvdNonce\":\"2024-10-20T10:00:00.456789\"}",
          "{\"sessionId\":\"0f6c7d2e-6a54-4b7e-9a8e-2f1d3c4b5a69\",\"clientNonce\":\"2024-10-20T10:"
          "00:00.123456\",\"rvdNonce\":\"2024-10-20T10:00:00.456789\"}");
}

static void test_integers(void **state)
{
    check("{\"t\":1729730000123}", "{\"t\":1729730000123}");
    check("[2147483647,2147483648,4294967296,-2147483649]",
          "[2147483647,2147483648,4294967296,-2147483649]");
    check("[0,-0,-5,9007199254740991,-9007199254740991]",
          "[0,0,-5,9007199254740991,-9007199254740991]");
    /* integral values written with fraction/exponent come out as plain integers */
    check("[1.0,1e3,2E2]", "[1,1000,200]");
}

static void expect_canon_error(const cJSON *v, int err)
{
    char *out = (char *)1;
    size_t n = 7;

    assert_int_equal(np_json_canonical(v, &out, &n), err);
    assert_null(out);
    assert_int_equal(n, 0);
}

static void test_unsupported_numbers(void **state)
{
    static const char *bad[] = {
        "1.5", "[0.1]", "{\"a\":-2.25}", "1e300", "9007199254740992", "-9007199254740993", "1e-3"};
    cJSON *v;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = NULL;
        assert_int_equal(np_json_parse(bad[i], strlen(bad[i]), 100, &v), 0);
        expect_canon_error(v, NP_ERR_UNSUPPORTED);
        cJSON_Delete(v);
    }
    v = cJSON_CreateNumber(NAN);
    expect_canon_error(v, NP_ERR_UNSUPPORTED);
    cJSON_Delete(v);
    v = cJSON_CreateNumber(INFINITY);
    expect_canon_error(v, NP_ERR_UNSUPPORTED);
    cJSON_Delete(v);
    v = cJSON_CreateRaw("{\"x\":1}");
    expect_canon_error(v, NP_ERR_UNSUPPORTED);
    cJSON_Delete(v);
    expect_canon_error(NULL, NP_ERR_INVAL);
}

static void test_string_escapes(void **state)
{
    cJSON *v = cJSON_CreateString("q\"b\\c\b\t\n\f\r\x01\x1f\x7f/\xc3\xa9\xf0\x9f\x9b\xa0 '<>&");
    char *out = NULL;

    assert_int_equal(np_json_canonical(v, &out, NULL), 0);
    assert_string_equal(
        out, "\"q\\\"b\\\\c\\b\\t\\n\\f\\r\\u0001\\u001f\x7f/\xc3\xa9\xf0\x9f\x9b\xa0 '<>&\"");
    np_free(out);
    cJSON_Delete(v);
    /* every control character: short form where JSON has one, else \u00xx lower case */
    for (int c = 1; c < 0x20; c++) {
        char s[2] = {(char)c, 0}, want[16];
        const char *shortform = NULL;
        v = cJSON_CreateString(s);
        assert_int_equal(np_json_canonical(v, &out, NULL), 0);
        switch (c) {
        case '\b':
            shortform = "\"\\b\"";
            break;
        case '\t':
            shortform = "\"\\t\"";
            break;
        case '\n':
            shortform = "\"\\n\"";
            break;
        case '\f':
            shortform = "\"\\f\"";
            break;
        case '\r':
            shortform = "\"\\r\"";
            break;
        }
        if (shortform) {
            assert_string_equal(out, shortform);
        } else {
            static const char hex[] = "0123456789abcdef";
            memcpy(want, "\"\\u00", 5);
            want[5] = hex[c >> 4];
            want[6] = hex[c & 15];
            want[7] = '"';
            want[8] = 0;
            assert_string_equal(out, want);
        }
        np_free(out);
        cJSON_Delete(v);
    }
    /* escapes in the input are normalised: \/ -> /, \u00e9 -> UTF-8, \u001F -> \u001f */
    check("[\"a\\/b\",\"\\u00e9\",\"\\u001F\",\"\\u0041\",\"\\ud83d\\udee0\"]",
          "[\"a/b\",\"\xc3\xa9\",\"\\u001f\",\"A\",\"\xf0\x9f\x9b\xa0\"]");
    /* member names are escaped like values */
    check("{\"a\\\"b\\n\":\"\\t\"}", "{\"a\\\"b\\n\":\"\\t\"}");
}

static void test_parse_strict(void **state)
{
    static const char *bad[] = {"",     " ",       "{",   "{\"a\":1} x", "{\"a\":1}}",
                                "[1,]", "{'a':1}", "nul", "\"abc"};
    cJSON *v = (cJSON *)1;
    char buf[16];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(np_json_parse(bad[i], strlen(bad[i]), 100, &v), NP_ERR_FORMAT);
        assert_null(v);
    }
    /* trailing whitespace (e.g. the line's newline) is fine */
    assert_int_equal(np_json_parse("{\"a\":1}\r\n ", 10, 100, &v), 0);
    cJSON_Delete(v);
    /* over the maximum */
    assert_int_equal(np_json_parse("{\"a\":1}", 7, 6, &v), NP_ERR_TOOBIG);
    assert_null(v);
    /* not NUL-terminated: only len bytes are looked at */
    memcpy(buf, "{\"a\":1}GARBAGE!", 16);
    assert_int_equal(np_json_parse(buf, 7, 100, &v), 0);
    assert_true(cJSON_IsObject(v));
    cJSON_Delete(v);
    assert_int_equal(np_json_parse(NULL, 0, 100, &v), NP_ERR_INVAL);
}

static void test_depth_and_size(void **state)
{
    char deep[200];
    cJSON *v = NULL;
    char *out = NULL;
    struct np_buf *b;

    /* 64 nested arrays are fine, 65 are not */
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    assert_int_equal(np_json_parse(deep, 128, 1000, &v), 0);
    assert_int_equal(np_json_canonical(v, &out, NULL), 0);
    assert_memory_equal(out, deep, 128);
    np_free(out);
    cJSON_Delete(v);
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    assert_int_equal(np_json_parse(deep, 130, 1000, &v), 0);
    expect_canon_error(v, NP_ERR_TOOBIG);
    cJSON_Delete(v);
    /* the buffer form honours the buffer's maximum */
    v = cJSON_CreateString("0123456789");
    b = np_buf_new(8);
    assert_non_null(b);
    assert_int_equal(np_json_canonical_buf(v, b), NP_ERR_TOOBIG);
    np_buf_free(b);
    b = np_buf_new(12);
    assert_int_equal(np_json_canonical_buf(v, b), 0);
    assert_string_equal(np_buf_ptr(b), "\"0123456789\"");
    np_buf_free(b);
    cJSON_Delete(v);
}

static void test_alloc_failure(void **state)
{
    const char *in = "{\"a\":[1,2,{\"b\":\"\\u0001x\"}],\"c\":\"dddddddddddddddddddddddddddd\"}";
    cJSON *v = NULL;
    int done = 0;

    assert_int_equal(np_json_parse(in, strlen(in), 1000, &v), 0);
    for (long i = 0; i < 100 && !done; i++) {
        char *out = (char *)1;
        int r;
        np_alloc_fail_after(i);
        r = np_json_canonical(v, &out, NULL);
        np_alloc_fail_after(-1);
        if (r == 0) {
            done = 1;
            np_free(out);
        } else {
            assert_int_equal(r, NP_ERR_NOMEM);
            assert_null(out);
        }
    }
    assert_true(done);
    cJSON_Delete(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_objects),       cmocka_unit_test(test_integers),
        cmocka_unit_test(test_unsupported_numbers), cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_parse_strict),        cmocka_unit_test(test_depth_and_size),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
