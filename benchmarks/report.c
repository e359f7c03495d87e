/*
 * crew-bench report [--quick] [--out DIR] [--workers N]
 *
 * Runs every workload, each as a child process of this binary (so that a
 * workload's implementations stay interleaved with each other), with a
 * live status line and an estimate of the time left; prints one table per
 * workload and writes DIR/raw.txt (the workloads' own lines), DIR/results.csv,
 * DIR/results.md and SVG plots: DIR/<workload>.svg (medians with p10-p90
 * whiskers, grouped by worker count, one panel per unit and detail) and
 * DIR/speedup.svg (the sequential twin's time over each implementation's,
 * per worker count).
 *
 * One ratio convention everywhere (tables, CSV, the workloads' speed_vs_X
 * keys): speed relative to X = X's median time over this row's median time
 * (for a rate, this row's rate over X's); above 1, this row is faster.
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ROWS 1024
#define MAX_KEYS 32

typedef struct row {
    char workload[32], impl[32];
    /* group: the keys that split a workload into separate comparisons
     * (shape, producers, ...); variant: the keys that make rows of one
     * comparison different series (grain, cutoff_n). */
    char group[64], variant[48];
    unsigned workers;
    int by_threads; /* the count came from threads=, not workers= */
    int run;        /* which child process printed it */
    char unit[24];  /* s, us, ns, tasks_per_s, ... */
    double median, p10, p90, min, max;
    int higher_is_better;
    int nkeys;
    char keys[MAX_KEYS][32], vals[MAX_KEYS][48];
} row;

static row rows[MAX_ROWS];
static int nrows;
static int run_id; /* the child process (or --from run) the rows come from */

/* One workload run: its name, the arguments for full and quick runs,
 * whether it takes --workers as "only this many" (then the report runs it
 * once with 1 and once with N) rather than "1 and this many", and about
 * how long it takes on the 2-vCPU development VM, full and quick, in
 * seconds: the weights of the time-left estimate, which scales them by
 * how fast the finished workloads went compared with these figures. */
typedef struct cell {
    const char *workload;
    const char *full_args;
    const char *quick_args;
    int one_count_per_run;
    double full_s, quick_s;
} cell;

static const cell cells[] = {
    {"fib", "--repeat 10", "--n 27 --repeat 3", 0, 20, 4.7},
    {"nqueens", "", "--n 9 --repeat 2", 0, 9, 0.7},
    {"matmul", "", "--n 128 --repeat 2", 0, 12, 0.6},
    {"sort", "", "--n 200000 --repeat 2", 0, 22, 2.4},
    {"uts_geo", "", "--repeat 2 --n 1", 0, 16, 0.7},
    {"uts_bin", "", "--repeat 2 --n 1", 0, 10, 0.6},
    {"uts_t1", "--repeat 3", "--repeat 2 --n 1", 0, 40, 0.3},
    {"uts_t3", "--repeat 3", "--repeat 2 --n 1", 0, 40, 0.3},
    /* knapsack and pi spawn every node of trees of 10^7 to 10^8 nodes by
     * default (Lace's scale), where OpenMP's and oneTBB's tasks take
     * minutes: the full report runs them smaller. */
    {"knapsack", "--n 22 --repeat 5", "--n 16 --repeat 2", 0, 5, 1.1},
    {"pi", "--n 1000000 --repeat 5", "--n 100000 --repeat 2", 0, 3, 1.7},
    {"strassen", "", "--n 128 --repeat 2", 0, 20, 0.8},
    /* dfs's default (10^8 leaves) takes OpenMP tasks and oneTBB most of a
     * minute a run: the full report runs 10^7. */
    {"dfs", "--n 7 --repeat 5", "--n 4 --repeat 2", 0, 10, 0.3},
    {"for", "--repeat 10", "--n 2000000 --repeat 3", 0, 5, 1.2},
    /* docs/choosing.md's figures (--repeat 1: one round after the
     * warm-up, a smoke run). */
    {"grain", "", "--n 1000000 --repeat 1", 0, 45, 8},
    {"graph", "", "--repeat 2", 1, 10, 6.9},
    {"submit", "--repeat 5", "--n 20000 --repeat 2", 0, 15, 0.4},
    {"serial", "--repeat 5", "--n 20000 --repeat 2", 0, 15, 0.6},
    {"wake", "", "--n 200", 0, 17, 2.2},
    {"idle", "", "--repeat 1", 0, 7, 2.1},
    {"objpool", "", "--n 200000 --repeat 3", 1, 5, 1.3},
    {"deque", "", "--n 200000 --repeat 3", 0, 2, 0.2},
};
#define NCELLS (sizeof cells / sizeof cells[0])

/* ---- parsing the workloads' lines ---------------------------------- */

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

