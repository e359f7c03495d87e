/* crew-bench: shared helpers. Each workload lives in bench_<name>.c and
 * prints lines of the form `bench=NAME key=value ...`. */
#ifndef CREW_BENCH_H
#define CREW_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sorts v in place and returns its median. */
double bench_median(double *v, size_t n);

/* The limits crew-bench's options accept. */
#define BENCH_MAX_WORKERS 64
#define BENCH_MAX_REPEAT 1000

/* Options every workload understands. */
typedef struct bench_opts {
    const char *impl; /* NULL: all implementations */
    unsigned workers; /* 0: the workload's default */
    long n;           /* 0: the workload's default size */
    int repeat;       /* 0: the workload's default */
} bench_opts;

/* Keeps the compiler from deleting a computation. */
static inline void bench_consume(uintptr_t v)
{
    __asm__ volatile("" : : "r"(v) : "memory");
}

/* A sample's summary: bench_summarize sorts v in place. p10 and p90 are
 * the values with floor(n / 10) values below and above them (v[n / 10] and
 * v[n - 1 - n / 10] of the sorted sample): with fewer than 10 values, the
 * min and the max. One outlier moves min or max, not p10 or p90 (from 10
 * values on). */
typedef struct bench_summary {
    double median, min, max;
    double p10, p90;
} bench_summary;
bench_summary bench_summarize(double *v, size_t n);

/* A result line's statistics, the one format every workload prints:
 * " median_U=M p10_U=A p90_U=B min_U=C max_U=D" for the unit U (s, us,
 * ns, tasks_per_s, pairs_per_s, steals_per_s, cpu_ms_per_s), 6
 * significant digits each. crew-bench report reads the unit from the
 * median_ key; a unit ending in _per_s (but cpu_ms_per_s) is a rate,
 * higher is better, any other unit a cost, lower is better. */
void bench_print_stats(const char *unit, const bench_summary *s);

/* A workload's progress, once per repetition: `done` of `total` steps.
 * With CREW_BENCH_PROGRESS=1 in the environment (crew-bench report sets
 * it), a line "progress: bench=W done=D total=T" on stderr; else, when
 * stderr is a terminal, the same as a line overwritten in place (cleared
 * when done reaches total); else nothing. */
void bench_progress(const char *workload, long done, long total);

/* The p-quantile (0 < p <= 1) of n sorted values, nearest rank. */
double bench_percentile(const double *sorted, size_t n, double p);

/* Whether the workload should run implementation `name`: no --impl given,
 * or --impl names it. */
int bench_selected(const bench_opts *o, const char *name);

/* --impl names one of `names` (NULL-terminated), or is absent; otherwise
 * prints the choices and returns -1. */
int bench_check_impl(const bench_opts *o, const char *workload,
                     const char *const *names);

/* A crew pool of `workers` workers with the default configuration, or
 * NULL after printing why (prefixed by the workload's name). */
struct crew_pool;
struct crew_pool *bench_pool_create(const char *workload, unsigned workers);

/* main.c: whether `name` is one of BENCH_WORKLOADS. */
int bench_known_workload(const char *name);
/* report.c: `crew-bench report`; with `from`, the tables and plots of an
 * earlier report's raw.txt, nothing run. */
int bench_report_main(int quick, const char *out, unsigned workers, const char *from);

/* The sequential twin of fib, in its own translation unit (seq/fib.c) so
 * no caller can inline or specialize it: plain recursive calls. */
long seq_fib(long n);

#define BENCH_WORKLOADS(X)                                                   \
    X(deque, "Chase-Lev push+pop pair cost and steal throughput")           \
    X(objpool, "object pool acquire+release against malloc+free")           \
    X(fib, "fork-join fib(n), no cutoff, against its sequential twin")      \
    X(submit, "tiny tasks from outside threads: tasks per second")          \
    X(serial, "serial queues: tasks per second, against Asio strands")      \
    X(wake, "latency from a submit on a sleeping pool to the task start")   \
    X(idle, "CPU used by an idle pool after a burst of work")               \
    X(for, "parallel-for over a compute loop against OpenMP and oneTBB")    \
    X(graph, "task graphs: a layered DAG of tiny nodes, a wide DAG")         \
    X(nqueens, "fork-join n-queens count, a task per search node")           \
    X(matmul, "fork-join recursive blocked matrix multiply (doubles)")       \
    X(sort, "fork-join merge sort with a parallel merge (cilksort-like)")    \
    X(uts_geo, "Unbalanced Tree Search, geometric tree: node count")         \
    X(uts_bin, "Unbalanced Tree Search, binomial tree: node count")          \
    X(uts_t1, "UTS's sample tree T1 (geometric, SHA-1 stream): node count")  \
    X(uts_t3, "UTS's sample tree T3 (binomial, SHA-1 stream): node count")   \
    X(knapsack, "fork-join 0-1 knapsack, every node a spawn (Lace's)")       \
    X(dfs, "Lace's dfs: a 10-ary tree, ten spawns then ten syncs a node")   \
    X(pi, "fork-join Monte Carlo pi, the samples halved down to one")        \
    X(strassen, "fork-join Strassen matrix multiply (doubles), 16x16 base") \
    X(grain, "docs/choosing.md's figures: loop grains, cutoffs, spin_us")

#define BENCH_DECLARE(name, help) int bench_##name(const bench_opts *o);
BENCH_WORKLOADS(BENCH_DECLARE)

#endif
