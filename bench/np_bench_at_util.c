/*
 * bench/np_bench_at_util.c - helpers of the benchmark tools (see
 * np_bench_at_util.h).
 */
#include "np_bench_at_util.h"

#include "util/err.h"
#include "util/str.h"

#include <dirent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_tag = "bench";

int64_t nb_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int nb_samples_add(struct nb_samples *s, int64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        int64_t *nv;
        if (cap > NB_SAMPLES_MAX)
            cap = NB_SAMPLES_MAX;
        if (s->n >= cap)
            return NP_ERR_LIMIT;
        if ((nv = realloc(s->v, cap * sizeof(*nv))) == NULL)
            return NP_ERR_NOMEM;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    s->sorted = 0;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

int nb_samples_pct(struct nb_samples *s, double p, int64_t *out)
{
    size_t k;

    *out = 0;
    if (s->n == 0)
        return NP_ERR_NOTFOUND;
    if (!s->sorted) {
        qsort(s->v, s->n, sizeof(*s->v), cmp_i64);
        s->sorted = 1;
    }
    /* nearest rank: ceil(p/100 * n), at least 1 */
    k = (size_t)((p * (double)s->n + 99.999999) / 100.0);
    if (k < 1)
        k = 1;
    if (k > s->n)
        k = s->n;
    *out = s->v[k - 1];
    return 0;
}

void nb_samples_free(struct nb_samples *s)
{
    if (!s)
        return;
    free(s->v);
    memset(s, 0, sizeof(*s));
}

void nb_row(const char *metric, double value, int decimals, const char *unit, const char *note)
{
    printf("ROW\t%s\t%.*f\t%s\t%s\n", metric, decimals, value, unit, note ? note : "");
    fflush(stdout);
}

void nb_log_tag(const char *tag)
{
    log_tag = tag;
}

void nb_log(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "[%s] %s\n", log_tag, msg);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

int nb_run_until(struct event_base *base, int (*done)(void *arg), void *arg, int timeout_ms)
{
    struct timeval tv = {0, 5000};
    int64_t deadline = nb_mono_us() + (int64_t)timeout_ms * 1000;
    struct event *ev = event_new(base, -1, EV_PERSIST, tick, NULL);
    int r = NP_ERR_TIMEOUT;

    if (!ev || event_add(ev, &tv) != 0) {
        if (ev)
            event_free(ev);
        return NP_ERR_NOMEM;
    }
    for (;;) {
        if (done && done(arg)) {
            r = 0;
            break;
        }
        if (nb_mono_us() >= deadline) {
            r = done ? NP_ERR_TIMEOUT : 0;
            break;
        }
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(ev);
    return r;
}

/* A "Name:   <n> kB" line of /proc/<pid>/status. */
static long status_kb(pid_t pid, const char *name)
{
    char path[64], line[256];
    size_t nl = strlen(name);
    long v = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
            char *p = line + nl + 1, *e;
            int64_t x;
            while (*p == ' ' || *p == '\t')
                p++;
            for (e = p; *e >= '0' && *e <= '9'; e++)
                ;
            *e = '\0';
            if (np_parse_i64(p, 0, INT64_MAX, &x) == 0)
                v = (long)x;
            break;
        }
    }
    fclose(f);
    return v;
}

long nb_rss_kb(pid_t pid)
{
    return status_kb(pid, "VmRSS");
}

long nb_rss_anon_kb(pid_t pid)
{
    return status_kb(pid, "RssAnon");
}

long nb_fd_count(pid_t pid)
{
    char path[64];
    struct dirent *de;
    long n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

long nb_arg_long(const char *name, const char *s, long max)
{
    int64_t v;

    if (!s || np_parse_i64(s, 1, max, &v) != 0) {
        fprintf(stderr, "bad value for %s (1..%ld)\n", name, max);
        exit(2);
    }
    return (long)v;
}
