/*
 * lib/at/verb_parse_notify.c - grammars of notify, notify:all, notify:list,
 * notify:status|fetch|remove and monitor (atprotocol.md 6.8-6.10, 7.2).
 *
 * notify options (id, update|delete, messageType or its at_c alias
 * message_type, priority, strategy, latestN, notifier, ttln, and the
 * metadata options) are accepted in any order, each at most once, up to the
 * recipient ("public" or "@to"). The rest is split per 6.8: for messageType
 * key the key runs up to the '@' that starts the sender atSign and the value
 * is everything after the ':' that follows that atSign (so keys may hold
 * single ':' but not "::"; values may hold ':' and '@'); without any '@' the
 * first ':' separates key and value; for messageType text the whole rest is
 * the text.
 */
#include "at/at_int.h"
#include "at/verb_int.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <string.h>

static bool id_ok(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool no_space(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (at__is_space(p[i]))
            return false;
    return n > 0;
}

/*
 * Split [p, end) = <key>[<@from>][:<value>] for messageType key. Writes NULs
 * into the buffer; key and value point into it.
 */
static enum at_perr split_key_value(char *p, char *end, const char **key, char *from,
                                    const char **value, size_t *vlen)
{
    char *at = memchr(p, '@', (size_t)(end - p));
    char *kend, *rest;

    if (at) {
        size_t n = at__tok(at, end);
        if (at__atsign_tok(at, n, from) != AT_PERR_NONE)
            return AT_PERR_SYNTAX;
        kend = at;
        rest = at + n;
    } else {
        kend = p + at__tok(p, end);
        rest = kend;
    }
    if (kend == p || !no_space(p, (size_t)(kend - p)))
        return AT_PERR_SYNTAX;
    for (char *q = p; q + 1 < kend; q++)
        if (q[0] == ':' && q[1] == ':')
            return AT_PERR_SYNTAX;
    if (rest < end) { /* rest[0] == ':' */
        if (rest + 1 == end)
            return AT_PERR_SYNTAX;
        *value = rest + 1;
        *vlen = (size_t)(end - rest - 1);
        *rest = '\0';
    }
    *kend = '\0';
    *key = p;
    return AT_PERR_NONE;
}

/* One notify option at p (name token of length n). Returns AT_PERR_* or -1
 * when the token is not an option (the recipient starts there). */
static int notify_option(struct at_cmd *c, char **pp, char *end)
{
    struct at_cmd_notify *o = &c->u.notify;
    char *p = *pp, *v;
    size_t n = at__tok(p, end), vn;
    int r;

    if (p + n == end)
        return -1;
    if (at__tok_is(p, n, "update") || at__tok_is(p, n, "delete")) {
        if (o->has_op)
            return AT_PERR_SYNTAX;
        o->has_op = true;
        o->op = at__tok_is(p, n, "delete") ? AT_NOTIFY_DELETE : AT_NOTIFY_UPDATE;
        *pp = p + n + 1;
        return AT_PERR_NONE;
    }
    v = p + n + 1;
    vn = at__tok(v, end);
    if (v + vn == end && (at__tok_is(p, n, "id") || at__tok_is(p, n, "messageType") ||
                          at__tok_is(p, n, "message_type") || at__tok_is(p, n, "priority") ||
                          at__tok_is(p, n, "strategy") || at__tok_is(p, n, "latestN") ||
                          at__tok_is(p, n, "notifier") || at__tok_is(p, n, "ttln") ||
                          at_metadata_option_lookup(p, n) >= 0))
        return AT_PERR_SYNTAX; /* an option with nothing after it */
    if (at__tok_is(p, n, "id")) {
        if (o->id || !id_ok(v, vn))
            return AT_PERR_SYNTAX;
        o->id = v;
    } else if (at__tok_is(p, n, "messageType") || at__tok_is(p, n, "message_type")) {
        if (o->has_msg_type)
            return AT_PERR_SYNTAX;
        if (at__tok_is(v, vn, "key"))
            o->msg_type = AT_MSG_KEY;
        else if (at__tok_is(v, vn, "text"))
            o->msg_type = AT_MSG_TEXT;
        else
            return AT_PERR_SYNTAX;
        o->has_msg_type = true;
    } else if (at__tok_is(p, n, "priority")) {
        if (o->has_priority)
            return AT_PERR_SYNTAX;
        if (at__tok_is(v, vn, "low"))
            o->priority = AT_PRIORITY_LOW;
        else if (at__tok_is(v, vn, "medium"))
            o->priority = AT_PRIORITY_MEDIUM;
        else if (at__tok_is(v, vn, "high"))
            o->priority = AT_PRIORITY_HIGH;
        else
            return AT_PERR_SYNTAX;
        o->has_priority = true;
    } else if (at__tok_is(p, n, "strategy")) {
        if (o->has_strategy)
            return AT_PERR_SYNTAX;
        if (at__tok_is(v, vn, "all"))
            o->strategy = AT_STRATEGY_ALL;
        else if (at__tok_is(v, vn, "latest"))
            o->strategy = AT_STRATEGY_LATEST;
        else
            return AT_PERR_SYNTAX;
        o->has_strategy = true;
    } else if (at__tok_is(p, n, "latestN")) {
        if (o->has_latest_n || vn == 0 || v[0] == '-' ||
            np_parse_i64n(v, vn, 0, INT64_MAX, &o->latest_n) != 0)
            return AT_PERR_SYNTAX;
        o->has_latest_n = true;
    } else if (at__tok_is(p, n, "notifier")) {
        if (o->notifier || !no_space(v, vn))
            return AT_PERR_SYNTAX;
        o->notifier = v;
    } else if (at__tok_is(p, n, "ttln")) {
        if (o->has_ttln || vn == 0 || v[0] == '-' ||
            np_parse_i64n(v, vn, 0, INT64_MAX, &o->ttln) != 0)
            return AT_PERR_SYNTAX;
        o->has_ttln = true;
    } else {
        r = at__md_option(&c->md, p, n, v, vn);
        if (r != AT_PERR_NONE)
            return r; /* -1 (not an option) or an error */
    }
    v[vn] = '\0'; /* the ':' after the value */
    *pp = v + vn + 1;
    return AT_PERR_NONE;
}

enum at_perr at__parse_notify(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_notify *o = &c->u.notify;
    size_t n;
    int r;

    while ((r = notify_option(c, &p, end)) == AT_PERR_NONE)
        ;
    if (r != -1)
        return (enum at_perr)r;
    n = at__tok(p, end);
    if (at__tok_is(p, n, "public")) {
        o->is_public = true;
    } else if (n > 0 && p[0] == '@') {
        if (at__atsign_tok(p, n, o->to) != AT_PERR_NONE)
            return AT_PERR_SYNTAX;
    } else {
        return AT_PERR_SYNTAX;
    }
    p += n;
    if (p == end || p + 1 == end)
        return AT_PERR_SYNTAX;
    p++;
    if (o->msg_type == AT_MSG_TEXT) {
        o->key = p;
        return AT_PERR_NONE;
    }
    return split_key_value(p, end, &o->key, o->from, &o->value, &o->value_len);
}

enum at_perr at__parse_notify_all(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_notify_all *o = &c->u.notify_all;
    size_t vlen = 0;

    if (!at__take(&p, end, ":"))
        return AT_PERR_SYNTAX;
    for (;;) {
        size_t n = at__tok(p, end), vn;
        char *v;
        int r;
        if (p + n == end)
            return AT_PERR_SYNTAX;
        if (n > 0 && p[0] == '@')
            break;
        if (at__tok_is(p, n, "update") || at__tok_is(p, n, "delete")) {
            if (o->has_op)
                return AT_PERR_SYNTAX;
            o->has_op = true;
            o->op = at__tok_is(p, n, "delete") ? AT_NOTIFY_DELETE : AT_NOTIFY_UPDATE;
            p += n + 1;
            continue;
        }
        v = p + n + 1;
        vn = at__tok(v, end);
        if (v + vn == end)
            return AT_PERR_SYNTAX;
        if (at__tok_is(p, n, "messageType")) {
            if (o->has_msg_type)
                return AT_PERR_SYNTAX;
            if (at__tok_is(v, vn, "key"))
                o->msg_type = AT_MSG_KEY;
            else if (at__tok_is(v, vn, "text"))
                o->msg_type = AT_MSG_TEXT;
            else
                return AT_PERR_SYNTAX;
            o->has_msg_type = true;
        } else if ((r = at__md_option(&c->md, p, n, v, vn)) != AT_PERR_NONE) {
            return r < 0 ? AT_PERR_SYNTAX : (enum at_perr)r;
        }
        p = v + vn + 1;
    }
    { /* recipients "@a,@b,..." */
        size_t n = at__tok(p, end), i = 0, count = 1;
        for (size_t k = 0; k < n; k++)
            count += p[k] == ',';
        if (count > AT_CMD_MAX_ATSIGNS)
            return AT_PERR_ILLEGAL_ARG;
        if ((o->to = np_calloc(count, sizeof(*o->to))) == NULL)
            return AT_PERR_NOMEM;
        while (i <= n) {
            size_t j = i;
            while (j < n && p[j] != ',')
                j++;
            if (at__atsign_tok(p + i, j - i, o->to[o->n_to]) != AT_PERR_NONE)
                return AT_PERR_SYNTAX;
            o->n_to++;
            i = j + 1;
        }
        p += n + 1;
    }
    if (p == end)
        return AT_PERR_SYNTAX;
    if (o->msg_type == AT_MSG_TEXT) {
        o->key = p;
        return AT_PERR_NONE;
    }
    return split_key_value(p, end, &o->key, o->from, &o->value, &vlen);
}

/* "YYYY-M(M)-D(D)" at [p, p+n) -> canonical text and UTC midnight. Returns
 * 1 when the token looks like a date (digits and '-' in that shape), and
 * sets *bad when it is not a real calendar date. */
static int date_tok(const char *p, size_t n, char *out, int64_t *ms, bool *bad)
{
    int64_t y, m, d;
    size_t a = 0, b;

    while (a < n && p[a] != '-')
        a++;
    if (a != 4 || a == n)
        return 0;
    b = a + 1;
    while (b < n && p[b] != '-')
        b++;
    if (b == n || b - a - 1 < 1 || b - a - 1 > 2 || n - b - 1 < 1 || n - b - 1 > 2)
        return 0;
    if (np_parse_i64n(p, 4, 0, 9999, &y) != 0 ||
        np_parse_i64n(p + a + 1, b - a - 1, 0, 99, &m) != 0 ||
        np_parse_i64n(p + b + 1, n - b - 1, 0, 99, &d) != 0)
        return 0;
    if (!at__date_valid(y, (int)m, (int)d)) {
        *bad = true;
        return 1;
    }
    np_str_fmt(out, 11, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
    *ms = at__days_from_civil(y, (unsigned)m, (unsigned)d) * 86400000LL;
    return 1;
}

enum at_perr at__parse_notify_list(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_notify_list *l = &c->u.notify_list;
    bool bad = false;

    if (p == end)
        return AT_PERR_NONE;
    if (at__is_space(*p)) { /* "notify:list <regex>" */
        if (p + 1 == end)
            return AT_PERR_SYNTAX;
        l->regex = p + 1;
        return AT_PERR_NONE;
    }
    if (*p != ':' || p + 1 == end)
        return AT_PERR_SYNTAX;
    p++;
    for (int i = 0; i < 2 && p < end; i++) {
        size_t n = at__tok(p, end);
        char *date = i == 0 ? l->from_date : l->to_date;
        int64_t *ms = i == 0 ? &l->from_ms : &l->to_ms;
        if (!date_tok(p, n, date, ms, &bad))
            break;
        if (bad)
            return AT_PERR_ILLEGAL_ARG;
        if (i == 0)
            l->has_from = true;
        else
            l->has_to = true;
        p += n;
        if (p == end)
            return AT_PERR_NONE;
        p++;
        if (p == end)
            return AT_PERR_SYNTAX;
    }
    l->regex = p;
    return AT_PERR_NONE;
}

enum at_perr at__parse_notify_id(struct at_cmd *c, char *p, char *end)
{
    if (c->verb != AT_VERB_NOTIFY_REMOVE && !at__take(&p, end, ":"))
        return AT_PERR_SYNTAX;
    if (!no_space(p, (size_t)(end - p)) || memchr(p, ':', (size_t)(end - p)))
        return AT_PERR_SYNTAX;
    c->u.id.id = p;
    return AT_PERR_NONE;
}

enum at_perr at__parse_monitor(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_monitor *m = &c->u.monitor;
    char *ws = p;

    m->regex = ".*";
    while (ws < end && !at__is_space(*ws))
        ws++;
    while (p < ws) {
        size_t n;
        if (*p++ != ':')
            return AT_PERR_SYNTAX;
        n = at__tok(p, ws);
        if (at__tok_is(p, n, "strict") && !m->strict)
            m->strict = true;
        else if (at__tok_is(p, n, "selfNotifications") && !m->self_notifications)
            m->self_notifications = true;
        else if (at__tok_is(p, n, "multiplexed") && !m->multiplexed)
            m->multiplexed = true;
        else if (!m->has_epoch && n > 0 && p[0] != '-' &&
                 np_parse_i64n(p, n, 0, INT64_MAX, &m->epoch_ms) == 0)
            m->has_epoch = true;
        else
            return AT_PERR_SYNTAX;
        p += n;
    }
    if (ws < end) {
        *ws = '\0';
        if (ws + 1 == end)
            return AT_PERR_SYNTAX;
        m->regex = ws + 1;
    }
    return AT_PERR_NONE;
}

int at_cmd_notify_full_key(const struct at_cmd *cmd, char *buf, size_t size)
{
    const struct at_cmd_notify *o;

    if (!buf || size == 0)
        return NP_ERR_INVAL;
    buf[0] = '\0';
    if (!cmd || cmd->verb != AT_VERB_NOTIFY || cmd->err != AT_PERR_NONE || !cmd->u.notify.key)
        return NP_ERR_INVAL;
    o = &cmd->u.notify;
    if (o->is_public)
        return np_str_fmt(buf, size, "public:%s%s", o->key, o->from);
    if (o->msg_type == AT_MSG_TEXT)
        return np_str_fmt(buf, size, "%s:%s", o->to, o->key);
    return np_str_fmt(buf, size, "%s:%s%s", o->to, o->key, o->from);
}
