/*
 * Fork-join: the slow paths of crew_spawn and crew_sync (the fast paths are
 * inline, in include/crew/fastpath.h), slot stacks, publication, running a
 * stolen spawn, and leapfrogging while waiting for a stolen task.
 *
 * The slot stack (docs/scheduler.md, "The fast path"): each thread that
 * spawns writes its spawns into slots [0, top) of a stack of its own;
 * slots [0, split) are published (their addresses were pushed on the
 * worker's Chase-Lev deque), [split, top) are private, touched by the owner
 * alone with no atomics. Invariants:
 *   - every published slot is older (lower) than every private one:
 *     publishing takes the oldest private slot, syncs are LIFO;
 *   - while a worker has unsynced spawns, slot 0 is published: a spawn
 *     made while nothing is published publishes itself (limit is 0 then,
 *     which sends it here). So the oldest unsynced spawn can always be
 *     taken by an idle worker, whatever the spawner does meanwhile;
 *   - a published slot is not reused before its sync: a thief may still
 *     write its result and state, and a sync that waits for a thief keeps
 *     top above the slot while it runs other jobs.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/port.h"

/* Leapfrog rounds before a waiting worker sleeps, and how long it sleeps
 * before trying again (the thief may have published subtasks meanwhile). */
#define WAIT_SPIN_ROUNDS 256
#define WAIT_SLEEP_NS 200000

/* Slots reserved per thread: address space (MAP_NORESERVE), committed by
 * the kernel only as deep as the stack is used: 128 bytes a slot, 512 MiB
 * reserved; a worker that nests 1,000 spawns deep touches 128 KiB. If the
 * system refuses that much address space (strict overcommit), stacks 16
 * times smaller are tried, down to 1,024 slots. A crew_spawn that finds
 * its thread's stack full runs at its sync; a typed spawn aborts
 * (crew_typed_overflow_: it has no handle to run from). */
#define SLOTS_RESERVED (1 << 22)
#define SLOTS_SMALLEST (1 << 10)

/* Never written: its limit 0 sends every spawn to the slow path (which
 * gives the thread a stack of its own) and its split INT_MAX every sync
 * (which runs the task: the serial elision, for a thread that has none). */
crew_worker_hot_ crew_outside_worker_ = {
    .slots = NULL,
    .top = 0,
    .split = INT_MAX,
    .limit = 0,
    .cap = 0,
    .is_worker = 0,
};

_Thread_local crew_worker_hot_ *crew_current_worker_
    __attribute__((tls_model("initial-exec"))) = &crew_outside_worker_;

/* ---- slot stacks ---- */

/* The fast path's `limit` after a publication: spawns go fast until the
 * stack is full (a request that a thief makes later sets it to 0 again; one
 * made just before is answered by the publication itself). Relaxed: only
 * this thread reads it as a bound; thieves only ever store 0. */
static void limit_open(crew_worker_hot_ *h)
{
    /* [mo: forkjoin.limit_open] */
    __atomic_store_n(&h->limit, h->cap, __ATOMIC_RELAXED);
}

/* After a sync released slots: with nothing published any more, the next
 * spawn must publish (limit 0); otherwise leave the limit alone, so that a
 * thief's pending request stays. Threads outside every pool never publish. */
static void limit_after_release(crew_worker_hot_ *h)
{
    if (h->is_worker && h->split == 0) /* [mo: forkjoin.limit_release] */
        __atomic_store_n(&h->limit, 0, __ATOMIC_RELAXED);
}

int crew_slots_init(crew_worker_hot_ *h, int is_worker)
{
    size_t n = SLOTS_RESERVED;
    void *p = NULL;
    /* One slot more, below slot 0: the sentinel a typed sync with nothing
     * spawned reads as slot -1 (crew_sync_slow_), never written, never an
     * argument of any spawn. */
    while (n >= SLOTS_SMALLEST && (p = crew_reserve((n + 1) * sizeof(crew_slot_))) == NULL)
        n /= 16;
    if (p == NULL)
        return ENOMEM;
    h->slots = (crew_slot_ *)p + 1;
    h->cap = (int)n;
    h->top = 0;
    h->split = 0;
    h->is_worker = is_worker;
    /* Workers start with nothing published: their first spawn publishes. */
    __atomic_store_n(&h->limit, is_worker ? 0 : h->cap, __ATOMIC_RELAXED);
    return 0;
}

