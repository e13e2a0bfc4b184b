/* Unit tests for lib/at atsign.c and the UTF-8/date helpers it relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "at/at_int.h"
#include "at/atsign.h"
#include "util/err.h"

struct norm_case {
    const char *in;
    int rc;
    const char *out;
};

static const struct norm_case norm_cases[] = {
    {"@alice", 0, "@alice"},
    {"alice", 0, "@alice"},
    {"@Alice", 0, "@alice"},
    {"ALICE", 0, "@alice"},
    {"@al.ice", 0, "@alice"},
    {"@a.l.i.c.e.", 0, "@alice"},
    {"@12alpaca", 0, "@12alpaca"},
    {"@bob_smith-2", 0, "@bob_smith-2"},
    {"@alice\xf0\x9f\x9b\xa0", 0, "@alice\xf0\x9f\x9b\xa0"}, /* alice🛠 */
    {"@Emoji\xf0\x9f\xa6\x84\xf0\x9f\x9b\xa0", 0, "@emoji\xf0\x9f\xa6\x84\xf0\x9f\x9b\xa0"},
    {"\xf0\x9f\x98\x80", 0, "@\xf0\x9f\x98\x80"},    /* 😀 alone */
    {"@\xc3\xa9t\xc3\xa9", 0, "@\xc3\xa9t\xc3\xa9"}, /* été */
    {"", NP_ERR_FORMAT, ""},
    {"@", NP_ERR_FORMAT, ""},
    {"@...", NP_ERR_FORMAT, ""},
    {"@al ice", NP_ERR_FORMAT, ""},
    {"@al\tice", NP_ERR_FORMAT, ""},
    {"@alice@", NP_ERR_FORMAT, ""},
    {"@@alice", NP_ERR_FORMAT, ""},
    {"@al:ice", NP_ERR_FORMAT, ""},
    {"@al!ce", NP_ERR_FORMAT, ""},
    {"@al*ce", NP_ERR_FORMAT, ""},
    {"@al'ce", NP_ERR_FORMAT, ""},
    {"@al`ce", NP_ERR_FORMAT, ""},
    {"@al(ce", NP_ERR_FORMAT, ""},
    {"@al)ce", NP_ERR_FORMAT, ""},
    {"@al;ce", NP_ERR_FORMAT, ""},
    {"@al&ce", NP_ERR_FORMAT, ""},
    {"@al=ce", NP_ERR_FORMAT, ""},
    {"@al+ce", NP_ERR_FORMAT, ""},
    {"@al$ce", NP_ERR_FORMAT, ""},
    {"@al,ce", NP_ERR_FORMAT, ""},
    {"@al/ce", NP_ERR_FORMAT, ""},
    {"@al?ce", NP_ERR_FORMAT, ""},
    {"@al#ce", NP_ERR_FORMAT, ""},
    {"@al[ce", NP_ERR_FORMAT, ""},
    {"@al]ce", NP_ERR_FORMAT, ""},
    {"@al{ce", NP_ERR_FORMAT, ""},
    {"@al}ce", NP_ERR_FORMAT, ""},
    {"@al\x01"
     "ce",
     NP_ERR_FORMAT, ""},
    {"@al\x7f"
     "ce",
     NP_ERR_FORMAT, ""},
    {"@al\xc2\x85"
     "ce",
     NP_ERR_FORMAT, ""}, /* C1 control NEL */
    {"@al\xc2\xa0"
     "ce",
     NP_ERR_FORMAT, ""}, /* no-break space */
    {"@al\xe3\x80\x80"
     "ce",
     NP_ERR_FORMAT, ""}, /* ideographic space */
    {"@al\xff"
     "ce",
     NP_ERR_FORMAT, ""}, /* invalid UTF-8 */
    {"@al\xc0\xaf"
     "ce",
     NP_ERR_FORMAT, ""}, /* overlong */
    {"@al\xed\xa0\x80"
     "ce",
     NP_ERR_FORMAT, ""},                    /* surrogate */
    {"@al\xf0\x9f\x98", NP_ERR_FORMAT, ""}, /* truncated */
};

static void test_normalise_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
        const struct norm_case *c = &norm_cases[i];
        char out[AT_ATSIGN_BUF];
        memset(out, 'x', sizeof(out));
        int rc = at_atsign_normalise(c->in, strlen(c->in), out, sizeof(out));
        if (rc != c->rc || strcmp(out, c->out) != 0)
            fail_msg("case %zu (%s): rc %d out '%s', want %d '%s'", i, c->in, rc, out, c->rc,
                     c->out);
    }
}

