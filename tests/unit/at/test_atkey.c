/* Unit tests for lib/at atkey.c: forms, classification, limits, round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "at/atkey.h"
#include "util/err.h"

struct key_case {
    const char *text;
    enum at_key_type type;
    const char *canon; /* formatted form */
    const char *with, *name, *ns, *owner;
    int cached, pub, hidden, reserved;
};

#define EMOJI "\xf0\x9f\x9b\xa0"

static const struct key_case cases[] = {
    {"public:location.wavi@alice", AT_KEY_PUBLIC, "public:location.wavi@alice", "", "location",
     "wavi", "@alice", 0, 1, 0, 0},
    {"phone.wavi@alice", AT_KEY_SELF, "phone.wavi@alice", "", "phone", "wavi", "@alice", 0, 0, 0,
     0},
    {"@alice:phone.wavi@alice", AT_KEY_SELF, "@alice:phone.wavi@alice", "@alice", "phone", "wavi",
     "@alice", 0, 0, 0, 0},
    {"@bob:phone.wavi@alice", AT_KEY_SHARED, "@bob:phone.wavi@alice", "@bob", "phone", "wavi",
     "@alice", 0, 0, 0, 0},
    {"cached:@bob:phone.wavi@alice", AT_KEY_CACHED_SHARED, "cached:@bob:phone.wavi@alice", "@bob",
     "phone", "wavi", "@alice", 1, 0, 0, 0},
    {"cached:public:location.wavi@alice", AT_KEY_CACHED_PUBLIC, "cached:public:location.wavi@alice",
     "", "location", "wavi", "@alice", 1, 1, 0, 0},
    {"public:_location@alice", AT_KEY_PUBLIC, "public:_location@alice", "", "_location", "",
     "@alice", 0, 1, 1, 0},
    {"_secret@alice", AT_KEY_SELF, "_secret@alice", "", "_secret", "", "@alice", 0, 0, 1, 0},
    {"@bob:_phone@alice", AT_KEY_SHARED, "@bob:_phone@alice", "@bob", "_phone", "", "@alice", 0, 0,
     1, 0},
    {"private:blocklist@alice", AT_KEY_RESERVED, "private:blocklist@alice", "", "blocklist", "",
     "@alice", 0, 0, 0, 1},
    {"private:_4af24c03-d732-48f8-a9a2-570e8fb6a01c@alice", AT_KEY_PRIVATE,
     "private:_4af24c03-d732-48f8-a9a2-570e8fb6a01c@alice", "",
     "_4af24c03-d732-48f8-a9a2-570e8fb6a01c", "", "@alice", 0, 0, 1, 0},
    {"privatekey:at_secret", AT_KEY_RESERVED, "privatekey:at_secret", "", "at_secret", "", "", 0, 0,
     0, 1},
    {"privatekey:at_pkam_publickey", AT_KEY_RESERVED, "privatekey:at_pkam_publickey", "",
     "at_pkam_publickey", "", "", 0, 0, 0, 1},
    {"privatekey:commitLogCompactionStats", AT_KEY_RESERVED, "privatekey:commitlogcompactionstats",
     "", "commitlogcompactionstats", "", "", 0, 0, 0, 1},
    {"privatekey:something_else", AT_KEY_PRIVATE, "privatekey:something_else", "", "something_else",
     "", "", 0, 0, 0, 0},
    {"local:lastseen.app@alice", AT_KEY_LOCAL, "local:lastseen.app@alice", "", "lastseen", "app",
     "@alice", 0, 0, 0, 0},
    {"configkey", AT_KEY_RESERVED, "configkey", "", "configkey", "", "", 0, 0, 0, 1},
    {"_latestnotificationid", AT_KEY_RESERVED, "_latestnotificationid", "", "_latestnotificationid",
     "", "", 0, 0, 1, 1},
    {"public:publickey@alice", AT_KEY_RESERVED, "public:publickey@alice", "", "publickey", "",
     "@alice", 0, 1, 0, 1},
    {"public:signing_publickey@alice", AT_KEY_RESERVED, "public:signing_publickey@alice", "",
     "signing_publickey", "", "@alice", 0, 1, 0, 1},
    {"@alice:signing_privatekey@alice", AT_KEY_RESERVED, "@alice:signing_privatekey@alice",
     "@alice", "signing_privatekey", "", "@alice", 0, 0, 0, 1},
    {"@bob:shared_key@alice", AT_KEY_RESERVED, "@bob:shared_key@alice", "@bob", "shared_key", "",
     "@alice", 0, 0, 0, 1},
    {"shared_key.bob@alice", AT_KEY_RESERVED, "shared_key.bob@alice", "", "shared_key", "bob",
     "@alice", 0, 0, 0, 1},
    /* partial match: the reserved pattern is found inside a cached key */
    {"cached:public:publickey@bob", AT_KEY_RESERVED, "cached:public:publickey@bob", "", "publickey",
     "", "@bob", 1, 1, 0, 1},
    {"cached:@alice:shared_key@bob", AT_KEY_RESERVED, "cached:@alice:shared_key@bob", "@alice",
     "shared_key", "", "@bob", 1, 0, 0, 1},
    {"shared_key.bob.until.1729730000000@alice", AT_KEY_SELF,
     "shared_key.bob.until.1729730000000@alice", "", "shared_key.bob.until", "1729730000000",
     "@alice", 0, 0, 0, 0},
    {"public:publickey.wavi@alice", AT_KEY_PUBLIC, "public:publickey.wavi@alice", "", "publickey",
     "wavi", "@alice", 0, 1, 0, 0},
    /* case is folded on keys and atSigns */
    {"PUBLIC:Location.WAVI@Alice", AT_KEY_PUBLIC, "public:location.wavi@alice", "", "location",
     "wavi", "@alice", 0, 1, 0, 0},
    {"Cached:@BOB:Phone@ALICE", AT_KEY_CACHED_SHARED, "cached:@bob:phone@alice", "@bob", "phone",
     "", "@alice", 1, 0, 0, 0},
    /* sshnp keys, emoji atSigns */
    {"@device:ssh_request.dev.sshnp@client", AT_KEY_SHARED, "@device:ssh_request.dev.sshnp@client",
     "@device", "ssh_request.dev", "sshnp", "@client", 0, 0, 0, 0},
    {"@bob" EMOJI ":ping.dev.sshnp@alice" EMOJI, AT_KEY_SHARED,
     "@bob" EMOJI ":ping.dev.sshnp@alice" EMOJI, "@bob" EMOJI, "ping.dev", "sshnp", "@alice" EMOJI,
     0, 0, 0, 0},
    {"k" EMOJI ".ns@alice", AT_KEY_SELF, "k" EMOJI ".ns@alice", "", "k" EMOJI, "ns", "@alice", 0, 0,
     0, 0},
    /* namespace only when the last segment is [a-z0-9_]+ */
    {"a.b-c@alice", AT_KEY_SELF, "a.b-c@alice", "", "a.b-c", "", "@alice", 0, 0, 0, 0},
    {"a.@alice", AT_KEY_SELF, "a.@alice", "", "a.", "", "@alice", 0, 0, 0, 0},
    {"x.y.z_1@alice", AT_KEY_SELF, "x.y.z_1@alice", "", "x.y", "z_1", "@alice", 0, 0, 0, 0},
    {"it's*\"q\"@alice", AT_KEY_SELF, "it's*\"q\"@alice", "", "it's*\"q\"", "", "@alice", 0, 0, 0,
     0},
    /* parse but classify invalid */
    {"phone", AT_KEY_INVALID, "phone", "", "phone", "", "", 0, 0, 0, 0},
    {"@bob:phone", AT_KEY_INVALID, "@bob:phone", "@bob", "phone", "", "", 0, 0, 0, 0},
    {"cached:phone@alice", AT_KEY_INVALID, "cached:phone@alice", "", "phone", "", "@alice", 1, 0, 0,
     0},
};

