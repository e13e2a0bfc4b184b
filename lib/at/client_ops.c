/*
 * lib/at/client_ops.c - the client operations (get, put, delete, scan,
 * notify) as small state machines over at_op (client_int.h): build the
 * command for the key form, wait for the E2E key when one is needed,
 * encrypt or decrypt (atprotocol.md 6, 8.3-8.6, 11.3).
 */
#include "at/atkey.h"
#include "at/atsign.h"
#include "at/client_int.h"
#include "at/e2e.h"
#include "crypto/b64.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* Command buffers: a value may be large (bounded by the server's 10 MB). */
#define CMD_MAX (10u << 20)

/* How a value read back must be treated. */
enum vmode { V_RAW = 0, V_PLAIN, V_SELF, V_MINE, V_THEIRS };

enum { OP_GET = 1, OP_PUT, OP_DELETE, OP_SCAN, OP_NOTIFY };

/* Parse a user key; a key without an owner belongs to us. */
static int user_key(struct at_client *c, const char *text, struct at_key *k)
{
    char buf[AT_KEY_BUF + AT_ATSIGN_BUF];
    int r;

    if (!text || !*text)
        return NP_ERR_INVAL;
    r = at_key_parse(text, strlen(text), k);
    if (r == 0 && (k->owner[0] || k->form == AT_KEY_FORM_PRIVATEKEY))
        return 0;
    if ((r = np_str_fmt(buf, sizeof(buf), "%s%s", text, at_client_atsign(c))) != 0)
        return r;
    if ((r = at_key_parse(buf, strlen(buf), k)) != 0)
        return r;
    return k->owner[0] ? 0 : NP_ERR_INVAL;
}

static bool is_me(struct at_client *c, const char *atsign)
{
    return strcmp(atsign, at_client_atsign(c)) == 0;
}

/* ---------------------------------------------------------------- get */

static void get_decrypt(struct at_op *op, const char *key_b64, bool fresh);

static void set_value(struct at_op *op, const char *v, size_t n, bool secret)
{
    if (op->r_value_secret)
        np_freezero(op->r_value, op->r_value_len + 1);
    else
        np_free(op->r_value);
    op->r_value = np_memdup0(v, n);
    op->r_value_len = op->r_value ? n : 0;
    op->r_value_secret = secret;
    if (!op->r_value)
        at_op_fail(op, NP_ERR_NOMEM, -1, false, NULL);
}

static void get_key_ready(struct at_op *op, int err, int at_code, const char *key, const char *msg)
{
    if (err) {
        at_op_fail(op, err, at_code, false, msg);
        return;
    }
    get_decrypt(op, key, true);
}

/* Decrypt op->r_value (ciphertext, kept) with key_b64. */
static void get_decrypt(struct at_op *op, const char *key_b64, bool fresh)
{
    const char *iv = at_metadata_has(&op->r_md, AT_MD_IV_NONCE) ? op->r_md.iv_nonce : NULL;
    char *plain = NULL;
    size_t n = 0;
    int r = at_e2e_decrypt(key_b64, iv, op->r_value, &plain, &n);

    if (r == 0) {
        set_value(op, plain, n, true);
        np_freezero(plain, n + 1);
        if (!op->done)
            at_op_done(op);
        return;
    }
    if (!fresh && !op->retried && (op->phase == V_THEIRS || op->phase == V_MINE)) {
        /* a cached key may be stale (the peer made a new one): fetch again */
        op->retried = true;
        at_client__drop_key(op->c, op->phase == V_MINE ? AT_KK_MINE : AT_KK_THEIRS, op->other);
        at_op_want_key(op, op->phase == V_MINE ? AT_KK_MINE : AT_KK_THEIRS, op->other,
                       op->phase == V_THEIRS ? AT_KW_REFRESH : 0, get_key_ready);
        return;
    }
    if (op->phase == V_SELF && !iv && !at_metadata_has(&op->r_md, AT_MD_IS_ENCRYPTED)) {
        /* legacy value with no encryption markers that is not ciphertext:
         * a plain self value (e.g. written unencrypted by another tool) */
        at_op_done(op);
        return;
    }
    at_op_fail(op, r, -1, false, "cannot decrypt the value");
}

