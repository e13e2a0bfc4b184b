/*
 * lib/crypto/b64.h - standard base64 (RFC 4648 section 4, with padding).
 *
 * Decoding is strict: only the standard alphabet, length a multiple of 4,
 * '=' only as final padding, no whitespace, non-canonical trailing bits
 * rejected. Bad input -> NP_ERR_FORMAT.
 */
#ifndef NP_CRYPTO_B64_H
#define NP_CRYPTO_B64_H
#include <stddef.h>

/* Length of the encoding of n bytes (without NUL). */
size_t np_b64_encoded_len(size_t n);
/* Encode into a new NUL-terminated string *out (caller np_free()s);
 * *out_len (may be NULL) gets its length. */
int np_b64_encode(const void *in, size_t len, char **out, size_t *out_len);
/* Decode `len` characters into new memory *out (NUL-terminated for
 * convenience, not counted in *out_len). Caller frees (np_freezero for secrets). */
int np_b64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);
/* Decode into a caller buffer that must be exactly `want` bytes long after
 * decoding (keys, IVs); any other length is NP_ERR_FORMAT. */
int np_b64_decode_exact(const char *in, unsigned char *out, size_t want);

#endif
