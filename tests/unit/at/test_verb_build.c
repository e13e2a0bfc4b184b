/* Unit tests for lib/at verb_build.c: exact client bytes and round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "at/verb.h"
#include "util/buf.h"
#include "util/err.h"

#define SIG  "kLr9ZQyA+Jx3lQ0b/ZP1V2w5hL8mBcn7xT3Fh2qk1y0=="
#define IV   "EBESExQVFhcYGRobHB0eHw=="
#define UUID "9d1c6b0e-2c7a-4a8e-9f3b-0e1d2c3b4a59"
#define B64  "c2VjcmV0IGRhdGEgaGVyZQ=="

static struct np_buf *b;

static int setup(void **state)
{
    (void)state;
    b = np_buf_new(65536);
    return b ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    np_buf_free(b);
    return 0;
}

/* The built command equals want, and parses back as verb v. */
static void expect(const char *want, enum at_verb v)
{
    struct at_cmd c;
    assert_string_equal(np_buf_ptr(b), want);
    if (at_verb_parse(np_buf_ptr(b), np_buf_len(b), &c) != 0 || c.verb != v)
        fail_msg("built '%s' does not parse back (err %d)", want, c.err);
    at_cmd_free(&c);
    np_buf_reset(b);
}

static void key(struct at_key *k, const char *text)
{
    assert_int_equal(at_key_parse(text, strlen(text), k), 0);
}

static void test_auth(void **state)
{
    (void)state;
    assert_int_equal(at_build_from(b, "alice", NULL), 0);
    expect("from:alice", AT_VERB_FROM);
    assert_int_equal(at_build_from(b, "@alice", NULL), 0);
    expect("from:@alice", AT_VERB_FROM);
    assert_int_equal(at_build_from(b, "@alice", "{\"version\":\"3.3.0\",\"clientId\":\"c1\"}"), 0);
    expect("from:@alice:clientConfig:{\"version\":\"3.3.0\",\"clientId\":\"c1\"}", AT_VERB_FROM);
    assert_int_equal(at_build_from(b, "@al:ice", NULL), NP_ERR_INVAL);
    assert_int_equal(at_build_from(b, "@al ice", NULL), NP_ERR_INVAL);
    assert_int_equal(np_buf_len(b), 0);

    assert_int_equal(at_build_cram(b, "18aa862d"), 0);
    expect("cram:18aa862d", AT_VERB_CRAM);

    assert_int_equal(at_build_pkam(b, false, AT_SIGN_RSA2048, AT_HASH_SHA256, NULL, SIG), 0);
    expect("pkam:" SIG, AT_VERB_PKAM);
    assert_int_equal(at_build_pkam(b, false, AT_SIGN_RSA2048, AT_HASH_SHA256, UUID, SIG), 0);
    expect("pkam:enrollmentId:" UUID ":" SIG, AT_VERB_PKAM);
    assert_int_equal(at_build_pkam(b, true, AT_SIGN_RSA2048, AT_HASH_SHA256, NULL, SIG), 0);
    expect("pkam:signingAlgo:rsa2048:hashingAlgo:sha256:" SIG, AT_VERB_PKAM);
    assert_int_equal(at_build_pkam(b, true, AT_SIGN_RSA2048, AT_HASH_SHA256, UUID, SIG), 0);
    expect("pkam:signingAlgo:rsa2048:hashingAlgo:sha256:enrollmentId:" UUID ":" SIG, AT_VERB_PKAM);
    assert_int_equal(at_build_pkam(b, true, AT_SIGN_ECC_SECP256R1, AT_HASH_SHA512, NULL, SIG), 0);
    expect("pkam:signingAlgo:ecc_secp256r1:hashingAlgo:sha512:" SIG, AT_VERB_PKAM);
    assert_int_equal(at_build_pkam(b, false, 0, 0, NULL, "a:b"), NP_ERR_INVAL);
    assert_int_equal(at_build_noop(b, 0), 0);
    expect("noop:0", AT_VERB_NOOP);
}

