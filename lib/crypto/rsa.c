/*
 * lib/crypto/rsa.c - RSA keys (B64 DER SPKI / PKCS#8), PKCS#1 v1.5 signatures
 * and encryption, with OpenSSL 3 EVP_PKEY only (no deprecated RSA_* calls).
 *
 * Every private-key operation of the project happens here (style.md 14).
 * OpenSSL's thread-local error queue is cleared on every failure path so that
 * a stale entry never confuses later TLS calls (SSL_get_error reads it).
 */
#include "crypto/rsa.h"
#include "crypto/b64.h"
#include "util/alloc.h"
#include "util/err.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

#define MIN_BITS 2048
#define MAX_BITS 4096
/* Longest key text we decode: a 4096-bit PKCS#8 is about 3.2 KiB base64. */
#define MAX_KEY_B64 16384

struct np_rsa_key {
    EVP_PKEY *pkey;
    int has_private;
};

static int fail(int r)
{
    ERR_clear_error();
    return r;
}

static const EVP_MD *md_for(enum np_hash_alg alg)
{
    switch (alg) {
    case NP_HASH_SHA256:
        return EVP_sha256();
    case NP_HASH_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

/* Only plain RSA (not RSA-PSS keys) of a supported size. */
static int check_type(EVP_PKEY *p)
{
    int bits;

    if (EVP_PKEY_get_base_id(p) != EVP_PKEY_RSA)
        return NP_ERR_UNSUPPORTED;
    bits = EVP_PKEY_get_bits(p);
    if (bits < MIN_BITS || bits > MAX_BITS)
        return NP_ERR_UNSUPPORTED;
    return 0;
}

static int wrap(EVP_PKEY *p, int has_private, struct np_rsa_key **out)
{
    struct np_rsa_key *k = np_calloc(1, sizeof(*k));

    if (!k)
        return NP_ERR_NOMEM;
    k->pkey = p;
    k->has_private = has_private;
    *out = k;
    return 0;
}

/* A 2048-bit key pair of `primes` primes (2, or 3 with a fallback to 2). */
static int generate(int primes, struct np_rsa_key **out)
{
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *p = NULL;
    int r = NP_ERR_CRYPTO;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
        EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) != 1) {
        r = fail(NP_ERR_CRYPTO);
        goto out;
    }
    if (primes > 2 && EVP_PKEY_CTX_set_rsa_keygen_primes(ctx, primes) != 1) {
        ERR_clear_error(); /* refused by this provider: two primes then */
        if (EVP_PKEY_CTX_set_rsa_keygen_primes(ctx, 2) != 1) {
            r = fail(NP_ERR_CRYPTO);
            goto out;
        }
    }
    if (EVP_PKEY_generate(ctx, &p) != 1) {
        if (primes == 2) {
            r = fail(NP_ERR_CRYPTO);
            goto out;
        }
        ERR_clear_error(); /* the provider refused at generation time */
        EVP_PKEY_CTX_free(ctx);
        return generate(2, out);
    }
    if ((r = wrap(p, 1, out)) != 0)
        goto out;
    p = NULL;
    r = 0;
out:
    EVP_PKEY_free(p);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

int np_rsa_generate(struct np_rsa_key **out)
{
    return generate(2, out);
}

int np_rsa_generate_session(struct np_rsa_key **out)
{
    return generate(3, out);
}

/* Base64 text -> DER bytes, bounded. */
static int der_from_b64(const char *b64, unsigned char **der, size_t *der_len)
{
    size_t len;

    if (!b64)
        return NP_ERR_INVAL;
    len = strnlen(b64, MAX_KEY_B64 + 1);
    if (len > MAX_KEY_B64)
        return NP_ERR_TOOBIG;
    if (len == 0)
        return NP_ERR_FORMAT;
    return np_b64_decode(b64, len, der, der_len);
}

int np_rsa_from_public_b64(const char *b64, struct np_rsa_key **out)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t der_len = 0;
    EVP_PKEY *pk = NULL;
    int r;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if ((r = der_from_b64(b64, &der, &der_len)) != 0)
        goto out;
    if (der_len > LONG_MAX) {
        r = NP_ERR_TOOBIG;
        goto out;
    }
    p = der;
    if ((pk = d2i_PUBKEY(NULL, &p, (long)der_len)) == NULL || p != der + der_len) {
        r = fail(NP_ERR_FORMAT);
        goto out;
    }
    if ((r = check_type(pk)) != 0)
        goto out;
    if ((r = wrap(pk, 0, out)) != 0)
        goto out;
    pk = NULL;
    r = 0;
out:
    EVP_PKEY_free(pk);
    np_free(der);
    return r;
}

