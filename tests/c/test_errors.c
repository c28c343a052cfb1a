/* SPDX-License-Identifier: MIT
 *
 * Errors from C: service errors with their status, HTTP status, service code, filtered
 * categories, retry-after and attempts; retries; NULL and invalid UTF-8 arguments of a
 * representative set of functions (the right status and a message naming the argument;
 * outputs untouched); value getters with NULL; and a panic caught at the boundary. */
#include "harness.h"

#define BAD_UTF8 "caf\xc3" /* a truncated two-byte sequence */

/* A client for the emulator with `max_retries` retries (-1: the default). */
static AoaiClient *client_with_retries(int max_retries) {
    AoaiClient *c = NULL;
    AoaiOptions *o = emu_options();
    if (o == NULL) return NULL;
    if (max_retries >= 0) aoai_options_set_max_retries(o, (uint32_t)max_retries);
    if (aoai_client_new(o, &c) != AOAI_STATUS_OK) c = NULL;
    aoai_options_free(o);
    return c;
}

/* aoai_chat_simple expected to fail with `status`; returns the thread's last error. */
static const AoaiError *chat_fails(const AoaiClient *c, const char *prompt, int32_t status) {
    char *text = (char *)"untouched";
    CHECK_STATUS(aoai_chat_simple(c, prompt, &text), status);
    CHECK_STR(text, "untouched"); /* outputs are written only on success */
    return aoai_last_error();
}

