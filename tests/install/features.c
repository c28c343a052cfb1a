/* SPDX-License-Identifier: MIT
 *
 * tests/install/features.c: embeddings and logging through the C ABI of an installed aoai,
 * against the emulator (tests/install/run.sh starts it and sets AZURE_OPENAI_ENDPOINT and
 * AZURE_OPENAI_API_KEY; the key is a distinctive fake secret that must never be logged).
 *
 *   features            embeddings (Azure and OpenAI routes, float and base64, blocking and
 *                       non-blocking, the errors) and the log callback (levels, filter, no
 *                       secrets, switching off)
 *   features --log-env  one client, one failing call with a retry, nothing else: run.sh runs
 *                       it with and without AOAI_LOG and checks stderr
 *
 * Prints one `ok` / `not ok` line per check and exits with the number of failures.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aoai.h>

static int failed = 0;

static void check(int cond, const char *what) {
    printf("%s - %s\n", cond ? "ok" : "not ok", what);
    if (!cond) {
        failed++;
        if (aoai_error_status(aoai_last_error()) != AOAI_STATUS_OK)
            printf("#   last error: %s\n", aoai_last_error_message());
    }
}

static const char *env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "features: %s is not set (run tests/install/run.sh)\n", name);
        exit(100);
    }
    return v;
}

/* ---- embeddings ------------------------------------------------------------------------ */

static double norm(const float *v, size_t n) {
    double s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) s += (double)v[i] * (double)v[i];
    return sqrt(s);
}

static int same_vector(const float *a, size_t na, const float *b, size_t nb) {
    size_t i;
    if (a == NULL || b == NULL || na != nb) return 0;
    for (i = 0; i < na; i++)
        if (fabs((double)a[i] - (double)b[i]) > 1e-6) return 0;
    return 1;
}

/* Sends a two-input embeddings request; `base64` asks for encoding_format base64. */
static AoaiResponse *embed_two(const AoaiClient *client, int base64) {
    AoaiRequest *req = NULL;
    AoaiResponse *resp = NULL;
    int32_t st = aoai_embedding_request_new(&req);
    if (st == AOAI_STATUS_OK) st = aoai_request_add_input(req, "The quick brown fox");
    if (st == AOAI_STATUS_OK) st = aoai_request_add_input(req, "jumps over the lazy dog");
    if (st == AOAI_STATUS_OK) st = aoai_request_set_dimensions(req, 16);
    if (st == AOAI_STATUS_OK && base64) st = aoai_request_set_field_json(req, "encoding_format", "\"base64\"");
    if (st == AOAI_STATUS_OK) st = aoai_client_send(client, req, &resp);
    if (st != AOAI_STATUS_OK) printf("#   embeddings: %s: %s\n", aoai_status_str(st), aoai_last_error_message());
    aoai_request_free(req);
    return resp;
}

