/*
 * lib/at/client_keys.c - the client's key cache and key jobs (atprotocol.md
 * 8.2): our shared key for another atSign (get or create), the key another
 * atSign shared with us, and other atSigns' public encryption keys.
 *
 * A "job" fetches one key with one or more commands on the command
 * connection; every operation that needs that key while the job runs joins
 * it as a waiter, so a key is never created twice by concurrent operations.
 * Results go to the cache (bounded, oldest entry evicted) and to every
 * waiter. Key texts are wiped when dropped.
 */
#include "at/atkey.h"
#include "at/atsign.h"
#include "at/client_int.h"
#include "at/e2e.h"
#include "crypto/aes.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

/* Most cached keys; beyond that the oldest goes. */
#define KC_MAX 4096
/* ttr of the recipient's copy, as the Dart client writes it (8.2). */
#define SHARED_KEY_TTR 3888000
/* Longest key text kept (an RSA-4096 SPKI in base64 is ~740 bytes). */
#define KC_VALUE_MAX 4096

struct kc_entry {
    enum at_keykind kind;
    char atsign[AT_ATSIGN_BUF];
    char *value;
    struct kc_entry *next;
};

struct keyjob;

struct at_keywait {
    struct keyjob *job;
    at_keywait_fn fn;
    void *arg;
    struct at_keywait *next;
};

struct keyjob {
    struct at_client *c;
    enum at_keykind kind;
    char atsign[AT_ATSIGN_BUF];
    unsigned flags;
    int step;
    struct at_conn_req *req;
    struct at_keywait *waiters;
    char key[AT_E2E_KEY_B64_BUF]; /* secret */
    char *pub_b64;                /* MINE create: the other's public key */
    struct keyjob *next;
};

struct keystate {
    struct kc_entry *cache; /* newest first */
    size_t n;
    struct keyjob *jobs;
};

static struct keystate *ks_get(struct at_client *c, bool create)
{
    void **slot = at_client__keys_slot(c);

    if (!*slot && create)
        *slot = np_calloc(1, sizeof(struct keystate));
    return *slot;
}

static void kc_free(struct kc_entry *e)
{
    np_freezero_str(e->value);
    np_free(e);
}

/* ---- cache ---- */

static struct kc_entry **kc_find(struct keystate *ks, enum at_keykind kind, const char *atsign)
{
    for (struct kc_entry **pp = &ks->cache; *pp; pp = &(*pp)->next)
        if ((*pp)->kind == kind && strcmp((*pp)->atsign, atsign) == 0)
            return pp;
    return NULL;
}

static int norm(const char *in, char out[AT_ATSIGN_BUF])
{
    if (!in)
        return NP_ERR_INVAL;
    return at_atsign_normalise(in, strlen(in), out, AT_ATSIGN_BUF) == 0 ? 0 : NP_ERR_INVAL;
}

int at_client__cached_key(struct at_client *c, enum at_keykind kind, const char *atsign, char *out,
                          size_t size)
{
    struct keystate *ks = ks_get(c, false);
    char a[AT_ATSIGN_BUF];
    struct kc_entry **pp;

    if (out && size)
        out[0] = '\0';
    if (!ks || norm(atsign, a) != 0 || (pp = kc_find(ks, kind, a)) == NULL)
        return NP_ERR_NOTFOUND;
    if (!out || strlen((*pp)->value) >= size)
        return NP_ERR_TOOBIG;
    memcpy(out, (*pp)->value, strlen((*pp)->value) + 1);
    return 0;
}

int at_client__cache_key(struct at_client *c, enum at_keykind kind, const char *atsign,
                         const char *value)
{
    struct keystate *ks = ks_get(c, true);
    char a[AT_ATSIGN_BUF];
    struct kc_entry **pp, *e;
    char *v;

    if (!ks)
        return NP_ERR_NOMEM;
    if (norm(atsign, a) != 0 || !value || strlen(value) >= KC_VALUE_MAX)
        return NP_ERR_INVAL;
    if ((v = np_strdup(value)) == NULL)
        return NP_ERR_NOMEM;
    if ((pp = kc_find(ks, kind, a)) != NULL) {
        np_freezero_str((*pp)->value);
        (*pp)->value = v;
        return 0;
    }
    if ((e = np_calloc(1, sizeof(*e))) == NULL) {
        np_freezero_str(v);
        return NP_ERR_NOMEM;
    }
    e->kind = kind;
    memcpy(e->atsign, a, sizeof(a));
    e->value = v;
    e->next = ks->cache;
    ks->cache = e;
    if (++ks->n > KC_MAX) {
        struct kc_entry **last = &ks->cache;
        while ((*last)->next)
            last = &(*last)->next;
        kc_free(*last);
        *last = NULL;
        ks->n--;
    }
    return 0;
}

