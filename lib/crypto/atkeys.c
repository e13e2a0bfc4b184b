/*
 * lib/crypto/atkeys.c - read and write the .atKeys file (atprotocol.md 9).
 *
 * The four RSA key texts are stored as ENC(text) = base64(AES-256-CTR(zero IV,
 * PKCS#7(text))) under the plain selfEncryptionKey. Parsing decrypts them and
 * proves the result by parsing every key and checking that each private half
 * matches its public half, so a wrong selfEncryptionKey or a damaged file is
 * always an error with a message, never a key that fails later. Secrets in
 * temporary buffers and cJSON trees are wiped before they are freed.
 */
#include "crypto/atkeys.h"
#include "crypto/aes.h"
#include "crypto/b64.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ATKEYS_MAX (64 * 1024)

static void seterr(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!errbuf || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

/* Wipe every string in a cJSON tree (values and member names), then free it. */
static void wipe_tree(cJSON *v)
{
    for (cJSON *c = v; c; c = c->next) {
        if (c->child)
            wipe_tree(c->child);
        if (c->valuestring)
            np_memzero(c->valuestring, strlen(c->valuestring));
    }
}

static void delete_secret(cJSON *root)
{
    if (!root)
        return;
    wipe_tree(root);
    cJSON_Delete(root);
}

void np_atkeys_free(struct np_atkeys *k)
{
    if (!k)
        return;
    np_freezero_str(k->pkam_public_b64);
    np_freezero_str(k->pkam_private_b64);
    np_freezero_str(k->enc_public_b64);
    np_freezero_str(k->enc_private_b64);
    np_freezero_str(k->self_enc_key_b64);
    np_freezero_str(k->apkam_symmetric_key_b64);
    np_free(k->enrollment_id);
    np_free(k->atsign);
    np_free(k);
}

/* Optional string member: *val NULL when absent or JSON null. */
static int get_string(const cJSON *root, const char *name, int required, const char **val,
                      char *errbuf, size_t errlen)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, name);

    *val = NULL;
    if (!m || cJSON_IsNull(m)) {
        if (!required)
            return 0;
        seterr(errbuf, errlen, "%s: missing", name);
        return NP_ERR_FORMAT;
    }
    if (!cJSON_IsString(m) || !m->valuestring) {
        seterr(errbuf, errlen, "%s: not a string", name);
        return NP_ERR_FORMAT;
    }
    *val = m->valuestring;
    return 0;
}

/* Decrypt one aes* member into a new string and prove it is the key it should
 * be; *keyp (may be NULL) receives the parsed key. */
static int decrypt_field(const cJSON *root, const char *name, int required, int is_private,
                         const unsigned char self_key[NP_AES_KEY_LEN], char **dst,
                         struct np_rsa_key **keyp, char *errbuf, size_t errlen)
{
    const char *enc = NULL;
    unsigned char *raw = NULL, *plain = NULL;
    size_t raw_len = 0, plain_len = 0;
    struct np_rsa_key *key = NULL;
    int r;

    if ((r = get_string(root, name, required, &enc, errbuf, errlen)) != 0 || !enc)
        return r;
    if ((r = np_b64_decode(enc, strlen(enc), &raw, &raw_len)) != 0) {
        seterr(errbuf, errlen, "%s: not valid base64", name);
        goto out;
    }
    if (raw_len == 0 || raw_len % 16 != 0) {
        r = NP_ERR_FORMAT;
        seterr(errbuf, errlen, "%s: ciphertext length %zu is not a multiple of 16", name, raw_len);
        goto out;
    }
    if ((r = np_at_aes_decrypt(self_key, NULL, enc, &plain, &plain_len)) != 0) {
        if (r == NP_ERR_FORMAT)
            seterr(errbuf, errlen, "%s: cannot decrypt with selfEncryptionKey (bad padding)", name);
        else
            seterr(errbuf, errlen, "%s: cannot decrypt: %s", name, np_strerror(r));
        goto out;
    }
    if (strlen((char *)plain) != plain_len) {
        r = NP_ERR_FORMAT;
        seterr(errbuf, errlen, "%s: decrypted value contains a NUL byte (wrong selfEncryptionKey?)",
               name);
        goto out;
    }
    r = is_private ? np_rsa_from_private_b64((char *)plain, &key)
                   : np_rsa_from_public_b64((char *)plain, &key);
    if (r != 0) {
        if (r == NP_ERR_NOMEM)
            seterr(errbuf, errlen, "%s: out of memory", name);
        else
            seterr(errbuf, errlen, "%s: decrypted value is not an RSA %s key (%s%s)", name,
                   is_private ? "PKCS#8 private" : "SPKI public", np_strerror(r),
                   r == NP_ERR_UNSUPPORTED ? "" : "; wrong selfEncryptionKey?");
        goto out;
    }
    *dst = (char *)plain;
    plain = NULL;
    if (keyp) {
        *keyp = key;
        key = NULL;
    }
    r = 0;
out:
    np_rsa_free(key);
    if (plain)
        np_freezero(plain, plain_len + 1);
    np_freezero(raw, raw_len);
    return r;
}

