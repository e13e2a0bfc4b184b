/*
 * lib/np/json.c - strict parse and canonical serialisation over cJSON trees.
 *
 * cJSON parses; this file only prints, because cJSON's own printer writes
 * numbers with %g and escapes control characters with upper-case hex, which
 * is not the form the Dart peers sign. See json.h for the exact form.
 */
#include "np/json.h"
#include "util/buf.h"
#include "util/err.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_SAFE_INT 9007199254740991.0 /* 2^53 - 1 */

int np_json_parse(const char *text, size_t len, size_t max, cJSON **out)
{
    const char *end = NULL;
    cJSON *v;

    if (!out)
        return NP_ERR_INVAL;
    *out = NULL;
    if (!text)
        return NP_ERR_INVAL;
    if (len > max)
        return NP_ERR_TOOBIG;
    if (len == 0)
        return NP_ERR_FORMAT;
    if ((v = cJSON_ParseWithLengthOpts(text, len, &end, 0)) == NULL)
        return NP_ERR_FORMAT;
    for (; end && end < text + len; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(v);
            return NP_ERR_FORMAT;
        }
    }
    *out = v;
    return 0;
}

static int put_string(struct np_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;
    int r;

    if ((r = np_buf_put_u8(b, '"')) != 0)
        return r;
    for (;; p++) {
        char esc[7];
        size_t n = 2;
        unsigned char c = *p;

        if (c != '\0' && c != '"' && c != '\\' && c >= 0x20)
            continue;
        /* Flush the literal run before *p. */
        if (p > run && (r = np_buf_put(b, run, (size_t)(p - run))) != 0)
            return r;
        if (c == '\0')
            break;
        esc[0] = '\\';
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
            break;
        }
        if ((r = np_buf_put(b, esc, n)) != 0)
            return r;
        run = p + 1;
    }
    return np_buf_put_u8(b, '"');
}

static int put_number(struct np_buf *b, double d)
{
    if (!isfinite(d) || d != floor(d) || fabs(d) > MAX_SAFE_INT)
        return NP_ERR_UNSUPPORTED;
    return np_buf_putf(b, "%" PRId64, (int64_t)d);
}

static int put_value(struct np_buf *b, const cJSON *v, int depth)
{
    const cJSON *c;
    int r;

    if (!v)
        return NP_ERR_INVAL;
    if (cJSON_IsFalse(v))
        return np_buf_put_str(b, "false");
    if (cJSON_IsTrue(v))
        return np_buf_put_str(b, "true");
    if (cJSON_IsNull(v))
        return np_buf_put_str(b, "null");
    if (cJSON_IsNumber(v))
        return put_number(b, v->valuedouble);
    if (cJSON_IsString(v))
        return v->valuestring ? put_string(b, v->valuestring) : NP_ERR_INVAL;
    if (cJSON_IsRaw(v))
        return NP_ERR_UNSUPPORTED;
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return NP_ERR_INVAL;
    if (depth >= NP_JSON_MAX_DEPTH)
        return NP_ERR_TOOBIG;
    if ((r = np_buf_put_u8(b, cJSON_IsArray(v) ? '[' : '{')) != 0)
        return r;
    for (c = v->child; c; c = c->next) {
        if (c != v->child && (r = np_buf_put_u8(b, ',')) != 0)
            return r;
        if (cJSON_IsObject(v)) {
            if (!c->string)
                return NP_ERR_INVAL;
            if ((r = put_string(b, c->string)) != 0 || (r = np_buf_put_u8(b, ':')) != 0)
                return r;
        }
        if ((r = put_value(b, c, depth + 1)) != 0)
            return r;
    }
    return np_buf_put_u8(b, cJSON_IsArray(v) ? ']' : '}');
}

int np_json_canonical_buf(const cJSON *v, struct np_buf *b)
{
    if (!v || !b)
        return NP_ERR_INVAL;
    return put_value(b, v, 0);
}

int np_json_canonical(const cJSON *v, char **out, size_t *out_len)
{
    struct np_buf *b = NULL;
    char *s;
    size_t n = 0;
    int r = NP_ERR_INTERNAL;

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!v || !out)
        return NP_ERR_INVAL;
    if ((b = np_buf_new(NP_JSON_CANON_MAX)) == NULL)
        return NP_ERR_NOMEM;
    if ((r = put_value(b, v, 0)) != 0)
        goto out;
    if ((s = np_buf_detach(b, &n)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    *out = s;
    if (out_len)
        *out_len = n;
    r = 0;
out:
    np_buf_free(b);
    return r;
}
