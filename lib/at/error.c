/*
 * lib/at/error.c - the error code table of atprotocol.md 2.4, with the
 * standard descriptions quoted exactly as the Dart server writes them.
 */
#include "at/error.h"
#include "util/err.h"
#include "util/str.h"

static const struct {
    int code;
    const char *desc;
} errs[] = {
    {AT_E_SERVER_EXCEPTION, "Server exception"},
    {AT_E_DATASTORE, "DataStore exception"},
    {AT_E_INVALID_SYNTAX, "Invalid syntax"},
    {AT_E_SOCKET, "Socket error"},
    {AT_E_BUFFER_LIMIT, "Buffer limit exceeded"},
    {AT_E_OUTBOUND_LIMIT, "Outbound connection limit exceeded"},
    {AT_E_SECONDARY_NOT_FOUND, "Secondary server not found"},
    {AT_E_HANDSHAKE, "Handshake failure"},
    {AT_E_UNAUTHORIZED, "UnAuthorized client in request"},
    {AT_E_INTERNAL_ERROR, "Internal server error"},
    {AT_E_INTERNAL_EXCEPTION, "Internal server exception"},
    {AT_E_INBOUND_LIMIT, "Inbound connection limit exceeded"},
    {AT_E_CONNECTION, "Connection Exception"},
    {AT_E_UNKNOWN_CLIENT, "Unknown AtClient exception"},
    {AT_E_KEY_NOT_FOUND, "key not found"},
    {AT_E_INVALID_KEY, "Invalid key"},
    {AT_E_SECONDARY_CONNECT, "Unable to connect to secondary"},
    {AT_E_ILLEGAL_ARGUMENTS, "Illegal arguments"},
    {AT_E_TIMEOUT, "Timeout waiting for response"},
    {AT_E_SERVER_PAUSED, "Server is paused"},
    {AT_E_APKAM_DENIED, "Apkam Auth Denied"},
    {AT_E_APKAM_FAILED, "Apkam Auth Failed"},
    {AT_E_APKAM_REVOKED, "Apkam Access Revoked"},
    {AT_E_TOO_MANY_REQUESTS, "Too Many Requests"},
    {AT_E_ENROLLMENT_EXPIRED, "Apkam Enrollment Expired"},
    {AT_E_ENROLLMENT_STATUS, "Invalid Enrollment Status"},
    {AT_E_REVOKE_SELF, "Cannot revoke self enrollment"},
    {AT_E_AUTH_FAILED, "Client authentication failed"},
};

int at_err_code_format(char *dst, size_t size, int code)
{
    if (!dst || size == 0)
        return NP_ERR_INVAL;
    dst[0] = '\0';
    if (code < 0 || code > 9999)
        return NP_ERR_INVAL;
    return np_str_fmt(dst, size, "AT%04d", code);
}

const char *at_err_description(int code)
{
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
        if (errs[i].code == code)
            return errs[i].desc;
    return NULL;
}

int at_err_code_parse(const char *s, size_t n)
{
    int v = 0;

    if (!s || n != 6 || s[0] != 'A' || s[1] != 'T')
        return NP_ERR_FORMAT;
    for (size_t i = 2; i < 6; i++) {
        if (s[i] < '0' || s[i] > '9')
            return NP_ERR_FORMAT;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int at_err_closes_connection(int code)
{
    switch (code) {
    case AT_E_DATASTORE:
    case AT_E_BUFFER_LIMIT:
    case AT_E_INTERNAL_EXCEPTION:
    case AT_E_INBOUND_LIMIT:
    case AT_E_CONNECTION:
    case AT_E_SERVER_PAUSED:
        return 1;
    default:
        return 0;
    }
}
