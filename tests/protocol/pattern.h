/*
 * tests/protocol/pattern.h - the response patterns of the transcript driver
 * (driver.c): literal text with placeholders. Classes: {any}, {uuid},
 * {sid} ("_" + uuid), {int}, {hex}, {b64}, {date} (Dart
 * "YYYY-MM-DD HH:MM:SS.mmmZ"); "{class>name}" also captures the matched
 * text. {repeat:N:text} is text N times. Named literals ({@alice}, {$var},
 * {pkampub:alice}, {encpub:alice}) are resolved by the caller. Any other
 * '{' is literal (JSON).
 */
#ifndef NP_PROTOCOL_PATTERN_H
#define NP_PROTOCOL_PATTERN_H
#include <stdbool.h>
#include <stddef.h>

struct pat_env {
    /* The text of a named literal (name = the placeholder without braces,
     * e.g. "@alice", "$nid"), or NULL when unknown (the '{' is then literal). */
    const char *(*literal)(void *arg, const char *name, size_t n);
    /* Store a capture; 0 or -1 (the match then fails). */
    int (*capture)(void *arg, const char *name, size_t n, const char *v, size_t vn);
    void *arg;
};

/* Does text match pattern completely? Captures are stored on success
 * (and possibly for alternatives tried before it). */
bool pat_match(const struct pat_env *env, const char *pattern, const char *text);

/* The N of "{repeat:N:" / "{lines:N:" (q..colon), 0..max, or -1. */
long pat_count(const char *q, const char *colon, long max);

#endif
