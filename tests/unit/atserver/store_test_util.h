/*
 * tests/unit/atserver/store_test_util.h - helpers shared by the store tests:
 * throw-away directories and a POSIX ERE key filter.
 */
#ifndef NP_TESTS_STORE_TEST_UTIL_H
#define NP_TESTS_STORE_TEST_UTIL_H
#include <stddef.h>

/* Create a fresh directory under $TMPDIR (or /tmp) into dst (size >= 256);
 * aborts the test on failure. */
void tu_mkdtemp(char *dst, size_t size);
/* Remove a directory tree; returns 0 on success. */
int tu_rmtree(const char *dir);
/* ks_match_fn / regex filter: arg is a compiled regex_t. */
int tu_regex_match(const char *key, void *arg);

#endif
