/*
 * Unit tests for the npt control-channel text protocol (np/bridge_mux.h):
 * np_ctl_next (newline split and the 77-byte legacy rule), np_ctl_parse_line
 * (the four accepted forms, trimming, strict base64, rejects) and
 * np_ctl_format_connect (round trips).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "crypto/b64.h"
#include "np/bridge.h"
#include "np/bridge_mux.h"
#include "util/alloc.h"
#include "util/err.h"

/* base64 of 32 bytes 0..31 and of 16 bytes 0..15 */
#define K44 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define I24 "AAECAwQFBgcICQoLDA0ODw=="

static void test_b64_fixtures(void **state)
{
    unsigned char raw[32], k[32], iv[16];

    for (int i = 0; i < 32; i++)
        raw[i] = (unsigned char)i;
    assert_int_equal(strlen(K44), 44);
    assert_int_equal(strlen(I24), 24);
    assert_int_equal(np_b64_decode_exact(K44, k, 32), 0);
    assert_int_equal(np_b64_decode_exact(I24, iv, 16), 0);
    assert_memory_equal(k, raw, 32);
    assert_memory_equal(iv, raw, 16);
}

static void test_next(void **state)
{
    size_t ml = 99, used = 99;
    char legacy[2 * NP_CTL_LEGACY_LEN];

    assert_int_equal(np_ctl_next("abc\ndef", 7, 0, &ml, &used), 0);
    assert_int_equal(ml, 3);
    assert_int_equal(used, 4);
    assert_int_equal(np_ctl_next("\n", 1, 1, &ml, &used), 0);
    assert_int_equal(ml, 0);
    assert_int_equal(used, 1);
    assert_int_equal(np_ctl_next("abc", 3, 1, &ml, &used), NP_AGAIN);
    assert_int_equal(ml, 0);
    assert_int_equal(used, 0);
    assert_int_equal(np_ctl_next("", 0, 1, &ml, &used), NP_AGAIN);
    assert_int_equal(np_ctl_next(NULL, 0, 1, &ml, &used), NP_AGAIN);
    assert_int_equal(np_ctl_next(NULL, 3, 1, &ml, &used), NP_ERR_INVAL);
    assert_int_equal(np_ctl_next("a", 1, 1, NULL, &used), NP_ERR_INVAL);

    /* Legacy: only at the end of a read and only for multiples of 77. */
    memset(legacy, 'x', sizeof(legacy));
    assert_int_equal(np_ctl_next(legacy, NP_CTL_LEGACY_LEN, 0, &ml, &used), NP_AGAIN);
    assert_int_equal(np_ctl_next(legacy, NP_CTL_LEGACY_LEN, 1, &ml, &used), 0);
    assert_int_equal(ml, NP_CTL_LEGACY_LEN);
    assert_int_equal(used, NP_CTL_LEGACY_LEN);
    assert_int_equal(np_ctl_next(legacy, sizeof(legacy), 1, &ml, &used), 0);
    assert_int_equal(ml, NP_CTL_LEGACY_LEN);
    assert_int_equal(np_ctl_next(legacy, NP_CTL_LEGACY_LEN + 1, 1, &ml, &used), NP_AGAIN);
    assert_int_equal(np_ctl_next(legacy, NP_CTL_LEGACY_LEN - 1, 1, &ml, &used), NP_AGAIN);
    /* A newline wins over the legacy rule. */
    legacy[10] = '\n';
    assert_int_equal(np_ctl_next(legacy, NP_CTL_LEGACY_LEN, 1, &ml, &used), 0);
    assert_int_equal(ml, 10);
}

static void test_parse_connect_forms(void **state)
{
    struct np_ctl_msg m;
    unsigned char raw[32];
    const char *single = "connect:" K44 ":" I24;
    const char *twin = "connect:" K44 ":" I24 ":" I24 "AAAAAAAAAAAAAAAAAAAA:" I24;
    char buf[256];

    for (int i = 0; i < 32; i++)
        raw[i] = (unsigned char)i;
    assert_int_equal(strlen(single), NP_CTL_LEGACY_LEN);
    assert_int_equal(np_ctl_parse_line(single, strlen(single), &m), 0);
    assert_int_equal(m.kind, NP_CTL_CONNECT);
    assert_int_equal(m.keys.mode, NP_BRIDGE_SINGLE_KEY);
    assert_memory_equal(m.keys.c2d_key, raw, 32);
    assert_memory_equal(m.keys.c2d_iv, raw, 16);
    assert_memory_equal(m.keys.d2c_key, raw, 32);
    assert_memory_equal(m.keys.d2c_iv, raw, 16);

    /* Whitespace around (the NEWER daemon trims) and a CRLF. */
    snprintf(buf, sizeof(buf), "  \t%s\r", single);
    assert_int_equal(np_ctl_parse_line(buf, strlen(buf), &m), 0);
    assert_int_equal(m.keys.mode, NP_BRIDGE_SINGLE_KEY);

    /* Twin: the third field is an invalid key (24+20 chars of base64 of a
     * wrong size), so build a valid one instead. */
    assert_int_not_equal(np_ctl_parse_line(twin, strlen(twin), &m), 0);
    snprintf(buf, sizeof(buf), "connect:%s:%s:%s:%s", K44, I24, K44, I24);
    assert_int_equal(np_ctl_parse_line(buf, strlen(buf), &m), 0);
    assert_int_equal(m.kind, NP_CTL_CONNECT);
    assert_int_equal(m.keys.mode, NP_BRIDGE_TWIN_KEYS);
    assert_memory_equal(m.keys.d2c_key, raw, 32);

    assert_int_equal(np_ctl_parse_line("connect:no:encrypt", 18, &m), 0);
    assert_int_equal(m.kind, NP_CTL_CONNECT);
    assert_int_equal(m.keys.mode, NP_BRIDGE_PLAIN);
}