void at_client__drop_key(struct at_client *c, enum at_keykind kind, const char *atsign)
{
    struct keystate *ks = ks_get(c, false);
    char a[AT_ATSIGN_BUF];
    struct kc_entry **pp, *e;

    if (!ks || norm(atsign, a) != 0 || (pp = kc_find(ks, kind, a)) == NULL)
        return;
    e = *pp;
    *pp = e->next;
    kc_free(e);
    ks->n--;
}

void at_client_forget_keys(struct at_client *c, const char *atsign)
{
    if (!c)
        return;
    at_client__drop_key(c, AT_KK_MINE, atsign);
    at_client__drop_key(c, AT_KK_THEIRS, atsign);
    at_client__drop_key(c, AT_KK_PUB, atsign);
}

int at_client__unwrap(struct at_client *c, const char *wrapped, char out[45])
{
    const struct np_rsa_key *priv = at_client__enc_private(c);

    if (!priv)
        return NP_ERR_INVAL;
    return at_e2e_unwrap_key(priv, wrapped, out);
}

/* ---- jobs ---- */

static void job_free(struct keyjob *j)
{
    struct at_keywait *w, *next;

    for (w = j->waiters; w; w = next) {
        next = w->next;
        np_free(w);
    }
    if (j->req)
        at_conn_cancel(at_client__conn(j->c), j->req);
    np_free(j->pub_b64);
    np_memzero(j->key, sizeof(j->key));
    np_free(j);
}

static void job_unlink(struct keyjob *j)
{
    struct keystate *ks = ks_get(j->c, false);

    for (struct keyjob **pp = &ks->jobs; *pp; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            return;
        }
    }
}

/* Hand the result to every waiter and free the job. */
static void job_finish_code(struct keyjob *j, int err, int at_code, const char *value,
                            const char *msg)
{
    struct at_keywait *w = j->waiters;

    job_unlink(j);
    j->waiters = NULL;
    j->req = NULL;
    if (err)
        np_debug("%s: key for %s not available: %s", at_client_atsign(j->c), j->atsign,
                 msg ? msg : np_strerror(err));
    while (w) {
        struct at_keywait *next = w->next;
        at_keywait_fn fn = w->fn;
        void *arg = w->arg;
        np_free(w);
        fn(arg, err, at_code, value, msg);
        w = next;
    }
    job_free(j);
}

static void job_finish(struct keyjob *j, int err, const char *value, const char *msg)
{
    job_finish_code(j, err, -1, value, msg);
}

static void job_fail_outcome(struct keyjob *j, const struct at_conn_outcome *o, const char *what)
{
    char msg[700];

    if (o->err) {
        snprintf(msg, sizeof(msg), "%s: %s", what, o->msg ? o->msg : np_strerror(o->err));
        job_finish(j, o->err, NULL, msg);
        return;
    }
    snprintf(msg, sizeof(msg), "%s: %s", what,
             o->resp->message ? o->resp->message : "unexpected answer");
    if (o->resp->kind == AT_RESP_ERROR)
        job_finish_code(j, at_client_err_from_code(o->resp->code), o->resp->code, NULL, msg);
    else
        job_finish(j, NP_ERR_PROTO, NULL, msg);
}

/* Absent: AT0015, or data:null (expired). */
static bool is_absent(const struct at_conn_outcome *o)
{
    if (o->err)
        return false;
    if (o->resp->kind == AT_RESP_ERROR)
        return o->resp->code == 15;
    return o->resp->kind == AT_RESP_DATA && o->resp->payload_len == 4 &&
           memcmp(o->resp->payload, "null", 4) == 0;
}

