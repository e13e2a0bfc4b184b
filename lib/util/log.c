/* lib/util/log.c - leveled logging to stderr or syslog. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <sys/time.h>

int np_log_level_current = NP_LOG_INFO;
static const char *log_ident = "noports";
static int log_syslog;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void np_log_set_level(int level)
{
    if (level < NP_LOG_ERROR)
        level = NP_LOG_ERROR;
    if (level > NP_LOG_TRACE)
        level = NP_LOG_TRACE;
    np_log_level_current = level;
}

void np_log_set_ident(const char *ident)
{
    if (ident)
        log_ident = ident;
}

void np_log_use_syslog(int on)
{
    if (on && !log_syslog)
        openlog(log_ident, LOG_PID, LOG_DAEMON);
    else if (!on && log_syslog)
        closelog();
    log_syslog = on;
}

int np_log_level_parse(const char *s)
{
    for (int i = 0; s && i <= NP_LOG_TRACE; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void np_log_write(int level, const char *func, const char *fmt, ...)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};
    char msg[2048];
    va_list ap;
    int off = 0;

    if (level < NP_LOG_ERROR || level > NP_LOG_TRACE)
        level = NP_LOG_ERROR;
    if (func)
        off = snprintf(msg, sizeof(msg), "%s: ", func);
    va_start(ap, fmt);
    vsnprintf(msg + off, sizeof(msg) - (size_t)off, fmt, ap);
    va_end(ap);

    if (log_syslog) {
        syslog(prio[level], "%s", msg);
        return;
    }
    struct timeval tv;
    struct tm tm;
    char ts[32];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ %s %s: %s\n", ts, (long)(tv.tv_usec / 1000), log_ident,
            level_names[level], msg);
}

char *np_log_escape(char *dst, size_t dst_size, const void *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = src;
    size_t o = 0, i;

    if (!dst || dst_size < 4)
        return dst;
    for (i = 0; i < len; i++) {
        unsigned char c = s[i];
        char tmp[4];
        size_t n;
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            tmp[0] = (char)c;
            n = 1;
        } else {
            tmp[0] = '\\';
            n = 2;
            switch (c) {
            case '\n':
                tmp[1] = 'n';
                break;
            case '\r':
                tmp[1] = 'r';
                break;
            case '\t':
                tmp[1] = 't';
                break;
            case '\\':
                tmp[1] = '\\';
                break;
            default:
                tmp[1] = 'x';
                tmp[2] = hex[c >> 4];
                tmp[3] = hex[c & 15];
                n = 4;
            }
        }
        if (o + n + 4 > dst_size)
            break;
        memcpy(dst + o, tmp, n);
        o += n;
    }
    if (i < len) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
    return dst;
}
