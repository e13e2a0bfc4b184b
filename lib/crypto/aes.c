/*
 * lib/crypto/aes.c - AES-256-CTR: the streaming relay cipher and the
 * atProtocol "AES" (CTR over PKCS#7-padded data), via EVP_aes_256_ctr.
 *
 * The counter is the whole 16-byte IV, incremented big-endian per block, and
 * the keystream continues across np_aes_ctr_apply calls of any size (EVP
 * keeps the partial-block position). No MAC: integrity comes from elsewhere.
 */
#include "crypto/aes.h"
#include "crypto/b64.h"
#include "crypto/rand.h"
#include "util/alloc.h"
#include "util/err.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#define BLOCK 16
/* Longest key or IV text np_at_aes_*_b64key accept (a 32-byte key is 44). */
#define MAX_KEY_TEXT 256

struct np_aes_ctr {
    EVP_CIPHER_CTX *ctx;
};

int np_aes_ctr_new(const unsigned char key[NP_AES_KEY_LEN], const unsigned char iv[NP_AES_IV_LEN],
                   struct np_aes_ctr **out)
{
    struct np_aes_ctr *c = NULL;
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!key || !iv)
        return NP_ERR_INVAL;
    if ((c = np_calloc(1, sizeof(*c))) == NULL)
        return NP_ERR_NOMEM;
    if ((c->ctx = EVP_CIPHER_CTX_new()) == NULL ||
        EVP_EncryptInit_ex(c->ctx, EVP_aes_256_ctr(), NULL, key, iv) != 1) {
        ERR_clear_error();
        r = NP_ERR_CRYPTO;
        goto out;
    }
    *out = c;
    c = NULL;
    r = 0;
out:
    np_aes_ctr_free(c);
    return r;
}

int np_aes_ctr_apply(struct np_aes_ctr *c, void *buf, size_t len)
{
    unsigned char *p = buf;

    if (!c || (!buf && len))
        return NP_ERR_INVAL;
    while (len > 0) {
        int chunk = len > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)len;
        int outl = 0;
        /* CTR is a stream cipher: OpenSSL allows in == out exactly. */
        if (EVP_EncryptUpdate(c->ctx, p, &outl, p, chunk) != 1 || outl != chunk) {
            ERR_clear_error();
            return NP_ERR_CRYPTO;
        }
        p += chunk;
        len -= (size_t)chunk;
    }
    return 0;
}

void np_aes_ctr_free(struct np_aes_ctr *c)
{
    if (!c)
        return;
    EVP_CIPHER_CTX_free(c->ctx); /* also cleanses the key schedule */
    np_free(c);
}

/* One-shot CTR over buf from the start of the keystream. */
static int ctr_once(const unsigned char *key, const unsigned char *iv, unsigned char *buf,
                    size_t len)
{
    static const unsigned char zero_iv[NP_AES_IV_LEN];
    struct np_aes_ctr *c = NULL;
    int r;

    if ((r = np_aes_ctr_new(key, iv ? iv : zero_iv, &c)) != 0)
        return r;
    r = np_aes_ctr_apply(c, buf, len);
    np_aes_ctr_free(c);
    return r;
}

int np_at_aes_encrypt(const unsigned char key[NP_AES_KEY_LEN], const unsigned char *iv,
                      const void *plain, size_t len, char **out_b64)
{
    unsigned char *buf = NULL;
    size_t pad, total = 0;
    int r = NP_ERR_INTERNAL;

    if (!out_b64)
        return NP_ERR_INVAL;
    *out_b64 = NULL;
    if (!key || (!plain && len))
        return NP_ERR_INVAL;
    if (len > SIZE_MAX / 2)
        return NP_ERR_TOOBIG;
    pad = BLOCK - len % BLOCK; /* 1..16: a full block when len is a multiple */
    total = len + pad;
    if ((buf = np_malloc(total)) == NULL)
        return NP_ERR_NOMEM;
    if (len)
        memcpy(buf, plain, len);
    memset(buf + len, (int)pad, pad);
    if ((r = ctr_once(key, iv, buf, total)) != 0)
        goto out;
    r = np_b64_encode(buf, total, out_b64, NULL);
out:
    np_freezero(buf, total);
    return r;
}

