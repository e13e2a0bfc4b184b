/*
 * lib/at/metadata_json.c - metadata as the JSON object of atprotocol.md 5.2
 * (and the stringified sync:from variant), built and parsed with cJSON.
 */
#include "at/at_int.h"
#include "at/metadata.h"
#include "at/metadata_int.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* 5.2 member order, then the fields the table does not list. */
static const enum at_md_field json_order[] = {AT_MD_CREATED_BY,
                                              AT_MD_UPDATED_BY,
                                              AT_MD_CREATED_AT,
                                              AT_MD_UPDATED_AT,
                                              AT_MD_AVAILABLE_AT,
                                              AT_MD_EXPIRES_AT,
                                              AT_MD_REFRESH_AT,
                                              AT_MD_STATUS,
                                              AT_MD_VERSION,
                                              AT_MD_TTL,
                                              AT_MD_TTB,
                                              AT_MD_TTR,
                                              AT_MD_CCD,
                                              AT_MD_IS_BINARY,
                                              AT_MD_IS_ENCRYPTED,
                                              AT_MD_DATA_SIGNATURE,
                                              AT_MD_SHARED_KEY_ENC,
                                              AT_MD_PUB_KEY_CS,
                                              AT_MD_ENCODING,
                                              AT_MD_ENC_KEY_NAME,
                                              AT_MD_ENC_ALGO,
                                              AT_MD_IV_NONCE,
                                              AT_MD_SKE_ENC_KEY_NAME,
                                              AT_MD_SKE_ENC_ALGO,
                                              AT_MD_SHARED_KEY_STATUS,
                                              AT_MD_HASH,
                                              AT_MD_ALGO};

/* Largest integer a double holds exactly. */
#define JSON_INT_MAX 9007199254740992.0

static int add_field(cJSON *o, const struct at_metadata *md, enum at_md_field f, bool str)
{
    const struct at__md_desc *d = at__md_desc(f);
    struct at_metadata *m = (struct at_metadata *)md;
    char tmp[AT__DATE_BUF];
    cJSON *item;

    switch (d->kind) {
    case AT__MD_INT:
        snprintf(tmp, sizeof(tmp), "%lld", (long long)*AT__MD_I64(m, d));
        item =
            str ? cJSON_AddStringToObject(o, d->name, tmp) : cJSON_AddRawToObject(o, d->name, tmp);
        break;
    case AT__MD_BOOL:
        if (str)
            item = cJSON_AddStringToObject(o, d->name, *AT__MD_BOOL(m, d) ? "true" : "false");
        else
            item = cJSON_AddBoolToObject(o, d->name, *AT__MD_BOOL(m, d));
        break;
    case AT__MD_DATE:
        at__date_format(tmp, sizeof(tmp), *AT__MD_I64(m, d));
        item = cJSON_AddStringToObject(o, d->name, tmp);
        break;
    default:
        item = cJSON_AddStringToObject(o, d->name, *AT__MD_STR(m, d));
        break;
    }
    return item ? 0 : NP_ERR_NOMEM;
}

int at_metadata_to_json(const struct at_metadata *md, bool stringified, char **json)
{
    cJSON *o = NULL;
    char *txt = NULL;
    int r = NP_ERR_NOMEM;

    if (!json)
        return NP_ERR_INVAL;
    *json = NULL;
    if (!md)
        return NP_ERR_INVAL;
    if ((o = cJSON_CreateObject()) == NULL)
        goto out;
    for (size_t i = 0; i < sizeof(json_order) / sizeof(json_order[0]); i++) {
        enum at_md_field f = json_order[i];
        const struct at__md_desc *d = at__md_desc(f);
        if (!at_metadata_has(md, f))
            continue;
        if (d->kind == AT__MD_STR && *AT__MD_STR((struct at_metadata *)md, d) == NULL)
            continue;
        if ((r = add_field(o, md, f, stringified)) != 0)
            goto out;
    }
    r = NP_ERR_NOMEM;
    if ((txt = cJSON_PrintUnformatted(o)) == NULL)
        goto out;
    if ((*json = np_strdup(txt)) == NULL)
        goto out;
    r = 0;
out:
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(o);
    return r;
}

static int json_int(const cJSON *it, int64_t *v)
{
    if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;
        if (!isfinite(d) || d != floor(d) || d > JSON_INT_MAX || d < -JSON_INT_MAX)
            return NP_ERR_FORMAT;
        *v = (int64_t)d;
        return 0;
    }
    if (cJSON_IsString(it)) /* same range as numbers, so values round-trip */
        return np_parse_i64(it->valuestring, -(int64_t)JSON_INT_MAX, (int64_t)JSON_INT_MAX, v) == 0
                   ? 0
                   : NP_ERR_FORMAT;
    return NP_ERR_FORMAT;
}

static int json_bool(const cJSON *it, bool *v)
{
    if (cJSON_IsBool(it)) {
        *v = cJSON_IsTrue(it);
        return 0;
    }
    if (cJSON_IsString(it) && strcmp(it->valuestring, "true") == 0) {
        *v = true;
        return 0;
    }
    if (cJSON_IsString(it) && strcmp(it->valuestring, "false") == 0) {
        *v = false;
        return 0;
    }
    return NP_ERR_FORMAT;
}

int at_metadata_from_cjson(struct at_metadata *md, const void *object)
{
    const cJSON *o = object;
    struct at_metadata m;
    int r = 0;

    if (!md)
        return NP_ERR_INVAL;
    at_metadata_init(md);
    if (!cJSON_IsObject(o))
        return NP_ERR_FORMAT;
    at_metadata_init(&m);
    for (int f = 0; f < AT_MD__COUNT && r == 0; f++) {
        const struct at__md_desc *d = at__md_desc((enum at_md_field)f);
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, d->name);
        int64_t iv;
        bool bv;

        if (!it || cJSON_IsNull(it))
            continue;
        if (cJSON_IsString(it) && strcmp(it->valuestring, "null") == 0)
            continue;
        switch (d->kind) {
        case AT__MD_INT:
            if ((r = json_int(it, &iv)) == 0)
                r = at_metadata_set_int(&m, (enum at_md_field)f, iv);
            break;
        case AT__MD_BOOL:
            if ((r = json_bool(it, &bv)) == 0)
                r = at_metadata_set_bool(&m, (enum at_md_field)f, bv);
            break;
        case AT__MD_DATE:
            if (!cJSON_IsString(it) ||
                at__date_parse(it->valuestring, strlen(it->valuestring), &iv) != 0)
                r = NP_ERR_FORMAT;
            else
                r = at_metadata_set_int(&m, (enum at_md_field)f, iv);
            break;
        default:
            if (!cJSON_IsString(it))
                r = NP_ERR_FORMAT;
            else
                r = at_metadata_set_str(&m, (enum at_md_field)f, it->valuestring);
            break;
        }
    }
    if (r != 0) {
        at_metadata_clear(&m);
        return r;
    }
    *md = m;
    return 0;
}

int at_metadata_from_json(struct at_metadata *md, const char *text, size_t n)
{
    cJSON *o;
    int r;

    if (!md)
        return NP_ERR_INVAL;
    at_metadata_init(md);
    if (!text)
        return NP_ERR_INVAL;
    if ((o = at__json_parse(text, n)) == NULL)
        return NP_ERR_FORMAT;
    r = at_metadata_from_cjson(md, o);
    cJSON_Delete(o);
    return r;
}
