/*
 * lib/at/e2e.h - the atProtocol end-to-end encryption formats (atprotocol.md
 * 8): the per-pair AES key wrapped with RSA, values and notifications
 * encrypted with AES-256-CTR + PKCS#7 under a random or legacy zero IV.
 *
 * Pure functions over lib/crypto: no I/O, no state. Key texts are the wire
 * forms: an AES key is base64 of 32 bytes (44 characters, AT_E2E_KEY_B64_BUF
 * with the NUL), an IV ("ivNonce") base64 of 16 bytes.
 *
 * Formats (8.1, 8.2):
 *   wrapped shared key = B64( RSAES-PKCS1-v1_5( pub, UTF8( B64(aesKey) ) ) )
 *                        - the RSA plaintext is the 44-byte base64 TEXT of
 *                        the key, so unwrapping yields base64 to decode again;
 *   value ciphertext   = B64( AES-256-CTR( key, IV, PKCS7( UTF8(value) ) ) ),
 *                        IV = B64-decoded ivNonce, or 16 zero bytes when the
 *                        ivNonce is absent or the literal "null".
 * Padding is stripped by the value of the last byte (never by scanning for
 * NUL, at_c's bug), so plaintexts may contain NUL bytes.
 *
 * Secrets: every output that holds a key or a plaintext is documented as
 * such and must be released with np_freezero / np_freezero_str.
 */
#ifndef AT_E2E_H
#define AT_E2E_H
#include <stdbool.h>
#include <stddef.h>

struct np_rsa_key;

/* Base64 AES-256 key text plus NUL. */
#define AT_E2E_KEY_B64_BUF 45
/* Base64 IV text plus NUL. */
#define AT_E2E_IV_B64_BUF 25
/* Lower-case hex MD5 plus NUL (pubKeyCS). */
#define AT_E2E_CS_BUF 33

/*
 * Wrap the AES key text key_b64 (must be base64 of exactly 32 bytes, else
 * NP_ERR_FORMAT) for the holder of `pub` (a public or private RSA key
 * object). *out_b64 (cleared at entry) is a new string (np_free).
 * Errors: NP_ERR_INVAL, NP_ERR_FORMAT, NP_ERR_CRYPTO, NP_ERR_NOMEM.
 */
int at_e2e_wrap_key(const struct np_rsa_key *pub, const char *key_b64, char **out_b64);

/*
 * Unwrap a shared key with the private key `priv`: RSA-decrypt the base64
 * wrapped_b64, check that the plaintext is base64 text of exactly 32 bytes,
 * and copy that text to out (AT_E2E_KEY_B64_BUF bytes, NUL-terminated; a
 * secret, wipe it when done). out[0] = '\0' at entry.
 * Errors: NP_ERR_INVAL, NP_ERR_FORMAT (bad base64 or plaintext not a key),
 * NP_ERR_CRYPTO (wrong private key, bad padding), NP_ERR_NOMEM.
 */
int at_e2e_unwrap_key(const struct np_rsa_key *priv, const char *wrapped_b64,
                      char out[AT_E2E_KEY_B64_BUF]);

/*
 * Encrypt plain[0..len) under key_b64 with a fresh random IV. *iv_b64 and
 * *cipher_b64 (cleared at entry) are new strings (np_free; neither is
 * secret). iv_b64 may be NULL to use the legacy zero IV.
 * Errors: NP_ERR_INVAL, NP_ERR_FORMAT (key not base64 of 32 bytes),
 * NP_ERR_CRYPTO, NP_ERR_NOMEM.
 */
int at_e2e_encrypt(const char *key_b64, const void *plain, size_t len, char **iv_b64,
                   char **cipher_b64);

/*
 * Decrypt cipher_b64 under key_b64 with the IV iv_b64 (NULL, "" or "null":
 * zero IV). *plain (cleared at entry) is new NUL-terminated memory holding
 * *plain_len bytes (the NUL not counted; plaintext may hold NUL bytes);
 * it is a secret: np_freezero(*plain, *plain_len + 1).
 * Errors: NP_ERR_INVAL, NP_ERR_FORMAT (bad base64, bad length, bad padding,
 * bad key or IV text), NP_ERR_CRYPTO, NP_ERR_NOMEM.
 */
int at_e2e_decrypt(const char *key_b64, const char *iv_b64, const char *cipher_b64, char **plain,
                   size_t *plain_len);

/* pubKeyCS: lower-case hex MD5 of the UTF-8 public key text (8.1). */
int at_e2e_pubkey_checksum(const char *pub_b64, char out[AT_E2E_CS_BUF]);

/* Is this ivNonce value "no IV" (NULL, empty or the literal "null")? */
bool at_e2e_iv_is_null(const char *iv_b64);

#endif