/* snprintf for text that may be cut short (titles, labels). */
__attribute__((format(printf, 3, 4))) static void sfmt(char *buf, size_t size,
                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

static const char *key_of(const row *r, const char *k)
{
    for (int i = 0; i < r->nkeys; i++)
        if (strcmp(r->keys[i], k) == 0)
            return r->vals[i];
    return NULL;
}

/* The value of key PREFIX_UNIT (e.g. p10_s), or of `legacy`, or NULL. */
static const char *stat_of(const row *r, const char *prefix, const char *legacy)
{
    char k[64];
    snprintf(k, sizeof k, "%s_%s", prefix, r->unit);
    const char *v = key_of(r, k);
    return v != NULL ? v : legacy != NULL ? key_of(r, legacy) : NULL;
}

/* Adds " key=value" (for each of `keys` the row has) to dst. */
static void collect(const row *r, const char *const *keys, size_t nkeys, char *dst, size_t size)
{
    for (size_t i = 0; i < nkeys; i++) {
        const char *v = key_of(r, keys[i]);
        if (v == NULL)
            continue;
        if (dst[0] != '\0')
            put(dst, size, " ", 1);
        put(dst, size, keys[i], 1);
        put(dst, size, "=", 1);
        put(dst, size, v, 1);
    }
}

/* A unit is a rate (higher is better) when it ends in _per_s, except CPU
 * time per second, a cost. */
static int unit_is_rate(const char *unit)
{
    size_t n = strlen(unit);
    return n > 6 && strcmp(unit + n - 6, "_per_s") == 0 && strcmp(unit, "cpu_ms_per_s") != 0;
}

/* Parses `bench=W impl=I k=v ...` into a row; 0 if it is not a result. */
static int parse_line(const char *line, row *r, int run)
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
    r->run = run;
    const char *wk = key_of(r, "workers"), *th = key_of(r, "threads");
    static const char *const group_keys[] = {"queues", "producers", "threads", "shape", "op",
                                             "part"};
    static const char *const variant_keys[] = {"grain", "cutoff_n", "impl_detail"};
    if (wk == NULL && th != NULL) {
        /* Thread counts are what such a workload (objpool) varies. */
        r->workers = (unsigned)atoi(th);
        r->by_threads = 1;
        collect(r, group_keys + 3, 3, r->group, sizeof r->group);
        collect(r, group_keys, 2, r->group, sizeof r->group);
    } else {
        r->workers = wk != NULL ? (unsigned)atoi(wk) : 1;
        collect(r, group_keys, sizeof group_keys / sizeof group_keys[0], r->group,
                sizeof r->group);
    }
    collect(r, variant_keys, sizeof variant_keys / sizeof variant_keys[0], r->variant,
            sizeof r->variant);
    /* The metric: the median_UNIT key (or idle's older cpu_ms_per_s). */
    const char *median = NULL;
    for (int i = 0; i < r->nkeys && median == NULL; i++)
        if (strncmp(r->keys[i], "median_", 7) == 0) {
            put(r->unit, sizeof r->unit, r->keys[i] + 7, 0);
            median = r->vals[i];
        }
    if (median == NULL && (median = key_of(r, "cpu_ms_per_s")) != NULL)
        put(r->unit, sizeof r->unit, "cpu_ms_per_s", 0);
    if (median == NULL)
        return 0;
    r->median = atof(median);
    r->higher_is_better = unit_is_rate(r->unit);
    const char *lo = stat_of(r, "min", "min"), *hi = stat_of(r, "max", "max");
    r->min = lo != NULL ? atof(lo) : r->median;
    r->max = hi != NULL ? atof(hi) : r->median;
    /* Lines from before p10/p90 existed: their whiskers are min-max. */
    const char *p10 = stat_of(r, "p10", NULL), *p90 = stat_of(r, "p90", NULL);
    r->p10 = p10 != NULL ? atof(p10) : r->min;
    r->p90 = p90 != NULL ? atof(p90) : r->max;
    return 1;
}

/* ---- units and numbers --------------------------------------------- */

/* What a unit measures, for titles and axes. */
static const char *unit_what(const char *unit)
{
    if (strcmp(unit, "s") == 0)
        return "time per run";
    if (strcmp(unit, "us") == 0)
        return "latency";
    if (strcmp(unit, "ns") == 0)
        return "time per operation";
    if (strcmp(unit, "cpu_ms_per_s") == 0)
        return "CPU time per second of idling";
    if (unit_is_rate(unit))
        return "throughput";
    return unit;
}

/* How a value of `unit` is shown: its value multiplied by *scale, in
 * `label`, chosen for values around `typical`. */
static void unit_scale(const char *unit, double typical, double *scale, char *label,
                       size_t size)
{
    double secs = strcmp(unit, "s") == 0    ? 1
                  : strcmp(unit, "us") == 0 ? 1e-6
                  : strcmp(unit, "ns") == 0 ? 1e-9
                                            : 0;
    if (secs > 0) {
        double t = fabs(typical) * secs;
        const char *name = t >= 1 ? "s" : t >= 1e-3 ? "ms" : t >= 1e-6 ? "us" : "ns";
        double per = t >= 1 ? 1 : t >= 1e-3 ? 1e-3 : t >= 1e-6 ? 1e-6 : 1e-9;
        *scale = secs / per;
        snprintf(label, size, "%s", name);
        return;
    }
    if (unit_is_rate(unit)) {
        char what[32];
        snprintf(what, sizeof what, "%.*s", (int)(strlen(unit) - 6), unit);
        double t = fabs(typical);
        const char *prefix = t >= 1e9 ? "G " : t >= 1e6 ? "M " : t >= 1e3 ? "k " : "";
        *scale = t >= 1e9 ? 1e-9 : t >= 1e6 ? 1e-6 : t >= 1e3 ? 1e-3 : 1;
        snprintf(label, size, "%s%s/s", prefix, what);
        return;
    }
    *scale = 1;
    snprintf(label, size, "%s", strcmp(unit, "cpu_ms_per_s") == 0 ? "ms/s" : unit);
}

/* A value with its unit, 3 significant digits: "12.3 ms", "8.73 M/s" (a
 * rate's header names what it counts). */
static const char *fmt_value(double v, const char *unit, char *buf, size_t size)
{
    double scale;
    char label[48];
    unit_scale(unit, v, &scale, label, sizeof label);
    if (unit_is_rate(unit)) {
        char *sp = strchr(label, ' ');
        snprintf(label, sizeof label, "%s/s", sp == NULL ? "" : v >= 1e9 ? "G" : v >= 1e6 ? "M" : "k");
    }
    sfmt(buf, size, "%.3g %s", v * scale, label);
    return buf;
}

/* ---- finding rows -------------------------------------------------- */

static const row *find_row(const char *workload, int run, const char *impl, unsigned workers,
                           const char *group, const char *variant)
{
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (r->run == run && strcmp(r->workload, workload) == 0 && strcmp(r->impl, impl) == 0 &&
            r->workers == workers && strcmp(r->group, group) == 0 &&
            (variant == NULL || strcmp(r->variant, variant) == 0))
            return r;
    }
    return NULL;
}

/* The baseline of r: the sequential twin of its run and group, or else
 * the X its line names in a speed_vs_X (or older ratio_vs_X) key, on the
 * same worker count. NULL if none. */
static const row *baseline_of(const row *r)
{
    const row *seq = find_row(r->workload, r->run, "seq", 1, r->group, NULL);
    if (seq != NULL)
        return seq;
    for (int i = 0; i < r->nkeys; i++) {
        const char *k = r->keys[i];
        const char *x = strncmp(k, "speed_vs_", 9) == 0   ? k + 9
                        : strncmp(k, "ratio_vs_", 9) == 0 ? k + 9
                                                          : NULL;
        if (x == NULL || strncmp(x, "crew", 4) == 0 || strcmp(x, "1_worker") == 0)
            continue;
        for (int j = 0; j < nrows; j++)
            if (rows[j].run == r->run && strcmp(rows[j].workload, r->workload) == 0 &&
                strcmp(rows[j].impl, x) == 0 && strcmp(rows[j].group, r->group) == 0 &&
                (rows[j].workers == r->workers || r->workers == 0))
                return &rows[j];
    }
    return NULL;
}

/* crew's row beside r: crew (or crew_post) on the same run, group,
 * variant and worker count. */
static const row *crew_of(const row *r)
{
    const row *c = find_row(r->workload, r->run, "crew", r->workers, r->group, r->variant);
    if (c == NULL)
        c = find_row(r->workload, r->run, "crew_post", r->workers, r->group, r->variant);
    return c;
}

