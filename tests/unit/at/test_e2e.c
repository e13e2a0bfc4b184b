/*
 * Unit tests for lib/at/e2e.c: the atprotocol.md 8.1 AES vectors, the
 * B64-of-B64 RSA wrapping of shared keys (8.2), IV handling (ivNonce,
 * legacy zero IV, the literal "null"), padding stripped by value (NUL bytes
 * in plaintexts survive), and the pubKeyCS checksum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "at/e2e.h"
#include "crypto/aes.h"
#include "crypto/b64.h"
#include "crypto/hash.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/err.h"

#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define IV  "EBESExQVFhcYGRobHB0eHw=="

static struct np_rsa_key *alice, *bob;

static int group_setup(void **state)
{
    (void)state;
    if (np_rsa_generate(&alice) != 0 || np_rsa_generate(&bob) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    np_rsa_free(alice);
    np_rsa_free(bob);
    return 0;
}

static void check_dec(const char *iv, const char *cipher, const char *want)
{
    char *plain = NULL;
    size_t n = 0;

    assert_int_equal(at_e2e_decrypt(KEY, iv, cipher, &plain, &n), 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(plain, want, n);
    assert_int_equal(plain[n], '\0');
    np_freezero(plain, n + 1);
}

/* atprotocol.md 8.1 test vectors, both directions. */
static void test_vectors(void **state)
{
    static const struct {
        const char *plain, *iv, *cipher;
    } v[] = {
        {"hello", NULL, "mvVs2kVClNui+JFh1iV8iw=="},
        {"hello", IV, "gaaD5t0/WO37f5fdPeyjhQ=="},
        {"0123456789abcdef", NULL, "wqEyhR58qeeRyvsIvkoS5uBNZr5aqY/1tuaLIVjSJi0="},
        {"0123456789abcdef", IV, "2fLduYYBZdHITf20VYPN6OnRW4rrhNTxpuKAU007IMM="},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *c = NULL;
        check_dec(v[i].iv, v[i].cipher, v[i].plain);
        /* encryption with the same IV reproduces the vector */
        assert_int_equal(np_at_aes_encrypt_b64key(KEY, v[i].iv, v[i].plain, strlen(v[i].plain), &c),
                         0);
        assert_string_equal(c, v[i].cipher);
        np_free(c);
    }
    /* the literal "null" and "" mean the legacy zero IV */
    check_dec("null", "mvVs2kVClNui+JFh1iV8iw==", "hello");
    check_dec("", "mvVs2kVClNui+JFh1iV8iw==", "hello");
    assert_true(at_e2e_iv_is_null(NULL));
    assert_true(at_e2e_iv_is_null("null"));
    assert_false(at_e2e_iv_is_null(IV));
}

static void test_decrypt_rejects(void **state)
{
    char *plain = (char *)"x";
    size_t n = 5;

    (void)state;
    /* wrong IV: the padding check fails (overwhelmingly likely) or the text differs */
    if (at_e2e_decrypt(KEY, IV, "mvVs2kVClNui+JFh1iV8iw==", &plain, &n) == 0) {
        assert_false(n == 5 && memcmp(plain, "hello", 5) == 0);
        np_freezero(plain, n + 1);
    } else {
        assert_null(plain);
        assert_int_equal(n, 0);
    }
    assert_int_equal(at_e2e_decrypt(KEY, NULL, "not base64!", &plain, &n), NP_ERR_FORMAT);
    assert_null(plain);
    assert_int_equal(at_e2e_decrypt(KEY, NULL, "aGVsbG8=", &plain, &n), NP_ERR_FORMAT);
    assert_int_equal(at_e2e_decrypt("c2hvcnQ=", NULL, "mvVs2kVClNui+JFh1iV8iw==", &plain, &n),
                     NP_ERR_FORMAT);
    assert_int_equal(at_e2e_decrypt(KEY, NULL, NULL, &plain, &n), NP_ERR_INVAL);
}

