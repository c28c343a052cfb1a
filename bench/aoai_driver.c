/* SPDX-License-Identifier: MIT
 *
 * bench/aoai_driver.c: the bench cases through aoai's C ABI (include/aoai.h only), doing what
 * an application does per call: build a typed request (system + user message, max_tokens,
 * temperature), send it, read choices[0]'s text (or the text deltas of a stream) and check it
 * against the server's expected text, free everything.
 *
 * In-flight cases use the non-blocking API (aoai_client_start with a notify callback that
 * only queues the slot; one application thread drains the queue), never a thread per call.
 *
 * Usage: aoai_driver CASE PORT ROUND
 *   CASE: seq | inflight | stream-paced | stream-oneshot | stream-paced-op |
 *         stream-oneshot-op | mem | startup | startup-child
 */
#include "common.h"

#include <pthread.h>

#include "aoai.h"

static void ck(AoaiStatus st, const char *what) {
    if (st != AOAI_STATUS_OK) bench_die("aoai: %s failed: %d %s", what, (int)st, aoai_last_error_message());
}

static char *g_expect_chat, *g_expect_stream;
static size_t g_expect_chat_len, g_expect_stream_len;

static AoaiClient *make_client(int port, const char *xbench) {
    AoaiOptions *o = NULL;
    AoaiClient *c = NULL;
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    ck(aoai_options_new(&o), "options_new");
    ck(aoai_options_set_use_environment(o, 0), "use_environment");
    ck(aoai_options_set_endpoint(o, ep), "set_endpoint");
    ck(aoai_options_set_api_key(o, "bench-key"), "set_api_key");
    ck(aoai_options_set_deployment(o, "gpt-4o"), "set_deployment");
    if (xbench) ck(aoai_options_add_header(o, "x-bench", xbench), "add_header");
    ck(aoai_client_new(o, &c), "client_new");
    aoai_options_free(o);
    return c;
}

static AoaiRequest *make_request(int stream) {
    AoaiRequest *r = NULL;
    ck(aoai_chat_request_new(&r), "chat_request_new");
    ck(aoai_request_add_message(r, AOAI_ROLE_SYSTEM, BENCH_SYSTEM), "add_message");
    ck(aoai_request_add_message(r, AOAI_ROLE_USER, BENCH_USER), "add_message");
    ck(aoai_request_set_max_tokens(r, 256), "set_max_tokens");
    ck(aoai_request_set_temperature(r, 0.2), "set_temperature");
    if (stream) ck(aoai_request_set_stream_include_usage(r, 1), "set_stream_include_usage");
    return r;
}

static void check_response(AoaiResponse *resp) {
    size_t len = 0;
    const char *t = aoai_response_text(resp, 0, &len);
    if (!t) bench_die("aoai: no text in choice 0");
    bench_check("aoai chat", t, len, g_expect_chat, g_expect_chat_len);
}

static void one_call(AoaiClient *c) {
    AoaiRequest *r = make_request(0);
    AoaiResponse *resp = NULL;
    ck(aoai_client_send(c, r, &resp), "client_send");
    check_response(resp);
    aoai_response_free(resp);
    aoai_request_free(r);
}

/* ---- streams ---------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    long events;
} text_t;

static void text_add(text_t *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1) cap *= 2;
        t->p = realloc(t->p, cap);
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void on_event(text_t *t, const AoaiEvent *ev) {
    t->events++;
    if (aoai_event_kind(ev) == 1 /* AOAI_EVENT_TEXT_DELTA */) {
        size_t n = 0;
        const char *s = aoai_event_text(ev, &n);
        if (!s) bench_die("aoai: text delta without text");
        text_add(t, s, n);
    }
}

static int32_t stream_cb(void *ud, const AoaiEvent *ev) {
    on_event(ud, ev);
    return AOAI_CONTINUE;
}

/* One stream through the blocking callback API; returns the events delivered. */
static long one_stream(AoaiClient *c) {
    AoaiRequest *r = make_request(1);
    text_t t = {0};
    ck(aoai_client_stream(c, r, stream_cb, &t, NULL), "client_stream");
    bench_check("aoai stream", t.p ? t.p : "", t.len, g_expect_stream, g_expect_stream_len);
    aoai_request_free(r);
    free(t.p);
    return t.events;
}

