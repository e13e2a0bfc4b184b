/*
 * lib/np/profile.c - sshnp config profiles: strict KEY=value parser with
 * limits (see profile.h). Depends on util only.
 */
#include "np/profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

struct np_profile {
    struct np_profile_entry *e;
    size_t n;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Key text [s, s+n) -> "long-name" in out (NP_PROFILE_KEY_MAX + 1 bytes). */
static int key_to_name(const char *s, size_t n, char *out)
{
    if (n == 0)
        return NP_ERR_FORMAT;
    if (n > NP_PROFILE_KEY_MAX)
        return NP_ERR_TOOBIG;
    if (!(s[0] >= 'A' && s[0] <= 'Z'))
        return NP_ERR_FORMAT;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z')
            out[i] = (char)(c - 'A' + 'a');
        else if (c >= '0' && c <= '9')
            out[i] = c;
        else if (c == '_')
            out[i] = '-';
        else
            return NP_ERR_FORMAT;
    }
    out[n] = '\0';
    return 0;
}

/* Parse one line [s, s+n) (no '\n'). *name / *value are set when the line
 * holds an entry; both stay NULL for blank and comment lines. */
static int parse_line(const char *s, size_t n, int lineno, char **name, char **value, char *err,
                      size_t errlen)
{
    char key[NP_PROFILE_KEY_MAX + 1];
    const char *eq, *k0, *k1, *v0, *v1;
    int r;

    *name = *value = NULL;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (n > NP_PROFILE_LINE_MAX) {
        set_err(err, errlen, "line %d: longer than %d bytes", lineno, NP_PROFILE_LINE_MAX);
        return NP_ERR_TOOBIG;
    }
    k0 = s;
    while (k0 < s + n && is_blank(*k0))
        k0++;
    if (k0 == s + n || *k0 == '#')
        return 0;
    if ((eq = memchr(k0, '=', (size_t)(s + n - k0))) == NULL) {
        set_err(err, errlen, "line %d: no '=' (expected KEY=value)", lineno);
        return NP_ERR_FORMAT;
    }
    k1 = eq;
    while (k1 > k0 && is_blank(k1[-1]))
        k1--;
    if ((r = key_to_name(k0, (size_t)(k1 - k0), key)) != 0) {
        set_err(err, errlen, "line %d: bad key (expected letters, digits and _ like LOCAL_PORT)",
                lineno);
        return r;
    }
    v0 = eq + 1;
    v1 = s + n;
    while (v0 < v1 && is_blank(*v0))
        v0++;
    while (v1 > v0 && is_blank(v1[-1]))
        v1--;
    if (v1 - v0 >= 2 && (*v0 == '"' || *v0 == '\'') && v1[-1] == *v0) {
        v0++;
        v1--;
    }
    for (const char *p = v0; p < v1; p++) {
        if ((unsigned char)*p < 0x20 && *p != '\t') {
            set_err(err, errlen, "line %d: control character in the value", lineno);
            return NP_ERR_FORMAT;
        }
        if (*p == 0x7f) {
            set_err(err, errlen, "line %d: control character in the value", lineno);
            return NP_ERR_FORMAT;
        }
    }
    if ((*name = np_strdup(key)) == NULL || (*value = np_strndup(v0, (size_t)(v1 - v0))) == NULL) {
        np_free(*name);
        *name = NULL;
        set_err(err, errlen, "out of memory");
        return NP_ERR_NOMEM;
    }
    return 0;
}

