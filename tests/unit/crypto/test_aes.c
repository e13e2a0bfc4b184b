/*
 * Unit tests for lib/crypto/aes.c: NIST SP 800-38A F.5.5/F.5.6, the
 * atProtocol vectors of atprotocol.md 8.1, streaming in random chunks,
 * 128-bit counter carry, strict PKCS#7 unpadding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aes.h"
#include "crypto/b64.h"
#include "crypto/rand.h"
#include "testhelp.h"
#include "util/alloc.h"
#include "util/err.h"

static const char *nist_key = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
static const char *nist_ctr = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
static const char *nist_plain = "6bc1bee22e409f96e93d7e117393172a"
                                "ae2d8a571e03ac9c9eb76fac45af8e51"
                                "30c81c46a35ce411e5fbc1191a0a52ef"
                                "f69f2445df4f9b17ad2b417be66c3710";
static const char *nist_cipher = "601ec313775789a5b7a7f504bbf3d228"
                                 "f443e3ca4d62b59aca84e990cacaf5c5"
                                 "2b0930daa23de94ce87017ba2d84988d"
                                 "dfc9c58db67aada613c2dd08457941a6";

static void test_nist_f55_f56(void **state)
{
    unsigned char key[32], iv[16], p[64], c[64], buf[64];
    struct np_aes_ctr *ctx = NULL;

    assert_int_equal(th_unhex(nist_key, key, 32), 0);
    assert_int_equal(th_unhex(nist_ctr, iv, 16), 0);
    assert_int_equal(th_unhex(nist_plain, p, 64), 0);
    assert_int_equal(th_unhex(nist_cipher, c, 64), 0);
    /* F.5.5 encrypt, block by block through one context */
    memcpy(buf, p, 64);
    assert_int_equal(np_aes_ctr_new(key, iv, &ctx), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(np_aes_ctr_apply(ctx, buf + 16 * i, 16), 0);
    np_aes_ctr_free(ctx);
    assert_memory_equal(buf, c, 64);
    /* F.5.6 decrypt in one call */
    assert_int_equal(np_aes_ctr_new(key, iv, &ctx), 0);
    assert_int_equal(np_aes_ctr_apply(ctx, buf, 64), 0);
    np_aes_ctr_free(ctx);
    assert_memory_equal(buf, p, 64);
    np_aes_ctr_free(NULL);
}

static void test_stream_random_chunks(void **state)
{
    enum { N = 20000 };
    unsigned char key[32], iv[16], *one = malloc(N), *chunked = malloc(N), sizes[4096];
    struct np_aes_ctr *a = NULL, *b = NULL;
    size_t off = 0, si = 0;

    assert_non_null(one);
    assert_non_null(chunked);
    assert_int_equal(np_random_bytes(key, sizeof(key)), 0);
    assert_int_equal(np_random_bytes(iv, sizeof(iv)), 0);
    assert_int_equal(np_random_bytes(one, N), 0);
    assert_int_equal(np_random_bytes(sizes, sizeof(sizes)), 0);
    memcpy(chunked, one, N);
    assert_int_equal(np_aes_ctr_new(key, iv, &a), 0);
    assert_int_equal(np_aes_ctr_new(key, iv, &b), 0);
    assert_int_equal(np_aes_ctr_apply(a, one, N), 0);
    /* chunks of 0..63 bytes; at most sizeof(sizes) iterations */
    while (off < N && si < sizeof(sizes)) {
        size_t n = sizes[si++] % 64;
        if (n > N - off)
            n = N - off;
        assert_int_equal(np_aes_ctr_apply(b, chunked + off, n), 0);
        off += n;
    }
    assert_int_equal(np_aes_ctr_apply(b, chunked + off, N - off), 0);
    assert_memory_equal(one, chunked, N);
    np_aes_ctr_free(a);
    np_aes_ctr_free(b);
    free(one);
    free(chunked);
}

/* The counter is the whole 128-bit block, big-endian: block 2 of IV x equals
 * block 1 of IV x+1, including carries across the 64-bit halves and the wrap. */
static void check_next_counter(const char *iv_hex, const char *next_hex)
{
    unsigned char key[32], iv[16], next[16], two[32], one[16];
    struct np_aes_ctr *c = NULL;

    memset(key, 0x5a, sizeof(key));
    assert_int_equal(th_unhex(iv_hex, iv, 16), 0);
    assert_int_equal(th_unhex(next_hex, next, 16), 0);
    memset(two, 0, sizeof(two));
    memset(one, 0, sizeof(one));
    assert_int_equal(np_aes_ctr_new(key, iv, &c), 0);
    assert_int_equal(np_aes_ctr_apply(c, two, 32), 0);
    np_aes_ctr_free(c);
    assert_int_equal(np_aes_ctr_new(key, next, &c), 0);
    assert_int_equal(np_aes_ctr_apply(c, one, 16), 0);
    np_aes_ctr_free(c);
    assert_memory_equal(two + 16, one, 16);
    assert_memory_not_equal(two, one, 16);
}

