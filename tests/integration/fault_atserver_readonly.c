/*
 * A read-only data folder under the real atserver binary on 127.0.0.1
 * (issue 9: "disk full or read-only data folder: it refuses writes with an
 * error code, keeps what it had, and recovers when space returns"; the disk
 * full half is in fault_atserver_store.c). Mode bits do not stop root, so
 * two mechanisms that do are used:
 *
 *   1. a read-only MOUNT: the server runs in its own mount namespace
 *      (`unshare -m`, or `unshare -rm` for an ordinary user) where its data
 *      folder is a bind mount of itself, remounted read-only before the
 *      server starts. (Linux refuses to remount a mount read-only while a
 *      process has a file on it open for writing - EBUSY - so a running
 *      atserver, which keeps its SQLite files open, cannot be switched;
 *      the folder is read-only from the start instead.) Keys written by an
 *      earlier run stay readable (llookup, plookup by another atSign, scan,
 *      notify:status); update, delete and notify are refused with
 *      error:AT0002 (the connection is closed, as atprotocol.md wants for
 *      AT0002; other connections keep working). Then the folder is
 *      remounted read-write from outside (nsenter on the server's pid) and
 *      writes work again without a restart, even on a connection opened
 *      while the folder was read-only.
 *   2. the folder turns read-only UNDER the running server: the immutable
 *      attribute (FS_IOC_SETFLAGS, needs CAP_LINUX_IMMUTABLE and ext4, xfs,
 *      btrfs or tmpfs) on the folder, the database files and their WALs
 *      makes writes through the server's already open descriptors fail
 *      (EPERM), which is what a file system that went read-only does.
 *      The -shm files stay writable: SQLite maps them, and a write fault on
 *      an immutable mapping is SIGBUS, not an error a program can handle.
 *      Same checks: AT0002, reads keep working, recovery without restart.
 * In both cases every acknowledged key is checked after a normal restart.
 * A mechanism that does not work here FAILS the test with the reason; it is
 * never skipped. Every process is stopped by pid (PR_SET_PDEATHSIG through
 * itest_spawn); the mount namespace dies with the server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astest.h"
#include "crypto/atkeys.h"
#include "fault_common.h"
#include "itest.h"
#include "net/bclient.h"
#include "util/err.h"
#include "util/log.h"

#define NKEYS    20
#define RESP_MAX 65536
#define BOB_AT   "@bob\xf0\x9f\x9b\xa0"

/* How the test process can get a private mount namespace. */
enum ns_mode { NS_NONE, NS_ROOT, NS_USER };

static const char *prog;
static char dir[512], ca[700], cert[700], key[700], data[600], conf[600];
static char log_path[600], wrapper[600], probe_dir[600];
static struct np_atkeys *alice_keys, *bob_keys;
static pid_t pid = -1;
static int port_a, port_b;
static char prompt_a[64], prompt_b[64];
static char *resp; /* RESP_MAX bytes */
static enum ns_mode ns_mode = NS_NONE;
static char ns_why[600];

/* ---- the server --------------------------------------------------------- */

/* Start `program` (the atserver or the read-only wrapper) on data. */
static void start_with(const char *program)
{
    const char *atsigns[2] = {ASTEST_ALICE, ASTEST_BOB};
    int ports[2];

    if (pid > 0) { /* left running by a failed test case */
        itest_stop(pid, 10000, NULL);
        pid = -1;
    }
    assert_int_equal(
        astest_start(program, data, cert, key, conf, log_path, NULL, atsigns, ports, 2, &pid), 0);
    port_a = ports[0];
    port_b = ports[1];
}

static void stop(void)
{
    int st = -1;

    if (pid <= 0)
        return;
    assert_int_equal(itest_stop(pid, 10000, &st), 0);
    pid = -1;
    if (st != 0) {
        itest_dump_file("atserver log", log_path);
        fail_msg("the atserver exited with status %d", st);
    }
}

static struct net_bclient *login(int port, const char *atsign, const struct np_atkeys *k)
{
    struct net_bclient *c = NULL;

    assert_int_equal(astest_connect(port, ca, &c), 0);
    if (astest_login_pkam(c, atsign, k) != 0)
        fail_msg("pkam login as %s failed", atsign);
    return c;
}

