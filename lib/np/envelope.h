/*
 * lib/np/envelope.h - the NoPorts signed envelope (noports-wire.md 3.2):
 *
 *   {"payload":<OBJECT>,"signature":"<B64>","hashingAlgo":"sha256","signingAlgo":"rsa2048"}
 *
 * The signature is RSASSA-PKCS1-v1_5 over the canonical text of the payload
 * (np/json.h), made with the sender's ENCRYPTION private key; receivers
 * re-serialise the parsed payload canonically and verify those bytes with the
 * sender's public:publickey. Accepted algorithms: hashingAlgo "sha256" or
 * "sha512", signingAlgo "rsa2048"; anything else is NP_ERR_UNSUPPORTED.
 * Envelopes are at most NP_ENVELOPE_MAX bytes.
 */
#ifndef NP_NP_ENVELOPE_H
#define NP_NP_ENVELOPE_H
#include <stddef.h>

#include <cjson/cJSON.h>

#include "crypto/rsa.h"

#define NP_ENVELOPE_MAX (64 * 1024)

/* A parsed, not yet verified envelope (opaque; np_envelope_free). */
struct np_envelope;

/*
 * Sign payload (a JSON object) with SHA-256 and build the envelope text in a
 * new string *out_json (np_free), members in the order shown above.
 * NP_ERR_INVAL (payload not an object, key without private half),
 * NP_ERR_UNSUPPORTED (payload holds a non-integral number), NP_ERR_TOOBIG
 * (envelope would exceed NP_ENVELOPE_MAX), NP_ERR_CRYPTO, NP_ERR_NOMEM.
 */
int np_envelope_sign(const struct np_rsa_key *priv, const cJSON *payload, char **out_json);
/* Same with the hash chosen (labelled "sha256" or "sha512"). */
int np_envelope_sign_alg(const struct np_rsa_key *priv, enum np_hash_alg alg, const cJSON *payload,
                         char **out_json);

/*
 * Parse an envelope without verifying it. Checks the shape: an object with an
 * object "payload", string "signature", "hashingAlgo", "signingAlgo"
 * (missing/mistyped -> NP_ERR_FORMAT; unknown algorithm -> NP_ERR_UNSUPPORTED)
 * and computes the payload's canonical text. Only whitespace may follow the
 * JSON (a trailing '\n' is fine). len > NP_ENVELOPE_MAX -> NP_ERR_TOOBIG.
 * *out is set only on success.
 */
int np_envelope_parse(const char *json, size_t len, struct np_envelope **out);
void np_envelope_free(struct np_envelope *e);
/* Borrowed views, valid until np_envelope_free (or np_envelope_take_payload
 * for the first one). */
const cJSON *np_envelope_payload(const struct np_envelope *e);
/* Canonical payload text: the bytes the signature must cover. */
const char *np_envelope_payload_text(const struct np_envelope *e);
size_t np_envelope_payload_text_len(const struct np_envelope *e);
const char *np_envelope_signature(const struct np_envelope *e);
enum np_hash_alg np_envelope_hash_alg(const struct np_envelope *e);
/* Move the payload out: the caller owns it (cJSON_Delete); later calls and
 * np_envelope_payload return NULL. */
cJSON *np_envelope_take_payload(struct np_envelope *e);
/* Verify the parsed envelope's signature over its own payload text with pub:
 * 0 or NP_ERR_VERIFY. */
int np_envelope_check(const struct np_envelope *e, const struct np_rsa_key *pub);

/*
 * Verify sig_b64 over text[0..len) (e.g. a payload the receiver rebuilt itself,
 * noports-wire.md 5.9). 0 if valid; NP_ERR_VERIFY for a bad signature,
 * including one that is not valid base64 or has the wrong length.
 */
int np_envelope_verify_text(const struct np_rsa_key *pub, enum np_hash_alg alg, const char *text,
                            size_t len, const char *sig_b64);

/*
 * Parse and verify in one call. On success *payload_out (may be NULL if not
 * wanted) receives the payload object (cJSON_Delete). Errors as for
 * np_envelope_parse, then NP_ERR_VERIFY.
 */
int np_envelope_verify(const char *json, size_t len, const struct np_rsa_key *pub,
                       cJSON **payload_out);

#endif
