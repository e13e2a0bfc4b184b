/*
 * src/sshnpd/daemon.c - the engine object and the message path up to
 * authorization (see daemon.h, sshnpd_int.h): duplicate ids, message type
 * from the key, per-sender rate limit, authorization, then a dispatch table;
 * ping and sshpublickey are served here, session requests in session.c.
 * Also the records the daemon keeps at its managers (username,
 * device_info), its ESCR signing key, and the policy heartbeat.
 */
#include "np/authkeys.h"
#include "np/envelope.h"
#include "np/messages.h"
#include "np/permit.h"
#include "np/policy.h"
#include "np/ratelimit.h"
#include "sshnpd_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/time.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DEVICE_INFO_TTL_MS (30LL * 24 * 3600 * 1000) /* 30 days */
#define HEARTBEAT_TTL_MS   10000
#define TTLN_MS            60000
#define POLICY_HB_TTLN_MS  300000
#define SWEEP_MS           15000
#define UNAUTH_LOG_MS      10000
#define KEY_BUF            512

/* Dispatch table (style.md 17): every type goes through authorization. */
static const struct {
    const char *name;
    int type;
} msg_types[] = {
    {"ping", SD_PING},
    {"sshpublickey", SD_SSHPUBLICKEY},
    {"ssh_request", SD_SSH_REQUEST},
    {"npt_request", SD_NPT_REQUEST},
    {"sshd", SD_LEGACY},
    {"privatekey", SD_LEGACY},
};

void sshnpd_config_defaults(struct sshnpd_config *c)
{
    memset(c, 0, sizeof(*c));
    c->device_group = "__none__";
    c->local_sshd_port = 22;
    c->version = "0.0.0";
    c->core_version = "c0.0.0";
    c->max_sessions = 64;
    c->max_pending = 256;
    c->rate_per_min = 60;
    c->rate_burst = 60;
    c->ssh_timeout_ms = 60000;
    c->policy_timeout_ms = 10000;
    c->policy_cache_ms = 15000;
    c->key_cache_ms = 3600000;
    c->device_info_ms = 3600000;
    c->policy_heartbeat_ms = 300000;
}

int sd_notify(struct sshnpd *d, const char *to, const char *key, const char *value, int64_t ttl,
              int64_t ttln)
{
    int r = d->io.notify(d->io.data, to, key, value, ttl, ttln);

    if (r != 0)
        np_warn("sshnpd: cannot send %s to %s: %s", key, to, np_strerror(r));
    return r;
}

/* ---- requests ----------------------------------------------------------- */

void sd_req_free(struct sd_req *r)
{
    struct sshnpd *d;

    if (!r)
        return;
    d = r->d;
    if (r->prev)
        r->prev->next = r->next;
    else if (d->reqs == r)
        d->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    d->n_reqs--;
    sd_keycache_cancel(r->kw);
    np_permit_free(r->client_permit);
    np_envelope_free(r->env);
    np_session_req_free(r->sr);
    np_freezero(r->value, r->len + 1);
    np_free(r);
}

static void do_ping(struct sd_req *r)
{
    struct sshnpd *d = r->d;
    char key[KEY_BUF];

    if (np_str_fmt(key, sizeof(key), "heartbeat.%s.sshnp", d->cfg.device) != 0)
        return;
    np_debug("sshnpd: ping from %s", r->from);
    if (sd_notify(d, r->from, key, d->info_json, HEARTBEAT_TTL_MS, TTLN_MS) == 0)
        d->st.pings++;
}