void crew_slots_free(crew_worker_hot_ *h)
{
    if (h->slots != NULL)
        crew_unreserve(h->slots - 1, ((size_t)h->cap + 1) * sizeof(crew_slot_));
    h->slots = NULL;
}

uint64_t crew_spawns_counted(const crew_worker_hot_ *h)
{
    /* Slots are used from the bottom up, so the ones ever used are a
     * prefix of the stack, and the first with no use ends it: the scan
     * reads only memory the owner has touched. */
    uint64_t n = __atomic_load_n(&h->spawns, __ATOMIC_RELAXED);
    for (int i = 0; i < h->cap; i++) {
        uint64_t u = __atomic_load_n(&h->slots[i].uses, __ATOMIC_RELAXED);
        if (u == 0)
            break;
        n += u;
    }
    return n;
}

/* Threads outside every pool: a stack of their own, made at their first
 * spawn and freed when they end (a pthread key's destructor), so a thread
 * that comes and goes leaves nothing behind. */
static pthread_key_t outside_key;
static pthread_once_t outside_key_once = PTHREAD_ONCE_INIT;
static int outside_key_made;

static void outside_thread_ends(void *arg)
{
    crew_worker_hot_ *h = arg;
    crew_current_worker_ = &crew_outside_worker_;
    crew_slots_free(h);
    free(h);
}

static void make_outside_key(void)
{
    outside_key_made = pthread_key_create(&outside_key, outside_thread_ends) == 0;
}

__attribute__((destructor)) static void delete_outside_key(void)
{
    if (outside_key_made)
        pthread_key_delete(outside_key);
}

/* This thread's own spawn state, made now; NULL when out of memory (the
 * spawn then runs at its sync, and the next one tries again). */
static crew_worker_hot_ *outside_thread_state(void)
{
    pthread_once(&outside_key_once, make_outside_key);
    if (!outside_key_made)
        return NULL;
    crew_worker_hot_ *h = crew_aligned_alloc(64, sizeof(*h));
    if (h == NULL)
        return NULL;
    memset(h, 0, sizeof(*h));
    if (crew_slots_init(h, 0) != 0 || pthread_setspecific(outside_key, h) != 0) {
        crew_slots_free(h);
        free(h);
        return NULL;
    }
    crew_current_worker_ = h;
    return h;
}

crew_worker_hot_ *crew_typed_here_slow_(void)
{
    crew_worker_hot_ *h = crew_current_worker_;
    /* A typed task's body takes the state along (typed.h, "the hidden
     * worker"), so it must be the thread's own from the start: without
     * one, the spawns below would each try to make one. */
    if (h == &crew_outside_worker_ && (h = outside_thread_state()) == NULL)
        crew_typed_overflow_();
    return h;
}

/* ---- publication ---- */

/* Moves the oldest private slot to the deque: 1, or 0 when there is none
 * or the deque cannot grow (then it stays private and runs at its sync). */
static int publish_oldest_private(crew_worker *w)
{
    crew_worker_hot_ *h = &w->hot;
    if (h->split == h->top)
        return 0;
    /* The fast path wrote only fn and arg, or a typed spawn only its
     * marked fn (CREW_TYPED_MARK_): complete the record with what thieves
     * and waiters read before the push's release makes the slot visible.
     * (Done again, if the push fails, by the next try: it is the same.) */
    crew_slot_ *s = &h->slots[h->split];
    crew_job_ *j = &s->job;
    crew_fn fn = CREW_TYPED_FN_OF_(s);
    if (fn != j->fn) { /* marked: a typed spawn's fast path */
        j->fn = fn;
        j->arg = s->payload;
    }
    j->finish = NULL;
    j->state = CREW_SPAWN_PENDING;
    j->runner = NULL;
    j->label = NULL;
    /* The slot stays private until the push has succeeded: if the deque
     * cannot grow, nothing changed. */
    if (crew_deque_push(&w->deque, j) != 0)
        return 0;
    h->split++;
    limit_open(h);
    return 1;
}

/* Publishes up to n of the oldest private slots, then wakes sleepers for
 * them (one wake per task, as far as there are sleepers with no wake
 * coming): how many it published. Fewer than n when the private part ran
 * out or the deque could not grow. */
