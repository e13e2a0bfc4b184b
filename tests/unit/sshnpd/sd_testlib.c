/*
 * tests/unit/sshnpd/sd_testlib.c - the sshnpd engine's test double and
 * helpers (see sd_testlib.h). Test code: simple, bounded, one thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "crypto/b64.h"
#include "crypto/rsa.h"
#include "np/envelope.h"
#include "np/messages.h"
#include "sd_testlib.h"
#include "test_bridge_harness.h"
#include "util/alloc.h"
#include "util/err.h"

static struct sdt_keys fixture;

const struct sdt_keys *sdt_keys(void)
{
    if (!fixture.dev_enc) {
        struct {
            struct np_rsa_key **k;
            char **pub;
        } all[] = {{&fixture.dev_enc, &fixture.dev_enc_pub},
                   {&fixture.dev_pkam, &fixture.dev_pkam_pub},
                   {&fixture.alice, &fixture.alice_pub},
                   {&fixture.eve, &fixture.eve_pub},
                   {&fixture.eph, &fixture.eph_pub}};
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
            assert_int_equal(np_rsa_generate(all[i].k), 0);
            assert_int_equal(np_rsa_public_b64(*all[i].k, all[i].pub), 0);
        }
    }
    return &fixture;
}

/* ---- the io double ------------------------------------------------------ */

struct fetch {
    struct fetch *next;
    struct sdt *t;
    struct event *ev;
    sshnpd_key_done_fn done;
    void *arg;
    char *value;
    int status;
};

static int io_notify(void *data, const char *to, const char *key, const char *value, int64_t ttl,
                     int64_t ttln)
{
    struct sdt *t = data;
    struct sdt_notice *n;

    if (t->notify_fail)
        return NP_ERR_CONNECT;
    assert_true(t->n_notices < SDT_MAX);
    n = &t->notices[t->n_notices++];
    n->to = np_strdup(to);
    n->key = np_strdup(key);
    n->value = np_strdup(value ? value : "");
    n->ttl = ttl;
    n->ttln = ttln;
    return 0;
}

static void unlink_fetch(struct sdt *t, struct fetch *f)
{
    struct fetch **p;

    for (p = (struct fetch **)&t->fetches; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            return;
        }
}

static void fetch_free(struct fetch *f)
{
    event_free(f->ev);
    np_free(f->value);
    np_free(f);
}

static void fetch_fire(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *f = arg;
    (void)fd;
    (void)what;

    unlink_fetch(f->t, f);
    f->done(f->arg, f->status, f->status == 0 ? f->value : NULL);
    fetch_free(f);
}

static int io_fetch(void *data, const char *atsign, sshnpd_key_done_fn done, void *arg)
{
    struct sdt *t = data;
    struct sdt_key *k = NULL;
    struct fetch *f;
    struct timeval tv = {0, t->key_delay_ms * 1000};

    for (int i = 0; i < t->n_keys; i++)
        if (strcmp(t->keys[i].atsign, atsign) == 0)
            k = &t->keys[i];
    f = np_calloc(1, sizeof(*f));
    assert_non_null(f);
    f->t = t;
    f->done = done;
    f->arg = arg;
    f->status = NP_ERR_NOTFOUND;
    if (k) {
        int idx = k->fetches < k->n_values ? k->fetches : k->n_values - 1;
        k->fetches++;
        if (idx >= 0 && k->values[idx]) {
            f->value = np_strdup(k->values[idx]);
            f->status = 0;
        }
    }
    f->ev = evtimer_new(t->base, fetch_fire, f);
    assert_non_null(f->ev);
    assert_int_equal(evtimer_add(f->ev, &tv), 0);
    f->next = t->fetches;
    t->fetches = f;
    return 0;
}

static void io_cancel(void *data, void *arg)
{
    struct sdt *t = data;
    struct fetch *f = t->fetches;

    while (f) {
        struct fetch *n = f->next;
        if (f->arg == arg) {
            unlink_fetch(t, f);
            fetch_free(f);
        }
        f = n;
    }
}

static int io_put(void *data, const struct sshnpd_record *rec)
{
    struct sdt *t = data;
    struct sdt_record *r;

    assert_true(t->n_records < SDT_MAX);
    r = &t->records[t->n_records++];
    r->atkey = np_strdup(rec->atkey);
    r->value = np_strdup(rec->value);
    r->ttl = rec->ttl_ms;
    r->ttr = rec->ttr;
    r->ccd = rec->ccd;
    return 0;
}

static int io_del(void *data, const char *atkey)
{
    struct sdt *t = data;
    struct sdt_record *r;

    assert_true(t->n_records < SDT_MAX);
    r = &t->records[t->n_records++];
    r->atkey = np_strdup(atkey);
    r->value = NULL;
    return 0;
}

/* ---- set-up ------------------------------------------------------------- */

