/*
 * src/atserver/options.c - the command line and the --config file of
 * atserver: defaults (atprotocol.md 10.7), "name = value" settings, and
 * argv for the subcommands run, create and list.
 */
#include "atserver.h"

#include "at/verb.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NP_VERSION
#define NP_VERSION "0"
#endif

void as_config_defaults(struct as_config *c)
{
    memset(c, 0, sizeof(*c));
    c->max_conns = 200;
    c->unauth_max_line = 64 * 1024;
    c->auth_max_line = AT_LINE_MAX;
    c->max_value_size = AT_LINE_MAX;
    c->unauth_cmds_per_sec = 50;
    c->unauth_cmds_burst = 100;
    c->unauth_idle_ms = 600000;
    c->auth_idle_ms = 30LL * 24 * 3600 * 1000;
    c->unauth_idle_min_ms = 5000;
    c->auth_idle_min_ms = 60000;
    c->handshake_ms = 10000;
    c->write_timeout_ms = 120000;
    c->stats_interval_s = 15;
    c->expiry_interval_s = 180;
    c->notify_ttl_ms = 15 * 60 * 1000;
    c->notify_retain_ms = 3600 * 1000;
    c->delete_notify_ttl_ms = 15 * 60 * 1000;
    c->monitor_soft_limit = 1u << 20;
    c->monitor_hard_limit = 8u << 20;
    c->monitor_soft_s = 10;
    c->replay_batch = 256;
    c->auto_notify = true;
    c->client_cert_required = true;
    c->noop_max_ms = 5000;
    c->durable_writes = true;
    c->s2s_connect_ms = 5000;
    c->s2s_handshake_ms = 3000;
    c->s2s_lookup_ms = 5000;
    c->s2s_notify_ms = 10000;
    c->s2s_idle_ms = 600000;
    c->s2s_directory_cache_ms = 60000;
    c->s2s_max_connections = 200;
    c->s2s_max_retries = 30;
    c->s2s_quarantine_ms = 10000;
    c->s2s_job_ms = 5000;
}

enum kind { K_INT, K_I64, K_SIZE, K_BOOL };

struct setting {
    const char *name;
    enum kind kind;
    size_t off;
    int64_t min, max;
};

#define S(n, k, f, lo, hi)                                                                         \
    {                                                                                              \
        n, k, offsetof(struct as_config, f), lo, hi                                                \
    }
static const struct setting settings[] = {
    S("max_connections", K_INT, max_conns, 1, 100000),
    S("unauth_max_line", K_SIZE, unauth_max_line, 256, AT_LINE_MAX),
    S("auth_max_line", K_SIZE, auth_max_line, 4096, AT_LINE_MAX),
    S("max_value_size", K_SIZE, max_value_size, 1, AT_LINE_MAX),
    S("unauth_commands_per_second", K_INT, unauth_cmds_per_sec, 0, 1000000),
    S("unauth_commands_burst", K_INT, unauth_cmds_burst, 1, 1000000),
    S("unauth_idle_ms", K_I64, unauth_idle_ms, 0, 365LL * 24 * 3600 * 1000),
    S("auth_idle_ms", K_I64, auth_idle_ms, 0, 365LL * 24 * 3600 * 1000),
    S("unauth_idle_min_ms", K_I64, unauth_idle_min_ms, 0, 365LL * 24 * 3600 * 1000),
    S("auth_idle_min_ms", K_I64, auth_idle_min_ms, 0, 365LL * 24 * 3600 * 1000),
    S("handshake_ms", K_INT, handshake_ms, 100, 600000),
    S("write_timeout_ms", K_INT, write_timeout_ms, 0, 3600000),
    S("stats_interval_s", K_INT, stats_interval_s, -1, 86400),
    S("expiry_interval_s", K_INT, expiry_interval_s, 1, 86400),
    S("notification_ttl_ms", K_I64, notify_ttl_ms, 1, 30LL * 24 * 3600 * 1000),
    S("notification_retain_ms", K_I64, notify_retain_ms, 0, 30LL * 24 * 3600 * 1000),
    S("delete_notification_ttl_ms", K_I64, delete_notify_ttl_ms, 1, 30LL * 24 * 3600 * 1000),
    S("monitor_soft_limit", K_SIZE, monitor_soft_limit, 1024, 1LL << 32),
    S("monitor_hard_limit", K_SIZE, monitor_hard_limit, 4096, 1LL << 32),
    S("monitor_soft_seconds", K_INT, monitor_soft_s, 0, 3600),
    S("replay_batch", K_SIZE, replay_batch, 1, 100000),
    S("auto_notify", K_BOOL, auto_notify, 0, 1),
    S("client_certificate_required", K_BOOL, client_cert_required, 0, 1),
    S("noop_max_ms", K_I64, noop_max_ms, 0, 5000),
    S("durable_writes", K_BOOL, durable_writes, 0, 1),
    S("s2s_connect_ms", K_INT, s2s_connect_ms, 100, 600000),
    S("s2s_handshake_ms", K_INT, s2s_handshake_ms, 100, 600000),
    S("s2s_lookup_ms", K_INT, s2s_lookup_ms, 100, 600000),
    S("s2s_notify_ms", K_INT, s2s_notify_ms, 100, 600000),
    S("s2s_idle_ms", K_I64, s2s_idle_ms, 100, 24LL * 3600 * 1000),
    S("s2s_directory_cache_ms", K_I64, s2s_directory_cache_ms, 0, 24LL * 3600 * 1000),
    S("s2s_max_connections", K_INT, s2s_max_connections, 1, 100000),
    S("s2s_max_retries", K_INT, s2s_max_retries, 1, 100000),
    S("s2s_quarantine_ms", K_I64, s2s_quarantine_ms, 0, 24LL * 3600 * 1000),
    S("s2s_job_ms", K_INT, s2s_job_ms, 50, 3600000),
};

