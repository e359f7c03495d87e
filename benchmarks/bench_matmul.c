/* crew-bench matmul: C = A * B for n x n matrices of doubles (default
 * n = 1024; n must be MM_BASE = 64 times a power of two), by recursive
 * quadrant splitting down to 64 x 64 base blocks (matmul_base,
 * seq/matmul.c). At each level the eight quadrant products run in two
 * phases of four independent products (each writes its own quadrant of
 * C); the second phase starts after the first is synced, so no two tasks
 * write one element, and every element sums its products in k order.
 *   seq        seq_matmul: the recursion with plain calls;
 *   crew       three products of a phase spawned, the fourth called, then
 *              synced (crew_sync_call): every level down to the base;
 *   omp_tasks  the same with `#pragma omp task` and `taskwait`, no cutoff;
 *   tbb        the same with a tbb::task_group per phase: run three
 *              products, call the fourth, wait (peers/tbb.h); no cutoff.
 * A and B are seeded random values in [-1, 1); C is zeroed before every
 * run (untimed). The result is a checksum of C's bits, which must equal
 * the twin's exactly. */
#include "bench_fj.h"

#include <stdlib.h>
#include <string.h>
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

typedef struct mm_ctx {
    long n;
    double *a, *b, *c;
} mm_ctx;

typedef struct mm_arg {
    double *c;
    const double *a, *b;
    long s, ld;
} mm_arg;

static void *mm_crew(void *p)
{
    const mm_arg *x = p;
    long s = x->s, ld = x->ld;
    if (s <= MM_BASE) {
        matmul_base(x->c, x->a, x->b, s, ld);
        return NULL;
    }
    long h = s / 2;
    double *c = x->c;
    const double *a = x->a, *b = x->b;
    double *c11 = c, *c12 = c + h, *c21 = c + h * ld, *c22 = c + h * ld + h;
    const double *a11 = a, *a12 = a + h, *a21 = a + h * ld, *a22 = a + h * ld + h;
    const double *b11 = b, *b12 = b + h, *b21 = b + h * ld, *b22 = b + h * ld + h;
    mm_arg q[4];
    crew_task t[3];

    q[0] = (mm_arg){c11, a11, b11, h, ld};
    q[1] = (mm_arg){c12, a11, b12, h, ld};
    q[2] = (mm_arg){c21, a21, b11, h, ld};
    q[3] = (mm_arg){c22, a21, b12, h, ld};
    for (int i = 0; i < 3; i++)
        crew_spawn(&t[i], mm_crew, &q[i]);
    mm_crew(&q[3]);
    for (int i = 2; i >= 0; i--)
        crew_sync_call(&t[i], mm_crew);

    q[0] = (mm_arg){c11, a12, b21, h, ld};
    q[1] = (mm_arg){c12, a12, b22, h, ld};
    q[2] = (mm_arg){c21, a22, b21, h, ld};
    q[3] = (mm_arg){c22, a22, b22, h, ld};
    for (int i = 0; i < 3; i++)
        crew_spawn(&t[i], mm_crew, &q[i]);
    mm_crew(&q[3]);
    for (int i = 2; i >= 0; i--)
        crew_sync_call(&t[i], mm_crew);
    return NULL;
}

#ifdef _OPENMP
static void mm_omp(double *c, const double *a, const double *b, long s, long ld)
{
    if (s <= MM_BASE) {
        matmul_base(c, a, b, s, ld);
        return;
    }
    long h = s / 2;
    double *c11 = c, *c12 = c + h, *c21 = c + h * ld, *c22 = c + h * ld + h;
    const double *a11 = a, *a12 = a + h, *a21 = a + h * ld, *a22 = a + h * ld + h;
    const double *b11 = b, *b12 = b + h, *b21 = b + h * ld, *b22 = b + h * ld + h;
#pragma omp task default(none) firstprivate(c11, a11, b11, h, ld)
    mm_omp(c11, a11, b11, h, ld);
#pragma omp task default(none) firstprivate(c12, a11, b12, h, ld)
    mm_omp(c12, a11, b12, h, ld);
#pragma omp task default(none) firstprivate(c21, a21, b11, h, ld)
    mm_omp(c21, a21, b11, h, ld);
    mm_omp(c22, a21, b12, h, ld);
#pragma omp taskwait
#pragma omp task default(none) firstprivate(c11, a12, b21, h, ld)
    mm_omp(c11, a12, b21, h, ld);
#pragma omp task default(none) firstprivate(c12, a12, b22, h, ld)
    mm_omp(c12, a12, b22, h, ld);
#pragma omp task default(none) firstprivate(c21, a22, b21, h, ld)
    mm_omp(c21, a22, b21, h, ld);
    mm_omp(c22, a22, b22, h, ld);
#pragma omp taskwait
}
#endif

