/*
 * src/srvd/relay.c - the relay object, the session table and each session's
 * lifecycle: two sets of listening sockets (side A = client, side B =
 * daemon) on the bind addresses, the grace timer (noports-wire.md 7.2),
 * FIFO pairing, and the graceful shutdown.
 *
 * Sockets are accepted by libevent listeners and handed to auth.c; READY
 * sockets come back through session_enqueue() and are paired here; pairs
 * live in pump.c and report their end through session_pair_ended().
 */
#include "srvd_int.h"
#include "map.h"
#include "np/ratelimit.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define KC_MAX_ENTRIES   1024
#define RL_MAX_SENDERS   4096
#define LISTEN_BACKLOG   64
#define PORT_ATTEMPTS_OS 16
#define ACCEPT_PAUSE_MS  200

void relay_config_defaults(struct relay_config *c)
{
    memset(c, 0, sizeof(*c));
    c->manager = "open";
    c->max_sessions = 1000;
    c->max_sockets_per_session = 256;
    c->grace_ms = 30000;
    c->auth_timeout_ms = 5000;
    c->detect_ms = 500;
    c->key_cache_ms = 30000;
    c->rate_per_min = 60;
    c->rate_burst = 60;
    c->rw_buf = 64 * 1024;
}

int relay_atsign_eq(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    if (*a == '@')
        a++;
    if (*b == '@')
        b++;
    return *a && strcasecmp(a, b) == 0;
}

static int parse_bind(struct bind_addr *b, const char *text, int optional)
{
    struct addrinfo hints, *res = NULL;
    int r;

    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    if ((r = getaddrinfo(text, "0", &hints, &res)) != 0 || !res)
        return NP_ERR_INVAL;
    if (res->ai_addrlen > sizeof(b->ss)) {
        freeaddrinfo(res);
        return NP_ERR_INVAL;
    }
    memset(b, 0, sizeof(*b));
    memcpy(&b->ss, res->ai_addr, res->ai_addrlen);
    b->len = (socklen_t)res->ai_addrlen;
    b->optional = optional;
    snprintf(b->text, sizeof(b->text), "%s", text);
    freeaddrinfo(res);
    return 0;
}

int relay_new(struct event_base *base, const struct relay_config *cfg,
              const struct relay_outbox *outbox, const struct relay_keysource *keys,
              struct relay **out)
{
    struct relay *r = NULL;
    int rc = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!base || !cfg || !cfg->address || !*cfg->address || !outbox || !outbox->send || !keys ||
        !keys->fetch || cfg->n_bind > RELAY_MAX_BIND || (cfg->n_bind && !cfg->bind) ||
        cfg->port_lo < 0 || cfg->port_hi > 65535 || cfg->port_lo > cfg->port_hi ||
        (cfg->port_lo == 0) != (cfg->port_hi == 0) || cfg->max_sessions < 1 ||
        cfg->max_sockets_per_session < 2 || cfg->grace_ms < 0 || cfg->auth_timeout_ms < 1 ||
        cfg->detect_ms < 0 || cfg->rw_buf < 1024)
        return NP_ERR_INVAL;
    if ((r = np_calloc(1, sizeof(*r))) == NULL)
        return NP_ERR_NOMEM;
    r->base = base;
    r->cfg = *cfg;
    r->out = *outbox;
    r->keys = *keys;
    r->next_port = cfg->port_lo;
    rc = NP_ERR_NOMEM;
    if ((r->address = np_strdup(cfg->address)) == NULL)
        goto out;
    r->cfg.address = r->address;
    if (cfg->manager && *cfg->manager && strcasecmp(cfg->manager, "open") != 0 &&
        (r->manager = np_strdup(cfg->manager)) == NULL)
        goto out;
    r->cfg.manager = r->manager;
    r->cfg.bind = NULL;
    rc = NP_ERR_INVAL;
    if (cfg->n_bind == 0) {
        if (parse_bind(&r->bind[0], "0.0.0.0", 0) != 0 || parse_bind(&r->bind[1], "::", 1) != 0)
            goto out;
        r->n_bind = 2;
    } else {
        for (size_t i = 0; i < cfg->n_bind; i++) {
            if (!cfg->bind[i] || parse_bind(&r->bind[i], cfg->bind[i], 0) != 0) {
                np_error("srvd: bad bind address '%s'", cfg->bind[i] ? cfg->bind[i] : "(null)");
                goto out;
            }
        }
        r->n_bind = cfg->n_bind;
    }
    rc = NP_ERR_NOMEM;
    if ((r->sessions = smap_new()) == NULL ||
        (r->kc = kc_new(base, &r->keys, cfg->key_cache_ms, KC_MAX_ENTRIES, &r->st.key_fetches)) ==
            NULL ||
        np_ratelimit_new(cfg->rate_per_min, cfg->rate_burst, RL_MAX_SENDERS, &r->rl) != 0)
        goto out;
    *out = r;
    r = NULL;
    rc = 0;
