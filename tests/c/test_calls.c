/* SPDX-License-Identifier: MIT
 *
 * Calls from C against the emulator: the one-liners, typed chat (system + user, n, max_tokens
 * truncation, tools and the tool round trip, json_object, usage, a reasoning model), legacy
 * completions with a prompt array, a pass-through JSON request, embeddings, and every
 * response accessor. Expected values follow emulator/README.md: the reply is
 * "Hello from the aoai emulator! You said: <prompt>" and tokens are whitespace-separated words. */
#include "harness.h"

#define HELLO "Hello from the aoai emulator! You said: "

/* Sends `req` and returns the response (NULL on failure, which is also a failed check). */
static AoaiResponse *send_ok(const AoaiClient *c, const AoaiRequest *req) {
    AoaiResponse *resp = NULL;
    CHECK_OK(aoai_client_send(c, req, &resp));
    return resp;
}

/* The body of the last request the emulator recorded (from GET /_emulator/requests). */
static void last_request_body(char *buf, size_t cap) {
    static char all[1 << 18];
    const char *p, *last = NULL;
    buf[0] = '\0';
    if (emu_http("GET", "/_emulator/requests", NULL, all, sizeof all) != 200) return;
    for (p = strstr(all, "\"body\""); p != NULL; p = strstr(p + 1, "\"body\"")) last = p;
    if (last != NULL) json_str(last, "body", buf, cap);
}

static void test_one_liners(AoaiClient *chat, AoaiClient *instruct) {
    char *text = (char *)"untouched";
    char *t2 = NULL;

    section("one-liners");
    CHECK_OK(aoai_chat_simple(chat, "What is 2+2?", &text));
    CHECK_STR(text, HELLO "What is 2+2?");
    aoai_string_free(text);
    /* UTF-8 in and out. */
    text = NULL;
    CHECK_OK(aoai_chat_simple(chat, "Gr\xc3\xbc\xc3\x9f Gott \xe2\x82\xac", &text));
    CHECK_STR(text, HELLO "Gr\xc3\xbc\xc3\x9f Gott \xe2\x82\xac");
    aoai_string_free(text);
    /* A reply directive gives an exact answer. */
    text = NULL;
    CHECK_OK(aoai_chat_simple(chat, "[[emu:reply=Exactly this.]] ignored", &text));
    CHECK_STR(text, "Exactly this.");
    aoai_string_free(text);

    CHECK_OK(aoai_completion_simple(instruct, "Once upon a time", &t2));
    CHECK_STR(t2, " This is a completion from the aoai emulator for: Once upon a time");
    aoai_string_free(t2);
}

