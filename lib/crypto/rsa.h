/*
 * lib/crypto/rsa.h - RSA-2048 keys and operations; the one module that uses
 * private keys (style.md practice 14).
 *
 * Key texts: public = base64 DER SubjectPublicKeyInfo, private = base64 DER
 * PKCS#8 PrivateKeyInfo (no PEM, no line breaks). Keys of 2048 to 4096 bits
 * are accepted (smaller or larger -> NP_ERR_UNSUPPORTED); bad base64 or DER
 * (including trailing bytes after the DER) -> NP_ERR_FORMAT. Signatures RSASSA-PKCS1-v1_5
 * (SHA-256 or SHA-512), encryption RSAES-PKCS1-v1_5. Only RSA keys are
 * accepted (another key type -> NP_ERR_UNSUPPORTED).
 *
 * struct np_rsa_key is opaque; np_rsa_free accepts NULL. Out-parameters are
 * set to NULL at entry and filled only on success.
 */
#ifndef NP_CRYPTO_RSA_H
#define NP_CRYPTO_RSA_H
#include <stddef.h>

struct np_rsa_key;

enum np_hash_alg { NP_HASH_SHA256 = 256, NP_HASH_SHA512 = 512 };

/* New 2048-bit key pair, e = 65537 (two primes: for long-lived keys). */
int np_rsa_generate(struct np_rsa_key **out);
/* New 2048-bit key pair, e = 65537, for one session's key exchange (the
 * client's ephemeral key, noports-wire.md 3.3): three primes (RFC 8017
 * multi-prime RSA, allowed for 2048 bits by OpenSSL's own cap). Its public
 * half is an ordinary RSA-2048 public key; generating it takes about a
 * third of the CPU of a two-prime key (~70 instead of ~200 ms), which is
 * on the critical path of every session. Falls back to two primes where
 * the provider refuses multi-prime keys (FIPS providers do). Same errors as
 * np_rsa_generate. */
int np_rsa_generate_session(struct np_rsa_key **out);
int np_rsa_from_public_b64(const char *b64, struct np_rsa_key **out);
int np_rsa_from_private_b64(const char *b64, struct np_rsa_key **out);
void np_rsa_free(struct np_rsa_key *k);
int np_rsa_has_private(const struct np_rsa_key *k);
/* Key sizes in bytes (256 for RSA-2048). */
size_t np_rsa_size(const struct np_rsa_key *k);
/* 1 if both keys (public or private) have the same public half, else 0
 * (also 0 if either is NULL). */
int np_rsa_match(const struct np_rsa_key *a, const struct np_rsa_key *b);

/* Export as new base64 strings (caller frees; private with np_freezero_str). */
int np_rsa_public_b64(const struct np_rsa_key *k, char **out);
int np_rsa_private_b64(const struct np_rsa_key *k, char **out);

/* Sign data; *sig gets np_rsa_size() bytes (caller frees). */
int np_rsa_sign(const struct np_rsa_key *k, enum np_hash_alg alg, const void *data, size_t len,
                unsigned char **sig, size_t *sig_len);
/* Sign data; *sig_b64 gets the base64 text (344 chars for RSA-2048). */
int np_rsa_sign_b64(const struct np_rsa_key *k, enum np_hash_alg alg, const void *data, size_t len,
                    char **sig_b64);
/* 0 if valid, NP_ERR_VERIFY if not, other codes for bad input. */
int np_rsa_verify(const struct np_rsa_key *k, enum np_hash_alg alg, const void *data, size_t len,
                  const unsigned char *sig, size_t sig_len);
int np_rsa_verify_b64(const struct np_rsa_key *k, enum np_hash_alg alg, const void *data,
                      size_t len, const char *sig_b64);

/* RSAES-PKCS1-v1_5. Plaintext at most size - 11 bytes. */
int np_rsa_encrypt(const struct np_rsa_key *k, const void *in, size_t len, unsigned char **out,
                   size_t *out_len);
int np_rsa_decrypt(const struct np_rsa_key *k, const unsigned char *in, size_t len,
                   unsigned char **out, size_t *out_len);
/* Encrypt bytes, result as base64 text. */
int np_rsa_encrypt_b64(const struct np_rsa_key *k, const void *in, size_t len, char **out_b64);
/* Decrypt base64 ciphertext; *out is NUL-terminated (not counted in *out_len);
 * free it with np_freezero(*out, *out_len + 1). */
int np_rsa_decrypt_b64(const struct np_rsa_key *k, const char *in_b64, unsigned char **out,
                       size_t *out_len);

#endif
