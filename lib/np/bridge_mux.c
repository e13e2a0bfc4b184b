/*
 * lib/np/bridge_mux.c - npt multi mode (noports-wire.md 8.3): the control
 * channel and its text protocol.
 *
 * The control connection is the first relay socket of the session (so the
 * relay pairs it first). The client writes one encrypted connect message per
 * accepted local connection, just before opening that connection's relay
 * socket; bridge.c opens relay sockets one at a time, so the k-th client data
 * socket meets the k-th daemon data socket. The daemon decrypts the stream,
 * splits it into messages (np_ctl_next), parses them (np_ctl_parse_line) and
 * adds one data connection per connect message, in order. Bad lines are
 * logged and ignored; more than NP_CTL_LINE_MAX bytes without a newline end
 * the session. Either end of the control connection ends the bridge.
 */
#include "np/bridge_mux.h"
#include "np/bridge_int.h"

#include "crypto/aes.h"
#include "crypto/b64.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define KEY_B64_LEN 44 /* base64 of 32 bytes */
#define IV_B64_LEN  24 /* base64 of 16 bytes */

/* ------------------------------------------------------ pure text protocol */

int np_ctl_next(const char *buf, size_t len, int legacy_at_read_end, size_t *msg_len,
                size_t *consumed)
{
    const char *nl;

    if (!msg_len || !consumed)
        return NP_ERR_INVAL;
    *msg_len = 0;
    *consumed = 0;
    if (!buf && len)
        return NP_ERR_INVAL;
    if (len > 0 && (nl = memchr(buf, '\n', len)) != NULL) {
        *msg_len = (size_t)(nl - buf);
        *consumed = *msg_len + 1;
        return 0;
    }
    if (legacy_at_read_end && len > 0 && len % NP_CTL_LEGACY_LEN == 0) {
        *msg_len = NP_CTL_LEGACY_LEN;
        *consumed = NP_CTL_LEGACY_LEN;
        return 0;
    }
    return NP_AGAIN;
}

/* Decode one base64 field of exactly `chars` characters into `want` bytes. */
static int decode_field(const char *f, size_t flen, size_t chars, unsigned char *out, size_t want)
{
    char tmp[KEY_B64_LEN + 1];
    int r;

    if (flen != chars || chars >= sizeof(tmp) || memchr(f, '\0', flen))
        return NP_ERR_FORMAT;
    memcpy(tmp, f, flen);
    tmp[flen] = '\0';
    r = np_b64_decode_exact(tmp, out, want);
    np_memzero(tmp, sizeof(tmp));
    return r == 0 ? 0 : NP_ERR_FORMAT;
}

