/*
 * Unit tests for lib/crypto/rsa.c: key import/export, PKCS#1 v1.5 sign/verify
 * and encrypt/decrypt, rejection of bad input and non-RSA keys, and interop
 * with the openssl command-line tool in both directions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b64.h"
#include "crypto/rsa.h"
#include "testhelp.h"
#include "util/alloc.h"
#include "util/err.h"

struct fix {
    struct np_rsa_key *priv, *pub, *other;
    char *dir;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    char *pub_b64 = NULL;

    if (!f || np_rsa_generate(&f->priv) != 0 || np_rsa_generate(&f->other) != 0 ||
        np_rsa_public_b64(f->priv, &pub_b64) != 0 ||
        np_rsa_from_public_b64(pub_b64, &f->pub) != 0 || (f->dir = th_tmpdir_new()) == NULL)
        return -1;
    np_free(pub_b64);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;

    np_rsa_free(f->priv);
    np_rsa_free(f->pub);
    np_rsa_free(f->other);
    th_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void test_export_import(void **state)
{
    struct fix *f = *state;
    char *pub = NULL, *priv = NULL, *pub2 = NULL, *priv2 = NULL;
    struct np_rsa_key *k = NULL;

    assert_int_equal(np_rsa_size(f->priv), 256);
    assert_int_equal(np_rsa_has_private(f->priv), 1);
    assert_int_equal(np_rsa_has_private(f->pub), 0);
    assert_int_equal(np_rsa_public_b64(f->priv, &pub), 0);
    assert_true(strncmp(pub, "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 44) == 0);
    assert_int_equal(np_rsa_private_b64(f->priv, &priv), 0);
    assert_true(strncmp(priv, "MIIE", 4) == 0);
    assert_int_equal(np_rsa_private_b64(f->pub, &priv2), NP_ERR_INVAL);
    assert_null(priv2);
    assert_int_equal(np_rsa_from_private_b64(priv, &k), 0);
    assert_int_equal(np_rsa_private_b64(k, &priv2), 0);
    assert_string_equal(priv, priv2);
    assert_int_equal(np_rsa_public_b64(k, &pub2), 0);
    assert_string_equal(pub, pub2);
    assert_int_equal(np_rsa_match(k, f->pub), 1);
    assert_int_equal(np_rsa_match(f->pub, f->priv), 1);
    assert_int_equal(np_rsa_match(k, f->other), 0);
    assert_int_equal(np_rsa_match(k, NULL), 0);
    np_rsa_free(k);
    np_rsa_free(NULL);
    np_free(pub);
    np_free(pub2);
    np_freezero_str(priv);
    np_freezero_str(priv2);
}

static void test_sign_verify(void **state)
{
    struct fix *f = *state;
    const char *msg = "{\"sessionId\":\"x\"}";
    enum np_hash_alg algs[] = {NP_HASH_SHA256, NP_HASH_SHA512};

    for (int a = 0; a < 2; a++) {
        unsigned char *sig = NULL;
        size_t n = 0;
        char *b64 = NULL;

        assert_int_equal(np_rsa_sign(f->priv, algs[a], msg, strlen(msg), &sig, &n), 0);
        assert_int_equal(n, 256);
        assert_int_equal(np_rsa_verify(f->pub, algs[a], msg, strlen(msg), sig, n), 0);
        assert_int_equal(np_rsa_verify(f->priv, algs[a], msg, strlen(msg), sig, n), 0);
        /* other hash, other data, other key, damaged or short signature */
        assert_int_equal(np_rsa_verify(f->pub, algs[1 - a], msg, strlen(msg), sig, n),
                         NP_ERR_VERIFY);
        assert_int_equal(np_rsa_verify(f->pub, algs[a], msg, strlen(msg) - 1, sig, n),
                         NP_ERR_VERIFY);
        assert_int_equal(np_rsa_verify(f->other, algs[a], msg, strlen(msg), sig, n), NP_ERR_VERIFY);
        sig[100] ^= 1;
        assert_int_equal(np_rsa_verify(f->pub, algs[a], msg, strlen(msg), sig, n), NP_ERR_VERIFY);
        sig[100] ^= 1;
        assert_int_equal(np_rsa_verify(f->pub, algs[a], msg, strlen(msg), sig, n - 1),
                         NP_ERR_VERIFY);
        /* base64 forms */
        assert_int_equal(np_rsa_sign_b64(f->priv, algs[a], msg, strlen(msg), &b64), 0);
        assert_int_equal(strlen(b64), 344);
        assert_int_equal(np_rsa_verify_b64(f->pub, algs[a], msg, strlen(msg), b64), 0);
        assert_int_equal(np_rsa_verify_b64(f->pub, algs[a], msg, strlen(msg), "@@@@"),
                         NP_ERR_FORMAT);
        np_free(b64);
        np_free(sig);
    }
    /* a public key cannot sign; empty data can be signed */
    {
        unsigned char *sig = (unsigned char *)1;
        size_t n = 1;
        assert_int_equal(np_rsa_sign(f->pub, NP_HASH_SHA256, "x", 1, &sig, &n), NP_ERR_INVAL);
        assert_null(sig);
        assert_int_equal(n, 0);
        assert_int_equal(np_rsa_sign(f->priv, NP_HASH_SHA256, "", 0, &sig, &n), 0);
        assert_int_equal(np_rsa_verify(f->pub, NP_HASH_SHA256, "", 0, sig, n), 0);
        np_free(sig);
        assert_int_equal(np_rsa_sign(f->priv, (enum np_hash_alg)1, "x", 1, &sig, &n), NP_ERR_INVAL);
    }
}

