/*
 * Workers: their loop, stealing, the sleep protocol, and the pool's life
 * (create, shutdown, destroy, statistics). docs/scheduler.md is the design.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/thread.h"
#include "pool/objpool.h"
#include "scheduler/futex.h"

/* Never written: its private part reads as full (spawn's slow path) and
 * empty (sync's slow path), which is the serial elision. */
crew_worker_hot_ crew_outside_worker_ = {
    .priv_lo = CREW_PRIVATE_SPAWNS_,
    .priv_hi = CREW_PRIVATE_SPAWNS_,
};

_Thread_local crew_worker_hot_ *crew_current_worker_
    __attribute__((tls_model("initial-exec"))) = &crew_outside_worker_;

/* Polls of the injection queue: every this many local tasks a worker looks
 * there first, so outside work is never starved by inside work. */
#define INJECT_POLL_EVERY 32
#define DEFAULT_SPIN_US 100

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

/* ---- the sleep protocol (docs/scheduler.md, "Sleeping and waking") ----
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
         * the event bump below comes after it. */
    } while (!atomic_compare_exchange_weak_explicit(&pool->idle, &idle, idle + IDLE_TOKEN,
                                                    memory_order_seq_cst,
                                                    memory_order_relaxed));
    /* SeqCst: a sleeper counted in the word we just changed read the
     * event before announcing itself, so this bump comes after that read
     * and its futex wait returns at once if it has not begun. */
    atomic_fetch_add_explicit(&pool->event, 1, memory_order_seq_cst);
    crew_futex_wake(&pool->event, 1);
    crew_worker *self = crew_self();
    if (self != NULL && self->pool == pool)
        crew_stat_add(&self->stats.wakeups, 1);
    else
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
     * after our store (it sees the work). */
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
     * do too; ThreadSanitizer does not model fences.) */
    uint64_t idle = atomic_fetch_add_explicit(&pool->idle, 0, memory_order_seq_cst);
    unsigned woke = 0;
    while (woke < n && wake_from(pool, idle)) {
        woke++;
        /* Relaxed: the RMW above did the ordering; this only refreshes the
         * counts for the next token. */
        idle = atomic_load_explicit(&pool->idle, memory_order_relaxed);
    }
    return woke;
}

/* A worker that found work where more is waiting (a steal from a deque
 * that still has items, a batch-mate with mates left) wakes the next
 * sleeper: a chain that reaches min(k, s) sleepers even where a publisher
 * sent one wake for several items. Relaxed load: a heuristic read; the
 * publisher of those items has done the ordering for its own wake, and
 * the token's CAS rechecks the counts. */
static void wake_next(crew_pool *pool)
{
    wake_from(pool, atomic_load_explicit(&pool->idle, memory_order_relaxed));
}

static void wake_all(crew_pool *pool)
{
    atomic_fetch_add_explicit(&pool->event, 1, memory_order_release);
    crew_futex_wake(&pool->event, INT_MAX);
}

/* Whether a worker about to sleep can see work anywhere. After its
 * announcement (a seq_cst RMW): the injector's loads are seq_cst (see
 * crew_wake_after_sc_publish); a deque's or a batch's publication was
 * followed by its publisher's RMW on the idle word (see
 * crew_wake_after_publish), so relaxed loads see it whenever that RMW came
 * first. */
