/*
 * src/srvd/options.h - srvd command line (noports-wire.md 11.5) into a struct.
 */
#ifndef SRVD_OPTIONS_H
#define SRVD_OPTIONS_H
#include <stddef.h>
#include <stdio.h>

#include "srvd_int.h"

struct srvd_options {
    char *atsign;    /* -a, required */
    char *ip;        /* -i, required: address sent to clients */
    char *manager;   /* -m, default "open" */
    char *key_file;  /* -k, default ~/.atsign/keys/<@atsign>_key.atKeys */
    char *root_host; /* --root-domain host[:port] */
    int root_port;
    char *ca_file; /* --ca-file */
    char *bind[RELAY_MAX_BIND];
    size_t n_bind;         /* --bind (repeatable, or comma-separated) */
    int port_lo, port_hi;  /* --port-range LO-HI */
    int max_sessions;      /* --max-sessions */
    int max_sockets;       /* --max-sockets (per session) */
    int rate_per_min;      /* --rate-limit (requests per sender per minute) */
    int grace_ms;          /* --session-grace-ms */
    int auth_timeout_ms;   /* --auth-timeout-ms */
    int detect_ms;         /* --auth-detect-ms */
    int shutdown_grace_ms; /* --shutdown-grace (seconds on the command line) */
    int force_rw;          /* --no-splice */
    int verbose;           /* -v, repeatable */
};

/*
 * Parse argv into o (cleared first; free with srvd_options_free). Returns 0,
 * 1 when --help was printed to `out` (exit 0), or NP_ERR_INVAL with a message
 * in err[errlen].
 */
int srvd_options_parse(int argc, char **argv, struct srvd_options *o, FILE *out, char *err,
                       size_t errlen);
void srvd_options_free(struct srvd_options *o);
void srvd_usage(FILE *f);

#endif