void sdt_init(struct sdt *t)
{
    const struct sdt_keys *k = sdt_keys();

    memset(t, 0, sizeof(*t));
    t->fd_start = tb_fd_count();
    t->base = event_base_new();
    assert_non_null(t->base);
    sshnpd_config_defaults(&t->cfg);
    t->cfg.atsign = SDT_DEVICE;
    t->cfg.device = SDT_DEVNAME;
    t->managers[0] = SDT_ALICE;
    t->cfg.managers = t->managers;
    t->cfg.n_managers = 1;
    t->cfg.username = "pi";
    t->cfg.version = "9.9.9";
    t->cfg.core_version = "c9.9.9";
    t->cfg.enc_priv = k->dev_enc;
    t->cfg.pkam_priv = k->dev_pkam;
    t->cfg.pkam_public_b64 = k->dev_pkam_pub;
    sdt_key_set(t, SDT_ALICE, k->alice_pub, NULL);
    sdt_key_set(t, SDT_EVE, k->eve_pub, NULL);
}

void sdt_start(struct sdt *t)
{
    struct sshnpd_io io = {io_notify, io_fetch, io_cancel, io_put, io_del, t};
    char err[128];

    assert_int_equal(sshnpd_new(t->base, &t->cfg, &io, &t->d, err, sizeof(err)), 0);
}

void sdt_done(struct sdt *t)
{
    sshnpd_free(t->d);
    t->d = NULL;
    assert_null(t->fetches); /* every lookup finished or was cancelled */
    event_base_free(t->base);
    for (int i = 0; i < t->n_notices; i++) {
        np_free(t->notices[i].to);
        np_free(t->notices[i].key);
        np_free(t->notices[i].value);
    }
    for (int i = 0; i < t->n_records; i++) {
        np_free(t->records[i].atkey);
        np_free(t->records[i].value);
    }
    for (int i = 0; i < t->n_keys; i++)
        for (int j = 0; j < 4; j++)
            np_free(t->keys[i].values[j]);
    assert_int_equal(tb_fd_count(), t->fd_start);
}

void sdt_key_set(struct sdt *t, const char *atsign, const char *v1, const char *v2)
{
    struct sdt_key *k = NULL;

    for (int i = 0; i < t->n_keys; i++)
        if (strcmp(t->keys[i].atsign, atsign) == 0)
            k = &t->keys[i];
    if (!k) {
        assert_true(t->n_keys < SDT_MAX_KEYS);
        k = &t->keys[t->n_keys++];
        snprintf(k->atsign, sizeof(k->atsign), "%s", atsign);
    }
    for (int j = 0; j < 4; j++) {
        np_free(k->values[j]);
        k->values[j] = NULL;
    }
    k->values[0] = v1 ? np_strdup(v1) : NULL;
    k->values[1] = v2 ? np_strdup(v2) : NULL;
    k->n_values = v2 ? 2 : 1;
    k->fetches = 0;
}

int sdt_key_fetches(const struct sdt *t, const char *atsign)
{
    for (int i = 0; i < t->n_keys; i++)
        if (strcmp(t->keys[i].atsign, atsign) == 0)
            return t->keys[i].fetches;
    return 0;
}

int sdt_send_raw(struct sdt *t, const char *id, const char *from, const char *key,
                 const char *value)
{
    return sshnpd_handle(t->d, id, from, key, value, value ? strlen(value) : 0);
}

int sdt_send(struct sdt *t, const char *from, const char *type, const char *value)
{
    char key[512], id[32];

    snprintf(key, sizeof(key), "%s:%s.%s.sshnp%s", SDT_DEVICE, type, SDT_DEVNAME, from);
    snprintf(id, sizeof(id), "id-%d", ++t->next_id);
    return sdt_send_raw(t, id, from, key, value);
}

int sdt_count(const struct sdt *t, const char *to, const char *key)
{
    int n = 0;

    for (int i = 0; i < t->n_notices; i++)
        if ((!to || strcmp(t->notices[i].to, to) == 0) &&
            (!key || strcmp(t->notices[i].key, key) == 0))
            n++;
    return n;
}

const struct sdt_notice *sdt_last(const struct sdt *t, const char *to, const char *key)
{
    for (int i = t->n_notices - 1; i >= 0; i--)
        if ((!to || strcmp(t->notices[i].to, to) == 0) &&
            (!key || strcmp(t->notices[i].key, key) == 0))
            return &t->notices[i];
    return NULL;
}

struct wait_arg {
    struct sdt *t;
    const char *to, *key;
};

static int has_notice(void *arg)
{
    struct wait_arg *w = arg;
    return sdt_last(w->t, w->to, w->key) != NULL;
}

const struct sdt_notice *sdt_wait(struct sdt *t, const char *to, const char *key, int ms)
{
    struct wait_arg w = {t, to, key};

    tb_run_until(t->base, has_notice, &w, ms);
    return sdt_last(t, to, key);
}

