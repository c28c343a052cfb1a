/* Extracted from docs/api-conventions.md (code block 1) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdio.h>
#include "aoai.h"

/* Prints everything aoai knows about the calling thread's last failure. */
void print_last_error(const char *what, AoaiStatus st) {
    const AoaiError *e = aoai_last_error(); /* never NULL; owned by this thread's slot */
    const char *code = aoai_error_code(e, NULL);
    const char *request_id = aoai_error_request_id(e, NULL);
    fprintf(stderr, "%s: %s (status %d, HTTP %d, code %s, request id %s): %s\n", what, aoai_status_str(st),
            (int)st, (int)aoai_error_http_status(e), code ? code : "-", request_id ? request_id : "-",
            aoai_error_message(e, NULL));
    if (st == AOAI_STATUS_RATE_LIMITED && aoai_error_retry_after_ms(e) >= 0)
        fprintf(stderr, "  the service asks to wait %lld ms\n", (long long)aoai_error_retry_after_ms(e));
    if (st == AOAI_STATUS_CONTENT_FILTERED)
        fprintf(stderr, "  filtered: %s\n", aoai_error_filtered_categories(e, NULL));
}
