/*
 * lib/at/verb.h - the atServer command grammar (atprotocol.md 2.3, 3, 6) and
 * the command builders used by clients (11.3, 12, A.2).
 *
 * Server side: at_verb_parse() takes one command line (without its \r\n),
 * trims it, applies the Dart verb normalisation (lower-case the text before
 * the first ':' and remove spaces there, or lower-case the whole command when
 * it has no ':'), picks the handler with the Dart prefix tests in the Dart
 * order (table in verb_table.c), and then parses that verb's grammar into
 * the tagged struct at_cmd. Names of options and enum values match ASCII
 * case-insensitively. Metadata options are accepted in any order (each at
 * most once). The verb table also carries the policy flags of 3.5 for the
 * server's dispatcher (at_verb_info()).
 *
 * Ownership: struct at_cmd owns a normalised copy of the line; every
 * `const char *` member points into that copy (valid until at_cmd_free) or
 * at a static string. Keys and atSigns are copied into fixed arrays.
 * Nothing here does I/O or crypto.
 */
#ifndef AT_VERB_H
#define AT_VERB_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at/atkey.h"
#include "at/atsign.h"
#include "at/metadata.h"

struct np_buf;

/* Maximum command line (2.3); longer lines are AT_PERR_TOO_LONG (AT0005). */
#define AT_LINE_MAX 10240000
/* Maximum atSigns in config:block/allow and recipients in notify:all. */
#define AT_CMD_MAX_ATSIGNS 256

/* In dispatch order (2.3). */
enum at_verb {
    AT_VERB_NONE = 0, /* no handler matched (also the blank line) */
    AT_VERB_EXIT,     /* "@exit" */
    AT_VERB_FROM,
    AT_VERB_CRAM,
    AT_VERB_PKAM,
    AT_VERB_UPDATE,
    AT_VERB_UPDATE_META,
    AT_VERB_LLOOKUP,
    AT_VERB_PLOOKUP,
    AT_VERB_LOOKUP,
    AT_VERB_SCAN,
    AT_VERB_POL,
    AT_VERB_DELETE,
    AT_VERB_STATS,
    AT_VERB_CONFIG,
    AT_VERB_MONITOR,
    AT_VERB_STREAM,
    AT_VERB_NOTIFY,
    AT_VERB_NOTIFY_LIST,
    AT_VERB_BATCH,
    AT_VERB_NOTIFY_STATUS,
    AT_VERB_NOTIFY_ALL,
    AT_VERB_SYNC_FROM,
    AT_VERB_INFO,
    AT_VERB_NOOP,
    AT_VERB_NOTIFY_REMOVE,
    AT_VERB_NOTIFY_FETCH,
    AT_VERB_ENROLL,
    AT_VERB_OTP,
    AT_VERB_KEYS,
    AT_VERB__COUNT
};

/* Why a line did not parse; at_perr_code() gives the atProtocol code. */
enum at_perr {
    AT_PERR_NONE = 0,
    AT_PERR_INVALID_COMMAND, /* no handler (blank line too): AT0003 "invalid command" */
    AT_PERR_SYNTAX,          /* handler grammar mismatch: AT0003 + usage text */
    AT_PERR_ILLEGAL_ARG,     /* e.g. noop > 5000 ms, bad date: AT0022 */
    AT_PERR_INVALID_KEY,     /* key over the length limit: AT0016 */
    AT_PERR_INVALID_ATSIGN,  /* from: with an atSign that does not normalise: AT0003, close */
    AT_PERR_TOO_LONG,        /* line over AT_LINE_MAX: AT0005, close */
    AT_PERR_NOMEM            /* allocation failure: AT0011 */
};

/* Connection authentication states of 3.5. */
enum at_auth_state { AT_AUTH_NONE = 0, AT_AUTH_POL, AT_AUTH_OWNER };

/* Verb policy flags (style.md practice 17). */
#define AT_VF_REQUIRES_OWNER 0x1u /* only after cram/pkam */
#define AT_VF_POL_OK         0x2u /* allowed on a pol-authenticated connection */
#define AT_VF_UNAUTH_OK      0x4u /* allowed before any authentication */

struct at_verb_info {
    enum at_verb verb;
    const char *name;   /* "update:meta" */
    const char *prefix; /* dispatch prefix test */
    unsigned flags;     /* AT_VF_* */
    const char *usage;  /* grammar summary for AT0003 "Invalid syntax" */
};

