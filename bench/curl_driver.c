/* SPDX-License-Identifier: MIT
 *
 * bench/curl_driver.c: the native floor. A hand-written C client on libcurl's multi interface
 * with keep-alive, doing each bench case and parsing exactly what it needs to verify the
 * answer: choices[0].message.content of a chat answer, and for streams a minimal SSE framing
 * plus JSON string extraction of each delta's content, joined and compared with the server's
 * expected text.
 *
 * Usage: curl_driver CASE PORT ROUND
 *   CASE: seq | inflight | stream-paced | stream-oneshot | mem | startup | startup-child
 */
#include "common.h"

#include <curl/curl.h>

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_reserve(sbuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) bench_die("out of memory");
    b->cap = cap;
}
static void sb_add(sbuf *b, const char *p, size_t n) {
    sb_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_char(sbuf *b, char c) { sb_add(b, &c, 1); }

/* JSON-escapes `s` into `b` (what any C client must do with user text). */
static void json_escape(sbuf *b, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': sb_add(b, "\\\"", 2); break;
        case '\\': sb_add(b, "\\\\", 2); break;
        case '\n': sb_add(b, "\\n", 2); break;
        case '\r': sb_add(b, "\\r", 2); break;
        case '\t': sb_add(b, "\\t", 2); break;
        default:
            if (c < 0x20) {
                char u[8];
                snprintf(u, sizeof u, "\\u%04x", c);
                sb_add(b, u, 6);
            } else {
                sb_char(b, (char)c);
            }
        }
    }
}

static void build_body(sbuf *b, int stream) {
    b->len = 0;
    sb_str(b, "{\"messages\":[{\"role\":\"system\",\"content\":\"");
    json_escape(b, BENCH_SYSTEM);
    sb_str(b, "\"},{\"role\":\"user\",\"content\":\"");
    json_escape(b, BENCH_USER);
    sb_str(b, "\"}],\"max_tokens\":256,\"temperature\":0.2");
    if (stream) sb_str(b, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    sb_str(b, "}");
}

static void put_utf8(sbuf *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sb_add(b, u, n);
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* Decodes the JSON string starting after its opening quote at `p`; appends to `out`.
 * Returns the position after the closing quote, or NULL if malformed/truncated. */
static const char *json_string(const char *p, const char *end, sbuf *out) {
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '"' && *q != '\\') q++;
        if (q > p) sb_add(out, p, (size_t)(q - p));
        if (q >= end) return NULL;
        if (*q == '"') return q + 1;
        if (q + 1 >= end) return NULL;
        char c = q[1];
        p = q + 2;
        switch (c) {
        case '"': sb_char(out, '"'); break;
        case '\\': sb_char(out, '\\'); break;
        case '/': sb_char(out, '/'); break;
        case 'b': sb_char(out, '\b'); break;
        case 'f': sb_char(out, '\f'); break;
        case 'n': sb_char(out, '\n'); break;
        case 'r': sb_char(out, '\r'); break;
        case 't': sb_char(out, '\t'); break;
        case 'u': {
            unsigned cp, lo;
            if (end - p < 4 || hex4(p, &cp)) return NULL;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return NULL;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            put_utf8(out, cp);
            break;
        }
        default: return NULL;
        }
    }
    return NULL;
}

/* ---- one transfer ------------------------------------------------------------------------ */

typedef struct {
    CURL *e;
    int stream;
    sbuf body, resp;
    /* SSE state */
    sbuf line, data, text;
    int has_data, done;
    long events, reads;
    int first_byte_marked;
} xfer_t;

static const char *g_mark_first_byte; /* startup child: mark the first byte of the answer */

