/*
 * lib/np/client_opts_int.h - shared by client_opts.c (table, argv, profile,
 * help) and client_opts_check.c (checks, defaults, public key file).
 * Private to lib/np.
 */
#ifndef NP_NP_CLIENT_OPTS_INT_H
#define NP_NP_CLIENT_OPTS_INT_H
#include <stddef.h>

#include "np/client_opts.h"

/* Option ids (index into np_client_opts.set). */
enum opt_id {
    O_FROM = 1,
    O_TO,
    O_DEVICE,
    O_SRVD,
    O_LOCAL_PORT,
    O_LOCAL_HOST,
    O_KEY_FILE,
    O_ROOT_DOMAIN,
    O_CA_FILE,
    O_DPT,
    O_AC,
    O_AD,
    O_ET,
    O_RELAY_AUTH_MODE,
    O_VERBOSE,
    O_QUIET,
    O_HELP,
    O_VERSION,
    O_STDIO,
    O_EXEC_X,
    O_IDENTITY,
    O_PASSPHRASE,
    O_SEND_KEY,
    O_SSH_OPTION,
    O_REMOTE_USER,
    O_TUNNEL_USER,
    O_REMOTE_SSHD_PORT,
    O_IDLE_TIMEOUT,
    O_SSH_ALGORITHM,
    O_ADD_FORWARDS,
    O_CONFIG_FILE,
    O_LIST_DEVICES,
    O_SSH_CLIENT,
    O_REMOTE_PORT,
    O_REMOTE_HOST,
    O_PSS,
    O_KEEP_ALIVE,
    O_TIMEOUT,
    O_HEARTBEAT,
    O__COUNT
};

/* Checks and defaults after argv and the profile: 0 or NP_ERR_INVAL (message
 * in err), NP_ERR_NOMEM. */
int np_client__opts_validate(struct np_client_opts *o, char *err, size_t errlen);

#endif
