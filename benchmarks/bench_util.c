/* crew-bench: helpers the scheduler workloads share. */
#include "bench.h"

#include <crew.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    if (n == 0)
        return 0;
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bench_summary bench_summarize(double *v, size_t n)
{
    bench_summary s = {0, 0, 0, 0, 0};
    if (n == 0)
        return s;
    s.median = bench_median(v, n); /* sorts v */
    s.min = v[0];
    s.max = v[n - 1];
    s.p10 = v[n / 10];
    s.p90 = v[n - 1 - n / 10];
    return s;
}

void bench_print_stats(const char *unit, const bench_summary *s)
{
    printf(" median_%s=%.6g p10_%s=%.6g p90_%s=%.6g min_%s=%.6g max_%s=%.6g", unit, s->median,
           unit, s->p10, unit, s->p90, unit, s->min, unit, s->max);
}

void bench_progress(const char *workload, long done, long total)
{
    static int mode = -1; /* 0: silent, 1: lines, 2: a terminal line */
    if (mode < 0) {
        const char *env = getenv("CREW_BENCH_PROGRESS");
        mode = env != NULL && strcmp(env, "1") == 0 ? 1 : isatty(STDERR_FILENO) ? 2 : 0;
    }
    if (mode == 1)
        fprintf(stderr, "progress: bench=%s done=%ld total=%ld\n", workload, done, total);
    else if (mode == 2 && done < total)
        fprintf(stderr, "\rcrew-bench %s: %ld of %ld repetitions\033[K", workload, done, total);
    else if (mode == 2)
        fprintf(stderr, "\r\033[K");
}

double bench_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    double exact = p * (double)n;
    size_t rank = (size_t)exact;
    if ((double)rank < exact)
        rank++; /* the ceiling, without libm */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

int bench_selected(const bench_opts *o, const char *name)
{
    return o->impl == NULL || strcmp(o->impl, name) == 0;
}

int bench_check_impl(const bench_opts *o, const char *workload,
                     const char *const *names)
{
    if (o->impl == NULL)
        return 0;
    for (size_t i = 0; names[i] != NULL; i++)
        if (strcmp(o->impl, names[i]) == 0)
            return 0;
    fprintf(stderr, "crew-bench %s: unknown --impl %s; one of:", workload,
            o->impl);
    for (size_t i = 0; names[i] != NULL; i++)
        fprintf(stderr, " %s", names[i]);
    fprintf(stderr, "\n");
    return -1;
}

struct crew_pool *bench_pool_create(const char *workload, unsigned workers)
{
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = workers;
    crew_pool *pool = crew_pool_create(&cfg);
    if (pool == NULL)
        fprintf(stderr, "crew-bench %s: crew_pool_create: %s\n", workload, strerror(errno));
    return pool;
}
