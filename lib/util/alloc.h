/*
 * lib/util/alloc.h - the one allocation wrapper (style.md practice 13).
 *
 * All project code allocates through these so that unit tests can make the
 * Nth allocation fail (np_alloc_fail_after) and check every failure path.
 * They return NULL on failure and never exit. np_free and np_freezero accept
 * NULL. np_freezero wipes len bytes before freeing: use it for secrets.
 */
#ifndef NP_UTIL_ALLOC_H
#define NP_UTIL_ALLOC_H
#include <stddef.h>

void *np_malloc(size_t n);
void *np_calloc(size_t nmemb, size_t size);
/* Like realloc; on failure the old block is untouched and NULL is returned. */
void *np_realloc(void *p, size_t n);
char *np_strdup(const char *s);
char *np_strndup(const char *s, size_t n);
/* Copy of n bytes plus a terminating NUL (for binary-safe text). */
char *np_memdup0(const void *p, size_t n);
void np_free(void *p);
/* Wipe n bytes (not optimised away), then free. */
void np_freezero(void *p, size_t n);
/* Wipe n bytes of memory that stays allocated. */
void np_memzero(void *p, size_t n);
/* Wipe and free a NUL-terminated secret string. */
void np_freezero_str(char *s);

/* Testing: after n more successful allocations, every allocation fails.
 * n < 0 turns injection off (the default). */
void np_alloc_fail_after(long n);

#endif
