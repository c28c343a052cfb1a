/* SPDX-License-Identifier: MIT
 *
 * Non-blocking operations from C: start / poll / next_event / wait / take_response, the
 * wrong-state and timeout statuses, cancel mid-stream, idle timeout, reset with a partial
 * response, a non-stream operation, the notify callback (on a library thread, never after
 * aoai_op_free or aoai_client_free returned, allowed to free its own operation), and 64
 * concurrent operations driven from 8 threads. */
#include "harness.h" /* first: it sets _POSIX_C_SOURCE */

#include <pthread.h>

#define HELLO "Hello from the aoai emulator! You said: "
#define WORDS20 "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 w20"

static AoaiClient *client; /* max_retries 0 */

static AoaiRequest *chat(const char *prompt) {
    AoaiRequest *req = NULL;
    if (aoai_chat_request_new(&req) != AOAI_STATUS_OK) return NULL;
    aoai_request_add_message(req, AOAI_ROLE_USER, prompt);
    return req;
}

/* Starts a chat operation; the request is freed right away (the operation has a copy). */
static AoaiOp *start(const AoaiClient *c, const char *prompt, int32_t flags, AoaiNotifyCallback cb, void *ud) {
    AoaiOp *op = NULL;
    AoaiRequest *req = chat(prompt);
    int32_t st = aoai_client_start(c, req, flags, cb, ud, &op);
    aoai_request_free(req);
    CHECK_OK(st);
    return st == AOAI_STATUS_OK ? op : NULL;
}

static int32_t state_of(const AoaiOp *op) {
    int32_t s = -1;
    if (aoai_op_poll(op, &s) != AOAI_STATUS_OK) return -1;
    return s;
}

/* Drains queued events, appending choice 0's text to `buf`; returns the number of events. */
static int drain(AoaiOp *op, char *buf, size_t cap, int *text_events) {
    AoaiEvent *ev = NULL;
    int n = 0;
    while (aoai_op_next_event(op, &ev) == AOAI_STATUS_OK) {
        size_t len = 0;
        const char *t = aoai_event_text(ev, &len);
        if (aoai_event_kind(ev) == AOAI_EVENT_TEXT_DELTA && aoai_event_choice(ev) == 0 && t != NULL) {
            if (strlen(buf) + len < cap) strncat(buf, t, len);
            if (text_events) (*text_events)++;
        }
        aoai_event_free(ev);
        ev = NULL;
        n++;
    }
    return n;
}

static void test_poll_loop(void) {
    AoaiOp *op;
    AoaiResponse *resp = NULL, *again = (AoaiResponse *)&again;
    char text[4096] = "";
    int32_t st, finished = 0;
    int polls = 0, text_events = 0;

    section("poll loop: start, poll, next_event, take_response");
    op = start(client, "[[emu:chunk-delay-ms=5]] poll me", AOAI_START_STREAM, NULL, NULL);
    REQUIRE_VOID(op != NULL);
    CHECK(aoai_op_error(op) == NULL); /* pending: no error */
    for (;;) {
        st = state_of(op);
        drain(op, text, sizeof text, &text_events);
        if (st != AOAI_OP_PENDING) break;
        polls++;
        sleep_ms(2);
    }
    drain(op, text, sizeof text, &text_events); /* events stay available after the end */
    CHECK_INT(st, AOAI_OP_DONE);
    CHECK(polls > 1); /* it did not block: we saw it pending */
    CHECK_STR(text, HELLO "poll me");
    CHECK_INT(text_events, 9);
    CHECK_OK(aoai_op_wait(op, 0)); /* ended: returns at once */
    CHECK(aoai_op_error(op) == NULL);
    CHECK_STATUS(aoai_op_next_event(op, NULL), AOAI_STATUS_NULL_ARGUMENT);
    {
        AoaiEvent *ev = (AoaiEvent *)&ev;
        CHECK_STATUS(aoai_op_next_event(op, &ev), AOAI_STATUS_EMPTY);
        CHECK(ev == (AoaiEvent *)&ev);
    }
    CHECK_FAILS(aoai_op_take_partial_response(op, &again), AOAI_STATUS_INVALID_STATE, "succeeded");
    CHECK_OK(aoai_op_take_response(op, &resp));
    CHECK_STR(aoai_response_text(resp, 0, NULL), HELLO "poll me");
    CHECK_STR(aoai_response_finish_reason(resp, 0, NULL), "stop");
    CHECK_FAILS(aoai_op_take_response(op, &again), AOAI_STATUS_INVALID_STATE, "already taken");
    CHECK(again == (AoaiResponse *)&again);
    WAIT_UNTIL(aoai_op_is_finished(op, &finished) == AOAI_STATUS_OK && finished == 1, 2000);
    CHECK_INT(finished, 1);
    aoai_response_free(resp);
    aoai_op_free(op);
}