static void check_case(const struct key_case *c, size_t i)
{
    struct at_key k;
    char buf[AT_KEY_BUF];
    int rc = at_key_parse(c->text, strlen(c->text), &k);

    if (rc != 0)
        fail_msg("case %zu %s: rc %d", i, c->text, rc);
    if (k.type != c->type)
        fail_msg("case %zu %s: type %s want %s", i, c->text, at_key_type_name(k.type),
                 at_key_type_name(c->type));
    assert_string_equal(k.shared_with, c->with);
    assert_string_equal(k.name, c->name);
    assert_string_equal(k.ns, c->ns);
    assert_string_equal(k.owner, c->owner);
    assert_int_equal(k.cached, c->cached);
    assert_int_equal(k.is_public, c->pub);
    assert_int_equal(k.hidden, c->hidden);
    assert_int_equal(k.reserved, c->reserved);
    assert_int_equal(at_key_format(&k, buf, sizeof(buf)), 0);
    assert_string_equal(buf, c->canon);
    /* round trip: parse(format(k)) == k */
    {
        struct at_key k2;
        assert_int_equal(at_key_parse(buf, strlen(buf), &k2), 0);
        assert_memory_equal(&k, &k2, sizeof(k));
    }
}

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i], i);
}

static void test_parse_errors(void **state)
{
    static const char *const bad[] = {
        "",
        "@alice",
        "public:@alice",
        "public:phone",
        "private:blocklist",
        "local:x",
        "privatekey:x@alice",
        "cached:privatekey:at_secret",
        "cached:local:x@alice",
        "cached:private:x@alice",
        "@bob",
        "@bob:",
        "@bob:@alice",
        "phone wavi@alice",
        "phone:wavi@alice",
        "public:cached:x@alice",
        "x@al ice",
        "x@alice@bob",
        "x@alice.com",
        "x@",
        "@b ob:x@alice",
        "a#b@alice",
        "a/b@alice",
        "a\tb@alice",
        "a\xff"
        "b@alice",
        "a\xc2\xa0"
        "b@alice",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct at_key k;
        memset(&k, 0x55, sizeof(k));
        int rc = at_key_parse(bad[i], strlen(bad[i]), &k);
        if (rc != NP_ERR_FORMAT)
            fail_msg("'%s' gave %d", bad[i], rc);
        assert_int_equal(k.type, AT_KEY_INVALID);
        assert_string_equal(k.name, "");
    }
    /* embedded NUL */
    {
        struct at_key k;
        assert_int_equal(at_key_parse("a\0b@alice", 9, &k), NP_ERR_FORMAT);
    }
    assert_int_equal(at_key_parse(NULL, 0, NULL), NP_ERR_INVAL);
}

