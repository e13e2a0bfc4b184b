/* src/srvd/options.c - srvd command-line parsing (getopt_long). */
#include "options.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <getopt.h>
#include <string.h>

#define DEFAULT_ROOT      "root.atsign.org"
#define DEFAULT_ROOT_PORT 64

enum {
    OPT_ROOT = 256,
    OPT_CA,
    OPT_BIND,
    OPT_PORT_RANGE,
    OPT_MAX_SESSIONS,
    OPT_MAX_SOCKETS,
    OPT_RATE,
    OPT_GRACE_MS,
    OPT_AUTH_TIMEOUT_MS,
    OPT_DETECT_MS,
    OPT_SHUTDOWN_GRACE,
    OPT_NO_SPLICE
};

void srvd_usage(FILE *f)
{
    fprintf(f, "Usage: srvd -a @relay -i ADDRESS [options]\n"
               "The NoPorts socket rendezvous relay.\n\n"
               "  -a, --atsign ATSIGN        the relay's atSign (required)\n"
               "  -i, --ip ADDRESS           IP or DNS name sent to clients (required)\n"
               "  -m, --manager ATSIGN       only this atSign may request sessions "
               "(default: open)\n"
               "  -k, --key-file PATH        .atKeys file (default "
               "~/.atsign/keys/<@atsign>_key.atKeys)\n"
               "      --root-domain H[:P]    atDirectory (default root.atsign.org:64)\n"
               "      --ca-file PATH         CA bundle for the atServer TLS connection\n"
               "      --bind ADDR[,ADDR]     listen addresses for session ports "
               "(default 0.0.0.0 and ::)\n"
               "      --port-range LO-HI     take session ports from this range "
               "(default: OS-chosen)\n"
               "      --max-sessions N       live sessions at most (default 1000)\n"
               "      --max-sockets N        sockets per session at most (default 256)\n"
               "      --rate-limit N         requests per sender atSign per minute "
               "(default 60; 0 = off)\n"
               "      --session-grace-ms MS  time for a session's first pair (default 30000)\n"
               "      --auth-timeout-ms MS   per-socket authentication deadline (default 5000)\n"
               "      --auth-detect-ms MS    silence before an ESCR challenge (default 500)\n"
               "      --shutdown-grace S     on SIGTERM, seconds live pairs may continue "
               "(default 30)\n"
               "      --no-splice            copy with read/write instead of splice(2)\n"
               "  -v, --verbose              more logging (repeat for wire traces)\n"
               "  -h, --help                 this text\n");
}

void srvd_options_free(struct srvd_options *o)
{
    if (!o)
        return;
    np_free(o->atsign);
    np_free(o->ip);
    np_free(o->manager);
    np_free(o->key_file);
    np_free(o->root_host);
    np_free(o->ca_file);
    for (size_t i = 0; i < o->n_bind; i++)
        np_free(o->bind[i]);
    memset(o, 0, sizeof(*o));
}

static int set_str(char **dst, const char *v)
{
    np_free(*dst);
    *dst = np_strdup(v);
    return *dst ? 0 : NP_ERR_NOMEM;
}

static int get_int(const char *v, int lo, int hi, int *out)
{
    int64_t x;

    if (np_parse_i64(v, lo, hi, &x) != 0)
        return NP_ERR_INVAL;
    *out = (int)x;
    return 0;
}

static int add_binds(struct srvd_options *o, const char *v)
{
    const char *p = v;

    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || o->n_bind >= RELAY_MAX_BIND)
            return NP_ERR_INVAL;
        if ((o->bind[o->n_bind] = np_strndup(p, n)) == NULL)
            return NP_ERR_NOMEM;
        o->n_bind++;
        p += n;
        if (*p == ',')
            p++;
    }
    return o->n_bind ? 0 : NP_ERR_INVAL;
}

static int port_range(struct srvd_options *o, const char *v)
{
    const char *dash = strchr(v, '-');
    int64_t lo, hi;

    if (!dash || np_parse_i64n(v, (size_t)(dash - v), 1, 65535, &lo) != 0 ||
        np_parse_i64(dash + 1, 1, 65535, &hi) != 0 || lo > hi)
        return NP_ERR_INVAL;
    o->port_lo = (int)lo;
    o->port_hi = (int)hi;
    return 0;
}

