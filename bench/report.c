/* SPDX-License-Identifier: MIT
 *
 * bench/report.c: turns the drivers' RESULT lines (stdin) into the bench table: per case the
 * libcurl floor and each aoai flavour as median [min-max] over the rounds, the per-round
 * ratio to libcurl (each aoai run divided by the libcurl run of the same round) as median
 * [min-max], the server's CPU, and the target with whether the median meets it.
 *
 * Usage: report < results.txt      (exit status 0; the table says what is met)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXR 4096
#define MAXROUNDS 64

typedef struct {
    char cas[32], impl[16], unit[24];
    int round;
    double value, srv;
    char extra[160];
} rec_t;

static rec_t recs[MAXR];
static int nrecs;

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int field(const char *line, const char *key, char *out, size_t cap) {
    char k[40];
    snprintf(k, sizeof k, " %s=", key);
    const char *p = strstr(line, k);
    if (!p) return 0;
    p += strlen(k);
    size_t n = strcspn(p, " \n");
    if (n >= cap) n = cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
    return 1;
}

/* Values of (case, impl) by round; returns how many. */
static int values(const char *cas, const char *impl, double *v, int *rounds, double *srv) {
    int n = 0;
    for (int i = 0; i < nrecs && n < MAXROUNDS; i++)
        if (!strcmp(recs[i].cas, cas) && !strcmp(recs[i].impl, impl)) {
            v[n] = recs[i].value;
            if (rounds) rounds[n] = recs[i].round;
            if (srv) srv[n] = recs[i].srv;
            n++;
        }
    return n;
}

static const rec_t *find(const char *cas, const char *impl, int round) {
    for (int i = 0; i < nrecs; i++)
        if (!strcmp(recs[i].cas, cas) && !strcmp(recs[i].impl, impl) && recs[i].round == round)
            return &recs[i];
    return NULL;
}

static const char *unit_of(const char *cas) {
    for (int i = 0; i < nrecs; i++)
        if (!strcmp(recs[i].cas, cas)) return recs[i].unit;
    return "";
}

static void fmt_stat(char *out, size_t cap, double *v, int n) {
    if (n == 0) {
        snprintf(out, cap, "-");
        return;
    }
    double tmp[MAXROUNDS];
    memcpy(tmp, v, (size_t)n * sizeof *v);
    double med = median(tmp, n);
    const char *f = med >= 100 ? "%.0f [%.0f-%.0f]" : med >= 10 ? "%.1f [%.1f-%.1f]" : "%.2f [%.2f-%.2f]";
    snprintf(out, cap, f, med, tmp[0], tmp[n - 1]);
}

typedef struct {
    const char *cas, *label, *impl;
    double target; /* ratio (or absolute for size / overhead) */
    const char *target_text;
} row_t;

static const row_t ROWS[] = {
    {"seq", "sequential chat, keep-alive: CPU/call", "aoai", 1.3, "<= 1.3x"},
    {"inflight", "64 in flight: CPU per 1000 calls", "aoai", 1.3, "<= 1.3x"},
    {"stream-paced", "500-event stream, 1 event/chunk: CPU/event", "aoai", 1.5, "<= 1.5x"},
    {"stream-paced", "  same, non-blocking op API", "aoai-op", 1.5, "(<= 1.5x)"},
    {"stream-oneshot", "500 events in one write: CPU/event", "aoai", 3.0, "<= 3x"},
    {"stream-oneshot", "  same, non-blocking op API", "aoai-op", 3.0, "(<= 3x)"},
    {"mem", "peak RSS, 1000 in flight (VmHWM)", "aoai", 1.0, "<= 1.0x"},
    {"startup", "process start to first answer", "aoai", 1.0, "<= 1.0x"},
};

