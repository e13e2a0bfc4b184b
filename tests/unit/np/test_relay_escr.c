/* tests/unit/np/test_relay_escr.c - ESCR relay authentication (noports-wire.md 5.10). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "np/escr.h"
#include "crypto/aes.h"
#include "crypto/atkeys.h"
#include "crypto/b64.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define SID  "6c4d4ad6-5f2b-4c38-9a4e-6a8b1c2d3e4f"
#define KEY  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY2 "HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo="
#define SK_A "public:_apsk.primary.a.__e@alice"

static struct np_rsa_key *pkam_priv, *pkam_pub, *enc_pub;

static int setup(void **state)
{
    char path[1024], err[256];
    static char text[16384];
    struct np_atkeys *k = NULL;
    FILE *f;
    size_t n;
    (void)state;

    snprintf(path, sizeof(path), "%s/../shared/fixtures/official-demo-atkeys/%s", NP_SOURCE_DIR,
             "alice-wrench.atKeys");
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text), f);
    fclose(f);
    assert_int_equal(np_atkeys_parse(text, n, &k, err, sizeof(err)), 0);
    assert_int_equal(np_rsa_from_private_b64(k->pkam_private_b64, &pkam_priv), 0);
    assert_int_equal(np_rsa_from_public_b64(k->pkam_public_b64, &pkam_pub), 0);
    assert_int_equal(np_rsa_from_public_b64(k->enc_public_b64, &enc_pub), 0);
    np_atkeys_free(k);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    np_rsa_free(pkam_priv);
    np_rsa_free(pkam_pub);
    np_rsa_free(enc_pub);
    return 0;
}

/* Independent construction of a response straight from the spec text, with
 * every field controllable, so the parser's checks can be hit one by one. */
static char *ref_response(const char *line_sid, const char *p_json, const char *ha, const char *sa,
                          const char *sk, const char *key_b64)
{
    char *sig = NULL, *etxt, *e64 = NULL, *cipher = NULL, *wtxt, *w64 = NULL, *line;
    const char *iv_b64 = "EBESExQVFhcYGRobHB0eHw==";
    cJSON *E, *W;
    size_t n;

    assert_int_equal(np_rsa_sign_b64(pkam_priv, NP_HASH_SHA256, p_json, strlen(p_json), &sig), 0);
    E = cJSON_CreateObject();
    cJSON_AddItemToObject(E, "p", cJSON_Parse(p_json));
    cJSON_AddStringToObject(E, "s", sig);
    cJSON_AddStringToObject(E, "ha", ha);
    cJSON_AddStringToObject(E, "sa", sa);
    cJSON_AddStringToObject(E, "sk", sk);
    etxt = cJSON_PrintUnformatted(E);
    assert_non_null(etxt);
    assert_int_equal(np_b64_encode(etxt, strlen(etxt), &e64, NULL), 0);
    assert_int_equal(np_at_aes_encrypt_b64key(key_b64, iv_b64, e64, strlen(e64), &cipher), 0);
    W = cJSON_CreateObject();
    cJSON_AddStringToObject(W, "iv", iv_b64);
    cJSON_AddStringToObject(W, "e", cipher);
    wtxt = cJSON_PrintUnformatted(W);
    assert_int_equal(np_b64_encode(wtxt, strlen(wtxt), &w64, NULL), 0);
    n = strlen(line_sid) + strlen(w64) + 2;
    line = np_malloc(n);
    assert_non_null(line);
    snprintf(line, n, "%s:%s", line_sid, w64);
    cJSON_free(etxt);
    cJSON_free(wtxt);
    cJSON_Delete(E);
    cJSON_Delete(W);
    np_free(sig);
    np_free(e64);
    np_free(cipher);
    np_free(w64);
    return line;
}

static int parse_line(const char *line, const char *key, const char *sid, const char *c, char side,
                      const char *atsign, struct np_escr_response **out)
{
    return np_escr_response_parse(line, strlen(line), key, sid, c, side, atsign, out);
}

static void test_challenge(void **state)
{
    char *a = NULL, *b = NULL;
    unsigned char raw[NP_ESCR_CHALLENGE_BYTES];
    (void)state;

    assert_int_equal(np_escr_challenge_new(&a), 0);
    assert_int_equal(np_escr_challenge_new(&b), 0);
    assert_int_equal(strlen(a), NP_ESCR_CHALLENGE_LEN);
    assert_int_equal(np_b64_decode_exact(a, raw, sizeof(raw)), 0);
    assert_string_not_equal(a, b);
    np_free(a);
    np_free(b);
}

