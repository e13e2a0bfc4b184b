/*
 * src/atserver/dispatch.c - the verb table of the server (style.md practice
 * 17). lib/at's table (at_verb_info) holds the grammar and the
 * authentication flags of atprotocol.md 3.5; this table adds the handler and
 * the server's own policy: which verbs carry secrets (never shown in the -vv
 * wire trace), which ones are not implemented. Everything that applies to
 * all verbs - authentication, the unauthenticated command rate, uniform
 * errors for unknown commands and bad syntax - is enforced here, so no
 * handler can forget it.
 */
#include "dispatch.h"
#include "conn.h"
#include "server.h"

#include "at/error.h"
#include "at/verb.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <regex.h>
#include <string.h>

#define DF_SECRET_IN  0x1u /* the command line may hold a secret: trace the verb only */
#define DF_KEYED      0x2u /* trace the line unless it names a sensitive key */
#define DF_SECRET_OUT 0x4u /* never trace the response */

struct vdesc {
    verb_fn fn; /* NULL: not implemented */
    unsigned flags;
};

static const struct vdesc table[AT_VERB__COUNT] = {
    [AT_VERB_FROM] = {verb_from, 0},
    [AT_VERB_CRAM] = {verb_cram, DF_SECRET_IN},
    [AT_VERB_PKAM] = {verb_pkam, DF_SECRET_IN},
    [AT_VERB_POL] = {verb_pol, 0},
    [AT_VERB_UPDATE] = {verb_update, DF_KEYED},
    [AT_VERB_UPDATE_META] = {verb_update_meta, DF_KEYED},
    [AT_VERB_LLOOKUP] = {verb_llookup, DF_KEYED},
    [AT_VERB_LOOKUP] = {verb_lookup, DF_KEYED},
    [AT_VERB_PLOOKUP] = {verb_plookup, DF_KEYED},
    [AT_VERB_SCAN] = {verb_scan, 0},
    [AT_VERB_DELETE] = {verb_delete, DF_KEYED},
    [AT_VERB_STATS] = {verb_stats, 0},
    [AT_VERB_CONFIG] = {verb_config, 0},
    [AT_VERB_MONITOR] = {verb_monitor, 0},
    [AT_VERB_NOTIFY] = {verb_notify, 0},
    [AT_VERB_NOTIFY_LIST] = {verb_notify_list, 0},
    [AT_VERB_NOTIFY_STATUS] = {verb_notify_status, 0},
    [AT_VERB_NOTIFY_ALL] = {verb_notify_all, 0},
    [AT_VERB_NOTIFY_REMOVE] = {verb_notify_remove, 0},
    [AT_VERB_NOTIFY_FETCH] = {verb_notify_fetch, 0},
    [AT_VERB_SYNC_FROM] = {verb_sync, DF_SECRET_OUT},
    [AT_VERB_INFO] = {verb_info, 0},
    [AT_VERB_NOOP] = {verb_noop, 0},
    [AT_VERB_ENROLL] = {verb_enroll, DF_SECRET_IN},
    [AT_VERB_KEYS] = {verb_keys, DF_SECRET_IN | DF_SECRET_OUT},
    /* not implemented: stream, batch, otp */
};

/* Key names whose values are secret (or close to it) in the trace. */
static bool sensitive_text(const char *s, size_t n)
{
    static const char *const marks[] = {"privatekey", "at_secret", "signing_private", "__manage",
                                        "shared_key"};
    char low[160];
    size_t m = n < sizeof(low) - 1 ? n : sizeof(low) - 1;

    /* the key comes first; a value can only follow it */
    for (size_t i = 0; i < m; i++)
        low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    low[m] = '\0';
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (strstr(low, marks[i]))
            return true;
    return false;
}

static void trace_in(struct as_conn *c, const char *line, size_t len, const struct at_cmd *cmd)
{
    const struct vdesc *d = &table[cmd->verb];
    char esc[1300];

    c->redact_output = (d->flags & DF_SECRET_OUT) != 0;
    if ((d->flags & DF_KEYED) && sensitive_text(line, len))
        c->redact_output = true;
    if (np_log_level_current < NP_LOG_TRACE)
        return;
    if ((d->flags & DF_SECRET_IN) || ((d->flags & DF_KEYED) && sensitive_text(line, len)))
        np_trace("%s <- %s:<%zu bytes not shown>", c->tag, at_verb_info(cmd->verb)->name, len);
    else
        np_trace("%s <- %s", c->tag, np_log_escape(esc, sizeof(esc), line, len < 300 ? len : 300));
}

