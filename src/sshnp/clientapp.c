/*
 * src/sshnp/clientapp.c - run-time of sshnp and npt (see clientapp.h): one
 * event loop, one session at a time (npt -K: one after the other), output,
 * the ssh child, the -x background child, --stdio and --list-devices.
 */
#include "clientapp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <pthread.h>

#include "crypto/rsa.h"
#include "np/client_list.h"
#include "np/client_stdio.h"
#include "sshcmd.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#define X_REPORT_MAX (64 * 1024)
#define X_WAIT_MS    180000
#define CONNECT_MS   30000
#define RESTART_MS   5000

/* The ephemeral RSA-2048 key pair of the next session, generated on its own
 * thread while the session connects to the atServer and waits for the
 * ping and relay answers (it takes 0.1-0.3 s of CPU; on the loop it either
 * delayed the start or blocked the loop past the atServer deadlines). The
 * thread writes one byte to a pipe when it is done; the loop then joins it
 * (at once) and hands the key to the session: the loop never waits. */
struct ephgen {
    pthread_t th;
    int started; /* th runs or has not been joined yet */
    int done;    /* joined: rc and key are final */
    int rc;
    struct np_rsa_key *key;
    int fd[2]; /* the thread's "done" pipe (-1: none) */
    struct event *ev;
};

struct clientapp {
    const struct np_client_opts *o;
    const struct clientapp_env *env;
    FILE *out, *err;
    struct event_base *base;
    struct np_client_io io;
    int attached;
    char *sk_uri;
    struct ephgen eph; /* the next session's key pair, made on a thread */
    struct np_client_session *s;
    struct np_client_list *list;
    struct np_stdio_pipe *pipe;
    int pipe_done, session_over, session_failed;
    struct event *connect_timer, *restart_timer, *sig_int, *sig_term, *sig_chld;
    int connected, started, finished, status;
    int ever_ready, local_port, sessions;
    pid_t ssh_pid;
    int report_fd; /* -x child: pipe to the parent, else -1 */
};

/* ---------------------------------------------------------------- output */

void clientapp_progress(struct clientapp *a, int level, const char *msg)
{
    char ts[40];
    struct timeval tv;
    struct tm tm;

    if (a->o->quiet || (level > NP_LOG_INFO && a->o->verbose == 0))
        return;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(a->err, "%s.%03ld : %s\n", ts, (long)(tv.tv_usec / 1000), msg);
    fflush(a->err);
}

static void say(struct clientapp *a, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct clientapp *a, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    clientapp_progress(a, level, msg);
}

static void print_error(struct clientapp *a, const char *msg, const char *detail, const char *hint)
{
    fprintf(a->err, "Error: %s\n", msg);
    if (detail && detail[0])
        fprintf(a->err, "  %s\n", detail);
    if (hint && hint[0])
        fprintf(a->err, "Hint: %s\n", hint);
    fflush(a->err);
}

/* -x child: tell the parent ("OK <text>" or "ERR") once. */
static void report(struct clientapp *a, const char *text)
{
    char line[X_REPORT_MAX];
    int n;
    ssize_t k;

    if (a->report_fd < 0)
        return;
    n = text ? snprintf(line, sizeof(line), "OK %s\n", text)
             : snprintf(line, sizeof(line), "ERR\n");
    if (n > 0 && n < (int)sizeof(line)) {
        for (int off = 0; off < n; off += (int)k)
            if ((k = write(a->report_fd, line + off, (size_t)(n - off))) <= 0 && errno != EINTR)
                break;
            else if (k < 0)
                k = 0;
    }
    close(a->report_fd);
    a->report_fd = -1;
}

static void stop(struct clientapp *a, int status)
{
    if (a->finished)
        return;
    a->finished = 1;
    a->status = status;
    if (status != 0)
        report(a, NULL);
    event_base_loopbreak(a->base);
}

static void detach_at(struct clientapp *a)
{
    if (!a->attached)
        return;
    a->attached = 0;
    if (a->env->detach)
        a->env->detach(a->env->data);
}

