/* Suite `graph`, errors: every error value of crew.h's graph functions,
 * returned (never a crash) and leaving the graph as it was. */
#include "graph_cases.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "graph_util.h"

static void *nothing(void *arg)
{
    return arg;
}

static int no_node_ran(rec_graph *r)
{
    for (long i = 0; i < r->n; i++)
        CHECKF(atomic_load(&r->runs[i]) == 0, "node %ld ran", i);
    CHECK(atomic_load(&r->seq) == 0);
    return 0;
}

int a_cycle_gives_eloop_and_runs_nothing(void)
{
    crew_pool *p = graph_pool(2, 0);
    CHECK(p != NULL);
    rec_graph r;
    /* 0 -> 1 -> 2 -> 3 -> 1, and 4, 5 outside the cycle. */
    CHECK(rg_init(&r, 6, 0) == 0);
    CHECK(rg_edge(&r, 0, 1) == 0);
    CHECK(rg_edge(&r, 1, 2) == 0);
    CHECK(rg_edge(&r, 2, 3) == 0);
    CHECK(rg_edge(&r, 3, 1) == 0);
    CHECK(rg_edge(&r, 4, 5) == 0);
    CHECK(rg_run(&r, p) == ELOOP);
    CHECK(rg_run(&r, p) == ELOOP);
    CHECK(no_node_ran(&r) == 0);
    rg_free(&r);

    /* A two-node cycle. */
    CHECK(rg_init(&r, 2, 0) == 0);
    CHECK(rg_edge(&r, 0, 1) == 0);
    CHECK(rg_edge(&r, 1, 0) == 0);
    CHECK(rg_run(&r, p) == ELOOP);
    CHECK(no_node_ran(&r) == 0);
    rg_free(&r);

    /* A graph that ran, then gets a cycle: refused from then on. */
    CHECK(rg_init(&r, 3, 0) == 0);
    CHECK(rg_edge(&r, 0, 1) == 0);
    CHECK(rg_edge(&r, 1, 2) == 0);
    CHECK(rg_run(&r, p) == 0);
    CHECK(rg_check(&r, 1) == 0);
    CHECK(rg_edge(&r, 2, 0) == 0);
    CHECK(crew_graph_run(p, r.g) == ELOOP);
    CHECK(atomic_load(&r.seq) == 6);
    rg_free(&r);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int a_cycle_100000_long_gives_eloop_and_runs_nothing(void)
{
    long n = crew_scaled(100000, 20000);
    crew_pool *p = graph_pool(1, 0);
    CHECK(p != NULL);
    rec_graph r;
    CHECK(rg_init(&r, n, 0) == 0);
    for (long i = 0; i < n; i++)
        CHECK(rg_edge(&r, i, (i + 1) % n) == 0);
    CHECK(rg_run(&r, p) == ELOOP);
    CHECK(no_node_ran(&r) == 0);
    rg_free(&r);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int an_edge_between_two_graphs_is_einval_and_adds_nothing(void)
{
    crew_pool *p = graph_pool(2, 0);
    CHECK(p != NULL);
    rec_graph a, b;
    CHECK(rg_init(&a, 2, 0) == 0);
    CHECK(rg_init(&b, 2, 0) == 0);
    CHECK(crew_graph_precede(a.nodes[0], b.nodes[1]) == EINVAL);
    CHECK(crew_graph_precede(b.nodes[1], a.nodes[0]) == EINVAL);
    /* Had an edge been added, running one graph would touch the other. */
    CHECK(rg_run(&a, p) == 0);
    CHECK(rg_check(&a, 1) == 0);
    CHECK(no_node_ran(&b) == 0);
    CHECK(rg_run(&b, p) == 0);
    CHECK(rg_check(&b, 1) == 0);
    CHECK(rg_check(&a, 1) == 0);
    rg_free(&a);
    rg_free(&b);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int a_duplicate_edge_is_allowed_and_counts_once(void)
{
    crew_pool *p = graph_pool(2, 0);
    CHECK(p != NULL);
    rec_graph r;
    CHECK(rg_init(&r, 4, 0) == 0);
    /* Repeated at once, and repeated after other edges. */
    CHECK(rg_edge(&r, 0, 1) == 0);
    CHECK(rg_edge(&r, 0, 1) == 0);
    CHECK(rg_edge(&r, 0, 2) == 0);
    CHECK(rg_edge(&r, 0, 1) == 0);
    CHECK(rg_edge(&r, 1, 3) == 0);
    CHECK(rg_edge(&r, 2, 3) == 0);
    CHECK(rg_edge(&r, 1, 3) == 0);
    CHECK(rg_run(&r, p) == 0);
    CHECK(rg_check(&r, 1) == 0);
    /* Many repeats between runs, alternating so none is the last edge
     * added: were one counted twice, node 3 would never become ready and
     * the run would hang; were one lost, the order check would fail. */
    for (int i = 0; i < 10000; i++) {
        CHECK(rg_edge(&r, 1, 3) == 0);
        CHECK(rg_edge(&r, 1, 2) == 0);
    }
    CHECK(rg_run(&r, p) == 0);
    CHECK(rg_check(&r, 2) == 0);
    rg_free(&r);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- running graphs ---- */

typedef struct self_ctx {
    crew_pool *pool;
    crew_graph *g;
    int rc;
} self_ctx;

static void *run_own_graph(void *arg)
{
    self_ctx *c = arg;
    c->rc = crew_graph_run(c->pool, c->g);
    return NULL;
}

int running_a_graph_from_its_own_node_gives_ebusy(void)
{
    for (unsigned workers = 1; workers <= 2; workers++) {
        self_ctx c = {.pool = graph_pool(workers, 0), .rc = -1};
        CHECK(c.pool != NULL);
        c.g = crew_graph_create();
        CHECK(c.g != NULL);
        crew_node *a = crew_graph_add(c.g, nothing, NULL);
        crew_node *b = crew_graph_add(c.g, run_own_graph, &c);
        CHECK(a != NULL && b != NULL);
        CHECK(crew_graph_precede(a, b) == 0);
        CHECK(crew_graph_run(c.pool, c.g) == 0);
        CHECK(c.rc == EBUSY);
        /* And it is not stuck: it runs again. */
        c.rc = -1;
        CHECK(crew_graph_run(c.pool, c.g) == 0);
        CHECK(c.rc == EBUSY);
        crew_graph_destroy(c.g);
        CHECK(crew_pool_destroy(c.pool) == 0);
    }
    return 0;
}

/* A node that says it started and waits to be let go. */
typedef struct gate {
    _Atomic int started, release;
} gate;

static void *wait_at_gate(void *arg)
{
    gate *gt = arg;
    atomic_store(&gt->started, 1);
    while (!atomic_load(&gt->release))
        sched_yield();
    return arg;
}

typedef struct bg_run {
    crew_pool *pool;
    crew_graph *g;
    int rc;
} bg_run;

static void *run_in_background(void *arg)
{
    bg_run *b = arg;
    b->rc = crew_graph_run(b->pool, b->g);
    return NULL;
}

int running_a_graph_another_thread_runs_gives_ebusy(void)
{
    gate gt;
    atomic_init(&gt.started, 0);
    atomic_init(&gt.release, 0);
    bg_run b = {.pool = graph_pool(1, 0), .rc = -1};
    CHECK(b.pool != NULL);
    b.g = crew_graph_create();
    CHECK(b.g != NULL);
    CHECK(crew_graph_add(b.g, wait_at_gate, &gt) != NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, run_in_background, &b) == 0);
    while (!atomic_load(&gt.started))
        sched_yield();
    CHECK(crew_graph_run(b.pool, b.g) == EBUSY);
    atomic_store(&gt.release, 1);
    pthread_join(t, NULL);
    CHECK(b.rc == 0);
    /* Let go and finished: it runs again. */
    CHECK(crew_graph_run(b.pool, b.g) == 0);
    crew_graph_destroy(b.g);
    CHECK(crew_pool_destroy(b.pool) == 0);
    return 0;
}

typedef struct edit_ctx {
    crew_graph *g;
    crew_node *a, *b;
    crew_node *added;
    int add_errno, precede_rc;
} edit_ctx;

static void *edit_own_graph(void *arg)
{
    edit_ctx *c = arg;
    errno = 0;
    c->added = crew_graph_add(c->g, nothing, NULL);
    c->add_errno = errno;
    c->precede_rc = crew_graph_precede(c->b, c->a);
    crew_graph_destroy(c->g); /* refused: it runs */
    return NULL;
}

int editing_or_destroying_a_running_graph_is_refused(void)
{
    crew_pool *p = graph_pool(2, 0);
    CHECK(p != NULL);
    edit_ctx c = {.g = crew_graph_create()};
    CHECK(c.g != NULL);
    c.a = crew_graph_add(c.g, nothing, NULL);
    c.b = crew_graph_add(c.g, edit_own_graph, &c);
    CHECK(c.a != NULL && c.b != NULL);
    CHECK(crew_graph_precede(c.a, c.b) == 0);
    CHECK(crew_graph_run(p, c.g) == 0);
    CHECK(c.added == NULL && c.add_errno == EINVAL);
    CHECK(c.precede_rc == EBUSY);
    /* Still intact: the refused edge b -> a would be a cycle. */
    CHECK(crew_graph_run(p, c.g) == 0);
    CHECK(crew_node_result(c.a) == NULL);
    crew_graph_destroy(c.g);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int null_arguments_and_self_edges_are_einval(void)
{
    crew_pool *p = graph_pool(1, 0);
    CHECK(p != NULL);
    crew_graph *g = crew_graph_create();
    CHECK(g != NULL);
    errno = 0;
    CHECK(crew_graph_add(NULL, nothing, NULL) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(crew_graph_add(g, NULL, NULL) == NULL && errno == EINVAL);
    crew_node *a = crew_graph_add(g, nothing, NULL);
    CHECK(a != NULL);
    CHECK(crew_graph_precede(NULL, a) == EINVAL);
    CHECK(crew_graph_precede(a, NULL) == EINVAL);
    CHECK(crew_graph_precede(NULL, NULL) == EINVAL);
    CHECK(crew_graph_precede(a, a) == EINVAL);
    CHECK(crew_graph_run(NULL, g) == EINVAL);
    CHECK(crew_graph_run(p, NULL) == EINVAL);
    /* The self-edge was not added: no cycle. */
    CHECK(crew_graph_run(p, g) == 0);
    crew_graph_destroy(g);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int allocation_failures_give_enomem_and_change_nothing(void)
{
    crew_pool *p = graph_pool(1, 0);
    CHECK(p != NULL);
    /* The pool is idle: only this thread allocates while a fault is armed. */
    crew_fault_inject_alloc(0);
    errno = 0;
    CHECK(crew_graph_create() == NULL && errno == ENOMEM);
    crew_fault_inject_alloc(-1);

    rec_graph r;
    CHECK(rg_init(&r, 0, 0) == 0);
    crew_fault_inject_alloc(0); /* the chunk table */
    errno = 0;
    CHECK(crew_graph_add(r.g, nothing, NULL) == NULL && errno == ENOMEM);
    crew_fault_inject_alloc(1); /* the first chunk */
    errno = 0;
    CHECK(crew_graph_add(r.g, nothing, NULL) == NULL && errno == ENOMEM);
    crew_fault_inject_alloc(-1);
    rg_free(&r);

    CHECK(rg_init(&r, 300, 0) == 0); /* two chunks' worth */
    CHECK(rg_edge(&r, 0, 1) == 0);
    crew_fault_inject_alloc(0); /* node 2's first successor list */
    CHECK(crew_graph_precede(r.nodes[2], r.nodes[3]) == ENOMEM);
    crew_fault_inject_alloc(-1);
    /* Fill node 0's list (4 slots) with distinct edges, then fail its
     * growth: the edge is not added. */
    for (long i = 2; i < 5; i++)
        CHECK(rg_edge(&r, 0, i) == 0);
    crew_fault_inject_alloc(0);
    CHECK(crew_graph_precede(r.nodes[0], r.nodes[5]) == ENOMEM);
    crew_fault_inject_alloc(-1);

    crew_fault_inject_alloc(0); /* the run's topological order */
    CHECK(rg_run(&r, p) == ENOMEM);
    crew_fault_inject_alloc(-1);
    CHECK(no_node_ran(&r) == 0);
    r.run = 0;
    CHECK(rg_run(&r, p) == 0);
    CHECK(rg_check(&r, 1) == 0);
    /* Neither refused edge exists: 3 and 5 may start before 2 and 0 end.
     * Add 3 -> 2 and 5 -> 0: had 2 -> 3 or 0 -> 5 been kept, a cycle. */
    CHECK(rg_edge(&r, 3, 2) == 0);
    CHECK(rg_edge(&r, 5, 0) == 0);
    CHECK(rg_run(&r, p) == 0);
    CHECK(rg_check(&r, 2) == 0);
    rg_free(&r);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int running_on_a_shut_down_pool_gives_eshutdown_and_runs_nothing(void)
{
    crew_pool *p = graph_pool(1, 0);
    CHECK(p != NULL);
    rec_graph r;
    CHECK(rg_init(&r, 10, 0) == 0);
    CHECK(rg_edge(&r, 0, 9) == 0);
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(rg_run(&r, p) == ESHUTDOWN);
    CHECK(no_node_ran(&r) == 0);
    CHECK(crew_pool_destroy(p) == 0);
    /* The graph is not stuck as running: another pool runs it. */
    p = graph_pool(2, 0);
    CHECK(p != NULL);
    r.run = 0;
    CHECK(rg_run(&r, p) == 0);
    CHECK(rg_check(&r, 1) == 0);
    rg_free(&r);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