static void get_with_key(struct at_op *op, enum at_keykind kind)
{
    char key[AT_E2E_KEY_B64_BUF];

    if (at_client__cached_key(op->c, kind, op->other, key, sizeof(key)) == 0) {
        get_decrypt(op, key, false);
        np_memzero(key, sizeof(key));
        return;
    }
    at_op_want_key(op, kind, op->other, 0, get_key_ready);
}

/* THEIRS with metadata sharedKeyEnc: the key travels with the value. */
static bool get_use_shared_key_enc(struct at_op *op)
{
    const char *mine = at_client_enc_public_key(op->c);
    char key[AT_E2E_KEY_B64_BUF];
    char cs[AT_E2E_CS_BUF];

    if (!at_metadata_has(&op->r_md, AT_MD_SHARED_KEY_ENC) || !op->r_md.shared_key_enc)
        return false;
    if (at_metadata_has(&op->r_md, AT_MD_PUB_KEY_CS) && op->r_md.pub_key_cs && mine &&
        at_e2e_pubkey_checksum(mine, cs) == 0 && strcmp(cs, op->r_md.pub_key_cs) != 0) {
        np_debug("pubKeyCS does not match our public key; using a lookup");
        return false;
    }
    if (at_client__unwrap(op->c, op->r_md.shared_key_enc, key) != 0)
        return false;
    at_client__cache_key(op->c, AT_KK_THEIRS, op->other, key);
    get_decrypt(op, key, true);
    np_memzero(key, sizeof(key));
    return true;
}

int at_client__parse_all(const char *payload, size_t n, char **value, struct at_metadata *md,
                         bool *has_md, const char **why)
{
    const cJSON *d, *m;
    cJSON *j = NULL;
    int r = NP_ERR_PROTO;

    *value = NULL;
    *has_md = false;
    *why = NULL;
    at_metadata_init(md);
    if (n == 4 && memcmp(payload, "null", 4) == 0) {
        *why = "the key has no value (expired or not yet available)";
        return NP_ERR_NOTFOUND;
    }
    j = cJSON_ParseWithLength(payload, n);
    if (!cJSON_IsObject(j)) {
        *why = j ? "lookup answer is not a JSON object" : "lookup answer is not JSON";
        goto out;
    }
    d = cJSON_GetObjectItemCaseSensitive(j, "data");
    m = cJSON_GetObjectItemCaseSensitive(j, "metaData");
    if (cJSON_IsObject(m)) {
        if (at_metadata_from_cjson(md, m) != 0) {
            *why = "lookup answer has bad metadata";
            goto out;
        }
        *has_md = true;
    } else if (m && !cJSON_IsNull(m)) {
        *why = "lookup answer: metaData is not an object";
        goto out;
    }
    if (d && !cJSON_IsNull(d)) {
        if (!cJSON_IsString(d)) {
            *why = "lookup answer: data is not a string";
            goto out;
        }
        if ((*value = np_strdup(d->valuestring)) == NULL) {
            r = NP_ERR_NOMEM;
            goto out;
        }
    }
    r = 0;
out:
    if (r != 0) {
        at_metadata_clear(md);
        *has_md = false;
    }
    cJSON_Delete(j);
    return r;
}

