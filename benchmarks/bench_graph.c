/* crew-bench graph: task graphs against their sequential twin.
 *   shape=layered  a random layered DAG of --n tiny nodes (default
 *                  100,000: 100 layers of 1,000), each node past the first
 *                  layer with 1 to 4 distinct predecessors in the layer
 *                  before (seeded). Nodes per second.
 *   shape=wide     2,000 heavier nodes (4 layers of 500, the same kind of
 *                  edges), each about 50 us of arithmetic. The speedup of
 *                  2 workers over 1.
 * impl=seq is the twin: a loop over the nodes in topological order calling
 * the same node function; impl=crew is crew_graph_run. Each node mixes its
 * predecessors' values into its own, so the checksum of all values is
 * fixed by the graph; values are cleared before every run, so a node that
 * ran before a predecessor would change it. Every run's checksum is
 * compared with the twin's; a mismatch fails the benchmark. One pool per
 * worker count (default 1 and 2; --workers N for one), created before
 * timing; every repetition runs each cell once, in turn, --repeat times
 * (default 7), after one untimed warm-up of each. The graph is built once
 * (its build time is printed) and run again and again. */
#include "bench.h"

#include <crew.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { IMPL_SEQ, IMPL_CREW };
static const char *const impl_names[] = {"seq", "crew", NULL};

#define MAX_POOLS 2

typedef struct dag dag;

typedef struct dag_arg {
    dag *d;
    long id;
} dag_arg;

struct dag {
    const char *shape;
    long n, nedges;
    long *pred_start, *preds; /* node i's: preds[pred_start[i], pred_start[i + 1]) */
    uint64_t *value;
    unsigned work;            /* mixing rounds per node (rounds= in the output;
                                 calibrated per process for shape=wide) */
    dag_arg *args;
    crew_graph *g;
    double build_s;
};

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t mix_rounds(uint64_t v, unsigned rounds)
{
    for (unsigned k = 0; k < rounds; k++) {
        v ^= v >> 29;
        v *= 0xBF58476D1CE4E5B9ULL;
        v += k;
    }
    return v;
}

/* The node function both implementations call. */
static void *dag_node(void *arg)
{
    dag_arg *a = arg;
    dag *d = a->d;
    uint64_t v = (uint64_t)(a->id + 1) * 0x9E3779B97F4A7C15ULL;
    for (long k = d->pred_start[a->id]; k < d->pred_start[a->id + 1]; k++)
        v += d->value[d->preds[k]] ^ (uint64_t)k;
    d->value[a->id] = mix_rounds(v, d->work);
    return NULL;
}

static uint64_t checksum(const dag *d)
{
    uint64_t sum = 0;
    for (long i = 0; i < d->n; i++)
        sum = sum * 31 + d->value[i];
    return sum;
}

static void dag_free(dag *d)
{
    crew_graph_destroy(d->g);
    free(d->pred_start);
    free(d->preds);
    free(d->value);
    free(d->args);
}

