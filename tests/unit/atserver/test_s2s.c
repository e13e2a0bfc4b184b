/*
 * Unit tests for the server-to-server helpers (src/atserver/s2s.c) and the
 * in-process parts of remote.c:
 *   - the forwarded notify line of a sent record: exact field order of
 *     atprotocol.md 7.2 with all, some and no optional parts, text
 *     messages, and that our own grammar parses it back;
 *   - the from/pol proof: parsing "proof:<sid><@me>:<proof>", signing and
 *     verifying (RSA-SHA256 PKCS#1 v1.5), forged signatures;
 *   - remote answers: lookup:all JSON into an entry, scan arrays;
 *   - on a memory server: from:@other + pol verified in-process against
 *     the claimed atSign's signing key, the pol visibility afterwards, and
 *     the cached public key with its change handling (8.2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atserver.h"
#include "conn.h"
#include "keystore.h"
#include "kv.h"
#include "notify_store.h"
#include "remote.h"
#include "s2s.h"
#include "server.h"
#include "store_test_util.h"

#include "at/metadata.h"
#include "at/verb.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <event2/event.h>

/* ---- the forwarded notify line ---- */

static char *meta_json(struct at_metadata *md)
{
    char *json = NULL;

    at_metadata_compute_dates(md, 1729730000123LL); /* dates must not leak into the line */
    assert_int_equal(at_metadata_to_json(md, false, &json), 0);
    at_metadata_clear(md);
    return json;
}

static void record(struct ns_record *rec, const char *id, const char *key, const char *value,
                   const char *meta)
{
    memset(rec, 0, sizeof(*rec));
    rec->id = id;
    rec->from_atsign = "@alice";
    rec->to_atsign = "@bob";
    rec->key = key;
    rec->type = NS_TYPE_SENT;
    rec->op = NS_OP_UPDATE;
    rec->message_type = NS_MSG_KEY;
    rec->status = NS_STATUS_QUEUED;
    rec->notifier = "SYSTEM";
    rec->value = value;
    rec->meta_json = meta;
    rec->ttl_ms = 60000;
}

static void expect_line(const struct ns_record *rec, const char *want)
{
    struct np_buf *b = np_buf_new(65536);

    assert_non_null(b);
    assert_int_equal(s2s_notify_line(rec, b), 0);
    assert_string_equal(np_buf_ptr(b), want);
    np_buf_free(b);
}

static void test_notify_line_full(void **state)
{
    struct at_metadata md;
    struct ns_record rec;
    char *json;

    (void)state;
    at_metadata_init(&md);
    /* set in an order different from the wire order */
    assert_int_equal(at_metadata_set_str(&md, AT_MD_SKE_ENC_ALGO, "RSA"), 0);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_IV_NONCE, "EBESExQVFhcYGRobHB0eHw=="), 0);
    assert_int_equal(at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED, true), 0);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_SKE_ENC_KEY_NAME, "skn"), 0);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_ENC_ALGO, "AES"), 0);
    assert_int_equal(at_metadata_set_bool(&md, AT_MD_CCD, true), 0);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTR, 3600), 0);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_ENC_KEY_NAME, "ekn"), 0);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_PUB_KEY_CS, "abc123"), 0);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_SHARED_KEY_ENC, "c2tl"), 0);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTB, 5), 0);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTL, 10000), 0);
    json = meta_json(&md);
    record(&rec, "n1", "@bob:ping.dev.sshnp@alice", "dmFsdWU=", json);
    expect_line(&rec, "notify:id:n1:update:messageType:key:notifier:SYSTEM:ttln:60000:ttl:10000:"
                      "ttb:5:ttr:3600:ccd:true:isEncrypted:true:sharedKeyEnc:c2tl:pubKeyCS:abc123:"
                      "encKeyName:ekn:encAlgo:AES:ivNonce:EBESExQVFhcYGRobHB0eHw==:"
                      "skeEncKeyName:skn:skeEncAlgo:RSA:@bob:ping.dev.sshnp@alice:dmFsdWU=");
    np_free(json);
}

