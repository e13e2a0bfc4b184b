/* Unit tests for lib/crypto/hash.c: FIPS 180 and RFC 1321 vectors, the cram digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "crypto/hash.h"
#include "util/err.h"

static void test_sha256(void **state)
{
    char hex[2 * NP_SHA256_LEN + 1];
    unsigned char raw[NP_SHA256_LEN];

    assert_int_equal(np_sha256_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(np_sha256_hex("", 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(np_sha256_hex(NULL, 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(np_sha256("abc", 3, raw), 0);
    assert_int_equal(raw[0], 0xba);
    assert_int_equal(raw[31], 0xad);
    assert_int_equal(np_sha256(NULL, 1, raw), NP_ERR_INVAL);
}

static void test_sha512(void **state)
{
    char hex[2 * NP_SHA512_LEN + 1];
    unsigned char raw[NP_SHA512_LEN];

    assert_int_equal(np_sha512_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                             "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    assert_int_equal(np_sha512_hex("", 0, hex), 0);
    assert_string_equal(hex, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                             "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
    assert_int_equal(np_sha512("abc", 3, raw), 0);
    assert_int_equal(raw[0], 0xdd);
    assert_int_equal(raw[63], 0x9f);
}

static void test_md5(void **state)
{
    char hex[33];

    assert_int_equal(np_md5_hex("", 0, hex), 0);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    assert_int_equal(np_md5_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
}

/* atprotocol.md 3.2: digest = hex(SHA-512(UTF-8(secret + challenge))). */
static void test_cram_digest(void **state)
{
    const char *secret = "b26455a907582760ebf35bc4847de549bc41c24b25c8b1c58d5964f7b4f8a43b"
                         "c55b0e9a601c9a9657d9a8b8bbc32f88b4e38ffaca03c8710ebae1b14ca9f364";
    const char *challenge = "_4af24c03-d732-48f8-a9a2-570e8fb6a01c@alice\xf0\x9f\x9b\xa0:"
                            "d6cac849-9c29-42b0-b0c5-493db62728b9";
    char input[512], hex[2 * NP_SHA512_LEN + 1];

    assert_true((size_t)snprintf(input, sizeof(input), "%s%s", secret, challenge) < sizeof(input));
    assert_int_equal(np_sha512_hex(input, strlen(input), hex), 0);
    assert_string_equal(hex, "18aa862d0d3d3d844b80580d7b44cd0a92394a32fbc54689338c82fc8e720d39"
                             "100946f831832cbeaa476ad390c372abf4489132974b35e4a2bbf3da44043ca5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_sha512),
        cmocka_unit_test(test_md5),
        cmocka_unit_test(test_cram_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