out:
    relay_free(r);
    return rc;
}

void relay_free(struct relay *r)
{
    if (!r)
        return;
    r->shutdown_done = NULL; /* no callbacks while tearing down */
    while (r->s_head)
        session_close(r->s_head, "relay stopped");
    if (r->ev_shutdown)
        event_free(r->ev_shutdown);
    if (r->ev_shutdown_done)
        event_free(r->ev_shutdown_done);
    pump_pool_free(r);
    kc_free(r->kc);
    np_ratelimit_free(r->rl);
    smap_free(r->sessions);
    np_free(r->address);
    np_free(r->manager);
    np_free(r);
}

void relay_get_stats(const struct relay *r, struct relay_stats *out)
{
    if (!out)
        return;
    if (!r) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = r->st;
}

int relay_session_exists(const struct relay *r, const char *session_id)
{
    return r && session_id && smap_get(r->sessions, session_id) != NULL;
}

unsigned relay_session_count(const struct relay *r)
{
    return r ? (unsigned)smap_count(r->sessions) : 0;
}

struct session *session_find(struct relay *r, const char *sid)
{
    return smap_get(r->sessions, sid);
}

int session_pubkey_uri(const struct session *s, int side, char *dst, size_t size)
{
    const char *a = side == SIDE_A ? s->atsign_a : s->atsign_b;

    if (!a)
        return NP_ERR_INVAL;
    return np_str_fmt(dst, size, "public:publickey%s%s", a[0] == '@' ? "" : "@", a);
}

/* ---- listeners ---------------------------------------------------------- */

static void accept_cb(struct session *s, int side, evutil_socket_t fd, struct sockaddr *sa,
                      int salen)
{
    conn_accept(s, side, fd, sa, (socklen_t)salen);
}

static void accept_a(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                     void *arg)
{
    (void)l;
    accept_cb(arg, SIDE_A, fd, sa, salen);
}

static void accept_b(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                     void *arg)
{
    (void)l;
    accept_cb(arg, SIDE_B, fd, sa, salen);
}

static void lst_enable(struct session *s, int on)
{
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < s->lst[side].n; i++) {
            if (on)
                evconnlistener_enable(s->lst[side].l[i]);
            else
                evconnlistener_disable(s->lst[side].l[i]);
        }
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    lst_enable(arg, 1);
}

static void accept_error(struct evconnlistener *l, void *arg)
{
    struct session *s = arg;
    int e = EVUTIL_SOCKET_ERROR();
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    (void)l;

    np_warn("srvd: session %s: accept failed: %s", s->sid, evutil_socket_error_to_string(e));
    /* Out of descriptors: a level-triggered listener would spin; pause the
     * session's listeners briefly instead. */
    if ((e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) && s->ev_accept_pause) {
        lst_enable(s, 0);
        event_add(s->ev_accept_pause, &tv);
    }
}

