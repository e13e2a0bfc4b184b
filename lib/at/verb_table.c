/*
 * lib/at/verb_table.c - the verb table (dispatch order, policy flags of
 * atprotocol.md 3.5, usage texts), command pre-processing (2.3: trim, verb
 * normalisation, "@exit", prefix dispatch) and the small scanning helpers
 * the per-verb parsers share.
 */
#include "at/at_int.h"
#include "at/error.h"
#include "at/verb.h"
#include "at/verb_int.h"
#include "util/alloc.h"
#include "util/err.h"

#include <cjson/cJSON.h>
#include <string.h>

#define ANY (AT_VF_UNAUTH_OK | AT_VF_POL_OK)
#define OWN AT_VF_REQUIRES_OWNER

static const struct at_verb_info table[AT_VERB__COUNT] = {
    [AT_VERB_NONE] = {AT_VERB_NONE, "", "", ANY, "invalid command"},
    [AT_VERB_EXIT] = {AT_VERB_EXIT, "@exit", "@exit", ANY, "@exit"},
    [AT_VERB_FROM] = {AT_VERB_FROM, "from", "from:", ANY, "from:<@atsign>[:clientConfig:<json>]"},
    [AT_VERB_CRAM] = {AT_VERB_CRAM, "cram", "cram:", ANY, "cram:<digest>"},
    [AT_VERB_PKAM] = {AT_VERB_PKAM, "pkam", "pkam:", ANY,
                      "pkam:[signingAlgo:<rsa2048|ecc_secp256r1>:][hashingAlgo:<sha256|sha512>:]"
                      "[enrollmentId:<id>:]<signature>"},
    [AT_VERB_UPDATE] = {AT_VERB_UPDATE, "update", "update:", OWN,
                        "update[:<metadata>][:public|:<@with>]:<key>@<owner> <value>"},
    [AT_VERB_UPDATE_META] = {AT_VERB_UPDATE_META, "update:meta", "update:meta:", OWN,
                             "update:meta[:public|:<@with>]:<key>@<owner>[:<metadata>]"},
    [AT_VERB_LLOOKUP] = {AT_VERB_LLOOKUP, "llookup", "llookup:", OWN,
                         "llookup[:meta|:all][:cached][:public|:<@with>]:<key>@<owner>"},
    [AT_VERB_PLOOKUP] = {AT_VERB_PLOOKUP, "plookup", "plookup:", OWN,
                         "plookup[:bypassCache:true|false][:meta|:all]:<key>@<owner>"},
    [AT_VERB_LOOKUP] = {AT_VERB_LOOKUP, "lookup", "lookup:", ANY,
                        "lookup[:bypassCache:true|false][:meta|:all]:<key>@<owner>"},
    [AT_VERB_SCAN] = {AT_VERB_SCAN, "scan", "scan", ANY,
                      "scan[:showHidden:true|false][:<@other>][:page:<n>][ <regex>]"},
    [AT_VERB_POL] = {AT_VERB_POL, "pol", "pol", ANY, "pol"},
    [AT_VERB_DELETE] =
        {AT_VERB_DELETE, "delete", "delete:", OWN,
         "delete[:priority:low|medium|high][:cached][:public|:<@with>]:<key>[@<owner>]"},
    [AT_VERB_STATS] = {AT_VERB_STATS, "stats", "stats", OWN, "stats[:<id>[,<id>...]][:<regex>]"},
    [AT_VERB_CONFIG] = {AT_VERB_CONFIG, "config", "config:", OWN,
                        "config:block|allow:add|remove:<@atsign>[ <@atsign>...] | "
                        "config:block|allow:show"},
    [AT_VERB_MONITOR] = {AT_VERB_MONITOR, "monitor", "monitor", OWN,
                         "monitor[:strict][:selfNotifications][:multiplexed][:<epochMillis>]"
                         "[ <regex>]"},
    [AT_VERB_STREAM] = {AT_VERB_STREAM, "stream", "stream", OWN, "stream:<operation>..."},
    [AT_VERB_NOTIFY] = {AT_VERB_NOTIFY, "notify", "notify:", AT_VF_POL_OK,
                        "notify[:id:<id>][:update|:delete][:messageType:key|text]"
                        "[:priority:low|medium|high][:strategy:all|latest][:latestN:<n>]"
                        "[:notifier:<name>][:ttln:<ms>][:<metadata>]:<@to>|public:<key>[@<from>]"
                        "[:<value>]"},
    [AT_VERB_NOTIFY_LIST] = {AT_VERB_NOTIFY_LIST, "notify:list", "notify:list", ANY,
                             "notify:list[:<fromDate>][:<toDate>][:<regex>]"},
    [AT_VERB_BATCH] = {AT_VERB_BATCH, "batch", "batch:", OWN, "batch:<json array>"},
    [AT_VERB_NOTIFY_STATUS] = {AT_VERB_NOTIFY_STATUS, "notify:status", "notify:status", ANY,
                               "notify:status:<id>"},
    [AT_VERB_NOTIFY_ALL] = {AT_VERB_NOTIFY_ALL, "notify:all", "notify:all", OWN,
                            "notify:all[:update|:delete][:messageType:key|text][:<metadata>]"
                            ":<@a>,<@b>...:<key>[@<from>][:<value>]"},
    [AT_VERB_SYNC_FROM] = {AT_VERB_SYNC_FROM, "sync:from", "sync:from", OWN,
                           "sync:from:<commitId>:limit:<n>[:<regex>]"},
    [AT_VERB_INFO] = {AT_VERB_INFO, "info", "info", ANY, "info[:brief]"},
    [AT_VERB_NOOP] = {AT_VERB_NOOP, "noop", "noop:", ANY, "noop:<milliseconds <= 5000>"},
    [AT_VERB_NOTIFY_REMOVE] = {AT_VERB_NOTIFY_REMOVE, "notify:remove", "notify:remove:", OWN,
                               "notify:remove:<id>"},
    [AT_VERB_NOTIFY_FETCH] = {AT_VERB_NOTIFY_FETCH, "notify:fetch", "notify:fetch", OWN,
                              "notify:fetch:<id>"},
    [AT_VERB_ENROLL] = {AT_VERB_ENROLL, "enroll", "enroll:", AT_VF_UNAUTH_OK,
                        "enroll:request|approve|deny|revoke|unrevoke|list|fetch|delete[:force]"
                        "[:<json>]"},
    [AT_VERB_OTP] = {AT_VERB_OTP, "otp", "otp:", OWN,
                     "otp:get[:ttl:<ms>] | otp:put:<spp>[:ttl:<ms>]"},
    [AT_VERB_KEYS] = {AT_VERB_KEYS, "keys", "keys:", OWN,
                      "keys:put|get|delete[:public|private|self][:namespace:<ns>][:appName:<a>]"
                      "[:deviceName:<d>][:keyType:<t>][:encryptionKeyName:<k>][:keyName:<n>]"
                      "[ <value>]"},
};

