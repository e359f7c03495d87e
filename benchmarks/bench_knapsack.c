/* crew-bench knapsack: the best value of a 0-1 knapsack of n items
 * (default n = 26), by the search of Cilk's and Lace's knapsack
 * benchmark: items in decreasing order of value / weight; a node decides
 * the next item, both ways: without it (spawned) and with it (called).
 * A node over the capacity is a leaf worth INT_MIN; a node with no item
 * left or no room left is a leaf worth its value. Lace's program computes
 * an upper bound per node but never prunes with it (its prune is
 * commented out), so neither does this: the whole tree is walked, about
 * 3 ns of work per node, as fine-grained as fib.
 *   seq        seq_knapsack (seq/knapsack.c): both branches plain calls;
 *   crew       the "without" branch spawned, the "with" branch called,
 *              then synced, at every node, no cutoff: a typed task
 *              (CREW_SPAWN_TO, CREW_CALL, CREW_SYNC_FROM; crew_spawn +
 *              crew_sync_call before 2026-12-02)
 *              (n = 26: 97,516,741 nodes, 48,758,370 spawns);
 *   omp_tasks  the same tree with `#pragma omp task` for the "without"
 *              branch and `taskwait`, inside `parallel num_threads(W)` +
 *              `single`; no cutoff (cutoff=none);
 *   tbb        the same with a tbb::task_group per node: run "without",
 *              call "with", wait (peers/tbb.h); no cutoff.
 * The instance (ks_instance, below; the Lace race writes the same items
 * in Lace's input format): item i has weight 10 + h mod 91 and value
 * 10 + (h >> 32) mod 91 for h = mix64(0x4B00000000000000 + i), drawn
 * again (h = mix64(h)) while its value / weight equals an earlier item's,
 * so the order by value / weight has no ties; the capacity is half the
 * total weight. The answer must equal the twin's, and the twin's must
 * equal the best value computed by dynamic programming. */
#include "bench_fj.h"

#include <limits.h>
#include <stdlib.h>
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

typedef struct ks_ctx {
    int n, capacity;
    ks_item items[KS_MAX_ITEMS];
} ks_ctx;

/* The typed layer's handle form, crew's fastest fork-join (docs/guide.md). */
CREW_TASK(int, ks_crew, (const ks_item *, e), (int, c), (int, n), (int, v))
{
    if (c < 0)
        return INT_MIN;
    if (n == 0 || c == 0)
        return v;
    crew_task t;
    CREW_SPAWN_TO(&t, ks_crew, e + 1, c, n - 1, v);
    int w = CREW_CALL(ks_crew, e + 1, c - e->weight, n - 1, v + e->value);
    int wo = CREW_SYNC_FROM(&t, ks_crew);
    return w > wo ? w : wo;
}

#ifdef _OPENMP
static int ks_omp(const ks_item *e, int c, int n, int v)
{
    if (c < 0)
        return INT_MIN;
    if (n == 0 || c == 0)
        return v;
    int without;
#pragma omp task default(none) firstprivate(e, c, n, v) shared(without)
    without = ks_omp(e + 1, c, n - 1, v);
    int with = ks_omp(e + 1, c - e->weight, n - 1, v + e->value);
#pragma omp taskwait
    return with > without ? with : without;
}
#endif

#ifdef CREW_BENCH_HAVE_TBB
typedef struct ks_tbb_arg {
    const ks_item *e;
    int c, n, v, best;
} ks_tbb_arg;

static void ks_tbb(void *p)
{
    ks_tbb_arg *a = p;
    if (a->c < 0) {
        a->best = INT_MIN;
        return;
    }
    if (a->n == 0 || a->c == 0) {
        a->best = a->v;
        return;
    }
    const ks_item *e = a->e;
    ks_tbb_arg without = {e + 1, a->c, a->n - 1, a->v, 0};
    ks_tbb_arg with = {e + 1, a->c - e->weight, a->n - 1, a->v + e->value, 0};
    peer_tbb_group g;
    peer_tbb_group_init(&g);
    peer_tbb_group_run(&g, ks_tbb, &without);
    ks_tbb(&with);
    peer_tbb_group_wait(&g);
    a->best = with.best > without.best ? with.best : without.best;
}
#endif

