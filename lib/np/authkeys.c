/* lib/np/authkeys.c - sshpublickey validation and authorized_keys appends
 * (see authkeys.h). */
#include "np/authkeys.h"
#include "crypto/b64.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TYPE_MAX 64

static const char *const key_prefixes[] = {"ecdsa-sha2-nistp", "rsa-sha2-", "ssh-rsa",
                                           "ssh-ed25519"};

static void set_err(char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", what);
}

/* The trimmed key text: s[*off, *off + *n). */
static void trim(const char *s, size_t len, size_t *off, size_t *n)
{
    size_t a = 0, b = len;

    if (b > 0 && s[b - 1] == '\n')
        b--;
    if (b > 0 && s[b - 1] == '\r')
        b--;
    while (a < b && s[a] == ' ')
        a++;
    while (b > a && s[b - 1] == ' ')
        b--;
    *off = a;
    *n = b - a;
}

/* Position of the blob inside the trimmed text t[0..n). */
static int split(const char *t, size_t n, size_t *type_len, size_t *blob_off, size_t *blob_len,
                 char *err, size_t errlen)
{
    size_t i = 0, j, tl;
    int prefix_ok = 0;

    while (i < n && t[i] != ' ')
        i++;
    tl = i;
    if (i == 0 || i > TYPE_MAX) {
        set_err(err, errlen, "bad key type");
        return NP_ERR_FORMAT;
    }
    for (size_t k = 0; k < sizeof(key_prefixes) / sizeof(key_prefixes[0]); k++) {
        size_t pl = strlen(key_prefixes[k]);
        if (i >= pl && memcmp(t, key_prefixes[k], pl) == 0)
            prefix_ok = 1;
    }
    if (!prefix_ok) {
        set_err(err, errlen,
                "key type must start with ecdsa-sha2-nistp, rsa-sha2-, ssh-rsa or ssh-ed25519");
        return NP_ERR_FORMAT;
    }
    for (size_t k = 0; k < i; k++) {
        char c = t[k];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '@')) {
            set_err(err, errlen, "bad character in key type");
            return NP_ERR_FORMAT;
        }
    }
    while (i < n && t[i] == ' ')
        i++;
    j = i;
    while (j < n && t[j] != ' ')
        j++;
    if (j == i) {
        set_err(err, errlen, "no key data");
        return NP_ERR_FORMAT;
    }
    *type_len = tl;
    *blob_off = i;
    *blob_len = j - i;
    return 0;
}

static int check_blob(const char *type, size_t type_len, const char *b64, size_t len, char *err,
                      size_t errlen)
{
    unsigned char *raw = NULL;
    size_t n = 0;
    uint32_t l;
    const char *want = type;
    size_t want_len = type_len;
    int r;

    if (np_b64_decode(b64, len, &raw, &n) != 0) {
        set_err(err, errlen, "key data is not base64");
        return NP_ERR_FORMAT;
    }
    r = NP_ERR_FORMAT;
    if (type_len > 9 && memcmp(type, "rsa-sha2-", 9) == 0) {
        want = "ssh-rsa";
        want_len = 7;
    }
    if (n < 4) {
        set_err(err, errlen, "key data too short");
        goto out;
    }
    l = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
    if (l != want_len || n <= 4 + (size_t)l || memcmp(raw + 4, want, want_len) != 0) {
        set_err(err, errlen, "key data does not match the key type");
        goto out;
    }
    r = 0;
out:
    np_free(raw);
    return r;
}

int np_ssh_pubkey_check(const char *line, size_t len, char *err, size_t errlen)
{
    size_t off, n, type_len, blob_off, blob_len;
    int r;

    if (err && errlen)
        err[0] = '\0';
    if (!line)
        return NP_ERR_INVAL;
    if (len > NP_SSH_PUBKEY_MAX) {
        set_err(err, errlen, "key line too long");
        return NP_ERR_TOOBIG;
    }
    trim(line, len, &off, &n);
    if (n == 0) {
        set_err(err, errlen, "empty key");
        return NP_ERR_FORMAT;
    }
    for (size_t i = off; i < off + n; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f) {
            set_err(err, errlen,
                    c == '\n' || c == '\r' ? "more than one line" : "control character");
            return NP_ERR_FORMAT;
        }
    }
    if ((r = split(line + off, n, &type_len, &blob_off, &blob_len, err, errlen)) != 0)
        return r;
    return check_blob(line + off, type_len, line + off + blob_off, blob_len, err, errlen);
}