static void test_notify_line_parts(void **state)
{
    struct at_metadata md;
    struct ns_record rec;
    char *json;

    (void)state;
    /* the notify verb: ttl and ttb always (0), isEncrypted, ivNonce */
    at_metadata_init(&md);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTL, 0), 0);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTB, 0), 0);
    assert_int_equal(at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED, true), 0);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_IV_NONCE, "AbC="), 0);
    json = meta_json(&md);
    record(&rec, "5f", "@bob:ping.dev.sshnp@alice", "v", json);
    rec.ttl_ms = 900000;
    expect_line(&rec, "notify:id:5f:update:messageType:key:notifier:SYSTEM:ttln:900000:ttl:0:"
                      "ttb:0:isEncrypted:true:ivNonce:AbC=:@bob:ping.dev.sshnp@alice:v");
    np_free(json);
    /* an auto-notification: notifier system, only what the key had; ttr
     * without ccd gives ccd:false */
    at_metadata_init(&md);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTR, -1), 0);
    assert_int_equal(at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED, false), 0);
    json = meta_json(&md);
    record(&rec, "a1", "@bob:shared_key@alice", "s", json);
    rec.notifier = "system";
    expect_line(&rec, "notify:id:a1:update:messageType:key:notifier:system:ttln:60000:ttr:-1:"
                      "ccd:false:isEncrypted:false:@bob:shared_key@alice:s");
    np_free(json);
    /* the delete auto-notification: no metadata at all, no value */
    record(&rec, "d1", "@bob:k@alice", NULL, NULL);
    rec.op = NS_OP_DELETE;
    rec.notifier = "system";
    expect_line(&rec,
                "notify:id:d1:delete:messageType:key:notifier:system:ttln:60000:@bob:k@alice");
    /* a text message */
    at_metadata_init(&md);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTL, 0), 0);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTB, 0), 0);
    assert_int_equal(at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED, false), 0);
    json = meta_json(&md);
    record(&rec, "t1", "@bob:hello", NULL, json);
    rec.message_type = NS_MSG_TEXT;
    expect_line(&rec, "notify:id:t1:update:messageType:text:notifier:SYSTEM:ttln:60000:ttl:0:ttb:0:"
                      "isEncrypted:false:@bob:hello");
    np_free(json);
}

static void test_notify_line_parses_back(void **state)
{
    struct at_metadata md;
    struct ns_record rec;
    struct at_cmd cmd;
    struct np_buf *b = np_buf_new(65536);
    char *json;

    (void)state;
    at_metadata_init(&md);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTL, 10000), 0);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTB, 0), 0);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTR, 5), 0);
    assert_int_equal(at_metadata_set_bool(&md, AT_MD_CCD, true), 0);
    assert_int_equal(at_metadata_set_bool(&md, AT_MD_IS_ENCRYPTED, true), 0);
    assert_int_equal(at_metadata_set_str(&md, AT_MD_IV_NONCE, "EBESExQVFhcYGRobHB0eHw=="), 0);
    json = meta_json(&md);
    record(&rec, "9d1c", "@bob:ping.dev.sshnp@alice", "a:b c", json);
    assert_int_equal(s2s_notify_line(&rec, b), 0);
    assert_int_equal(at_verb_parse(np_buf_ptr(b), np_buf_len(b), &cmd), 0);
    assert_int_equal(cmd.verb, AT_VERB_NOTIFY);
    assert_string_equal(cmd.u.notify.id, "9d1c");
    assert_true(cmd.u.notify.has_ttln);
    assert_int_equal(cmd.u.notify.ttln, 60000);
    assert_string_equal(cmd.u.notify.notifier, "SYSTEM");
    assert_string_equal(cmd.u.notify.to, "@bob");
    assert_string_equal(cmd.u.notify.key, "ping.dev.sshnp");
    assert_string_equal(cmd.u.notify.from, "@alice");
    assert_string_equal(cmd.u.notify.value, "a:b c");
    assert_int_equal(cmd.md.ttl, 10000);
    assert_int_equal(cmd.md.ttr, 5);
    assert_true(cmd.md.ccd);
    assert_string_equal(cmd.md.iv_nonce, "EBESExQVFhcYGRobHB0eHw==");
    at_cmd_free(&cmd);
    /* a value with a newline cannot go on the wire */
    record(&rec, "x", "@bob:k@alice", "a\nb", NULL);
    np_buf_reset(b);
    assert_int_equal(s2s_notify_line(&rec, b), NP_ERR_INVAL);
    /* unreadable stored metadata */
    record(&rec, "x", "@bob:k@alice", "v", "{not json");
    np_buf_reset(b);
    assert_int_equal(s2s_notify_line(&rec, b), NP_ERR_FORMAT);
    np_free(json);
    np_buf_free(b);
}

