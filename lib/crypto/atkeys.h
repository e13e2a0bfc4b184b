/*
 * lib/crypto/atkeys.h - the .atKeys file (atprotocol.md section 9).
 *
 * JSON object; aesPkamPublicKey, aesPkamPrivateKey, aesEncryptPublicKey,
 * aesEncryptPrivateKey are each ENC(key text) = base64(AES-256-CTR(zero IV,
 * PKCS#7(text))) under selfEncryptionKey (base64 of 32 bytes, stored plain).
 * Optional apkamSymmetricKey and enrollmentId (APKAM). Unknown fields are
 * ignored on read. Written with mode 0600; reading a file that others can
 * read (mode & 077 other than owner) is refused with NP_ERR_PERM.
 */
#ifndef NP_CRYPTO_ATKEYS_H
#define NP_CRYPTO_ATKEYS_H
#include <stddef.h>

/* Decrypted contents; every string is owned by the struct. */
struct np_atkeys {
    char *pkam_public_b64;         /* B64 SPKI of the PKAM (or APKAM) public key */
    char *pkam_private_b64;        /* B64 PKCS#8 (NULL when the file has none) */
    char *enc_public_b64;          /* B64 SPKI of the encryption public key */
    char *enc_private_b64;         /* B64 PKCS#8 of the encryption private key */
    char *self_enc_key_b64;        /* B64 of the 32-byte self-encryption key */
    char *apkam_symmetric_key_b64; /* optional */
    char *enrollment_id;           /* optional */
    char *atsign;                  /* optional: the "@name" member, if present */
};

/*
 * Parse file text (at most 64 KiB, else NP_ERR_TOOBIG). Besides the JSON
 * shape it proves the content: every decrypted key must parse as an RSA key
 * of its kind and each private half must match its public half, so a wrong
 * selfEncryptionKey or a damaged field is NP_ERR_FORMAT (NP_ERR_NOMEM,
 * NP_ERR_UNSUPPORTED for a non-RSA key). On error, if errbuf is given, writes
 * a message naming the field and the problem (e.g. "aesPkamPrivateKey: not
 * valid base64"); never a secret. *out is a new struct (np_atkeys_free).
 */
int np_atkeys_parse(const char *text, size_t len, struct np_atkeys **out, char *errbuf,
                    size_t errlen);
/* Load from a path: NP_ERR_NOTFOUND (no file), NP_ERR_PERM (mode & 077 set,
 * or unreadable), NP_ERR_TOOBIG (over 64 KiB), NP_ERR_IO, or any parse error.
 * The message in errbuf starts with the path. */
int np_atkeys_load(const char *path, struct np_atkeys **out, char *errbuf, size_t errlen);
/* Serialize (official field names, compact JSON) into a new string, which
 * holds the selfEncryptionKey: free it with np_freezero_str. `atsign` (may be
 * NULL; '@' added when missing) adds the legacy "@atsign": selfEncryptionKey
 * member. */
int np_atkeys_serialize(const struct np_atkeys *k, const char *atsign, char **out);
/* Write atomically (temp file <path>.tmpXXXXXX, fsync, rename) with mode
 * 0600, creating no dirs. NP_ERR_INVAL if a required key (all but
 * pkam_private_b64 and the optional ones) is missing. */
int np_atkeys_write(const char *path, const struct np_atkeys *k, const char *atsign);
/* Default path $HOME/.atsign/keys/<@atsign>_key.atKeys into dst ('@' added
 * when missing). NP_ERR_NOTFOUND without $HOME, NP_ERR_TOOBIG if dst is too
 * small, NP_ERR_INVAL for an empty atSign or one containing '/'. */
int np_atkeys_default_path(const char *atsign, char *dst, size_t size);
/* Wipes and frees; NULL-safe. */
void np_atkeys_free(struct np_atkeys *k);

#endif
