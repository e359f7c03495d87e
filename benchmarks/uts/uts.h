/* The standard Unbalanced Tree Search trees (Olivier, Huan, Liu, Prins,
 * Dinan, Sadayappan, Tseng: "UTS: An Unbalanced Tree Search Benchmark",
 * LCPC 2006), generated node by node: a tree nobody can know in advance,
 * the same in every implementation, in any order, on any thread or rank.
 *
 * The random stream is part of the benchmark's definition. A node's state
 * is a 20-byte SHA-1 digest (sha1.h):
 *   root       SHA-1 of 16 zero bytes then the seed as a 32-bit big-endian
 *              number;
 *   child i    SHA-1 of the parent's 20 bytes then i as a 32-bit
 *              big-endian number (granularity g > 1 computes the same
 *              hash g times: g times the work, the same tree);
 *   a draw     the state's bytes 16..19 as a big-endian number, its top
 *              bit cleared, divided by 2^31: u in [0, 1).
 * The number of children of a node at depth h (the root has depth 0):
 *   binomial   the root: floor(b0); others: m if u < q, else 0;
 *   geometric  floor(log(1 - u) / log(1 - p)), p = 1 / (1 + b_h), with the
 *              expected branching b_h given by the shape (b_0 = b0 at the
 *              root; d is the depth parameter gen_mx):
 *                linear  b0 (1 - h / d)
 *                expdec  b0 h^(-log(b0) / log(d))
 *                cyclic  b0^sin(2 pi h / d), 0 past depth 5 d
 *                fixed   b0 below depth d, 0 from depth d on;
 * and no node but a binomial root has more than UTS_MAX_CHILDREN.
 *
 * The presets are UTS's sample trees with their published sizes (each
 * checked by tests/mpi/uts). */
#ifndef CREW_UTS_H
#define CREW_UTS_H

#include <stdint.h>

#include "sha1.h"

#define UTS_STATE_BYTES UTS_SHA1_DIGEST_BYTES
#define UTS_MAX_CHILDREN 100

/* The numbers are UTS's own (its -t and -a options). */
typedef enum uts_type { UTS_BINOMIAL = 0, UTS_GEOMETRIC = 1 } uts_type;
typedef enum uts_shape {
    UTS_LINEAR = 0,
    UTS_EXPDEC = 1,
    UTS_CYCLIC = 2,
    UTS_FIXED = 3
} uts_shape;

typedef struct uts_params {
    uts_type type;
    uts_shape shape;  /* geometric only */
    double b0;        /* -b: the root's branching (binomial: its children) */
    int gen_mx;       /* -d: geometric depth parameter */
    double q;         /* -q: binomial: probability of m children */
    int m;            /* -m: binomial: children of an inner node */
    int32_t seed;     /* -r: the root's seed */
    int granularity;  /* -g: hashes per child, at least 1 */
} uts_params;

typedef struct uts_node {
    unsigned char state[UTS_STATE_BYTES];
    int depth;
} uts_node;

/* What a walk finds. */
typedef struct uts_count {
    uint64_t nodes;
    uint64_t leaves;
    int max_depth;
} uts_count;

/* A sample tree and its published size. */
typedef struct uts_preset {
    const char *name;
    uts_params params;
    uts_count size;
} uts_preset;

/* T1: geometric, fixed branching, b0 = 4, d = 10, seed 19: 4,130,071 nodes.
 * T3: binomial, b0 = 2000, q = 0.124875, m = 8, seed 42: 4,112,897 nodes. */
extern const uts_preset uts_t1, uts_t2, uts_t3, uts_t5;
/* UTS's default parameters (geometric, linear, b0 = 4, d = 6, seed 0): a
 * small tree of 1,732 nodes for quick tests. */
extern const uts_preset uts_small;

/* The preset of that name ("T1", "T2", "T3", "T5", "small"), or NULL. */
const uts_preset *uts_preset_find(const char *name);

/* 0, or EINVAL for parameters out of range (a finite tree is not checked:
 * a binomial tree with m q >= 1 may be infinite). */
int uts_params_check(const uts_params *p);

void uts_root(const uts_params *p, uts_node *root);
/* The node's number of children, 0 .. UTS_MAX_CHILDREN (or floor(b0) for
 * a binomial root). */
int uts_num_children(const uts_params *p, const uts_node *n);
/* Child i of parent, 0 <= i < uts_num_children(p, parent). */
void uts_child(const uts_params *p, const uts_node *parent, int i, uts_node *child);

/* A sequential depth-first walk of the whole tree; nodes 0 when the walk
 * cannot get memory for its stack. */
uts_count uts_walk(const uts_params *p);
/* Adds b's counts to a (max of the depths). */
void uts_count_add(uts_count *a, const uts_count *b);

#endif
