/* SPDX-License-Identifier: MIT
 *
 * game-loop: how a game or desktop engine uses aoai without ever blocking its main thread.
 *
 * A fixed 60 Hz loop (16.67 ms frames, clock_gettime + nanosleep) starts three streaming
 * chats with aoai_client_start(..., AOAI_START_STREAM, NULL, NULL, &op). Every frame it drains
 * each operation's queued events with aoai_op_next_event (AOAI_STATUS_EMPTY: nothing right
 * now) and checks its state with aoai_op_poll; neither call ever blocks. Once stream 1 has
 * shown some text, the "player" skips it: aoai_op_cancel stops it at once (the connection is
 * closed). At the end it prints each stream's text length and final state, and the worst
 * frame work time it saw (the sleep excluded):
 *
 *   stream 0: 87 bytes, DONE (finish: stop)
 *   stream 1: 23 bytes, CANCELLED (cancelled: the operation was cancelled)
 *   stream 2: 91 bytes, DONE (finish: stop)
 *   worst frame: 0.41 ms over 52 frames
 *
 * Configuration comes from the environment (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY,
 * AZURE_OPENAI_DEPLOYMENT_NAME, ...). Against the local emulator (an http://127.0.0.1 or
 * http://localhost endpoint, or --emulator) the prompts carry `[[emu:chunk-delay-ms=20]]` so
 * the streams last a few hundred milliseconds, as real ones do.
 *
 * Exit status: 0 when streams 0 and 2 finished and stream 1 was cancelled, else 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aoai.h"

#define STREAMS 3
#define CANCELLED_STREAM 1
#define FRAME_NS 16666667L            /* 60 Hz */
#define MAX_FRAMES (60 * 120)         /* give up after two minutes */
#define CANCEL_AFTER_BYTES 16         /* "some text" before the player skips stream 1 */

struct stream {
    AoaiOp *op;
    char *text; /* the text of choice 0 so far */
    size_t len, cap;
    int state; /* AOAI_OP_* once known */
    int cancel_sent;
    char finish[32];
};

static const char *const PROMPTS[STREAMS] = {
    "Describe the village blacksmith in two sentences.",
    "Tell a long story about the old lighthouse keeper and the storm.",
    "Give the player a hint about the locked door.",
};

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t deadline_ns) {
    for (;;) {
        int64_t left = deadline_ns - now_ns();
        struct timespec ts;
        if (left <= 0) return;
        ts.tv_sec = (time_t)(left / 1000000000);
        ts.tv_nsec = (long)(left % 1000000000);
        if (nanosleep(&ts, NULL) == 0) return;
        if (errno != EINTR) return;
    }
}

static const char *state_name(int state) {
    switch (state) {
    case AOAI_OP_PENDING: return "PENDING";
    case AOAI_OP_DONE: return "DONE";
    case AOAI_OP_FAILED: return "FAILED";
    case AOAI_OP_CANCELLED: return "CANCELLED";
    default: return "?";
    }
}

static int append(struct stream *s, const char *t, size_t n) {
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        char *p;
        while (cap < s->len + n + 1) cap *= 2;
        p = (char *)realloc(s->text, cap);
        if (p == NULL) return -1;
        s->text = p;
        s->cap = cap;
    }
    memcpy(s->text + s->len, t, n);
    s->len += n;
    s->text[s->len] = '\0';
    return 0;
}

/* Drains the queued events of one stream (never blocks). */
static void drain(struct stream *s) {
    AoaiEvent *ev = NULL;
    while (aoai_op_next_event(s->op, &ev) == AOAI_STATUS_OK) {
        int32_t kind = aoai_event_kind(ev);
        size_t n = 0;
        const char *t = aoai_event_text(ev, &n);
        if (kind == AOAI_EVENT_TEXT_DELTA && aoai_event_choice(ev) == 0 && t != NULL) append(s, t, n);
        if (kind == AOAI_EVENT_FINISH && t != NULL) snprintf(s->finish, sizeof s->finish, "%s", t);
        aoai_event_free(ev);
        ev = NULL;
    }
}

static int is_emulator(int argc, char **argv) {
    const char *ep = getenv("AZURE_OPENAI_ENDPOINT");
    int i;
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--emulator") == 0) return 1;
    return ep != NULL && (strncmp(ep, "http://127.0.0.1", 16) == 0 || strncmp(ep, "http://localhost", 16) == 0);
}

