/*
 * lib/at/atkey.c - atKey parsing, classification (4.1), reserved-key
 * detection (4.3) and formatting. Works on a lower-cased copy of the input
 * in a stack buffer; nothing is allocated.
 */
#include "at/atkey.h"
#include "at/at_int.h"
#include "util/err.h"
#include "util/str.h"

#include <string.h>

static const char *const reserved_privatekeys[] = {"at_pkam_publickey",
                                                   "at_pkam_privatekey",
                                                   "privatekey",
                                                   "self_encryption_key",
                                                   "at_secret",
                                                   "at_secret_deleted",
                                                   "signing_keypair_generated",
                                                   "commitlogcompactionstats",
                                                   "accesslogcompactionstats",
                                                   "notificationcompactionstats",
                                                   NULL};

/* Name characters (ASCII part); non-ASCII is judged by at__cp_allowed. */
static int name_ascii_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
           c == '\'' || c == '*' || c == '"';
}

static int check_name(const char *s, size_t n)
{
    size_t i = 0;

    if (n == 0)
        return NP_ERR_FORMAT;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) {
            if (!name_ascii_ok(s[i]))
                return NP_ERR_FORMAT;
            i++;
        } else {
            uint32_t cp;
            size_t l = at__utf8_decode(s + i, n - i, &cp);
            if (l == 0 || !at__cp_allowed(cp))
                return NP_ERR_FORMAT;
            i += l;
        }
    }
    return 0;
}

