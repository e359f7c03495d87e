/* The sequential twin of crew-bench strassen, and the pieces of a level
 * every implementation calls (bench_fj.h). Quadrants: X11 X12 / X21 X22.
 * Winograd's form of Strassen's method, on the sums
 *   S1 = A21 + A22   S2 = S1 - A11   S3 = A11 - A21   S4 = A12 - S2
 *   S5 = B12 - B11   S6 = B22 - S5   S7 = B22 - B12   S8 = S6 - B21
 * and the seven products
 *   M2 = A11 B11   M5 = S1 S5   T1 = S2 S6   C22 = S3 S7
 *   C11 = A12 B21  C12 = S4 B22 C21 = A22 S8
 * then, with T1 += M2 and T2 = T1 + C22:
 *   C11 += M2   C12 += M5 + T1   C22 = M5 + T2   C21 = T2 - C21. */
#include "bench_fj.h"

#include <errno.h>
#include <stdlib.h>

/* C = A B for one ST_BASE x ST_BASE block, by runs of 8 elements of a
 * row of C: their 8 sums stay in registers while k runs 0, 1, ...,
 * ST_BASE - 1. */
__attribute__((noinline)) void strassen_base(double *restrict c,
                                             const double *restrict a,
                                             const double *restrict b,
                                             long ldc, long lda, long ldb)
{
    for (long i = 0; i < ST_BASE; i++) {
        const double *ai = a + i * lda;
        double *ci = c + i * ldc;
        for (long j = 0; j < ST_BASE; j += 8) {
            const double *bj = b + j;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            for (long k = 0; k < ST_BASE; k++) {
                double x = ai[k];
                const double *bk = bj + k * ldb;
                s0 += x * bk[0];
                s1 += x * bk[1];
                s2 += x * bk[2];
                s3 += x * bk[3];
                s4 += x * bk[4];
                s5 += x * bk[5];
                s6 += x * bk[6];
                s7 += x * bk[7];
            }
            ci[j] = s0;
            ci[j + 1] = s1;
            ci[j + 2] = s2;
            ci[j + 3] = s3;
            ci[j + 4] = s4;
            ci[j + 5] = s5;
            ci[j + 6] = s6;
            ci[j + 7] = s7;
        }
    }
}

/* The distance between two temporaries of a level: h x h doubles and one
 * cache line more, so that the eight sums strassen_prepare writes side by
 * side do not all fall into the same cache sets (h^2 doubles is a power
 * of two bytes; Lace's level pads its temporaries for the same reason). */
static long st_stride(long h)
{
    return h * h + 8;
}

double *strassen_temps(long s)
{
    /* A multiple of 64 bytes, as aligned_alloc wants of the size. */
    size_t count = (size_t)(ST_TEMPS * st_stride(s / 2));
    return aligned_alloc(64, count * sizeof(double));
}

void strassen_prepare(const st_product *x, double *t)
{
    long h = x->s / 2, step = st_stride(h), lda = x->lda, ldb = x->ldb;
    const double *a = x->a, *b = x->b;
    for (long r = 0; r < h; r++) {
        const double *a1 = a + r * lda, *a2 = a + (r + h) * lda;
        const double *b1 = b + r * ldb, *b2 = b + (r + h) * ldb;
        double *s1 = t + r * h;
        for (long col = 0; col < h; col++) {
            double a11 = a1[col], a12 = a1[h + col];
            double a21 = a2[col], a22 = a2[h + col];
            double b11 = b1[col], b12 = b1[h + col];
            double b21 = b2[col], b22 = b2[h + col];
            double S1 = a21 + a22, S2 = S1 - a11;
            double S5 = b12 - b11, S6 = b22 - S5;
            s1[col] = S1;
            s1[step + col] = S2;
            s1[2 * step + col] = a11 - a21;
            s1[3 * step + col] = a12 - S2;
            s1[4 * step + col] = S5;
            s1[5 * step + col] = S6;
            s1[6 * step + col] = b22 - b12;
            s1[7 * step + col] = S6 - b21;
        }
    }
}

void strassen_products(const st_product *x, double *t, st_product q[7])
{
    long h = x->s / 2, step = st_stride(h), ldc = x->ldc, lda = x->lda, ldb = x->ldb;
    double *c = x->c;
    const double *a = x->a, *b = x->b;
    const double *a11 = a, *a12 = a + h, *a21 = a + h * lda, *a22 = a21 + h;
    const double *b11 = b, *b21 = b + h * ldb, *b22 = b21 + h;
    double *c11 = c, *c12 = c + h, *c21 = c + h * ldc, *c22 = c21 + h;
    const double *S1 = t, *S2 = t + step, *S3 = t + 2 * step, *S4 = t + 3 * step;
    const double *S5 = t + 4 * step, *S6 = t + 5 * step, *S7 = t + 6 * step;
    const double *S8 = t + 7 * step;
    double *M2 = t + 8 * step, *M5 = t + 9 * step, *T1 = t + 10 * step;
    q[0] = (st_product){M2, a11, b11, h, h, lda, ldb};
    q[1] = (st_product){M5, S1, S5, h, h, h, h};
    q[2] = (st_product){T1, S2, S6, h, h, h, h};
    q[3] = (st_product){c22, S3, S7, h, ldc, h, h};
    q[4] = (st_product){c11, a12, b21, h, ldc, lda, ldb};
    q[5] = (st_product){c12, S4, b22, h, ldc, h, ldb};
    q[6] = (st_product){c21, a22, S8, h, ldc, lda, h};
}

void strassen_combine(const st_product *x, const double *t)
{
    long h = x->s / 2, step = st_stride(h), ldc = x->ldc;
    for (long r = 0; r < h; r++) {
        double *c11 = x->c + r * ldc, *c12 = c11 + h;
        double *c21 = x->c + (r + h) * ldc, *c22 = c21 + h;
        const double *m2 = t + 8 * step + r * h, *m5 = t + 9 * step + r * h;
        const double *t1 = t + 10 * step + r * h;
        for (long col = 0; col < h; col++) {
            double T1 = t1[col] + m2[col];
            double T2 = c22[col] + T1;
            c11[col] += m2[col];
            c12[col] += m5[col] + T1;
            c22[col] = m5[col] + T2;
            c21[col] = T2 - c21[col];
        }
    }
}

__attribute__((noinline)) int seq_strassen(const st_product *x)
{
    if (x->s <= ST_BASE) {
        strassen_base(x->c, x->a, x->b, x->ldc, x->lda, x->ldb);
        return 0;
    }
    double *t = strassen_temps(x->s);
    if (t == NULL)
        return ENOMEM;
    strassen_prepare(x, t);
    st_product q[7];
    strassen_products(x, t, q);
    int err = 0;
    for (int i = 0; i < 7; i++) {
        int e = seq_strassen(&q[i]);
        if (e != 0)
            err = e;
    }
    if (err == 0)
        strassen_combine(x, t);
    free(t);
    return err;
}
