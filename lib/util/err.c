/* lib/util/err.c - texts of the NP_* codes. */
#include "util/err.h"

const char *np_strerror(int r)
{
    switch (r) {
    case NP_OK:
        return "success";
    case NP_AGAIN:
        return "need more data";
    case NP_ERR_INTERNAL:
        return "internal error";
    case NP_ERR_NOMEM:
        return "out of memory";
    case NP_ERR_INVAL:
        return "invalid argument";
    case NP_ERR_TOOBIG:
        return "too large";
    case NP_ERR_INCOMPLETE:
        return "incomplete input";
    case NP_ERR_FORMAT:
        return "malformed input";
    case NP_ERR_CRYPTO:
        return "cryptographic operation failed";
    case NP_ERR_VERIFY:
        return "verification failed";
    case NP_ERR_IO:
        return "I/O error";
    case NP_ERR_TIMEOUT:
        return "timed out";
    case NP_ERR_EOF:
        return "connection closed by peer";
    case NP_ERR_NOTFOUND:
        return "not found";
    case NP_ERR_PERM:
        return "permission denied";
    case NP_ERR_AUTH:
        return "authentication failed";
    case NP_ERR_PROTO:
        return "protocol error";
    case NP_ERR_CONNECT:
        return "connection failed";
    case NP_ERR_TLS:
        return "TLS error";
    case NP_ERR_DB:
        return "database error";
    case NP_ERR_EXISTS:
        return "already exists";
    case NP_ERR_LIMIT:
        return "limit reached";
    case NP_ERR_UNSUPPORTED:
        return "not supported";
    case NP_ERR_CLOSED:
        return "closed";
    default:
        return "unknown error";
    }
}
