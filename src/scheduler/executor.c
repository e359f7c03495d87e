/*
 * The executor: submit, post, futures, groups, crew_run, and cancellation.
 *
 * A detached task lives in a record from the pool's object pool. Its job
 * state moves PENDING -> RUNNING -> DONE, or PENDING -> CANCELLED; whoever
 * wins the CAS out of PENDING runs it (a worker that dequeued it, or a
 * worker waiting on its future) or cancels it. References: the queue entry
 * holds one (dropped by whoever dequeues it, after running and waking), and
 * a future's submitter holds one (crew_future_release). Records go back to
 * the object pool when the last reference goes. Futures may outlive their
 * pool: each holds a reference on the records' home, which the pool drops
 * at destroy; the last one out destroys the object pool.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "pool/objpool.h"
#include "scheduler/futex.h"

enum { KIND_FUTURE, KIND_POST, KIND_GROUP };

typedef struct crew_records {
    crew_objpool *objects;
    _Atomic long refs; /* the pool's, plus one per live future */
} crew_records;

typedef struct crew_record {
    crew_job_ job; /* first: queues hold &job */
    _Atomic uint32_t refs;
    _Atomic uint32_t waiters; /* threads sleeping on job.state */
    int kind;
    crew_pool *pool;   /* valid while queued or running */
    crew_group *group; /* KIND_GROUP */
    crew_records *home;
    struct crew_record *group_next; /* the group's list (KIND_GROUP) */
} crew_record;

/* A group's tasks are records on a push-only list as well as on a queue,
 * so that a worker waiting on the group can claim the ones that have not
 * started and run them itself (API.md: rather than deadlock). The list
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

/* ---- records ---- */

crew_records *crew_records_create(unsigned nworkers)
{
    crew_records *home = crew_malloc(sizeof(*home));
    if (home == NULL)
        return NULL;
    crew_objpool_config cfg = {.obj_size = sizeof(crew_record), .max_idle = 4096};
    home->objects = crew_objpool_create_slots(&cfg, nworkers);
    if (home->objects == NULL) {
        free(home);
        return NULL;
    }
    atomic_init(&home->refs, 1);
    return home;
}

static void home_unref(crew_records *home)
{
    if (atomic_fetch_sub_explicit(&home->refs, 1, memory_order_acq_rel) == 1) {
        crew_objpool_destroy(home->objects);
        free(home);
    }
}

void crew_records_drop_pool(crew_pool *pool)
{
    home_unref(pool->records);
    pool->records = NULL;
}

/* The caller's slot in the records' per-worker caches. */
static unsigned record_slot(crew_records *home)
{
    crew_worker *w = crew_self();
    return (w != NULL && w->pool->records == home) ? w->index : UINT_MAX;
}

static crew_record *record_new(crew_pool *pool, crew_fn fn, void *arg, int kind)
{
    crew_records *home = pool->records;
    crew_record *r = crew_objpool_acquire_at(home->objects, record_slot(home));
    if (r == NULL)
        return NULL;
    r->job.fn = fn;
    r->job.arg = arg;
    r->job.result = NULL;
    r->job.state = CREW_JOB_PENDING;
    r->job.flags = 0;
    r->job.runner = NULL;
    r->job.finish = NULL; /* set by the caller */
    /* The queue's reference, plus the submitter's (future) or the group
     * list's (group task). */
    atomic_init(&r->refs, kind == KIND_POST ? 1 : 2);
    atomic_init(&r->waiters, 0);
    r->kind = kind;
    r->pool = pool;
    r->group = NULL;
    r->group_next = NULL;
    r->home = home;
    /* Futures and group tasks may be dropped after the pool is gone (a
     * future released late, a group destroyed after its pool): they keep
     * the records' home alive. */
    if (kind != KIND_POST)
        atomic_fetch_add_explicit(&home->refs, 1, memory_order_relaxed);
    return r;
}

static void record_unref(crew_record *r)
{
    /* AcqRel: every use of the record by the other holder happens before
     * it is reused. */
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
        return;
    crew_records *home = r->home;
    int holds_home = r->kind != KIND_POST;
    crew_objpool_release_at(home->objects, record_slot(home), r);
    if (holds_home)
        home_unref(home);
}

