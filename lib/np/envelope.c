/*
 * lib/np/envelope.c - build, parse and verify signed envelopes.
 *
 * Invariant: what is signed and what is verified is always the canonical text
 * of a payload tree (np_json_canonical), never bytes copied from the wire, so
 * a signer and a verifier that both use this file agree by construction.
 */
#include "np/envelope.h"
#include "np/json.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#include <string.h>

struct np_envelope {
    cJSON *root;         /* whole parsed envelope */
    cJSON *payload;      /* borrowed from root; NULL after take_payload */
    char *payload_text;  /* canonical payload text */
    size_t payload_len;  /* its length */
    const char *sig_b64; /* borrowed from root */
    enum np_hash_alg alg;
};

static const char *alg_name(enum np_hash_alg alg)
{
    switch (alg) {
    case NP_HASH_SHA256:
        return "sha256";
    case NP_HASH_SHA512:
        return "sha512";
    }
    return NULL;
}

int np_envelope_sign_alg(const struct np_rsa_key *priv, enum np_hash_alg alg, const cJSON *payload,
                         char **out_json)
{
    struct np_buf *b = NULL;
    char *sig = NULL;
    const char *name = alg_name(alg);
    size_t start, len;
    int r = NP_ERR_INTERNAL;

    if (!out_json)
        return NP_ERR_INVAL;
    *out_json = NULL;
    if (!priv || !np_rsa_has_private(priv) || !cJSON_IsObject(payload) || !name)
        return NP_ERR_INVAL;
    if ((b = np_buf_new(NP_ENVELOPE_MAX)) == NULL)
        return NP_ERR_NOMEM;
    if ((r = np_buf_put_str(b, "{\"payload\":")) != 0)
        goto out;
    start = np_buf_len(b);
    if ((r = np_json_canonical_buf(payload, b)) != 0)
        goto out;
    len = np_buf_len(b) - start;
    if ((r = np_rsa_sign_b64(priv, alg, np_buf_ptr(b) + start, len, &sig)) != 0)
        goto out;
    if ((r = np_buf_putf(
             b, ",\"signature\":\"%s\",\"hashingAlgo\":\"%s\",\"signingAlgo\":\"rsa2048\"}", sig,
             name)) != 0)
        goto out;
    if ((*out_json = np_buf_detach(b, NULL)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    r = 0;
out:
    np_free(sig);
    np_buf_free(b);
    return r;
}

int np_envelope_sign(const struct np_rsa_key *priv, const cJSON *payload, char **out_json)
{
    return np_envelope_sign_alg(priv, NP_HASH_SHA256, payload, out_json);
}

/* Required string member. */
static const char *str_member(const cJSON *o, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(m) ? m->valuestring : NULL;
}

int np_envelope_parse(const char *json, size_t len, struct np_envelope **out)
{
    struct np_envelope *e = NULL;
    const char *hash, *sign;
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!json)
        return NP_ERR_INVAL;
    if ((e = np_calloc(1, sizeof(*e))) == NULL)
        return NP_ERR_NOMEM;
    if ((r = np_json_parse(json, len, NP_ENVELOPE_MAX, &e->root)) != 0)
        goto out;
    e->payload = cJSON_GetObjectItemCaseSensitive(e->root, "payload");
    e->sig_b64 = str_member(e->root, "signature");
    hash = str_member(e->root, "hashingAlgo");
    sign = str_member(e->root, "signingAlgo");
    if (!cJSON_IsObject(e->root) || !cJSON_IsObject(e->payload) || !e->sig_b64 || !hash || !sign) {
        r = NP_ERR_FORMAT;
        goto out;
    }
    if (strcmp(hash, "sha256") == 0)
        e->alg = NP_HASH_SHA256;
    else if (strcmp(hash, "sha512") == 0)
        e->alg = NP_HASH_SHA512;
    else {
        r = NP_ERR_UNSUPPORTED;
        goto out;
    }
    if (strcmp(sign, "rsa2048") != 0) {
        r = NP_ERR_UNSUPPORTED;
        goto out;
    }
    if ((r = np_json_canonical(e->payload, &e->payload_text, &e->payload_len)) != 0)
        goto out;
    *out = e;
    e = NULL;
    r = 0;
out:
    np_envelope_free(e);
    return r;
}

void np_envelope_free(struct np_envelope *e)
{
    if (!e)
        return;
    cJSON_Delete(e->root);
    np_free(e->payload_text);
    np_free(e);
}

const cJSON *np_envelope_payload(const struct np_envelope *e)
{
    return e ? e->payload : NULL;
}

const char *np_envelope_payload_text(const struct np_envelope *e)
{
    return e ? e->payload_text : NULL;
}

size_t np_envelope_payload_text_len(const struct np_envelope *e)
{
    return e ? e->payload_len : 0;
}

const char *np_envelope_signature(const struct np_envelope *e)
{
    return e ? e->sig_b64 : NULL;
}

enum np_hash_alg np_envelope_hash_alg(const struct np_envelope *e)
{
    return e ? e->alg : NP_HASH_SHA256;
}

cJSON *np_envelope_take_payload(struct np_envelope *e)
{
    cJSON *p;

    if (!e || !e->payload)
        return NULL;
    p = cJSON_DetachItemViaPointer(e->root, e->payload);
    e->payload = NULL;
    return p;
}

int np_envelope_verify_text(const struct np_rsa_key *pub, enum np_hash_alg alg, const char *text,
                            size_t len, const char *sig_b64)
{
    int r;

    if (!pub || !text || !sig_b64 || !alg_name(alg))
        return NP_ERR_INVAL;
    r = np_rsa_verify_b64(pub, alg, text, len, sig_b64);
    /* A signature that does not even decode is just a bad signature. */
    if (r == NP_ERR_FORMAT)
        r = NP_ERR_VERIFY;
    return r;
}

int np_envelope_check(const struct np_envelope *e, const struct np_rsa_key *pub)
{
    if (!e || !pub)
        return NP_ERR_INVAL;
    return np_envelope_verify_text(pub, e->alg, e->payload_text, e->payload_len, e->sig_b64);
}

int np_envelope_verify(const char *json, size_t len, const struct np_rsa_key *pub,
                       cJSON **payload_out)
{
    struct np_envelope *e = NULL;
    int r;

    if (payload_out)
        *payload_out = NULL;
    if (!json || !pub)
        return NP_ERR_INVAL;
    if ((r = np_envelope_parse(json, len, &e)) != 0)
        goto out;
    if ((r = np_envelope_check(e, pub)) != 0)
        goto out;
    if (payload_out && (*payload_out = np_envelope_take_payload(e)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    r = 0;
out:
    np_envelope_free(e);
    return r;
}
