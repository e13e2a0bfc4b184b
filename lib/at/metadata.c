/*
 * lib/at/metadata.c - metadata fields: the descriptor table, setters, merge,
 * wire options (5.1) in any order, canonical option formatting, and the
 * derived dates (5.3). JSON lives in metadata_json.c.
 */
#include "at/metadata.h"
#include "at/at_int.h"
#include "at/metadata_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"

#include <string.h>

#define D(f, n, k, m, w) [f] = {n, k, offsetof(struct at_metadata, m), w}
static const struct at__md_desc descs[AT_MD__COUNT] = {
    D(AT_MD_TTL, "ttl", AT__MD_INT, ttl, 1),
    D(AT_MD_TTB, "ttb", AT__MD_INT, ttb, 1),
    D(AT_MD_TTR, "ttr", AT__MD_INT, ttr, 1),
    D(AT_MD_CCD, "ccd", AT__MD_BOOL, ccd, 1),
    D(AT_MD_DATA_SIGNATURE, "dataSignature", AT__MD_STR, data_signature, 1),
    D(AT_MD_SHARED_KEY_STATUS, "sharedKeyStatus", AT__MD_STR, shared_key_status, 1),
    D(AT_MD_IS_BINARY, "isBinary", AT__MD_BOOL, is_binary, 1),
    D(AT_MD_IS_ENCRYPTED, "isEncrypted", AT__MD_BOOL, is_encrypted, 1),
    D(AT_MD_SHARED_KEY_ENC, "sharedKeyEnc", AT__MD_STR, shared_key_enc, 1),
    D(AT_MD_PUB_KEY_CS, "pubKeyCS", AT__MD_STR, pub_key_cs, 1),
    D(AT_MD_ENCODING, "encoding", AT__MD_STR, encoding, 1),
    D(AT_MD_ENC_KEY_NAME, "encKeyName", AT__MD_STR, enc_key_name, 1),
    D(AT_MD_ENC_ALGO, "encAlgo", AT__MD_STR, enc_algo, 1),
    D(AT_MD_IV_NONCE, "ivNonce", AT__MD_STR, iv_nonce, 1),
    D(AT_MD_SKE_ENC_KEY_NAME, "skeEncKeyName", AT__MD_STR, ske_enc_key_name, 1),
    D(AT_MD_SKE_ENC_ALGO, "skeEncAlgo", AT__MD_STR, ske_enc_algo, 1),
    D(AT_MD_HASH, "hash", AT__MD_STR, hash, 1),
    D(AT_MD_ALGO, "algo", AT__MD_STR, algo, 1),
    D(AT_MD_CREATED_BY, "createdBy", AT__MD_STR, created_by, 0),
    D(AT_MD_UPDATED_BY, "updatedBy", AT__MD_STR, updated_by, 0),
    D(AT_MD_CREATED_AT, "createdAt", AT__MD_DATE, created_at, 0),
    D(AT_MD_UPDATED_AT, "updatedAt", AT__MD_DATE, updated_at, 0),
    D(AT_MD_AVAILABLE_AT, "availableAt", AT__MD_DATE, available_at, 0),
    D(AT_MD_EXPIRES_AT, "expiresAt", AT__MD_DATE, expires_at, 0),
    D(AT_MD_REFRESH_AT, "refreshAt", AT__MD_DATE, refresh_at, 0),
    D(AT_MD_STATUS, "status", AT__MD_STR, status, 0),
    D(AT_MD_VERSION, "version", AT__MD_INT, version, 0),
};
#undef D

