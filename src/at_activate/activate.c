/*
 * src/at_activate/activate.c - the activation flow of at_activate
 * (atprotocol.md 3.6 current flow, with the legacy flow as fallback; 3.7
 * enroll:request; 4.2; 9) on the blocking client of lib/at
 * (at/client_sync.h):
 *
 *   1. generate the APKAM (PKAM) and encryption RSA-2048 pairs, the AES-256
 *      self-encryption key and the AES-256 APKAM symmetric key;
 *   2. from + cram; enroll:request with the APKAM public key and the
 *      encryption private key / self-encryption key encrypted with the
 *      APKAM symmetric key (AES-256-CTR, zero IV) -> enrollmentId
 *      (a server error here -> legacy: update:privatekey:at_pkam_publickey);
 *   3. write the .atKeys file (before anything irreversible happens, so the
 *      new keys are never lost);
 *   4. new connection: from + pkam (with enrollmentId);
 *      update:isEncrypted:false:public:publickey@me <B64 SPKI>;
 *      delete:privatekey:at_secret.
 *
 * A refused cram is told apart as "already activated" when the atSign's
 * public:publickey exists (unauthenticated lookup), else "wrong secret":
 * the server answers both the same way. Secrets are never printed or logged.
 */
#include "at_activate.h"

#include "at/atsign.h"
#include "at/client_sync.h"
#include "crypto/aes.h"
#include "crypto/atkeys.h"
#include "crypto/rsa.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_BUF 4096

/* Map a client error to an exit code. */
static int exit_for(int err, bool conn_error)
{
    switch (err) {
    case 0:
        return AA_OK;
    case NP_ERR_NOTFOUND:
        return conn_error ? AA_NO_ATSIGN : AA_ERR;
    case NP_ERR_AUTH:
        return AA_AUTH;
    case NP_ERR_TIMEOUT:
        return AA_TIMEOUT;
    case NP_ERR_CONNECT:
    case NP_ERR_TLS:
        return AA_CONNECT;
    case NP_ERR_EOF:
    case NP_ERR_IO:
        return conn_error ? AA_CONNECT : AA_ERR;
    default:
        return AA_ERR;
    }
}

/* Report the last failure of s during `what` and return its exit code. */
static int step_fail(struct at_sync *s, const char *what, int r)
{
    const char *m = at_sync_error(s);

    fprintf(stderr, "at_activate: %s failed: %s\n", what, m[0] ? m : np_strerror(r));
    return exit_for(r, at_sync_conn_error(s));
}

/* mkdir one level with mode 0700 unless it exists as a directory. */
static int mkdir_private(const char *path)
{
    struct stat st;

    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    fprintf(stderr, "at_activate: cannot create %s: %s\n", path, strerror(errno));
    return NP_ERR_IO;
}

/* The keys file path into dst; for the default path also create
 * ~/.atsign and ~/.atsign/keys (0700). Refuses an existing file without
 * --force. Returns an exit code. */
static int keys_path(const struct aa_opts *o, const char *me, char *dst, size_t size)
{
    struct stat st;
    int r;

    if (o->keys_path) {
        if (np_str_fmt(dst, size, "%s", o->keys_path) != 0 || !dst[0]) {
            fprintf(stderr, "at_activate: -k: bad path\n");
            return AA_USAGE;
        }
    } else {
        const char *home = getenv("HOME");
        char d[PATH_BUF];

        if ((r = np_atkeys_default_path(me, dst, size)) != 0) {
            fprintf(stderr, "at_activate: no default keys file path (%s); use -k FILE\n",
                    np_strerror(r));
            return AA_KEYS;
        }
        if (np_str_fmt(d, sizeof(d), "%s/.atsign", home) != 0 || mkdir_private(d) != 0 ||
            np_str_fmt(d, sizeof(d), "%s/.atsign/keys", home) != 0 || mkdir_private(d) != 0)
            return AA_KEYS;
    }
    if (lstat(dst, &st) == 0 && !o->force) {
        fprintf(stderr, "at_activate: %s already exists; not overwriting it (use --force)\n", dst);
        return AA_KEYS;
    }
    return AA_OK;
}

