/*
 * lib/np/escr.h - ESCR relay authentication ("Encrypted Signed
 * Challenge-Response", noports-wire.md 5.10), pure functions for both sides.
 *
 *   relay -> side : <challenge>\n            B64 of 32 fresh random bytes, per socket
 *   side -> relay : <sessionId>:<payload64>\n
 *        p = {"sid":..,"c":<challenge>,"side":"a"|"b"}   signed (PKAM private key)
 *        E = {"p":p,"s":<B64 sig>,"ha":"sha256","sa":"rsa2048","sk":<signing-key URI>}
 *        e = atProtocol AES(key = relayAuthAesKey, fresh IV, plaintext = B64(JSON(E)))
 *        payload64 = B64({"iv":<B64 iv>,"e":<e>})
 *   relay -> side : ok\n   or   Socket auth failed\n (then close)
 *
 * The relay side is split in two steps so that the caller can fetch the
 * signing key asynchronously: np_escr_response_parse decrypts and checks
 * everything that needs no key and returns the sk URI; after the lookup
 * np_escr_response_verify checks the signature over the relay's own
 * reconstruction of p. Every input is bounded by NP_ESCR_LINE_MAX and must be
 * printable ASCII. No I/O here; secrets (the AES key) are wiped after use.
 */
#ifndef NP_NP_ESCR_H
#define NP_NP_ESCR_H
#include <stddef.h>

#include "crypto/rsa.h"

#define NP_ESCR_CHALLENGE_BYTES 32
/* B64 length of a challenge (without '\n'). */
#define NP_ESCR_CHALLENGE_LEN 44
/* A response line including its '\n' must fit in this many bytes. */
#define NP_ESCR_LINE_MAX 4096
/* Longest sk URI accepted. */
#define NP_ESCR_SK_MAX 256

#define NP_ESCR_OK_LINE     "ok\n"
#define NP_ESCR_FAILED_LINE "Socket auth failed\n"

/* Relay: a fresh challenge (B64 of 32 random bytes, NP_ESCR_CHALLENGE_LEN
 * chars, no '\n') in a new string *out (np_free). */
int np_escr_challenge_new(char **out);

/*
 * Side: build the response line `<sessionId>:<payload64>\n` for `challenge`
 * (the relay's line without its '\n'). side is 'a' (client) or 'b' (daemon);
 * pkam_priv signs p with SHA-256; sk_uri names the public signing key
 * (`public:_apsk.<eid>.a.__e@<atSign>`); aes_key_b64 is relayAuthAesKey.
 * *line (np_free) and *len (may be NULL) are set on success.
 * NP_ERR_INVAL for NULL/invalid arguments (bad side, challenge or session id
 * with non-printable bytes or ':'), NP_ERR_FORMAT for a bad key text,
 * NP_ERR_TOOBIG if the line would exceed NP_ESCR_LINE_MAX, NP_ERR_CRYPTO,
 * NP_ERR_NOMEM.
 */
int np_escr_response_build(const struct np_rsa_key *pkam_priv, const char *sk_uri,
                           const char *session_id, const char *challenge, char side,
                           const char *aes_key_b64, char **line, size_t *len);

/*
 * Relay, for routing: the session id before the first ':' of a response
 * line (without '\n') into sid[size]. NP_ERR_FORMAT if there is no ':' or the
 * id is empty, NP_ERR_TOOBIG if it does not fit.
 */
int np_escr_response_session(const char *line, size_t len, char *sid, size_t size);

/* A decrypted and checked, not yet verified response (opaque). */
struct np_escr_response;

/*
 * Relay, step 1: parse the response line (without its '\n'; a trailing '\r'
 * is allowed) received for `challenge` on a socket of side `side` ('a'/'b')
 * of session `session_id` whose relayAuthAesKey is aes_key_b64. Checks, in
 * order: length (NP_ERR_TOOBIG), printable ASCII and syntax (NP_ERR_FORMAT),
 * the session id prefix (NP_ERR_AUTH), decryption and the JSON shapes
 * (NP_ERR_FORMAT; a wrong key shows as NP_ERR_FORMAT), p.sid, p.c, p.side
 * (NP_ERR_AUTH),
 * algorithms ha in {sha256, sha512} and sa == rsa2048 (NP_ERR_UNSUPPORTED),
 * sk: `public:` ... ending in `a.__e` before its last '@', at most
 * NP_ESCR_SK_MAX bytes, and when side_atsign is non-NULL its atSign (after
 * the last '@', compared case-insensitively, leading '@' optional) must be
 * that side's atSign (NP_ERR_AUTH). *out (np_escr_response_free) only on
 * success.
 */
int np_escr_response_parse(const char *line, size_t len, const char *aes_key_b64,
                           const char *session_id, const char *challenge, char side,
                           const char *side_atsign, struct np_escr_response **out);

/* The signing-key URI to look up (borrowed; valid until free). */
const char *np_escr_response_sk(const struct np_escr_response *r);

/*
 * Relay, step 2: verify s with the public key fetched from sk over the
 * canonical reconstruction {"sid":..,"c":..,"side":..} of the expected
 * values. 0, NP_ERR_VERIFY, or NP_ERR_INVAL.
 */
int np_escr_response_verify(const struct np_escr_response *r, const struct np_rsa_key *pub);

void np_escr_response_free(struct np_escr_response *r);

/*
 * Side: classify the relay's reply line (without '\n'; a trailing '\r' is
 * allowed): 0 for "ok", NP_ERR_AUTH for "Socket auth failed", NP_ERR_PROTO
 * for anything else.
 */
int np_escr_reply_check(const char *line, size_t len);

#endif
