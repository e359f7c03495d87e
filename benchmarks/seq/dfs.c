/* The sequential twin of crew-bench dfs and the leaf every
 * implementation calls. Alone in its translation unit, so no caller can
 * inline the leaf or specialize the walk. */
#include "bench_fj.h"

__attribute__((noinline)) long dfs_leaf(void)
{
    return 1;
}

__attribute__((noinline)) long seq_dfs(int depth)
{
    if (depth == 0)
        return dfs_leaf();
    long sum = 0;
    for (int i = 0; i < DFS_WIDTH; i++)
        sum += seq_dfs(depth - 1);
    return sum;
}