static int copy_opt(const cJSON *root, const char *name, char **dst, char *errbuf, size_t errlen)
{
    const char *v = NULL;
    int r;

    if ((r = get_string(root, name, 0, &v, errbuf, errlen)) != 0 || !v)
        return r;
    if ((*dst = np_strdup(v)) == NULL) {
        seterr(errbuf, errlen, "%s: out of memory", name);
        return NP_ERR_NOMEM;
    }
    return 0;
}

static int check_pair(const struct np_rsa_key *pub, const struct np_rsa_key *priv,
                      const char *pub_name, const char *priv_name, char *errbuf, size_t errlen)
{
    if (!priv || np_rsa_match(pub, priv))
        return 0;
    seterr(errbuf, errlen, "%s: does not match %s", priv_name, pub_name);
    return NP_ERR_FORMAT;
}

int np_atkeys_parse(const char *text, size_t len, struct np_atkeys **out, char *errbuf,
                    size_t errlen)
{
    cJSON *root = NULL;
    const char *end = NULL, *self = NULL, *sym = NULL;
    struct np_atkeys *k = NULL;
    struct np_rsa_key *pkam_pub = NULL, *pkam_priv = NULL, *enc_pub = NULL, *enc_priv = NULL;
    unsigned char self_key[NP_AES_KEY_LEN], tmp[NP_AES_KEY_LEN];
    int r = NP_ERR_INTERNAL;

    seterr(errbuf, errlen, "%s", "");
    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!text) {
        seterr(errbuf, errlen, "no text");
        return NP_ERR_INVAL;
    }
    if (len > ATKEYS_MAX) {
        seterr(errbuf, errlen, "larger than %d bytes", ATKEYS_MAX);
        return NP_ERR_TOOBIG;
    }
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        r = NP_ERR_FORMAT;
        seterr(errbuf, errlen, "not valid JSON (or out of memory)");
        goto out;
    }
    for (; end && end < text + len; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            r = NP_ERR_FORMAT;
            seterr(errbuf, errlen, "not valid JSON: data after the object");
            goto out;
        }
    }
    if (!cJSON_IsObject(root)) {
        r = NP_ERR_FORMAT;
        seterr(errbuf, errlen, "not a JSON object");
        goto out;
    }
    if ((r = get_string(root, "selfEncryptionKey", 1, &self, errbuf, errlen)) != 0)
        goto out;
    if (strlen(self) > 256 || np_b64_decode_exact(self, self_key, sizeof(self_key)) != 0) {
        r = NP_ERR_FORMAT;
        seterr(errbuf, errlen, "selfEncryptionKey: not base64 of 32 bytes");
        goto out;
    }
    if ((k = np_calloc(1, sizeof(*k))) == NULL) {
        r = NP_ERR_NOMEM;
        seterr(errbuf, errlen, "out of memory");
        goto out;
    }
    if ((k->self_enc_key_b64 = np_strdup(self)) == NULL) {
        r = NP_ERR_NOMEM;
        seterr(errbuf, errlen, "out of memory");
        goto out;
    }
    if ((r = decrypt_field(root, "aesPkamPublicKey", 1, 0, self_key, &k->pkam_public_b64, &pkam_pub,
                           errbuf, errlen)) != 0 ||
        (r = decrypt_field(root, "aesPkamPrivateKey", 0, 1, self_key, &k->pkam_private_b64,
                           &pkam_priv, errbuf, errlen)) != 0 ||
        (r = decrypt_field(root, "aesEncryptPublicKey", 1, 0, self_key, &k->enc_public_b64,
                           &enc_pub, errbuf, errlen)) != 0 ||
        (r = decrypt_field(root, "aesEncryptPrivateKey", 1, 1, self_key, &k->enc_private_b64,
                           &enc_priv, errbuf, errlen)) != 0)
        goto out;
    if ((r = check_pair(pkam_pub, pkam_priv, "aesPkamPublicKey", "aesPkamPrivateKey", errbuf,
                        errlen)) != 0 ||
        (r = check_pair(enc_pub, enc_priv, "aesEncryptPublicKey", "aesEncryptPrivateKey", errbuf,
                        errlen)) != 0)
        goto out;
    if ((r = get_string(root, "apkamSymmetricKey", 0, &sym, errbuf, errlen)) != 0)
        goto out;
    if (sym && (strlen(sym) > 256 || np_b64_decode_exact(sym, tmp, sizeof(tmp)) != 0)) {
        r = NP_ERR_FORMAT;
        seterr(errbuf, errlen, "apkamSymmetricKey: not base64 of 32 bytes");
        goto out;
    }
    if ((r = copy_opt(root, "apkamSymmetricKey", &k->apkam_symmetric_key_b64, errbuf, errlen)) !=
            0 ||
        (r = copy_opt(root, "enrollmentId", &k->enrollment_id, errbuf, errlen)) != 0)
        goto out;
    /* The legacy "@atsign": selfEncryptionKey member names the atSign. */
    for (const cJSON *m = root->child; m; m = m->next) {
        if (m->string && m->string[0] == '@' && cJSON_IsString(m)) {
            if ((k->atsign = np_strdup(m->string)) == NULL) {
                r = NP_ERR_NOMEM;
                seterr(errbuf, errlen, "out of memory");
                goto out;
            }
            break;
        }
    }
    *out = k;
    k = NULL;
    r = 0;
