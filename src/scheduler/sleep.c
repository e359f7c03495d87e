/*
 * Sleeping and waking: every place a scheduler thread sleeps on a futex or
 * wakes another is in this file, each handshake next to its other half,
 * with its ordering argument. docs/scheduler.md, "Sleeping and waking",
 * is the design and the proof that no wake-up is lost.
 *
 *   idle workers           crew_idle_sleep / crew_wake_after_*, crew_wake_next
 *   shutdown's quiet wait  crew_quiet_wait / quiet_notify (in crew_idle_sleep)
 *   bounded-queue space    crew_space_wait / crew_space_release
 *   stolen spawns          crew_stolen_sleep / crew_stolen_complete
 *   records (futures)      crew_state_wait / crew_state_wake
 *   counts (groups)        crew_count_wait / crew_count_drop
 *   flags (crew_run, serial-queue waits)
 *                          crew_flag_wait / crew_flag_set
 *   events (callback turns, completion-queue takers)
 *                          crew_event_wait / crew_event_signal
 *   tallies (wait_any)     crew_tally_wait / crew_tally_add
 *
 * Every futex call may return early (spurious wake-ups, signals, a changed
 * word): every waiter here loops or returns to a caller that loops.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <limits.h>

#include "common/futex.h"

/* ---- idle workers ----
 *
 * The idle word counts sleepers (workers between announcing sleep and
 * getting up) in its low half and wake tokens (wakes sent whose sleeper
 * has not got up yet) in its high half. A publisher sends a wake only when
 * sleepers > tokens, so k publications with s sleepers send min(k, s)
 * wakes, and a burst never pays a futex call per item once every sleeper
 * has a wake coming. Every sleeper that gets up, woken or not, takes one
 * token if there is one, so tokens <= sleepers always. */

#define IDLE_SLEEPER ((uint64_t)1)
#define IDLE_TOKEN ((uint64_t)1 << 32)

static unsigned idle_sleepers(uint64_t v)
{
    return (unsigned)(v & 0xffffffffu);
}

static unsigned idle_tokens(uint64_t v)
{
    return (unsigned)(v >> 32);
}

/* Sends one wake if some sleeper has none coming; `idle` is the idle word
 * as the caller read it. 1 if it sent one. */
static int wake_from(crew_pool *pool, uint64_t idle)
{
    do {
        if (idle_sleepers(idle) <= idle_tokens(idle))
            return 0;
        /* SeqCst: the token is taken in the idle word's single order, and
         * the event bump below comes after it. [mo: sleep.wake.token] */
    } while (!atomic_compare_exchange_weak_explicit(&pool->idle, &idle, idle + IDLE_TOKEN,
                                                    memory_order_seq_cst,
                                                    memory_order_relaxed));
    /* SeqCst: a sleeper counted in the word we just changed read the
     * event before announcing itself, so this bump comes after that read
     * and its futex wait returns at once if it has not begun.
     * [mo: sleep.wake.event] */
    atomic_fetch_add_explicit(&pool->event, 1, memory_order_seq_cst);
    crew_futex_wake(&pool->event, 1);
    crew_worker *self = crew_own_worker(pool);
    if (self != NULL)
        crew_stat_add(&self->stats.wakeups, 1);
    else /* [mo: sleep.wake.outside_count] */
        atomic_fetch_add_explicit(&pool->outside_wakeups, 1, memory_order_relaxed);
    return 1;
}

void crew_wake_after_sc_publish(crew_pool *pool)
{
    /* SeqCst load, after a publication that was itself a seq_cst store
     * (the injector's WRITTEN): a worker going to sleep announces itself
     * with a seq_cst RMW on the idle word and then reads the queue with
     * seq_cst loads. In the single order of those four, either our load
     * comes after its announcement (we see the sleeper) or its read comes
     * after our store (it sees the work). [mo: sleep.sc_publish.idle] */
    wake_from(pool, atomic_load_explicit(&pool->idle, memory_order_seq_cst));
}

