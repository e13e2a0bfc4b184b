/*
 * src/atserver/verbs/scan.c - scan (atprotocol.md 6.6): the keys a
 * connection may see, filtered by an optional regex over the full stored
 * key, as a JSON array of strings.
 *
 *   owner:           all but private:, privatekey:, public:_ and _ keys;
 *                    showHidden:true adds _ and public:__ keys
 *   unauthenticated: public: keys not starting public:_, prefix removed
 *   pol as @x:       keys starting @x:, prefix removed
 *   scan:<@other>:   what @other shares with us (remote.h)
 * Expired and unborn keys are left out by the store. The regex dialect is
 * POSIX ERE (dispatch.h, verb_regex), not Dart's RegExp.
 */
#include "../conn.h"
#include "../dispatch.h"
#include "../keystore.h"
#include "../remote.h"
#include "../server.h"

#include "at/error.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <cjson/cJSON.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

struct scan_ctx {
    const struct as_conn *c;
    const regex_t *re; /* NULL: all */
    bool show_hidden;
    char with_prefix[AT_ATSIGN_BUF + 2]; /* "@x:" for pol connections */
};

/* Visible to this connection? Returns the offset of the name to list, or
 * -1 when hidden. */
static int visible(const struct scan_ctx *x, const char *key)
{
    switch (x->c->auth) {
    case AT_AUTH_OWNER:
        if (np_str_startswith(key, "private:") || np_str_startswith(key, "privatekey:"))
            return -1;
        if (np_str_startswith(key, "public:_"))
            return x->show_hidden && np_str_startswith(key, "public:__") ? 0 : -1;
        if (key[0] == '_')
            return x->show_hidden ? 0 : -1;
        return 0;
    case AT_AUTH_POL:
        return np_str_startswith(key, x->with_prefix) ? (int)strlen(x->with_prefix) : -1;
    default:
        if (!np_str_startswith(key, "public:") || np_str_startswith(key, "public:_"))
            return -1;
        return 7;
    }
}

static int match(const char *key, void *arg)
{
    const struct scan_ctx *x = arg;

    if (visible(x, key) < 0)
        return 0;
    return !x->re || regexec(x->re, key, 0, NULL, 0) == 0;
}

static void reply_array(struct as_conn *c, cJSON *arr)
{
    char *txt = cJSON_PrintUnformatted(arr);

    if (!txt) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return;
    }
    conn_reply_str(c, txt);
    cJSON_free(txt);
}

static void remote_scan_done(struct as_conn *c, struct remote_answer *ans, void *arg)
{
    cJSON *arr;

    (void)arg;
    if (!c)
        return;
    if (ans->code != 0) {
        conn_reply_error(c, ans->code, "%s", ans->message);
        return;
    }
    if ((arr = cJSON_CreateArray()) == NULL) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        return;
    }
    for (size_t i = 0; i < ans->n_keys; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(ans->keys[i]));
    reply_array(c, arr);
    cJSON_Delete(arr);
}

void verb_scan(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_scan *s = &cmd->u.scan;
    struct scan_ctx x;
    struct ks_list *list = NULL;
    regex_t re;
    bool have_re = false;
    cJSON *arr = NULL;
    int r;

    if (s->other[0] && c->auth == AT_AUTH_OWNER && strcmp(s->other, c->host->atsign) != 0) {
        struct remote_answer ans;
        memset(&ans, 0, sizeof(ans));
        if (remote_scan(c, s->other, &ans, remote_scan_done, NULL) != NP_AGAIN) {
            remote_scan_done(c, &ans, NULL);
            remote_answer_clear(&ans);
        }
        return;
    }
    memset(&x, 0, sizeof(x));
    x.c = c;
    x.show_hidden = s->show_hidden == 1;
    if (c->auth == AT_AUTH_POL)
        snprintf(x.with_prefix, sizeof(x.with_prefix), "%s:", c->pol_atsign);
    if (s->regex) {
        if (!verb_regex(c, &re, s->regex))
            return;
        have_re = true;
        x.re = &re;
    }
    r = ks_scan(c->host->ks, np_wall_ms(), KS_SCAN_KEYS_ONLY, match, &x, &list);
    if (r != 0) {
        conn_reply_store_error(c, r, "scan");
        goto out;
    }
    if ((arr = cJSON_CreateArray()) == NULL) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < list->count; i++) {
        const char *key = list->items[i]->key;
        cJSON *it = cJSON_CreateString(key + visible(&x, key));
        if (!it) {
            conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
            goto out;
        }
        cJSON_AddItemToArray(arr, it);
    }
    reply_array(c, arr);
out:
    cJSON_Delete(arr);
    ks_list_free(list);
    if (have_re)
        regfree(&re);
}
