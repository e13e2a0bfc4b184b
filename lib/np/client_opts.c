/*
 * lib/np/client_opts.c - sshnp / npt options: one table drives the argv
 * parser, the config-profile loader and --help (see client_opts.h).
 */
#include "np/client_opts.h"
#include "np/client_opts_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "at/atsign.h"
#include "crypto/atkeys.h"
#include "np/device.h"
#include "np/profile.h"
#include "np/relay_msg.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#define SSHNP NP_PROG_SSHNP
#define NPT   NP_PROG_NPT
#define BOTH  (NP_PROG_SSHNP | NP_PROG_NPT)

enum opt_type {
    T_FLAG = 1, /* no argument; sets 1 (profile/--x=: true|false) */
    T_NEG,      /* negatable flag: --x / --no-x */
    T_STR,      /* one value */
    T_LIST      /* repeatable value */
};

struct optdef {
    int id;
    unsigned progs;
    const char *name; /* long name (also the profile KEY, upper-cased) */
    char shortc;      /* 0: none */
    const char *alias, *alias2;
    int type;
    const char *arg;   /* argument name in --help */
    const char *help;  /* one line */
    const char *deflt; /* default shown in --help, or NULL */
    int hidden;        /* not in --help */
};

/* clang-format off */
static const struct optdef opts[] = {
    {O_FROM, BOTH, "from", 'f', NULL, NULL, T_STR, "atSign", "client atSign (required)", NULL, 0},
    {O_TO, BOTH, "to", 't', NULL, NULL, T_STR, "atSign", "device (daemon) atSign (required unless --list-devices)", NULL, 0},
    {O_DEVICE, SSHNP, "device", 'd', NULL, NULL, T_STR, "name", "device name", "\"default\"", 0},
    {O_DEVICE, NPT, "device", 'd', NULL, NULL, T_STR, "name", "device name (required)", NULL, 0},
    {O_SRVD, SSHNP, "srvd", 'r', NULL, NULL, T_STR, "atSign", "relay (srvd) atSign (required unless --list-devices)", NULL, 0},
    {O_SRVD, SSHNP, "host", 'h', NULL, NULL, T_STR, "atSign", "legacy name of --srvd", NULL, 1},
    {O_SRVD, NPT, "srvd", 'r', NULL, NULL, T_STR, "atSign", "relay (srvd) atSign (required)", NULL, 0},
    {O_LOCAL_PORT, SSHNP, "local-port", 'l', NULL, NULL, T_STR, "port", "local port to listen on (0 = the OS chooses)", "0", 0},
    {O_LOCAL_PORT, NPT, "local-port", 'l', "lp", NULL, T_STR, "port", "local port to listen on (0 = the OS chooses)", "0", 0},
    {O_LOCAL_HOST, NPT, "local-host", 0, NULL, NULL, T_STR, "address", "local address to listen on", "127.0.0.1", 0},
    {O_REMOTE_PORT, NPT, "remote-port", 'p', "rp", NULL, T_STR, "port", "port to reach on the device's network (required)", NULL, 0},
    {O_REMOTE_HOST, NPT, "remote-host", 'h', "rh", NULL, T_STR, "host", "host to reach, as seen from the device", "localhost", 0},
    {O_KEY_FILE, BOTH, "key-file", 'k', NULL, NULL, T_STR, "path", "atKeys file of the client atSign", "~/.atsign/keys/<@from>_key.atKeys", 0},
    {O_ROOT_DOMAIN, BOTH, "root-domain", 0, "root-server", NULL, T_STR, "host[:port]", "atDirectory (root) server", "root.atsign.org:64", 0},
    {O_CA_FILE, BOTH, "ca-file", 0, NULL, NULL, T_STR, "path", "PEM CA bundle to verify the directory and atServer (default: system CAs)", NULL, 0},
    {O_DPT, BOTH, "daemon-ping-timeout", 0, "dpt", NULL, T_STR, "seconds", "how long to wait for the daemon's feature answer", "20", 0},
    {O_AC, BOTH, "authenticate-client-to-rvd", 0, "ac", NULL, T_NEG, NULL, "the relay authenticates our socket", "on", 0},
    {O_AD, BOTH, "authenticate-device-to-rvd", 0, "ad", NULL, T_NEG, NULL, "the relay authenticates the device's socket", "on", 0},
    {O_ET, BOTH, "encrypt-rvd-traffic", 0, "et", NULL, T_NEG, NULL, "encrypt traffic through the relay (--no-et is not supported)", "on", 0},
    {O_RELAY_AUTH_MODE, BOTH, "relay-auth-mode", 0, NULL, NULL, T_STR, "payload|escr", "how our socket authenticates to the relay (escr needs a NEWER relay and an _apsk key record)", "payload", 0},
    {O_IDENTITY, SSHNP, "identity-file", 'i', NULL, NULL, T_STR, "path", "ssh private key for the session (passed to ssh -i)", NULL, 0},
    {O_PASSPHRASE, SSHNP, "identity-passphrase", 0, NULL, NULL, T_STR, "text", "ignored: OpenSSH asks for the passphrase itself", NULL, 0},
    {O_SEND_KEY, SSHNP, "send-ssh-public-key", 's', NULL, NULL, T_FLAG, NULL, "send <identity-file>.pub to the daemon (daemon started with -s)", NULL, 0},
    {O_SSH_OPTION, SSHNP, "local-ssh-options", 'o', NULL, NULL, T_LIST, "option", "extra ssh option, repeatable (ssh -o <option>)", NULL, 0},
    {O_REMOTE_USER, SSHNP, "remote-user-name", 'u', NULL, NULL, T_STR, "user", "user on the device", "the daemon's username record", 0},
    {O_TUNNEL_USER, SSHNP, "tunnel-user-name", 'U', NULL, NULL, T_STR, "user", "ignored (only used by --no-et tunnels)", NULL, 0},
    {O_REMOTE_SSHD_PORT, SSHNP, "remote-sshd-port", 0, NULL, NULL, T_STR, "port", "ignored (only used by --no-et tunnels)", "22", 0},
    {O_IDLE_TIMEOUT, SSHNP, "idle-timeout", 0, NULL, NULL, T_STR, "seconds", "ignored (dart ssh client only)", "15", 0},
    {O_SSH_ALGORITHM, SSHNP, "ssh-algorithm", 0, NULL, NULL, T_STR, "alg", "ignored (--no-et tunnels only)", "ssh-ed25519", 0},
    {O_ADD_FORWARDS, SSHNP, "add-forwards-to-tunnel", 0, NULL, NULL, T_FLAG, NULL, "ignored (--no-et tunnels only)", NULL, 0},
    {O_SSH_CLIENT, SSHNP, "ssh-client", 0, NULL, NULL, T_STR, "openssh", "ssh client to run (only openssh)", "openssh", 0},
    {O_CONFIG_FILE, SSHNP, "config-file", 0, NULL, NULL, T_STR, "path|name", "load options from a profile (KEY=value lines; name = ~/.sshnp/config/<name>.env)", NULL, 0},
    {O_LIST_DEVICES, SSHNP, "list-devices", 0, "ls", NULL, T_FLAG, NULL, "list the devices that share their info with us, then exit", NULL, 0},
    {O_EXEC_X, SSHNP, "output-execution-command", 'x', NULL, NULL, T_FLAG, NULL, "print the ssh command instead of running it (the tunnel waits in the background)", NULL, 0},
    {O_EXEC_X, NPT, "exit-when-connected", 'x', NULL, NULL, T_FLAG, NULL, "print the local port and exit (the tunnel stays in the background)", NULL, 0},
    {O_PSS, NPT, "per-session-storage", 0, "pss", NULL, T_NEG, NULL, "ignored (no local at-client storage is kept)", "on", 0},
    {O_KEEP_ALIVE, NPT, "keep-alive", 'K', NULL, NULL, T_FLAG, NULL, "start a new session 5 s after one ends (not with -x)", NULL, 0},
    {O_TIMEOUT, NPT, "timeout", 'T', NULL, NULL, T_STR, "duration", "session idle timeout, e.g. 90s, 1h,14m,30s, 7d; 0 = 365 days", "30s (24h with -K)", 0},
    {O_HEARTBEAT, NPT, "heartbeat", 0, NULL, NULL, T_STR, "seconds", "control-channel heartbeat period (only to daemons that accept them)", "1800", 0},
    {O_STDIO, BOTH, "stdio", 0, NULL, NULL, T_FLAG, NULL, "bridge stdin/stdout instead of a local port (for ssh ProxyCommand)", NULL, 0},
    {O_VERBOSE, BOTH, "verbose", 'v', NULL, NULL, T_FLAG, NULL, "more output (-vv debug, -vvv protocol trace)", NULL, 0},
    {O_QUIET, BOTH, "quiet", 'q', NULL, NULL, T_FLAG, NULL, "no progress output", NULL, 0},
    {O_HELP, BOTH, "help", 0, NULL, NULL, T_FLAG, NULL, "show this help", NULL, 0},
    {O_VERSION, BOTH, "version", 0, NULL, NULL, T_FLAG, NULL, "show the version", NULL, 0},
};
/* clang-format on */

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

