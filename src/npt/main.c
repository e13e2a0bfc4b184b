/* src/npt/main.c - npt: a TCP tunnel to a port on a NoPorts device's network
 * (the run-time is shared with sshnp: src/sshnp/clientmain.c). */
#include "clientmain.h"
#include "np/client_opts.h"

int main(int argc, char **argv)
{
    return client_main(NP_PROG_NPT, NP_VERSION, argc, argv);
}
