/* tests/unit/np/test_relay_auth.c - the legacy relay-auth line (noports-wire.md 5.9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "np/relay_auth.h"
#include "np/envelope.h"
#include "crypto/atkeys.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SID "6c4d4ad6-5f2b-4c38-9a4e-6a8b1c2d3e4f"
#define CN  "2024-07-04T06:12:10.792736"
#define RN  "2024-07-04T06:12:11.000001"

static struct np_rsa_key *alice_priv, *alice_pub, *dev_pub, *dev_priv;

/* Load the encryption key pair of an official demo .atKeys fixture. */
static void load_fixture(const char *name, struct np_rsa_key **priv, struct np_rsa_key **pub)
{
    char path[1024], err[256];
    static char text[16384];
    struct np_atkeys *k = NULL;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/../shared/fixtures/official-demo-atkeys/%s", NP_SOURCE_DIR,
             name);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text), f);
    fclose(f);
    assert_int_equal(np_atkeys_parse(text, n, &k, err, sizeof(err)), 0);
    assert_int_equal(np_rsa_from_private_b64(k->enc_private_b64, priv), 0);
    assert_int_equal(np_rsa_from_public_b64(k->enc_public_b64, pub), 0);
    np_atkeys_free(k);
}

static int setup(void **state)
{
    (void)state;
    load_fixture("alice-wrench.atKeys", &alice_priv, &alice_pub);
    load_fixture("device2.atKeys", &dev_priv, &dev_pub);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    np_rsa_free(alice_priv);
    np_rsa_free(alice_pub);
    np_rsa_free(dev_priv);
    np_rsa_free(dev_pub);
    return 0;
}

static void test_payload_bytes(void **state)
{
    char *s = NULL;
    size_t n = 0;
    (void)state;

    assert_int_equal(np_relay_auth_payload(SID, CN, RN, &s, &n), 0);
    assert_string_equal(s, "{\"sessionId\":\"" SID "\",\"clientNonce\":\"" CN
                           "\",\"rvdNonce\":\"" RN "\"}");
    assert_int_equal(n, strlen(s));
    np_free(s);
    s = NULL;
    /* escaping follows the canonical writer (3.2.1) */
    assert_int_equal(np_relay_auth_payload("a\"b", "c\\d", "e/f\n", &s, NULL), 0);
    assert_string_equal(s, "{\"sessionId\":\"a\\\"b\",\"clientNonce\":\"c\\\\d\","
                           "\"rvdNonce\":\"e/f\\n\"}");
    np_free(s);
    assert_int_equal(np_relay_auth_payload(NULL, CN, RN, &s, NULL), NP_ERR_INVAL);
    assert_null(s);
}

