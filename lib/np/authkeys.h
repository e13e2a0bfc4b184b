/*
 * lib/np/authkeys.h - OpenSSH public keys sent with `sshpublickey`
 * (noports-wire.md 5.6) and appending them to ~/.ssh/authorized_keys.
 *
 * A key line is accepted only if it is one line "<type> <base64 blob>
 * [comment]" whose type starts with ecdsa-sha2-nistp, rsa-sha2-, ssh-rsa or
 * ssh-ed25519, whose blob is strict base64 and names the same key type
 * inside (rsa-sha2-* lines carry an ssh-rsa blob), and that holds no control
 * characters. Because the line must start with the key type, a peer cannot
 * smuggle authorized_keys options (command=, from=, ...) in front of it; the
 * daemon's own -S prefix is the only option text written.
 *
 * Appends are done under flock(2) with one O_APPEND write and fsync, so that
 * every entry is a complete line even when the file did not end in a
 * newline, and two daemons cannot interleave. Files are never rewritten.
 */
#ifndef NP_NP_AUTHKEYS_H
#define NP_NP_AUTHKEYS_H
#include <stddef.h>

/* Longest key line accepted (an RSA-16384 .pub line is about 2.8 KB). */
#define NP_SSH_PUBKEY_MAX 8192
/* Longest -S permissions prefix. */
#define NP_AUTHKEYS_PERM_MAX 1024
/* Largest authorized_keys file read for the duplicate check. */
#define NP_AUTHKEYS_FILE_MAX (4 * 1024 * 1024)

/*
 * Check a received key line line[0..len) (need not be NUL-terminated). One
 * trailing "\n" or "\r\n" and surrounding spaces are tolerated. 0 if valid;
 * NP_ERR_FORMAT (reason in err[errlen], may be NULL) or NP_ERR_TOOBIG.
 */
int np_ssh_pubkey_check(const char *line, size_t len, char *err, size_t errlen);

/*
 * Check a permissions prefix (-S / --sshpublickey-permissions): at most
 * NP_AUTHKEYS_PERM_MAX bytes, no newline, carriage return or other control
 * character. NULL and "" are valid (no prefix). 0 or NP_ERR_FORMAT.
 */
int np_authkeys_perm_check(const char *perm);

/*
 * Append the key (validated with np_ssh_pubkey_check; surrounding
 * whitespace and the trailing newline removed) to the authorized_keys file
 * `path` as the complete line "<perm> <key>\n" (just "<key>\n" when perm is
 * NULL or empty), unless a line already holds the same base64 key blob.
 * A missing parent directory is created with mode 0700 (one level), a
 * missing file with 0600. If the file does not end in a newline one is
 * written first.
 * Returns 0 (appended), NP_ERR_EXISTS (already present; file unchanged),
 * NP_ERR_FORMAT (bad key or perm), NP_ERR_TOOBIG (file larger than
 * NP_AUTHKEYS_FILE_MAX), NP_ERR_IO / NP_ERR_PERM (file system), NP_ERR_NOMEM.
 */
int np_authkeys_add(const char *path, const char *perm, const char *key, size_t key_len);

/* $HOME/.ssh/authorized_keys into dst[size]. NP_ERR_NOTFOUND without
 * $HOME, NP_ERR_TOOBIG if it does not fit. */
int np_authkeys_default_path(char *dst, size_t size);

#endif
