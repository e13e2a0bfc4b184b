/*
 * lib/at/metadata.h - key and notification metadata (atprotocol.md 5).
 *
 * struct at_metadata holds every field of 5.1/5.2 with two bit sets indexed
 * by enum at_md_field:
 *   present - the field was given (a command option, a JSON member, a setter);
 *   nulled  - it was given as the literal null (string fields only on the
 *             wire): merging such a field clears it in the destination.
 * A field not in `present` is absent: merging keeps the destination's value.
 * String members are owned by the struct (np_strdup'd); release them with
 * at_metadata_clear. Dates are epoch milliseconds (UTC).
 *
 * Three representations:
 *   wire options  ":ttl:60000:isEncrypted:true:ivNonce:<b64>" (5.1), parsed in
 *                 any order, formatted in one canonical order;
 *   JSON          the 5.2 object returned by llookup:meta etc. (json file);
 *   derived dates availableAt/expiresAt/refreshAt from a write time.
 */
#ifndef AT_METADATA_H
#define AT_METADATA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct np_buf;

enum at_md_field {
    AT_MD_TTL = 0,
    AT_MD_TTB,
    AT_MD_TTR,
    AT_MD_CCD,
    AT_MD_DATA_SIGNATURE,
    AT_MD_SHARED_KEY_STATUS,
    AT_MD_IS_BINARY,
    AT_MD_IS_ENCRYPTED,
    AT_MD_SHARED_KEY_ENC,
    AT_MD_PUB_KEY_CS,
    AT_MD_ENCODING,
    AT_MD_ENC_KEY_NAME,
    AT_MD_ENC_ALGO,
    AT_MD_IV_NONCE,
    AT_MD_SKE_ENC_KEY_NAME,
    AT_MD_SKE_ENC_ALGO,
    AT_MD_HASH, /* at_c / newer Dart "pubKeyHash" parts, stored opaquely */
    AT_MD_ALGO,
    /* server-managed (JSON only, never wire options) */
    AT_MD_CREATED_BY,
    AT_MD_UPDATED_BY,
    AT_MD_CREATED_AT,
    AT_MD_UPDATED_AT,
    AT_MD_AVAILABLE_AT,
    AT_MD_EXPIRES_AT,
    AT_MD_REFRESH_AT,
    AT_MD_STATUS,
    AT_MD_VERSION,
    AT_MD__COUNT
};

#define AT_MD_BIT(f) (1u << (f))

/* Largest accepted ttl/ttb (ms) and ttr (s): about 3170 years. */
#define AT_MD_TTL_MAX 100000000000000LL
#define AT_MD_TTR_MAX 100000000000LL

struct at_metadata {
    uint32_t present; /* AT_MD_BIT(field): given */
    uint32_t nulled;  /* AT_MD_BIT(field): given as null (subset of present) */
    int64_t ttl;      /* ms, >= 0 */
    int64_t ttb;      /* ms, >= 0 */
    int64_t ttr;      /* s, -1 or >= 0 (0 = no refresh) */
    bool ccd, is_binary, is_encrypted;
    char *data_signature, *shared_key_status, *shared_key_enc, *pub_key_cs, *encoding;
    char *enc_key_name, *enc_algo, *iv_nonce, *ske_enc_key_name, *ske_enc_algo;
    char *hash, *algo;
    char *created_by, *updated_by, *status;
    int64_t created_at, updated_at, available_at, expires_at, refresh_at; /* epoch ms */
    int64_t version;
};

/* Zero the struct (no fields present). Safe on uninitialised memory. */
void at_metadata_init(struct at_metadata *md);
/* Free owned strings and zero the struct. NULL-safe. */
void at_metadata_clear(struct at_metadata *md);
/* Deep copy src into dst (dst is cleared first). NP_ERR_NOMEM leaves dst
 * empty. */
int at_metadata_copy(struct at_metadata *dst, const struct at_metadata *src);

/* Is the field given (and not null)? */
bool at_metadata_has(const struct at_metadata *md, enum at_md_field f);
/* Wire/JSON name of a field ("ivNonce"), or NULL. */
const char *at_metadata_field_name(enum at_md_field f);
/* Look a wire option name up, ASCII case-insensitive, "message_type" not
 * included. Returns the field or -1. Only the 18 wire options match. */
int at_metadata_option_lookup(const char *name, size_t n);

/* Setters: mark present, clear nulled, store the value (strings copied).
 * Wrong field kind -> NP_ERR_INVAL; NP_ERR_NOMEM. */
