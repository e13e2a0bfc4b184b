/*
 * fuzz/fuzz_relay_request.c - the relay notification parsers of
 * lib/np/relay_msg.c (noports-wire.md 5.8): request_ports, the legacy
 * request, both relay answer forms, the auth_modes hint, and key
 * classification, all on the same input.
 * Properties: no crash or leak; what parses and can be built again parses
 * back to the same fields (request, answer, hint).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "np/relay_msg.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void request_roundtrip(const struct np_relay_request *q)
{
    struct np_relay_request *back = NULL;
    char *s = NULL;

    if (np_relay_request_build(q, NP_RELAY_REQ_NEWER, &s) != 0)
        return;
    if (np_relay_request_parse(s, strlen(s), &back) != 0) {
        /* only a text over the size limit may fail to come back */
        if (strlen(s) <= NP_RELAY_MSG_MAX)
            abort();
        np_free(s);
        return;
    }
    if (!streq(back->session_id, q->session_id) || !streq(back->atsign_a, q->atsign_a) ||
        !streq(back->atsign_b, q->atsign_b) || !streq(back->client_nonce, q->client_nonce) ||
        !streq(back->relay_auth_aes_key, q->relay_auth_aes_key) ||
        back->authenticate_a != q->authenticate_a || back->authenticate_b != q->authenticate_b ||
        back->relay_auth_mode != q->relay_auth_mode || back->only443 != q->only443 ||
        back->multiple_acks_ok != q->multiple_acks_ok ||
        back->send_json_response != q->send_json_response || back->n_pre_fetch != q->n_pre_fetch)
        abort();
    for (size_t i = 0; i < q->n_pre_fetch; i++)
        if (!streq(back->pre_fetch[i], q->pre_fetch[i]))
            abort();
    np_relay_request_free(back);
    np_free(s);
}

static void answer_roundtrip(const struct np_relay_answer *a)
{
    struct np_relay_answer *back = NULL;
    char *s = NULL;
    int r;

    if (a->json)
        r = np_relay_answer_build_json(a, &s);
    else
        r = np_relay_answer_build_csv(a->address, a->port_a, a->port_b, a->rvd_nonce, &s);
    if (r != 0)
        return;
    if (np_relay_answer_parse(s, strlen(s), &back) != 0)
        abort();
    if (!streq(back->address, a->address) || back->port_a != a->port_a ||
        back->port_b != a->port_b || back->json != a->json)
        abort();
    /* a CSV nonce "null" is the legacy null; JSON keeps strings as they are */
    if (!streq(back->rvd_nonce, a->rvd_nonce))
        abort();
    np_relay_answer_free(back);
    np_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    struct np_relay_request *q = NULL;
    struct np_relay_answer *a = NULL;
    struct np_relay_auth_modes *m = NULL;
    char *z;

    if (np_relay_request_parse(t, size, &q) == 0) {
        request_roundtrip(q);
        np_relay_request_free(q);
        q = NULL;
    }
    if (np_relay_request_legacy("@fuzz", t, size, &q) == 0)
        np_relay_request_free(q);
    if (np_relay_answer_parse(t, size, &a) == 0) {
        answer_roundtrip(a);
        np_relay_answer_free(a);
    }
    if (np_relay_auth_modes_parse(t, size, &m) == 0) {
        char *s = NULL;
        struct np_relay_auth_modes *back = NULL;
        if (np_relay_auth_modes_build(m->session_id, m->rvd_nonce, m->side_a, m->side_b, &s) == 0) {
            if (np_relay_auth_modes_parse(s, strlen(s), &back) != 0 ||
                !streq(back->session_id, m->session_id) || back->side_b != m->side_b)
                abort();
            np_relay_auth_modes_free(back);
            np_free(s);
        }
        np_relay_auth_modes_free(m);
    }
    if ((z = np_memdup0(data, size)) != NULL) {
        (void)np_relay_key_classify(z);
        np_free(z);
    }
    return 0;
}
