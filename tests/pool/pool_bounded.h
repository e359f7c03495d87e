/* Objects for the pool suite's tests of the bounds (cases_pool_bounds.c,
 * cases_pool_waits.c): they count themselves alive, carry a holder flag,
 * and can be told to fail their init, block in it, or be rejected by
 * validate; and the clock helpers those tests share. */
#ifndef CREW_POOL_BOUNDED_H
#define CREW_POOL_BOUNDED_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include <crew.h>

#include "pool/objpool.h"

typedef struct bobj {
    unsigned id;      /* from init: distinct for every object built */
    int bad;          /* validate rejects it on its next reuse */
    _Atomic int held; /* set by atomic exchange on every acquire */
} bobj;

typedef struct bhooks {
    size_t max_live;
    /* The test's own count of objects alive: up when init succeeds, down
     * when fini starts (so within the pool's own, which spans both). */
    _Atomic long alive, alive_peak;
    _Atomic long held, held_peak; /* acquired and not yet released */
    _Atomic long inits, finis, validates, rejects, double_holds;
    _Atomic long fail_inits; /* the next this many inits fail, with init_rc */
    int init_rc;
    _Atomic unsigned next_id;
    /* Optional: runs inside fini (tests that call the pool from there). */
    void (*on_fini)(struct bhooks *h, bobj *o);
    crew_objpool *pool;
    int fini_nested_rc; /* what on_fini saw */
    /* Optional: blocks the init of the object numbered block_id until
     * `go` is set (1: succeed, 2: fail). */
    unsigned block_id;
    _Atomic int in_init, go;
} bhooks;

static inline void raise_peak(_Atomic long *peak, long v)
{
    long cur = atomic_load(peak);
    while (v > cur && !atomic_compare_exchange_weak(peak, &cur, v))
        ;
}

static inline void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static inline int bobj_init(void *obj, void *ctx)
{
    bhooks *h = ctx;
    long left = atomic_load(&h->fail_inits);
    while (left > 0)
        if (atomic_compare_exchange_weak(&h->fail_inits, &left, left - 1))
            return h->init_rc;
    bobj *o = obj;
    o->id = atomic_fetch_add(&h->next_id, 1) + 1;
    if (h->block_id != 0 && o->id == h->block_id) {
        atomic_store(&h->in_init, 1);
        for (int i = 0; i < 5000 && atomic_load(&h->go) == 0; i++)
            nap_us(1000);
        if (atomic_load(&h->go) != 1)
            return h->init_rc;
    }
    o->bad = 0;
    atomic_init(&o->held, 0);
    raise_peak(&h->alive_peak, atomic_fetch_add(&h->alive, 1) + 1);
    atomic_fetch_add(&h->inits, 1);
    return 0;
}

static inline void bobj_fini(void *obj, void *ctx)
{
    bhooks *h = ctx;
    if (h->on_fini != NULL)
        h->on_fini(h, obj);
    atomic_fetch_sub(&h->alive, 1);
    atomic_fetch_add(&h->finis, 1);
}

static inline int bobj_validate(void *obj, void *ctx)
{
    bhooks *h = ctx;
    bobj *o = obj;
    atomic_fetch_add(&h->validates, 1);
    if (o->bad) {
        atomic_fetch_add(&h->rejects, 1);
        return 1;
    }
    return 0;
}

static inline crew_objpool_config bconfig(bhooks *h, size_t max_live, size_t max_idle)
{
    h->max_live = max_live;
    crew_objpool_config cfg = {
        .obj_size = sizeof(bobj),
        .max_idle = max_idle,
        .init = bobj_init,
        .fini = bobj_fini,
        .ctx = h,
        .max_live = max_live,
        .validate = bobj_validate,
    };
    return cfg;
}

/* Marks o held (0 if somebody held it already) and counts it. */
static inline int take(bhooks *h, bobj *o)
{
    if (atomic_exchange(&o->held, 1) != 0) {
        atomic_fetch_add(&h->double_holds, 1);
        return 0;
    }
    raise_peak(&h->held_peak, atomic_fetch_add(&h->held, 1) + 1);
    return 1;
}

static inline void give(crew_objpool *p, bhooks *h, bobj *o)
{
    atomic_fetch_sub(&h->held, 1);
    atomic_store(&o->held, 0);
    crew_objpool_release(p, o);
}

/* CLOCK_REALTIME in ms from now (negative: in the past). */
static inline struct timespec deadline_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = (long long)ts.tv_nsec + (long long)ms * 1000000LL;
    long long sec = ns / 1000000000LL;
    ns %= 1000000000LL;
    if (ns < 0) {
        ns += 1000000000LL;
        sec--;
    }
    ts.tv_sec += (time_t)sec;
    ts.tv_nsec = (long)ns;
    return ts;
}

static inline int realtime_reached(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > t->tv_sec ||
           (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Polls until p has `want` sleepers, for at most 10 s; 1 when it got there. */
static inline int await_waiters(crew_objpool *p, unsigned want)
{
    for (int i = 0; i < 10000; i++) {
        if (crew_objpool_waiters(p) == want)
            return 1;
        nap_us(1000);
    }
    return 0;
}

#endif
