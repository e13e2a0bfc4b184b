/* Unit tests for lib/at verb parsing (verb_table.c, verb_parse_*.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at/error.h"
#include "at/verb.h"
#include "util/alloc.h"
#include "util/err.h"

#include "test_verb_int.h"

#define PARSE_OK(cmd, text)                                                                        \
    do {                                                                                           \
        if (at_verb_parse((text), strlen(text), (cmd)) != 0)                                       \
            fail_msg("parse failed: %s (err %d)", (text), (cmd)->err);                             \
    } while (0)

static void test_from(void **state)
{
    struct at_cmd c;
    (void)state;
    PARSE_OK(&c, "from:alice");
    assert_string_equal(c.u.from.atsign, "@alice");
    assert_null(c.u.from.client_config);
    assert_false(c.u.from.json_errors);
    at_cmd_free(&c);
    PARSE_OK(&c, "From:@Al.ice:clientConfig:{\"version\":\"3.3.0\",\"clientId\":\"x\"}");
    assert_string_equal(c.u.from.atsign, "@alice");
    assert_string_equal(c.u.from.version, "3.3.0");
    assert_true(c.u.from.json_errors);
    assert_string_equal(c.u.from.client_config, "{\"version\":\"3.3.0\",\"clientId\":\"x\"}");
    at_cmd_free(&c);
    static const struct {
        const char *v;
        bool json;
    } vers[] = {{"3.0.37", false}, {"3.0.38", true},  {"3.0.9", false},      {"3.1.0", true},
                {"4", true},       {"2.9.99", false}, {"3.0.38-beta", true}, {"", false}};
    for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "from:@a:clientConfig:{\"version\":\"%s\"}", vers[i].v);
        PARSE_OK(&c, line);
        if (c.u.from.json_errors != vers[i].json)
            fail_msg("version %s", vers[i].v);
        at_cmd_free(&c);
    }
}

static void test_pkam(void **state)
{
    struct at_cmd c;
    (void)state;
    PARSE_OK(&c, "pkam:" SIG);
    assert_false(c.u.pkam.has_signing_algo);
    assert_false(c.u.pkam.has_hashing_algo);
    assert_null(c.u.pkam.enrollment_id);
    assert_string_equal(c.u.pkam.signature, SIG);
    at_cmd_free(&c);
    PARSE_OK(&c, "pkam:signingAlgo:RSA2048:hashingAlgo:SHA512:enrollmentId:" UUID ":" SIG);
    assert_true(c.u.pkam.has_signing_algo && c.u.pkam.signing_algo == AT_SIGN_RSA2048);
    assert_true(c.u.pkam.has_hashing_algo && c.u.pkam.hashing_algo == AT_HASH_SHA512);
    assert_string_equal(c.u.pkam.enrollment_id, UUID);
    assert_string_equal(c.u.pkam.signature, SIG);
    at_cmd_free(&c);
    PARSE_OK(&c, "pkam:enrollmentId:" UUID ":" SIG);
    assert_string_equal(c.u.pkam.enrollment_id, UUID);
    assert_false(c.u.pkam.has_signing_algo);
    at_cmd_free(&c);
}

static void test_update(void **state)
{
    struct at_cmd c;
    (void)state;
    PARSE_OK(&c, "update:ttl:60000:isEncrypted:true:ivNonce:" IV ":@Bob:Msg.App@Alice " B64);
    assert_int_equal(c.u.update.key.type, AT_KEY_SHARED);
    assert_string_equal(c.u.update.key.shared_with, "@bob");
    assert_string_equal(c.u.update.key.name, "msg");
    assert_string_equal(c.u.update.key.ns, "app");
    assert_string_equal(c.u.update.key.owner, "@alice");
    assert_string_equal(c.u.update.value, B64);
    assert_int_equal(c.u.update.value_len, strlen(B64));
    assert_true(c.md.ttl == 60000 && c.md.is_encrypted);
    assert_string_equal(c.md.iv_nonce, IV);
    at_cmd_free(&c);
    /* value keeps spaces, ':' and '@' and its case */
    PARSE_OK(&c, "update:public:location.wavi@alice London: Big @Ben  ");
    assert_string_equal(c.u.update.value, "London: Big @Ben");
    assert_true(c.u.update.key.is_public);
    assert_int_equal(c.md.present, 0);
    at_cmd_free(&c);
    /* metadata in a scrambled order, at_c order, hash/algo */
    PARSE_OK(&c, "update:ivNonce:" IV ":isEncrypted:true:ccd:true:ttr:-1:ttb:5:ttl:9:hash:h1:algo:"
                 "md5:k@alice v");
    assert_true(c.md.ttl == 9 && c.md.ttb == 5 && c.md.ttr == -1 && c.md.ccd);
    assert_string_equal(c.md.hash, "h1");
    assert_string_equal(c.md.algo, "md5");
    at_cmd_free(&c);
    PARSE_OK(&c, "update:privatekey:at_pkam_publickey MIIB");
    assert_int_equal(c.u.update.key.form, AT_KEY_FORM_PRIVATEKEY);
    assert_int_equal(c.u.update.key.type, AT_KEY_RESERVED);
    at_cmd_free(&c);
    PARSE_OK(&c, "update:phone x");
    assert_int_equal(c.u.update.key.type, AT_KEY_INVALID);
    at_cmd_free(&c);
    PARSE_OK(&c, "update:json:{\"atKey\":\"phone\"}");
    assert_string_equal(c.u.update.json, "{\"atKey\":\"phone\"}");
    assert_null(c.u.update.value);
    at_cmd_free(&c);
    /* key length boundary: 248 ok, 249 -> AT0016 */
    {
        char line[400], key[300];
        size_t kl = 248 - strlen("@bob:") - strlen("@alice");
        memset(key, 'k', kl);
        key[kl] = '\0';
        snprintf(line, sizeof(line), "update:@bob:%s@alice v", key);
        PARSE_OK(&c, line);
        at_cmd_free(&c);
        snprintf(line, sizeof(line), "update:@bob:%sk@alice v", key);
        assert_int_equal(at_verb_parse(line, strlen(line), &c), NP_ERR_FORMAT);
        assert_int_equal(c.err, AT_PERR_INVALID_KEY);
        assert_int_equal(at_perr_code(c.err), AT_E_INVALID_KEY);
        at_cmd_free(&c);
    }
}

