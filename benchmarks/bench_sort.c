/* crew-bench sort: a cilksort-like parallel merge sort of n ints (default
 * 5,000,000; seeded random input over the whole int range). Split in
 * halves, sort them in parallel, then merge them in parallel: the larger
 * run's middle element goes to its final place (its rank in the other run
 * found by binary search) and the two sides merge as two tasks. Ranges of
 * at most 2048 elements are sorted by sort_base (quicksort + insertion
 * sort), merges of at most 4096 outputs by merge_seq (both in
 * seq/sort.c); each level alternates between the array and one scratch
 * buffer, so nothing is copied back.
 *   seq        seq_msort: the same recursion with plain calls;
 *   crew       one half (one side of a merge) spawned, the other called,
 *              then synced (crew_sync_call), at every level;
 *   omp_tasks  the same with `#pragma omp task` and `taskwait`, no cutoff;
 *   tbb        the same with a tbb::task_group per split: run one half,
 *              call the other, wait (peers/tbb.h); no cutoff.
 * The input is copied into the array before every run (untimed). Each
 * run's output must be sorted, hold the input's elements (a multiset
 * hash), and have the twin's checksum (a hash of every position). */
#include "bench_fj.h"

#include <stdlib.h>
#include <string.h>
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

typedef struct sort_ctx {
    long n;
    int *input, *a, *tmp;
    uint64_t input_sum; /* multiset hash of the input */
} sort_ctx;

typedef struct ms_arg {
    int *a, *tmp;
    long n;
    int to_tmp;
} ms_arg;

typedef struct pm_arg {
    const int *x, *y;
    long nx, ny;
    int *out;
} pm_arg;

static void *pm_crew(void *p)
{
    const pm_arg *m = p;
    const int *x = m->x, *y = m->y;
    long nx = m->nx, ny = m->ny;
    if (nx < ny) {
        const int *t = x;
        x = y;
        y = t;
        long tn = nx;
        nx = ny;
        ny = tn;
    }
    if (nx + ny <= MERGE_BASE) {
        merge_seq(x, nx, y, ny, m->out);
        return NULL;
    }
    long mx = nx / 2;
    long my = sort_lower_bound(y, ny, x[mx]);
    m->out[mx + my] = x[mx];
    pm_arg l = {x, y, mx, my, m->out};
    pm_arg r = {x + mx + 1, y + my, nx - mx - 1, ny - my, m->out + mx + my + 1};
    crew_task t;
    crew_spawn(&t, pm_crew, &l);
    pm_crew(&r);
    crew_sync_call(&t, pm_crew);
    return NULL;
}

static void *ms_crew(void *p)
{
    const ms_arg *s = p;
    int *a = s->a, *tmp = s->tmp;
    long n = s->n;
    if (n <= SORT_BASE) {
        sort_base(a, n);
        if (s->to_tmp)
            memcpy(tmp, a, (size_t)n * sizeof *a);
        return NULL;
    }
    long h = n / 2;
    ms_arg l = {a, tmp, h, !s->to_tmp};
    ms_arg r = {a + h, tmp + h, n - h, !s->to_tmp};
    crew_task t;
    crew_spawn(&t, ms_crew, &l);
    ms_crew(&r);
    crew_sync_call(&t, ms_crew);
    const int *src = s->to_tmp ? a : tmp;
    pm_arg m = {src, src + h, h, n - h, s->to_tmp ? tmp : a};
    pm_crew(&m);
    return NULL;
}

#ifdef _OPENMP
static void pm_omp(const int *x, long nx, const int *y, long ny, int *out)
{
    if (nx < ny) {
        const int *t = x;
        x = y;
        y = t;
        long tn = nx;
        nx = ny;
        ny = tn;
    }
    if (nx + ny <= MERGE_BASE) {
        merge_seq(x, nx, y, ny, out);
        return;
    }
    long mx = nx / 2;
    long my = sort_lower_bound(y, ny, x[mx]);
    out[mx + my] = x[mx];
#pragma omp task default(none) firstprivate(x, mx, y, my, out)
    pm_omp(x, mx, y, my, out);
    pm_omp(x + mx + 1, nx - mx - 1, y + my, ny - my, out + mx + my + 1);
#pragma omp taskwait
}

static void ms_omp(int *a, int *tmp, long n, int to_tmp)
{
    if (n <= SORT_BASE) {
        sort_base(a, n);
        if (to_tmp)
            memcpy(tmp, a, (size_t)n * sizeof *a);
        return;
    }
    long h = n / 2;
#pragma omp task default(none) firstprivate(a, tmp, h, to_tmp)
    ms_omp(a, tmp, h, !to_tmp);
    ms_omp(a + h, tmp + h, n - h, !to_tmp);
#pragma omp taskwait
    const int *src = to_tmp ? a : tmp;
    pm_omp(src, h, src + h, n - h, to_tmp ? tmp : a);
}
#endif

