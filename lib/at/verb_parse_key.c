/*
 * lib/at/verb_parse_key.c - grammars of the keystore verbs: update,
 * update:meta, llookup, lookup, plookup, delete, scan (atprotocol.md
 * 6.1-6.7). Keys are parsed with at_key_parse; each verb then admits only
 * the key forms its grammar allows.
 */
#include "at/at_int.h"
#include "at/verb_int.h"
#include "util/err.h"
#include "util/str.h"

#include <string.h>

/* Key forms update and update:meta accept: [public:|@with:]k[@owner], and
 * privatekey:at_pkam_publickey when allow_pkam. */
static enum at_perr update_key_ok(const struct at_key *k, bool allow_pkam)
{
    if (k->cached || k->form == AT_KEY_FORM_PRIVATE || k->form == AT_KEY_FORM_LOCAL)
        return AT_PERR_SYNTAX;
    if (k->form == AT_KEY_FORM_PRIVATEKEY &&
        (!allow_pkam || strcmp(k->name, "at_pkam_publickey") != 0 || k->ns[0]))
        return AT_PERR_SYNTAX;
    return AT_PERR_NONE;
}

enum at_perr at__parse_update(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_update *u = &c->u.update;
    enum at_perr e;
    char *sp;
    int r;

    if (at__take(&p, end, "json:")) {
        if (!at__is_json_object(p, end))
            return AT_PERR_SYNTAX;
        u->json = p;
        return AT_PERR_NONE;
    }
    for (;;) { /* metadata options, any order */
        size_t n = at__tok(p, end), vn;
        char *v;
        if (p + n == end)
            break;
        v = p + n + 1;
        vn = at__tok(v, end);
        r = at__md_option(&c->md, p, n, v, vn);
        if (r < 0)
            break;
        if (r != AT_PERR_NONE)
            return (enum at_perr)r;
        if (v + vn == end)
            return AT_PERR_SYNTAX;
        p = v + vn + 1;
    }
    for (sp = p; sp < end && !at__is_space(*sp); sp++)
        ;
    if (sp == p || sp == end || sp + 1 == end)
        return AT_PERR_SYNTAX;
    if ((e = at__key_err(at_key_parse(p, (size_t)(sp - p), &u->key))) != AT_PERR_NONE)
        return e;
    if ((e = update_key_ok(&u->key, true)) != AT_PERR_NONE)
        return e;
    *sp = '\0';
    u->value = sp + 1;
    u->value_len = (size_t)(end - sp - 1);
    return AT_PERR_NONE;
}

enum at_perr at__parse_update_meta(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_update *u = &c->u.update;
    char *q = p, *at, *kend;
    enum at_perr e;
    int r;

    if (!at__take(&q, end, "public:") && q < end && *q == '@') {
        size_t n = at__tok(q, end);
        if (q + n == end)
            return AT_PERR_SYNTAX;
        q += n + 1;
    }
    at = memchr(q, '@', (size_t)(end - q));
    if (!at)
        return AT_PERR_SYNTAX;
    kend = at + at__tok(at, end);
    if ((e = at__key_err(at_key_parse(p, (size_t)(kend - p), &u->key))) != AT_PERR_NONE)
        return e;
    if ((e = update_key_ok(&u->key, false)) != AT_PERR_NONE)
        return e;
    r = at_metadata_parse_options(&c->md, kend, (size_t)(end - kend));
    if (r == NP_ERR_NOMEM)
        return AT_PERR_NOMEM;
    return r == 0 ? AT_PERR_NONE : AT_PERR_SYNTAX;
}

static void lookup_op(char **p, const char *end, enum at_lookup_op *op)
{
    if (at__take(p, end, "meta:"))
        *op = AT_LOOKUP_META;
    else if (at__take(p, end, "all:"))
        *op = AT_LOOKUP_ALL;
    else
        *op = AT_LOOKUP_VALUE;
}

