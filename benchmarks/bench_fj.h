/* crew-bench: the harness the fork-join workloads share (nqueens, matmul,
 * sort, uts_geo, uts_bin, knapsack, pi, strassen), and their sequential
 * twins (seq/, each in its own translation unit, built with the same
 * flags).
 *
 * A workload supplies one function that runs one cell once (an
 * implementation on a worker count) and returns the seconds it took, its
 * untimed setup excluded. The harness creates one crew pool per worker
 * count (1 and --workers, default 2), and one oneTBB arena per worker
 * count when the build has oneTBB (peers/tbb.h), before timing, runs one
 * untimed warm-up of every cell, then --repeat rounds in which every cell
 * runs once, interleaved (seq, crew/1, omp_tasks/1, tbb/1, crew/N,
 * omp_tasks/N, tbb/N), with a short pause between cells so that one
 * runtime's idle spinning does not eat the next one's cores. Every run's
 * answer is compared with the sequential twin's; a mismatch prints WRONG
 * RESULT and the run exits 1.
 * One line per cell:
 *   bench=NAME impl=IMPL workers=W n=SIZE median_s= p10_s= p90_s= min_s=
 *   max_s= result=CHECK speed_vs_seq= speed_vs_crew= repeat=K [extra]
 * where speed_vs_X is X's median time over this cell's (above 1: this
 * cell is faster than X), crew on the same worker count (seq, a single
 * thread, is compared with crew on 1 worker). */
#ifndef CREW_BENCH_FJ_H
#define CREW_BENCH_FJ_H

#include "bench.h"

#include <crew.h>
#include <math.h>

/* tbb: a tbb::task_group per spawning node (peer_tbb_group), in a
 * task_arena of W threads entered with peer_tbb_execute; the workloads
 * write it like their omp_tasks version (group.run per task, then
 * group.wait where OpenMP has taskwait). */
enum { FJ_SEQ, FJ_CREW, FJ_OMP, FJ_TBB, FJ_NIMPLS };

/* A run's answer: `value` is printed as result=, `aux` (when aux_name is
 * set) as aux_name=; both must equal the twin's. */
typedef struct fj_result {
    uint64_t value, aux;
} fj_result;

typedef struct fj_spec {
    const char *name;     /* the workload, e.g. "nqueens" */
    long n;               /* the size, printed as n= */
    int repeat;
    int result_hex;       /* print result= in hex (checksums) */
    const char *aux_name; /* NULL: no second value */
    const char *extra;    /* appended to every line (parameters), or "" */
    const char *omp_extra;/* appended to omp_tasks and tbb lines
                           * (cutoff=...), or "" */
    void *ctx;
    /* Runs `impl` once on `workers` workers (pool: the crew pool, for
     * FJ_CREW; FJ_TBB uses the arena of peer_tbb_execute(workers, ...));
     * returns the timed seconds, or a negative value after printing why. */
    double (*run)(void *ctx, int impl, crew_pool *pool, unsigned workers,
                  fj_result *out);
} fj_spec;

/* Runs the cells `o` selects and prints their lines; 0, 1 (a failure or a
 * wrong result) or 2 (bad options). */
int fj_bench(const bench_opts *o, const fj_spec *spec);

/* Whether this build has the OpenMP peer. */
int fj_have_omp(void);
/* Whether this build has the oneTBB peer. */
int fj_have_tbb(void);

/* The splitmix64 finalizer: a strong 64-bit mix (Steele, Lea, Flood). */
static inline uint64_t fj_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- the sequential twins (each in its own seq_*.c) ---- */

/* nqueens: a node of the search is a board whose rows [0, row) hold
 * queens in columns b[0..row), all safe; its value is the number of ways
 * to complete it. */
#define NQ_MAX 20
typedef struct nq_node {
    int n, row;
    signed char b[NQ_MAX];
} nq_node;

long seq_nqueens(const nq_node *node);

/* Whether a queen at (row, b[row]) is safe from the queens of rows
 * [0, row): no shared column, no shared diagonal (BOTS's ok()). */
static inline int nq_ok(int row, const signed char *b)
{
    int q = b[row];
    for (int i = 0; i < row; i++) {
        int p = b[i];
        if (p == q || p - q == row - i || q - p == row - i)
            return 0;
    }
    return 1;
}

/* Writes the children of `node` (the boards with one more queen, in row
 * node->row, that are safe) into kids, in column order, and returns how
 * many: every implementation expands a node with this. */
static inline int nq_children(const nq_node *node, nq_node *kids)
{
    int n = node->n, row = node->row, k = 0;
    for (int col = 0; col < n; col++) {
        nq_node *c = &kids[k];
        c->n = n;
        c->row = row + 1;
        for (int i = 0; i < row; i++)
            c->b[i] = node->b[i];
        c->b[row] = (signed char)col;
        if (nq_ok(row, c->b))
            k++;
    }
    return k;
}

