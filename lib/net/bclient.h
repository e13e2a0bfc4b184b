/*
 * lib/net/bclient.h - a small BLOCKING TLS client for command-line tools and
 * test drivers (never for the daemons, which use net/conn.h on an event
 * loop).
 *
 * "Blocking" means each call returns only when done, failed or past its
 * deadline; underneath the socket is non-blocking and every wait is a
 * poll(2) bounded by the remaining time - no sleep-and-retry. Timeouts are
 * per call, in milliseconds (> 0).
 *
 * The client buffers what it read beyond a returned line, so lines and
 * prompts that arrive together are split correctly. Single thread per
 * client object.
 */
#ifndef NP_NET_BCLIENT_H
#define NP_NET_BCLIENT_H
#include <stddef.h>

struct net_bclient;
struct net_tls_ctx;

/* Default bound on buffered-but-unread input (read_line cannot return a
 * line longer than this anyway). */
#define NET_BCLIENT_MAX_BUFFER (1u << 20)

/*
 * Connect to host:port (name or numeric; every address is tried in turn),
 * then complete a TLS handshake verifying the server certificate against
 * ca_file (PEM; NULL = system trust store) and expected_name (DNS name or
 * IP; NULL = host). The whole connect is bounded by timeout_ms.
 * *out = NULL at entry. Errors: NP_ERR_INVAL, NP_ERR_NOTFOUND (name does
 * not resolve), NP_ERR_CONNECT, NP_ERR_TIMEOUT, NP_ERR_TLS (handshake or
 * verification failed; the reason is logged), NP_ERR_IO (CA file), NP_ERR_NOMEM.
 */
int net_bclient_connect(const char *host, int port, const char *ca_file, const char *expected_name,
                        int timeout_ms, struct net_bclient **out);

/* As net_bclient_connect with a client context (borrowed, may carry a client
 * certificate); tls NULL connects without TLS (plain TCP). */
int net_bclient_connect_ctx(const char *host, int port, struct net_tls_ctx *tls,
                            const char *expected_name, int timeout_ms, struct net_bclient **out);

/* Send n bytes in one TLS write (one record up to 16 KiB). Errors:
 * NP_ERR_TIMEOUT, NP_ERR_IO, NP_ERR_TLS, NP_ERR_INVAL. */
int net_bclient_write(struct net_bclient *c, const void *p, size_t n, int timeout_ms);
/* Send line + "\n" in one write. line must not contain '\n'. */
int net_bclient_send_line(struct net_bclient *c, const char *line, int timeout_ms);

/*
 * Read up to and including the next '\n'; copy the line without '\n' and
 * without one '\r' before it to buf (NUL-terminated), its length to *len
 * (may be NULL). *len = 0 and buf[0] = '\0' at entry.
 * Errors: NP_ERR_TIMEOUT, NP_ERR_EOF (peer closed before a full line),
 * NP_ERR_TOOBIG (no '\n' within size - 1 bytes; nothing consumed),
 * NP_ERR_TLS, NP_ERR_IO, NP_ERR_INVAL (size == 0).
 */
int net_bclient_read_line(struct net_bclient *c, char *buf, size_t size, size_t *len,
                          int timeout_ms);
/* Like read_line but stops after the first byte equal to delim and keeps
 * it (and any '\r'): exact bytes, e.g. read_until('@') for
 * "host:port\r\n@". */
int net_bclient_read_until(struct net_bclient *c, int delim, char *buf, size_t size, size_t *len,
                           int timeout_ms);
/*
 * Return what is available: buffered bytes if any, else the payload of the
 * next TLS record (one record per call; a record split in two here means
 * the peer wrote it in two pieces). *got = 0 at entry, > 0 on success.
 * Errors: NP_ERR_TIMEOUT, NP_ERR_EOF, NP_ERR_TLS, NP_ERR_IO, NP_ERR_INVAL.
 */
int net_bclient_read_some(struct net_bclient *c, void *buf, size_t size, size_t *got,
                          int timeout_ms);

/* Send close_notify (best effort, no waiting), close the socket, free.
 * NULL-safe. */
void net_bclient_close(struct net_bclient *c);

#endif
