/*
 * Unit tests of the sshnpd engine (src/sshnpd/daemon.c, authz.c,
 * session.c) in-process with the test double of its interface: ping and
 * device info, authorization (managers; the policy RPC: success, deny,
 * timeout, cache, nack, forged responses; unauthorized senders get nothing
 * at all), rate limit, duplicates, records, sshpublickey, signature
 * verification with one re-fetch, permit-open answers, and real sessions:
 * ssh (single and twin keys, legacy auth line checked by signature, ESCR
 * checked by a relay-side parse + verify) and npt multi with three
 * connections, bytes flowing through a FIFO test relay to an echo server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "crypto/aes.h"
#include "crypto/b64.h"
#include "crypto/rsa.h"
#include "np/bridge.h"
#include "np/escr.h"
#include "np/messages.h"
#include "np/relay_auth.h"
#include "sd_testlib.h"
#include "test_bridge_harness.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define SID1   "0f6c7d2e-6a54-4b7e-9a8e-2f1d3c4b5a69"
#define SID2   "1a2b3c4d-0000-4000-8000-000000000002"
#define BANNER "SSH-2.0-OpenSSH_test\r\n"
#define HB_KEY "heartbeat." SDT_DEVNAME ".sshnp"

static const char *answer_key(const char *sid)
{
    static char k[128];
    snprintf(k, sizeof(k), "%s.%s.sshnp", sid, SDT_DEVNAME);
    return k;
}

/* ---- ping, device info, authorization ----------------------------------- */

static void test_ping_manager(void **state)
{
    struct sdt t;
    const struct sdt_notice *n;
    struct np_device_info *di = NULL;
    (void)state;

    sdt_init(&t);
    sdt_start(&t);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "ping", "ping"), 0);
    n = sdt_last(&t, SDT_ALICE, HB_KEY);
    assert_non_null(n);
    assert_int_equal(n->ttl, 10000);
    assert_int_equal(n->ttln, 60000);
    assert_int_equal(np_device_info_parse(n->value, strlen(n->value), &di), 0);
    assert_string_equal(di->devicename, SDT_DEVNAME);
    assert_string_equal(di->device_group, "__none__");
    assert_string_equal(di->version, "9.9.9");
    assert_true(di->has_features);
    assert_true(np_device_info_has(di, NP_FEAT_SR_AUTH));
    assert_true(np_device_info_has(di, NP_FEAT_SR_E2EE));
    assert_true(np_device_info_has(di, NP_FEAT_PORT_CHOICE));
    assert_true(np_device_info_has(di, NP_FEAT_ADJ_TIMEOUT));
    assert_true(np_device_info_has(di, NP_FEAT_TWIN_KEYS));
    assert_true(np_device_info_has(di, NP_FEAT_RAM_ESCR));
    assert_true(np_device_info_has(di, NP_FEAT_CC_HEARTBEATS));
    assert_false(np_device_info_has(di, NP_FEAT_ACCEPTS_PUBLIC_KEYS));
    assert_true(di->features_present & NP_FEAT_ACCEPTS_PUBLIC_KEYS); /* present, false */
    assert_int_equal(di->n_allowed, 2);
    assert_string_equal(di->allowed_services[0], "localhost:22");
    assert_string_equal(di->allowed_services[1], "localhost:3389");
    assert_string_equal(di->public_signing_key_uri, "public:_apsk.primary.a.__e@device");
    np_device_info_free(di);
    sdt_done(&t);
}

static void test_device_info_flags(void **state)
{
    struct sdt t;
    struct np_device_info *di = NULL;
    char *json = NULL;
    (void)state;

    sdt_init(&t);
    t.cfg.accept_pubkeys = 1;
    t.cfg.pkam_priv = NULL; /* no ESCR without the PKAM key */
    t.cfg.permit_csv = "10.0.0.5:80, *:443";
    t.cfg.device_group = "lab";
    sdt_start(&t);
    assert_int_equal(sshnpd_device_info(t.d, &json), 0);
    assert_int_equal(np_device_info_parse(json, strlen(json), &di), 0);
    assert_true(np_device_info_has(di, NP_FEAT_ACCEPTS_PUBLIC_KEYS));
    assert_false(np_device_info_has(di, NP_FEAT_RAM_ESCR));
    assert_null(di->public_signing_key_uri);
    assert_string_equal(di->device_group, "lab");
    assert_int_equal(di->n_allowed, 2);
    assert_string_equal(di->allowed_services[1], "*:443");
    np_device_info_free(di);
    np_free(json);
    sdt_done(&t);
}

static void test_unauthorized_gets_nothing(void **state)
{
    struct sdt t;
    struct sshnpd_stats st;
    struct np_session_req *q;
    char *env;
    (void)state;

    sdt_init(&t);
    sdt_start(&t);
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), NP_ERR_PERM);
    q = sdt_req(1, SID1, 1);
    env = sdt_sign(q, sdt_keys()->eve);
    assert_int_equal(sdt_send(&t, SDT_EVE, "npt_request", env), NP_ERR_PERM);
    assert_int_equal(sdt_send(&t, SDT_EVE, "sshpublickey", "ssh-ed25519 AAAA"), NP_ERR_PERM);
    sdt_run_for(&t, 50);
    assert_int_equal(t.n_notices, 0);
    assert_int_equal(sdt_key_fetches(&t, SDT_EVE), 0);
    sshnpd_get_stats(t.d, &st);
    assert_int_equal(st.unauthorized, 3);
    assert_int_equal(st.authorized, 0);
    np_free(env);
    np_session_req_free(q);
    sdt_done(&t);
}

