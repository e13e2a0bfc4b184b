/* lib/util/alloc.c - allocation wrapper with failure injection for tests. */
#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>

static long fail_after = -1;

static int should_fail(void)
{
    if (fail_after < 0)
        return 0;
    if (fail_after == 0)
        return 1;
    fail_after--;
    return 0;
}

void np_alloc_fail_after(long n)
{
    fail_after = n;
}

void *np_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *np_calloc(size_t nmemb, size_t size)
{
    if (should_fail())
        return NULL;
    if (nmemb == 0 || size == 0)
        return calloc(1, 1);
    return calloc(nmemb, size);
}

void *np_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

char *np_strdup(const char *s)
{
    return s ? np_memdup0(s, strlen(s)) : NULL;
}

char *np_strndup(const char *s, size_t n)
{
    return s ? np_memdup0(s, strnlen(s, n)) : NULL;
}

char *np_memdup0(const void *p, size_t n)
{
    char *r;

    if (n == (size_t)-1 || (r = np_malloc(n + 1)) == NULL)
        return NULL;
    if (n)
        memcpy(r, p, n);
    r[n] = '\0';
    return r;
}

void np_free(void *p)
{
    free(p);
}

void np_memzero(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

void np_freezero(void *p, size_t n)
{
    if (!p)
        return;
    np_memzero(p, n);
    free(p);
}

void np_freezero_str(char *s)
{
    if (s)
        np_freezero(s, strlen(s));
}
