/*
 * lib/at/notification.c - build and parse the monitor push JSON (7.6) and
 * the stats notification (7.7) with cJSON.
 */
#include "at/notification.h"
#include "at/at_int.h"
#include "at/metadata_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const enum at_md_field live_fields[] = {AT_MD_ENC_KEY_NAME, AT_MD_ENC_ALGO,
                                               AT_MD_IV_NONCE,     AT_MD_SKE_ENC_KEY_NAME,
                                               AT_MD_SKE_ENC_ALGO, AT_MD_SHARED_KEY_ENC};
static const enum at_md_field replay_fields[] = {
    AT_MD_ENC_KEY_NAME, AT_MD_ENC_ALGO,     AT_MD_IV_NONCE,  AT_MD_SKE_ENC_KEY_NAME,
    AT_MD_SKE_ENC_ALGO, AT_MD_AVAILABLE_AT, AT_MD_EXPIRES_AT};

void at_notification_init(struct at_notification *n)
{
    if (n)
        memset(n, 0, sizeof(*n));
}

void at_notification_clear(struct at_notification *n)
{
    if (!n)
        return;
    np_free(n->id);
    np_free(n->from);
    np_free(n->to);
    np_free(n->key);
    np_free(n->value);
    at_metadata_clear(&n->md);
    memset(n, 0, sizeof(*n));
}

int at_notification_set_strings(struct at_notification *n, const char *id, const char *from,
                                const char *to, const char *key, const char *value)
{
    const char *src[5] = {id, from, to, key, value};
    char *dup[5] = {NULL, NULL, NULL, NULL, NULL};
    char **dst[5];

    if (!n)
        return NP_ERR_INVAL;
    dst[0] = &n->id;
    dst[1] = &n->from;
    dst[2] = &n->to;
    dst[3] = &n->key;
    dst[4] = &n->value;
    for (int i = 0; i < 5; i++) {
        if (src[i] && (dup[i] = np_strdup(src[i])) == NULL) {
            for (int k = 0; k < i; k++)
                np_free(dup[k]);
            return NP_ERR_NOMEM;
        }
    }
    for (int i = 0; i < 5; i++) {
        np_free(*dst[i]);
        *dst[i] = dup[i];
    }
    return 0;
}

static cJSON *add_str_or_null(cJSON *o, const char *name, const char *v)
{
    return v ? cJSON_AddStringToObject(o, name, v) : cJSON_AddNullToObject(o, name);
}

static int add_metadata(cJSON *o, const struct at_notification *n)
{
    const enum at_md_field *fields;
    size_t count;
    cJSON *m;

    if (n->md_kind == AT_NOTIF_MD_NULL)
        return cJSON_AddNullToObject(o, "metadata") ? 0 : NP_ERR_NOMEM;
    if ((m = cJSON_AddObjectToObject(o, "metadata")) == NULL)
        return NP_ERR_NOMEM;
    fields = n->md_kind == AT_NOTIF_MD_LIVE ? live_fields : replay_fields;
    count = n->md_kind == AT_NOTIF_MD_LIVE ? sizeof(live_fields) / sizeof(live_fields[0])
                                           : sizeof(replay_fields) / sizeof(replay_fields[0]);
    for (size_t i = 0; i < count; i++) {
        const struct at__md_desc *d = at__md_desc(fields[i]);
        cJSON *it;
        if (d->kind == AT__MD_DATE) {
            char date[AT__DATE_BUF] = "null";
            if (at_metadata_has(&n->md, fields[i]))
                at__date_format(date, sizeof(date), *AT__MD_I64((struct at_metadata *)&n->md, d));
            it = cJSON_AddStringToObject(m, d->name, date);
        } else {
            const char *v = at_metadata_has(&n->md, fields[i])
                                ? *AT__MD_STR((struct at_metadata *)&n->md, d)
                                : NULL;
            it = add_str_or_null(m, d->name, v);
        }
        if (!it)
            return NP_ERR_NOMEM;
    }
    return 0;
}

