/*
 * Unit tests for the atServer core (src/atserver: conn.c framing and
 * limits, dispatch.c policy, kv.c merge and commit-log rules, notif.c
 * in-process delivery and monitor pushes, options.c settings, hostsdb.c),
 * driven through memory connections of a server without TLS or sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atserver.h"
#include "conn.h"
#include "hostsdb.h"
#include "keystore.h"
#include "kv.h"
#include "monitor.h"
#include "notif.h"
#include "server.h"
#include "store_test_util.h"

#include "at/metadata.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <event2/event.h>

struct fx {
    char dir[256];
    struct event_base *base;
    struct as_server *srv;
    struct as_host *alice, *bob;
};

static struct fx F;

static int group_setup(void **state)
{
    struct as_config cfg;

    (void)state;
    np_log_set_level(NP_LOG_ERROR);
    tu_mkdtemp(F.dir, sizeof(F.dir));
    as_config_defaults(&cfg);
    cfg.unauth_max_line = 1024;
    cfg.max_value_size = 4096;
    cfg.noop_max_ms = 20;
    if ((F.base = event_base_new()) == NULL || as_server_new(F.base, &cfg, NULL, &F.srv) != 0 ||
        as_server_add_host(F.srv, F.dir, "@alice", 0, false, &F.alice) != 0 ||
        as_server_add_host(F.srv, F.dir, "@Bob", 0, false, &F.bob) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    as_server_free(F.srv);
    event_base_free(F.base);
    return tu_rmtree(F.dir);
}

static struct as_conn *mconn(struct as_host *h, bool owner)
{
    struct as_conn *c = NULL;

    assert_int_equal(conn_new_memory(h, &c), 0);
    assert_string_equal(np_buf_ptr(conn_memory_output(c)), "@");
    np_buf_reset(conn_memory_output(c));
    if (owner)
        conn_set_owner(c, AS_AUTH_CRAM);
    return c;
}

static void feed(struct as_conn *c, const char *s)
{
    conn_feed(c, s, strlen(s));
}

/* The output so far equals want; then forget it. */
static void expect(struct as_conn *c, const char *want)
{
    assert_string_equal(np_buf_ptr(conn_memory_output(c)), want);
    np_buf_reset(conn_memory_output(c));
}

/* ---- framing and dispatch ---- */

static void test_framing(void **state)
{
    struct as_conn *c = mconn(F.alice, false);
    char big[2048];

    (void)state;
    feed(c, "\n");
    expect(c, "error:AT0003-Exception: invalid command\n@");
    /* a line split over two reads, \r\n */
    feed(c, "noo");
    expect(c, "");
    feed(c, "p:0\r\n");
    expect(c, "data:ok\n@");
    /* pipelined */
    feed(c, "noop:0\nbogus\nnoop:0\n");
    expect(c, "data:ok\n@error:AT0003-Exception: invalid command\n@data:ok\n@");
    /* unauthenticated: owner verbs refused, no prompt change */
    feed(c, "llookup:public:x@alice\n");
    expect(c, "error:AT0401-Exception: Command cannot be executed without auth\n@");
    /* the unauthenticated line limit (1024 here): no newline yet is enough */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    feed(c, big);
    expect(c, "error:AT0005-Exception: command line over 1024 bytes\n@");
    assert_true(c->closing);
    /* nothing more is processed or written */
    feed(c, "noop:0\n");
    expect(c, "");
    conn_free(c);
}

static void test_exit_and_prompt(void **state)
{
    struct as_conn *c = mconn(F.alice, true);

    (void)state;
    feed(c, "noop:0\n");
    expect(c, "data:ok\n@alice@");
    feed(c, "llookup:public:nothing@alice\n");
    expect(c, "error:AT0015-key not found : public:nothing@alice does not exist in keystore\n"
              "@alice@");
    feed(c, "@exit\nnoop:0\n");
    expect(c, "");
    assert_true(c->closing);
    conn_free(c);
}

static void test_noop_async(void **state)
{
    struct as_conn *c = mconn(F.alice, false);
    int64_t t0 = np_mono_ms();

    (void)state;
    feed(c, "noop:1000\nnoop:0\n");
    /* waiting: the next line is held back */
    expect(c, "");
    assert_true(c->busy);
    for (int i = 0; i < 200 && c->busy; i++)
        event_base_loop(F.base, EVLOOP_ONCE);
    /* noop_max_ms is 20 here: the wait is capped */
    assert_true(np_mono_ms() - t0 < 900);
    assert_false(c->busy);
    expect(c, "data:ok\n@data:ok\n@");
    /* freeing a connection with a pending noop cancels it */
    feed(c, "noop:1000\n");
    assert_true(c->busy);
    conn_free(c);
    event_base_loop(F.base, EVLOOP_NONBLOCK);
}

