/*
 * src/sshnp/sshcmd.c - build, print and start the ssh command (sshcmd.h).
 */
#include "sshcmd.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

static int add(struct sshcmd *c, const char *s)
{
    char **nv = np_realloc(c->argv, (c->argc + 2) * sizeof(*nv));

    if (!nv)
        return NP_ERR_NOMEM;
    c->argv = nv;
    if ((nv[c->argc] = np_strdup(s)) == NULL)
        return NP_ERR_NOMEM;
    nv[++c->argc] = NULL;
    return 0;
}

/* HostKeyAlias=<device>.<atSign-without-@>.sshnp */
static int add_alias(struct sshcmd *c, const char *device, const char *atsign)
{
    char buf[1024];

    if (snprintf(buf, sizeof(buf), "HostKeyAlias=%s.%s.sshnp", device, atsign) >= (int)sizeof(buf))
        return NP_ERR_TOOBIG;
    return add(c, buf);
}

/* <user>@<host> */
static int add_dest(struct sshcmd *c, const char *user, const char *host)
{
    char buf[1024];

    if (snprintf(buf, sizeof(buf), "%s@%s", user, host) >= (int)sizeof(buf))
        return NP_ERR_TOOBIG;
    return add(c, buf);
}

int sshcmd_build(const struct sshcmd_params *p, struct sshcmd *out)
{
    struct sshcmd c = {NULL, 0};
    char port[16];
    const char *at;
    int r;

    if (!out)
        return NP_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    if (!p || !p->user || !p->host || !p->device || !p->device_atsign || p->port < 1 ||
        p->port > 65535)
        return NP_ERR_INVAL;
    at = p->device_atsign[0] == '@' ? p->device_atsign + 1 : p->device_atsign;
    snprintf(port, sizeof(port), "%d", p->port);
    if ((r = add(&c, p->program ? p->program : "ssh")) || (r = add(&c, "-p")) ||
        (r = add(&c, port)))
        goto out;
    for (size_t i = 0; i < p->n_options; i++)
        if ((r = add(&c, "-o")) || (r = add(&c, p->options[i])))
            goto out;
    if (p->identity && ((r = add(&c, "-i")) || (r = add(&c, p->identity)) || (r = add(&c, "-o")) ||
                        (r = add(&c, "StrictHostKeyChecking=accept-new")) || (r = add(&c, "-o")) ||
                        (r = add(&c, "IdentitiesOnly=yes"))))
        goto out;
    if ((r = add(&c, "-o")) || (r = add_alias(&c, p->device, at)) ||
        (r = add_dest(&c, p->user, p->host)))
        goto out;
    *out = c;
    c.argv = NULL;
    c.argc = 0;
out:
    sshcmd_free(&c);
    return r;
}

static int plain_word(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("@%+=:,./_-", *s)))
            return 0;
    return 1;
}

int sshcmd_format(const struct sshcmd *c, char **line)
{
    struct np_buf *b = NULL;
    int r = NP_ERR_NOMEM;

    if (!line)
        return NP_ERR_INVAL;
    *line = NULL;
    if (!c || !c->argv)
        return NP_ERR_INVAL;
    if ((b = np_buf_new(64 * 1024)) == NULL)
        return NP_ERR_NOMEM;
    for (size_t i = 0; i < c->argc; i++) {
        const char *s = c->argv[i];

        if (i && (r = np_buf_put_u8(b, ' ')))
            goto out;
        if (plain_word(s)) {
            if ((r = np_buf_put_str(b, s)))
                goto out;
            continue;
        }
        if ((r = np_buf_put_u8(b, '\'')))
            goto out;
        for (; *s; s++)
            if ((r = *s == '\'' ? np_buf_put_str(b, "'\\''") : np_buf_put_u8(b, (unsigned char)*s)))
                goto out;
        if ((r = np_buf_put_u8(b, '\'')))
            goto out;
    }
    r = (*line = np_buf_detach(b, NULL)) ? 0 : NP_ERR_NOMEM;
out:
    np_buf_free(b);
    return r;
}

int sshcmd_spawn(const struct sshcmd *c, pid_t *pid)
{
    pid_t p;

    if (!c || !c->argv || !pid)
        return NP_ERR_INVAL;
    fflush(NULL);
    if ((p = fork()) < 0)
        return NP_ERR_IO;
    if (p == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        if (close_range(3, ~0U, 0) != 0)
            for (int fd = 3; fd < 1024; fd++)
                close(fd);
        execvp(c->argv[0], c->argv);
        _exit(127);
    }
    *pid = p;
    return 0;
}

void sshcmd_free(struct sshcmd *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->argc; i++)
        np_free(c->argv[i]);
    np_free(c->argv);
    c->argv = NULL;
    c->argc = 0;
}