static void test_service_errors(void) {
    AoaiClient *c = client_with_retries(0);
    AoaiOptions *o;
    AoaiClient *bad = NULL;
    const AoaiError *e;
    size_t len = 0;
    const char *s;

    section("401: bad key");
    o = emu_options();
    CHECK_OK(aoai_options_set_api_key(o, "not-the-emulator-key"));
    CHECK_OK(aoai_client_new(o, &bad));
    aoai_options_free(o);
    e = chat_fails(bad, "hello", AOAI_STATUS_AUTHENTICATION);
    CHECK_INT(aoai_error_status(e), AOAI_STATUS_AUTHENTICATION);
    CHECK_INT(aoai_error_http_status(e), 401);
    CHECK_STR(aoai_error_code(e, &len), "401");
    CHECK_INT(len, 3);
    CHECK_CONTAINS(aoai_error_message(e, NULL), "Access denied");
    CHECK_NOT_CONTAINS(aoai_error_message(e, NULL), "not-the-emulator-key");
    CHECK(aoai_error_request_id(e, NULL) != NULL);
    CHECK_CONTAINS(aoai_error_body(e, NULL), "\"401\"");
    CHECK_INT(aoai_error_attempts(e), 1); /* 401 is never retried */
    CHECK_INT(aoai_error_retry_after_ms(e), -1);
    aoai_client_free(bad);

    section("404: unknown deployment");
    o = emu_options();
    CHECK_OK(aoai_options_set_deployment(o, "no-such-deployment"));
    bad = NULL;
    CHECK_OK(aoai_client_new(o, &bad));
    aoai_options_free(o);
    e = chat_fails(bad, "hello", AOAI_STATUS_NOT_FOUND);
    CHECK_INT(aoai_error_http_status(e), 404);
    CHECK_STR(aoai_error_code(e, NULL), "DeploymentNotFound");
    CHECK_CONTAINS(aoai_error_message(e, NULL), "does not exist");
    CHECK_INT(aoai_error_attempts(e), 1);
    aoai_client_free(bad);

    section("400: content filter");
    e = chat_fails(c, "[[emu:status=400;code=content_filter]] something violent", AOAI_STATUS_CONTENT_FILTERED);
    CHECK_INT(aoai_error_http_status(e), 400);
    CHECK_STR(aoai_error_code(e, NULL), "content_filter");
    CHECK_STR(aoai_error_filtered_categories(e, NULL), "violence");
    CHECK_STR(aoai_error_param(e, NULL), "prompt");
    CHECK_CONTAINS(aoai_error_body(e, NULL), "ResponsibleAIPolicyViolation");
    e = chat_fails(c, "[[emu:status=400;code=content_filter;category=hate]] x", AOAI_STATUS_CONTENT_FILTERED);
    CHECK_STR(aoai_error_filtered_categories(e, NULL), "hate");
    e = chat_fails(c, "[[emu:status=400;code=content_filter;category=jailbreak]] x", AOAI_STATUS_CONTENT_FILTERED);
    CHECK_STR(aoai_error_filtered_categories(e, NULL), "jailbreak");
    /* Without innererror the code still says content_filter. */
    e = chat_fails(c, "[[emu:status=400;code=content_filter;inner=none]] x", AOAI_STATUS_CONTENT_FILTERED);
    CHECK_STR(aoai_error_code(e, NULL), "content_filter");

    section("other HTTP errors");
    e = chat_fails(c, "[[emu:status=400]] x", AOAI_STATUS_BAD_REQUEST);
    CHECK_STR(aoai_error_type(e, NULL), "invalid_request_error");
    CHECK_INT(aoai_error_http_status(e), 400);
    e = chat_fails(c, "[[emu:status=403]] x", AOAI_STATUS_PERMISSION_DENIED);
    CHECK_INT(aoai_error_http_status(e), 403);
    e = chat_fails(c, "[[emu:status=500]] x", AOAI_STATUS_SERVER);
    CHECK_CONTAINS(aoai_error_message(e, NULL), "The server had an error");
    CHECK_INT(aoai_error_http_status(e), 500);
    e = chat_fails(c, "[[emu:status=418]] x", AOAI_STATUS_HTTP);
    CHECK_INT(aoai_error_http_status(e), 418);
    e = chat_fails(c, "[[emu:garbage=1]] x", AOAI_STATUS_RESPONSE_PARSE);
    CHECK_INT(aoai_error_http_status(e), 200);
    e = chat_fails(c, "[[emu:status=502;body=html]] x", AOAI_STATUS_SERVER);
    CHECK_INT(aoai_error_http_status(e), 502);

    section("429: rate limited, with the retry hint");
    e = chat_fails(c, "[[emu:status=429;retry-after=7]] x", AOAI_STATUS_RATE_LIMITED);
    CHECK_INT(aoai_error_http_status(e), 429);
    CHECK_INT(aoai_error_retry_after_ms(e), 7000);
    CHECK_INT(aoai_error_attempts(e), 1);
    CHECK_STR(aoai_error_header(e, "retry-after", NULL), "7");
    CHECK_STR(aoai_error_header(e, "X-RateLimit-Remaining-Tokens", NULL), "0");
    CHECK_CONTAINS(aoai_error_message(e, NULL), "rate limit");
    e = chat_fails(c, "[[emu:status=429;retry-after=2;retry-after-ms=1500]] x", AOAI_STATUS_RATE_LIMITED);
    CHECK_INT(aoai_error_retry_after_ms(e), 1500);
    e = chat_fails(c, "[[emu:status=429;retry-after=none]] x", AOAI_STATUS_RATE_LIMITED);
    CHECK_INT(aoai_error_retry_after_ms(e), -1);
    s = aoai_error_header(e, "retry-after", NULL);
    CHECK(s == NULL);

    /* A success clears the thread's last error. */
    {
        char *text = NULL;
        CHECK_OK(aoai_chat_simple(c, "fine again", &text));
        aoai_string_free(text);
        CHECK_INT(aoai_error_status(aoai_last_error()), AOAI_STATUS_OK);
        CHECK_STR(aoai_last_error_message(), "");
    }
    aoai_client_free(c);
}