static void test_encrypt_decrypt(void **state)
{
    struct fix *f = *state;
    const char *text = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    unsigned char *ct = NULL, *pt = NULL, big[246];
    size_t cn = 0, pn = 0;
    char *b64 = NULL;

    assert_int_equal(np_rsa_encrypt(f->pub, text, strlen(text), &ct, &cn), 0);
    assert_int_equal(cn, 256);
    assert_int_equal(np_rsa_decrypt(f->priv, ct, cn, &pt, &pn), 0);
    assert_int_equal(pn, strlen(text));
    assert_string_equal((char *)pt, text);
    np_freezero(pt, pn + 1);
    /* the public half cannot decrypt; another private key fails or yields garbage */
    assert_int_equal(np_rsa_decrypt(f->pub, ct, cn, &pt, &pn), NP_ERR_INVAL);
    if (np_rsa_decrypt(f->other, ct, cn, &pt, &pn) == 0) {
        assert_false(pn == strlen(text) && memcmp(pt, text, pn) == 0);
        np_freezero(pt, pn + 1);
    }
    /* short, long and damaged ciphertext */
    assert_int_equal(np_rsa_decrypt(f->priv, ct, cn - 1, &pt, &pn), NP_ERR_FORMAT);
    assert_null(pt);
    ct[0] ^= 0x40;
    ct[10] ^= 0x01;
    if (np_rsa_decrypt(f->priv, ct, cn, &pt, &pn) == 0) { /* implicit rejection */
        assert_false(pn == strlen(text) && memcmp(pt, text, pn) == 0);
        np_freezero(pt, pn + 1);
    }
    memset(ct, 0xff, cn); /* larger than the modulus */
    assert_int_not_equal(np_rsa_decrypt(f->priv, ct, cn, &pt, &pn), 0);
    assert_null(pt);
    np_free(ct);
    ct = NULL;
    /* plaintext limit: size - 11 */
    memset(big, 'z', sizeof(big));
    assert_int_equal(np_rsa_encrypt(f->pub, big, 245, &ct, &cn), 0);
    assert_int_equal(np_rsa_decrypt(f->priv, ct, cn, &pt, &pn), 0);
    assert_int_equal(pn, 245);
    assert_memory_equal(pt, big, 245);
    np_freezero(pt, pn + 1);
    np_free(ct);
    ct = (unsigned char *)1;
    assert_int_equal(np_rsa_encrypt(f->pub, big, 246, &ct, &cn), NP_ERR_TOOBIG);
    assert_null(ct);
    /* base64 forms */
    assert_int_equal(np_rsa_encrypt_b64(f->pub, text, strlen(text), &b64), 0);
    assert_int_equal(strlen(b64), 344);
    assert_int_equal(np_rsa_decrypt_b64(f->priv, b64, &pt, &pn), 0);
    assert_string_equal((char *)pt, text);
    np_freezero(pt, pn + 1);
    assert_int_equal(np_rsa_decrypt_b64(f->priv, "abc", &pt, &pn), NP_ERR_FORMAT);
    assert_int_equal(np_rsa_decrypt_b64(f->priv, "YWJj", &pt, &pn), NP_ERR_FORMAT);
    np_free(b64);
}