static void test_build_and_verify(void **state)
{
    char *line = NULL;
    size_t len = 0, ll = 0;
    (void)state;

    assert_int_equal(np_relay_auth_line_build(alice_priv, SID, CN, RN, &line, &len), 0);
    assert_int_equal(len, strlen(line));
    assert_true(len < NP_RELAY_AUTH_LINE_MAX);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1));
    assert_true(strncmp(line,
                        "{\"payload\":{\"sessionId\":\"" SID "\",\"clientNonce\":\"" CN
                        "\",\"rvdNonce\":\"" RN "\"},\"signature\":\"",
                        strlen("{\"payload\":{\"sessionId\":\"" SID "\",\"clientNonce\":\"" CN
                               "\",\"rvdNonce\":\"" RN "\"},\"signature\":\"")) == 0);
    assert_non_null(strstr(line, "\"hashingAlgo\":\"sha256\",\"signingAlgo\":\"rsa2048\"}\n"));

    assert_int_equal(np_relay_auth_line_find(line, len, &ll), 0);
    assert_int_equal(ll, len - 1);
    assert_int_equal(np_relay_auth_line_verify(line, ll, alice_pub, SID, CN, RN), 0);
    /* CRLF is tolerated */
    {
        char *crlf = np_malloc(len + 2);
        assert_non_null(crlf);
        memcpy(crlf, line, ll);
        memcpy(crlf + ll, "\r\n", 2);
        assert_int_equal(np_relay_auth_line_verify(crlf, ll + 1, alice_pub, SID, CN, RN), 0);
        np_free(crlf);
    }
    /* wrong key (port B's atSign), other session, other client nonce, other relay nonce */
    assert_int_equal(np_relay_auth_line_verify(line, ll, dev_pub, SID, CN, RN), NP_ERR_VERIFY);
    assert_int_equal(np_relay_auth_line_verify(line, ll, alice_pub, "other", CN, RN),
                     NP_ERR_VERIFY);
    assert_int_equal(np_relay_auth_line_verify(line, ll, alice_pub, SID, "cn2", RN), NP_ERR_VERIFY);
    assert_int_equal(np_relay_auth_line_verify(line, ll, alice_pub, SID, CN, "rn2"), NP_ERR_AUTH);
    /* a flipped signature character */
    {
        char *sig = strstr(line, "\"signature\":\"") + strlen("\"signature\":\"");
        sig[10] = sig[10] == 'A' ? 'B' : 'A';
        assert_int_equal(np_relay_auth_line_verify(line, ll, alice_pub, SID, CN, RN),
                         NP_ERR_VERIFY);
    }
    np_free(line);
}

/* Sign an arbitrary payload text as an envelope (what a forger controls). */
static char *envelope_of(const char *payload_json, const struct np_rsa_key *k)
{
    cJSON *p = cJSON_Parse(payload_json);
    char *out = NULL;

    assert_non_null(p);
    assert_int_equal(np_envelope_sign(k, p, &out), 0);
    cJSON_Delete(p);
    return out;
}

static void test_reconstruction_only(void **state)
{
    char *env;
    (void)state;

    /* validly signed, but the payload has an extra member: the signature covers
     * bytes that differ from the relay's reconstruction */
    env = envelope_of("{\"sessionId\":\"" SID "\",\"clientNonce\":\"" CN "\",\"rvdNonce\":\"" RN
                      "\",\"extra\":1}",
                      alice_priv);
    assert_int_equal(np_relay_auth_line_verify(env, strlen(env), alice_pub, SID, CN, RN),
                     NP_ERR_VERIFY);
    np_free(env);
    /* members in another order */
    env = envelope_of("{\"rvdNonce\":\"" RN "\",\"sessionId\":\"" SID "\",\"clientNonce\":\"" CN
                      "\"}",
                      alice_priv);
    assert_int_equal(np_relay_auth_line_verify(env, strlen(env), alice_pub, SID, CN, RN),
                     NP_ERR_VERIFY);
    np_free(env);
    /* a different nonce, correctly signed */
    env = envelope_of("{\"sessionId\":\"" SID "\",\"clientNonce\":\"" CN
                      "\",\"rvdNonce\":\"2024-01-01T00:00:00.000000\"}",
                      alice_priv);
    assert_int_equal(np_relay_auth_line_verify(env, strlen(env), alice_pub, SID, CN, RN),
                     NP_ERR_AUTH);
    np_free(env);
    /* payload without rvdNonce */
    env = envelope_of("{\"sessionId\":\"" SID "\",\"clientNonce\":\"" CN "\"}", alice_priv);
    assert_int_equal(np_relay_auth_line_verify(env, strlen(env), alice_pub, SID, CN, RN),
                     NP_ERR_AUTH);
    np_free(env);
    /* the exact payload, signed by the other atSign */
    env = envelope_of(
        "{\"sessionId\":\"" SID "\",\"clientNonce\":\"" CN "\",\"rvdNonce\":\"" RN "\"}", dev_priv);
    assert_int_equal(np_relay_auth_line_verify(env, strlen(env), alice_pub, SID, CN, RN),
                     NP_ERR_VERIFY);
    assert_int_equal(np_relay_auth_line_verify(env, strlen(env), dev_pub, SID, CN, RN), 0);
    np_free(env);
}

