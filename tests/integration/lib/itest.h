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
 */
int itest_stop(pid_t pid, int timeout_ms, int *status);

/* Read a whole file (at most max bytes) into a malloc'd NUL-terminated
 * string; NULL on error. Free with free(). */
char *itest_read_file(const char *path, size_t max);

/* Print a file to stderr with a header line (for logs of failed runs). */
void itest_dump_file(const char *title, const char *path);

/* ---- a real atdirectory + one atserver process hosting several atSigns ----
 * (the official virtual environment's provisioning: `atserver create` with a
 * cram secret, cram login, then privatekey:at_pkam_publickey and
 * public:publickey@x from the .atKeys file). Programs come from NP_ATSERVER
 * and NP_ATDIRECTORY. Keys of the official demo fixtures are copied with
 * itest_copy_fixture. */

struct np_atkeys;

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
    pid_t dir_pid, srv_pid;
};

/* Copy official-demo-atkeys/<name> (through NP_SOURCE_DIR) to dst, mode 0600. */
int itest_copy_fixture(const char *name, const char *dst);
/* Temp dir, CA, paths, a directory port. */
int itest_at_setup(struct itest_at *e, const char *tag);
/* `atserver create atsign` on a fresh port with this cram secret (before
 * itest_at_start_server). */
int itest_at_create(struct itest_at *e, const char *atsign, const char *cram);
/* Start the atdirectory (once) and the atserver; wait for every port. */
int itest_at_start(struct itest_at *e);
/* Start (again) only the atserver; wait for every port (restart tests). */
int itest_at_start_server(struct itest_at *e);
/* Cram login as atsign and store the PKAM and encryption public keys of k. */
int itest_at_provision(struct itest_at *e, const char *atsign, const char *cram,
                       const struct np_atkeys *k);
/* Stop the atserver and atdirectory by pid; remove the temp dir unless
 * NP_KEEP_TMP is set. */
void itest_at_teardown(struct itest_at *e);

#endif
