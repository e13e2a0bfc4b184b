/*
 * src/atserver/atserver.h - what main.c hands to the rest of the atserver
 * program: the tunables (struct as_config, defaults from atprotocol.md 10.7,
 * overridable with --config FILE), the parsed command line (struct as_opts)
 * and the entry points of the subcommands. Private to this program.
 */
#ifndef ATSERVER_H
#define ATSERVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The server version we report in info/stats: the Dart server version this
 * implementation follows (atprotocol.md 0), because clients compare it to
 * enable features (e.g. JSON errors, APKAM). */
#define AS_COMPAT_VERSION "3.0.52"

/* The hosts table under the data directory (hostsdb.c). */
#define AS_HOSTS_FILE "hosts.sqlite3"

/* Tunables. Every field has a default (as_config_defaults) and a name in
 * the --config file (options.c, docs/internals/atserver.md). */
struct as_config {
    int max_conns;                /* inbound connections per atSign (AT0012 beyond) */
    size_t unauth_max_line;       /* line limit before cram/pkam (AT0005 + close) */
    size_t auth_max_line;         /* line limit after authentication */
    size_t max_value_size;        /* bytes of one value (update, notify) */
    int unauth_cmds_per_sec;      /* command rate before authentication (AT0028 + close) */
    int unauth_cmds_burst;        /* token bucket size for that rate */
    int64_t unauth_idle_ms;       /* idle limit before authentication */
    int64_t auth_idle_ms;         /* idle limit after authentication */
    int64_t unauth_idle_min_ms;   /* the idle limits shrink to these when the */
    int64_t auth_idle_min_ms;     /* pool is full (linearly from 50 % load)  */
    int handshake_ms;             /* TLS handshake deadline */
    int write_timeout_ms;         /* queued output making no progress */
    int stats_interval_s;         /* stats notifications; -1 = off */
    int expiry_interval_s;        /* expired key / notification cleanup */
    int64_t notify_ttl_ms;        /* default ttln */
    int64_t notify_retain_ms;     /* keep expired notification records this long */
    int64_t delete_notify_ttl_ms; /* ttln of delete auto-notifications (15 min) */
    size_t monitor_soft_limit;    /* monitor output queue soft limit (bytes) */
    size_t monitor_hard_limit;    /* ... hard limit: over it = disconnect at once */
    int monitor_soft_s;           /* seconds a monitor may stay over the soft limit */
    size_t replay_batch;          /* monitor replay records per loop turn */
    bool auto_notify;             /* notifications on writes of shared keys */
    bool client_cert_required;    /* from:@other needs a client certificate */
    int64_t noop_max_ms;          /* noop:<ms> waits min(ms, this) (tests: 0) */
    bool durable_writes;          /* fsync every write (survives power loss); false:
                                     survives a crash or SIGKILL only, much faster */
    /* server-to-server (remote.h, outbound.h; atprotocol.md 3.4, 7.2, 10.4) */
    int s2s_connect_ms;             /* directory lookup; TCP + TLS + "@" prompt */
    int s2s_handshake_ms;           /* from and pol answers (3 s) */
    int s2s_lookup_ms;              /* lookups and scans (5 s) */
    int s2s_notify_ms;              /* a forwarded notify answer (10 s) */
    int64_t s2s_idle_ms;            /* outbound connection idle time (10 min) */
    int64_t s2s_directory_cache_ms; /* directory answers reused this long */
    int s2s_max_connections;        /* outbound connections (AT0006 beyond) */
    int s2s_max_retries;            /* notification delivery attempts (30) */
    int64_t s2s_quarantine_ms;      /* a recipient whose server failed waits (10 s) */
    int s2s_job_ms;                 /* the notification queue runs this often (5 s) */
};

/* Fill *c with the defaults. */
void as_config_defaults(struct as_config *c);
/*
 * Apply one "name = value" setting (config file line without comment).
 * Returns 0, NP_ERR_NOTFOUND (unknown name) or NP_ERR_FORMAT (bad value);
 * err (may be NULL) receives a message.
 */
int as_config_set(struct as_config *c, const char *name, const char *value, char *err,
                  size_t errlen);
/* Read a config file: one setting per line, '#' comments, blank lines.
 * Errors: NP_ERR_IO (unreadable), NP_ERR_TOOBIG (> 64 KiB), or the first
 * bad line's error (printed to stderr with its line number). */
int as_config_load(struct as_config *c, const char *path);

enum as_cmd { AS_CMD_RUN = 0, AS_CMD_CREATE, AS_CMD_LIST };

struct as_opts {
    enum as_cmd cmd;
    const char *data_dir;
    /* run */
    const char *cert_file, *key_file, *bind, *ca_file, *root_domain, *config_file;
    /* create */
    const char *atsign;
    int port;
    const char *host;         /* name published in the directory (default localhost) */
    const char *directory_db; /* register host:port there */
    const char *cram_secret;  /* HEX, or "-" to read it from stdin */
    struct as_config cfg;
};

/* Parse argv. Returns 0, 1 when the program should exit 0 (--help,
 * --version), or -1 after printing a usage error. */
int as_opts_parse(int argc, char **argv, struct as_opts *o);

/* Subcommands; each returns the process exit status (0 ok, 1 failure,
 * 2 bad arguments). */
int as_admin_create(const struct as_opts *o);
int as_admin_list(const struct as_opts *o);
/* Serve every atSign of o->data_dir until SIGTERM/SIGINT. */
int as_run(const struct as_opts *o);

#endif
