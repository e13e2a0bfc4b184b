/*
 * lib/at/response.h - what an atServer sends back (atprotocol.md 2.2, 2.4).
 *
 * Client side: at_response_parse() classifies one received line (without
 * its '\n'; a trailing '\r' is ignored) after dropping a leading prompt
 * ("@" or "@<atsign>@") glued in front of it: data:, error: (text form with
 * '-' or ':' separator, and the JSON form), notification: pushes, stream:,
 * the bare "@alice@" pol answer, an empty/prompt-only segment, or other.
 *
 * Server side: formatters for "data:<payload>\n<prompt>" and the error forms
 * (text "<description> : <message>" when authenticated, "Exception:
 * <message>" otherwise; JSON {"errorCode","errorDescription"}; the colon
 * form used for APKAM states), written into a bounded np_buf so the caller
 * can send body and prompt in one write (2.2).
 */
#ifndef AT_RESPONSE_H
#define AT_RESPONSE_H
#include <stdbool.h>
#include <stddef.h>

#include "at/atsign.h"
#include "at/error.h"

struct np_buf;

enum at_resp_kind {
    AT_RESP_EMPTY = 0,    /* nothing (empty line or a lone "@" prompt) */
    AT_RESP_DATA,         /* data:<payload> */
    AT_RESP_ERROR,        /* error:<...> */
    AT_RESP_NOTIFICATION, /* notification: <json> */
    AT_RESP_POL,          /* exactly "@<atsign>@" */
    AT_RESP_STREAM,       /* stream:<...> */
    AT_RESP_OTHER         /* anything else (payload = the whole line) */
};

struct at_response {
    enum at_resp_kind kind;
    const char *payload; /* BORROWED from the parsed line: data payload (one leading
                            space dropped before '[' or '{'), notification JSON,
                            stream rest, error text after "error:", or the line */
    size_t payload_len;
    int code;                   /* error: AT code number (15 for AT0015), -1 if none */
    char *message;              /* error: OWNED message text (np_free via clear) */
    char atsign[AT_ATSIGN_BUF]; /* pol: "@alice" */
};

/* Bytes of a leading prompt to skip: "@" or "@<atsign>@" directly followed
 * by data:, error:, notification: or stream:. 0 when there is none. */
size_t at_response_prompt_len(const char *line, size_t len);

/*
 * Classify line[0..len). *r is reset at entry. Pointers in *r borrow from
 * line (keep it alive), except message, which is allocated. Returns 0, or
 * NP_ERR_NOMEM / NP_ERR_INVAL. A malformed error body still parses (code -1,
 * message = raw text). Call at_response_clear afterwards.
 */
int at_response_parse(const char *line, size_t len, struct at_response *r);
/* Free the message and zero *r. NULL-safe. */
void at_response_clear(struct at_response *r);

/* Append "data:<payload>\n<prompt>" ("data: " when spaced, for stats and
 * notify:all). prompt NULL = none. np_buf errors. */
int at_response_format_data(struct np_buf *b, const char *payload, size_t len, bool spaced,
                            const char *prompt);
/*
 * Append an error. Description: "<standard description> : <message>" when
 * authenticated, "Exception: <message>" otherwise, the bare standard
 * description when message is NULL. Text form "error:ATxxxx-<description>",
 * JSON form error:{"errorCode":"ATxxxx","errorDescription":"<description>"};
 * then "\n<prompt>" (prompt NULL: just "\n", as for AT0012). CR/LF in the
 * message become spaces. NP_ERR_INVAL for codes outside 0..9999.
 */
int at_response_format_error(struct np_buf *b, int code, const char *message, bool authenticated,
                             bool json, const char *prompt);
/* Append "error:ATxxxx:<message>\n<prompt>" (the colon form of 2.4). */
int at_response_format_error_colon(struct np_buf *b, int code, const char *message,
                                   const char *prompt);

#endif
