/*
 * tests/protocol/driver.c - the atProtocol transcript driver (style.md
 * practice 21, tier "protocol"). It runs one case file against a freshly
 * started atserver on 127.0.0.1 and compares every response byte for byte.
 *
 *   protocol_driver --setup DIR       CA (lib/mkca.sh) + a template data dir:
 *                                     @alice🛠 and @bob🛠 provisioned like the
 *                                     official VE (cram with the demo secret,
 *                                     PKAM and encryption public keys of the
 *                                     demo .atKeys), @carol created only
 *   protocol_driver --run DIR CASE    copy the template, start the server,
 *                                     play CASE, stop the server by pid
 *   protocol_driver --cleanup DIR     remove DIR
 *
 * Case file lines (blank lines and lines starting with '#' are ignored):
 *   ! server NAME = VALUE   a server setting (--config) for this case; before
 *                           the first connection. Defaults here:
 *                           stats_interval_s = -1, expiry_interval_s = 3600
 *   ! connect NAME ALIAS    new connection NAME to ALIAS's port (alice, bob,
 *                           carol); expects the "@" prompt; becomes current
 *   ! connect-raw NAME ALIAS  the same without reading the prompt
 *   ! use NAME              switch the current connection
 *   ! login ALIAS           from + pkam with ALIAS's demo keys
 *   ! cram ALIAS            from + cram with ALIAS's secret
 *   ! close                 close the current connection
 *   ! sleep MS              wait
 *   ! silent MS             nothing may arrive on the current connection
 *   ! restart               stop the server (SIGTERM) and start it again
 *   ! kill                  SIGKILL the server and start it again
 *   C: TEXT                 send TEXT + "\n" in one write
 *   S: PATTERN              expect the response line PATTERN followed by the
 *                           connection's prompt ("@", or "<atsign>@" once a
 *                           cram/pkam was answered "data:success")
 *   N: PATTERN              expect a line without prompt (notification: ...)
 *   X:                      expect the server to close the connection
 * Placeholders in C: lines: {@alice} (the atSign), {sign:alice},
 * {sign512:alice} (PKAM signature of the last from: challenge of this
 * connection), {cram:alice} (cram digest), {pkampub:alice}, {encpub:alice},
 * {$var}, {repeat:N:text}, {lines:N:text} (N lines joined by "\n"), {cr}
 * ("\r"), {lf} ("\n"), {now} (epoch ms).
 * Placeholders in S:/N: patterns (pattern.h): {any}, {uuid}, {sid}, {int},
 * {hex}, {b64}, {date}, {class>name} captures, {repeat:N:text}, and the
 * named literals {@alice}, {$var}, {pkampub:alice}, {encpub:alice}.
 */
#include "astest.h"
#include "itest.h"
#include "pattern.h"

#include "crypto/atkeys.h"
#include "net/bclient.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CONNS 16
#define MAX_VARS  64
#define RESP_MAX  (4u << 20)
#define SEND_MAX  (16u << 20)
#define N_ATSIGNS 3

struct atsign_info {
    const char *alias, *atsign, *secret, *keyfile;
    int port;
    struct np_atkeys *keys;
};

struct pconn {
    char name[32];
    struct net_bclient *bc;
    char prompt[256];
    char challenge[512];
    int from_alias;  /* index of the atSign of the last from:, -1 none */
    int expect_auth; /* the last command was cram/pkam */
    int expect_from; /* the last command was from: */
};

struct var {
    char name[32];
    char *value;
};

struct ctx {
    const char *prog;
    char dir[1024], tmp[1024], data[1200], cfg[1200], log[1200], cert[1200], key[1200], ca[1200];
    struct np_buf *settings;
    pid_t pid;
    struct atsign_info as[N_ATSIGNS];
    struct pconn conns[MAX_CONNS];
    int n_conns;
    struct pconn *cur;
    struct var vars[MAX_VARS];
    int n_vars;
    const char *case_path;
    int lineno;
    char *resp;
};

