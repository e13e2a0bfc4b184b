/*
 * lib/np/client_stdio.c - --stdio support: the stdin/stdout <-> socketpair
 * pump (client_stdio.h), and np_client__bridge_adopt, which makes a client
 * bridge take one already connected socket instead of accepting from its
 * listener. The adopt step uses the bridge's layer-private interface
 * (bridge_int.h) exactly as the bridge's own accept callback does.
 */
#include "np/client_stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "np/bridge_int.h"
#include "np/client_int.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

int np_client__bridge_adopt(struct np_bridge *b, int fd)
{
    struct np_bridge_keys k;
    int r;

    if (!b || b->side != NP_BRIDGE_CLIENT || b->finished) {
        if (fd >= 0)
            close(fd);
        return NP_ERR_INVAL;
    }
    /* No connection can have been accepted yet: the loop has not run since
     * np_bridge_new bound the listener. Closing it also drops any connection
     * waiting in its backlog, so only our socket is bridged. */
    if (b->listener) {
        evconnlistener_free(b->listener);
        b->listener = NULL;
    }
    if (!b->multi)
        k = b->keys;
    else if ((r = np_bridge_keys_random(&k, b->keys.mode)) != 0) {
        close(fd);
        return r;
    }
    r = np_bridge__pair_add(b, fd, &k, NULL); /* takes fd in every case */
    np_memzero(&k, sizeof(k));
    return r;
}

/* ------------------------------------------------------------ stdio pump */

struct np_stdio_pipe {
    struct event_base *base;
    struct bufferevent *in, *out, *sock;
    int in_fd, out_fd, in_flags, out_flags;
    int in_eof, sock_eof, sock_shut, finished;
    uint64_t to_sock, to_out;
    np_stdio_done_fn done;
    void *data;
    struct event *done_ev;
    int err;
};

static void finish(struct np_stdio_pipe *p, int err)
{
    if (p->finished)
        return;
    p->finished = 1;
    p->err = err;
    if (p->in)
        bufferevent_disable(p->in, EV_READ);
    if (p->sock)
        bufferevent_disable(p->sock, EV_READ);
    event_active(p->done_ev, EV_TIMEOUT, 0);
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_stdio_pipe *p = arg;

    (void)fd;
    (void)what;
    p->done(p, p->err, p->data); /* may free p */
}

/* Move src's input to dst's output; pause src when dst holds NP_STDIO_HWM. */
static void move(struct bufferevent *src, struct bufferevent *dst, uint64_t *count)
{
    struct evbuffer *in = bufferevent_get_input(src);
    struct evbuffer *out = bufferevent_get_output(dst);
    size_t n = evbuffer_get_length(in);

    if (n == 0)
        return;
    if (evbuffer_add_buffer(out, in) == 0)
        *count += n;
    if (evbuffer_get_length(out) >= NP_STDIO_HWM) {
        bufferevent_disable(src, EV_READ);
        bufferevent_setwatermark(dst, EV_WRITE, NP_STDIO_HWM / 2, 0);
    }
}

static void shut_sock_if_drained(struct np_stdio_pipe *p)
{
    if (p->in_eof && !p->sock_shut && evbuffer_get_length(bufferevent_get_output(p->sock)) == 0) {
        (void)shutdown(bufferevent_getfd(p->sock), SHUT_WR);
        p->sock_shut = 1;
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct np_stdio_pipe *p = arg;

    if (bev == p->in)
        move(p->in, p->sock, &p->to_sock);
    else
        move(p->sock, p->out, &p->to_out);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct np_stdio_pipe *p = arg;

    /* Below the low-watermark again: resume the paused source. */
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    if (bev == p->sock) {
        if (!p->in_eof && !p->finished)
            bufferevent_enable(p->in, EV_READ);
        shut_sock_if_drained(p);
    } else {
        if (!p->sock_eof && !p->finished)
            bufferevent_enable(p->sock, EV_READ);
        if (p->sock_eof && evbuffer_get_length(bufferevent_get_output(p->out)) == 0)
            finish(p, 0);
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct np_stdio_pipe *p = arg;

    if (bev == p->out) { /* nobody reads our output any more */
        finish(p, NP_ERR_EOF);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        finish(p, NP_ERR_IO);
        return;
    }
    if (!(what & BEV_EVENT_EOF))
        return;
    if (bev == p->in) {
        p->in_eof = 1;
        shut_sock_if_drained(p);
    } else {
        p->sock_eof = 1;
        if (evbuffer_get_length(bufferevent_get_output(p->out)) == 0)
            finish(p, 0);
    }
}

static int nonblock(int fd, int *old)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0)
        return NP_ERR_IO;
    *old = fl;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 ? 0 : NP_ERR_IO;
}

