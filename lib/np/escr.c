/*
 * lib/np/escr.c - ESCR relay authentication (noports-wire.md 5.10): challenge
 * generation, the side's response, and the relay's two-step check.
 * Crypto through lib/crypto only (b64, rand, rsa, the atProtocol AES).
 */
#include "np/escr.h"
#include "np/json.h"
#include "crypto/aes.h"
#include "crypto/b64.h"
#include "crypto/rand.h"
#include "util/alloc.h"
#include "util/err.h"

#include <string.h>
#include <strings.h>

struct np_escr_response {
    char *p_text; /* canonical reconstruction of p: the signed bytes */
    size_t p_len;
    char *sig_b64;
    enum np_hash_alg alg;
    char *sk;
};

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e)
            return 0;
    }
    return 1;
}

int np_escr_challenge_new(char **out)
{
    unsigned char raw[NP_ESCR_CHALLENGE_BYTES];
    int r;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if ((r = np_random_bytes(raw, sizeof(raw))) == 0)
        r = np_b64_encode(raw, sizeof(raw), out, NULL);
    np_memzero(raw, sizeof(raw));
    return r;
}

/* The canonical text of p = {"sid":..,"c":..,"side":..}. */
static int p_text(const char *sid, const char *c, char side, char **out, size_t *out_len)
{
    char side_s[2] = {side, '\0'};
    cJSON *o = cJSON_CreateObject();
    int r = NP_ERR_NOMEM;

    if (o && cJSON_AddStringToObject(o, "sid", sid) && cJSON_AddStringToObject(o, "c", c) &&
        cJSON_AddStringToObject(o, "side", side_s))
        r = np_json_canonical(o, out, out_len);
    cJSON_Delete(o);
    return r;
}

/* Canonical text of a cJSON object, then base64 of it. */
static int canon_b64(const cJSON *o, char **out)
{
    char *t = NULL;
    size_t n = 0;
    int r;

    *out = NULL;
    if ((r = np_json_canonical(o, &t, &n)) == 0)
        r = np_b64_encode(t, n, out, NULL);
    np_free(t);
    return r;
}