static void test_update_meta(void **state)
{
    struct at_cmd c;
    (void)state;
    PARSE_OK(&c, "update:meta:@bob:phone.wavi@alice:ttr:-1:ttl:60000:ivNonce:null");
    assert_int_equal(c.u.update.key.type, AT_KEY_SHARED);
    assert_true(c.md.ttl == 60000 && c.md.ttr == -1);
    assert_true(c.md.nulled & AT_MD_BIT(AT_MD_IV_NONCE));
    assert_null(c.u.update.value);
    at_cmd_free(&c);
    PARSE_OK(&c, "update:meta:public:x@alice");
    assert_true(c.u.update.key.is_public);
    at_cmd_free(&c);
}

static void test_lookups(void **state)
{
    struct at_cmd c;
    (void)state;
    PARSE_OK(&c, "llookup:all:cached:@alice:shared_key@bob");
    assert_int_equal(c.u.lookup.op, AT_LOOKUP_ALL);
    assert_true(c.u.lookup.key.cached);
    assert_string_equal(c.u.lookup.key.shared_with, "@alice");
    at_cmd_free(&c);
    PARSE_OK(&c, "llookup:meta:public:publickey@alice");
    assert_int_equal(c.u.lookup.op, AT_LOOKUP_META);
    assert_int_equal(c.u.lookup.bypass_cache, -1);
    at_cmd_free(&c);
    PARSE_OK(&c, "plookup:bypassCache:true:all:publickey@bob");
    assert_int_equal(c.u.lookup.bypass_cache, 1);
    assert_int_equal(c.u.lookup.op, AT_LOOKUP_ALL);
    assert_string_equal(c.u.lookup.key.name, "publickey");
    assert_string_equal(c.u.lookup.key.owner, "@bob");
    at_cmd_free(&c);
    PARSE_OK(&c, "lookup:bypassCache:false:shared_key@alice");
    assert_int_equal(c.u.lookup.bypass_cache, 0);
    assert_int_equal(c.u.lookup.op, AT_LOOKUP_VALUE);
    at_cmd_free(&c);
    PARSE_OK(&c, "delete:priority:medium:@bob:k.ns@alice");
    assert_true(c.u.del.has_priority && c.u.del.priority == AT_PRIORITY_MEDIUM);
    assert_int_equal(c.u.del.key.type, AT_KEY_SHARED);
    at_cmd_free(&c);
    PARSE_OK(&c, "delete:privatekey:at_secret");
    assert_int_equal(c.u.del.key.form, AT_KEY_FORM_PRIVATEKEY);
    assert_false(c.u.del.has_priority);
    at_cmd_free(&c);
}

