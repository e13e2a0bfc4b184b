/*
 * tests/unit/at/test_client_srv.c - scripted TLS server for the client unit
 * tests (see test_client_srv.h). Test code: plain malloc is fine here.
 */
#include "test_client_srv.h"

#include "crypto/aes.h"
#include "crypto/atkeys.h"
#include "crypto/rsa.h"
#include "itest.h"
#include "net/conn.h"
#include "net/tls.h"
#include "net/listener.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

struct ts_rule_st {
    struct ts_rule r;
    int left; /* -1 unlimited */
};

struct tconn;

struct tsrv {
    struct event_base *base;
    struct net_tls_ctx *tls;
    struct net_listener *lst;
    bool greeting;
    struct ts_rule_st rules[TS_MAX_RULES];
    size_t nrules;
    char *lines[TS_MAX_LINES];
    size_t nlines;
    int accepted;
    struct tconn *conns;
};

struct tconn {
    struct tsrv *s;
    struct net_conn *c;
    struct tconn *next;
    /* delayed chunks */
    struct event *gap;
    const char *queued[TS_MAX_CHUNKS];
    size_t nq, iq;
    enum tsrv_action after;
};

static void forget(struct tsrv *s, struct tconn *t)
{
    for (struct tconn **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    if (t->gap)
        event_free(t->gap);
    free(t);
}

static void wr(struct net_conn *c, const char *p)
{
    net_conn_write(c, p, strlen(p));
}

static void c_on_connected(struct net_conn *c, void *data)
{
    struct tconn *t = data;

    if (t->s->greeting)
        wr(c, "@");
}

static void finish_action(struct tconn *t)
{
    if (t->after == TS_CLOSE) {
        net_conn_close(t->c);
    } else if (t->after == TS_CLOSE_NOW) {
        struct net_conn *c = t->c;
        forget(t->s, t);
        net_conn_free(c);
    }
}

static void gap_cb(evutil_socket_t fd, short what, void *arg)
{
    struct tconn *t = arg;

    (void)fd;
    (void)what;
    if (t->iq < t->nq) {
        wr(t->c, t->queued[t->iq++]);
        if (t->iq < t->nq) {
            struct timeval tv = {0, 60000};
            evtimer_add(t->gap, &tv);
            return;
        }
    }
    finish_action(t);
}

static void c_on_line(struct net_conn *c, char *line, size_t len, void *data)
{
    struct tconn *t = data;
    struct tsrv *s = t->s;
    struct ts_rule_st *hit = NULL;
    size_t n = 0;

    (void)len;
    if (s->nlines < TS_MAX_LINES)
        s->lines[s->nlines++] = strdup(line);
    for (size_t i = 0; i < s->nrules; i++) {
        struct ts_rule_st *r = &s->rules[i];
        if (r->left == 0)
            continue;
        if (r->r.prefix && strncmp(line, r->r.prefix, strlen(r->r.prefix)) != 0)
            continue;
        hit = r;
        break;
    }
    if (!hit) {
        fprintf(stderr, "tsrv: no rule for \"%.80s\"\n", line);
        return;
    }
    if (hit->left > 0)
        hit->left--;
    if (hit->r.action == TS_SILENT)
        return;
    if (hit->r.action == TS_CLOSE_NOW) {
        forget(s, t);
        net_conn_free(c);
        return;
    }
    while (n < TS_MAX_CHUNKS && hit->r.chunks[n])
        n++;
    t->after = hit->r.action;
    if (n > 1) {
        /* first chunk now, the others 60 ms apart: separate TLS records */
        struct timeval tv = {0, 60000};
        memcpy(t->queued, hit->r.chunks, sizeof(t->queued));
        t->nq = n;
        t->iq = 1;
        wr(c, hit->r.chunks[0]);
        evtimer_add(t->gap, &tv);
        return;
    }
    if (n == 1)
        wr(c, hit->r.chunks[0]);
    finish_action(t);
}

static void c_on_close(struct net_conn *c, int reason, void *data)
{
    struct tconn *t = data;

    (void)c;
    (void)reason;
    forget(t->s, t);
}

static void on_accept(int fd, const struct sockaddr *addr, int addrlen, void *data)
{
    static const struct net_conn_cbs cbs = {c_on_connected, c_on_line, NULL, c_on_close};
    struct tsrv *s = data;
    struct tconn *t = calloc(1, sizeof(*t));
    struct net_conn_opts o;

    (void)addr;
    (void)addrlen;
    if (!t) {
        close(fd);
        return;
    }
    memset(&o, 0, sizeof(o));
    o.max_line = 1 << 20;
    t->s = s;
    t->gap = evtimer_new(s->base, gap_cb, t);
    if (net_conn_accept(s->base, fd, s->tls, &o, &cbs, t, &t->c) != 0) {
        if (t->gap)
            event_free(t->gap);
        free(t);
        return;
    }
    s->accepted++;
    t->next = s->conns;
    s->conns = t;
}

struct tsrv *tsrv_new(struct event_base *base, struct net_tls_ctx *server_tls, bool greeting)
{
    struct tsrv *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->base = base;
    s->tls = server_tls;
    s->greeting = greeting;
    if (net_listener_new(base, "127.0.0.1", 0, on_accept, s, &s->lst) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void tsrv_close_all(struct tsrv *s)
{
    while (s->conns) {
        struct tconn *t = s->conns;
        struct net_conn *c = t->c;
        forget(s, t);
        net_conn_free(c);
    }
}

void tsrv_free(struct tsrv *s)
{
    if (!s)
        return;
    tsrv_close_all(s);
    net_listener_free(s->lst);
    for (size_t i = 0; i < s->nlines; i++)
        free(s->lines[i]);
    free(s);
}

int tsrv_port(const struct tsrv *s)
{
    return net_listener_port(s->lst);
}

void tsrv_rule(struct tsrv *s, const struct ts_rule *r)
{
    if (s->nrules >= TS_MAX_RULES)
        return;
    s->rules[s->nrules].r = *r;
    s->rules[s->nrules].left = r->uses > 0 ? r->uses : -1;
    s->nrules++;
}

void tsrv_clear_rules(struct tsrv *s)
{
    s->nrules = 0;
}

size_t tsrv_nlines(const struct tsrv *s)
{
    return s->nlines;
}

const char *tsrv_line(const struct tsrv *s, size_t i)
{
    return i < s->nlines ? s->lines[i] : NULL;
}

int tsrv_find(const struct tsrv *s, const char *prefix)
{
    for (size_t i = 0; i < s->nlines; i++)
        if (s->lines[i] && strncmp(s->lines[i], prefix, strlen(prefix)) == 0)
            return (int)i;
    return -1;
}

int tsrv_count(const struct tsrv *s, const char *prefix)
{
    int n = 0;

    for (size_t i = 0; i < s->nlines; i++)
        if (s->lines[i] && strncmp(s->lines[i], prefix, strlen(prefix)) == 0)
            n++;
    return n;
}

int tsrv_accepted(const struct tsrv *s)
{
    return s->accepted;
}

int tsrv_open_conns(const struct tsrv *s)
{
    int n = 0;

    for (struct tconn *t = s->conns; t; t = t->next)
        n++;
    return n;
}

void tsrv_push(struct tsrv *s, const char *bytes)
{
    for (struct tconn *t = s->conns; t; t = t->next)
        wr(t->c, bytes);
}

void tsrv_stop_listening(struct tsrv *s)
{
    net_listener_free(s->lst);
    s->lst = NULL;
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

bool ts_run_until(struct event_base *base, const volatile bool *flag, int ms)
{
    bool expired = false;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    struct event *t = evtimer_new(base, deadline_cb, &expired);

    evtimer_add(t, &tv);
    while (!*flag && !expired)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
    return *flag;
}

void ts_run_for(struct event_base *base, int ms)
{
    bool never = false;

    ts_run_until(base, &never, ms);
}

int ts_pki_new(struct ts_pki *p)
{
    struct net_tls_server_opts so;
    struct net_tls_client_opts co;
    char cert[700], key[700];

    memset(p, 0, sizeof(*p));
    if (itest_tmpdir("atclient", p->dir, sizeof(p->dir)) != 0 || itest_mkca(p->dir) != 0)
        return -1;
    snprintf(p->ca, sizeof(p->ca), "%s/ca.pem", p->dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", p->dir);
    snprintf(key, sizeof(key), "%s/server.key", p->dir);
    memset(&so, 0, sizeof(so));
    so.cert_file = cert;
    so.key_file = key;
    memset(&co, 0, sizeof(co));
    co.ca_file = p->ca;
    if (net_tls_server_ctx_new(&so, &p->server) != 0 ||
        net_tls_client_ctx_new(&co, &p->client) != 0)
        return -1;
    return 0;
}

void ts_pki_free(struct ts_pki *p)
{
    net_tls_ctx_free(p->server);
    net_tls_ctx_free(p->client);
    itest_rmtree(p->dir);
    memset(p, 0, sizeof(*p));
}

int ts_keys_new(struct ts_keys *k)
{
    memset(k, 0, sizeof(*k));
    if ((k->alice = calloc(1, sizeof(*k->alice))) == NULL)
        return -1;
    if (np_rsa_generate(&k->alice_pkam) != 0 || np_rsa_generate(&k->alice_enc) != 0 ||
        np_rsa_generate(&k->bob_enc) != 0)
        return -1;
    if (np_rsa_public_b64(k->alice_pkam, &k->alice->pkam_public_b64) != 0 ||
        np_rsa_private_b64(k->alice_pkam, &k->alice->pkam_private_b64) != 0 ||
        np_rsa_public_b64(k->alice_enc, &k->alice->enc_public_b64) != 0 ||
        np_rsa_private_b64(k->alice_enc, &k->alice->enc_private_b64) != 0 ||
        np_aes_new_key_b64(&k->alice->self_enc_key_b64) != 0 ||
        np_rsa_public_b64(k->bob_enc, &k->bob_pub_b64) != 0)
        return -1;
    return 0;
}

void ts_keys_free(struct ts_keys *k)
{
    np_atkeys_free(k->alice);
    np_rsa_free(k->alice_pkam);
    np_rsa_free(k->alice_enc);
    np_rsa_free(k->bob_enc);
    free(k->bob_pub_b64);
    memset(k, 0, sizeof(*k));
}
