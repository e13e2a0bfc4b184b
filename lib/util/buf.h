/*
 * lib/util/buf.h - growable byte buffer with a hard maximum (practice 10).
 *
 * A buffer holds bytes [0, len) starting at a read offset that advances as the
 * caller consumes. It grows on demand up to `max` bytes of content; an append
 * that would exceed max fails with NP_ERR_TOOBIG and changes nothing. The
 * content is always followed by a NUL byte (not counted in len) so that text
 * can be used as a C string, but the buffer is binary-safe.
 *
 * Ownership: np_buf_new allocates; np_buf_free (NULL-safe) releases. Pointers
 * returned by np_buf_ptr are borrowed and invalidated by any append, consume
 * or reset. np_buf_free_secret wipes the storage first.
 */
#ifndef NP_UTIL_BUF_H
#define NP_UTIL_BUF_H
#include <stddef.h>
#include <stdarg.h>

struct np_buf;

/* New empty buffer with content maximum `max` (> 0). NULL on allocation failure. */
struct np_buf *np_buf_new(size_t max);
void np_buf_free(struct np_buf *b);
/* Wipe all storage, then free. */
void np_buf_free_secret(struct np_buf *b);

size_t np_buf_len(const struct np_buf *b);
size_t np_buf_max(const struct np_buf *b);
/* Borrowed pointer to the first unconsumed byte (NUL-terminated). */
const char *np_buf_ptr(const struct np_buf *b);
/* Writable pointer for in-place transforms of the current content. */
char *np_buf_mutable_ptr(struct np_buf *b);

/* Append bytes; NP_ERR_TOOBIG over max, NP_ERR_NOMEM. On error nothing changes. */
int np_buf_put(struct np_buf *b, const void *data, size_t len);
int np_buf_put_str(struct np_buf *b, const char *s);
int np_buf_put_u8(struct np_buf *b, unsigned char c);
int np_buf_putf(struct np_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int np_buf_vputf(struct np_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Drop n bytes from the front; n > len is NP_ERR_INVAL (nothing consumed). */
int np_buf_consume(struct np_buf *b, size_t n);
/* Empty the buffer (keeps storage and max). */
void np_buf_reset(struct np_buf *b);

/*
 * Bounded line reader for network input. If the buffer holds a '\n', copy the
 * text before it (without the '\n' and without one preceding '\r') into a new
 * NUL-terminated string stored in *line (caller frees with np_free), its length
 * in *len (may be NULL), consume through the '\n', and return 0. Without a
 * newline: NP_AGAIN while len < limit, NP_ERR_TOOBIG once `limit` bytes are
 * buffered with no newline (the caller should close the peer). *line is set to
 * NULL at entry.
 */
int np_buf_take_line(struct np_buf *b, size_t limit, char **line, size_t *len);

/* Take the content as a malloc'd NUL-terminated string; the buffer becomes
 * empty. NULL on allocation failure (buffer unchanged). */
char *np_buf_detach(struct np_buf *b, size_t *len);

#endif
