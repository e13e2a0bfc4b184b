/*
 * src/at_activate/main.c - at_activate: parse the command line, obtain the
 * cram secret (file, AT_CRAM_SECRET or -c) and hand off to aa_run
 * (activate.c).
 */
#include "at_activate.h"

#include "net/tcp.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NP_VERSION
#define NP_VERSION "0"
#endif

/* Longest cram secret we accept (official ones are 128 hex digits). */
#define CRAM_MAX 4096

static const char usage_text[] =
    "usage: at_activate -a ATSIGN [--cram-secret-file FILE | -c SECRET] [options]\n"
    "\n"
    "Activate (onboard) ATSIGN: authenticate with its one-time cram secret,\n"
    "enroll a new APKAM key pair (falling back to the legacy PKAM flow when\n"
    "the server does not support enroll:request), publish a new encryption\n"
    "public key, delete the cram secret on the server and write the .atKeys\n"
    "file. The cram secret is taken from, in this order: --cram-secret-file,\n"
    "-c, the environment variable AT_CRAM_SECRET.\n"
    "\n"
    "Options:\n"
    "  -a, --atsign ATSIGN         the atSign to activate (required)\n"
    "      --cram-secret-file FILE read the cram secret from FILE (\"-\": stdin)\n"
    "  -c, --cram-secret SECRET    the cram secret on the command line; WARNING:\n"
    "                              other users can see it in the process list,\n"
    "                              prefer --cram-secret-file or AT_CRAM_SECRET\n"
    "  -k, --keys FILE             where to write the .atKeys file\n"
    "                              (default ~/.atsign/keys/<@atsign>_key.atKeys)\n"
    "      --force                 overwrite an existing keys file\n"
    "      --root-domain H[:P]     atDirectory (default root.atsign.org:64)\n"
    "      --ca-file FILE          PEM CA bundle for TLS (default: system store)\n"
    "      --app-name NAME         enrollment app name (default at_activate)\n"
    "      --device-name NAME      enrollment device name (default: host name)\n"
    "      --timeout MS            per operation (default 10000)\n"
    "  -v, --verbose               more logging (-vv: protocol trace, secrets redacted)\n"
    "  -h, --help                  this text\n"
    "  -V, --version               print the version\n"
    "\n"
    "Exit status:\n"
    "  0 activated\n"
    "  1 other failure\n"
    "  2 usage error (also: no cram secret given)\n"
    "  3 atSign not found (the directory does not know it)\n"
    "  4 authentication failed (wrong cram secret)\n"
    "  6 timeout\n"
    "  7 cannot connect (network or TLS)\n"
    "  8 keys file exists (use --force) or cannot be written\n"
    "  9 the atSign is already activated (cram secret no longer accepted)\n";

enum { OPT_CRAM_FILE = 256, OPT_ROOT, OPT_CA, OPT_APP, OPT_DEVICE, OPT_TIMEOUT, OPT_FORCE };

