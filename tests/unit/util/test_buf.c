/* Unit tests for lib/util/buf.c: bounds, line reader, allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

static void test_put_and_max(void **state)
{
    struct np_buf *b = np_buf_new(8);
    assert_non_null(b);
    assert_int_equal(np_buf_put_str(b, "abcd"), 0);
    assert_int_equal(np_buf_put_str(b, "efgh"), 0);
    assert_int_equal(np_buf_len(b), 8);
    assert_int_equal(np_buf_put_str(b, "i"), NP_ERR_TOOBIG);
    assert_string_equal(np_buf_ptr(b), "abcdefgh");
    assert_int_equal(np_buf_consume(b, 3), 0);
    assert_string_equal(np_buf_ptr(b), "defgh");
    assert_int_equal(np_buf_consume(b, 6), NP_ERR_INVAL);
    assert_int_equal(np_buf_put_str(b, "xyz"), 0);
    assert_string_equal(np_buf_ptr(b), "defghxyz");
    assert_int_equal(np_buf_putf(b, "%d", 1), NP_ERR_TOOBIG);
    np_buf_free(b);
    np_buf_free(NULL);
}

static void test_take_line(void **state)
{
    struct np_buf *b = np_buf_new(64);
    char *line = (char *)1;
    size_t n;

    assert_int_equal(np_buf_take_line(b, 16, &line, &n), NP_AGAIN);
    assert_null(line);
    assert_int_equal(np_buf_put_str(b, "from:@a\r\nscan\nrest"), 0);
    assert_int_equal(np_buf_take_line(b, 16, &line, &n), 0);
    assert_string_equal(line, "from:@a");
    assert_int_equal(n, 7);
    np_free(line);
    assert_int_equal(np_buf_take_line(b, 16, &line, &n), 0);
    assert_string_equal(line, "scan");
    np_free(line);
    assert_int_equal(np_buf_take_line(b, 16, &line, &n), NP_AGAIN);
    assert_string_equal(np_buf_ptr(b), "rest");
    /* 16 bytes without a newline: too long */
    assert_int_equal(np_buf_put_str(b, "0123456789ab"), 0);
    assert_int_equal(np_buf_take_line(b, 16, &line, &n), NP_ERR_TOOBIG);
    assert_null(line);
    /* empty line */
    np_buf_reset(b);
    assert_int_equal(np_buf_put_str(b, "\n"), 0);
    assert_int_equal(np_buf_take_line(b, 16, &line, &n), 0);
    assert_string_equal(line, "");
    np_free(line);
    np_buf_free(b);
}

static void test_binary_and_detach(void **state)
{
    struct np_buf *b = np_buf_new(1024);
    unsigned char bin[300];
    size_t n;
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)i;
    assert_int_equal(np_buf_put(b, bin, sizeof(bin)), 0);
    assert_memory_equal(np_buf_ptr(b), bin, sizeof(bin));
    char *s = np_buf_detach(b, &n);
    assert_non_null(s);
    assert_int_equal(n, sizeof(bin));
    assert_memory_equal(s, bin, sizeof(bin));
    assert_int_equal(np_buf_len(b), 0);
    np_free(s);
    np_buf_free(b);
}

static void test_alloc_failure(void **state)
{
    struct np_buf *b = np_buf_new(1 << 20);
    assert_non_null(b);
    np_alloc_fail_after(0);
    assert_int_equal(np_buf_put_str(b, "x"), NP_ERR_NOMEM);
    np_alloc_fail_after(-1);
    assert_int_equal(np_buf_len(b), 0);
    assert_int_equal(np_buf_put_str(b, "x"), 0);
    np_alloc_fail_after(0);
    assert_null(np_buf_new(10));
    np_alloc_fail_after(-1);
    np_buf_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_and_max),
        cmocka_unit_test(test_take_line),
        cmocka_unit_test(test_binary_and_detach),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
