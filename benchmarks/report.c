/*
 * crew-bench report [--quick] [--out DIR] [--workers N]
 *
 * Runs every workload (each as a child process of this binary, so that a
 * workload's implementations stay interleaved with each other), shows
 * progress, prints one table per workload, and writes DIR/results.csv,
 * DIR/results.md and SVG plots (DIR/<workload>.svg: the median of each
 * implementation per worker count, lower is better for times; and
 * DIR/speedup.svg: time on 1 worker over time on N workers).
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ROWS 512
#define MAX_KEYS 24

typedef struct row {
    char workload[32], impl[32], extra[64];
    unsigned workers;
    char metric[32];
    double median, min, max;
    int higher_is_better;
    int nkeys;
    char keys[MAX_KEYS][32], vals[MAX_KEYS][48];
} row;

static row rows[MAX_ROWS];
static int nrows;

/* One workload run: its name, the arguments for full and quick runs, and
 * whether it takes --workers as "only this many" (then the report runs it
 * once with 1 and once with N) rather than "1 and this many". */
typedef struct cell {
    const char *workload;
    const char *full_args;
    const char *quick_args;
    int one_count_per_run;
} cell;

static const cell cells[] = {
    {"fib", "--repeat 10", "--n 27 --repeat 3", 0},
    {"nqueens", "", "--n 9 --repeat 2", 0},
    {"matmul", "", "--n 128 --repeat 2", 0},
    {"sort", "", "--n 200000 --repeat 2", 0},
    {"uts_geo", "", "--repeat 2 --n 1", 0},
    {"uts_bin", "", "--repeat 2 --n 1", 0},
    /* knapsack and pi spawn every node of trees of 10^7 to 10^8 nodes by
     * default (Lace's scale), where OpenMP's and oneTBB's tasks take
     * minutes: the full report runs them smaller. */
    {"knapsack", "--n 22 --repeat 5", "--n 16 --repeat 2", 0},
    {"pi", "--n 1000000 --repeat 5", "--n 100000 --repeat 2", 0},
    {"strassen", "", "--n 128 --repeat 2", 0},
    {"for", "--repeat 10", "--n 2000000 --repeat 3", 0},
    {"graph", "", "--repeat 2", 1},
    {"submit", "--repeat 5", "--n 20000 --repeat 2", 0},
    {"serial", "--repeat 5", "--n 20000 --repeat 2", 0},
    {"wake", "", "--n 200", 0},
    {"idle", "", "--repeat 1", 0},
    {"objpool", "", "--n 200000 --repeat 3", 1},
    {"deque", "", "--n 200000 --repeat 3", 0},
};
#define NCELLS (sizeof cells / sizeof cells[0])

/* The metric of a line: the first of these keys it has. */
static const struct {
    const char *key;
    int higher_is_better;
} metrics[] = {
    {"median_s", 0},        {"median_tasks_per_s", 1}, {"median_pairs_per_s", 1},
    {"median_us", 0},       {"cpu_ms_per_s", 0},       {"median_ns", 0},
    {"median_steals_per_s", 1},
};

/* Copies (or, with append, adds) src to dst: src may lie in the same row,
 * which snprintf may not read from while it writes. */
static void put(char *dst, size_t size, const char *src, int append)
{
    char tmp[128];
    size_t n = strlen(src);
    if (n >= sizeof tmp)
        n = sizeof tmp - 1;
    memcpy(tmp, src, n);
    tmp[n] = '\0';
    size_t at = append ? strlen(dst) : 0;
    if (at + n + 1 > size)
        n = at + 1 < size ? size - at - 1 : 0;
    memcpy(dst + at, tmp, n);
    dst[at + n] = '\0';
}

/* dir/name into buf; 0 if it does not fit. */
static int path_in(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    return n > 0 && (size_t)n < size;
}

static const char *key_of(const row *r, const char *k)
{
    for (int i = 0; i < r->nkeys; i++)
        if (strcmp(r->keys[i], k) == 0)
            return r->vals[i];
    return NULL;
}