/* ---- the proof ---- */

static void test_parse_proof(void **state)
{
    char sid[S2S_SID_KEY_BUF], proof[S2S_PROOF_MAX + 1];
    const char *ok = "proof:_4af24c03-d732-48f8-a9a2-570e8fb6a01c@alice:0f3e-uuid";
    char big[400];

    (void)state;
    assert_int_equal(s2s_parse_proof(ok, strlen(ok), "@alice", sid, proof), 0);
    assert_string_equal(sid, "_4af24c03-d732-48f8-a9a2-570e8fb6a01c@alice");
    assert_string_equal(proof, "0f3e-uuid");
    /* another atSign, missing parts, bad characters */
    assert_int_equal(s2s_parse_proof(ok, strlen(ok), "@bob", sid, proof), NP_ERR_FORMAT);
    assert_string_equal(sid, "");
    assert_int_equal(s2s_parse_proof("proof:_x@alice:", 15, "@alice", sid, proof), NP_ERR_FORMAT);
    assert_int_equal(s2s_parse_proof("proof:@alice:p", 14, "@alice", sid, proof), NP_ERR_FORMAT);
    assert_int_equal(s2s_parse_proof("_x@alice:p", 10, "@alice", sid, proof), NP_ERR_FORMAT);
    assert_int_equal(s2s_parse_proof("proof:_x/y@alice:p", 18, "@alice", sid, proof),
                     NP_ERR_FORMAT);
    assert_int_equal(s2s_parse_proof("proof:_x@alice:p q", 18, "@alice", sid, proof),
                     NP_ERR_FORMAT);
    assert_int_equal(s2s_parse_proof("proof:_x@alice:p:q", 18, "@alice", sid, proof),
                     NP_ERR_FORMAT);
    snprintf(big, sizeof(big), "proof:_x@alice:%0200d", 7);
    assert_int_equal(s2s_parse_proof(big, strlen(big), "@alice", sid, proof), NP_ERR_FORMAT);
    assert_int_equal(s2s_parse_proof(NULL, 0, "@alice", sid, proof), NP_ERR_INVAL);
}

static void test_sign_verify(void **state)
{
    struct np_rsa_key *k = NULL, *other = NULL;
    char *priv = NULL, *pub = NULL, *opub = NULL, *sig = NULL;

    (void)state;
    assert_int_equal(np_rsa_generate(&k), 0);
    assert_int_equal(np_rsa_generate(&other), 0);
    assert_int_equal(np_rsa_private_b64(k, &priv), 0);
    assert_int_equal(np_rsa_public_b64(k, &pub), 0);
    assert_int_equal(np_rsa_public_b64(other, &opub), 0);
    assert_int_equal(s2s_sign_proof(priv, "0f3e-proof", &sig), 0);
    assert_int_equal(strlen(sig), 344);
    assert_int_equal(s2s_verify_proof(pub, "0f3e-proof", sig), 0);
    /* the same signature for another proof, or checked with another key */
    assert_int_equal(s2s_verify_proof(pub, "0f3e-proog", sig), NP_ERR_VERIFY);
    assert_int_equal(s2s_verify_proof(opub, "0f3e-proof", sig), NP_ERR_VERIFY);
    /* unusable texts */
    assert_true(s2s_verify_proof("not a key", "0f3e-proof", sig) < 0);
    assert_true(s2s_verify_proof(pub, "0f3e-proof", "!!!") < 0);
    np_free(sig);
    assert_true(s2s_sign_proof(pub, "x", &sig) < 0); /* a public key cannot sign */
    assert_null(sig);
    np_freezero_str(priv);
    np_free(pub);
    np_free(opub);
    np_rsa_free(k);
    np_rsa_free(other);
}

/* ---- remote answers ---- */