static void test_wait_timeout(void) {
    AoaiOp *op;
    AoaiResponse *resp = (AoaiResponse *)&resp;
    char text[4096] = "";
    double t0;

    section("wait: timeout while running, then until done");
    op = start(client, "[[emu:chunk-delay-ms=60]] a b c", AOAI_START_STREAM, NULL, NULL);
    REQUIRE_VOID(op != NULL);
    t0 = now_ms();
    CHECK_FAILS(aoai_op_wait(op, 30), AOAI_STATUS_TIMEOUT, "30 ms");
    CHECK(now_ms() - t0 >= 25.0);
    CHECK_INT(state_of(op), AOAI_OP_PENDING);
    CHECK_FAILS(aoai_op_take_response(op, &resp), AOAI_STATUS_INVALID_STATE, "still running");
    CHECK_FAILS(aoai_op_take_partial_response(op, &resp), AOAI_STATUS_INVALID_STATE, "still running");
    CHECK(resp == (AoaiResponse *)&resp);
    CHECK_OK(aoai_op_wait_event(op, 5000)); /* something arrives */
    CHECK(drain(op, text, sizeof text, NULL) >= 1);
    CHECK_OK(aoai_op_wait(op, -1));
    CHECK_INT(state_of(op), AOAI_OP_DONE);
    drain(op, text, sizeof text, NULL);
    CHECK_STR(text, HELLO "a b c");
    aoai_op_free(op);
}

