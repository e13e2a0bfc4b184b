/*
 * src/atdirectory/main.c - atdirectory, the atProtocol root directory:
 * parse the command line into struct dir_opts and hand off to the server
 * (server.c) or an admin subcommand (admin.c).
 */
#include "atdirectory.h"

#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef NP_VERSION
#define NP_VERSION "0"
#endif

static const char usage_text[] =
    "usage: atdirectory [serve] --cert FILE --key FILE [options]\n"
    "       atdirectory set ATSIGN HOST:PORT [--db FILE]\n"
    "       atdirectory remove ATSIGN [--db FILE]\n"
    "       atdirectory list [--db FILE]\n"
    "\n"
    "The atProtocol root directory: answers an atSign (\"alice\" or \"@alice\",\n"
    "any case) with the host:port of its atServer, over TLS.\n"
    "\n"
    "Server options:\n"
    "  -c, --cert FILE          certificate chain (PEM)\n"
    "  -k, --key FILE           private key (PEM)\n"
    "  -b, --bind ADDR          address to listen on (default: all interfaces)\n"
    "  -p, --port N             TCP port (default 64; 0 = any free port)\n"
    "      --idle-timeout S     close connections idle for S seconds (default 60, 0 = never)\n"
    "      --max-conns N        concurrent connections (default 1000)\n"
    "      --notfound-delay MS  delay of the 2nd and later not-found answers on one\n"
    "                           connection (default 3000, 0 = none)\n"
    "      --notfound-limit N   close a connection at its Nth not-found (default 3, 0 = never)\n"
    "Common options:\n"
    "  -d, --db FILE            SQLite database (default " DIR_DEFAULT_DB ")\n"
    "  -v, --verbose            more logging (-v debug, -vv trace)\n"
    "      --log-level LEVEL    error|warn|info|debug|trace\n"
    "      --syslog             log to syslog instead of stderr\n"
    "  -h, --help               this text\n"
    "  -V, --version            print the version\n"
    "\n"
    "ATSIGN: 1-55 characters: letters, digits, _ - and emoji; stored lower-case.\n"
    "Exit status: 0 ok, 1 failure, 2 invalid arguments.\n";

enum {
    OPT_IDLE = 1000,
    OPT_MAX_CONNS,
    OPT_NF_DELAY,
    OPT_NF_LIMIT,
    OPT_LOG_LEVEL,
    OPT_SYSLOG,
};

static const struct option long_opts[] = {
    {"cert", required_argument, NULL, 'c'},
    {"key", required_argument, NULL, 'k'},
    {"bind", required_argument, NULL, 'b'},
    {"port", required_argument, NULL, 'p'},
    {"db", required_argument, NULL, 'd'},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"notfound-delay", required_argument, NULL, OPT_NF_DELAY},
    {"notfound-limit", required_argument, NULL, OPT_NF_LIMIT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"syslog", no_argument, NULL, OPT_SYSLOG},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

enum cmd { CMD_SERVE, CMD_SET, CMD_REMOVE, CMD_LIST };

