/*
 * The object pool's private layout, shared by objpool.c (objects, the
 * shared stack, create and destroy, statistics) and caches.c (the slot
 * and thread caches, and the public acquire and release that go through
 * them). Nothing outside src/pool/ includes it.
 *
 * Invariants:
 *   - Every object has one node for its whole life (its header points to
 *     it). Nodes come from slabs the pool owns and are freed only by
 *     destroy, so a pop that reads `next` of a node someone else has just
 *     taken reads pool memory, never freed memory.
 *   - An object is in exactly one place: held by a caller, on the free
 *     stack, in one slot's cache or in one thread cache. A node without an
 *     object is on the spare stack or held by a thread building or
 *     discarding an object.
 *   - A thread cache belongs to at most one live thread at a time (its
 *     owner); only that thread touches its array, except destroy. A thread
 *     that ends gives its caches back (the objects to the shared stack,
 *     the cache to the next thread that needs one), under the lock of the
 *     list of live pools, so never to a pool that is gone. A pool has at
 *     most OBJPOOL_MAX_THREAD_CACHES of them; thread caches, like slabs, are freed
 *     only by destroy.
 *   - Bounded pools (max_idle > 0): idle_reserved <= max_idle, and
 *     idle_reserved = (objects on the free stack) + (every cache's
 *     `reserved`), where a cache's reserved >= its cached objects; so the
 *     idle objects never exceed max_idle. A release reserves before it
 *     makes an object idle; an acquire gives the unit back (or, at a
 *     cache, keeps it as credit) only after it has taken the object.
 *   - Pools with max_live > 0: live <= max_live, and live = objects alive
 *     (held, idle, or being built or finalized): a unit is taken before
 *     init runs and given back after fini has returned (or after a failed
 *     init). Such pools have no caches (no slots, no thread caches): every
 *     idle object is on the shared stack, where any waiter finds it.
 */
#ifndef CREW_OBJPOOL_IMPL_H
#define CREW_OBJPOOL_IMPL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pool/objpool.h"
#include "pool/stack.h"
#include "pool/treiber.h"

enum {
    CACHE_LINE = 64,
    CACHE_CAP = 32,  /* most objects one cache holds */
    SLAB_NODES = 64, /* nodes allocated at once */
    /* A thread cache also holds at most about this many bytes of objects
     * (but always 2): threads that stop using a pool leave it full. */
    THREAD_CACHE_BYTES = 32768,
    /* Pools a thread finds its cache of without looking further. */
    THREAD_TABLE = 4,
    /* Most thread caches a pool makes: past it, further threads use the
     * shared stack (memory stays bounded with any number of live
     * threads; ended threads' caches are reused, see thread_exit). */
    OBJPOOL_MAX_THREAD_CACHES = 64,
};

/* In front of every object, in the same allocation. Only the thread that
 * holds the object reads it (release, to find the node), so it may be
 * freed together with the object. Its size keeps the object aligned for
 * max_align_t. */
typedef struct obj_header {
    alignas(max_align_t) crew_objpool_node *node;
} obj_header;

/* Statistics of one cache, or of the shared path. reused and kept are
 * counted on the fast paths; idle = kept - reused over all sets. */
typedef struct counters {
    _Atomic uint64_t created, reused, freed, kept;
} counters;

/* A cache of idle objects: one slot's, or one thread's. Its array and
 * counts are written only by the thread using it (the slot's user, or the
 * owner), so plain accesses; the counters are atomic only because
 * stats_get reads them. */
typedef struct cache {
    alignas(CACHE_LINE) unsigned count;
    /* Bounded pools: units of idle_reserved this cache holds, >= count;
     * the difference is credit for releases to come. */
    unsigned reserved;
    crew_objpool_node *items[CACHE_CAP]; /* [0, count): idle, newest last */
    counters stats;
    /* Thread caches only: the next one on the pool's registry (written
     * before the cache is published, never again), and the id of the
     * thread that owns it now, 0 when free: set by the thread that claims
     * it (a CAS from 0, or at publication), cleared by its owner when it
     * ends (after giving back its objects). */
    struct cache *next;
    _Atomic uint64_t owner;
} cache;

/* How a kind of cache (slots, or threads) is sized; fixed at create. */
typedef struct cache_policy {
    unsigned cap;        /* objects held at most: even, 2 .. CACHE_CAP */
    unsigned batch;      /* bounded pools: units reserved at once */
    unsigned credit_max; /* unused units above which some go back */
} cache_policy;

typedef struct slab {
    struct slab *next;
    crew_objpool_node nodes[SLAB_NODES];
} slab;

struct crew_objpool {
    /* The shared stack of idle objects, alone on its line: the word every
     * shared-path acquire and release fights for. */
    alignas(CACHE_LINE) crew_treiber free;

    /* Written by every shared-path operation too (and idle_reserved by
     * bounded pools' batches), so off the head's line and off the
     * read-only configuration's. Putting them on the head's line was
     * measured: no faster, with one thread or two. */
    alignas(CACHE_LINE) _Atomic size_t idle_reserved; /* bounded pools only */
    counters shared;
    /* Idle objects that validate rejected (finalized, counted in freed
     * too): they left the idle set without being reused. */
    _Atomic uint64_t rejected;