static int publish_oldest(crew_worker *w, int n)
{
    int published = 0;
    while (published < n && publish_oldest_private(w))
        published++;
    if (published > 0)
        crew_wake_after_publish(w->pool, (unsigned)published);
    return published;
}

int crew_publish_all_private(crew_worker *w)
{
    publish_oldest(w, INT_MAX);
    return w->hot.split == w->hot.top;
}

void crew_answer_request(crew_worker *w)
{
    crew_worker_hot_ *h = &w->hot;
    /* Relaxed: a request missed here is answered at the next call (or the
     * next spawn); this only decides whether to publish now. At least two
     * private slots: the newest is about to be synced here. Half of them,
     * oldest first: such a frame answers only between its own tasks, so a
     * thief given one would wait a whole task for the next. */
    int private_slots = h->top - h->split;
    if (private_slots >= 2 && __atomic_load_n(&h->limit, __ATOMIC_RELAXED) == 0)
        publish_oldest(w, private_slots / 2);
}

/* ---- spawn ---- */

/* A spawn that did not take the fast path: the next slot (or -1: none
 * free, the task runs at its sync), with its fn and arg written; for a
 * worker the oldest private slot is then published: the fast path came
 * here because nothing was published (this spawn becomes the oldest
 * unsynced one, and must be takable whatever its spawner does next) or a
 * thief asked for work (it found our public part empty, or a worker went
 * to sleep), or the stack is full. */
static int spawn_slow(crew_worker_hot_ *h, crew_fn fn, void *arg)
{
    if (h == &crew_outside_worker_ && (h = outside_thread_state()) == NULL)
        return -1;
    if (h->top >= h->cap) {
        if (h->is_worker)
            crew_count_(&h->spawns);
        return -1;
    }
    int idx = h->top++;
    crew_slot_ *s = &h->slots[idx];
    s->job.fn = fn;
    s->job.arg = arg;
    crew_count_(&s->uses);
    if (!h->is_worker)
        return idx;
    crew_worker *w = (crew_worker *)(void *)h;
    /* A worker going to sleep either is counted (we wake it) or sees our
     * new task (crew_wake_after_publish's RMW orders the push before its
     * read; a plain load here once lost that sleeper). A request missed
     * (a thief's store of 0 overwritten by our limit_open) costs
     * parallelism until the next request, never progress: we are awake
     * and run our tasks at their syncs. */
    if (publish_oldest_private(w))
        crew_wake_after_publish(w->pool, 1);
    return idx;
}

int crew_spawn_slow_(crew_worker_hot_ *h, crew_fn fn, void *arg)
{
    return spawn_slow(h, fn, arg);
}

int crew_spawn_payload_slow_(crew_worker_hot_ *h, crew_fn fn, const void *args, size_t size)
{
    /* The arguments go into the slot about to be taken before spawn_slow
     * may publish it. */
    crew_worker_hot_ *own = h == &crew_outside_worker_ ? outside_thread_state() : h;
    if (own == NULL)
        return -1;
    if (own->top < own->cap)
        memcpy(own->slots[own->top].payload, args, size);
    return spawn_slow(own, fn, own->top < own->cap ? own->slots[own->top].payload : NULL);
}

/* ---- sync ---- */

void crew_run_stolen_spawn(crew_worker *w, crew_job_ *job)
{
    (void)w; /* counted as a spawn: every spawned task runs exactly once */
    job->result = job->fn(job->arg);
    /* After this the slot may be reused by its owner. */
    crew_stolen_complete(job);
}

/* Leapfrogging: while `job` runs on another worker, take work only from
 * that worker, and only items it pushed since it began its current job
 * (at or above its leapfrog floor): subtasks of the job we wait for, or of
 * work that job itself waits for. Older items in its deque are unrelated,
 * and running them here could bury our wait under theirs. Sleep when
 * there is nothing. ops->done(job) says when to stop; ops->sleep(job, ns)
 * sleeps until the runner wakes us or ns pass (the runner may publish
 * subtasks meanwhile, so we look again). */