static void test_bad_keys(void **state)
{
    struct fix *f = *state;
    struct np_rsa_key *k = (struct np_rsa_key *)1;
    char *pub = NULL, *priv = NULL, *trail = NULL;
    unsigned char *der = NULL, *der2 = NULL;
    size_t n = 0;

    assert_int_equal(np_rsa_from_public_b64("not base64", &k), NP_ERR_FORMAT);
    assert_null(k);
    assert_int_equal(np_rsa_from_public_b64("", &k), NP_ERR_FORMAT);
    assert_int_equal(np_rsa_from_private_b64("", &k), NP_ERR_FORMAT);
    assert_int_equal(np_rsa_from_public_b64("YWJjZA==", &k), NP_ERR_FORMAT);
    assert_int_equal(np_rsa_from_private_b64("YWJjZA==", &k), NP_ERR_FORMAT);
    assert_int_equal(np_rsa_public_b64(f->priv, &pub), 0);
    assert_int_equal(np_rsa_private_b64(f->priv, &priv), 0);
    /* each kind of text given to the other loader */
    assert_int_equal(np_rsa_from_private_b64(pub, &k), NP_ERR_FORMAT);
    assert_int_equal(np_rsa_from_public_b64(priv, &k), NP_ERR_FORMAT);
    /* PEM-style line breaks are not accepted */
    {
        char wrapped[600];
        assert_true(strlen(pub) > 64);
        memcpy(wrapped, pub, 64);
        wrapped[64] = '\n';
        memcpy(wrapped + 65, pub + 64, strlen(pub) - 64 + 1);
        assert_int_equal(np_rsa_from_public_b64(wrapped, &k), NP_ERR_FORMAT);
    }
    /* PKCS#8 wrappers: rsaEncryption around garbage is malformed; an unknown
     * algorithm (OID 1.2.3.4) is unsupported */
    {
        static const unsigned char rsa_junk[] = {
            0x30, 0x18, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
            0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x04, 0x04, 'a',  'b',  'c',  'd'};
        static const unsigned char unknown[] = {0x30, 0x12, 0x02, 0x01, 0x00, 0x30, 0x07,
                                                0x06, 0x03, 0x2a, 0x03, 0x04, 0x05, 0x00,
                                                0x04, 0x04, 'a',  'b',  'c',  'd'};
        assert_int_equal(np_b64_encode(rsa_junk, sizeof(rsa_junk), &trail, NULL), 0);
        assert_int_equal(np_rsa_from_private_b64(trail, &k), NP_ERR_FORMAT);
        np_free(trail);
        assert_int_equal(np_b64_encode(unknown, sizeof(unknown), &trail, NULL), 0);
        assert_int_equal(np_rsa_from_private_b64(trail, &k), NP_ERR_UNSUPPORTED);
        assert_null(k);
        np_free(trail);
        trail = NULL;
    }
    /* trailing bytes after the DER */
    assert_int_equal(np_b64_decode(pub, strlen(pub), &der, &n), 0);
    der2 = malloc(n + 1);
    assert_non_null(der2);
    memcpy(der2, der, n);
    der2[n] = 0;
    assert_int_equal(np_b64_encode(der2, n + 1, &trail, NULL), 0);
    assert_int_equal(np_rsa_from_public_b64(trail, &k), NP_ERR_FORMAT);
    /* truncated DER */
    np_free(trail);
    assert_int_equal(np_b64_encode(der, n - 1, &trail, NULL), 0);
    assert_int_equal(np_rsa_from_public_b64(trail, &k), NP_ERR_FORMAT);
    assert_null(k);
    np_free(trail);
    free(der2);
    np_free(der);
    np_free(pub);
    np_freezero_str(priv);
}