int main(void) {
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "RESULT ", 7) || nrecs >= MAXR) continue;
        rec_t *r = &recs[nrecs];
        char buf[64];
        line[strcspn(line, "\n")] = 0;
        char *l = line + 6; /* keep the leading space for field() */
        if (!field(l, "case", r->cas, sizeof r->cas) || !field(l, "impl", r->impl, sizeof r->impl) ||
            !field(l, "value", buf, sizeof buf))
            continue;
        r->value = atof(buf);
        r->round = field(l, "round", buf, sizeof buf) ? atoi(buf) : 0;
        r->srv = field(l, "srv", buf, sizeof buf) ? atof(buf) : 0;
        field(l, "unit", r->unit, sizeof r->unit);
        nrecs++;
    }

    printf("| case | unit | libcurl median [min-max] | aoai median [min-max] | ratio per round median "
           "[min-max] | server CPU curl / aoai | target | met |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    int met_all = 1, rows = 0;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        const row_t *row = &ROWS[i];
        double cv[MAXROUNDS], av[MAXROUNDS], cs[MAXROUNDS], as[MAXROUNDS], ratio[MAXROUNDS];
        int ar[MAXROUNDS];
        int nc = values(row->cas, "curl", cv, NULL, cs);
        int na = values(row->cas, row->impl, av, ar, as);
        if (na == 0) continue;
        int nr = 0;
        for (int k = 0; k < na; k++) {
            const rec_t *b = find(row->cas, "curl", ar[k]);
            if (b && b->value > 0) ratio[nr++] = av[k] / b->value;
        }
        char sc[64], sa[64], sr[64], ss[64];
        fmt_stat(sc, sizeof sc, cv, nc);
        fmt_stat(sa, sizeof sa, av, na);
        fmt_stat(sr, sizeof sr, ratio, nr);
        double rm = 0;
        if (nr) {
            double tmp[MAXROUNDS];
            memcpy(tmp, ratio, (size_t)nr * sizeof *tmp);
            rm = median(tmp, nr);
        }
        if (strcmp(row->cas, "mem") && strcmp(row->cas, "startup")) {
            double t1[MAXROUNDS], t2[MAXROUNDS];
            memcpy(t1, cs, (size_t)nc * sizeof *t1);
            memcpy(t2, as, (size_t)na * sizeof *t2);
            snprintf(ss, sizeof ss, "%.2f / %.2f", nc ? median(t1, nc) : 0, median(t2, na));
        } else {
            snprintf(ss, sizeof ss, "-");
        }
        int met = nr > 0 && rm <= row->target;
        int informative = row->target_text[0] == '(';
        if (!informative) met_all &= met;
        printf("| %s | %s | %s | %s | %sx | %s | %s | %s |\n", row->label, unit_of(row->cas), sc, sa, sr,
               ss, row->target_text, nr == 0 ? "?" : met ? "yes" : "NO");
        rows++;
    }
    /* library size (absolute) */
    {
        double v[MAXROUNDS];
        int n = values("size", "aoai", v, NULL, NULL);
        if (n) {
            int met = v[0] <= 6.0;
            met_all &= met;
            printf("| stripped libaoai.so size | MiB | - | %.2f | - | - | <= 6 MiB | %s |\n", v[0],
                   met ? "yes" : "NO");
            rows++;
        }
    }
    /* C# binding. The target row is measured inside one Mono process, in interleaved blocks:
     * the public API minus raw P/Invoke of the C driver's 9 calls (cs - cs-raw), plus 9 bare
     * P/Invoke transitions (cs-transition): what the binding adds over making the same C calls.
     * The cross-process difference to the C driver of the same round is shown for reference
     * (noisier: two processes, two moments). */
    {
        double pv[MAXROUNDS], d[MAXROUNDS], tv[MAXROUNDS];
        int pr[MAXROUNDS];
        int n = values("seq", "cs", pv, pr, NULL), nd = 0;
        int nt = values("cs-transition", "cs", tv, NULL, NULL);
        double tmed = 0;
        if (nt) {
            double tmp[MAXROUNDS];
            memcpy(tmp, tv, (size_t)nt * sizeof *tmp);
            tmed = median(tmp, nt);
        }
        for (int j = 0; j < n; j++) {
            const rec_t *b = find("seq", "cs-raw", pr[j]);
            if (b) d[nd++] = pv[j] - b->value + 9 * tmed / 1000.0;
        }
        if (nd) {
            char sc[64], sd[64];
            fmt_stat(sc, sizeof sc, pv, n);
            fmt_stat(sd, sizeof sd, d, nd);
            double tmp[MAXROUNDS];
            memcpy(tmp, d, (size_t)nd * sizeof *tmp);
            double dm = median(tmp, nd);
            int met = dm <= 10.0;
            met_all &= met;
            printf("| C# binding (Mono), seq chat: public API over the same C calls | us/call | - | %s | +%s us | - | <= 10 us | %s |\n",
                   sc, sd, met ? "yes" : "NO");
            rows++;
        }
        if (nt) {
            char st[64];
            fmt_stat(st, sizeof st, tv, nt);
            printf("|   of which: one bare P/Invoke transition (x9 per call) | ns/call | - | %s | - | - | (info) | - |\n", st);
        }
        n = values("cs-fill", "cs", pv, NULL, NULL);
        if (n) {
            char sf[64];
            fmt_stat(sf, sizeof sf, pv, n);
            printf("|   of which: ChatResponse.Fill (copy of every response field) | us/call | - | %s | - | - | (info) | - |\n", sf);
        }
        static const struct {
            const char *impl, *label;
        } CS[] = {
            {"cs", "  C# public API minus the C driver (2 processes, noisy)"},
            {"cs-raw", "  C# raw P/Invoke minus the C driver (2 processes, noisy)"},
        };
        for (size_t k = 0; k < 2; k++) {
            double cv[MAXROUNDS], dd[MAXROUNDS];
            int cr[MAXROUNDS];
            int m = values("seq", CS[k].impl, cv, cr, NULL), ndd = 0;
            for (int j = 0; j < m; j++) {
                const rec_t *b = find("seq", "aoai", cr[j]);
                if (b) dd[ndd++] = cv[j] - b->value;
            }
            if (!ndd) continue;
            char sc[64], sd[64];
            fmt_stat(sc, sizeof sc, cv, m);
            fmt_stat(sd, sizeof sd, dd, ndd);
            printf("| %s | us/call | - | %s | %s us | - | (info) | - |\n", CS[k].label, sc, sd);
        }
    }
    if (rows == 0) {
        printf("(no results)\n");
        return 1;
    }
    printf("\nall targets met: %s\n", met_all ? "yes" : "no");
    return 0;
}
