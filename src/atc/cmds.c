/*
 * src/atc/cmds.c - the atc commands on the blocking client
 * (at/client_sync.h): load the keys, connect, run one command, map the
 * outcome to an exit code (atc.h).
 */
#include "atc.h"

#include "at/atsign.h"
#include "at/client_sync.h"
#include "crypto/atkeys.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <event2/event.h>

/* Longest cram secret file we read. */
#define CRAM_MAX 4096

static int exit_for(int err, bool conn_error, int at_code)
{
    switch (err) {
    case 0:
        return ATC_OK;
    case NP_ERR_NOTFOUND:
        return (conn_error || at_code == 7) ? ATC_NO_ATSIGN : ATC_NOT_FOUND;
    case NP_ERR_AUTH:
        return ATC_AUTH;
    case NP_ERR_TIMEOUT:
        return ATC_TIMEOUT;
    case NP_ERR_CONNECT:
    case NP_ERR_TLS:
        return ATC_CONNECT;
    case NP_ERR_EOF:
    case NP_ERR_IO:
        return conn_error ? ATC_CONNECT : ATC_ERR;
    case NP_ERR_INVAL:
        /* refused before anything was sent: the user's key or value */
        return (!conn_error && at_code < 0) ? ATC_USAGE : ATC_ERR;
    default:
        return ATC_ERR;
    }
}

/* Report the last failure of s and return its exit code. */
static int fail(struct at_sync *s, const char *what, int r)
{
    fprintf(stderr, "atc: %s: %s\n", what, at_sync_error(s)[0] ? at_sync_error(s) : np_strerror(r));
    return exit_for(r, at_sync_conn_error(s), at_sync_at_code(s));
}

static char *read_secret(const char *path)
{
    char buf[CRAM_MAX + 2];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        fprintf(stderr, "atc: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    if (n > CRAM_MAX) {
        fprintf(stderr, "atc: %s: longer than %d bytes\n", path, CRAM_MAX);
        return NULL;
    }
    buf[n] = '\0';
    np_str_trim(buf);
    if (!buf[0]) {
        fprintf(stderr, "atc: %s: empty\n", path);
        return NULL;
    }
    {
        char *s = np_strdup(buf);
        np_memzero(buf, sizeof(buf));
        return s;
    }
}

/* ---- commands ---- */

static int cmd_get(struct at_sync *s, const struct atc_opts *o, const char *key)
{
    char *v = NULL;
    size_t n = 0;
    int r = at_sync_get(s, key, o->raw ? AT_GET_RAW : 0, &v, &n, NULL);

    if (r != 0)
        return fail(s, key, r);
    if (v)
        fwrite(v, 1, n, stdout);
    fputc('\n', stdout);
    np_freezero(v, v ? n + 1 : 0);
    return ATC_OK;
}

static int cmd_put(struct at_sync *s, const struct atc_opts *o)
{
    char key[2048], with[AT_ATSIGN_BUF];
    struct at_metadata md;
    int r;

    at_metadata_init(&md);
    if (o->shared_with) {
        if (at_atsign_normalise(o->shared_with, strlen(o->shared_with), with, sizeof(with)) != 0) {
            fprintf(stderr, "atc: --shared-with: not an atSign: %s\n", o->shared_with);
            return ATC_USAGE;
        }
        r = np_str_fmt(key, sizeof(key), "%s:%s", with, o->args[0]);
    } else if (o->is_public) {
        r = np_str_fmt(key, sizeof(key), "public:%s", o->args[0]);
    } else {
        r = np_str_fmt(key, sizeof(key), "%s", o->args[0]);
    }
    if (r != 0) {
        fprintf(stderr, "atc: key too long\n");
        return ATC_USAGE;
    }
    if ((o->ttl >= 0 && at_metadata_set_int(&md, AT_MD_TTL, o->ttl) != 0) ||
        (o->ttr >= -1 && o->ttr != 0 && at_metadata_set_int(&md, AT_MD_TTR, o->ttr) != 0)) {
        at_metadata_clear(&md);
        return ATC_ERR;
    }
    r = at_sync_put(s, key, o->args[1], &md);
    at_metadata_clear(&md);
    if (r != 0)
        return fail(s, key, r);
    return ATC_OK;
}

