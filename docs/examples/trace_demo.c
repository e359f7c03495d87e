/* docs/trace: a traced run worth looking at. A three-stage task graph
 * whose middle stage runs a parallel loop, named with crew_node_set_label
 * and crew_trace_label, repeated; the trace goes to argv[1] (default
 * /dev/null, which is what the test suite runs). */
#include <crew.h>
#include <stdint.h>
#include <stdio.h>

enum { ROWS = 4096, COLS = 256 };
static double grid[ROWS][COLS];

static int transform_rows(size_t begin, size_t end, void *arg)
{
    (void)arg;
    for (size_t r = begin; r < end; r++)
        for (size_t c = 0; c < COLS; c++)
            grid[r][c] = grid[r][c] * 0.5 + (double)(r ^ c);
    return 0;
}

static crew_pool *pool;

static void *load(void *arg)
{
    for (size_t r = 0; r < ROWS; r++)
        grid[r][0] = (double)r;
    return arg;
}

static void *transform(void *arg)
{
    const char *old = crew_trace_label("transform rows");
    crew_parallel_for(pool, 0, ROWS, 64, transform_rows, NULL); /* nested in this node */
    crew_trace_label(old);
    return arg;
}

static void *store(void *arg)
{
    (void)arg;
    double sum = 0;
    for (size_t r = 0; r < ROWS; r++)
        sum += grid[r][COLS - 1];
    return (void *)(intptr_t)(sum > 0);
}

int main(int argc, char **argv)
{
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 2;
    cfg.name = "demo";
    cfg.trace_path = argc > 1 ? argv[1] : "/dev/null"; /* written at destroy */
    pool = crew_pool_create(&cfg);
    crew_graph *g = crew_graph_create();
    if (pool == NULL || g == NULL)
        return 1;
    crew_node *a = crew_graph_add(g, load, NULL);
    crew_node *b = crew_graph_add(g, transform, NULL);
    crew_node *c = crew_graph_add(g, store, NULL);
    crew_node_set_label(a, "load");
    crew_node_set_label(b, "transform");
    crew_node_set_label(c, "store");
    if (crew_graph_precede(a, b) != 0 || crew_graph_precede(b, c) != 0)
        return 1;
    for (int i = 0; i < 20; i++)
        if (crew_graph_run(pool, g) != 0 || crew_node_result(c) == NULL)
            return 1;
    crew_graph_destroy(g);
    return crew_pool_destroy(pool) == 0 ? 0 : 1;
}