static struct ctx X;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s:%d: ", X.case_path ? X.case_path : "driver", X.lineno);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void init_atsigns(void)
{
    static const struct atsign_info init[N_ATSIGNS] = {
        {"alice", ASTEST_ALICE, ASTEST_ALICE_SECRET, "alice-wrench.atKeys", 0, NULL},
        {"bob", ASTEST_BOB, ASTEST_BOB_SECRET, "bob-wrench.atKeys", 0, NULL},
        {"carol", ASTEST_CAROL, ASTEST_CAROL_SECRET, NULL, 0, NULL},
    };
    memcpy(X.as, init, sizeof(init));
}

static int alias_index(const char *alias, size_t n)
{
    for (int i = 0; i < N_ATSIGNS; i++)
        if (strlen(X.as[i].alias) == n && strncmp(X.as[i].alias, alias, n) == 0)
            return i;
    return -1;
}

/* ---- files ---- */

static int copy_file(const char *src, const char *dst)
{
    char buf[65536];
    int in = open(src, O_RDONLY | O_CLOEXEC), out, r = 0;
    ssize_t n;

    if (in < 0)
        return NP_ERR_IO;
    if ((out = open(dst, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600)) < 0) {
        close(in);
        return NP_ERR_IO;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            r = NP_ERR_IO;
            break;
        }
    if (n < 0)
        r = NP_ERR_IO;
    close(in);
    close(out);
    return r;
}

static int copy_dir(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    struct dirent *e;
    char a[2048], b[2048];
    int r = 0;

    if (!d || mkdir(dst, 0700) != 0) {
        if (d)
            closedir(d);
        return NP_ERR_IO;
    }
    while (r == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(a, sizeof(a), "%s/%s", src, e->d_name);
        snprintf(b, sizeof(b), "%s/%s", dst, e->d_name);
        r = copy_file(a, b);
    }
    closedir(d);
    return r;
}

/* ---- server ---- */

static int start_server(void)
{
    const char *atsigns[N_ATSIGNS];
    int ports[N_ATSIGNS];
    FILE *f;

    /* port 0: the server takes free ports and logs them */
    for (int i = 0; i < N_ATSIGNS; i++) {
        atsigns[i] = X.as[i].atsign;
        if (astest_set_port(X.data, X.as[i].atsign, 0) != 0) {
            fail("cannot set the ports");
            return -1;
        }
    }
    if ((f = fopen(X.cfg, "w")) == NULL) {
        fail("cannot write %s", X.cfg);
        return -1;
    }
    fputs("stats_interval_s = -1\nexpiry_interval_s = 3600\n", f);
    if (X.settings)
        fwrite(np_buf_ptr(X.settings), 1, np_buf_len(X.settings), f);
    fclose(f);
    if (astest_start(X.prog, X.data, X.cert, X.key, X.cfg, X.log, NULL, atsigns, ports, N_ATSIGNS,
                     &X.pid) != 0) {
        fail("atserver did not start");
        return -1;
    }
    for (int i = 0; i < N_ATSIGNS; i++)
        X.as[i].port = ports[i];
    return 0;
}

/* Stop the server by pid; 0 when it exited cleanly (status 0). */
static int stop_server(int sig)
{
    int st = -1;

    if (X.pid <= 0)
        return 0;
    if (sig == SIGKILL) {
        kill(X.pid, SIGKILL);
        itest_stop(X.pid, 5000, &st);
        X.pid = -1;
        return 0;
    }
    itest_stop(X.pid, 10000, &st);
    X.pid = -1;
    if (st != 0) {
        fail("atserver exited with status %d", st);
        return -1;
    }
    return 0;
}

/* ---- placeholders ---- */

static struct var *find_var(const char *name, size_t n)
{
    for (int i = 0; i < X.n_vars; i++)
        if (strlen(X.vars[i].name) == n && strncmp(X.vars[i].name, name, n) == 0)
            return &X.vars[i];
    return NULL;
}

