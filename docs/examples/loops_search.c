/* docs/guide.md, part 2: parallel_for beyond the plain loop.
 * - Early stop: the body returns non-zero, no further subrange starts, and
 *   the call returns that value.
 * - An explicit grain bounds every subrange; the subranges cover the range
 *   exactly once.
 * - Nesting: a parallel_for inside a parallel_for's body, on the same pool. */
#include <crew.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* A value no error code can be: crew's errors are positive. */
enum { FOUND = -1 };

typedef struct search {
    const int *v;
    int target;
    atomic_size_t where;
    atomic_size_t looked_at;
} search;

static int find(size_t begin, size_t end, void *arg)
{
    search *s = arg;
    atomic_fetch_add_explicit(&s->looked_at, end - begin, memory_order_relaxed);
    for (size_t i = begin; i < end; i++)
        if (s->v[i] == s->target) {
            atomic_store(&s->where, i);
            return FOUND; /* stop: no new subrange starts after this */
        }
    return 0;
}

typedef struct cover {
    atomic_uchar *seen;
    atomic_size_t longest;
} cover;

static int mark(size_t begin, size_t end, void *arg)
{
    cover *c = arg;
    size_t n = end - begin, old = atomic_load(&c->longest);
    while (n > old && !atomic_compare_exchange_weak(&c->longest, &old, n))
        ;
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add_explicit(&c->seen[i], 1, memory_order_relaxed);
    return 0;
}

enum { ROWS = 300, COLS = 400 };

typedef struct grid {
    crew_pool *pool;
    int cell[ROWS][COLS];
    atomic_int inner_failed;
} grid;

typedef struct row {
    grid *g;
    size_t r;
} row;

static int fill_cols(size_t begin, size_t end, void *arg)
{
    const row *w = arg;
    for (size_t c = begin; c < end; c++)
        w->g->cell[w->r][c] += (int)(w->r * COLS + c);
    return 0;
}

static int fill_rows(size_t begin, size_t end, void *arg)
{
    grid *g = arg;
    for (size_t r = begin; r < end; r++) {
        row w = {g, r};
        /* Called on a worker: a nested loop; this worker takes part in it. */
        if (crew_parallel_for(g->pool, 0, COLS, 32, fill_cols, &w) != 0)
            atomic_store(&g->inner_failed, 1);
    }
    return 0;
}

int main(void)
{
    enum { N = 1000000, AT = 777777 };
    crew_pool *pool = crew_pool_create(NULL);
    int *v = malloc(N * sizeof *v);
    atomic_uchar *seen = calloc(N, 1);
    grid *g = calloc(1, sizeof *g);
    if (pool == NULL || v == NULL || seen == NULL || g == NULL)
        return 1;
    for (int i = 0; i < N; i++)
        v[i] = i % 1000;
    v[AT] = -7;

    search s = {.v = v, .target = -7};
    int rc = crew_parallel_for(pool, 0, N, 0, find, &s);
    printf("search: rc %d, found at %zu, looked at %zu of %d\n", rc, atomic_load(&s.where),
           atomic_load(&s.looked_at), N);
    int ok = rc == FOUND && atomic_load(&s.where) == AT;

    cover c = {.seen = seen};
    if (crew_parallel_for(pool, 0, N, 1000, mark, &c) != 0)
        return 1;
    for (size_t i = 0; i < N; i++)
        ok &= atomic_load_explicit(&seen[i], memory_order_relaxed) == 1;
    printf("grain 1000: longest subrange %zu, every index once: %s\n", atomic_load(&c.longest),
           ok ? "yes" : "no");
    ok &= atomic_load(&c.longest) <= 1000;

    g->pool = pool;
    if (crew_parallel_for(pool, 0, ROWS, 1, fill_rows, g) != 0 || atomic_load(&g->inner_failed))
        return 1;
    for (size_t r = 0; r < ROWS; r++)
        for (size_t col = 0; col < COLS; col++)
            ok &= g->cell[r][col] == (int)(r * COLS + col);
    printf("nested loops: %d x %d cells, each written once: %s\n", ROWS, COLS, ok ? "yes" : "no");

    free(v);
    free(seen);
    free(g);
    crew_pool_destroy(pool);
    return ok ? 0 : 1;
}