/* Read a DER file made by openssl and return it as base64 text. */
static char *der_file_b64(const char *dir, const char *name)
{
    char *p = th_path(dir, name), *b64 = NULL;
    size_t n = 0;
    unsigned char *der = th_read_file(p, &n);

    assert_non_null(der);
    assert_int_equal(np_b64_encode(der, n, &b64, NULL), 0);
    free(der);
    free(p);
    return b64;
}

/* openssl genpkey: traditional DER in trad_file (if not NULL), PKCS#8 DER in
 * file, SPKI DER in pubfile. */
static void gen_other(const char *dir, const char *file, const char *pubfile, const char *alg,
                      const char *opt, const char *trad_file)
{
    char *pem = th_path(dir, "gen.pem"), *p = th_path(dir, file), *q = th_path(dir, pubfile);

    if (opt)
        assert_int_equal(
            th_openssl("genpkey", "-algorithm", alg, "-pkeyopt", opt, "-out", pem, NULL), 0);
    else
        assert_int_equal(th_openssl("genpkey", "-algorithm", alg, "-out", pem, NULL), 0);
    assert_int_equal(
        th_openssl("pkcs8", "-topk8", "-nocrypt", "-in", pem, "-outform", "DER", "-out", p, NULL),
        0);
    assert_int_equal(th_openssl("pkey", "-in", pem, "-pubout", "-outform", "DER", "-out", q, NULL),
                     0);
    if (trad_file) {
        char *t = th_path(dir, trad_file);
        assert_int_equal(
            th_openssl("pkey", "-in", pem, "-traditional", "-outform", "DER", "-out", t, NULL), 0);
        free(t);
    }
    free(pem);
    free(p);
    free(q);
}

/* EC, Ed25519, RSA-PSS and 1024-bit RSA keys made by openssl are refused. */
static void test_wrong_key_types(void **state)
{
    struct fix *f = *state;
    static const struct {
        const char *alg, *opt;
    } kinds[] = {
        {"EC", "ec_paramgen_curve:P-256"},
        {"ED25519", NULL},
        {"RSA-PSS", "rsa_keygen_bits:2048"},
        {"RSA", "rsa_keygen_bits:1024"},
    };

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct np_rsa_key *k = (struct np_rsa_key *)1;
        char *priv, *pub;

        gen_other(f->dir, "other.der", "otherpub.der", kinds[i].alg, kinds[i].opt, NULL);
        priv = der_file_b64(f->dir, "other.der");
        pub = der_file_b64(f->dir, "otherpub.der");
        assert_int_equal(np_rsa_from_private_b64(priv, &k), NP_ERR_UNSUPPORTED);
        assert_null(k);
        assert_int_equal(np_rsa_from_public_b64(pub, &k), NP_ERR_UNSUPPORTED);
        assert_null(k);
        np_free(priv);
        np_free(pub);
    }
}

