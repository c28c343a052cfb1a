/* Extracted from docs/migration.md (code block 4) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdio.h>
#include "aoai.h"

/* llm = AzureOpenAI(deployment_name="gpt-35-turbo-instruct", temperature=0.7, max_tokens=256)
 * llm.batch(["A haiku about rain", "A haiku about snow"]) */
AoaiStatus two_haikus(const AoaiClient *client) {
    AoaiRequest *req = NULL;
    AoaiResponse *resp = NULL;
    uint32_t i;
    AoaiStatus st = aoai_completion_request_new(&req);
    if (st == AOAI_STATUS_OK) st = aoai_request_set_deployment(req, "gpt-35-turbo-instruct");
    if (st == AOAI_STATUS_OK) st = aoai_request_add_prompt(req, "A haiku about rain");
    if (st == AOAI_STATUS_OK) st = aoai_request_add_prompt(req, "A haiku about snow");
    if (st == AOAI_STATUS_OK) st = aoai_request_set_temperature(req, 0.7);
    if (st == AOAI_STATUS_OK) st = aoai_request_set_max_tokens(req, 256);
    if (st == AOAI_STATUS_OK) st = aoai_client_send(client, req, &resp);
    for (i = 0; st == AOAI_STATUS_OK && i < aoai_response_choice_count(resp); i++) {
        const char *text = aoai_response_text(resp, i, NULL);
        printf("%u: %s\n", (unsigned)i, text ? text : "");
    }
    if (st != AOAI_STATUS_OK) fprintf(stderr, "%s: %s\n", aoai_status_str(st), aoai_last_error_message());
    aoai_response_free(resp);
    aoai_request_free(req);
    return st;
}
