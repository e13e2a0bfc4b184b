/*
 * tests/integration/lib/itest.c - process, port and temp-dir helpers for
 * integration tests (see itest.h). Test-only code: plain libc, bounded waits.
 */
#include "itest.h"
#include "at/client.h"
#include "at/client_sync.h"
#include "crypto/atkeys.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Poll interval while waiting for a child or a port. */
#define STEP_MS 10

/* Sanitizer reports of children (see "sanitizer reports" at the end). */
static void san_track(pid_t pid, const char *log_path, off_t offset);
static void san_reaped(pid_t pid, int status);
static void san_scan_under(const char *dir);

const char *itest_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return v && *v ? v : (fallback ? fallback : "");
}

int itest_tmpdir(const char *tag, char *dst, size_t size)
{
    const char *base = itest_env("TMPDIR", "/tmp");
    int n = snprintf(dst, size, "%s/np-%s-XXXXXX", base, tag ? tag : "itest");

    if (n < 0 || (size_t)n >= size)
        return NP_ERR_TOOBIG;
    if (!mkdtemp(dst)) {
        fprintf(stderr, "itest: mkdtemp %s: %s\n", dst, strerror(errno));
        return NP_ERR_IO;
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

int itest_rmtree(const char *path)
{
    if (!path || !*path)
        return 0;
    san_scan_under(path); /* logs of children reaped elsewhere, before they go */
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : NP_ERR_IO;
}

static void sleep_ms(int ms)
{
    poll(NULL, 0, ms);
}

/* Exit code, or 128 + signal. */
static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 255;
}

int itest_spawn(const char *const argv[], const char *log_path, pid_t *pid)
{
    pid_t parent = getpid(), p;
    struct stat lst;
    off_t log_off = 0;

    *pid = -1;
    if (log_path && stat(log_path, &lst) == 0)
        log_off = lst.st_size; /* the child appends: its output starts here */
    fflush(NULL);
    if ((p = fork()) < 0) {
        fprintf(stderr, "itest: fork: %s\n", strerror(errno));
        return NP_ERR_IO;
    }
    if (p == 0) {
        int in = open("/dev/null", O_RDONLY);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        if (in >= 0) {
            dup2(in, 0);
            close(in);
        }
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd < 0)
                _exit(127);
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "itest: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    *pid = p;
    san_track(p, log_path, log_off);
    return 0;
}

/* Wait for pid until the deadline; 0 and *status when it exited. */
static int wait_exit(pid_t pid, int64_t deadline, int *status)
{
    for (;;) {
        int st = 0;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            san_reaped(pid, decode_status(st));
            if (status)
                *status = decode_status(st);
            return 0;
        }
        if (w < 0 && errno != EINTR)
            return NP_ERR_IO;
        if (np_deadline_passed(deadline))
            return NP_ERR_TIMEOUT;
        sleep_ms(STEP_MS);
    }
}

int itest_stop(pid_t pid, int timeout_ms, int *status)
{
    int r;

    if (status)
        *status = -1;
    if (pid <= 0)
        return 0;
    kill(pid, SIGTERM);
    if ((r = wait_exit(pid, np_mono_ms() + timeout_ms, status)) == 0)
        return 0;
    fprintf(stderr, "itest: pid %d did not stop within %d ms; killing it\n", (int)pid, timeout_ms);
    kill(pid, SIGKILL);
    wait_exit(pid, np_mono_ms() + 5000, status);
    return NP_ERR_TIMEOUT;
}

int itest_run(const char *const argv[], const char *out_path, int timeout_ms, int *status)
{
    pid_t pid;
    int r;

    if (status)
        *status = -1;
    if (out_path)
        unlink(out_path);
    if ((r = itest_spawn(argv, out_path, &pid)) != 0)
        return r;
    if ((r = wait_exit(pid, np_mono_ms() + timeout_ms, status)) != 0) {
        fprintf(stderr, "itest: %s did not finish within %d ms\n", argv[0], timeout_ms);
        kill(pid, SIGKILL);
        wait_exit(pid, np_mono_ms() + 5000, status);
    }
    return r;
}