/* -x child after its report: leave the terminal and the caller alone. */
static void go_background(struct clientapp *a)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    detach_at(a);
    (void)setsid();
    if (fd >= 0) {
        (void)dup2(fd, 0);
        (void)dup2(fd, 1);
        (void)dup2(fd, 2);
        close(fd);
    }
}

/* --------------------------------------------------------- io thunks */

static int t_notify(void *data, const char *to, const char *key, const char *value, int64_t ttl)
{
    struct clientapp *a = data;

    return a->attached ? a->io.notify(a->io.data, to, key, value, ttl) : NP_ERR_CLOSED;
}

static int t_get(void *data, const char *key, int bypass, np_client_get_fn done, void *arg)
{
    struct clientapp *a = data;

    return a->attached ? a->io.get(a->io.data, key, bypass, done, arg) : NP_ERR_CLOSED;
}

static int t_scan(void *data, const char *regex, np_client_scan_fn done, void *arg)
{
    struct clientapp *a = data;

    if (!a->attached || !a->io.scan)
        return NP_ERR_CLOSED;
    return a->io.scan(a->io.data, regex, done, arg);
}

static void t_cancel(void *data, void *arg)
{
    struct clientapp *a = data;

    if (a->attached && a->io.cancel)
        a->io.cancel(a->io.data, arg);
}

static struct np_client_io thunks(struct clientapp *a)
{
    struct np_client_io io = {t_notify, t_get, t_scan, t_cancel, a};

    return io;
}

/* ------------------------------------------------------------ session */

