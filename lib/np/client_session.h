/*
 * lib/np/client_session.h - one sshnp / npt session as a state machine on the
 * caller's libevent loop (noports-wire.md 6.1, 6.4, 6.7, 13).
 *
 * The session does not speak the atProtocol. The program connects it to
 * its at client through two boundaries, so that unit tests can run the
 * whole flow in-process against a test double playing daemon and relay:
 *   - input:  np_client_session_notification() with every decrypted
 *             notification the monitor delivers (the session picks its own);
 *   - output: struct np_client_io (send a notification, get a record).
 *
 * Flow (every step reported through events.progress):
 *   start   ping the daemon (ping.<device>.sshnp); sshnp without -u: get
 *           the username record; sshnp -s: send sshpublickey; send
 *           request_ports to the relay (JSON, sendJsonResponse and
 *           multipleAcksOk true); get public:publickey@<device>; generate
 *           the ephemeral RSA-2048 session key pair (next loop turn; or take
 *           config.eph_key, made before connecting).
 *   wait    the relay answer (CSV or JSON; the first answer wins; a NACK
 *           ends the session), the ping answer (feature check), the user
 *           name. The relay is awaited first: relay_timeout (20 s) ->
 *           "Connection timeout to srvd <@relay> service"; then the ping
 *           (ping_timeout from start, 20 s) -> "Daemon feature check timed
 *           out"; a required feature missing -> "This device daemon does not
 *           <description>".
 *   request ssh_request / npt_request signed with our encryption key, with
 *           twinKeys when the daemon advertises them; answer_timeout (15 s)
 *           -> "No response from the device daemon". A plain-text answer ->
 *           "Received error response from the device daemon" (the daemon's
 *           text is the detail).
 *   answer  verify the envelope with public:publickey@<device> (on failure
 *           the key is fetched again, bypassing caches, and checked once
 *           more), check status and session id, unwrap the AES bundle (single
 *           or twin) with the ephemeral private key.
 *   ready   start the bridge (np/bridge.h): client side, 127.0.0.1 (or
 *           local_host), single (sshnp) or multi (npt), relay port A, our
 *           relay authentication (see below), the session keys; heartbeats
 *           only to daemons advertising controlChannelHeartbeats. Or, with
 *           stdio_fd >= 0, no listener: that socket is the one connection.
 *           events.ready reports the port.
 *   end     the bridge ends -> events.done(status 0 for a normal end).
 *
 * Relay authentication of our socket (policy, documented in
 * docs/internals/client-flow.md): by default the legacy signed line (5.9),
 * which BASELINE and NEWER relays accept. With relay_auth_mode ESCR we send
 * relayAuthAesKey to the relay and the daemon and answer the relay's
 * challenge (5.10); this needs a relay whose answer says
 * autoDetectsRelayAuth (else the session fails with a clear message) and a
 * published signing-key record (sk_uri). The daemon's side uses ESCR only
 * when it advertises supportsRamEscr, else its legacy line.
 *
 * events.done is called exactly once per started session (never from inside
 * np_client_session_start or _notification; always from its own loop
 * callback), and events.ready at most once before it. events.progress is
 * called synchronously from any of them. The session may be
 * freed from inside done (and ready). Everything runs on one thread.
 */
#ifndef NP_NP_CLIENT_SESSION_H
#define NP_NP_CLIENT_SESSION_H
#include <stddef.h>
#include <stdint.h>

#include "np/bridge.h"

struct event_base;
struct evdns_base;
struct np_rsa_key;
struct np_client_session;

/* Completion of a get: status 0 and the value (borrowed for the call), or a
 * negative NP_ERR_* (NP_ERR_NOTFOUND: no such record) and NULL. */
typedef void (*np_client_get_fn)(void *arg, int status, const char *value, size_t len);
/* Completion of a scan: status 0 and n key names (borrowed for the call). */
typedef void (*np_client_scan_fn)(void *arg, int status, const char *const *keys, size_t n);

