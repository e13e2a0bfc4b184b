/*
 * Unit tests for src/atserver notify_store.c: insert/get/status/remove,
 * unique increasing receipt times and replay (same-millisecond ties), re-queue
 * after reopen, expiry, strategy latest, filters, sharing the file with the
 * key store, allocation failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore.h"
#include "notify_store.h"
#include "store_test_util.h"
#include "util/alloc.h"
#include "util/err.h"

#define T0 1700000000000LL

struct fx {
    char dir[256];
    struct ns *ns;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    tu_mkdtemp(f->dir, sizeof(f->dir));
    if (ns_open(f->dir, "@bob", 0, &f->ns) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    ns_close(f->ns);
    np_alloc_fail_after(-1);
    if (tu_rmtree(f->dir) != 0)
        return -1;
    free(f);
    return 0;
}

/* A received notification with defaults; id and key given. */
static struct ns_record rec_of(const char *id, int type, int64_t ttl_ms)
{
    struct ns_record r;

    memset(&r, 0, sizeof(r));
    r.id = id;
    r.from_atsign = type == NS_TYPE_SENT ? "@bob" : "@alice";
    r.to_atsign = type == NS_TYPE_SENT ? "@alice" : "@bob";
    r.key = "@bob:ping.dev.sshnp@alice";
    r.type = type;
    r.op = NS_OP_UPDATE;
    r.message_type = NS_MSG_KEY;
    r.priority = NS_PRIO_LOW;
    r.status = NS_STATUS_QUEUED;
    r.strategy = NS_STRATEGY_ALL;
    r.notifier = "SYSTEM";
    r.depth = 1;
    r.value = "b64value";
    r.meta_json = "{\"isEncrypted\":true}";
    r.ttl_ms = ttl_ms;
    return r;
}

