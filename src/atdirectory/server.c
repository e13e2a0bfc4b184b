/*
 * src/atdirectory/server.c - the directory server: TLS listener, one
 * net_conn per client, one lookup per request line (atprotocol.md 2.5).
 *
 * Per connection: "@" right after the handshake; each line is answered
 * with "host:port\r\n@" or "null\r\n@" in one write; "@exit" closes; blank
 * lines get "null" without counting. Like the official root, not-found
 * answers are rationed per connection to slow down enumeration: the second
 * one (and later ones) comes after notfound_delay_ms, and the
 * notfound_limit-th closes the connection after that delay without an
 * answer. Lines are bounded at DIR_MAX_LINE bytes (longer: closed).
 *
 * Everything runs on one libevent loop. SIGTERM/SIGINT stop the loop; every
 * connection, timer and the listener are then freed and the loop is
 * checked to be empty before the base is freed.
 */
#include "atdirectory.h"
#include "request.h"
#include "table.h"

#include "net/conn.h"
#include "net/listener.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

/* At most one "connection limit" warning per this many ms. */
#define LIMIT_LOG_EVERY_MS 5000

struct client;

struct server {
    const struct dir_opts *o;
    struct event_base *base;
    struct net_tls_ctx *tls;
    struct net_listener *lst;
    struct event *sigterm, *sigint;
    struct dir_table *table;
    struct client *clients; /* doubly linked, all live connections */
    int n_clients;
    int64_t last_limit_log; /* np_mono_ms of the last limit warning */
    uint64_t refused;       /* refusals since that warning */
    uint64_t n_conns, n_lookups, n_found;
};

struct client {
    struct server *srv;
    struct net_conn *conn;
    struct client *prev, *next;
    struct event *delay; /* pending rationed not-found answer */
    int notfound;        /* not-found answers so far */
    int close_after;     /* the delayed action closes instead of answering */
};

static void client_free(struct client *cl)
{
    struct server *s = cl->srv;

    if (cl->prev)
        cl->prev->next = cl->next;
    else
        s->clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    s->n_clients--;
    if (cl->delay)
        event_free(cl->delay);
    np_free(cl);
}

static void send_answer(struct client *cl, const char *addr)
{
    char ans[DIR_ANSWER_BUF];
    int n = dir_answer_format(addr, ans, sizeof(ans)), r;

    if (n < 0 || (r = net_conn_write(cl->conn, ans, (size_t)n)) != 0) {
        np_warn("%s: cannot answer, closing", net_conn_peer(cl->conn));
        net_conn_close(cl->conn);
    }
}

static void delay_cb(evutil_socket_t fd, short what, void *arg)
{
    struct client *cl = arg;

    (void)fd;
    (void)what;
    if (cl->close_after) {
        np_debug("%s: %d not-found lookups, closing", net_conn_peer(cl->conn), cl->notfound);
        net_conn_close(cl->conn);
        return;
    }
    send_answer(cl, NULL);
    net_conn_resume(cl->conn);
}

/* A lookup that found nothing (or was not an atSign). */
static void not_found(struct client *cl)
{
    const struct dir_opts *o = cl->srv->o;
    struct timeval tv = {o->notfound_delay_ms / 1000, (o->notfound_delay_ms % 1000) * 1000};

    cl->notfound++;
    cl->close_after = o->notfound_limit > 0 && cl->notfound >= o->notfound_limit;
    if (cl->notfound < 2 || o->notfound_delay_ms <= 0) {
        if (cl->close_after) {
            np_debug("%s: %d not-found lookups, closing", net_conn_peer(cl->conn), cl->notfound);
            net_conn_close(cl->conn);
        } else {
            send_answer(cl, NULL);
        }
        return;
    }
    /* ration: hold this connection's input until the delayed answer */
    net_conn_pause(cl->conn);
    evtimer_add(cl->delay, &tv);
}

static void on_connected(struct net_conn *c, void *data)
{
    (void)data;
    np_debug("%s: connected", net_conn_peer(c));
    net_conn_write(c, "@", 1);
}

static void on_line(struct net_conn *c, char *line, size_t len, void *data)
{
    struct client *cl = data;
    struct server *s = cl->srv;
    char name[DIR_NAME_BUF], addr[DIR_ADDR_BUF], esc[96];
    int r;

    switch (dir_request_parse(line, len, name)) {
    case DIR_REQ_EMPTY:
        send_answer(cl, NULL);
        break;
    case DIR_REQ_EXIT:
        np_debug("%s: @exit", net_conn_peer(c));
        net_conn_close(c);
        break;
    case DIR_REQ_LOOKUP:
        s->n_lookups++;
        r = dir_table_lookup(s->table, name, addr, sizeof(addr));
        if (r == 0) {
            s->n_found++;
            np_debug("%s: lookup %s -> %s", net_conn_peer(c),
                     np_log_escape(esc, sizeof(esc), name, strlen(name)), addr);
            send_answer(cl, addr);
        } else if (r == NP_ERR_NOTFOUND) {
            np_debug("%s: lookup %s -> null", net_conn_peer(c),
                     np_log_escape(esc, sizeof(esc), name, strlen(name)));
            not_found(cl);
        } else {
            np_error("%s: lookup failed (%s); closing", net_conn_peer(c), np_strerror(r));
            net_conn_close(c);
        }
        break;
    default:
        s->n_lookups++;
        np_debug("%s: not an atSign: \"%s\" -> null", net_conn_peer(c),
                 np_log_escape(esc, sizeof(esc), line, len));
        not_found(cl);
        break;
    }
}

