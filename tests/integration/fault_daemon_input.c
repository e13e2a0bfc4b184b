/*
 * Bad input from authenticated peers to the daemons (issue 9, item 5).
 * Real atdirectory, atserver, sshnpd (@bob🛠, device "garage", manager
 * @alice🛠, --rate-limit 0 so that every message is parsed) and srvd
 * (@relay1, manager @alice🛠, --rate-limit 0) on 127.0.0.1.
 *
 *   1. sshnpd: the manager @alice🛠 sends, for every message type the daemon
 *      knows (ping, sshpublickey, ssh_request, npt_request, sshd,
 *      privatekey) and an unknown one, values that are not JSON, JSON of
 *      every wrong type, 100,000-deep arrays and objects, envelopes with
 *      mistyped members or payloads, a well-formed envelope with a bad
 *      signature, invalid UTF-8 and a 600 KB value; a stranger (@relay1)
 *      sends the same. The daemon keeps running, answers nothing but error
 *      strings (never a success answer), and then handles a well-formed,
 *      signed npt_request completely: its answer (a refusal by
 *      --permit-open, carrying our session id) proves the whole path works.
 *   2. srvd: the manager sends request_ports values of the same kinds; srvd
 *      keeps running and answers a good request (fresh session id).
 *   3. SIGTERM stops both with status 0 (and without leak reports in
 *      sanitizer builds: itest checks every child it reaps).
 *
 * One notification whose monitor line exceeds the daemons' 1 MiB line
 * bound (any atSign can send one, e.g. a 2 MB value) is skipped by the
 * monitor (test_srvd_oversized): before, lib/at dropped the monitor,
 * reconnected and got the same notification replayed until it expired,
 * so the daemon heard nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at/client_sync.h"
#include "at/monitor.h"
#include "crypto/atkeys.h"
#include "crypto/rand.h"
#include "crypto/rsa.h"
#include "fault_common.h"
#include "itest.h"
#include "np/envelope.h"
#include "np/messages.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#define DEEP 100000

static struct itest_at env;
static struct itest_demo demo;
static struct fault_proc npd = {-1, ""}, rvd = {-1, ""};
static const char *const no_rate[] = {"--rate-limit", "0", NULL};

static void dump_all(void)
{
    itest_dump_file("sshnpd log", npd.log);
    itest_dump_file("srvd log", rvd.log);
}

static int group_setup(void **state)
{
    (void)state;
    np_log_set_level(NP_LOG_WARN);
    if (itest_at_setup(&env, "fault-input") != 0 || itest_at_demo(&env, 1, &demo) != 0)
        return -1;
    if (fault_start_sshnpd(&env, &demo, 22, no_rate, "sshnpd", 30000, &npd) != 0 ||
        fault_start_srvd(&env, &demo, NULL, no_rate, "srvd", 30000, &rvd) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(npd.pid, 10000, NULL);
    itest_stop(rvd.pid, 40000, NULL);
    itest_demo_free(&demo);
    itest_at_teardown(&env);
    return 0;
}

/* ---- the garbage -------------------------------------------------------- */

/* prefix, depth x open, middle, depth x close, suffix: a new string */
static char *deep(const char *prefix, const char *open, const char *middle, const char *close,
                  const char *suffix, size_t depth)
{
    size_t lo = strlen(open), lc = strlen(close);
    size_t n = strlen(prefix) + depth * (lo + lc) + strlen(middle) + strlen(suffix);
    char *s = np_malloc(n + 1), *p;

    assert_non_null(s);
    p = s + strlen(prefix);
    memcpy(s, prefix, strlen(prefix));
    for (size_t i = 0; i < depth; i++, p += lo)
        memcpy(p, open, lo);
    memcpy(p, middle, strlen(middle));
    p += strlen(middle);
    for (size_t i = 0; i < depth; i++, p += lc)
        memcpy(p, close, lc);
    memcpy(p, suffix, strlen(suffix) + 1);
    return s;
}

/* A string of n copies of c inside prefix/suffix (a new string). */
static char *filled(const char *prefix, char c, size_t n, const char *suffix)
{
    char *s = np_malloc(strlen(prefix) + n + strlen(suffix) + 1);

    assert_non_null(s);
    memcpy(s, prefix, strlen(prefix));
    memset(s + strlen(prefix), c, n);
    memcpy(s + strlen(prefix) + n, suffix, strlen(suffix) + 1);
    return s;
}

#define N_GARBAGE 24

