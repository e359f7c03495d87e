/* crew-bench: the harness of the fork-join workloads (see bench_fj.h). */
#include "bench_fj.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

static const char *const impl_names[] = {"seq", "crew", "omp_tasks", "tbb", NULL};

#define MAX_POOLS 2
#define MAX_CELLS (1 + 3 * MAX_POOLS)
#define PAUSE_MS 20

int fj_have_omp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fj_have_tbb(void)
{
#ifdef CREW_BENCH_HAVE_TBB
    return 1;
#else
    return 0;
#endif
}

typedef struct cell {
    int impl;
    unsigned workers;
    crew_pool *pool;
    double *secs;
    uint64_t steals; /* crew: summed over the timed runs */
} cell;

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* How long to pause after a cell. libgomp's idle threads spin for well
 * under PAUSE_MS after a parallel region; LLVM's libomp spins for its
 * blocktime (200 ms by default), which would otherwise be charged to the
 * next cell. Neither runtime's settings are changed. */
static long pause_after(int impl)
{
#if defined(_OPENMP) && defined(KMP_VERSION_MAJOR)
    if (impl == FJ_OMP) {
        int bt = kmp_get_blocktime();
        return PAUSE_MS + (bt > 0 ? bt : 0);
    }
#else
    (void)impl;
#endif
    return PAUSE_MS;
}

static uint64_t pool_steals(crew_pool *pool)
{
    crew_stats s;
    crew_pool_stats(pool, &s);
    return s.steals;
}

/* Runs the cell once; the seconds, or -1 after printing why. */
static double run_once(const fj_spec *sp, cell *c, const fj_result *want)
{
    fj_result got = {0, 0};
    double t = sp->run(sp->ctx, c->impl, c->pool, c->workers, &got);
    if (t < 0) {
        fprintf(stderr, "crew-bench %s: impl=%s workers=%u n=%ld failed\n",
                sp->name, impl_names[c->impl], c->workers, sp->n);
        return -1;
    }
    if (want != NULL &&
        (got.value != want->value || (sp->aux_name && got.aux != want->aux))) {
        fprintf(stderr,
                "crew-bench %s: WRONG RESULT impl=%s workers=%u n=%ld: "
                "got %llu (%#llx)",
                sp->name, impl_names[c->impl], c->workers, sp->n,
                (unsigned long long)got.value, (unsigned long long)got.value);
        if (sp->aux_name)
            fprintf(stderr, " %s=%llu", sp->aux_name,
                    (unsigned long long)got.aux);
        fprintf(stderr, ", the sequential twin got %llu (%#llx)",
                (unsigned long long)want->value,
                (unsigned long long)want->value);
        if (sp->aux_name)
            fprintf(stderr, " %s=%llu", sp->aux_name,
                    (unsigned long long)want->aux);
        fprintf(stderr, "\n");
        return -1;
    }
    return t;
}

