/*
 * lib/np/relay_auth.h - the legacy ("payload") relay-auth line
 * (noports-wire.md 5.9), both sides.
 *
 * A side that the relay must authenticate writes, as the first bytes of every
 * socket it opens to the relay, a signed envelope (np/envelope.h) whose
 * payload is exactly {"sessionId":..,"clientNonce":..,"rvdNonce":..} signed
 * with the side's ENCRYPTION private key, followed by '\n'. The relay reads at
 * most NP_RELAY_AUTH_LINE_MAX bytes up to the first '\n', checks rvdNonce and
 * verifies the signature over ITS OWN reconstruction of the payload (built
 * from the request and its nonce), never over the received payload. Bytes
 * after the '\n' are data and stay with the caller.
 *
 * Pure functions: no I/O; the relay engine feeds buffered bytes in.
 */
#ifndef NP_NP_RELAY_AUTH_H
#define NP_NP_RELAY_AUTH_H
#include <stddef.h>

#include "crypto/rsa.h"

/* The line including its '\n' must fit in this many bytes. */
#define NP_RELAY_AUTH_LINE_MAX 4096

/*
 * Canonical payload text {"sessionId":"<sid>","clientNonce":"<cn>","rvdNonce":"<rn>"}
 * into a new string *out (np_free), its length in *out_len (may be NULL).
 * NULL arguments -> NP_ERR_INVAL.
 */
int np_relay_auth_payload(const char *session_id, const char *client_nonce, const char *rvd_nonce,
                          char **out, size_t *out_len);

/*
 * Side A/B: the complete line (envelope text + '\n') signed with priv (the
 * side's encryption private key, SHA-256) into a new string *line (np_free),
 * its length in *len (may be NULL). Errors from np_envelope_sign; a line that
 * would exceed NP_RELAY_AUTH_LINE_MAX -> NP_ERR_TOOBIG.
 */
int np_relay_auth_line_build(const struct np_rsa_key *priv, const char *session_id,
                             const char *client_nonce, const char *rvd_nonce, char **line,
                             size_t *len);

/*
 * Relay: look for the end of the auth line in the first len bytes received on
 * a socket. 0: found, *line_len = bytes before the '\n' (data starts at
 * line_len + 1). NP_AGAIN: no '\n' yet and fewer than NP_RELAY_AUTH_LINE_MAX
 * bytes seen. NP_ERR_TOOBIG: no '\n' within NP_RELAY_AUTH_LINE_MAX bytes
 * (close the socket). *line_len is 0 unless found.
 */
int np_relay_auth_line_find(const void *buf, size_t len, size_t *line_len);

/*
 * Relay: check one auth line (without its '\n'; a trailing '\r' is allowed)
 * against the session: payload.rvdNonce must equal rvd_nonce (else
 * NP_ERR_AUTH), and the signature must verify with pub over the canonical
 * reconstruction of (session_id, client_nonce, rvd_nonce) (else
 * NP_ERR_VERIFY). Malformed envelope -> NP_ERR_FORMAT, unknown algorithm ->
 * NP_ERR_UNSUPPORTED, len > NP_RELAY_AUTH_LINE_MAX -> NP_ERR_TOOBIG.
 */
int np_relay_auth_line_verify(const char *line, size_t len, const struct np_rsa_key *pub,
                              const char *session_id, const char *client_nonce,
                              const char *rvd_nonce);

#endif