/* matmul: C += A * B on s x s blocks of matrices with row length ld.
 * matmul_base multiplies one base block (in seq/matmul.c: the kernel both
 * the twin and the parallel versions call, so every element sums its
 * products in the same order, k = 0, 1, ..., n-1). */
#define MM_BASE 64
void matmul_base(double *c, const double *a, const double *b, long s, long ld);
void seq_matmul(double *c, const double *a, const double *b, long s, long ld);

/* sort: sorts a[0, n) into a (to_tmp 0) or into tmp (to_tmp 1), using
 * tmp[0, n) as scratch; merge_seq merges two sorted runs into out;
 * sort_base sorts a small range in place; both in seq/sort.c. */
#define SORT_BASE 2048  /* sort_base below this many elements */
#define MERGE_BASE 4096 /* merge_seq below this many output elements */
void seq_msort(int *a, int *tmp, long n, int to_tmp);
void sort_base(int *a, long n);
void merge_seq(const int *x, long nx, const int *y, long ny, int *out);
/* The first index i in [0, n) with x[i] >= v (n if none). */
long sort_lower_bound(const int *x, long n, int v);

/* knapsack: the 0-1 knapsack instance of crew-bench knapsack (items in
 * decreasing order of value / weight); seq_knapsack(e, c, n, v) is the best
 * value reachable from a knapsack of value v and room c with the n items
 * from e still to decide (INT_MIN when c < 0: over the capacity). */
#define KS_MAX_ITEMS 64
typedef struct ks_item {
    int value, weight;
} ks_item;
int seq_knapsack(const ks_item *e, int c, int n, int v);

/* pi: sample i of the Monte Carlo estimate is a point (x, y) of [0, 1]^2
 * drawn from its own stream, seeded from i alone (so every
 * implementation draws the same points whoever runs the leaf), by two
 * steps of the C standard's example rand() generator (x = s mod
 * (2^31 - 1) / (2^31 - 1)), the leaf work of Lace's pi; it hits when
 * sqrt(x^2 + y^2) < 1. seq_pi(start, cnt) counts the hits of samples
 * [start, start + cnt) by halving the range. */
#define PI_RAND_MAX 2147483647u
static inline uint32_t pi_lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s % PI_RAND_MAX;
}
static inline int pi_hit(uint64_t i)
{
    uint32_t s = (uint32_t)fj_mix64(0x9100000000000000ull + i);
    double x = (double)pi_lcg(&s) / PI_RAND_MAX;
    double y = (double)pi_lcg(&s) / PI_RAND_MAX;
    return sqrt(x * x + y * y) < 1.0;
}
uint64_t seq_pi(long start, long cnt);

/* dfs: Lace's dfs, a tree of DFS_WIDTH children per inner node, `depth`
 * levels deep; every inner node spawns all its children, then syncs them
 * all (newest first). A leaf calls dfs_leaf (seq/dfs.c: a separate
 * translation unit, so the call stays), which returns 1: the result is
 * the number of leaves, DFS_WIDTH^depth, and a leaf costs a call, as
 * Lace's does at -O2 (gcc drops its leaf loop, whose result nobody
 * reads). seq_dfs is the twin: the same tree, plain calls. */
#define DFS_WIDTH 10
long dfs_leaf(void);
long seq_dfs(int depth);

/* strassen: C = A B for s x s blocks (s a power of two, at least ST_BASE;
 * row lengths ldc, lda, ldb) by Strassen's seven products in Winograd's
 * form, down to blocks of ST_BASE, multiplied by strassen_base. A level
 * with quadrants of h = s / 2 allocates ST_TEMPS h x h blocks
 * (strassen_temps, one allocation, as Lace's level does), writes the
 * eight sums S1..S8 of quadrants into the first eight
 * (strassen_prepare), describes its seven products (strassen_products:
 * three go to the other temporaries M2, M5, T1, four to C's quadrants),
 * runs them (independent: each writes its own block), and makes C from
 * them (strassen_combine). These pieces are in seq/strassen.c, shared by
 * every implementation, so every run does the same arithmetic in the
 * same order: the result is the twin's bit for bit. */
#define ST_BASE 16
#define ST_TEMPS 11
typedef struct st_product {
    double *c;
    const double *a, *b;
    long s, ldc, lda, ldb;
} st_product;
/* C = A B for one ST_BASE x ST_BASE block. */
void strassen_base(double *c, const double *a, const double *b, long ldc,
                   long lda, long ldb);
/* NULL when out of memory; free() releases it. */
double *strassen_temps(long s);
void strassen_prepare(const st_product *x, double *t);
void strassen_products(const st_product *x, double *t, st_product q[7]);
void strassen_combine(const st_product *x, const double *t);
/* The twin: 0, or ENOMEM when a level's temporaries cannot be had. */
int seq_strassen(const st_product *x);

#endif
