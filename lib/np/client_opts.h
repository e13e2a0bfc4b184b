/*
 * lib/np/client_opts.h - command-line options of the two client programs,
 * sshnp and npt (noports-wire.md 11.1, 11.2), and sshnp config profiles
 * (section 10, np/profile.h).
 *
 * One option table serves both programs (each row says which program has
 * it), the parser, the profile loader and the --help text, so they cannot
 * drift apart. Syntax: --name value, --name=value, --no-name for negatable
 * flags, -c value, -cvalue, clustered short flags (-vq); "--" ends options;
 * positional arguments are refused. Aliases as in the spec (--ls, --ac, --ad,
 * --et, --dpt, --rp, --rh, --lp, --pss; hidden legacy -h/--host for sshnp's
 * --srvd; --root-server for --root-domain).
 *
 * Precedence: command line, then the --config-file profile (sshnp), then
 * defaults. A list option (-o) given on the command line replaces the
 * profile's values; several profile lines of a list option accumulate.
 *
 * Validation done here (usage errors, exit status 1 in the programs):
 * atSigns normalised (the '@' added); the device name normalised and
 * validated (12.1); required options; port ranges; -T through
 * np_duration_parse; --no-encrypt-rvd-traffic and --ssh-client dart are
 * refused (our daemon only serves encrypted sessions; only OpenSSH is
 * supported); -x with --stdio, -K with -x, -s without -i are refused.
 *
 * Everything is owned by struct np_client_opts; np_client_opts_clear frees
 * it. No I/O except reading the profile and the -s public key file.
 */
#ifndef NP_NP_CLIENT_OPTS_H
#define NP_NP_CLIENT_OPTS_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum np_client_prog { NP_PROG_SSHNP = 1, NP_PROG_NPT = 2 };

#define NP_OPTS_LIST_MAX            64   /* -o values kept */
#define NP_OPTS_VALUE_MAX           4096 /* longest option value */
#define NP_NPT_DEFAULT_TIMEOUT_MS   30000
#define NP_NPT_KEEPALIVE_TIMEOUT_MS (24LL * 3600 * 1000)

struct np_client_opts {
    int prog; /* enum np_client_prog */
    /* common */
    char *from, *to, *device, *srvd; /* atSigns normalised ("@alice"), device normalised */
    int device_defaulted;            /* -d not given: "default" (the program warns) */
    char *key_file;                  /* default ~/.atsign/keys/<@from>_key.atKeys */
    char *root_host;                 /* --root-domain host (default root.atsign.org) */
    int root_port;                   /* default 64 */
    char *ca_file;                   /* --ca-file: PEM CA bundle for our TLS (NULL: system) */
    int local_port;                  /* 0 = the OS chooses */
    char *local_host;                /* npt --local-host (default 127.0.0.1); sshnp: 127.0.0.1 */
    int daemon_ping_timeout_s;       /* --daemon-ping-timeout, default 20 */
    int authenticate_client;         /* --[no-]authenticate-client-to-rvd, default 1 */
    int authenticate_device;         /* --[no-]authenticate-device-to-rvd, default 1 */
    int encrypt;                     /* --[no-]encrypt-rvd-traffic (only 1 is accepted) */
    int relay_auth_mode; /* --relay-auth-mode: enum np_relay_auth_mode, default payload */
    int verbose;         /* -v count */
    int quiet;           /* -q */
    int help, version;   /* --help / --version: the program prints and exits 0 */
    int stdio;           /* --stdio: bridge stdin/stdout (ProxyCommand) */
    int exec_x;          /* sshnp -x (print the ssh command), npt -x (print the port) */
    /* sshnp */
    char *identity_file;       /* -i */
    char *identity_passphrase; /* accepted for compatibility; OpenSSH asks itself */
    int send_ssh_public_key;   /* -s */
    char **ssh_options;        /* -o values in order */
    size_t n_ssh_options;
    char *remote_user;    /* -u (NULL: the daemon's username record) */
    char *tunnel_user;    /* -U (only meaningful with --no-et; kept for compatibility) */
    int remote_sshd_port; /* accepted for compatibility (--no-et tunnels) */
    int idle_timeout_s;   /* accepted for compatibility (dart ssh client) */
    char *ssh_algorithm;  /* accepted for compatibility */
    int add_forwards;     /* accepted for compatibility */
    char *config_file;    /* --config-file as given */
    int list_devices;     /* --list-devices / --ls */
    /* npt */
    int remote_port;         /* -p (required) */
    char *remote_host;       /* -h (default localhost) */
    int per_session_storage; /* accepted for compatibility (no local storage here) */
    int keep_alive;          /* -K */
    int64_t timeout_ms;      /* -T in ms (default 30 s; 24 h with -K and no -T) */
    int timeout_given;       /* -T was given */
    int heartbeat_s;         /* --heartbeat: control-channel heartbeat period (default 1800) */
    unsigned char set[64];   /* private: which options were given (by option id) */
};

/* Zero *o and set the program's defaults. */
void np_client_opts_init(struct np_client_opts *o, int prog);

/*
 * Parse argv[1..argc) for program `prog` into *o (initialised here), then
 * the profile named by --config-file (sshnp), then defaults and validation.
 * Returns 0, or NP_ERR_INVAL with a one-line message in err (usage error),
 * NP_ERR_NOTFOUND/NP_ERR_IO/NP_ERR_TOOBIG/NP_ERR_FORMAT for profile or key
 * file problems (message in err), NP_ERR_NOMEM. With --help or --version
 * the rest is not validated and 0 is returned with o->help / o->version set.
 * Warnings (device defaulted, ignored compatibility options) are logged.
 * Call np_client_opts_clear afterwards in every case.
 */
int np_client_opts_parse(struct np_client_opts *o, int prog, int argc, char **argv, char *err,
                         size_t errlen);

/* Free everything o owns and zero it (NULL-safe). The passphrase is wiped. */
void np_client_opts_clear(struct np_client_opts *o);

/* Print the --help text of `prog` (every option, aliases, defaults). */
void np_client_opts_help(int prog, FILE *f);

/*
 * -s: read the OpenSSH public key `<identity>.pub` (one line; must start
 * with ecdsa-sha2-nistp, rsa-sha2-, ssh-rsa or ssh-ed25519; at most 16 KiB)
 * into a new string *line (np_free) without the newline. NP_ERR_NOTFOUND,
 * NP_ERR_IO, NP_ERR_FORMAT, NP_ERR_TOOBIG; message in err.
 */
int np_client_read_pubkey(const char *identity_file, char **line, char *err, size_t errlen);

/* Check a public key line as the daemon will (5.6): 0 or NP_ERR_FORMAT. */
int np_client_pubkey_check(const char *line);

#endif
