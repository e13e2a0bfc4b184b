/*
 * Unit tests for lib/crypto/atkeys.c against the official demo .atKeys files:
 * load, key pairs match, write/read round trip, file-mode refusal, and a
 * clear error (never a crash or leak) for damaged files, including under
 * allocation-failure injection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/aes.h"
#include "crypto/atkeys.h"
#include "crypto/rand.h"
#include "crypto/b64.h"
#include "crypto/rsa.h"
#include "testhelp.h"
#include "util/alloc.h"
#include "util/err.h"

static const struct {
    const char *file, *atsign;
} fixtures[] = {
    {"alice-wrench.atKeys", "@alice\xf0\x9f\x9b\xa0"},
    {"bob-wrench.atKeys", "@bob\xf0\x9f\x9b\xa0"},
    {"device2.atKeys", "@device2"},
    {"policy.atKeys", "@policy"},
    {"relay1.atKeys", "@relay1"},
};
#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

struct fix {
    char *dir;
    char *paths[NFIX];
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));

    if (!f || (f->dir = th_tmpdir_new()) == NULL)
        return -1;
    for (size_t i = 0; i < NFIX; i++) {
        char *src = th_path(TH_FIXTURE_DIR, fixtures[i].file);
        f->paths[i] = th_path(f->dir, fixtures[i].file);
        if (!src || !f->paths[i] || th_copy_file(src, f->paths[i], 0600) != 0) {
            fprintf(stderr, "cannot copy fixture %s\n", src ? src : "?");
            free(src);
            return -1;
        }
        free(src);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;

    for (size_t i = 0; i < NFIX; i++)
        free(f->paths[i]);
    th_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* Sign with the private text, verify with the public text. */
static void check_pair(const char *pub_b64, const char *priv_b64)
{
    struct np_rsa_key *pub = NULL, *priv = NULL;
    char *sig = NULL;

    assert_int_equal(np_rsa_from_public_b64(pub_b64, &pub), 0);
    assert_int_equal(np_rsa_from_private_b64(priv_b64, &priv), 0);
    assert_int_equal(np_rsa_size(pub), 256);
    assert_int_equal(np_rsa_sign_b64(priv, NP_HASH_SHA256, "challenge", 9, &sig), 0);
    assert_int_equal(np_rsa_verify_b64(pub, NP_HASH_SHA256, "challenge", 9, sig), 0);
    assert_int_equal(np_rsa_verify_b64(pub, NP_HASH_SHA256, "challengE", 9, sig), NP_ERR_VERIFY);
    np_free(sig);
    np_rsa_free(pub);
    np_rsa_free(priv);
}

