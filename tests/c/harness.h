/* SPDX-License-Identifier: MIT
 *
 * harness.h: the tiny shared harness of the C tests (the tests/c programs).
 *
 * - CHECK* macros record a pass or a failure; a failure prints file:line, the failing
 *   expression and the values involved (and the thread's last aoai error where useful).
 * - harness_finish() prints the final line, exactly `N passed, M failed`, calls
 *   aoai_shutdown() and returns the process exit status (0 only when nothing failed).
 * - Helpers to build an emulator client from AOAI_TEST_EMULATOR without ever reading the
 *   caller's real environment (aoai_options_set_use_environment(opts, 0)), and a minimal
 *   HTTP/1.0 client for the emulator's control API (/_emulator/...).
 *
 * Every test program includes this file first (it sets _POSIX_C_SOURCE for sockets,
 * clock_gettime, nanosleep and setenv) and is a single translation unit, so the state
 * below is simply `static`.
 */
#ifndef AOAI_TEST_HARNESS_H
#define AOAI_TEST_HARNESS_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aoai.h"

/* The fake key the emulator accepts. Tests never use any other secret. */
#define EMU_KEY "emulator-key"

/* ---- counters and reporting ------------------------------------------------------------ */

static int h_passed = 0;
static int h_failed = 0;
static int h_known = 0;

static inline void h_fail_head(const char *file, int line, const char *expr) {
    h_failed++;
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, expr);
}