static int work_visible(crew_pool *pool)
{
    if (!crew_injector_empty(&pool->inj))
        return 1;
    for (unsigned i = 0; i < pool->nworkers; i++) {
        crew_worker *v = pool->workers[i];
        if (crew_deque_size_estimate(&v->deque) > 0)
            return 1;
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
    uint64_t idle = atomic_load_explicit(&pool->idle, memory_order_relaxed);
    uint64_t next;
    do
        next = idle - IDLE_SLEEPER - (idle_tokens(idle) > 0 ? IDLE_TOKEN : 0);
    /* SeqCst: in the idle word's order with the publishers' RMWs. */
    while (!atomic_compare_exchange_weak_explicit(&pool->idle, &idle, next,
                                                  memory_order_seq_cst,
                                                  memory_order_relaxed));
}

/* ---- leapfrog floors ---- */

int64_t crew_floor_enter(crew_worker *w)
{
    /* The frame below keeps no private spawns: a spawn of the new job that
     * publishes on request would otherwise publish one of the frame's
     * (the oldest private), above the new floor. */
    crew_publish_all_private(w);
    int64_t saved = atomic_load_explicit(&w->floor, memory_order_relaxed);
    /* Release: a waiter that reads this floor (acquire) also sees the
     * job's runner field that led it here. */
    atomic_store_explicit(&w->floor, crew_deque_bottom(&w->deque), memory_order_release);
    return saved;
}

void crew_floor_leave(crew_worker *w, int64_t saved)
{
    /* Release, after the job's completion: a waiter that reads the old
     * floor back (acquire) then also sees its job done. */
    atomic_store_explicit(&w->floor, saved, memory_order_release);
}

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
        /* A spawned task's owner learns who runs it in crew_run_job, once
         * the thief's floor is set for it. */
        crew_trace_event *ev = crew_trace(thief, CREW_TRACE_STEAL);
        if (ev != NULL)
            ev->arg = victim->index;
        crew_stat_add(&thief->stats.steals, 1);
        /* More where this came from: wake the next sleeper for it. */
        if (crew_deque_size_estimate(&victim->deque) > 0)
            wake_next(thief->pool);
        *out = x;
        return 0;
    }
    crew_stat_add(&thief->stats.failed_steals, 1);
    if (r == CREW_STEAL_EMPTY && !__atomic_load_n(&victim->hot.request, __ATOMIC_RELAXED))
        __atomic_store_n(&victim->hot.request, 1, __ATOMIC_RELAXED);
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

/* ---- finding work ---- */

int crew_steal_from(crew_worker *thief, crew_worker *victim, crew_job_ **out)
{
    return steal_counted(thief, victim, INT64_MIN, NULL, NULL, out);
}

/* ---- batches from the injection queue ---- */

/* Takes the next item of v's batch: any thread (the owner, an idle worker,
 * shutdown's drain). 1 if it got one. */
static int batch_take(crew_worker *v, crew_inj_item *out)
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
    uint64_t c = atomic_load_explicit(&b->ctl, memory_order_relaxed);
    uint64_t gen = (c >> 16) + 1;
    /* Release: takers that see the new generation see its items. */
    atomic_store_explicit(&b->ctl, (gen << 16) | n, memory_order_release);
    if (pool->cfg.queue_limit != 0)
        crew_release_queue_places(pool, n);
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
        crew_run_job(w, it->ref);
        return;
    }
    crew_trace_event *ev = crew_trace(w, CREW_TRACE_TASK);
    if (ev != NULL)
        ev->what = *(const void *const *)&it->fn;
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
    if (!batch_take(w, &it) && (!batch_refill(w) || !batch_take(w, &it)))
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
        if (v != w && batch_take(v, &it)) {
            /* Relaxed: a hint, as in wake_next. */
            uint64_t c = atomic_load_explicit(&v->batch.ctl, memory_order_relaxed);
            if (BATCH_NEXT(c) < BATCH_LEN(c))
                wake_next(pool);
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

/* A bounded queue has room again: wake one waiting producer. The seq_cst
 * pair (this decrement, the producer's increment of space_waiters) is the
 * same handshake as the workers' sleep. */
void crew_release_queue_places(crew_pool *pool, unsigned n)
{
    atomic_fetch_sub_explicit(&pool->queued, n, memory_order_seq_cst);
    if (atomic_load_explicit(&pool->space_waiters, memory_order_seq_cst) > 0) {
        atomic_fetch_add_explicit(&pool->space_event, 1, memory_order_release);
        crew_futex_wake(&pool->space_event, n);
    }
}

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
        while ((r = crew_steal_from(w, pool->workers[v], &job)) == EAGAIN)
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
            crew_run_job(w, job);
        return 1;
    }
    return run_stolen_batch_item(w);
}

