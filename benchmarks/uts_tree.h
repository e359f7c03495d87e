/* The trees of crew-bench uts_geo and uts_bin: an Unbalanced Tree Search
 * (after Olivier et al., UTS) with our own splittable random stream.
 *
 * Every node carries a 64-bit state. The root's state is
 * fj_mix64(seed); child i of a node with state s has the state
 *     z = s + (i + 1) * 0x9E3779B97F4A7C15, then `rounds` times
 *     z = fj_mix64(z + 0x9E3779B97F4A7C15)
 * (splitmix64 steps; `rounds` is the per-node work, like UTS's SHA-1
 * granularity). A node's number of children is drawn from its own state,
 * so the tree is a pure function of the parameters: every implementation,
 * in any order and on any thread, walks the same tree.
 *   geometric: the root has b0 children; a node at depth < d has k
 *     children with probability p (1 - p)^k, p = 1 / (1 + b) (mean b),
 *     at most UTS_GEO_MAX - 1; a node at depth >= d has none.
 *   binomial: the root has b0 children; any other node has m children
 *     with probability q, otherwise none (m * q < 1: a finite tree whose
 *     subtrees have 1 / (1 - m q) nodes on average, with a heavy tail).
 * The draw compares the state, as a 64-bit fraction, with thresholds
 * computed once (uts_init), so no libm is needed on the hot path. */
#ifndef CREW_BENCH_UTS_TREE_H
#define CREW_BENCH_UTS_TREE_H

#include "bench_fj.h"

enum { UTS_GEO, UTS_BIN };
#define UTS_GEO_MAX 64
#define UTS_GOLDEN 0x9E3779B97F4A7C15ull

typedef struct uts_tree {
    int shape;
    long b0;     /* the root's children */
    double b;    /* geometric: mean branching */
    int d;       /* geometric: depth limit */
    int m;       /* binomial: children of a non-leaf */
    double q;    /* binomial: probability of m children */
    int rounds;  /* mix rounds per child state */
    uint64_t seed;
    uint64_t geo_cdf[UTS_GEO_MAX]; /* P(k <= i) as a 64-bit fraction */
    uint64_t bin_threshold;        /* q as a 64-bit fraction */
} uts_tree;

/* What a subtree's walk finds. */
typedef struct uts_count {
    uint64_t nodes;
    uint64_t max_depth;
} uts_count;

/* Fills in the thresholds; 0, or -1 for parameters out of range. */
int uts_init(uts_tree *t);
/* The parameters, for the output lines. */
void uts_describe(const uts_tree *t, char *buf, size_t len);

static inline uint64_t uts_root_state(const uts_tree *t)
{
    return fj_mix64(t->seed);
}

static inline uint64_t uts_child_state(const uts_tree *t, uint64_t s, long i)
{
    uint64_t z = s + (uint64_t)(i + 1) * UTS_GOLDEN;
    for (int r = 0; r < t->rounds; r++)
        z = fj_mix64(z + UTS_GOLDEN);
    return z;
}

static inline long uts_children(const uts_tree *t, uint64_t s, int depth)
{
    if (depth == 0)
        return t->b0;
    if (t->shape == UTS_BIN)
        return s < t->bin_threshold ? t->m : 0;
    if (depth >= t->d)
        return 0;
    long k = 0;
    while (k < UTS_GEO_MAX - 1 && s >= t->geo_cdf[k])
        k++;
    return k;
}

static inline void uts_merge(uts_count *into, const uts_count *c)
{
    into->nodes += c->nodes;
    if (c->max_depth > into->max_depth)
        into->max_depth = c->max_depth;
}

/* Every implementation walks the children [0, k) of a node by halving
 * the index range: the left half is a task (a call in the twin), the
 * right half runs on; a range of one child computes the child's state,
 * counts it and walks its own children. So a node with k children makes
 * k - 1 spawns, and a thief takes the larger remaining share of a wide
 * node (the binomial root's b0 children) at once.
 * The sequential twin (seq/uts.c): the counts of the subtrees of children
 * [lo, hi) of the node with state s at depth `depth`. */
uts_count seq_uts_range(const uts_tree *t, uint64_t s, int depth, long lo,
                        long hi);

#endif
