/*
 * src/atserver/verbs/notify.c - notify and its companions (atprotocol.md
 * 6.8, 6.9): notify (owner: send; pol: an incoming notification),
 * notify:status, notify:list, notify:fetch, notify:remove, notify:all.
 * Routing, persistence and monitor delivery are notif.c's job.
 */
#include "../conn.h"
#include "../dispatch.h"
#include "../notif.h"
#include "../notify_store.h"
#include "../server.h"

#include "at/error.h"
#include "at/metadata.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/time.h"

#include <cjson/cJSON.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#define DAY_MS 86400000LL

/* isEncrypted recorded for a notification (6.8). */
static bool notify_encrypted(const struct at_cmd *cmd)
{
    const struct at_cmd_notify *n = &cmd->u.notify;
    bool given = at_metadata_has(&cmd->md, AT_MD_IS_ENCRYPTED);

    if (n->msg_type == AT_MSG_TEXT)
        return given && cmd->md.is_encrypted;
    if (np_str_startswith(n->key, "public") || np_str_startswith(n->key, "PUBLIC"))
        return false;
    return given ? cmd->md.is_encrypted : true;
}

/* Fill rq from a parsed notify; key (new string) is the full key. */
static int build_req(const struct at_cmd *cmd, const char *from, struct at_metadata *md, char **key,
                     struct notif_req *rq)
{
    const struct at_cmd_notify *n = &cmd->u.notify;
    size_t size = strlen(n->to) + strlen(n->key) + strlen(from) + 16;
    bool with_ttr = (n->op == AT_NOTIFY_UPDATE && n->value) || n->op == AT_NOTIFY_DELETE;
    int r;

    *key = NULL;
    if ((*key = np_malloc(size)) == NULL)
        return NP_ERR_NOMEM;
    if (n->msg_type == AT_MSG_TEXT)
        snprintf(*key, size, "%s:%s", n->to, n->key);
    else
        snprintf(*key, size, "%s:%s%s", n->to, n->key, n->from[0] ? n->from : from);
    if ((r = notif_md_from_options(&cmd->md, with_ttr, notify_encrypted(cmd), md)) != 0)
        return r;
    memset(rq, 0, sizeof(*rq));
    rq->id = n->id;
    rq->from = from;
    rq->to = n->to;
    rq->key = *key;
    rq->value = n->value;
    rq->op = n->op;
    rq->msg_type = n->msg_type;
    rq->priority = n->priority;
    rq->strategy = n->strategy;
    rq->latest_n = n->has_latest_n ? n->latest_n : 1;
    rq->notifier = n->notifier;
    rq->ttln_ms = n->has_ttln ? n->ttln : 0;
    rq->md = md;
    return 0;
}

void verb_notify(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_notify *n = &cmd->u.notify;
    struct as_host *h = c->host;
    struct notif_req rq;
    struct at_metadata md;
    char id[NOTIF_ID_BUF], *key = NULL;
    const char *from;
    int r;

    at_metadata_init(&md);
    if (n->is_public || !n->to[0]) {
        conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "notifications need a recipient atSign");
        return;
    }
    if (n->value_len > h->srv->cfg.max_value_size) {
        conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "value of %zu bytes is over the limit of %zu",
                         n->value_len, h->srv->cfg.max_value_size);
        return;
    }
    if (c->auth == AT_AUTH_POL) {
        /* an incoming notification from the pol-authenticated peer (7.3) */
        from = c->pol_atsign;
        if (strcmp(n->to, h->atsign) != 0) {
            conn_reply_error(c, AT_E_UNAUTHORIZED, "notification is not for %s", h->atsign);
            return;
        }
        if ((r = build_req(cmd, from, &md, &key, &rq)) != 0) {
            conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
            goto out;
        }
        if (!rq.id) {
            conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "notification id missing");
            goto out;
        }
        r = notif_receive(h, &rq);
        if (r == 0 || r == NP_ERR_EXISTS)
            conn_reply_str(c, "success");
        else if (r == NP_ERR_PERM)
            conn_reply_error(c, AT_E_CONNECTION, "%s is not allowed to notify", from);
        else
            conn_reply_store_error(c, r, "notify");
        goto out;
    }
    from = h->atsign;
    if (n->msg_type == AT_MSG_KEY && n->from[0] && strcmp(n->from, h->atsign) != 0) {
        conn_reply_error(c, AT_E_UNAUTHORIZED, "%s cannot notify as %s", h->atsign, n->from);
        return;
    }
    if ((r = build_req(cmd, from, &md, &key, &rq)) != 0) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        goto out;
    }
    r = notif_send(h, &rq, id);
    if (r == 0 || r == NP_ERR_EXISTS) /* a repeated id: the notification exists */
        conn_reply_str(c, r == 0 ? id : rq.id);
    else if (r == NP_ERR_INVAL)
        conn_reply_error(c, AT_E_ILLEGAL_ARGUMENTS, "invalid notification");
    else
        conn_reply_store_error(c, r, "notify");