static void test_load_fixtures(void **state)
{
    struct fix *f = *state;

    for (size_t i = 0; i < NFIX; i++) {
        struct np_atkeys *k = NULL;
        char err[256] = "x";
        unsigned char self[32];

        assert_int_equal(np_atkeys_load(f->paths[i], &k, err, sizeof(err)), 0);
        assert_non_null(k->pkam_public_b64);
        assert_non_null(k->pkam_private_b64);
        assert_true(
            strncmp(k->pkam_public_b64, "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 44) == 0);
        assert_true(strncmp(k->enc_private_b64, "MIIE", 4) == 0);
        assert_int_equal(np_b64_decode_exact(k->self_enc_key_b64, self, 32), 0);
        assert_string_equal(k->atsign, fixtures[i].atsign);
        assert_null(k->enrollment_id);
        assert_null(k->apkam_symmetric_key_b64);
        check_pair(k->pkam_public_b64, k->pkam_private_b64);
        check_pair(k->enc_public_b64, k->enc_private_b64);
        /* the two pairs are distinct keys */
        assert_string_not_equal(k->pkam_public_b64, k->enc_public_b64);
        np_atkeys_free(k);
    }
    np_atkeys_free(NULL);
}

static void assert_same(const struct np_atkeys *a, const struct np_atkeys *b)
{
    assert_string_equal(a->pkam_public_b64, b->pkam_public_b64);
    assert_string_equal(a->pkam_private_b64, b->pkam_private_b64);
    assert_string_equal(a->enc_public_b64, b->enc_public_b64);
    assert_string_equal(a->enc_private_b64, b->enc_private_b64);
    assert_string_equal(a->self_enc_key_b64, b->self_enc_key_b64);
}

static void test_write_read_back(void **state)
{
    struct fix *f = *state;
    struct np_atkeys *k = NULL, *k2 = NULL;
    char err[256], *out = th_path(f->dir, "written.atKeys");
    struct stat st;
    size_t n;
    unsigned char *text;

    assert_int_equal(np_atkeys_load(f->paths[0], &k, err, sizeof(err)), 0);
    assert_int_equal(np_atkeys_write(out, k, fixtures[0].atsign), 0);
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(np_atkeys_load(out, &k2, err, sizeof(err)), 0);
    assert_same(k, k2);
    assert_string_equal(k2->atsign, fixtures[0].atsign);
    /* the file is compact JSON holding the legacy "@atsign" member */
    text = th_read_file(out, &n);
    assert_non_null(text);
    assert_non_null(strstr((char *)text, "\"@alice\xf0\x9f\x9b\xa0\":\""));
    assert_null(strchr((char *)text, '\n'));
    free(text);
    np_atkeys_free(k2);
    /* overwrite an existing file, without the atSign member and with APKAM fields */
    k->apkam_symmetric_key_b64 = np_strdup("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    k->enrollment_id = np_strdup("0f6c7d2e-6a54-4b7e-9a8e-2f1d3c4b5a69");
    assert_int_equal(np_atkeys_write(out, k, NULL), 0);
    assert_int_equal(np_atkeys_load(out, &k2, err, sizeof(err)), 0);
    assert_same(k, k2);
    assert_null(k2->atsign);
    assert_string_equal(k2->enrollment_id, k->enrollment_id);
    assert_string_equal(k2->apkam_symmetric_key_b64, k->apkam_symmetric_key_b64);
    np_atkeys_free(k2);
    /* no PKAM private key (hardware keys) round trips as absent */
    np_freezero_str(k->pkam_private_b64);
    k->pkam_private_b64 = NULL;
    assert_int_equal(np_atkeys_write(out, k, "@x"), 0);
    assert_int_equal(np_atkeys_load(out, &k2, err, sizeof(err)), 0);
    assert_null(k2->pkam_private_b64);
    assert_string_equal(k2->atsign, "@x");
    np_atkeys_free(k2);
    /* writing into a missing directory fails and leaves nothing behind */
    {
        char *bad = th_path(f->dir, "nodir/x.atKeys");
        assert_int_not_equal(np_atkeys_write(bad, k, NULL), 0);
        free(bad);
    }
    np_atkeys_free(k);
    free(out);
}

static void test_mode_refused(void **state)
{
    struct fix *f = *state;
    static const int modes[] = {0644, 0640, 0604, 0660, 0601};

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        struct np_atkeys *k = (struct np_atkeys *)1;
        char err[512] = "";
        assert_int_equal(chmod(f->paths[1], (mode_t)modes[i]), 0);
        assert_int_equal(np_atkeys_load(f->paths[1], &k, err, sizeof(err)), NP_ERR_PERM);
        assert_null(k);
        assert_non_null(strstr(err, f->paths[1]));
        assert_non_null(strstr(err, "chmod 600"));
    }
    assert_int_equal(chmod(f->paths[1], 0400), 0);
    {
        struct np_atkeys *k = NULL;
        char err[256];
        assert_int_equal(np_atkeys_load(f->paths[1], &k, err, sizeof(err)), 0);
        np_atkeys_free(k);
    }
    assert_int_equal(chmod(f->paths[1], 0600), 0);
}

static void test_load_errors(void **state)
{
    struct fix *f = *state;
    struct np_atkeys *k = NULL;
    char err[512] = "", *p = th_path(f->dir, "big.atKeys"), *big;

    assert_int_equal(np_atkeys_load("/nonexistent/dir/x.atKeys", &k, err, sizeof(err)),
                     NP_ERR_NOTFOUND);
    assert_non_null(strstr(err, "/nonexistent/dir/x.atKeys"));
    assert_int_equal(np_atkeys_load(f->dir, &k, err, sizeof(err)), NP_ERR_FORMAT);
    big = malloc(65 * 1024);
    assert_non_null(big);
    memset(big, ' ', 65 * 1024);
    assert_int_equal(th_write_file(p, big, 65 * 1024, 0600), 0);
    assert_int_equal(np_atkeys_load(p, &k, err, sizeof(err)), NP_ERR_TOOBIG);
    assert_int_equal(np_atkeys_parse(big, 65 * 1024, &k, err, sizeof(err)), NP_ERR_TOOBIG);
    assert_null(k);
    free(big);
    free(p);
}

/* Fixture text as a cJSON tree, edited by the caller, then parsed. */
static int parse_edited(const char *path, void (*edit)(cJSON *, void *), void *arg, char *err,
                        size_t errlen)
{
    size_t n = 0;
    unsigned char *text = th_read_file(path, &n);
    cJSON *root;
    char *s;
    struct np_atkeys *k = (struct np_atkeys *)1;
    int r;

    assert_non_null(text);
    root = cJSON_ParseWithLength((char *)text, n);
    assert_non_null(root);
    edit(root, arg);
    s = cJSON_Print(root); /* pretty-printed, as at_c writes it */
    assert_non_null(s);
    err[0] = '\0';
    r = np_atkeys_parse(s, strlen(s), &k, err, errlen);
    if (r == 0)
        np_atkeys_free(k);
    else
        assert_null(k);
    cJSON_free(s);
    cJSON_Delete(root);
    free(text);
    return r;
}

static void edit_none(cJSON *root, void *arg)
{
}

static void edit_delete(cJSON *root, void *arg)
{
    cJSON_DeleteItemFromObjectCaseSensitive(root, arg);
}

struct repl {
    const char *name, *value;
};

static void edit_replace(cJSON *root, void *arg)
{
    const struct repl *r = arg;
    cJSON *v = cJSON_CreateString(r->value);

    assert_non_null(v);
    if (cJSON_GetObjectItemCaseSensitive(root, r->name))
        assert_true(cJSON_ReplaceItemInObjectCaseSensitive(root, r->name, v));
    else
        cJSON_AddItemToObject(root, r->name, v);
}

static void edit_number(cJSON *root, void *arg)
{
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(root, arg, cJSON_CreateNumber(5)));
}

static void edit_add_unknown(cJSON *root, void *arg)
{
    cJSON_AddStringToObject(root, "someFutureField", "x");
    cJSON_AddNullToObject(root, "enrollmentId");
}

static void test_damaged_fields(void **state)
{
    struct fix *f = *state;
    static const char *required[] = {"aesPkamPublicKey", "aesEncryptPublicKey",
                                     "aesEncryptPrivateKey", "selfEncryptionKey"};
    char err[512];
    struct np_atkeys *other = NULL;

    /* pretty-printed text and unknown fields are fine */
    assert_int_equal(parse_edited(f->paths[0], edit_none, NULL, err, sizeof(err)), 0);
    assert_int_equal(parse_edited(f->paths[0], edit_add_unknown, NULL, err, sizeof(err)), 0);
    /* aesPkamPrivateKey is optional */
    assert_int_equal(
        parse_edited(f->paths[0], edit_delete, (void *)"aesPkamPrivateKey", err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        struct repl bad = {required[i], "@@not base64@@"};
        assert_int_equal(
            parse_edited(f->paths[0], edit_delete, (void *)required[i], err, sizeof(err)),
            NP_ERR_FORMAT);
        assert_non_null(strstr(err, required[i]));
        assert_non_null(strstr(err, "missing"));
        assert_int_equal(
            parse_edited(f->paths[0], edit_number, (void *)required[i], err, sizeof(err)),
            NP_ERR_FORMAT);
        assert_non_null(strstr(err, required[i]));
        assert_non_null(strstr(err, "not a string"));
        assert_int_equal(parse_edited(f->paths[0], edit_replace, &bad, err, sizeof(err)),
                         NP_ERR_FORMAT);
        assert_non_null(strstr(err, required[i]));
    }
    {
        struct repl bad = {"aesEncryptPrivateKey", "@@@@"};
        assert_int_equal(parse_edited(f->paths[0], edit_replace, &bad, err, sizeof(err)),
                         NP_ERR_FORMAT);
        assert_non_null(strstr(err, "aesEncryptPrivateKey: not valid base64"));
    }
    {
        struct repl bad = {"aesPkamPublicKey", "AAAAAAAAAAAAAAAAAAAAAAAA"}; /* 18 bytes */
        assert_int_equal(parse_edited(f->paths[0], edit_replace, &bad, err, sizeof(err)),
                         NP_ERR_FORMAT);
        assert_non_null(strstr(err, "aesPkamPublicKey"));
    }
    {
        struct repl bad = {"selfEncryptionKey", "EBESExQVFhcYGRobHB0eHw=="}; /* 16 bytes */
        assert_int_equal(parse_edited(f->paths[0], edit_replace, &bad, err, sizeof(err)),
                         NP_ERR_FORMAT);
        assert_non_null(strstr(err, "selfEncryptionKey"));
    }
    {
        struct repl bad = {"apkamSymmetricKey", "short"};
        assert_int_equal(parse_edited(f->paths[0], edit_replace, &bad, err, sizeof(err)),
                         NP_ERR_FORMAT);
        assert_non_null(strstr(err, "apkamSymmetricKey"));
    }
    /* a wrong self-encryption key: several random ones, every one refused */
    for (int t = 0; t < 8; t++) {
        unsigned char key[32];
        char *b64 = NULL;
        struct repl bad = {"selfEncryptionKey", NULL};
        assert_int_equal(np_random_bytes(key, sizeof(key)), 0);
        assert_int_equal(np_b64_encode(key, sizeof(key), &b64, NULL), 0);
        bad.value = b64;
        assert_int_equal(parse_edited(f->paths[0], edit_replace, &bad, err, sizeof(err)),
                         NP_ERR_FORMAT);
        assert_true(strlen(err) > 0);
        assert_true(strstr(err, "aesPkamPublicKey") != NULL);
        np_free(b64);
    }
    /* a private key from another file: decrypts fine but does not match */
    {
        char e2[256];
        struct np_atkeys *alice = NULL;
        char *enc = NULL;
        assert_int_equal(np_atkeys_load(f->paths[1], &other, e2, sizeof(e2)), 0);
        assert_int_equal(np_atkeys_load(f->paths[0], &alice, e2, sizeof(e2)), 0);
        assert_int_equal(np_at_aes_encrypt_b64key(alice->self_enc_key_b64, NULL,
                                                  other->enc_private_b64,
                                                  strlen(other->enc_private_b64), &enc),
                         0);
        {
            struct repl bad = {"aesEncryptPrivateKey", enc};
            assert_int_equal(parse_edited(f->paths[0], edit_replace, &bad, err, sizeof(err)),
                             NP_ERR_FORMAT);
            assert_non_null(strstr(err, "aesEncryptPrivateKey: does not match"));
        }
        np_free(enc);
        np_atkeys_free(alice);
        np_atkeys_free(other);
    }
}

static void test_bad_text(void **state)
{
    struct fix *f = *state;
    static const char *bad[] = {
        "", "null", "[]", "\"x\"", "{", "{}", "{\"selfEncryptionKey\":1}", "{} x", "\xff\xfe"};
    char err[256];
    size_t n = 0;
    unsigned char *text = th_read_file(f->paths[2], &n);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct np_atkeys *k = (struct np_atkeys *)1;
        err[0] = '\0';
        assert_int_not_equal(np_atkeys_parse(bad[i], strlen(bad[i]), &k, err, sizeof(err)), 0);
        assert_null(k);
        assert_true(strlen(err) > 0);
    }
    /* every truncation of a real file before its closing brace */
    assert_non_null(text);
    while (n > 0 && text[n - 1] != '}')
        n--;
    assert_true(n > 1000);
    for (size_t len = 0; len < n; len++) {
        struct np_atkeys *k = (struct np_atkeys *)1;
        err[0] = '\0';
        assert_int_equal(np_atkeys_parse((char *)text, len, &k, err, sizeof(err)), NP_ERR_FORMAT);
        assert_null(k);
        assert_true(strlen(err) > 0);
    }
    free(text);
}

/* Every allocation (ours and cJSON's, routed through np_malloc in main) fails
 * in turn: an error each time, never a crash or a leak (ASan checks). */
static void test_alloc_failure(void **state)
{
    struct fix *f = *state;
    size_t n = 0;
    unsigned char *text = th_read_file(f->paths[0], &n);
    int done = 0;
    long i;

    assert_non_null(text);
    for (i = 0; i < 5000 && !done; i++) {
        struct np_atkeys *k = NULL;
        char err[256] = "";
        int r;
        np_alloc_fail_after(i);
        r = np_atkeys_parse((char *)text, n, &k, err, sizeof(err));
        np_alloc_fail_after(-1);
        if (r == 0) {
            done = 1;
            np_atkeys_free(k);
        } else {
            assert_true(r < 0);
            assert_null(k);
            assert_true(strlen(err) > 0);
        }
    }
    assert_true(done);
    assert_true(i > 10); /* the injection did reach many allocations */
    /* the same for serialisation */
    {
        struct np_atkeys *k = NULL;
        char err[256];
        assert_int_equal(np_atkeys_parse((char *)text, n, &k, err, sizeof(err)), 0);
        done = 0;
        for (i = 0; i < 5000 && !done; i++) {
            char *s = (char *)1;
            int r;
            np_alloc_fail_after(i);
            r = np_atkeys_serialize(k, "@alice", &s);
            np_alloc_fail_after(-1);
            if (r == 0) {
                done = 1;
                np_freezero_str(s);
            } else {
                assert_int_equal(r, NP_ERR_NOMEM);
                assert_null(s);
            }
        }
        assert_true(done);
        np_atkeys_free(k);
    }
    free(text);
}

static void test_default_path(void **state)
{
    char buf[256], small[10];
    const char *old = getenv("HOME");
    char *saved = old ? strdup(old) : NULL;

    assert_int_equal(setenv("HOME", "/home/u", 1), 0);
    assert_int_equal(np_atkeys_default_path("@alice", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/home/u/.atsign/keys/@alice_key.atKeys");
    assert_int_equal(np_atkeys_default_path("bob", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/home/u/.atsign/keys/@bob_key.atKeys");
    assert_int_equal(np_atkeys_default_path("@alice", small, sizeof(small)), NP_ERR_TOOBIG);
    assert_int_equal(np_atkeys_default_path("", buf, sizeof(buf)), NP_ERR_INVAL);
    assert_int_equal(np_atkeys_default_path("@a/../b", buf, sizeof(buf)), NP_ERR_INVAL);
    assert_int_equal(unsetenv("HOME"), 0);
    assert_int_equal(np_atkeys_default_path("@alice", buf, sizeof(buf)), NP_ERR_NOTFOUND);
    if (saved) {
        setenv("HOME", saved, 1);
        free(saved);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_fixtures),  cmocka_unit_test(test_write_read_back),
        cmocka_unit_test(test_mode_refused),   cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_damaged_fields), cmocka_unit_test(test_bad_text),
        cmocka_unit_test(test_alloc_failure),  cmocka_unit_test(test_default_path),
    };
    cJSON_Hooks hooks = {np_malloc, np_free};

    cJSON_InitHooks(&hooks);
    return cmocka_run_group_tests(tests, setup, teardown);
}
