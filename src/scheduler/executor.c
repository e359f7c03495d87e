/*
 * The executor: submit and post from any thread, futures, cancellation,
 * and crew_run. A submission from outside the pool goes through the
 * injection queue; one from the pool's own tasks onto the submitting
 * worker's deque. Records are record.c's; groups are group.c's.
 */
#include "scheduler/record.h"

#include <errno.h>
#include <string.h>

/* ---- enqueueing ---- */

/* Whether a producer that found the queue full should sleep: still full
 * and not closed (seq_cst reads, sleep.c's crew_space_wait). */
static int still_full(crew_pool *pool)
{
    return !crew_injector_closed(&pool->inj) &&
           (size_t)atomic_load_explicit(&pool->queued, memory_order_seq_cst) >=
               pool->cfg.queue_limit;
}

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
        crew_space_wait(pool, still_full);
    }
}

/* Puts an item on the injection queue: the path of every outside thread.
 * A crew_run root (NOCANCEL) takes its place in a bounded queue without
 * waiting or failing: its caller blocks until it is done anyway, and
 * docs/api.md gives crew_run no EAGAIN. */
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
            crew_space_release(pool, 1);
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
        crew_execute_job(w, job);
        return;
    }
    /* Wake a sleeper for it: a worker going to sleep is either counted
     * here or sees the task. The submitter may block next (a timed wait,
     * user code) and must not be the only one who could run it. */
    crew_wake_after_publish(w->pool, 1);
}

int crew_enqueue_accepted(crew_pool *pool, crew_job_ *job)
{
    /* A place is taken without waiting, as for a crew_run root: the worker
     * that claims the item frees one. */
    if (pool->cfg.queue_limit != 0)
        atomic_fetch_add_explicit(&pool->queued, 1, memory_order_seq_cst);
    crew_inj_item it = {NULL, NULL, job, CREW_INJ_JOB};
    if (crew_injector_push_even_closed(&pool->inj, &it) != 0) {
        if (pool->cfg.queue_limit != 0)
            crew_space_release(pool, 1);
        return ENOMEM;
    }
    crew_wake_after_sc_publish(pool);
    return 0;
}

int crew_enqueue_detached(crew_pool *pool, crew_job_ *job, int external)
{
    crew_worker *w = external ? NULL : crew_own_worker(pool);
    if (w != NULL) {
        enqueue_inside(w, job);
        return 0;
    }
    crew_inj_item it = {NULL, NULL, job, CREW_INJ_JOB};
    return inject(pool, &it);
}

/* ---- submit and post ---- */

crew_future *crew_submit(crew_pool *pool, crew_fn fn, void *arg)
{
    int rc = 0;
    crew_record *r = crew_record_new(pool, fn, arg, CREW_RECORD_FUTURE, &rc);
    if (r != NULL && (rc = crew_enqueue_detached(pool, &r->job, 0)) != 0) {
        crew_record_discard(r);
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
    if (crew_own_worker(pool) == NULL) {
        /* From outside: the function and argument travel in the queue's
         * slot itself, with the trace's label in the record's place; no
         * record. */
        crew_inj_item it = {fn, arg, (void *)(uintptr_t)crew_trace_current_label(), CREW_INJ_POST};
        return inject(pool, &it);
    }
    int rc = 0;
    crew_record *r = crew_record_new(pool, fn, arg, CREW_RECORD_POST, &rc);
    if (r != NULL && (rc = crew_enqueue_detached(pool, &r->job, 0)) != 0)
        crew_record_discard(r);
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
        if (r->kind != CREW_RECORD_FUTURE && pool->cfg.on_cancel != NULL)
            pool->cfg.on_cancel(job->fn, job->arg, pool->cfg.ctx);
        crew_group *g = r->group;
        crew_record_finalize(r, CREW_JOB_CANCELLED);
        crew_count_completed(pool, NULL);
        if (g != NULL)
            crew_group_task_done(g);
    } else if (expect == CREW_JOB_CANCELLED) {
        crew_count_completed(pool, NULL); /* cancelled by crew_future_cancel */
    }
    crew_record_unref(r);
}

