#include "graph_util.h"

#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t test_rng(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

crew_pool *graph_pool(unsigned workers, size_t stack_size)
{
    crew_config c;
    crew_config_default(&c);
    c.workers = workers;
    c.stack_size = stack_size;
    return crew_pool_create(&c);
}

long rec_result(long id, long run)
{
    return id * 1000 + run % 1000 + 1;
}

static void *rec_node(void *arg)
{
    rec_arg *a = arg;
    rec_graph *r = a->r;
    /* Relaxed, so that the stamps create no happens-before of their own
     * (they would hide a missing one from ThreadSanitizer); read-modify-
     * writes still follow happens-before in the counter's order. */
    r->start[a->id] = atomic_fetch_add_explicit(&r->seq, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->runs[a->id], 1, memory_order_relaxed);
    if (r->spin > 0) {
        /* Uneven work, so that runs interleave differently. */
        unsigned iters = (unsigned)(a->id * 2654435761u) % r->spin;
        for (unsigned i = 0; i < iters; i++)
            __asm__ volatile("" ::: "memory");
    }
    long d = 0;
    for (long k = r->pred_start[a->id]; k < r->pred_start[a->id + 1]; k++)
        if (r->depth[r->preds[k]] > d)
            d = r->depth[r->preds[k]];
    r->depth[a->id] = d + 1;
    r->end[a->id] = atomic_fetch_add_explicit(&r->seq, 1, memory_order_relaxed);
    return IP(rec_result(a->id, r->run));
}

int rg_init(rec_graph *r, long n, unsigned spin)
{
    memset(r, 0, sizeof(*r));
    r->n = n;
    r->spin = spin;
    atomic_init(&r->seq, 0);
    r->g = crew_graph_create();
    r->nodes = calloc((size_t)n + 1, sizeof(*r->nodes));
    r->args = calloc((size_t)n + 1, sizeof(*r->args));
    r->start = calloc((size_t)n + 1, sizeof(*r->start));
    r->end = calloc((size_t)n + 1, sizeof(*r->end));
    r->runs = calloc((size_t)n + 1, sizeof(*r->runs));
    r->depth = calloc((size_t)n + 1, sizeof(*r->depth));
    r->pred_start = calloc((size_t)n + 1, sizeof(*r->pred_start));
    CHECK(r->g != NULL && r->nodes != NULL && r->args != NULL &&
          r->start != NULL && r->end != NULL && r->runs != NULL &&
          r->depth != NULL && r->pred_start != NULL);
    for (long i = 0; i < n; i++) {
        r->args[i] = (rec_arg){r, i};
        r->nodes[i] = crew_graph_add(r->g, rec_node, &r->args[i]);
        CHECKF(r->nodes[i] != NULL, "add node %ld: errno %d", i, errno);
    }
    return 0;
}

void rg_free(rec_graph *r)
{
    crew_graph_destroy(r->g);
    free(r->nodes);
    free(r->args);
    free(r->start);
    free(r->end);
    free(r->runs);
    free(r->edges);
    free(r->depth);
    free(r->pred_start);
    free(r->preds);
    memset(r, 0, sizeof(*r));
}

int rg_edge(rec_graph *r, long a, long b)
{
    int rc = crew_graph_precede(r->nodes[a], r->nodes[b]);
    if (rc != 0)
        return rc;
    if (r->nedges == r->edges_cap) {
        long cap = r->edges_cap ? 2 * r->edges_cap : 64;
        long(*e)[2] = realloc(r->edges, (size_t)cap * sizeof(*e));
        if (e == NULL)
            return ENOMEM;
        r->edges = e;
        r->edges_cap = cap;
    }
    r->edges[r->nedges][0] = a;
    r->edges[r->nedges][1] = b;
    r->nedges++;
    return 0;
}

/* The predecessor lists, in compressed rows: preds[pred_start[i],
 * pred_start[i + 1]) are node i's. */