int at_metadata_set_int(struct at_metadata *md, enum at_md_field f, int64_t v);
int at_metadata_set_bool(struct at_metadata *md, enum at_md_field f, bool v);
int at_metadata_set_str(struct at_metadata *md, enum at_md_field f, const char *s);
/* Mark the field as given-as-null (and drop any value). */
int at_metadata_set_null(struct at_metadata *md, enum at_md_field f);
/* Drop a field (not present). */
void at_metadata_unset(struct at_metadata *md, enum at_md_field f);

/*
 * Parse one wire option value for field f (value[0..n), not NUL-terminated):
 * ttl/ttb integer in [0, AT_MD_TTL_MAX]; ttr -1 or in [0, AT_MD_TTR_MAX]
 * (<= -2 rejected); bools true|false (case-insensitive); strings
 * [^:@ whitespace]+, the literal "null" marking the field nulled.
 * A field already present -> NP_ERR_EXISTS (duplicates are refused).
 * Errors: NP_ERR_FORMAT (syntax/range), NP_ERR_EXISTS, NP_ERR_NOMEM.
 */
int at_metadata_parse_option(struct at_metadata *md, enum at_md_field f, const char *value,
                             size_t n);

/*
 * Parse a complete option sequence text[0..n) such as ":ttl:1000:ccd:true"
 * (leading ':' required unless n == 0) in any order into *md (fields are
 * added; *md must be initialised). Unknown option names, missing values and
 * duplicates are NP_ERR_FORMAT / NP_ERR_EXISTS; on error *md is left with
 * the options parsed so far (callers discard it).
 */
int at_metadata_parse_options(struct at_metadata *md, const char *text, size_t n);

/*
 * Append the present wire options as ":name:value" in the canonical sending
 * order (Dart 3.0.52 grammar order, hash/algo after pubKeyCS as at_c places
 * them): ttl ttb ttr ccd dataSignature sharedKeyStatus isBinary isEncrypted
 * sharedKeyEnc pubKeyCS hash algo encoding encKeyName encAlgo ivNonce
 * skeEncKeyName skeEncAlgo. Nulled string fields are written as "null".
 * Server-managed fields are never written. Errors from np_buf (TOOBIG/NOMEM).
 */
int at_metadata_format_options(const struct at_metadata *md, struct np_buf *out);

/* Copy every present field of src into dst; nulled fields clear dst's value
 * (and dst's present bit). NP_ERR_NOMEM (dst partially merged). */
int at_metadata_merge(struct at_metadata *dst, const struct at_metadata *src);

/*
 * Recompute the derived dates from a write at now_ms (5.2/5.3):
 *   availableAt = now + ttb              when ttb > 0, else absent;
 *   expiresAt   = now + ttb + ttl        when ttl > 0, else absent;
 *   refreshAt   = now + ttr * 1000       when ttr > 0 (ttr is in SECONDS,
 *                                        the Dart server's quirk), else absent.
 */
void at_metadata_compute_dates(struct at_metadata *md, int64_t now_ms);
/* Visible at now_ms: now >= availableAt (if set) and now <= expiresAt (if set). */
bool at_metadata_is_active(const struct at_metadata *md, int64_t now_ms);

/*
 * Serialise as the 5.2 JSON object into *json (malloc'd, caller frees with
 * np_free; *json NULL on error). Absent/nulled fields omitted; member order:
 * createdBy updatedBy createdAt updatedAt availableAt expiresAt refreshAt
 * status version ttl ttb ttr ccd isBinary isEncrypted dataSignature
 * sharedKeyEnc pubKeyCS encoding encKeyName encAlgo ivNonce skeEncKeyName
 * skeEncAlgo, then the non-table fields sharedKeyStatus hash algo. Dates in
 * Dart text form, numbers as JSON integers, bools as JSON booleans.
 * With `stringified` every value is a JSON string (the sync:from variant).
 */
int at_metadata_to_json(const struct at_metadata *md, bool stringified, char **json);

/*
 * Parse a 5.2 JSON object (text[0..n)) into *md (cleared at entry, filled
 * only on success). Members in any order; values may also be strings holding
 * the number/bool/date (sync variant); JSON null and the string "null" mean
 * absent; unknown members are ignored. Wrong types or unparsable values ->
 * NP_ERR_FORMAT; NP_ERR_NOMEM.
 */
int at_metadata_from_json(struct at_metadata *md, const char *text, size_t n);
/* Same from an already parsed cJSON object (const struct cJSON *). */
int at_metadata_from_cjson(struct at_metadata *md, const void *object);

#endif