static void test_not_for_us(void **state)
{
    struct sdt t;
    struct sshnpd_stats st;
    (void)state;

    sdt_init(&t);
    sdt_start(&t);
    /* another device, unknown type, bad sender, undecryptable, stats ping */
    assert_int_equal(sdt_send_raw(&t, "a", SDT_ALICE, "@device:ping.other.sshnp@alice", "ping"),
                     NP_ERR_NOTFOUND);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "launch_missiles", "now"), NP_ERR_NOTFOUND);
    assert_int_equal(sdt_send_raw(&t, "b", "@al ice", "@device:ping.garage.sshnp@al ice", "x"),
                     NP_ERR_FORMAT);
    assert_int_equal(sdt_send_raw(&t, "c", SDT_ALICE, "@device:ping.garage.sshnp@alice", NULL),
                     NP_ERR_FORMAT);
    assert_int_equal(sdt_send_raw(&t, "-1", "@device", "statsNotification.@device", "7"),
                     NP_ERR_NOTFOUND);
    /* case-insensitive key, sender given without '@' */
    assert_int_equal(sdt_send_raw(&t, "d", "alice", "@device:PING.Garage.sshnp@alice", "ping"), 0);
    assert_non_null(sdt_last(&t, SDT_ALICE, HB_KEY));
    sshnpd_get_stats(t.d, &st);
    assert_int_equal(st.ignored, 5);
    assert_int_equal(st.pings, 1);
    sdt_done(&t);
}

static void test_duplicates(void **state)
{
    struct sdt t;
    (void)state;

    sdt_init(&t);
    sdt_start(&t);
    assert_int_equal(sdt_send_raw(&t, "n-1", SDT_ALICE, "@device:ping.garage.sshnp@alice", "p"), 0);
    assert_int_equal(sdt_send_raw(&t, "n-1", SDT_ALICE, "@device:ping.garage.sshnp@alice", "p"),
                     NP_ERR_EXISTS);
    assert_int_equal(sdt_count(&t, SDT_ALICE, HB_KEY), 1);
    sdt_done(&t);
}

static void test_rate_limit(void **state)
{
    struct sdt t;
    struct sshnpd_stats st;
    int ok = 0, limited = 0;
    (void)state;

    sdt_init(&t);
    t.cfg.rate_burst = 3;
    t.cfg.rate_per_min = 1; /* nothing refills during the test */
    t.managers[1] = "@bob";
    t.cfg.n_managers = 2;
    sdt_start(&t);
    for (int i = 0; i < 6; i++) {
        int r = sdt_send(&t, SDT_ALICE, "ping", "ping");
        ok += r == 0;
        limited += r == NP_ERR_LIMIT;
    }
    assert_int_equal(ok, 3);
    assert_int_equal(limited, 3);
    assert_int_equal(sdt_count(&t, SDT_ALICE, HB_KEY), 3);
    /* another sender has its own bucket */
    assert_int_equal(sdt_send(&t, "@bob", "ping", "ping"), 0);
    sshnpd_get_stats(t.d, &st);
    assert_int_equal(st.rate_limited, 3);
    sdt_done(&t);
}

/* ---- the policy RPC ----------------------------------------------------- */

static long long rpc_req_id(const struct sdt_notice *n)
{
    cJSON *v = cJSON_Parse(n->value);
    const cJSON *id, *p;
    long long r;

    assert_non_null(v);
    id = cJSON_GetObjectItemCaseSensitive(v, "reqId");
    p = cJSON_GetObjectItemCaseSensitive(v, "payload");
    assert_true(cJSON_IsNumber(id));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "daemonAtsign")->valuestring,
                        SDT_DEVICE);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "daemonDeviceName")->valuestring,
                        SDT_DEVNAME);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "daemonDeviceGroupName")->valuestring,
                        "__none__");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "clientAtsign")->valuestring, SDT_EVE);
    r = (long long)id->valuedouble;
    cJSON_Delete(v);
    return r;
}

static const struct sdt_notice *last_rpc(struct sdt *t)
{
    for (int i = t->n_notices - 1; i >= 0; i--)
        if (strcmp(t->notices[i].to, SDT_POLICY) == 0 &&
            strncmp(t->notices[i].key, "request.", 8) == 0)
            return &t->notices[i];
    return NULL;
}

static int count_rpcs(struct sdt *t)
{
    int n = 0;
    for (int i = 0; i < t->n_notices; i++)
        n += strcmp(t->notices[i].to, SDT_POLICY) == 0 &&
             strncmp(t->notices[i].key, "request.", 8) == 0;
    return n;
}

static void policy_says(struct sdt *t, const char *kind, long long id, int with_ns,
                        const char *json_tail)
{
    char key[256], value[512], nid[32];

    snprintf(key, sizeof(key), "@device:%s.%lld.auth_checks.__rpcs%s@policy", kind, id,
             with_ns ? ".sshnp" : "");
    snprintf(value, sizeof(value), "{\"reqId\":%lld,\"respType\":\"%s\"%s}", id, kind,
             json_tail ? json_tail : ",\"payload\":{}");
    snprintf(nid, sizeof(nid), "p-%d", ++t->next_id);
    assert_int_equal(sdt_send_raw(t, nid, SDT_POLICY, key, value), 0);
}

static void policy_init(struct sdt *t)
{
    sdt_init(t);
    t->cfg.policy = SDT_POLICY;
}

