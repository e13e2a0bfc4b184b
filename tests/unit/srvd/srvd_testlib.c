/* tests/unit/srvd/srvd_testlib.c - in-process relay harness (see srvd_testlib.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "srvd_testlib.h"
#include "crypto/atkeys.h"
#include "crypto/rsa.h"
#include "np/escr.h"
#include "np/relay_auth.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- keysource double ---------------------------------------------------- */

struct fetch {
    struct fetch *next;
    struct th *t;
    struct event *ev;
    relay_key_done_fn done;
    void *arg;
    int idx; /* keys[] index or -1 */
};

static void fetch_unlink(struct th *t, struct fetch *f)
{
    struct fetch **pp = (struct fetch **)&t->fetches;

    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp)
        *pp = f->next;
    event_free(f->ev);
    np_free(f);
    t->pending_fetches--;
}

static void fetch_fire(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *f = arg;
    struct th *t = f->t;
    relay_key_done_fn done = f->done;
    void *darg = f->arg;
    int idx = f->idx;
    (void)fd;
    (void)what;

    fetch_unlink(t, f);
    if (idx >= 0 && t->keys[idx].value)
        done(darg, 0, t->keys[idx].value);
    else
        done(darg, NP_ERR_NOTFOUND, NULL);
}

static int ks_fetch(void *data, const char *uri, relay_key_done_fn done, void *arg)
{
    struct th *t = data;
    struct fetch *f = np_calloc(1, sizeof(*f));
    struct timeval tv;

    assert_non_null(f);
    f->t = t;
    f->done = done;
    f->arg = arg;
    f->idx = -1;
    for (int i = 0; i < t->n_keys; i++) {
        if (strcmp(t->keys[i].uri, uri) == 0) {
            f->idx = i;
            t->keys[i].fetches++;
        }
    }
    f->ev = evtimer_new(t->base, fetch_fire, f);
    assert_non_null(f->ev);
    tv.tv_sec = t->key_delay_ms / 1000;
    tv.tv_usec = (t->key_delay_ms % 1000) * 1000;
    evtimer_add(f->ev, &tv);
    f->next = t->fetches;
    t->fetches = f;
    t->pending_fetches++;
    return 0;
}

static void ks_cancel(void *data, void *arg)
{
    struct th *t = data;

    for (struct fetch *f = t->fetches; f; f = f->next) {
        if (f->arg == arg) {
            fetch_unlink(t, f);
            return;
        }
    }
}

void th_key_set(struct th *t, const char *uri, const char *value)
{
    for (int i = 0; i < t->n_keys; i++) {
        if (strcmp(t->keys[i].uri, uri) == 0) {
            np_free(t->keys[i].value);
            t->keys[i].value = value ? np_strdup(value) : NULL;
            return;
        }
    }
    assert_true(t->n_keys < TH_MAX_KEYS);
    t->keys[t->n_keys].uri = np_strdup(uri);
    t->keys[t->n_keys].value = value ? np_strdup(value) : NULL;
    t->keys[t->n_keys].fetches = 0;
    t->n_keys++;
}

int th_key_fetches(const struct th *t, const char *uri)
{
    for (int i = 0; i < t->n_keys; i++)
        if (strcmp(t->keys[i].uri, uri) == 0)
            return t->keys[i].fetches;
    return 0;
}

/* ---- outbox double ------------------------------------------------------- */

static int ob_send(void *data, const struct relay_notice *n)
{
    struct th *t = data;
    struct th_notice *x;

    if (t->outbox_fail)
        return NP_ERR_IO;
    assert_true(t->n_notices < TH_MAX_NOTICES);
    x = &t->notices[t->n_notices++];
    x->to = np_strdup(n->to);
    x->key = np_strdup(n->key);
    x->value = np_strdup(n->value);
    x->ttl_ms = n->ttl_ms;
    x->is_nack = n->is_nack;
    return 0;
}

struct th_notice *th_last_notice(struct th *t)
{
    return t->n_notices ? &t->notices[t->n_notices - 1] : NULL;
}

/* ---- setup --------------------------------------------------------------- */

static void load_pair(const char *file, struct np_rsa_key **enc, struct np_rsa_key **pkam,
                      char **enc_pub, char **pkam_pub)
{
    char path[1024], err[256];
    static char text[16384];
    struct np_atkeys *k = NULL;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/../shared/fixtures/official-demo-atkeys/%s", NP_SOURCE_DIR,
             file);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text), f);
    fclose(f);
    assert_int_equal(np_atkeys_parse(text, n, &k, err, sizeof(err)), 0);
    assert_int_equal(np_rsa_from_private_b64(k->enc_private_b64, enc), 0);
    assert_int_equal(np_rsa_from_private_b64(k->pkam_private_b64, pkam), 0);
    *enc_pub = np_strdup(k->enc_public_b64);
    *pkam_pub = np_strdup(k->pkam_public_b64);
    np_atkeys_free(k);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