int np_profile_parse(const char *text, size_t len, struct np_profile **out, char *err,
                     size_t errlen)
{
    struct np_profile *p = NULL;
    size_t off = 0;
    int lineno = 0, r = NP_ERR_INTERNAL;

    if (err && errlen)
        err[0] = '\0';
    if (!out || (!text && len))
        return NP_ERR_INVAL;
    *out = NULL;
    if (len > NP_PROFILE_FILE_MAX) {
        set_err(err, errlen, "larger than %d bytes", NP_PROFILE_FILE_MAX);
        return NP_ERR_TOOBIG;
    }
    if (len && memchr(text, '\0', len)) {
        set_err(err, errlen, "contains a NUL byte (not a text file)");
        return NP_ERR_FORMAT;
    }
    if ((p = np_calloc(1, sizeof(*p))) == NULL)
        return NP_ERR_NOMEM;
    while (off < len) {
        const char *s = text + off, *nl = memchr(s, '\n', len - off);
        size_t n = nl ? (size_t)(nl - s) : len - off;
        char *name = NULL, *value = NULL;

        off += n + (nl ? 1 : 0);
        if (++lineno > NP_PROFILE_LINES_MAX) {
            set_err(err, errlen, "more than %d lines", NP_PROFILE_LINES_MAX);
            r = NP_ERR_TOOBIG;
            goto out;
        }
        if ((r = parse_line(s, n, lineno, &name, &value, err, errlen)) != 0)
            goto out;
        if (!name)
            continue;
        /* at most one entry per line, so n <= NP_PROFILE_LINES_MAX */
        struct np_profile_entry *ne = np_realloc(p->e, (p->n + 1) * sizeof(*ne));
        if (!ne) {
            np_free(name);
            np_free(value);
            r = NP_ERR_NOMEM;
            goto out;
        }
        p->e = ne;
        p->e[p->n].name = name;
        p->e[p->n].value = value;
        p->e[p->n].line = lineno;
        p->n++;
    }
    *out = p;
    p = NULL;
    r = 0;
out:
    np_profile_free(p);
    return r;
}

int np_profile_load(const char *path, struct np_profile **out, char *err, size_t errlen)
{
    char msg[256] = "";
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    int fd = -1, r = NP_ERR_INTERNAL;

    if (!path || !out)
        return NP_ERR_INVAL;
    *out = NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        r = errno == ENOENT ? NP_ERR_NOTFOUND : NP_ERR_IO;
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: not a regular file", path);
        r = NP_ERR_IO;
        goto out;
    }
    if (st.st_size > NP_PROFILE_FILE_MAX) {
        set_err(err, errlen, "%s: larger than %d bytes", path, NP_PROFILE_FILE_MAX);
        r = NP_ERR_TOOBIG;
        goto out;
    }
    if ((text = np_malloc(NP_PROFILE_FILE_MAX + 1)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    for (;;) { /* the file may change while we read: never go past the limit */
        ssize_t k = read(fd, text + len, NP_PROFILE_FILE_MAX + 1 - len);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            set_err(err, errlen, "%s: %s", path, strerror(errno));
            r = NP_ERR_IO;
            goto out;
        }
        if (k == 0)
            break;
        len += (size_t)k;
        if (len > NP_PROFILE_FILE_MAX) {
            set_err(err, errlen, "%s: larger than %d bytes", path, NP_PROFILE_FILE_MAX);
            r = NP_ERR_TOOBIG;
            goto out;
        }
    }
    if ((r = np_profile_parse(text, len, out, msg, sizeof(msg))) != 0)
        set_err(err, errlen, "%s: %s", path, msg);
out:
    if (fd >= 0)
        close(fd);
    np_free(text);
    return r;
}

int np_profile_path(const char *arg, char *dst, size_t size)
{
    const char *home;
    struct stat st;
    size_t n;

    if (!arg || !arg[0] || !dst || size == 0)
        return NP_ERR_INVAL;
    dst[0] = '\0';
    if (strchr(arg, '/') || stat(arg, &st) == 0)
        return np_str_fmt(dst, size, "%s", arg);
    if ((home = getenv("HOME")) == NULL || !home[0])
        return NP_ERR_NOTFOUND;
    n = strlen(arg);
    if (n > 4 && strcmp(arg + n - 4, ".env") == 0)
        return np_str_fmt(dst, size, "%s/.sshnp/config/%s", home, arg);
    return np_str_fmt(dst, size, "%s/.sshnp/config/%s.env", home, arg);
}

size_t np_profile_count(const struct np_profile *p)
{
    return p ? p->n : 0;
}

const struct np_profile_entry *np_profile_get(const struct np_profile *p, size_t i)
{
    return p && i < p->n ? &p->e[i] : NULL;
}

void np_profile_free(struct np_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        np_free(p->e[i].name);
        np_free(p->e[i].value);
    }
    np_free(p->e);
    np_free(p);
}
