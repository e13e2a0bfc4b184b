/*
 * lib/np/relay_msg.c - relay notification payloads (noports-wire.md 5.8):
 * parsers with member type checks and bounds, builders in spec member order.
 * Depends on cJSON through np/json.h (strict parse, canonical writer).
 */
#include "np/relay_msg.h"
#include "np/json.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ---- small helpers ------------------------------------------------------ */

/*
 * cJSON decodes the escape \u0000 into a NUL byte, which silently cuts the
 * C string it returns ("ab\u0000cd" becomes "ab"). No NoPorts value contains
 * one, so such texts are refused before parsing. A backslash always starts a
 * two-character escape, which lets the scan skip "\\u0000" correctly.
 */
static int has_nul_escape(const char *t, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (t[i] != '\\')
            continue;
        if (t[i + 1] == 'u' && i + 5 < len && memcmp(t + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* skip the escaped character */
    }
    return 0;
}

/* Copy the string member `name` into *out. Absent: NP_ERR_NOTFOUND (required
 * callers turn it into NP_ERR_FORMAT). null allowed when allow_null (then *out
 * stays NULL). */
static int get_str(const cJSON *obj, const char *name, int allow_null, int non_empty, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    size_t n;

    *out = NULL;
    if (!it)
        return NP_ERR_NOTFOUND;
    if (cJSON_IsNull(it))
        return allow_null ? 0 : NP_ERR_FORMAT;
    if (!cJSON_IsString(it) || !it->valuestring)
        return NP_ERR_FORMAT;
    n = strlen(it->valuestring);
    if (n > NP_RELAY_FIELD_MAX)
        return NP_ERR_TOOBIG;
    if (non_empty && n == 0)
        return NP_ERR_FORMAT;
    if ((*out = np_strndup(it->valuestring, n)) == NULL)
        return NP_ERR_NOMEM;
    return 0;
}

static int req_str(const cJSON *obj, const char *name, char **out)
{
    int r = get_str(obj, name, 0, 1, out);
    return r == NP_ERR_NOTFOUND ? NP_ERR_FORMAT : r;
}

/* Boolean member: absent -> dflt unless required. */
static int get_bool(const cJSON *obj, const char *name, int required, int dflt, int *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!it) {
        if (required)
            return NP_ERR_FORMAT;
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsBool(it))
        return NP_ERR_FORMAT;
    *out = cJSON_IsTrue(it) ? 1 : 0;
    return 0;
}

/* Integer member in [lo, hi]. */
static int get_int(const cJSON *obj, const char *name, int lo, int hi, int *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    double d;

    if (!it || !cJSON_IsNumber(it))
        return NP_ERR_FORMAT;
    d = it->valuedouble;
    if (!(d >= lo && d <= hi) || d != (double)(int)d)
        return NP_ERR_FORMAT;
    *out = (int)d;
    return 0;
}

static int parse_object(const char *text, size_t len, cJSON **out)
{
    cJSON *v = NULL;
    int r;

    *out = NULL;
    if (!text)
        return NP_ERR_INVAL;
    if ((r = np_json_parse(text, len, NP_RELAY_MSG_MAX, &v)) != 0)
        return r;
    if (has_nul_escape(text, len)) {
        cJSON_Delete(v);
        return NP_ERR_FORMAT;
    }
    if (!cJSON_IsObject(v)) {
        cJSON_Delete(v);
        return NP_ERR_FORMAT;
    }
    *out = v;
    return 0;
}

/* Text free of control bytes (and of ',' when no_comma). */
static int clean_text(const char *s, int no_comma)
{
    if (!s || !*s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || (no_comma && *p == ','))
            return 0;
    }
    return 1;
}

static int add_str_or_null(cJSON *o, const char *name, const char *s)
{
    cJSON *it = s ? cJSON_CreateString(s) : cJSON_CreateNull();

    if (!it)
        return NP_ERR_NOMEM;
    if (!cJSON_AddItemToObject(o, name, it)) {
        cJSON_Delete(it);
        return NP_ERR_NOMEM;
    }
    return 0;
}

static int add_bool(cJSON *o, const char *name, int b)
{
    return cJSON_AddBoolToObject(o, name, b ? 1 : 0) ? 0 : NP_ERR_NOMEM;
}

static int add_int(cJSON *o, const char *name, int v)
{
    return cJSON_AddNumberToObject(o, name, (double)v) ? 0 : NP_ERR_NOMEM;
}

/* ---- auth modes --------------------------------------------------------- */

