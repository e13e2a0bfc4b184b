/*
 * lib/net/bclient.c - blocking TLS client with per-call deadlines (see
 * bclient.h). The socket is non-blocking; waiting is poll(2) until the
 * deadline, so no call can hang and nothing sleeps.
 */
#include "net/bclient.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "net/tls_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct net_bclient {
    int fd;
    struct ssl_st *ssl;          /* NULL for plain TCP */
    struct net_tls_ctx *own_ctx; /* made by net_bclient_connect */
    struct np_buf *in;           /* read but not yet returned */
    char peer[NET_ADDR_STR_MAX];
};

/* Wait until fd is readable (POLLIN) or writable (POLLOUT) or the monotonic
 * deadline passes. POLLERR/POLLHUP count as ready: the next I/O call
 * reports the error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int64_t left = deadline - np_mono_ms();
        int r;
        if (left <= 0)
            return NP_ERR_TIMEOUT;
        r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (r > 0)
            return 0;
        if (r == 0)
            return NP_ERR_TIMEOUT;
        if (errno != EINTR)
            return NP_ERR_IO;
    }
}

static int wait_want(struct net_bclient *c, int want, int64_t deadline)
{
    return wait_fd(c->fd, want == NET_TLS_WANT_WRITE ? POLLOUT : POLLIN, deadline);
}

/* TCP connect to the first address of host:port that accepts. */
static int tcp_connect(const char *host, int port, int64_t deadline, int *fd_out, char *peer,
                       size_t peer_size)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[8];
    int r = NP_ERR_CONNECT, g;

    *fd_out = -1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if ((g = getaddrinfo(host, portstr, &hints, &res)) != 0 || !res) {
        np_debug("cannot resolve %s: %s", host, gai_strerror(g));
        return NP_ERR_NOTFOUND;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = -1, s;
        s = net_tcp_connect_start(ai->ai_addr, ai->ai_addrlen, &fd);
        if (s == NP_AGAIN) {
            s = wait_fd(fd, POLLOUT, deadline);
            if (s == 0)
                s = net_tcp_connect_finish(fd);
        }
        if (s == 0) {
            net_tcp_addr_str(ai->ai_addr, ai->ai_addrlen, peer, peer_size);
            *fd_out = fd;
            r = 0;
            break;
        }
        if (fd >= 0)
            close(fd);
        r = s;
        if (s == NP_ERR_TIMEOUT)
            break;
    }
    freeaddrinfo(res);
    return r;
}

int net_bclient_connect_ctx(const char *host, int port, struct net_tls_ctx *tls,
                            const char *expected_name, int timeout_ms, struct net_bclient **out)
{
    struct net_bclient *c = NULL;
    int64_t deadline;
    int r = NP_ERR_INTERNAL, want;

    if (out)
        *out = NULL;
    if (!host || !*host || port < 1 || port > 65535 || timeout_ms <= 0 || !out ||
        (tls && net_tls_ctx_is_server(tls)))
        return NP_ERR_INVAL;
    deadline = np_mono_ms() + timeout_ms;
    if ((c = np_calloc(1, sizeof(*c))) == NULL)
        return NP_ERR_NOMEM;
    c->fd = -1;
    if ((c->in = np_buf_new(NET_BCLIENT_MAX_BUFFER)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = tcp_connect(host, port, deadline, &c->fd, c->peer, sizeof(c->peer))) != 0) {
        np_debug("connect to %s:%d: %s", host, port, np_strerror(r));
        goto out;
    }
    net_tcp_set_nodelay(c->fd, 1);
    if (tls) {
        net_tls_clear_errors();
        if ((r = net_tls_ssl_new(tls, expected_name ? expected_name : host, &c->ssl)) != 0 ||
            (r = net_tls_ssl_set_fd(c->ssl, c->fd)) != 0)
            goto out;
        while ((r = net_tls_ssl_handshake(c->ssl, &want)) == NP_AGAIN)
            if ((r = wait_want(c, want, deadline)) != 0)
                break;
        if (r != 0) {
            if (r == NP_ERR_TLS)
                net_tls_log_failure(c->ssl, 0, c->peer);
            np_debug("TLS handshake with %s:%d: %s", host, port, np_strerror(r));
            goto out;
        }
    }
    *out = c;
    c = NULL;
    r = 0;
out:
    net_bclient_close(c);
    return r;
}

int net_bclient_connect(const char *host, int port, const char *ca_file, const char *expected_name,
                        int timeout_ms, struct net_bclient **out)
{
    struct net_tls_client_opts o = {.ca_file = ca_file};
    struct net_tls_ctx *ctx = NULL;
    int r;

    if (out)
        *out = NULL;
    if (!out)
        return NP_ERR_INVAL;
    if ((r = net_tls_client_ctx_new(&o, &ctx)) != 0)
        return r;
    r = net_bclient_connect_ctx(host, port, ctx, expected_name, timeout_ms, out);
    if (r == 0)
        (*out)->own_ctx = ctx;
    else
        net_tls_ctx_free(ctx);
    return r;
}

