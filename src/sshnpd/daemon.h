/*
 * src/sshnpd/daemon.h - the sshnpd engine (noports-wire.md section 9): it
 * consumes decrypted notifications addressed to the device and produces
 * actions through a small interface, so that it runs the same in the program
 * (src/sshnpd/atglue.c implements the interface with the lib/at client) and
 * in the unit tests (a test double, real bridges, real local sockets).
 *
 *   glue --sshnpd_handle(id, from, key, value)--> engine
 *   engine --io.notify(to, key, value, ttl, ttln)--> glue   (answers, heartbeats, RPCs)
 *   engine --io.fetch_key(@x, done, arg)--> glue            (public:publickey@x)
 *   engine --io.put / io.del(atKey ...)--> glue             (username, device_info, _apsk)
 *   glue --sshnpd_connected()--> engine                     (after every (re)connect)
 *
 * Every message is authorized before anything else (managers, or the policy
 * service's auth_checks RPC); unauthorized senders get no answer at all.
 * Sessions are np_bridge objects on the caller's libevent loop: no threads,
 * no child processes, no blocking calls (host names resolve through the
 * configured evdns_base).
 *
 * The program must ignore SIGPIPE (the bridges write to sockets).
 */
#ifndef SSHNPD_DAEMON_H
#define SSHNPD_DAEMON_H
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evdns_base;
struct np_rsa_key;
struct sshnpd;

/* A record the engine wants written (borrowed for the duration of put()). */
struct sshnpd_record {
    const char *atkey; /* full key: "@mgr:username.dev.sshnp@device" or "public:x@device" */
    const char *value;
    int64_t ttl_ms; /* 0 = none */
    int64_t ttr;    /* -1 = cache forever, 0 = none */
    int ccd;        /* cascade delete */
};

/* Completion of a public-key fetch: status 0 with value (B64 SPKI, borrowed
 * for the call) or a negative NP_ERR_* code and NULL. */
typedef void (*sshnpd_key_done_fn)(void *arg, int status, const char *value);

/*
 * The action interface. Each function must not call back into the engine.
 * - notify: queue an encrypted notification to `to` ("@alice") with record
 *   name `key` (namespace included, e.g. "heartbeat.garage.sshnp"), value,
 *   ttl_ms (0 = none) and ttln_ms; 0 or a negative NP_ERR_* code.
 * - fetch_key: start a lookup of public:publickey@<atsign> that bypasses
 *   any cache of the glue (the engine keeps its own); done(arg, ...) is then
 *   called exactly once, later, from the event loop. A non-zero return means
 *   done will not be called.
 * - cancel_fetch: done must not be called for arg afterwards.
 * - put / del: write or delete a record (fire and forget; failures are the
 *   glue's to log). The engine repeats them after every reconnect.
 */
struct sshnpd_io {
    int (*notify)(void *data, const char *to, const char *key, const char *value, int64_t ttl_ms,
                  int64_t ttln_ms);
    int (*fetch_key)(void *data, const char *atsign, sshnpd_key_done_fn done, void *arg);
    void (*cancel_fetch)(void *data, void *arg);
    int (*put)(void *data, const struct sshnpd_record *rec);
    int (*del)(void *data, const char *atkey);
    void *data;
};

/* Engine settings; sshnpd_config_defaults fills every field. Strings and
 * keys are borrowed and must outlive the engine. */
struct sshnpd_config {
    const char *atsign;       /* "@device" (normalised), required */
    const char *device;       /* normalised device name, required */
    const char *device_group; /* --device-group, default "__none__" */
    const char *const *managers;
    size_t n_managers;         /* normalised "@x" atSigns */
    const char *policy;        /* --policy-manager "@p" or NULL */
    const char *permit_csv;    /* --permit-open list; NULL = default (or *:* with a policy) */
    int local_sshd_port;       /* 22 */
    int accept_pubkeys;        /* -s */
    const char *pubkey_perm;   /* -S prefix or NULL */
    const char *authkeys_path; /* authorized_keys; NULL = $HOME/.ssh/authorized_keys */
    int hide;                  /* --hide: delete username/device_info instead */
    const char *username;      /* shared as username.<device>; NULL = not shared */
    const char *version;       /* "version" in device info */
    const char *core_version;  /* "corePackageVersion" */
    const struct np_rsa_key *enc_priv;  /* encryption private key: signs answers, auth lines */
    const struct np_rsa_key *pkam_priv; /* PKAM private key: ESCR (NULL = no ESCR) */
    const char *pkam_public_b64; /* published as the ESCR signing key (NULL = not published) */
    const char *enrollment_id;   /* APKAM enrollment id; NULL = "primary" */
    struct evdns_base *dns;      /* resolver for relay and npt host names (NULL = blocking) */
    int max_sessions;            /* live sessions at most (default 64) */
    int max_pending;             /* requests waiting for authorization or keys (default 256) */
    int rate_per_min;            /* messages per sender per minute (default 60; 0 = off) */
    int rate_burst;              /* token bucket size (default 60) */
    int ssh_timeout_ms;          /* ssh bridge timeout (60000) */
    int policy_timeout_ms;       /* auth_checks answer deadline (10000) */
    int policy_cache_ms;         /* auth_checks result lifetime per client (15000) */
    int key_cache_ms;            /* public-key cache lifetime (3600000) */
    int device_info_ms;          /* device_info refresh (3600000) */
    int policy_heartbeat_ms;     /* heartbeat to the policy (300000) */
};