static int ns_ok(const char *s, size_t n)
{
    if (n == 0 || n >= AT_KEY_NS_BUF)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static int in_list(const char *s, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* 4.3, on the key without "cached:"; entity = name[.ns] as written. */
static int is_reserved(const struct at_key *k, const char *entity)
{
    if (k->form == AT_KEY_FORM_PRIVATEKEY)
        return in_list(entity, reserved_privatekeys);
    if (k->owner[0] == '\0') {
        if (k->form != AT_KEY_FORM_PLAIN || k->shared_with[0])
            return 0;
        return strcmp(entity, "configkey") == 0 || entity[0] == '_';
    }
    switch (k->form) {
    case AT_KEY_FORM_PRIVATE:
        return strcmp(entity, "blocklist") == 0;
    case AT_KEY_FORM_PUBLIC:
        return strcmp(entity, "signing_publickey") == 0 || strcmp(entity, "publickey") == 0;
    case AT_KEY_FORM_PLAIN:
        if (k->shared_with[0])
            return strcmp(entity, "signing_privatekey") == 0 || strcmp(entity, "shared_key") == 0;
        if (strncmp(entity, "shared_key.", 11) == 0) {
            /* shared_key.<atsign name> */
            char at[AT_ATSIGN_BUF + 1];
            size_t l = strlen(entity + 11);
            if (l == 0 || l + 2 > sizeof(at))
                return 0;
            at[0] = '@';
            memcpy(at + 1, entity + 11, l + 1);
            return at_atsign_check(at, l + 1) == 0;
        }
        return 0;
    default:
        return 0;
    }
}

static enum at_key_type classify(const struct at_key *k)
{
    if (k->reserved)
        return AT_KEY_RESERVED;
    if (!k->cached && k->form == AT_KEY_FORM_PUBLIC && k->owner[0])
        return AT_KEY_PUBLIC;
    if (!k->cached && k->form == AT_KEY_FORM_PRIVATEKEY)
        return AT_KEY_PRIVATE;
    if (!k->cached && k->form == AT_KEY_FORM_PRIVATE && k->owner[0])
        return AT_KEY_PRIVATE;
    if (!k->cached && k->form == AT_KEY_FORM_PLAIN && k->owner[0]) {
        if (k->shared_with[0] == '\0' || strcmp(k->shared_with, k->owner) == 0)
            return AT_KEY_SELF;
        return AT_KEY_SHARED;
    }
    if (k->cached && k->form == AT_KEY_FORM_PUBLIC && k->owner[0])
        return AT_KEY_CACHED_PUBLIC;
    if (k->cached && k->form == AT_KEY_FORM_PLAIN && k->shared_with[0] && k->owner[0])
        return AT_KEY_CACHED_SHARED;
    if (!k->cached && k->form == AT_KEY_FORM_LOCAL && k->owner[0])
        return AT_KEY_LOCAL;
    return AT_KEY_INVALID;
}

/* Consume a lower-case literal prefix from *p (length *n). */
static int eat(const char **p, size_t *n, const char *lit)
{
    size_t l = strlen(lit);
    if (*n < l || memcmp(*p, lit, l) != 0)
        return 0;
    *p += l;
    *n -= l;
    return 1;
}

static int copy_atsign(char *dst, const char *s, size_t n)
{
    int r = at_atsign_check(s, n);
    if (r != 0)
        return r;
    memcpy(dst, s, n); /* n < AT_ATSIGN_BUF: at_atsign_check bounds it */
    dst[n] = '\0';
    return 0;
}

int at_key_parse(const char *text, size_t n, struct at_key *key)
{
    char low[AT_KEY_BUF];
    struct at_key k;
    const char *p, *at, *entity;
    size_t rest, units, elen;
    int r;

    if (!key)
        return NP_ERR_INVAL;
    memset(key, 0, sizeof(*key));
    if (!text)
        return NP_ERR_INVAL;
    if (n >= sizeof(low))
        return NP_ERR_TOOBIG;
    memset(&k, 0, sizeof(k));
    memcpy(low, text, n);
    low[n] = '\0';
    at__lower_n(low, n);
    if (memchr(low, '\0', n))
        return NP_ERR_FORMAT;
    units = at__utf16_len(low, n);
    if (units == (size_t)-1)
        return NP_ERR_FORMAT;

    p = low;
    rest = n;
    k.cached = eat(&p, &rest, "cached:");
    if (eat(&p, &rest, "privatekey:"))
        k.form = AT_KEY_FORM_PRIVATEKEY;
    else if (eat(&p, &rest, "private:"))
        k.form = AT_KEY_FORM_PRIVATE;
    else if (eat(&p, &rest, "local:"))
        k.form = AT_KEY_FORM_LOCAL;
    else if (eat(&p, &rest, "public:"))
        k.form = AT_KEY_FORM_PUBLIC;
    else if (rest > 0 && p[0] == '@') {
        const char *colon = memchr(p, ':', rest);
        if (!colon)
            return NP_ERR_FORMAT;
        if ((r = copy_atsign(k.shared_with, p, (size_t)(colon - p))) != 0)
            return NP_ERR_FORMAT;
        rest -= (size_t)(colon - p) + 1;
        p = colon + 1;
    }
    k.is_public = k.form == AT_KEY_FORM_PUBLIC;

    /* p[0..rest) = entity[@owner] */
    at = memchr(p, '@', rest);
    entity = p;
    elen = at ? (size_t)(at - p) : rest;
    if (at) {
        if (k.form == AT_KEY_FORM_PRIVATEKEY)
            return NP_ERR_FORMAT;
        if ((r = copy_atsign(k.owner, at, rest - elen)) != 0)
            return NP_ERR_FORMAT;
    } else if (k.form == AT_KEY_FORM_PRIVATE || k.form == AT_KEY_FORM_LOCAL ||
               k.form == AT_KEY_FORM_PUBLIC) {
        return NP_ERR_FORMAT;
    }
    if ((r = check_name(entity, elen)) != 0)
        return r;
    if (k.cached && k.form != AT_KEY_FORM_PUBLIC && k.form != AT_KEY_FORM_PLAIN)
        return NP_ERR_FORMAT;
    if (units > (k.cached ? AT_KEY_MAX_CACHED_CHARS : AT_KEY_MAX_CHARS))
        return NP_ERR_TOOBIG;

    memcpy(k.name, entity, elen);
    k.name[elen] = '\0';
    k.hidden = k.name[0] == '_';
    k.reserved = is_reserved(&k, k.name);
    {
        char *dot = strrchr(k.name, '.');
        if (dot && ns_ok(dot + 1, strlen(dot + 1))) {
            memcpy(k.ns, dot + 1, strlen(dot + 1) + 1);
            *dot = '\0';
        }
    }
    k.type = classify(&k);
    *key = k;
    return 0;
}

int at_key_entity(const struct at_key *key, char *buf, size_t size)
{
    if (!key || !buf || size == 0)
        return NP_ERR_INVAL;
    buf[0] = '\0';
    if (key->ns[0])
        return np_str_fmt(buf, size, "%s.%s", key->name, key->ns);
    return np_str_fmt(buf, size, "%s", key->name);
}

int at_key_format(const struct at_key *key, char *buf, size_t size)
{
    static const char *const pfx[] = {"", "public:", "private:", "privatekey:", "local:"};
    char entity[AT_KEY_BUF + AT_KEY_NS_BUF];
    struct at_key chk;
    int r;

    if (!buf || size == 0)
        return NP_ERR_INVAL;
    buf[0] = '\0';
    if (!key || (unsigned)key->form > AT_KEY_FORM_LOCAL)
        return NP_ERR_INVAL;
    if ((r = at_key_entity(key, entity, sizeof(entity))) != 0)
        return r;
    r = np_str_fmt(buf, size, "%s%s%s%s%s%s", key->cached ? "cached:" : "", pfx[key->form],
                   key->form == AT_KEY_FORM_PLAIN ? key->shared_with : "",
                   (key->form == AT_KEY_FORM_PLAIN && key->shared_with[0]) ? ":" : "", entity,
                   key->owner);
    if (r == 0)
        r = at_key_parse(buf, strlen(buf), &chk);
    if (r != 0)
        buf[0] = '\0';
    return r;
}

int at_key_make(struct at_key *key, enum at_key_form form, const char *shared_with,
                const char *entity, const char *owner, bool cached)
{
    char with[AT_ATSIGN_BUF] = "", own[AT_ATSIGN_BUF] = "";
    struct at_key k;
    int r;

    if (!key)
        return NP_ERR_INVAL;
    memset(key, 0, sizeof(*key));
    if (!entity || strlen(entity) >= AT_KEY_BUF)
        return entity ? NP_ERR_TOOBIG : NP_ERR_INVAL;
    if (shared_with && shared_with[0] &&
        (r = at_atsign_normalise(shared_with, strlen(shared_with), with, sizeof(with))) != 0)
        return r;
    if (owner && owner[0] && (r = at_atsign_normalise(owner, strlen(owner), own, sizeof(own))) != 0)
        return r;
    memset(&k, 0, sizeof(k));
    k.form = form;
    k.cached = cached;
    memcpy(k.shared_with, with, sizeof(with));
    memcpy(k.owner, own, sizeof(own));
    memcpy(k.name, entity, strlen(entity) + 1);
    {
        char buf[AT_KEY_BUF + 2 * AT_ATSIGN_BUF + 32];
        if ((r = at_key_format(&k, buf, sizeof(buf))) != 0)
            return r;
        return at_key_parse(buf, strlen(buf), key);
    }
}

int at_key_is_protected(const struct at_key *key, const char *me, const char *const *extra)
{
    char full[AT_KEY_BUF];
    char my[AT_ATSIGN_BUF];

    if (!key || key->cached)
        return 0;
    if (key->form == AT_KEY_FORM_PRIVATEKEY && strcmp(key->name, "at_pkam_publickey") == 0)
        return 1;
    if (me && at_atsign_normalise(me, strlen(me), my, sizeof(my)) == 0 && key->ns[0] == '\0' &&
        strcmp(key->owner, my) == 0) {
        if (key->form == AT_KEY_FORM_PUBLIC &&
            (strcmp(key->name, "signing_publickey") == 0 || strcmp(key->name, "publickey") == 0))
            return 1;
        if (key->form == AT_KEY_FORM_PLAIN && strcmp(key->shared_with, my) == 0 &&
            strcmp(key->name, "signing_privatekey") == 0)
            return 1;
    }
    if (extra && at_key_format(key, full, sizeof(full)) == 0 && in_list(full, extra))
        return 1;
    return 0;
}

const char *at_key_type_name(enum at_key_type type)
{
    switch (type) {
    case AT_KEY_RESERVED:
        return "reserved";
    case AT_KEY_PUBLIC:
        return "public";
    case AT_KEY_PRIVATE:
        return "private";
    case AT_KEY_SELF:
        return "self";
    case AT_KEY_SHARED:
        return "shared";
    case AT_KEY_CACHED_PUBLIC:
        return "cached public";
    case AT_KEY_CACHED_SHARED:
        return "cached shared";
    case AT_KEY_LOCAL:
        return "local";
    default:
        return "invalid";
    }
}