/* Speed of r relative to x: x's time over r's (a rate: r's over x's);
 * above 1, r is faster. 0 when unknown. */
static double speed_vs(const row *r, const row *x)
{
    if (x == NULL || r->median <= 0 || x->median <= 0 || strcmp(r->unit, x->unit) != 0)
        return 0;
    return r->higher_is_better ? r->median / x->median : x->median / r->median;
}

/* ---- tables and CSV ------------------------------------------------ */

static void detail_of(const row *r, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s", r->group, r->group[0] && r->variant[0] ? " " : "",
             r->variant);
}

static const char convention[] =
    "speed_vs_X: X's median time over this row's (for a rate: this row's over X's); above "
    "1, this row is faster than X. X is the workload's baseline (the sequential twin seq, "
    "else the peer its lines name) of the same run, or crew on the same worker count";

static void print_tables(FILE *f, int markdown)
{
    const char *last = "", *last_unit = "";
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        const row *base = baseline_of(r), *crew = crew_of(r);
        if (strcmp(r->workload, last) != 0 || strcmp(r->unit, last_unit) != 0) {
            last = r->workload;
            last_unit = r->unit;
            /* The columns name the section's baseline and crew row. */
            const row *b = NULL, *c = NULL;
            for (int j = i; j < nrows && strcmp(rows[j].workload, last) == 0 &&
                            strcmp(rows[j].unit, last_unit) == 0;
                 j++) {
                if (b == NULL)
                    b = baseline_of(&rows[j]);
                if (c == NULL)
                    c = crew_of(&rows[j]);
            }
            char bname[48], cname[48];
            snprintf(bname, sizeof bname, "speed_vs_%s", b != NULL ? b->impl : "baseline");
            snprintf(cname, sizeof cname, "speed_vs_%s", c != NULL ? c->impl : "crew");
            if (markdown)
                fprintf(f,
                        "\n### %s: %s (%s, %s is better)\n\n| impl | workers | detail | "
                        "median | p10 | p90 | min | max | %s | %s |\n"
                        "|---|---|---|---|---|---|---|---|---|---|\n",
                        r->workload, unit_what(r->unit), r->unit,
                        r->higher_is_better ? "higher" : "lower", bname, cname);
            else
                fprintf(f, "\n%s: %s (%s, %s is better)\n  %-22s %3s %-24s %10s %10s %10s %19s %17s\n",
                        r->workload, unit_what(r->unit), r->unit,
                        r->higher_is_better ? "higher" : "lower", "impl", "w", "detail",
                        "median", "p10", "p90", bname, cname);
        }
        double vb = speed_vs(r, base), vc = speed_vs(r, crew);
        char a[16] = "-", b[16] = "-", det[128], m[32], lo[32], hi[32], mn[32], mx[32];
        if (vb > 0)
            snprintf(a, sizeof a, "%.3g", vb);
        if (vc > 0)
            snprintf(b, sizeof b, "%.3g", vc);
        detail_of(r, det, sizeof det);
        fmt_value(r->median, r->unit, m, sizeof m);
        fmt_value(r->p10, r->unit, lo, sizeof lo);
        fmt_value(r->p90, r->unit, hi, sizeof hi);
        if (markdown)
            fprintf(f, "| %s | %u | %s | %s | %s | %s | %s | %s | %s | %s |\n", r->impl,
                    r->workers, det, m, lo, hi, fmt_value(r->min, r->unit, mn, sizeof mn),
                    fmt_value(r->max, r->unit, mx, sizeof mx), a, b);
        else
            fprintf(f, "  %-22s %3u %-24s %10s %10s %10s %19s %17s\n", r->impl, r->workers, det,
                    m, lo, hi, a, b);
    }
}

static void write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    fprintf(f, "workload,impl,workers,detail,unit,better,median,p10,p90,min,max,baseline,"
               "speed_vs_baseline,speed_vs_crew\n");
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        const row *base = baseline_of(r), *crew = crew_of(r);
        char det[128];
        detail_of(r, det, sizeof det);
        fprintf(f, "%s,%s,%u,%s,%s,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%s,", r->workload, r->impl,
                r->workers, det, r->unit, r->higher_is_better ? "higher" : "lower", r->median,
                r->p10, r->p90, r->min, r->max, base != NULL ? base->impl : "");
        double vb = speed_vs(r, base), vc = speed_vs(r, crew);
        if (vb > 0)
            fprintf(f, "%.4g", vb);
        fprintf(f, ",");
        if (vc > 0)
            fprintf(f, "%.4g", vc);
        fprintf(f, "\n");
    }
    fclose(f);
}

/* ---- SVG plots ----------------------------------------------------- */

#define MAX_SERIES 16
#define MAX_GROUPS 24
#define MAX_REFS 3

/* One grouped bar chart: groups along x, a bar per series present in
 * the group. */
typedef struct panel {
    char title[200];
    char what[64];  /* the y axis' quantity */
    char unit[24];  /* a row unit, or "" for a plain ratio */
    int higher_is_better, whiskers;
    int ngroups, nseries;
    char group[MAX_GROUPS][48];
    char series[MAX_SERIES][64];
    int has[MAX_GROUPS][MAX_SERIES];
    double v[MAX_GROUPS][MAX_SERIES], lo[MAX_GROUPS][MAX_SERIES], hi[MAX_GROUPS][MAX_SERIES];
    int nrefs;
    double ref[MAX_REFS];
    char ref_label[MAX_REFS][64];
} panel;

static int index_of(char (*names)[64], int *n, int max, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    if (*n >= max)
        return -1;
    put(names[*n], 64, name, 0);
    return (*n)++;
}

static int group_index(panel *p, const char *name)
{
    for (int i = 0; i < p->ngroups; i++)
        if (strcmp(p->group[i], name) == 0)
            return i;
    if (p->ngroups >= MAX_GROUPS)
        return -1;
    put(p->group[p->ngroups], sizeof p->group[0], name, 0);
    return p->ngroups++;
}

/* Adds a bar; 0 if the panel is full. */
static int add_bar(panel *p, const char *group, const char *series, double v, double lo,
                   double hi)
{
    int g = group_index(p, group);
    int s = index_of(p->series, &p->nseries, MAX_SERIES, series);
    if (g < 0 || s < 0 || p->has[g][s])
        return 0;
    p->has[g][s] = 1;
    p->v[g][s] = v;
    p->lo[g][s] = lo;
    p->hi[g][s] = hi;
    return 1;
}

