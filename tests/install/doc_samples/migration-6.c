/* Extracted from docs/migration.md (code block 6) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdio.h>
#include "aoai.h"

/* embeddings.embed_documents(["first text", "second text"]) */
AoaiStatus embed_documents(const AoaiClient *client) {
    AoaiRequest *req = NULL;
    AoaiResponse *resp = NULL;
    AoaiStatus st = aoai_embedding_request_new(&req);
    if (st == AOAI_STATUS_OK) st = aoai_request_set_deployment(req, "text-embedding-3-small");
    if (st == AOAI_STATUS_OK) st = aoai_request_add_input(req, "first text");
    if (st == AOAI_STATUS_OK) st = aoai_request_add_input(req, "second text");
    if (st == AOAI_STATUS_OK) st = aoai_client_send(client, req, &resp);
    if (st == AOAI_STATUS_OK) {
        uint32_t i;
        for (i = 0; i < aoai_response_embedding_count(resp); i++) {
            size_t dims = 0;
            const float *v = aoai_response_embedding(resp, i, &dims); /* borrowed from resp */
            printf("vector %u: %lu floats, first %f\n", (unsigned)i, (unsigned long)dims, dims ? (double)v[0] : 0.0);
        }
    }
    aoai_response_free(resp);
    aoai_request_free(req);
    return st;
}
