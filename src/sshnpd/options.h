/*
 * src/sshnpd/options.h - the sshnpd command line (noports-wire.md 11.3) into
 * a struct. Note that -h means --hide here, as in the official daemon; help
 * is --help only.
 */
#ifndef SSHNPD_OPTIONS_H
#define SSHNPD_OPTIONS_H
#include <stddef.h>
#include <stdio.h>

#include "at/atsign.h"

#define SSHNPD_MAX_MANAGERS 64

struct sshnpd_options {
    char atsign[AT_ATSIGN_BUF];          /* -a, required, normalised */
    char *managers[SSHNPD_MAX_MANAGERS]; /* -m, normalised "@x" */
    size_t n_managers;
    char policy[AT_ATSIGN_BUF];  /* -p ("" = none) */
    char device[40];             /* -d, normalised (default "default") */
    char *key_file;              /* -k */
    int sshpublickey;            /* -s */
    char *pubkey_perm;           /* -S ("" = none) */
    int hide;                    /* -h */
    int un_hide;                 /* -u given (ignored) */
    char *ssh_algorithm;         /* accepted, unused */
    char *ephemeral_permissions; /* accepted, unused */
    char *ssh_client;            /* accepted, unused */
    int local_sshd_port;         /* 22 */
    char *device_group;          /* --device-group (__none__) */
    char *permit_open;           /* NULL = default */
    char *storage_path;          /* accepted, unused */
    char *root_host;             /* --root-domain host[:port] */
    int root_port;
    char *ca_file; /* --ca-file */
    int verbose;   /* -v (repeatable) */
    int syslog;    /* --syslog */
    int rate_per_min;
    int max_sessions;
};

/*
 * Parse argv into o (cleared first; free with sshnpd_options_free). Returns
 * 0; 1 when --help or --version was printed to `out` (exit 0); or
 * NP_ERR_INVAL with a message in err[errlen] (exit 1). Checks the device
 * name (12.1, with its exact error text), atSigns, the permit-open list and
 * the -S prefix, and that -m or -p is given.
 */
int sshnpd_options_parse(int argc, char **argv, struct sshnpd_options *o, FILE *out, char *err,
                         size_t errlen);
void sshnpd_options_free(struct sshnpd_options *o);
void sshnpd_usage(FILE *f);

#endif