void crew_run_job(crew_worker *w, crew_job_ *job)
{
    crew_trace_event *ev = crew_trace(w, CREW_TRACE_TASK);
    if (ev != NULL)
        ev->what = *(const void **)&job->fn;
    int64_t saved = crew_floor_enter(w);
    if (job->finish == NULL) {
        /* A stolen spawn: tell its owner who runs it (for leapfrogging),
         * only now that our floor is set for it. Relaxed state store:
         * only the owner's CAS STOLEN -> WAITING reads it, and it loops
         * until it sees it. */
        __atomic_store_n(&job->state, CREW_SPAWN_STOLEN, __ATOMIC_RELAXED);
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
            __asm__ volatile("pause" ::: "memory");
        else
            sched_yield();
        if (work_once(w))
            return 1;
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire))
            return 0;
    } while (now_us() < deadline);

    /* Shutdown may be waiting for the pool to go quiet: tell it we idle. */
    if (atomic_load_explicit(&pool->quiet_waiters, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&pool->quiet_event, 1, memory_order_release);
        crew_futex_wake(&pool->quiet_event, INT_MAX);
    }
    /* Read the event before announcing: a wake after this point changes
     * it, and the futex then does not sleep. */
    uint32_t e = atomic_load_explicit(&pool->event, memory_order_seq_cst);
    /* SeqCst RMW: the announcement every publisher's wake pairs with. */
    atomic_fetch_add_explicit(&pool->idle, IDLE_SLEEPER, memory_order_seq_cst);
    /* Busy workers keep their newest spawns private: ask each to publish
     * one at its next spawn, and wake us for it. */
    for (unsigned i = 0; i < pool->nworkers; i++) {
        crew_worker *v = pool->workers[i];
        if (v != w && !__atomic_load_n(&v->hot.request, __ATOMIC_RELAXED))
            __atomic_store_n(&v->hot.request, 1, __ATOMIC_RELAXED);
    }
    if (!work_visible(pool) &&
        !atomic_load_explicit(&pool->stopping, memory_order_seq_cst)) {
        crew_stat_add(&w->stats.sleeps, 1);
        crew_trace_event *ev = crew_trace(w, CREW_TRACE_SLEEP);
        crew_futex_wait(&pool->event, e, NULL);
        if (ev != NULL)
            ev->end_ns = crew_trace_now_ns();
    }
    get_up(pool);
    return 0;
}

static void *worker_main(void *arg)
{
    crew_worker *w = arg;
    crew_pool *pool = w->pool;
    crew_current_worker_ = &w->hot;
    if (pool->cfg.on_worker_start != NULL)
        pool->cfg.on_worker_start(w->index, pool->cfg.ctx);
    for (;;) {
        if (work_once(w) || search_then_sleep(w))
            continue;
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire) &&
            !work_visible(pool))
            break;
    }
    /* The stop hook runs as an outside thread: a post from it must not
     * land on this exiting worker's deque (it gets ESHUTDOWN). */
    crew_current_worker_ = &crew_outside_worker_;
    if (pool->cfg.on_worker_stop != NULL)
        pool->cfg.on_worker_stop(w->index, pool->cfg.ctx);
    return NULL;
}

/* ---- accounting of detached tasks ---- */

void crew_count_completed(crew_pool *pool, crew_worker *w)
{
    if (w != NULL)
        /* Release (a store by the only writer): the task's effects happen
         * before shutdown's acquire read of the count. */
        atomic_store_explicit(&w->stats.completed,
                              atomic_load_explicit(&w->stats.completed,
                                                   memory_order_relaxed) + 1,
                              memory_order_release);
    else
        atomic_fetch_add_explicit(&pool->drained, 1, memory_order_release);
}

static uint64_t accepted_total(crew_pool *pool)
{
    uint64_t n = crew_injector_pushed(&pool->inj);
    for (unsigned i = 0; i < pool->nworkers; i++)
        n += atomic_load_explicit(&pool->workers[i]->stats.internal_accepted,
                                  memory_order_seq_cst);
    return n;
}

/* Whether every detached task ever accepted has finished. Acceptances only
 * grow, and a task is accepted before it can complete, so reading
 * accepted, then completed, then accepted again and finding all three
 * equal proves that at the moment of the middle read nothing was pending
 * (a task accepted and finished in between would raise the second read). */
