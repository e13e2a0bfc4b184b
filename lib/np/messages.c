/* lib/np/messages.c - NoPorts payload schemas: build in the signed member
 * order, parse with type checks (noports-wire.md 5.1-5.5, 9.2). */
#include "np/messages.h"
#include "np/json.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MSG_JSON_MAX (64 * 1024)
#define MSG_LIST_MAX 256

static const struct {
    unsigned bit;
    const char *name;
} feature_names[] = {
    /* emitted in this order (BASELINE order, then NEWER) */
    {NP_FEAT_SR_AUTH, "srAuth"},
    {NP_FEAT_SR_E2EE, "srE2ee"},
    {NP_FEAT_ACCEPTS_PUBLIC_KEYS, "acceptsPublicKeys"},
    {NP_FEAT_PORT_CHOICE, "supportsPortChoice"},
    {NP_FEAT_ADJ_TIMEOUT, "adjustableTimeout"},
    {NP_FEAT_CC_HEARTBEATS, "controlChannelHeartbeats"},
    {NP_FEAT_RAM_ESCR, "supportsRamEscr"},
    {NP_FEAT_TWIN_KEYS, "twinKeys"},
};
#define N_FEATURES (sizeof(feature_names) / sizeof(feature_names[0]))

const char *np_feature_name(unsigned feature)
{
    for (size_t i = 0; i < N_FEATURES; i++)
        if (feature_names[i].bit == feature)
            return feature_names[i].name;
    return NULL;
}

static void set_err(char *errbuf, size_t errlen, const char *member, const char *what)
{
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s: %s", member, what);
}

/* ---- small cJSON helpers ------------------------------------------------ */

static int add_str_or_null(cJSON *o, const char *name, const char *v)
{
    cJSON *item = v ? cJSON_CreateString(v) : cJSON_CreateNull();
    if (!item)
        return NP_ERR_NOMEM;
    cJSON_AddItemToObject(o, name, item);
    return 0;
}

static int add_str(cJSON *o, const char *name, const char *v)
{
    return v ? add_str_or_null(o, name, v) : 0;
}

static int add_bool(cJSON *o, const char *name, int v)
{
    if (v < 0)
        return 0;
    return cJSON_AddBoolToObject(o, name, v ? 1 : 0) ? 0 : NP_ERR_NOMEM;
}

static int add_int(cJSON *o, const char *name, int64_t v)
{
    return cJSON_AddNumberToObject(o, name, (double)v) ? 0 : NP_ERR_NOMEM;
}

static int add_str_array(cJSON *o, const char *name, char **v, size_t n)
{
    cJSON *a = cJSON_AddArrayToObject(o, name);
    if (!a)
        return NP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        cJSON *s = cJSON_CreateString(v[i]);
        if (!s)
            return NP_ERR_NOMEM;
        cJSON_AddItemToArray(a, s);
    }
    return 0;
}

/* Optional string member: absent or null -> NULL (ok); wrong type -> FORMAT. */
static int get_str(const cJSON *o, const char *name, int required, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return required ? NP_ERR_FORMAT : 0;
    if (!cJSON_IsString(v) || !v->valuestring)
        return NP_ERR_FORMAT;
    return (*out = np_strdup(v->valuestring)) ? 0 : NP_ERR_NOMEM;
}

/* Optional bool: absent/null -> -1. */
static int get_bool(const cJSON *o, const char *name, int required, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    *out = -1;
    if (!v || cJSON_IsNull(v))
        return required ? NP_ERR_FORMAT : 0;
    if (!cJSON_IsBool(v))
        return NP_ERR_FORMAT;
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

/* Integer member in [min, max]; absent/null -> *present = 0. */
static int get_int(const cJSON *o, const char *name, int64_t min, int64_t max, int64_t *out,
                   int *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    *present = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || floor(v->valuedouble) != v->valuedouble)
        return NP_ERR_FORMAT;
    if (v->valuedouble < (double)min || v->valuedouble > (double)max)
        return NP_ERR_FORMAT;
    *out = (int64_t)v->valuedouble;
    *present = 1;
    return 0;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        np_free(v[i]);
    np_free(v);
}

