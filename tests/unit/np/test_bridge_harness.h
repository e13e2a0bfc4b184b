/*
 * tests/unit/np/test_bridge_harness.h - in-process fixtures for the bridge
 * tests, all on one libevent loop on 127.0.0.1:
 * - tb_relay: a tiny srvd stand-in. Two listeners (A, B); each accepted
 *   socket is authenticated (none / legacy line / a test ESCR exchange),
 *   queued per side, and the oldest A is paired with the oldest B (FIFO);
 *   bytes are then copied unchanged. It records every byte each socket sent,
 *   preamble included, so tests can check what the relay saw.
 * - tb_echo: an echo server (optionally sending a banner first).
 * - tb_client: connects, streams n pseudo-random bytes (seeded) and checks
 *   that the same bytes come back, then closes.
 * - tb_raw: a hand-driven relay socket with its own AES-CTR contexts (to
 *   play the client's end of the control channel and data sockets).
 * - tb_run_until: run the loop until a condition holds or a deadline.
 */
#ifndef NP_TEST_BRIDGE_HARNESS_H
#define NP_TEST_BRIDGE_HARNESS_H
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct np_buf;

enum { TB_AUTH_NONE = 0, TB_AUTH_LINE = 1, TB_AUTH_ESCR = 2 };

struct tb_relay;
/* New relay with the given auth mode; NULL on failure. */
struct tb_relay *tb_relay_new(struct event_base *base, int auth);
void tb_relay_free(struct tb_relay *r);
int tb_relay_port(const struct tb_relay *r, char side); /* 'a' or 'b' */
/* TB_AUTH_LINE: the line (without '\n') each socket of `side` must send. */
void tb_relay_expect_line(struct tb_relay *r, char side, const char *line);
/* TB_AUTH_ESCR: hold side A's "ok" until B's first data, then send "ok\n"
 * and that data in one write (tests bytes after "ok" on the same read). */
void tb_relay_hold_ok_a(struct tb_relay *r, int on);
/* TB_AUTH_ESCR: answer the next `count` responses on `side` with "Socket
 * auth failed" (count < 0: all of them). */
void tb_relay_refuse(struct tb_relay *r, char side, int count);
unsigned tb_relay_pairs(const struct tb_relay *r);
unsigned tb_relay_auth_failures(const struct tb_relay *r);
unsigned tb_relay_sockets(const struct tb_relay *r, char side);
/* Every byte the k-th accepted socket of `side` sent (preamble included). */
const struct np_buf *tb_relay_rec(const struct tb_relay *r, char side, unsigned k);
/* Expected ESCR response for a challenge (what the test callback returns). */
int tb_escr_answer(const char *challenge, size_t len, char **response, void *data);

struct tb_echo;
struct tb_echo *tb_echo_new(struct event_base *base, const char *banner);
void tb_echo_free(struct tb_echo *e);
int tb_echo_port(const struct tb_echo *e);
unsigned tb_echo_accepted(const struct tb_echo *e);

struct tb_client;
struct tb_client *tb_client_new(struct event_base *base, int port, size_t n, uint32_t seed,
                                const char *banner);
void tb_client_free(struct tb_client *c);
int tb_client_done(const struct tb_client *c); /* all n bytes back, closed */
int tb_client_ok(const struct tb_client *c);   /* no mismatch, no error */
size_t tb_client_received(const struct tb_client *c);
uint64_t tb_client_sum_sent(const struct tb_client *c);
uint64_t tb_client_sum_received(const struct tb_client *c);
/* The plaintext stream of a seed (what a client sends), n bytes into out. */
void tb_stream(uint32_t seed, unsigned char *out, size_t n);

struct tb_raw;
/* Plain TCP connection to 127.0.0.1:port; enc/dec keys may be NULL. */
struct tb_raw *tb_raw_new(struct event_base *base, int port, const unsigned char *enc_key,
                          const unsigned char *enc_iv, const unsigned char *dec_key,
                          const unsigned char *dec_iv);
void tb_raw_free(struct tb_raw *r);
int tb_raw_send(struct tb_raw *r, const void *data, size_t len); /* encrypts */
const struct np_buf *tb_raw_received(const struct tb_raw *r);    /* decrypted */
int tb_raw_eof(const struct tb_raw *r);
/* Stop (0) or resume (1) reading from the socket. */
void tb_raw_set_reading(struct tb_raw *r, int on);

/* Run base until cond(arg) is true (checked every 2 ms) or max_ms passed;
 * 0 if the condition held. */
int tb_run_until(struct event_base *base, int (*cond)(void *), void *arg, int max_ms);
/* Run base for ms milliseconds. */
void tb_run_for(struct event_base *base, int ms);
/* Number of open file descriptors of this process. */
int tb_fd_count(void);
/* A TCP port on 127.0.0.1 with nothing listening (bound then closed). */
int tb_closed_port(void);

#endif
