/*
 * lib/at/e2e.c - atProtocol E2E formats (see e2e.h, atprotocol.md 8) on top
 * of lib/crypto. Everything that holds key text or plaintext is wiped.
 */
#include "at/e2e.h"
#include "crypto/aes.h"
#include "crypto/b64.h"
#include "crypto/hash.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

/* Is s base64 text of exactly 32 bytes (44 characters)? */
static bool key_text_ok(const char *s, size_t n)
{
    unsigned char raw[NP_AES_KEY_LEN];
    char tmp[AT_E2E_KEY_B64_BUF];
    bool ok;

    if (n != AT_E2E_KEY_B64_BUF - 1)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    ok = np_b64_decode_exact(tmp, raw, sizeof(raw)) == 0;
    np_memzero(raw, sizeof(raw));
    np_memzero(tmp, sizeof(tmp));
    return ok;
}

bool at_e2e_iv_is_null(const char *iv_b64)
{
    return !iv_b64 || !*iv_b64 || strcmp(iv_b64, "null") == 0;
}

int at_e2e_wrap_key(const struct np_rsa_key *pub, const char *key_b64, char **out_b64)
{
    if (out_b64)
        *out_b64 = NULL;
    if (!pub || !key_b64 || !out_b64)
        return NP_ERR_INVAL;
    if (!key_text_ok(key_b64, strlen(key_b64)))
        return NP_ERR_FORMAT;
    return np_rsa_encrypt_b64(pub, key_b64, strlen(key_b64), out_b64);
}

int at_e2e_unwrap_key(const struct np_rsa_key *priv, const char *wrapped_b64,
                      char out[AT_E2E_KEY_B64_BUF])
{
    unsigned char *plain = NULL;
    size_t len = 0;
    int r;

    if (out)
        out[0] = '\0';
    if (!priv || !wrapped_b64 || !out)
        return NP_ERR_INVAL;
    if ((r = np_rsa_decrypt_b64(priv, wrapped_b64, &plain, &len)) != 0)
        return r;
    if (!key_text_ok((const char *)plain, len)) {
        r = NP_ERR_FORMAT;
        goto out;
    }
    memcpy(out, plain, len);
    out[len] = '\0';
    r = 0;
out:
    np_freezero(plain, len + 1);
    return r;
}

int at_e2e_encrypt(const char *key_b64, const void *plain, size_t len, char **iv_b64,
                   char **cipher_b64)
{
    char *iv = NULL;
    int r;

    if (iv_b64)
        *iv_b64 = NULL;
    if (cipher_b64)
        *cipher_b64 = NULL;
    if (!key_b64 || (!plain && len) || !cipher_b64)
        return NP_ERR_INVAL;
    if (iv_b64 && (r = np_aes_new_iv_b64(&iv)) != 0)
        return r;
    r = np_at_aes_encrypt_b64key(key_b64, iv, plain ? plain : "", len, cipher_b64);
    if (r == 0 && iv_b64) {
        *iv_b64 = iv;
        iv = NULL;
    }
    np_free(iv);
    return r;
}

int at_e2e_decrypt(const char *key_b64, const char *iv_b64, const char *cipher_b64, char **plain,
                   size_t *plain_len)
{
    unsigned char *p = NULL;
    size_t n = 0;
    int r;

    if (plain)
        *plain = NULL;
    if (plain_len)
        *plain_len = 0;
    if (!key_b64 || !cipher_b64 || !plain || !plain_len)
        return NP_ERR_INVAL;
    r = np_at_aes_decrypt_b64key(key_b64, at_e2e_iv_is_null(iv_b64) ? NULL : iv_b64, cipher_b64, &p,
                                 &n);
    if (r != 0)
        return r;
    *plain = (char *)p;
    *plain_len = n;
    return 0;
}

int at_e2e_pubkey_checksum(const char *pub_b64, char out[AT_E2E_CS_BUF])
{
    if (out)
        out[0] = '\0';
    if (!pub_b64 || !out)
        return NP_ERR_INVAL;
    return np_md5_hex(pub_b64, strlen(pub_b64), out);
}
