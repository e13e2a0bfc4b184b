/*
 * src/atserver/verbs/delete.c - delete (atprotocol.md 6.7): protected keys
 * (4.3, AT0009), privatekey:at_secret -> privatekey:at_secret_deleted (3.2),
 * the delete auto-notification of shared keys (7.4) and the stats
 * notification (7.7). Deleting an absent key succeeds.
 */
#include "../conn.h"
#include "../dispatch.h"
#include "../kv.h"
#include "../notif.h"
#include "../server.h"

#include "at/atkey.h"
#include "at/error.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>

void verb_delete(struct as_conn *c, struct at_cmd *cmd)
{
    const struct at_key *k = &cmd->u.del.key;
    struct as_host *h = c->host;
    char key[AT_KEY_BUF], num[32];
    int64_t cid = -1, now = np_wall_ms();
    int r;

    if (at_key_format(k, key, sizeof(key)) != 0) {
        conn_reply_error(c, AT_E_INVALID_KEY, "invalid key");
        return;
    }
    if (!k->cached && k->owner[0] && strcmp(k->owner, h->atsign) != 0) {
        conn_reply_error(c, AT_E_INVALID_KEY, "the owner of a key must be %s, not %s", h->atsign,
                         k->owner);
        return;
    }
    if (at_key_is_protected(k, h->atsign, NULL)) {
        np_info("%s: refused to delete the protected key %s", c->tag, key);
        conn_reply_error(c, AT_E_UNAUTHORIZED, "Cannot delete protected key %s", key);
        return;
    }
    if ((r = kv_delete(h, key, now, &cid, NULL)) != 0) {
        conn_reply_store_error(c, r, "delete");
        return;
    }
    if (strcmp(key, "privatekey:at_secret") == 0 &&
        (r = kv_put_simple(h, "privatekey:at_secret_deleted", "true", now)) != 0) {
        conn_reply_store_error(c, r, "delete");
        return;
    }
    snprintf(num, sizeof(num), "%lld", (long long)cid);
    conn_reply_str(c, num);
    notif_push_stats(h, AT_NOTIFY_DELETE);
    if (k->type == AT_KEY_SHARED && !k->cached && h->srv->cfg.auto_notify)
        notif_auto(h, key, k->shared_with, AT_NOTIFY_DELETE, NULL, NULL);
}