/* One stream through the non-blocking API (what a game loop or a binding does). */
static long one_stream_op(AoaiClient *c) {
    AoaiRequest *r = make_request(1);
    AoaiOp *op = NULL;
    text_t t = {0};
    ck(aoai_client_start(c, r, AOAI_START_STREAM, NULL, NULL, &op), "client_start");
    aoai_request_free(r);
    for (;;) {
        AoaiEvent *ev = NULL;
        AoaiStatus st;
        while ((st = aoai_op_next_event(op, &ev)) == AOAI_STATUS_OK) {
            on_event(&t, ev);
            aoai_event_free(ev);
        }
        if (st != AOAI_STATUS_EMPTY) ck(st, "op_next_event");
        int32_t state = 0;
        ck(aoai_op_poll(op, &state), "op_poll");
        if (state != 0 /* AOAI_OP_PENDING */) {
            /* drain what was queued before the end */
            while (aoai_op_next_event(op, &ev) == AOAI_STATUS_OK) {
                on_event(&t, ev);
                aoai_event_free(ev);
            }
            if (state != 1 /* AOAI_OP_DONE */)
                bench_die("aoai: stream op ended in state %d: %s", state,
                          aoai_error_message(aoai_op_error(op), NULL));
            break;
        }
        ck(aoai_op_wait_event(op, -1), "op_wait_event");
    }
    aoai_op_free(op);
    bench_check("aoai stream (op)", t.p ? t.p : "", t.len, g_expect_stream, g_expect_stream_len);
    free(t.p);
    return t.events;
}

/* ---- many calls in flight on one application thread ------------------------------------- */

typedef struct {
    AoaiOp *op;
} slot_t;

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static int *q_ring;
static size_t q_cap, q_head, q_tail; /* ring of slot indices */
static slot_t *g_slots;

/* Notify callback (a library worker thread): only queue the slot and signal. */
static void on_notify(void *ud, AoaiOp *op) {
    (void)op;
    pthread_mutex_lock(&q_mu);
    if (q_tail - q_head < q_cap) q_ring[q_tail++ % q_cap] = (int)(intptr_t)ud;
    pthread_cond_signal(&q_cv);
    pthread_mutex_unlock(&q_mu);
}

static int q_pop(void) {
    pthread_mutex_lock(&q_mu);
    while (q_head == q_tail) pthread_cond_wait(&q_cv, &q_mu);
    int i = q_ring[q_head++ % q_cap];
    pthread_mutex_unlock(&q_mu);
    return i;
}

static void start_slot(AoaiClient *c, int i) {
    AoaiRequest *r = make_request(0);
    ck(aoai_client_start(c, r, 0, on_notify, (void *)(intptr_t)i, &g_slots[i].op), "client_start");
    aoai_request_free(r);
}

/* Runs `n` calls with `k` in flight; returns when all are checked and freed. */
static void run_inflight(AoaiClient *c, long n, int k) {
    g_slots = calloc((size_t)k, sizeof *g_slots);
    q_cap = (size_t)k * 4;
    q_ring = calloc(q_cap, sizeof *q_ring);
    q_head = q_tail = 0;
    long started = 0, done = 0;
    for (int i = 0; i < k && started < n; i++, started++) start_slot(c, i);
    while (done < n) {
        int i = q_pop();
        slot_t *sl = &g_slots[i];
        if (!sl->op) continue; /* a duplicate notification */
        int32_t state = 0;
        ck(aoai_op_poll(sl->op, &state), "op_poll");
        if (state == 0) continue; /* spurious: still pending */
        if (state != 1)
            bench_die("aoai: op ended in state %d: %s", state, aoai_error_message(aoai_op_error(sl->op), NULL));
        AoaiResponse *resp = NULL;
        ck(aoai_op_take_response(sl->op, &resp), "op_take_response");
        check_response(resp);
        aoai_response_free(resp);
        aoai_op_free(sl->op);
        sl->op = NULL;
        done++;
        if (started < n) {
            start_slot(c, i);
            started++;
        }
    }
    free(g_slots);
    free(q_ring);
}

