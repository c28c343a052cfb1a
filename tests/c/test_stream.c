/* SPDX-License-Identifier: MIT
 *
 * Blocking streams with a callback (aoai_client_stream): the joined TEXT_DELTA events equal
 * the non-stream text and the assembled response; FINISH and USAGE events; n=2; tool-call
 * deltas; legacy completions; stopping from the callback (AOAI_STATUS_CANCELLED, the
 * emulator sees the connection closed); Azure's awkward shapes (byte-split events, CRLF,
 * asynchronous filter annotations, heartbeats, old prompt_annotations, [DONE] without a
 * blank line) assemble exactly; broken streams are errors. */
#include "harness.h"

#define HELLO "Hello from the aoai emulator! You said: "
#define MAXC 4

struct collect {
    char text[MAXC][4096];
    size_t len[MAXC];
    char finish[MAXC][32];
    int finished[MAXC];
    int kinds[8];
    int events;
    int order_errors;  /* a text delta after its choice's FINISH */
    int utf8_errors;   /* a delta that is not whole UTF-8 code points */
    int len_errors;    /* len_out disagrees with strlen */
    int64_t usage[3];
    int prompt_filters;   /* CONTENT_FILTER with choice -1 */
    int choice_filters;   /* CONTENT_FILTER of a choice (annotation) */
    int filter_offsets;   /* annotations with offsets */
    int filter_after_finish;
    char tool_id[64], tool_name[64], tool_args[512];
    int tool_first_pieces;
    int stop_after_text; /* return AOAI_STOP after this many text deltas (0: never) */
    int text_events;
    int after_stop; /* events delivered after the callback said stop */
    int stopped;
};

/* Whole, valid UTF-8 (no truncated or overlong sequences, no surrogates). */
static int valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k, need;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            need = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return 0;
        i += need + 1;
    }
    return 1;
}

static int32_t on_event(void *user_data, const AoaiEvent *ev) {
    struct collect *c = (struct collect *)user_data;
    int32_t kind = aoai_event_kind(ev);
    int32_t ch = aoai_event_choice(ev);
    size_t n = 0;
    const char *t = aoai_event_text(ev, &n);

    if (c->stopped) c->after_stop++;
    c->events++;
    if (kind >= 0 && kind < 8) c->kinds[kind]++;
    if (t != NULL && n != strlen(t)) c->len_errors++;
    switch (kind) {
    case AOAI_EVENT_TEXT_DELTA:
        if (ch < 0 || ch >= MAXC || t == NULL) break;
        if (c->finished[ch]) c->order_errors++;
        if (!valid_utf8((const unsigned char *)t, n)) c->utf8_errors++;
        if (c->len[ch] + n < sizeof c->text[ch]) {
            memcpy(c->text[ch] + c->len[ch], t, n);
            c->len[ch] += n;
            c->text[ch][c->len[ch]] = '\0';
        }
        c->text_events++;
        if (c->stop_after_text > 0 && c->text_events >= c->stop_after_text) {
            c->stopped = 1;
            return AOAI_STOP;
        }
        break;
    case AOAI_EVENT_FINISH:
        if (ch >= 0 && ch < MAXC && t != NULL) {
            snprintf(c->finish[ch], sizeof c->finish[ch], "%s", t);
            c->finished[ch] = 1;
        }
        break;
    case AOAI_EVENT_USAGE:
        c->usage[0] = aoai_event_usage(ev, AOAI_USAGE_PROMPT_TOKENS);
        c->usage[1] = aoai_event_usage(ev, AOAI_USAGE_COMPLETION_TOKENS);
        c->usage[2] = aoai_event_usage(ev, AOAI_USAGE_TOTAL_TOKENS);
        break;
    case AOAI_EVENT_CONTENT_FILTER:
        if (ch < 0) {
            if (aoai_event_prompt_index(ev) >= 0 && aoai_event_filter_json(ev, NULL) != NULL) c->prompt_filters++;
        } else {
            int64_t chk = -1, start = -1, end = -1;
            c->choice_filters++;
            if (ch < MAXC && c->finished[ch]) c->filter_after_finish++;
            if (aoai_event_filter_offsets(ev, &chk, &start, &end) == 1 && chk >= 0 && start >= 0 && end >= start)
                c->filter_offsets++;
        }
        break;
    case AOAI_EVENT_TOOL_CALL_DELTA: {
        const char *id = aoai_event_tool_call_id(ev, NULL);
        const char *name = aoai_event_tool_call_name(ev, NULL);
        if (id != NULL) {
            c->tool_first_pieces++;
            snprintf(c->tool_id, sizeof c->tool_id, "%s", id);
        }
        if (name != NULL) snprintf(c->tool_name, sizeof c->tool_name, "%s", name);
        if (t != NULL && strlen(c->tool_args) + n < sizeof c->tool_args) strncat(c->tool_args, t, n);
        break;
    }
    default:
        break;
    }
    return AOAI_CONTINUE;
}

