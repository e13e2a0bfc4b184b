/*
 * bench/np_bench_pump.c - plain TCP ends of the relay benchmark (bench/relay.sh):
 *
 *   np_bench_pump sink [--port P] [--port-file F]
 *       listen on 127.0.0.1:P (0: any port, written to F), serve every
 *       connection in its own thread (np_bench_io.h protocol) until killed;
 *   np_bench_pump send --connect HOST:PORT --bytes N[K|M|G] [--conns C]
 *       open C connections and move N bytes in all (N/C each) at the same
 *       time; prints bytes=, conns=, seconds=, mbps= (10^6 bytes/s),
 *       sender_cpu_ms= (this process's CPU time);
 *   np_bench_pump rtt --connect HOST:PORT [--count N]
 *       N one-byte round trips; prints count=, p50_us=, p99_us=, mean_us=;
 *   np_bench_pump relay --connect HOST:PORT [--listen-port-file F]
 *       the floor relay: listen on a free port of 127.0.0.1 (written to F);
 *       each accepted connection is joined to a new connection to HOST:PORT
 *       and relayed by bench_io_splice_relay_spawn (a blocking thread per
 *       direction, splice through a 1 MiB pipe) until killed. What the
 *       simplest userspace relay costs on this machine, for comparison
 *       with srvd (bench/relay.sh floor_relay_*).
 *
 * The far end may be the sink itself (direct), or anything that forwards
 * to it (socat, npt -> srvd -> sshnpd). Results go to stdout as key=value
 * lines, progress and errors to stderr; exit 0 only when every byte arrived.
 * Every wait is bounded by --idle-ms (default 60000).
 */
#include "np_bench_io.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Pipe size of the floor relay (srvd's pipes have the same size). */
#define FLOOR_PIPE_SIZE (1024 * 1024)

struct pump_opts {
    const char *cmd;
    char host[NP_HOST_MAX + 1];
    int port;
    const char *port_file;
    uint64_t bytes;
    int64_t conns;
    int64_t count;
    int64_t idle_ms;
};

static void usage(void)
{
    fprintf(stderr, "usage: np_bench_pump sink [--port P] [--port-file F]\n"
                    "       np_bench_pump send --connect HOST:PORT --bytes N[K|M|G] [--conns C]\n"
                    "       np_bench_pump rtt --connect HOST:PORT [--count N]\n"
                    "       np_bench_pump relay --connect HOST:PORT [--listen-port-file F]\n"
                    "       common: [--idle-ms MS]\n");
}

static int parse(int argc, char **argv, struct pump_opts *o)
{
    static const struct option lo[] = {
        {"port", required_argument, NULL, 'p'},
        {"port-file", required_argument, NULL, 'f'},
        {"listen-port-file", required_argument, NULL, 'f'},
        {"connect", required_argument, NULL, 'c'},
        {"bytes", required_argument, NULL, 'b'},
        {"conns", required_argument, NULL, 'n'},
        {"count", required_argument, NULL, 'k'},
        {"idle-ms", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    int c;
    int64_t v;

    memset(o, 0, sizeof(*o));
    o->conns = 1;
    o->count = 10000;
    o->idle_ms = 60000;
    if (argc < 2)
        return NP_ERR_INVAL;
    o->cmd = argv[1];
    snprintf(o->host, sizeof(o->host), "127.0.0.1");
    optind = 2;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (np_parse_i64(optarg, 0, 65535, &v) != 0)
                return NP_ERR_INVAL;
            o->port = (int)v;
            break;
        case 'f':
            o->port_file = optarg;
            break;
        case 'c':
            if (np_hostport_parse(optarg, 0, o->host, &o->port) != 0 || o->port <= 0)
                return NP_ERR_INVAL;
            break;
        case 'b':
            if (bench_io_parse_size(optarg, &o->bytes) != 0)
                return NP_ERR_INVAL;
            break;
        case 'n':
            if (np_parse_i64(optarg, 1, BENCH_IO_MAX_CONNS, &o->conns) != 0)
                return NP_ERR_INVAL;
            break;
        case 'k':
            if (np_parse_i64(optarg, 1, BENCH_IO_MAX_SAMPLES, &o->count) != 0)
                return NP_ERR_INVAL;
            break;
        case 'i':
            if (np_parse_i64(optarg, 1, 3600000, &o->idle_ms) != 0)
                return NP_ERR_INVAL;
            break;
        default:
            return NP_ERR_INVAL;
        }
    }
    return optind == argc ? 0 : NP_ERR_INVAL;
}

/* Write the port to path atomically (path.tmp, then rename). */
static int write_port_file(const char *path, int port)
{
    char tmp[1024];
    FILE *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
        (f = fopen(tmp, "w")) == NULL)
        return NP_ERR_IO;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return NP_ERR_IO;
    return 0;
}