static void *eph_thread(void *arg)
{
    struct ephgen *g = arg;
    const char one = 1;

    g->rc = np_rsa_generate_session(&g->key);
    while (write(g->fd[1], &one, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

/* Join the key thread (it has finished, or is about to). */
static void eph_join(struct ephgen *g)
{
    char buf[8];

    if (!g->started)
        return;
    pthread_join(g->th, NULL);
    g->started = 0;
    g->done = 1;
    while (read(g->fd[0], buf, sizeof(buf)) > 0)
        ;
}

/* The thread said it is done: join it, give the session its key. */
static void eph_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct clientapp *a = arg;

    (void)fd;
    (void)what;
    eph_join(&a->eph);
    if (a->s)
        np_client_session_eph_ready(a->s);
}

/* Start making the next session's key pair. If the thread cannot start,
 * the session makes the key itself on the loop. */
static void make_eph(struct clientapp *a)
{
    struct ephgen *g = &a->eph;

    if (g->started || a->o->list_devices)
        return;
    np_rsa_free(g->key);
    g->key = NULL;
    g->done = 0;
    g->rc = NP_ERR_INTERNAL;
    if (g->fd[0] < 0) {
        if (pipe2(g->fd, O_CLOEXEC | O_NONBLOCK) != 0) {
            g->fd[0] = g->fd[1] = -1;
            return;
        }
        if ((g->ev = event_new(a->base, g->fd[0], EV_READ | EV_PERSIST, eph_done_cb, a)) == NULL ||
            event_add(g->ev, NULL) != 0)
            return;
    }
    if (g->ev && pthread_create(&g->th, NULL, eph_thread, g) == 0)
        g->started = 1;
}

/* np_client_config.eph_take: the key once the thread is done. */
static int eph_take(void *data, struct np_rsa_key **key)
{
    struct clientapp *a = data;
    struct ephgen *g = &a->eph;

    *key = NULL;
    if (g->started)
        return NP_AGAIN;
    if (!g->done)
        return NP_ERR_NOTFOUND; /* no thread: the session makes the key */
    g->done = 0;
    if (g->rc != 0)
        return g->rc;
    *key = g->key;
    g->key = NULL;
    return 0;
}

/* Join a thread still running, free its key, close the pipe. */
static void eph_free(struct ephgen *g)
{
    eph_join(g);
    np_rsa_free(g->key);
    g->key = NULL;
    if (g->ev)
        event_free(g->ev);
    g->ev = NULL;
    for (int i = 0; i < 2; i++)
        if (g->fd[i] >= 0)
            close(g->fd[i]);
    g->fd[0] = g->fd[1] = -1;
}

static void start_session(struct clientapp *a);
static void pipe_done(struct np_stdio_pipe *p, int err, void *data);

static void ev_progress(void *data, int level, const char *msg)
{
    clientapp_progress(data, level, msg);
}

static void ready_sshnp(struct clientapp *a, const struct np_client_ready *r)
{
    const struct np_client_opts *o = a->o;
    struct sshcmd_params p;
    struct sshcmd cmd = {NULL, 0};
    char *line = NULL;
    int rc;

    memset(&p, 0, sizeof(p));
    p.program = a->env->ssh_program;
    p.port = r->local_port;
    p.host = r->local_host;
    p.user = r->remote_user;
    p.identity = o->identity_file;
    p.options = o->ssh_options;
    p.n_options = o->n_ssh_options;
    p.device = o->device;
    p.device_atsign = o->to;
    if ((rc = sshcmd_build(&p, &cmd)) != 0 || (rc = sshcmd_format(&cmd, &line)) != 0) {
        print_error(a, "Cannot build the ssh command", np_strerror(rc), NULL);
        stop(a, 1);
        goto out;
    }
    if (o->exec_x) {
        report(a, line);
        go_background(a);
        goto out;
    }
    say(a, NP_LOG_INFO, "Starting: %s", line);
    if ((rc = sshcmd_spawn(&cmd, &a->ssh_pid)) != 0) {
        print_error(a, "Cannot start ssh", np_strerror(rc), NULL);
        stop(a, 1);
        goto out;
    }
    /* From here on ^C belongs to ssh (it puts the terminal in raw mode anyway). */
out:
    np_free(line);
    sshcmd_free(&cmd);
}

static void ev_ready(struct np_client_session *s, const struct np_client_ready *r, void *data)
{
    struct clientapp *a = data;
    char port[16];

    (void)s;
    a->ever_ready = 1;
    if (!a->o->stdio)
        a->local_port = r->local_port;
    if (!(a->o->prog == NP_PROG_NPT && a->o->keep_alive))
        detach_at(a); /* nothing more to ask the atServer */
    if (a->o->stdio)
        return;
    if (a->o->prog == NP_PROG_SSHNP) {
        ready_sshnp(a, r);
        return;
    }
    if (a->o->exec_x) {
        snprintf(port, sizeof(port), "%d", r->local_port);
        report(a, port);
        go_background(a);
        return;
    }
    say(a, NP_LOG_INFO, "npt is listening on %s:%d", r->local_host, r->local_port);
}

static void ev_done(struct np_client_session *s, int status, const char *msg, const char *detail,
                    const char *hint, void *data)
{
    struct clientapp *a = data;
    struct timeval tv;
    int delay;

    if (status != 0)
        print_error(a, msg, detail, hint);
    else
        say(a, NP_LOG_INFO, "%s", msg);
    np_client_session_free(s);
    a->s = NULL;
    a->session_over = 1;
    a->session_failed = status != 0;
    if (a->finished)
        return;
    if (a->o->prog == NP_PROG_NPT && a->o->keep_alive && a->ever_ready &&
        (a->env->max_sessions <= 0 || a->sessions < a->env->max_sessions)) {
        delay = a->env->restart_delay_ms > 0 ? a->env->restart_delay_ms : RESTART_MS;
        say(a, NP_LOG_INFO, "Keep-alive: starting a new session in %d s", (delay + 999) / 1000);
        tv.tv_sec = delay / 1000;
        tv.tv_usec = (delay % 1000) * 1000;
        evtimer_add(a->restart_timer, &tv);
        return;
    }
    if (a->ssh_pid > 0 && status == 0)
        return; /* ssh still running: its exit ends the program */
    if (a->o->stdio && status == 0 && !a->pipe_done)
        return; /* let the last bytes reach stdout */
    stop(a, status != 0 ? 1 : 0);
}

static void start_session(struct clientapp *a)
{
    const struct np_client_opts *o = a->o;
    const struct clientapp_env *e = a->env;
    struct np_client_config c;
    int peer = -1, r;

    np_client_config_init(&c);
    c.kind = o->prog;
    c.client_atsign = o->from;
    c.device_atsign = o->to;
    c.relay_atsign = o->srvd;
    c.device = o->device;
    c.enc_key = e->enc_key;
    c.authenticate_client = o->authenticate_client;
    c.authenticate_device = o->authenticate_device;
    c.relay_auth_mode = o->relay_auth_mode;
    c.pkam_key = e->pkam_key;
    c.sk_uri = a->sk_uri ? a->sk_uri : e->sk_uri;
    c.remote_user = o->remote_user;
    c.ssh_public_key = o->send_ssh_public_key ? e->ssh_public_key : NULL;
    c.remote_host = o->remote_host;
    c.remote_port = o->remote_port;
    c.npt_timeout_ms = o->timeout_ms;
    c.heartbeat_ms = o->heartbeat_s * 1000;
    c.local_host = o->local_host;
    c.local_port = a->local_port;
    c.relay_timeout_ms = e->relay_timeout_ms;
    c.ping_timeout_ms =
        e->ping_timeout_ms > 0 ? e->ping_timeout_ms : o->daemon_ping_timeout_s * 1000;
    c.answer_timeout_ms = e->answer_timeout_ms;
    c.bridge_timeout_ms = e->bridge_timeout_ms;
    c.eph_take = eph_take;
    c.eph_take_data = a;
    c.io = thunks(a);
    c.ev.progress = ev_progress;
    c.ev.ready = ev_ready;
    c.ev.done = ev_done;
    c.ev.data = a;
    if (o->stdio) {
        if ((r = np_stdio_pipe_new(a->base, 0, 1, pipe_done, a, &peer, &a->pipe)) != 0)
            goto fail_stdio;
        c.stdio_fd = peer;
    }
    a->sessions++;
    a->session_over = 0;
    if ((r = np_client_session_new(a->base, &c, &a->s)) != 0) {
        if (peer >= 0)
            close(peer);
        print_error(a, "Cannot set up the session", np_strerror(r), NULL);
        stop(a, 1);
        return;
    }
    if ((r = np_client_session_start(a->s)) != 0) {
        np_client_session_free(a->s);
        a->s = NULL;
        print_error(a, "Cannot start the session", np_strerror(r),
                    "Sending to the atServer failed; check the connection.");
        stop(a, 1);
    }
    return;
fail_stdio:
    print_error(a, "Cannot use standard input/output", np_strerror(r),
                "--stdio needs pipes or sockets (as ssh's ProxyCommand gives), not files.");
    stop(a, 1);
}

/* ------------------------------------------------------------ stdio */

static void pipe_done(struct np_stdio_pipe *p, int err, void *data)
{
    struct clientapp *a = data;

    (void)p;
    (void)err;
    a->pipe_done = 1;
    if (a->s) { /* the data is through: end the session (npt's bridge would linger) */
        np_client_session_free(a->s);
        a->s = NULL;
    }
    stop(a, a->session_failed ? 1 : 0);
}

/* ------------------------------------------------------------- list */

static void list_progress(void *data, int level, const char *msg)
{
    clientapp_progress(data, level, msg);
}

static void list_done(struct np_client_list *l, int status, const char *message, void *data)
{
    struct clientapp *a = data;

    if (status != 0) {
        print_error(a, message, np_strerror(status), "Check the connection to the atServer.");
        stop(a, 1);
        return;
    }
    np_client_list_print(l, a->out);
    fflush(a->out);
    stop(a, 0);
}

static void start_list(struct clientapp *a)
{
    struct np_list_config c;
    int r;

    memset(&c, 0, sizeof(c));
    c.client_atsign = a->o->from;
    c.device_atsign = a->o->to;
    c.wait_ms = a->env->list_wait_ms;
    c.io = thunks(a);
    c.progress = list_progress;
    c.done = list_done;
    c.data = a;
    if ((r = np_client_list_new(a->base, &c, &a->list)) != 0 ||
        (r = np_client_list_start(a->list)) != 0) {
        print_error(a, "Cannot list devices", np_strerror(r), NULL);
        stop(a, 1);
    }
}

/* ----------------------------------------------------- attach callbacks */

void clientapp_connected(struct clientapp *a)
{
    if (!a || a->started || a->finished)
        return;
    a->started = 1;
    evtimer_del(a->connect_timer);
    say(a, NP_LOG_DEBUG, "Connected to the atServer of %s", a->o->from);
    if (a->o->list_devices)
        start_list(a);
    else
        start_session(a);
}

void clientapp_notification(struct clientapp *a, const char *from, const char *key,
                            const char *value, size_t len)
{
    if (!a || a->finished)
        return;
    if (a->s && np_client_session_notification(a->s, from, key, value, len) == 0)
        return;
    if (a->list)
        (void)np_client_list_notification(a->list, from, key, value, len);
}

void clientapp_fatal(struct clientapp *a, const char *msg, const char *detail, const char *hint)
{
    if (!a || a->finished)
        return;
    if (a->ever_ready && !(a->o->prog == NP_PROG_NPT && a->o->keep_alive)) {
        say(a, NP_LOG_DEBUG, "atServer connection lost (%s); the tunnel is not affected", msg);
        return;
    }
    if (a->ever_ready) { /* npt -K: the current tunnel lives; the next session may fail */
        print_error(a, msg, detail, hint);
        return;
    }
    print_error(a, msg, detail, hint);
    stop(a, 1);
}

void clientapp_set_sk_uri(struct clientapp *a, const char *uri)
{
    if (!a || !uri)
        return;
    np_free(a->sk_uri);
    a->sk_uri = np_strdup(uri);
}

/* ------------------------------------------------------ timers, signals */

static void connect_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct clientapp *a = arg;
    char msg[256];

    (void)fd;
    (void)what;
    snprintf(msg, sizeof(msg), "Cannot connect to the atServer of %s", a->o->from);
    clientapp_fatal(a, msg, "timed out",
                    "Check the network, --root-domain, and that the atSign's keys (-k) are "
                    "right.");
}

static void restart_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    make_eph(arg);
    start_session(arg);
}