const char *np_relay_auth_mode_name(enum np_relay_auth_mode m)
{
    return m == NP_RELAY_AUTH_ESCR ? "escr" : "payload";
}

int np_relay_auth_mode_parse(const char *s, enum np_relay_auth_mode *out)
{
    if (!s || !out)
        return NP_ERR_INVAL;
    if (strcmp(s, "payload") == 0) {
        *out = NP_RELAY_AUTH_PAYLOAD;
        return 0;
    }
    if (strcmp(s, "escr") == 0) {
        *out = NP_RELAY_AUTH_ESCR;
        return 0;
    }
    return NP_ERR_FORMAT;
}

/* ---- request_ports ------------------------------------------------------ */

void np_relay_request_free(struct np_relay_request *r)
{
    if (!r)
        return;
    np_free(r->session_id);
    np_free(r->atsign_a);
    np_free(r->atsign_b);
    np_free(r->client_nonce);
    np_freezero_str(r->relay_auth_aes_key);
    for (size_t i = 0; i < r->n_pre_fetch; i++)
        np_free(r->pre_fetch[i]);
    np_free(r->pre_fetch);
    np_free(r);
}

static int parse_prefetch(const cJSON *obj, struct np_relay_request *req)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "preFetch");
    const cJSON *it;
    int n;

    if (!arr || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr))
        return NP_ERR_FORMAT;
    n = cJSON_GetArraySize(arr);
    if (n <= 0)
        return 0;
    if (n > NP_RELAY_PREFETCH_MAX)
        return NP_ERR_TOOBIG;
    if ((req->pre_fetch = np_calloc((size_t)n, sizeof(char *))) == NULL)
        return NP_ERR_NOMEM;
    cJSON_ArrayForEach(it, arr)
    {
        size_t len;
        if (!cJSON_IsString(it) || !it->valuestring)
            return NP_ERR_FORMAT;
        len = strlen(it->valuestring);
        if (len > NP_RELAY_FIELD_MAX)
            return NP_ERR_TOOBIG;
        if ((req->pre_fetch[req->n_pre_fetch] = np_strndup(it->valuestring, len)) == NULL)
            return NP_ERR_NOMEM;
        req->n_pre_fetch++;
    }
    return 0;
}

int np_relay_request_parse(const char *text, size_t len, struct np_relay_request **out)
{
    struct np_relay_request *req = NULL;
    cJSON *o = NULL;
    char *mode = NULL;
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if ((r = parse_object(text, len, &o)) != 0)
        goto out;
    if ((req = np_calloc(1, sizeof(*req))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = req_str(o, "sessionId", &req->session_id)) != 0 ||
        (r = req_str(o, "atSignA", &req->atsign_a)) != 0 ||
        (r = req_str(o, "atSignB", &req->atsign_b)) != 0 ||
        (r = get_bool(o, "authenticateSocketA", 1, 0, &req->authenticate_a)) != 0 ||
        (r = get_bool(o, "authenticateSocketB", 1, 0, &req->authenticate_b)) != 0 ||
        (r = req_str(o, "clientNonce", &req->client_nonce)) != 0)
        goto out;
    /* NEWER members, defaulted when absent. */
    r = get_str(o, "relayAuthMode", 1, 1, &mode);
    if (r != 0 && r != NP_ERR_NOTFOUND)
        goto out;
    req->relay_auth_mode = NP_RELAY_AUTH_PAYLOAD;
    if (mode && (r = np_relay_auth_mode_parse(mode, &req->relay_auth_mode)) != 0)
        goto out;
    r = get_str(o, "relayAuthAesKey", 1, 1, &req->relay_auth_aes_key);
    if (r != 0 && r != NP_ERR_NOTFOUND)
        goto out;
    if ((r = get_bool(o, "only443", 0, 0, &req->only443)) != 0 ||
        (r = get_bool(o, "multipleAcksOk", 0, 0, &req->multiple_acks_ok)) != 0 ||
        (r = get_bool(o, "sendJsonResponse", 0, 0, &req->send_json_response)) != 0 ||
        (r = parse_prefetch(o, req)) != 0)
        goto out;
    *out = req;
    req = NULL;
    r = 0;
out:
    np_free(mode);
    np_relay_request_free(req);
    cJSON_Delete(o);
    return r;
}

