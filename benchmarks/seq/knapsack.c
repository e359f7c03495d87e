/* The sequential twin of crew-bench knapsack: the same search as the
 * parallel versions, both branches of every item plain recursive calls
 * where they spawn one. Alone in its translation unit, so no caller can
 * specialize it. */
#include "bench_fj.h"

#include <limits.h>

__attribute__((noinline)) int seq_knapsack(const ks_item *e, int c, int n, int v)
{
    if (c < 0)
        return INT_MIN;
    if (n == 0 || c == 0)
        return v;
    int without = seq_knapsack(e + 1, c, n - 1, v);
    int with = seq_knapsack(e + 1, c - e->weight, n - 1, v + e->value);
    return with > without ? with : without;
}
