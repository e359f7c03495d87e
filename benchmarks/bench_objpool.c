/* crew-bench objpool: acquire+release pairs per second against glibc's
 * malloc+free of the same size, in the same run.
 *   impl=objpool        the public API: crew_objpool_acquire/release, served
 *                       by the calling thread's cache of the pool (no
 *                       locked instruction while the cache neither fills
 *                       nor empties);
 *   impl=objpool_slots  crew_objpool_acquire_at/release_at, thread k on
 *                       slot k: what the scheduler uses;
 *   impl=objpool_slots_bounded  the same with max_idle 4096 (the others
 *                       are unbounded), as the scheduler's record pool;
 *   impl=malloc         malloc + free.
 * Each thread does --n pairs (default 2,000,000), one object held at a
 * time. Runs are interleaved (every implementation once per repetition),
 * --repeat times (default 7); a line per implementation and thread count
 * gives the median and the extremes, and the median's ratio to malloc's. */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pool/objpool.h"

#define MAX_REPEAT 64
#define MAX_THREADS 64
#define OBJ_SIZE 64

enum impl {
    IMPL_OBJPOOL,
    IMPL_OBJPOOL_SLOTS,
    IMPL_OBJPOOL_SLOTS_BOUNDED,
    IMPL_MALLOC,
    NIMPLS
};
static const char *const impl_names[NIMPLS] = {
    "objpool", "objpool_slots", "objpool_slots_bounded", "malloc"};
static const size_t impl_max_idle[NIMPLS] = {0, 0, 4096, 0};

typedef struct run {
    enum impl impl;
    crew_objpool *pool;
    long n;
    _Atomic int ready;
    _Atomic int start;
} run;

typedef struct worker {
    run *r;
    unsigned slot;
    pthread_t tid;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    run *r = w->r;
    const long n = r->n;
    /* Warm up outside the timed part: the first object is built here (and
     * for objpool, the thread's cache of the pool). */
    void *warm;
    switch (r->impl) {
    case IMPL_MALLOC:
        free(malloc(OBJ_SIZE));
        break;
    case IMPL_OBJPOOL:
        warm = crew_objpool_acquire(r->pool);
        crew_objpool_release(r->pool, warm);
        break;
    default:
        warm = crew_objpool_acquire_at(r->pool, w->slot);
        crew_objpool_release_at(r->pool, w->slot, warm);
        break;
    }
    atomic_fetch_add_explicit(&r->ready, 1, memory_order_release);
    while (!atomic_load_explicit(&r->start, memory_order_acquire))
        ;
    switch (r->impl) {
    case IMPL_OBJPOOL:
        for (long i = 0; i < n; i++) {
            char *x = crew_objpool_acquire(r->pool);
            x[0] = (char)i;
            bench_consume((uintptr_t)x);
            crew_objpool_release(r->pool, x);
        }
        break;
    case IMPL_OBJPOOL_SLOTS:
    case IMPL_OBJPOOL_SLOTS_BOUNDED:
        for (long i = 0; i < n; i++) {
            char *x = crew_objpool_acquire_at(r->pool, w->slot);
            x[0] = (char)i;
            bench_consume((uintptr_t)x);
            crew_objpool_release_at(r->pool, w->slot, x);
        }
        break;
    default:
        for (long i = 0; i < n; i++) {
            char *x = malloc(OBJ_SIZE);
            x[0] = (char)i;
            bench_consume((uintptr_t)x);
            free(x);
        }
        break;
    }
    return NULL;
}

/* Pairs per second over all threads, or -1. */
static double pairs_per_s(enum impl impl, unsigned threads, long n)
{
    run r = {.impl = impl, .n = n};
    crew_objpool_config cfg = {.obj_size = OBJ_SIZE,
                               .max_idle = impl_max_idle[impl]};
    if (impl != IMPL_MALLOC) {
        /* objpool: no slots; the public calls use thread caches. */
        r.pool =
            crew_objpool_create_slots(&cfg, impl == IMPL_OBJPOOL ? 0 : threads);
        if (r.pool == NULL)
            return -1;
    }
    worker w[MAX_THREADS];
    unsigned started = 0;
    for (; started < threads; started++) {
        w[started].r = &r;
        w[started].slot = started;
        if (pthread_create(&w[started].tid, NULL, worker_main, &w[started]) !=
            0)
            break;
    }
    if (started == threads) {
        while (atomic_load_explicit(&r.ready, memory_order_acquire) <
               (int)threads)
            ;
    }
    double t0 = bench_now();
    atomic_store_explicit(&r.start, 1, memory_order_release);
    for (unsigned k = 0; k < started; k++)
        pthread_join(w[k].tid, NULL);
    double secs = bench_now() - t0;
    crew_objpool_destroy(r.pool);
    if (started < threads)
        return -1;
    return (double)threads * (double)n / secs;
}

int bench_objpool(const bench_opts *o)
{
    long n = o->n > 0 ? o->n : 2000000;
    int repeat = o->repeat > 0 ? o->repeat : 7;
    if (repeat > MAX_REPEAT)
        repeat = MAX_REPEAT;
    unsigned thread_counts[2] = {1, 2};
    unsigned nthreads = 2;
    if (o->workers > 0) {
        thread_counts[0] = o->workers > MAX_THREADS ? MAX_THREADS : o->workers;
        nthreads = 1;
    }
    int wanted[NIMPLS], known = o->impl == NULL;
    for (int i = 0; i < NIMPLS; i++) {
        int named = o->impl != NULL && strcmp(o->impl, impl_names[i]) == 0;
        known |= named;
        /* The baseline always runs: every ratio needs it. */
        wanted[i] = o->impl == NULL || named || i == IMPL_MALLOC;
    }
    if (!known) {
        fprintf(stderr,
                "crew-bench objpool: unknown impl %s (objpool, "
                "objpool_slots, objpool_slots_bounded, malloc)\n",
                o->impl);
        return 2;
    }

    static double rate[2][NIMPLS][MAX_REPEAT];
    for (int r = 0; r < repeat; r++) {
        for (unsigned t = 0; t < nthreads; t++)
            for (int i = 0; i < NIMPLS; i++) {
                if (!wanted[i])
                    continue;
                rate[t][i][r] = pairs_per_s((enum impl)i, thread_counts[t], n);
                if (rate[t][i][r] < 0) {
                    fprintf(stderr,
                            "crew-bench objpool: out of memory or threads\n");
                    return 1;
                }
            }
        bench_progress("objpool", r + 1, repeat);
    }

    for (unsigned t = 0; t < nthreads; t++) {
        double malloc_median =
            bench_median(rate[t][IMPL_MALLOC], (size_t)repeat);
        for (int i = 0; i < NIMPLS; i++) {
            if (!wanted[i])
                continue;
            bench_summary m = bench_summarize(rate[t][i], (size_t)repeat);
            printf("bench=objpool impl=%s threads=%u obj_size=%d "
                   "max_idle=%zu n=%ld repeat=%d",
                   impl_names[i], thread_counts[t], OBJ_SIZE, impl_max_idle[i],
                   n, repeat);
            bench_print_stats("pairs_per_s", &m);
            printf(" speed_vs_malloc=%.3g\n", m.median / malloc_median);
        }
    }
    return 0;
}
