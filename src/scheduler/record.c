/*
 * Detached task records (record.h has the life of a record): where they
 * come from (the pool's object pool, with a cache per worker), their
 * references, the claim out of PENDING, running and completing them.
 */
#include "scheduler/record.h"

#include <errno.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "pool/objpool.h"

struct crew_records {
    crew_objpool *objects;
    _Atomic long refs; /* the pool's, plus one per live future or group task */
};

/* ---- records ---- */

/* Once per object (the object pool's init): the fields whose resting value
 * every use restores, so that record_alloc need not write them (they sit
 * beside the ones it does write, or in the third cache line). */
static int record_build(void *obj, void *ctx)
{
    (void)ctx;
    crew_record *r = obj;
    atomic_init(&r->first_node_taken, 0);
    atomic_init(&r->cb_event, 0);
    atomic_init(&r->cb_sleepers, 0);
    r->group_next = NULL;
    r->serial = NULL;
    return 0;
}

crew_records *crew_records_create(unsigned nworkers)
{
    crew_records *home = crew_malloc(sizeof(*home));
    if (home == NULL)
        return NULL;
    crew_objpool_config cfg = {
        .obj_size = sizeof(crew_record), .max_idle = 4096, .init = record_build};
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

/* The caller's slot in the records' per-worker caches: its worker index
 * on a worker of the records' pool, else the shared stack (an outside
 * thread's cache would strand records when the thread ends). */
static unsigned record_slot(crew_records *home)
{
    crew_worker *w = crew_self();
    return (w != NULL && w->pool->records == home) ? w->index : CREW_OBJPOOL_SHARED;
}

static crew_record *record_alloc(crew_pool *pool, crew_fn fn, void *arg, crew_record_kind kind)
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
    r->job.label = crew_trace_current_label();
    /* The queue's reference, plus the submitter's (future) or the group
     * list's (group task). */
    atomic_init(&r->refs, kind == CREW_RECORD_POST ? 1 : 2);
    atomic_init(&r->waiters, 0);
    r->kind = kind;
    r->pool = pool;
    r->group = NULL;
    r->home = home;
    atomic_init(&r->callbacks, 0);
    /* Futures and group tasks may be dropped after the pool is gone (a
     * future released late, a group destroyed after its pool): they keep
     * the records' home alive. */
    if (kind != CREW_RECORD_POST)
        atomic_fetch_add_explicit(&home->refs, 1, memory_order_relaxed);
    return r;
}

void crew_record_unref(crew_record *r)
{
    /* AcqRel: every use of the record by the other holder happens before
     * it is reused. */
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
        return;
    crew_records *home = r->home;
    int holds_home = r->kind != CREW_RECORD_POST;
    crew_objpool_release_at(home->objects, record_slot(home), r);
    if (holds_home)
        home_unref(home);
}

void crew_record_ref(crew_record *r)
{
    /* Relaxed: the caller holds a reference, so the count cannot reach 0
     * meanwhile; the drop that pairs with the reuse is the AcqRel one. */
    atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

int crew_record_claim(crew_record *r)
{
    /* AcqRel: the winner sees what the submitter wrote into the record;
     * acquire on failure: a loser that reads DONE sees the result.
     * [mo: record.claim] */
    uint32_t expect = CREW_JOB_PENDING;
    return __atomic_compare_exchange_n(&r->job.state, &expect, CREW_JOB_RUNNING, 0,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

void crew_record_finalize(crew_record *r, uint32_t final)
{
    /* SeqCst exchange, then crew_state_wake's seq_cst load of the waiters
     * (the waiter increments them, then reads the state: sleep.c).
     * [mo: record.finalize] */
    __atomic_exchange_n(&r->job.state, final, __ATOMIC_SEQ_CST);
    crew_state_wake((_Atomic uint32_t *)&r->job.state, &r->waiters);
    /* SeqCst load, after the seq_cst exchange: a registration pushes onto
     * the list with a seq_cst RMW and then reads the state (seq_cst), so
     * either we see its node here or it sees the future final and claims
     * the list itself (callbacks.c). With nothing registered, this load
     * is all that completion pays. (The models transcribe this load; the
     * callback list itself is not modelled: docs/models.md.)
     * [mo: record.finalize.callbacks] */
    if (atomic_load_explicit(&r->callbacks, memory_order_seq_cst) != 0)
        crew_record_run_callbacks(r);
}

/* Runs a claimed record on worker w and completes it. */
static void record_execute(crew_record *r, crew_worker *w)
{
    crew_pool *pool = r->pool;
    /* [mo: record.execute.runner] */
    __atomic_store_n(&r->job.runner, w, __ATOMIC_RELEASE);
    crew_stat_add(&w->stats.tasks_run, 1);
    r->job.result = r->job.fn(r->job.arg);
    crew_group *g = r->group;
    crew_record_finalize(r, CREW_JOB_DONE);
    crew_count_completed(pool, w);
    if (g != NULL)
        crew_group_task_done(g);
}

/* The queue entry's handler: called once by whoever dequeued the record. */
static void record_dequeued(crew_job_ *job, void *worker)
{
    crew_record *r = (crew_record *)job;
    if (crew_record_claim(r))
        record_execute(r, worker);
    else if (__atomic_load_n(&job->state, __ATOMIC_ACQUIRE) == CREW_JOB_CANCELLED)
        /* Cancelled by crew_future_cancel: the dequeuer, a worker, does
         * the pool's accounting (a user thread could race destroy). */
        crew_count_completed(r->pool, worker);
    /* Otherwise a waiter claimed it and ran it (and accounted for it). */
    crew_record_unref(r);
}

void crew_record_run_claimed(crew_record *r, crew_worker *w)
{
    int64_t saved = crew_floor_enter(w);
    record_execute(r, w);
    crew_floor_leave(w, saved);
}

crew_record *crew_record_new(crew_pool *pool, crew_fn fn, void *arg, crew_record_kind kind,
                             int *rc)
{
    if (pool == NULL || fn == NULL) {
        *rc = EINVAL;
        return NULL;
    }
    crew_record *r = record_alloc(pool, fn, arg, kind);
    if (r == NULL) {
        *rc = ENOMEM;
        return NULL;
    }
    r->job.finish = record_dequeued;
    return r;
}

void crew_record_discard(crew_record *r)
{
    /* Relaxed: nobody else has seen the record. */
    atomic_store_explicit(&r->refs, 1, memory_order_relaxed);
    crew_record_unref(r);
}

static int state_settled(uint32_t s)
{
    return s == CREW_JOB_DONE || s == CREW_JOB_CANCELLED;
}

int crew_record_final(const crew_record *r)
{
    /* Acquire: pairs with the finalizing exchange, so the result (or the
     * cancellation) is visible. [mo: record.final] */
    return state_settled(__atomic_load_n(&r->job.state, __ATOMIC_ACQUIRE));
}

int crew_record_sleep(crew_record *r, long ns, const struct timespec *abstime)
{
    return crew_state_wait((_Atomic uint32_t *)&r->job.state, &r->waiters, state_settled, ns,
                           abstime);
}
