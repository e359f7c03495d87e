/* The sequential twin of crew-bench pi: the same halving of the sample
 * range as the parallel versions, both halves plain recursive calls where
 * they spawn one; every leaf draws its point with pi_hit (bench_fj.h).
 * Alone in its translation unit, so no caller can specialize it. */
#include "bench_fj.h"

__attribute__((noinline)) uint64_t seq_pi(long start, long cnt)
{
    if (cnt == 1)
        return (uint64_t)pi_hit((uint64_t)start);
    return seq_pi(start, cnt / 2) + seq_pi(start + cnt / 2, (cnt + 1) / 2);
}