int itest_mkca(const char *outdir)
{
    char script[4096];
    int st = -1, r;

    snprintf(script, sizeof(script), "%s/tests/integration/lib/mkca.sh",
             itest_env("NP_SOURCE_DIR", NP_SOURCE_DIR));
    const char *argv[] = {"/bin/bash", script, outdir, NULL};
    if ((r = itest_run(argv, NULL, 60000, &st)) != 0)
        return r;
    if (st != 0) {
        fprintf(stderr, "itest: mkca.sh exited with %d\n", st);
        return NP_ERR_IO;
    }
    return 0;
}

int itest_free_port(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), r = NP_ERR_IO;

    *port = 0;
    if (fd < 0)
        return NP_ERR_IO;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        *port = ntohs(a.sin_port);
        r = 0;
    }
    close(fd);
    return r;
}

/* One TCP connect attempt, bounded by a short poll. */
static int try_connect(const char *host, int port)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *sa;
    socklen_t len;
    int fd, r = -1;

    memset(&a4, 0, sizeof(a4));
    memset(&a6, 0, sizeof(a6));
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&a4;
        len = sizeof(a4);
    } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&a6;
        len = sizeof(a6);
    } else {
        return -1;
    }
    if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
        return -1;
    if (connect(fd, sa, len) == 0) {
        r = 0;
    } else if (errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof(err);
        if (poll(&p, 1, 200) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
            err == 0)
            r = 0;
    }
    close(fd);
    return r;
}

int itest_wait_port(const char *host, int port, pid_t pid, int timeout_ms)
{
    int64_t deadline = np_mono_ms() + timeout_ms;

    for (;;) {
        if (try_connect(host, port) == 0)
            return 0;
        if (pid > 0) {
            int st;
            pid_t w = waitpid(pid, &st, WNOHANG);
            if (w == pid) {
                san_reaped(pid, decode_status(st));
                fprintf(stderr, "itest: pid %d exited with %d before %s:%d was ready\n", (int)pid,
                        decode_status(st), host, port);
                return NP_ERR_EOF;
            }
        }
        if (np_deadline_passed(deadline)) {
            fprintf(stderr, "itest: %s:%d not ready within %d ms\n", host, port, timeout_ms);
            return NP_ERR_TIMEOUT;
        }
        sleep_ms(STEP_MS);
    }
}

char *itest_read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f)
        return NULL;
    if ((buf = malloc(max + 1)) == NULL) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, max, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

void itest_dump_file(const char *title, const char *path)
{
    char *s = itest_read_file(path, 1 << 16);

    fprintf(stderr, "----- %s (%s) -----\n%s----- end -----\n", title, path, s ? s : "(none)\n");
    free(s);
}

int itest_log_count(const char *path, const char *text)
{
    char *l = itest_read_file(path, 8 << 20);
    int found = 0;

    for (const char *p = l; p && (p = strstr(p, text)) != NULL; p += strlen(text))
        found++;
    free(l);
    return found;
}

int itest_log_wait(const char *path, const char *text, int times, int ms)
{
    int64_t end = np_mono_ms() + ms;

    for (;;) {
        if (itest_log_count(path, text) >= times)
            return 1;
        if (np_mono_ms() >= end)
            return 0;
        sleep_ms(50);
    }
}

/* ---- atdirectory + atserver environment --------------------------------- */

int itest_copy_fixture(const char *name, const char *dst)
{
    char src[1024];
    char *text;
    int fd, ok;

    snprintf(src, sizeof(src), "%s/../shared/fixtures/official-demo-atkeys/%s",
             itest_env("NP_SOURCE_DIR", "."), name);
    if ((text = itest_read_file(src, 65536)) == NULL)
        return NP_ERR_IO;
    fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (fd >= 0)
        close(fd);
    free(text);
    return ok ? 0 : NP_ERR_IO;
}