static int get_str_list(const cJSON *o, const char *name, char ***out, size_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name), *e;
    size_t cnt;

    *out = NULL;
    *n = 0;
    if (!a || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsArray(a))
        return NP_ERR_FORMAT;
    cnt = (size_t)cJSON_GetArraySize(a);
    if (cnt > MSG_LIST_MAX)
        return NP_ERR_TOOBIG;
    if (cnt == 0)
        return 0;
    if ((*out = np_calloc(cnt, sizeof(char *))) == NULL)
        return NP_ERR_NOMEM;
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsString(e) || !((*out)[*n] = np_strdup(e->valuestring))) {
            int r = cJSON_IsString(e) ? NP_ERR_NOMEM : NP_ERR_FORMAT;
            free_list(*out, *n);
            *out = NULL;
            *n = 0;
            return r;
        }
        (*n)++;
    }
    return 0;
}

/* ---- device info -------------------------------------------------------- */

int np_device_info_to_json(const struct np_device_info *d, char **out)
{
    cJSON *o = NULL, *f;
    int r = NP_ERR_NOMEM;

    *out = NULL;
    if (!d || !d->devicename)
        return NP_ERR_INVAL;
    if ((o = cJSON_CreateObject()) == NULL)
        goto out;
    if ((r = add_str(o, "devicename", d->devicename)) ||
        (r = add_str(o, "deviceGroupName", d->device_group)) ||
        (r = add_str(o, "version", d->version)) ||
        (r = add_str(o, "corePackageVersion", d->core_version)))
        goto out;
    if (d->has_features) {
        r = NP_ERR_NOMEM;
        if ((f = cJSON_AddObjectToObject(o, "supportedFeatures")) == NULL)
            goto out;
        for (size_t i = 0; i < N_FEATURES; i++)
            if ((d->features_present & feature_names[i].bit) &&
                !cJSON_AddBoolToObject(f, feature_names[i].name,
                                       (d->features & feature_names[i].bit) != 0))
                goto out;
    }
    if ((r = add_str_array(o, "allowedServices", d->allowed_services, d->n_allowed)))
        goto out;
    if (d->n_auth_modes && (r = add_str_array(o, "authModes", d->auth_modes, d->n_auth_modes)))
        goto out;
    if ((r = add_str(o, "npCpVersion", d->np_cp_version)) ||
        (r = add_str(o, "publicSigningKeyUri", d->public_signing_key_uri)))
        goto out;
    r = np_json_canonical(o, out, NULL);
out:
    cJSON_Delete(o);
    return r;
}

void np_device_info_free(struct np_device_info *d)
{
    if (!d)
        return;
    np_free(d->devicename);
    np_free(d->device_group);
    np_free(d->version);
    np_free(d->core_version);
    free_list(d->allowed_services, d->n_allowed);
    free_list(d->auth_modes, d->n_auth_modes);
    np_free(d->np_cp_version);
    np_free(d->public_signing_key_uri);
    np_free(d);
}

int np_device_info_parse(const char *json, size_t len, struct np_device_info **out)
{
    struct np_device_info *d = NULL;
    cJSON *o = NULL;
    const cJSON *f;
    int r;

    *out = NULL;
    if ((r = np_json_parse(json, len, MSG_JSON_MAX, &o)) != 0)
        return r;
    r = NP_ERR_FORMAT;
    if (!cJSON_IsObject(o))
        goto out;
    if ((d = np_calloc(1, sizeof(*d))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = get_str(o, "devicename", 1, &d->devicename)) ||
        (r = get_str(o, "deviceGroupName", 0, &d->device_group)) ||
        (r = get_str(o, "version", 0, &d->version)) ||
        (r = get_str(o, "corePackageVersion", 0, &d->core_version)) ||
        (r = get_str_list(o, "allowedServices", &d->allowed_services, &d->n_allowed)) ||
        (r = get_str_list(o, "authModes", &d->auth_modes, &d->n_auth_modes)) ||
        (r = get_str(o, "npCpVersion", 0, &d->np_cp_version)) ||
        (r = get_str(o, "publicSigningKeyUri", 0, &d->public_signing_key_uri)))
        goto out;
    f = cJSON_GetObjectItemCaseSensitive(o, "supportedFeatures");
    if (f && !cJSON_IsNull(f)) {
        r = NP_ERR_FORMAT;
        if (!cJSON_IsObject(f))
            goto out;
        d->has_features = 1;
        for (size_t i = 0; i < N_FEATURES; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, feature_names[i].name);
            if (!v)
                continue;
            if (!cJSON_IsBool(v))
                goto out;
            d->features_present |= feature_names[i].bit;
            if (cJSON_IsTrue(v))
                d->features |= feature_names[i].bit;
        }
    }
    *out = d;
    d = NULL;
    r = 0;