int np_rsa_from_private_b64(const char *b64, struct np_rsa_key **out)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t der_len = 0;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    EVP_PKEY *pk = NULL;
    int r;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if ((r = der_from_b64(b64, &der, &der_len)) != 0)
        goto out;
    if (der_len > LONG_MAX) {
        r = NP_ERR_TOOBIG;
        goto out;
    }
    p = der;
    if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)der_len)) == NULL || p != der + der_len) {
        r = fail(NP_ERR_FORMAT);
        goto out;
    }
    if ((pk = EVP_PKCS82PKEY(p8)) == NULL) {
        /* A broken RSA key inside the wrapper is malformed input; any other
         * algorithm that OpenSSL cannot decode is merely unsupported. */
        const ASN1_OBJECT *oid = NULL;
        int nid = PKCS8_pkey_get0(&oid, NULL, NULL, NULL, p8) == 1 ? OBJ_obj2nid(oid) : NID_undef;
        r = fail(nid == NID_rsaEncryption ? NP_ERR_FORMAT : NP_ERR_UNSUPPORTED);
        goto out;
    }
    if ((r = check_type(pk)) != 0)
        goto out;
    if ((r = wrap(pk, 1, out)) != 0)
        goto out;
    pk = NULL;
    r = 0;
out:
    EVP_PKEY_free(pk);
    PKCS8_PRIV_KEY_INFO_free(p8);
    np_freezero(der, der_len);
    return r;
}

void np_rsa_free(struct np_rsa_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    np_free(k);
}

int np_rsa_has_private(const struct np_rsa_key *k)
{
    return k && k->has_private;
}

size_t np_rsa_size(const struct np_rsa_key *k)
{
    int n;

    if (!k)
        return 0;
    n = EVP_PKEY_get_size(k->pkey);
    return n > 0 ? (size_t)n : 0;
}

int np_rsa_match(const struct np_rsa_key *a, const struct np_rsa_key *b)
{
    int r;

    if (!a || !b)
        return 0;
    r = EVP_PKEY_eq(a->pkey, b->pkey);
    ERR_clear_error();
    return r == 1;
}

int np_rsa_public_b64(const struct np_rsa_key *k, char **out)
{
    unsigned char *der = NULL, *p;
    int n;
    int r;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!k)
        return NP_ERR_INVAL;
    if ((n = i2d_PUBKEY(k->pkey, NULL)) <= 0)
        return fail(NP_ERR_CRYPTO);
    if ((der = np_malloc((size_t)n)) == NULL)
        return NP_ERR_NOMEM;
    p = der;
    if (i2d_PUBKEY(k->pkey, &p) != n) {
        r = fail(NP_ERR_CRYPTO);
        goto out;
    }
    r = np_b64_encode(der, (size_t)n, out, NULL);
out:
    np_free(der);
    return r;
}

int np_rsa_private_b64(const struct np_rsa_key *k, char **out)
{
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    unsigned char *der = NULL, *p;
    int n = 0;
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!k || !k->has_private)
        return NP_ERR_INVAL;
    if ((p8 = EVP_PKEY2PKCS8(k->pkey)) == NULL || (n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL)) <= 0) {
        n = 0;
        r = fail(NP_ERR_CRYPTO);
        goto out;
    }
    if ((der = np_malloc((size_t)n)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    p = der;
    if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != n) {
        r = fail(NP_ERR_CRYPTO);
        goto out;
    }
    r = np_b64_encode(der, (size_t)n, out, NULL);
out:
    np_freezero(der, (size_t)n);
    PKCS8_PRIV_KEY_INFO_free(p8);
    return r;
}

