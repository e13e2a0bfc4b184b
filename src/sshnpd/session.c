/*
 * src/sshnpd/session.c - ssh_request and npt_request (noports-wire.md 5.3-5.5,
 * 9.3-9.6) after authorization:
 *
 *   envelope + payload parse -> client public key (cached; fetched again
 *   once if the signature does not verify) -> signature -> permit-open
 *   (daemon list and client list) -> ephemeral key checks -> AES bundle
 *   (single, or twin when asked) -> bridge (relay port B <-> local service,
 *   legacy auth line or ESCR) -> signed answer `<sessionId>.<device>`.
 *
 * Failures after the session id is known are answered with a plain error
 * string (never starting with '{'), NEWER wording. ssh requests are served
 * like NEWER daemons do: a single-connection bridge to
 * localhost:<--local-sshd-port> with a 60 s timeout, "ephemeralPrivateKey":
 * null (we never create ephemeral ssh keys). Unencrypted sessions (--no-et)
 * are refused with an explanation.
 *
 * Each session is one np_bridge on the engine's loop; it ends on its own
 * (timeout, either side closing) and reports through on_done.
 */
#include "crypto/b64.h"
#include "crypto/rsa.h"
#include "np/bridge.h"
#include "np/envelope.h"
#include "np/escr.h"
#include "np/messages.h"
#include "np/permit.h"
#include "np/relay_auth.h"
#include "sshnpd_int.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"
#include "util/time.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ANSWER_TTL_MS 10000
#define TTLN_MS       60000
#define ERR_MAX       1024

#define TUNNEL_ERR "Failed to start up the daemon side of the relay socket tunnel : "
#define SIG_ERR    "Signature not verified: Likely that the client atSign's public key has changed: "

static int sid_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > SD_SID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int host_valid(const char *h)
{
    size_t n = h ? strlen(h) : 0;

    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)h[i] <= ' ' || (unsigned char)h[i] >= 0x7f)
            return 0;
    return 1;
}

static void answer(struct sshnpd *d, const char *to, const char *sid, const char *value)
{
    char key[256];

    if (np_str_fmt(key, sizeof(key), "%s.%s.sshnp", sid, d->cfg.device) != 0)
        return;
    sd_notify(d, to, key, value, ANSWER_TTL_MS, TTLN_MS);
}

