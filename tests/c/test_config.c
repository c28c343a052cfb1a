/* SPDX-License-Identifier: MIT
 *
 * Configuration from C: options without the environment, JSON text and file, the
 * precedence explicit > JSON > environment, describe (no secret, shows the endpoint and
 * deployment) and every validation error, each with a message that names the problem. */
#include "harness.h"

/* Environment variables the library reads: cleared in this process so the caller's real
 * configuration cannot change what the tests see. */
static const char *const LIB_ENV[] = {
    "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN",
    "AZURE_OPENAI_DEPLOYMENT_NAME", "AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION",
    "OPENAI_API_TYPE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE",
    "OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID", NULL};

static void clear_env(void) {
    int i;
    for (i = 0; LIB_ENV[i] != NULL; i++) unsetenv(LIB_ENV[i]);
}

/* describe of a client, as an owned string (NULL on failure). */
static char *describe(const AoaiClient *c) {
    char *d = NULL;
    if (aoai_client_describe(c, &d) != AOAI_STATUS_OK) return NULL;
    return d;
}

/* The deployment a client uses and its source ("option", "json", "env:..."). */
static void deployment_of(const AoaiClient *c, char *dep, char *src, size_t cap) {
    char *d = describe(c);
    dep[0] = src[0] = '\0';
    if (d == NULL) return;
    json_str(d, "deployment", dep, cap);
    json_str(json_after_key(d, "sources"), "deployment", src, cap);
    aoai_string_free(d);
}

/* Makes a client from `o`; on failure checks the status and that the message names `word`. */
static void expect_config_error(AoaiOptions *o, int32_t status, const char *word) {
    AoaiClient *c = NULL;
    CHECK_FAILS(aoai_client_new(o, &c), status, word);
    CHECK(c == NULL);
    aoai_client_free(c);
}