out:
    np_memzero(self_key, sizeof(self_key));
    np_memzero(tmp, sizeof(tmp));
    np_rsa_free(pkam_pub);
    np_rsa_free(pkam_priv);
    np_rsa_free(enc_pub);
    np_rsa_free(enc_priv);
    np_atkeys_free(k);
    delete_secret(root);
    return r;
}

int np_atkeys_load(const char *path, struct np_atkeys **out, char *errbuf, size_t errlen)
{
    struct stat st;
    char *buf = NULL, msg[256];
    size_t cap = 0, got = 0;
    int fd = -1, r = NP_ERR_INTERNAL;

    seterr(errbuf, errlen, "%s", "");
    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!path)
        return NP_ERR_INVAL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        int e = errno;
        r = e == ENOENT ? NP_ERR_NOTFOUND : e == EACCES ? NP_ERR_PERM : NP_ERR_IO;
        seterr(errbuf, errlen, "%s: cannot open: %s", path, strerror(e));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        r = NP_ERR_IO;
        seterr(errbuf, errlen, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = NP_ERR_FORMAT;
        seterr(errbuf, errlen, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_mode & 077) {
        r = NP_ERR_PERM;
        seterr(errbuf, errlen,
               "%s: mode %04o lets group/others access the keys; refusing (run: chmod 600 %s)",
               path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    if (st.st_size > ATKEYS_MAX) {
        r = NP_ERR_TOOBIG;
        seterr(errbuf, errlen, "%s: larger than %d bytes", path, ATKEYS_MAX);
        goto out;
    }
    /* Read at most ATKEYS_MAX + 1 bytes whatever stat said (the file may grow). */
    cap = ATKEYS_MAX + 1;
    if ((buf = np_malloc(cap + 1)) == NULL) {
        r = NP_ERR_NOMEM;
        seterr(errbuf, errlen, "%s: out of memory", path);
        goto out;
    }
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = NP_ERR_IO;
            seterr(errbuf, errlen, "%s: read error: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > ATKEYS_MAX) {
        r = NP_ERR_TOOBIG;
        seterr(errbuf, errlen, "%s: larger than %d bytes", path, ATKEYS_MAX);
        goto out;
    }
    buf[got] = '\0';
    msg[0] = '\0';
    if ((r = np_atkeys_parse(buf, got, out, msg, sizeof(msg))) != 0) {
        seterr(errbuf, errlen, "%s: %s", path, msg);
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    np_freezero(buf, cap + 1);
    return r;
}

/* Add name: ENC(value) under the self-encryption key. */
static int add_enc(cJSON *root, const char *name, const char *value, const char *self_b64)
{
    char *enc = NULL;
    int r;

    if (!value)
        return 0;
    if ((r = np_at_aes_encrypt_b64key(self_b64, NULL, value, strlen(value), &enc)) != 0)
        return r;
    r = cJSON_AddStringToObject(root, name, enc) ? 0 : NP_ERR_NOMEM;
    np_free(enc); /* ciphertext: not secret */
    return r;
}

static int add_plain(cJSON *root, const char *name, const char *value)
{
    if (!value)
        return 0;
    return cJSON_AddStringToObject(root, name, value) ? 0 : NP_ERR_NOMEM;
}

int np_atkeys_serialize(const struct np_atkeys *k, const char *atsign, char **out)
{
    cJSON *root = NULL;
    char *name = NULL, *text = NULL;
    unsigned char tmp[NP_AES_KEY_LEN];
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!k || !k->pkam_public_b64 || !k->enc_public_b64 || !k->enc_private_b64 ||
        !k->self_enc_key_b64)
        return NP_ERR_INVAL;
    if (np_b64_decode_exact(k->self_enc_key_b64, tmp, sizeof(tmp)) != 0)
        return NP_ERR_INVAL;
    np_memzero(tmp, sizeof(tmp));
    if (atsign && (atsign[0] == '\0' || strcmp(atsign, "@") == 0))
        return NP_ERR_INVAL;
    if ((root = cJSON_CreateObject()) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = add_enc(root, "aesPkamPublicKey", k->pkam_public_b64, k->self_enc_key_b64)) != 0 ||
        (r = add_enc(root, "aesPkamPrivateKey", k->pkam_private_b64, k->self_enc_key_b64)) != 0 ||
        (r = add_enc(root, "aesEncryptPublicKey", k->enc_public_b64, k->self_enc_key_b64)) != 0 ||
        (r = add_enc(root, "aesEncryptPrivateKey", k->enc_private_b64, k->self_enc_key_b64)) != 0 ||
        (r = add_plain(root, "selfEncryptionKey", k->self_enc_key_b64)) != 0)
        goto out;
    if (atsign) {
        size_t n = strlen(atsign) + 2;
        if ((name = np_malloc(n)) == NULL) {
            r = NP_ERR_NOMEM;
            goto out;
        }
        snprintf(name, n, "%s%s", atsign[0] == '@' ? "" : "@", atsign);
        if ((r = add_plain(root, name, k->self_enc_key_b64)) != 0)
            goto out;
    }
    if ((r = add_plain(root, "apkamSymmetricKey", k->apkam_symmetric_key_b64)) != 0 ||
        (r = add_plain(root, "enrollmentId", k->enrollment_id)) != 0)
        goto out;
    if ((text = cJSON_PrintUnformatted(root)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((*out = np_strdup(text)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    r = 0;
out:
    if (text) {
        np_memzero(text, strlen(text));
        cJSON_free(text);
    }
    np_free(name);
    delete_secret(root);
    return r;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NP_ERR_IO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int np_atkeys_write(const char *path, const struct np_atkeys *k, const char *atsign)
{
    char *text = NULL, *tmp = NULL;
    size_t n;
    int fd = -1, r = NP_ERR_INTERNAL, created = 0;

    if (!path || !k)
        return NP_ERR_INVAL;
    if ((r = np_atkeys_serialize(k, atsign, &text)) != 0)
        goto out;
    n = strlen(path) + sizeof(".tmpXXXXXX");
    if ((tmp = np_malloc(n)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        r = errno == EACCES ? NP_ERR_PERM : errno == ENOENT ? NP_ERR_NOTFOUND : NP_ERR_IO;
        goto out;
    }
    created = 1;
    if (fchmod(fd, 0600) != 0 || (r = write_all(fd, text, strlen(text))) != 0 || fsync(fd) != 0) {
        r = NP_ERR_IO;
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        r = NP_ERR_IO;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        r = errno == EACCES ? NP_ERR_PERM : NP_ERR_IO;
        goto out;
    }
    created = 0;
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    if (created)
        unlink(tmp);
    np_free(tmp);
    np_freezero_str(text);
    return r;
}

int np_atkeys_default_path(const char *atsign, char *dst, size_t size)
{
    const char *home = getenv("HOME");

    if (!atsign || !dst || size == 0 || atsign[0] == '\0' || strcmp(atsign, "@") == 0 ||
        strchr(atsign, '/'))
        return NP_ERR_INVAL;
    if (!home || home[0] == '\0')
        return NP_ERR_NOTFOUND;
    return np_str_fmt(dst, size, "%s/.atsign/keys/%s%s_key.atKeys", home,
                      atsign[0] == '@' ? "" : "@", atsign);
}
