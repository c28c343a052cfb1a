/* Extracted from docs/embeddings.md (code block 1) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdio.h>
#include "aoai.h"

static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

/* Which of `docs` is closest in meaning to `query`? Returns its index, or -1. */
int closest(const AoaiClient *client, const char *query, const char *const *docs, int ndocs) {
    AoaiRequest *req = NULL;
    AoaiResponse *resp = NULL;
    int i, best = -1;
    double best_score = -2.0;
    AoaiStatus st = aoai_embedding_request_new(&req);
    if (st == AOAI_STATUS_OK) st = aoai_request_set_deployment(req, "text-embedding-3-small");
    if (st == AOAI_STATUS_OK) st = aoai_request_add_input(req, query); /* vector 0 */
    for (i = 0; i < ndocs && st == AOAI_STATUS_OK; i++) st = aoai_request_add_input(req, docs[i]);
    if (st == AOAI_STATUS_OK) st = aoai_client_send(client, req, &resp);
    aoai_request_free(req);
    if (st != AOAI_STATUS_OK) {
        fprintf(stderr, "embeddings: %s: %s\n", aoai_status_str(st), aoai_last_error_message());
        return -1;
    }
    {
        size_t dims = 0, d = 0;
        const float *q = aoai_response_embedding(resp, 0, &dims);
        for (i = 0; i < ndocs; i++) {
            const float *v = aoai_response_embedding(resp, (uint32_t)i + 1, &d);
            double score = (v != NULL && d == dims) ? dot(q, v, dims) : -2.0;
            if (score > best_score) {
                best_score = score;
                best = i;
            }
        }
    }
    aoai_response_free(resp); /* the vectors go with it: copy them first to keep them */
    return best;
}