/* The colours of a panel's series: fixed ones for the implementations
 * most plots share (so crew is the same blue everywhere), the rest from a
 * palette in order, none used twice in a panel; series that differ by a
 * variant (grain=64, cutoff_n=10) shade from dark to light, in order. */
static void series_colors(const panel *p, const char *colors[MAX_SERIES])
{
    static const struct {
        const char *impl, *color;
    } fixed[] = {{"seq", "#8a8a8a"},        {"crew", "#1f77b4"},     {"omp_tasks", "#ff7f0e"},
                 {"openmp", "#ff7f0e"},     {"tbb", "#2ca02c"},      {"mutex_pool", "#d62728"},
                 {"raw_threads", "#8c564b"}, {"crew_post", "#1f77b4"}, {"malloc", "#7f7f7f"}};
    static const char *const palette[] = {"#9467bd", "#17becf", "#e377c2", "#bcbd22",
                                          "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                                          "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5",
                                          "#393b79", "#637939", "#8c6d31", "#843c39"};
    static const char *const shades[] = {"#08306b", "#08519c", "#2171b5", "#4292c6",
                                         "#6baed6", "#9ecae1", "#c6dbef"};
    const size_t npalette = sizeof palette / sizeof palette[0];
    int used[sizeof palette / sizeof palette[0]] = {0};
    int nshade = 0;
    for (int s = 0; s < p->nseries; s++) {
        colors[s] = NULL;
        if (strchr(p->series[s], '=') != NULL) {
            colors[s] = shades[nshade++ % (int)(sizeof shades / sizeof shades[0])];
            continue;
        }
        for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
            if (strcmp(p->series[s], fixed[k].impl) == 0)
                colors[s] = fixed[k].color;
    }
    size_t next = 0;
    for (int s = 0; s < p->nseries; s++) {
        if (colors[s] != NULL)
            continue;
        while (next < npalette && used[next])
            next++;
        colors[s] = palette[next % npalette];
        if (next < npalette)
            used[next] = 1;
        next++;
    }
}

/* Writes s with the XML specials escaped. */
static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

static void svg_text(FILE *f, double x, double y, const char *anchor, int size,
                     const char *extra, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"%s%s>", x, y,
            anchor, size, extra != NULL ? " " : "", extra != NULL ? extra : "");
    xml_text(f, buf);
    fprintf(f, "</text>\n");
}

/* A y axis: maps values to pixels between bottom and top. */
typedef struct axis {
    int log;
    double lo, hi; /* values (log: decades' values) at bottom and top */
    double bottom, top;
} axis;