int np_relay_request_legacy(const char *sender, const char *value, size_t len,
                            struct np_relay_request **out)
{
    struct np_relay_request *req = NULL;
    size_t a = 0, b = len;
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!sender || !value || !*sender)
        return NP_ERR_INVAL;
    while (a < b && isspace((unsigned char)value[a]))
        a++;
    while (b > a && isspace((unsigned char)value[b - 1]))
        b--;
    if (a == b)
        return NP_ERR_FORMAT;
    if (b - a > NP_RELAY_FIELD_MAX || strlen(sender) > NP_RELAY_FIELD_MAX)
        return NP_ERR_TOOBIG;
    for (size_t i = a; i < b; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f)
            return NP_ERR_FORMAT;
    }
    if ((req = np_calloc(1, sizeof(*req))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    req->legacy = 1;
    req->relay_auth_mode = NP_RELAY_AUTH_PAYLOAD;
    if ((req->session_id = np_strndup(value + a, b - a)) == NULL ||
        (req->atsign_a = np_strdup(sender)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    *out = req;
    req = NULL;
    r = 0;
out:
    np_relay_request_free(req);
    return r;
}

int np_relay_request_build(const struct np_relay_request *q, int flags, char **out)
{
    cJSON *o = NULL, *arr = NULL;
    int r = NP_ERR_NOMEM;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!q || !q->session_id || !q->atsign_a || !q->atsign_b || !q->client_nonce)
        return NP_ERR_INVAL;
    if ((o = cJSON_CreateObject()) == NULL)
        goto out;
    if ((r = add_str_or_null(o, "sessionId", q->session_id)) != 0 ||
        (r = add_str_or_null(o, "atSignA", q->atsign_a)) != 0 ||
        (r = add_str_or_null(o, "atSignB", q->atsign_b)) != 0 ||
        (r = add_bool(o, "authenticateSocketA", q->authenticate_a)) != 0 ||
        (r = add_bool(o, "authenticateSocketB", q->authenticate_b)) != 0 ||
        (r = add_str_or_null(o, "clientNonce", q->client_nonce)) != 0)
        goto out;
    if (flags & NP_RELAY_REQ_NEWER) {
        if ((r = add_str_or_null(o, "relayAuthMode",
                                 np_relay_auth_mode_name(q->relay_auth_mode))) != 0 ||
            (r = add_str_or_null(o, "relayAuthAesKey", q->relay_auth_aes_key)) != 0 ||
            (r = add_bool(o, "only443", q->only443)) != 0 ||
            (r = add_bool(o, "multipleAcksOk", q->multiple_acks_ok)) != 0)
            goto out;
        r = NP_ERR_NOMEM;
        if ((arr = cJSON_AddArrayToObject(o, "preFetch")) == NULL)
            goto out;
        for (size_t i = 0; i < q->n_pre_fetch; i++) {
            cJSON *s = cJSON_CreateString(q->pre_fetch[i] ? q->pre_fetch[i] : "");
            if (!s)
                goto out;
            if (!cJSON_AddItemToArray(arr, s)) {
                cJSON_Delete(s);
                goto out;
            }
        }
        if ((r = add_bool(o, "sendJsonResponse", q->send_json_response)) != 0)
            goto out;
    }
    r = np_json_canonical(o, out, NULL);
out:
    cJSON_Delete(o);
    return r;
}

/* ---- answers ------------------------------------------------------------ */

void np_relay_answer_free(struct np_relay_answer *a)
{
    if (!a)
        return;
    np_free(a->address);
    np_free(a->rvd_nonce);
    np_free(a);
}

static int port_ok(int p)
{
    return p >= 1 && p <= 65535;
}

int np_relay_answer_build_csv(const char *address, int port_a, int port_b, const char *rvd_nonce,
                              char **out)
{
    size_t n;
    char *s;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!clean_text(address, 1) || (rvd_nonce && !clean_text(rvd_nonce, 1)) || !port_ok(port_a) ||
        !port_ok(port_b))
        return NP_ERR_INVAL;
    if (!rvd_nonce)
        rvd_nonce = "null";
    n = strlen(address) + strlen(rvd_nonce) + 16;
    if ((s = np_malloc(n)) == NULL)
        return NP_ERR_NOMEM;
    if (np_str_fmt(s, n, "%s,%d,%d,%s", address, port_a, port_b, rvd_nonce) != 0) {
        np_free(s);
        return NP_ERR_INTERNAL;
    }
    *out = s;
    return 0;
}

int np_relay_answer_build_json(const struct np_relay_answer *a, char **out)
{
    cJSON *o = NULL;
    int r = NP_ERR_NOMEM;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!a || !clean_text(a->address, 0) || (a->rvd_nonce && !clean_text(a->rvd_nonce, 0)) ||
        !port_ok(a->port_a) || !port_ok(a->port_b))
        return NP_ERR_INVAL;
    if ((o = cJSON_CreateObject()) == NULL)
        goto out;
    if ((r = add_str_or_null(o, "address", a->address)) != 0 ||
        (r = add_int(o, "portA", a->port_a)) != 0 || (r = add_int(o, "portB", a->port_b)) != 0 ||
        (r = add_str_or_null(o, "rvdNonce", a->rvd_nonce)) != 0 ||
        (r = add_bool(o, "supportsEventLogging", a->supports_event_logging)) != 0 ||
        (r = add_bool(o, "autoDetectsRelayAuth", a->auto_detects_relay_auth)) != 0)
        goto out;
    r = np_json_canonical(o, out, NULL);
out:
    cJSON_Delete(o);
    return r;
}

