/*
 * lib/net/tls.c - the only file that includes <openssl/ssl.h>: TLS contexts,
 * per-connection SSL objects, non-blocking handshake/read/write steps and
 * peer-certificate names. Everything OpenSSL reports is logged here and
 * translated to NP_ERR_* codes; SSL_* error values never leave this file.
 */
#include "net/tls.h"
#include "net/tls_int.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct net_tls_ctx {
    SSL_CTX *ctx;
    int server;
    atomic_int refs; /* the creator's + one per connection still opening */
};

struct net_peer_cert {
    char *subject;
    char *cn;
    char **dns;
    size_t n_dns;
};

/* TLS 1.2 suites: ECDHE key exchange with AES-GCM only. TLS 1.3 keeps
 * OpenSSL's default suites (all AEAD). */
static const char tls12_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";

/* Drain the OpenSSL error queue into the log at `level`. */
static void log_queue(int level, const char *what)
{
    unsigned long e;
    char buf[256];
    int any = 0;

    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        NP_LOG_AT(level, NULL, "%s: %s", what, buf);
        any = 1;
    }
    if (!any)
        NP_LOG_AT(level, NULL, "%s", what);
}

void net_tls_clear_errors(void)
{
    ERR_clear_error();
}

/* Settings shared by server and client contexts. */
static int ctx_common(SSL_CTX *ctx)
{
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1)
        return NP_ERR_TLS;
    /* libevent may retry a blocked SSL_write from a moved evbuffer chain. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* A peer that closes without close_notify is an ordinary EOF here:
     * every protocol on top is self-delimiting, so truncation cannot
     * pass unnoticed, and the official peers often just close. */
    SSL_CTX_set_options(ctx,
                        SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (SSL_CTX_set_num_tickets(ctx, 0) != 1)
        return NP_ERR_TLS;
    return 0;
}

/* Load cert chain + key and check that they match. */
static int load_pair(SSL_CTX *ctx, const char *cert_file, const char *key_file)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        log_queue(NP_LOG_ERROR, "cannot load certificate chain");
        np_error("certificate file %s unusable", cert_file);
        return NP_ERR_IO;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        int mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        log_queue(NP_LOG_ERROR, "cannot load private key");
        np_error("key file %s unusable", key_file);
        return mismatch ? NP_ERR_TLS : NP_ERR_IO;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        log_queue(NP_LOG_ERROR, "private key does not match certificate");
        return NP_ERR_TLS;
    }
    return 0;
}

int net_tls_server_ctx_new(const struct net_tls_server_opts *o, struct net_tls_ctx **out)
{
    static const unsigned char sid_ctx[] = "noports-c";
    struct net_tls_ctx *t = NULL;
    STACK_OF(X509_NAME) *names = NULL;
    int r = NP_ERR_INTERNAL;

    if (out)
        *out = NULL;
    if (!o || !out || !o->cert_file || !o->key_file)
        return NP_ERR_INVAL;
    ERR_clear_error();
    if ((t = np_calloc(1, sizeof(*t))) == NULL)
        return NP_ERR_NOMEM;
    atomic_init(&t->refs, 1);
    t->server = 1;
    if ((t->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        log_queue(NP_LOG_ERROR, "SSL_CTX_new");
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = ctx_common(t->ctx)) != 0) {
        log_queue(NP_LOG_ERROR, "TLS settings");
        goto out;
    }
    if ((r = load_pair(t->ctx, o->cert_file, o->key_file)) != 0)
        goto out;
    /* Needed whenever peer certificates are requested and sessions cached. */
    if (SSL_CTX_set_session_id_context(t->ctx, sid_ctx, sizeof(sid_ctx) - 1) != 1) {
        r = NP_ERR_TLS;
        goto out;
    }
    if (o->client_ca_file) {
        if (SSL_CTX_load_verify_locations(t->ctx, o->client_ca_file, NULL) != 1 ||
            (names = SSL_load_client_CA_file(o->client_ca_file)) == NULL) {
            log_queue(NP_LOG_ERROR, "cannot load client CA file");
            np_error("client CA file %s unusable", o->client_ca_file);
            r = NP_ERR_IO;
            goto out;
        }
        SSL_CTX_set_client_CA_list(t->ctx, names); /* takes ownership */
        names = NULL;
        /* Request, never require (no SSL_VERIFY_FAIL_IF_NO_PEER_CERT). */
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
    }
    *out = t;
    t = NULL;
    r = 0;
out:
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    net_tls_ctx_free(t);
    ERR_clear_error();
    return r;
}

