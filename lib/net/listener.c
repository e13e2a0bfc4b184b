/*
 * lib/net/listener.c - evconnlistener on a socket made by net_tcp_listen,
 * with a back-off timer so that accept errors (EMFILE, ENFILE, ENOBUFS)
 * cannot turn into a busy loop.
 */
#include "net/listener.h"
#include "net/tcp.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#define ACCEPT_BACKOFF_MS 1000

struct net_listener {
    struct evconnlistener *lev;
    struct event *backoff; /* re-enables accepting after an error */
    net_accept_fn cb;
    void *data;
    int port;
    int paused;
    char addr[NET_ADDR_STR_MAX];
};

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct net_listener *l = arg;

    (void)lev;
    l->cb(fd, sa, salen, l->data);
}

static void error_cb(struct evconnlistener *lev, void *arg)
{
    struct net_listener *l = arg;
    struct timeval tv = {ACCEPT_BACKOFF_MS / 1000, (ACCEPT_BACKOFF_MS % 1000) * 1000};
    int err = EVUTIL_SOCKET_ERROR();

    np_warn("accept on %s failed: %s; pausing %d ms", l->addr, evutil_socket_error_to_string(err),
            ACCEPT_BACKOFF_MS);
    evconnlistener_disable(lev);
    evtimer_add(l->backoff, &tv);
}

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_listener *l = arg;

    (void)fd;
    (void)what;
    if (!l->paused)
        evconnlistener_enable(l->lev);
}

int net_listener_new(struct event_base *base, const char *host, int port, net_accept_fn cb,
                     void *data, struct net_listener **out)
{
    struct net_listener *l = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = -1, r = NP_ERR_INTERNAL;

    if (out)
        *out = NULL;
    if (!base || !cb || !out || port < 0 || port > 65535)
        return NP_ERR_INVAL;
    if ((l = np_calloc(1, sizeof(*l))) == NULL)
        return NP_ERR_NOMEM;
    l->cb = cb;
    l->data = data;
    if ((r = net_tcp_listen(host, port, 0, &fd)) != 0) {
        np_error("cannot listen on %s:%d: %s", host && *host ? host : "*", port,
                 r == NP_ERR_IO ? strerror(errno) : np_strerror(r));
        goto out;
    }
    if ((r = net_tcp_local_port(fd, &l->port)) != 0)
        goto out;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        net_tcp_addr_str((struct sockaddr *)&ss, sl, l->addr, sizeof(l->addr));
    if ((l->backoff = evtimer_new(base, backoff_cb, l)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    /* backlog 0: the socket is already listening */
    l->lev = evconnlistener_new(base, accept_cb, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                0, fd);
    if (!l->lev) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    fd = -1; /* owned by the evconnlistener now */
    evconnlistener_set_error_cb(l->lev, error_cb);
    *out = l;
    l = NULL;
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    net_listener_free(l);
    return r;
}

int net_listener_port(const struct net_listener *l)
{
    return l->port;
}

const char *net_listener_addr(const struct net_listener *l)
{
    return l->addr;
}

void net_listener_pause(struct net_listener *l)
{
    if (!l || l->paused)
        return;
    l->paused = 1;
    evconnlistener_disable(l->lev);
}

void net_listener_resume(struct net_listener *l)
{
    if (!l || !l->paused)
        return;
    l->paused = 0;
    if (!evtimer_pending(l->backoff, NULL))
        evconnlistener_enable(l->lev);
}

void net_listener_free(struct net_listener *l)
{
    if (!l)
        return;
    if (l->lev)
        evconnlistener_free(l->lev);
    if (l->backoff)
        event_free(l->backoff);
    np_free(l);
}
