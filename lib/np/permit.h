/*
 * lib/np/permit.h - permit-open lists (noports-wire.md 9.3).
 *
 * A list is "host:port,host:port" (spaces around items trimmed) where either
 * part may be "*". H:P is allowed iff the list holds H:P, *:P, H:* or *:*;
 * comparison is exact (case-insensitive for hosts), never DNS. The port is
 * split at the LAST ':' so "[::1]:22" style is not needed: hosts are names.
 */
#ifndef NP_NP_PERMIT_H
#define NP_NP_PERMIT_H
#include <stddef.h>

struct np_permit;

#define NP_PERMIT_DEFAULT "localhost:22,localhost:3389"

/* Parse; NP_ERR_FORMAT names no item, so errbuf (may be NULL) gets the bad
 * item. An empty list is valid and permits nothing. */
int np_permit_parse(const char *csv, struct np_permit **out, char *errbuf, size_t errlen);
void np_permit_free(struct np_permit *p);
/* 1 if host:port is permitted, else 0. */
int np_permit_allows(const struct np_permit *p, const char *host, int port);
size_t np_permit_count(const struct np_permit *p);
/* The i-th entry as "host:port" text (borrowed). */
const char *np_permit_item(const struct np_permit *p, size_t i);

#endif
