/*
 * Unit tests for lib/np/envelope.c: round trip, tamper detection (payload,
 * member order, added member, signature, algorithm names), special strings,
 * verification against a receiver-built payload, limits, and an independent
 * check with the openssl tool that the signature covers exactly the expected
 * payload bytes.
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
#include "np/envelope.h"
#include "np/json.h"
#include "testhelp.h"
#include "util/alloc.h"
#include "util/err.h"

struct fix {
    struct np_rsa_key *priv, *pub, *other;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    char *pub = NULL;

    if (!f || np_rsa_generate(&f->priv) != 0 || np_rsa_generate(&f->other) != 0 ||
        np_rsa_public_b64(f->priv, &pub) != 0 || np_rsa_from_public_b64(pub, &f->pub) != 0)
        return -1;
    np_free(pub);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;

    np_rsa_free(f->priv);
    np_rsa_free(f->pub);
    np_rsa_free(f->other);
    free(f);
    return 0;
}

static const char *relay_payload =
    "{\"sessionId\":\"0f6c7d2e-6a54-4b7e-9a8e-2f1d3c4b5a69\",\"clientNonce\":\"2024-10-20T10:00:"
    "00.123456\",\"rvdNonce\":\"2024-10-20T10:00:00.456789\"}";

static cJSON *parse(const char *s)
{
    cJSON *v = NULL;

    assert_int_equal(np_json_parse(s, strlen(s), 1 << 20, &v), 0);
    return v;
}

static char *sign_text(struct fix *f, const char *payload)
{
    cJSON *p = parse(payload);
    char *env = NULL;

    assert_int_equal(np_envelope_sign(f->priv, p, &env), 0);
    cJSON_Delete(p);
    return env;
}

/* Replace the first occurrence of from with to in s (new malloc'd string). */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    size_t n;
    char *r;

    assert_non_null(at);
    n = strlen(s) - strlen(from) + strlen(to) + 1;
    r = malloc(n);
    assert_non_null(r);
    memcpy(r, s, (size_t)(at - s));
    memcpy(r + (at - s), to, strlen(to));
    memcpy(r + (at - s) + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
    return r;
}

static int verify(struct fix *f, const char *env)
{
    cJSON *p = (cJSON *)1;
    int r = np_envelope_verify(env, strlen(env), f->pub, &p);

    if (r == 0) {
        assert_non_null(p);
        cJSON_Delete(p);
    } else {
        assert_null(p);
    }
    return r;
}

static void test_round_trip(void **state)
{
    struct fix *f = *state;
    char *env = sign_text(f, relay_payload), *canon = NULL, *prefix;
    cJSON *p = NULL;
    size_t n = strlen("{\"payload\":") + strlen(relay_payload);

    /* layout: payload first, then signature, hashingAlgo, signingAlgo */
    prefix = malloc(n + 1);
    assert_non_null(prefix);
    memcpy(prefix, "{\"payload\":", 11);
    memcpy(prefix + 11, relay_payload, strlen(relay_payload) + 1);
    assert_memory_equal(env, prefix, n);
    assert_true(strncmp(env + n, ",\"signature\":\"", 14) == 0);
    assert_int_equal(env[n + 14 + 344], '"');
    assert_string_equal(env + n + 14 + 345,
                        ",\"hashingAlgo\":\"sha256\",\"signingAlgo\":\"rsa2048\"}");
    free(prefix);
    assert_int_equal(np_envelope_verify(env, strlen(env), f->pub, &p), 0);
    assert_int_equal(np_json_canonical(p, &canon, NULL), 0);
    assert_string_equal(canon, relay_payload);
    np_free(canon);
    cJSON_Delete(p);
    /* payload_out may be NULL; a trailing newline (relay-auth line) is fine */
    assert_int_equal(np_envelope_verify(env, strlen(env), f->pub, NULL), 0);
    {
        char *line = replace(env, "\"rsa2048\"}", "\"rsa2048\"}\n");
        assert_int_equal(verify(f, line), 0);
        free(line);
    }
    /* another key does not verify */
    assert_int_equal(np_envelope_verify(env, strlen(env), f->other, NULL), NP_ERR_VERIFY);
    np_free(env);
}