static struct net_bclient *alice(void)
{
    return login(port_a, ASTEST_ALICE, alice_keys);
}

static struct net_bclient *bob(void)
{
    return login(port_b, ASTEST_BOB, bob_keys);
}

/* Send line, return the response body (in resp). */
static const char *cmd(struct net_bclient *c, const char *line, const char *prompt)
{
    int r = astest_cmd(c, line, prompt, resp, RESP_MAX);

    if (r != 0)
        fail_msg("\"%.80s\": no response (%s)", line, np_strerror(r));
    return resp;
}

static void cmd_is(struct net_bclient *c, const char *line, const char *prompt, const char *want)
{
    const char *got = cmd(c, line, prompt);

    if (strcmp(got, want) != 0)
        fail_msg("\"%.80s\" answered \"%.200s\", expected \"%.200s\"", line, got, want);
}

/* The answer is data:<something>; copy something to out (may be NULL). */
static void cmd_data(struct net_bclient *c, const char *line, const char *prompt, char *out,
                     size_t size)
{
    const char *got = cmd(c, line, prompt);

    if (strncmp(got, "data:", 5) != 0)
        fail_msg("\"%.80s\" answered \"%.200s\", expected data:", line, got);
    if (out)
        snprintf(out, size, "%s", got + 5);
}

/* whatever else comes first, the connection ends */
static void expect_eof(struct net_bclient *c)
{
    assert_int_equal(astest_read_to_end(c), NP_ERR_EOF);
}

/*
 * A write the read-only folder cannot take, on a fresh connection: the
 * answer is exactly error:AT0002-<message> with a message that names the
 * operation `what` and the cause, and the connection is then closed.
 */
static void refused(int port, const char *as, const struct np_atkeys *k, const char *prompt,
                    const char *line, const char *what)
{
    struct net_bclient *c = login(port, as, k);
    char want[128];
    const char *got = cmd(c, line, prompt);

    snprintf(want, sizeof(want), "%s failed: ", what);
    if (strncmp(got, "error:AT0002-", 13) != 0 || strstr(got, want) == NULL ||
        (strstr(got, "permission") == NULL && strstr(got, "read-only") == NULL &&
         strstr(got, "I/O") == NULL))
        fail_msg("\"%.80s\" on a read-only folder answered \"%.300s\"; expected "
                 "error:AT0002-... \"%s<cause>\"",
                 line, got, want);
    expect_eof(c);
    net_bclient_close(c);
}

static void llookup_is(struct net_bclient *c, const char *name, const char *want)
{
    char line[256], w[256];

    snprintf(line, sizeof(line), "llookup:public:%s%s", name, ASTEST_ALICE);
    if (want) {
        snprintf(w, sizeof(w), "data:%s", want);
        cmd_is(c, line, prompt_a, w);
    } else if (strncmp(cmd(c, line, prompt_a), "error:AT0015-", 13) != 0) {
        fail_msg("%s should not exist but reads \"%.200s\"", name, resp);
    }
}

/* public:<tag><i>@alice = "v<i>-<tag>" for i < NKEYS (acknowledged). */
static void write_keys(struct net_bclient *a, const char *tag)
{
    char line[256];

    for (int i = 0; i < NKEYS; i++) {
        snprintf(line, sizeof(line), "update:public:%s%d%s v%d-%s", tag, i, ASTEST_ALICE, i, tag);
        cmd_data(a, line, prompt_a, NULL, 0);
    }
}

/* Every key of write_keys(tag) but `except` (-1: none) reads back. */
static void check_keys(struct net_bclient *a, const char *tag, int except)
{
    char name[64], want[64];

    for (int i = 0; i < NKEYS; i++) {
        snprintf(name, sizeof(name), "%s%d", tag, i);
        snprintf(want, sizeof(want), "v%d-%s", i, tag);
        llookup_is(a, name, i == except ? NULL : want);
    }
}

