/* Suite `faults`: what the scenario runs inside the pool: fork-join
 * (deep, and wide enough that the deque must grow), task graphs, and
 * crew_run's root, which calls nearly everything from a task. */
#include "faults/scenario.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- fork-join ---- */

static void *fx_fib(void *arg)
{
    long n = PI(arg);
    if (n < 2)
        return arg;
    crew_task t;
    void *b;
    if (n % 3 == 0) {
        /* The out-of-line copies, and crew_sync_call, now and then. */
        crew_spawn_extern(&t, fx_fib, IP(n - 1));
        b = fx_fib(IP(n - 2));
        return IP(PI(crew_sync_extern(&t)) + PI(b));
    }
    crew_spawn(&t, fx_fib, IP(n - 1));
    b = fx_fib(IP(n - 2));
    void *a = n % 3 == 1 ? crew_sync_call(&t, fx_fib) : crew_sync(&t);
    return IP(PI(a) + PI(b));
}

static void *fx_wide_child(void *arg)
{
    atomic_fetch_add(&fx_cur->wide_runs[PI(arg)], 1);
    return arg;
}

/* FX_WIDE spawns in one frame: the private prefix fills (64), publishing
 * pushes the rest to the deque, which must grow past 256; a growth that
 * fails leaves tasks private, and they run at their sync. Never fails. */
static void fx_wide(void)
{
    crew_task t[FX_WIDE];
    for (long i = 0; i < FX_WIDE; i++) {
        atomic_store(&fx_cur->wide_runs[i], 0);
        crew_spawn(&t[i], fx_wide_child, IP(i));
    }
    for (long i = FX_WIDE; i-- > 0;)
        FX_CHECK(PI(crew_sync(&t[i])) == i, "wide spawn %ld: wrong result", i);
    for (long i = 0; i < FX_WIDE; i++)
        FX_CHECK(atomic_load(&fx_cur->wide_runs[i]) == 1, "wide spawn %ld ran %d times", i,
                 atomic_load(&fx_cur->wide_runs[i]));
}

/* ---- graphs ---- */

static void *fx_node(void *arg)
{
    long i = PI(arg);
    for (int u = 0; u < FX_NODES; u++)
        if (fx_cur->edge[u][i])
            FX_CHECK(atomic_load(&fx_cur->node_runs[u]) == 1,
                     "node %ld started before its predecessor %d returned", i, u);
    atomic_fetch_add(&fx_cur->node_runs[i], 1);
    return IP(i + 100);
}

/* One run of the scenario's graph from wherever the caller is: every node
 * once in order (rc 0), or none (ENOMEM: only a preparation allocates). */
void fx_graph_run(crew_pool *p, const char *what)
{
    fx *f = fx_cur;
    if (f->graph == NULL)
        return;
    for (int i = 0; i < FX_NODES; i++)
        atomic_store(&f->node_runs[i], 0);
    int rc = crew_graph_run(p, f->graph);
    FX_RC(rc, what);
    for (int i = 0; i < FX_NODES; i++) {
        if (f->nodes[i] == NULL)
            continue;
        int r = atomic_load(&f->node_runs[i]);
        FX_CHECK(r == (rc == 0 ? 1 : 0), "%s returned %d and node %d ran %d times", what, rc,
                 i, r);
        if (rc == 0)
            FX_CHECK(crew_node_result(f->nodes[i]) == IP(i + 100), "node %d: wrong result", i);
    }
}

static void fx_graph_add(int i)
{
    errno = 0;
    fx_cur->nodes[i] = crew_graph_add(fx_cur->graph, fx_node, IP(i));
    if (fx_cur->nodes[i] == NULL)
        FX_NULL_ERRNO(errno, "crew_graph_add");
}

static void fx_graph_edge(int u, int v)
{
    if (fx_cur->nodes[u] == NULL || fx_cur->nodes[v] == NULL)
        return;
    int rc = crew_graph_precede(fx_cur->nodes[u], fx_cur->nodes[v]);
    FX_RC(rc, "crew_graph_precede");
    if (rc == 0)
        fx_cur->edge[u][v] = 1;
}

void fx_graphs(fx *f)
{
    fx_phase(f, "graph build");
    errno = 0;
    f->graph = crew_graph_create();
    if (f->graph == NULL) {
        FX_NULL_ERRNO(errno, "crew_graph_create");
        return;
    }
    for (int i = 0; i < FX_NODES - 1; i++)
        fx_graph_add(i);
    static const int edges[][2] = {{0, 2}, {1, 2}, {2, 3}, {2, 4}, {3, 5},
                                   {4, 5}, {5, 6}, {1, 6}, {0, 7}, {0, 2}};
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++)
        fx_graph_edge(edges[k][0], edges[k][1]);
    fx_phase(f, "graph run");
    fx_graph_run(f->pool, "crew_graph_run");
    fx_graph_run(f->pool, "crew_graph_run (again)");
    fx_phase(f, "graph edit");
    fx_graph_add(FX_NODES - 1);
    fx_graph_edge(7, FX_NODES - 1);
    fx_graph_edge(6, FX_NODES - 1);
    fx_phase(f, "graph run after the edit");
    fx_graph_run(f->pool, "crew_graph_run after an edit");

    /* A cycle: ELOOP and nothing runs (or ENOMEM, preparing). */
    fx_phase(f, "graph cycle");
    errno = 0;
    crew_graph *c = crew_graph_create();
    if (c == NULL) {
        FX_NULL_ERRNO(errno, "crew_graph_create");
        return;
    }
    long ida = fx_new_id(), idb = fx_new_id();
    crew_node *a = crew_graph_add(c, fx_leaf, IP(ida));
    if (a == NULL)
        FX_NULL_ERRNO(errno, "crew_graph_add");
    crew_node *b = crew_graph_add(c, fx_leaf, IP(idb));
    if (b == NULL)
        FX_NULL_ERRNO(errno, "crew_graph_add");
    if (a != NULL && b != NULL) {
        int r1 = crew_graph_precede(a, b);
        FX_RC(r1, "crew_graph_precede");
        int r2 = crew_graph_precede(b, a);
        FX_RC(r2, "crew_graph_precede");
        int rc = crew_graph_run(f->pool, c);
        if (r1 == 0 && r2 == 0)
            FX_CHECK(rc == ELOOP || (rc == ENOMEM && fx_nomem_ok()),
                     "a cycle ran with %d", rc);
        else
            FX_RC(rc, "crew_graph_run of a chain");
        if (rc == 0) {
            fx_accept(ida);
            fx_accept(idb);
        }
    }
    crew_graph_destroy(c);
}

