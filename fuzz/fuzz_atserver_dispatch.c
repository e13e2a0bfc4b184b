/*
 * fuzz/fuzz_atserver_dispatch.c - libFuzzer harness of the atServer's
 * command handling: framing (conn.c), dispatch and policy (dispatch.c) and
 * every verb handler, on memory connections of a real (memory-mode) server
 * with SQLite stores. Input: byte 0 picks the state (bit 0: the connection
 * is the owner @alice, bit 1: @bob also runs a monitor that receives
 * pushes, bit 2: the input is fed in two reads split at byte 1), the rest
 * is what the client sends. Afterwards the loop runs a few turns (noop
 * timers, monitor replay) and the connections are freed.
 */
#include "fuzz_atserver_common.h"

#include "conn.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_server *f = fz_server();
    struct as_conn *c = NULL, *m = NULL;
    uint8_t mode;
    size_t split;

    if (size < 2)
        return 0;
    mode = data[0];
    split = data[1];
    data += 2;
    size -= 2;
    if (conn_new_memory(f->alice, &c) != 0)
        return 0;
    if (mode & 1)
        conn_set_owner(c, AS_AUTH_PKAM);
    if ((mode & 2) && conn_new_memory(f->bob, &m) == 0) {
        conn_set_owner(m, AS_AUTH_PKAM);
        conn_feed(m, "monitor:selfNotifications:0\n", 28);
    }
    if ((mode & 4) && split < size) {
        conn_feed(c, data, split);
        conn_feed(c, data + split, size - split);
    } else {
        conn_feed(c, data, size);
    }
    for (int i = 0; i < 8; i++)
        event_base_loop(f->base, EVLOOP_NONBLOCK);
    conn_free(c);
    conn_free(m);
    return 0;
}
