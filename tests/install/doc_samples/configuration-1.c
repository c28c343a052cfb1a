/* Extracted from docs/configuration.md (code block 1) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdio.h>
#include "aoai.h"

AoaiClient *make_client(const char *config_path) {
    AoaiOptions *opts = NULL;
    AoaiClient *client = NULL;
    char *described = NULL;
    AoaiStatus st = aoai_options_new(&opts);
    if (st == AOAI_STATUS_OK) st = aoai_options_load_json(opts, config_path);  /* the JSON layer */
    if (st == AOAI_STATUS_OK) st = aoai_options_set_total_timeout_ms(opts, 30000); /* wins */
    if (st == AOAI_STATUS_OK) st = aoai_client_new(opts, &client);            /* validates */
    aoai_options_free(opts);                                                  /* not consumed */
    if (st != AOAI_STATUS_OK) {
        fprintf(stderr, "aoai configuration: %s: %s\n", aoai_status_str(st), aoai_last_error_message());
        return NULL;
    }
    if (aoai_client_describe(client, &described) == AOAI_STATUS_OK) {
        puts(described); /* secrets redacted; "sources" says where each value came from */
        aoai_string_free(described);
    }
    return client;
}