static void test_insert_get_status_remove(void **state)
{
    struct fx *f = *state;
    struct ns_record in = rec_of("2b0a-1", NS_TYPE_SENT, 60000), *out = NULL;
    int64_t date = 0, exp = 0, n = 0;

    in.op = NS_OP_DELETE;
    in.message_type = NS_MSG_TEXT;
    in.priority = NS_PRIO_HIGH;
    in.strategy = NS_STRATEGY_LATEST;
    in.notifier = "sshnp";
    in.depth = 3;
    in.retry_count = 2;
    in.status = NS_STATUS_ERRORED;
    assert_int_equal(ns_insert(f->ns, &in, T0, &date, &exp), 0);
    assert_true(date == T0);
    assert_true(exp == T0 + 60000);

    assert_int_equal(ns_get(f->ns, "2b0a-1", &out), 0);
    assert_string_equal(out->id, "2b0a-1");
    assert_string_equal(out->from_atsign, "@bob");
    assert_string_equal(out->to_atsign, "@alice");
    assert_string_equal(out->key, "@bob:ping.dev.sshnp@alice");
    assert_int_equal(out->type, NS_TYPE_SENT);
    assert_int_equal(out->op, NS_OP_DELETE);
    assert_int_equal(out->message_type, NS_MSG_TEXT);
    assert_int_equal(out->priority, NS_PRIO_HIGH);
    assert_int_equal(out->status, NS_STATUS_ERRORED);
    assert_true(out->retry_count == 2);
    assert_int_equal(out->strategy, NS_STRATEGY_LATEST);
    assert_string_equal(out->notifier, "sshnp");
    assert_true(out->depth == 3);
    assert_string_equal(out->value, "b64value");
    assert_string_equal(out->meta_json, "{\"isEncrypted\":true}");
    assert_true(out->ttl_ms == 60000 && out->date_ms == T0 && out->expires_at_ms == T0 + 60000);
    ns_record_free(out);

    /* NULL value / metadata / notifier. No ttl: no expiry. */
    in = rec_of("id-2", NS_TYPE_RECEIVED, 0);
    in.value = NULL;
    in.meta_json = NULL;
    in.notifier = NULL;
    assert_int_equal(ns_insert(f->ns, &in, T0, &date, &exp), 0);
    assert_true(exp == 0);
    assert_int_equal(ns_get(f->ns, "id-2", &out), 0);
    assert_null(out->value);
    assert_null(out->meta_json);
    assert_string_equal(out->notifier, "SYSTEM");
    assert_true(out->expires_at_ms == 0 && out->ttl_ms == 0);
    ns_record_free(out);

    /* Ids are unique. */
    assert_int_equal(ns_insert(f->ns, &in, T0, &date, NULL), NP_ERR_EXISTS);
    assert_true(date == 0);
    assert_int_equal(ns_count(f->ns, &n), 0);
    assert_true(n == 2);

    assert_int_equal(ns_set_status(f->ns, "2b0a-1", NS_STATUS_DELIVERED, 3), 0);
    assert_int_equal(ns_get(f->ns, "2b0a-1", &out), 0);
    assert_int_equal(out->status, NS_STATUS_DELIVERED);
    assert_true(out->retry_count == 3);
    ns_record_free(out);
    assert_int_equal(ns_set_status(f->ns, "nope", NS_STATUS_DELIVERED, 0), NP_ERR_NOTFOUND);
    assert_int_equal(ns_set_status(f->ns, "2b0a-1", 9, 0), NP_ERR_INVAL);

    assert_int_equal(ns_remove(f->ns, "2b0a-1"), 0);
    out = (struct ns_record *)1;
    assert_int_equal(ns_get(f->ns, "2b0a-1", &out), NP_ERR_NOTFOUND);
    assert_null(out);
    assert_int_equal(ns_remove(f->ns, "2b0a-1"), NP_ERR_NOTFOUND);

    /* Validation. */
    in = rec_of("", NS_TYPE_RECEIVED, 0);
    assert_int_equal(ns_insert(f->ns, &in, T0, NULL, NULL), NP_ERR_INVAL);
    in = rec_of("x", 3, 0);
    assert_int_equal(ns_insert(f->ns, &in, T0, NULL, NULL), NP_ERR_INVAL);
    in = rec_of("x", NS_TYPE_SELF, 0);
    in.key = NULL;
    assert_int_equal(ns_insert(f->ns, &in, T0, NULL, NULL), NP_ERR_INVAL);
    in = rec_of("x", NS_TYPE_SELF, 0);
    in.priority = 3;
    assert_int_equal(ns_insert(f->ns, &in, T0, NULL, NULL), NP_ERR_INVAL);
    {
        char longid[NS_ID_MAX + 2];
        memset(longid, 'a', sizeof(longid) - 1);
        longid[sizeof(longid) - 1] = '\0';
        in = rec_of(longid, NS_TYPE_SELF, 0);
        assert_int_equal(ns_insert(f->ns, &in, T0, NULL, NULL), NP_ERR_TOOBIG);
        assert_int_equal(ns_get(f->ns, longid, &out), NP_ERR_NOTFOUND);
    }
}

