/*
 * src/atserver/verbs/auth.c - from, cram, pkam, pol (atprotocol.md 3.1-3.4).
 *
 * from:<@me> issues the challenge "<sessionID><@me>:<uuid>" (valid 60 s, kept
 * in memory on the connection: only this connection may answer it, so it
 * needs no storage). cram compares SHA-512 hex of secret + challenge in
 * constant time; pkam verifies an RSASSA-PKCS1-v1_5 signature (SHA-256 or
 * SHA-512) with privatekey:at_pkam_publickey or the key of an approved
 * APKAM enrollment. from:<@other> and pol belong to server-to-server
 * authentication and go through remote.h.
 */
#include "../conn.h"
#include "../dispatch.h"
#include "../keystore.h"
#include "../kv.h"
#include "../remote.h"
#include "../server.h"

#include "at/error.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define CHALLENGE_TTL_MS 60000
#define ENROLL_ID_MAX    64

/* Issue a new challenge "<prefix><sid><atsign>:<uuid>" and answer it. */
static void issue_challenge(struct as_conn *c, const char *prefix, const char *atsign)
{
    char uuid[NP_UUID_STR_LEN + 1], buf[AS_SID_BUF + AT_ATSIGN_BUF + 64];
    size_t plen = strlen(prefix);

    if (np_uuid4(uuid) != 0) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "no randomness");
        return;
    }
    snprintf(buf, sizeof(buf), "%s%s%s:%s", prefix, c->sid, atsign, uuid);
    np_free(c->challenge);
    if ((c->challenge = np_strdup(buf + plen)) == NULL) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return;
    }
    c->challenge_exp = np_mono_ms() + CHALLENGE_TTL_MS;
    snprintf(c->from, sizeof(c->from), "%s", atsign);
    conn_reply_str(c, buf);
}

/* The client-certificate check of from:<@other> is over: issue the proof. */
static void from_other_done(struct as_conn *c, struct remote_answer *ans, void *arg)
{
    char *x = arg;

    if (c) {
        if (ans->code != 0)
            conn_reply_error(c, ans->code, "%s", ans->message);
        else
            issue_challenge(c, "proof:", x);
    }
    np_free(x);
}

void verb_from(struct as_conn *c, struct at_cmd *cmd)
{
    struct as_host *h = c->host;
    const char *x = cmd->u.from.atsign;
    struct remote_answer ans;
    char *copy;
    int r;

    c->json_errors = cmd->u.from.json_errors;
    if (strcmp(x, h->atsign) == 0) {
        issue_challenge(c, "", x);
        return;
    }
    if (!as_host_admits(h, x)) {
        np_info("%s: from:%s refused by the block/allow list", c->tag, x);
        conn_reply_error(c, AT_E_CONNECTION, "%s is not allowed to connect", x);
        return;
    }
    if ((copy = np_strdup(x)) == NULL) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return;
    }
    memset(&ans, 0, sizeof(ans));
    r = remote_check_from(c, x, &ans, from_other_done, copy);
    if (r == NP_AGAIN)
        return; /* from_other_done gets copy back */
    if (r != 0 && ans.code == 0)
        ans.code = AT_E_AUTH_FAILED;
    from_other_done(c, &ans, copy);
    remote_answer_clear(&ans);
}

/* Is there an unexpired challenge for the owner on this connection? */
static bool have_self_challenge(struct as_conn *c, const char *verb)
{
    if (c->challenge && strcmp(c->from, c->host->atsign) == 0 && np_mono_ms() <= c->challenge_exp)
        return true;
    conn_reply_error(c, AT_E_AUTH_FAILED, "You must execute a 'from:' command before %s", verb);
    return false;
}

static void login_ok(struct as_conn *c, enum as_auth_method m)
{
    np_free(c->challenge);
    c->challenge = NULL;
    conn_set_owner(c, m);
    np_info("%s: authenticated (%s%s%s)", c->tag, m == AS_AUTH_CRAM ? "cram" : "pkam",
            c->enrollment_id ? ", enrollment " : "", c->enrollment_id ? c->enrollment_id : "");
    conn_reply_str(c, "success");
}

