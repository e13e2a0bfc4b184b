/*
 * fuzz/fuzz_client.c - libFuzzer harness for what the atProtocol client
 * parses beyond lib/at's grammar: directory answers (at_root_parse_answer),
 * lookup:all and scan answers (at_client__parse_all / _parse_keys, then a
 * decryption attempt with the metadata's ivNonce, as a get does), and the
 * monitor path: lines -> at_response_parse -> at_notification_parse ->
 * id de-duplication -> decryption attempt.
 *
 * Input: first byte selects the path, the rest is the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "at/client_int.h"
#include "at/e2e.h"
#include "at/monitor.h"
#include "at/notification.h"
#include "at/response.h"
#include "at/root.h"
#include "util/alloc.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static void try_decrypt(const char *iv, const char *cipher)
{
    char *plain = NULL;
    size_t n = 0;

    if (!cipher)
        return;
    if (at_e2e_decrypt(KEY, iv, cipher, &plain, &n) == 0) {
        if (!plain || plain[n] != '\0')
            abort();
        np_freezero(plain, n + 1);
    } else if (plain) {
        abort();
    }
}

static void root_answer(const char *p, size_t n)
{
    char host[NP_HOST_MAX + 1];
    int port = -1;
    int r = at_root_parse_answer(p, n, host, &port);

    if (r == 0 && (port < 1 || port > 65535 || !host[0]))
        abort();
    if (r != 0 && (port != 0 || host[0]))
        abort();
}

static void all_answer(const char *p, size_t n)
{
    struct at_metadata md;
    const char *why = NULL;
    char *v = NULL;
    bool has_md = false;
    int r = at_client__parse_all(p, n, &v, &md, &has_md, &why);

    if (r != 0 && (v || has_md))
        abort();
    if (r == 0)
        try_decrypt(at_metadata_has(&md, AT_MD_IV_NONCE) ? md.iv_nonce : NULL, v);
    np_free(v);
    at_metadata_clear(&md);
}

static void keys_answer(const char *p, size_t n)
{
    char **k = NULL;
    size_t cnt = 0;
    const char *why = NULL;

    if (at_client__parse_keys(p, n, &k, &cnt, &why) != 0) {
        if (k || cnt)
            abort();
        return;
    }
    for (size_t i = 0; i < cnt; i++) {
        if (!k[i])
            abort();
        np_free(k[i]);
    }
    np_free(k);
}

/* Lines as the monitor connection would see them. */
static void monitor_lines(const char *p, size_t n)
{
    struct at_idset *seen = at_idset_new(4);
    size_t start = 0;

    if (!seen)
        return;
    for (size_t i = 0; i <= n; i++) {
        struct at_response resp;
        struct at_notification note;
        if (i < n && p[i] != '\n')
            continue;
        if (at_response_parse(p + start, i - start, &resp) == 0 &&
            resp.kind == AT_RESP_NOTIFICATION &&
            at_notification_parse(resp.payload, resp.payload_len, &note) == 0) {
            if (!at_notification_is_stats(&note) && at_idset_check_add(seen, note.id) == 0 &&
                note.is_encrypted && !(note.key && strstr(note.key, "shared_key")))
                try_decrypt(at_metadata_has(&note.md, AT_MD_IV_NONCE) ? note.md.iv_nonce : NULL,
                            note.value);
            at_notification_clear(&note);
        }
        at_response_clear(&resp);
        start = i + 1;
    }
    if (at_idset_count(seen) > 4)
        abort();
    at_idset_free(seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1 || size > 65536)
        return 0;
    np_log_set_level(NP_LOG_ERROR);
    if ((text = np_memdup0(data + 1, size - 1)) == NULL)
        return 0;
    switch (data[0] % 4) {
    case 0:
        root_answer(text, size - 1);
        break;
    case 1:
        all_answer(text, size - 1);
        break;
    case 2:
        keys_answer(text, size - 1);
        break;
    default:
        monitor_lines(text, size - 1);
        break;
    }
    np_free(text);
    return 0;
}