static int parse_csv_answer(const char *text, size_t len, struct np_relay_answer *a)
{
    const char *f[4];
    size_t fl[4];
    size_t start = 0, k = 0;
    int64_t v;
    int r;

    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == ',') {
            if (k == 4)
                return NP_ERR_FORMAT;
            f[k] = text + start;
            fl[k] = i - start;
            k++;
            start = i + 1;
        } else if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
            return NP_ERR_FORMAT;
        }
    }
    if (k != 4 || fl[0] == 0 || fl[3] == 0)
        return NP_ERR_FORMAT;
    if (fl[0] > NP_RELAY_FIELD_MAX || fl[3] > NP_RELAY_FIELD_MAX)
        return NP_ERR_TOOBIG;
    if ((r = np_parse_i64n(f[1], fl[1], 1, 65535, &v)) != 0)
        return NP_ERR_FORMAT;
    a->port_a = (int)v;
    if ((r = np_parse_i64n(f[2], fl[2], 1, 65535, &v)) != 0)
        return NP_ERR_FORMAT;
    a->port_b = (int)v;
    if ((a->address = np_strndup(f[0], fl[0])) == NULL)
        return NP_ERR_NOMEM;
    if (!(fl[3] == 4 && memcmp(f[3], "null", 4) == 0) &&
        (a->rvd_nonce = np_strndup(f[3], fl[3])) == NULL)
        return NP_ERR_NOMEM;
    return 0;
}

static int parse_json_answer(const char *text, size_t len, struct np_relay_answer *a)
{
    cJSON *o = NULL;
    int r;

    a->json = 1;
    if ((r = parse_object(text, len, &o)) != 0)
        return r;
    if ((r = req_str(o, "address", &a->address)) != 0 ||
        (r = get_int(o, "portA", 1, 65535, &a->port_a)) != 0 ||
        (r = get_int(o, "portB", 1, 65535, &a->port_b)) != 0)
        goto out;
    r = get_str(o, "rvdNonce", 1, 1, &a->rvd_nonce);
    if (r == NP_ERR_NOTFOUND)
        r = NP_ERR_FORMAT;
    if (r != 0)
        goto out;
    if ((r = get_bool(o, "supportsEventLogging", 0, 0, &a->supports_event_logging)) != 0 ||
        (r = get_bool(o, "autoDetectsRelayAuth", 0, 0, &a->auto_detects_relay_auth)) != 0)
        goto out;
out:
    cJSON_Delete(o);
    return r;
}

int np_relay_answer_parse(const char *text, size_t len, struct np_relay_answer **out)
{
    struct np_relay_answer *a = NULL;
    size_t s = 0, e = len;
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!text)
        return NP_ERR_INVAL;
    if (len > NP_RELAY_MSG_MAX)
        return NP_ERR_TOOBIG;
    while (s < e && isspace((unsigned char)text[s]))
        s++;
    while (e > s && isspace((unsigned char)text[e - 1]))
        e--;
    if (s == e)
        return NP_ERR_FORMAT;
    if ((a = np_calloc(1, sizeof(*a))) == NULL)
        return NP_ERR_NOMEM;
    if (text[s] == '{')
        r = parse_json_answer(text + s, e - s, a);
    else
        r = parse_csv_answer(text + s, e - s, a);
    if (r != 0)
        goto out;
    *out = a;
    a = NULL;
out:
    np_relay_answer_free(a);
    return r;
}

/* ---- auth_modes hint ---------------------------------------------------- */