int main(int argc, char **argv) {
    if (argc < 4) bench_die("usage: aoai_driver CASE PORT ROUND");
    const char *cas = argv[1];
    int port = atoi(argv[2]);
    int round = atoi(argv[3]);
    bench_raise_nofile();

    if (!strcmp(cas, "startup")) {
        bench_startup_case(argv, "aoai", round);
        return 0;
    }
    if (!strcmp(cas, "startup-child")) {
        AoaiClient *c = make_client(port, NULL);
        AoaiRequest *r = make_request(0);
        AoaiResponse *resp = NULL;
        ck(aoai_client_send(c, r, &resp), "client_send");
        bench_first_byte();
        /* verified after the clock stopped */
        g_expect_chat = bench_get(port, "/_expect/chat", &g_expect_chat_len);
        check_response(resp);
        aoai_response_free(resp);
        aoai_request_free(r);
        aoai_client_free(c);
        return 0;
    }

    g_expect_chat = bench_get(port, "/_expect/chat", &g_expect_chat_len);
    g_expect_stream = bench_get(port, "/_expect/stream?events=500", &g_expect_stream_len);
    const char *gap = getenv("BENCH_GAP_US");
    char xb[128] = {0};
    int paced = !strncmp(cas, "stream-paced", 12), oneshot = !strncmp(cas, "stream-oneshot", 14);
    if (paced)
        snprintf(xb, sizeof xb, "mode=paced,events=500,gap-us=%s", gap ? gap : "100");
    else if (oneshot)
        snprintf(xb, sizeof xb, "mode=oneshot,events=500");
    else if (!strcmp(cas, "mem"))
        snprintf(xb, sizeof xb, "hold=%d", bench_mem_calls());
    const char *impl = "aoai";
    bench_section_t s;

    if (!strcmp(cas, "mem")) {
        /* the client is part of the measured memory, as curl's multi handle is */
        bench_begin(&s, port);
        AoaiClient *c = make_client(port, xb);
        run_inflight(c, bench_mem_calls(), bench_mem_calls());
        bench_end(&s);
        long hwm = bench_status_kb("VmHWM");
        char extra[96];
        snprintf(extra, sizeof extra, "threads=%ld", bench_status_kb("Threads"));
        bench_result(cas, impl, round, (double)hwm / 1024.0, "MiB", 0, bench_mem_calls(), s.cpu, s.wall_us, extra);
        aoai_client_free(c);
        return 0;
    }

    AoaiClient *c = make_client(port, xb[0] ? xb : NULL);
    if (!strcmp(cas, "seq")) {
        long n = bench_scaled(2000);
        for (int i = 0; i < 100; i++) one_call(c);
        bench_begin(&s, port);
        for (long i = 0; i < n; i++) one_call(c);
        bench_end(&s);
        bench_result(cas, impl, round, s.cpu / (double)n, "us/call", s.srv / (double)n, n, s.cpu,
                     s.wall_us, NULL);
    } else if (!strcmp(cas, "inflight")) {
        long n = bench_scaled(4000);
        run_inflight(c, 128, 64); /* warm-up: open the 64 connections */
        bench_begin(&s, port);
        run_inflight(c, n, 64);
        bench_end(&s);
        /* µs per call == ms per 1 000 calls */
        bench_result(cas, impl, round, s.cpu / (double)n, "ms/1000calls", s.srv / (double)n, n, s.cpu,
                     s.wall_us, NULL);
    } else if (paced || oneshot) {
        int op = strstr(cas, "-op") != NULL;
        long streams = bench_scaled(paced ? 10 : 40);
        long events = 0;
        if (op) {
            impl = "aoai-op";
            one_stream_op(c);
        } else {
            one_stream(c);
        }
        bench_begin(&s, port);
        for (long i = 0; i < streams; i++) events += op ? one_stream_op(c) : one_stream(c);
        bench_end(&s);
        /* aoai delivers typed events (prompt filter, text deltas, finish, usage), not raw SSE
         * events: the per-event figure divides by the SSE events on the wire, as for curl. */
        long wire = streams * 500;
        char extra[96];
        snprintf(extra, sizeof extra, "typed_events=%ld wall_us_per_event=%.1f", events,
                 s.wall_us / (double)wire);
        bench_result(paced ? "stream-paced" : "stream-oneshot", impl, round, s.cpu / (double)wire,
                     "us/event", s.srv / (double)wire, wire, s.cpu, s.wall_us, extra);
    } else {
        bench_die("unknown case '%s'", cas);
    }
    aoai_client_free(c);
    return 0;
}
