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
#include "common/futex.h"

/* Relaxed, both: each only has to hand out distinct numbers. Never 0. */
static _Atomic uint64_t next_pool_id = 1;

/* ---- max_live: counting the objects alive, sleeping, waking ----
 *
 * The pattern of docs/scheduler.md, "Sleeping and waking", with its
 * tokens (docs/pool.md, "max_live", has the argument in full). A waker
 * first publishes: an object pushed on the shared stack (the DCAS, a
 * seq_cst read-modify-write of the head by treiber.h's assumption), or a
 * unit of `live` given back (a seq_cst fetch_sub). Then it reads `sleep`
 * (seq_cst) and, only while sleepers > tokens, takes a token with a CAS,
 * bumps `event` and wakes one sleeper. An acquirer that found nothing
 * reads `event`, announces itself (a seq_cst fetch_add of one sleeper),
 * looks again with seq_cst loads of the stack's top and of `live`, and
 * sleeps only if both still say "exhausted", on the value of `event` it
 * read first; getting up, it takes its sleeper out and a token if one is
 * out (one seq_cst CAS). All are in the single total order S of seq_cst
 * operations: either the announcement precedes the waker's read, which
 * then counts it (and the bump follows the sleeper's read of `event`, so
 * its futex wait fails at once or is queued for the wake), or the read
 * precedes the announcement, and then the publication precedes the look,
 * which sees it (or something newer: an acquirer took the object, and
 * its release will wake in turn). A waker that finds sleepers <= tokens
 * skips the wake: that many sleepers are on their way up, and each gets
 * up after this waker's read in S, then looks again with seq_cst loads
 * before it would sleep again, so it sees the publication. */

enum { SLEEPER = 1, SLEEP_TOKEN_SHIFT = 32 };
#define SLEEP_TOKEN ((uint64_t)1 << SLEEP_TOKEN_SHIFT)

static inline uint32_t sleepers_of(uint64_t w)
{
    return (uint32_t)w;
}

static inline uint32_t tokens_of(uint64_t w)
{
    return (uint32_t)(w >> SLEEP_TOKEN_SHIFT);
}

/* Tests: called on the wait path, between the try that failed and the
 * announcement (the lost wake-up's window). Relaxed: set by a test before
 * the calls it is meant for, from the thread that makes them. */
static _Atomic(crew_objpool_wait_hook) wait_hook;
static void *_Atomic wait_hook_arg;

void crew_objpool_set_wait_hook(crew_objpool_wait_hook hook, void *arg)
{
    atomic_store_explicit(&wait_hook_arg, arg, memory_order_relaxed);
    atomic_store_explicit(&wait_hook, hook, memory_order_relaxed);
}

unsigned crew_objpool_waiters(const crew_objpool *p)
{
    /* Relaxed: a test polls it until the sleepers it expects are in. */
    return p == NULL ? 0
                     : sleepers_of(atomic_load_explicit(&p->sleep, memory_order_relaxed));
}

/* 1 with a unit of `live` taken for an object about to be built, or 0:
 * max_live objects are alive. The CAS never raises `live` past max_live.
 * Acquire on success: it reads a unit given back by live_leave's fetch_sub
 * (a release), so the fini that preceded it happens before the init that
 * follows: the objects alive never exceed max_live, even as the callbacks
 * see them. */