static int set_var(const char *name, size_t n, const char *v, size_t vn)
{
    struct var *x = find_var(name, n);

    if (!x) {
        if (X.n_vars == MAX_VARS || n >= sizeof(X.vars[0].name))
            return -1;
        x = &X.vars[X.n_vars++];
        memcpy(x->name, name, n);
        x->name[n] = '\0';
    }
    np_free(x->value);
    x->value = np_memdup0(v, vn);
    return x->value ? 0 : -1;
}

/* Expand C: placeholders of text into b. */
static int expand(const char *text, struct np_buf *b)
{
    const char *p = text;

    while (*p) {
        const char *end;
        char name[64], arg[64];
        size_t n;
        int i;
        if (*p != '{' || !(end = strchr(p, '}')) || end - p > 200 ||
            !(p[1] == '@' || p[1] == '$' || (p[1] >= 'a' && p[1] <= 'z'))) {
            if (np_buf_put_u8(b, (unsigned char)*p++) != 0)
                return -1;
            continue;
        }
        n = (size_t)(end - p - 1);
        if (p[1] == '@' && (i = alias_index(p + 2, n - 1)) >= 0) {
            np_buf_put_str(b, X.as[i].atsign);
        } else if (p[1] == '$') {
            struct var *v = find_var(p + 2, n - 1);
            if (!v) {
                fail("unknown variable %.*s", (int)n, p + 1);
                return -1;
            }
            np_buf_put_str(b, v->value);
        } else if (n == 2 && strncmp(p + 1, "cr", 2) == 0) {
            np_buf_put_u8(b, '\r');
        } else if (n == 2 && strncmp(p + 1, "lf", 2) == 0) {
            np_buf_put_u8(b, '\n');
        } else if (n == 3 && strncmp(p + 1, "now", 3) == 0) {
            np_buf_putf(b, "%lld", (long long)np_wall_ms());
        } else if (n > 6 && strncmp(p + 1, "lines:", 6) == 0) {
            const char *q = p + 7, *colon = memchr(q, ':', (size_t)(end - q));
            long count = colon ? pat_count(q, colon, (long)SEND_MAX) : 0;
            if (!colon || count <= 0 || count > 100000) {
                fail("bad {lines:N:text}");
                return -1;
            }
            for (long k = 0; k < count; k++)
                if (np_buf_put(b, colon + 1, (size_t)(end - colon - 1)) != 0 ||
                    (k + 1 < count && np_buf_put_u8(b, '\n') != 0))
                    return -1;
        } else if (n > 7 && strncmp(p + 1, "repeat:", 7) == 0) {
            const char *q = p + 8, *colon = memchr(q, ':', (size_t)(end - q));
            long count = colon ? pat_count(q, colon, (long)SEND_MAX) : 0;
            if (!colon || count <= 0 || count > (long)SEND_MAX) {
                fail("bad {repeat:N:text}");
                return -1;
            }
            for (long k = 0; k < count; k++)
                if (np_buf_put(b, colon + 1, (size_t)(end - colon - 1)) != 0)
                    return -1;
        } else {
            const char *colon = memchr(p + 1, ':', n);
            if (!colon || (size_t)(colon - p - 1) >= sizeof(name) ||
                (size_t)(end - colon - 1) >= sizeof(arg))
                goto literal;
            snprintf(name, sizeof(name), "%.*s", (int)(colon - p - 1), p + 1);
            snprintf(arg, sizeof(arg), "%.*s", (int)(end - colon - 1), colon + 1);
            if ((i = alias_index(arg, strlen(arg))) < 0)
                goto literal;
            if (strcmp(name, "cram") == 0) {
                char d[129];
                astest_cram_digest(X.as[i].secret, X.cur->challenge, d);
                np_buf_put_str(b, d);
            } else if (strcmp(name, "sign") == 0 || strcmp(name, "sign512") == 0) {
                char *sig = NULL;
                if (!X.as[i].keys ||
                    astest_pkam_sign(X.as[i].keys, X.cur->challenge, name[4] == '5', &sig) != 0) {
                    fail("cannot sign with %s's keys", arg);
                    return -1;
                }
                np_buf_put_str(b, sig);
                np_free(sig);
            } else if (strcmp(name, "pkampub") == 0 && X.as[i].keys) {
                np_buf_put_str(b, X.as[i].keys->pkam_public_b64);
            } else if (strcmp(name, "encpub") == 0 && X.as[i].keys) {
                np_buf_put_str(b, X.as[i].keys->enc_public_b64);
            } else {
                goto literal;
            }
        }
        p = end + 1;
        continue;
    literal:
        np_buf_put_u8(b, (unsigned char)*p++);
    }
    return 0;
}