/* Write our key pair as PEM files for openssl (via DER + openssl pkey). */
static void write_pem_pair(struct fix *f, const struct np_rsa_key *k)
{
    char *pub = NULL, *priv = NULL, *p;
    unsigned char *der = NULL;
    size_t n = 0;

    assert_int_equal(np_rsa_public_b64(k, &pub), 0);
    assert_int_equal(np_rsa_private_b64(k, &priv), 0);
    assert_int_equal(np_b64_decode(pub, strlen(pub), &der, &n), 0);
    p = th_path(f->dir, "pub.der");
    assert_int_equal(th_write_file(p, der, n, 0600), 0);
    free(p);
    np_free(der);
    assert_int_equal(np_b64_decode(priv, strlen(priv), &der, &n), 0);
    p = th_path(f->dir, "priv.der");
    assert_int_equal(th_write_file(p, der, n, 0600), 0);
    free(p);
    np_freezero(der, n);
    {
        char *in = th_path(f->dir, "priv.der"), *out = th_path(f->dir, "priv.pem");
        assert_int_equal(th_openssl("pkey", "-inform", "DER", "-in", in, "-out", out, NULL), 0);
        free(in);
        free(out);
        in = th_path(f->dir, "pub.der");
        out = th_path(f->dir, "pub.pem");
        assert_int_equal(
            th_openssl("pkey", "-pubin", "-inform", "DER", "-in", in, "-out", out, NULL), 0);
        free(in);
        free(out);
    }
    np_free(pub);
    np_freezero_str(priv);
}

static void test_openssl_signatures(void **state)
{
    struct fix *f = *state;
    const char *data = "{\"payload\":{\"a\":1},\"x\":\"\xc3\xa9\"}";
    char *datap = th_path(f->dir, "data.bin"), *sigp = th_path(f->dir, "sig.bin");
    char *pubp = th_path(f->dir, "pub.pem"), *privp = th_path(f->dir, "priv.pem");
    unsigned char *sig = NULL, *osig;
    size_t n = 0, on = 0;

    write_pem_pair(f, f->priv);
    assert_int_equal(th_write_file(datap, data, strlen(data), 0600), 0);
    /* ours -> openssl, SHA-256 and SHA-512 */
    assert_int_equal(np_rsa_sign(f->priv, NP_HASH_SHA256, data, strlen(data), &sig, &n), 0);
    assert_int_equal(th_write_file(sigp, sig, n, 0600), 0);
    assert_int_equal(
        th_openssl("dgst", "-sha256", "-verify", pubp, "-signature", sigp, datap, NULL), 0);
    /* control: openssl does reject a damaged signature, so the check above means something */
    sig[5] ^= 0x10;
    assert_int_equal(th_write_file(sigp, sig, n, 0600), 0);
    assert_int_not_equal(
        th_openssl("dgst", "-sha256", "-verify", pubp, "-signature", sigp, datap, NULL), 0);
    np_free(sig);
    assert_int_equal(np_rsa_sign(f->priv, NP_HASH_SHA512, data, strlen(data), &sig, &n), 0);
    assert_int_equal(th_write_file(sigp, sig, n, 0600), 0);
    assert_int_equal(
        th_openssl("dgst", "-sha512", "-verify", pubp, "-signature", sigp, datap, NULL), 0);
    np_free(sig);
    /* openssl -> ours */
    assert_int_equal(th_openssl("dgst", "-sha256", "-sign", privp, "-out", sigp, datap, NULL), 0);
    osig = th_read_file(sigp, &on);
    assert_non_null(osig);
    assert_int_equal(np_rsa_verify(f->pub, NP_HASH_SHA256, data, strlen(data), osig, on), 0);
    assert_int_equal(np_rsa_verify(f->pub, NP_HASH_SHA512, data, strlen(data), osig, on),
                     NP_ERR_VERIFY);
    /* PKCS#1 v1.5 is deterministic: both tools make the same bytes */
    assert_int_equal(np_rsa_sign(f->priv, NP_HASH_SHA256, data, strlen(data), &sig, &n), 0);
    assert_int_equal(n, on);
    assert_memory_equal(sig, osig, n);
    np_free(sig);
    free(osig);
    assert_int_equal(th_openssl("dgst", "-sha512", "-sign", privp, "-out", sigp, datap, NULL), 0);
    osig = th_read_file(sigp, &on);
    assert_non_null(osig);
    assert_int_equal(np_rsa_verify(f->pub, NP_HASH_SHA512, data, strlen(data), osig, on), 0);
    free(osig);
    free(datap);
    free(sigp);
    free(pubp);
    free(privp);
}

