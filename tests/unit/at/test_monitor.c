/*
 * Unit tests for lib/at/monitor*.c: the id set, the resume point, and a
 * monitor against the scripted TLS server (test_client_srv.c): stats pings
 * skipped, duplicates dropped, arrival order kept, reconnection after a
 * drop or an unanswered noop resuming from the last epochMillis with every
 * notification handed over exactly once, decryption with the sender's key
 * (fetched once on the command connection, or from sharedKeyEnc),
 * shared_key records left alone, undecryptable values reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "at/client.h"
#include "at/e2e.h"
#include "at/monitor.h"
#include "crypto/aes.h"
#include "crypto/atkeys.h"
#include "test_client_srv.h"
#include "util/alloc.h"
#include "util/err.h"

#define CHALLENGE "_0b1c@alice:9d8e7f"

static struct ts_pki pki;
static struct ts_keys keys;

struct got {
    int n;
    char id[16][64];
    char value[16][256];
    bool has_value[16];
    bool has_raw[16];
    int decrypt_err[16];
    int64_t epoch[16];
    int connected, disconnected;
    bool free_in_cb;
    int want;
    bool enough;
};

struct fx {
    struct event_base *base;
    struct tsrv *srv;
    struct at_client *c;
    struct at_monitor *m;
    struct got g;
};

static void on_note(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    struct fx *f = data;
    struct got *g = &f->g;

    if (g->n < 16) {
        snprintf(g->id[g->n], sizeof(g->id[0]), "%s", n->id);
        g->has_value[g->n] = n->value != NULL;
        if (n->value)
            snprintf(g->value[g->n], sizeof(g->value[0]), "%.*s", (int)n->value_len, n->value);
        g->has_raw[g->n] = n->raw_value != NULL;
        g->decrypt_err[g->n] = n->decrypt_err;
        g->epoch[g->n] = n->epoch_ms;
    }
    g->n++;
    if (g->n >= g->want)
        g->enough = true;
    if (g->free_in_cb) {
        at_monitor_free(m);
        f->m = NULL;
    }
}

static void on_status(struct at_monitor *m, int connected, int err, const char *msg, void *data)
{
    struct fx *f = data;

    (void)m;
    (void)err;
    (void)msg;
    if (connected)
        f->g.connected++;
    else
        f->g.disconnected++;
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
    struct at_client_opts o;

    f->base = event_base_new();
    f->srv = tsrv_new(f->base, pki.server, true);
    if (!f->base || !f->srv)
        return -1;
    memset(&o, 0, sizeof(o));
    o.atsign = "@alice";
    o.keys = keys.alice;
    o.server_host = "127.0.0.1";
    o.server_port = tsrv_port(f->srv);
    o.tls = pki.client;
    o.connect_timeout_ms = 3000;
    o.request_timeout_ms = 3000;
    o.backoff_initial_ms = 50;
    o.backoff_max_ms = 200;
    if (at_client_new(f->base, &o, &f->c) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    at_monitor_free(f->m);
    at_client_free(f->c);
    tsrv_free(f->srv);
    event_base_loop(f->base, EVLOOP_NONBLOCK);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void rule(struct tsrv *s, const char *prefix, const char *reply, int uses)
{
    struct ts_rule r = {prefix, {reply}, TS_REPLY, uses};

    tsrv_rule(s, &r);
}

static void auth_rules(struct tsrv *s)
{
    rule(s, "from:@alice", "data:" CHALLENGE "\n@", 0);
    rule(s, "pkam:", "data:success\n@alice@", 0);
    rule(s, "noop:0", "data:ok\n@alice@", 0);
}

/* A pushed line. md: JSON object text or "null". */
static char *note(const char *id, const char *from, const char *key, const char *value,
                  int64_t epoch, bool enc, const char *md)
{
    char *s = malloc(4096);
    char v[1024];

    if (value)
        snprintf(v, sizeof(v), "\"%s\"", value);
    else
        snprintf(v, sizeof(v), "null");
    snprintf(s, 4096,
             "notification: {\"id\":\"%s\",\"from\":\"%s\",\"to\":\"@alice\",\"key\":\"%s\","
             "\"value\":%s,\"operation\":\"update\",\"epochMillis\":%" PRId64
             ",\"messageType\":\"MessageType.key\",\"isEncrypted\":%s,\"metadata\":%s}\n",
             id, from, key, v, epoch, enc ? "true" : "false", md);
    return s;
}