/* layers x width nodes, numbered layer by layer (a topological order). */
static int dag_build(dag *d, const char *shape, long layers, long width,
                     unsigned work, uint64_t seed)
{
    memset(d, 0, sizeof(*d));
    d->shape = shape;
    d->n = layers * width;
    d->work = work;
    d->pred_start = calloc((size_t)d->n + 1, sizeof(long));
    d->preds = malloc((size_t)d->n * 4 * sizeof(long));
    d->value = calloc((size_t)d->n, sizeof(uint64_t));
    d->args = malloc((size_t)d->n * sizeof(dag_arg));
    if (!d->pred_start || !d->preds || !d->value || !d->args)
        return ENOMEM;
    uint64_t s = seed | 1;
    for (long i = 0; i < d->n; i++) {
        d->args[i] = (dag_arg){d, i};
        long start = d->nedges;
        if (i >= width) {
            long layer_start = (i / width - 1) * width;
            int want = 1 + (int)(rng_next(&s) % 4);
            for (int k = 0; k < want; k++) {
                long p = layer_start + (long)(rng_next(&s) % (uint64_t)width);
                int seen = 0;
                for (long e = start; e < d->nedges; e++)
                    seen |= d->preds[e] == p;
                if (!seen)
                    d->preds[d->nedges++] = p;
            }
        }
        d->pred_start[i + 1] = d->nedges;
    }

    double t0 = bench_now();
    crew_node **nodes = malloc((size_t)d->n * sizeof(*nodes));
    d->g = crew_graph_create();
    if (nodes == NULL || d->g == NULL) {
        free(nodes);
        return ENOMEM;
    }
    for (long i = 0; i < d->n; i++) {
        nodes[i] = crew_graph_add(d->g, dag_node, &d->args[i]);
        if (nodes[i] == NULL) {
            free(nodes);
            return errno;
        }
    }
    for (long i = 0; i < d->n; i++)
        for (long k = d->pred_start[i]; k < d->pred_start[i + 1]; k++) {
            int rc = crew_graph_precede(nodes[d->preds[k]], nodes[i]);
            if (rc != 0) {
                free(nodes);
                return rc;
            }
        }
    d->build_s = bench_now() - t0;
    free(nodes);
    return 0;
}

/* One cell: an implementation on a worker count (0 for seq). */
typedef struct cell {
    int impl;
    unsigned workers;
    crew_pool *pool;
    double *secs;
} cell;

/* Runs the cell once on d; seconds, or -1 after printing the error. */
static double run_cell(const cell *c, dag *d, uint64_t expect)
{
    memset(d->value, 0, (size_t)d->n * sizeof(uint64_t));
    double t0 = bench_now();
    if (c->impl == IMPL_SEQ) {
        for (long i = 0; i < d->n; i++)
            dag_node(&d->args[i]);
    } else {
        int rc = crew_graph_run(c->pool, d->g);
        if (rc != 0) {
            fprintf(stderr, "crew-bench graph: crew_graph_run: %s\n", strerror(rc));
            return -1;
        }
    }
    double t = bench_now() - t0;
    uint64_t got = checksum(d);
    if (got != expect) {
        fprintf(stderr,
                "crew-bench graph: WRONG RESULT shape=%s impl=%s workers=%u: "
                "checksum %016llx, the sequential twin's %016llx\n",
                d->shape, impl_names[c->impl], c->workers,
                (unsigned long long)got, (unsigned long long)expect);
        return -1;
    }
    return t;
}

/* Times every cell on d and prints one line per selected cell. 0 or 1. */
static int bench_shape(dag *d, cell *cells, int ncells, int repeat,
                       const bench_opts *o)
{
    memset(d->value, 0, (size_t)d->n * sizeof(uint64_t));
    for (long i = 0; i < d->n; i++)
        dag_node(&d->args[i]);
    const uint64_t expect = checksum(d);

    for (int c = 0; c < ncells; c++)
        if (run_cell(&cells[c], d, expect) < 0)
            return 1;
    for (int r = 0; r < repeat; r++) {
        for (int c = 0; c < ncells; c++) {
            double t = run_cell(&cells[c], d, expect);
            if (t < 0)
                return 1;
            cells[c].secs[r] = t;
        }
        /* Two shapes run in turn, layered first. */
        bench_progress("graph", (strcmp(d->shape, "layered") == 0 ? 0 : repeat) + r + 1,
                       2L * repeat);
    }

    if (bench_selected(o, "crew"))
        printf("bench=graph impl=crew shape=%s op=build n=%ld edges=%ld build_s=%.4f\n",
               d->shape, d->n, d->nedges, d->build_s);
    bench_summary base = bench_summarize(cells[0].secs, (size_t)repeat);
    double one_worker = 0;
    for (int c = 0; c < ncells; c++) {
        bench_summary s = c == 0 ? base
                                 : bench_summarize(cells[c].secs, (size_t)repeat);
        if (cells[c].impl == IMPL_CREW && cells[c].workers == 1)
            one_worker = s.median;
        if (!bench_selected(o, impl_names[cells[c].impl]))
            continue;
        printf("bench=graph impl=%s shape=%s workers=%u n=%ld edges=%ld rounds=%u",
               impl_names[cells[c].impl], d->shape, cells[c].workers, d->n, d->nedges,
               d->work);
        bench_print_stats("s", &s);
        printf(" nodes_per_s=%.0f result=%016llx speed_vs_seq=%.3g", (double)d->n / s.median,
               (unsigned long long)expect, base.median / s.median);
        if (cells[c].impl == IMPL_CREW && one_worker > 0 && cells[c].workers > 1)
            printf(" speed_vs_1_worker=%.3g", one_worker / s.median);
        printf(" repeat=%d\n", repeat);
    }
    return 0;
}