static void test_embeddings(const char *endpoint, const char *key) {
    AoaiClient *azure = NULL, *openai = NULL;
    AoaiRequest *req = NULL, *chat = NULL;
    AoaiResponse *resp = NULL, *resp64 = NULL, *again = NULL;
    AoaiOp *op = NULL;
    const float *v0, *v1, *w;
    size_t d0 = 99, d1 = 0, dw = 0, dnone = 99;
    int32_t state = -1, st;
    char json[1024];

    printf("# embeddings\n");
    snprintf(json, sizeof json,
             "{\"endpoint\": \"%s\", \"api_key\": \"%s\", \"deployment\": \"text-embedding-3-small\", "
             "\"environment\": false}",
             endpoint, key);
    check(aoai_client_from_json(json, &azure) == AOAI_STATUS_OK, "Azure client for text-embedding-3-small");
    if (azure == NULL) return;

    resp = embed_two(azure, 0);
    check(resp != NULL, "Azure /embeddings: two inputs");
    if (resp != NULL) {
        v0 = aoai_response_embedding(resp, 0, &d0);
        v1 = aoai_response_embedding(resp, 1, &d1);
        check(aoai_response_embedding_count(resp) == 2, "aoai_response_embedding_count == 2");
        check(v0 != NULL && d0 == 16 && v1 != NULL && d1 == 16, "vectors of the requested 16 dimensions");
        check(v0 != NULL && fabs(norm(v0, d0) - 1.0) < 1e-4, "vector 0 is a unit vector");
        check(!same_vector(v0, d0, v1, d1), "different inputs, different vectors");
        check(aoai_response_embedding(resp, 2, &dnone) == NULL && dnone == 0,
              "index past the end: NULL and *dims_out 0");
        check(aoai_response_embedding(NULL, 0, NULL) == NULL, "NULL response: NULL");
        check(aoai_response_usage(resp, AOAI_USAGE_PROMPT_TOKENS) == 9, "usage: prompt_tokens (9 words)");
        check(aoai_response_choice_count(resp) == 0 && aoai_response_text(resp, 0, NULL) == NULL,
              "an embeddings response has no choices");

        resp64 = embed_two(azure, 1);
        check(resp64 != NULL, "encoding_format base64");
        if (resp64 != NULL) {
            w = aoai_response_embedding(resp64, 0, &dw);
            check(same_vector(v0, d0, w, dw), "base64 decodes to the same floats");
        }

        /* Same text, same vector (the emulator hashes the text); through the JSON level. */
        st = aoai_request_from_json(AOAI_REQUEST_EMBEDDING, "{\"input\": \"The quick brown fox\", \"dimensions\": 16}",
                                    &req);
        check(st == AOAI_STATUS_OK, "aoai_request_from_json(AOAI_REQUEST_EMBEDDING, ...)");
        /* Non-blocking: start, wait, take. */
        if (st == AOAI_STATUS_OK) st = aoai_client_start(azure, req, 0, NULL, NULL, &op);
        check(st == AOAI_STATUS_OK, "aoai_client_start(embeddings)");
        if (op != NULL) {
            check(aoai_op_wait(op, 10000) == AOAI_STATUS_OK && aoai_op_poll(op, &state) == AOAI_STATUS_OK &&
                      state == AOAI_OP_DONE,
                  "the embeddings operation is DONE");
            check(aoai_op_take_response(op, &again) == AOAI_STATUS_OK, "aoai_op_take_response");
            w = aoai_response_embedding(again, 0, &dw);
            check(same_vector(v0, d0, w, dw), "same text gives the same vector");
            aoai_op_free(op);
            op = NULL;
        }
        /* Embeddings cannot stream. */
        if (req != NULL) {
            check(aoai_client_stream(azure, req, NULL, NULL, NULL) == AOAI_STATUS_NULL_ARGUMENT,
                  "aoai_client_stream with a NULL callback: NULL_ARGUMENT");
            check(aoai_client_start(azure, req, AOAI_START_STREAM, NULL, NULL, &op) == AOAI_STATUS_INVALID_ARGUMENT &&
                      op == NULL,
                  "streaming embeddings: INVALID_ARGUMENT, no operation");
        }
        aoai_request_free(req);
        req = NULL;
    }

    /* Wrong request kinds and missing input. */
    check(aoai_chat_request_new(&chat) == AOAI_STATUS_OK &&
              aoai_request_add_input(chat, "x") == AOAI_STATUS_INVALID_ARGUMENT,
          "aoai_request_add_input on a chat request: INVALID_ARGUMENT");
    check(strstr(aoai_last_error_message(), "embeddings") != NULL, "the message names embeddings");
    aoai_request_free(chat);
    check(aoai_embedding_request_new(&req) == AOAI_STATUS_OK &&
              aoai_client_send(azure, req, &again) == AOAI_STATUS_INVALID_ARGUMENT,
          "an embeddings request without input: INVALID_ARGUMENT");
    check(aoai_embedding_request_new(NULL) == AOAI_STATUS_NULL_ARGUMENT, "aoai_embedding_request_new(NULL)");
    aoai_request_free(req);
    req = NULL;
    aoai_response_free(again);
    again = NULL;

    /* The OpenAI route (/v1/embeddings, model in the body, Authorization: Bearer). */
    snprintf(json, sizeof json,
             "{\"api_type\": \"openai\", \"base_url\": \"%s/v1\", \"api_key\": \"%s\", "
             "\"deployment\": \"text-embedding-3-small\", \"environment\": false}",
             endpoint, key);
    check(aoai_client_from_json(json, &openai) == AOAI_STATUS_OK, "OpenAI-compatible client");
    if (openai != NULL) {
        AoaiResponse *o = embed_two(openai, 0);
        check(o != NULL && aoai_response_embedding_count(o) == 2, "OpenAI /v1/embeddings: two vectors");
        if (o != NULL && resp != NULL) {
            v0 = aoai_response_embedding(resp, 0, &d0);
            w = aoai_response_embedding(o, 0, &dw);
            check(same_vector(v0, d0, w, dw), "the same vectors as the Azure route");
        }
        aoai_response_free(o);
    }

    aoai_response_free(resp);
    aoai_response_free(resp64);
    aoai_client_free(openai);
    aoai_client_free(azure);
}

/* ---- logging --------------------------------------------------------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int count, bad_level, leaked, by_level[5];
    const char *secret;
    char last[512];
} logs;

static void on_log(void *user_data, int32_t level, const char *message) {
    pthread_mutex_lock(&log_lock);
    logs.count++;
    if (user_data != (void *)&logs) logs.bad_level += 1000; /* user_data must come back untouched */
    if (level < 1 || level > 4)
        logs.bad_level++;
    else
        logs.by_level[level]++;
    if (message == NULL || strstr(message, logs.secret) != NULL) logs.leaked++;
    if (message != NULL) snprintf(logs.last, sizeof logs.last, "%s", message);
    pthread_mutex_unlock(&log_lock);
}

