/* crew-bench for: a memory-light compute loop, the sum of a cheap integer
 * hash over n indices (default 100,000,000).
 *   seq          the plain loop, one thread;
 *   crew         crew_parallel_for at grain 0, a local sum per subrange
 *                added to its worker's own padded partial (the usual
 *                pattern: no shared cache line per subrange);
 *   crew_reduce  crew_parallel_reduce at grain 0;
 *   openmp       `#pragma omp parallel for reduction(+:s)` (static
 *                schedule), when the build found OpenMP;
 *   tbb          tbb::parallel_for over a blocked_range with the default
 *                (auto) partitioner, a chunk's sum added to its thread's
 *                padded partial, in a task_arena of W threads; when the
 *                build found oneTBB (peers/tbb.cpp);
 *   tbb_reduce   tbb::parallel_reduce over the same range.
 * Every implementation sums a subrange with the same function (seq_sum;
 * oneTBB calls it through a pointer, once per chunk).
 * Each parallel implementation runs with 1 worker and with --workers (or
 * 2) workers. Cells run interleaved, --repeat times (default 10), with a
 * short pause between them so neither runtime's idle spinning eats the
 * other's cores; medians, min, max; every result is checked against seq. */
#include "bench.h"

#include <crew.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

#define MAX_REPEAT 64

static inline uint64_t cheap(uint64_t i)
{
    uint64_t x = i * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return x & 0xffff;
}

static uint64_t seq_sum(size_t b, size_t e)
{
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += cheap(i);
    return s;
}

#define MAX_WORKERS BENCH_MAX_WORKERS

typedef struct partial {
    _Alignas(64) _Atomic uint64_t sum;
} partial;

static partial partials[MAX_WORKERS];

static int for_range(size_t b, size_t e, void *arg)
{
    (void)arg;
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += cheap(i);
    /* Relaxed: only this worker writes its slot; the loop's end orders
     * it before the caller's sum. */
    int w = crew_worker_index();
    partial *p = &partials[w >= 0 && w < MAX_WORKERS ? w : 0];
    atomic_store_explicit(&p->sum, atomic_load_explicit(&p->sum, memory_order_relaxed) + s,
                          memory_order_relaxed);
    return 0;
}

static void reduce_range(size_t b, size_t e, void *acc, void *arg)
{
    (void)arg;
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += cheap(i);
    *(uint64_t *)acc += s;
}

static void reduce_combine(void *acc, const void *right, void *arg)
{
    (void)arg;
    *(uint64_t *)acc += *(const uint64_t *)right;
}

#ifdef _OPENMP
static uint64_t omp_sum(size_t n, int threads)
{
    uint64_t s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static) num_threads(threads)
    for (size_t i = 0; i < n; i++)
        s += cheap(i);
    return s;
}
#endif

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000};
    nanosleep(&ts, NULL);
}

enum { SEQ, CREW, CREW_REDUCE, OPENMP, TBB, TBB_REDUCE, NIMPL };
static const char *const names[] = {"seq",    "crew", "crew_reduce", "openmp",
                                    "tbb", "tbb_reduce", NULL};

static int run_cell(int impl, crew_pool *pool, unsigned workers, size_t n, double *secs,
                    uint64_t *result)
{
    double t0 = bench_now();
    uint64_t r = 0;
    switch (impl) {
    case SEQ:
        r = seq_sum(0, n);
        break;
    case CREW:
        for (int i = 0; i < MAX_WORKERS; i++)
            atomic_store(&partials[i].sum, 0);
        if (crew_parallel_for(pool, 0, n, 0, for_range, NULL) != 0)
            return -1;
        for (int i = 0; i < MAX_WORKERS; i++)
            r += atomic_load(&partials[i].sum);
        break;
    case CREW_REDUCE: {
        uint64_t zero = 0;
        if (crew_parallel_reduce(pool, 0, n, 0, sizeof r, &zero, reduce_range, reduce_combine,
                                 NULL, &r) != 0)
            return -1;
        break;
    }
    case OPENMP:
#ifdef _OPENMP
        r = omp_sum(n, (int)workers);
#else
        return -1;
#endif
        break;
    case TBB:
    case TBB_REDUCE:
#ifdef CREW_BENCH_HAVE_TBB
        if (peer_tbb_for_sum(workers, n, seq_sum, impl == TBB_REDUCE, &r) != 0)
            return -1;
#else
        return -1;
#endif
        break;
    }
    (void)workers;
    *secs = bench_now() - t0;
    *result = r;
    return 0;
}

