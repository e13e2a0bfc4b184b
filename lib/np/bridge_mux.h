/*
 * lib/np/bridge_mux.h - npt multi mode (noports-wire.md 8.3): the control
 * channel's text protocol. The event-driven part (control connection, one
 * relay connection per local connection, in order) is selected with
 * np_bridge_config.multi = 1 and lives in bridge_mux.c behind np_bridge_new.
 *
 * Control messages (client -> daemon only, encrypted with the session keys as
 * one continuous CTR stream; C2D in twin mode):
 *   connect:<key44>:<iv24>\n                          single key
 *   connect:<c2dKey>:<c2dIv>:<d2cKey>:<d2cIv>\n        twin keys
 *   connect:no:encrypt\n                              unencrypted session
 *   heartbeat:<n>\n                                   NEWER keep-alive, ignored
 * Legacy clients (< 5.6.1) sent "connect:<key44>:<iv24>" without a newline:
 * a buffer holding no newline whose length is a multiple of 77 at the end of
 * a read is split into 77-byte messages.
 *
 * The functions here are pure (no I/O, no state) so that they can be fuzzed
 * (fuzz/fuzz_control.c).
 */
#ifndef NP_NP_BRIDGE_MUX_H
#define NP_NP_BRIDGE_MUX_H
#include <stddef.h>
#include <stdint.h>

#include "np/bridge.h"

#define NP_CTL_LEGACY_LEN  77   /* "connect:" + 44 + ":" + 24 */
#define NP_CTL_LINE_MAX    4096 /* control bytes buffered without a newline */
#define NP_CTL_CONNECT_MAX 160  /* longest line np_ctl_format_connect writes, with "\n" */

enum np_ctl_kind {
    NP_CTL_CONNECT = 1,  /* open one data connection; keys in msg->keys */
    NP_CTL_HEARTBEAT = 2 /* keep-alive; msg->heartbeat = n, or -1 if not a number */
};

struct np_ctl_msg {
    int kind;                   /* enum np_ctl_kind */
    struct np_bridge_keys keys; /* CONNECT: mode PLAIN, SINGLE_KEY or TWIN_KEYS (secret) */
    int64_t heartbeat;          /* HEARTBEAT: the counter */
};

/*
 * Find the next message in the control bytes buf[0, len). On 0 the message
 * is buf[0, *msg_len) (without the newline; may be empty or blank) and the
 * caller drops *consumed bytes. Without a newline: if legacy_at_read_end is
 * set and len is a non-zero multiple of NP_CTL_LEGACY_LEN, the message is
 * the first 77 bytes; else NP_AGAIN (keep buffering, up to NP_CTL_LINE_MAX).
 * NP_ERR_INVAL on NULL out-parameters.
 */
int np_ctl_next(const char *buf, size_t len, int legacy_at_read_end, size_t *msg_len,
                size_t *consumed);

/*
 * Parse one control message (len bytes, need not be NUL-terminated; may
 * contain any byte). Leading/trailing ASCII whitespace is ignored. Accepts
 * exactly the four forms above, keys and IVs in strict base64 decoding to 32
 * and 16 bytes. On 0 *msg is filled; on error it is left zeroed:
 * NP_ERR_FORMAT for anything else (including an empty line), NP_ERR_TOOBIG
 * for a line over NP_CTL_LINE_MAX. The caller wipes msg->keys after use.
 */
int np_ctl_parse_line(const char *line, size_t len, struct np_ctl_msg *msg);

/*
 * Write the connect line for keys `k` (mode PLAIN, SINGLE_KEY or TWIN_KEYS)
 * into out (NUL-terminated, with the trailing "\n"); *len (may be NULL) gets
 * its length without the NUL. NP_ERR_TOOBIG if size is too small (use
 * NP_CTL_CONNECT_MAX), NP_ERR_INVAL on a bad mode. The text holds secrets:
 * wipe it after sending.
 */
int np_ctl_format_connect(const struct np_bridge_keys *k, char *out, size_t size, size_t *len);

#endif