static void get_answer(struct at_op *op, const struct at_conn_outcome *o)
{
    const char *why = NULL;
    char *v = NULL;
    bool encrypted_flag_false;
    int r;

    if (!at_op_is_data(o)) {
        at_op_fail_outcome(op, o);
        return;
    }
    at_metadata_clear(&op->r_md);
    r = at_client__parse_all(o->resp->payload, o->resp->payload_len, &v, &op->r_md, &op->r_has_md,
                             &why);
    if (r != 0) {
        at_op_fail(op, r, -1, false, why);
        return;
    }
    if (!v) {
        at_op_done(op); /* a null value */
        return;
    }
    set_value(op, v, strlen(v), false);
    np_free(v);
    if (op->done)
        return;
    encrypted_flag_false = at_metadata_has(&op->r_md, AT_MD_IS_ENCRYPTED) && !op->r_md.is_encrypted;
    switch (op->phase) {
    case V_PLAIN:
        if (at_metadata_has(&op->r_md, AT_MD_ENCODING) && op->r_md.encoding &&
            strcmp(op->r_md.encoding, "base64") == 0) {
            unsigned char *raw = NULL;
            size_t n = 0;
            if (np_b64_decode(op->r_value, op->r_value_len, &raw, &n) != 0) {
                at_op_fail(op, NP_ERR_FORMAT, -1, false, "encoding:base64 value does not decode");
                return;
            }
            set_value(op, (const char *)raw, n, false);
            np_free(raw);
        }
        if (!op->done)
            at_op_done(op);
        break;
    case V_SELF:
        if (encrypted_flag_false) {
            at_op_done(op);
        } else if (!at_client__self_key(op->c)) {
            at_op_fail(op, NP_ERR_INVAL, -1, false, "no self-encryption key to decrypt with");
        } else {
            get_decrypt(op, at_client__self_key(op->c), true);
        }
        break;
    case V_MINE:
        if (encrypted_flag_false)
            at_op_done(op);
        else
            get_with_key(op, AT_KK_MINE);
        break;
    case V_THEIRS:
        if (encrypted_flag_false)
            at_op_done(op);
        else if (!get_use_shared_key_enc(op))
            get_with_key(op, AT_KK_THEIRS);
        break;
    default:
        at_op_done(op);
        break;
    }
}

int at_client_get(struct at_client *c, const char *key, unsigned flags, at_client_cb cb, void *data)
{
    struct at_key k;
    struct at_op *op;
    struct np_buf *b;
    enum vmode mode;
    enum at_verb verb;
    int bypass = (flags & AT_GET_BYPASS) ? 1 : -1;
    int r;

    if (!c || at_client__dead(c))
        return NP_ERR_CLOSED;
    if (!cb || (r = user_key(c, key, &k)) != 0)
        return NP_ERR_INVAL;
    if (k.form == AT_KEY_FORM_PRIVATEKEY || k.form == AT_KEY_FORM_PRIVATE ||
        k.form == AT_KEY_FORM_LOCAL)
        return NP_ERR_INVAL;
    if (is_me(c, k.owner)) {
        verb = AT_VERB_LLOOKUP;
        if (k.form == AT_KEY_FORM_PUBLIC)
            mode = V_PLAIN;
        else if (k.reserved || k.cached)
            mode = V_RAW;
        else if (!k.shared_with[0] || is_me(c, k.shared_with))
            mode = V_SELF;
        else
            mode = V_MINE;
    } else if (k.form == AT_KEY_FORM_PUBLIC) {
        verb = k.cached ? AT_VERB_LLOOKUP : AT_VERB_PLOOKUP;
        mode = V_PLAIN;
    } else {
        if (k.shared_with[0] && !is_me(c, k.shared_with))
            return NP_ERR_INVAL; /* shared between two other atSigns */
        verb = k.cached ? AT_VERB_LLOOKUP : AT_VERB_LOOKUP;
        mode = k.reserved ? V_RAW : V_THEIRS;
    }
    if (flags & AT_GET_RAW)
        mode = V_RAW;
    if ((op = at_op_new(c, cb, data)) == NULL)
        return NP_ERR_NOMEM;
    op->kind = OP_GET;
    op->phase = mode;
    op->key = k;
    snprintf(op->other, sizeof(op->other), "%s", mode == V_MINE ? k.shared_with : k.owner);
    b = np_buf_new(4096);
    r = b ? at_build_lookup(b, verb, AT_LOOKUP_ALL, verb == AT_VERB_LLOOKUP ? -1 : bypass, &k)
          : NP_ERR_NOMEM;
    at_op_send_buf(op, b, r, get_answer);
    return 0;
}