static void test_roundtrip(void **state)
{
    struct np_escr_response *res = NULL;
    char *ch = NULL, *line = NULL;
    size_t len = 0;
    (void)state;

    assert_int_equal(np_escr_challenge_new(&ch), 0);
    assert_int_equal(np_escr_response_build(pkam_priv, SK_A, SID, ch, 'a', KEY, &line, &len), 0);
    assert_int_equal(len, strlen(line));
    assert_true(len <= NP_ESCR_LINE_MAX);
    assert_int_equal(line[len - 1], '\n');
    assert_int_equal(strncmp(line, SID ":", strlen(SID) + 1), 0);
    for (size_t i = 0; i + 1 < len; i++)
        assert_true(line[i] > 0x20 && line[i] < 0x7f);
    {
        char sid[64];
        assert_int_equal(np_escr_response_session(line, len - 1, sid, sizeof(sid)), 0);
        assert_string_equal(sid, SID);
        assert_int_equal(np_escr_response_session(line, len - 1, sid, 8), NP_ERR_TOOBIG);
        assert_int_equal(np_escr_response_session("nocolon", 7, sid, sizeof(sid)), NP_ERR_FORMAT);
    }

    assert_int_equal(np_escr_response_parse(line, len - 1, KEY, SID, ch, 'a', "@alice", &res), 0);
    assert_string_equal(np_escr_response_sk(res), SK_A);
    assert_int_equal(np_escr_response_verify(res, pkam_pub), 0);
    /* the encryption key is not the signing key */
    assert_int_equal(np_escr_response_verify(res, enc_pub), NP_ERR_VERIFY);
    np_escr_response_free(res);
    res = NULL;
    /* atSign check is optional and case-insensitive */
    assert_int_equal(np_escr_response_parse(line, len - 1, KEY, SID, ch, 'a', NULL, &res), 0);
    np_escr_response_free(res);
    res = NULL;
    assert_int_equal(np_escr_response_parse(line, len - 1, KEY, SID, ch, 'a', "ALICE", &res), 0);
    np_escr_response_free(res);
    res = NULL;

    /* wrong side, other challenge (a replay on a socket that got a fresh one),
     * other session, other atSign, other key */
    assert_int_equal(np_escr_response_parse(line, len - 1, KEY, SID, ch, 'b', NULL, &res),
                     NP_ERR_AUTH);
    {
        char *ch2 = NULL;
        assert_int_equal(np_escr_challenge_new(&ch2), 0);
        assert_int_equal(np_escr_response_parse(line, len - 1, KEY, SID, ch2, 'a', NULL, &res),
                         NP_ERR_AUTH);
        np_free(ch2);
    }
    assert_int_equal(np_escr_response_parse(line, len - 1, KEY, "other", ch, 'a', NULL, &res),
                     NP_ERR_AUTH);
    assert_int_equal(np_escr_response_parse(line, len - 1, KEY, SID, ch, 'a', "@bob", &res),
                     NP_ERR_AUTH);
    assert_int_equal(np_escr_response_parse(line, len - 1, KEY2, SID, ch, 'a', NULL, &res),
                     NP_ERR_FORMAT);
    assert_null(res);
    np_free(line);
    np_free(ch);
}