static double axis_y(const axis *a, double v)
{
    double t;
    if (a->log) {
        if (v <= a->lo)
            return a->bottom;
        t = (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    } else {
        t = (v - a->lo) / (a->hi - a->lo);
    }
    if (t < 0)
        t = 0;
    if (t > 1)
        t = 1;
    return a->bottom - t * (a->bottom - a->top);
}

/* A linear tick step of 1, 2 or 5 times a power of ten, about 5 ticks. */
static double nice_step(double span)
{
    double raw = span / 5, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* A panel's geometry: the plot area's height, and the widths of bars,
 * gaps and groups. */
#define PANEL_PLOT_H 270
#define PANEL_H (PANEL_PLOT_H + 130)
#define PANEL_LEFT 96
#define BAR_W 18
#define BAR_GAP 3
#define GROUP_MIN_W 84
#define LEGEND_W 250

static int bars_in(const panel *p, int g)
{
    int n = 0;
    for (int s = 0; s < p->nseries; s++)
        n += p->has[g][s];
    return n;
}

/* The width of group g, and of the plot area (*plot_w); returns the
 * panel's whole width. */
static int panel_layout(const panel *p, int group_w[MAX_GROUPS], int *plot_w)
{
    int w = 0;
    for (int g = 0; g < p->ngroups; g++) {
        int n = bars_in(p, g);
        group_w[g] = n * (BAR_W + BAR_GAP) + 24;
        if (group_w[g] < GROUP_MIN_W)
            group_w[g] = GROUP_MIN_W;
        w += group_w[g];
    }
    if (w < 360 && p->ngroups > 0) {
        int extra = (360 - w) / p->ngroups;
        for (int g = 0; g < p->ngroups; g++)
            group_w[g] += extra;
        w += extra * p->ngroups;
    }
    *plot_w = w;
    return PANEL_LEFT + w + LEGEND_W;
}

static int panel_height(const panel *p)
{
    int legend_h = 90 + (p->nseries + p->nrefs) * 17;
    return legend_h > PANEL_H ? legend_h : PANEL_H;
}

/* Draws p with its top-left corner at y0. */
static void draw_panel(FILE *f, const panel *p, int y0)
{
    int group_w[MAX_GROUPS], plot_w;
    panel_layout(p, group_w, &plot_w);
    const char *colors[MAX_SERIES];
    series_colors(p, colors);
    const double left = PANEL_LEFT, top = y0 + 62, bottom = top + PANEL_PLOT_H;
    double vmin = INFINITY, vmax = 0, top_bar = 0;
    for (int g = 0; g < p->ngroups; g++)
        for (int s = 0; s < p->nseries; s++) {
            if (!p->has[g][s])
                continue;
            if (p->v[g][s] > top_bar)
                top_bar = p->v[g][s];
            double lo = p->whiskers ? p->lo[g][s] : p->v[g][s];
            double hi = p->whiskers ? p->hi[g][s] : p->v[g][s];
            if (p->v[g][s] > 0 && p->v[g][s] < vmin)
                vmin = p->v[g][s];
            if (lo > 0 && lo < vmin)
                vmin = lo;
            if (hi > vmax)
                vmax = hi;
            if (p->v[g][s] > vmax)
                vmax = p->v[g][s];
        }
    for (int k = 0; k < p->nrefs; k++) {
        if (p->ref[k] > vmax)
            vmax = p->ref[k];
        if (p->ref[k] > 0 && p->ref[k] < vmin)
            vmin = p->ref[k];
    }
    if (!(vmax > 0))
        return;
    if (!(vmin < INFINITY))
        vmin = vmax;
    /* Log scale where the bars span more than 20x; the highest bar ends
     * 40 px below the top, room for its value. */
    axis a = {.bottom = bottom, .top = top};
    a.log = vmax / vmin > 20;
    const double room = (double)PANEL_PLOT_H / (PANEL_PLOT_H - 40);
    double scale = 1;
    char ulabel[48] = "";
    if (p->unit[0] != '\0')
        unit_scale(p->unit, top_bar > 0 ? top_bar : vmax, &scale, ulabel, sizeof ulabel);
    double step = 0;
    if (a.log) {
        a.lo = pow(10, floor(log10(vmin) - 0.05));
        a.hi = pow(10, log10(a.lo) + (log10(vmax) - log10(a.lo)) * room);
    } else {
        a.lo = 0;
        step = nice_step(vmax * room);
        a.hi = ceil(vmax * room / step) * step;
    }

    /* Title, note, the axis' label in two lines. */
    svg_text(f, 12, y0 + 22, "start", 15, "font-weight=\"bold\"", "%s", p->title);
    if (p->whiskers)
        svg_text(f, 12, y0 + 42, "start", 11, "fill=\"#444\"",
                 "bars: medians; whiskers: p10 to p90 (min to max for rows of under 10 runs)");
    char line1[160], line2[96];
    if (p->unit[0] != '\0') {
        sfmt(line1, sizeof line1, "%s (%s)", p->what, ulabel);
        sfmt(line2, sizeof line2, "%s is better%s", p->higher_is_better ? "higher" : "lower",
             a.log ? ", log scale" : "");
    } else {
        sfmt(line1, sizeof line1, "%s", p->what);
        sfmt(line2, sizeof line2, "%s", a.log ? "log scale" : "");
    }
    double mid = (top + bottom) / 2;
    char rot[96];
    snprintf(rot, sizeof rot, "transform=\"rotate(-90 %.1f %.1f)\"", 20.0, mid);
    svg_text(f, 20, mid, "middle", 12, rot, "%s", line1);
    snprintf(rot, sizeof rot, "transform=\"rotate(-90 %.1f %.1f)\"", 36.0, mid);
    svg_text(f, 36, mid, "middle", 11, rot, "%s", line2);

    /* Grid and ticks. */
    if (a.log) {
        int d0 = (int)lround(log10(a.lo)), d1 = (int)ceil(log10(a.hi));
        int few = log10(a.hi) - log10(a.lo) <= 2.5;
        for (int d = d0; d <= d1; d++)
            for (int m = 1; m <= 9; m++) {
                double v = m * pow(10, d);
                if (v > a.hi * 1.0001)
                    break;
                double y = axis_y(&a, v);
                int major = m == 1, label = major || (few && (m == 2 || m == 5));
                fprintf(f,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                        left - (label ? 4 : 0), y, left + plot_w, y, major ? "#c8c8c8" : "#ececec");
                if (label)
                    svg_text(f, left - 7, y + 4, "end", 11, NULL, "%g", v * scale);
            }
    } else {
        for (int k = 0; k * step <= a.hi * 1.0001; k++) {
            double v = k * step, y = axis_y(&a, v);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d8d8d8\"/>\n",
                    left - 4, y, left + plot_w, y);
            svg_text(f, left - 7, y + 4, "end", 11, NULL, "%g", v * scale);
        }
    }
    fprintf(f, "<path d=\"M%.1f %.1fV%.1fH%.1f\" stroke=\"black\" fill=\"none\"/>\n", left, top,
            bottom, left + plot_w);

    /* Bars, group by group, centred in their group. */
    double gx = left;
    for (int g = 0; g < p->ngroups; g++) {
        int n = bars_in(p, g);
        double x = gx + (group_w[g] - (n * (BAR_W + BAR_GAP) - BAR_GAP)) / 2.0;
        for (int s = 0; s < p->nseries; s++) {
            if (!p->has[g][s])
                continue;
            double y = axis_y(&a, p->v[g][s]);
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"/>\n",
                    x, y, BAR_W, bottom - y > 1 ? bottom - y : 1, colors[s]);
            double label_y = y;
            if (p->whiskers) {
                double ylo = axis_y(&a, p->lo[g][s]), yhi = axis_y(&a, p->hi[g][s]);
                double c = x + BAR_W / 2.0;
                fprintf(f, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" "
                           "stroke=\"black\" stroke-width=\"1.2\" fill=\"none\"/>\n",
                        c, ylo, yhi, c - 4, ylo, c + 4, c - 4, yhi, c + 4);
                if (yhi < label_y)
                    label_y = yhi;
            }
            char vbuf[32];
            if (p->unit[0] != '\0')
                snprintf(vbuf, sizeof vbuf, "%.3g", p->v[g][s] * scale);
            else
                snprintf(vbuf, sizeof vbuf, "%.3gx", p->v[g][s]);
            /* The median, upwards from the top of the bar or its whisker. */
            char tr[96];
            double tx = x + BAR_W / 2.0 + 4, ty = label_y - 5;
            snprintf(tr, sizeof tr, "transform=\"rotate(-90 %.1f %.1f)\"", tx, ty);
            svg_text(f, tx, ty, "start", 10, tr, "%s", vbuf);
            x += BAR_W + BAR_GAP;
        }
        /* The group's name, its detail (after a '|') on a second line. */
        const char *sp = strchr(p->group[g], '|');
        if (sp == NULL) {
            svg_text(f, gx + group_w[g] / 2.0, bottom + 17, "middle", 12, NULL, "%s",
                     p->group[g]);
        } else {
            svg_text(f, gx + group_w[g] / 2.0, bottom + 17, "middle", 12, NULL, "%.*s",
                     (int)(sp - p->group[g]), p->group[g]);
            svg_text(f, gx + group_w[g] / 2.0, bottom + 31, "middle", 11, "fill=\"#444\"", "%s",
                     sp + 1);
        }
        gx += group_w[g];
    }

    /* Reference lines over the bars. */
    static const char *const ref_colors[] = {"#222222", "#bb0000", "#0055bb"};
    for (int k = 0; k < p->nrefs; k++) {
        double y = axis_y(&a, p->ref[k]);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"1.5\" stroke-dasharray=\"6 3\"/>\n",
                left, y, left + plot_w, y, ref_colors[k % 3]);
    }

    /* Legend: the series, then the reference lines. */
    double lx = left + plot_w + 24, ly = top + 4;
    svg_text(f, lx, ly, "start", 12, "font-weight=\"bold\"", "implementation");
    for (int s = 0; s < p->nseries; s++) {
        double yy = ly + 10 + s * 17;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", lx,
                yy, colors[s]);
        svg_text(f, lx + 18, yy + 10, "start", 11, NULL, "%s", p->series[s]);
    }
    for (int k = 0; k < p->nrefs; k++) {
        double yy = ly + 10 + (p->nseries + k) * 17 + 8;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"1.5\" stroke-dasharray=\"6 3\"/>\n",
                lx, yy + 6, lx + 14, yy + 6, ref_colors[k % 3]);
        svg_text(f, lx + 18, yy + 10, "start", 11, NULL, "%s", p->ref_label[k]);
    }
}

static void svg_begin(FILE *f, int w, int h)
{
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            w, h, w, h);
}