static void test_policy_authorizes(void **state)
{
    struct sdt t;
    const struct sdt_notice *rpc;
    char want_key[128];
    long long id;
    (void)state;

    policy_init(&t);
    sdt_start(&t);
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), 0);
    rpc = last_rpc(&t);
    assert_non_null(rpc);
    assert_int_equal(rpc->ttln, 30000);
    id = rpc_req_id(rpc);
    snprintf(want_key, sizeof(want_key), "request.%lld.auth_checks.__rpcs.sshnp", id);
    assert_string_equal(rpc->key, want_key);
    assert_int_equal(sdt_count(&t, SDT_EVE, NULL), 0);
    policy_says(&t, "ack", id, 1, NULL);
    assert_int_equal(sdt_count(&t, SDT_EVE, NULL), 0);
    /* the later at_client form without the .sshnp suffix */
    policy_says(&t, "success", id, 0,
                ",\"payload\":{\"authorized\":true,\"message\":\"ok\",\"permitOpen\":["
                "\"localhost:22\"]}");
    assert_non_null(sdt_last(&t, SDT_EVE, HB_KEY));
    /* cached for 15 s: the next ping is answered without asking again */
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), 0);
    assert_int_equal(sdt_count(&t, SDT_EVE, HB_KEY), 2);
    assert_int_equal(count_rpcs(&t), 1);
    sdt_done(&t);
}

static void test_policy_denies(void **state)
{
    struct sdt t;
    long long id;
    (void)state;

    policy_init(&t);
    sdt_start(&t);
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), 0);
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), 0); /* waits on the same check */
    assert_int_equal(count_rpcs(&t), 1);
    id = rpc_req_id(last_rpc(&t));
    policy_says(&t, "success", id, 1,
                ",\"payload\":{\"authorized\":false,\"message\":\"no\",\"permitOpen\":[]}");
    sdt_run_for(&t, 30);
    assert_int_equal(sdt_count(&t, SDT_EVE, NULL), 0);
    /* cached denial */
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), NP_ERR_PERM);
    assert_int_equal(count_rpcs(&t), 1);
    assert_int_equal(sdt_count(&t, SDT_EVE, NULL), 0);
    sdt_done(&t);
}

static void test_policy_timeout_and_cache_expiry(void **state)
{
    struct sdt t;
    long long id;
    (void)state;

    policy_init(&t);
    t.cfg.policy_timeout_ms = 100;
    t.cfg.policy_cache_ms = 800;
    sdt_start(&t);
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), 0);
    id = rpc_req_id(last_rpc(&t));
    sdt_run_for(&t, 200); /* timed out: not authorized */
    /* a late answer changes nothing */
    policy_says(&t, "success", id, 1, ",\"payload\":{\"authorized\":true}");
    assert_int_equal(sdt_count(&t, SDT_EVE, NULL), 0);
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), NP_ERR_PERM);
    assert_int_equal(count_rpcs(&t), 1);
    sdt_run_for(&t, 800); /* cache expired: ask again */
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), 0);
    assert_int_equal(count_rpcs(&t), 2);
    id = rpc_req_id(last_rpc(&t));
    policy_says(&t, "success", id, 1, ",\"payload\":{\"authorized\":true}");
    assert_int_equal(sdt_count(&t, SDT_EVE, HB_KEY), 1);
    sdt_done(&t);
}

static void test_policy_nack_and_forgery(void **state)
{
    struct sdt t;
    char key[256], value[256];
    long long id;
    (void)state;

    policy_init(&t);
    sdt_start(&t);
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), 0);
    id = rpc_req_id(last_rpc(&t));
    /* eve forging the policy's answer is just an unknown message from eve */
    snprintf(key, sizeof(key), "@device:success.%lld.auth_checks.__rpcs.sshnp@eve", id);
    snprintf(value, sizeof(value),
             "{\"reqId\":%lld,\"respType\":\"success\",\"payload\":{\"authorized\":true}}", id);
    assert_int_equal(sdt_send_raw(&t, "forged", SDT_EVE, key, value), NP_ERR_NOTFOUND);
    assert_int_equal(sdt_count(&t, SDT_EVE, NULL), 0);
    /* a response for another reqId is ignored */
    policy_says(&t, "success", id + 1, 1, ",\"payload\":{\"authorized\":true}");
    assert_int_equal(sdt_count(&t, SDT_EVE, NULL), 0);
    policy_says(&t, "nack", id, 1, NULL);
    sdt_run_for(&t, 20);
    assert_int_equal(sdt_count(&t, SDT_EVE, NULL), 0);
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), NP_ERR_PERM);
    sdt_done(&t);
}

static void test_policy_manager_skips_rpc(void **state)
{
    struct sdt t;
    (void)state;

    policy_init(&t); /* managers = {@alice} plus a policy */
    sdt_start(&t);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "ping", "ping"), 0);
    assert_non_null(sdt_last(&t, SDT_ALICE, HB_KEY));
    assert_int_equal(count_rpcs(&t), 0);
    sdt_done(&t);
}

static void test_free_while_pending(void **state)
{
    struct sdt t;
    struct np_session_req *q = sdt_req(1, SID1, 1);
    char *env = sdt_sign(q, sdt_keys()->alice);
    struct sshnpd_stats st;
    (void)state;

    policy_init(&t);
    t.key_delay_ms = 500;
    sdt_start(&t);
    assert_int_equal(sdt_send(&t, SDT_EVE, "ping", "ping"), 0);       /* waits for the policy */
    assert_int_equal(sdt_send(&t, SDT_ALICE, "npt_request", env), 0); /* waits for the key */
    sshnpd_get_stats(t.d, &st);
    assert_int_equal(st.pending, 2);
    sdt_done(&t); /* frees both, cancels the lookup; leak checkers watch */
    np_free(env);
    np_session_req_free(q);
}