static void test_sha512(void **state)
{
    struct fix *f = *state;
    cJSON *p = parse(relay_payload);
    char *env = NULL, *swapped;

    assert_int_equal(np_envelope_sign_alg(f->priv, NP_HASH_SHA512, p, &env), 0);
    assert_non_null(strstr(env, "\"hashingAlgo\":\"sha512\""));
    assert_int_equal(verify(f, env), 0);
    swapped = replace(env, "sha512", "sha256");
    assert_int_equal(verify(f, swapped), NP_ERR_VERIFY);
    free(swapped);
    np_free(env);
    cJSON_Delete(p);
}

static void test_tampering(void **state)
{
    struct fix *f = *state;
    char *env = sign_text(f, relay_payload);
    static const struct {
        const char *from, *to;
        int err;
    } cases[] = {
        /* one member value */
        {"10:00:00.456789", "10:00:00.456780", NP_ERR_VERIFY},
        /* member order */
        {"\"clientNonce\":\"2024-10-20T10:00:00.123456\",\"rvdNonce\":\"2024-10-20T10:00:00."
         "456789\"",
         "\"rvdNonce\":\"2024-10-20T10:00:00.456789\",\"clientNonce\":\"2024-10-20T10:00:00."
         "123456\"",
         NP_ERR_VERIFY},
        /* added member */
        {"\"sessionId\"", "\"x\":1,\"sessionId\"", NP_ERR_VERIFY},
        {"456789\"}", "456789\",\"x\":null}", NP_ERR_VERIFY},
        /* algorithm names */
        {"\"sha256\"", "\"sha512\"", NP_ERR_VERIFY},
        {"\"sha256\"", "\"md5\"", NP_ERR_UNSUPPORTED},
        {"\"sha256\"", "\"SHA256\"", NP_ERR_UNSUPPORTED},
        {"\"rsa2048\"", "\"rsa4096\"", NP_ERR_UNSUPPORTED},
        {"\"rsa2048\"", "\"ecdsa\"", NP_ERR_UNSUPPORTED},
        /* shape */
        {"\"hashingAlgo\"", "\"hashingAlg\"", NP_ERR_FORMAT},
        {"\"signingAlgo\"", "\"signingAlg\"", NP_ERR_FORMAT},
        {"\"signature\"", "\"sig\"", NP_ERR_FORMAT},
        {"\"payload\"", "\"Payload\"", NP_ERR_FORMAT},
        {"\"signature\":\"", "\"signature\":5,\"x\":\"", NP_ERR_FORMAT},
        {"\"rsa2048\"}", "\"rsa2048\"},", NP_ERR_FORMAT},
        {"\"rsa2048\"}", "\"rsa2048\"", NP_ERR_FORMAT},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = replace(env, cases[i].from, cases[i].to);
        assert_int_equal(verify(f, t), cases[i].err);
        free(t);
    }
    /* the signature: every position changed to another base64 letter */
    {
        const char *sig = strstr(env, "\"signature\":\"") + 13;
        size_t off = (size_t)(sig - env);
        char *t = strdup(env);
        assert_non_null(t);
        for (size_t k = 0; k < 343; k += 7) {
            t[off + k] = (char)(env[off + k] == 'A' ? 'B' : 'A');
            assert_int_equal(verify(f, t), NP_ERR_VERIFY);
            t[off + k] = env[off + k];
        }
        assert_int_equal(verify(f, t), 0);
        /* not base64 at all, or too short */
        t[off + 5] = '!';
        assert_int_equal(verify(f, t), NP_ERR_VERIFY);
        free(t);
        t = replace(env, "\"signature\":\"", "\"signature\":\"AAAA");
        assert_int_equal(verify(f, t), NP_ERR_VERIFY);
        free(t);
    }
    /* the payload must be an object */
    {
        char *t = replace(env, relay_payload, "[1,2]");
        assert_int_equal(verify(f, t), NP_ERR_FORMAT);
        free(t);
    }
    np_free(env);
}

