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

#endif
