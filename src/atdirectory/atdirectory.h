/*
 * src/atdirectory/atdirectory.h - what main.c hands to the rest of the
 * program: the parsed options, and the entry points of the server
 * (server.c) and the admin subcommands (admin.c). Private to this program.
 */
#ifndef ATDIRECTORY_H
#define ATDIRECTORY_H

#define DIR_DEFAULT_PORT         64
#define DIR_DEFAULT_DB           "/var/lib/atdirectory/directory.db"
#define DIR_DEFAULT_IDLE_S       60
#define DIR_DEFAULT_MAX_CONNS    1000
#define DIR_DEFAULT_NF_DELAY_MS  3000
#define DIR_DEFAULT_NF_LIMIT     3
#define DIR_HANDSHAKE_TIMEOUT_MS 10000

struct dir_opts {
    /* server */
    const char *bind;      /* NULL: all interfaces */
    int port;              /* 0: the kernel picks (logged) */
    const char *cert_file; /* PEM chain */
    const char *key_file;  /* PEM key */
    int idle_timeout_s;    /* 0: none */
    int max_conns;         /* concurrent connections; more are refused */
    int notfound_delay_ms; /* delay of the 2nd and later not-found answers */
    int notfound_limit;    /* the Nth not-found closes the connection; 0: never */
    /* all commands */
    const char *db_path;
    /* admin arguments (borrowed from argv) */
    const char *atsign;
    const char *address;
};

/* Serve until SIGTERM/SIGINT; 0 after a clean shutdown, else NP_ERR_*
 * (the reason is logged). */
int dir_server_run(const struct dir_opts *o);

/* Admin subcommands on the database, no server needed. Each returns the
 * process exit status: 0 success, 1 failure, 2 invalid argument. */
int dir_admin_set(const struct dir_opts *o);
int dir_admin_remove(const struct dir_opts *o);
int dir_admin_list(const struct dir_opts *o);

#endif