/* What our builder sends decodes to exactly the structure of the spec. */
static void test_wire_structure(void **state)
{
    char *line = NULL, *colon;
    unsigned char *w = NULL, *plain = NULL, *etxt = NULL;
    size_t wl = 0, pl = 0, el = 0, len = 0;
    cJSON *W, *E, *it;
    const char *names[] = {"p", "s", "ha", "sa", "sk"};
    int i = 0;
    (void)state;

    assert_int_equal(
        np_escr_response_build(pkam_priv, SK_A, SID, "Y2hhbGxlbmdl", 'b', KEY, &line, &len), 0);
    colon = strchr(line, ':');
    assert_int_equal(np_b64_decode(colon + 1, len - 1 - (size_t)(colon + 1 - line), &w, &wl), 0);
    W = cJSON_Parse((const char *)w);
    assert_non_null(W);
    assert_string_equal(W->child->string, "iv");
    assert_string_equal(W->child->next->string, "e");
    assert_null(W->child->next->next);
    assert_int_equal(np_at_aes_decrypt_b64key(KEY, cJSON_GetObjectItem(W, "iv")->valuestring,
                                              cJSON_GetObjectItem(W, "e")->valuestring, &plain,
                                              &pl),
                     0);
    /* the plaintext is the base64 TEXT of JSON(E) */
    assert_int_equal(np_b64_decode((const char *)plain, pl, &etxt, &el), 0);
    E = cJSON_Parse((const char *)etxt);
    assert_non_null(E);
    cJSON_ArrayForEach(it, E)
    {
        assert_true(i < 5);
        assert_string_equal(it->string, names[i]);
        i++;
    }
    assert_int_equal(i, 5);
    {
        char *p = cJSON_PrintUnformatted(cJSON_GetObjectItem(E, "p"));
        assert_string_equal(p, "{\"sid\":\"" SID "\",\"c\":\"Y2hhbGxlbmdl\",\"side\":\"b\"}");
        assert_int_equal(np_rsa_verify_b64(pkam_pub, NP_HASH_SHA256, p, strlen(p),
                                           cJSON_GetObjectItem(E, "s")->valuestring),
                         0);
        cJSON_free(p);
    }
    assert_string_equal(cJSON_GetObjectItem(E, "ha")->valuestring, "sha256");
    assert_string_equal(cJSON_GetObjectItem(E, "sa")->valuestring, "rsa2048");
    assert_string_equal(cJSON_GetObjectItem(E, "sk")->valuestring, SK_A);
    cJSON_Delete(W);
    cJSON_Delete(E);
    np_free(w);
    np_freezero(plain, pl + 1);
    np_free(etxt);
    np_free(line);
}

static void test_reference_and_bad_fields(void **state)
{
    struct np_escr_response *res = NULL;
    const char *goodp = "{\"sid\":\"" SID "\",\"c\":\"CH\",\"side\":\"a\"}";
    char *line;
    (void)state;

    /* a response built independently from the spec is accepted */
    line = ref_response(SID, goodp, "sha256", "rsa2048", SK_A, KEY);
    assert_int_equal(parse_line(line, KEY, SID, "CH", 'a', "@alice", &res), 0);
    assert_int_equal(np_escr_response_verify(res, pkam_pub), 0);
    np_escr_response_free(res);
    res = NULL;
    np_free(line);

    struct {
        const char *sid, *p, *ha, *sa, *sk;
        int want;
    } cases[] = {
        {SID, goodp, "md5", "rsa2048", SK_A, NP_ERR_UNSUPPORTED},
        {SID, goodp, "sha256", "ecc", SK_A, NP_ERR_UNSUPPORTED},
        /* earlier development URIs are rejected */
        {SID, goodp, "sha256", "rsa2048", "public:dsk.primary.__wa@alice", NP_ERR_AUTH},
        {SID, goodp, "sha256", "rsa2048", "public:apsk.primary.a.__e.sshnp@alice", NP_ERR_AUTH},
        {SID, goodp, "sha256", "rsa2048", "public:_apsk.primary.r.__e@alice", NP_ERR_AUTH},
        {SID, goodp, "sha256", "rsa2048", "public:_apsk.primary.a.__e@mallory", NP_ERR_AUTH},
        {SID, goodp, "sha256", "rsa2048", "_apsk.primary.a.__e@alice", NP_ERR_FORMAT},
        {SID, goodp, "sha256", "rsa2048", "public:a.__e@", NP_ERR_FORMAT},
        {SID, goodp, "sha256", "rsa2048", "public:_apsk.x y.a.__e@alice", NP_ERR_FORMAT},
        /* p members wrong */
        {SID, "{\"sid\":\"other\",\"c\":\"CH\",\"side\":\"a\"}", "sha256", "rsa2048", SK_A,
         NP_ERR_AUTH},
        {SID, "{\"sid\":\"" SID "\",\"c\":\"CH\",\"side\":\"ab\"}", "sha256", "rsa2048", SK_A,
         NP_ERR_AUTH},
        {SID, "{\"sid\":\"" SID "\",\"c\":\"CH\"}", "sha256", "rsa2048", SK_A, NP_ERR_FORMAT},
        {SID, "{\"sid\":\"" SID "\",\"c\":1,\"side\":\"a\"}", "sha256", "rsa2048", SK_A,
         NP_ERR_FORMAT},
        /* session id before ':' differs from the session of the socket */
        {"other", goodp, "sha256", "rsa2048", SK_A, NP_ERR_AUTH},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        line = ref_response(cases[i].sid, cases[i].p, cases[i].ha, cases[i].sa, cases[i].sk, KEY);
        rc = parse_line(line, KEY, SID, "CH", 'a', "@alice", &res);
        if (rc != cases[i].want)
            fprintf(stderr, "case %zu: got %d want %d\n", i, rc, cases[i].want);
        assert_int_equal(rc, cases[i].want);
        assert_null(res);
        np_free(line);
    }

    /* p with members in another order: parse is fine, but the signature covers
     * bytes that differ from the relay's reconstruction */
    line = ref_response(SID, "{\"c\":\"CH\",\"sid\":\"" SID "\",\"side\":\"a\"}", "sha256",
                        "rsa2048", SK_A, KEY);
    assert_int_equal(parse_line(line, KEY, SID, "CH", 'a', NULL, &res), 0);
    assert_int_equal(np_escr_response_verify(res, pkam_pub), NP_ERR_VERIFY);
    np_escr_response_free(res);
    np_free(line);
}

