/* SPDX-License-Identifier: MIT
 *
 * aoai-cli: a small command-line client for Azure OpenAI / OpenAI written against the public
 * C API only (include/aoai.h). It is also our smoke-test tool.
 *
 *   aoai-cli [--completion] [--stream] [--deployment NAME] [--system TEXT]
 *            [--max-tokens N] [--temperature X] [--json] [--usage] PROMPT
 *
 * Configuration comes from the environment through the library (aoai_client_from_env):
 * AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, AZURE_OPENAI_DEPLOYMENT_NAME, OPENAI_API_KEY...
 *
 * Exit status: 0 on success, 1 when the call (or the configuration) fails, 2 on a usage
 * error. A failure prints exactly one line to stderr:
 *   aoai-cli: error: <status name> (status N), http=<http status>, code=<code or ->: <message>
 *
 * Build: cc -std=c99 -Iinclude examples/c/aoai_cli.c -Ltarget/release -laoai -o aoai-cli
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aoai.h"

#define EXIT_CALL_FAILED 1
#define EXIT_USAGE 2

static const char USAGE_TEXT[] =
    "usage: aoai-cli [--completion] [--stream] [--deployment NAME] [--system TEXT]\n"
    "                [--max-tokens N] [--temperature X] [--json] [--usage] PROMPT\n"
    "\n"
    "Sends PROMPT as one chat message (or, with --completion, to the legacy completions\n"
    "endpoint) and prints the answer of choice 0.\n"
    "\n"
    "  --completion       use the legacy completions endpoint\n"
    "  --stream           print the answer as it arrives\n"
    "  --deployment NAME  deployment (Azure) or model (OpenAI) for this call\n"
    "  --system TEXT      a system message before the prompt (chat only)\n"
    "  --max-tokens N     token limit of the answer (N >= 1)\n"
    "  --temperature X    sampling temperature, 0 to 2\n"
    "  --json             print the raw response JSON instead of the text (with --stream:\n"
    "                     the assembled response, at the end)\n"
    "  --usage            print `usage: prompt=N completion=M total=K` to stderr\n"
    "  -h, --help         this help\n"
    "\n"
    "Configuration comes from the environment: AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY,\n"
    "AZURE_OPENAI_DEPLOYMENT_NAME, OPENAI_API_VERSION (Azure), or OPENAI_API_KEY and\n"
    "OPENAI_BASE_URL (OpenAI-compatible servers).\n";

struct args {
    int completion, stream, json, usage;
    const char *deployment, *system, *prompt;
    int64_t max_tokens; /* 0: not given */
    int has_temperature;
    double temperature;
};