static void sse_dispatch(xfer_t *x, const char *d, size_t n) {
    x->events++;
    if (n == 6 && !memcmp(d, "[DONE]", 6)) {
        x->done = 1;
        return;
    }
    const char *end = d + n;
    const char *p = memmem(d, n, "\"delta\":{", 9);
    if (!p) return;
    p += 9;
    if ((size_t)(end - p) > 11 && !memcmp(p, "\"content\":\"", 11)) {
        if (!json_string(p + 11, end, &x->text)) bench_die("curl: malformed delta content");
    }
}

static void sse_line(xfer_t *x, const char *l, size_t n) {
    if (n && l[n - 1] == '\r') n--;
    if (n == 0) {
        if (x->has_data) {
            sse_dispatch(x, x->data.p, x->data.len);
            x->data.len = 0;
            x->has_data = 0;
        }
        return;
    }
    if (n >= 5 && !memcmp(l, "data:", 5)) {
        l += 5;
        n -= 5;
        if (n && *l == ' ') l++, n--;
        if (x->has_data) sb_char(&x->data, '\n');
        sb_add(&x->data, l, n);
        x->has_data = 1;
    }
}

static size_t on_write(char *p, size_t sz, size_t nm, void *ud) {
    xfer_t *x = ud;
    size_t n = sz * nm;
    if (g_mark_first_byte && !x->first_byte_marked) {
        x->first_byte_marked = 1;
        bench_first_byte();
    }
    x->reads++;
    if (!x->stream) {
        sb_add(&x->resp, p, n);
        return n;
    }
    const char *s = p, *end = p + n;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) {
            sb_add(&x->line, s, (size_t)(end - s));
            break;
        }
        if (x->line.len) {
            sb_add(&x->line, s, (size_t)(nl - s));
            sse_line(x, x->line.p, x->line.len);
            x->line.len = 0;
        } else {
            sse_line(x, s, (size_t)(nl - s));
        }
        s = nl + 1;
    }
    return n;
}

static struct curl_slist *g_headers;
static char g_url[256];

static void xfer_init(xfer_t *x, int stream) {
    memset(x, 0, sizeof *x);
    x->stream = stream;
    x->e = curl_easy_init();
    curl_easy_setopt(x->e, CURLOPT_URL, g_url);
    curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, g_headers);
    curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(x->e, CURLOPT_USERAGENT, "bench-curl");
}

/* Prepares the next call on the handle (fresh body, reset buffers). */
static void xfer_prepare(xfer_t *x) {
    build_body(&x->body, x->stream);
    curl_easy_setopt(x->e, CURLOPT_POSTFIELDSIZE, (long)x->body.len);
    curl_easy_setopt(x->e, CURLOPT_POSTFIELDS, x->body.p);
    x->resp.len = x->line.len = x->data.len = x->text.len = 0;
    x->has_data = x->done = 0;
    x->events = x->reads = 0;
}

static char *g_expect_chat, *g_expect_stream;
static size_t g_expect_chat_len, g_expect_stream_len;

/* Verifies a finished transfer. */
static void xfer_check(xfer_t *x, CURLcode rc) {
    long code = 0;
    if (rc != CURLE_OK) bench_die("curl: transfer failed: %s", curl_easy_strerror(rc));
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) bench_die("curl: HTTP %ld", code);
    if (x->stream) {
        if (!x->done) bench_die("curl: stream ended without [DONE]");
        bench_check("curl stream", x->text.p ? x->text.p : "", x->text.len, g_expect_stream,
                    g_expect_stream_len);
        return;
    }
    const char *end = x->resp.p + x->resp.len;
    const char *m = x->resp.p ? memmem(x->resp.p, x->resp.len, "\"message\":{", 11) : NULL;
    const char *c = m ? memmem(m, (size_t)(end - m), "\"content\":\"", 11) : NULL;
    if (!c) bench_die("curl: no choices[0].message.content in the answer");
    x->text.len = 0;
    if (!json_string(c + 11, end, &x->text)) bench_die("curl: malformed content string");
    bench_check("curl chat", x->text.p, x->text.len, g_expect_chat, g_expect_chat_len);
}