static void test_garbage(void **state)
{
    struct np_escr_response *res = NULL;
    char *big;
    (void)state;

    assert_int_equal(parse_line("", KEY, SID, "CH", 'a', NULL, &res), NP_ERR_FORMAT);
    assert_int_equal(parse_line(SID, KEY, SID, "CH", 'a', NULL, &res), NP_ERR_FORMAT);
    assert_int_equal(parse_line(SID ":", KEY, SID, "CH", 'a', NULL, &res), NP_ERR_FORMAT);
    assert_int_equal(parse_line(SID ":!!!!", KEY, SID, "CH", 'a', NULL, &res), NP_ERR_FORMAT);
    assert_int_equal(parse_line(SID ":e30=", KEY, SID, "CH", 'a', NULL, &res), NP_ERR_FORMAT);
    assert_int_equal(parse_line(SID ": e30=", KEY, SID, "CH", 'a', NULL, &res), NP_ERR_FORMAT);
    assert_int_equal(parse_line(SID ":\x80\x81", KEY, SID, "CH", 'a', NULL, &res), NP_ERR_FORMAT);
    /* {"iv":"x","e":"y"} */
    assert_int_equal(parse_line(SID ":eyJpdiI6IngiLCJlIjoieSJ9", KEY, SID, "CH", 'a', NULL, &res),
                     NP_ERR_FORMAT);
    assert_int_equal(parse_line(SID ":e30=", "notakey", SID, "CH", 'a', NULL, &res), NP_ERR_FORMAT);
    assert_int_equal(parse_line(SID ":e30=", KEY, SID, "CH", 'c', NULL, &res), NP_ERR_INVAL);
    big = np_malloc(NP_ESCR_LINE_MAX + 1);
    assert_non_null(big);
    memset(big, 'A', NP_ESCR_LINE_MAX);
    big[NP_ESCR_LINE_MAX] = '\0';
    assert_int_equal(parse_line(big, KEY, SID, "CH", 'a', NULL, &res), NP_ERR_TOOBIG);
    np_free(big);
    assert_null(res);

    /* builder refuses bad arguments */
    {
        char *line = NULL;
        assert_int_equal(np_escr_response_build(pkam_priv, SK_A, SID, "CH", 'c', KEY, &line, NULL),
                         NP_ERR_INVAL);
        assert_int_equal(
            np_escr_response_build(pkam_priv, SK_A, "a:b", "CH", 'a', KEY, &line, NULL),
            NP_ERR_INVAL);
        assert_int_equal(np_escr_response_build(pkam_priv, SK_A, SID, "C H", 'a', KEY, &line, NULL),
                         NP_ERR_INVAL);
        assert_int_equal(
            np_escr_response_build(pkam_priv, SK_A, SID, "CH", 'a', "short", &line, NULL),
            NP_ERR_FORMAT);
        assert_null(line);
    }
}

static void test_reply_check(void **state)
{
    (void)state;
    assert_int_equal(np_escr_reply_check("ok", 2), 0);
    assert_int_equal(np_escr_reply_check("ok\r", 3), 0);
    assert_int_equal(np_escr_reply_check("Socket auth failed", 18), NP_ERR_AUTH);
    assert_int_equal(np_escr_reply_check("OK", 2), NP_ERR_PROTO);
    assert_int_equal(np_escr_reply_check("okay", 4), NP_ERR_PROTO);
    assert_int_equal(np_escr_reply_check("", 0), NP_ERR_PROTO);
    assert_string_equal(NP_ESCR_OK_LINE, "ok\n");
    assert_string_equal(NP_ESCR_FAILED_LINE, "Socket auth failed\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge),      cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_wire_structure), cmocka_unit_test(test_reference_and_bad_fields),
        cmocka_unit_test(test_garbage),        cmocka_unit_test(test_reply_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
