/*
 * The object pool: its objects (built on slabs of nodes, freed only past
 * max_idle or at destroy), the shared Treiber stack of idle objects,
 * create and destroy, and the statistics. The caches in front of the
 * stack, and the public acquire and release that use them, are in
 * caches.c; the layout and the invariants in objpool_impl.h. docs/pool.md
 * has the design and the safety argument.
 */
#include "pool/objpool_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

/* Relaxed, both: each only has to hand out distinct numbers. Never 0. */
static _Atomic uint64_t next_pool_id = 1;

/* ---- building and freeing objects (slow paths) ---- */

/* A node without an object: from the spare stack, or from a new slab whose
 * other nodes go to the spare stack. NULL when out of memory. */
static crew_objpool_node *node_take(crew_objpool *p)
{
    crew_objpool_node *n = crew_treiber_pop(&p->spare);
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
void *crew_objpool_build_object(crew_objpool *p, counters *stats)
{
    crew_objpool_node *n = node_take(p);
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
void crew_objpool_free_object(crew_objpool *p, crew_objpool_node *n)
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
void crew_objpool_discard_object(crew_objpool *p, crew_objpool_node *n, counters *stats)
{
    crew_objpool_free_object(p, n);
    crew_treiber_push(&p->spare, n);
    count_any(&stats->freed);
}

/* ---- the shared path ---- */

void *crew_objpool_shared_acquire(crew_objpool *p)
{
    crew_objpool_node *n = crew_treiber_pop(&p->free);
    if (n == NULL)
        return crew_objpool_build_object(p, &p->shared);
    idle_leave(p);
    count_any(&p->shared.reused);
    return object_of(n);
}

void crew_objpool_shared_release(crew_objpool *p, void *obj)
{
    crew_objpool_node *n = node_of(obj);
    if (!idle_reserve(p)) {
        crew_objpool_discard_object(p, n, &p->shared);
        return;
    }
    if (p->cfg.reset != NULL)
        p->cfg.reset(obj, p->cfg.ctx);
    crew_treiber_push(&p->free, n);
    count_any(&p->shared.kept);
}

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
            crew_objpool_cache_init(&p->slots[i]);
    }
    crew_treiber_init(&p->free);
    atomic_init(&p->idle_reserved, 0);
    crew_objpool_counters_init(&p->shared);
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
    crew_objpool_live_add(p);
    return p;
}

crew_objpool *crew_objpool_create(const crew_objpool_config *cfg)
{
    return crew_objpool_create_slots(cfg, 0);
}

void crew_objpool_destroy(crew_objpool *p)
{
    if (p == NULL)
        return;
    /* Off the list first: from here no ending thread touches this pool. */
    crew_objpool_live_remove(p);
    for (unsigned i = 0; i < p->nslots; i++)
        crew_objpool_cache_drain(p, &p->slots[i]);
    /* Relaxed: nobody else uses the pool any more (the caller orders
     * every call before this one); that includes the owners of these
     * caches, running or long gone. */
    cache *c = atomic_load_explicit(&p->thread_caches, memory_order_relaxed);
    while (c != NULL) {
        cache *next = c->next;
        crew_objpool_cache_drain(p, c);
        free(c);
        c = next;
    }
    crew_objpool_node *n;
    while ((n = crew_treiber_pop(&p->free)) != NULL)
        crew_objpool_free_object(p, n);
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

