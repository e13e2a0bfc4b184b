/*
 * bench/np_bench_at_rawmon.h - a raw monitor connection for the atServer
 * benchmarks: TLS to an atServer port, from + pkam (RSA-SHA256 over the
 * challenge, atprotocol.md 3.1, 3.3), then a bare "monitor" (6.10). Every
 * pushed "notification: <json>" line (7.6) is parsed and reported with its
 * id as the server sent it - no de-duplication and no decryption, unlike
 * lib/at's at_monitor - so that a benchmark can count losses AND
 * duplicates. Stats notifications (id "-1", 7.7) are counted, not reported.
 *
 * Runs on the caller's libevent loop (lib/net conn.h). Benchmark tools only.
 */
#ifndef NP_BENCH_AT_RAWMON_H
#define NP_BENCH_AT_RAWMON_H
#include <stdint.h>

struct event_base;
struct net_tls_ctx;
struct nb_rawmon;

/* One notification: id, sender and the server's epochMillis (borrowed). */
typedef void (*nb_rawmon_cb)(void *data, const char *id, const char *from, int64_t epoch_ms);

/*
 * Connect to host:port (TLS verified with tls against "localhost"),
 * authenticate as atsign with the PKAM private key (B64 PKCS#8) and start
 * monitoring ("monitor", then "noop:0" to learn when it is registered). *out = NULL at entry.
 * Errors: NP_ERR_INVAL, NP_ERR_FORMAT (key), NP_ERR_NOMEM; later failures show in nb_rawmon_error.
 */
int nb_rawmon_start(struct event_base *base, struct net_tls_ctx *tls, const char *host, int port,
                    const char *atsign, const char *pkam_private_b64, nb_rawmon_cb cb, void *data,
                    struct nb_rawmon **out);
/* 1 once the server has registered the monitor (the noop:0 sent after
 * it was answered). */
int nb_rawmon_is_live(const struct nb_rawmon *m);
/* 0, or why the connection failed or closed (NP_ERR_*). */
int nb_rawmon_error(const struct nb_rawmon *m);
/* Notifications reported, stats notifications seen, unparsable lines. */
uint64_t nb_rawmon_count(const struct nb_rawmon *m);
uint64_t nb_rawmon_stats(const struct nb_rawmon *m);
uint64_t nb_rawmon_bad(const struct nb_rawmon *m);
/* Close and free; no callback afterwards. NULL-safe. */
void nb_rawmon_free(struct nb_rawmon *m);

#endif
