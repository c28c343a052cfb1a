/* SPDX-License-Identifier: MIT
 *
 * tests/install/consumer.c: a program outside the source tree that uses an *installed* aoai.
 * tests/install/run.sh builds it three ways (pkg-config, CMake find_package, static) and
 * runs each build against the emulator.
 *
 * It checks that the header it was compiled against and the library it runs with agree on
 * the version (string, parts and the composed AOAI_VERSION_NUMBER), then makes a real chat
 * call configured from the environment (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY,
 * AZURE_OPENAI_DEPLOYMENT_NAME). Prints `version X.Y.Z` (run.sh compares it with Cargo.toml)
 * and one `ok` / `not ok` line per check; exits with the number of failed checks.
 *
 * Valid C99 and C++11 (run.sh also builds it as C++).
 */
#include <stdio.h>
#include <string.h>

#include <aoai.h>

static int failed = 0;

static void check(int cond, const char *what) {
    printf("%s - %s\n", cond ? "ok" : "not ok", what);
    if (!cond) failed++;
}

int main(void) {
    AoaiClient *client = NULL;
    char *text = NULL;
    int32_t st;
    uint32_t composed = ((uint32_t)AOAI_VERSION_MAJOR << 16) | ((uint32_t)AOAI_VERSION_MINOR << 8) |
                        (uint32_t)AOAI_VERSION_PATCH;
    char parts[64];

    printf("version %s\n", aoai_version());
    printf("header %s number 0x%06lx\n", AOAI_VERSION_STRING, (unsigned long)AOAI_VERSION_NUMBER);

    /* The header and the library must be the same version (the sqlite3 check). */
    check(strcmp(aoai_version(), AOAI_VERSION_STRING) == 0, "aoai_version() == AOAI_VERSION_STRING");
    check(aoai_version_number() == (uint32_t)AOAI_VERSION_NUMBER, "aoai_version_number() == AOAI_VERSION_NUMBER");
    check((uint32_t)AOAI_VERSION_NUMBER == composed,
          "AOAI_VERSION_NUMBER == (MAJOR << 16) | (MINOR << 8) | PATCH");
    snprintf(parts, sizeof parts, "%d.%d.%d", (int)AOAI_VERSION_MAJOR, (int)AOAI_VERSION_MINOR,
             (int)AOAI_VERSION_PATCH);
    check(strcmp(parts, AOAI_VERSION_STRING) == 0, "MAJOR.MINOR.PATCH == AOAI_VERSION_STRING");
    check(strcmp(aoai_status_str(AOAI_STATUS_RATE_LIMITED), "rate limited") == 0, "aoai_status_str");

    /* A real call through the installed library. */
    st = aoai_client_from_env(&client);
    check(st == AOAI_STATUS_OK, "aoai_client_from_env");
    if (st != AOAI_STATUS_OK) {
        fprintf(stderr, "consumer: %s: %s\n", aoai_status_str(st), aoai_last_error_message());
        return failed;
    }
    st = aoai_chat_simple(client, "Hello from an installed aoai", &text);
    check(st == AOAI_STATUS_OK, "aoai_chat_simple");
    if (st == AOAI_STATUS_OK) {
        printf("reply: %s\n", text);
        check(strstr(text, "You said: Hello from an installed aoai") != NULL, "the emulator's reply");
    } else {
        fprintf(stderr, "consumer: %s: %s\n", aoai_status_str(st), aoai_last_error_message());
    }
    aoai_string_free(text);
    aoai_client_free(client);
    check(aoai_shutdown() == AOAI_STATUS_OK, "aoai_shutdown");
    return failed;
}
