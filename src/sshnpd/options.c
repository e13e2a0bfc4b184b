/* src/sshnpd/options.c - sshnpd command-line parsing (getopt_long). */
#include "options.h"
#include "np/authkeys.h"
#include "np/device.h"
#include "np/permit.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/str.h"

#include <getopt.h>
#include <string.h>

#ifndef NP_VERSION
#define NP_VERSION "0"
#endif

#define DEFAULT_ROOT      "root.atsign.org"
#define DEFAULT_ROOT_PORT 64

enum {
    OPT_SSH_ALGO = 256,
    OPT_EPH_PERM,
    OPT_SSH_CLIENT,
    OPT_SSHD_PORT,
    OPT_GROUP,
    OPT_PERMIT,
    OPT_STORAGE,
    OPT_ROOT,
    OPT_CA,
    OPT_SYSLOG,
    OPT_HELP,
    OPT_VERSION,
    OPT_NO_PUBKEY,
    OPT_RATE,
    OPT_MAX_SESSIONS
};

void sshnpd_usage(FILE *f)
{
    fprintf(f, "Usage: sshnpd -a @device (-m @manager[,...] | -p @policy) [options]\n"
               "The NoPorts device daemon.\n\n"
               "  -a, --atsign ATSIGN              the device's atSign (required)\n"
               "  -m, --managers, --manager LIST   atSigns that may use this device (comma list)\n"
               "  -p, --policy-manager ATSIGN      ask this policy service about other atSigns\n"
               "  -d, --device NAME                device name (default \"default\")\n"
               "  -k, --key-file PATH              .atKeys file (default "
               "~/.atsign/keys/<@atsign>_key.atKeys)\n"
               "  -s, --sshpublickey               accept ssh public keys sent by clients\n"
               "  -S, --sshpublickey-permissions P authorized_keys options for such keys\n"
               "  -h, --hide                       do not share username/device_info (deletes "
               "them)\n"
               "  -u, --un-hide                    accepted for compatibility (sharing is the "
               "default)\n"
               "      --local-sshd-port PORT       local sshd port (default 22)\n"
               "      --device-group, --dg NAME    device group sent to the policy (default "
               "__none__)\n"
               "      --permit-open, --po LIST     host:port list the daemon may connect to\n"
               "                                   (default localhost:22,localhost:3389; *:* with "
               "-p)\n"
               "      --root-domain HOST[:PORT]    atDirectory (default root.atsign.org:64)\n"
               "      --ca-file PATH               CA bundle for our TLS connections\n"
               "      --ssh-algorithm A, --ephemeral-permissions P, --storage-path PATH,\n"
               "      --ssh-client C               accepted for compatibility, not used\n"
               "      --rate-limit N               messages per sender per minute (default 60; 0 "
               "off)\n"
               "      --max-sessions N             live sessions at most (default 64)\n"
               "  -v, --verbose                    more logging (repeat for wire traces)\n"
               "      --syslog                     log to syslog instead of stderr\n"
               "      --help                       this text\n"
               "      --version                    print the version\n");
}

void sshnpd_options_free(struct sshnpd_options *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_managers; i++)
        np_free(o->managers[i]);
    np_free(o->key_file);
    np_free(o->pubkey_perm);
    np_free(o->ssh_algorithm);
    np_free(o->ephemeral_permissions);
    np_free(o->ssh_client);
    np_free(o->device_group);
    np_free(o->permit_open);
    np_free(o->storage_path);
    np_free(o->root_host);
    np_free(o->ca_file);
    memset(o, 0, sizeof(*o));
}

static int set_str(char **dst, const char *v)
{
    np_free(*dst);
    *dst = np_strdup(v);
    return *dst ? 0 : NP_ERR_NOMEM;
}

static int atsign(const char *v, char *out)
{
    char tmp[AT_ATSIGN_BUF];
    size_t n = strlen(v);

    /* trim spaces */
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    if (at_atsign_normalise(v, n, tmp, sizeof(tmp)) != 0)
        return NP_ERR_INVAL;
    memcpy(out, tmp, strlen(tmp) + 1);
    return 0;
}

