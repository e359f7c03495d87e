/* docs/guide.md, part 2: a fork-join quicksort with crew_spawn and
 * crew_sync_call, a sequential cutoff, and the serial elision (the same
 * function called outside any pool just runs serially). */
#include <crew.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CUTOFF = 64 }; /* below this, a task would cost more than it saves */

typedef struct range {
    int *a;
    size_t n;
} range;

static void insertion_sort(int *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        int x = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > x; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

static void swap(int *a, int *b)
{
    int t = *a;
    *a = *b;
    *b = t;
}

/* Hoare partition around the median of three: [0, p) <= pivot <= [p, n). */
static size_t partition(int *a, size_t n)
{
    size_t m = (n - 1) / 2;
    if (a[m] < a[0])
        swap(&a[m], &a[0]);
    if (a[n - 1] < a[0])
        swap(&a[n - 1], &a[0]);
    if (a[n - 1] < a[m])
        swap(&a[n - 1], &a[m]);
    int pivot = a[m];
    size_t i = 0, j = n - 1;
    for (;;) {
        while (a[i] < pivot)
            i++;
        while (a[j] > pivot)
            j--;
        if (i >= j)
            return j + 1;
        swap(&a[i++], &a[j--]);
    }
}

static void *sort_task(void *arg)
{
    range *r = arg;
    if (r->n <= CUTOFF) {
        insertion_sort(r->a, r->n);
        return NULL;
    }
    size_t p = partition(r->a, r->n);
    range left = {r->a, p};                 /* lives in this frame ...        */
    range right = {r->a + p, r->n - p};
    crew_task t;                            /* ... and so does the task record */
    crew_spawn(&t, sort_task, &left);       /* a thief may take the left half  */
    sort_task(&right);                      /* we do the right half            */
    crew_sync_call(&t, sort_task);          /* then the left, unless stolen    */
    return NULL;                            /* every spawn synced: may return  */
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

int main(void)
{
    enum { N = 200000 };
    int *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *c = malloc(N * sizeof *c);
    if (a == NULL || b == NULL || c == NULL)
        return 1;
    uint32_t seed = 12345;
    for (size_t i = 0; i < N; i++) {
        seed = seed * 1664525u + 1013904223u;
        a[i] = b[i] = c[i] = (int)(seed >> 8) % 100000; /* many duplicates */
    }

    crew_pool *pool = crew_pool_create(NULL);
    if (pool == NULL)
        return 1;
    range all = {a, N};
    if (crew_run(pool, sort_task, &all, NULL) != 0) /* a root task on the pool */
        return 1;

    range serial = {b, N};
    sort_task(&serial); /* outside a worker: spawn and sync run it serially */

    qsort(c, N, sizeof *c, cmp_int);
    int ok = memcmp(a, c, N * sizeof *a) == 0 && memcmp(b, c, N * sizeof *b) == 0;
    crew_stats s;
    crew_pool_stats(pool, &s);
    printf("sorted %d ints in the pool (%llu spawns, %llu steals) and serially: %s\n", N,
           (unsigned long long)s.spawns, (unsigned long long)s.steals, ok ? "ok" : "WRONG");
    crew_pool_destroy(pool);
    free(a);
    free(b);
    free(c);
    return ok ? 0 : 1;
}
