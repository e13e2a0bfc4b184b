/*
 * lib/at/atsign.h - atSign normalisation and validation (atprotocol.md 3.1,
 * 4.1).
 *
 * The canonical form of an atSign is "@" followed by 1..55 characters, ASCII
 * letters lower-cased. Lengths count UTF-16 code units, as Dart's
 * String.length does (an emoji outside the BMP counts 2). Allowed characters:
 * ASCII letters, digits, '_' and '-', and non-ASCII code points (emoji and
 * other symbols; UTF-8 is validated, C1 controls and Unicode spaces are not
 * allowed). The Dart normaliser additionally deletes '.' characters and
 * rejects the reserved punctuation ! * ' ` ( ) ; : & = + $ , / ? # [ ] { },
 * whitespace and control characters; we also reject the remaining ASCII
 * punctuation because no key grammar could carry it.
 * Pure functions; output buffers are the caller's.
 */
#ifndef AT_ATSIGN_H
#define AT_ATSIGN_H
#include <stddef.h>

/* Maximum characters after '@' (UTF-16 code units, as Dart counts). */
#define AT_ATSIGN_MAX_CHARS 55
/* Bytes that hold any canonical atSign plus NUL ('@' + 55 x 3 bytes + 1). */
#define AT_ATSIGN_BUF 168

/*
 * Normalise a user- or peer-supplied atSign (in[0..n), "@alice", "alice",
 * "@Ali.ce"): drop one leading '@', lower-case ASCII, delete '.', validate,
 * then write "@<name>" NUL-terminated to out. out[0] is set to '\0' at entry
 * and filled only on success.
 * Errors: NP_ERR_FORMAT (empty name, forbidden character, invalid UTF-8,
 * another '@'), NP_ERR_TOOBIG (more than 55 characters), NP_ERR_INVAL (NULL
 * argument or out smaller than AT_ATSIGN_BUF).
 */
int at_atsign_normalise(const char *in, size_t n, char *out, size_t out_size);

/*
 * Strict check of an atSign as it must appear inside keys and verb
 * arguments: '@' + 1..55 allowed characters, no '.', any letter case.
 * Returns 0, NP_ERR_FORMAT or NP_ERR_TOOBIG.
 */
int at_atsign_check(const char *s, size_t n);

/* Do two atSigns name the same atSign after normalisation? 1 yes, 0 no
 * (also 0 when either does not normalise). */
int at_atsign_equal(const char *a, const char *b);

#endif