void crew_wait_for_runner(crew_worker *w, crew_job_ *job, const crew_wait_ops *ops)
{
    unsigned idle = 0;
    /* Our own private spawns could run elsewhere while we wait. */
    crew_publish_all_private(w);
    while (!ops->done(job)) {
        /* [mo: forkjoin.wait.runner] */
        crew_worker *runner = __atomic_load_n((crew_worker **)&job->runner, __ATOMIC_ACQUIRE);
        if (runner != NULL && runner != w && runner->pool == w->pool) {
            crew_job_ *sub;
            int r = crew_steal_subtask(w, runner, job, ops->done, &sub);
            if (r == 0) {
                crew_execute_job(w, sub);
                idle = 0;
                continue;
            }
            if (r == EAGAIN)
                continue;
        }
        if (++idle < WAIT_SPIN_ROUNDS) {
            if (idle % 16 == 0)
                sched_yield();
            else
                crew_spin_hint();
            continue;
        }
        crew_stat_add(&w->stats.sleeps, 1);
        ops->sleep(job, WAIT_SLEEP_NS);
        idle = WAIT_SPIN_ROUNDS / 2;
    }
}

static int spawn_done(crew_job_ *job)
{
    /* [mo: forkjoin.spawn_done] */
    return __atomic_load_n(&job->state, __ATOMIC_ACQUIRE) == CREW_SPAWN_DONE;
}

static const crew_wait_ops spawn_wait = {spawn_done, crew_stolen_sleep};

/* The slot idx was synced: it and everything above it are free again. */
static void slot_released(crew_worker_hot_ *h, int idx)
{
    h->top = idx;
    h->split = idx;
    limit_after_release(h);
}

/* A misuse of spawn and sync that cannot be answered with an error value:
 * prints what happened (msg: "crew: ..." and a newline) and aborts. */
static __attribute__((noreturn, cold)) void misuse(const char *msg)
{
    fputs(msg, stderr);
    abort();
}

void *crew_sync_slow_(crew_worker_hot_ *h, int idx, crew_fn fn, void *arg)
{
    /* A typed sync with no unsynced spawn on its thread (CREW_SYNC of
     * nothing: index -1, whose payload is the stack's sentinel slot, which
     * no spawn is ever given as its argument). */
    if (idx < 0 && h->slots != NULL && arg == (void *)h->slots[-1].payload)
        misuse("crew: a typed sync (CREW_SYNC or CREW_SYNC_FROM) found no unsynced "
               "spawn on this thread\n");
    /* No slot (the stack was full, or no memory for an outside thread's
     * stack), or a thread outside every pool: run it here. */
    if (idx < 0 || !h->is_worker)
        return fn(arg);
    crew_worker *w = (crew_worker *)(void *)h;
    /* The slot is published (below split). Syncs are LIFO, so everything
     * spawned after it has been synced: it is the newest slot, and the
     * newest published, with only tasks this frame submitted from inside
     * above it on the deque. */
    if (idx + 1 != h->top || h->split != h->top)
        crew_sync_order_violation_();
    crew_job_ *j = &h->slots[idx].job;
    for (;;) {
        crew_job_ *x = crew_deque_pop(&w->deque);
        if (x == j) {
            slot_released(h, idx);
            return fn(arg);
        }
        if (x == NULL)
            break; /* stolen */
        if (x->finish != NULL) {
            /* A task this frame submitted from inside the pool: it is ours
             * to run, and runs before the frame continues (with its own
             * leapfrog floor: others may wait on it). */
            crew_execute_job(w, x);
            continue;
        }
        crew_sync_order_violation_();
    }
    /* Stolen. While we wait, the slot stays reserved (top above it): the
     * thief writes its result there, and the jobs we run meanwhile spawn
     * above it. */
    crew_wait_for_runner(w, j, &spawn_wait);
    void *r = j->result;
    slot_released(h, idx);
    return r;
}

void crew_typed_overflow_(void)
{
    misuse("crew: a typed spawn found no free slot (more unsynced spawns on "
           "this thread than its slot stack holds, or no memory for the stack)\n");
}

void crew_typed_wrong_thread_(void)
{
    misuse("crew: a typed task's spawn or sync ran on another thread than its body "
           "(a nested function or block using CREW_SPAWN, CREW_CALL or CREW_SYNC "
           "that runs elsewhere)\n");
}

void crew_sync_order_violation_(void)
{
    misuse("crew: crew_sync out of LIFO order (a task spawned after the one "
           "being synced has not been synced yet)\n");
}

void crew_spawn_extern(crew_task *t, crew_fn fn, void *arg)
{
    crew_spawn(t, fn, arg);
}

void *crew_sync_extern(crew_task *t)
{
    return crew_sync(t);
}