/* ---------------------------------------------------------------- put */

static void data_answer(struct at_op *op, const struct at_conn_outcome *o)
{
    if (!at_op_is_data(o)) {
        at_op_fail_outcome(op, o);
        return;
    }
    if ((op->r_data = np_memdup0(o->resp->payload, o->resp->payload_len)) == NULL) {
        at_op_fail(op, NP_ERR_NOMEM, -1, false, NULL);
        return;
    }
    at_op_done(op);
}

/* Encrypt op->value under key_b64 into a new string and set the markers. */
static int seal(struct at_op *op, const char *key_b64, char **cipher)
{
    char *iv = NULL;
    int r;

    if ((r = at_e2e_encrypt(key_b64, op->value, strlen(op->value), &iv, cipher)) != 0)
        return r;
    r = at_metadata_set_bool(&op->md, AT_MD_IS_ENCRYPTED, true);
    if (r == 0)
        r = at_metadata_set_str(&op->md, AT_MD_IV_NONCE, iv);
    np_free(iv);
    if (r != 0) {
        np_free(*cipher);
        *cipher = NULL;
    }
    return r;
}

static void put_send(struct at_op *op, const char *value)
{
    struct np_buf *b = np_buf_new(CMD_MAX);
    int r = b ? at_build_update(b, &op->md, &op->key, value) : NP_ERR_NOMEM;

    at_op_send_buf(op, b, r, data_answer);
}

static void put_sealed(struct at_op *op, const char *key_b64)
{
    char *cipher = NULL;
    int r = seal(op, key_b64, &cipher);

    if (r != 0) {
        at_op_fail(op, r, -1, false, "cannot encrypt the value");
        return;
    }
    put_send(op, cipher);
    np_free(cipher);
}

static void put_key_ready(struct at_op *op, int err, int at_code, const char *key, const char *msg)
{
    if (err) {
        at_op_fail(op, err, at_code, false, msg);
        return;
    }
    put_sealed(op, key);
}

int at_client_put(struct at_client *c, const char *key, const char *value,
                  const struct at_metadata *md, at_client_cb cb, void *data)
{
    struct at_key k;
    struct at_op *op;
    char *enc = NULL;
    char cached[AT_E2E_KEY_B64_BUF];
    bool shared, self;
    int r;

    if (!c || at_client__dead(c))
        return NP_ERR_CLOSED;
    if (!cb || !value || !*value || user_key(c, key, &k) != 0)
        return NP_ERR_INVAL;
    if (k.cached || k.form == AT_KEY_FORM_LOCAL || k.form == AT_KEY_FORM_PRIVATE ||
        (k.owner[0] && !is_me(c, k.owner)))
        return NP_ERR_INVAL;
    shared =
        k.form == AT_KEY_FORM_PLAIN && k.shared_with[0] && !is_me(c, k.shared_with) && !k.reserved;
    self = k.form == AT_KEY_FORM_PLAIN && !shared && !k.reserved;
    if ((shared || self) && (!at_client__enc_private(c) || !at_client__self_key(c)))
        return NP_ERR_INVAL;
    if ((op = at_op_new(c, cb, data)) == NULL)
        return NP_ERR_NOMEM;
    op->kind = OP_PUT;
    op->key = k;
    at_metadata_init(&op->md);
    if ((md && at_metadata_copy(&op->md, md) != 0) || (op->value = np_strdup(value)) == NULL) {
        at_op_discard(op);
        return NP_ERR_NOMEM;
    }
    if (shared) {
        snprintf(op->other, sizeof(op->other), "%s", k.shared_with);
        if (at_client__cached_key(c, AT_KK_MINE, op->other, cached, sizeof(cached)) == 0)
            put_sealed(op, cached);
        else
            at_op_want_key(op, AT_KK_MINE, op->other, AT_KW_CREATE, put_key_ready);
        np_memzero(cached, sizeof(cached));
        return 0;
    }
    if (self) {
        put_sealed(op, at_client__self_key(c));
        return 0;
    }
    /* public / reserved / privatekey: as is; newlines go as base64 (Dart) */
    if (strpbrk(value, "\r\n")) {
        if ((r = np_b64_encode(value, strlen(value), &enc, NULL)) != 0 ||
            (r = at_metadata_set_str(&op->md, AT_MD_ENCODING, "base64")) != 0) {
            np_free(enc);
            at_op_discard(op);
            return r;
        }
        put_send(op, enc);
        np_free(enc);
        return 0;
    }
    put_send(op, value);
    return 0;
}

