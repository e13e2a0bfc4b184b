/*
 * lib/np/messages.h - NoPorts payload schemas (noports-wire.md 4, 5.1-5.5,
 * 9.2): device info (ping answer), ssh_request / npt_request payloads, the
 * daemon's session answer, and message-type extraction from notification
 * keys. Builders emit members in the BASELINE order (the order is signed, so
 * it is part of the contract); parsers accept any order, check every type and
 * ignore unknown members.
 *
 * Strings inside the structs are owned by them (np_free'd by the matching
 * *_free, which accepts NULL). A NULL string member means "absent".
 */
#ifndef NP_NP_MESSAGES_H
#define NP_NP_MESSAGES_H
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

/* supportedFeatures names; bits of np_device_info.features_*. */
enum np_feature {
    NP_FEAT_SR_AUTH = 1u << 0,             /* srAuth */
    NP_FEAT_SR_E2EE = 1u << 1,             /* srE2ee */
    NP_FEAT_ACCEPTS_PUBLIC_KEYS = 1u << 2, /* acceptsPublicKeys */
    NP_FEAT_PORT_CHOICE = 1u << 3,         /* supportsPortChoice */
    NP_FEAT_ADJ_TIMEOUT = 1u << 4,         /* adjustableTimeout */
    NP_FEAT_CC_HEARTBEATS = 1u << 5,       /* controlChannelHeartbeats */
    NP_FEAT_RAM_ESCR = 1u << 6,            /* supportsRamEscr */
    NP_FEAT_TWIN_KEYS = 1u << 7,           /* twinKeys */
    NP_FEAT__ALL = (1u << 8) - 1
};

/* JSON name of one feature bit, or NULL. */
const char *np_feature_name(unsigned feature);

struct np_device_info {
    char *devicename;
    char *device_group; /* deviceGroupName; NULL = omitted */
    char *version;
    char *core_version;        /* corePackageVersion */
    int has_features;          /* supportedFeatures present (v5+) */
    unsigned features_present; /* which names appeared (parse) / are emitted (build) */
    unsigned features;         /* their values */
    char **allowed_services;
    size_t n_allowed;
    /* NEWER, each omitted when NULL / empty */
    char **auth_modes;
    size_t n_auth_modes;
    char *np_cp_version;          /* npCpVersion */
    char *public_signing_key_uri; /* publicSigningKeyUri */
};

/* Device-info JSON, compact, BASELINE member order then NEWER members. */
int np_device_info_to_json(const struct np_device_info *d, char **out);
/* Parse; a missing supportedFeatures means a v4 daemon (has_features = 0). */
int np_device_info_parse(const char *json, size_t len, struct np_device_info **out);
void np_device_info_free(struct np_device_info *d);
/* Feature test with the v4 rule: no supportedFeatures => only
 * acceptsPublicKeys is assumed true. */
int np_device_info_has(const struct np_device_info *d, unsigned feature);

/* ssh_request (5.3) and npt_request (5.4) payloads. */
struct np_session_req {
    int npt;    /* 0 = ssh_request, 1 = npt_request */
    int direct; /* ssh only (v4+ clients: true) */
    char *session_id;
    char *host;              /* ssh "host" / npt "rvdHost" */
    int port;                /* ssh "port" / npt "rvdPort" (relay port B) */
    int authenticate_to_rvd; /* -1 = absent (ssh v4), else 0/1 */
    char *client_nonce;
    char *rvd_nonce;         /* may be NULL (JSON null) */
    int encrypt_rvd_traffic; /* -1 = absent, else 0/1 */
    char *client_ephemeral_pk;
    char *client_ephemeral_pk_type;
    int requested_port;   /* npt */
    char *requested_host; /* npt; default "localhost" */
    int64_t timeout_ms;   /* npt; default 60000 when absent */
    /* NEWER, optional: NULL / -1 when absent */
    char *relay_auth_mode;
    char *relay_auth_aes_key;
    int twin_keys;
    char *relay_atsign;
};

/* Build the payload object (*out, cJSON_Delete) in BASELINE member order,
 * then the NEWER members that are set. */
int np_session_req_to_json(const struct np_session_req *r, cJSON **out);
/* Parse a payload object. errbuf (may be NULL) names the bad member. */
int np_session_req_parse(const cJSON *payload, int npt, struct np_session_req **out, char *errbuf,
                         size_t errlen);
void np_session_req_free(struct np_session_req *r);

/* The daemon's success answer payload (5.5). */
struct np_session_answer {
    char *status; /* "connected" */
    char *session_id;
    int has_ephemeral_private_key; /* ssh answers carry the member (null for us) */
    char *ephemeral_private_key;
    char *session_aes_key; /* RSA-wrapped B64, or NULL (JSON null) */
    char *session_iv;
    /* twin keys (NEWER): when aes_key_c2d is set these replace the two above */
    char *aes_key_c2d, *iv_c2d, *aes_key_d2c, *iv_d2c;
};

int np_session_answer_to_json(const struct np_session_answer *a, cJSON **out);
int np_session_answer_parse(const cJSON *payload, struct np_session_answer **out, char *errbuf,
                            size_t errlen);
void np_session_answer_free(struct np_session_answer *a);

/*
 * Message type of a received notification key (9.2): strip a leading
 * "<to>:" and a trailing ".<device>.sshnp<@from>" (case-insensitive), then
 * lower-case. "@device:ping.garage.sshnp@client" -> "ping". Keys that do not
 * end in ".<device>.sshnp@<from>" -> NP_ERR_FORMAT. type[size] receives it.
 */
int np_msg_type_from_key(const char *key, const char *device, const char *from, char *type,
                         size_t size);

#endif
