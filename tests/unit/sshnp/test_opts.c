/*
 * Unit tests of lib/np/client_opts.c and lib/np/profile.c: sshnp and npt
 * option parsing (long/short names, aliases, --no- forms, clustered flags,
 * values), defaults, validation and its messages, config profiles
 * (precedence, list options, bad lines, limits, path resolution), the -s
 * public key file, and --help listing every option.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "np/client_opts.h"
#include "np/profile.h"
#include "np/relay_msg.h"
#include "util/alloc.h"
#include "util/err.h"

static char tmpdir[] = "/tmp/np_opts_XXXXXX";

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    setenv("HOME", tmpdir, 1);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[256];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Parse a NULL-terminated argument list (without argv[0]). */
static int run(struct np_client_opts *o, int prog, const char *const *args, char *err,
               size_t errlen)
{
    char *argv[64];
    int argc = 0;

    argv[argc++] = "prog";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return np_client_opts_parse(o, prog, argc, argv, err, errlen);
}

static void test_sshnp_basic(void **state)
{
    const char *args[] = {"-f",        "alice", "--to=@Pi", "-r", "relay", "-d",
                          "My Garage", "-l",    "2222",     "-o", "A=1",   "--local-ssh-options",
                          "B=2",       "-vv",   "-s",       "-i", "/k/id", NULL};
    struct np_client_opts o;
    char err[256], path[512];

    (void)state;
    assert_int_equal(run(&o, NP_PROG_SSHNP, args, err, sizeof(err)), 0);
    assert_string_equal(o.from, "@alice");
    assert_string_equal(o.to, "@pi");
    assert_string_equal(o.srvd, "@relay");
    assert_string_equal(o.device, "my_garage"); /* normalised */
    assert_int_equal(o.device_defaulted, 0);
    assert_int_equal(o.local_port, 2222);
    assert_int_equal(o.n_ssh_options, 2);
    assert_string_equal(o.ssh_options[0], "A=1");
    assert_string_equal(o.ssh_options[1], "B=2");
    assert_int_equal(o.verbose, 2);
    assert_int_equal(o.send_ssh_public_key, 1);
    assert_string_equal(o.identity_file, "/k/id");
    /* defaults */
    snprintf(path, sizeof(path), "%s/.atsign/keys/@alice_key.atKeys", tmpdir);
    assert_string_equal(o.key_file, path);
    assert_string_equal(o.root_host, "root.atsign.org");
    assert_int_equal(o.root_port, 64);
    assert_int_equal(o.daemon_ping_timeout_s, 20);
    assert_int_equal(o.authenticate_client, 1);
    assert_int_equal(o.authenticate_device, 1);
    assert_int_equal(o.encrypt, 1);
    assert_int_equal(o.relay_auth_mode, NP_RELAY_AUTH_PAYLOAD);
    assert_string_equal(o.local_host, "127.0.0.1");
    assert_null(o.remote_user);
    np_client_opts_clear(&o);
}

