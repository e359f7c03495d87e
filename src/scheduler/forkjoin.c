/*
 * Fork-join: the slow paths of crew_spawn and crew_sync (the fast paths are
 * inline, in include/crew/fastpath.h), the private prefix, running a
 * stolen spawn, and leapfrogging while waiting for a stolen task.
 *
 * The private prefix (docs/scheduler.md, "The fast path"): a worker's
 * newest spawns sit in hot.priv[lo, hi), touched only by the owner with no
 * atomics. Its Chase-Lev deque holds only older tasks. Invariant: every
 * public task is older than every private one. Publishing moves the oldest
 * private task (priv[lo]) to the deque's bottom, which keeps it.
 */
#include "scheduler/internal.h"

#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/port.h"

/* Leapfrog rounds before a waiting worker sleeps, and how long it sleeps
 * before trying again (the thief may have published subtasks meanwhile). */
#define WAIT_SPIN_ROUNDS 256
#define WAIT_SLEEP_NS 200000

/* Moves the oldest private spawn to the deque: 1, or 0 when there is none
 * or the deque cannot grow (then it stays private and runs at its sync). */
static int publish_oldest_private(crew_worker *w)
{
    crew_worker_hot_ *h = &w->hot;
    if (h->priv_lo == h->priv_hi)
        return 0;
    /* The spawn fast path wrote only fn and arg: fill in the rest before
     * the push's release makes the record visible to thieves. */
    crew_job_ *j = h->priv[h->priv_lo];
    j->finish = NULL;
    j->state = CREW_SPAWN_PENDING;
    j->runner = NULL;
    /* The task leaves the private prefix only once it is public: if the
     * deque cannot grow, its slot and its flags (which name the slot) are
     * untouched, so it stays private and its sync takes it back. */
    if (crew_deque_push(&w->deque, j) != 0)
        return 0;
    /* After the push a thief may run j, but flags is the owner's alone (a
     * thief writes result, state and runner), and j's sync cannot run
     * before we return. */
    h->priv[h->priv_lo] = NULL;
    j->flags = CREW_NO_SLOT; /* its sync must not find it private */
    h->priv_lo++;
    if (h->priv_lo == h->priv_hi)
        h->priv_lo = h->priv_hi = 0;
    return 1;
}

int crew_publish_all_private(crew_worker *w)
{
    crew_worker_hot_ *h = &w->hot;
    unsigned published = 0;
    int all = 1;
    while (h->priv_lo < h->priv_hi) {
        if (!publish_oldest_private(w)) {
            all = 0;
            break;
        }
        published++;
    }
    /* Sleepers may take them now: one wake per task, as far as there are
     * sleepers with no wake coming. */
    if (published > 0)
        crew_wake_after_publish(w->pool, published);
    return all;
}

void crew_spawn_slow_(crew_worker_hot_ *h, crew_job_ *j)
{
    if (h == &crew_outside_worker_) {
        /* Not on a worker: the serial elision, run at sync (the slot
         * named is always NULL, so sync takes its slow path). */
        j->flags = CREW_NO_SLOT | CREW_JOB_SERIAL;
        return;
    }
    crew_worker *w = (crew_worker *)(void *)h;
    crew_count_(&h->spawns);
    if (h->priv_hi == CREW_PRIVATE_SPAWNS_) {
        crew_publish_all_private(w);
        if (h->priv_lo != 0) {
            /* Partly published (no memory to grow the deque): the rest
             * stays private, moved down, newest on top; each moved task
             * learns its new slot, and the old slots are cleared. */
            unsigned n = h->priv_hi - h->priv_lo;
            for (unsigned i = 0; i < n; i++) {
                crew_job_ *m = h->priv[h->priv_lo + i];
                h->priv[h->priv_lo + i] = NULL;
                h->priv[i] = m;
                m->flags = i;
            }
            h->priv_lo = 0;
            h->priv_hi = n;
        }
        if (h->priv_hi == CREW_PRIVATE_SPAWNS_) {
            /* Nothing could be published: this one runs at its sync. */
            j->flags = CREW_NO_SLOT | CREW_JOB_UNQUEUED;
            return;
        }
    }
    j->flags = h->priv_hi;
    h->priv[h->priv_hi++] = j;
    if (__atomic_load_n(&h->request, __ATOMIC_RELAXED)) {
        /* A thief found our public part empty, or a worker went to sleep:
         * publish the oldest private task, and wake a sleeper for it. A
         * missed request costs parallelism until a later spawn, never
         * progress: we are awake and run the task at its sync. */
        __atomic_store_n(&h->request, 0, __ATOMIC_RELAXED);
        /* A worker going to sleep either is counted (we wake it) or sees
         * our new task (crew_wake_after_publish's RMW orders the push
         * before its read; a plain load here once lost that sleeper). */
        if (publish_oldest_private(w))
            crew_wake_after_publish(w->pool, 1);
    }
}

void crew_run_stolen_spawn(crew_worker *w, crew_job_ *job)
{
    (void)w; /* counted as a spawn: every spawned task runs exactly once */
    job->result = job->fn(job->arg);
    /* After this the record (on the owner's stack) may be gone. */
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
    return __atomic_load_n(&job->state, __ATOMIC_ACQUIRE) == CREW_SPAWN_DONE;
}

static const crew_wait_ops spawn_wait = {spawn_done, crew_stolen_sleep};

void *crew_sync_slow_(crew_worker_hot_ *h, crew_job_ *j)
{
    if (h == &crew_outside_worker_ || (j->flags & (CREW_JOB_SERIAL | CREW_JOB_UNQUEUED)))
        return j->fn(j->arg);
    crew_worker *w = (crew_worker *)(void *)h;
    /* j is not the newest private task. Syncs are LIFO, so everything
     * spawned after j has been synced: the private part is empty and j is
     * public (the newest there, under any tasks this frame submitted), or
     * stolen. */
#ifdef CREW_DEBUG
    assert(h->priv_lo == h->priv_hi && "crew_sync out of LIFO order");
#endif
    /* Nothing private remains (LIFO); clear stale slots' meaning by
     * restarting the prefix at 0 (slots are cleared as they publish). */
    h->priv_lo = h->priv_hi = 0;
    for (;;) {
        crew_job_ *x = crew_deque_pop(&w->deque);
        if (x == j)
            return j->fn(j->arg);
        if (x == NULL)
            break; /* stolen */
        if (x->finish != NULL) {
            /* A task this frame submitted from inside the pool: it is ours
             * to run, and runs before the frame continues (with its own
             * leapfrog floor: others may wait on it). */
            crew_execute_job(w, x);
            continue;
        }
#ifdef CREW_DEBUG
        assert(0 && "crew_sync out of LIFO order");
#endif
        abort();
    }
    crew_wait_for_runner(w, j, &spawn_wait);
    return j->result;
}

void crew_sync_order_violation_(void)
{
    fprintf(stderr, "crew: crew_sync out of LIFO order (a task spawned after the one "
                    "being synced has not been synced yet)\n");
    abort();
}

void crew_spawn_extern(crew_task *t, crew_fn fn, void *arg)
{
    crew_spawn(t, fn, arg);
}

void *crew_sync_extern(crew_task *t)
{
    return crew_sync(t);
}