static void test_options_without_environment(void) {
    AoaiOptions *o = emu_options();
    AoaiClient *c = NULL;
    char *d, buf[256];
    char *text = NULL;

    section("options without environment");
    /* A real-looking environment that must be ignored. */
    setenv("AZURE_OPENAI_ENDPOINT", "https://must-not-be-used.openai.azure.com", 1);
    setenv("AZURE_OPENAI_DEPLOYMENT_NAME", "from-env", 1);
    CHECK(o != NULL);
    CHECK_OK(aoai_client_new(o, &c));
    aoai_options_free(o); /* the client does not need the options any more */
    d = describe(c);
    CHECK(d != NULL);
    json_str(d, "endpoint", buf, sizeof buf);
    CHECK_STR(buf, emu_url());
    json_str(d, "deployment", buf, sizeof buf);
    CHECK_STR(buf, "gpt-4o");
    json_str(d, "api_type", buf, sizeof buf);
    CHECK_STR(buf, "azure");
    json_str(d, "api_version", buf, sizeof buf);
    CHECK_STR(buf, "2024-10-21");
    CHECK_CONTAINS(d, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
    CHECK_NOT_CONTAINS(d, EMU_KEY);
    CHECK_NOT_CONTAINS(d, "must-not-be-used");
    CHECK_CONTAINS(d, "<redacted>");
    aoai_string_free(d);
    CHECK_OK(aoai_chat_simple(c, "configured without the environment", &text));
    CHECK_STR(text, "Hello from the aoai emulator! You said: configured without the environment");
    aoai_string_free(text);
    aoai_client_free(c);
    clear_env();
}

static void test_json_config(void) {
    char json[512], path[] = "/tmp/aoai-c-config-XXXXXX";
    char dep[64], src[64];
    AoaiClient *c = NULL;
    AoaiOptions *o = NULL;
    AoaiResponse *resp = NULL;
    AoaiRequest *req = NULL;
    char *d;
    FILE *f;
    int fd;

    section("JSON config text and file");
    snprintf(json, sizeof json,
             "{\"endpoint\": \"%s\", \"api_key\": \"" EMU_KEY "\", \"deployment\": \"gpt-4o-mini\","
             " \"environment\": false, \"max_retries\": 0, \"headers\": {\"x-test-header\": \"c-tests\"}}",
             emu_url());

    /* Text, through aoai_client_from_json. */
    CHECK_OK(aoai_client_from_json(json, &c));
    deployment_of(c, dep, src, sizeof dep);
    CHECK_STR(dep, "gpt-4o-mini");
    CHECK_STR(src, "json");
    d = describe(c);
    CHECK_INT(json_int(d, "max_retries", -1), 0);
    CHECK_CONTAINS(d, "x-test-header");
    CHECK_NOT_CONTAINS(d, EMU_KEY);
    aoai_string_free(d);
    CHECK_OK(aoai_chat_request_new(&req));
    CHECK_OK(aoai_request_add_message(req, AOAI_ROLE_USER, "json config"));
    CHECK_OK(aoai_client_send(c, req, &resp));
    CHECK_STR(aoai_response_model(resp, NULL), "gpt-4o-mini-2024-07-18");
    aoai_response_free(resp);
    aoai_request_free(req);
    aoai_client_free(c);
    c = NULL;

    /* A file, through aoai_options_load_json. */
    fd = mkstemp(path);
    CHECK(fd >= 0);
    f = fdopen(fd, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs(json, f);
        fclose(f);
    }
    CHECK_OK(aoai_options_new(&o));
    CHECK_OK(aoai_options_load_json(o, path));
    CHECK_OK(aoai_client_new(o, &c));
    deployment_of(c, dep, src, sizeof dep);
    CHECK_STR(dep, "gpt-4o-mini");
    CHECK_STR(src, "json");
    aoai_client_free(c);
    c = NULL;
    aoai_options_free(o);
    unlink(path);

    /* Errors of the JSON layer. */
    CHECK_OK(aoai_options_new(&o));
    CHECK_FAILS(aoai_options_load_json(o, "{\"endpoint\": \"http://127.0.0.1:1\", \"bogus_key\": 1}"),
                AOAI_STATUS_INVALID_CONFIG, "bogus_key");
    CHECK_FAILS(aoai_options_load_json(o, "{not json"), AOAI_STATUS_INVALID_JSON, "JSON");
    CHECK_FAILS(aoai_options_load_json(o, "/nonexistent/aoai-config.json"), AOAI_STATUS_INVALID_CONFIG,
                "/nonexistent/aoai-config.json");
    CHECK_FAILS(aoai_options_load_json(o, "{\"max_retries\": \"two\"}"), AOAI_STATUS_INVALID_JSON,
                "max_retries");
    aoai_options_free(o);
    CHECK_FAILS(aoai_client_from_json("{\"environment\": false, \"endpoint\": \"http://127.0.0.1:1\","
                                      " \"api_key\": \"k\", \"colour\": \"blue\"}",
                                      &c),
                AOAI_STATUS_INVALID_CONFIG, "colour");
    CHECK(c == NULL);
}

static void test_precedence(void) {
    char json[512], dep[64], src[64];
    AoaiOptions *o = NULL;
    AoaiClient *c = NULL;
    char *text = NULL;

    section("precedence: explicit > JSON > environment");
    clear_env();
    setenv("AZURE_OPENAI_ENDPOINT", emu_url(), 1);
    setenv("AZURE_OPENAI_API_KEY", EMU_KEY, 1);
    setenv("AZURE_OPENAI_DEPLOYMENT_NAME", "o1", 1);
    snprintf(json, sizeof json, "{\"deployment\": \"gpt-4o-mini\"}");

    /* All three layers: the explicit option wins. */
    CHECK_OK(aoai_options_new(&o));
    CHECK_OK(aoai_options_load_json(o, json));
    CHECK_OK(aoai_options_set_deployment(o, "gpt-4o"));
    CHECK_OK(aoai_client_new(o, &c));
    deployment_of(c, dep, src, sizeof dep);
    CHECK_STR(dep, "gpt-4o");
    CHECK_STR(src, "option");
    aoai_client_free(c);
    c = NULL;

    /* The explicit option cleared (NULL): the JSON layer wins over the environment. */
    CHECK_OK(aoai_options_set_deployment(o, NULL));
    CHECK_OK(aoai_client_new(o, &c));
    deployment_of(c, dep, src, sizeof dep);
    CHECK_STR(dep, "gpt-4o-mini");
    CHECK_STR(src, "json");
    aoai_client_free(c);
    c = NULL;
    aoai_options_free(o);

    /* Only the environment: the endpoint, key and deployment all come from it. */
    CHECK_OK(aoai_options_new(&o));
    CHECK_OK(aoai_client_new(o, &c));
    deployment_of(c, dep, src, sizeof dep);
    CHECK_STR(dep, "o1");
    CHECK_STR(src, "env:AZURE_OPENAI_DEPLOYMENT_NAME");
    aoai_client_free(c);
    c = NULL;
    aoai_options_free(o);

    /* aoai_client_from_env reads the same variables, and the call reaches the emulator. */
    setenv("AZURE_OPENAI_DEPLOYMENT_NAME", "gpt-4o", 1);
    CHECK_OK(aoai_client_from_env(&c));
    CHECK_OK(aoai_chat_simple(c, "from the environment", &text));
    CHECK_STR(text, "Hello from the aoai emulator! You said: from the environment");
    aoai_string_free(text);
    aoai_client_free(c);
    c = NULL;

    /* Explicit options beat the environment for the endpoint too: a wrong key in the
     * environment is overridden by the explicit key (the call succeeds). */
    setenv("AZURE_OPENAI_API_KEY", "wrong-key", 1);
    CHECK_OK(aoai_options_new(&o));
    CHECK_OK(aoai_options_set_api_key(o, EMU_KEY));
    CHECK_OK(aoai_client_new(o, &c));
    text = NULL;
    CHECK_OK(aoai_chat_simple(c, "explicit key", &text));
    CHECK_STR(text, "Hello from the aoai emulator! You said: explicit key");
    aoai_string_free(text);
    aoai_client_free(c);
    aoai_options_free(o);
    clear_env();
}

static void test_validation(void) {
    char url[256];
    AoaiOptions *o = NULL;
    AoaiClient *c = NULL;
    char *d, buf[256], *text = NULL;

    section("validation errors");
    clear_env();

    /* Nothing configured at all. */
    CHECK_OK(aoai_options_new(&o));
    CHECK_OK(aoai_options_set_use_environment(o, 0));
    expect_config_error(o, AOAI_STATUS_INVALID_CONFIG, "endpoint");
    /* Azure chosen, a key, but no endpoint. */
    CHECK_OK(aoai_options_set_api_type(o, AOAI_API_AZURE));
    CHECK_OK(aoai_options_set_api_key(o, EMU_KEY));
    expect_config_error(o, AOAI_STATUS_INVALID_CONFIG, "endpoint");
    aoai_options_free(o);

    /* An endpoint but no key. */
    CHECK_OK(aoai_options_new(&o));
    CHECK_OK(aoai_options_set_use_environment(o, 0));
    CHECK_OK(aoai_options_set_endpoint(o, emu_url()));
    expect_config_error(o, AOAI_STATUS_INVALID_CONFIG, "api_key");

    /* Unknown api type: as a number (setter) and as a word (JSON). */
    CHECK_FAILS(aoai_options_set_api_type(o, 42), AOAI_STATUS_INVALID_ARGUMENT, "api_type");
    CHECK_OK(aoai_options_set_api_key(o, EMU_KEY));
    CHECK_OK(aoai_options_load_json(o, "{\"api_type\": \"banana\"}"));
    expect_config_error(o, AOAI_STATUS_INVALID_CONFIG, "banana");
    aoai_options_free(o);

    /* An endpoint with a path. */
    o = emu_options();
    snprintf(url, sizeof url, "%s/some/path", emu_url());
    CHECK_OK(aoai_options_set_endpoint(o, url));
    expect_config_error(o, AOAI_STATUS_INVALID_CONFIG, "/some/path");

    /* A trailing slash is normalised away, and the client works. */
    snprintf(url, sizeof url, "%s/", emu_url());
    CHECK_OK(aoai_options_set_endpoint(o, url));
    CHECK_OK(aoai_client_new(o, &c));
    d = describe(c);
    json_str(d, "endpoint", buf, sizeof buf);
    CHECK_STR(buf, emu_url());
    CHECK_CONTAINS(d, "127.0.0.1");
    CHECK_NOT_CONTAINS(d, "//openai");
    aoai_string_free(d);
    CHECK_OK(aoai_chat_simple(c, "slash", &text));
    CHECK_STR(text, "Hello from the aoai emulator! You said: slash");
    aoai_string_free(text);
    aoai_client_free(c);
    c = NULL;

    /* Plain http to a non-loopback host is refused (keys never travel in clear text)... */
    CHECK_OK(aoai_options_set_endpoint(o, "http://example.com"));
    expect_config_error(o, AOAI_STATUS_INVALID_CONFIG, "example.com");
    /* ...unless explicitly allowed (no request is made here). */
    CHECK_FAILS(aoai_options_set_allow_insecure_http(o, 2), AOAI_STATUS_INVALID_ARGUMENT, "allow");
    CHECK_OK(aoai_options_set_allow_insecure_http(o, 1));
    CHECK_OK(aoai_client_new(o, &c));
    aoai_client_free(c);
    c = NULL;
    aoai_options_free(o);

    /* An unparseable endpoint. */
    o = emu_options();
    CHECK_OK(aoai_options_set_endpoint(o, "not a url"));
    expect_config_error(o, AOAI_STATUS_INVALID_CONFIG, "not a url");
    aoai_options_free(o);

    /* No deployment: the client is fine, a call that needs one says so. */
    CHECK_OK(aoai_options_new(&o));
    CHECK_OK(aoai_options_set_use_environment(o, 0));
    CHECK_OK(aoai_options_set_endpoint(o, emu_url()));
    CHECK_OK(aoai_options_set_api_key(o, EMU_KEY));
    CHECK_OK(aoai_client_new(o, &c));
    text = NULL;
    CHECK_FAILS(aoai_chat_simple(c, "hi", &text), AOAI_STATUS_INVALID_ARGUMENT, "deployment");
    CHECK(text == NULL);
    aoai_client_free(c);
    aoai_options_free(o);

    /* An Azure key in the environment without AZURE_OPENAI_ENDPOINT is a missing endpoint:
     * it must not silently become an OpenAI configuration (which would send the Azure key
     * to https://api.openai.com). No request is made here either way. */
    clear_env();
    setenv("AZURE_OPENAI_API_KEY", EMU_KEY, 1);
    CHECK_OK(aoai_options_new(&o));
    c = NULL;
    {
        int32_t st = aoai_client_new(o, &c);
        char *d2 = NULL;
        if (st == AOAI_STATUS_OK && aoai_client_describe(c, &d2) == AOAI_STATUS_OK) {
            char t[64], ep[256];
            json_str(d2, "api_type", t, sizeof t);
            json_str(d2, "endpoint", ep, sizeof ep);
            fprintf(stderr, "     (an Azure key alone gave api_type %s, endpoint %s)\n", t, ep);
            aoai_string_free(d2);
        }
        CHECK_KNOWN_BUG(st == AOAI_STATUS_INVALID_CONFIG,
                        "AZURE_OPENAI_API_KEY without AZURE_OPENAI_ENDPOINT selects OpenAI: the Azure key "
                        "would be sent to https://api.openai.com/v1");
        if (st != AOAI_STATUS_OK) CHECK_CONTAINS(aoai_last_error_message(), "AZURE_OPENAI_ENDPOINT");
    }
    aoai_client_free(c);
    c = NULL;
    aoai_options_free(o);
    clear_env();

    /* The JSON config's unknown key is named. */
    CHECK_FAILS(aoai_client_from_json("{\"endpont\": \"https://x.openai.azure.com\"}", &c),
                AOAI_STATUS_INVALID_CONFIG, "endpont");
}

int main(void) {
    emu_url();
    clear_env();
    emu_reset();
    CHECK_STR(aoai_version(), AOAI_VERSION_STRING);
    CHECK_INT(aoai_version_number(), AOAI_VERSION_NUMBER);
    test_options_without_environment();
    test_json_config();
    test_precedence();
    test_validation();
    return harness_finish();
}
