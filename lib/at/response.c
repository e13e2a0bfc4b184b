/*
 * lib/at/response.c - classifying server lines on the client, formatting
 * data and error answers on the server (atprotocol.md 2.2, 2.4).
 */
#include "at/response.h"
#include "at/at_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#include <cjson/cJSON.h>
#include <string.h>

static const char *const tags[] = {"data:", "error:", "notification:", "stream:"};

static bool has_tag(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        size_t l = strlen(tags[i]);
        if (n >= l && memcmp(s, tags[i], l) == 0)
            return true;
    }
    return false;
}

size_t at_response_prompt_len(const char *line, size_t len)
{
    const char *colon;
    size_t last = 0;

    if (!line || len == 0 || line[0] != '@')
        return 0;
    colon = memchr(line, ':', len);
    if (!colon)
        return 0;
    for (size_t i = 0; line + i < colon; i++) {
        if (at__is_space(line[i]))
            return 0;
        if (line[i] == '@')
            last = i;
    }
    return has_tag(line + last + 1, len - last - 1) ? last + 1 : 0;
}

void at_response_clear(struct at_response *r)
{
    if (!r)
        return;
    np_free(r->message);
    memset(r, 0, sizeof(*r));
    r->code = -1;
}

static int parse_error(struct at_response *r, const char *s, size_t n)
{
    r->payload = s;
    r->payload_len = n;
    if (n > 0 && s[0] == '{') {
        cJSON *j = at__json_parse(s, n);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "errorCode");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "errorDescription");
        if (cJSON_IsString(c) && cJSON_IsString(d)) {
            int code = at_err_code_parse(c->valuestring, strlen(c->valuestring));
            r->code = code >= 0 ? code : -1;
            r->message = np_strdup(d->valuestring);
            cJSON_Delete(j);
            return r->message ? 0 : NP_ERR_NOMEM;
        }
        cJSON_Delete(j);
    } else if (n >= 6) {
        int code = at_err_code_parse(s, 6);
        if (code >= 0 && (n == 6 || s[6] == '-' || s[6] == ':')) {
            r->code = code;
            r->message = n == 6 ? np_strdup("") : np_memdup0(s + 7, n - 7);
            return r->message ? 0 : NP_ERR_NOMEM;
        }
    }
    r->message = np_memdup0(s, n);
    return r->message ? 0 : NP_ERR_NOMEM;
}

int at_response_parse(const char *line, size_t len, struct at_response *r)
{
    size_t skip;

    if (!r)
        return NP_ERR_INVAL;
    memset(r, 0, sizeof(*r));
    r->code = -1;
    if (!line && len > 0)
        return NP_ERR_INVAL;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    skip = at_response_prompt_len(line, len);
    line += skip;
    len -= skip;
    if (len == 0 || (len == 1 && line[0] == '@')) {
        r->kind = AT_RESP_EMPTY;
        return 0;
    }
    if (len >= 5 && memcmp(line, "data:", 5) == 0) {
        r->kind = AT_RESP_DATA;
        r->payload = line + 5;
        r->payload_len = len - 5;
        if (r->payload_len >= 2 && r->payload[0] == ' ' &&
            (r->payload[1] == '[' || r->payload[1] == '{')) {
            r->payload++;
            r->payload_len--;
        }
        return 0;
    }
    if (len >= 6 && memcmp(line, "error:", 6) == 0) {
        r->kind = AT_RESP_ERROR;
        return parse_error(r, line + 6, len - 6);
    }
    if (len >= 13 && memcmp(line, "notification:", 13) == 0) {
        r->kind = AT_RESP_NOTIFICATION;
        r->payload = line + 13;
        r->payload_len = len - 13;
        while (r->payload_len > 0 && r->payload[0] == ' ') {
            r->payload++;
            r->payload_len--;
        }
        return 0;
    }
    if (len >= 7 && memcmp(line, "stream:", 7) == 0) {
        r->kind = AT_RESP_STREAM;
        r->payload = line + 7;
        r->payload_len = len - 7;
        return 0;
    }
    if (len >= 3 && line[0] == '@' && line[len - 1] == '@' && at_atsign_check(line, len - 1) == 0) {
        r->kind = AT_RESP_POL;
        at_atsign_normalise(line, len - 1, r->atsign, sizeof(r->atsign));
        return 0;
    }
    r->kind = AT_RESP_OTHER;
    r->payload = line;
    r->payload_len = len;
    return 0;
}

int at_response_format_data(struct np_buf *b, const char *payload, size_t len, bool spaced,
                            const char *prompt)
{
    int r;

    if (!b || (!payload && len > 0))
        return NP_ERR_INVAL;
    if ((r = np_buf_put_str(b, spaced ? "data: " : "data:")) != 0 ||
        (len && (r = np_buf_put(b, payload, len)) != 0) || (r = np_buf_put_u8(b, '\n')) != 0)
        return r;
    return prompt ? np_buf_put_str(b, prompt) : 0;
}

/* Append s with CR/LF replaced by spaces. */
static int put_clean(struct np_buf *b, const char *s)
{
    for (; *s; s++) {
        int r = np_buf_put_u8(b, (*s == '\r' || *s == '\n') ? ' ' : (unsigned char)*s);
        if (r != 0)
            return r;
    }
    return 0;
}

static int describe(struct np_buf *d, int code, const char *message, bool authenticated)
{
    const char *std = at_err_description(code);
    int r;

    if (!message)
        return put_clean(d, std ? std : "Exception");
    if (authenticated && std) {
        if ((r = np_buf_putf(d, "%s : ", std)) != 0)
            return r;
    } else if ((r = np_buf_put_str(d, "Exception: ")) != 0) {
        return r;
    }
    return put_clean(d, message);
}

int at_response_format_error(struct np_buf *b, int code, const char *message, bool authenticated,
                             bool json, const char *prompt)
{
    char cs[AT_ERR_CODE_BUF];
    struct np_buf *d = NULL;
    cJSON *o = NULL;
    char *txt = NULL;
    int r;

    if (!b || (r = at_err_code_format(cs, sizeof(cs), code)) != 0)
        return NP_ERR_INVAL;
    r = NP_ERR_NOMEM;
    if ((d = np_buf_new(np_buf_max(b))) == NULL)
        goto out;
    if ((r = describe(d, code, message, authenticated)) != 0)
        goto out;
    if (json) {
        r = NP_ERR_NOMEM;
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddStringToObject(o, "errorCode", cs) ||
            !cJSON_AddStringToObject(o, "errorDescription", np_buf_ptr(d)) ||
            (txt = cJSON_PrintUnformatted(o)) == NULL)
            goto out;
        r = np_buf_putf(b, "error:%s\n", txt);
    } else {
        r = np_buf_putf(b, "error:%s-%s\n", cs, np_buf_ptr(d));
    }
    if (r == 0 && prompt)
        r = np_buf_put_str(b, prompt);
out:
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(o);
    np_buf_free(d);
    return r;
}

int at_response_format_error_colon(struct np_buf *b, int code, const char *message,
                                   const char *prompt)
{
    char cs[AT_ERR_CODE_BUF];
    int r;

    if (!b || at_err_code_format(cs, sizeof(cs), code) != 0)
        return NP_ERR_INVAL;
    if ((r = np_buf_putf(b, "error:%s:", cs)) != 0 ||
        (r = put_clean(b, message ? message : "")) != 0 || (r = np_buf_put_u8(b, '\n')) != 0)
        return r;
    return prompt ? np_buf_put_str(b, prompt) : 0;
}
