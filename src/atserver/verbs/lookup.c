/*
 * src/atserver/verbs/lookup.c - llookup, lookup, plookup (atprotocol.md
 * 6.3-6.5, visibility of 3.5).
 *
 * llookup reads exactly the named key of the own store. lookup depends on
 * the connection: unauthenticated -> public:<k><@owner>; pol as @x ->
 * @x:<k><@owner>; owner -> <@me>:<k><@me> for the own atSign, otherwise a
 * fresh cached:<@me>:<k><@owner> copy or the owner's server (remote.h).
 * plookup reads public:<k><@me> locally for the own atSign, otherwise a fresh
 * cached:public: copy or the owner's server.
 */
#include "../conn.h"
#include "../dispatch.h"
#include "../keystore.h"
#include "../kv.h"
#include "../remote.h"
#include "../server.h"

#include "at/atkey.h"
#include "at/error.h"
#include "at/metadata.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>

/* The async state of a remote lookup. */
struct lookup_ctx {
    enum at_lookup_op op;
    bool plookup;
    char owner[AT_ATSIGN_BUF];
    char entity[AT_KEY_BUF];
};

/* Answer an entry in the requested form; key_name is the :all "key". */
static void answer_entry(struct as_conn *c, const struct ks_entry *e, enum at_lookup_op op,
                         const char *key_name)
{
    char *txt = NULL;
    int r;

    if (!e->active) {
        conn_reply_str(c, "null");
        return;
    }
    if (op == AT_LOOKUP_VALUE) {
        conn_reply_str(c, e->value ? e->value : "null");
        return;
    }
    r = op == AT_LOOKUP_META ? kv_render_meta(e, &txt) : kv_render_all(e, key_name, &txt);
    if (r != 0) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return;
    }
    conn_reply_str(c, txt);
    np_free(txt);
}

static void not_found(struct as_conn *c, const char *key)
{
    conn_reply_error(c, AT_E_KEY_NOT_FOUND, "%s does not exist in keystore", key);
}

/* Read `key` from the own store and answer. */
static void local_lookup(struct as_conn *c, const char *key, enum at_lookup_op op,
                         const char *key_name)
{
    struct ks_entry *e = NULL;
    int r = kv_get(c->host, key, np_wall_ms(), &e);

    if (r == NP_ERR_NOTFOUND)
        not_found(c, key);
    else if (r != 0)
        conn_reply_store_error(c, r, "lookup");
    else
        answer_entry(c, e, op, key_name);
    ks_entry_free(e);
}

void verb_llookup(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_key *k = &cmd->u.lookup.key;
    char key[AT_KEY_BUF];

    if (at_key_format(k, key, sizeof(key)) != 0) {
        conn_reply_error(c, AT_E_INVALID_KEY, "invalid key");
        return;
    }
    /* of the server-internal privatekey: keys only the PKAM public key is readable */
    if (k->form == AT_KEY_FORM_PRIVATEKEY && strcmp(key, "privatekey:at_pkam_publickey") != 0) {
        conn_reply_error(c, AT_E_UNAUTHORIZED, "%s cannot be read", key);
        return;
    }
    local_lookup(c, key, cmd->u.lookup.op, NULL);
}

/* Remote answer: cache when the owner allows it (ttr), answer. */
static void remote_done(struct as_conn *c, struct remote_answer *ans, struct lookup_ctx *x)
{
    static const enum at_md_field server_fields[] = {
        AT_MD_UPDATED_BY, AT_MD_CREATED_AT, AT_MD_UPDATED_AT, AT_MD_AVAILABLE_AT,
        AT_MD_EXPIRES_AT, AT_MD_REFRESH_AT, AT_MD_STATUS,     AT_MD_VERSION};
    struct as_host *h = c->host;
    struct at_metadata md;
    char cached[AT_KEY_BUF + AT_ATSIGN_BUF * 2 + 16], name[AT_KEY_BUF + AT_ATSIGN_BUF * 2];

    at_metadata_init(&md);
    if (x->plookup) {
        snprintf(name, sizeof(name), "public:%s%s", x->entity, x->owner);
        snprintf(cached, sizeof(cached), "cached:%s", name);
    } else {
        snprintf(name, sizeof(name), "%s:%s%s", h->atsign, x->entity, x->owner);
        snprintf(cached, sizeof(cached), "cached:%s", name);
    }
    if (ans->code == AT_E_KEY_NOT_FOUND || (ans->code == 0 && !ans->entry->active)) {
        /* the owner no longer has it: drop our copy (6.4) */
        if (!x->plookup || strcmp(x->entity, "publickey") != 0)
            kv_delete(h, cached, np_wall_ms(), NULL, NULL);
        not_found(c, name);
        return;
    }
    if (ans->code != 0) {
        conn_reply_error(c, ans->code, "%s", ans->message);
        return;
    }
    if (x->plookup && !ans->local && remote_cache_public(h, x->entity, x->owner, ans->entry) != 0)
        np_warn("%s: could not cache %s", c->tag, cached);
    if (!x->plookup && kv_entry_metadata(ans->entry, &md) == 0 && at_metadata_has(&md, AT_MD_TTR) &&
        md.ttr != 0) {
        for (size_t i = 0; i < sizeof(server_fields) / sizeof(server_fields[0]); i++)
            at_metadata_unset(&md, server_fields[i]);
        if (kv_put(h, cached, ans->entry->value, KV_SET_VALUE, &md, KS_OP_UPDATE, np_wall_ms(),
                   NULL, NULL) != 0)
            np_warn("%s: could not cache %s", c->tag, cached);
    }
    answer_entry(c, ans->entry, x->op, name);
    at_metadata_clear(&md);
}