static int live_reserve(crew_objpool *p)
{
    size_t max = p->cfg.max_live;
    if (max == 0)
        return 1;
    size_t cur = atomic_load_explicit(&p->live, memory_order_relaxed);
#ifdef CREW_NEGATIVE_CONTROL_POOL_MAX_LIVE
    /* Broken on purpose: the count is kept but never checked. */
    atomic_fetch_add_explicit(&p->live, 1, memory_order_acquire);
    return 1;
#endif
    while (cur < max) {
        if (atomic_compare_exchange_weak_explicit(&p->live, &cur, cur + 1,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return 1;
    }
    return 0;
}

/* Someone published something a sleeper may want (an idle object, or a
 * unit of `live`): wake one sleeper unless every sleeper has a wake on
 * its way already. seq_cst, the read, the CAS and the bump: see the top
 * of this section. The read is all a release pays while nobody sleeps. */
static inline void live_wake(crew_objpool *p)
{
    uint64_t w = atomic_load_explicit(&p->sleep, memory_order_seq_cst);
    while (sleepers_of(w) > tokens_of(w)) {
        if (atomic_compare_exchange_weak_explicit(&p->sleep, &w, w + SLEEP_TOKEN,
                                                  memory_order_seq_cst,
                                                  memory_order_seq_cst)) {
            int saved = errno; /* the caller may be returning an errno value */
            atomic_fetch_add_explicit(&p->event, 1, memory_order_seq_cst);
            crew_futex_wake(&p->event, 1);
            errno = saved;
            return;
        }
    }
}

/* An object is gone (its fini has returned) or was never built: its unit
 * goes back. seq_cst: the waker's publication (a release too, for
 * live_reserve's acquire). */
static void live_leave(crew_objpool *p)
{
    if (p->cfg.max_live == 0)
        return;
    atomic_fetch_sub_explicit(&p->live, 1, memory_order_seq_cst);
    live_wake(p);
}

/* 1 when an acquirer announced as a sleeper still finds nothing: no idle
 * object and max_live alive. seq_cst loads: the look after the
 * announcement (top of this section). */
static int live_exhausted(crew_objpool *p)
{
#ifdef CREW_NEGATIVE_CONTROL_POOL_LIVE_RECHECK
    /* Broken on purpose: no look after the announcement, so a release
     * between the failed try and the announcement is missed. */
    (void)p;
    return 1;
#else
    if (atomic_load_explicit(&p->free.half.top, memory_order_seq_cst) != NULL)
        return 0;
    return atomic_load_explicit(&p->live, memory_order_seq_cst) >= p->cfg.max_live;
#endif
}

/* Sleeps until a waker's bump, or abstime (NULL: none). 0: look again;
 * ETIMEDOUT: abstime has passed. Never spins: at most one futex wait per
 * call, and a waker's bump or a signal ends it. */
static int live_wait(crew_objpool *p, const struct timespec *abstime)
{
    crew_objpool_wait_hook hook =
        atomic_load_explicit(&wait_hook, memory_order_relaxed);
    if (hook != NULL)
        hook(p, atomic_load_explicit(&wait_hook_arg, memory_order_relaxed));
    if (abstime != NULL && abstime->tv_sec < 0)
        return ETIMEDOUT; /* long past; the kernel would say EINVAL */
    /* seq_cst, the read, the announcement and the look: see above. */
    uint32_t ev = atomic_load_explicit(&p->event, memory_order_seq_cst);
    atomic_fetch_add_explicit(&p->sleep, SLEEPER, memory_order_seq_cst);
    int rc = 0;
    if (live_exhausted(p)) {
        int saved = errno;
        rc = abstime == NULL
                 ? crew_futex_wait(&p->event, ev, NULL)
                 : crew_futex_wait_abs_realtime(&p->event, ev, abstime);
        errno = saved;
    }
    /* Getting up: out as a sleeper, with a token if one is out (woken or
     * not: every sleeper that gets up pays for one, so tokens never
     * exceed sleepers). seq_cst: its place in S after a skipping waker's
     * read is what makes the skip right (top of this section). */
    uint64_t w = atomic_load_explicit(&p->sleep, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(
        &p->sleep, &w, w - SLEEPER - (tokens_of(w) > 0 ? SLEEP_TOKEN : 0),
        memory_order_seq_cst, memory_order_relaxed))
        ;
    /* 0 (woken), EAGAIN (bumped before we slept), EINTR: look again. */
    return rc == 0 || rc == EAGAIN || rc == EINTR ? 0 : ETIMEDOUT;
}

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

/* Release past max_idle, or an idle object validate rejected: free the
 * object now; its node becomes a spare. The node itself stays in its
 * slab, so a pop that still holds a stale pointer to it reads valid
 * memory. In a max_live pool the unit goes back last, with a wake. */
void crew_objpool_discard_object(crew_objpool *p, crew_objpool_node *n, counters *stats)
{
    crew_objpool_free_object(p, n);
    crew_treiber_push(&p->spare, n);
    count_any(&stats->freed);
    live_leave(p); /* after fini: alive until it has returned */
}

int crew_objpool_validate(crew_objpool *p, crew_objpool_node *n, counters *stats)
{
    if (p->cfg.validate(object_of(n), p->cfg.ctx) == 0)
        return 1;
    count_any(&p->rejected);
    crew_objpool_discard_object(p, n, stats);
    return 0;
}

/* ---- the shared path ---- */

/* An idle object from the shared stack that validate (if any) accepts,
 * or NULL when there is none. */
static void *shared_take_idle(crew_objpool *p)
{
    crew_objpool_node *n;
    while ((n = crew_treiber_pop(&p->free)) != NULL) {
        idle_leave(p);
        if (p->cfg.validate == NULL || crew_objpool_validate(p, n, &p->shared)) {
            count_any(&p->shared.reused);
            return object_of(n);
        }
    }
    return NULL;
}

/* An idle object or a new one; or NULL with *exhausted set when max_live
 * objects are alive (the caller waits), or NULL + build's errno (which
 * may be anything init returns, EAGAIN included). */
static void *shared_try(crew_objpool *p, int *exhausted)
{
    *exhausted = 0;
    void *obj = shared_take_idle(p);
    if (obj != NULL)
        return obj;
    if (!live_reserve(p)) {
        *exhausted = 1;
        return NULL;
    }
    obj = crew_objpool_build_object(p, &p->shared);
    if (obj == NULL)
        live_leave(p); /* keeps errno */
    return obj;
}

void *crew_objpool_shared_acquire_until(crew_objpool *p,
                                        const struct timespec *abstime)
{
    for (;;) {
        int exhausted;
        void *obj = shared_try(p, &exhausted);
        if (obj != NULL || !exhausted)
            return obj;
        /* ETIMEDOUT: no wake was taken on the way (a woken futex wait
         * returns 0 even at the deadline), so nobody else's is lost. */
        if (live_wait(p, abstime) != 0) {
            errno = ETIMEDOUT;
            return NULL;
        }
        /* (live_wait keeps errno: a success leaves it as the caller had it.) */
    }
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
    if (p->cfg.max_live != 0)
        live_wake(p);
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
    /* max_live pools keep every idle object where any waiter finds it:
     * on the shared stack, never in a slot's cache (docs/pool.md). */
    if (cfg->max_live != 0)
        nslots = 0;
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
    atomic_init(&p->rejected, 0);
    atomic_init(&p->live, 0);
    atomic_init(&p->sleep, 0);
    atomic_init(&p->event, 0);
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
    /* Rejected objects left the idle set without a reuse. Relaxed, as
     * the counters. */
    uint64_t kept = 0, gone = atomic_load_explicit(&p->rejected, memory_order_relaxed);
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
    gone += out->reused;
    out->idle = kept > gone ? kept - gone : 0;
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