/* ---- update, merge, commit log ---- */

static void test_update_merge(void **state)
{
    struct as_conn *c = mconn(F.alice, true);
    struct ks_entry *e = NULL;
    struct at_metadata md;

    (void)state;
    feed(c, "update:ttl:60000:ivNonce:AAAA:public:merge@alice v1\n");
    assert_true(strncmp(np_buf_ptr(conn_memory_output(c)), "data:", 5) == 0);
    np_buf_reset(conn_memory_output(c));
    feed(c, "update:isEncrypted:true:public:merge@alice v2\n");
    np_buf_reset(conn_memory_output(c));
    assert_int_equal(kv_get(F.alice, "public:merge@alice", np_wall_ms(), &e), 0);
    assert_string_equal(e->value, "v2");
    assert_int_equal(e->version, 1);
    assert_int_equal(kv_entry_metadata(e, &md), 0);
    /* kept from the first write, added by the second */
    assert_true(at_metadata_has(&md, AT_MD_TTL));
    assert_int_equal(md.ttl, 60000);
    assert_string_equal(md.iv_nonce, "AAAA");
    assert_true(md.is_encrypted);
    assert_int_equal(md.version, 1);
    assert_true(e->expires_at_ms > 0);
    at_metadata_clear(&md);
    ks_entry_free(e);
    e = NULL;
    /* null clears */
    feed(c, "update:ivNonce:null:public:merge@alice v3\n");
    np_buf_reset(conn_memory_output(c));
    assert_int_equal(kv_get(F.alice, "public:merge@alice", np_wall_ms(), &e), 0);
    assert_int_equal(kv_entry_metadata(e, &md), 0);
    assert_false(at_metadata_has(&md, AT_MD_IV_NONCE));
    assert_true(at_metadata_has(&md, AT_MD_TTL));
    at_metadata_clear(&md);
    ks_entry_free(e);
    /* values over max_value_size (4096 here) are refused */
    {
        char line[6000];
        int n = snprintf(line, sizeof(line), "update:public:toobig@alice ");
        memset(line + n, 'v', 5000);
        line[n + 5000] = '\n';
        line[n + 5001] = '\0';
        feed(c, line);
        expect(c, "error:AT0022-Illegal arguments : value of 5000 bytes is over the limit of "
                  "4096\n@alice@");
    }
    conn_free(c);
}

static void test_commit_log_rules(void **state)
{
    int64_t before = F.alice->last_commit, cid = 0;

    (void)state;
    assert_true(kv_logged("public:x@alice"));
    assert_true(kv_logged("public:__x@alice"));
    assert_true(kv_logged("@bob:x@alice"));
    assert_true(kv_logged("cached:@alice:x@bob"));
    assert_false(kv_logged("public:_x@alice"));
    assert_false(kv_logged("privatekey:at_secret"));
    assert_false(kv_logged("private:blocklist@alice"));
    assert_false(kv_logged("local:x@alice"));
    assert_int_equal(kv_put_simple(F.alice, "privatekey:x", "1", np_wall_ms()), 0);
    assert_int_equal(F.alice->last_commit, before);
    assert_int_equal(
        kv_put(F.alice, "public:y@alice", "1", KV_SET_VALUE, NULL, '*', np_wall_ms(), &cid, NULL),
        0);
    assert_int_equal(cid, before + 1);
    assert_int_equal(F.alice->last_commit, cid);
    /* KS_OP_NONE skips the log even for a logged key type */
    assert_int_equal(kv_put(F.alice, "public:z@alice", "1", KV_SET_VALUE, NULL, KS_OP_NONE,
                            np_wall_ms(), &cid, NULL),
                     0);
    assert_int_equal(cid, -1);
    assert_int_equal(F.alice->last_commit, before + 1);
}

/* ---- notifications in-process ---- */

