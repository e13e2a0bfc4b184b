/*
 * src/atserver/conn.h - one client connection of a hosted atSign: its
 * protocol state (authentication, from-challenge, error format), the input
 * framing with the limits of atprotocol.md 2.3 and style.md practice 11, and
 * every byte it writes (response = body "\n" prompt in one write, 2.2).
 *
 * Two kinds: network connections (net_conn over TLS, created by the
 * listener) and memory connections (no socket: input is fed with
 * conn_feed, output collects in a buffer) used by unit tests and fuzzers.
 *
 * Life cycle: a network connection is destroyed when net_conn reports its
 * end (on_close), never from inside a handler; conn_close() only starts a
 * graceful close. A memory connection is freed by its owner (conn_free).
 * Everything runs on the server's loop thread.
 */
#ifndef ATSERVER_CONN_H
#define ATSERVER_CONN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at/atsign.h"
#include "at/verb.h"

struct as_host;
struct net_conn;
struct np_buf;
struct event;
struct monitor;
struct as_conn;

enum as_auth_method { AS_AUTH_NONE = 0, AS_AUTH_CRAM, AS_AUTH_PKAM, AS_AUTH_POL };

/* Cancel hook of an asynchronous command (noop timer, remote request):
 * called when the connection goes away while the command is pending. */
typedef void (*conn_cancel_fn)(struct as_conn *c);

#define AS_SID_BUF 40

struct as_conn {
    struct as_host *host;
    struct as_conn *prev, *next; /* host->conns */
    struct net_conn *nc;         /* NULL: memory connection */
    uint64_t id;
    char tag[AT_ATSIGN_BUF + 96]; /* "@alice 127.0.0.1:5555 #3" for logs */
    struct np_buf *in;            /* received, not yet processed */
    struct np_buf *out;           /* response being built */
    struct np_buf *mem;           /* memory connection: everything written */
    /* protocol state */
    enum at_auth_state auth;
    enum as_auth_method method;
    char sid[AS_SID_BUF];               /* "_<uuid>", fixed for the connection */
    char *challenge;                    /* last from: challenge (self) */
    int64_t challenge_exp;              /* np_mono_ms expiry of the challenge */
    char from[AT_ATSIGN_BUF];           /* atSign claimed by the last from: */
    char pol_atsign[AT_ATSIGN_BUF];     /* after a successful pol */
    char pol_prompt[AT_ATSIGN_BUF + 1]; /* "@bob@" */
    char *enrollment_id;                /* APKAM login */
    bool json_errors;
    /* asynchronous command in progress: input processing is suspended */
    bool busy;
    conn_cancel_fn cancel;
    void *async; /* the async command's state (owned by whoever set cancel) */
    struct event *timer;
    void (*timer_cb)(struct as_conn *c);
    /* limits */
    double tokens; /* unauthenticated command token bucket */
    int64_t tokens_ms;
    int64_t over_since; /* np_mono_ms since the output queue is over the soft limit */
    size_t mem_pending; /* memory connections: simulated unsent output (tests) */
    /* monitor (verbs/monitor.c), NULL unless this is a monitor */
    struct monitor *mon;
    bool closing;       /* no more input is processed, nothing more is written */
    bool refuse;        /* over the connection limit: answer AT0012, close */
    bool redact_output; /* do not trace the next response body */
    uint64_t n_cmds;
};

/* Accept-side constructor used by server.c: wraps an accepted socket fd
 * (ownership taken, closed on error) in TLS for host h. */
int conn_accept(struct as_host *h, int fd);

/* New memory connection of h (tests, fuzzers). *out = NULL at entry.
 * Errors: NP_ERR_NOMEM. */
int conn_new_memory(struct as_host *h, struct as_conn **out);
/* Everything written to a memory connection so far (NUL-terminated
 * borrowed buffer). */
struct np_buf *conn_memory_output(struct as_conn *c);
/* Free a memory connection (cancels a pending command). NULL-safe. */
void conn_free(struct as_conn *c);
/* Unlink and free a connection of any kind, without callbacks: used at
 * shutdown (the net_conn is freed too). */
void conn_destroy(struct as_conn *c);

/* Feed received bytes (network or memory): buffer, split into lines,
 * dispatch each in order until a command goes asynchronous. */
void conn_feed(struct as_conn *c, const void *p, size_t n);

/* Mark the connection authenticated as owner (cram/pkam) and apply the
 * authenticated limits. */
void conn_set_owner(struct as_conn *c, enum as_auth_method m);

/* The prompt after a data response ("@", "@alice@", "@bob@" after pol)
 * and after an error ("@" or "@alice@": owner authentication only, 2.4). */
const char *conn_prompt(const struct as_conn *c);
const char *conn_error_prompt(const struct as_conn *c);

/* Respond "data:<payload>\n<prompt>" ("data: " when spaced). */
void conn_reply_data(struct as_conn *c, const char *payload, size_t len, bool spaced);
void conn_reply_str(struct as_conn *c, const char *payload);
/*
 * Respond with an error in the connection's format (text or JSON, 2.4).
 * fmt (printf) is the exception message, or NULL for the bare standard
 * description. Codes that close the connection (at_err_closes_connection)
 * close it after the write.
 */
void conn_reply_error(struct as_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Colon form "error:ATxxxx:<message>" (APKAM states, 2.4). */
void conn_reply_error_colon(struct as_conn *c, int code, const char *message);
/* Storage failure r while doing `what`: logged, AT0002, connection closed. */
void conn_reply_store_error(struct as_conn *c, int r, const char *what);
/* Write raw bytes (no prompt), e.g. "error:AT0012-...\n" or a pushed
 * notification line. Returns 0, or NP_ERR_LIMIT / NP_ERR_CLOSED when the
 * bytes could not be queued (the caller decides; the connection is not
 * closed here). */
int conn_write_raw(struct as_conn *c, const void *p, size_t n);
/* Bytes queued for output and not yet sent (memory connections: the
 * simulated mem_pending). */
size_t conn_output_pending(const struct as_conn *c);

/* Start a graceful close: nothing more is processed or written. */
void conn_close(struct as_conn *c);

/* Asynchronous commands: conn_suspend stops input processing until
 * conn_resume (which then processes buffered lines). cancel is called if
 * the connection ends first. */
void conn_suspend(struct as_conn *c, conn_cancel_fn cancel, void *async);
void conn_resume(struct as_conn *c);

/* The per-connection timer (created on first use; fires cb(c)). */
int conn_start_timer(struct as_conn *c, int64_t ms, void (*cb)(struct as_conn *c));

#endif