/* Parses `bench=W impl=I k=v ...` into a row; 0 if it is not such a line. */
static int parse_line(const char *line, row *r)
{
    if (strncmp(line, "bench=", 6) != 0)
        return 0;
    memset(r, 0, sizeof *r);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \n", &save); tok != NULL && r->nkeys < MAX_KEYS;
         tok = strtok_r(NULL, " \n", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        snprintf(r->keys[r->nkeys], sizeof r->keys[0], "%s", tok);
        snprintf(r->vals[r->nkeys], sizeof r->vals[0], "%s", eq + 1);
        r->nkeys++;
    }
    const char *w = key_of(r, "bench"), *impl = key_of(r, "impl");
    if (w == NULL || impl == NULL || key_of(r, "skipped") != NULL)
        return 0;
    put(r->workload, sizeof r->workload, w, 0);
    put(r->impl, sizeof r->impl, impl, 0);
    const char *wk = key_of(r, "workers");
    r->workers = wk != NULL ? (unsigned)atoi(wk) : 1;
    /* What distinguishes rows of one workload beyond impl and workers. */
    const char *distinct[] = {"queues", "producers", "threads", "shape", "op", "impl_detail"};
    for (size_t i = 0; i < sizeof distinct / sizeof distinct[0]; i++) {
        const char *v = key_of(r, distinct[i]);
        if (v != NULL) {
            if (r->extra[0] != '\0')
                put(r->extra, sizeof r->extra, " ", 1);
            put(r->extra, sizeof r->extra, distinct[i], 1);
            put(r->extra, sizeof r->extra, "=", 1);
            put(r->extra, sizeof r->extra, v, 1);
        }
    }
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
        const char *v = key_of(r, metrics[m].key);
        if (v == NULL)
            continue;
        put(r->metric, sizeof r->metric, metrics[m].key, 0);
        r->median = atof(v);
        r->higher_is_better = metrics[m].higher_is_better;
        /* min/max come as min_s/max_s, min_us/max_us, or min/max. */
        const char *lo = key_of(r, "min_s"), *hi = key_of(r, "max_s");
        if (lo == NULL) {
            lo = key_of(r, "min_us");
            hi = key_of(r, "max_us");
        }
        if (lo == NULL) {
            lo = key_of(r, "min");
            hi = key_of(r, "max");
        }
        if (lo == NULL) {
            lo = key_of(r, "min_ns");
            hi = key_of(r, "max_ns");
        }
        r->min = lo ? atof(lo) : r->median;
        r->max = hi ? atof(hi) : r->median;
        return 1;
    }
    return 0;
}

/* Runs `self WORKLOAD args`, echoing nothing, collecting its rows. 0 or -1. */
static int run_cell(const char *self, const cell *c, int quick, unsigned workers, FILE *log)
{
    char cmd[2048];
    int len = snprintf(cmd, sizeof cmd, "'%s' %s %s --workers %u 2>&1", self, c->workload,
                       quick ? c->quick_args : c->full_args, workers);
    if (len < 0 || (size_t)len >= sizeof cmd)
        return -1;
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    char line[1024];
    int got = 0;
    while (fgets(line, sizeof line, p) != NULL) {
        if (log != NULL)
            fputs(line, log);
        if (nrows < MAX_ROWS && parse_line(line, &rows[nrows])) {
            nrows++;
            got++;
        } else if (strstr(line, "WRONG") != NULL || strstr(line, "error") != NULL ||
                   strstr(line, "TIMEOUT") != NULL) {
            fprintf(stderr, "  %s: %s", c->workload, line);
        }
    }
    int status = pclose(p);
    if (status != 0) {
        fprintf(stderr, "  %s: exited with status %d\n", c->workload, status);
        return -1;
    }
    return got > 0 ? 0 : -1;
}

static const row *find(const char *workload, const char *impl, unsigned workers,
                       const char *extra)
{
    for (int i = 0; i < nrows; i++)
        if (strcmp(rows[i].workload, workload) == 0 && strcmp(rows[i].impl, impl) == 0 &&
            rows[i].workers == workers && strcmp(rows[i].extra, extra) == 0)
            return &rows[i];
    return NULL;
}

/* How many times better `r` is than `base` (> 1: r is faster / higher). */
static double advantage(const row *r, const row *base)
{
    if (base == NULL || r->median <= 0 || base->median <= 0)
        return 0;
    return r->higher_is_better ? r->median / base->median : base->median / r->median;
}