/* Build a key of exactly `total` characters: <prefix><name...>@alice. */
static void make_len(char *buf, const char *prefix, size_t total)
{
    size_t p = strlen(prefix), o = strlen("@alice");
    memcpy(buf, prefix, p);
    memset(buf + p, 'k', total - p - o);
    memcpy(buf + total - o, "@alice", o + 1);
}

static void test_length_limits(void **state)
{
    char buf[600];
    struct at_key k;
    (void)state;

    make_len(buf, "@bob:", 248);
    assert_int_equal(at_key_parse(buf, 248, &k), 0);
    assert_int_equal(k.type, AT_KEY_SHARED);
    make_len(buf, "@bob:", 249);
    assert_int_equal(at_key_parse(buf, 249, &k), NP_ERR_TOOBIG);
    make_len(buf, "public:", 248);
    assert_int_equal(at_key_parse(buf, 248, &k), 0);
    make_len(buf, "public:", 249);
    assert_int_equal(at_key_parse(buf, 249, &k), NP_ERR_TOOBIG);
    make_len(buf, "cached:@bob:", 255);
    assert_int_equal(at_key_parse(buf, 255, &k), 0);
    assert_int_equal(k.type, AT_KEY_CACHED_SHARED);
    make_len(buf, "cached:@bob:", 256);
    assert_int_equal(at_key_parse(buf, 256, &k), NP_ERR_TOOBIG);
    make_len(buf, "cached:public:", 255);
    assert_int_equal(at_key_parse(buf, 255, &k), 0);
    make_len(buf, "cached:public:", 256);
    assert_int_equal(at_key_parse(buf, 256, &k), NP_ERR_TOOBIG);
    /* emoji count 2 (UTF-16 units): 246 chars + 1 emoji = 248 */
    make_len(buf, "", 246);
    {
        char e[700];
        snprintf(e, sizeof(e), EMOJI "%s", buf);
        assert_int_equal(at_key_parse(e, strlen(e), &k), 0);
        snprintf(e, sizeof(e), EMOJI "k%s", buf);
        assert_int_equal(at_key_parse(e, strlen(e), &k), NP_ERR_TOOBIG);
    }
    /* far too long for the buffer */
    memset(buf, 'a', 599);
    buf[599] = '\0';
    {
        char big[2000];
        memset(big, 'a', sizeof(big));
        assert_int_equal(at_key_parse(big, sizeof(big), &k), NP_ERR_TOOBIG);
    }
}