static void test_answers(void **state)
{
    static const char all[] = "{\"key\":\"@alice:k@bob\",\"data\":\"v:1\",\"metaData\":{"
                              "\"createdBy\":\"@bob\",\"ttr\":-1,\"isEncrypted\":false}}";
    struct ks_entry *e = NULL;
    struct at_metadata md;
    char **keys = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(s2s_entry_from_all(all, strlen(all), &e), 0);
    assert_string_equal(e->key, "@alice:k@bob");
    assert_string_equal(e->value, "v:1");
    assert_true(e->active);
    assert_int_equal(kv_entry_metadata(e, &md), 0);
    assert_int_equal(md.ttr, -1);
    assert_string_equal(md.created_by, "@bob");
    at_metadata_clear(&md);
    ks_entry_free(e);
    /* members in another order, data null, no metaData */
    assert_int_equal(s2s_entry_from_all("{\"data\":null,\"key\":\"k\"}", 24, &e), 0);
    assert_null(e->value);
    assert_null(e->meta_json);
    ks_entry_free(e);
    e = NULL;
    assert_int_equal(s2s_entry_from_all("{\"key\":\"k\"}", 11, &e), NP_ERR_FORMAT);
    assert_null(e);
    assert_int_equal(s2s_entry_from_all("{\"data\":5}", 10, &e), NP_ERR_FORMAT);
    assert_int_equal(s2s_entry_from_all("[1]", 3, &e), NP_ERR_FORMAT);
    assert_int_equal(s2s_entry_from_all("{\"data\":\"x\"", 11, &e), NP_ERR_FORMAT);

    assert_int_equal(s2s_keys_from_json("[\"a@bob\",\"b.ns@bob\"]", 20, &keys, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0], "a@bob");
    assert_string_equal(keys[1], "b.ns@bob");
    np_free(keys[0]);
    np_free(keys[1]);
    np_free(keys);
    assert_int_equal(s2s_keys_from_json("[]", 2, &keys, &n), 0);
    assert_int_equal(n, 0);
    np_free(keys);
    assert_int_equal(s2s_keys_from_json("[\"a\",1]", 7, &keys, &n), NP_ERR_FORMAT);
    assert_null(keys);
    assert_int_equal(s2s_keys_from_json("{}", 2, &keys, &n), NP_ERR_FORMAT);
}

/* ---- a memory server: pol in-process, cached public keys ---- */

struct fx {
    char dir[256];
    struct event_base *base;
    struct as_server *srv;
    struct as_host *alice, *bob;
};

static struct fx F;

static int srv_setup(void **state)
{
    struct as_config cfg;

    (void)state;
    tu_mkdtemp(F.dir, sizeof(F.dir));
    as_config_defaults(&cfg);
    cfg.client_cert_required = false;
    if ((F.base = event_base_new()) == NULL || as_server_new(F.base, &cfg, NULL, &F.srv) != 0 ||
        as_server_add_host(F.srv, F.dir, "@alice", 0, false, &F.alice) != 0 ||
        as_server_add_host(F.srv, F.dir, "@bob", 0, false, &F.bob) != 0)
        return -1;
    return 0;
}

static int srv_teardown(void **state)
{
    (void)state;
    as_server_free(F.srv);
    event_base_free(F.base);
    return tu_rmtree(F.dir);
}

static struct as_conn *mconn(struct as_host *h)
{
    struct as_conn *c = NULL;

    assert_int_equal(conn_new_memory(h, &c), 0);
    np_buf_reset(conn_memory_output(c));
    return c;
}

static void feed(struct as_conn *c, const char *s)
{
    conn_feed(c, s, strlen(s));
}

static void expect(struct as_conn *c, const char *want)
{
    assert_string_equal(np_buf_ptr(conn_memory_output(c)), want);
    np_buf_reset(conn_memory_output(c));
}

/* from:@alice on bob's server: the proof (after the ':' of the sid key). */
static void from_alice(struct as_conn *c, char *sid_key, size_t ks, char *proof, size_t ps)
{
    const char *out, *colon;

    feed(c, "from:@alice\n");
    out = np_buf_ptr(conn_memory_output(c));
    assert_true(strncmp(out, "data:proof:_", 12) == 0);
    colon = strstr(out, "@alice:");
    assert_non_null(colon);
    colon += 6;
    snprintf(sid_key, ks, "%.*s", (int)(colon - out - 11), out + 11);
    snprintf(proof, ps, "%.*s", (int)(strcspn(colon + 1, "\n")), colon + 1);
    np_buf_reset(conn_memory_output(c));
}

