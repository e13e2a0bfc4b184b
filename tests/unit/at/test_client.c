/*
 * Unit tests for the asynchronous client (lib/at/client*.c, root.c) and the
 * blocking wrapper (client_sync.c) against the scripted TLS server of
 * test_client_srv.c: PKAM (legacy and APKAM forms, signature verified),
 * prompts glued in front of answers, answers split over TLS records, both
 * error formats, deadlines, a server that closes mid-answer, oversized
 * lines, directory answers, back-off, keep-alive, and the E2E operations
 * (shared-key creation with both RSA copies, reading values shared with us,
 * self values, notify line) checked by decrypting what went on the wire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "at/client.h"
#include "at/client_sync.h"
#include "at/e2e.h"
#include "at/root.h"
#include "crypto/aes.h"
#include "crypto/atkeys.h"
#include "crypto/hash.h"
#include "crypto/rsa.h"
#include "test_client_srv.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/time.h"

#define CHALLENGE "_4af24c03-d732-48f8-a9a2-570e8fb6a01c@alice:d6cac849-9c29-42b0-b0c5-493db62728b9"

static struct ts_pki pki;
static struct ts_keys keys;

struct fx {
    struct event_base *base;
    struct tsrv *srv;
    struct at_client *c;
};

/* One operation's outcome, copied out of the callback. */
struct res {
    bool done;
    int calls;
    int err, at_code;
    bool conn_error;
    char msg[600];
    char *value;
    size_t value_len;
    char *data, *id;
    size_t n_keys;
    char keys[4][64];
    char iv[64];
};

static void on_res(struct at_client *c, const struct at_result *r, void *data)
{
    struct res *x = data;

    (void)c;
    x->done = true;
    x->calls++;
    x->err = r->err;
    x->at_code = r->at_code;
    x->conn_error = r->conn_error;
    snprintf(x->msg, sizeof(x->msg), "%s", r->message ? r->message : "");
    if (r->value) {
        x->value = malloc(r->value_len + 1);
        memcpy(x->value, r->value, r->value_len + 1);
        x->value_len = r->value_len;
    }
    if (r->data)
        x->data = strdup(r->data);
    if (r->id)
        x->id = strdup(r->id);
    if (r->md && r->md->iv_nonce)
        snprintf(x->iv, sizeof(x->iv), "%s", r->md->iv_nonce);
    x->n_keys = r->n_keys;
    for (size_t i = 0; i < r->n_keys && i < 4; i++)
        snprintf(x->keys[i], sizeof(x->keys[i]), "%s", r->keys[i]);
}

static void res_clear(struct res *x)
{
    free(x->value);
    free(x->data);
    free(x->id);
    memset(x, 0, sizeof(*x));
}