static void job_resp(void *arg, const struct at_conn_outcome *o);

static void job_send(struct keyjob *j, struct np_buf *b, int r)
{
    char msg[400];

    if (r == 0) {
        if (!b)
            r = NP_ERR_NOMEM;
        else
            r = at_conn_cmd(at_client__conn(j->c), np_buf_ptr(b), at_client__request_timeout(j->c),
                            false, job_resp, j, &j->req);
    }
    np_buf_free(b);
    if (r != 0) {
        snprintf(msg, sizeof(msg), "cannot send the key lookup for %s", j->atsign);
        job_finish(j, r, NULL, msg);
    }
}

/* Build "<verb>:...<key>" for the job's atSign; form PLAIN. */
static int build_lookup(struct np_buf *b, enum at_verb verb, int bypass, const char *with,
                        const char *entity, const char *owner)
{
    struct at_key k;
    int r;

    if (!b)
        return NP_ERR_NOMEM;
    if ((r = at_key_make(&k, AT_KEY_FORM_PLAIN, with, entity, owner, false)) != 0)
        return r;
    return at_build_lookup(b, verb, AT_LOOKUP_VALUE, bypass, &k);
}

enum { S_MY_LLOOKUP = 1, S_PLOOKUP, S_UPDATE_MINE, S_UPDATE_THEIRS, S_THEIRS, S_PUB };

static void mine_store_own(struct keyjob *j);

/* Other's public key is known (j->pub_b64): create and store a new key. */
static void mine_create(struct keyjob *j)
{
    char *k = NULL;
    int r = np_aes_new_key_b64(&k);

    if (r != 0) {
        job_finish(j, r, NULL, "cannot generate a shared key");
        return;
    }
    memcpy(j->key, k, AT_E2E_KEY_B64_BUF - 1);
    j->key[AT_E2E_KEY_B64_BUF - 1] = '\0';
    np_freezero_str(k);
    mine_store_own(j);
}

static void mine_store_own(struct keyjob *j)
{
    const char *me = at_client_atsign(j->c);
    char entity[AT_KEY_BUF];
    char *wrapped = NULL;
    struct np_buf *b = NULL;
    struct at_key k;
    int r;

    snprintf(entity, sizeof(entity), "shared_key.%s", j->atsign + 1);
    if ((r = at_e2e_wrap_key(at_client__enc_private(j->c), j->key, &wrapped)) == 0 &&
        (r = at_key_make(&k, AT_KEY_FORM_PLAIN, NULL, entity, me, false)) == 0) {
        b = np_buf_new(8192);
        r = b ? at_build_update(b, NULL, &k, wrapped) : NP_ERR_NOMEM;
    }
    np_free(wrapped);
    j->step = S_UPDATE_MINE;
    job_send(j, b, r);
}

static void mine_store_theirs(struct keyjob *j)
{
    struct np_rsa_key *pub = NULL;
    struct at_metadata md;
    char *wrapped = NULL;
    struct np_buf *b = NULL;
    struct at_key k;
    int r;

    at_metadata_init(&md);
    if ((r = np_rsa_from_public_b64(j->pub_b64, &pub)) == 0 &&
        (r = at_e2e_wrap_key(pub, j->key, &wrapped)) == 0 &&
        (r = at_key_make(&k, AT_KEY_FORM_PLAIN, j->atsign, "shared_key", at_client_atsign(j->c),
                         false)) == 0 &&
        (r = at_metadata_set_int(&md, AT_MD_TTR, SHARED_KEY_TTR)) == 0) {
        b = np_buf_new(8192);
        r = b ? at_build_update(b, &md, &k, wrapped) : NP_ERR_NOMEM;
    }
    at_metadata_clear(&md);
    np_rsa_free(pub);
    np_free(wrapped);
    j->step = S_UPDATE_THEIRS;
    job_send(j, b, r);
}

static void send_plookup(struct keyjob *j, int step)
{
    struct np_buf *b = np_buf_new(1024);
    int r = build_lookup(b, AT_VERB_PLOOKUP, (j->flags & AT_KW_REFRESH) ? 1 : -1, NULL, "publickey",
                         j->atsign);

    j->step = step;
    job_send(j, b, r);
}

