/*
 * fuzz/fuzz_envelope.c - signed-envelope parsing and verification against a
 * fixed public key (the encryption key of the public demo atSign @alice🛠,
 * whose seed envelopes in the corpus verify). Properties: no crash or leak;
 * np_envelope_verify agrees with parse + check; the canonical payload text
 * is a fixed point (parse + canonical gives it back byte for byte).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rsa.h"
#include "np/envelope.h"
#include "np/json.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char alice_enc_pub[] =
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0sYjWt6TTikajY3HjvdN3sn2Ve3O+i84/gBrWPqhGNSdImz3"
    "W2l9dMSHm4wyixsxMSQaL+rECjwnvp3sRdW3M51sDCvWa06MLptvdrtnMjzDrvP45hUJY/i6WeDW8qeEOf9zuo+BLcQ3"
    "pkV1KZyhBj80OndLS/y00T8fYB9KnS5Z/iN7KW7Hxuv0isMPXxL1i8AZos7m5GuWq7CfRFKJIZ6vqYBUJCVSQCUVo1ll"
    "yjElodSywcf1KjCvBOKuMPnUQCs+pKJt3QMFI0U7D+yinnlEdr6TBfOzMMPS3Du1LHpTGt7rqyxZrX8p4kpVb/CyL6wk"
    "elMuahHDOeNFBNyF0wIDAQAB";

static struct np_rsa_key *pub;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct np_envelope *e = NULL;
    cJSON *payload = NULL, *again = NULL;
    char *canon = NULL;
    int rp, rc = -1, rv;

    if (!pub && np_rsa_from_public_b64(alice_enc_pub, &pub) != 0)
        abort();
    rp = np_envelope_parse((const char *)data, size, &e);
    if (rp == 0) {
        const char *t = np_envelope_payload_text(e);
        size_t n = np_envelope_payload_text_len(e);
        rc = np_envelope_check(e, pub);
        if (np_json_parse(t, n, NP_JSON_CANON_MAX, &again) != 0 ||
            np_json_canonical(again, &canon, NULL) != 0 || strlen(canon) != n ||
            memcmp(canon, t, n) != 0)
            abort();
        cJSON_Delete(again);
        np_free(canon);
    }
    rv = np_envelope_verify((const char *)data, size, pub, &payload);
    if ((rv == 0) != (rp == 0 && rc == 0))
        abort();
    if (rv == 0 && !cJSON_IsObject(payload))
        abort();
    cJSON_Delete(payload);
    np_envelope_free(e);
    return 0;
}
