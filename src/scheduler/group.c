/*
 * Groups: wait for many tasks without a future each.
 */
#include "scheduler/record.h"

#include <errno.h>
#include <stdlib.h>

#include "common/alloc.h"

/* A group's tasks are records on a push-only list as well as on a queue,
 * so that a worker waiting on the group can claim the ones that have not
 * started and run them itself (docs/api.md: rather than deadlock). The list
 * holds a reference on each record. Waits take the list (an exchange: no
 * ABA) and drop finished records; so do posts, amortized: once the posts
 * since the last sweep reach the number of records that sweep kept (and
 * at least GROUP_PRUNE_MIN), which keeps posting linear. */
#define GROUP_PRUNE_MIN 256

struct crew_group {
    crew_pool *pool;
    /* Posted and not finished; also the futex word waiters sleep on. The
     * task that brings it to 0 may be the last to touch the group before
     * crew_group_wait returns and the group is freed, so after its
     * decrement it uses only the address (a futex wake on a stale address
     * is harmless). */
    _Alignas(64) _Atomic uint32_t pending;
    _Alignas(64) _Atomic(crew_record *) list;
    _Atomic uint64_t posts;      /* posts ever made */
    _Atomic uint64_t next_prune; /* the post count that triggers a sweep */
};

crew_group *crew_group_create(crew_pool *pool)
{
    if (pool == NULL) {
        errno = EINVAL;
        return NULL;
    }
    crew_group *g = crew_aligned_alloc(64, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->pool = pool;
    atomic_init(&g->pending, 0);
    atomic_init(&g->list, NULL);
    atomic_init(&g->posts, 0);
    atomic_init(&g->next_prune, GROUP_PRUNE_MIN);
    return g;
}

/* Puts the chain first..last on the group's list. */
static void group_list_push(crew_group *g, crew_record *first, crew_record *last)
{
    crew_record *head = atomic_load_explicit(&g->list, memory_order_relaxed);
    do
        last->group_next = head;
    /* Release: a taker of the list sees the links and the records. */
    while (!atomic_compare_exchange_weak_explicit(&g->list, &head, first,
                                                  memory_order_release,
                                                  memory_order_relaxed));
}

/* Takes the whole list (an exchange: nothing to ABA). Acquire: pairs with
 * the pushes' release. */
static crew_record *group_list_take(crew_group *g)
{
    return atomic_exchange_explicit(&g->list, NULL, memory_order_acquire);
}

/* Walks a taken list: each record not yet started is run here by w (if w
 * is a worker of the group's pool) or kept; finished ones lose the list's
 * reference; the rest go back on the list. How many were kept. */
static uint64_t group_list_sweep(crew_group *g, crew_record *r, crew_worker *w)
{
    crew_record *keep_first = NULL, *keep_last = NULL;
    uint64_t kept = 0;
    while (r != NULL) {
        crew_record *next = r->group_next;
        if (w != NULL && crew_record_claim(r))
            crew_record_run_claimed(r, w);
        if (crew_record_final(r)) {
            crew_record_unref(r);
        } else {
            r->group_next = NULL;
            if (keep_last == NULL)
                keep_first = r;
            else
                keep_last->group_next = r;
            keep_last = r;
            kept++;
        }
        r = next;
    }
    if (keep_first != NULL)
        group_list_push(g, keep_first, keep_last);
    return kept;
}

int crew_group_post(crew_group *g, crew_fn fn, void *arg)
{
    if (g == NULL || fn == NULL)
        return EINVAL;
    int rc = 0;
    crew_record *r = crew_record_new(g->pool, fn, arg, CREW_RECORD_GROUP, &rc);
    if (r == NULL)
        return rc;
    r->group = g;
    if (atomic_fetch_add_explicit(&g->pending, 1, memory_order_relaxed) == UINT32_MAX) {
        atomic_fetch_sub_explicit(&g->pending, 1, memory_order_relaxed);
        crew_record_discard(r);
        return EAGAIN; /* 4 billion tasks in flight in one group */
    }
    /* Queue first, list second: a record on the list can be claimed and
     * run by a waiting worker, which must not happen before the post is
     * accepted (and counted), nor at all if the post fails. The list's
     * reference, counted at creation, keeps the record alive meanwhile
     * even if the queued task runs and finishes at once. */
    rc = crew_enqueue_detached(g->pool, &r->job, 0);
    if (rc != 0) {
        crew_group_task_done(g);
        crew_record_discard(r);
        return rc;
    }
    group_list_push(g, r, r);
    uint64_t n = atomic_fetch_add_explicit(&g->posts, 1, memory_order_relaxed) + 1;
    uint64_t due = atomic_load_explicit(&g->next_prune, memory_order_relaxed);
    if (n >= due && atomic_compare_exchange_strong_explicit(&g->next_prune, &due, UINT64_MAX,
                                                            memory_order_relaxed,
                                                            memory_order_relaxed)) {
        /* This post sweeps; the next sweep is due after as many posts as
         * records it kept, so every record is walked O(1) times per post. */
        uint64_t kept = group_list_sweep(g, group_list_take(g), NULL);
        atomic_store_explicit(&g->next_prune,
                              n + (kept > GROUP_PRUNE_MIN ? kept : GROUP_PRUNE_MIN),
                              memory_order_relaxed);
    }
    return 0;
}

static int group_idle(crew_group *g)
{
    /* Acquire: pairs with crew_group_task_done's release. */
    return atomic_load_explicit(&g->pending, memory_order_acquire) == 0;
}

int crew_group_wait(crew_group *g)
{
    if (g == NULL)
        return EINVAL;
    crew_worker *w = crew_own_worker(g->pool);
    if (w != NULL) {
        /* A worker of the pool: run the group's tasks that have not
         * started here (never other work), then sleep briefly while the
         * rest finish elsewhere, and look again (tasks may post more). */
        crew_publish_all_private(w);
        while (!group_idle(g)) {
            group_list_sweep(g, group_list_take(g), w);
            if (!group_idle(g))
                crew_count_wait(&g->pending, 200000);
        }
    } else {
        while (!group_idle(g))
            crew_count_wait(&g->pending, 0);
    }
    group_list_sweep(g, group_list_take(g), NULL);
    return 0;
}

void crew_group_destroy(crew_group *g)
{
    if (g == NULL)
        return;
    crew_group_wait(g);
    free(g);
}


void crew_group_task_done(crew_group *g)
{
    /* The task that brings the count to 0 may be the last to touch the
     * group before crew_group_wait returns and the group is freed:
     * crew_count_drop uses only the address after its decrement. */
    crew_count_drop(&g->pending);
}