static void do_pubkey(struct sd_req *r)
{
    struct sshnpd *d = r->d;
    char path[4096], err[128];
    const char *p = d->cfg.authkeys_path;
    int rc;

    if (!d->cfg.accept_pubkeys) {
        np_info("sshnpd: sshpublickey from %s ignored (start with -s to accept keys)", r->from);
        return;
    }
    if ((rc = np_ssh_pubkey_check(r->value, r->len, err, sizeof(err))) != 0) {
        np_warn("sshnpd: sshpublickey from %s rejected: %s", r->from, err);
        return;
    }
    if (!p) {
        if (np_authkeys_default_path(path, sizeof(path)) != 0) {
            np_error("sshnpd: sshpublickey from %s: no $HOME for authorized_keys", r->from);
            return;
        }
        p = path;
    }
    rc = np_authkeys_add(p, d->cfg.pubkey_perm, r->value, r->len);
    if (rc == 0) {
        d->st.pubkeys_added++;
        np_info("sshnpd: sshpublickey from %s added to %s", r->from, p);
    } else if (rc == NP_ERR_EXISTS) {
        np_info("sshnpd: sshpublickey from %s already in %s", r->from, p);
    } else {
        np_log_r(NP_LOG_ERROR, rc, "sshnpd: sshpublickey from %s: cannot update %s", r->from, p);
    }
}

void sd_req_run(struct sd_req *r)
{
    switch (r->type) {
    case SD_PING:
        do_ping(r);
        break;
    case SD_SSHPUBLICKEY:
        do_pubkey(r);
        break;
    case SD_SSH_REQUEST:
    case SD_NPT_REQUEST:
        r->d->st.requests++;
        sd_session_request(r); /* consumes r */
        return;
    default:
        np_warn("sshnpd: %s from %s: legacy reverse ssh is not supported; ignored", r->type_name,
                r->from);
        break;
    }
    sd_req_free(r);
}

/* ---- message intake ----------------------------------------------------- */

static int seen_id(struct sshnpd *d, const char *id)
{
    size_t n;

    if (!id || !*id || (n = strlen(id)) > SD_ID_MAX)
        return 0;
    for (unsigned i = 0; i < SD_DEDUP; i++)
        if (strcmp(d->dedup[i], id) == 0)
            return 1;
    memcpy(d->dedup[d->dedup_next], id, n + 1);
    d->dedup_next = (d->dedup_next + 1) % SD_DEDUP;
    return 0;
}

static void log_unauthorized(struct sshnpd *d, const char *type, const char *from)
{
    int64_t now = np_mono_ms();

    if (now - d->unauth_log_ms < UNAUTH_LOG_MS && d->unauth_log_ms != 0) {
        d->unauth_quiet++;
        return;
    }
    np_debug("sshnpd: %s from %s: not authorized, no answer%s", type, from,
             d->unauth_quiet ? " (more such messages were not logged)" : "");
    d->unauth_log_ms = now;
    d->unauth_quiet = 0;
}

