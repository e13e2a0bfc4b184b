/*
 * src/srvd/pump.c - the data path of a socket pair: bytes move unchanged in
 * both directions (noports-wire.md 7.2), by splice(2) through one pipe per
 * direction, so they never enter user space.
 *
 * Each direction is a small state machine driven by libevent read/write
 * events on the raw fds (level-triggered). Invariant that gives back-pressure
 * and a memory bound: a direction reads from its source only when nothing is
 * pending for its destination (pipe empty, buffers flushed). So at most one
 * pipe (or one rw_buf) per direction is in flight; when the destination
 * cannot take it, the source is not read until the destination is writable.
 *
 * A direction holds its pipe only while it moves bytes: the pipe is taken
 * when the source has input and given back, empty, when the source has no
 * more for now, to a small pool of the relay (RELAY_PIPE_POOL) that the next
 * busy direction takes it from. So an idle pair holds only its two sockets
 * (10,000 idle pairs: 20,000 descriptors, not 60,000), and a busy one costs
 * no pipe2/close calls.
 *
 * Where splice does not apply (EINVAL) or --force-rw is set, the same loop
 * uses recv/send with a bounded buffer. Bytes a socket sent after its auth
 * line are forwarded first. A FIN is forwarded as shutdown(SHUT_WR) once the
 * direction is drained; the pair ends when both directions are done or on
 * any error.
 */
#include "srvd_int.h"
#include "net/tcp.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Work done per callback before yielding to other sockets: at most this
 * many splice rounds, and at most PUMP_BUDGET bytes written. */
#define PUMP_ROUNDS 16
#define PUMP_BUDGET (1024 * 1024)
/* New pipes are enlarged to RELAY_PIPE_SIZE (F_SETPIPE_SZ; the default is
 * 64 KiB) so that one splice(2) moves all a socket has queued: about half
 * the CPU per byte (bench/relay.sh). Only while fewer than RELAY_BIG_PIPES
 * pipes exist, because the kernel accounts a pipe's full size to the user
 * (fs.pipe-user-pages-soft, 64 MiB by default, beyond which new pipes get
 * 8 KiB); failure keeps the default size. */

static size_t pipe_capacity(int fd)
{
    int n = fcntl(fd, F_GETPIPE_SZ);
    return n > 0 ? (size_t)n : 65536;
}

/* Give the direction's pipe back: to the pool when it is empty and the
 * pool has room, else closed. */
static void pipe_release(struct relay *r, struct pump_dir *d)
{
    if (d->pipe[0] < 0)
        return;
    if (d->in_pipe == 0 && r->n_pipe_pool < RELAY_PIPE_POOL) {
        r->pipe_pool[r->n_pipe_pool][0] = d->pipe[0];
        r->pipe_pool[r->n_pipe_pool][1] = d->pipe[1];
        r->n_pipe_pool++;
    } else {
        close(d->pipe[0]);
        close(d->pipe[1]);
        r->n_pipes--;
    }
    d->pipe[0] = d->pipe[1] = -1;
    d->in_pipe = 0;
}

void pump_pool_free(struct relay *r)
{
    while (r->n_pipe_pool > 0) {
        r->n_pipe_pool--;
        close(r->pipe_pool[r->n_pipe_pool][0]);
        close(r->pipe_pool[r->n_pipe_pool][1]);
        r->n_pipes--;
    }
}

static void dir_free(struct relay *r, struct pump_dir *d)
{
    pipe_release(r, d);
    np_free(d->pre);
    np_free(d->buf);
    d->pre = d->buf = NULL;
}

void pair_close(struct pair *p, const char *why)
{
    struct session *s = p->s;
    struct relay *r = s->r;

    np_debug("srvd: session %s: pair %llu closed: %s", s->sid, (unsigned long long)p->id, why);
    for (int i = 0; i < 2; i++) {
        if (p->ev_rd[i])
            event_free(p->ev_rd[i]);
        if (p->ev_wr[i])
            event_free(p->ev_wr[i]);
        if (p->fd[i] >= 0)
            close(p->fd[i]);
        dir_free(r, &p->d[i]);
    }
    if (p->prev)
        p->prev->next = p->next;
    else
        s->pairs = p->next;
    if (p->next)
        p->next->prev = p->prev;
    s->n_pairs--;
    s->n_conns -= 2;
    r->st.pairs_closed++;
    r->st.pairs_live--;
    np_free(p);
    session_pair_ended(s);
}

/* Switch a direction to recv/send. Anything already in the pipe is moved
 * into the buffer first (at most one pipe's worth). */
