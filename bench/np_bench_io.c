/*
 * bench/np_bench_io.c - TCP helpers, the sender/sink measurement protocol,
 * throughput threads, round-trip timing, the sink child process, the floor
 * splice relay and /proc readings for the relay benchmark tools (see
 * np_bench_io.h).
 */
#include "np_bench_io.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int bench_io_nice;

/* Lower this thread's priority to bench_io_nice (Linux: nice is per thread). */
static void thread_nice(void)
{
    if (bench_io_nice > 0)
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), bench_io_nice);
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int bench_io_raise_nofile(long need, long *have)
{
    struct rlimit rl;

    *have = 0;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return NP_ERR_IO;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)need) {
        struct rlimit up = {(rlim_t)need, (rlim_t)need};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) /* privileged: raise the hard limit */
            rl = up;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    *have = rl.rlim_cur == RLIM_INFINITY ? need : (long)rl.rlim_cur;
    return *have >= need ? 0 : NP_ERR_LIMIT;
}

static int fill_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (port < 0 || port > 65535)
        return NP_ERR_INVAL;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof(*s4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*s6);
        return 0;
    }
    return NP_ERR_INVAL;
}

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {fd, events, 0};
    int r;

    do {
        r = poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return NP_ERR_IO;
    return r == 0 ? NP_ERR_TIMEOUT : 0;
}

int bench_io_connect(const char *host, int port, int timeout_ms, int *fd)
{
    struct sockaddr_storage ss;
    socklen_t len = 0, elen = sizeof(int);
    int s = -1, one = 1, err = 0, rc;

    *fd = -1;
    if ((rc = fill_addr(host, port, &ss, &len)) != 0)
        return rc;
    if ((s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        return NP_ERR_IO;
    rc = NP_ERR_CONNECT;
    if (connect(s, (struct sockaddr *)&ss, len) != 0) {
        if (errno != EINPROGRESS)
            goto out;
        if ((rc = wait_fd(s, POLLOUT, timeout_ms)) != 0)
            goto out;
        rc = NP_ERR_CONNECT;
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0)
            goto out;
    }
    if (fcntl(s, F_SETFL, 0) != 0) /* blocking from here on; waits use poll */
        goto out;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *fd = s;
    s = -1;
    rc = 0;
out:
    if (s >= 0)
        close(s);
    return rc;
}

int bench_io_listen(const char *host, int port, int *fd, int *port_out)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int s, one = 1, rc;

    *fd = -1;
    *port_out = 0;
    if ((rc = fill_addr(host, port, &ss, &len)) != 0)
        return rc;
    if ((s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return NP_ERR_IO;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&ss, len) != 0 || listen(s, 1024) != 0 ||
        getsockname(s, (struct sockaddr *)&ss, &len) != 0) {
        close(s);
        return NP_ERR_IO;
    }
    *port_out = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
    *fd = s;
    return 0;
}

int bench_io_write_all(int fd, const void *p, size_t n, int timeout_ms)
{
    const unsigned char *b = p;

    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(fd, POLLOUT, timeout_ms);
            if (rc != 0)
                return rc;
            continue;
        }
        return NP_ERR_IO;
    }
    return 0;
}

/* Read up to n bytes (at least 1) within timeout_ms. */
static ssize_t read_some(int fd, void *p, size_t n, int timeout_ms, int *rc)
{
    for (;;) {
        ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
        if (r > 0)
            return r;
        if (r == 0) {
            *rc = NP_ERR_EOF;
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *rc = NP_ERR_IO;
            return -1;
        }
        if ((*rc = wait_fd(fd, POLLIN, timeout_ms)) != 0)
            return -1;
    }
}