/* Generate every key into k. */
static int gen_keys(struct np_atkeys *k)
{
    struct np_rsa_key *pkam = NULL, *enc = NULL;
    int r;

    if ((r = np_rsa_generate(&pkam)) != 0 || (r = np_rsa_generate(&enc)) != 0 ||
        (r = np_rsa_public_b64(pkam, &k->pkam_public_b64)) != 0 ||
        (r = np_rsa_private_b64(pkam, &k->pkam_private_b64)) != 0 ||
        (r = np_rsa_public_b64(enc, &k->enc_public_b64)) != 0 ||
        (r = np_rsa_private_b64(enc, &k->enc_private_b64)) != 0 ||
        (r = np_aes_new_key_b64(&k->self_enc_key_b64)) != 0 ||
        (r = np_aes_new_key_b64(&k->apkam_symmetric_key_b64)) != 0)
        fprintf(stderr, "at_activate: key generation failed: %s\n", np_strerror(r));
    np_rsa_free(pkam);
    np_rsa_free(enc);
    return r;
}

/* Device name: --device-name, else the host name, else "unknown". */
static void device_name(const struct aa_opts *o, char *dst, size_t size)
{
    if (o->device_name) {
        (void)np_str_fmt(dst, size, "%s", o->device_name);
        return;
    }
    if (gethostname(dst, size) != 0 || !dst[0]) {
        (void)np_str_fmt(dst, size, "unknown");
        return;
    }
    dst[size - 1] = '\0';
}

/* The enroll:request command (3.6 current flow step 3): a new string. */
static int enroll_line(const struct aa_opts *o, const struct np_atkeys *k, char **out)
{
    char dev[256];
    char *enc_priv = NULL, *enc_self = NULL, *json = NULL, *line = NULL;
    cJSON *obj = NULL;
    size_t n;
    int r;

    *out = NULL;
    device_name(o, dev, sizeof(dev));
    if ((r = np_at_aes_encrypt_b64key(k->apkam_symmetric_key_b64, NULL, k->enc_private_b64,
                                      strlen(k->enc_private_b64), &enc_priv)) != 0 ||
        (r = np_at_aes_encrypt_b64key(k->apkam_symmetric_key_b64, NULL, k->self_enc_key_b64,
                                      strlen(k->self_enc_key_b64), &enc_self)) != 0)
        goto out;
    r = NP_ERR_NOMEM;
    if ((obj = cJSON_CreateObject()) == NULL ||
        !cJSON_AddStringToObject(obj, "appName", o->app_name) ||
        !cJSON_AddStringToObject(obj, "deviceName", dev) ||
        !cJSON_AddStringToObject(obj, "apkamPublicKey", k->pkam_public_b64) ||
        !cJSON_AddStringToObject(obj, "encryptedDefaultEncryptionPrivateKey", enc_priv) ||
        !cJSON_AddStringToObject(obj, "encryptedDefaultSelfEncryptionKey", enc_self) ||
        (json = cJSON_PrintUnformatted(obj)) == NULL)
        goto out;
    n = strlen("enroll:request:") + strlen(json) + 1;
    if ((line = np_malloc(n)) == NULL)
        goto out;
    (void)np_str_fmt(line, n, "enroll:request:%s", json);
    *out = line;
    r = 0;
out:
    np_free(enc_priv);
    np_free(enc_self);
    if (json)
        cJSON_free(json);
    cJSON_Delete(obj);
    return r;
}

