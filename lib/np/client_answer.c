/*
 * lib/np/client_answer.c - second half of the client session: the signed
 * ssh_request / npt_request (5.3, 5.4), the daemon's signed answer (5.5:
 * signature with public:publickey@<device>, session id, the RSA-wrapped AES
 * bundle, single or twin), our relay authentication (legacy line or ESCR)
 * and the bridge (np/bridge.h) whose end ends the session.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "crypto/rsa.h"
#include "np/bridge.h"
#include "np/client_int.h"
#include "np/envelope.h"
#include "np/escr.h"
#include "np/messages.h"
#include "np/relay_auth.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#define HINT_SIG                                                                                   \
    "The answer is not signed by the device atSign's key: its key may have changed, or the "       \
    "answer is forged. Try again; if it persists check public:publickey of the -t atSign."

void np_client__send_request(struct np_client_session *s)
{
    struct np_session_req q;
    cJSON *payload = NULL;
    char *pk = NULL, *json = NULL, key[256];
    struct timeval tv;
    int r;

    memset(&q, 0, sizeof(q));
    if ((r = np_rsa_public_b64(s->eph, &pk)) != 0)
        goto out;
    q.npt = s->npt;
    q.direct = 1;
    q.session_id = s->sid;
    q.host = s->relay_ans->address;
    q.port = s->relay_ans->port_b;
    q.authenticate_to_rvd = s->auth_device;
    q.client_nonce = s->client_nonce;
    q.rvd_nonce = s->relay_ans->rvd_nonce;
    q.encrypt_rvd_traffic = 1;
    q.client_ephemeral_pk = pk;
    q.client_ephemeral_pk_type = "rsa2048";
    q.requested_port = s->remote_port;
    q.requested_host = s->remote_host;
    q.timeout_ms = s->npt_timeout_ms;
    q.twin_keys = np_device_info_has(s->info, NP_FEAT_TWIN_KEYS) ? 1 : -1;
    if (s->escr_key_b64) {
        q.relay_auth_mode = s->daemon_escr ? "escr" : "payload";
        q.relay_auth_aes_key = s->escr_key_b64;
    }
    if ((r = np_session_req_to_json(&q, &payload)) != 0 ||
        (r = np_envelope_sign(s->enc_key, payload, &json)) != 0)
        goto out;
    if ((r = np_str_fmt(key, sizeof(key), "%s.%s.sshnp", s->npt ? "npt_request" : "ssh_request",
                        s->device)) != 0)
        goto out;
    np_client__progress(s, NP_LOG_INFO, "Sending the %s to %s%s",
                        s->npt ? "npt_request" : "ssh_request", s->device_at,
                        q.twin_keys == 1 ? " (twin keys)" : "");
    if ((r = s->io.notify(s->io.data, s->device_at, key, json, 10000)) != 0)
        goto out;
    s->state = CS_REQUESTED;
    tv.tv_sec = s->answer_timeout_ms / 1000;
    tv.tv_usec = (s->answer_timeout_ms % 1000) * 1000;
    evtimer_add(s->answer_timer, &tv);
    r = 0;
out:
    if (r != 0)
        np_client__fail(s, r, "Cannot send the session request", np_strerror(r), NULL);
    cJSON_Delete(payload);
    np_free(pk);
    np_free(json);
}

/* RSA-unwrap one B64 text of the bundle into a new string (np_freezero_str). */
static int unwrap(const struct np_rsa_key *eph, const char *wrapped, char **out)
{
    unsigned char *plain = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    if (!wrapped)
        return NP_ERR_FORMAT;
    if ((r = np_rsa_decrypt_b64(eph, wrapped, &plain, &len)) != 0)
        return r;
    *out = (char *)plain; /* NUL-terminated by np_rsa_decrypt_b64 */
    if (strlen(*out) != len) {
        np_freezero(plain, len + 1);
        *out = NULL;
        return NP_ERR_FORMAT;
    }
    return 0;
}

static int answer_keys(struct np_client_session *s, const struct np_session_answer *a,
                       struct np_bridge_keys *k)
{
    char *t[4] = {NULL, NULL, NULL, NULL};
    int r;

    if (a->aes_key_c2d) {
        if ((r = unwrap(s->eph, a->aes_key_c2d, &t[0])) || (r = unwrap(s->eph, a->iv_c2d, &t[1])) ||
            (r = unwrap(s->eph, a->aes_key_d2c, &t[2])) || (r = unwrap(s->eph, a->iv_d2c, &t[3])))
            goto out;
        s->twin = 1;
    } else if (a->session_aes_key && a->session_iv) {
        if ((r = unwrap(s->eph, a->session_aes_key, &t[0])) ||
            (r = unwrap(s->eph, a->session_iv, &t[1])))
            goto out;
    } else {
        r = NP_ERR_NOTFOUND;
        goto out;
    }
    r = np_bridge_keys_from_b64(k, t[0], t[1], t[2], t[3]);
out:
    for (int i = 0; i < 4; i++)
        np_freezero_str(t[i]);
    return r;
}