static void test_typed_chat(AoaiClient *c) {
    AoaiRequest *req = NULL;
    AoaiResponse *resp;
    size_t len = 0;
    const char *s;
    char *json = NULL;

    section("typed chat: system + user, usage");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_SYSTEM, "You are terse."));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "two words"));
    CHECK_OK(aoai_request_set_temperature(req, 0.2));
    CHECK_OK(aoai_request_set_seed(req, 42));
    CHECK_OK(aoai_request_set_user(req, "c-tests"));
    CHECK_OK(aoai_request_to_json(req, &json));
    CHECK_CONTAINS(json, "\"role\":\"system\"");
    CHECK_CONTAINS(json, "\"content\":\"You are terse.\"");
    CHECK_CONTAINS(json, "\"seed\":42");
    CHECK_CONTAINS(json, "\"user\":\"c-tests\"");
    aoai_string_free(json);
    resp = send_ok(c, req);
    s = aoai_response_text(resp, 0, &len);
    CHECK_STR(s, HELLO "two words");
    CHECK_INT(len, strlen(HELLO "two words"));
    CHECK_STR(aoai_response_finish_reason(resp, 0, NULL), "stop");
    CHECK_INT(aoai_response_choice_count(resp), 1);
    /* "You are terse." (3) + "two words" (2); the answer has 9 words. */
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_PROMPT_TOKENS), 5);
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_COMPLETION_TOKENS), 9);
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_TOTAL_TOKENS), 14);
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_CACHED_TOKENS), 0);
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_REASONING_TOKENS), 0);
    CHECK_INT(aoai_response_usage(resp, 999), -1);
    aoai_response_free(resp);
    aoai_request_free(req);

    section("typed chat: n=2 and max_tokens truncation");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "one two three four"));
    CHECK_OK(aoai_request_set_n(req, 2));
    CHECK_OK(aoai_request_set_max_tokens(req, 4));
    resp = send_ok(c, req);
    CHECK_INT(aoai_response_choice_count(resp), 2);
    CHECK_STR(aoai_response_text(resp, 0, NULL), "Hello from the aoai");
    CHECK_STR(aoai_response_text(resp, 1, NULL), "Hello from the aoai");
    CHECK_STR(aoai_response_finish_reason(resp, 0, NULL), "length");
    CHECK_STR(aoai_response_finish_reason(resp, 1, NULL), "length");
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_COMPLETION_TOKENS), 8);
    CHECK(aoai_response_text(resp, 2, NULL) == NULL);
    CHECK(aoai_response_finish_reason(resp, 2, NULL) == NULL);
    aoai_response_free(resp);
    aoai_request_free(req);

    section("typed chat: json_object response format");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "answer in JSON"));
    CHECK_OK(aoai_request_set_response_format_json_object(req));
    resp = send_ok(c, req);
    CHECK_STR(aoai_response_text(resp, 0, NULL), "{\"answer\":\"" HELLO "answer in JSON\"}");
    aoai_response_free(resp);
    aoai_request_free(req);

    section("typed chat: multi-part content and a deployment per request");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "first part"));
    CHECK_OK(aoai_request_add_text_part(req, "second part"));
    CHECK_OK(aoai_request_set_deployment(req, "gpt-4o-mini"));
    resp = send_ok(c, req);
    CHECK_STR(aoai_response_text(resp, 0, NULL), HELLO "first part second part");
    CHECK_STR(aoai_response_model(resp, NULL), "gpt-4o-mini-2024-07-18");
    aoai_response_free(resp);
    aoai_request_free(req);

    section("typed chat: logprobs");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "probabilities"));
    CHECK_OK(aoai_request_set_logprobs(req, 1));
    CHECK_OK(aoai_request_set_top_logprobs(req, 2));
    resp = send_ok(c, req);
    CHECK_CONTAINS(aoai_response_logprobs_json(resp, 0, NULL), "\"token\"");
    CHECK_CONTAINS(aoai_response_logprobs_json(resp, 0, NULL), "\"top_logprobs\"");
    aoai_response_free(resp);
    aoai_request_free(req);

    section("typed chat: a reasoning model that spent its budget thinking");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_set_deployment(req, "o1"));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_DEVELOPER, "Think hard."));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "a hard question"));
    CHECK_OK(aoai_request_set_max_completion_tokens(req, 10));
    CHECK_OK(aoai_request_set_reasoning_effort(req, "low"));
    resp = send_ok(c, req);
    CHECK_STR(aoai_response_text(resp, 0, NULL), "");
    CHECK_STR(aoai_response_finish_reason(resp, 0, NULL), "length");
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_REASONING_TOKENS), 10);
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_COMPLETION_TOKENS), 10);
    CHECK_STR(aoai_response_model(resp, NULL), "o1-2024-12-17");
    aoai_response_free(resp);
    aoai_request_free(req);
}

