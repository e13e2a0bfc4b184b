/*
 * lib/crypto/hash.c - SHA-256, SHA-512 and MD5 through OpenSSL's one-shot
 * EVP_Digest. Hex output is lower case and NUL-terminated.
 */
#include "crypto/hash.h"
#include "util/err.h"

#include <openssl/err.h>
#include <openssl/evp.h>

static int digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out,
                  unsigned int want)
{
    unsigned int n = 0;

    if (!data && len)
        return NP_ERR_INVAL;
    if (!md || EVP_Digest(len ? data : "", len, out, &n, md, NULL) != 1 || n != want) {
        ERR_clear_error();
        return NP_ERR_CRYPTO;
    }
    return 0;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int np_sha256(const void *data, size_t len, unsigned char out[NP_SHA256_LEN])
{
    return digest(EVP_sha256(), data, len, out, NP_SHA256_LEN);
}

int np_sha512(const void *data, size_t len, unsigned char out[NP_SHA512_LEN])
{
    return digest(EVP_sha512(), data, len, out, NP_SHA512_LEN);
}

int np_sha256_hex(const void *data, size_t len, char out[2 * NP_SHA256_LEN + 1])
{
    unsigned char d[NP_SHA256_LEN];
    int r;

    if ((r = np_sha256(data, len, d)) != 0)
        return r;
    to_hex(d, sizeof(d), out);
    return 0;
}

int np_sha512_hex(const void *data, size_t len, char out[2 * NP_SHA512_LEN + 1])
{
    unsigned char d[NP_SHA512_LEN];
    int r;

    if ((r = np_sha512(data, len, d)) != 0)
        return r;
    to_hex(d, sizeof(d), out);
    return 0;
}

int np_md5_hex(const void *data, size_t len, char out[33])
{
    unsigned char d[16];
    int r;

    if ((r = digest(EVP_md5(), data, len, d, sizeof(d))) != 0)
        return r;
    to_hex(d, sizeof(d), out);
    return 0;
}
