/*
 * Durability of acknowledged writes (atprotocol.md 10.2: no data:<commitId>
 * before the write is durable). A child process does 1,000 puts and writes
 * "<index> <commitId>\n" to a pipe after each put returns 0; the parent
 * SIGKILLs it at a random point, then reopens the store and checks that every
 * acknowledged key is present with its value and its commit entry.
 * SIGKILL tests the process-crash half; power loss is covered by
 * synchronous=FULL (not something a unit test can pull the plug on).
 * Run twice: the default (synchronous=FULL) and KS_OPEN_SYNC_NORMAL, which
 * must keep the same promise for a process crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keystore.h"
#include "store_test_util.h"
#include "util/err.h"
#include "util/str.h"
#include "util/time.h"

#define NPUTS      1000
#define DEADLINE_S 120

static void value_of(int i, char *dst, size_t size)
{
    snprintf(dst, size, "value-%d-%0*d", i, 40 + i % 50, i);
}

/* The child: never returns. */
static void child_run(const char *dir, unsigned flags, int wfd)
{
    struct ks *ks = NULL;
    char key[32], val[128], line[64];
    int i, n;

    if (ks_open(dir, "@durable", flags, &ks) != 0)
        _exit(3);
    for (i = 0; i < NPUTS; i++) {
        struct ks_times t = {np_wall_ms(), 0, 0, 0};
        struct ks_put_result res;
        snprintf(key, sizeof(key), "k%04d.app@durable", i);
        value_of(i, val, sizeof(val));
        if (ks_put(ks, key, val, "{}", &t, KS_OP_UPDATE, &res) != 0)
            _exit(4);
        n = snprintf(line, sizeof(line), "%d %lld\n", i, (long long)res.commit_id);
        /* Short lines on a pipe are written atomically. */
        if (write(wfd, line, (size_t)n) != n)
            _exit(5);
    }
    /* Done: wait (bounded) for the parent's SIGKILL, so that it always
     * kills a live process wherever the race left the child. */
    for (i = 0; i < DEADLINE_S; i++)
        sleep(1);
    ks_close(ks);
    _exit(6);
}

static void sigkill_keeps_acknowledged_writes(unsigned flags)
{
    char dir[256], buf[8192], key[32], val[128];
    static int64_t ids[NPUTS];
    size_t have = 0;
    int pfd[2], acked = 0, kill_after, status = 0, eof = 0, i;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    int64_t deadline = np_mono_ms() + DEADLINE_S * 1000LL, last;
    struct ks *ks = NULL;
    struct ks_entry *e = NULL;
    struct ks_commit_list *cl = NULL;
    pid_t pid;

    tu_mkdtemp(dir, sizeof(dir));
    srand(seed);
    kill_after = 1 + rand() % (NPUTS - 2);
    print_message("seed %u: SIGKILL after %d acknowledged puts\n", seed, kill_after);
    assert_int_equal(pipe(pfd), 0);
    /* A small pipe keeps the child at most a few hundred puts ahead of the
     * parent's reading, so the kill lands near kill_after. */
    (void)fcntl(pfd[1], F_SETPIPE_SZ, 4096);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        child_run(dir, flags, pfd[1]);
    }
    close(pfd[1]);

    /* Read acknowledgements; kill once kill_after have arrived. After the
     * kill, drain what is still in the pipe: those were acknowledged too. */
    while (!eof) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        ssize_t n;
        char *nl;
        assert_true(np_mono_ms() < deadline);
        if (poll(&p, 1, 1000) < 0 && errno != EINTR)
            fail_msg("poll: %s", strerror(errno));
        if (p.revents == 0)
            continue;
        n = read(pfd[0], buf + have, sizeof(buf) - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n >= 0);
        if (n == 0)
            eof = 1;
        have += (size_t)n;
        buf[have] = '\0';
        while ((nl = strchr(buf, '\n')) != NULL) {
            int64_t idx = -1, id = -1;
            char *sp = strchr(buf, ' ');
            *nl = '\0';
            assert_non_null(sp);
            *sp = '\0';
            assert_int_equal(np_parse_i64(buf, 0, NPUTS - 1, &idx), 0);
            assert_int_equal(np_parse_i64(sp + 1, 0, INT64_MAX, &id), 0);
            assert_int_equal(idx, acked); /* in order, none missing */
            ids[acked++] = id;
            have -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have + 1);
            if (acked == kill_after)
                assert_int_equal(kill(pid, SIGKILL), 0);
        }
    }
    close(pfd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(acked >= kill_after && acked <= NPUTS);
    print_message("%d puts acknowledged before the kill took effect\n", acked);

    /* Every acknowledged write is there, with its commit entry. */
    assert_int_equal(ks_open(dir, "@durable", flags, &ks), 0);
    for (i = 0; i < acked; i++) {
        snprintf(key, sizeof(key), "k%04d.app@durable", i);
        value_of(i, val, sizeof(val));
        assert_int_equal(ks_get(ks, key, np_wall_ms(), &e), 0);
        assert_string_equal(e->value, val);
        ks_entry_free(e);
        if (i)
            assert_true(ids[i] == ids[i - 1] + 1);
    }
    assert_int_equal(ks_commits_since(ks, -1, 0, NULL, NULL, &cl), 0);
    assert_true(cl->count >= (size_t)acked && cl->count <= (size_t)acked + 1);
    for (i = 0; i < acked; i++) {
        snprintf(key, sizeof(key), "k%04d.app@durable", i);
        assert_true(cl->items[i]->id == ids[i]);
        assert_string_equal(cl->items[i]->key, key);
    }
    ks_commit_list_free(cl);
    assert_int_equal(ks_last_commit_id(ks, NULL, NULL, &last), 0);
    assert_true(last >= ids[acked - 1]);
    /* The store still takes writes, continuing the ids. */
    {
        struct ks_times t = {np_wall_ms(), 0, 0, 0};
        struct ks_put_result res;
        assert_int_equal(ks_put(ks, "after@durable", "x", NULL, &t, KS_OP_UPDATE, &res), 0);
        assert_true(res.commit_id == last + 1);
    }
    ks_close(ks);
    assert_int_equal(tu_rmtree(dir), 0);
}

static void test_sigkill_keeps_acknowledged_writes(void **state)
{
    (void)state;
    sigkill_keeps_acknowledged_writes(0);
}

static void test_sigkill_keeps_acknowledged_writes_sync_normal(void **state)
{
    (void)state;
    sigkill_keeps_acknowledged_writes(KS_OPEN_SYNC_NORMAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_keeps_acknowledged_writes),
        cmocka_unit_test(test_sigkill_keeps_acknowledged_writes_sync_normal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