int at_notification_to_json(const struct at_notification *n, char **json)
{
    char num[32];
    cJSON *o = NULL;
    char *txt = NULL;
    int r = NP_ERR_NOMEM;

    if (!json)
        return NP_ERR_INVAL;
    *json = NULL;
    if (!n || !n->id || !n->key)
        return NP_ERR_INVAL;
    snprintf(num, sizeof(num), "%lld", (long long)n->epoch_ms);
    if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddStringToObject(o, "id", n->id) ||
        !add_str_or_null(o, "from", n->from) || !add_str_or_null(o, "to", n->to) ||
        !cJSON_AddStringToObject(o, "key", n->key) || !add_str_or_null(o, "value", n->value) ||
        !cJSON_AddStringToObject(o, "operation", at_notify_op_name(n->op)) ||
        !cJSON_AddRawToObject(o, "epochMillis", num) ||
        !cJSON_AddStringToObject(o, "messageType",
                                 n->msg_type == AT_MSG_TEXT ? "MessageType.text"
                                                            : "MessageType.key") ||
        !cJSON_AddBoolToObject(o, "isEncrypted", n->is_encrypted))
        goto out;
    if ((r = add_metadata(o, n)) != 0)
        goto out;
    r = NP_ERR_NOMEM;
    if ((txt = cJSON_PrintUnformatted(o)) == NULL || (*json = np_strdup(txt)) == NULL)
        goto out;
    r = 0;
out:
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(o);
    return r;
}

int at_notification_format_line(const struct at_notification *n, struct np_buf *b)
{
    char *json = NULL;
    int r;

    if (!b)
        return NP_ERR_INVAL;
    if ((r = at_notification_to_json(n, &json)) != 0)
        return r;
    r = np_buf_putf(b, "notification: %s\n", json);
    np_free(json);
    return r;
}

int at_notification_make_stats(struct at_notification *n, const char *atsign, int64_t commit_id,
                               enum at_notify_op op, int64_t epoch_ms)
{
    char key[AT_ATSIGN_BUF + 32], value[32];
    int r;

    if (!n)
        return NP_ERR_INVAL;
    at_notification_clear(n);
    if (!atsign || at_atsign_check(atsign, strlen(atsign)) != 0)
        return NP_ERR_INVAL;
    snprintf(key, sizeof(key), "statsNotification.%s", atsign);
    snprintf(value, sizeof(value), "%lld", (long long)commit_id);
    if ((r = at_notification_set_strings(n, "-1", atsign, atsign, key, value)) != 0)
        return r;
    n->op = op;
    n->epoch_ms = epoch_ms;
    n->msg_type = AT_MSG_KEY;
    n->is_encrypted = false;
    n->md_kind = AT_NOTIF_MD_NULL;
    return 0;
}

bool at_notification_is_stats(const struct at_notification *n)
{
    return n && n->id && strcmp(n->id, "-1") == 0;
}

/* A string-or-null member: *out = copy, NULL for null/absent. */
static int get_opt_str(const cJSON *o, const char *name, bool null_word, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

    *out = NULL;
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsString(it))
        return NP_ERR_FORMAT;
    if (null_word && strcmp(it->valuestring, "null") == 0)
        return 0;
    return (*out = np_strdup(it->valuestring)) ? 0 : NP_ERR_NOMEM;
}