static void test_update_lookup_delete(void **state)
{
    struct at_key k;
    struct at_metadata md;
    (void)state;

    key(&k, "public:location.wavi@alice");
    assert_int_equal(at_build_update(b, NULL, &k, "London"), 0);
    expect("update:public:location.wavi@alice London", AT_VERB_UPDATE);

    at_metadata_init(&md);
    at_metadata_set_str(&md, AT_MD_IV_NONCE, IV);
    at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED, true);
    at_metadata_set_int(&md, AT_MD_TTL, 60000);
    key(&k, "@bob:msg.app@alice");
    assert_int_equal(at_build_update(b, &md, &k, B64), 0);
    expect("update:ttl:60000:isEncrypted:true:ivNonce:" IV ":@bob:msg.app@alice " B64,
           AT_VERB_UPDATE);
    at_metadata_clear(&md);

    /* A.2 / 11.3 */
    key(&k, "shared_key.bob@alice");
    assert_int_equal(at_build_update(b, NULL, &k, B64), 0);
    expect("update:shared_key.bob@alice " B64, AT_VERB_UPDATE);
    key(&k, "@bob:shared_key@alice");
    at_metadata_init(&md);
    at_metadata_set_int(&md, AT_MD_TTR, 3888000);
    assert_int_equal(at_build_update(b, &md, &k, B64), 0);
    expect("update:ttr:3888000:@bob:shared_key@alice " B64, AT_VERB_UPDATE);
    at_metadata_clear(&md);
    at_metadata_init(&md);
    at_metadata_set_str(&md, AT_MD_IV_NONCE, IV);
    key(&k, "k.ns@alice");
    assert_int_equal(at_build_update(b, &md, &k, B64), 0);
    expect("update:ivNonce:" IV ":k.ns@alice " B64, AT_VERB_UPDATE);
    key(&k, "privatekey:at_pkam_publickey");
    assert_int_equal(at_build_update(b, NULL, &k, "MIIB"), 0);
    expect("update:privatekey:at_pkam_publickey MIIB", AT_VERB_UPDATE);
    assert_int_equal(at_build_update(b, NULL, &k, "a\nb"), NP_ERR_INVAL);
    np_buf_reset(b);

    key(&k, "@bob:phone.wavi@alice");
    assert_int_equal(at_build_update_meta(b, &k, &md), 0);
    expect("update:meta:@bob:phone.wavi@alice:ivNonce:" IV, AT_VERB_UPDATE_META);
    at_metadata_clear(&md);

    key(&k, "shared_key.bob@alice");
    assert_int_equal(at_build_lookup(b, AT_VERB_LLOOKUP, AT_LOOKUP_VALUE, -1, &k), 0);
    expect("llookup:shared_key.bob@alice", AT_VERB_LLOOKUP);
    key(&k, "k.ns@alice");
    assert_int_equal(at_build_lookup(b, AT_VERB_LLOOKUP, AT_LOOKUP_ALL, -1, &k), 0);
    expect("llookup:all:k.ns@alice", AT_VERB_LLOOKUP);
    key(&k, "@other:k.ns@alice");
    assert_int_equal(at_build_lookup(b, AT_VERB_LLOOKUP, AT_LOOKUP_ALL, -1, &k), 0);
    expect("llookup:all:@other:k.ns@alice", AT_VERB_LLOOKUP);
    key(&k, "cached:@alice:shared_key@bob");
    assert_int_equal(at_build_lookup(b, AT_VERB_LLOOKUP, AT_LOOKUP_META, -1, &k), 0);
    expect("llookup:meta:cached:@alice:shared_key@bob", AT_VERB_LLOOKUP);
    key(&k, "shared_key@other");
    assert_int_equal(at_build_lookup(b, AT_VERB_LOOKUP, AT_LOOKUP_VALUE, -1, &k), 0);
    expect("lookup:shared_key@other", AT_VERB_LOOKUP);
    key(&k, "k.ns@other");
    assert_int_equal(at_build_lookup(b, AT_VERB_LOOKUP, AT_LOOKUP_ALL, -1, &k), 0);
    expect("lookup:all:k.ns@other", AT_VERB_LOOKUP);
    key(&k, "publickey@bob");
    assert_int_equal(at_build_lookup(b, AT_VERB_PLOOKUP, AT_LOOKUP_VALUE, -1, &k), 0);
    expect("plookup:publickey@bob", AT_VERB_PLOOKUP);
    key(&k, "public:k.ns@other"); /* the public: prefix is implied by plookup */
    assert_int_equal(at_build_lookup(b, AT_VERB_PLOOKUP, AT_LOOKUP_ALL, 1, &k), 0);
    expect("plookup:bypassCache:true:all:k.ns@other", AT_VERB_PLOOKUP);
    assert_int_equal(at_build_lookup(b, AT_VERB_LOOKUP, AT_LOOKUP_META, 0, &k), 0);
    expect("lookup:bypassCache:false:meta:k.ns@other", AT_VERB_LOOKUP);
    key(&k, "_x");
    assert_int_equal(at_build_lookup(b, AT_VERB_LOOKUP, AT_LOOKUP_ALL, -1, &k), NP_ERR_INVAL);
    assert_int_equal(at_build_lookup(b, AT_VERB_SCAN, AT_LOOKUP_ALL, -1, &k), NP_ERR_INVAL);

    key(&k, "@bob:k.ns@alice");
    assert_int_equal(at_build_delete(b, &k), 0);
    expect("delete:@bob:k.ns@alice", AT_VERB_DELETE);
    key(&k, "public:k@alice");
    assert_int_equal(at_build_delete(b, &k), 0);
    expect("delete:public:k@alice", AT_VERB_DELETE);
    key(&k, "privatekey:at_secret");
    assert_int_equal(at_build_delete(b, &k), 0);
    expect("delete:privatekey:at_secret", AT_VERB_DELETE);
}