/* ---- crew_run's root: everything inside a task ---- */

void *fx_root(void *arg)
{
    fx *f = fx_cur;
    long id = PI(arg);
    atomic_fetch_add(&f->runs[id], 1);
    int wi = crew_worker_index();
    FX_CHECK(wi >= 0 && (unsigned)wi < f->workers, "crew_worker_index %d in a task", wi);

    FX_CHECK(PI(fx_fib(IP(15))) == 610, "fib(15) through spawns is wrong");
    fx_wide();

    /* Submit and wait from inside: claimed and run inline if not started. */
    long sid = fx_new_id();
    errno = 0;
    crew_future *fu = crew_submit(f->pool, fx_leaf, IP(sid));
    if (fu == NULL) {
        FX_NULL_ERRNO(errno, "crew_submit from a task");
    } else {
        fx_accept(sid);
        void *r = NULL;
        int rc = crew_future_wait(fu, &r);
        FX_CHECK(rc == 0 && r == IP(sid * 7 + 3), "an inside future: %d", rc);
        crew_future_release(fu);
    }
    /* More futures at once than the pool has idle records: new ones are
     * built, and may fail. */
    crew_future *burst[FX_INSIDE_SUBMITS];
    long bid[FX_INSIDE_SUBMITS];
    for (int k = 0; k < FX_INSIDE_SUBMITS; k++) {
        bid[k] = fx_new_id();
        errno = 0;
        burst[k] = crew_submit(f->pool, fx_leaf, IP(bid[k]));
        if (burst[k] == NULL)
            FX_NULL_ERRNO(errno, "crew_submit from a task");
        else
            fx_accept(bid[k]);
    }
    for (int k = FX_INSIDE_SUBMITS; k-- > 0;) {
        if (burst[k] == NULL)
            continue;
        void *r = NULL;
        int rc = crew_future_wait(burst[k], &r);
        FX_CHECK(rc == 0 && r == IP(bid[k] * 7 + 3), "an inside future: %d", rc);
        crew_future_release(burst[k]);
    }
    for (int k = 0; k < FX_INSIDE_POSTS; k++) {
        long pid = fx_new_id();
        int prc = crew_post(f->pool, fx_leaf, IP(pid));
        FX_RC(prc, "crew_post from a task");
        if (prc == 0)
            fx_accept(pid);
    }

    /* A nested loop: never ENOMEM inside the pool. */
    _Atomic int seen[FX_NESTED_N];
    for (int i = 0; i < FX_NESTED_N; i++)
        atomic_init(&seen[i], 0);
    fx_visit v = {seen, FX_NESTED_N};
    int lrc = crew_parallel_for(f->pool, 0, FX_NESTED_N, 3, fx_mark, &v);
    FX_CHECK(lrc == 0, "a nested crew_parallel_for returned %d", lrc);
    fx_check_visits(&v, lrc, "a nested crew_parallel_for");

    /* Another pool, from this worker: it blocks here until done. */
    if (f->other != NULL) {
        long oid = fx_new_id();
        void *r = NULL;
        int rc = crew_run(f->other, fx_leaf, IP(oid), &r);
        FX_RC(rc, "crew_run on another pool from a task");
        if (rc == 0) {
            fx_accept(oid);
            FX_CHECK(r == IP(oid * 7 + 3), "cross-pool crew_run: wrong result");
        }
    }

    /* A nested graph run (the graph is idle: the caller waits for us). */
    fx_graph_run(f->pool, "a nested crew_graph_run");

    fx_objects(1000 + wi);

    /* A group inside: a worker waiting on it runs its tasks itself. */
    errno = 0;
    crew_group *g = crew_group_create(f->pool);
    if (g == NULL) {
        FX_NULL_ERRNO(errno, "crew_group_create from a task");
    } else {
        long ids[3];
        int ok[3];
        for (int k = 0; k < 3; k++) {
            ids[k] = fx_new_id();
            int rc = crew_group_post(g, fx_leaf, IP(ids[k]));
            FX_RC(rc, "crew_group_post from a task");
            ok[k] = rc == 0;
            if (ok[k])
                fx_accept(ids[k]);
        }
        FX_CHECK(crew_group_wait(g) == 0, "crew_group_wait");
        for (int k = 0; k < 3; k++)
            if (ok[k])
                FX_CHECK(atomic_load(&f->runs[ids[k]]) == 1,
                         "a group task had not run when the wait returned");
        crew_group_destroy(g);
    }
    return IP(id * 7 + 3);
}