unsigned crew_wake_after_publish(crew_pool *pool, unsigned n)
{
    /* An RMW, not a load, after a publication that was a release store (a
     * deque push): the RMWs on the idle word (ours, a sleeper's
     * announcement) are totally ordered. If ours is first, the sleeper's
     * seq_cst RMW reads from ours and synchronizes with it, so the push
     * happens before the sleeper's look at the deques; if the sleeper's
     * is first, we read its count here. (A seq_cst fence and a load would
     * do too; ThreadSanitizer does not model fences.) [mo: sleep.publish.idle] */
    uint64_t idle = atomic_fetch_add_explicit(&pool->idle, 0, memory_order_seq_cst);
    unsigned woke = 0;
    while (woke < n && wake_from(pool, idle)) {
        woke++;
        /* Relaxed: the RMW above did the ordering; this only refreshes the
         * counts for the next token. [mo: sleep.publish.refresh] */
        idle = atomic_load_explicit(&pool->idle, memory_order_relaxed);
    }
    return woke;
}

void crew_wake_next(crew_pool *pool)
{
    /* Relaxed load: a heuristic read. The publisher of the items the
     * caller saw has done the ordering for its own wake; the token's CAS
     * rechecks the counts. [mo: sleep.wake_next.idle] */
    wake_from(pool, atomic_load_explicit(&pool->idle, memory_order_relaxed));
}

void crew_wake_all_workers(crew_pool *pool)
{
    /* For destroy: `stopping` (seq_cst) was set before; a worker that
     * read the old event sees it changed, one that reads the new event
     * reads `stopping` after it. [mo: sleep.wake_all.event] */
    atomic_fetch_add_explicit(&pool->event, 1, memory_order_seq_cst);
    crew_futex_wake(&pool->event, INT_MAX);
}

int crew_work_visible(crew_pool *pool)
{
    /* After the caller's announcement (a seq_cst RMW): the injector's
     * loads are seq_cst (see crew_wake_after_sc_publish); a deque's or a
     * batch's publication was followed by its publisher's RMW on the idle
     * word (see crew_wake_after_publish), so relaxed loads see it whenever
     * that RMW came first. */
    if (!crew_injector_empty(&pool->inj))
        return 1;
    for (unsigned i = 0; i < pool->nworkers; i++) {
        crew_worker *v = pool->workers[i];
        if (crew_deque_size_estimate(&v->deque) > 0)
            return 1;
        /* [mo: sleep.visible.batch] */
        uint64_t c = atomic_load_explicit(&v->batch.ctl, memory_order_relaxed);
        if (BATCH_NEXT(c) < BATCH_LEN(c))
            return 1;
    }
    return 0;
}

/* Up again (woken, or never down): stop counting as a sleeper, and take a
 * token if one is out (it was sent for us or for another sleeper that got
 * up too; either way the count stays right: tokens <= sleepers). */
static void get_up(crew_pool *pool)
{
    /* [mo: sleep.get_up.load] */
    uint64_t idle = atomic_load_explicit(&pool->idle, memory_order_relaxed);
    uint64_t next;
    do
        next = idle - IDLE_SLEEPER - (idle_tokens(idle) > 0 ? IDLE_TOKEN : 0);
    /* SeqCst: in the idle word's order with the publishers' RMWs.
     * [mo: sleep.get_up.cas] */
    while (!atomic_compare_exchange_weak_explicit(&pool->idle, &idle, next,
                                                  memory_order_seq_cst,
                                                  memory_order_relaxed));
}

static void quiet_notify(crew_pool *pool);

void crew_idle_sleep(crew_worker *w)
{
    crew_pool *pool = w->pool;
    quiet_notify(pool);
    /* Read the event before announcing: a wake after this point changes
     * it, and the futex then does not sleep. [mo: sleep.idle.event] */
    uint32_t e = atomic_load_explicit(&pool->event, memory_order_seq_cst);
    /* SeqCst RMW: the announcement every publisher's wake pairs with.
     * [mo: sleep.idle.announce] */
    atomic_fetch_add_explicit(&pool->idle, IDLE_SLEEPER, memory_order_seq_cst);
    /* Busy workers keep their newest spawns private: ask each to publish
     * one at its next spawn, and wake us for it. */
    for (unsigned i = 0; i < pool->nworkers; i++) {
        crew_worker *v = pool->workers[i];
        if (v != w)
            crew_ask_for_work(&v->hot);
    }
    /* [mo: sleep.idle.stopping] */
    if (!crew_work_visible(pool) &&
        !atomic_load_explicit(&pool->stopping, memory_order_seq_cst)) {
        crew_stat_add(&w->stats.sleeps, 1);
        crew_trace_event *ev = crew_trace(w, CREW_TRACE_SLEEP);
        crew_futex_wait(&pool->event, e, NULL);
        if (ev != NULL)
            ev->end_ns = crew_trace_now_ns();
    }
    get_up(pool);
}