out:
    np_device_info_free(d);
    cJSON_Delete(o);
    return r;
}

int np_device_info_has(const struct np_device_info *d, unsigned feature)
{
    if (!d)
        return 0;
    if (!d->has_features)
        return feature == NP_FEAT_ACCEPTS_PUBLIC_KEYS;
    return (d->features & feature) != 0;
}

/* ---- session requests --------------------------------------------------- */

void np_session_req_free(struct np_session_req *r)
{
    if (!r)
        return;
    np_free(r->session_id);
    np_free(r->host);
    np_free(r->client_nonce);
    np_free(r->rvd_nonce);
    np_free(r->client_ephemeral_pk);
    np_free(r->client_ephemeral_pk_type);
    np_free(r->requested_host);
    np_freezero_str(r->relay_auth_aes_key);
    np_free(r->relay_auth_mode);
    np_free(r->relay_atsign);
    np_free(r);
}

int np_session_req_to_json(const struct np_session_req *q, cJSON **out)
{
    cJSON *o = NULL;
    int r = NP_ERR_NOMEM;

    *out = NULL;
    if (!q || !q->session_id || !q->host)
        return NP_ERR_INVAL;
    if ((o = cJSON_CreateObject()) == NULL)
        goto out;
    if (!q->npt) {
        if ((r = add_bool(o, "direct", q->direct)) ||
            (r = add_str(o, "sessionId", q->session_id)) || (r = add_str(o, "host", q->host)) ||
            (r = add_int(o, "port", q->port)) ||
            (r = add_bool(o, "authenticateToRvd", q->authenticate_to_rvd)) ||
            (r = add_str_or_null(o, "clientNonce", q->client_nonce)) ||
            (r = add_str_or_null(o, "rvdNonce", q->rvd_nonce)) ||
            (r = add_bool(o, "encryptRvdTraffic", q->encrypt_rvd_traffic)) ||
            (r = add_str_or_null(o, "clientEphemeralPK", q->client_ephemeral_pk)) ||
            (r = add_str_or_null(o, "clientEphemeralPKType", q->client_ephemeral_pk_type)))
            goto out;
    } else {
        if ((r = add_str(o, "sessionId", q->session_id)) || (r = add_str(o, "rvdHost", q->host)) ||
            (r = add_int(o, "rvdPort", q->port)) ||
            (r = add_int(o, "requestedPort", q->requested_port)) ||
            (r = add_str_or_null(o, "requestedHost",
                                 q->requested_host ? q->requested_host : "localhost")) ||
            (r = add_bool(o, "authenticateToRvd", q->authenticate_to_rvd)) ||
            (r = add_str_or_null(o, "clientNonce", q->client_nonce)) ||
            (r = add_str_or_null(o, "rvdNonce", q->rvd_nonce)) ||
            (r = add_bool(o, "encryptRvdTraffic", q->encrypt_rvd_traffic)) ||
            (r = add_str_or_null(o, "clientEphemeralPK", q->client_ephemeral_pk)) ||
            (r = add_str_or_null(o, "clientEphemeralPKType", q->client_ephemeral_pk_type)) ||
            (r = add_int(o, "timeout", q->timeout_ms > 0 ? q->timeout_ms : 60000)))
            goto out;
    }
    if ((r = add_str(o, "relayAuthMode", q->relay_auth_mode)) ||
        (r = add_str(o, "relayAuthAesKey", q->relay_auth_aes_key)) ||
        (r = add_bool(o, "twinKeys", q->twin_keys)) ||
        (r = add_str(o, "relayAtsign", q->relay_atsign)))
        goto out;
    *out = o;
    o = NULL;
    r = 0;
out:
    cJSON_Delete(o);
    return r;
}