/* scan on a lists every key of write_keys(tag). */
static void check_scan(struct net_bclient *a, const char *tag)
{
    char name[128];

    cmd(a, "scan", prompt_a);
    assert_true(strncmp(resp, "data:[", 6) == 0);
    for (int i = 0; i < NKEYS; i++) {
        snprintf(name, sizeof(name), "\"public:%s%d%s\"", tag, i, ASTEST_ALICE);
        if (strstr(resp, name) == NULL)
            fail_msg("scan does not list %s: %.300s", name, resp);
    }
}

static void status_is(struct net_bclient *a, const char *id, const char *want)
{
    char line[256];

    snprintf(line, sizeof(line), "notify:status:%s", id);
    cmd_is(a, line, prompt_a, want);
}

/* ---- mount namespaces --------------------------------------------------- */

/* Run sh -c script with $0, $1, $2 = a0, a1, a2; its exit status. */
static int sh(const char *script, const char *a0, const char *a1, const char *a2)
{
    const char *argv[] = {"/bin/sh", "-c", script, a0, a1, a2, NULL};
    char out[700];
    int st = -1;

    snprintf(out, sizeof(out), "%s/sh.out", dir);
    if (itest_run(argv, out, 20000, &st) != 0)
        return -1;
    if (st != 0)
        itest_dump_file("sh output", out);
    return st;
}

/* Can this process make a folder read-only in a private mount namespace of
 * its own (as root, else in a user namespace)? Probed on probe_dir: the
 * folder must be read-only inside and stay writable outside. */
static enum ns_mode probe_ns(void)
{
    static const char *const script =
        "$1 /bin/sh -c 'mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && "
        "if (: >\"$0/inside\") 2>/dev/null; then echo \"still writable\"; exit 1; fi' \"$0\"";
    static const char *const how[2] = {"unshare -m --propagation private",
                                       "unshare -r -m --propagation private"};
    char inside[700];
    int n = 0;

    snprintf(inside, sizeof(inside), "%s/inside", probe_dir);
    for (int i = geteuid() == 0 ? 0 : 1; i < 2; i++) {
        int st = sh(script, probe_dir, how[i], NULL);
        if (st == 0 && access(inside, F_OK) != 0)
            return i == 0 ? NS_ROOT : NS_USER;
        n += snprintf(ns_why + n, sizeof(ns_why) - (size_t)n, "%s`%s` + read-only bind mount: %s",
                      n ? "; " : "", how[i], st == 0 ? "wrote anyway" : "failed");
        unlink(inside);
    }
    return NS_NONE;
}

/* The wrapper the server runs through: its own mount namespace, data
 * bind-mounted read-only, then exec of the atserver with the same pid. */
static void write_wrapper(void)
{
    FILE *f = fopen(wrapper, "w");

    assert_non_null(f);
    if (strchr(data, '\'') || strchr(prog, '\''))
        fail_msg("quote in a path: %s %s", data, prog);
    fprintf(f,
            "#!/bin/sh\n"
            "# atserver with its data folder read-only, in a mount namespace of its own\n"
            "exec unshare %s--propagation private /bin/sh -c "
            "'mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"' "
            "'%s' '%s' \"$@\"\n",
            ns_mode == NS_USER ? "-r -m " : "-m ", data, prog);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(wrapper, 0700), 0);
}

/* Remount the data folder in the server's namespace (mode "ro" or "rw"). */
static void remount(const char *mode)
{
    char spid[24];
    int st;

    snprintf(spid, sizeof(spid), "%d", (int)pid);
    st =
        sh(ns_mode == NS_USER
               ? "exec nsenter -t \"$0\" -U --preserve-credentials -m mount -o remount,bind,\"$1\" "
                 "\"$2\""
               : "exec nsenter -t \"$0\" -m mount -o remount,bind,\"$1\" \"$2\"",
           spid, mode, data);
    if (st != 0)
        fail_msg("nsenter -t %s: remount %s %s failed (status %d)", spid, data, mode, st);
}

/* ---- immutable files ---------------------------------------------------- */

static int set_immutable(const char *path, int on)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW), flags = 0, r = -1;

    if (fd < 0)
        return -errno;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
        flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
        r = ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0 ? 0 : -errno;
    } else {
        r = -errno;
    }
    close(fd);
    return r;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Set or clear the immutable attribute on path and everything under it
 * (no symlinks followed). Setting skips SQLite's mapped -shm files. Returns
 * the number of entries changed, or a negative errno of the first failure
 * (clearing carries on regardless). */
