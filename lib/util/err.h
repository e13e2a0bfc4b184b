/*
 * lib/util/err.h - the one error space of the whole project.
 *
 * Every library function that can fail returns int: 0 (NP_OK) on success or a
 * negative NP_ERR_* code. NP_AGAIN is not a failure: an incremental parser
 * needs more bytes. Raw OpenSSL, SQLite or errno values never leave the module
 * that saw them; they are translated here and logged at the boundary.
 */
#ifndef NP_UTIL_ERR_H
#define NP_UTIL_ERR_H

enum {
    NP_OK = 0,
    NP_AGAIN = -1,            /* need more input (not an error) */
    NP_ERR_INTERNAL = -2,     /* a bug or an unexpected library failure */
    NP_ERR_NOMEM = -3,        /* allocation failed */
    NP_ERR_INVAL = -4,        /* bad argument from the caller */
    NP_ERR_TOOBIG = -5,       /* input or buffer over its maximum */
    NP_ERR_INCOMPLETE = -6,   /* input ended early */
    NP_ERR_FORMAT = -7,       /* malformed input (syntax, encoding) */
    NP_ERR_CRYPTO = -8,       /* a cryptographic operation failed */
    NP_ERR_VERIFY = -9,       /* signature or MAC did not verify */
    NP_ERR_IO = -10,          /* read/write/file error */
    NP_ERR_TIMEOUT = -11,     /* deadline passed */
    NP_ERR_EOF = -12,         /* peer closed */
    NP_ERR_NOTFOUND = -13,    /* no such key, file, atSign */
    NP_ERR_PERM = -14,        /* not permitted (file mode, authorization) */
    NP_ERR_AUTH = -15,        /* authentication failed */
    NP_ERR_PROTO = -16,       /* peer broke the protocol */
    NP_ERR_CONNECT = -17,     /* could not connect */
    NP_ERR_TLS = -18,         /* TLS handshake or certificate failure */
    NP_ERR_DB = -19,          /* database failure */
    NP_ERR_EXISTS = -20,      /* already exists */
    NP_ERR_LIMIT = -21,       /* a configured limit was reached */
    NP_ERR_UNSUPPORTED = -22, /* valid but not supported (algorithm, feature) */
    NP_ERR_CLOSED = -23,      /* object already closed / shutting down */
    NP_ERR__LAST = -24
};

/* Short English text for an NP_* code; never NULL, also for unknown codes. */
const char *np_strerror(int r);

#endif
