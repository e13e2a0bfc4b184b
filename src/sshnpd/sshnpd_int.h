/*
 * src/sshnpd/sshnpd_int.h - what the engine's files share: the engine
 * object, a request in flight, a live session, and the small modules
 * (rate limiter, public-key cache, authorization). Private to src/sshnpd.
 *
 * A message's path: sshnpd_handle (daemon.c: dedup, type, rate limit) ->
 * sd_authz_check (authz.c: managers or the policy RPC) -> sd_req_run
 * (daemon.c: ping / sshpublickey, or session.c for ssh_request /
 * npt_request: key fetch, signature, permit-open, bridge, answer).
 */
#ifndef SSHNPD_INT_H
#define SSHNPD_INT_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "at/atsign.h"
#include "daemon.h"
#include "util/log.h"

struct event;
struct np_permit;
struct np_rsa_key;
struct np_envelope;
struct np_session_req;
struct np_bridge;
struct sd_keycache;
struct sd_keywait;
struct np_ratelimit;
struct sd_pcheck;

#define SD_DEVICE_BUF   40
#define SD_SID_MAX      64
#define SD_VALUE_MAX    (16 * 1024) /* requests are ~2 KB; bounds pending memory */
#define SD_DEDUP        128
#define SD_ID_MAX       64
#define SD_MAX_WAITERS  32 /* requests waiting on one policy check */
#define SD_MAX_PCHECKS  1024
#define SD_RATE_ENTRIES 1024
#define SD_KEYS_MAX     256

/* Message types (noports-wire.md 9.2). */
enum sd_type {
    SD_PING = 1,
    SD_SSHPUBLICKEY,
    SD_SSH_REQUEST,
    SD_NPT_REQUEST,
    SD_LEGACY /* sshd / privatekey: LEGACY reverse ssh, not served */
};

/* One authorized-or-waiting message. */
struct sd_req {
    struct sd_req *prev, *next; /* d->reqs */
    struct sd_req *wnext;       /* waiters of a policy check */
    struct sshnpd *d;
    int type;
    char type_name[32];
    char from[AT_ATSIGN_BUF];
    char *value; /* copy of the decrypted value, NUL-terminated */
    size_t len;
    /* authorization result: the client's permit-open list (NULL = "*:*") */
    struct np_permit *client_permit;
    int by_policy;
    /* session requests */
    struct np_envelope *env;
    struct np_session_req *sr;
    struct sd_keywait *kw;
    int refetched;
    int64_t rx_us; /* sd_mono_us() when sshnpd_handle received it (answer timing) */
};

/* A live session: one bridge. */
struct sd_session {
    struct sd_session *prev, *next;
    struct sshnpd *d;
    struct np_bridge *bridge;
    char sid[SD_SID_MAX + 1];
    char client[AT_ATSIGN_BUF];
    int npt;
    char target[300]; /* host:port of the local service */
    char *escr_key;   /* relayAuthAesKey (secret) */
    char *sk_uri;     /* our signing-key URI */
    int64_t started_ms;
};

struct sshnpd {
    struct event_base *base;
    struct sshnpd_config cfg;
    struct sshnpd_io io;
    struct np_permit *permit; /* the daemon's own list */
    char *permit_text;        /* "[a, b]" for error answers */
    char *info_json;          /* device info (ping answer, device_info record) */
    char sk_uri[300];         /* public:_apsk.<eid>.a.__e@<device atSign> */
    struct np_ratelimit *rate;
    struct sd_keycache *keys;
    struct sd_pcheck *pchecks; /* policy checks (cache + pending) */
    unsigned n_pchecks;
    int64_t last_req_id;
    struct sd_req *reqs; /* in flight */
    unsigned n_reqs;
    struct sd_session *sessions;
    unsigned n_sessions;
    char dedup[SD_DEDUP][SD_ID_MAX + 1];
    unsigned dedup_next;
    int64_t unauth_log_ms; /* rate limit of "not authorized" debug lines */
    uint64_t unauth_quiet;
    int connected_once;
    struct event *ev_info;      /* device_info refresh */
    struct event *ev_heartbeat; /* policy heartbeat */
    struct event *ev_sweep;     /* expire policy checks */
    struct sshnpd_stats st;
};

/* ---- daemon.c ----------------------------------------------------------- */
void sd_req_free(struct sd_req *r);
/* Authorized: run the request (consumes r). */
void sd_req_run(struct sd_req *r);
/* Send a notification through io; logs failures. */
int sd_notify(struct sshnpd *d, const char *to, const char *key, const char *value, int64_t ttl,
              int64_t ttln);

/* ---- session.c ---------------------------------------------------------- */
/* ssh_request / npt_request after authorization (consumes r). */
void sd_session_request(struct sd_req *r);
void sd_session_free_all(struct sshnpd *d);

/* ---- authz.c ------------------------------------------------------------ */
/*
 * Authorize r->from. 0: authorized now (r->client_permit set); NP_AGAIN: a
 * policy check is pending and sd_req_run(r) or sd_req_free(r) will follow;
 * NP_ERR_PERM: not authorized (caller frees r); NP_ERR_LIMIT / NP_ERR_NOMEM.
 */
int sd_authz_check(struct sshnpd *d, struct sd_req *r);
/* A notification from the policy atSign: an auth_checks response?
 * 0 handled, NP_ERR_NOTFOUND not one. */
int sd_authz_policy_response(struct sshnpd *d, const char *key, const char *value, size_t len);
/* Drop expired checks. */
void sd_authz_sweep(struct sshnpd *d);
void sd_authz_free_all(struct sshnpd *d);
/* Is the atSign one of the managers? */
int sd_is_manager(const struct sshnpd *d, const char *atsign);

/* ---- keycache.c --------------------------------------------------------- */
typedef void (*sd_key_cb)(void *arg, int status, const struct np_rsa_key *key);
int sd_keycache_new(const struct sshnpd_io *io, int ttl_ms, size_t max, struct sd_keycache **out);
void sd_keycache_free(struct sd_keycache *kc);
/*
 * Get public:publickey@atsign. 0: cached, *key set (borrowed: use it before
 * the next keycache call). NP_AGAIN: a lookup is under way (refresh = 1
 * forces a new one); cb(arg, status, key) follows once from the loop unless
 * sd_keycache_cancel(*w). Other codes: failure, cb never called.
 */
int sd_keycache_get(struct sd_keycache *kc, const char *atsign, int refresh, sd_key_cb cb,
                    void *arg, const struct np_rsa_key **key, struct sd_keywait **w);
void sd_keycache_cancel(struct sd_keywait *w);
/* Lookups started through io.fetch_key. */
uint64_t sd_keycache_fetches(const struct sd_keycache *kc);

/* Monotonic clock in microseconds (the "answered in N us" timing). */
static inline int64_t sd_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Log with the session context "session <sid> (<client>)". */
#define sd_slog(lvl, s, fmt, ...)                                                                  \
    NP_LOG_AT((lvl), NULL, "session %s (%s): " fmt, (s)->sid, (s)->client, ##__VA_ARGS__)

#endif
