/*
 * src/sshnp/clientmain.h - main() of sshnp and npt: options, keys, the
 * atProtocol connection (atglue.h) and the run-time (clientapp.h).
 */
#ifndef SSHNP_CLIENTMAIN_H
#define SSHNP_CLIENTMAIN_H

/* prog: NP_PROG_SSHNP or NP_PROG_NPT; version: shown by --version.
 * Returns the exit status. */
int client_main(int prog, const char *version, int argc, char **argv);

#endif