_Static_assert(O__COUNT <= (int)sizeof(((struct np_client_opts *)0)->set), "option ids");

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const struct optdef *find_long(int prog, const char *name, size_t n)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const struct optdef *d = &opts[i];

        if (!(d->progs & (unsigned)prog))
            continue;
        if ((strlen(d->name) == n && strncmp(d->name, name, n) == 0) ||
            (d->alias && strlen(d->alias) == n && strncmp(d->alias, name, n) == 0) ||
            (d->alias2 && strlen(d->alias2) == n && strncmp(d->alias2, name, n) == 0))
            return d;
    }
    return NULL;
}

static const struct optdef *find_short(int prog, char c)
{
    for (size_t i = 0; i < NOPTS; i++)
        if ((opts[i].progs & (unsigned)prog) && opts[i].shortc == c)
            return &opts[i];
    return NULL;
}

static int parse_bool(const char *v, int *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 ||
        strcmp(v, "on") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0 ||
        strcmp(v, "off") == 0) {
        *out = 0;
        return 0;
    }
    return NP_ERR_FORMAT;
}

static int set_str(char **slot, const char *v)
{
    char *s = np_strdup(v);

    if (!s)
        return NP_ERR_NOMEM;
    np_free(*slot);
    *slot = s;
    return 0;
}

