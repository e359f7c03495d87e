/* Test objects that report what the pool does to them, shared by the
 * pool suite's case files. */
#ifndef CREW_POOL_TRACKED_H
#define CREW_POOL_TRACKED_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <crew.h>

#include "harness.h"

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline unsigned next_rand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 16;
}

/* ---- objects that report what the pool does to them ---- */

typedef struct tracked {
    _Atomic int held; /* 1 while a thread holds it: set by atomic exchange */
    int used;         /* 0 until first handed out: tells new from reused */
    unsigned char payload[48];
} tracked;

typedef struct hooks {
    _Atomic long inits, resets, finis;
    _Atomic long fini_on_held; /* fini of an object a thread still held */
    _Atomic long init_calls;
    int fail_rc; /* init fails with this while nonzero */
    /* The test's own count of idle objects: up in reset (the pool calls it
     * after reserving idle room, before the object becomes idle), down
     * when a thread gets a reused object (after the pool has given the
     * room back). It can exceed the pool's count only by the threads
     * between those two points. */
    _Atomic long idle_now, idle_peak;
} hooks;

static inline int tracked_init(void *obj, void *ctx)
{
    hooks *h = ctx;
    atomic_fetch_add(&h->init_calls, 1);
    if (h->fail_rc != 0)
        return h->fail_rc;
    tracked *t = obj;
    atomic_init(&t->held, 0);
    t->used = 0;
    memset(t->payload, 0xa5, sizeof(t->payload));
    atomic_fetch_add(&h->inits, 1);
    return 0;
}

static inline void tracked_reset(void *obj, void *ctx)
{
    hooks *h = ctx;
    (void)obj;
    atomic_fetch_add(&h->resets, 1);
    long idle = atomic_fetch_add(&h->idle_now, 1) + 1;
    long peak = atomic_load(&h->idle_peak);
    while (idle > peak &&
           !atomic_compare_exchange_weak(&h->idle_peak, &peak, idle))
        ;
}

static inline void tracked_fini(void *obj, void *ctx)
{
    hooks *h = ctx;
    tracked *t = obj;
    if (atomic_load(&t->held) != 0)
        atomic_fetch_add(&h->fini_on_held, 1);
    atomic_fetch_add(&h->finis, 1);
}

static inline crew_objpool_config tracked_config(hooks *h, size_t max_idle)
{
    crew_objpool_config cfg = {
        .obj_size = sizeof(tracked),
        .max_idle = max_idle,
        .init = tracked_init,
        .reset = tracked_reset,
        .fini = tracked_fini,
        .ctx = h,
    };
    return cfg;
}

/* Takes ownership of x: 0 when another thread already held it. */
static inline int claim(hooks *h, tracked *x)
{
    /* acq_rel: the flag is the test's own hand-over check, independent of
     * the pool's ordering. */
    if (atomic_exchange_explicit(&x->held, 1, memory_order_acq_rel) != 0)
        return 0;
    if (x->used && h != NULL)
        atomic_fetch_sub(&h->idle_now, 1);
    x->used = 1;
    return 1;
}

static inline void unclaim(tracked *x)
{
    atomic_store_explicit(&x->held, 0, memory_order_release);
}

/* The pool's statistics are exactly these. */
static inline int check_stats(crew_objpool *p, uint64_t created,
                              uint64_t reused, uint64_t freed, uint64_t idle)
{
    crew_objpool_stats st;
    crew_objpool_stats_get(p, &st);
    CHECKF(st.created == created && st.reused == reused && st.freed == freed &&
               st.idle == idle,
           "got created %llu reused %llu freed %llu idle %llu, "
           "want %llu %llu %llu %llu",
           (unsigned long long)st.created, (unsigned long long)st.reused,
           (unsigned long long)st.freed, (unsigned long long)st.idle,
           (unsigned long long)created, (unsigned long long)reused,
           (unsigned long long)freed, (unsigned long long)idle);
    return 0;
}

#endif