/* ---- records ------------------------------------------------------------ */

static const struct sdt_record *find_record(const struct sdt *t, const char *atkey)
{
    for (int i = t->n_records - 1; i >= 0; i--)
        if (strcmp(t->records[i].atkey, atkey) == 0)
            return &t->records[i];
    return NULL;
}

static void test_records(void **state)
{
    struct sdt t;
    const struct sdt_record *r;
    const struct sdt_notice *n;
    char regex[256];
    (void)state;

    policy_init(&t);
    sdt_start(&t);
    assert_int_equal(t.n_records, 0);
    sshnpd_connected(t.d);
    r = find_record(&t, "@alice:username.garage.sshnp@device");
    assert_non_null(r);
    assert_string_equal(r->value, "pi");
    assert_int_equal(r->ttr, -1);
    assert_int_equal(r->ccd, 1);
    assert_int_equal(r->ttl, 0);
    r = find_record(&t, "@alice:device_info.garage.sshnp@device");
    assert_non_null(r);
    assert_int_equal(r->ttl, 30LL * 24 * 3600 * 1000);
    assert_int_equal(r->ttr, -1);
    assert_int_equal(r->ccd, 1);
    assert_int_equal(r->value[0], '{');
    r = find_record(&t, "public:_apsk.primary.a.__e@device");
    assert_non_null(r);
    assert_string_equal(r->value, sdt_keys()->dev_pkam_pub);
    n = sdt_last(&t, SDT_POLICY, "garage.devices.policy.sshnp");
    assert_non_null(n);
    assert_int_equal(n->ttln, 300000);
    assert_int_equal(sshnpd_monitor_regex(t.d, regex, sizeof(regex)), 0);
    assert_string_equal(regex, "(^garage|\\.garage)\\.sshnp@|\\.auth_checks\\.__rpcs");
    sdt_done(&t);

    /* --hide: deletes instead; no policy: the plain regex */
    sdt_init(&t);
    t.cfg.hide = 1;
    t.cfg.enrollment_id = "e1";
    sdt_start(&t);
    sshnpd_connected(t.d);
    r = find_record(&t, "@alice:username.garage.sshnp@device");
    assert_non_null(r);
    assert_null(r->value);
    r = find_record(&t, "@alice:device_info.garage.sshnp@device");
    assert_non_null(r);
    assert_null(r->value);
    assert_non_null(find_record(&t, "public:_apsk.e1.a.__e@device"));
    assert_int_equal(sshnpd_monitor_regex(t.d, regex, sizeof(regex)), 0);
    assert_string_equal(regex, "(^garage|\\.garage)\\.sshnp@");
    sdt_done(&t);
}

/* ---- sshpublickey ------------------------------------------------------- */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = np_calloc(1, 65536);
    size_t n;

    assert_non_null(buf);
    if (!f)
        return buf;
    n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

#define ED_KEY                                                                                     \
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f me@x"

static void test_sshpublickey(void **state)
{
    struct sdt t;
    char dir[] = "/tmp/sshnpd-test-XXXXXX", path[256];
    char *content;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/ssh/authorized_keys", dir);
    sdt_init(&t);
    t.cfg.authkeys_path = path;
    sdt_start(&t);
    /* without -s: ignored */
    assert_int_equal(sdt_send(&t, SDT_ALICE, "sshpublickey", ED_KEY), 0);
    content = read_all(path);
    assert_string_equal(content, "");
    np_free(content);
    sdt_done(&t);

    sdt_init(&t);
    t.cfg.authkeys_path = path;
    t.cfg.accept_pubkeys = 1;
    t.cfg.pubkey_perm = "no-pty";
    sdt_start(&t);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "sshpublickey", ED_KEY "\n"), 0);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "sshpublickey", ED_KEY), 0); /* no duplicate */
    assert_int_equal(sdt_send(&t, SDT_ALICE, "sshpublickey", "command=\"sh\" " ED_KEY),
                     0); /* rejected */
    content = read_all(path);
    assert_string_equal(content, "no-pty " ED_KEY "\n");
    np_free(content);
    assert_int_equal(t.n_notices, 0); /* sshpublickey is never answered */
    sdt_done(&t);
    unlink(path);
    snprintf(path, sizeof(path), "%s/ssh", dir);
    rmdir(path);
    rmdir(dir);
}

/* ---- session requests: failures answered with text ---------------------- */

static void test_permit_denied_texts(void **state)
{
    struct sdt t;
    struct np_session_req *q;
    const struct sdt_notice *n;
    char *env;
    (void)state;

    sdt_init(&t);
    t.cfg.local_sshd_port = 2222;
    sdt_start(&t);
    q = sdt_req(0, SID1, 1);
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "ssh_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID1), 2000);
    assert_non_null(n);
    assert_string_equal(n->value, "Connection to localhost:2222 denied based on daemon "
                                  "--permit-open [localhost:22, localhost:3389]");
    assert_int_equal(n->ttl, 10000);
    np_free(env);
    np_session_req_free(q);

    q = sdt_req(1, SID2, 1);
    np_free(q->requested_host);
    q->requested_host = np_strdup("db.internal");
    q->requested_port = 5432;
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "npt_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID2), 2000);
    assert_non_null(n);
    assert_string_equal(n->value, "Connection to db.internal:5432 denied based on daemon "
                                  "--permit-open [localhost:22, localhost:3389]");
    /* the key was fetched once for both requests (cache) */
    assert_int_equal(sdt_key_fetches(&t, SDT_ALICE), 1);
    np_free(env);
    np_session_req_free(q);
    sdt_done(&t);
}

