/*
 * The object pool: idle objects on a lock-free Treiber stack (treiber.h),
 * behind small caches: one per calling thread for the public calls, and
 * optionally one per slot for crew's scheduler. docs/pool.md has the
 * design and the safety argument; the comments here give the one sentence
 * that matters.
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
 *     most MAX_THREAD_CACHES of them; thread caches, like slabs, are freed
 *     only by destroy.
 *   - Bounded pools (max_idle > 0): idle_reserved <= max_idle, and
 *     idle_reserved = (objects on the free stack) + (every cache's
 *     `reserved`), where a cache's reserved >= its cached objects; so the
 *     idle objects never exceed max_idle. A release reserves before it
 *     makes an object idle; an acquire gives the unit back (or, at a
 *     cache, keeps it as credit) only after it has taken the object.
 */
#include "pool/objpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
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
    MAX_THREAD_CACHES = 64,
};

/* In front of every object, in the same allocation. Only the thread that
 * holds the object reads it (release, to find the node), so it may be
 * freed together with the object. Its size keeps the object aligned for
 * max_align_t. */
typedef struct obj_header {
    alignas(max_align_t) crew_pool_node *node;
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
    crew_pool_node *items[CACHE_CAP]; /* [0, count): idle, newest last */
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
    crew_pool_node nodes[SLAB_NODES];
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

static inline void *object_of(crew_pool_node *n)
{
    return n->obj;
}

static inline crew_pool_node *node_of(void *obj)
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
 * hand-over is ordered by the stack's CAS. The reservation comes before
 * the push that makes the object idle in program order, and both the
 * reservation and the CAS are locked instructions, which x86-64 executes
 * in one total order: nobody can pop the object before it is counted. */
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

/* ---- building and freeing objects (slow paths) ---- */

/* A node without an object: from the spare stack, or from a new slab whose
 * other nodes go to the spare stack. NULL when out of memory. */
static crew_pool_node *node_take(crew_objpool *p)
{
    crew_pool_node *n = crew_treiber_pop(&p->spare);
    if (n != NULL)
        return n;
    slab *s = crew_malloc(sizeof(*s));
    if (s == NULL)
        return NULL;
    for (int i = 0; i < SLAB_NODES; i++) {
        atomic_init(&s->nodes[i].next,
                    i + 1 < SLAB_NODES ? &s->nodes[i + 1] : NULL);
        s->nodes[i].obj = NULL;
    }
    /* Relaxed: the list is only read by destroy, which runs after every
     * other call on the pool has returned (the caller orders that). The
     * CAS only has to keep concurrent links from losing each other. */
    slab *head = atomic_load_explicit(&p->slabs, memory_order_relaxed);
    do
        s->next = head;
    while (!atomic_compare_exchange_weak_explicit(
        &p->slabs, &head, s, memory_order_relaxed, memory_order_relaxed));
    crew_treiber_push_chain(&p->spare, &s->nodes[1], &s->nodes[SLAB_NODES - 1]);
    return &s->nodes[0];
}

/* A new object for the caller, or NULL with errno. */
static void *object_create(crew_objpool *p, counters *stats)
{
    crew_pool_node *n = node_take(p);
    if (n == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    obj_header *h = crew_malloc(sizeof(*h) + p->cfg.obj_size);
    if (h == NULL) {
        crew_treiber_push(&p->spare, n);
        errno = ENOMEM;
        return NULL;
    }
    void *obj = h + 1;
    if (p->cfg.init != NULL) {
        int rc = p->cfg.init(obj, p->cfg.ctx);
        if (rc != 0) {
            free(h);
            crew_treiber_push(&p->spare, n);
            errno = rc;
            return NULL;
        }
    }
    h->node = n;
    n->obj = obj;
    count_any(&stats->created);
    return obj;
}

/* Finalizes and frees n's object. */
static void object_free(crew_objpool *p, crew_pool_node *n)
{
    void *obj = object_of(n);
    if (p->cfg.fini != NULL)
        p->cfg.fini(obj, p->cfg.ctx);
    free((obj_header *)obj - 1);
    n->obj = NULL;
}

/* Release past max_idle: free the object now; its node becomes a spare.
 * The node itself stays in its slab, so a pop that still holds a stale
 * pointer to it reads valid memory. */
static void object_discard(crew_objpool *p, crew_pool_node *n, counters *stats)
{
    object_free(p, n);
    crew_treiber_push(&p->spare, n);
    count_any(&stats->freed);
}

/* ---- the shared path ---- */

static void *acquire_shared(crew_objpool *p)
{
    crew_pool_node *n = crew_treiber_pop(&p->free);
    if (n == NULL)
        return object_create(p, &p->shared);
    idle_leave(p);
    count_any(&p->shared.reused);
    return object_of(n);
}

static void release_shared(crew_objpool *p, void *obj)
{
    crew_pool_node *n = node_of(obj);
    if (!idle_reserve(p)) {
        object_discard(p, n, &p->shared);
        return;
    }
    if (p->cfg.reset != NULL)
        p->cfg.reset(obj, p->cfg.ctx);
    crew_treiber_push(&p->free, n);
    count_any(&p->shared.kept);
}

/* ---- caches (slots and threads alike) ---- */

/*
 * max_idle at a cache. One shared reservation per operation would cost the
 * cache its point (measured at slots: 3x slower with one thread, 30x with
 * two), so a cache takes idle units in batches of pol->batch and keeps the
 * unused ones as credit. Idle objects still never exceed max_idle (every
 * idle object holds a unit). The price: a release at a cache frees its
 * object when this cache has no credit and no unit is left, even though
 * other caches may hold unused credit; that credit is at most
 * pol->credit_max per cache (create sizes it, docs/pool.md). With a batch
 * of 1 (max_idle small) there is no credit and a cache is exact, like the
 * shared path.
 */
static inline int cache_reserve(crew_objpool *p, cache *c,
                                const cache_policy *pol)
{
    size_t max = p->cfg.max_idle;
    if (max == 0 || c->reserved > c->count)
        return 1;
    /* Relaxed, as idle_reserve. */
    size_t cur = atomic_load_explicit(&p->idle_reserved, memory_order_relaxed);
    while (cur < max) {
        size_t take = max - cur < pol->batch ? max - cur : pol->batch;
        if (atomic_compare_exchange_weak_explicit(
                &p->idle_reserved, &cur, cur + take, memory_order_relaxed,
                memory_order_relaxed)) {
            c->reserved += (unsigned)take;
            return 1;
        }
    }
    return 0;
}

/* An object left the cache: its unit stays as credit, unless the credit
 * passes credit_max; then all but one batch goes back. Relaxed, as
 * idle_leave. */
static inline void cache_leave(crew_objpool *p, cache *c,
                               const cache_policy *pol)
{
    if (p->cfg.max_idle == 0)
        return;
    unsigned credit = c->reserved - c->count;
    if (credit > pol->credit_max) {
        unsigned give = credit - (pol->batch > 1 ? pol->batch : 0);
        c->reserved -= give;
        atomic_fetch_sub_explicit(&p->idle_reserved, give,
                                  memory_order_relaxed);
    }
}

/* Cache empty: move up to half a cache of idle objects from the shared
 * stack. They stay idle; in bounded pools their units come with them. */
static void cache_refill(crew_objpool *p, cache *c, const cache_policy *pol)
{
    unsigned before = c->count;
    while (c->count < pol->cap / 2) {
        crew_pool_node *n = crew_treiber_pop(&p->free);
        if (n == NULL)
            break;
        c->items[c->count++] = n;
    }
    if (p->cfg.max_idle != 0)
        c->reserved += c->count - before;
}

/* Cache full: link its older half into a chain and push it with one CAS;
 * the newer half (most likely still in this core's cache) stays. */
static void cache_spill(crew_objpool *p, cache *c, const cache_policy *pol)
{
    const unsigned half = pol->cap / 2;
    for (unsigned i = 0; i + 1 < half; i++)
        /* Relaxed: the chain is ours until the push's CAS publishes it. */
        atomic_store_explicit(&c->items[i]->next, c->items[i + 1],
                              memory_order_relaxed);
    crew_treiber_push_chain(&p->free, c->items[0], c->items[half - 1]);
    memmove(c->items, c->items + half, (c->count - half) * sizeof(c->items[0]));
    c->count -= half;
    if (p->cfg.max_idle != 0)
        c->reserved -= half; /* the units stay with the objects */
}

static inline void *cache_acquire(crew_objpool *p, cache *c,
                                  const cache_policy *pol)
{
    if (c->count == 0)
        cache_refill(p, c, pol);
    if (c->count == 0)
        return object_create(p, &c->stats);
    crew_pool_node *n = c->items[--c->count];
    cache_leave(p, c, pol);
    count_owner(&c->stats.reused);
    return object_of(n);
}

static inline void cache_release(crew_objpool *p, cache *c,
                                 const cache_policy *pol, void *obj)
{
    crew_pool_node *n = node_of(obj);
    if (!cache_reserve(p, c, pol)) {
        object_discard(p, n, &c->stats);
        return;
    }
    if (p->cfg.reset != NULL) {
        /* reset may use this pool itself, from this thread and so this
         * very cache: while it runs, obj's unit is kept off the cache's
         * books, so that nothing done in there can hand it back. */
        unsigned unit = p->cfg.max_idle != 0;
        c->reserved -= unit;
        p->cfg.reset(obj, p->cfg.ctx);
        c->reserved += unit;
    }
    if (c->count == pol->cap)
        cache_spill(p, c, pol);
    c->items[c->count++] = n;
    count_owner(&c->stats.kept);
}

static void counters_init(counters *c)
{
    atomic_init(&c->created, 0);
    atomic_init(&c->reused, 0);
    atomic_init(&c->freed, 0);
    atomic_init(&c->kept, 0);
}

static void cache_init(cache *c)
{
    c->count = 0;
    c->reserved = 0;
    counters_init(&c->stats);
    c->next = NULL;
    atomic_init(&c->owner, 0);
}

/* Finalizes and frees every object the cache holds (destroy). */
static void cache_drain(crew_objpool *p, cache *c)
{
    while (c->count > 0)
        object_free(p, c->items[--c->count]);
}

/* ---- the slot caches ---- */

void *crew_objpool_acquire_at(crew_objpool *p, unsigned slot)
{
    if (p == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (slot >= p->nslots)
        return acquire_shared(p);
    return cache_acquire(p, &p->slots[slot], &p->slot_policy);
}

void crew_objpool_release_at(crew_objpool *p, unsigned slot, void *obj)
{
    if (p == NULL || obj == NULL)
        return;
    if (slot >= p->nslots) {
        release_shared(p, obj);
        return;
    }
    cache_release(p, &p->slots[slot], &p->slot_policy, obj);
}

/* ---- the thread caches ----
 *
 * A thread finds its cache of a pool through a small table of its own,
 * keyed by the pool's address AND its id, and touches a cache or a pool on
 * its own initiative only in two places: inside a call on that pool, which
 * the caller guarantees is alive, and when it ends (thread_exit), under
 * live_lock and only for pools still on the list of live pools. A stale
 * table entry (its pool destroyed) is never dereferenced: a pool created
 * later, even at the same address, has another id. */

typedef struct table_entry {
    const crew_objpool *pool; /* compared, never dereferenced */
    uint64_t id;
    cache *cache; /* NULL: the pool had no cache to spare (shared path) */
} table_entry;

/* Most recently used first. */
static _Thread_local table_entry thread_table[THREAD_TABLE];
/* This thread's id for cache ownership; 0 until it first needs one. */
static _Thread_local uint64_t thread_self;

/* Relaxed, both: each only has to hand out distinct numbers. Never 0. */
static _Atomic uint64_t next_thread_id = 1;
static _Atomic uint64_t next_pool_id = 1;

/* The live pools. The lock is taken by create, destroy and a thread that
 * ends having owned a cache: never on an acquire or release. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static crew_objpool *live_pools;

/* The key whose destructor gives an ending thread's caches back; its value
 * is the thread's id, set when the thread first owns a cache. */
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int exit_key_made;

/* Empties a cache its owner is giving up: its objects go to the shared
 * stack with their idle units, and its leftover credit goes back. */
static void cache_flush(crew_objpool *p, cache *c)
{
    if (c->count > 0) {
        for (unsigned i = 0; i + 1 < c->count; i++)
            /* Relaxed: the chain is ours until the push's CAS publishes it. */
            atomic_store_explicit(&c->items[i]->next, c->items[i + 1],
                                  memory_order_relaxed);
        crew_treiber_push_chain(&p->free, c->items[0], c->items[c->count - 1]);
    }
    if (p->cfg.max_idle != 0) {
        unsigned credit = c->reserved - c->count;
        c->reserved = 0;
        if (credit > 0)
            /* Relaxed, as idle_leave. */
            atomic_fetch_sub_explicit(&p->idle_reserved, credit, memory_order_relaxed);
    }
    c->count = 0;
}

/* The key's destructor: the thread `arg` names is ending. Every live pool
 * on which it owns a cache gets the cache back, empty. Holding live_lock
 * keeps each pool from being destroyed meanwhile (destroy unlists the pool
 * under the lock first); the shared stack and the counters are safe to
 * use concurrently with the pool's other users. */
static void thread_exit(void *arg)
{
    uint64_t self = (uint64_t)(uintptr_t)arg;
    pthread_mutex_lock(&live_lock);
    for (crew_objpool *p = live_pools; p != NULL; p = p->live_next) {
        /* Acquire: pairs with the release CAS that published each cache. */
        for (cache *c = atomic_load_explicit(&p->thread_caches, memory_order_acquire);
             c != NULL; c = c->next) {
            /* Relaxed: only this thread ever stored `self` here. */
            if (atomic_load_explicit(&c->owner, memory_order_relaxed) != self)
                continue;
            cache_flush(p, c);
            /* Release: the next owner's claim (acquire) sees the cache as
             * we leave it, and our last counter updates. */
            atomic_store_explicit(&c->owner, 0, memory_order_release);
        }
    }
    pthread_mutex_unlock(&live_lock);
}

static void make_exit_key(void)
{
    exit_key_made = pthread_key_create(&exit_key, thread_exit) == 0;
}

/* When the library is unloaded (or the process exits), no thread may run
 * thread_exit's code any more. */
__attribute__((destructor)) static void delete_exit_key(void)
{
    if (exit_key_made)
        pthread_key_delete(exit_key);
}

/* Once per thread, before it first owns a cache: ask to be told when it
 * ends. 0, or -1 when that cannot be arranged (the thread then uses the
 * shared stack, so that no cache is ever stranded). */
static int arm_thread_exit(void)
{
    static _Thread_local int armed;
    if (armed)
        return 0;
    pthread_once(&exit_key_once, make_exit_key);
    if (!exit_key_made || pthread_setspecific(exit_key, (void *)(uintptr_t)thread_self) != 0)
        return -1;
    armed = 1;
    return 0;
}

/* The calling thread's cache of p: its own (the table had forgotten it), a
 * free one claimed, or a new one; NULL when the pool has made all the
 * caches it may (*full set) or out of memory. */
static cache *thread_cache_take(crew_objpool *p, int *full)
{
    *full = 0;
    if (thread_self == 0)
        thread_self =
            atomic_fetch_add_explicit(&next_thread_id, 1, memory_order_relaxed);
    if (arm_thread_exit() != 0)
        return NULL;
    /* Acquire: pairs with the release CAS that published each cache, so
     * its link read below is the one written before. */
    cache *head = atomic_load_explicit(&p->thread_caches, memory_order_acquire);
    for (cache *c = head; c != NULL; c = c->next)
        /* Relaxed: an owner of ours was stored by this very thread. */
        if (atomic_load_explicit(&c->owner, memory_order_relaxed) == thread_self)
            return c;
    for (cache *c = head; c != NULL; c = c->next) {
        uint64_t free_owner = 0;
        /* The load only skips owned caches. Acquire on the claiming CAS:
         * pairs with the ending owner's release, so the cache (emptied)
         * and its counters are seen as that owner left them. */
        if (atomic_load_explicit(&c->owner, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&c->owner, &free_owner, thread_self,
                                                    memory_order_acquire,
                                                    memory_order_relaxed))
            return c;
    }
    /* Relaxed: a bound on a number, no data published through it. */
    unsigned n = atomic_fetch_add_explicit(&p->nthread_caches, 1, memory_order_relaxed);
    if (n >= MAX_THREAD_CACHES) {
        atomic_fetch_sub_explicit(&p->nthread_caches, 1, memory_order_relaxed);
        *full = 1;
        return NULL;
    }
    int saved = errno;
    cache *c = crew_aligned_alloc(CACHE_LINE, sizeof(*c));
    if (c == NULL) {
        atomic_fetch_sub_explicit(&p->nthread_caches, 1, memory_order_relaxed);
        errno = saved; /* the caller falls back on the shared stack */
        return NULL;
    }
    cache_init(c);
    atomic_init(&c->owner, thread_self);
    /* Release: publishes the fields above to whoever walks the registry.
     * Acquire on failure: the new head's own fields, for the next try's
     * link (and every walker gets them through the chain of releases). */
    do
        c->next = head;
    while (!atomic_compare_exchange_weak_explicit(&p->thread_caches, &head, c,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire));
    return c;
}

/* The table did not have p first: look further, then on the registry;
 * either way p's entry moves to the front (the least recently used entry
 * falls off the end, its cache staying ours on its pool's registry). A
 * pool with no cache to spare is remembered as such (NULL: the shared
 * path) until its entry falls off; an allocation failure is not, and the
 * next call tries again. Kept out of line: inlined, it made every public
 * call save six registers. */
__attribute__((noinline)) static cache *thread_cache_slow(crew_objpool *p)
{
    table_entry *t = thread_table;
    table_entry found;
    unsigned i = 1;
    while (i < THREAD_TABLE && !(t[i].pool == p && t[i].id == p->id))
        i++;
    if (i < THREAD_TABLE) {
        found = t[i];
    } else {
        int full;
        i = THREAD_TABLE - 1;
        found.pool = p;
        found.id = p->id;
        found.cache = thread_cache_take(p, &full);
        if (found.cache == NULL && !full)
            return NULL;
    }
    memmove(&t[1], &t[0], i * sizeof(t[0]));
    t[0] = found;
    return found.cache;
}

/* The calling thread's cache of p, or NULL (the shared path). The common
 * case is two compares: p was the last pool this thread used. */
static inline cache *thread_cache(crew_objpool *p)
{
    const table_entry *e = &thread_table[0];
    if (e->pool == p && e->id == p->id)
        return e->cache;
    return thread_cache_slow(p);
}

/* ---- the public calls ---- */

/* Units a cache takes at once: max_idle / divisor, 1 .. cap / 2. */
static cache_policy policy_for(size_t max_idle, size_t divisor, unsigned cap)
{
    size_t batch = divisor > 0 ? max_idle / divisor : 1;
    batch = batch < 1 ? 1 : batch > cap / 2 ? cap / 2 : batch;
    cache_policy pol = {
        .cap = cap,
        .batch = (unsigned)batch,
        .credit_max = batch > 1 ? 2 * (unsigned)batch : 0,
    };
    return pol;
}

crew_objpool *crew_objpool_create_slots(const crew_objpool_config *cfg,
                                        unsigned nslots)
{
    /* The object's size plus its header must not overflow anywhere. */
    if (cfg == NULL || cfg->obj_size == 0 ||
        cfg->obj_size > PTRDIFF_MAX - sizeof(obj_header) - CACHE_LINE ||
        nslots > CREW_OBJPOOL_MAX_SLOTS) {
        errno = EINVAL;
        return NULL;
    }
    crew_objpool *p = crew_aligned_alloc(CACHE_LINE, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->slots = NULL;
    if (nslots > 0) {
        p->slots = crew_aligned_alloc(CACHE_LINE, nslots * sizeof(cache));
        if (p->slots == NULL) {
            free(p);
            errno = ENOMEM;
            return NULL;
        }
        for (unsigned i = 0; i < nslots; i++)
            cache_init(&p->slots[i]);
    }
    crew_treiber_init(&p->free);
    atomic_init(&p->idle_reserved, 0);
    counters_init(&p->shared);
    crew_treiber_init(&p->spare);
    atomic_init(&p->slabs, NULL);
    atomic_init(&p->thread_caches, NULL);
    atomic_init(&p->nthread_caches, 0);
    p->id = atomic_fetch_add_explicit(&next_pool_id, 1, memory_order_relaxed);
    p->cfg = *cfg;
    p->nslots = nslots;
    /* Slots: batches small enough that all slots' credit (at most 2
     * batches each) stays within half of max_idle; 1 means exact slots. */
    p->slot_policy = policy_for(cfg->max_idle, 4 * (size_t)nslots, CACHE_CAP);
    /* Threads: their number is unknown, so the batch is sized for 16
     * holding credit at once (max_idle / 64); below max_idle 128 it is 1
     * and thread caches are exact. The capacity keeps a full cache near
     * THREAD_CACHE_BYTES. */
    size_t fit = THREAD_CACHE_BYTES / (cfg->obj_size + sizeof(obj_header));
    unsigned cap = fit < 2 ? 2 : fit > CACHE_CAP ? CACHE_CAP : (unsigned)fit;
    p->thread_policy = policy_for(cfg->max_idle, 64, cap & ~1u);
    pthread_mutex_lock(&live_lock);
    p->live_prev = NULL;
    p->live_next = live_pools;
    if (live_pools != NULL)
        live_pools->live_prev = p;
    live_pools = p;
    pthread_mutex_unlock(&live_lock);
    return p;
}

crew_objpool *crew_objpool_create(const crew_objpool_config *cfg)
{
    return crew_objpool_create_slots(cfg, 0);
}

void *crew_objpool_acquire(crew_objpool *p)
{
    if (p == NULL) {
        errno = EINVAL;
        return NULL;
    }
    cache *c = thread_cache(p);
    if (c == NULL)
        return acquire_shared(p);
    return cache_acquire(p, c, &p->thread_policy);
}

void crew_objpool_release(crew_objpool *p, void *obj)
{
    if (p == NULL || obj == NULL)
        return;
    cache *c = thread_cache(p);
    if (c == NULL) {
        release_shared(p, obj);
        return;
    }
    cache_release(p, c, &p->thread_policy, obj);
}

void crew_objpool_destroy(crew_objpool *p)
{
    if (p == NULL)
        return;
    /* Off the list first: from here no ending thread touches this pool. */
    pthread_mutex_lock(&live_lock);
    if (p->live_prev != NULL)
        p->live_prev->live_next = p->live_next;
    else
        live_pools = p->live_next;
    if (p->live_next != NULL)
        p->live_next->live_prev = p->live_prev;
    pthread_mutex_unlock(&live_lock);
    for (unsigned i = 0; i < p->nslots; i++)
        cache_drain(p, &p->slots[i]);
    /* Relaxed: nobody else uses the pool any more (the caller orders
     * every call before this one); that includes the owners of these
     * caches, running or long gone. */
    cache *c = atomic_load_explicit(&p->thread_caches, memory_order_relaxed);
    while (c != NULL) {
        cache *next = c->next;
        cache_drain(p, c);
        free(c);
        c = next;
    }
    crew_pool_node *n;
    while ((n = crew_treiber_pop(&p->free)) != NULL)
        object_free(p, n);
    /* Relaxed: see node_take. */
    slab *s = atomic_load_explicit(&p->slabs, memory_order_relaxed);
    while (s != NULL) {
        slab *next = s->next;
        free(s);
        s = next;
    }
    free(p->slots);
    free(p);
}

static void counters_add(const counters *c, crew_objpool_stats *out,
                         uint64_t *kept)
{
    /* Relaxed: a statistic; exact once no call is in flight (the caller
     * orders that, e.g. by joining the threads that used the pool). */
    out->created += atomic_load_explicit(&c->created, memory_order_relaxed);
    out->reused += atomic_load_explicit(&c->reused, memory_order_relaxed);
    out->freed += atomic_load_explicit(&c->freed, memory_order_relaxed);
    *kept += atomic_load_explicit(&c->kept, memory_order_relaxed);
}

void crew_objpool_stats_get(const crew_objpool *p, crew_objpool_stats *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    if (p == NULL)
        return;
    uint64_t kept = 0;
    counters_add(&p->shared, out, &kept);
    for (unsigned i = 0; i < p->nslots; i++)
        counters_add(&p->slots[i].stats, out, &kept);
    /* Acquire: as in thread_cache_take; caches are freed only by destroy. */
    for (const cache *c =
             atomic_load_explicit(&p->thread_caches, memory_order_acquire);
         c != NULL; c = c->next)
        counters_add(&c->stats, out, &kept);
    /* Between calls in flight the difference may be momentarily off;
     * never report a negative count. */
    out->idle = kept > out->reused ? kept - out->reused : 0;
}

unsigned crew_objpool_thread_caches(const crew_objpool *p)
{
    unsigned n = 0;
    if (p == NULL)
        return 0;
    /* Acquire: as in stats_get. */
    for (const cache *c =
             atomic_load_explicit(&p->thread_caches, memory_order_acquire);
         c != NULL; c = c->next)
        n++;
    return n;
}