static void test_bad_lines(void **state)
{
    static const char *bad[] = {
        "",
        "hello",
        "{}",
        "{\"payload\":{},\"signature\":\"x\"}",
        ("{\"payload\":\"p\",\"signature\":\"x\",\"hashingAlgo\":\"sha256\","
         "\"signingAlgo\":\"rsa2048\"}"),
        "[1,2,3]",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(np_relay_auth_line_verify(bad[i], strlen(bad[i]), alice_pub, SID, CN, RN),
                         NP_ERR_FORMAT);
    const char *md5 = "{\"payload\":{\"sessionId\":\"s\",\"clientNonce\":\"c\",\"rvdNonce\":\"" RN
                      "\"},\"signature\":\"AAAA\",\"hashingAlgo\":\"md5\","
                      "\"signingAlgo\":\"rsa2048\"}";
    assert_int_equal(np_relay_auth_line_verify(md5, strlen(md5), alice_pub, SID, CN, RN),
                     NP_ERR_UNSUPPORTED);
    const char *badsig =
        "{\"payload\":{\"sessionId\":\"s\",\"clientNonce\":\"c\",\"rvdNonce\":\"" RN
        "\"},\"signature\":\"!!notbase64\",\"hashingAlgo\":\"sha256\","
        "\"signingAlgo\":\"rsa2048\"}";
    assert_int_equal(np_relay_auth_line_verify(badsig, strlen(badsig), alice_pub, SID, CN, RN),
                     NP_ERR_VERIFY);
    {
        char *big = np_malloc(NP_RELAY_AUTH_LINE_MAX + 1);
        assert_non_null(big);
        memset(big, ' ', NP_RELAY_AUTH_LINE_MAX + 1);
        assert_int_equal(
            np_relay_auth_line_verify(big, NP_RELAY_AUTH_LINE_MAX + 1, alice_pub, SID, CN, RN),
            NP_ERR_TOOBIG);
        np_free(big);
    }
}

static void test_line_find(void **state)
{
    char *buf = np_malloc(NP_RELAY_AUTH_LINE_MAX + 16);
    size_t ll = 99;
    (void)state;

    assert_non_null(buf);
    assert_int_equal(np_relay_auth_line_find("", 0, &ll), NP_AGAIN);
    assert_int_equal(ll, 0);
    assert_int_equal(np_relay_auth_line_find("{\"pay", 5, &ll), NP_AGAIN);
    /* data after the newline is left for the caller */
    assert_int_equal(np_relay_auth_line_find("{}\nSSH-2.0-x\n", 14, &ll), 0);
    assert_int_equal(ll, 2);
    /* a newline as the 4096th byte is still within the limit */
    memset(buf, 'x', NP_RELAY_AUTH_LINE_MAX + 16);
    buf[NP_RELAY_AUTH_LINE_MAX - 1] = '\n';
    assert_int_equal(np_relay_auth_line_find(buf, NP_RELAY_AUTH_LINE_MAX + 16, &ll), 0);
    assert_int_equal(ll, NP_RELAY_AUTH_LINE_MAX - 1);
    /* one byte later is too long, whether or not more bytes follow */
    buf[NP_RELAY_AUTH_LINE_MAX - 1] = 'x';
    buf[NP_RELAY_AUTH_LINE_MAX] = '\n';
    assert_int_equal(np_relay_auth_line_find(buf, NP_RELAY_AUTH_LINE_MAX + 16, &ll), NP_ERR_TOOBIG);
    assert_int_equal(np_relay_auth_line_find(buf, NP_RELAY_AUTH_LINE_MAX, &ll), NP_ERR_TOOBIG);
    assert_int_equal(np_relay_auth_line_find(buf, NP_RELAY_AUTH_LINE_MAX - 1, &ll), NP_AGAIN);
    np_free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_bytes),       cmocka_unit_test(test_build_and_verify),
        cmocka_unit_test(test_reconstruction_only), cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_line_find),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