out:
    np_free(key);
    at_metadata_clear(&md);
}

static const char *status_name(const struct ns_record *rec, int64_t now)
{
    int st = rec->status;

    if ((st == NS_STATUS_QUEUED || st == NS_STATUS_ERRORED) && rec->expires_at_ms > 0 &&
        now > rec->expires_at_ms)
        st = NS_STATUS_EXPIRED;
    switch (st) {
    case NS_STATUS_DELIVERED:
        return "delivered";
    case NS_STATUS_ERRORED:
        return "errored";
    case NS_STATUS_EXPIRED:
        return "expired";
    default:
        return "queued";
    }
}

void verb_notify_status(struct as_conn *c, struct at_cmd *cmd)
{
    struct ns_record *rec = NULL;
    int r = ns_get(c->host->ns, cmd->u.id.id, &rec);

    if (r == NP_ERR_NOTFOUND || r == NP_ERR_INVAL)
        conn_reply_str(c, "null");
    else if (r != 0)
        conn_reply_store_error(c, r, "notify:status");
    else
        conn_reply_str(c, status_name(rec, np_wall_ms()));
    ns_record_free(rec);
}

void verb_notify_list(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_notify_list *l = &cmd->u.notify_list;
    struct ns_filter f;
    struct ns_list *list = NULL;
    struct np_buf *b = NULL;
    regex_t re;
    bool have_re = false;
    size_t n = 0;
    int r;

    if (c->auth == AT_AUTH_NONE) {
        conn_reply_str(c, "null");
        return;
    }
    memset(&f, 0, sizeof(f));
    f.now_ms = np_wall_ms();
    if (c->auth == AT_AUTH_POL) {
        f.types = NS_TYPE_SENT; /* what we sent to the peer (3.5, quirky) */
        f.to_atsign = c->pol_atsign;
    } else {
        f.types = NS_TYPE_RECEIVED;
    }
    if (l->has_from)
        f.from_ms = l->from_ms;
    if (l->has_to)
        f.to_ms = l->to_ms + DAY_MS; /* the whole toDate day */
    if (l->regex) {
        if (!verb_regex(c, &re, l->regex))
            return;
        have_re = true;
    }
    if ((r = ns_list(c->host->ns, &f, &list)) != 0) {
        conn_reply_store_error(c, r, "notify:list");
        goto out;
    }
    if ((b = np_buf_new(c->host->srv->cfg.auth_max_line)) == NULL || np_buf_put_u8(b, '[') != 0) {
        conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < list->count; i++) {
        char *json = NULL;
        if (have_re && !notif_matches(list->items[i], &re))
            continue;
        if (notif_record_json(list->items[i], true, &json) != 0)
            continue;
        r = np_buf_putf(b, "%s%s", n ? "," : "", json);
        np_free(json);
        if (r != 0)
            break; /* over the response limit: list what fits */
        n++;
    }
    if (n == 0) {
        conn_reply_str(c, "null");
        goto out;
    }
    np_buf_put_u8(b, ']');
    conn_reply_data(c, np_buf_ptr(b), np_buf_len(b), false);
out:
    np_buf_free(b);
    ns_list_free(list);
    if (have_re)
        regfree(&re);
}