/* Builds the chat request of stream `i`. */
static int32_t make_request(int i, int emulator, AoaiRequest **req_out) {
    char prompt[512];
    AoaiRequest *req = NULL;
    int32_t st = aoai_chat_request_new(&req);
    if (st != AOAI_STATUS_OK) return st;
    if (emulator)
        /* Stream 1 gets a long reply so that it is still running when it is cancelled. */
        snprintf(prompt, sizeof prompt, "[[emu:chunk-delay-ms=20%s]] %s",
                 i == CANCELLED_STREAM ? ";reply=Once upon a time the keeper climbed the stairs of the old "
                                         "lighthouse every night and lit the great lamp while the storm "
                                         "gathered far out at sea and the ships"
                                       : "",
                 PROMPTS[i]);
    else
        snprintf(prompt, sizeof prompt, "%s", PROMPTS[i]);
    st = aoai_request_add_message(req, AOAI_ROLE_SYSTEM, "You are a terse game narrator.");
    if (st == AOAI_STATUS_OK) st = aoai_request_add_message(req, AOAI_ROLE_USER, prompt);
    if (st == AOAI_STATUS_OK) st = aoai_request_set_max_tokens(req, 120);
    if (st != AOAI_STATUS_OK) {
        aoai_request_free(req);
        return st;
    }
    *req_out = req;
    return AOAI_STATUS_OK;
}

int main(int argc, char **argv) {
    struct stream streams[STREAMS];
    AoaiClient *client = NULL;
    int emulator = is_emulator(argc, argv);
    double worst_ms = 0.0;
    long frames = 0;
    int64_t next_frame;
    int i, running = 0, ok = 1, failed_start = 0;
    int32_t st;

    memset(streams, 0, sizeof streams);
    st = aoai_client_from_env(&client);
    if (st != AOAI_STATUS_OK) {
        fprintf(stderr, "game-loop: error: %s: %s\n", aoai_status_str(st), aoai_last_error_message());
        aoai_shutdown();
        return 1;
    }
    printf("game-loop: %d streams at 60 Hz%s\n", STREAMS, emulator ? " (emulator)" : "");
    fflush(stdout);

    next_frame = now_ns();
    for (frames = 0; frames < MAX_FRAMES; frames++) {
        int64_t start = now_ns();
        double work_ms;

        if (frames == 0) {
            /* Starting never blocks: the calls run on the library's threads. */
            for (i = 0; i < STREAMS; i++) {
                AoaiRequest *req = NULL;
                st = make_request(i, emulator, &req);
                if (st == AOAI_STATUS_OK)
                    st = aoai_client_start(client, req, AOAI_START_STREAM, NULL, NULL, &streams[i].op);
                aoai_request_free(req); /* the operation has its own copy */
                if (st != AOAI_STATUS_OK) {
                    fprintf(stderr, "game-loop: stream %d did not start: %s: %s\n", i, aoai_status_str(st),
                            aoai_last_error_message());
                    failed_start = 1;
                    continue;
                }
                streams[i].state = AOAI_OP_PENDING;
            }
        }

        /* The per-frame work: drain events, poll states, maybe cancel. */
        running = 0;
        for (i = 0; i < STREAMS; i++) {
            struct stream *s = &streams[i];
            int32_t state = AOAI_OP_PENDING;
            if (s->op == NULL) continue;
            drain(s);
            if (aoai_op_poll(s->op, &state) == AOAI_STATUS_OK) s->state = state;
            if (i == CANCELLED_STREAM && !s->cancel_sent && s->state == AOAI_OP_PENDING &&
                s->len >= CANCEL_AFTER_BYTES) {
                aoai_op_cancel(s->op); /* the player skipped this one */
                s->cancel_sent = 1;
            }
            if (s->state == AOAI_OP_PENDING) running++;
        }
        work_ms = (double)(now_ns() - start) / 1e6;
        if (work_ms > worst_ms) worst_ms = work_ms;

        /* Rendering would happen here. */
        if (running == 0) {
            frames++;
            break;
        }
        next_frame += FRAME_NS;
        sleep_until(next_frame);
    }
    if (running > 0) {
        fprintf(stderr, "game-loop: streams still running after %ld frames: cancelling them\n", frames);
        ok = 0;
    }

    for (i = 0; i < STREAMS; i++) {
        struct stream *s = &streams[i];
        if (s->op == NULL) {
            printf("stream %d: not started\n", i);
            continue;
        }
        drain(s); /* events that arrived after the last frame */
        printf("stream %d: %lu bytes, %s", i, (unsigned long)s->len, state_name(s->state));
        if (s->state == AOAI_OP_DONE) {
            printf(" (finish: %s)\n", s->finish[0] ? s->finish : "?");
        } else {
            const AoaiError *err = aoai_op_error(s->op); /* owned by the operation */
            printf(" (%s: %s)\n", err ? aoai_status_str(aoai_error_status(err)) : "-",
                   err ? aoai_error_message(err, NULL) : "-");
        }
        if (i == CANCELLED_STREAM ? s->state != AOAI_OP_CANCELLED : s->state != AOAI_OP_DONE) ok = 0;
        if (s->len == 0) ok = 0;
        aoai_op_free(s->op); /* cancels if still running */
        free(s->text);
    }
    printf("worst frame: %.2f ms over %ld frames\n", worst_ms, frames);
    fflush(stdout);

    aoai_client_free(client);
    aoai_shutdown();
    return ok && !failed_start ? 0 : 1;
}
