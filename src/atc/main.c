/*
 * src/atc/main.c - atc: parse the command line into struct atc_opts and
 * hand off to atc_run (cmds.c).
 */
#include "atc.h"

#include "net/tcp.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <getopt.h>
#include <string.h>

#ifndef NP_VERSION
#define NP_VERSION "0"
#endif

const char atc_usage_text[] =
    "usage: atc -a ATSIGN [options] COMMAND [ARGS]\n"
    "\n"
    "A command-line atProtocol client: talks to the atServer of ATSIGN,\n"
    "authenticated with its .atKeys file (PKAM).\n"
    "\n"
    "Commands:\n"
    "  get KEY                     print the value of KEY (decrypted)\n"
    "  put KEY VALUE               store VALUE (self keys and shared keys encrypted)\n"
    "        [--ttl MS] [--ttr S] [--shared-with ATSIGN] [--public]\n"
    "  delete KEY                  delete KEY\n"
    "  scan [REGEX] [--show-hidden] list keys, one per line\n"
    "  notify ATSIGN KEY VALUE     send an encrypted notification, print its id\n"
    "        [--ttln MS] [--ttl MS]\n"
    "  monitor [REGEX]             print one JSON line per notification until\n"
    "        [--count N] [--since EPOCHMS] [--timeout MS]   SIGINT, N received or MS passed\n"
    "  lookup @OTHER:KEY | KEY@OTHER   read a key another atSign shared with us\n"
    "                              (or its public:KEY)\n"
    "  raw COMMAND                 send one protocol line, print the data: answer\n"
    "\n"
    "KEY forms: name.namespace (own self key), public:name, @bob:name (shared\n"
    "with @bob), name@other, cached:...; a key without @owner is our own.\n"
    "\n"
    "Options:\n"
    "  -a, --atsign ATSIGN         our atSign (required)\n"
    "  -k, --keys FILE             .atKeys file (default ~/.atsign/keys/<@atsign>_key.atKeys)\n"
    "      --root-domain H[:P]     atDirectory (default root.atsign.org:64)\n"
    "      --server H:P            use this atServer, skip the directory\n"
    "      --ca-file FILE          PEM CA bundle for TLS (default: system store)\n"
    "      --cram-secret-file FILE authenticate with cram (onboarding) instead of PKAM\n"
    "      --timeout MS            per operation (default 10000); monitor: total time\n"
    "      --raw                   get/lookup/monitor: do not decrypt\n"
    "  -v, --verbose               more logging (-vv: protocol trace)\n"
    "  -h, --help                  this text\n"
    "  -V, --version               print the version\n"
    "\n"
    "Exit status:\n"
    "  0 success\n"
    "  1 other failure\n"
    "  2 usage error\n"
    "  3 atSign not found (the directory does not know it)\n"
    "  4 authentication failed\n"
    "  5 key not found\n"
    "  6 timeout\n"
    "  7 cannot connect (network or TLS)\n"
    "  8 keys file missing, unreadable or invalid\n";

enum {
    OPT_ROOT = 256,
    OPT_SERVER,
    OPT_CA,
    OPT_CRAM,
    OPT_TIMEOUT,
    OPT_TTL,
    OPT_TTLN,
    OPT_TTR,
    OPT_SHARED,
    OPT_PUBLIC,
    OPT_HIDDEN,
    OPT_RAW,
    OPT_COUNT,
    OPT_SINCE
};

static const struct option long_opts[] = {
    {"atsign", required_argument, NULL, 'a'},
    {"keys", required_argument, NULL, 'k'},
    {"root-domain", required_argument, NULL, OPT_ROOT},
    {"server", required_argument, NULL, OPT_SERVER},
    {"ca-file", required_argument, NULL, OPT_CA},
    {"cram-secret-file", required_argument, NULL, OPT_CRAM},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"ttl", required_argument, NULL, OPT_TTL},
    {"ttln", required_argument, NULL, OPT_TTLN},
    {"ttr", required_argument, NULL, OPT_TTR},
    {"shared-with", required_argument, NULL, OPT_SHARED},
    {"public", no_argument, NULL, OPT_PUBLIC},
    {"show-hidden", no_argument, NULL, OPT_HIDDEN},
    {"raw", no_argument, NULL, OPT_RAW},
    {"count", required_argument, NULL, OPT_COUNT},
    {"since", required_argument, NULL, OPT_SINCE},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static int num(const char *name, const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (np_parse_i64(s, min, max, out) != 0) {
        fprintf(stderr, "atc: %s: not a number in %lld..%lld: %s\n", name, (long long)min,
                (long long)max, s);
        return -1;
    }
    return 0;
}