static void test_parse_heartbeat(void **state)
{
    struct np_ctl_msg m;

    assert_int_equal(np_ctl_parse_line("heartbeat:12", 12, &m), 0);
    assert_int_equal(m.kind, NP_CTL_HEARTBEAT);
    assert_int_equal(m.heartbeat, 12);
    assert_int_equal(np_ctl_parse_line("heartbeat:", 10, &m), 0);
    assert_int_equal(m.kind, NP_CTL_HEARTBEAT);
    assert_int_equal(m.heartbeat, -1);
    assert_int_equal(np_ctl_parse_line(" heartbeat:x7 \r", 15, &m), 0);
    assert_int_equal(m.heartbeat, -1);
    assert_int_equal(np_ctl_parse_line("heartbeat", 9, &m), NP_ERR_FORMAT);
    assert_int_equal(m.kind, 0);
}

static void test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "connect",
        "connect:",
        "connect:no",
        "connect:no:encrypt:x",
        "connect:yes:encrypt",
        "Connect:" K44 ":" I24,
        "connect:" K44,
        "connect:" K44 ":" I24 ":" K44,
        "connect:" K44 ":" I24 ":" K44 ":" I24 ":" I24,
        "connect:" I24 ":" K44,                                      /* swapped */
        "connect:" K44 ":" I24 "=",                                  /* 25 chars */
        "connect:" K44 "A:" I24,                                     /* 45 chars */
        "connect:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=:" I24, /* non-canonical */
        "connect:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH*8=:" I24, /* bad char */
        "connect:" K44 "::" I24,
        "hello world",
        "xconnect:" K44 ":" I24,
        "connect: " K44 ":" I24,
    };
    struct np_ctl_msg m;
    char big[NP_CTL_LINE_MAX + 2], nul[NP_CTL_LEGACY_LEN];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&m, 0x55, sizeof(m));
        assert_int_equal(np_ctl_parse_line(bad[i], strlen(bad[i]), &m), NP_ERR_FORMAT);
        assert_int_equal(m.kind, 0); /* left zeroed */
        assert_int_equal(m.keys.c2d_key[0], 0);
    }
    /* An embedded NUL inside a key field. */
    memcpy(nul, "connect:" K44 ":" I24, NP_CTL_LEGACY_LEN);
    nul[20] = '\0';
    assert_int_equal(np_ctl_parse_line(nul, sizeof(nul), &m), NP_ERR_FORMAT);
    memset(big, ' ', sizeof(big));
    assert_int_equal(np_ctl_parse_line(big, sizeof(big), &m), NP_ERR_TOOBIG);
    assert_int_equal(np_ctl_parse_line(NULL, 0, &m), NP_ERR_FORMAT);
    assert_int_equal(np_ctl_parse_line("x", 1, NULL), NP_ERR_INVAL);
}

static void test_format_round_trip(void **state)
{
    static const int modes[] = {NP_BRIDGE_PLAIN, NP_BRIDGE_SINGLE_KEY, NP_BRIDGE_TWIN_KEYS};
    static const size_t lens[] = {19, NP_CTL_LEGACY_LEN + 1, 8 + 44 + 1 + 24 + 1 + 44 + 1 + 24 + 1};
    char line[NP_CTL_CONNECT_MAX];
    struct np_bridge_keys k;
    struct np_ctl_msg m;
    size_t len, ml, used;

    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(np_bridge_keys_random(&k, modes[i]), 0);
        assert_int_equal(np_ctl_format_connect(&k, line, sizeof(line), &len), 0);
        assert_int_equal(len, lens[i]);
        assert_int_equal(strlen(line), len);
        assert_int_equal(line[len - 1], '\n');
        assert_int_equal(np_ctl_next(line, len, 0, &ml, &used), 0);
        assert_int_equal(used, len);
        assert_int_equal(np_ctl_parse_line(line, ml, &m), 0);
        assert_int_equal(m.kind, NP_CTL_CONNECT);
        assert_int_equal(m.keys.mode, modes[i]);
        assert_memory_equal(&m.keys, &k, sizeof(k));
    }
    assert_int_equal(np_bridge_keys_random(&k, NP_BRIDGE_TWIN_KEYS), 0);
    assert_int_equal(np_ctl_format_connect(&k, line, 100, &len), NP_ERR_TOOBIG);
    assert_int_equal(len, 0);
    k.mode = 5;
    assert_int_equal(np_ctl_format_connect(&k, line, sizeof(line), &len), NP_ERR_INVAL);
    assert_int_equal(np_ctl_format_connect(NULL, line, sizeof(line), &len), NP_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_fixtures),        cmocka_unit_test(test_next),
        cmocka_unit_test(test_parse_connect_forms), cmocka_unit_test(test_parse_heartbeat),
        cmocka_unit_test(test_parse_rejects),       cmocka_unit_test(test_format_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
