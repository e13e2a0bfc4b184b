/*
 * tests/integration/fault_common.h - shared pieces of the fault-injection
 * integration tests (fault_*.c): starting sshnpd and srvd against an
 * itest_at environment, "does the daemon still serve?" probes (a ping
 * answered by sshnpd's heartbeat, a request_ports answered by srvd), a
 * small threaded echo server standing in for the device's service, and
 * process helpers (wait for an exit, SIGSTOP/SIGCONT by pid).
 *
 * Test-only code. Every wait is bounded; functions return 0 or a negative
 * NP_ERR_* code (or a count, where documented) and print reasons to stderr.
 */
#ifndef NP_FAULT_COMMON_H
#define NP_FAULT_COMMON_H
#include <stddef.h>
#include <sys/types.h>

#include "itest.h"

/* The device name sshnpd runs as in every fault test. */
#define FAULT_DEVICE "garage"

/* One daemon process and its log. */
struct fault_proc {
    pid_t pid;
    char log[600];
};

/* Stop p with SIGTERM (SIGKILL after timeout_ms) and forget its pid.
 * Returns its exit status (0 = a clean exit: no sanitizer or leak report),
 * or -1 if it could not be stopped. */
int fault_stop_clean(struct fault_proc *p, int timeout_ms);

/*
 * Start sshnpd as ITEST_BOB (keys d->bob), manager ITEST_ALICE, device
 * FAULT_DEVICE, forwarding to 127.0.0.1:service_port (0: 22) and permitting
 * 127.0.0.1:* and localhost:*, -v, log <e->dir>/<name>.log; extra
 * (NULL-terminated, may be NULL) is appended to the arguments. wait_ms > 0:
 * wait until both of its atServer connections are available.
 */
int fault_start_sshnpd(struct itest_at *e, const struct itest_demo *d, int service_port,
                       const char *const *extra, const char *name, int wait_ms,
                       struct fault_proc *p);
/*
 * Start srvd as ITEST_RELAY (keys d->relay), manager ITEST_ALICE, binding
 * 127.0.0.1 and announcing `address` (NULL: "127.0.0.1"), -v, log
 * <e->dir>/<name>.log; extra (NULL-terminated, may be NULL) is appended to
 * the arguments. wait_ms > 0: wait until both connections are available.
 */
int fault_start_srvd(struct itest_at *e, const struct itest_demo *d, const char *address,
                     const char *const *extra, const char *name, int wait_ms, struct fault_proc *p);
/* Wait (at most ms) until p's log says "<what> connection available" at
 * least `times` times for both "monitor" and "command"; 1 if so. */
int fault_wait_connected(const struct fault_proc *p, int times, int ms);

/*
 * As ITEST_ALICE: ping sshnpd's device and wait at most ms for its
 * heartbeat. 0 when it came (from ITEST_BOB, naming the device).
 */
int fault_ping(struct itest_at *e, const struct itest_demo *d, int ms);
/*
 * As ITEST_ALICE: ask srvd for a session (JSON answer) and wait at most ms
 * for its answer; 0 when a parseable answer for this session came. The
 * answer's ports go to *port_a / *port_b (may be NULL).
 */
int fault_relay_request(struct itest_at *e, const struct itest_demo *d, int ms, int *port_a,
                        int *port_b);
/*
 * A blocking client (client_sync.h) for `as` with keys k, authenticated,
 * or NULL (reason on stderr). Close with at_sync_close.
 */
struct at_sync *fault_open(struct itest_at *e, const char *as, const struct np_atkeys *k);
/*
 * On s: send one notification to `to` with key (record name without
 * "@to:" and "@me") and value (any bytes but NUL and '\n'; encrypted for
 * `to`). 0 when the atServer accepted it.
 */
int fault_notify(struct at_sync *s, const char *to, const char *key, const char *value);

/* An echo server on 127.0.0.1 in its own threads (one per connection). */
struct fault_echo;
int fault_echo_start(struct fault_echo **out, int *port);
/* Connections accepted so far. */
int fault_echo_accepted(const struct fault_echo *e);
/* Stop it: close every socket, join the threads, free. NULL-safe. */
void fault_echo_stop(struct fault_echo *e);

/*
 * Wait at most ms for pid (a child) to exit; 0 and *status (exit code or
 * 128 + signal) when it did, NP_ERR_TIMEOUT if it still runs. Sanitizer
 * checks as itest_stop (this reaps through itest_stop when it exited).
 */
int fault_wait_exit(pid_t pid, int ms, int *status);

/* A TCP connection to 127.0.0.1:port (blocking), or -1. */
int fault_connect(int port);

/* Is a process (any, not only a child) with this pid alive (not a zombie)? */
int fault_alive(pid_t pid);

/* Number of live processes (other than this one, zombies not counted)
 * whose command line contains text (from /proc): proves that nothing a
 * program started is left behind. */
int fault_procs_naming(const char *text);

#endif