static int cmd_delete(struct at_sync *s, const char *key)
{
    int r = at_sync_delete(s, key);

    return r ? fail(s, key, r) : ATC_OK;
}

static int cmd_scan(struct at_sync *s, const struct atc_opts *o)
{
    char **keys = NULL;
    size_t n = 0;
    int r = at_sync_scan(s, o->nargs ? o->args[0] : NULL, o->show_hidden, &keys, &n);

    if (r != 0)
        return fail(s, "scan", r);
    for (size_t i = 0; i < n; i++)
        printf("%s\n", keys[i]);
    at_sync_free_keys(keys, n);
    return ATC_OK;
}

static int cmd_notify(struct at_sync *s, const struct atc_opts *o)
{
    struct at_client_notify n;
    char *id = NULL;
    int r;

    memset(&n, 0, sizeof(n));
    n.to = o->args[0];
    n.key = o->args[1];
    n.value = o->args[2];
    n.ttl = o->ttl;
    n.ttln = o->ttln;
    if ((r = at_sync_notify(s, &n, &id)) != 0)
        return fail(s, "notify", r);
    printf("%s\n", id ? id : "");
    np_free(id);
    return ATC_OK;
}

static int cmd_lookup(struct at_sync *s, const struct atc_opts *o)
{
    const char *a = o->args[0];
    const char *colon = strchr(a, ':');
    char key[2048];

    if (a[0] == '@' && colon) {
        /* "@other:KEY" -> "KEY@other" */
        if (np_str_fmt(key, sizeof(key), "%s%.*s", colon + 1, (int)(colon - a), a) != 0)
            return ATC_USAGE;
    } else if (strchr(a, '@')) {
        if (np_str_fmt(key, sizeof(key), "%s", a) != 0)
            return ATC_USAGE;
    } else {
        fprintf(stderr, "atc: lookup needs @OTHER:KEY or KEY@OTHER\n");
        return ATC_USAGE;
    }
    return cmd_get(s, o, key);
}

static int cmd_raw(struct at_sync *s, const char *line)
{
    char *d = NULL;
    int r = at_sync_cmd(s, line, &d);

    if (r != 0)
        return fail(s, "raw", r);
    printf("%s\n", d ? d : "");
    np_free(d);
    return ATC_OK;
}

/* ---- monitor ---- */

struct mon {
    struct at_sync *s;
    int count, want;
};

static void add_str(cJSON *o, const char *k, const char *v, size_t n)
{
    if (!v) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    {
        char *c = np_memdup0(v, n);
        if (c)
            cJSON_AddStringToObject(o, k, c);
        np_freezero(c, n + 1);
    }
}

static void on_note(struct at_monitor *m, const struct at_monitor_notification *n, void *data)
{
    struct mon *x = data;
    cJSON *o = cJSON_CreateObject();
    char *txt = NULL;

    (void)m;
    if (o) {
        add_str(o, "id", n->id, n->id ? strlen(n->id) : 0);
        add_str(o, "from", n->from, n->from ? strlen(n->from) : 0);
        add_str(o, "to", n->to, n->to ? strlen(n->to) : 0);
        add_str(o, "key", n->key, n->key ? strlen(n->key) : 0);
        add_str(o, "value", n->value, n->value_len);
        cJSON_AddNumberToObject(o, "epochMillis", (double)n->epoch_ms);
        cJSON_AddStringToObject(o, "operation", at_notify_op_name(n->op));
        cJSON_AddStringToObject(o, "messageType", at_msg_type_name(n->msg_type));
        cJSON_AddBoolToObject(o, "isEncrypted", n->is_encrypted);
        if (n->decrypt_err)
            cJSON_AddStringToObject(o, "decryptError", np_strerror(n->decrypt_err));
        txt = cJSON_PrintUnformatted(o);
    }
    if (txt) {
        printf("%s\n", txt);
        fflush(stdout);
        np_memzero(txt, strlen(txt));
        cJSON_free(txt);
    }
    cJSON_Delete(o);
    if (x->want > 0 && ++x->count >= x->want)
        at_sync_stop(x->s);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    at_sync_stop(arg);
}