static void start(struct fx *f, const char *regex, int keepalive_ms)
{
    struct at_monitor_opts o;

    memset(&o, 0, sizeof(o));
    o.regex = regex;
    o.since_epoch_ms = -1;
    o.keepalive_ms = keepalive_ms;
    assert_int_equal(at_monitor_start(f->c, &o, on_note, on_status, f, &f->m), 0);
    assert_int_equal(f->g.n + f->g.connected, 0);
}

/* ------------------------------------------------------------------ */

static void test_idset(void **state)
{
    struct at_idset *s = at_idset_new(3);
    char id[32];

    (void)state;
    assert_non_null(s);
    assert_int_equal(at_idset_check_add(s, "a"), 0);
    assert_int_equal(at_idset_check_add(s, "b"), 0);
    assert_int_equal(at_idset_check_add(s, "c"), 0);
    assert_int_equal(at_idset_check_add(s, "a"), 1);
    assert_int_equal(at_idset_count(s), 3);
    assert_int_equal(at_idset_check_add(s, "d"), 0); /* evicts a, the oldest */
    assert_false(at_idset_contains(s, "a"));
    assert_true(at_idset_contains(s, "b"));
    assert_true(at_idset_contains(s, "d"));
    assert_int_equal(at_idset_count(s), 3);
    assert_int_equal(at_idset_check_add(s, NULL), NP_ERR_INVAL);
    at_idset_free(s);
    s = at_idset_new(1000);
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        assert_int_equal(at_idset_check_add(s, id), 0);
    }
    assert_int_equal(at_idset_count(s), 1000);
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        assert_int_equal(at_idset_contains(s, id), i >= 4000);
    }
    at_idset_free(s);
    assert_null(at_idset_new(0));
    at_idset_free(NULL);
}

static void test_resume_epoch(void **state)
{
    (void)state;
    /* nothing seen, live only, first start */
    assert_int_equal(at_monitor_resume_epoch(-1, 0, 0), -1);
    /* nothing seen: the requested replay point */
    assert_int_equal(at_monitor_resume_epoch(500, 0, 0), 500);
    assert_int_equal(at_monitor_resume_epoch(0, 0, 0), 0);
    /* reconnect before anything arrived: the first start's time */
    assert_int_equal(at_monitor_resume_epoch(-1, 1700000000000, 0), 1700000000000);
    /* after notifications: one millisecond before the newest */
    assert_int_equal(at_monitor_resume_epoch(-1, 1700000000000, 1729730000123), 1729730000122);
    assert_int_equal(at_monitor_resume_epoch(500, 1700000000000, 2000), 1999);
}

/* Stats skipped, duplicates dropped, order kept; after the server drops the
 * connection the monitor resumes at last-1 and nothing is handed twice. */
static void test_dedup_and_resume(void **state)
{
    struct fx *f = *state;
    char *stats = note("-1", "@alice", "statsNotification.@alice", "42", 900, false, "null");
    char *n1 = note("n1", "@bob", "@alice:a.demo@bob", "v1", 1000, false, "null");
    char *n2 = note("n2", "@bob", "@alice:b.demo@bob", "v2", 2000, false, "null");
    char *n3 = note("n3", "@bob", "@alice:c.demo@bob", "v3", 3000, false, "null");
    struct ts_rule first = {"monitor", {stats, n1, n1, n2}, TS_REPLY, 1};
    struct ts_rule again = {"monitor", {n2, n3}, TS_REPLY, 0};
    int i;

    auth_rules(f->srv);
    tsrv_rule(f->srv, &first);
    tsrv_rule(f->srv, &again);
    start(f, ".*\\.demo", 10000);
    f->g.want = 2;
    assert_true(ts_run_until(f->base, &f->g.enough, 5000));
    ts_run_for(f->base, 100);
    assert_int_equal(f->g.n, 2);
    assert_string_equal(f->g.id[0], "n1");
    assert_string_equal(f->g.value[0], "v1");
    assert_string_equal(f->g.id[1], "n2");
    assert_int_equal(f->g.epoch[1], 2000);
    assert_int_equal(at_monitor_last_epoch(f->m), 2000);
    assert_true(at_monitor_is_live(f->m));
    i = tsrv_find(f->srv, "monitor");
    assert_string_equal(tsrv_line(f->srv, (size_t)i), "monitor .*\\.demo");
    /* drop: reconnect, replay from 1999, n2 again is dropped, n3 is new */
    tsrv_close_all(f->srv);
    f->g.want = 3;
    f->g.enough = false;
    assert_true(ts_run_until(f->base, &f->g.enough, 5000));
    ts_run_for(f->base, 150);
    assert_int_equal(f->g.n, 3);
    assert_string_equal(f->g.id[2], "n3");
    assert_int_equal(tsrv_count(f->srv, "monitor"), 2);
    assert_string_equal(tsrv_line(f->srv, (size_t)tsrv_nlines(f->srv) - 1),
                        "monitor:1999 .*\\.demo");
    assert_int_equal(at_monitor_delivered(f->m), 3);
    assert_true(f->g.connected >= 2);
    assert_true(f->g.disconnected >= 1);
    free(stats);
    free(n1);
    free(n2);
    free(n3);
}