static int to_rw(struct relay *r, struct pump_dir *d)
{
    size_t cap = r->cfg.rw_buf;

    if (d->in_pipe > cap)
        cap = d->in_pipe;
    if (!d->buf && (d->buf = np_malloc(cap)) == NULL)
        return NP_ERR_NOMEM;
    d->buf_off = 0;
    d->buf_len = 0;
    while (d->in_pipe > 0) {
        ssize_t n = read(d->pipe[0], d->buf + d->buf_len, d->in_pipe);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return NP_ERR_IO;
        }
        d->buf_len += (size_t)n;
        d->in_pipe -= (size_t)n;
    }
    close(d->pipe[0]);
    close(d->pipe[1]);
    r->n_pipes--;
    d->pipe[0] = d->pipe[1] = -1;
    d->use_rw = 1;
    r->st.splice_fallbacks++;
    return 0;
}

/* Give a direction that has input a splice pipe (from the pool, else a new
 * one); without one (out of descriptors) the direction uses recv/send. */
static int dir_pipe(struct session *s, struct pump_dir *d)
{
    struct relay *r = s->r;

    if (d->use_rw || d->pipe[0] >= 0)
        return 0;
    if (r->n_pipe_pool > 0) {
        r->n_pipe_pool--;
        d->pipe[0] = r->pipe_pool[r->n_pipe_pool][0];
        d->pipe[1] = r->pipe_pool[r->n_pipe_pool][1];
        return 0;
    }
    if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == 0) {
        if (r->n_pipes < RELAY_BIG_PIPES)
            fcntl(d->pipe[0], F_SETPIPE_SZ, RELAY_PIPE_SIZE);
        r->n_pipes++;
        if (r->st.pipe_capacity == 0)
            r->st.pipe_capacity = pipe_capacity(d->pipe[0]);
        return 0;
    }
    d->pipe[0] = d->pipe[1] = -1;
    np_warn("srvd: session %s: no pipe for splice (%s); using read/write", s->sid, strerror(errno));
    r->st.splice_fallbacks++;
    if (!d->buf && (d->buf = np_malloc(r->cfg.rw_buf)) == NULL)
        return NP_ERR_NOMEM;
    d->use_rw = 1;
    return 0;
}

static void note_in_flight(struct relay *r, const struct pump_dir *d)
{
    size_t f = d->in_pipe + (d->buf_len - d->buf_off);

    if (f > r->st.max_in_flight)
        r->st.max_in_flight = f;
}

/* Move what can be moved in direction i. Returns 1 if the pair was closed. */
static int pump(struct pair *p, int i)
{
    struct session *s = p->s;
    struct relay *r = s->r;
    struct pump_dir *d = &p->d[i];
    int src = p->fd[i], dst = p->fd[1 - i];
    int want_write = 0;
    size_t moved = 0; /* bytes written in this call (PUMP_BUDGET) */
    const char *err = NULL;

    for (int round = 0; round < PUMP_ROUNDS && moved < PUMP_BUDGET && !d->done; round++) {
        ssize_t n;

        if (d->pre_off < d->pre_len) {
            n = send(dst, d->pre + d->pre_off, d->pre_len - d->pre_off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                d->pre_off += (size_t)n;
                r->st.bytes_copied += (uint64_t)n;
                continue;
            }
        } else if (d->in_pipe > 0) {
            n = splice(d->pipe[0], NULL, dst, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n < 0 && errno == EINVAL) {
                if (to_rw(r, d) != 0) {
                    err = "splice fallback failed";
                    break;
                }
                continue;
            }
            if (n > 0) {
                d->in_pipe -= (size_t)n;
                moved += (size_t)n;
                r->st.bytes_spliced += (uint64_t)n;
                continue;
            }
        } else if (d->buf_off < d->buf_len) {
            n = send(dst, d->buf + d->buf_off, d->buf_len - d->buf_off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                d->buf_off += (size_t)n;
                moved += (size_t)n;
                r->st.bytes_copied += (uint64_t)n;
                if (d->buf_off == d->buf_len)
                    d->buf_off = d->buf_len = 0;
                continue;
            }
        } else if (d->eof) {
            /* drained: forward the FIN */
            shutdown(dst, SHUT_WR);
            d->done = 1;
            break;
        } else {
            /* nothing pending: read the source */
            if (dir_pipe(s, d) != 0) {
                err = "no memory for the read/write fallback";
                break;
            }
            if (!d->use_rw) {
                n = splice(src, NULL, d->pipe[1], NULL, r->st.pipe_capacity,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (n < 0 && errno == EINVAL) {
                    if (to_rw(r, d) != 0) {
                        err = "splice fallback failed";
                        break;
                    }
                    continue;
                }
                if (n > 0)
                    d->in_pipe += (size_t)n;
            } else {
                n = recv(src, d->buf, r->cfg.rw_buf, 0);
                if (n > 0) {
                    d->buf_off = 0;
                    d->buf_len = (size_t)n;
                }
            }
            if (n > 0) {
                note_in_flight(r, d);
                continue;
            }
            if (n == 0) {
                d->eof = 1;
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                want_write = 0;
                goto wait;
            }
            if (errno == EINTR)
                continue;
            err = "read";
            break;
        }
        /* a write to dst returned n <= 0 */
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            want_write = 1;
            goto wait;
        }
        if (n < 0 && errno == EINTR)
            continue;
        err = "write";
        break;
    }
    if (err) {
        char why[96];
        snprintf(why, sizeof(why), "%s error on side %c->%c: %s", err, i ? 'B' : 'A', i ? 'A' : 'B',
                 strerror(errno));
        pair_close(p, why);
        return 1;
    }
    if (d->done) {
        pipe_release(r, d); /* drained: nothing more will flow this way */
        event_del(p->ev_rd[i]);
        event_del(p->ev_wr[1 - i]);
        if (p->d[1 - i].done) {
            pair_close(p, "both directions finished");
            return 1;
        }
        return 0;
    }
    /* Budget used up while bytes still move: run again in the next loop
     * iteration, after the other ready sockets. The interest set stays as
     * it is (no epoll_ctl): it changes only when a call sees EAGAIN. */
    event_active(p->ev_rd[i], EV_READ, 1);
    return 0;
wait:
    if (want_write) {
        /* back-pressure: do not read the source until dst drains */
        event_del(p->ev_rd[i]);
        event_add(p->ev_wr[1 - i], NULL);
    } else {
        /* nothing in flight: the source has no more for now */
        pipe_release(r, d);
        event_del(p->ev_wr[1 - i]);
        event_add(p->ev_rd[i], NULL);
    }
    return 0;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct pair_end *e = arg;
    (void)fd;
    (void)what;

    pump(e->p, e->i);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct pair_end *e = arg;
    (void)fd;
    (void)what;

    pump(e->p, 1 - e->i); /* fd[i] is the destination of direction 1-i */
}

