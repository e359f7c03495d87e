/*
 * The object pool's caches: small arrays of idle objects in front of the
 * shared stack, used without atomic operations by one thread at a time.
 * Slot caches serve crew's scheduler (one per worker); thread caches serve
 * the public acquire and release (one per calling thread, given back when
 * the thread ends). objpool_impl.h has the layout and the invariants;
 * docs/pool.md the design.
 */
#include "pool/objpool_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

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
        crew_objpool_node *n = crew_treiber_pop(&p->free);
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

/* Takes the cache's newest object off its books (the caller has checked
 * that it has one). */
static inline crew_objpool_node *cache_take(crew_objpool *p, cache *c,
                                            const cache_policy *pol)
{
    crew_objpool_node *n = c->items[--c->count];
    cache_leave(p, c, pol);
    return n;
}

/* cache_acquire for pools with validate, from its first idle object n on:
 * out of line, so that the fast path of the others (a tail call away)
 * saves no more registers than it did before validate existed. validate
 * may use this pool, and so this cache, from this thread: n is off the
 * cache's books already, and the count is read again after it. */
__attribute__((noinline)) static void *cache_acquire_validated(
    crew_objpool *p, cache *c, const cache_policy *pol, crew_objpool_node *n)
{
    while (!crew_objpool_validate(p, n, &c->stats)) {
        if (c->count == 0)
            cache_refill(p, c, pol);
        if (c->count == 0)
            return crew_objpool_build_object(p, &c->stats);
        n = cache_take(p, c, pol);
    }
    count_owner(&c->stats.reused);
    return object_of(n);
}

/* cache_acquire on an empty cache: refill it, or build. Out of line for
 * the same reason. */
__attribute__((noinline)) static void *cache_acquire_empty(crew_objpool *p, cache *c,
                                                           const cache_policy *pol)
{
    cache_refill(p, c, pol);
    if (c->count == 0)
        return crew_objpool_build_object(p, &c->stats);
    crew_objpool_node *n = cache_take(p, c, pol);
    if (p->cfg.validate != NULL)
        return cache_acquire_validated(p, c, pol, n);
    count_owner(&c->stats.reused);
    return object_of(n);
}

/* The fast path: a cached object, no call but tail calls to the two out-
 * of-line cases above. */
static inline void *cache_acquire(crew_objpool *p, cache *c,
                                  const cache_policy *pol)
{
    if (__builtin_expect(c->count == 0, 0))
        return cache_acquire_empty(p, c, pol);
    crew_objpool_node *n = cache_take(p, c, pol);
    if (__builtin_expect(p->cfg.validate != NULL, 0))
        return cache_acquire_validated(p, c, pol, n);
    count_owner(&c->stats.reused);
    return object_of(n);
}

static inline void cache_release(crew_objpool *p, cache *c,
                                 const cache_policy *pol, void *obj)
{
    crew_objpool_node *n = node_of(obj);
    if (!cache_reserve(p, c, pol)) {
        crew_objpool_discard_object(p, n, &c->stats);
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

void crew_objpool_counters_init(counters *c)
{
    atomic_init(&c->created, 0);
    atomic_init(&c->reused, 0);
    atomic_init(&c->freed, 0);
    atomic_init(&c->kept, 0);
}

void crew_objpool_cache_init(cache *c)
{
    c->count = 0;
    c->reserved = 0;
    crew_objpool_counters_init(&c->stats);
    c->next = NULL;
    atomic_init(&c->owner, 0);
}

void crew_objpool_cache_drain(crew_objpool *p, cache *c)
{
    while (c->count > 0)
        crew_objpool_free_object(p, c->items[--c->count]);
}

/* ---- the slot caches ---- */

void *crew_objpool_acquire_at(crew_objpool *p, unsigned slot)
{
    if (p == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (slot >= p->nslots)
        return crew_objpool_shared_acquire(p);
    return cache_acquire(p, &p->slots[slot], &p->slot_policy);
}

void crew_objpool_release_at(crew_objpool *p, unsigned slot, void *obj)
{
    if (p == NULL || obj == NULL)
        return;
    if (slot >= p->nslots) {
        crew_objpool_shared_release(p, obj);
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

/* Relaxed: it only has to hand out distinct numbers. Never 0. */
static _Atomic uint64_t next_thread_id = 1;

/* The live pools. The lock is taken by create, destroy and a thread that
 * ends having owned a cache: never on an acquire or release. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static crew_objpool *live_pools;

void crew_objpool_live_add(crew_objpool *p)
{
    pthread_mutex_lock(&live_lock);
    p->live_prev = NULL;
    p->live_next = live_pools;
    if (live_pools != NULL)
        live_pools->live_prev = p;
    live_pools = p;
    pthread_mutex_unlock(&live_lock);
}

void crew_objpool_live_remove(crew_objpool *p)
{
    pthread_mutex_lock(&live_lock);
    if (p->live_prev != NULL)
        p->live_prev->live_next = p->live_next;
    else
        live_pools = p->live_next;
    if (p->live_next != NULL)
        p->live_next->live_prev = p->live_prev;
    pthread_mutex_unlock(&live_lock);
}

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
    /* max_live pools keep every idle object on the shared stack, where
     * any waiter finds it: no thread caches (remembered in the table, so
     * the next calls go there straight). */
    if (p->cfg.max_live != 0) {
        *full = 1;
        return NULL;
    }
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
    if (n >= OBJPOOL_MAX_THREAD_CACHES) {
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
    crew_objpool_cache_init(c);
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

void *crew_objpool_acquire_timed(crew_objpool *p, const struct timespec *abstime)
{
    if (p == NULL ||
        (abstime != NULL && (abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000L))) {
        errno = EINVAL;
        return NULL;
    }
    /* Only max_live pools ever wait; their calls all take the shared
     * path (no thread caches). */
    if (abstime == NULL || p->cfg.max_live == 0)
        return crew_objpool_acquire(p);
    return crew_objpool_shared_acquire_until(p, abstime);
}

void *crew_objpool_acquire(crew_objpool *p)
{
    if (p == NULL) {
        errno = EINVAL;
        return NULL;
    }
    cache *c = thread_cache(p);
    if (c == NULL)
        return crew_objpool_shared_acquire(p);
    return cache_acquire(p, c, &p->thread_policy);
}

void crew_objpool_release(crew_objpool *p, void *obj)
{
    if (p == NULL || obj == NULL)
        return;
    cache *c = thread_cache(p);
    if (c == NULL) {
        crew_objpool_shared_release(p, obj);
        return;
    }
    cache_release(p, c, &p->thread_policy, obj);
}