static void test_length_limit(void **state)
{
    char in[128], out[AT_ATSIGN_BUF];
    (void)state;

    /* 55 ASCII characters pass, 56 fail */
    in[0] = '@';
    memset(in + 1, 'a', 55);
    in[56] = '\0';
    assert_int_equal(at_atsign_normalise(in, 56, out, sizeof(out)), 0);
    assert_int_equal(strlen(out), 56);
    assert_int_equal(at_atsign_check(in, 56), 0);
    in[56] = 'a';
    in[57] = '\0';
    assert_int_equal(at_atsign_normalise(in, 57, out, sizeof(out)), NP_ERR_TOOBIG);
    assert_string_equal(out, "");
    assert_int_equal(at_atsign_check(in, 57), NP_ERR_TOOBIG);
    /* dots do not count: 55 letters + dots pass */
    char dotted[200];
    size_t n = 0;
    dotted[n++] = '@';
    for (int i = 0; i < 55; i++) {
        dotted[n++] = 'b';
        dotted[n++] = '.';
    }
    assert_int_equal(at_atsign_normalise(dotted, n, out, sizeof(out)), 0);
    assert_int_equal(strlen(out), 56);
    /* an emoji outside the BMP counts 2 (Dart String.length): 27 emoji = 54 ok,
     * 27 emoji + 2 letters = 56 too long */
    n = 0;
    in[n++] = '@';
    for (int i = 0; i < 27; i++) {
        memcpy(in + n, "\xf0\x9f\x9b\xa0", 4);
        n += 4;
    }
    assert_int_equal(at_atsign_normalise(in, n, out, sizeof(out)), 0);
    in[n++] = 'a';
    assert_int_equal(at_atsign_normalise(in, n, out, sizeof(out)), 0);
    in[n++] = 'a';
    assert_int_equal(at_atsign_normalise(in, n, out, sizeof(out)), NP_ERR_TOOBIG);
    /* 55 three-byte BMP characters fit the buffer */
    n = 0;
    in[n++] = '@';
    for (int i = 0; i < 40; i++) {
        memcpy(in + n, "\xe2\x9c\x93", 3); /* ✓ U+2713 */
        n += 3;
    }
    assert_int_equal(at_atsign_normalise(in, n, out, sizeof(out)), 0);
    assert_int_equal(strlen(out), n);
}

static void test_check_strict(void **state)
{
    static const struct {
        const char *s;
        int rc;
    } cases[] = {
        {"@alice", 0},
        {"@ALICE", 0},
        {"@alice\xf0\x9f\x9b\xa0", 0},
        {"alice", NP_ERR_FORMAT},
        {"@", NP_ERR_FORMAT},
        {"@al.ice", NP_ERR_FORMAT},
        {"@al ice", NP_ERR_FORMAT},
        {"@alice@", NP_ERR_FORMAT},
        {"@al:ice", NP_ERR_FORMAT},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(at_atsign_check(cases[i].s, strlen(cases[i].s)), cases[i].rc);
}

static void test_bad_args_and_equal(void **state)
{
    char out[AT_ATSIGN_BUF], small[8] = "zzz";
    (void)state;
    assert_int_equal(at_atsign_normalise(NULL, 0, out, sizeof(out)), NP_ERR_INVAL);
    assert_int_equal(at_atsign_normalise("@a", 2, NULL, 0), NP_ERR_INVAL);
    assert_int_equal(at_atsign_normalise("@a", 2, small, sizeof(small)), NP_ERR_INVAL);
    assert_string_equal(small, "");
    assert_int_equal(at_atsign_equal("@Alice", "alice"), 1);
    assert_int_equal(at_atsign_equal("@al.ice", "@ALICE"), 1);
    assert_int_equal(at_atsign_equal("@alice", "@bob"), 0);
    assert_int_equal(at_atsign_equal("@al ice", "@al ice"), 0);
    assert_int_equal(at_atsign_equal(NULL, "@a"), 0);
}

static void test_utf16_len(void **state)
{
    (void)state;
    assert_int_equal(at__utf16_len("abc", 3), 3);
    assert_int_equal(at__utf16_len("\xf0\x9f\x9b\xa0", 4), 2);
    assert_int_equal(at__utf16_len("\xc3\xa9", 2), 1);
    assert_int_equal(at__utf16_len("\xe2\x9c\x93", 3), 1);
    assert_true(at__utf16_len("\xc3", 1) == (size_t)-1);
    assert_true(at__utf16_len("\xf4\x90\x80\x80", 4) == (size_t)-1); /* > U+10FFFF */
}

static void test_dates(void **state)
{
    static const struct {
        const char *text;
        int rc;
        int64_t ms;
    } cases[] = {
        {"1970-01-01 00:00:00.000Z", 0, 0},
        {"2024-10-24 01:35:02.123Z", 0, 1729733702123LL},
        {"2024-10-24T01:35:02.123Z", 0, 1729733702123LL},
        {"2024-10-24 01:35:02.123456Z", 0, 1729733702123LL},
        {"2024-10-24 01:35:02.1Z", 0, 1729733702100LL},
        {"2024-10-24 01:35:02Z", 0, 1729733702000LL},
        {"2024-10-24 01:35:02.123", 0, 1729733702123LL},
        {"2024-02-29 00:00:00.000Z", 0, 1709164800000LL},
        {"2023-02-29 00:00:00.000Z", NP_ERR_FORMAT, 0},
        {"2024-13-01 00:00:00.000Z", NP_ERR_FORMAT, 0},
        {"2024-10-24 24:00:00.000Z", NP_ERR_FORMAT, 0},
        {"2024-10-24", NP_ERR_FORMAT, 0},
        {"2024-10-24 01:35:02.Z", NP_ERR_FORMAT, 0},
        {"2024-10-24 01:35:02.123Zx", NP_ERR_FORMAT, 0},
        {"null", NP_ERR_FORMAT, 0},
    };
    char buf[AT__DATE_BUF];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -7;
        int rc = at__date_parse(cases[i].text, strlen(cases[i].text), &ms);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0)
            assert_true(ms == cases[i].ms);
        else
            assert_true(ms == -7);
    }
    at__date_format(buf, sizeof(buf), 1729733702123LL);
    assert_string_equal(buf, "2024-10-24 01:35:02.123Z");
    at__date_format(buf, sizeof(buf), INT64_MAX);
    assert_string_equal(buf, "9999-12-31 23:59:59.999Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise_table), cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_check_strict),    cmocka_unit_test(test_bad_args_and_equal),
        cmocka_unit_test(test_utf16_len),       cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