static void test_unique_times_and_replay(void **state)
{
    struct fx *f = *state;
    struct ns_list *l = NULL;
    int64_t dates[8], last_seen;
    char ids[8][8], seen[8][8];
    size_t nseen = 0;
    int i, rounds;

    /* Five in the same millisecond, one from a clock that stepped back, two
     * later: receipt times are unique and increase in insertion order. */
    for (i = 0; i < 8; i++) {
        struct ns_record r;
        int64_t now = i < 5 ? T0 : i == 5 ? T0 - 1000 : T0 + 100 * i;
        snprintf(ids[i], sizeof(ids[i]), "n%d", i);
        r = rec_of(ids[i], i == 6 ? NS_TYPE_SELF : NS_TYPE_RECEIVED, 60000);
        assert_int_equal(ns_insert(f->ns, &r, now, &dates[i], NULL), 0);
        if (i)
            assert_true(dates[i] > dates[i - 1]);
    }
    assert_true(dates[0] == T0 && dates[4] == T0 + 4 && dates[5] == T0 + 5);
    assert_true(dates[6] == T0 + 600 && dates[7] == T0 + 700);
    /* A sent record in between is never replayed to monitors. */
    {
        struct ns_record r = rec_of("sent1", NS_TYPE_SENT, 60000);
        assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    }

    /* Replay everything (selfNotifications on) ... */
    assert_int_equal(ns_list_received(f->ns, 0, T0 + 1000, 1, 0, &l), 0);
    assert_int_equal(l->count, 8);
    for (i = 0; i < 8; i++) {
        assert_string_equal(l->items[i]->id, ids[i]);
        assert_true(l->items[i]->date_ms == dates[i]);
        if (i)
            assert_true(l->items[i]->seq > l->items[i - 1]->seq);
    }
    ns_list_free(l);
    /* ... without self notifications ... */
    assert_int_equal(ns_list_received(f->ns, 0, T0 + 1000, 0, 0, &l), 0);
    assert_int_equal(l->count, 7);
    for (i = 0; i < 7; i++)
        assert_string_not_equal(l->items[i]->id, "n6");
    ns_list_free(l);
    /* ... strictly after the 2nd of the same-millisecond group. */
    assert_int_equal(ns_list_received(f->ns, dates[1], T0 + 1000, 1, 0, &l), 0);
    assert_int_equal(l->count, 6);
    assert_string_equal(l->items[0]->id, "n2");
    ns_list_free(l);
    assert_int_equal(ns_list_received(f->ns, INT64_MAX, T0, 1, 0, &l), 0);
    assert_int_equal(l->count, 0);
    ns_list_free(l);

    /* A client that reconnects after every notification with
     * monitor:<last epochMillis> sees each exactly once, in order. */
    last_seen = T0 - 1;
    for (rounds = 0; rounds < 20; rounds++) {
        assert_int_equal(ns_list_received(f->ns, last_seen, T0 + 1000, 1, 1, &l), 0);
        if (l->count == 0) {
            ns_list_free(l);
            break;
        }
        assert_true(nseen < 8);
        snprintf(seen[nseen++], sizeof(seen[0]), "%s", l->items[0]->id);
        last_seen = l->items[0]->date_ms;
        ns_list_free(l);
    }
    assert_int_equal(nseen, 8);
    for (i = 0; i < 8; i++)
        assert_string_equal(seen[i], ids[i]);

    /* Expired ones are not replayed. */
    assert_int_equal(ns_list_received(f->ns, 0, T0 + 60005, 1, 0, &l), 0);
    assert_int_equal(l->count, 3); /* n5 (T0+5 + 60000) is the last of the group */
    assert_string_equal(l->items[0]->id, "n5");
    ns_list_free(l);
}

static void test_high_water_persists(void **state)
{
    struct fx *f = *state;
    struct ns_record r = rec_of("a", NS_TYPE_RECEIVED, 60000);
    int64_t d1 = 0, d2 = 0;

    assert_int_equal(ns_insert(f->ns, &r, T0, &d1, NULL), 0);
    assert_int_equal(ns_remove(f->ns, "a"), 0);
    ns_close(f->ns);
    f->ns = NULL;
    assert_int_equal(ns_open(f->dir, "@bob", 0, &f->ns), 0);
    r.id = "b";
    assert_int_equal(ns_insert(f->ns, &r, T0, &d2, NULL), 0);
    /* A client that saw "a" at d1 will still get "b". */
    assert_true(d2 > d1);
}

static void test_queued_sent_after_reopen(void **state)
{
    struct fx *f = *state;
    struct ns_list *l = NULL;
    struct ns_record r;

    r = rec_of("q1", NS_TYPE_SENT, 60000);
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    r = rec_of("delivered", NS_TYPE_SENT, 60000);
    r.status = NS_STATUS_DELIVERED;
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    r = rec_of("err-retry", NS_TYPE_SENT, 60000);
    r.status = NS_STATUS_ERRORED;
    r.retry_count = 29;
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    r = rec_of("err-done", NS_TYPE_SENT, 60000);
    r.status = NS_STATUS_ERRORED;
    r.retry_count = 30;
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    r = rec_of("old", NS_TYPE_SENT, 10);
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    r = rec_of("received", NS_TYPE_RECEIVED, 60000);
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    r = rec_of("q2", NS_TYPE_SENT, 0); /* no expiry */
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    assert_int_equal(ns_set_status(f->ns, "q1", NS_STATUS_ERRORED, 1), 0);

    ns_close(f->ns);
    f->ns = NULL;
    assert_int_equal(ns_open(f->dir, "bob", 0, &f->ns), 0);
    assert_int_equal(ns_list_queued_sent(f->ns, T0 + 1000, 30, &l), 0);
    assert_int_equal(l->count, 3);
    assert_string_equal(l->items[0]->id, "q1");
    assert_int_equal(l->items[0]->status, NS_STATUS_ERRORED);
    assert_true(l->items[0]->retry_count == 1);
    assert_string_equal(l->items[1]->id, "err-retry");
    assert_string_equal(l->items[2]->id, "q2");
    ns_list_free(l);
}