static void test_tools(AoaiClient *c) {
    static const char schema[] =
        "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"}},\"required\":[\"query\"]}";
    AoaiRequest *req = NULL;
    AoaiResponse *resp, *resp2;
    char id[64] = "", *json = NULL, body[8192];
    const char *s;

    section("tools: a tool call, then the round trip");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "weather in Paris"));
    CHECK_OK(aoai_request_add_function_tool(req, "get_time", "Current time", NULL, 0));
    CHECK_OK(aoai_request_add_function_tool(req, "get_weather", "Weather for a city", schema, 1));
    CHECK_OK(aoai_request_set_tool_choice(req, "get_weather"));
    CHECK_OK(aoai_request_set_parallel_tool_calls(req, 0));
    resp = send_ok(c, req);
    CHECK_STR(aoai_response_finish_reason(resp, 0, NULL), "tool_calls");
    CHECK(aoai_response_text(resp, 0, NULL) == NULL); /* content: null */
    CHECK_INT(aoai_response_tool_call_count(resp, 0), 1);
    s = aoai_response_tool_call_id(resp, 0, 0, NULL);
    CHECK(s != NULL && strncmp(s, "call_emu_", 9) == 0);
    if (s != NULL) snprintf(id, sizeof id, "%s", s);
    CHECK_STR(aoai_response_tool_call_name(resp, 0, 0, NULL), "get_weather");
    CHECK_STR(aoai_response_tool_call_arguments(resp, 0, 0, NULL), "{\"query\":\"weather in Paris\"}");
    CHECK(aoai_response_tool_call_id(resp, 0, 1, NULL) == NULL);
    CHECK(aoai_response_tool_call_name(resp, 1, 0, NULL) == NULL);
    /* The emulator received the tool declaration as sent. */
    last_request_body(body, sizeof body);
    CHECK_CONTAINS(body, "get_weather");
    CHECK_CONTAINS(body, "\\\"strict\\\":true");

    /* Round trip: the assistant's tool call, then the tool's result. */
    CHECK_OK(aoai_request_add_response_message(req, resp, 0));
    CHECK_OK(aoai_request_add_tool_message(req, id, "sunny, 21 C"));
    CHECK_OK(aoai_request_to_json(req, &json));
    CHECK_CONTAINS(json, "\"tool_calls\"");
    CHECK_CONTAINS(json, "\"role\":\"tool\"");
    CHECK_CONTAINS(json, id);
    aoai_string_free(json);
    resp2 = send_ok(c, req);
    CHECK_STR(aoai_response_text(resp2, 0, NULL), "Tool result received: sunny, 21 C");
    CHECK_STR(aoai_response_finish_reason(resp2, 0, NULL), "stop");
    CHECK_INT(aoai_response_tool_call_count(resp2, 0), 0);
    /* Appending a choice that does not exist is refused. */
    CHECK_FAILS(aoai_request_add_response_message(req, resp, 5), AOAI_STATUS_INVALID_ARGUMENT, "choice");
    aoai_response_free(resp2);
    aoai_response_free(resp);
    aoai_request_free(req);
}

static void test_completion(AoaiClient *c) {
    AoaiRequest *req = NULL;
    AoaiResponse *resp;

    section("legacy completion with a prompt array");
    CHECK_OK(aoai_completion_request_new(&req));
    CHECK_OK(aoai_request_set_deployment(req, "gpt-35-turbo-instruct"));
    CHECK_OK(aoai_request_add_prompt(req, "alpha"));
    CHECK_OK(aoai_request_add_prompt(req, "beta gamma"));
    CHECK_OK(aoai_request_set_max_tokens(req, 40));
    CHECK_OK(aoai_request_add_stop(req, "\n\n"));
    resp = send_ok(c, req);
    CHECK_INT(aoai_response_choice_count(resp), 2);
    CHECK_STR(aoai_response_text(resp, 0, NULL), " This is a completion from the aoai emulator for: alpha");
    CHECK_STR(aoai_response_text(resp, 1, NULL), " This is a completion from the aoai emulator for: beta gamma");
    CHECK_STR(aoai_response_finish_reason(resp, 1, NULL), "stop");
    CHECK_INT(aoai_response_prompt_filter_count(resp), 2);
    CHECK_CONTAINS(aoai_response_json(resp, NULL), "\"text_completion\"");
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_PROMPT_TOKENS), 3);
    aoai_response_free(resp);
    aoai_request_free(req);

    section("legacy completion: echo, suffix, max_tokens default cut");
    CHECK_OK(aoai_completion_request_new(&req));
    CHECK_OK(aoai_request_set_deployment(req, "gpt-35-turbo-instruct"));
    CHECK_OK(aoai_request_set_prompt(req, "first prompt"));
    CHECK_OK(aoai_request_set_prompt(req, "Say"));
    CHECK_OK(aoai_request_set_echo(req, 1));
    CHECK_OK(aoai_request_set_suffix(req, " END"));
    resp = send_ok(c, req);
    CHECK_INT(aoai_response_choice_count(resp), 1);
    CHECK_STR(aoai_response_text(resp, 0, NULL), "Say This is a completion from the aoai emulator for: Say END");
    aoai_response_free(resp);
    aoai_request_free(req);
}

