/*
 * lib/np/client_recv.c - what comes back to a client session: the relay's
 * answer or NACK, the daemon's ping answer (feature check), the daemon's
 * session answer (handed to client_answer.c), and the lookups (the
 * username record, public:publickey@<device>). See client_session.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "at/atsign.h"
#include "crypto/rsa.h"
#include "np/client_int.h"
#include "np/messages.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#define KEY_MAX 512

/* ------------------------------------------------------------- features */

const char *np_client_feature_text(unsigned feature)
{
    switch (feature) {
    case NP_FEAT_SR_AUTH:
        return "support authentication to the socket rendezvous (srAuth); --no-ad skips it";
    case NP_FEAT_SR_E2EE:
        return "support encryption of socket rendezvous traffic (srE2ee)";
    case NP_FEAT_ACCEPTS_PUBLIC_KEYS:
        return "accept ssh public keys from the client (start sshnpd with -s, or drop -s here)";
    case NP_FEAT_PORT_CHOICE:
        return "support requested host:port choice (supportsPortChoice)";
    case NP_FEAT_ADJ_TIMEOUT:
        return "support adjustable timeouts (adjustableTimeout); drop -T to use the default 30s";
    case NP_FEAT_RAM_ESCR:
        return "support ESCR relay authentication (supportsRamEscr)";
    default:
        return "support a required feature";
    }
}

/* Required features in check order. */
static int check_features(struct np_client_session *s)
{
    unsigned need[6];
    size_t n = 0;
    char msg[CS_MSG_MAX];

    if (s->auth_device)
        need[n++] = NP_FEAT_SR_AUTH;
    need[n++] = NP_FEAT_SR_E2EE;
    if (s->ssh_public_key)
        need[n++] = NP_FEAT_ACCEPTS_PUBLIC_KEYS;
    if (s->npt)
        need[n++] = NP_FEAT_PORT_CHOICE;
    if (s->npt && s->npt_timeout_ms != NP_CLIENT_NPT_DEFAULT_MS)
        need[n++] = NP_FEAT_ADJ_TIMEOUT;
    for (size_t i = 0; i < n; i++) {
        if (np_device_info_has(s->info, need[i]))
            continue;
        snprintf(msg, sizeof(msg), "This device daemon does not %s",
                 np_client_feature_text(need[i]));
        np_client__fail(s, NP_ERR_UNSUPPORTED, msg, np_feature_name(need[i]),
                        "Upgrade the daemon on the device, or change the options that need this "
                        "feature.");
        return NP_ERR_UNSUPPORTED;
    }
    s->daemon_escr = s->relay_auth_mode == NP_RELAY_AUTH_ESCR && s->auth_device &&
                     np_device_info_has(s->info, NP_FEAT_RAM_ESCR);
    return 0;
}

/* Everything for the session request present? Then send it. */
void np_client__maybe_request(struct np_client_session *s)
{
    if (s->state != CS_WAIT || !s->relay_ans || !s->eph)
        return;
    if (s->ping_timed_out && !s->info) {
        np_client__fail(s, NP_ERR_TIMEOUT, "Daemon feature check timed out", NULL,
                        "Check that the daemon of this device runs as the -t atSign with this "
                        "-d device name, and that it lets the -f atSign in (its --managers or "
                        "policy).");
        return;
    }
    if (!s->info || (!s->npt && !s->remote_user))
        return;
    np_client__send_request(s);
}

/* --------------------------------------------------------------- lookups */