int np_session_req_parse(const cJSON *p, int npt, struct np_session_req **out, char *errbuf,
                         size_t errlen)
{
    struct np_session_req *q = NULL;
    const char *bad = NULL;
    int64_t v;
    int present, r = NP_ERR_FORMAT;

    *out = NULL;
    if (!cJSON_IsObject(p)) {
        set_err(errbuf, errlen, "payload", "not a JSON object");
        return NP_ERR_FORMAT;
    }
    if ((q = np_calloc(1, sizeof(*q))) == NULL)
        return NP_ERR_NOMEM;
    q->npt = npt;
    q->twin_keys = -1;
#define REQ(call, name)                                                                            \
    do {                                                                                           \
        if ((r = (call)) != 0) {                                                                   \
            bad = (name);                                                                          \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
    REQ(get_str(p, "sessionId", 1, &q->session_id), "sessionId");
    REQ(get_str(p, npt ? "rvdHost" : "host", 1, &q->host), npt ? "rvdHost" : "host");
    REQ(get_int(p, npt ? "rvdPort" : "port", 1, 65535, &v, &present), npt ? "rvdPort" : "port");
    if (!present)
        REQ(NP_ERR_FORMAT, npt ? "rvdPort" : "port");
    q->port = (int)v;
    REQ(get_bool(p, "authenticateToRvd", npt, &q->authenticate_to_rvd), "authenticateToRvd");
    REQ(get_str(p, "clientNonce", npt, &q->client_nonce), "clientNonce");
    REQ(get_str(p, "rvdNonce", 0, &q->rvd_nonce), "rvdNonce");
    REQ(get_bool(p, "encryptRvdTraffic", npt, &q->encrypt_rvd_traffic), "encryptRvdTraffic");
    REQ(get_str(p, "clientEphemeralPK", 0, &q->client_ephemeral_pk), "clientEphemeralPK");
    REQ(get_str(p, "clientEphemeralPKType", 0, &q->client_ephemeral_pk_type),
        "clientEphemeralPKType");
    if (npt) {
        REQ(get_int(p, "requestedPort", 1, 65535, &v, &present), "requestedPort");
        if (!present)
            REQ(NP_ERR_FORMAT, "requestedPort");
        q->requested_port = (int)v;
        REQ(get_str(p, "requestedHost", 1, &q->requested_host), "requestedHost");
        REQ(get_int(p, "timeout", 1, INT64_C(365) * 86400 * 1000, &v, &present), "timeout");
        q->timeout_ms = present ? v : 60000;
    } else {
        REQ(get_bool(p, "direct", 1, &q->direct), "direct");
    }
    REQ(get_str(p, "relayAuthMode", 0, &q->relay_auth_mode), "relayAuthMode");
    REQ(get_str(p, "relayAuthAesKey", 0, &q->relay_auth_aes_key), "relayAuthAesKey");
    REQ(get_bool(p, "twinKeys", 0, &q->twin_keys), "twinKeys");
    REQ(get_str(p, "relayAtsign", 0, &q->relay_atsign), "relayAtsign");
#undef REQ
    *out = q;
    q = NULL;
    r = 0;
out:
    if (r != 0 && bad)
        set_err(errbuf, errlen, bad, r == NP_ERR_NOMEM ? "out of memory" : "missing or wrong type");
    np_session_req_free(q);
    return r;
}

/* ---- session answer ----------------------------------------------------- */

void np_session_answer_free(struct np_session_answer *a)
{
    if (!a)
        return;
    np_free(a->status);
    np_free(a->session_id);
    np_freezero_str(a->ephemeral_private_key);
    np_free(a->session_aes_key);
    np_free(a->session_iv);
    np_free(a->aes_key_c2d);
    np_free(a->iv_c2d);
    np_free(a->aes_key_d2c);
    np_free(a->iv_d2c);
    np_free(a);
}

int np_session_answer_to_json(const struct np_session_answer *a, cJSON **out)
{
    cJSON *o = NULL;
    int r = NP_ERR_NOMEM;

    *out = NULL;
    if (!a || !a->session_id)
        return NP_ERR_INVAL;
    if ((o = cJSON_CreateObject()) == NULL)
        goto out;
    if ((r = add_str(o, "status", a->status ? a->status : "connected")) ||
        (r = add_str(o, "sessionId", a->session_id)))
        goto out;
    if (a->has_ephemeral_private_key &&
        (r = add_str_or_null(o, "ephemeralPrivateKey", a->ephemeral_private_key)))
        goto out;
    if (a->aes_key_c2d) {
        if ((r = add_str(o, "aesKeyC2D", a->aes_key_c2d)) || (r = add_str(o, "ivC2D", a->iv_c2d)) ||
            (r = add_str(o, "aesKeyD2C", a->aes_key_d2c)) || (r = add_str(o, "ivD2C", a->iv_d2c)))
            goto out;
    } else if ((r = add_str_or_null(o, "sessionAESKey", a->session_aes_key)) ||
               (r = add_str_or_null(o, "sessionIV", a->session_iv))) {
        goto out;
    }
    *out = o;
    o = NULL;
    r = 0;
out:
    cJSON_Delete(o);
    return r;
}

int np_session_answer_parse(const cJSON *p, struct np_session_answer **out, char *errbuf,
                            size_t errlen)
{
    struct np_session_answer *a = NULL;
    const char *bad = NULL;
    int r = NP_ERR_FORMAT;

    *out = NULL;
    if (!cJSON_IsObject(p)) {
        set_err(errbuf, errlen, "payload", "not a JSON object");
        return NP_ERR_FORMAT;
    }
    if ((a = np_calloc(1, sizeof(*a))) == NULL)
        return NP_ERR_NOMEM;
    if ((r = get_str(p, "status", 1, &a->status))) {
        bad = "status";
    } else if ((r = get_str(p, "sessionId", 1, &a->session_id))) {
        bad = "sessionId";
    } else if ((r = get_str(p, "ephemeralPrivateKey", 0, &a->ephemeral_private_key))) {
        bad = "ephemeralPrivateKey";
    } else if ((r = get_str(p, "sessionAESKey", 0, &a->session_aes_key)) ||
               (r = get_str(p, "sessionIV", 0, &a->session_iv))) {
        bad = "sessionAESKey/sessionIV";
    } else if ((r = get_str(p, "aesKeyC2D", 0, &a->aes_key_c2d)) ||
               (r = get_str(p, "ivC2D", 0, &a->iv_c2d)) ||
               (r = get_str(p, "aesKeyD2C", 0, &a->aes_key_d2c)) ||
               (r = get_str(p, "ivD2C", 0, &a->iv_d2c))) {
        bad = "twin keys";
    } else if (a->aes_key_c2d && (!a->iv_c2d || !a->aes_key_d2c || !a->iv_d2c)) {
        r = NP_ERR_FORMAT;
        bad = "twin keys";
    }
    if (r != 0)
        goto out;
    a->has_ephemeral_private_key =
        cJSON_GetObjectItemCaseSensitive(p, "ephemeralPrivateKey") != NULL;
    *out = a;
    a = NULL;
out:
    if (r != 0 && bad)
        set_err(errbuf, errlen, bad, r == NP_ERR_NOMEM ? "out of memory" : "missing or wrong type");
    np_session_answer_free(a);
    return r;
}

/* ---- keys --------------------------------------------------------------- */

int np_msg_type_from_key(const char *key, const char *device, const char *from, char *type,
                         size_t size)
{
    const char *start = key, *colon;
    char suffix[400];
    size_t klen, slen, tlen;

    if (!key || !device || !from || !*device || !*from)
        return NP_ERR_INVAL;
    if (key[0] == '@' && (colon = strchr(key, ':')) != NULL)
        start = colon + 1;
    if (np_str_fmt(suffix, sizeof(suffix), ".%s.sshnp%s%s", device, from[0] == '@' ? "" : "@",
                   from) != 0)
        return NP_ERR_TOOBIG;
    klen = strlen(start);
    slen = strlen(suffix);
    if (klen <= slen || strcasecmp(start + klen - slen, suffix) != 0)
        return NP_ERR_FORMAT;
    tlen = klen - slen;
    if (tlen + 1 > size)
        return NP_ERR_TOOBIG;
    memcpy(type, start, tlen);
    type[tlen] = '\0';
    np_str_lower(type);
    return 0;
}
