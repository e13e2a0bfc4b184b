/*
 * lib/np/relay_msg.h - the relay's notification payloads (noports-wire.md 5.8):
 * the client's `request_ports` JSON and the legacy request, the relay answer
 * in its CSV and JSON forms, the `auth_modes` hint, NACK reasons, and the key
 * names of the `sshrvd` namespace (4.3).
 *
 * Pure functions over text: no I/O, no event loop. Everything parsed here
 * comes from the network, so every parser bounds its input
 * (NP_RELAY_MSG_MAX) and every string member (NP_RELAY_FIELD_MAX), checks
 * member types, and ignores unknown members. Builders emit members in the
 * order of the spec tables using the canonical JSON writer (np/json.h).
 *
 * Structs below are plain records: every string is owned by the record and
 * released by its _free function (NULL-safe). Out-parameters are NULL at
 * entry and set only on success; errors are NP_ERR_* codes (util/err.h).
 */
#ifndef NP_NP_RELAY_MSG_H
#define NP_NP_RELAY_MSG_H
#include <stddef.h>

/* Largest notification value accepted by the parsers here. */
#define NP_RELAY_MSG_MAX 8192
/* Largest string member (session id, atSign, nonce, address, URI). */
#define NP_RELAY_FIELD_MAX 256
/* Most preFetch URIs kept from a request (more -> NP_ERR_TOOBIG). */
#define NP_RELAY_PREFETCH_MAX 16

/* Relay socket authentication modes (7.3). */
enum np_relay_auth_mode {
    NP_RELAY_AUTH_PAYLOAD = 0, /* legacy signed line, 5.9 (the default) */
    NP_RELAY_AUTH_ESCR = 1     /* challenge-response, 5.10 */
};

/* "payload" / "escr". */
const char *np_relay_auth_mode_name(enum np_relay_auth_mode m);
/* Parse "payload" or "escr" (exact, lower-case); NP_ERR_FORMAT otherwise. */
int np_relay_auth_mode_parse(const char *s, enum np_relay_auth_mode *out);

/*
 * A port request (5.8.1). BASELINE members are always set by the parser
 * (sessionId, atSignA, atSignB, clientNonce non-empty); NEWER members get the
 * relay defaults when absent (payload / NULL / false / none).
 */
struct np_relay_request {
    char *session_id;
    char *atsign_a;     /* client atSign (legacy: the sender) */
    char *atsign_b;     /* daemon atSign (legacy: NULL) */
    int authenticate_a; /* bool */
    int authenticate_b; /* bool */
    char *client_nonce; /* opaque (legacy: NULL) */
    enum np_relay_auth_mode relay_auth_mode;
    char *relay_auth_aes_key; /* B64 text of 32 bytes, or NULL */
    int only443;              /* bool */
    int multiple_acks_ok;     /* bool */
    char **pre_fetch;         /* n_pre_fetch URIs (NULL when 0) */
    size_t n_pre_fetch;
    int send_json_response; /* bool */
    int legacy;             /* 1: made by np_relay_request_legacy */
};

/*
 * Parse a `request_ports` value. Required: sessionId, atSignA, atSignB,
 * clientNonce (non-empty strings), authenticateSocketA/B (booleans).
 * Optional (NEWER): relayAuthMode ("payload"|"escr"), relayAuthAesKey (string
 * or null), only443, multipleAcksOk, sendJsonResponse (booleans), preFetch
 * (array of strings, or null). A member of the wrong type, a missing required
 * member or a non-object -> NP_ERR_FORMAT; len > NP_RELAY_MSG_MAX, a string
 * longer than NP_RELAY_FIELD_MAX or too many preFetch URIs -> NP_ERR_TOOBIG.
 * Strings containing a NUL (\u0000) are NP_ERR_FORMAT. relayAuthAesKey is not
 * decoded here. *out: new record (np_relay_request_free).
 */
int np_relay_request_parse(const char *text, size_t len, struct np_relay_request **out);

/*
 * The LEGACY request (v3/v4): the value is the session id; atSignA = sender,
 * no authentication, everything else default, legacy = 1. The value is
 * trimmed of surrounding ASCII whitespace and must be non-empty, at most
 * NP_RELAY_FIELD_MAX bytes and free of control bytes (NP_ERR_FORMAT /
 * NP_ERR_TOOBIG).
 */
int np_relay_request_legacy(const char *sender, const char *value, size_t len,
                            struct np_relay_request **out);

/* Release a request (NULL-safe). relay_auth_aes_key is wiped. */
void np_relay_request_free(struct np_relay_request *r);

/* Flags for np_relay_request_build. */
#define NP_RELAY_REQ_NEWER 1 /* append the NEWER members after the BASELINE ones */

/*
 * Client side: the `request_ports` JSON text into a new string *out (np_free).
 * Members in BASELINE order: sessionId, atSignA, atSignB,
 * authenticateSocketA, authenticateSocketB, clientNonce; with
 * NP_RELAY_REQ_NEWER also relayAuthMode, relayAuthAesKey (null when NULL),
 * only443, multipleAcksOk, preFetch, sendJsonResponse. session_id, atsign_a,
 * atsign_b and client_nonce must be non-NULL (else NP_ERR_INVAL). r->legacy
 * is ignored.
 */