static void test_expire(void **state)
{
    struct fx *f = *state;
    struct ns_record r, *out = NULL;
    size_t marked = 9, deleted = 9;
    int64_t n = 0;

    r = rec_of("short", NS_TYPE_SENT, 1000);
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    r = rec_of("short-delivered", NS_TYPE_SENT, 1000);
    r.status = NS_STATUS_DELIVERED;
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    r = rec_of("long", NS_TYPE_RECEIVED, 100000);
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    r = rec_of("forever", NS_TYPE_RECEIVED, 0);
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);

    assert_int_equal(ns_expire(f->ns, T0 + 500, 10000, &marked, &deleted), 0);
    assert_int_equal(marked, 0);
    assert_int_equal(deleted, 0);

    /* Past expiry: undelivered is marked expired and kept for notify:status. */
    assert_int_equal(ns_expire(f->ns, T0 + 2000, 10000, &marked, &deleted), 0);
    assert_int_equal(marked, 1);
    assert_int_equal(deleted, 0);
    assert_int_equal(ns_get(f->ns, "short", &out), 0);
    assert_int_equal(out->status, NS_STATUS_EXPIRED);
    ns_record_free(out);
    assert_int_equal(ns_get(f->ns, "short-delivered", &out), 0);
    assert_int_equal(out->status, NS_STATUS_DELIVERED);
    ns_record_free(out);

    /* After the retention both short ones are gone. */
    assert_int_equal(ns_expire(f->ns, T0 + 20000, 10000, &marked, &deleted), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(ns_get(f->ns, "short", &out), NP_ERR_NOTFOUND);
    assert_int_equal(ns_count(f->ns, &n), 0);
    assert_true(n == 2);

    /* Records without expiry are dropped after 72 h. */
    assert_int_equal(ns_expire(f->ns, T0 + NS_NO_EXPIRY_MAX_AGE_MS, 0, &marked, &deleted), 0);
    assert_int_equal(ns_get(f->ns, "forever", &out), 0);
    ns_record_free(out);
    assert_int_equal(ns_expire(f->ns, T0 + NS_NO_EXPIRY_MAX_AGE_MS + 10, 0, &marked, &deleted), 0);
    assert_int_equal(ns_get(f->ns, "forever", &out), NP_ERR_NOTFOUND);
    assert_int_equal(ns_count(f->ns, &n), 0);
    assert_true(n == 0);
    assert_int_equal(ns_expire(f->ns, T0, -1, NULL, NULL), NP_ERR_INVAL);
}