/* Drives the multi handle until `*remaining` transfers are done; `on_done` is called for each. */
static void multi_run(CURLM *m, long *remaining, void (*on_done)(CURLM *, xfer_t *, CURLcode)) {
    int running = 0;
    while (*remaining > 0) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int q;
        while ((msg = curl_multi_info_read(m, &q))) {
            if (msg->msg != CURLMSG_DONE) continue;
            xfer_t *x;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode rc = msg->data.result;
            curl_multi_remove_handle(m, x->e);
            (*remaining)--;
            on_done(m, x, rc);
        }
        if (*remaining > 0) curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
}

static long g_to_start; /* calls still to start (inflight case) */

static void done_check(CURLM *m, xfer_t *x, CURLcode rc) {
    (void)m;
    xfer_check(x, rc);
}

static void done_restart(CURLM *m, xfer_t *x, CURLcode rc) {
    xfer_check(x, rc);
    if (g_to_start > 0) {
        g_to_start--;
        xfer_prepare(x);
        curl_multi_add_handle(m, x->e);
    }
}

static CURLcode g_last_rc;
static void done_store(CURLM *m, xfer_t *x, CURLcode rc) {
    (void)m;
    (void)x;
    g_last_rc = rc;
}

static void one_call(CURLM *m, xfer_t *x) {
    xfer_prepare(x);
    curl_multi_add_handle(m, x->e);
    long remaining = 1;
    multi_run(m, &remaining, done_check);
}

static void setup(int port, const char *xbench) {
    snprintf(g_url, sizeof g_url, "http://127.0.0.1:%d" BENCH_PATH, port);
    g_headers = curl_slist_append(NULL, "Content-Type: application/json");
    g_headers = curl_slist_append(g_headers, "api-key: bench-key");
    g_headers = curl_slist_append(g_headers, "Expect:");
    if (xbench) {
        char h[256];
        snprintf(h, sizeof h, "x-bench: %s", xbench);
        g_headers = curl_slist_append(g_headers, h);
    }
}