int np_stdio_pipe_new(struct event_base *base, int in_fd, int out_fd, np_stdio_done_fn done,
                      void *data, int *peer_fd, struct np_stdio_pipe **out)
{
    struct np_stdio_pipe *p = NULL;
    int sv[2] = {-1, -1}, r = NP_ERR_INTERNAL;

    if (!out || !peer_fd)
        return NP_ERR_INVAL;
    *out = NULL;
    *peer_fd = -1;
    if (!base || in_fd < 0 || out_fd < 0 || !done)
        return NP_ERR_INVAL;
    if ((p = np_calloc(1, sizeof(*p))) == NULL)
        return NP_ERR_NOMEM;
    p->base = base;
    p->in_fd = p->out_fd = -1;
    p->done = done;
    p->data = data;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        r = NP_ERR_IO;
        goto out;
    }
    if ((r = nonblock(in_fd, &p->in_flags)) != 0)
        goto out;
    p->in_fd = in_fd;
    if ((r = nonblock(out_fd, &p->out_flags)) != 0)
        goto out;
    p->out_fd = out_fd;
    if (evutil_make_socket_nonblocking(sv[0]) != 0) {
        r = NP_ERR_IO;
        goto out;
    }
    r = NP_ERR_NOMEM;
    if ((p->done_ev = event_new(base, -1, 0, done_cb, p)) == NULL ||
        (p->sock = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE)) == NULL)
        goto out;
    sv[0] = -1;
    if ((p->in = bufferevent_socket_new(base, in_fd, 0)) == NULL ||
        (p->out = bufferevent_socket_new(base, out_fd, 0)) == NULL)
        goto out;
    bufferevent_setcb(p->in, read_cb, NULL, event_cb, p);
    bufferevent_setcb(p->sock, read_cb, write_cb, event_cb, p);
    bufferevent_setcb(p->out, NULL, write_cb, event_cb, p);
    bufferevent_setwatermark(p->in, EV_READ, 0, NP_STDIO_HWM);
    bufferevent_setwatermark(p->sock, EV_READ, 0, NP_STDIO_HWM);
    /* epoll refuses regular files: tell the user instead of failing later */
    if (bufferevent_enable(p->in, EV_READ) != 0 || bufferevent_enable(p->sock, EV_READ) != 0 ||
        bufferevent_enable(p->out, EV_WRITE) != 0 || bufferevent_enable(p->sock, EV_WRITE) != 0) {
        r = NP_ERR_UNSUPPORTED;
        goto out;
    }
    *peer_fd = sv[1];
    sv[1] = -1;
    *out = p;
    p = NULL;
    r = 0;
out:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    np_stdio_pipe_free(p);
    return r;
}

void np_stdio_pipe_counts(const struct np_stdio_pipe *p, uint64_t *to_sock, uint64_t *to_out)
{
    if (to_sock)
        *to_sock = p ? p->to_sock : 0;
    if (to_out)
        *to_out = p ? p->to_out : 0;
}

void np_stdio_pipe_free(struct np_stdio_pipe *p)
{
    if (!p)
        return;
    if (p->in)
        bufferevent_free(p->in);
    if (p->out)
        bufferevent_free(p->out);
    if (p->sock)
        bufferevent_free(p->sock);
    if (p->done_ev)
        event_free(p->done_ev);
    if (p->in_fd >= 0)
        (void)fcntl(p->in_fd, F_SETFL, p->in_flags);
    if (p->out_fd >= 0)
        (void)fcntl(p->out_fd, F_SETFL, p->out_flags);
    np_free(p);
}