/* Canonical sending order of the wire options. */
static const enum at_md_field send_order[] = {AT_MD_TTL,
                                              AT_MD_TTB,
                                              AT_MD_TTR,
                                              AT_MD_CCD,
                                              AT_MD_DATA_SIGNATURE,
                                              AT_MD_SHARED_KEY_STATUS,
                                              AT_MD_IS_BINARY,
                                              AT_MD_IS_ENCRYPTED,
                                              AT_MD_SHARED_KEY_ENC,
                                              AT_MD_PUB_KEY_CS,
                                              AT_MD_HASH,
                                              AT_MD_ALGO,
                                              AT_MD_ENCODING,
                                              AT_MD_ENC_KEY_NAME,
                                              AT_MD_ENC_ALGO,
                                              AT_MD_IV_NONCE,
                                              AT_MD_SKE_ENC_KEY_NAME,
                                              AT_MD_SKE_ENC_ALGO};

const struct at__md_desc *at__md_desc(enum at_md_field f)
{
    return (unsigned)f < AT_MD__COUNT ? &descs[f] : NULL;
}

void at_metadata_init(struct at_metadata *md)
{
    if (md)
        memset(md, 0, sizeof(*md));
}

void at_metadata_clear(struct at_metadata *md)
{
    if (!md)
        return;
    for (int f = 0; f < AT_MD__COUNT; f++)
        if (descs[f].kind == AT__MD_STR)
            np_free(*AT__MD_STR(md, &descs[f]));
    memset(md, 0, sizeof(*md));
}

bool at_metadata_has(const struct at_metadata *md, enum at_md_field f)
{
    if (!md || (unsigned)f >= AT_MD__COUNT)
        return false;
    return (md->present & AT_MD_BIT(f)) && !(md->nulled & AT_MD_BIT(f));
}

const char *at_metadata_field_name(enum at_md_field f)
{
    return (unsigned)f < AT_MD__COUNT ? descs[f].name : NULL;
}

int at_metadata_option_lookup(const char *name, size_t n)
{
    for (int f = 0; f < AT_MD__COUNT; f++)
        if (descs[f].wire && at__eq_ci(name, n, descs[f].name))
            return f;
    return -1;
}

void at_metadata_unset(struct at_metadata *md, enum at_md_field f)
{
    const struct at__md_desc *d = at__md_desc(f);

    if (!md || !d)
        return;
    md->present &= ~AT_MD_BIT(f);
    md->nulled &= ~AT_MD_BIT(f);
    switch (d->kind) {
    case AT__MD_STR:
        np_free(*AT__MD_STR(md, d));
        *AT__MD_STR(md, d) = NULL;
        break;
    case AT__MD_BOOL:
        *AT__MD_BOOL(md, d) = false;
        break;
    default:
        *AT__MD_I64(md, d) = 0;
        break;
    }
}

int at_metadata_set_int(struct at_metadata *md, enum at_md_field f, int64_t v)
{
    const struct at__md_desc *d = at__md_desc(f);

    if (!md || !d || (d->kind != AT__MD_INT && d->kind != AT__MD_DATE))
        return NP_ERR_INVAL;
    at_metadata_unset(md, f);
    *AT__MD_I64(md, d) = v;
    md->present |= AT_MD_BIT(f);
    return 0;
}

int at_metadata_set_bool(struct at_metadata *md, enum at_md_field f, bool v)
{
    const struct at__md_desc *d = at__md_desc(f);

    if (!md || !d || d->kind != AT__MD_BOOL)
        return NP_ERR_INVAL;
    at_metadata_unset(md, f);
    *AT__MD_BOOL(md, d) = v;
    md->present |= AT_MD_BIT(f);
    return 0;
}

static int set_strn(struct at_metadata *md, enum at_md_field f, const char *s, size_t n)
{
    const struct at__md_desc *d = at__md_desc(f);
    char *copy;

    if (!md || !d || d->kind != AT__MD_STR || !s)
        return NP_ERR_INVAL;
    if ((copy = np_memdup0(s, n)) == NULL)
        return NP_ERR_NOMEM;
    at_metadata_unset(md, f);
    *AT__MD_STR(md, d) = copy;
    md->present |= AT_MD_BIT(f);
    return 0;
}

int at_metadata_set_str(struct at_metadata *md, enum at_md_field f, const char *s)
{
    return set_strn(md, f, s, s ? strlen(s) : 0);
}