int net_tls_client_ctx_new(const struct net_tls_client_opts *o, struct net_tls_ctx **out)
{
    struct net_tls_ctx *t = NULL;
    int r = NP_ERR_INTERNAL;

    if (out)
        *out = NULL;
    if (!out || (o && o->cert_file && !o->key_file))
        return NP_ERR_INVAL;
    ERR_clear_error();
    if ((t = np_calloc(1, sizeof(*t))) == NULL)
        return NP_ERR_NOMEM;
    atomic_init(&t->refs, 1);
    if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
        log_queue(NP_LOG_ERROR, "SSL_CTX_new");
        r = NP_ERR_NOMEM;
        goto out;
    }
    if ((r = ctx_common(t->ctx)) != 0) {
        log_queue(NP_LOG_ERROR, "TLS settings");
        goto out;
    }
    if (o && o->ca_file) {
        if (SSL_CTX_load_verify_locations(t->ctx, o->ca_file, NULL) != 1) {
            log_queue(NP_LOG_ERROR, "cannot load CA file");
            np_error("CA file %s unusable", o->ca_file);
            r = NP_ERR_IO;
            goto out;
        }
    } else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        log_queue(NP_LOG_ERROR, "cannot load the system trust store");
        r = NP_ERR_IO;
        goto out;
    }
    if (o && o->cert_file && (r = load_pair(t->ctx, o->cert_file, o->key_file)) != 0)
        goto out;
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    *out = t;
    t = NULL;
    r = 0;
out:
    net_tls_ctx_free(t);
    ERR_clear_error();
    return r;
}

void net_tls_ctx_free(struct net_tls_ctx *ctx)
{
    if (!ctx || atomic_fetch_sub(&ctx->refs, 1) != 1)
        return;
    SSL_CTX_free(ctx->ctx);
    np_free(ctx);
}

struct net_tls_ctx *net_tls_ctx_ref(struct net_tls_ctx *ctx)
{
    if (ctx)
        atomic_fetch_add(&ctx->refs, 1);
    return ctx;
}

int net_tls_ctx_is_server(const struct net_tls_ctx *ctx)
{
    return ctx && ctx->server;
}

static int is_ip_literal(const char *s)
{
    unsigned char tmp[16];

    return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

int net_tls_ssl_new(struct net_tls_ctx *ctx, const char *peer_name, struct ssl_st **out)
{
    SSL *ssl = NULL;
    int r = NP_ERR_INTERNAL;

    if (out)
        *out = NULL;
    if (!ctx || !out || (!ctx->server && (!peer_name || !*peer_name)))
        return NP_ERR_INVAL;
    if ((ssl = SSL_new(ctx->ctx)) == NULL) {
        log_queue(NP_LOG_ERROR, "SSL_new");
        return NP_ERR_NOMEM;
    }
    if (ctx->server) {
        SSL_set_accept_state(ssl);
    } else {
        SSL_set_connect_state(ssl);
        if (is_ip_literal(peer_name)) {
            if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), peer_name) != 1) {
                r = NP_ERR_TLS;
                goto out;
            }
        } else if (SSL_set_tlsext_host_name(ssl, peer_name) != 1 ||
                   SSL_set1_host(ssl, peer_name) != 1) {
            r = NP_ERR_TLS;
            goto out;
        }
    }
    *out = ssl;
    ssl = NULL;
    r = 0;
out:
    if (r != 0)
        log_queue(NP_LOG_ERROR, "TLS connection setup");
    SSL_free(ssl);
    return r;
}

void net_tls_ssl_free(struct ssl_st *ssl)
{
    SSL_free(ssl);
}

int net_tls_ssl_set_fd(struct ssl_st *ssl, int fd)
{
    return SSL_set_fd(ssl, fd) == 1 ? 0 : NP_ERR_NOMEM;
}

/* Translate an SSL_get_error result after a failed call. */
static int map_ssl_error(SSL *ssl, int ret, int *want)
{
    switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        *want = NET_TLS_WANT_READ;
        return NP_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        *want = NET_TLS_WANT_WRITE;
        return NP_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return NP_ERR_EOF;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0)
            return (ret == 0 || errno == 0 || errno == ECONNRESET) ? NP_ERR_EOF : NP_ERR_IO;
        return NP_ERR_TLS;
    default:
        return NP_ERR_TLS;
    }
}

int net_tls_ssl_handshake(struct ssl_st *ssl, int *want)
{
    int ret;

    *want = 0;
    errno = 0;
    if ((ret = SSL_do_handshake(ssl)) == 1)
        return 0;
    ret = map_ssl_error(ssl, ret, want);
    /* EOF in the middle of a handshake is a TLS failure, not a clean end. */
    return ret == NP_ERR_EOF ? NP_ERR_TLS : ret;
}

int net_tls_ssl_read(struct ssl_st *ssl, void *buf, size_t n, size_t *got, int *want)
{
    size_t g = 0;
    int ret;

    *got = 0;
    *want = 0;
    errno = 0;
    ret = SSL_read_ex(ssl, buf, n, &g);
    if (ret == 1) {
        *got = g;
        return 0;
    }
    return map_ssl_error(ssl, ret, want);
}

int net_tls_ssl_write(struct ssl_st *ssl, const void *buf, size_t n, int *want)
{
    size_t put = 0;
    int ret;

    *want = 0;
    errno = 0;
    ret = SSL_write_ex(ssl, buf, n, &put);
    if (ret == 1)
        return 0;
    ret = map_ssl_error(ssl, ret, want);
    return ret == NP_ERR_EOF ? NP_ERR_IO : ret;
}

