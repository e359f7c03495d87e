/*
 * Suite `faults`: one scenario that calls every public function of crew.h
 * (a pool created with a trace path, a second pool, submit, post, cancel,
 * timed waits, release before done, groups, crew_run with nested spawns,
 * cross-pool runs, loops, reduce, map, graphs with edits and a cycle, the
 * object pool, shutdown with cancel, destroy), run once per allocation:
 * the sweep arms the fault hook (src/common/fault.h) to fail allocation N,
 * for N = 0, 1, 2, ... until the scenario no longer reaches N. Then the
 * same for worker thread creation (EAGAIN).
 *
 * At every point:
 *   - each call returns success or its documented error (ENOMEM, or NULL
 *     with errno ENOMEM; EAGAIN for pool creation without threads), and a
 *     call that failed had no effect (a loop that got ENOMEM ran nothing,
 *     a graph run that got ENOMEM ran no node, reduce left *result alone);
 *   - every accepted task ran exactly once or was reported cancelled
 *     (on_cancel for posts and group tasks, ECANCELED for futures), and no
 *     refused task ever ran: counted per task id;
 *   - nothing leaks: in the ASan build each point ends with a leak check
 *     (LeakSanitizer's recoverable check), so a leak names its point.
 *
 * Allocations made by the workers in the background (a worker's trace
 * buffer on its first event, records of tasks submitted from inside) count
 * too: with two workers a sweep point may land on either side of a race.
 * Every outcome is checked, so that only changes which call fails; the
 * sweep ends after several points in a row reach no failure, and the
 * one-worker sweep is the near-deterministic twin.
 */
#include "faults_cases.h"

#include <crew.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fault.h"
#include "faults/scenario.h"
#include "faults/watchdog.h"

#if defined(__SANITIZE_ADDRESS__)
#define FX_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FX_LSAN 1
#endif
#endif
#ifdef FX_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* ---- the scenario ---- */

static void fx_accounting(fx *f)
{
    long n = atomic_load(&f->next_id);
    if (n > FX_MAX_TASKS)
        n = FX_MAX_TASKS;
    long cancelled = 0;
    for (long id = 0; id < n; id++)
        cancelled += atomic_load(&f->cancels[id]);
    /* Without faults the tasks queued behind the gates are there when
     * shutdown cancels: the scenario does test cancellation. */
    if (f->point < 0 && f->pool != NULL)
        FX_CHECK(cancelled > 0, "shutdown with cancel_pending cancelled nothing");
    for (long id = 0; id < n; id++) {
        int r = atomic_load(&f->runs[id]), c = atomic_load(&f->cancels[id]);
        int line = atomic_load(&f->accepted[id]);
        if (line != 0)
            FX_CHECK(r + c == 1,
                     "task %ld (accepted at line %d) ran %d times and was cancelled %d times", id,
                     line, r, c);
        else
            FX_CHECK(r + c == 0, "refused task %ld ran %d times and was cancelled %d times",
                     id, r, c);
    }
}

static void fx_pool_config(crew_config *c, fx *f, unsigned workers, const char *trace)
{
    crew_config_default(c);
    c->workers = workers;
    c->queue_limit = trace != NULL ? f->queue_limit : 0;
    c->name = "faults";
    c->trace_path = trace;
    c->on_cancel = fx_on_cancel;
    c->ctx = f;
}