int at_metadata_set_null(struct at_metadata *md, enum at_md_field f)
{
    if (!md || (unsigned)f >= AT_MD__COUNT)
        return NP_ERR_INVAL;
    at_metadata_unset(md, f);
    md->present |= AT_MD_BIT(f);
    md->nulled |= AT_MD_BIT(f);
    return 0;
}

int at_metadata_copy(struct at_metadata *dst, const struct at_metadata *src)
{
    int r;

    if (!dst || !src || dst == src)
        return NP_ERR_INVAL;
    at_metadata_init(dst);
    if ((r = at_metadata_merge(dst, src)) != 0) {
        at_metadata_clear(dst);
        return r;
    }
    /* keep nulled markers too: a copy is the same "update" */
    dst->present |= src->present & src->nulled;
    dst->nulled = src->nulled;
    return 0;
}

int at_metadata_merge(struct at_metadata *dst, const struct at_metadata *src)
{
    if (!dst || !src)
        return NP_ERR_INVAL;
    for (int f = 0; f < AT_MD__COUNT; f++) {
        const struct at__md_desc *d = &descs[f];
        int r = 0;
        if (!(src->present & AT_MD_BIT(f)))
            continue;
        if (src->nulled & AT_MD_BIT(f)) {
            at_metadata_unset(dst, (enum at_md_field)f);
            continue;
        }
        switch (d->kind) {
        case AT__MD_STR: {
            const char *s = *AT__MD_STR((struct at_metadata *)src, d);
            r = s ? at_metadata_set_str(dst, (enum at_md_field)f, s)
                  : at_metadata_set_null(dst, (enum at_md_field)f);
            break;
        }
        case AT__MD_BOOL:
            r = at_metadata_set_bool(dst, (enum at_md_field)f,
                                     *AT__MD_BOOL((struct at_metadata *)src, d));
            break;
        default:
            r = at_metadata_set_int(dst, (enum at_md_field)f,
                                    *AT__MD_I64((struct at_metadata *)src, d));
            break;
        }
        if (r != 0)
            return r;
    }
    return 0;
}

static bool str_value_ok(const char *v, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] == ':' || v[i] == '@' || v[i] == '\0' || at__is_space(v[i]))
            return false;
    return true;
}

int at_metadata_parse_option(struct at_metadata *md, enum at_md_field f, const char *value,
                             size_t n)
{
    const struct at__md_desc *d = at__md_desc(f);
    int64_t v;

    if (!md || !d || !d->wire || !value)
        return NP_ERR_INVAL;
    if (md->present & AT_MD_BIT(f))
        return NP_ERR_EXISTS;
    switch (d->kind) {
    case AT__MD_INT:
        if (f == AT_MD_TTR) {
            if (np_parse_i64n(value, n, -1, AT_MD_TTR_MAX, &v) != 0)
                return NP_ERR_FORMAT;
        } else if (n > 0 && value[0] == '-') {
            return NP_ERR_FORMAT;
        } else if (np_parse_i64n(value, n, 0, AT_MD_TTL_MAX, &v) != 0) {
            return NP_ERR_FORMAT;
        }
        return at_metadata_set_int(md, f, v);
    case AT__MD_BOOL:
        if (at__eq_ci(value, n, "true"))
            return at_metadata_set_bool(md, f, true);
        if (at__eq_ci(value, n, "false"))
            return at_metadata_set_bool(md, f, false);
        return NP_ERR_FORMAT;
    case AT__MD_STR:
        if (!str_value_ok(value, n))
            return NP_ERR_FORMAT;
        if (n == 4 && memcmp(value, "null", 4) == 0)
            return at_metadata_set_null(md, f);
        return set_strn(md, f, value, n);
    default:
        return NP_ERR_INVAL;
    }
}