static const struct option long_opts[] = {
    {"atsign", required_argument, NULL, 'a'},
    {"cram-secret", required_argument, NULL, 'c'},
    {"cram-secret-file", required_argument, NULL, OPT_CRAM_FILE},
    {"keys", required_argument, NULL, 'k'},
    {"force", no_argument, NULL, OPT_FORCE},
    {"root-domain", required_argument, NULL, OPT_ROOT},
    {"ca-file", required_argument, NULL, OPT_CA},
    {"app-name", required_argument, NULL, OPT_APP},
    {"device-name", required_argument, NULL, OPT_DEVICE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* A trimmed, non-empty copy of text (wiped input stays the caller's). */
static char *secret_dup(const char *what, char *text)
{
    np_str_trim(text);
    if (!text[0]) {
        fprintf(stderr, "at_activate: %s: the cram secret is empty\n", what);
        return NULL;
    }
    if (strchr(text, '\n') || strchr(text, '\r')) {
        fprintf(stderr, "at_activate: %s: the cram secret must be one line\n", what);
        return NULL;
    }
    return np_strdup(text);
}

/* Read the secret from path ("-": stdin), at most CRAM_MAX bytes. */
static char *read_secret_file(const char *path)
{
    char buf[CRAM_MAX + 2];
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    char *s = NULL;
    size_t n;

    if (!f) {
        fprintf(stderr, "at_activate: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    if (f != stdin)
        fclose(f);
    if (n > CRAM_MAX) {
        fprintf(stderr, "at_activate: %s: longer than %d bytes\n", path, CRAM_MAX);
        goto out;
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        fprintf(stderr, "at_activate: %s: holds a NUL byte\n", path);
        goto out;
    }
    s = secret_dup(path, buf);
out:
    np_memzero(buf, sizeof(buf));
    return s;
}

int main(int argc, char **argv)
{
    struct aa_opts o;
    const char *cram_file = NULL, *cram_arg = NULL, *env;
    int64_t v;
    int c, rc;

    memset(&o, 0, sizeof(o));
    o.timeout_ms = 10000;
    o.app_name = "at_activate";
    np_log_set_ident("at_activate");
    while ((c = getopt_long(argc, argv, "a:c:k:vhV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            o.atsign = optarg;
            break;
        case 'c':
            cram_arg = optarg;
            break;
        case OPT_CRAM_FILE:
            cram_file = optarg;
            break;
        case 'k':
            o.keys_path = optarg;
            break;
        case OPT_FORCE:
            o.force = true;
            break;
        case OPT_ROOT:
            o.root = optarg;
            break;
        case OPT_CA:
            o.ca_file = optarg;
            break;
        case OPT_APP:
            o.app_name = optarg;
            break;
        case OPT_DEVICE:
            o.device_name = optarg;
            break;
        case OPT_TIMEOUT:
            if (np_parse_i64(optarg, 1, 3600000, &v) != 0) {
                fprintf(stderr, "at_activate: --timeout: not a number in 1..3600000: %s\n", optarg);
                return AA_USAGE;
            }
            o.timeout_ms = (int)v;
            break;
        case 'v':
            o.verbose++;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return AA_OK;
        case 'V':
            printf("at_activate %s\n", NP_VERSION);
            return AA_OK;
        default:
            fputs(usage_text, stderr);
            return AA_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "at_activate: unexpected argument \"%s\" (see at_activate --help)\n",
                argv[optind]);
        return AA_USAGE;
    }
    if (!o.atsign) {
        fprintf(stderr, "at_activate: -a ATSIGN is required (see at_activate --help)\n");
        return AA_USAGE;
    }
    if (cram_file && cram_arg) {
        fprintf(stderr, "at_activate: give either --cram-secret-file or -c, not both\n");
        return AA_USAGE;
    }
    if (cram_file) {
        o.cram_secret = read_secret_file(cram_file);
    } else if (cram_arg) {
        char *tmp = np_strdup(cram_arg);

        /* hide it from the process list as far as we can */
        np_memzero((char *)cram_arg, strlen(cram_arg));
        o.cram_secret = tmp ? secret_dup("-c", tmp) : NULL;
        np_freezero_str(tmp);
    } else if ((env = getenv("AT_CRAM_SECRET")) != NULL) {
        char *tmp = np_strdup(env);

        o.cram_secret = tmp ? secret_dup("AT_CRAM_SECRET", tmp) : NULL;
        np_freezero_str(tmp);
    } else {
        fprintf(stderr, "at_activate: no cram secret: use --cram-secret-file FILE, the "
                        "environment variable AT_CRAM_SECRET or -c SECRET\n");
        return AA_USAGE;
    }
    if (!o.cram_secret)
        return AA_USAGE;
    np_log_set_level(NP_LOG_WARN + o.verbose);
    net_ignore_sigpipe();
    rc = aa_run(&o);
    np_freezero_str(o.cram_secret);
    return rc;
}