static void print_tables(FILE *f, int markdown)
{
    const char *last = "";
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (strcmp(r->workload, last) != 0) {
            last = r->workload;
            if (markdown)
                fprintf(f, "\n### %s (%s%s)\n\n| impl | workers | detail | median | min | max "
                           "| speed vs seq | crew's speed vs this |\n|---|---|---|---|---|---|---"
                           "|---|\n",
                        r->workload, r->metric,
                        r->higher_is_better ? ", higher is better" : ", lower is better");
            else
                fprintf(f, "\n%s (%s, %s is better)\n  %-22s %3s %-22s %12s %12s %12s %8s "
                           "%8s\n",
                        r->workload, r->metric, r->higher_is_better ? "higher" : "lower", "impl",
                        "w", "detail", "median", "min", "max", "vs seq", "crew/x");
        }
        const row *seq = find(r->workload, "seq", 1, r->extra);
        const row *crew = find(r->workload, "crew", r->workers, r->extra);
        if (crew == NULL)
            crew = find(r->workload, "crew_post", r->workers, r->extra);
        double vs_seq = advantage(r, seq), crew_vs = crew != NULL ? advantage(crew, r) : 0;
        char a[16] = "-", b[16] = "-";
        if (vs_seq > 0)
            snprintf(a, sizeof a, "%.2fx", vs_seq);
        if (crew_vs > 0)
            snprintf(b, sizeof b, "%.2fx", crew_vs);
        if (markdown)
            fprintf(f, "| %s | %u | %s | %.4g | %.4g | %.4g | %s | %s |\n", r->impl, r->workers,
                    r->extra, r->median, r->min, r->max, a, b);
        else
            fprintf(f, "  %-22s %3u %-22s %12.4g %12.4g %12.4g %8s %8s\n", r->impl, r->workers,
                    r->extra, r->median, r->min, r->max, a, b);
    }
}

static void write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    fprintf(f, "workload,impl,workers,detail,metric,median,min,max\n");
    for (int i = 0; i < nrows; i++)
        fprintf(f, "%s,%s,%u,%s,%s,%.9g,%.9g,%.9g\n", rows[i].workload, rows[i].impl,
                rows[i].workers, rows[i].extra, rows[i].metric, rows[i].median, rows[i].min,
                rows[i].max);
    fclose(f);
}

/* A horizontal bar chart: one bar per row of the workload, min-max whisker. */
static void write_svg(const char *dir, const char *workload)
{
    int idx[MAX_ROWS], n = 0;
    double top = 0;
    for (int i = 0; i < nrows; i++)
        if (strcmp(rows[i].workload, workload) == 0) {
            idx[n++] = i;
            if (rows[i].max > top)
                top = rows[i].max;
        }
    if (n == 0 || top <= 0)
        return;
    char path[512], name[64];
    snprintf(name, sizeof name, "%.50s.svg", workload);
    if (!path_in(path, sizeof path, dir, name))
        return;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    int bar = 18, left = 330, width = 460, h = 50 + n * (bar + 6);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n",
            left + width + 90, h);
    fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"15\">crew-bench %s: %s (%s is better; "
               "bar = median, line = min..max)</text>\n",
            workload, rows[idx[0]].metric, rows[idx[0]].higher_is_better ? "higher" : "lower");
    for (int k = 0; k < n; k++) {
        const row *r = &rows[idx[k]];
        int y = 35 + k * (bar + 6);
        int w = (int)(r->median / top * width);
        int x0 = left + (int)(r->min / top * width), x1 = left + (int)(r->max / top * width);
        const char *color = strncmp(r->impl, "crew", 4) == 0 ? "#2a7ab9"
                            : strcmp(r->impl, "seq") == 0     ? "#888888"
                                                              : "#d9822b";
        fprintf(f, "<text x=\"10\" y=\"%d\">%s, %u worker%s %s</text>\n", y + 13, r->impl,
                r->workers, r->workers == 1 ? "" : "s", r->extra);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", left, y,
                w > 1 ? w : 1, bar, color);
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", x0,
                y + bar / 2, x1, y + bar / 2);
        fprintf(f, "<text x=\"%d\" y=\"%d\">%.4g</text>\n", left + width + 8, y + 13, r->median);
    }
    fprintf(f, "</svg>\n");
    fclose(f);
}

/* Speedup over workers: time on 1 worker over time on the most workers, per
 * workload and implementation measured in seconds. */
