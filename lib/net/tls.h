/*
 * lib/net/tls.h - TLS contexts (server and client) and the names in a peer
 * certificate.
 *
 * tls.c is the only file of the project that includes <openssl/ssl.h>; every
 * other file sees the opaque types below. A context is built once, at start-up,
 * from PEM files and is then used to create any number of connections
 * (net/conn.h, net/bclient.h). Contexts are reference counted: every
 * connection holds a reference while it needs one, so net_tls_ctx_free may
 * be called while connections made from it are still opening or open.
 *
 * Policy (atprotocol.md 2.1): TLS 1.2 and 1.3 only; TLS 1.2 suites limited to
 * ECDHE with AES-GCM; no session tickets (SSL_CTX_set_num_tickets(ctx, 0), a
 * precaution for mbedTLS 3.6 clients such as at_c); clients always verify the
 * server certificate and its host name or IP address.
 *
 * Errors: 0 or a negative NP_ERR_* code (util/err.h). OpenSSL's own error
 * queue is logged here at the boundary and never returned.
 * Thread use: contexts are immutable after creation and may be shared.
 */
#ifndef NP_NET_TLS_H
#define NP_NET_TLS_H
#include <stddef.h>

struct net_tls_ctx;
struct net_peer_cert;

struct net_tls_server_opts {
    const char *cert_file; /* PEM chain: leaf first, then intermediates (required) */
    const char *key_file;  /* PEM private key for the leaf (required) */
    /*
     * NULL: no client certificate is requested. Otherwise a PEM CA bundle:
     * every handshake *requests* (never requires) a client certificate, and a
     * certificate that the peer chooses to send must verify against this
     * bundle or the handshake fails. Read the names with net_conn_peer_cert.
     */
    const char *client_ca_file;
};

struct net_tls_client_opts {
    const char *ca_file;   /* PEM CA bundle; NULL = the system trust store */
    const char *cert_file; /* optional client certificate chain (server-to-server) */
    const char *key_file;  /* its key; required when cert_file is set */
};

/*
 * Build a server context from PEM files (see struct net_tls_server_opts).
 * *out is set to NULL at entry and to the new context on success.
 * Errors: NP_ERR_INVAL (missing file name), NP_ERR_IO (file unreadable or
 * not PEM), NP_ERR_TLS (key does not match the certificate, bad CA file),
 * NP_ERR_NOMEM. The reason is logged.
 */
int net_tls_server_ctx_new(const struct net_tls_server_opts *o, struct net_tls_ctx **out);

/*
 * Build a client context (o may be NULL: system trust store, no client
 * certificate). *out is set to NULL at entry and to the new context on success.
 * Errors as for net_tls_server_ctx_new.
 */
int net_tls_client_ctx_new(const struct net_tls_client_opts *o, struct net_tls_ctx **out);

/* Release the caller's reference; NULL-safe. Connections keep working. */
void net_tls_ctx_free(struct net_tls_ctx *ctx);

/* 1 for a server context, 0 for a client context. */
int net_tls_ctx_is_server(const struct net_tls_ctx *ctx);

/*
 * Peer certificate names, read after a completed handshake from a
 * certificate that verified (net_conn_peer_cert). All strings are owned by
 * the object and valid until net_peer_cert_free.
 */
/* Subject in RFC 2253 form, e.g. "CN=vip.ve.atsign.zone". Never NULL. */
const char *net_peer_cert_subject(const struct net_peer_cert *pc);
/* The last commonName of the subject, or NULL if there is none. */
const char *net_peer_cert_cn(const struct net_peer_cert *pc);
/* DNS names of the subjectAltName extension (entries with NUL bytes are
 * dropped). i >= count returns NULL. */
size_t net_peer_cert_dns_count(const struct net_peer_cert *pc);
const char *net_peer_cert_dns(const struct net_peer_cert *pc, size_t i);
/*
 * The atServer's server-to-server check (atprotocol.md 2.1): 1 if the
 * subject string, the CN or one of the DNS SANs *contains* host
 * (case-insensitive substring), else 0. An empty or NULL host never matches.
 */
int net_peer_cert_matches_host(const struct net_peer_cert *pc, const char *host);
/* NULL-safe. */
void net_peer_cert_free(struct net_peer_cert *pc);

#endif