static void test_sshnp_aliases_and_negation(void **state)
{
    const char *args[] = {"-f",
                          "@a",
                          "-t",
                          "@b",
                          "-h",
                          "@legacy_relay",
                          "--no-ac",
                          "--ad=false",
                          "--dpt",
                          "7",
                          "--root-server",
                          "[::1]:6464",
                          "--ls",
                          "--relay-auth-mode",
                          "escr",
                          "-qx",
                          "--ca-file",
                          "/ca.pem",
                          NULL};
    struct np_client_opts o;
    char err[256];

    (void)state;
    assert_int_equal(run(&o, NP_PROG_SSHNP, args, err, sizeof(err)), NP_ERR_INVAL);
    /* --ls cannot be combined with -x */
    assert_non_null(strstr(err, "--list-devices"));
    np_client_opts_clear(&o);
    args[12] = "--stdio"; /* replace --ls */
    assert_int_equal(run(&o, NP_PROG_SSHNP, args, err, sizeof(err)), NP_ERR_INVAL);
    assert_string_equal(err, "-x and --stdio cannot be combined");
    np_client_opts_clear(&o);
    args[12] = "-v";
    assert_int_equal(run(&o, NP_PROG_SSHNP, args, err, sizeof(err)), 0);
    assert_string_equal(o.srvd, "@legacy_relay");
    assert_int_equal(o.authenticate_client, 0);
    assert_int_equal(o.authenticate_device, 0);
    assert_int_equal(o.daemon_ping_timeout_s, 7);
    assert_string_equal(o.root_host, "::1");
    assert_int_equal(o.root_port, 6464);
    assert_int_equal(o.relay_auth_mode, NP_RELAY_AUTH_ESCR);
    assert_int_equal(o.quiet, 1);
    assert_int_equal(o.exec_x, 1);
    assert_string_equal(o.ca_file, "/ca.pem");
    assert_string_equal(o.device, "default");
    assert_int_equal(o.device_defaulted, 1);
    np_client_opts_clear(&o);
}

static void test_npt_options(void **state)
{
    const char *args[] = {"-f",          "@a",  "-t",           "@b",   "-r",   "@r",
                          "-d",          "dev", "-p",           "3389", "--rh", "10.0.0.5",
                          "--lp",        "0",   "--local-host", "::1",  "-T",   "1h,14m,30s",
                          "--heartbeat", "60",  "--no-pss",     NULL};
    struct np_client_opts o;
    char err[256];

    (void)state;
    assert_int_equal(run(&o, NP_PROG_NPT, args, err, sizeof(err)), 0);
    assert_int_equal(o.remote_port, 3389);
    assert_string_equal(o.remote_host, "10.0.0.5");
    assert_string_equal(o.local_host, "::1");
    assert_int_equal(o.timeout_ms, (3600 + 14 * 60 + 30) * 1000LL);
    assert_int_equal(o.timeout_given, 1);
    assert_int_equal(o.heartbeat_s, 60);
    assert_int_equal(o.per_session_storage, 0);
    np_client_opts_clear(&o);
}

static void test_npt_defaults_and_keepalive(void **state)
{
    const char *args[] = {"-f", "@a", "-t", "@b", "-r", "@r", "-d", "dev", "-p", "22", NULL};
    const char *ka[] = {"-f", "@a", "-t", "@b", "-r", "@r", "-d", "dev", "-p", "22", "-K", NULL};
    const char *ka_t[] = {"-f",  "@a", "-t", "@b", "-r", "@r", "-d",
                          "dev", "-p", "22", "-K", "-T", "0",  NULL};
    struct np_client_opts o;
    char err[256];

    (void)state;
    assert_int_equal(run(&o, NP_PROG_NPT, args, err, sizeof(err)), 0);
    assert_int_equal(o.timeout_ms, NP_NPT_DEFAULT_TIMEOUT_MS);
    assert_string_equal(o.remote_host, "localhost");
    assert_string_equal(o.local_host, "127.0.0.1");
    np_client_opts_clear(&o);
    assert_int_equal(run(&o, NP_PROG_NPT, ka, err, sizeof(err)), 0);
    assert_int_equal(o.timeout_ms, NP_NPT_KEEPALIVE_TIMEOUT_MS); /* -K without -T: 24 h */
    np_client_opts_clear(&o);
    assert_int_equal(run(&o, NP_PROG_NPT, ka_t, err, sizeof(err)), 0);
    assert_int_equal(o.timeout_ms, 365LL * 24 * 3600 * 1000); /* 0 = 365 days */
    np_client_opts_clear(&o);
}

struct bad {
    int prog;
    const char *args[16];
    const char *msg; /* substring of the error */
};

