/*
 * lib/at/error.h - the atProtocol error codes (atprotocol.md 2.4).
 *
 * Each code is the number after "AT" (AT0015 -> 15, AT0401 -> 401) and has a
 * standard description that servers quote exactly. Pure tables; no state.
 */
#ifndef AT_ERROR_H
#define AT_ERROR_H
#include <stddef.h>

enum at_err {
    AT_E_SERVER_EXCEPTION = 1,    /* AT0001 Server exception */
    AT_E_DATASTORE = 2,           /* AT0002 DataStore exception */
    AT_E_INVALID_SYNTAX = 3,      /* AT0003 Invalid syntax */
    AT_E_SOCKET = 4,              /* AT0004 Socket error */
    AT_E_BUFFER_LIMIT = 5,        /* AT0005 Buffer limit exceeded */
    AT_E_OUTBOUND_LIMIT = 6,      /* AT0006 Outbound connection limit exceeded */
    AT_E_SECONDARY_NOT_FOUND = 7, /* AT0007 Secondary server not found */
    AT_E_HANDSHAKE = 8,           /* AT0008 Handshake failure */
    AT_E_UNAUTHORIZED = 9,        /* AT0009 UnAuthorized client in request */
    AT_E_INTERNAL_ERROR = 10,     /* AT0010 Internal server error */
    AT_E_INTERNAL_EXCEPTION = 11, /* AT0011 Internal server exception */
    AT_E_INBOUND_LIMIT = 12,      /* AT0012 Inbound connection limit exceeded */
    AT_E_CONNECTION = 13,         /* AT0013 Connection Exception */
    AT_E_UNKNOWN_CLIENT = 14,     /* AT0014 Unknown AtClient exception */
    AT_E_KEY_NOT_FOUND = 15,      /* AT0015 key not found */
    AT_E_INVALID_KEY = 16,        /* AT0016 Invalid key */
    AT_E_SECONDARY_CONNECT = 21,  /* AT0021 Unable to connect to secondary */
    AT_E_ILLEGAL_ARGUMENTS = 22,  /* AT0022 Illegal arguments */
    AT_E_TIMEOUT = 23,            /* AT0023 Timeout waiting for response */
    AT_E_SERVER_PAUSED = 24,      /* AT0024 Server is paused */
    AT_E_APKAM_DENIED = 25,       /* AT0025 Apkam Auth Denied */
    AT_E_APKAM_FAILED = 26,       /* AT0026 Apkam Auth Failed */
    AT_E_APKAM_REVOKED = 27,      /* AT0027 Apkam Access Revoked */
    AT_E_TOO_MANY_REQUESTS = 28,  /* AT0028 Too Many Requests */
    AT_E_ENROLLMENT_EXPIRED = 29, /* AT0029 Apkam Enrollment Expired */
    AT_E_ENROLLMENT_STATUS = 30,  /* AT0030 Invalid Enrollment Status */
    AT_E_REVOKE_SELF = 31,        /* AT0031 Cannot revoke self enrollment */
    AT_E_AUTH_FAILED = 401        /* AT0401 Client authentication failed */
};

/* Text form of a code: "AT0015". dst must hold AT_ERR_CODE_BUF bytes. */
#define AT_ERR_CODE_BUF 8
int at_err_code_format(char *dst, size_t size, int code);
/* The standard description ("key not found"), or NULL for unknown codes. */
const char *at_err_description(int code);
/* Parse exactly "AT" + 4 digits (case-sensitive) from s[0..n). Returns the
 * number (>= 0), or NP_ERR_FORMAT. Unknown but well-formed codes parse. */
int at_err_code_parse(const char *s, size_t n);
/* Does this error make the Dart server close the connection (2.4)? */
int at_err_closes_connection(int code);

#endif