/* A plain condition. */
#define CHECK(expr)                                                                 \
    do {                                                                            \
        if (expr) {                                                                 \
            h_passed++;                                                             \
        } else {                                                                    \
            h_fail_head(__FILE__, __LINE__, #expr);                                 \
        }                                                                           \
    } while (0)

/* Two integers (any integer type; compared as long long). */
#define CHECK_INT(actual, expected)                                                 \
    do {                                                                            \
        long long h_a_ = (long long)(actual), h_e_ = (long long)(expected);         \
        if (h_a_ == h_e_) {                                                         \
            h_passed++;                                                             \
        } else {                                                                    \
            h_fail_head(__FILE__, __LINE__, #actual " == " #expected);              \
            fprintf(stderr, "     got %lld, expected %lld\n", h_a_, h_e_);          \
        }                                                                           \
    } while (0)

/* A status: on mismatch also prints both status names and the thread's last error. */
#define CHECK_STATUS(actual, expected)                                              \
    do {                                                                            \
        int32_t h_a_ = (int32_t)(actual), h_e_ = (int32_t)(expected);               \
        if (h_a_ == h_e_) {                                                         \
            h_passed++;                                                             \
        } else {                                                                    \
            h_fail_head(__FILE__, __LINE__, #actual " == " #expected);              \
            fprintf(stderr, "     got %d (%s), expected %d (%s); last error: %s\n", \
                    (int)h_a_, aoai_status_str(h_a_), (int)h_e_,                    \
                    aoai_status_str(h_e_), aoai_last_error_message());              \
        }                                                                           \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS((call), AOAI_STATUS_OK)

/* Two strings; NULL only equals NULL. */
#define CHECK_STR(actual, expected)                                                 \
    do {                                                                            \
        const char *h_a_ = (actual), *h_e_ = (expected);                            \
        if ((h_a_ == NULL && h_e_ == NULL) ||                                       \
            (h_a_ != NULL && h_e_ != NULL && strcmp(h_a_, h_e_) == 0)) {            \
            h_passed++;                                                             \
        } else {                                                                    \
            h_fail_head(__FILE__, __LINE__, #actual " == " #expected);              \
            fprintf(stderr, "     got %s%s%s, expected %s%s%s\n",                   \
                    h_a_ ? "\"" : "", h_a_ ? h_a_ : "NULL", h_a_ ? "\"" : "",       \
                    h_e_ ? "\"" : "", h_e_ ? h_e_ : "NULL", h_e_ ? "\"" : "");      \
        }                                                                           \
    } while (0)

/* `hay` is not NULL and contains `needle`. */
#define CHECK_CONTAINS(hay, needle)                                                 \
    do {                                                                            \
        const char *h_h_ = (hay), *h_n_ = (needle);                                 \
        if (h_h_ != NULL && strstr(h_h_, h_n_) != NULL) {                           \
            h_passed++;                                                             \
        } else {                                                                    \
            h_fail_head(__FILE__, __LINE__, #hay " contains " #needle);             \
            fprintf(stderr, "     \"%s\" not found in %s%s%s\n", h_n_,              \
                    h_h_ ? "\"" : "", h_h_ ? h_h_ : "NULL", h_h_ ? "\"" : "");      \
        }                                                                           \
    } while (0)

/* `hay` (may be NULL) does not contain `needle`. */
#define CHECK_NOT_CONTAINS(hay, needle)                                             \
    do {                                                                            \
        const char *h_h_ = (hay), *h_n_ = (needle);                                 \
        if (h_h_ == NULL || strstr(h_h_, h_n_) == NULL) {                           \
            h_passed++;                                                             \
        } else {                                                                    \
            h_fail_head(__FILE__, __LINE__, #hay " does not contain " #needle);     \
            fprintf(stderr, "     \"%s\" found in \"%s\"\n", h_n_, h_h_);           \
        }                                                                           \
    } while (0)

/* A failed call: its status, and a last-error message that names `word` (an argument,
 * a key, a limit). */
#define CHECK_FAILS(call, status, word)                                             \
    do {                                                                            \
        int32_t h_s_ = (int32_t)(call);                                             \
        CHECK_STATUS(h_s_, (status));                                               \
        CHECK_INT(aoai_error_status(aoai_last_error()), (status));                  \
        CHECK_CONTAINS(aoai_last_error_message(), (word));                          \
    } while (0)

/* Stops the program when a precondition for the rest of it does not hold. */
#define REQUIRE(expr)                                                               \
    do {                                                                            \
        if (expr) {                                                                 \
            h_passed++;                                                             \
        } else {                                                                    \
            h_fail_head(__FILE__, __LINE__, #expr);                                 \
            fprintf(stderr, "     required; last error: %s\n",                      \
                    aoai_last_error_message());                                     \
            return harness_finish();                                                \
        }                                                                           \
    } while (0)

/* A documented behaviour the library does not have yet (a reported library bug). It counts
 * like CHECK -- a failure is a failure -- but the failure line says it is a known library
 * bug, so nobody goes hunting in the test. */
#define CHECK_KNOWN_BUG(expr, why)                                                  \
    do {                                                                            \
        if (expr) {                                                                 \
            h_passed++;                                                             \
        } else {                                                                    \
            h_known++;                                                              \
            h_fail_head(__FILE__, __LINE__, #expr);                                 \
            fprintf(stderr, "     known library bug: %s\n", (why));                  \
        }                                                                           \
    } while (0)

/* The same in a function that returns nothing. */
#define REQUIRE_VOID(expr)                                                          \
    do {                                                                            \
        if (expr) {                                                                 \
            h_passed++;                                                             \
        } else {                                                                    \
            h_fail_head(__FILE__, __LINE__, #expr);                                 \
            fprintf(stderr, "     required; skipping the rest of this function\n"); \
            return;                                                                 \
        }                                                                           \
    } while (0)

/* A section header in the output, so failures are easy to place. */
static inline void section(const char *name) {
    printf("-- %s\n", name);
    fflush(stdout);
}

/* Prints the summary line and shuts the library down (every program ends here). */
static inline int harness_finish(void) {
    int32_t st = aoai_shutdown();
    if (st != AOAI_STATUS_OK) {
        h_failed++;
        fprintf(stderr, "FAIL aoai_shutdown() returned %d (%s)\n", (int)st, aoai_status_str(st));
    }
    if (h_known > 0) printf("(%d of the failures are known library bugs)\n", h_known);
    printf("%d passed, %d failed\n", h_passed, h_failed);
    fflush(stdout);
    return h_failed == 0 ? 0 : 1;
}

/* ---- emulator ---------------------------------------------------------------------- */

/* The emulator's base URL (http://127.0.0.1:PORT) from AOAI_TEST_EMULATOR; exits if unset. */
static inline const char *emu_url(void) {
    const char *u = getenv("AOAI_TEST_EMULATOR");
    if (u == NULL || strncmp(u, "http://127.0.0.1:", 17) != 0) {
        fprintf(stderr, "AOAI_TEST_EMULATOR must be set to http://127.0.0.1:PORT (tests/c/run.sh does it)\n");
        exit(2);
    }
    return u;
}

/* Options for the emulator that never read the environment. The caller frees them. */
static inline AoaiOptions *emu_options(void) {
    AoaiOptions *o = NULL;
    if (aoai_options_new(&o) != AOAI_STATUS_OK) return NULL;
    if (aoai_options_set_use_environment(o, 0) != AOAI_STATUS_OK ||
        aoai_options_set_endpoint(o, emu_url()) != AOAI_STATUS_OK ||
        aoai_options_set_api_key(o, EMU_KEY) != AOAI_STATUS_OK ||
        aoai_options_set_deployment(o, "gpt-4o") != AOAI_STATUS_OK) {
        aoai_options_free(o);
        return NULL;
    }
    return o;
}

/* A client for the emulator (deployment gpt-4o), or NULL. */
static inline AoaiClient *emu_client(void) {
    AoaiClient *c = NULL;
    AoaiOptions *o = emu_options();
    if (o == NULL) return NULL;
    if (aoai_client_new(o, &c) != AOAI_STATUS_OK) c = NULL;
    aoai_options_free(o);
    return c;
}

/* One HTTP/1.0 exchange with the emulator (control API). Returns the HTTP status (or -1)
 * and copies the body (NUL-terminated, truncated to `cap`) into `body_out` if not NULL. */
static inline int emu_http(const char *method, const char *path, const char *body, char *body_out, size_t cap) {
    const char *url = emu_url();
    int port = atoi(url + 17);
    struct sockaddr_in sa;
    char req[1024];
    static char resp[1 << 20];
    size_t got = 0;
    int fd, n, status = -1;
    const char *p;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    n = snprintf(req, sizeof req,
                 "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: %u\r\nConnection: close\r\n\r\n%s",
                 method, path, (unsigned)(body ? strlen(body) : 0), body ? body : "");
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, resp + got, sizeof resp - 1 - got);
        if (r <= 0) break;
        got += (size_t)r;
        if (got == sizeof resp - 1) break;
    }
    close(fd);
    resp[got] = '\0';
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) status = -1;
    p = strstr(resp, "\r\n\r\n");
    if (body_out != NULL && cap > 0) {
        const char *b = p ? p + 4 : "";
        strncpy(body_out, b, cap - 1);
        body_out[cap - 1] = '\0';
    }
    return status;
}

/* POST /_emulator/reset: clears recorded requests, `times=` counts and stats. */
static inline int emu_reset(void) {
    return emu_http("POST", "/_emulator/reset", "", NULL, 0);
}

/* A number field of GET /_emulator/stats ("streams_client_closed"), or -1. */
static inline long emu_stat(const char *name) {
    char body[4096], key[128];
    const char *p;
    if (emu_http("GET", "/_emulator/stats", NULL, body, sizeof body) != 200) return -1;
    snprintf(key, sizeof key, "\"%s\":", name);
    p = strstr(body, key);
    if (p == NULL) return -1;
    p += strlen(key);
    while (*p == ' ') p++;
    return strtol(p, NULL, 10);
}

/* ---- tiny JSON peeking (enough for the flat values tests look at) ------------------ */

/* Points just after `"key":` (whitespace skipped) of the first occurrence at or after
 * `from`, or NULL. */
static inline const char *json_after_key(const char *json, const char *key) {
    char pat[256];
    const char *p;
    if (json == NULL) return NULL;
    snprintf(pat, sizeof pat, "\"%s\"", key);
    for (p = strstr(json, pat); p != NULL; p = strstr(p + 1, pat)) {
        const char *q = p + strlen(pat);
        while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t') q++;
        if (*q != ':') continue;
        q++;
        while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t') q++;
        return q;
    }
    return NULL;
}

/* The string value of the first `"key": "..."` into `buf` (escapes kept as written);
 * "null" for a JSON null; "" with a 0 return when absent or not a string. */
static inline int json_str(const char *json, const char *key, char *buf, size_t cap) {
    const char *q = json_after_key(json, key);
    size_t n = 0;
    buf[0] = '\0';
    if (q == NULL) return 0;
    if (strncmp(q, "null", 4) == 0) {
        snprintf(buf, cap, "null");
        return 1;
    }
    if (*q != '"') return 0;
    q++;
    while (*q && *q != '"' && n + 1 < cap) {
        if (*q == '\\' && q[1]) buf[n++] = *q++;
        if (n + 1 < cap) buf[n++] = *q++;
    }
    buf[n] = '\0';
    return 1;
}

/* The integer value of the first `"key": N`, or `dflt`. */
static inline long long json_int(const char *json, const char *key, long long dflt) {
    const char *q = json_after_key(json, key);
    if (q == NULL || (*q != '-' && (*q < '0' || *q > '9'))) return dflt;
    return strtoll(q, NULL, 10);
}

/* Milliseconds from a monotonic clock. */
static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static inline void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Polls `cond` (an expression) every 5 ms for up to `ms` milliseconds. */
#define WAIT_UNTIL(cond, ms)                                                        \
    do {                                                                            \
        double h_deadline_ = now_ms() + (ms);                                       \
        while (!(cond) && now_ms() < h_deadline_) sleep_ms(5);                      \
    } while (0)

#endif /* AOAI_TEST_HARNESS_H */