/* One integer option in [min, max]; prints the problem. */
static int int_opt(const char *name, const char *s, int64_t min, int64_t max, int *out)
{
    int64_t v;

    if (np_parse_i64(s, min, max, &v) != 0) {
        fprintf(stderr, "atdirectory: --%s: expected a number from %lld to %lld\n", name,
                (long long)min, (long long)max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Fill o and *cmd from argv; returns -1 with a message on bad usage, 1 when
 * the program should exit 0 (help, version). */
static int parse(int argc, char **argv, struct dir_opts *o, enum cmd *cmd)
{
    int c, verbose = 0, level = -1, nargs;
    char **args;

    memset(o, 0, sizeof(*o));
    o->port = DIR_DEFAULT_PORT;
    o->db_path = DIR_DEFAULT_DB;
    o->idle_timeout_s = DIR_DEFAULT_IDLE_S;
    o->max_conns = DIR_DEFAULT_MAX_CONNS;
    o->notfound_delay_ms = DIR_DEFAULT_NF_DELAY_MS;
    o->notfound_limit = DIR_DEFAULT_NF_LIMIT;
    *cmd = CMD_SERVE;
    while ((c = getopt_long(argc, argv, "c:k:b:p:d:vhV", long_opts, NULL)) != -1) {
        switch (c) {
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
            if (int_opt("port", optarg, 0, 65535, &o->port) != 0)
                return -1;
            break;
        case 'd':
            o->db_path = optarg;
            break;
        case OPT_IDLE:
            if (int_opt("idle-timeout", optarg, 0, 86400 * 30, &o->idle_timeout_s) != 0)
                return -1;
            break;
        case OPT_MAX_CONNS:
            if (int_opt("max-conns", optarg, 1, 1000000, &o->max_conns) != 0)
                return -1;
            break;
        case OPT_NF_DELAY:
            if (int_opt("notfound-delay", optarg, 0, 60000, &o->notfound_delay_ms) != 0)
                return -1;
            break;
        case OPT_NF_LIMIT:
            if (int_opt("notfound-limit", optarg, 0, 1000000, &o->notfound_limit) != 0)
                return -1;
            break;
        case OPT_LOG_LEVEL:
            if ((level = np_log_level_parse(optarg)) < 0) {
                fprintf(stderr, "atdirectory: --log-level: unknown level %s\n", optarg);
                return -1;
            }
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
            printf("atdirectory %s\n", NP_VERSION);
            return 1;
        default:
            return -1;
        }
    }
    np_log_set_level(level >= 0 ? level : NP_LOG_INFO + verbose);
    args = argv + optind;
    nargs = argc - optind;
    if (nargs > 0) {
        if (strcmp(args[0], "serve") == 0)
            *cmd = CMD_SERVE;
        else if (strcmp(args[0], "set") == 0)
            *cmd = CMD_SET;
        else if (strcmp(args[0], "remove") == 0)
            *cmd = CMD_REMOVE;
        else if (strcmp(args[0], "list") == 0)
            *cmd = CMD_LIST;
        else {
            fprintf(stderr, "atdirectory: unknown command \"%s\"\n", args[0]);
            return -1;
        }
        args++;
        nargs--;
    }
    switch (*cmd) {
    case CMD_SET:
        if (nargs != 2) {
            fprintf(stderr, "atdirectory: set needs ATSIGN HOST:PORT\n");
            return -1;
        }
        o->atsign = args[0];
        o->address = args[1];
        return 0;
    case CMD_REMOVE:
        if (nargs != 1) {
            fprintf(stderr, "atdirectory: remove needs ATSIGN\n");
            return -1;
        }
        o->atsign = args[0];
        return 0;
    case CMD_LIST:
    case CMD_SERVE:
        if (nargs != 0) {
            fprintf(stderr, "atdirectory: unexpected argument \"%s\"\n", args[0]);
            return -1;
        }
        break;
    }
    if (*cmd == CMD_SERVE && (!o->cert_file || !o->key_file)) {
        fprintf(stderr, "atdirectory: the server needs --cert and --key\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct dir_opts o;
    enum cmd cmd;
    int r;

    np_log_set_ident("atdirectory");
    if ((r = parse(argc, argv, &o, &cmd)) != 0) {
        if (r < 0)
            fprintf(stderr, "Try 'atdirectory --help'.\n");
        return r < 0 ? 2 : 0;
    }
    switch (cmd) {
    case CMD_SET:
        return dir_admin_set(&o);
    case CMD_REMOVE:
        return dir_admin_remove(&o);
    case CMD_LIST:
        return dir_admin_list(&o);
    case CMD_SERVE:
    default:
        return dir_server_run(&o) == 0 ? 0 : 1;
    }
}