static void remote_done_async(struct as_conn *c, struct remote_answer *ans, void *arg)
{
    if (c)
        remote_done(c, ans, arg);
    np_free(arg);
}

/* Another atSign's key: a fresh cached copy, else the owner's server. */
static void other_lookup(struct as_conn *c, const struct at_cmd *cmd, bool plookup)
{
    const struct at_cmd_lookup *l = &cmd->u.lookup;
    struct as_host *h = c->host;
    struct remote_lookup_req rq;
    struct remote_answer ans;
    struct lookup_ctx *x;
    struct ks_entry *e = NULL;
    char cached[AT_KEY_BUF + AT_ATSIGN_BUF * 2 + 16], name[AT_KEY_BUF + AT_ATSIGN_BUF * 2];
    int64_t now = np_wall_ms();
    int r;

    if ((x = np_calloc(1, sizeof(*x))) == NULL) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return;
    }
    x->op = l->op;
    x->plookup = plookup;
    snprintf(x->owner, sizeof(x->owner), "%s", l->key.owner);
    at_key_entity(&l->key, x->entity, sizeof(x->entity));
    if (plookup)
        snprintf(name, sizeof(name), "public:%s%s", x->entity, x->owner);
    else
        snprintf(name, sizeof(name), "%s:%s%s", h->atsign, x->entity, x->owner);
    snprintf(cached, sizeof(cached), "cached:%s", name);
    if (l->bypass_cache != 1) {
        r = kv_get(h, cached, now, &e);
        if (r != 0 && r != NP_ERR_NOTFOUND) {
            conn_reply_store_error(c, r, "lookup");
            np_free(x);
            return;
        }
        if (r == 0 && e->active && kv_cache_fresh(e, now)) {
            answer_entry(c, e, l->op, name);
            ks_entry_free(e);
            np_free(x);
            return;
        }
        ks_entry_free(e);
    }
    memset(&rq, 0, sizeof(rq));
    memset(&ans, 0, sizeof(ans));
    snprintf(rq.owner, sizeof(rq.owner), "%s", x->owner);
    rq.entity = x->entity;
    rq.public_only = plookup;
    rq.bypass_cache = l->bypass_cache == 1;
    r = remote_lookup(c, &rq, &ans, remote_done_async, x);
    if (r == NP_AGAIN)
        return; /* remote_done_async gets x back and frees it */
    remote_done(c, &ans, x);
    remote_answer_clear(&ans);
    np_free(x);
}

void verb_lookup(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_key *k = &cmd->u.lookup.key;
    struct as_host *h = c->host;
    char entity[AT_KEY_BUF], key[AT_KEY_BUF + 2 * AT_ATSIGN_BUF + 16];

    if (at_key_entity(k, entity, sizeof(entity)) != 0) {
        conn_reply_error(c, AT_E_INVALID_KEY, "invalid key");
        return;
    }
    if (c->auth == AT_AUTH_NONE) {
        snprintf(key, sizeof(key), "public:%s%s", entity, k->owner);
        local_lookup(c, key, cmd->u.lookup.op, NULL);
    } else if (c->auth == AT_AUTH_POL) {
        snprintf(key, sizeof(key), "%s:%s%s", c->pol_atsign, entity, k->owner);
        local_lookup(c, key, cmd->u.lookup.op, NULL);
    } else if (strcmp(k->owner, h->atsign) == 0) {
        snprintf(key, sizeof(key), "%s:%s%s", h->atsign, entity, h->atsign);
        local_lookup(c, key, cmd->u.lookup.op, NULL);
    } else {
        other_lookup(c, cmd, false);
    }
}

void verb_plookup(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_key *k = &cmd->u.lookup.key;
    struct as_host *h = c->host;
    char entity[AT_KEY_BUF], key[AT_KEY_BUF + 2 * AT_ATSIGN_BUF + 16];

    if (at_key_entity(k, entity, sizeof(entity)) != 0) {
        conn_reply_error(c, AT_E_INVALID_KEY, "invalid key");
        return;
    }
    if (strcmp(k->owner, h->atsign) == 0) {
        snprintf(key, sizeof(key), "public:%s%s", entity, h->atsign);
        local_lookup(c, key, cmd->u.lookup.op, key);
        return;
    }
    other_lookup(c, cmd, true);
}
