/*
 * src/srvd/srvd_int.h - the relay engine's internal objects, shared by the
 * files of src/srvd only (relay.c, auth.c, pump.c, request.c).
 *
 * Ownership tree: relay -> sessions (map by id + list) -> for each session
 * its listeners, its sockets still authenticating or waiting for a partner
 * (struct conn), and its pairs (struct pair). A conn becomes part of a pair
 * when paired (its fd and any bytes it read past the auth line move into the
 * pair); a pair ends by closing both fds. Closing a session closes all of it.
 *
 * Re-entrancy rule: a function that may free its object (conn_fail,
 * pair_close, session_close) is the last thing a callback does with it.
 */
#ifndef SRVD_SRVD_INT_H
#define SRVD_SRVD_INT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "keycache.h"
#include "relay.h"

struct event;
struct evconnlistener;
struct np_escr_response;
struct np_relay_request;
struct np_rsa_key;
struct smap;
struct np_ratelimit;

#define SIDE_A       0 /* client */
#define SIDE_B       1 /* daemon */
#define MODE_UNKNOWN (-1)

/* Most addresses one session side listens on (e.g. 0.0.0.0 and ::). */
#define RELAY_MAX_BIND 8
/* Bytes a socket may send before it is authenticated (legacy and ESCR). */
#define CONN_PREAUTH_MAX 4096
/* Empty splice pipes kept for reuse by the next busy direction (pump.c). */
#define RELAY_PIPE_POOL 64
/* New splice pipes are enlarged to RELAY_PIPE_SIZE bytes (F_SETPIPE_SZ)
 * while fewer than RELAY_BIG_PIPES pipes exist; the rest keep the default
 * size (pump.c says why). */
#define RELAY_PIPE_SIZE (1024 * 1024)
#define RELAY_BIG_PIPES 32
/* Longest session id we accept: ids become parts of atProtocol keys. */
#define RELAY_SID_MAX 64

enum conn_state {
    CONN_DETECT,   /* waiting for the first byte or the detection window */
    CONN_LEGACY,   /* reading the legacy auth line */
    CONN_ESCR,     /* challenge sent, reading the response */
    CONN_WAIT_KEY, /* line complete, waiting for the public key */
    CONN_READY     /* authenticated (or no auth needed), queued for pairing */
};

struct session;

struct conn {
    struct session *s;
    struct conn *prev, *next; /* session's conns list (all states) */
    struct conn *qnext;       /* READY queue of its side (FIFO) */
    int side;
    int fd;
    enum conn_state state;
    int mode; /* NP_RELAY_AUTH_* once decided, else MODE_UNKNOWN */
    uint64_t id;
    struct event *ev_read;
    struct event *ev_detect;
    struct event *ev_deadline;
    unsigned char buf[CONN_PREAUTH_MAX];
    size_t len;      /* bytes in buf */
    size_t line_len; /* auth line length (without '\n') once found */
    char *challenge;
    struct np_escr_response *escr;
    struct kc_waiter kw;
    char peer[64]; /* "addr:port" for logs */
};

/* One direction of a pair: bytes from fd[src] to fd[1 - src]. */
struct pump_dir {
    int src;            /* 0 (A->B) or 1 (B->A) */
    int pipe[2];        /* splice pipe, -1 when not used */
    size_t in_pipe;     /* bytes in the pipe */
    unsigned char *pre; /* bytes read during auth, forwarded first */
    size_t pre_len, pre_off;
    unsigned char *buf; /* read/write fallback buffer */
    size_t buf_len, buf_off;
    int use_rw; /* fallback mode */
    int eof;    /* source sent FIN */
    int done;   /* FIN forwarded (shutdown(SHUT_WR) on dst) */
};

struct pair;
struct pair_end {
    struct pair *p;
    int i;
};

struct pair {
    struct session *s;
    struct pair *prev, *next;
    int fd[2];
    struct event *ev_rd[2]; /* readable fd[i]: direction i has input */
    struct event *ev_wr[2]; /* writable fd[i]: direction 1-i can output */
    struct pump_dir d[2];
    struct pair_end end[2];
    uint64_t id;
};

struct session_lst {
    struct evconnlistener *l[RELAY_MAX_BIND];
    size_t n;
    int port;
};

struct session {
    struct relay *r;
    struct session *prev, *next;
    char *sid;
    char *atsign_a;
    char *atsign_b;     /* NULL for legacy requests */
    char *client_nonce; /* NULL for legacy requests */
    char *rvd_nonce;    /* NULL for legacy requests */
    char *aes_key_b64;  /* relayAuthAesKey or NULL (wiped on free) */
    int auth[2];        /* authenticate side A / B */
    int mode[2];        /* known auth mode per side, or MODE_UNKNOWN */
    struct session_lst lst[2];
    struct event *ev_grace;
    struct event *ev_accept_pause; /* re-enables listeners after EMFILE */
    int grace_expired;
    struct conn *conns; /* every conn not yet paired */
    struct conn *q_head[2], *q_tail[2];
    unsigned n_conns; /* sockets alive: conns + 2 per pair */
    struct pair *pairs;
    unsigned n_pairs;
    struct kc_entry *pin[2];      /* public:publickey@A / @B (legacy auth) */
    struct kc_entry *pin_escr[2]; /* first ESCR signing key seen per side */
    int closing;
};

struct bind_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int optional; /* default "::" may be missing */
    char text[64];
};

struct relay {
    struct event_base *base;
    struct relay_config cfg;
    char *address;
    char *manager; /* NULL = open */
    struct bind_addr bind[RELAY_MAX_BIND];
    size_t n_bind;
    struct relay_outbox out;
    struct relay_keysource keys;
    struct keycache *kc;
    struct np_ratelimit *rl;
    struct smap *sessions;
    struct session *s_head;
    struct relay_stats st;
    int pipe_pool[RELAY_PIPE_POOL][2]; /* idle empty splice pipes (pump.c) */
    size_t n_pipe_pool;
    int n_pipes;   /* splice pipes open (in use and pooled) */
    int next_port; /* cursor in the port range */
    uint64_t next_id;
    int shutting_down;
    struct event *ev_shutdown;      /* grace timer of relay_shutdown */
    struct event *ev_shutdown_done; /* deferred done() call */
    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
};

/* relay.c */
int session_create(struct relay *r, const struct np_relay_request *req, const char *rvd_nonce,
                   struct session **out);
void session_close(struct session *s, const char *why);
struct session *session_find(struct relay *r, const char *sid);
/* A pair of the session ended (called by pair_close). */
void session_pair_ended(struct session *s);
/* Queue a READY conn on its side and pair the oldest A with the oldest B
 * while both queues are non-empty. */
void session_enqueue(struct session *s, struct conn *c);
/* "public:publickey@<atSign>" for a side into dst. */
int session_pubkey_uri(const struct session *s, int side, char *dst, size_t size);
int relay_atsign_eq(const char *a, const char *b);

/* auth.c */
/* Take an accepted socket on side `side` of s (fd is owned from here on). */
void conn_accept(struct session *s, int side, int fd, const struct sockaddr *sa, socklen_t salen);
/* Close and free a conn that is not part of a pair (no reason logged). */
void conn_free(struct conn *c);

/* pump.c */
/* Join the two oldest READY conns into a pair and start moving bytes. */
int pair_start(struct session *s, struct conn *a, struct conn *b);
/* Close both sockets of the pair and free it. */
void pair_close(struct pair *p, const char *why);
/* Close the relay's pooled pipes (relay_free). */
void pump_pool_free(struct relay *r);

#endif