const struct at_verb_info *at_verb_info(enum at_verb verb)
{
    if ((unsigned)verb >= AT_VERB__COUNT)
        verb = AT_VERB_NONE;
    return &table[verb];
}

int at_verb_allowed(enum at_verb verb, enum at_auth_state st)
{
    unsigned f = at_verb_info(verb)->flags;

    switch (st) {
    case AT_AUTH_OWNER:
        return 1;
    case AT_AUTH_POL:
        return (f & AT_VF_POL_OK) != 0;
    default:
        return (f & AT_VF_UNAUTH_OK) != 0;
    }
}

int at_perr_code(enum at_perr err)
{
    switch (err) {
    case AT_PERR_NONE:
        return 0;
    case AT_PERR_ILLEGAL_ARG:
        return AT_E_ILLEGAL_ARGUMENTS;
    case AT_PERR_INVALID_KEY:
        return AT_E_INVALID_KEY;
    case AT_PERR_TOO_LONG:
        return AT_E_BUFFER_LIMIT;
    case AT_PERR_NOMEM:
        return AT_E_INTERNAL_EXCEPTION;
    default:
        return AT_E_INVALID_SYNTAX;
    }
}

/* ---- shared scanning helpers ---- */

size_t at__tok(const char *p, const char *end)
{
    const char *c = memchr(p, ':', (size_t)(end - p));
    return c ? (size_t)(c - p) : (size_t)(end - p);
}

bool at__take(char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(end - *p) < n || !at__eq_ci(*p, n, lit))
        return false;
    *p += n;
    return true;
}

bool at__tok_is(const char *p, size_t n, const char *lit)
{
    return at__eq_ci(p, n, lit);
}

enum at_perr at__atsign_tok(const char *p, size_t n, char *dst)
{
    if (n >= AT_ATSIGN_BUF || at_atsign_check(p, n) != 0)
        return AT_PERR_SYNTAX;
    memcpy(dst, p, n);
    dst[n] = '\0';
    at__lower_n(dst, n);
    return AT_PERR_NONE;
}

enum at_perr at__key_err(int r)
{
    if (r == 0)
        return AT_PERR_NONE;
    return r == NP_ERR_TOOBIG ? AT_PERR_INVALID_KEY : AT_PERR_SYNTAX;
}

