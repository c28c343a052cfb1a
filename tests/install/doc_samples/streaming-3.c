/* Extracted from docs/streaming.md (code block 3) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdio.h>
#include "aoai.h"

/* After aoai_op_poll said FAILED or CANCELLED: report, and keep the partial text. */
void report_failed_op(AoaiOp *op) {
    const AoaiError *err = aoai_op_error(op); /* owned by op, valid until aoai_op_free */
    AoaiResponse *partial = NULL;
    fprintf(stderr, "generation ended: %s: %s\n", aoai_status_str(aoai_error_status(err)),
            aoai_error_message(err, NULL));
    if (aoai_op_take_partial_response(op, &partial) == AOAI_STATUS_OK) {
        const char *text = aoai_response_text(partial, 0, NULL);
        fprintf(stderr, "kept: %s\n", text ? text : "");
        aoai_response_free(partial);
    }
}
