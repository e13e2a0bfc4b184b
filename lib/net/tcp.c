/*
 * lib/net/tcp.c - plain TCP helpers (see tcp.h). Every socket is created
 * non-blocking and close-on-exec.
 */
#include "net/tcp.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int new_socket(int family)
{
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
}

/* Bind + listen one address; returns the fd or -1 (errno kept). */
static int bind_listen(const struct sockaddr *sa, socklen_t len, int backlog, int v6only)
{
    int fd, on = 1, saved;

    if ((fd = new_socket(sa->sa_family)) < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0)
        goto fail;
    if (sa->sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0)
        goto fail;
    if (bind(fd, sa, len) != 0 || listen(fd, backlog > 0 ? backlog : 511) != 0)
        goto fail;
    return fd;
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int net_tcp_listen(const char *host, int port, int backlog, int *fd)
{
    struct addrinfo hints, *ai = NULL;
    char portstr[8];
    int s = -1, gai, saved;

    *fd = -1;
    if (port < 0 || port > 65535)
        return NP_ERR_INVAL;
    if (!host || !*host || strcmp(host, "*") == 0) {
        struct sockaddr_in6 a6;
        struct sockaddr_in a4;
        memset(&a6, 0, sizeof(a6));
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_any;
        a6.sin6_port = htons((uint16_t)port);
        if ((s = bind_listen((struct sockaddr *)&a6, sizeof(a6), backlog, 0)) >= 0)
            goto done;
        if (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL)
            return NP_ERR_IO; /* errno kept for the caller's message */
        memset(&a4, 0, sizeof(a4));
        a4.sin_family = AF_INET;
        a4.sin_addr.s_addr = htonl(INADDR_ANY);
        a4.sin_port = htons((uint16_t)port);
        if ((s = bind_listen((struct sockaddr *)&a4, sizeof(a4), backlog, 0)) >= 0)
            goto done;
        return NP_ERR_IO;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_PASSIVE;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if ((gai = getaddrinfo(host, portstr, &hints, &ai)) != 0 || !ai) {
        np_debug("listen: cannot resolve %s: %s", host, gai_strerror(gai));
        return NP_ERR_NOTFOUND;
    }
    s = bind_listen(ai->ai_addr, ai->ai_addrlen, backlog, 1);
    saved = errno;
    freeaddrinfo(ai);
    errno = saved;
    if (s < 0)
        return NP_ERR_IO;
done:
    *fd = s;
    return 0;
}

int net_tcp_connect_start(const struct sockaddr *sa, socklen_t len, int *fd)
{
    int s;

    *fd = -1;
    if (!sa)
        return NP_ERR_INVAL;
    if ((s = new_socket(sa->sa_family)) < 0)
        return NP_ERR_IO;
    if (connect(s, sa, len) == 0) {
        *fd = s;
        return 0;
    }
    if (errno == EINPROGRESS || errno == EINTR) {
        *fd = s;
        return NP_AGAIN;
    }
    np_debug("connect: %s", strerror(errno));
    close(s);
    return NP_ERR_CONNECT;
}

int net_tcp_connect_numeric(const char *host, int port, int *fd)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;

    *fd = -1;
    if (!host || port < 1 || port > 65535)
        return NP_ERR_INVAL;
    memset(&a4, 0, sizeof(a4));
    memset(&a6, 0, sizeof(a6));
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)port);
        return net_tcp_connect_start((struct sockaddr *)&a4, sizeof(a4), fd);
    }
    if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        return net_tcp_connect_start((struct sockaddr *)&a6, sizeof(a6), fd);
    }
    return NP_ERR_INVAL;
}

int net_tcp_connect_finish(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return NP_ERR_CONNECT;
    if (err != 0) {
        np_debug("connect: %s", strerror(err));
        return NP_ERR_CONNECT;
    }
    return 0;
}

int net_tcp_set_nodelay(int fd, int on)
{
    on = on ? 1 : 0;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0 ? 0 : NP_ERR_IO;
}