static void test_cancel(void) {
    AoaiOp *op;
    AoaiResponse *partial = NULL, *resp = (AoaiResponse *)&resp;
    const AoaiError *e;
    char text[4096] = "";
    int text_events = 0, finished = 0;
    long closed = emu_stat("streams_client_closed");
    AoaiEvent *ev = NULL;

    section("cancel mid-stream");
    op = start(client, "[[emu:chunk-delay-ms=30]] " WORDS20, AOAI_START_STREAM, NULL, NULL);
    REQUIRE_VOID(op != NULL);
    while (text_events < 3 && state_of(op) == AOAI_OP_PENDING) {
        aoai_op_wait_event(op, 1000);
        drain(op, text, sizeof text, &text_events);
    }
    CHECK(text_events >= 3);
    CHECK_OK(aoai_op_cancel(op));
    CHECK_INT(state_of(op), AOAI_OP_CANCELLED); /* at once */
    CHECK_OK(aoai_op_cancel(op));              /* idempotent */
    CHECK_INT(state_of(op), AOAI_OP_CANCELLED);
    e = aoai_op_error(op);
    CHECK(e != NULL);
    CHECK_INT(aoai_error_status(e), AOAI_STATUS_CANCELLED);
    CHECK_CONTAINS(aoai_error_message(e, NULL), "cancel");
    CHECK(aoai_op_error(op) == e); /* the same object, owned by the operation */
    drain(op, text, sizeof text, &text_events);
    sleep_ms(150);
    CHECK_STATUS(aoai_op_next_event(op, &ev), AOAI_STATUS_EMPTY); /* nothing after the cancel */
    CHECK_OK(aoai_op_wait(op, 1000));
    CHECK_FAILS(aoai_op_take_response(op, &resp), AOAI_STATUS_INVALID_STATE, "cancel");
    WAIT_UNTIL(aoai_op_is_finished(op, &finished) == AOAI_STATUS_OK && finished == 1, 3000);
    CHECK_INT(finished, 1);
    /* What had arrived is available, and starts with what we were shown. */
    if (aoai_op_take_partial_response(op, &partial) == AOAI_STATUS_OK) {
        const char *pt = aoai_response_text(partial, 0, NULL);
        CHECK(pt != NULL && strncmp(pt, text, strlen(text)) == 0);
        CHECK(pt != NULL && strncmp(HELLO WORDS20, pt, strlen(pt)) == 0);
        aoai_response_free(partial);
    } else {
        CHECK_KNOWN_BUG(0, aoai_last_error_message());
    }
    CHECK(strncmp(HELLO WORDS20, text, strlen(text)) == 0);
    CHECK(strlen(text) < strlen(HELLO WORDS20));
    /* The emulator saw the client close the stream. */
    WAIT_UNTIL(emu_stat("streams_client_closed") > closed, 3000);
    CHECK(emu_stat("streams_client_closed") > closed);
    aoai_op_free(op);

    section("free a running operation");
    closed = emu_stat("streams_client_closed");
    op = start(client, "[[emu:chunk-delay-ms=30]] " WORDS20, AOAI_START_STREAM, NULL, NULL);
    CHECK_OK(aoai_op_wait_event(op, 5000));
    aoai_op_free(op); /* cancels it */
    WAIT_UNTIL(emu_stat("streams_client_closed") > closed, 3000);
    CHECK(emu_stat("streams_client_closed") > closed);
}

static void test_idle_timeout_and_reset(void) {
    AoaiOp *op = NULL;
    AoaiRequest *req;
    AoaiResponse *partial = NULL, *again = (AoaiResponse *)&again;
    const AoaiError *e;
    char text[4096] = "";
    double t0;
    int32_t st;

    section("idle timeout: a stalled stream fails with TIMEOUT naming idle_timeout_ms");
    req = chat("[[emu:stall-after=4]] a b c d e f");
    CHECK_OK(aoai_request_set_idle_timeout_ms(req, 300));
    t0 = now_ms();
    CHECK_OK(aoai_client_start(client, req, AOAI_START_STREAM, NULL, NULL, &op));
    aoai_request_free(req);
    REQUIRE_VOID(op != NULL);
    CHECK_OK(aoai_op_wait(op, 10000));
    CHECK(now_ms() - t0 < 5000.0);
    CHECK_INT(state_of(op), AOAI_OP_FAILED);
    drain(op, text, sizeof text, NULL);
    CHECK_STR(text, "Hello from"); /* 4 events: prompt filter, role, two words */
    e = aoai_op_error(op);
    CHECK_INT(aoai_error_status(e), AOAI_STATUS_TIMEOUT);
    CHECK_CONTAINS(aoai_error_message(e, NULL), "idle_timeout_ms");
    CHECK_OK(aoai_op_take_partial_response(op, &partial));
    CHECK_STR(aoai_response_text(partial, 0, NULL), "Hello from");
    aoai_response_free(partial);
    partial = NULL;
    aoai_op_free(op);
    op = NULL;

    section("reset mid-stream: FAILED with the partial response");
    op = start(client, "[[emu:reset-after=6]] a b c d e f", AOAI_START_STREAM, NULL, NULL);
    REQUIRE_VOID(op != NULL);
    CHECK_OK(aoai_op_wait(op, 10000));
    CHECK_INT(state_of(op), AOAI_OP_FAILED);
    text[0] = '\0';
    drain(op, text, sizeof text, NULL);
    CHECK_STR(text, "Hello from the aoai");
    e = aoai_op_error(op);
    st = aoai_error_status(e);
    CHECK(st == AOAI_STATUS_CONNECTION || st == AOAI_STATUS_STREAM);
    CHECK_OK(aoai_op_take_partial_response(op, &partial));
    CHECK_STR(aoai_response_text(partial, 0, NULL), text);
    CHECK_FAILS(aoai_op_take_partial_response(op, &again), AOAI_STATUS_INVALID_STATE, "already taken");
    CHECK_FAILS(aoai_op_take_response(op, &again), AOAI_STATUS_INVALID_STATE, "did not succeed");
    CHECK(again == (AoaiResponse *)&again);
    aoai_response_free(partial);
    /* The operation's error is its own: other calls on this thread do not change it. */
    CHECK_FAILS(aoai_debug_panic(), AOAI_STATUS_PANIC, "internal error");
    CHECK_INT(aoai_error_status(aoai_op_error(op)), st);
    aoai_op_free(op);
}

