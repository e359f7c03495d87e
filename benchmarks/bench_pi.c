/* crew-bench pi: the Monte Carlo estimate of pi from n random points of
 * the unit square (default n = 10,000,000), Lace's pi benchmark: the
 * sample range is halved down to single samples, so the tree has n
 * leaves and n - 1 spawns, and a leaf draws one point (pi_hit,
 * bench_fj.h: two steps of the C standard's example rand() generator,
 * Lace's leaf work, but from a stream seeded by the sample's index, so
 * the count is the same whoever runs which leaf; Lace's leaves share one
 * generator per worker, so its count changes with the schedule).
 *   seq        seq_pi (seq/pi.c): both halves plain calls;
 *   crew       the first half (cnt / 2 samples) spawned, the second
 *              ((cnt + 1) / 2) called, then synced, down to single
 *              samples, no cutoff: a typed task (CREW_TASK, CREW_SPAWN_TO,
 *              CREW_CALL, CREW_SYNC_FROM; crew_spawn + crew_sync_call
 *              before 2026-12-02);
 *   omp_tasks  the same with `#pragma omp task` and `taskwait`, no cutoff;
 *   tbb        the same with a tbb::task_group per split: run the first
 *              half, call the second, wait (peers/tbb.h); no cutoff.
 * The result is the number of hits, which must equal the twin's; the
 * twin's estimate 4 hits / n must lie within 6 standard deviations of
 * pi. */
#include "bench_fj.h"

#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

/* The typed layer's handle form, crew's fastest fork-join (docs/guide.md). */
CREW_TASK(uint64_t, pi_crew, (long, start), (long, cnt))
{
    if (cnt == 1)
        return (uint64_t)pi_hit((uint64_t)start);
    crew_task t;
    CREW_SPAWN_TO(&t, pi_crew, start, cnt / 2);
    uint64_t hits = CREW_CALL(pi_crew, start + cnt / 2, (cnt + 1) / 2);
    return hits + CREW_SYNC_FROM(&t, pi_crew);
}

#ifdef _OPENMP
static uint64_t pi_omp(long start, long cnt)
{
    if (cnt == 1)
        return (uint64_t)pi_hit((uint64_t)start);
    uint64_t first;
#pragma omp task default(none) firstprivate(start, cnt) shared(first)
    first = pi_omp(start, cnt / 2);
    uint64_t second = pi_omp(start + cnt / 2, (cnt + 1) / 2);
#pragma omp taskwait
    return first + second;
}
#endif

#ifdef CREW_BENCH_HAVE_TBB
typedef struct pi_tbb_arg {
    long start, cnt;
    uint64_t hits;
} pi_tbb_arg;

static void pi_tbb(void *p)
{
    pi_tbb_arg *a = p;
    if (a->cnt == 1) {
        a->hits = (uint64_t)pi_hit((uint64_t)a->start);
        return;
    }
    pi_tbb_arg first = {a->start, a->cnt / 2, 0};
    pi_tbb_arg second = {a->start + a->cnt / 2, (a->cnt + 1) / 2, 0};
    peer_tbb_group g;
    peer_tbb_group_init(&g);
    peer_tbb_group_run(&g, pi_tbb, &first);
    pi_tbb(&second);
    peer_tbb_group_wait(&g);
    a->hits = first.hits + second.hits;
}
#endif

static double pi_run(void *ctx, int impl, crew_pool *pool, unsigned workers,
                     fj_result *out)
{
    long n = *(const long *)ctx;
    uint64_t hits = 0;
    double t0 = bench_now();
    switch (impl) {
    case FJ_SEQ:
        hits = seq_pi(0, n);
        break;
    case FJ_CREW:
        if (CREW_RUN(pool, pi_crew, &hits, 0, n) != 0)
            return -1;
        break;
    case FJ_OMP:
#ifdef _OPENMP
#pragma omp parallel num_threads((int)workers) default(none) shared(n, hits)
#pragma omp single
        hits = pi_omp(0, n);
#else
        return -1;
#endif
        break;
    case FJ_TBB: {
#ifdef CREW_BENCH_HAVE_TBB
        pi_tbb_arg root = {0, n, 0};
        if (peer_tbb_execute(workers, pi_tbb, &root) != 0)
            return -1;
        hits = root.hits;
#else
        return -1;
#endif
        break;
    }
    }
    double t = bench_now() - t0;
    (void)workers;
    out->value = hits;
    return t;
}

int bench_pi(const bench_opts *o)
{
    long n = o->n > 0 ? o->n : 10000000;
    /* 4 hits / n has the standard deviation 4 sqrt(p (1 - p) / n), p = pi/4. */
    double p = M_PI / 4;
    double est = 4.0 * (double)seq_pi(0, n) / (double)n;
    double sd = 4.0 * sqrt(p * (1 - p) / (double)n);
    if (fabs(est - M_PI) > 6 * sd) {
        fprintf(stderr,
                "crew-bench pi: WRONG RESULT the sequential twin estimates "
                "pi as %.9f from n=%ld samples, more than 6 standard "
                "deviations (%.2g) from pi\n",
                est, n, sd);
        return 1;
    }
    fj_spec sp = {
        .name = "pi",
        .n = n,
        .repeat = o->repeat > 0 ? o->repeat : 10,
        .extra = "spawn=every_split",
        .omp_extra = "cutoff=none",
        .ctx = &n,
        .run = pi_run,
    };
    return fj_bench(o, &sp);
}