/* Arguments each command takes (min, max). */
static const struct {
    const char *name;
    int min, max;
} commands[] = {
    {"get", 1, 1},    {"put", 2, 2},     {"delete", 1, 1}, {"scan", 0, 1},
    {"notify", 3, 3}, {"monitor", 0, 1}, {"lookup", 1, 1}, {"raw", 1, 1},
};

int main(int argc, char **argv)
{
    struct atc_opts o;
    int64_t v;
    int c;

    memset(&o, 0, sizeof(o));
    o.ttl = o.ttln = o.ttr = -1;
    o.since = -1;
    o.timeout_ms = 10000;
    np_log_set_ident("atc");
    while ((c = getopt_long(argc, argv, "a:k:vhV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            o.atsign = optarg;
            break;
        case 'k':
            o.keys_path = optarg;
            break;
        case OPT_ROOT:
            o.root = optarg;
            break;
        case OPT_SERVER:
            o.server = optarg;
            break;
        case OPT_CA:
            o.ca_file = optarg;
            break;
        case OPT_CRAM:
            o.cram_file = optarg;
            break;
        case OPT_TIMEOUT:
            if (num("--timeout", optarg, 1, 86400000, &v) != 0)
                return ATC_USAGE;
            o.timeout_ms = (int)v;
            o.timeout_set = true;
            break;
        case OPT_TTL:
            if (num("--ttl", optarg, 0, 100000000000000LL, &o.ttl) != 0)
                return ATC_USAGE;
            break;
        case OPT_TTLN:
            if (num("--ttln", optarg, 1, 100000000000000LL, &o.ttln) != 0)
                return ATC_USAGE;
            break;
        case OPT_TTR:
            if (num("--ttr", optarg, -1, 100000000000LL, &o.ttr) != 0)
                return ATC_USAGE;
            break;
        case OPT_SHARED:
            o.shared_with = optarg;
            break;
        case OPT_PUBLIC:
            o.is_public = true;
            break;
        case OPT_HIDDEN:
            o.show_hidden = true;
            break;
        case OPT_RAW:
            o.raw = true;
            break;
        case OPT_COUNT:
            if (num("--count", optarg, 1, 1000000000, &v) != 0)
                return ATC_USAGE;
            o.count = (int)v;
            break;
        case OPT_SINCE:
            if (num("--since", optarg, 0, INT64_MAX, &o.since) != 0)
                return ATC_USAGE;
            break;
        case 'v':
            o.verbose++;
            break;
        case 'h':
            fputs(atc_usage_text, stdout);
            return ATC_OK;
        case 'V':
            printf("atc %s\n", NP_VERSION);
            return ATC_OK;
        default:
            fputs(atc_usage_text, stderr);
            return ATC_USAGE;
        }
    }
    if (!o.atsign) {
        fprintf(stderr, "atc: -a ATSIGN is required (see atc --help)\n");
        return ATC_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "atc: a COMMAND is required (see atc --help)\n");
        return ATC_USAGE;
    }
    o.cmd = argv[optind];
    o.args = argv + optind + 1;
    o.nargs = argc - optind - 1;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, o.cmd) != 0)
            continue;
        if (o.nargs < commands[i].min || o.nargs > commands[i].max) {
            fprintf(stderr, "atc: %s takes %d to %d arguments (see atc --help)\n", o.cmd,
                    commands[i].min, commands[i].max);
            return ATC_USAGE;
        }
        if (o.shared_with && o.is_public) {
            fprintf(stderr, "atc: --shared-with and --public exclude each other\n");
            return ATC_USAGE;
        }
        np_log_set_level(NP_LOG_WARN + o.verbose);
        net_ignore_sigpipe();
        return atc_run(&o);
    }
    fprintf(stderr, "atc: unknown command \"%s\" (see atc --help)\n", o.cmd);
    return ATC_USAGE;
}