/* Receivers must not depend on the envelope's own layout (noports-wire 3.2). */
static void test_reformatted_envelope(void **state)
{
    struct fix *f = *state;
    char *env = sign_text(f, relay_payload);
    cJSON *root = parse(env), *sig;
    char *pretty;

    sig = cJSON_DetachItemFromObjectCaseSensitive(root, "signature");
    assert_non_null(sig);
    assert_true(cJSON_InsertItemInArray(root, 0, sig)); /* signature first */
    pretty = cJSON_Print(root);                         /* whitespace everywhere */
    assert_non_null(pretty);
    assert_non_null(strchr(pretty, '\n'));
    assert_int_equal(verify(f, pretty), 0);
    cJSON_free(pretty);
    cJSON_Delete(root);
    np_free(env);
}

static void test_special_strings(void **state)
{
    struct fix *f = *state;
    cJSON *p = cJSON_CreateObject(), *back = NULL;
    char *env = NULL, *c1 = NULL, *c2 = NULL;

    assert_non_null(cJSON_AddStringToObject(p, "quote", "say \"hi\" \\ back\\slash"));
    assert_non_null(cJSON_AddStringToObject(p, "ctrl",
                                            "a\x01"
                                            "b\nc\td\x1f"));
    assert_non_null(
        cJSON_AddStringToObject(p, "utf8", "\xc3\xa9t\xc3\xa9 @alice\xf0\x9f\x9b\xa0 /"));
    assert_non_null(cJSON_AddNumberToObject(p, "big", 1729730000123.0));
    assert_non_null(cJSON_AddNumberToObject(p, "neg", -2147483649.0));
    assert_non_null(cJSON_AddTrueToObject(p, "t"));
    assert_non_null(cJSON_AddNullToObject(p, "n"));
    assert_int_equal(np_envelope_sign(f->priv, p, &env), 0);
    assert_non_null(strstr(env, "\"ctrl\":\"a\\u0001b\\nc\\td\\u001f\""));
    assert_non_null(strstr(env, "\"quote\":\"say \\\"hi\\\" \\\\ back\\\\slash\""));
    assert_non_null(strstr(env, "\"utf8\":\"\xc3\xa9t\xc3\xa9 @alice\xf0\x9f\x9b\xa0 /\""));
    assert_non_null(strstr(env, "\"big\":1729730000123,"));
    assert_int_equal(np_envelope_verify(env, strlen(env), f->pub, &back), 0);
    assert_int_equal(np_json_canonical(p, &c1, NULL), 0);
    assert_int_equal(np_json_canonical(back, &c2, NULL), 0);
    assert_string_equal(c1, c2);
    assert_string_equal(cJSON_GetObjectItem(back, "ctrl")->valuestring, "a\x01"
                                                                        "b\nc\td\x1f");
    np_free(c1);
    np_free(c2);
    cJSON_Delete(back);
    np_free(env);
    /* a fractional number cannot be signed canonically */
    assert_non_null(cJSON_AddNumberToObject(p, "frac", 0.5));
    env = (char *)1;
    assert_int_equal(np_envelope_sign(f->priv, p, &env), NP_ERR_UNSUPPORTED);
    assert_null(env);
    cJSON_Delete(p);
}