static int immutable_tree(const char *path, int on)
{
    struct stat st;
    int n = 0, r;

    if (lstat(path, &st) != 0 || S_ISLNK(st.st_mode))
        return 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            char p[1200];
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
            if ((r = immutable_tree(p, on)) < 0 && on) {
                closedir(d);
                return r;
            }
            n += r > 0 ? r : 0;
        }
        if (d)
            closedir(d);
    } else if (!S_ISREG(st.st_mode) || (on && ends_with(path, "-shm"))) {
        return 0;
    }
    if ((r = set_immutable(path, on)) < 0)
        return on ? r : n;
    return n + 1;
}

/* ---- setup -------------------------------------------------------------- */

static int group_setup(void **state)
{
    char caout[560];
    FILE *f;

    (void)state;
    signal(SIGPIPE, SIG_IGN); /* the server closes after AT0002 */
    np_log_set_level(NP_LOG_WARN);
    prog = itest_env("NP_ATSERVER", NULL);
    if (itest_tmpdir("fault-ro", dir, sizeof(dir)) != 0)
        return -1;
    snprintf(caout, sizeof(caout), "%s/ca", dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", caout);
    snprintf(cert, sizeof(cert), "%s/server.pem", caout);
    snprintf(key, sizeof(key), "%s/server.key", caout);
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(log_path, sizeof(log_path), "%s/server.log", dir);
    snprintf(conf, sizeof(conf), "%s/server.conf", dir);
    snprintf(wrapper, sizeof(wrapper), "%s/atserver-ro.sh", dir);
    snprintf(probe_dir, sizeof(probe_dir), "%s/probe", dir);
    snprintf(prompt_a, sizeof(prompt_a), "%s@", ASTEST_ALICE);
    snprintf(prompt_b, sizeof(prompt_b), "%s@", ASTEST_BOB);
    if ((resp = malloc(RESP_MAX)) == NULL || mkdir(probe_dir, 0700) != 0 ||
        itest_mkca(caout) != 0 ||
        astest_load_atkeys(dir, "alice-wrench.atKeys", &alice_keys) != 0 ||
        astest_load_atkeys(dir, "bob-wrench.atKeys", &bob_keys) != 0)
        return -1;
    if (astest_create(prog, data, ASTEST_ALICE, 40001, ASTEST_ALICE_SECRET) != 0 ||
        astest_create(prog, data, ASTEST_BOB, 40002, ASTEST_BOB_SECRET) != 0 ||
        astest_set_port(data, ASTEST_ALICE, 0) != 0 || astest_set_port(data, ASTEST_BOB, 0) != 0)
        return -1;
    if ((f = fopen(conf, "w")) == NULL)
        return -1;
    fputs("stats_interval_s = -1\n", f);
    fclose(f);
    {
        const char *atsigns[2] = {ASTEST_ALICE, ASTEST_BOB};
        int ports[2], st = -1, r;
        if (astest_start(prog, data, cert, key, conf, log_path, NULL, atsigns, ports, 2, &pid) != 0)
            return -1;
        r = astest_provision(ports[0], ca, ASTEST_ALICE, ASTEST_ALICE_SECRET, alice_keys) == 0 &&
                    astest_provision(ports[1], ca, ASTEST_BOB, ASTEST_BOB_SECRET, bob_keys) == 0
                ? 0
                : -1;
        itest_stop(pid, 10000, &st);
        pid = -1;
        if (r != 0 || st != 0)
            return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    itest_stop(pid, 5000, NULL);
    immutable_tree(dir, 0); /* never leave undeletable files behind */
    np_atkeys_free(alice_keys);
    np_atkeys_free(bob_keys);
    free(resp);
    if (getenv("NP_KEEP_TMP") == NULL)
        itest_rmtree(dir);
    return 0;
}

/* ---- the refusals, shared by both cases ---------------------------------- */

/* With the folder read-only: update, delete and notify by @alice, an update
 * by @bob and a notification to @bob are all refused with AT0002. */
static void all_writes_refused(const char *tag)
{
    char line[256];

    snprintf(line, sizeof(line), "update:public:%snew%s refused", tag, ASTEST_ALICE);
    refused(port_a, ASTEST_ALICE, alice_keys, prompt_a, line, "update");
    snprintf(line, sizeof(line), "delete:public:%s0%s", tag, ASTEST_ALICE);
    refused(port_a, ASTEST_ALICE, alice_keys, prompt_a, line, "delete");
    snprintf(line, sizeof(line), "notify:" BOB_AT ":%s.during%s:v", tag, ASTEST_ALICE);
    refused(port_a, ASTEST_ALICE, alice_keys, prompt_a, line, "notify");
    snprintf(line, sizeof(line), "update:public:%snew%s refused", tag, ASTEST_BOB);
    refused(port_b, ASTEST_BOB, bob_keys, prompt_b, line, "update");
}

/* Reads with the folder read-only, on connections a2 (alice) and b (bob)
 * that may have been opened before; nid: an acknowledged notification. */
static void reads_work(struct net_bclient *a2, struct net_bclient *b, const char *tag,
                       const char *nid)
{
    char line[256], want[64];

    check_keys(a2, tag, -1);
    check_scan(a2, tag);
    status_is(a2, nid, "data:delivered");
    snprintf(line, sizeof(line), "plookup:%s3%s", tag, ASTEST_ALICE);
    snprintf(want, sizeof(want), "data:v3-%s", tag);
    cmd_is(b, line, prompt_b, want);
    cmd_data(b, "notify:list", prompt_b, NULL, 0);
    snprintf(line, sizeof(line), "%s.before", tag);
    if (strstr(resp, line) == NULL)
        fail_msg("@bob's notify:list lacks %s: %.300s", line, resp);
}

/* After "space returns", on connection a2 (opened while read-only) and new
 * ones: update, delete and notify work again. Returns the new
 * notification's id in nid2. */
static void writes_recover(struct net_bclient *a2, const char *tag, char *nid2, size_t size)
{
    char line[256];
    struct net_bclient *b;

    snprintf(line, sizeof(line), "update:public:%safter%s yes", tag, ASTEST_ALICE);
    cmd_data(a2, line, prompt_a, NULL, 0);
    snprintf(line, sizeof(line), "%safter", tag);
    llookup_is(a2, line, "yes");
    snprintf(line, sizeof(line), "delete:public:%s1%s", tag, ASTEST_ALICE);
    cmd_data(a2, line, prompt_a, NULL, 0);
    snprintf(line, sizeof(line), "notify:" BOB_AT ":%s.after%s:v2", tag, ASTEST_ALICE);
    cmd_data(a2, line, prompt_a, nid2, size);
    status_is(a2, nid2, "data:delivered");
    b = bob();
    snprintf(line, sizeof(line), "update:public:%safter%s yes", tag, ASTEST_BOB);
    cmd_data(b, line, prompt_b, NULL, 0);
    net_bclient_close(b);
}

/* After a normal restart: everything acknowledged, nothing refused. */
static void check_after_restart(const char *tag, const char *nid, const char *nid2)
{
    struct net_bclient *a, *b;
    char line[256];

    start_with(prog);
    a = alice();
    check_keys(a, tag, 1); /* tag1 was deleted after recovery */
    snprintf(line, sizeof(line), "%safter", tag);
    llookup_is(a, line, "yes");
    snprintf(line, sizeof(line), "%snew", tag);
    llookup_is(a, line, NULL);
    status_is(a, nid, "data:delivered");
    status_is(a, nid2, "data:delivered");
    net_bclient_close(a);
    b = bob();
    snprintf(line, sizeof(line), "llookup:public:%safter%s", tag, ASTEST_BOB);
    cmd_is(b, line, prompt_b, "data:yes");
    snprintf(line, sizeof(line), "llookup:public:%snew%s", tag, ASTEST_BOB);
    assert_true(strncmp(cmd(b, line, prompt_b), "error:AT0015-", 13) == 0);
    net_bclient_close(b);
    stop();
}

/* Write the keys of tag and one notification to @bob (id in nid). */
static void write_before(struct net_bclient *a, const char *tag, char *nid, size_t size)
{
    char line[256];

    write_keys(a, tag);
    snprintf(line, sizeof(line), "notify:" BOB_AT ":%s.before%s:v1", tag, ASTEST_ALICE);
    cmd_data(a, line, prompt_a, nid, size);
    status_is(a, nid, "data:delivered");
}

/* ---- 1. a read-only mount ------------------------------------------------ */

static void test_readonly_mount(void **state)
{
    struct net_bclient *a, *a2, *b;
    char nid[128], nid2[128];
    int fails0, fails1;
    (void)state;

    ns_mode = probe_ns();
    if (ns_mode == NS_NONE)
        fail_msg("cannot make a folder read-only in a private mount namespace here (%s): this "
                 "test needs root with CAP_SYS_ADMIN, or unprivileged user namespaces",
                 ns_why);
    write_wrapper();

    /* acknowledged by a normal run */
    start_with(prog);
    a = alice();
    write_before(a, "m", nid, sizeof(nid));
    net_bclient_close(a);
    stop();

    /* the same data, read-only */
    fails0 = itest_log_count(log_path, "storage failure while");
    start_with(wrapper);
    a2 = alice();
    b = bob();
    reads_work(a2, b, "m", nid);
    all_writes_refused("m");
    assert_true(fault_alive(pid));
    /* the connections that did not write are still fine */
    reads_work(a2, b, "m", nid);
    fails1 = itest_log_count(log_path, "storage failure while");
    assert_int_equal(fails1 - fails0, 4); /* one clear error line per refused write */

    /* "space returns": read-write again, no restart */
    remount("rw");
    writes_recover(a2, "m", nid2, sizeof(nid2));
    /* and a new connection sees all of it */
    net_bclient_close(a2);
    a2 = alice();
    llookup_is(a2, "mafter", "yes");
    llookup_is(a2, "m1", NULL);
    net_bclient_close(a2);
    net_bclient_close(b);
    stop();

    check_after_restart("m", nid, nid2);
}

/* ---- 2. read-only under the running server ------------------------------- */

static void test_readonly_while_running(void **state)
{
    struct net_bclient *a, *a2, *b;
    char nid[128], nid2[128];
    int r, fails0, fails1;
    (void)state;

    /* can this process set the immutable attribute here at all? */
    {
        char p[700];
        FILE *f;
        snprintf(p, sizeof(p), "%s/immutable-probe", probe_dir);
        f = fopen(p, "w");
        assert_non_null(f);
        fclose(f);
        r = set_immutable(p, 1);
        if (r != 0)
            fail_msg("cannot set the immutable attribute on %s (%s): this test needs "
                     "CAP_LINUX_IMMUTABLE (root) and a temporary folder ($TMPDIR) on ext4, xfs, "
                     "btrfs or tmpfs",
                     p, strerror(-r));
        assert_int_equal(set_immutable(p, 0), 0);
        assert_int_equal(unlink(p), 0);
    }

    start_with(prog);
    a = alice();
    write_before(a, "w", nid, sizeof(nid));
    net_bclient_close(a);
    a2 = alice();
    b = bob();

    /* the folder turns read-only under the server */
    fails0 = itest_log_count(log_path, "storage failure while");
    r = immutable_tree(data, 1);
    if (r <= 0)
        fail_msg("setting %s immutable failed (%s)", data, r < 0 ? strerror(-r) : "no files");
    reads_work(a2, b, "w", nid);
    all_writes_refused("w");
    assert_true(fault_alive(pid));
    reads_work(a2, b, "w", nid);
    /* a new connection can still log in and read */
    a = alice();
    check_keys(a, "w", -1);
    net_bclient_close(a);
    fails1 = itest_log_count(log_path, "storage failure while");
    assert_int_equal(fails1 - fails0, 4);

    /* writable again */
    immutable_tree(data, 0);
    writes_recover(a2, "w", nid2, sizeof(nid2));
    net_bclient_close(a2);
    net_bclient_close(b);
    stop();

    check_after_restart("w", nid, nid2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readonly_mount),
        cmocka_unit_test(test_readonly_while_running),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