int bench_io_read_all(int fd, void *p, size_t n, int timeout_ms)
{
    unsigned char *b = p;
    int rc = 0;

    while (n > 0) {
        ssize_t r = read_some(fd, b, n, timeout_ms, &rc);
        if (r < 0)
            return rc;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

int bench_io_hdr_write(int fd, int mode, uint64_t count, int timeout_ms)
{
    unsigned char h[BENCH_IO_HDR_LEN] = {'N', 'P', 'B', '1', (unsigned char)mode, 0, 0, 0};

    for (int i = 0; i < 8; i++)
        h[8 + i] = (unsigned char)(count >> (56 - 8 * i));
    return bench_io_write_all(fd, h, sizeof(h), timeout_ms);
}

int bench_io_sink_serve(int fd)
{
    unsigned char h[BENCH_IO_HDR_LEN], *buf = NULL;
    int rc = 0, one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if ((buf = np_malloc(BENCH_IO_CHUNK)) == NULL)
        return NP_ERR_NOMEM;
    for (;;) {
        uint64_t count = 0;
        rc = bench_io_read_all(fd, h, sizeof(h), -1);
        if (rc == NP_ERR_EOF) {
            rc = 0; /* clean end between requests */
            break;
        }
        if (rc != 0)
            break;
        if (memcmp(h, "NPB1", 4) != 0 || (h[4] != BENCH_IO_THROUGHPUT && h[4] != BENCH_IO_ECHO)) {
            rc = NP_ERR_PROTO;
            break;
        }
        for (int i = 0; i < 8; i++)
            count = count << 8 | h[8 + i];
        while (count > 0 && rc == 0) {
            size_t want = count < BENCH_IO_CHUNK ? (size_t)count : BENCH_IO_CHUNK;
            ssize_t r = read_some(fd, buf, want, -1, &rc);
            if (r < 0)
                break;
            count -= (uint64_t)r;
            if (h[4] == BENCH_IO_ECHO)
                rc = bench_io_write_all(fd, buf, (size_t)r, -1);
        }
        if (rc == 0 && h[4] == BENCH_IO_THROUGHPUT)
            rc = bench_io_write_all(fd, "K", 1, -1);
        if (rc != 0)
            break;
    }
    np_free(buf);
    return rc;
}

static void *sink_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;

    thread_nice();
    bench_io_sink_serve(fd);
    close(fd);
    return NULL;
}

int bench_io_sink_spawn(int fd)
{
    pthread_attr_t at;
    pthread_t t;
    int r;

    if (pthread_attr_init(&at) != 0)
        return NP_ERR_NOMEM;
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 256 * 1024);
    r = pthread_create(&t, &at, sink_thread, (void *)(intptr_t)fd);
    pthread_attr_destroy(&at);
    return r == 0 ? 0 : NP_ERR_NOMEM;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return x < y ? -1 : x > y;
}

/* Child of bench_io_sink_fork: close everything but 0-2 and fds, serve
 * them, exit. Never returns. */