enum at_sign_algo { AT_SIGN_RSA2048 = 0, AT_SIGN_ECC_SECP256R1 };
enum at_hash_algo { AT_HASH_SHA256 = 0, AT_HASH_SHA512 };
enum at_lookup_op { AT_LOOKUP_VALUE = 0, AT_LOOKUP_META, AT_LOOKUP_ALL };
enum at_priority { AT_PRIORITY_LOW = 0, AT_PRIORITY_MEDIUM, AT_PRIORITY_HIGH };
enum at_notify_op { AT_NOTIFY_UPDATE = 0, AT_NOTIFY_DELETE };
enum at_msg_type { AT_MSG_KEY = 0, AT_MSG_TEXT };
enum at_strategy { AT_STRATEGY_ALL = 0, AT_STRATEGY_LATEST };
enum at_config_list { AT_CONFIG_BLOCK = 0, AT_CONFIG_ALLOW, AT_CONFIG_SETTING };
enum at_config_op {
    AT_CONFIG_ADD = 0,
    AT_CONFIG_REMOVE,
    AT_CONFIG_SHOW,
    AT_CONFIG_SET, /* config:set:<name>=<value> (testing mode) */
    AT_CONFIG_RESET,
    AT_CONFIG_PRINT
};
enum at_enroll_op {
    AT_ENROLL_REQUEST = 0,
    AT_ENROLL_APPROVE,
    AT_ENROLL_DENY,
    AT_ENROLL_REVOKE,
    AT_ENROLL_UNREVOKE,
    AT_ENROLL_LIST,
    AT_ENROLL_FETCH,
    AT_ENROLL_DELETE
};
enum at_otp_op { AT_OTP_GET = 0, AT_OTP_PUT };
enum at_keys_op { AT_KEYS_PUT = 0, AT_KEYS_GET, AT_KEYS_DELETE };

struct at_cmd_from {
    char atsign[AT_ATSIGN_BUF]; /* normalised "@alice" */
    const char *client_config;  /* raw JSON object text or NULL */
    char version[32];           /* clientConfig "version" or "" */
    bool json_errors;           /* version > 3.0.37: answer errors in JSON */
};
struct at_cmd_cram {
    const char *digest;
};
struct at_cmd_pkam {
    bool has_signing_algo, has_hashing_algo;
    enum at_sign_algo signing_algo; /* default rsa2048 */
    enum at_hash_algo hashing_algo; /* default sha256 */
    const char *enrollment_id;      /* NULL = legacy PKAM */
    const char *signature;          /* B64 text */
};
/* update / update:meta / update:json */
struct at_cmd_update {
    struct at_key key;
    const char *value; /* update: the value (may hold spaces, ':' and '@'); else NULL */
    size_t value_len;
    const char *json; /* update:json:<json>; key/value unset then */
};
/* llookup / lookup / plookup */
struct at_cmd_lookup {
    enum at_lookup_op op;
    int bypass_cache;  /* lookup/plookup: -1 absent, 0 false, 1 true */
    struct at_key key; /* llookup: [cached:][public:|@with:]k@owner; others: k@owner */
};
struct at_cmd_delete {
    bool has_priority;
    enum at_priority priority;
    struct at_key key;
};
struct at_cmd_scan {
    int show_hidden;           /* -1 absent, 0, 1 */
    char other[AT_ATSIGN_BUF]; /* remote scan atSign or "" */
    bool has_page;
    int64_t page;
    const char *regex; /* NULL = none */
};
struct at_cmd_notify {
    const char *id; /* NULL: server generates one */
    bool has_op, has_msg_type, has_priority, has_strategy, has_latest_n, has_ttln;
    enum at_notify_op op;
    enum at_msg_type msg_type;
    enum at_priority priority;
    enum at_strategy strategy;
    int64_t latest_n;
    const char *notifier; /* NULL = default */
    int64_t ttln;
    bool is_public;           /* ":public:" recipient form */
    char to[AT_ATSIGN_BUF];   /* "@bob" (lower-case); "" for public */
    const char *key;          /* key (case kept) or the text of a text message */
    char from[AT_ATSIGN_BUF]; /* "@alice" or "" */
    const char *value;        /* NULL = no value */
    size_t value_len;
};
struct at_cmd_notify_all {
    bool has_op, has_msg_type;
    enum at_notify_op op;
    enum at_msg_type msg_type;
    size_t n_to;
    char (*to)[AT_ATSIGN_BUF]; /* n_to recipients (owned) */
    const char *key;
    char from[AT_ATSIGN_BUF];
    const char *value;
};
struct at_cmd_id { /* notify:status, notify:fetch, notify:remove */
    const char *id;
};
struct at_cmd_notify_list {
    bool has_from, has_to;
    char from_date[11], to_date[11]; /* "YYYY-MM-DD" */
    int64_t from_ms, to_ms;          /* UTC midnight of those dates */
    const char *regex;               /* NULL = none */
};
struct at_cmd_monitor {
    bool strict, self_notifications, multiplexed, has_epoch;
    int64_t epoch_ms;
    const char *regex; /* ".*" when absent */
};
struct at_cmd_stats {
    uint32_t ids;      /* bit n set for stat id n (1..31); 0 = all */
    const char *regex; /* NULL = none */
};
struct at_cmd_info {
    bool brief;
};
struct at_cmd_noop {
    int64_t ms; /* 0..5000 */
};
struct at_cmd_config {
    enum at_config_list list;
    enum at_config_op op;
    size_t n_atsigns;
    char (*atsigns)[AT_ATSIGN_BUF]; /* add/remove (owned) */
    const char *name, *value;       /* set/reset/print */
};
struct at_cmd_enroll {
    enum at_enroll_op op;
    bool force;
    const char *json; /* NULL when absent */
};
struct at_cmd_otp {
    enum at_otp_op op;
    const char *spp; /* put */
    bool has_ttl;
    int64_t ttl;
};
struct at_cmd_sync {
    int64_t from_commit; /* >= -1 */
    int64_t limit;
    const char *regex;
};
struct at_cmd_json { /* batch */
    const char *json;
};
struct at_cmd_keys {
    enum at_keys_op op;
    const char *visibility; /* "public" | "private" | "self" or NULL */
    const char *ns, *app_name, *device_name, *key_type, *encryption_key_name, *key_name;
    const char *value;
};
struct at_cmd_stream {
    const char *args; /* everything after "stream" */
};