static int parse_int(const char *v, int64_t lo, int64_t hi, int *out)
{
    int64_t x;
    int r = np_parse_i64(v, lo, hi, &x);

    if (r == 0)
        *out = (int)x;
    return r;
}

/* Apply one option value (NULL for a flag given without value; neg = --no-x). */
static int apply(struct np_client_opts *o, const struct optdef *d, const char *v, int neg,
                 char *err, size_t errlen)
{
    int b = 1, r = 0;

    if (v && strlen(v) > NP_OPTS_VALUE_MAX) {
        set_err(err, errlen, "--%s: value longer than %d bytes", d->name, NP_OPTS_VALUE_MAX);
        return NP_ERR_INVAL;
    }
    if (d->type == T_FLAG || d->type == T_NEG) {
        if (v && parse_bool(v, &b) != 0) {
            set_err(err, errlen, "--%s: expected true or false, got \"%s\"", d->name, v);
            return NP_ERR_INVAL;
        }
        if (neg)
            b = !b;
    }
    switch (d->id) {
    case O_FROM:
        r = set_str(&o->from, v);
        break;
    case O_TO:
        r = set_str(&o->to, v);
        break;
    case O_DEVICE:
        r = set_str(&o->device, v);
        break;
    case O_SRVD:
        r = set_str(&o->srvd, v);
        break;
    case O_LOCAL_PORT:
    case O_REMOTE_PORT:
    case O_REMOTE_SSHD_PORT:
        if (parse_int(v, d->id == O_LOCAL_PORT ? 0 : 1, 65535,
                      d->id == O_LOCAL_PORT    ? &o->local_port
                      : d->id == O_REMOTE_PORT ? &o->remote_port
                                               : &o->remote_sshd_port) != 0) {
            set_err(err, errlen, "--%s: not a port number: \"%s\"", d->name, v);
            return NP_ERR_INVAL;
        }
        break;
    case O_LOCAL_HOST:
        r = set_str(&o->local_host, v);
        break;
    case O_REMOTE_HOST:
        r = set_str(&o->remote_host, v);
        break;
    case O_KEY_FILE:
        r = set_str(&o->key_file, v);
        break;
    case O_ROOT_DOMAIN: {
        char host[NP_HOST_MAX + 1];
        int port;

        if (np_hostport_parse(v, 64, host, &port) != 0) {
            set_err(err, errlen, "--%s: expected host or host:port, got \"%s\"", d->name, v);
            return NP_ERR_INVAL;
        }
        if ((r = set_str(&o->root_host, host)) == 0)
            o->root_port = port;
        break;
    }
    case O_CA_FILE:
        r = set_str(&o->ca_file, v);
        break;
    case O_DPT:
    case O_IDLE_TIMEOUT:
    case O_HEARTBEAT:
        if (parse_int(v, 1, 86400,
                      d->id == O_DPT            ? &o->daemon_ping_timeout_s
                      : d->id == O_IDLE_TIMEOUT ? &o->idle_timeout_s
                                                : &o->heartbeat_s) != 0) {
            set_err(err, errlen, "--%s: expected whole seconds 1..86400, got \"%s\"", d->name, v);
            return NP_ERR_INVAL;
        }
        break;
    case O_AC:
        o->authenticate_client = b;
        break;
    case O_AD:
        o->authenticate_device = b;
        break;
    case O_ET:
        o->encrypt = b;
        break;
    case O_PSS:
        o->per_session_storage = b;
        break;
    case O_RELAY_AUTH_MODE: {
        enum np_relay_auth_mode m;

        if (np_relay_auth_mode_parse(v, &m) != 0) {
            set_err(err, errlen, "--%s: expected payload or escr, got \"%s\"", d->name, v);
            return NP_ERR_INVAL;
        }
        o->relay_auth_mode = (int)m;
        break;
    }
    case O_VERBOSE:
        if (!v) /* -v -v on the command line counts; VERBOSE=true in a profile is one */
            o->verbose++;
        else
            o->verbose = b;
        break;
    case O_QUIET:
        o->quiet = b;
        break;
    case O_HELP:
        o->help = b;
        break;
    case O_VERSION:
        o->version = b;
        break;
    case O_STDIO:
        o->stdio = b;
        break;
    case O_EXEC_X:
        o->exec_x = b;
        break;
    case O_IDENTITY:
        r = set_str(&o->identity_file, v);
        break;
    case O_PASSPHRASE:
        np_freezero_str(o->identity_passphrase);
        o->identity_passphrase = NULL;
        r = set_str(&o->identity_passphrase, v);
        break;
    case O_SEND_KEY:
        o->send_ssh_public_key = b;
        break;
    case O_SSH_OPTION: {
        char **nl;

        if (o->n_ssh_options >= NP_OPTS_LIST_MAX) {
            set_err(err, errlen, "--%s: more than %d values", d->name, NP_OPTS_LIST_MAX);
            return NP_ERR_INVAL;
        }
        if ((nl = np_realloc(o->ssh_options, (o->n_ssh_options + 1) * sizeof(*nl))) == NULL)
            return NP_ERR_NOMEM;
        o->ssh_options = nl;
        if ((nl[o->n_ssh_options] = np_strdup(v)) == NULL)
            return NP_ERR_NOMEM;
        o->n_ssh_options++;
        break;
    }
    case O_REMOTE_USER:
        r = set_str(&o->remote_user, v);
        break;
    case O_TUNNEL_USER:
        r = set_str(&o->tunnel_user, v);
        break;
    case O_SSH_ALGORITHM:
        r = set_str(&o->ssh_algorithm, v);
        break;
    case O_ADD_FORWARDS:
        o->add_forwards = b;
        break;
    case O_SSH_CLIENT:
        if (strcmp(v, "openssh") != 0) {
            set_err(err, errlen,
                    "--%s %s is not supported: only the OpenSSH client (openssh) can be used",
                    d->name, v);
            return NP_ERR_INVAL;
        }
        break;
    case O_CONFIG_FILE:
        r = set_str(&o->config_file, v);
        break;
    case O_LIST_DEVICES:
        o->list_devices = b;
        break;
    case O_KEEP_ALIVE:
        o->keep_alive = b;
        break;
    case O_TIMEOUT:
        if (np_duration_parse(v, &o->timeout_ms) != 0) {
            set_err(err, errlen,
                    "--%s: not a duration: \"%s\" (examples: 90, 30s, 14m, 1h,14m,30s, 7d; 0 = "
                    "365 days)",
                    d->name, v);
            return NP_ERR_INVAL;
        }
        o->timeout_given = 1;
        break;
    default:
        return NP_ERR_INTERNAL;
    }
    if (r == NP_ERR_NOMEM)
        set_err(err, errlen, "out of memory");
    return r;
}