/* A chat request with one user message. */
static AoaiRequest *chat(const char *prompt) {
    AoaiRequest *req = NULL;
    if (aoai_chat_request_new(&req) != AOAI_STATUS_OK) return NULL;
    aoai_request_add_message(req, AOAI_ROLE_USER, prompt);
    return req;
}

/* Streams `req` into a fresh collector; returns the status. */
static int32_t stream(const AoaiClient *cl, const AoaiRequest *req, struct collect *c, AoaiResponse **resp) {
    int stop = c->stop_after_text;
    memset(c, 0, sizeof *c);
    c->stop_after_text = stop;
    return aoai_client_stream(cl, req, on_event, c, resp);
}

static void check_clean(const struct collect *c) {
    CHECK_INT(c->order_errors, 0);
    CHECK_INT(c->utf8_errors, 0);
    CHECK_INT(c->len_errors, 0);
}

static void test_equals_non_stream(const AoaiClient *cl) {
    static struct collect c;
    AoaiRequest *req = chat("stream and send agree");
    AoaiResponse *resp = NULL, *sent = NULL;

    section("stream: joined deltas == non-stream text == assembled response");
    CHECK_OK(aoai_client_send(cl, req, &sent));
    CHECK_OK(stream(cl, req, &c, &resp));
    check_clean(&c);
    CHECK_STR(c.text[0], HELLO "stream and send agree");
    CHECK_STR(c.text[0], aoai_response_text(sent, 0, NULL));
    CHECK_STR(aoai_response_text(resp, 0, NULL), c.text[0]);
    CHECK_INT(c.kinds[AOAI_EVENT_TEXT_DELTA], 11); /* one event per word */
    CHECK_STR(c.finish[0], "stop");
    CHECK_INT(c.kinds[AOAI_EVENT_FINISH], 1);
    CHECK_STR(aoai_response_finish_reason(resp, 0, NULL), "stop");
    CHECK_INT(c.kinds[AOAI_EVENT_USAGE], 0); /* not asked for */
    CHECK_INT(c.prompt_filters, 1);
    CHECK_INT(aoai_response_prompt_filter_count(resp), 1);
    CHECK_STR(aoai_response_model(resp, NULL), "gpt-4o-2024-08-06");
    CHECK(aoai_response_request_id(resp, NULL) != NULL);
    CHECK_CONTAINS(aoai_response_json(resp, NULL), "\"chat.completion\"");
    aoai_response_free(resp);
    resp = NULL;

    section("stream: include_usage gives a USAGE event");
    CHECK_OK(aoai_request_set_stream_include_usage(req, 1));
    CHECK_OK(stream(cl, req, &c, &resp));
    CHECK_INT(c.kinds[AOAI_EVENT_USAGE], 1);
    CHECK_INT(c.usage[0], aoai_response_usage(sent, AOAI_USAGE_PROMPT_TOKENS));
    CHECK_INT(c.usage[1], aoai_response_usage(sent, AOAI_USAGE_COMPLETION_TOKENS));
    CHECK_INT(c.usage[2], aoai_response_usage(sent, AOAI_USAGE_TOTAL_TOKENS));
    CHECK_INT(c.usage[0], 4);
    CHECK_INT(c.usage[1], 11);
    CHECK_INT(c.usage[2], 15);
    CHECK_INT(aoai_response_usage(resp, AOAI_USAGE_TOTAL_TOKENS), 15);
    aoai_response_free(resp);
    resp = NULL;

    /* resp_out may be NULL. */
    CHECK_OK(stream(cl, req, &c, NULL));
    CHECK_STR(c.text[0], HELLO "stream and send agree");
    aoai_response_free(sent);
    aoai_request_free(req);
}

