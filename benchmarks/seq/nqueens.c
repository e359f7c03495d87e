/* The sequential twin of crew-bench nqueens: the same expansion as the
 * parallel versions (nq_children), each child a plain recursive call
 * where they spawn a task. Alone in its translation unit, so no caller
 * can specialize it. */
#include "bench_fj.h"

__attribute__((noinline)) long seq_nqueens(const nq_node *node)
{
    if (node->row == node->n)
        return 1;
    nq_node kids[NQ_MAX];
    int k = nq_children(node, kids);
    long count = 0;
    for (int i = 0; i < k; i++)
        count += seq_nqueens(&kids[i]);
    return count;
}