/* Bind one listening socket; returns the fd, or -errno. */
static int bind_one(const struct bind_addr *b, int port)
{
    struct sockaddr_storage ss = b->ss;
    int fd, one = 1;

    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    else if (ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    else
        return -EAFNOSUPPORT;
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, b->len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int fd_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

static void lst_close(struct session_lst *l)
{
    for (size_t i = 0; i < l->n; i++)
        evconnlistener_free(l->l[i]);
    l->n = 0;
}

static int next_range_port(struct relay *r)
{
    int p = r->next_port;

    r->next_port = p >= r->cfg.port_hi ? r->cfg.port_lo : p + 1;
    return p;
}

/* Listen on every bind address with one port for side `side`. */
static int open_side(struct relay *r, struct session *s, int side)
{
    int range = r->cfg.port_lo > 0;
    int attempts = range ? r->cfg.port_hi - r->cfg.port_lo + 1 : PORT_ATTEMPTS_OS;

    for (int a = 0; a < attempts; a++) {
        int fds[RELAY_MAX_BIND];
        size_t nfd = 0;
        int want = range ? next_range_port(r) : 0;
        int port = -1, retry = 0, hard = 0;

        for (size_t i = 0; i < r->n_bind; i++) {
            int fd = bind_one(&r->bind[i], port > 0 ? port : want);
            if (fd < 0) {
                if (r->bind[i].optional && (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL))
                    continue; /* no IPv6 on this host: the default "::" is optional */
                if (fd == -EADDRINUSE || fd == -EACCES) {
                    retry = 1;
                } else {
                    np_error("srvd: cannot listen on %s: %s", r->bind[i].text, strerror(-fd));
                    hard = 1;
                }
                break;
            }
            fds[nfd++] = fd;
            if (port <= 0)
                port = fd_port(fd);
        }
        if (!retry && !hard && nfd > 0 && port > 0) {
            struct session_lst *l = &s->lst[side];
            for (size_t i = 0; i < nfd; i++) {
                l->l[i] =
                    evconnlistener_new(r->base, side == SIDE_A ? accept_a : accept_b, s,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fds[i]);
                if (!l->l[i]) {
                    for (size_t j = i; j < nfd; j++)
                        close(fds[j]);
                    lst_close(l);
                    return NP_ERR_NOMEM;
                }
                evconnlistener_set_error_cb(l->l[i], accept_error);
                l->n++;
            }
            l->port = port;
            return 0;
        }
        for (size_t i = 0; i < nfd; i++)
            close(fds[i]);
        if (hard)
            return NP_ERR_IO;
    }
    np_error("srvd: session %s: no free port%s", s->sid, range ? " in --port-range" : "");
    return NP_ERR_LIMIT;
}

/* ---- sessions ----------------------------------------------------------- */

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    (void)what;

    s->grace_expired = 1;
    if (s->n_pairs == 0)
        session_close(s, "grace period ended without a pair");
}

static void shutdown_finish(struct relay *r)
{
    if (r->shutting_down && !r->s_head && r->ev_shutdown_done &&
        !event_pending(r->ev_shutdown_done, EV_TIMEOUT, NULL))
        event_active(r->ev_shutdown_done, EV_TIMEOUT, 0);
}

int session_create(struct relay *r, const struct np_relay_request *req, const char *rvd_nonce,
                   struct session **out)
{
    struct session *s = NULL;
    struct timeval tv;
    int rc = NP_ERR_NOMEM;

    *out = NULL;
    if ((s = np_calloc(1, sizeof(*s))) == NULL)
        return NP_ERR_NOMEM;
    s->r = r;
    s->mode[0] = s->mode[1] = MODE_UNKNOWN;
    s->auth[SIDE_A] = req->authenticate_a;
    s->auth[SIDE_B] = req->authenticate_b;
    if ((s->sid = np_strdup(req->session_id)) == NULL ||
        (s->atsign_a = np_strdup(req->atsign_a)) == NULL ||
        (req->atsign_b && (s->atsign_b = np_strdup(req->atsign_b)) == NULL) ||
        (req->client_nonce && (s->client_nonce = np_strdup(req->client_nonce)) == NULL) ||
        (rvd_nonce && (s->rvd_nonce = np_strdup(rvd_nonce)) == NULL) ||
        (req->relay_auth_aes_key &&
         (s->aes_key_b64 = np_strdup(req->relay_auth_aes_key)) == NULL) ||
        (s->ev_grace = evtimer_new(r->base, grace_cb, s)) == NULL ||
        (s->ev_accept_pause = evtimer_new(r->base, accept_resume, s)) == NULL)
        goto fail;
    if ((rc = open_side(r, s, SIDE_A)) != 0 || (rc = open_side(r, s, SIDE_B)) != 0)
        goto fail;
    if ((rc = smap_put(r->sessions, s->sid, s)) != 0)
        goto fail;
    s->next = r->s_head;
    if (r->s_head)
        r->s_head->prev = s;
    r->s_head = s;
    tv.tv_sec = r->cfg.grace_ms / 1000;
    tv.tv_usec = (r->cfg.grace_ms % 1000) * 1000;
    event_add(s->ev_grace, &tv);
    /* Legacy-auth keys are fetched once per session, now (7.1). */
    for (int side = 0; side < 2; side++) {
        char uri[NP_RELAY_FIELD_MAX + 32];
        if (s->auth[side] && session_pubkey_uri(s, side, uri, sizeof(uri)) == 0)
            s->pin[side] = kc_pin(r->kc, uri);
    }
    r->st.sessions_created++;
    r->st.sessions_live++;
    *out = s;
    return 0;
fail:
    lst_close(&s->lst[SIDE_A]);
    lst_close(&s->lst[SIDE_B]);
    if (s->ev_grace)
        event_free(s->ev_grace);
    if (s->ev_accept_pause)
        event_free(s->ev_accept_pause);
    np_free(s->sid);
    np_free(s->atsign_a);
    np_free(s->atsign_b);
    np_free(s->client_nonce);
    np_free(s->rvd_nonce);
    np_freezero_str(s->aes_key_b64);
    np_free(s);
    return rc;
}

/* Stop accepting and drop every socket not yet paired. */
static void session_quiesce(struct session *s)
{
    lst_close(&s->lst[SIDE_A]);
    lst_close(&s->lst[SIDE_B]);
    while (s->conns)
        conn_free(s->conns);
}

void session_close(struct session *s, const char *why)
{
    struct relay *r = s->r;

    if (s->closing)
        return;
    s->closing = 1;
    np_info("srvd: session %s closed: %s", s->sid, why);
    session_quiesce(s);
    while (s->pairs)
        pair_close(s->pairs, "session closed");
    event_free(s->ev_grace);
    event_free(s->ev_accept_pause);
    for (int i = 0; i < 2; i++) {
        kc_unpin(r->kc, s->pin[i]);
        kc_unpin(r->kc, s->pin_escr[i]);
    }
    smap_del(r->sessions, s->sid);
    if (s->prev)
        s->prev->next = s->next;
    else
        r->s_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    r->st.sessions_closed++;
    r->st.sessions_live--;
    np_free(s->sid);
    np_free(s->atsign_a);
    np_free(s->atsign_b);
    np_free(s->client_nonce);
    np_free(s->rvd_nonce);
    np_freezero_str(s->aes_key_b64);
    np_free(s);
    if (!r->s_head) {
        /* The last session is gone: close the pooled pipes and give the
         * freed pages of its pairs back to the system, so that descriptors
         * and RSS after a peak return to the idle level (glibc keeps freed
         * heap memory otherwise). */
        pump_pool_free(r);
#ifdef __GLIBC__
        malloc_trim(0);
#endif
    }
    shutdown_finish(r);
}

void session_pair_ended(struct session *s)
{
    if (s->closing || s->n_pairs > 0)
        return;
    if (s->grace_expired)
        session_close(s, "last pair ended");
    else if (s->r->shutting_down)
        session_close(s, "relay shutting down");
}

void session_enqueue(struct session *s, struct conn *c)
{
    c->qnext = NULL;
    if (s->q_tail[c->side])
        s->q_tail[c->side]->qnext = c;
    else
        s->q_head[c->side] = c;
    s->q_tail[c->side] = c;
    /* FIFO: the oldest ready A meets the oldest ready B (7.2). */
    while (s->q_head[SIDE_A] && s->q_head[SIDE_B] && !s->closing) {
        struct conn *a = s->q_head[SIDE_A], *b = s->q_head[SIDE_B];
        s->q_head[SIDE_A] = a->qnext;
        if (!s->q_head[SIDE_A])
            s->q_tail[SIDE_A] = NULL;
        s->q_head[SIDE_B] = b->qnext;
        if (!s->q_head[SIDE_B])
            s->q_tail[SIDE_B] = NULL;
        a->qnext = b->qnext = NULL;
        if (pair_start(s, a, b) != 0) {
            np_warn("srvd: session %s: cannot start a pair (out of memory)", s->sid);
            conn_free(a);
            conn_free(b);
        }
    }
}

/* ---- shutdown ----------------------------------------------------------- */

static void shutdown_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct relay *r = arg;
    void (*done)(void *) = r->shutdown_done;
    (void)fd;
    (void)what;

    if (r->ev_shutdown)
        event_del(r->ev_shutdown);
    r->shutdown_done = NULL;
    if (done)
        done(r->shutdown_arg);
}

