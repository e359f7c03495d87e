/* crew-bench uts_geo and uts_bin: the Unbalanced Tree Search, a count of
 * the nodes (and the greatest depth) of a tree generated on the fly from
 * a splittable hash-based random stream (uts_tree.h): every
 * implementation walks the same tree, whose shape no one knows in
 * advance.
 *   uts_geo  geometric: root with b0 = 4 children, mean branching b = 4,
 *            depth limit d = --n (default 11), seed 6: 1,429,601 nodes;
 *   uts_bin  binomial: root with b0 = --n children (default 2000), every
 *            other node has m = 5 children with probability q = 0.1998
 *            (m q = 0.999: subtrees of 1,000 nodes on average, with a
 *            heavy tail), else none; seed 6: 1,308,656 nodes, 1,297
 *            levels deep;
 * both with 32 mix rounds per child state (about 100 ns of work per node
 * here; the rounds are part of the tree's definition, as is the seed).
 *   seq        seq_uts_range (seq/uts.c), plain calls;
 *   crew       the children of a node walked by range halving, the left
 *              half spawned, the right half called, then synced
 *              (crew_sync_call): k - 1 spawns for k children, down to the
 *              leaves, no cutoff;
 *   omp_tasks  the same with `#pragma omp task` and `taskwait`, no cutoff;
 *   tbb        the same with a tbb::task_group per halving: run the left
 *              half, call the right half, wait (peers/tbb.h); no cutoff.
 * The node count and the greatest depth are checked against the twin's. */
#include "uts_tree.h"

#include <string.h>
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

typedef struct uts_arg {
    const uts_tree *t;
    uint64_t s;
    int depth;
    long lo, hi;
    uts_count out;
} uts_arg;

static void *uts_crew(void *p)
{
    uts_arg *a = p;
    const uts_tree *t = a->t;
    if (a->hi - a->lo == 1) {
        uint64_t cs = uts_child_state(t, a->s, a->lo);
        uts_count c = {1, (uint64_t)a->depth + 1};
        long k = uts_children(t, cs, a->depth + 1);
        if (k > 0) {
            uts_arg sub = {t, cs, a->depth + 1, 0, k, {0, 0}};
            uts_crew(&sub);
            uts_merge(&c, &sub.out);
        }
        a->out = c;
        return NULL;
    }
    long mid = a->lo + (a->hi - a->lo) / 2;
    uts_arg l = {t, a->s, a->depth, a->lo, mid, {0, 0}};
    uts_arg r = {t, a->s, a->depth, mid, a->hi, {0, 0}};
    crew_task task;
    crew_spawn(&task, uts_crew, &l);
    uts_crew(&r);
    crew_sync_call(&task, uts_crew);
    uts_merge(&l.out, &r.out);
    a->out = l.out;
    return NULL;
}

#ifdef _OPENMP
static uts_count uts_omp(const uts_tree *t, uint64_t s, int depth, long lo,
                         long hi)
{
    if (hi - lo == 1) {
        uint64_t cs = uts_child_state(t, s, lo);
        uts_count c = {1, (uint64_t)depth + 1};
        long k = uts_children(t, cs, depth + 1);
        if (k > 0) {
            uts_count sub = uts_omp(t, cs, depth + 1, 0, k);
            uts_merge(&c, &sub);
        }
        return c;
    }
    long mid = lo + (hi - lo) / 2;
    uts_count l;
#pragma omp task default(none) firstprivate(t, s, depth, lo, mid) shared(l)
    l = uts_omp(t, s, depth, lo, mid);
    uts_count r = uts_omp(t, s, depth, mid, hi);
#pragma omp taskwait
    uts_merge(&l, &r);
    return l;
}
#endif

