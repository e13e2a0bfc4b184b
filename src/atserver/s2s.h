/*
 * src/atserver/s2s.h - pure helpers of server-to-server traffic
 * (atprotocol.md 3.4, 6.4-6.6, 7.2): the forwarded notify line of a sent
 * record, the from/pol proof (parse, sign, verify) and the parsing of remote
 * answers (lookup:all JSON, scan arrays). No I/O, no loop, no store: the
 * unit tests (tests/unit/atserver/test_s2s.c) drive them directly.
 */
#ifndef ATSERVER_S2S_H
#define ATSERVER_S2S_H
#include <stddef.h>

#include "at/atsign.h"

struct np_buf;
struct ns_record;
struct ks_entry;

/* Longest session id accepted in a proof ("_" + UUID is 37 bytes). */
#define S2S_SID_MAX 64
/* Longest proof accepted (a UUID is 36 bytes). */
#define S2S_PROOF_MAX 128
/* Buffer for "<sid><@atsign>" (the proof key without "public:"). */
#define S2S_SID_KEY_BUF (S2S_SID_MAX + AT_ATSIGN_BUF)

/*
 * Append "notify:<body>" (no newline) for a sent record to b, fields in the
 * exact order of atprotocol.md 7.2 item 3 (at_build_forward_notify): id,
 * op, messageType, notifier, ttln (= the record's ttl), then the recorded
 * metadata (ttl, ttb, ttr+ccd when present, isEncrypted, the encryption
 * fields; none at all when the record has no metadata), the full key and
 * the value when there is one.
 * Errors: NP_ERR_INVAL (id/key/value unusable on the wire), NP_ERR_FORMAT
 * (stored metadata unreadable), NP_ERR_TOOBIG (buffer), NP_ERR_NOMEM.
 */
int s2s_notify_line(const struct ns_record *rec, struct np_buf *b);

/*
 * Parse the payload of the answer to "from:<me>" on another server,
 * "proof:<sid><me>:<proof>". sid_key (S2S_SID_KEY_BUF bytes) receives
 * "<sid><me>", proof (S2S_PROOF_MAX + 1 bytes) the proof. Both are cleared
 * at entry and set only on success. The sid must be 1..S2S_SID_MAX bytes of
 * [A-Za-z0-9_-], the proof 1..S2S_PROOF_MAX printable bytes without ':'
 * or whitespace. Errors: NP_ERR_FORMAT (anything else, including another
 * atSign than me), NP_ERR_INVAL.
 */
int s2s_parse_proof(const char *payload, size_t n, const char *me, char sid_key[S2S_SID_KEY_BUF],
                    char proof[S2S_PROOF_MAX + 1]);

/* B64 RSASSA-PKCS1-v1_5 SHA-256 signature over UTF8(proof) with the B64
 * PKCS#8 key priv_b64. *sig_b64: new string (np_free). Errors of
 * np_rsa_from_private_b64 / np_rsa_sign_b64. */
int s2s_sign_proof(const char *priv_b64, const char *proof, char **sig_b64);

/* 0 when sig_b64 is a valid signature over proof by the B64 SPKI key
 * pub_b64; NP_ERR_VERIFY when it is not, NP_ERR_FORMAT (unusable key or
 * signature text) or another negative code otherwise. */
int s2s_verify_proof(const char *pub_b64, const char *proof, const char *sig_b64);

/*
 * An entry from the JSON of a "lookup:all" answer,
 * {"key":…,"data":<string|null>,"metaData":{…}} (members in any order,
 * metaData may be absent or null). The entry (ks_entry_free) has key (the
 * "key" member, or "" when absent), value, meta_json (compact JSON, NULL
 * without metadata) and active = 1; times are 0. Errors: NP_ERR_FORMAT,
 * NP_ERR_NOMEM.
 */
int s2s_entry_from_all(const char *json, size_t n, struct ks_entry **out);

/* Strings of a JSON array (a remote scan answer) into *keys (n_keys
 * entries, each np_free, then the array). Errors: NP_ERR_FORMAT (not an
 * array of strings), NP_ERR_NOMEM. */
int s2s_keys_from_json(const char *json, size_t n, char ***keys, size_t *n_keys);

#endif