int itest_at_setup(struct itest_at *e, const char *tag)
{
    memset(e, 0, sizeof(*e));
    e->dir_pid = e->srv_pid = -1;
    if (itest_tmpdir(tag, e->dir, sizeof(e->dir)) != 0 || itest_mkca(e->dir) != 0)
        return NP_ERR_IO;
    snprintf(e->ca, sizeof(e->ca), "%s/ca.pem", e->dir);
    snprintf(e->cert, sizeof(e->cert), "%s/server.pem", e->dir);
    snprintf(e->key, sizeof(e->key), "%s/server.key", e->dir);
    snprintf(e->dirdb, sizeof(e->dirdb), "%s/directory.db", e->dir);
    snprintf(e->data, sizeof(e->data), "%s/atserver", e->dir);
    snprintf(e->srv_log, sizeof(e->srv_log), "%s/atserver.log", e->dir);
    snprintf(e->dir_log, sizeof(e->dir_log), "%s/atdirectory.log", e->dir);
    snprintf(e->out, sizeof(e->out), "%s/out.txt", e->dir);
    if (mkdir(e->data, 0700) != 0 || itest_free_port(&e->dir_port) != 0)
        return NP_ERR_IO;
    snprintf(e->root, sizeof(e->root), "127.0.0.1:%d", e->dir_port);
    return 0;
}

int itest_at_create(struct itest_at *e, const char *atsign, const char *cram)
{
    char portstr[16];
    int st = -1, port;
    const char *argv[] = {itest_env("NP_ATSERVER", "atserver"),
                          "create",
                          atsign,
                          "--data-dir",
                          e->data,
                          "--port",
                          portstr,
                          "--host",
                          "localhost",
                          "--directory-db",
                          e->dirdb,
                          cram ? "--cram-secret" : NULL,
                          cram,
                          NULL};

    if (e->n >= ITEST_AT_MAX || itest_free_port(&port) != 0)
        return NP_ERR_LIMIT;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (itest_run(argv, e->out, 20000, &st) != 0 || st != 0) {
        itest_dump_file("atserver create", e->out);
        return NP_ERR_IO;
    }
    e->ports[e->n++] = port;
    return 0;
}

int itest_at_add(struct itest_at *e, const char *atsign, const char *cram, const char *fixture,
                 char *path, size_t size, struct np_atkeys **k)
{
    char err[512];

    *k = NULL;
    snprintf(path, size, "%s/%s", e->dir, fixture);
    if (itest_copy_fixture(fixture, path) != 0)
        return NP_ERR_IO;
    if (np_atkeys_load(path, k, err, sizeof(err)) != 0) {
        fprintf(stderr, "itest: %s\n", err);
        return NP_ERR_IO;
    }
    if (itest_at_create(e, atsign, cram) != 0) {
        np_atkeys_free(*k);
        *k = NULL;
        return NP_ERR_IO;
    }
    e->atsigns[e->n - 1] = atsign;
    e->crams[e->n - 1] = cram;
    e->keys[e->n - 1] = *k;
    return 0;
}

int itest_at_demo(struct itest_at *e, int with_relay, struct itest_demo *d)
{
    memset(d, 0, sizeof(*d));
    if (itest_at_add(e, ITEST_ALICE, ITEST_ALICE_CRAM, "alice-wrench.atKeys", d->alice,
                     sizeof(d->alice), &d->ka) != 0 ||
        itest_at_add(e, ITEST_BOB, ITEST_BOB_CRAM, "bob-wrench.atKeys", d->bob, sizeof(d->bob),
                     &d->kb) != 0)
        return NP_ERR_IO;
    if (with_relay && itest_at_add(e, ITEST_RELAY, ITEST_RELAY_CRAM, "relay1.atKeys", d->relay,
                                   sizeof(d->relay), &d->kr) != 0)
        return NP_ERR_IO;
    if (itest_at_start(e) != 0)
        return NP_ERR_IO;
    return itest_at_provision_all(e);
}