int srvd_options_parse(int argc, char **argv, struct srvd_options *o, FILE *out, char *err,
                       size_t errlen)
{
    static const struct option longopts[] = {
        {"atsign", required_argument, NULL, 'a'},
        {"ip", required_argument, NULL, 'i'},
        {"manager", required_argument, NULL, 'm'},
        {"key-file", required_argument, NULL, 'k'},
        {"root-domain", required_argument, NULL, OPT_ROOT},
        {"root-server", required_argument, NULL, OPT_ROOT},
        {"ca-file", required_argument, NULL, OPT_CA},
        {"bind", required_argument, NULL, OPT_BIND},
        {"port-range", required_argument, NULL, OPT_PORT_RANGE},
        {"max-sessions", required_argument, NULL, OPT_MAX_SESSIONS},
        {"max-sockets", required_argument, NULL, OPT_MAX_SOCKETS},
        {"rate-limit", required_argument, NULL, OPT_RATE},
        {"session-grace-ms", required_argument, NULL, OPT_GRACE_MS},
        {"auth-timeout-ms", required_argument, NULL, OPT_AUTH_TIMEOUT_MS},
        {"auth-detect-ms", required_argument, NULL, OPT_DETECT_MS},
        {"shutdown-grace", required_argument, NULL, OPT_SHUTDOWN_GRACE},
        {"no-splice", no_argument, NULL, OPT_NO_SPLICE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char host[NP_HOST_MAX + 1];
    const char *bad = NULL;
    int c, secs, rc = 0;

    memset(o, 0, sizeof(*o));
    o->root_port = DEFAULT_ROOT_PORT;
    o->max_sessions = 1000;
    o->max_sockets = 256;
    o->rate_per_min = 60;
    o->grace_ms = 30000;
    o->auth_timeout_ms = 5000;
    o->detect_ms = 500;
    o->shutdown_grace_ms = 30000;
    if (set_str(&o->root_host, DEFAULT_ROOT) != 0 || set_str(&o->manager, "open") != 0)
        goto nomem;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":a:i:m:k:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            rc = set_str(&o->atsign, optarg);
            break;
        case 'i':
            rc = set_str(&o->ip, optarg);
            break;
        case 'm':
            rc = set_str(&o->manager, optarg);
            break;
        case 'k':
            rc = set_str(&o->key_file, optarg);
            break;
        case OPT_ROOT:
            if (np_hostport_parse(optarg, DEFAULT_ROOT_PORT, host, &o->root_port) != 0) {
                bad = "--root-domain";
                break;
            }
            rc = set_str(&o->root_host, host);
            break;
        case OPT_CA:
            rc = set_str(&o->ca_file, optarg);
            break;
        case OPT_BIND:
            if ((rc = add_binds(o, optarg)) == NP_ERR_INVAL) {
                bad = "--bind";
                rc = 0;
            }
            break;
        case OPT_PORT_RANGE:
            if (port_range(o, optarg) != 0)
                bad = "--port-range";
            break;
        case OPT_MAX_SESSIONS:
            if (get_int(optarg, 1, 1000000, &o->max_sessions) != 0)
                bad = "--max-sessions";
            break;
        case OPT_MAX_SOCKETS:
            if (get_int(optarg, 2, 1000000, &o->max_sockets) != 0)
                bad = "--max-sockets";
            break;
        case OPT_RATE:
            if (get_int(optarg, 0, 1000000, &o->rate_per_min) != 0)
                bad = "--rate-limit";
            break;
        case OPT_GRACE_MS:
            if (get_int(optarg, 0, 86400000, &o->grace_ms) != 0)
                bad = "--session-grace-ms";
            break;
        case OPT_AUTH_TIMEOUT_MS:
            if (get_int(optarg, 1, 600000, &o->auth_timeout_ms) != 0)
                bad = "--auth-timeout-ms";
            break;
        case OPT_DETECT_MS:
            if (get_int(optarg, 0, 60000, &o->detect_ms) != 0)
                bad = "--auth-detect-ms";
            break;
        case OPT_SHUTDOWN_GRACE:
            if (get_int(optarg, 0, 86400, &secs) != 0)
                bad = "--shutdown-grace";
            else
                o->shutdown_grace_ms = secs * 1000;
            break;
        case OPT_NO_SPLICE:
            o->force_rw = 1;
            break;
        case 'v':
            o->verbose++;
            break;
        case 'h':
            srvd_usage(out ? out : stdout);
            return 1;
        case ':':
            snprintf(err, errlen, "option %s needs a value", argv[optind - 1]);
            return NP_ERR_INVAL;
        default:
            snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
            return NP_ERR_INVAL;
        }
        if (rc != 0)
            goto nomem;
        if (bad) {
            snprintf(err, errlen, "bad value for %s: '%s'", bad, optarg);
            return NP_ERR_INVAL;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return NP_ERR_INVAL;
    }
    if (!o->atsign || !*o->atsign) {
        snprintf(err, errlen, "-a/--atsign is required");
        return NP_ERR_INVAL;
    }
    if (!o->ip || !*o->ip) {
        snprintf(err, errlen, "-i/--ip is required (the address clients connect to)");
        return NP_ERR_INVAL;
    }
    if (strchr(o->ip, ',')) {
        snprintf(err, errlen, "-i/--ip must not contain ','");
        return NP_ERR_INVAL;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return NP_ERR_NOMEM;
}
