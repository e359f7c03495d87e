/* crew-bench fib: fork-join fib(n) with no cutoff, the pure cost of a
 * spawn/sync pair, against its sequential twin seq_fib (seq_fib.c).
 *   impl=seq             seq_fib(n), a plain recursive function;
 *   impl=crew            API.md's example: crew_spawn + crew_sync;
 *   impl=crew_sync_call  the same, syncing with crew_sync_call(&t, fib),
 *                        whose unstolen path is a direct call.
 * One pool per worker count (default 1 and 2; --workers N for one), created
 * before timing. Every repetition runs each cell once, in turn (seq, then
 * each pool's crew and crew_sync_call), --repeat times (default 10), after
 * one untimed warm-up of each. Every result is checked against the
 * sequential value; a mismatch fails the run. */
#include "bench.h"

#include <crew.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { IMPL_SEQ, IMPL_CREW, IMPL_CREW_CALL, NIMPLS };
static const char *const impl_names[] = {"seq", "crew", "crew_sync_call", NULL};

#define MAX_POOLS 2

static void *fib_sync(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (n < 2)
        return arg;
    crew_task t;
    crew_spawn(&t, fib_sync, (void *)(intptr_t)(n - 1));
    long b = (long)(intptr_t)fib_sync((void *)(intptr_t)(n - 2));
    long a = (long)(intptr_t)crew_sync(&t);
    return (void *)(intptr_t)(a + b);
}

static void *fib_sync_call(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (n < 2)
        return arg;
    crew_task t;
    crew_spawn(&t, fib_sync_call, (void *)(intptr_t)(n - 1));
    long b = (long)(intptr_t)fib_sync_call((void *)(intptr_t)(n - 2));
    long a = (long)(intptr_t)crew_sync_call(&t, fib_sync_call);
    return (void *)(intptr_t)(a + b);
}

static long fib_iterative(long n)
{
    long a = 0, b = 1;
    for (long i = 0; i < n; i++) {
        long c = a + b;
        a = b;
        b = c;
    }
    return a;
}

/* One cell: an implementation on a worker count (0 for seq). */
typedef struct cell {
    int impl;
    unsigned workers;
    crew_pool *pool;
    double *secs;
    uint64_t steals; /* summed over the timed runs */
} cell;

/* Runs the cell once; returns seconds, or -1 after printing the error. */
static double run_cell(cell *c, long n, long expect)
{
    long got;
    double t0 = bench_now();
    if (c->impl == IMPL_SEQ) {
        got = seq_fib(n);
    } else {
        void *r = NULL;
        crew_fn fn = c->impl == IMPL_CREW ? fib_sync : fib_sync_call;
        int rc = crew_run(c->pool, fn, (void *)(intptr_t)n, &r);
        if (rc != 0) {
            fprintf(stderr, "crew-bench fib: crew_run: %s\n", strerror(rc));
            return -1;
        }
        got = (long)(intptr_t)r;
    }
    double t = bench_now() - t0;
    if (got != expect) {
        fprintf(stderr,
                "crew-bench fib: WRONG RESULT impl=%s workers=%u n=%ld: "
                "got %ld, expected %ld\n",
                impl_names[c->impl], c->workers, n, got, expect);
        return -1;
    }
    return t;
}

static uint64_t pool_steals(crew_pool *pool)
{
    crew_stats s;
    crew_pool_stats(pool, &s);
    return s.steals;
}

int bench_fib(const bench_opts *o)
{
    if (bench_check_impl(o, "fib", impl_names) != 0)
        return 2;
    long n = o->n > 0 ? o->n : 34;
    if (n > 90) {
        fprintf(stderr, "crew-bench fib: n %ld overflows a long\n", n);
        return 2;
    }
    int repeat = o->repeat > 0 ? o->repeat : 10;
    unsigned worker_counts[MAX_POOLS] = {1, 2};
    int npools = MAX_POOLS;
    if (o->workers > 0) {
        worker_counts[0] = o->workers;
        npools = 1;
    }

    const long expect = fib_iterative(n);
    if (seq_fib(n) != expect) {
        fprintf(stderr, "crew-bench fib: the sequential twin is wrong\n");
        return 1;
    }

    /* seq always runs: it is what the ratios divide by. */
    cell cells[1 + 2 * MAX_POOLS];
    int ncells = 0;
    cells[ncells++] = (cell){.impl = IMPL_SEQ, .workers = 1};
    crew_pool *pools[MAX_POOLS] = {NULL, NULL};
    int status = 0;
    for (int p = 0; p < npools; p++) {
        crew_config cfg;
        crew_config_default(&cfg);
        cfg.workers = worker_counts[p];
        pools[p] = crew_pool_create(&cfg);
        if (pools[p] == NULL) {
            fprintf(stderr, "crew-bench fib: crew_pool_create: %s\n",
                    strerror(errno));
            status = 1;
            goto out;
        }
        for (int impl = IMPL_CREW; impl <= IMPL_CREW_CALL; impl++)
            if (bench_selected(o, impl_names[impl]))
                cells[ncells++] = (cell){.impl = impl,
                                         .workers = worker_counts[p],
                                         .pool = pools[p]};
    }
    for (int c = 0; c < ncells; c++) {
        cells[c].secs = calloc((size_t)repeat, sizeof(double));
        if (cells[c].secs == NULL) {
            fprintf(stderr, "crew-bench fib: out of memory\n");
            status = 1;
            goto out;
        }
    }

    for (int c = 0; c < ncells; c++)
        if (run_cell(&cells[c], n, expect) < 0) {
            status = 1;
            goto out;
        }
    for (int r = 0; r < repeat; r++) {
        for (int c = 0; c < ncells; c++) {
            uint64_t s0 = cells[c].pool ? pool_steals(cells[c].pool) : 0;
            double t = run_cell(&cells[c], n, expect);
            if (t < 0) {
                status = 1;
                goto out;
            }
            cells[c].secs[r] = t;
            if (cells[c].pool)
                cells[c].steals += pool_steals(cells[c].pool) - s0;
        }
    }

    bench_summary seq = bench_summarize(cells[0].secs, (size_t)repeat);
    for (int c = 0; c < ncells; c++) {
        if (!bench_selected(o, impl_names[cells[c].impl]))
            continue;
        bench_summary s = c == 0 ? seq
                                 : bench_summarize(cells[c].secs, (size_t)repeat);
        printf("bench=fib impl=%s workers=%u n=%ld median_s=%.4f min_s=%.4f "
               "max_s=%.4f result=%ld ratio_vs_seq=%.2f repeat=%d",
               impl_names[cells[c].impl], cells[c].workers, n, s.median, s.min,
               s.max, expect, s.median / seq.median, repeat);
        if (cells[c].pool)
            printf(" steals_per_run=%.0f", (double)cells[c].steals / repeat);
        printf("\n");
    }

out:
    for (int c = 0; c < ncells; c++)
        free(cells[c].secs);
    for (int p = 0; p < npools; p++)
        if (pools[p] != NULL)
            crew_pool_destroy(pools[p]);
    return status;
}
