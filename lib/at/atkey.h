/*
 * lib/at/atkey.h - atKey names: parse, classify, format (atprotocol.md 4).
 *
 * Accepted text forms (ASCII case-insensitive; stored lower-case):
 *   [cached:][public:|@with:]<name>[.<namespace>][@owner]
 *   privatekey:<name>                 (server-internal, no owner)
 *   private:<name>@owner              (server-internal)
 *   local:<name>[.<namespace>]@owner  (client-local)
 * <name> characters: ASCII letters, digits, '_', '.', '-', '\'', '*', '"'
 * and non-ASCII symbols (emoji). Never ':', '@' or whitespace.
 * <namespace> is the text after the last '.', when that text is non-empty
 * and made of [a-z0-9_] only; otherwise the key has no namespace.
 * Length limit (Dart String.length on the full key): 248, or 255 when the key
 * starts with "cached:".
 *
 * Classification (first match wins, 4.1): reserved (4.3, tested on the key
 * without its "cached:" prefix, like the Dart partial match) -> public ->
 * private -> self/shared -> cached public -> cached shared -> local ->
 * invalid. A key that parses can still be AT_KEY_INVALID (e.g. "phone" with
 * no owner); callers map that to AT0016.
 *
 * struct at_key is a plain value (no heap pointers): copy it freely.
 */
#ifndef AT_ATKEY_H
#define AT_ATKEY_H
#include <stdbool.h>
#include <stddef.h>

#include "at/atsign.h"

#define AT_KEY_MAX_CHARS        248  /* full key, Dart String.length */
#define AT_KEY_MAX_CACHED_CHARS 255  /* when it starts with "cached:" */
#define AT_KEY_BUF              1024 /* holds any valid formatted key + NUL */
#define AT_KEY_NS_BUF           256  /* holds any valid namespace + NUL */

enum at_key_type {
    AT_KEY_INVALID = 0,
    AT_KEY_RESERVED,      /* 4.3: privatekey:at_secret, public:publickey@x, ... */
    AT_KEY_PUBLIC,        /* public:k@owner */
    AT_KEY_PRIVATE,       /* private:k@owner, privatekey:k (not reserved) */
    AT_KEY_SELF,          /* k@owner, @owner:k@owner */
    AT_KEY_SHARED,        /* @with:k@owner, with != owner */
    AT_KEY_CACHED_PUBLIC, /* cached:public:k@owner */
    AT_KEY_CACHED_SHARED, /* cached:@with:k@owner */
    AT_KEY_LOCAL          /* local:k@owner */
};

/* Structural prefix of the key (what is written before the name). */
enum at_key_form {
    AT_KEY_FORM_PLAIN = 0,  /* no prefix, or "@with:" when shared_with is set */
    AT_KEY_FORM_PUBLIC,     /* "public:" */
    AT_KEY_FORM_PRIVATE,    /* "private:" */
    AT_KEY_FORM_PRIVATEKEY, /* "privatekey:" (no owner) */
    AT_KEY_FORM_LOCAL       /* "local:" */
};

struct at_key {
    enum at_key_type type;           /* classification, see above */
    enum at_key_form form;           /* prefix */
    bool cached;                     /* "cached:" prefix present */
    bool is_public;                  /* form == AT_KEY_FORM_PUBLIC */
    bool hidden;                     /* name starts with '_' */
    bool reserved;                   /* matches a 4.3 pattern (type may say so) */
    char shared_with[AT_ATSIGN_BUF]; /* "@bob" or "" */
    char name[AT_KEY_BUF];           /* entity without ".namespace", lower-case */
    char ns[AT_KEY_NS_BUF];          /* namespace or "" */
    char owner[AT_ATSIGN_BUF];       /* "@alice" or "" (privatekey:, bare reserved) */
};

/*
 * Parse text[0..n) into *key (cleared at entry, filled only on success).
 * Errors: NP_ERR_FORMAT (bad syntax or character, invalid UTF-8, empty
 * name), NP_ERR_TOOBIG (over the 248/255 limit), NP_ERR_INVAL (NULL).
 */
int at_key_parse(const char *text, size_t n, struct at_key *key);

/*
 * Write the canonical text of *key to buf (NUL-terminated). The fields are
 * validated by re-parsing the result, so only keys that at_key_parse accepts
 * are produced; at_key_parse(at_key_format(k)) reproduces k.
 * Errors: NP_ERR_TOOBIG (buf too small or key over the limit),
 * NP_ERR_FORMAT (invalid fields), NP_ERR_INVAL. buf[0] = '\0' on error.
 */
int at_key_format(const struct at_key *key, char *buf, size_t size);

/*
 * Build and classify a key from parts: form, optional shared_with (with or
 * without '@', normalised), entity (name with optional ".namespace"),
 * optional owner (normalised), cached flag. Same errors as at_key_parse.
 */
int at_key_make(struct at_key *key, enum at_key_form form, const char *shared_with,
                const char *entity, const char *owner, bool cached);

/* "<name>[.<ns>]" into buf; NP_ERR_TOOBIG if it does not fit. */
int at_key_entity(const struct at_key *key, char *buf, size_t size);

/*
 * Is the key protected from delete (4.3) on the server of atSign `me`:
 * public:signing_publickey<me>, <me>:signing_privatekey<me>,
 * public:publickey<me>, privatekey:at_pkam_publickey, or one of the extra
 * full key texts (NULL-terminated list, lower-case; may be NULL)? Cached
 * copies are never protected. Returns 1 or 0.
 */
int at_key_is_protected(const struct at_key *key, const char *me, const char *const *extra);

/* Lower-case English name of a type ("public", "cached shared", ...). */
const char *at_key_type_name(enum at_key_type type);

#endif
