/*
 * The object pool: idle objects on a lock-free Treiber stack (treiber.h),
 * optionally behind per-slot caches. docs/pool.md has the design and the
 * safety argument; the comments here give the one sentence that matters.
 *
 * Invariants:
 *   - Every object has one node for its whole life (its header points to
 *     it). Nodes come from slabs the pool owns and are freed only by
 *     destroy, so a pop that reads `next` of a node someone else has just
 *     taken reads pool memory, never freed memory.
 *   - An object is in exactly one place: held by a caller, on the free
 *     stack, or in one slot's cache. A node without an object is on the
 *     spare stack or held by a thread building or discarding an object.
 *   - Bounded pools (max_idle > 0): idle_reserved <= max_idle, and
 *     idle_reserved = (objects on the free stack) + (every slot's
 *     `reserved`), where a slot's reserved >= its cached objects; so the
 *     idle objects never exceed max_idle. A release reserves before it
 *     makes an object idle; an acquire gives the unit back (or, at a slot,
 *     keeps it as credit) only after it has taken the object.
 */
#include "pool/objpool.h"

#include <errno.h>
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
    CACHE_CAP = 32,  /* objects one slot's cache holds */
    SLAB_NODES = 64, /* nodes allocated at once */
};

/* In front of every object, in the same allocation. Only the thread that
 * holds the object reads it (release, to find the node), so it may be
 * freed together with the object. Its size keeps the object aligned for
 * max_align_t. */
typedef struct obj_header {
    alignas(max_align_t) crew_pool_node *node;
} obj_header;

/* Statistics of one slot, or of the shared path. reused and kept are
 * counted on the fast paths; idle = kept - reused over all sets. */
typedef struct counters {
    _Atomic uint64_t created, reused, freed, kept;
} counters;

/* One slot's cache: written only by the thread using the slot, so plain
 * accesses; the counters are atomic only because stats_get reads them. */
typedef struct slot_cache {
    alignas(CACHE_LINE) unsigned count;
    /* Bounded pools: units of idle_reserved this slot holds, >= count;
     * the difference is credit for releases to come. */
    unsigned reserved;
    crew_pool_node *items[CACHE_CAP]; /* [0, count): idle, newest last */
    counters stats;
} slot_cache;

typedef struct slab {
    struct slab *next;
    crew_pool_node nodes[SLAB_NODES];
} slab;

struct crew_objpool {
    /* The shared stack of idle objects, alone on its line: the word every
     * shared-path acquire and release fights for. */
    alignas(CACHE_LINE) crew_treiber free;

    /* Written by every shared-path operation too (and idle_reserved by
     * every operation of a bounded pool), so off the head's line and off
     * the read-only configuration's. Putting them on the head's line was
     * measured: no faster, with one thread or two. */
    alignas(CACHE_LINE) _Atomic size_t idle_reserved; /* bounded pools only */
    counters shared;

    /* Written when objects are built or freed. */
    alignas(CACHE_LINE) crew_treiber spare; /* nodes without an object */
    _Atomic(slab *) slabs;

    /* Read-only after create. */
    alignas(CACHE_LINE) crew_objpool_config cfg;
    unsigned nslots;
    slot_cache *slots;
    /* Bounded pools: units a slot takes from idle_reserved at once, and
     * the unused credit above which it gives some back (see slot_reserve). */
    unsigned credit_batch, credit_max;
};

_Static_assert(sizeof(obj_header) % alignof(max_align_t) == 0,
               "objects stay aligned for max_align_t");

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

/* A slot's fast paths: one writer, so a plain add (no locked instruction).
 * Relaxed: stats_get needs untorn values, nothing more. */
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

/* ---- the slot caches ---- */

/*
 * max_idle at a slot. One shared reservation per operation would cost the
 * slot path its point (measured: 3x slower with one thread, 30x with two),
 * so a slot takes idle units in batches of credit_batch and keeps the
 * unused ones as credit. Idle objects still never exceed max_idle (every
 * idle object holds a unit). The price: a release at a slot frees its
 * object when this slot has no credit and no unit is left, even though
 * other slots may hold unused credit; that credit is at most credit_max
 * per slot, and create sizes batches so that all of it is at most half of
 * max_idle. With credit_batch 1 (max_idle small for the slot count) there
 * is no credit and a slot is exact, like the shared path.
 */