int fj_bench(const bench_opts *o, const fj_spec *sp)
{
    if (bench_check_impl(o, sp->name, impl_names) != 0)
        return 2;
    int repeat = sp->repeat;
    unsigned counts[MAX_POOLS] = {1, o->workers > 0 ? o->workers : 2};
    int npools = counts[1] == 1 ? 1 : MAX_POOLS;
    int want_crew = bench_selected(o, "crew");
    int want_omp = bench_selected(o, "omp_tasks");
    if (want_omp && !fj_have_omp()) {
        printf("bench=%s impl=omp_tasks skipped=1 reason=not_built_with_openmp\n",
               sp->name);
        want_omp = 0;
    }
    int want_tbb = bench_selected(o, "tbb");
    if (want_tbb && !fj_have_tbb()) {
        printf("bench=%s impl=tbb skipped=1 reason=not_built_with_onetbb\n",
               sp->name);
        want_tbb = 0;
    }

    cell cells[MAX_CELLS];
    int ncells = 0;
    crew_pool *pools[MAX_POOLS] = {NULL, NULL};
    int status = 0;
    /* seq always runs: it is the answer every run is checked against and
     * what speed_vs_seq is measured against. */
    cells[ncells++] = (cell){.impl = FJ_SEQ, .workers = 1};
    for (int p = 0; p < npools; p++) {
        if (want_crew) {
            pools[p] = bench_pool_create(sp->name, counts[p]);
            if (pools[p] == NULL) {
                status = 1;
                goto out;
            }
            cells[ncells++] = (cell){.impl = FJ_CREW, .workers = counts[p],
                                     .pool = pools[p]};
        }
        if (want_omp)
            cells[ncells++] = (cell){.impl = FJ_OMP, .workers = counts[p]};
        if (want_tbb) {
#ifdef CREW_BENCH_HAVE_TBB
            if (peer_tbb_prepare(counts[p]) != 0) {
                fprintf(stderr, "crew-bench %s: cannot create a oneTBB arena\n",
                        sp->name);
                status = 1;
                goto out;
            }
#endif
            cells[ncells++] = (cell){.impl = FJ_TBB, .workers = counts[p]};
        }
    }
    for (int c = 0; c < ncells; c++) {
        cells[c].secs = calloc((size_t)repeat, sizeof(double));
        if (cells[c].secs == NULL) {
            fprintf(stderr, "crew-bench %s: out of memory\n", sp->name);
            status = 1;
            goto out;
        }
    }

    /* The twin's answer, then one untimed warm-up of every cell. */
    fj_result want = {0, 0};
    if (sp->run(sp->ctx, FJ_SEQ, NULL, 1, &want) < 0) {
        fprintf(stderr, "crew-bench %s: the sequential twin failed\n", sp->name);
        status = 1;
        goto out;
    }
    for (int c = 0; c < ncells; c++) {
        if (run_once(sp, &cells[c], &want) < 0) {
            status = 1;
            goto out;
        }
        pause_ms(pause_after(cells[c].impl));
    }
    for (int r = 0; r < repeat; r++)
        for (int c = 0; c < ncells; c++) {
            uint64_t s0 = cells[c].pool ? pool_steals(cells[c].pool) : 0;
            double t = run_once(sp, &cells[c], &want);
            if (t < 0) {
                status = 1;
                goto out;
            }
            cells[c].secs[r] = t;
            if (cells[c].pool)
                cells[c].steals += pool_steals(cells[c].pool) - s0;
            pause_ms(pause_after(cells[c].impl));
            bench_progress(sp->name, (long)r * ncells + c + 1, (long)repeat * ncells);
        }

    bench_summary sum[MAX_CELLS];
    for (int c = 0; c < ncells; c++)
        sum[c] = bench_summarize(cells[c].secs, (size_t)repeat);
    for (int c = 0; c < ncells; c++) {
        if (!bench_selected(o, impl_names[cells[c].impl]))
            continue;
        double crew_median = 0;
        for (int d = 0; d < ncells; d++)
            if (cells[d].impl == FJ_CREW && cells[d].workers == cells[c].workers)
                crew_median = sum[d].median;
        printf("bench=%s impl=%s workers=%u n=%ld", sp->name, impl_names[cells[c].impl],
               cells[c].workers, sp->n);
        bench_print_stats("s", &sum[c]);
        printf(" result=");
        if (sp->result_hex)
            printf("%#llx", (unsigned long long)want.value);
        else
            printf("%llu", (unsigned long long)want.value);
        printf(" speed_vs_seq=%.3g", sum[0].median / sum[c].median);
        if (crew_median > 0)
            printf(" speed_vs_crew=%.3g", crew_median / sum[c].median);
        else
            printf(" speed_vs_crew=na");
        printf(" repeat=%d", repeat);
        if (sp->aux_name)
            printf(" %s=%llu", sp->aux_name, (unsigned long long)want.aux);
        if (cells[c].pool)
            printf(" steals_per_run=%.0f", (double)cells[c].steals / repeat);
        if ((cells[c].impl == FJ_OMP || cells[c].impl == FJ_TBB) && sp->omp_extra &&
            sp->omp_extra[0])
            printf(" %s", sp->omp_extra);
        if (sp->extra && sp->extra[0])
            printf(" %s", sp->extra);
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