static void shutdown_grace_cb(evutil_socket_t fd, short what, void *arg)
{
    struct relay *r = arg;
    (void)fd;
    (void)what;

    if (r->s_head)
        np_info("srvd: shutdown grace over; closing %u live pair(s)", r->st.pairs_live);
    while (r->s_head)
        session_close(r->s_head, "relay shutting down (grace over)");
    shutdown_finish(r);
}

int relay_shutdown(struct relay *r, int grace_ms, void (*done)(void *arg), void *arg)
{
    struct timeval tv;
    struct session *s, *next;

    if (!r)
        return NP_ERR_INVAL;
    if (r->shutting_down)
        return NP_ERR_CLOSED;
    if ((r->ev_shutdown = evtimer_new(r->base, shutdown_grace_cb, r)) == NULL ||
        (r->ev_shutdown_done = event_new(r->base, -1, 0, shutdown_done_cb, r)) == NULL)
        return NP_ERR_NOMEM;
    r->shutting_down = 1;
    r->shutdown_done = done;
    r->shutdown_arg = arg;
    np_info("srvd: shutting down: listeners closed, %u live pair(s) get %d ms to finish",
            r->st.pairs_live, grace_ms);
    for (s = r->s_head; s; s = next) {
        next = s->next;
        session_quiesce(s);
        if (s->n_pairs == 0)
            session_close(s, "relay shutting down");
    }
    if (grace_ms < 0)
        grace_ms = 0;
    tv.tv_sec = grace_ms / 1000;
    tv.tv_usec = (grace_ms % 1000) * 1000;
    event_add(r->ev_shutdown, &tv);
    shutdown_finish(r);
    return 0;
}
