/*
 * src/atserver/s2s.c - pure helpers of server-to-server traffic (see s2s.h):
 * the forwarded notify line, the from/pol proof, remote answer parsing.
 */
#include "s2s.h"
#include "keystore.h"
#include "notify_store.h"

#include "at/metadata.h"
#include "at/verb.h"
#include "crypto/rsa.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#include <cjson/cJSON.h>
#include <string.h>

int s2s_notify_line(const struct ns_record *rec, struct np_buf *b)
{
    struct at_fwd_notify f;
    struct at_metadata md;
    bool have_md = false;
    int r;

    if (!rec || !b || !rec->id || !rec->key)
        return NP_ERR_INVAL;
    at_metadata_init(&md);
    if (rec->meta_json && rec->meta_json[0]) {
        if (at_metadata_from_json(&md, rec->meta_json, strlen(rec->meta_json)) != 0) {
            r = NP_ERR_FORMAT;
            goto out;
        }
        have_md = true;
    }
    memset(&f, 0, sizeof(f));
    f.id = rec->id;
    f.op = rec->op == NS_OP_DELETE ? AT_NOTIFY_DELETE : AT_NOTIFY_UPDATE;
    f.msg_type = rec->message_type == NS_MSG_TEXT ? AT_MSG_TEXT : AT_MSG_KEY;
    f.notifier = rec->notifier ? rec->notifier : "SYSTEM";
    f.ttln = rec->ttl_ms > 0 ? rec->ttl_ms : 0;
    f.md = have_md ? &md : NULL;
    f.full_key = rec->key;
    f.value = rec->value;
    r = at_build_forward_notify(b, &f);
out:
    at_metadata_clear(&md);
    return r;
}

static bool sid_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

int s2s_parse_proof(const char *payload, size_t n, const char *me, char sid_key[S2S_SID_KEY_BUF],
                    char proof[S2S_PROOF_MAX + 1])
{
    static const char pfx[] = "proof:";
    const char *p, *colon, *end;
    size_t mlen, slen, plen;

    if (sid_key)
        sid_key[0] = '\0';
    if (proof)
        proof[0] = '\0';
    if (!payload || !me || !sid_key || !proof)
        return NP_ERR_INVAL;
    mlen = strlen(me);
    if (n < sizeof(pfx) - 1 || memcmp(payload, pfx, sizeof(pfx) - 1) != 0 || mlen < 2)
        return NP_ERR_FORMAT;
    p = payload + sizeof(pfx) - 1;
    end = payload + n;
    if ((colon = memchr(p, ':', (size_t)(end - p))) == NULL)
        return NP_ERR_FORMAT;
    /* "<sid><me>" before the colon */
    if ((size_t)(colon - p) <= mlen || memcmp(colon - mlen, me, mlen) != 0)
        return NP_ERR_FORMAT;
    slen = (size_t)(colon - p) - mlen;
    if (slen == 0 || slen > S2S_SID_MAX)
        return NP_ERR_FORMAT;
    for (size_t i = 0; i < slen; i++)
        if (!sid_char(p[i]))
            return NP_ERR_FORMAT;
    plen = (size_t)(end - colon - 1);
    if (plen == 0 || plen > S2S_PROOF_MAX)
        return NP_ERR_FORMAT;
    for (size_t i = 0; i < plen; i++) {
        unsigned char ch = (unsigned char)colon[1 + i];
        if (ch <= ' ' || ch == ':' || ch == 0x7f)
            return NP_ERR_FORMAT;
    }
    memcpy(sid_key, p, slen + mlen);
    sid_key[slen + mlen] = '\0';
    memcpy(proof, colon + 1, plen);
    proof[plen] = '\0';
    return 0;
}