/* A public key answer: validate, cache, keep. */
static int take_pub(struct keyjob *j, const struct at_response *resp)
{
    struct np_rsa_key *pub = NULL;
    char *text = np_memdup0(resp->payload, resp->payload_len);
    int r;

    if (!text)
        return NP_ERR_NOMEM;
    if ((r = np_rsa_from_public_b64(text, &pub)) != 0) {
        np_free(text);
        return r;
    }
    np_rsa_free(pub);
    np_free(j->pub_b64);
    j->pub_b64 = text;
    at_client__cache_key(j->c, AT_KK_PUB, j->atsign, text);
    return 0;
}

/* A new copy of a cached key text, or NULL. */
static char *cached_copy(struct at_client *c, enum at_keykind kind, const char *atsign)
{
    char *buf = np_malloc(KC_VALUE_MAX);
    char *r = NULL;

    if (buf && at_client__cached_key(c, kind, atsign, buf, KC_VALUE_MAX) == 0)
        r = np_strdup(buf);
    np_freezero(buf, KC_VALUE_MAX);
    return r;
}

static void job_resp(void *arg, const struct at_conn_outcome *o)
{
    struct keyjob *j = arg;
    char msg[800];
    char *text = NULL;
    int r;

    j->req = NULL;
    switch (j->step) {
    case S_MY_LLOOKUP:
    case S_THEIRS:
        if (is_absent(o)) {
            if (j->step == S_MY_LLOOKUP && (j->flags & AT_KW_CREATE)) {
                if ((j->pub_b64 = cached_copy(j->c, AT_KK_PUB, j->atsign)) != NULL)
                    mine_create(j);
                else
                    send_plookup(j, S_PLOOKUP);
                return;
            }
            snprintf(msg, sizeof(msg),
                     j->step == S_THEIRS ? "%s has not shared an encryption key with us"
                                         : "we have no shared key for %s",
                     j->atsign);
            job_finish(j, NP_ERR_NOTFOUND, NULL, msg);
            return;
        }
        if (!at_op_is_data(o)) {
            job_fail_outcome(j, o, "shared key lookup failed");
            return;
        }
        if ((text = np_memdup0(o->resp->payload, o->resp->payload_len)) == NULL) {
            job_finish(j, NP_ERR_NOMEM, NULL, NULL);
            return;
        }
        r = at_client__unwrap(j->c, text, j->key);
        np_free(text);
        if (r != 0) {
            snprintf(msg, sizeof(msg), "cannot decrypt the shared key %s %s with our private key",
                     j->step == S_THEIRS ? "from" : "for", j->atsign);
            job_finish(j, r, NULL, msg);
            return;
        }
        at_client__cache_key(j->c, j->kind, j->atsign, j->key);
        job_finish(j, 0, j->key, NULL);
        return;
    case S_PLOOKUP:
    case S_PUB:
        if (is_absent(o)) {
            snprintf(msg, sizeof(msg), "%s has no public encryption key (public:publickey%s)",
                     j->atsign, j->atsign);
            job_finish(j, NP_ERR_NOTFOUND, NULL, msg);
            return;
        }
        if (!at_op_is_data(o)) {
            job_fail_outcome(j, o, "public key lookup failed");
            return;
        }
        if ((r = take_pub(j, o->resp)) != 0) {
            snprintf(msg, sizeof(msg), "the public key of %s does not parse", j->atsign);
            job_finish(j, r, NULL, msg);
            return;
        }
        if (j->step == S_PUB)
            job_finish(j, 0, j->pub_b64, NULL);
        else
            mine_create(j);
        return;
    case S_UPDATE_MINE:
        if (!at_op_is_data(o)) {
            job_fail_outcome(j, o, "cannot store our copy of the shared key");
            return;
        }
        mine_store_theirs(j);
        return;
    case S_UPDATE_THEIRS:
        if (!at_op_is_data(o)) {
            job_fail_outcome(j, o, "cannot store the recipient's copy of the shared key");
            return;
        }
        np_debug("%s: created a shared key for %s", at_client_atsign(j->c), j->atsign);
        at_client__cache_key(j->c, AT_KK_MINE, j->atsign, j->key);
        job_finish(j, 0, j->key, NULL);
        return;
    default:
        job_finish(j, NP_ERR_INTERNAL, NULL, "bad key job state");
        return;
    }
}

