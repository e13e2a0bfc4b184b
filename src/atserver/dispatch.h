/*
 * src/atserver/dispatch.h - from one command line to one verb handler
 * (style.md practice 17). dispatch.c parses the line with at_verb_parse,
 * enforces the policy flags of the verb table (lib/at verb_table.c: which
 * connection states may run the verb, 3.5) and its own flags (rate limits,
 * redaction in the -vv wire trace), answers parse errors uniformly, and calls
 * the handler. Handlers live in verbs/ (one file per family) and always answer (or suspend the
 * connection, conn_suspend, and answer later).
 */
#ifndef ATSERVER_DISPATCH_H
#define ATSERVER_DISPATCH_H
#include <stdbool.h>
#include <stddef.h>

#include <regex.h>

struct as_conn;
struct at_cmd;

typedef void (*verb_fn)(struct as_conn *c, struct at_cmd *cmd);

/* Process one received line (without '\n'; a trailing '\r' is trimmed). */
void dispatch_line(struct as_conn *c, const char *line, size_t len);

/*
 * Compile a client's regular expression (scan, monitor, notify:list,
 * stats:3). The dialect is POSIX ERE (regcomp REG_EXTENDED | REG_NOSUB),
 * standing in for Dart's ECMAScript RegExp; back-references and patterns
 * over 1024 bytes are refused because they can make matching very slow.
 * On failure answers AT0003 and returns false; on success the caller
 * regfree()s *re.
 */
bool verb_regex(struct as_conn *c, regex_t *re, const char *pattern);

/* ---- handlers (verbs/) ---- */
/* verbs/auth.c */
void verb_from(struct as_conn *c, struct at_cmd *cmd);
void verb_cram(struct as_conn *c, struct at_cmd *cmd);
void verb_pkam(struct as_conn *c, struct at_cmd *cmd);
void verb_pol(struct as_conn *c, struct at_cmd *cmd);
/* verbs/update.c */
void verb_update(struct as_conn *c, struct at_cmd *cmd);
void verb_update_meta(struct as_conn *c, struct at_cmd *cmd);
/* verbs/lookup.c */
void verb_llookup(struct as_conn *c, struct at_cmd *cmd);
void verb_lookup(struct as_conn *c, struct at_cmd *cmd);
void verb_plookup(struct as_conn *c, struct at_cmd *cmd);
/* verbs/delete.c */
void verb_delete(struct as_conn *c, struct at_cmd *cmd);
/* verbs/scan.c */
void verb_scan(struct as_conn *c, struct at_cmd *cmd);
/* verbs/notify.c */
void verb_notify(struct as_conn *c, struct at_cmd *cmd);
void verb_notify_status(struct as_conn *c, struct at_cmd *cmd);
void verb_notify_list(struct as_conn *c, struct at_cmd *cmd);
void verb_notify_fetch(struct as_conn *c, struct at_cmd *cmd);
void verb_notify_remove(struct as_conn *c, struct at_cmd *cmd);
void verb_notify_all(struct as_conn *c, struct at_cmd *cmd);
/* verbs/monitor.c */
void verb_monitor(struct as_conn *c, struct at_cmd *cmd);
/* verbs/misc.c */
void verb_stats(struct as_conn *c, struct at_cmd *cmd);
void verb_info(struct as_conn *c, struct at_cmd *cmd);
void verb_noop(struct as_conn *c, struct at_cmd *cmd);
void verb_config(struct as_conn *c, struct at_cmd *cmd);
void verb_enroll(struct as_conn *c, struct at_cmd *cmd);
void verb_keys(struct as_conn *c, struct at_cmd *cmd);
void verb_sync(struct as_conn *c, struct at_cmd *cmd);

#endif
