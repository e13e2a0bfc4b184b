/*
 * lib/np/policy.h - the daemon <-> policy service messages (noports-wire.md
 * 4.4 and 5.11): the auth_checks AtRpc request and its responses, and the
 * daemon's heartbeat key.
 *
 *   daemon -> policy  key  request.<reqId>.auth_checks.__rpcs.sshnp
 *                     value {"reqId":<int>,"payload":{"daemonAtsign":..,
 *                            "daemonDeviceName":..,"daemonDeviceGroupName":..,
 *                            "clientAtsign":..}}
 *   policy -> daemon  key  <ack|nack|success|error>.<reqId>.auth_checks.__rpcs[.sshnp]
 *                     value {"reqId":<int>,"respType":"ack|nack|success|error",
 *                            "payload":{"authorized":<bool>,"message":<str|null>,
 *                                       "permitOpen":["host:port",...]}}
 *
 * Responses are accepted with or without the ".sshnp" namespace suffix (a
 * later at_client stopped appending it). Pure functions: no I/O, no state;
 * fuzzed through fuzz/fuzz_sshnpd_dispatch.c.
 */
#ifndef NP_NP_POLICY_H
#define NP_NP_POLICY_H
#include <stddef.h>
#include <stdint.h>

/* Largest response value parsed. */
#define NP_POLICY_MAX (64 * 1024)
/* Most permitOpen entries accepted in one answer. */
#define NP_POLICY_MAX_PERMITS 256

enum np_policy_resp {
    NP_POLICY_ACK = 1,     /* request received, answer follows */
    NP_POLICY_NACK = 2,    /* malformed request */
    NP_POLICY_SUCCESS = 3, /* the answer (payload below) */
    NP_POLICY_ERROR = 4    /* the policy failed */
};

/*
 * The request record name with namespace, "request.<reqId>.auth_checks.__rpcs.sshnp",
 * into dst[size]. NP_ERR_INVAL for a negative reqId, NP_ERR_TOOBIG if it
 * does not fit.
 */
int np_policy_request_key(int64_t req_id, char *dst, size_t size);

/*
 * The request value (compact JSON, member order as above) into a new string
 * *out (np_free). device_group NULL means "__none__". NP_ERR_INVAL for NULL
 * arguments or a reqId outside [0, 2^53), NP_ERR_NOMEM.
 */
int np_policy_request_build(int64_t req_id, const char *daemon_atsign, const char *device,
                            const char *device_group, const char *client_atsign, char **out);

/*
 * Classify a received notification key: strip a leading "<to>:" and the
 * trailing "@<from>", then accept "<kind>.<reqId>.auth_checks.__rpcs" with
 * an optional ".sshnp" (case-insensitive). On 0, *kind is an enum
 * np_policy_resp (the key's kind; "request" keys are NP_ERR_FORMAT) and
 * *req_id the id. NP_ERR_FORMAT for any other key. Out-parameters are
 * zeroed at entry.
 */
int np_policy_key_parse(const char *key, int *kind, int64_t *req_id);

/* A parsed response (np_policy_answer_free). */
struct np_policy_answer {
    int64_t req_id;
    int type;       /* enum np_policy_resp, from "respType" */
    int authorized; /* success only: payload.authorized (0 when absent) */
    char *message;  /* payload.message, or NULL */
    char **permit_open;
    size_t n_permit; /* payload.permitOpen entries ("host:port") */
};

/*
 * Parse a response value (at most NP_POLICY_MAX bytes, else NP_ERR_TOOBIG).
 * Requires an object with an integral "reqId" and a known "respType"
 * (NP_ERR_FORMAT otherwise). For "success" the payload must be an object
 * with a boolean "authorized"; "message" is a string or null; "permitOpen"
 * (optional) an array of at most NP_POLICY_MAX_PERMITS strings, each a
 * non-empty "host:port" without ',' or control characters (else
 * NP_ERR_FORMAT). Other response types need no payload. *out is set only on
 * success.
 */
int np_policy_response_parse(const char *json, size_t len, struct np_policy_answer **out);
void np_policy_answer_free(struct np_policy_answer *a);

/*
 * The permitOpen entries joined with ',' (the np_permit_parse input form)
 * into a new string *out (np_free); "" for none.
 */
int np_policy_answer_permit_csv(const struct np_policy_answer *a, char **out);

/* The daemon heartbeat record name "<device>.devices.policy.sshnp". */
int np_policy_heartbeat_key(const char *device, char *dst, size_t size);

#endif
