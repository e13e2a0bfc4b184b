/* Unit tests for lib/at response.c and error.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "at/error.h"
#include "at/response.h"
#include "util/buf.h"
#include "util/err.h"

#define EMOJI "\xf0\x9f\x9b\xa0"

struct resp_case {
    const char *line;
    enum at_resp_kind kind;
    const char *payload; /* payload, or message for errors, or atsign for pol */
    int code;
};

static const struct resp_case cases[] = {
    {"data:success", AT_RESP_DATA, "success", -1},
    {"@alice@data:success", AT_RESP_DATA, "success", -1},
    {"@data:ok", AT_RESP_DATA, "ok", -1},
    {"@alice" EMOJI "@data:17", AT_RESP_DATA, "17", -1},
    {"data:_4af24c03-d732-48f8-a9a2-570e8fb6a01c@alice:d6cac849-9c29-42b0-b0c5-493db62728b9",
     AT_RESP_DATA,
     "_4af24c03-d732-48f8-a9a2-570e8fb6a01c@alice:d6cac849-9c29-42b0-b0c5-493db62728b9", -1},
    {"data:proof:_77aa@alice:0f3e", AT_RESP_DATA, "proof:_77aa@alice:0f3e", -1},
    {"data:success\r", AT_RESP_DATA, "success", -1},
    {"data:", AT_RESP_DATA, "", -1},
    {"data:null", AT_RESP_DATA, "null", -1},
    {"data: [{\"id\":\"3\",\"name\":\"lastCommitID\",\"value\":\"42\"}]", AT_RESP_DATA,
     "[{\"id\":\"3\",\"name\":\"lastCommitID\",\"value\":\"42\"}]", -1},
    {"data: {\"a\":1}", AT_RESP_DATA, "{\"a\":1}", -1},
    {"data: leading space kept", AT_RESP_DATA, " leading space kept", -1},
    {"data:{\"key\":\"public:publickey@bob\",\"data\":\"MIIB\"}", AT_RESP_DATA,
     "{\"key\":\"public:publickey@bob\",\"data\":\"MIIB\"}", -1},
    {"error:AT0015-key not found : shared_key.bob@alice does not exist in keystore", AT_RESP_ERROR,
     "key not found : shared_key.bob@alice does not exist in keystore", 15},
    {"@alice@error:AT0015-key not found : x@alice does not exist in keystore", AT_RESP_ERROR,
     "key not found : x@alice does not exist in keystore", 15},
    {"error:AT0003-Exception: invalid command", AT_RESP_ERROR, "Exception: invalid command", 3},
    {"@error:AT0401-Exception: Command cannot be executed without auth", AT_RESP_ERROR,
     "Exception: Command cannot be executed without auth", 401},
    {"error:AT0025:enrollment_id: 1234 is denied", AT_RESP_ERROR, "enrollment_id: 1234 is denied",
     25},
    {"error:AT0012-Inbound connection limit exceeded", AT_RESP_ERROR,
     "Inbound connection limit exceeded", 12},
    {"error:{\"errorCode\":\"AT0015\",\"errorDescription\":\"key not found : x@a\"}", AT_RESP_ERROR,
     "key not found : x@a", 15},
    {"@bob@error:{\"errorCode\":\"AT0003\",\"errorDescription\":\"Invalid syntax\"}", AT_RESP_ERROR,
     "Invalid syntax", 3},
    {"error:{\"errorCode\":\"bad\",\"errorDescription\":\"x\"}", AT_RESP_ERROR, "x", -1},
    {"error:{\"nothing\":1}", AT_RESP_ERROR, "{\"nothing\":1}", -1},
    {"error:AT0015", AT_RESP_ERROR, "", 15},
    {"error:something odd", AT_RESP_ERROR, "something odd", -1},
    {"error:AT00x5-x", AT_RESP_ERROR, "AT00x5-x", -1},
    {"notification: {\"id\":\"1\"}", AT_RESP_NOTIFICATION, "{\"id\":\"1\"}", -1},
    {"notification:{\"id\":\"1\"}", AT_RESP_NOTIFICATION, "{\"id\":\"1\"}", -1},
    {"@bob@notification: {\"id\":\"2\"}", AT_RESP_NOTIFICATION, "{\"id\":\"2\"}", -1},
    {"stream:done", AT_RESP_STREAM, "done", -1},
    {"@alice@", AT_RESP_POL, "@alice", -1},
    {"@Alice" EMOJI "@", AT_RESP_POL, "@alice" EMOJI, -1},
    {"@", AT_RESP_EMPTY, NULL, -1},
    {"", AT_RESP_EMPTY, NULL, -1},
    {"\r", AT_RESP_EMPTY, NULL, -1},
    {"vip.ve.atsign.zone:25000", AT_RESP_OTHER, "vip.ve.atsign.zone:25000", -1},
    {"null", AT_RESP_OTHER, "null", -1},
    {"@al ice@data:x", AT_RESP_OTHER, "@al ice@data:x", -1},
    {"@alice@foo:bar", AT_RESP_OTHER, "@alice@foo:bar", -1},
    {"@@", AT_RESP_OTHER, "@@", -1},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct resp_case *c = &cases[i];
        struct at_response r;
        assert_int_equal(at_response_parse(c->line, strlen(c->line), &r), 0);
        if (r.kind != c->kind)
            fail_msg("case %zu '%s': kind %d want %d", i, c->line, r.kind, c->kind);
        assert_int_equal(r.code, c->code);
        if (c->kind == AT_RESP_ERROR) {
            assert_non_null(r.message);
            assert_string_equal(r.message, c->payload);
        } else if (c->kind == AT_RESP_POL) {
            assert_string_equal(r.atsign, c->payload);
        } else if (c->payload) {
            assert_int_equal(r.payload_len, strlen(c->payload));
            assert_memory_equal(r.payload, c->payload, r.payload_len);
        }
        at_response_clear(&r);
    }
}

