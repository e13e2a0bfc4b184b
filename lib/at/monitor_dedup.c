/*
 * lib/at/monitor_dedup.c - bounded set of recently seen notification ids
 * (at_idset, monitor.h): a hash table for lookups plus a ring that
 * remembers insertion order, so the oldest id is evicted when full.
 * Memory is bounded by capacity x (id length <= AT_IDSET_MAX_ID).
 */
#include "at/monitor.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdint.h>
#include <string.h>

#define AT_IDSET_MAX_ID 256

struct idnode {
    struct idnode *hnext;
    uint32_t hash;
    char id[];
};

struct at_idset {
    size_t cap, count, head;
    struct idnode **ring; /* cap slots, oldest at head */
    struct idnode **buckets;
    size_t nbuckets; /* power of two */
};

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

struct at_idset *at_idset_new(size_t capacity)
{
    struct at_idset *s;
    size_t nb = 16;

    if (capacity == 0 || capacity > (1u << 24))
        return NULL;
    while (nb < capacity * 2)
        nb *= 2;
    if ((s = np_calloc(1, sizeof(*s))) == NULL)
        return NULL;
    s->cap = capacity;
    s->nbuckets = nb;
    if ((s->ring = np_calloc(capacity, sizeof(*s->ring))) == NULL ||
        (s->buckets = np_calloc(nb, sizeof(*s->buckets))) == NULL) {
        at_idset_free(s);
        return NULL;
    }
    return s;
}

void at_idset_free(struct at_idset *s)
{
    if (!s)
        return;
    if (s->ring)
        for (size_t i = 0; i < s->count; i++)
            np_free(s->ring[(s->head + i) % s->cap]);
    np_free(s->ring);
    np_free(s->buckets);
    np_free(s);
}

static struct idnode **find(const struct at_idset *s, const char *id, uint32_t h)
{
    struct idnode **pp = &s->buckets[h & (s->nbuckets - 1)];

    for (; *pp; pp = &(*pp)->hnext)
        if ((*pp)->hash == h && strcmp((*pp)->id, id) == 0)
            return pp;
    return NULL;
}

int at_idset_contains(const struct at_idset *s, const char *id)
{
    if (!s || !id)
        return 0;
    return find(s, id, fnv1a(id)) != NULL;
}

static void evict_oldest(struct at_idset *s)
{
    struct idnode *old = s->ring[s->head];
    struct idnode **pp = find(s, old->id, old->hash);

    if (pp)
        *pp = old->hnext;
    np_free(old);
    s->ring[s->head] = NULL;
    s->head = (s->head + 1) % s->cap;
    s->count--;
}

int at_idset_check_add(struct at_idset *s, const char *id)
{
    struct idnode *n;
    size_t len;
    uint32_t h;

    if (!s || !id || (len = strlen(id)) > AT_IDSET_MAX_ID)
        return NP_ERR_INVAL;
    h = fnv1a(id);
    if (find(s, id, h))
        return 1;
    if ((n = np_malloc(sizeof(*n) + len + 1)) == NULL)
        return NP_ERR_NOMEM;
    n->hash = h;
    memcpy(n->id, id, len + 1);
    if (s->count == s->cap)
        evict_oldest(s);
    n->hnext = s->buckets[h & (s->nbuckets - 1)];
    s->buckets[h & (s->nbuckets - 1)] = n;
    s->ring[(s->head + s->count) % s->cap] = n;
    s->count++;
    return 0;
}

size_t at_idset_count(const struct at_idset *s)
{
    return s ? s->count : 0;
}
