/* docs/graph.md: a diamond of four tasks, run three times, then refused
 * once a cycle is added. */
#include <crew.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

typedef struct job {
    long input, doubled, squared;
} job;

static void *load(void *arg)
{
    job *j = arg;
    j->input += 1;
    return NULL;
}

static void *double_it(void *arg) /* runs after load, maybe beside square */
{
    job *j = arg;
    j->doubled = 2 * j->input;
    return NULL;
}

static void *square(void *arg)
{
    job *j = arg;
    j->squared = j->input * j->input;
    return NULL;
}

static void *combine(void *arg) /* runs after both */
{
    job *j = arg;
    return (void *)(intptr_t)(j->doubled + j->squared);
}

int main(void)
{
    crew_pool *pool = crew_pool_create(NULL);
    crew_graph *g = crew_graph_create();
    if (pool == NULL || g == NULL)
        return 1;
    job j = {.input = 0};
    crew_node *a = crew_graph_add(g, load, &j);
    crew_node *b = crew_graph_add(g, double_it, &j);
    crew_node *c = crew_graph_add(g, square, &j);
    crew_node *d = crew_graph_add(g, combine, &j);
    if (!a || !b || !c || !d)
        return 1;
    /*      a
     *     / \
     *    b   c
     *     \ /
     *      d      */
    if (crew_graph_precede(a, b) || crew_graph_precede(a, c) ||
        crew_graph_precede(b, d) || crew_graph_precede(c, d))
        return 1;

    long expect[] = {1 * 2 + 1 * 1, 2 * 2 + 2 * 2, 3 * 2 + 3 * 3};
    for (int run = 0; run < 3; run++) { /* no rebuilding between runs */
        int rc = crew_graph_run(pool, g);
        long total = (long)(intptr_t)crew_node_result(d);
        printf("run %d: rc %d, result %ld\n", run + 1, rc, total);
        if (rc != 0 || total != expect[run])
            return 1;
    }

    /* d -> a closes a cycle: found before anything runs. */
    if (crew_graph_precede(d, a) != 0 || crew_graph_run(pool, g) != ELOOP ||
        j.input != 3)
        return 1;
    printf("with a cycle: ELOOP, nothing ran\n");

    crew_graph_destroy(g);
    crew_pool_destroy(pool);
    return 0;
}
