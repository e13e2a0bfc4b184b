/*
 * tests/integration/fault_common.c - shared pieces of the fault-injection
 * integration tests (see fault_common.h). Test-only code: plain libc and
 * pthreads, every wait bounded.
 */
#include "fault_common.h"

#include "at/client.h"
#include "at/client_sync.h"
#include "at/monitor.h"
#include "crypto/atkeys.h"
#include "crypto/rand.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- daemons ------------------------------------------------------------ */

int fault_wait_connected(const struct fault_proc *p, int times, int ms)
{
    int64_t end = np_mono_ms() + ms;

    if (!itest_log_wait(p->log, "monitor connection available", times, ms))
        return 0;
    ms = (int)(end - np_mono_ms());
    return itest_log_wait(p->log, "command connection available", times, ms > 0 ? ms : 1);
}

int fault_start_sshnpd(struct itest_at *e, const struct itest_demo *d, int service_port,
                       const char *const *extra, const char *name, int wait_ms,
                       struct fault_proc *p)
{
    char port[16];
    const char *argv[40] = {itest_env("NP_SSHNPD", "sshnpd"),
                            "-a",
                            ITEST_BOB,
                            "-m",
                            ITEST_ALICE,
                            "-d",
                            FAULT_DEVICE,
                            "-k",
                            d->bob,
                            "--root-domain",
                            e->root,
                            "--ca-file",
                            e->ca,
                            "--local-sshd-port",
                            port,
                            "--permit-open",
                            "127.0.0.1:*,localhost:*",
                            "-v",
                            NULL};
    size_t n = 18;

