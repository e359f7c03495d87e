/* crew-bench strassen: C = A B for n x n matrices of doubles (default
 * n = 1024; n a power of two, at least 16) by Strassen's method, the
 * recursion of Lace's (and Cilk's) strassen benchmark: at every level
 * above 16 x 16, one allocation of 11 quadrant-sized temporaries, the
 * eight quadrant sums, seven products of half the size, then C made from
 * them (Winograd's form; seq/strassen.c); 16 x 16 blocks are multiplied
 * directly (strassen_base). n = 1024: 19,608 levels, 117,649 base blocks.
 *   seq        seq_strassen: the seven products plain calls;
 *   crew       six products spawned, the seventh called, then synced in
 *              reverse order (crew_sync_call), at every level;
 *   omp_tasks  the same with `#pragma omp task` per spawned product and
 *              `taskwait`, no cutoff;
 *   tbb        the same with a tbb::task_group per level: run six
 *              products, call the seventh, wait (peers/tbb.h); no cutoff.
 * A and B are seeded random values in [0, 1) (Lace: rand() / RAND_MAX);
 * C is zeroed before every run (untimed). The result is a hash of C's
 * bits, which must equal the twin's exactly; the twin's C is checked
 * against dot products on 64 sampled elements (relative error below
 * 1e-9). */
#include "bench_fj.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

typedef struct st_ctx {
    long n;
    double *a, *b, *c;
} st_ctx;

/* Each spawned product returns its error (0 or ENOMEM) as its result. */
static void *st_crew(void *p)
{
    const st_product *x = p;
    if (x->s <= ST_BASE) {
        strassen_base(x->c, x->a, x->b, x->ldc, x->lda, x->ldb);
        return NULL;
    }
    double *t = strassen_temps(x->s);
    if (t == NULL)
        return (void *)(intptr_t)ENOMEM;
    strassen_prepare(x, t);
    st_product q[7];
    crew_task task[6];
    strassen_products(x, t, q);
    for (int i = 0; i < 6; i++)
        crew_spawn(&task[i], st_crew, &q[i]);
    intptr_t err = (intptr_t)st_crew(&q[6]);
    for (int i = 5; i >= 0; i--) {
        intptr_t e = (intptr_t)crew_sync_call(&task[i], st_crew);
        if (e != 0)
            err = e;
    }
    if (err == 0)
        strassen_combine(x, t);
    free(t);
    return (void *)err;
}

#ifdef _OPENMP
static int st_omp(const st_product *x)
{
    if (x->s <= ST_BASE) {
        strassen_base(x->c, x->a, x->b, x->ldc, x->lda, x->ldb);
        return 0;
    }
    double *t = strassen_temps(x->s);
    if (t == NULL)
        return ENOMEM;
    strassen_prepare(x, t);
    st_product q[7];
    int errs[7];
    strassen_products(x, t, q);
    for (int i = 0; i < 6; i++) {
#pragma omp task default(none) firstprivate(i) shared(q, errs)
        errs[i] = st_omp(&q[i]);
    }
    errs[6] = st_omp(&q[6]);
#pragma omp taskwait
    int err = 0;
    for (int i = 0; i < 7; i++)
        if (errs[i] != 0)
            err = errs[i];
    if (err == 0)
        strassen_combine(x, t);
    free(t);
    return err;
}
#endif

#ifdef CREW_BENCH_HAVE_TBB
typedef struct st_tbb_arg {
    st_product x;
    int err;
} st_tbb_arg;

static void st_tbb(void *p)
{
    st_tbb_arg *a = p;
    const st_product *x = &a->x;
    a->err = 0;
    if (x->s <= ST_BASE) {
        strassen_base(x->c, x->a, x->b, x->ldc, x->lda, x->ldb);
        return;
    }
    double *t = strassen_temps(x->s);
    if (t == NULL) {
        a->err = ENOMEM;
        return;
    }
    strassen_prepare(x, t);
    st_product q[7];
    st_tbb_arg sub[7];
    strassen_products(x, t, q);
    for (int i = 0; i < 7; i++)
        sub[i] = (st_tbb_arg){q[i], 0};
    peer_tbb_group g;
    peer_tbb_group_init(&g);
    for (int i = 0; i < 6; i++)
        peer_tbb_group_run(&g, st_tbb, &sub[i]);
    st_tbb(&sub[6]);
    peer_tbb_group_wait(&g);
    for (int i = 0; i < 7; i++)
        if (sub[i].err != 0)
            a->err = sub[i].err;
    if (a->err == 0)
        strassen_combine(x, t);
    free(t);
}
#endif

