/*
 * lib/np/device.h - NoPorts device names (noports-wire.md 12.1) and the
 * human durations of npt -T (11.2).
 */
#ifndef NP_NP_DEVICE_H
#define NP_NP_DEVICE_H
#include <stddef.h>
#include <stdint.h>

#define NP_DEVICE_NAME_MAX 36
#define NP_DEVICE_NAME_ERROR                                                                       \
    "Device name must be alphanumeric snake case, max length 36. First char must be _, a-z, or "   \
    "0-9."

/*
 * Normalise (lower-case ASCII; every run of whitespace becomes one '_') into
 * out[size], then validate: the result must match [a-z0-9_][a-z0-9_-]{1,35}.
 * Returns 0, NP_ERR_FORMAT (invalid; show NP_DEVICE_NAME_ERROR) or
 * NP_ERR_TOOBIG (out too small). out is written only on success.
 */
int np_device_name_normalize(const char *in, char *out, size_t size);
/* Validate an already normalised name (no changes made). */
int np_device_name_valid(const char *name);

/*
 * Parse an npt timeout: "30s", "14m", "1h", "7d", compound "1h,14m,30s" or
 * "1h14m30s", a bare number of seconds ("90"), or "0" = 365 days. Result in
 * milliseconds, at most 365 days. NP_ERR_FORMAT on anything else.
 */
int np_duration_parse(const char *s, int64_t *ms_out);

#endif
