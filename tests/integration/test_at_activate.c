/*
 * Integration test of at_activate against our REAL atdirectory and atserver
 * on 127.0.0.1 (atprotocol.md 3.6 current flow, 3.7, 9): fresh atSigns are
 * made with `atserver create` (which prints a random cram secret), then
 * activated; the test checks the .atKeys file (default path and -k, mode,
 * contents, enrollmentId), a PKAM login with it, the published
 * public:publickey, the enrolled keys stored on the server (keys:get,
 * decrypted with the APKAM symmetric key), refusal of a second activation,
 * of an existing keys file and of a wrong cram secret. The legacy fallback
 * (a server that refuses enroll:request) is checked on the wire against
 * the scripted TLS server of the client unit tests (test_client_srv.c).
 *
 * Every process started here is stopped by pid in the group teardown (and
 * gets SIGTERM through PR_SET_PDEATHSIG if this process dies); the temp dir
 * is removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "at/client.h"
#include "at/client_sync.h"
#include "crypto/aes.h"
#include "crypto/atkeys.h"
#include "itest.h"
#include "net/tls.h"
#include "test_client_srv.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#define ALICE "@h12alice"
#define BOB   "@h12bob"
#define CAROL "@h12carol" /* never created: usage errors only */

#define RUN_MS 90000 /* one at_activate run (RSA key generation under ASan) */

static struct itest_at env;
static char alice_cram[256], bob_cram[256];
static char home[700], out[700], secret_file[700];

/* `atserver create atsign` without --cram-secret: the server makes a random
 * secret and prints it on stdout; find that line (128 hex digits). */
static int create_fresh(const char *atsign, char *secret, size_t size)
{
    char *text = NULL, *line, *save = NULL;
    int r = -1;

    if (itest_at_create(&env, atsign, NULL) != 0)
        return -1;
    if ((text = itest_read_file(env.out, 65536)) == NULL)
        goto out;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);
        if (n == 128 && strspn(line, "0123456789abcdef") == n && n < size) {
            memcpy(secret, line, n + 1);
            r = 0;
            break;
        }
    }
out:
    if (r != 0)
        itest_dump_file("atserver create", env.out);
    free(text);
    return r;
}

static int group_setup(void **state)
{
    (void)state;
    np_log_set_level(NP_LOG_WARN);
    if (itest_at_setup(&env, "activate") != 0)
        return -1;
    snprintf(home, sizeof(home), "%s/home", env.dir);
    snprintf(out, sizeof(out), "%s/activate.out", env.dir);
    snprintf(secret_file, sizeof(secret_file), "%s/cram.secret", env.dir);
    if (mkdir(home, 0700) != 0)
        return -1;
    if (create_fresh(ALICE, alice_cram, sizeof(alice_cram)) != 0 ||
        create_fresh(BOB, bob_cram, sizeof(bob_cram)) != 0)
        return -1;
    return itest_at_start(&env) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    itest_at_teardown(&env);
    return 0;
}

/* Run at_activate with the common options plus extra (NULL-terminated);
 * returns its exit status; its output is in `out`. */
static int activate(const char *const *extra)
{
    const char *argv[32];
    int n = 0, st = -1;

    argv[n++] = itest_env("NP_AT_ACTIVATE", "at_activate");
    argv[n++] = "--root-domain";
    argv[n++] = env.root;
    argv[n++] = "--ca-file";
    argv[n++] = env.ca;
    for (int i = 0; extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    assert_int_equal(itest_run(argv, out, RUN_MS, &st), 0);
    return st;
}

static bool out_has(const char *needle)
{
    char *t = itest_read_file(out, 65536);
    bool yes = t && strstr(t, needle) != NULL;

    if (!yes)
        itest_dump_file("at_activate output", out);
    free(t);
    return yes;
}

static void write_secret(const char *secret)
{
    int fd = open(secret_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
}

/* The keys file at path: mode 0600, loads, APKAM fields present; a PKAM
 * login works; public:publickey is the file's encryption public key; the
 * enrolled keys on the server decrypt (APKAM key) to the file's keys. */
static void check_activated(const char *atsign, const char *path)
{
    struct np_atkeys *k = NULL;
    struct at_client_opts o;
    struct at_sync *s = NULL;
    struct stat st;
    char err[512], key[256], line[512];
    char *v = NULL, *d = NULL;
    unsigned char *plain = NULL;
    size_t len = 0, plen = 0;
    cJSON *j;

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    if (np_atkeys_load(path, &k, err, sizeof(err)) != 0)
        fail_msg("np_atkeys_load: %s", err);
    assert_non_null(k->enrollment_id);
    assert_non_null(k->apkam_symmetric_key_b64);
    assert_non_null(k->pkam_private_b64);
    assert_string_not_equal(k->pkam_public_b64, k->enc_public_b64);

    itest_at_opts(&env, &o, atsign, k, 15000);
    if (at_sync_open(&o, &s, err, sizeof(err)) != 0)
        fail_msg("pkam login with %s: %s", path, err);
    snprintf(key, sizeof(key), "public:publickey%s", atsign);
    assert_int_equal(at_sync_get(s, key, 0, &v, &len, NULL), 0);
    assert_non_null(v);
    assert_string_equal(v, k->enc_public_b64);
    np_free(v);

    /* 3.7: the approved enrollment's copy of the encryption private key */
    snprintf(line, sizeof(line), "keys:get:keyName:%s.default_enc_private_key.__manage%s",
             k->enrollment_id, atsign);
    if (at_sync_cmd(s, line, &d) != 0)
        fail_msg("%s: %s", line, at_sync_error(s));
    assert_non_null(d);
    j = cJSON_Parse(d);
    assert_non_null(j);
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "value")));
    assert_int_equal(np_at_aes_decrypt_b64key(
                         k->apkam_symmetric_key_b64, NULL,
                         cJSON_GetObjectItemCaseSensitive(j, "value")->valuestring, &plain, &plen),
                     0);
    assert_int_equal(plen, strlen(k->enc_private_b64));
    assert_memory_equal(plain, k->enc_private_b64, plen);
    np_freezero(plain, plen + 1);
    cJSON_Delete(j);
    np_free(d);
    at_sync_close(s);
    np_atkeys_free(k);
}