static void on_close(struct net_conn *c, int reason, void *data)
{
    struct client *cl = data;

    if (reason == NP_ERR_TOOBIG)
        np_info("%s: request line over %d bytes; closed", net_conn_peer(c), DIR_MAX_LINE);
    else if (reason == NP_ERR_TIMEOUT)
        np_debug("%s: idle or handshake timeout; closed", net_conn_peer(c));
    else if (reason == NP_ERR_TLS)
        np_debug("%s: TLS handshake failed", net_conn_peer(c));
    else
        np_debug("%s: closed (%s)", net_conn_peer(c), reason ? np_strerror(reason) : "by us");
    client_free(cl);
}

static void on_accept(int fd, const struct sockaddr *sa, int salen, void *data)
{
    static const struct net_conn_cbs cbs = {
        .on_connected = on_connected, .on_line = on_line, .on_close = on_close};
    struct server *s = data;
    struct net_conn_opts co = {
        .max_line = DIR_MAX_LINE,
        .max_output = 64 * 1024,
        .open_timeout_ms = DIR_HANDSHAKE_TIMEOUT_MS,
        .idle_timeout_ms = s->o->idle_timeout_s * 1000,
        .write_timeout_ms = 30000,
    };
    struct client *cl;
    char peer[NET_ADDR_STR_MAX];
    int r;

    if (s->n_clients >= s->o->max_conns) {
        int64_t now = np_mono_ms();
        s->refused++;
        if (now - s->last_limit_log >= LIMIT_LOG_EVERY_MS || s->last_limit_log == 0) {
            np_warn("connection limit (%d) reached: refused %s (%" PRIu64 " refused since last "
                    "warning)",
                    s->o->max_conns, net_tcp_addr_str(sa, (socklen_t)salen, peer, sizeof(peer)),
                    s->refused);
            s->last_limit_log = now;
            s->refused = 0;
        }
        close(fd);
        return;
    }
    if ((cl = np_calloc(1, sizeof(*cl))) == NULL ||
        (cl->delay = evtimer_new(s->base, delay_cb, cl)) == NULL) {
        np_error("out of memory; refusing a connection");
        np_free(cl);
        close(fd);
        return;
    }
    cl->srv = s;
    if ((r = net_conn_accept(s->base, fd, s->tls, &co, &cbs, cl, &cl->conn)) != 0) {
        np_warn("cannot set up a connection: %s", np_strerror(r));
        event_free(cl->delay);
        np_free(cl);
        return;
    }
    cl->next = s->clients;
    if (s->clients)
        s->clients->prev = cl;
    s->clients = cl;
    s->n_clients++;
    s->n_conns++;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *s = arg;

    (void)what;
    np_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(s->base);
}

/* Free everything the loop still holds; the base must then be empty. */
static void shutdown_all(struct server *s)
{
    while (s->clients) {
        struct client *cl = s->clients;
        net_conn_free(cl->conn); /* no on_close */
        client_free(cl);
    }
    net_listener_free(s->lst);
    s->lst = NULL;
    if (s->sigterm)
        event_free(s->sigterm);
    if (s->sigint)
        event_free(s->sigint);
    s->sigterm = s->sigint = NULL;
    if (s->base) {
        /* let libevent run the finalizers of the freed bufferevents */
        event_base_loop(s->base, EVLOOP_NONBLOCK);
        if (event_base_get_num_events(s->base, EVENT_BASE_COUNT_ADDED | EVENT_BASE_COUNT_ACTIVE) !=
            0)
            np_warn("event loop not empty at shutdown");
    }
}

int dir_server_run(const struct dir_opts *o)
{
    struct net_tls_server_opts to = {.cert_file = o->cert_file, .key_file = o->key_file};
    struct server s;
    int64_t rows = 0;
    int r = NP_ERR_INTERNAL;

    memset(&s, 0, sizeof(s));
    s.o = o;
    net_ignore_sigpipe();
    if ((r = dir_table_open(o->db_path, DIR_TABLE_CREATE, &s.table)) != 0 ||
        (r = dir_table_count(s.table, &rows)) != 0) {
        np_error("cannot use database %s", o->db_path);
        goto out;
    }
    if ((r = net_tls_server_ctx_new(&to, &s.tls)) != 0) {
        np_error("cannot set up TLS with %s and %s", o->cert_file, o->key_file);
        goto out;
    }
    if ((s.base = event_base_new()) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = net_listener_new(s.base, o->bind, o->port, on_accept, &s, &s.lst)) != 0)
        goto out;
    if ((s.sigterm = evsignal_new(s.base, SIGTERM, on_signal, &s)) == NULL ||
        (s.sigint = evsignal_new(s.base, SIGINT, on_signal, &s)) == NULL ||
        event_add(s.sigterm, NULL) != 0 || event_add(s.sigint, NULL) != 0) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    np_info("listening on %s (TLS), %" PRId64 " atSigns in %s", net_listener_addr(s.lst), rows,
            o->db_path);
    if (event_base_dispatch(s.base) < 0) {
        np_error("event loop failed");
        r = NP_ERR_INTERNAL;
        goto out;
    }
    np_info("served %" PRIu64 " connections, %" PRIu64 " lookups (%" PRIu64 " found)", s.n_conns,
            s.n_lookups, s.n_found);
    r = 0;
out:
    shutdown_all(&s);
    if (s.base)
        event_base_free(s.base);
    net_tls_ctx_free(s.tls);
    dir_table_close(s.table);
    return r;
}
