/*
 * lib/at/root.h - the atDirectory ("root") lookup: atSign -> host:port of
 * its atServer (atprotocol.md 2.5, A.1), asynchronous on libevent.
 *
 * Wire: TLS to the directory (certificate verified against the client
 * context's trust store and the directory host name); wait for the "@"
 * prompt; send "<atsign-without-@>\n"; read one answer line, "host:port"
 * (a trailing "\r" and the "@" prompt after the newline are ignored) or
 * "null" for an unknown atSign; close. At most AT_ROOT_MAX_ANSWER bytes are
 * read; the whole exchange is bounded by a deadline.
 *
 * Loop: everything runs on the event_base given; the callback is called
 * exactly once from the loop (never from inside at_root_lookup) unless the
 * request is cancelled first.
 */
#ifndef AT_ROOT_H
#define AT_ROOT_H
#include <stddef.h>

#include "util/addr.h"

struct event_base;
struct evdns_base;
struct net_tls_ctx;
struct at_root_req;

#define AT_ROOT_DEFAULT_HOST "root.atsign.org"
#define AT_ROOT_DEFAULT_PORT 64
/* Most bytes read from the directory for one answer (prompt included). */
#define AT_ROOT_MAX_ANSWER 1024

/*
 * Result of a lookup: err 0 with host/port, or NP_ERR_NOTFOUND (the
 * directory answered "null"), NP_ERR_FORMAT / NP_ERR_PROTO (unparsable or
 * oversized answer), NP_ERR_TIMEOUT, NP_ERR_CONNECT, NP_ERR_TLS, NP_ERR_EOF,
 * NP_ERR_NOMEM. host is borrowed for the duration of the call.
 */
typedef void (*at_root_cb)(int err, const char *host, int port, void *data);

/*
 * Start a lookup of atsign ("@alice" or "alice"; normalised, the "@" is not
 * sent) at root_host:root_port. tls: a client context (borrowed; it is
 * referenced by the connection while needed). dns: NULL resolves names with
 * getaddrinfo (blocking; fine for numeric hosts and tools). timeout_ms > 0
 * bounds connect, handshake and answer. *out (may be NULL if the caller never
 * cancels) is the request handle, valid until the callback has run.
 * Errors (callback then never called): NP_ERR_INVAL (bad atSign/arguments),
 * NP_ERR_NOMEM.
 */
int at_root_lookup(struct event_base *base, struct evdns_base *dns, struct net_tls_ctx *tls,
                   const char *root_host, int root_port, const char *atsign, int timeout_ms,
                   at_root_cb cb, void *data, struct at_root_req **out);

/* Cancel a pending lookup: the callback is not called. NULL-safe; must not be
 * called after the callback ran. */
void at_root_cancel(struct at_root_req *req);

/*
 * Parse one directory answer line s[0..n) (without its "\n"): leading "@"
 * prompts and surrounding whitespace (the "\r") are dropped; "null" is
 * NP_ERR_NOTFOUND; otherwise "host:port" / "[v6]:port" with a port 1..65535
 * (NP_ERR_FORMAT when not). host is NP_HOST_MAX + 1 bytes; host[0] = '\0'
 * and *port = 0 at entry, set only on success. Pure; used by the fuzzer.
 */
int at_root_parse_answer(const char *s, size_t n, char host[NP_HOST_MAX + 1], int *port);

#endif
