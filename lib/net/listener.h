/*
 * lib/net/listener.h - accept TCP connections on host:port from a libevent
 * loop (evconnlistener). IPv4 and IPv6; port 0 lets the kernel choose, and
 * net_listener_port reports the choice (tests, ephemeral servers).
 *
 * Accept errors such as EMFILE do not spin the loop: the listener logs,
 * pauses for one second, and resumes. Loop/thread: the event_base's.
 */
#ifndef NP_NET_LISTENER_H
#define NP_NET_LISTENER_H
#include <sys/socket.h>

struct event_base;
struct net_listener;

/*
 * Called from the loop for every accepted socket. fd is non-blocking,
 * close-on-exec and owned by the callee (pass it to net_conn_accept, or
 * close it). addr/addrlen: the peer address, valid during the call.
 */
typedef void (*net_accept_fn)(int fd, const struct sockaddr *addr, int addrlen, void *data);

/*
 * Listen on host:port (host as for net_tcp_listen: NULL/"", "*" = all
 * interfaces, dual-stack when possible; numeric address; or a name, of
 * which the first address is used). cb is required; data is passed to it.
 * *out = NULL at entry. Errors: NP_ERR_INVAL, NP_ERR_NOTFOUND (name),
 * NP_ERR_IO (bind/listen failed, e.g. address in use; logged), NP_ERR_NOMEM.
 */
int net_listener_new(struct event_base *base, const char *host, int port, net_accept_fn cb,
                     void *data, struct net_listener **out);

/* The bound port (the kernel's choice when created with port 0). */
int net_listener_port(const struct net_listener *l);
/* The bound address as text, "127.0.0.1:64" or "[::]:64". */
const char *net_listener_addr(const struct net_listener *l);
/* Stop accepting / accept again (e.g. at a connection limit). */
void net_listener_pause(struct net_listener *l);
void net_listener_resume(struct net_listener *l);
/* Close the socket and free; NULL-safe. No callback runs afterwards. */
void net_listener_free(struct net_listener *l);

#endif