static int pool_quiet(crew_pool *pool)
{
    uint64_t a1 = accepted_total(pool);
    uint64_t c = atomic_load_explicit(&pool->drained, memory_order_acquire);
    for (unsigned i = 0; i < pool->nworkers; i++)
        c += atomic_load_explicit(&pool->workers[i]->stats.completed,
                                  memory_order_acquire);
    uint64_t a2 = accepted_total(pool);
    return a1 == a2 && c == a1;
}

static void wait_quiet(crew_pool *pool)
{
    /* Idle workers bump quiet_event on their way to sleep; the 1 ms limit
     * is a safety net, not the mechanism. */
    atomic_store_explicit(&pool->quiet_waiters, 1, memory_order_seq_cst);
    while (!pool_quiet(pool)) {
        uint32_t e = atomic_load_explicit(&pool->quiet_event, memory_order_acquire);
        if (pool_quiet(pool))
            break;
        struct timespec ts = {0, 1000000};
        crew_futex_wait(&pool->quiet_event, e, &ts);
    }
    atomic_store_explicit(&pool->quiet_waiters, 0, memory_order_relaxed);
}

/* ---- life of a pool ---- */

void crew_config_default(crew_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = sizeof(*cfg);
    cfg->spin_us = DEFAULT_SPIN_US;
    cfg->name = "crew";
}

/* Reads a caller's config of any version: fields it does not have (past
 * its size) and zero fields take defaults. */
static void config_read(crew_config *out, const crew_config *in)
{
    crew_config_default(out);
    if (in == NULL)
        return;
    int zeroed = in->size == 0; /* never through crew_config_default */
    size_t n = zeroed ? sizeof(*in) : in->size;
    if (n > sizeof(*out))
        n = sizeof(*out);
    memcpy(out, in, n);
    out->size = sizeof(*out);
    /* Fields past the caller's size take defaults; in a zeroed config,
     * zeros mean defaults (API.md). After crew_config_default, a spin_us
     * of 0 is the caller's: sleep at once. */
    if (zeroed ? out->spin_us == 0 : n <= offsetof(crew_config, spin_us))
        out->spin_us = DEFAULT_SPIN_US;
    if (out->name == NULL)
        out->name = "crew";
}

static unsigned cpus_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static void free_workers(crew_pool *pool)
{
    if (pool->workers == NULL)
        return;
    for (unsigned i = 0; i < pool->nworkers; i++) {
        crew_worker *w = pool->workers[i];
        if (w == NULL)
            continue; /* create ran out of memory before this one */
        crew_deque_destroy(&w->deque);
        crew_trace_buf_free(&w->trace);
        free(w);
    }
    free(pool->workers);
}

/* Frees a pool in any state create can leave it in: every part is either
 * made or NULL (the pool starts zeroed), and no worker runs. */
static void free_pool(crew_pool *pool)
{
    free_workers(pool);
    if (pool->inj.segments != NULL)
        crew_injector_destroy(&pool->inj);
    if (pool->records != NULL)
        crew_records_drop_pool(pool);
    pthread_mutex_destroy(&pool->lifecycle);
    free(pool->trace_path);
    free(pool);
}

static int start_workers(crew_pool *pool)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return EAGAIN;
    if (pool->cfg.stack_size != 0 &&
        pthread_attr_setstacksize(&attr, pool->cfg.stack_size) != 0) {
        pthread_attr_destroy(&attr);
        return EINVAL;
    }
    /* Workers block every asynchronous signal: they inherit this mask. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < pool->nworkers; i++) {
        crew_worker *w = pool->workers[i];
        rc = crew_thread_create(&w->thread, &attr, worker_main, w);
        if (rc != 0)
            break;
        w->started = 1;
        /* The kernel keeps 15 characters: prefix cut to 10, "-", index. */
        char name[32];
        snprintf(name, sizeof name, "%.10s-%u", pool->cfg.name, i % 10000);
        name[15] = '\0';
        pthread_setname_np(w->thread, name);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return rc;
}

/* Stops and joins the workers that were started (all of them, or, when
 * create failed part-way, those before the failure). */