int sshnpd_handle(struct sshnpd *d, const char *id, const char *from, const char *key,
                  const char *value, size_t len)
{
    char sender[AT_ATSIGN_BUF], tname[32], esc[128];
    struct sd_req *r = NULL;
    uint64_t dropped;
    int64_t rx_us = sd_mono_us();
    int type = 0, rc;

    d->st.received++;
    if (!from || !key) {
        d->st.ignored++;
        return NP_ERR_FORMAT;
    }
    if (id && strcmp(id, "-1") == 0) {
        d->st.ignored++;
        return NP_ERR_NOTFOUND;
    }
    if (!value) {
        np_debug("sshnpd: notification %s without a decrypted value ignored",
                 np_log_escape(esc, sizeof(esc), key, strlen(key)));
        d->st.ignored++;
        return NP_ERR_FORMAT;
    }
    if (seen_id(d, id)) {
        d->st.ignored++;
        d->st.duplicates++;
        return NP_ERR_EXISTS;
    }
    if (at_atsign_normalise(from, strlen(from), sender, sizeof(sender)) != 0) {
        d->st.ignored++;
        return NP_ERR_FORMAT;
    }
    if (d->cfg.policy && strcasecmp(sender, d->cfg.policy) == 0 &&
        sd_authz_policy_response(d, key, value, len) == 0)
        return 0;
    if (!np_ratelimit_allow(d->rate, sender, np_mono_ms(), &dropped)) {
        d->st.rate_limited++;
        if (dropped)
            np_warn("sshnpd: rate limit: dropped %llu message(s) from %s",
                    (unsigned long long)dropped, sender);
        return NP_ERR_LIMIT;
    }
    if (np_msg_type_from_key(key, d->cfg.device, sender, tname, sizeof(tname)) == 0)
        for (size_t i = 0; i < sizeof(msg_types) / sizeof(msg_types[0]); i++)
            if (strcmp(tname, msg_types[i].name) == 0)
                type = msg_types[i].type;
    if (!type) {
        np_debug("sshnpd: notification %s from %s ignored (not a request for this device)",
                 np_log_escape(esc, sizeof(esc), key, strlen(key)), sender);
        d->st.ignored++;
        return NP_ERR_NOTFOUND;
    }
    if (len > SD_VALUE_MAX) {
        d->st.ignored++;
        return NP_ERR_FORMAT;
    }
    if (d->n_reqs >= (unsigned)d->cfg.max_pending) {
        np_warn("sshnpd: %u requests pending: %s from %s dropped", d->n_reqs, tname, sender);
        d->st.rate_limited++;
        return NP_ERR_LIMIT;
    }
    if ((r = np_calloc(1, sizeof(*r))) == NULL || (r->value = np_memdup0(value, len)) == NULL) {
        np_free(r);
        return NP_ERR_NOMEM;
    }
    r->d = d;
    r->type = type;
    r->len = len;
    r->rx_us = rx_us;
    snprintf(r->type_name, sizeof(r->type_name), "%s", tname);
    memcpy(r->from, sender, strlen(sender) + 1);
    r->next = d->reqs;
    if (d->reqs)
        d->reqs->prev = r;
    d->reqs = r;
    d->n_reqs++;

    rc = sd_authz_check(d, r);
    if (rc == 0) {
        d->st.authorized++;
        sd_req_run(r);
        return 0;
    }
    if (rc == NP_AGAIN)
        return 0;
    if (rc == NP_ERR_PERM) {
        d->st.unauthorized++;
        log_unauthorized(d, tname, sender);
    } else {
        np_log_r(NP_LOG_WARN, rc, "sshnpd: %s from %s dropped", tname, sender);
    }
    sd_req_free(r);
    return rc;
}

/* ---- records at the managers, heartbeat --------------------------------- */

static void put_device_info(struct sshnpd *d)
{
    char atkey[KEY_BUF];

    for (size_t i = 0; i < d->cfg.n_managers; i++) {
        if (np_str_fmt(atkey, sizeof(atkey), "%s:device_info.%s.sshnp%s", d->cfg.managers[i],
                       d->cfg.device, d->cfg.atsign) != 0)
            continue;
        if (d->cfg.hide) {
            d->io.del(d->io.data, atkey);
        } else {
            struct sshnpd_record rec = {atkey, d->info_json, DEVICE_INFO_TTL_MS, -1, 1};
            d->io.put(d->io.data, &rec);
        }
    }
}

static void put_username(struct sshnpd *d)
{
    char atkey[KEY_BUF];

    for (size_t i = 0; i < d->cfg.n_managers; i++) {
        if (np_str_fmt(atkey, sizeof(atkey), "%s:username.%s.sshnp%s", d->cfg.managers[i],
                       d->cfg.device, d->cfg.atsign) != 0)
            continue;
        if (d->cfg.hide) {
            d->io.del(d->io.data, atkey);
        } else if (d->cfg.username) {
            struct sshnpd_record rec = {atkey, d->cfg.username, 0, -1, 1};
            d->io.put(d->io.data, &rec);
        }
    }
}

static void policy_heartbeat(struct sshnpd *d)
{
    char key[KEY_BUF];

    if (!d->cfg.policy || np_policy_heartbeat_key(d->cfg.device, key, sizeof(key)) != 0)
        return;
    sd_notify(d, d->cfg.policy, key, d->info_json, 0, POLICY_HB_TTLN_MS);
}

static void on_info_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    put_device_info(arg);
}

static void on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    policy_heartbeat(arg);
}

static void on_sweep_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sd_authz_sweep(arg);
}