/* srvd-style: verify against a payload the receiver rebuilt (noports-wire 5.9). */
static void test_parse_and_verify_text(void **state)
{
    struct fix *f = *state;
    char *env = sign_text(f, relay_payload);
    struct np_envelope *e = NULL;
    cJSON *taken;
    const char *other =
        "{\"sessionId\":\"0f6c7d2e-6a54-4b7e-9a8e-2f1d3c4b5a69\",\"clientNonce\":"
        "\"2024-10-20T10:00:00.123456\",\"rvdNonce\":\"2024-10-20T10:00:00.999999\"}";

    assert_int_equal(np_envelope_parse(env, strlen(env), &e), 0);
    assert_string_equal(np_envelope_payload_text(e), relay_payload);
    assert_int_equal(np_envelope_payload_text_len(e), strlen(relay_payload));
    assert_int_equal(np_envelope_hash_alg(e), NP_HASH_SHA256);
    assert_int_equal(strlen(np_envelope_signature(e)), 344);
    assert_string_equal(cJSON_GetObjectItem(np_envelope_payload(e), "rvdNonce")->valuestring,
                        "2024-10-20T10:00:00.456789");
    assert_int_equal(np_envelope_check(e, f->pub), 0);
    assert_int_equal(np_envelope_check(e, f->other), NP_ERR_VERIFY);
    assert_int_equal(np_envelope_verify_text(f->pub, NP_HASH_SHA256, relay_payload,
                                             strlen(relay_payload), np_envelope_signature(e)),
                     0);
    assert_int_equal(np_envelope_verify_text(f->pub, NP_HASH_SHA256, other, strlen(other),
                                             np_envelope_signature(e)),
                     NP_ERR_VERIFY);
    assert_int_equal(np_envelope_verify_text(f->pub, NP_HASH_SHA256, relay_payload,
                                             strlen(relay_payload), "not base64"),
                     NP_ERR_VERIFY);
    taken = np_envelope_take_payload(e);
    assert_non_null(taken);
    assert_null(np_envelope_payload(e));
    assert_null(np_envelope_take_payload(e));
    assert_int_equal(np_envelope_check(e, f->pub), 0); /* the text stays */
    cJSON_Delete(taken);
    np_envelope_free(e);
    np_envelope_free(NULL);
    np_free(env);
}

static void test_limits(void **state)
{
    struct fix *f = *state;
    cJSON *p = cJSON_CreateObject();
    char *big = malloc(NP_ENVELOPE_MAX + 1), *env = (char *)1;
    struct np_envelope *e = (struct np_envelope *)1;

    assert_non_null(big);
    memset(big, 'x', NP_ENVELOPE_MAX);
    big[NP_ENVELOPE_MAX] = 0;
    assert_non_null(cJSON_AddStringToObject(p, "blob", big));
    assert_int_equal(np_envelope_sign(f->priv, p, &env), NP_ERR_TOOBIG);
    assert_null(env);
    assert_int_equal(np_envelope_parse(big, NP_ENVELOPE_MAX + 1, &e), NP_ERR_TOOBIG);
    assert_null(e);
    /* a public key cannot sign; a non-object payload is refused */
    assert_int_equal(np_envelope_sign(f->pub, p, &env), NP_ERR_INVAL);
    cJSON_Delete(p);
    p = cJSON_CreateArray();
    assert_int_equal(np_envelope_sign(f->priv, p, &env), NP_ERR_INVAL);
    cJSON_Delete(p);
    /* non-integral number in a received payload */
    {
        const char *s = "{\"payload\":{\"a\":1.5},\"signature\":\"AAAA\",\"hashingAlgo\":"
                        "\"sha256\",\"signingAlgo\":\"rsa2048\"}";
        assert_int_equal(np_envelope_parse(s, strlen(s), &e), NP_ERR_UNSUPPORTED);
        assert_int_equal(np_envelope_parse("", 0, &e), NP_ERR_FORMAT);
        assert_int_equal(np_envelope_parse("{}", 2, &e), NP_ERR_FORMAT);
        assert_int_equal(np_envelope_parse("[]", 2, &e), NP_ERR_FORMAT);
    }
    free(big);
}

/* The openssl tool checks our signature over a payload text written here by
 * hand: what is signed is exactly the canonical payload, nothing else. */