static int group_setup(void **state)
{
    (void)state;
    if (ts_pki_new(&pki) != 0 || ts_keys_new(&keys) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ts_keys_free(&keys);
    ts_pki_free(&pki);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    f->base = event_base_new();
    f->srv = tsrv_new(f->base, pki.server, true);
    if (!f->base || !f->srv)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    at_client_free(f->c);
    tsrv_free(f->srv);
    /* drain what the frees scheduled, then the loop must be empty */
    event_base_loop(f->base, EVLOOP_NONBLOCK);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void base_opts(struct fx *f, struct at_client_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->atsign = "@alice";
    o->keys = keys.alice;
    o->server_host = "127.0.0.1";
    o->server_port = tsrv_port(f->srv);
    o->tls = pki.client;
    o->connect_timeout_ms = 3000;
    o->request_timeout_ms = 3000;
}

static void new_client(struct fx *f, const struct at_client_opts *o)
{
    assert_int_equal(at_client_new(f->base, o, &f->c), 0);
}

static void auth_rules(struct tsrv *s)
{
    struct ts_rule from = {"from:@alice", {"data:" CHALLENGE "\n@"}, TS_REPLY, 0};
    struct ts_rule pkam = {"pkam:", {"data:success\n@alice@"}, TS_REPLY, 0};

    tsrv_rule(s, &from);
    tsrv_rule(s, &pkam);
}

static void rule(struct tsrv *s, const char *prefix, const char *reply)
{
    struct ts_rule r = {prefix, {reply}, TS_REPLY, 0};

    tsrv_rule(s, &r);
}

static void wait_res(struct fx *f, struct res *x, int ms)
{
    assert_true(ts_run_until(f->base, &x->done, ms));
    assert_int_equal(x->calls, 1);
}

/* The signature in "pkam:...<sig>" verifies over CHALLENGE with alice's PKAM key. */
static void check_pkam_sig(const char *line)
{
    const char *sig = strrchr(line, ':') + 1;

    assert_int_equal(
        np_rsa_verify_b64(keys.alice_pkam, NP_HASH_SHA256, CHALLENGE, strlen(CHALLENGE), sig), 0);
}

/* ------------------------------------------------------------------ */

static void test_pkam_prompts_and_get(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct res a = {0}, b = {0};

    auth_rules(f->srv);
    rule(f->srv, "llookup:all:public:x@alice",
         "data:{\"key\":\"public:x@alice\",\"data\":\"hello world\",\"metaData\":{\"ttl\":5}}\n"
         "@alice@");
    rule(f->srv, "plookup:all:loc.wavi@bob",
         "data:{\"key\":\"public:loc.wavi@bob\",\"data\":\"London\"}\n@alice@");
    base_opts(f, &o);
    new_client(f, &o);
    assert_int_equal(at_client_get(f->c, "public:x@alice", 0, on_res, &a), 0);
    assert_int_equal(at_client_get(f->c, "public:loc.wavi@bob", 0, on_res, &b), 0);
    /* never called from inside the call that queued the operation */
    assert_int_equal(a.calls + b.calls, 0);
    wait_res(f, &a, 5000);
    wait_res(f, &b, 5000);
    assert_int_equal(a.err, 0);
    assert_string_equal(a.value, "hello world");
    assert_int_equal(b.err, 0);
    assert_string_equal(b.value, "London");
    /* exact lines: the at_c-compatible legacy pkam form, then the lookups */
    assert_string_equal(tsrv_line(f->srv, 0), "from:@alice");
    assert_true(strncmp(tsrv_line(f->srv, 1), "pkam:", 5) == 0);
    assert_null(strstr(tsrv_line(f->srv, 1), "signingAlgo"));
    check_pkam_sig(tsrv_line(f->srv, 1));
    assert_string_equal(tsrv_line(f->srv, 2), "llookup:all:public:x@alice");
    assert_string_equal(tsrv_line(f->srv, 3), "plookup:all:loc.wavi@bob");
    assert_int_equal(tsrv_accepted(f->srv), 1);
    assert_true(at_client_is_ready(f->c));
    res_clear(&a);
    res_clear(&b);
}

static void test_apkam_form(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct np_atkeys k = *keys.alice;
    struct res a = {0};
    const char *l;

    k.enrollment_id = (char *)"5c2e0ab4-1111-2222-3333-444455556666";
    auth_rules(f->srv);
    rule(f->srv, "noop:0", "data:ok\n@alice@");
    base_opts(f, &o);
    o.keys = &k;
    new_client(f, &o);
    assert_int_equal(at_client_cmd(f->c, "noop:0", on_res, &a), 0);
    wait_res(f, &a, 5000);
    assert_int_equal(a.err, 0);
    assert_string_equal(a.data, "ok");
    l = tsrv_line(f->srv, 1);
    assert_non_null(l);
    assert_true(strncmp(l,
                        "pkam:signingAlgo:rsa2048:hashingAlgo:sha256:enrollmentId:"
                        "5c2e0ab4-1111-2222-3333-444455556666:",
                        93) == 0);
    check_pkam_sig(l);
    res_clear(&a);
}

/* An answer split over several TLS records, prompt separately. */
static void test_split_records(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct ts_rule split = {"llookup:all:public:big@alice",
                            {"da", "ta:{\"key\":\"public:big@alice\",\"da",
                             "ta\":\"part one, part two\"}", "\n", "@ali", "ce@"},
                            TS_REPLY,
                            0};
    struct res a = {0}, b = {0};

    auth_rules(f->srv);
    tsrv_rule(f->srv, &split);
    rule(f->srv, "scan", "data:[\"public:big@alice\",\"@bob:k.app@alice\"]\n@alice@");
    base_opts(f, &o);
    new_client(f, &o);
    assert_int_equal(at_client_get(f->c, "public:big@alice", 0, on_res, &a), 0);
    assert_int_equal(at_client_scan(f->c, ".*", false, on_res, &b), 0);
    wait_res(f, &a, 5000);
    wait_res(f, &b, 5000);
    assert_int_equal(a.err, 0);
    assert_string_equal(a.value, "part one, part two");
    /* the next answer arrives after the split prompt "@ali" "ce@" */
    assert_int_equal(b.err, 0);
    assert_int_equal(b.n_keys, 2);
    assert_string_equal(b.keys[1], "@bob:k.app@alice");
    assert_string_equal(tsrv_line(f->srv, 3), "scan .*");
    res_clear(&a);
    res_clear(&b);
}

static void test_error_formats(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct res a = {0}, b = {0}, c = {0}, d = {0};

    auth_rules(f->srv);
    rule(f->srv, "llookup:all:one@alice",
         "error:AT0015-key not found : one@alice does not exist in keystore\n@alice@");
    rule(f->srv, "llookup:all:two@alice",
         "error:{\"errorCode\":\"AT0015\",\"errorDescription\":\"key not found : two\"}\n@alice@");
    rule(f->srv, "delete:three@alice", "error:AT0009:not allowed\n@alice@");
    rule(f->srv, "delete:four@alice", "data:17\n@alice@");
    base_opts(f, &o);
    new_client(f, &o);
    assert_int_equal(at_client_get(f->c, "one", 0, on_res, &a), 0);
    assert_int_equal(at_client_get(f->c, "two@alice", 0, on_res, &b), 0);
    assert_int_equal(at_client_delete(f->c, "three", on_res, &c), 0);
    assert_int_equal(at_client_delete(f->c, "four@alice", on_res, &d), 0);
    wait_res(f, &a, 5000);
    wait_res(f, &b, 5000);
    wait_res(f, &c, 5000);
    wait_res(f, &d, 5000);
    assert_int_equal(a.err, NP_ERR_NOTFOUND);
    assert_int_equal(a.at_code, 15);
    assert_false(a.conn_error);
    assert_non_null(strstr(a.msg, "AT0015"));
    assert_non_null(strstr(a.msg, "does not exist"));
    assert_int_equal(b.err, NP_ERR_NOTFOUND);
    assert_int_equal(b.at_code, 15);
    assert_non_null(strstr(b.msg, "key not found : two"));
    assert_int_equal(c.err, NP_ERR_PERM);
    assert_int_equal(c.at_code, 9);
    assert_non_null(strstr(c.msg, "not allowed"));
    assert_int_equal(d.err, 0);
    assert_string_equal(d.data, "17");
    res_clear(&a);
    res_clear(&b);
    res_clear(&c);
    res_clear(&d);
}

/* A server that never answers: the call fails at its deadline, and the next
 * operation gets a fresh connection. */
static void test_timeout_then_reconnect(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct ts_rule silent = {"llookup:all:public:slow@alice", {NULL}, TS_SILENT, 1};
    struct res a = {0}, b = {0};
    int64_t t0, dt;

    auth_rules(f->srv);
    tsrv_rule(f->srv, &silent);
    rule(f->srv, "llookup:all:public:slow@alice",
         "data:{\"key\":\"public:slow@alice\",\"data\":\"finally\"}\n@alice@");
    base_opts(f, &o);
    o.request_timeout_ms = 600;
    new_client(f, &o);
    t0 = np_mono_ms();
    assert_int_equal(at_client_get(f->c, "public:slow@alice", 0, on_res, &a), 0);
    wait_res(f, &a, 5000);
    dt = np_mono_ms() - t0;
    assert_int_equal(a.err, NP_ERR_TIMEOUT);
    assert_true(dt >= 550 && dt < 2500);
    assert_int_equal(at_client_get(f->c, "public:slow@alice", 0, on_res, &b), 0);
    wait_res(f, &b, 5000);
    assert_int_equal(b.err, 0);
    assert_string_equal(b.value, "finally");
    assert_int_equal(tsrv_accepted(f->srv), 2);
    res_clear(&a);
    res_clear(&b);
}

static void test_close_mid_response(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct ts_rule cut = {
        "llookup:all:public:cut@alice", {"data:{\"key\":\"public:cut@al"}, TS_CLOSE, 0};
    struct res a = {0};

    auth_rules(f->srv);
    tsrv_rule(f->srv, &cut);
    base_opts(f, &o);
    new_client(f, &o);
    assert_int_equal(at_client_get(f->c, "public:cut@alice", 0, on_res, &a), 0);
    wait_res(f, &a, 5000);
    assert_int_equal(a.err, NP_ERR_EOF);
    assert_non_null(strstr(a.msg, "lost"));
    assert_null(a.value);
    res_clear(&a);
}

static void test_oversized_line(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    char *big = malloc(5000);
    struct res a = {0};

    memcpy(big, "data:", 5);
    memset(big + 5, 'A', 4000);
    memcpy(big + 4005, "\n@alice@", 9);
    auth_rules(f->srv);
    rule(f->srv, "llookup:all:public:big@alice", big);
    base_opts(f, &o);
    o.max_line = 1024;
    new_client(f, &o);
    assert_int_equal(at_client_get(f->c, "public:big@alice", 0, on_res, &a), 0);
    wait_res(f, &a, 5000);
    assert_int_equal(a.err, NP_ERR_TOOBIG);
    res_clear(&a);
    free(big);
}

static void test_auth_failure(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct res a = {0}, b = {0};

    rule(f->srv, "from:@alice", "data:" CHALLENGE "\n@");
    rule(f->srv, "pkam:", "error:AT0401-Exception: pkam authentication failed\n@");
    base_opts(f, &o);
    new_client(f, &o);
    assert_int_equal(at_client_get(f->c, "public:x@alice", 0, on_res, &a), 0);
    assert_int_equal(at_client_cmd(f->c, "noop:0", on_res, &b), 0);
    wait_res(f, &a, 5000);
    wait_res(f, &b, 5000);
    assert_int_equal(a.err, NP_ERR_AUTH);
    assert_true(a.conn_error);
    assert_non_null(strstr(a.msg, "pkam authentication failed"));
    assert_int_equal(b.err, NP_ERR_AUTH);
    assert_int_equal(tsrv_count(f->srv, "llookup"), 0);
    res_clear(&a);
    res_clear(&b);
}

/* ---- directory ---- */

struct rootres {
    bool done;
    int err, port;
    char host[300];
};

static void on_root(int err, const char *host, int port, void *data)
{
    struct rootres *x = data;

    x->done = true;
    x->err = err;
    x->port = port;
    snprintf(x->host, sizeof(x->host), "%s", host ? host : "");
}

static void test_root_answers(void **state)
{
    struct fx *f = *state;
    struct rootres a = {0}, b = {0}, c = {0};
    char host[NP_HOST_MAX + 1];
    int port;

    rule(f->srv, "alice", "vip.ve.atsign.zone:25000\r\n@");
    rule(f->srv, "nobody", "null\r\n@");
    assert_int_equal(at_root_lookup(f->base, NULL, pki.client, "127.0.0.1", tsrv_port(f->srv),
                                    "@Alice", 3000, on_root, &a, NULL),
                     0);
    assert_int_equal(at_root_lookup(f->base, NULL, pki.client, "localhost", tsrv_port(f->srv),
                                    "nobody", 3000, on_root, &b, NULL),
                     0);
    assert_false(a.done);
    assert_true(ts_run_until(f->base, &a.done, 5000));
    assert_true(ts_run_until(f->base, &b.done, 5000));
    assert_int_equal(a.err, 0);
    assert_string_equal(a.host, "vip.ve.atsign.zone");
    assert_int_equal(a.port, 25000);
    assert_int_equal(b.err, NP_ERR_NOTFOUND);
    /* the atSign goes without '@', lower-cased */
    assert_int_equal(tsrv_find(f->srv, "alice"), 0);
    /* a directory that never sends its prompt: deadline */
    tsrv_free(f->srv);
    f->srv = tsrv_new(f->base, pki.server, false);
    assert_int_equal(at_root_lookup(f->base, NULL, pki.client, "127.0.0.1", tsrv_port(f->srv),
                                    "alice", 400, on_root, &c, NULL),
                     0);
    assert_true(ts_run_until(f->base, &c.done, 5000));
    assert_int_equal(c.err, NP_ERR_TIMEOUT);
    assert_int_equal(tsrv_nlines(f->srv), 0); /* nothing sent before the prompt */
    /* the pure parser */
    assert_int_equal(at_root_parse_answer("@host.x:64\r", 11, host, &port), 0);
    assert_string_equal(host, "host.x");
    assert_int_equal(port, 64);
    assert_int_equal(at_root_parse_answer("[::1]:6464", 10, host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(at_root_parse_answer("null", 4, host, &port), NP_ERR_NOTFOUND);
    assert_int_equal(at_root_parse_answer("nonsense", 8, host, &port), NP_ERR_FORMAT);
    assert_int_equal(at_root_parse_answer("h:0", 3, host, &port), NP_ERR_FORMAT);
    assert_string_equal(host, "");
    assert_int_equal(at_root_parse_answer("", 0, host, &port), NP_ERR_FORMAT);
}

/* Directory -> atServer: the client follows the directory's answer. */
static void test_root_then_server(void **state)
{
    struct fx *f = *state;
    struct tsrv *dir = tsrv_new(f->base, pki.server, true);
    struct at_client_opts o;
    struct res a = {0}, b = {0};
    char answer[64];

    snprintf(answer, sizeof(answer), "localhost:%d\r\n@", tsrv_port(f->srv));
    rule(dir, "alice", answer);
    auth_rules(f->srv);
    rule(f->srv, "noop:0", "data:ok\n@alice@");
    base_opts(f, &o);
    o.server_host = NULL;
    o.server_port = 0;
    o.root_host = "127.0.0.1";
    o.root_port = tsrv_port(dir);
    new_client(f, &o);
    assert_int_equal(at_client_cmd(f->c, "noop:0", on_res, &a), 0);
    wait_res(f, &a, 5000);
    assert_int_equal(a.err, 0);
    assert_int_equal(tsrv_count(dir, "alice"), 1);
    at_client_free(f->c);
    f->c = NULL;
    /* unknown atSign */
    tsrv_clear_rules(dir);
    rule(dir, "alice", "null\r\n@");
    new_client(f, &o);
    assert_int_equal(at_client_cmd(f->c, "noop:0", on_res, &b), 0);
    wait_res(f, &b, 5000);
    assert_int_equal(b.err, NP_ERR_NOTFOUND);
    assert_true(b.conn_error);
    assert_non_null(strstr(b.msg, "not in the directory"));
    tsrv_free(dir);
    res_clear(&a);
    res_clear(&b);
}

/* ---- connection management ---- */

static void test_backoff_pure(void **state)
{
    (void)state;
    assert_int_equal(at_client_backoff_ms(0, 100, 1000, 12345), 0);
    for (uint32_t rnd = 0; rnd < 2000; rnd += 7) {
        int d1 = at_client_backoff_ms(1, 100, 1000, rnd);
        int d3 = at_client_backoff_ms(3, 100, 1000, rnd);
        int d30 = at_client_backoff_ms(30, 100, 1000, rnd);
        int d1000 = at_client_backoff_ms(1000, 100, 1000, rnd);
        assert_true(d1 >= 50 && d1 <= 100);
        assert_true(d3 >= 200 && d3 <= 400);
        assert_true(d30 >= 500 && d30 <= 1000);
        assert_true(d1000 >= 500 && d1000 <= 1000);
    }
    /* jitter actually varies */
    assert_int_not_equal(at_client_backoff_ms(5, 100, 1000, 0),
                         at_client_backoff_ms(5, 100, 1000, 999));
    /* defaults when given 0 */
    assert_true(at_client_backoff_ms(100, 0, 0, 1) <= AT_CLIENT_DEFAULT_BACKOFF_MAX);
}

struct evcount {
    int ready, down;
    int last_err;
};

static void on_event(struct at_client *c, enum at_client_event ev, int err, const char *msg,
                     void *data)
{
    struct evcount *e = data;

    (void)c;
    (void)msg;
    if (ev == AT_CLIENT_EV_READY)
        e->ready++;
    else
        e->down++;
    e->last_err = err;
}

/* A persistent client against a server that hangs up at once keeps trying
 * with capped, jittered delays: more attempts than uncapped doubling would
 * make, fewer than a tight loop. */
static void test_backoff_capped(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct ts_rule hangup = {"from:", {NULL}, TS_CLOSE_NOW, 0};
    struct evcount e = {0};
    int n;

    tsrv_rule(f->srv, &hangup);
    base_opts(f, &o);
    o.persistent = true;
    o.backoff_initial_ms = 50;
    o.backoff_max_ms = 200;
    new_client(f, &o);
    at_client_set_event_cb(f->c, on_event, &e);
    assert_int_equal(at_client_start(f->c), 0);
    ts_run_for(f->base, 2000);
    n = tsrv_accepted(f->srv);
    /* uncapped doubling (jittered delays >= 0,25,50,100,200,400,800 ms)
     * would allow at most 7 attempts in 2 s */
    assert_true(n >= 8);
    assert_true(n <= 40);
    assert_true(e.down >= n - 1);
    assert_int_equal(e.ready, 0);
}

static void test_keepalive(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct evcount e = {0};

    auth_rules(f->srv);
    rule(f->srv, "noop:0", "data:ok\n@alice@");
    base_opts(f, &o);
    o.persistent = true;
    o.keepalive_ms = 150;
    new_client(f, &o);
    at_client_set_event_cb(f->c, on_event, &e);
    assert_int_equal(at_client_start(f->c), 0);
    ts_run_for(f->base, 1000);
    assert_true(tsrv_count(f->srv, "noop:0") >= 3);
    assert_int_equal(e.ready, 1);
    assert_int_equal(e.down, 0);
    assert_int_equal(tsrv_accepted(f->srv), 1);
}

/* An unanswered keep-alive drops the connection and reconnects. */
static void test_keepalive_unanswered(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct ts_rule silent = {"noop:0", {NULL}, TS_SILENT, 0};
    struct evcount e = {0};

    auth_rules(f->srv);
    tsrv_rule(f->srv, &silent);
    base_opts(f, &o);
    o.persistent = true;
    o.keepalive_ms = 150;
    o.request_timeout_ms = 250;
    new_client(f, &o);
    at_client_set_event_cb(f->c, on_event, &e);
    assert_int_equal(at_client_start(f->c), 0);
    ts_run_for(f->base, 1500);
    assert_true(tsrv_accepted(f->srv) >= 2);
    assert_true(e.ready >= 2);
    assert_true(e.down >= 1);
    assert_int_equal(e.last_err == 0 || e.last_err == NP_ERR_TIMEOUT, 1);
}

/* Freeing the client completes pending operations with NP_ERR_CLOSED. */
static void test_free_pending(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct res a = {0};

    base_opts(f, &o);
    new_client(f, &o);
    assert_int_equal(at_client_cmd(f->c, "noop:0", on_res, &a), 0);
    assert_int_equal(a.calls, 0);
    at_client_free(f->c);
    f->c = NULL;
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.err, NP_ERR_CLOSED);
    /* bad arguments never call back */
    new_client(f, &o);
    assert_int_equal(at_client_get(f->c, "bad key with spaces", 0, on_res, &a), NP_ERR_INVAL);
    assert_int_equal(at_client_put(f->c, "@bob:k@carol", "v", NULL, on_res, &a), NP_ERR_INVAL);
    assert_int_equal(at_client_cmd(f->c, "two\nlines", on_res, &a), NP_ERR_INVAL);
    assert_int_equal(a.calls, 1);
    res_clear(&a);
}

/* ---- E2E ---- */

/* The value after the first space of an update line. */
static const char *update_value(const char *line)
{
    const char *sp = strchr(line, ' ');
    assert_non_null(sp);
    return sp + 1;
}

/* Extract ":ivNonce:<b64>:" from a command line into iv. */
static void get_iv(const char *line, char *iv, size_t size)
{
    const char *p = strstr(line, ":ivNonce:");
    const char *e;

    assert_non_null(p);
    p += 9;
    e = strchr(p, ':');
    assert_non_null(e);
    snprintf(iv, size, "%.*s", (int)(e - p), p);
}

static void shared_key_rules(struct fx *f, char *bob_pub_reply, size_t size)
{
    snprintf(bob_pub_reply, size, "data:%s\n@alice@", keys.bob_pub_b64);
    rule(f->srv, "llookup:shared_key.bob@alice",
         "error:AT0015-key not found : shared_key.bob@alice does not exist in keystore\n@alice@");
    rule(f->srv, "plookup:publickey@bob", bob_pub_reply);
    rule(f->srv, "update:shared_key.bob@alice ", "data:11\n@alice@");
    rule(f->srv, "update:ttr:3888000:@bob:shared_key@alice ", "data:12\n@alice@");
}

/* Both copies of a new shared key are correct, the key is created once for
 * concurrent puts, and the values decrypt with it. */
static void test_shared_put_creates_key(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct res a = {0}, b = {0};
    char reply[1024], k1[AT_E2E_KEY_B64_BUF], k2[AT_E2E_KEY_B64_BUF], iv[64];
    const char *line;
    char *plain = NULL;
    size_t n = 0;
    int i;

    auth_rules(f->srv);
    shared_key_rules(f, reply, sizeof(reply));
    rule(f->srv, "update:", "data:13\n@alice@");
    base_opts(f, &o);
    new_client(f, &o);
    assert_int_equal(at_client_put(f->c, "@bob:msg.app", "secret one", NULL, on_res, &a), 0);
    assert_int_equal(at_client_put(f->c, "@bob:other.app@alice", "secret two", NULL, on_res, &b),
                     0);
    wait_res(f, &a, 8000);
    wait_res(f, &b, 8000);
    assert_int_equal(a.err, 0);
    assert_int_equal(b.err, 0);
    assert_int_equal(tsrv_count(f->srv, "llookup:shared_key.bob@alice"), 1);
    assert_int_equal(tsrv_count(f->srv, "plookup:publickey@bob"), 1);
    assert_int_equal(tsrv_count(f->srv, "update:shared_key.bob@alice "), 1);
    assert_int_equal(tsrv_count(f->srv, "update:ttr:3888000:@bob:shared_key@alice "), 1);
    /* our copy is for our key, bob's for bob's: the same AES key */
    line = tsrv_line(f->srv, (size_t)tsrv_find(f->srv, "update:shared_key.bob@alice "));
    assert_int_equal(at_e2e_unwrap_key(keys.alice_enc, update_value(line), k1), 0);
    line = tsrv_line(f->srv, (size_t)tsrv_find(f->srv, "update:ttr:3888000:@bob:shared_key"));
    assert_int_equal(at_e2e_unwrap_key(keys.bob_enc, update_value(line), k2), 0);
    assert_string_equal(k1, k2);
    /* the values: isEncrypted + random ivNonce, decrypt with the key */
    i = tsrv_find(f->srv, "update:isEncrypted:true:ivNonce:");
    assert_true(i >= 0);
    line = tsrv_line(f->srv, (size_t)i);
    assert_non_null(strstr(line, ":@bob:msg.app@alice "));
    get_iv(line, iv, sizeof(iv));
    assert_int_equal(at_e2e_decrypt(k1, iv, update_value(line), &plain, &n), 0);
    assert_string_equal(plain, "secret one");
    np_freezero(plain, n + 1);
    res_clear(&a);
    res_clear(&b);
}

/* Read a value bob shared with us: lookup:all + lookup:shared_key@bob; then
 * with sharedKeyEnc in the metadata no key lookup is needed. */
static void test_get_shared_with_me(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct res a = {0}, b = {0};
    char *key = NULL, *wrapped = NULL, *iv = NULL, *cipher = NULL;
    char r1[2048], r2[1024], r3[2048];

    assert_int_equal(np_aes_new_key_b64(&key), 0);
    assert_int_equal(at_e2e_wrap_key(keys.alice_enc, key, &wrapped), 0);
    assert_int_equal(at_e2e_encrypt(key, "from bob", 8, &iv, &cipher), 0);
    snprintf(r1, sizeof(r1),
             "data:{\"key\":\"@alice:msg.app@bob\",\"data\":\"%s\",\"metaData\":"
             "{\"isEncrypted\":true,\"ivNonce\":\"%s\"}}\n@alice@",
             cipher, iv);
    snprintf(r2, sizeof(r2), "data:%s\n@alice@", wrapped);
    snprintf(r3, sizeof(r3),
             "data:{\"key\":\"@alice:x.app@carol\",\"data\":\"%s\",\"metaData\":"
             "{\"isEncrypted\":true,\"ivNonce\":\"%s\",\"sharedKeyEnc\":\"%s\"}}\n@alice@",
             cipher, iv, wrapped);
    auth_rules(f->srv);
    rule(f->srv, "lookup:all:msg.app@bob", r1);
    rule(f->srv, "lookup:shared_key@bob", r2);
    rule(f->srv, "lookup:all:x.app@carol", r3);
    base_opts(f, &o);
    new_client(f, &o);
    assert_int_equal(at_client_get(f->c, "msg.app@bob", 0, on_res, &a), 0);
    assert_int_equal(at_client_get(f->c, "@alice:x.app@carol", 0, on_res, &b), 0);
    wait_res(f, &a, 5000);
    wait_res(f, &b, 5000);
    assert_int_equal(a.err, 0);
    assert_string_equal(a.value, "from bob");
    assert_string_equal(a.iv, iv);
    assert_int_equal(b.err, 0);
    assert_string_equal(b.value, "from bob");
    assert_int_equal(tsrv_count(f->srv, "lookup:shared_key@bob"), 1);
    assert_int_equal(tsrv_count(f->srv, "lookup:shared_key@carol"), 0);
    np_freezero_str(key);
    np_free(wrapped);
    np_free(iv);
    np_free(cipher);
    res_clear(&a);
    res_clear(&b);
}

/* Self values: encrypted with the self-encryption key and a random IV; the
 * stored text reads back through get. */
static void test_self_roundtrip(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct res a = {0}, b = {0};
    char iv[64], reply[2048];
    const char *line;

    auth_rules(f->srv);
    rule(f->srv, "update:isEncrypted:true:ivNonce:", "data:5\n@alice@");
    base_opts(f, &o);
    new_client(f, &o);
    assert_int_equal(at_client_put(f->c, "phone.wavi", "+44 1234", NULL, on_res, &a), 0);
    wait_res(f, &a, 5000);
    assert_int_equal(a.err, 0);
    assert_string_equal(a.data, "5");
    line = tsrv_line(f->srv, (size_t)tsrv_find(f->srv, "update:"));
    assert_non_null(strstr(line, ":phone.wavi@alice "));
    assert_null(strstr(line, "+44"));
    get_iv(line, iv, sizeof(iv));
    snprintf(reply, sizeof(reply),
             "data:{\"key\":\"phone.wavi@alice\",\"data\":\"%s\",\"metaData\":{\"ivNonce\":\"%s\","
             "\"isEncrypted\":true}}\n@alice@",
             update_value(line), iv);
    rule(f->srv, "llookup:all:phone.wavi@alice", reply);
    assert_int_equal(at_client_get(f->c, "phone.wavi@alice", 0, on_res, &b), 0);
    wait_res(f, &b, 5000);
    assert_int_equal(b.err, 0);
    assert_string_equal(b.value, "+44 1234");
    res_clear(&a);
    res_clear(&b);
}

/* The NoPorts notify line, exactly; the value decrypts with the shared key,
 * and sharedKeyEnc (Dart's form, 8.4) carries that key wrapped for @bob
 * with pubKeyCS = md5hex of @bob's public key. */
static void test_notify_line(void **state)
{
    struct fx *f = *state;
    struct at_client_opts o;
    struct at_client_notify n;
    struct res a = {0};
    char reply[1024], k1[AT_E2E_KEY_B64_BUF], iv[64];
    const char *line, *v;
    char *plain = NULL;
    size_t len = 0;
    regex_t re;

    auth_rules(f->srv);
    shared_key_rules(f, reply, sizeof(reply));
    rule(f->srv, "notify:", "data:6f0c3e52-9b8a-4e9f-8d7b-0a1b2c3d4e5f\n@alice@");
    base_opts(f, &o);
    new_client(f, &o);
    memset(&n, 0, sizeof(n));
    n.to = "bob";
    n.key = "ping.dev.sshnp";
    n.value = "{\"x\":1}";
    n.id = "6f0c3e52-9b8a-4e9f-8d7b-0a1b2c3d4e5f";
    n.ttl = 10000;
    n.ttln = 60000;
    assert_int_equal(at_client_notify(f->c, &n, on_res, &a), 0);
    wait_res(f, &a, 8000);
    assert_int_equal(a.err, 0);
    assert_string_equal(a.id, "6f0c3e52-9b8a-4e9f-8d7b-0a1b2c3d4e5f");
    line = tsrv_line(f->srv, (size_t)tsrv_find(f->srv, "notify:"));
    assert_int_equal(
        regcomp(&re,
                "^notify:id:6f0c3e52-9b8a-4e9f-8d7b-0a1b2c3d4e5f:update:messageType:key:"
                "ttln:60000:ttl:10000:isEncrypted:true:sharedKeyEnc:[A-Za-z0-9+/]+=*:"
                "pubKeyCS:[0-9a-f]{32}:ivNonce:[A-Za-z0-9+/]{22}==:"
                "@bob:ping\\.dev\\.sshnp@alice:[A-Za-z0-9+/]+=*$",
                REG_EXTENDED | REG_NOSUB),
        0);
    assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
    regfree(&re);
    assert_int_equal(
        at_e2e_unwrap_key(
            keys.alice_enc,
            update_value(tsrv_line(f->srv, (size_t)tsrv_find(f->srv, "update:shared_key"))), k1),
        0);
    get_iv(line, iv, sizeof(iv));
    v = strrchr(line, ':') + 1;
    assert_int_equal(at_e2e_decrypt(k1, iv, v, &plain, &len), 0);
    assert_string_equal(plain, "{\"x\":1}");
    {
        char ske[1024], k2[AT_E2E_KEY_B64_BUF], cs[33], want[80];
        const char *p = strstr(line, ":sharedKeyEnc:") + 14, *e = strchr(p, ':');
        snprintf(ske, sizeof(ske), "%.*s", (int)(e - p), p);
        assert_int_equal(at_e2e_unwrap_key(keys.bob_enc, ske, k2), 0);
        assert_string_equal(k2, k1);
        assert_int_equal(np_md5_hex(keys.bob_pub_b64, strlen(keys.bob_pub_b64), cs), 0);
        snprintf(want, sizeof(want), ":pubKeyCS:%s:", cs);
        assert_non_null(strstr(line, want));
    }
    np_freezero(plain, len + 1);
    res_clear(&a);
}

/* The blocking wrapper: the scripted server runs on its own base in a
 * thread while at_sync blocks on its private loop. */
struct srv_thread {
    struct event_base *base;
    struct tsrv *srv;
    volatile bool stop;
    pthread_t th;
};

static void *srv_main(void *arg)
{
    struct srv_thread *t = arg;

    while (!t->stop)
        ts_run_for(t->base, 50);
    return NULL;
}

static void test_sync_wrapper(void **state)
{
    struct fx *f = *state;
    struct srv_thread t = {0};
    struct at_client_opts o;
    struct at_sync *s = NULL;
    char err[256];
    char *v = NULL, *d = NULL;
    char **ks = NULL;
    size_t n = 0;
    int r;

    t.base = event_base_new();
    t.srv = tsrv_new(t.base, pki.server, true);
    assert_non_null(t.srv);
    auth_rules(t.srv);
    rule(t.srv, "noop:0", "data:ok\n@alice@");
    rule(t.srv, "llookup:all:public:a@alice",
         "data:{\"key\":\"public:a@alice\",\"data\":\"va\"}\n@alice@");
    rule(t.srv, "llookup:all:public:gone@alice",
         "error:AT0015-key not found : public:gone@alice does not exist in keystore\n@alice@");
    rule(t.srv, "scan", "data:[\"public:a@alice\"]\n@alice@");
    rule(t.srv, "stats:3", "data: [{\"id\":\"3\",\"value\":\"7\"}]\n@alice@");
    base_opts(f, &o);
    o.server_port = tsrv_port(t.srv);
    assert_int_equal(pthread_create(&t.th, NULL, srv_main, &t), 0);
    r = at_sync_open(&o, &s, err, sizeof(err));
    if (r != 0)
        fprintf(stderr, "at_sync_open: %s\n", err);
    if (r == 0) {
        assert_int_equal(at_sync_get(s, "public:a", 0, &v, &n, NULL), 0);
        assert_string_equal(v, "va");
        assert_int_equal(n, 2);
        np_free(v);
        v = NULL;
        assert_int_equal(at_sync_get(s, "public:gone", 0, &v, &n, NULL), NP_ERR_NOTFOUND);
        assert_null(v);
        assert_int_equal(at_sync_at_code(s), 15);
        assert_false(at_sync_conn_error(s));
        assert_non_null(strstr(at_sync_error(s), "does not exist"));
        assert_int_equal(at_sync_scan(s, NULL, false, &ks, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(ks[0], "public:a@alice");
        at_sync_free_keys(ks, n);
        assert_int_equal(at_sync_cmd(s, "stats:3", &d), 0);
        assert_string_equal(d, "[{\"id\":\"3\",\"value\":\"7\"}]");
        np_free(d);
        at_sync_close(s);
    }
    t.stop = true;
    pthread_join(t.th, NULL);
    tsrv_free(t.srv);
    event_base_free(t.base);
    assert_int_equal(r, 0);
    /* nobody listening: a connection error, reported, no client */
    o.server_port = 1;
    assert_int_equal(at_sync_open(&o, &s, err, sizeof(err)), NP_ERR_CONNECT);
    assert_null(s);
    assert_non_null(strstr(err, "127.0.0.1:1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pkam_prompts_and_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apkam_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_then_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_mid_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_then_server, setup, teardown),
        cmocka_unit_test(test_backoff_pure),
        cmocka_unit_test_setup_teardown(test_backoff_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_unanswered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_put_creates_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_shared_with_me, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_wrapper, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