/* The bad values, as new strings (free with free_garbage). */
static void make_garbage(char *g[N_GARBAGE])
{
    static const char *const fixed[] = {
        " ",
        "garbage{",
        "null",
        "[]",
        "123",
        "-1e999999",
        "\"a string\"",
        "true",
        "{}",
        "{\"payload\":5,\"signature\":{},\"hashingAlgo\":1,\"signingAlgo\":[]}",
        "{\"payload\":{\"sessionId\":5,\"host\":[],\"port\":\"x\",\"rvdPort\":{},"
        "\"requestedPort\":-99999999999999999999,\"timeout\":\"soon\"},"
        "\"signature\":\"AAAA\",\"hashingAlgo\":\"sha256\",\"signingAlgo\":\"rsa2048\"}",
        "{\"payload\":{\"sessionId\":\"s1\",\"host\":\"127.0.0.1\",\"port\":1,"
        "\"clientNonce\":\"n\",\"rvdNonce\":\"r\",\"encryptRvdTraffic\":true,"
        "\"clientEphemeralPK\":\"AAAA\",\"clientEphemeralPKType\":\"rsa2048\"},"
        "\"signature\":\"AAAA\",\"hashingAlgo\":\"sha999\",\"signingAlgo\":\"rsa2048\"}",
        "{\"payload\":{\"sessionId\":\"s2\"},\"signature\":\"not base64!\","
        "\"hashingAlgo\":\"sha256\",\"signingAlgo\":\"rsa2048\"}",
        "\xff\xfe{\"payload\":\"\xc0\x80\"}",
        "{\"sessionId\":\"\xed\xa0\x80\",\"atSignA\":\"@alice\xf0\x9f\x9b\xa0\","
        "\"atSignB\":\"\xff\",\"clientNonce\":\"\x01\"}",
        "{\"sessionId\":\"s3\",\"atSignA\":5,\"atSignB\":[],\"clientNonce\":{},"
        "\"authenticateSocketA\":\"yes\",\"preFetch\":[1,2,3]}",
        "s4,junk",
        "{\"a\":1,\"a\":2,\"a\":{\"a\":[]}}",
    };
    size_t i = 0;

    for (; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        assert_non_null(g[i] = np_strdup(fixed[i]));
    g[i++] = deep("", "[", "", "]", "", DEEP);
    g[i++] = deep("", "{\"a\":", "1", "}", "", DEEP / 5);
    g[i++] = deep("{\"payload\":", "[", "", "]", ",\"signature\":\"x\"}", DEEP);
    g[i++] = deep("{\"payload\":{\"sessionId\":\"s5\",\"x\":", "{\"y\":", "0", "}",
                  "},\"signature\":\"x\",\"hashingAlgo\":\"sha256\",\"signingAlgo\":\"rsa2048\"}",
                  DEEP / 5);
    g[i++] = filled("{\"payload\":{\"sessionId\":\"", 's', 600 * 1024, "\"}}");
    g[i++] = filled("", '{', 100 * 1024, "");
    assert_int_equal(i, N_GARBAGE);
}

static void free_garbage(char *g[N_GARBAGE])
{
    for (int i = 0; i < N_GARBAGE; i++)
        np_free(g[i]);
}

/* ---- answers seen by @alice ------------------------------------------ */

struct seen {
    struct at_sync *s;
    const char *sid; /* stop when this session's answer came */
    int answers, successes, heartbeats, probe;
    char probe_value[1024];
};

static void on_seen(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    struct seen *w = data;
    (void)m;

    if (!n->from || !n->key || strcmp(n->from, ITEST_BOB) != 0 || !strstr(n->key, ".sshnp"))
        return;
    if (strstr(n->key, "heartbeat." FAULT_DEVICE) || strstr(n->key, "device_info") ||
        strstr(n->key, "username")) {
        w->heartbeats++;
        return;
    }
    w->answers++;
    if (n->value && n->value_len > 0 && n->value[0] == '{')
        w->successes++;
    if (w->sid && strstr(n->key, w->sid)) {
        w->probe++;
        snprintf(w->probe_value, sizeof(w->probe_value), "%.*s", (int)n->value_len,
                 n->value ? n->value : "");
        at_sync_stop(w->s);
    }
}

/*
 * Send a well-formed npt_request signed by @alice🛠 for a host the daemon's
 * --permit-open refuses; wait (at most ms, monitoring from since) for its
 * answer. Every answer from the daemon seen meanwhile is counted in *w.
 */
static void probe_npt(int64_t since, int ms, struct seen *w)
{
    struct np_session_req rq;
    struct np_rsa_key *priv = NULL;
    struct at_monitor_opts mo;
    struct at_sync *s;
    cJSON *payload = NULL;
    char sid[NP_UUID_STR_LEN + 1], *env_json = NULL;
    int r;

    memset(w, 0, sizeof(*w));
    assert_int_equal(np_uuid4(sid), 0);
    memset(&rq, 0, sizeof(rq));
    rq.npt = 1;
    rq.session_id = sid;
    rq.host = "127.0.0.1";
    rq.port = 9;
    rq.authenticate_to_rvd = 1;
    rq.client_nonce = "probe-nonce";
    rq.rvd_nonce = "probe-rvd-nonce";
    rq.encrypt_rvd_traffic = 1;
    rq.client_ephemeral_pk = demo.ka->enc_public_b64;
    rq.client_ephemeral_pk_type = "rsa2048";
    rq.requested_port = 9;
    rq.requested_host = "192.0.2.1"; /* TEST-NET-1: not in --permit-open */
    rq.timeout_ms = 10000;
    rq.twin_keys = -1;
    assert_int_equal(np_session_req_to_json(&rq, &payload), 0);
    assert_int_equal(np_rsa_from_private_b64(demo.ka->enc_private_b64, &priv), 0);
    assert_int_equal(np_envelope_sign(priv, payload, &env_json), 0);
    cJSON_Delete(payload);
    np_rsa_free(priv);

    assert_non_null(s = fault_open(&env, ITEST_ALICE, demo.ka));
    w->s = s;
    w->sid = sid;
    assert_int_equal(fault_notify(s, ITEST_BOB, "npt_request." FAULT_DEVICE ".sshnp", env_json), 0);
    np_free(env_json);
    memset(&mo, 0, sizeof(mo));
    mo.regex = FAULT_DEVICE "\\.sshnp";
    mo.since_epoch_ms = since;
    r = at_sync_monitor(s, &mo, on_seen, w, ms);
    at_sync_close(s);
    if (r != 0 || w->probe != 1) {
        dump_all();
        fail_msg("sshnpd did not answer the well-formed request (%s)", np_strerror(r));
    }
    if (!strstr(w->probe_value, "denied based on daemon --permit-open"))
        fail_msg("unexpected answer to the probe: %s", w->probe_value);
}

/* ---- tests -------------------------------------------------------------- */

static const char *const types[] = {"ping", "sshpublickey", "ssh_request", "npt_request",
                                    "sshd", "privatekey",   "bogus_type"};

static void test_sshnpd_garbage(void **state)
{
    char *g[N_GARBAGE];
    char key[128];
    struct at_sync *a, *x;
    struct seen w;
    int64_t since = np_wall_ms() - 1000;
    (void)state;

    make_garbage(g);
    assert_non_null(a = fault_open(&env, ITEST_ALICE, demo.ka));
    assert_non_null(x = fault_open(&env, ITEST_RELAY, demo.kr));
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        snprintf(key, sizeof(key), "%s." FAULT_DEVICE ".sshnp", types[t]);
        for (int i = 0; i < N_GARBAGE; i++) {
            assert_int_equal(fault_notify(a, ITEST_BOB, key, g[i]), 0);
            assert_int_equal(fault_notify(x, ITEST_BOB, key, g[i]), 0);
        }
        assert_true(fault_alive(npd.pid));
    }
    at_sync_close(a);
    at_sync_close(x);
    free_garbage(g);

    /* the daemon went through all of it and serves a proper request */
    probe_npt(since, 60000, &w);
    assert_true(fault_alive(npd.pid));
    /* nothing but error strings came back (heartbeats answer pings) */
    assert_int_equal(w.successes, 0);
    assert_true(itest_log_count(npd.log, "not a signed envelope") >= 1);
}