/* One run at f->point (the caller armed the hook). 0 or 1. */
static int fx_scenario(fx *f)
{
    fx_cur = f;
    atomic_store(&f->next_id, 1); /* id 0: the throwaway of refused calls */
    FX_CHECK(strcmp(crew_version(), CREW_VERSION_STRING) == 0, "crew_version");
    FX_CHECK(crew_worker_index() == -1, "crew_worker_index outside a pool");

    fx_phase(f, "objpool create");
    crew_objpool_config oc = {.obj_size = sizeof(fx_obj), .max_idle = 4, .init = fx_obj_init,
                              .reset = fx_obj_reset, .fini = fx_obj_fini, .ctx = f};
    errno = 0;
    f->objs = crew_objpool_create(&oc);
    if (f->objs == NULL)
        FX_NULL_ERRNO(errno, "crew_objpool_create");

    fx_phase(f, "pool create");
    crew_config c;
    fx_pool_config(&c, f, f->workers, "/dev/null");
    errno = 0;
    f->pool = crew_pool_create(&c);
    if (f->pool == NULL) {
        int err = errno;
        FX_CHECK(fx_create_errno_ok(err), "crew_pool_create: NULL with errno %d", err);
        fx_saw("crew_pool_create");
        goto done;
    }
    FX_CHECK(crew_pool_workers(f->pool) == f->workers, "crew_pool_workers");
    fx_pool_config(&c, f, 1, NULL);
    errno = 0;
    f->other = crew_pool_create(&c);
    if (f->other == NULL) {
        int err = errno;
        FX_CHECK(fx_create_errno_ok(err), "crew_pool_create (second pool): NULL with errno %d",
                 err);
        fx_saw("crew_pool_create (second pool)");
    }

    fx_phase(f, "objpool");
    fx_objects(1);
    fx_phase(f, "executor");
    fx_executor(f);
    fx_groups(f);
    fx_graphs(f);
    fx_run_and_loops(f);
    fx_objects(2);
    crew_stats st;
    crew_pool_stats(f->pool, &st);
    fx_shutdown_cancelling(f);

    fx_phase(f, "destroy");
    FX_CHECK(crew_pool_destroy(f->pool) == 0, "crew_pool_destroy");
    if (f->other != NULL)
        FX_CHECK(crew_pool_destroy(f->other) == 0, "crew_pool_destroy (second pool)");
    /* Futures outlive their pool. */
    fx_resolve_all(f, 1);
    crew_graph_destroy(f->graph);

done:
    fx_phase(f, "objpool destroy");
    if (f->objs != NULL) {
        crew_objpool_stats os;
        crew_objpool_stats_get(f->objs, &os);
        FX_CHECK(os.created == (uint64_t)atomic_load(&f->obj_inits),
                 "objpool created %llu, init succeeded %ld times",
                 (unsigned long long)os.created, atomic_load(&f->obj_inits));
        FX_CHECK(os.idle <= 4, "objpool keeps %llu idle, max_idle 4",
                 (unsigned long long)os.idle);
        crew_objpool_destroy(f->objs);
        FX_CHECK(atomic_load(&f->obj_inits) == atomic_load(&f->obj_finis),
                 "objpool: %ld objects built, %ld finalized", atomic_load(&f->obj_inits),
                 atomic_load(&f->obj_finis));
    }
    fx_phase(f, "accounting");
    fx_accounting(f);
    return atomic_load(&f->failures) != 0;
}

static fx *fx_new(long point, int threads, unsigned workers)
{
    fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->point = point;
    f->threads = threads;
    f->workers = workers;
    atomic_init(&f->phase, "start");
    pthread_mutex_init(&f->msg_lock, NULL);
    return f;
}

static void fx_free(fx *f)
{
    pthread_mutex_destroy(&f->msg_lock);
    free(f);
}

/* Leaks of this point, if the build can tell: 1 when LeakSanitizer found
 * some (it prints them). */
static int fx_leaked(void)
{
#ifdef FX_LSAN
    return __lsan_do_recoverable_leak_check() != 0;
#else
    return 0;
#endif
}

static char fx_watch_what[128];

/* `meson test` sets MALLOC_PERTURB_, and glibc then fills every block on
 * malloc and again on free. The traced pool's buffers (32 MiB per worker,
 * otherwise mostly untouched pages) made every run of the scenario a
 * hundred times slower: 95 s for the suite instead of 1. This suite's
 * point is the failures it injects; reads of freed memory are the ASan
 * build's to catch. */
static void fx_no_perturb(void)
{
    mallopt(M_PERTURB, 0);
}