/* Bridge ESCR callback: answer the relay's challenge for side A. */
static int escr_cb(const char *challenge, size_t len, char **response, void *data)
{
    struct np_client_session *s = data;

    (void)len;
    return np_escr_response_build(s->pkam_key, s->sk_uri, s->sid, challenge, 'a', s->escr_key_b64,
                                  response, NULL);
}

static void bridge_done(struct np_bridge *b, int reason, const char *detail, void *data)
{
    struct np_client_session *s = data;
    struct np_bridge_stats st;
    char msg[CS_MSG_MAX];
    int status = 0;
    const char *hint = NULL;

    np_bridge_get_stats(b, &st);
    s->st_end = st;
    switch (reason) {
    case NP_BRIDGE_TIMEOUT:
        if (st.connections == 0) {
            status = NP_ERR_TIMEOUT;
            snprintf(msg, sizeof(msg), "Nothing connected to the local port in time");
            hint = "Connect sooner (the relay keeps an unused session for 30 s), or raise -T.";
        } else {
            snprintf(msg, sizeof(msg), "Session ended (idle timeout)");
        }
        break;
    case NP_BRIDGE_CONTROL_CLOSED:
        if (st.live_at_end > 0 || st.ended_early) {
            /* The daemon ends a session only after its timeout (the same as
             * ours) once no connection is left. Control closed earlier, or
             * under live connections: the relay or the daemon went away. */
            status = NP_ERR_EOF;
            snprintf(msg, sizeof(msg), "Session lost: the control channel closed %s",
                     st.live_at_end > 0 ? "under live connections"
                                        : "before the session's timeout");
            hint = "The relay (srvd) or the device daemon stopped or restarted; check their logs "
                   "and start the session again.";
            break;
        }
        /* fall through */
    case NP_BRIDGE_LOCAL_CLOSED:
    case NP_BRIDGE_RELAY_CLOSED:
        snprintf(msg, sizeof(msg), "Session ended (%s)", np_bridge_reason_str(reason));
        break;
    case NP_BRIDGE_RELAY_CONNECT_FAILED:
        status = NP_ERR_CONNECT;
        snprintf(msg, sizeof(msg), "Cannot connect to the relay at %s:%d", s->relay_ans->address,
                 s->relay_ans->port_a);
        hint = "Check that the relay's --ip address and its ports are reachable from here.";
        break;
    case NP_BRIDGE_RELAY_AUTH_FAILED:
        status = NP_ERR_AUTH;
        snprintf(msg, sizeof(msg), "The relay refused our socket");
        hint = "Relay authentication failed: check --relay-auth-mode and the atSign's keys.";
        break;
    default:
        status = reason == NP_BRIDGE_CONTROL_ERROR ? NP_ERR_PROTO : NP_ERR_INTERNAL;
        snprintf(msg, sizeof(msg), "Session failed (%s)", np_bridge_reason_str(reason));
        break;
    }
    s->bridge = NULL;
    s->state = CS_READY;                           /* let fail() record the end */
    np_client__fail(s, status, msg, detail, hint); /* copies detail (borrowed from b) */
    np_bridge_free(b);
}