static void test_errors(void **state)
{
    static const struct bad cases[] = {
        {NP_PROG_SSHNP, {"-t", "@b", "-r", "@r", NULL}, "-f/--from"},
        {NP_PROG_SSHNP, {"-f", "@a", "-r", "@r", NULL}, "-t/--to"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", NULL}, "-r/--srvd"},
        {NP_PROG_NPT, {"-f", "@a", "-t", "@b", "-r", "@r", "-p", "1", NULL}, "-d/--device"},
        {NP_PROG_NPT, {"-f", "@a", "-t", "@b", "-r", "@r", "-d", "x1", NULL}, "-p/--remote-port"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", "-r", "@r", "--no-et", NULL}, "not supported"},
        {NP_PROG_SSHNP,
         {"-f", "@a", "-t", "@b", "-r", "@r", "--ssh-client", "dart", NULL},
         "only the OpenSSH client"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", "-r", "@r", "-s", NULL}, "needs -i"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", "-r", "@r", "-d", "-bad", NULL}, "Device name"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", "-r", "@r", "-l", "70000", NULL}, "port"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", "-r", "@r", "--dpt", "0", NULL}, "seconds"},
        {NP_PROG_SSHNP, {"-f", "@a b", "-t", "@b", "-r", "@r", NULL}, "not a valid atSign"},
        {NP_PROG_SSHNP,
         {"-f", "@a", "-t", "@b", "-r", "@r", "--bogus", NULL},
         "unknown option --bogus"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", "-r", "@r", "-Z", NULL}, "unknown option -Z"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", "-r", "@r", "extra", NULL}, "unexpected argument"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", "-r", NULL}, "needs a value"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", "-r", "@r", "--no-from", NULL}, "unknown option"},
        {NP_PROG_SSHNP, {"-f", "@a", "-t", "@b", "-r", "@r", "--ac=maybe", NULL}, "true or false"},
        {NP_PROG_SSHNP,
         {"-f", "@a", "-t", "@b", "-r", "@r", "--relay-auth-mode", "x", NULL},
         "payload or escr"},
        {NP_PROG_SSHNP,
         {"-f", "@a", "-t", "@b", "-r", "@r", "--root-domain", "a b", NULL},
         "host:port"},
        {NP_PROG_NPT,
         {"-f", "@a", "-t", "@b", "-r", "@r", "-d", "d1", "-p", "1", "-T", "5 min", NULL},
         "not a duration"},
        {NP_PROG_NPT,
         {"-f", "@a", "-t", "@b", "-r", "@r", "-d", "d1", "-p", "1", "-K", "-x", NULL},
         "-K/--keep-alive"},
        {NP_PROG_NPT,
         {"-f", "@a", "-t", "@b", "-r", "@r", "-d", "d1", "-p", "1", "-i", "k", NULL},
         "unknown option -i"}, /* sshnp only */
        {NP_PROG_NPT,
         {"-f", "@a", "-t", "@b", "-r", "@r", "-d", "d1", "-p", "1", "--config-file", "x", NULL},
         "unknown option --config-file"}, /* profiles are sshnp's */
    };
    struct np_client_opts o;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        assert_int_equal(run(&o, cases[i].prog, cases[i].args, err, sizeof(err)), NP_ERR_INVAL);
        if (!strstr(err, cases[i].msg))
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err, cases[i].msg);
        np_client_opts_clear(&o);
    }
}