int net_bclient_write(struct net_bclient *c, const void *p, size_t n, int timeout_ms)
{
    const unsigned char *b = p;
    int64_t deadline;
    int r, want;

    if (!c || (n > 0 && !p) || timeout_ms <= 0)
        return NP_ERR_INVAL;
    if (n == 0)
        return 0;
    deadline = np_mono_ms() + timeout_ms;
    if (c->ssl) {
        /* SSL_write_ex writes all n bytes; after WANT_* retry identically. */
        while ((r = net_tls_ssl_write(c->ssl, p, n, &want)) == NP_AGAIN)
            if ((r = wait_want(c, want, deadline)) != 0)
                return r;
        if (r == NP_ERR_TLS)
            net_tls_log_failure(c->ssl, 0, c->peer);
        return r;
    }
    while (n > 0) {
        ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if ((r = wait_fd(c->fd, POLLOUT, deadline)) != 0)
                return r;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else {
            return NP_ERR_IO;
        }
    }
    return 0;
}

int net_bclient_send_line(struct net_bclient *c, const char *line, int timeout_ms)
{
    size_t n;
    char *tmp;
    int r;

    if (!c || !line || strchr(line, '\n'))
        return NP_ERR_INVAL;
    n = strlen(line);
    if ((tmp = np_malloc(n + 1)) == NULL)
        return NP_ERR_NOMEM;
    memcpy(tmp, line, n);
    tmp[n] = '\n';
    r = net_bclient_write(c, tmp, n + 1, timeout_ms);
    np_free(tmp);
    return r;
}

/* Read once (one TLS record or one read(2)) into c->in. */
static int fill(struct net_bclient *c, int64_t deadline)
{
    unsigned char tmp[16384];
    size_t got = 0;
    int r, want;

    if (np_buf_len(c->in) >= np_buf_max(c->in))
        return NP_ERR_TOOBIG;
    for (;;) {
        if (c->ssl) {
            r = net_tls_ssl_read(c->ssl, tmp, sizeof(tmp), &got, &want);
            if (r == NP_AGAIN) {
                if ((r = wait_want(c, want, deadline)) != 0)
                    return r;
                continue;
            }
            if (r == NP_ERR_TLS)
                net_tls_log_failure(c->ssl, 0, c->peer);
            if (r != 0)
                return r;
        } else {
            ssize_t n = read(c->fd, tmp, sizeof(tmp));
            if (n == 0)
                return NP_ERR_EOF;
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    return errno == ECONNRESET ? NP_ERR_EOF : NP_ERR_IO;
                if ((r = wait_fd(c->fd, POLLIN, deadline)) != 0)
                    return r;
                continue;
            }
            got = (size_t)n;
        }
        return np_buf_put(c->in, tmp, got);
    }
}

/* Common part of read_line / read_until: bytes through the first delim. */
static int take_until(struct net_bclient *c, int delim, char *buf, size_t size, size_t *len,
                      int timeout_ms)
{
    int64_t deadline;
    int r;

    if (len)
        *len = 0;
    if (!c || !buf || size == 0 || timeout_ms <= 0)
        return NP_ERR_INVAL;
    buf[0] = '\0';
    deadline = np_mono_ms() + timeout_ms;
    for (;;) {
        const char *p = np_buf_ptr(c->in);
        size_t have = np_buf_len(c->in);
        const char *hit = have ? memchr(p, delim, have) : NULL;
        if (hit) {
            size_t n = (size_t)(hit - p) + 1;
            if (n > size - 1)
                return NP_ERR_TOOBIG;
            memcpy(buf, p, n);
            buf[n] = '\0';
            if (len)
                *len = n;
            np_buf_consume(c->in, n);
            return 0;
        }
        if (have >= size - 1)
            return NP_ERR_TOOBIG;
        if ((r = fill(c, deadline)) != 0)
            return r;
    }
}

int net_bclient_read_until(struct net_bclient *c, int delim, char *buf, size_t size, size_t *len,
                           int timeout_ms)
{
    return take_until(c, delim, buf, size, len, timeout_ms);
}

int net_bclient_read_line(struct net_bclient *c, char *buf, size_t size, size_t *len,
                          int timeout_ms)
{
    size_t n = 0;
    int r;

    /* one extra byte: the '\n' is not part of the returned line */
    if ((r = take_until(c, '\n', buf, size, &n, timeout_ms)) != 0) {
        if (len)
            *len = 0;
        return r;
    }
    n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (len)
        *len = n;
    return 0;
}

int net_bclient_read_some(struct net_bclient *c, void *buf, size_t size, size_t *got,
                          int timeout_ms)
{
    size_t n;
    int r;

    if (got)
        *got = 0;
    if (!c || !buf || size == 0 || !got || timeout_ms <= 0)
        return NP_ERR_INVAL;
    if (np_buf_len(c->in) == 0 && (r = fill(c, np_mono_ms() + timeout_ms)) != 0)
        return r;
    n = np_buf_len(c->in) < size ? np_buf_len(c->in) : size;
    memcpy(buf, np_buf_ptr(c->in), n);
    np_buf_consume(c->in, n);
    *got = n;
    return 0;
}

void net_bclient_close(struct net_bclient *c)
{
    if (!c)
        return;
    if (c->ssl) {
        net_tls_ssl_shutdown(c->ssl);
        net_tls_ssl_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    net_tls_ctx_free(c->own_ctx);
    np_buf_free(c->in);
    np_free(c);
}
