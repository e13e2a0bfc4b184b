/*
 * tests/integration/lib/itest.h - helpers for tests that run real processes
 * on loopback: temporary directories, the throw-away CA (mkca.sh), free
 * ports, starting programs and stopping them by pid with timeouts, waiting
 * for a port to accept connections. CMake target np_itest.
 *
 * Every wait here is bounded in time; nothing sleeps without a deadline.
 * Children are started with PR_SET_PDEATHSIG(SIGTERM), so a test process
 * that crashes does not leave servers behind. Functions return 0 or a
 * negative NP_ERR_* code and print the reason to stderr.
 */
#ifndef NP_ITEST_H
#define NP_ITEST_H
#include <stddef.h>
#include <sys/types.h>

/* Path of a program or file given by the build: environment variable
 * `name` if set, else fallback. Never NULL. */
const char *itest_env(const char *name, const char *fallback);

/* Create a fresh private directory ($TMPDIR or /tmp)/np-<tag>-XXXXXX into
 * dst. */
int itest_tmpdir(const char *tag, char *dst, size_t size);
/* Remove a directory tree (no symlinks followed). NULL/"" is a no-op. */
int itest_rmtree(const char *path);

/* Run tests/integration/lib/mkca.sh OUTDIR (found through NP_SOURCE_DIR)
 * and wait for it (at most 60 s). */
int itest_mkca(const char *outdir);

/* A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0). */
int itest_free_port(int *port);

/*
 * Start argv[0] (a path) with argv, stdin from /dev/null, stdout+stderr
 * appended to log_path (NULL: inherited). *pid is the child's.
 */
int itest_spawn(const char *const argv[], const char *log_path, pid_t *pid);

/*
 * Run argv to completion (at most timeout_ms, then SIGKILL) with stdout and
 * stderr captured to out_path (NULL: inherited). *status gets the exit
 * code, or 128 + signal number if it was killed.
 */
int itest_run(const char *const argv[], const char *out_path, int timeout_ms, int *status);

/*
 * Wait until host:port accepts a TCP connection, at most timeout_ms.
 * If pid > 0 and that child exits meanwhile, fail at once (NP_ERR_EOF).
 */
int itest_wait_port(const char *host, int port, pid_t pid, int timeout_ms);

/*
 * Stop a child: SIGTERM, wait up to timeout_ms, then SIGKILL and reap.
 * *status (may be NULL) as for itest_run. pid <= 0 is a no-op.
 * Like itest_run and itest_wait_port, it checks a reaped child for a
 * sanitizer report (see "sanitizer reports" below): callers need not.
 */
int itest_stop(pid_t pid, int timeout_ms, int *status);

/* Read a whole file (at most max bytes) into a malloc'd NUL-terminated
 * string; NULL on error. Free with free(). */
char *itest_read_file(const char *path, size_t max);

/* Print a file to stderr with a header line (for logs of failed runs). */
void itest_dump_file(const char *title, const char *path);

/* How often text occurs (non-overlapping) in the file at path (its first
 * 8 MiB); 0 if it cannot be read. */
int itest_log_count(const char *path, const char *text);
/* Poll (every 50 ms, at most ms) until text occurs at least `times` times
 * in the file at path: 1 if it did, 0 on time-out. */
int itest_log_wait(const char *path, const char *text, int times, int ms);

/* ---- a real atdirectory + one atserver process hosting several atSigns ----
 * (the official virtual environment's provisioning: `atserver create` with a
 * cram secret, cram login, then privatekey:at_pkam_publickey and
 * public:publickey@x from the .atKeys file). Programs come from NP_ATSERVER
 * and NP_ATDIRECTORY. Keys of the official demo fixtures are copied with
 * itest_copy_fixture. */

struct np_atkeys;
struct at_client_opts;

/* The official demo atSigns and their cram secrets (fixtures README);
 * @relay1's server is created by the tests, so its secret is ours. */
#define ITEST_ALICE "@alice\xf0\x9f\x9b\xa0"
#define ITEST_BOB   "@bob\xf0\x9f\x9b\xa0"
#define ITEST_RELAY "@relay1"
#define ITEST_ALICE_CRAM                                                                           \
    "b26455a907582760ebf35bc4847de549bc41c24b25c8b1c58d5964f7b4f8a43bc55b0e9a601c9a9657d9a8b8bbc3" \
    "2f88b4e38ffaca03c8710ebae1b14ca9f364"
#define ITEST_BOB_CRAM                                                                             \
    "33c2df30b79743ff880fc1c832a5c69170974dd736231b84ee360df89a0faff1f6efe0e83064144a7b4e5029334a" \
    "d1daedc49bf82c0be1f763f590c28e33ba0a"
#define ITEST_RELAY_CRAM "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define ITEST_AT_MAX 8