void itest_demo_free(struct itest_demo *d)
{
    if (!d)
        return;
    np_atkeys_free(d->ka);
    np_atkeys_free(d->kb);
    np_atkeys_free(d->kr);
    d->ka = d->kb = d->kr = NULL;
}

int itest_at_start_server(struct itest_at *e)
{
    const char *argv[] = {itest_env("NP_ATSERVER", "atserver"),
                          "run",
                          "--data-dir",
                          e->data,
                          "--cert",
                          e->cert,
                          "--key",
                          e->key,
                          "--bind",
                          "127.0.0.1",
                          "--root-domain",
                          e->root,
                          "--ca-file",
                          e->ca,
                          NULL,
                          NULL,
                          NULL,
                          NULL};
    size_t n = 0;

    while (argv[n] != NULL) /* the first free slot */
        n++;
    if (e->srv_verbose)
        argv[n++] = "-v";
    if (e->srv_config) {
        argv[n++] = "--config";
        argv[n++] = e->srv_config;
    }
    if (itest_spawn(argv, e->srv_log, &e->srv_pid) != 0)
        return NP_ERR_IO;
    for (int i = 0; i < e->n; i++)
        if (itest_wait_port("127.0.0.1", e->ports[i], e->srv_pid, 30000) != 0) {
            itest_dump_file("atserver log", e->srv_log);
            return NP_ERR_TIMEOUT;
        }
    return 0;
}

int itest_at_start(struct itest_at *e)
{
    int r = itest_at_start_directory(e);

    return r != 0 ? r : itest_at_start_server(e);
}

int itest_at_provision(struct itest_at *e, const char *atsign, const char *cram,
                       const struct np_atkeys *k)
{
    struct at_client_opts o;
    struct at_sync *s = NULL;
    char line[2048], pub[256], err[512];
    char *d = NULL;
    int r;

    itest_at_opts(e, &o, atsign, NULL, 15000);
    o.auth = AT_CLIENT_AUTH_CRAM;
    o.cram_secret = cram;
    if ((r = at_sync_open(&o, &s, err, sizeof(err))) != 0) {
        fprintf(stderr, "itest: provision %s: %s\n", atsign, err);
        return r;
    }
    snprintf(line, sizeof(line), "update:privatekey:at_pkam_publickey %s", k->pkam_public_b64);
    if ((r = at_sync_cmd(s, line, &d)) != 0)
        fprintf(stderr, "itest: provision %s: %s\n", atsign, at_sync_error(s));
    np_free(d);
    snprintf(pub, sizeof(pub), "public:publickey%s", atsign);
    if (r == 0 && (r = at_sync_put(s, pub, k->enc_public_b64, NULL)) != 0)
        fprintf(stderr, "itest: provision %s: %s\n", atsign, at_sync_error(s));
    at_sync_close(s);
    return r;
}

int itest_at_provision_all(struct itest_at *e)
{
    for (int i = 0; i < e->n; i++) {
        int r;
        if (!e->atsigns[i])
            continue;
        if ((r = itest_at_provision(e, e->atsigns[i], e->crams[i], e->keys[i])) != 0) {
            itest_dump_file("atserver log", e->srv_log);
            return r;
        }
    }
    return 0;
}

void itest_at_opts(const struct itest_at *e, struct at_client_opts *o, const char *atsign,
                   const struct np_atkeys *k, int timeout_ms)
{
    memset(o, 0, sizeof(*o));
    o->atsign = atsign;
    o->keys = k;
    o->root_host = "127.0.0.1";
    o->root_port = e->dir_port;
    o->ca_file = e->ca;
    o->request_timeout_ms = timeout_ms;
    o->connect_timeout_ms = timeout_ms;
}

