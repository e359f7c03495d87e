/* Placeholder until the object pool lands (issue 3). */
#include "bench.h"

int bench_objpool(const bench_opts *o)
{
    (void)o;
    fprintf(stderr, "crew-bench: objpool is not built yet\n");
    return 1;
}