static void test_policy_permit_denied(void **state)
{
    struct sdt t;
    struct np_session_req *q = sdt_req(1, SID1, 1);
    const struct sdt_notice *n;
    char *env;
    long long id;
    (void)state;

    policy_init(&t);
    sdt_start(&t);
    q->requested_port = 3389;
    env = sdt_sign(q, sdt_keys()->eve);
    assert_int_equal(sdt_send(&t, SDT_EVE, "npt_request", env), 0);
    id = rpc_req_id(last_rpc(&t));
    policy_says(&t, "success", id, 1,
                ",\"payload\":{\"authorized\":true,\"message\":null,\"permitOpen\":["
                "\"localhost:22\",\"10.1.1.1:*\"]}");
    n = sdt_wait(&t, SDT_EVE, answer_key(SID1), 2000);
    assert_non_null(n);
    assert_string_equal(n->value, "Connection to localhost:3389 denied based on POLICY "
                                  "--permit-open [localhost:22, 10.1.1.1:*]");
    np_free(env);
    np_session_req_free(q);
    sdt_done(&t);
}

static void test_no_et_refused(void **state)
{
    struct sdt t;
    struct np_session_req *q = sdt_req(0, SID1, 1);
    const struct sdt_notice *n;
    char *env;
    (void)state;

    sdt_init(&t);
    sdt_start(&t);
    q->encrypt_rvd_traffic = 0;
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "ssh_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID1), 2000);
    assert_non_null(n);
    assert_true(n->value[0] != '{');
    assert_true(
        strncmp(n->value, "Failed to start up the daemon side of the relay socket tunnel : ", 64) ==
        0);
    assert_non_null(strstr(n->value, "--no-et"));
    np_free(env);
    np_session_req_free(q);
    sdt_done(&t);
}

static void test_signature_refetch_then_error(void **state)
{
    struct sdt t;
    struct np_session_req *q = sdt_req(1, SID1, 1);
    const struct sdt_notice *n;
    char *env;
    (void)state;

    sdt_init(&t);
    sdt_key_set(&t, SDT_ALICE, sdt_keys()->eve_pub, NULL); /* wrong key, twice */
    sdt_start(&t);
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "npt_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID1), 2000);
    assert_non_null(n);
    assert_true(strncmp(n->value, "Signature not verified: ", 24) == 0);
    assert_int_equal(sdt_key_fetches(&t, SDT_ALICE), 2); /* fetched again once */
    np_free(env);
    np_session_req_free(q);
    sdt_done(&t);
}

static void test_signature_refetch_succeeds(void **state)
{
    struct sdt t;
    struct np_session_req *q = sdt_req(1, SID1, 1);
    const struct sdt_notice *n;
    char *env;
    (void)state;

    sdt_init(&t);
    /* a stale key first, the rotated (right) one on the second lookup */
    sdt_key_set(&t, SDT_ALICE, sdt_keys()->eve_pub, sdt_keys()->alice_pub);
    sdt_start(&t);
    q->requested_port = 9; /* not permitted: the answer shows we got past the signature */
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "npt_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID1), 2000);
    assert_non_null(n);
    assert_string_equal(n->value, "Connection to localhost:9 denied based on daemon "
                                  "--permit-open [localhost:22, localhost:3389]");
    assert_int_equal(sdt_key_fetches(&t, SDT_ALICE), 2);
    np_free(env);
    np_session_req_free(q);
    sdt_done(&t);
}

static void test_signature_lookup_fails(void **state)
{
    struct sdt t;
    struct np_session_req *q = sdt_req(0, SID1, 1);
    const struct sdt_notice *n;
    char *env;
    (void)state;

    sdt_init(&t);
    sdt_key_set(&t, SDT_ALICE, NULL, NULL);
    sdt_start(&t);
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "ssh_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID1), 2000);
    assert_non_null(n);
    assert_true(strncmp(n->value, "Signature not verified: ", 24) == 0);
    assert_non_null(strstr(n->value, "public:publickey@alice"));
    np_free(env);
    np_session_req_free(q);
    sdt_done(&t);
}

static void test_malformed_requests(void **state)
{
    struct sdt t;
    struct np_session_req *q = sdt_req(1, SID1, 1);
    const struct sdt_notice *n;
    char *env, *bad;
    (void)state;

    sdt_init(&t);
    sdt_start(&t);
    /* not an envelope at all: ignored */
    assert_int_equal(sdt_send(&t, SDT_ALICE, "npt_request", "{\"nope\":1}"), 0);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "ssh_request", "garbage"), 0);
    sdt_run_for(&t, 20);
    assert_int_equal(t.n_notices, 0);
    /* an envelope whose payload lacks rvdPort: answered (we know the sid) */
    env = sdt_sign(q, sdt_keys()->alice);
    bad = np_strdup(env);
    {
        char *p = strstr(bad, "\"rvdPort\"");
        assert_non_null(p);
        memcpy(p, "\"rvdXort\"", 9);
    }
    assert_int_equal(sdt_send(&t, SDT_ALICE, "npt_request", bad), 0);
    n = sdt_last(&t, SDT_ALICE, answer_key(SID1));
    assert_non_null(n);
    assert_non_null(strstr(n->value, "malformed request"));
    /* the signature covers the payload: a tampered one is refused */
    np_free(bad);
    bad = np_strdup(env);
    {
        char *p = strstr(bad, "\"requestedPort\":22");
        assert_non_null(p);
        p[17] = '3';
    }
    assert_int_equal(sdt_send(&t, SDT_ALICE, "npt_request", bad), 0);
    for (int i = 0; i < 100 && sdt_count(&t, SDT_ALICE, answer_key(SID1)) < 2; i++)
        sdt_run_for(&t, 10);
    assert_int_equal(sdt_count(&t, SDT_ALICE, answer_key(SID1)), 2);
    n = sdt_last(&t, SDT_ALICE, answer_key(SID1));
    assert_true(strncmp(n->value, "Signature not verified: ", 24) == 0);
    np_free(bad);
    np_free(env);
    np_session_req_free(q);
    sdt_done(&t);
}

