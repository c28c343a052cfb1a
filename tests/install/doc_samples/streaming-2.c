/* Extracted from docs/streaming.md (code block 2) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdlib.h>
#include <string.h>
#include "aoai.h"

/* One line of NPC dialogue being generated. */
struct npc_line {
    AoaiOp *op;
    char text[2048];
    size_t len;
    int32_t state; /* AOAI_OP_* */
};

/* Starts generating without blocking the frame. */
AoaiStatus npc_line_start(struct npc_line *line, const AoaiClient *client, const char *prompt) {
    AoaiRequest *req = NULL;
    AoaiStatus st = aoai_chat_request_new(&req);
    memset(line, 0, sizeof *line);
    line->state = AOAI_OP_PENDING;
    if (st == AOAI_STATUS_OK) st = aoai_request_add_message(req, AOAI_ROLE_SYSTEM, "You are a terse innkeeper.");
    if (st == AOAI_STATUS_OK) st = aoai_request_add_message(req, AOAI_ROLE_USER, prompt);
    if (st == AOAI_STATUS_OK) st = aoai_request_set_max_tokens(req, 120);
    if (st == AOAI_STATUS_OK) st = aoai_client_start(client, req, AOAI_START_STREAM, NULL, NULL, &line->op);
    aoai_request_free(req); /* the operation has its own copy */
    return st;
}

/* Called once per frame: takes the text that arrived since the last frame. Never blocks. */
void npc_line_update(struct npc_line *line) {
    AoaiEvent *ev = NULL;
    if (line->op == NULL) return;
    while (aoai_op_next_event(line->op, &ev) == AOAI_STATUS_OK) {
        size_t n = 0;
        const char *t = aoai_event_text(ev, &n);
        if (aoai_event_kind(ev) == AOAI_EVENT_TEXT_DELTA && aoai_event_choice(ev) == 0 &&
            line->len + n < sizeof line->text) {
            memcpy(line->text + line->len, t, n); /* whole UTF-8 characters: safe to render */
            line->len += n;
            line->text[line->len] = '\0';
        }
        aoai_event_free(ev);
    }
    aoai_op_poll(line->op, &line->state);
}

/* The player walked away: stop at once (any thread may call this). */
void npc_line_skip(struct npc_line *line) {
    if (line->op != NULL) aoai_op_cancel(line->op);
}

/* When the line is no longer shown. Cancels it if it is still running. */
void npc_line_release(struct npc_line *line) {
    aoai_op_free(line->op);
    line->op = NULL;
}