int as_config_set(struct as_config *c, const char *name, const char *value, char *err,
                  size_t errlen)
{
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        const struct setting *s = &settings[i];
        char *p = (char *)c + s->off;
        int64_t v;
        if (strcmp(s->name, name) != 0)
            continue;
        if (s->kind == K_BOOL) {
            if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
                v = 1;
            else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
                v = 0;
            else
                goto bad;
            *(bool *)p = v != 0;
            return 0;
        }
        if (np_parse_i64(value, s->min, s->max, &v) != 0)
            goto bad;
        if (s->kind == K_INT)
            *(int *)p = (int)v;
        else if (s->kind == K_I64)
            *(int64_t *)p = v;
        else
            *(size_t *)p = (size_t)v;
        return 0;
    bad:
        if (err)
            snprintf(err, errlen, "%s: expected %s", name,
                     s->kind == K_BOOL ? "true or false" : "a number in range");
        return NP_ERR_FORMAT;
    }
    if (err)
        snprintf(err, errlen, "unknown setting \"%s\"", name);
    return NP_ERR_NOTFOUND;
}

#define CONFIG_MAX (64 * 1024)

int as_config_load(struct as_config *c, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024], err[256];
    int lineno = 0, r = 0;
    long total = 0;

    if (!f) {
        fprintf(stderr, "atserver: cannot read %s\n", path);
        return NP_ERR_IO;
    }
    while (fgets(line, sizeof(line), f)) {
        char *hash, *eq, *name, *value;
        lineno++;
        total += (long)strlen(line);
        if (total > CONFIG_MAX) {
            fprintf(stderr, "atserver: %s: over %d bytes\n", path, CONFIG_MAX);
            r = NP_ERR_TOOBIG;
            break;
        }
        if ((hash = strchr(line, '#')) != NULL)
            *hash = '\0';
        name = np_str_trim(line);
        if (!*name)
            continue;
        if ((eq = strchr(name, '=')) == NULL) {
            fprintf(stderr, "atserver: %s:%d: expected name = value\n", path, lineno);
            r = NP_ERR_FORMAT;
            break;
        }
        *eq = '\0';
        name = np_str_trim(name);
        value = np_str_trim(eq + 1);
        if ((r = as_config_set(c, name, value, err, sizeof(err))) != 0) {
            fprintf(stderr, "atserver: %s:%d: %s\n", path, lineno, err);
            break;
        }
    }
    fclose(f);
    return r;
}

static const char usage_text[] =
    "usage: atserver run --data-dir DIR --cert FILE --key FILE [options]\n"
    "       atserver create ATSIGN --data-dir DIR --port N [--host NAME]\n"
    "                       [--directory-db FILE] [--cram-secret HEX|-]\n"
    "       atserver list --data-dir DIR\n"
    "\n"
    "An atProtocol server (\"secondary\") hosting one or many atSigns, each on\n"
    "its own TLS port, in one process.\n"
    "\n"
    "run: serve every atSign created in DIR.\n"
    "  -c, --cert FILE            certificate chain (PEM)\n"
    "  -k, --key FILE             private key (PEM)\n"
    "  -b, --bind ADDR            listen address (default: all interfaces)\n"
    "      --ca-file FILE         CA bundle for client certificates (server-to-server)\n"
    "      --root-domain H:P      the directory, for server-to-server lookups\n"
    "      --no-client-cert-required  from:<other atSign> without a client certificate\n"
    "      --config FILE          settings, one \"name = value\" per line (see\n"
    "                             docs/internals/atserver.md)\n"
    "create: add an atSign to DIR: its database, a random cram secret (printed\n"
    "  on stdout) unless --cram-secret gives one (\"-\" reads it from stdin), and\n"
    "  the server signing key pair.\n"
    "  -p, --port N               its TLS port\n"
    "      --host NAME            host name to publish (default localhost)\n"
    "      --directory-db FILE    also register NAME:PORT in an atdirectory database\n"
    "Common:\n"
    "  -d, --data-dir DIR         where the atSigns' databases live\n"
    "  -v, --verbose              more logging (-v debug, -vv wire trace)\n"
    "      --log-level LEVEL      error|warn|info|debug|trace\n"
    "      --syslog               log to syslog\n"
    "  -h, --help                 this text\n"
    "  -V, --version              print the version\n"
    "Exit status: 0 ok, 1 failure, 2 invalid arguments.\n";

