/*
 * Serial queues: tasks that run one at a time, in the order they were
 * accepted, on the pool's workers. docs/scheduler.md, "Serial queues", is
 * the design; this comment is its summary.
 *
 * A queue is an intrusive list of tasks (Vyukov's MPSC list: a producer
 * exchanges the tail, then links its predecessor to itself; a posted task
 * is a small node, a submitted one is its future's record) and one drain
 * job. The tail is also the queue's state: NULL when idle. A post whose
 * exchange reads NULL found the queue idle and queues the drain, which
 * runs on a worker, takes the tasks oldest first, one at a time, and,
 * when the newest task it took has no successor, leaves with a CAS of the
 * tail from that task back to NULL. The exchanges and that CAS are RMWs
 * on one word, so they are one modification order: a post either comes
 * before the CAS (the CAS fails, and the drain waits for the post's link
 * and goes on) or after it (the post reads NULL and starts the next
 * drain). So a queue with tasks has exactly one drain, queued or running,
 * and an empty queue has none. A drain that has taken CREW_SERIAL_TURN
 * tasks queues itself again at the back of the injection queue and
 * returns: a busy queue yields its worker every 64 tasks.
 *
 * Progress. A post's list step is wait-free: an exchange and a store, and
 * no producer ever waits for another or for the drain. A post as a whole
 * is lock-free as its parts are: the node or record comes from an object
 * pool (lock-free), and the post that finds the queue idle pushes the
 * drain on the injection queue (lock-free outside the segment-install
 * window that injector.h describes). The drain is the one that can wait:
 * a producer between its exchange and its link holds back its task and
 * all linked after it; the drain spins, then yields, then gives its
 * worker back and looks again later. That window is one store long.
 *
 * Accounting (docs/scheduler.md, "Accounting for shutdown"): every serial
 * task is a detached task of the pool, counted as accepted (an inside
 * post: the worker's internal_accepted; an outside post: the pool's
 * serial_accepted) and as completed once it has run or been cancelled and
 * its node is back in the store; each queuing of a drain is a detached job
 * of its own (counted by the queue it goes on) and completes when the
 * drain returns.
 */
#include "scheduler/record.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/port.h"
#include "pool/objpool.h"

/* How long the drain waits for a producer between its exchange and its
 * link before it gives its worker back: spins, then sched_yield calls. */
#define LINK_SPINS 64
#define LINK_YIELDS 64

struct crew_serial {
    crew_pool *pool;
    /* Producers' line: the newest task, or NULL when the queue is idle
     * (exchanged by every post; the drain's leaving CAS sets NULL). */
    _Alignas(64) crew_serial_link *_Atomic tail;
    /* The drain's, one at a time (handed from one to the next through
     * the tail and the pool's queues): where the next turn starts, and
     * whether that task was taken already (a drain that gave its worker
     * back while waiting for a link); and the job itself. */
    _Alignas(64) crew_serial_link *head;
    int head_taken;
    crew_job_ drain;
};

/* A drain running on a worker: the worker's list of these (innermost
 * first) says which queues' tasks are running lower on its stack. */
typedef struct crew_serial_frame {
    const crew_serial *serial;
    struct crew_serial_frame *outer;
} crew_serial_frame;

/* What holds a link (crew_serial_link.kind). */
enum { LINK_POST, LINK_RECORD, LINK_MARKER };

/* A posted task: no future, so no record (a record's references, state
 * and waiters are for futures). From the pool's node store. */
typedef struct serial_node {
    crew_serial_link link; /* first */
    crew_fn fn;
    void *arg;
    int outside; /* accepted from outside the pool */
} serial_node;

/* crew_serial_wait's place in the queue, on the waiter's stack. */
typedef struct serial_marker {
    crew_serial_link link; /* first */
    _Atomic uint32_t passed;
} serial_marker;

static crew_record *record_of(crew_serial_link *n)
{
    return (crew_record *)(void *)((char *)n - offsetof(crew_record, serial_link));
}

