/*
 * lib/util/addr.h - "host:port" parsing: IPv4 ("1.2.3.4:64"), IPv6 in
 * brackets ("[::1]:64"), names ("root.atsign.org:64"), or a bare host/IPv6
 * address when a default port is given.
 */
#ifndef NP_UTIL_ADDR_H
#define NP_UTIL_ADDR_H
#include <stddef.h>

#define NP_HOST_MAX 255

/*
 * Parse `s` into host (NUL-terminated, without brackets, at most NP_HOST_MAX
 * bytes, stored into host[NP_HOST_MAX + 1]) and port (1..65535). When `s` has
 * no port, default_port is used if it is 1..65535, else NP_ERR_FORMAT.
 * Rejects empty hosts, unbalanced brackets, spaces, ports out of range.
 */
int np_hostport_parse(const char *s, int default_port, char host[NP_HOST_MAX + 1], int *port);

/* Format host and port back, bracketing IPv6 literals. */
int np_hostport_format(char *dst, size_t size, const char *host, int port);

#endif
