/* lib/crypto/rand.h - secure random bytes (OpenSSL RAND_bytes) and UUID v4. */
#ifndef NP_CRYPTO_RAND_H
#define NP_CRYPTO_RAND_H
#include <stddef.h>

#define NP_UUID_STR_LEN 36

int np_random_bytes(void *buf, size_t n);
/* Lower-case UUID v4 text with hyphens, NUL-terminated (37 bytes). */
int np_uuid4(char out[NP_UUID_STR_LEN + 1]);
/* Constant-time comparison; 1 if equal. */
int np_ct_equal(const void *a, const void *b, size_t n);

#endif
