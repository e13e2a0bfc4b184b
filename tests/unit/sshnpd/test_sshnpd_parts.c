/*
 * Unit tests of the daemon's pure parts: message types from keys,
 * permit-open matching (the daemon's and the client's list), device names,
 * the policy RPC texts (lib/np/policy.c), ssh public-key validation and
 * authorized_keys appends (lib/np/authkeys.c), and the command line
 * (src/sshnpd/options.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "np/authkeys.h"
#include "np/device.h"
#include "np/messages.h"
#include "np/permit.h"
#include "np/policy.h"
#include "options.h"
#include "util/alloc.h"
#include "util/err.h"

#define ED_BLOB "AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
#define RSA_BLOB                                                                                   \
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0u" \
    "LzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlqa2xtbm9wcXJz" \
    "dHV2d3h5ent8fX5/gA=="
#define ECDSA_BLOB                                                                                 \
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* ---- message types ------------------------------------------------------ */

static void test_msg_types(void **state)
{
    static const struct {
        const char *key, *from, *want; /* want NULL: not a message for garage */
    } cases[] = {
        {"@device:ping.garage.sshnp@alice", "@alice", "ping"},
        {"@device:ssh_request.garage.sshnp@alice", "@alice", "ssh_request"},
        {"@device:npt_request.garage.sshnp@alice", "@alice", "npt_request"},
        {"@device:sshpublickey.garage.sshnp@alice", "@alice", "sshpublickey"},
        {"@device:NPT_Request.GARAGE.SSHNP@ALICE", "@alice", "npt_request"},
        {"ping.garage.sshnp@alice", "@alice", "ping"},
        {"@device:ping.garage.sshnp@alice", "alice", "ping"},
        {"@device:ping.garage2.sshnp@alice", "@alice", NULL},
        {"@device:ping.xgarage.sshnp@alice", "@alice", NULL},
        {"@device:ping.garage.sshnp@bob", "@alice", NULL},
        {"@device:ping.garage.sshrvd@alice", "@alice", NULL},
        {"@device:garage.sshnp@alice", "@alice", NULL},
    };
    char type[64];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = np_msg_type_from_key(cases[i].key, "garage", cases[i].from, type, sizeof(type));
        if (cases[i].want) {
            assert_int_equal(r, 0);
            assert_string_equal(type, cases[i].want);
        } else {
            assert_int_not_equal(r, 0);
        }
    }
}

/* ---- permit-open -------------------------------------------------------- */

static void test_permit_table(void **state)
{
    static const struct {
        const char *daemon, *client; /* client NULL = a manager ("*:*") */
        const char *host;
        int port, want;
    } cases[] = {
        {"localhost:22,localhost:3389", NULL, "localhost", 22, 1},
        {"localhost:22,localhost:3389", NULL, "localhost", 3389, 1},
        {"localhost:22,localhost:3389", NULL, "localhost", 2222, 0},
        {"localhost:22,localhost:3389", NULL, "127.0.0.1", 22, 0}, /* no DNS, exact text */
        {"localhost:22,localhost:3389", NULL, "LOCALHOST", 22, 1},
        {"*:22", NULL, "10.0.0.9", 22, 1},
        {"*:22", NULL, "10.0.0.9", 23, 0},
        {"db:*", NULL, "db", 5432, 1},
        {"db:*", NULL, "db2", 5432, 0},
        {"*:*", NULL, "anything", 1, 1},
        {" a:1 , b:2 ", NULL, "b", 2, 1},
        {"", NULL, "localhost", 22, 0},
        /* both lists must allow */
        {"*:*", "localhost:22", "localhost", 22, 1},
        {"*:*", "localhost:22", "localhost", 3389, 0},
        {"localhost:22", "*:*", "localhost", 3389, 0},
        {"*:80", "web:*", "web", 80, 1},
        {"*:80", "web:*", "api", 80, 0},
        {"*:*", "", "localhost", 22, 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct np_permit *d = NULL, *c = NULL;
        int ok;

        assert_int_equal(np_permit_parse(cases[i].daemon, &d, NULL, 0), 0);
        if (cases[i].client)
            assert_int_equal(np_permit_parse(cases[i].client, &c, NULL, 0), 0);
        ok = np_permit_allows(d, cases[i].host, cases[i].port) &&
             (!c || np_permit_allows(c, cases[i].host, cases[i].port));
        if (ok != cases[i].want)
            fail_msg("case %zu: %s vs %s for %s:%d", i, cases[i].daemon,
                     cases[i].client ? cases[i].client : "(manager)", cases[i].host, cases[i].port);
        np_permit_free(d);
        np_permit_free(c);
    }
    {
        struct np_permit *p = NULL;
        char err[64];
        assert_int_not_equal(np_permit_parse("localhost", &p, err, sizeof(err)), 0);
        assert_int_not_equal(np_permit_parse("localhost:99999", &p, err, sizeof(err)), 0);
        assert_int_not_equal(np_permit_parse(":22", &p, err, sizeof(err)), 0);
        assert_null(p);
    }
}

/* ---- device names ------------------------------------------------------- */

static void test_device_names(void **state)
{
    static const struct {
        const char *in, *want; /* want NULL: invalid */
    } cases[] = {
        {"garage", "garage"},
        {"Garage", "garage"},
        {"my  Device\tname", "my_device_name"},
        {"_x", "_x"},
        {"0-a", "0-a"},
        {"ab-", "ab-"},
        {"a", NULL},
        {"-ab", NULL},
        {"a.b", NULL},
        {"caf\xc3\xa9", NULL},
        {"abcdefghijabcdefghijabcdefghijabcdef", "abcdefghijabcdefghijabcdefghijabcdef"},
        {"abcdefghijabcdefghijabcdefghijabcdefg", NULL},
        {"", NULL},
    };
    char out[64];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = np_device_name_normalize(cases[i].in, out, sizeof(out));
        if (cases[i].want) {
            assert_int_equal(r, 0);
            assert_string_equal(out, cases[i].want);
        } else {
            assert_int_not_equal(r, 0);
        }
    }
}