static void test_openssl_encryption(void **state)
{
    struct fix *f = *state;
    const char *msg = "EBESExQVFhcYGRobHB0eHw==";
    char *msgp = th_path(f->dir, "msg.bin"), *ctp = th_path(f->dir, "ct.bin");
    char *ptp = th_path(f->dir, "pt.bin");
    char *pubp = th_path(f->dir, "pub.pem"), *privp = th_path(f->dir, "priv.pem");
    unsigned char *ct = NULL, *pt = NULL, *oct, *opt;
    size_t cn = 0, pn = 0, on = 0;

    write_pem_pair(f, f->priv);
    assert_int_equal(th_write_file(msgp, msg, strlen(msg), 0600), 0);
    /* openssl encrypts, we decrypt */
    assert_int_equal(th_openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", pubp, "-pkeyopt",
                                "rsa_padding_mode:pkcs1", "-in", msgp, "-out", ctp, NULL),
                     0);
    oct = th_read_file(ctp, &on);
    assert_non_null(oct);
    assert_int_equal(on, 256);
    assert_int_equal(np_rsa_decrypt(f->priv, oct, on, &pt, &pn), 0);
    assert_int_equal(pn, strlen(msg));
    assert_memory_equal(pt, msg, pn);
    np_freezero(pt, pn + 1);
    free(oct);
    /* we encrypt, openssl decrypts */
    assert_int_equal(np_rsa_encrypt(f->pub, msg, strlen(msg), &ct, &cn), 0);
    assert_int_equal(th_write_file(ctp, ct, cn, 0600), 0);
    assert_int_equal(th_openssl("pkeyutl", "-decrypt", "-inkey", privp, "-pkeyopt",
                                "rsa_padding_mode:pkcs1", "-in", ctp, "-out", ptp, NULL),
                     0);
    opt = th_read_file(ptp, &on);
    assert_non_null(opt);
    assert_int_equal(on, strlen(msg));
    assert_memory_equal(opt, msg, on);
    free(opt);
    np_free(ct);
    free(msgp);
    free(ctp);
    free(ptp);
    free(pubp);
    free(privp);
}

/* A key pair generated by openssl loads (PKCS#8 and SPKI DER) and matches. */
static void test_openssl_generated_key(void **state)
{
    struct fix *f = *state;
    struct np_rsa_key *priv = NULL, *pub = NULL;
    char *a, *b, *again = NULL;

    gen_other(f->dir, "rsa.der", "rsapub.der", "RSA", "rsa_keygen_bits:2048", "rsatrad.der");
    a = der_file_b64(f->dir, "rsa.der");
    b = der_file_b64(f->dir, "rsapub.der");
    /* PKCS#1 RSAPrivateKey (not PKCS#8) is not the wire format: refused */
    again = der_file_b64(f->dir, "rsatrad.der");
    assert_int_equal(np_rsa_from_private_b64(again, &priv), NP_ERR_FORMAT);
    assert_null(priv);
    np_freezero_str(again);
    again = NULL;
    assert_int_equal(np_rsa_from_private_b64(a, &priv), 0);
    assert_int_equal(np_rsa_from_public_b64(b, &pub), 0);
    assert_int_equal(np_rsa_match(priv, pub), 1);
    assert_int_equal(np_rsa_public_b64(priv, &again), 0);
    assert_string_equal(again, b);
    np_free(again);
    assert_int_equal(np_rsa_private_b64(priv, &again), 0);
    assert_string_equal(again, a);
    np_freezero_str(again);
    np_rsa_free(priv);
    np_rsa_free(pub);
    np_freezero_str(a);
    np_free(b);
}

/* The session (ephemeral) key: three primes, an ordinary RSA-2048 public
 * key, and it works both ways with us and with the openssl tool. */
