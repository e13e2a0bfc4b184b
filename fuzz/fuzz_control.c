/*
 * fuzz/fuzz_control.c - libFuzzer harness for the npt control channel's
 * daemon-side parsing (np/bridge_mux.h): the first byte chooses whether the
 * legacy 77-byte rule applies at the end of the input; the rest is split with
 * np_ctl_next exactly as the daemon does and every message goes through
 * np_ctl_parse_line. Properties: no crash, the splitter always makes
 * progress within bounds, and every accepted connect message formats back
 * to a line that parses to the same keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "np/bridge.h"
#include "np/bridge_mux.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *msg, size_t len)
{
    struct np_ctl_msg m, again;
    char line[NP_CTL_CONNECT_MAX];
    size_t n = 0;

    if (np_ctl_parse_line(msg, len, &m) != 0)
        return;
    if (m.kind == NP_CTL_HEARTBEAT)
        return;
    if (m.kind != NP_CTL_CONNECT)
        abort();
    if (np_ctl_format_connect(&m.keys, line, sizeof(line), &n) != 0 || n == 0 ||
        line[n - 1] != '\n')
        abort();
    if (np_ctl_parse_line(line, n - 1, &again) != 0 || again.kind != NP_CTL_CONNECT ||
        memcmp(&again.keys, &m.keys, sizeof(m.keys)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf;
    size_t len, off = 0;
    int legacy;

    if (size == 0)
        return 0;
    legacy = data[0] & 1;
    buf = (const char *)data + 1;
    len = size - 1;
    check_message(buf, len); /* the whole input as one line, too */
    while (off < len) {
        size_t ml = 0, used = 0;
        int r = np_ctl_next(buf + off, len - off, legacy, &ml, &used);

        if (r == NP_AGAIN)
            break;
        if (r != 0 || used == 0 || ml > used || used > len - off)
            abort();
        check_message(buf + off, ml);
        off += used;
    }
    return 0;
}
