/*
 * lib/at/notification.h - the pushed notification of a monitor connection
 * (atprotocol.md 7.6) and the stats notification (7.7).
 *
 * Line: "notification: <json>\n" with members, in this order, id, from, to,
 * key, value (string or null), operation, epochMillis (number), messageType
 * ("MessageType.key"|"MessageType.text"), isEncrypted (bool), metadata
 * (object or null). The metadata object has two variants:
 *   live   (a): encKeyName encAlgo ivNonce skeEncKeyName skeEncAlgo
 *               sharedKeyEnc, each string or null;
 *   replay (b): encKeyName encAlgo ivNonce skeEncKeyName skeEncAlgo
 *               availableAt expiresAt (dates as text, or the string "null").
 * All strings are owned by the struct (np_strdup'd); release with
 * at_notification_clear.
 */
#ifndef AT_NOTIFICATION_H
#define AT_NOTIFICATION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at/metadata.h"
#include "at/verb.h"

struct np_buf;

enum at_notification_md {
    AT_NOTIF_MD_NULL = 0, /* "metadata":null */
    AT_NOTIF_MD_LIVE,     /* variant (a) */
    AT_NOTIF_MD_REPLAY    /* variant (b) */
};

struct at_notification {
    char *id;    /* "-1" for stats notifications */
    char *from;  /* "@alice" or NULL */
    char *to;    /* "@bob" or NULL */
    char *key;   /* "@bob:ping.dev.sshnp@alice" or "@bob:<text>" */
    char *value; /* NULL = JSON null */
    enum at_notify_op op;
    int64_t epoch_ms;
    enum at_msg_type msg_type;
    bool is_encrypted;
    enum at_notification_md md_kind;
    /* used members: enc_key_name enc_algo iv_nonce ske_enc_key_name
     * ske_enc_algo shared_key_enc (live), available_at expires_at (replay) */
    struct at_metadata md;
};

/* Zero *n. */
void at_notification_init(struct at_notification *n);
/* Free everything *n owns and zero it. NULL-safe. */
void at_notification_clear(struct at_notification *n);
/* Replace the five string members with copies (any may be NULL).
 * NP_ERR_NOMEM leaves *n unchanged. */
int at_notification_set_strings(struct at_notification *n, const char *id, const char *from,
                                const char *to, const char *key, const char *value);

/* The 7.6 JSON text into *json (np_malloc'd; caller np_frees; NULL on
 * error). NP_ERR_INVAL when id or key is missing; NP_ERR_NOMEM. */
int at_notification_to_json(const struct at_notification *n, char **json);
/* Append "notification: <json>\n" (no prompt, 2.2). */
int at_notification_format_line(const struct at_notification *n, struct np_buf *b);

/*
 * Fill *n (cleared first) with the stats notification of 7.7 for atSign
 * `atsign` and the latest commit id: id "-1", from = to = atsign, key
 * "statsNotification.<atsign>", value "<commit id>", messageType key,
 * isEncrypted false, metadata null.
 */
int at_notification_make_stats(struct at_notification *n, const char *atsign, int64_t commit_id,
                               enum at_notify_op op, int64_t epoch_ms);
/* Is this a stats notification (id "-1")? */
bool at_notification_is_stats(const struct at_notification *n);

/*
 * Parse pushed JSON text[0..len) into *n (cleared at entry, filled only on
 * success). Members in any order; unknown members ignored. Types are
 * enforced: id and key strings; from, to, value string or null; epochMillis
 * an integral JSON number; isEncrypted a JSON boolean; messageType and
 * operation strings ("MessageType.key"/"key", "update"/"delete"); metadata
 * object or null, its members string or null, "null" strings meaning null;
 * a metadata object with availableAt/expiresAt is the replay variant.
 * Errors: NP_ERR_FORMAT, NP_ERR_NOMEM, NP_ERR_INVAL.
 */
int at_notification_parse(const char *text, size_t len, struct at_notification *n);

#endif
