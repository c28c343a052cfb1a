/* Extracted from docs/streaming.md (code block 1) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdio.h>
#include "aoai.h"

struct printer {
    size_t printed; /* bytes of text shown so far */
    size_t limit;   /* stop the model after this many */
};

static int32_t on_event(void *user_data, const AoaiEvent *ev) {
    struct printer *p = (struct printer *)user_data;
    size_t n = 0;
    const char *text = aoai_event_text(ev, &n);
    switch (aoai_event_kind(ev)) {
    case AOAI_EVENT_TEXT_DELTA:
        if (aoai_event_choice(ev) == 0) {
            fwrite(text, 1, n, stdout);
            fflush(stdout);
            p->printed += n;
        }
        break;
    case AOAI_EVENT_FINISH:
        printf("\n[finish: %s]\n", text);
        break;
    case AOAI_EVENT_USAGE:
        printf("[tokens: %lld]\n", (long long)aoai_event_usage(ev, AOAI_USAGE_TOTAL_TOKENS));
        break;
    default: /* filter results, tool calls, kinds added later */
        break;
    }
    return p->printed > p->limit ? AOAI_STOP : AOAI_CONTINUE;
}

/* Streams one answer to stdout; stops the model after `limit` bytes. */
AoaiStatus stream_story(const AoaiClient *client, const char *prompt, size_t limit) {
    struct printer p = {0, 0};
    AoaiRequest *req = NULL;
    AoaiResponse *resp = NULL;
    AoaiStatus st;
    p.limit = limit;
    st = aoai_chat_request_new(&req);
    if (st == AOAI_STATUS_OK) st = aoai_request_add_message(req, AOAI_ROLE_USER, prompt);
    if (st == AOAI_STATUS_OK) st = aoai_request_set_stream_include_usage(req, 1);
    if (st == AOAI_STATUS_OK) st = aoai_client_stream(client, req, on_event, &p, &resp);
    if (st == AOAI_STATUS_OK) /* the assembled response: the whole text, usage, filters */
        fprintf(stderr, "%lu bytes from %s\n", (unsigned long)p.printed, aoai_response_model(resp, NULL));
    else if (st == AOAI_STATUS_CANCELLED)
        fprintf(stderr, "stopped after %lu bytes\n", (unsigned long)p.printed);
    else
        fprintf(stderr, "stream failed: %s: %s\n", aoai_status_str(st), aoai_last_error_message());
    aoai_response_free(resp);
    aoai_request_free(req);
    return st;
}
