/*
 * lib/at/verb_build.c - client-side command builders: the exact bytes at_c
 * and the Dart SDK put on the wire (atprotocol.md 11.3, 12, A.2), and the
 * server-to-server forwarded notify of 7.2. Each builder appends one command
 * without a line ending to a bounded np_buf; on error the buffer may hold a
 * partial command and must be discarded by the caller.
 */
#include "at/at_int.h"
#include "at/metadata_int.h"
#include "at/verb.h"
#include "util/buf.h"
#include "util/err.h"

#include <string.h>

static bool clean(const char *s)
{
    return s && !strpbrk(s, "\r\n");
}

/* A token that must not contain ':' or whitespace (ids, notifiers). */
static bool token_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s == ':' || at__is_space(*s))
            return false;
    return true;
}

static int put_key(struct np_buf *b, const struct at_key *key)
{
    char k[AT_KEY_BUF];
    int r = at_key_format(key, k, sizeof(k));
    return r ? r : np_buf_put_str(b, k);
}

int at_build_from(struct np_buf *b, const char *atsign, const char *client_config)
{
    char norm[AT_ATSIGN_BUF];
    int r;

    if (!b || !atsign || strpbrk(atsign, ": \t\r\n") ||
        at_atsign_normalise(atsign, strlen(atsign), norm, sizeof(norm)) != 0)
        return NP_ERR_INVAL;
    if ((r = np_buf_putf(b, "from:%s", atsign)) != 0)
        return r;
    if (client_config) {
        if (!clean(client_config))
            return NP_ERR_INVAL;
        return np_buf_putf(b, ":clientConfig:%s", client_config);
    }
    return 0;
}

int at_build_cram(struct np_buf *b, const char *digest)
{
    if (!b || !token_ok(digest))
        return NP_ERR_INVAL;
    return np_buf_putf(b, "cram:%s", digest);
}

int at_build_pkam(struct np_buf *b, bool with_algos, enum at_sign_algo s, enum at_hash_algo h,
                  const char *enrollment_id, const char *signature)
{
    int r;

    if (!b || !token_ok(signature) || (enrollment_id && !token_ok(enrollment_id)))
        return NP_ERR_INVAL;
    if ((r = np_buf_put_str(b, "pkam:")) != 0)
        return r;
    if (with_algos && (r = np_buf_putf(b, "signingAlgo:%s:hashingAlgo:%s:",
                                       s == AT_SIGN_ECC_SECP256R1 ? "ecc_secp256r1" : "rsa2048",
                                       h == AT_HASH_SHA512 ? "sha512" : "sha256")) != 0)
        return r;
    if (enrollment_id && (r = np_buf_putf(b, "enrollmentId:%s:", enrollment_id)) != 0)
        return r;
    return np_buf_put_str(b, signature);
}

int at_build_update(struct np_buf *b, const struct at_metadata *md, const struct at_key *key,
                    const char *value)
{
    int r;

    if (!b || !key || !clean(value) || !*value)
        return NP_ERR_INVAL;
    if ((r = np_buf_put_str(b, "update")) != 0)
        return r;
    if (md && (r = at_metadata_format_options(md, b)) != 0)
        return r;
    if ((r = np_buf_put_str(b, ":")) != 0 || (r = put_key(b, key)) != 0)
        return r;
    return np_buf_putf(b, " %s", value);
}

int at_build_update_meta(struct np_buf *b, const struct at_key *key, const struct at_metadata *md)
{
    int r;

    if (!b || !key)
        return NP_ERR_INVAL;
    if ((r = np_buf_put_str(b, "update:meta:")) != 0 || (r = put_key(b, key)) != 0)
        return r;
    return md ? at_metadata_format_options(md, b) : 0;
}