void th_init(struct th *t)
{
    struct timeval tv = {0, 5000};

    memset(t, 0, sizeof(*t));
    signal(SIGPIPE, SIG_IGN);
    if (getenv("SRVD_TEST_DEBUG"))
        np_log_set_level(NP_LOG_DEBUG);
    else
        np_log_set_level(NP_LOG_WARN);
    t->base = event_base_new();
    assert_non_null(t->base);
    /* a periodic tick bounds every loop iteration of th_run_until */
    t->tick = event_new(t->base, -1, EV_PERSIST, tick_cb, NULL);
    assert_non_null(t->tick);
    event_add(t->tick, &tv);
    relay_config_defaults(&t->cfg);
    t->bind[0] = "127.0.0.1";
    t->cfg.bind = t->bind;
    t->cfg.n_bind = 1;
    t->cfg.address = "127.0.0.1";
    t->cfg.detect_ms = 100;
    t->cfg.auth_timeout_ms = 3000;
    t->cfg.grace_ms = 5000;
    t->cfg.rate_per_min = 0;
    t->key_delay_ms = 5;
    load_pair("alice-wrench.atKeys", &t->alice_enc, &t->alice_pkam, &t->alice_enc_pub,
              &t->alice_pkam_pub);
    load_pair("device2.atKeys", &t->dev_enc, &t->dev_pkam, &t->dev_enc_pub, &t->dev_pkam_pub);
    th_key_set(t, "public:publickey@alice", t->alice_enc_pub);
    th_key_set(t, "public:publickey@device2", t->dev_enc_pub);
    th_key_set(t, TH_SK_ALICE, t->alice_pkam_pub);
    th_key_set(t, TH_SK_DEVICE, t->dev_pkam_pub);
}

struct relay_keysource th_keysource(struct th *t)
{
    struct relay_keysource ks = {ks_fetch, ks_cancel, t};
    return ks;
}

void th_start(struct th *t)
{
    struct relay_outbox ob = {ob_send, t};
    struct relay_keysource ks = {ks_fetch, ks_cancel, t};

    assert_int_equal(relay_new(t->base, &t->cfg, &ob, &ks, &t->relay), 0);
}

void th_done(struct th *t)
{
    relay_free(t->relay);
    /* every lookup the relay started was completed or cancelled */
    assert_int_equal(t->pending_fetches, 0);
    for (int i = 0; i < t->n_notices; i++) {
        np_free(t->notices[i].to);
        np_free(t->notices[i].key);
        np_free(t->notices[i].value);
    }
    for (int i = 0; i < t->n_keys; i++) {
        np_free(t->keys[i].uri);
        np_free(t->keys[i].value);
    }
    np_rsa_free(t->alice_enc);
    np_rsa_free(t->alice_pkam);
    np_rsa_free(t->dev_enc);
    np_rsa_free(t->dev_pkam);
    np_free(t->alice_enc_pub);
    np_free(t->alice_pkam_pub);
    np_free(t->dev_enc_pub);
    np_free(t->dev_pkam_pub);
    event_free(t->tick);
    event_base_free(t->base);
}