static int add_persist(struct sshnpd *d, struct event **ev, int ms, event_callback_fn cb)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if ((*ev = event_new(d->base, -1, EV_PERSIST, cb, d)) == NULL)
        return NP_ERR_NOMEM;
    if (event_add(*ev, &tv) != 0) {
        event_free(*ev);
        *ev = NULL;
        return NP_ERR_INTERNAL;
    }
    return 0;
}

void sshnpd_connected(struct sshnpd *d)
{
    if (!d)
        return;
    np_info("sshnpd: %s device %s: %s records for %zu manager(s)", d->cfg.atsign, d->cfg.device,
            d->cfg.hide ? "deleting" : "sharing", d->cfg.n_managers);
    put_username(d);
    put_device_info(d);
    if (d->cfg.pkam_public_b64 && d->cfg.pkam_priv) {
        struct sshnpd_record rec = {d->sk_uri, d->cfg.pkam_public_b64, 0, 0, 0};
        d->io.put(d->io.data, &rec);
    }
    policy_heartbeat(d);
    if (!d->connected_once) {
        d->connected_once = 1;
        if (!d->ev_info && add_persist(d, &d->ev_info, d->cfg.device_info_ms, on_info_timer) != 0)
            np_error("sshnpd: cannot start the device_info refresh timer");
        if (d->cfg.policy && !d->ev_heartbeat &&
            add_persist(d, &d->ev_heartbeat, d->cfg.policy_heartbeat_ms, on_heartbeat_timer) != 0)
            np_error("sshnpd: cannot start the policy heartbeat timer");
    }
}

/* ---- engine ------------------------------------------------------------- */

int sshnpd_monitor_regex(const struct sshnpd *d, char *dst, size_t size)
{
    if (!d || !dst)
        return NP_ERR_INVAL;
    if (d->cfg.policy)
        return np_str_fmt(dst, size, "(^%s|\\.%s)\\.sshnp@|\\.auth_checks\\.__rpcs", d->cfg.device,
                          d->cfg.device);
    return np_str_fmt(dst, size, "(^%s|\\.%s)\\.sshnp@", d->cfg.device, d->cfg.device);
}

int sshnpd_device_info(const struct sshnpd *d, char **out)
{
    *out = NULL;
    if (!d)
        return NP_ERR_INVAL;
    return (*out = np_strdup(d->info_json)) ? 0 : NP_ERR_NOMEM;
}

void sshnpd_get_stats(const struct sshnpd *d, struct sshnpd_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!d)
        return;
    *st = d->st;
    st->sessions_live = d->n_sessions;
    st->pending = d->n_reqs;
    st->key_fetches = sd_keycache_fetches(d->keys);
}

static int build_info(struct sshnpd *d)
{
    struct np_device_info di;
    char *services[256];
    char *modes[2] = {"payload", "escr"};
    size_t n = np_permit_count(d->permit);
    int escr = d->cfg.pkam_priv != NULL;

    if (n > 256)
        n = 256;
    memset(&di, 0, sizeof(di));
    di.devicename = (char *)d->cfg.device;
    di.device_group = (char *)d->cfg.device_group;
    di.version = (char *)d->cfg.version;
    di.core_version = (char *)d->cfg.core_version;
    di.has_features = 1;
    di.features_present = NP_FEAT__ALL;
    di.features = NP_FEAT_SR_AUTH | NP_FEAT_SR_E2EE | NP_FEAT_PORT_CHOICE | NP_FEAT_ADJ_TIMEOUT |
                  NP_FEAT_CC_HEARTBEATS | NP_FEAT_TWIN_KEYS |
                  (d->cfg.accept_pubkeys ? NP_FEAT_ACCEPTS_PUBLIC_KEYS : 0) |
                  (escr ? NP_FEAT_RAM_ESCR : 0);
    for (size_t i = 0; i < n; i++)
        services[i] = (char *)np_permit_item(d->permit, i);
    di.allowed_services = services;
    di.n_allowed = n;
    di.auth_modes = modes;
    di.n_auth_modes = escr ? 2 : 1;
    di.np_cp_version = "1.5.0";
    di.public_signing_key_uri = escr ? d->sk_uri : NULL;
    return np_device_info_to_json(&di, &d->info_json);
}

