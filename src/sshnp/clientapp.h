/*
 * src/sshnp/clientapp.h - the run-time of the two client programs, sshnp
 * and npt, around the session of np/client_session.h: progress and error
 * output, the ssh child, -x (background tunnel), --stdio, --list-devices,
 * npt -K (keep-alive restarts) and signals. It does not know where the
 * atProtocol comes from: the environment's attach() supplies the io and
 * reports notifications (src/sshnp/clientmain.c plugs in the real at client,
 * the unit tests a world of test doubles).
 *
 * -x: the program forks first; the child connects, runs the session and,
 * once the local listener is bound, reports the ssh command (sshnp) or the
 * port (npt) through a pipe, detaches (setsid, stdio to /dev/null, its
 * atServer connections closed) and keeps the tunnel until it is used and
 * over, or timed out. The parent prints what the child reported and exits
 * 0, or 1 when the child failed (the child printed the error). So the port
 * is bound before anything is printed, and no event loop crosses a fork.
 *
 * Exit status: 0 success; 1 any error; sshnp without -x: ssh's status.
 */
#ifndef SSHNP_CLIENTAPP_H
#define SSHNP_CLIENTAPP_H
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "np/client_opts.h"
#include "np/client_session.h"

struct event_base;
struct np_rsa_key;
struct clientapp;

struct clientapp_env {
    /*
     * Set up the atProtocol side on base (in the process that runs the
     * sessions): fill *io and return 0, later call clientapp_connected()
     * once notifications can be received, clientapp_notification() for
     * each, clientapp_fatal() if the connection fails. Non-zero: the
     * message in err is printed and the program exits 1.
     */
    int (*attach)(struct clientapp *app, struct event_base *base, void *data,
                  struct np_client_io *io, char *err, size_t errlen);
    void (*detach)(void *data);   /* stop using it (once the tunnel is up); may be NULL */
    void (*teardown)(void *data); /* free everything attach made, before the loop's base
                                     is freed; may be NULL */
    void *data;
    const struct np_rsa_key *enc_key;  /* our encryption key pair */
    const struct np_rsa_key *pkam_key; /* ESCR only */
    const char *sk_uri;                /* ESCR only (may be set later by attach) */
    const char *ssh_public_key;        /* -s: the .pub line */
    const char *ssh_program;           /* NULL: "ssh" */
    FILE *out, *err;                   /* NULL: stdout, stderr */
    /* tests: 0 = defaults */
    int relay_timeout_ms, ping_timeout_ms, answer_timeout_ms, bridge_timeout_ms;
    int connect_timeout_ms; /* atServer connection (default 30000) */
    int restart_delay_ms;   /* npt -K (default 5000) */
    int max_sessions;       /* npt -K: stop after this many sessions (0 = no limit) */
    int list_wait_ms;       /* --list-devices heartbeat wait (default 10000) */
    pid_t *child_pid;       /* -x: gets the background child's pid */
};

/* Run the program described by o (already parsed and validated). Returns
 * the exit status. With -x the child never returns (it _exits). */
int clientapp_run(const struct np_client_opts *o, const struct clientapp_env *env);

/* From attach's side: notifications can be received now (once). */
void clientapp_connected(struct clientapp *app);
/* From attach's side: a decrypted notification. */
void clientapp_notification(struct clientapp *app, const char *from, const char *key,
                            const char *value, size_t len);
/* From attach's side: the atProtocol side failed; ends the program (exit 1)
 * unless a tunnel is already up. */
void clientapp_fatal(struct clientapp *app, const char *msg, const char *detail, const char *hint);
/* Set the ESCR signing-key URI once known (before clientapp_connected). */
void clientapp_set_sk_uri(struct clientapp *app, const char *uri);

/* Print one progress line "<time> : <msg>" (respects -q / -v). */
void clientapp_progress(struct clientapp *app, int level, const char *msg);

#endif
