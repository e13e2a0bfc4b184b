/*
 * lib/at/verb_parse_auth.c - grammars of the session and administrative
 * verbs: from, cram, pkam, pol, info, noop, stats, config, enroll, otp,
 * sync:from, batch, keys, stream (atprotocol.md 3.1-3.4, 3.7, 6.11, 6.12).
 */
#include "at/at_int.h"
#include "at/verb_int.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <cjson/cJSON.h>
#include <string.h>

static bool has_space(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (at__is_space(p[i]))
            return true;
    return false;
}

/* "3.3.0" > "3.0.37"? Compares up to three numeric parts; junk ends a part. */
static bool version_gt(const char *v, const char *ref)
{
    for (int part = 0; part < 3; part++) {
        long a = 0, b = 0;
        while (*v >= '0' && *v <= '9' && a < 100000000)
            a = a * 10 + (*v++ - '0');
        while (*ref >= '0' && *ref <= '9')
            b = b * 10 + (*ref++ - '0');
        if (a != b)
            return a > b;
        if (*v == '.')
            v++;
        else
            v = "";
        if (*ref == '.')
            ref++;
    }
    return false;
}

enum at_perr at__parse_from(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_from *f = &c->u.from;
    size_t n = at__tok(p, end);
    char *q;
    cJSON *j;

    if (n == 0 || (n == 1 && p[0] == '@') || has_space(p, n) || memchr(p + 1, '@', n - 1))
        return AT_PERR_SYNTAX;
    if (at_atsign_normalise(p, n, f->atsign, sizeof(f->atsign)) != 0)
        return AT_PERR_INVALID_ATSIGN;
    q = p + n;
    if (q == end)
        return AT_PERR_NONE;
    if (!at__take(&q, end, ":clientConfig:") || q == end || *q != '{' || end[-1] != '}')
        return AT_PERR_SYNTAX;
    j = at__json_parse(q, (size_t)(end - q));
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return AT_PERR_SYNTAX;
    }
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
        if (cJSON_IsString(v) && strlen(v->valuestring) < sizeof(f->version)) {
            memcpy(f->version, v->valuestring, strlen(v->valuestring) + 1);
            f->json_errors = version_gt(f->version, "3.0.37");
        }
    }
    cJSON_Delete(j);
    f->client_config = q;
    return AT_PERR_NONE;
}

enum at_perr at__parse_cram(struct at_cmd *c, char *p, char *end)
{
    if (p == end)
        return AT_PERR_SYNTAX;
    c->u.cram.digest = p;
    return AT_PERR_NONE;
}

enum at_perr at__parse_pkam(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_pkam *k = &c->u.pkam;
    size_t n;

    if (at__take(&p, end, "signingAlgo:")) {
        n = at__tok(p, end);
        if (at__tok_is(p, n, "rsa2048"))
            k->signing_algo = AT_SIGN_RSA2048;
        else if (at__tok_is(p, n, "ecc_secp256r1"))
            k->signing_algo = AT_SIGN_ECC_SECP256R1;
        else
            return AT_PERR_SYNTAX;
        k->has_signing_algo = true;
        p += n;
        if (!at__take(&p, end, ":"))
            return AT_PERR_SYNTAX;
    }
    if (at__take(&p, end, "hashingAlgo:")) {
        n = at__tok(p, end);
        if (at__tok_is(p, n, "sha256"))
            k->hashing_algo = AT_HASH_SHA256;
        else if (at__tok_is(p, n, "sha512"))
            k->hashing_algo = AT_HASH_SHA512;
        else
            return AT_PERR_SYNTAX;
        k->has_hashing_algo = true;
        p += n;
        if (!at__take(&p, end, ":"))
            return AT_PERR_SYNTAX;
    }
    if (at__take(&p, end, "enrollmentId:")) {
        n = at__tok(p, end);
        if (n == 0 || p + n == end || has_space(p, n))
            return AT_PERR_SYNTAX;
        k->enrollment_id = p;
        p[n] = '\0';
        p += n + 1;
    }
    n = at__tok(p, end);
    if (n == 0 || p + n != end || has_space(p, n))
        return AT_PERR_SYNTAX;
    k->signature = p;
    return AT_PERR_NONE;
}

enum at_perr at__parse_pol(struct at_cmd *c, char *p, char *end)
{
    (void)c;
    return p == end ? AT_PERR_NONE : AT_PERR_SYNTAX;
}

enum at_perr at__parse_info(struct at_cmd *c, char *p, char *end)
{
    c->u.info.brief = p != end; /* dispatch admits only "info" and "info:brief" */
    return AT_PERR_NONE;
}

enum at_perr at__parse_noop(struct at_cmd *c, char *p, char *end)
{
    size_t n = (size_t)(end - p);
    int64_t ms;

