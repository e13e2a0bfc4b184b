/*
 * lib/at/at_int.h - helpers shared only inside lib/at (not part of the API).
 *
 * Text scanning primitives used by the atSign, atKey, metadata and verb
 * parsers: UTF-8 decoding with validation, Dart-style length counting
 * (UTF-16 code units, like Dart's String.length), ASCII case-insensitive
 * comparison of length-delimited slices. Nothing here allocates.
 */
#ifndef AT_AT_INT_H
#define AT_AT_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode one UTF-8 scalar from s[0..n). Returns its byte length (1..4) and
 * stores the code point in *cp, or 0 for malformed/overlong/surrogate/
 * truncated input. n must be > 0. */
size_t at__utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Length of valid UTF-8 text in UTF-16 code units (Dart String.length), or
 * (size_t)-1 if the text is not valid UTF-8. */
size_t at__utf16_len(const char *s, size_t n);

/* True for non-ASCII code points we accept inside atSigns and key names
 * (emoji and other symbols); false for C1 controls and Unicode spaces. */
bool at__cp_allowed(uint32_t cp);

/* ASCII case-insensitive: does s[0..n) equal the NUL-terminated lit? */
bool at__eq_ci(const char *s, size_t n, const char *lit);
/* ASCII case-insensitive prefix test on a NUL-terminated s. */
bool at__starts_ci(const char *s, const char *prefix);
/* Lower-case ASCII letters of s[0..n) in place. */
void at__lower_n(char *s, size_t n);
/* Is c an ASCII whitespace byte (space, \t, \n, \v, \f, \r)? */
bool at__is_space(char c);

/* Parse exactly one JSON value from s[0..n) (trailing whitespace allowed,
 * anything else refused). Returns a cJSON tree (free with cJSON_Delete) or
 * NULL on malformed input or allocation failure. */
void *at__json_parse(const char *s, size_t n);

/* Canonical date text for an epoch-ms value, clamped to years 0001..9999 so
 * that the output always has the Dart shape "YYYY-MM-DD HH:MM:SS.mmmZ".
 * dst must hold AT__DATE_BUF bytes. */
#define AT__DATE_BUF 32
void at__date_format(char *dst, size_t size, int64_t epoch_ms);
/* Parse a Dart DateTime text ("YYYY-MM-DD HH:MM:SS[.f{1,6}][Z]", 'T' also
 * accepted as separator) to epoch ms (UTC). 0 or NP_ERR_FORMAT. */
int at__date_parse(const char *s, size_t n, int64_t *out_ms);
/* Days since 1970-01-01 for a proleptic Gregorian date (no validation). */
int64_t at__days_from_civil(int64_t y, unsigned m, unsigned d);
/* Validate a calendar date. */
bool at__date_valid(int64_t y, int m, int d);

#endif