static int add_managers(struct sshnpd_options *o, const char *v, char *err, size_t errlen)
{
    const char *p = v;

    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char item[AT_ATSIGN_BUF * 2], norm[AT_ATSIGN_BUF];
        int dup = 0;

        if (n >= sizeof(item) || (memcpy(item, p, n), item[n] = '\0', atsign(item, norm) != 0)) {
            snprintf(err, errlen, "bad atSign in --managers: \"%.*s\"", (int)(n > 60 ? 60 : n), p);
            return NP_ERR_INVAL;
        }
        for (size_t i = 0; i < o->n_managers; i++)
            dup |= strcmp(o->managers[i], norm) == 0;
        if (!dup) {
            if (o->n_managers >= SSHNPD_MAX_MANAGERS) {
                snprintf(err, errlen, "too many --managers (at most %d)", SSHNPD_MAX_MANAGERS);
                return NP_ERR_INVAL;
            }
            if ((o->managers[o->n_managers] = np_strdup(norm)) == NULL)
                return NP_ERR_NOMEM;
            o->n_managers++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int get_int(const char *v, int lo, int hi, int *out)
{
    int64_t x;

    if (np_parse_i64(v, lo, hi, &x) != 0)
        return NP_ERR_INVAL;
    *out = (int)x;
    return 0;
}

static int printable(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return 0;
    return 1;
}

int sshnpd_options_parse(int argc, char **argv, struct sshnpd_options *o, FILE *out, char *err,
                         size_t errlen)
{
    static const struct option longopts[] = {
        {"atsign", required_argument, NULL, 'a'},
        {"managers", required_argument, NULL, 'm'},
        {"manager", required_argument, NULL, 'm'},
        {"policy-manager", required_argument, NULL, 'p'},
        {"device", required_argument, NULL, 'd'},
        {"key-file", required_argument, NULL, 'k'},
        {"keyFile", required_argument, NULL, 'k'},
        {"sshpublickey", no_argument, NULL, 's'},
        {"no-sshpublickey", no_argument, NULL, OPT_NO_PUBKEY},
        {"sshpublickey-permissions", required_argument, NULL, 'S'},
        {"hide", no_argument, NULL, 'h'},
        {"un-hide", no_argument, NULL, 'u'},
        {"username", no_argument, NULL, 'u'},
        {"ssh-algorithm", required_argument, NULL, OPT_SSH_ALGO},
        {"ephemeral-permissions", required_argument, NULL, OPT_EPH_PERM},
        {"ephemeral-permission", required_argument, NULL, OPT_EPH_PERM},
        {"ssh-client", required_argument, NULL, OPT_SSH_CLIENT},
        {"local-sshd-port", required_argument, NULL, OPT_SSHD_PORT},
        {"device-group", required_argument, NULL, OPT_GROUP},
        {"dg", required_argument, NULL, OPT_GROUP},
        {"permit-open", required_argument, NULL, OPT_PERMIT},
        {"po", required_argument, NULL, OPT_PERMIT},
        {"storage-path", required_argument, NULL, OPT_STORAGE},
        {"root-domain", required_argument, NULL, OPT_ROOT},
        {"root-server", required_argument, NULL, OPT_ROOT},
        {"ca-file", required_argument, NULL, OPT_CA},
        {"verbose", no_argument, NULL, 'v'},
        {"syslog", no_argument, NULL, OPT_SYSLOG},
        {"rate-limit", required_argument, NULL, OPT_RATE},
        {"max-sessions", required_argument, NULL, OPT_MAX_SESSIONS},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    char host[NP_HOST_MAX + 1], perr[128];
    const char *device = "default";
    struct np_permit *permit = NULL;
    int c, rc = 0, have_atsign = 0;

    memset(o, 0, sizeof(*o));
    err[0] = '\0';
    o->local_sshd_port = 22;
    o->root_port = DEFAULT_ROOT_PORT;
    o->rate_per_min = 60;
    o->max_sessions = 64;
    if (set_str(&o->root_host, DEFAULT_ROOT) != 0 || set_str(&o->device_group, "__none__") != 0)
        goto nomem;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":a:m:p:d:k:sS:huv", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (atsign(optarg, o->atsign) != 0) {
                snprintf(err, errlen, "bad atSign for --atsign");
                return NP_ERR_INVAL;
            }
            have_atsign = 1;
            break;
        case 'm':
            if ((rc = add_managers(o, optarg, err, errlen)) != 0)
                return rc == NP_ERR_NOMEM ? NP_ERR_INVAL : rc;
            break;
        case 'p':
            if (atsign(optarg, o->policy) != 0) {
                snprintf(err, errlen, "bad atSign for --policy-manager");
                return NP_ERR_INVAL;
            }
            break;
        case 'd':
            device = optarg;
            break;
        case 'k':
            rc = set_str(&o->key_file, optarg);
            break;
        case 's':
            o->sshpublickey = 1;
            break;
        case OPT_NO_PUBKEY:
            o->sshpublickey = 0;
            break;
        case 'S':
            if (np_authkeys_perm_check(optarg) != 0) {
                snprintf(err, errlen,
                         "--sshpublickey-permissions must be one line without control "
                         "characters");
                return NP_ERR_INVAL;
            }
            rc = set_str(&o->pubkey_perm, optarg);
            break;
        case 'h':
            o->hide = 1;
            break;
        case 'u':
            o->un_hide = 1;
            break;
        case OPT_SSH_ALGO:
            rc = set_str(&o->ssh_algorithm, optarg);
            break;
        case OPT_EPH_PERM:
            rc = set_str(&o->ephemeral_permissions, optarg);
            break;
        case OPT_SSH_CLIENT:
            rc = set_str(&o->ssh_client, optarg);
            break;
        case OPT_SSHD_PORT:
            if (get_int(optarg, 1, 65535, &o->local_sshd_port) != 0) {
                snprintf(err, errlen, "--local-sshd-port must be 1..65535");
                return NP_ERR_INVAL;
            }
            break;
        case OPT_GROUP:
            if (!printable(optarg, 64)) {
                snprintf(err, errlen, "--device-group must be 1..64 printable characters");
                return NP_ERR_INVAL;
            }
            rc = set_str(&o->device_group, optarg);
            break;
        case OPT_PERMIT:
            np_permit_free(permit);
            permit = NULL;
            if (np_permit_parse(optarg, &permit, perr, sizeof(perr)) != 0) {
                snprintf(err, errlen, "bad --permit-open: %s", perr);
                return NP_ERR_INVAL;
            }
            np_permit_free(permit);
            permit = NULL;
            rc = set_str(&o->permit_open, optarg);
            break;
        case OPT_STORAGE:
            rc = set_str(&o->storage_path, optarg);
            break;
        case OPT_ROOT:
            if (np_hostport_parse(optarg, DEFAULT_ROOT_PORT, host, &o->root_port) != 0) {
                snprintf(err, errlen, "bad --root-domain (want host[:port])");
                return NP_ERR_INVAL;
            }
            rc = set_str(&o->root_host, host);
            break;
        case OPT_CA:
            rc = set_str(&o->ca_file, optarg);
            break;
        case 'v':
            o->verbose++;
            break;
        case OPT_SYSLOG:
            o->syslog = 1;
            break;
        case OPT_RATE:
            if (get_int(optarg, 0, 1000000, &o->rate_per_min) != 0) {
                snprintf(err, errlen, "--rate-limit must be 0..1000000");
                return NP_ERR_INVAL;
            }
            break;
        case OPT_MAX_SESSIONS:
            if (get_int(optarg, 1, 100000, &o->max_sessions) != 0) {
                snprintf(err, errlen, "--max-sessions must be 1..100000");
                return NP_ERR_INVAL;
            }
            break;
        case OPT_HELP:
            sshnpd_usage(out);
            return 1;
        case OPT_VERSION:
            fprintf(out, "sshnpd %s\n", NP_VERSION);
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
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument \"%s\"", argv[optind]);
        return NP_ERR_INVAL;
    }
    if (!have_atsign) {
        snprintf(err, errlen, "--atsign is required");
        return NP_ERR_INVAL;
    }
    if (o->n_managers == 0 && !o->policy[0]) {
        snprintf(err, errlen, "at least one of --managers and --policy-manager is required");
        return NP_ERR_INVAL;
    }
    if (np_device_name_normalize(device, o->device, sizeof(o->device)) != 0) {
        snprintf(err, errlen, "%s", NP_DEVICE_NAME_ERROR);
        return NP_ERR_INVAL;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return NP_ERR_INVAL;
}