int np_rsa_sign(const struct np_rsa_key *k, enum np_hash_alg alg, const void *data, size_t len,
                unsigned char **sig, size_t *sig_len)
{
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = md_for(alg);
    unsigned char *s = NULL;
    size_t n = 0;
    int r = NP_ERR_INTERNAL;

    if (sig)
        *sig = NULL;
    if (sig_len)
        *sig_len = 0;
    if (!k || !sig || !sig_len || (!data && len) || !md)
        return NP_ERR_INVAL;
    if (!k->has_private)
        return NP_ERR_INVAL;
    n = np_rsa_size(k);
    if ((s = np_malloc(n)) == NULL)
        return NP_ERR_NOMEM;
    if ((mctx = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestSignInit(mctx, &pctx, md, NULL, k->pkey) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestSign(mctx, s, &n, len ? data : (const void *)"", len) != 1 ||
        n != np_rsa_size(k)) {
        r = fail(NP_ERR_CRYPTO);
        goto out;
    }
    *sig = s;
    *sig_len = n;
    s = NULL;
    r = 0;
out:
    np_free(s);
    EVP_MD_CTX_free(mctx);
    return r;
}

int np_rsa_sign_b64(const struct np_rsa_key *k, enum np_hash_alg alg, const void *data, size_t len,
                    char **sig_b64)
{
    unsigned char *sig = NULL;
    size_t n = 0;
    int r;

    if (!sig_b64)
        return NP_ERR_INVAL;
    *sig_b64 = NULL;
    if ((r = np_rsa_sign(k, alg, data, len, &sig, &n)) != 0)
        return r;
    r = np_b64_encode(sig, n, sig_b64, NULL);
    np_free(sig);
    return r;
}

int np_rsa_verify(const struct np_rsa_key *k, enum np_hash_alg alg, const void *data, size_t len,
                  const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = md_for(alg);
    int r = NP_ERR_INTERNAL;

    if (!k || (!data && len) || !md || (!sig && sig_len))
        return NP_ERR_INVAL;
    /* A signature of another length cannot be valid; no need to ask OpenSSL. */
    if (sig_len != np_rsa_size(k))
        return NP_ERR_VERIFY;
    if ((mctx = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestVerifyInit(mctx, &pctx, md, NULL, k->pkey) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        r = fail(NP_ERR_CRYPTO);
        goto out;
    }
    if (EVP_DigestVerify(mctx, sig, sig_len, len ? data : (const void *)"", len) != 1) {
        r = fail(NP_ERR_VERIFY);
        goto out;
    }
    r = 0;
out:
    EVP_MD_CTX_free(mctx);
    return r;
}

int np_rsa_verify_b64(const struct np_rsa_key *k, enum np_hash_alg alg, const void *data,
                      size_t len, const char *sig_b64)
{
    unsigned char *sig = NULL;
    size_t n = 0, slen;
    int r;

    if (!k || !sig_b64)
        return NP_ERR_INVAL;
    slen = strnlen(sig_b64, MAX_KEY_B64 + 1);
    if (slen > MAX_KEY_B64)
        return NP_ERR_VERIFY;
    if ((r = np_b64_decode(sig_b64, slen, &sig, &n)) != 0)
        return r;
    r = np_rsa_verify(k, alg, data, len, sig, n);
    np_free(sig);
    return r;
}

int np_rsa_encrypt(const struct np_rsa_key *k, const void *in, size_t len, unsigned char **out,
                   size_t *out_len)
{
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *c = NULL;
    size_t size, n;
    int r = NP_ERR_INTERNAL;

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!k || !out || !out_len || (!in && len))
        return NP_ERR_INVAL;
    size = np_rsa_size(k);
    if (size < 11 || len > size - 11)
        return NP_ERR_TOOBIG;
    if ((c = np_malloc(size)) == NULL)
        return NP_ERR_NOMEM;
    n = size;
    if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
        EVP_PKEY_encrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_encrypt(ctx, c, &n, len ? in : (const void *)"", len) != 1 || n != size) {
        r = fail(NP_ERR_CRYPTO);
        goto out;
    }
    *out = c;
    *out_len = n;
    c = NULL;
    r = 0;
out:
    np_free(c);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

int np_rsa_decrypt(const struct np_rsa_key *k, const unsigned char *in, size_t len,
                   unsigned char **out, size_t *out_len)
{
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *tmp = NULL, *res = NULL;
    size_t size = 0, n;
    int r = NP_ERR_INTERNAL;

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!k || !out || !out_len || (!in && len) || !k->has_private)
        return NP_ERR_INVAL;
    size = np_rsa_size(k);
    if (len != size)
        return NP_ERR_FORMAT;
    if ((tmp = np_malloc(size)) == NULL)
        return NP_ERR_NOMEM;
    n = size;
    if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
        EVP_PKEY_decrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_decrypt(ctx, tmp, &n, in, len) != 1 || n > size) {
        r = fail(NP_ERR_CRYPTO);
        goto out;
    }
    if ((res = (unsigned char *)np_memdup0(tmp, n)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    *out = res;
    *out_len = n;
    r = 0;
out:
    np_freezero(tmp, size);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

int np_rsa_encrypt_b64(const struct np_rsa_key *k, const void *in, size_t len, char **out_b64)
{
    unsigned char *c = NULL;
    size_t n = 0;
    int r;

    if (!out_b64)
        return NP_ERR_INVAL;
    *out_b64 = NULL;
    if ((r = np_rsa_encrypt(k, in, len, &c, &n)) != 0)
        return r;
    r = np_b64_encode(c, n, out_b64, NULL);
    np_free(c);
    return r;
}

int np_rsa_decrypt_b64(const struct np_rsa_key *k, const char *in_b64, unsigned char **out,
                       size_t *out_len)
{
    unsigned char *c = NULL;
    size_t n = 0, slen;
    int r;

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!k || !in_b64 || !out || !out_len)
        return NP_ERR_INVAL;
    slen = strnlen(in_b64, MAX_KEY_B64 + 1);
    if (slen > MAX_KEY_B64)
        return NP_ERR_TOOBIG;
    if ((r = np_b64_decode(in_b64, slen, &c, &n)) != 0)
        return r;
    r = np_rsa_decrypt(k, c, n, out, out_len);
    np_free(c);
    return r;
}
