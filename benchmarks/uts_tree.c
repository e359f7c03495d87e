/* The thresholds of the UTS trees (see uts_tree.h). */
#include "uts_tree.h"

#include <stdio.h>

/* x in [0, 1] as a 64-bit fraction, saturating at 2^64 - 1. */
static uint64_t fraction64(double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return UINT64_MAX;
    double v = x * 18446744073709551616.0; /* 2^64 */
    return v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
}

int uts_init(uts_tree *t)
{
    if (t->b0 < 0 || t->rounds < 1 || t->rounds > 1000)
        return -1;
    if (t->shape == UTS_GEO) {
        if (!(t->b > 0 && t->b < 1000) || t->d < 1 || t->d > 1000)
            return -1;
        /* P(k <= i) = 1 - (1 - p)^(i + 1), p = 1 / (1 + b). */
        double keep = t->b / (1 + t->b), tail = 1;
        for (int i = 0; i < UTS_GEO_MAX; i++) {
            tail *= keep;
            t->geo_cdf[i] = fraction64(1 - tail);
        }
        t->geo_cdf[UTS_GEO_MAX - 1] = UINT64_MAX;
    } else if (t->shape == UTS_BIN) {
        if (t->m < 1 || t->m > 1000 || !(t->q >= 0 && t->q <= 1) ||
            t->m * t->q >= 1)
            return -1;
        t->bin_threshold = fraction64(t->q);
    } else {
        return -1;
    }
    return 0;
}

void uts_describe(const uts_tree *t, char *buf, size_t len)
{
    if (t->shape == UTS_GEO)
        snprintf(buf, len, "shape=geometric b0=%ld b=%g d=%d rounds=%d seed=%llu",
                 t->b0, t->b, t->d, t->rounds, (unsigned long long)t->seed);
    else
        snprintf(buf, len, "shape=binomial b0=%ld m=%d q=%g rounds=%d seed=%llu",
                 t->b0, t->m, t->q, t->rounds, (unsigned long long)t->seed);
}
