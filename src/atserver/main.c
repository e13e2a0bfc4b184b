/*
 * src/atserver/main.c - atserver, our atProtocol server: parse the command
 * line (options.c) and hand off to the server (server.c) or an admin
 * subcommand (admin.c).
 */
#include "atserver.h"

#include "util/log.h"

int main(int argc, char **argv)
{
    struct as_opts o;
    int r;

    np_log_set_ident("atserver");
    r = as_opts_parse(argc, argv, &o);
    if (r != 0)
        return r > 0 ? 0 : 2;
    switch (o.cmd) {
    case AS_CMD_CREATE:
        return as_admin_create(&o);
    case AS_CMD_LIST:
        return as_admin_list(&o);
    default:
        return as_run(&o);
    }
}
