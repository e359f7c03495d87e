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
 *   impl=objpool_max_live  the public API on a pool with max_live set
 *                       (1,000,000: never exhausted here), whose calls all
 *                       take the shared stack (no thread caches: docs/pool.md,
 *                       "max_live");
 *   impl=malloc         malloc + free.
 * Each thread does --n pairs (default 2,000,000), one object held at a
 * time. Runs are interleaved (every implementation once per repetition),
 * --repeat times (default 7); a line per implementation and thread count
 * gives the median and the extremes, and the median's ratio to malloc's.
 *
 * Then the bounded set (lines with shape=bounded): 8 threads share a pool
 * of max_live 4, each acquiring an object, holding it for about 1 us (a
 * spin calibrated at start) and releasing it, --n / 100 times (default
 * 20,000); acquires per second (median_pairs_per_s: each acquire is one
 * pair), interleaved, --repeat times:
 *   impl=objpool_bounded  crew_objpool_acquire/release, max_live 4;
 *   impl=mutex_bounded    peers/bounded_pool.c: one mutex, one condvar.
 * Every object carries a holder flag set by atomic exchange: two holders
 * at once fail the run, and so would more than 4 objects built. The set
 * needs 8 threads whatever --workers says, so --workers 1 skips it (the
 * report runs objpool with 1 and with N workers: this way it runs once). */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "peers/bounded_pool.h"
#include "pool/objpool.h"

#define MAX_REPEAT 64
#define MAX_THREADS 64
#define OBJ_SIZE 64

enum impl {
    IMPL_OBJPOOL,
    IMPL_OBJPOOL_SLOTS,
    IMPL_OBJPOOL_SLOTS_BOUNDED,
    IMPL_OBJPOOL_MAX_LIVE,
    IMPL_MALLOC,
    NIMPLS
};
static const char *const impl_names[NIMPLS] = {
    "objpool", "objpool_slots", "objpool_slots_bounded", "objpool_max_live", "malloc"};
static const size_t impl_max_idle[NIMPLS] = {0, 0, 4096, 0, 0};
static const size_t impl_max_live[NIMPLS] = {0, 0, 0, 1000000, 0};

