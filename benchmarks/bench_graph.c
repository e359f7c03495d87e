/* crew-bench graph (issue 5): being written. */
#include "bench.h"

int bench_graph(const bench_opts *o)
{
    (void)o;
    fprintf(stderr, "crew-bench: graph is not built yet\n");
    return 1;
}