/* A usage error: one line naming the problem, exit status 2. */
static int usage_error(const char *fmt, const char *a, const char *b) {
    fputs("aoai-cli: error: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputs(" (see aoai-cli --help)\n", stderr);
    return EXIT_USAGE;
}

/* Prints `s` on stderr on one line (newlines and other control characters become spaces). */
static void put_one_line(const char *s) {
    for (; *s; s++) fputc(((unsigned char)*s < 0x20) ? ' ' : *s, stderr);
}

/* The one stderr line of a failed call, from an error object (the thread's last error or an
 * operation's error). Returns exit status 1. */
static int report_error(int32_t status, const AoaiError *err) {
    const char *code = aoai_error_code(err, NULL);
    fprintf(stderr, "aoai-cli: error: %s (status %d), http=%d, code=", aoai_status_str(status), (int)status,
            (int)aoai_error_http_status(err));
    put_one_line(code != NULL && code[0] != '\0' ? code : "-");
    fputs(": ", stderr);
    put_one_line(aoai_error_message(err, NULL));
    fputc('\n', stderr);
    return EXIT_CALL_FAILED;
}

/* A failed call (the detail is the calling thread's last error). */
static int call_failed(int32_t status) {
    return report_error(status, aoai_last_error());
}

static int parse_args(int argc, char **argv, struct args *a) {
    int i;
    memset(a, 0, sizeof *a);
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (strcmp(arg, "--") == 0) {
            if (i + 2 != argc) return usage_error("expected exactly one PROMPT after --%s%s", "", "");
            a->prompt = argv[i + 1];
            break;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(USAGE_TEXT, stdout);
            exit(0);
        } else if (strcmp(arg, "--completion") == 0) {
            a->completion = 1;
        } else if (strcmp(arg, "--stream") == 0) {
            a->stream = 1;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = 1;
        } else if (strcmp(arg, "--usage") == 0) {
            a->usage = 1;
        } else if (strcmp(arg, "--deployment") == 0 || strcmp(arg, "--system") == 0 ||
                   strcmp(arg, "--max-tokens") == 0 || strcmp(arg, "--temperature") == 0) {
            if (val == NULL) return usage_error("%s needs a value%s", arg, "");
            i++;
            if (strcmp(arg, "--deployment") == 0) {
                if (val[0] == '\0') return usage_error("%s needs a non-empty name%s", arg, "");
                a->deployment = val;
            } else if (strcmp(arg, "--system") == 0) {
                a->system = val;
            } else if (strcmp(arg, "--max-tokens") == 0) {
                char *end;
                long long n;
                errno = 0;
                n = strtoll(val, &end, 10);
                if (errno != 0 || end == val || *end != '\0' || n < 1)
                    return usage_error("--max-tokens expects a whole number >= 1, got '%s'%s", val, "");
                a->max_tokens = (int64_t)n;
            } else {
                char *end;
                double x;
                errno = 0;
                x = strtod(val, &end);
                if (errno != 0 || end == val || *end != '\0' || !(x >= 0.0 && x <= 2.0))
                    return usage_error("--temperature expects a number from 0 to 2, got '%s'%s", val, "");
                a->has_temperature = 1;
                a->temperature = x;
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("unknown option '%s'%s", arg, "");
        } else {
            if (a->prompt != NULL) return usage_error("expected one PROMPT, got a second one: '%s'%s", arg, "");
            a->prompt = arg;
        }
    }
    if (a->prompt == NULL) return usage_error("missing PROMPT%s%s", "", "");
    if (a->completion && a->system != NULL)
        return usage_error("--system is for chat; it cannot be used with --completion%s%s", "", "");
    return 0;
}

/* A setter that rejects the value is a usage error naming the flag. */
static int setter_failed(const char *flag, int32_t status) {
    fprintf(stderr, "aoai-cli: error: %s: %s (%s)\n", flag, aoai_last_error_message(), aoai_status_str(status));
    return EXIT_USAGE;
}

static int build_request(const struct args *a, AoaiRequest **req_out) {
    AoaiRequest *req = NULL;
    int32_t st;
    int rc = 0;

    st = a->completion ? aoai_completion_request_new(&req) : aoai_chat_request_new(&req);
    if (st != AOAI_STATUS_OK) return call_failed(st);
    if (a->completion) {
        st = aoai_request_set_prompt(req, a->prompt);
        if (st != AOAI_STATUS_OK) rc = setter_failed("PROMPT", st);
    } else {
        if (a->system != NULL) {
            st = aoai_request_add_message(req, AOAI_ROLE_SYSTEM, a->system);
            if (st != AOAI_STATUS_OK) rc = setter_failed("--system", st);
        }
        if (rc == 0) {
            st = aoai_request_add_message(req, AOAI_ROLE_USER, a->prompt);
            if (st != AOAI_STATUS_OK) rc = setter_failed("PROMPT", st);
        }
    }
    if (rc == 0 && a->deployment != NULL) {
        st = aoai_request_set_deployment(req, a->deployment);
        if (st != AOAI_STATUS_OK) rc = setter_failed("--deployment", st);
    }
    if (rc == 0 && a->max_tokens > 0) {
        st = aoai_request_set_max_tokens(req, a->max_tokens);
        if (st != AOAI_STATUS_OK) rc = setter_failed("--max-tokens", st);
    }
    if (rc == 0 && a->has_temperature) {
        st = aoai_request_set_temperature(req, a->temperature);
        if (st != AOAI_STATUS_OK) rc = setter_failed("--temperature", st);
    }
    if (rc == 0 && a->stream && a->usage) {
        st = aoai_request_set_stream_include_usage(req, 1);
        if (st != AOAI_STATUS_OK) rc = setter_failed("--usage", st);
    }
    if (rc != 0) {
        aoai_request_free(req);
        return rc;
    }
    *req_out = req;
    return 0;
}

static void print_text(const char *text) {
    size_t n = text ? strlen(text) : 0;
    if (n > 0) fwrite(text, 1, n, stdout);
    if (n == 0 || text[n - 1] != '\n') fputc('\n', stdout);
}

static void print_usage(int64_t prompt, int64_t completion, int64_t total) {
    fprintf(stderr, "usage: prompt=%lld completion=%lld total=%lld\n", (long long)prompt, (long long)completion,
            (long long)total);
}

/* Streaming state shared with the callback. */
struct stream_state {
    int print_deltas;    /* 0 with --json: the assembled JSON is printed at the end */
    int printed_any;     /* something was written to stdout */
    int ends_in_newline; /* the last byte written was '\n' */
    int have_usage;
    int64_t usage[3];
};

static int32_t on_event(void *user_data, const AoaiEvent *ev) {
    struct stream_state *s = (struct stream_state *)user_data;
    int32_t kind = aoai_event_kind(ev);
    if (kind == AOAI_EVENT_TEXT_DELTA && s->print_deltas && aoai_event_choice(ev) == 0) {
        size_t len = 0;
        const char *t = aoai_event_text(ev, &len);
        if (t != NULL && len > 0) {
            fwrite(t, 1, len, stdout);
            fflush(stdout); /* each delta as it arrives */
            s->printed_any = 1;
            s->ends_in_newline = t[len - 1] == '\n';
        }
    } else if (kind == AOAI_EVENT_USAGE) {
        s->have_usage = 1;
        s->usage[0] = aoai_event_usage(ev, AOAI_USAGE_PROMPT_TOKENS);
        s->usage[1] = aoai_event_usage(ev, AOAI_USAGE_COMPLETION_TOKENS);
        s->usage[2] = aoai_event_usage(ev, AOAI_USAGE_TOTAL_TOKENS);
    }
    return AOAI_CONTINUE;
}

static int run(const struct args *a, const AoaiClient *client, const AoaiRequest *req) {
    AoaiResponse *resp = NULL;
    int32_t st;

    if (a->stream) {
        struct stream_state s;
        memset(&s, 0, sizeof s);
        s.print_deltas = !a->json;
        st = aoai_client_stream(client, req, on_event, &s, &resp);
        if (s.printed_any && !s.ends_in_newline) fputc('\n', stdout);
        fflush(stdout);
        if (st != AOAI_STATUS_OK) return call_failed(st);
        if (a->json) print_text(aoai_response_json(resp, NULL));
        else if (!s.printed_any) fputc('\n', stdout); /* an empty answer is still one line */
        if (a->usage) {
            if (s.have_usage) print_usage(s.usage[0], s.usage[1], s.usage[2]);
            else
                print_usage(aoai_response_usage(resp, AOAI_USAGE_PROMPT_TOKENS),
                            aoai_response_usage(resp, AOAI_USAGE_COMPLETION_TOKENS),
                            aoai_response_usage(resp, AOAI_USAGE_TOTAL_TOKENS));
        }
    } else {
        st = aoai_client_send(client, req, &resp);
        if (st != AOAI_STATUS_OK) return call_failed(st);
        print_text(a->json ? aoai_response_json(resp, NULL) : aoai_response_text(resp, 0, NULL));
        if (a->usage)
            print_usage(aoai_response_usage(resp, AOAI_USAGE_PROMPT_TOKENS),
                        aoai_response_usage(resp, AOAI_USAGE_COMPLETION_TOKENS),
                        aoai_response_usage(resp, AOAI_USAGE_TOTAL_TOKENS));
    }
    aoai_response_free(resp);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    struct args a;
    AoaiClient *client = NULL;
    AoaiRequest *req = NULL;
    int32_t st;
    int rc;

    rc = parse_args(argc, argv, &a);
    if (rc != 0) return rc;

    st = aoai_client_from_env(&client);
    if (st != AOAI_STATUS_OK) {
        rc = call_failed(st);
    } else {
        rc = build_request(&a, &req);
        if (rc == 0) rc = run(&a, client, req);
    }
    aoai_request_free(req);
    aoai_client_free(client);
    aoai_shutdown(); /* stops the library's threads: valgrind sees nothing left behind */
    return rc;
}