static int build_preds(rec_graph *r)
{
    free(r->preds);
    r->preds = malloc(((size_t)r->nedges + 1) * sizeof(*r->preds));
    if (r->preds == NULL)
        return ENOMEM;
    memset(r->pred_start, 0, ((size_t)r->n + 1) * sizeof(*r->pred_start));
    for (long e = 0; e < r->nedges; e++)
        r->pred_start[r->edges[e][1] + 1]++;
    for (long i = 0; i < r->n; i++)
        r->pred_start[i + 1] += r->pred_start[i];
    long *fill = calloc((size_t)r->n + 1, sizeof(*fill));
    if (fill == NULL)
        return ENOMEM;
    for (long e = 0; e < r->nedges; e++) {
        long b = r->edges[e][1];
        r->preds[r->pred_start[b] + fill[b]++] = r->edges[e][0];
    }
    free(fill);
    r->preds_of_edges = r->nedges;
    return 0;
}

int rg_run(rec_graph *r, crew_pool *pool)
{
    if (r->preds == NULL || r->preds_of_edges != r->nedges) {
        int rc = build_preds(r);
        if (rc != 0)
            return rc;
    }
    r->run++;
    return crew_graph_run(pool, r->g);
}

int rg_check(rec_graph *r, unsigned runs)
{
    uint64_t seq = atomic_load(&r->seq);
    CHECKF(seq == 2 * (uint64_t)r->n * runs, "%llu stamps for %ld nodes x %u runs",
           (unsigned long long)seq, r->n, runs);
    for (long i = 0; i < r->n; i++) {
        unsigned k = atomic_load_explicit(&r->runs[i], memory_order_relaxed);
        CHECKF(k == runs, "node %ld ran %u times, expected %u", i, k, runs);
        CHECKF(r->start[i] < r->end[i], "node %ld: start %llu, end %llu", i,
               (unsigned long long)r->start[i], (unsigned long long)r->end[i]);
        long d = 0;
        for (long k = r->pred_start[i]; k < r->pred_start[i + 1]; k++)
            if (r->depth[r->preds[k]] > d)
                d = r->depth[r->preds[k]];
        CHECKF(r->depth[i] == d + 1, "node %ld saw depth %ld, expected %ld", i,
               r->depth[i] - 1, d);
        long got = PI(crew_node_result(r->nodes[i]));
        CHECKF(got == rec_result(i, r->run), "node %ld result %ld, expected %ld",
               i, got, rec_result(i, r->run));
    }
    for (long e = 0; e < r->nedges; e++) {
        long a = r->edges[e][0], b = r->edges[e][1];
        CHECKF(r->end[a] < r->start[b],
               "edge %ld -> %ld: %ld ended at %llu, %ld started at %llu", a, b, a,
               (unsigned long long)r->end[a], b, (unsigned long long)r->start[b]);
    }
    return 0;
}

int rg_random_dag(rec_graph *r, long n, long edges, uint64_t seed)
{
    if (rg_init(r, n, 200) != 0)
        return 1;
    uint64_t s = seed | 1;
    long *perm = malloc((size_t)n * sizeof(*perm));
    CHECK(perm != NULL);
    for (long i = 0; i < n; i++)
        perm[i] = i;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)(test_rng(&s) % (uint64_t)(i + 1));
        long t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int rc = 0;
    for (long e = 0; e < edges && rc == 0; e++) {
        long a = (long)(test_rng(&s) % (uint64_t)n);
        long b = (long)(test_rng(&s) % (uint64_t)n);
        if (a == b)
            continue;
        if (a > b) {
            long t = a;
            a = b;
            b = t;
        }
        /* Mostly short edges, so there are long paths, some long ones. */
        if (test_rng(&s) % 4 != 0 && b - a > 16)
            b = a + 1 + (long)(test_rng(&s) % 16);
        rc = rg_edge(r, perm[a], perm[b]);
        if (rc == 0 && test_rng(&s) % 16 == 0)
            rc = rg_edge(r, perm[a], perm[b]); /* a duplicate */
    }
    free(perm);
    CHECKF(rc == 0, "precede: %d", rc);
    return 0;
}

int rg_layered(rec_graph *r, long layers, long width, uint64_t seed)
{
    if (rg_init(r, layers * width, 0) != 0)
        return 1;
    uint64_t s = seed | 1;
    for (long l = 1; l < layers; l++) {
        for (long i = 0; i < width; i++) {
            long node = l * width + i;
            int preds = 1 + (int)(test_rng(&s) % 4);
            for (int k = 0; k < preds; k++) {
                long p = (l - 1) * width + (long)(test_rng(&s) % (uint64_t)width);
                int rc = rg_edge(r, p, node);
                CHECKF(rc == 0, "precede: %d", rc);
            }
        }
    }
    return 0;
}
