/*
 * tests/unit/srvd/test_srvd_parts.c - the relay's small building blocks on
 * their own: the string map and the asynchronous key cache (with the
 * key-source test double). The per-sender rate limiter is lib/np/ratelimit.c
 * (tests/unit/np/test_ratelimit.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keycache.h"
#include "map.h"
#include "srvd_testlib.h"
#include "crypto/rsa.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

static void test_map(void **state)
{
    struct smap *m = smap_new();
    static int vals[2000];
    char key[32];
    (void)state;

    assert_non_null(m);
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(smap_put(m, key, &vals[i]), 0);
    }
    assert_int_equal(smap_count(m), 2000);
    assert_int_equal(smap_put(m, "k7", &vals[0]), NP_ERR_EXISTS);
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_ptr_equal(smap_get(m, key), &vals[i]);
    }
    assert_null(smap_get(m, "nope"));
    for (int i = 0; i < 2000; i += 2) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_ptr_equal(smap_del(m, key), &vals[i]);
    }
    assert_null(smap_del(m, "k0"));
    assert_int_equal(smap_count(m), 1000);
    assert_null(smap_get(m, "k10"));
    assert_ptr_equal(smap_get(m, "k11"), &vals[11]);
    smap_free(m);
    smap_free(NULL);
}

struct got {
    struct kc_waiter w;
    int calls;
    int status;
    const struct np_rsa_key *key;
    struct np_rsa_key *expect;
};

static void got_cb(struct kc_waiter *w, int status, const struct np_rsa_key *key)
{
    struct got *g = (struct got *)w;
    g->calls++;
    g->status = status;
    g->key = key;
    if (status == 0)
        assert_int_equal(np_rsa_match(key, g->expect), 1);
}

static int called(void *arg)
{
    return ((struct got *)arg)->calls > 0;
}

static void test_keycache(void **state)
{
    struct th t;
    struct relay_keysource ks;
    struct keycache *kc;
    struct got g1, g2, g3;
    const struct np_rsa_key *k = NULL;
    struct kc_entry *pin;
    uint64_t fetches = 0;
    const char *uri = "public:publickey@alice";
    (void)state;

    th_init(&t);
    ks = th_keysource(&t);
    kc = kc_new(t.base, &ks, 100, 3, &fetches);
    assert_non_null(kc);
    memset(&g1, 0, sizeof(g1));
    memset(&g2, 0, sizeof(g2));
    memset(&g3, 0, sizeof(g3));
    g1.w.cb = g2.w.cb = g3.w.cb = got_cb;
    g1.expect = g2.expect = g3.expect = t.alice_enc;

    /* two waiters share one lookup; a cancelled one is never called */
    assert_int_equal(kc_get(kc, uri, &g1.w, &k), NP_AGAIN);
    assert_int_equal(kc_get(kc, uri, &g2.w, &k), NP_AGAIN);
    assert_int_equal(kc_get(kc, uri, &g3.w, &k), NP_AGAIN);
    kc_cancel(&g2.w);
    assert_true(th_run_until(&t, called, &g3, 2000));
    assert_int_equal(g1.calls, 1);
    assert_int_equal(g1.status, 0);
    assert_int_equal(g2.calls, 0);
    assert_int_equal(g3.calls, 1);
    assert_int_equal(fetches, 1);
    /* now cached: answered at once */
    assert_int_equal(kc_get(kc, uri, &g2.w, &k), 0);
    assert_int_equal(np_rsa_match(k, t.alice_enc), 1);
    assert_int_equal(fetches, 1);
    /* expired after the ttl: fetched again */
    th_run_for(&t, 150);
    g1.calls = 0;
    assert_int_equal(kc_get(kc, uri, &g1.w, &k), NP_AGAIN);
    assert_true(th_run_until(&t, called, &g1, 2000));
    assert_int_equal(fetches, 2);
    /* a pinned key does not expire */
    pin = kc_pin(kc, uri);
    assert_non_null(pin);
    th_run_for(&t, 150);
    assert_int_equal(kc_get(kc, uri, &g1.w, &k), 0);
    assert_int_equal(fetches, 2);
    kc_unpin(kc, pin);

    /* a failed lookup is reported, then remembered for a moment */
    th_key_set(&t, "public:publickey@nobody", NULL);
    g1.calls = 0;
    assert_int_equal(kc_get(kc, "public:publickey@nobody", &g1.w, &k), NP_AGAIN);
    assert_true(th_run_until(&t, called, &g1, 2000));
    assert_int_equal(g1.status, NP_ERR_NOTFOUND);
    assert_null(g1.key);
    assert_int_equal(kc_get(kc, "public:publickey@nobody", &g1.w, &k), NP_ERR_NOTFOUND);
    assert_int_equal(th_key_fetches(&t, "public:publickey@nobody"), 1);
    /* a value that is not a key is a failure too */
    th_key_set(&t, "public:publickey@junk", "not-a-key");
    g1.calls = 0;
    assert_int_equal(kc_get(kc, "public:publickey@junk", &g1.w, &k), NP_AGAIN);
    assert_true(th_run_until(&t, called, &g1, 2000));
    assert_true(g1.status < 0);
    /* the cache holds at most 3 entries: a 4th is refused while all are in use
     * (two fresh failures and a pinned key; an idle expired key would be swept) */
    pin = kc_pin(kc, uri);
    assert_non_null(pin);
    assert_int_equal(kc_get(kc, "public:publickey@device2", &g1.w, &k), NP_ERR_LIMIT);
    kc_unpin(kc, pin);
    /* freeing with a lookup in flight cancels it */
    th_run_for(&t, 1100); /* let the failures and the key expire */
    g1.calls = 0;
    assert_int_equal(kc_get(kc, "public:publickey@device2", &g1.w, &k), NP_AGAIN);
    assert_int_equal(t.pending_fetches, 1);
    kc_free(kc);
    assert_int_equal(t.pending_fetches, 0);
    assert_int_equal(g1.calls, 0);
    th_done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_keycache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