/* Token bucket for commands before authentication. */
static bool rate_ok(struct as_conn *c)
{
    const struct as_config *cfg = &c->host->srv->cfg;
    int64_t now = np_mono_ms();

    if (cfg->unauth_cmds_per_sec <= 0)
        return true;
    c->tokens += (double)(now - c->tokens_ms) * cfg->unauth_cmds_per_sec / 1000.0;
    c->tokens_ms = now;
    if (c->tokens > cfg->unauth_cmds_burst)
        c->tokens = cfg->unauth_cmds_burst;
    if (c->tokens < 1.0)
        return false;
    c->tokens -= 1.0;
    return true;
}

static void parse_error(struct as_conn *c, const struct at_cmd *cmd)
{
    const struct at_verb_info *vi = at_verb_info(cmd->verb);

    switch (cmd->err) {
    case AT_PERR_INVALID_COMMAND:
        conn_reply_error(c, AT_E_INVALID_SYNTAX, "invalid command");
        break;
    case AT_PERR_INVALID_ATSIGN:
        conn_reply_error(c, AT_E_INVALID_SYNTAX, "invalid atSign");
        conn_close(c);
        break;
    case AT_PERR_ILLEGAL_ARG:
        if (cmd->verb == AT_VERB_NOOP)
            conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "noop duration must be 0 to 5000 ms");
        else
            conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "illegal arguments. %s", vi->usage);
        break;
    case AT_PERR_INVALID_KEY:
        conn_reply_error(c, AT_E_INVALID_KEY, "key is longer than %d characters", AT_KEY_MAX_CHARS);
        break;
    case AT_PERR_TOO_LONG:
        conn_reply_error(c, AT_E_BUFFER_LIMIT, "command line too long");
        break;
    case AT_PERR_NOMEM:
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        break;
    default:
        conn_reply_error(c, AT_E_INVALID_SYNTAX, "Invalid syntax. %s", vi->usage);
        break;
    }
}

#define REGEX_MAX 1024

bool verb_regex(struct as_conn *c, regex_t *re, const char *pattern)
{
    size_t n = strlen(pattern);

    for (size_t i = 0; i + 1 < n; i++) {
        if (pattern[i] == '\\' && pattern[i + 1] >= '1' && pattern[i + 1] <= '9') {
            conn_reply_error(c, AT_E_INVALID_SYNTAX,
                             "back-references are not supported in "
                             "regular expressions");
            return false;
        }
        if (pattern[i] == '\\')
            i++;
    }
    if (n > REGEX_MAX || regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        conn_reply_error(c, AT_E_INVALID_SYNTAX, "invalid regular expression");
        return false;
    }
    return true;
}

void dispatch_line(struct as_conn *c, const char *line, size_t len)
{
    struct at_cmd cmd;
    const struct vdesc *d;
    int r;

    r = at_verb_parse(line, len, &cmd);
    trace_in(c, line, len, &cmd);
    if (cmd.verb == AT_VERB_EXIT) {
        np_debug("%s: @exit", c->tag);
        conn_close(c);
        goto out;
    }
    if (c->auth == AT_AUTH_NONE && !rate_ok(c)) {
        np_warn("%s: more than %d commands per second before authentication; closing", c->tag,
                c->host->srv->cfg.unauth_cmds_per_sec);
        conn_reply_error(c, AT_E_TOO_MANY_REQUESTS,
                         "too many commands before authentication (limit %d per second)",
                         c->host->srv->cfg.unauth_cmds_per_sec);
        conn_close(c);
        goto out;
    }
    if (cmd.verb != AT_VERB_NONE && !at_verb_allowed(cmd.verb, c->auth)) {
        conn_reply_error(c, AT_E_AUTH_FAILED, "Command cannot be executed without auth");
        goto out;
    }
    if (r != 0) {
        parse_error(c, &cmd);
        goto out;
    }
    d = &table[cmd.verb];
    if (!d->fn) {
        conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "%s is not supported by this server",
                         at_verb_info(cmd.verb)->name);
        goto out;
    }
    d->fn(c, &cmd);
out:
    at_cmd_free(&cmd);
}