static void test_help_and_version(void **state)
{
    const char *h[] = {"--help", NULL};
    const char *v[] = {"--version", "--bogus-value-ignored-after", NULL};
    struct np_client_opts o;
    char err[256], *text = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    assert_int_equal(run(&o, NP_PROG_SSHNP, h, err, sizeof(err)), 0);
    assert_int_equal(o.help, 1);
    np_client_opts_clear(&o);
    /* unknown options are still errors, even with --version */
    assert_int_equal(run(&o, NP_PROG_NPT, v, err, sizeof(err)), NP_ERR_INVAL);
    np_client_opts_clear(&o);
    f = open_memstream(&text, &len);
    assert_non_null(f);
    np_client_opts_help(NP_PROG_SSHNP, f);
    fclose(f);
    static const char *sshnp_opts[] = {"--from",
                                       "--to",
                                       "--device",
                                       "--srvd",
                                       "--local-port",
                                       "--identity-file",
                                       "--identity-passphrase",
                                       "--send-ssh-public-key",
                                       "--local-ssh-options",
                                       "--remote-user-name",
                                       "--tunnel-user-name",
                                       "--remote-sshd-port",
                                       "--idle-timeout",
                                       "--ssh-algorithm",
                                       "--add-forwards-to-tunnel",
                                       "--config-file",
                                       "--list-devices",
                                       "--[no-]authenticate-client-to-rvd",
                                       "--[no-]authenticate-device-to-rvd",
                                       "--[no-]encrypt-rvd-traffic",
                                       "--daemon-ping-timeout",
                                       "--root-domain",
                                       "--key-file",
                                       "--ssh-client",
                                       "--output-execution-command",
                                       "--verbose",
                                       "--quiet",
                                       "--help",
                                       "--version",
                                       "--stdio",
                                       "--ca-file",
                                       "--relay-auth-mode",
                                       "--ls",
                                       "--ac",
                                       "--dpt"};
    for (size_t i = 0; i < sizeof(sshnp_opts) / sizeof(sshnp_opts[0]); i++)
        if (!strstr(text, sshnp_opts[i]))
            fail_msg("sshnp --help lacks %s", sshnp_opts[i]);
    assert_null(strstr(text, "--remote-port"));
    free(text);
    text = NULL;
    f = open_memstream(&text, &len);
    np_client_opts_help(NP_PROG_NPT, f);
    fclose(f);
    static const char *npt_opts[] = {"--remote-port",
                                     "--remote-host",
                                     "--local-host",
                                     "--keep-alive",
                                     "--timeout",
                                     "--exit-when-connected",
                                     "--[no-]per-session-storage",
                                     "--heartbeat",
                                     "--rp",
                                     "--rh",
                                     "--lp",
                                     "--pss"};
    for (size_t i = 0; i < sizeof(npt_opts) / sizeof(npt_opts[0]); i++)
        if (!strstr(text, npt_opts[i]))
            fail_msg("npt --help lacks %s", npt_opts[i]);
    assert_null(strstr(text, "--identity-file"));
    free(text);
}

/* ---------------------------------------------------------- profiles */

static void test_profile_precedence(void **state)
{
    char dir[512], path[600], err[256];
    const char *args[] = {"-f", "@cli", "--config-file", "work", "-l", "9", "-o", "Cli=1", NULL};
    struct np_client_opts o;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/.sshnp", tmpdir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof(dir), "%s/.sshnp/config", tmpdir);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/work.env", dir);
    write_file(path, "# my work box\n"
                     "FROM=@profile_from\n"
                     "TO = @pi\n"
                     "SRVD=\"@relay\"\n"
                     "DEVICE='garage'\r\n"
                     "\n"
                     "LOCAL_PORT=2200\n"
                     "REMOTE_USER_NAME=pi\n"
                     "LOCAL_SSH_OPTIONS=Prof=1\n"
                     "LOCAL_SSH_OPTIONS=Prof=2\n"
                     "AUTHENTICATE_DEVICE_TO_RVD=false\n"
                     "VERBOSE=true\n");
    assert_int_equal(run(&o, NP_PROG_SSHNP, args, err, sizeof(err)), 0);
    assert_string_equal(o.from, "@cli");     /* command line wins */
    assert_int_equal(o.local_port, 9);       /* command line wins */
    assert_string_equal(o.to, "@pi");        /* from the profile */
    assert_string_equal(o.srvd, "@relay");   /* quotes removed */
    assert_string_equal(o.device, "garage"); /* CRLF handled */
    assert_string_equal(o.remote_user, "pi");
    assert_int_equal(o.authenticate_device, 0);
    assert_int_equal(o.verbose, 1);
    assert_int_equal(o.n_ssh_options, 1); /* the command line's list replaces the profile's */
    assert_string_equal(o.ssh_options[0], "Cli=1");
    np_client_opts_clear(&o);
    /* without -o on the command line the profile's lines accumulate */
    args[6] = NULL;
    assert_int_equal(run(&o, NP_PROG_SSHNP, args, err, sizeof(err)), 0);
    assert_int_equal(o.n_ssh_options, 2);
    assert_string_equal(o.ssh_options[1], "Prof=2");
    np_client_opts_clear(&o);
    /* an explicit path works too */
    const char *args2[] = {"--config-file", path, NULL};
    assert_int_equal(run(&o, NP_PROG_SSHNP, args2, err, sizeof(err)), 0);
    assert_string_equal(o.from, "@profile_from");
    np_client_opts_clear(&o);
}

