/* Writes a trace of a small run: fib through spawn/sync on 2 workers (some
 * spawns get stolen), posts from outside under a label, a labelled graph,
 * a parallel loop, and pauses so workers sleep; then a second pool traced
 * to the same path (it must write beside the first, not over it).
 * Usage: trace_run PATH. The check script validates the files. */
#include <crew.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static void *fib(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (n < 2)
        return arg;
    crew_task t;
    crew_spawn(&t, fib, (void *)(intptr_t)(n - 1));
    long b = (long)(intptr_t)fib((void *)(intptr_t)(n - 2));
    long a = (long)(intptr_t)crew_sync(&t);
    return (void *)(intptr_t)(a + b);
}

static _Atomic int stolen_by; /* 1 + the index of the worker that ran mark */

static void *mark(void *arg)
{
    atomic_store(&stolen_by, crew_worker_index() + 1);
    return arg;
}

static void *nop(void *arg)
{
    return arg;
}

/* Spawns mark and keeps spawning until another worker has taken it
 * (bounded): the trace then has a steal for certain. 1 if it was stolen. */
static void *force_steal(void *arg)
{
    (void)arg;
    atomic_store(&stolen_by, 0);
    int me = crew_worker_index();
    crew_task t;
    crew_spawn(&t, mark, NULL);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        crew_task u;
        crew_spawn(&u, nop, NULL);
        crew_sync(&u);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (atomic_load(&stolen_by) == 0 && now.tv_sec - t0.tv_sec < 3);
    crew_sync(&t);
    return (void *)(intptr_t)(atomic_load(&stolen_by) - 1 != me);
}

static void *stage(void *arg)
{
    return arg;
}

static int piece(size_t begin, size_t end, void *arg)
{
    /* Pieces run on both workers at once: each sums locally and adds
     * its total once, atomically. */
    _Atomic size_t *sink = arg;
    size_t sum = 0;
    for (size_t i = begin; i < end; i++)
        sum += i;
    atomic_fetch_add_explicit(sink, sum, memory_order_relaxed);
    return 0;
}

static void *posted(void *arg)
{
    long x = 0;
    for (long i = 0; i < 20000; i++)
        x += i ^ (long)(intptr_t)arg;
    return (void *)(intptr_t)x;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 2;
    cfg.name = "tracer";
    cfg.trace_path = argv[1];
    crew_pool *pool = crew_pool_create(&cfg);
    if (pool == NULL)
        return 1;
    struct timespec pause = {0, 5000000};
    void *r = NULL;
    for (int round = 0; round < 3; round++) {
        if (crew_run(pool, fib, (void *)(intptr_t)24, &r) != 0 || (long)(intptr_t)r != 46368)
            return 1;
        crew_trace_label("posts");
        for (int i = 0; i < 50; i++)
            if (crew_post(pool, posted, NULL) != 0)
                return 1;
        crew_trace_label(NULL);
        nanosleep(&pause, NULL); /* long enough for the workers to sleep */
    }
    if (crew_run(pool, force_steal, NULL, &r) != 0 || r == NULL) {
        fprintf(stderr, "trace_run: no worker stole the task in 3 s\n");
        return 1;
    }
    /* A graph of two named stages and one unnamed, and a loop. */
    crew_graph *g = crew_graph_create();
    crew_node *a = crew_graph_add(g, stage, NULL);
    crew_node *b = crew_graph_add(g, stage, NULL);
    crew_node *c = crew_graph_add(g, stage, NULL);
    if (g == NULL || a == NULL || b == NULL || c == NULL || crew_node_set_label(a, "load") != 0 ||
        crew_node_set_label(b, "parse") != 0 || crew_graph_precede(a, b) != 0 ||
        crew_graph_precede(b, c) != 0 || crew_graph_run(pool, g) != 0)
        return 1;
    crew_graph_destroy(g);
    crew_trace_label("sum loop");
    static _Atomic size_t sink;
    if (crew_parallel_for(pool, 0, 100000, 1000, piece, (void *)&sink) != 0)
        return 1;
    crew_trace_label(NULL);
    /* A second pool, traced to the same path. */
    crew_config other;
    crew_config_default(&other);
    other.workers = 1;
    other.name = "second";
    other.trace_path = argv[1];
    crew_pool *pool2 = crew_pool_create(&other);
    if (pool2 == NULL || crew_run(pool2, fib, (void *)(intptr_t)10, &r) != 0)
        return 1;
    if (crew_pool_destroy(pool2) != 0)
        return 1;
    return crew_pool_destroy(pool) == 0 ? 0 : 1;
}
