/* crew-bench nqueens: count the placements of n queens on an n x n board
 * (default n = 12: 14200), BOTS's search: a node is a board with queens
 * in its first rows; its children are the safe placements in the next
 * row, each a copy of the board (nq_children, bench_fj.h).
 *   seq        seq_nqueens (seq/nqueens.c): each child a recursive call;
 *   crew       every child but the last is a task (crew_spawn), the last
 *              is called directly, then the tasks are synced in reverse
 *              order (crew_sync_call): the whole search tree is spawned,
 *              no depth cutoff (n = 12: 856,189 nodes, 314,729 spawns,
 *              about 140 ns of work per node here);
 *   omp_tasks  the same tree with `#pragma omp task` per spawned child and
 *              `taskwait`, inside `parallel num_threads(W)` + `single`; no
 *              cutoff either (printed as cutoff=none);
 *   tbb        the same tree with a tbb::task_group per node that has
 *              more than one child: run per spawned child, the last one
 *              called, then wait (peers/tbb.h); no cutoff either.
 * The count is checked against the twin's and against the known value. */
#include "bench_fj.h"

#include <string.h>
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif

static const long known[] = {1, 1, 0, 0, 2, 10, 4, 40, 92, 352, 724, 2680,
                             14200, 73712, 365596, 2279184, 14772512};

static void *nq_crew(void *arg)
{
    const nq_node *node = arg;
    if (node->row == node->n)
        return (void *)(intptr_t)1;
    nq_node kids[NQ_MAX];
    crew_task t[NQ_MAX];
    int k = nq_children(node, kids);
    if (k == 0)
        return (void *)(intptr_t)0;
    for (int i = 0; i < k - 1; i++)
        crew_spawn(&t[i], nq_crew, &kids[i]);
    long count = (long)(intptr_t)nq_crew(&kids[k - 1]);
    for (int i = k - 2; i >= 0; i--)
        count += (long)(intptr_t)crew_sync_call(&t[i], nq_crew);
    return (void *)(intptr_t)count;
}

#ifdef _OPENMP
static long nq_omp(const nq_node *node)
{
    if (node->row == node->n)
        return 1;
    nq_node kids[NQ_MAX];
    long counts[NQ_MAX];
    int k = nq_children(node, kids);
    if (k == 0)
        return 0;
    for (int i = 0; i < k - 1; i++) {
#pragma omp task default(none) firstprivate(i) shared(kids, counts)
        counts[i] = nq_omp(&kids[i]);
    }
    long count = nq_omp(&kids[k - 1]);
#pragma omp taskwait
    for (int i = 0; i < k - 1; i++)
        count += counts[i];
    return count;
}
#endif

#ifdef CREW_BENCH_HAVE_TBB
typedef struct nq_tbb_arg {
    const nq_node *node;
    long count;
} nq_tbb_arg;

static void nq_tbb(void *p)
{
    nq_tbb_arg *a = p;
    const nq_node *node = a->node;
    a->count = 0;
    if (node->row == node->n) {
        a->count = 1;
        return;
    }
    nq_node kids[NQ_MAX];
    nq_tbb_arg sub[NQ_MAX];
    int k = nq_children(node, kids);
    if (k == 0)
        return;
    for (int i = 0; i < k; i++)
        sub[i] = (nq_tbb_arg){&kids[i], 0};
    if (k == 1) {
        nq_tbb(&sub[0]);
    } else {
        peer_tbb_group g;
        peer_tbb_group_init(&g);
        for (int i = 0; i < k - 1; i++)
            peer_tbb_group_run(&g, nq_tbb, &sub[i]);
        nq_tbb(&sub[k - 1]);
        peer_tbb_group_wait(&g);
    }
    for (int i = 0; i < k; i++)
        a->count += sub[i].count;
}
#endif

static double nq_run(void *ctx, int impl, crew_pool *pool, unsigned workers,
                     fj_result *out)
{
    nq_node root;
    memset(&root, 0, sizeof root);
    root.n = (int)*(const long *)ctx;
    long count = -1;
    double t0 = bench_now();
    switch (impl) {
    case FJ_SEQ:
        count = seq_nqueens(&root);
        break;
    case FJ_CREW: {
        void *r = NULL;
        if (crew_run(pool, nq_crew, &root, &r) != 0)
            return -1;
        count = (long)(intptr_t)r;
        break;
    }
    case FJ_OMP:
#ifdef _OPENMP
#pragma omp parallel num_threads((int)workers) default(none) shared(root, count)
#pragma omp single
        count = nq_omp(&root);
#else
        return -1;
#endif
        break;
    case FJ_TBB: {
#ifdef CREW_BENCH_HAVE_TBB
        nq_tbb_arg root_arg = {&root, 0};
        if (peer_tbb_execute(workers, nq_tbb, &root_arg) != 0)
            return -1;
        count = root_arg.count;
#else
        return -1;
#endif
        break;
    }
    }
    double t = bench_now() - t0;
    (void)workers;
    out->value = (uint64_t)count;
    return t;
}

int bench_nqueens(const bench_opts *o)
{
    long n = o->n > 0 ? o->n : 12;
    if (n > NQ_MAX) {
        fprintf(stderr, "crew-bench nqueens: n is at most %d\n", NQ_MAX);
        return 2;
    }
    if (n < (long)(sizeof known / sizeof known[0])) {
        nq_node root;
        memset(&root, 0, sizeof root);
        root.n = (int)n;
        long got = seq_nqueens(&root);
        if (got != known[n]) {
            fprintf(stderr,
                    "crew-bench nqueens: WRONG RESULT the sequential twin "
                    "counts %ld solutions for n=%ld, the known value is %ld\n",
                    got, n, known[n]);
            return 1;
        }
    }
    fj_spec sp = {
        .name = "nqueens",
        .n = n,
        .repeat = o->repeat > 0 ? o->repeat : 10,
        .extra = "spawn=every_node",
        .omp_extra = "cutoff=none",
        .ctx = &n,
        .run = nq_run,
    };
    return fj_bench(o, &sp);
}