static uint32_t job_state(const crew_job_ *job, int order)
{
    return __atomic_load_n(&job->state, order);
}

static int claim(crew_job_ *job)
{
    uint32_t expect = CREW_JOB_PENDING;
    return __atomic_compare_exchange_n(&job->state, &expect, CREW_JOB_RUNNING, 0,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

void crew_group_task_done(crew_group *g)
{
    /* Release: the task's effects happen before the waiter sees 0. */
    _Atomic uint32_t *word = &g->pending;
    if (atomic_fetch_sub_explicit(word, 1, memory_order_release) == 1)
        crew_futex_wake(word, INT_MAX);
}

/* Marks a record final (DONE or CANCELLED) and wakes its waiters. SeqCst
 * exchange then load of waiters: the waiter increments waiters and then
 * reads the state, both seq_cst, so one of us sees the other. */
static void record_finalize(crew_record *r, uint32_t final)
{
    __atomic_exchange_n(&r->job.state, final, __ATOMIC_SEQ_CST);
    if (atomic_load_explicit(&r->waiters, memory_order_seq_cst) > 0)
        crew_futex_wake((_Atomic uint32_t *)&r->job.state, INT_MAX);
}

/* Runs a claimed record on worker w and completes it. */
static void record_execute(crew_record *r, crew_worker *w)
{
    crew_pool *pool = r->pool;
    __atomic_store_n(&r->job.runner, w, __ATOMIC_RELEASE);
    crew_stat_add(&w->stats.tasks_run, 1);
    r->job.result = r->job.fn(r->job.arg);
    crew_group *g = r->group;
    record_finalize(r, CREW_JOB_DONE);
    crew_count_completed(pool, w);
    if (g != NULL)
        crew_group_task_done(g);
}

/* The queue entry's handler: called once by whoever dequeued the record. */
static void record_dequeued(crew_job_ *job, void *worker)
{
    crew_record *r = (crew_record *)job;
    if (claim(job))
        record_execute(r, worker);
    else if (job_state(job, __ATOMIC_ACQUIRE) == CREW_JOB_CANCELLED)
        /* Cancelled by crew_future_cancel: the dequeuer, a worker, does
         * the pool's accounting (a user thread could race destroy). */
        crew_count_completed(r->pool, worker);
    /* Otherwise a waiter claimed it and ran it (and accounted for it). */
    record_unref(r);
}

/* ---- enqueueing ---- */

/* Bounded queue: reserve a place, waiting for one or failing EAGAIN. */
static int reserve_space(crew_pool *pool)
{
    size_t limit = pool->cfg.queue_limit;
    for (;;) {
        int64_t q = atomic_load_explicit(&pool->queued, memory_order_seq_cst);
        if ((size_t)q < limit) {
            if (atomic_compare_exchange_weak_explicit(&pool->queued, &q, q + 1,
                                                      memory_order_seq_cst,
                                                      memory_order_relaxed))
                return 0;
            continue;
        }
        if (crew_injector_closed(&pool->inj))
            return ESHUTDOWN;
        if (!pool->cfg.block_when_full)
            return EAGAIN;
        uint32_t e = atomic_load_explicit(&pool->space_event, memory_order_acquire);
        atomic_fetch_add_explicit(&pool->space_waiters, 1, memory_order_seq_cst);
        int closed = crew_injector_closed(&pool->inj);
        int full = (size_t)atomic_load_explicit(&pool->queued, memory_order_seq_cst) >= limit;
        if (full && !closed)
            crew_futex_wait(&pool->space_event, e, NULL);
        atomic_fetch_sub_explicit(&pool->space_waiters, 1, memory_order_seq_cst);
    }
}

/* Puts an item on the injection queue: the path of every outside thread.
 * A crew_run root (NOCANCEL) takes its place in a bounded queue without
 * waiting or failing: its caller blocks until it is done anyway, and
 * API.md gives crew_run no EAGAIN. */
static int inject(crew_pool *pool, const crew_inj_item *it)
{
    int rc;
    const crew_job_ *job = it->kind == CREW_INJ_JOB ? it->ref : NULL;
    if (pool->cfg.queue_limit != 0) {
        if (job != NULL && (job->flags & CREW_JOB_NOCANCEL))
            atomic_fetch_add_explicit(&pool->queued, 1, memory_order_seq_cst);
        else if ((rc = reserve_space(pool)) != 0)
            return rc;
    }
    rc = crew_injector_push(&pool->inj, it);
    if (rc != 0) {
        /* We may have taken the place a blocked producer waits for. */
        if (pool->cfg.queue_limit != 0)
            crew_release_queue_places(pool, 1);
        return rc;
    }
    crew_wake_after_sc_publish(pool);
    return 0;
}

/* From one of the pool's own tasks: onto this worker's deque, accepted
 * even after shutdown until the pool is quiet. Private spawns go public
 * first, keeping public tasks older than private ones. */
static void enqueue_inside(crew_worker *w, crew_job_ *job)
{
    crew_stat_add(&w->stats.internal_accepted, 1);
    /* No memory to queue it (or to publish the spawns below it, which must
     * stay older than anything public): run it now. */
    if (!crew_publish_all_private(w) || crew_deque_push(&w->deque, job) != 0) {
        crew_run_job(w, job);
        return;
    }
    /* Wake a sleeper for it: a worker going to sleep is either counted
     * here or sees the task. The submitter may block next (a timed wait,
     * user code) and must not be the only one who could run it. */
    crew_wake_after_publish(w->pool, 1);
}

static int inside_pool(crew_pool *pool, crew_worker **w)
{
    *w = crew_self();
    return *w != NULL && (*w)->pool == pool;
}

int crew_enqueue_detached(crew_pool *pool, crew_job_ *job, int external)
{
    crew_worker *w;
    if (!external && inside_pool(pool, &w)) {
        enqueue_inside(w, job);
        return 0;
    }
    crew_inj_item it = {NULL, NULL, job, CREW_INJ_JOB};
    return inject(pool, &it);
}

static crew_record *submit_record(crew_pool *pool, crew_fn fn, void *arg, int kind,
                                  int *rc)
{
    if (pool == NULL || fn == NULL) {
        *rc = EINVAL;
        return NULL;
    }
    crew_record *r = record_new(pool, fn, arg, kind);
    if (r == NULL) {
        *rc = ENOMEM;
        return NULL;
    }
    r->job.finish = record_dequeued;
    return r;
}

/* Undo a record whose enqueue failed. */
static void record_discard(crew_record *r)
{
    atomic_store_explicit(&r->refs, 1, memory_order_relaxed);
    record_unref(r);
}

crew_future *crew_submit(crew_pool *pool, crew_fn fn, void *arg)
{
    int rc = 0;
    crew_record *r = submit_record(pool, fn, arg, KIND_FUTURE, &rc);
    if (r != NULL && (rc = crew_enqueue_detached(pool, &r->job, 0)) != 0) {
        record_discard(r);
        r = NULL;
    }
    if (r == NULL)
        errno = rc;
    return (crew_future *)r;
}

int crew_post(crew_pool *pool, crew_fn fn, void *arg)
{
    if (pool == NULL || fn == NULL)
        return EINVAL;
    crew_worker *w;
    if (!inside_pool(pool, &w)) {
        /* From outside: the function and argument travel in the queue's
         * slot itself; no record. */
        crew_inj_item it = {fn, arg, NULL, CREW_INJ_POST};
        return inject(pool, &it);
    }
    int rc = 0;
    crew_record *r = submit_record(pool, fn, arg, KIND_POST, &rc);
    if (r != NULL && (rc = crew_enqueue_detached(pool, &r->job, 0)) != 0)
        record_discard(r);
    return rc;
}

/* Shutdown with cancel_pending: an injected item that will not run. The
 * caller is shutdown's thread, so the pool's own counter takes it. */
void crew_cancel_injected(crew_pool *pool, const crew_inj_item *it)
{
    if (it->kind != CREW_INJ_JOB) {
        if (pool->cfg.on_cancel != NULL)
            pool->cfg.on_cancel(it->fn, it->arg, pool->cfg.ctx);
        crew_count_completed(pool, NULL);
        return;
    }
    crew_record *r = it->ref;
    crew_job_ *job = &r->job;
    uint32_t expect = CREW_JOB_PENDING;
    if (__atomic_compare_exchange_n(&job->state, &expect, CREW_JOB_CANCELLED, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        if (r->kind != KIND_FUTURE && pool->cfg.on_cancel != NULL)
            pool->cfg.on_cancel(job->fn, job->arg, pool->cfg.ctx);
        crew_group *g = r->group;
        record_finalize(r, CREW_JOB_CANCELLED);
        crew_count_completed(pool, NULL);
        if (g != NULL)
            crew_group_task_done(g);
    } else if (expect == CREW_JOB_CANCELLED) {
        crew_count_completed(pool, NULL); /* cancelled by crew_future_cancel */
    }
    record_unref(r);
}

/* ---- futures ---- */

static int record_final(crew_job_ *job)
{
    uint32_t s = job_state(job, __ATOMIC_ACQUIRE);
    return s == CREW_JOB_DONE || s == CREW_JOB_CANCELLED;
}

/* Sleeps until the record is final, or until the relative timeout (ns > 0)
 * or the absolute realtime deadline (abstime) passes. 0 or ETIMEDOUT. */
static int record_sleep(crew_record *r, long ns, const struct timespec *abstime)
{
    atomic_fetch_add_explicit(&r->waiters, 1, memory_order_seq_cst);
    uint32_t s = job_state(&r->job, __ATOMIC_SEQ_CST);
    int rc = 0;
    if (s != CREW_JOB_DONE && s != CREW_JOB_CANCELLED) {
        if (abstime != NULL) {
            rc = crew_futex_wait_abs_realtime((_Atomic uint32_t *)&r->job.state, s, abstime);
        } else if (ns > 0) {
            struct timespec ts = {0, ns};
            rc = crew_futex_wait((_Atomic uint32_t *)&r->job.state, s, &ts);
        } else {
            rc = crew_futex_wait((_Atomic uint32_t *)&r->job.state, s, NULL);
        }
    }
    atomic_fetch_sub_explicit(&r->waiters, 1, memory_order_seq_cst);
    return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

static void record_sleep_briefly(crew_job_ *job, long ns)
{
    record_sleep((crew_record *)job, ns, NULL);
}

static const crew_wait_ops record_wait = {record_final, record_sleep_briefly};

static int future_result(crew_record *r, void **result)
{
    if (job_state(&r->job, __ATOMIC_ACQUIRE) == CREW_JOB_CANCELLED)
        return ECANCELED;
    if (result != NULL)
        *result = r->job.result;
    return 0;
}

int crew_future_wait(crew_future *f, void **result)
{
    crew_record *r = (crew_record *)f;
    if (r == NULL)
        return EINVAL;
    crew_worker *w = crew_self();
    if (w != NULL && w->pool == r->pool && !record_final(&r->job)) {
        /* A worker of its pool: run it here if it has not started, else
         * leapfrog on whoever runs it. Never unrelated work. */
        if (claim(&r->job)) {
            int64_t saved = crew_floor_enter(w);
            record_execute(r, w);
            crew_floor_leave(w, saved);
        } else if (__atomic_load_n((crew_worker **)&r->job.runner, __ATOMIC_ACQUIRE) == w) {
            return EDEADLK; /* a task waiting on its own future */
        } else {
            crew_wait_for_runner(w, &r->job, &record_wait);
        }
    }
    while (!record_final(&r->job))
        record_sleep(r, 0, NULL);
    return future_result(r, result);
}

int crew_future_timedwait(crew_future *f, const struct timespec *abstime, void **result)
{
    crew_record *r = (crew_record *)f;
    if (r == NULL || abstime == NULL || abstime->tv_nsec < 0 ||
        abstime->tv_nsec >= 1000000000)
        return EINVAL;
    while (!record_final(&r->job))
        if (record_sleep(r, 0, abstime) == ETIMEDOUT && !record_final(&r->job))
            return ETIMEDOUT;
    return future_result(r, result);
}

bool crew_future_done(const crew_future *f)
{
    const crew_record *r = (const crew_record *)f;
    return r != NULL && record_final((crew_job_ *)&r->job);
}

int crew_future_cancel(crew_future *f)
{
    crew_record *r = (crew_record *)f;
    if (r == NULL)
        return EINVAL;
    uint32_t expect = CREW_JOB_PENDING;
    if (__atomic_compare_exchange_n(&r->job.state, &expect, CREW_JOB_CANCELLED, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        /* It will never run. Its queue entry is dropped, and accounted
         * for, by whoever dequeues it. */
        record_finalize(r, CREW_JOB_CANCELLED);
        return 0;
    }
    return expect == CREW_JOB_CANCELLED ? 0 : EBUSY;
}

void crew_future_release(crew_future *f)
{
    if (f != NULL)
        record_unref((crew_record *)f);
}

/* ---- groups ---- */

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
        if (w != NULL && claim(&r->job)) {
            int64_t saved = crew_floor_enter(w);
            record_execute(r, w);
            crew_floor_leave(w, saved);
        }
        if (record_final(&r->job)) {
            record_unref(r);
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
    crew_record *r = submit_record(g->pool, fn, arg, KIND_GROUP, &rc);
    if (r == NULL)
        return rc;
    r->group = g;
    if (atomic_fetch_add_explicit(&g->pending, 1, memory_order_relaxed) == UINT32_MAX) {
        atomic_fetch_sub_explicit(&g->pending, 1, memory_order_relaxed);
        record_discard(r);
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
        record_discard(r);
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

/* Sleeps while the count is what we read, at most ns (0: no limit). */
static void group_sleep(crew_group *g, long ns)
{
    uint32_t v = atomic_load_explicit(&g->pending, memory_order_acquire);
    if (v == 0)
        return;
    struct timespec ts = {0, ns};
    crew_futex_wait(&g->pending, v, ns > 0 ? &ts : NULL);
}

int crew_group_wait(crew_group *g)
{
    if (g == NULL)
        return EINVAL;
    crew_worker *w = crew_self();
    if (w != NULL && w->pool == g->pool) {
        /* A worker of the pool: run the group's tasks that have not
         * started here (never other work), then sleep briefly while the
         * rest finish elsewhere, and look again (tasks may post more). */
        crew_publish_all_private(w);
        while (!group_idle(g)) {
            group_list_sweep(g, group_list_take(g), w);
            if (!group_idle(g))
                group_sleep(g, 200000);
        }
    } else {
        while (!group_idle(g))
            group_sleep(g, 0);
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

/* ---- crew_run ---- */

typedef struct run_root {
    crew_job_ job;
    crew_pool *pool;
    _Atomic uint32_t done;
} run_root;

static void run_root_dequeued(crew_job_ *job, void *worker)
{
    run_root *root = (run_root *)job;
    crew_worker *w = worker; /* NULL: shutdown runs it, out of memory */
    crew_pool *pool = root->pool;
    if (w != NULL)
        crew_stat_add(&w->stats.tasks_run, 1);
    job->result = job->fn(job->arg);
    /* SeqCst store: after it the caller may return and the record (on its
     * stack) is gone; only the address is used for the wake. */
    crew_count_completed(pool, w);
    atomic_store_explicit(&root->done, 1, memory_order_seq_cst);
    crew_futex_wake(&root->done, 1);
}

int crew_run(crew_pool *pool, crew_fn fn, void *arg, void **result)
{
    if (pool == NULL || fn == NULL)
        return EINVAL;
    crew_worker *w = crew_self();
    if (w != NULL && w->pool == pool) {
        void *r = fn(arg);
        if (result != NULL)
            *result = r;
        return 0;
    }
    run_root root;
    memset(&root, 0, sizeof(root));
    root.job.fn = fn;
    root.job.arg = arg;
    root.job.flags = CREW_JOB_NOCANCEL;
    root.job.finish = run_root_dequeued;
    root.pool = pool;
    atomic_init(&root.done, 0);
    int rc = crew_enqueue_detached(pool, &root.job, 1);
    if (rc != 0)
        return rc;
    while (atomic_load_explicit(&root.done, memory_order_acquire) == 0)
        crew_futex_wait(&root.done, 0, NULL);
    if (result != NULL)
        *result = root.job.result;
    return 0;
}