void sshnpd_config_defaults(struct sshnpd_config *c);

/* Counters for logs and tests. */
struct sshnpd_stats {
    uint64_t received;      /* notifications handed to sshnpd_handle */
    uint64_t ignored;       /* not for us / unknown type / duplicate / undecryptable */
    uint64_t duplicates;    /* of which repeated notification ids */
    uint64_t rate_limited;  /* dropped by the per-sender limit */
    uint64_t unauthorized;  /* dropped: sender not authorized (no answer) */
    uint64_t authorized;    /* passed authorization */
    uint64_t policy_checks; /* auth_checks RPCs sent */
    uint64_t pings;         /* heartbeats sent */
    uint64_t pubkeys_added; /* sshpublickey lines appended */
    uint64_t requests;      /* ssh_request + npt_request handled after authorization */
    uint64_t key_fetches;   /* public-key lookups started */
    uint64_t errors_sent;   /* plain-text error answers */
    uint64_t sessions_started;
    uint64_t sessions_ended;
    unsigned sessions_live;
    unsigned pending; /* requests waiting for the policy or a key */
};

/*
 * New engine on `base` (borrowed). cfg is copied (strings it points to are
 * borrowed); io is copied. Parses the permit-open list (NP_ERR_FORMAT with
 * the bad item in err[errlen]) and checks the config (NP_ERR_INVAL).
 * Nothing is sent until sshnpd_connected. *out is set only on success.
 */
int sshnpd_new(struct event_base *base, const struct sshnpd_config *cfg, const struct sshnpd_io *io,
               struct sshnpd **out, char *err, size_t errlen);

/* End every session and pending request at once and free (NULL-safe).
 * Cancels outstanding key fetches. Call from outside engine callbacks. */
void sshnpd_free(struct sshnpd *d);

/*
 * One decrypted notification received by the device atSign. id is the
 * notification id (used to drop duplicates; "-1" stats pings are ignored),
 * from the sender atSign, key the key as received
 * ("@device:ping.garage.sshnp@alice"), value[0..len) the decrypted value
 * (NULL = could not be decrypted: ignored).
 * Returns 0 when the message was accepted for processing (answers may follow
 * later), else why not: NP_ERR_NOTFOUND (not a message for this device /
 * unknown type), NP_ERR_EXISTS (duplicate id), NP_ERR_LIMIT (rate limit or
 * too many pending requests), NP_ERR_PERM (not authorized: nothing is ever
 * sent back), NP_ERR_FORMAT (bad sender or value), NP_ERR_NOMEM.
 * Policy responses (auth_checks from the policy atSign) are handled here too.
 */
int sshnpd_handle(struct sshnpd *d, const char *id, const char *from, const char *key,
                  const char *value, size_t len);

/* The command connection is (again) available: write (or delete, with
 * --hide) username/device_info for every manager, publish the ESCR signing
 * key, and send the policy heartbeat. Timers repeat device_info hourly and
 * the heartbeat every 5 minutes while the engine lives. */
void sshnpd_connected(struct sshnpd *d);

/* Monitor regex for this device: `(^<device>|\.<device>)\.sshnp@`, plus the
 * auth_checks responses when a policy is configured. */
int sshnpd_monitor_regex(const struct sshnpd *d, char *dst, size_t size);

/* The device-info JSON (ping answer) into a new string *out (np_free). */
int sshnpd_device_info(const struct sshnpd *d, char **out);

void sshnpd_get_stats(const struct sshnpd *d, struct sshnpd_stats *st);

#endif