    if (n == 0)
        return AT_PERR_SYNTAX;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return AT_PERR_SYNTAX;
    if (np_parse_i64n(p, n, 0, 5000, &ms) != 0)
        return AT_PERR_ILLEGAL_ARG; /* well-formed but over 5000 ms */
    c->u.noop.ms = ms;
    return AT_PERR_NONE;
}

enum at_perr at__parse_stats(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_stats *s = &c->u.stats;
    size_t n;
    bool ids = true;

    if (p == end)
        return AT_PERR_NONE;
    if (*p++ != ':' || p == end)
        return AT_PERR_SYNTAX;
    n = at__tok(p, end);
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || p[i] == ','))
            ids = false;
    if (ids && n > 0) {
        size_t i = 0;
        while (i < n) {
            size_t j = i;
            int64_t id;
            while (j < n && p[j] != ',')
                j++;
            if (np_parse_i64n(p + i, j - i, 1, 31, &id) != 0)
                return AT_PERR_SYNTAX;
            s->ids |= 1u << id;
            i = j + 1;
            if (j < n && i == n)
                return AT_PERR_SYNTAX; /* trailing comma */
        }
        p += n;
        if (p == end)
            return AT_PERR_NONE;
        p++; /* ':' */
        if (p == end)
            return AT_PERR_SYNTAX;
    }
    s->regex = p;
    return AT_PERR_NONE;
}

static enum at_perr atsign_list(struct at_cmd_config *k, char *p, char *end)
{
    size_t cap = 0;

    while (p < end) {
        char *sp = p;
        while (sp < end && *sp != ' ')
            sp++;
        if (sp == p || *p != '@')
            return AT_PERR_SYNTAX;
        if (k->n_atsigns == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            char(*na)[AT_ATSIGN_BUF];
            if (ncap > AT_CMD_MAX_ATSIGNS)
                ncap = AT_CMD_MAX_ATSIGNS;
            if (k->n_atsigns >= ncap)
                return AT_PERR_ILLEGAL_ARG;
            na = np_realloc(k->atsigns, ncap * sizeof(*na));
            if (!na)
                return AT_PERR_NOMEM;
            k->atsigns = na;
            cap = ncap;
        }
        if (memchr(p + 1, '@', (size_t)(sp - p - 1)) ||
            at_atsign_normalise(p, (size_t)(sp - p), k->atsigns[k->n_atsigns],
                                sizeof(k->atsigns[0])) != 0)
            return AT_PERR_SYNTAX;
        k->n_atsigns++;
        p = sp < end ? sp + 1 : sp;
    }
    return k->n_atsigns > 0 ? AT_PERR_NONE : AT_PERR_SYNTAX;
}

enum at_perr at__parse_config(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_config *k = &c->u.config;
    char *eq;

    if (at__take(&p, end, "block:"))
        k->list = AT_CONFIG_BLOCK;
    else if (at__take(&p, end, "allow:"))
        k->list = AT_CONFIG_ALLOW;
    else {
        k->list = AT_CONFIG_SETTING;
        if (at__take(&p, end, "set:")) {
            k->op = AT_CONFIG_SET;
            eq = memchr(p, '=', (size_t)(end - p));
            if (!eq || eq == p || eq + 1 == end)
                return AT_PERR_SYNTAX;
            *eq = '\0';
            k->name = p;
            k->value = eq + 1;
            return AT_PERR_NONE;
        }
        if (at__take(&p, end, "reset:"))
            k->op = AT_CONFIG_RESET;
        else if (at__take(&p, end, "print:"))
            k->op = AT_CONFIG_PRINT;
        else
            return AT_PERR_SYNTAX;
        if (p == end || at__tok(p, end) != (size_t)(end - p))
            return AT_PERR_SYNTAX;
        k->name = p;
        return AT_PERR_NONE;
    }
    if (at__take(&p, end, "show")) {
        k->op = AT_CONFIG_SHOW;
        return p == end ? AT_PERR_NONE : AT_PERR_SYNTAX;
    }
    if (at__take(&p, end, "add:"))
        k->op = AT_CONFIG_ADD;
    else if (at__take(&p, end, "remove:"))
        k->op = AT_CONFIG_REMOVE;
    else
        return AT_PERR_SYNTAX;
    return atsign_list(k, p, end);
}

enum at_perr at__parse_enroll(struct at_cmd *c, char *p, char *end)
{
    static const char *const ops[] = {"request",  "approve", "deny",  "revoke",
                                      "unrevoke", "list",    "fetch", "delete"};
    struct at_cmd_enroll *e = &c->u.enroll;
    size_t n = at__tok(p, end);
    size_t i;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (at__tok_is(p, n, ops[i]))
            break;
    if (i == sizeof(ops) / sizeof(ops[0]))
        return AT_PERR_SYNTAX;
    e->op = (enum at_enroll_op)i;
    p += n;
    if (p == end)
        return AT_PERR_NONE;
    p++; /* ':' */
    if (at__take(&p, end, "force")) {
        e->force = true;
        if (p == end)
            return AT_PERR_NONE;
        if (!at__take(&p, end, ":"))
            return AT_PERR_SYNTAX;
    }
    if (!at__is_json_object(p, end))
        return AT_PERR_SYNTAX;
    e->json = p;
    return AT_PERR_NONE;
}