int np_relay_auth_modes_build(const char *session_id, const char *rvd_nonce,
                              enum np_relay_auth_mode side_a, enum np_relay_auth_mode side_b,
                              char **out)
{
    cJSON *o = NULL;
    int r = NP_ERR_NOMEM;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!session_id || !rvd_nonce)
        return NP_ERR_INVAL;
    if ((o = cJSON_CreateObject()) == NULL)
        goto out;
    if ((r = add_str_or_null(o, "sessionId", session_id)) != 0 ||
        (r = add_str_or_null(o, "rvdNonce", rvd_nonce)) != 0 ||
        (r = add_str_or_null(o, "sideA", np_relay_auth_mode_name(side_a))) != 0 ||
        (r = add_str_or_null(o, "sideB", np_relay_auth_mode_name(side_b))) != 0)
        goto out;
    r = np_json_canonical(o, out, NULL);
out:
    cJSON_Delete(o);
    return r;
}

void np_relay_auth_modes_free(struct np_relay_auth_modes *m)
{
    if (!m)
        return;
    np_free(m->session_id);
    np_free(m->rvd_nonce);
    np_free(m);
}

int np_relay_auth_modes_parse(const char *text, size_t len, struct np_relay_auth_modes **out)
{
    struct np_relay_auth_modes *m = NULL;
    cJSON *o = NULL;
    char *a = NULL, *b = NULL;
    int r = NP_ERR_INTERNAL;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if ((r = parse_object(text, len, &o)) != 0)
        goto out;
    if ((m = np_calloc(1, sizeof(*m))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = req_str(o, "sessionId", &m->session_id)) != 0 ||
        (r = req_str(o, "rvdNonce", &m->rvd_nonce)) != 0 || (r = req_str(o, "sideA", &a)) != 0 ||
        (r = req_str(o, "sideB", &b)) != 0 || (r = np_relay_auth_mode_parse(a, &m->side_a)) != 0 ||
        (r = np_relay_auth_mode_parse(b, &m->side_b)) != 0)
        goto out;
    *out = m;
    m = NULL;
    r = 0;
out:
    np_free(a);
    np_free(b);
    np_relay_auth_modes_free(m);
    cJSON_Delete(o);
    return r;
}

/* ---- NACK and key names ------------------------------------------------- */

const char *np_relay_nack_text(enum np_relay_nack_reason reason)
{
    switch (reason) {
    case NP_RELAY_NACK_BAD_REQUEST:
        return "Malformed request_ports request";
    case NP_RELAY_NACK_SESSION_EXISTS:
        return "Session id is already in use on this relay";
    case NP_RELAY_NACK_NO_443:
        return "This relay does not listen on port 443";
    case NP_RELAY_NACK_443_NEEDS_ESCR:
        return "only443 requires escr relay auth with both sides authenticating";
    case NP_RELAY_NACK_SESSION_LIMIT:
        return "Relay is at its session limit; try again later";
    case NP_RELAY_NACK_RATE_LIMIT:
        return "Too many requests from this atSign; try again later";
    case NP_RELAY_NACK_INTERNAL:
        break;
    }
    return "Relay could not allocate a session";
}

/* Does [s, s+n) end with suffix (case-insensitive)? */
static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

enum np_relay_key_kind np_relay_key_classify(const char *key)
{
    const char *s, *e, *colon, *at;
    size_t n;

    if (!key)
        return NP_RELAY_KEY_OTHER;
    s = key;
    e = key + strlen(key);
    /* Strip "@to:" (only when the key starts with '@'). */
    if (*s == '@' && (colon = memchr(s, ':', (size_t)(e - s))) != NULL)
        s = colon + 1;
    /* Strip "@from": the last '@'. */
    at = NULL;
    for (const char *p = s; p < e; p++)
        if (*p == '@')
            at = p;
    if (at)
        e = at;
    n = (size_t)(e - s);
    if (!ends_with_ci(s, n, ".sshrvd"))
        return NP_RELAY_KEY_OTHER;
    n -= strlen(".sshrvd");
    if (ends_with_ci(s, n, ".request_ports") && n > strlen(".request_ports"))
        return NP_RELAY_KEY_REQUEST_PORTS;
    if (ends_with_ci(s, n, ".auth_modes") && n > strlen(".auth_modes"))
        return NP_RELAY_KEY_AUTH_MODES;
    if (n == 0 || memchr(s, '.', n) != NULL)
        return NP_RELAY_KEY_OTHER;
    return NP_RELAY_KEY_LEGACY;
}

int np_relay_key_answer(const char *session_id, char *dst, size_t size)
{
    if (!session_id || !dst)
        return NP_ERR_INVAL;
    return np_str_fmt(dst, size, "%s.sshrvd", session_id);
}

int np_relay_key_nack(const char *session_id, char *dst, size_t size)
{
    if (!session_id || !dst)
        return NP_ERR_INVAL;
    return np_str_fmt(dst, size, "nack.%s.sshrvd", session_id);
}