static void test_prompt_len(void **state)
{
    (void)state;
    assert_int_equal(at_response_prompt_len("@alice@data:x", 13), 7);
    assert_int_equal(at_response_prompt_len("@data:x", 7), 1);
    assert_int_equal(at_response_prompt_len("data:x", 6), 0);
    assert_int_equal(at_response_prompt_len("@alice@", 7), 0);
    assert_int_equal(at_response_prompt_len("@alice@xdata:x", 14), 0);
    assert_int_equal(at_response_prompt_len(NULL, 0), 0);
}

static void test_format_data(void **state)
{
    struct np_buf *b = np_buf_new(1024);
    (void)state;
    assert_int_equal(at_response_format_data(b, "success", 7, false, "@alice@"), 0);
    assert_string_equal(np_buf_ptr(b), "data:success\n@alice@");
    np_buf_reset(b);
    assert_int_equal(at_response_format_data(b, "[1]", 3, true, "@bob@"), 0);
    assert_string_equal(np_buf_ptr(b), "data: [1]\n@bob@");
    np_buf_reset(b);
    assert_int_equal(at_response_format_data(b, "", 0, false, NULL), 0);
    assert_string_equal(np_buf_ptr(b), "data:\n");
    np_buf_free(b);
}

static void test_format_errors(void **state)
{
    struct np_buf *b = np_buf_new(1024);
    (void)state;
    assert_int_equal(at_response_format_error(b, AT_E_KEY_NOT_FOUND,
                                              "shared_key.bob@alice does not exist in keystore",
                                              true, false, "@alice@"),
                     0);
    assert_string_equal(np_buf_ptr(b), "error:AT0015-key not found : shared_key.bob@alice does "
                                       "not exist in keystore\n@alice@");
    np_buf_reset(b);
    assert_int_equal(
        at_response_format_error(b, AT_E_INVALID_SYNTAX, "invalid command", false, false, "@"), 0);
    assert_string_equal(np_buf_ptr(b), "error:AT0003-Exception: invalid command\n@");
    np_buf_reset(b);
    assert_int_equal(at_response_format_error(b, AT_E_AUTH_FAILED,
                                              "Command cannot be executed without auth", false,
                                              false, "@"),
                     0);
    assert_string_equal(np_buf_ptr(b),
                        "error:AT0401-Exception: Command cannot be executed without auth\n@");
    np_buf_reset(b);
    assert_int_equal(
        at_response_format_error(b, AT_E_KEY_NOT_FOUND, "x@a \"q\"", true, true, "@alice@"), 0);
    assert_string_equal(np_buf_ptr(b), "error:{\"errorCode\":\"AT0015\",\"errorDescription\":"
                                       "\"key not found : x@a \\\"q\\\"\"}\n@alice@");
    /* and the client parses it back */
    {
        struct at_response r;
        const char *line = np_buf_ptr(b);
        size_t n = strchr(line, '\n') - line;
        assert_int_equal(at_response_parse(line, n, &r), 0);
        assert_int_equal(r.kind, AT_RESP_ERROR);
        assert_int_equal(r.code, 15);
        assert_string_equal(r.message, "key not found : x@a \"q\"");
        at_response_clear(&r);
    }
    np_buf_reset(b);
    assert_int_equal(at_response_format_error(b, AT_E_INBOUND_LIMIT, NULL, false, false, NULL), 0);
    assert_string_equal(np_buf_ptr(b), "error:AT0012-Inbound connection limit exceeded\n");
    np_buf_reset(b);
    assert_int_equal(at_response_format_error(b, AT_E_INVALID_KEY, "bad\nkey\r", true, false, "@"),
                     0);
    assert_string_equal(np_buf_ptr(b), "error:AT0016-Invalid key : bad key \n@");
    np_buf_reset(b);
    assert_int_equal(
        at_response_format_error_colon(b, AT_E_APKAM_DENIED, "enrollment_id: 1234 is denied", "@"),
        0);
    assert_string_equal(np_buf_ptr(b), "error:AT0025:enrollment_id: 1234 is denied\n@");
    np_buf_reset(b);
    assert_int_equal(at_response_format_error(b, 99999, "x", true, false, "@"), NP_ERR_INVAL);
    assert_int_equal(at_response_format_error(b, -1, "x", true, false, "@"), NP_ERR_INVAL);
    np_buf_free(b);
}

