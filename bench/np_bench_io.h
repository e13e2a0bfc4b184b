/*
 * bench/np_bench_io.h - the data-path pieces shared by the relay benchmark
 * tools (np_bench_pump, np_bench_relay): blocking TCP helpers with time
 * bounds, a tiny measurement protocol between a sender and a sink, sender
 * threads that time N bytes over C connections, a 1-byte round-trip timer,
 * a sink in a child process, the "floor" relay (the simplest splice relay:
 * what any userspace relay costs at least), RLIMIT_NOFILE handling and /proc
 * readings (RSS, open fds, CPU time) of a process.
 *
 * Every throughput figure of bench/relay.sh is taken with the same pieces
 * in the same layout: bench_io_throughput's sender threads in one process,
 * bench_io_sink_serve threads in another (np_bench_pump sink, or
 * bench_io_sink_fork for np_bench_relay), the relay under test (none,
 * socat, the floor relay, srvd) in a third; so ratios compare only the
 * relay hop.
 *
 * The measurement protocol (one connection may carry several requests):
 *   header: "NPB1" | mode (1 byte) | 3 zero bytes | count (8 bytes, big endian)
 *   mode 'T' (throughput): the sender sends count bytes; the sink reads them
 *            all and answers one byte 'K';
 *   mode 'E' (echo): the sink sends back every byte it reads, count in all.
 * Only the sender's clock is used, so sender and sink may be in different
 * processes. Benchmark code, never linked into the programs.
 */
#ifndef NP_BENCH_IO_H
#define NP_BENCH_IO_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_IO_HDR_LEN     16
#define BENCH_IO_THROUGHPUT  'T'
#define BENCH_IO_ECHO        'E'
#define BENCH_IO_CHUNK       (256u * 1024u)
#define BENCH_IO_MAX_CONNS   1024
#define BENCH_IO_MAX_SAMPLES 10000000u

/*
 * Raise the soft RLIMIT_NOFILE to at least `need` descriptors: soft up to
 * the hard limit, and the hard limit itself when the process may (root).
 * *have gets the soft limit in force afterwards (also on failure).
 * Returns 0 when have >= need, NP_ERR_LIMIT when the hard limit is too low
 * and cannot be raised.
 */
int bench_io_raise_nofile(long need, long *have);

/* Connect to 127.0.0.1-style host:port (numeric IPv4/IPv6) within
 * timeout_ms; blocking socket with TCP_NODELAY. *fd = -1 at entry. */
int bench_io_connect(const char *host, int port, int timeout_ms, int *fd);

/* Listen on host:port (port 0: the OS chooses); *port_out gets the port. */
int bench_io_listen(const char *host, int port, int *fd, int *port_out);

/* Write / read exactly n bytes, each wait for the socket at most timeout_ms
 * (NP_ERR_TIMEOUT); read: NP_ERR_EOF when the peer closes early. */
int bench_io_write_all(int fd, const void *p, size_t n, int timeout_ms);
int bench_io_read_all(int fd, void *p, size_t n, int timeout_ms);

/* Send a header of `mode` for `count` bytes. */
int bench_io_hdr_write(int fd, int mode, uint64_t count, int timeout_ms);

/* Sink: serve requests on fd until the peer closes (returns 0) or an error
 * (negative). Does not close fd. Blocking, no time limit on idle time. */
int bench_io_sink_serve(int fd);

/* Nice value the threads of bench_io_sink_spawn and bench_io_throughput
 * give themselves (0: unchanged). A load generator sharing a small machine
 * with the relay under test runs below it, so that the relay is not crowded
 * out by the generator's threads. */
extern int bench_io_nice;

/* Serve fd in a detached thread that closes it at the end. */
int bench_io_sink_spawn(int fd);

/*
 * Serve the n connections fds in a child process (fork), one
 * bench_io_sink_serve thread each at bench_io_nice, the way np_bench_pump
 * sink serves its connections: so that a sender in this process has its
 * sink in another process, as in the direct runs. The child keeps only these
 * descriptors (and 0-2), gets SIGKILL if this process dies, and exits 0
 * when every connection has ended cleanly. The caller keeps its copies of
 * fds (close them: the child has its own) and must reap the child
 * (bench_io_child_wait). *pid = -1 at entry, the child on success;
 * NP_ERR_INVAL (n == 0 or > BENCH_IO_MAX_CONNS), NP_ERR_NOMEM, NP_ERR_IO.
 */
int bench_io_sink_fork(const int *fds, size_t n, pid_t *pid);

/* Reap child pid, waiting at most timeout_ms before SIGKILL. 0 when it
 * exited with status 0, NP_ERR_TIMEOUT when it had to be killed, else
 * NP_ERR_IO. pid <= 0: 0. cpu_ms (may be NULL): the CPU time (user +
 * system) the child used, or -1. */
int bench_io_child_wait(pid_t pid, int timeout_ms, long *cpu_ms);

/* CPU time (user + system) of this process so far, in milliseconds. */
long bench_io_self_cpu_ms(void);

/*
 * The floor relay for one pair of connected blocking sockets a and b: one
 * detached thread per direction, each with its own pipe (F_SETPIPE_SZ
 * pipe_size; the default size if that fails) looping splice(src -> pipe,
 * up to the pipe's size) and splice(pipe -> dst) until the pipe is empty;
 * a FIN is forwarded as shutdown(dst, SHUT_WR). A direction that fails
 * shuts both sockets down (so the other one ends too); the last direction
 * to end closes a and b. No nice value is applied (the relay competes like
 * srvd). Owns a and b from the call on, also on failure (closed);
 * NP_ERR_NOMEM when the threads cannot be started.
 */
int bench_io_splice_relay_spawn(int a, int b, size_t pipe_size);

/*
 * Throughput: n connections (each already connected to a sink, directly or
 * through a relay), `bytes_each` bytes on each in parallel threads. Every
 * connection first does a 1-byte echo (the path is then fully set up); the
 * clock starts when all are ready and stops at the last 'K'. *seconds gets
 * the elapsed time. idle_ms bounds every single wait.
 */
int bench_io_throughput(const int *fds, size_t n, uint64_t bytes_each, int idle_ms,
                        double *seconds);

/*
 * Round trips: `count` times write one byte and read it back (mode 'E').
 * samples_us (count entries, caller's) gets each round trip in microseconds,
 * sorted ascending on return.
 */
int bench_io_rtt(int fd, size_t count, int idle_ms, double *samples_us);

/* Nearest-rank percentile p (0..100) of sorted samples (n > 0). */
double bench_io_percentile(const double *sorted, size_t n, int p);

/* VmRSS of pid in KiB, or -1. */
long bench_io_rss_kb(pid_t pid);
/* CPU time (user + system) pid has used, in milliseconds, or -1. */
long bench_io_cpu_ms(pid_t pid);
/* Open descriptors of pid, or -1. */
long bench_io_fd_count(pid_t pid);

/* A size with optional suffix K, M, G (powers of 1024), e.g. "2G". */
int bench_io_parse_size(const char *s, uint64_t *out);

#endif