static void test_session_key(void **state)
{
    struct fix *f = *state;
    const char *msg = "EBESExQVFhcYGRobHB0eHw==";
    struct np_rsa_key *k = NULL, *pub = NULL;
    char *pub_b64 = NULL, *ctb64 = NULL, *privp = th_path(f->dir, "priv.pem");
    char *txtp = th_path(f->dir, "priv.txt"), *msgp = th_path(f->dir, "msg.bin");
    char *ctp = th_path(f->dir, "ct.bin"), *pubp = th_path(f->dir, "pub.pem");
    unsigned char *pt = NULL, *txt, *oct;
    size_t pn = 0, tn = 0, on = 0;

    assert_int_equal(np_rsa_generate_session(NULL), NP_ERR_INVAL);
    assert_int_equal(np_rsa_generate_session(&k), 0);
    assert_int_equal(np_rsa_public_b64(k, &pub_b64), 0);
    assert_int_equal(strlen(pub_b64), 392); /* SPKI of a 2048-bit modulus */
    assert_int_equal(np_rsa_from_public_b64(pub_b64, &pub), 0);
    assert_int_equal(np_rsa_match(k, pub), 1);
    /* what a daemon does with it: wrap a B64 key text; we unwrap */
    assert_int_equal(np_rsa_encrypt_b64(pub, msg, strlen(msg), &ctb64), 0);
    assert_int_equal(np_rsa_decrypt_b64(k, ctb64, &pt, &pn), 0);
    assert_int_equal(pn, strlen(msg));
    assert_memory_equal(pt, msg, pn);
    np_freezero(pt, pn + 1);
    /* openssl sees a 2048-bit key with a third prime and encrypts to it */
    write_pem_pair(f, k);
    assert_int_equal(th_openssl("pkey", "-in", privp, "-text", "-noout", "-out", txtp, NULL), 0);
    txt = th_read_file(txtp, &tn);
    assert_non_null(txt);
    assert_non_null(strstr((char *)txt, "2048 bit"));
    assert_non_null(strstr((char *)txt, "prime3:"));
    free(txt);
    assert_int_equal(th_write_file(msgp, msg, strlen(msg), 0600), 0);
    assert_int_equal(th_openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", pubp, "-pkeyopt",
                                "rsa_padding_mode:pkcs1", "-in", msgp, "-out", ctp, NULL),
                     0);
    oct = th_read_file(ctp, &on);
    assert_non_null(oct);
    assert_int_equal(on, 256);
    assert_int_equal(np_rsa_decrypt(k, oct, on, &pt, &pn), 0);
    assert_int_equal(pn, strlen(msg));
    assert_memory_equal(pt, msg, pn);
    np_freezero(pt, pn + 1);
    free(oct);
    np_free(ctb64);
    np_free(pub_b64);
    np_rsa_free(pub);
    np_rsa_free(k);
    free(privp);
    free(txtp);
    free(msgp);
    free(ctp);
    free(pubp);
}

static void test_alloc_failure(void **state)
{
    struct fix *f = *state;
    char *pub = NULL, *priv = NULL;
    int done = 0;

    assert_int_equal(np_rsa_public_b64(f->priv, &pub), 0);
    assert_int_equal(np_rsa_private_b64(f->priv, &priv), 0);
    for (long i = 0; i < 50 && !done; i++) {
        struct np_rsa_key *k = NULL;
        int r1, r2;
        np_alloc_fail_after(i);
        r1 = np_rsa_from_public_b64(pub, &k);
        np_alloc_fail_after(-1);
        if (r1 == 0)
            np_rsa_free(k);
        else
            assert_int_equal(r1, NP_ERR_NOMEM);
        np_alloc_fail_after(i);
        r2 = np_rsa_from_private_b64(priv, &k);
        np_alloc_fail_after(-1);
        if (r2 == 0)
            np_rsa_free(k);
        else
            assert_int_equal(r2, NP_ERR_NOMEM);
        done = (r1 == 0 && r2 == 0);
    }
    assert_true(done);
    np_free(pub);
    np_freezero_str(priv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_import),      cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_encrypt_decrypt),    cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_wrong_key_types),    cmocka_unit_test(test_openssl_signatures),
        cmocka_unit_test(test_openssl_encryption), cmocka_unit_test(test_openssl_generated_key),
        cmocka_unit_test(test_session_key),        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
