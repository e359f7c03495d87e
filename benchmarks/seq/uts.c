/* The sequential twin of crew-bench uts_geo and uts_bin: the same walk
 * as the parallel versions (uts_tree.h), with a call where they spawn.
 * Alone in its translation unit, built with the benchmark's flags. */
#include "uts_tree.h"

__attribute__((noinline)) uts_count seq_uts_range(const uts_tree *t, uint64_t s,
                                                  int depth, long lo, long hi)
{
    if (hi - lo == 1) {
        uint64_t cs = uts_child_state(t, s, lo);
        uts_count c = {1, (uint64_t)depth + 1};
        long k = uts_children(t, cs, depth + 1);
        if (k > 0) {
            uts_count sub = seq_uts_range(t, cs, depth + 1, 0, k);
            uts_merge(&c, &sub);
        }
        return c;
    }
    long mid = lo + (hi - lo) / 2;
    uts_count l = seq_uts_range(t, s, depth, lo, mid);
    uts_count r = seq_uts_range(t, s, depth, mid, hi);
    uts_merge(&l, &r);
    return l;
}