static void test_scan_monitor(void **state)
{
    struct at_cmd c;
    (void)state;
    PARSE_OK(&c, "scan");
    assert_int_equal(c.u.scan.show_hidden, -1);
    assert_null(c.u.scan.regex);
    assert_string_equal(c.u.scan.other, "");
    at_cmd_free(&c);
    PARSE_OK(&c, "scan:showHidden:true:@Bob:page:3 \\.sshnp@ x");
    assert_int_equal(c.u.scan.show_hidden, 1);
    assert_string_equal(c.u.scan.other, "@bob");
    assert_true(c.u.scan.has_page && c.u.scan.page == 3);
    assert_string_equal(c.u.scan.regex, "\\.sshnp@ x");
    at_cmd_free(&c);
    /* no ':' in the command: the whole command is lower-cased (Dart quirk) */
    PARSE_OK(&c, "SCAN Foo");
    assert_string_equal(c.u.scan.regex, "foo");
    at_cmd_free(&c);
    PARSE_OK(&c, "monitor");
    assert_string_equal(c.u.monitor.regex, ".*");
    assert_false(c.u.monitor.has_epoch);
    at_cmd_free(&c);
    PARSE_OK(&c, "monitor Foo");
    assert_string_equal(c.u.monitor.regex, "foo");
    at_cmd_free(&c);
    PARSE_OK(&c, "monitor:selfNotifications:1729730000000 .*\\.sshnp");
    assert_true(c.u.monitor.self_notifications);
    assert_false(c.u.monitor.strict);
    assert_true(c.u.monitor.has_epoch && c.u.monitor.epoch_ms == 1729730000000LL);
    assert_string_equal(c.u.monitor.regex, ".*\\.sshnp");
    at_cmd_free(&c);
    PARSE_OK(&c, "monitor:multiplexed:strict");
    assert_true(c.u.monitor.multiplexed && c.u.monitor.strict);
    at_cmd_free(&c);
}

struct split_case {
    const char *line;
    const char *to, *key, *from, *value; /* value NULL = none */
    enum at_msg_type type;
    const char *full;
};

