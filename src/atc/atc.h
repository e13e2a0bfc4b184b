/*
 * src/atc/atc.h - atc, a command-line atProtocol client: options (main.c)
 * and the commands (cmds.c), on the blocking client of lib/at
 * (at/client_sync.h).
 */
#ifndef ATC_ATC_H
#define ATC_ATC_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (documented in --help). */
enum atc_exit {
    ATC_OK = 0,
    ATC_ERR = 1,       /* any other failure */
    ATC_USAGE = 2,     /* bad command line */
    ATC_NO_ATSIGN = 3, /* the directory does not know the atSign (own or other) */
    ATC_AUTH = 4,      /* authentication refused */
    ATC_NOT_FOUND = 5, /* no such key */
    ATC_TIMEOUT = 6,   /* no answer in time */
    ATC_CONNECT = 7,   /* cannot connect (network, TLS) */
    ATC_KEYS = 8       /* keys file missing, unreadable or invalid */
};

struct atc_opts {
    const char *atsign;    /* -a */
    const char *keys_path; /* -k; NULL: default path */
    const char *root;      /* --root-domain host[:port] */
    const char *server;    /* --server host:port (no directory) */
    const char *ca_file;   /* --ca-file */
    const char *cram_file; /* --cram-secret-file: authenticate with cram */
    int verbose;           /* -v count */
    int timeout_ms;        /* --timeout: per operation; monitor: total (0 = none) */
    bool timeout_set;
    int64_t ttl, ttln, ttr;  /* --ttl --ttln --ttr (ms, ms, s); -1 = unset */
    const char *shared_with; /* --shared-with */
    bool is_public;          /* --public */
    bool show_hidden;        /* --show-hidden */
    bool raw;                /* --raw: no decryption */
    int count;               /* --count N (monitor) */
    int64_t since;           /* --since EPOCHMS (monitor), -1 unset */
    const char *cmd;         /* command name */
    char **args;             /* its arguments */
    int nargs;
};

extern const char atc_usage_text[];

/* Run the parsed command; returns an enum atc_exit value. */
int atc_run(const struct atc_opts *o);

#endif