struct at_cmd {
    enum at_verb verb;     /* handler that matched; AT_VERB_NONE if none */
    enum at_perr err;      /* AT_PERR_NONE on success */
    char *line;            /* private: the owned, normalised copy */
    struct at_metadata md; /* update, update:meta, notify, notify:all options */
    union {
        struct at_cmd_from from;
        struct at_cmd_cram cram;
        struct at_cmd_pkam pkam;
        struct at_cmd_update update;
        struct at_cmd_lookup lookup;
        struct at_cmd_delete del;
        struct at_cmd_scan scan;
        struct at_cmd_notify notify;
        struct at_cmd_notify_all notify_all;
        struct at_cmd_id id;
        struct at_cmd_notify_list notify_list;
        struct at_cmd_monitor monitor;
        struct at_cmd_stats stats;
        struct at_cmd_info info;
        struct at_cmd_noop noop;
        struct at_cmd_config config;
        struct at_cmd_enroll enroll;
        struct at_cmd_otp otp;
        struct at_cmd_sync sync;
        struct at_cmd_json batch;
        struct at_cmd_keys keys;
        struct at_cmd_stream stream;
    } u;
};

/*
 * Parse one command line line[0..len) (no \r\n needed; it is trimmed) into
 * *cmd, which is reset at entry. Returns 0 when the line parsed; otherwise
 * NP_ERR_FORMAT (syntax, unknown command, invalid atSign/key), NP_ERR_INVAL
 * (illegal argument), NP_ERR_TOOBIG (over AT_LINE_MAX) or NP_ERR_NOMEM.
 * In every case cmd->verb names the handler that matched (AT_VERB_NONE if
 * none) and cmd->err says why parsing failed, so the server can answer with
 * at_perr_code() and at_verb_info(cmd->verb)->usage. Always call
 * at_cmd_free afterwards (also on failure).
 */
int at_verb_parse(const char *line, size_t len, struct at_cmd *cmd);
/* Release what *cmd owns and zero it. NULL-safe. */
void at_cmd_free(struct at_cmd *cmd);

/* Table entry of a verb (never NULL; AT_VERB_NONE has an entry too). */
const struct at_verb_info *at_verb_info(enum at_verb verb);
/* May `verb` run in connection state `st` (3.5)? 1 yes, 0 -> AT0401. */
int at_verb_allowed(enum at_verb verb, enum at_auth_state st);
/* The atProtocol error number (enum at_err) for a parse error kind. */
int at_perr_code(enum at_perr err);

/*
 * The full notification key of a parsed notify (6.8): "<to>:<key><from>"
 * for messageType key, "<to>:<text>" for text, "public:<key><from>" for the
 * public form. NP_ERR_TOOBIG if buf is too small.
 */
int at_cmd_notify_full_key(const struct at_cmd *cmd, char *buf, size_t size);

/* ---- builders (client side): append one command WITHOUT line ending ---- */

/* "from:<atsign>" exactly as given after validation ("alice" -> at_c form,
 * "@alice" -> Dart form) [+ ":clientConfig:<json>"]. */
int at_build_from(struct np_buf *b, const char *atsign, const char *client_config);
/* "cram:<digest>". */
int at_build_cram(struct np_buf *b, const char *digest);
/* "pkam:" [signingAlgo:<s>:hashingAlgo:<h>:] [enrollmentId:<id>:] <sig>.
 * with_algos=false gives the at_c/legacy forms. */
