/*
 * lib/net/tcp.h - plain TCP socket helpers: listening sockets, non-blocking
 * connect, socket options, address text for logs. No event loop here; the
 * libevent glue (net/conn.h, net/listener.h) and the relay build on these.
 *
 * All sockets created here are non-blocking and close-on-exec. File
 * descriptors returned through out-parameters belong to the caller
 * (close(2) them). Errors: 0 or a negative NP_ERR_* code; errno detail is
 * logged at debug level, never returned.
 */
#ifndef NP_NET_TCP_H
#define NP_NET_TCP_H
#include <stddef.h>
#include <sys/socket.h>

/* Text of any socket address, "1.2.3.4:5" or "[::1]:5". */
#define NET_ADDR_STR_MAX 64

/*
 * Create a listening socket bound to host:port (port 0: the kernel picks
 * one; read it back with net_tcp_local_port). host NULL, "" or "*" means all
 * interfaces: a dual-stack "::" socket, or "0.0.0.0" when IPv6 is not
 * available. Numeric IPv4/IPv6 addresses bind exactly; a name is resolved
 * with getaddrinfo (blocking: start-up only) and the first address is used.
 * SO_REUSEADDR is set. *fd = -1 at entry.
 * Errors: NP_ERR_INVAL (port out of 0..65535), NP_ERR_NOTFOUND (name does
 * not resolve), NP_ERR_IO (socket/bind/listen failed, e.g. address in use;
 * errno is left set for the caller's message).
 */
int net_tcp_listen(const char *host, int port, int backlog, int *fd);

/*
 * Start a non-blocking connect to sa. *fd = -1 at entry; on 0 (connected
 * at once) or NP_AGAIN (in progress: wait until writable, then call
 * net_tcp_connect_finish) *fd is the new socket. Errors: NP_ERR_CONNECT
 * (refused, unreachable; no socket is left open), NP_ERR_IO.
 */
int net_tcp_connect_start(const struct sockaddr *sa, socklen_t len, int *fd);
/* Same for a numeric IPv4/IPv6 host (no name resolution). NP_ERR_INVAL for
 * a name or bad port. */
int net_tcp_connect_numeric(const char *host, int port, int *fd);
/* After the socket became writable: 0 if connected, else NP_ERR_CONNECT. */
int net_tcp_connect_finish(int fd);

/* TCP_NODELAY on/off. */
int net_tcp_set_nodelay(int fd, int on);
/* SO_KEEPALIVE with the first probe after idle_s seconds of silence, then
 * every intvl_s seconds, giving up after count probes (values <= 0 keep the
 * system defaults). */
int net_tcp_set_keepalive(int fd, int idle_s, int intvl_s, int count);
/* Dead-peer detection for long-lived data connections (relay sockets):
 * SO_KEEPALIVE (first probe after NET_TCP_KEEPIDLE_S of silence, then one
 * every NET_TCP_KEEPINTVL_S, giving up after NET_TCP_KEEPCNT unanswered) and
 * TCP_USER_TIMEOUT of the same total, so that a peer that vanished without a
 * FIN or RST (host gone, link cut) is noticed whether or not data is in
 * flight: the socket then fails with ETIMEDOUT. A live but idle or slow peer
 * answers the probes and is never cut. The environment variable
 * NP_TCP_KEEPALIVE="IDLE,INTVL,COUNT" (seconds 1..3600, seconds 1..3600,
 * probes 1..NET_TCP_KEEPCNT_MAX, the kernel's limit) overrides the defaults
 * (tests use it); "0" turns the detection off. An invalid value is ignored
 * with one warning. The variable is read at the first call only.
 * 0 or NP_ERR_IO. */
#define NET_TCP_KEEPIDLE_S  30
#define NET_TCP_KEEPINTVL_S 10
#define NET_TCP_KEEPCNT     3
#define NET_TCP_KEEPCNT_MAX 127
int net_tcp_set_dead_peer_detection(int fd);
/* Seconds after which net_tcp_set_dead_peer_detection gives a silent peer
 * up (IDLE + INTVL * COUNT, from NP_TCP_KEEPALIVE or the defaults), for
 * error messages; 0 when the detection is off. */
int net_tcp_dead_peer_timeout_s(void);
/* Port of the local end (e.g. after binding port 0). */
int net_tcp_local_port(int fd, int *port);

/* Format sa as "1.2.3.4:5" / "[::1]:5" into dst (NET_ADDR_STR_MAX is
 * enough). Returns dst; "?" for unknown families. */
char *net_tcp_addr_str(const struct sockaddr *sa, socklen_t len, char *dst, size_t size);
/* Peer address of a connected socket as above ("?" when unknown). */
char *net_tcp_peer_str(int fd, char *dst, size_t size);

/* Ignore SIGPIPE for the whole process. Every program that writes to
 * sockets calls this once at start-up: OpenSSL writes with write(2), so a
 * peer that went away would otherwise kill the process. */
void net_ignore_sigpipe(void);

/* ---- for tests only ---------------------------------------------------- */

/* Forget the parsed NP_TCP_KEEPALIVE: the next net_tcp_set_dead_peer_detection
 * reads the variable again (defaults when unset or invalid). Not thread-safe;
 * production code never calls it. */
void net_tcp__keepalive_reload(void);

#endif
