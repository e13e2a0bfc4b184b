/*
 * src/sshnp/sshcmd.h - the ssh command sshnp runs (or prints with -x):
 *
 *   ssh -p <port> [-o <user option>]... [-i <identity> -o StrictHostKeyChecking=accept-new
 *       -o IdentitiesOnly=yes] -o HostKeyAlias=<device>.<atSign-without-@>.sshnp
 *       <user>@<local host>
 *
 * The user's -o options come first because ssh keeps the first value it
 * sees for each option: the user can override ours. HostKeyAlias keeps the
 * device's host key under its own name in ~/.ssh/known_hosts instead of
 * "[localhost]:<random port>", so keys of different devices never clash
 * and a changed key of one device is detected (docs/internals/client-flow.md).
 */
#ifndef SSHNP_SSHCMD_H
#define SSHNP_SSHCMD_H
#include <stddef.h>
#include <sys/types.h>

struct sshcmd {
    char **argv; /* argc strings + NULL */
    size_t argc;
};

struct sshcmd_params {
    const char *program; /* NULL: "ssh" */
    int port;
    const char *host; /* listen address, e.g. "127.0.0.1" */
    const char *user;
    const char *identity; /* -i, or NULL */
    char *const *options; /* -o values */
    size_t n_options;
    const char *device, *device_atsign;
};

/* Build the argv. NP_ERR_INVAL (missing user/host/device, bad port), NP_ERR_NOMEM. */
int sshcmd_build(const struct sshcmd_params *p, struct sshcmd *out);
/* One shell-quoted line (words with characters outside [A-Za-z0-9@%+=:,./_-]
 * in single quotes) into a new string (np_free). */
int sshcmd_format(const struct sshcmd *c, char **line);
/*
 * fork + exec argv[0] (PATH search) with the default SIGINT/SIGQUIT/SIGPIPE
 * dispositions and every descriptor above 2 closed. *pid on success.
 * NP_ERR_IO if fork fails; an exec failure shows as exit status 127.
 */
int sshcmd_spawn(const struct sshcmd *c, pid_t *pid);
void sshcmd_free(struct sshcmd *c);

#endif