static void test_error_table(void **state)
{
    static const struct {
        int code;
        const char *text, *desc;
    } t[] = {
        {1, "AT0001", "Server exception"},
        {2, "AT0002", "DataStore exception"},
        {3, "AT0003", "Invalid syntax"},
        {4, "AT0004", "Socket error"},
        {5, "AT0005", "Buffer limit exceeded"},
        {6, "AT0006", "Outbound connection limit exceeded"},
        {7, "AT0007", "Secondary server not found"},
        {8, "AT0008", "Handshake failure"},
        {9, "AT0009", "UnAuthorized client in request"},
        {10, "AT0010", "Internal server error"},
        {11, "AT0011", "Internal server exception"},
        {12, "AT0012", "Inbound connection limit exceeded"},
        {13, "AT0013", "Connection Exception"},
        {14, "AT0014", "Unknown AtClient exception"},
        {15, "AT0015", "key not found"},
        {16, "AT0016", "Invalid key"},
        {21, "AT0021", "Unable to connect to secondary"},
        {22, "AT0022", "Illegal arguments"},
        {23, "AT0023", "Timeout waiting for response"},
        {24, "AT0024", "Server is paused"},
        {25, "AT0025", "Apkam Auth Denied"},
        {26, "AT0026", "Apkam Auth Failed"},
        {27, "AT0027", "Apkam Access Revoked"},
        {28, "AT0028", "Too Many Requests"},
        {29, "AT0029", "Apkam Enrollment Expired"},
        {30, "AT0030", "Invalid Enrollment Status"},
        {31, "AT0031", "Cannot revoke self enrollment"},
        {401, "AT0401", "Client authentication failed"},
    };
    char buf[AT_ERR_CODE_BUF];
    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        assert_int_equal(at_err_code_format(buf, sizeof(buf), t[i].code), 0);
        assert_string_equal(buf, t[i].text);
        assert_int_equal(at_err_code_parse(t[i].text, 6), t[i].code);
        assert_string_equal(at_err_description(t[i].code), t[i].desc);
    }
    assert_null(at_err_description(17));
    assert_int_equal(at_err_code_parse("AT001", 5), NP_ERR_FORMAT);
    assert_int_equal(at_err_code_parse("at0015", 6), NP_ERR_FORMAT);
    assert_int_equal(at_err_closes_connection(AT_E_BUFFER_LIMIT), 1);
    assert_int_equal(at_err_closes_connection(AT_E_CONNECTION), 1);
    assert_int_equal(at_err_closes_connection(AT_E_AUTH_FAILED), 0);
    assert_int_equal(at_err_closes_connection(AT_E_KEY_NOT_FOUND), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table), cmocka_unit_test(test_prompt_len),
        cmocka_unit_test(test_format_data), cmocka_unit_test(test_format_errors),
        cmocka_unit_test(test_error_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