/* ---- pattern literals and captures (pattern.h) ---- */

static const char *pat_literal(void *arg, const char *name, size_t n)
{
    const char *colon = memchr(name, ':', n);
    struct var *v;
    int i;

    (void)arg;
    if (n > 1 && name[0] == '@' && (i = alias_index(name + 1, n - 1)) >= 0)
        return X.as[i].atsign;
    if (n > 1 && name[0] == '$')
        return (v = find_var(name + 1, n - 1)) ? v->value : NULL;
    if (colon && (i = alias_index(colon + 1, n - (size_t)(colon - name) - 1)) >= 0 &&
        X.as[i].keys) {
        if ((size_t)(colon - name) == 7 && strncmp(name, "pkampub", 7) == 0)
            return X.as[i].keys->pkam_public_b64;
        if ((size_t)(colon - name) == 6 && strncmp(name, "encpub", 6) == 0)
            return X.as[i].keys->enc_public_b64;
    }
    return NULL;
}

static int pat_capture(void *arg, const char *name, size_t n, const char *v, size_t vn)
{
    (void)arg;
    return set_var(name, n, v, vn);
}

static bool match(const char *pat, const char *s)
{
    const struct pat_env env = {pat_literal, pat_capture, NULL};

    return pat_match(&env, pat, s);
}

/* ---- steps ---- */

static struct pconn *find_conn(const char *name)
{
    for (int i = 0; i < X.n_conns; i++)
        if (strcmp(X.conns[i].name, name) == 0)
            return &X.conns[i];
    return NULL;
}

static int ensure_started(void)
{
    return X.pid > 0 ? 0 : start_server();
}

static int do_connect(const char *name, const char *alias, bool raw)
{
    int i = alias_index(alias, strlen(alias));
    struct pconn *c = find_conn(name);

    if (i < 0) {
        fail("unknown atSign alias %s", alias);
        return -1;
    }
    if (ensure_started() != 0)
        return -1;
    if (!c) {
        if (X.n_conns == MAX_CONNS) {
            fail("too many connections");
            return -1;
        }
        c = &X.conns[X.n_conns++];
    }
    net_bclient_close(c->bc);
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%.31s", name);
    snprintf(c->prompt, sizeof(c->prompt), "@");
    c->from_alias = -1;
    if (raw ? net_bclient_connect("127.0.0.1", X.as[i].port, X.ca, "localhost", ASTEST_TIMEOUT_MS,
                                  &c->bc) != 0
            : astest_connect(X.as[i].port, X.ca, &c->bc) != 0) {
        fail("cannot connect %s to %s", name, alias);
        return -1;
    }
    X.cur = c;
    return 0;
}