/* Publish public:<sid_key> = signature of proof by key on alice's store. */
static void publish(const struct np_rsa_key *k, const char *sid_key, const char *proof)
{
    struct at_metadata md;
    char key[256], *sig = NULL;

    at_metadata_init(&md);
    assert_int_equal(at_metadata_set_int(&md, AT_MD_TTL, 60000), 0);
    assert_int_equal(np_rsa_sign_b64(k, NP_HASH_SHA256, proof, strlen(proof), &sig), 0);
    snprintf(key, sizeof(key), "public:%s", sid_key);
    assert_int_equal(
        kv_put(F.alice, key, sig, KV_SET_VALUE, &md, KS_OP_UPDATE, np_wall_ms(), NULL, NULL), 0);
    at_metadata_clear(&md);
    np_free(sig);
}

static void test_pol_in_process(void **state)
{
    struct as_conn *c = mconn(F.bob);
    struct ks_entry *e = NULL;
    struct np_rsa_key *signing = NULL, *other = NULL;
    char sid_key[128], proof[128];

    (void)state;
    assert_int_equal(kv_put_simple(F.bob, "@alice:shared.app@bob", "for-alice", np_wall_ms()), 0);
    assert_int_equal(kv_put_simple(F.bob, "public:pub.app@bob", "for-all", np_wall_ms()), 0);
    assert_int_equal(kv_get(F.alice, "@alice:signing_privatekey@alice", np_wall_ms(), &e), 0);
    assert_int_equal(np_rsa_from_private_b64(e->value, &signing), 0);
    ks_entry_free(e);
    assert_int_equal(np_rsa_generate(&other), 0);
    /* no proof published */
    from_alice(c, sid_key, sizeof(sid_key), proof, sizeof(proof));
    feed(c, "pol\n");
    expect(c, "error:AT0401-Exception: Pol Authentication Failed\n@");
    /* a proof signed with another key */
    from_alice(c, sid_key, sizeof(sid_key), proof, sizeof(proof));
    publish(other, sid_key, proof);
    feed(c, "pol\n");
    expect(c, "error:AT0401-Exception: Pol Authentication Failed\n@");
    /* a signature of the previous proof does not fit a new one */
    from_alice(c, sid_key, sizeof(sid_key), proof, sizeof(proof));
    publish(signing, sid_key, "stale-proof");
    feed(c, "pol\n");
    expect(c, "error:AT0401-Exception: Pol Authentication Failed\n@");
    /* the real signing key: the bare prompt, no data:, no newline */
    from_alice(c, sid_key, sizeof(sid_key), proof, sizeof(proof));
    publish(signing, sid_key, proof);
    feed(c, "pol\n");
    expect(c, "@alice@");
    assert_int_equal(c->auth, AT_AUTH_POL);
    /* one pol per proof */
    feed(c, "pol\n");
    expect(c, "error:AT0401-Exception: You must execute a 'from:' command before pol\n@");
    /* pol visibility (3.5) */
    feed(c, "lookup:shared.app@bob\n");
    expect(c, "data:for-alice\n@alice@");
    feed(c, "lookup:pub.app@bob\n");
    expect(c, "error:AT0015-Exception: @alice:pub.app@bob does not exist in keystore\n@");
    feed(c, "scan\n");
    expect(c, "data:[\"shared.app@bob\"]\n@alice@");
    feed(c, "llookup:public:pub.app@bob\n");
    expect(c, "error:AT0401-Exception: Command cannot be executed without auth\n@");
    /* the proof key is visible to unauthenticated lookups, not to scan */
    {
        struct as_conn *u = mconn(F.alice);
        char line[256], want[1024];
        struct ks_entry *pe = NULL;
        snprintf(line, sizeof(line), "public:%s", sid_key);
        assert_int_equal(kv_get(F.alice, line, np_wall_ms(), &pe), 0);
        snprintf(line, sizeof(line), "lookup:%s\n", sid_key);
        feed(u, line);
        snprintf(want, sizeof(want), "data:%s\n@", pe->value);
        expect(u, want);
        feed(u, "scan\n");
        expect(u, "data:[\"signing_publickey@alice\"]\n@");
        ks_entry_free(pe);
        conn_free(u);
    }
    /* the signing key pair cannot be deleted by the owner (4.3) */
    {
        struct as_conn *o = mconn(F.alice);
        conn_set_owner(o, AS_AUTH_CRAM);
        feed(o, "delete:public:signing_publickey@alice\n");
        assert_true(strncmp(np_buf_ptr(conn_memory_output(o)), "error:AT0009-", 13) == 0);
        np_buf_reset(conn_memory_output(o));
        feed(o, "delete:@alice:signing_privatekey@alice\n");
        assert_true(strncmp(np_buf_ptr(conn_memory_output(o)), "error:AT0009-", 13) == 0);
        conn_free(o);
    }
    np_rsa_free(signing);
    np_rsa_free(other);
    conn_free(c);
}