int at_build_pkam(struct np_buf *b, bool with_algos, enum at_sign_algo s, enum at_hash_algo h,
                  const char *enrollment_id, const char *signature);
/* "update" <meta options> ":" <key> " " <value>. The value must not hold
 * '\n' or '\r' (NP_ERR_INVAL). md may be NULL. */
int at_build_update(struct np_buf *b, const struct at_metadata *md, const struct at_key *key,
                    const char *value);
/* "update:meta:" <key> <meta options>. */
int at_build_update_meta(struct np_buf *b, const struct at_key *key, const struct at_metadata *md);
/* llookup: "llookup[:meta|:all]:<full key>";
 * lookup/plookup: "<verb>[:bypassCache:true|false][:meta|:all]:<name>@owner"
 * (bypass_cache -1 omits it). verb is AT_VERB_LLOOKUP/LOOKUP/PLOOKUP. */
int at_build_lookup(struct np_buf *b, enum at_verb verb, enum at_lookup_op op, int bypass_cache,
                    const struct at_key *key);
/* "delete:<full key>". */
int at_build_delete(struct np_buf *b, const struct at_key *key);
/* "scan[:showHidden:true|false][ <regex>]" (show_hidden -1 omits). */
int at_build_scan(struct np_buf *b, int show_hidden, const char *regex);

/* Parameters of a client notify; zero-initialise, then set what is wanted. */
struct at_notify_params {
    const char *id; /* ":id:<id>" when non-NULL */
    bool has_op;    /* ":update" / ":delete" */
    enum at_notify_op op;
    bool has_msg_type; /* ":messageType:key|text" */
    enum at_msg_type msg_type;
    bool has_priority;
    enum at_priority priority;
    bool has_strategy;
    enum at_strategy strategy;
    bool has_latest_n;
    int64_t latest_n;
    const char *notifier; /* ":notifier:<n>" when non-NULL */
    bool has_ttln;
    int64_t ttln;
    const struct at_metadata *md; /* options after ttln; may be NULL */
    const char *to;               /* "@bob"; NULL for ":public:" */
    const char *key;              /* key text (or the text message) */
    const char *from;             /* "@alice"; NULL for text messages */
    const char *value;            /* ":<value>" when non-NULL */
};
/* "notify" <options in 6.8 order> ":" (<to>|public) ":" <key>[<from>][":"<value>]. */
int at_build_notify(struct np_buf *b, const struct at_notify_params *p);
/* "notify:status:<id>". */
int at_build_notify_status(struct np_buf *b, const char *id);
/* "monitor[:strict][:selfNotifications][:multiplexed][:<epochMillis>][ <regex>]"
 * (epoch_ms < 0 omits it, regex NULL omits it). */
int at_build_monitor(struct np_buf *b, bool strict, bool self_notifications, bool multiplexed,
                     int64_t epoch_ms, const char *regex);
/* "noop:<ms>". */
int at_build_noop(struct np_buf *b, int64_t ms);

/*
 * Server-to-server forwarded notification (7.2 item 3), exact field order:
 * "notify:id:<id>:<update|delete>:messageType:<key|text>:notifier:<n>:ttln:<ms>"
 * then, when md != NULL: [":ttl:<ms>"][":ttb:<ms>"][":ttr:<n>:ccd:<bool>"]
 * ":isEncrypted:<bool>" [":sharedKeyEnc:…"][":pubKeyCS:…"][":encKeyName:…"]
 * [":encAlgo:…"][":ivNonce:…"][":skeEncKeyName:…"][":skeEncAlgo:…"]; then
 * ":<full key>" [":<value>"]. ttl/ttb/ttr appear only when present in md
 * (the caller sets ttl=0/ttb=0 for notify-verb notifications); md == NULL
 * gives the metadata-free delete auto-notification. The receiving side
 * parses the line with at_verb_parse (AT_VERB_NOTIFY with an id).
 */
struct at_fwd_notify {
    const char *id;
    enum at_notify_op op;
    enum at_msg_type msg_type;
    const char *notifier;
    int64_t ttln;
    const struct at_metadata *md;
    const char *full_key; /* "@bob:ping.dev.sshnp@alice" or "@bob:<text>" */
    const char *value;    /* NULL = none */
};
int at_build_forward_notify(struct np_buf *b, const struct at_fwd_notify *n);

/* Text names used by the builders and notification JSON. */
const char *at_notify_op_name(enum at_notify_op op); /* "update" */
const char *at_msg_type_name(enum at_msg_type t);    /* "key" */
const char *at_priority_name(enum at_priority p);    /* "low" */
const char *at_strategy_name(enum at_strategy s);    /* "all" */

#endif
