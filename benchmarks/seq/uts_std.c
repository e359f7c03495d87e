/* The sequential twin of crew-bench uts_t1 and uts_t3: the same walk as
 * the parallel versions (bench_uts_std.c), with a call where they spawn.
 * Alone in its translation unit, built with the benchmark's flags. */
#include "bench_uts_std.h"

__attribute__((noinline)) uts_count seq_uts_std_range(const uts_params *p, const uts_node *parent,
                                                      int lo, int hi)
{
    if (hi - lo == 1)
        return uts_std_visit(p, parent, lo, seq_uts_std_range);
    int mid = lo + (hi - lo) / 2;
    uts_count l = seq_uts_std_range(p, parent, lo, mid);
    uts_count r = seq_uts_std_range(p, parent, mid, hi);
    uts_count_add(&l, &r);
    return l;
}
