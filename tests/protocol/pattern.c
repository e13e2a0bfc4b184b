/*
 * tests/protocol/pattern.c - response patterns of the transcript driver
 * (see pattern.h): a small backtracking matcher over literal text and
 * placeholders. Test-only code; patterns are short, responses at most a few
 * MiB.
 */
#include "pattern.h"

#include "util/str.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

long pat_count(const char *q, const char *colon, long max)
{
    int64_t v;

    return np_parse_i64n(q, (size_t)(colon - q), 0, max, &v) == 0 ? (long)v : -1;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool in_class(const char *cls, char c)
{
    if (strcmp(cls, "int") == 0)
        return (c >= '0' && c <= '9') || c == '-';
    if (strcmp(cls, "hex") == 0)
        return is_hex(c);
    if (strcmp(cls, "b64") == 0)
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '/' || c == '=';
    return false;
}

/* Fixed-shape classes: length of the match at s, or 0. */
static size_t fixed_match(const char *cls, const char *s)
{
    static const char uuid[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    static const char date[] = "dddd-dd-dd dd:dd:dd.dddZ";
    const char *shape = NULL;
    size_t off = 0, n;

    if (strcmp(cls, "sid") == 0) {
        if (s[0] != '_')
            return 0;
        off = 1;
        shape = uuid;
    } else if (strcmp(cls, "uuid") == 0) {
        shape = uuid;
    } else if (strcmp(cls, "date") == 0) {
        shape = date;
    } else {
        return 0;
    }
    n = strlen(shape);
    for (size_t i = 0; i < n; i++) {
        char c = s[off + i];
        if (shape[i] == 'x'   ? !is_hex(c)
            : shape[i] == 'd' ? !(c >= '0' && c <= '9')
                              : c != shape[i])
            return 0;
    }
    return off + n;
}

/* Try a placeholder match of length len at s, then the rest. */
static bool take(const struct pat_env *env, const char *var, size_t vn, const char *s, size_t len,
                 const char *rest)
{
    if (!pat_match(env, rest, s + len))
        return false;
    if (vn && env->capture(env->arg, var, vn, s, len) != 0)
        return false;
    return true;
}

bool pat_match(const struct pat_env *env, const char *pat, const char *s)
{
    while (*pat) {
        const char *end, *gt, *lit;
        char cls[32];
        size_t n, vn = 0;
        if (*pat != '{' || !(end = strchr(pat, '}')) || end - pat > 60 ||
            !(pat[1] == '@' || pat[1] == '$' || (pat[1] >= 'a' && pat[1] <= 'z')))
            goto literal;
        n = (size_t)(end - pat - 1);
        if (strncmp(pat + 1, "repeat:", 7) == 0) {
            const char *colon = memchr(pat + 8, ':', (size_t)(end - pat - 8));
            long count = colon ? pat_count(pat + 8, colon, 1L << 26) : -1;
            size_t un = colon ? (size_t)(end - colon - 1) : 0;
            if (count < 0)
                goto literal;
            for (long k = 0; k < count; k++, s += un)
                if (strncmp(s, colon + 1, un) != 0)
                    return false;
            pat = end + 1;
            continue;
        }
        if ((lit = env->literal(env->arg, pat + 1, n)) != NULL) {
            if (strncmp(s, lit, strlen(lit)) != 0)
                return false;
            s += strlen(lit);
            pat = end + 1;
            continue;
        }
        gt = memchr(pat + 1, '>', n);
        snprintf(cls, sizeof(cls), "%.*s", (int)((gt ? gt : end) - pat - 1), pat + 1);
        if (gt)
            vn = (size_t)(end - gt - 1);
        if (strcmp(cls, "any") == 0) {
            size_t len = strlen(s);
            for (size_t k = 0; k <= len; k++)
                if (take(env, gt ? gt + 1 : NULL, vn, s, k, end + 1))
                    return true;
            return false;
        }
        if (strcmp(cls, "int") == 0 || strcmp(cls, "hex") == 0 || strcmp(cls, "b64") == 0) {
            size_t k = 0;
            while (s[k] && in_class(cls, s[k]))
                k++;
            for (; k > 0; k--)
                if (take(env, gt ? gt + 1 : NULL, vn, s, k, end + 1))
                    return true;
            return false;
        }
        if (strcmp(cls, "uuid") == 0 || strcmp(cls, "sid") == 0 || strcmp(cls, "date") == 0) {
            size_t k = fixed_match(cls, s);
            return k && take(env, gt ? gt + 1 : NULL, vn, s, k, end + 1);
        }
    literal:
        if (*pat != *s)
            return false;
        pat++;
        s++;
    }
    return *s == '\0';
}
