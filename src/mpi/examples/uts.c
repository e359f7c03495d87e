/* UTS across MPI ranks with crew-mpi: counts the nodes of one of the
 * standard UTS trees (benchmarks/uts) and checks the count against the
 * published size.
 *
 *   mpirun -np 2 ./mpi_example_uts [--tree T1|T2|T3|T5|small]... [--workers W]
 *                                  [--chunk N] [--repeat R] [--stats] [--seq]
 *
 * The bag is GLB's UTS bag: a stack of (node, range of children still to
 * visit). Processing an item generates one child, counts it and pushes its
 * own range; a thief gets the upper half of every range that has two
 * children or more. Rank 0 prints the count, the time and the CPU time
 * of every thread of every rank during the run; with --stats,
 * every rank's communication counts; with --seq, the time of a sequential
 * walk before each run. Exit status 0 when the count is the published
 * one. */
#include <crew_mpi.h>
#include <uts.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* One stack entry: children [lo, hi) of node are still to visit; lo = -1
 * marks a node not counted yet (the root). Plain data: loot is an array
 * of these, copied byte for byte. */
typedef struct uts_item {
    unsigned char state[UTS_STATE_BYTES];
    int32_t depth, lo, hi;
} uts_item;

typedef struct uts_bag {
    uts_item *items;
    size_t top, cap;
} uts_bag;

typedef struct uts_result {
    uint64_t nodes, leaves, max_depth;
} uts_result;

static void *bag_create(void *ctx)
{
    (void)ctx;
    return calloc(1, sizeof(uts_bag));
}

static void bag_destroy(void *bag, void *ctx)
{
    (void)ctx;
    uts_bag *b = bag;
    free(b->items);
    free(b);
}

static int bag_push(uts_bag *b, const uts_item *it)
{
    if (b->top == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        uts_item *more = realloc(b->items, cap * sizeof *more);
        if (more == NULL)
            return ENOMEM;
        b->items = more;
        b->cap = cap;
    }
    b->items[b->top++] = *it;
    return 0;
}

static int bag_init(void *bag, int rank, int nranks, void *ctx)
{
    (void)nranks;
    if (rank != 0)
        return 0;
    uts_node root;
    uts_root(ctx, &root);
    uts_item it = {.depth = 0, .lo = -1, .hi = 0};
    memcpy(it.state, root.state, sizeof it.state);
    return bag_push(bag, &it);
}

static void count(uts_result *r, int depth, int children)
{
    r->nodes++;
    r->leaves += children == 0;
    if ((uint64_t)depth > r->max_depth)
        r->max_depth = (uint64_t)depth;
}

static int bag_process(void *bag, size_t n, void *result, void *ctx)
{
    const uts_params *p = ctx;
    uts_bag *b = bag;
    uts_result *r = result;
    for (size_t i = 0; i < n && b->top > 0; i++) {
        uts_item *it = &b->items[b->top - 1];
        uts_node node;
        memcpy(node.state, it->state, sizeof node.state);
        node.depth = it->depth;
        if (it->lo < 0) { /* the root: count it, then visit its children */
            int k = uts_num_children(p, &node);
            count(r, node.depth, k);
            it->lo = 0;
            it->hi = k;
            if (k == 0)
                b->top--;
            continue;
        }
        uts_node child;
        uts_child(p, &node, it->lo++, &child);
        if (it->lo == it->hi)
            b->top--;
        int k = uts_num_children(p, &child);
        count(r, child.depth, k);
        if (k > 0) {
            uts_item next = {.depth = child.depth, .lo = 0, .hi = k};
            memcpy(next.state, child.state, sizeof next.state);
            if (bag_push(b, &next) != 0)
                return ENOMEM;
        }
    }
    return 0;
}

static bool bag_empty(const void *bag, void *ctx)
{
    (void)ctx;
    return ((const uts_bag *)bag)->top == 0;
}

/* The upper half of every range with two children or more, oldest (the
 * biggest subtrees) first, as many as fit. */
static size_t bag_split(void *bag, void *loot, size_t cap, void *ctx)
{
    (void)ctx;
    uts_bag *b = bag;
    uts_item *out = loot;
    size_t n = 0, room = cap / sizeof *out;
    for (size_t i = 0; i < b->top && n < room; i++) {
        uts_item *it = &b->items[i];
        int32_t give = (it->hi - it->lo) / 2;
        if (it->lo < 0 || give < 1)
            continue;
        out[n] = *it;
        out[n].lo = it->hi - give;
        it->hi -= give;
        n++;
    }
    return n * sizeof *out;
}

static int bag_merge(void *bag, const void *loot, size_t len, void *ctx)
{
    (void)ctx;
    if (len % sizeof(uts_item) != 0)
        return EINVAL;
    for (size_t i = 0; i < len / sizeof(uts_item); i++) {
        uts_item it;
        memcpy(&it, (const unsigned char *)loot + i * sizeof it, sizeof it);
        if (it.depth < 0 || it.lo < 0 || it.lo >= it.hi)
            return EINVAL;
        if (bag_push(bag, &it) != 0)
            return ENOMEM;
    }
    return 0;
}

static void result_reduce(void *acc, const void *other, void *ctx)
{
    (void)ctx;
    uts_result *a = acc;
    const uts_result *o = other;
    a->nodes += o->nodes;
    a->leaves += o->leaves;
    if (o->max_depth > a->max_depth)
        a->max_depth = o->max_depth;
}

static const uts_result zero;

/* Every rank's counts (crew_mpi_stats), printed by rank 0 in rank order,
 * as name=value: steals sent and won, lifeline requests sent, loot sent to
 * thieves (served) and down lifelines (pushed), loot messages and bytes,
 * the mean time a steal request waited for its answer. */
