/*
 * The scheduler's private structures and its files' shared functions.
 * docs/scheduler.md is the design; this header is the map: which thread
 * writes which field, and which file offers what. In layers, each using
 * only those above it and the files of its own layer:
 *
 *   job records (crew_job_, from include/crew/fastpath.h) and their states
 *   workers and the pool (the structures)
 *   sleep.c     every futex handshake
 *   worker.c    the worker loop, stealing, floors, batches
 *   forkjoin.c  spawn/sync slow paths, stolen spawns, leapfrogging
 *   record.c, executor.c, group.c   detached tasks (record.h)
 *   serial.c    serial queues (their tasks are records; record.h)
 *   lifecycle.c the pool's life (create, shutdown, destroy, stats)
 *
 * Where a lower layer calls a higher one, it is through a job's `finish`
 * handler or because a worker running a job may wait (docs/scheduler.md,
 * "Files").
 */
#ifndef CREW_SCHED_INTERNAL_H
#define CREW_SCHED_INTERNAL_H

#include <crew.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "deque/deque.h"
#include "scheduler/injector.h"
#include "scheduler/trace.h"

/* crew_job_.state for spawned tasks (fork-join). */
enum {
    CREW_SPAWN_PENDING = 0, /* in the owner's private prefix or deque */
    CREW_SPAWN_STOLEN = 1,  /* a thief runs it */
    CREW_SPAWN_WAITING = 2, /* stolen, and the owner sleeps on this word */
    CREW_SPAWN_DONE = 3,    /* the thief finished; result is set */
};

/* crew_job_.state for detached tasks (submit, post, group, run). Whoever
 * moves PENDING to RUNNING runs the task; a cancel moves PENDING to
 * CANCELLED. The queue entry is dropped by whoever dequeues it. */
enum {
    CREW_JOB_PENDING = 0,
    CREW_JOB_RUNNING = 1,
    CREW_JOB_DONE = 2,
    CREW_JOB_CANCELLED = 3,
};

/* crew_job_.flags of detached jobs. */
enum {
    CREW_JOB_NOCANCEL = 1u << 0, /* crew_run's root, a serial queue's drain: always runs */
    CREW_JOB_SERIAL = 1u << 1,   /* a serial queue's task: only its queue's drain runs it */
    CREW_JOB_OUTSIDE = 1u << 2,  /* a serial task accepted from outside the pool */
};

typedef struct crew_worker crew_worker;

/* Most items a worker claims from the injection queue at once. */
#define CREW_INJ_BATCH 8

/* Items a worker claimed from the injection queue with one CAS. The owner
 * runs them in order; an idle worker may take one, and shutdown's drain
 * cancels them, so a batch-mate is never stranded behind a blocked item.
 * ctl packs {generation:48, next:8, len:8}; taking item `next` is a CAS
 * on ctl, and a refill (owner only, when next == len) bumps the
 * generation, so a thief's stale copy fails its CAS (a 48-bit generation
 * does not wrap while a thief is preempted). */
#define BATCH_NEXT(c) ((unsigned)((c) >> 8) & 0xffu)
#define BATCH_LEN(c) ((unsigned)(c) & 0xffu)

typedef struct crew_batch {
    _Alignas(64) _Atomic uint64_t ctl;
    struct {
        _Atomic(crew_fn) fn;
        _Atomic(void *) arg;
        _Atomic(void *) ref;
        _Atomic uintptr_t kind;
    } items[CREW_INJ_BATCH];
} crew_batch;

/* Counters each worker writes on its own cache line (relaxed stores by the
 * owner only) and crew_pool_stats sums. */
typedef struct crew_worker_stats {
    _Atomic uint64_t tasks_run, steals, failed_steals, injected, sleeps,
        wakeups;
    /* Detached tasks this worker accepted from the pool's own tasks, and
     * detached tasks it finished (ran or dropped as cancelled). Shutdown's
     * quiet test compares their sums with the injection queue's count. */
    _Atomic uint64_t internal_accepted, completed;
} crew_worker_stats;