static const struct split_case splits[] = {
    {"notify:@bob:k@alice:v", "@bob", "k", "@alice", "v", AT_MSG_KEY, "@bob:k@alice"},
    {"notify:@bob:k@alice", "@bob", "k", "@alice", NULL, AT_MSG_KEY, "@bob:k@alice"},
    /* value holding ':' and '@' */
    {"notify:@bob:k.ns@alice:a:b@c:d@e", "@bob", "k.ns", "@alice", "a:b@c:d@e", AT_MSG_KEY,
     "@bob:k.ns@alice"},
    /* JSON value */
    {"notify:@bob:k@alice:{\"a\":\"x@y\",\"b\":1}", "@bob", "k", "@alice",
     "{\"a\":\"x@y\",\"b\":1}", AT_MSG_KEY, "@bob:k@alice"},
    /* value with spaces kept as is */
    {"notify:@bob:k@alice:hello world ", "@bob", "k", "@alice", "hello world", AT_MSG_KEY,
     "@bob:k@alice"},
    /* keys may hold single ':' */
    {"notify:@bob:a:b@alice:v", "@bob", "a:b", "@alice", "v", AT_MSG_KEY, "@bob:a:b@alice"},
    /* key case kept, atSigns lower-cased */
    {"notify:@BOB:Ping.Dev.SSHNP@Alice:XyZ", "@bob", "Ping.Dev.SSHNP", "@alice", "XyZ", AT_MSG_KEY,
     "@bob:Ping.Dev.SSHNP@alice"},
    /* no sender atSign: the first ':' separates key and value */
    {"notify:@bob:k:v", "@bob", "k", "", "v", AT_MSG_KEY, "@bob:k"},
    {"notify:@bob:k", "@bob", "k", "", NULL, AT_MSG_KEY, "@bob:k"},
    /* emoji atSigns */
    {"notify:@bob" EMOJI ":ping.dev.sshnp@alice" EMOJI ":" B64, "@bob" EMOJI, "ping.dev.sshnp",
     "@alice" EMOJI, B64, AT_MSG_KEY, "@bob" EMOJI ":ping.dev.sshnp@alice" EMOJI},
    /* text messages: the whole rest is the text */
    {"notify:messageType:text:@bob:hello", "@bob", "hello", "", NULL, AT_MSG_TEXT, "@bob:hello"},
    {"notify:messageType:TEXT:@bob:hi: there @alice", "@bob", "hi: there @alice", "", NULL,
     AT_MSG_TEXT, "@bob:hi: there @alice"},
    {"notify:message_type:text:isEncrypted:true:@bob:abc", "@bob", "abc", "", NULL, AT_MSG_TEXT,
     "@bob:abc"},
    /* public */
    {"notify:public:k@alice:v", "", "k", "@alice", "v", AT_MSG_KEY, "public:k@alice"},
};

static void test_notify_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
        const struct split_case *s = &splits[i];
        struct at_cmd c;
        char full[512];
        if (at_verb_parse(s->line, strlen(s->line), &c) != 0)
            fail_msg("case %zu '%s' err %d", i, s->line, c.err);
        assert_string_equal(c.u.notify.to, s->to);
        assert_string_equal(c.u.notify.key, s->key);
        assert_string_equal(c.u.notify.from, s->from);
        if (s->value) {
            assert_non_null(c.u.notify.value);
            assert_string_equal(c.u.notify.value, s->value);
            assert_int_equal(c.u.notify.value_len, strlen(s->value));
        } else {
            assert_null(c.u.notify.value);
        }
        assert_int_equal(c.u.notify.msg_type, s->type);
        assert_int_equal(at_cmd_notify_full_key(&c, full, sizeof(full)), 0);
        assert_string_equal(full, s->full);
        at_cmd_free(&c);
    }
}

