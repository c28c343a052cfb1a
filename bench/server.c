/* SPDX-License-Identifier: MIT
 *
 * bench/server.c: the benchmark's loopback server. One thread, epoll, HTTP/1.1 keep-alive.
 * It must never be the bottleneck, so every answer is canned at start-up and sent with one
 * write (or one write per SSE event in the paced stream mode); its own CPU is reported on
 * GET /_cpu so the bench can show it next to the clients'.
 *
 *   POST <any path>              a realistic Azure chat completion (filter results, multi-byte
 *                                UTF-8, JSON escapes, Azure headers), Content-Length framed;
 *                                with "stream":true in the body, an Azure SSE stream of N events
 *                                (prompt-filter event, role chunk, content chunks each with
 *                                content_filter_results, finish chunk, usage chunk, [DONE]),
 *                                one HTTP chunk per event.
 *   GET /_cpu                    "user_us sys_us requests streams events hold_timeouts conns"
 *   GET /_expect/chat            the exact text of choices[0].message.content (decoded)
 *   GET /_expect/stream?events=N the exact joined delta text of an N-event stream (decoded)
 *   GET /_quit                   answers, then exits 0
 *
 * Per-request options, in the request header `x-bench` or anywhere in the path
 * (comma/semicolon/ampersand separated):
 *   events=N      total SSE events of a stream, [DONE] included (default 500, min 6)
 *   mode=paced    one event per HTTP chunk, each its own write(), `gap-us` apart (default)
 *   mode=oneshot  the whole response (head and all events) in one write()
 *   gap-us=N      pause between events in paced mode (default 100 µs; 0 = back-to-back writes)
 *   hold=N        hold the answer until N requests with hold are waiting, then answer them all
 *                 (so N calls are really in flight at once); released anyway after 10 s
 *
 * Usage: server [--port N] [--port-file PATH]   (port 0 = any free port; the port is printed
 * on stdout as "listening PORT" and written to PATH).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* ---- canned content --------------------------------------------------------------------- */

/* Token pieces as they appear inside a JSON string, and the text they decode to. The mix
 * covers 2-, 3- and 4-byte UTF-8 (raw and as \u escapes, a surrogate pair included), quotes,
 * backslashes, \n, \t and \/. */
typedef struct {
    const char *json;
    const char *text;
} token_t;

static const token_t TOKENS[] = {
    {" Hello", " Hello"},
    {" w\xc3\xb6rld", " w\xc3\xb6rld"},
    {" \\u00e9t\\u00e9", " \xc3\xa9t\xc3\xa9"},
    {" \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", " \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    {" \\ud83d\\ude00", " \xf0\x9f\x98\x80"},
    {" \xf0\x9f\x9a\x80", " \xf0\x9f\x9a\x80"},
    {" \\\"quoted\\\"", " \"quoted\""},
    {" back\\\\slash", " back\\slash"},
    {"\\n", "\n"},
    {" tab\\there", " tab\there"},
    {" caf\xc3\xa9", " caf\xc3\xa9"},
    {" \xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac",
     " \xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac"},
    {" \xe2\x80\x94", " \xe2\x80\x94"},
    {" a\\/b", " a/b"},
    {" \\u003ctag\\u003e", " <tag>"},
    {" token", " token"},
    {" 42", " 42"},
    {",", ","},
    {" na\xc3\xafve", " na\xc3\xafve"},
    {" the", " the"},
    {" quick", " quick"},
    {" streaming", " streaming"},
};
#define NTOKENS (sizeof TOKENS / sizeof TOKENS[0])
#define CHAT_TOKENS 48

#define FILTER_CHOICE                                                                          \
    "{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},"                                    \
    "\"protected_material_code\":{\"filtered\":false,\"detected\":false},"                     \
    "\"protected_material_text\":{\"filtered\":false,\"detected\":false},"                     \
    "\"self_harm\":{\"filtered\":false,\"severity\":\"safe\"},"                                \
    "\"sexual\":{\"filtered\":false,\"severity\":\"safe\"},"                                   \
    "\"violence\":{\"filtered\":false,\"severity\":\"safe\"}}"
#define FILTER_PROMPT                                                                          \
    "[{\"prompt_index\":0,\"content_filter_results\":{"                                        \
    "\"hate\":{\"filtered\":false,\"severity\":\"safe\"},"                                     \
    "\"jailbreak\":{\"filtered\":false,\"detected\":false},"                                   \
    "\"self_harm\":{\"filtered\":false,\"severity\":\"safe\"},"                                \
    "\"sexual\":{\"filtered\":false,\"severity\":\"safe\"},"                                   \
    "\"violence\":{\"filtered\":false,\"severity\":\"safe\"}}}]"
#define CHUNK_TAIL                                                                             \
    "\"created\":1732451234,\"id\":\"chatcmpl-AXq3bVQ8pNc0c4x9Yj1kLmNoPqRsT\","                \
    "\"model\":\"gpt-4o-2024-08-06\",\"object\":\"chat.completion.chunk\","                    \
    "\"system_fingerprint\":\"fp_04751d0b65\""

#define AZURE_HEADERS                                                                          \
    "apim-request-id: 3f2c8a4e-9b1d-4c7e-a5f6-0d1e2f3a4b5c\r\n"                                \
    "Strict-Transport-Security: max-age=31536000; includeSubDomains; preload\r\n"              \
    "x-content-type-options: nosniff\r\n"                                                      \
    "x-ms-region: East US\r\n"                                                                 \
    "x-ratelimit-remaining-requests: 99\r\n"                                                   \
    "x-ratelimit-limit-requests: 100\r\n"                                                      \
    "x-ratelimit-remaining-tokens: 99000\r\n"                                                  \
    "x-ratelimit-limit-tokens: 100000\r\n"                                                     \
    "x-accel-buffering: no\r\n"                                                                \
    "x-ms-rai-invoked: true\r\n"                                                               \
    "x-request-id: 7c9e6679-7425-40de-944b-e07fc1f90ae7\r\n"                                   \
    "x-ms-client-request-id: Not-Set\r\n"                                                      \
    "x-ms-deployment-name: gpt-4o\r\n"                                                         \
    "azureml-model-session: d123-20241120083524\r\n"                                           \
    "Date: Sun, 24 Nov 2024 12:00:00 GMT\r\n"

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench-server: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void buf_reserve(buf_t *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) die("out of memory");
    b->cap = cap;
}