int th_run_until(struct th *t, int (*cond)(void *), void *arg, int timeout_ms)
{
    int64_t end = np_mono_ms() + timeout_ms;

    while (!cond(arg)) {
        if (np_mono_ms() >= end)
            return cond(arg);
        event_base_loop(t->base, EVLOOP_ONCE);
    }
    return 1;
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

void th_run_for(struct th *t, int ms)
{
    th_run_until(t, never, NULL, ms);
}

int th_request(struct th *t, const char *sender, const char *atsign_a, const char *sid, int auth_a,
               int auth_b, int flags, struct th_session *out)
{
    struct np_relay_request q;
    struct np_relay_answer *a = NULL;
    char *json = NULL, key[128], cn[64];
    int n0 = t->n_notices, rc;

    memset(&q, 0, sizeof(q));
    np_time_iso_local_us(cn, sizeof(cn));
    q.session_id = (char *)sid;
    q.atsign_a = (char *)atsign_a;
    q.atsign_b = TH_DEVICE;
    q.authenticate_a = auth_a;
    q.authenticate_b = auth_b;
    q.client_nonce = cn;
    q.multiple_acks_ok = (flags & TH_REQ_ACKS) != 0;
    q.send_json_response = (flags & TH_REQ_JSON) != 0;
    q.relay_auth_aes_key = (flags & TH_REQ_ESCR) ? TH_AES_KEY : NULL;
    assert_int_equal(np_relay_request_build(&q, flags ? NP_RELAY_REQ_NEWER : 0, &json), 0);
    snprintf(key, sizeof(key), "@relay:dev1.request_ports.sshrvd%s", sender);
    rc = relay_handle_request(t->relay, sender, key, json, strlen(json));
    np_free(json);
    if (rc != 0 || !out)
        return rc;
    assert_int_equal(t->n_notices, n0 + 1);
    assert_int_equal(t->notices[n0].is_nack, 0);
    assert_int_equal(np_relay_answer_parse(t->notices[n0].value, strlen(t->notices[n0].value), &a),
                     0);
    memset(out, 0, sizeof(*out));
    snprintf(out->sid, sizeof(out->sid), "%s", sid);
    snprintf(out->client_nonce, sizeof(out->client_nonce), "%s", cn);
    out->port_a = a->port_a;
    out->port_b = a->port_b;
    snprintf(out->rvd_nonce, sizeof(out->rvd_nonce), "%s", a->rvd_nonce ? a->rvd_nonce : "");
    np_relay_answer_free(a);
    return 0;
}

/* ---- test peers ---------------------------------------------------------- */

uint64_t th_hash_update(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint32_t xs32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

uint64_t th_stream_hash(uint64_t total, uint32_t seed)
{
    uint64_t h = TH_HASH_INIT;
    uint32_t s = seed ? seed : 1;

    for (uint64_t i = 0; i < total; i++) {
        unsigned char c = (unsigned char)xs32(&s);
        h = th_hash_update(h, &c, 1);
    }
    return h;
}

static void q_reserve(struct tpeer *p, size_t more)
{
    if (p->q_off > 0 && p->q_off == p->q_len) {
        p->q_off = p->q_len = 0;
    }
    if (p->q_len + more > p->q_cap) {
        size_t cap = p->q_cap ? p->q_cap : 65536;
        while (cap < p->q_len + more)
            cap *= 2;
        p->q = np_realloc(p->q, cap);
        assert_non_null(p->q);
        p->q_cap = cap;
    }
}

static void tp_arm_write(struct tpeer *p)
{
    if (p->fd >= 0)
        event_add(p->ev_w, NULL);
}

static void on_w(evutil_socket_t fd, short what, void *arg)
{
    struct tpeer *p = arg;
    (void)what;

    p->connected = 1;
    for (int round = 0; round < 64; round++) {
        ssize_t n;
        if (p->q_off == p->q_len && p->stream_left > 0) {
            /* generate the next chunk of the stream */
            size_t chunk = p->stream_left > 65536 ? 65536 : (size_t)p->stream_left;
            q_reserve(p, chunk);
            for (size_t i = 0; i < chunk; i++)
                p->q[p->q_len + i] = (unsigned char)xs32(&p->rng);
            p->tx_hash = th_hash_update(p->tx_hash, p->q + p->q_len, chunk);
            p->tx += chunk;
            p->q_len += chunk;
            p->stream_left -= chunk;
        }
        if (p->q_off == p->q_len) {
            event_del(p->ev_w);
            if (p->shut_after && !p->shut_done) {
                shutdown(fd, SHUT_WR);
                p->shut_done = 1;
            }
            return;
        }
        n = send(fd, p->q + p->q_off, p->q_len - p->q_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p->q_off += (size_t)n;
            p->last_tx_ms = np_mono_ms();
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            p->eagain++;
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        p->err = errno;
        event_del(p->ev_w);
        return;
    }
}

static void on_r(evutil_socket_t fd, short what, void *arg)
{
    struct tpeer *p = arg;
    unsigned char buf[65536];
    (void)what;

    for (int round = 0; round < 16; round++) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n > 0) {
            size_t room = sizeof(p->head) - p->head_len;
            size_t c = (size_t)n < room ? (size_t)n : room;
            memcpy(p->head + p->head_len, buf, c);
            p->head_len += c;
            p->rx += (uint64_t)n;
            p->rx_hash = th_hash_update(p->rx_hash, buf, (size_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            p->err = errno;
        p->eof = 1;
        event_del(p->ev_r);
        return;
    }
}

struct tpeer *tp_connect(struct th *t, int port)
{
    struct tpeer *p = np_calloc(1, sizeof(*p));
    struct sockaddr_in sin;
    int rc;

    assert_non_null(p);
    p->t = t;
    p->tx_hash = p->rx_hash = TH_HASH_INIT;
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(p->fd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(p->fd, (struct sockaddr *)&sin, sizeof(sin));
    assert_true(rc == 0 || errno == EINPROGRESS);
    p->ev_r = event_new(t->base, p->fd, EV_READ | EV_PERSIST, on_r, p);
    p->ev_w = event_new(t->base, p->fd, EV_WRITE | EV_PERSIST, on_w, p);
    assert_non_null(p->ev_r);
    assert_non_null(p->ev_w);
    event_add(p->ev_r, NULL);
    event_add(p->ev_w, NULL);
    return p;
}

void tp_free(struct tpeer *p)
{
    if (!p)
        return;
    event_free(p->ev_r);
    event_free(p->ev_w);
    if (p->fd >= 0)
        close(p->fd);
    np_free(p->q);
    np_free(p);
}

void tp_send(struct tpeer *p, const void *data, size_t len, int hashed)
{
    q_reserve(p, len);
    memcpy(p->q + p->q_len, data, len);
    p->q_len += len;
    if (hashed) {
        p->tx_hash = th_hash_update(p->tx_hash, data, len);
        p->tx += len;
    }
    tp_arm_write(p);
}

void tp_stream(struct tpeer *p, uint64_t total, uint32_t seed)
{
    p->stream_left += total;
    p->rng = seed ? seed : 1;
    tp_arm_write(p);
}

void tp_shutdown_after(struct tpeer *p)
{
    p->shut_after = 1;
    tp_arm_write(p);
}

void tp_pause(struct tpeer *p, int paused)
{
    p->paused = paused;
    if (p->eof)
        return;
    if (paused)
        event_del(p->ev_r);
    else
        event_add(p->ev_r, NULL);
}

void tp_reset_rx(struct tpeer *p)
{
    p->rx = 0;
    p->rx_hash = TH_HASH_INIT;
    p->head_len = 0;
}

int tp_sent_all(const struct tpeer *p)
{
    return p->q_off == p->q_len && p->stream_left == 0;
}

static int has_line(void *arg)
{
    struct tpeer *p = arg;
    return memchr(p->head, '\n', p->head_len) != NULL || p->eof;
}

int tp_wait_line(struct tpeer *p, char *line, size_t size, int timeout_ms)
{
    unsigned char *nl;
    size_t n;

    if (!th_run_until(p->t, has_line, p, timeout_ms))
        return NP_ERR_TIMEOUT;
    nl = memchr(p->head, '\n', p->head_len);
    if (!nl)
        return NP_ERR_EOF;
    n = (size_t)(nl - p->head);
    if (n + 1 > size)
        return NP_ERR_TOOBIG;
    memcpy(line, p->head, n);
    line[n] = '\0';
    /* consume the line from head */
    memmove(p->head, nl + 1, p->head_len - n - 1);
    p->head_len -= n + 1;
    return 0;
}

static int is_eof(void *arg)
{
    return ((struct tpeer *)arg)->eof;
}

int tp_wait_eof(struct tpeer *p, int timeout_ms)
{
    return th_run_until(p->t, is_eof, p, timeout_ms);
}

struct rxwait {
    struct tpeer *p;
    uint64_t n;
};

static int rx_reached(void *arg)
{
    struct rxwait *w = arg;
    return w->p->rx >= w->n || w->p->eof;
}

int tp_wait_rx(struct tpeer *p, uint64_t n, int timeout_ms)
{
    struct rxwait w = {p, n};
    th_run_until(p->t, rx_reached, &w, timeout_ms);
    return p->rx >= n;
}

/* ---- auth helpers -------------------------------------------------------- */

char *th_auth_line(struct th *t, int side_b, const struct th_session *s, size_t *len)
{
    char *line = NULL;

    assert_int_equal(np_relay_auth_line_build(side_b ? t->dev_enc : t->alice_enc, s->sid,
                                              s->client_nonce, s->rvd_nonce, &line, len),
                     0);
    return line;
}

char *th_escr_line(struct th *t, char side, const struct np_rsa_key *pkam, const char *sk,
                   const char *sid, const char *challenge, size_t *len)
{
    char *line = NULL;
    (void)t;

    assert_int_equal(np_escr_response_build(pkam, sk, sid, challenge, side, TH_AES_KEY, &line, len),
                     0);
    return line;
}

int th_port_closed(int port)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc, e;

    assert_true(fd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
    e = errno;
    close(fd);
    return rc != 0 && e == ECONNREFUSED;
}
