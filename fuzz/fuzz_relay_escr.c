/*
 * fuzz/fuzz_relay_escr.c - the relay's ESCR response parser (lib/np/escr.c,
 * noports-wire.md 5.10) for a fixed session, challenge, side and
 * relayAuthAesKey. The first input byte picks the layer:
 *   'L' - the rest is a response line as received from a socket;
 *   'E' - the rest is the inner JSON E, which the harness encrypts and wraps
 *         exactly like a peer would, so the decrypted layer is fuzzed too.
 * Verified signatures use the PKAM public key of the demo atSign @alice (the
 * "valid" seeds verify). Properties: no crash or leak; a parsed response has
 * an sk URI in the a.__e namespace of @alice (atSigns compare
 * case-insensitively).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/aes.h"
#include "crypto/b64.h"
#include "crypto/rsa.h"
#include "np/escr.h"
#include "util/alloc.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char alice_pkam_pub[] =
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAg1THrbmEpXMDXUtci4GBNaARF2ghWYz6tC5PcO8oyjqioD"
    "wlp7lVZcufhgZGD2Dd5j124vyx8t0qlTP/LObK8WvgvLOY5NqUCOgYBv0VufVzOr6xrsNKVEKC9GzMkMbUfFwBVYHe"
    "eIg3IKeGTyxB+qHQIAa2gLZCBKX8EsLTGliQmkv2J96umaFTsS/juwxw9nSVpsMIwCcg6hA3njVbjR1p5o9mZ3lVw5"
    "7GOHzkdyGXXBgKzNvBRXBSDOkNCulxoixrydqWD8sLc8AERQoWCUwSWITTS0YE/jFL8fH2zWupjJ510JmoIf2L2MJs"
    "iFFUCtRIRTWSIHs1/cXZiIEvhQIDAQAB";

#define KEY       "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define IV        "EBESExQVFhcYGRobHB0eHw=="
#define SID       "fz-sid"
#define CHALLENGE "Y2hhbGxlbmdlLWNoYWxsZW5nZS1jaGFsbGVuZ2UtMzI="

static struct np_rsa_key *pub;

/* Build "<sid>:B64({"iv":IV,"e":AES(B64(inner))})" like a peer does. */
static char *wrap(const uint8_t *inner, size_t n, size_t *len)
{
    char *e64 = NULL, *cipher = NULL, *w64 = NULL, *line = NULL, wjson[8192];
    int k;

    if (np_b64_encode(inner, n, &e64, NULL) != 0)
        return NULL;
    if (np_at_aes_encrypt_b64key(KEY, IV, e64, strlen(e64), &cipher) != 0)
        goto out;
    k = snprintf(wjson, sizeof(wjson), "{\"iv\":\"%s\",\"e\":\"%s\"}", IV, cipher);
    if (k < 0 || (size_t)k >= sizeof(wjson))
        goto out;
    if (np_b64_encode(wjson, (size_t)k, &w64, NULL) != 0)
        goto out;
    *len = strlen(SID) + 1 + strlen(w64);
    if ((line = np_malloc(*len + 1)) == NULL)
        goto out;
    snprintf(line, *len + 1, "%s:%s", SID, w64);
out:
    np_free(e64);
    np_free(cipher);
    np_free(w64);
    return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct np_escr_response *res = NULL;
    char *line = NULL;
    size_t len = 0;
    int r;

    if (!pub && np_rsa_from_public_b64(alice_pkam_pub, &pub) != 0)
        abort();
    if (size < 1)
        return 0;
    if (data[0] == 'E') {
        if (size > 4096)
            return 0;
        if ((line = wrap(data + 1, size - 1, &len)) == NULL)
            return 0;
        r = np_escr_response_parse(line, len, KEY, SID, CHALLENGE, 'a', "@alice", &res);
    } else {
        r = np_escr_response_parse((const char *)data + 1, size - 1, KEY, SID, CHALLENGE, 'a',
                                   "@alice", &res);
    }
    if (r == 0) {
        const char *sk = np_escr_response_sk(res);
        const char *at = sk ? strrchr(sk, '@') : NULL;
        if (!at || strcasecmp(at, "@alice") != 0 || at - sk < 5 || memcmp(at - 5, "a.__e", 5) != 0)
            abort();
        (void)np_escr_response_verify(res, pub);
    }
    np_escr_response_free(res);
    np_free(line);
    return 0;
}
