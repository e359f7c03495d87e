/* The graph suite's recorder: a graph whose nodes stamp a global sequence
 * number when they start and when they end, and count their runs, so a
 * test can check every edge's order and every node's run count. */
#ifndef CREW_TEST_GRAPH_UTIL_H
#define CREW_TEST_GRAPH_UTIL_H
#include <crew.h>
#include <stdatomic.h>
#include <stdint.h>

#define IP(x) ((void *)(intptr_t)(x))
#define PI(p) ((long)(intptr_t)(p))

typedef struct rec_graph rec_graph;

typedef struct rec_arg {
    rec_graph *r;
    long id;
} rec_arg;

struct rec_graph {
    crew_graph *g;
    long n;
    crew_node **nodes;
    rec_arg *args;
    uint64_t *start, *end;  /* the last run's stamps */
    _Atomic unsigned *runs; /* every run's */
    _Atomic uint64_t seq;
    long run;               /* which run this is: nodes return rec_result */
    long (*edges)[2];       /* as added, duplicates included */
    long nedges, edges_cap;
    /* Each node's predecessors (from edges, rebuilt by rg_run when edges
     * were added), and its depth: 1 + its predecessors' largest, computed
     * by the node from their plain writes. A predecessor that had not
     * returned, or whose writes were not visible, gives a wrong depth (and
     * a data race under ThreadSanitizer). */
    long *pred_start, *preds, preds_of_edges;
    long *depth;
    unsigned spin;          /* busy work per node, in loop iterations */
};

/* A recorder with n nodes and no edges; 0 or 1 (after a message). */
int rg_init(rec_graph *r, long n, unsigned spin);
void rg_free(rec_graph *r);
/* crew_graph_precede(a, b), remembered for rg_check when it succeeds. */
int rg_edge(rec_graph *r, long a, long b);
/* Starts run number r->run + 1 on pool. */
int rg_run(rec_graph *r, crew_pool *pool);
/* 0 if every node ran `runs` times in all, the last run kept every edge's
 * order, and every result is the last run's; 1 after a message. */
int rg_check(rec_graph *r, unsigned runs);
/* What node id returns in run number `run`. */
long rec_result(long id, long run);

/* Seeded shapes. A DAG of n nodes and about `edges` random edges (some
 * repeated), oriented along a random permutation; layers x width nodes
 * where each node past the first layer has 1 to 4 predecessors in the
 * layer before. 0 or 1. */
int rg_random_dag(rec_graph *r, long n, long edges, uint64_t seed);
int rg_layered(rec_graph *r, long layers, long width, uint64_t seed);

uint64_t test_rng(uint64_t *state);
crew_pool *graph_pool(unsigned workers, size_t stack_size);
#endif