void np_client_opts_init(struct np_client_opts *o, int prog)
{
    memset(o, 0, sizeof(*o));
    o->prog = prog;
    o->root_port = 64;
    o->daemon_ping_timeout_s = 20;
    o->authenticate_client = 1;
    o->authenticate_device = 1;
    o->encrypt = 1;
    o->relay_auth_mode = NP_RELAY_AUTH_PAYLOAD;
    o->remote_sshd_port = 22;
    o->idle_timeout_s = 15;
    o->per_session_storage = 1;
    o->timeout_ms = NP_NPT_DEFAULT_TIMEOUT_MS;
    o->heartbeat_s = 1800;
}

void np_client_opts_clear(struct np_client_opts *o)
{
    if (!o)
        return;
    np_free(o->from);
    np_free(o->to);
    np_free(o->device);
    np_free(o->srvd);
    np_free(o->key_file);
    np_free(o->root_host);
    np_free(o->ca_file);
    np_free(o->local_host);
    np_free(o->identity_file);
    np_freezero_str(o->identity_passphrase);
    for (size_t i = 0; i < o->n_ssh_options; i++)
        np_free(o->ssh_options[i]);
    np_free(o->ssh_options);
    np_free(o->remote_user);
    np_free(o->tunnel_user);
    np_free(o->ssh_algorithm);
    np_free(o->config_file);
    np_free(o->remote_host);
    memset(o, 0, sizeof(*o));
}