#ifdef CREW_BENCH_HAVE_TBB
static void pm_tbb(void *p)
{
    const pm_arg *m = p;
    const int *x = m->x, *y = m->y;
    long nx = m->nx, ny = m->ny;
    if (nx < ny) {
        const int *t = x;
        x = y;
        y = t;
        long tn = nx;
        nx = ny;
        ny = tn;
    }
    if (nx + ny <= MERGE_BASE) {
        merge_seq(x, nx, y, ny, m->out);
        return;
    }
    long mx = nx / 2;
    long my = sort_lower_bound(y, ny, x[mx]);
    m->out[mx + my] = x[mx];
    pm_arg l = {x, y, mx, my, m->out};
    pm_arg r = {x + mx + 1, y + my, nx - mx - 1, ny - my, m->out + mx + my + 1};
    peer_tbb_group g;
    peer_tbb_group_init(&g);
    peer_tbb_group_run(&g, pm_tbb, &l);
    pm_tbb(&r);
    peer_tbb_group_wait(&g);
}

static void ms_tbb(void *p)
{
    const ms_arg *s = p;
    int *a = s->a, *tmp = s->tmp;
    long n = s->n;
    if (n <= SORT_BASE) {
        sort_base(a, n);
        if (s->to_tmp)
            memcpy(tmp, a, (size_t)n * sizeof *a);
        return;
    }
    long h = n / 2;
    ms_arg l = {a, tmp, h, !s->to_tmp};
    ms_arg r = {a + h, tmp + h, n - h, !s->to_tmp};
    peer_tbb_group g;
    peer_tbb_group_init(&g);
    peer_tbb_group_run(&g, ms_tbb, &l);
    ms_tbb(&r);
    peer_tbb_group_wait(&g);
    const int *src = s->to_tmp ? a : tmp;
    pm_arg m = {src, src + h, h, n - h, s->to_tmp ? tmp : a};
    pm_tbb(&m);
}
#endif

static uint64_t multiset_hash(const int *a, long n)
{
    uint64_t s = 0;
    for (long i = 0; i < n; i++)
        s += fj_mix64((uint64_t)(uint32_t)a[i]);
    return s;
}

static double sort_run(void *ctx, int impl, crew_pool *pool, unsigned workers,
                       fj_result *out)
{
    sort_ctx *c = ctx;
    long n = c->n;
    int *a = c->a, *tmp = c->tmp;
    memcpy(a, c->input, (size_t)n * sizeof *a);
    double t0 = bench_now();
    switch (impl) {
    case FJ_SEQ:
        seq_msort(a, tmp, n, 0);
        break;
    case FJ_CREW: {
        ms_arg root = {a, tmp, n, 0};
        if (crew_run(pool, ms_crew, &root, NULL) != 0)
            return -1;
        break;
    }
    case FJ_OMP:
#ifdef _OPENMP
#pragma omp parallel num_threads((int)workers) default(none) shared(a, tmp, n)
#pragma omp single
        ms_omp(a, tmp, n, 0);
#else
        return -1;
#endif
        break;
    case FJ_TBB: {
#ifdef CREW_BENCH_HAVE_TBB
        ms_arg root = {a, tmp, n, 0};
        if (peer_tbb_execute(workers, ms_tbb, &root) != 0)
            return -1;
#else
        return -1;
#endif
        break;
    }
    }
    double t = bench_now() - t0;
    (void)workers;
    for (long i = 1; i < n; i++)
        if (a[i - 1] > a[i]) {
            fprintf(stderr, "crew-bench sort: WRONG RESULT: not sorted at %ld\n", i);
            return -1;
        }
    if (multiset_hash(a, n) != c->input_sum) {
        fprintf(stderr, "crew-bench sort: WRONG RESULT: not a permutation of the input\n");
        return -1;
    }
    uint64_t h = 0;
    for (long i = 0; i < n; i++)
        h = fj_mix64(h ^ (uint64_t)(uint32_t)a[i]);
    out->value = h;
    return t;
}

int bench_sort(const bench_opts *o)
{
    long n = o->n > 0 ? o->n : 5000000;
    sort_ctx c = {.n = n};
    c.input = malloc((size_t)n * sizeof(int));
    c.a = malloc((size_t)n * sizeof(int));
    c.tmp = malloc((size_t)n * sizeof(int));
    int status = 1;
    if (c.input == NULL || c.a == NULL || c.tmp == NULL) {
        fprintf(stderr, "crew-bench sort: out of memory\n");
        goto out;
    }
    for (long i = 0; i < n; i++)
        c.input[i] = (int)(uint32_t)fj_mix64(0x5000000000000000ull + (uint64_t)i);
    c.input_sum = multiset_hash(c.input, n);
    memset(c.tmp, 0, (size_t)n * sizeof(int)); /* touch the scratch pages */
    fj_spec sp = {
        .name = "sort",
        .n = n,
        .repeat = o->repeat > 0 ? o->repeat : 10,
        .result_hex = 1,
        .extra = "sort_base=2048 merge_base=4096",
        .omp_extra = "cutoff=none",
        .ctx = &c,
        .run = sort_run,
    };
    status = fj_bench(o, &sp);
out:
    free(c.input);
    free(c.a);
    free(c.tmp);
    return status;
}
