/*
 * src/sshnp/clientmain.c - what sshnp's and npt's main() do: parse the
 * options (np/client_opts.h), load the .atKeys file, read the -s public
 * key, and run the program (clientapp.h) with the real atProtocol
 * connection (atglue.h). Startup errors print "Error: ..." and exit 1.
 */
#include "clientmain.h"

#include <stdio.h>
#include <string.h>

#include "atglue.h"
#include "clientapp.h"
#include "crypto/atkeys.h"
#include "crypto/rsa.h"
#include "np/client_opts.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"

struct glue_ctx {
    const struct np_client_opts *o;
    const struct np_atkeys *keys;
    struct atglue *g;
    struct clientapp *app;
    int connected;
    int sk_started;
};

static void g_notification(void *data, const char *from, const char *key, const char *value,
                           size_t len)
{
    struct glue_ctx *x = data;

    clientapp_notification(x->app, from, key, value, len);
}

static void sk_done(void *data, int err, const char *message)
{
    struct glue_ctx *x = data;

    if (err != 0) {
        clientapp_fatal(x->app, "Cannot publish the ESCR signing key", message,
                        "Use --relay-auth-mode payload, or check that this atSign may write "
                        "public:_apsk.* records.");
        return;
    }
    clientapp_connected(x->app);
}

static void g_status(void *data, int up, int err, const char *message)
{
    struct glue_ctx *x = data;
    char msg[256];
    char *uri = NULL;
    int r;

    if (!up) {
        snprintf(msg, sizeof(msg), "Cannot connect to the atServer of %s", x->o->from);
        clientapp_fatal(x->app, msg, message && message[0] ? message : np_strerror(err),
                        "Check the network, --root-domain, --ca-file and the atKeys file (-k).");
        return;
    }
    if (x->connected)
        return;
    x->connected = 1;
    if (x->o->relay_auth_mode == NP_RELAY_AUTH_ESCR && x->o->authenticate_client &&
        !x->o->list_devices) {
        if ((r = atglue_ensure_signing_key(x->g, x->keys->enrollment_id, x->keys->pkam_public_b64,
                                           sk_done, x, &uri)) != 0) {
            clientapp_fatal(x->app, "Cannot publish the ESCR signing key", np_strerror(r), NULL);
            return;
        }
        clientapp_set_sk_uri(x->app, uri);
        np_free(uri);
        return;
    }
    clientapp_connected(x->app);
}

static int attach(struct clientapp *app, struct event_base *base, void *data,
                  struct np_client_io *io, char *err, size_t errlen)
{
    struct glue_ctx *x = data;
    struct atglue_opts go;
    int r;

    x->app = app;
    memset(&go, 0, sizeof(go));
    go.atsign = x->o->from;
    go.keys = x->keys;
    go.root_host = x->o->root_host;
    go.root_port = x->o->root_port;
    go.ca_file = x->o->ca_file;
    go.on_notification = g_notification;
    go.on_status = g_status;
    go.data = x;
    if ((r = atglue_new(base, &go, &x->g, err, errlen)) != 0)
        return r;
    *io = atglue_io(x->g);
    return 0;
}

static void detach(void *data)
{
    struct glue_ctx *x = data;

    atglue_free(x->g);
    x->g = NULL;
}

static int log_level(const struct np_client_opts *o)
{
    if (o->quiet)
        return NP_LOG_ERROR;
    switch (o->verbose) {
    case 0:
        return NP_LOG_WARN;
    case 1:
        return NP_LOG_INFO;
    case 2:
        return NP_LOG_DEBUG;
    default:
        return NP_LOG_TRACE;
    }
}

int client_main(int prog, const char *version, int argc, char **argv)
{
    const char *name = prog == NP_PROG_NPT ? "npt" : "sshnp";
    struct np_client_opts o;
    struct np_atkeys *keys = NULL;
    struct np_rsa_key *enc = NULL, *pkam = NULL;
    struct clientapp_env env;
    struct glue_ctx x;
    char err[1024] = "";
    char *pub = NULL;
    int r, st = 1;

    np_log_set_ident(name);
    np_log_set_level(NP_LOG_WARN);
    if ((r = np_client_opts_parse(&o, prog, argc, argv, err, sizeof(err))) != 0) {
        fprintf(stderr, "Error: %s\n", err);
        goto out;
    }
    if (o.help) {
        np_client_opts_help(prog, stdout);
        st = 0;
        goto out;
    }
    if (o.version) {
        printf("%s (NoPorts in C) %s\n", name, version);
        st = 0;
        goto out;
    }
    np_log_set_level(log_level(&o));
    if (o.device_defaulted && !o.quiet)
        fprintf(stderr, "Warning: no -d/--device given; using the device name \"default\"\n");
    if ((r = np_atkeys_load(o.key_file, &keys, err, sizeof(err))) != 0) {
        fprintf(stderr, "Error: cannot read the atKeys file: %s\n", err);
        fprintf(stderr, "Hint: give the right file with -k, or activate %s first.\n", o.from);
        goto out;
    }
    if (!keys->enc_private_b64 || (r = np_rsa_from_private_b64(keys->enc_private_b64, &enc)) != 0) {
        fprintf(stderr, "Error: the atKeys file %s has no usable encryption key\n", o.key_file);
        goto out;
    }
    if (o.relay_auth_mode == NP_RELAY_AUTH_ESCR &&
        (!keys->pkam_private_b64 ||
         (r = np_rsa_from_private_b64(keys->pkam_private_b64, &pkam)) != 0)) {
        fprintf(stderr, "Error: --relay-auth-mode escr needs the PKAM private key in %s\n",
                o.key_file);
        goto out;
    }
    if (o.send_ssh_public_key &&
        (r = np_client_read_pubkey(o.identity_file, &pub, err, sizeof(err))) != 0) {
        fprintf(stderr, "Error: -s: %s\n", err);
        goto out;
    }
    memset(&x, 0, sizeof(x));
    x.o = &o;
    x.keys = keys;
    memset(&env, 0, sizeof(env));
    env.attach = attach;
    env.detach = detach;
    env.teardown = detach;
    env.data = &x;
    env.enc_key = enc;
    env.pkam_key = pkam;
    env.ssh_public_key = pub;
    st = clientapp_run(&o, &env);
out:
    np_free(pub);
    np_rsa_free(enc);
    np_rsa_free(pkam);
    np_atkeys_free(keys);
    np_client_opts_clear(&o);
    return st;
}
