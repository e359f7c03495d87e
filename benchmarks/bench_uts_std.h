/* crew-bench uts_t1 and uts_t3: the standard UTS trees T1 and T3 of the
 * UTS benchmark (benchmarks/uts: its SHA-1 splittable generator), walked
 * by every implementation the same way: the children of a node by range
 * halving, down to one child, whose own children are walked the same way
 * (k - 1 spawns for k children, no cutoff), as Lace's uts does. */
#ifndef CREW_BENCH_UTS_STD_H
#define CREW_BENCH_UTS_STD_H

#include "uts.h"

/* Walks children [lo, hi) of parent (hi - lo >= 1). */
typedef uts_count (*uts_std_range_fn)(const uts_params *p, const uts_node *parent, int lo,
                                      int hi);

/* Child i of parent and its subtree, its children walked by `range`: the
 * node's own count (1, a leaf or not, its depth) plus its subtree's. */
static inline uts_count uts_std_visit(const uts_params *p, const uts_node *parent, int i,
                                      uts_std_range_fn range)
{
    uts_node child;
    uts_child(p, parent, i, &child);
    int k = uts_num_children(p, &child);
    uts_count c = {1, k == 0, child.depth};
    if (k > 0) {
        uts_count sub = range(p, &child, 0, k);
        uts_count_add(&c, &sub);
    }
    return c;
}

/* The sequential twin (seq/uts_std.c). */
uts_count seq_uts_std_range(const uts_params *p, const uts_node *parent, int lo, int hi);

#endif
