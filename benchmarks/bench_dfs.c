/* crew-bench dfs: Lace's dfs benchmark, a balanced tree of DFS_WIDTH (10)
 * children per inner node, --n levels deep (default 8: 10^8 leaves,
 * 111,111,111 nodes), every node but the root spawned: an inner node
 * spawns all ten children, then syncs all ten, newest first, as Lace's
 * SPAWN/SYNC loops do. A leaf is one call of dfs_leaf (bench_fj.h). It
 * measures spawning and syncing wide frames and nothing else.
 *   seq        seq_dfs (seq/dfs.c): plain calls;
 *   crew       CREW_SPAWN x 10, then CREW_SYNC x 10, newest first (a
 *              typed task; crew_spawn + crew_sync_call before
 *              2026-12-02);
 *   omp_tasks  a `#pragma omp task` per child, one `taskwait`;
 *   tbb        a tbb::task_group per inner node: run x 10, one wait.
 * The result (the number of leaves, 10^n) is checked against the
 * twin's. */
#include "bench_fj.h"

#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

/* A typed task, handle-less: a loop of spawns, then of syncs (newest
 * first), no storage of ours (20% faster here than ten handles in an
 * array, which live in memory). */
CREW_TASK(long, dfs_crew, (int, depth))
{
    if (depth == 0)
        return dfs_leaf();
    for (int i = 0; i < DFS_WIDTH; i++)
        CREW_SPAWN(dfs_crew, depth - 1);
    long sum = 0;
    for (int i = 0; i < DFS_WIDTH; i++)
        sum += CREW_SYNC(dfs_crew);
    return sum;
}

#ifdef _OPENMP
static long dfs_omp(int depth)
{
    if (depth == 0)
        return dfs_leaf();
    long part[DFS_WIDTH];
    for (int i = 0; i < DFS_WIDTH; i++) {
#pragma omp task default(none) firstprivate(depth, i) shared(part)
        part[i] = dfs_omp(depth - 1);
    }
#pragma omp taskwait
    long sum = 0;
    for (int i = 0; i < DFS_WIDTH; i++)
        sum += part[i];
    return sum;
}
#endif

#ifdef CREW_BENCH_HAVE_TBB
typedef struct dfs_tbb_arg {
    int depth;
    long sum;
} dfs_tbb_arg;

static void dfs_tbb(void *p)
{
    dfs_tbb_arg *a = p;
    if (a->depth == 0) {
        a->sum = dfs_leaf();
        return;
    }
    dfs_tbb_arg kids[DFS_WIDTH];
    peer_tbb_group g;
    peer_tbb_group_init(&g);
    for (int i = 0; i < DFS_WIDTH; i++) {
        kids[i] = (dfs_tbb_arg){a->depth - 1, 0};
        peer_tbb_group_run(&g, dfs_tbb, &kids[i]);
    }
    peer_tbb_group_wait(&g);
    a->sum = 0;
    for (int i = 0; i < DFS_WIDTH; i++)
        a->sum += kids[i].sum;
}
#endif

static double dfs_run(void *ctx, int impl, crew_pool *pool, unsigned workers, fj_result *out)
{
    int depth = *(const int *)ctx;
    long leaves = 0;
    double t0 = bench_now();
    switch (impl) {
    case FJ_SEQ:
        leaves = seq_dfs(depth);
        break;
    case FJ_CREW:
        if (CREW_RUN(pool, dfs_crew, &leaves, depth) != 0)
            return -1;
        break;
    case FJ_OMP:
#ifdef _OPENMP
#pragma omp parallel num_threads((int)workers) default(none) shared(depth, leaves)
#pragma omp single
        leaves = dfs_omp(depth);
#else
        return -1;
#endif
        break;
    case FJ_TBB: {
#ifdef CREW_BENCH_HAVE_TBB
        dfs_tbb_arg root = {depth, 0};
        if (peer_tbb_execute(workers, dfs_tbb, &root) != 0)
            return -1;
        leaves = root.sum;
#else
        return -1;
#endif
        break;
    }
    }
    double t = bench_now() - t0;
    (void)workers;
    out->value = (uint64_t)leaves;
    return t;
}

int bench_dfs(const bench_opts *o)
{
    /* 10^18 leaves still fit a long; more would take years anyway. */
    static int depth;
    depth = o->n > 0 ? (int)(o->n > 18 ? 18 : o->n) : 8;
    fj_spec sp = {
        .name = "dfs",
        .n = depth,
        .repeat = o->repeat > 0 ? o->repeat : 5,
        .extra = "width=10 spawn=every_child",
        .omp_extra = "cutoff=none",
        .ctx = &depth,
        .run = dfs_run,
    };
    return fj_bench(o, &sp);
}
