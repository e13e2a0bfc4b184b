/*
 * lib/util/log.h - all logging goes through here (style.md practice 18).
 *
 * Levels error < warn < info < debug < trace. The macros test the level before
 * any argument is evaluated. Output: stderr (default, with a UTC timestamp) or
 * syslog. "trace" is the -vv wire-trace level: callers log protocol lines with
 * np_log_escape() and must never pass secrets (keys, signatures of challenges,
 * decrypted values) to any level.
 *
 * Not thread-aware beyond what stdio gives; every program here is one thread.
 */
#ifndef NP_UTIL_LOG_H
#define NP_UTIL_LOG_H
#include <stddef.h>

enum np_log_level {
    NP_LOG_ERROR = 0,
    NP_LOG_WARN = 1,
    NP_LOG_INFO = 2,
    NP_LOG_DEBUG = 3,
    NP_LOG_TRACE = 4
};

extern int np_log_level_current;

/* Set the level (clamped to the valid range). */
void np_log_set_level(int level);
/* Program name shown in every line (borrowed pointer, keep it alive). */
void np_log_set_ident(const char *ident);
/* Send output to syslog (facility LOG_DAEMON) instead of stderr. */
void np_log_use_syslog(int on);
/* Parse "error|warn|info|debug|trace"; returns the level or -1. */
int np_log_level_parse(const char *s);

void np_log_write(int level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define NP_LOG_AT(lvl, func, ...)                                                                  \
    do {                                                                                           \
        if ((lvl) <= np_log_level_current)                                                         \
            np_log_write((lvl), (func), __VA_ARGS__);                                              \
    } while (0)

#define np_error(...) NP_LOG_AT(NP_LOG_ERROR, NULL, __VA_ARGS__)
#define np_warn(...)  NP_LOG_AT(NP_LOG_WARN, NULL, __VA_ARGS__)
#define np_info(...)  NP_LOG_AT(NP_LOG_INFO, NULL, __VA_ARGS__)
#define np_debug(...) NP_LOG_AT(NP_LOG_DEBUG, NULL, __VA_ARGS__)
#define np_trace(...) NP_LOG_AT(NP_LOG_TRACE, NULL, __VA_ARGS__)
/* _f variants prefix the calling function's name. */
#define np_error_f(...) NP_LOG_AT(NP_LOG_ERROR, __func__, __VA_ARGS__)
#define np_warn_f(...)  NP_LOG_AT(NP_LOG_WARN, __func__, __VA_ARGS__)
#define np_debug_f(...) NP_LOG_AT(NP_LOG_DEBUG, __func__, __VA_ARGS__)
/* _r variant: "<message>: <np_strerror(r)>". */
#define np_log_r(lvl, r, fmt, ...) NP_LOG_AT((lvl), NULL, fmt ": %s", ##__VA_ARGS__, np_strerror(r))

/*
 * Escape untrusted bytes for a log line: printable ASCII stays, everything
 * else becomes \n, \r, \t or \xHH; output is cut at max_in input bytes with
 * "..." appended. Returns dst (always NUL-terminated; dst_size >= 4).
 */
char *np_log_escape(char *dst, size_t dst_size, const void *src, size_t len);

#include "util/err.h"
#endif
