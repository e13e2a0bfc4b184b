/*
 * tests/unit/sshnp/fake_ssh.c - stands in for OpenSSH in test_clientapp:
 * takes "-p <port>" from its arguments, connects to 127.0.0.1:<port>, sends
 * FAKE_SSH_BYTES (default 65536) bytes of a pattern, reads the same number
 * back (the echo server behind the tunnel) and compares. Writes its
 * arguments, one per line, to $FAKE_SSH_ARGS if set. Exit status: 0 match,
 * $FAKE_SSH_EXIT if set (after a good round trip), 3 mismatch, 2 usage or
 * connection errors. Every wait is bounded (SO_RCVTIMEO 10 s).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/str.h"

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    struct timeval tv = {10, 0};
    const char *args = getenv("FAKE_SSH_ARGS"), *ex = getenv("FAKE_SSH_EXIT");
    const char *nb = getenv("FAKE_SSH_BYTES");
    int64_t port = 0, n = 65536, code = 0;
    unsigned char *out, *in;
    size_t got = 0;
    int fd;

    if (args) {
        FILE *f = fopen(args, "w");

        if (f) {
            for (int i = 0; i < argc; i++)
                fprintf(f, "%s\n", argv[i]);
            fclose(f);
        }
    }
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "-p") == 0 && np_parse_i64(argv[i + 1], 1, 65535, &port) != 0)
            return 2;
    if (port == 0 || (nb && np_parse_i64(nb, 1, 1 << 26, &n) != 0) ||
        (ex && np_parse_i64(ex, 0, 255, &code) != 0))
        return 2;
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return 2;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return 2;
    out = malloc((size_t)n);
    in = malloc((size_t)n);
    if (!out || !in)
        return 2;
    for (int64_t i = 0; i < n; i++)
        out[i] = (unsigned char)(i * 7 + (i >> 8));
    for (size_t sent = 0; sent < (size_t)n;) {
        ssize_t k = write(fd, out + sent, (size_t)n - sent);

        if (k <= 0)
            return 2;
        sent += (size_t)k;
        /* read as we go so that neither side's buffers fill up */
        while (got < sent) {
            ssize_t r = read(fd, in + got, (size_t)n - got);

            if (r <= 0)
                return 2;
            got += (size_t)r;
        }
    }
    shutdown(fd, SHUT_WR);
    close(fd);
    if (memcmp(out, in, (size_t)n) != 0)
        return 3;
    free(out);
    free(in);
    return (int)code;
}