int at_build_lookup(struct np_buf *b, enum at_verb verb, enum at_lookup_op op, int bypass_cache,
                    const struct at_key *key)
{
    static const char *const ops[] = {"", ":meta", ":all"};
    char entity[AT_KEY_BUF];
    int r;

    if (!b || !key || (unsigned)op > AT_LOOKUP_ALL)
        return NP_ERR_INVAL;
    if (verb == AT_VERB_LLOOKUP) {
        if ((r = np_buf_putf(b, "llookup%s:", ops[op])) != 0)
            return r;
        return put_key(b, key);
    }
    if ((verb != AT_VERB_LOOKUP && verb != AT_VERB_PLOOKUP) || key->owner[0] == '\0')
        return NP_ERR_INVAL;
    if ((r = at_key_entity(key, entity, sizeof(entity))) != 0)
        return r;
    return np_buf_putf(b, "%s%s%s:%s%s", verb == AT_VERB_LOOKUP ? "lookup" : "plookup",
                       bypass_cache < 0 ? ""
                       : bypass_cache   ? ":bypassCache:true"
                                        : ":bypassCache:false",
                       ops[op], entity, key->owner);
}

int at_build_delete(struct np_buf *b, const struct at_key *key)
{
    int r;

    if (!b || !key)
        return NP_ERR_INVAL;
    if ((r = np_buf_put_str(b, "delete:")) != 0)
        return r;
    return put_key(b, key);
}

int at_build_scan(struct np_buf *b, int show_hidden, const char *regex)
{
    int r;

    if (!b || (regex && (!clean(regex) || !*regex)))
        return NP_ERR_INVAL;
    if ((r = np_buf_put_str(b, "scan")) != 0)
        return r;
    if (show_hidden >= 0 &&
        (r = np_buf_putf(b, ":showHidden:%s", show_hidden ? "true" : "false")) != 0)
        return r;
    return regex ? np_buf_putf(b, " %s", regex) : 0;
}

int at_build_notify(struct np_buf *b, const struct at_notify_params *p)
{
    int r;

    if (!b || !p || !p->key || !*p->key || !clean(p->key) || (p->value && !clean(p->value)) ||
        (p->id && !token_ok(p->id)) || (p->notifier && !token_ok(p->notifier)))
        return NP_ERR_INVAL;
    if ((p->to && at_atsign_check(p->to, strlen(p->to)) != 0) ||
        (p->from && at_atsign_check(p->from, strlen(p->from)) != 0))
        return NP_ERR_INVAL;
    if ((r = np_buf_put_str(b, "notify")) != 0)
        return r;
    if (p->id && (r = np_buf_putf(b, ":id:%s", p->id)) != 0)
        return r;
    if (p->has_op && (r = np_buf_putf(b, ":%s", at_notify_op_name(p->op))) != 0)
        return r;
    if (p->has_msg_type &&
        (r = np_buf_putf(b, ":messageType:%s", at_msg_type_name(p->msg_type))) != 0)
        return r;
    if (p->has_priority && (r = np_buf_putf(b, ":priority:%s", at_priority_name(p->priority))) != 0)
        return r;
    if (p->has_strategy && (r = np_buf_putf(b, ":strategy:%s", at_strategy_name(p->strategy))) != 0)
        return r;
    if (p->has_latest_n && (r = np_buf_putf(b, ":latestN:%lld", (long long)p->latest_n)) != 0)
        return r;
    if (p->notifier && (r = np_buf_putf(b, ":notifier:%s", p->notifier)) != 0)
        return r;
    if (p->has_ttln && (r = np_buf_putf(b, ":ttln:%lld", (long long)p->ttln)) != 0)
        return r;
    if (p->md && (r = at_metadata_format_options(p->md, b)) != 0)
        return r;
    if ((r = np_buf_putf(b, ":%s:%s%s", p->to ? p->to : "public", p->key,
                         p->from ? p->from : "")) != 0)
        return r;
    return p->value ? np_buf_putf(b, ":%s", p->value) : 0;
}

int at_build_notify_status(struct np_buf *b, const char *id)
{
    if (!b || !token_ok(id))
        return NP_ERR_INVAL;
    return np_buf_putf(b, "notify:status:%s", id);
}