/* ---- real sessions ------------------------------------------------------ */

struct cdone {
    int called, reason;
};

static void client_done(struct np_bridge *b, int reason, const char *detail, void *data)
{
    struct cdone *c = data;
    (void)detail;
    c->called++;
    c->reason = reason;
    np_bridge_free(b);
}

static struct np_bridge *client_bridge(struct sdt *t, int multi, int relay_port,
                                       const struct np_bridge_keys *k, int auth_line,
                                       struct cdone *cd)
{
    struct np_bridge_config c;
    struct np_bridge *b = NULL;

    np_bridge_config_init(&c);
    c.side = NP_BRIDGE_CLIENT;
    c.multi = multi;
    c.relay_host = "127.0.0.1";
    c.relay_port = relay_port;
    c.local_port = 0;
    c.timeout_ms = 8000;
    c.keys = *k;
    if (auth_line) {
        c.auth = NP_BRIDGE_AUTH_LINE;
        c.auth_line = "client-line";
        c.auth_line_len = 11;
    }
    c.heartbeat_ms = multi ? 20 : 0; /* we advertise controlChannelHeartbeats */
    c.on_done = client_done;
    c.data = cd;
    assert_int_equal(np_bridge_new(t->base, &c, &b), 0);
    return b;
}

struct ended {
    struct sdt *t;
    uint64_t want;
};

static int sessions_ended(void *arg)
{
    struct ended *e = arg;
    struct sshnpd_stats st;
    sshnpd_get_stats(e->t->d, &st);
    return st.sessions_ended >= e->want && st.sessions_live == 0;
}

static int client_finished(void *arg)
{
    return tb_client_done(arg);
}

/* ssh_request end to end: answer, bundle, relay auth line, bytes. */
static void run_ssh(int twin)
{
    struct sdt t;
    struct tb_relay *relay;
    struct tb_echo *sshd;
    struct tb_client *user;
    struct np_bridge *cb;
    struct np_session_req *q;
    struct np_bridge_keys k;
    struct np_rsa_key *devpub = NULL;
    struct cdone cd = {0, 0};
    const struct sdt_notice *n;
    const struct np_buf *rec;
    const char *nl;
    char permit[64], *env;
    struct ended e = {&t, 1};

    sdt_init(&t);
    relay = tb_relay_new(t.base, TB_AUTH_LINE);
    sshd = tb_echo_new(t.base, BANNER);
    assert_non_null(relay);
    assert_non_null(sshd);
    t.cfg.local_sshd_port = tb_echo_port(sshd);
    snprintf(permit, sizeof(permit), "localhost:%d", tb_echo_port(sshd));
    t.cfg.permit_csv = permit;
    sdt_start(&t);

    q = sdt_req(0, SID1, tb_relay_port(relay, 'b'));
    q->twin_keys = twin ? 1 : -1;
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "ssh_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID1), 3000);
    assert_non_null(n);
    assert_int_equal(n->ttl, 10000);
    assert_int_equal(sdt_unwrap(n->value, SID1, twin, 1, &k), 0);

    cb = client_bridge(&t, 0, tb_relay_port(relay, 'a'), &k, 1, &cd);
    user = tb_client_new(t.base, np_bridge_local_port(cb), 300 * 1000, 7, BANNER);
    assert_non_null(user);
    assert_int_equal(sdt_run_until(&t, client_finished, user, 10000), 0);
    assert_true(tb_client_ok(user));

    /* the daemon's first bytes on the relay: its legacy auth line, signed
     * with the device encryption key over (sid, clientNonce, rvdNonce) */
    rec = tb_relay_rec(relay, 'b', 0);
    assert_non_null(rec);
    nl = memchr(np_buf_ptr(rec), '\n', np_buf_len(rec));
    assert_non_null(nl);
    assert_int_equal(np_rsa_from_public_b64(sdt_keys()->dev_enc_pub, &devpub), 0);
    assert_int_equal(np_relay_auth_line_verify(np_buf_ptr(rec), (size_t)(nl - np_buf_ptr(rec)),
                                               devpub, SID1, q->client_nonce, q->rvd_nonce),
                     0);
    /* then ciphertext: the banner never appears in clear */
    assert_null(memmem(nl, np_buf_len(rec) - (size_t)(nl - np_buf_ptr(rec)), "SSH-2.0", 7));

    tb_client_free(user);
    assert_int_equal(sdt_run_until(&t, sessions_ended, &e, 5000), 0);
    np_rsa_free(devpub);
    np_memzero(&k, sizeof(k));
    np_free(env);
    np_session_req_free(q);
    tb_relay_free(relay);
    tb_echo_free(sshd);
    sdt_run_for(&t, 10);
    assert_int_equal(cd.called, 1);
    sdt_done(&t);
}

