/* src/srvd/map.c - string-keyed chained hash map (see map.h). */
#include "map.h"
#include "util/alloc.h"
#include "util/err.h"

#include <stdint.h>
#include <string.h>

struct node {
    struct node *next;
    void *value;
    uint32_t hash;
    char key[]; /* NUL-terminated copy */
};

struct smap {
    struct node **b;
    size_t nb; /* power of two */
    size_t count;
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

struct smap *smap_new(void)
{
    struct smap *m = np_calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->nb = 16;
    if ((m->b = np_calloc(m->nb, sizeof(*m->b))) == NULL) {
        np_free(m);
        return NULL;
    }
    return m;
}

void smap_free(struct smap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nb; i++) {
        struct node *n = m->b[i];
        while (n) {
            struct node *next = n->next;
            np_free(n);
            n = next;
        }
    }
    np_free(m->b);
    np_free(m);
}

static struct node **find(const struct smap *m, const char *key, uint32_t h)
{
    struct node **pp = &m->b[h & (m->nb - 1)];

    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
            return pp;
    return pp;
}

void *smap_get(const struct smap *m, const char *key)
{
    struct node **pp;

    if (!m || !key)
        return NULL;
    pp = find(m, key, fnv1a(key));
    return *pp ? (*pp)->value : NULL;
}

static void grow(struct smap *m)
{
    size_t nb = m->nb * 2;
    struct node **b = np_calloc(nb, sizeof(*b));

    if (!b)
        return; /* keep the old table: still correct, just slower */
    for (size_t i = 0; i < m->nb; i++) {
        struct node *n = m->b[i];
        while (n) {
            struct node *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    np_free(m->b);
    m->b = b;
    m->nb = nb;
}

int smap_put(struct smap *m, const char *key, void *value)
{
    uint32_t h;
    struct node **pp, *n;
    size_t kl;

    if (!m || !key)
        return NP_ERR_INVAL;
    h = fnv1a(key);
    pp = find(m, key, h);
    if (*pp)
        return NP_ERR_EXISTS;
    kl = strlen(key);
    if ((n = np_malloc(sizeof(*n) + kl + 1)) == NULL)
        return NP_ERR_NOMEM;
    memcpy(n->key, key, kl + 1);
    n->hash = h;
    n->value = value;
    n->next = NULL;
    *pp = n;
    if (++m->count > m->nb)
        grow(m);
    return 0;
}

void *smap_del(struct smap *m, const char *key)
{
    struct node **pp, *n;
    void *v;

    if (!m || !key)
        return NULL;
    pp = find(m, key, fnv1a(key));
    if ((n = *pp) == NULL)
        return NULL;
    *pp = n->next;
    v = n->value;
    np_free(n);
    m->count--;
    return v;
}

size_t smap_count(const struct smap *m)
{
    return m ? m->count : 0;
}
