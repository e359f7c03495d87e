/* docs/loops.md: parallel_for, reduce and map on one pool. */
#include <crew.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int fill(size_t begin, size_t end, void *arg)
{
    double *v = arg;
    for (size_t i = begin; i < end; i++)
        v[i] = (double)i;
    return 0;
}

static void sum_range(size_t begin, size_t end, void *acc, void *arg)
{
    const double *v = arg;
    double s = 0;
    for (size_t i = begin; i < end; i++)
        s += v[i];
    *(double *)acc += s;
}

static void add(void *acc, const void *right, void *arg)
{
    (void)arg;
    *(double *)acc += *(const double *)right;
}

static void square(const void *in, void *out, void *arg)
{
    (void)arg;
    *(double *)out = *(const double *)in * *(const double *)in;
}

int main(void)
{
    enum { N = 1000000 };
    crew_pool *pool = crew_pool_create(NULL); /* one worker per CPU */
    double *v = malloc(N * sizeof *v), *sq = malloc(N * sizeof *sq);
    if (pool == NULL || v == NULL || sq == NULL)
        return 1;

    /* fn gets disjoint subranges covering [0, N); grain 0 = adaptive. */
    if (crew_parallel_for(pool, 0, N, 0, fill, v) != 0)
        return 1;

    /* A fixed grain makes the floating-point result the same every run. */
    double zero = 0, sum = 0;
    if (crew_parallel_reduce(pool, 0, N, 4096, sizeof sum, &zero, sum_range, add, v, &sum) != 0)
        return 1;

    /* out[i] = f(in[i]): the Pool.map of C. */
    if (crew_parallel_map(pool, v, sizeof *v, sq, sizeof *sq, N, 0, square, NULL) != 0)
        return 1;

    printf("sum = %.0f (expected %.0f), sq[1000] = %.0f\n", sum, (double)N * (N - 1) / 2,
           sq[1000]);
    int ok = sum == (double)N * (N - 1) / 2 && sq[1000] == 1e6;
    free(v);
    free(sq);
    crew_pool_destroy(pool);
    return ok ? 0 : 1;
}