static void test_passthrough(AoaiClient *c) {
    AoaiRequest *req = NULL;
    AoaiResponse *resp;
    char body[8192], *json = NULL;

    section("pass-through JSON request");
    CHECK_OK(aoai_request_from_json(AOAI_REQUEST_CHAT,
                                    "{\"messages\":[{\"role\":\"user\",\"content\":\"passed through\"}],"
                                    "\"max_tokens\":50,\"x_custom_field\":{\"kept\":true}}",
                                    &req));
    CHECK_OK(aoai_request_to_json(req, &json));
    CHECK_CONTAINS(json, "x_custom_field");
    aoai_string_free(json);
    resp = send_ok(c, req);
    CHECK_STR(aoai_response_text(resp, 0, NULL), HELLO "passed through");
    last_request_body(body, sizeof body);
    /* Unknown fields travel as given; classic Azure needs no model and a blocking call
     * sends no stream flag. */
    CHECK_CONTAINS(body, "x_custom_field");
    CHECK_CONTAINS(body, "\\\"max_tokens\\\":50");
    CHECK_NOT_CONTAINS(body, "\\\"stream\\\"");
    aoai_response_free(resp);
    aoai_request_free(req);

    /* A legacy completion the same way, and field-level JSON on a typed request. */
    CHECK_OK(aoai_request_from_json(AOAI_REQUEST_COMPLETION,
                                    "{\"prompt\":[\"p1\",\"p2\",\"p3\"],\"max_tokens\":30}", &req));
    CHECK_OK(aoai_request_set_deployment(req, "gpt-35-turbo-instruct"));
    resp = send_ok(c, req);
    CHECK_INT(aoai_response_choice_count(resp), 3);
    CHECK_STR(aoai_response_text(resp, 2, NULL), " This is a completion from the aoai emulator for: p3");
    aoai_response_free(resp);
    aoai_request_free(req);

    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message_json(req, "{\"role\":\"user\",\"content\":\"via message json\"}"));
    CHECK_OK(aoai_request_set_field_json(req, "metadata", "{\"k\":\"v\"}"));
    CHECK_OK(aoai_request_merge_json(req, "{\"max_tokens\":3}"));
    resp = send_ok(c, req);
    CHECK_STR(aoai_response_text(resp, 0, NULL), "Hello from the");
    last_request_body(body, sizeof body);
    CHECK_CONTAINS(body, "\\\"metadata\\\":{\\\"k\\\":\\\"v\\\"}");
    aoai_response_free(resp);
    aoai_request_free(req);
}

