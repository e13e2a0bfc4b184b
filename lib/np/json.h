/*
 * lib/np/json.h - strict JSON parsing and the canonical compact text that
 * NoPorts signs (noports-wire.md 3.2 and 3.2.1).
 *
 * Canonical form of a cJSON tree: no whitespace, separators ',' and ':',
 * members in tree (insertion/parse) order, duplicates kept; numbers only as
 * integers in [-(2^53-1), 2^53-1] written as plain decimal (no fraction, no
 * exponent, -0 as 0); true/false/null literals; strings escaped exactly as Dart
 * jsonEncode does: \" \\ \b \t \n \f \r, other bytes below 0x20 as \u00xx
 * (lower-case hex), every other byte (including '/', DEL and UTF-8) literal.
 * Parsing then re-serialising the output reproduces it byte for byte.
 */
#ifndef NP_NP_JSON_H
#define NP_NP_JSON_H
#include <stddef.h>

#include <cjson/cJSON.h>

struct np_buf;

/* Largest canonical text np_json_canonical produces. */
#define NP_JSON_CANON_MAX (1024 * 1024)
/* Deepest nesting of arrays/objects accepted by the canonical writer. */
#define NP_JSON_MAX_DEPTH 64

/*
 * Parse exactly one JSON value from text[0..len) (need not be NUL-terminated);
 * only whitespace may follow it. len > max -> NP_ERR_TOOBIG; syntax errors
 * (and cJSON allocation failures, which cJSON cannot tell apart) ->
 * NP_ERR_FORMAT. *out (cJSON_Delete) is set only on success.
 */
int np_json_parse(const char *text, size_t len, size_t max, cJSON **out);

/*
 * Canonical text of v into a new NUL-terminated string *out (np_free); *out_len
 * (may be NULL) gets its length. NP_ERR_UNSUPPORTED for a number that is not
 * an integer of at most 53 bits, or a cJSON_Raw item; NP_ERR_INVAL for an
 * invalid item or a member without a name; NP_ERR_TOOBIG past
 * NP_JSON_CANON_MAX bytes or NP_JSON_MAX_DEPTH levels; NP_ERR_NOMEM.
 */
int np_json_canonical(const cJSON *v, char **out, size_t *out_len);
/* Same, appended to b (subject to b's own maximum). On error b may hold a
 * partial text; the caller discards it. */
int np_json_canonical_buf(const cJSON *v, struct np_buf *b);

#endif
