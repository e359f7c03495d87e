/* crew-bench uts_t1 and uts_t3: the Unbalanced Tree Search on UTS's own
 * sample trees, with UTS's SHA-1 splittable random stream
 * (benchmarks/uts), the trees Lace's benchmark suite runs:
 *   uts_t1  T1: geometric, fixed branching b0 = 4, depth 10, seed 19:
 *           4,130,071 nodes (3,305,118 leaves), depth 10;
 *   uts_t3  T3: binomial, 2,000 children at the root, else 8 children
 *           with probability 0.124875, seed 42: 4,112,897 nodes
 *           (3,599,034 leaves), depth 1,572.
 * `--n 1` walks UTS's small default tree instead (1,732 nodes: a smoke
 * run). Every node costs one SHA-1 of 24 bytes (about 0.3 us here), so
 * the work per spawn is fine but not tiny.
 *   seq        seq_uts_std_range (seq/uts_std.c), plain calls;
 *   crew       the children of a node walked by range halving, the left
 *              half spawned, the right half called, then synced
 *              (crew_sync_call): k - 1 spawns for k children, no cutoff;
 *   omp_tasks  the same with `#pragma omp task` and `taskwait`;
 *   tbb        the same with a tbb::task_group per halving.
 * The node count and the depth are checked against the twin's, and the
 * twin's against the published size. */
#include "bench_uts_std.h"

#include "bench_fj.h"

#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

typedef struct std_arg {
    const uts_params *p;
    const uts_node *parent;
    int lo, hi;
    uts_count out;
} std_arg;

static uts_count crew_range(const uts_params *p, const uts_node *parent, int lo, int hi);

static void *crew_range_task(void *v)
{
    std_arg *a = v;
    a->out = crew_range(a->p, a->parent, a->lo, a->hi);
    return NULL;
}

static uts_count crew_range(const uts_params *p, const uts_node *parent, int lo, int hi)
{
    if (hi - lo == 1)
        return uts_std_visit(p, parent, lo, crew_range);
    int mid = lo + (hi - lo) / 2;
    std_arg l = {p, parent, lo, mid, {0, 0, 0}};
    crew_task t;
    crew_spawn(&t, crew_range_task, &l);
    uts_count r = crew_range(p, parent, mid, hi);
    crew_sync_call(&t, crew_range_task);
    uts_count_add(&l.out, &r);
    return l.out;
}

#ifdef _OPENMP
static uts_count omp_range(const uts_params *p, const uts_node *parent, int lo, int hi)
{
    if (hi - lo == 1)
        return uts_std_visit(p, parent, lo, omp_range);
    int mid = lo + (hi - lo) / 2;
    uts_count l;
#pragma omp task default(none) firstprivate(p, parent, lo, mid) shared(l)
    l = omp_range(p, parent, lo, mid);
    uts_count r = omp_range(p, parent, mid, hi);
#pragma omp taskwait
    uts_count_add(&l, &r);
    return l;
}
#endif

#ifdef CREW_BENCH_HAVE_TBB
static uts_count tbb_range(const uts_params *p, const uts_node *parent, int lo, int hi);

static void tbb_range_task(void *v)
{
    std_arg *a = v;
    a->out = tbb_range(a->p, a->parent, a->lo, a->hi);
}

static uts_count tbb_range(const uts_params *p, const uts_node *parent, int lo, int hi)
{
    if (hi - lo == 1)
        return uts_std_visit(p, parent, lo, tbb_range);
    int mid = lo + (hi - lo) / 2;
    std_arg l = {p, parent, lo, mid, {0, 0, 0}};
    peer_tbb_group g;
    peer_tbb_group_init(&g);
    peer_tbb_group_run(&g, tbb_range_task, &l);
    uts_count r = tbb_range(p, parent, mid, hi);
    peer_tbb_group_wait(&g);
    uts_count_add(&l.out, &r);
    return l.out;
}
#endif

typedef struct std_ctx {
    const uts_preset *tree;
    uts_node root;
    int k; /* the root's children */
} std_ctx;

static void *crew_root(void *v)
{
    std_ctx *c = v;
    static uts_count out;
    out = crew_range(&c->tree->params, &c->root, 0, c->k);
    return &out;
}

static double std_run(void *ctx, int impl, crew_pool *pool, unsigned workers, fj_result *out)
{
    std_ctx *c = ctx;
    const uts_params *p = &c->tree->params;
    uts_count total = {1, c->k == 0, 0}, sub = {0, 0, 0};
    double t0 = bench_now();
    if (c->k > 0) {
        switch (impl) {
        case FJ_SEQ:
            sub = seq_uts_std_range(p, &c->root, 0, c->k);
            break;
        case FJ_CREW: {
            void *r = NULL;
            if (crew_run(pool, crew_root, c, &r) != 0)
                return -1;
            sub = *(uts_count *)r;
            break;
        }
        case FJ_OMP:
#ifdef _OPENMP
#pragma omp parallel num_threads((int)workers) default(none) shared(p, c, sub)
#pragma omp single
            sub = omp_range(p, &c->root, 0, c->k);
#else
            return -1;
#endif
            break;
        case FJ_TBB: {
#ifdef CREW_BENCH_HAVE_TBB
            std_arg root = {p, &c->root, 0, c->k, {0, 0, 0}};
            if (peer_tbb_execute(workers, tbb_range_task, &root) != 0)
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
    uts_count_add(&total, &sub);
    out->value = total.nodes;
    out->aux = (uint64_t)total.max_depth;
    return secs;
}

static int std_bench(const bench_opts *o, const char *name, const uts_preset *preset)
{
    static std_ctx c;
    c.tree = o->n == 1 ? &uts_small : preset;
    uts_root(&c.tree->params, &c.root);
    c.k = uts_num_children(&c.tree->params, &c.root);
    /* The twin against the published size, once, before any timing: a
     * generator that drifted would make every row agree on a wrong tree. */
    uts_count check = {1, c.k == 0, 0};
    if (c.k > 0) {
        uts_count sub = seq_uts_std_range(&c.tree->params, &c.root, 0, c.k);
        uts_count_add(&check, &sub);
    }
    if (check.nodes != c.tree->size.nodes || check.leaves != c.tree->size.leaves ||
        (c.tree->size.max_depth >= 0 && check.max_depth != c.tree->size.max_depth)) {
        fprintf(stderr,
                "crew-bench %s: tree %s has %llu nodes, %llu leaves, depth %d; UTS publishes "
                "%llu, %llu, %d\n",
                name, c.tree->name, (unsigned long long)check.nodes,
                (unsigned long long)check.leaves, check.max_depth,
                (unsigned long long)c.tree->size.nodes, (unsigned long long)c.tree->size.leaves,
                c.tree->size.max_depth);
        return 1;
    }
    char desc[64];
    snprintf(desc, sizeof desc, "tree=%s", c.tree->name);
    fj_spec sp = {
        .name = name,
        .n = (long)c.tree->size.nodes,
        .repeat = o->repeat > 0 ? o->repeat : 5,
        .aux_name = "max_depth",
        .extra = desc,
        .omp_extra = "cutoff=none",
        .ctx = &c,
        .run = std_run,
    };
    return fj_bench(o, &sp);
}

int bench_uts_t1(const bench_opts *o)
{
    return std_bench(o, "uts_t1", &uts_t1);
}

int bench_uts_t3(const bench_opts *o)
{
    return std_bench(o, "uts_t3", &uts_t3);
}