/* Mixing rounds that take about `us` microseconds here. */
static unsigned calibrate_rounds(double us)
{
    unsigned rounds = 1u << 16;
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = bench_now();
        bench_consume((uintptr_t)mix_rounds((uint64_t)i, rounds));
        double t = bench_now() - t0;
        if (t < best)
            best = t;
    }
    double per_us = (double)rounds / (best * 1e6);
    double want = per_us * us;
    return want < 1 ? 1 : (unsigned)want;
}

int bench_graph(const bench_opts *o)
{
    if (bench_check_impl(o, "graph", impl_names) != 0)
        return 2;
    long n = o->n > 0 ? o->n : 100000;
    long width = n < 1000 ? n : 1000;
    long layers = n / width;
    int repeat = o->repeat > 0 ? o->repeat : 7;
    unsigned worker_counts[MAX_POOLS] = {1, 2};
    int npools = MAX_POOLS;
    if (o->workers > 0) {
        worker_counts[0] = o->workers;
        npools = 1;
    }

    /* seq always runs: it is what the ratios divide by. */
    cell cells[1 + MAX_POOLS];
    int ncells = 0;
    cells[ncells++] = (cell){.impl = IMPL_SEQ, .workers = 1};
    crew_pool *pools[MAX_POOLS] = {NULL, NULL};
    dag layered, wide;
    memset(&layered, 0, sizeof layered);
    memset(&wide, 0, sizeof wide);
    int status = 0;
    for (int p = 0; p < npools; p++) {
        pools[p] = bench_pool_create("graph", worker_counts[p]);
        if (pools[p] == NULL) {
            status = 1;
            goto out;
        }
        if (bench_selected(o, "crew"))
            cells[ncells++] = (cell){.impl = IMPL_CREW, .workers = worker_counts[p],
                                     .pool = pools[p]};
    }
    for (int c = 0; c < ncells; c++) {
        cells[c].secs = calloc((size_t)repeat, sizeof(double));
        if (cells[c].secs == NULL) {
            fprintf(stderr, "crew-bench graph: out of memory\n");
            status = 1;
            goto out;
        }
    }

    int rc = dag_build(&layered, "layered", layers, width, 0, 2024);
    if (rc != 0) {
        fprintf(stderr, "crew-bench graph: building the layered DAG: %s\n",
                strerror(rc));
        status = 1;
        goto out;
    }
    if (bench_shape(&layered, cells, ncells, repeat, o) != 0) {
        status = 1;
        goto out;
    }
    rc = dag_build(&wide, "wide", 4, 500, calibrate_rounds(50), 7);
    if (rc != 0) {
        fprintf(stderr, "crew-bench graph: building the wide DAG: %s\n",
                strerror(rc));
        status = 1;
        goto out;
    }
    if (bench_shape(&wide, cells, ncells, repeat, o) != 0)
        status = 1;

out:
    dag_free(&layered);
    dag_free(&wide);
    for (int c = 0; c < ncells; c++)
        free(cells[c].secs);
    for (int p = 0; p < npools; p++)
        if (pools[p] != NULL)
            crew_pool_destroy(pools[p]);
    return status;
}