static void test_ssh_single_key(void **state)
{
    (void)state;
    run_ssh(0);
}

static void test_ssh_twin_keys(void **state)
{
    (void)state;
    run_ssh(1);
}

static void test_npt_multi_three(void **state)
{
    struct sdt t;
    struct tb_relay *relay;
    struct tb_echo *svc;
    struct tb_client *users[3];
    struct np_bridge *cb;
    struct np_session_req *q;
    struct np_bridge_keys k;
    struct cdone cd = {0, 0};
    const struct sdt_notice *n;
    struct np_bridge_stats bst;
    char permit[64], *env;
    struct ended e = {&t, 1};
    (void)state;

    sdt_init(&t);
    relay = tb_relay_new(t.base, TB_AUTH_NONE);
    svc = tb_echo_new(t.base, NULL);
    snprintf(permit, sizeof(permit), "127.0.0.1:%d", tb_echo_port(svc));
    t.cfg.permit_csv = permit;
    sdt_start(&t);
    q = sdt_req(1, SID2, tb_relay_port(relay, 'b'));
    q->authenticate_to_rvd = 0;
    np_free(q->requested_host);
    q->requested_host = np_strdup("127.0.0.1");
    q->requested_port = tb_echo_port(svc);
    q->timeout_ms = 1500;
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "npt_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID2), 3000);
    assert_non_null(n);
    assert_int_equal(sdt_unwrap(n->value, SID2, 0, 0, &k), 0);

    cb = client_bridge(&t, 1, tb_relay_port(relay, 'a'), &k, 0, &cd);
    for (int i = 0; i < 3; i++) {
        users[i] = tb_client_new(t.base, np_bridge_local_port(cb), 100 * 1000 + 1000 * i,
                                 (uint32_t)(11 + i), NULL);
        assert_non_null(users[i]);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sdt_run_until(&t, client_finished, users[i], 10000), 0);
        assert_true(tb_client_ok(users[i]));
    }
    assert_int_equal(tb_echo_accepted(svc), 3);
    assert_int_equal(tb_relay_pairs(relay), 4); /* control + 3 data */
    sdt_run_for(&t, 60); /* a few heartbeats on the control channel: ignored */
    for (int i = 0; i < 3; i++)
        assert_true(tb_client_ok(users[i]));
    np_bridge_get_stats(cb, &bst);
    assert_int_equal(bst.ctl_connects, 3);
    assert_true(bst.heartbeats >= 1);
    for (int i = 0; i < 3; i++)
        tb_client_free(users[i]);
    np_bridge_free(cb); /* the client leaves: the control channel ends the session */
    assert_int_equal(sdt_run_until(&t, sessions_ended, &e, 5000), 0);
    np_memzero(&k, sizeof(k));
    np_free(env);
    np_session_req_free(q);
    tb_relay_free(relay);
    tb_echo_free(svc);
    sdt_done(&t);
}

static void test_session_timeout_and_limit(void **state)
{
    struct sdt t;
    struct tb_relay *relay;
    struct np_session_req *q;
    const struct sdt_notice *n;
    struct np_bridge_keys k;
    char *env;
    struct ended e = {&t, 1};
    (void)state;

    sdt_init(&t);
    relay = tb_relay_new(t.base, TB_AUTH_NONE);
    t.cfg.max_sessions = 1;
    t.cfg.permit_csv = "*:*";
    sdt_start(&t);
    q = sdt_req(1, SID1, tb_relay_port(relay, 'b'));
    q->authenticate_to_rvd = 0;
    q->timeout_ms = 1000;
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "npt_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID1), 3000);
    assert_non_null(n);
    assert_int_equal(sdt_unwrap(n->value, SID1, 0, 0, &k), 0);
    np_free(env);
    /* a second session is over the limit */
    np_free(q->session_id);
    q->session_id = np_strdup(SID2);
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "npt_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID2), 3000);
    assert_non_null(n);
    assert_non_null(strstr(n->value, "too many sessions"));
    /* nobody comes: the first one times out on its own */
    assert_int_equal(sdt_run_until(&t, sessions_ended, &e, 5000), 0);
    np_free(env);
    np_session_req_free(q);
    tb_relay_free(relay);
    sdt_done(&t);
}

/* ---- ESCR: a relay stand-in that checks the daemon's response ----------- */

struct escr_relay {
    struct event_base *base;
    struct evconnlistener *l;
    struct bufferevent *bev;
    int port;
    char challenge[64];
    const char *aes_key;
    int verified, failed;
    struct np_buf *data; /* bytes after the response */
};

static void er_read(struct bufferevent *bev, void *arg)
{
    struct escr_relay *er = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    if (!er->verified && !er->failed) {
        struct np_escr_response *resp = NULL;
        struct np_rsa_key *pub = NULL;
        size_t n;
        char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);

        if (!line)
            return;
        if (np_escr_response_parse(line, n, er->aes_key, SID1, er->challenge, 'b', SDT_DEVICE,
                                   &resp) == 0 &&
            strcmp(np_escr_response_sk(resp), "public:_apsk.primary.a.__e@device") == 0 &&
            np_rsa_from_public_b64(sdt_keys()->dev_pkam_pub, &pub) == 0 &&
            np_escr_response_verify(resp, pub) == 0) {
            er->verified = 1;
            bufferevent_write(bev, "ok\n", 3);
        } else {
            er->failed = 1;
        }
        np_rsa_free(pub);
        np_escr_response_free(resp);
        free(line);
    }
    while (evbuffer_get_length(in) > 0) {
        char buf[4096];
        int k = evbuffer_remove(in, buf, sizeof(buf));
        if (k <= 0)
            break;
        np_buf_put(er->data, buf, (size_t)k);
    }
}