static void test_notify_in_process(void **state)
{
    struct as_conn *a = mconn(F.alice, true), *m = mconn(F.bob, true), *m2 = mconn(F.bob, true);
    const char *o;
    char id[64], line[128];

    (void)state;
    feed(m, "monitor \\.unit\n");
    feed(m2, "monitor other\n");
    expect(m, "");
    feed(a, "notify:@bob:ping.unit@alice:dmFs\n");
    o = np_buf_ptr(conn_memory_output(a));
    assert_true(strncmp(o, "data:", 5) == 0);
    snprintf(id, sizeof(id), "%.36s", o + 5);
    np_buf_reset(conn_memory_output(a));
    /* exactly one line on the matching monitor, none on the other */
    o = np_buf_ptr(conn_memory_output(m));
    assert_true(strncmp(o, "notification: {\"id\":\"", 21) == 0);
    assert_non_null(strstr(o, "\"key\":\"@bob:ping.unit@alice\""));
    assert_null(strstr(strstr(o, "\n") + 1, "notification"));
    np_buf_reset(conn_memory_output(m));
    expect(m2, "");
    snprintf(line, sizeof(line), "notify:status:%s\n", id);
    feed(a, line);
    expect(a, "data:delivered\n@alice@");
    /* @bob blocks @alice: refused, nothing pushed, errored on the sender */
    feed(m2, "config:block:add:@alice\n");
    expect(m2, "data:success\n@bob@");
    feed(a, "notify:@bob:ping2.unit@alice:dmFs\n");
    o = np_buf_ptr(conn_memory_output(a));
    snprintf(id, sizeof(id), "%.36s", o + 5);
    np_buf_reset(conn_memory_output(a));
    expect(m, "");
    snprintf(line, sizeof(line), "notify:status:%s\n", id);
    feed(a, line);
    expect(a, "data:errored\n@alice@");
    feed(m2, "config:block:remove:@alice\n");
    expect(m2, "data:success\n@bob@");
    conn_free(a);
    conn_free(m);
    conn_free(m2);
}

/* The output ceiling of monitor connections (style.md practice 11), with
 * the simulated output queue of memory connections. */
static void test_monitor_ceiling(void **state)
{
    struct as_conn *m = mconn(F.bob, true), *m2 = mconn(F.bob, true);
    const struct as_config *cfg = &F.srv->cfg;

    (void)state;
    feed(m, "monitor\n");
    feed(m2, "monitor\n");
    /* over the hard limit: the next push disconnects at once */
    m->mem_pending = cfg->monitor_hard_limit;
    notif_push_stats(F.bob, AT_NOTIFY_UPDATE);
    assert_true(m->closing);
    expect(m, "");
    /* over the soft limit: tolerated for monitor_soft_s, then disconnected */
    np_buf_reset(conn_memory_output(m2));
    m2->mem_pending = cfg->monitor_soft_limit + 1;
    notif_push_stats(F.bob, AT_NOTIFY_UPDATE);
    assert_false(m2->closing);
    assert_true(m2->over_since > 0);
    assert_non_null(strstr(np_buf_ptr(conn_memory_output(m2)), "statsNotification.@bob"));
    monitor_check(m2, np_mono_ms() + 1000LL * cfg->monitor_soft_s - 500);
    assert_false(m2->closing);
    monitor_check(m2, np_mono_ms() + 1000LL * cfg->monitor_soft_s + 1000);
    assert_true(m2->closing);
    /* a monitor that drains in time is left alone */
    conn_free(m2);
    m2 = mconn(F.bob, true);
    feed(m2, "monitor\n");
    m2->mem_pending = cfg->monitor_soft_limit + 1;
    monitor_check(m2, np_mono_ms());
    assert_true(m2->over_since > 0);
    m2->mem_pending = 0;
    monitor_check(m2, np_mono_ms() + 1000LL * cfg->monitor_soft_s + 1000);
    assert_false(m2->closing);
    assert_int_equal(m2->over_since, 0);
    conn_free(m);
    conn_free(m2);
}

/* pkam with an enrollment that is not approved: the colon form (3.3, 2.4). */
static void test_enrollment_states(void **state)
{
    static const char *const states[][2] = {
        {"denied", "error:AT0025:enrollment_id: e1 is denied\n@"},
        {"pending", "error:AT0026:enrollment_id: e1 is pending\n@"},
        {"revoked", "error:AT0027:enrollment_id: e1 is revoked\n@"},
        {"odd", "error:AT0028:enrollment_id: e1 is expired or invalid\n@"},
    };
    struct as_conn *c = mconn(F.alice, false);
    char value[256];

    (void)state;
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        snprintf(value, sizeof(value), "{\"apkamPublicKey\":\"x\",\"approval\":{\"state\":\"%s\"}}",
                 states[i][0]);
        assert_int_equal(kv_put(F.alice, "e1.new.enrollments.__manage@alice", value, KV_SET_VALUE,
                                NULL, KS_OP_NONE, np_wall_ms(), NULL, NULL),
                         0);
        feed(c, "from:@alice\n");
        np_buf_reset(conn_memory_output(c));
        feed(c, "pkam:enrollmentId:e1:AAAA\n");
        expect(c, states[i][1]);
    }
    /* an id with characters an enrollment id never has */
    feed(c, "from:@alice\n");
    np_buf_reset(conn_memory_output(c));
    feed(c, "pkam:enrollmentId:e.1:AAAA\n");
    expect(c, "error:AT0028:enrollment_id: e.1 is expired or invalid\n@");
    conn_free(c);
}