static void count_label(const row *r, char *buf, size_t size)
{
    if (r->workers == 0)
        snprintf(buf, size, "own threads");
    else
        snprintf(buf, size, "%u %s%s", r->workers, r->by_threads ? "thread" : "worker",
                 r->workers == 1 ? "" : "s");
}

static void series_of(const row *r, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s", r->impl, r->variant[0] ? " " : "", r->variant);
}

#define MAX_PANELS 12

/* DIR/name: the panels, one under the other. */
static void write_figure(const char *dir, const char *name, const panel *panels, int np)
{
    int w = 0, h = 0;
    for (int k = 0; k < np; k++) {
        int group_w[MAX_GROUPS], plot_w, pw = panel_layout(&panels[k], group_w, &plot_w);
        if (pw > w)
            w = pw;
        h += panel_height(&panels[k]);
    }
    char path[512];
    if (np == 0 || !path_in(path, sizeof path, dir, name))
        return;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    svg_begin(f, w, h);
    int y = 0;
    for (int k = 0; k < np; k++) {
        draw_panel(f, &panels[k], y);
        y += panel_height(&panels[k]);
    }
    fprintf(f, "</svg>\n");
    fclose(f);
}

/* DIR/<workload>.svg: one panel per (unit, group) of the workload's rows
 * from its first run that has them. */
static void write_workload_svg(const char *dir, const char *workload)
{
    static panel panels[MAX_PANELS];
    char keys[MAX_PANELS][96];
    int np = 0;
    memset(panels, 0, sizeof panels);
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (strcmp(r->workload, workload) != 0)
            continue;
        char key[96];
        snprintf(key, sizeof key, "%s|%s", r->unit, r->group);
        int k = 0;
        while (k < np && strcmp(keys[k], key) != 0)
            k++;
        if (k == np) {
            if (np == MAX_PANELS)
                continue;
            put(keys[np], sizeof keys[0], key, 0);
            panel *p = &panels[np++];
            const char *n = key_of(r, "n");
            sfmt(p->title, sizeof p->title, "crew-bench %s%s%s%s%s: %s", workload,
                     r->group[0] ? " " : "", r->group, n != NULL ? ", n=" : "",
                     n != NULL ? n : "", unit_what(r->unit));
            snprintf(p->what, sizeof p->what, "median %s", unit_what(r->unit));
            put(p->unit, sizeof p->unit, r->unit, 0);
            p->higher_is_better = r->higher_is_better;
            p->whiskers = 1;
        }
        panel *p = &panels[k];
        char g[48], s[64];
        count_label(r, g, sizeof g);
        series_of(r, s, sizeof s);
        /* A series measured in two runs (graph's seq) is drawn once. */
        if (add_bar(p, g, s, r->median, r->p10, r->p90) && strcmp(r->impl, "seq") == 0 &&
            r->variant[0] == '\0' && p->nrefs == 0) {
            p->ref[0] = r->median;
            snprintf(p->ref_label[0], sizeof p->ref_label[0], "seq's median");
            p->nrefs = 1;
        }
    }
    char name[64];
    snprintf(name, sizeof name, "%.50s.svg", workload);
    write_figure(dir, name, panels, np);
}

/* DIR/speedup.svg: per worker count, the sequential twin's median time over
 * each implementation's, for every workload with a twin (rows without a
 * variant; a workload's own plot shows its variants). */
static void write_speedup_svg(const char *dir)
{
    unsigned counts[8];
    int ncounts = 0;
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (strcmp(r->impl, "seq") == 0 || r->workers == 0 || r->variant[0] != '\0' ||
            find_row(r->workload, r->run, "seq", 1, r->group, NULL) == NULL)
            continue;
        int k = 0;
        while (k < ncounts && counts[k] != r->workers)
            k++;
        if (k == ncounts && ncounts < 8)
            counts[ncounts++] = r->workers;
    }
    if (ncounts == 0)
        return;
    static panel panels[8];
    memset(panels, 0, sizeof panels);
    for (int k = 0; k < ncounts; k++) {
        panel *p = &panels[k];
        snprintf(p->title, sizeof p->title,
                 "Speedup over the sequential twin, %u worker%s: seq's median time / the "
                 "implementation's",
                 counts[k], counts[k] == 1 ? "" : "s");
        snprintf(p->what, sizeof p->what, "speedup over seq (above 1: faster)");
        for (int i = 0; i < nrows; i++) {
            const row *r = &rows[i];
            if (r->workers != counts[k] || strcmp(r->impl, "seq") == 0 || r->variant[0] != '\0')
                continue;
            const row *seq = find_row(r->workload, r->run, "seq", 1, r->group, NULL);
            double v = speed_vs(r, seq);
            if (v <= 0)
                continue;
            /* The workload, and under it the group's values (shape=wide:
             * wide). */
            char g[48], vals[48] = "";
            const char *q = r->group;
            while ((q = strchr(q, '=')) != NULL) {
                size_t n = strcspn(++q, " ");
                if (vals[0] != '\0')
                    put(vals, sizeof vals, " ", 1);
                char one[48];
                snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), q);
                put(vals, sizeof vals, one, 1);
            }
            snprintf(g, sizeof g, "%.20s%s%.24s", r->workload, vals[0] ? "|" : "", vals);
            add_bar(p, g, r->impl, v, v, v);
        }
        p->ref[0] = 1;
        snprintf(p->ref_label[0], sizeof p->ref_label[0], "1: as fast as seq");
        p->nrefs = 1;
        if (counts[k] > 1) {
            p->ref[1] = counts[k];
            snprintf(p->ref_label[1], sizeof p->ref_label[1], "%u: the ideal on %u", counts[k],
                     counts[k]);
            p->nrefs = 2;
        }
    }
    write_figure(dir, "speedup.svg", panels, ncounts);
}

/* ---- running the workloads, with progress -------------------------- */

typedef struct progress {
    int tty;            /* stderr is a terminal: one line redrawn in place */
    int shown;          /* a status line is on the terminal now */
    double t0;          /* the report's start */
    double weight_done; /* the estimates of the finished workloads ... */
    double secs_done;   /* ... and the time they took */
    double weight_left; /* the estimates of those not started */
    /* The workload running now: */
    const char *name;
    size_t index, count; /* the workloads finished, of count */
    double weight, start, frac;
    int run, runs; /* its child process run of runs */
    double last_line;
} progress;