#ifdef CREW_BENCH_HAVE_TBB
static void mm_tbb(void *p)
{
    const mm_arg *x = p;
    long s = x->s, ld = x->ld;
    if (s <= MM_BASE) {
        matmul_base(x->c, x->a, x->b, s, ld);
        return;
    }
    long h = s / 2;
    double *c = x->c;
    const double *a = x->a, *b = x->b;
    double *c11 = c, *c12 = c + h, *c21 = c + h * ld, *c22 = c + h * ld + h;
    const double *a11 = a, *a12 = a + h, *a21 = a + h * ld, *a22 = a + h * ld + h;
    const double *b11 = b, *b12 = b + h, *b21 = b + h * ld, *b22 = b + h * ld + h;
    mm_arg q[4];
    peer_tbb_group g;
    q[0] = (mm_arg){c11, a11, b11, h, ld};
    q[1] = (mm_arg){c12, a11, b12, h, ld};
    q[2] = (mm_arg){c21, a21, b11, h, ld};
    q[3] = (mm_arg){c22, a21, b12, h, ld};
    peer_tbb_group_init(&g);
    for (int i = 0; i < 3; i++)
        peer_tbb_group_run(&g, mm_tbb, &q[i]);
    mm_tbb(&q[3]);
    peer_tbb_group_wait(&g);
    q[0] = (mm_arg){c11, a12, b21, h, ld};
    q[1] = (mm_arg){c12, a12, b22, h, ld};
    q[2] = (mm_arg){c21, a22, b21, h, ld};
    q[3] = (mm_arg){c22, a22, b22, h, ld};
    peer_tbb_group_init(&g);
    for (int i = 0; i < 3; i++)
        peer_tbb_group_run(&g, mm_tbb, &q[i]);
    mm_tbb(&q[3]);
    peer_tbb_group_wait(&g);
}
#endif

static uint64_t mm_checksum(const double *c, long count)
{
    uint64_t h = 0;
    for (long i = 0; i < count; i++) {
        uint64_t bits;
        memcpy(&bits, &c[i], sizeof bits);
        h = fj_mix64(h ^ bits);
    }
    return h;
}

static double mm_run(void *ctx, int impl, crew_pool *pool, unsigned workers,
                     fj_result *out)
{
    mm_ctx *m = ctx;
    long n = m->n;
    double *c = m->c;
    const double *a = m->a, *b = m->b;
    memset(c, 0, (size_t)(n * n) * sizeof *c);
    double t0 = bench_now();
    switch (impl) {
    case FJ_SEQ:
        seq_matmul(c, a, b, n, n);
        break;
    case FJ_CREW: {
        mm_arg root = {c, a, b, n, n};
        if (crew_run(pool, mm_crew, &root, NULL) != 0)
            return -1;
        break;
    }
    case FJ_OMP:
#ifdef _OPENMP
#pragma omp parallel num_threads((int)workers) default(none) shared(a, b, c, n)
#pragma omp single
        mm_omp(c, a, b, n, n);
#else
        return -1;
#endif
        break;
    case FJ_TBB: {
#ifdef CREW_BENCH_HAVE_TBB
        mm_arg root = {c, a, b, n, n};
        if (peer_tbb_execute(workers, mm_tbb, &root) != 0)
            return -1;
#else
        return -1;
#endif
        break;
    }
    }
    double t = bench_now() - t0;
    (void)workers;
    out->value = mm_checksum(c, n * n);
    return t;
}

int bench_matmul(const bench_opts *o)
{
    long n = o->n > 0 ? o->n : 1024;
    long p = MM_BASE;
    while (p < n)
        p *= 2;
    if (n < MM_BASE || p != n || n > 16384) {
        fprintf(stderr,
                "crew-bench matmul: n must be %d times a power of two "
                "(64, 128, ..., 16384)\n",
                MM_BASE);
        return 2;
    }
    mm_ctx m = {.n = n};
    size_t bytes = (size_t)(n * n) * sizeof(double);
    m.a = malloc(bytes);
    m.b = malloc(bytes);
    m.c = malloc(bytes);
    int status = 1;
    if (m.a == NULL || m.b == NULL || m.c == NULL) {
        fprintf(stderr, "crew-bench matmul: out of memory\n");
        goto out;
    }
    for (long i = 0; i < n * n; i++) {
        /* 53 random bits to [0, 1), then to [-1, 1). */
        m.a[i] = (double)(fj_mix64(0xA000000000000000ull + (uint64_t)i) >> 11) *
                     0x1.0p-52 - 1.0;
        m.b[i] = (double)(fj_mix64(0xB000000000000000ull + (uint64_t)i) >> 11) *
                     0x1.0p-52 - 1.0;
    }
    fj_spec sp = {
        .name = "matmul",
        .n = n,
        .repeat = o->repeat > 0 ? o->repeat : 10,
        .result_hex = 1,
        .extra = "base=64",
        .omp_extra = "cutoff=none",
        .ctx = &m,
        .run = mm_run,
    };
    status = fj_bench(o, &sp);
out:
    free(m.a);
    free(m.b);
    free(m.c);
    return status;
}
