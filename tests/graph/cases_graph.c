/* Suite `graph`, shapes: every node runs exactly once per run and never
 * before a predecessor has returned (checked edge by edge with sequence
 * stamps), on 1, 2 and 4 workers, from outside the pool and nested. */
#include "graph_cases.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "graph_util.h"

int a_diamond_runs_each_node_once_after_its_predecessors(void)
{
    for (unsigned workers = 1; workers <= 4; workers *= 2) {
        crew_pool *p = graph_pool(workers, 0);
        CHECK(p != NULL);
        rec_graph r;
        CHECK(rg_init(&r, 4, 1000) == 0);
        CHECK(rg_edge(&r, 0, 1) == 0);
        CHECK(rg_edge(&r, 0, 2) == 0);
        CHECK(rg_edge(&r, 1, 3) == 0);
        CHECK(rg_edge(&r, 2, 3) == 0);
        for (unsigned run = 1; run <= 50; run++) {
            CHECK(rg_run(&r, p) == 0);
            if (rg_check(&r, run) != 0)
                return 1;
        }
        rg_free(&r);
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

int a_chain_of_100000_runs_in_order(void)
{
    long n = crew_scaled(100000, 20000);
    for (unsigned workers = 1; workers <= 2; workers++) {
        crew_pool *p = graph_pool(workers, 0);
        CHECK(p != NULL);
        rec_graph r;
        CHECK(rg_init(&r, n, 0) == 0);
        /* Added back to front, so node ids do not follow the order. */
        for (long i = n - 1; i > 0; i--)
            CHECK(rg_edge(&r, i - 1, i) == 0);
        for (unsigned run = 1; run <= 2; run++) {
            CHECK(rg_run(&r, p) == 0);
            if (rg_check(&r, run) != 0)
                return 1;
        }
        for (long i = 1; i < n; i++)
            CHECK(r.start[i] == r.end[i - 1] + 1);
        rg_free(&r);
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

int a_fan_out_and_fan_in_of_10000_respects_every_edge(void)
{
    long width = 10000;
    for (unsigned workers = 1; workers <= 4; workers *= 2) {
        crew_pool *p = graph_pool(workers, 0);
        CHECK(p != NULL);
        rec_graph r;
        /* 0 -> 1..width -> width + 1 */
        CHECK(rg_init(&r, width + 2, 50) == 0);
        for (long i = 1; i <= width; i++) {
            CHECK(rg_edge(&r, 0, i) == 0);
            CHECK(rg_edge(&r, i, width + 1) == 0);
        }
        for (unsigned run = 1; run <= 3; run++) {
            CHECK(rg_run(&r, p) == 0);
            if (rg_check(&r, run) != 0)
                return 1;
        }
        rg_free(&r);
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

int random_dags_of_1000_nodes_respect_every_edge(void)
{
    const uint64_t seeds[] = {1, 42, 20240601, 0xdeadbeef, 777};
    for (unsigned workers = 1; workers <= 4; workers *= 2) {
        crew_pool *p = graph_pool(workers, 0);
        CHECK(p != NULL);
        for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
            rec_graph r;
            CHECK(rg_random_dag(&r, 1000, 3000, seeds[s] + workers) == 0);
            for (unsigned run = 1; run <= 10; run++) {
                CHECK(rg_run(&r, p) == 0);
                CHECKF(rg_check(&r, run) == 0, "seed %llu, %u workers",
                       (unsigned long long)seeds[s], workers);
            }
            rg_free(&r);
        }
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

int the_same_graph_run_100_times_is_right_every_time(void)
{
    crew_pool *p = graph_pool(2, 0);
    CHECK(p != NULL);
    rec_graph r;
    CHECK(rg_random_dag(&r, 1000, 2500, 99) == 0);
    long runs = crew_scaled(100, 20);
    for (unsigned run = 1; run <= runs; run++) {
        CHECK(rg_run(&r, p) == 0);
        CHECKF(rg_check(&r, run) == 0, "run %u", run);
    }
    rg_free(&r);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int a_graph_of_100000_nodes_builds_and_runs(void)
{
    long layers = crew_scaled(100, 20);
    crew_pool *p = graph_pool(2, 0);
    CHECK(p != NULL);
    rec_graph r;
    CHECK(rg_layered(&r, layers, 1000, 7) == 0);
    for (unsigned run = 1; run <= 2; run++) {
        CHECK(rg_run(&r, p) == 0);
        if (rg_check(&r, run) != 0)
            return 1;
    }
    rg_free(&r);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int independent_nodes_all_run_once(void)
{
    long n = crew_scaled(100000, 20000);
    crew_pool *p = graph_pool(2, 0);
    CHECK(p != NULL);
    rec_graph r;
    CHECK(rg_init(&r, n, 0) == 0);
    for (unsigned run = 1; run <= 2; run++) {
        CHECK(rg_run(&r, p) == 0);
        if (rg_check(&r, run) != 0)
            return 1;
    }
    rg_free(&r);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* Chain node i precedes a leaf (added first) and chain node i + 1: a frame
 * that continues with the leaf must not nest to run the rest of the chain.
 * 256 KiB stacks hold no 100,000 nested frames. */
int a_long_chain_with_side_leaves_runs_on_small_worker_stacks(void)
{
    long len = crew_scaled(100000, 20000);
    for (unsigned workers = 1; workers <= 2; workers++) {
        crew_pool *p = graph_pool(workers, 256 * 1024);
        CHECK(p != NULL);
        rec_graph r;
        CHECK(rg_init(&r, 2 * len, 0) == 0);
        for (long i = 0; i < len; i++) {
            CHECK(rg_edge(&r, i, len + i) == 0);
            if (i + 1 < len)
                CHECK(rg_edge(&r, i, i + 1) == 0);
        }
        for (unsigned run = 1; run <= 2; run++) {
            CHECK(rg_run(&r, p) == 0);
            if (rg_check(&r, run) != 0)
                return 1;
        }
        rg_free(&r);
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

/* ---- nesting ---- */

typedef struct nest_ctx {
    crew_pool *pool;
    rec_graph inner[2];
    _Atomic int failures;
} nest_ctx;

typedef struct inner_ref {
    nest_ctx *c;
    int which;
} inner_ref;

static void *run_inner(void *arg)
{
    inner_ref *ref = arg;
    if (rg_run(&ref->c->inner[ref->which], ref->c->pool) != 0)
        atomic_fetch_add(&ref->c->failures, 1);
    return NULL;
}

/* A task that runs both inner graphs in parallel, with spawn and sync. */
static void *fork_two_graphs(void *arg)
{
    inner_ref first = {arg, 0}, second = {arg, 1};
    crew_task t;
    crew_spawn(&t, run_inner, &second);
    run_inner(&first);
    crew_sync(&t);
    return NULL;
}

static void *node_running_a_graph(void *arg)
{
    return fork_two_graphs(arg);
}

int graphs_run_from_outside_and_nested_inside_tasks_and_nodes(void)
{
    for (unsigned workers = 1; workers <= 2; workers++) {
        nest_ctx c = {.pool = graph_pool(workers, 0)};
        atomic_init(&c.failures, 0);
        CHECK(c.pool != NULL);
        for (int i = 0; i < 2; i++)
            CHECK(rg_random_dag(&c.inner[i], 300, 900, 11 + (uint64_t)i) == 0);
        unsigned runs = 0;
        /* From outside the pool. */
        CHECK(rg_run(&c.inner[0], c.pool) == 0);
        CHECK(rg_run(&c.inner[1], c.pool) == 0);
        runs++;
        /* Inside a task: crew_run calls it directly on the worker. */
        CHECK(crew_run(c.pool, fork_two_graphs, &c, NULL) == 0);
        runs++;
        /* Inside a node of an outer graph, between two other nodes. */
        crew_graph *outer = crew_graph_create();
        CHECK(outer != NULL);
        crew_node *a = crew_graph_add(outer, node_running_a_graph, &c);
        crew_node *b = crew_graph_add(outer, node_running_a_graph, &c);
        CHECK(a != NULL && b != NULL);
        CHECK(crew_graph_precede(a, b) == 0);
        CHECK(crew_graph_run(c.pool, outer) == 0);
        runs += 2;
        crew_graph_destroy(outer);
        CHECK(atomic_load(&c.failures) == 0);
        for (int i = 0; i < 2; i++) {
            CHECK(rg_check(&c.inner[i], runs) == 0);
            rg_free(&c.inner[i]);
        }
        CHECK(crew_pool_destroy(c.pool) == 0);
    }
    return 0;
}

/* Graphs nested 100 deep: a middle node of each level's graph runs the
 * next level's graph (inline, on the same worker). Past the nesting limit
 * frames stop spawning and run what they make ready themselves. */
#define DEEP_LEVELS 100
#define DEEP_WIDTH 6

typedef struct deep_level {
    crew_pool *pool;
    crew_graph *g;
    struct deep_level *next; /* NULL at the bottom */
    _Atomic long ran;
    _Atomic int failures;
} deep_level;

static void *deep_node(void *arg)
{
    deep_level *l = arg;
    atomic_fetch_add(&l->ran, 1);
    return NULL;
}

static void *deep_descend(void *arg)
{
    deep_level *l = arg;
    atomic_fetch_add(&l->ran, 1);
    if (l->next != NULL && crew_graph_run(l->pool, l->next->g) != 0)
        atomic_fetch_add(&l->failures, 1);
    return NULL;
}

int graphs_nested_100_deep_run_every_node_once(void)
{
    static deep_level levels[DEEP_LEVELS];
    for (unsigned workers = 1; workers <= 2; workers++) {
        crew_pool *p = graph_pool(workers, 0);
        CHECK(p != NULL);
        for (int l = 0; l < DEEP_LEVELS; l++) {
            deep_level *lv = &levels[l];
            lv->pool = p;
            lv->next = l + 1 < DEEP_LEVELS ? &levels[l + 1] : NULL;
            atomic_init(&lv->ran, 0);
            atomic_init(&lv->failures, 0);
            lv->g = crew_graph_create();
            CHECK(lv->g != NULL);
            /* source -> DEEP_WIDTH middles (one descends) -> sink */
            crew_node *src = crew_graph_add(lv->g, deep_node, lv);
            crew_node *sink = crew_graph_add(lv->g, deep_node, lv);
            CHECK(src != NULL && sink != NULL);
            for (int i = 0; i < DEEP_WIDTH; i++) {
                crew_node *m = crew_graph_add(lv->g, i == DEEP_WIDTH / 2 ? deep_descend
                                                                        : deep_node, lv);
                CHECK(m != NULL);
                CHECK(crew_graph_precede(src, m) == 0);
                CHECK(crew_graph_precede(m, sink) == 0);
            }
        }
        for (long run = 1; run <= 5; run++) {
            CHECK(crew_graph_run(p, levels[0].g) == 0);
            for (int l = 0; l < DEEP_LEVELS; l++) {
                CHECKF(atomic_load(&levels[l].ran) == run * (DEEP_WIDTH + 2),
                       "level %d ran %ld nodes after %ld runs", l,
                       atomic_load(&levels[l].ran), run);
                CHECK(atomic_load(&levels[l].failures) == 0);
            }
        }
        for (int l = 0; l < DEEP_LEVELS; l++)
            crew_graph_destroy(levels[l].g);
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

/* ---- concurrency between graphs ---- */

typedef struct runner_arg {
    crew_pool *pool;
    rec_graph r;
    int failed;
} runner_arg;

static void *run_many(void *arg)
{
    runner_arg *a = arg;
    for (unsigned run = 1; run <= 20 && !a->failed; run++)
        if (rg_run(&a->r, a->pool) != 0 || rg_check(&a->r, run) != 0)
            a->failed = 1;
    return NULL;
}

int several_threads_run_their_own_graphs_on_one_pool(void)
{
    crew_pool *p = graph_pool(2, 0);
    CHECK(p != NULL);
    runner_arg a[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        a[i].pool = p;
        a[i].failed = 0;
        CHECK(rg_random_dag(&a[i].r, 500, 1500, 100 + (uint64_t)i) == 0);
    }
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, run_many, &a[i]) == 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 3; i++) {
        CHECKF(!a[i].failed, "runner %d", i);
        rg_free(&a[i].r);
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- reuse ---- */

int a_graph_grows_between_runs_and_the_new_edges_hold(void)
{
    crew_pool *p = graph_pool(2, 0);
    CHECK(p != NULL);
    rec_graph r;
    CHECK(rg_init(&r, 100, 500) == 0);
    CHECK(rg_run(&r, p) == 0);
    CHECK(rg_check(&r, 1) == 0);
    /* Now a chain through every node, backwards. */
    for (long i = 99; i > 0; i--)
        CHECK(rg_edge(&r, i, i - 1) == 0);
    CHECK(rg_run(&r, p) == 0);
    CHECK(rg_check(&r, 2) == 0);
    for (long i = 98; i >= 0; i--)
        CHECK(r.start[i] == r.end[i + 1] + 1);
    rg_free(&r);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

static void *return_arg(void *arg)
{
    return arg;
}

int node_results_are_null_before_the_first_run_and_from_the_last_run(void)
{
    crew_pool *p = graph_pool(2, 0);
    CHECK(p != NULL);
    crew_graph *g = crew_graph_create();
    CHECK(g != NULL);
    long v[3] = {10, 20, 30};
    crew_node *n[3];
    for (int i = 0; i < 3; i++) {
        n[i] = crew_graph_add(g, return_arg, &v[i]);
        CHECK(n[i] != NULL);
        CHECK(crew_node_result(n[i]) == NULL);
    }
    CHECK(crew_graph_precede(n[0], n[1]) == 0);
    CHECK(crew_graph_run(p, g) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(crew_node_result(n[i]) == &v[i]);
    CHECK(crew_node_result(NULL) == NULL);
    crew_graph_destroy(g);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int an_empty_graph_runs_and_returns_0(void)
{
    crew_pool *p = graph_pool(1, 0);
    CHECK(p != NULL);
    crew_graph *g = crew_graph_create();
    CHECK(g != NULL);
    CHECK(crew_graph_run(p, g) == 0);
    CHECK(crew_graph_run(p, g) == 0);
    crew_graph_destroy(g);
    crew_graph_destroy(NULL);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
