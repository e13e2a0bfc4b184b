/*
 * tests/unit/at/test_client_srv.h - a tiny scripted TLS server for the
 * client unit tests. It is NOT an atServer: it answers each received line
 * with canned bytes chosen by prefix rules, so the tests can produce exact
 * wire situations (prompts glued to answers, answers split over several
 * TLS records, silence, mid-answer close, oversized lines, pushes).
 *
 * It runs on the same event_base as the client under test (one thread),
 * on 127.0.0.1 with a certificate from tests/integration/lib/mkca.sh.
 */
#ifndef TEST_CLIENT_SRV_H
#define TEST_CLIENT_SRV_H
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct net_tls_ctx;

enum tsrv_action {
    TS_REPLY = 0, /* write the chunks */
    TS_SILENT,    /* write nothing */
    TS_CLOSE,     /* write the chunks, then close the connection */
    TS_CLOSE_NOW  /* close without writing */
};

#define TS_MAX_CHUNKS 8

struct ts_rule {
    const char *prefix;                /* the received line starts with it; NULL = any */
    const char *chunks[TS_MAX_CHUNKS]; /* each chunk is one TLS write; NULL ends */
    enum tsrv_action action;
    int uses; /* > 0: rule is used this many times, then skipped */
};

#define TS_MAX_RULES 32
#define TS_MAX_LINES 256

struct tsrv;

/* Start listening on 127.0.0.1 (free port). greeting: send "@" on connect. */
struct tsrv *tsrv_new(struct event_base *base, struct net_tls_ctx *server_tls, bool greeting);
void tsrv_free(struct tsrv *s);
int tsrv_port(const struct tsrv *s);
/* Append a rule (copied; strings must stay alive). First matching rule wins. */
void tsrv_rule(struct tsrv *s, const struct ts_rule *r);
/* Remove all rules. */
void tsrv_clear_rules(struct tsrv *s);
/* Lines received so far (in order, across connections). */
size_t tsrv_nlines(const struct tsrv *s);
const char *tsrv_line(const struct tsrv *s, size_t i);
/* Index of the first received line starting with prefix, or -1. */
int tsrv_find(const struct tsrv *s, const char *prefix);
/* Number of received lines starting with prefix. */
int tsrv_count(const struct tsrv *s, const char *prefix);
/* Connections accepted so far / currently open. */
int tsrv_accepted(const struct tsrv *s);
int tsrv_open_conns(const struct tsrv *s);
/* Close every open connection now. */
void tsrv_close_all(struct tsrv *s);
/* Write raw bytes to every open connection (pushes). */
void tsrv_push(struct tsrv *s, const char *bytes);
/* Stop accepting (close the listener); connections stay. */
void tsrv_stop_listening(struct tsrv *s);

/* ---- shared fixtures of the client tests ---- */

struct np_atkeys;
struct np_rsa_key;

/* Throw-away PKI (mkca.sh) in a fresh temp dir: a server context and a
 * client context trusting it. Paths: dir, dir/ca.pem. 0 or -1. */
struct ts_pki {
    char dir[512];
    char ca[600];
    struct net_tls_ctx *server, *client;
};
int ts_pki_new(struct ts_pki *p);
void ts_pki_free(struct ts_pki *p);

/* Freshly generated keys: alice (PKAM + encryption + self key, as an
 * np_atkeys) and bob (encryption pair). */
struct ts_keys {
    struct np_atkeys *alice;       /* owned */
    struct np_rsa_key *alice_pkam; /* public half for verifying pkam: */
    struct np_rsa_key *alice_enc;
    struct np_rsa_key *bob_enc;
    char *bob_pub_b64;
};
int ts_keys_new(struct ts_keys *k);
void ts_keys_free(struct ts_keys *k);

/* Run base until *flag becomes true or ms pass; returns *flag. */
bool ts_run_until(struct event_base *base, const volatile bool *flag, int ms);
/* Run base for ms milliseconds. */
void ts_run_for(struct event_base *base, int ms);

#endif