/* ---- the node store ----
 *
 * No idle limit: a node released goes back to the releasing worker's
 * cache (spilling half of a full cache to the shared stack with one CAS),
 * so a steady stream of posts allocates nothing; the store's memory is
 * bounded by the largest backlog of posted serial tasks the pool has had
 * (as the injection queue's segments are), and goes at the pool's destroy.
 * (The records' pool keeps at most 4,096 idle: a backlog deeper than that
 * freed and allocated a record per task, half the time of a post.) */

struct crew_objpool *crew_serial_nodes_create(unsigned nworkers)
{
    crew_objpool_config cfg = {.obj_size = sizeof(serial_node), .max_idle = 0};
    return crew_objpool_create_slots(&cfg, nworkers);
}

/* The caller's slot in the node store: its worker index on a worker of
 * the pool, else the shared stack (an outside thread's cache would strand
 * nodes when the thread ends). */
static unsigned node_slot(crew_worker *w)
{
    return w != NULL ? w->index : CREW_OBJPOOL_SHARED;
}

/* ---- the list ---- */

/* Any number of producers at once: links n as the newest task. Wait-free.
 * 1 if the queue was idle: then n is the drain's head, and the caller must
 * start the drain (or take n back out, crew_serial_wait). */
static int list_push(crew_serial *s, crew_serial_link *n)
{
    /* Relaxed: published by the exchange's release below. */
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* AcqRel. Release: the producer that links after n (it writes
     * n->next) does so after our NULL store. Acquire: our store into
     * prev->next comes after prev's producer's NULL store; and reading
     * NULL, we come after the CAS that left the queue idle (release), so
     * after everything the last drain did, its writes to head included. */
    crew_serial_link *prev = atomic_exchange_explicit(&s->tail, n, memory_order_acq_rel);
    if (prev == NULL) {
        s->head = n;
        s->head_taken = 0;
        return 1;
    }
    /* Release: the drain that loads this link (acquire) sees the task
     * behind n, written before the post. */
    atomic_store_explicit(&prev->next, n, memory_order_release);
    return 0;
}

/* The drain, or crew_serial_wait backing out: if n, which the caller
 * holds, is still the newest task, leave the queue idle: 1. */
static int list_leave(crew_serial *s, crew_serial_link *n)
{
#ifdef CREW_NEGATIVE_CONTROL_SERIAL_LEAVE_CAS
    /* Broken on purpose: a blind store. A post that exchanged the tail
     * after n is overwritten: its task is never run, and the next post
     * starts a drain of its own. */
    atomic_store_explicit(&s->tail, NULL, memory_order_release);
    (void)n;
    return 1;
#endif
    crew_serial_link *expect = n;
    /* Release: everything this drain did (its tasks' effects, its head)
     * happens before the post that reads the NULL and starts the next
     * drain, and before crew_serial_wait's test of the tail. No ABA: n is
     * the caller's until after this, so no other task has its address.
     * Relaxed on failure: a producer exchanged the tail after n, and the
     * link load that follows acquires its task. */
    return atomic_compare_exchange_strong_explicit(&s->tail, &expect, NULL,
                                                   memory_order_release,
                                                   memory_order_relaxed);
}

/* ---- the drain ---- */

/* Shutdown with cancel_pending: a task submitted from outside that has
 * not started will not run (unless crew_future_cancel got there first). */
