/* Extracted from docs/migration.md (code block 1) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include "aoai.h"

AoaiStatus client_like_python(AoaiClient **client_out) {
    /* The key comes from AZURE_OPENAI_API_KEY, as in Python. */
    return aoai_client_from_json("{\"azure_endpoint\": \"https://my-resource.openai.azure.com\","
                                 " \"azure_deployment\": \"gpt-4o\", \"api_version\": \"2024-10-21\","
                                 " \"max_retries\": 3, \"total_timeout_ms\": 30000,"
                                 " \"defaults\": {\"temperature\": 0.2}}",
                                 client_out);
}
