/*
 * src/atdirectory/request.h - the directory's request line: classification,
 * atSign normalisation, host:port checks and the exact answer bytes
 * (atprotocol.md 2.5). Pure functions, no I/O; fuzzed by
 * fuzz/fuzz_dirline.c.
 *
 * Names are stored and looked up in the form the official directory uses
 * as its key: the atSign without '@', ASCII lower-cased, '.' removed
 * ("@Alice🛠" -> "alice🛠"). The accepted alphabet follows the atSign rules
 * of atprotocol.md 4.1 as lib/at/atsign.h implements them: ASCII letters,
 * digits, '_' and '-', and non-ASCII code points except C1 controls and
 * Unicode spaces (emoji such as U+1F6E0); at most 55 characters counted in
 * UTF-16 code units as Dart counts them; UTF-8 must be valid.
 */
#ifndef ATDIRECTORY_REQUEST_H
#define ATDIRECTORY_REQUEST_H
#include <stddef.h>

#define DIR_ATSIGN_MAX_UNITS 55
/* A normalised name plus NUL: 55 units of at most 3 UTF-8 bytes each. */
#define DIR_NAME_BUF 168
/* Longest request line the server reads (the official root's buffer). */
#define DIR_MAX_LINE 255
/* Longest stored "host:port" (host <= 255 bytes, brackets, port). */
#define DIR_ADDR_BUF 272
/* Longest answer: address + "\r\n@" + NUL. */
#define DIR_ANSWER_BUF (DIR_ADDR_BUF + 4)

enum dir_req_kind {
    DIR_REQ_LOOKUP = 0,  /* name filled */
    DIR_REQ_EMPTY = 1,   /* blank line: answer null, not counted */
    DIR_REQ_EXIT = 2,    /* "@exit": close without an answer */
    DIR_REQ_INVALID = 3, /* not an atSign: answer null, counted */
};

/*
 * Classify one request line (line[0..len), without its '\n'; may contain
 * any bytes). Leading/trailing ASCII whitespace (including '\r') is
 * ignored, one leading '@' is optional, case does not matter. For
 * DIR_REQ_LOOKUP the normalised name is written to name (NUL-terminated);
 * name[0] is '\0' for every other kind. Returns an enum dir_req_kind.
 */
int dir_request_parse(const char *line, size_t len, char name[DIR_NAME_BUF]);

/*
 * Normalise an atSign given by an administrator or a client ("@Alice",
 * "alice", "@al.ice") into name (see the top of this file). name[0] = '\0'
 * at entry; filled only on success. Returns 0, NP_ERR_FORMAT (empty,
 * forbidden character, invalid UTF-8, a second '@') or NP_ERR_TOOBIG (more
 * than 55 characters).
 */
int dir_atsign_normalise(const char *s, size_t len, char name[DIR_NAME_BUF]);

/*
 * Check "host:port" (port required, 1..65535; IPv6 hosts in brackets) and
 * write its canonical text to out (size >= DIR_ADDR_BUF). out[0] = '\0' at
 * entry. Returns 0 or NP_ERR_FORMAT.
 */
int dir_address_check(const char *s, char *out, size_t size);

/*
 * The answer bytes: "<address>\r\n@" when address is non-NULL, else
 * "null\r\n@". Written NUL-terminated to out (size >= DIR_ANSWER_BUF);
 * returns the byte count (without the NUL), or NP_ERR_TOOBIG.
 */
int dir_answer_format(const char *address, char *out, size_t size);

#endif