int s2s_sign_proof(const char *priv_b64, const char *proof, char **sig_b64)
{
    struct np_rsa_key *k = NULL;
    int r;

    if (sig_b64)
        *sig_b64 = NULL;
    if (!priv_b64 || !proof || !sig_b64)
        return NP_ERR_INVAL;
    if ((r = np_rsa_from_private_b64(priv_b64, &k)) == 0)
        r = np_rsa_sign_b64(k, NP_HASH_SHA256, proof, strlen(proof), sig_b64);
    np_rsa_free(k);
    return r;
}

int s2s_verify_proof(const char *pub_b64, const char *proof, const char *sig_b64)
{
    struct np_rsa_key *k = NULL;
    int r;

    if (!pub_b64 || !proof || !sig_b64)
        return NP_ERR_INVAL;
    if ((r = np_rsa_from_public_b64(pub_b64, &k)) == 0)
        r = np_rsa_verify_b64(k, NP_HASH_SHA256, proof, strlen(proof), sig_b64);
    np_rsa_free(k);
    return r;
}

int s2s_entry_from_all(const char *json, size_t n, struct ks_entry **out)
{
    cJSON *o = NULL, *key, *data, *md;
    char *meta = NULL, *p;
    const char *k = "", *v = NULL;
    size_t kl, vl = 0, ml = 0;
    struct ks_entry *e;
    int r = NP_ERR_FORMAT;

    *out = NULL;
    if (!json || (o = cJSON_ParseWithLength(json, n)) == NULL || !cJSON_IsObject(o))
        goto out;
    key = cJSON_GetObjectItemCaseSensitive(o, "key");
    data = cJSON_GetObjectItemCaseSensitive(o, "data");
    md = cJSON_GetObjectItemCaseSensitive(o, "metaData");
    if (key && !cJSON_IsString(key))
        goto out;
    if (!data || !(cJSON_IsString(data) || cJSON_IsNull(data)))
        goto out;
    if (md && !(cJSON_IsObject(md) || cJSON_IsNull(md)))
        goto out;
    if (key)
        k = key->valuestring;
    if (cJSON_IsString(data)) {
        v = data->valuestring;
        vl = strlen(v);
    }
    if (md && cJSON_IsObject(md)) {
        if ((meta = cJSON_PrintUnformatted(md)) == NULL) {
            r = NP_ERR_NOMEM;
            goto out;
        }
        ml = strlen(meta);
    }
    kl = strlen(k);
    if ((e = np_calloc(1, sizeof(*e) + kl + 1 + (v ? vl + 1 : 0) + (meta ? ml + 1 : 0))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    p = (char *)(e + 1);
    memcpy(p, k, kl + 1);
    e->key = p;
    p += kl + 1;
    if (v) {
        memcpy(p, v, vl + 1);
        e->value = p;
        p += vl + 1;
    }
    if (meta) {
        memcpy(p, meta, ml + 1);
        e->meta_json = p;
    }
    e->active = 1;
    *out = e;
    r = 0;
out:
    if (meta)
        cJSON_free(meta);
    cJSON_Delete(o);
    return r;
}

int s2s_keys_from_json(const char *json, size_t n, char ***keys, size_t *n_keys)
{
    cJSON *a = NULL, *it;
    char **v = NULL;
    size_t cnt = 0, i = 0;
    int r = NP_ERR_FORMAT;

    *keys = NULL;
    *n_keys = 0;
    if (!json || (a = cJSON_ParseWithLength(json, n)) == NULL || !cJSON_IsArray(a))
        goto out;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsString(it))
            goto out;
        cnt++;
    }
    if (cnt && (v = np_calloc(cnt, sizeof(*v))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    cJSON_ArrayForEach(it, a)
    {
        if ((v[i] = np_strdup(it->valuestring)) == NULL) {
            r = NP_ERR_NOMEM;
            goto out;
        }
        i++;
    }
    *keys = v;
    *n_keys = cnt;
    v = NULL;
    r = 0;
out:
    if (v) {
        for (size_t j = 0; j < i; j++)
            np_free(v[j]);
        np_free(v);
    }
    cJSON_Delete(a);
    return r;
}