/* ---- futures ---- */

static int job_final(crew_job_ *job)
{
    return crew_record_final((crew_record *)job);
}

static void job_sleep_briefly(crew_job_ *job, long ns)
{
    crew_record_sleep((crew_record *)job, ns, NULL);
}

static const crew_wait_ops record_wait = {job_final, job_sleep_briefly};

static int future_result(crew_record *r, void **result)
{
    /* [mo: future.result.state] */
    if (__atomic_load_n(&r->job.state, __ATOMIC_ACQUIRE) == CREW_JOB_CANCELLED)
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
    crew_worker *w = crew_own_worker(r->pool);
    if (w != NULL && !crew_record_final(r)) {
        /* A worker of its pool: run it here if it has not started, else
         * leapfrog on whoever runs it. Never unrelated work. A serial
         * task runs only in its queue's order, so never here: from a task
         * of its own queue the wait would wait for itself. */
        if (r->job.flags & CREW_JOB_SERIAL) {
            if (crew_serial_running_here(r->serial))
                return EDEADLK;
            crew_wait_for_runner(w, &r->job, &record_wait);
        } else if (crew_record_claim(r)) {
            crew_record_run_claimed(r, w);
        } else if (__atomic_load_n((crew_worker **)&r->job.runner, __ATOMIC_ACQUIRE) == w) {
            return EDEADLK; /* a task waiting on its own future */
        } else {
            crew_wait_for_runner(w, &r->job, &record_wait);
        }
    }
    while (!crew_record_final(r))
        crew_record_sleep(r, 0, NULL);
    return future_result(r, result);
}

int crew_future_timedwait(crew_future *f, const struct timespec *abstime, void **result)
{
    crew_record *r = (crew_record *)f;
    if (r == NULL || abstime == NULL || abstime->tv_nsec < 0 ||
        abstime->tv_nsec >= 1000000000)
        return EINVAL;
    while (!crew_record_final(r))
        if (crew_record_sleep(r, 0, abstime) == ETIMEDOUT && !crew_record_final(r))
            return ETIMEDOUT;
    return future_result(r, result);
}

bool crew_future_done(const crew_future *f)
{
    const crew_record *r = (const crew_record *)f;
    return r != NULL && crew_record_final(r);
}

int crew_future_cancel(crew_future *f)
{
    crew_record *r = (crew_record *)f;
    if (r == NULL)
        return EINVAL;
    uint32_t expect = CREW_JOB_PENDING;
    /* [mo: future.cancel.claim] */
    if (__atomic_compare_exchange_n(&r->job.state, &expect, CREW_JOB_CANCELLED, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        /* It will never run. Its queue entry is dropped, and accounted
         * for, by whoever dequeues it. */
        crew_record_finalize(r, CREW_JOB_CANCELLED);
        return 0;
    }
    return expect == CREW_JOB_CANCELLED ? 0 : EBUSY;
}

void crew_future_release(crew_future *f)
{
    if (f != NULL)
        crew_record_unref((crew_record *)f);
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
    crew_count_completed(pool, w);
    /* After this the caller may return and the record (on its stack) be
     * gone. */
    crew_flag_set(&root->done);
}

int crew_run(crew_pool *pool, crew_fn fn, void *arg, void **result)
{
    if (pool == NULL || fn == NULL)
        return EINVAL;
    if (crew_own_worker(pool) != NULL) {
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
    root.job.label = crew_trace_current_label();
    root.pool = pool;
    atomic_init(&root.done, 0);
    int rc = crew_enqueue_detached(pool, &root.job, 1);
    if (rc != 0)
        return rc;
    crew_flag_wait(&root.done);
    if (result != NULL)
        *result = root.job.result;
    return 0;
}
