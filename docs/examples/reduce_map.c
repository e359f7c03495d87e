/* docs/guide.md, part 2: parallel_reduce and parallel_map.
 * - A reduction whose combine is associative but not commutative (a
 *   polynomial hash) gives exactly the sequential answer: partial results
 *   are combined in index order.
 * - A floating-point sum with a fixed grain is bitwise the same every run.
 * - parallel_map with different input and output element sizes. */
#include <crew.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 1000000 };
#define BASE 1099511628211ull

/* hash(x[b..e)) = sum of x[i] * BASE^(e-1-i), with BASE^(e-b) beside it
 * so that two adjacent pieces can be joined. Arithmetic is mod 2^64. */
typedef struct hash {
    uint64_t h, pow;
} hash;

static void hash_range(size_t begin, size_t end, void *acc, void *arg)
{
    const uint32_t *x = arg;
    hash *a = acc; /* starts as a copy of the identity {0, 1} */
    for (size_t i = begin; i < end; i++) {
        a->h = a->h * BASE + x[i];
        a->pow *= BASE;
    }
}

static void hash_join(void *acc, const void *right, void *arg) /* acc = acc . right */
{
    (void)arg;
    hash *a = acc;
    const hash *r = right;
    a->h = a->h * r->pow + r->h;
    a->pow *= r->pow;
}

static void harmonic_range(size_t begin, size_t end, void *acc, void *arg)
{
    (void)arg;
    double s = 0;
    for (size_t i = begin; i < end; i++)
        s += 1.0 / (double)(i + 1);
    *(double *)acc += s;
}

static void add(void *acc, const void *right, void *arg)
{
    (void)arg;
    *(double *)acc += *(const double *)right;
}

typedef struct triple {
    int32_t a, b, c;
} triple;

static void mul_add(const void *in, void *out, void *arg) /* 12 bytes in, 8 out */
{
    (void)arg;
    const triple *t = in;
    *(int64_t *)out = (int64_t)t->a * t->b + t->c;
}

int main(void)
{
    crew_pool *pool = crew_pool_create(NULL);
    uint32_t *x = malloc(N * sizeof *x);
    triple *in = malloc(N * sizeof *in);
    int64_t *out = malloc(N * sizeof *out);
    if (pool == NULL || x == NULL || in == NULL || out == NULL)
        return 1;
    uint64_t seed = 42;
    for (size_t i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (uint32_t)(seed >> 33);
        in[i] = (triple){(int32_t)(i % 1000) - 500, (int32_t)(i / 1000), (int32_t)i};
    }
    int ok = 1;

    /* Not commutative, yet the parallel result is the sequential one. */
    hash seq = {0, 1};
    hash_range(0, N, &seq, x);
    size_t grains[] = {0, 1000, 65536};
    for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
        const hash identity = {0, 1};
        hash par;
        if (crew_parallel_reduce(pool, 0, N, grains[g], sizeof par, &identity, hash_range,
                                 hash_join, x, &par) != 0)
            return 1;
        printf("hash at grain %zu: %016llx (sequential %016llx)\n", grains[g],
               (unsigned long long)par.h, (unsigned long long)seq.h);
        ok &= par.h == seq.h && par.pow == seq.pow;
    }

    /* A fixed grain fixes the split tree: the same bits on every run. */
    double zero = 0, first = 0;
    for (int run = 0; run < 5; run++) {
        double sum;
        if (crew_parallel_reduce(pool, 0, N, 4096, sizeof sum, &zero, harmonic_range, add, NULL,
                                 &sum) != 0)
            return 1;
        if (run == 0)
            first = sum;
        ok &= memcmp(&sum, &first, sizeof sum) == 0;
    }
    printf("harmonic sum, grain 4096, 5 runs: %.17g every time: %s\n", first,
           ok ? "yes" : "no");
    ok &= first > 14.39 && first < 14.40; /* ln(10^6) + 0.5772... */

    /* out[i] = in[i].a * in[i].b + in[i].c: element sizes may differ. */
    if (crew_parallel_map(pool, in, sizeof *in, out, sizeof *out, N, 0, mul_add, NULL) != 0)
        return 1;
    for (size_t i = 0; i < N; i++)
        ok &= out[i] == ((int64_t)i % 1000 - 500) * (int64_t)(i / 1000) + (int64_t)i;
    printf("map: out[123456] = %lld\n", (long long)out[123456]);

    free(x);
    free(in);
    free(out);
    crew_pool_destroy(pool);
    return ok ? 0 : 1;
}