/* ---- policy RPC texts --------------------------------------------------- */

static void test_policy_texts(void **state)
{
    char key[128], *v = NULL;
    (void)state;

    assert_int_equal(np_policy_request_key(1729730000123456LL, key, sizeof(key)), 0);
    assert_string_equal(key, "request.1729730000123456.auth_checks.__rpcs.sshnp");
    assert_int_equal(np_policy_request_build(42, "@device", "garage", NULL, "@eve", &v), 0);
    assert_string_equal(v, "{\"reqId\":42,\"payload\":{\"daemonAtsign\":\"@device\","
                           "\"daemonDeviceName\":\"garage\",\"daemonDeviceGroupName\":"
                           "\"__none__\",\"clientAtsign\":\"@eve\"}}");
    np_free(v);
    assert_int_equal(np_policy_heartbeat_key("garage", key, sizeof(key)), 0);
    assert_string_equal(key, "garage.devices.policy.sshnp");
    assert_int_equal(np_policy_request_key(-1, key, sizeof(key)), NP_ERR_INVAL);
}

static void test_policy_key_parse(void **state)
{
    static const struct {
        const char *key;
        int kind;
        long long id; /* kind 0: rejected */
    } cases[] = {
        {"@device:success.17.auth_checks.__rpcs.sshnp@policy", NP_POLICY_SUCCESS, 17},
        {"@device:ack.17.auth_checks.__rpcs@policy", NP_POLICY_ACK, 17},
        {"@device:NACK.9.Auth_Checks.__RPCS.SSHNP@policy", NP_POLICY_NACK, 9},
        {"error.1.auth_checks.__rpcs.sshnp@policy", NP_POLICY_ERROR, 1},
        {"@device:request.17.auth_checks.__rpcs.sshnp@policy", 0, 0},
        {"@device:success.x7.auth_checks.__rpcs.sshnp@policy", 0, 0},
        {"@device:success..auth_checks.__rpcs.sshnp@policy", 0, 0},
        {"@device:success.17.auth_checks.sshnp@policy", 0, 0},
        {"@device:ping.garage.sshnp@alice", 0, 0},
        {"@device:success.17.other.__rpcs.sshnp@policy", 0, 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int kind = -1;
        int64_t id = -1;
        int r = np_policy_key_parse(cases[i].key, &kind, &id);
        if (cases[i].kind) {
            assert_int_equal(r, 0);
            assert_int_equal(kind, cases[i].kind);
            assert_int_equal(id, cases[i].id);
        } else {
            assert_int_equal(r, NP_ERR_FORMAT);
            assert_int_equal(kind, 0);
        }
    }
}

static void test_policy_response_parse(void **state)
{
    static const char *bad[] = {
        "",
        "[]",
        "{\"respType\":\"success\"}",
        "{\"reqId\":\"1\",\"respType\":\"ack\"}",
        "{\"reqId\":1.5,\"respType\":\"ack\"}",
        "{\"reqId\":1,\"respType\":\"maybe\"}",
        "{\"reqId\":1,\"respType\":\"success\"}",
        "{\"reqId\":1,\"respType\":\"success\",\"payload\":{}}",
        "{\"reqId\":1,\"respType\":\"success\",\"payload\":{\"authorized\":\"yes\"}}",
        "{\"reqId\":1,\"respType\":\"success\",\"payload\":{\"authorized\":true,"
        "\"permitOpen\":\"a:1\"}}",
        "{\"reqId\":1,\"respType\":\"success\",\"payload\":{\"authorized\":true,"
        "\"permitOpen\":[\"a:1,b:2\"]}}",
        "{\"reqId\":1,\"respType\":\"success\",\"payload\":{\"authorized\":true,"
        "\"permitOpen\":[\"nocolon\"]}}",
        "{\"reqId\":1,\"respType\":\"success\",\"payload\":{\"authorized\":true,"
        "\"message\":5}}",
    };
    struct np_policy_answer *a = NULL;
    char *csv = NULL;
    const char *ok =
        "{\"reqId\":1729730000123456,\"respType\":\"success\",\"payload\":"
        "{\"authorized\":true,\"message\":\"fine\",\"permitOpen\":[\"h:22\",\"*:80\"]}}";
    (void)state;

    assert_int_equal(np_policy_response_parse(ok, strlen(ok), &a), 0);
    assert_int_equal(a->req_id, 1729730000123456LL);
    assert_int_equal(a->type, NP_POLICY_SUCCESS);
    assert_int_equal(a->authorized, 1);
    assert_string_equal(a->message, "fine");
    assert_int_equal(a->n_permit, 2);
    assert_int_equal(np_policy_answer_permit_csv(a, &csv), 0);
    assert_string_equal(csv, "h:22,*:80");
    np_free(csv);
    np_policy_answer_free(a);
    a = NULL;
    ok = "{\"reqId\":3,\"respType\":\"ack\",\"payload\":{}}";
    assert_int_equal(np_policy_response_parse(ok, strlen(ok), &a), 0);
    assert_int_equal(a->type, NP_POLICY_ACK);
    np_policy_answer_free(a);
    a = NULL;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (np_policy_response_parse(bad[i], strlen(bad[i]), &a) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_null(a);
    }
}

/* ---- ssh public keys ---------------------------------------------------- */

static void test_pubkey_table(void **state)
{
    static const struct {
        const char *line;
        int ok;
    } cases[] = {
        {"ssh-ed25519 " ED_BLOB, 1},
        {"ssh-ed25519 " ED_BLOB " user@host", 1},
        {"ssh-ed25519 " ED_BLOB " user@host\n", 1},
        {"ssh-ed25519 " ED_BLOB " user@host\r\n", 1},
        {"  ssh-ed25519 " ED_BLOB "  ", 1},
        {"ssh-rsa " RSA_BLOB " k", 1},
        {"rsa-sha2-512 " RSA_BLOB, 1},
        {"rsa-sha2-256 " RSA_BLOB, 1},
        {"ecdsa-sha2-nistp256 " ECDSA_BLOB, 1},
        {"ssh-dss " ED_BLOB, 0},                              /* type not allowed */
        {"command=\"sh\" ssh-ed25519 " ED_BLOB, 0},           /* options smuggled */
        {"ssh-ed25519 " ED_BLOB "\nssh-ed25519 " ED_BLOB, 0}, /* two lines */
        {"ssh-ed25519 " ED_BLOB " a\tb", 0},                  /* control character */
        {"ssh-ed25519 " ED_BLOB " a\x7f", 0},                 /* DEL */
        {"ssh-ed25519 AAAA!!!!", 0},                          /* not base64 */
        {"ssh-ed25519 " RSA_BLOB, 0},                         /* blob of another type */
        {"ssh-rsa " ED_BLOB, 0},                              /* same */
        {"ssh-ed25519", 0},                                   /* no key */
        {"ssh-ed25519 ", 0},
        {"", 0},
        {"\n", 0},
        {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", 0}, /* name only, no key */
        {"ssh-ed25519 " ED_BLOB "\n\n", 0},
    };
    char err[128];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = np_ssh_pubkey_check(cases[i].line, strlen(cases[i].line), err, sizeof(err));
        if ((r == 0) != cases[i].ok)
            fail_msg("case %zu (%s): got %d (%s)", i, cases[i].line, r, err);
        if (!cases[i].ok)
            assert_true(err[0] != '\0');
    }
    {
        char *big = np_malloc(NP_SSH_PUBKEY_MAX + 10);
        assert_non_null(big);
        memset(big, 'A', NP_SSH_PUBKEY_MAX + 9);
        memcpy(big, "ssh-rsa ", 8);
        assert_int_equal(np_ssh_pubkey_check(big, NP_SSH_PUBKEY_MAX + 9, NULL, 0), NP_ERR_TOOBIG);
        np_free(big);
    }
    assert_int_equal(np_authkeys_perm_check(NULL), 0);
    assert_int_equal(np_authkeys_perm_check(""), 0);
    assert_int_equal(np_authkeys_perm_check("no-pty,from=\"10.0.0.0/8\""), 0);
    assert_int_equal(np_authkeys_perm_check("no-pty\ncommand=\"sh\""), NP_ERR_FORMAT);
    assert_int_equal(np_authkeys_perm_check("no-pty\r"), NP_ERR_FORMAT);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = np_calloc(1, 65536);
    size_t n;

    assert_non_null(f);
    assert_non_null(buf);
    n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_authorized_keys(void **state)
{
    char dir[] = "/tmp/sshnpd-ak-XXXXXX", sub[128], path[160];
    const char *k1 = "ssh-ed25519 " ED_BLOB " alice@laptop\n";
    const char *k1b = "ssh-ed25519 " ED_BLOB " other";
    const char *k2 = "ssh-rsa " RSA_BLOB;
    struct stat st;
    char *c;
    int fd;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/.ssh", dir);
    snprintf(path, sizeof(path), "%s/authorized_keys", sub);
    /* missing dir and file are created 0700 / 0600 */
    assert_int_equal(np_authkeys_add(path, NULL, k1, strlen(k1)), 0);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    c = slurp(path);
    assert_string_equal(c, "ssh-ed25519 " ED_BLOB " alice@laptop\n");
    np_free(c);
    /* only once, whatever the comment */
    assert_int_equal(np_authkeys_add(path, NULL, k1, strlen(k1)), NP_ERR_EXISTS);
    assert_int_equal(np_authkeys_add(path, "no-pty", k1b, strlen(k1b)), NP_ERR_EXISTS);
    /* -S prefix; bad prefix or key refused */
    assert_int_equal(np_authkeys_add(path, "no-pty,no-X11-forwarding", k2, strlen(k2)), 0);
    assert_int_equal(np_authkeys_add(path, "x\ny", k1b, strlen(k1b)), NP_ERR_FORMAT);
    assert_int_equal(np_authkeys_add(path, NULL, "ssh-dss AAAA", 12), NP_ERR_FORMAT);
    c = slurp(path);
    assert_string_equal(c, "ssh-ed25519 " ED_BLOB " alice@laptop\n"
                           "no-pty,no-X11-forwarding ssh-rsa " RSA_BLOB "\n");
    np_free(c);
    unlink(path);

    /* an existing file that does not end in a newline stays intact */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "ssh-rsa " RSA_BLOB " old", 8 + strlen(RSA_BLOB) + 4),
                     (ssize_t)(8 + strlen(RSA_BLOB) + 4));
    close(fd);
    assert_int_equal(np_authkeys_add(path, NULL, k1, strlen(k1)), 0);
    c = slurp(path);
    assert_string_equal(c, "ssh-rsa " RSA_BLOB " old\n"
                           "ssh-ed25519 " ED_BLOB " alice@laptop\n");
    np_free(c);
    assert_int_equal(np_authkeys_add(path, NULL, k2, strlen(k2)), NP_ERR_EXISTS);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

/* ---- command line ------------------------------------------------------- */

static int parse(struct sshnpd_options *o, char *err, size_t errlen, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;
    FILE *out = fopen("/dev/null", "w");
    int r;

    argv[argc++] = "sshnpd";
    va_start(ap, errlen);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 63;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    r = sshnpd_options_parse(argc, argv, o, out, err, errlen);
    fclose(out);
    return r;
}

static void test_options(void **state)
{
    struct sshnpd_options o;
    char err[256];
    (void)state;

    assert_int_equal(
        parse(&o, err, sizeof(err), "-a", "device", "-m", "Alice, @Bob", "-d", "My Pi", NULL), 0);
    assert_string_equal(o.atsign, "@device");
    assert_int_equal(o.n_managers, 2);
    assert_string_equal(o.managers[0], "@alice");
    assert_string_equal(o.managers[1], "@bob");
    assert_string_equal(o.device, "my_pi");
    assert_int_equal(o.local_sshd_port, 22);
    assert_null(o.permit_open);
    assert_string_equal(o.device_group, "__none__");
    assert_string_equal(o.root_host, "root.atsign.org");
    assert_int_equal(o.root_port, 64);
    assert_int_equal(o.hide, 0);
    sshnpd_options_free(&o);

    assert_int_equal(parse(&o, err, sizeof(err), "--atsign", "@device", "--manager", "@alice",
                           "--managers", "@carol", "-p", "@Policy", "-k", "/k.atKeys", "-s", "-S",
                           "no-pty", "-h", "-u", "--ssh-algorithm", "ssh-rsa",
                           "--ephemeral-permissions", "x", "--local-sshd-port", "2222", "--dg",
                           "lab", "--po", "localhost:2222,*:443", "--storage-path", "/tmp/s",
                           "--root-domain", "127.0.0.1:6464", "--ca-file", "/ca.pem", "-v", "-v",
                           "--syslog", "--keyFile", "/k2.atKeys", NULL),
                     0);
    assert_int_equal(o.n_managers, 2);
    assert_string_equal(o.policy, "@policy");
    assert_string_equal(o.key_file, "/k2.atKeys");
    assert_int_equal(o.sshpublickey, 1);
    assert_string_equal(o.pubkey_perm, "no-pty");
    assert_int_equal(o.hide, 1);
    assert_int_equal(o.un_hide, 1);
    assert_int_equal(o.local_sshd_port, 2222);
    assert_string_equal(o.device_group, "lab");
    assert_string_equal(o.permit_open, "localhost:2222,*:443");
    assert_string_equal(o.root_host, "127.0.0.1");
    assert_int_equal(o.root_port, 6464);
    assert_string_equal(o.ca_file, "/ca.pem");
    assert_int_equal(o.verbose, 2);
    assert_int_equal(o.syslog, 1);
    assert_string_equal(o.device, "default");
    sshnpd_options_free(&o);

    /* policy alone is enough */
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@d", "--policy-manager", "@p", NULL), 0);
    sshnpd_options_free(&o);

    assert_int_equal(parse(&o, err, sizeof(err), "--help", NULL), 1);
    sshnpd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "--version", NULL), 1);
    sshnpd_options_free(&o);

    assert_int_equal(parse(&o, err, sizeof(err), "-m", "@a", NULL), NP_ERR_INVAL);
    assert_non_null(strstr(err, "--atsign"));
    sshnpd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@d", NULL), NP_ERR_INVAL);
    assert_non_null(strstr(err, "--managers"));
    sshnpd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@d", "-m", "@a", "-d", "bad!name", NULL),
                     NP_ERR_INVAL);
    assert_string_equal(err, NP_DEVICE_NAME_ERROR);
    sshnpd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@d", "-m", "@a", "-S", "a\nb", NULL),
                     NP_ERR_INVAL);
    sshnpd_options_free(&o);
    assert_int_equal(
        parse(&o, err, sizeof(err), "-a", "@d", "-m", "@a", "--permit-open", "nope", NULL),
        NP_ERR_INVAL);
    sshnpd_options_free(&o);
    assert_int_equal(
        parse(&o, err, sizeof(err), "-a", "@d", "-m", "@a", "--local-sshd-port", "0", NULL),
        NP_ERR_INVAL);
    sshnpd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@d", "-m", "@a b", NULL), NP_ERR_INVAL);
    sshnpd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@d", "-m", "@a", "--bogus", NULL),
                     NP_ERR_INVAL);
    sshnpd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@d", "-m", "@a", "extra", NULL),
                     NP_ERR_INVAL);
    sshnpd_options_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-a", "@d", "-m", "@a", "-k", NULL), NP_ERR_INVAL);
    sshnpd_options_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_types),        cmocka_unit_test(test_permit_table),
        cmocka_unit_test(test_device_names),     cmocka_unit_test(test_policy_texts),
        cmocka_unit_test(test_policy_key_parse), cmocka_unit_test(test_policy_response_parse),
        cmocka_unit_test(test_pubkey_table),     cmocka_unit_test(test_authorized_keys),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
