/*
 * tests/protocol/astest.h - helpers for tests that run a real atserver on
 * 127.0.0.1: the official demo atSigns and their .atKeys fixtures, PKAM
 * signatures and cram digests, "atserver create/run" by pid, and a
 * blocking TLS client that reads "<body>\n<prompt>" responses exactly.
 * Used by the protocol transcript driver (driver.c) and the integration
 * test (tests/integration/test_atserver.c). CMake target atserver_testlib.
 *
 * Every wait is bounded; functions return 0 or a negative NP_ERR_* code and
 * print the reason to stderr.
 */
#ifndef NP_ASTEST_H
#define NP_ASTEST_H
#include <stddef.h>
#include <sys/types.h>

#include "crypto/atkeys.h"
#include "crypto/rsa.h"

struct net_bclient;

/* The official demo atSigns (fixtures/official-demo-atkeys/README.md). */
#define ASTEST_ALICE "@alice\xf0\x9f\x9b\xa0"
#define ASTEST_BOB   "@bob\xf0\x9f\x9b\xa0"
#define ASTEST_ALICE_SECRET                                                                        \
    "b26455a907582760ebf35bc4847de549bc41c24b25c8b1c58d5964f7b4f8a43bc55b0e9a601c9a9657d9a8b8bbc3" \
    "2f"                                                                                           \
    "88b4e38ffaca03c8710ebae1b14ca9f364"
#define ASTEST_BOB_SECRET                                                                          \
    "33c2df30b79743ff880fc1c832a5c69170974dd736231b84ee360df89a0faff1f6efe0e83064144a7b4e5029334a" \
    "d1"                                                                                           \
    "daedc49bf82c0be1f763f590c28e33ba0a"
/* A third atSign with no keys yet (onboarding tests); a made-up secret. */
#define ASTEST_CAROL        "@carol"
#define ASTEST_CAROL_SECRET "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

#define ASTEST_TIMEOUT_MS 5000

/* Path of the fixtures directory (NP_SOURCE_DIR/../shared/fixtures/...). */
const char *astest_fixture_dir(void);

/* Copy fixture `file` into dir (mode 0600) and load it. */
int astest_load_atkeys(const char *dir, const char *file, struct np_atkeys **out);

/* B64 RSA signature of challenge with the PKAM private key (sha512 != 0:
 * SHA-512, else SHA-256). *sig: np_free. */
int astest_pkam_sign(const struct np_atkeys *k, const char *challenge, int sha512, char **sig);

/* lower-case hex SHA-512(secret + challenge) into out[129]. */
int astest_cram_digest(const char *secret, const char *challenge, char out[129]);

/* "atserver create <atsign> --data-dir data --port port --cram-secret s". */
int astest_create(const char *prog, const char *data, const char *atsign, int port,
                  const char *secret);
/* Change the port of a hosted atSign in data/hosts.sqlite3. */
int astest_set_port(const char *data, const char *atsign, int port);

/*
 * Start "atserver run" on 127.0.0.1 (config may be NULL) with its output
 * appended to log, and wait until each of the n atSigns is listening:
 * ports[i] gets the port atsigns[i] reports in the log ("<atsign>:
 * listening on 127.0.0.1:<port>"), which lets the hosts table hold port 0
 * (the kernel picks a free port: no race between parallel tests).
 * read_log (NULL = log) is where that output can be read back, for a log
 * that is a FIFO drained into another file.
 */
int astest_start(const char *prog, const char *data, const char *cert, const char *key,
                 const char *config, const char *log, const char *read_log,
                 const char *const *atsigns, int *ports, size_t n, pid_t *pid);

/* Connect with TLS (CA file ca, name "localhost") and read the "@". */
int astest_connect(int port, const char *ca, struct net_bclient **out);

/* Read one response: the body line (without '\n') into buf, then exactly
 * the prompt `prompt`; NP_ERR_PROTO if the prompt differs. */
int astest_read_response(struct net_bclient *c, const char *prompt, char *buf, size_t size);

/* Send line, read the response with prompt into buf. */
int astest_cmd(struct net_bclient *c, const char *line, const char *prompt, char *buf, size_t size);

/* Read and discard whatever the server still sends (at most 100 reads,
 * each bounded by ASTEST_TIMEOUT_MS) until the connection ends; returns the
 * read error that ended it: NP_ERR_EOF when the server closed it. */
int astest_read_to_end(struct net_bclient *c);

/* from + cram (secret) or from + pkam (keys) on c; prompt becomes
 * "<atsign>@". 0 when the server answered data:success. */
int astest_login_cram(struct net_bclient *c, const char *atsign, const char *secret);
int astest_login_pkam(struct net_bclient *c, const char *atsign, const struct np_atkeys *k);

/* The VE provisioning step (atprotocol.md 13): cram, then install the PKAM
 * public key and the encryption public key of k. */
int astest_provision(int port, const char *ca, const char *atsign, const char *secret,
                     const struct np_atkeys *k);

#endif
