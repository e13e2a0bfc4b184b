/*
 * src/srvd/auth.c - authentication of each accepted relay socket
 * (noports-wire.md 5.9, 5.10, 7.3) before it may be paired.
 *
 * Per socket, when its side must be authenticated:
 *   - first byte '{'                 -> legacy signed line (np/relay_auth.h)
 *   - silence for the detection window, or the side's mode is known to be
 *     ESCR                           -> send a fresh challenge (np/escr.h)
 *   - anything else first            -> close
 * Every socket has a deadline (auth_timeout_ms from accept) and may send at
 * most CONN_PREAUTH_MAX bytes before it is authenticated. Public keys come
 * from the key cache (asynchronous). Bytes received after the auth line are
 * kept and forwarded first once the socket is paired.
 */
#include "srvd_int.h"
#include "np/escr.h"
#include "np/relay_auth.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char side_name[2] = {'A', 'B'};

static void set_timer(struct event *ev, int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    event_add(ev, &tv);
}

static void peer_text(char *dst, size_t size, const struct sockaddr *sa)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    snprintf(dst, size, "%s:%d", host, port);
}

void conn_free(struct conn *c)
{
    struct session *s;

    if (!c)
        return;
    s = c->s;
    kc_cancel(&c->kw);
    if (c->ev_read)
        event_free(c->ev_read);
    if (c->ev_detect)
        event_free(c->ev_detect);
    if (c->ev_deadline)
        event_free(c->ev_deadline);
    if (c->fd >= 0)
        close(c->fd);
    /* out of the READY queue, if queued */
    if (c->state == CONN_READY) {
        struct conn **pp = &s->q_head[c->side], *prev = NULL;
        while (*pp && *pp != c) {
            prev = *pp;
            pp = &(*pp)->qnext;
        }
        if (*pp) {
            *pp = c->qnext;
            if (s->q_tail[c->side] == c)
                s->q_tail[c->side] = prev;
        }
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    np_free(c->challenge);
    np_escr_response_free(c->escr);
    np_memzero(c->buf, c->len);
    np_free(c);
}

/* Authentication failed or the peer went away: log, tell an ESCR peer, close. */
static void conn_fail(struct conn *c, const char *why, int r)
{
    struct relay *rl = c->s->r;

    if (r != 0)
        np_info("srvd: session %s side %c (%s): authentication failed: %s: %s", c->s->sid,
                side_name[c->side], c->peer, why, np_strerror(r));
    else
        np_info("srvd: session %s side %c (%s): authentication failed: %s", c->s->sid,
                side_name[c->side], c->peer, why);
    rl->st.auth_failed++;
    if (c->mode == NP_RELAY_AUTH_ESCR && c->challenge && c->fd >= 0)
        (void)send(c->fd, NP_ESCR_FAILED_LINE, strlen(NP_ESCR_FAILED_LINE),
                   MSG_NOSIGNAL | MSG_DONTWAIT);
    conn_free(c);
}

/* Write a short control line in one go (fresh sockets have buffer space). */
static int send_all(int fd, const char *s, size_t n)
{
    ssize_t w;

    do
        w = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    return w == (ssize_t)n ? 0 : NP_ERR_IO;
}

/* Authentication succeeded: remember the mode, queue for pairing. */
static void conn_ready(struct conn *c)
{
    struct session *s = c->s;

    if (c->ev_read)
        event_del(c->ev_read);
    if (c->ev_detect)
        event_del(c->ev_detect);
    if (c->ev_deadline)
        event_del(c->ev_deadline);
    c->state = CONN_READY;
    session_enqueue(s, c);
}

static void key_ready(struct conn *c, const struct np_rsa_key *key)
{
    struct session *s = c->s;
    struct relay *r = s->r;
    int rc;

    if (c->mode == NP_RELAY_AUTH_ESCR)
        rc = np_escr_response_verify(c->escr, key);
    else
        rc = np_relay_auth_line_verify((const char *)c->buf, c->line_len, key, s->sid,
                                       s->client_nonce, s->rvd_nonce);
    if (rc != 0) {
        conn_fail(c, c->mode == NP_RELAY_AUTH_ESCR ? "ESCR signature" : "auth line", rc);
        return;
    }
    if (c->mode == NP_RELAY_AUTH_ESCR &&
        send_all(c->fd, NP_ESCR_OK_LINE, strlen(NP_ESCR_OK_LINE)) != 0) {
        conn_fail(c, "cannot write ok", NP_ERR_IO);
        return;
    }
    r->st.auth_ok++;
    if (c->mode == NP_RELAY_AUTH_ESCR)
        r->st.auth_escr++;
    else
        r->st.auth_legacy++;
    s->mode[c->side] = c->mode; /* a side's mode is remembered (7.3) */
    np_debug("srvd: session %s side %c (%s): authenticated (%s)", s->sid, side_name[c->side],
             c->peer, np_relay_auth_mode_name((enum np_relay_auth_mode)c->mode));
    np_escr_response_free(c->escr);
    c->escr = NULL;
    conn_ready(c);
}

static void key_cb(struct kc_waiter *w, int status, const struct np_rsa_key *key)
{
    struct conn *c = (struct conn *)((char *)w - offsetof(struct conn, kw));

    if (status != 0) {
        conn_fail(c, "public key lookup", status);
        return;
    }
    key_ready(c, key);
}

static void get_key(struct conn *c, const char *uri)
{
    const struct np_rsa_key *key = NULL;
    int rc;

    c->state = CONN_WAIT_KEY;
    event_del(c->ev_read); /* nothing more is read before the verdict */
    if (c->ev_detect)
        event_del(c->ev_detect);
    rc = kc_get(c->s->r->kc, uri, &c->kw, &key);
    if (rc == NP_AGAIN)
        return;
    if (rc != 0) {
        conn_fail(c, "public key lookup", rc);
        return;
    }
    key_ready(c, key);
}

static void send_challenge(struct conn *c)
{
    int rc;

    if ((rc = np_escr_challenge_new(&c->challenge)) != 0) {
        conn_fail(c, "cannot make a challenge", rc);
        return;
    }
    {
        char line[NP_ESCR_CHALLENGE_LEN + 2];
        size_t n = strlen(c->challenge);
        memcpy(line, c->challenge, n);
        line[n] = '\n';
        c->mode = NP_RELAY_AUTH_ESCR;
        c->state = CONN_ESCR;
        if (send_all(c->fd, line, n + 1) != 0) {
            conn_fail(c, "cannot send the challenge", NP_ERR_IO);
            return;
        }
    }
    c->s->r->st.challenges++;
}

static void process_legacy(struct conn *c)
{
    char uri[NP_RELAY_FIELD_MAX + 32];
    int rc = np_relay_auth_line_find(c->buf, c->len, &c->line_len);

    if (rc == NP_AGAIN)
        return;
    if (rc != 0) {
        conn_fail(c, "auth line too long", rc);
        return;
    }
    if (!c->s->client_nonce || !c->s->rvd_nonce ||
        session_pubkey_uri(c->s, c->side, uri, sizeof(uri)) != 0) {
        conn_fail(c, "session has no nonces/atSign for legacy auth", NP_ERR_PROTO);
        return;
    }
    get_key(c, uri);
}

static void process_escr(struct conn *c)
{
    struct session *s = c->s;
    const unsigned char *nl = memchr(c->buf, '\n', c->len);
    const char *atsign = c->side == SIDE_A ? s->atsign_a : s->atsign_b;
    int rc;

    if (!nl) {
        if (c->len >= NP_ESCR_LINE_MAX || c->len >= CONN_PREAUTH_MAX)
            conn_fail(c, "ESCR response too long", NP_ERR_TOOBIG);
        return;
    }
    c->line_len = (size_t)(nl - c->buf);
    if (!s->aes_key_b64) {
        conn_fail(c, "session has no relayAuthAesKey", NP_ERR_PROTO);
        return;
    }
    rc = np_escr_response_parse((const char *)c->buf, c->line_len, s->aes_key_b64, s->sid,
                                c->challenge, c->side == SIDE_A ? 'a' : 'b', atsign, &c->escr);
    if (rc != 0) {
        conn_fail(c, "ESCR response", rc);
        return;
    }
    /* Pin the first signing key of each side so later sockets reuse it. */
    if (!s->pin_escr[c->side])
        s->pin_escr[c->side] = kc_pin(s->r->kc, np_escr_response_sk(c->escr));
    get_key(c, np_escr_response_sk(c->escr));
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    ssize_t n;
    (void)what;

    if (c->len >= sizeof(c->buf)) {
        conn_fail(c, "too many bytes before authentication", NP_ERR_TOOBIG);
        return;
    }
    n = recv(fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        conn_fail(c, "read", NP_ERR_IO);
        return;
    }
    if (n == 0) {
        conn_fail(c, "peer closed before authenticating", 0);
        return;
    }
    c->len += (size_t)n;
    switch (c->state) {
    case CONN_DETECT:
        if (c->buf[0] != '{') {
            char esc[32];
            np_log_escape(esc, sizeof(esc), c->buf, c->len < 8 ? c->len : 8);
            np_info("srvd: session %s side %c (%s): unexpected first bytes '%s'", c->s->sid,
                    side_name[c->side], c->peer, esc);
            conn_fail(c, "neither a legacy auth line nor silence for ESCR", NP_ERR_PROTO);
            return;
        }
        c->mode = NP_RELAY_AUTH_PAYLOAD;
        c->state = CONN_LEGACY;
        if (c->ev_detect)
            event_del(c->ev_detect);
        process_legacy(c);
        return;
    case CONN_LEGACY:
        process_legacy(c);
        return;
    case CONN_ESCR:
        process_escr(c);
        return;
    case CONN_WAIT_KEY:
    case CONN_READY:
        return; /* not reading in these states */
    }
}

static void on_detect(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    (void)what;

    if (c->state == CONN_DETECT && c->len == 0)
        send_challenge(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    (void)what;

    conn_fail(c, "deadline passed", NP_ERR_TIMEOUT);
}

void conn_accept(struct session *s, int side, int fd, const struct sockaddr *sa, socklen_t salen)
{
    struct relay *r = s->r;
    struct conn *c;
    char peer[64];
    (void)salen;

    r->st.sockets_accepted++;
    peer_text(peer, sizeof(peer), sa);
    if (s->closing || r->shutting_down) {
        close(fd);
        r->st.sockets_rejected++;
        return;
    }
    if (s->n_conns >= (unsigned)r->cfg.max_sockets_per_session) {
        np_warn("srvd: session %s: limit of %d sockets reached; refusing side %c connection "
                "from %s",
                s->sid, r->cfg.max_sockets_per_session, side_name[side], peer);
        close(fd);
        r->st.sockets_rejected++;
        return;
    }
    if ((c = np_calloc(1, sizeof(*c))) == NULL) {
        np_warn("srvd: session %s: out of memory; refusing a connection from %s", s->sid, peer);
        close(fd);
        r->st.sockets_rejected++;
        return;
    }
    c->s = s;
    c->side = side;
    c->fd = fd;
    c->mode = MODE_UNKNOWN;
    c->id = ++r->next_id;
    c->kw.cb = key_cb;
    memcpy(c->peer, peer, sizeof(c->peer));
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    np_debug("srvd: session %s side %c: connection from %s", s->sid, side_name[side], peer);

    if (!s->auth[side]) {
        conn_ready(c);
        return;
    }
    c->state = CONN_DETECT;
    if ((c->ev_read = event_new(r->base, fd, EV_READ | EV_PERSIST, on_read, c)) == NULL ||
        (c->ev_deadline = evtimer_new(r->base, on_deadline, c)) == NULL ||
        (c->ev_detect = evtimer_new(r->base, on_detect, c)) == NULL) {
        conn_fail(c, "out of memory", NP_ERR_NOMEM);
        return;
    }
    event_add(c->ev_read, NULL);
    set_timer(c->ev_deadline, r->cfg.auth_timeout_ms);
    if (s->mode[side] == NP_RELAY_AUTH_ESCR && s->aes_key_b64) {
        /* known ESCR side: no need to wait for the detection window */
        send_challenge(c);
        return;
    }
    /* Unknown mode: an ESCR peer stays silent; challenge it after the window.
     * Known legacy mode, or no ESCR key in the request: just wait for the line. */
    if (s->mode[side] == MODE_UNKNOWN && s->aes_key_b64)
        set_timer(c->ev_detect, r->cfg.detect_ms);
}