/* An enrollment id is sent back in pkam: accept only UUID-like text. */
static bool id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* Parse data:{"enrollmentId":"…","status":"approved"} into *id. */
static int parse_enroll_answer(const char *data, char **id)
{
    cJSON *j = data ? cJSON_Parse(data) : NULL;
    const cJSON *eid = cJSON_GetObjectItemCaseSensitive(j, "enrollmentId");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    int r = NP_ERR_PROTO;

    *id = NULL;
    if (!cJSON_IsString(eid) || !id_ok(eid->valuestring)) {
        fprintf(stderr, "at_activate: enroll:request: the answer has no valid enrollmentId\n");
        goto out;
    }
    if (!cJSON_IsString(st) || strcmp(st->valuestring, "approved") != 0) {
        fprintf(stderr, "at_activate: enroll:request: enrollment %s is %s, not approved\n",
                eid->valuestring, cJSON_IsString(st) ? st->valuestring : "of unknown status");
        goto out;
    }
    r = (*id = np_strdup(eid->valuestring)) ? 0 : NP_ERR_NOMEM;
out:
    cJSON_Delete(j);
    return r;
}

/* After a refused cram: does the atSign already publish its public key? */
static bool is_activated(const struct at_client_opts *base, const char *me)
{
    struct at_client_opts o = *base;
    struct at_sync *s = NULL;
    char line[AT_ATSIGN_BUF + 32], err[256];
    char *d = NULL;
    bool yes = false;

    o.auth = AT_CLIENT_AUTH_NONE;
    o.cram_secret = NULL;
    if (at_sync_open(&o, &s, err, sizeof(err)) != 0)
        return false;
    (void)np_str_fmt(line, sizeof(line), "lookup:publickey%s", me);
    if (at_sync_cmd(s, line, &d) == 0 && d && d[0] && strcmp(d, "null") != 0)
        yes = true;
    np_free(d);
    at_sync_close(s);
    return yes;
}

/* Send one command; returns 0 or the exit code (reported). */
static int cmd(struct at_sync *s, const char *line, const char *what)
{
    char *d = NULL;
    int r = at_sync_cmd(s, line, &d);

    np_free(d);
    return r == 0 ? AA_OK : step_fail(s, what, r);
}

