/*
 * fuzz/fuzz_sshnpd_parse.c - the pure parsers the device daemon applies to
 * peer input: policy auth_checks responses (value and key), ssh public-key
 * lines (sshpublickey), message types from notification keys, and -S
 * prefixes, all on the same input.
 * Properties: no crash or leak; a parsed success answer's permit list joins
 * into a CSV holding exactly its entries; an accepted key line is also
 * accepted with a trailing newline.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "np/authkeys.h"
#include "np/messages.h"
#include "np/policy.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct np_policy_answer *a = NULL;
    char *text = np_memdup0(data, size), *csv = NULL, type[64];
    int kind;
    int64_t id;

    if (!text)
        return 0;
    if (np_policy_response_parse(text, size, &a) == 0) {
        if (np_policy_answer_permit_csv(a, &csv) == 0) {
            size_t commas = 0;
            for (const char *p = csv; *p; p++)
                commas += *p == ',';
            if (a->n_permit ? commas != a->n_permit - 1 : csv[0] != '\0')
                abort();
            np_free(csv);
        }
        np_policy_answer_free(a);
    }
    np_policy_key_parse(text, &kind, &id);
    if (np_ssh_pubkey_check(text, size, NULL, 0) == 0 && size < NP_SSH_PUBKEY_MAX &&
        memchr(text, '\n', size) == NULL) {
        char *nl = np_malloc(size + 2);
        if (nl) {
            memcpy(nl, text, size);
            nl[size] = '\n';
            if (np_ssh_pubkey_check(nl, size + 1, NULL, 0) != 0)
                abort();
            np_free(nl);
        }
    }
    np_msg_type_from_key(text, "garage", "@alice", type, sizeof(type));
    np_authkeys_perm_check(text);
    np_free(text);
    return 0;
}