    /* max_live pools only: the objects alive; `sleep`, two counts in one
     * word: sleepers (low 32 bits: acquirers between announcing a sleep
     * and getting up) and tokens (high 32 bits: wakes sent whose sleeper
     * has not got up yet); and the futex word sleepers wait on (bumped by
     * a waker before it wakes one). Read by every release of such a pool,
     * written when objects are built or freed and by sleepers. */
    alignas(CACHE_LINE) _Atomic size_t live;
    _Atomic uint64_t sleep;
    _Atomic uint32_t event;

    /* Written when objects are built or freed, or a thread cache made. */
    alignas(CACHE_LINE) crew_treiber spare; /* nodes without an object */
    _Atomic(slab *) slabs;
    _Atomic(cache *) thread_caches; /* the registry: push-only */
    _Atomic unsigned nthread_caches; /* on the registry, at most MAX_THREAD_CACHES */

    /* Read-only after create; the first fields are what the public calls
     * read every time. */
    alignas(CACHE_LINE) uint64_t id; /* unique over the process's life */
    cache_policy thread_policy, slot_policy;
    unsigned nslots;
    cache *slots;
    crew_objpool_config cfg;
    /* The list of live pools (under live_lock): what ending threads walk
     * to give back their caches. */
    struct crew_objpool *live_prev, *live_next;
};

_Static_assert(sizeof(obj_header) % alignof(max_align_t) == 0,
               "objects stay aligned for max_align_t");
_Static_assert(CACHE_CAP % 2 == 0, "caches spill and refill halves");

static inline void *object_of(crew_objpool_node *n)
{
    return n->obj;
}

static inline crew_objpool_node *node_of(void *obj)
{
    return ((obj_header *)obj - 1)->node;
}

/* Several threads may update these (the shared set, or any set on the
 * slow paths). Relaxed: a count orders nothing; it is exact once the pool
 * is quiet because every increment is one atomic read-modify-write. */
static inline void count_any(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* A cache's fast paths: one writer, so a plain add (no locked
 * instruction). Relaxed: stats_get needs untorn values, nothing more. */
static inline void count_owner(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* ---- max_idle ---- */

/* 1 when the object being released may stay idle. Bounded pools reserve
 * one unit of idle_reserved first; it is never raised past max_idle, so
 * the number of idle objects never exceeds max_idle, at any moment.
 * Relaxed: the count bounds a number and publishes nothing; the object's
 * hand-over is ordered by the stack's CAS. The reservation is sequenced
 * before the push that makes the object idle; the push's CAS (a release)
 * is read by the popper's CAS (an acquire), which is sequenced before the
 * popper's idle_leave: so the reservation happens before that decrement,
 * and comes before it in the count's modification order (docs/pool.md). */
static inline int idle_reserve(crew_objpool *p)
{
    size_t max = p->cfg.max_idle;
    if (max == 0)
        return 1;
    size_t cur = atomic_load_explicit(&p->idle_reserved, memory_order_relaxed);
    while (cur < max) {
        if (atomic_compare_exchange_weak_explicit(&p->idle_reserved, &cur,
                                                  cur + 1, memory_order_relaxed,
                                                  memory_order_relaxed))
            return 1;
    }
    return 0;
}

/* An idle object was taken (after the pop, so the count stays an upper
 * bound). Relaxed, as idle_reserve. */
static inline void idle_leave(crew_objpool *p)
{
    if (p->cfg.max_idle != 0)
        atomic_fetch_sub_explicit(&p->idle_reserved, 1, memory_order_relaxed);
}

/* ---- objpool.c ---- */

/* A new object for the caller, or NULL with errno. Not max_live's unit:
 * the shared path takes it before and gives it back on failure. */
void *crew_objpool_build_object(crew_objpool *p, counters *stats);
/* Finalizes and frees n's object (destroy, drains). */
void crew_objpool_free_object(crew_objpool *p, crew_objpool_node *n);
/* Release past max_idle, or validate said no: free the object now (its
 * max_live unit goes back, and a sleeping acquirer is woken); its node
 * becomes a spare. */
void crew_objpool_discard_object(crew_objpool *p, crew_objpool_node *n, counters *stats);
/* n was just taken from the idle set and validate is set: 1 when validate
 * accepts it; otherwise n's object is discarded and 0. */
int crew_objpool_validate(crew_objpool *p, crew_objpool_node *n, counters *stats);
/* The shared path. abstime: NULL waits as long as it takes (max_live
 * pools only ever wait); else NULL + ETIMEDOUT at that CLOCK_REALTIME. */
void *crew_objpool_shared_acquire_until(crew_objpool *p,
                                        const struct timespec *abstime);
static inline void *crew_objpool_shared_acquire(crew_objpool *p)
{
    return crew_objpool_shared_acquire_until(p, NULL);
}
void crew_objpool_shared_release(crew_objpool *p, void *obj);

/* ---- caches.c ---- */

void crew_objpool_counters_init(counters *c);
void crew_objpool_cache_init(cache *c);
/* Finalizes and frees every object the cache holds (destroy). */
void crew_objpool_cache_drain(crew_objpool *p, cache *c);
/* The list of live pools, which ending threads walk to give their caches
 * back: create adds the pool, destroy removes it first thing. */
void crew_objpool_live_add(crew_objpool *p);
void crew_objpool_live_remove(crew_objpool *p);

#endif