/* ---- shutdown's wait for quiet ----
 *
 * Shutdown returns once every detached task accepted has finished, which
 * it can only see by reading counts; idle workers bump quiet_event on
 * their way to sleep so that it looks again. The 1 ms limit is a safety
 * net, not the mechanism: a worker that finished the last task without
 * going idle yet is seen at the next look. */

static void quiet_notify(crew_pool *pool)
{
    /* Relaxed test: a shutdown that set the flag after we read it looks
     * at the counts itself before it sleeps, and then every 1 ms. */
    if (atomic_load_explicit(&pool->quiet_waiters, memory_order_relaxed)) {
        /* Release: what we finished is seen by the waiter's next look. */
        atomic_fetch_add_explicit(&pool->quiet_event, 1, memory_order_release);
        crew_futex_wake(&pool->quiet_event, INT_MAX);
    }
}

void crew_quiet_wait(crew_pool *pool, int (*quiet)(crew_pool *))
{
    atomic_store_explicit(&pool->quiet_waiters, 1, memory_order_seq_cst);
    while (!quiet(pool)) {
        /* Acquire: pairs with quiet_notify's release. */
        uint32_t e = atomic_load_explicit(&pool->quiet_event, memory_order_acquire);
        if (quiet(pool))
            break;
        struct timespec ts = {0, 1000000};
        crew_futex_wait(&pool->quiet_event, e, &ts);
    }
    atomic_store_explicit(&pool->quiet_waiters, 0, memory_order_relaxed);
}

/* ---- bounded-queue space ----
 *
 * A producer that finds the queue full announces itself in space_waiters
 * and looks again before it sleeps; a consumer that frees places
 * decrements the count and then reads space_waiters. All four are seq_cst:
 * in their single order either the producer's look sees the freed place or
 * the consumer's read sees the producer and wakes it (the worker sleep's
 * argument). */

void crew_space_wait(crew_pool *pool, int (*still_full)(crew_pool *))
{
    /* Read before announcing: a release after this point changes it. */
    uint32_t e = atomic_load_explicit(&pool->space_event, memory_order_seq_cst);
    atomic_fetch_add_explicit(&pool->space_waiters, 1, memory_order_seq_cst);
    if (still_full(pool))
        crew_futex_wait(&pool->space_event, e, NULL);
    atomic_fetch_sub_explicit(&pool->space_waiters, 1, memory_order_seq_cst);
}

void crew_space_release(crew_pool *pool, unsigned n)
{
    atomic_fetch_sub_explicit(&pool->queued, n, memory_order_seq_cst);
    if (atomic_load_explicit(&pool->space_waiters, memory_order_seq_cst) > 0) {
        atomic_fetch_add_explicit(&pool->space_event, 1, memory_order_seq_cst);
        crew_futex_wake(&pool->space_event, (int)n);
    }
}

void crew_space_wake_all(crew_pool *pool)
{
    /* Shutdown closed the queue (seq_cst) before: a producer that reads
     * the new event also sees it closed, one that read the old one wakes. */
    atomic_fetch_add_explicit(&pool->space_event, 1, memory_order_seq_cst);
    crew_futex_wake(&pool->space_event, INT_MAX);
}

/* ---- stolen spawns ----
 *
 * The owner waiting on a stolen spawn announces its sleep in the task's
 * state word itself (STOLEN -> WAITING, a CAS); the thief's completing
 * exchange to DONE then sees WAITING and wakes it. One of the two RMWs on
 * the word comes first: if the CAS, the exchange reads WAITING; if the
 * exchange, the CAS fails and the owner sees DONE. */