static void test_profile_errors(void **state)
{
    struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"FROM=@a\nTO=@b\nSRVD=@r\nBOGUS_OPTION=1\n", "line 4: unknown option bogus-option"},
        {"FROM=@a\nno equals sign\n", "line 2: no '='"},
        {"from=@a\n", "line 1: bad key"},
        {"FROM=@a\nLOCAL_PORT=abc\n", "line 2: --local-port: not a port number"},
        {"CONFIG_FILE=x\n", "unknown option config-file"},
        {"FROM=@a\x01\n", "control character"},
        {"HELP=true\n", "unknown option help"},
    };
    char path[600], err[256];
    const char *args[] = {"--config-file", path, NULL};
    struct np_client_opts o;

    (void)state;
    snprintf(path, sizeof(path), "%s/bad.env", tmpdir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file(path, cases[i].text);
        err[0] = '\0';
        assert_true(run(&o, NP_PROG_SSHNP, args, err, sizeof(err)) != 0);
        if (!strstr(err, cases[i].msg))
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err, cases[i].msg);
        assert_non_null(strstr(err, path)); /* messages name the file */
        np_client_opts_clear(&o);
    }
    snprintf(path, sizeof(path), "%s/does-not-exist.env", tmpdir);
    assert_int_equal(run(&o, NP_PROG_SSHNP, args, err, sizeof(err)), NP_ERR_NOTFOUND);
    np_client_opts_clear(&o);
}

static void test_profile_parser(void **state)
{
    struct np_profile *p = NULL;
    char err[128], *big;
    const struct np_profile_entry *e;

    (void)state;
    const char *text = "  # c\n\tA_B = x y \nC=\"\"\nD='q\"\nE==\n";

    assert_int_equal(np_profile_parse(text, strlen(text), &p, err, sizeof(err)), 0);
    assert_int_equal(np_profile_count(p), 4);
    e = np_profile_get(p, 0);
    assert_string_equal(e->name, "a-b");
    assert_string_equal(e->value, "x y");
    assert_int_equal(e->line, 2);
    assert_string_equal(np_profile_get(p, 1)->value, "");     /* "" -> empty */
    assert_string_equal(np_profile_get(p, 2)->value, "'q\""); /* unmatched quotes stay */
    assert_string_equal(np_profile_get(p, 3)->value, "=");    /* first '=' splits */
    assert_null(np_profile_get(p, 4));
    np_profile_free(p);
    /* empty text */
    assert_int_equal(np_profile_parse("", 0, &p, err, sizeof(err)), 0);
    assert_int_equal(np_profile_count(p), 0);
    np_profile_free(p);
    /* NUL byte */
    assert_int_equal(np_profile_parse("A=1\0B=2\n", 8, &p, err, sizeof(err)), NP_ERR_FORMAT);
    assert_null(p);
    /* limits: file size, line length, line count, key length */
    big = np_calloc(1, NP_PROFILE_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, '\n', NP_PROFILE_FILE_MAX + 1);
    assert_int_equal(np_profile_parse(big, NP_PROFILE_FILE_MAX + 1, &p, err, sizeof(err)),
                     NP_ERR_TOOBIG);
    assert_int_equal(np_profile_parse(big, NP_PROFILE_LINES_MAX, &p, err, sizeof(err)), 0);
    np_profile_free(p);
    assert_int_equal(np_profile_parse(big, NP_PROFILE_LINES_MAX + 1, &p, err, sizeof(err)),
                     NP_ERR_TOOBIG);
    assert_non_null(strstr(err, "lines"));
    memset(big, 'A', NP_PROFILE_FILE_MAX);
    big[0] = 'A';
    big[1] = '=';
    assert_int_equal(np_profile_parse(big, NP_PROFILE_LINE_MAX, &p, err, sizeof(err)), 0);
    np_profile_free(p);
    assert_int_equal(np_profile_parse(big, NP_PROFILE_LINE_MAX + 1, &p, err, sizeof(err)),
                     NP_ERR_TOOBIG);
    assert_non_null(strstr(err, "line 1: longer than"));
    memset(big, 'K', NP_PROFILE_KEY_MAX + 1);
    big[NP_PROFILE_KEY_MAX + 1] = '=';
    assert_int_equal(np_profile_parse(big, NP_PROFILE_KEY_MAX + 3, &p, err, sizeof(err)),
                     NP_ERR_TOOBIG);
    np_free(big);
}

