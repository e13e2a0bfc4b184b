/* Unit tests for lib/util str.c, addr.c, time.c, log.c escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/addr.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

static void test_parse_i64(void **state)
{
    int64_t v = 7;
    assert_int_equal(np_parse_i64("123", 0, 1000, &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(np_parse_i64("-5", -10, 10, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(np_parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(np_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MIN);
    v = 7;
    assert_int_equal(np_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v), NP_ERR_TOOBIG);
    assert_int_equal(np_parse_i64("", 0, 10, &v), NP_ERR_FORMAT);
    assert_int_equal(np_parse_i64("-", 0, 10, &v), NP_ERR_FORMAT);
    assert_int_equal(np_parse_i64(" 1", 0, 10, &v), NP_ERR_FORMAT);
    assert_int_equal(np_parse_i64("1x", 0, 10, &v), NP_ERR_FORMAT);
    assert_int_equal(np_parse_i64("+1", 0, 10, &v), NP_ERR_FORMAT);
    assert_int_equal(np_parse_i64("11", 0, 10, &v), NP_ERR_TOOBIG);
    assert_int_equal(v, 7);
}

static void test_hostport(void **state)
{
    char host[NP_HOST_MAX + 1];
    int port = 0;
    assert_int_equal(np_hostport_parse("root.atsign.org:64", 0, host, &port), 0);
    assert_string_equal(host, "root.atsign.org");
    assert_int_equal(port, 64);
    assert_int_equal(np_hostport_parse("127.0.0.1:8080", 0, host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(np_hostport_parse("[::1]:25000", 0, host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 25000);
    assert_int_equal(np_hostport_parse("localhost", 64, host, &port), 0);
    assert_int_equal(port, 64);
    assert_int_equal(np_hostport_parse("::1", 64, host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(np_hostport_parse("localhost", 0, host, &port), NP_ERR_FORMAT);
    assert_int_equal(np_hostport_parse("host:0", 0, host, &port), NP_ERR_FORMAT);
    assert_int_equal(np_hostport_parse("host:65536", 0, host, &port), NP_ERR_FORMAT);
    assert_int_equal(np_hostport_parse(":64", 0, host, &port), NP_ERR_FORMAT);
    assert_int_equal(np_hostport_parse("[::1:64", 0, host, &port), NP_ERR_FORMAT);
    assert_int_equal(np_hostport_parse("a b:64", 0, host, &port), NP_ERR_FORMAT);
    assert_int_equal(np_hostport_parse("[::1]x", 0, host, &port), NP_ERR_FORMAT);
    char out[64];
    assert_int_equal(np_hostport_format(out, sizeof(out), "::1", 64), 0);
    assert_string_equal(out, "[::1]:64");
}

static void test_time_and_escape(void **state)
{
    char t[32], e[16];
    assert_string_equal(np_time_dart_utc(t, sizeof(t), 1729733702123LL),
                        "2024-10-24 01:35:02.123Z");
    assert_string_equal(np_log_escape(e, sizeof(e), "a\nb\x01", 4), "a\\nb\\x01");
    assert_string_equal(np_log_escape(e, sizeof(e), "0123456789abcdefgh", 18), "0123456789ab...");
    int64_t a = np_mono_ms();
    assert_true(np_mono_ms() >= a);
    char s[] = "  Hello World \r\n";
    assert_string_equal(np_str_lower(np_str_trim(s)), "hello world");
    assert_true(np_str_endswith("abc.sshnp", ".sshnp"));
    assert_false(np_str_startswith("ab", "abc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_i64),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_time_and_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