static void write_speedup_svg(const char *dir)
{
    char path[512];
    if (!path_in(path, sizeof path, dir, "speedup.svg"))
        return;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    int lines = 0;
    char labels[MAX_ROWS][96];
    double values[MAX_ROWS];
    for (int i = 0; i < nrows && lines < MAX_ROWS; i++) {
        const row *r = &rows[i];
        if (r->workers <= 1 || strcmp(r->metric, "median_s") != 0)
            continue;
        const row *one = find(r->workload, r->impl, 1, r->extra);
        if (one == NULL || r->median <= 0)
            continue;
        int n = snprintf(labels[lines], sizeof labels[0], "%.31s %.31s %.20s (%u workers)",
                         r->workload, r->impl, r->extra, r->workers);
        if (n < 0)
            continue;
        values[lines++] = one->median / r->median;
    }
    int bar = 16, left = 380, width = 360, h = 60 + lines * (bar + 5);
    double top = 2.5;
    for (int i = 0; i < lines; i++)
        if (values[i] > top)
            top = values[i];
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n",
            left + width + 70, h);
    fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"15\">Speedup: time on 1 worker / time on "
               "N workers (the dashed line is N = 2)</text>\n");
    int x2 = left + (int)(2.0 / top * width);
    fprintf(f, "<line x1=\"%d\" y1=\"30\" x2=\"%d\" y2=\"%d\" stroke=\"#aa0000\" "
               "stroke-dasharray=\"4\"/>\n",
            x2, x2, h - 10);
    for (int i = 0; i < lines; i++) {
        int y = 35 + i * (bar + 5);
        int w = (int)(values[i] / top * width);
        fprintf(f, "<text x=\"10\" y=\"%d\">%s</text>\n", y + 12, labels[i]);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", left, y,
                w > 1 ? w : 1, bar, strstr(labels[i], " crew") ? "#2a7ab9" : "#d9822b");
        fprintf(f, "<text x=\"%d\" y=\"%d\">%.2fx</text>\n", left + w + 6, y + 12, values[i]);
    }
    fprintf(f, "</svg>\n");
    fclose(f);
}

int bench_report_main(int quick, const char *out, unsigned workers)
{
    const char *dir = out != NULL ? out : "bench-report";
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (workers == 0)
        workers = (unsigned)(ncpu > 1 ? ncpu : 2);
    char self[1024];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        fprintf(stderr, "crew-bench report: cannot find my own binary\n");
        return 1;
    }
    self[len] = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "crew-bench report: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char path[512];
    if (!path_in(path, sizeof path, dir, "raw.txt")) {
        fprintf(stderr, "crew-bench report: output path too long\n");
        return 1;
    }
    FILE *log = fopen(path, "w");
    printf("crew-bench report%s: %zu workloads, 1 and %u workers, implementations "
           "interleaved within each workload, medians of repeated runs\n",
           quick ? " --quick" : "", NCELLS, workers);
    int failed = 0, done = 0;
    double t0 = bench_now();
    for (size_t i = 0; i < NCELLS; i++) {
        if (!bench_known_workload(cells[i].workload))
            continue;
        printf("[%zu/%zu] %-8s ... ", i + 1, NCELLS, cells[i].workload);
        fflush(stdout);
        double c0 = bench_now();
        int rc = 0;
        if (cells[i].one_count_per_run && workers > 1)
            rc = run_cell(self, &cells[i], quick, 1, log);
        if (rc == 0)
            rc = run_cell(self, &cells[i], quick, workers, log);
        printf("%s (%.1f s)\n", rc == 0 ? "done" : "FAILED", bench_now() - c0);
        failed += rc != 0;
        done++;
    }
    if (log != NULL)
        fclose(log);
    printf("\n%d workloads in %.0f s%s\n", done, bench_now() - t0,
           failed ? ", SOME FAILED (see above)" : "");
    print_tables(stdout, 0);
    if (path_in(path, sizeof path, dir, "results.csv"))
        write_csv(path);
    FILE *md = path_in(path, sizeof path, dir, "results.md") ? fopen(path, "w") : NULL;
    if (md != NULL) {
        fprintf(md, "# crew-bench report%s\n\nEach workload ran its implementations "
                    "interleaved; medians with min and max. \"speed vs seq\": how many "
                    "times faster than the sequential twin; \"crew's speed vs this\": how many "
                    "times faster crew is than this implementation with the same workers "
                    "(below 1: this one is faster).\n",
                quick ? " (--quick: tiny sizes, a smoke run, not a measurement)" : "");
        print_tables(md, 1);
        fclose(md);
    }
    const char *last = "";
    for (int i = 0; i < nrows; i++)
        if (strcmp(rows[i].workload, last) != 0) {
            last = rows[i].workload;
            write_svg(dir, last);
        }
    write_speedup_svg(dir);
    printf("\nwrote %s/results.csv, %s/results.md, %s/raw.txt and SVG plots in %s/\n", dir, dir,
           dir, dir);
    return failed ? 1 : 0;
}