static void test_n2_tools_completion(const AoaiClient *cl) {
    static struct collect c;
    AoaiRequest *req = chat("[[emu:chunk-delay-ms=1]] two choices");
    AoaiResponse *resp = NULL;

    section("stream: n=2 interleaved choices");
    CHECK_OK(aoai_request_set_n(req, 2));
    CHECK_OK(stream(cl, req, &c, &resp));
    check_clean(&c);
    CHECK_STR(c.text[0], HELLO "two choices");
    CHECK_STR(c.text[1], HELLO "two choices");
    CHECK_STR(c.finish[1], "stop");
    CHECK_INT(aoai_response_choice_count(resp), 2);
    CHECK_STR(aoai_response_text(resp, 1, NULL), c.text[1]);
    aoai_response_free(resp);
    resp = NULL;
    aoai_request_free(req);

    section("stream: tool-call deltas");
    req = chat("look up the weather");
    CHECK_OK(aoai_request_add_function_tool(req, "lookup", "Looks things up", NULL, 0));
    CHECK_OK(stream(cl, req, &c, &resp));
    CHECK(c.kinds[AOAI_EVENT_TOOL_CALL_DELTA] >= 3); /* arguments arrive in ~8-byte pieces */
    CHECK_INT(c.tool_first_pieces, 1);
    CHECK(strncmp(c.tool_id, "call_emu_", 9) == 0);
    CHECK_STR(c.tool_name, "lookup");
    CHECK_STR(c.tool_args, "{\"query\":\"look up the weather\"}");
    CHECK_STR(c.finish[0], "tool_calls");
    CHECK_INT(aoai_response_tool_call_count(resp, 0), 1);
    CHECK_STR(aoai_response_tool_call_id(resp, 0, 0, NULL), c.tool_id);
    CHECK_STR(aoai_response_tool_call_name(resp, 0, 0, NULL), "lookup");
    CHECK_STR(aoai_response_tool_call_arguments(resp, 0, 0, NULL), c.tool_args);
    aoai_response_free(resp);
    resp = NULL;
    aoai_request_free(req);

    section("stream: legacy completion with two prompts");
    CHECK_OK(aoai_completion_request_new(&req));
    CHECK_OK(aoai_request_set_deployment(req, "gpt-35-turbo-instruct"));
    CHECK_OK(aoai_request_add_prompt(req, "first"));
    CHECK_OK(aoai_request_add_prompt(req, "second one"));
    CHECK_OK(aoai_request_set_max_tokens(req, 50));
    CHECK_OK(stream(cl, req, &c, &resp));
    check_clean(&c);
    CHECK_STR(c.text[0], " This is a completion from the aoai emulator for: first");
    CHECK_STR(c.text[1], " This is a completion from the aoai emulator for: second one");
    CHECK_INT(c.prompt_filters, 2);
    CHECK_INT(aoai_response_choice_count(resp), 2);
    CHECK_STR(aoai_response_text(resp, 1, NULL), c.text[1]);
    aoai_response_free(resp);
    aoai_request_free(req);

    section("stream: embeddings cannot be streamed");
    CHECK_OK(aoai_embedding_request_new(&req));
    CHECK_OK(aoai_request_add_input(req, "x"));
    CHECK_FAILS(stream(cl, req, &c, NULL), AOAI_STATUS_INVALID_ARGUMENT, "stream");
    CHECK_INT(c.events, 0);
    aoai_request_free(req);
}

static void test_stop_from_callback(const AoaiClient *cl) {
    static struct collect c;
    AoaiRequest *req = chat("[[emu:chunk-delay-ms=20]] w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16");
    AoaiResponse *resp = (AoaiResponse *)&resp;
    long closed_before = emu_stat("streams_client_closed");
    double t0 = now_ms();

    section("stream: AOAI_STOP from the callback cancels");
    CHECK(closed_before >= 0);
    c.stop_after_text = 3;
    CHECK_FAILS(stream(cl, req, &c, &resp), AOAI_STATUS_CANCELLED, "");
    CHECK(now_ms() - t0 < 2000.0); /* it did not wait for the rest (~500 ms more) */
    CHECK_INT(c.text_events, 3);
    CHECK_INT(c.after_stop, 0);
    CHECK_STR(c.text[0], "Hello from the");
    CHECK(resp == (AoaiResponse *)&resp); /* not written on failure */
    /* The connection was closed: the emulator counts a stream the client left. */
    WAIT_UNTIL(emu_stat("streams_client_closed") > closed_before, 3000);
    CHECK(emu_stat("streams_client_closed") > closed_before);
    aoai_request_free(req);
}