static void test_notify_options(void **state)
{
    struct at_cmd c;
    (void)state;
    PARSE_OK(&c, "notify:id:" UUID ":update:messageType:key:priority:low:strategy:all:notifier:"
                 "SYSTEM:ttln:60000:ttl:10000:isEncrypted:true:sharedKeyEnc:" B64
                 ":pubKeyCS:0a1b:ivNonce:" IV ":@device:ssh_request.dev.sshnp@client:" B64);
    assert_string_equal(c.u.notify.id, UUID);
    assert_true(c.u.notify.has_op && c.u.notify.op == AT_NOTIFY_UPDATE);
    assert_true(c.u.notify.has_msg_type && c.u.notify.msg_type == AT_MSG_KEY);
    assert_true(c.u.notify.has_priority && c.u.notify.priority == AT_PRIORITY_LOW);
    assert_true(c.u.notify.has_strategy && c.u.notify.strategy == AT_STRATEGY_ALL);
    assert_string_equal(c.u.notify.notifier, "SYSTEM");
    assert_true(c.u.notify.has_ttln && c.u.notify.ttln == 60000);
    assert_true(c.md.ttl == 10000 && c.md.is_encrypted);
    assert_string_equal(c.md.shared_key_enc, B64);
    assert_string_equal(c.md.pub_key_cs, "0a1b");
    assert_string_equal(c.md.iv_nonce, IV);
    assert_string_equal(c.u.notify.to, "@device");
    assert_string_equal(c.u.notify.key, "ssh_request.dev.sshnp");
    assert_string_equal(c.u.notify.from, "@client");
    assert_string_equal(c.u.notify.value, B64);
    at_cmd_free(&c);
    /* options in another order (tolerated), defaults when absent */
    PARSE_OK(&c, "notify:ttln:5:Delete:latestN:2:strategy:latest:@bob:k@alice");
    assert_true(c.u.notify.op == AT_NOTIFY_DELETE && c.u.notify.has_latest_n &&
                c.u.notify.latest_n == 2 && c.u.notify.strategy == AT_STRATEGY_LATEST);
    assert_null(c.u.notify.id);
    assert_null(c.u.notify.notifier);
    assert_false(c.u.notify.has_priority);
    at_cmd_free(&c);
    PARSE_OK(&c, "notify:all:delete:ttr:10:@a,@B,@c" EMOJI ":k.ns@alice:v:1");
    assert_int_equal(c.u.notify_all.n_to, 3);
    assert_string_equal(c.u.notify_all.to[1], "@b");
    assert_string_equal(c.u.notify_all.to[2], "@c" EMOJI);
    assert_string_equal(c.u.notify_all.key, "k.ns");
    assert_string_equal(c.u.notify_all.from, "@alice");
    assert_string_equal(c.u.notify_all.value, "v:1");
    assert_true(c.u.notify_all.op == AT_NOTIFY_DELETE && c.md.ttr == 10);
    at_cmd_free(&c);
    PARSE_OK(&c, "notify:status:" UUID);
    assert_string_equal(c.u.id.id, UUID);
    at_cmd_free(&c);
    PARSE_OK(&c, "notify:remove:" UUID);
    assert_string_equal(c.u.id.id, UUID);
    at_cmd_free(&c);
    PARSE_OK(&c, "notify:list:2024-1-5:2024-10-24:.*\\.sshnp");
    assert_true(c.u.notify_list.has_from && c.u.notify_list.has_to);
    assert_string_equal(c.u.notify_list.from_date, "2024-01-05");
    assert_true(c.u.notify_list.from_ms == 1704412800000LL);
    assert_string_equal(c.u.notify_list.regex, ".*\\.sshnp");
    at_cmd_free(&c);
    PARSE_OK(&c, "notify:list:wavi");
    assert_false(c.u.notify_list.has_from);
    assert_string_equal(c.u.notify_list.regex, "wavi");
    at_cmd_free(&c);
}