static void sink_child(const int *fds, size_t n)
{
    pthread_t th[BENCH_IO_MAX_CONNS];
    int keep[BENCH_IO_MAX_CONNS];
    unsigned lo = 3;
    size_t started = 0;
    int fail = 0;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    memcpy(keep, fds, n * sizeof(int));
    qsort(keep, n, sizeof(int), cmp_int);
    for (size_t i = 0; i < n; i++) {
        if (keep[i] < 3)
            _exit(2);
        if ((unsigned)keep[i] > lo)
            close_range(lo, (unsigned)keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    close_range(lo, ~0u, 0);
    thread_nice(); /* the threads inherit it */
    for (; started < n; started++) {
        if (pthread_create(&th[started], NULL, sink_thread, (void *)(intptr_t)fds[started]) != 0) {
            fail = 1;
            break;
        }
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    _exit(fail);
}

int bench_io_sink_fork(const int *fds, size_t n, pid_t *pid)
{
    pid_t c;

    *pid = -1;
    if (n == 0 || n > BENCH_IO_MAX_CONNS)
        return NP_ERR_INVAL;
    fflush(NULL);
    if ((c = fork()) < 0)
        return NP_ERR_IO;
    if (c == 0)
        sink_child(fds, n);
    *pid = c;
    return 0;
}

static long tv_ms(const struct timeval *a, const struct timeval *b)
{
    return (long)(a->tv_sec + b->tv_sec) * 1000 + (long)(a->tv_usec + b->tv_usec) / 1000;
}

int bench_io_child_wait(pid_t pid, int timeout_ms, long *cpu_ms)
{
    double end = now_us() + (double)timeout_ms * 1e3;
    struct rusage ru;
    int status = 0, rc;
    pid_t r;

    if (cpu_ms)
        *cpu_ms = -1;
    if (pid <= 0)
        return 0;
    while ((r = wait4(pid, &status, WNOHANG, &ru)) == 0 && now_us() < end)
        usleep(10 * 1000);
    rc = r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : NP_ERR_IO;
    if (r == 0) {
        kill(pid, SIGKILL);
        while ((r = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
            ;
        rc = NP_ERR_TIMEOUT;
    }
    if (r > 0 && cpu_ms)
        *cpu_ms = tv_ms(&ru.ru_utime, &ru.ru_stime);
    return rc;
}

long bench_io_self_cpu_ms(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return tv_ms(&ru.ru_utime, &ru.ru_stime);
}

/* ---- the floor relay -------------------------------------------------------- */

struct sr_pair;
struct sr_dir {
    struct sr_pair *p;
    int i; /* bytes flow fd[i] -> fd[1 - i] */
};

struct sr_pair {
    int fd[2];
    size_t pipe_size;
    pthread_mutex_t mu;
    int left; /* directions still running */
    struct sr_dir d[2];
};

/* Move src -> dst through pfd until EOF (1) or an error (0). */
static int sr_copy(int src, int dst, const int pfd[2], size_t len)
{
    for (;;) {
        ssize_t n = splice(src, NULL, pfd[1], NULL, len, SPLICE_F_MOVE);
        if (n == 0)
            return 1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        while (n > 0) {
            ssize_t m = splice(pfd[0], NULL, dst, NULL, (size_t)n, SPLICE_F_MOVE);
            if (m < 0 && errno == EINTR)
                continue;
            if (m <= 0)
                return 0;
            n -= m;
        }
    }
}

static void *sr_thread(void *arg)
{
    struct sr_dir *d = arg;
    struct sr_pair *p = d->p;
    int src = p->fd[d->i], dst = p->fd[1 - d->i], pfd[2] = {-1, -1}, ok = 0, last;

    if (pipe2(pfd, O_CLOEXEC) == 0) {
        int cap;
        fcntl(pfd[0], F_SETPIPE_SZ, (int)p->pipe_size); /* may fail: default size */
        cap = fcntl(pfd[0], F_GETPIPE_SZ);
        ok = sr_copy(src, dst, pfd, cap > 0 ? (size_t)cap : 65536);
        close(pfd[0]);
        close(pfd[1]);
    }
    if (ok) {
        shutdown(dst, SHUT_WR); /* forward the FIN */
    } else {
        shutdown(src, SHUT_RDWR); /* the other direction ends as well */
        shutdown(dst, SHUT_RDWR);
    }
    pthread_mutex_lock(&p->mu);
    last = --p->left == 0;
    pthread_mutex_unlock(&p->mu);
    if (last) {
        close(p->fd[0]);
        close(p->fd[1]);
        pthread_mutex_destroy(&p->mu);
        np_free(p);
    }
    return NULL;
}

int bench_io_splice_relay_spawn(int a, int b, size_t pipe_size)
{
    struct sr_pair *p = NULL;
    pthread_attr_t at;
    pthread_t t;
    int started = 0, last;

    if ((p = np_calloc(1, sizeof(*p))) == NULL || pthread_mutex_init(&p->mu, NULL) != 0) {
        np_free(p);
        close(a);
        close(b);
        return NP_ERR_NOMEM;
    }
    p->fd[0] = a;
    p->fd[1] = b;
    p->pipe_size = pipe_size;
    p->left = 2;
    if (pthread_attr_init(&at) == 0) {
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 256 * 1024);
        for (; started < 2; started++) {
            p->d[started] = (struct sr_dir){p, started};
            if (pthread_create(&t, &at, sr_thread, &p->d[started]) != 0)
                break;
        }
        pthread_attr_destroy(&at);
    }
    if (started == 2)
        return 0;
    /* a thread that did start ends at once (sockets shut down); whoever
     * drops the last share closes */
    shutdown(a, SHUT_RDWR);
    shutdown(b, SHUT_RDWR);
    pthread_mutex_lock(&p->mu);
    p->left -= 2 - started;
    last = p->left == 0;
    pthread_mutex_unlock(&p->mu);
    if (last) {
        close(a);
        close(b);
        pthread_mutex_destroy(&p->mu);
        np_free(p);
    }
    return NP_ERR_NOMEM;
}

/* ---- throughput ---------------------------------------------------------- */

struct tp_job {
    int fd;
    uint64_t bytes;
    int idle_ms;
    const unsigned char *data;
    pthread_barrier_t *ready;
    int rc;
};

static int echo_one(int fd, int idle_ms)
{
    unsigned char c = 'x';
    int rc;

    if ((rc = bench_io_hdr_write(fd, BENCH_IO_ECHO, 1, idle_ms)) != 0 ||
        (rc = bench_io_write_all(fd, &c, 1, idle_ms)) != 0 ||
        (rc = bench_io_read_all(fd, &c, 1, idle_ms)) != 0)
        return rc;
    return c == 'x' ? 0 : NP_ERR_PROTO;
}

static void *tp_thread(void *arg)
{
    struct tp_job *j = arg;
    uint64_t left = j->bytes;
    unsigned char k = 0;
    int rc;

    thread_nice();
    rc = echo_one(j->fd, j->idle_ms);

    pthread_barrier_wait(j->ready);
    if (rc == 0)
        rc = bench_io_hdr_write(j->fd, BENCH_IO_THROUGHPUT, j->bytes, j->idle_ms);
    while (rc == 0 && left > 0) {
        size_t n = left < BENCH_IO_CHUNK ? (size_t)left : BENCH_IO_CHUNK;
        rc = bench_io_write_all(j->fd, j->data, n, j->idle_ms);
        left -= n;
    }
    if (rc == 0 && (rc = bench_io_read_all(j->fd, &k, 1, j->idle_ms)) == 0 && k != 'K')
        rc = NP_ERR_PROTO;
    j->rc = rc;
    return NULL;
}

int bench_io_throughput(const int *fds, size_t n, uint64_t bytes_each, int idle_ms, double *seconds)
{
    struct tp_job *jobs = NULL;
    pthread_t *th = NULL;
    pthread_barrier_t ready;
    unsigned char *data = NULL;
    size_t started = 0;
    double t0;
    int rc = NP_ERR_NOMEM, have_barrier = 0;

    *seconds = 0;
    if (n == 0 || n > BENCH_IO_MAX_CONNS)
        return NP_ERR_INVAL;
    if ((jobs = np_calloc(n, sizeof(*jobs))) == NULL || (th = np_calloc(n, sizeof(*th))) == NULL ||
        (data = np_malloc(BENCH_IO_CHUNK)) == NULL)
        goto out;
    for (size_t i = 0; i < BENCH_IO_CHUNK; i++)
        data[i] = (unsigned char)(i * 131u + 7u); /* not all zero, not compressible-looking */
    if (pthread_barrier_init(&ready, NULL, (unsigned)n + 1) != 0)
        goto out;
    have_barrier = 1;
    for (size_t i = 0; i < n; i++) {
        jobs[i] = (struct tp_job){fds[i], bytes_each, idle_ms, data, &ready, 0};
        if (pthread_create(&th[i], NULL, tp_thread, &jobs[i]) != 0)
            break;
        started++;
    }
    if (started < n) {
        /* cannot happen with sane limits; the barrier would never open */
        fprintf(stderr, "bench: cannot start %zu threads\n", n);
        abort();
    }
    pthread_barrier_wait(&ready);
    t0 = now_us();
    rc = 0;
    for (size_t i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].rc != 0 && rc == 0)
            rc = jobs[i].rc;
    }
    *seconds = (now_us() - t0) / 1e6;
out:
    if (have_barrier)
        pthread_barrier_destroy(&ready);
    np_free(data);
    np_free(th);
    np_free(jobs);
    return rc;
}

/* ---- round trips ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int bench_io_rtt(int fd, size_t count, int idle_ms, double *samples_us)
{
    int rc;

    if (count == 0 || count > BENCH_IO_MAX_SAMPLES)
        return NP_ERR_INVAL;
    if ((rc = bench_io_hdr_write(fd, BENCH_IO_ECHO, count, idle_ms)) != 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        unsigned char c = (unsigned char)i, back = 0;
        double t = now_us();
        if ((rc = bench_io_write_all(fd, &c, 1, idle_ms)) != 0 ||
            (rc = bench_io_read_all(fd, &back, 1, idle_ms)) != 0)
            return rc;
        samples_us[i] = now_us() - t;
        if (back != c)
            return NP_ERR_PROTO;
    }
    qsort(samples_us, count, sizeof(double), cmp_double);
    return 0;
}

double bench_io_percentile(const double *sorted, size_t n, int p)
{
    size_t k = ((size_t)p * n + 99) / 100;

    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return sorted[k - 1];
}

/* ---- /proc ------------------------------------------------------------------ */

long bench_io_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            char *p = line + 6, *end;
            int64_t v;
            while (*p == ' ' || *p == '\t')
                p++;
            end = p;
            while (*end >= '0' && *end <= '9')
                end++;
            if (np_parse_i64n(p, (size_t)(end - p), 0, INT64_MAX, &v) == 0)
                kb = (long)v;
            break;
        }
    }
    fclose(f);
    return kb;
}

long bench_io_cpu_ms(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    long hz = sysconf(_SC_CLK_TCK);
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* fields after "(comm)": state is field 3, utime 14, stime 15 */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2 ||
        hz <= 0)
        return -1;
    return (long)((ut + st) * 1000ull / (unsigned long long)hz);
}

long bench_io_fd_count(pid_t pid)
{
    char path[64];
    struct dirent *e;
    long n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int bench_io_parse_size(const char *s, uint64_t *out)
{
    size_t len = strlen(s);
    uint64_t mult = 1;
    int64_t v;

    *out = 0;
    if (len > 0) {
        switch (s[len - 1]) {
        case 'K':
        case 'k':
            mult = 1024;
            break;
        case 'M':
        case 'm':
            mult = 1024 * 1024;
            break;
        case 'G':
        case 'g':
            mult = 1024 * 1024 * 1024;
            break;
        default:
            break;
        }
    }
    if (mult > 1)
        len--;
    if (len == 0 || np_parse_i64n(s, len, 0, INT64_MAX / 1073741824, &v) != 0)
        return NP_ERR_INVAL;
    *out = (uint64_t)v * mult;
    return 0;
}