void itest_at_teardown(struct itest_at *e)
{
    itest_stop(e->srv_pid, 5000, NULL);
    itest_stop(e->dir_pid, 5000, NULL);
    e->srv_pid = e->dir_pid = -1;
    if (getenv("NP_KEEP_TMP") == NULL)
        itest_rmtree(e->dir);
}

/* ---- sanitizer reports of children ---------------------------------------
 * Every child started by itest_spawn is remembered with its log file and
 * the log's size at that moment. When it is reaped here (itest_stop,
 * itest_run, itest_wait_port) its exit status and its part of the log are
 * checked; itest_rmtree checks the logs of children reaped elsewhere before
 * it removes them, and so does the exit of the test process. A report
 * (exit status 23 = LeakSanitizer's default, 134 = SIGABRT as with
 * abort_on_error=1, or a sanitizer banner in the log) is printed with the
 * log's excerpt and makes the test process exit 1 at its end. */

#define SAN_TRACK_MAX 512
#define SAN_SCAN_MAX  (8u << 20)
#define SAN_SHOW_MAX  (16u << 10)

struct san_child {
    pid_t pid;
    char *log; /* NULL: output inherited */
    off_t off;
    int checked;
};

static struct san_child san_kids[SAN_TRACK_MAX];
static int san_n, san_reports, san_hooked;

static const char *const san_banners[] = {
    "ERROR: AddressSanitizer",   "ERROR: LeakSanitizer",
    "runtime error: ",           "SUMMARY: UndefinedBehaviorSanitizer",
    "WARNING: AddressSanitizer",
};

static void san_atexit(void)
{
    for (int i = 0; i < san_n; i++)
        if (!san_kids[i].checked && san_kids[i].log) {
            san_kids[i].checked = 1;
            if (itest_log_has_sanitizer_report(san_kids[i].log, san_kids[i].off))
                san_reports++;
        }
    if (san_reports > 0) {
        fprintf(stderr,
                "itest: %d sanitizer report(s) from child processes (printed above): the test "
                "fails\n",
                san_reports);
        fflush(NULL);
        _exit(1);
    }
}

static void san_track(pid_t pid, const char *log_path, off_t offset)
{
    struct san_child *k;

    if (!san_hooked) {
        san_hooked = 1;
        atexit(san_atexit);
    }
    if (san_n == SAN_TRACK_MAX) { /* forget the oldest checked one */
        int i;
        for (i = 0; i < san_n && !san_kids[i].checked; i++)
            ;
        if (i == san_n)
            return;
        free(san_kids[i].log);
        memmove(&san_kids[i], &san_kids[i + 1], (size_t)(san_n - i - 1) * sizeof(san_kids[0]));
        san_n--;
    }
    k = &san_kids[san_n++];
    k->pid = pid;
    k->log = log_path ? strdup(log_path) : NULL;
    k->off = offset;
    k->checked = 0;
}

static void san_reaped(pid_t pid, int status)
{
    for (int i = san_n - 1; i >= 0; i--) {
        struct san_child *k = &san_kids[i];
        int bad = 0;

        if (k->pid != pid || k->checked)
            continue;
        k->checked = 1;
        if (status == 23 || status == 128 + SIGABRT) {
            fprintf(stderr, "itest: pid %d exited with %d (sanitizer report or abort)%s%s\n",
                    (int)pid, status, k->log ? "; log " : "", k->log ? k->log : "");
            bad = 1;
        }
        if (k->log && itest_log_has_sanitizer_report(k->log, k->off))
            bad = 1;
        if (bad)
            san_reports++;
        return;
    }
}

static void san_scan_under(const char *dir)
{
    size_t n = strlen(dir);

    for (int i = 0; i < san_n; i++) {
        struct san_child *k = &san_kids[i];
        if (k->checked || !k->log || strncmp(k->log, dir, n) != 0 || k->log[n] != '/')
            continue;
        k->checked = 1;
        if (itest_log_has_sanitizer_report(k->log, k->off))
            san_reports++;
    }
}