static void print_stats(const crew_mpi_stats *st, int rank, int nranks)
{
    crew_mpi_stats *all = rank == 0 ? malloc((size_t)nranks * sizeof *all) : NULL;
    MPI_Gather(st, (int)sizeof *st, MPI_BYTE, all, (int)sizeof *st, MPI_BYTE, 0, MPI_COMM_WORLD);
    for (int j = 0; rank == 0 && all != NULL && j < nranks; j++) {
        const crew_mpi_stats *s = &all[j];
        printf("  rank %d: steals=%llu won=%llu lifelines=%llu served=%llu pushed=%llu "
               "loot_sent=%llu loot_bytes=%llu loot_max=%llu loot_received=%llu "
               "messages_sent=%llu messages_received=%llu local_splits=%llu waves=%llu "
               "steal_wait_us=%.1f idle_s=%.4f wakeups=%llu\n",
               j, (unsigned long long)s->steals_sent, (unsigned long long)s->steals_won,
               (unsigned long long)s->lifelines_sent, (unsigned long long)s->requests_served,
               (unsigned long long)s->lifeline_loot, (unsigned long long)s->loot_sent,
               (unsigned long long)s->loot_bytes_sent, (unsigned long long)s->loot_bytes_max,
               (unsigned long long)s->loot_received, (unsigned long long)s->messages_sent,
               (unsigned long long)s->messages_received, (unsigned long long)s->local_splits,
               (unsigned long long)s->waves,
               s->steals_sent ? (double)s->steal_wait_ns / (double)s->steals_sent / 1e3 : 0.0,
               (double)s->idle_ns * 1e-9, (unsigned long long)s->wakeups);
    }
    free(all);
}

/* CPU time of this process, every thread. */
static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-6 * (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/* The same tree walked by one thread, no crew, no MPI (uts_walk). */
static void time_sequential(const uts_preset *t)
{
    double t0 = MPI_Wtime(), c0 = cpu_seconds();
    uts_count c = uts_walk(&t->params);
    printf("uts %s: %llu nodes, sequential: %.4f s, cpu %.4f s%s\n", t->name,
           (unsigned long long)c.nodes, MPI_Wtime() - t0, cpu_seconds() - c0,
           c.nodes == t->size.nodes ? "" : " WRONG");
}

int main(int argc, char **argv)
{
    int rc = crew_mpi_init(&argc, &argv);
    if (rc != 0) {
        fprintf(stderr, "uts: MPI does not give MPI_THREAD_FUNNELED (crew-mpi needs it): %s\n",
                strerror(rc));
        return 1;
    }
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    const char *trees[8] = {"T1"};
    int ntrees = 0;
    unsigned workers = 1, repeat = 1;
    bool show_stats = false, sequential = false;
    crew_mpi_config cfg;
    crew_mpi_config_default(&cfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tree") == 0 && i + 1 < argc && ntrees < 8)
            trees[ntrees++] = argv[++i];
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            workers = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
            cfg.chunk = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--stats") == 0)
            show_stats = true;
        else if (strcmp(argv[i], "--seq") == 0)
            sequential = true;
    }
    if (ntrees == 0)
        ntrees = 1;
    if (repeat == 0)
        repeat = 1;
    for (int i = 0; i < ntrees; i++)
        if (uts_preset_find(trees[i]) == NULL || workers == 0) {
            if (rank == 0)
                fprintf(stderr, "uts: unknown tree %s or no workers\n", trees[i]);
            MPI_Finalize();
            return 2;
        }

    crew_config pc;
    crew_config_default(&pc);
    pc.workers = workers;
    crew_pool *pool = crew_pool_create(&pc);
    if (pool == NULL) {
        perror("uts: crew_pool_create");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    crew_mpi_bag_ops ops = {
        .create = bag_create,
        .destroy = bag_destroy,
        .init = bag_init,
        .process = bag_process,
        .empty = bag_empty,
        .split = bag_split,
        .merge = bag_merge,
        .result_size = sizeof(uts_result),
        .identity = &zero,
        .reduce = result_reduce,
    };
    int status = 0;
    for (int i = 0; i < ntrees * (int)repeat && status == 0; i++) {
        const uts_preset *t = uts_preset_find(trees[i / (int)repeat]);
        if (sequential && rank == 0)
            time_sequential(t);
        ops.ctx = (void *)&t->params;
        uts_result res;
        crew_mpi_stats st;
        double cpu = cpu_seconds(), cpu_all = 0;
        rc = crew_mpi_run(pool, MPI_COMM_WORLD, &ops, &cfg, &res, &st);
        cpu = cpu_seconds() - cpu;
        MPI_Reduce(&cpu, &cpu_all, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rc != 0) {
            fprintf(stderr, "uts: rank %d: crew_mpi_run: %s\n", rank, strerror(rc));
            status = 1;
            break;
        }
        bool right = res.nodes == t->size.nodes && res.leaves == t->size.leaves;
        if (rank == 0)
            printf("uts %s: %llu nodes, %llu leaves, depth %llu; %d ranks x %u workers: "
                   "%.4f s, cpu %.4f s%s\n",
                   t->name, (unsigned long long)res.nodes, (unsigned long long)res.leaves,
                   (unsigned long long)res.max_depth, nranks, workers, st.seconds, cpu_all,
                   right ? "" : " WRONG");
        if (!right)
            status = 1;
        if (show_stats)
            print_stats(&st, rank, nranks);
    }
    crew_pool_destroy(pool);
    MPI_Finalize();
    return status;
}