int np_authkeys_perm_check(const char *perm)
{
    size_t n;

    if (!perm)
        return 0;
    n = strlen(perm);
    if (n > NP_AUTHKEYS_PERM_MAX)
        return NP_ERR_FORMAT;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)perm[i] < 0x20 || (unsigned char)perm[i] == 0x7f)
            return NP_ERR_FORMAT;
    return 0;
}

int np_authkeys_default_path(char *dst, size_t size)
{
    const char *home = getenv("HOME");

    if (!dst || size == 0)
        return NP_ERR_INVAL;
    dst[0] = '\0';
    if (!home || !*home)
        return NP_ERR_NOTFOUND;
    return np_str_fmt(dst, size, "%s/.ssh/authorized_keys", home);
}

/* Create the parent directory of path (one level, 0700) if missing. */
static int ensure_dir(const char *path)
{
    char dir[4096];
    char *slash;
    struct stat st;

    if (np_str_fmt(dir, sizeof(dir), "%s", path) != 0)
        return NP_ERR_TOOBIG;
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : NP_ERR_IO;
    if (errno != ENOENT)
        return errno == EACCES ? NP_ERR_PERM : NP_ERR_IO;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return errno == EACCES ? NP_ERR_PERM : NP_ERR_IO;
    return 0;
}

/* Does any whitespace-separated token of text[0..n) equal blob? */
static int has_token(const char *text, size_t n, const char *blob, size_t blob_len)
{
    size_t i = 0;

    while (i < n) {
        size_t j;
        while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
            i++;
        j = i;
        while (j < n && !(text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r'))
            j++;
        if (j - i == blob_len && memcmp(text + i, blob, blob_len) == 0)
            return 1;
        i = j;
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return NP_ERR_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int np_authkeys_add(const char *path, const char *perm, const char *key, size_t key_len)
{
    size_t off, n, type_len, blob_off, blob_len;
    struct np_buf *line = NULL;
    char *old = NULL;
    struct stat st;
    int fd = -1, r;

    if (!path || !key)
        return NP_ERR_INVAL;
    if (np_authkeys_perm_check(perm) != 0)
        return NP_ERR_FORMAT;
    if ((r = np_ssh_pubkey_check(key, key_len, NULL, 0)) != 0)
        return r;
    trim(key, key_len, &off, &n);
    if ((r = split(key + off, n, &type_len, &blob_off, &blob_len, NULL, 0)) != 0)
        return r;
    if ((r = ensure_dir(path)) != 0)
        return r;
    fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EACCES ? NP_ERR_PERM : NP_ERR_IO;
    r = NP_ERR_IO;
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR)
            goto out;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    if (st.st_size > NP_AUTHKEYS_FILE_MAX) {
        r = NP_ERR_TOOBIG;
        goto out;
    }
    if ((old = np_malloc((size_t)st.st_size + 1)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    {
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            ssize_t k = pread(fd, old + got, (size_t)st.st_size - got, (off_t)got);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        if (got != (size_t)st.st_size)
            goto out;
    }
    if (has_token(old, (size_t)st.st_size, key + off + blob_off, blob_len)) {
        r = NP_ERR_EXISTS;
        goto out;
    }
    r = NP_ERR_NOMEM;
    if ((line = np_buf_new(NP_SSH_PUBKEY_MAX + NP_AUTHKEYS_PERM_MAX + 8)) == NULL)
        goto out;
    if ((st.st_size > 0 && old[st.st_size - 1] != '\n' && np_buf_put_u8(line, '\n') != 0) ||
        (perm && *perm && np_buf_putf(line, "%s ", perm) != 0) || np_buf_put(line, key + off, n) ||
        np_buf_put_u8(line, '\n') != 0)
        goto out;
    /* One write with O_APPEND: the entry lands whole at the end. */
    if ((r = write_all(fd, np_buf_ptr(line), np_buf_len(line))) != 0)
        goto out;
    if (fsync(fd) != 0) {
        r = NP_ERR_IO;
        goto out;
    }
    r = 0;
out:
    np_buf_free(line);
    np_free(old);
    if (fd >= 0)
        close(fd); /* releases the lock */
    return r;
}