int np_escr_response_build(const struct np_rsa_key *pkam_priv, const char *sk_uri,
                           const char *session_id, const char *challenge, char side,
                           const char *aes_key_b64, char **line, size_t *len)
{
    unsigned char iv[NP_AES_IV_LEN];
    char *ptxt = NULL, *sig = NULL, *e64 = NULL, *iv_b64 = NULL, *cipher = NULL;
    char *payload64 = NULL, *s = NULL;
    cJSON *p = NULL, *E = NULL, *W = NULL;
    size_t plen = 0, n;
    int r = NP_ERR_INTERNAL;

    if (len)
        *len = 0;
    if (!line)
        return NP_ERR_INVAL;
    *line = NULL;
    if (!pkam_priv || !sk_uri || !session_id || !challenge || !aes_key_b64 ||
        (side != 'a' && side != 'b') || !*session_id || !*challenge ||
        !printable(session_id, strlen(session_id)) || strchr(session_id, ':') ||
        !printable(challenge, strlen(challenge)))
        return NP_ERR_INVAL;

    /* p and its signature */
    if ((r = p_text(session_id, challenge, side, &ptxt, &plen)) != 0)
        goto out;
    if ((r = np_rsa_sign_b64(pkam_priv, NP_HASH_SHA256, ptxt, plen, &sig)) != 0)
        goto out;
    r = NP_ERR_NOMEM;
    if ((p = cJSON_Parse(ptxt)) == NULL || (E = cJSON_CreateObject()) == NULL)
        goto out;
    if (!cJSON_AddItemToObject(E, "p", p)) {
        goto out;
    }
    p = NULL; /* owned by E now */
    if (!cJSON_AddStringToObject(E, "s", sig) || !cJSON_AddStringToObject(E, "ha", "sha256") ||
        !cJSON_AddStringToObject(E, "sa", "rsa2048") || !cJSON_AddStringToObject(E, "sk", sk_uri))
        goto out;
    /* e = AES(key, iv, ASCII(B64(JSON(E)))) */
    if ((r = canon_b64(E, &e64)) != 0)
        goto out;
    if ((r = np_random_bytes(iv, sizeof(iv))) != 0 ||
        (r = np_b64_encode(iv, sizeof(iv), &iv_b64, NULL)) != 0)
        goto out;
    if ((r = np_at_aes_encrypt_b64key(aes_key_b64, iv_b64, e64, strlen(e64), &cipher)) != 0)
        goto out;
    r = NP_ERR_NOMEM;
    if ((W = cJSON_CreateObject()) == NULL || !cJSON_AddStringToObject(W, "iv", iv_b64) ||
        !cJSON_AddStringToObject(W, "e", cipher))
        goto out;
    if ((r = canon_b64(W, &payload64)) != 0)
        goto out;
    n = strlen(session_id) + 1 + strlen(payload64) + 1;
    if (n > NP_ESCR_LINE_MAX) {
        r = NP_ERR_TOOBIG;
        goto out;
    }
    if ((s = np_malloc(n + 1)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    memcpy(s, session_id, strlen(session_id));
    s[strlen(session_id)] = ':';
    memcpy(s + strlen(session_id) + 1, payload64, strlen(payload64));
    s[n - 1] = '\n';
    s[n] = '\0';
    *line = s;
    if (len)
        *len = n;
    r = 0;
out:
    np_free(ptxt);
    np_free(sig);
    np_free(e64);
    np_free(iv_b64);
    np_free(cipher);
    np_free(payload64);
    cJSON_Delete(p);
    cJSON_Delete(E);
    cJSON_Delete(W);
    return r;
}

int np_escr_response_session(const char *line, size_t len, char *sid, size_t size)
{
    const char *colon;
    size_t n;

    if (!line || !sid || size == 0)
        return NP_ERR_INVAL;
    sid[0] = '\0';
    if ((colon = memchr(line, ':', len)) == NULL || colon == line)
        return NP_ERR_FORMAT;
    n = (size_t)(colon - line);
    if (n + 1 > size)
        return NP_ERR_TOOBIG;
    memcpy(sid, line, n);
    sid[n] = '\0';
    return 0;
}

void np_escr_response_free(struct np_escr_response *r)
{
    if (!r)
        return;
    np_free(r->p_text);
    np_free(r->sig_b64);
    np_free(r->sk);
    np_free(r);
}

const char *np_escr_response_sk(const struct np_escr_response *r)
{
    return r ? r->sk : NULL;
}

/* Decode base64 text of JSON into a parsed object. */
static int b64_json_object(const char *b64, size_t len, cJSON **out)
{
    unsigned char *raw = NULL;
    size_t n = 0;
    int r;

    *out = NULL;
    if ((r = np_b64_decode(b64, len, &raw, &n)) != 0)
        return NP_ERR_FORMAT;
    r = np_json_parse((const char *)raw, n, NP_ESCR_LINE_MAX, out);
    np_freezero(raw, n + 1);
    if (r == 0 && !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        r = NP_ERR_FORMAT;
    }
    return r == NP_ERR_TOOBIG ? NP_ERR_TOOBIG : (r ? NP_ERR_FORMAT : 0);
}

static const char *str_member(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* sk: "public:" ... "a.__e@<atSign>", bounded, printable; atSign check. */
static int check_sk(const char *sk, const char *side_atsign)
{
    const char *at;
    size_t n = strlen(sk), before;
    static const char ns[] = "a.__e";

    if (n > NP_ESCR_SK_MAX || !printable(sk, n) || strncmp(sk, "public:", 7) != 0)
        return NP_ERR_FORMAT;
    if ((at = strrchr(sk, '@')) == NULL || at[1] == '\0')
        return NP_ERR_FORMAT;
    before = (size_t)(at - sk);
    if (before < 7 + sizeof(ns) - 1 || memcmp(at - (sizeof(ns) - 1), ns, sizeof(ns) - 1) != 0)
        return NP_ERR_AUTH;
    if (side_atsign) {
        const char *want = side_atsign[0] == '@' ? side_atsign + 1 : side_atsign;
        if (strcasecmp(at + 1, want) != 0)
            return NP_ERR_AUTH;
    }
    return 0;
}

int np_escr_response_parse(const char *line, size_t len, const char *aes_key_b64,
                           const char *session_id, const char *challenge, char side,
                           const char *side_atsign, struct np_escr_response **out)
{
    struct np_escr_response *res = NULL;
    cJSON *W = NULL, *E = NULL;
    const cJSON *p;
    const char *colon, *iv, *e, *sid, *c, *sd, *sig, *ha, *sa, *sk;
    unsigned char *plain = NULL;
    size_t plain_len = 0, sid_len;
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!line || !aes_key_b64 || !session_id || !challenge || (side != 'a' && side != 'b'))
        return NP_ERR_INVAL;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len + 1 > NP_ESCR_LINE_MAX)
        return NP_ERR_TOOBIG;
    if (len == 0 || !printable(line, len) || (colon = memchr(line, ':', len)) == NULL)
        return NP_ERR_FORMAT;
    sid_len = (size_t)(colon - line);
    if (sid_len != strlen(session_id) || memcmp(line, session_id, sid_len) != 0)
        return NP_ERR_AUTH;

    /* payload64 -> {"iv","e"} -> decrypt -> B64(JSON(E)) -> E */
    if ((r = b64_json_object(colon + 1, len - sid_len - 1, &W)) != 0)
        goto out;
    if ((iv = str_member(W, "iv")) == NULL || (e = str_member(W, "e")) == NULL) {
        r = NP_ERR_FORMAT;
        goto out;
    }
    if ((r = np_at_aes_decrypt_b64key(aes_key_b64, iv, e, &plain, &plain_len)) != 0) {
        r = r == NP_ERR_NOMEM ? r : NP_ERR_FORMAT;
        goto out;
    }
    if (!printable((const char *)plain, plain_len)) {
        r = NP_ERR_FORMAT;
        goto out;
    }
    if ((r = b64_json_object((const char *)plain, plain_len, &E)) != 0)
        goto out;

    p = cJSON_GetObjectItemCaseSensitive(E, "p");
    if (!cJSON_IsObject(p) || (sid = str_member(p, "sid")) == NULL ||
        (c = str_member(p, "c")) == NULL || (sd = str_member(p, "side")) == NULL ||
        (sig = str_member(E, "s")) == NULL || (ha = str_member(E, "ha")) == NULL ||
        (sa = str_member(E, "sa")) == NULL || (sk = str_member(E, "sk")) == NULL) {
        r = NP_ERR_FORMAT;
        goto out;
    }
    if (strcmp(sid, session_id) != 0 || strcmp(c, challenge) != 0 || sd[0] != side ||
        sd[1] != '\0') {
        r = NP_ERR_AUTH;
        goto out;
    }
    if ((strcmp(ha, "sha256") != 0 && strcmp(ha, "sha512") != 0) || strcmp(sa, "rsa2048") != 0) {
        r = NP_ERR_UNSUPPORTED;
        goto out;
    }
    if ((r = check_sk(sk, side_atsign)) != 0)
        goto out;

    if ((res = np_calloc(1, sizeof(*res))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    res->alg = strcmp(ha, "sha512") == 0 ? NP_HASH_SHA512 : NP_HASH_SHA256;
    if ((r = p_text(session_id, challenge, side, &res->p_text, &res->p_len)) != 0)
        goto out;
    if ((res->sig_b64 = np_strdup(sig)) == NULL || (res->sk = np_strdup(sk)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    *out = res;
    res = NULL;
    r = 0;
out:
    if (plain)
        np_freezero(plain, plain_len + 1);
    np_escr_response_free(res);
    cJSON_Delete(W);
    cJSON_Delete(E);
    return r;
}

int np_escr_response_verify(const struct np_escr_response *r, const struct np_rsa_key *pub)
{
    int rc;

    if (!r || !pub)
        return NP_ERR_INVAL;
    rc = np_rsa_verify_b64(pub, r->alg, r->p_text, r->p_len, r->sig_b64);
    if (rc != 0 && rc != NP_ERR_NOMEM)
        rc = NP_ERR_VERIFY; /* bad base64, wrong length: not a valid signature */
    return rc;
}

int np_escr_reply_check(const char *line, size_t len)
{
    if (!line)
        return NP_ERR_INVAL;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 2 && memcmp(line, "ok", 2) == 0)
        return 0;
    if (len == strlen(NP_ESCR_FAILED_LINE) - 1 && memcmp(line, NP_ESCR_FAILED_LINE, len) == 0)
        return NP_ERR_AUTH;
    return NP_ERR_PROTO;
}