void verb_cram(struct as_conn *c, struct at_cmd *cmd)
{
    struct as_host *h = c->host;
    struct ks_entry *e = NULL;
    char want[2 * NP_SHA512_LEN + 1], got[2 * NP_SHA512_LEN + 1];
    char *input = NULL;
    size_t slen, clen, dlen = strlen(cmd->u.cram.digest);
    int r;

    if (!have_self_challenge(c, "cram"))
        return;
    r = kv_get(h, "privatekey:at_secret", np_wall_ms(), &e);
    if (r == NP_ERR_NOTFOUND || (r == 0 && !e->value)) {
        np_info("%s: cram refused: the cram secret was deleted", c->tag);
        conn_reply_error(c, AT_E_AUTH_FAILED, "Authentication Failed");
        goto out;
    }
    if (r != 0) {
        conn_reply_store_error(c, r, "reading the cram secret");
        goto out;
    }
    slen = strlen(e->value);
    clen = strlen(c->challenge);
    if ((input = np_malloc(slen + clen + 1)) == NULL) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        goto out;
    }
    memcpy(input, e->value, slen);
    memcpy(input + slen, c->challenge, clen + 1);
    if (np_sha512_hex(input, slen + clen, want) != 0) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "hash failed");
        goto out;
    }
    memset(got, 0, sizeof(got));
    for (size_t i = 0; i < dlen && i < sizeof(got) - 1; i++) {
        char ch = cmd->u.cram.digest[i];
        got[i] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
    }
    if (dlen != 2 * NP_SHA512_LEN || !np_ct_equal(got, want, 2 * NP_SHA512_LEN)) {
        np_info("%s: cram authentication failed", c->tag);
        conn_reply_error(c, AT_E_AUTH_FAILED, "Authentication Failed");
        goto out;
    }
    login_ok(c, AS_AUTH_CRAM);
out:
    if (e && e->value)
        np_memzero((char *)e->value, strlen(e->value));
    ks_entry_free(e);
    if (input)
        np_freezero(input, slen + clen + 1);
    np_memzero(want, sizeof(want));
}

/* The APKAM public key of an approved enrollment into *pub (new string),
 * or an answer (colon form for the enrollment states, 3.3) and false. */
static bool enrollment_key(struct as_conn *c, const char *id, char **pub)
{
    struct as_host *h = c->host;
    struct ks_entry *e = NULL;
    cJSON *o = NULL, *st, *pk;
    char key[ENROLL_ID_MAX + AT_ATSIGN_BUF + 64], msg[ENROLL_ID_MAX + 64];
    const char *state = NULL;
    bool ok = false;
    size_t n = strlen(id);
    int r;

    *pub = NULL;
    snprintf(msg, sizeof(msg), "enrollment_id: %.64s is expired or invalid", id);
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_')) {
            n = 0;
            break;
        }
    }
    if (n == 0 || n > ENROLL_ID_MAX) {
        conn_reply_error_colon(c, AT_E_TOO_MANY_REQUESTS, msg);
        return false;
    }
    snprintf(key, sizeof(key), "%s.new.enrollments.__manage%s", id, h->atsign);
    np_str_lower(key);
    r = kv_get(h, key, np_wall_ms(), &e);
    if (r != 0 && r != NP_ERR_NOTFOUND) {
        conn_reply_store_error(c, r, "reading an enrollment");
        return false;
    }
    if (r == 0 && e->active && e->value && (o = cJSON_Parse(e->value)) != NULL) {
        st = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "approval"),
                                              "state");
        pk = cJSON_GetObjectItemCaseSensitive(o, "apkamPublicKey");
        state = cJSON_IsString(st) ? st->valuestring : NULL;
        if (state && strcmp(state, "approved") == 0 && cJSON_IsString(pk)) {
            *pub = np_strdup(pk->valuestring);
            ok = *pub != NULL;
            if (!ok)
                conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        } else if (state && strcmp(state, "denied") == 0) {
            snprintf(msg, sizeof(msg), "enrollment_id: %s is denied", id);
            conn_reply_error_colon(c, AT_E_APKAM_DENIED, msg);
        } else if (state && strcmp(state, "pending") == 0) {
            snprintf(msg, sizeof(msg), "enrollment_id: %s is pending", id);
            conn_reply_error_colon(c, AT_E_APKAM_FAILED, msg);
        } else if (state && strcmp(state, "revoked") == 0) {
            snprintf(msg, sizeof(msg), "enrollment_id: %s is revoked", id);
            conn_reply_error_colon(c, AT_E_APKAM_REVOKED, msg);
        } else {
            conn_reply_error_colon(c, AT_E_TOO_MANY_REQUESTS, msg);
        }
    } else {
        conn_reply_error_colon(c, AT_E_TOO_MANY_REQUESTS, msg);
    }
    cJSON_Delete(o);
    ks_entry_free(e);
    return ok;
}

