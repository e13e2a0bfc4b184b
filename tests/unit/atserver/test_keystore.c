/*
 * Unit tests for src/atserver keystore.c and store_db.c: put/get/delete/scan,
 * versions, visibility and expiry, the commit log, persistence, file naming,
 * rename, read-only and full-disk behaviour, allocation failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keystore.h"
#include "store_int.h"
#include "store_test_util.h"
#include "util/alloc.h"
#include "util/err.h"

#define T0 1700000000000LL /* a fixed "now" in epoch ms */

struct fx {
    char dir[256];
    struct ks *ks;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    tu_mkdtemp(f->dir, sizeof(f->dir));
    if (ks_open(f->dir, "@alice", 0, &f->ks) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    ks_close(f->ks);
    np_alloc_fail_after(-1);
    if (tu_rmtree(f->dir) != 0)
        return -1;
    free(f);
    return 0;
}

static struct ks_times at(int64_t now)
{
    struct ks_times t = {now, 0, 0, 0};
    return t;
}

static int put(struct ks *ks, const char *key, const char *value, int64_t now, int op)
{
    struct ks_times t = at(now);
    return ks_put(ks, key, value, "{}", &t, op, NULL);
}

static void test_put_get_delete(void **state)
{
    struct fx *f = *state;
    struct ks_times t = at(T0);
    struct ks_put_result res;
    struct ks_entry *e = NULL;
    int64_t id = 99;
    int deleted = 9;

    assert_int_equal(ks_put(f->ks, "public:location.wavi@alice", "London", "{\"ttl\":0}", &t,
                            KS_OP_UPDATE, &res),
                     0);
    assert_int_equal(res.created, 1);
    assert_int_equal(res.version, 0);
    assert_true(res.created_at_ms == T0);
    assert_true(res.commit_id >= 0);

    assert_int_equal(ks_get(f->ks, "public:location.wavi@alice", T0, &e), 0);
    assert_non_null(e);
    assert_string_equal(e->key, "public:location.wavi@alice");
    assert_string_equal(e->value, "London");
    assert_string_equal(e->meta_json, "{\"ttl\":0}");
    assert_int_equal(e->active, 1);
    assert_int_equal(e->logged, 1);
    assert_true(e->created_at_ms == T0 && e->updated_at_ms == T0);
    ks_entry_free(e);

    /* NULL value and NULL metadata are stored as such. */
    assert_int_equal(ks_put(f->ks, "private:blocklist@alice", NULL, NULL, &t, KS_OP_NONE, &res), 0);
    assert_true(res.commit_id == -1);
    assert_int_equal(ks_get(f->ks, "private:blocklist@alice", T0, &e), 0);
    assert_null(e->value);
    assert_null(e->meta_json);
    assert_int_equal(e->logged, 0);
    ks_entry_free(e);

    /* Values are binary-safe up to the first NUL of the C string and may be
     * large. */
    {
        size_t n = 1 << 20;
        char *big = malloc(n + 1);
        assert_non_null(big);
        memset(big, 'x', n);
        big[n] = '\0';
        assert_int_equal(put(f->ks, "big@alice", big, T0, KS_OP_UPDATE), 0);
        assert_int_equal(ks_get(f->ks, "big@alice", T0, &e), 0);
        assert_int_equal(strlen(e->value), n);
        ks_entry_free(e);
        free(big);
    }

    assert_int_equal(
        ks_delete(f->ks, "public:location.wavi@alice", KS_OP_DELETE, T0 + 1, &id, &deleted), 0);
    assert_int_equal(deleted, 1);
    assert_true(id > res.commit_id);
    e = (struct ks_entry *)1;
    assert_int_equal(ks_get(f->ks, "public:location.wavi@alice", T0, &e), NP_ERR_NOTFOUND);
    assert_null(e);

    /* Deleting an absent key succeeds. */
    assert_int_equal(ks_delete(f->ks, "nothere@alice", KS_OP_NONE, T0, &id, &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_true(id == -1);

    /* Argument checks. */
    {
        char longkey[KS_KEY_MAX + 2];
        memset(longkey, 'k', sizeof(longkey) - 1);
        longkey[sizeof(longkey) - 1] = '\0';
        assert_int_equal(put(f->ks, longkey, "v", T0, KS_OP_UPDATE), NP_ERR_TOOBIG);
        longkey[KS_KEY_MAX] = '\0';
        assert_int_equal(put(f->ks, longkey, "v", T0, KS_OP_UPDATE), 0);
    }
    assert_int_equal(put(f->ks, "", "v", T0, KS_OP_UPDATE), NP_ERR_INVAL);
    assert_int_equal(put(f->ks, NULL, "v", T0, KS_OP_UPDATE), NP_ERR_INVAL);
    assert_int_equal(put(f->ks, "k@alice", "v", T0, '-'), NP_ERR_INVAL);
    assert_int_equal(put(f->ks, "k@alice", "v", T0, 'x'), NP_ERR_INVAL);
    assert_int_equal(ks_delete(f->ks, "k@alice", KS_OP_UPDATE, T0, &id, NULL), NP_ERR_INVAL);
}

static void test_versions_and_created_at(void **state)
{
    struct fx *f = *state;
    struct ks_put_result res;
    struct ks_entry *e = NULL;
    struct ks_times t = at(T0);
    int i;

    assert_int_equal(ks_put(f->ks, "phone.wavi@alice", "1", "{}", &t, KS_OP_UPDATE, &res), 0);
    for (i = 1; i <= 5; i++) {
        char v[8];
        snprintf(v, sizeof(v), "%d", i + 1);
        t = at(T0 + 1000 * i);
        assert_int_equal(ks_put(f->ks, "phone.wavi@alice", v, "{\"a\":1}", &t,
                                i == 3 ? KS_OP_META : KS_OP_UPDATE, &res),
                         0);
        assert_int_equal(res.created, 0);
        assert_true(res.version == i);
        assert_true(res.created_at_ms == T0);
    }
    assert_int_equal(ks_get(f->ks, "phone.wavi@alice", T0 + 6000, &e), 0);
    assert_string_equal(e->value, "6");
    assert_true(e->version == 5);
    assert_true(e->created_at_ms == T0);
    assert_true(e->updated_at_ms == T0 + 5000);
    ks_entry_free(e);

    /* After a delete the key starts again at version 0. */
    assert_int_equal(ks_delete(f->ks, "phone.wavi@alice", KS_OP_DELETE, T0, NULL, NULL), 0);
    t = at(T0 + 9000);
    assert_int_equal(ks_put(f->ks, "phone.wavi@alice", "x", NULL, &t, KS_OP_UPDATE, &res), 0);
    assert_int_equal(res.created, 1);
    assert_true(res.version == 0 && res.created_at_ms == T0 + 9000);
}

static void test_scan(void **state)
{
    struct fx *f = *state;
    static const char *keys[] = {"zeta@alice",      "@bob:phone@alice", "public:publickey@alice",
                                 "alpha.app@alice", "_hidden@alice",    "cached:public:k@bob"};
    static const char *sorted[] = {"@bob:phone@alice",       "_hidden@alice",
                                   "alpha.app@alice",        "cached:public:k@bob",
                                   "public:publickey@alice", "zeta@alice"};
    struct ks_list *l = NULL;
    struct ks_times t;
    regex_t re;
    size_t i;

    for (i = 0; i < 6; i++)
        assert_int_equal(put(f->ks, keys[i], keys[i], T0, KS_OP_UPDATE), 0);
    /* Not yet born, and already expired: both hidden from a scan. */
    t = at(T0);
    t.available_at_ms = T0 + 100;
    assert_int_equal(ks_put(f->ks, "unborn@alice", "u", NULL, &t, KS_OP_UPDATE, NULL), 0);
    t = at(T0 - 100);
    t.expires_at_ms = T0 - 1;
    assert_int_equal(ks_put(f->ks, "dead@alice", "d", NULL, &t, KS_OP_UPDATE, NULL), 0);

    assert_int_equal(ks_scan(f->ks, T0, 0, NULL, NULL, &l), 0);
    assert_int_equal(l->count, 6);
    for (i = 0; i < 6; i++) {
        assert_string_equal(l->items[i]->key, sorted[i]);
        assert_string_equal(l->items[i]->value, sorted[i]);
        assert_int_equal(l->items[i]->active, 1);
    }
    ks_list_free(l);

    assert_int_equal(ks_scan(f->ks, T0, KS_SCAN_KEYS_ONLY | KS_SCAN_INACTIVE, NULL, NULL, &l), 0);
    assert_int_equal(l->count, 8);
    assert_string_equal(l->items[4]->key, "dead@alice");
    assert_int_equal(l->items[4]->active, 0);
    assert_null(l->items[4]->value);
    assert_string_equal(l->items[6]->key, "unborn@alice");
    assert_int_equal(l->items[6]->active, 0);
    assert_null(l->items[0]->meta_json);
    ks_list_free(l);

    /* The caller filters with a regex (search, not anchored). */
    assert_int_equal(regcomp(&re, "^public:|@bob$", REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(ks_scan(f->ks, T0, 0, tu_regex_match, &re, &l), 0);
    regfree(&re);
    assert_int_equal(l->count, 2);
    assert_string_equal(l->items[0]->key, "cached:public:k@bob");
    assert_string_equal(l->items[1]->key, "public:publickey@alice");
    ks_list_free(l);

    /* Later, the unborn key becomes visible. */
    assert_int_equal(ks_scan(f->ks, T0 + 100, KS_SCAN_KEYS_ONLY, NULL, NULL, &l), 0);
    assert_int_equal(l->count, 7);
    ks_list_free(l);

    {
        int64_t n = 0;
        assert_int_equal(ks_count(f->ks, &n), 0);
        assert_true(n == 8);
    }
    assert_int_equal(ks_scan(f->ks, T0, 0x80, NULL, NULL, &l), NP_ERR_INVAL);
    assert_null(l);
}

static void test_expiry(void **state)
{
    struct fx *f = *state;
    struct ks_entry *e = NULL;
    struct ks_commit_list *cl = NULL;
    struct ks_times t = at(T0);
    int64_t last = -2, before = -2;
    size_t n = 99, i;

    t.available_at_ms = T0 + 1000;
    t.expires_at_ms = T0 + 5000;
    assert_int_equal(ks_put(f->ks, "ttl.app@alice", "v", NULL, &t, KS_OP_UPDATE, NULL), 0);
    t.available_at_ms = 0;
    t.expires_at_ms = T0 + 5000;
    assert_int_equal(ks_put(f->ks, "private:_sess@alice", "p", NULL, &t, KS_OP_NONE, NULL), 0);
    assert_int_equal(put(f->ks, "forever@alice", "f", T0, KS_OP_UPDATE), 0);

    /* Visibility: before birth, during, at the last ms, after expiry. */
    assert_int_equal(ks_get(f->ks, "ttl.app@alice", T0 + 999, &e), 0);
    assert_int_equal(e->active, 0);
    assert_string_equal(e->value, "v"); /* still returned for data:null decisions */
    ks_entry_free(e);
    assert_int_equal(ks_get(f->ks, "ttl.app@alice", T0 + 1000, &e), 0);
    assert_int_equal(e->active, 1);
    assert_true(e->available_at_ms == T0 + 1000 && e->expires_at_ms == T0 + 5000);
    ks_entry_free(e);
    assert_int_equal(ks_get(f->ks, "ttl.app@alice", T0 + 5000, &e), 0);
    assert_int_equal(e->active, 1);
    ks_entry_free(e);
    assert_int_equal(ks_get(f->ks, "ttl.app@alice", T0 + 5001, &e), 0);
    assert_int_equal(e->active, 0);
    ks_entry_free(e);

    /* Nothing has expired yet at T0 + 5000. */
    assert_int_equal(ks_last_commit_id(f->ks, NULL, NULL, &before), 0);
    assert_int_equal(ks_expire(f->ks, T0 + 5000, 0, &n), 0);
    assert_int_equal(n, 0);

    assert_int_equal(ks_expire(f->ks, T0 + 5001, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ks_get(f->ks, "ttl.app@alice", T0, &e), NP_ERR_NOTFOUND);
    assert_int_equal(ks_get(f->ks, "private:_sess@alice", T0, &e), NP_ERR_NOTFOUND);
    assert_int_equal(ks_get(f->ks, "forever@alice", T0 + 5001, &e), 0);
    ks_entry_free(e);

    /* Exactly one '-' entry: the logged key; the private one left no trace. */
    assert_int_equal(ks_last_commit_id(f->ks, NULL, NULL, &last), 0);
    assert_true(last == before + 1);
    assert_int_equal(ks_commits_since(f->ks, before, 0, NULL, NULL, &cl), 0);
    assert_int_equal(cl->count, 1);
    assert_string_equal(cl->items[0]->key, "ttl.app@alice");
    assert_int_equal(cl->items[0]->op, '-');
    assert_true(cl->items[0]->op_time_ms == T0 + 5001);
    ks_commit_list_free(cl);

    /* `max` bounds one call. */
    for (i = 0; i < 5; i++) {
        char k[32];
        snprintf(k, sizeof(k), "short%zu@alice", i);
        t = at(T0);
        t.expires_at_ms = T0 + 10;
        assert_int_equal(ks_put(f->ks, k, "s", NULL, &t, KS_OP_UPDATE, NULL), 0);
    }
    assert_int_equal(ks_expire(f->ks, T0 + 100, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ks_expire(f->ks, T0 + 100, 0, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ks_expire(f->ks, T0 + 100, 0, &n), 0);
    assert_int_equal(n, 0);
}

static int match_bob(const char *key, void *arg)
{
    (void)arg;
    return strncmp(key, "@bob:", 5) == 0;
}

static void test_commit_log(void **state)
{
    struct fx *f = *state;
    struct ks_commit_list *cl = NULL;
    struct ks_put_result res;
    struct ks_times t;
    int64_t prev = -1, last = -2, id;
    int i;

    assert_int_equal(ks_last_commit_id(f->ks, NULL, NULL, &last), 0);
    assert_true(last == -1); /* empty log */
    assert_int_equal(ks_commits_since(f->ks, -1, 0, NULL, NULL, &cl), 0);
    assert_int_equal(cl->count, 0);
    ks_commit_list_free(cl);

    for (i = 0; i < 20; i++) {
        char k[32];
        int logged = i % 3 != 0;
        snprintf(k, sizeof(k), "%sk%d@alice", i % 2 ? "@bob:" : "", i);
        t = at(T0 + i);
        assert_int_equal(ks_put(f->ks, k, "v", NULL, &t, logged ? KS_OP_UPDATE : KS_OP_NONE, &res),
                         0);
        if (logged) {
            assert_true(res.commit_id == prev + 1); /* first id is 0, then +1 */
            prev = res.commit_id;
        } else {
            assert_true(res.commit_id == -1);
        }
    }
    assert_int_equal(ks_last_commit_id(f->ks, NULL, NULL, &last), 0);
    assert_true(last == prev);

    /* 13 logged keys, in id order, each with its op and time. */
    assert_int_equal(ks_commits_since(f->ks, -1, 0, NULL, NULL, &cl), 0);
    assert_int_equal(cl->count, 13);
    for (i = 0; i < 13; i++) {
        assert_true(cl->items[i]->id == i);
        assert_int_equal(cl->items[i]->op, '*');
        if (i)
            assert_true(cl->items[i]->op_time_ms > cl->items[i - 1]->op_time_ms);
    }
    ks_commit_list_free(cl);

    /* Paging and filtering. */
    assert_int_equal(ks_commits_since(f->ks, 4, 3, NULL, NULL, &cl), 0);
    assert_int_equal(cl->count, 3);
    assert_true(cl->items[0]->id == 5 && cl->items[2]->id == 7);
    ks_commit_list_free(cl);
    assert_int_equal(ks_commits_since(f->ks, -1, 100, match_bob, NULL, &cl), 0);
    for (i = 0; i < (int)cl->count; i++)
        assert_true(strncmp(cl->items[i]->key, "@bob:", 5) == 0);
    assert_int_equal(cl->count, 7); /* odd i in 1..19 with i % 3 != 0 */
    ks_commit_list_free(cl);

    /* Rewriting a key keeps only its newest entry (compaction). */
    t = at(T0 + 100);
    assert_int_equal(ks_put(f->ks, "k2@alice", "w", "{}", &t, KS_OP_META, &res), 0);
    assert_true(res.commit_id == prev + 1);
    assert_int_equal(ks_commits_since(f->ks, -1, 0, NULL, NULL, &cl), 0);
    assert_int_equal(cl->count, 13);
    assert_string_equal(cl->items[12]->key, "k2@alice");
    assert_int_equal(cl->items[12]->op, '#');
    for (i = 0; i < 12; i++)
        assert_string_not_equal(cl->items[i]->key, "k2@alice");
    ks_commit_list_free(cl);

    /* Deletes are logged (also of absent keys), private deletes are not. */
    assert_int_equal(ks_delete(f->ks, "k1@alice", KS_OP_DELETE, T0 + 200, &id, NULL), 0);
    assert_true(id == prev + 2);
    assert_int_equal(ks_delete(f->ks, "k3@alice", KS_OP_NONE, T0 + 200, &id, NULL), 0);
    assert_true(id == -1);
    assert_int_equal(ks_last_commit_id(f->ks, match_bob, NULL, &last), 0);
    assert_int_equal(ks_commits_since(f->ks, -1, 0, match_bob, NULL, &cl), 0);
    assert_true(last == cl->items[cl->count - 1]->id);
    ks_commit_list_free(cl);
}

static void test_persistence(void **state)
{
    struct fx *f = *state;
    struct ks_entry *e = NULL;
    struct ks_put_result res;
    struct ks_times t = at(T0);
    int64_t last = -1;

    t.expires_at_ms = T0 + 10000;
    t.refresh_at_ms = T0 + 20000;
    assert_int_equal(
        ks_put(f->ks, "@bob:msg.app@alice", "hello", "{\"ttl\":10000}", &t, KS_OP_UPDATE, &res), 0);
    assert_int_equal(put(f->ks, "@bob:msg.app@alice", "hello2", T0 + 1, KS_OP_UPDATE), 0);
    assert_int_equal(ks_last_commit_id(f->ks, NULL, NULL, &last), 0);
    ks_close(f->ks);
    f->ks = NULL;

    assert_int_equal(ks_open(f->dir, "@alice", 0, &f->ks), 0);
    assert_int_equal(ks_get(f->ks, "@bob:msg.app@alice", T0 + 2, &e), 0);
    assert_string_equal(e->value, "hello2");
    assert_string_equal(e->meta_json, "{}");
    assert_true(e->version == 1 && e->created_at_ms == T0 && e->updated_at_ms == T0 + 1);
    assert_true(e->expires_at_ms == 0); /* replaced by the second put's times */
    ks_entry_free(e);
    /* Commit ids continue after a reopen. */
    assert_int_equal(ks_put(f->ks, "x@alice", "1", NULL, &t, KS_OP_UPDATE, &res), 0);
    assert_true(res.commit_id == last + 1);

    /* Two handles on one file see each other's writes. */
    {
        struct ks *other = NULL;
        assert_int_equal(ks_open(f->dir, "alice", 0, &other), 0);
        assert_int_equal(put(other, "y@alice", "2", T0, KS_OP_UPDATE), 0);
        assert_int_equal(ks_get(f->ks, "y@alice", T0, &e), 0);
        assert_string_equal(e->value, "2");
        ks_entry_free(e);
        ks_close(other);
    }
}

static void test_file_naming(void **state)
{
    struct fx *f = *state;
    char name[KS_FILE_NAME_MAX], path[512], longat[256];
    struct ks *ks = NULL;
    struct ks_entry *e = NULL;
    struct stat st;
    size_t i;

    assert_int_equal(ks_file_name("@alice", name, sizeof(name)), 0);
    assert_string_equal(name, "alice.db");
    assert_int_equal(ks_file_name("@Alice_99-x", name, sizeof(name)), 0);
    assert_string_equal(name, "alice_99-x.db");
    assert_int_equal(ks_file_name("@a.b/../c", name, sizeof(name)), 0);
    assert_string_equal(name, "a%2Eb%2F%2E%2E%2Fc.db");
    assert_int_equal(ks_file_name("@\xf0\x9f\xa6\x84"
                                  "alice",
                                  name, sizeof(name)),
                     0);
    assert_string_equal(name, "%F0%9F%A6%84alice.db");
    assert_int_equal(ks_file_name("@", name, sizeof(name)), NP_ERR_INVAL);
    assert_int_equal(ks_file_name("", name, sizeof(name)), NP_ERR_INVAL);
    assert_int_equal(ks_file_name("@alice", name, 10), NP_ERR_INVAL);

    /* The store file and its mode. */
    assert_int_equal(snprintf(path, sizeof(path), "%s/alice.db", f->dir) > 0, 1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* An emoji atSign gets a percent-encoded file and works. */
    assert_int_equal(ks_open(f->dir,
                             "@\xf0\x9f\xa6\x84"
                             "alice",
                             0, &ks),
                     0);
    assert_int_equal(put(ks,
                         "k@\xf0\x9f\xa6\x84"
                         "alice",
                         "unicorn", T0, KS_OP_UPDATE),
                     0);
    ks_close(ks);
    assert_int_equal(snprintf(path, sizeof(path), "%s/%%F0%%9F%%A6%%84alice.db", f->dir) > 0, 1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(ks_open(f->dir,
                             "\xf0\x9f\xa6\x84"
                             "alice",
                             0, &ks),
                     0);
    assert_int_equal(ks_get(ks,
                            "k@\xf0\x9f\xa6\x84"
                            "alice",
                            T0, &e),
                     0);
    assert_string_equal(e->value, "unicorn");
    ks_entry_free(e);
    ks_close(ks);

    /* 40 emoji: too long to spell out, so cut and hashed; distinct names. */
    longat[0] = '@';
    for (i = 0; i < 40; i++)
        memcpy(longat + 1 + 4 * i, "\xf0\x9f\xa6\x84", 4);
    longat[161] = '\0';
    assert_int_equal(ks_file_name(longat, name, sizeof(name)), 0);
    assert_true(strlen(name) < 255 && strchr(name, '~') != NULL);
    {
        char name2[KS_FILE_NAME_MAX];
        longat[160] = '\x85';
        assert_int_equal(ks_file_name(longat, name2, sizeof(name2)), 0);
        assert_string_not_equal(name, name2);
    }
    assert_int_equal(ks_open(f->dir, longat, 0, &ks), 0);
    assert_int_equal(put(ks, "k@x", "v", T0, KS_OP_UPDATE), 0);
    ks_close(ks);
    assert_int_equal(ks_open(f->dir, longat, 0, &ks), 0);
    assert_int_equal(ks_get(ks, "k@x", T0, &e), 0);
    ks_entry_free(e);
    ks_close(ks);

    /* Case-insensitive atSign: one file. The atSign recorded inside the file
     * is checked: a file renamed to another atSign's name is refused. */
    assert_int_equal(ks_open(f->dir, "@ALICE", 0, &ks), 0);
    ks_close(ks);
    {
        char from[512], to[512];
        assert_int_equal(ks_open(f->dir, "@carol", 0, &ks), 0);
        ks_close(ks);
        snprintf(from, sizeof(from), "%s/carol.db", f->dir);
        snprintf(to, sizeof(to), "%s/dave.db", f->dir);
        assert_int_equal(rename(from, to), 0);
        snprintf(from, sizeof(from), "%s/carol.db-wal", f->dir);
        snprintf(to, sizeof(to), "%s/dave.db-wal", f->dir);
        assert_int_equal(rename(from, to), 0);
        snprintf(from, sizeof(from), "%s/carol.db-shm", f->dir);
        snprintf(to, sizeof(to), "%s/dave.db-shm", f->dir);
        assert_int_equal(rename(from, to), 0);
        ks = (struct ks *)1;
        assert_int_equal(ks_open(f->dir, "@dave", 0, &ks), NP_ERR_EXISTS);
        assert_null(ks);
    }
    /* A file that is not ours. */
    {
        FILE *fp;
        snprintf(path, sizeof(path), "%s/junk.db", f->dir);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("this is not a database, just some text long enough to look like a header.....\n",
              fp);
        fclose(fp);
        assert_int_equal(ks_open(f->dir, "@junk", 0, &ks), NP_ERR_DB);
    }
    /* The directory is created (one level). */
    snprintf(path, sizeof(path), "%s/sub", f->dir);
    assert_int_equal(ks_open(path, "@alice", 0, &ks), 0);
    ks_close(ks);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/no/such/dir", f->dir);
    assert_int_equal(ks_open(path, "@alice", 0, &ks), NP_ERR_IO);
    assert_int_equal(ks_open("", "@alice", 0, &ks), NP_ERR_INVAL);
    assert_int_equal(ks_open(f->dir, "@alice", 0x10, &ks), NP_ERR_INVAL);
}

static void test_rename(void **state)
{
    struct fx *f = *state;
    struct ks_commit_list *cl = NULL;
    struct ks_entry *e = NULL;
    struct ks_times t = at(T0);
    int64_t id = -2, before = -2;

    assert_int_equal(
        ks_put(f->ks, "shared_key.bob@alice", "K1", "{\"m\":1}", &t, KS_OP_UPDATE, NULL), 0);
    assert_int_equal(put(f->ks, "shared_key.bob@alice", "K2", T0 + 5, KS_OP_UPDATE), 0);
    assert_int_equal(ks_last_commit_id(f->ks, NULL, NULL, &before), 0);
    assert_int_equal(ks_rename(f->ks, "shared_key.bob@alice", "shared_key.bob.until.123@alice",
                               KS_OP_UPDATE, T0 + 10, &id),
                     0);
    assert_true(id == before + 2);
    assert_int_equal(ks_get(f->ks, "shared_key.bob@alice", T0, &e), NP_ERR_NOTFOUND);
    assert_int_equal(ks_get(f->ks, "shared_key.bob.until.123@alice", T0, &e), 0);
    assert_string_equal(e->value, "K2");
    assert_string_equal(e->meta_json, "{}");
    assert_true(e->version == 1 && e->created_at_ms == T0);
    ks_entry_free(e);
    assert_int_equal(ks_commits_since(f->ks, before, 0, NULL, NULL, &cl), 0);
    assert_int_equal(cl->count, 2);
    assert_string_equal(cl->items[0]->key, "shared_key.bob@alice");
    assert_int_equal(cl->items[0]->op, '-');
    assert_string_equal(cl->items[1]->key, "shared_key.bob.until.123@alice");
    assert_int_equal(cl->items[1]->op, '*');
    ks_commit_list_free(cl);

    assert_int_equal(ks_rename(f->ks, "shared_key.bob@alice", "x@alice", KS_OP_UPDATE, T0, &id),
                     NP_ERR_NOTFOUND);
    assert_true(id == -1);
    assert_int_equal(put(f->ks, "a@alice", "a", T0, KS_OP_NONE), 0);
    assert_int_equal(
        ks_rename(f->ks, "a@alice", "shared_key.bob.until.123@alice", KS_OP_NONE, T0, &id),
        NP_ERR_EXISTS);
    assert_int_equal(ks_rename(f->ks, "a@alice", "a@alice", KS_OP_NONE, T0, &id), NP_ERR_INVAL);
    /* Unlogged rename writes no commit entries. */
    assert_int_equal(ks_last_commit_id(f->ks, NULL, NULL, &before), 0);
    assert_int_equal(ks_rename(f->ks, "a@alice", "b@alice", KS_OP_NONE, T0, &id), 0);
    assert_true(id == -1);
    assert_int_equal(ks_last_commit_id(f->ks, NULL, NULL, &id), 0);
    assert_true(id == before);
}

/* Writes fail with NP_ERR_PERM, reads work, and nothing changed. */
static void check_readonly_handle(struct ks *ks)
{
    struct ks_entry *e = NULL;
    struct ks_list *l = NULL;
    size_t n = 7;
    int64_t id = 7;

    assert_int_equal(ks_get(ks, "k@alice", T0, &e), 0);
    assert_string_equal(e->value, "v");
    ks_entry_free(e);
    assert_int_equal(ks_scan(ks, T0, 0, NULL, NULL, &l), 0);
    assert_int_equal(l->count, 2);
    ks_list_free(l);
    assert_int_equal(put(ks, "k@alice", "w", T0, KS_OP_UPDATE), NP_ERR_PERM);
    assert_int_equal(put(ks, "new@alice", "w", T0, KS_OP_NONE), NP_ERR_PERM);
    assert_int_equal(ks_delete(ks, "k@alice", KS_OP_DELETE, T0, &id, NULL), NP_ERR_PERM);
    assert_true(id == -1);
    assert_int_equal(ks_expire(ks, T0 + 1000000, 0, &n), NP_ERR_PERM);
    assert_int_equal(n, 0);
    assert_int_equal(ks_get(ks, "k@alice", T0, &e), 0);
    assert_string_equal(e->value, "v");
    ks_entry_free(e);
    assert_int_equal(ks_get(ks, "new@alice", T0, &e), NP_ERR_NOTFOUND);
}

/*
 * The real case: directory and files made read-only with chmod. chmod does
 * not stop root, so when the test runs as root this part runs in a child
 * process that first switches to uid/gid 65534 (nobody). Exit status 0 = ok.
 */
static int chmod_scenario(const char *dir)
{
    char p[3][512];
    static const char *sfx[3] = {"", "-wal", "-shm"};
    struct ks *ks = NULL;
    struct ks_entry *e = NULL;
    int i, rc = 10, r;

    for (i = 0; i < 3; i++)
        snprintf(p[i], sizeof(p[i]), "%s/ro.db%s", dir, sfx[i]);
    if (ks_open(dir, "@ro", 0, &ks) != 0 || put(ks, "k@alice", "v", T0, KS_OP_UPDATE) != 0)
        return 1;
    ks_close(ks);
    ks = NULL;
    for (i = 0; i < 3; i++)
        if (chmod(p[i], 0400) != 0)
            return 2;
    if (chmod(dir, 0500) != 0)
        return 3;
    if ((r = ks_open(dir, "@ro", 0, &ks)) != 0) {
        fprintf(stderr, "read-only open: %s\n", np_strerror(r));
        rc = 4;
        goto out;
    }
    if ((r = ks_get(ks, "k@alice", T0, &e)) != 0 || strcmp(e->value, "v") != 0) {
        fprintf(stderr, "read-only get: %s\n", np_strerror(r));
        rc = 5;
        goto out;
    }
    if ((r = put(ks, "k@alice", "w", T0, KS_OP_UPDATE)) != NP_ERR_PERM) {
        fprintf(stderr, "read-only put: %s\n", np_strerror(r));
        rc = 6;
        goto out;
    }
    rc = 0;
out:
    ks_entry_free(e);
    ks_close(ks);
    chmod(dir, 0700);
    for (i = 0; i < 3; i++)
        chmod(p[i], 0600);
    return rc;
}

static void test_readonly(void **state)
{
    struct fx *f = *state;
    struct ks *ro = NULL;
    char sub[512];
    int status = -1;
    pid_t pid;

    assert_int_equal(put(f->ks, "k@alice", "v", T0, KS_OP_UPDATE), 0);
    {
        /* Expires, so that ks_expire below has something to delete. */
        struct ks_times t = at(T0);
        t.expires_at_ms = T0 + 10;
        assert_int_equal(ks_put(f->ks, "private:p@alice", "p", NULL, &t, KS_OP_NONE, NULL), 0);
    }

    /* 1. A handle opened read-only. */
    assert_int_equal(ks_open(f->dir, "@alice", KS_OPEN_READONLY, &ro), 0);
    check_readonly_handle(ro);
    ks_close(ro);

    /* 2. A read-write handle that SQLite refuses to write (query_only), and
     * which writes again once that is lifted: errors are not sticky. */
    assert_int_equal(sqlite3_exec(ks_int_db(f->ks), "PRAGMA query_only=1", NULL, NULL, NULL),
                     SQLITE_OK);
    check_readonly_handle(f->ks);
    assert_int_equal(sqlite3_exec(ks_int_db(f->ks), "PRAGMA query_only=0", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(put(f->ks, "new@alice", "w", T0, KS_OP_UPDATE), 0);

    /* 3. A read-only open of a store that does not exist. */
    assert_int_equal(ks_open(f->dir, "@nobody", KS_OPEN_READONLY, &ro), NP_ERR_IO);

    /* 4. chmod'ed directory and files (see chmod_scenario). */
    snprintf(sub, sizeof(sub), "%s/ro", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    if (geteuid() != 0) {
        assert_int_equal(chmod_scenario(sub), 0);
        return;
    }
    assert_int_equal(chown(sub, 65534, 65534), 0);
    assert_int_equal(chmod(f->dir, 0711), 0); /* let nobody traverse */
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(20);
        _exit(chmod_scenario(sub));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_disk_full(void **state)
{
    struct fx *f = *state;
    sqlite3 *db = ks_int_db(f->ks);
    struct ks_entry *e = NULL;
    char value[4096], key[32];
    int i, r = 0, full_at = -1;

    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    assert_int_equal(put(f->ks, "first@alice", "1", T0, KS_OP_UPDATE), 0);
    /* SQLITE_FULL is what a full disk returns; a page limit triggers it. */
    assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count=40", NULL, NULL, NULL), SQLITE_OK);
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d@alice", i);
        if ((r = put(f->ks, key, value, T0, KS_OP_UPDATE)) != 0) {
            full_at = i;
            break;
        }
    }
    assert_int_equal(r, NP_ERR_TOOBIG);
    assert_true(full_at > 0);
    /* The failed write left nothing behind, earlier ones are intact, reads work. */
    assert_int_equal(ks_get(f->ks, key, T0, &e), NP_ERR_NOTFOUND);
    assert_int_equal(ks_get(f->ks, "first@alice", T0, &e), 0);
    ks_entry_free(e);
    /* Space returns: the same handle writes again. */
    assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count=1000000", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(put(f->ks, key, value, T0, KS_OP_UPDATE), 0);
    assert_int_equal(ks_get(f->ks, key, T0, &e), 0);
    assert_string_equal(e->value, value);
    ks_entry_free(e);
}

/* Run `call` with the Nth allocation failing for N = 0, 1, ... until it
 * succeeds; every failure must be NP_ERR_NOMEM and at least one must occur. */
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
    struct ks_entry *e = NULL;
    struct ks_list *l = NULL;
    struct ks_commit_list *cl = NULL;
    struct ks *ks = NULL;
    struct ks_times t = at(T0);
    size_t n = 0;
    int64_t cnt = 0;
    int i;

    for (i = 0; i < 40; i++) {
        char k[32];
        snprintf(k, sizeof(k), "k%02d@alice", i);
        t.expires_at_ms = i < 20 ? T0 + 10 : 0;
        assert_int_equal(ks_put(f->ks, k, "value", "{}", &t, KS_OP_UPDATE, NULL), 0);
    }
    ALLOC_LOOP(ks_open(f->dir, "@alice", 0, &ks), ks != NULL, ks_close(ks));
    ALLOC_LOOP(ks_get(f->ks, "k01@alice", T0, &e), e && strcmp(e->value, "value") == 0,
               ks_entry_free(e));
    ALLOC_LOOP(ks_scan(f->ks, T0, 0, NULL, NULL, &l), l && l->count == 40, ks_list_free(l));
    ALLOC_LOOP(ks_commits_since(f->ks, -1, 0, NULL, NULL, &cl), cl && cl->count == 40,
               ks_commit_list_free(cl));
    /* A failed expiry deletes nothing. */
    for (i = 0; i < 200; i++) {
        int r;
        np_alloc_fail_after(i);
        r = ks_expire(f->ks, T0 + 100, 0, &n);
        np_alloc_fail_after(-1);
        assert_int_equal(ks_count(f->ks, &cnt), 0);
        if (r == 0)
            break;
        assert_int_equal(r, NP_ERR_NOMEM);
        assert_true(cnt == 40);
    }
    assert_true(i > 0 && i < 200);
    assert_int_equal(n, 20);
    assert_true(cnt == 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions_and_created_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_naming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