static void sig_cb(evutil_socket_t sig, short what, void *arg)
{
    struct clientapp *a = arg;

    (void)what;
    if (a->ssh_pid > 0) { /* ssh decides; forward a termination request */
        if (sig == SIGTERM)
            kill(a->ssh_pid, SIGTERM);
        return;
    }
    say(a, NP_LOG_INFO, "Stopping (signal %d)", (int)sig);
    stop(a, a->ever_ready ? 0 : 1);
}

static void chld_cb(evutil_socket_t sig, short what, void *arg)
{
    struct clientapp *a = arg;
    int st = 0;

    (void)sig;
    (void)what;
    if (a->ssh_pid <= 0 || waitpid(a->ssh_pid, &st, WNOHANG) != a->ssh_pid)
        return;
    a->ssh_pid = 0;
    say(a, NP_LOG_DEBUG, "ssh exited (status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    stop(a, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0));
}

/* ---------------------------------------------------------------- run */

static int run_inner(struct clientapp *a)
{
    const struct clientapp_env *e = a->env;
    char err[512] = "";
    struct timeval tv;
    int ms = e->connect_timeout_ms > 0 ? e->connect_timeout_ms : CONNECT_MS, r;

    if ((a->base = event_base_new()) == NULL ||
        (a->connect_timer = evtimer_new(a->base, connect_timer_cb, a)) == NULL ||
        (a->restart_timer = evtimer_new(a->base, restart_cb, a)) == NULL ||
        (a->sig_int = evsignal_new(a->base, SIGINT, sig_cb, a)) == NULL ||
        (a->sig_term = evsignal_new(a->base, SIGTERM, sig_cb, a)) == NULL ||
        (a->sig_chld = evsignal_new(a->base, SIGCHLD, chld_cb, a)) == NULL) {
        print_error(a, "Out of memory", NULL, NULL);
        a->status = 1;
        report(a, NULL);
        return 1;
    }
    evsignal_add(a->sig_int, NULL);
    evsignal_add(a->sig_term, NULL);
    evsignal_add(a->sig_chld, NULL);
    make_eph(a); /* before any connection deadline starts */
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(a->connect_timer, &tv);
    say(a, NP_LOG_INFO, "Connecting to the atServer of %s", a->o->from);
    if ((r = e->attach(a, a->base, e->data, &a->io, err, sizeof(err))) != 0) {
        print_error(a, "Cannot connect to the atServer", err[0] ? err : np_strerror(r),
                    "Check --key-file, --root-domain and the network.");
        a->status = 1;
        report(a, NULL);
        return 1;
    }
    a->attached = 1;
    a->status = 1;
    event_base_dispatch(a->base);
    if (!a->finished) /* the loop ran dry: nothing left to wait for */
        a->status = a->session_failed || !a->ever_ready ? 1 : 0;
    return a->status;
}

static void cleanup(struct clientapp *a)
{
    np_client_session_free(a->s);
    np_client_list_free(a->list);
    np_stdio_pipe_free(a->pipe);
    detach_at(a);
    if (a->env->teardown && a->base)
        a->env->teardown(a->env->data);
    if (a->ssh_pid > 0) { /* we are leaving: do not leave ssh orphaned on a dead port */
        kill(a->ssh_pid, SIGTERM);
        (void)waitpid(a->ssh_pid, NULL, 0);
    }
    if (a->connect_timer)
        event_free(a->connect_timer);
    if (a->restart_timer)
        event_free(a->restart_timer);
    if (a->sig_int)
        event_free(a->sig_int);
    if (a->sig_term)
        event_free(a->sig_term);
    if (a->sig_chld)
        event_free(a->sig_chld);
    eph_free(&a->eph); /* a thread still making one is joined */
    if (a->base)
        event_base_free(a->base);
    np_free(a->sk_uri);
    if (a->report_fd >= 0)
        close(a->report_fd);
}

/* -x parent: wait for the child's report. */
static int x_parent(struct clientapp *a, int fd, pid_t pid)
{
    char buf[X_REPORT_MAX + 1];
    size_t len = 0;
    int64_t end = np_mono_ms() + X_WAIT_MS;

    while (len < X_REPORT_MAX && !memchr(buf, '\n', len)) {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = end - np_mono_ms();
        ssize_t k;

        if (left <= 0 || poll(&p, 1, (int)(left > 1000 ? 1000 : left)) < 0) {
            if (left > 0 && errno == EINTR)
                continue;
            if (left <= 0)
                break;
            continue;
        }
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        if ((k = read(fd, buf + len, X_REPORT_MAX - len)) < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    close(fd);
    buf[len] = '\0';
    if (len > 3 && strncmp(buf, "OK ", 3) == 0 && buf[len - 1] == '\n') {
        fputs(buf + 3, a->out);
        fflush(a->out);
        return 0;
    }
    (void)waitpid(pid, NULL, WNOHANG);
    return 1;
}

int clientapp_run(const struct np_client_opts *o, const struct clientapp_env *env)
{
    struct clientapp a;
    int pfd[2], st;
    pid_t pid;

    memset(&a, 0, sizeof(a));
    a.o = o;
    a.env = env;
    a.out = env->out ? env->out : stdout;
    a.err = env->err ? env->err : stderr;
    a.report_fd = -1;
    a.eph.fd[0] = a.eph.fd[1] = -1;
    a.local_port = o->local_port;
    a.status = 1;
    signal(SIGPIPE, SIG_IGN);
    if (o->stdio)
        a.local_port = 0;
    if (o->exec_x) {
        if (pipe2(pfd, O_CLOEXEC) != 0) {
            print_error(&a, "Cannot create a pipe", strerror(errno), NULL);
            return 1;
        }
        fflush(NULL);
        if ((pid = fork()) < 0) {
            print_error(&a, "Cannot fork", strerror(errno), NULL);
            close(pfd[0]);
            close(pfd[1]);
            return 1;
        }
        if (pid == 0) {
            close(pfd[0]);
            a.report_fd = pfd[1];
            st = run_inner(&a);
            if (!a.ever_ready)
                report(&a, NULL);
            cleanup(&a);
            fflush(NULL);
            _exit(st);
        }
        close(pfd[1]);
        if (env->child_pid)
            *env->child_pid = pid;
        return x_parent(&a, pfd[0], pid);
    }
    st = run_inner(&a); /* --stdio: the pump is made with the session */
    cleanup(&a);
    return st;
}