static const char *prio_name(int p)
{
    return p == NS_PRIO_HIGH ? "high" : p == NS_PRIO_MEDIUM ? "medium" : "low";
}

static const char *type_name(int t)
{
    return t == NS_TYPE_SENT ? "sent" : t == NS_TYPE_SELF ? "self" : "received";
}

static const char *fetch_status(int st)
{
    switch (st) {
    case NS_STATUS_DELIVERED:
        return "NotificationStatus.delivered";
    case NS_STATUS_ERRORED:
        return "NotificationStatus.errored";
    case NS_STATUS_EXPIRED:
        return "NotificationStatus.expired";
    default:
        return "NotificationStatus.queued";
    }
}

/* notify:fetch: the record with every non-string value stringified (6.9). */
void verb_notify_fetch(struct as_conn *c, struct at_cmd *cmd)
{
    struct ns_record *rec = NULL;
    struct at_metadata md;
    cJSON *o = NULL, *m = NULL;
    char *txt = NULL, *mjson = NULL, num[32], date[32], s[64];
    int r;

    at_metadata_init(&md);
    r = ns_get(c->host->ns, cmd->u.id.id, &rec);
    if (r != 0 && r != NP_ERR_NOTFOUND && r != NP_ERR_INVAL) {
        conn_reply_store_error(c, r, "notify:fetch");
        return;
    }
    if ((o = cJSON_CreateObject()) == NULL)
        goto oom;
    if (r != 0) {
        if (!cJSON_AddStringToObject(o, "id", cmd->u.id.id) ||
            !cJSON_AddStringToObject(o, "notificationStatus", "NotificationStatus.expired"))
            goto oom;
    } else {
        cJSON_AddStringToObject(o, "id", rec->id);
        cJSON_AddStringToObject(o, "fromAtSign", rec->from_atsign);
        cJSON_AddStringToObject(o, "notificationDateTime",
                                np_time_dart_utc(date, sizeof(date), rec->date_ms));
        cJSON_AddStringToObject(o, "toAtSign", rec->to_atsign);
        cJSON_AddStringToObject(o, "notification", rec->key);
        snprintf(s, sizeof(s), "NotificationType.%s", type_name(rec->type));
        cJSON_AddStringToObject(o, "type", s);
        cJSON_AddStringToObject(
            o, "opType", rec->op == NS_OP_DELETE ? "OperationType.delete" : "OperationType.update");
        cJSON_AddStringToObject(o, "messageType",
                                rec->message_type == NS_MSG_TEXT ? "MessageType.text"
                                                                 : "MessageType.key");
        snprintf(s, sizeof(s), "NotificationPriority.%s", prio_name(rec->priority));
        cJSON_AddStringToObject(o, "priority", s);
        cJSON_AddStringToObject(o, "notificationStatus", fetch_status(rec->status));
        snprintf(num, sizeof(num), "%lld", (long long)rec->retry_count);
        cJSON_AddStringToObject(o, "retryCount", num);
        cJSON_AddStringToObject(o, "strategy",
                                rec->strategy == NS_STRATEGY_LATEST ? "latest" : "all");
        snprintf(num, sizeof(num), "%lld", (long long)rec->depth);
        cJSON_AddStringToObject(o, "depth", num);
        cJSON_AddStringToObject(o, "notifier", rec->notifier ? rec->notifier : "SYSTEM");
        if (rec->expires_at_ms > 0)
            cJSON_AddStringToObject(o, "expiresAt",
                                    np_time_dart_utc(date, sizeof(date), rec->expires_at_ms));
        else
            cJSON_AddNullToObject(o, "expiresAt");
        if (rec->value)
            cJSON_AddStringToObject(o, "atValue", rec->value);
        else
            cJSON_AddNullToObject(o, "atValue");
        if (rec->meta_json &&
            at_metadata_from_json(&md, rec->meta_json, strlen(rec->meta_json)) == 0 &&
            at_metadata_to_json(&md, true, &mjson) == 0 && (m = cJSON_Parse(mjson)) != NULL)
            cJSON_AddItemToObject(o, "atMetadata", m);
        else
            cJSON_AddNullToObject(o, "atMetadata");
        snprintf(num, sizeof(num), "%lld", (long long)rec->ttl_ms);
        cJSON_AddStringToObject(o, "ttl", num);
    }
    if ((txt = cJSON_PrintUnformatted(o)) == NULL)
        goto oom;
    conn_reply_str(c, txt);
    goto out;
oom:
    conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
out:
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(o);
    np_free(mjson);
    at_metadata_clear(&md);
    ns_record_free(rec);
}