static uint64_t st_checksum(const double *c, long count)
{
    uint64_t h = 0;
    for (long i = 0; i < count; i++) {
        uint64_t bits;
        memcpy(&bits, &c[i], sizeof bits);
        h = fj_mix64(h ^ bits);
    }
    return h;
}

static double st_run(void *ctx, int impl, crew_pool *pool, unsigned workers,
                     fj_result *out)
{
    st_ctx *m = ctx;
    long n = m->n;
    st_product root = {m->c, m->a, m->b, n, n, n, n};
    int err = 0;
    memset(m->c, 0, (size_t)(n * n) * sizeof *m->c);
    double t0 = bench_now();
    switch (impl) {
    case FJ_SEQ:
        err = seq_strassen(&root);
        break;
    case FJ_CREW: {
        void *r = NULL;
        if (crew_run(pool, st_crew, &root, &r) != 0)
            return -1;
        err = (int)(intptr_t)r;
        break;
    }
    case FJ_OMP:
#ifdef _OPENMP
#pragma omp parallel num_threads((int)workers) default(none) shared(root, err)
#pragma omp single
        err = st_omp(&root);
#else
        return -1;
#endif
        break;
    case FJ_TBB: {
#ifdef CREW_BENCH_HAVE_TBB
        st_tbb_arg r = {root, 0};
        if (peer_tbb_execute(workers, st_tbb, &r) != 0)
            return -1;
        err = r.err;
#else
        return -1;
#endif
        break;
    }
    }
    double t = bench_now() - t0;
    (void)workers;
    if (err != 0) {
        fprintf(stderr, "crew-bench strassen: out of memory\n");
        return -1;
    }
    out->value = st_checksum(m->c, n * n);
    return t;
}

/* The twin's C against dot products of A's rows and B's columns at 64
 * sampled elements; 0 when every relative error is below 1e-9. */
static int st_spot_check(const st_ctx *m)
{
    long n = m->n;
    st_product root = {m->c, m->a, m->b, n, n, n, n};
    if (seq_strassen(&root) != 0) {
        fprintf(stderr, "crew-bench strassen: out of memory\n");
        return 1;
    }
    for (uint64_t k = 0; k < 64; k++) {
        uint64_t h = fj_mix64(0x5C00000000000000ull + k);
        long i = (long)(h % (uint64_t)n), j = (long)((h >> 32) % (uint64_t)n);
        double want = 0;
        for (long x = 0; x < n; x++)
            want += m->a[i * n + x] * m->b[x * n + j];
        double got = m->c[i * n + j];
        if (fabs(got - want) > 1e-9 * fabs(want)) {
            fprintf(stderr,
                    "crew-bench strassen: WRONG RESULT the sequential twin "
                    "has C[%ld][%ld] = %.17g, the dot product %.17g\n",
                    i, j, got, want);
            return 1;
        }
    }
    return 0;
}

int bench_strassen(const bench_opts *o)
{
    long n = o->n > 0 ? o->n : 1024;
    long p = ST_BASE;
    while (p < n)
        p *= 2;
    if (n < ST_BASE || p != n || n > 16384) {
        fprintf(stderr,
                "crew-bench strassen: n must be a power of two from %d to "
                "16384\n",
                ST_BASE);
        return 2;
    }
    st_ctx m = {.n = n};
    size_t bytes = (size_t)(n * n) * sizeof(double);
    m.a = malloc(bytes);
    m.b = malloc(bytes);
    m.c = malloc(bytes);
    int status = 1;
    if (m.a == NULL || m.b == NULL || m.c == NULL) {
        fprintf(stderr, "crew-bench strassen: out of memory\n");
        goto out;
    }
    for (long i = 0; i < n * n; i++) {
        /* 53 random bits to [0, 1). */
        m.a[i] = (double)(fj_mix64(0x5A00000000000000ull + (uint64_t)i) >> 11) *
                 0x1.0p-53;
        m.b[i] = (double)(fj_mix64(0x5B00000000000000ull + (uint64_t)i) >> 11) *
                 0x1.0p-53;
    }
    if (st_spot_check(&m) != 0)
        goto out;
    fj_spec sp = {
        .name = "strassen",
        .n = n,
        .repeat = o->repeat > 0 ? o->repeat : 10,
        .result_hex = 1,
        .extra = "base=16",
        .omp_extra = "cutoff=none",
        .ctx = &m,
        .run = st_run,
    };
    status = fj_bench(o, &sp);
out:
    free(m.a);
    free(m.b);
    free(m.c);
    return status;
}