    p->pid = -1;
    for (size_t i = 0; extra && extra[i] && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    snprintf(port, sizeof(port), "%d", service_port > 0 ? service_port : 22);
    snprintf(p->log, sizeof(p->log), "%s/%s.log", e->dir, name);
    if (itest_spawn(argv, p->log, &p->pid) != 0)
        return NP_ERR_IO;
    if (wait_ms > 0 && !fault_wait_connected(p, 1, wait_ms)) {
        itest_dump_file(name, p->log);
        return NP_ERR_TIMEOUT;
    }
    return 0;
}

int fault_start_srvd(struct itest_at *e, const struct itest_demo *d, const char *address,
                     const char *const *extra, const char *name, int wait_ms, struct fault_proc *p)
{
    const char *argv[40] = {itest_env("NP_SRVD", "srvd"),
                            "-a",
                            ITEST_RELAY,
                            "-i",
                            address ? address : "127.0.0.1",
                            "-m",
                            ITEST_ALICE,
                            "-k",
                            d->relay,
                            "--root-domain",
                            e->root,
                            "--ca-file",
                            e->ca,
                            "--bind",
                            "127.0.0.1",
                            "-v",
                            NULL};
    size_t n = 16;

    p->pid = -1;
    for (size_t i = 0; extra && extra[i] && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    snprintf(p->log, sizeof(p->log), "%s/%s.log", e->dir, name);
    if (itest_spawn(argv, p->log, &p->pid) != 0)
        return NP_ERR_IO;
    if (wait_ms > 0 && !fault_wait_connected(p, 1, wait_ms)) {
        itest_dump_file(name, p->log);
        return NP_ERR_TIMEOUT;
    }
    return 0;
}

/* ---- probes ------------------------------------------------------------- */

struct heard {
    struct at_sync *s;
    const char *want_from; /* sender */
    const char *want_key;  /* substring of the key */
    int n;
    char value[4096];
};

static void on_heard(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    struct heard *h = data;
    (void)m;

    if (!n->key || !n->from || !n->value || strcmp(n->from, h->want_from) != 0 ||
        !strstr(n->key, h->want_key))
        return;
    h->n++;
    snprintf(h->value, sizeof(h->value), "%.*s", (int)n->value_len, n->value);
    at_sync_stop(h->s);
}

/* Send (to, key, value) as alice and monitor for a notification whose key
 * holds want_key from want_from, at most ms. */
static int ask(struct itest_at *e, const struct itest_demo *d, const char *to, const char *key,
               const char *value, const char *regex, const char *want_from, const char *want_key,
               int ms, struct heard *h)
{
    struct at_client_opts o;
    struct at_client_notify no;
    struct at_monitor_opts mo;
    struct at_sync *s = NULL;
    char err[512];
    int64_t since = np_wall_ms() - 1000;
    int r;

    memset(h, 0, sizeof(*h));
    itest_at_opts(e, &o, ITEST_ALICE, d->ka, ms < 15000 ? ms : 15000);
    if ((r = at_sync_open(&o, &s, err, sizeof(err))) != 0) {
        fprintf(stderr, "fault: open %s: %s\n", ITEST_ALICE, err);
        return r;
    }
    h->s = s;
    h->want_from = want_from;
    h->want_key = want_key;
    memset(&no, 0, sizeof(no));
    no.to = to;
    no.key = key;
    no.value = value;
    no.ttl = 10000;
    no.ttln = 60000;
    if ((r = at_sync_notify(s, &no, NULL)) != 0) {
        fprintf(stderr, "fault: notify %s as %s: %s\n", key, ITEST_ALICE, at_sync_error(s));
        goto out;
    }
    memset(&mo, 0, sizeof(mo));
    mo.regex = regex;
    mo.since_epoch_ms = since; /* the answer may come before the monitor starts */
    r = at_sync_monitor(s, &mo, on_heard, h, ms);
    if (r == 0 && h->n == 0)
        r = NP_ERR_TIMEOUT;
out:
    at_sync_close(s);
    return r;
}

int fault_ping(struct itest_at *e, const struct itest_demo *d, int ms)
{
    struct heard h;
    int r =
        ask(e, d, ITEST_BOB, "ping." FAULT_DEVICE ".sshnp", "ping",
            "heartbeat\\." FAULT_DEVICE "\\.sshnp", ITEST_BOB, "heartbeat." FAULT_DEVICE, ms, &h);

    if (r == 0 && !strstr(h.value, "\"devicename\":\"" FAULT_DEVICE "\"")) {
        fprintf(stderr, "fault: unexpected heartbeat %s\n", h.value);
        r = NP_ERR_PROTO;
    }
    return r;
}

int fault_relay_request(struct itest_at *e, const struct itest_demo *d, int ms, int *port_a,
                        int *port_b)
{
    struct np_relay_request rq;
    struct np_relay_answer *ans = NULL;
    struct heard h;
    char sid[NP_UUID_STR_LEN + 1], nonce[64], regex[128], *text = NULL;
    int r;

    if (port_a)
        *port_a = 0;
    if (port_b)
        *port_b = 0;
    if (np_uuid4(sid) != 0)
        return NP_ERR_CRYPTO;
    snprintf(nonce, sizeof(nonce), "nonce-%lld", (long long)np_wall_ms());
    memset(&rq, 0, sizeof(rq));
    rq.session_id = sid;
    rq.atsign_a = (char *)ITEST_ALICE;
    rq.atsign_b = (char *)ITEST_BOB;
    rq.authenticate_a = 1;
    rq.authenticate_b = 1;
    rq.client_nonce = nonce;
    rq.multiple_acks_ok = 1;
    rq.send_json_response = 1;
    if ((r = np_relay_request_build(&rq, NP_RELAY_REQ_NEWER, &text)) != 0)
        return r;
    snprintf(regex, sizeof(regex), "%s\\.sshrvd", sid);
    r = ask(e, d, ITEST_RELAY, FAULT_DEVICE ".request_ports.sshrvd", text, regex, ITEST_RELAY, sid,
            ms, &h);
    np_free(text);
    if (r != 0)
        return r;
    if ((r = np_relay_answer_parse(h.value, strlen(h.value), &ans)) != 0) {
        fprintf(stderr, "fault: relay answered \"%s\"\n", h.value);
        return r;
    }
    if (port_a)
        *port_a = ans->port_a;
    if (port_b)
        *port_b = ans->port_b;
    np_relay_answer_free(ans);
    return 0;
}

struct at_sync *fault_open(struct itest_at *e, const char *as, const struct np_atkeys *k)
{
    struct at_client_opts o;
    struct at_sync *s = NULL;
    char err[512];

    itest_at_opts(e, &o, as, k, 15000);
    if (at_sync_open(&o, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "fault: open %s: %s\n", as, err);
        return NULL;
    }
    return s;
}

int fault_notify(struct at_sync *s, const char *to, const char *key, const char *value)
{
    struct at_client_notify no;
    int r;

    memset(&no, 0, sizeof(no));
    no.to = to;
    no.key = key;
    no.value = value;
    no.ttl = 10000;
    no.ttln = 60000;
    if ((r = at_sync_notify(s, &no, NULL)) != 0)
        fprintf(stderr, "fault: notify %s: %s\n", key, at_sync_error(s));
    return r;
}

/* ---- echo server -------------------------------------------------------- */

#define ECHO_MAX 64

struct fault_echo {
    int lfd;
    volatile int stop;
    pthread_t acceptor;
    pthread_mutex_t mu;
    int n;
    int fds[ECHO_MAX];
    pthread_t th[ECHO_MAX];
};

struct echo_conn {
    struct fault_echo *e;
    int fd;
};

static void *echo_conn_main(void *arg)
{
    struct echo_conn *c = arg;
    char buf[65536];

    while (!c->e->stop) {
        struct pollfd p = {c->fd, POLLIN, 0};
        ssize_t n, off = 0;

        if (poll(&p, 1, 100) <= 0)
            continue;
        if ((n = read(c->fd, buf, sizeof(buf))) <= 0)
            break;
        while (off < n && !c->e->stop) {
            ssize_t w = write(c->fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno != EINTR && errno != EAGAIN)
                goto done;
            if (w > 0)
                off += w;
        }
    }
done:
    shutdown(c->fd, SHUT_RDWR);
    free(c);
    return NULL;
}

static void *echo_accept_main(void *arg)
{
    struct fault_echo *e = arg;

    while (!e->stop) {
        struct pollfd p = {e->lfd, POLLIN, 0};
        struct echo_conn *c;
        int fd;

        if (poll(&p, 1, 100) <= 0)
            continue;
        if ((fd = accept(e->lfd, NULL, NULL)) < 0)
            continue;
        pthread_mutex_lock(&e->mu);
        if (e->n == ECHO_MAX || (c = malloc(sizeof(*c))) == NULL) {
            pthread_mutex_unlock(&e->mu);
            close(fd);
            continue;
        }
        c->e = e;
        c->fd = fd;
        e->fds[e->n] = fd;
        if (pthread_create(&e->th[e->n], NULL, echo_conn_main, c) != 0) {
            free(c);
            close(fd);
        } else {
            e->n++;
        }
        pthread_mutex_unlock(&e->mu);
    }
    return NULL;
}

int fault_echo_start(struct fault_echo **out, int *port)
{
    struct fault_echo *e = calloc(1, sizeof(*e));
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int one = 1;

    *out = NULL;
    *port = 0;
    if (!e)
        return NP_ERR_NOMEM;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((e->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        setsockopt(e->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(e->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(e->lfd, 16) != 0 ||
        getsockname(e->lfd, (struct sockaddr *)&a, &len) != 0) {
        if (e->lfd >= 0)
            close(e->lfd);
        free(e);
        return NP_ERR_IO;
    }
    pthread_mutex_init(&e->mu, NULL);
    if (pthread_create(&e->acceptor, NULL, echo_accept_main, e) != 0) {
        close(e->lfd);
        pthread_mutex_destroy(&e->mu);
        free(e);
        return NP_ERR_IO;
    }
    *port = ntohs(a.sin_port);
    *out = e;
    return 0;
}

int fault_echo_accepted(const struct fault_echo *e)
{
    int n;

    pthread_mutex_lock((pthread_mutex_t *)&e->mu);
    n = e->n;
    pthread_mutex_unlock((pthread_mutex_t *)&e->mu);
    return n;
}

void fault_echo_stop(struct fault_echo *e)
{
    if (!e)
        return;
    e->stop = 1;
    pthread_join(e->acceptor, NULL);
    for (int i = 0; i < e->n; i++) {
        pthread_join(e->th[i], NULL);
        close(e->fds[i]);
    }
    close(e->lfd);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

/* ---- processes ---------------------------------------------------------- */

int fault_wait_exit(pid_t pid, int ms, int *status)
{
    int64_t end = np_mono_ms() + ms;

    if (status)
        *status = -1;
    for (;;) {
        siginfo_t si;

        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
            return NP_ERR_IO;
        if (si.si_pid == pid) /* exited; reap it through itest (sanitizer check) */
            return itest_stop(pid, 1000, status);
        if (np_mono_ms() >= end)
            return NP_ERR_TIMEOUT;
        poll(NULL, 0, 20);
    }
}

int fault_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* State letter of /proc/<pid>/stat ('?' when gone). */
static char proc_state(const char *pid)
{
    char path[64], buf[512], *rp;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return '?';
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' ? rp[2] : '?';
}

int fault_alive(pid_t pid)
{
    char s[24];
    char st;

    snprintf(s, sizeof(s), "%d", (int)pid);
    st = proc_state(s);
    return st != '?' && st != 'Z' && st != 'X';
}

int fault_procs_naming(const char *text)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    char self[24];
    int found = 0;

    if (!d)
        return -1;
    snprintf(self, sizeof(self), "%d", (int)getpid());
    while ((de = readdir(d)) != NULL) {
        char path[300], buf[8192];
        FILE *f;
        size_t n;
        char st;

        if (de->d_name[0] < '0' || de->d_name[0] > '9' || strcmp(de->d_name, self) == 0)
            continue;
        st = proc_state(de->d_name);
        if (st == '?' || st == 'Z' || st == 'X')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        if ((f = fopen(path, "rb")) == NULL)
            continue;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[n] = '\0';
        if (strstr(buf, text))
            found++;
    }
    closedir(d);
    return found;
}

int fault_stop_clean(struct fault_proc *p, int timeout_ms)
{
    int st = -1;

    if (itest_stop(p->pid, timeout_ms, &st) != 0)
        st = -1;
    p->pid = -1;
    return st;
}