/* The bounded set. */
enum bimpl { BIMPL_OBJPOOL, BIMPL_MUTEX, NBIMPLS };
static const char *const bimpl_names[NBIMPLS] = {"objpool_bounded", "mutex_bounded"};
enum { BOUNDED_THREADS = 8, BOUNDED_MAX_LIVE = 4, HOLD_NS = 1000 };

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
    case IMPL_OBJPOOL_MAX_LIVE:
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
    case IMPL_OBJPOOL_MAX_LIVE:
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
                               .max_idle = impl_max_idle[impl],
                               .max_live = impl_max_live[impl]};
    if (impl != IMPL_MALLOC) {
        /* objpool: no slots; the public calls use thread caches. */
        int pub = impl == IMPL_OBJPOOL || impl == IMPL_OBJPOOL_MAX_LIVE;
        r.pool = crew_objpool_create_slots(&cfg, pub ? 0 : threads);
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

/* ---- the bounded set ---- */

/* A bounded set's object: the holder flag, then the rest of OBJ_SIZE. */
typedef struct bounded_obj {
    _Atomic int held;
    unsigned char rest[OBJ_SIZE - sizeof(int)];
} bounded_obj;

/* Spin iterations that take about HOLD_NS, measured once. */
static long hold_spins;

static void hold(long spins)
{
    for (long k = 0; k < spins; k++)
        bench_consume((uintptr_t)k);
}

/* The fastest of a few timings of a long spin (the others were slowed by
 * preemption), scaled to HOLD_NS. */
static void calibrate_hold(void)
{
    const long probe = 1000000;
    double best = 1e9;
    for (int t = 0; t < 5; t++) {
        double t0 = bench_now();
        hold(probe);
        double dt = bench_now() - t0;
        if (dt < best)
            best = dt;
    }
    hold_spins = (long)((double)probe * (HOLD_NS * 1e-9) / best);
    if (hold_spins < 1)
        hold_spins = 1;
}

static int bounded_obj_init(void *obj, void *ctx)
{
    (void)ctx;
    atomic_init(&((bounded_obj *)obj)->held, 0);
    return 0;
}

typedef struct brun {
    enum bimpl impl;
    crew_objpool *pool;
    peer_bounded_pool *peer;
    long n;
    _Atomic int ready, start;
    _Atomic long double_holds, failures;
} brun;

static void *bounded_main(void *arg)
{
    brun *r = arg;
    atomic_fetch_add_explicit(&r->ready, 1, memory_order_release);
    while (!atomic_load_explicit(&r->start, memory_order_acquire))
        ;
    for (long i = 0; i < r->n; i++) {
        bounded_obj *x = r->impl == BIMPL_OBJPOOL ? crew_objpool_acquire(r->pool)
                                                  : peer_bounded_pool_acquire(r->peer);
        if (x == NULL) {
            atomic_fetch_add_explicit(&r->failures, 1, memory_order_relaxed);
            break;
        }
        /* acq_rel: the check of the hand-over, as strong as the
         * pools' own, so it hides nothing. */
        if (atomic_exchange_explicit(&x->held, 1, memory_order_acq_rel) != 0)
            atomic_fetch_add_explicit(&r->double_holds, 1, memory_order_relaxed);
        hold(hold_spins);
        atomic_store_explicit(&x->held, 0, memory_order_release);
        if (r->impl == BIMPL_OBJPOOL)
            crew_objpool_release(r->pool, x);
        else
            peer_bounded_pool_release(r->peer, x);
    }
    return NULL;
}

/* Acquires per second over all threads; -1 on failure (printed). */
static double bounded_acquires_per_s(enum bimpl impl, long n)
{
    brun r = {.impl = impl, .n = n};
    if (impl == BIMPL_OBJPOOL) {
        crew_objpool_config cfg = {.obj_size = sizeof(bounded_obj),
                                   .init = bounded_obj_init,
                                   .max_live = BOUNDED_MAX_LIVE};
        r.pool = crew_objpool_create(&cfg);
    } else {
        r.peer = peer_bounded_pool_create(sizeof(bounded_obj), BOUNDED_MAX_LIVE);
    }
    if (r.pool == NULL && r.peer == NULL)
        return -1;
    pthread_t tid[BOUNDED_THREADS];
    unsigned started = 0;
    for (; started < BOUNDED_THREADS; started++)
        if (pthread_create(&tid[started], NULL, bounded_main, &r) != 0)
            break;
    if (started == BOUNDED_THREADS)
        while (atomic_load_explicit(&r.ready, memory_order_acquire) < BOUNDED_THREADS)
            ;
    double t0 = bench_now();
    atomic_store_explicit(&r.start, 1, memory_order_release);
    for (unsigned k = 0; k < started; k++)
        pthread_join(tid[k], NULL);
    double secs = bench_now() - t0;
    size_t built;
    if (impl == BIMPL_OBJPOOL) {
        crew_objpool_stats st;
        crew_objpool_stats_get(r.pool, &st);
        built = (size_t)st.created;
        crew_objpool_destroy(r.pool);
    } else {
        built = peer_bounded_pool_built(r.peer);
        peer_bounded_pool_destroy(r.peer);
    }
    long doubles = atomic_load_explicit(&r.double_holds, memory_order_relaxed);
    long failures = atomic_load_explicit(&r.failures, memory_order_relaxed);
    if (started < BOUNDED_THREADS || doubles != 0 || failures != 0 ||
        built > BOUNDED_MAX_LIVE) {
        fprintf(stderr,
                "crew-bench objpool: impl=%s: WRONG: %ld double holds, %ld failed "
                "acquires, %zu objects built (max_live %d), %u threads\n",
                bimpl_names[impl], doubles, failures, built, BOUNDED_MAX_LIVE, started);
        return -1;
    }
    return (double)BOUNDED_THREADS * (double)n / secs;
}

static int bench_objpool_bounded(const bench_opts *o, int repeat)
{
    int wanted[NBIMPLS], any = 0;
    for (int i = 0; i < NBIMPLS; i++)
        any |= wanted[i] = bench_selected(o, bimpl_names[i]);
    if (!any)
        return 0;
    /* The peer always runs: the ratio needs it. */
    wanted[BIMPL_MUTEX] = 1;
    long n = o->n > 0 ? o->n / 100 : 20000;
    if (n < 100)
        n = 100;
    calibrate_hold();
    static double rate[NBIMPLS][MAX_REPEAT];
    for (int r = 0; r < repeat; r++)
        for (int i = 0; i < NBIMPLS; i++) {
            if (!wanted[i])
                continue;
            if ((rate[i][r] = bounded_acquires_per_s((enum bimpl)i, n)) < 0)
                return 1;
        }
    bench_summary base = bench_summarize(rate[BIMPL_MUTEX], (size_t)repeat);
    for (int i = 0; i < NBIMPLS; i++) {
        if (!wanted[i] || !bench_selected(o, bimpl_names[i]))
            continue;
        bench_summary m = i == BIMPL_MUTEX ? base : bench_summarize(rate[i], (size_t)repeat);
        printf("bench=objpool impl=%s shape=bounded threads=%d max_live=%d hold_ns=%d "
               "hold_spins=%ld n=%ld repeat=%d",
               bimpl_names[i], BOUNDED_THREADS, BOUNDED_MAX_LIVE, HOLD_NS, hold_spins, n,
               repeat);
        bench_print_stats("pairs_per_s", &m);
        printf(" speed_vs_mutex_bounded=%.3g\n", m.median / base.median);
    }
    return 0;
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
    int wanted[NIMPLS], pairs = o->impl == NULL, bounded = o->impl == NULL;
    for (int i = 0; i < NIMPLS; i++) {
        int named = o->impl != NULL && strcmp(o->impl, impl_names[i]) == 0;
        pairs |= named;
        /* The baseline always runs: every ratio needs it. */
        wanted[i] = o->impl == NULL || named || i == IMPL_MALLOC;
    }
    for (int i = 0; i < NBIMPLS; i++)
        bounded |= o->impl != NULL && strcmp(o->impl, bimpl_names[i]) == 0;
    if (!pairs && !bounded) {
        fprintf(stderr, "crew-bench objpool: unknown impl %s (", o->impl);
        for (int i = 0; i < NIMPLS; i++)
            fprintf(stderr, "%s, ", impl_names[i]);
        fprintf(stderr, "%s, %s)\n", bimpl_names[0], bimpl_names[1]);
        return 2;
    }
    if (bounded && o->workers == 1) {
        printf("bench=objpool impl=%s skipped=1 reason=bounded_set_needs_8_threads\n",
               o->impl != NULL && !pairs ? o->impl : "objpool_bounded");
        bounded = 0;
    }
    if (!pairs)
        return bounded ? bench_objpool_bounded(o, repeat) : 0;

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
                   "max_idle=%zu max_live=%zu n=%ld repeat=%d",
                   impl_names[i], thread_counts[t], OBJ_SIZE, impl_max_idle[i],
                   impl_max_live[i], n, repeat);
            bench_print_stats("pairs_per_s", &m);
            printf(" speed_vs_malloc=%.3g\n", m.median / malloc_median);
        }
    }
    return bounded ? bench_objpool_bounded(o, repeat) : 0;
}