/* "1:05", "12 s". */
static void fmt_duration(double s, char *buf, size_t size)
{
    if (s < 0)
        s = 0;
    long t = lround(s);
    if (t < 60)
        snprintf(buf, size, "%ld s", t);
    else if (t < 3600)
        snprintf(buf, size, "%ld:%02ld min", t / 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld h", t / 3600, t / 60 % 60);
}

/* The seconds left: the finished workloads' pace (their time over their
 * estimates) applied to the estimates of what is left, the running
 * workload's share from its own progress when it has reported some. */
static double time_left(const progress *pg, double now)
{
    double e = now - pg->start;
    double f = (pg->run + pg->frac) / (pg->runs > 0 ? pg->runs : 1);
    if (f > 1)
        f = 1;
    double pace = 1;
    if (pg->weight_done + f * pg->weight > 0 && pg->secs_done + e > 1)
        pace = (pg->secs_done + e) / (pg->weight_done + f * pg->weight);
    /* Early on, a workload's own pace says little (its first steps may be
     * its slowest): blend the estimate into it. */
    double prior = pg->weight * pace - e, own = f > 0 ? e * (1 - f) / f : prior;
    if (prior < 0)
        prior = 0;
    double trust = 2 * f < 1 ? 2 * f : 1;
    double current = (1 - trust) * prior + trust * own;
    return current + pg->weight_left * pace;
}

static void clear_status(progress *pg)
{
    if (pg->tty && pg->shown) {
        fprintf(stderr, "\r\033[K");
        pg->shown = 0;
    }
}

static void show_status(progress *pg)
{
    double now = bench_now();
    if (!pg->tty && now - pg->last_line < 15)
        return;
    pg->last_line = now;
    double f = (pg->run + pg->frac) / (pg->runs > 0 ? pg->runs : 1);
    char el[32], left[32];
    fmt_duration(now - pg->t0, el, sizeof el);
    fmt_duration(time_left(pg, now), left, sizeof left);
    if (pg->tty) {
        fprintf(stderr, "\r[%zu/%zu] %s: %.0f%%, %s in, about %s left\033[K", pg->index + 1,
                pg->count, pg->name, 100 * f, el, left);
        pg->shown = 1;
    } else {
        fprintf(stderr, "  [%zu/%zu] %s: %.0f%% of this workload, %s in, about %s left\n",
                pg->index + 1, pg->count, pg->name, 100 * f, el, left);
    }
    fflush(stderr);
}

/* Splits `args` (words separated by spaces) into argv[at..]; the count. */
static int split_args(const char *args, char *buf, size_t size, char **argv, int at, int max)
{
    snprintf(buf, size, "%s", args);
    char *save = NULL;
    for (char *t = strtok_r(buf, " ", &save); t != NULL && at < max;
         t = strtok_r(NULL, " ", &save))
        argv[at++] = t;
    return at;
}

/* How a child ended, in words. */
static void describe_status(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
    else
        snprintf(buf, size, "ended with wait status %#x", (unsigned)status);
}

/* A line of a child's output. */
typedef struct linebuf {
    char buf[2048];
    size_t len;
} linebuf;

/* The stderr lines shown of a workload: the first FIRST_LINES (where its
 * error message is) and the last LAST_LINES (how it ended). */
#define FIRST_LINES 8
#define LAST_LINES 4

typedef struct child_out {
    const cell *c;
    FILE *log;
    progress *pg;
    int got;
    char first[FIRST_LINES][256], last[LAST_LINES][256];
    long nlines; /* stderr lines other than progress */
} child_out;

static void on_stdout_line(child_out *o, const char *line)
{
    if (o->log != NULL)
        fprintf(o->log, "%s\n", line);
    if (nrows < MAX_ROWS && parse_line(line, &rows[nrows], run_id)) {
        nrows++;
        o->got++;
    }
}

static void on_stderr_line(child_out *o, const char *line)
{
    long done, total;
    char name[64];
    if (sscanf(line, "progress: bench=%63s done=%ld total=%ld", name, &done, &total) == 3) {
        if (total > 0 && done >= 0)
            o->pg->frac = done >= total ? 1 : (double)done / (double)total;
        show_status(o->pg);
        return;
    }
    if (o->log != NULL)
        fprintf(o->log, "%s\n", line);
    if (o->nlines < FIRST_LINES)
        snprintf(o->first[o->nlines], sizeof o->first[0], "%s", line);
    else
        snprintf(o->last[(o->nlines - FIRST_LINES) % LAST_LINES], sizeof o->last[0], "%s", line);
    o->nlines++;
}

/* Shows the workload's stderr lines (all, or the first and the last). */
static void show_messages(const child_out *o)
{
    const char *name = o->c->workload;
    long nfirst = o->nlines < FIRST_LINES ? o->nlines : FIRST_LINES;
    for (long i = 0; i < nfirst; i++)
        fprintf(stderr, "  %s: %s\n", name, o->first[i]);
    long rest = o->nlines - nfirst, nlast = rest < LAST_LINES ? rest : LAST_LINES;
    if (rest > nlast)
        fprintf(stderr, "  %s: (%ld more lines in raw.txt)\n", name, rest - nlast);
    for (long i = o->nlines - nlast; i < o->nlines; i++)
        fprintf(stderr, "  %s: %s\n", name, o->last[(i - FIRST_LINES) % LAST_LINES]);
}

/* Reads what is there on fd into lb, handing over each whole line; 0 at
 * the end of the stream. */
static int drain(int fd, linebuf *lb, child_out *o, void (*on_line)(child_out *, const char *))
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (n == 0) {
        if (lb->len > 0) {
            lb->buf[lb->len] = '\0';
            on_line(o, lb->buf);
            lb->len = 0;
        }
        return 0;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (chunk[i] == '\n' || lb->len == sizeof lb->buf - 1) {
            lb->buf[lb->len] = '\0';
            on_line(o, lb->buf);
            lb->len = 0;
            if (chunk[i] == '\n')
                continue;
        }
        lb->buf[lb->len++] = chunk[i];
    }
    return 1;
}

/* Runs `self WORKLOAD args --workers N`, collecting its rows; its stderr
 * lines are shown (progress lines become the status line). 0, or -1 after
 * saying why. */