static bool is_json(const char *p, const char *end, int want_array)
{
    cJSON *j = at__json_parse(p, (size_t)(end - p));
    bool ok = j && (want_array ? cJSON_IsArray(j) : cJSON_IsObject(j));

    cJSON_Delete(j);
    return ok;
}

bool at__is_json_object(const char *p, const char *end)
{
    return is_json(p, end, 0);
}

bool at__is_json_array(const char *p, const char *end)
{
    return is_json(p, end, 1);
}

int at__md_option(struct at_metadata *md, const char *name, size_t nlen, const char *v, size_t vlen)
{
    int f = at_metadata_option_lookup(name, nlen);
    int r;

    if (f < 0)
        return -1;
    r = at_metadata_parse_option(md, (enum at_md_field)f, v, vlen);
    if (r == NP_ERR_NOMEM)
        return AT_PERR_NOMEM;
    return r == 0 ? AT_PERR_NONE : AT_PERR_SYNTAX;
}

/* ---- pre-processing and dispatch ---- */

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static enum at_verb dispatch(const char *s)
{
    if (starts(s, "from:"))
        return AT_VERB_FROM;
    if (starts(s, "cram:"))
        return AT_VERB_CRAM;
    if (starts(s, "pkam:"))
        return AT_VERB_PKAM;
    if (starts(s, "update:") && !starts(s, "update:meta"))
        return AT_VERB_UPDATE;
    if (starts(s, "update:meta:"))
        return AT_VERB_UPDATE_META;
    if (starts(s, "llookup:"))
        return AT_VERB_LLOOKUP;
    if (starts(s, "plookup:"))
        return AT_VERB_PLOOKUP;
    if (starts(s, "lookup:"))
        return AT_VERB_LOOKUP;
    if (starts(s, "scan"))
        return AT_VERB_SCAN;
    if (strcmp(s, "pol") == 0)
        return AT_VERB_POL;
    if (starts(s, "delete:"))
        return AT_VERB_DELETE;
    if (starts(s, "stats"))
        return AT_VERB_STATS;
    if (starts(s, "config:"))
        return AT_VERB_CONFIG;
    if (starts(s, "monitor"))
        return AT_VERB_MONITOR;
    if (starts(s, "stream"))
        return AT_VERB_STREAM;
    if (starts(s, "notify:") && !starts(s, "notify:list") && !starts(s, "notify:status") &&
        !starts(s, "notify:all") && !starts(s, "notify:remove") && !starts(s, "notify:fetch"))
        return AT_VERB_NOTIFY;
    if (starts(s, "notify:list"))
        return AT_VERB_NOTIFY_LIST;
    if (starts(s, "batch:"))
        return AT_VERB_BATCH;
    if (starts(s, "notify:status"))
        return AT_VERB_NOTIFY_STATUS;
    if (starts(s, "notify:all"))
        return AT_VERB_NOTIFY_ALL;
    if (starts(s, "sync:from"))
        return AT_VERB_SYNC_FROM;
    if (strcmp(s, "info") == 0 || strcmp(s, "info:brief") == 0)
        return AT_VERB_INFO;
    if (starts(s, "noop:"))
        return AT_VERB_NOOP;
    if (starts(s, "notify:remove:"))
        return AT_VERB_NOTIFY_REMOVE;
    if (starts(s, "notify:fetch"))
        return AT_VERB_NOTIFY_FETCH;
    if (starts(s, "enroll:"))
        return AT_VERB_ENROLL;
    if (starts(s, "otp:"))
        return AT_VERB_OTP;
    if (starts(s, "keys:"))
        return AT_VERB_KEYS;
    return AT_VERB_NONE;
}

typedef enum at_perr (*parse_fn)(struct at_cmd *c, char *p, char *end);

static const parse_fn parsers[AT_VERB__COUNT] = {
    [AT_VERB_FROM] = at__parse_from,
    [AT_VERB_CRAM] = at__parse_cram,
    [AT_VERB_PKAM] = at__parse_pkam,
    [AT_VERB_UPDATE] = at__parse_update,
    [AT_VERB_UPDATE_META] = at__parse_update_meta,
    [AT_VERB_LLOOKUP] = at__parse_llookup,
    [AT_VERB_PLOOKUP] = at__parse_lookup,
    [AT_VERB_LOOKUP] = at__parse_lookup,
    [AT_VERB_SCAN] = at__parse_scan,
    [AT_VERB_POL] = at__parse_pol,
    [AT_VERB_DELETE] = at__parse_delete,
    [AT_VERB_STATS] = at__parse_stats,
    [AT_VERB_CONFIG] = at__parse_config,
    [AT_VERB_MONITOR] = at__parse_monitor,
    [AT_VERB_STREAM] = at__parse_stream,
    [AT_VERB_NOTIFY] = at__parse_notify,
    [AT_VERB_NOTIFY_LIST] = at__parse_notify_list,
    [AT_VERB_BATCH] = at__parse_batch,
    [AT_VERB_NOTIFY_STATUS] = at__parse_notify_id,
    [AT_VERB_NOTIFY_ALL] = at__parse_notify_all,
    [AT_VERB_SYNC_FROM] = at__parse_sync,
    [AT_VERB_INFO] = at__parse_info,
    [AT_VERB_NOOP] = at__parse_noop,
    [AT_VERB_NOTIFY_REMOVE] = at__parse_notify_id,
    [AT_VERB_NOTIFY_FETCH] = at__parse_notify_id,
    [AT_VERB_ENROLL] = at__parse_enroll,
    [AT_VERB_OTP] = at__parse_otp,
    [AT_VERB_KEYS] = at__parse_keys,
};