static int send_text(const char *text)
{
    struct np_buf *b = np_buf_new(SEND_MAX);
    struct pconn *c = X.cur;
    const char *line;
    int r = -1;

    if (!c || !c->bc) {
        fail("no current connection");
        goto out;
    }
    if (!b || expand(text, b) != 0 || np_buf_put_u8(b, '\n') != 0)
        goto out;
    line = np_buf_ptr(b);
    c->expect_from = strncmp(line, "from:", 5) == 0;
    c->expect_auth = strncmp(line, "cram:", 5) == 0 || strncmp(line, "pkam:", 5) == 0;
    if (c->expect_from) {
        c->from_alias = -1;
        for (int i = 0; i < N_ATSIGNS; i++) {
            const char *a = X.as[i].atsign;
            size_t n = strcspn(line + 5, ":\r\n");
            if ((n == strlen(a) && strncasecmp(line + 5, a, n) == 0) ||
                (n == strlen(a) - 1 && strncasecmp(line + 5, a + 1, n) == 0))
                c->from_alias = i;
        }
    }
    if (net_bclient_write(c->bc, np_buf_ptr(b), np_buf_len(b), ASTEST_TIMEOUT_MS) != 0) {
        fail("cannot send");
        goto out;
    }
    r = 0;
out:
    np_buf_free(b);
    return r;
}

static int expect_response(const char *pat, bool with_prompt)
{
    struct pconn *c = X.cur;
    char prompt[256];
    size_t len = 0;
    int r;

    if (!c || !c->bc) {
        fail("no current connection");
        return -1;
    }
    snprintf(prompt, sizeof(prompt), "%s", c->prompt);
    if (c->expect_auth && strcmp(pat, "data:success") == 0 && c->from_alias >= 0)
        snprintf(prompt, sizeof(prompt), "%s@", X.as[c->from_alias].atsign);
    if (with_prompt)
        r = astest_read_response(c->bc, prompt, X.resp, RESP_MAX);
    else
        r = net_bclient_read_line(c->bc, X.resp, RESP_MAX, &len, ASTEST_TIMEOUT_MS);
    if (r != 0) {
        fail("expected \"%s\"%s: read failed: %s (got so far: \"%.300s\")", pat,
             with_prompt ? " + prompt" : "", np_strerror(r), X.resp);
        return -1;
    }
    if (!match(pat, X.resp)) {
        fail("mismatch\n  expected: %s\n  got:      %.2000s", pat, X.resp);
        return -1;
    }
    if (c->expect_from && strncmp(X.resp, "data:", 5) == 0) {
        const char *ch = X.resp + 5;
        if (strncmp(ch, "proof:", 6) == 0)
            ch += 6;
        snprintf(c->challenge, sizeof(c->challenge), "%s", ch);
    }
    if (c->expect_auth && strcmp(X.resp, "data:success") == 0 && c->from_alias >= 0)
        snprintf(c->prompt, sizeof(c->prompt), "%s@", X.as[c->from_alias].atsign);
    if (with_prompt)
        c->expect_from = c->expect_auth = 0;
    return 0;
}

static int expect_close(void)
{
    char b[256];
    size_t n = 0;
    int r;

    if (!X.cur || !X.cur->bc) {
        fail("no current connection");
        return -1;
    }
    r = net_bclient_read_some(X.cur->bc, b, sizeof(b) - 1, &n, ASTEST_TIMEOUT_MS);
    if (r != NP_ERR_EOF) {
        b[n] = '\0';
        fail("expected the server to close; got %s \"%s\"", r ? np_strerror(r) : "bytes", b);
        return -1;
    }
    net_bclient_close(X.cur->bc);
    X.cur->bc = NULL;
    return 0;
}

static int expect_silence(int ms)
{
    char b[256];
    size_t n = 0;
    int r;

    if (!X.cur || !X.cur->bc)
        return -1;
    r = net_bclient_read_some(X.cur->bc, b, sizeof(b) - 1, &n, ms);
    if (r != NP_ERR_TIMEOUT) {
        b[n] = '\0';
        fail("expected silence; got %s \"%s\"", r ? np_strerror(r) : "bytes", b);
        return -1;
    }
    return 0;
}