static void buf_add(buf_t *b, const void *p, size_t n) {
    buf_reserve(b, n + 1);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_fmt(buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The whole chat answer (head + body) and its decoded content. */
static buf_t chat_resp, chat_text;

static void build_chat(void) {
    buf_t body = {0}, content = {0};
    for (int i = 0; i < CHAT_TOKENS; i++) {
        buf_str(&content, TOKENS[i % NTOKENS].json);
        buf_str(&chat_text, TOKENS[i % NTOKENS].text);
    }
    buf_str(&body, "{\"choices\":[{\"content_filter_results\":" FILTER_CHOICE
                   ",\"finish_reason\":\"stop\",\"index\":0,\"logprobs\":null,"
                   "\"message\":{\"content\":\"");
    buf_add(&body, content.p, content.len);
    buf_fmt(&body,
            "\",\"refusal\":null,\"role\":\"assistant\"}}],"
            "\"created\":1732451234,\"id\":\"chatcmpl-AXq3bVQ8pNc0c4x9Yj1kLmNoPqRsT\","
            "\"model\":\"gpt-4o-2024-08-06\",\"object\":\"chat.completion\","
            "\"prompt_filter_results\":" FILTER_PROMPT ","
            "\"system_fingerprint\":\"fp_04751d0b65\","
            "\"usage\":{\"completion_tokens\":%d,\"completion_tokens_details\":"
            "{\"accepted_prediction_tokens\":0,\"audio_tokens\":0,\"reasoning_tokens\":0,"
            "\"rejected_prediction_tokens\":0},\"prompt_tokens\":27,\"prompt_tokens_details\":"
            "{\"audio_tokens\":0,\"cached_tokens\":0},\"total_tokens\":%d}}\n",
            CHAT_TOKENS, CHAT_TOKENS + 27);
    buf_fmt(&chat_resp,
            "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nContent-Type: application/json\r\n" AZURE_HEADERS
            "\r\n",
            body.len);
    buf_add(&chat_resp, body.p, body.len);
    free(body.p);
    free(content.p);
}

/* A canned stream for one event count: the bytes, where each event's HTTP chunk starts, and
 * the decoded joined text. */
typedef struct {
    int events;
    buf_t bytes;
    size_t *off; /* off[0] = end of head; off[i] = end of event i-1's chunk; off[events] = end */
    buf_t text;
} stream_t;

#define MAX_STREAMS 16
static stream_t streams[MAX_STREAMS];
static int nstreams;

static void add_event(stream_t *s, buf_t *tmp, int idx) {
    /* tmp holds "data: ...\n\n"; frame it as one HTTP chunk. */
    buf_fmt(&s->bytes, "%zx\r\n", tmp->len);
    buf_add(&s->bytes, tmp->p, tmp->len);
    buf_str(&s->bytes, "\r\n");
    s->off[idx + 1] = s->bytes.len;
    tmp->len = 0;
}

static stream_t *get_stream(int events) {
    for (int i = 0; i < nstreams; i++)
        if (streams[i].events == events) return &streams[i];
    stream_t *s = &streams[nstreams < MAX_STREAMS ? nstreams++ : MAX_STREAMS - 1];
    free(s->bytes.p);
    free(s->off);
    free(s->text.p);
    memset(s, 0, sizeof *s);
    s->events = events;
    s->off = calloc((size_t)events + 1, sizeof *s->off);
    buf_str(&s->bytes, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                       "Content-Type: text/event-stream; charset=utf-8\r\n"
                       "Cache-Control: no-cache, must-revalidate\r\n" AZURE_HEADERS "\r\n");
    s->off[0] = s->bytes.len;
    buf_t t = {0};
    int ev = 0, content = events - 5;
    buf_str(&t, "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\","
                "\"prompt_filter_results\":" FILTER_PROMPT "}\n\n");
    add_event(s, &t, ev++);
    buf_str(&t, "data: {\"choices\":[{\"content_filter_results\":{},\"delta\":{\"content\":\"\","
                "\"refusal\":null,\"role\":\"assistant\"},\"finish_reason\":null,\"index\":0,"
                "\"logprobs\":null}]," CHUNK_TAIL ",\"usage\":null}\n\n");
    add_event(s, &t, ev++);
    for (int i = 0; i < content; i++) {
        const token_t *tk = &TOKENS[i % NTOKENS];
        buf_str(&t, "data: {\"choices\":[{\"content_filter_results\":" FILTER_CHOICE
                    ",\"delta\":{\"content\":\"");
        buf_str(&t, tk->json);
        buf_str(&t, "\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}]," CHUNK_TAIL
                    ",\"usage\":null}\n\n");
        add_event(s, &t, ev++);
        buf_str(&s->text, tk->text);
    }
    buf_str(&t, "data: {\"choices\":[{\"content_filter_results\":{},\"delta\":{},"
                "\"finish_reason\":\"stop\",\"index\":0,\"logprobs\":null}]," CHUNK_TAIL
                ",\"usage\":null}\n\n");
    add_event(s, &t, ev++);
    buf_fmt(&t,
            "data: {\"choices\":[]," CHUNK_TAIL ",\"usage\":{\"completion_tokens\":%d,"
            "\"completion_tokens_details\":{\"accepted_prediction_tokens\":0,\"audio_tokens\":0,"
            "\"reasoning_tokens\":0,\"rejected_prediction_tokens\":0},\"prompt_tokens\":27,"
            "\"prompt_tokens_details\":{\"audio_tokens\":0,\"cached_tokens\":0},"
            "\"total_tokens\":%d}}\n\n",
            content, content + 27);
    add_event(s, &t, ev++);
    buf_str(&t, "data: [DONE]\n\n");
    add_event(s, &t, ev++);
    buf_str(&s->bytes, "0\r\n\r\n"); /* the last chunk rides with [DONE] */
    s->off[events] = s->bytes.len;
    if (!s->text.p) buf_str(&s->text, "");
    free(t.p);
    return s;
}

/* ---- connections ----------------------------------------------------------------------- */

typedef struct conn {
    int fd;
    buf_t in;
    buf_t out;
    size_t out_off;
    /* paced stream in progress */
    stream_t *st;
    int next_ev;
    uint64_t gap_ns, due_ns;
    int held;
    int close_after;
    int continued; /* 100 Continue sent for the current request */
    int dead;      /* closed; freed at the end of the current epoll batch */
    struct conn *pace_next, *hold_next, *grave_next;
} conn_t;

static int ep, tfd;
static conn_t *pacing;  /* connections with a paced stream in progress */
static conn_t *holding; /* connections whose answer is held */
static conn_t *graveyard; /* closed connections, freed after the epoll batch */
static int hold_count, hold_target;
static uint64_t hold_since;
static unsigned long long n_requests, n_streams, n_events, n_hold_timeouts, n_conns;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void conn_close(conn_t *c) {
    if (c->dead) return;
    /* unlink from lists */
    for (conn_t **pp = &pacing; *pp; pp = &(*pp)->pace_next)
        if (*pp == c) {
            *pp = c->pace_next;
            break;
        }
    if (c->held) {
        for (conn_t **pp = &holding; *pp; pp = &(*pp)->hold_next)
            if (*pp == c) {
                *pp = c->hold_next;
                hold_count--;
                break;
            }
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->dead = 1;
    c->grave_next = graveyard;
    graveyard = c;
}

static void bury(void) {
    while (graveyard) {
        conn_t *c = graveyard;
        graveyard = c->grave_next;
        free(c->in.p);
        free(c->out.p);
        free(c);
    }
}

static void want_out(conn_t *c, int on) {
    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Writes what is queued; returns -1 when the connection died. */
static int flush(conn_t *c) {
    while (c->out_off < c->out.len) {
        ssize_t n = write(c->fd, c->out.p + c->out_off, c->out.len - c->out_off);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                want_out(c, 1);
                return 0;
            }
            return -1;
        }
        c->out_off += (size_t)n;
    }
    c->out.len = c->out_off = 0;
    return 0;
}

static int send_bytes(conn_t *c, const void *p, size_t n) {
    if (c->out.len == 0 && c->out_off == 0) {
        /* fast path: write straight from the canned bytes */
        const char *q = p;
        while (n > 0) {
            ssize_t w = write(c->fd, q, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                return -1;
            }
            q += w;
            n -= (size_t)w;
        }
        if (n == 0) return 0;
        buf_add(&c->out, q, n);
        want_out(c, 1);
        return 0;
    }
    buf_add(&c->out, p, n);
    return flush(c);
}

static void arm_timer(void) {
    uint64_t due = 0;
    for (conn_t *c = pacing; c; c = c->pace_next)
        if (!due || c->due_ns < due) due = c->due_ns;
    if (holding && (!due || hold_since + 10000000000ull < due)) due = hold_since + 10000000000ull;
    struct itimerspec its = {0};
    if (due) {
        if (due == 0) due = 1;
        its.it_value.tv_sec = (time_t)(due / 1000000000ull);
        its.it_value.tv_nsec = (long)(due % 1000000000ull);
    }
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int process(conn_t *c);

static long opt_num(const char *opts, const char *key, long dflt) {
    const char *p = opts;
    size_t kl = strlen(key);
    while (p && (p = strstr(p, key))) {
        if ((p == opts || strchr(",;&?/ ", p[-1])) && p[kl] == '=') return strtol(p + kl + 1, NULL, 10);
        p += kl;
    }
    return dflt;
}

static int opt_has(const char *opts, const char *s) { return opts && strstr(opts, s) != NULL; }

static int reply_text(conn_t *c, const char *status, const char *body, size_t len) {
    buf_t r = {0};
    buf_fmt(&r, "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n\r\n",
            status, len);
    buf_add(&r, body, len);
    int rc = send_bytes(c, r.p, r.len);
    free(r.p);
    return rc;
}

static int send_answer(conn_t *c, int stream, const char *opts);

/* Releases every held answer. (Requests pipelined behind a held one wait for the next read
 * event; neither libcurl nor hyper pipelines.) */
static void release_holds(void) {
    conn_t *list = holding;
    holding = NULL;
    hold_count = 0;
    hold_target = 0;
    for (conn_t *c = list, *next; c; c = next) {
        next = c->hold_next;
        c->held = 0;
        c->hold_next = NULL;
        if (send_answer(c, 0, NULL) < 0) conn_close(c);
    }
}

static int send_answer(conn_t *c, int stream, const char *opts) {
    if (!stream) return send_bytes(c, chat_resp.p, chat_resp.len);
    long events = opt_num(opts, "events", 500);
    if (events < 6) events = 6;
    if (events > 1000000) events = 1000000;
    stream_t *s = get_stream((int)events);
    n_streams++;
    n_events += (unsigned long long)events;
    if (opt_has(opts, "mode=oneshot")) return send_bytes(c, s->bytes.p, s->bytes.len);
    long gap = opt_num(opts, "gap-us", 100);
    c->st = s;
    c->gap_ns = (uint64_t)(gap < 0 ? 0 : gap) * 1000ull;
    if (c->gap_ns == 0) {
        /* back-to-back: one write per event */
        for (int i = 0; i <= s->events; i++) {
            size_t a = i == 0 ? 0 : s->off[i - 1];
            if (send_bytes(c, s->bytes.p + a, s->off[i] - a) < 0) return -1;
        }
        c->st = NULL;
        return 0;
    }
    /* head and the first event now, the rest paced by the timer */
    if (send_bytes(c, s->bytes.p, s->off[1]) < 0) return -1;
    c->next_ev = 1;
    c->due_ns = now_ns() + c->gap_ns;
    c->pace_next = pacing;
    pacing = c;
    arm_timer();
    return 0;
}

/* Handles every complete request in the input buffer (one at a time: a paced stream or a
 * held answer blocks the ones behind it, as HTTP/1.1 requires). -1: close the connection. */
static int process(conn_t *c) {
    while (!c->st && !c->held && c->in.len > 0) {
        char *head_end = memmem(c->in.p, c->in.len, "\r\n\r\n", 4);
        if (!head_end) {
            if (c->in.len > 65536) return -1;
            return 0;
        }
        size_t head_len = (size_t)(head_end - c->in.p) + 4;
        /* request line */
        char *sp1 = memchr(c->in.p, ' ', head_len);
        if (!sp1) return -1;
        char *sp2 = memchr(sp1 + 1, ' ', head_len - (size_t)(sp1 + 1 - c->in.p));
        if (!sp2) return -1;
        char method[8] = {0};
        memcpy(method, c->in.p, (size_t)(sp1 - c->in.p) < 7 ? (size_t)(sp1 - c->in.p) : 7);
        char path[512] = {0};
        size_t pl = (size_t)(sp2 - sp1 - 1);
        memcpy(path, sp1 + 1, pl < sizeof path - 1 ? pl : sizeof path - 1);
        /* headers */
        size_t clen = 0;
        int expect = 0, chunked = 0;
        char opts[512] = {0};
        snprintf(opts, sizeof opts, "%s", path);
        char *line = memchr(c->in.p, '\n', head_len) + 1;
        while (line < head_end) {
            char *eol = memchr(line, '\r', (size_t)(head_end + 2 - line));
            if (!eol) break;
            char *colon = memchr(line, ':', (size_t)(eol - line));
            if (colon) {
                size_t nl = (size_t)(colon - line);
                char *v = colon + 1;
                while (*v == ' ') v++;
                size_t vl = (size_t)(eol - v);
                if (nl == 14 && !strncasecmp(line, "content-length", 14))
                    clen = strtoul(v, NULL, 10);
                else if (nl == 6 && !strncasecmp(line, "expect", 6))
                    expect = !strncasecmp(v, "100-continue", 12);
                else if (nl == 17 && !strncasecmp(line, "transfer-encoding", 17))
                    chunked = 1;
                else if (nl == 10 && !strncasecmp(line, "connection", 10))
                    c->close_after = !strncasecmp(v, "close", 5);
                else if (nl == 7 && !strncasecmp(line, "x-bench", 7)) {
                    size_t ol = strlen(opts);
                    if (ol + vl + 2 < sizeof opts) {
                        opts[ol] = ',';
                        memcpy(opts + ol + 1, v, vl);
                        opts[ol + 1 + vl] = 0;
                    }
                }
            }
            line = eol + 2;
        }
        if (chunked) {
            reply_text(c, "411 Length Required", "chunked bodies are not supported\n", 33);
            return -1;
        }
        if (c->in.len < head_len + clen) {
            if (expect && !c->continued) {
                c->continued = 1;
                if (send_bytes(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0) return -1;
            }
            return 0;
        }
        char *body = c->in.p + head_len;
        int rc = 0;
        if (!strcmp(method, "GET") && !strcmp(path, "/_cpu")) {
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            char b[256];
            int n = snprintf(b, sizeof b, "%lld %lld %llu %llu %llu %llu %llu\n",
                             (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
                             (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, n_requests,
                             n_streams, n_events, n_hold_timeouts, n_conns);
            rc = reply_text(c, "200 OK", b, (size_t)n);
        } else if (!strcmp(method, "GET") && !strcmp(path, "/_expect/chat")) {
            rc = reply_text(c, "200 OK", chat_text.p, chat_text.len);
        } else if (!strcmp(method, "GET") && !strncmp(path, "/_expect/stream", 15)) {
            long ev = opt_num(path, "events", 500);
            stream_t *s = get_stream((int)(ev < 6 ? 6 : ev));
            rc = reply_text(c, "200 OK", s->text.p, s->text.len);
        } else if (!strcmp(path, "/_quit")) {
            reply_text(c, "200 OK", "bye\n", 4);
            exit(0);
        } else if (!strcmp(method, "POST")) {
            n_requests++;
            int stream = memmem(body, clen, "\"stream\":true", 13) || memmem(body, clen, "\"stream\": true", 14);
            long hold = opt_num(opts, "hold", 0);
            if (hold > 0 && !stream) {
                c->held = 1;
                c->hold_next = holding;
                if (!holding) hold_since = now_ns();
                holding = c;
                hold_count++;
                hold_target = (int)hold;
            } else {
                rc = send_answer(c, stream, opts);
            }
        } else {
            rc = reply_text(c, "405 Method Not Allowed", "POST only\n", 10);
        }
        /* consume the request */
        size_t used = head_len + clen;
        memmove(c->in.p, c->in.p + used, c->in.len - used);
        c->in.len -= used;
        c->continued = 0;
        if (rc < 0) return -1;
        if (c->close_after && !c->st && !c->held && c->out.len == 0) return -1;
        if (c->held && hold_count >= hold_target) {
            release_holds();
            return c->dead ? -1 : 0;
        }
        if (c->held) arm_timer();
    }
    return 0;
}

static void on_timer(void) {
    uint64_t exp;
    if (read(tfd, &exp, sizeof exp) < 0) { /* spurious */
    }
    uint64_t now = now_ns();
    conn_t **pp = &pacing;
    while (*pp) {
        conn_t *c = *pp;
        if (c->due_ns <= now) {
            stream_t *s = c->st;
            int i = c->next_ev++;
            int rc = send_bytes(c, s->bytes.p + s->off[i], s->off[i + 1] - s->off[i]);
            if (rc < 0) {
                *pp = c->pace_next;
                c->pace_next = NULL;
                c->st = NULL;
                conn_close(c);
                continue;
            }
            if (c->next_ev >= s->events) {
                *pp = c->pace_next;
                c->pace_next = NULL;
                c->st = NULL;
                if (process(c) < 0) conn_close(c);
                continue;
            }
            c->due_ns = now + c->gap_ns;
        }
        pp = &c->pace_next;
    }
    if (holding && now >= hold_since + 10000000000ull) {
        n_hold_timeouts++;
        release_holds();
    }
    arm_timer();
}

int main(int argc, char **argv) {
    int port = 0;
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
            port_file = argv[++i];
        else
            die("usage: server [--port N] [--port-file PATH]");
    }
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1UL); /* precise pacing */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    build_chat();
    get_stream(500);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) die("bind: %s", strerror(errno));
    if (listen(ls, 4096) < 0) die("listen: %s", strerror(errno));
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    port = ntohs(a.sin_port);
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f) die("cannot write %s", tmp);
        fprintf(f, "%d\n", port);
        fclose(f);
        rename(tmp, port_file);
    }
    printf("listening %d\n", port);
    fflush(stdout);

    ep = epoll_create1(EPOLL_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e);
    e.data.ptr = &tfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e);

    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &ls) {
                for (;;) {
                    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    int sb = 4 << 20;
                    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
                    conn_t *c = calloc(1, sizeof *c);
                    c->fd = fd;
                    n_conns++;
                    struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            if (p == &tfd) {
                on_timer();
                continue;
            }
            conn_t *c = p;
            if (c->dead) continue;
            uint32_t ev = evs[i].events;
            if (ev & EPOLLOUT) {
                if (flush(c) < 0) {
                    conn_close(c);
                    continue;
                }
                if (c->out.len == 0) {
                    want_out(c, 0);
                    if (c->close_after && !c->st && !c->held) {
                        conn_close(c);
                        continue;
                    }
                }
            }
            if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                int closed = 0;
                for (;;) {
                    buf_reserve(&c->in, 16384);
                    ssize_t r = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1);
                    if (r > 0) {
                        c->in.len += (size_t)r;
                        c->in.p[c->in.len] = 0;
                        if ((size_t)r < c->in.cap - c->in.len - 1) break;
                        continue;
                    }
                    if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
                    closed = 1; /* EOF or error */
                    break;
                }
                if (process(c) < 0 || closed) conn_close(c);
            }
        }
        bury();
    }
}
