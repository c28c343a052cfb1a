/* Extracted from docs/streaming.md (code block 4) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <pthread.h>
#include "aoai.h"

/* A consumer thread that sleeps until the library rings. */
struct doorbell {
    pthread_mutex_t lock;
    pthread_cond_t rung;
    int pending;
};

static void ring(void *user_data, AoaiOp *op) {
    struct doorbell *d = (struct doorbell *)user_data;
    (void)op;
    pthread_mutex_lock(&d->lock);
    d->pending = 1;
    pthread_cond_signal(&d->rung);
    pthread_mutex_unlock(&d->lock);
}

/* Starts a stream whose notifications wake the thread that waits on `d`. */
AoaiStatus start_with_doorbell(const AoaiClient *client, const AoaiRequest *req, struct doorbell *d, AoaiOp **op_out) {
    return aoai_client_start(client, req, AOAI_START_STREAM, ring, d, op_out);
}

/* On the consumer thread: wait for the doorbell, then drain with aoai_op_next_event. */
void wait_for_doorbell(struct doorbell *d) {
    pthread_mutex_lock(&d->lock);
    while (!d->pending) pthread_cond_wait(&d->rung, &d->lock);
    d->pending = 0;
    pthread_mutex_unlock(&d->lock);
}