static void test_scan_monitor(void **state)
{
    (void)state;
    assert_int_equal(at_build_scan(b, -1, NULL), 0);
    expect("scan", AT_VERB_SCAN);
    assert_int_equal(at_build_scan(b, 1, NULL), 0);
    expect("scan:showHidden:true", AT_VERB_SCAN);
    assert_int_equal(at_build_scan(b, 0, ".*"), 0);
    expect("scan:showHidden:false .*", AT_VERB_SCAN);
    assert_int_equal(at_build_scan(b, -1, "\\.sshnp@"), 0);
    expect("scan \\.sshnp@", AT_VERB_SCAN);
    assert_int_equal(at_build_monitor(b, false, false, false, -1, NULL), 0);
    expect("monitor", AT_VERB_MONITOR);
    assert_int_equal(at_build_monitor(b, false, false, false, -1, "\\.sshnp"), 0);
    expect("monitor \\.sshnp", AT_VERB_MONITOR);
    assert_int_equal(at_build_monitor(b, false, true, false, 1729730000000LL, ".*\\.sshnp"), 0);
    expect("monitor:selfNotifications:1729730000000 .*\\.sshnp", AT_VERB_MONITOR);
    assert_int_equal(at_build_monitor(b, true, true, true, 0, NULL), 0);
    expect("monitor:strict:selfNotifications:multiplexed:0", AT_VERB_MONITOR);
    assert_int_equal(at_build_monitor(b, false, false, false, -1, "a\nb"), NP_ERR_INVAL);
}