int aa_run(const struct aa_opts *o)
{
    struct at_client_opts co;
    struct np_atkeys *k = NULL;
    struct at_sync *s = NULL;
    char me[AT_ATSIGN_BUF], path[PATH_BUF], rhost[NP_HOST_MAX + 1], err[1024];
    char *line = NULL, *data = NULL;
    int rport = 0, r, rc = AA_ERR;
    bool legacy = false;

    if (at_atsign_normalise(o->atsign, strlen(o->atsign), me, sizeof(me)) != 0) {
        fprintf(stderr, "at_activate: not an atSign: %s\n", o->atsign);
        return AA_USAGE;
    }
    memset(&co, 0, sizeof(co));
    co.atsign = me;
    if (o->root) {
        if (np_hostport_parse(o->root, 64, rhost, &rport) != 0) {
            fprintf(stderr, "at_activate: --root-domain: not host[:port]: %s\n", o->root);
            return AA_USAGE;
        }
        co.root_host = rhost;
        co.root_port = rport;
    }
    co.ca_file = o->ca_file;
    co.request_timeout_ms = o->timeout_ms;
    co.connect_timeout_ms = o->timeout_ms;
    if ((rc = keys_path(o, me, path, sizeof(path))) != AA_OK)
        return rc;
    rc = AA_ERR;

    /* 1. keys */
    if ((k = np_calloc(1, sizeof(*k))) == NULL || gen_keys(k) != 0)
        goto out;

    /* 2. cram + enroll:request (or legacy) */
    co.auth = AT_CLIENT_AUTH_CRAM;
    co.cram_secret = o->cram_secret;
    np_info("authenticating as %s with the cram secret", me);
    if ((r = at_sync_open(&co, &s, err, sizeof(err))) != 0) {
        if (r == NP_ERR_AUTH && is_activated(&co, me)) {
            fprintf(stderr,
                    "at_activate: %s: this atSign is already activated (cram secret no "
                    "longer accepted)\n",
                    me);
            rc = AA_ACTIVATED;
        } else if (r == NP_ERR_AUTH) {
            fprintf(stderr,
                    "at_activate: %s: authentication failed: the server refused the cram "
                    "secret (wrong secret?)\n",
                    me);
            rc = AA_AUTH;
        } else {
            fprintf(stderr, "at_activate: %s: %s\n", me, err[0] ? err : np_strerror(r));
            rc = exit_for(r, true);
        }
        goto out;
    }
    if ((r = enroll_line(o, k, &line)) != 0) {
        fprintf(stderr, "at_activate: enroll:request: %s\n", np_strerror(r));
        goto out;
    }
    np_info("sending enroll:request (app %s)", o->app_name);
    r = at_sync_cmd(s, line, &data);
    if (r == 0) {
        if (parse_enroll_answer(data, &k->enrollment_id) != 0)
            goto out;
        np_info("enrollment %s approved", k->enrollment_id);
    } else if (at_sync_at_code(s) >= 0 && !at_sync_conn_error(s)) {
        /* the server does not do APKAM enrollment: legacy flow */
        np_warn("enroll:request refused (%s); using the legacy onboarding flow", at_sync_error(s));
        legacy = true;
        at_sync_close(s);
        s = NULL;
        if ((r = at_sync_open(&co, &s, err, sizeof(err))) != 0) {
            fprintf(stderr, "at_activate: %s: %s\n", me, err[0] ? err : np_strerror(r));
            rc = exit_for(r, true);
            goto out;
        }
        np_free(line);
        line = NULL;
        if ((r = np_str_fmt(err, sizeof(err), "update:privatekey:at_pkam_publickey %s",
                            k->pkam_public_b64)) != 0 ||
            (rc = cmd(s, err, "update:privatekey:at_pkam_publickey")) != AA_OK)
            goto out;
        rc = AA_ERR;
        np_freezero_str(k->apkam_symmetric_key_b64);
        k->apkam_symmetric_key_b64 = NULL;
    } else {
        rc = step_fail(s, "enroll:request", r);
        goto out;
    }
    at_sync_close(s);
    s = NULL;

    /* 3. the keys file, before the cram secret goes */
    if ((rc = keys_path(o, me, path, sizeof(path))) != AA_OK)
        goto out;
    if ((r = np_atkeys_write(path, k, me)) != 0) {
        fprintf(stderr, "at_activate: cannot write %s: %s (the atSign is not activated yet)\n",
                path, np_strerror(r));
        rc = AA_KEYS;
        goto out;
    }
    np_info("keys written to %s", path);

    /* 4. pkam, public key, delete the cram secret */
    co.auth = AT_CLIENT_AUTH_PKAM;
    co.cram_secret = NULL;
    co.keys = k;
    if ((r = at_sync_open(&co, &s, err, sizeof(err))) != 0) {
        fprintf(stderr, "at_activate: %s: pkam with the new keys failed: %s\n", me,
                err[0] ? err : np_strerror(r));
        rc = exit_for(r, true);
        goto incomplete;
    }
    np_free(line);
    if ((line = np_malloc(strlen(k->enc_public_b64) + sizeof(me) + 64)) == NULL)
        goto incomplete;
    (void)np_str_fmt(line, strlen(k->enc_public_b64) + sizeof(me) + 64,
                     "update:isEncrypted:false:public:publickey%s %s", me, k->enc_public_b64);
    if ((rc = cmd(s, line, "update:public:publickey")) != AA_OK)
        goto incomplete;
    if ((rc = cmd(s, "delete:privatekey:at_secret", "delete:privatekey:at_secret")) != AA_OK)
        goto incomplete;
    printf("%s activated (%s flow%s%s); keys written to %s\n", me, legacy ? "legacy" : "APKAM",
           k->enrollment_id ? ", enrollmentId " : "", k->enrollment_id ? k->enrollment_id : "",
           path);
    rc = AA_OK;
    goto out;
incomplete:
    if (rc == AA_OK)
        rc = AA_ERR;
    fprintf(stderr,
            "at_activate: activation incomplete: %s holds the new keys but the cram secret "
            "was not deleted; run again with --force to start over\n",
            path);
out:
    at_sync_close(s);
    np_free(line);
    np_free(data);
    np_atkeys_free(k);
    fflush(stdout);
    return rc;
}