static int fx_sweep(unsigned workers, int threads, size_t queue_limit)
{
    fx_no_perturb();
    const char *kind = threads ? "thread creation" : "allocation";
    double t0 = fx_now_s();
    long fired_points = 0, quiet = 0, n;
    for (n = 0; quiet < FX_QUIET_RUNS; n++) {
        if (n == FX_MAX_POINTS) {
            test_watchdog_disarm();
            fprintf(stderr, "faults: the scenario never stopped reaching new %s points\n",
                    kind);
            return 1;
        }
        /* One run takes a fraction of a second: 20 s is a hang, reported
         * with its point. */
        snprintf(fx_watch_what, sizeof fx_watch_what,
                 "the faults scenario at %s %ld (%u workers%s)", kind, n, workers,
                 queue_limit ? ", bounded queue" : "");
        test_watchdog_arm(fx_watch_what, 20, NULL);
        fx *f = fx_new(n, threads, workers);
        if (f == NULL) {
            test_watchdog_disarm();
            return 1;
        }
        f->queue_limit = queue_limit;
        if (threads)
            crew_fault_inject_thread(n);
        else
            crew_fault_inject_alloc(n);
        int rc = fx_scenario(f);
        int fired = threads ? crew_fault_thread_fired() : crew_fault_alloc_fired();
        crew_fault_inject_alloc(-1);
        crew_fault_inject_thread(-1);
        if (rc != 0) {
            fprintf(stderr, "faults: %s %ld failing (%d failed checks): %s\n", kind, n,
                    atomic_load(&f->failures), f->first_failure);
            fx_free(f);
            test_watchdog_disarm();
            return 1;
        }
        fx_free(f);
        if (fx_leaked()) {
            fprintf(stderr, "faults: %s %ld failing, %u workers: the leak above\n", kind, n,
                    workers);
            test_watchdog_disarm();
            return 1;
        }
        if (fired) {
            fired_points++;
            quiet = 0;
        } else {
            quiet++;
        }
    }
    test_watchdog_disarm();
    fx_seen_print(threads ? "EAGAIN" : "ENOMEM");
    fprintf(stderr,
            "faults: swept %ld %s points with %u workers%s (%ld runs, the last %d reaching no "
            "failure), %.2f s\n",
            fired_points, kind, workers, queue_limit ? " and a bounded queue" : "", n,
            FX_QUIET_RUNS, fx_now_s() - t0);
    /* Pool creation alone passes 8 allocation points (the scheduler
     * suite's out-of-memory case), and a pool of w workers plus the second
     * pool start w + 1 threads. */
    if (threads)
        CHECKF(fired_points == (long)workers + 1, "%ld thread creations swept, %u expected",
               fired_points, workers + 1);
    else
        CHECKF(fired_points >= 30, "only %ld allocation points swept", fired_points);
    return 0;
}

int the_scenario_runs_clean_without_faults(void)
{
    fx_no_perturb();
    test_watchdog_arm("the faults scenario without faults", 30, NULL);
    int rc = 0;
    /* 1, 2 and 3 workers, then 2 with a bounded queue. */
    for (unsigned w = 1; w <= 4 && rc == 0; w++) {
        fx *f = fx_new(-1, 0, w < 4 ? w : 2);
        if (f == NULL) {
            rc = 1;
            break;
        }
        f->queue_limit = w < 4 ? 0 : 4096;
        rc = fx_scenario(f);
        if (rc != 0)
            fprintf(stderr, "faults: %d failed checks, the first: %s\n",
                    atomic_load(&f->failures), f->first_failure);
        fx_free(f);
        if (rc == 0 && fx_leaked())
            rc = 1;
    }
    test_watchdog_disarm();
    return rc;
}

int every_allocation_failing_in_turn_gives_documented_errors_two_workers(void)
{
    return fx_sweep(2, 0, 0);
}

int every_allocation_failing_in_turn_gives_documented_errors_bounded_queue(void)
{
    return fx_sweep(2, 0, 4096);
}

int every_allocation_failing_in_turn_gives_documented_errors_one_worker(void)
{
    return fx_sweep(1, 0, 0);
}

int every_thread_creation_failing_in_turn_gives_eagain(void)
{
    return fx_sweep(2, 1, 0) || fx_sweep(3, 1, 0);
}