/* Default path under $HOME, secret from a file. */
static void test_activate_default_path(void **state)
{
    char path[900], kdir[800];
    struct stat st;
    const char *extra[] = {"-a", ALICE, "--cram-secret-file", secret_file, "-v", NULL};

    (void)state;
    write_secret(alice_cram);
    assert_int_equal(setenv("HOME", home, 1), 0);
    assert_int_equal(activate(extra), 0);
    assert_true(out_has("activated"));
    /* no secret in the output, even with -v */
    {
        char *t = itest_read_file(out, 65536);
        assert_non_null(t);
        assert_null(strstr(t, alice_cram));
        free(t);
    }
    snprintf(kdir, sizeof(kdir), "%s/.atsign/keys", home);
    assert_int_equal(stat(kdir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/%s_key.atKeys", kdir, ALICE);
    check_activated(ALICE, path);
}

/* A second activation: the keys file is kept without --force; with
 * --force (another file) the server refuses cram: "already activated". */
static void test_activate_again_refused(void **state)
{
    char path[900], other[800];
    char *before, *after;
    const char *extra1[] = {"-a", ALICE, "--cram-secret-file", secret_file, NULL};
    const char *extra2[] = {"-a",      ALICE, "--cram-secret-file", secret_file, "-k", other,
                            "--force", NULL};

    (void)state;
    write_secret(alice_cram);
    snprintf(path, sizeof(path), "%s/.atsign/keys/%s_key.atKeys", home, ALICE);
    snprintf(other, sizeof(other), "%s/alice2.atKeys", env.dir);
    before = itest_read_file(path, 65536);
    assert_non_null(before);
    assert_int_equal(activate(extra1), 8);
    assert_true(out_has("already exists"));
    after = itest_read_file(path, 65536);
    assert_non_null(after);
    assert_string_equal(before, after);

    assert_int_equal(activate(extra2), 9);
    assert_true(out_has("this atSign is already activated (cram secret no longer accepted)"));
    assert_int_equal(access(other, F_OK), -1);
    free(before);
    free(after);
    /* the first activation's keys still work */
    check_activated(ALICE, path);
}

/* A wrong cram secret on a fresh atSign: authentication error, no file. */
static void test_wrong_secret(void **state)
{
    char path[800], wrong[256];
    const char *extra[] = {"-a", BOB, "-c", wrong, "-k", path, NULL};

    (void)state;
    snprintf(path, sizeof(path), "%s/bob.atKeys", env.dir);
    snprintf(wrong, sizeof(wrong), "%s", bob_cram);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    assert_int_equal(activate(extra), 4);
    assert_true(out_has("authentication failed"));
    assert_int_equal(access(path, F_OK), -1);
}

/* Secret from AT_CRAM_SECRET, keys file given with -k (after the failed
 * attempt above, the right secret still works). */
static void test_env_secret(void **state)
{
    char path[800];
    const char *extra[] = {"-a",   BOB, "-k", path, "--app-name", "itest", "--device-name",
                           "box1", NULL};

    (void)state;
    snprintf(path, sizeof(path), "%s/bob.atKeys", env.dir);
    assert_int_equal(setenv("AT_CRAM_SECRET", bob_cram, 1), 0);
    assert_int_equal(activate(extra), 0);
    assert_int_equal(unsetenv("AT_CRAM_SECRET"), 0);
    check_activated(BOB, path);
}

/* Usage errors: no secret at all; both a file and -c. */
static void test_usage(void **state)
{
    char path[800];
    const char *none[] = {"-a", CAROL, "-k", path, NULL};
    const char *both[] = {"-a",        CAROL, "-k", path, "-c", "x", "--cram-secret-file",
                          secret_file, NULL};

    (void)state;
    snprintf(path, sizeof(path), "%s/carol.atKeys", env.dir);
    assert_int_equal(unsetenv("AT_CRAM_SECRET"), 0);
    assert_int_equal(activate(none), 2);
    assert_true(out_has("no cram secret"));
    assert_int_equal(activate(both), 2);
    assert_int_equal(access(path, F_OK), -1);
}

/* ---- legacy fallback, against a scripted server ---- */

#define LEG "@h12legacy"
#define LEG_CHAL                                                                                   \
    "_4af24c03-d732-48f8-a9a2-570e8fb6a01c@h12legacy:d6cac849-9c29-42b0-b0c5-493db62728b9"

static void rule(struct tsrv *s, const char *prefix, const char *reply)
{
    struct ts_rule r = {prefix, {reply}, TS_REPLY, 0};

    tsrv_rule(s, &r);
}

/* enroll:request answered with an error: cram again, the PKAM public key
 * with update:privatekey:at_pkam_publickey, pkam without enrollmentId, the
 * public key, delete the secret; the keys file has no enrollmentId. */
static void test_legacy_fallback(void **state)
{
    struct net_tls_server_opts so;
    struct net_tls_ctx *tls = NULL;
    struct event_base *base;
    struct tsrv *dir, *srv;
    struct np_atkeys *k = NULL;
    char answer[64], rootarg[64], path[800], line[1024], err[512];
    const char *argv[] = {itest_env("NP_AT_ACTIVATE", "at_activate"),
                          "-a",
                          LEG,
                          "-c",
                          "00ff",
                          "-k",
                          path,
                          "--root-domain",
                          rootarg,
                          "--ca-file",
                          env.ca,
                          NULL};
    pid_t pid = -1;
    int st = -1, i, e, u, p, d;

    (void)state;
    memset(&so, 0, sizeof(so));
    so.cert_file = env.cert;
    so.key_file = env.key;
    assert_int_equal(net_tls_server_ctx_new(&so, &tls), 0);
    assert_non_null(base = event_base_new());
    assert_non_null(dir = tsrv_new(base, tls, true));
    assert_non_null(srv = tsrv_new(base, tls, true));
    snprintf(answer, sizeof(answer), "localhost:%d\r\n@", tsrv_port(srv));
    snprintf(rootarg, sizeof(rootarg), "127.0.0.1:%d", tsrv_port(dir));
    rule(dir, "h12legacy", answer);
    rule(srv, "from:", "data:" LEG_CHAL "\n@");
    rule(srv, "cram:", "data:success\n" LEG "@");
    rule(srv, "noop:0", "data:ok\n" LEG "@");
    rule(srv, "enroll:request:", "error:AT0003-Invalid syntax\n" LEG "@");
    rule(srv, "update:privatekey:at_pkam_publickey ", "data:-1\n" LEG "@");
    rule(srv, "pkam:", "data:success\n" LEG "@");
    rule(srv, "update:", "data:7\n" LEG "@");
    rule(srv, "delete:privatekey:at_secret", "data:-1\n" LEG "@");
    snprintf(path, sizeof(path), "%s/legacy.atKeys", env.dir);

    (void)unlink(out); /* itest_spawn appends */
    assert_int_equal(itest_spawn(argv, out, &pid), 0);
    for (i = 0; i < 3000; i++) { /* at most ~60 s */
        ts_run_for(base, 20);
        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
    }
    if (i == 3000) {
        itest_stop(pid, 2000, NULL);
        fail_msg("at_activate did not finish");
    }
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) != 0) {
        itest_dump_file("at_activate output", out);
        for (size_t j = 0; j < tsrv_nlines(srv); j++)
            fprintf(stderr, "srv got: %.100s\n", tsrv_line(srv, j));
    }
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(out_has("legacy"));

    if (np_atkeys_load(path, &k, err, sizeof(err)) != 0)
        fail_msg("np_atkeys_load: %s", err);
    assert_null(k->enrollment_id);
    assert_non_null(k->pkam_private_b64);
    /* wire order: enroll (refused), PKAM public key, pkam, public key, delete */
    e = tsrv_find(srv, "enroll:request:{");
    snprintf(line, sizeof(line), "update:privatekey:at_pkam_publickey %s", k->pkam_public_b64);
    u = tsrv_find(srv, line);
    p = tsrv_find(srv, "pkam:");
    snprintf(line, sizeof(line), "update:isEncrypted:false:public:publickey" LEG " %s",
             k->enc_public_b64);
    d = tsrv_find(srv, line);
    assert_true(e >= 0 && u > e && p > u && d > p);
    assert_true(tsrv_find(srv, "delete:privatekey:at_secret") > d);
    assert_null(strstr(tsrv_line(srv, (size_t)p), "enrollmentId"));
    assert_int_equal(tsrv_count(srv, "cram:"), 2);

    np_atkeys_free(k);
    tsrv_free(srv);
    tsrv_free(dir);
    event_base_free(base);
    net_tls_ctx_free(tls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activate_default_path),
        cmocka_unit_test(test_activate_again_refused),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_env_secret),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_legacy_fallback),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