/* A noop that is never answered makes the monitor reconnect. */
static void test_noop_unanswered(void **state)
{
    struct fx *f = *state;
    char *n1 = note("k1", "@bob", "@alice:a.demo@bob", "v1", 5000, false, "null");
    struct ts_rule first = {"monitor", {n1}, TS_REPLY, 1};
    struct ts_rule later = {"monitor", {n1}, TS_REPLY, 0};
    struct ts_rule silent = {"noop:0", {NULL}, TS_SILENT, 0};
    struct at_client_opts o;
    struct at_client *c2 = NULL;
    int i;

    rule(f->srv, "from:@alice", "data:" CHALLENGE "\n@", 0);
    rule(f->srv, "pkam:", "data:success\n@alice@", 0);
    tsrv_rule(f->srv, &silent);
    tsrv_rule(f->srv, &first);
    tsrv_rule(f->srv, &later);
    /* a client with a short request timeout (the noop's deadline) */
    memset(&o, 0, sizeof(o));
    o.atsign = "@alice";
    o.keys = keys.alice;
    o.server_host = "127.0.0.1";
    o.server_port = tsrv_port(f->srv);
    o.tls = pki.client;
    o.request_timeout_ms = 250;
    o.backoff_initial_ms = 50;
    o.backoff_max_ms = 100;
    assert_int_equal(at_client_new(f->base, &o, &c2), 0);
    at_client_free(f->c);
    f->c = c2;
    start(f, NULL, 150);
    ts_run_for(f->base, 1500);
    assert_true(tsrv_accepted(f->srv) >= 2);
    assert_true(f->g.connected >= 2);
    assert_int_equal(f->g.n, 1); /* the replayed k1 is not handed twice */
    i = tsrv_find(f->srv, "monitor:");
    assert_true(i >= 0);
    assert_string_equal(tsrv_line(f->srv, (size_t)i), "monitor:4999");
    free(n1);
}

/* Decryption: key fetched once per sender on the command connection,
 * sharedKeyEnc used when present, shared_key records not decrypted, a
 * sender without a key reported, order kept throughout. */
