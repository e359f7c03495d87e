/* The sequential twin of crew-bench matmul, and the base-block kernel
 * every implementation calls. The recursion splits each matrix into
 * quadrants and does the eight quadrant products in two phases (the
 * products of the first k-half, then those of the second), so every
 * element of C adds its products in the order k = 0, 1, ..., n-1 whatever
 * runs the phases' four products; the parallel versions do the same
 * recursion with spawns, and their results are bit-for-bit equal. */
#include "bench_fj.h"

/* C += A * B on s x s blocks, row length ld: i, k, j order, the j loop
 * over contiguous rows of B and C (vectorizable; each element's sum is
 * still in k order). */
__attribute__((noinline)) void matmul_base(double *restrict c,
                                           const double *restrict a,
                                           const double *restrict b, long s,
                                           long ld)
{
    for (long i = 0; i < s; i++) {
        double *ci = c + i * ld;
        const double *ai = a + i * ld;
        for (long k = 0; k < s; k++) {
            double aik = ai[k];
            const double *bk = b + k * ld;
            for (long j = 0; j < s; j++)
                ci[j] += aik * bk[j];
        }
    }
}

__attribute__((noinline)) void seq_matmul(double *c, const double *a,
                                          const double *b, long s, long ld)
{
    if (s <= MM_BASE) {
        matmul_base(c, a, b, s, ld);
        return;
    }
    long h = s / 2;
    double *c11 = c, *c12 = c + h, *c21 = c + h * ld, *c22 = c + h * ld + h;
    const double *a11 = a, *a12 = a + h, *a21 = a + h * ld, *a22 = a + h * ld + h;
    const double *b11 = b, *b12 = b + h, *b21 = b + h * ld, *b22 = b + h * ld + h;
    /* Phase 1: the first half of k. */
    seq_matmul(c11, a11, b11, h, ld);
    seq_matmul(c12, a11, b12, h, ld);
    seq_matmul(c21, a21, b11, h, ld);
    seq_matmul(c22, a21, b12, h, ld);
    /* Phase 2: the second half of k, after the first. */
    seq_matmul(c11, a12, b21, h, ld);
    seq_matmul(c12, a12, b22, h, ld);
    seq_matmul(c21, a22, b21, h, ld);
    seq_matmul(c22, a22, b22, h, ld);
}