void verb_notify_remove(struct as_conn *c, struct at_cmd *cmd)
{
    int r = ns_remove(c->host->ns, cmd->u.id.id);

    if (r != 0 && r != NP_ERR_NOTFOUND && r != NP_ERR_INVAL) {
        conn_reply_store_error(c, r, "notify:remove");
        return;
    }
    conn_reply_str(c, "success");
}

/* notify:all: one notification per recipient; answers {"@bob":"<id>",...}
 * (the answer's shape is not in the reference notes: documented). */
void verb_notify_all(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_cmd_notify_all *a = &cmd->u.notify_all;
    struct as_host *h = c->host;
    struct at_metadata md;
    cJSON *o = NULL;
    char *txt = NULL, *key = NULL;
    int r;

    at_metadata_init(&md);
    if (a->from[0] && strcmp(a->from, h->atsign) != 0) {
        conn_reply_error(c, AT_E_UNAUTHORIZED, "%s cannot notify as %s", h->atsign, a->from);
        return;
    }
    r = notif_md_from_options(
        &cmd->md, (!a->has_op || a->op == AT_NOTIFY_UPDATE) ? a->value != NULL : true,
        at_metadata_has(&cmd->md, AT_MD_IS_ENCRYPTED) && cmd->md.is_encrypted, &md);
    if (r != 0 || (o = cJSON_CreateObject()) == NULL)
        goto oom;
    for (size_t i = 0; i < a->n_to; i++) {
        struct notif_req rq;
        char id[NOTIF_ID_BUF];
        size_t size = strlen(a->to[i]) + strlen(a->key) + strlen(h->atsign) + 4;
        np_free(key);
        if ((key = np_malloc(size)) == NULL)
            goto oom;
        if (a->has_msg_type && a->msg_type == AT_MSG_TEXT)
            snprintf(key, size, "%s:%s", a->to[i], a->key);
        else
            snprintf(key, size, "%s:%s%s", a->to[i], a->key, h->atsign);
        memset(&rq, 0, sizeof(rq));
        rq.from = h->atsign;
        rq.to = a->to[i];
        rq.key = key;
        rq.value = a->value;
        rq.op = a->has_op ? a->op : AT_NOTIFY_UPDATE;
        rq.msg_type = a->has_msg_type ? a->msg_type : AT_MSG_KEY;
        rq.latest_n = 1;
        rq.md = &md;
        if ((r = notif_send(h, &rq, id)) != 0) {
            conn_reply_store_error(c, r, "notify:all");
            goto out;
        }
        if (!cJSON_AddStringToObject(o, a->to[i], id))
            goto oom;
    }
    if ((txt = cJSON_PrintUnformatted(o)) == NULL)
        goto oom;
    conn_reply_data(c, txt, strlen(txt), true);
    goto out;
oom:
    conn_reply_error(c, AT_E_INTERNAL_EXCEPTION, "out of memory");
out:
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(o);
    np_free(key);
    at_metadata_clear(&md);
}
