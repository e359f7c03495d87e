/*
 * Serial queues: tasks that run one at a time, in the order they were
 * accepted, on the pool's workers. docs/scheduler.md, "Serial queues", is
 * the design; this comment is its summary.
 *
 * A queue is an intrusive list of task records (Vyukov's node-based MPSC
 * queue, with a stub link so that it is never empty), a pending count and
 * one drain job. A post counts its task in `pending`, then links its
 * record; the post that moves `pending` from 0 queues the drain on the
 * pool. The drain runs on a worker, takes the records oldest first and
 * runs them one at a time, and subtracts what it ran from `pending`; the
 * subtraction that brings it to 0 ends the drain. Every change of
 * `pending` is an RMW, so they are one modification order: a post's
 * increment and the drain's last decrement see each other one way round
 * (the post finds 0 and starts a drain, or the drain finds the post's
 * count and goes on), which makes one drain per busy queue, and none for
 * an empty one. A drain that has run CREW_SERIAL_TURN tasks and sees more
 * pending queues itself again at the back of the injection queue and
 * returns: a busy queue yields its worker every 64 tasks.
 *
 * Progress. Linking is wait-free for producers: an exchange and a store,
 * and no producer ever waits for another or for the drain. A post as a
 * whole is lock-free as its parts are: the record comes from the object
 * pool (lock-free), and the post that starts a drain pushes it on the
 * injection queue (lock-free outside the segment-install window that
 * injector.h describes). The drain is the one that can wait: a producer
 * between its count and its link holds back its record and all linked
 * after it; the drain spins, then yields, then gives its worker back and
 * looks again later. That window is three instructions long.
 *
 * Accounting (docs/scheduler.md, "Accounting for shutdown"): every serial
 * task is a detached task of the pool, counted as accepted (an inside
 * post: the worker's internal_accepted; an outside post: the pool's
 * serial_accepted) and as completed when it runs or is cancelled; each
 * queuing of a drain is a detached job of its own (counted by the queue
 * it goes on) and completes when the drain returns.
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

/* pending's count bits (the top bit is destroy's waiter flag). */
#define PENDING_COUNT (CREW_PENDING_WAITER - 1u)
/* A post that finds this many tasks pending fails ENOMEM: the count must
 * not reach the waiter bit (a billion records would be 100 GiB anyway). */
#define PENDING_MAX (1u << 30)

/* How long the drain waits for a producer between its count and its link
 * before it gives its worker back: spins, then sched_yield calls. */
#define LINK_SPINS 64
#define LINK_YIELDS 64

struct crew_serial {
    crew_pool *pool;
    /* Producers' line: the newest link (exchanged by every post) and the
     * count of accepted, unfinished tasks and markers, with destroy's
     * waiter bit (incremented by every post, decremented by the drain). */
    _Alignas(64) crew_serial_link *_Atomic tail;
    _Atomic uint32_t pending;
    /* The drain's (one at a time, handed from one to the next through
     * `pending` and the pool's queues): the oldest link not taken yet, the
     * stub, and the job itself. */
    _Alignas(64) crew_serial_link *head;
    crew_serial_link stub;
    crew_job_ drain;
};

/* A drain running on a worker: the worker's list of these (innermost
 * first) says which queues' tasks are running lower on its stack. */
typedef struct crew_serial_frame {
    const crew_serial *serial;
    struct crew_serial_frame *outer;
} crew_serial_frame;

/* crew_serial_wait's place in the queue, on the waiter's stack: of the
 * record, only job.flags and serial_link are used. */
typedef struct serial_marker {
    crew_record rec; /* first: the drain finds the marker from the record */
    _Atomic uint32_t passed;
} serial_marker;

static crew_record *record_of(crew_serial_link *n)
{
    return (crew_record *)(void *)((char *)n - offsetof(crew_record, serial_link));
}

/* ---- the list ---- */

/* Any number of producers at once: links n as the newest. Wait-free.
 * Between the exchange and the store, n (and whatever is linked after it)
 * cannot be reached by the drain yet. */
static void list_push(crew_serial *s, crew_serial_link *n)
{
    /* Relaxed: published by the exchange's release below. */
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* AcqRel. Release: the producer that links after n, and writes
     * n->next, does so after our NULL store. Acquire: likewise, our store
     * into prev->next below comes after prev's producer's NULL store. */
    crew_serial_link *prev = atomic_exchange_explicit(&s->tail, n, memory_order_acq_rel);
    /* Release: the drain that loads this link (acquire) sees the record
     * behind n, written before the post. */
    atomic_store_explicit(&prev->next, n, memory_order_release);
}

/* The drain only: the oldest linked task, or NULL when none can be
 * reached (the list is empty, or a producer is between its exchange and
 * its link). A link returned is out of the list for good: its successor
 * was linked (or the stub put behind it), so nobody writes it again, and
 * its record may be recycled (or, for a marker, its stack frame end). */