void crew_stolen_sleep(crew_job_ *job, long ns)
{
    /* A CAS failure means the thief has not marked the task STOLEN yet
     * (keep looking) or it is already done. AcqRel: on success, nothing
     * the owner did before is reordered after its announcement; acquire on
     * failure: DONE brings the result. */
    uint32_t expect = CREW_SPAWN_STOLEN;
    /* [mo: sleep.stolen_sleep.cas] */
    if (__atomic_compare_exchange_n(&job->state, &expect, CREW_SPAWN_WAITING, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
        expect == CREW_SPAWN_WAITING) {
        struct timespec ts = {0, ns};
        crew_futex_wait((_Atomic uint32_t *)&job->state, CREW_SPAWN_WAITING, &ts);
    }
}

void crew_stolen_complete(crew_job_ *job)
{
    /* AcqRel exchange: the result is visible to the owner that reads DONE;
     * and we learn whether it sleeps on this word. After this the record
     * (on the owner's stack) may be gone: only its address is used below,
     * and a futex wake on a stale address is harmless.
     * [mo: sleep.stolen_complete.state] */
    uint32_t old = __atomic_exchange_n(&job->state, CREW_SPAWN_DONE, __ATOMIC_ACQ_REL);
    if (old == CREW_SPAWN_WAITING)
        crew_futex_wake((_Atomic uint32_t *)&job->state, 1);
}

/* ---- records: a state word with a waiter count ---- */

int crew_state_wait(_Atomic uint32_t *state, _Atomic uint32_t *waiters,
                    int (*settled)(uint32_t), long ns, const struct timespec *abstime)
{
    /* SeqCst increment, then seq_cst load of the state; the waker's side
     * (crew_state_wake) is a seq_cst change of the state, then a seq_cst
     * load of the count: one of the two sees the other.
     * [mo: sleep.state_wait.announce] */
    atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst);
    /* [mo: sleep.state_wait.state] */
    uint32_t s = atomic_load_explicit(state, memory_order_seq_cst);
    int rc = 0;
    if (!settled(s)) {
        if (abstime != NULL) {
            rc = crew_futex_wait_abs_realtime(state, s, abstime);
        } else if (ns > 0) {
            struct timespec ts = {0, ns};
            rc = crew_futex_wait(state, s, &ts);
        } else {
            rc = crew_futex_wait(state, s, NULL);
        }
    }
    /* [mo: sleep.state_wait.leave] */
    atomic_fetch_sub_explicit(waiters, 1, memory_order_seq_cst);
    return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

void crew_state_wake(_Atomic uint32_t *state, _Atomic uint32_t *waiters)
{
    /* The caller changed *state with a seq_cst operation just before.
     * [mo: sleep.state_wake.waiters] */
    if (atomic_load_explicit(waiters, memory_order_seq_cst) > 0)
        crew_futex_wake(state, INT_MAX);
}

/* ---- counts: sleep until a count drops to zero ---- */

void crew_count_wait(_Atomic uint32_t *count, long ns)
{
    /* Acquire: pairs with crew_count_drop's release. The futex compares
     * the count atomically with going to sleep, so a drop after our load
     * makes the wait return at once. */
    uint32_t v = atomic_load_explicit(count, memory_order_acquire);
    if (v == 0)
        return;
    struct timespec ts = {0, ns};
    crew_futex_wait(count, v, ns > 0 ? &ts : NULL);
}

int crew_count_drop(_Atomic uint32_t *count)
{
    /* Release: the dropper's work happens before a waiter sees 0. The
     * last dropper may be the last to touch the object holding the count
     * before a waiter frees it, so after the decrement only the address is
     * used (a futex wake on a stale address is harmless). */
    if (atomic_fetch_sub_explicit(count, 1, memory_order_release) != 1)
        return 0;
    crew_futex_wake(count, INT_MAX);
    return 1;
}

/* ---- flags: sleep until a word is set ----
 *
 * crew_run's caller waits for its root; crew_serial_wait's caller waits
 * for its marker to reach the front of its queue (serial.c). The futex
 * compares the word with 0 atomically with going to sleep, so a set after
 * the waiter's load makes its wait return at once: no wake-up is lost. */

void crew_flag_wait(_Atomic uint32_t *flag)
{
    /* Acquire: pairs with crew_flag_set's store. */
    while (atomic_load_explicit(flag, memory_order_acquire) == 0)
        crew_futex_wait(flag, 0, NULL);
}

void crew_flag_set(_Atomic uint32_t *flag)
{
    /* SeqCst store (release is what the waiter needs): after it the
     * waiter may return and the flag's memory be gone; only the address is
     * used for the wake. */
    atomic_store_explicit(flag, 1, memory_order_seq_cst);
    crew_futex_wake(flag, 1);
}

/* ---- events: sleep until another thread makes a condition true ----
 *
 * The space-wait handshake, for any condition. The waiter reads the event
 * word, announces itself in *sleepers and then tests the condition; the
 * waker makes the condition true and then reads *sleepers. All four are
 * seq_cst (the condition's loads in ready() and the waker's change too):
 * in their single order either the waiter's test comes after the change
 * (it sees it and does not sleep) or the waker's read comes after the
 * announcement (it sees the sleeper, bumps the event and wakes; the
 * waiter read the event before announcing, so a futex wait that has not
 * begun returns at once). Users: a late on_done caller waiting for a
 * future's callback turn (callbacks.c) and a completion queue's takers
 * (completion.c). */

int crew_event_wait(_Atomic uint32_t *event, _Atomic uint32_t *sleepers,
                    int (*ready)(void *ctx), void *ctx, const struct timespec *abstime)
{
    /* SeqCst, both: read before announcing, announce before testing. */
    uint32_t e = atomic_load_explicit(event, memory_order_seq_cst);
    atomic_fetch_add_explicit(sleepers, 1, memory_order_seq_cst);
    int rc = 0;
    if (!ready(ctx))
        rc = abstime != NULL ? crew_futex_wait_abs_realtime(event, e, abstime)
                             : crew_futex_wait(event, e, NULL);
    /* Relaxed would do (an extra wake is harmless); seq_cst keeps the
     * count's order simple to state. */
    atomic_fetch_sub_explicit(sleepers, 1, memory_order_seq_cst);
    return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

void crew_event_signal(_Atomic uint32_t *event, _Atomic uint32_t *sleepers, int n)
{
    /* The caller made the condition true with a seq_cst operation just
     * before; this seq_cst load is the waker's half of the handshake. The
     * object holding the words must stay alive until we return: every
     * caller holds a reference on it. */
    if (atomic_load_explicit(sleepers, memory_order_seq_cst) > 0) {
        /* SeqCst: ordered after the announcement we just read. */
        atomic_fetch_add_explicit(event, 1, memory_order_seq_cst);
        crew_futex_wake(event, n);
    }
}

/* ---- tallies: sleep until a count of notifications reaches a target ----
 *
 * wait_any: each future that completes adds one to the waiter's tally,
 * and the addition that reaches the target (1) wakes it. The
 * futex compares the tally with the value the waiter read atomically with
 * putting it to sleep, so an addition after that read makes the wait
 * return at once (and the waiter reads again); one before it is seen by
 * the read. Only the addition that reaches the target makes a system
 * call. The notifier holds a reference on the tally's block until it has
 * woken the waiter. */

int crew_tally_wait(_Atomic uint32_t *tally, uint32_t target, const struct timespec *abstime)
{
    for (;;) {
        /* Acquire: pairs with the notifiers' release additions (one
         * release sequence of RMWs), so what each notifier saw (its future
         * final) is visible once the target is read. */
        uint32_t v = atomic_load_explicit(tally, memory_order_acquire);
        if (v >= target)
            return 0;
        int rc = abstime != NULL ? crew_futex_wait_abs_realtime(tally, v, abstime)
                                 : crew_futex_wait(tally, v, NULL);
        if (rc == ETIMEDOUT)
            return atomic_load_explicit(tally, memory_order_acquire) >= target ? 0 : ETIMEDOUT;
    }
}

void crew_tally_add(_Atomic uint32_t *tally, uint32_t n, uint32_t target)
{
    /* Release: publishes the notifier's view (its future final). */
    uint32_t old = atomic_fetch_add_explicit(tally, n, memory_order_release);
    if (old < target && old + n >= target)
        crew_futex_wake(tally, INT_MAX);
}