int np_ctl_parse_line(const char *line, size_t len, struct np_ctl_msg *msg)
{
    static const char connect[] = "connect:", heartbeat[] = "heartbeat:";
    const char *f[5];
    size_t flen[5], nf = 0, i, start;
    struct np_bridge_keys *k;
    int r = NP_ERR_FORMAT;

    if (!msg)
        return NP_ERR_INVAL;
    memset(msg, 0, sizeof(*msg));
    if (!line && len)
        return NP_ERR_INVAL;
    if (len > NP_CTL_LINE_MAX)
        return NP_ERR_TOOBIG;
    while (len > 0 && isspace((unsigned char)line[0])) {
        line++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        len--;
    if (len >= sizeof(heartbeat) - 1 && memcmp(line, heartbeat, sizeof(heartbeat) - 1) == 0) {
        int64_t n;
        size_t hl = sizeof(heartbeat) - 1;

        msg->kind = NP_CTL_HEARTBEAT;
        msg->heartbeat = np_parse_i64n(line + hl, len - hl, 0, INT64_MAX, &n) == 0 ? n : -1;
        return 0;
    }
    if (len < sizeof(connect) - 1 || memcmp(line, connect, sizeof(connect) - 1) != 0)
        return NP_ERR_FORMAT;
    /* Split the rest on ':' into at most 5 fields (5 = too many). */
    start = sizeof(connect) - 1;
    for (i = start; i <= len && nf < 5; i++) {
        if (i == len || line[i] == ':') {
            f[nf] = line + start;
            flen[nf] = i - start;
            nf++;
            start = i + 1;
        }
    }
    k = &msg->keys;
    if (nf == 2 && flen[0] == 2 && memcmp(f[0], "no", 2) == 0 && flen[1] == 7 &&
        memcmp(f[1], "encrypt", 7) == 0) {
        k->mode = NP_BRIDGE_PLAIN;
    } else if (nf == 2) {
        if ((r = decode_field(f[0], flen[0], KEY_B64_LEN, k->c2d_key, NP_AES_KEY_LEN)) != 0 ||
            (r = decode_field(f[1], flen[1], IV_B64_LEN, k->c2d_iv, NP_AES_IV_LEN)) != 0)
            goto out;
        memcpy(k->d2c_key, k->c2d_key, NP_AES_KEY_LEN);
        memcpy(k->d2c_iv, k->c2d_iv, NP_AES_IV_LEN);
        k->mode = NP_BRIDGE_SINGLE_KEY;
    } else if (nf == 4) {
        if ((r = decode_field(f[0], flen[0], KEY_B64_LEN, k->c2d_key, NP_AES_KEY_LEN)) != 0 ||
            (r = decode_field(f[1], flen[1], IV_B64_LEN, k->c2d_iv, NP_AES_IV_LEN)) != 0 ||
            (r = decode_field(f[2], flen[2], KEY_B64_LEN, k->d2c_key, NP_AES_KEY_LEN)) != 0 ||
            (r = decode_field(f[3], flen[3], IV_B64_LEN, k->d2c_iv, NP_AES_IV_LEN)) != 0)
            goto out;
        k->mode = NP_BRIDGE_TWIN_KEYS;
    } else {
        r = NP_ERR_FORMAT;
        goto out;
    }
    msg->kind = NP_CTL_CONNECT;
    r = 0;
out:
    if (r != 0)
        np_memzero(msg, sizeof(*msg));
    return r;
}

int np_ctl_format_connect(const struct np_bridge_keys *k, char *out, size_t size, size_t *len)
{
    char *t[4] = {NULL, NULL, NULL, NULL};
    int r = NP_ERR_INTERNAL;

    if (len)
        *len = 0;
    if (!k || !out || size == 0)
        return NP_ERR_INVAL;
    out[0] = '\0';
    switch (k->mode) {
    case NP_BRIDGE_PLAIN:
        r = np_str_fmt(out, size, "connect:no:encrypt\n");
        break;
    case NP_BRIDGE_SINGLE_KEY:
        if ((r = np_b64_encode(k->c2d_key, NP_AES_KEY_LEN, &t[0], NULL)) != 0 ||
            (r = np_b64_encode(k->c2d_iv, NP_AES_IV_LEN, &t[1], NULL)) != 0)
            break;
        r = np_str_fmt(out, size, "connect:%s:%s\n", t[0], t[1]);
        break;
    case NP_BRIDGE_TWIN_KEYS:
        if ((r = np_b64_encode(k->c2d_key, NP_AES_KEY_LEN, &t[0], NULL)) != 0 ||
            (r = np_b64_encode(k->c2d_iv, NP_AES_IV_LEN, &t[1], NULL)) != 0 ||
            (r = np_b64_encode(k->d2c_key, NP_AES_KEY_LEN, &t[2], NULL)) != 0 ||
            (r = np_b64_encode(k->d2c_iv, NP_AES_IV_LEN, &t[3], NULL)) != 0)
            break;
        r = np_str_fmt(out, size, "connect:%s:%s:%s:%s\n", t[0], t[1], t[2], t[3]);
        break;
    default:
        r = NP_ERR_INVAL;
        break;
    }
    for (int i = 0; i < 4; i++)
        np_freezero_str(t[i]);
    if (r != 0) {
        np_memzero(out, size);
        return r;
    }
    if (len)
        *len = strlen(out);
    return 0;
}

/* ------------------------------------------------------- control channel */

/* Encrypt and queue one control message. */
static int ctl_send(struct np_bridge *b, const char *text, size_t len)
{
    char tmp[NP_CTL_CONNECT_MAX];
    int r;

    if (!b->ctl || len > sizeof(tmp))
        return NP_ERR_INVAL;
    memcpy(tmp, text, len);
    if (b->ctl_ctr && (r = np_aes_ctr_apply(b->ctl_ctr, tmp, len)) != 0)
        goto out;
    r = bufferevent_write(b->ctl, tmp, len) == 0 ? 0 : NP_ERR_NOMEM;
out:
    np_memzero(tmp, sizeof(tmp));
    return r;
}

int np_bridge__mux_commit(struct np_bridge *b, const struct np_bridge_keys *k)
{
    char line[NP_CTL_CONNECT_MAX];
    size_t len = 0;
    int r;

    if ((r = np_ctl_format_connect(k, line, sizeof(line), &len)) == 0 &&
        (r = ctl_send(b, line, len)) == 0)
        b->st.ctl_connects++;
    np_memzero(line, sizeof(line));
    return r;
}

static void hb_cb(evutil_socket_t fd, short what, void *arg)
{
    struct np_bridge *b = arg;
    char line[48];
    int n;

    if (!b->ctl)
        return;
    n = snprintf(line, sizeof(line), "heartbeat:%lld\n", ++b->hb_seq);
    if (ctl_send(b, line, (size_t)n) == 0)
        b->st.heartbeats++;
}

/* Daemon: act on one control message. */
static void ctl_message(struct np_bridge *b, const char *text, size_t len)
{
    struct np_ctl_msg m;
    const char *refuse = NULL;
    size_t i;
    int r;

    for (i = 0; i < len && isspace((unsigned char)text[i]); i++)
        ;
    if (i == len)
        return; /* blank line */
    if ((r = np_ctl_parse_line(text, len, &m)) != 0) {
        char esc[64];

        b->st.ctl_rejected++;
        /* A broken connect line may hold key material: do not echo it. */
        if (len >= 8 && memcmp(text, "connect:", 8) == 0)
            np_warn("bridge: control: ignoring a malformed connect message (%zu bytes)", len);
        else
            np_warn("bridge: control: ignoring unknown message \"%s\" (%zu bytes)",
                    np_log_escape(esc, sizeof(esc), text, len < 24 ? len : 24), len);
        return;
    }
    if (m.kind == NP_CTL_HEARTBEAT) {
        b->st.heartbeats++;
        np_debug("bridge: control: heartbeat %lld", (long long)m.heartbeat);
        return;
    }
    if (b->keys.mode != NP_BRIDGE_PLAIN && m.keys.mode == NP_BRIDGE_PLAIN) {
        /* Never downgrade an encrypted session to plaintext data. The relay
         * socket is still opened (and closed) to keep the pairing order. */
        b->st.ctl_rejected++;
        np_warn("bridge: control: refusing an unencrypted connection in an encrypted session");
        refuse = "unencrypted connection refused in an encrypted session";
    }
    if (b->npairs >= NP_BRIDGE_MAX_PAIRS) {
        np_memzero(&m, sizeof(m));
        np_bridge__finish(b, NP_BRIDGE_CONTROL_ERROR, "more than %d connections requested",
                          NP_BRIDGE_MAX_PAIRS);
        return;
    }
    if (!refuse)
        b->st.ctl_connects++;
    r = np_bridge__pair_add(b, -1, &m.keys, refuse);
    np_memzero(&m, sizeof(m));
    if (r != 0)
        np_bridge__finish(b, NP_BRIDGE_INTERNAL_ERROR, "cannot add a connection: %s",
                          np_strerror(r));
}

/* Daemon: take every complete message out of the control buffer. */
static void ctl_drain_messages(struct np_bridge *b, int read_end)
{
    /* Pre-5.6.1 clients sent 77-byte messages without newline; they predate
     * twin keys, so a twin-key session never needs the legacy rule (and a
     * twin line cut at 77 bytes by a read must not be taken for one). */
    int legacy = read_end && b->keys.mode == NP_BRIDGE_SINGLE_KEY;

    while (!b->finished) {
        size_t ml = 0, consumed = 0;

        if (np_ctl_next(np_buf_ptr(b->ctl_buf), np_buf_len(b->ctl_buf), legacy, &ml, &consumed) !=
            0)
            return;
        ctl_message(b, np_buf_ptr(b->ctl_buf), ml);
        if (b->finished)
            return;
        (void)np_buf_consume(b->ctl_buf, consumed);
    }
}

static void ctl_read_cb(struct bufferevent *bev, void *arg)
{
    struct np_bridge *b = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char chunk[1024];

    if (b->side == NP_BRIDGE_CLIENT) { /* the daemon never speaks */
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    while (!b->finished && evbuffer_get_length(in) > 0) {
        size_t room = NP_CTL_LINE_MAX - np_buf_len(b->ctl_buf);
        int n;

        if (room == 0) {
            np_bridge__finish(b, NP_BRIDGE_CONTROL_ERROR, "control: %d bytes without a newline",
                              NP_CTL_LINE_MAX);
            break;
        }
        n = evbuffer_remove(in, chunk, room < sizeof(chunk) ? room : sizeof(chunk));
        if (n <= 0)
            break;
        if ((b->ctl_ctr && np_aes_ctr_apply(b->ctl_ctr, chunk, (size_t)n) != 0) ||
            np_buf_put(b->ctl_buf, chunk, (size_t)n) != 0) {
            np_bridge__finish(b, NP_BRIDGE_INTERNAL_ERROR, "control: cannot decrypt");
            break;
        }
        ctl_drain_messages(b, 0);
    }
    np_memzero(chunk, sizeof(chunk));
    if (b->finished)
        return;
    ctl_drain_messages(b, 1);
    if (!b->finished && np_buf_len(b->ctl_buf) >= NP_CTL_LINE_MAX)
        np_bridge__finish(b, NP_BRIDGE_CONTROL_ERROR, "control: %d bytes without a newline",
                          NP_CTL_LINE_MAX);
}

static void ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct np_bridge *b = arg;
    int err = EVUTIL_SOCKET_ERROR();
    char detail[256];

    if (what & BEV_EVENT_EOF) {
        np_bridge__finish(b, NP_BRIDGE_CONTROL_CLOSED, "control connection closed by the relay");
    } else if (err == ETIMEDOUT) {
        np_bridge__relay_silent_detail(b, detail, sizeof(detail));
        np_bridge__finish(b, NP_BRIDGE_CONTROL_CLOSED, "control connection: %s", detail);
    } else {
        np_bridge__finish(b, NP_BRIDGE_CONTROL_CLOSED, "control connection: %s", strerror(err));
    }
}

static void ctl_ready_cb(struct np_rconn *rc, struct bufferevent *bev, int reason,
                         const char *detail, void *arg)
{
    struct np_bridge *b = arg;

    np_bridge__rconn_free(rc);
    b->ctl_rc = NULL;
    if (!bev) {
        np_bridge__finish(b, reason, "control connection: %s", detail);
        return;
    }
    b->ctl = bev;
    bufferevent_setcb(bev, ctl_read_cb, NULL, ctl_event_cb, b);
    bufferevent_setwatermark(bev, EV_READ, 0, NP_CTL_LINE_MAX);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    np_debug("bridge: control channel up");
    if (b->hb_ev) {
        struct timeval tv = {b->heartbeat_ms / 1000, (b->heartbeat_ms % 1000) * 1000};
        event_add(b->hb_ev, &tv);
    }
    if (evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
        ctl_read_cb(bev, b);
        if (b->finished)
            return;
    }
    np_bridge__queue_kick(b); /* local connections accepted meanwhile */
}

int np_bridge__mux_start(struct np_bridge *b)
{
    int r;

    if (b->keys.mode != NP_BRIDGE_PLAIN &&
        (r = np_aes_ctr_new(b->keys.c2d_key, b->keys.c2d_iv, &b->ctl_ctr)) != 0)
        return r;
    if (b->side == NP_BRIDGE_DAEMON && (b->ctl_buf = np_buf_new(NP_CTL_LINE_MAX)) == NULL)
        return NP_ERR_NOMEM;
    if (b->side == NP_BRIDGE_CLIENT && b->heartbeat_ms > 0 &&
        (b->hb_ev = event_new(b->base, -1, EV_PERSIST, hb_cb, b)) == NULL)
        return NP_ERR_NOMEM;
    return np_bridge__rconn_start(b, 1, ctl_ready_cb, b, &b->ctl_rc);
}

void np_bridge__mux_close(struct np_bridge *b)
{
    np_bridge__rconn_free(b->ctl_rc);
    b->ctl_rc = NULL;
    if (b->ctl) {
        bufferevent_free(b->ctl);
        b->ctl = NULL;
    }
    np_aes_ctr_free(b->ctl_ctr);
    b->ctl_ctr = NULL;
    np_buf_free_secret(b->ctl_buf);
    b->ctl_buf = NULL;
    if (b->hb_ev) {
        event_free(b->hb_ev);
        b->hb_ev = NULL;
    }
}