static void test_accessors(AoaiClient *c) {
    AoaiRequest *req = NULL;
    AoaiResponse *resp;
    const char *s;
    size_t len = 99;
    int32_t filtered = -1;

    section("response accessors");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "accessors"));
    resp = send_ok(c, req);
    s = aoai_response_request_id(resp, &len);
    CHECK(s != NULL && len == 36 && strlen(s) == 36); /* a uuid from apim-request-id */
    CHECK_STR(aoai_response_header(resp, "apim-request-id", NULL), s);
    CHECK_STR(aoai_response_region(resp, NULL), "East US");
    CHECK_STR(aoai_response_header(resp, "x-ratelimit-remaining-tokens", NULL), "99000");
    CHECK_STR(aoai_response_header(resp, "X-RateLimit-Remaining-Requests", NULL), "99");
    CHECK_STR(aoai_response_header(resp, "x-ms-deployment-name", NULL), "gpt-4o");
    CHECK(aoai_response_header(resp, "x-no-such-header", NULL) == NULL);
    CHECK_STR(aoai_response_model(resp, NULL), "gpt-4o-2024-08-06");
    s = aoai_response_id(resp, NULL);
    CHECK(s != NULL && strncmp(s, "chatcmpl-emu", 12) == 0);
    CHECK_STR(aoai_response_system_fingerprint(resp, NULL), "fp_emulator");
    CHECK_INT(aoai_response_http_status(resp), 200);
    CHECK_INT(aoai_response_attempts(resp), 1);
    CHECK(aoai_response_created(resp) > 1600000000);
    s = aoai_response_json(resp, &len);
    CHECK(s != NULL && len == strlen(s));
    CHECK_CONTAINS(s, "\"object\":\"chat.completion\"");
    CHECK(aoai_response_refusal(resp, 0, NULL) == NULL);
    /* Filter results: nothing filtered, with severities. */
    CHECK_STR(aoai_response_filtered_categories(resp, 0, NULL), "");
    CHECK_STR(aoai_response_filtered_categories(resp, -1, NULL), "");
    CHECK(aoai_response_filtered_categories(resp, 3, NULL) == NULL);
    CHECK_STR(aoai_response_filter_severity(resp, 0, "hate", &filtered), "safe");
    CHECK_INT(filtered, 0);
    CHECK_STR(aoai_response_filter_severity(resp, 0, "violence", NULL), "safe");
    CHECK_STR(aoai_response_filter_severity(resp, -1, "jailbreak", &filtered), "not_detected");
    CHECK_INT(filtered, 0);
    CHECK(aoai_response_filter_severity(resp, 0, "no_such_category", NULL) == NULL);
    CHECK_CONTAINS(aoai_response_content_filter_json(resp, 0, NULL), "\"self_harm\"");
    CHECK_INT(aoai_response_prompt_filter_count(resp), 1);
    CHECK_CONTAINS(aoai_response_prompt_filter_json(resp, 0, NULL), "\"jailbreak\"");
    CHECK(aoai_response_prompt_filter_json(resp, 1, NULL) == NULL);
    /* Borrowed strings are stable: the same pointer each time. */
    CHECK(aoai_response_text(resp, 0, NULL) == aoai_response_text(resp, 0, NULL));
    aoai_response_free(resp);
    aoai_request_free(req);

    section("response accessors: a filtered completion");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "[[emu:finish=content_filter]] a b c d e f"));
    resp = send_ok(c, req);
    CHECK_STR(aoai_response_finish_reason(resp, 0, NULL), "content_filter");
    CHECK_STR(aoai_response_filtered_categories(resp, 0, NULL), "violence");
    CHECK_STR(aoai_response_filter_severity(resp, 0, "violence", &filtered), "high");
    CHECK_INT(filtered, 1);
    aoai_response_free(resp);
    aoai_request_free(req);

    section("response accessors: older prompt_annotations");
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "[[emu:prompt-annotations=1]] old"));
    resp = send_ok(c, req);
    CHECK_INT(aoai_response_prompt_filter_count(resp), 1);
    CHECK_STR(aoai_response_filter_severity(resp, -1, "hate", NULL), "safe");
    aoai_response_free(resp);
    aoai_request_free(req);
}

static void test_embeddings(AoaiClient *c) {
    AoaiRequest *req = NULL;
    AoaiResponse *resp;
    const float *v;
    size_t dims = 0, i;
    double norm = 0.0;

    section("embeddings");
    CHECK_OK(aoai_embedding_request_new(&req));
    CHECK_OK(aoai_request_set_deployment(req, "text-embedding-3-small"));
    CHECK_OK(aoai_request_add_input(req, "first text"));
    CHECK_OK(aoai_request_add_input(req, "second text"));
    CHECK_OK(aoai_request_set_dimensions(req, 16));
    resp = send_ok(c, req);
    CHECK_INT(aoai_response_embedding_count(resp), 2);
    v = aoai_response_embedding(resp, 1, &dims);
    CHECK(v != NULL);
    CHECK_INT(dims, 16);
    for (i = 0; v != NULL && i < dims; i++) norm += (double)v[i] * (double)v[i];
    CHECK(norm > 0.999 && norm < 1.001); /* unit vectors */
    CHECK(aoai_response_embedding(resp, 2, &dims) == NULL);
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_PROMPT_TOKENS), 4);
    aoai_response_free(resp);
    aoai_request_free(req);
}

int main(void) {
    AoaiClient *chat, *instruct = NULL;
    AoaiOptions *o;

    emu_reset();
    chat = emu_client();
    REQUIRE(chat != NULL);
    o = emu_options();
    REQUIRE(o != NULL);
    CHECK_OK(aoai_options_set_deployment(o, "gpt-35-turbo-instruct"));
    CHECK_OK(aoai_client_new(o, &instruct));
    aoai_options_free(o);
    REQUIRE(instruct != NULL);

    test_one_liners(chat, instruct);
    test_typed_chat(chat);
    test_tools(chat);
    test_completion(chat);
    test_passthrough(chat);
    test_accessors(chat);
    test_embeddings(chat);

    aoai_client_free(instruct);
    aoai_client_free(chat);
    return harness_finish();
}