static void test_make_and_format(void **state)
{
    struct at_key k;
    char buf[AT_KEY_BUF], small[8];
    (void)state;

    assert_int_equal(at_key_make(&k, AT_KEY_FORM_PLAIN, "bob", "ping.dev.sshnp", "Alice", false),
                     0);
    assert_int_equal(k.type, AT_KEY_SHARED);
    assert_int_equal(at_key_format(&k, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "@bob:ping.dev.sshnp@alice");
    assert_int_equal(at_key_entity(&k, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "ping.dev.sshnp");
    assert_int_equal(at_key_format(&k, small, sizeof(small)), NP_ERR_TOOBIG);
    assert_string_equal(small, "");

    assert_int_equal(at_key_make(&k, AT_KEY_FORM_PUBLIC, NULL, "publickey", "@bob", true), 0);
    assert_int_equal(at_key_format(&k, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "cached:public:publickey@bob");
    assert_int_equal(at_key_make(&k, AT_KEY_FORM_PRIVATEKEY, NULL, "at_secret", NULL, false), 0);
    assert_int_equal(k.type, AT_KEY_RESERVED);
    assert_int_equal(at_key_make(&k, AT_KEY_FORM_PLAIN, NULL, "shared_key", "@bad owner", false),
                     NP_ERR_FORMAT);
    assert_int_equal(at_key_make(&k, AT_KEY_FORM_PLAIN, NULL, "a:b", "@alice", false),
                     NP_ERR_FORMAT);

    /* a hand-edited struct with an invalid name is refused by format */
    assert_int_equal(at_key_parse("x@alice", 7, &k), 0);
    memcpy(k.name, "a b", 4);
    assert_int_equal(at_key_format(&k, buf, sizeof(buf)), NP_ERR_FORMAT);
    assert_string_equal(buf, "");
}

static void test_protected(void **state)
{
    static const struct {
        const char *key;
        int prot;
    } cases[] = {
        {"public:signing_publickey@alice", 1}, {"@alice:signing_privatekey@alice", 1},
        {"public:publickey@alice", 1},         {"privatekey:at_pkam_publickey", 1},
        {"public:publickey@bob", 0},           {"cached:public:publickey@bob", 0},
        {"cached:public:publickey@alice", 0},  {"publickey@alice", 0},
        {"@bob:signing_privatekey@alice", 0},  {"privatekey:at_secret", 0},
        {"shared_key.bob@alice", 0},           {"public:extra.wavi@alice", 1},
    };
    static const char *const extra[] = {"public:extra.wavi@alice", NULL};
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct at_key k;
        assert_int_equal(at_key_parse(cases[i].key, strlen(cases[i].key), &k), 0);
        if (at_key_is_protected(&k, "@Alice", extra) != cases[i].prot)
            fail_msg("%s", cases[i].key);
    }
    {
        struct at_key k;
        assert_int_equal(at_key_parse("public:extra.wavi@alice", 23, &k), 0);
        assert_int_equal(at_key_is_protected(&k, "@alice", NULL), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),   cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_length_limits), cmocka_unit_test(test_make_and_format),
        cmocka_unit_test(test_protected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
