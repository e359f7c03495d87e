/* Suite `futures`, done callbacks: crew_future_on_done runs each callback
 * exactly once, at once on a done future and otherwise on the completing
 * or cancelling thread after the result is visible, in the order added,
 * never two of one future at a time, with the future alive; a late one
 * waits for earlier ones; one added from inside a callback of the same
 * future runs after the callbacks already due; registrations racing the
 * completion are neither lost nor doubled (the negative control
 * future_callback_recheck makes that case fail); every error value. */
#include "futures_cases.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/fault.h"
#include "futures_util.h"

static void *identity(void *arg)
{
    return arg;
}

static void *noop_task(void *arg)
{
    return arg;
}

/* ---- what a callback saw ---- */

typedef struct seen {
    _Atomic long calls;
    pthread_t thread;
    int worker;    /* crew_worker_index() in the callback */
    int wait_rc;   /* crew_future_wait(f) in the callback */
    void *result;  /* what that wait gave */
    int done;      /* crew_future_done(f) in the callback */
} seen;

static void record_seen(crew_future *f, void *ctx)
{
    seen *s = ctx;
    s->thread = pthread_self();
    s->worker = crew_worker_index();
    s->done = crew_future_done(f);
    s->wait_rc = crew_future_wait(f, &s->result);
    atomic_fetch_add(&s->calls, 1);
}

int on_done_on_a_done_future_runs_at_once_in_the_caller(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_future *f = crew_submit(p, identity, IP(42));
    CHECK(f != NULL);
    CHECK(crew_future_wait(f, NULL) == 0);
    seen s = {0};
    CHECK(crew_future_on_done(f, record_seen, &s) == 0);
    /* Before on_done returned, on this thread, with the result visible. */
    CHECK(atomic_load(&s.calls) == 1);
    CHECK(pthread_equal(s.thread, pthread_self()));
    CHECK(s.done && s.wait_rc == 0 && s.result == IP(42));
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    CHECK(atomic_load(&s.calls) == 1);
    return 0;
}