static crew_serial_link *list_pop(crew_serial *s)
{
    crew_serial_link *head = s->head;
    /* Acquire (every load of a link): pairs with list_push's linking
     * store, so the record behind the link is visible. */
    crew_serial_link *next = atomic_load_explicit(&head->next, memory_order_acquire);
    if (head == &s->stub) {
        if (next == NULL)
            return NULL;
        s->head = head = next;
        next = atomic_load_explicit(&head->next, memory_order_acquire);
    }
    if (next != NULL) {
        s->head = next;
        return head;
    }
    /* head is the newest linked task. Unless it is also the tail (then a
     * producer has exchanged the tail and not linked yet: wait for it),
     * put the stub behind it so that it can leave the list. Relaxed: a
     * stale tail can only be one a producer's exchange has since
     * replaced, and pushing the stub is right then too (its exchange reads
     * the newest tail); a tail older than our own last push of the stub
     * cannot be read (coherence: that push happens before this load, on
     * this drain or through the hand-off to it), so the stub is never
     * pushed while it is in the list. */
    if (atomic_load_explicit(&s->tail, memory_order_relaxed) != head)
        return NULL;
    list_push(s, &s->stub);
    next = atomic_load_explicit(&head->next, memory_order_acquire);
    if (next == NULL)
        return NULL; /* a producer came in between: its link is on its way */
    s->head = next;
    return head;
}

/* ---- the drain ---- */

/* Subtracts n finished tasks from pending: 1 if that emptied the queue.
 * Then the drain is over and s may be freed at once (destroy): the caller
 * must not touch it. */
static int settle(crew_serial *s, uint32_t n)
{
    /* Release: the tasks' effects happen before what reads this count: a
     * post that finds 0 (it starts the next drain, which so sees this
     * one's head and stub too), destroy's wait, crew_serial_wait's test. */
    uint32_t old = atomic_fetch_sub_explicit(&s->pending, n, memory_order_release);
    if ((old & PENDING_COUNT) != n)
        return 0;
    if (old & CREW_PENDING_WAITER)
        crew_pending_wake(&s->pending); /* the address only (sleep.c) */
    return 1;
}

/* Shutdown with cancel_pending: a task posted from outside that has not
 * started will not run (unless crew_future_cancel got there first). */