struct itest_at {
    char dir[512];                     /* temp dir (removed by itest_at_teardown) */
    char ca[600], cert[600], key[600]; /* throw-away CA and server cert */
    char dirdb[600], data[600];        /* directory db, atserver data dir */
    char srv_log[600], dir_log[600], out[600];
    char root[64]; /* "127.0.0.1:<dir_port>" */
    int dir_port;
    int ports[ITEST_AT_MAX]; /* atServer port of each created atSign */
    int n;
    /* atSigns added with itest_at_add (borrowed; NULL for itest_at_create) */
    const char *atsigns[ITEST_AT_MAX], *crams[ITEST_AT_MAX];
    const struct np_atkeys *keys[ITEST_AT_MAX];
    int srv_verbose;        /* set before itest_at_start: run the atserver with -v */
    const char *srv_config; /* set before itest_at_start: --config FILE (borrowed) */
    pid_t dir_pid, srv_pid;
};

/* Copy official-demo-atkeys/<name> (through NP_SOURCE_DIR) to dst, mode 0600. */
int itest_copy_fixture(const char *name, const char *dst);
/* Temp dir, CA, paths, a directory port. */
int itest_at_setup(struct itest_at *e, const char *tag);
/* `atserver create atsign` on a fresh port with this cram secret (before
 * itest_at_start_server). cram NULL: no --cram-secret (the server makes one
 * and prints it; its output is in e->out). */
int itest_at_create(struct itest_at *e, const char *atsign, const char *cram);
/*
 * One atSign of the official demo fixtures: copy official-demo-atkeys/
 * <fixture> to <dir>/<fixture> (its path into path), load it into *k
 * (caller frees with np_atkeys_free after itest_at_teardown) and
 * itest_at_create it with cram. atsign and cram are borrowed and must
 * outlive e; they are remembered for itest_at_provision_all.
 */
int itest_at_add(struct itest_at *e, const char *atsign, const char *cram, const char *fixture,
                 char *path, size_t size, struct np_atkeys **k);
/* The demo cast added by itest_at_demo: .atKeys copies and loaded keys. */
struct itest_demo {
    char alice[600], bob[600], relay[600]; /* paths of the copies ("" if absent) */
    struct np_atkeys *ka, *kb, *kr;        /* kr NULL without the relay */
};
/* Clear d; itest_at_add ITEST_ALICE and ITEST_BOB (and ITEST_RELAY if
 * with_relay) from their fixtures, then itest_at_start and
 * itest_at_provision_all. Free d with itest_demo_free. */
int itest_at_demo(struct itest_at *e, int with_relay, struct itest_demo *d);
/* Free the keys of d (NULL-safe, idempotent). */
void itest_demo_free(struct itest_demo *d);
/* Start the atdirectory (once) and the atserver; wait for every port. */
int itest_at_start(struct itest_at *e);
/* Start (again) only the atserver; wait for every port (restart tests). */
int itest_at_start_server(struct itest_at *e);
/* Cram login as atsign and store the PKAM and encryption public keys of k. */
int itest_at_provision(struct itest_at *e, const char *atsign, const char *cram,
                       const struct np_atkeys *k);
/* itest_at_provision every atSign added with itest_at_add (after
 * itest_at_start); dumps the atserver log on failure. */
int itest_at_provision_all(struct itest_at *e);
/* Client options for atsign with keys k (may be NULL) against this
 * environment: root 127.0.0.1:dir_port, the CA, request and connect
 * time-outs of timeout_ms; everything else zero. */
void itest_at_opts(const struct itest_at *e, struct at_client_opts *o, const char *atsign,
                   const struct np_atkeys *k, int timeout_ms);
/* Stop the atserver and atdirectory by pid; remove the temp dir unless
 * NP_KEEP_TMP is set. */
void itest_at_teardown(struct itest_at *e);

/* ---- sanitizer reports of children ----
 * Every child of itest_spawn/itest_run is remembered with its log file and
 * the log's size at start. When itest_stop, itest_run or itest_wait_port
 * reaps it, the exit status (23: LeakSanitizer's default exit code; 134:
 * SIGABRT, as with ASAN_OPTIONS=abort_on_error=1, or an assert) and the
 * part of the log it wrote are checked for a sanitizer report
 * ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ",
 * ...). itest_rmtree checks the logs under the removed directory of
 * children reaped by the test itself, and the test process's exit checks
 * the rest. Each report is printed to stderr with the log excerpt, and the
 * test process then exits 1 at its end (from an atexit handler), whatever
 * cmocka reported: a leak or sanitizer error in a server fails the test. */

/* Does the regular file at path hold a sanitizer report after byte
 * offset? Prints the excerpt when it does (1), else 0 (also when it is
 * unreadable or not a regular file: FIFO logs are the test's to check). */
int itest_log_has_sanitizer_report(const char *path, long offset);
/* Number of sanitizer reports of children found so far. */
int itest_sanitizer_reports(void);
/* The same, and forget them: ONLY for the self-test of this mechanism
 * (tests/integration/fault_sanitizer_check.c), which provokes reports. */
int itest_sanitizer_take_reports(void);

/* Start (once) only the atdirectory of e (itest_at_setup first); the
 * atserver may be started later with itest_at_start_server. */
int itest_at_start_directory(struct itest_at *e);

/* Issue one more leaf certificate from the CA that itest_mkca made in
 * cadir (its int.pem/int.key): <cadir>/<name>.pem (leaf + intermediate)
 * and <cadir>/<name>.key, CN and only DNS SAN `dns`, serverAuth and
 * clientAuth (e.g. a client certificate naming another host). */
int itest_issue_cert(const char *cadir, const char *name, const char *dns);

#endif