/* Copy a conn's bytes after its auth line into the direction's pre buffer. */
static int take_leftover(struct pump_dir *d, const struct conn *c)
{
    size_t start = c->line_len + 1;

    if (c->state != CONN_READY || !c->s->auth[c->side] || c->len <= start)
        return 0;
    if ((d->pre = np_malloc(c->len - start)) == NULL)
        return NP_ERR_NOMEM;
    memcpy(d->pre, c->buf + start, c->len - start);
    d->pre_len = c->len - start;
    return 0;
}

int pair_start(struct session *s, struct conn *a, struct conn *b)
{
    struct relay *r = s->r;
    struct pair *p;
    int one = 1;

    if ((p = np_calloc(1, sizeof(*p))) == NULL)
        return NP_ERR_NOMEM;
    p->s = s;
    p->id = ++r->next_id;
    p->fd[0] = p->fd[1] = -1;
    for (int i = 0; i < 2; i++) {
        struct pump_dir *d = &p->d[i];
        d->src = i;
        d->pipe[0] = d->pipe[1] = -1;
        if (take_leftover(d, i == 0 ? a : b) != 0)
            goto fail;
        if (r->cfg.force_rw) { /* else the pipe comes with the first input (dir_pipe) */
            d->use_rw = 1;
            if ((d->buf = np_malloc(r->cfg.rw_buf)) == NULL)
                goto fail;
        }
        p->end[i].p = p;
        p->end[i].i = i;
    }
    p->fd[0] = a->fd;
    p->fd[1] = b->fd;
    for (int i = 0; i < 2; i++) {
        if ((p->ev_rd[i] = event_new(r->base, p->fd[i], EV_READ | EV_PERSIST, on_readable,
                                     &p->end[i])) == NULL ||
            (p->ev_wr[i] = event_new(r->base, p->fd[i], EV_WRITE | EV_PERSIST, on_writable,
                                     &p->end[i])) == NULL)
            goto fail;
    }
    /* the fds belong to the pair now */
    a->fd = b->fd = -1;
    for (int i = 0; i < 2; i++) {
        setsockopt(p->fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        /* a side whose host vanished without a FIN must not hold the pair */
        net_tcp_set_dead_peer_detection(p->fd[i]);
    }
    p->next = s->pairs;
    if (s->pairs)
        s->pairs->prev = p;
    s->pairs = p;
    s->n_pairs++;
    s->n_conns += 2;
    r->st.pairs_created++;
    r->st.pairs_live++;
    np_debug("srvd: session %s: pair %llu joined (%s <-> %s)", s->sid, (unsigned long long)p->id,
             a->peer, b->peer);
    conn_free(a);
    conn_free(b);
    /* Start: a direction with leftover bytes first waits to write them. */
    for (int i = 0; i < 2; i++) {
        if (p->d[i].pre_len > 0)
            event_add(p->ev_wr[1 - i], NULL);
        else
            event_add(p->ev_rd[i], NULL);
    }
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (p->ev_rd[i])
            event_free(p->ev_rd[i]);
        if (p->ev_wr[i])
            event_free(p->ev_wr[i]);
        dir_free(r, &p->d[i]);
    }
    np_free(p);
    return NP_ERR_NOMEM;
}
