/* tests/unit/atserver/store_test_util.c - see store_test_util.h. */
#include "store_test_util.h"

#include <ftw.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tu_mkdtemp(char *dst, size_t size)
{
    const char *base = getenv("TMPDIR");
    int n;

    if (base == NULL || *base == '\0')
        base = "/tmp";
    n = snprintf(dst, size, "%s/np-store-test-XXXXXX", base);
    if (n < 0 || (size_t)n >= size || mkdtemp(dst) == NULL) {
        fprintf(stderr, "mkdtemp under %s failed\n", base);
        abort();
    }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int tu_rmtree(const char *dir)
{
    return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tu_regex_match(const char *key, void *arg)
{
    return regexec((const regex_t *)arg, key, 0, NULL, 0) == 0;
}
