/*
 * src/srvd/map.h - a small string-keyed hash map (chained, FNV-1a, doubles
 * when full). Keys are copied; values are borrowed pointers the caller owns.
 * Used for the session table and the key cache.
 */
#ifndef SRVD_MAP_H
#define SRVD_MAP_H
#include <stddef.h>

struct smap;

/* New empty map; NULL on allocation failure. */
struct smap *smap_new(void);
/* Free the map and its key copies, not the values (NULL-safe). */
void smap_free(struct smap *m);
/* The value stored under key, or NULL. */
void *smap_get(const struct smap *m, const char *key);
/* Insert; NP_ERR_EXISTS if the key is present, NP_ERR_NOMEM. */
int smap_put(struct smap *m, const char *key, void *value);
/* Remove; returns the value that was stored, or NULL. */
void *smap_del(struct smap *m, const char *key);
size_t smap_count(const struct smap *m);

#endif