int main(int argc, char **argv) {
    if (argc < 4) bench_die("usage: curl_driver CASE PORT ROUND");
    const char *cas = argv[1];
    int port = atoi(argv[2]);
    int round = atoi(argv[3]);
    bench_raise_nofile();

    if (!strcmp(cas, "startup")) {
        bench_startup_case(argv, "curl", round);
        return 0;
    }

    curl_global_init(CURL_GLOBAL_ALL);
    const char *gap = getenv("BENCH_GAP_US");
    char xb[128];
    if (!strcmp(cas, "stream-paced"))
        snprintf(xb, sizeof xb, "mode=paced,events=500,gap-us=%s", gap ? gap : "100");
    else if (!strcmp(cas, "stream-oneshot"))
        snprintf(xb, sizeof xb, "mode=oneshot,events=500");
    else if (!strcmp(cas, "mem"))
        snprintf(xb, sizeof xb, "hold=%d", bench_mem_calls());
    else
        xb[0] = 0;
    setup(port, xb[0] ? xb : NULL);

    if (!strcmp(cas, "startup-child")) {
        g_mark_first_byte = "1";
        CURLM *m = curl_multi_init();
        xfer_t x;
        xfer_init(&x, 0);
        curl_easy_setopt(x.e, CURLOPT_PRIVATE, &x);
        xfer_prepare(&x);
        curl_multi_add_handle(m, x.e);
        long remaining = 1;
        multi_run(m, &remaining, done_store);
        /* verified against the server's expected text after the clock stopped */
        g_expect_chat = bench_get(port, "/_expect/chat", &g_expect_chat_len);
        xfer_check(&x, g_last_rc);
        return 0;
    }

    g_expect_chat = bench_get(port, "/_expect/chat", &g_expect_chat_len);
    g_expect_stream = bench_get(port, "/_expect/stream?events=500", &g_expect_stream_len);
    CURLM *m = curl_multi_init();
    bench_section_t s;

    if (!strcmp(cas, "seq")) {
        long n = bench_scaled(2000);
        xfer_t x;
        xfer_init(&x, 0);
        curl_easy_setopt(x.e, CURLOPT_PRIVATE, &x);
        for (int i = 0; i < 100; i++) one_call(m, &x);
        bench_begin(&s, port);
        for (long i = 0; i < n; i++) one_call(m, &x);
        bench_end(&s);
        bench_result(cas, "curl", round, s.cpu / (double)n, "us/call", s.srv / (double)n, n, s.cpu,
                     s.wall_us, NULL);
    } else if (!strcmp(cas, "inflight")) {
        long n = bench_scaled(4000);
        int k = 64;
        curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)k);
        xfer_t *xs = calloc((size_t)k, sizeof *xs);
        for (int i = 0; i < k; i++) {
            xfer_init(&xs[i], 0);
            curl_easy_setopt(xs[i].e, CURLOPT_PRIVATE, &xs[i]);
        }
        /* warm-up: open the 64 connections */
        for (int w = 0; w < 2; w++) {
            for (int i = 0; i < k; i++) {
                xfer_prepare(&xs[i]);
                curl_multi_add_handle(m, xs[i].e);
            }
            long remaining = k;
            multi_run(m, &remaining, done_check);
        }
        bench_begin(&s, port);
        g_to_start = n - k;
        for (int i = 0; i < k; i++) {
            xfer_prepare(&xs[i]);
            curl_multi_add_handle(m, xs[i].e);
        }
        long remaining = n;
        multi_run(m, &remaining, done_restart);
        bench_end(&s);
        /* µs per call == ms per 1 000 calls */
        bench_result(cas, "curl", round, s.cpu / (double)n, "ms/1000calls",
                     s.srv / (double)n, n, s.cpu, s.wall_us, NULL);
    } else if (!strcmp(cas, "stream-paced") || !strcmp(cas, "stream-oneshot")) {
        long streams = bench_scaled(!strcmp(cas, "stream-paced") ? 10 : 40);
        xfer_t x;
        xfer_init(&x, 1);
        curl_easy_setopt(x.e, CURLOPT_PRIVATE, &x);
        one_call(m, &x);
        long events = 0, reads = 0;
        bench_begin(&s, port);
        for (long i = 0; i < streams; i++) {
            one_call(m, &x);
            events += x.events;
            reads += x.reads;
        }
        bench_end(&s);
        if (events != streams * 500) bench_die("curl: %ld events, want %ld", events, streams * 500);
        char extra[96];
        snprintf(extra, sizeof extra, "callbacks_per_event=%.2f wall_us_per_event=%.1f",
                 (double)reads / (double)events, s.wall_us / (double)events);
        bench_result(cas, "curl", round, s.cpu / (double)events, "us/event", s.srv / (double)events,
                     events, s.cpu, s.wall_us, extra);
    } else if (!strcmp(cas, "mem")) {
        int k = bench_mem_calls();
        xfer_t *xs = calloc((size_t)k, sizeof *xs);
        bench_begin(&s, port);
        for (int i = 0; i < k; i++) {
            xfer_init(&xs[i], 0);
            curl_easy_setopt(xs[i].e, CURLOPT_PRIVATE, &xs[i]);
            xfer_prepare(&xs[i]);
            curl_multi_add_handle(m, xs[i].e);
        }
        long remaining = k;
        multi_run(m, &remaining, done_check);
        bench_end(&s);
        long hwm = bench_status_kb("VmHWM");
        char extra[96];
        snprintf(extra, sizeof extra, "threads=%ld", bench_status_kb("Threads"));
        bench_result(cas, "curl", round, (double)hwm / 1024.0, "MiB", 0, k, s.cpu, s.wall_us, extra);
    } else {
        bench_die("unknown case '%s'", cas);
    }
    return 0;
}