static void test_openssl_independent(void **state)
{
    struct fix *f = *state;
    char *dir = th_tmpdir_new(), *env = sign_text(f, relay_payload), *pub = NULL;
    char *pem = th_path(dir, "pub.pem"), *der = th_path(dir, "pub.der");
    char *data = th_path(dir, "payload.txt"), *sigp = th_path(dir, "sig.bin");
    struct np_envelope *e = NULL;
    unsigned char *raw = NULL;
    size_t n = 0;

    assert_non_null(dir);
    assert_int_equal(np_rsa_public_b64(f->pub, &pub), 0);
    assert_int_equal(np_b64_decode(pub, strlen(pub), &raw, &n), 0);
    assert_int_equal(th_write_file(der, raw, n, 0600), 0);
    np_free(raw);
    assert_int_equal(th_openssl("pkey", "-pubin", "-inform", "DER", "-in", der, "-out", pem, NULL),
                     0);
    assert_int_equal(np_envelope_parse(env, strlen(env), &e), 0);
    assert_int_equal(np_b64_decode(np_envelope_signature(e), 344, &raw, &n), 0);
    assert_int_equal(th_write_file(sigp, raw, n, 0600), 0);
    np_free(raw);
    assert_int_equal(th_write_file(data,
                                   "{\"sessionId\":\"0f6c7d2e-6a54-4b7e-9a8e-2f1d3c4b5a69\","
                                   "\"clientNonce\":\"2024-10-20T10:00:00.123456\","
                                   "\"rvdNonce\":\"2024-10-20T10:00:00.456789\"}",
                                   strlen(relay_payload), 0600),
                     0);
    assert_int_equal(th_openssl("dgst", "-sha256", "-verify", pem, "-signature", sigp, data, NULL),
                     0);
    /* with a trailing newline the bytes differ and openssl says no */
    assert_int_equal(th_write_file(data, relay_payload, strlen(relay_payload), 0600), 0);
    {
        char *nl = replace(relay_payload, "\"}", "\"}\n");
        assert_int_equal(th_write_file(data, nl, strlen(nl), 0600), 0);
        free(nl);
    }
    assert_int_not_equal(
        th_openssl("dgst", "-sha256", "-verify", pem, "-signature", sigp, data, NULL), 0);
    np_envelope_free(e);
    np_free(pub);
    np_free(env);
    free(pem);
    free(der);
    free(data);
    free(sigp);
    th_tmpdir_remove(dir);
}

static void test_alloc_failure(void **state)
{
    struct fix *f = *state;
    char *env = sign_text(f, relay_payload);
    int done = 0;
    cJSON_Hooks hooks = {np_malloc, np_free}, plain = {NULL, NULL};

    cJSON_InitHooks(&hooks); /* make cJSON's allocations fail too */
    for (long i = 0; i < 2000 && !done; i++) {
        cJSON *p = (cJSON *)1;
        int r;
        np_alloc_fail_after(i);
        r = np_envelope_verify(env, strlen(env), f->pub, &p);
        np_alloc_fail_after(-1);
        if (r == 0) {
            done = 1;
            cJSON_Delete(p);
        } else {
            assert_true(r == NP_ERR_NOMEM || r == NP_ERR_FORMAT);
            assert_null(p);
        }
    }
    assert_true(done);
    done = 0;
    for (long i = 0; i < 2000 && !done; i++) {
        cJSON *p = parse(relay_payload);
        char *out = (char *)1;
        int r;
        np_alloc_fail_after(i);
        r = np_envelope_sign(f->priv, p, &out);
        np_alloc_fail_after(-1);
        if (r == 0) {
            done = 1;
            np_free(out);
        } else {
            assert_int_equal(r, NP_ERR_NOMEM);
            assert_null(out);
        }
        cJSON_Delete(p);
    }
    assert_true(done);
    cJSON_InitHooks(&plain);
    np_free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_sha512),
        cmocka_unit_test(test_tampering),       cmocka_unit_test(test_reformatted_envelope),
        cmocka_unit_test(test_special_strings), cmocka_unit_test(test_parse_and_verify_text),
        cmocka_unit_test(test_limits),          cmocka_unit_test(test_openssl_independent),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
