/*
 * fuzz/fuzz_sshnpd_dispatch.c - the sshnpd engine's request path: one
 * notification (sender, key, value from the input) through sshnpd_handle:
 * duplicate check, message type, rate limit, authorization (a manager
 * @alice and a policy @policy), then ping / sshpublickey / envelope and
 * payload parse, key lookup and signature check, and policy responses.
 *
 * Input: "<from>\n<key>\n<value bytes...>" (missing lines take defaults).
 * Properties: no crash, no leak; nothing is ever sent to anybody but the
 * manager (answers) and the policy (auth checks): an unauthorized sender
 * never gets an answer; sshpublickey never writes (no -s).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "crypto/rsa.h"
#include "daemon.h"
#include "util/alloc.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct np_rsa_key *dev_key;
static char *alice_pub;

struct fetch {
    struct event *ev;
    sshnpd_key_done_fn done;
    void *arg;
    int live;
};

#define MAX_FETCH 8
static struct fetch fetches[MAX_FETCH];

static int io_notify(void *data, const char *to, const char *key, const char *value, int64_t ttl,
                     int64_t ttln)
{
    (void)data;
    (void)key;
    (void)value;
    (void)ttl;
    (void)ttln;
    if (strcmp(to, "@alice") != 0 && strcmp(to, "@policy") != 0)
        abort(); /* an answer to someone not authorized */
    return 0;
}

static void fire(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *f = arg;
    (void)fd;
    (void)what;

    f->live = 0;
    f->done(f->arg, 0, alice_pub);
}

static int io_fetch(void *data, const char *atsign, sshnpd_key_done_fn done, void *arg)
{
    struct event_base *base = data;
    struct timeval tv = {0, 0};
    (void)atsign;

    for (int i = 0; i < MAX_FETCH; i++) {
        struct fetch *f = &fetches[i];
        if (f->live)
            continue;
        if (!f->ev && (f->ev = evtimer_new(base, fire, f)) == NULL)
            return -3;
        f->done = done;
        f->arg = arg;
        f->live = 1;
        evtimer_add(f->ev, &tv);
        return 0;
    }
    return -21; /* NP_ERR_LIMIT */
}

static void io_cancel(void *data, void *arg)
{
    (void)data;
    for (int i = 0; i < MAX_FETCH; i++)
        if (fetches[i].live && fetches[i].arg == arg) {
            evtimer_del(fetches[i].ev);
            fetches[i].live = 0;
        }
}

static int io_put(void *data, const struct sshnpd_record *rec)
{
    (void)data;
    (void)rec;
    return 0;
}

static int io_del(void *data, const char *atkey)
{
    (void)data;
    (void)atkey;
    return 0;
}

static size_t line(const uint8_t *d, size_t n, size_t *off, char *out, size_t cap, const char *dflt)
{
    size_t i = *off, k = 0;

    if (i >= n) {
        snprintf(out, cap, "%s", dflt);
        return 0;
    }
    while (i < n && d[i] != '\n') {
        if (k + 1 < cap)
            out[k++] = d[i] ? (char)d[i] : '?';
        i++;
    }
    out[k] = '\0';
    *off = i < n ? i + 1 : n;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *managers[] = {"@alice"};
    struct sshnpd_config cfg;
    struct sshnpd_io io = {io_notify, io_fetch, io_cancel, io_put, io_del, NULL};
    struct event_base *base;
    struct sshnpd *d = NULL;
    char from[256], key[1024], err[64];
    size_t off = 0;

    if (!dev_key) {
        struct np_rsa_key *alice = NULL;
        np_log_set_level(NP_LOG_ERROR - 1);
        if (np_rsa_generate(&dev_key) != 0 || np_rsa_generate(&alice) != 0 ||
            np_rsa_public_b64(alice, &alice_pub) != 0)
            abort();
        np_rsa_free(alice);
    }
    if ((base = event_base_new()) == NULL)
        return 0;
    io.data = base;
    sshnpd_config_defaults(&cfg);
    cfg.atsign = "@device";
    cfg.device = "garage";
    cfg.managers = managers;
    cfg.n_managers = 1;
    cfg.policy = "@policy";
    cfg.enc_priv = dev_key;
    cfg.username = "pi";
    cfg.authkeys_path = "/nonexistent/authorized_keys";
    if (sshnpd_new(base, &cfg, &io, &d, err, sizeof(err)) != 0)
        abort();
    line(data, size, &off, from, sizeof(from), "@alice");
    line(data, size, &off, key, sizeof(key), "@device:ping.garage.sshnp@alice");
    sshnpd_handle(d, "fuzz-1", from, key, (const char *)data + off, size - off);
    /* the same again (duplicate id), then once more under a new id */
    sshnpd_handle(d, "fuzz-1", from, key, (const char *)data + off, size - off);
    sshnpd_handle(d, "fuzz-2", from, key, (const char *)data + off, size - off);
    for (int i = 0; i < 3; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    sshnpd_free(d);
    for (int i = 0; i < MAX_FETCH; i++) {
        if (fetches[i].ev)
            event_free(fetches[i].ev);
        memset(&fetches[i], 0, sizeof(fetches[i]));
    }
    event_base_free(base);
    return 0;
}