int sdt_run_until(struct sdt *t, int (*cond)(void *), void *arg, int ms)
{
    return tb_run_until(t->base, cond, arg, ms);
}

void sdt_run_for(struct sdt *t, int ms)
{
    tb_run_for(t->base, ms);
}

/* ---- requests and answers ----------------------------------------------- */

struct np_session_req *sdt_req(int npt, const char *sid, int relay_port)
{
    struct np_session_req *q = np_calloc(1, sizeof(*q));

    assert_non_null(q);
    q->npt = npt;
    q->direct = 1;
    q->session_id = np_strdup(sid);
    q->host = np_strdup("127.0.0.1");
    q->port = relay_port;
    q->authenticate_to_rvd = 1;
    q->client_nonce = np_strdup("2024-10-20T10:00:00.123456");
    q->rvd_nonce = np_strdup("2024-10-20T10:00:00.456789");
    q->encrypt_rvd_traffic = 1;
    q->client_ephemeral_pk = np_strdup(sdt_keys()->eph_pub);
    q->client_ephemeral_pk_type = np_strdup("rsa2048");
    q->requested_host = np_strdup("localhost");
    q->requested_port = 22;
    q->timeout_ms = 5000;
    q->twin_keys = -1;
    return q;
}

char *sdt_sign(const struct np_session_req *q, const struct np_rsa_key *signer)
{
    cJSON *p = NULL;
    char *out = NULL;

    assert_int_equal(np_session_req_to_json(q, &p), 0);
    assert_int_equal(np_envelope_sign(signer, p, &out), 0);
    cJSON_Delete(p);
    return out;
}

static void unwrap_one(const char *wrapped, unsigned char *out, size_t want)
{
    unsigned char *txt = NULL;
    size_t n = 0;

    assert_non_null(wrapped);
    assert_int_equal(np_rsa_decrypt_b64(sdt_keys()->eph, wrapped, &txt, &n), 0);
    /* the wrapped plaintext is the base64 TEXT of the key */
    assert_int_equal(n, want == 32 ? 44 : 24);
    assert_int_equal(np_b64_decode_exact((const char *)txt, out, want), 0);
    np_freezero(txt, n + 1);
}

int sdt_unwrap(const char *value, const char *sid, int expect_twin, int expect_epk_member,
               struct np_bridge_keys *k)
{
    struct np_rsa_key *pub = NULL;
    struct np_session_answer *a = NULL;
    cJSON *payload = NULL;
    const cJSON *epk;

    memset(k, 0, sizeof(*k));
    assert_non_null(value);
    assert_int_equal(value[0], '{');
    assert_int_equal(np_rsa_from_public_b64(sdt_keys()->dev_enc_pub, &pub), 0);
    assert_int_equal(np_envelope_verify(value, strlen(value), pub, &payload), 0);
    epk = cJSON_GetObjectItemCaseSensitive(payload, "ephemeralPrivateKey");
    if (expect_epk_member)
        assert_true(epk && cJSON_IsNull(epk));
    else
        assert_null(epk);
    assert_int_equal(np_session_answer_parse(payload, &a, NULL, 0), 0);
    assert_string_equal(a->status, "connected");
    assert_string_equal(a->session_id, sid);
    if (expect_twin) {
        assert_null(a->session_aes_key);
        k->mode = NP_BRIDGE_TWIN_KEYS;
        unwrap_one(a->aes_key_c2d, k->c2d_key, 32);
        unwrap_one(a->iv_c2d, k->c2d_iv, 16);
        unwrap_one(a->aes_key_d2c, k->d2c_key, 32);
        unwrap_one(a->iv_d2c, k->d2c_iv, 16);
        assert_memory_not_equal(k->c2d_key, k->d2c_key, 32);
    } else {
        assert_null(a->aes_key_c2d);
        k->mode = NP_BRIDGE_SINGLE_KEY;
        unwrap_one(a->session_aes_key, k->c2d_key, 32);
        unwrap_one(a->session_iv, k->c2d_iv, 16);
        memcpy(k->d2c_key, k->c2d_key, 32);
        memcpy(k->d2c_iv, k->c2d_iv, 16);
    }
    np_session_answer_free(a);
    cJSON_Delete(payload);
    np_rsa_free(pub);
    return 0;
}

void sdt_keys_free(void)
{
    np_rsa_free(fixture.dev_enc);
    np_rsa_free(fixture.dev_pkam);
    np_rsa_free(fixture.alice);
    np_rsa_free(fixture.eve);
    np_rsa_free(fixture.eph);
    np_free(fixture.dev_enc_pub);
    np_free(fixture.dev_pkam_pub);
    np_free(fixture.alice_pub);
    np_free(fixture.eve_pub);
    np_free(fixture.eph_pub);
    memset(&fixture, 0, sizeof(fixture));
}
