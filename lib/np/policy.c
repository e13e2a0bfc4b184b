/* lib/np/policy.c - auth_checks AtRpc request/response texts (see policy.h). */
#include "np/policy.h"
#include "np/json.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#define MAX_SAFE_INT 9007199254740991LL /* 2^53 - 1 */
#define RPC_SUFFIX   ".auth_checks.__rpcs"

int np_policy_request_key(int64_t req_id, char *dst, size_t size)
{
    if (!dst || size == 0 || req_id < 0)
        return NP_ERR_INVAL;
    return np_str_fmt(dst, size, "request.%lld" RPC_SUFFIX ".sshnp", (long long)req_id);
}

int np_policy_heartbeat_key(const char *device, char *dst, size_t size)
{
    if (!device || !*device || !dst || size == 0)
        return NP_ERR_INVAL;
    return np_str_fmt(dst, size, "%s.devices.policy.sshnp", device);
}

int np_policy_request_build(int64_t req_id, const char *daemon_atsign, const char *device,
                            const char *device_group, const char *client_atsign, char **out)
{
    cJSON *root = NULL, *p = NULL;
    int r = NP_ERR_NOMEM;

    if (out)
        *out = NULL;
    if (!out || !daemon_atsign || !device || !client_atsign || req_id < 0 || req_id > MAX_SAFE_INT)
        return NP_ERR_INVAL;
    if ((root = cJSON_CreateObject()) == NULL || (p = cJSON_CreateObject()) == NULL)
        goto out;
    if (!cJSON_AddNumberToObject(root, "reqId", (double)req_id))
        goto out;
    cJSON_AddItemToObject(root, "payload", p);
    p = NULL;
    {
        cJSON *pl = cJSON_GetObjectItemCaseSensitive(root, "payload");
        if (!cJSON_AddStringToObject(pl, "daemonAtsign", daemon_atsign) ||
            !cJSON_AddStringToObject(pl, "daemonDeviceName", device) ||
            !cJSON_AddStringToObject(pl, "daemonDeviceGroupName",
                                     device_group ? device_group : "__none__") ||
            !cJSON_AddStringToObject(pl, "clientAtsign", client_atsign))
            goto out;
    }
    r = np_json_canonical(root, out, NULL);
out:
    cJSON_Delete(p);
    cJSON_Delete(root);
    return r;
}

static const struct {
    const char *name;
    int kind;
} kinds[] = {
    {"ack", NP_POLICY_ACK},
    {"nack", NP_POLICY_NACK},
    {"success", NP_POLICY_SUCCESS},
    {"error", NP_POLICY_ERROR},
};

static int kind_from(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strlen(kinds[i].name) == n && strncasecmp(s, kinds[i].name, n) == 0)
            return kinds[i].kind;
    return 0;
}

int np_policy_key_parse(const char *key, int *kind, int64_t *req_id)
{
    const char *start, *end, *dot1, *dot2, *colon;
    size_t n, slen = strlen(RPC_SUFFIX);
    int k;

    if (kind)
        *kind = 0;
    if (req_id)
        *req_id = 0;
    if (!key || !kind || !req_id)
        return NP_ERR_INVAL;
    start = key;
    if (key[0] == '@' && (colon = strchr(key, ':')) != NULL)
        start = colon + 1;
    end = strrchr(start, '@');
    if (!end)
        end = start + strlen(start);
    n = (size_t)(end - start);
    /* optional namespace */
    if (n >= 6 && strncasecmp(end - 6, ".sshnp", 6) == 0)
        n -= 6;
    if (n <= slen || strncasecmp(start + n - slen, RPC_SUFFIX, slen) != 0)
        return NP_ERR_FORMAT;
    n -= slen; /* "<kind>.<reqId>" */
    dot1 = memchr(start, '.', n);
    if (!dot1)
        return NP_ERR_FORMAT;
    dot2 = start + n;
    if ((k = kind_from(start, (size_t)(dot1 - start))) == 0)
        return NP_ERR_FORMAT;
    if (np_parse_i64n(dot1 + 1, (size_t)(dot2 - dot1 - 1), 0, MAX_SAFE_INT, req_id) != 0) {
        *req_id = 0;
        return NP_ERR_FORMAT;
    }
    *kind = k;
    return 0;
}

void np_policy_answer_free(struct np_policy_answer *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_permit; i++)
        np_free(a->permit_open[i]);
    np_free(a->permit_open);
    np_free(a->message);
    np_free(a);
}