int np_at_aes_decrypt(const unsigned char key[NP_AES_KEY_LEN], const unsigned char *iv,
                      const char *cipher_b64, unsigned char **plain, size_t *plain_len)
{
    unsigned char *buf = NULL;
    size_t n = 0, pad, i;
    int r = NP_ERR_INTERNAL;

    if (plain)
        *plain = NULL;
    if (plain_len)
        *plain_len = 0;
    if (!key || !cipher_b64 || !plain || !plain_len)
        return NP_ERR_INVAL;
    if ((r = np_b64_decode(cipher_b64, strlen(cipher_b64), &buf, &n)) != 0)
        return r;
    if (n == 0 || n % BLOCK != 0) {
        r = NP_ERR_FORMAT;
        goto out;
    }
    if ((r = ctr_once(key, iv, buf, n)) != 0)
        goto out;
    /* Strip by the value of the last byte (not by searching for a NUL, as
     * at_c does), and insist that every pad byte carries that value. */
    pad = buf[n - 1];
    if (pad < 1 || pad > BLOCK) {
        r = NP_ERR_FORMAT;
        goto out;
    }
    for (i = n - pad; i < n; i++) {
        if (buf[i] != pad) {
            r = NP_ERR_FORMAT;
            goto out;
        }
    }
    np_memzero(buf + n - pad, pad);
    *plain = buf;
    *plain_len = n - pad;
    buf = NULL;
    r = 0;
out:
    np_freezero(buf, n + 1);
    return r;
}

/* Key text -> 32 bytes, IV text (NULL = zero IV) -> 16 bytes. */
static int keys_from_b64(const char *key_b64, const char *iv_b64, unsigned char key[NP_AES_KEY_LEN],
                         unsigned char iv[NP_AES_IV_LEN])
{
    int r;

    if (!key_b64 || strnlen(key_b64, MAX_KEY_TEXT + 1) > MAX_KEY_TEXT)
        return NP_ERR_FORMAT;
    if ((r = np_b64_decode_exact(key_b64, key, NP_AES_KEY_LEN)) != 0)
        return r;
    memset(iv, 0, NP_AES_IV_LEN);
    if (iv_b64) {
        if (strnlen(iv_b64, MAX_KEY_TEXT + 1) > MAX_KEY_TEXT)
            return NP_ERR_FORMAT;
        if ((r = np_b64_decode_exact(iv_b64, iv, NP_AES_IV_LEN)) != 0)
            return r;
    }
    return 0;
}

int np_at_aes_encrypt_b64key(const char *key_b64, const char *iv_b64, const void *plain, size_t len,
                             char **out_b64)
{
    unsigned char key[NP_AES_KEY_LEN], iv[NP_AES_IV_LEN];
    int r;

    if (!out_b64)
        return NP_ERR_INVAL;
    *out_b64 = NULL;
    if ((r = keys_from_b64(key_b64, iv_b64, key, iv)) == 0)
        r = np_at_aes_encrypt(key, iv, plain, len, out_b64);
    np_memzero(key, sizeof(key));
    return r;
}

int np_at_aes_decrypt_b64key(const char *key_b64, const char *iv_b64, const char *cipher_b64,
                             unsigned char **plain, size_t *plain_len)
{
    unsigned char key[NP_AES_KEY_LEN], iv[NP_AES_IV_LEN];
    int r;

    if (plain)
        *plain = NULL;
    if (plain_len)
        *plain_len = 0;
    if (!plain || !plain_len)
        return NP_ERR_INVAL;
    if ((r = keys_from_b64(key_b64, iv_b64, key, iv)) == 0)
        r = np_at_aes_decrypt(key, iv, cipher_b64, plain, plain_len);
    np_memzero(key, sizeof(key));
    return r;
}

static int random_b64(size_t n, char **out_b64)
{
    unsigned char b[NP_AES_KEY_LEN];
    int r;

    if (!out_b64)
        return NP_ERR_INVAL;
    *out_b64 = NULL;
    if ((r = np_random_bytes(b, n)) == 0)
        r = np_b64_encode(b, n, out_b64, NULL);
    np_memzero(b, sizeof(b));
    return r;
}

int np_aes_new_key_b64(char **out_b64)
{
    return random_b64(NP_AES_KEY_LEN, out_b64);
}

int np_aes_new_iv_b64(char **out_b64)
{
    return random_b64(NP_AES_IV_LEN, out_b64);
}
