/* Unit tests for lib/crypto/b64.c: RFC 4648 vectors, strict rejection, round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/b64.h"
#include "crypto/rand.h"
#include "util/alloc.h"
#include "util/err.h"

static const struct {
    const char *plain, *b64;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
    for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        char *enc = NULL;
        unsigned char *dec = NULL;
        size_t n = 99;

        assert_int_equal(np_b64_encode(rfc4648[i].plain, strlen(rfc4648[i].plain), &enc, &n), 0);
        assert_string_equal(enc, rfc4648[i].b64);
        assert_int_equal(n, strlen(rfc4648[i].b64));
        assert_int_equal(np_b64_encoded_len(strlen(rfc4648[i].plain)), n);
        assert_int_equal(np_b64_decode(enc, n, &dec, &n), 0);
        assert_int_equal(n, strlen(rfc4648[i].plain));
        assert_memory_equal(dec, rfc4648[i].plain, n);
        assert_int_equal(dec[n], '\0');
        np_free(enc);
        np_free(dec);
    }
}

static void test_strict_rejection(void **state)
{
    static const char *bad[] = {
        "Zg",         /* wrong length */
        "Zg=",        /* wrong length */
        "Zm9vY",      /* wrong length */
        "Z===",       /* too much padding */
        "====",       /* only padding */
        "Zg==Zg==",   /* padding in the middle */
        "Zg=a",       /* '=' before data */
        "=Zm9",       /* leading '=' */
        "Zh==",       /* non-canonical: low 4 bits of 'h' set */
        "Zm9=",       /* non-canonical: low 2 bits of '9' set */
        "Zm9v\n",     /* whitespace */
        " Zm9v",      /* whitespace */
        "Zm9 v",      /* whitespace */
        "Zm9v\r\n",   /* line break */
        "Zm$v",       /* foreign character */
        "Zm-v",       /* URL-safe alphabet is not ours */
        "Zm_v",       /* URL-safe alphabet is not ours */
        "Zm9v====",   /* extra padding block */
        "Zm9vYmFy=",  /* stray '=' */
        "Zm\xc3\xa9", /* non-ASCII */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char *dec = (unsigned char *)1;
        size_t n = 7;
        unsigned char exact[3];

        assert_int_equal(np_b64_decode(bad[i], strlen(bad[i]), &dec, &n), NP_ERR_FORMAT);
        assert_null(dec);
        assert_int_equal(n, 0);
        assert_int_not_equal(np_b64_decode_exact(bad[i], exact, 3), 0);
    }
    /* An embedded NUL inside the given length is a foreign character. */
    {
        unsigned char *dec = NULL;
        size_t n;
        assert_int_equal(np_b64_decode("Zm\0v", 4, &dec, &n), NP_ERR_FORMAT);
        assert_null(dec);
    }
}

static void test_decode_exact(void **state)
{
    unsigned char key[32], iv[16];
    const char *k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    assert_int_equal(np_b64_decode_exact(k, key, 32), 0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(key[i], i);
    assert_int_equal(np_b64_decode_exact(k, iv, 16), NP_ERR_FORMAT);
    assert_int_equal(np_b64_decode_exact("EBESExQVFhcYGRobHB0eHw==", iv, 16), 0);
    assert_int_equal(iv[0], 0x10);
    assert_int_equal(iv[15], 0x1f);
    assert_int_equal(np_b64_decode_exact("EBESExQVFhcYGRobHB0eHw==", key, 32), NP_ERR_FORMAT);
    assert_int_equal(np_b64_decode_exact("", key, 0), 0);
}

static void test_random_round_trip(void **state)
{
    unsigned char data[300];

    assert_int_equal(np_random_bytes(data, sizeof(data)), 0);
    for (size_t len = 0; len <= sizeof(data); len++) {
        char *enc = NULL;
        unsigned char *dec = NULL;
        size_t elen = 0, dlen = 0;

        assert_int_equal(np_b64_encode(data, len, &enc, &elen), 0);
        assert_int_equal(elen % 4, 0);
        assert_int_equal(strlen(enc), elen);
        assert_int_equal(np_b64_decode(enc, elen, &dec, &dlen), 0);
        assert_int_equal(dlen, len);
        if (len)
            assert_memory_equal(dec, data, len);
        np_free(enc);
        np_free(dec);
    }
}

/* Every single-character change of a valid text either fails or decodes to
 * something whose encoding is exactly the changed text (canonical form). */
static void test_mutations_canonical(void **state)
{
    const char *base = "Zm9vYmE=";
    const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=- \n";

    for (size_t pos = 0; pos < strlen(base); pos++) {
        for (size_t a = 0; a < sizeof(alphabet) - 1; a++) {
            char t[9];
            unsigned char *dec = NULL;
            char *enc = NULL;
            size_t n = 0;

            memcpy(t, base, 9);
            t[pos] = alphabet[a];
            if (np_b64_decode(t, 8, &dec, &n) != 0) {
                assert_null(dec);
                continue;
            }
            assert_int_equal(np_b64_encode(dec, n, &enc, NULL), 0);
            assert_string_equal(enc, t);
            np_free(enc);
            np_free(dec);
        }
    }
}

static void test_alloc_failure_and_args(void **state)
{
    char *enc = (char *)1;
    unsigned char *dec = (unsigned char *)1;
    size_t n;

    np_alloc_fail_after(0);
    assert_int_equal(np_b64_encode("abc", 3, &enc, NULL), NP_ERR_NOMEM);
    assert_int_equal(np_b64_decode("YWJj", 4, &dec, &n), NP_ERR_NOMEM);
    np_alloc_fail_after(-1);
    assert_null(enc);
    assert_null(dec);
    assert_int_equal(np_b64_encode(NULL, 3, &enc, NULL), NP_ERR_INVAL);
    assert_int_equal(np_b64_decode(NULL, 4, &dec, &n), NP_ERR_INVAL);
    assert_int_equal(np_b64_encode("abc", 3, NULL, NULL), NP_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),     cmocka_unit_test(test_strict_rejection),
        cmocka_unit_test(test_decode_exact),        cmocka_unit_test(test_random_round_trip),
        cmocka_unit_test(test_mutations_canonical), cmocka_unit_test(test_alloc_failure_and_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