/* Parse argv; marks o->set for every option seen. */
static int parse_argv(struct np_client_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct optdef *d;
        const char *v = NULL;
        int r, neg = 0;

        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc) {
                set_err(err, errlen, "unexpected argument \"%s\" (see --help)", argv[i + 1]);
                return NP_ERR_INVAL;
            }
            return 0;
        }
        if (a[0] == '-' && a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);

            d = find_long(o->prog, name, n);
            if (!d && n > 3 && strncmp(name, "no-", 3) == 0) {
                d = find_long(o->prog, name + 3, n - 3);
                if (d && d->type != T_NEG)
                    d = NULL;
                neg = 1;
            }
            if (!d) {
                set_err(err, errlen, "unknown option --%.*s (see --help)", (int)n, name);
                return NP_ERR_INVAL;
            }
            if (eq) {
                v = eq + 1;
                if (neg) {
                    set_err(err, errlen, "--%.*s takes no value", (int)n, name);
                    return NP_ERR_INVAL;
                }
            } else if (d->type == T_STR || d->type == T_LIST) {
                if (i + 1 >= argc) {
                    set_err(err, errlen, "--%s needs a value (see --help)", d->name);
                    return NP_ERR_INVAL;
                }
                v = argv[++i];
            }
            if ((r = apply(o, d, v, neg, err, errlen)) != 0)
                return r;
            o->set[d->id] = 1;
            continue;
        }
        if (a[0] != '-' || a[1] == '\0') {
            set_err(err, errlen, "unexpected argument \"%s\" (see --help)", a);
            return NP_ERR_INVAL;
        }
        for (const char *p = a + 1; *p; p++) { /* -vq, -k path, -kpath */
            if ((d = find_short(o->prog, *p)) == NULL) {
                set_err(err, errlen, "unknown option -%c (see --help)", *p);
                return NP_ERR_INVAL;
            }
            v = NULL;
            if (d->type == T_STR || d->type == T_LIST) {
                if (p[1]) {
                    v = p + 1;
                } else if (i + 1 < argc) {
                    v = argv[++i];
                } else {
                    set_err(err, errlen, "-%c needs a value (see --help)", *p);
                    return NP_ERR_INVAL;
                }
            }
            if ((r = apply(o, d, v, 0, err, errlen)) != 0)
                return r;
            o->set[d->id] = 1;
            if (v)
                break;
        }
    }
    return 0;
}

