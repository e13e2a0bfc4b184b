/* Unit tests for lib/crypto/rand.c: random bytes, UUID v4 text, constant-time compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/rand.h"
#include "util/err.h"

static void test_random_bytes(void **state)
{
    unsigned char a[64], b[64], zero[64];

    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    memset(zero, 0, sizeof(zero));
    assert_int_equal(np_random_bytes(a, sizeof(a)), 0);
    assert_int_equal(np_random_bytes(b, sizeof(b)), 0);
    /* Each fails with probability 2^-512. */
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(np_random_bytes(NULL, 0), 0);
    assert_int_equal(np_random_bytes(NULL, 1), NP_ERR_INVAL);
}

static int is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_uuid4(void **state)
{
    char ids[64][NP_UUID_STR_LEN + 1];

    for (int n = 0; n < 64; n++) {
        char *u = ids[n];
        assert_int_equal(np_uuid4(u), 0);
        assert_int_equal(strlen(u), NP_UUID_STR_LEN);
        for (int i = 0; i < NP_UUID_STR_LEN; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                assert_int_equal(u[i], '-');
            else
                assert_true(is_lower_hex(u[i]));
        }
        assert_int_equal(u[14], '4');           /* version */
        assert_non_null(strchr("89ab", u[19])); /* RFC 4122 variant */
        for (int m = 0; m < n; m++)
            assert_string_not_equal(ids[m], u);
    }
    assert_int_equal(np_uuid4(NULL), NP_ERR_INVAL);
}

static void test_ct_equal(void **state)
{
    assert_int_equal(np_ct_equal("abcd", "abcd", 4), 1);
    assert_int_equal(np_ct_equal("abcd", "abce", 4), 0);
    assert_int_equal(np_ct_equal("xbcd", "abcd", 4), 0);
    assert_int_equal(np_ct_equal("abcd", "abce", 3), 1);
    assert_int_equal(np_ct_equal(NULL, NULL, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_uuid4),
        cmocka_unit_test(test_ct_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