static void test_trim_latest(void **state)
{
    struct fx *f = *state;
    struct ns_list *l = NULL, *tr = NULL;
    struct ns_record r, *out = NULL;
    char id[16];
    int i;

    for (i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "bob-n1-%d", i);
        r = rec_of(id, NS_TYPE_SENT, 60000);
        r.to_atsign = "@bob2";
        r.notifier = "n1";
        r.strategy = NS_STRATEGY_LATEST;
        r.depth = 2;
        if (i == 1)
            r.status = NS_STATUS_ERRORED;
        if (i == 0)
            r.status = NS_STATUS_DELIVERED; /* done: never trimmed */
        assert_int_equal(ns_insert(f->ns, &r, T0 + i, NULL, NULL), 0);
    }
    for (i = 0; i < 2; i++) {
        snprintf(id, sizeof(id), "bob-n2-%d", i);
        r = rec_of(id, NS_TYPE_SENT, 60000);
        r.to_atsign = "@bob2";
        r.notifier = "n2";
        assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    }
    r = rec_of("carol-n1", NS_TYPE_SENT, 60000);
    r.to_atsign = "@carol";
    r.notifier = "n1";
    assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);

    assert_int_equal(ns_trim_latest(f->ns, "@bob2", "n1", 2, &tr), 0);
    assert_int_equal(tr->count, 2);
    {
        int saw1 = 0, saw2 = 0;
        size_t k;
        for (k = 0; k < tr->count; k++) {
            saw1 |= strcmp(tr->items[k]->id, "bob-n1-1") == 0;
            saw2 |= strcmp(tr->items[k]->id, "bob-n1-2") == 0;
            assert_int_equal(tr->items[k]->status, NS_STATUS_EXPIRED);
        }
        assert_true(saw1 && saw2);
    }
    ns_list_free(tr);
    assert_int_equal(ns_get(f->ns, "bob-n1-0", &out), 0);
    assert_int_equal(out->status, NS_STATUS_DELIVERED);
    ns_record_free(out);

    assert_int_equal(ns_list_queued_sent(f->ns, T0 + 10, 30, &l), 0);
    assert_int_equal(l->count, 5); /* n1-3, n1-4, n2-0, n2-1, carol */
    for (i = 0; i < 5; i++) {
        assert_string_not_equal(l->items[i]->id, "bob-n1-1");
        assert_string_not_equal(l->items[i]->id, "bob-n1-2");
    }
    ns_list_free(l);

    /* Idempotent, and keep_n 0 drops all queued of that notifier. */
    assert_int_equal(ns_trim_latest(f->ns, "@bob2", "n1", 2, &tr), 0);
    assert_int_equal(tr->count, 0);
    ns_list_free(tr);
    assert_int_equal(ns_trim_latest(f->ns, "@bob2", "n2", 0, NULL), 0);
    assert_int_equal(ns_list_queued_sent(f->ns, T0 + 10, 30, &l), 0);
    assert_int_equal(l->count, 3);
    ns_list_free(l);
}

static void test_list_filter(void **state)
{
    struct fx *f = *state;
    struct ns_filter flt;
    struct ns_list *l = NULL;
    struct ns_record r;
    int i;

    for (i = 0; i < 6; i++) {
        char id[8];
        snprintf(id, sizeof(id), "r%d", i);
        r = rec_of(id, i % 3 == 0 ? NS_TYPE_SENT : NS_TYPE_RECEIVED, 60000);
        assert_int_equal(ns_insert(f->ns, &r, T0 + 86400000LL * i, NULL, NULL), 0);
    }
    memset(&flt, 0, sizeof(flt));
    assert_int_equal(ns_list(f->ns, &flt, &l), 0);
    assert_int_equal(l->count, 6);
    ns_list_free(l);
    assert_int_equal(ns_list(f->ns, NULL, &l), 0);
    assert_int_equal(l->count, 6);
    ns_list_free(l);

    flt.types = NS_TYPE_RECEIVED;
    flt.from_ms = T0 + 86400000LL;
    flt.to_ms = T0 + 86400000LL * 4;
    assert_int_equal(ns_list(f->ns, &flt, &l), 0);
    assert_int_equal(l->count, 2);
    assert_string_equal(l->items[0]->id, "r1");
    assert_string_equal(l->items[1]->id, "r2");
    ns_list_free(l);

    memset(&flt, 0, sizeof(flt));
    flt.types = NS_TYPE_SENT;
    flt.to_atsign = "@alice";
    assert_int_equal(ns_list(f->ns, &flt, &l), 0);
    assert_int_equal(l->count, 2);
    ns_list_free(l);
    flt.to_atsign = "@zed";
    assert_int_equal(ns_list(f->ns, &flt, &l), 0);
    assert_int_equal(l->count, 0);
    ns_list_free(l);

    memset(&flt, 0, sizeof(flt));
    flt.now_ms = T0 + 86400000LL * 5;
    flt.limit = 1;
    assert_int_equal(ns_list(f->ns, &flt, &l), 0);
    assert_int_equal(l->count, 1);
    assert_string_equal(l->items[0]->id, "r5");
    ns_list_free(l);
    flt.types = 8;
    assert_int_equal(ns_list(f->ns, &flt, &l), NP_ERR_INVAL);
    assert_null(l);
}