static int has_until_key(const char *key, void *arg)
{
    (void)arg;
    return strncmp(key, "shared_key.bob.until.", 21) == 0;
}

static struct ks_entry *entry(const char *json)
{
    struct ks_entry *e = NULL;

    assert_int_equal(s2s_entry_from_all(json, strlen(json), &e), 0);
    return e;
}

static void test_cache_public(void **state)
{
    struct ks_entry *e = NULL, *got = NULL;
    struct ks_list *l = NULL;
    struct at_metadata md;
    int64_t now = np_wall_ms();

    (void)state;
    assert_int_equal(kv_put_simple(F.alice, "shared_key.bob@alice", "old-shared", now), 0);
    e = entry("{\"key\":\"public:publickey@bob\",\"data\":\"PK1\"}");
    assert_int_equal(remote_cache_public(F.alice, "publickey", "@bob", e), 0);
    ks_entry_free(e);
    assert_int_equal(kv_get(F.alice, "cached:public:publickey@bob", now, &got), 0);
    assert_string_equal(got->value, "PK1");
    assert_int_equal(kv_entry_metadata(got, &md), 0);
    assert_int_equal(md.ttr, -1);
    assert_int_equal(md.ttl, 24LL * 3600 * 1000);
    at_metadata_clear(&md);
    ks_entry_free(got);
    /* unchanged: our shared key stays */
    e = entry("{\"data\":\"PK1\"}");
    assert_int_equal(remote_cache_public(F.alice, "publickey", "@bob", e), 0);
    ks_entry_free(e);
    assert_int_equal(kv_get(F.alice, "shared_key.bob@alice", now, &got), 0);
    ks_entry_free(got);
    /* changed: the shared key is retired, the new public key cached */
    e = entry("{\"data\":\"PK2\"}");
    assert_int_equal(remote_cache_public(F.alice, "publickey", "@bob", e), 0);
    ks_entry_free(e);
    assert_int_equal(kv_get(F.alice, "shared_key.bob@alice", np_wall_ms(), &got), NP_ERR_NOTFOUND);
    assert_int_equal(ks_scan(F.alice->ks, np_wall_ms(), 0, has_until_key, NULL, &l), 0);
    assert_int_equal(l->count, 1);
    assert_string_equal(l->items[0]->value, "old-shared");
    ks_list_free(l);
    assert_int_equal(kv_get(F.alice, "cached:public:publickey@bob", np_wall_ms(), &got), 0);
    assert_string_equal(got->value, "PK2");
    ks_entry_free(got);
    /* another public value keeps the remote ttr */
    e = entry("{\"data\":\"V\",\"metaData\":{\"ttr\":60,\"createdBy\":\"@bob\"}}");
    assert_int_equal(remote_cache_public(F.alice, "loc.app", "@bob", e), 0);
    ks_entry_free(e);
    assert_int_equal(kv_get(F.alice, "cached:public:loc.app@bob", np_wall_ms(), &got), 0);
    assert_int_equal(kv_entry_metadata(got, &md), 0);
    assert_int_equal(md.ttr, 60);
    assert_false(at_metadata_has(&md, AT_MD_TTL));
    assert_string_equal(md.created_by, "@alice");
    at_metadata_clear(&md);
    ks_entry_free(got);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_notify_line_full),
        cmocka_unit_test(test_notify_line_parts),
        cmocka_unit_test(test_notify_line_parses_back),
        cmocka_unit_test(test_parse_proof),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_answers),
    };
    const struct CMUnitTest server[] = {
        cmocka_unit_test(test_pol_in_process),
        cmocka_unit_test(test_cache_public),
    };
    int r;

    np_log_set_level(NP_LOG_ERROR);
    r = cmocka_run_group_tests_name("s2s helpers", pure, NULL, NULL);
    r += cmocka_run_group_tests_name("s2s on a memory server", server, srv_setup, srv_teardown);
    return r;
}