static void test_admin(void **state)
{
    struct at_cmd c;
    (void)state;
    PARSE_OK(&c, "stats:1,3,15:.*");
    assert_true(c.u.stats.ids == ((1u << 1) | (1u << 3) | (1u << 15)));
    assert_string_equal(c.u.stats.regex, ".*");
    at_cmd_free(&c);
    PARSE_OK(&c, "stats:.*wavi");
    assert_int_equal(c.u.stats.ids, 0);
    assert_string_equal(c.u.stats.regex, ".*wavi");
    at_cmd_free(&c);
    PARSE_OK(&c, "info:brief");
    assert_true(c.u.info.brief);
    at_cmd_free(&c);
    PARSE_OK(&c, "noop:4999");
    assert_true(c.u.noop.ms == 4999);
    at_cmd_free(&c);
    PARSE_OK(&c, "config:block:add:@Eve @mallory" EMOJI);
    assert_int_equal(c.u.config.list, AT_CONFIG_BLOCK);
    assert_int_equal(c.u.config.op, AT_CONFIG_ADD);
    assert_int_equal(c.u.config.n_atsigns, 2);
    assert_string_equal(c.u.config.atsigns[0], "@eve");
    assert_string_equal(c.u.config.atsigns[1], "@mallory" EMOJI);
    at_cmd_free(&c);
    PARSE_OK(&c, "config:allow:remove:@bob");
    assert_int_equal(c.u.config.list, AT_CONFIG_ALLOW);
    assert_int_equal(c.u.config.op, AT_CONFIG_REMOVE);
    at_cmd_free(&c);
    PARSE_OK(&c, "config:set:a=b=c");
    assert_string_equal(c.u.config.name, "a");
    assert_string_equal(c.u.config.value, "b=c");
    at_cmd_free(&c);
    PARSE_OK(&c, "enroll:revoke:force:{\"enrollmentId\":\"x\"}");
    assert_int_equal(c.u.enroll.op, AT_ENROLL_REVOKE);
    assert_true(c.u.enroll.force);
    assert_string_equal(c.u.enroll.json, "{\"enrollmentId\":\"x\"}");
    at_cmd_free(&c);
    PARSE_OK(&c, "otp:put:ABC123:ttl:600");
    assert_int_equal(c.u.otp.op, AT_OTP_PUT);
    assert_string_equal(c.u.otp.spp, "ABC123");
    assert_true(c.u.otp.has_ttl && c.u.otp.ttl == 600);
    at_cmd_free(&c);
    PARSE_OK(&c, "sync:from:-1:limit:25:.*");
    assert_true(c.u.sync.from_commit == -1 && c.u.sync.limit == 25);
    assert_string_equal(c.u.sync.regex, ".*");
    at_cmd_free(&c);
    PARSE_OK(&c, "keys:put:private:namespace:wavi:appName:a:deviceName:d:keyType:t:"
                 "encryptionKeyName:e:keyName:kn some value");
    assert_int_equal(c.u.keys.op, AT_KEYS_PUT);
    assert_string_equal(c.u.keys.visibility, "private");
    assert_string_equal(c.u.keys.ns, "wavi");
    assert_string_equal(c.u.keys.app_name, "a");
    assert_string_equal(c.u.keys.device_name, "d");
    assert_string_equal(c.u.keys.key_type, "t");
    assert_string_equal(c.u.keys.encryption_key_name, "e");
    assert_string_equal(c.u.keys.key_name, "kn");
    assert_string_equal(c.u.keys.value, "some value");
    at_cmd_free(&c);
    PARSE_OK(&c, "batch:[]");
    assert_string_equal(c.u.batch.json, "[]");
    at_cmd_free(&c);
}

static void test_normalisation(void **state)
{
    struct at_cmd c;
    (void)state;
    /* verb part lower-cased and its spaces removed */
    PARSE_OK(&c, "LLOOK UP:Phone@Alice");
    assert_int_equal(c.verb, AT_VERB_LLOOKUP);
    assert_string_equal(c.u.lookup.key.name, "phone");
    at_cmd_free(&c);
    PARSE_OK(&c, "  Notify:Update:@bob:Key@alice:Value  \r\n");
    assert_string_equal(c.u.notify.key, "Key");
    assert_string_equal(c.u.notify.value, "Value");
    at_cmd_free(&c);
    /* embedded NUL is refused */
    assert_int_equal(at_verb_parse("update:k@alice a\0b", 18, &c), NP_ERR_FORMAT);
    assert_int_equal(c.verb, AT_VERB_UPDATE);
    assert_int_equal(c.err, AT_PERR_SYNTAX);
    at_cmd_free(&c);
    /* over the 10 MB limit */
    assert_int_equal(at_verb_parse("x", (size_t)AT_LINE_MAX + 1, &c), NP_ERR_TOOBIG);
    assert_int_equal(c.err, AT_PERR_TOO_LONG);
    assert_int_equal(at_perr_code(c.err), AT_E_BUFFER_LIMIT);
    at_cmd_free(&c);
    /* allocation failure */
    np_alloc_fail_after(0);
    assert_int_equal(at_verb_parse("pol", 3, &c), NP_ERR_NOMEM);
    assert_int_equal(c.err, AT_PERR_NOMEM);
    np_alloc_fail_after(-1);
    at_cmd_free(&c);
    /* failing in the middle of notify:all / config leaves nothing leaked */
    for (long n = 0; n < 6; n++) {
        np_alloc_fail_after(n);
        at_verb_parse("notify:all:@a,@b:k@alice", 24, &c);
        np_alloc_fail_after(-1);
        at_cmd_free(&c);
        np_alloc_fail_after(n);
        at_verb_parse("config:block:add:@a @b @c @d @e", 31, &c);
        np_alloc_fail_after(-1);
        at_cmd_free(&c);
        np_alloc_fail_after(n);
        at_verb_parse("update:ivNonce:abc:k@alice v", 28, &c);
        np_alloc_fail_after(-1);
        at_cmd_free(&c);
    }
    at_cmd_free(NULL);
    assert_int_equal(at_verb_parse("x", 1, NULL), NP_ERR_INVAL);
}

