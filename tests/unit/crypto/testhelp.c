/* tests/unit/crypto/testhelp.c - see testhelp.h. */
#include "testhelp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *th_tmpdir_new(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];

    if (!base || !*base)
        base = "/tmp";
    snprintf(tmpl, sizeof(tmpl), "%s/np-test-XXXXXX", base);
    if (!mkdtemp(tmpl))
        return NULL;
    return strdup(tmpl);
}

void th_tmpdir_remove(char *dir)
{
    DIR *d;
    struct dirent *e;

    if (!dir)
        return;
    if ((d = opendir(dir)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            char *p;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if ((p = th_path(dir, e->d_name)) != NULL) {
                unlink(p);
                free(p);
            }
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

char *th_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int th_write_file(const char *path, const void *data, size_t len, int mode)
{
    const char *p = data;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        return -1;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fchmod(fd, (mode_t)mode) != 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

unsigned char *th_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
            if (len)
                *len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

int th_copy_file(const char *from, const char *to, int mode)
{
    size_t n = 0;
    unsigned char *b = th_read_file(from, &n);
    int r;

    if (!b)
        return -1;
    r = th_write_file(to, b, n, mode);
    free(b);
    return r;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int th_unhex(const char *hex, unsigned char *out, size_t len)
{
    if (strlen(hex) != 2 * len)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int a = hexval(hex[2 * i]), b = hexval(hex[2 * i + 1]);
        if (a < 0 || b < 0)
            return -1;
        out[i] = (unsigned char)(a << 4 | b);
    }
    return 0;
}

int th_run(char *const argv[], int timeout_ms)
{
    pid_t pid = fork();
    int status = 0;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    /* Poll every 10 ms: bounded by timeout_ms / 10 iterations. */
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (w < 0 && errno != EINTR)
            return -1;
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int th_openssl(const char *a0, ...)
{
    char *argv[17];
    int n = 0;
    va_list ap;
    const char *a;

    argv[n++] = (char *)"openssl";
    argv[n++] = (char *)a0;
    va_start(ap, a0);
    while ((a = va_arg(ap, const char *)) != NULL && n < 16)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return th_run(argv, 60000);
}