struct crew_worker {
    crew_worker_hot_ hot; /* first: the header's fast path sees this part */
    crew_deque deque;
    _Alignas(64) crew_worker_stats stats;
    crew_pool *pool;
    unsigned index;
    uint64_t rng;             /* victim choice, owner only */
    unsigned local_since_inject; /* tasks since the last injector poll */
    /* The leapfrog floor: the deque's bottom when this worker started the
     * job it runs now (others may wait on it). A worker waiting on that
     * job steals back only items at or above it: the job's subtasks. */
    _Alignas(64) _Atomic int64_t floor;
    crew_batch batch;
    crew_trace_buf trace; /* owner only; used when the pool traces */
    /* The serial queues whose drains run on this worker now, innermost
     * first (serial.c; owner only): a wait for one of them here would
     * wait for itself. */
    struct crew_serial_frame *serial_frames;
    pthread_t thread;
    int started;
};

struct crew_pool {
    crew_config cfg;
    unsigned nworkers;
    crew_worker **workers;
    struct crew_records *records; /* detached job records (futures, posts) */
    struct crew_objpool *serial_nodes; /* serial queues' posted tasks (serial.c) */

    crew_injector inj;

    /* Idle workers: `idle` counts sleepers (workers between announcing
     * sleep and getting up) and wake tokens (wakes sent whose sleeper has
     * not got up yet), see sleep.c; `event` is the futex word they sleep
     * on, bumped per wake. */
    _Alignas(64) _Atomic uint64_t idle;
    _Atomic uint32_t event;
    _Atomic uint64_t outside_wakeups; /* wake calls made by non-workers */

    /* Shutdown waiting for quiet: idle workers bump quiet_event. */
    _Alignas(64) _Atomic uint32_t quiet_event;
    _Atomic int quiet_waiters;
    _Atomic uint64_t drained; /* cancelled by shutdown's drain */

    /* Serial-queue tasks accepted from outside threads (serial.c): a
     * seq_cst RMW before the poster looks at the closed flag, so shutdown's
     * quiet test sees every outside serial task the close did not refuse. */
    _Alignas(64) _Atomic uint64_t serial_accepted;

    /* Bounded queue: tasks in the injector; producers wait on space_event. */
    _Alignas(64) _Atomic int64_t queued;
    _Atomic uint32_t space_event;
    _Atomic unsigned space_waiters;

    char *trace_path;     /* NULL: no trace */
    uint64_t trace_origin; /* the pool's creation, in trace time */
    unsigned trace_number; /* the trace's process id for this pool */
    char name[32];        /* cfg.name, copied: the caller's string may go */

    _Alignas(64) _Atomic int stopping; /* destroy: workers exit when quiet */
    /* Shutdown with cancel_pending was called: serial drains cancel the
     * outside tasks they have not started (set before the close). */
    _Atomic int serial_cancel;
    pthread_mutex_t lifecycle; /* shutdown/destroy only: never on a hot path */
};

/* ------------------------------------------------------------------ */
/* Helpers every file uses                                             */
/* ------------------------------------------------------------------ */

/* The worker running on this thread, NULL elsewhere. */
static inline crew_worker *crew_self(void)
{
    crew_worker_hot_ *h = crew_current_worker_;
    return h->is_worker ? (crew_worker *)(void *)h : NULL;
}

/* The worker running on this thread if it is one of pool's, else NULL:
 * the one test for "the caller is a worker of this pool". */
static inline crew_worker *crew_own_worker(const crew_pool *pool)
{
    crew_worker *w = crew_self();
    return w != NULL && w->pool == pool ? w : NULL;
}

/* A thief found v's public part empty, or a worker goes to sleep: ask v's
 * owner to publish a task at its next spawn (which the 0 sends to the
 * slow path). Relaxed: a missed request costs parallelism, never progress
 * (the owner runs its tasks itself); tested first, so that a busy owner's
 * line is not written again and again. */
static inline void crew_ask_for_work(crew_worker_hot_ *v)
{
    /* [mo: request.ask.load] */
    if (__atomic_load_n(&v->limit, __ATOMIC_RELAXED) != 0) /* [mo: request.ask.store] */
        __atomic_store_n(&v->limit, 0, __ATOMIC_RELAXED);
}

/* Whether somebody wants a task from this thread (or nothing of it is
 * published yet): what crew_parallel_for's lazy splitting asks. */
static inline int crew_work_wanted(const crew_worker_hot_ *h)
{
    return __atomic_load_n(&h->limit, __ATOMIC_RELAXED) == 0;
}

