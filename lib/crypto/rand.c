/*
 * lib/crypto/rand.c - random bytes from OpenSSL's CSPRNG (RAND_bytes), UUID
 * version 4 text, and constant-time comparison (CRYPTO_memcmp).
 */
#include "crypto/rand.h"
#include "util/err.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

int np_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    if (!buf && n)
        return NP_ERR_INVAL;
    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, chunk) != 1) {
            ERR_clear_error();
            return NP_ERR_CRYPTO;
        }
        p += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

int np_uuid4(char out[NP_UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t j = 0;
    int r;

    if (!out)
        return NP_ERR_INVAL;
    if ((r = np_random_bytes(b, sizeof(b))) != 0)
        return r;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10xx (RFC 4122) */
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[j++] = '-';
        out[j++] = hex[b[i] >> 4];
        out[j++] = hex[b[i] & 15];
    }
    out[j] = '\0';
    return 0;
}

int np_ct_equal(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return 1;
    return CRYPTO_memcmp(a, b, n) == 0;
}