static void test_retries(void) {
    AoaiClient *none = client_with_retries(0), *dflt = client_with_retries(-1);
    AoaiRequest *req = NULL;
    AoaiResponse *resp = NULL;
    const AoaiError *e;
    char *d = NULL;

    section("retries: max_retries 0 against the default");
    REQUIRE_VOID(none != NULL && dflt != NULL);
    CHECK_OK(aoai_client_describe(dflt, &d));
    CHECK_INT(json_int(d, "max_retries", -1), 2);
    aoai_string_free(d);
    /* No retry: the first 503 is the answer. */
    e = chat_fails(none, "[[emu:status=503;times=1]] no retry", AOAI_STATUS_SERVER);
    CHECK_INT(aoai_error_http_status(e), 503);
    CHECK_INT(aoai_error_attempts(e), 1);
    /* Default retries: one 503, then success on the second attempt. */
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "[[emu:status=503;times=1;message=retried]] with retry"));
    CHECK_OK(aoai_client_send(dflt, req, &resp));
    CHECK_STR(aoai_response_text(resp, 0, NULL), "Hello from the aoai emulator! You said: with retry");
    CHECK_INT(aoai_response_attempts(resp), 2);
    aoai_response_free(resp);
    resp = NULL;
    aoai_request_free(req);
    /* A 429 with a short hint is retried too; a 400 never is. */
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "[[emu:status=429;retry-after=0;retry-after-ms=10;times=2]] busy"));
    CHECK_OK(aoai_client_send(dflt, req, &resp));
    CHECK_INT(aoai_response_attempts(resp), 3);
    aoai_response_free(resp);
    aoai_request_free(req);
    e = chat_fails(dflt, "[[emu:status=400;times=1;message=not retried]] not retried", AOAI_STATUS_BAD_REQUEST);
    CHECK_INT(aoai_error_attempts(e), 1);
    aoai_client_free(none);
    aoai_client_free(dflt);
}