static double ks_run(void *ctx, int impl, crew_pool *pool, unsigned workers,
                     fj_result *out)
{
    const ks_ctx *k = ctx;
    int best = INT_MIN;
    double t0 = bench_now();
    switch (impl) {
    case FJ_SEQ:
        best = seq_knapsack(k->items, k->capacity, k->n, 0);
        break;
    case FJ_CREW:
        if (CREW_RUN(pool, ks_crew, &best, k->items, k->capacity, k->n, 0) != 0)
            return -1;
        break;
    case FJ_OMP:
#ifdef _OPENMP
#pragma omp parallel num_threads((int)workers) default(none) shared(k, best)
#pragma omp single
        best = ks_omp(k->items, k->capacity, k->n, 0);
#else
        return -1;
#endif
        break;
    case FJ_TBB: {
#ifdef CREW_BENCH_HAVE_TBB
        ks_tbb_arg root = {k->items, k->capacity, k->n, 0, 0};
        if (peer_tbb_execute(workers, ks_tbb, &root) != 0)
            return -1;
        best = root.best;
#else
        return -1;
#endif
        break;
    }
    }
    double t = bench_now() - t0;
    (void)workers;
    out->value = (uint64_t)(int64_t)best;
    return t;
}

/* Decreasing value / weight: a before b when a.v / a.w > b.v / b.w,
 * compared exactly (the products fit in a long); ks_instance leaves no
 * ties. */
static int ks_by_ratio(const void *x, const void *y)
{
    const ks_item *a = x, *b = y;
    long l = (long)a->value * b->weight, r = (long)b->value * a->weight;
    return l > r ? -1 : l < r;
}

static void ks_instance(ks_ctx *k, int n)
{
    long total = 0;
    k->n = n;
    for (int i = 0; i < n; i++) {
        uint64_t h = fj_mix64(0x4B00000000000000ull + (uint64_t)i);
        for (;;) {
            int w = 10 + (int)(h % 91), v = 10 + (int)((h >> 32) % 91);
            int tie = 0;
            for (int j = 0; j < i && !tie; j++)
                tie = (long)v * k->items[j].weight == (long)k->items[j].value * w;
            if (!tie) {
                k->items[i] = (ks_item){v, w};
                break;
            }
            h = fj_mix64(h);
        }
        total += k->items[i].weight;
    }
    k->capacity = (int)(total / 2);
    qsort(k->items, (size_t)n, sizeof k->items[0], ks_by_ratio);
}

/* The best value by dynamic programming over the capacity (the check of
 * the twin): best[c] = the best value of the items so far within room c. */
static int ks_dynamic(const ks_ctx *k)
{
    int *best = calloc((size_t)k->capacity + 1, sizeof *best);
    if (best == NULL)
        return -1;
    for (int i = 0; i < k->n; i++)
        for (int c = k->capacity; c >= k->items[i].weight; c--) {
            int take = best[c - k->items[i].weight] + k->items[i].value;
            if (take > best[c])
                best[c] = take;
        }
    int v = best[k->capacity];
    free(best);
    return v;
}

int bench_knapsack(const bench_opts *o)
{
    long n = o->n > 0 ? o->n : 26;
    if (n > KS_MAX_ITEMS) {
        fprintf(stderr, "crew-bench knapsack: n (items) is at most %d\n",
                KS_MAX_ITEMS);
        return 2;
    }
    ks_ctx k;
    ks_instance(&k, (int)n);
    int dp = ks_dynamic(&k);
    if (dp < 0) {
        fprintf(stderr, "crew-bench knapsack: out of memory\n");
        return 1;
    }
    int got = seq_knapsack(k.items, k.capacity, k.n, 0);
    if (got != dp) {
        fprintf(stderr,
                "crew-bench knapsack: WRONG RESULT the sequential twin finds "
                "%d for n=%ld, dynamic programming %d\n",
                got, n, dp);
        return 1;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "capacity=%d prune=none", k.capacity);
    fj_spec sp = {
        .name = "knapsack",
        .n = n,
        .repeat = o->repeat > 0 ? o->repeat : 10,
        .extra = extra,
        .omp_extra = "cutoff=none",
        .ctx = &k,
        .run = ks_run,
    };
    return fj_bench(o, &sp);
}
