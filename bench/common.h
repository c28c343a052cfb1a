/* SPDX-License-Identifier: MIT
 *
 * bench/common.h: what the C drivers (curl_driver.c, aoai_driver.c) share: clocks, the
 * process's CPU and peak memory, a tiny blocking HTTP GET for the bench server's control
 * paths (/_cpu, /_expect/...), the request body and the RESULT line format that
 * bench/report.c reads.
 *
 * Every driver runs one case per process:   DRIVER CASE PORT ROUND [options]
 * and prints one line per measurement:
 *   RESULT case=C impl=I round=R value=V unit=U srv=S units=N cpu_us=X wall_us=W extra=...
 * `value` is the figure compared in the table (CPU per call, per 1 000 calls, per event,
 * MiB, ms), `srv` the server's CPU in the same unit.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The deployment path every driver posts to (the server answers any path). */
#define BENCH_PATH "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
#define BENCH_SYSTEM "You are a helpful assistant. Answer briefly."
#define BENCH_USER                                                                            \
    "Say hello in several languages \xe2\x80\x94 with emoji \xf0\x9f\x98\x80, \"quotes\", a "   \
    "back\\slash and a tab\there."

static inline void bench_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: FATAL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static inline uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* user + sys CPU of the whole process (all threads), in µs. */
static inline double bench_cpu_us(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* A field of /proc/self/status in kB (VmHWM, VmRSS, Threads), -1 if absent. */
static inline long bench_status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static inline void bench_raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Blocking GET of a control path; returns the malloc'd body (NUL-terminated) and its length. */
static inline char *bench_get(int port, const char *path, size_t *len_out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        bench_die("cannot connect to the bench server on port %d: %s", port, strerror(errno));
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) bench_die("write to bench server failed");
    size_t cap = 65536, len = 0;
    char *b = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) b = realloc(b, cap *= 2);
        ssize_t r = read(fd, b + len, cap - len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    b[len] = 0;
    char *body = strstr(b, "\r\n\r\n");
    if (!body || strncmp(b, "HTTP/1.1 200", 12)) bench_die("bad control answer for %s", path);
    body += 4;
    size_t bl = len - (size_t)(body - b);
    memmove(b, body, bl + 1);
    if (len_out) *len_out = bl;
    return b;
}

/* The server's CPU (user + sys) so far, in µs. */
static inline double bench_server_cpu_us(int port) {
    char *s = bench_get(port, "/_cpu", NULL);
    long long u = 0, sy = 0;
    sscanf(s, "%lld %lld", &u, &sy);
    free(s);
    return (double)(u + sy);
}

/* A measured section: client CPU (inside) and server CPU (outside, so the control GETs are
 * not counted as client work). */
typedef struct {
    int port;
    double srv0, cpu0;
    uint64_t t0;
    double srv, cpu, wall_us;
} bench_section_t;

static inline void bench_begin(bench_section_t *s, int port) {
    s->port = port;
    s->srv0 = bench_server_cpu_us(port);
    s->t0 = bench_now_ns();
    s->cpu0 = bench_cpu_us();
}

static inline void bench_end(bench_section_t *s) {
    s->cpu = bench_cpu_us() - s->cpu0;
    s->wall_us = (double)(bench_now_ns() - s->t0) / 1e3;
    s->srv = bench_server_cpu_us(s->port) - s->srv0;
}

static inline void bench_result(const char *cas, const char *impl, int round, double value,
                                const char *unit, double srv, long units, double cpu_us,
                                double wall_us, const char *extra) {
    printf("RESULT case=%s impl=%s round=%d value=%.4f unit=%s srv=%.4f units=%ld cpu_us=%.0f "
           "wall_us=%.0f%s%s\n",
           cas, impl, round, value, unit, srv, units, cpu_us, wall_us, extra && *extra ? " " : "",
           extra ? extra : "");
    fflush(stdout);
}

/* Scale of the case sizes: BENCH_SCALE=0.2 for a quick run. */
static inline long bench_scaled(long n) {
    const char *s = getenv("BENCH_SCALE");
    double f = s ? atof(s) : 1.0;
    if (f <= 0) f = 1.0;
    long v = (long)((double)n * f);
    return v < 1 ? 1 : v;
}

/* Runs `argv` as a child `k` times, measuring fork/exec to the first byte of the answer: the
 * child gets the fork time (CLOCK_MONOTONIC ns) in BENCH_T0 and prints "FIRST_BYTE_NS n".
 * Returns the median in ms; all samples go into `samples_ms`. */
static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline double bench_startup(char *const argv[], int k, double *samples_ms) {
    for (int i = 0; i < k; i++) {
        int pfd[2];
        if (pipe(pfd) < 0) bench_die("pipe");
        uint64_t t0 = bench_now_ns();
        pid_t pid = fork();
        if (pid == 0) {
            char env[64];
            snprintf(env, sizeof env, "%llu", (unsigned long long)t0);
            setenv("BENCH_T0", env, 1);
            dup2(pfd[1], 1);
            close(pfd[0]);
            close(pfd[1]);
            execv(argv[0], argv);
            _exit(127);
        }
        close(pfd[1]);
        char out[256] = {0};
        size_t len = 0;
        ssize_t r;
        while ((r = read(pfd[0], out + len, sizeof out - 1 - len)) > 0) len += (size_t)r;
        close(pfd[0]);
        int st;
        waitpid(pid, &st, 0);
        unsigned long long ns = 0;
        char *p = strstr(out, "FIRST_BYTE_NS ");
        if (!p || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || sscanf(p + 14, "%llu", &ns) != 1)
            bench_die("startup child failed (status %d): %s", st, out);
        samples_ms[i] = (double)ns / 1e6;
    }
    double tmp[256];
    int n = k < 256 ? k : 256;
    memcpy(tmp, samples_ms, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, bench_cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* The `startup` case of a driver: times fresh runs of `argv[0] startup-child PORT ROUND` up
   to the first byte of their answer and reports the median for IMPL. */
static inline void bench_startup_case(char **argv, const char *impl, int round) {
    int k = (int)bench_scaled(10);
    double samples[256];
    char *child[] = {argv[0], "startup-child", argv[2], argv[3], NULL};
    double med = bench_startup(child, k, samples);
    char extra[64];
    snprintf(extra, sizeof extra, "samples=%d", k);
    bench_result("startup", impl, round, med, "ms", 0, k, 0, 0, extra);
}

/* Calls in flight in the `mem` case (BENCH_MEM_N, default 1000). */
static inline int bench_mem_calls(void) {
    const char *s = getenv("BENCH_MEM_N");
    int n = s ? atoi(s) : 1000;
    return n > 0 ? n : 1000;
}

/* In the startup child: the answer's first byte is here. */
static inline void bench_first_byte(void) {
    uint64_t now = bench_now_ns();
    const char *t0 = getenv("BENCH_T0");
    if (!t0) return;
    printf("FIRST_BYTE_NS %llu\n", (unsigned long long)(now - strtoull(t0, NULL, 10)));
    fflush(stdout);
}

/* Checks an answer against the expected text; a wrong answer aborts the bench. */
static inline void bench_check(const char *what, const char *got, size_t got_len, const char *want,
                               size_t want_len) {
    if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0)) return;
    size_t i = 0;
    while (i < got_len && i < want_len && got[i] == want[i]) i++;
    bench_die("%s: wrong answer (got %zu bytes, want %zu; first difference at byte %zu: got "
              "\"%.40s\", want \"%.40s\")",
              what, got_len, want_len, i, i < got_len ? got + i : "", i < want_len ? want + i : "");
}

#endif