/* Random IV each time, round trip, NUL bytes preserved (no NUL scanning). */
static void test_encrypt_roundtrip(void **state)
{
    static const char data[] = "a\0b\0\0c with NULs";
    char *iv1 = NULL, *iv2 = NULL, *c1 = NULL, *c2 = NULL, *plain = NULL;
    unsigned char raw[16];
    size_t n = 0;

    (void)state;
    assert_int_equal(at_e2e_encrypt(KEY, data, sizeof(data), &iv1, &c1), 0);
    assert_int_equal(at_e2e_encrypt(KEY, data, sizeof(data), &iv2, &c2), 0);
    assert_int_equal(strlen(iv1), 24);
    assert_int_equal(np_b64_decode_exact(iv1, raw, sizeof(raw)), 0);
    assert_string_not_equal(iv1, iv2);
    assert_string_not_equal(c1, c2);
    assert_int_equal(at_e2e_decrypt(KEY, iv1, c1, &plain, &n), 0);
    assert_int_equal(n, sizeof(data));
    assert_memory_equal(plain, data, sizeof(data));
    np_freezero(plain, n + 1);
    np_free(iv1);
    np_free(iv2);
    np_free(c1);
    np_free(c2);
    /* iv_b64 NULL: legacy zero IV, same as the vector */
    assert_int_equal(at_e2e_encrypt(KEY, "hello", 5, NULL, &c1), 0);
    assert_string_equal(c1, "mvVs2kVClNui+JFh1iV8iw==");
    np_free(c1);
    /* 16-byte plaintext gets a full extra block of padding */
    assert_int_equal(at_e2e_encrypt(KEY, "0123456789abcdef", 16, &iv1, &c1), 0);
    assert_int_equal(strlen(c1), 44);
    np_free(iv1);
    np_free(c1);
}

/* 8.2: the RSA plaintext is the base64 TEXT of the AES key. */
static void test_wrap_roundtrip(void **state)
{
    char *key = NULL, *w1 = NULL, *w2 = NULL;
    char out[AT_E2E_KEY_B64_BUF];
    unsigned char *inner = NULL;
    size_t inner_len = 0;

    (void)state;
    assert_int_equal(np_aes_new_key_b64(&key), 0);
    assert_int_equal(at_e2e_wrap_key(bob, key, &w1), 0);
    assert_int_equal(strlen(w1), 344);
    /* a second wrap is randomised (PKCS#1 v1.5 padding) */
    assert_int_equal(at_e2e_wrap_key(bob, key, &w2), 0);
    assert_string_not_equal(w1, w2);
    /* decrypting with plain RSA yields the 44-character base64 text */
    assert_int_equal(np_rsa_decrypt_b64(bob, w1, &inner, &inner_len), 0);
    assert_int_equal(inner_len, 44);
    assert_memory_equal(inner, key, 44);
    np_freezero(inner, inner_len + 1);
    assert_int_equal(at_e2e_unwrap_key(bob, w1, out), 0);
    assert_string_equal(out, key);
    /* the wrong private key does not unwrap */
    assert_int_not_equal(at_e2e_unwrap_key(alice, w1, out), 0);
    assert_string_equal(out, "");
    np_free(w1);
    np_free(w2);
    /* a wrapped value that is not a key text is refused */
    assert_int_equal(np_rsa_encrypt_b64(bob, "not a key", 9, &w1), 0);
    assert_int_equal(at_e2e_unwrap_key(bob, w1, out), NP_ERR_FORMAT);
    np_free(w1);
    assert_int_equal(at_e2e_wrap_key(bob, "short", &w1), NP_ERR_FORMAT);
    assert_null(w1);
    np_freezero_str(key);
}

static void test_checksum(void **state)
{
    char cs[AT_E2E_CS_BUF], want[33];
    char *pub = NULL;

    (void)state;
    assert_int_equal(np_rsa_public_b64(bob, &pub), 0);
    assert_int_equal(at_e2e_pubkey_checksum(pub, cs), 0);
    assert_int_equal(np_md5_hex(pub, strlen(pub), want), 0);
    assert_string_equal(cs, want);
    assert_int_equal(strlen(cs), 32);
    np_free(pub);
    assert_int_equal(at_e2e_pubkey_checksum("", cs), 0);
    assert_string_equal(cs, "d41d8cd98f00b204e9800998ecf8427e");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),           cmocka_unit_test(test_decrypt_rejects),
        cmocka_unit_test(test_encrypt_roundtrip), cmocka_unit_test(test_wrap_roundtrip),
        cmocka_unit_test(test_checksum),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
