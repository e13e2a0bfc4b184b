/*
 * src/atserver/monitor.h - the monitor side of a connection (verbs/monitor.c,
 * atprotocol.md 6.10, 7.5, 7.6): which pushes a monitor connection wants,
 * the epochMillis replay that runs before live delivery, and the output
 * queue ceiling (style.md practice 11) that disconnects a consumer staying
 * over the soft limit for too long or going over the hard limit.
 */
#ifndef ATSERVER_MONITOR_H
#define ATSERVER_MONITOR_H
#include <stddef.h>
#include <stdint.h>

struct as_conn;
struct monitor;
struct ns_record;

/* A new persisted record of c's host, with its live line ("notification:
 * <json>\n", variant (a)): push it if c's monitor wants it (type, regex)
 * and its replay has caught up; exactly once per connection. */
void monitor_offer(struct as_conn *c, const struct ns_record *rec, const char *line, size_t n);
/* Push a line that every monitor gets (stats notifications). */
void monitor_push_all(struct as_conn *c, const char *line, size_t n);
/* Check c's output queue against the ceiling (periodic job). */
void monitor_check(struct as_conn *c, int64_t now_mono);
/* Free a monitor (connection teardown). NULL-safe. */
void monitor_free(struct monitor *m);

#endif