static int parse_metadata(const cJSON *m, struct at_notification *n)
{
    bool replay;

    if (!m || cJSON_IsNull(m)) {
        n->md_kind = AT_NOTIF_MD_NULL;
        return 0;
    }
    if (!cJSON_IsObject(m))
        return NP_ERR_FORMAT;
    replay = cJSON_GetObjectItemCaseSensitive(m, "availableAt") ||
             cJSON_GetObjectItemCaseSensitive(m, "expiresAt");
    n->md_kind = replay ? AT_NOTIF_MD_REPLAY : AT_NOTIF_MD_LIVE;
    for (int f = 0; f < AT_MD__COUNT; f++) {
        const struct at__md_desc *d = at__md_desc((enum at_md_field)f);
        bool used = false;
        char *s = NULL;
        int r;
        for (size_t i = 0; i < sizeof(replay_fields) / sizeof(replay_fields[0]); i++)
            used |= replay_fields[i] == (enum at_md_field)f;
        used |= f == AT_MD_SHARED_KEY_ENC;
        if (!used)
            continue;
        if ((r = get_opt_str(m, d->name, true, &s)) != 0)
            return r;
        if (!s)
            continue;
        if (d->kind == AT__MD_DATE) {
            int64_t ms;
            r = at__date_parse(s, strlen(s), &ms);
            np_free(s);
            if (r != 0)
                return NP_ERR_FORMAT;
            r = at_metadata_set_int(&n->md, (enum at_md_field)f, ms);
        } else {
            *AT__MD_STR(&n->md, d) = s;
            n->md.present |= AT_MD_BIT(f);
        }
        if (r != 0)
            return r;
    }
    return 0;
}

int at_notification_parse(const char *text, size_t len, struct at_notification *out)
{
    struct at_notification n;
    const cJSON *it;
    cJSON *o = NULL;
    int r = NP_ERR_FORMAT;

    if (!out)
        return NP_ERR_INVAL;
    at_notification_init(out);
    if (!text)
        return NP_ERR_INVAL;
    at_notification_init(&n);
    if ((o = at__json_parse(text, len)) == NULL || !cJSON_IsObject(o))
        goto out;
    it = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsString(it) || (n.id = np_strdup(it->valuestring)) == NULL)
        goto nomem_or_format;
    it = cJSON_GetObjectItemCaseSensitive(o, "key");
    if (!cJSON_IsString(it) || (n.key = np_strdup(it->valuestring)) == NULL)
        goto nomem_or_format;
    if ((r = get_opt_str(o, "from", false, &n.from)) != 0 ||
        (r = get_opt_str(o, "to", false, &n.to)) != 0 ||
        (r = get_opt_str(o, "value", false, &n.value)) != 0)
        goto out;
    r = NP_ERR_FORMAT;
    it = cJSON_GetObjectItemCaseSensitive(o, "operation");
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsString(it))
            goto out;
        if (!strcmp(it->valuestring, "delete") || !strcmp(it->valuestring, "OperationType.delete"))
            n.op = AT_NOTIFY_DELETE;
        else if (strcmp(it->valuestring, "update") != 0 &&
                 strcmp(it->valuestring, "OperationType.update") != 0)
            goto out;
    }
    it = cJSON_GetObjectItemCaseSensitive(o, "epochMillis");
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) ||
        it->valuedouble != floor(it->valuedouble) || fabs(it->valuedouble) > 9007199254740992.0)
        goto out;
    n.epoch_ms = (int64_t)it->valuedouble;
    it = cJSON_GetObjectItemCaseSensitive(o, "messageType");
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsString(it))
            goto out;
        if (!strcmp(it->valuestring, "MessageType.text") || !strcmp(it->valuestring, "text"))
            n.msg_type = AT_MSG_TEXT;
        else if (strcmp(it->valuestring, "MessageType.key") != 0 &&
                 strcmp(it->valuestring, "key") != 0)
            goto out;
    }
    it = cJSON_GetObjectItemCaseSensitive(o, "isEncrypted");
    if (it) {
        if (!cJSON_IsBool(it))
            goto out;
        n.is_encrypted = cJSON_IsTrue(it);
    }
    if ((r = parse_metadata(cJSON_GetObjectItemCaseSensitive(o, "metadata"), &n)) != 0)
        goto out;
    *out = n;
    at_notification_init(&n);
    r = 0;
    goto out;
nomem_or_format:
    r = it && cJSON_IsString(it) ? NP_ERR_NOMEM : NP_ERR_FORMAT;
out:
    cJSON_Delete(o);
    at_notification_clear(&n);
    return r;
}