int itest_log_has_sanitizer_report(const char *path, long offset)
{
    struct stat st;
    FILE *f;
    char *buf = NULL, *first = NULL;
    size_t n;

    /* regular files only: opening a FIFO log would block or steal its data */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (f = fopen(path, "rb")) == NULL)
        return 0;
    if (offset > 0 && fseek(f, offset, SEEK_SET) != 0) {
        fclose(f);
        return 0;
    }
    if ((buf = malloc(SAN_SCAN_MAX + 1)) == NULL) {
        fclose(f);
        return 0;
    }
    n = fread(buf, 1, SAN_SCAN_MAX, f);
    fclose(f);
    buf[n] = '\0';
    for (size_t i = 0; i < sizeof(san_banners) / sizeof(san_banners[0]); i++) {
        char *p = strstr(buf, san_banners[i]);
        if (p && (!first || p < first))
            first = p;
    }
    if (first) {
        char *line = first;
        while (line > buf && line[-1] != '\n')
            line--;
        fprintf(stderr, "itest: SANITIZER REPORT in %s:\n%.*s\n----- end of excerpt -----\n", path,
                (int)(strlen(line) < SAN_SHOW_MAX ? strlen(line) : SAN_SHOW_MAX), line);
    }
    free(buf);
    return first != NULL;
}

int itest_sanitizer_reports(void)
{
    return san_reports;
}

int itest_sanitizer_take_reports(void)
{
    int n = san_reports;

    san_reports = 0;
    return n;
}

/* ---- more environment helpers ------------------------------------------- */

int itest_at_start_directory(struct itest_at *e)
{
    char portstr[16];
    const char *argv[] = {itest_env("NP_ATDIRECTORY", "atdirectory"),
                          "--bind",
                          "127.0.0.1",
                          "--port",
                          portstr,
                          "--cert",
                          e->cert,
                          "--key",
                          e->key,
                          "--db",
                          e->dirdb,
                          "--notfound-delay",
                          "0",
                          NULL};

    if (e->dir_pid > 0)
        return 0;
    snprintf(portstr, sizeof(portstr), "%d", e->dir_port);
    if (itest_spawn(argv, e->dir_log, &e->dir_pid) != 0 ||
        itest_wait_port("127.0.0.1", e->dir_port, e->dir_pid, 20000) != 0) {
        itest_dump_file("atdirectory log", e->dir_log);
        return NP_ERR_IO;
    }
    return 0;
}

int itest_issue_cert(const char *cadir, const char *name, const char *dns)
{
    static const char script[] =
        "set -e; cd \"$1\"; umask 077; "
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$2.key\"; "
        "printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature,"
        "keyEncipherment\\nextendedKeyUsage=serverAuth,clientAuth\\nsubjectAltName=DNS:%s\\n' "
        "\"$3\" > \"$2.ext\"; "
        "openssl req -new -key \"$2.key\" -subj \"/O=NoPorts test/CN=$3\" -out \"$2.csr\"; "
        "openssl x509 -req -in \"$2.csr\" -CA int.pem -CAkey int.key "
        "-set_serial \"0x$(openssl rand -hex 12)\" -days 7 -sha256 -extfile \"$2.ext\" "
        "-out \"$2.crt\" 2>/dev/null; "
        "cat \"$2.crt\" int.pem > \"$2.pem\"; rm -f \"$2.csr\" \"$2.crt\" \"$2.ext\"";
    const char *argv[] = {"/bin/bash", "-c", script, "itest_issue_cert", cadir, name, dns, NULL};
    int st = -1;

    if (itest_run(argv, NULL, 60000, &st) != 0 || st != 0) {
        fprintf(stderr, "itest: issuing certificate %s for %s failed (%d)\n", name, dns, st);
        return NP_ERR_IO;
    }
    return 0;
}