int net_tcp_set_keepalive(int fd, int idle_s, int intvl_s, int count)
{
    int on = 1;

    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0)
        return NP_ERR_IO;
    if (idle_s > 0 && setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof(idle_s)) != 0)
        return NP_ERR_IO;
    if (intvl_s > 0 && setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl_s, sizeof(intvl_s)) != 0)
        return NP_ERR_IO;
    if (count > 0 && setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count)) != 0)
        return NP_ERR_IO;
    return 0;
}

/* NP_TCP_KEEPALIVE parsed once: idle, interval, count; idle 0 = off. */
static int ka_loaded, ka_idle = NET_TCP_KEEPIDLE_S, ka_intvl = NET_TCP_KEEPINTVL_S,
                      ka_cnt = NET_TCP_KEEPCNT;

static void ka_load(void)
{
    const char *e = getenv("NP_TCP_KEEPALIVE"), *p;
    int64_t v[3];
    char esc[96];
    int n = 0;

    ka_loaded = 1;
    ka_idle = NET_TCP_KEEPIDLE_S;
    ka_intvl = NET_TCP_KEEPINTVL_S;
    ka_cnt = NET_TCP_KEEPCNT;
    if (!e || !*e)
        return;
    if (strcmp(e, "0") == 0) {
        ka_idle = 0;
        return;
    }
    for (p = e; n < 3; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (np_parse_i64n(p, len, 1, n < 2 ? 3600 : NET_TCP_KEEPCNT_MAX, &v[n]) != 0 ||
            (n < 2) != (comma != NULL))
            goto bad;
        p = comma ? comma + 1 : p + len;
    }
    ka_idle = (int)v[0];
    ka_intvl = (int)v[1];
    ka_cnt = (int)v[2];
    return;
bad:
    np_warn("NP_TCP_KEEPALIVE=\"%s\" ignored: want IDLE,INTERVAL,COUNT (1..3600, 1..3600, "
            "1..127) or 0",
            np_log_escape(esc, sizeof(esc), e, strlen(e)));
}

void net_tcp__keepalive_reload(void)
{
    ka_loaded = 0;
}

int net_tcp_dead_peer_timeout_s(void)
{
    if (!ka_loaded)
        ka_load();
    return ka_idle == 0 ? 0 : ka_idle + ka_intvl * ka_cnt;
}

int net_tcp_set_dead_peer_detection(int fd)
{
    int user_ms;

    if (!ka_loaded)
        ka_load();
    if (ka_idle == 0)
        return 0;
    if (net_tcp_set_keepalive(fd, ka_idle, ka_intvl, ka_cnt) != 0)
        return NP_ERR_IO;
    /* the kernel takes an int of ms: the largest total (3600 + 3600 * 127 s)
     * fits */
    _Static_assert((3600 + 3600LL * NET_TCP_KEEPCNT_MAX) * 1000 <= INT_MAX, "user timeout");
    user_ms = (ka_idle + ka_intvl * ka_cnt) * 1000;
    if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof(user_ms)) != 0)
        return NP_ERR_IO;
    return 0;
}

int net_tcp_local_port(int fd, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    *port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return NP_ERR_IO;
    if (ss.ss_family == AF_INET)
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        return NP_ERR_UNSUPPORTED;
    return 0;
}

char *net_tcp_addr_str(const struct sockaddr *sa, socklen_t len, char *dst, size_t size)
{
    char ip[INET6_ADDRSTRLEN];

    if (size == 0)
        return dst;
    snprintf(dst, size, "?");
    if (!sa)
        return dst;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        if (inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)))
            snprintf(dst, size, "%s:%d", ip, ntohs(a->sin_port));
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        if (inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip)))
            snprintf(dst, size, "[%s]:%d", ip, ntohs(a->sin6_port));
    }
    return dst;
}

char *net_tcp_peer_str(int fd, char *dst, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
        if (size)
            snprintf(dst, size, "?");
        return dst;
    }
    return net_tcp_addr_str((struct sockaddr *)&ss, len, dst, size);
}

void net_ignore_sigpipe(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
}
