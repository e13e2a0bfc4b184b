/*
 * tests/unit/np/test_ratelimit.c - the shared per-sender rate limiter
 * (lib/np/ratelimit.c) with an injected clock: burst and refill, exact
 * refill under frequent calls, case-insensitivity and key truncation, the
 * full-table rule, drop reports, disabled mode, NULL arguments and
 * allocation failure. (Moved here from tests/unit/srvd/test_srvd_parts.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "np/ratelimit.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

static struct np_ratelimit *mk(int per_min, int burst, size_t max)
{
    struct np_ratelimit *rl = NULL;

    assert_int_equal(np_ratelimit_new(per_min, burst, max, &rl), 0);
    assert_non_null(rl);
    return rl;
}

static int allow(struct np_ratelimit *rl, const char *who, int64_t now)
{
    return np_ratelimit_allow(rl, who, now, NULL);
}

/* One call: who at t must get `want`; then `count` senders are tracked. */
struct step {
    const char *who;
    int64_t t;
    int want;
    size_t count;
};

static void run_steps(struct np_ratelimit *rl, const struct step *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int got = allow(rl, s[i].who, s[i].t);
        size_t count = np_ratelimit_count(rl);
        if (got != s[i].want || count != s[i].count)
            fail_msg("step %zu (%s at %lld): allowed %d want %d, %zu tracked want %zu", i, s[i].who,
                     (long long)s[i].t, got, s[i].want, count, s[i].count);
    }
}

/* Burst of 3, then one token a second (the srvd test it replaces); refill
 * stops at the burst; a clock that goes back refills nothing. */
static void test_burst_refill(void **state)
{
    static const struct step steps[] = {
        {"@a", 1000, 1, 1},    {"@a", 1000, 1, 1},    {"@A", 1000, 1, 1},    {"@a", 1000, 0, 1},
        {"@a", 1500, 0, 1},    {"@a", 1999, 0, 1},    {"@a", 2000, 1, 1},    {"@a", 2000, 0, 1},
        {"@a", 3600000, 1, 1}, {"@a", 3600000, 1, 1}, {"@a", 3600000, 1, 1}, {"@a", 3600000, 0, 1},
        {"@a", 0, 0, 1},       {"@a", 3601000, 1, 1}, {"@b", 3601000, 1, 2},
    };
    struct np_ratelimit *rl = mk(60, 3, 2);
    (void)state;

    run_steps(rl, steps, sizeof(steps) / sizeof(steps[0]));
    np_ratelimit_free(rl);
}

/* A sender calling every 50 ms at 1 a minute still gets its token back
 * after exactly 60 s (no fraction is lost between calls). */
static void test_exact_refill(void **state)
{
    struct np_ratelimit *rl = mk(1, 1, 4);
    int64_t t, first_ok = -1;
    (void)state;

    assert_int_equal(allow(rl, "@slow", 0), 1);
    for (t = 50; t <= 120000 && first_ok < 0; t += 50)
        if (allow(rl, "@slow", t))
            first_ok = t;
    assert_int_equal(first_ok, 60000);
    np_ratelimit_free(rl);

    /* a huge gap at the highest rate neither overflows nor exceeds the burst */
    rl = mk(1000000, 2, 1);
    assert_int_equal(allow(rl, "@x", 0), 1);
    assert_int_equal(allow(rl, "@x", 0), 1);
    assert_int_equal(allow(rl, "@x", 0), 0);
    assert_int_equal(allow(rl, "@x", INT64_MAX / 2), 1);
    assert_int_equal(allow(rl, "@x", INT64_MAX / 2), 1);
    assert_int_equal(allow(rl, "@x", INT64_MAX / 2), 0);
    np_ratelimit_free(rl);
}