static void reset_logs(void) {
    pthread_mutex_lock(&log_lock);
    logs.count = logs.bad_level = logs.leaked = 0;
    memset(logs.by_level, 0, sizeof logs.by_level);
    logs.last[0] = '\0';
    pthread_mutex_unlock(&log_lock);
}

/* A client with one retry, and a call that is rate limited twice: an info log for the retry,
 * a debug log for the failure. Returns the call's status. */
static int32_t failing_call(const char *endpoint, const char *key, AoaiClient **client_out) {
    char json[1024];
    char *text = NULL;
    int32_t st;
    snprintf(json, sizeof json,
             "{\"endpoint\": \"%s\", \"api_key\": \"%s\", \"deployment\": \"gpt-4o\", \"max_retries\": 1, "
             "\"environment\": false}",
             endpoint, key);
    st = aoai_client_from_json(json, client_out);
    if (st != AOAI_STATUS_OK) return st;
    st = aoai_chat_simple(*client_out, "[[emu:status=429;retry-after=0]] log test", &text);
    aoai_string_free(text);
    return st;
}

static void test_logging(const char *endpoint, const char *key) {
    AoaiClient *client = NULL;
    int32_t st;

    printf("# logging\n");
    logs.secret = key;
    check(aoai_set_log_callback(on_log, &logs, 5) == AOAI_STATUS_INVALID_ARGUMENT,
          "aoai_set_log_callback: max_level 5 is INVALID_ARGUMENT");
    check(aoai_set_log_callback(on_log, &logs, -1) == AOAI_STATUS_INVALID_ARGUMENT, "max_level -1 too");

    check(aoai_set_log_callback(on_log, &logs, 4) == AOAI_STATUS_OK, "log callback at debug level");
    reset_logs();
    st = failing_call(endpoint, key, &client);
    check(st == AOAI_STATUS_RATE_LIMITED, "the rate-limited call fails with RATE_LIMITED");
    check(aoai_error_attempts(aoai_last_error()) == 2, "after one retry (2 attempts)");
    aoai_client_free(client);
    client = NULL;
    pthread_mutex_lock(&log_lock);
    printf("#   %d messages (error %d, warn %d, info %d, debug %d); last: %s\n", logs.count, logs.by_level[1],
           logs.by_level[2], logs.by_level[3], logs.by_level[4], logs.last);
    check(logs.by_level[3] >= 2, "info messages: client created, retrying");
    check(logs.by_level[4] >= 1, "a debug message for the failed call");
    check(logs.bad_level == 0, "levels are 1..4 and user_data comes back");
    check(logs.leaked == 0, "no message contains the API key");
    pthread_mutex_unlock(&log_lock);

    check(aoai_set_log_callback(on_log, &logs, 2) == AOAI_STATUS_OK, "log callback at warn level");
    reset_logs();
    (void)failing_call(endpoint, key, &client);
    aoai_client_free(client);
    client = NULL;
    pthread_mutex_lock(&log_lock);
    check(logs.by_level[3] == 0 && logs.by_level[4] == 0, "max_level 2: no info or debug messages");
    pthread_mutex_unlock(&log_lock);

    check(aoai_set_log_callback(on_log, &logs, 0) == AOAI_STATUS_OK, "max_level 0: off");
    reset_logs();
    (void)failing_call(endpoint, key, &client);
    aoai_client_free(client);
    client = NULL;
    pthread_mutex_lock(&log_lock);
    check(logs.count == 0, "off: the callback is not called");
    pthread_mutex_unlock(&log_lock);

    check(aoai_set_log_callback(NULL, NULL, 0) == AOAI_STATUS_OK, "NULL callback, level 0: logging off");
}

int main(int argc, char **argv) {
    const char *endpoint = env("AZURE_OPENAI_ENDPOINT");
    const char *key = env("AZURE_OPENAI_API_KEY");

    if (argc > 1 && strcmp(argv[1], "--log-env") == 0) {
        AoaiClient *client = NULL;
        int32_t st = failing_call(endpoint, key, &client);
        aoai_client_free(client);
        aoai_shutdown();
        printf("log-env call: %s\n", aoai_status_str(st));
        return st == AOAI_STATUS_RATE_LIMITED ? 0 : 1;
    }
    test_embeddings(endpoint, key);
    test_logging(endpoint, key);
    check(aoai_shutdown() == AOAI_STATUS_OK, "aoai_shutdown");
    return failed;
}