void net_tls_ssl_shutdown(struct ssl_st *ssl)
{
    if (!ssl || !SSL_is_init_finished(ssl))
        return;
    /* One call sends our close_notify; we do not wait for the peer's. */
    (void)SSL_shutdown(ssl);
    ERR_clear_error();
}

void net_tls_log_failure(struct ssl_st *ssl, unsigned long err, const char *who)
{
    char buf[256];

    if (ssl) {
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK)
            np_warn("%s: certificate verification failed: %s", who,
                    X509_verify_cert_error_string(v));
    }
    if (err != 0) {
        ERR_error_string_n(err, buf, sizeof(buf));
        np_warn("%s: TLS error: %s", who, buf);
    }
    while ((err = ERR_get_error()) != 0) {
        ERR_error_string_n(err, buf, sizeof(buf));
        np_warn("%s: TLS error: %s", who, buf);
    }
}

/* ---- peer certificate names ---- */

void net_peer_cert_free(struct net_peer_cert *pc)
{
    if (!pc)
        return;
    np_free(pc->subject);
    np_free(pc->cn);
    for (size_t i = 0; i < pc->n_dns; i++)
        np_free(pc->dns[i]);
    np_free(pc->dns);
    np_free(pc);
}

/* Copy an ASN1 string that must not contain NUL bytes; NULL if it does. */
static char *asn1_text(const ASN1_STRING *s)
{
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int len = ASN1_STRING_length(s);

    if (!d || len < 0 || memchr(d, '\0', (size_t)len) != NULL)
        return NULL;
    return np_memdup0(d, (size_t)len);
}

static char *subject_text(X509 *cert)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL, *s = NULL;
    long n;

    if (!b)
        return NULL;
    if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0 &&
        (n = BIO_get_mem_data(b, &p)) >= 0)
        s = np_memdup0(p ? p : "", (size_t)n);
    BIO_free(b);
    return s;
}

int net_tls_ssl_peer_cert(struct ssl_st *ssl, struct net_peer_cert **out)
{
    struct net_peer_cert *pc = NULL;
    GENERAL_NAMES *sans = NULL;
    X509 *cert;
    int r = NP_ERR_INTERNAL, idx, n;

    *out = NULL;
    if (!ssl || (cert = SSL_get0_peer_certificate(ssl)) == NULL ||
        SSL_get_verify_result(ssl) != X509_V_OK)
        return NP_ERR_NOTFOUND;
    if ((pc = np_calloc(1, sizeof(*pc))) == NULL || (pc->subject = subject_text(cert)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    idx = X509_NAME_get_index_by_NID(X509_get_subject_name(cert), NID_commonName, -1);
    for (int next = idx; next >= 0;
         next = X509_NAME_get_index_by_NID(X509_get_subject_name(cert), NID_commonName, next))
        idx = next;
    if (idx >= 0) {
        X509_NAME_ENTRY *e = X509_NAME_get_entry(X509_get_subject_name(cert), idx);
        pc->cn = asn1_text(X509_NAME_ENTRY_get_data(e));
    }
    sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    n = sans ? sk_GENERAL_NAME_num(sans) : 0;
    if (n > 0 && (pc->dns = np_calloc((size_t)n, sizeof(char *))) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        char *s;
        if (g->type != GEN_DNS || (s = asn1_text(g->d.dNSName)) == NULL)
            continue;
        pc->dns[pc->n_dns++] = s;
    }
    *out = pc;
    pc = NULL;
    r = 0;
out:
    GENERAL_NAMES_free(sans);
    net_peer_cert_free(pc);
    ERR_clear_error();
    return r;
}

const char *net_peer_cert_subject(const struct net_peer_cert *pc)
{
    return pc->subject;
}

const char *net_peer_cert_cn(const struct net_peer_cert *pc)
{
    return pc->cn;
}

size_t net_peer_cert_dns_count(const struct net_peer_cert *pc)
{
    return pc->n_dns;
}

const char *net_peer_cert_dns(const struct net_peer_cert *pc, size_t i)
{
    return i < pc->n_dns ? pc->dns[i] : NULL;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t hn, nn;

    if (!hay)
        return 0;
    hn = strlen(hay);
    nn = strlen(needle);
    for (size_t i = 0; nn <= hn && i <= hn - nn; i++)
        if (strncasecmp(hay + i, needle, nn) == 0)
            return 1;
    return 0;
}

int net_peer_cert_matches_host(const struct net_peer_cert *pc, const char *host)
{
    if (!pc || !host || !*host)
        return 0;
    if (contains_ci(pc->subject, host) || contains_ci(pc->cn, host))
        return 1;
    for (size_t i = 0; i < pc->n_dns; i++)
        if (contains_ci(pc->dns[i], host))
            return 1;
    return 0;
}
