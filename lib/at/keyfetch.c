/* lib/at/keyfetch.c - cancellable asynchronous lookups (see keyfetch.h). */
#include "at/keyfetch.h"
#include "at/client.h"
#include "util/alloc.h"
#include "util/err.h"

/* One outstanding lookup; the client's callback always runs and frees it. */
struct kf_entry {
    struct kf_entry *prev, *next;
    struct at_keyfetch *set; /* NULL once the set is freed */
    at_keyfetch_done_fn done;
    void *arg;
    int cancelled;
};

struct at_keyfetch {
    struct at_client *client;
    struct kf_entry *head;
    size_t n;
};

int at_keyfetch_new(struct at_client *c, struct at_keyfetch **out)
{
    struct at_keyfetch *s;

    *out = NULL;
    if (!c)
        return NP_ERR_INVAL;
    if ((s = np_calloc(1, sizeof(*s))) == NULL)
        return NP_ERR_NOMEM;
    s->client = c;
    *out = s;
    return 0;
}

static void unlink_entry(struct kf_entry *e)
{
    struct at_keyfetch *s = e->set;

    if (!s)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    s->n--;
    e->set = NULL;
    e->prev = e->next = NULL;
}

static void on_get(struct at_client *c, const struct at_result *r, void *data)
{
    struct kf_entry *e = data;
    (void)c;

    unlink_entry(e);
    if (!e->cancelled) {
        int err = r->err;
        if (err == 0 && !r->value)
            err = NP_ERR_NOTFOUND;
        e->done(e->arg, err, err == 0 ? r->value : NULL);
    }
    np_free(e);
}

int at_keyfetch_get(struct at_keyfetch *s, const char *key, unsigned flags,
                    at_keyfetch_done_fn done, void *arg)
{
    struct kf_entry *e;
    int r;

    if (!s || !key || !done)
        return NP_ERR_INVAL;
    if ((e = np_calloc(1, sizeof(*e))) == NULL)
        return NP_ERR_NOMEM;
    e->done = done;
    e->arg = arg;
    if ((r = at_client_get(s->client, key, flags, on_get, e)) != 0) {
        np_free(e);
        return r;
    }
    e->set = s;
    e->next = s->head;
    if (s->head)
        s->head->prev = e;
    s->head = e;
    s->n++;
    return 0;
}

void at_keyfetch_cancel(struct at_keyfetch *s, void *arg)
{
    if (!s)
        return;
    for (struct kf_entry *e = s->head; e; e = e->next)
        if (e->arg == arg)
            e->cancelled = 1;
}

size_t at_keyfetch_pending(const struct at_keyfetch *s)
{
    return s ? s->n : 0;
}

void at_keyfetch_free(struct at_keyfetch *s)
{
    struct kf_entry *e, *next;

    if (!s)
        return;
    for (e = s->head; e; e = next) {
        next = e->next;
        e->cancelled = 1;
        e->set = NULL;
        e->prev = e->next = NULL;
    }
    np_free(s);
}
