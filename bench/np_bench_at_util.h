/*
 * bench/np_bench_at_util.h - small helpers shared by the benchmark tools
 * np_bench_at and np_bench_npd (bench/atserver.cmake): a microsecond clock,
 * latency samples with percentiles, the result line format read by the
 * bench scripts, running a libevent loop until a condition or a deadline,
 * and reading a process's memory and descriptor counts from /proc.
 *
 * Benchmark tools only: never linked into a program or a test.
 */
#ifndef NP_BENCH_AT_UTIL_H
#define NP_BENCH_AT_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;

/* Monotonic clock in microseconds. */
int64_t nb_mono_us(void);

/* A growable array of samples (microseconds), at most NB_SAMPLES_MAX. */
#define NB_SAMPLES_MAX (8u << 20)
struct nb_samples {
    int64_t *v;
    size_t n, cap;
    int sorted;
};

/* Append one sample; NP_ERR_NOMEM, NP_ERR_LIMIT past NB_SAMPLES_MAX. */
int nb_samples_add(struct nb_samples *s, int64_t v);
/* The p-th percentile (nearest rank, 0 < p <= 100) in *out; sorts the
 * samples. NP_ERR_NOTFOUND when there are none. */
int nb_samples_pct(struct nb_samples *s, double p, int64_t *out);
/* Free the array and zero *s (NULL-safe). */
void nb_samples_free(struct nb_samples *s);

/*
 * One result on stdout: "ROW\t<metric>\t<value>\t<unit>\t<note>\n", read by
 * the bench scripts and passed to bench_row. value is printed with
 * `decimals` decimals; note may be NULL.
 */
void nb_row(const char *metric, double value, int decimals, const char *unit, const char *note);
/* Progress on stderr: "[tag] message". */
void nb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Set the tag of nb_log lines (borrowed, static). */
void nb_log_tag(const char *tag);

/*
 * Run base until done(arg) returns non-zero (checked after every loop turn
 * and at least every 5 ms) or timeout_ms passes. 0 when done, NP_ERR_TIMEOUT,
 * NP_ERR_NOMEM. done may be NULL: run for timeout_ms and return 0.
 */
int nb_run_until(struct event_base *base, int (*done)(void *arg), void *arg, int timeout_ms);

/* VmRSS and RssAnon of pid in KiB; -1 when not readable. */
long nb_rss_kb(pid_t pid);
long nb_rss_anon_kb(pid_t pid);
/* Open file descriptors of pid; -1 when not readable. */
long nb_fd_count(pid_t pid);

/* Parse a positive integer option (1..max) or exit the tool with usage
 * status 2 (tools only). */
long nb_arg_long(const char *name, const char *s, long max);

#endif