static inline void crew_stat_add(_Atomic uint64_t *c, uint64_t n)
{
    /* Owner-only counter: a relaxed load and store, no RMW. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Tracing: an event to fill on w's own buffer, or NULL when the pool does
 * not trace (the one branch tracing costs when off). */
static inline crew_trace_event *crew_trace(crew_worker *w, uint32_t kind)
{
    return w->pool->trace_path == NULL ? NULL : crew_trace_add(&w->trace, kind);
}

/* ------------------------------------------------------------------ */
/* sleep.c: every futex handshake (sleeping and waking)                */
/* ------------------------------------------------------------------ */

/* After a publication that was a seq_cst store (the injector's): wake a
 * sleeper if one has no wake coming. */
void crew_wake_after_sc_publish(crew_pool *pool);
/* After n items were published with release stores (deque pushes, a
 * batch): wake up to n sleepers that have no wake coming; the idle word is
 * read with a seq_cst RMW, which orders the pushes before it. How many. */
unsigned crew_wake_after_publish(crew_pool *pool, unsigned n);
/* A worker found work where more is waiting: wake the next sleeper (a
 * chain reaching min(k, s) sleepers where one wake was sent for several
 * items). */
void crew_wake_next(crew_pool *pool);
/* Destroy: wake every sleeping worker. */
void crew_wake_all_workers(crew_pool *pool);
/* Whether a worker about to sleep can see work anywhere. */
int crew_work_visible(crew_pool *pool);
/* An idle worker's last step: announce, ask busy workers to publish, look
 * once more, sleep until woken (or not at all if work showed up). */
void crew_idle_sleep(crew_worker *w);
/* Shutdown waiting until quiet(pool); idle workers notify it on their way
 * to sleep (crew_idle_sleep). */
void crew_quiet_wait(crew_pool *pool, int (*quiet)(crew_pool *));
/* Bounded queue: a producer sleeps while still_full(pool); freeing n
 * places wakes waiting producers; shutdown wakes them all. */
void crew_space_wait(crew_pool *pool, int (*still_full)(crew_pool *));
void crew_space_release(crew_pool *pool, unsigned n);
void crew_space_wake_all(crew_pool *pool);
/* A stolen spawn: the owner sleeps at most ns on its state word; the
 * thief's completion wakes it. */
void crew_stolen_sleep(crew_job_ *job, long ns);
void crew_stolen_complete(crew_job_ *job);
/* A state word with a count of waiters (records): sleep until
 * settled(state), ns pass (ns > 0) or abstime (CLOCK_REALTIME) passes, 0
 * or ETIMEDOUT; the waker changes the state (seq_cst) and calls wake. */
int crew_state_wait(_Atomic uint32_t *state, _Atomic uint32_t *waiters,
                    int (*settled)(uint32_t), long ns, const struct timespec *abstime);
void crew_state_wake(_Atomic uint32_t *state, _Atomic uint32_t *waiters);
/* A count (groups): sleep at most ns (0: no limit) while it is not 0;
 * dropping it to 0 wakes every waiter (1 if this drop did). */
void crew_count_wait(_Atomic uint32_t *count, long ns);
int crew_count_drop(_Atomic uint32_t *count);
/* A flag (crew_run, a serial queue's wait marker): sleep until set; set
 * wakes the waiter. */
void crew_flag_wait(_Atomic uint32_t *flag);
void crew_flag_set(_Atomic uint32_t *flag);
/* An event (callback turns, completion-queue takers): sleep until
 * ready(ctx), which must read with seq_cst loads, or abstime
 * (CLOCK_REALTIME; NULL: none) passes, 0 or ETIMEDOUT, at most one sleep
 * (the caller loops). The waker makes the condition true with a seq_cst
 * operation, then signals (waking n sleepers if any is announced). */
int crew_event_wait(_Atomic uint32_t *event, _Atomic uint32_t *sleepers,
                    int (*ready)(void *ctx), void *ctx, const struct timespec *abstime);
void crew_event_signal(_Atomic uint32_t *event, _Atomic uint32_t *sleepers, int n);
/* A tally (wait_any): sleep until it reaches target or abstime passes, 0
 * or ETIMEDOUT; adding n wakes the waiter when it reaches the target. */
int crew_tally_wait(_Atomic uint32_t *tally, uint32_t target, const struct timespec *abstime);
void crew_tally_add(_Atomic uint32_t *tally, uint32_t n, uint32_t target);

/* ------------------------------------------------------------------ */
/* worker.c: the worker loop, stealing, floors, batches                */
/* ------------------------------------------------------------------ */

/* A worker thread's start routine (lifecycle.c starts them). */
void *crew_worker_main(void *arg);
/* Runs a job others may wait on (a stolen spawn, a detached job) on w,
 * with its own leapfrog floor. */
void crew_execute_job(crew_worker *w, crew_job_ *job);
/* Around running a job others may wait on: set the leapfrog floor to the
 * deque's bottom, and restore it after (after the job's completion is
 * published, so a waiter that sees the old floor also sees the job done). */
int64_t crew_floor_enter(crew_worker *w);
void crew_floor_leave(crew_worker *w, int64_t saved);
/* Leapfrogging: steal from runner only items pushed since its current job
 * began, unless awaited (the job waited for) is done by then. 0, EAGAIN
 * (lost a race) or ENOENT. */
int crew_steal_subtask(crew_worker *thief, crew_worker *runner, crew_job_ *awaited,
                       int (*done)(crew_job_ *), crew_job_ **out);
/* Takes the next item of v's batch: any thread (the owner, an idle worker,
 * shutdown's drain). 1 if it got one. */
int crew_batch_take(crew_worker *v, crew_inj_item *out);

/* ------------------------------------------------------------------ */
/* forkjoin.c: the private prefix, stolen spawns, leapfrogging         */
/* ------------------------------------------------------------------ */

/* A thread's slot stack (a worker's, or an outside thread's own): 0 or
 * ENOMEM; and its release. */
int crew_slots_init(crew_worker_hot_ *h, int is_worker);
void crew_slots_free(crew_worker_hot_ *h);
/* The spawns counted on a thread's slot stack (relaxed reads: exact once
 * the thread is quiet). */
uint64_t crew_spawns_counted(const crew_worker_hot_ *h);
/* Publishes every private spawn, waking sleepers for them: 1, or 0 when
 * the deque could not grow (the ones not yet published stay private). */
int crew_publish_all_private(crew_worker *w);
/* For frames that spawn many tasks and then only sync them (a task
 * graph's frame): if a thief has asked for work (limit 0) and at least two
 * private slots are unsynced, publish the oldest half of them (a spawn
 * would publish one).
 * Called between syncs, never on the inline fast path. */
void crew_answer_request(crew_worker *w);
/* A thief runs a spawn it stole and completes it for its owner. */
void crew_run_stolen_spawn(crew_worker *w, crew_job_ *job);
typedef struct crew_wait_ops {
    int (*done)(crew_job_ *job);
    void (*sleep)(crew_job_ *job, long ns);
} crew_wait_ops;
/* Leapfrog on job's runner until ops->done(job), sleeping in between. */
void crew_wait_for_runner(crew_worker *w, crew_job_ *job, const crew_wait_ops *ops);

/* ------------------------------------------------------------------ */
/* record.c, executor.c: detached tasks                                */
/* ------------------------------------------------------------------ */

/* The pool's home for detached task records (futures, posts, groups). */
struct crew_records *crew_records_create(unsigned nworkers);
void crew_records_drop_pool(crew_pool *pool);
/* Queues a detached job: onto the caller's deque if it is one of pool's
 * workers (and not `external`), else the injection queue. 0, or
 * ESHUTDOWN, EAGAIN, ENOMEM. */
int crew_enqueue_detached(crew_pool *pool, crew_job_ *job, int external);
/* Shutdown with cancel_pending: an injected item that will not run. */
void crew_cancel_injected(crew_pool *pool, const crew_inj_item *item);
/* Queues a job whose tasks the pool has already accepted and counted (a
 * serial queue's drain, flagged NOCANCEL) on the injection queue, behind
 * the pool's other work: past queue_limit, and even when the queue is
 * closed (the pool is not quiet while those tasks are pending, so its
 * workers are there to run it). 0 or ENOMEM (no segment). */
int crew_enqueue_accepted(crew_pool *pool, crew_job_ *job);

/* serial.c: the pool's store of serial-queue nodes (a posted task each):
 * an object pool with a cache per worker and no idle limit (NULL: ENOMEM),
 * destroyed with the pool once every task is done. */
struct crew_objpool *crew_serial_nodes_create(unsigned nworkers);

/* ------------------------------------------------------------------ */
/* lifecycle.c: the pool's accounting                                  */
/* ------------------------------------------------------------------ */

/* A detached task is finished (or dropped as cancelled): w counts it, or
 * the pool when w is NULL (shutdown's drain). */
void crew_count_completed(crew_pool *pool, crew_worker *w);

#endif
