/*
 * lib/np/client_opts_check.c - the second half of option handling: the
 * checks and defaults applied after argv and the profile (required options,
 * atSign and device-name normalisation, refused combinations), and the -s
 * public key file. See client_opts.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "at/atsign.h"
#include "crypto/atkeys.h"
#include "np/client_opts.h"
#include "np/client_opts_int.h"
#include "np/device.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"

#define NPT NP_PROG_NPT

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int set_str(char **slot, const char *v)
{
    char *s = np_strdup(v);

    if (!s)
        return NP_ERR_NOMEM;
    np_free(*slot);
    *slot = s;
    return 0;
}

static int norm_atsign(char **slot, const char *what, char *err, size_t errlen)
{
    char buf[AT_ATSIGN_BUF];

    if (at_atsign_normalise(*slot, strlen(*slot), buf, sizeof(buf)) != 0) {
        set_err(err, errlen, "%s: not a valid atSign: \"%s\"", what, *slot);
        return NP_ERR_INVAL;
    }
    return set_str(slot, buf);
}

int np_client__opts_validate(struct np_client_opts *o, char *err, size_t errlen)
{
    char dev[NP_DEVICE_NAME_MAX + 1];
    char path[1024];
    int r, npt = o->prog == NPT;

    if (!o->from) {
        set_err(err, errlen, "-f/--from (the client atSign) is required (see --help)");
        return NP_ERR_INVAL;
    }
    if ((r = norm_atsign(&o->from, "--from", err, errlen)) != 0)
        return r;
    if (!o->list_devices) {
        if (!o->to) {
            set_err(err, errlen, "-t/--to (the device atSign) is required (see --help)");
            return NP_ERR_INVAL;
        }
        if (!o->srvd) {
            set_err(err, errlen, "-r/--srvd (the relay atSign) is required (see --help)");
            return NP_ERR_INVAL;
        }
    }
    if (o->to && (r = norm_atsign(&o->to, "--to", err, errlen)) != 0)
        return r;
    if (o->srvd && (r = norm_atsign(&o->srvd, "--srvd", err, errlen)) != 0)
        return r;
    if (!o->device) {
        if (npt && !o->list_devices) {
            set_err(err, errlen, "-d/--device (the device name) is required (see --help)");
            return NP_ERR_INVAL;
        }
        if ((r = set_str(&o->device, "default")) != 0)
            return r;
        o->device_defaulted = !o->list_devices;
    }
    if (np_device_name_normalize(o->device, dev, sizeof(dev)) != 0) {
        set_err(err, errlen, "--device \"%s\": %s", o->device, NP_DEVICE_NAME_ERROR);
        return NP_ERR_INVAL;
    }
    if ((r = set_str(&o->device, dev)) != 0)
        return r;
    if (!o->encrypt) {
        set_err(err, errlen,
                "--no-encrypt-rvd-traffic is not supported: the daemon only serves sessions "
                "encrypted end to end through the relay; drop the option");
        return NP_ERR_INVAL;
    }
    if (npt && !o->list_devices && o->remote_port == 0) {
        set_err(err, errlen, "-p/--remote-port (the port to reach on the device) is required");
        return NP_ERR_INVAL;
    }
    if (o->exec_x && o->stdio) {
        set_err(err, errlen, "-x and --stdio cannot be combined");
        return NP_ERR_INVAL;
    }
    if (o->list_devices && (o->stdio || o->exec_x)) {
        set_err(err, errlen, "--list-devices cannot be combined with -x or --stdio");
        return NP_ERR_INVAL;
    }
    if (npt && o->keep_alive && o->exec_x) {
        set_err(err, errlen, "-K/--keep-alive cannot be combined with -x/--exit-when-connected");
        return NP_ERR_INVAL;
    }
    if (npt && o->keep_alive && o->stdio) {
        set_err(err, errlen, "-K/--keep-alive cannot be combined with --stdio");
        return NP_ERR_INVAL;
    }
    if (npt && o->keep_alive && !o->timeout_given)
        o->timeout_ms = NP_NPT_KEEPALIVE_TIMEOUT_MS;
    if (o->send_ssh_public_key && !o->identity_file) {
        set_err(err, errlen,
                "-s/--send-ssh-public-key needs -i/--identity-file (its .pub is sent)");
        return NP_ERR_INVAL;
    }
    if (!o->root_host && (r = set_str(&o->root_host, "root.atsign.org")) != 0)
        return r;
    if (!o->local_host && (r = set_str(&o->local_host, "127.0.0.1")) != 0)
        return r;
    if (npt && !o->remote_host && (r = set_str(&o->remote_host, "localhost")) != 0)
        return r;
    if (!o->key_file) {
        if ((r = np_atkeys_default_path(o->from, path, sizeof(path))) != 0) {
            set_err(err, errlen, "cannot work out the default --key-file (is HOME set?)");
            return NP_ERR_INVAL;
        }
        if ((r = set_str(&o->key_file, path)) != 0)
            return r;
    }
    if (o->identity_passphrase)
        np_warn("--identity-passphrase is ignored: ssh asks for the passphrase itself");
    if (o->set[O_TUNNEL_USER] || o->set[O_REMOTE_SSHD_PORT] || o->set[O_IDLE_TIMEOUT] ||
        o->set[O_SSH_ALGORITHM] || o->set[O_ADD_FORWARDS] || (npt && o->set[O_PSS]))
        np_debug("options kept for compatibility have no effect here");
    return 0;
}

int np_client_pubkey_check(const char *line)
{
    static const char *const prefixes[] = {"ecdsa-sha2-nistp", "rsa-sha2-", "ssh-rsa",
                                           "ssh-ed25519"};

    if (!line || strchr(line, '\n') || strchr(line, '\r'))
        return NP_ERR_FORMAT;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (np_str_startswith(line, prefixes[i]))
            return 0;
    return NP_ERR_FORMAT;
}

int np_client_read_pubkey(const char *identity_file, char **line, char *err, size_t errlen)
{
    enum { MAX = 16 * 1024 };
    char path[1024], *text = NULL;
    size_t len = 0;
    int fd = -1, r = NP_ERR_INTERNAL;

    if (!identity_file || !line)
        return NP_ERR_INVAL;
    *line = NULL;
    if (np_str_fmt(path, sizeof(path), "%s.pub", identity_file) != 0) {
        set_err(err, errlen, "%s.pub: path too long", identity_file);
        return NP_ERR_TOOBIG;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        r = errno == ENOENT ? NP_ERR_NOTFOUND : NP_ERR_IO;
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((text = np_malloc(MAX + 1)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        ssize_t k = read(fd, text + len, MAX + 1 - len);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            set_err(err, errlen, "%s: %s", path, strerror(errno));
            r = NP_ERR_IO;
            goto out;
        }
        if (k == 0)
            break;
        len += (size_t)k;
        if (len > MAX) {
            set_err(err, errlen, "%s: larger than %d bytes", path, MAX);
            r = NP_ERR_TOOBIG;
            goto out;
        }
    }
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        set_err(err, errlen, "%s: not a text file", path);
        r = NP_ERR_FORMAT;
        goto out;
    }
    np_str_trim(text);
    if (np_client_pubkey_check(text) != 0) {
        set_err(err, errlen,
                "%s: not one OpenSSH public key line (ssh-ed25519, ssh-rsa, rsa-sha2-*, "
                "ecdsa-sha2-nistp*)",
                path);
        r = NP_ERR_FORMAT;
        goto out;
    }
    if ((*line = np_strdup(text)) == NULL) {
        r = NP_ERR_NOMEM;
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    np_free(text);
    return r;
}