/* Optional trailing ":ttl:<ms>". */
static enum at_perr opt_ttl(struct at_cmd_otp *o, char *p, char *end)
{
    int64_t v;

    if (p == end)
        return AT_PERR_NONE;
    if (!at__take(&p, end, ":ttl:") || np_parse_i64n(p, (size_t)(end - p), 0, INT64_MAX, &v) != 0 ||
        p[0] == '-')
        return AT_PERR_SYNTAX;
    o->has_ttl = true;
    o->ttl = v;
    return AT_PERR_NONE;
}

enum at_perr at__parse_otp(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_otp *o = &c->u.otp;
    size_t n;

    if (at__take(&p, end, "get")) {
        o->op = AT_OTP_GET;
        return opt_ttl(o, p, end);
    }
    if (!at__take(&p, end, "put:"))
        return AT_PERR_SYNTAX;
    o->op = AT_OTP_PUT;
    n = at__tok(p, end);
    if (n == 0 || has_space(p, n))
        return AT_PERR_SYNTAX;
    o->spp = p;
    if (p + n == end)
        return AT_PERR_NONE;
    {
        enum at_perr e = opt_ttl(o, p + n, end);
        p[n] = '\0';
        return e;
    }
}

enum at_perr at__parse_sync(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_sync *s = &c->u.sync;
    size_t n;

    if (!at__take(&p, end, ":"))
        return AT_PERR_SYNTAX;
    n = at__tok(p, end);
    if (np_parse_i64n(p, n, -1, INT64_MAX, &s->from_commit) != 0)
        return AT_PERR_SYNTAX;
    p += n;
    if (!at__take(&p, end, ":limit:"))
        return AT_PERR_SYNTAX;
    n = at__tok(p, end);
    if (np_parse_i64n(p, n, 0, INT64_MAX, &s->limit) != 0 || p[0] == '-')
        return AT_PERR_SYNTAX;
    p += n;
    if (p == end)
        return AT_PERR_NONE;
    p++;
    if (p == end)
        return AT_PERR_SYNTAX;
    s->regex = p;
    return AT_PERR_NONE;
}

enum at_perr at__parse_batch(struct at_cmd *c, char *p, char *end)
{
    if (!at__is_json_array(p, end))
        return AT_PERR_SYNTAX;
    c->u.batch.json = p;
    return AT_PERR_NONE;
}

enum at_perr at__parse_keys(struct at_cmd *c, char *p, char *end)
{
    static const char *const names[] = {"namespace", "appName",           "deviceName",
                                        "keyType",   "encryptionKeyName", "keyName"};
    struct at_cmd_keys *k = &c->u.keys;
    const char **slots[] = {
        &k->ns, &k->app_name, &k->device_name, &k->key_type, &k->encryption_key_name, &k->key_name};
    size_t n = at__tok(p, end);

    if (at__tok_is(p, n, "put"))
        k->op = AT_KEYS_PUT;
    else if (at__tok_is(p, n, "get"))
        k->op = AT_KEYS_GET;
    else if (at__tok_is(p, n, "delete"))
        k->op = AT_KEYS_DELETE;
    else
        return AT_PERR_SYNTAX;
    p += n;
    while (p < end) {
        size_t i;
        char *v;
        p++; /* ':' */
        n = at__tok(p, end);
        if (!k->visibility && !k->ns && !k->key_name &&
            (at__tok_is(p, n, "public") || at__tok_is(p, n, "private") ||
             at__tok_is(p, n, "self"))) {
            k->visibility = p;
            at__lower_n(p, n);
            p += n;
            if (p < end)
                *p = '\0';
            continue;
        }
        for (i = 0; i < 6; i++)
            if (at__tok_is(p, n, names[i]))
                break;
        if (i == 6 || *slots[i] || p + n == end)
            return AT_PERR_SYNTAX;
        v = p + n + 1;
        if (i == 5) { /* keyName:<name>[ <value>] ends the command */
            char *sp = v;
            while (sp < end && *sp != ' ')
                sp++;
            if (sp == v)
                return AT_PERR_SYNTAX;
            k->key_name = v;
            if (sp < end) {
                *sp = '\0';
                if (sp + 1 == end)
                    return AT_PERR_SYNTAX;
                k->value = sp + 1;
            }
            return AT_PERR_NONE;
        }
        n = at__tok(v, end);
        if (n == 0)
            return AT_PERR_SYNTAX;
        *slots[i] = v;
        p = v + n;
        if (p < end)
            *p = '\0';
    }
    return AT_PERR_NONE;
}

enum at_perr at__parse_stream(struct at_cmd *c, char *p, char *end)
{
    (void)end;
    c->u.stream.args = p;
    return AT_PERR_NONE;
}