/* ---- settings and the hosts table ---- */

static void test_config(void **state)
{
    struct as_config c;
    char err[128], path[300];
    FILE *f;

    (void)state;
    as_config_defaults(&c);
    assert_int_equal(c.max_conns, 200);
    assert_int_equal(c.stats_interval_s, 15);
    assert_int_equal(as_config_set(&c, "max_connections", "5", err, sizeof(err)), 0);
    assert_int_equal(c.max_conns, 5);
    assert_int_equal(as_config_set(&c, "stats_interval_s", "-1", err, sizeof(err)), 0);
    assert_int_equal(c.stats_interval_s, -1);
    assert_int_equal(as_config_set(&c, "auto_notify", "false", err, sizeof(err)), 0);
    assert_false(c.auto_notify);
    assert_int_equal(as_config_set(&c, "max_connections", "0", err, sizeof(err)), NP_ERR_FORMAT);
    assert_int_equal(as_config_set(&c, "max_connections", "5x", err, sizeof(err)), NP_ERR_FORMAT);
    assert_int_equal(as_config_set(&c, "no_such", "1", err, sizeof(err)), NP_ERR_NOTFOUND);
    assert_non_null(strstr(err, "no_such"));
    snprintf(path, sizeof(path), "%s/test.conf", F.dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("# comment\n\n  unauth_max_line = 4096  # trailing\nnoop_max_ms=0\n", f);
    fclose(f);
    assert_int_equal(as_config_load(&c, path), 0);
    assert_int_equal(c.unauth_max_line, 4096);
    assert_int_equal(c.noop_max_ms, 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("max_connections = 3\nthis line is wrong\n", f);
    fclose(f);
    assert_int_equal(as_config_load(&c, path), NP_ERR_FORMAT);
}

static int count_row(const char *atsign, int port, const char *host, void *arg)
{
    int *n = arg;

    (void)host;
    assert_true(atsign[0] == '@');
    assert_true(port > 0);
    (*n)++;
    return 0;
}

static void test_hostsdb(void **state)
{
    struct hostsdb *db = NULL;
    char d[300];
    int n = 0;

    (void)state;
    snprintf(d, sizeof(d), "%s/hosts", F.dir);
    assert_int_equal(hostsdb_open(d, false, &db), NP_ERR_NOTFOUND);
    assert_int_equal(hostsdb_open(d, true, &db), 0);
    assert_int_equal(hostsdb_add(db, "@a", 100, "localhost"), 0);
    assert_int_equal(hostsdb_add(db, "@b", 101, "localhost"), 0);
    assert_int_equal(hostsdb_add(db, "@a", 102, "localhost"), NP_ERR_EXISTS);
    assert_int_equal(hostsdb_add(db, "@c", 100, "localhost"), NP_ERR_EXISTS);
    assert_int_equal(hostsdb_list(db, count_row, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(hostsdb_remove(db, "@a"), 0);
    n = 0;
    assert_int_equal(hostsdb_list(db, count_row, &n), 0);
    assert_int_equal(n, 1);
    hostsdb_close(db);
}

static void test_lists(void **state)
{
    struct as_atsign_list l;

    (void)state;
    memset(&l, 0, sizeof(l));
    for (int i = 0; i < 20; i++) {
        char a[16];
        snprintf(a, sizeof(a), "@u%d", i);
        assert_int_equal(as_list_add(&l, a), 0);
    }
    assert_int_equal(as_list_add(&l, "@u3"), 0); /* no duplicates */
    assert_int_equal(l.n, 20);
    as_list_remove(&l, "@u0");
    as_list_remove(&l, "@nobody");
    assert_int_equal(l.n, 19);
    assert_false(as_list_has(&l, "@u0"));
    assert_true(as_list_has(&l, "@u19"));
    as_list_clear(&l);
    assert_int_equal(l.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_exit_and_prompt),
        cmocka_unit_test(test_noop_async),
        cmocka_unit_test(test_update_merge),
        cmocka_unit_test(test_commit_log_rules),
        cmocka_unit_test(test_notify_in_process),
        cmocka_unit_test(test_monitor_ceiling),
        cmocka_unit_test(test_enrollment_states),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_hostsdb),
        cmocka_unit_test(test_lists),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
