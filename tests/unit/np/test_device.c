/* Unit tests for lib/np/device.c and permit.c: device names (12.1), npt
 * durations (11.2), permit-open matching (9.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "np/device.h"
#include "np/permit.h"
#include "util/alloc.h"
#include "util/err.h"

static void test_device_names(void **state)
{
    static const struct {
        const char *in, *out;
    } good[] = {
        {"default", "default"},
        {"My Pi", "my_pi"},
        {"garage  door\tpi", "garage_door_pi"},
        {"_x", "_x"},
        {"0-router", "0-router"},
        {"a-", "a-"},
        {"abcdefghijabcdefghijabcdefghijabcdef", "abcdefghijabcdefghijabcdefghijabcdef"},
    };
    static const char *const bad[] = {
        "", "a", "-ab", "ab.c", "ab@c", "abcdefghijabcdefghijabcdefghijabcdefg", "p\xc3\xa9", "a:b",
    };
    char out[64];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memset(out, 0, sizeof(out));
        assert_int_equal(np_device_name_normalize(good[i].in, out, sizeof(out)), 0);
        assert_string_equal(out, good[i].out);
        assert_int_equal(np_device_name_valid(out), 0);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(out, sizeof(out), "untouched");
        assert_int_equal(np_device_name_normalize(bad[i], out, sizeof(out)), NP_ERR_FORMAT);
        assert_string_equal(out, "untouched");
    }
    assert_int_equal(np_device_name_normalize("abc", out, 3), NP_ERR_TOOBIG);
    assert_int_equal(np_device_name_valid("My_pi"), NP_ERR_FORMAT);
    assert_true(strstr(NP_DEVICE_NAME_ERROR, "max length 36") != NULL);
}

static void test_durations(void **state)
{
    static const struct {
        const char *in;
        int64_t ms;
    } good[] = {
        {"30s", 30000},    {"14m", 840000},         {"1h", 3600000},
        {"7d", 604800000}, {"1h,14m,30s", 4470000}, {"1h14m30s", 4470000},
        {"90", 90000},     {"0", 31536000000LL},    {"365d", 31536000000LL},
    };
    static const char *const bad[] = {
        "", "x", "1x", "1h30", "-5s", "366d", "1h,", ",1h", "1.5h", "0s", "99999999999999999999s"};
    int64_t v;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        v = -1;
        assert_int_equal(np_duration_parse(good[i].in, &v), 0);
        assert_true(v == good[i].ms);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = -1;
        assert_int_equal(np_duration_parse(bad[i], &v), NP_ERR_FORMAT);
        assert_true(v == -1);
    }
}

static void test_permit(void **state)
{
    struct np_permit *p = NULL;
    char err[128];

    assert_int_equal(np_permit_parse(NP_PERMIT_DEFAULT, &p, err, sizeof(err)), 0);
    assert_int_equal(np_permit_count(p), 2);
    assert_true(np_permit_allows(p, "localhost", 22));
    assert_true(np_permit_allows(p, "LOCALHOST", 3389));
    assert_false(np_permit_allows(p, "localhost", 23));
    assert_false(np_permit_allows(p, "127.0.0.1", 22)); /* exact text, no DNS */
    np_permit_free(p);

    assert_int_equal(np_permit_parse(" *:80 , db:* ,10.0.0.1:5432", &p, err, sizeof(err)), 0);
    assert_int_equal(np_permit_count(p), 3);
    assert_string_equal(np_permit_item(p, 1), "db:*");
    assert_true(np_permit_allows(p, "anything", 80));
    assert_true(np_permit_allows(p, "db", 1));
    assert_true(np_permit_allows(p, "10.0.0.1", 5432));
    assert_false(np_permit_allows(p, "10.0.0.1", 5433));
    np_permit_free(p);

    assert_int_equal(np_permit_parse("*:*", &p, NULL, 0), 0);
    assert_true(np_permit_allows(p, "x", 65535));
    np_permit_free(p);

    assert_int_equal(np_permit_parse("", &p, NULL, 0), 0);
    assert_false(np_permit_allows(p, "localhost", 22));
    np_permit_free(p);

    static const char *const bad[] = {"localhost", "localhost:", ":22",    "h:0",
                                      "h:65536",   "h:2x",       "a b:22", "h:22,x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = (struct np_permit *)1;
        err[0] = '\0';
        assert_int_equal(np_permit_parse(bad[i], &p, err, sizeof(err)), NP_ERR_FORMAT);
        assert_null(p);
        assert_true(strstr(err, "invalid permit-open entry") != NULL);
    }
    for (long n = 0; n < 6; n++) { /* allocation failures never crash or leak */
        np_alloc_fail_after(n);
        int r = np_permit_parse("a:1,b:2", &p, NULL, 0);
        np_alloc_fail_after(-1);
        assert_true(r == 0 || r == NP_ERR_NOMEM);
        np_permit_free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_names),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_permit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