#ifdef CREW_BENCH_HAVE_TBB
static void uts_tbb(void *p)
{
    uts_arg *a = p;
    const uts_tree *t = a->t;
    if (a->hi - a->lo == 1) {
        uint64_t cs = uts_child_state(t, a->s, a->lo);
        uts_count c = {1, (uint64_t)a->depth + 1};
        long k = uts_children(t, cs, a->depth + 1);
        if (k > 0) {
            uts_arg sub = {t, cs, a->depth + 1, 0, k, {0, 0}};
            uts_tbb(&sub);
            uts_merge(&c, &sub.out);
        }
        a->out = c;
        return;
    }
    long mid = a->lo + (a->hi - a->lo) / 2;
    uts_arg l = {t, a->s, a->depth, a->lo, mid, {0, 0}};
    uts_arg r = {t, a->s, a->depth, mid, a->hi, {0, 0}};
    peer_tbb_group g;
    peer_tbb_group_init(&g);
    peer_tbb_group_run(&g, uts_tbb, &l);
    uts_tbb(&r);
    peer_tbb_group_wait(&g);
    uts_merge(&l.out, &r.out);
    a->out = l.out;
}
#endif

static double uts_run(void *ctx, int impl, crew_pool *pool, unsigned workers,
                      fj_result *out)
{
    const uts_tree *t = ctx;
    uint64_t rs = uts_root_state(t);
    long k = uts_children(t, rs, 0);
    uts_count c = {1, 0}, sub = {0, 0};
    double t0 = bench_now();
    if (k > 0) {
        switch (impl) {
        case FJ_SEQ:
            sub = seq_uts_range(t, rs, 0, 0, k);
            break;
        case FJ_CREW: {
            uts_arg root = {t, rs, 0, 0, k, {0, 0}};
            if (crew_run(pool, uts_crew, &root, NULL) != 0)
                return -1;
            sub = root.out;
            break;
        }
        case FJ_OMP:
#ifdef _OPENMP
#pragma omp parallel num_threads((int)workers) default(none) shared(t, rs, k, sub)
#pragma omp single
            sub = uts_omp(t, rs, 0, 0, k);
#else
            return -1;
#endif
            break;
        case FJ_TBB: {
#ifdef CREW_BENCH_HAVE_TBB
            uts_arg root = {t, rs, 0, 0, k, {0, 0}};
            if (peer_tbb_execute(workers, uts_tbb, &root) != 0)
                return -1;
            sub = root.out;
#else
            return -1;
#endif
            break;
        }
        }
    }
    double secs = bench_now() - t0;
    (void)workers;
    uts_merge(&c, &sub);
    out->value = c.nodes;
    out->aux = c.max_depth;
    return secs;
}

static int uts_bench(const bench_opts *o, const char *name, uts_tree *t)
{
    if (uts_init(t) != 0) {
        fprintf(stderr, "crew-bench %s: tree parameters out of range\n", name);
        return 2;
    }
    char desc[160];
    uts_describe(t, desc, sizeof desc);
    fj_spec sp = {
        .name = name,
        .n = t->shape == UTS_GEO ? t->d : t->b0,
        .repeat = o->repeat > 0 ? o->repeat : 10,
        .aux_name = "max_depth",
        .extra = desc,
        .omp_extra = "cutoff=none",
        .ctx = t,
        .run = uts_run,
    };
    return fj_bench(o, &sp);
}

int bench_uts_geo(const bench_opts *o)
{
    uts_tree t;
    memset(&t, 0, sizeof t);
    t.shape = UTS_GEO;
    t.b0 = 4;
    t.b = 4;
    t.d = o->n > 0 ? (int)(o->n > 1000 ? 1001 : o->n) : 11;
    t.rounds = 32;
    t.seed = 6;
    return uts_bench(o, "uts_geo", &t);
}

int bench_uts_bin(const bench_opts *o)
{
    uts_tree t;
    memset(&t, 0, sizeof t);
    t.shape = UTS_BIN;
    t.b0 = o->n > 0 ? o->n : 2000;
    t.m = 5;
    t.q = 0.1998;
    t.rounds = 32;
    t.seed = 6;
    return uts_bench(o, "uts_bin", &t);
}
