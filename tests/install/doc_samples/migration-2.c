/* Extracted from docs/migration.md (code block 2) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdio.h>
#include "aoai.h"

/* client.chat.completions.create(model=..., messages=[system, user], temperature=0.2, max_tokens=50) */
AoaiStatus name_three_primes(const AoaiClient *client) {
    AoaiRequest *req = NULL;
    AoaiResponse *resp = NULL;
    AoaiStatus st = aoai_chat_request_new(&req);
    if (st == AOAI_STATUS_OK) st = aoai_request_add_message(req, AOAI_ROLE_SYSTEM, "You are terse.");
    if (st == AOAI_STATUS_OK) st = aoai_request_add_message(req, AOAI_ROLE_USER, "Name three primes.");
    if (st == AOAI_STATUS_OK) st = aoai_request_set_temperature(req, 0.2);
    if (st == AOAI_STATUS_OK) st = aoai_request_set_max_tokens(req, 50);
    if (st == AOAI_STATUS_OK) st = aoai_client_send(client, req, &resp);
    if (st == AOAI_STATUS_OK) {
        const char *text = aoai_response_text(resp, 0, NULL);
        const char *request_id = aoai_response_request_id(resp, NULL);
        printf("%s\n(%lld tokens, request %s)\n", text ? text : "", (long long)aoai_response_usage(resp, AOAI_USAGE_TOTAL_TOKENS),
               request_id ? request_id : "-");
    } else {
        fprintf(stderr, "%s: %s\n", aoai_status_str(st), aoai_last_error_message());
    }
    aoai_response_free(resp);
    aoai_request_free(req);
    return st;
}