static int cmd_monitor(struct at_sync *s, const struct atc_opts *o)
{
    struct at_monitor_opts mo;
    struct mon x = {s, 0, o->count};
    struct event *si = evsignal_new(at_sync_base(s), SIGINT, on_signal, s);
    struct event *st = evsignal_new(at_sync_base(s), SIGTERM, on_signal, s);
    int r;

    if (!si || !st) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    event_add(si, NULL);
    event_add(st, NULL);
    memset(&mo, 0, sizeof(mo));
    mo.regex = o->nargs ? o->args[0] : NULL;
    mo.since_epoch_ms = o->since;
    mo.raw = o->raw;
    r = at_sync_monitor(s, &mo, on_note, &x, o->timeout_set ? o->timeout_ms : 0);
out:
    if (si)
        event_free(si);
    if (st)
        event_free(st);
    if (r == NP_ERR_TIMEOUT && !(o->count > 0 && x.count < o->count))
        return ATC_OK; /* ran for the requested time */
    if (r != 0)
        return fail(s, "monitor", r);
    return ATC_OK;
}

/* ---- setup ---- */

int atc_run(const struct atc_opts *o)
{
    struct at_client_opts co;
    struct np_atkeys *keys = NULL;
    struct at_sync *s = NULL;
    char path[4096], err[1024], rhost[NP_HOST_MAX + 1], shost[NP_HOST_MAX + 1];
    char *secret = NULL;
    int rport = 0, sport = 0, r, rc = ATC_ERR;

    memset(&co, 0, sizeof(co));
    co.atsign = o->atsign;
    if (o->cram_file) {
        if ((secret = read_secret(o->cram_file)) == NULL)
            return ATC_KEYS;
        co.auth = AT_CLIENT_AUTH_CRAM;
        co.cram_secret = secret;
    }
    if (!o->cram_file || o->keys_path) {
        if (o->keys_path)
            r = np_str_fmt(path, sizeof(path), "%s", o->keys_path);
        else
            r = np_atkeys_default_path(o->atsign, path, sizeof(path));
        if (r != 0) {
            fprintf(stderr, "atc: no keys file path for %s: %s\n", o->atsign, np_strerror(r));
            rc = ATC_KEYS;
            goto out;
        }
        if ((r = np_atkeys_load(path, &keys, err, sizeof(err))) != 0) {
            fprintf(stderr, "atc: %s\n", err[0] ? err : np_strerror(r));
            rc = ATC_KEYS;
            goto out;
        }
        co.keys = keys;
    }
    if (o->root) {
        if (np_hostport_parse(o->root, 64, rhost, &rport) != 0) {
            fprintf(stderr, "atc: --root-domain: not host[:port]: %s\n", o->root);
            rc = ATC_USAGE;
            goto out;
        }
        co.root_host = rhost;
        co.root_port = rport;
    }
    if (o->server) {
        if (np_hostport_parse(o->server, 0, shost, &sport) != 0) {
            fprintf(stderr, "atc: --server: not host:port: %s\n", o->server);
            rc = ATC_USAGE;
            goto out;
        }
        co.server_host = shost;
        co.server_port = sport;
    }
    co.ca_file = o->ca_file;
    co.request_timeout_ms = strcmp(o->cmd, "monitor") == 0 ? 10000 : o->timeout_ms;
    co.connect_timeout_ms = co.request_timeout_ms;
    if ((r = at_sync_open(&co, &s, err, sizeof(err))) != 0) {
        fprintf(stderr, "atc: %s\n", err);
        rc = exit_for(r, true, -1);
        goto out;
    }
    if (strcmp(o->cmd, "get") == 0)
        rc = cmd_get(s, o, o->args[0]);
    else if (strcmp(o->cmd, "put") == 0)
        rc = cmd_put(s, o);
    else if (strcmp(o->cmd, "delete") == 0)
        rc = cmd_delete(s, o->args[0]);
    else if (strcmp(o->cmd, "scan") == 0)
        rc = cmd_scan(s, o);
    else if (strcmp(o->cmd, "notify") == 0)
        rc = cmd_notify(s, o);
    else if (strcmp(o->cmd, "monitor") == 0)
        rc = cmd_monitor(s, o);
    else if (strcmp(o->cmd, "lookup") == 0)
        rc = cmd_lookup(s, o);
    else if (strcmp(o->cmd, "raw") == 0)
        rc = cmd_raw(s, o->args[0]);
    else
        rc = ATC_USAGE;
out:
    at_sync_close(s);
    np_atkeys_free(keys);
    np_freezero_str(secret);
    fflush(stdout);
    return rc;
}