/*
 * What the session (and np/client_list.h) needs from the atProtocol client.
 * notify: send an encrypted notification to `to` ("@bob") with record name
 *   `key` (namespace included, without "@to:" and "@me", e.g.
 *   "ping.garage.sshnp", "garage.request_ports.sshrvd"), value text, record
 *   ttl (0 = none), ttln 60 s. Fire and forget: returns 0 once queued, or a
 *   negative code; must not call back into the session.
 * get: look up `key` ("public:publickey@bob", "@me:username.dev.sshnp@bob");
 *   bypass = 1 skips caches. done(arg, ...) is called exactly once, later,
 *   from the loop; a non-zero return means it will not be.
 * scan: list keys matching `regex` shared with us (list-devices); same rules.
 * cancel: withdraw every pending get/scan made with `arg` (their done is
 *   then never called). May be NULL only if gets never outlive the session.
 */
struct np_client_io {
    int (*notify)(void *data, const char *to, const char *key, const char *value, int64_t ttl_ms);
    int (*get)(void *data, const char *key, int bypass, np_client_get_fn done, void *arg);
    int (*scan)(void *data, const char *regex, np_client_scan_fn done, void *arg);
    void (*cancel)(void *data, void *arg);
    void *data;
};

/* What events.ready reports (borrowed for the call). */
struct np_client_ready {
    int local_port;          /* bound port (0 with stdio) */
    const char *local_host;  /* listen address */
    const char *remote_user; /* sshnp: -u or the username record; npt: NULL */
    const char *session_id;
    const char *relay_host; /* relay address and port A from its answer */
    int relay_port;
    int twin_keys; /* 1 when the daemon sent C2D/D2C bundles */
};

struct np_client_events {
    /* One progress step (level NP_LOG_INFO) or detail (NP_LOG_DEBUG). */
    void (*progress)(void *data, int level, const char *msg);
    /* The local side is up (listener bound, or the stdio socket bridged). */
    void (*ready)(struct np_client_session *s, const struct np_client_ready *r, void *data);
    /*
     * The session is over. status 0: it ran and ended normally (message says
     * how). Negative NP_ERR_*: it failed; message is the user-facing error
     * (the texts of noports-wire.md 10 where they apply), detail the
     * peer's text or technical cause (may be ""), hint what to check.
     */
    void (*done)(struct np_client_session *s, int status, const char *message, const char *detail,
                 const char *hint, void *data);
    void *data;
};

#define NP_CLIENT_RELAY_TIMEOUT_MS  20000
#define NP_CLIENT_PING_TIMEOUT_MS   20000
#define NP_CLIENT_ANSWER_TIMEOUT_MS 15000
#define NP_CLIENT_SSH_BRIDGE_MS     30000 /* sshnp: the local port waits this long for ssh */
#define NP_CLIENT_NPT_DEFAULT_MS    30000 /* npt timeout that needs no adjustableTimeout */