/* NULL and invalid UTF-8 arguments: the status, and a message that names the argument. */
static void test_bad_arguments(void) {
    AoaiClient *c = emu_client();
    AoaiOptions *o = NULL;
    AoaiRequest *req = NULL;
    AoaiResponse *resp = (AoaiResponse *)&resp; /* sentinels: must stay untouched */
    AoaiOp *op = (AoaiOp *)&op;
    AoaiClient *cout = (AoaiClient *)&cout;
    AoaiEvent *ev = NULL;
    char *text = (char *)"untouched";
    int32_t state = 77;
    size_t len = 5;

    section("NULL arguments");
    REQUIRE_VOID(c != NULL);
    CHECK_FAILS(aoai_options_new(NULL), AOAI_STATUS_NULL_ARGUMENT, "opts_out");
    CHECK_OK(aoai_options_new(&o));
    CHECK_FAILS(aoai_options_set_endpoint(NULL, "https://x.openai.azure.com"), AOAI_STATUS_NULL_ARGUMENT, "opts");
    CHECK_FAILS(aoai_options_set_api_type(NULL, AOAI_API_AZURE), AOAI_STATUS_NULL_ARGUMENT, "opts");
    CHECK_FAILS(aoai_options_add_header(o, NULL, "v"), AOAI_STATUS_NULL_ARGUMENT, "name");
    CHECK_FAILS(aoai_options_load_json(o, NULL), AOAI_STATUS_NULL_ARGUMENT, "json_or_path");
    CHECK_FAILS(aoai_client_new(NULL, &cout), AOAI_STATUS_NULL_ARGUMENT, "opts");
    CHECK_FAILS(aoai_client_new(o, NULL), AOAI_STATUS_NULL_ARGUMENT, "client_out");
    CHECK_FAILS(aoai_client_from_env(NULL), AOAI_STATUS_NULL_ARGUMENT, "client_out");
    CHECK_FAILS(aoai_client_from_json(NULL, &cout), AOAI_STATUS_NULL_ARGUMENT, "json_or_path");
    CHECK(cout == (AoaiClient *)&cout);
    CHECK_FAILS(aoai_client_describe(NULL, &text), AOAI_STATUS_NULL_ARGUMENT, "client");
    CHECK_FAILS(aoai_client_describe(c, NULL), AOAI_STATUS_NULL_ARGUMENT, "json_out");
    CHECK_FAILS(aoai_chat_simple(NULL, "hi", &text), AOAI_STATUS_NULL_ARGUMENT, "client");
    CHECK_FAILS(aoai_chat_simple(c, NULL, &text), AOAI_STATUS_NULL_ARGUMENT, "prompt");
    CHECK_FAILS(aoai_chat_simple(c, "hi", NULL), AOAI_STATUS_NULL_ARGUMENT, "text_out");
    CHECK_FAILS(aoai_completion_simple(c, NULL, &text), AOAI_STATUS_NULL_ARGUMENT, "prompt");
    CHECK_STR(text, "untouched");
    CHECK_FAILS(aoai_chat_request_new(NULL), AOAI_STATUS_NULL_ARGUMENT, "req_out");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_FAILS(aoai_request_add_message(NULL, AOAI_ROLE_USER, "x"), AOAI_STATUS_NULL_ARGUMENT, "req");
    CHECK_FAILS(aoai_request_add_message(req, AOAI_ROLE_USER, NULL), AOAI_STATUS_NULL_ARGUMENT, "content");
    CHECK_FAILS(aoai_request_add_tool_message(req, NULL, "x"), AOAI_STATUS_NULL_ARGUMENT, "tool_call_id");
    CHECK_FAILS(aoai_request_add_function_tool(req, NULL, NULL, NULL, 0), AOAI_STATUS_NULL_ARGUMENT, "name");
    CHECK_FAILS(aoai_request_set_field_json(req, "seed", NULL), AOAI_STATUS_NULL_ARGUMENT, "value_json");
    CHECK_FAILS(aoai_request_from_json(AOAI_REQUEST_CHAT, NULL, &req), AOAI_STATUS_NULL_ARGUMENT, "json");
    CHECK_FAILS(aoai_request_to_json(req, NULL), AOAI_STATUS_NULL_ARGUMENT, "json_out");
    CHECK_FAILS(aoai_request_add_response_message(req, NULL, 0), AOAI_STATUS_NULL_ARGUMENT, "resp");
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "hi"));
    CHECK_FAILS(aoai_client_send(NULL, req, &resp), AOAI_STATUS_NULL_ARGUMENT, "client");
    CHECK_FAILS(aoai_client_send(c, NULL, &resp), AOAI_STATUS_NULL_ARGUMENT, "req");
    CHECK_FAILS(aoai_client_send(c, req, NULL), AOAI_STATUS_NULL_ARGUMENT, "resp_out");
    CHECK_FAILS(aoai_client_stream(c, req, NULL, NULL, NULL), AOAI_STATUS_NULL_ARGUMENT, "callback");
    CHECK_FAILS(aoai_client_start(NULL, req, 0, NULL, NULL, &op), AOAI_STATUS_NULL_ARGUMENT, "client");
    CHECK_FAILS(aoai_client_start(c, NULL, 0, NULL, NULL, &op), AOAI_STATUS_NULL_ARGUMENT, "req");
    CHECK_FAILS(aoai_client_start(c, req, 0, NULL, NULL, NULL), AOAI_STATUS_NULL_ARGUMENT, "op_out");
    CHECK(resp == (AoaiResponse *)&resp);
    CHECK(op == (AoaiOp *)&op);
    CHECK_FAILS(aoai_op_poll(NULL, &state), AOAI_STATUS_NULL_ARGUMENT, "op");
    CHECK_INT(state, 77);
    CHECK_FAILS(aoai_op_next_event(NULL, &ev), AOAI_STATUS_NULL_ARGUMENT, "op");
    CHECK_FAILS(aoai_op_wait(NULL, 0), AOAI_STATUS_NULL_ARGUMENT, "op");
    CHECK_FAILS(aoai_op_cancel(NULL), AOAI_STATUS_NULL_ARGUMENT, "op");
    CHECK_FAILS(aoai_op_take_response(NULL, &resp), AOAI_STATUS_NULL_ARGUMENT, "op");
    CHECK_FAILS(aoai_client_set_token(NULL, "t", 0), AOAI_STATUS_NULL_ARGUMENT, "client");

    section("invalid UTF-8 arguments");
    CHECK_FAILS(aoai_options_set_endpoint(o, BAD_UTF8), AOAI_STATUS_INVALID_UTF8, "value");
    CHECK_FAILS(aoai_options_set_api_key(o, "\xff\xfe"), AOAI_STATUS_INVALID_UTF8, "key");
    CHECK_FAILS(aoai_options_set_deployment(o, BAD_UTF8), AOAI_STATUS_INVALID_UTF8, "value");
    CHECK_FAILS(aoai_options_add_header(o, "x-h", BAD_UTF8), AOAI_STATUS_INVALID_UTF8, "value");
    CHECK_FAILS(aoai_options_load_json(o, "{\"deployment\": \"" BAD_UTF8 "\"}"), AOAI_STATUS_INVALID_UTF8,
                "json_or_path");
    CHECK_FAILS(aoai_client_from_json(BAD_UTF8, &cout), AOAI_STATUS_INVALID_UTF8, "json_or_path");
    CHECK_FAILS(aoai_chat_simple(c, BAD_UTF8, &text), AOAI_STATUS_INVALID_UTF8, "prompt");
    CHECK_FAILS(aoai_completion_simple(c, "ok \xed\xa0\x80 surrogate", &text), AOAI_STATUS_INVALID_UTF8,
                "prompt");
    CHECK_STR(text, "untouched");
    CHECK_FAILS(aoai_request_add_message(req, AOAI_ROLE_USER, BAD_UTF8), AOAI_STATUS_INVALID_UTF8, "content");
    CHECK_FAILS(aoai_request_set_user(req, BAD_UTF8), AOAI_STATUS_INVALID_UTF8, "value");
    CHECK_FAILS(aoai_request_add_tool_message(req, "call_1", BAD_UTF8), AOAI_STATUS_INVALID_UTF8, "content");
    CHECK_FAILS(aoai_request_add_function_tool(req, "f", BAD_UTF8, NULL, 0), AOAI_STATUS_INVALID_UTF8,
                "description");
    CHECK_FAILS(aoai_request_from_json(AOAI_REQUEST_CHAT, BAD_UTF8, &req), AOAI_STATUS_INVALID_UTF8, "json");

    section("out-of-range values and malformed JSON");
    CHECK_FAILS(aoai_request_add_message(req, 42, "x"), AOAI_STATUS_INVALID_ARGUMENT, "role");
    CHECK_FAILS(aoai_request_set_temperature(req, 3.5), AOAI_STATUS_INVALID_ARGUMENT, "temperature");
    CHECK_FAILS(aoai_request_set_top_p(req, -0.1), AOAI_STATUS_INVALID_ARGUMENT, "top_p");
    CHECK_FAILS(aoai_request_set_n(req, 0), AOAI_STATUS_INVALID_ARGUMENT, "n");
    CHECK_FAILS(aoai_request_set_max_tokens(req, -1), AOAI_STATUS_INVALID_ARGUMENT, "max_tokens");
    CHECK_FAILS(aoai_request_set_stream_include_usage(req, 7), AOAI_STATUS_INVALID_ARGUMENT, "on");
    CHECK_FAILS(aoai_request_set_field_json(req, "stream", "true"), AOAI_STATUS_INVALID_ARGUMENT, "stream");
    CHECK_FAILS(aoai_request_set_field_json(req, "seed", "{nope"), AOAI_STATUS_INVALID_JSON, "seed");
    CHECK_FAILS(aoai_request_add_function_tool(req, "f", NULL, "[1,2", 0), AOAI_STATUS_INVALID_JSON,
                "parameters");
    CHECK_FAILS(aoai_request_add_message_json(req, "\"just a string\""), AOAI_STATUS_INVALID_JSON,
                "must be a JSON object");
    CHECK_FAILS(aoai_request_merge_json(req, "[1]"), AOAI_STATUS_INVALID_JSON, "must be a JSON object");
    CHECK_FAILS(aoai_request_from_json(AOAI_REQUEST_CHAT, "{\"messages\": [", &req), AOAI_STATUS_INVALID_JSON,
                "request JSON");
    CHECK_FAILS(aoai_request_from_json(17, "{}", &req), AOAI_STATUS_INVALID_ARGUMENT, "kind");
    CHECK_FAILS(aoai_client_start(c, req, 4, NULL, NULL, &op), AOAI_STATUS_INVALID_ARGUMENT, "flags");
    CHECK_FAILS(aoai_options_set_max_retries(o, 1000), AOAI_STATUS_INVALID_ARGUMENT, "retries");
    CHECK_FAILS(aoai_options_set_use_environment(o, 5), AOAI_STATUS_INVALID_ARGUMENT, "use_env");
    CHECK_FAILS(aoai_options_add_header(o, "api-key", "x"), AOAI_STATUS_INVALID_ARGUMENT, "api-key");
    /* A request without messages is refused before anything is sent. */
    {
        AoaiRequest *empty = NULL;
        CHECK_OK(aoai_chat_request_new(&empty));
        CHECK_FAILS(aoai_client_send(c, empty, &resp), AOAI_STATUS_INVALID_ARGUMENT, "message");
        aoai_request_free(empty);
    }
    CHECK(resp == (AoaiResponse *)&resp);
    CHECK(op == (AoaiOp *)&op);

    section("getters with NULL");
    CHECK_INT(aoai_error_status(NULL), AOAI_STATUS_NULL_ARGUMENT);
    CHECK_STR(aoai_error_message(NULL, &len), "");
    CHECK_KNOWN_BUG(len == 0, "aoai_error_message(NULL, &len) returns \"\" but leaves len unwritten");
    CHECK(aoai_error_code(NULL, NULL) == NULL);
    CHECK_INT(aoai_error_http_status(NULL), 0);
    CHECK_INT(aoai_error_retry_after_ms(NULL), -1);
    CHECK(aoai_response_text(NULL, 0, NULL) == NULL);
    CHECK_INT(aoai_response_choice_count(NULL), 0);
    CHECK_INT(aoai_response_usage(NULL, AOAI_USAGE_TOTAL_TOKENS), -1);
    CHECK(aoai_response_json(NULL, NULL) == NULL);
    CHECK_INT(aoai_event_kind(NULL), 0);
    CHECK(aoai_event_text(NULL, NULL) == NULL);
    CHECK(aoai_op_error(NULL) == NULL);
    CHECK(aoai_last_error() != NULL);
    CHECK_STR(aoai_status_str(AOAI_STATUS_RATE_LIMITED), "rate limited");
    CHECK_STR(aoai_status_str(123456), "unknown status");
    /* Every *_free accepts NULL. */
    aoai_options_free(NULL);
    aoai_client_free(NULL);
    aoai_request_free(NULL);
    aoai_response_free(NULL);
    aoai_event_free(NULL);
    aoai_op_free(NULL);
    aoai_string_free(NULL);
    CHECK(1);

    aoai_request_free(req);
    aoai_options_free(o);
    aoai_client_free(c);
}

static void test_panic(void) {
    AoaiClient *c;
    char *text = NULL;

    section("a panic inside the library comes back as a status");
    CHECK_FAILS(aoai_debug_panic(), AOAI_STATUS_PANIC, "internal error");
    CHECK_FAILS(aoai_debug_panic(), AOAI_STATUS_PANIC, "aoai_debug_panic");
    c = emu_client();
    CHECK(c != NULL);
    CHECK_OK(aoai_chat_simple(c, "still working", &text));
    CHECK_STR(text, "Hello from the aoai emulator! You said: still working");
    aoai_string_free(text);
    aoai_client_free(c);
}

int main(void) {
    emu_reset();
    test_service_errors();
    test_retries();
    test_bad_arguments();
    test_panic();
    return harness_finish();
}