static void test_notify(void **state)
{
    struct at_metadata md;
    struct at_notify_params p;
    (void)state;

    /* Dart form (6.8) */
    at_metadata_init(&md);
    at_metadata_set_int(&md, AT_MD_TTL, 10000);
    at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED, true);
    at_metadata_set_str(&md, AT_MD_SHARED_KEY_ENC, B64);
    at_metadata_set_str(&md, AT_MD_PUB_KEY_CS, "0a1b2c3d");
    at_metadata_set_str(&md, AT_MD_IV_NONCE, IV);
    memset(&p, 0, sizeof(p));
    p.id = UUID;
    p.has_op = true;
    p.op = AT_NOTIFY_UPDATE;
    p.has_msg_type = true;
    p.msg_type = AT_MSG_KEY;
    p.has_priority = true;
    p.priority = AT_PRIORITY_LOW;
    p.has_strategy = true;
    p.strategy = AT_STRATEGY_ALL;
    p.notifier = "SYSTEM";
    p.has_ttln = true;
    p.ttln = 60000;
    p.md = &md;
    p.to = "@device";
    p.key = "ssh_request.dev.sshnp";
    p.from = "@client";
    p.value = B64;
    assert_int_equal(at_build_notify(b, &p), 0);
    expect("notify:id:" UUID ":update:messageType:key:priority:low:strategy:all:notifier:SYSTEM:"
           "ttln:60000:ttl:10000:isEncrypted:true:sharedKeyEnc:" B64
           ":pubKeyCS:0a1b2c3d:ivNonce:" IV ":@device:ssh_request.dev.sshnp@client:" B64,
           AT_VERB_NOTIFY);
    at_metadata_clear(&md);

    /* at_c form (A.2) */
    at_metadata_init(&md);
    at_metadata_set_int(&md, AT_MD_TTL, 10000);
    at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED, true);
    at_metadata_set_str(&md, AT_MD_IV_NONCE, IV);
    memset(&p, 0, sizeof(p));
    p.has_op = true;
    p.md = &md;
    p.to = "@bob";
    p.key = "ping.dev.sshnp";
    p.from = "@alice";
    p.value = B64;
    assert_int_equal(at_build_notify(b, &p), 0);
    expect("notify:update:ttl:10000:isEncrypted:true:ivNonce:" IV ":@bob:ping.dev.sshnp@alice:" B64,
           AT_VERB_NOTIFY);
    at_metadata_clear(&md);

    /* text message, latestN, public */
    memset(&p, 0, sizeof(p));
    p.has_msg_type = true;
    p.msg_type = AT_MSG_TEXT;
    p.to = "@bob";
    p.key = "hello";
    assert_int_equal(at_build_notify(b, &p), 0);
    expect("notify:messageType:text:@bob:hello", AT_VERB_NOTIFY);
    memset(&p, 0, sizeof(p));
    p.has_strategy = true;
    p.strategy = AT_STRATEGY_LATEST;
    p.has_latest_n = true;
    p.latest_n = 2;
    p.notifier = "app";
    p.key = "k";
    p.from = "@alice";
    assert_int_equal(at_build_notify(b, &p), 0);
    expect("notify:strategy:latest:latestN:2:notifier:app:public:k@alice", AT_VERB_NOTIFY);
    memset(&p, 0, sizeof(p));
    p.to = "@bob";
    p.key = "k";
    p.id = "bad id";
    assert_int_equal(at_build_notify(b, &p), NP_ERR_INVAL);
    p.id = NULL;
    p.to = "bob";
    assert_int_equal(at_build_notify(b, &p), NP_ERR_INVAL);
    p.to = "@bob";
    p.value = "line\nbreak";
    assert_int_equal(at_build_notify(b, &p), NP_ERR_INVAL);
    np_buf_reset(b);

    assert_int_equal(at_build_notify_status(b, UUID), 0);
    expect("notify:status:" UUID, AT_VERB_NOTIFY_STATUS);
}

