/*
 * tests/unit/sshnp/flow_harness.h - an in-process world for the client
 * session flow, on one libevent loop on 127.0.0.1:
 *   - the real relay engine (src/srvd, srvd_engine) with test doubles of
 *     its outbox and key source: it answers request_ports (JSON, or CSV
 *     when asked), authenticates both sides (legacy line or ESCR) and pairs;
 *   - a test double of the client's np_client_io that routes notifications
 *     to the relay and to a daemon double, and serves get (the device's
 *     public key, the username record), with every answer delivered later
 *     from the loop as a network would;
 *   - the daemon double: answers pings with a device-info JSON (features
 *     chosen by the test), checks the signed session request, makes the
 *     AES bundle (single or twin), starts a real daemon-side bridge to the
 *     relay's port B and the echo server, and answers signed - or stays
 *     silent, or answers an error text, or signs with the wrong key;
 *   - an echo server (tb_echo from tests/unit/np/test_bridge_harness.c).
 * Fixture RSA keys are generated once per process.
 */
#ifndef FLOW_HARNESS_H
#define FLOW_HARNESS_H
#include <stddef.h>
#include <stdint.h>

#include "np/bridge.h"
#include "np/client_session.h"
#include "np/messages.h"

struct event_base;
struct relay;
struct tb_echo;
struct np_rsa_key;

#define FH_CLIENT    "@alice"
#define FH_DEVICE    "@pi"
#define FH_RELAY     "@relay"
#define FH_DEV       "garage"
#define FH_USER      "pi_user"
#define FH_SK_CLIENT "public:_apsk.primary.a.__e@alice"
#define FH_SK_DEVICE "public:_apsk.primary.a.__e@pi"

struct fh_keys {
    struct np_rsa_key *client_enc, *client_pkam, *dev_enc, *dev_pkam, *other;
    char *client_enc_pub, *client_pkam_pub, *dev_enc_pub, *dev_pkam_pub, *other_pub;
};
/* The process-wide fixture keys (generated on first use). */
const struct fh_keys *fh_keys(void);

struct fh_pending; /* deferred deliveries and lookups */

struct fh {
    struct event_base *base;
    struct relay *relay;
    struct tb_echo *echo;
    struct np_client_session *s; /* the session under test (set by fh_session) */

    /* behaviour of the doubles (set before starting the session) */
    unsigned features;        /* supportedFeatures of the ping answer (NP_FEAT_*) */
    int relay_silent;         /* drop request_ports */
    int relay_csv;            /* rewrite the relay's JSON answer as CSV (BASELINE relay) */
    int relay_nack;           /* answer with a NACK instead of asking the relay */
    int relay_dup;            /* deliver a second, different answer after the first */
    int ping_silent;          /* never answer pings */
    int daemon_silent;        /* never answer session requests */
    const char *daemon_error; /* answer session requests with this text */
    int bad_sig;              /* sign answers with the wrong key */
    int dev_key_stale;        /* the first key lookup gives a wrong key (rotation) */
    int no_username;          /* the username record is missing */
    int daemon_twin;          /* give twin keys when asked */
    int delay_ms;             /* network delay of every delivery (default 1) */

    /* what the doubles saw */
    int pings, requests, pubkeys_sent, key_fetches, username_gets, scans;
    char *sshpublickey;            /* value of the last sshpublickey notification */
    struct np_session_req *req;    /* the last verified session request */
    int req_sig_ok;                /* its signature verified with the client's key */
    char *request_ports;           /* the last request_ports JSON */
    struct np_bridge *dbridge;     /* the daemon-side bridge */
    struct np_bridge_stats dstats; /* its counters when it ended (or now) */
    int dbridge_done, dbridge_reason;

    /* what the session reported */
    int ready, done;
    struct np_client_ready rinfo; /* strings not kept */
    int rport, rtwin;
    char ruser[64];
    int dstatus;
    char dmsg[256], ddetail[512], dhint[256];
    int progress_lines;
    char last_progress[512];
    int64_t t_start, t_done; /* monotonic ms */

    struct fh_pending *pending;
    int own_base;
    /* where notifications to the client go (default: h->s) */
    void (*deliver_fn)(void *data, const char *from, const char *key, const char *value,
                       size_t len);
    void *deliver_data;
};

/* Base, relay engine, echo server; defaults: features srAuth, srE2ee,
 * supportsPortChoice, adjustableTimeout; JSON relay answers. */
void fh_init(struct fh *h);
/* The same on a caller's base (not freed by fh_done). */
void fh_init_on(struct fh *h, struct event_base *base);
/* Free the session, daemon bridge, relay, echo, base (if ours). */
void fh_done(struct fh *h);
/* The client io double of this world. */
struct np_client_io fh_io(struct fh *h);

/* A config for `kind` with the world's atSigns, keys, io and events; the
 * caller changes fields, then fh_session creates and starts the session. */
void fh_config(struct fh *h, int kind, struct np_client_config *c);
/* Create and start; asserts success. */
void fh_session(struct fh *h, const struct np_client_config *c);

/* Run the loop until cond(h) or max_ms; returns 0 if cond held. */
int fh_run_until(struct fh *h, int (*cond)(struct fh *), int max_ms);
int fh_is_ready(struct fh *h);
int fh_is_done(struct fh *h);
int fh_ready_or_done(struct fh *h);

/* Relay engine counters. */
void fh_relay_stats(struct fh *h, uint64_t *auth_legacy, uint64_t *auth_escr, uint64_t *pairs);
int fh_echo_port(struct fh *h);

#endif