int at_metadata_parse_options(struct at_metadata *md, const char *text, size_t n)
{
    size_t i = 0;

    if (!md || (!text && n > 0))
        return NP_ERR_INVAL;
    while (i < n) {
        size_t ns, ne, vs, ve;
        int f, r;
        if (text[i] != ':')
            return NP_ERR_FORMAT;
        ns = ++i;
        while (i < n && text[i] != ':')
            i++;
        ne = i;
        if (i >= n)
            return NP_ERR_FORMAT; /* name without value */
        vs = ++i;
        while (i < n && text[i] != ':')
            i++;
        ve = i;
        f = at_metadata_option_lookup(text + ns, ne - ns);
        if (f < 0)
            return NP_ERR_FORMAT;
        if ((r = at_metadata_parse_option(md, (enum at_md_field)f, text + vs, ve - vs)) != 0)
            return r;
    }
    return 0;
}

int at_metadata_format_options(const struct at_metadata *md, struct np_buf *out)
{
    if (!md || !out)
        return NP_ERR_INVAL;
    for (size_t i = 0; i < sizeof(send_order) / sizeof(send_order[0]); i++) {
        enum at_md_field f = send_order[i];
        const struct at__md_desc *d = &descs[f];
        int r;
        if (!(md->present & AT_MD_BIT(f)))
            continue;
        if (md->nulled & AT_MD_BIT(f)) {
            if (d->kind != AT__MD_STR)
                continue; /* only strings have a null on the wire */
            r = np_buf_putf(out, ":%s:null", d->name);
        } else if (d->kind == AT__MD_INT) {
            r = np_buf_putf(out, ":%s:%lld", d->name,
                            (long long)*AT__MD_I64((struct at_metadata *)md, d));
        } else if (d->kind == AT__MD_BOOL) {
            r = np_buf_putf(out, ":%s:%s", d->name,
                            *AT__MD_BOOL((struct at_metadata *)md, d) ? "true" : "false");
        } else {
            const char *s = *AT__MD_STR((struct at_metadata *)md, d);
            if (!s || !str_value_ok(s, strlen(s)))
                return NP_ERR_INVAL;
            r = np_buf_putf(out, ":%s:%s", d->name, s);
        }
        if (r != 0)
            return r;
    }
    return 0;
}

void at_metadata_compute_dates(struct at_metadata *md, int64_t now_ms)
{
    int64_t ttb, ttl;

    if (!md)
        return;
    ttb = at_metadata_has(md, AT_MD_TTB) ? md->ttb : 0;
    ttl = at_metadata_has(md, AT_MD_TTL) ? md->ttl : 0;
    at_metadata_unset(md, AT_MD_AVAILABLE_AT);
    at_metadata_unset(md, AT_MD_EXPIRES_AT);
    at_metadata_unset(md, AT_MD_REFRESH_AT);
    /* values are range-checked at parse; clamp anyway against setter input */
    if (ttb > AT_MD_TTL_MAX)
        ttb = AT_MD_TTL_MAX;
    if (ttl > AT_MD_TTL_MAX)
        ttl = AT_MD_TTL_MAX;
    if (ttb > 0)
        at_metadata_set_int(md, AT_MD_AVAILABLE_AT, now_ms + ttb);
    if (ttl > 0)
        at_metadata_set_int(md, AT_MD_EXPIRES_AT, now_ms + (ttb > 0 ? ttb : 0) + ttl);
    if (at_metadata_has(md, AT_MD_TTR) && md->ttr > 0)
        at_metadata_set_int(md, AT_MD_REFRESH_AT,
                            now_ms + (md->ttr > AT_MD_TTR_MAX ? AT_MD_TTR_MAX : md->ttr) * 1000);
}

bool at_metadata_is_active(const struct at_metadata *md, int64_t now_ms)
{
    if (!md)
        return false;
    if (at_metadata_has(md, AT_MD_AVAILABLE_AT) && now_ms < md->available_at)
        return false;
    if (at_metadata_has(md, AT_MD_EXPIRES_AT) && now_ms > md->expires_at)
        return false;
    return true;
}
