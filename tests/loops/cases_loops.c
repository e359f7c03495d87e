/* Suite `loops`: parallel_for, reduce and map. */
#include "loops_cases.h"

#include <crew.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <time.h>

static double test_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static crew_pool *make_pool(unsigned workers)
{
    crew_config c;
    crew_config_default(&c);
    c.workers = workers;
    return crew_pool_create(&c);
}

typedef struct visit {
    _Atomic unsigned char *seen; /* per index */
    size_t base;
    _Atomic size_t max_len, calls;
    size_t grain;
} visit;

static int mark(size_t b, size_t e, void *a)
{
    visit *v = a;
    for (size_t i = b; i < e; i++)
        atomic_fetch_add_explicit(&v->seen[i - v->base], 1, memory_order_relaxed);
    size_t len = e - b, cur = atomic_load(&v->max_len);
    while (len > cur && !atomic_compare_exchange_weak(&v->max_len, &cur, len))
        ;
    atomic_fetch_add_explicit(&v->calls, 1, memory_order_relaxed);
    return 0;
}

static int check_once(crew_pool *p, size_t begin, size_t n, size_t grain)
{
    visit v = {.base = begin, .grain = grain};
    v.seen = calloc(n ? n : 1, 1);
    CHECK(v.seen != NULL);
    CHECK(crew_parallel_for(p, begin, begin + n, grain, mark, &v) == 0);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += atomic_load(&v.seen[i]) != 1;
    free(v.seen);
    CHECKF(bad == 0, "n=%zu grain=%zu: %zu indices not visited exactly once", n, grain, bad);
    if (grain != 0)
        CHECKF(atomic_load(&v.max_len) <= grain, "a subrange of %zu > grain %zu",
               atomic_load(&v.max_len), grain);
    if (n == 0)
        CHECK(atomic_load(&v.calls) == 0);
    return 0;
}

