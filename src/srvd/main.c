/*
 * src/srvd/main.c - srvd: parse options, load the relay atSign's keys, set
 * up the relay engine and its atProtocol glue (atglue.h: monitor into
 * relay_handle_request, answers/NACKs and public-key lookups over the lib/at
 * client) on one libevent loop, stop gracefully on SIGTERM/SIGINT.
 */
#include "atglue.h"
#include "options.h"
#include "relay.h"
#include "crypto/atkeys.h"
#include "util/err.h"
#include "util/log.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifndef NP_VERSION
#define NP_VERSION "0"
#endif

struct main_ctx {
    struct event_base *base;
    struct relay *relay;
    int grace_ms;
};

static void shutdown_done(void *arg)
{
    struct main_ctx *m = arg;

    np_info("srvd: stopped");
    event_base_loopexit(m->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct main_ctx *m = arg;
    (void)what;

    np_info("srvd: signal %d: shutting down", (int)sig);
    if (relay_shutdown(m->relay, m->grace_ms, shutdown_done, m) == NP_ERR_CLOSED) {
        np_info("srvd: second signal: stopping now");
        event_base_loopexit(m->base, NULL);
    }
}

int main(int argc, char **argv)
{
    struct srvd_options o;
    struct relay_config cfg;
    struct relay_outbox outbox;
    struct relay_keysource keys;
    struct srvd_glue_opts go;
    struct srvd_glue *glue = NULL;
    struct main_ctx m;
    struct event *ev_term = NULL, *ev_int = NULL;
    struct np_atkeys *atkeys = NULL;
    char err[256], path[1024];
    const char *kf;
    int rc, status = 1;

    memset(&m, 0, sizeof(m));
    np_log_set_ident("srvd");
    rc = srvd_options_parse(argc, argv, &o, stdout, err, sizeof(err));
    if (rc == 1) {
        srvd_options_free(&o);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "srvd: %s\n", err);
        srvd_usage(stderr);
        srvd_options_free(&o);
        return 2;
    }
    np_log_set_level(NP_LOG_INFO + o.verbose);
    signal(SIGPIPE, SIG_IGN);

    /* The keys are checked now so that a bad setup fails at start-up. */
    kf = o.key_file;
    if (!kf) {
        if (np_atkeys_default_path(o.atsign, path, sizeof(path)) != 0) {
            np_error("srvd: cannot build the default key path for %s", o.atsign);
            goto out;
        }
        kf = path;
    }
    if ((rc = np_atkeys_load(kf, &atkeys, err, sizeof(err))) != 0) {
        np_error("srvd: cannot load keys from %s: %s (%s)", kf, err, np_strerror(rc));
        goto out;
    }

    if ((m.base = event_base_new()) == NULL) {
        np_error("srvd: cannot create the event loop");
        goto out;
    }
    memset(&go, 0, sizeof(go));
    go.atsign = o.atsign;
    go.keys = atkeys;
    go.root_host = o.root_host;
    go.root_port = o.root_port;
    go.ca_file = o.ca_file;
    if ((rc = srvd_glue_new(m.base, &go, &glue)) != 0) {
        np_log_r(NP_LOG_ERROR, rc, "srvd: cannot set up the atProtocol client for %s", o.atsign);
        goto out;
    }
    np_atkeys_free(atkeys); /* the client keeps its own copy */
    atkeys = NULL;
    outbox = srvd_glue_outbox(glue);
    keys = srvd_glue_keysource(glue);
    relay_config_defaults(&cfg);
    cfg.address = o.ip;
    cfg.manager = o.manager;
    cfg.bind = (const char *const *)o.bind;
    cfg.n_bind = o.n_bind;
    cfg.port_lo = o.port_lo;
    cfg.port_hi = o.port_hi;
    cfg.max_sessions = o.max_sessions;
    cfg.max_sockets_per_session = o.max_sockets;
    cfg.rate_per_min = o.rate_per_min;
    cfg.rate_burst = o.rate_per_min; /* a minute's budget may come at once */
    cfg.grace_ms = o.grace_ms;
    cfg.auth_timeout_ms = o.auth_timeout_ms;
    cfg.detect_ms = o.detect_ms;
    cfg.force_rw = o.force_rw;
    if ((rc = relay_new(m.base, &cfg, &outbox, &keys, &m.relay)) != 0) {
        np_log_r(NP_LOG_ERROR, rc, "srvd: cannot start the relay");
        goto out;
    }
    m.grace_ms = o.shutdown_grace_ms;
    if ((ev_term = evsignal_new(m.base, SIGTERM, on_signal, &m)) == NULL ||
        (ev_int = evsignal_new(m.base, SIGINT, on_signal, &m)) == NULL ||
        event_add(ev_term, NULL) != 0 || event_add(ev_int, NULL) != 0) {
        np_error("srvd: cannot install signal handlers");
        goto out;
    }
    np_info("srvd %s: relay %s, address %s, manager %s, root %s:%d", NP_VERSION, o.atsign, o.ip,
            o.manager, o.root_host, o.root_port);
    if ((rc = srvd_glue_start(glue, m.relay)) != 0) {
        np_log_r(NP_LOG_ERROR, rc, "srvd: cannot start the atProtocol connections");
        goto out;
    }
    event_base_dispatch(m.base);
    status = 0;
out:
    if (ev_term)
        event_free(ev_term);
    if (ev_int)
        event_free(ev_int);
    relay_free(m.relay); /* first: it cancels its key lookups */
    srvd_glue_free(glue);
    if (m.base)
        event_base_free(m.base);
    np_atkeys_free(atkeys);
    srvd_options_free(&o);
    return status;
}