static int run_sink(const struct pump_opts *o)
{
    int lfd = -1, port = 0, rc;

    if ((rc = bench_io_listen("127.0.0.1", o->port, &lfd, &port)) != 0) {
        fprintf(stderr, "np_bench_pump: cannot listen on port %d: %s\n", o->port, strerror(errno));
        return rc;
    }
    if (o->port_file && (rc = write_port_file(o->port_file, port)) != 0) {
        close(lfd);
        return rc;
    }
    fprintf(stderr, "np_bench_pump: sink on 127.0.0.1:%d\n", port);
    for (;;) { /* until the benchmark script stops us by pid */
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                usleep(100 * 1000);
                continue;
            }
            break;
        }
        if (bench_io_sink_spawn(fd) != 0)
            close(fd);
    }
    close(lfd);
    return NP_ERR_IO;
}

static int run_relay(const struct pump_opts *o)
{
    int lfd = -1, port = 0, rc;

    if (o->port <= 0) { /* --connect is required */
        usage();
        return NP_ERR_INVAL;
    }
    if ((rc = bench_io_listen("127.0.0.1", 0, &lfd, &port)) != 0) {
        fprintf(stderr, "np_bench_pump: relay cannot listen: %s\n", strerror(errno));
        return rc;
    }
    if (o->port_file && (rc = write_port_file(o->port_file, port)) != 0) {
        close(lfd);
        return rc;
    }
    fprintf(stderr, "np_bench_pump: floor relay 127.0.0.1:%d -> %s:%d\n", port, o->host, o->port);
    for (;;) { /* until the benchmark script stops us by pid */
        int one = 1, b = -1, a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (a < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                usleep(100 * 1000);
                continue;
            }
            break;
        }
        setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if ((rc = bench_io_connect(o->host, o->port, (int)o->idle_ms, &b)) != 0) {
            fprintf(stderr, "np_bench_pump: relay: connect %s:%d: %s\n", o->host, o->port,
                    np_strerror(rc));
            close(a);
            continue;
        }
        if (bench_io_splice_relay_spawn(a, b, FLOOR_PIPE_SIZE) != 0)
            fprintf(stderr, "np_bench_pump: relay: no threads for a connection\n");
    }
    close(lfd);
    return NP_ERR_IO;
}

static int run_send(const struct pump_opts *o)
{
    int fds[BENCH_IO_MAX_CONNS];
    uint64_t each = o->bytes / (uint64_t)o->conns;
    size_t n = 0;
    double secs = 0;
    long cpu0 = bench_io_self_cpu_ms();
    int rc = 0;

    if (o->port <= 0 || each == 0) {
        usage();
        return NP_ERR_INVAL;
    }
    for (; n < (size_t)o->conns; n++)
        if ((rc = bench_io_connect(o->host, o->port, (int)o->idle_ms, &fds[n])) != 0) {
            fprintf(stderr, "np_bench_pump: connect %s:%d: %s\n", o->host, o->port,
                    np_strerror(rc));
            goto out;
        }
    if ((rc = bench_io_throughput(fds, n, each, (int)o->idle_ms, &secs)) != 0) {
        fprintf(stderr, "np_bench_pump: transfer failed: %s\n", np_strerror(rc));
        goto out;
    }
    printf("bytes=%llu\nconns=%zu\nseconds=%.6f\nmbps=%.1f\nsender_cpu_ms=%ld\n",
           (unsigned long long)(each * n), n, secs,
           secs > 0 ? (double)(each * n) / secs / 1e6 : 0.0, bench_io_self_cpu_ms() - cpu0);
out:
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    return rc;
}

static int run_rtt(const struct pump_opts *o)
{
    double *s = NULL, mean = 0;
    int fd = -1, rc;

    if (o->port <= 0) {
        usage();
        return NP_ERR_INVAL;
    }
    if ((s = np_calloc((size_t)o->count, sizeof(double))) == NULL)
        return NP_ERR_NOMEM;
    if ((rc = bench_io_connect(o->host, o->port, (int)o->idle_ms, &fd)) != 0 ||
        (rc = bench_io_rtt(fd, (size_t)o->count, (int)o->idle_ms, s)) != 0) {
        fprintf(stderr, "np_bench_pump: rtt %s:%d: %s\n", o->host, o->port, np_strerror(rc));
        goto out;
    }
    for (int64_t i = 0; i < o->count; i++)
        mean += s[i];
    mean /= (double)o->count;
    printf("count=%lld\np50_us=%.1f\np99_us=%.1f\nmean_us=%.1f\n", (long long)o->count,
           bench_io_percentile(s, (size_t)o->count, 50),
           bench_io_percentile(s, (size_t)o->count, 99), mean);
out:
    if (fd >= 0)
        close(fd);
    np_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    struct pump_opts o;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    if (parse(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    if (strcmp(o.cmd, "sink") == 0)
        rc = run_sink(&o);
    else if (strcmp(o.cmd, "send") == 0)
        rc = run_send(&o);
    else if (strcmp(o.cmd, "rtt") == 0)
        rc = run_rtt(&o);
    else if (strcmp(o.cmd, "relay") == 0)
        rc = run_relay(&o);
    else {
        usage();
        return 2;
    }
    return rc == 0 ? 0 : 1;
}
