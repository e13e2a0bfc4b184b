/*
 * tests/unit/crypto/testhelp.h - helpers shared by the crypto and np unit
 * tests: a private temporary directory, whole-file I/O, hex, and running the
 * openssl command-line tool with a deadline (the child is always reaped, and
 * killed by pid if it overruns).
 */
#ifndef NP_TEST_TESTHELP_H
#define NP_TEST_TESTHELP_H
#include <stddef.h>

/* New directory under $TMPDIR (or /tmp); returns a static-lifetime path
 * owned by the helper, or NULL. th_tmpdir_remove deletes its files (flat). */
char *th_tmpdir_new(void);
void th_tmpdir_remove(char *dir);

/* "<dir>/<name>" into a new string (free()). */
char *th_path(const char *dir, const char *name);
/* Write/read whole files; read returns a malloc'd NUL-terminated buffer. */
int th_write_file(const char *path, const void *data, size_t len, int mode);
unsigned char *th_read_file(const char *path, size_t *len);
/* Copy a file, giving the copy `mode`. */
int th_copy_file(const char *from, const char *to, int mode);

/* Decode lower/upper-case hex into out (exactly len bytes); 0 on success. */
int th_unhex(const char *hex, unsigned char *out, size_t len);

/* Run argv (argv[0] looked up in PATH) with stdin, stdout and stderr on
 * /dev/null; wait at most timeout_ms. Returns the exit status, or -1 if it
 * could not start, died by a signal or timed out (then killed). */
int th_run(char *const argv[], int timeout_ms);

/* Convenience: openssl with up to 15 arguments (NULL-terminated). */
int th_openssl(const char *a0, ...);

/* Directory of the official demo .atKeys fixtures. */
#define TH_FIXTURE_DIR NP_SOURCE_DIR "/../shared/fixtures/official-demo-atkeys"

#endif