static void answer_error(struct sd_req *r, const char *sid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void answer_error(struct sd_req *r, const char *sid, const char *fmt, ...)
{
    char text[ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    np_warn("session %s (%s): %s refused: %s", sid, r->from, r->type_name, text);
    r->d->st.errors_sent++;
    answer(r->d, r->from, sid, text);
}

/* ---- live sessions ------------------------------------------------------ */

static void session_free(struct sd_session *s)
{
    struct sshnpd *d;

    if (!s)
        return;
    d = s->d;
    if (s->prev)
        s->prev->next = s->next;
    else if (d->sessions == s)
        d->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    np_bridge_free(s->bridge);
    np_freezero_str(s->escr_key);
    np_free(s);
}

void sd_session_free_all(struct sshnpd *d)
{
    while (d->sessions) {
        d->n_sessions--;
        d->st.sessions_ended++;
        session_free(d->sessions);
    }
}

static void on_bridge_done(struct np_bridge *b, int reason, const char *detail, void *data)
{
    struct sd_session *s = data;
    struct np_bridge_stats st;
    int ok = reason == NP_BRIDGE_LOCAL_CLOSED || reason == NP_BRIDGE_RELAY_CLOSED ||
             reason == NP_BRIDGE_CONTROL_CLOSED || reason == NP_BRIDGE_TIMEOUT;

    np_bridge_get_stats(b, &st);
    sd_slog(ok ? NP_LOG_INFO : NP_LOG_WARN, s,
            "ended after %lld ms: %s (%s); %u connection(s), %llu bytes to the relay, %llu "
            "from it",
            (long long)(np_mono_ms() - s->started_ms), np_bridge_reason_str(reason),
            detail ? detail : "", st.connections, (unsigned long long)st.bytes_to_relay,
            (unsigned long long)st.bytes_from_relay);
    s->d->n_sessions--;
    s->d->st.sessions_ended++;
    session_free(s); /* frees b: allowed from on_done */
}

static int escr_cb(const char *challenge, size_t len, char **response, void *data)
{
    struct sd_session *s = data;
    (void)len;

    return np_escr_response_build(s->d->cfg.pkam_priv, s->d->sk_uri, s->sid, challenge, 'b',
                                  s->escr_key, response, NULL);
}

/* ---- the request path --------------------------------------------------- */

/* Wrap a B64 text for the client's ephemeral key. */
static int wrap(const struct np_rsa_key *pk, const unsigned char *raw, size_t n, char **out)
{
    char *b64 = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    if ((r = np_b64_encode(raw, n, &b64, &len)) != 0)
        return r;
    r = np_rsa_encrypt_b64(pk, b64, len, out);
    np_freezero(b64, len + 1);
    return r;
}

/* Build and send the signed success answer. */
static int send_success(struct sd_req *r, const struct np_rsa_key *pk,
                        const struct np_bridge_keys *k, int twin)
{
    struct sshnpd *d = r->d;
    struct np_session_answer a;
    char *w[4] = {NULL, NULL, NULL, NULL};
    cJSON *payload = NULL;
    char *env = NULL;
    int rc;

    memset(&a, 0, sizeof(a));
    a.status = "connected";
    a.session_id = r->sr->session_id;
    a.has_ephemeral_private_key = !r->sr->npt; /* ssh answers carry null */
    if ((rc = wrap(pk, k->c2d_key, NP_AES_KEY_LEN, &w[0])) != 0 ||
        (rc = wrap(pk, k->c2d_iv, NP_AES_IV_LEN, &w[1])) != 0)
        goto out;
    if (twin) {
        if ((rc = wrap(pk, k->d2c_key, NP_AES_KEY_LEN, &w[2])) != 0 ||
            (rc = wrap(pk, k->d2c_iv, NP_AES_IV_LEN, &w[3])) != 0)
            goto out;
        a.aes_key_c2d = w[0];
        a.iv_c2d = w[1];
        a.aes_key_d2c = w[2];
        a.iv_d2c = w[3];
    } else {
        a.session_aes_key = w[0];
        a.session_iv = w[1];
    }
    if ((rc = np_session_answer_to_json(&a, &payload)) != 0 ||
        (rc = np_envelope_sign(d->cfg.enc_priv, payload, &env)) != 0)
        goto out;
    answer(d, r->from, r->sr->session_id, env);
    rc = 0;
out:
    for (int i = 0; i < 4; i++)
        np_free(w[i]);
    cJSON_Delete(payload);
    np_free(env);
    return rc;
}

/* Everything after the signature: checks, bundle, bridge, answer. */
static void start(struct sd_req *r)
{
    struct sshnpd *d = r->d;
    struct np_session_req *q = r->sr;
    const char *sid = q->session_id;
    const char *host = q->npt ? q->requested_host : "localhost";
    int port = q->npt ? q->requested_port : d->cfg.local_sshd_port;
    struct np_rsa_key *pk = NULL;
    struct sd_session *s = NULL;
    struct np_bridge_config bc;
    char *line = NULL;
    size_t line_len = 0;
    int twin = q->twin_keys == 1, escr = 0, rc;

    np_bridge_config_init(&bc);
    if (!q->npt && !q->direct) {
        answer_error(r, sid, TUNNEL_ERR "legacy reverse ssh (direct: false) is not supported");
        goto out;
    }
    if (!host_valid(host) || port < 1 || port > 65535) {
        answer_error(r, sid, TUNNEL_ERR "bad requestedHost/requestedPort");
        goto out;
    }
    if (!np_permit_allows(d->permit, host, port)) {
        answer_error(r, sid, "Connection to %s:%d denied based on daemon --permit-open %s", host,
                     port, d->permit_text);
        goto out;
    }
    if (r->client_permit && !np_permit_allows(r->client_permit, host, port)) {
        char list[ERR_MAX / 2] = "[";
        size_t n = np_permit_count(r->client_permit);
        for (size_t i = 0; i < n; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                     np_permit_item(r->client_permit, i));
        }
        if (strlen(list) + 2 <= sizeof(list))
            memcpy(list + strlen(list), "]", 2);
        answer_error(r, sid, "Connection to %s:%d denied based on POLICY --permit-open %s", host,
                     port, list);
        goto out;
    }
    if (q->encrypt_rvd_traffic != 1) {
        answer_error(r, sid,
                     TUNNEL_ERR "this daemon requires encrypted relay traffic; unencrypted "
                                "sessions (--no-et / encryptRvdTraffic false) are not supported");
        goto out;
    }
    if (!q->client_ephemeral_pk || !q->client_ephemeral_pk_type ||
        strcmp(q->client_ephemeral_pk_type, "rsa2048") != 0) {
        answer_error(r, sid, TUNNEL_ERR "clientEphemeralPKType must be rsa2048");
        goto out;
    }
    if (np_rsa_from_public_b64(q->client_ephemeral_pk, &pk) != 0 || np_rsa_size(pk) != 256) {
        answer_error(r, sid, TUNNEL_ERR "clientEphemeralPK is not an RSA-2048 public key");
        goto out;
    }
    if (!host_valid(q->host)) {
        answer_error(r, sid, TUNNEL_ERR "bad relay host");
        goto out;
    }
    if (q->relay_auth_mode && strcmp(q->relay_auth_mode, "escr") == 0) {
        escr = 1;
        if (!d->cfg.pkam_priv) {
            answer_error(r, sid, TUNNEL_ERR "ESCR relay authentication needs the PKAM key");
            goto out;
        }
        {
            unsigned char tmp[32];
            int ok = q->relay_auth_aes_key &&
                     np_b64_decode_exact(q->relay_auth_aes_key, tmp, sizeof(tmp)) == 0;
            np_memzero(tmp, sizeof(tmp));
            if (!ok) {
                answer_error(r, sid, TUNNEL_ERR "relayAuthAesKey missing or not a 32-byte key");
                goto out;
            }
        }
    } else if (q->relay_auth_mode && strcmp(q->relay_auth_mode, "payload") != 0) {
        answer_error(r, sid, TUNNEL_ERR "unknown relayAuthMode");
        goto out;
    } else if (q->authenticate_to_rvd == 1) {
        if (!q->client_nonce || !q->rvd_nonce) {
            answer_error(r, sid,
                         TUNNEL_ERR "clientNonce and rvdNonce are needed to authenticate "
                                    "to the relay");
            goto out;
        }
        if ((rc = np_relay_auth_line_build(d->cfg.enc_priv, sid, q->client_nonce, q->rvd_nonce,
                                           &line, &line_len)) != 0) {
            answer_error(r, sid, TUNNEL_ERR "cannot build the relay auth line: %s",
                         np_strerror(rc));
            goto out;
        }
    }
    if (d->n_sessions >= (unsigned)d->cfg.max_sessions) {
        answer_error(r, sid, TUNNEL_ERR "too many sessions (%u live)", d->n_sessions);
        goto out;
    }
    if ((s = np_calloc(1, sizeof(*s))) == NULL) {
        answer_error(r, sid, TUNNEL_ERR "out of memory");
        goto out;
    }
    s->d = d;
    s->npt = q->npt;
    s->started_ms = np_mono_ms();
    snprintf(s->sid, sizeof(s->sid), "%s", sid);
    snprintf(s->client, sizeof(s->client), "%s", r->from);
    snprintf(s->target, sizeof(s->target), "%s:%d", host, port);
    if (escr && (s->escr_key = np_strdup(q->relay_auth_aes_key)) == NULL) {
        answer_error(r, sid, TUNNEL_ERR "out of memory");
        goto out;
    }
    /* the bundle */
    if ((rc = np_bridge_keys_random(&bc.keys, twin ? NP_BRIDGE_TWIN_KEYS : NP_BRIDGE_SINGLE_KEY)) !=
        0) {
        answer_error(r, sid, TUNNEL_ERR "cannot generate session keys: %s", np_strerror(rc));
        goto out;
    }
    bc.side = NP_BRIDGE_DAEMON;
    bc.multi = q->npt;
    bc.relay_host = q->host;
    bc.relay_port = q->port;
    bc.local_host = host;
    bc.local_port = port;
    if (q->npt)
        bc.timeout_ms = q->timeout_ms > INT_MAX ? INT_MAX : (int)q->timeout_ms;
    else
        bc.timeout_ms = d->cfg.ssh_timeout_ms;
    bc.auth = escr ? NP_BRIDGE_AUTH_ESCR : line ? NP_BRIDGE_AUTH_LINE : NP_BRIDGE_AUTH_NONE;
    bc.auth_line = line;
    bc.auth_line_len = line_len;
    bc.escr = escr_cb;
    bc.escr_data = s;
    bc.dns = d->cfg.dns;
    bc.on_done = on_bridge_done;
    bc.data = s;
    if ((rc = np_bridge_new(d->base, &bc, &s->bridge)) != 0) {
        answer_error(r, sid, TUNNEL_ERR "%s", np_strerror(rc));
        goto out;
    }
    /* linked before answering so that a failure below frees it */
    s->next = d->sessions;
    if (d->sessions)
        d->sessions->prev = s;
    d->sessions = s;
    d->n_sessions++;
    d->st.sessions_started++;
    if ((rc = send_success(r, pk, &bc.keys, twin)) != 0) {
        sd_slog(NP_LOG_ERROR, s, "cannot build the answer: %s", np_strerror(rc));
        d->n_sessions--;
        d->st.sessions_ended++;
        session_free(s);
        s = NULL;
        goto out;
    }
    /* answer timing: from sshnpd_handle to the answer queued on the atServer connection */
    sd_slog(NP_LOG_INFO, s,
            "%s: relay %s:%d (%s auth, %s keys) <-> %s, timeout %d ms; answered in %lld us",
            q->npt ? "npt" : "ssh", q->host, q->port,
            escr   ? "escr"
            : line ? "legacy"
                   : "no",
            twin ? "twin" : "single", s->target, bc.timeout_ms,
            (long long)(sd_mono_us() - r->rx_us));
    s = NULL;
out:
    if (s && !s->bridge) {
        np_freezero_str(s->escr_key);
        np_free(s);
    }
    np_memzero(&bc.keys, sizeof(bc.keys));
    np_free(line);
    np_rsa_free(pk);
    sd_req_free(r);
}

static void on_key(void *arg, int status, const struct np_rsa_key *key);

/* Verify with key; on failure fetch the key once more. Consumes r unless
 * a new lookup is under way. */
static void verify(struct sd_req *r, const struct np_rsa_key *key)
{
    const char *sid = r->sr->session_id;
    int rc;

    if (np_envelope_check(r->env, key) == 0) {
        start(r);
        return;
    }
    if (!r->refetched) {
        const struct np_rsa_key *k2 = NULL;
        r->refetched = 1;
        np_info("session %s (%s): signature does not verify; fetching public:publickey%s again",
                sid, r->from, r->from);
        /* refresh = 1 always starts (or joins) a lookup: NP_AGAIN or an error */
        if ((rc = sd_keycache_get(r->d->keys, r->from, 1, on_key, r, &k2, &r->kw)) == NP_AGAIN)
            return;
    }
    answer_error(r, sid, SIG_ERR "the request does not verify with public:publickey%s", r->from);
    sd_req_free(r);
}

static void on_key(void *arg, int status, const struct np_rsa_key *key)
{
    struct sd_req *r = arg;

    r->kw = NULL;
    if (status != 0) {
        answer_error(r, r->sr->session_id, SIG_ERR "cannot look up public:publickey%s: %s", r->from,
                     np_strerror(status));
        sd_req_free(r);
        return;
    }
    verify(r, key);
}

/* The session id of a payload that did not parse, if it has a usable one. */
static const char *raw_sid(const cJSON *payload)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(payload, "sessionId");

    return cJSON_IsString(v) && sid_valid(v->valuestring) ? v->valuestring : NULL;
}