static void stop_and_join(crew_pool *pool)
{
    atomic_store_explicit(&pool->stopping, 1, memory_order_seq_cst);
    wake_all(pool);
    for (unsigned i = 0; i < pool->nworkers; i++)
        if (pool->workers[i] != NULL && pool->workers[i]->started)
            pthread_join(pool->workers[i]->thread, NULL);
}

/* Everything a pool needs before its workers start: 0 or ENOMEM. */
static int pool_alloc_parts(crew_pool *pool, const char *trace)
{
    if (trace != NULL && trace[0] != '\0') {
        size_t len = strlen(trace) + 1;
        pool->trace_path = crew_malloc(len);
        if (pool->trace_path == NULL)
            return ENOMEM;
        memcpy(pool->trace_path, trace, len);
        pool->trace_origin = crew_trace_now_ns();
    }
    pool->workers = crew_calloc(pool->cfg.workers, sizeof(crew_worker *));
    if (pool->workers == NULL)
        return ENOMEM;
    pool->nworkers = pool->cfg.workers;
    if (crew_injector_init(&pool->inj) != 0)
        return ENOMEM;
    for (unsigned i = 0; i < pool->nworkers; i++) {
        crew_worker *w = crew_aligned_alloc(64, sizeof(*w));
        if (w == NULL)
            return ENOMEM;
        memset(w, 0, sizeof(*w));
        w->pool = pool;
        w->index = i;
        w->rng = 0x9e3779b97f4a7c15ull * (i + 1);
        pool->workers[i] = w;
        if (crew_deque_init(&w->deque, 256) != 0)
            return ENOMEM;
    }
    pool->records = crew_records_create(pool->nworkers);
    return pool->records == NULL ? ENOMEM : 0;
}

crew_pool *crew_pool_create(const crew_config *cfg)
{
    crew_config c;
    config_read(&c, cfg);
    if (c.workers > 4096) {
        errno = EINVAL;
        return NULL;
    }
    if (c.workers == 0)
        c.workers = cpus_available();
    crew_pool *pool = crew_aligned_alloc(64, sizeof(*pool));
    if (pool == NULL)
        return NULL;
    memset(pool, 0, sizeof(*pool));
    pool->cfg = c;
    pool->cfg.trace_path = NULL; /* the caller's string need not outlive this call */
    pthread_mutex_init(&pool->lifecycle, NULL);
    int rc = pool_alloc_parts(pool, c.trace_path != NULL ? c.trace_path : getenv("CREW_TRACE"));
    if (rc == 0) {
        rc = start_workers(pool);
        if (rc != 0)
            stop_and_join(pool);
    }
    if (rc != 0) {
        free_pool(pool);
        errno = rc;
        return NULL;
    }
    return pool;
}

static int is_own_worker(const crew_pool *pool)
{
    crew_worker *self = crew_self();
    return self != NULL && self->pool == pool;
}

/* Shutdown's drain: an item that has not started is cancelled, except a
 * crew_run root, which always runs: it is kept on a private list (linked
 * through its unused result word) and queued again after the drain. */
static void cancel_or_keep(crew_pool *pool, const crew_inj_item *it, crew_job_ **roots)
{
    crew_job_ *job = it->kind == CREW_INJ_JOB ? it->ref : NULL;
    if (job == NULL || !(job->flags & CREW_JOB_NOCANCEL)) {
        crew_cancel_injected(pool, it);
        return;
    }
    job->result = *roots;
    *roots = job;
}

static void requeue_roots(crew_pool *pool, crew_job_ *roots)
{
    while (roots != NULL) {
        crew_job_ *job = roots;
        roots = job->result;
        job->result = NULL;
        crew_inj_item it = {NULL, NULL, job, CREW_INJ_JOB};
        if (crew_injector_push_even_closed(&pool->inj, &it) != 0) {
            job->finish(job, NULL); /* no memory for a segment: run it here */
            continue;
        }
        /* The queue counts the root as accepted a second time: count one
         * completion for it here, so that the quiet test balances. */
        crew_count_completed(pool, NULL);
        if (pool->cfg.queue_limit != 0)
            atomic_fetch_add_explicit(&pool->queued, 1, memory_order_seq_cst);
    }
}

