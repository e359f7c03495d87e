/*
 * Workers: the loop each worker runs, how it finds work (its deque, its
 * batch from the injection queue, other workers' deques and batches), and
 * how it runs a job others may wait on (the leapfrog floor). When there is
 * nothing, it sleeps (sleep.c). docs/scheduler.md is the design.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

#include "common/port.h"

/* Polls of the injection queue: every this many local tasks a worker looks
 * there first, so outside work is never starved by inside work. */
#define INJECT_POLL_EVERY 32

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static uint64_t next_random(uint64_t *s)
{
    /* xorshift64*: a few cycles, good enough for victim choice. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

/* ---- leapfrog floors ---- */

int64_t crew_floor_enter(crew_worker *w)
{
    /* The frame below keeps no private spawns: a spawn of the new job that
     * publishes on request would otherwise publish one of the frame's
     * (the oldest private), above the new floor. */
    crew_publish_all_private(w);
    /* [mo: worker.floor_enter.load] */
    int64_t saved = atomic_load_explicit(&w->floor, memory_order_relaxed);
    /* Release: a waiter that reads this floor (acquire) also sees the
     * job's runner field that led it here. [mo: worker.floor_enter.store] */
    atomic_store_explicit(&w->floor, crew_deque_bottom(&w->deque), memory_order_release);
    return saved;
}

void crew_floor_leave(crew_worker *w, int64_t saved)
{
    /* Release, after the job's completion: a waiter that reads the old
     * floor back (acquire) then also sees its job done.
     * [mo: worker.floor_leave.store] */
    atomic_store_explicit(&w->floor, saved, memory_order_release);
}

/* ---- stealing ---- */

/* One steal from victim's deque (at or above floor, unless veto says no)
 * with its bookkeeping: the trace, the counters, and, when the victim's
 * public part was empty, a request that its owner publish a private
 * spawn (it looks at that flag in spawn). 0, EAGAIN (lost a race) or
 * ENOENT. */
static int steal_counted(crew_worker *thief, crew_worker *victim, int64_t floor,
                         int (*veto)(void *), void *veto_arg, crew_job_ **out)
{
    void *x;
    crew_steal_result r = crew_deque_steal_above(&victim->deque, floor, veto, veto_arg, &x);
    if (r == CREW_STEAL_OK) {
        /* A spawned task's owner learns who runs it in crew_execute_job, once
         * the thief's floor is set for it. */
        crew_trace_event *ev = crew_trace(thief, CREW_TRACE_STEAL);
        if (ev != NULL)
            ev->arg = victim->index;
        crew_stat_add(&thief->stats.steals, 1);
        /* More where this came from: wake the next sleeper for it. */
        if (crew_deque_size_estimate(&victim->deque) > 0)
            crew_wake_next(thief->pool);
        *out = x;
        return 0;
    }
    crew_stat_add(&thief->stats.failed_steals, 1);
    if (r == CREW_STEAL_EMPTY)
        crew_ask_for_work(&victim->hot);
    return r == CREW_STEAL_RETRY ? EAGAIN : ENOENT;
}

/* The steal's veto for leapfrogging: the awaited job is done. A function
 * of the veto's own type, so nothing is called through a pointer of
 * another type. */
typedef struct awaited_job {
    crew_job_ *job;
    int (*done)(crew_job_ *);
} awaited_job;

static int awaited_is_done(void *arg)
{
    const awaited_job *a = arg;
    return a->done(a->job);
}

int crew_steal_subtask(crew_worker *thief, crew_worker *runner, crew_job_ *awaited,
                       int (*done)(crew_job_ *), crew_job_ **out)
{
    /* [mo: worker.steal_subtask.floor] */
    int64_t floor = atomic_load_explicit(&runner->floor, memory_order_acquire);
    /* Floor first, then done: the runner restores an older floor only
     * after the awaited job's completion, so if we read the older floor we
     * also see the job done here, and do not steal below its floor. And
     * done again inside the steal, after its acquire of bottom: an item
     * the runner's outer frame pushed after the job finished is visible
     * only with that completion, so the veto refuses it. */
    if (done(awaited))
        return ENOENT;
    awaited_job a = {awaited, done};
    return steal_counted(thief, runner, floor, awaited_is_done, &a, out);
}

static int steal_from(crew_worker *thief, crew_worker *victim, crew_job_ **out)
{
    return steal_counted(thief, victim, INT64_MIN, NULL, NULL, out);
}

/* ---- batches from the injection queue ---- */

int crew_batch_take(crew_worker *v, crew_inj_item *out)
{
    crew_batch *b = &v->batch;
    for (;;) {
        /* Acquire: pairs with the refill's release, so the items of this
         * generation are visible. */
        uint64_t c = atomic_load_explicit(&b->ctl, memory_order_acquire);
        unsigned next = BATCH_NEXT(c);
        if (next >= BATCH_LEN(c))
            return 0;
        out->fn = atomic_load_explicit(&b->items[next].fn, memory_order_relaxed);
        out->arg = atomic_load_explicit(&b->items[next].arg, memory_order_relaxed);
        out->ref = atomic_load_explicit(&b->items[next].ref, memory_order_relaxed);
        out->kind = atomic_load_explicit(&b->items[next].kind, memory_order_relaxed);
        /* The CAS fails if another taker got `next`, or if the owner has
         * refilled (new generation): then our copy is discarded. */
        if (atomic_compare_exchange_weak_explicit(&b->ctl, &c, c + ((uint64_t)1 << 8),
                                                  memory_order_acq_rel,
                                                  memory_order_relaxed))
            return 1;
    }
}

/* Owner only, when its batch is used up: claim up to CREW_INJ_BATCH items
 * from the injection queue. How many. */
static unsigned batch_refill(crew_worker *w)
{
    crew_pool *pool = w->pool;
    crew_inj_item tmp[CREW_INJ_BATCH];
    unsigned n = crew_injector_pop_batch(&pool->inj, tmp, CREW_INJ_BATCH, pool->nworkers);
    if (n == 0)
        return 0;
    crew_batch *b = &w->batch;
    for (unsigned i = 0; i < n; i++) {
        atomic_store_explicit(&b->items[i].fn, tmp[i].fn, memory_order_relaxed);
        atomic_store_explicit(&b->items[i].arg, tmp[i].arg, memory_order_relaxed);
        atomic_store_explicit(&b->items[i].ref, tmp[i].ref, memory_order_relaxed);
        atomic_store_explicit(&b->items[i].kind, tmp[i].kind, memory_order_relaxed);
    }
    /* Counted before the items are published: a thief may run them all
     * and complete them before we go on, and a reader synchronized with
     * those completions must see the count. */
    crew_stat_add(&w->stats.injected, n);
    /* A bounded queue gets its places back before the items can run: once
     * they are published below, an idle worker (or shutdown's drain) may
     * take, run and finish them at once, and their submitters may submit
     * again; places still counted then would refuse those submits (EAGAIN
     * from a queue that is not full) and outlive a shutdown. The items left
     * the injection queue when pop_batch returned. */
    if (pool->cfg.queue_limit != 0)
        crew_space_release(pool, n);
    uint64_t c = atomic_load_explicit(&b->ctl, memory_order_relaxed);
    uint64_t gen = (c >> 16) + 1;
    /* Release: takers that see the new generation see its items. */
    atomic_store_explicit(&b->ctl, (gen << 16) | n, memory_order_release);
    /* Batch-mates others could run, or more queued work: wake sleepers,
     * one per batch-mate (at least one if the queue has more). */
    if (n > 1)
        crew_wake_after_publish(pool, n - 1);
    else if (!crew_injector_empty(&pool->inj))
        crew_wake_after_publish(pool, 1);
    return n;
}

/* Runs one item taken from the injection queue (through a batch). */
static void run_item(crew_worker *w, const crew_inj_item *it)
{
    if (it->kind == CREW_INJ_JOB) {
        crew_execute_job(w, it->ref);
        return;
    }
    crew_trace_event *ev = crew_trace(w, CREW_TRACE_TASK);
    if (ev != NULL) {
        ev->what = *(const void *const *)&it->fn;
        ev->label = (const char *)it->ref; /* a post's label rides in ref */
    }
    crew_stat_add(&w->stats.tasks_run, 1);
    it->fn(it->arg);
    crew_count_completed(w->pool, w);
    if (ev != NULL)
        ev->end_ns = crew_trace_now_ns();
}

/* Runs the next item of this worker's batch, refilling it from the
 * injection queue when used up: 1 if it ran one. */
static int run_injected(crew_worker *w)
{
    crew_inj_item it;
    if (!crew_batch_take(w, &it) && (!batch_refill(w) || !crew_batch_take(w, &it)))
        return 0;
    run_item(w, &it);
    return 1;
}

/* Idle: take a batch-mate from another worker's batch. */
static int run_stolen_batch_item(crew_worker *w)
{
    crew_pool *pool = w->pool;
    for (unsigned i = 0; i < pool->nworkers; i++) {
        crew_worker *v = pool->workers[i];
        crew_inj_item it;
        if (v != w && crew_batch_take(v, &it)) {
            /* Relaxed: a hint, as in crew_wake_next. */
            uint64_t c = atomic_load_explicit(&v->batch.ctl, memory_order_relaxed);
            if (BATCH_NEXT(c) < BATCH_LEN(c))
                crew_wake_next(pool);
            crew_trace_event *ev = crew_trace(w, CREW_TRACE_STEAL);
            if (ev != NULL)
                ev->arg = v->index;
            crew_stat_add(&w->stats.steals, 1);
            run_item(w, &it);
            return 1;
        }
    }
    return 0;
}

/* One round over the other workers, from a random one: a stolen job, or
 * NULL. */
static crew_job_ *steal_round(crew_worker *w)
{
    crew_pool *pool = w->pool;
    unsigned n = pool->nworkers;
    if (n < 2)
        return NULL;
    unsigned start = (unsigned)(next_random(&w->rng) % n);
    for (unsigned k = 0; k < n; k++) {
        unsigned v = (start + k) % n;
        if (v == w->index)
            continue;
        crew_job_ *job;
        int r;
        /* A lost race means the victim has work: try it again at once. */
        while ((r = steal_from(w, pool->workers[v], &job)) == EAGAIN)
            ;
        if (r == 0)
            return job;
    }
    return NULL;
}

/* Runs one piece of work if there is any: 1 if it did. */
static int work_once(crew_worker *w)
{
    crew_job_ *job;
    if (++w->local_since_inject >= INJECT_POLL_EVERY) {
        w->local_since_inject = 0;
        if (run_injected(w))
            return 1;
    }
    if ((job = crew_deque_pop(&w->deque)) != NULL || run_injected(w) ||
        (job = steal_round(w)) != NULL) {
        if (job != NULL)
            crew_execute_job(w, job);
        return 1;
    }
    return run_stolen_batch_item(w);
}

void crew_execute_job(crew_worker *w, crew_job_ *job)
{
    crew_trace_event *ev = crew_trace(w, CREW_TRACE_TASK);
    if (ev != NULL) {
        ev->what = *(const void **)&job->fn;
        ev->label = job->label;
    }
    int64_t saved = crew_floor_enter(w);
    if (job->finish == NULL) {
        /* A stolen spawn: tell its owner who runs it (for leapfrogging),
         * only now that our floor is set for it. Relaxed state store:
         * only the owner's CAS STOLEN -> WAITING reads it, and it loops
         * until it sees it. [mo: worker.execute.state] */
        __atomic_store_n(&job->state, CREW_SPAWN_STOLEN, __ATOMIC_RELAXED);
        /* [mo: worker.execute.runner] */
        __atomic_store_n(&job->runner, w, __ATOMIC_RELEASE);
        crew_run_stolen_spawn(w, job);
    } else {
        job->finish(job, w);
    }
    crew_floor_leave(w, saved);
    if (ev != NULL)
        ev->end_ns = crew_trace_now_ns();
}

/* Searches for spin_us, backing off with sched_yield, then sleeps until a
 * wake. Returns 1 if it ran something, 0 when woken or stopping. */
static int search_then_sleep(crew_worker *w)
{
    crew_pool *pool = w->pool;
    double deadline = now_us() + pool->cfg.spin_us;
    unsigned rounds = 0;
    do {
        if (++rounds < 16)
            crew_spin_hint();
        else
            sched_yield();
        if (work_once(w))
            return 1;
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire))
            return 0;
    } while (now_us() < deadline);

    crew_idle_sleep(w);
    return 0;
}

void *crew_worker_main(void *arg)
{
    crew_worker *w = arg;
    crew_pool *pool = w->pool;
    crew_current_worker_ = &w->hot;
    if (pool->cfg.on_worker_start != NULL)
        pool->cfg.on_worker_start(w->index, pool->cfg.ctx);
    for (;;) {
        if (work_once(w) || search_then_sleep(w))
            continue;
        /* [mo: worker.main.stopping] */
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire) &&
            !crew_work_visible(pool))
            break;
    }
    /* The stop hook runs as an outside thread: a post from it must not
     * land on this exiting worker's deque (it gets ESHUTDOWN). */
    crew_current_worker_ = &crew_outside_worker_;
    if (pool->cfg.on_worker_stop != NULL)
        pool->cfg.on_worker_stop(w->index, pool->cfg.ctx);
    return NULL;
}