static void job_start(struct keyjob *j)
{
    const char *me = at_client_atsign(j->c);
    struct np_buf *b;
    char entity[AT_KEY_BUF];
    int r;

    switch (j->kind) {
    case AT_KK_MINE:
        snprintf(entity, sizeof(entity), "shared_key.%s", j->atsign + 1);
        b = np_buf_new(1024);
        r = build_lookup(b, AT_VERB_LLOOKUP, -1, NULL, entity, me);
        j->step = S_MY_LLOOKUP;
        job_send(j, b, r);
        return;
    case AT_KK_THEIRS:
        b = np_buf_new(1024);
        r = build_lookup(b, AT_VERB_LOOKUP, (j->flags & AT_KW_REFRESH) ? 1 : -1, NULL, "shared_key",
                         j->atsign);
        j->step = S_THEIRS;
        job_send(j, b, r);
        return;
    case AT_KK_PUB:
        send_plookup(j, S_PUB);
        return;
    }
}

int at_client__want_key(struct at_client *c, enum at_keykind kind, const char *atsign,
                        unsigned flags, at_keywait_fn fn, void *arg, struct at_keywait **out)
{
    struct keystate *ks;
    struct keyjob *j;
    struct at_keywait *w;
    char a[AT_ATSIGN_BUF];

    if (out)
        *out = NULL;
    if (!c || at_client__dead(c))
        return NP_ERR_CLOSED;
    if (!fn || norm(atsign, a) != 0)
        return NP_ERR_INVAL;
    if (kind != AT_KK_PUB && !at_client__enc_private(c))
        return NP_ERR_INVAL;
    if ((ks = ks_get(c, true)) == NULL || (w = np_calloc(1, sizeof(*w))) == NULL)
        return NP_ERR_NOMEM;
    w->fn = fn;
    w->arg = arg;
    for (j = ks->jobs; j; j = j->next)
        if (j->kind == kind && strcmp(j->atsign, a) == 0)
            break;
    if (j) {
        j->flags |= flags & AT_KW_CREATE;
    } else {
        if ((j = np_calloc(1, sizeof(*j))) == NULL) {
            np_free(w);
            return NP_ERR_NOMEM;
        }
        j->c = c;
        j->kind = kind;
        j->flags = flags;
        memcpy(j->atsign, a, sizeof(a));
        j->next = ks->jobs;
        ks->jobs = j;
        if (flags & AT_KW_REFRESH)
            at_client__drop_key(c, kind, a);
        job_start(j);
        /* job_start never completes synchronously: at_conn_cmd only fails
         * for bad input or memory, and then the job finished with no
         * waiters yet - detect that */
        for (j = ks->jobs; j; j = j->next)
            if (j->kind == kind && strcmp(j->atsign, a) == 0)
                break;
        if (!j) {
            np_free(w);
            return NP_ERR_NOMEM;
        }
    }
    w->job = j;
    {
        /* FIFO: operations continue in the order they asked */
        struct at_keywait **pp = &j->waiters;
        while (*pp)
            pp = &(*pp)->next;
        *pp = w;
    }
    if (out)
        *out = w;
    return 0;
}

void at_client__cancel_want(struct at_client *c, struct at_keywait *w)
{
    struct keyjob *j;

    if (!c || !w || (j = w->job) == NULL)
        return;
    for (struct at_keywait **pp = &j->waiters; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            np_free(w);
            return;
        }
    }
}

void at_client__keys_shutdown(struct at_client *c)
{
    void **slot = at_client__keys_slot(c);
    struct keystate *ks = *slot;

    if (!ks)
        return;
    while (ks->jobs) {
        struct keyjob *j = ks->jobs;
        ks->jobs = j->next;
        job_free(j);
    }
    while (ks->cache) {
        struct kc_entry *e = ks->cache;
        ks->cache = e->next;
        kc_free(e);
    }
    np_free(ks);
    *slot = NULL;
}
