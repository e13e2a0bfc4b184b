/*
 * tests/unit/sshnpd/sd_testlib.h - running the sshnpd engine in-process: a
 * test double of its action interface (struct sshnpd_io) that records every
 * notification, put and delete and serves public keys asynchronously from
 * a table; fixture RSA keys; builders for signed session requests; and the
 * client-side checks (verify the answer, unwrap its AES bundle with the
 * ephemeral private key). Bridges, relays and services are real sockets on
 * 127.0.0.1 (tests/unit/np/test_bridge_harness.h).
 */
#ifndef SD_TESTLIB_H
#define SD_TESTLIB_H
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "np/bridge.h"

struct event_base;
struct np_rsa_key;
struct np_session_req;

#define SDT_DEVICE   "@device"
#define SDT_DEVNAME  "garage"
#define SDT_ALICE    "@alice"
#define SDT_EVE      "@eve"
#define SDT_POLICY   "@policy"
#define SDT_MAX      128
#define SDT_MAX_KEYS 8

struct sdt_notice {
    char *to, *key, *value;
    int64_t ttl, ttln;
};

struct sdt_record {
    char *atkey, *value; /* value NULL: a delete */
    int64_t ttl, ttr;
    int ccd;
};

struct sdt_key {
    char atsign[64];
    char *values[4]; /* served in turn; the last one repeats; NULL = lookup fails */
    int n_values;
    int fetches;
};

/* Fixture keys (made once per process). */
struct sdt_keys {
    struct np_rsa_key *dev_enc, *dev_pkam, *alice, *eve, *eph;
    char *dev_enc_pub, *dev_pkam_pub, *alice_pub, *eve_pub, *eph_pub;
};
const struct sdt_keys *sdt_keys(void);
/* Release them (group teardown; keeps leak checkers quiet). */
void sdt_keys_free(void);

struct sdt {
    struct event_base *base;
    struct sshnpd *d;
    struct sshnpd_config cfg;
    const char *managers[4];
    struct sdt_notice notices[SDT_MAX];
    int n_notices;
    struct sdt_record records[SDT_MAX];
    int n_records;
    struct sdt_key keys[SDT_MAX_KEYS];
    int n_keys;
    int key_delay_ms;
    int notify_fail;
    void *fetches; /* in-flight lookups */
    int next_id;
    int fd_start;
};

/* base, config defaults for @device/garage, managers = {@alice}, keys
 * served for @alice (her real key) and @eve. Adjust t->cfg, then start. */
void sdt_init(struct sdt *t);
/* Create the engine (asserts success). */
void sdt_start(struct sdt *t);
/* Free the engine, the loop; checks that no descriptor leaked. */
void sdt_done(struct sdt *t);
/* Serve these values for public:publickey@atsign, in turn. */
void sdt_key_set(struct sdt *t, const char *atsign, const char *v1, const char *v2);
int sdt_key_fetches(const struct sdt *t, const char *atsign);

/* Deliver a notification of `type` ("ping", "npt_request", ...) from
 * `from` with value; returns sshnpd_handle's result. */
int sdt_send(struct sdt *t, const char *from, const char *type, const char *value);
/* Deliver with an explicit full key and id. */
int sdt_send_raw(struct sdt *t, const char *id, const char *from, const char *key,
                 const char *value);

/* Notices sent to `to` whose key is `key` (NULL = any); the last one. */
int sdt_count(const struct sdt *t, const char *to, const char *key);
const struct sdt_notice *sdt_last(const struct sdt *t, const char *to, const char *key);
/* Run the loop until a notice to/key exists (or ms passes); the notice. */
const struct sdt_notice *sdt_wait(struct sdt *t, const char *to, const char *key, int ms);

/* A session request payload (defaults: relay 127.0.0.1:port, nonces, the
 * fixture ephemeral key); caller may change fields before signing. */
struct np_session_req *sdt_req(int npt, const char *sid, int relay_port);
/* Sign it with `signer` into an envelope text (np_free). */
char *sdt_sign(const struct np_session_req *q, const struct np_rsa_key *signer);

/* Check a success answer: verify with the device key, parse, unwrap the
 * bundle with the ephemeral key into *k (mode single or twin). Returns 0. */
int sdt_unwrap(const char *value, const char *sid, int expect_twin, int expect_epk_member,
               struct np_bridge_keys *k);

/* Run until cond(arg) or ms. */
int sdt_run_until(struct sdt *t, int (*cond)(void *), void *arg, int ms);
void sdt_run_for(struct sdt *t, int ms);

#endif