static void test_decrypt(void **state)
{
    struct fx *f = *state;
    char *kb = NULL, *kd = NULL, *wb = NULL, *wd = NULL;
    char *iv1 = NULL, *c1 = NULL, *iv2 = NULL, *c2 = NULL, *iv3 = NULL, *c3 = NULL;
    char md1[256], md2[256], md3[1024], lookup_b[1024];
    char *e1, *e2, *e3, *sk, *e4, *p5;
    struct ts_rule mon;

    assert_int_equal(np_aes_new_key_b64(&kb), 0);
    assert_int_equal(np_aes_new_key_b64(&kd), 0);
    assert_int_equal(at_e2e_wrap_key(keys.alice_enc, kb, &wb), 0);
    assert_int_equal(at_e2e_wrap_key(keys.alice_enc, kd, &wd), 0);
    assert_int_equal(at_e2e_encrypt(kb, "ping one", 8, &iv1, &c1), 0);
    assert_int_equal(at_e2e_encrypt(kb, "ping two", 8, &iv2, &c2), 0);
    assert_int_equal(at_e2e_encrypt(kd, "from dave", 9, &iv3, &c3), 0);
    snprintf(md1, sizeof(md1), "{\"ivNonce\":\"%s\",\"sharedKeyEnc\":null}", iv1);
    snprintf(md2, sizeof(md2), "{\"ivNonce\":\"%s\"}", iv2);
    snprintf(md3, sizeof(md3), "{\"ivNonce\":\"%s\",\"sharedKeyEnc\":\"%s\"}", iv3, wd);
    e1 = note("e1", "@bob", "@alice:ping.dev.sshnp@bob", c1, 100, true, md1);
    sk = note("s1", "@bob", "@alice:shared_key@bob", wb, 101, true, "null");
    e4 = note("e4", "@carol", "@alice:ping.dev.sshnp@carol", c1, 102, true, md1);
    e2 = note("e2", "@bob", "@alice:ping.dev.sshnp@bob", c2, 103, true, md2);
    e3 = note("e3", "@dave", "@alice:ping.dev.sshnp@dave", c3, 104, true, md3);
    p5 = note("p5", "@dave", "@alice:plain.dev.sshnp@dave", "clear", 105, false, "null");
    memset(&mon, 0, sizeof(mon));
    mon.prefix = "monitor";
    mon.chunks[0] = e1;
    mon.chunks[1] = sk;
    mon.chunks[2] = e4;
    mon.chunks[3] = e2;
    mon.chunks[4] = e3;
    mon.chunks[5] = p5;
    snprintf(lookup_b, sizeof(lookup_b), "data:%s\n@alice@", wb);
    auth_rules(f->srv);
    tsrv_rule(f->srv, &mon);
    rule(f->srv, "lookup:shared_key@bob", lookup_b, 0);
    rule(f->srv, "lookup:shared_key@carol",
         "error:AT0015-key not found : @alice:shared_key@carol does not exist\n@alice@", 0);
    start(f, NULL, 10000);
    f->g.want = 6;
    assert_true(ts_run_until(f->base, &f->g.enough, 8000));
    assert_int_equal(f->g.n, 6);
    assert_string_equal(f->g.id[0], "e1");
    assert_string_equal(f->g.value[0], "ping one");
    assert_string_equal(f->g.id[1], "s1");
    assert_false(f->g.has_value[1]);
    assert_true(f->g.has_raw[1]);
    assert_int_equal(f->g.decrypt_err[1], 0);
    assert_string_equal(f->g.id[2], "e4");
    assert_false(f->g.has_value[2]);
    assert_int_equal(f->g.decrypt_err[2], NP_ERR_NOTFOUND);
    assert_string_equal(f->g.id[3], "e2");
    assert_string_equal(f->g.value[3], "ping two");
    assert_string_equal(f->g.id[4], "e3");
    assert_string_equal(f->g.value[4], "from dave");
    assert_string_equal(f->g.id[5], "p5");
    assert_string_equal(f->g.value[5], "clear");
    assert_int_equal(tsrv_count(f->srv, "lookup:shared_key@bob"), 1);
    assert_int_equal(tsrv_count(f->srv, "lookup:shared_key@dave"), 0);
    np_freezero_str(kb);
    np_freezero_str(kd);
    np_free(wb);
    np_free(wd);
    np_free(iv1);
    np_free(c1);
    np_free(iv2);
    np_free(c2);
    np_free(iv3);
    np_free(c3);
    free(e1);
    free(e2);
    free(e3);
    free(e4);
    free(sk);
    free(p5);
}

/* Freeing the monitor from inside its callback stops delivery safely. */
static void test_free_in_callback(void **state)
{
    struct fx *f = *state;
    char *a = note("a", "@bob", "@alice:a.demo@bob", "1", 10, false, "null");
    char *b = note("b", "@bob", "@alice:b.demo@bob", "2", 11, false, "null");
    struct ts_rule mon = {"monitor", {a, b}, TS_REPLY, 0};

    auth_rules(f->srv);
    tsrv_rule(f->srv, &mon);
    f->g.free_in_cb = true;
    start(f, NULL, 10000);
    f->g.want = 1;
    assert_true(ts_run_until(f->base, &f->g.enough, 5000));
    ts_run_for(f->base, 300);
    assert_int_equal(f->g.n, 1);
    assert_null(f->m);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idset),
        cmocka_unit_test(test_resume_epoch),
        cmocka_unit_test_setup_teardown(test_dedup_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noop_unanswered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decrypt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_callback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
