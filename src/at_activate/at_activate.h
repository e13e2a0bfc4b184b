/*
 * src/at_activate/at_activate.h - at_activate: onboard ("activate") an
 * atSign the way the official tool does (atprotocol.md 3.6, 3.7, 9):
 * options (main.c) and the activation flow (activate.c).
 */
#ifndef AT_ACTIVATE_H
#define AT_ACTIVATE_H
#include <stdbool.h>

/* Exit codes (documented in --help). */
enum aa_exit {
    AA_OK = 0,
    AA_ERR = 1,       /* any other failure (server refused a step, ...) */
    AA_USAGE = 2,     /* bad command line, no cram secret */
    AA_NO_ATSIGN = 3, /* the directory does not know the atSign */
    AA_AUTH = 4,      /* cram refused: wrong secret */
    AA_TIMEOUT = 6,   /* no answer in time */
    AA_CONNECT = 7,   /* cannot connect (network, TLS) */
    AA_KEYS = 8,      /* keys file exists (no --force) or cannot be written */
    AA_ACTIVATED = 9  /* the atSign is already activated */
};

struct aa_opts {
    const char *atsign;      /* -a, as given */
    const char *keys_path;   /* -k; NULL: default path */
    const char *root;        /* --root-domain host[:port]; NULL: root.atsign.org:64 */
    const char *ca_file;     /* --ca-file; NULL: system store */
    const char *app_name;    /* --app-name */
    const char *device_name; /* --device-name; NULL: host name */
    char *cram_secret;       /* owned, wiped by the caller (np_freezero_str) */
    int timeout_ms;          /* per operation */
    bool force;              /* --force: overwrite an existing keys file */
    int verbose;
};

/* Run the activation; returns an aa_exit code and prints what went wrong
 * (never a secret) on stderr, the result on stdout. */
int aa_run(const struct aa_opts *o);

#endif
