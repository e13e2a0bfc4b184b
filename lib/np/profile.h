/*
 * lib/np/profile.h - sshnp config profiles (noports-wire.md 10): a file of
 * `KEY=value` lines, KEY being an option's long name upper-cased with '-'
 * turned into '_' (FROM, TO, DEVICE, SRVD, LOCAL_PORT, REMOTE_USER_NAME).
 * Files live in ~/.sshnp/config/<profile>.env or anywhere --config-file says.
 *
 * The parser is strict because the file is outside input (and fuzzed,
 * fuzz/fuzz_profile.c):
 *   - at most NP_PROFILE_FILE_MAX bytes, NP_PROFILE_LINES_MAX lines, each at
 *     most NP_PROFILE_LINE_MAX bytes (without its "\n"; one "\r" before the
 *     "\n" is dropped);
 *   - blank lines and lines whose first non-blank byte is '#' are ignored;
 *   - otherwise the line is KEY=value: KEY (blanks around it ignored) is
 *     1..NP_PROFILE_KEY_MAX of [A-Z0-9_] starting with a letter; value is the
 *     rest after the first '=', blanks around it ignored, one pair of
 *     matching surrounding quotes ('...' or "...") removed (no escapes);
 *   - a NUL byte anywhere, or a control byte other than TAB in a value, is an
 *     error; so is a line without '='.
 * Every error names the line: "line 3: no '=' (expected KEY=value)".
 * Which keys are valid options is decided by the caller (np/client_opts.h).
 * Pure: no I/O except np_profile_load.
 */
#ifndef NP_NP_PROFILE_H
#define NP_NP_PROFILE_H
#include <stddef.h>

#define NP_PROFILE_FILE_MAX  (64 * 1024)
#define NP_PROFILE_LINES_MAX 512
#define NP_PROFILE_LINE_MAX  4096
#define NP_PROFILE_KEY_MAX   64

/* One KEY=value line: name is the option's long name ("local-port"). */
struct np_profile_entry {
    char *name;
    char *value;
    int line; /* 1-based line number, for messages */
};

/* A parsed profile (opaque). */
struct np_profile;

/*
 * Parse text[0..len). *out (np_profile_free) is set only on success.
 * Errors: NP_ERR_TOOBIG (file, line count or line length over the limits,
 * key too long), NP_ERR_FORMAT (bad line), NP_ERR_NOMEM, NP_ERR_INVAL (NULL
 * arguments). err (may be NULL) receives a message on error.
 */
int np_profile_parse(const char *text, size_t len, struct np_profile **out, char *err,
                     size_t errlen);

/*
 * Read and parse a file. NP_ERR_NOTFOUND (no such file), NP_ERR_IO,
 * NP_ERR_TOOBIG, or a parse error; the message in err starts with the path.
 */
int np_profile_load(const char *path, struct np_profile **out, char *err, size_t errlen);

/*
 * Resolve a --config-file argument into dst: a name without '/' that is not
 * an existing file becomes $HOME/.sshnp/config/<name>.env (".env" not doubled);
 * anything else is used as given. NP_ERR_TOOBIG if dst is too small,
 * NP_ERR_NOTFOUND when $HOME is needed but unset, NP_ERR_INVAL for "".
 */
int np_profile_path(const char *arg, char *dst, size_t size);

size_t np_profile_count(const struct np_profile *p);
/* The i-th entry in file order (borrowed; valid until np_profile_free), or
 * NULL past the end. */
const struct np_profile_entry *np_profile_get(const struct np_profile *p, size_t i);
void np_profile_free(struct np_profile *p);

#endif
