/* SPDX-License-Identifier: MIT
 *
 * The library's lifetime from C: aoai_shutdown with a client still alive (its calls then
 * fail with AOAI_STATUS_SHUTDOWN), a new runtime for clients made afterwards, shutdown
 * refused from a library callback thread, the log callback, and the version checks. */
#include "harness.h"

#include <pthread.h>

struct cb_state {
    pthread_mutex_t mu;
    int calls;
    int32_t shutdown_status; /* aoai_shutdown from the notify callback */
    int32_t send_status;     /* aoai_client_send from the notify callback */
    const AoaiClient *client;
    AoaiRequest *req;
};

static void on_notify(void *user_data, AoaiOp *op) {
    struct cb_state *s = (struct cb_state *)user_data;
    AoaiResponse *resp = NULL;
    (void)op;
    pthread_mutex_lock(&s->mu);
    if (s->calls++ == 0) {
        s->shutdown_status = aoai_shutdown();
        s->send_status = aoai_client_send(s->client, s->req, &resp);
        aoai_response_free(resp);
    }
    pthread_mutex_unlock(&s->mu);
}

struct log_state {
    pthread_mutex_t mu;
    int lines;
    int bad_level;
    int has_key; /* a log line carried the key: must never happen */
};

static void on_log(void *user_data, int32_t level, const char *message) {
    struct log_state *s = (struct log_state *)user_data;
    pthread_mutex_lock(&s->mu);
    s->lines++;
    if (level < 1 || level > 4) s->bad_level++;
    if (message != NULL && strstr(message, EMU_KEY) != NULL) s->has_key++;
    pthread_mutex_unlock(&s->mu);
}

int main(void) {
    static struct cb_state cs;
    static struct log_state ls;
    AoaiClient *c, *c2;
    AoaiOp *op = NULL;
    AoaiRequest *req = NULL;
    char *text = (char *)"untouched";
    int calls;

    emu_reset();

    section("version");
    CHECK_STR(aoai_version(), AOAI_VERSION_STRING);
    CHECK_INT(aoai_version_number(), AOAI_VERSION_NUMBER);
    CHECK_INT(AOAI_VERSION_NUMBER, (AOAI_VERSION_MAJOR << 16) | (AOAI_VERSION_MINOR << 8) | AOAI_VERSION_PATCH);

    section("blocking calls and shutdown from a library thread are refused");
    memset(&cs, 0, sizeof cs);
    pthread_mutex_init(&cs.mu, NULL);
    cs.shutdown_status = cs.send_status = -1;
    c = emu_client();
    REQUIRE(c != NULL);
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "from a callback"));
    cs.client = c;
    cs.req = req;
    CHECK_OK(aoai_client_start(c, req, AOAI_START_STREAM, on_notify, &cs, &op));
    CHECK_OK(aoai_op_wait(op, 10000));
    WAIT_UNTIL((pthread_mutex_lock(&cs.mu), calls = cs.calls, pthread_mutex_unlock(&cs.mu), calls >= 1), 3000);
    pthread_mutex_lock(&cs.mu);
    CHECK_STATUS(cs.shutdown_status, AOAI_STATUS_WRONG_THREAD);
    CHECK_STATUS(cs.send_status, AOAI_STATUS_WRONG_THREAD);
    pthread_mutex_unlock(&cs.mu);
    aoai_op_free(op);
    aoai_request_free(req);

    section("log callback");
    memset(&ls, 0, sizeof ls);
    pthread_mutex_init(&ls.mu, NULL);
    CHECK_FAILS(aoai_set_log_callback(on_log, &ls, 9), AOAI_STATUS_INVALID_ARGUMENT, "max_level");
    CHECK_OK(aoai_set_log_callback(on_log, &ls, 4));
    text = NULL;
    CHECK_OK(aoai_chat_simple(c, "logged", &text));
    aoai_string_free(text);
    CHECK_STATUS(aoai_debug_panic(), AOAI_STATUS_PANIC); /* logged as an error */
    CHECK_OK(aoai_set_log_callback(NULL, NULL, 0));
    pthread_mutex_lock(&ls.mu);
    CHECK(ls.lines >= 1);
    CHECK_INT(ls.bad_level, 0);
    CHECK_INT(ls.has_key, 0);
    pthread_mutex_unlock(&ls.mu);

    section("shutdown with a client alive, then a new runtime");
    CHECK_OK(aoai_shutdown());
    text = (char *)"untouched";
    CHECK_FAILS(aoai_chat_simple(c, "after shutdown", &text), AOAI_STATUS_SHUTDOWN, "shut");
    CHECK_STR(text, "untouched");
    aoai_client_free(c); /* still freed normally */
    c2 = emu_client();
    CHECK(c2 != NULL);
    text = NULL;
    CHECK_OK(aoai_chat_simple(c2, "new runtime", &text));
    CHECK_STR(text, "Hello from the aoai emulator! You said: new runtime");
    aoai_string_free(text);
    aoai_client_free(c2);
    CHECK_OK(aoai_shutdown());
    CHECK_OK(aoai_shutdown()); /* idempotent */

    pthread_mutex_destroy(&cs.mu);
    pthread_mutex_destroy(&ls.mu);
    return harness_finish();
}
