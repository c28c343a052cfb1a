/* Extracted from docs/logging.md (code block 1) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "aoai.h"

#define CONSOLE_LINES 64

/* A ring of console lines, written from any thread, drawn by the main thread. */
struct console {
    pthread_mutex_t lock;
    char lines[CONSOLE_LINES][256];
    unsigned next;
};

static void to_console(void *user_data, int32_t level, const char *message) {
    static const char *const names[] = {"?", "error", "warn", "info", "debug"};
    struct console *c = (struct console *)user_data;
    pthread_mutex_lock(&c->lock);
    snprintf(c->lines[c->next % CONSOLE_LINES], sizeof c->lines[0], "[aoai %s] %s",
             names[level >= 1 && level <= 4 ? level : 0], message);
    c->next++;
    pthread_mutex_unlock(&c->lock);
}

/* At start-up: route library logs up to `max_level` into the console. */
AoaiStatus console_attach(struct console *c, int32_t max_level) {
    return aoai_set_log_callback(to_console, c, max_level);
}

/* Before the console goes away. */
void console_detach(void) {
    aoai_set_log_callback(NULL, NULL, 0);
}
