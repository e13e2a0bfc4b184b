/* Table-driven cases for the verb parser: every example line of
 * atprotocol.md 3, 6, 7.2, 11.3, 12 and Appendix A, plus the error cases
 * around them. Part of the test_at_verb executable (see test_verb.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "at/verb.h"
#include "test_verb_int.h"
#include "util/err.h"

struct line_case {
    const char *line;
    enum at_verb verb;
    enum at_perr err;
};

/* Every example line of atprotocol.md 3, 6, 7.2, 11.3, 12 and Appendix A,
 * plus the error cases around them. */
static const struct line_case lines[] = {
    /* 2.3 pre-processing */
    {"", AT_VERB_NONE, AT_PERR_INVALID_COMMAND},
    {"   ", AT_VERB_NONE, AT_PERR_INVALID_COMMAND},
    {"\r", AT_VERB_NONE, AT_PERR_INVALID_COMMAND},
    {"@exit", AT_VERB_EXIT, AT_PERR_NONE},
    {"hello", AT_VERB_NONE, AT_PERR_INVALID_COMMAND},
    {"noop", AT_VERB_NONE, AT_PERR_INVALID_COMMAND},
    {"sync:5", AT_VERB_NONE, AT_PERR_INVALID_COMMAND},
    {"update:metadata.app@alice x", AT_VERB_NONE, AT_PERR_INVALID_COMMAND},
    {"info:full", AT_VERB_NONE, AT_PERR_INVALID_COMMAND},
    {"polx", AT_VERB_NONE, AT_PERR_INVALID_COMMAND},
    /* 3.1 from */
    {"from:@alice", AT_VERB_FROM, AT_PERR_NONE},
    {"from:alice", AT_VERB_FROM, AT_PERR_NONE},
    {"from:bob\r", AT_VERB_FROM, AT_PERR_NONE},
    {"from:@alice" EMOJI, AT_VERB_FROM, AT_PERR_NONE},
    {"FROM:@Alice", AT_VERB_FROM, AT_PERR_NONE},
    {"from:@alice:clientConfig:{\"version\":\"3.3.0\",\"clientId\":\"c1\",\"platform\":\"linux\"}",
     AT_VERB_FROM, AT_PERR_NONE},
    {"from:", AT_VERB_FROM, AT_PERR_SYNTAX},
    {"from:@", AT_VERB_FROM, AT_PERR_SYNTAX},
    {"from:@al ice", AT_VERB_FROM, AT_PERR_SYNTAX},
    {"from:@alice@bob", AT_VERB_FROM, AT_PERR_SYNTAX},
    {"from:@alice:foo", AT_VERB_FROM, AT_PERR_SYNTAX},
    {"from:@alice:clientConfig:{bad json}", AT_VERB_FROM, AT_PERR_SYNTAX},
    {"from:@alice:clientConfig:[1]", AT_VERB_FROM, AT_PERR_SYNTAX},
    {"from:@al!ce", AT_VERB_FROM, AT_PERR_INVALID_ATSIGN},
    /* 3.2 cram */
    {"cram:18aa862d0d3d3d844b80580d7b44cd0a92394a32fbc54689338c82fc8e720d39100946f831832cbeaa476ad3"
     "90c372abf4489132974b35e4a2bbf3da44043ca5",
     AT_VERB_CRAM, AT_PERR_NONE},
    {"cram:", AT_VERB_CRAM, AT_PERR_SYNTAX},
    /* 3.3 pkam */
    {"pkam:" SIG, AT_VERB_PKAM, AT_PERR_NONE},
    {"pkam:enrollmentId:" UUID ":" SIG, AT_VERB_PKAM, AT_PERR_NONE},
    {"pkam:signingAlgo:rsa2048:hashingAlgo:sha256:" SIG, AT_VERB_PKAM, AT_PERR_NONE},
    {"pkam:signingAlgo:rsa2048:hashingAlgo:sha256:enrollmentId:" UUID ":" SIG, AT_VERB_PKAM,
     AT_PERR_NONE},
    {"pkam:SigningAlgo:RSA2048:HashingAlgo:SHA512:" SIG, AT_VERB_PKAM, AT_PERR_NONE},
    {"pkam:hashingAlgo:sha512:" SIG, AT_VERB_PKAM, AT_PERR_NONE},
    {"pkam:signingAlgo:ecc_secp256r1:" SIG, AT_VERB_PKAM, AT_PERR_NONE},
    {"pkam:", AT_VERB_PKAM, AT_PERR_SYNTAX},
    {"pkam:signingAlgo:dsa:" SIG, AT_VERB_PKAM, AT_PERR_SYNTAX},
    {"pkam:hashingAlgo:md5:" SIG, AT_VERB_PKAM, AT_PERR_SYNTAX},
    {"pkam:hashingAlgo:sha256:signingAlgo:rsa2048:" SIG, AT_VERB_PKAM, AT_PERR_SYNTAX},
    {"pkam:enrollmentId:" UUID ":", AT_VERB_PKAM, AT_PERR_SYNTAX},
    {"pkam:enrollmentId:" UUID, AT_VERB_PKAM, AT_PERR_SYNTAX},
    {"pkam:abc:def", AT_VERB_PKAM, AT_PERR_SYNTAX},
    /* 3.4 pol */
    {"pol", AT_VERB_POL, AT_PERR_NONE},
    {"POL", AT_VERB_POL, AT_PERR_NONE},
    {"lookup:all:publickey@bob", AT_VERB_LOOKUP, AT_PERR_NONE},
    {"lookup:_4af24c03-d732-48f8-a9a2-570e8fb6a01c@alice", AT_VERB_LOOKUP, AT_PERR_NONE},
    {"lookup:signing_publickey@alice", AT_VERB_LOOKUP, AT_PERR_NONE},
    /* 3.6 / 13 / A.5 onboarding */
    {"update:privatekey:at_pkam_publickey MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
     AT_VERB_UPDATE, AT_PERR_NONE},
    {"update:public:publickey@alice MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", AT_VERB_UPDATE,
     AT_PERR_NONE},
    {"update:public:pkaminstalled@alice yes", AT_VERB_UPDATE, AT_PERR_NONE},
    {"update:isEncrypted:false:public:publickey@alice MIIB", AT_VERB_UPDATE, AT_PERR_NONE},
    {"delete:privatekey:at_secret", AT_VERB_DELETE, AT_PERR_NONE},
    {"enroll:request:{\"appName\":\"wavi\",\"deviceName\":\"pixel\",\"apkamPublicKey\":\"MIIB\","
     "\"encryptedDefaultEncryptionPrivateKey\":\"x\",\"encryptedDefaultSelfEncryptionKey\":\"y\"}",
     AT_VERB_ENROLL, AT_PERR_NONE},
    {"keys:get:keyName:" UUID ".default_enc_private_key.__manage@alice", AT_VERB_KEYS,
     AT_PERR_NONE},
    /* 6.1 update */
    {"update:public:location.wavi@alice London", AT_VERB_UPDATE, AT_PERR_NONE},
    {"update:ttl:60000:isEncrypted:true:ivNonce:" IV ":@bob:msg.app@alice " B64, AT_VERB_UPDATE,
     AT_PERR_NONE},
    {"update:shared_key.bob@alice " B64, AT_VERB_UPDATE, AT_PERR_NONE},
    {"update:ttr:3888000:@bob:shared_key@alice " B64, AT_VERB_UPDATE, AT_PERR_NONE},
    {"update:@bob:shared_key@alice " B64, AT_VERB_UPDATE, AT_PERR_NONE},
    {"update:ivNonce:" IV ":k.ns@alice " B64, AT_VERB_UPDATE, AT_PERR_NONE},
    {"update:ivNonce:" IV ":@other:k.ns@alice " B64, AT_VERB_UPDATE, AT_PERR_NONE},
    {"update:json:{\"atKey\":\"phone\",\"value\":\"1\",\"sharedBy\":\"@alice\"}", AT_VERB_UPDATE,
     AT_PERR_NONE},
    {"update:_hidden x", AT_VERB_UPDATE, AT_PERR_NONE},
    {"update:phone x", AT_VERB_UPDATE, AT_PERR_NONE}, /* parses; type invalid -> AT0016 */
    {"update:public:location.wavi@alice", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:public:location.wavi@alice ", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:cached:public:x@alice v", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:private:x@alice v", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:local:x@alice v", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:privatekey:at_secret v", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:ttl:-1:x@alice v", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:ttl:1:ttl:2:x@alice v", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:ttr:-2:x@alice v", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:ccd:maybe:x@alice v", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:bogus:1:x@alice v", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:ttl:1000", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:json:[1]", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    {"update:x@al!ce v", AT_VERB_UPDATE, AT_PERR_SYNTAX},
    /* 6.2 update:meta */
    {"update:meta:@bob:phone.wavi@alice:ttl:60000:ttr:-1", AT_VERB_UPDATE_META, AT_PERR_NONE},
    {"update:meta:public:location.wavi@alice:ttl:1", AT_VERB_UPDATE_META, AT_PERR_NONE},
    {"update:meta:phone@alice", AT_VERB_UPDATE_META, AT_PERR_NONE},
    {"update:meta:phone@alice:isEncrypted:true:ttl:5", AT_VERB_UPDATE_META, AT_PERR_NONE},
    {"update:meta:phone@alice:bogus:5", AT_VERB_UPDATE_META, AT_PERR_SYNTAX},
    {"update:meta:phone", AT_VERB_UPDATE_META, AT_PERR_SYNTAX},
    {"update:meta:phone@alice:ttl", AT_VERB_UPDATE_META, AT_PERR_SYNTAX},
    /* 6.3 llookup */
    {"llookup:public:publickey@alice", AT_VERB_LLOOKUP, AT_PERR_NONE},
    {"llookup:shared_key.bob@alice", AT_VERB_LLOOKUP, AT_PERR_NONE},
    {"llookup:all:@bob:msg.app@alice", AT_VERB_LLOOKUP, AT_PERR_NONE},
    {"llookup:cached:@alice:shared_key@bob", AT_VERB_LLOOKUP, AT_PERR_NONE},
    {"llookup:privatekey:at_pkam_publickey", AT_VERB_LLOOKUP, AT_PERR_NONE},
    {"llookup:meta:phone.wavi@alice", AT_VERB_LLOOKUP, AT_PERR_NONE},
    {"llookup:all:k.ns@alice", AT_VERB_LLOOKUP, AT_PERR_NONE},
    {"llookup:all:@other:k.ns@alice", AT_VERB_LLOOKUP, AT_PERR_NONE},
    {"llookup:phone", AT_VERB_LLOOKUP, AT_PERR_SYNTAX},
    {"llookup:", AT_VERB_LLOOKUP, AT_PERR_SYNTAX},
    {"llookup:private:blocklist@alice", AT_VERB_LLOOKUP, AT_PERR_SYNTAX},
    {"llookup:all:meta:x@alice", AT_VERB_LLOOKUP, AT_PERR_SYNTAX},
    /* 6.4 lookup */
    {"lookup:shared_key@alice", AT_VERB_LOOKUP, AT_PERR_NONE},
    {"lookup:all:ssh_request.dev.sshnp@alice", AT_VERB_LOOKUP, AT_PERR_NONE},
    {"lookup:publickey@alice", AT_VERB_LOOKUP, AT_PERR_NONE},
    {"lookup:bypassCache:true:all:publickey@alice", AT_VERB_LOOKUP, AT_PERR_NONE},
    {"lookup:meta:publickey@alice", AT_VERB_LOOKUP, AT_PERR_NONE},
    {"lookup:all:k.ns@other", AT_VERB_LOOKUP, AT_PERR_NONE},
    {"lookup:publickey", AT_VERB_LOOKUP, AT_PERR_SYNTAX},
    {"lookup:public:publickey@alice", AT_VERB_LOOKUP, AT_PERR_SYNTAX},
    {"lookup:bypassCache:maybe:publickey@alice", AT_VERB_LOOKUP, AT_PERR_SYNTAX},
    /* 6.5 plookup */
    {"plookup:publickey@bob", AT_VERB_PLOOKUP, AT_PERR_NONE},
    {"plookup:all:publickey@bob", AT_VERB_PLOOKUP, AT_PERR_NONE},
    {"plookup:bypassCache:true:all:publickey@bob", AT_VERB_PLOOKUP, AT_PERR_NONE},
    {"plookup:bypassCache:false:publickey@bob", AT_VERB_PLOOKUP, AT_PERR_NONE},
    {"plookup:bypassCache:true:all:k.ns@other", AT_VERB_PLOOKUP, AT_PERR_NONE},
    {"plookup:@bob:x@alice", AT_VERB_PLOOKUP, AT_PERR_SYNTAX},
    /* 6.6 scan */
    {"scan", AT_VERB_SCAN, AT_PERR_NONE},
    {"scan:showHidden:true", AT_VERB_SCAN, AT_PERR_NONE},
    {"scan:showHidden:false .*", AT_VERB_SCAN, AT_PERR_NONE},
    {"scan \\.sshnp@", AT_VERB_SCAN, AT_PERR_NONE},
    {"scan:@bob", AT_VERB_SCAN, AT_PERR_NONE},
    {"scan:showHidden:true:@bob:page:2 .*", AT_VERB_SCAN, AT_PERR_NONE},
    {"scanner", AT_VERB_SCAN, AT_PERR_SYNTAX},
    {"scan:showHidden:maybe", AT_VERB_SCAN, AT_PERR_SYNTAX},
    {"scan:page:x", AT_VERB_SCAN, AT_PERR_SYNTAX},
    {"scan .*:x", AT_VERB_SCAN, AT_PERR_SYNTAX}, /* Dart normalisation eats the space */
    /* 6.7 delete */
    {"delete:@bob:k.ns@alice", AT_VERB_DELETE, AT_PERR_NONE},
    {"delete:public:k@alice", AT_VERB_DELETE, AT_PERR_NONE},
    {"delete:priority:high:cached:@alice:shared_key@bob", AT_VERB_DELETE, AT_PERR_NONE},
    {"delete:cached:public:publickey@bob", AT_VERB_DELETE, AT_PERR_NONE},
    {"delete:_hidden", AT_VERB_DELETE, AT_PERR_NONE},
    {"delete:", AT_VERB_DELETE, AT_PERR_SYNTAX},
    {"delete:priority:urgent:x@alice", AT_VERB_DELETE, AT_PERR_SYNTAX},
    {"delete:private:blocklist@alice", AT_VERB_DELETE, AT_PERR_SYNTAX},
    /* 6.8 notify */
    {"notify:id:" UUID ":update:messageType:key:priority:low:strategy:all:notifier:SYSTEM:ttln:"
     "60000:ttl:10000:isEncrypted:true:sharedKeyEnc:" B64 ":pubKeyCS:0a1b2c3d4e5f:ivNonce:" IV
     ":@device:ssh_request.dev.sshnp@client:" B64,
     AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:update:ttl:10000:isEncrypted:true:ivNonce:" IV
     ":@client:heartbeat.dev.sshnp@device:" B64,
     AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:update:ttl:10000:isEncrypted:true:ivNonce:" IV ":@bob:ping.dev.sshnp@alice:" B64,
     AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:messageType:text:@bob:hello", AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:message_type:key:@bob:k@alice:v", AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:id:" UUID ":update:messageType:key:priority:low:strategy:all:notifier:SYSTEM:ttln:"
     "86400000:@to:key@me:value",
     AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:delete:@bob:k@alice", AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:@bob:k@alice", AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:public:k@alice:v", AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:strategy:latest:latestN:3:notifier:app1:@bob:k@alice:v", AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:@bob", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:@bob:", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:bob:k@alice", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:@bob:k@alice:", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:@bob:a::b@alice:v", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:@bob:k@al ice:v", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:messageType:blob:@bob:k@alice", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:priority:urgent:@bob:k@alice", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:id:a b:@bob:k@alice", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:id:x:id:y:@bob:k@alice", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:update:delete:@bob:k@alice", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:ttln:-5:@bob:k@alice", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:ttl:1:ttl:2:@bob:k@alice", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    {"notify:ttl:10000", AT_VERB_NOTIFY, AT_PERR_SYNTAX},
    /* 7.2 / A.3 forwarded bodies */
    {"notify:id:5f2e9a7c-1b3d-4e5f-8a9b-0c1d2e3f4a5b:update:messageType:key:notifier:SYSTEM:ttln:"
     "60000:ttl:10000:ttb:0:isEncrypted:true:ivNonce:" IV ":@bob:ping.dev.sshnp@alice:" B64,
     AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:id:" UUID ":update:messageType:key:notifier:SYSTEM:ttln:900000:ttl:10000:ttb:0:"
     "isEncrypted:true:ivNonce:" IV ":@bob:ping.dev.sshnp@alice:" B64,
     AT_VERB_NOTIFY, AT_PERR_NONE},
    {"notify:id:" UUID ":delete:messageType:key:notifier:system:ttln:900000:@bob:k@alice",
     AT_VERB_NOTIFY, AT_PERR_NONE},
    /* 6.9 */
    {"notify:status:" UUID, AT_VERB_NOTIFY_STATUS, AT_PERR_NONE},
    {"notify:status:", AT_VERB_NOTIFY_STATUS, AT_PERR_SYNTAX},
    {"notify:status", AT_VERB_NOTIFY_STATUS, AT_PERR_SYNTAX},
    {"notify:list", AT_VERB_NOTIFY_LIST, AT_PERR_NONE},
    {"notify:list:2024-10-01", AT_VERB_NOTIFY_LIST, AT_PERR_NONE},
    {"notify:list:2024-10-01:2024-10-24", AT_VERB_NOTIFY_LIST, AT_PERR_NONE},
    {"notify:list:2024-10-01:2024-10-24:.*sshnp", AT_VERB_NOTIFY_LIST, AT_PERR_NONE},
    {"notify:list:.*sshnp", AT_VERB_NOTIFY_LIST, AT_PERR_NONE},
    {"notify:list:2024-02-30", AT_VERB_NOTIFY_LIST, AT_PERR_ILLEGAL_ARG},
    {"notify:listx", AT_VERB_NOTIFY_LIST, AT_PERR_SYNTAX},
    {"notify:fetch:" UUID, AT_VERB_NOTIFY_FETCH, AT_PERR_NONE},
    {"notify:fetch", AT_VERB_NOTIFY_FETCH, AT_PERR_SYNTAX},
    {"notify:remove:" UUID, AT_VERB_NOTIFY_REMOVE, AT_PERR_NONE},
    {"notify:remove:", AT_VERB_NOTIFY_REMOVE, AT_PERR_SYNTAX},
    {"notify:all:update:messageType:key:ttl:1000:@a,@b,@c:k.ns@alice:v", AT_VERB_NOTIFY_ALL,
     AT_PERR_NONE},
    {"notify:all:@a:k@alice", AT_VERB_NOTIFY_ALL, AT_PERR_NONE},
    {"notify:all:messageType:text:@a,@b:hello there", AT_VERB_NOTIFY_ALL, AT_PERR_NONE},
    {"notify:all:@a,:k@alice", AT_VERB_NOTIFY_ALL, AT_PERR_SYNTAX},
    {"notify:all:bogus:1:@a:k@alice", AT_VERB_NOTIFY_ALL, AT_PERR_SYNTAX},
    /* 6.10 monitor */
    {"monitor", AT_VERB_MONITOR, AT_PERR_NONE},
    {"monitor \\.sshnp", AT_VERB_MONITOR, AT_PERR_NONE},
    {"monitor:selfNotifications:1729730000000 .*\\.sshnp", AT_VERB_MONITOR, AT_PERR_NONE},
    {"monitor:strict:selfNotifications:multiplexed:1729730000000", AT_VERB_MONITOR, AT_PERR_NONE},
    {"monitor:1729730000000", AT_VERB_MONITOR, AT_PERR_NONE},
    {"monitor:bogus", AT_VERB_MONITOR, AT_PERR_SYNTAX},
    {"monitor:strict:strict", AT_VERB_MONITOR, AT_PERR_SYNTAX},
    {"monitor:-5", AT_VERB_MONITOR, AT_PERR_SYNTAX},
    {"monitorx", AT_VERB_MONITOR, AT_PERR_SYNTAX},
    /* 6.11 */
    {"stats", AT_VERB_STATS, AT_PERR_NONE},
    {"stats:3", AT_VERB_STATS, AT_PERR_NONE},
    {"stats:3:.*\\.wavi", AT_VERB_STATS, AT_PERR_NONE},
    {"stats:1,2,3,15", AT_VERB_STATS, AT_PERR_NONE},
    {"stats:3,", AT_VERB_STATS, AT_PERR_SYNTAX},
    {"stats:0", AT_VERB_STATS, AT_PERR_SYNTAX},
    {"stats:99", AT_VERB_STATS, AT_PERR_SYNTAX},
    {"stats:", AT_VERB_STATS, AT_PERR_SYNTAX},
    {"statsx", AT_VERB_STATS, AT_PERR_SYNTAX},
    {"info", AT_VERB_INFO, AT_PERR_NONE},
    {"info:brief", AT_VERB_INFO, AT_PERR_NONE},
    {"INFO", AT_VERB_INFO, AT_PERR_NONE},
    {"noop:0", AT_VERB_NOOP, AT_PERR_NONE},
    {"noop:5000", AT_VERB_NOOP, AT_PERR_NONE},
    {"noop:5001", AT_VERB_NOOP, AT_PERR_ILLEGAL_ARG},
    {"noop:99999999999999999999999", AT_VERB_NOOP, AT_PERR_ILLEGAL_ARG},
    {"noop:", AT_VERB_NOOP, AT_PERR_SYNTAX},
    {"noop:-1", AT_VERB_NOOP, AT_PERR_SYNTAX},
    {"noop:1s", AT_VERB_NOOP, AT_PERR_SYNTAX},
    {"config:block:add:@eve", AT_VERB_CONFIG, AT_PERR_NONE},
    {"config:block:add:@eve @mallory", AT_VERB_CONFIG, AT_PERR_NONE},
    {"config:block:remove:@eve", AT_VERB_CONFIG, AT_PERR_NONE},
    {"config:block:show", AT_VERB_CONFIG, AT_PERR_NONE},
    {"config:allow:add:@bob", AT_VERB_CONFIG, AT_PERR_NONE},
    {"config:allow:show", AT_VERB_CONFIG, AT_PERR_NONE},
    {"config:set:inbound_max_limit=10", AT_VERB_CONFIG, AT_PERR_NONE},
    {"config:reset:inbound_max_limit", AT_VERB_CONFIG, AT_PERR_NONE},
    {"config:print:inbound_max_limit", AT_VERB_CONFIG, AT_PERR_NONE},
    {"config:block:add:", AT_VERB_CONFIG, AT_PERR_SYNTAX},
    {"config:block:add:eve", AT_VERB_CONFIG, AT_PERR_SYNTAX},
    {"config:block:show:x", AT_VERB_CONFIG, AT_PERR_SYNTAX},
    {"config:block:list", AT_VERB_CONFIG, AT_PERR_SYNTAX},
    {"config:deny:add:@x", AT_VERB_CONFIG, AT_PERR_SYNTAX},
    /* 6.12 */
    {"sync:from:-1:limit:25", AT_VERB_SYNC_FROM, AT_PERR_NONE},
    {"sync:from:7:limit:100:.*\\.wavi", AT_VERB_SYNC_FROM, AT_PERR_NONE},
    {"sync:from:7", AT_VERB_SYNC_FROM, AT_PERR_SYNTAX},
    {"sync:from:-2:limit:1", AT_VERB_SYNC_FROM, AT_PERR_SYNTAX},
    {"batch:[{\"id\":1,\"command\":\"update:public:x@alice 1\"}]", AT_VERB_BATCH, AT_PERR_NONE},
    {"batch:{}", AT_VERB_BATCH, AT_PERR_SYNTAX},
    {"keys:put:public:namespace:wavi:keyName:k1 value with spaces", AT_VERB_KEYS, AT_PERR_NONE},
    {"keys:delete:keyName:k1", AT_VERB_KEYS, AT_PERR_NONE},
    {"keys:fetch:keyName:k1", AT_VERB_KEYS, AT_PERR_SYNTAX},
    {"keys:put:bogus:1", AT_VERB_KEYS, AT_PERR_SYNTAX},
    {"otp:get", AT_VERB_OTP, AT_PERR_NONE},
    {"otp:get:ttl:60000", AT_VERB_OTP, AT_PERR_NONE},
    {"otp:put:ABC123", AT_VERB_OTP, AT_PERR_NONE},
    {"otp:put:ABC123:ttl:60000", AT_VERB_OTP, AT_PERR_NONE},
    {"otp:put:", AT_VERB_OTP, AT_PERR_SYNTAX},
    {"otp:get:ttl:x", AT_VERB_OTP, AT_PERR_SYNTAX},
    {"enroll:approve:{\"enrollmentId\":\"" UUID "\"}", AT_VERB_ENROLL, AT_PERR_NONE},
    {"enroll:list", AT_VERB_ENROLL, AT_PERR_NONE},
    {"enroll:revoke:force:{\"enrollmentId\":\"x\"}", AT_VERB_ENROLL, AT_PERR_NONE},
    {"enroll:delete:force", AT_VERB_ENROLL, AT_PERR_NONE},
    {"enroll:reject:{}", AT_VERB_ENROLL, AT_PERR_SYNTAX},
    {"enroll:request:not json", AT_VERB_ENROLL, AT_PERR_SYNTAX},
    {"stream:init@bob namespace 1 12", AT_VERB_STREAM, AT_PERR_NONE},
    /* 11.3 at_c */
    {"scan:showHidden:true .*", AT_VERB_SCAN, AT_PERR_NONE},
    {"notify:id:" UUID ":update:message_type:key:priority:low:strategy:all:ttln:5000:ttl:10000:"
     "@bob:k@alice:v",
     AT_VERB_NOTIFY, AT_PERR_NONE},
};

void test_verb_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const struct line_case *c = &lines[i];
        struct at_cmd cmd;
        int rc = at_verb_parse(c->line, strlen(c->line), &cmd);
        if (cmd.verb != c->verb || cmd.err != c->err)
            fail_msg("case %zu '%s': verb %s err %d, want %s err %d", i, c->line,
                     at_verb_info(cmd.verb)->name, cmd.err, at_verb_info(c->verb)->name, c->err);
        assert_int_equal(rc == 0, c->err == AT_PERR_NONE);
        if (c->err == AT_PERR_ILLEGAL_ARG)
            assert_int_equal(rc, NP_ERR_INVAL);
        else if (c->err != AT_PERR_NONE)
            assert_int_equal(rc, NP_ERR_FORMAT);
        at_cmd_free(&cmd);
    }
}