/* ------------------------------------------------------------- delete */

int at_client_delete(struct at_client *c, const char *key, at_client_cb cb, void *data)
{
    struct at_key k;
    struct at_op *op;
    struct np_buf *b;
    int r;

    if (!c || at_client__dead(c))
        return NP_ERR_CLOSED;
    if (!cb || user_key(c, key, &k) != 0 || k.form == AT_KEY_FORM_LOCAL)
        return NP_ERR_INVAL;
    if ((op = at_op_new(c, cb, data)) == NULL)
        return NP_ERR_NOMEM;
    op->kind = OP_DELETE;
    b = np_buf_new(4096);
    r = b ? at_build_delete(b, &k) : NP_ERR_NOMEM;
    at_op_send_buf(op, b, r, data_answer);
    return 0;
}

/* --------------------------------------------------------------- scan */

int at_client__parse_keys(const char *payload, size_t n, char ***keys, size_t *nkeys,
                          const char **why)
{
    const cJSON *e;
    cJSON *j = NULL;
    char **k = NULL;
    size_t cnt, i = 0;
    int r = NP_ERR_PROTO;

    *keys = NULL;
    *nkeys = 0;
    *why = NULL;
    if (n == 4 && memcmp(payload, "null", 4) == 0)
        return 0;
    j = cJSON_ParseWithLength(payload, n);
    if (!cJSON_IsArray(j)) {
        *why = "scan answer is not a JSON array";
        goto out;
    }
    cnt = (size_t)cJSON_GetArraySize(j);
    if (cnt && (k = np_calloc(cnt, sizeof(char *))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    cJSON_ArrayForEach(e, j)
    {
        if (!cJSON_IsString(e)) {
            *why = "scan answer holds a non-string";
            goto out;
        }
        if ((k[i++] = np_strdup(e->valuestring)) == NULL) {
            r = NP_ERR_NOMEM;
            goto out;
        }
    }
    *keys = k;
    *nkeys = i;
    k = NULL;
    r = 0;
out:
    if (k) {
        for (size_t x = 0; x < i; x++)
            np_free(k[x]);
        np_free(k);
    }
    cJSON_Delete(j);
    return r;
}

static void scan_answer(struct at_op *op, const struct at_conn_outcome *o)
{
    const char *why = NULL;
    int r;

    if (!at_op_is_data(o)) {
        at_op_fail_outcome(op, o);
        return;
    }
    r = at_client__parse_keys(o->resp->payload, o->resp->payload_len, &op->r_keys, &op->r_nkeys,
                              &why);
    if (r != 0) {
        at_op_fail(op, r, -1, false, why);
        return;
    }
    at_op_done(op);
}

int at_client_scan(struct at_client *c, const char *regex, bool show_hidden, at_client_cb cb,
                   void *data)
{
    struct at_op *op;
    struct np_buf *b;
    int r;

    if (!c || at_client__dead(c))
        return NP_ERR_CLOSED;
    if (!cb || (regex && (!*regex || strpbrk(regex, "\r\n"))))
        return NP_ERR_INVAL;
    if ((op = at_op_new(c, cb, data)) == NULL)
        return NP_ERR_NOMEM;
    op->kind = OP_SCAN;
    b = np_buf_new(4096);
    r = b ? at_build_scan(b, show_hidden ? 1 : -1, regex) : NP_ERR_NOMEM;
    at_op_send_buf(op, b, r, scan_answer);
    return 0;
}

/* ------------------------------------------------------------- notify */

static void notify_answer(struct at_op *op, const struct at_conn_outcome *o)
{
    if (!at_op_is_data(o)) {
        at_op_fail_outcome(op, o);
        return;
    }
    if ((op->r_id = np_memdup0(o->resp->payload, o->resp->payload_len)) == NULL) {
        at_op_fail(op, NP_ERR_NOMEM, -1, false, NULL);
        return;
    }
    at_op_done(op);
}

static void notify_send(struct at_op *op, const char *value)
{
    struct at_notify_params p;
    struct np_buf *b = np_buf_new(CMD_MAX);
    int r;

    memset(&p, 0, sizeof(p));
    p.id = op->id;
    p.has_op = true;
    p.op = (enum at_notify_op)op->notify_op;
    p.has_msg_type = true;
    p.msg_type = AT_MSG_KEY;
    p.has_ttln = op->ttln > 0;
    p.ttln = op->ttln;
    p.md = &op->md;
    p.to = op->other;
    p.key = op->text;
    p.from = at_client_atsign(op->c);
    p.value = value;
    r = b ? at_build_notify(b, &p) : NP_ERR_NOMEM;
    at_op_send_buf(op, b, r, notify_answer);
}

static void notify_sealed(struct at_op *op, const char *key_b64)
{
    char *cipher = NULL;
    int r = seal(op, key_b64, &cipher);

    if (r != 0) {
        at_op_fail(op, r, -1, false, "cannot encrypt the notification");
        return;
    }
    notify_send(op, cipher);
    np_free(cipher);
}

/*
 * Attach sharedKeyEnc (the AES key wrapped for the recipient) and pubKeyCS
 * (md5hex of the recipient's public key) as the Dart client does (8.4), so
 * that the recipient decrypts with the key that travels with the
 * notification. Without it, several processes of one atSign that create
 * the shared key at the same time overwrite each other's copy on the
 * server and the recipient cannot decrypt what the losers sent.
 */
static int attach_shared_key_enc(struct at_op *op, const char *key_b64, const char *pub_b64)
{
    struct np_rsa_key *pub = NULL;
    char *wrapped = NULL;
    char cs[33];
    int r;

    if ((r = np_rsa_from_public_b64(pub_b64, &pub)) == 0 &&
        (r = at_e2e_wrap_key(pub, key_b64, &wrapped)) == 0 &&
        (r = np_md5_hex(pub_b64, strlen(pub_b64), cs)) == 0 &&
        (r = at_metadata_set_str(&op->md, AT_MD_SHARED_KEY_ENC, wrapped)) == 0)
        r = at_metadata_set_str(&op->md, AT_MD_PUB_KEY_CS, cs);
    np_rsa_free(pub);
    np_free(wrapped);
    return r;
}

static void notify_pub_ready(struct at_op *op, int err, int at_code, const char *key,
                             const char *msg);

/* Seal with the sender->recipient key (key_b64, or NULL: from the cache)
 * and send; sharedKeyEnc is added when the recipient's public key is known
 * (fetched once per op: phase 1 = tried). */
static void notify_with_key(struct at_op *op, const char *key_b64)
{
    char key[AT_E2E_KEY_B64_BUF];
    char *pub = np_malloc(8192);

    if (key_b64 && strlen(key_b64) < sizeof(key))
        memcpy(key, key_b64, strlen(key_b64) + 1);
    else if (key_b64 ||
             at_client__cached_key(op->c, AT_KK_MINE, op->other, key, sizeof(key)) != 0) {
        np_free(pub);
        at_op_fail(op, NP_ERR_INTERNAL, -1, false, "the shared key is not available");
        return;
    }
    if (!pub) {
        np_memzero(key, sizeof(key));
        at_op_fail(op, NP_ERR_NOMEM, -1, false, NULL);
        return;
    }
    if (at_client__cached_key(op->c, AT_KK_PUB, op->other, pub, 8192) == 0) {
        if (attach_shared_key_enc(op, key, pub) != 0)
            np_debug("notify to %s: sent without sharedKeyEnc", op->other);
    } else if (op->phase == 0) {
        op->phase = 1;
        np_free(pub);
        np_memzero(key, sizeof(key));
        at_op_want_key(op, AT_KK_PUB, op->other, 0, notify_pub_ready);
        return;
    }
    np_free(pub);
    notify_sealed(op, key);
    np_memzero(key, sizeof(key));
}

static void notify_pub_ready(struct at_op *op, int err, int at_code, const char *key,
                             const char *msg)
{
    (void)key;
    (void)at_code;
    if (err) /* no public key: the recipient looks the shared key up itself */
        np_debug("notify to %s: no public key (%s), sent without sharedKeyEnc", op->other,
                 msg ? msg : np_strerror(err));
    notify_with_key(op, NULL);
}

static void notify_key_ready(struct at_op *op, int err, int at_code, const char *key,
                             const char *msg)
{
    if (err) {
        at_op_fail(op, err, at_code, false, msg);
        return;
    }
    notify_with_key(op, key);
}

int at_client_notify(struct at_client *c, const struct at_client_notify *n, at_client_cb cb,
                     void *data)
{
    char to[AT_ATSIGN_BUF];
    char uuid[NP_UUID_STR_LEN + 1];
    char cached[AT_E2E_KEY_B64_BUF];
    struct at_key k;
    struct at_op *op;
    bool encrypt;

    if (!c || at_client__dead(c))
        return NP_ERR_CLOSED;
    if (!cb || !n || !n->to || !n->key || !*n->key ||
        at_atsign_normalise(n->to, strlen(n->to), to, sizeof(to)) != 0 ||
        at_key_make(&k, AT_KEY_FORM_PLAIN, to, n->key, at_client_atsign(c), false) != 0 ||
        (n->value && strpbrk(n->value, "\r\n")) ||
        (n->op != AT_NOTIFY_UPDATE && n->op != AT_NOTIFY_DELETE))
        return NP_ERR_INVAL;
    if (n->id && (!*n->id || strpbrk(n->id, ": \t\r\n@")))
        return NP_ERR_INVAL;
    encrypt = !n->plaintext && n->value;
    if (encrypt && !at_client__enc_private(c))
        return NP_ERR_INVAL;
    if (!n->id && np_uuid4(uuid) != 0)
        return NP_ERR_CRYPTO;
    if ((op = at_op_new(c, cb, data)) == NULL)
        return NP_ERR_NOMEM;
    op->kind = OP_NOTIFY;
    op->notify_op = n->op;
    op->ttln = n->ttln;
    snprintf(op->other, sizeof(op->other), "%s", to);
    at_metadata_init(&op->md);
    if ((op->text = np_strdup(n->key)) == NULL ||
        (op->id = np_strdup(n->id ? n->id : uuid)) == NULL ||
        (n->value && (op->value = np_strdup(n->value)) == NULL) ||
        (n->ttl > 0 && at_metadata_set_int(&op->md, AT_MD_TTL, n->ttl) != 0) ||
        (!encrypt && at_metadata_set_bool(&op->md, AT_MD_IS_ENCRYPTED, false) != 0)) {
        at_op_discard(op);
        return NP_ERR_NOMEM;
    }
    if (!encrypt) {
        notify_send(op, op->value);
        return 0;
    }
    if (at_client__cached_key(c, AT_KK_MINE, to, cached, sizeof(cached)) == 0)
        notify_with_key(op, cached);
    else
        at_op_want_key(op, AT_KK_MINE, to, AT_KW_CREATE, notify_key_ready);
    np_memzero(cached, sizeof(cached));
    return 0;
}