static inline int slot_reserve(crew_objpool *p, slot_cache *c)
{
    size_t max = p->cfg.max_idle;
    if (max == 0 || c->reserved > c->count)
        return 1;
    /* Relaxed, as idle_reserve. */
    size_t cur = atomic_load_explicit(&p->idle_reserved, memory_order_relaxed);
    while (cur < max) {
        size_t take = max - cur < p->credit_batch ? max - cur : p->credit_batch;
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
static inline void slot_leave(crew_objpool *p, slot_cache *c)
{
    if (p->cfg.max_idle == 0)
        return;
    unsigned credit = c->reserved - c->count;
    if (credit > p->credit_max) {
        unsigned give = credit - (p->credit_batch > 1 ? p->credit_batch : 0);
        c->reserved -= give;
        atomic_fetch_sub_explicit(&p->idle_reserved, give,
                                  memory_order_relaxed);
    }
}

/* Cache empty: move up to half a cache of idle objects from the shared
 * stack. They stay idle; in bounded pools their units come with them. */
static void cache_refill(crew_objpool *p, slot_cache *c)
{
    unsigned before = c->count;
    while (c->count < CACHE_CAP / 2) {
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
static void cache_spill(crew_objpool *p, slot_cache *c)
{
    const unsigned half = CACHE_CAP / 2;
    for (unsigned i = 0; i + 1 < half; i++)
        /* Relaxed: the chain is ours until the push's CAS publishes it. */
        atomic_store_explicit(&c->items[i]->next, c->items[i + 1],
                              memory_order_relaxed);
    crew_treiber_push_chain(&p->free, c->items[0], c->items[half - 1]);
    memmove(c->items, c->items + half,
            (CACHE_CAP - half) * sizeof(c->items[0]));
    c->count -= half;
    if (p->cfg.max_idle != 0)
        c->reserved -= half; /* the units stay with the objects */
}

void *crew_objpool_acquire_at(crew_objpool *p, unsigned slot)
{
    if (p == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (slot >= p->nslots)
        return acquire_shared(p);
    slot_cache *c = &p->slots[slot];
    if (c->count == 0)
        cache_refill(p, c);
    if (c->count == 0)
        return object_create(p, &c->stats);
    crew_pool_node *n = c->items[--c->count];
    slot_leave(p, c);
    count_owner(&c->stats.reused);
    return object_of(n);
}

void crew_objpool_release_at(crew_objpool *p, unsigned slot, void *obj)
{
    if (p == NULL || obj == NULL)
        return;
    if (slot >= p->nslots) {
        release_shared(p, obj);
        return;
    }
    slot_cache *c = &p->slots[slot];
    crew_pool_node *n = node_of(obj);
    if (!slot_reserve(p, c)) {
        object_discard(p, n, &c->stats);
        return;
    }
    if (p->cfg.reset != NULL)
        p->cfg.reset(obj, p->cfg.ctx);
    if (c->count == CACHE_CAP)
        cache_spill(p, c);
    c->items[c->count++] = n;
    count_owner(&c->stats.kept);
}

/* ---- the public calls ---- */

static void counters_init(counters *c)
{
    atomic_init(&c->created, 0);
    atomic_init(&c->reused, 0);
    atomic_init(&c->freed, 0);
    atomic_init(&c->kept, 0);
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
        p->slots = crew_aligned_alloc(CACHE_LINE, nslots * sizeof(slot_cache));
        if (p->slots == NULL) {
            free(p);
            errno = ENOMEM;
            return NULL;
        }
        for (unsigned i = 0; i < nslots; i++) {
            p->slots[i].count = 0;
            p->slots[i].reserved = 0;
            counters_init(&p->slots[i].stats);
        }
    }
    crew_treiber_init(&p->free);
    atomic_init(&p->idle_reserved, 0);
    counters_init(&p->shared);
    crew_treiber_init(&p->spare);
    atomic_init(&p->slabs, NULL);
    p->cfg = *cfg;
    p->nslots = nslots;
    /* Batches small enough that all slots' credit (at most 2 batches
     * each) stays within half of max_idle; 1 means exact slots. */
    size_t batch = nslots > 0 ? cfg->max_idle / (4 * (size_t)nslots) : 1;
    batch = batch < 1 ? 1 : batch > CACHE_CAP / 2 ? CACHE_CAP / 2 : batch;
    p->credit_batch = (unsigned)batch;
    p->credit_max = batch > 1 ? 2 * (unsigned)batch : 0;
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
    return acquire_shared(p);
}

void crew_objpool_release(crew_objpool *p, void *obj)
{
    if (p == NULL || obj == NULL)
        return;
    release_shared(p, obj);
}

void crew_objpool_destroy(crew_objpool *p)
{
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->nslots; i++) {
        slot_cache *c = &p->slots[i];
        while (c->count > 0)
            object_free(p, c->items[--c->count]);
    }
    crew_pool_node *n;
    while ((n = crew_treiber_pop(&p->free)) != NULL)
        object_free(p, n);
    /* Relaxed: see node_take; nobody else uses the pool any more. */
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
    /* Between calls in flight the difference may be momentarily off;
     * never report a negative count. */
    out->idle = kept > out->reused ? kept - out->reused : 0;
}