int bench_for(const bench_opts *o)
{
    if (bench_check_impl(o, "for", names) != 0)
        return 2;
    size_t n = o->n > 0 ? (size_t)o->n : 100000000;
    int repeat = o->repeat > 0 ? o->repeat : 10;
    if (repeat > MAX_REPEAT)
        repeat = MAX_REPEAT;
    unsigned counts[2] = {1, o->workers > 0 ? o->workers : 2};
    int have_omp = 0;
#ifdef _OPENMP
    have_omp = 1;
#endif
    if (!have_omp && bench_selected(o, "openmp"))
        printf("bench=for impl=openmp skipped=1 reason=not_built_with_openmp\n");
    int have_tbb = 0;
#ifdef CREW_BENCH_HAVE_TBB
    have_tbb = 1;
#endif
    if (!have_tbb)
        for (int impl = TBB; impl <= TBB_REDUCE; impl++)
            if (bench_selected(o, names[impl]))
                printf("bench=for impl=%s skipped=1 reason=not_built_with_onetbb\n",
                       names[impl]);
    uint64_t want = seq_sum(0, n);
    static double t[2][NIMPL][MAX_REPEAT];
    crew_pool *pools[2];
    for (int w = 0; w < 2; w++) {
        pools[w] = bench_pool_create("for", counts[w]);
        if (pools[w] == NULL)
            return 1;
#ifdef CREW_BENCH_HAVE_TBB
        if (peer_tbb_prepare(counts[w]) != 0) {
            fprintf(stderr, "crew-bench for: cannot create a oneTBB arena\n");
            return 1;
        }
#endif
    }
    for (int r = 0; r < repeat; r++) {
        for (int w = 0; w < 2; w++)
            for (int impl = 0; impl < NIMPL; impl++) {
                if ((impl == SEQ && w == 1) || (impl == OPENMP && !have_omp) ||
                    (impl >= TBB && !have_tbb))
                    continue;
                if (!bench_selected(o, names[impl]) && impl != SEQ)
                    continue;
                uint64_t got = 0;
                if (run_cell(impl, pools[w], counts[w], n, &t[w][impl][r], &got) != 0 ||
                    got != want) {
                    fprintf(stderr, "crew-bench for: %s with %u workers: WRONG RESULT %llu, "
                            "expected %llu\n", names[impl], counts[w],
                            (unsigned long long)got, (unsigned long long)want);
                    return 1;
                }
                pause_ms(20);
            }
        bench_progress("for", r + 1, repeat);
    }
    for (int w = 0; w < 2; w++)
        crew_pool_destroy(pools[w]);
    bench_summary seq = bench_summarize(t[0][SEQ], (size_t)repeat);
    double omp_median[2] = {0, 0};
    if (have_omp)
        for (int w = 0; w < 2; w++) {
            double copy[MAX_REPEAT];
            for (int r = 0; r < repeat; r++)
                copy[r] = t[w][OPENMP][r];
            omp_median[w] = bench_median(copy, (size_t)repeat);
        }
    for (int w = 0; w < 2; w++)
        for (int impl = 0; impl < NIMPL; impl++) {
            if ((impl == SEQ && w == 1) || (impl == OPENMP && !have_omp) ||
                    (impl >= TBB && !have_tbb))
                continue;
            if (!bench_selected(o, names[impl]) && impl != SEQ)
                continue;
            bench_summary s = impl == SEQ ? seq : bench_summarize(t[w][impl], (size_t)repeat);
            printf("bench=for impl=%s workers=%u n=%zu", names[impl], impl == SEQ ? 1 : counts[w],
                   n);
            bench_print_stats("s", &s);
            printf(" result=%llu speed_vs_seq=%.3g", (unsigned long long)want,
                   seq.median / s.median);
            if (have_omp && impl != SEQ && omp_median[w] > 0)
                printf(" speed_vs_openmp=%.3f", omp_median[w] / s.median);
            printf(" repeat=%d\n", repeat);
        }
    return 0;
}
