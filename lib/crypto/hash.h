/* lib/crypto/hash.h - SHA-256, SHA-512 (raw and lower-case hex), MD5 hex. */
#ifndef NP_CRYPTO_HASH_H
#define NP_CRYPTO_HASH_H
#include <stddef.h>

#define NP_SHA256_LEN 32
#define NP_SHA512_LEN 64

int np_sha256(const void *data, size_t len, unsigned char out[NP_SHA256_LEN]);
int np_sha512(const void *data, size_t len, unsigned char out[NP_SHA512_LEN]);
int np_sha256_hex(const void *data, size_t len, char out[2 * NP_SHA256_LEN + 1]);
int np_sha512_hex(const void *data, size_t len, char out[2 * NP_SHA512_LEN + 1]);
/* MD5 only for the atProtocol pubKeyCS checksum (not for security). */
int np_md5_hex(const void *data, size_t len, char out[33]);

#endif
