/* Extracted from docs/errors.md (code block 1) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdio.h>
#include <string.h>
#include "aoai.h"

/* What a program can do about a failed call: give up, fix the input, or try again later. */
typedef enum { GIVE_UP, FIX_INPUT, TRY_LATER } Advice;

Advice advise(AoaiStatus st, const AoaiError *err, long long *wait_ms) {
    *wait_ms = 0;
    switch (st) {
    case AOAI_STATUS_RATE_LIMITED:
        *wait_ms = aoai_error_retry_after_ms(err) >= 0 ? (long long)aoai_error_retry_after_ms(err) : 10000;
        return TRY_LATER;
    case AOAI_STATUS_SERVER:
    case AOAI_STATUS_CONNECTION:
    case AOAI_STATUS_TIMEOUT:
    case AOAI_STATUS_STREAM:
        *wait_ms = 5000;
        return TRY_LATER;
    case AOAI_STATUS_CONTENT_FILTERED:
    case AOAI_STATUS_BAD_REQUEST:
    case AOAI_STATUS_INVALID_ARGUMENT:
    case AOAI_STATUS_INVALID_JSON:
    case AOAI_STATUS_INVALID_UTF8:
        return FIX_INPUT;
    default: /* configuration, authentication, permissions, not found, new statuses */
        return GIVE_UP;
    }
}

/* Sends a request and reports a failure with everything support will ask for. */
AoaiResponse *send_or_report(const AoaiClient *client, const AoaiRequest *req) {
    AoaiResponse *resp = NULL;
    AoaiStatus st = aoai_client_send(client, req, &resp);
    if (st != AOAI_STATUS_OK) {
        const AoaiError *err = aoai_last_error(); /* read it now, on this thread */
        const char *code = aoai_error_code(err, NULL);
        const char *rid = aoai_error_request_id(err, NULL);
        long long wait_ms;
        Advice a = advise(st, err, &wait_ms);
        fprintf(stderr, "chat failed: %s [HTTP %d, code %s, request %s, %d attempt(s)]: %s\n",
                aoai_status_str(st), (int)aoai_error_http_status(err), code ? code : "-", rid ? rid : "-",
                (int)aoai_error_attempts(err), aoai_error_message(err, NULL));
        if (a == TRY_LATER) fprintf(stderr, "  try again in %lld ms\n", wait_ms);
        return NULL;
    }
    {
        const char *finish = aoai_response_finish_reason(resp, 0, NULL);
        if (finish != NULL && strcmp(finish, "content_filter") == 0) /* OK, but the answer was cut */
            fprintf(stderr, "answer filtered: %s\n", aoai_response_filtered_categories(resp, 0, NULL));
    }
    return resp;
}