static void test_shared_file_with_keystore(void **state)
{
    struct fx *f = *state;
    struct ks *ks = NULL;
    struct ks_times t = {T0, 0, 0, 0};
    struct ks_entry *e = NULL;
    struct ns_record r = rec_of("x1", NS_TYPE_RECEIVED, 60000), *out = NULL;
    int i;

    assert_int_equal(ks_open(f->dir, "@bob", 0, &ks), 0);
    for (i = 0; i < 10; i++) {
        char id[8];
        snprintf(id, sizeof(id), "x%d", i);
        r.id = id;
        assert_int_equal(ks_put(ks, "cached:@bob:k@alice", id, NULL, &t, KS_OP_UPDATE, NULL), 0);
        assert_int_equal(ns_insert(f->ns, &r, T0, NULL, NULL), 0);
    }
    ks_close(ks);
    ns_close(f->ns);
    f->ns = NULL;
    assert_int_equal(ks_open(f->dir, "@bob", 0, &ks), 0);
    assert_int_equal(ns_open(f->dir, "@bob", 0, &f->ns), 0);
    assert_int_equal(ks_get(ks, "cached:@bob:k@alice", T0, &e), 0);
    assert_string_equal(e->value, "x9");
    ks_entry_free(e);
    assert_int_equal(ns_get(f->ns, "x9", &out), 0);
    ns_record_free(out);
    ks_close(ks);
}

#define ALLOC_LOOP(call, ok_cond, cleanup)                                                         \
    do {                                                                                           \
        long n_;                                                                                   \
        int r_ = -1;                                                                               \
        for (n_ = 0; n_ < 200; n_++) {                                                             \
            np_alloc_fail_after(n_);                                                               \
            r_ = (call);                                                                           \
            np_alloc_fail_after(-1);                                                               \
            if (r_ == 0)                                                                           \
                break;                                                                             \
            assert_int_equal(r_, NP_ERR_NOMEM);                                                    \
        }                                                                                          \
        assert_int_equal(r_, 0);                                                                   \
        assert_true(n_ > 0);                                                                       \
        assert_true(ok_cond);                                                                      \
        cleanup;                                                                                   \
    } while (0)

static void test_alloc_failures(void **state)
{
    struct fx *f = *state;
    struct ns_list *l = NULL;
    struct ns_record *out = NULL;
    struct ns *ns = NULL;
    int i, r;

    for (i = 0; i < 30; i++) {
        char id[8];
        struct ns_record rec;
        snprintf(id, sizeof(id), "a%d", i);
        rec = rec_of(id, i < 20 ? NS_TYPE_SENT : NS_TYPE_RECEIVED, 60000);
        rec.notifier = "n";
        assert_int_equal(ns_insert(f->ns, &rec, T0, NULL, NULL), 0);
    }
    ALLOC_LOOP(ns_open(f->dir, "@bob", 0, &ns), ns != NULL, ns_close(ns));
    ALLOC_LOOP(ns_get(f->ns, "a3", &out), out && strcmp(out->id, "a3") == 0, ns_record_free(out));
    ALLOC_LOOP(ns_list_received(f->ns, 0, T0, 0, 0, &l), l && l->count == 10, ns_list_free(l));
    ALLOC_LOOP(ns_list_queued_sent(f->ns, T0, 30, &l), l && l->count == 20, ns_list_free(l));
    /* A trim that fails on memory marks nothing (rolled back). */
    for (i = 0; i < 200; i++) {
        np_alloc_fail_after(i);
        r = ns_trim_latest(f->ns, "@alice", "n", 5, &l);
        np_alloc_fail_after(-1);
        if (r == 0)
            break;
        assert_int_equal(r, NP_ERR_NOMEM);
        assert_int_equal(ns_list_queued_sent(f->ns, T0, 30, &l), 0);
        assert_int_equal(l->count, 20);
        ns_list_free(l);
    }
    assert_true(i > 0 && i < 200);
    assert_int_equal(l->count, 15);
    ns_list_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_get_status_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_times_and_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_high_water_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queued_sent_after_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_file_with_keystore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
