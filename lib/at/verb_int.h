/*
 * lib/at/verb_int.h - pieces shared by the verb parser files (private to
 * lib/at). Each per-verb parser receives the text after its dispatch prefix
 * as [p, end) inside the command's owned, NUL-terminated copy; it may write
 * NUL bytes into that copy to terminate the fields it hands out, and returns
 * an enum at_perr.
 */
#ifndef AT_VERB_INT_H
#define AT_VERB_INT_H
#include <stdbool.h>
#include <stddef.h>

#include "at/verb.h"

/* Length of the token at p: up to the next ':' or end. */
size_t at__tok(const char *p, const char *end);
/* If [*p, end) starts with lit (ASCII case-insensitive), advance past it. */
bool at__take(char **p, const char *end, const char *lit);
/* Does the token [p, p+n) equal lit case-insensitively? */
bool at__tok_is(const char *p, size_t n, const char *lit);
/* Copy an atSign token [p, p+n) lower-cased into dst after at_atsign_check. */
enum at_perr at__atsign_tok(const char *p, size_t n, char *dst);
/* Map an at_key_parse error to a parse error kind. */
enum at_perr at__key_err(int r);
/* Is [p, end) a JSON value of the given cJSON type check (object/array)? */
bool at__is_json_object(const char *p, const char *end);
bool at__is_json_array(const char *p, const char *end);
/* Parse one notify/update-style metadata option whose name token is
 * [name, name+nlen) and value [v, v+vlen). Returns AT_PERR_*; -1 when the
 * name is not a metadata option. */
int at__md_option(struct at_metadata *md, const char *name, size_t nlen, const char *v,
                  size_t vlen);

/* Per-verb grammars; args = [p, end) after the dispatch prefix. */
enum at_perr at__parse_from(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_cram(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_pkam(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_pol(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_stats(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_config(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_info(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_noop(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_enroll(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_otp(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_sync(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_batch(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_keys(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_stream(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_update(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_update_meta(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_llookup(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_lookup(struct at_cmd *c, char *p, char *end); /* lookup, plookup */
enum at_perr at__parse_delete(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_scan(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_notify(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_notify_all(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_notify_list(struct at_cmd *c, char *p, char *end);
enum at_perr at__parse_notify_id(struct at_cmd *c, char *p, char *end); /* status/fetch/remove */
enum at_perr at__parse_monitor(struct at_cmd *c, char *p, char *end);

#endif
