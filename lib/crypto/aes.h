/*
 * lib/crypto/aes.h - AES-256-CTR in its two uses.
 *
 * 1. Streaming (relay traffic, noports-wire.md 3.5): one context per
 *    direction per connection; the 16-byte IV is the initial 128-bit
 *    big-endian counter block; the keystream is continuous across calls of
 *    any size; transform in place; no padding.
 * 2. The atProtocol "AES" (atprotocol.md 8.1): AES-256-CTR over
 *    PKCS#7-padded plaintext (always 1..16 pad bytes), IV given or 16 zero
 *    bytes, ciphertext as base64. Decryption strips the padding by the value
 *    of the last byte and checks every pad byte (bad -> NP_ERR_FORMAT).
 */
#ifndef NP_CRYPTO_AES_H
#define NP_CRYPTO_AES_H
#include <stddef.h>

#define NP_AES_KEY_LEN 32
#define NP_AES_IV_LEN  16

struct np_aes_ctr;

int np_aes_ctr_new(const unsigned char key[NP_AES_KEY_LEN], const unsigned char iv[NP_AES_IV_LEN],
                   struct np_aes_ctr **out);
/* XOR the next len keystream bytes into buf (encrypt == decrypt). */
int np_aes_ctr_apply(struct np_aes_ctr *c, void *buf, size_t len);
void np_aes_ctr_free(struct np_aes_ctr *c);

/* iv may be NULL for the legacy all-zero IV. *out_b64 is a new string. */
int np_at_aes_encrypt(const unsigned char key[NP_AES_KEY_LEN], const unsigned char *iv,
                      const void *plain, size_t len, char **out_b64);
/* *plain is NUL-terminated (not counted in *plain_len); free with
 * np_freezero(*plain, *plain_len + 1). NP_ERR_FORMAT for bad base64, a
 * ciphertext that is not a positive multiple of 16 bytes, or bad padding. */
int np_at_aes_decrypt(const unsigned char key[NP_AES_KEY_LEN], const unsigned char *iv,
                      const char *cipher_b64, unsigned char **plain, size_t *plain_len);

/* Same with the key (and IV, NULL = zero IV) given as base64 text, as they are
 * stored in .atKeys files and metadata. A key that is not base64 of exactly 32
 * bytes, or an IV not of exactly 16, is NP_ERR_FORMAT. */
int np_at_aes_encrypt_b64key(const char *key_b64, const char *iv_b64, const void *plain, size_t len,
                             char **out_b64);
int np_at_aes_decrypt_b64key(const char *key_b64, const char *iv_b64, const char *cipher_b64,
                             unsigned char **plain, size_t *plain_len);

/* New random AES-256 key as base64 text (44 chars), and IV (24 chars). */
int np_aes_new_key_b64(char **out_b64);
int np_aes_new_iv_b64(char **out_b64);

#endif
