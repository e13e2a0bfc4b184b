/*
 * lib/crypto/b64.c - strict standard base64 (RFC 4648 section 4).
 *
 * Not a cryptographic primitive, so it is written here rather than borrowed
 * from OpenSSL, whose EVP_DecodeBlock accepts whitespace and non-canonical
 * trailing bits. Invariant: np_b64_decode(np_b64_encode(x)) == x, and every
 * accepted text is the unique encoding of its bytes.
 */
#include "crypto/b64.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdint.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63, or -1 for anything outside the alphabet (including '='). */
static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

size_t np_b64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

int np_b64_encode(const void *in, size_t len, char **out, size_t *out_len)
{
    const unsigned char *p = in;
    size_t olen, i, j = 0;
    char *s;

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!out || (!in && len))
        return NP_ERR_INVAL;
    if (len > (SIZE_MAX / 4 - 1) * 3)
        return NP_ERR_TOOBIG;
    olen = np_b64_encoded_len(len);
    if ((s = np_malloc(olen + 1)) == NULL)
        return NP_ERR_NOMEM;
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        s[j++] = alphabet[v >> 18];
        s[j++] = alphabet[(v >> 12) & 63];
        s[j++] = alphabet[(v >> 6) & 63];
        s[j++] = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        s[j++] = alphabet[v >> 18];
        s[j++] = alphabet[(v >> 12) & 63];
        s[j++] = '=';
        s[j++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        s[j++] = alphabet[v >> 18];
        s[j++] = alphabet[(v >> 12) & 63];
        s[j++] = alphabet[(v >> 6) & 63];
        s[j++] = '=';
    }
    s[j] = '\0';
    *out = s;
    if (out_len)
        *out_len = olen;
    return 0;
}

/* Decoded size of a text of len characters, or NP_ERR_FORMAT if the length or
 * the padding placement is impossible. Characters are checked by decode_into. */
static int decoded_len(const char *in, size_t len, size_t *n)
{
    size_t pad = 0;

    if (len % 4 != 0)
        return NP_ERR_FORMAT;
    if (len > 0 && in[len - 1] == '=') {
        pad = 1;
        if (in[len - 2] == '=')
            pad = 2;
    }
    *n = len / 4 * 3 - pad;
    return 0;
}

/* Decode len characters into out (room for the decoded size, computed by
 * decoded_len). Rejects foreign characters, '=' anywhere but the final
 * padding, and set bits that the padding says are unused. */
static int decode_into(const char *in, size_t len, unsigned char *out)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i, j = 0;

    for (i = 0; i < len; i += 4) {
        int last = (i + 4 == len);
        int a = sextet(p[i]), b = sextet(p[i + 1]), c, d;

        if (a < 0 || b < 0)
            return NP_ERR_FORMAT;
        if (last && p[i + 2] == '=' && p[i + 3] == '=') {
            if (b & 15)
                return NP_ERR_FORMAT;
            out[j++] = (unsigned char)(a << 2 | b >> 4);
            break;
        }
        c = sextet(p[i + 2]);
        if (c < 0)
            return NP_ERR_FORMAT;
        if (last && p[i + 3] == '=') {
            if (c & 3)
                return NP_ERR_FORMAT;
            out[j++] = (unsigned char)(a << 2 | b >> 4);
            out[j++] = (unsigned char)((b & 15) << 4 | c >> 2);
            break;
        }
        d = sextet(p[i + 3]);
        if (d < 0)
            return NP_ERR_FORMAT;
        out[j++] = (unsigned char)(a << 2 | b >> 4);
        out[j++] = (unsigned char)((b & 15) << 4 | c >> 2);
        out[j++] = (unsigned char)((c & 3) << 6 | d);
    }
    return 0;
}

int np_b64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
    unsigned char *buf = NULL;
    size_t n = 0;
    int r;

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!out || (!in && len))
        return NP_ERR_INVAL;
    if ((r = decoded_len(in, len, &n)) != 0)
        return r;
    if ((buf = np_malloc(n + 1)) == NULL)
        return NP_ERR_NOMEM;
    if ((r = decode_into(in, len, buf)) != 0) {
        np_freezero(buf, n + 1);
        return r;
    }
    buf[n] = '\0';
    *out = buf;
    if (out_len)
        *out_len = n;
    return 0;
}

int np_b64_decode_exact(const char *in, unsigned char *out, size_t want)
{
    size_t len, n = 0;
    int r;

    if (!in || (!out && want))
        return NP_ERR_INVAL;
    len = strlen(in);
    if ((r = decoded_len(in, len, &n)) != 0)
        return r;
    if (n != want)
        return NP_ERR_FORMAT;
    if ((r = decode_into(in, len, out)) != 0) {
        np_memzero(out, want);
        return r;
    }
    return 0;
}