static void test_case_and_keys(void **state)
{
    struct np_ratelimit *rl = mk(1, 2, 8);
    char a[400], b[400];
    (void)state;

    assert_int_equal(allow(rl, "@Alice", 0), 1);
    assert_int_equal(allow(rl, "@aLICE", 0), 1);
    assert_int_equal(allow(rl, "@alice", 0), 0);
    assert_int_equal(np_ratelimit_count(rl), 1);
    /* other senders have their own bucket; non-ASCII bytes are kept as they are */
    assert_int_equal(allow(rl, "@bob", 0), 1);
    assert_int_equal(allow(rl, "@\xc3\x89ve", 0), 1);
    assert_int_equal(allow(rl, "@\xc3\xa9ve", 0), 1);
    assert_int_equal(np_ratelimit_count(rl), 4);
    /* only the first NP_RATELIMIT_KEY_MAX bytes count */
    memset(a, 'x', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[NP_RATELIMIT_KEY_MAX] = 'Y';
    assert_int_equal(allow(rl, a, 0), 1);
    assert_int_equal(allow(rl, b, 0), 1);
    assert_int_equal(allow(rl, a, 0), 0);
    assert_int_equal(np_ratelimit_count(rl), 5);
    b[NP_RATELIMIT_KEY_MAX - 1] = 'Y';
    assert_int_equal(allow(rl, b, 0), 1);
    assert_int_equal(np_ratelimit_count(rl), 6);
    np_ratelimit_free(rl);
}

/* When full, only refilled buckets are forgotten; a crowd of newcomers
 * never resets a limited sender. 1 token a second, burst 3, 2 senders. */
static void test_full_table(void **state)
{
    static const struct step steps[] = {
        {"@a", 1000, 1, 1}, {"@a", 1000, 1, 1},
        {"@a", 1000, 1, 1}, /* @a full at 4000 */
        {"@b", 2000, 1, 2}, /* @b full at 3000 */
        {"@n", 2000, 0, 2}, /* no room */
        {"@a", 2100, 1, 2}, /* one token back, not reset by the newcomers */
        {"@a", 2100, 0, 2}, {"@c", 2999, 0, 2},
        {"@c", 3000, 1, 2},                     /* @b is full and forgotten to make room */
        {"@d", 3000, 0, 2}, {"@a", 3000, 1, 2}, /* @a kept its own state: one token since 2100 */
        {"@a", 3000, 0, 2},
    };
    struct np_ratelimit *rl = mk(60, 3, 2);
    (void)state;

    run_steps(rl, steps, 5);
    for (int i = 0; i < 50; i++) {
        char who[16];
        snprintf(who, sizeof(who), "@n%d", i);
        assert_int_equal(allow(rl, who, 2000 + i), 0);
    }
    run_steps(rl, steps + 5, sizeof(steps) / sizeof(steps[0]) - 5);
    np_ratelimit_free(rl);

    /* max 0 counts as 1, burst 0 as 1 */
    rl = mk(60, 0, 0);
    assert_int_equal(allow(rl, "@a", 0), 1);
    assert_int_equal(allow(rl, "@a", 0), 0);
    assert_int_equal(allow(rl, "@b", 0), 0);
    assert_int_equal(allow(rl, "@b", 1000), 1);
    assert_int_equal(np_ratelimit_count(rl), 1);
    np_ratelimit_free(rl);
}

static void test_reports(void **state)
{
    struct np_ratelimit *rl = mk(1, 1, 4);
    uint64_t rep = 99;
    (void)state;

    assert_int_equal(np_ratelimit_allow(rl, "@a", 0, &rep), 1);
    assert_int_equal(rep, 0);
    /* the first drop is reported at once */
    assert_int_equal(np_ratelimit_allow(rl, "@a", 10, &rep), 0);
    assert_int_equal(rep, 1);
    /* then at most once a minute, with the drops since */
    for (int i = 0; i < 5; i++) {
        rep = 99;
        assert_int_equal(np_ratelimit_allow(rl, "@a", 20 + i, &rep), 0);
        assert_int_equal(rep, 0);
    }
    assert_int_equal(np_ratelimit_allow(rl, "@a", 59999, &rep), 0);
    assert_int_equal(rep, 0);
    /* the token is back at 60000 */
    assert_int_equal(np_ratelimit_allow(rl, "@a", 60000, &rep), 1);
    assert_int_equal(rep, 0);
    assert_int_equal(np_ratelimit_allow(rl, "@a", 60010, &rep), 0);
    assert_int_equal(rep, 7);
    assert_int_equal(np_ratelimit_allow(rl, "@a", 60011, &rep), 0);
    assert_int_equal(rep, 0);
    /* each sender has its own report window */
    assert_int_equal(np_ratelimit_allow(rl, "@b", 60011, &rep), 1);
    assert_int_equal(np_ratelimit_allow(rl, "@b", 60012, &rep), 0);
    assert_int_equal(rep, 1);
    /* a refusal for lack of room has no bucket and no report */
    np_ratelimit_free(rl);
    rl = mk(1, 1, 1);
    assert_int_equal(np_ratelimit_allow(rl, "@a", 0, &rep), 1);
    rep = 99;
    assert_int_equal(np_ratelimit_allow(rl, "@b", 1, &rep), 0);
    assert_int_equal(rep, 0);
    np_ratelimit_free(rl);
}

static void test_disabled(void **state)
{
    uint64_t rep = 99;
    (void)state;

    for (int per_min = -1; per_min <= 0; per_min++) {
        struct np_ratelimit *rl = mk(per_min, 1, 1);
        for (int i = 0; i < 100; i++) {
            char who[16];
            snprintf(who, sizeof(who), "@s%d", i % 7);
            assert_int_equal(np_ratelimit_allow(rl, who, 0, &rep), 1);
            assert_int_equal(rep, 0);
        }
        assert_int_equal(np_ratelimit_count(rl), 0);
        np_ratelimit_free(rl);
    }
}

static void test_null(void **state)
{
    struct np_ratelimit *rl = mk(60, 1, 1);
    uint64_t rep = 99;
    (void)state;

    assert_int_equal(np_ratelimit_new(60, 1, 1, NULL), NP_ERR_INVAL);
    assert_int_equal(np_ratelimit_allow(NULL, "@a", 0, &rep), 1);
    assert_int_equal(rep, 0);
    rep = 99;
    assert_int_equal(np_ratelimit_allow(rl, NULL, 0, &rep), 0);
    assert_int_equal(rep, 0);
    assert_int_equal(np_ratelimit_count(rl), 0);
    assert_int_equal(np_ratelimit_count(NULL), 0);
    np_ratelimit_free(rl);
    np_ratelimit_free(NULL);
}

static void test_alloc_failure(void **state)
{
    struct np_ratelimit *rl = (struct np_ratelimit *)&rl;
    (void)state;

    for (long n = 0; n < 2; n++) {
        rl = (struct np_ratelimit *)&rl;
        np_alloc_fail_after(n);
        assert_int_equal(np_ratelimit_new(60, 1, 8, &rl), NP_ERR_NOMEM);
        np_alloc_fail_after(-1);
        assert_null(rl);
    }
    rl = mk(60, 1, 8);
    assert_int_equal(allow(rl, "@a", 0), 1);
    /* a new sender whose bucket cannot be allocated is refused, untracked;
     * a known one needs no allocation */
    np_alloc_fail_after(0);
    assert_int_equal(allow(rl, "@b", 0), 0);
    assert_int_equal(allow(rl, "@a", 1000), 1);
    np_alloc_fail_after(-1);
    assert_int_equal(np_ratelimit_count(rl), 1);
    assert_int_equal(allow(rl, "@b", 0), 1);
    np_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_refill),  cmocka_unit_test(test_exact_refill),
        cmocka_unit_test(test_case_and_keys), cmocka_unit_test(test_full_table),
        cmocka_unit_test(test_reports),       cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_null),          cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