static void test_profile_path(void **state)
{
    char dst[600], want[600];

    (void)state;
    assert_int_equal(np_profile_path("work", dst, sizeof(dst)), 0);
    snprintf(want, sizeof(want), "%s/.sshnp/config/work.env", tmpdir);
    assert_string_equal(dst, want);
    assert_int_equal(np_profile_path("work.env", dst, sizeof(dst)), 0);
    assert_string_equal(dst, want); /* .env not doubled */
    assert_int_equal(np_profile_path("./rel.env", dst, sizeof(dst)), 0);
    assert_string_equal(dst, "./rel.env");
    assert_int_equal(np_profile_path("", dst, sizeof(dst)), NP_ERR_INVAL);
    assert_int_equal(np_profile_path("work", dst, 8), NP_ERR_TOOBIG);
}

static void test_pubkey_file(void **state)
{
    char id[600], pub[620], err[256], *line = NULL;

    (void)state;
    snprintf(id, sizeof(id), "%s/id_test", tmpdir);
    snprintf(pub, sizeof(pub), "%s.pub", id);
    write_file(pub, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA me@host\n");
    assert_int_equal(np_client_read_pubkey(id, &line, err, sizeof(err)), 0);
    assert_string_equal(line, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA me@host");
    np_free(line);
    write_file(pub, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    assert_int_equal(np_client_read_pubkey(id, &line, err, sizeof(err)), NP_ERR_FORMAT);
    assert_null(line);
    write_file(pub, "ssh-rsa AAAA one\nssh-rsa AAAA two\n");
    assert_int_equal(np_client_read_pubkey(id, &line, err, sizeof(err)), NP_ERR_FORMAT);
    unlink(pub);
    assert_int_equal(np_client_read_pubkey(id, &line, err, sizeof(err)), NP_ERR_NOTFOUND);
    assert_int_equal(np_client_pubkey_check("ecdsa-sha2-nistp256 AAAA"), 0);
    assert_int_equal(np_client_pubkey_check("rsa-sha2-512 AAAA"), 0);
    assert_int_equal(np_client_pubkey_check("ssh-dss AAAA"), NP_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sshnp_basic),
        cmocka_unit_test(test_sshnp_aliases_and_negation),
        cmocka_unit_test(test_npt_options),
        cmocka_unit_test(test_npt_defaults_and_keepalive),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_profile_precedence),
        cmocka_unit_test(test_profile_errors),
        cmocka_unit_test(test_profile_parser),
        cmocka_unit_test(test_profile_path),
        cmocka_unit_test(test_pubkey_file),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