enum at_perr at__parse_llookup(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_lookup *l = &c->u.lookup;
    enum at_perr e;

    l->bypass_cache = -1;
    lookup_op(&p, end, &l->op);
    if ((e = at__key_err(at_key_parse(p, (size_t)(end - p), &l->key))) != AT_PERR_NONE)
        return e;
    if (l->key.form == AT_KEY_FORM_PRIVATE || l->key.form == AT_KEY_FORM_LOCAL)
        return AT_PERR_SYNTAX;
    /* privatekey: has no owner (4.2; 15 lists it as unconfirmed but harmless) */
    if (l->key.form != AT_KEY_FORM_PRIVATEKEY && l->key.owner[0] == '\0')
        return AT_PERR_SYNTAX;
    return AT_PERR_NONE;
}

enum at_perr at__parse_lookup(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_lookup *l = &c->u.lookup;
    enum at_perr e;

    l->bypass_cache = -1;
    if (at__take(&p, end, "bypassCache:")) {
        if (at__take(&p, end, "true:"))
            l->bypass_cache = 1;
        else if (at__take(&p, end, "false:"))
            l->bypass_cache = 0;
        else
            return AT_PERR_SYNTAX;
    }
    lookup_op(&p, end, &l->op);
    if (memchr(p, ':', (size_t)(end - p)))
        return AT_PERR_SYNTAX;
    if ((e = at__key_err(at_key_parse(p, (size_t)(end - p), &l->key))) != AT_PERR_NONE)
        return e;
    if (l->key.owner[0] == '\0')
        return AT_PERR_SYNTAX;
    return AT_PERR_NONE;
}

enum at_perr at__parse_delete(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_delete *d = &c->u.del;
    enum at_perr e;

    if (at__take(&p, end, "priority:")) {
        if (at__take(&p, end, "low:"))
            d->priority = AT_PRIORITY_LOW;
        else if (at__take(&p, end, "medium:"))
            d->priority = AT_PRIORITY_MEDIUM;
        else if (at__take(&p, end, "high:"))
            d->priority = AT_PRIORITY_HIGH;
        else
            return AT_PERR_SYNTAX;
        d->has_priority = true;
    }
    if ((e = at__key_err(at_key_parse(p, (size_t)(end - p), &d->key))) != AT_PERR_NONE)
        return e;
    if (d->key.form == AT_KEY_FORM_PRIVATE || d->key.form == AT_KEY_FORM_LOCAL)
        return AT_PERR_SYNTAX;
    return AT_PERR_NONE;
}

enum at_perr at__parse_scan(struct at_cmd *c, char *p, char *end)
{
    struct at_cmd_scan *s = &c->u.scan;
    char *ws = p;

    s->show_hidden = -1;
    while (ws < end && !at__is_space(*ws))
        ws++;
    if (at__take(&p, ws, ":showHidden:")) {
        if (at__take(&p, ws, "true"))
            s->show_hidden = 1;
        else if (at__take(&p, ws, "false"))
            s->show_hidden = 0;
        else
            return AT_PERR_SYNTAX;
    }
    if (ws - p >= 2 && p[0] == ':' && p[1] == '@') {
        size_t n = at__tok(p + 1, ws);
        if (at__atsign_tok(p + 1, n, s->other) != AT_PERR_NONE)
            return AT_PERR_SYNTAX;
        p += 1 + n;
    }
    if (at__take(&p, ws, ":page:")) {
        size_t n = at__tok(p, ws);
        if (n == 0 || p[0] == '-' || np_parse_i64n(p, n, 0, INT64_MAX, &s->page) != 0)
            return AT_PERR_SYNTAX;
        s->has_page = true;
        p += n;
    }
    if (p != ws)
        return AT_PERR_SYNTAX;
    if (ws < end) {
        *ws = '\0';
        if (ws + 1 == end)
            return AT_PERR_SYNTAX;
        s->regex = ws + 1;
    }
    return AT_PERR_NONE;
}