static void start_bridge(struct np_client_session *s, const struct np_bridge_keys *k)
{
    struct np_bridge_config bc;
    char *line = NULL;
    size_t line_len = 0;
    int r, fd;

    np_bridge_config_init(&bc);
    bc.side = NP_BRIDGE_CLIENT;
    bc.multi = s->npt;
    bc.relay_host = s->relay_ans->address;
    bc.relay_port = s->relay_ans->port_a;
    bc.local_host = s->local_host;
    bc.local_port = s->stdio ? 0 : s->local_port;
    bc.timeout_ms = s->npt ? (int)s->npt_timeout_ms : s->bridge_timeout_ms;
    bc.keys = *k;
    if (s->npt && np_device_info_has(s->info, NP_FEAT_CC_HEARTBEATS))
        bc.heartbeat_ms = s->heartbeat_ms;
    bc.dns = s->dns;
    bc.on_done = bridge_done;
    bc.data = s;
    if (s->auth_client && s->relay_auth_mode == NP_RELAY_AUTH_ESCR) {
        bc.auth = NP_BRIDGE_AUTH_ESCR;
        bc.escr = escr_cb;
        bc.escr_data = s;
    } else if (s->auth_client) {
        if ((r = np_relay_auth_line_build(s->enc_key, s->sid, s->client_nonce,
                                          s->relay_ans->rvd_nonce, &line, &line_len)) != 0) {
            np_client__fail(s, r, "Cannot sign the relay authentication line", np_strerror(r),
                            NULL);
            goto out;
        }
        bc.auth = NP_BRIDGE_AUTH_LINE;
        bc.auth_line = line;
        bc.auth_line_len = line_len;
    }
    if ((r = np_bridge_new(s->base, &bc, &s->bridge)) != 0) {
        char msg[CS_MSG_MAX];

        snprintf(msg, sizeof(msg), "Cannot listen on %s:%d", s->local_host, s->local_port);
        np_client__fail(s, r, msg, np_strerror(r),
                        r == NP_ERR_EXISTS ? "The local port is in use: pick another with -l."
                                           : NULL);
        goto out;
    }
    if (s->stdio) {
        fd = s->stdio_fd;
        s->stdio_fd = -1;
        if ((r = np_client__bridge_adopt(s->bridge, fd)) != 0) {
            np_client__fail(s, r, "Cannot bridge standard input and output", np_strerror(r), NULL);
            goto out;
        }
        np_client__progress(s, NP_LOG_INFO, "Bridging standard input/output through the relay");
    } else {
        np_client__progress(s, NP_LOG_INFO, "Listening on %s:%d", s->local_host,
                            np_bridge_local_port(s->bridge));
    }
    s->state = CS_READY;
    np_client__report_ready(s);
out:
    np_bridge_config_init(&bc); /* no secrets left in the copy */
    np_free(line);
}

void np_client__handle_answer(struct np_client_session *s)
{
    struct np_envelope *e = NULL;
    struct np_session_answer *a = NULL;
    struct np_bridge_keys k;
    char err[128] = "";
    int r;

    memset(&k, 0, sizeof(k));
    if (s->state != CS_REQUESTED || !s->answer)
        return;
    if (!s->dev_pub) {
        if (s->key_err == 0)
            return; /* lookup still running */
        np_client__fail(s, s->key_err, "Cannot get the device atSign's public key",
                        np_strerror(s->key_err),
                        "public:publickey of the -t atSign must be readable to check the "
                        "daemon's answer.");
        goto out;
    }
    if ((r = np_envelope_parse(s->answer, s->answer_len, &e)) != 0) {
        np_client__fail(s, r, "Bad answer from the device daemon", np_strerror(r), NULL);
        goto out;
    }
    if ((r = np_envelope_check(e, s->dev_pub)) != 0) {
        if (!s->key_refetched) { /* keys can rotate: fetch once more, bypassing caches */
            np_client__progress(s, NP_LOG_INFO,
                                "Signature check failed; fetching the device's key again");
            s->key_refetched = 1;
            np_rsa_free(s->dev_pub);
            s->dev_pub = NULL;
            if ((r = np_client__fetch_key(s, 1)) == 0)
                goto out;
        }
        np_client__fail(s, NP_ERR_VERIFY, "The device daemon's answer has a bad signature",
                        np_strerror(NP_ERR_VERIFY), HINT_SIG);
        goto out;
    }
    if ((r = np_session_answer_parse(np_envelope_payload(e), &a, err, sizeof(err))) != 0) {
        np_client__fail(s, r, "Bad answer from the device daemon", err, NULL);
        goto out;
    }
    if (strcmp(a->status, "connected") != 0 || strcmp(a->session_id, s->sid) != 0) {
        char esc[160];

        np_log_escape(esc, sizeof(esc), a->status, strlen(a->status));
        np_client__fail(s, NP_ERR_PROTO, "The device daemon did not connect the session",
                        strcmp(a->status, "connected") ? esc : "wrong session id", NULL);
        goto out;
    }
    if ((r = answer_keys(s, a, &k)) != 0) {
        np_client__fail(s, r,
                        r == NP_ERR_NOTFOUND ? "The device daemon sent no session keys"
                                             : "Cannot unwrap the session keys",
                        np_strerror(r), NULL);
        goto out;
    }
    np_client__progress(s, NP_LOG_INFO, "Session accepted by %s (%s)", s->device_at,
                        s->twin ? "twin keys" : "single key");
    start_bridge(s, &k);
out:
    np_memzero(&k, sizeof(k));
    np_session_answer_free(a);
    np_envelope_free(e);
}
