/* src/sshnp/main.c - sshnp: ssh to a NoPorts device (see clientmain.c). */
#include "clientmain.h"
#include "np/client_opts.h"

int main(int argc, char **argv)
{
    return client_main(NP_PROG_SSHNP, NP_VERSION, argc, argv);
}