int for_visits_every_index_exactly_once_for_many_lengths_and_grains(void)
{
    crew_pool *p = make_pool(2);
    CHECK(p != NULL);
    size_t big = (size_t)crew_scaled(10000000, 500000);
    size_t lengths[] = {0, 1, 2, 10007, big};
    size_t grains[] = {0, 1, 7, 1000};
    for (int i = 0; i < 5; i++)
        for (int g = 0; g < 4; g++) {
            if (lengths[i] == big && grains[g] == 1)
                continue; /* 10 M calls of one index: slow, nothing new */
            if (check_once(p, 1000, lengths[i], grains[g]) != 0)
                return 1;
        }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int for_never_calls_fn_on_more_than_an_explicit_grain(void)
{
    crew_pool *p = make_pool(3);
    CHECK(p != NULL);
    for (size_t g = 1; g <= 4096; g *= 8)
        if (check_once(p, 0, 100003, g) != 0)
            return 1;
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

typedef struct stopper {
    size_t stop_at;
    _Atomic size_t visited;
} stopper;

static int stop_somewhere(size_t b, size_t e, void *a)
{
    stopper *s = a;
    atomic_fetch_add(&s->visited, e - b);
    return (s->stop_at >= b && s->stop_at < e) ? 42 : 0;
}

int for_stops_early_and_returns_the_first_nonzero_value(void)
{
    crew_pool *p = make_pool(2);
    CHECK(p != NULL);
    size_t n = 4000000;
    stopper s = {.stop_at = 1000};
    int rc = crew_parallel_for(p, 0, n, 100, stop_somewhere, &s);
    CHECKF(rc == 42, "returned %d", rc);
    /* Stopping means part of the range never started. How much depends on
     * scheduling (a thief may finish its half while the stopping worker is
     * descheduled); but the stopping worker split at most once per chunk
     * before the stop, so it still held a range nobody else will run. */
    CHECKF(atomic_load(&s.visited) < n, "visited %zu of %zu: nothing stopped",
           atomic_load(&s.visited), n);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

typedef struct grid {
    crew_pool *pool;
    size_t cols;
    _Atomic unsigned char *seen;
} grid;

typedef struct row_arg {
    grid *g;
    size_t row;
} row_arg;

static int mark_cells(size_t b, size_t e, void *a)
{
    row_arg *r = a;
    for (size_t c = b; c < e; c++)
        atomic_fetch_add(&r->g->seen[r->row * r->g->cols + c], 1);
    return 0;
}

static int do_rows(size_t b, size_t e, void *a)
{
    grid *g = a;
    for (size_t row = b; row < e; row++) {
        row_arg r = {g, row};
        int rc = crew_parallel_for(g->pool, 0, g->cols, 0, mark_cells, &r);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int nested_for_inside_a_task_visits_every_cell_once(void)
{
    crew_pool *p = make_pool(2);
    CHECK(p != NULL);
    grid g = {p, 997, NULL};
    size_t rows = 300;
    g.seen = calloc(rows * g.cols, 1);
    CHECK(g.seen != NULL);
    CHECK(crew_parallel_for(p, 0, rows, 0, do_rows, &g) == 0);
    size_t bad = 0;
    for (size_t i = 0; i < rows * g.cols; i++)
        bad += atomic_load(&g.seen[i]) != 1;
    free(g.seen);
    CHECKF(bad == 0, "%zu cells not visited exactly once", bad);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

typedef struct inside_arg {
    crew_pool *pool;
    int rc;
} inside_arg;

static void *loop_from_task(void *a)
{
    inside_arg *ia = a;
    ia->rc = check_once(ia->pool, 5, 50000, 0);
    return NULL;
}

int for_called_from_inside_a_task_and_from_outside(void)
{
    crew_pool *p = make_pool(2);
    CHECK(p != NULL);
    inside_arg ia = {p, -1};
    crew_future *f = crew_submit(p, loop_from_task, &ia);
    CHECK(f != NULL);
    CHECK(crew_future_wait(f, NULL) == 0);
    crew_future_release(f);
    CHECK(ia.rc == 0);
    CHECK(check_once(p, 5, 50000, 0) == 0);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

typedef struct who {
    _Atomic unsigned long by_worker[8];
    _Atomic int first; /* 1 + the index of the worker of the first chunk */
} who;

static int workers_seen(who *w)
{
    int n = 0;
    for (int i = 0; i < 8; i++)
        n += atomic_load(&w->by_worker[i]) > 0;
    return n;
}

/* The worker that starts the loop waits, at its second chunk, until some
 * other worker has run a chunk (bounded): that happens only if the loop
 * split and handed it work, which is the property under test. A waiting
 * loop on a loaded machine is slow, not wrong; the bound only turns "never
 * split" into a failure instead of a hang. */
static int note_worker(size_t b, size_t e, void *a)
{
    who *w = a;
    int i = crew_worker_index();
    if (i < 0 || i >= 8)
        return 1;
    int first = 0;
    atomic_compare_exchange_strong(&w->first, &first, i + 1);
    int had_run = atomic_fetch_add(&w->by_worker[i], e - b) > 0;
    if (had_run && atomic_load(&w->first) == i + 1) {
        double t0 = test_now_s();
        while (workers_seen(w) < 2 && test_now_s() - t0 < 5)
            sched_yield();
    }
    return 0;
}

int for_splits_across_workers_when_they_are_idle(void)
{
    crew_pool *p = make_pool(2);
    CHECK(p != NULL);
    who w;
    memset(&w, 0, sizeof w);
    CHECK(crew_parallel_for(p, 0, 100000, 100, note_worker, &w) == 0);
    CHECKF(workers_seen(&w) == 2, "one worker did the whole loop");
    unsigned long total = 0;
    for (int i = 0; i < 8; i++)
        total += atomic_load(&w.by_worker[i]);
    CHECK(total == 100000);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* An affine map x -> a*x + b (mod 2^64). Composition is associative and
 * not commutative: a fold that combines out of index order gets a
 * different answer. */
typedef struct affine {
    uint64_t a, b;
} affine;

static affine affine_of(size_t i)
{
    return (affine){2 * (uint64_t)i + 3, (uint64_t)i * 7919u + 1};
}

/* acc then f: x -> f.a * (acc.a * x + acc.b) + f.b */
static void affine_then(affine *acc, affine f)
{
    acc->b = f.a * acc->b + f.b;
    acc->a = f.a * acc->a;
}

static void affine_range(size_t b, size_t e, void *acc, void *arg)
{
    (void)arg;
    for (size_t i = b; i < e; i++)
        affine_then(acc, affine_of(i));
}

static void affine_combine(void *acc, const void *right, void *arg)
{
    (void)arg;
    affine_then(acc, *(const affine *)right);
}

int reduce_equals_the_sequential_fold_in_index_order(void)
{
    crew_pool *p = make_pool(2);
    CHECK(p != NULL);
    size_t ns[] = {0, 1, 1000, 1000003};
    size_t grains[] = {0, 1, 64, 5000};
    affine id = {1, 0};
    for (int i = 0; i < 4; i++) {
        affine want = id;
        affine_range(0, ns[i], &want, NULL);
        for (int g = 0; g < 4; g++) {
            if (ns[i] > 100000 && grains[g] == 1)
                continue;
            affine got = {0, 0};
            CHECK(crew_parallel_reduce(p, 0, ns[i], grains[g], sizeof(affine), &id,
                                       affine_range, affine_combine, NULL, &got) == 0);
            CHECKF(got.a == want.a && got.b == want.b, "n=%zu grain=%zu: wrong fold",
                   ns[i], grains[g]);
        }
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

static void harmonic_range(size_t b, size_t e, void *acc, void *arg)
{
    (void)arg;
    double *s = acc;
    for (size_t i = b; i < e; i++)
        *s += 1.0 / (double)(i + 1);
}

static void add_doubles(void *acc, const void *right, void *arg)
{
    (void)arg;
    *(double *)acc += *(const double *)right;
}

int reduce_with_a_fixed_grain_is_bitwise_deterministic(void)
{
    crew_pool *p = make_pool(2);
    CHECK(p != NULL);
    double zero = 0, first = 0;
    for (int run = 0; run < 10; run++) {
        double s = 0;
        CHECK(crew_parallel_reduce(p, 0, 2000000, 1000, sizeof(double), &zero,
                                   harmonic_range, add_doubles, NULL, &s) == 0);
        if (run == 0)
            first = s;
        CHECKF(memcmp(&s, &first, sizeof s) == 0, "run %d: %.17g != %.17g", run, s, first);
    }
    CHECK(first > 14.0 && first < 16.0); /* ln(2e6) + 0.577 = 15.08 */
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

static void square_to_long(const void *in, void *out, void *arg)
{
    (void)arg;
    int x = *(const int *)in;
    *(long *)out = (long)x * x;
}

int map_equals_the_sequential_map(void)
{
    crew_pool *p = make_pool(2);
    CHECK(p != NULL);
    size_t n = 300007;
    int *in = malloc(n * sizeof *in);
    long *out = malloc(n * sizeof *out);
    CHECK(in != NULL && out != NULL);
    for (size_t i = 0; i < n; i++)
        in[i] = (int)(i * 37 % 100003) - 50000;
    for (size_t grain = 0; grain <= 1000; grain += 1000) {
        memset(out, 0xff, n * sizeof *out);
        CHECK(crew_parallel_map(p, in, sizeof *in, out, sizeof *out, n, grain, square_to_long,
                                NULL) == 0);
        for (size_t i = 0; i < n; i++)
            CHECKF(out[i] == (long)in[i] * in[i], "out[%zu] wrong", i);
    }
    CHECK(crew_parallel_map(p, NULL, 4, NULL, 4, 0, 0, square_to_long, NULL) == 0);
    free(in);
    free(out);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int loops_reject_bad_arguments_with_einval(void)
{
    crew_pool *p = make_pool(1);
    CHECK(p != NULL);
    visit v = {0};
    affine id = {1, 0}, out;
    CHECK(crew_parallel_for(NULL, 0, 10, 0, mark, &v) == EINVAL);
    CHECK(crew_parallel_for(p, 0, 10, 0, NULL, &v) == EINVAL);
    CHECK(crew_parallel_for(p, 10, 0, 0, mark, &v) == EINVAL);
    CHECK(crew_parallel_reduce(p, 0, 10, 0, 0, &id, affine_range, affine_combine, NULL, &out) ==
          EINVAL);
    CHECK(crew_parallel_reduce(p, 0, 10, 0, CREW_REDUCE_MAX_VALUE + 1, &id, affine_range,
                               affine_combine, NULL, &out) == EINVAL);
    CHECK(crew_parallel_reduce(p, 0, 10, 0, sizeof id, NULL, affine_range, affine_combine, NULL,
                               &out) == EINVAL);
    CHECK(crew_parallel_reduce(NULL, 0, 10, 0, sizeof id, &id, affine_range, affine_combine,
                               NULL, &out) == EINVAL);
    CHECK(crew_parallel_map(p, NULL, 4, NULL, 4, 10, 0, square_to_long, NULL) == EINVAL);
    CHECK(crew_parallel_map(p, &id, 4, &out, 4, 1, 0, NULL, NULL) == EINVAL);
    CHECK(crew_parallel_map(p, &id, SIZE_MAX / 2, &out, 4, 3, 0, square_to_long, NULL) == EINVAL);
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(crew_parallel_for(p, 0, 10, 0, mark, &v) == ESHUTDOWN);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
