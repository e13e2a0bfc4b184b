/*
 * lib/np/client_stdio.h - `sshnp --stdio` / `npt --stdio` (ssh ProxyCommand):
 * a pump between a pair of byte-stream descriptors (stdin, stdout) and one
 * end of a socketpair, whose other end the client session bridges to the
 * relay instead of a local listener (np_client_config.stdio_fd).
 *
 *   in_fd  --read-->  [sock end A] ==socketpair== [end B: the session's]
 *   out_fd <--write-- [sock end A]
 *
 * EOF on in_fd becomes shutdown(SHUT_WR) of the socket once everything read
 * was written; EOF on the socket ends the pump once everything was written
 * to out_fd. Each direction buffers at most NP_STDIO_HWM bytes before it
 * stops reading (back-pressure). in_fd and out_fd are switched to
 * non-blocking mode and restored on free; they are not closed.
 * Everything runs on the caller's event_base; in_fd and out_fd must be
 * pollable (pipe, socket, terminal - not a regular file).
 */
#ifndef NP_NP_CLIENT_STDIO_H
#define NP_NP_CLIENT_STDIO_H
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct np_stdio_pipe;

#define NP_STDIO_HWM (256 * 1024)

/*
 * Called once when the pump is over: err 0 after both directions finished
 * (the socket's EOF reached out_fd), else NP_ERR_IO / NP_ERR_EOF (out_fd
 * closed by its reader). May free the pump.
 */
typedef void (*np_stdio_done_fn)(struct np_stdio_pipe *p, int err, void *data);

/*
 * Create the socketpair and start pumping. *peer_fd gets the other end (the
 * caller owns it: hand it to the session as stdio_fd). Errors:
 * NP_ERR_INVAL, NP_ERR_IO (socketpair), NP_ERR_UNSUPPORTED (a descriptor
 * cannot be polled), NP_ERR_NOMEM; nothing is left behind then.
 */
int np_stdio_pipe_new(struct event_base *base, int in_fd, int out_fd, np_stdio_done_fn done,
                      void *data, int *peer_fd, struct np_stdio_pipe **out);

/* Bytes moved so far: in_fd -> socket, socket -> out_fd. */
void np_stdio_pipe_counts(const struct np_stdio_pipe *p, uint64_t *to_sock, uint64_t *to_out);

/* Stop, close our socket end, restore the descriptors' flags, free. NULL-safe. */
void np_stdio_pipe_free(struct np_stdio_pipe *p);

#endif
