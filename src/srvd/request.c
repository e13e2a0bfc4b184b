/*
 * src/srvd/request.c - one decrypted notification in, at most one answer out
 * (noports-wire.md 7.1, 5.8, 15 item 13).
 *
 * Order of checks: shutdown, key kind, per-sender rate limit, parse, access
 * (atSignA must be the sender; with --manager both must be the manager),
 * session-id syntax, only443, relayAuthAesKey, id in use, max sessions. Then
 * the session is created and its answer handed to the outbox. Unauthorized
 * senders get no answer at all; other refusals get a NACK when the request
 * set multipleAcksOk.
 */
#include "srvd_int.h"
#include "crypto/aes.h"
#include "crypto/b64.h"
#include "np/ratelimit.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <string.h>

static int sid_ok(const char *sid)
{
    size_t n = strlen(sid);

    if (n == 0 || n > RELAY_SID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = sid[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int send_nack(struct relay *r, const struct np_relay_request *req,
                     enum np_relay_nack_reason why)
{
    char key[RELAY_SID_MAX + 32];
    struct relay_notice n;
    int rc;

    if (!req->multiple_acks_ok || !sid_ok(req->session_id))
        return 0;
    if ((rc = np_relay_key_nack(req->session_id, key, sizeof(key))) != 0)
        return rc;
    memset(&n, 0, sizeof(n));
    n.to = req->atsign_a;
    n.key = key;
    n.value = np_relay_nack_text(why);
    n.session_id = req->session_id;
    n.ttl_ms = 0;
    n.is_nack = 1;
    if ((rc = r->out.send(r->out.data, &n)) != 0)
        np_log_r(NP_LOG_WARN, rc, "srvd: session %s: cannot send NACK", req->session_id);
    else
        r->st.nacks++;
    return rc;
}

static int refuse(struct relay *r, const struct np_relay_request *req,
                  enum np_relay_nack_reason why, int rc)
{
    r->st.requests_refused++;
    np_info("srvd: request %s from %s refused: %s", req->session_id, req->atsign_a,
            np_relay_nack_text(why));
    send_nack(r, req, why);
    return rc;
}

static int send_answer(struct relay *r, struct session *s, const struct np_relay_request *req)
{
    char key[RELAY_SID_MAX + 32];
    char *value = NULL;
    struct relay_notice n;
    int rc;

    if ((rc = np_relay_key_answer(s->sid, key, sizeof(key))) != 0)
        return rc;
    if (req->send_json_response) {
        struct np_relay_answer a;
        memset(&a, 0, sizeof(a));
        a.address = r->address;
        a.port_a = s->lst[SIDE_A].port;
        a.port_b = s->lst[SIDE_B].port;
        a.rvd_nonce = s->rvd_nonce;
        a.supports_event_logging = 0; /* not implemented: say so */
        a.auto_detects_relay_auth = 1;
        rc = np_relay_answer_build_json(&a, &value);
    } else {
        rc = np_relay_answer_build_csv(r->address, s->lst[SIDE_A].port, s->lst[SIDE_B].port,
                                       s->rvd_nonce, &value);
    }
    if (rc != 0)
        return rc;
    memset(&n, 0, sizeof(n));
    n.to = req->atsign_a;
    n.key = key;
    n.value = value;
    n.session_id = s->sid;
    n.ttl_ms = 10000;
    rc = r->out.send(r->out.data, &n);
    np_free(value);
    return rc;
}

/* Pre-fetch only public keys of the session's own atSigns (bounded abuse). */
static void prefetch(struct relay *r, const struct np_relay_request *req)
{
    for (size_t i = 0; i < req->n_pre_fetch && i < 4; i++) {
        const char *u = req->pre_fetch[i];
        const char *at = strrchr(u, '@');
        if (strncmp(u, "public:", 7) != 0 || !at ||
            !(relay_atsign_eq(at, req->atsign_a) || relay_atsign_eq(at, req->atsign_b)))
            continue;
        /* not pinned: it stays in the cache for key_cache_ms */
        struct kc_entry *e = kc_pin(r->kc, u);
        kc_unpin(r->kc, e);
    }
}

static int handle_ports(struct relay *r, const char *sender, struct np_relay_request *req)
{
    char nonce[32];
    struct session *s = NULL;
    int rc;

    /* Never trust the client-supplied atSignA alone (15, pitfalls). */
    if (!relay_atsign_eq(req->atsign_a, sender)) {
        r->st.requests_refused++;
        np_warn("srvd: request %s refused: atSignA %s is not the sender %s", req->session_id,
                req->atsign_a, sender);
        return NP_ERR_PERM;
    }
    if (r->manager && !relay_atsign_eq(sender, r->manager)) {
        r->st.requests_refused++;
        np_info("srvd: request %s from %s refused: not the manager %s", req->session_id, sender,
                r->manager);
        return NP_ERR_PERM;
    }
    if (!sid_ok(req->session_id)) {
        char esc[80];
        r->st.requests_refused++;
        np_log_escape(esc, sizeof(esc), req->session_id, strlen(req->session_id));
        np_info("srvd: request from %s refused: bad session id '%s'", sender, esc);
        send_nack(r, req, NP_RELAY_NACK_BAD_REQUEST);
        return NP_ERR_FORMAT;
    }
    if (req->only443)
        return refuse(r, req, NP_RELAY_NACK_NO_443, NP_ERR_UNSUPPORTED);
    if (req->relay_auth_aes_key) {
        unsigned char k[NP_AES_KEY_LEN];
        rc = np_b64_decode_exact(req->relay_auth_aes_key, k, sizeof(k));
        np_memzero(k, sizeof(k));
        if (rc != 0)
            return refuse(r, req, NP_RELAY_NACK_BAD_REQUEST, NP_ERR_FORMAT);
    }
    if (session_find(r, req->session_id))
        return refuse(r, req, NP_RELAY_NACK_SESSION_EXISTS, NP_ERR_EXISTS);
    if (relay_session_count(r) >= (unsigned)r->cfg.max_sessions) {
        np_warn("srvd: limit of %d sessions reached", r->cfg.max_sessions);
        return refuse(r, req, NP_RELAY_NACK_SESSION_LIMIT, NP_ERR_LIMIT);
    }
    np_time_iso_local_us(nonce, sizeof(nonce));
    if ((rc = session_create(r, req, req->legacy ? NULL : nonce, &s)) != 0)
        return refuse(r, req, NP_RELAY_NACK_INTERNAL, rc);
    if ((rc = send_answer(r, s, req)) != 0) {
        np_log_r(NP_LOG_WARN, rc, "srvd: session %s: cannot send the answer", s->sid);
        session_close(s, "answer not sent");
        return rc;
    }
    np_info("srvd: session %s for %s%s%s: ports %d (A) and %d (B)%s%s", s->sid, req->atsign_a,
            req->atsign_b ? " -> " : "", req->atsign_b ? req->atsign_b : "", s->lst[SIDE_A].port,
            s->lst[SIDE_B].port, req->legacy ? " [legacy request]" : "",
            (req->authenticate_a || req->authenticate_b) ? " [auth]" : "");
    prefetch(r, req);
    return 0;
}

static int handle_hint(struct relay *r, const char *sender, const char *value, size_t len)
{
    struct np_relay_auth_modes *m = NULL;
    struct session *s;
    int rc;

    if ((rc = np_relay_auth_modes_parse(value, len, &m)) != 0) {
        np_info("srvd: bad auth_modes hint from %s", sender);
        return rc;
    }
    s = session_find(r, m->session_id);
    if (!s) {
        rc = NP_ERR_NOTFOUND;
    } else if (!relay_atsign_eq(sender, s->atsign_a) || !s->rvd_nonce ||
               strcmp(m->rvd_nonce, s->rvd_nonce) != 0) {
        /* accepted only from atSignA and only with our nonce (5.8.4) */
        rc = NP_ERR_PERM;
    } else {
        s->mode[SIDE_A] = (int)m->side_a;
        s->mode[SIDE_B] = (int)m->side_b;
        np_debug("srvd: session %s: auth modes A=%s B=%s", s->sid,
                 np_relay_auth_mode_name(m->side_a), np_relay_auth_mode_name(m->side_b));
        rc = 0;
    }
    np_relay_auth_modes_free(m);
    return rc;
}

int relay_handle_request(struct relay *r, const char *sender, const char *key, const char *value,
                         size_t len)
{
    struct np_relay_request *req = NULL;
    enum np_relay_key_kind kind;
    int rc;

    if (!r || !sender || !key || !value)
        return NP_ERR_INVAL;
    if (r->shutting_down)
        return NP_ERR_CLOSED;
    kind = np_relay_key_classify(key);
    if (kind == NP_RELAY_KEY_OTHER) {
        np_debug("srvd: ignoring notification %s from %s", key, sender);
        return NP_ERR_UNSUPPORTED;
    }
    r->st.requests++;
    if (!np_ratelimit_allow(r->rl, sender, np_mono_ms(), NULL)) {
        r->st.rate_limited++;
        r->st.requests_refused++;
        np_warn("srvd: rate limit: dropping a request from %s (more than %d per minute)", sender,
                r->cfg.rate_per_min);
        return NP_ERR_LIMIT;
    }
    if (kind == NP_RELAY_KEY_AUTH_MODES)
        return handle_hint(r, sender, value, len);
    if (kind == NP_RELAY_KEY_REQUEST_PORTS)
        rc = np_relay_request_parse(value, len, &req);
    else
        rc = np_relay_request_legacy(sender, value, len, &req);
    if (rc != 0) {
        r->st.requests_refused++;
        np_log_r(NP_LOG_INFO, rc, "srvd: malformed request from %s", sender);
        return rc;
    }
    rc = handle_ports(r, sender, req);
    np_relay_request_free(req);
    return rc;
}