static int run_cell(const char *self, const cell *c, int quick, unsigned workers, FILE *log,
                    progress *pg)
{
    char argbuf[512], wbuf[16];
    char *argv[40];
    argv[0] = (char *)self;
    argv[1] = (char *)c->workload;
    int argc = split_args(quick ? c->quick_args : c->full_args, argbuf, sizeof argbuf, argv, 2,
                          36);
    snprintf(wbuf, sizeof wbuf, "%u", workers);
    argv[argc++] = "--workers";
    argv[argc++] = wbuf;
    argv[argc] = NULL;

    int out[2], err[2];
    if (pipe(out) != 0)
        return -1;
    if (pipe(err) != 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "  %s: cannot start: %s\n", c->workload, strerror(errno));
        close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        execv(self, argv);
        fprintf(stderr, "cannot run %s: %s\n", self, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(err[1]);

    child_out o = {.c = c, .log = log, .pg = pg};
    run_id++;
    fprintf(log, "# crew-bench");
    for (int i = 1; i < argc; i++)
        fprintf(log, " %s", argv[i]);
    fprintf(log, "\n");
    static linebuf lo, le;
    lo.len = le.len = 0;
    struct pollfd fds[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
    int open_fds = 2;
    while (open_fds > 0) {
        int n = poll(fds, 2, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0) {
            show_status(pg); /* the clock moves on */
            continue;
        }
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!drain(fds[k].fd, k == 0 ? &lo : &le, &o, k == 0 ? on_stdout_line : on_stderr_line)) {
                close(fds[k].fd);
                fds[k].fd = -1;
                open_fds--;
            }
        }
    }
    for (int k = 0; k < 2; k++)
        if (fds[k].fd >= 0)
            close(fds[k].fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0 || o.got == 0;
    if (o.nlines > 0 || failed) {
        clear_status(pg);
        show_messages(&o);
    }
    if (failed) {
        char how[128];
        describe_status(status, how, sizeof how);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            snprintf(how, sizeof how, "printed no result line");
        fprintf(stderr, "  %s: FAILED: `crew-bench %s%s%s --workers %u` %s\n", c->workload,
                c->workload, (quick ? c->quick_args : c->full_args)[0] ? " " : "",
                quick ? c->quick_args : c->full_args, workers, how);
        return -1;
    }
    return 0;
}

/* The tables, DIR/results.csv, DIR/results.md and the plots. */
static void write_results(const char *dir, const char *what)
{
    char path[512];
    printf("\n%s.\n", convention);
    print_tables(stdout, 0);
    if (path_in(path, sizeof path, dir, "results.csv"))
        write_csv(path);
    FILE *md = path_in(path, sizeof path, dir, "results.md") ? fopen(path, "w") : NULL;
    if (md != NULL) {
        fprintf(md, "# crew-bench report%s\n\nEach workload ran its implementations "
                    "interleaved; medians, p10 and p90 (the values with a tenth of the runs "
                    "below and above them; with fewer than 10 runs, the min and the max), min "
                    "and max. %s.\n",
                what, convention);
        print_tables(md, 1);
        fclose(md);
    }
    const char *last = "";
    for (int i = 0; i < nrows; i++)
        if (strcmp(rows[i].workload, last) != 0) {
            last = rows[i].workload;
            write_workload_svg(dir, last);
        }
    write_speedup_svg(dir);
    printf("\nwrote %s/results.csv, %s/results.md and SVG plots in %s/\n", dir, dir, dir);
}

/* --from FILE: the rows of an earlier report's raw.txt (its "# crew-bench"
 * lines start each run). */
static int read_raw(const char *file)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        fprintf(stderr, "crew-bench report: cannot read %s: %s\n", file, strerror(errno));
        return -1;
    }
    char line[2048];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "# crew-bench ", 13) == 0)
            run_id++;
        else if (nrows < MAX_ROWS && parse_line(line, &rows[nrows], run_id))
            nrows++;
    }
    fclose(f);
    if (nrows == 0) {
        fprintf(stderr, "crew-bench report: %s has no result lines\n", file);
        return -1;
    }
    return 0;
}

int bench_report_main(int quick, const char *out, unsigned workers, const char *from)
{
    const char *dir = out != NULL ? out : "bench-report";
    if (from != NULL && read_raw(from) != 0)
        return 1;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "crew-bench report: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (from != NULL) {
        printf("crew-bench report: %d result lines from %s\n", nrows, from);
        write_results(dir, " (from an earlier run's raw.txt)");
        return 0;
    }
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
    char path[512];
    if (!path_in(path, sizeof path, dir, "raw.txt")) {
        fprintf(stderr, "crew-bench report: output path too long\n");
        return 1;
    }
    FILE *log = fopen(path, "w");
    if (log == NULL) {
        fprintf(stderr, "crew-bench report: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    /* The workloads print progress lines for the status line. */
    setenv("CREW_BENCH_PROGRESS", "1", 1);
    progress pg = {.tty = isatty(STDERR_FILENO), .t0 = bench_now()};
    for (size_t i = 0; i < NCELLS; i++)
        if (bench_known_workload(cells[i].workload)) {
            pg.weight_left += quick ? cells[i].quick_s : cells[i].full_s;
            pg.count++;
        }
    printf("crew-bench report%s: %zu workloads, 1 and %u workers, implementations "
           "interleaved within each workload, medians of repeated runs\n",
           quick ? " --quick" : "", pg.count, workers);
    fflush(stdout);
    int failed = 0;
    for (size_t i = 0; i < NCELLS; i++) {
        const cell *c = &cells[i];
        if (!bench_known_workload(c->workload))
            continue;
        double weight = quick ? c->quick_s : c->full_s;
        pg.weight_left -= weight;
        pg.name = c->workload;
        pg.weight = weight;
        pg.start = bench_now();
        pg.frac = 0;
        pg.run = 0;
        pg.runs = c->one_count_per_run && workers > 1 ? 2 : 1;
        pg.last_line = pg.start;
        show_status(&pg);
        int rc = 0;
        if (pg.runs == 2) {
            rc = run_cell(self, c, quick, 1, log, &pg);
            pg.run = 1;
            pg.frac = 0;
        }
        if (rc == 0)
            rc = run_cell(self, c, quick, workers, log, &pg);
        double took = bench_now() - pg.start;
        pg.secs_done += took;
        pg.weight_done += weight;
        pg.index++;
        clear_status(&pg);
        char left[32];
        fmt_duration(pg.weight_left * (pg.weight_done > 0 ? pg.secs_done / pg.weight_done : 1),
                     left, sizeof left);
        int more = pg.index < pg.count;
        printf("[%zu/%zu] %-8s %s in %.1f s%s%s%s\n", pg.index, pg.count, c->workload,
               rc == 0 ? "done" : "FAILED", took, more ? " (about " : "", more ? left : "",
               more ? " left)" : "");
        fflush(stdout);
        failed += rc != 0;
    }
    fclose(log);
    printf("\n%zu workloads in %.0f s%s; their own lines in %s/raw.txt\n", pg.count,
           bench_now() - pg.t0, failed ? ", SOME FAILED (see above)" : "", dir);
    write_results(dir, quick ? " (--quick: tiny sizes, a smoke run, not a measurement)" : "");
    return failed ? 1 : 0;
}