void sd_session_request(struct sd_req *r)
{
    const struct np_rsa_key *key = NULL;
    char err[160];
    int npt = r->type == SD_NPT_REQUEST, rc;

    if ((rc = np_envelope_parse(r->value, r->len, &r->env)) != 0) {
        np_warn("sshnpd: %s from %s: not a signed envelope (%s); ignored", r->type_name, r->from,
                np_strerror(rc));
        sd_req_free(r);
        return;
    }
    if ((rc = np_session_req_parse(np_envelope_payload(r->env), npt, &r->sr, err, sizeof(err))) !=
        0) {
        const char *sid = raw_sid(np_envelope_payload(r->env));
        np_warn("sshnpd: %s from %s: bad payload (%s)", r->type_name, r->from, err);
        if (sid)
            answer_error(r, sid, TUNNEL_ERR "malformed request: %s", err);
        sd_req_free(r);
        return;
    }
    if (!sid_valid(r->sr->session_id)) {
        np_warn("sshnpd: %s from %s: unusable session id; ignored", r->type_name, r->from);
        sd_req_free(r);
        return;
    }
    np_info("session %s (%s): %s received", r->sr->session_id, r->from, r->type_name);
    rc = sd_keycache_get(r->d->keys, r->from, 0, on_key, r, &key, &r->kw);
    if (rc == NP_AGAIN)
        return;
    if (rc != 0) {
        answer_error(r, r->sr->session_id, SIG_ERR "cannot look up public:publickey%s: %s", r->from,
                     np_strerror(rc));
        sd_req_free(r);
        return;
    }
    verify(r, key);
}