int np_relay_request_build(const struct np_relay_request *r, int flags, char **out);

/* A relay answer (5.8.2). */
struct np_relay_answer {
    char *address;               /* relay --ip, verbatim */
    int port_a;                  /* client side, 1..65535 */
    int port_b;                  /* daemon side, 1..65535 */
    char *rvd_nonce;             /* NULL for the literal null (legacy answers) */
    int json;                    /* 1: parsed from / to be built as the JSON form */
    int supports_event_logging;  /* JSON only; absent -> 0 */
    int auto_detects_relay_auth; /* JSON only; absent -> 0 */
};

/*
 * CSV form `<address>,<portA>,<portB>,<rvdNonce>` into a new string *out.
 * rvd_nonce NULL writes `null`. address and rvd_nonce must be non-empty and
 * free of ',' and control bytes, ports in 1..65535 (else NP_ERR_INVAL).
 */
int np_relay_answer_build_csv(const char *address, int port_a, int port_b, const char *rvd_nonce,
                              char **out);

/*
 * JSON form with members in the order address, portA, portB, rvdNonce,
 * supportsEventLogging, autoDetectsRelayAuth (the last two always written as
 * booleans). a->json is ignored. NP_ERR_INVAL as for the CSV form (',' is
 * allowed here).
 */
int np_relay_answer_build_json(const struct np_relay_answer *a, char **out);

/*
 * Client side: parse either form; a text whose first non-blank byte is '{' is
 * JSON, anything else CSV. CSV needs exactly four fields, a non-empty
 * address, decimal ports in 1..65535 and a non-empty nonce (`null` -> NULL).
 * JSON needs address (string), portA/portB (integers in range), rvdNonce
 * (string or null); the booleans are optional. Bad input -> NP_ERR_FORMAT;
 * over NP_RELAY_MSG_MAX / NP_RELAY_FIELD_MAX -> NP_ERR_TOOBIG.
 */
int np_relay_answer_parse(const char *text, size_t len, struct np_relay_answer **out);
void np_relay_answer_free(struct np_relay_answer *a);

/* The `auth_modes` hint (5.8.4). */
struct np_relay_auth_modes {
    char *session_id;
    char *rvd_nonce;
    enum np_relay_auth_mode side_a;
    enum np_relay_auth_mode side_b;
};

/* Build `{"sessionId":..,"rvdNonce":..,"sideA":..,"sideB":..}` (*out, np_free). */
int np_relay_auth_modes_build(const char *session_id, const char *rvd_nonce,
                              enum np_relay_auth_mode side_a, enum np_relay_auth_mode side_b,
                              char **out);
/* Parse the hint; all four members required (strings; modes "payload"|"escr"). */
int np_relay_auth_modes_parse(const char *text, size_t len, struct np_relay_auth_modes **out);
void np_relay_auth_modes_free(struct np_relay_auth_modes *m);

/* Why a relay refuses a request (5.8.3); the NACK value is the text. */
enum np_relay_nack_reason {
    NP_RELAY_NACK_BAD_REQUEST,
    NP_RELAY_NACK_SESSION_EXISTS,
    NP_RELAY_NACK_NO_443,
    NP_RELAY_NACK_443_NEEDS_ESCR,
    NP_RELAY_NACK_SESSION_LIMIT,
    NP_RELAY_NACK_RATE_LIMIT,
    NP_RELAY_NACK_INTERNAL
};
/* Human-readable reason text (static, never NULL). */
const char *np_relay_nack_text(enum np_relay_nack_reason reason);

/* What a received notification key in the sshrvd namespace asks for. */
enum np_relay_key_kind {
    NP_RELAY_KEY_OTHER = 0,     /* not for us / not understood: ignore */
    NP_RELAY_KEY_REQUEST_PORTS, /* <device>.request_ports.sshrvd */
    NP_RELAY_KEY_AUTH_MODES,    /* <device>.auth_modes.sshrvd */
    NP_RELAY_KEY_LEGACY         /* <device>.sshrvd (no other label) */
};

/*
 * Classify a key as the relay receives it, e.g.
 * `@relay:dev1.request_ports.sshrvd@client` (the `@to:` prefix and `@from`
 * suffix are optional; comparison is case-insensitive). NULL -> OTHER.
 */
enum np_relay_key_kind np_relay_key_classify(const char *key);

/*
 * Record names (namespace included, without `@to:` and `@from`) of the
 * relay's notifications to the client: `<sessionId>.sshrvd` (answer) and
 * `nack.<sessionId>.sshrvd` (NACK). NP_ERR_TOOBIG if dst is too small.
 */
int np_relay_key_answer(const char *session_id, char *dst, size_t size);
int np_relay_key_nack(const char *session_id, char *dst, size_t size);

#endif