static void test_non_stream_ops(void) {
    AoaiOp *op;
    AoaiResponse *resp = NULL;
    const AoaiError *e;
    char text[1024] = "";

    section("a non-stream operation");
    op = start(client, "[[emu:delay-ms=50]] not streamed", 0, NULL, NULL);
    REQUIRE_VOID(op != NULL);
    CHECK_INT(state_of(op), AOAI_OP_PENDING);
    CHECK_OK(aoai_op_wait(op, 10000));
    CHECK_INT(state_of(op), AOAI_OP_DONE);
    drain(op, text, sizeof text, NULL); /* whatever events it queued, freed */
    CHECK_OK(aoai_op_take_response(op, &resp));
    CHECK_STR(aoai_response_text(resp, 0, NULL), HELLO "not streamed");
    CHECK_INT(aoai_response_http_status(resp), 200);
    aoai_response_free(resp);
    aoai_op_free(op);

    section("a failing non-stream operation has its own error");
    op = start(client, "[[emu:status=404]] gone", 0, NULL, NULL);
    REQUIRE_VOID(op != NULL);
    CHECK_OK(aoai_op_wait(op, 10000));
    CHECK_INT(state_of(op), AOAI_OP_FAILED);
    e = aoai_op_error(op);
    CHECK_INT(aoai_error_status(e), AOAI_STATUS_NOT_FOUND);
    CHECK_INT(aoai_error_http_status(e), 404);
    CHECK_STR(aoai_error_code(e, NULL), "DeploymentNotFound");
    CHECK(aoai_error_request_id(e, NULL) != NULL);
    aoai_op_free(op);
}

/* ---- notify callbacks ------------------------------------------------------------------ */

struct notify_state {
    pthread_mutex_t mu;
    pthread_t main_thread;
    AoaiOp *op; /* for the free-inside-callback test */
    int calls;
    int on_main_thread; /* calls made on the main thread (must stay 0) */
    int saw_end;
    int wait_status; /* aoai_op_wait from the callback */
    int freed;
    int calls_after_free;
    int drain;
    char text[2048];
};

static void ns_init(struct notify_state *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->main_thread = pthread_self();
    s->wait_status = -1;
}