static void test_srvd_garbage(void **state)
{
    char *g[N_GARBAGE];
    struct at_sync *a;
    int pa = 0, pb = 0;
    (void)state;

    make_garbage(g);
    assert_non_null(a = fault_open(&env, ITEST_ALICE, demo.ka));
    for (int i = 0; i < N_GARBAGE; i++)
        assert_int_equal(fault_notify(a, ITEST_RELAY, FAULT_DEVICE ".request_ports.sshrvd", g[i]),
                         0);
    /* the legacy form: any other key in the namespace, value = session id */
    for (int i = 0; i < N_GARBAGE; i++)
        assert_int_equal(fault_notify(a, ITEST_RELAY, FAULT_DEVICE ".sshrvd", g[i]), 0);
    at_sync_close(a);
    free_garbage(g);
    if (fault_relay_request(&env, &demo, 60000, &pa, &pb) != 0) {
        dump_all();
        fail_msg("srvd did not answer a good request after the garbage");
    }
    assert_true(pa > 0 && pb > 0);
    assert_true(fault_alive(rvd.pid));
}

static void test_srvd_oversized(void **state)
{
    char *big = filled("{\"sessionId\":\"", 'z', 2 * 1024 * 1024, "\"}");
    struct at_sync *a;
    int pa = 0, pb = 0;
    (void)state;

    assert_non_null(a = fault_open(&env, ITEST_ALICE, demo.ka));
    assert_int_equal(fault_notify(a, ITEST_RELAY, FAULT_DEVICE ".request_ports.sshrvd", big), 0);
    at_sync_close(a);
    np_free(big);
    /* the monitor skipped it and still hears the next request */
    if (fault_relay_request(&env, &demo, 30000, &pa, &pb) != 0) {
        dump_all();
        fail_msg("srvd did not answer a request after an over-long notification");
    }
    assert_true(pa > 0 && pb > 0);
    assert_true(itest_log_count(rvd.log, "skipped a line of") >= 1);
    assert_int_equal(itest_log_count(rvd.log, "response line too long"), 0);
    assert_true(fault_alive(rvd.pid));
}

/* Both daemons exit cleanly on SIGTERM, with no sanitizer report. */
static void test_sigterm(void **state)
{
    (void)state;
    assert_int_equal(fault_stop_clean(&npd, 10000), 0);
    assert_int_equal(fault_stop_clean(&rvd, 40000), 0);
    assert_int_equal(itest_sanitizer_reports(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sshnpd_garbage),
        cmocka_unit_test(test_srvd_garbage),
        cmocka_unit_test(test_srvd_oversized),
        cmocka_unit_test(test_sigterm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
