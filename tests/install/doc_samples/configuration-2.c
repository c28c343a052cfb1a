/* Extracted from docs/configuration.md (code block 2) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include "aoai.h"

AoaiStatus local_server_client(AoaiClient **client_out) {
    return aoai_client_from_json("{\"api_type\": \"openai\", \"base_url\": \"http://127.0.0.1:11434/v1\","
                                 " \"api_key\": \"local\", \"deployment\": \"llama3.1\", \"environment\": false}",
                                 client_out);
}