static int ns_get(struct notify_state *s, const int *field) {
    int v;
    pthread_mutex_lock(&s->mu);
    v = *field;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static void on_notify(void *user_data, AoaiOp *op) {
    struct notify_state *s = (struct notify_state *)user_data;
    int32_t state = -1;
    pthread_mutex_lock(&s->mu);
    s->calls++;
    if (pthread_equal(pthread_self(), s->main_thread)) s->on_main_thread++;
    if (aoai_op_poll(op, &state) == AOAI_STATUS_OK && state != AOAI_OP_PENDING) s->saw_end = 1;
    if (s->wait_status == -1) s->wait_status = aoai_op_wait(op, 0); /* must refuse: WRONG_THREAD */
    if (s->drain) drain(op, s->text, sizeof s->text, NULL);
    pthread_mutex_unlock(&s->mu);
}

/* Frees its own operation once it has ended. */
static void on_notify_free_self(void *user_data, AoaiOp *op) {
    struct notify_state *s = (struct notify_state *)user_data;
    int32_t state = AOAI_OP_PENDING;
    pthread_mutex_lock(&s->mu);
    if (s->freed) {
        s->calls_after_free++;
    } else {
        s->calls++;
        drain(op, s->text, sizeof s->text, NULL);
        if (aoai_op_poll(op, &state) == AOAI_STATUS_OK && state != AOAI_OP_PENDING) {
            aoai_op_free(op);
            s->freed = 1;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void test_notify(void) {
    static struct notify_state s;
    AoaiOp *op;

    section("notify: called on a library thread, may poll and drain, not wait");
    ns_init(&s);
    s.drain = 1;
    op = start(client, "[[emu:chunk-delay-ms=5]] pushed events", AOAI_START_STREAM, on_notify, &s);
    REQUIRE_VOID(op != NULL);
    CHECK_OK(aoai_op_wait(op, 10000));
    WAIT_UNTIL(ns_get(&s, &s.saw_end), 3000);
    CHECK_INT(state_of(op), AOAI_OP_DONE);
    pthread_mutex_lock(&s.mu);
    CHECK(s.calls >= 2);
    CHECK_INT(s.on_main_thread, 0);
    CHECK_INT(s.saw_end, 1);
    CHECK_INT(s.wait_status, AOAI_STATUS_WRONG_THREAD);
    CHECK_STR(s.text, HELLO "pushed events");
    pthread_mutex_unlock(&s.mu);
    aoai_op_free(op);
    pthread_mutex_destroy(&s.mu);

    section("notify: set later with aoai_op_set_notify is called for what is already there");
    ns_init(&s);
    op = start(client, "late notify", AOAI_START_STREAM, NULL, NULL);
    REQUIRE_VOID(op != NULL);
    CHECK_OK(aoai_op_wait(op, 10000));
    CHECK_OK(aoai_op_set_notify(op, on_notify, &s));
    WAIT_UNTIL(ns_get(&s, &s.calls) >= 1, 3000);
    CHECK(ns_get(&s, &s.calls) >= 1);
    CHECK_INT(ns_get(&s, &s.on_main_thread), 0);
    CHECK_OK(aoai_op_set_notify(op, NULL, NULL));
    aoai_op_free(op);
    pthread_mutex_destroy(&s.mu);

    section("notify: aoai_op_free inside its own callback");
    ns_init(&s);
    op = start(client, "[[emu:chunk-delay-ms=5]] free myself", AOAI_START_STREAM, on_notify_free_self, &s);
    REQUIRE_VOID(op != NULL);
    WAIT_UNTIL(ns_get(&s, &s.freed), 10000);
    CHECK_INT(ns_get(&s, &s.freed), 1);
    sleep_ms(200);
    CHECK_INT(ns_get(&s, &s.calls_after_free), 0);
    pthread_mutex_lock(&s.mu);
    CHECK_STR(s.text, HELLO "free myself");
    pthread_mutex_unlock(&s.mu);
    pthread_mutex_destroy(&s.mu);
}

static void test_client_free_with_ops(void) {
    static struct notify_state s[3];
    AoaiClient *c = emu_client();
    AoaiOp *ops[3];
    int i, calls_at_free[3];

    section("freeing a client with operations in flight");
    REQUIRE_VOID(c != NULL);
    for (i = 0; i < 3; i++) {
        ns_init(&s[i]);
        ops[i] = start(c, "[[emu:chunk-delay-ms=40]] " WORDS20, AOAI_START_STREAM, on_notify, &s[i]);
    }
    for (i = 0; i < 3; i++) WAIT_UNTIL(ns_get(&s[i], &s[i].calls) >= 1, 5000);
    aoai_client_free(c); /* cancels them; no callback runs after it returns */
    for (i = 0; i < 3; i++) calls_at_free[i] = ns_get(&s[i], &s[i].calls);
    sleep_ms(400);
    for (i = 0; i < 3; i++) {
        const AoaiError *e;
        CHECK(calls_at_free[i] >= 1);
        CHECK_INT(ns_get(&s[i], &s[i].calls), calls_at_free[i]);
        if (ops[i] == NULL) continue;
        CHECK_INT(state_of(ops[i]), AOAI_OP_CANCELLED);
        e = aoai_op_error(ops[i]);
        CHECK_INT(aoai_error_status(e), AOAI_STATUS_CANCELLED);
        aoai_op_free(ops[i]);
        pthread_mutex_destroy(&s[i].mu);
    }
}

/* ---- 64 operations from 8 threads ------------------------------------------------------ */

#define THREADS 8
#define OPS_PER_THREAD 8

struct worker {
    int id;
    int ok;     /* operations that ended DONE with exactly the expected text */
    int errors; /* anything else */
};

static void *worker_main(void *arg) {
    struct worker *w = (struct worker *)arg;
    AoaiOp *ops[OPS_PER_THREAD];
    char texts[OPS_PER_THREAD][256], expected[256], prompt[128];
    int i, running;

    for (i = 0; i < OPS_PER_THREAD; i++) {
        AoaiRequest *req = NULL;
        ops[i] = NULL;
        texts[i][0] = '\0';
        snprintf(prompt, sizeof prompt, "[[emu:chunk-delay-ms=3]] thread %d op %d", w->id, i);
        if (aoai_chat_request_new(&req) != AOAI_STATUS_OK ||
            aoai_request_add_message(req, AOAI_ROLE_USER, prompt) != AOAI_STATUS_OK ||
            aoai_client_start(client, req, AOAI_START_STREAM, NULL, NULL, &ops[i]) != AOAI_STATUS_OK) {
            w->errors++;
        }
        aoai_request_free(req);
    }
    do {
        running = 0;
        for (i = 0; i < OPS_PER_THREAD; i++) {
            if (ops[i] == NULL) continue;
            drain(ops[i], texts[i], sizeof texts[i], NULL);
            if (state_of(ops[i]) == AOAI_OP_PENDING) running++;
        }
        if (running) sleep_ms(2);
    } while (running);
    for (i = 0; i < OPS_PER_THREAD; i++) {
        if (ops[i] == NULL) continue;
        drain(ops[i], texts[i], sizeof texts[i], NULL);
        snprintf(expected, sizeof expected, HELLO "thread %d op %d", w->id, i);
        if (state_of(ops[i]) == AOAI_OP_DONE && strcmp(texts[i], expected) == 0) w->ok++;
        else w->errors++;
        aoai_op_free(ops[i]);
    }
    return NULL;
}

static void test_concurrency(void) {
    pthread_t th[THREADS];
    struct worker w[THREADS];
    int i, ok = 0, errors = 0;

    section("64 concurrent operations driven from 8 threads");
    for (i = 0; i < THREADS; i++) {
        w[i].id = i;
        w[i].ok = w[i].errors = 0;
        CHECK_INT(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        errors += w[i].errors;
    }
    CHECK_INT(ok, THREADS * OPS_PER_THREAD);
    CHECK_INT(errors, 0);
}

int main(void) {
    AoaiOptions *o;

    emu_reset();
    o = emu_options();
    REQUIRE(o != NULL);
    CHECK_OK(aoai_options_set_max_retries(o, 0));
    CHECK_OK(aoai_client_new(o, &client));
    aoai_options_free(o);
    REQUIRE(client != NULL);

    test_poll_loop();
    test_wait_timeout();
    test_cancel();
    test_idle_timeout_and_reset();
    test_non_stream_ops();
    test_notify();
    test_client_free_with_ops();
    test_concurrency();

    aoai_client_free(client);
    return harness_finish();
}