static void test_counter_carry(void **state)
{
    check_next_counter("000102030405060708090a0b0c0d0e0f", "000102030405060708090a0b0c0d0e10");
    check_next_counter("0000000000000000ffffffffffffffff", "00000000000000010000000000000000");
    check_next_counter("ffffffffffffffffffffffffffffffff", "00000000000000000000000000000000");
}

static const char *at_key_b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static const char *at_iv_b64 = "EBESExQVFhcYGRobHB0eHw==";

static void check_at_vector(const char *plain, const char *iv_b64, const char *expect)
{
    unsigned char key[32], iv[16], *dec = NULL;
    size_t n = 0;
    char *enc = NULL;

    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)i;
    for (int i = 0; i < 16; i++)
        iv[i] = (unsigned char)(0x10 + i);
    assert_int_equal(np_at_aes_encrypt(key, iv_b64 ? iv : NULL, plain, strlen(plain), &enc), 0);
    assert_string_equal(enc, expect);
    np_free(enc);
    assert_int_equal(np_at_aes_decrypt(key, iv_b64 ? iv : NULL, expect, &dec, &n), 0);
    assert_int_equal(n, strlen(plain));
    assert_string_equal((char *)dec, plain);
    np_freezero(dec, n + 1);
    /* the same through the base64-key entry points */
    assert_int_equal(np_at_aes_encrypt_b64key(at_key_b64, iv_b64, plain, strlen(plain), &enc), 0);
    assert_string_equal(enc, expect);
    np_free(enc);
    assert_int_equal(np_at_aes_decrypt_b64key(at_key_b64, iv_b64, expect, &dec, &n), 0);
    assert_string_equal((char *)dec, plain);
    np_freezero(dec, n + 1);
}

static void test_atprotocol_vectors(void **state)
{
    check_at_vector("hello", NULL, "mvVs2kVClNui+JFh1iV8iw==");
    check_at_vector("hello", at_iv_b64, "gaaD5t0/WO37f5fdPeyjhQ==");
    check_at_vector("0123456789abcdef", NULL, "wqEyhR58qeeRyvsIvkoS5uBNZr5aqY/1tuaLIVjSJi0=");
    check_at_vector("0123456789abcdef", at_iv_b64, "2fLduYYBZdHITf20VYPN6OnRW4rrhNTxpuKAU007IMM=");
}

static void test_at_padding_lengths(void **state)
{
    unsigned char key[32], data[40], *dec = NULL, *raw = NULL;
    size_t n = 0;

    assert_int_equal(np_random_bytes(key, sizeof(key)), 0);
    assert_int_equal(np_random_bytes(data, sizeof(data)), 0);
    data[3] = 0; /* embedded NUL must survive (at_c's bug) */
    for (size_t len = 0; len <= sizeof(data); len++) {
        char *enc = NULL;
        assert_int_equal(np_at_aes_encrypt(key, NULL, data, len, &enc), 0);
        assert_int_equal(np_b64_decode(enc, strlen(enc), &raw, &n), 0);
        assert_int_equal(n, (len / 16 + 1) * 16);
        np_free(raw);
        assert_int_equal(np_at_aes_decrypt(key, NULL, enc, &dec, &n), 0);
        assert_int_equal(n, len);
        if (len)
            assert_memory_equal(dec, data, len);
        assert_int_equal(dec[n], 0);
        np_freezero(dec, n + 1);
        np_free(enc);
    }
}

/* CTR-encrypt a raw (already "padded") block, then ask np_at_aes_decrypt. */
static int decrypt_raw(const unsigned char *block, size_t len)
{
    unsigned char key[32], buf[64], iv[16] = {0}, *dec = (unsigned char *)1;
    struct np_aes_ctr *c = NULL;
    char *b64 = NULL;
    size_t n = 5;
    int r;

    memset(key, 7, sizeof(key));
    memcpy(buf, block, len);
    assert_int_equal(np_aes_ctr_new(key, iv, &c), 0);
    assert_int_equal(np_aes_ctr_apply(c, buf, len), 0);
    np_aes_ctr_free(c);
    assert_int_equal(np_b64_encode(buf, len, &b64, NULL), 0);
    r = np_at_aes_decrypt(key, NULL, b64, &dec, &n);
    if (r != 0) {
        assert_null(dec);
        assert_int_equal(n, 0);
    } else {
        np_freezero(dec, n + 1);
    }
    np_free(b64);
    return r;
}