/* A directive stream assembles to `expected` exactly. */
static void check_shape(const AoaiClient *cl, const char *prompt, const char *expected, int async_filter) {
    static struct collect c;
    AoaiRequest *req = chat(prompt);
    AoaiResponse *resp = NULL;
    CHECK_OK(stream(cl, req, &c, &resp));
    check_clean(&c);
    CHECK_STR(c.text[0], expected);
    CHECK_STR(aoai_response_text(resp, 0, NULL), expected);
    CHECK_STR(c.finish[0], "stop");
    CHECK_INT(c.prompt_filters, 1);
    CHECK_INT(aoai_response_prompt_filter_count(resp), 1);
    if (async_filter) {
        CHECK_INT(c.choice_filters, 1);
        CHECK_INT(c.filter_offsets, 1);
        CHECK_INT(c.filter_after_finish, 1);
        CHECK(aoai_response_content_filter_json(resp, 0, NULL) != NULL);
        CHECK_STR(aoai_response_filter_severity(resp, 0, "violence", NULL), "safe");
    }
    aoai_response_free(resp);
    aoai_request_free(req);
}

#define UNICODE_REPLY "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln \xe2\x80\x93 \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x8e\xae ok"

static void test_azure_shapes(const AoaiClient *cl) {
    section("stream shapes: split, crlf, async-filter, heartbeat, prompt_annotations, done-no-blank");
    check_shape(cl, "[[emu:split=1]] split everywhere", HELLO "split everywhere", 0);
    check_shape(cl, "[[emu:split=1;reply=" UNICODE_REPLY "]] x", UNICODE_REPLY, 0);
    check_shape(cl, "[[emu:crlf=1]] crlf lines", HELLO "crlf lines", 0);
    check_shape(cl, "[[emu:async-filter=1]] async filter", HELLO "async filter", 1);
    check_shape(cl, "[[emu:split=1;crlf=1;async-filter=1;reply=" UNICODE_REPLY "]] all", UNICODE_REPLY, 1);
    check_shape(cl, "[[emu:heartbeat=1]] heartbeats", HELLO "heartbeats", 0);
    check_shape(cl, "[[emu:prompt-annotations=1]] old api", HELLO "old api", 0);
    check_shape(cl, "[[emu:done-no-blank=1;crlf=1]] done", HELLO "done", 0);
}

static void test_broken_streams(const AoaiClient *cl) {
    static struct collect c;
    AoaiRequest *req;
    AoaiResponse *resp = (AoaiResponse *)&resp;
    const AoaiError *e;

    section("broken streams are errors");
    req = chat("[[emu:no-finish=1]] a b c");
    CHECK_STATUS(stream(cl, req, &c, &resp), AOAI_STATUS_STREAM);
    CHECK(c.kinds[AOAI_EVENT_TEXT_DELTA] > 0);
    aoai_request_free(req);

    req = chat("[[emu:error-after=4]] a b c d e f");
    CHECK_STATUS(stream(cl, req, &c, &resp), AOAI_STATUS_STREAM);
    e = aoai_last_error();
    CHECK_STR(aoai_error_code(e, NULL), "server_error");
    CHECK_CONTAINS(aoai_error_message(e, NULL), "The model produced invalid content.");
    aoai_request_free(req);

    req = chat("[[emu:reset-after=5]] a b c d e f");
    {
        int32_t st = stream(cl, req, &c, &resp);
        CHECK(st == AOAI_STATUS_STREAM || st == AOAI_STATUS_CONNECTION);
        CHECK(c.kinds[AOAI_EVENT_TEXT_DELTA] > 0);
    }
    aoai_request_free(req);

    /* An HTTP error before the stream starts: no event at all. */
    req = chat("[[emu:status=404]] x");
    CHECK_STATUS(stream(cl, req, &c, &resp), AOAI_STATUS_NOT_FOUND);
    CHECK_INT(c.events, 0);
    CHECK_STR(aoai_error_code(aoai_last_error(), NULL), "DeploymentNotFound");
    aoai_request_free(req);
    req = chat("[[emu:status=400;code=content_filter]] x");
    CHECK_STATUS(stream(cl, req, &c, &resp), AOAI_STATUS_CONTENT_FILTERED);
    CHECK_STR(aoai_error_filtered_categories(aoai_last_error(), NULL), "violence");
    aoai_request_free(req);
    CHECK(resp == (AoaiResponse *)&resp);
}

int main(void) {
    AoaiClient *cl;
    AoaiOptions *o;

    emu_reset();
    o = emu_options();
    REQUIRE(o != NULL);
    CHECK_OK(aoai_options_set_max_retries(o, 0));
    cl = NULL;
    CHECK_OK(aoai_client_new(o, &cl));
    aoai_options_free(o);
    REQUIRE(cl != NULL);

    test_equals_non_stream(cl);
    test_n2_tools_completion(cl);
    test_stop_from_callback(cl);
    test_azure_shapes(cl);
    test_broken_streams(cl);

    aoai_client_free(cl);
    return harness_finish();
}