static void test_table(void **state)
{
    (void)state;
    for (int v = 0; v < AT_VERB__COUNT; v++) {
        const struct at_verb_info *vi = at_verb_info((enum at_verb)v);
        assert_int_equal(vi->verb, v);
        assert_non_null(vi->usage);
        assert_int_equal(at_verb_allowed((enum at_verb)v, AT_AUTH_OWNER), 1);
        /* REQUIRES_OWNER excludes the other two */
        if (vi->flags & AT_VF_REQUIRES_OWNER)
            assert_int_equal(vi->flags & (AT_VF_POL_OK | AT_VF_UNAUTH_OK), 0);
    }
    static const struct {
        enum at_verb v;
        int unauth, pol;
    } pol[] = {
        {AT_VERB_FROM, 1, 1},          {AT_VERB_POL, 1, 1},           {AT_VERB_CRAM, 1, 1},
        {AT_VERB_PKAM, 1, 1},          {AT_VERB_INFO, 1, 1},          {AT_VERB_NOOP, 1, 1},
        {AT_VERB_LOOKUP, 1, 1},        {AT_VERB_SCAN, 1, 1},          {AT_VERB_NOTIFY, 0, 1},
        {AT_VERB_NOTIFY_STATUS, 1, 1}, {AT_VERB_NOTIFY_LIST, 1, 1},   {AT_VERB_ENROLL, 1, 0},
        {AT_VERB_UPDATE, 0, 0},        {AT_VERB_UPDATE_META, 0, 0},   {AT_VERB_LLOOKUP, 0, 0},
        {AT_VERB_PLOOKUP, 0, 0},       {AT_VERB_DELETE, 0, 0},        {AT_VERB_MONITOR, 0, 0},
        {AT_VERB_STATS, 0, 0},         {AT_VERB_CONFIG, 0, 0},        {AT_VERB_SYNC_FROM, 0, 0},
        {AT_VERB_BATCH, 0, 0},         {AT_VERB_KEYS, 0, 0},          {AT_VERB_OTP, 0, 0},
        {AT_VERB_NOTIFY_FETCH, 0, 0},  {AT_VERB_NOTIFY_REMOVE, 0, 0},
    };
    for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++) {
        if (at_verb_allowed(pol[i].v, AT_AUTH_NONE) != pol[i].unauth ||
            at_verb_allowed(pol[i].v, AT_AUTH_POL) != pol[i].pol)
            fail_msg("policy of %s", at_verb_info(pol[i].v)->name);
    }
    assert_string_equal(at_verb_info(AT_VERB_UPDATE_META)->name, "update:meta");
    assert_int_equal(at_verb_info(AT_VERB__COUNT)->verb, AT_VERB_NONE);
    assert_int_equal(at_perr_code(AT_PERR_SYNTAX), AT_E_INVALID_SYNTAX);
    assert_int_equal(at_perr_code(AT_PERR_INVALID_COMMAND), AT_E_INVALID_SYNTAX);
    assert_int_equal(at_perr_code(AT_PERR_ILLEGAL_ARG), AT_E_ILLEGAL_ARGUMENTS);
    assert_int_equal(at_perr_code(AT_PERR_NONE), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verb_lines),     cmocka_unit_test(test_from),
        cmocka_unit_test(test_pkam),           cmocka_unit_test(test_update),
        cmocka_unit_test(test_update_meta),    cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_scan_monitor),   cmocka_unit_test(test_notify_split),
        cmocka_unit_test(test_notify_options), cmocka_unit_test(test_admin),
        cmocka_unit_test(test_normalisation),  cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