/* Apply the profile's entries that the command line did not set. */
static int apply_profile(struct np_client_opts *o, char *err, size_t errlen)
{
    struct np_profile *p = NULL;
    unsigned char from_profile[sizeof(o->set)] = {0};
    char path[1024], msg[512];
    int r;

    if ((r = np_profile_path(o->config_file, path, sizeof(path))) != 0) {
        set_err(err, errlen, "--config-file %s: %s", o->config_file,
                r == NP_ERR_NOTFOUND ? "HOME is not set" : "path too long");
        return r == NP_ERR_TOOBIG ? NP_ERR_INVAL : r;
    }
    if ((r = np_profile_load(path, &p, msg, sizeof(msg))) != 0) {
        set_err(err, errlen, "config file %s", msg);
        return r;
    }
    for (size_t i = 0; i < np_profile_count(p); i++) {
        const struct np_profile_entry *e = np_profile_get(p, i);
        const struct optdef *d = find_long(o->prog, e->name, strlen(e->name));

        if (!d || d->id == O_CONFIG_FILE || d->id == O_HELP || d->id == O_VERSION) {
            set_err(err, errlen, "config file %s: line %d: unknown option %s", path, e->line,
                    e->name);
            r = NP_ERR_INVAL;
            goto out;
        }
        if (o->set[d->id] && !from_profile[d->id])
            continue; /* the command line wins */
        if ((r = apply(o, d, e->value, 0, msg, sizeof(msg))) != 0) {
            set_err(err, errlen, "config file %s: line %d: %s", path, e->line, msg);
            goto out;
        }
        o->set[d->id] = 1;
        from_profile[d->id] = 1;
    }
    r = 0;
out:
    np_profile_free(p);
    return r;
}

int np_client_opts_parse(struct np_client_opts *o, int prog, int argc, char **argv, char *err,
                         size_t errlen)
{
    int r;

    if (err && errlen)
        err[0] = '\0';
    if (!o || (prog != SSHNP && prog != NPT) || argc < 0 || (argc > 0 && !argv)) {
        set_err(err, errlen, "internal error: bad arguments");
        return NP_ERR_INVAL;
    }
    np_client_opts_init(o, prog);
    if ((r = parse_argv(o, argc, argv, err, errlen)) != 0)
        return r;
    if (o->help || o->version)
        return 0;
    if (o->config_file && (r = apply_profile(o, err, errlen)) != 0)
        return r;
    return np_client__opts_validate(o, err, errlen);
}

void np_client_opts_help(int prog, FILE *f)
{
    fprintf(f, prog == NPT ? "Usage: npt -f @client -t @device -r @relay -d <device> -p <port> "
                             "[options]\n\nOpen a TCP tunnel to a port on a NoPorts device's "
                             "network through a relay.\n\nOptions:\n"
                           : "Usage: sshnp -f @client -t @device -r @relay [-d <device>] "
                             "[options]\n\nssh to a NoPorts device through a relay.\n\nOptions:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct optdef *d = &opts[i];
        char left[96];
        size_t n;

        if (!(d->progs & (unsigned)prog) || d->hidden)
            continue;
        n = 0;
        if (d->shortc)
            n += (size_t)snprintf(left + n, sizeof(left) - n, "-%c, ", d->shortc);
        n += (size_t)snprintf(left + n, sizeof(left) - n, "--%s%s", d->type == T_NEG ? "[no-]" : "",
                              d->name);
        if (n < sizeof(left) && d->arg)
            n += (size_t)snprintf(left + n, sizeof(left) - n, " <%s>", d->arg);
        fprintf(f, "  %-40s %s", left, d->help);
        if (d->alias || d->alias2) {
            fprintf(f, " [alias --%s%s%s", d->alias ? d->alias : d->alias2,
                    d->alias && d->alias2 ? ", --" : "", d->alias && d->alias2 ? d->alias2 : "");
            fputs("]", f);
        }
        if (d->deflt)
            fprintf(f, " (default %s)", d->deflt);
        fputc('\n', f);
    }
    if (prog == SSHNP)
        fputs("\nProfiles: --config-file NAME reads ~/.sshnp/config/NAME.env, lines KEY=value "
              "where KEY is\nthe long option name upper-cased with - as _ (FROM, TO, DEVICE, SRVD, "
              "LOCAL_PORT, ...).\nOptions on the command line win over the profile.\n",
              f);
    fprintf(f, "\nExit status: 0 on success, 1 on any error.\n");
}