int crew_pool_shutdown(crew_pool *pool, bool cancel_pending)
{
    if (pool == NULL)
        return EINVAL;
    if (is_own_worker(pool))
        return EDEADLK;
    pthread_mutex_lock(&pool->lifecycle);
    /* Close: outside submits from now on fail ESHUTDOWN. One claimed
     * before the close is accepted, counted, and in the queue. */
    crew_injector_close(&pool->inj);
    /* Producers blocked on a full queue give up with ESHUTDOWN. */
    atomic_fetch_add_explicit(&pool->space_event, 1, memory_order_release);
    crew_futex_wake(&pool->space_event, INT_MAX);
    if (cancel_pending) {
        crew_inj_item it;
        crew_job_ *roots = NULL;
        while (crew_injector_pop_claimed(&pool->inj, &it)) {
            if (pool->cfg.queue_limit != 0)
                crew_release_queue_places(pool, 1);
            cancel_or_keep(pool, &it, &roots);
        }
        /* Items workers claimed into their batches have not started
         * either: cancel those too. (A worker that claimed a batch between
         * the two drains runs it: cancelling is best effort for items a
         * worker already holds; exactly-once holds either way.) */
        for (unsigned i = 0; i < pool->nworkers; i++)
            while (batch_take(pool->workers[i], &it))
                cancel_or_keep(pool, &it, &roots);
        requeue_roots(pool, roots);
        wake_all(pool);
    }
    wait_quiet(pool);
    pthread_mutex_unlock(&pool->lifecycle);
    return 0;
}

int crew_pool_destroy(crew_pool *pool)
{
    if (pool == NULL)
        return EINVAL;
    if (is_own_worker(pool))
        return EDEADLK;
    int rc = crew_pool_shutdown(pool, false);
    if (rc != 0)
        return rc;
    stop_and_join(pool);
    if (pool->trace_path != NULL) {
        /* The workers are joined: their buffers are ours to read. A trace
         * that cannot be written does not fail the destroy (the pool is
         * gone either way); the reason goes to stderr. */
        crew_trace_buf *bufs[CREW_TRACE_MAX_WORKERS];
        unsigned n = pool->nworkers < CREW_TRACE_MAX_WORKERS ? pool->nworkers
                                                             : CREW_TRACE_MAX_WORKERS;
        for (unsigned i = 0; i < n; i++)
            bufs[i] = &pool->workers[i]->trace;
        int wrc = crew_trace_write(pool->trace_path, bufs, n, pool->trace_origin);
        if (wrc != 0)
            fprintf(stderr, "crew: cannot write the trace %s: %s\n", pool->trace_path,
                    strerror(wrc));
    }
    free_pool(pool);
    return 0;
}

unsigned crew_pool_workers(const crew_pool *pool)
{
    return pool == NULL ? 0 : pool->nworkers;
}

int crew_worker_index(void)
{
    crew_worker *w = crew_self();
    return w == NULL ? -1 : (int)w->index;
}

void crew_pool_stats(const crew_pool *pool, crew_stats *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    if (pool == NULL)
        return;
    for (unsigned i = 0; i < pool->nworkers; i++) {
        const crew_worker *w = pool->workers[i];
        const crew_worker_stats *s = &w->stats;
        /* Every spawned task runs exactly once (inline or stolen), so the
         * fast path counts spawns only; tasks_run adds the detached ones. */
        uint64_t spawns = __atomic_load_n(&w->hot.spawns, __ATOMIC_RELAXED);
        out->tasks_run += atomic_load_explicit(&s->tasks_run, memory_order_relaxed) + spawns;
        out->spawns += spawns;
        out->steals += atomic_load_explicit(&s->steals, memory_order_relaxed);
        out->failed_steals += atomic_load_explicit(&s->failed_steals, memory_order_relaxed);
        out->injected += atomic_load_explicit(&s->injected, memory_order_relaxed);
        out->sleeps += atomic_load_explicit(&s->sleeps, memory_order_relaxed);
        out->wakeups += atomic_load_explicit(&s->wakeups, memory_order_relaxed);
    }
    out->wakeups += atomic_load_explicit(&pool->outside_wakeups, memory_order_relaxed);
}