enum {
    OPT_CA = 1000,
    OPT_ROOT,
    OPT_NO_CCR,
    OPT_CONFIG,
    OPT_HOST,
    OPT_DIRDB,
    OPT_CRAM,
    OPT_LOG_LEVEL,
    OPT_SYSLOG,
};

static const struct option long_opts[] = {
    {"data-dir", required_argument, NULL, 'd'},
    {"cert", required_argument, NULL, 'c'},
    {"key", required_argument, NULL, 'k'},
    {"bind", required_argument, NULL, 'b'},
    {"port", required_argument, NULL, 'p'},
    {"ca-file", required_argument, NULL, OPT_CA},
    {"root-domain", required_argument, NULL, OPT_ROOT},
    {"no-client-cert-required", no_argument, NULL, OPT_NO_CCR},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"host", required_argument, NULL, OPT_HOST},
    {"directory-db", required_argument, NULL, OPT_DIRDB},
    {"cram-secret", required_argument, NULL, OPT_CRAM},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"syslog", no_argument, NULL, OPT_SYSLOG},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static int usage_error(const char *msg)
{
    fprintf(stderr, "atserver: %s\n(atserver --help for usage)\n", msg);
    return -1;
}

int as_opts_parse(int argc, char **argv, struct as_opts *o)
{
    int c, verbose = 0, level = -1, nargs, no_ccr = 0;
    const char *config = NULL;
    char **args;
    int64_t v;

    memset(o, 0, sizeof(*o));
    as_config_defaults(&o->cfg);
    o->host = "localhost";
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:k:b:p:vhV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->data_dir = optarg;
            break;
        case 'c':
            o->cert_file = optarg;
            break;
        case 'k':
            o->key_file = optarg;
            break;
        case 'b':
            o->bind = optarg;
            break;
        case 'p':
            if (np_parse_i64(optarg, 0, 65535, &v) != 0)
                return usage_error("--port: expected 0 to 65535");
            o->port = (int)v;
            break;
        case OPT_CA:
            o->ca_file = optarg;
            break;
        case OPT_ROOT:
            o->root_domain = optarg;
            break;
        case OPT_NO_CCR:
            no_ccr = 1;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_HOST:
            o->host = optarg;
            break;
        case OPT_DIRDB:
            o->directory_db = optarg;
            break;
        case OPT_CRAM:
            o->cram_secret = optarg;
            break;
        case OPT_LOG_LEVEL:
            if ((level = np_log_level_parse(optarg)) < 0)
                return usage_error("--log-level: expected error|warn|info|debug|trace");
            break;
        case OPT_SYSLOG:
            np_log_use_syslog(1);
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 1;
        case 'V':
            printf("atserver %s (atProtocol server %s compatible)\n", NP_VERSION,
                   AS_COMPAT_VERSION);
            return 1;
        default:
            return usage_error("unknown option");
        }
    }
    np_log_set_level(level >= 0 ? level : NP_LOG_INFO + verbose);
    args = argv + optind;
    nargs = argc - optind;
    if (nargs < 1)
        return usage_error("a subcommand is required: run, create or list");
    if (strcmp(args[0], "run") == 0) {
        o->cmd = AS_CMD_RUN;
        if (nargs != 1)
            return usage_error("run takes no arguments");
        if (!o->cert_file || !o->key_file)
            return usage_error("run needs --cert and --key");
    } else if (strcmp(args[0], "create") == 0) {
        o->cmd = AS_CMD_CREATE;
        if (nargs != 2)
            return usage_error("create needs one ATSIGN");
        o->atsign = args[1];
        if (o->port <= 0)
            return usage_error("create needs --port (1 to 65535)");
    } else if (strcmp(args[0], "list") == 0) {
        o->cmd = AS_CMD_LIST;
        if (nargs != 1)
            return usage_error("list takes no arguments");
    } else {
        return usage_error("unknown subcommand");
    }
    if (!o->data_dir)
        return usage_error("--data-dir is required");
    if (config && as_config_load(&o->cfg, config) != 0)
        return -1;
    if (no_ccr)
        o->cfg.client_cert_required = false;
    return 0;
}