/* Verb normalisation (2.3) in place; returns the new length. */
static size_t normalise(char *s, size_t n)
{
    char *colon = memchr(s, ':', n);
    size_t vlen, o = 0;

    if (!colon) {
        at__lower_n(s, n);
        return n;
    }
    vlen = (size_t)(colon - s);
    for (size_t i = 0; i < vlen; i++)
        if (s[i] != ' ')
            s[o++] = s[i];
    at__lower_n(s, o);
    memmove(s + o, colon, n - vlen + 1); /* with the NUL */
    return o + (n - vlen);
}

static void free_payload(struct at_cmd *cmd)
{
    if (cmd->verb == AT_VERB_CONFIG)
        np_free(cmd->u.config.atsigns);
    else if (cmd->verb == AT_VERB_NOTIFY_ALL)
        np_free(cmd->u.notify_all.to);
    memset(&cmd->u, 0, sizeof(cmd->u));
    at_metadata_clear(&cmd->md);
}

void at_cmd_free(struct at_cmd *cmd)
{
    if (!cmd)
        return;
    free_payload(cmd);
    np_free(cmd->line);
    memset(cmd, 0, sizeof(*cmd));
}

static int perr_to_np(enum at_perr e)
{
    switch (e) {
    case AT_PERR_NONE:
        return 0;
    case AT_PERR_ILLEGAL_ARG:
        return NP_ERR_INVAL;
    case AT_PERR_TOO_LONG:
        return NP_ERR_TOOBIG;
    case AT_PERR_NOMEM:
        return NP_ERR_NOMEM;
    default:
        return NP_ERR_FORMAT;
    }
}

int at_verb_parse(const char *line, size_t len, struct at_cmd *cmd)
{
    enum at_perr e;
    size_t n;

    if (!cmd)
        return NP_ERR_INVAL;
    memset(cmd, 0, sizeof(*cmd));
    if (!line && len > 0)
        return NP_ERR_INVAL;
    if (len > AT_LINE_MAX) {
        cmd->err = AT_PERR_TOO_LONG;
        return NP_ERR_TOOBIG;
    }
    while (len > 0 && at__is_space(line[len - 1]))
        len--;
    while (len > 0 && at__is_space(line[0])) {
        line++;
        len--;
    }
    if ((cmd->line = np_memdup0(len ? line : "", len)) == NULL) {
        cmd->err = AT_PERR_NOMEM;
        return NP_ERR_NOMEM;
    }
    if (len == 5 && memcmp(cmd->line, "@exit", 5) == 0) {
        cmd->verb = AT_VERB_EXIT;
        return 0;
    }
    n = normalise(cmd->line, len);
    cmd->verb = dispatch(cmd->line);
    if (cmd->verb == AT_VERB_NONE) {
        e = AT_PERR_INVALID_COMMAND;
    } else if (memchr(cmd->line, '\0', n)) {
        e = AT_PERR_SYNTAX; /* embedded NUL byte */
    } else {
        char *args = cmd->line + strlen(table[cmd->verb].prefix);
        e = parsers[cmd->verb](cmd, args, cmd->line + n);
    }
    cmd->err = e;
    if (e != AT_PERR_NONE)
        free_payload(cmd);
    return perr_to_np(e);
}

const char *at_notify_op_name(enum at_notify_op op)
{
    return op == AT_NOTIFY_DELETE ? "delete" : "update";
}

const char *at_msg_type_name(enum at_msg_type t)
{
    return t == AT_MSG_TEXT ? "text" : "key";
}

const char *at_priority_name(enum at_priority p)
{
    return p == AT_PRIORITY_HIGH ? "high" : p == AT_PRIORITY_MEDIUM ? "medium" : "low";
}

const char *at_strategy_name(enum at_strategy s)
{
    return s == AT_STRATEGY_LATEST ? "latest" : "all";
}
