/* docs/guide.md, part 3: a small pipeline graph, built once and run once
 * per batch of input; three statistics run in parallel between loading and
 * reporting. A node is added between runs; edits and runs are refused while
 * the graph runs (EBUSY, EINVAL); bad edges give EINVAL. */
#include <crew.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

enum { SIZE = 10000, RUNS = 4 };

typedef struct pipeline {
    crew_pool *pool;
    crew_graph *graph;
    int batch;                   /* set by main before each run */
    int data[SIZE];
    long sum;
    int min, max;
    long history[RUNS + 1];
    int stored, audited;
    crew_node *report_node, *store_node;
    int edit_rc, add_errno, run_rc; /* what the probe saw during a run */
} pipeline;

static int value(int batch, int i)
{
    return (i * 7919 + batch * 104729) % 1000 - 10 * batch;
}

static void *load(void *arg)
{
    pipeline *p = arg;
    for (int i = 0; i < SIZE; i++)
        p->data[i] = value(p->batch, i);
    return NULL;
}

static void *sum(void *arg) /* sum, min and max run in parallel after load */
{
    pipeline *p = arg;
    long s = 0;
    for (int i = 0; i < SIZE; i++)
        s += p->data[i];
    p->sum = s;
    return NULL;
}

static void *min(void *arg)
{
    pipeline *p = arg;
    int m = p->data[0];
    for (int i = 1; i < SIZE; i++)
        m = p->data[i] < m ? p->data[i] : m;
    p->min = m;
    return NULL;
}

static void *max(void *arg)
{
    pipeline *p = arg;
    int m = p->data[0];
    for (int i = 1; i < SIZE; i++)
        m = p->data[i] > m ? p->data[i] : m;
    p->max = m;
    return NULL;
}

static void *report(void *arg) /* after all three: sees what they wrote */
{
    pipeline *p = arg;
    return (void *)(intptr_t)(p->sum + p->min + p->max);
}

static void *store(void *arg)
{
    pipeline *p = arg;
    p->history[p->stored++] = p->sum;
    return NULL;
}

static void *audit(void *arg) /* added after the first runs */
{
    pipeline *p = arg;
    p->audited++;
    return NULL;
}

static void *probe(void *arg) /* a node that tries to change its running graph */
{
    pipeline *p = arg;
    p->edit_rc = crew_graph_precede(p->report_node, p->store_node);
    crew_node *extra = crew_graph_add(p->graph, audit, p);
    p->add_errno = extra == NULL ? errno : 0;
    p->run_rc = crew_graph_run(p->pool, p->graph);
    return NULL;
}

static long expected(int batch, int *min_out, int *max_out)
{
    long s = 0;
    int lo = value(batch, 0), hi = lo;
    for (int i = 0; i < SIZE; i++) {
        int v = value(batch, i);
        s += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    *min_out = lo;
    *max_out = hi;
    return s;
}

int main(void)
{
    static pipeline p;
    p.pool = crew_pool_create(NULL);
    p.graph = crew_graph_create();
    if (p.pool == NULL || p.graph == NULL)
        return 1;
    crew_graph *g = p.graph;

    /*          +-> sum --+
     *  load ---+-> min --+--> report --> store
     *          +-> max --+
     *          +-> probe                          */
    crew_node *n_load = crew_graph_add(g, load, &p);
    crew_node *n_sum = crew_graph_add(g, sum, &p);
    crew_node *n_min = crew_graph_add(g, min, &p);
    crew_node *n_max = crew_graph_add(g, max, &p);
    crew_node *n_report = crew_graph_add(g, report, &p);
    crew_node *n_store = crew_graph_add(g, store, &p);
    crew_node *n_probe = crew_graph_add(g, probe, &p);
    if (!n_load || !n_sum || !n_min || !n_max || !n_report || !n_store || !n_probe)
        return 1;
    p.report_node = n_report;
    p.store_node = n_store;
    crew_node *stats[] = {n_sum, n_min, n_max};
    for (int i = 0; i < 3; i++)
        if (crew_graph_precede(n_load, stats[i]) != 0 ||
            crew_graph_precede(stats[i], n_report) != 0)
            return 1;
    if (crew_graph_precede(n_report, n_store) != 0 || crew_graph_precede(n_load, n_probe) != 0 ||
        crew_graph_precede(n_load, n_sum) != 0) /* a duplicate edge counts once */
        return 1;

    /* Bad edges are refused and add nothing. */
    crew_graph *other = crew_graph_create();
    crew_node *foreign = other ? crew_graph_add(other, load, &p) : NULL;
    if (foreign == NULL || crew_graph_precede(n_load, n_load) != EINVAL ||
        crew_graph_precede(n_load, foreign) != EINVAL || crew_graph_precede(NULL, n_sum) != EINVAL)
        return 1;
    crew_graph_destroy(other);

    int ok = 1;
    for (int run = 0; run < RUNS; run++) {
        p.batch = run;  /* new input; the graph itself is not rebuilt */
        if (run == RUNS - 1) {
            /* Between runs the graph may grow: the next run prepares it again. */
            crew_node *n_audit = crew_graph_add(g, audit, &p);
            if (n_audit == NULL || crew_graph_precede(n_store, n_audit) != 0)
                return 1;
        }
        int rc = crew_graph_run(p.pool, g);
        int lo, hi;
        long s = expected(run, &lo, &hi);
        long got = (long)(intptr_t)crew_node_result(n_report); /* this run's value */
        printf("batch %d: rc %d, report %ld (expected %ld)\n", run, rc, got, s + lo + hi);
        ok &= rc == 0 && got == s + lo + hi && p.history[run] == s;
        /* While the graph ran, its own node could neither edit nor run it. */
        ok &= p.edit_rc == EBUSY && p.add_errno == EINVAL && p.run_rc == EBUSY;
    }
    ok &= p.stored == RUNS && p.audited == 1;

    crew_graph_destroy(g);
    crew_pool_destroy(p.pool);
    return ok ? 0 : 1;
}