int at_build_monitor(struct np_buf *b, bool strict, bool self_notifications, bool multiplexed,
                     int64_t epoch_ms, const char *regex)
{
    int r;

    if (!b || (regex && (!clean(regex) || !*regex)))
        return NP_ERR_INVAL;
    if ((r = np_buf_putf(b, "monitor%s%s%s", strict ? ":strict" : "",
                         self_notifications ? ":selfNotifications" : "",
                         multiplexed ? ":multiplexed" : "")) != 0)
        return r;
    if (epoch_ms >= 0 && (r = np_buf_putf(b, ":%lld", (long long)epoch_ms)) != 0)
        return r;
    return regex ? np_buf_putf(b, " %s", regex) : 0;
}

int at_build_noop(struct np_buf *b, int64_t ms)
{
    if (!b || ms < 0)
        return NP_ERR_INVAL;
    return np_buf_putf(b, "noop:%lld", (long long)ms);
}

/* Optional string metadata of the forwarded body, in 7.2 order. */
static const enum at_md_field fwd_strs[] = {
    AT_MD_SHARED_KEY_ENC, AT_MD_PUB_KEY_CS,       AT_MD_ENC_KEY_NAME, AT_MD_ENC_ALGO,
    AT_MD_IV_NONCE,       AT_MD_SKE_ENC_KEY_NAME, AT_MD_SKE_ENC_ALGO};

static int put_md_str(struct np_buf *b, const struct at_metadata *md, enum at_md_field f)
{
    const char *v = *AT__MD_STR((struct at_metadata *)md, at__md_desc(f));

    if (!at_metadata_has(md, f) || !v)
        return 0;
    if (!token_ok(v) || strchr(v, '@'))
        return NP_ERR_INVAL;
    return np_buf_putf(b, ":%s:%s", at_metadata_field_name(f), v);
}

int at_build_forward_notify(struct np_buf *b, const struct at_fwd_notify *n)
{
    const struct at_metadata *md;
    int r;

    if (!b || !n || !token_ok(n->id) || !n->full_key || !*n->full_key || !clean(n->full_key) ||
        (n->value && !clean(n->value)) || !token_ok(n->notifier ? n->notifier : "SYSTEM"))
        return NP_ERR_INVAL;
    if ((r = np_buf_putf(b, "notify:id:%s:%s:messageType:%s:notifier:%s:ttln:%lld", n->id,
                         at_notify_op_name(n->op), at_msg_type_name(n->msg_type),
                         n->notifier ? n->notifier : "SYSTEM", (long long)n->ttln)) != 0)
        return r;
    if ((md = n->md) != NULL) {
        if (at_metadata_has(md, AT_MD_TTL) &&
            (r = np_buf_putf(b, ":ttl:%lld", (long long)md->ttl)) != 0)
            return r;
        if (at_metadata_has(md, AT_MD_TTB) &&
            (r = np_buf_putf(b, ":ttb:%lld", (long long)md->ttb)) != 0)
            return r;
        if (at_metadata_has(md, AT_MD_TTR) &&
            (r = np_buf_putf(b, ":ttr:%lld:ccd:%s", (long long)md->ttr,
                             at_metadata_has(md, AT_MD_CCD) && md->ccd ? "true" : "false")) != 0)
            return r;
        if ((r = np_buf_putf(
                 b, ":isEncrypted:%s",
                 at_metadata_has(md, AT_MD_IS_ENCRYPTED) && md->is_encrypted ? "true" : "false")) !=
            0)
            return r;
        for (size_t i = 0; i < sizeof(fwd_strs) / sizeof(fwd_strs[0]); i++)
            if ((r = put_md_str(b, md, fwd_strs[i])) != 0)
                return r;
    }
    if ((r = np_buf_putf(b, ":%s", n->full_key)) != 0)
        return r;
    return n->value ? np_buf_putf(b, ":%s", n->value) : 0;
}