static void cancel_for_shutdown(crew_pool *pool, crew_record *r, crew_worker *w)
{
    /* AcqRel, as crew_future_cancel's CAS: whoever leaves PENDING owns
     * the record's fate. */
    uint32_t expect = CREW_JOB_PENDING;
    if (__atomic_compare_exchange_n(&r->job.state, &expect, CREW_JOB_CANCELLED, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        crew_record_finalize(r, CREW_JOB_CANCELLED);
    crew_count_completed(pool, w);
}

/* A claimed task on a thread that is no worker: shutdown's thread, when
 * it could not queue the drain again for want of memory (requeue_roots
 * in lifecycle.c runs it there, as it runs a crew_run root). */
static void run_without_worker(crew_record *r)
{
    r->job.result = r->job.fn(r->job.arg);
    crew_record_finalize(r, CREW_JOB_DONE);
    crew_count_completed(r->pool, NULL);
}

/* Whether shutdown with cancel_pending was called. Relaxed: shutdown's
 * store comes before its close, and a thread that saw the close happens
 * after the store, so it sees the flag (coherence); a drain that is
 * already past this test for a task runs it, as shutdown leaves a batch a
 * worker holds (best effort for the task starting now, exactly once
 * either way). */
static int cancelling(crew_pool *pool)
{
    return atomic_load_explicit(&pool->serial_cancel, memory_order_relaxed);
}

/* Runs (or cancels) the task of a link, whose successor is not known yet:
 * the link itself stays the drain's until leave_one. */
static void take_one(crew_pool *pool, crew_serial_link *n, crew_worker *w)
{
    if (n->kind == LINK_POST) {
        /* Nobody else can touch a post's node (no future; the drain is
         * shutdown's only canceller): no claim, no state. */
        serial_node *t = (serial_node *)(void *)n;
        if (t->outside && cancelling(pool)) {
            if (pool->cfg.on_cancel != NULL)
                pool->cfg.on_cancel(t->fn, t->arg, pool->cfg.ctx);
        } else {
            if (w != NULL)
                crew_stat_add(&w->stats.tasks_run, 1);
            t->fn(t->arg);
        }
    } else if (n->kind == LINK_RECORD) {
        /* A future may have cancelled it, or may cancel it now: the claim
         * out of PENDING decides. The record counts itself completed: its
         * home outlives the pool. */
        crew_record *r = record_of(n);
        if ((r->job.flags & CREW_JOB_OUTSIDE) && cancelling(pool))
            cancel_for_shutdown(pool, r, w);
        else if (!crew_record_claim(r))
            crew_count_completed(pool, w); /* cancelled by crew_future_cancel */
        else if (w != NULL)
            crew_record_run_claimed(r, w); /* its own leapfrog floor, counted */
        else
            run_without_worker(r);
    }
    /* A marker has no task: it is passed in leave_one. */
}

/* The link's successor is known, or the queue was left idle after it:
 * nobody writes the link again, so it goes back. A post counts as
 * completed only now, with its node in the store: once every task has
 * completed, the pool (and the store) may be destroyed. */
static void leave_one(crew_pool *pool, crew_serial_link *n, crew_worker *w)
{
    switch (n->kind) {
    case LINK_POST:
        crew_objpool_release_at(pool->serial_nodes, node_slot(w), n);
        crew_count_completed(pool, w);
        break;
    case LINK_RECORD:
        crew_record_unref(record_of(n));
        break;
    default: /* LINK_MARKER */
        /* Its waiter may return at once, and the marker (on its stack)
         * be gone: crew_flag_set uses only the address after its store. */
        crew_flag_set(&((serial_marker *)(void *)n)->passed);
        break;
    }
}

/* The drain job's handler: called once by whoever dequeued it, a worker,
 * or (worker NULL) shutdown's thread out of memory. */
static void serial_drain(crew_job_ *job, void *worker)
{
    crew_serial *s = (crew_serial *)(void *)((char *)job - offsetof(crew_serial, drain));
    crew_worker *w = worker;
    crew_pool *pool = s->pool;
    crew_serial_frame frame = {s, NULL};
    if (w != NULL) {
        frame.outer = w->serial_frames;
        w->serial_frames = &frame;
    }
    crew_serial_link *n = s->head;
    int taken = s->head_taken;
    unsigned turn = 0;  /* tasks taken in this turn */
    unsigned waits = 0; /* looks for a link that was not there yet */
    for (;;) {
        if (!taken) {
            take_one(pool, n, w);
            taken = 1;
            turn++;
        }
        /* Acquire: pairs with list_push's linking store. */
        crew_serial_link *next = atomic_load_explicit(&n->next, memory_order_acquire);
        if (next == NULL) {
            if (list_leave(s, n)) {
                /* Idle. s may be freed from now on (destroy): not a
                 * word of it is touched again. */
                leave_one(pool, n, w);
                break;
            }
            /* A producer has exchanged the tail after n and not linked
             * yet. Wait a little, then give the worker back and come
             * again later (n stays the head, taken). */
            if (++waits <= LINK_SPINS) {
                crew_spin_hint();
            } else if (waits <= LINK_SPINS + LINK_YIELDS || w == NULL) {
                sched_yield();
            } else {
                s->head = n;
                s->head_taken = 1;
                if (crew_enqueue_accepted(pool, job) == 0)
                    break; /* another drain has s now */
                waits = LINK_SPINS; /* no memory: keep yielding */
            }
            continue;
        }
        waits = 0;
        /* The next task's line comes from its producer's core: start
         * fetching it while this link goes back. */
        __builtin_prefetch(next);
        leave_one(pool, n, w);
        n = next;
        taken = 0;
        if (turn >= CREW_SERIAL_TURN && w != NULL) {
            /* A full turn, and more to do: to the back of the line, if
             * other work waits for this worker (else going to the back
             * of an empty line would only cost a push and, likely, a
             * move to an idle worker). */
            turn = 0;
            if (crew_work_visible(pool)) {
                s->head = n;
                s->head_taken = 0;
                if (crew_enqueue_accepted(pool, job) == 0)
                    break; /* another drain has s now */
            } /* (or no memory to queue it again: go on here) */
        }
    }
    if (w != NULL)
        w->serial_frames = frame.outer;
    crew_count_completed(pool, w);
}

/* The queue was idle: queue its drain (its head is set). */
static void serial_start(crew_serial *s, crew_worker *w)
{
    crew_pool *pool = s->pool;
    /* Behind the pool's other work, not on this worker's deque: a deque
     * is LIFO, and a worker whose tasks keep posting would never get
     * down to the drain. */
    if (crew_enqueue_accepted(pool, &s->drain) == 0)
        return;
    if (w != NULL) {
        /* No memory for a segment: onto this worker's deque (or, failing
         * that too, the drain runs here and now). */
        crew_enqueue_detached(pool, &s->drain, 0);
        return;
    }
    /* An outside thread: the task is accepted and counted, and only a
     * worker may run the drain. Try again until the injection queue has
     * memory for its segment (the one place a post may wait). */
    struct timespec ts = {0, 100000};
    while (crew_enqueue_accepted(pool, &s->drain) != 0)
        nanosleep(&ts, NULL);
}

/* Links a task, and starts the drain if the queue was idle. After this
 * the task may already have run (and its node or record be recycled). */
static void serial_enqueue(crew_serial *s, crew_serial_link *n, crew_worker *w)
{
    if (list_push(s, n))
        serial_start(s, w);
}

/* Counts a task about to be queued as accepted by the pool: 0, or
 * ESHUTDOWN (refused; nothing to undo). w: the caller, if one of the
 * pool's workers. */
static int serial_admit(crew_pool *pool, crew_worker *w)
{
    if (w != NULL) {
        /* One of the pool's own tasks: accepted (the pool is not quiet
         * while that task runs), counted by this worker. */
        crew_stat_add(&w->stats.internal_accepted, 1);
        return 0;
    }
    /* Outside: count first (seq_cst RMW), then look at the closed flag
     * (seq_cst load). Shutdown closes (seq_cst RMW) and then reads this
     * count (seq_cst) in its quiet test. In their single order, either our
     * load comes after the close (we refuse) or our count comes before
     * shutdown's reads (it waits for this task). */
    atomic_fetch_add_explicit(&pool->serial_accepted, 1, memory_order_seq_cst);
    if (!crew_injector_closed(&pool->inj))
        return 0;
    /* Refused: a completion balances the count (accepted counts only
     * grow: shutdown's quiet test relies on it). */
    crew_count_completed(pool, NULL);
    return ESHUTDOWN;
}

/* ---- the API ---- */

crew_serial *crew_serial_create(crew_pool *pool)
{
    if (pool == NULL) {
        errno = EINVAL;
        return NULL;
    }
    crew_serial *s = crew_aligned_alloc(64, sizeof(*s));
    if (s == NULL)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->pool = pool;
    atomic_init(&s->tail, NULL);
    s->drain.finish = serial_drain;
    s->drain.flags = CREW_JOB_NOCANCEL;
    return s;
}

int crew_serial_post(crew_serial *s, crew_fn fn, void *arg)
{
    if (s == NULL || fn == NULL)
        return EINVAL;
    crew_pool *pool = s->pool;
    crew_worker *w = crew_own_worker(pool);
    serial_node *n = crew_objpool_acquire_at(pool->serial_nodes, node_slot(w));
    if (n == NULL)
        return ENOMEM;
    /* A node from another thread (the drain released it) is in that
     * core's cache: ask for its line now, while the admission's RMW runs,
     * rather than at the exchange below, which waits for our stores. */
    __builtin_prefetch(n, 1);
    int rc = serial_admit(pool, w);
    if (rc != 0) {
        crew_objpool_release_at(pool->serial_nodes, node_slot(w), n);
        return rc;
    }
    n->link.kind = LINK_POST;
    n->fn = fn;
    n->arg = arg;
    n->outside = w == NULL;
    serial_enqueue(s, &n->link, w);
    return 0;
}

crew_future *crew_serial_submit(crew_serial *s, crew_fn fn, void *arg)
{
    if (s == NULL || fn == NULL) {
        errno = EINVAL;
        return NULL;
    }
    crew_pool *pool = s->pool;
    crew_worker *w = crew_own_worker(pool);
    int rc = 0;
    crew_record *r = crew_record_new(pool, fn, arg, CREW_RECORD_FUTURE, &rc);
    if (r != NULL && (rc = serial_admit(pool, w)) != 0) {
        crew_record_discard(r);
        r = NULL;
    }
    if (r == NULL) {
        errno = rc;
        return NULL;
    }
    r->job.flags = CREW_JOB_SERIAL | (w == NULL ? CREW_JOB_OUTSIDE : 0);
    r->serial = s;
    r->serial_link.kind = LINK_RECORD;
    serial_enqueue(s, &r->serial_link, w);
    return (crew_future *)r;
}

int crew_serial_running_here(const crew_serial *s)
{
    crew_worker *w = crew_self();
    for (const crew_serial_frame *f = w != NULL ? w->serial_frames : NULL; f != NULL;
         f = f->outer)
        if (f->serial == s)
            return 1;
    return 0;
}

int crew_serial_wait(crew_serial *s)
{
    if (s == NULL)
        return EINVAL;
    if (crew_serial_running_here(s))
        return EDEADLK;
    /* Idle: every task accepted so far has run. Acquire: pairs with the
     * leaving CAS's release, so what they wrote is visible. */
    if (atomic_load_explicit(&s->tail, memory_order_acquire) == NULL)
        return 0;
    /* A marker behind every task linked so far (every task whose post
     * returned before this call): the drain passes it after them. */
    serial_marker m;
    m.link.kind = LINK_MARKER;
    atomic_init(&m.passed, 0);
    if (list_push(s, &m.link)) {
        /* The queue went idle meanwhile: all done. Take the marker back
         * out, unless a post came in behind it; then it expects a drain,
         * and the marker is where that drain starts. */
        if (list_leave(s, &m.link))
            return 0;
        serial_start(s, crew_own_worker(s->pool));
    }
    crew_flag_wait(&m.passed); /* acquire: the tasks' effects are ours */
    return 0;
}

void crew_serial_destroy(crew_serial *s)
{
    if (s == NULL)
        return;
#ifdef CREW_DEBUG
    if (crew_serial_running_here(s)) {
        fprintf(stderr, "crew: crew_serial_destroy called from a task of the same queue "
                        "(it would wait for itself)\n");
        abort();
    }
#endif
    /* With no post in flight, the wait returns once the drain has left
     * the queue idle (a marker is passed after the leaving CAS when it is
     * the newest task), and a drain touches nothing of s after that CAS. */
    crew_serial_wait(s);
    free(s);
}
