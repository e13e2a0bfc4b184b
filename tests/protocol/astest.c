/*
 * tests/protocol/astest.c - helpers for tests against a real atserver (see
 * astest.h). Test-only code: bounded waits, messages on stderr.
 */
#include "astest.h"
#include "hostsdb.h"
#include "itest.h"

#include "crypto/hash.h"
#include "net/bclient.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"
#include "util/time.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *astest_fixture_dir(void)
{
    static char path[1024];

    snprintf(path, sizeof(path), "%s/../shared/fixtures/official-demo-atkeys",
             itest_env("NP_SOURCE_DIR", NP_SOURCE_DIR));
    return path;
}

int astest_load_atkeys(const char *dir, const char *file, struct np_atkeys **out)
{
    char src[1200], dst[1200], err[256];
    char *text;
    int fd, r;
    size_t n;

    *out = NULL;
    snprintf(src, sizeof(src), "%s/%s", astest_fixture_dir(), file);
    snprintf(dst, sizeof(dst), "%s/%s", dir, file);
    if ((text = itest_read_file(src, 65536)) == NULL) {
        fprintf(stderr, "astest: cannot read %s\n", src);
        return NP_ERR_IO;
    }
    n = strlen(text);
    fd = open(dst, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    r = fd >= 0 && write(fd, text, n) == (ssize_t)n ? 0 : NP_ERR_IO;
    if (fd >= 0)
        close(fd);
    free(text);
    if (r != 0) {
        fprintf(stderr, "astest: cannot write %s\n", dst);
        return r;
    }
    if ((r = np_atkeys_load(dst, out, err, sizeof(err))) != 0)
        fprintf(stderr, "astest: %s\n", err);
    return r;
}

int astest_pkam_sign(const struct np_atkeys *k, const char *challenge, int sha512, char **sig)
{
    struct np_rsa_key *key = NULL;
    int r;

    *sig = NULL;
    if (!k->pkam_private_b64)
        return NP_ERR_INVAL;
    if ((r = np_rsa_from_private_b64(k->pkam_private_b64, &key)) != 0)
        return r;
    r = np_rsa_sign_b64(key, sha512 ? NP_HASH_SHA512 : NP_HASH_SHA256, challenge, strlen(challenge),
                        sig);
    np_rsa_free(key);
    return r;
}

int astest_cram_digest(const char *secret, const char *challenge, char out[129])
{
    size_t a = strlen(secret), b = strlen(challenge);
    char *in = malloc(a + b + 1);
    int r;

    if (!in)
        return NP_ERR_NOMEM;
    memcpy(in, secret, a);
    memcpy(in + a, challenge, b + 1);
    r = np_sha512_hex(in, a + b, out);
    free(in);
    return r;
}

int astest_create(const char *prog, const char *data, const char *atsign, int port,
                  const char *secret)
{
    char portstr[16], log[1200];
    const char *argv[] = {prog,     "create", atsign,          "--data-dir", data,
                          "--port", portstr,  "--cram-secret", secret,       NULL};
    int st = -1, r;

    snprintf(portstr, sizeof(portstr), "%d", port);
    snprintf(log, sizeof(log), "%s.create.log", data);
    r = itest_run(argv, log, 30000, &st);
    if (r != 0 || st != 0) {
        itest_dump_file("atserver create", log);
        unlink(log);
        return r ? r : NP_ERR_IO;
    }
    unlink(log);
    return 0;
}

int astest_set_port(const char *data, const char *atsign, int port)
{
    struct hostsdb *db = NULL;
    int r;

    if ((r = hostsdb_open(data, false, &db)) != 0)
        return r;
    r = hostsdb_remove(db, atsign);
    if (r == 0)
        r = hostsdb_add(db, atsign, port, "localhost");
    hostsdb_close(db);
    return r;
}

/* The port atsign reports in text ("<atsign>: listening on 127.0.0.1:N"),
 * or 0 while it has not. */
static int logged_port(const char *text, const char *atsign)
{
    char pat[300];
    const char *p;
    int64_t v;
    size_t n;

    snprintf(pat, sizeof(pat), " %s: listening on 127.0.0.1:", atsign);
    if ((p = strstr(text, pat)) == NULL)
        return 0;
    p += strlen(pat);
    n = strspn(p, "0123456789");
    return np_parse_i64n(p, n, 1, 65535, &v) == 0 ? (int)v : 0;
}

int astest_start(const char *prog, const char *data, const char *cert, const char *key,
                 const char *config, const char *log, const char *read_log,
                 const char *const *atsigns, int *ports, size_t n, pid_t *pid)
{
    const char *argv[16];
    struct stat st;
    size_t off, found = 0;
    int64_t deadline = np_mono_ms() + 30000;
    int a = 0;

    if (!read_log)
        read_log = log;
    off = stat(read_log, &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size : 0;
    argv[a++] = prog;
    argv[a++] = "run";
    argv[a++] = "--data-dir";
    argv[a++] = data;
    argv[a++] = "--cert";
    argv[a++] = cert;
    argv[a++] = "--key";
    argv[a++] = key;
    argv[a++] = "--bind";
    argv[a++] = "127.0.0.1";
    argv[a++] = "-vv";
    if (config) {
        argv[a++] = "--config";
        argv[a++] = config;
    }
    argv[a] = NULL;
    *pid = -1;
    memset(ports, 0, n * sizeof(*ports));
    if (itest_spawn(argv, log, pid) != 0)
        return NP_ERR_IO;
    while (found < n && np_mono_ms() < deadline) {
        char *text = itest_read_file(read_log, 1 << 26);
        int status;
        found = 0;
        for (size_t i = 0; text && strlen(text) >= off && i < n; i++)
            if ((ports[i] = logged_port(text + off, atsigns[i])) > 0)
                found++;
        free(text);
        if (found < n) {
            if (waitpid(*pid, &status, WNOHANG) == *pid) {
                *pid = -1;
                break;
            }
            poll(NULL, 0, 20);
        }
    }
    for (size_t i = 0; found == n && i < n; i++)
        if (itest_wait_port("127.0.0.1", ports[i], *pid, 20000) != 0)
            found = 0;
    if (found < n) {
        itest_dump_file("atserver log", read_log);
        if (*pid > 0)
            itest_stop(*pid, 3000, NULL);
        *pid = -1;
        return NP_ERR_TIMEOUT;
    }
    return 0;
}

int astest_connect(int port, const char *ca, struct net_bclient **out)
{
    char b[8];
    size_t n = 0;
    int r;

    *out = NULL;
    if ((r = net_bclient_connect("127.0.0.1", port, ca, "localhost", ASTEST_TIMEOUT_MS, out)) != 0)
        return r;
    if ((r = net_bclient_read_some(*out, b, 1, &n, ASTEST_TIMEOUT_MS)) != 0 || n != 1 ||
        b[0] != '@') {
        net_bclient_close(*out);
        *out = NULL;
        return r ? r : NP_ERR_PROTO;
    }
    return 0;
}

int astest_read_to_end(struct net_bclient *c)
{
    char b[256];
    size_t n = 0;
    int r = 0;

    for (int i = 0; i < 100; i++)
        if ((r = net_bclient_read_some(c, b, sizeof(b), &n, ASTEST_TIMEOUT_MS)) != 0)
            break;
    return r;
}

int astest_read_response(struct net_bclient *c, const char *prompt, char *buf, size_t size)
{
    char p[512], part[512];
    size_t len = 0, have = 0, want = strlen(prompt);
    int r;

    if ((r = net_bclient_read_line(c, buf, size, &len, ASTEST_TIMEOUT_MS)) != 0)
        return r;
    p[0] = '\0';
    while (have < want) {
        size_t n = 0;
        if ((r = net_bclient_read_until(c, '@', part, sizeof(part), &n, ASTEST_TIMEOUT_MS)) != 0)
            return r;
        if (have + n >= sizeof(p))
            return NP_ERR_PROTO;
        memcpy(p + have, part, n);
        have += n;
        p[have] = '\0';
    }
    if (strcmp(p, prompt) != 0) {
        fprintf(stderr, "astest: prompt \"%s\", expected \"%s\"\n", p, prompt);
        return NP_ERR_PROTO;
    }
    return 0;
}

int astest_cmd(struct net_bclient *c, const char *line, const char *prompt, char *buf, size_t size)
{
    int r = net_bclient_send_line(c, line, ASTEST_TIMEOUT_MS);

    return r ? r : astest_read_response(c, prompt, buf, size);
}

static int from_challenge(struct net_bclient *c, const char *atsign, char *challenge, size_t size)
{
    char line[512], buf[512];
    int r;

    snprintf(line, sizeof(line), "from:%s", atsign);
    if ((r = astest_cmd(c, line, "@", buf, sizeof(buf))) != 0)
        return r;
    if (strncmp(buf, "data:", 5) != 0) {
        fprintf(stderr, "astest: from answered %s\n", buf);
        return NP_ERR_AUTH;
    }
    snprintf(challenge, size, "%s", buf + 5);
    return 0;
}

int astest_login_cram(struct net_bclient *c, const char *atsign, const char *secret)
{
    char ch[512], digest[129], line[256], buf[512], prompt[256];
    int r;

    if ((r = from_challenge(c, atsign, ch, sizeof(ch))) != 0 ||
        (r = astest_cram_digest(secret, ch, digest)) != 0)
        return r;
    snprintf(line, sizeof(line), "cram:%s", digest);
    snprintf(prompt, sizeof(prompt), "%s@", atsign);
    if ((r = astest_cmd(c, line, prompt, buf, sizeof(buf))) != 0)
        return r;
    return strcmp(buf, "data:success") == 0 ? 0 : NP_ERR_AUTH;
}

int astest_login_pkam(struct net_bclient *c, const char *atsign, const struct np_atkeys *k)
{
    char ch[512], line[1024], buf[512], prompt[256], *sig = NULL;
    int r;

    if ((r = from_challenge(c, atsign, ch, sizeof(ch))) != 0 ||
        (r = astest_pkam_sign(k, ch, 0, &sig)) != 0)
        return r;
    snprintf(line, sizeof(line), "pkam:%s", sig);
    np_free(sig);
    snprintf(prompt, sizeof(prompt), "%s@", atsign);
    if ((r = astest_cmd(c, line, prompt, buf, sizeof(buf))) != 0)
        return r;
    return strcmp(buf, "data:success") == 0 ? 0 : NP_ERR_AUTH;
}

int astest_provision(int port, const char *ca, const char *atsign, const char *secret,
                     const struct np_atkeys *k)
{
    struct net_bclient *c = NULL;
    char prompt[256], buf[512];
    char *line = NULL;
    size_t size = 8192;
    int r;

    snprintf(prompt, sizeof(prompt), "%s@", atsign);
    if ((line = malloc(size)) == NULL)
        return NP_ERR_NOMEM;
    if ((r = astest_connect(port, ca, &c)) != 0 || (r = astest_login_cram(c, atsign, secret)) != 0)
        goto out;
    snprintf(line, size, "update:privatekey:at_pkam_publickey %s", k->pkam_public_b64);
    if ((r = astest_cmd(c, line, prompt, buf, sizeof(buf))) != 0)
        goto out;
    if (strcmp(buf, "data:-1") != 0) {
        fprintf(stderr, "astest: pkam key update answered %s\n", buf);
        r = NP_ERR_PROTO;
        goto out;
    }
    snprintf(line, size, "update:public:publickey%s %s", atsign, k->enc_public_b64);
    if ((r = astest_cmd(c, line, prompt, buf, sizeof(buf))) != 0)
        goto out;
    r = strncmp(buf, "data:", 5) == 0 ? 0 : NP_ERR_PROTO;
out:
    net_bclient_close(c);
    free(line);
    return r;
}
