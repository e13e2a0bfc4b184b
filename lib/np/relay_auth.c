/*
 * lib/np/relay_auth.c - legacy relay-auth line (noports-wire.md 5.9): build
 * (client/daemon) and verify against the relay's own reconstruction.
 */
#include "np/relay_auth.h"
#include "np/envelope.h"
#include "np/json.h"
#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

static cJSON *payload_object(const char *sid, const char *cn, const char *rn)
{
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    if (!cJSON_AddStringToObject(o, "sessionId", sid) ||
        !cJSON_AddStringToObject(o, "clientNonce", cn) ||
        !cJSON_AddStringToObject(o, "rvdNonce", rn)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int np_relay_auth_payload(const char *session_id, const char *client_nonce, const char *rvd_nonce,
                          char **out, size_t *out_len)
{
    cJSON *o = NULL;
    int r;

    if (out_len)
        *out_len = 0;
    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!session_id || !client_nonce || !rvd_nonce)
        return NP_ERR_INVAL;
    if ((o = payload_object(session_id, client_nonce, rvd_nonce)) == NULL)
        return NP_ERR_NOMEM;
    r = np_json_canonical(o, out, out_len);
    cJSON_Delete(o);
    return r;
}

int np_relay_auth_line_build(const struct np_rsa_key *priv, const char *session_id,
                             const char *client_nonce, const char *rvd_nonce, char **line,
                             size_t *len)
{
    cJSON *o = NULL;
    char *env = NULL, *s = NULL;
    size_t n;
    int r = NP_ERR_INTERNAL;

    if (len)
        *len = 0;
    if (!line)
        return NP_ERR_INVAL;
    *line = NULL;
    if (!priv || !session_id || !client_nonce || !rvd_nonce)
        return NP_ERR_INVAL;
    if ((o = payload_object(session_id, client_nonce, rvd_nonce)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = np_envelope_sign(priv, o, &env)) != 0)
        goto out;
    n = strlen(env);
    if (n + 1 > NP_RELAY_AUTH_LINE_MAX) {
        r = NP_ERR_TOOBIG;
        goto out;
    }
    if ((s = np_malloc(n + 2)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    memcpy(s, env, n);
    s[n] = '\n';
    s[n + 1] = '\0';
    *line = s;
    if (len)
        *len = n + 1;
    r = 0;
out:
    np_free(env);
    cJSON_Delete(o);
    return r;
}

int np_relay_auth_line_find(const void *buf, size_t len, size_t *line_len)
{
    const char *nl;
    size_t scan = len < NP_RELAY_AUTH_LINE_MAX ? len : NP_RELAY_AUTH_LINE_MAX;

    if (!line_len)
        return NP_ERR_INVAL;
    *line_len = 0;
    if (!buf && len)
        return NP_ERR_INVAL;
    nl = scan ? memchr(buf, '\n', scan) : NULL;
    if (nl) {
        *line_len = (size_t)(nl - (const char *)buf);
        return 0;
    }
    return len >= NP_RELAY_AUTH_LINE_MAX ? NP_ERR_TOOBIG : NP_AGAIN;
}

int np_relay_auth_line_verify(const char *line, size_t len, const struct np_rsa_key *pub,
                              const char *session_id, const char *client_nonce,
                              const char *rvd_nonce)
{
    struct np_envelope *env = NULL;
    const cJSON *payload, *rn;
    char *mine = NULL;
    size_t mine_len = 0;
    int r = NP_ERR_INTERNAL;

    if (!line || !pub || !session_id || !client_nonce || !rvd_nonce)
        return NP_ERR_INVAL;
    if (len > NP_RELAY_AUTH_LINE_MAX)
        return NP_ERR_TOOBIG;
    if ((r = np_envelope_parse(line, len, &env)) != 0)
        goto out;
    payload = np_envelope_payload(env);
    rn = cJSON_GetObjectItemCaseSensitive(payload, "rvdNonce");
    if (!cJSON_IsString(rn) || !rn->valuestring || strcmp(rn->valuestring, rvd_nonce) != 0) {
        r = NP_ERR_AUTH;
        goto out;
    }
    if ((r = np_relay_auth_payload(session_id, client_nonce, rvd_nonce, &mine, &mine_len)) != 0)
        goto out;
    r = np_envelope_verify_text(pub, np_envelope_hash_alg(env), mine, mine_len,
                                np_envelope_signature(env));
out:
    np_free(mine);
    np_envelope_free(env);
    return r;
}
