/* The sequential twin of crew-bench sort, and the sequential pieces every
 * implementation calls (sort_base, merge_seq, sort_lower_bound). The twin
 * is the same merge sort as the parallel versions, with calls where they
 * spawn: split in halves, sort both, then merge them by recursive
 * binary-search splitting. */
#include "bench_fj.h"

#include <string.h>

static void insertion_sort(int *a, long n)
{
    for (long i = 1; i < n; i++) {
        int v = a[i];
        long j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static int median3(int x, int y, int z)
{
    if (x < y)
        return y < z ? y : (x < z ? z : x);
    return x < z ? x : (y < z ? z : y);
}

/* A quicksort (median of three, Hoare partition) down to runs of 16,
 * finished by insertion sort: the base case of the merge sort. */
void sort_base(int *a, long n)
{
    while (n > 16) {
        int pivot = median3(a[0], a[n / 2], a[n - 1]);
        long i = -1, j = n;
        for (;;) {
            do
                i++;
            while (a[i] < pivot);
            do
                j--;
            while (a[j] > pivot);
            if (i >= j)
                break;
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        /* [0, j] <= pivot <= [j + 1, n): recurse on the smaller side. */
        long left = j + 1;
        if (left < n - left) {
            sort_base(a, left);
            a += left;
            n -= left;
        } else {
            sort_base(a + left, n - left);
            n = left;
        }
    }
    insertion_sort(a, n);
}

void merge_seq(const int *x, long nx, const int *y, long ny, int *out)
{
    long i = 0, j = 0, k = 0;
    while (i < nx && j < ny)
        out[k++] = y[j] < x[i] ? y[j++] : x[i++];
    while (i < nx)
        out[k++] = x[i++];
    while (j < ny)
        out[k++] = y[j++];
}

long sort_lower_bound(const int *x, long n, int v)
{
    long lo = 0, hi = n;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (x[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Merges sorted x[0, nx) and y[0, ny) into out: the larger run's middle
 * element goes to its final place, and the two sides merge separately. */
static void seq_merge(const int *x, long nx, const int *y, long ny, int *out)
{
    if (nx < ny) {
        const int *t = x;
        x = y;
        y = t;
        long tn = nx;
        nx = ny;
        ny = tn;
    }
    if (nx + ny <= MERGE_BASE) {
        merge_seq(x, nx, y, ny, out);
        return;
    }
    long mx = nx / 2;
    long my = sort_lower_bound(y, ny, x[mx]);
    out[mx + my] = x[mx];
    seq_merge(x, mx, y, my, out);
    seq_merge(x + mx + 1, nx - mx - 1, y + my, ny - my, out + mx + my + 1);
}

__attribute__((noinline)) void seq_msort(int *a, int *tmp, long n, int to_tmp)
{
    if (n <= SORT_BASE) {
        sort_base(a, n);
        if (to_tmp)
            memcpy(tmp, a, (size_t)n * sizeof *a);
        return;
    }
    long h = n / 2;
    /* The halves land in the other buffer, then merge into this one. */
    seq_msort(a, tmp, h, !to_tmp);
    seq_msort(a + h, tmp + h, n - h, !to_tmp);
    const int *src = to_tmp ? a : tmp;
    int *dst = to_tmp ? tmp : a;
    seq_merge(src, h, src + h, n - h, dst);
}