static int do_login(const char *alias, bool cram)
{
    int i = alias_index(alias, strlen(alias));
    int r;

    if (i < 0 || !X.cur || !X.cur->bc) {
        fail("bad login");
        return -1;
    }
    r = cram ? astest_login_cram(X.cur->bc, X.as[i].atsign, X.as[i].secret)
             : astest_login_pkam(X.cur->bc, X.as[i].atsign, X.as[i].keys);
    if (r != 0) {
        fail("%s login of %s failed", cram ? "cram" : "pkam", alias);
        return -1;
    }
    snprintf(X.cur->prompt, sizeof(X.cur->prompt), "%s@", X.as[i].atsign);
    return 0;
}

static void close_all(void)
{
    for (int i = 0; i < X.n_conns; i++) {
        net_bclient_close(X.conns[i].bc);
        X.conns[i].bc = NULL;
    }
}

static int directive(char *s)
{
    char a[256], b[256];
    int ms;

    if (sscanf(s, "connect-raw %255s %255s", a, b) == 2)
        return do_connect(a, b, true);
    if (sscanf(s, "connect %255s %255s", a, b) == 2)
        return do_connect(a, b, false);
    if (sscanf(s, "use %255s", a) == 1) {
        if (!(X.cur = find_conn(a))) {
            fail("unknown connection %s", a);
            return -1;
        }
        return 0;
    }
    if (sscanf(s, "login %255s", a) == 1)
        return do_login(a, false);
    if (sscanf(s, "cram %255s", a) == 1)
        return do_login(a, true);
    if (sscanf(s, "sleep %d", &ms) == 1) {
        poll(NULL, 0, ms);
        return 0;
    }
    if (sscanf(s, "silent %d", &ms) == 1)
        return expect_silence(ms);
    if (strncmp(s, "server ", 7) == 0) {
        if (X.pid > 0) {
            fail("\"! server\" must come before the first connection");
            return -1;
        }
        if (!X.settings && (X.settings = np_buf_new(65536)) == NULL)
            return -1;
        np_buf_putf(X.settings, "%s\n", s + 7);
        return 0;
    }
    if (strcmp(s, "close") == 0) {
        if (X.cur) {
            net_bclient_close(X.cur->bc);
            X.cur->bc = NULL;
        }
        return 0;
    }
    if (strcmp(s, "restart") == 0 || strcmp(s, "kill") == 0) {
        close_all();
        if (stop_server(s[0] == 'k' ? SIGKILL : SIGTERM) != 0)
            return -1;
        return start_server();
    }
    fail("unknown directive: %s", s);
    return -1;
}

static int run_case(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int r = 0;

    if (!f) {
        fail("cannot open %s", path);
        return -1;
    }
    X.case_path = path;
    while (r == 0 && (n = getline(&line, &cap, f)) >= 0) {
        X.lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        if (line[0] == '!')
            r = directive(line + 1 + strspn(line + 1, " "));
        else if (strncmp(line, "C: ", 3) == 0 || strcmp(line, "C:") == 0)
            r = ensure_started() ? -1 : send_text(line[2] ? line + 3 : "");
        else if (strncmp(line, "S: ", 3) == 0)
            r = expect_response(line + 3, true);
        else if (strncmp(line, "N: ", 3) == 0)
            r = expect_response(line + 3, false);
        else if (strcmp(line, "X:") == 0)
            r = expect_close();
        else {
            fail("cannot parse: %s", line);
            r = -1;
        }
    }
    free(line);
    fclose(f);
    return r;
}

/* ---- modes ---- */

static int paths(const char *dir)
{
    snprintf(X.dir, sizeof(X.dir), "%s", dir);
    snprintf(X.ca, sizeof(X.ca), "%s/ca/ca.pem", dir);
    snprintf(X.cert, sizeof(X.cert), "%s/ca/server.pem", dir);
    snprintf(X.key, sizeof(X.key), "%s/ca/server.key", dir);
    return 0;
}