static int get_int53(const cJSON *v, int64_t *out)
{
    double d;

    if (!cJSON_IsNumber(v))
        return NP_ERR_FORMAT;
    d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < 0 || d > (double)MAX_SAFE_INT)
        return NP_ERR_FORMAT;
    *out = (int64_t)d;
    return 0;
}

static int permit_entry_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 300 || !strchr(s, ':'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || s[i] == ',' || (unsigned char)s[i] == 0x7f)
            return 0;
    return 1;
}

static int parse_success(const cJSON *pl, struct np_policy_answer *a)
{
    const cJSON *auth, *msg, *po, *it;
    size_t n;

    if (!cJSON_IsObject(pl))
        return NP_ERR_FORMAT;
    auth = cJSON_GetObjectItemCaseSensitive(pl, "authorized");
    if (!cJSON_IsBool(auth))
        return NP_ERR_FORMAT;
    a->authorized = cJSON_IsTrue(auth) ? 1 : 0;
    msg = cJSON_GetObjectItemCaseSensitive(pl, "message");
    if (msg && !cJSON_IsNull(msg)) {
        if (!cJSON_IsString(msg))
            return NP_ERR_FORMAT;
        if ((a->message = np_strdup(msg->valuestring)) == NULL)
            return NP_ERR_NOMEM;
    }
    po = cJSON_GetObjectItemCaseSensitive(pl, "permitOpen");
    if (!po || cJSON_IsNull(po))
        return 0;
    if (!cJSON_IsArray(po))
        return NP_ERR_FORMAT;
    n = (size_t)cJSON_GetArraySize(po);
    if (n > NP_POLICY_MAX_PERMITS)
        return NP_ERR_FORMAT;
    if (n == 0)
        return 0;
    if ((a->permit_open = np_calloc(n, sizeof(char *))) == NULL)
        return NP_ERR_NOMEM;
    cJSON_ArrayForEach(it, po)
    {
        if (!cJSON_IsString(it) || !permit_entry_ok(it->valuestring))
            return NP_ERR_FORMAT;
        if ((a->permit_open[a->n_permit] = np_strdup(it->valuestring)) == NULL)
            return NP_ERR_NOMEM;
        a->n_permit++;
    }
    return 0;
}

int np_policy_response_parse(const char *json, size_t len, struct np_policy_answer **out)
{
    struct np_policy_answer *a = NULL;
    cJSON *root = NULL;
    const cJSON *rt;
    int r;

    if (out)
        *out = NULL;
    if (!json || !out)
        return NP_ERR_INVAL;
    if (len > NP_POLICY_MAX)
        return NP_ERR_TOOBIG;
    if ((r = np_json_parse(json, len, NP_POLICY_MAX, &root)) != 0)
        goto out;
    r = NP_ERR_FORMAT;
    if (!cJSON_IsObject(root))
        goto out;
    if ((a = np_calloc(1, sizeof(*a))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if (get_int53(cJSON_GetObjectItemCaseSensitive(root, "reqId"), &a->req_id) != 0)
        goto out;
    rt = cJSON_GetObjectItemCaseSensitive(root, "respType");
    if (!cJSON_IsString(rt) || (a->type = kind_from(rt->valuestring, strlen(rt->valuestring))) == 0)
        goto out;
    if (a->type == NP_POLICY_SUCCESS &&
        (r = parse_success(cJSON_GetObjectItemCaseSensitive(root, "payload"), a)) != 0)
        goto out;
    *out = a;
    a = NULL;
    r = 0;
out:
    np_policy_answer_free(a);
    cJSON_Delete(root);
    return r;
}

int np_policy_answer_permit_csv(const struct np_policy_answer *a, char **out)
{
    struct np_buf *b = NULL;
    int r = NP_ERR_NOMEM;

    if (out)
        *out = NULL;
    if (!a || !out)
        return NP_ERR_INVAL;
    if ((b = np_buf_new(NP_POLICY_MAX)) == NULL)
        goto out;
    for (size_t i = 0; i < a->n_permit; i++)
        if ((r = np_buf_putf(b, "%s%s", i ? "," : "", a->permit_open[i])) != 0)
            goto out;
    if ((*out = np_buf_detach(b, NULL)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    r = 0;
out:
    np_buf_free(b);
    return r;
}
