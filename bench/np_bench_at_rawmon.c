/*
 * bench/np_bench_at_rawmon.c - raw monitor connection (see
 * np_bench_at_rawmon.h).
 */
#include "np_bench_at_rawmon.h"

#include "at/notification.h"
#include "crypto/rsa.h"
#include "net/conn.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <stdio.h>
#include <string.h>

enum { ST_FROM = 0, ST_PKAM, ST_SYNC, ST_LIVE, ST_DEAD };

struct nb_rawmon {
    struct net_conn *c;
    struct np_rsa_key *pkam;
    char atsign[128];
    int state, err;
    nb_rawmon_cb cb;
    void *data;
    uint64_t count, stats, bad;
};

/* The text after a leading prompt ("@" or "@alice@"): what follows the last
 * '@' before the first ':' (atprotocol.md 2.2). */
static char *strip_prompt(char *line)
{
    char *colon = strchr(line, ':'), *p = line, *at = NULL;

    if (!colon)
        return line;
    for (; p < colon; p++)
        if (*p == '@')
            at = p;
    return at ? at + 1 : line;
}

static void send_line(struct nb_rawmon *m, const char *line)
{
    char buf[2048];
    int n = snprintf(buf, sizeof(buf), "%s\n", line);

    if (n < 0 || (size_t)n >= sizeof(buf) || net_conn_write(m->c, buf, (size_t)n) != 0) {
        m->err = NP_ERR_IO;
        m->state = ST_DEAD;
        net_conn_close(m->c);
    }
}

static void on_connected(struct net_conn *c, void *data)
{
    struct nb_rawmon *m = data;
    char line[160];
    (void)c;

    snprintf(line, sizeof(line), "from:%s", m->atsign);
    send_line(m, line);
}

static void fail(struct nb_rawmon *m, int err, const char *what, const char *line)
{
    char esc[200];

    np_warn("rawmon %s: %s: %s", m->atsign, what,
            np_log_escape(esc, sizeof(esc), line, strlen(line)));
    m->err = err;
    m->state = ST_DEAD;
    net_conn_close(m->c);
}

static void on_notification(struct nb_rawmon *m, const char *json, size_t len)
{
    struct at_notification n;

    at_notification_init(&n);
    if (at_notification_parse(json, len, &n) != 0) {
        m->bad++;
        return;
    }
    if (at_notification_is_stats(&n)) {
        m->stats++;
    } else {
        m->count++;
        if (m->cb)
            m->cb(m->data, n.id, n.from, n.epoch_ms);
    }
    at_notification_clear(&n);
}

static void on_line(struct net_conn *c, char *line, size_t len, void *data)
{
    struct nb_rawmon *m = data;
    char *p = strip_prompt(line);
    char *sig = NULL, cmd[600];
    size_t plen = len - (size_t)(p - line);
    (void)c;

    switch (m->state) {
    case ST_FROM:
        if (!np_str_startswith(p, "data:")) {
            fail(m, NP_ERR_PROTO, "from refused", p);
            return;
        }
        if (np_rsa_sign_b64(m->pkam, NP_HASH_SHA256, p + 5, plen - 5, &sig) != 0) {
            fail(m, NP_ERR_CRYPTO, "cannot sign the challenge", "");
            return;
        }
        snprintf(cmd, sizeof(cmd), "pkam:%s", sig);
        np_free(sig);
        m->state = ST_PKAM;
        send_line(m, cmd);
        return;
    case ST_PKAM:
        if (strcmp(p, "data:success") != 0) {
            fail(m, NP_ERR_AUTH, "pkam refused", p);
            return;
        }
        /* "monitor" has no answer; the noop after it proves the server
         * has registered the monitor before we report it live */
        m->state = ST_SYNC;
        send_line(m, "monitor");
        if (m->state == ST_SYNC)
            send_line(m, "noop:0");
        return;
    case ST_SYNC:
        if (np_str_startswith(p, "data:")) {
            m->state = ST_LIVE;
            return;
        }
        if (!np_str_startswith(p, "notification: ")) {
            fail(m, NP_ERR_PROTO, "monitor/noop refused", p);
            return;
        }
        on_notification(m, p + 14, plen - 14);
        return;
    case ST_LIVE:
        if (np_str_startswith(p, "notification: "))
            on_notification(m, p + 14, plen - 14);
        else if (np_str_startswith(p, "error:"))
            m->bad++;
        return;
    default:
        return;
    }
}

static void on_close(struct net_conn *c, int reason, void *data)
{
    struct nb_rawmon *m = data;
    (void)c;

    m->c = NULL;
    if (m->err == 0)
        m->err = reason ? reason : NP_ERR_EOF;
    m->state = ST_DEAD;
}

int nb_rawmon_start(struct event_base *base, struct net_tls_ctx *tls, const char *host, int port,
                    const char *atsign, const char *pkam_private_b64, nb_rawmon_cb cb, void *data,
                    struct nb_rawmon **out)
{
    struct net_conn_cbs cbs = {on_connected, on_line, NULL, on_close};
    struct net_conn_opts co;
    struct nb_rawmon *m;
    int r;

    *out = NULL;
    if (!base || !tls || !host || !atsign || !pkam_private_b64 ||
        strlen(atsign) >= sizeof(m->atsign))
        return NP_ERR_INVAL;
    if ((m = np_calloc(1, sizeof(*m))) == NULL)
        return NP_ERR_NOMEM;
    memcpy(m->atsign, atsign, strlen(atsign) + 1);
    m->cb = cb;
    m->data = data;
    if ((r = np_rsa_from_private_b64(pkam_private_b64, &m->pkam)) != 0)
        goto out;
    memset(&co, 0, sizeof(co));
    co.max_line = 1u << 20;
    co.max_output = 1u << 20;
    if ((r = net_conn_connect(base, NULL, host, port, tls, "localhost", &co, &cbs, m, &m->c)) != 0)
        goto out;
    *out = m;
    m = NULL;
out:
    if (m) {
        np_rsa_free(m->pkam);
        np_free(m);
    }
    return r;
}

int nb_rawmon_is_live(const struct nb_rawmon *m)
{
    return m && m->state == ST_LIVE;
}

int nb_rawmon_error(const struct nb_rawmon *m)
{
    return m ? m->err : NP_ERR_INVAL;
}

uint64_t nb_rawmon_count(const struct nb_rawmon *m)
{
    return m ? m->count : 0;
}

uint64_t nb_rawmon_stats(const struct nb_rawmon *m)
{
    return m ? m->stats : 0;
}

uint64_t nb_rawmon_bad(const struct nb_rawmon *m)
{
    return m ? m->bad : 0;
}

void nb_rawmon_free(struct nb_rawmon *m)
{
    if (!m)
        return;
    net_conn_free(m->c);
    np_rsa_free(m->pkam);
    np_free(m);
}