struct np_client_config {
    int kind; /* NP_PROG_SSHNP or NP_PROG_NPT (np/client_opts.h) */
    const char *client_atsign, *device_atsign, *relay_atsign; /* normalised "@x" */
    const char *device;                                       /* normalised device name */
    /* our encryption key pair (signs the request and the relay line);
     * borrowed, must outlive the session */
    const struct np_rsa_key *enc_key;
    int authenticate_client;           /* relay authenticates our socket (default 1) */
    int authenticate_device;           /* ... and the daemon's (default 1) */
    int relay_auth_mode;               /* enum np_relay_auth_mode for our socket */
    const struct np_rsa_key *pkam_key; /* ESCR: our PKAM private key (borrowed) */
    const char *sk_uri;                /* ESCR: public:_apsk.<eid>.a.__e@<client> */
    /* sshnp */
    const char *remote_user;    /* NULL: the daemon's username record */
    const char *ssh_public_key; /* -s: the line to send, NULL: none */
    /* npt */
    const char *remote_host; /* default "localhost" */
    int remote_port;
    int64_t npt_timeout_ms; /* idle timeout for both ends (default 30000) */
    int heartbeat_ms;       /* control heartbeats if the daemon accepts them; 0 = never */
    /* local side */
    const char *local_host; /* NULL: 127.0.0.1 */
    int local_port;         /* 0: the OS chooses */
    int stdio_fd;           /* >= 0: bridge this socket instead of listening (owned by the
                             * session once np_client_session_new succeeds) */
    /* optional: the ephemeral RSA-2048 session key pair, made before the at
     * client connected (generating it takes from 0.1 s to many seconds of CPU
     * and blocks the loop; on a busy machine that pushes the atServer
     * connection past its deadlines). Owned by the session once
     * np_client_session_new succeeds. NULL: generated on the loop right
     * after the first sends. */
    struct np_rsa_key *eph_key;
    /* optional, when eph_key is NULL: lets the caller make the key on
     * another thread while the session connects and waits for its first
     * answers, without ever blocking the loop. Called after the ping and
     * relay request went out and again after each
     * np_client_session_eph_ready(): returns 0 with *key (the session owns
     * it), NP_AGAIN while the key is still being made (the caller then calls
     * np_client_session_eph_ready() once it is), or any other error (the
     * session makes a key itself on the loop). */
    int (*eph_take)(void *data, struct np_rsa_key **key);
    void *eph_take_data;
    /* timeouts; 0 = the defaults above */
    int relay_timeout_ms, ping_timeout_ms, answer_timeout_ms, bridge_timeout_ms;
    struct evdns_base *dns; /* optional, for relay host names */
    struct np_client_io io;
    struct np_client_events ev;
};

/* Fill *c with defaults (authentication on, payload mode, stdio_fd -1). */
void np_client_config_init(struct np_client_config *c);

/*
 * Create a session on base; the config's strings are copied (keys and io are
 * borrowed). Nothing is sent until np_client_session_start. Errors:
 * NP_ERR_INVAL (missing atSigns/device/key/io/done, bad kind or port),
 * NP_ERR_UNSUPPORTED (ESCR without pkam_key/sk_uri), NP_ERR_NOMEM.
 */
int np_client_session_new(struct event_base *base, const struct np_client_config *c,
                          struct np_client_session **out);

/*
 * Send the first messages and arm the timers. Errors (the session is then
 * not started and done will not be called): NP_ERR_CLOSED (started
 * before), the io's notify error, NP_ERR_NOMEM, NP_ERR_CRYPTO.
 */
int np_client_session_start(struct np_client_session *s);

/*
 * Feed one decrypted notification (from, key as received, value). Returns 0
 * when it was this session's, NP_ERR_NOTFOUND when not (the caller may
 * offer it elsewhere). Never calls events.ready or events.done directly
 * (events.progress may be called).
 */
int np_client_session_notification(struct np_client_session *s, const char *from, const char *key,
                                   const char *value, size_t len);

/* The session id (lower-case UUID v4), fixed at creation. */
/* The caller's key thread (np_client_config.eph_take) has finished: the
 * session takes the key at once (from the loop, never blocking). Safe to
 * call in any state; does nothing once the session has its key. */
void np_client_session_eph_ready(struct np_client_session *s);
const char *np_client_session_id(const struct np_client_session *s);
/* The bridge's counters (zeros before ready). */
void np_client_session_stats(const struct np_client_session *s, struct np_bridge_stats *st);

/* Stop everything (no callbacks afterwards) and free; pending gets are
 * cancelled through io.cancel. NULL-safe; callable from events.done. */
void np_client_session_free(struct np_client_session *s);

/* Text of a required feature for "This device daemon does not <text>". */
const char *np_client_feature_text(unsigned feature);

#endif