static void cancel_for_shutdown(crew_pool *pool, crew_record *r, crew_worker *w)
{
    /* AcqRel, as crew_future_cancel's CAS: whoever leaves PENDING owns
     * the record's fate. */
    uint32_t expect = CREW_JOB_PENDING;
    if (__atomic_compare_exchange_n(&r->job.state, &expect, CREW_JOB_CANCELLED, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        if (r->kind == CREW_RECORD_POST && pool->cfg.on_cancel != NULL)
            pool->cfg.on_cancel(r->job.fn, r->job.arg, pool->cfg.ctx);
        crew_record_finalize(r, CREW_JOB_CANCELLED);
    }
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

/* One record taken from the list: a marker is passed, a task runs or is
 * dropped as cancelled. */
static void take_one(crew_pool *pool, crew_serial_link *n, crew_worker *w)
{
    crew_record *r = record_of(n);
    uint32_t flags = r->job.flags;
    if (flags & CREW_JOB_MARKER) {
        /* Its waiter may return at once, and the marker (on its stack)
         * be gone: crew_flag_set uses only the address after its store. */
        crew_flag_set(&((serial_marker *)(void *)r)->passed);
        return;
    }
    /* Relaxed: shutdown's store comes before its close, and a thread
     * that saw the close happens after the store, so it sees the flag
     * (coherence); a drain that is already past this test for a task
     * runs it, as shutdown leaves a batch a worker holds (best effort for
     * the task starting now, exactly-once either way). */
    if ((flags & CREW_JOB_OUTSIDE) &&
        atomic_load_explicit(&pool->serial_cancel, memory_order_relaxed))
        cancel_for_shutdown(pool, r, w);
    else if (!crew_record_claim(r))
        crew_count_completed(pool, w); /* cancelled by crew_future_cancel */
    else if (w != NULL)
        crew_record_run_claimed(r, w); /* its own leapfrog floor, counted */
    else
        run_without_worker(r);
    crew_record_unref(r);
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
    uint32_t done = 0;   /* taken, not yet subtracted from pending */
    unsigned turn = 0;   /* taken in this turn */
    unsigned waits = 0;  /* looks that found a counted task not linked yet */
    for (;;) {
        crew_serial_link *n = list_pop(s);
        if (n != NULL) {
            take_one(pool, n, w);
            done++;
            waits = 0;
            if (++turn < CREW_SERIAL_TURN || w == NULL)
                continue;
            /* A full turn: give the worker back if more is pending. */
            if (settle(s, done))
                break;
            done = 0;
            turn = 0;
            if (crew_enqueue_accepted(pool, job) == 0)
                break;
            continue; /* no memory to queue it again: go on here */
        }
        if (done > 0) {
            if (settle(s, done))
                break;
            done = 0;
        }
        /* A task is counted and not linked yet: its producer is between
         * its count and its link. Wait a little, then give the worker
         * back and come again later. */
        if (++waits <= LINK_SPINS) {
            crew_spin_hint();
        } else if (waits <= LINK_SPINS + LINK_YIELDS || w == NULL) {
            sched_yield();
        } else if (crew_enqueue_accepted(pool, job) == 0) {
            break;
        } else {
            waits = LINK_SPINS; /* no memory: keep yielding */
        }
    }
    /* s may be gone (settle emptied it) or drained elsewhere (queued
     * again): only the locals from here on. */
    if (w != NULL)
        w->serial_frames = frame.outer;
    crew_count_completed(pool, w);
}

/* The post that found the queue empty: queue its drain. */
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

/* Counts r in pending, links it, starts the drain if the queue was empty.
 * After this r may already have run (and a post's record be recycled). */
static void serial_enqueue(crew_serial *s, crew_record *r, crew_worker *w)
{
    /* Acquire: when this reads the 0 the last drain left (release, in
     * settle), the drain we start sees everything that drain did. The
     * record itself is published by its link (release). */
    uint32_t old = atomic_fetch_add_explicit(&s->pending, 1, memory_order_acquire);
    list_push(s, &r->serial_link);
#ifdef CREW_NEGATIVE_CONTROL_SERIAL_ONE_DRAIN
    /* Broken on purpose: a second drain starts while the first still runs
     * its last task, so two tasks of the queue run at once. */
    if ((old & PENDING_COUNT) <= 1)
#else
    if ((old & PENDING_COUNT) == 0)
#endif
        serial_start(s, w);
}

/* A post or submit: the record, counted and queued, or NULL with *rc. */
static crew_record *serial_accept(crew_serial *s, crew_fn fn, void *arg, crew_record_kind kind,
                                  int *rc)
{
    if (s == NULL || fn == NULL) {
        *rc = EINVAL;
        return NULL;
    }
    /* Relaxed: a bound far from the waiter bit, not an exact limit. */
    if ((atomic_load_explicit(&s->pending, memory_order_relaxed) & PENDING_COUNT) >= PENDING_MAX) {
        *rc = ENOMEM;
        return NULL;
    }
    crew_pool *pool = s->pool;
    crew_record *r = crew_record_new(pool, fn, arg, kind, rc);
    if (r == NULL)
        return NULL;
    r->job.flags = CREW_JOB_SERIAL;
    r->serial = s;
    crew_worker *w = crew_own_worker(pool);
    if (w != NULL) {
        /* One of the pool's own tasks: accepted (the pool is not quiet
         * while that task runs), counted by this worker. */
        crew_stat_add(&w->stats.internal_accepted, 1);
    } else {
        /* Outside: count first (seq_cst RMW), then look at the closed
         * flag (seq_cst load). Shutdown closes (seq_cst RMW) and then
         * reads this count (seq_cst) in its quiet test. In their single
         * order, either our load comes after the close (we refuse) or our
         * count comes before shutdown's reads (it waits for this task). */
        atomic_fetch_add_explicit(&pool->serial_accepted, 1, memory_order_seq_cst);
        if (crew_injector_closed(&pool->inj)) {
            /* Refused: a completion balances the count (accepted counts
             * only grow: shutdown's quiet test relies on it). */
            crew_count_completed(pool, NULL);
            crew_record_discard(r);
            *rc = ESHUTDOWN;
            return NULL;
        }
        r->job.flags |= CREW_JOB_OUTSIDE;
    }
    serial_enqueue(s, r, w);
    return r;
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
    atomic_init(&s->stub.next, NULL);
    atomic_init(&s->tail, &s->stub);
    atomic_init(&s->pending, 0);
    s->head = &s->stub;
    s->drain.finish = serial_drain;
    s->drain.flags = CREW_JOB_NOCANCEL;
    return s;
}

int crew_serial_post(crew_serial *s, crew_fn fn, void *arg)
{
    int rc = 0;
    /* The record may be recycled already: only its being there counts. */
    return serial_accept(s, fn, arg, CREW_RECORD_POST, &rc) != NULL ? 0 : rc;
}

crew_future *crew_serial_submit(crew_serial *s, crew_fn fn, void *arg)
{
    int rc = 0;
    crew_record *r = serial_accept(s, fn, arg, CREW_RECORD_FUTURE, &rc);
    if (r == NULL)
        errno = rc;
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
    /* Count the marker only while a drain runs (pending not 0): that
     * drain cannot end before it has taken the marker, so the wait never
     * has to start one. Acquire: a 0 read here comes from the last drain's
     * release, so the tasks it ran are visible. */
    uint32_t p = atomic_load_explicit(&s->pending, memory_order_acquire);
    do {
        if ((p & PENDING_COUNT) == 0)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&s->pending, &p, p + 1,
                                                    memory_order_acquire,
                                                    memory_order_acquire));
    /* Every task whose post returned before this call was linked before
     * the marker, so the drain takes them first. */
    serial_marker m;
    m.rec.job.flags = CREW_JOB_SERIAL | CREW_JOB_MARKER;
    atomic_init(&m.passed, 0);
    list_push(s, &m.rec.serial_link);
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
    crew_pending_wait(&s->pending);
    free(s);
}
