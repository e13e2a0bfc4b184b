/*
 * lib/net/tls_int.h - private to lib/net: the per-connection TLS operations
 * that conn.c and bclient.c need, so that only tls.c includes
 * <openssl/ssl.h>. An SSL object is seen here as the incomplete type
 * struct ssl_st (what OpenSSL's SSL typedef names), which is also how
 * <event2/bufferevent_ssl.h> declares it.
 *
 * The I/O functions are non-blocking steps: they return 0 when done,
 * NP_AGAIN with *want set to NET_TLS_WANT_READ or NET_TLS_WANT_WRITE when
 * the socket must become readable/writable first, or a negative NP_ERR_*.
 */
#ifndef NP_NET_TLS_INT_H
#define NP_NET_TLS_INT_H
#include <stddef.h>

struct ssl_st;
struct net_tls_ctx;
struct net_peer_cert;

enum { NET_TLS_WANT_READ = 1, NET_TLS_WANT_WRITE = 2 };

/* Take a reference (released with net_tls_ctx_free); returns ctx. A
 * connection holds one while it may still create its SSL object. */
struct net_tls_ctx *net_tls_ctx_ref(struct net_tls_ctx *ctx);

/*
 * New SSL object for ctx. For a client context peer_name (required) is the
 * name or IP address to verify the server certificate against, and is sent
 * as SNI when it is not an IP literal; for a server context it is ignored.
 * The object is set to connect/accept state but has no socket yet.
 * *out = NULL at entry. Errors: NP_ERR_INVAL, NP_ERR_NOMEM, NP_ERR_TLS.
 */
int net_tls_ssl_new(struct net_tls_ctx *ctx, const char *peer_name, struct ssl_st **out);
/* NULL-safe; does not close the socket. */
void net_tls_ssl_free(struct ssl_st *ssl);
/* Attach a connected socket (not closed by SSL_free). */
int net_tls_ssl_set_fd(struct ssl_st *ssl, int fd);

int net_tls_ssl_handshake(struct ssl_st *ssl, int *want);
/* *got bytes read (> 0 on success); NP_ERR_EOF on close_notify or a
 * clean TCP close. One call returns data from at most one TLS record. */
int net_tls_ssl_read(struct ssl_st *ssl, void *buf, size_t n, size_t *got, int *want);
/* Write all n bytes (n > 0); on NP_AGAIN call again with the same arguments. */
int net_tls_ssl_write(struct ssl_st *ssl, const void *buf, size_t n, int *want);
/* Send close_notify once, best effort, never waits for the peer's. */
void net_tls_ssl_shutdown(struct ssl_st *ssl);

/* Names of the verified peer certificate; NP_ERR_NOTFOUND when the peer sent
 * none (or it did not verify). *out = NULL at entry. */
int net_tls_ssl_peer_cert(struct ssl_st *ssl, struct net_peer_cert **out);

/*
 * Log why a handshake or I/O failed (certificate verification result and
 * the OpenSSL error queue, or the libevent-saved error code err when
 * non-zero), prefixed by `who` (e.g. the peer address). Clears the queue.
 */
void net_tls_log_failure(struct ssl_st *ssl, unsigned long err, const char *who);
/* Empty the calling thread's OpenSSL error queue. */
void net_tls_clear_errors(void);

#endif