static int build_permit_text(struct sshnpd *d)
{
    struct np_buf *b = np_buf_new(64 * 1024);
    int r = NP_ERR_NOMEM;

    if (!b)
        return r;
    if (np_buf_put_u8(b, '[') != 0)
        goto out;
    for (size_t i = 0; i < np_permit_count(d->permit); i++)
        if (np_buf_putf(b, "%s%s", i ? ", " : "", np_permit_item(d->permit, i)) != 0)
            goto out;
    if (np_buf_put_u8(b, ']') != 0 || (d->permit_text = np_buf_detach(b, NULL)) == NULL)
        goto out;
    r = 0;
out:
    np_buf_free(b);
    return r;
}

int sshnpd_new(struct event_base *base, const struct sshnpd_config *cfg, const struct sshnpd_io *io,
               struct sshnpd **out, char *err, size_t errlen)
{
    struct sshnpd *d = NULL;
    const char *permit;
    int r = NP_ERR_INVAL;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!base || !cfg || !io || !io->notify || !io->fetch_key || !io->put || !io->del ||
        !cfg->atsign || !cfg->device || !cfg->enc_priv || (cfg->n_managers == 0 && !cfg->policy) ||
        cfg->local_sshd_port < 1 || cfg->local_sshd_port > 65535 || cfg->max_sessions < 1 ||
        cfg->max_pending < 1 || cfg->ssh_timeout_ms < 1 || cfg->policy_timeout_ms < 1 ||
        cfg->policy_cache_ms < 0 || cfg->device_info_ms < 1 || cfg->policy_heartbeat_ms < 1) {
        if (err && errlen)
            snprintf(err, errlen, "incomplete configuration");
        return NP_ERR_INVAL;
    }
    if ((d = np_calloc(1, sizeof(*d))) == NULL)
        return NP_ERR_NOMEM;
    d->base = base;
    d->cfg = *cfg;
    d->io = *io;
    if (!d->cfg.device_group)
        d->cfg.device_group = "__none__";
    permit = cfg->permit_csv ? cfg->permit_csv : cfg->policy ? "*:*" : NP_PERMIT_DEFAULT;
    if ((r = np_permit_parse(permit, &d->permit, err, errlen)) != 0)
        goto out;
    r = NP_ERR_TOOBIG;
    if (np_str_fmt(d->sk_uri, sizeof(d->sk_uri), "public:_apsk.%s.a.__e%s",
                   cfg->enrollment_id ? cfg->enrollment_id : "primary", cfg->atsign) != 0)
        goto out;
    if ((r = build_info(d)) != 0 || (r = build_permit_text(d)) != 0)
        goto out;
    if ((r = np_ratelimit_new(cfg->rate_per_min, cfg->rate_burst, SD_RATE_ENTRIES, &d->rate)) != 0)
        goto out;
    if ((r = sd_keycache_new(&d->io, cfg->key_cache_ms, SD_KEYS_MAX, &d->keys)) != 0)
        goto out;
    if (cfg->policy && (r = add_persist(d, &d->ev_sweep, SWEEP_MS, on_sweep_timer)) != 0)
        goto out;
    *out = d;
    d = NULL;
    r = 0;
out:
    sshnpd_free(d);
    return r;
}

void sshnpd_free(struct sshnpd *d)
{
    if (!d)
        return;
    sd_session_free_all(d);
    sd_authz_free_all(d);
    while (d->reqs)
        sd_req_free(d->reqs);
    sd_keycache_free(d->keys);
    np_ratelimit_free(d->rate);
    if (d->ev_info)
        event_free(d->ev_info);
    if (d->ev_heartbeat)
        event_free(d->ev_heartbeat);
    if (d->ev_sweep)
        event_free(d->ev_sweep);
    np_permit_free(d->permit);
    np_free(d->permit_text);
    np_free(d->info_json);
    np_free(d);
}