void verb_pkam(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_pkam *p = &cmd->u.pkam;
    struct as_host *h = c->host;
    struct ks_entry *e = NULL;
    struct np_rsa_key *key = NULL;
    char *pub = NULL;
    int r;

    if (!have_self_challenge(c, "pkam"))
        return;
    if (p->signing_algo != AT_SIGN_RSA2048) {
        np_info("%s: pkam with signingAlgo ecc_secp256r1 refused (not supported)", c->tag);
        conn_reply_error(c, AT_E_AUTH_FAILED,
                         "pkam authentication failed: ecc_secp256r1 is not "
                         "supported");
        return;
    }
    if (p->enrollment_id) {
        if (!enrollment_key(c, p->enrollment_id, &pub))
            return;
    } else {
        r = kv_get(h, "privatekey:at_pkam_publickey", np_wall_ms(), &e);
        if (r != 0 && r != NP_ERR_NOTFOUND) {
            conn_reply_store_error(c, r, "reading the pkam public key");
            goto out;
        }
        if (r == NP_ERR_NOTFOUND || !e->value || (pub = np_strdup(e->value)) == NULL) {
            np_info("%s: pkam refused: no privatekey:at_pkam_publickey", c->tag);
            conn_reply_error(c, AT_E_AUTH_FAILED, "pkam authentication failed");
            goto out;
        }
    }
    if ((r = np_rsa_from_public_b64(pub, &key)) != 0) {
        np_warn("%s: the stored PKAM public key is unusable: %s", c->tag, np_strerror(r));
        conn_reply_error(c, AT_E_AUTH_FAILED, "pkam authentication failed");
        goto out;
    }
    r = np_rsa_verify_b64(key, p->hashing_algo == AT_HASH_SHA512 ? NP_HASH_SHA512 : NP_HASH_SHA256,
                          c->challenge, strlen(c->challenge), p->signature);
    if (r != 0) {
        np_info("%s: pkam authentication failed (%s)", c->tag, np_strerror(r));
        conn_reply_error(c, AT_E_AUTH_FAILED, "pkam authentication failed");
        goto out;
    }
    np_free(c->enrollment_id);
    c->enrollment_id = p->enrollment_id ? np_strdup(p->enrollment_id) : NULL;
    login_ok(c, AS_AUTH_PKAM);
out:
    np_rsa_free(key);
    np_free(pub);
    ks_entry_free(e);
}

static void pol_done(struct as_conn *c, struct remote_answer *ans, void *arg)
{
    (void)arg;
    if (!c)
        return;
    if (ans->code != 0) {
        conn_reply_error(c, ans->code, "%s",
                         ans->message[0] ? ans->message
                                         : "Pol Authentication "
                                           "Failed");
        return;
    }
    c->auth = AT_AUTH_POL;
    np_free(c->challenge); /* one pol per proof */
    c->challenge = NULL;
    snprintf(c->pol_atsign, sizeof(c->pol_atsign), "%s", c->from);
    snprintf(c->pol_prompt, sizeof(c->pol_prompt), "%s@", c->from);
    np_info("%s: pol-authenticated as %s", c->tag, c->from);
    /* 2.2: pol is answered with just the prompt, no "data:" and no newline */
    conn_write_raw(c, c->pol_prompt, strlen(c->pol_prompt));
}

void verb_pol(struct as_conn *c, struct at_cmd *cmd)
{
    struct remote_answer ans;
    int r;

    (void)cmd;
    if (!c->challenge || !c->from[0] || strcmp(c->from, c->host->atsign) == 0 ||
        np_mono_ms() > c->challenge_exp) {
        conn_reply_error(c, AT_E_AUTH_FAILED, "You must execute a 'from:' command before pol");
        return;
    }
    memset(&ans, 0, sizeof(ans));
    r = remote_pol(c, &ans, pol_done, NULL);
    if (r == NP_AGAIN)
        return;
    pol_done(c, &ans, NULL);
    remote_answer_clear(&ans);
}