static void test_forward(void **state)
{
    struct at_metadata md;
    struct at_fwd_notify n;
    struct at_cmd c;
    char full[256];
    (void)state;

    /* 7.2 example / A.3 */
    at_metadata_init(&md);
    at_metadata_set_int(&md, AT_MD_TTL, 10000);
    at_metadata_set_int(&md, AT_MD_TTB, 0);
    at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED, true);
    at_metadata_set_str(&md, AT_MD_IV_NONCE, IV);
    memset(&n, 0, sizeof(n));
    n.id = UUID;
    n.op = AT_NOTIFY_UPDATE;
    n.msg_type = AT_MSG_KEY;
    n.ttln = 900000;
    n.md = &md;
    n.full_key = "@bob:ping.dev.sshnp@alice";
    n.value = B64;
    assert_int_equal(at_build_forward_notify(b, &n), 0);
    assert_string_equal(np_buf_ptr(b),
                        "notify:id:" UUID ":update:messageType:key:notifier:SYSTEM:ttln:900000:"
                        "ttl:10000:ttb:0:isEncrypted:true:ivNonce:" IV
                        ":@bob:ping.dev.sshnp@alice:" B64);
    /* the receiving side parses it back */
    assert_int_equal(at_verb_parse(np_buf_ptr(b), np_buf_len(b), &c), 0);
    assert_int_equal(c.verb, AT_VERB_NOTIFY);
    assert_string_equal(c.u.notify.id, UUID);
    assert_string_equal(c.u.notify.notifier, "SYSTEM");
    assert_true(c.u.notify.ttln == 900000 && c.md.ttl == 10000 && c.md.ttb == 0);
    assert_true(at_metadata_has(&c.md, AT_MD_TTB) && c.md.is_encrypted);
    assert_string_equal(c.md.iv_nonce, IV);
    assert_int_equal(at_cmd_notify_full_key(&c, full, sizeof(full)), 0);
    assert_string_equal(full, "@bob:ping.dev.sshnp@alice");
    assert_string_equal(c.u.notify.value, B64);
    at_cmd_free(&c);
    np_buf_reset(b);

    /* every optional field, ttr+ccd together, fixed order whatever the md order */
    at_metadata_set_int(&md, AT_MD_TTR, -1);
    at_metadata_set_str(&md, AT_MD_SKE_ENC_ALGO, "RSA");
    at_metadata_set_str(&md, AT_MD_SKE_ENC_KEY_NAME, "skn");
    at_metadata_set_str(&md, AT_MD_ENC_ALGO, "AES");
    at_metadata_set_str(&md, AT_MD_ENC_KEY_NAME, "ekn");
    at_metadata_set_str(&md, AT_MD_PUB_KEY_CS, "abcd");
    at_metadata_set_str(&md, AT_MD_SHARED_KEY_ENC, "c2tl");
    at_metadata_set_str(&md, AT_MD_DATA_SIGNATURE, "dropped"); /* not forwarded */
    n.notifier = "system";
    n.value = "v:with:colons@and@ats";
    assert_int_equal(at_build_forward_notify(b, &n), 0);
    assert_string_equal(np_buf_ptr(b),
                        "notify:id:" UUID ":update:messageType:key:notifier:system:ttln:900000:"
                        "ttl:10000:ttb:0:ttr:-1:ccd:false:isEncrypted:true:sharedKeyEnc:c2tl:"
                        "pubKeyCS:abcd:encKeyName:ekn:encAlgo:AES:ivNonce:" IV
                        ":skeEncKeyName:skn:skeEncAlgo:RSA:@bob:ping.dev.sshnp@alice:"
                        "v:with:colons@and@ats");
    assert_int_equal(at_verb_parse(np_buf_ptr(b), np_buf_len(b), &c), 0);
    assert_string_equal(c.u.notify.value, "v:with:colons@and@ats");
    assert_true(c.md.ttr == -1 && at_metadata_has(&c.md, AT_MD_CCD) && !c.md.ccd);
    at_cmd_free(&c);
    np_buf_reset(b);
    at_metadata_clear(&md);

    /* delete auto-notification: no metadata section at all */
    n.op = AT_NOTIFY_DELETE;
    n.md = NULL;
    n.value = NULL;
    n.notifier = "system";
    assert_int_equal(at_build_forward_notify(b, &n), 0);
    assert_string_equal(np_buf_ptr(b), "notify:id:" UUID ":delete:messageType:key:notifier:system:"
                                       "ttln:900000:@bob:ping.dev.sshnp@alice");
    assert_int_equal(at_verb_parse(np_buf_ptr(b), np_buf_len(b), &c), 0);
    assert_int_equal(c.u.notify.op, AT_NOTIFY_DELETE);
    assert_null(c.u.notify.value);
    at_cmd_free(&c);
    np_buf_reset(b);

    /* text message */
    n.op = AT_NOTIFY_UPDATE;
    n.msg_type = AT_MSG_TEXT;
    n.full_key = "@bob:hello there";
    n.notifier = NULL;
    at_metadata_init(&md);
    at_metadata_set_int(&md, AT_MD_TTL, 0);
    at_metadata_set_int(&md, AT_MD_TTB, 0);
    n.md = &md;
    assert_int_equal(at_build_forward_notify(b, &n), 0);
    assert_string_equal(np_buf_ptr(b),
                        "notify:id:" UUID ":update:messageType:text:notifier:SYSTEM:"
                        "ttln:900000:ttl:0:ttb:0:isEncrypted:false:@bob:hello there");
    assert_int_equal(at_verb_parse(np_buf_ptr(b), np_buf_len(b), &c), 0);
    assert_int_equal(at_cmd_notify_full_key(&c, full, sizeof(full)), 0);
    assert_string_equal(full, "@bob:hello there");
    at_cmd_free(&c);
    np_buf_reset(b);
    at_metadata_clear(&md);

    n.id = "x y";
    assert_int_equal(at_build_forward_notify(b, &n), NP_ERR_INVAL);
}

static void test_buffer_limit(void **state)
{
    struct np_buf *small = np_buf_new(8);
    struct at_key k;
    (void)state;
    key(&k, "public:location.wavi@alice");
    assert_int_equal(at_build_update(small, NULL, &k, "London"), NP_ERR_TOOBIG);
    np_buf_free(small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth),         cmocka_unit_test(test_update_lookup_delete),
        cmocka_unit_test(test_scan_monitor), cmocka_unit_test(test_notify),
        cmocka_unit_test(test_forward),      cmocka_unit_test(test_buffer_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