int np_client__valid_user(const char *u)
{
    size_t n = strlen(u);

    if (n == 0 || n > CS_USER_MAX || u[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@' || c == '\\' || c == '$'))
            return 0;
    }
    return 1;
}

static void user_done(void *arg, int status, const char *value, size_t len)
{
    struct np_client_session *s = arg;
    char *u = NULL, esc[128];

    s->gets--;
    if (s->state != CS_WAIT)
        return;
    if (status != 0 || !value || len == 0 || len > CS_USER_MAX || memchr(value, '\0', len)) {
        np_client__fail(s, status ? status : NP_ERR_NOTFOUND,
                        "Remote username record not shared with the client",
                        status ? np_strerror(status) : "empty value",
                        "Pass -u <user>, or start the daemon with -m <your atSign> and without "
                        "--hide so that it shares its username.");
        return;
    }
    if ((u = np_strndup(value, len)) == NULL) {
        np_client__fail(s, NP_ERR_NOMEM, "Out of memory", NULL, NULL);
        return;
    }
    np_str_trim(u);
    if (!np_client__valid_user(u)) {
        np_log_escape(esc, sizeof(esc), value, len);
        np_client__fail(s, NP_ERR_FORMAT, "The daemon's username record is not a valid user name",
                        esc, "Pass -u <user>.");
        np_free(u);
        return;
    }
    s->remote_user = u;
    np_client__progress(s, NP_LOG_INFO, "Remote user name is %s (shared by %s)", u, s->device_at);
    np_client__maybe_request(s);
}

static void key_done(void *arg, int status, const char *value, size_t len)
{
    struct np_client_session *s = arg;
    struct np_rsa_key *k = NULL;
    char *text = NULL;

    s->gets--;
    if (s->state == CS_DONE)
        return;
    if (status == 0 && value && len > 0 && len < 4096 && (text = np_strndup(value, len)) != NULL)
        status = np_rsa_from_public_b64(np_str_trim(text), &k);
    else if (status == 0)
        status = text || !value || len == 0 || len >= 4096 ? NP_ERR_FORMAT : NP_ERR_NOMEM;
    np_free(text);
    if (status != 0) {
        s->key_err = status;
        np_client__progress(s, NP_LOG_DEBUG, "Lookup of public:publickey%s failed: %s",
                            s->device_at, np_strerror(status));
    } else {
        np_rsa_free(s->dev_pub);
        s->dev_pub = k;
        s->key_err = 0;
    }
    if (s->answer)
        np_client__handle_answer(s);
}

int np_client__fetch_user(struct np_client_session *s)
{
    char key[KEY_MAX];
    int r;

    if ((r = np_str_fmt(key, sizeof(key), "%s:username.%s.sshnp%s", s->client, s->device,
                        s->device_at)) != 0)
        return r;
    if ((r = s->io.get(s->io.data, key, 0, user_done, s)) != 0)
        return r;
    s->gets++;
    return 0;
}

int np_client__fetch_key(struct np_client_session *s, int bypass)
{
    char key[KEY_MAX];
    int r;

    if ((r = np_str_fmt(key, sizeof(key), "public:publickey%s", s->device_at)) != 0)
        return r;
    s->key_err = 0;
    if ((r = s->io.get(s->io.data, key, bypass, key_done, s)) != 0)
        return r;
    s->gets++;
    return 0;
}

/* ----------------------------------------------------------- notifications */

/* The record name of a received key: "@to:" prefix and "@from" suffix gone.
 * Returns a pointer into key and the length. */
static const char *record_name(const char *key, size_t *n)
{
    const char *start = key, *at;

    if (key[0] == '@' && (at = strchr(key, ':')) != NULL)
        start = at + 1;
    at = strrchr(start, '@');
    *n = at ? (size_t)(at - start) : strlen(start);
    return start;
}

static int name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static void on_relay_answer(struct np_client_session *s, const char *value, size_t len)
{
    struct np_relay_answer *a = NULL;
    char esc[160];
    int r;

    if (s->relay_ans) {
        np_client__progress(s, NP_LOG_DEBUG, "Ignoring another relay answer (the first one won)");
        return;
    }
    if ((r = np_relay_answer_parse(value, len, &a)) != 0) {
        np_log_escape(esc, sizeof(esc), value, len);
        np_client__fail(s, r, "Bad answer from the relay", esc,
                        "The relay's answer could not be read; check its version.");
        return;
    }
    evtimer_del(s->relay_timer);
    s->relay_ans = a;
    np_client__progress(s, NP_LOG_INFO, "Relay %s answered: %s, port A %d, port B %d%s", s->relay,
                        a->address, a->port_a, a->port_b, a->json ? " (JSON)" : "");
    if (s->relay_auth_mode == NP_RELAY_AUTH_ESCR && s->auth_client && !a->auto_detects_relay_auth) {
        np_client__fail(s, NP_ERR_UNSUPPORTED, "The relay does not support ESCR authentication",
                        "its answer does not say autoDetectsRelayAuth",
                        "Use --relay-auth-mode payload (the default) with this relay.");
        return;
    }
    if ((s->auth_client || s->auth_device) && !a->rvd_nonce) {
        np_client__fail(s, NP_ERR_PROTO, "The relay sent no nonce", NULL,
                        "This relay cannot authenticate sockets; use --no-ac --no-ad, or another "
                        "relay.");
        return;
    }
    np_client__maybe_request(s);
}

static void on_nack(struct np_client_session *s, const char *value, size_t len)
{
    char esc[CS_DETAIL_MAX], msg[CS_MSG_MAX];

    if (s->relay_ans) {
        np_client__progress(s, NP_LOG_DEBUG, "Ignoring a relay refusal after an answer");
        return;
    }
    np_log_escape(esc, sizeof(esc), value, len);
    snprintf(msg, sizeof(msg), "The relay %s refused the session", s->relay);
    np_client__fail(s, NP_ERR_PERM, msg, esc,
                    "The reason comes from the relay; check its options (manager, limits).");
}

static void on_ping_answer(struct np_client_session *s, const char *value, size_t len)
{
    struct np_device_info *d = NULL;
    char esc[160];
    int r;

    if (s->info)
        return;
    if ((r = np_device_info_parse(value, len, &d)) != 0) {
        np_log_escape(esc, sizeof(esc), value, len);
        np_client__fail(s, r, "Cannot read the device daemon's feature answer", esc, NULL);
        return;
    }
    evtimer_del(s->ping_timer);
    s->info = d;
    np_client__progress(s, NP_LOG_INFO, "Device daemon answered the ping: version %s (core %s)",
                        d->version ? d->version : "?", d->core_version ? d->core_version : "?");
    if (check_features(s) != 0)
        return;
    np_client__maybe_request(s);
}

static void on_daemon_answer(struct np_client_session *s, const char *value, size_t len)
{
    char esc[CS_DETAIL_MAX];
    size_t i = 0;

    if (s->state != CS_REQUESTED || s->answer) {
        np_client__progress(s, NP_LOG_DEBUG, "Ignoring a daemon answer (state %d)", s->state);
        return;
    }
    while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n'))
        i++;
    if (i == len || value[i] != '{') {
        np_log_escape(esc, sizeof(esc), value, len);
        np_client__fail(s, NP_ERR_PERM, "Received error response from the device daemon", esc,
                        "The daemon refused the session; its reason is shown above.");
        return;
    }
    evtimer_del(s->answer_timer);
    if ((s->answer = np_memdup0(value, len)) == NULL) {
        np_client__fail(s, NP_ERR_NOMEM, "Out of memory", NULL, NULL);
        return;
    }
    s->answer_len = len;
    np_client__progress(s, NP_LOG_INFO, "Device daemon answered; checking its signature");
    np_client__handle_answer(s);
}

int np_client_session_notification(struct np_client_session *s, const char *from, const char *key,
                                   const char *value, size_t len)
{
    char want[KEY_MAX];
    const char *name;
    size_t n;
    int from_relay, from_device;

    if (!s || !from || !key)
        return NP_ERR_NOTFOUND;
    from_relay = at_atsign_equal(from, s->relay);
    from_device = at_atsign_equal(from, s->device_at);
    if (!from_relay && !from_device)
        return NP_ERR_NOTFOUND;
    name = record_name(key, &n);
    if (s->state == CS_DONE || s->state == CS_NEW)
        return NP_ERR_NOTFOUND;
    if (!value)
        value = "";
    if (len > CS_VALUE_MAX) {
        np_client__progress(s, NP_LOG_DEBUG, "Ignoring a %zu-byte notification from %s", len, from);
        return NP_ERR_NOTFOUND;
    }
    if (from_relay) {
        snprintf(want, sizeof(want), "%s.sshrvd", s->sid);
        if (name_is(name, n, want)) {
            on_relay_answer(s, value, len);
            return 0;
        }
        snprintf(want, sizeof(want), "nack.%s.sshrvd", s->sid);
        if (name_is(name, n, want)) {
            on_nack(s, value, len);
            return 0;
        }
    }
    if (from_device) {
        snprintf(want, sizeof(want), "heartbeat.%s.sshnp", s->device);
        if (name_is(name, n, want)) {
            on_ping_answer(s, value, len);
            return 0;
        }
        snprintf(want, sizeof(want), "%s.%s.sshnp", s->sid, s->device);
        if (name_is(name, n, want)) {
            on_daemon_answer(s, value, len);
            return 0;
        }
    }
    return NP_ERR_NOTFOUND;
}
