/*
 * src/sshnpd/main.c - sshnpd: parse options, load the keys, wire the engine
 * (daemon.h) to the atServer (atglue.h) on one libevent loop, stop on
 * SIGTERM/SIGINT. Exit status 0 after a signal, 1 for a usage or
 * configuration error (bad options, device name, keys).
 */
#include "atglue.h"
#include "crypto/atkeys.h"
#include "crypto/rsa.h"
#include "daemon.h"
#include "options.h"
#include "util/err.h"
#include "util/log.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NP_VERSION
#define NP_VERSION "0"
#endif

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    np_info("sshnpd: signal %d: stopping", (int)sig);
    event_base_loopexit(arg, NULL);
}

static const char *login_name(void)
{
    const char *u = getenv("USER");
    struct passwd *pw;

    if (u && *u)
        return u;
    pw = getpwuid(getuid());
    return pw ? pw->pw_name : NULL;
}

int main(int argc, char **argv)
{
    struct sshnpd_options o;
    struct sshnpd_config cfg;
    struct sd_glue_opts go;
    struct sd_glue *glue = NULL;
    struct sshnpd *d = NULL;
    struct np_atkeys *keys = NULL;
    struct np_rsa_key *enc = NULL, *pkam = NULL;
    struct event_base *base = NULL;
    struct evdns_base *dns = NULL;
    struct event *ev_term = NULL, *ev_int = NULL;
    char err[512], path[1024], regex[256];
    const char *kf;
    int rc, status = 1;

    np_log_set_ident("sshnpd");
    rc = sshnpd_options_parse(argc, argv, &o, stdout, err, sizeof(err));
    if (rc == 1) {
        sshnpd_options_free(&o);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "sshnpd: %s\n(see sshnpd --help)\n", err);
        sshnpd_options_free(&o);
        return 1;
    }
    np_log_set_level(NP_LOG_INFO + o.verbose);
    if (o.syslog)
        np_log_use_syslog(1);
    signal(SIGPIPE, SIG_IGN);
    if (o.un_hide)
        np_info("sshnpd: -u/--un-hide is the default and is ignored");
    if (o.ssh_algorithm || o.ephemeral_permissions)
        np_info("sshnpd: --ssh-algorithm/--ephemeral-permissions accepted but unused: this daemon "
                "never creates ephemeral ssh keys");
    if (o.storage_path || o.ssh_client)
        np_info("sshnpd: --storage-path/--ssh-client accepted but unused");

    kf = o.key_file;
    if (!kf) {
        if (np_atkeys_default_path(o.atsign, path, sizeof(path)) != 0) {
            np_error("sshnpd: cannot build the default key path for %s (is $HOME set?)", o.atsign);
            goto out;
        }
        kf = path;
    }
    if ((rc = np_atkeys_load(kf, &keys, err, sizeof(err))) != 0) {
        np_error("sshnpd: cannot load keys: %s (%s)", err, np_strerror(rc));
        goto out;
    }
    if ((rc = np_rsa_from_private_b64(keys->enc_private_b64, &enc)) != 0) {
        np_error("sshnpd: %s: bad encryption private key (%s)", kf, np_strerror(rc));
        goto out;
    }
    if (keys->pkam_private_b64 && np_rsa_from_private_b64(keys->pkam_private_b64, &pkam) != 0)
        np_warn("sshnpd: %s: unusable PKAM private key; ESCR relay authentication is off", kf);

    if ((base = event_base_new()) == NULL) {
        np_error("sshnpd: cannot create the event loop");
        goto out;
    }
    if ((dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL)
        np_warn("sshnpd: no asynchronous resolver (resolv.conf?): host names resolve blocking");

    memset(&go, 0, sizeof(go));
    go.atsign = o.atsign;
    go.keys = keys;
    go.root_host = o.root_host;
    go.root_port = o.root_port;
    go.ca_file = o.ca_file;
    go.dns = dns;
    go.keepalive_ms = 30000;
    if ((rc = sd_glue_new(base, &go, &glue)) != 0) {
        np_error("sshnpd: cannot create the atProtocol client: %s", np_strerror(rc));
        goto out;
    }

    sshnpd_config_defaults(&cfg);
    cfg.atsign = o.atsign;
    cfg.device = o.device;
    cfg.device_group = o.device_group;
    cfg.managers = (const char *const *)o.managers;
    cfg.n_managers = o.n_managers;
    cfg.policy = o.policy[0] ? o.policy : NULL;
    cfg.permit_csv = o.permit_open;
    cfg.local_sshd_port = o.local_sshd_port;
    cfg.accept_pubkeys = o.sshpublickey;
    cfg.pubkey_perm = o.pubkey_perm;
    cfg.hide = o.hide;
    cfg.username = login_name();
    cfg.version = NP_VERSION;
    cfg.core_version = "c" NP_VERSION;
    cfg.enc_priv = enc;
    cfg.pkam_priv = pkam;
    cfg.pkam_public_b64 = pkam ? keys->pkam_public_b64 : NULL;
    cfg.enrollment_id = keys->enrollment_id;
    cfg.dns = dns;
    cfg.max_sessions = o.max_sessions;
    cfg.rate_per_min = o.rate_per_min;
    cfg.rate_burst = o.rate_per_min; /* a minute's budget may come at once */
    {
        struct sshnpd_io io = sd_glue_io(glue);
        if ((rc = sshnpd_new(base, &cfg, &io, &d, err, sizeof(err))) != 0) {
            np_error("sshnpd: bad configuration: %s (%s)", err, np_strerror(rc));
            goto out;
        }
    }
    if ((ev_term = evsignal_new(base, SIGTERM, on_signal, base)) == NULL ||
        (ev_int = evsignal_new(base, SIGINT, on_signal, base)) == NULL ||
        event_add(ev_term, NULL) != 0 || event_add(ev_int, NULL) != 0) {
        np_error("sshnpd: cannot install signal handlers");
        goto out;
    }
    if (sshnpd_monitor_regex(d, regex, sizeof(regex)) != 0 ||
        (rc = sd_glue_start(glue, d, regex)) != 0) {
        np_error("sshnpd: cannot start the atServer connections: %s", np_strerror(rc));
        goto out;
    }
    np_info("sshnpd %s: %s device %s, %zu manager(s)%s%s, root %s:%d", NP_VERSION, o.atsign,
            o.device, o.n_managers, cfg.policy ? ", policy " : "", cfg.policy ? cfg.policy : "",
            o.root_host, o.root_port);
    event_base_dispatch(base);
    status = 0;
out:
    if (ev_term)
        event_free(ev_term);
    if (ev_int)
        event_free(ev_int);
    sshnpd_free(d); /* before the glue: cancels key lookups */
    sd_glue_free(glue);
    if (dns)
        evdns_base_free(dns, 0);
    if (base)
        event_base_free(base);
    np_rsa_free(enc);
    np_rsa_free(pkam);
    np_atkeys_free(keys);
    sshnpd_options_free(&o);
    return status;
}