static void test_bad_padding(void **state)
{
    unsigned char b[32];

    memset(b, 'a', sizeof(b));
    b[15] = 0; /* pad value 0 */
    assert_int_equal(decrypt_raw(b, 16), NP_ERR_FORMAT);
    b[15] = 17; /* more than a block */
    assert_int_equal(decrypt_raw(b, 16), NP_ERR_FORMAT);
    b[15] = 0xff;
    assert_int_equal(decrypt_raw(b, 16), NP_ERR_FORMAT);
    memset(b + 12, 4, 4);
    b[12] = 3; /* one pad byte wrong */
    assert_int_equal(decrypt_raw(b, 16), NP_ERR_FORMAT);
    b[12] = 4;
    assert_int_equal(decrypt_raw(b, 16), 0);
    memset(b, 16, 16); /* a whole block of padding is valid */
    assert_int_equal(decrypt_raw(b, 16), 0);
    b[0] = 15;
    assert_int_equal(decrypt_raw(b, 16), NP_ERR_FORMAT);
    memset(b, 'x', 32);
    b[31] = 17; /* pad 17 across two blocks is still invalid */
    memset(b + 15, 17, 17);
    assert_int_equal(decrypt_raw(b, 32), NP_ERR_FORMAT);
}

static void test_bad_ciphertext(void **state)
{
    unsigned char key[32], *dec = NULL;
    size_t n;

    memset(key, 1, sizeof(key));
    assert_int_equal(np_at_aes_decrypt(key, NULL, "", &dec, &n), NP_ERR_FORMAT);
    assert_int_equal(np_at_aes_decrypt(key, NULL, "not base64!", &dec, &n), NP_ERR_FORMAT);
    assert_int_equal(np_at_aes_decrypt(key, NULL, "mvVs2kVClNui+JFh1iV8", &dec, &n), NP_ERR_FORMAT);
    /* 15 bytes: not a multiple of the block */
    assert_int_equal(np_at_aes_decrypt(key, NULL, "AAAAAAAAAAAAAAAAAAAA", &dec, &n), NP_ERR_FORMAT);
    /* wrong key lengths in the b64 entry points */
    assert_int_equal(
        np_at_aes_decrypt_b64key(at_iv_b64, NULL, "mvVs2kVClNui+JFh1iV8iw==", &dec, &n),
        NP_ERR_FORMAT);
    assert_int_equal(
        np_at_aes_decrypt_b64key(at_key_b64, at_key_b64, "mvVs2kVClNui+JFh1iV8iw==", &dec, &n),
        NP_ERR_FORMAT);
    assert_null(dec);
    {
        char *enc = (char *)1;
        assert_int_equal(np_at_aes_encrypt_b64key("short", NULL, "x", 1, &enc), NP_ERR_FORMAT);
        assert_null(enc);
    }
}

static void test_new_key_iv(void **state)
{
    char *k1 = NULL, *k2 = NULL, *iv = NULL;
    unsigned char kb[32], ivb[16];

    assert_int_equal(np_aes_new_key_b64(&k1), 0);
    assert_int_equal(np_aes_new_key_b64(&k2), 0);
    assert_int_equal(np_aes_new_iv_b64(&iv), 0);
    assert_int_equal(strlen(k1), 44);
    assert_int_equal(strlen(iv), 24);
    assert_string_not_equal(k1, k2);
    assert_int_equal(np_b64_decode_exact(k1, kb, 32), 0);
    assert_int_equal(np_b64_decode_exact(iv, ivb, 16), 0);
    np_freezero_str(k1);
    np_freezero_str(k2);
    np_free(iv);
}

static void test_alloc_failure(void **state)
{
    unsigned char key[32] = {0}, iv[16] = {0};
    struct np_aes_ctr *c = (struct np_aes_ctr *)1;
    char *enc = (char *)1;

    np_alloc_fail_after(0);
    assert_int_equal(np_aes_ctr_new(key, iv, &c), NP_ERR_NOMEM);
    assert_int_equal(np_at_aes_encrypt(key, NULL, "x", 1, &enc), NP_ERR_NOMEM);
    np_alloc_fail_after(-1);
    assert_null(c);
    assert_null(enc);
    for (long i = 0; i < 10; i++) {
        int r;
        np_alloc_fail_after(i);
        r = np_at_aes_encrypt(key, NULL, "hello", 5, &enc);
        np_alloc_fail_after(-1);
        if (r == 0) {
            np_free(enc);
            break;
        }
        assert_int_equal(r, NP_ERR_NOMEM);
        assert_null(enc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nist_f55_f56),       cmocka_unit_test(test_stream_random_chunks),
        cmocka_unit_test(test_counter_carry),      cmocka_unit_test(test_atprotocol_vectors),
        cmocka_unit_test(test_at_padding_lengths), cmocka_unit_test(test_bad_padding),
        cmocka_unit_test(test_bad_ciphertext),     cmocka_unit_test(test_new_key_iv),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
