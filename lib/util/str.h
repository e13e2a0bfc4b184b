/*
 * lib/util/str.h - small string helpers: checked integer parsing (the only
 * sanctioned way to turn text into numbers), prefix tests, case folding.
 */
#ifndef NP_UTIL_STR_H
#define NP_UTIL_STR_H
#include <stddef.h>
#include <stdint.h>

/* Parse a whole string as a base-10 integer in [min, max]. Leading '+' or
 * whitespace, trailing junk, empty input and overflow are NP_ERR_FORMAT /
 * NP_ERR_TOOBIG. *out is set only on success. */
int np_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Same for a length-delimited string (need not be NUL-terminated). */
int np_parse_i64n(const char *s, size_t n, int64_t min, int64_t max, int64_t *out);

int np_str_startswith(const char *s, const char *prefix);
int np_str_endswith(const char *s, const char *suffix);
/* ASCII lower-case in place; returns s. Non-ASCII bytes are untouched. */
char *np_str_lower(char *s);
/* Strip leading and trailing ASCII whitespace in place; returns s. */
char *np_str_trim(char *s);
/* snprintf that reports truncation: 0, or NP_ERR_TOOBIG if it did not fit. */
int np_str_fmt(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