static void er_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    (void)arg;
}

static void er_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    struct escr_relay *er = arg;
    char *c = NULL;
    (void)l;
    (void)sa;
    (void)len;

    if (er->bev) { /* one socket is all this test needs */
        close(fd);
        return;
    }
    er->bev = bufferevent_socket_new(er->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(er->bev, er_read, NULL, er_event, er);
    bufferevent_enable(er->bev, EV_READ | EV_WRITE);
    assert_int_equal(np_escr_challenge_new(&c), 0);
    snprintf(er->challenge, sizeof(er->challenge), "%s", c);
    np_free(c);
    bufferevent_write(er->bev, er->challenge, strlen(er->challenge));
    bufferevent_write(er->bev, "\n", 1);
}

static int er_got_banner(void *arg)
{
    struct escr_relay *er = arg;
    return er->failed || np_buf_len(er->data) >= strlen(BANNER);
}

static void test_ssh_escr(void **state)
{
    struct sdt t;
    struct escr_relay er;
    struct tb_echo *sshd;
    struct np_session_req *q;
    struct np_bridge_keys k;
    struct np_aes_ctr *dec = NULL;
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    const struct sdt_notice *n;
    char permit[64], *env, plain[64];
    struct ended e = {&t, 1};
    (void)state;

    sdt_init(&t);
    memset(&er, 0, sizeof(er));
    er.base = t.base;
    er.aes_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    er.data = np_buf_new(1 << 20);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    er.l =
        evconnlistener_new_bind(t.base, er_accept, &er, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                16, (struct sockaddr *)&sin, sizeof(sin));
    assert_non_null(er.l);
    getsockname(evconnlistener_get_fd(er.l), (struct sockaddr *)&sin, &sl);
    er.port = ntohs(sin.sin_port);
    sshd = tb_echo_new(t.base, BANNER);
    t.cfg.local_sshd_port = tb_echo_port(sshd);
    snprintf(permit, sizeof(permit), "localhost:%d", tb_echo_port(sshd));
    t.cfg.permit_csv = permit;
    t.cfg.ssh_timeout_ms = 5000;
    sdt_start(&t);

    q = sdt_req(0, SID1, er.port);
    q->relay_auth_mode = np_strdup("escr");
    q->relay_auth_aes_key = np_strdup(er.aes_key);
    env = sdt_sign(q, sdt_keys()->alice);
    assert_int_equal(sdt_send(&t, SDT_ALICE, "ssh_request", env), 0);
    n = sdt_wait(&t, SDT_ALICE, answer_key(SID1), 3000);
    assert_non_null(n);
    assert_int_equal(sdt_unwrap(n->value, SID1, 0, 1, &k), 0);
    assert_int_equal(sdt_run_until(&t, er_got_banner, &er, 5000), 0);
    assert_int_equal(er.verified, 1);
    assert_int_equal(er.failed, 0);
    /* what followed "ok" is the sshd banner under the session key */
    assert_int_equal(np_aes_ctr_new(k.d2c_key, k.d2c_iv, &dec), 0);
    memcpy(plain, np_buf_ptr(er.data), strlen(BANNER));
    assert_int_equal(np_aes_ctr_apply(dec, plain, strlen(BANNER)), 0);
    assert_memory_equal(plain, BANNER, strlen(BANNER));
    np_aes_ctr_free(dec);
    /* close the relay side: the session ends */
    bufferevent_free(er.bev);
    er.bev = NULL;
    assert_int_equal(sdt_run_until(&t, sessions_ended, &e, 5000), 0);
    evconnlistener_free(er.l);
    np_buf_free(er.data);
    tb_echo_free(sshd);
    np_memzero(&k, sizeof(k));
    np_free(env);
    np_session_req_free(q);
    sdt_done(&t);
}

static int group_teardown(void **state)
{
    (void)state;
    sdt_keys_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_manager),
        cmocka_unit_test(test_device_info_flags),
        cmocka_unit_test(test_unauthorized_gets_nothing),
        cmocka_unit_test(test_not_for_us),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_policy_authorizes),
        cmocka_unit_test(test_policy_denies),
        cmocka_unit_test(test_policy_timeout_and_cache_expiry),
        cmocka_unit_test(test_policy_nack_and_forgery),
        cmocka_unit_test(test_policy_manager_skips_rpc),
        cmocka_unit_test(test_free_while_pending),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_sshpublickey),
        cmocka_unit_test(test_permit_denied_texts),
        cmocka_unit_test(test_policy_permit_denied),
        cmocka_unit_test(test_no_et_refused),
        cmocka_unit_test(test_signature_refetch_then_error),
        cmocka_unit_test(test_signature_refetch_succeeds),
        cmocka_unit_test(test_signature_lookup_fails),
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_ssh_single_key),
        cmocka_unit_test(test_ssh_twin_keys),
        cmocka_unit_test(test_npt_multi_three),
        cmocka_unit_test(test_session_timeout_and_limit),
        cmocka_unit_test(test_ssh_escr),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, group_teardown);
}
