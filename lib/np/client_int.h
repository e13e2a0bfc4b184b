/*
 * lib/np/client_int.h - what client_session.c (flow, notifications,
 * timers, reports), client_answer.c (session request, daemon answer, bridge)
 * and client_stdio.c share. Private to lib/np.
 *
 * Invariant: once state is CS_DONE (or a done report is pending) nothing is
 * sent and every input is ignored; the session object itself is freed only
 * by np_client_session_free.
 */
#ifndef NP_NP_CLIENT_INT_H
#define NP_NP_CLIENT_INT_H
#include <stddef.h>
#include <stdint.h>

#include "crypto/rand.h"
#include "np/client_session.h"

struct event;
struct np_bridge;
struct np_device_info;
struct np_relay_answer;

enum np_client_state {
    CS_NEW = 0,   /* created, not started */
    CS_WAIT,      /* ping, relay request (and user name) out; waiting */
    CS_REQUESTED, /* session request sent; waiting for the daemon */
    CS_READY,     /* bridge up */
    CS_DONE       /* finished (report pending or delivered) */
};

#define CS_MSG_MAX    256
#define CS_DETAIL_MAX 512
#define CS_VALUE_MAX  (64 * 1024) /* largest notification value we look at */
#define CS_USER_MAX   64

struct np_client_session {
    struct event_base *base;
    int kind, npt;
    char *client, *device_at, *relay, *device;
    const struct np_rsa_key *enc_key, *pkam_key;
    char *sk_uri;
    int auth_client, auth_device, relay_auth_mode;
    char *remote_user, *ssh_public_key, *remote_host, *local_host;
    int remote_port, heartbeat_ms, local_port;
    int stdio_fd; /* the stdio socket until the bridge takes it, else -1 */
    int stdio;    /* stdio mode (no listener) */
    int64_t npt_timeout_ms;
    int relay_timeout_ms, ping_timeout_ms, answer_timeout_ms, bridge_timeout_ms;
    struct evdns_base *dns;
    struct np_client_io io;
    struct np_client_events ev;

    int state;
    char sid[NP_UUID_STR_LEN + 1];
    char client_nonce[32];
    char *escr_key_b64;                                   /* relayAuthAesKey when ESCR (secret) */
    struct np_rsa_key *eph;                               /* ephemeral session key pair */
    int (*eph_take)(void *data, struct np_rsa_key **key); /* np_client_config.eph_take */
    void *eph_take_data;
    int keygen_armed; /* the first sends went out: the key may be taken */
    struct np_relay_answer *relay_ans;
    struct np_device_info *info;
    int ping_timed_out;
    int gets;                   /* gets in flight (for cancel) */
    struct np_rsa_key *dev_pub; /* public:publickey@<device> */
    int key_err;                /* 0 pending or have; < 0 lookup failed */
    int key_refetched;          /* fetched again after a failed verification */
    char *answer;               /* the daemon's answer, waiting for the key */
    size_t answer_len;
    int daemon_escr; /* the daemon's side uses ESCR */
    int twin;        /* the answer carried twin keys */
    struct np_bridge *bridge;
    struct np_bridge_stats st_end; /* the bridge's counters when it ended */
    struct event *relay_timer, *ping_timer, *answer_timer, *keygen_ev, *report_ev;
    /* deferred reports */
    int ready_pending, done_pending;
    int done_status;
    char msg[CS_MSG_MAX], detail[CS_DETAIL_MAX], hint[CS_MSG_MAX];
};

/* Report progress (printf-style) at level NP_LOG_INFO / NP_LOG_DEBUG. */
void np_client__progress(struct np_client_session *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* End the session: stop timers and lookups, close the bridge, and report
 * done(status, msg, detail, hint) from a fresh loop callback. Ignored once
 * finishing. detail may be NULL. */
void np_client__fail(struct np_client_session *s, int status, const char *msg, const char *detail,
                     const char *hint);

/* Schedule the ready report. */
void np_client__report_ready(struct np_client_session *s);

/* client_recv.c: send the session request once the relay, the ping answer,
 * the user name and the ephemeral key are all there (or report the ping
 * timeout once the relay has answered). */
void np_client__maybe_request(struct np_client_session *s);
/* client_recv.c: a remote user name we accept (1) or not (0): 1..64 of
 * [A-Za-z0-9._@\\$-], not starting with '-' (it becomes an ssh argument). */
int np_client__valid_user(const char *u);

/* client_answer.c: build, sign and send the session request (state ->
 * CS_REQUESTED); failures end the session. */
void np_client__send_request(struct np_client_session *s);
/* client_answer.c: the stashed answer (s->answer) with s->dev_pub present. */
void np_client__handle_answer(struct np_client_session *s);
/* client_recv.c: ask for the daemon's username record shared with us. */
int np_client__fetch_user(struct np_client_session *s);
/* client_recv.c: ask for public:publickey@<device> (bypass caches). */
int np_client__fetch_key(struct np_client_session *s, int bypass);

/* client_stdio.c: make the already bound client bridge `b` use socket fd
 * (owned by the callee in every case) as its one connection and stop
 * listening. */
int np_client__bridge_adopt(struct np_bridge *b, int fd);

#endif