int on_done_on_a_pending_future_runs_on_the_completing_worker_after_the_result(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    gated g = {0, 7};
    crew_future *f = crew_submit(p, gated_task, &g);
    CHECK(f != NULL);
    seen s = {0};
    CHECK(crew_future_on_done(f, record_seen, &s) == 0);
    CHECK(atomic_load(&s.calls) == 0);
    gate_open(&g);
    CHECK(crew_future_wait(f, NULL) == 0);
    CHECK(crew_pool_shutdown(p, false) == 0); /* the worker is done with f */
    CHECK(atomic_load(&s.calls) == 1);
    CHECK(s.worker == 0);
    CHECK(s.done && s.wait_rc == 0 && s.result == IP(7));
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int a_cancelled_future_runs_its_callbacks_on_the_cancelling_thread(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    gated hold = {0, 0};
    crew_future *blocker = crew_submit(p, gated_task, &hold);
    crew_future *f = crew_submit(p, identity, IP(1)); /* queued behind it */
    CHECK(blocker != NULL && f != NULL);
    seen s = {0};
    CHECK(crew_future_on_done(f, record_seen, &s) == 0);
    CHECK(crew_future_cancel(f) == 0);
    CHECK(atomic_load(&s.calls) == 1);
    CHECK(pthread_equal(s.thread, pthread_self()));
    CHECK(s.done && s.wait_rc == ECANCELED);
    /* A cancel that finds it cancelled already does not run them again. */
    CHECK(crew_future_cancel(f) == 0);
    CHECK(atomic_load(&s.calls) == 1);
    gate_open(&hold);
    crew_future_release(f);
    crew_future_release(blocker);
    CHECK(crew_pool_destroy(p) == 0);
    CHECK(atomic_load(&s.calls) == 1);
    return 0;
}

/* ---- order, and never two at a time ---- */

#define ORDER_EARLY 100
#define ORDER_LATE 50

typedef struct order_log {
    _Atomic int inside; /* a callback of the future is running */
    _Atomic int overlaps;
    _Atomic long n;
    long order[ORDER_EARLY + ORDER_LATE];
} order_log;

typedef struct order_entry {
    order_log *log;
    long index;
} order_entry;

static void log_order(crew_future *f, void *ctx)
{
    (void)f;
    order_entry *e = ctx;
    if (atomic_exchange(&e->log->inside, 1) != 0)
        atomic_fetch_add(&e->log->overlaps, 1);
    long at = atomic_fetch_add(&e->log->n, 1);
    if (at < ORDER_EARLY + ORDER_LATE)
        e->log->order[at] = e->index;
    atomic_store(&e->log->inside, 0);
}

int callbacks_of_one_future_run_in_the_order_they_were_added(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    static order_log log;
    static order_entry entries[ORDER_EARLY + ORDER_LATE];
    memset(&log, 0, sizeof log);
    gated g = {0, 0};
    crew_future *f = crew_submit(p, gated_task, &g);
    CHECK(f != NULL);
    for (long i = 0; i < ORDER_EARLY; i++) {
        entries[i] = (order_entry){&log, i};
        CHECK(crew_future_on_done(f, log_order, &entries[i]) == 0);
    }
    gate_open(&g);
    /* Late ones, added while the worker may still be running the early
     * ones: each runs here, after every earlier one has returned. */
    CHECK(crew_future_wait(f, NULL) == 0);
    for (long i = ORDER_EARLY; i < ORDER_EARLY + ORDER_LATE; i++) {
        entries[i] = (order_entry){&log, i};
        CHECK(crew_future_on_done(f, log_order, &entries[i]) == 0);
        CHECK(atomic_load(&log.n) == i + 1);
    }
    CHECK(atomic_load(&log.overlaps) == 0);
    for (long i = 0; i < ORDER_EARLY + ORDER_LATE; i++)
        CHECKF(log.order[i] == i, "position %ld ran callback %ld", i, log.order[i]);
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- a late on_done waits for the callbacks running elsewhere ---- */

typedef struct slow_first {
    _Atomic int started, may_finish, finished;
    _Atomic int late_saw_finished;
    _Atomic int late_ran;
} slow_first;

static void slow_callback(crew_future *f, void *ctx)
{
    (void)f;
    slow_first *s = ctx;
    atomic_store(&s->started, 1);
    for (int i = 0; i < 5000 && !atomic_load(&s->may_finish); i++)
        test_sleep_ms(1);
    atomic_store(&s->finished, 1);
}

static void late_callback(crew_future *f, void *ctx)
{
    (void)f;
    slow_first *s = ctx;
    atomic_store(&s->late_saw_finished, atomic_load(&s->finished));
    atomic_store(&s->late_ran, 1);
}

static void *let_it_finish(void *arg)
{
    slow_first *s = arg;
    test_sleep_ms(30);
    atomic_store(&s->may_finish, 1);
    return NULL;
}

int a_late_on_done_waits_for_the_callbacks_running_on_another_thread(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    slow_first s = {0};
    gated g = {0, 0};
    crew_future *f = crew_submit(p, gated_task, &g);
    CHECK(f != NULL);
    CHECK(crew_future_on_done(f, slow_callback, &s) == 0);
    gate_open(&g);
    for (int i = 0; i < 5000 && !atomic_load(&s.started); i++)
        test_sleep_ms(1);
    CHECK(atomic_load(&s.started));
    CHECK(crew_future_done(f));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, let_it_finish, &s) == 0);
    CHECK(crew_future_on_done(f, late_callback, &s) == 0);
    CHECK(atomic_load(&s.late_ran)); /* before on_done returned */
    CHECK(atomic_load(&s.late_saw_finished));
    pthread_join(t, NULL);
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- the future stays valid during its callbacks ---- */

typedef struct releaser {
    crew_pool *pool;
    int same_record; /* a submit in the callback got f's record back */
    int wait_rc;
    void *result;
    _Atomic int ran;
} releaser;

static void release_then_use(crew_future *f, void *ctx)
{
    releaser *r = ctx;
    crew_future_release(f); /* the caller's only reference */
    /* Were f recycled, this thread's next record would likely be f's. */
    crew_future *g = crew_submit(r->pool, identity, NULL);
    r->same_record = g == f;
    r->wait_rc = crew_future_wait(f, &r->result);
    if (g != NULL) {
        crew_future_wait(g, NULL);
        crew_future_release(g);
    }
    atomic_store(&r->ran, 1);
}

int a_callback_that_releases_its_future_can_still_use_it(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    /* Late: once `after` is done, the worker has dropped f's queue entry,
     * so the caller holds f's last reference. */
    crew_future *f = crew_submit(p, identity, IP(5));
    crew_future *after = crew_submit(p, noop_task, NULL);
    CHECK(f != NULL && after != NULL);
    CHECK(crew_future_wait(after, NULL) == 0);
    releaser r = {.pool = p};
    CHECK(crew_future_on_done(f, release_then_use, &r) == 0);
    CHECK(atomic_load(&r.ran));
    CHECK(!r.same_record);
    CHECK(r.wait_rc == 0 && r.result == IP(5));
    crew_future_release(after);
    /* Pending: registered first, released inside, on the worker. */
    gated g = {0, 9};
    crew_future *h = crew_submit(p, gated_task, &g);
    CHECK(h != NULL);
    releaser r2 = {.pool = p};
    CHECK(crew_future_on_done(h, release_then_use, &r2) == 0);
    gate_open(&g);
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(atomic_load(&r2.ran));
    CHECK(r2.wait_rc == 0 && r2.result == IP(9));
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- on_done from inside a callback of the same future ---- */

typedef struct nested {
    crew_future *f;
    long log[4];
    _Atomic long n;
    int inner_rc;
    long n_when_inner_returned;
    pthread_t threads[4];
} nested;

static void nested_log(nested *s, long id)
{
    long at = atomic_fetch_add(&s->n, 1);
    if (at < 4) {
        s->log[at] = id;
        s->threads[at] = pthread_self();
    }
}

static void nested_b(crew_future *f, void *ctx)
{
    (void)f;
    nested_log(ctx, 2);
}

static void nested_a(crew_future *f, void *ctx)
{
    nested *s = ctx;
    nested_log(s, 0);
    s->inner_rc = crew_future_on_done(f, nested_b, s);
    s->n_when_inner_returned = atomic_load(&s->n);
}

static void nested_c(crew_future *f, void *ctx)
{
    (void)f;
    nested_log(ctx, 1);
}

int on_done_inside_a_callback_of_the_same_future_runs_after_the_ones_due(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    for (int late = 0; late < 2; late++) {
        nested s = {0};
        gated g = {0, 0};
        crew_future *f = crew_submit(p, gated_task, &g);
        CHECK(f != NULL);
        if (late) {
            gate_open(&g);
            CHECK(crew_future_wait(f, NULL) == 0);
            /* A then C added late, each run in the caller: B (added by A)
             * runs after A returns, before on_done(A) returns. */
            CHECK(crew_future_on_done(f, nested_a, &s) == 0);
            CHECK(atomic_load(&s.n) == 2);
            CHECK(crew_future_on_done(f, nested_c, &s) == 0);
            CHECK(s.log[0] == 0 && s.log[1] == 2 && s.log[2] == 1);
        } else {
            CHECK(crew_future_on_done(f, nested_a, &s) == 0);
            CHECK(crew_future_on_done(f, nested_c, &s) == 0);
            gate_open(&g);
            CHECK(crew_future_wait(f, NULL) == 0);
            CHECK(crew_pool_shutdown(p, false) == 0);
            /* A, then C (due before B was added), then B. */
            CHECK(atomic_load(&s.n) == 3);
            CHECK(s.log[0] == 0 && s.log[1] == 1 && s.log[2] == 2);
            CHECK(pthread_equal(s.threads[0], s.threads[2]));
        }
        CHECK(s.inner_rc == 0);
        CHECK(s.n_when_inner_returned == 1); /* B had not run yet */
        crew_future_release(f);
        if (!late) {
            CHECK(crew_pool_destroy(p) == 0);
            p = test_pool(1, 0, false);
            CHECK(p != NULL);
        }
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- registrations racing the completion ---- */

/* The task says it runs, then spins until released: the registration
 * that follows the release meets the completion within a few hundred
 * nanoseconds. */
typedef struct race_gate {
    _Atomic int started, go;
} race_gate;

static void *spin_until_released(void *arg)
{
    race_gate *g = arg;
    atomic_store_explicit(&g->started, 1, memory_order_release);
    while (!atomic_load_explicit(&g->go, memory_order_acquire))
        ;
    return NULL;
}

static void count_call(crew_future *f, void *ctx)
{
    (void)f;
    atomic_fetch_add((_Atomic long *)ctx, 1);
}

/* A trial's callback: counts, and tells whether it ran on the worker. */
typedef struct race_seen {
    _Atomic long calls;
    _Atomic int on_worker;
} race_seen;

static void race_call(crew_future *f, void *ctx)
{
    (void)f;
    race_seen *s = ctx;
    atomic_store(&s->on_worker, crew_worker_index() >= 0);
    atomic_fetch_add(&s->calls, 1);
}

/* One callback per trial: a later registration on the same future would
 * find it done and claim the list, rescuing a node the completer missed,
 * so only the last registration can be lost. The delay between releasing
 * the task and registering follows the completion: longer after a trial
 * whose callback ran on the worker (the registration came first), shorter
 * after one that ran here (it came after the completion), so the trials
 * stay where the two meet, whatever the machine's speed and load. */
/* The worker and the registering thread on two different CPUs, when the
 * process may use two: on one, they would take turns rather than race. */
typedef struct race_cpus {
    cpu_set_t allowed;
    int worker_cpu, test_cpu; /* -1: not pinned */
} race_cpus;

static void pin_race_worker(unsigned index, void *ctx)
{
    (void)index;
    race_cpus *c = ctx;
    if (c->worker_cpu >= 0)
        pin_to_cpu(c->worker_cpu);
}

int callbacks_racing_the_completion_run_exactly_once(void)
{
    static race_cpus cpus;
    cpus.worker_cpu = cpus.test_cpu = -1;
    if (sched_getaffinity(0, sizeof cpus.allowed, &cpus.allowed) == 0 &&
        CPU_COUNT(&cpus.allowed) >= 2) {
        cpus.worker_cpu = nth_allowed_cpu(&cpus.allowed, 0);
        cpus.test_cpu = nth_allowed_cpu(&cpus.allowed, 1);
    }
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 1;
    cfg.on_worker_start = pin_race_worker;
    cfg.ctx = &cpus;
    crew_pool *p = crew_pool_create(&cfg);
    CHECK(p != NULL);
    if (cpus.test_cpu >= 0)
        pin_to_cpu(cpus.test_cpu);
    long trials = crew_scaled(10000, 2000);
    long bad = 0, first_bad = -1, met = 0;
    long delay = 0;
    uint32_t rng = 12345;
    double t0 = test_now_s();
    /* At most 6 s (a loaded machine makes spinning slow); past `trials`
     * only until the race has been met once (a sanitizer build's few
     * trials could all miss it while the delay was still adapting). */
    for (long t = 0; (t < trials || met == 0) && test_now_s() - t0 < 6; t++) {
        race_gate gate = {0, 0};
        race_seen seen = {0, 0};
        crew_future *f = crew_submit(p, spin_until_released, &gate);
        crew_future *after = crew_submit(p, noop_task, NULL);
        CHECK(f != NULL && after != NULL);
        test_spin_until(&gate.started);
        rng = rng * 1103515245u + 12345u;
        long jitter = (long)(rng >> 28) - 8; /* -8..7 */
        long d_end = delay + jitter > 0 ? delay + jitter : 0;
        atomic_store_explicit(&gate.go, 1, memory_order_release);
        for (volatile long d = 0; d < d_end; d++)
            ;
        CHECK(crew_future_on_done(f, race_call, &seen) == 0);
        /* The worker runs `after` only once it is done with f. */
        CHECK(crew_future_wait(after, NULL) == 0);
        CHECK(crew_future_wait(f, NULL) == 0);
        if (atomic_load(&seen.calls) != 1) {
            if (bad++ == 0)
                first_bad = t;
        } else if (atomic_load(&seen.on_worker)) {
            delay += 2;
        } else if (delay > 0) {
            delay -= 2;
        }
        met += atomic_load(&seen.on_worker);
        crew_future_release(after);
        crew_future_release(f);
    }
    if (cpus.test_cpu >= 0)
        pthread_setaffinity_np(pthread_self(), sizeof cpus.allowed, &cpus.allowed);
    CHECKF(bad == 0, "%ld trials lost or doubled their callback (the first: trial %ld)", bad,
           first_bad);
    /* The race was met: some registrations came before the completion. */
    CHECKF(met > 0, "no registration met the completion: the race did not happen");
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* Two threads register on the same futures while they complete: every
 * callback once, each thread's in the order it added them, never two of
 * one future at a time. */
#define MANY_FUTURES 2000
#define PER_THREAD 20

typedef struct many_log {
    _Atomic int inside;
    _Atomic long overlaps;
    _Atomic long calls[2][PER_THREAD];
    _Atomic long last[2]; /* the highest index run so far, per thread */
    _Atomic long out_of_order;
} many_log;

typedef struct many_entry {
    many_log *log;
    int thread;
    long index;
} many_entry;

static many_log many_logs[MANY_FUTURES];

static void *spin_briefly(void *arg)
{
    for (volatile int i = 0; i < 2000; i++)
        ;
    return arg;
}

static many_entry many_entries[MANY_FUTURES][2][PER_THREAD];
static crew_future *many_futures[MANY_FUTURES];

static void many_callback(crew_future *f, void *ctx)
{
    (void)f;
    many_entry *e = ctx;
    many_log *l = e->log;
    if (atomic_exchange(&l->inside, 1) != 0)
        atomic_fetch_add(&l->overlaps, 1);
    atomic_fetch_add(&l->calls[e->thread][e->index], 1);
    if (atomic_load(&l->last[e->thread]) >= e->index)
        atomic_fetch_add(&l->out_of_order, 1);
    atomic_store(&l->last[e->thread], e->index);
    atomic_store(&l->inside, 0);
}

static void *register_many(void *arg)
{
    int thread = (int)PI(arg);
    for (long i = 0; i < MANY_FUTURES; i++)
        for (long k = 0; k < PER_THREAD; k++) {
            many_entries[i][thread][k] = (many_entry){&many_logs[i], thread, k};
            if (crew_future_on_done(many_futures[i], many_callback,
                                    &many_entries[i][thread][k]) != 0)
                return IP(1);
        }
    return NULL;
}

int on_done_from_two_threads_while_futures_complete_runs_each_once_in_order(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    memset(many_logs, 0, sizeof many_logs);
    for (long i = 0; i < MANY_FUTURES; i++) {
        atomic_store(&many_logs[i].last[0], -1);
        atomic_store(&many_logs[i].last[1], -1);
        many_futures[i] = crew_submit(p, spin_briefly, IP(i));
        CHECK(many_futures[i] != NULL);
    }
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        CHECK(pthread_create(&t[k], NULL, register_many, IP(k)) == 0);
    for (int k = 0; k < 2; k++) {
        void *rc;
        pthread_join(t[k], &rc);
        CHECK(rc == NULL);
    }
    CHECK(crew_pool_shutdown(p, false) == 0);
    for (long i = 0; i < MANY_FUTURES; i++) {
        many_log *l = &many_logs[i];
        for (int k = 0; k < 2; k++)
            for (long j = 0; j < PER_THREAD; j++)
                CHECKF(atomic_load(&l->calls[k][j]) == 1, "future %ld thread %d callback %ld ran %ld times",
                       i, k, j, atomic_load(&l->calls[k][j]));
        CHECK(atomic_load(&l->overlaps) == 0);
        CHECK(atomic_load(&l->out_of_order) == 0);
        crew_future_release(many_futures[i]);
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- errors ---- */

static void never_called(crew_future *f, void *ctx)
{
    (void)f;
    atomic_fetch_add((_Atomic long *)ctx, 1);
}

int on_done_errors_are_einval_and_enomem_with_nothing_registered(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    _Atomic long calls = 0;
    CHECK(crew_future_on_done(NULL, never_called, &calls) == EINVAL);
    gated g = {0, 0};
    crew_future *f = crew_submit(p, gated_task, &g);
    CHECK(f != NULL);
    CHECK(crew_future_on_done(f, NULL, &calls) == EINVAL);
    /* The first callback of a pending future lives in its record; the
     * second one's node is allocated: that fails, and nothing will run. */
    CHECK(crew_future_on_done(f, count_call, &calls) == 0);
    crew_fault_inject_alloc(0);
    int rc = crew_future_on_done(f, never_called, &calls);
    int fired = crew_fault_alloc_fired();
    crew_fault_inject_alloc(-1);
    CHECK(fired && rc == ENOMEM);
    /* And one that succeeds still runs, once. */
    CHECK(crew_future_on_done(f, count_call, &calls) == 0);
    gate_open(&g);
    CHECK(crew_future_wait(f, NULL) == 0);
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(atomic_load(&calls) == 2);
    /* Done: nothing to allocate, never ENOMEM. */
    crew_fault_inject_alloc(0);
    rc = crew_future_on_done(f, count_call, &calls);
    crew_fault_inject_alloc(-1);
    CHECK(rc == 0 && atomic_load(&calls) == 3);
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