static int load_keys(const char *where)
{
    for (int i = 0; i < N_ATSIGNS; i++)
        if (X.as[i].keyfile && astest_load_atkeys(where, X.as[i].keyfile, &X.as[i].keys) != 0)
            return -1;
    return 0;
}

static void free_keys(void)
{
    for (int i = 0; i < N_ATSIGNS; i++) {
        np_atkeys_free(X.as[i].keys);
        X.as[i].keys = NULL;
    }
}

static int setup(const char *dir)
{
    char caout[1200];
    int r = -1;

    paths(dir);
    itest_rmtree(dir);
    if (mkdir(dir, 0700) != 0) {
        fail("cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(caout, sizeof(caout), "%s/ca", dir);
    snprintf(X.data, sizeof(X.data), "%s/template", dir);
    snprintf(X.cfg, sizeof(X.cfg), "%s/setup.conf", dir);
    snprintf(X.log, sizeof(X.log), "%s/setup.log", dir);
    if (itest_mkca(caout) != 0 || load_keys(dir) != 0)
        goto out;
    for (int i = 0; i < N_ATSIGNS; i++)
        if (astest_create(X.prog, X.data, X.as[i].atsign, 40000 + i, X.as[i].secret) != 0)
            goto out;
    if (start_server() != 0)
        goto out;
    for (int i = 0; i < 2; i++)
        if (astest_provision(X.as[i].port, X.ca, X.as[i].atsign, X.as[i].secret, X.as[i].keys) !=
            0) {
            fail("provisioning %s failed", X.as[i].alias);
            itest_dump_file("atserver log", X.log);
            goto out;
        }
    if (stop_server(SIGTERM) != 0)
        goto out;
    r = 0;
out:
    stop_server(SIGKILL);
    free_keys();
    return r;
}

static int run(const char *dir, const char *case_path)
{
    char tmpl[1200];
    int r = -1;

    paths(dir);
    snprintf(tmpl, sizeof(tmpl), "%s/template", dir);
    if (itest_tmpdir("proto", X.tmp, sizeof(X.tmp)) != 0)
        return -1;
    snprintf(X.data, sizeof(X.data), "%s/data", X.tmp);
    snprintf(X.cfg, sizeof(X.cfg), "%s/server.conf", X.tmp);
    snprintf(X.log, sizeof(X.log), "%s/server.log", X.tmp);
    if (copy_dir(tmpl, X.data) != 0) {
        fail("cannot copy the template (did the setup fixture run?)");
        goto out;
    }
    if ((X.resp = malloc(RESP_MAX)) == NULL || load_keys(X.tmp) != 0)
        goto out;
    X.resp[0] = '\0';
    r = run_case(case_path);
    close_all();
    X.lineno = 0;
    if (stop_server(SIGTERM) != 0)
        r = -1;
out:
    stop_server(SIGKILL);
    if (r != 0)
        itest_dump_file("atserver log", X.log);
    free_keys();
    for (int i = 0; i < X.n_vars; i++)
        np_free(X.vars[i].value);
    np_buf_free(X.settings);
    free(X.resp);
    itest_rmtree(X.tmp);
    return r;
}

int main(int argc, char **argv)
{
    int r;

    np_log_set_level(NP_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    init_atsigns();
    X.pid = -1;
    X.prog = itest_env("NP_ATSERVER", NULL);
    if (argc == 3 && strcmp(argv[1], "--setup") == 0)
        r = setup(argv[2]);
    else if (argc == 3 && strcmp(argv[1], "--cleanup") == 0)
        r = itest_rmtree(argv[2]) == 0 ? 0 : -1;
    else if (argc == 4 && strcmp(argv[1], "--run") == 0)
        r = run(argv[2], argv[3]);
    else {
        fprintf(stderr, "usage: %s --setup DIR | --run DIR CASE | --cleanup DIR\n", argv[0]);
        return 2;
    }
    if (r == 0 && argc == 4)
        printf("%s: ok\n", argv[3]);
    return r == 0 ? 0 : 1;
}
