/*
 * The fuzzer (fuzz.h). Each run:
 *   1. makes a pool whose configuration comes from the seed (1 to 4
 *      workers, sometimes a bounded queue, blocking or not, spin_us 0 or
 *      not), a public object pool and a graph shared by every thread;
 *   2. starts `threads` callers, each drawing its calls from its own
 *      generator: submit, post, cancel, timed waits, waits, release before
 *      done, crew_future_done, groups (whose tasks post into their group),
 *      crew_run with nested work (spawns, inside submits and posts, waits,
 *      nested loops and graph runs, the object pool, groups), loops,
 *      reduce and map, a graph of its own (edits, runs, cycles), the
 *      shared graph (runs and edits racing: EBUSY, EINVAL), the object
 *      pool, and short-lived threads that post and use the object pool;
 *   3. ends with shutdown racing shutdown (two threads, cancel_pending
 *      drawn from the seed) while the other threads keep submitting, then
 *      destroys the pool, waiting on some futures before and some after;
 *   4. accounts for every task: each accepted task ran exactly once or was
 *      reported cancelled (on_cancel for posts and group tasks, ECANCELED
 *      for futures), a refused one never ran, a future whose cancel
 *      returned 0 never ran, and a future released before done ran unless
 *      shutdown cancelled it.
 * Every wait is bounded (a timed wait of 10 s, or the caller's watchdog),
 * so a lost wake-up is a failure with a message, not a hang.
 */
#include "fuzz_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults/watchdog.h"

fz_state *fz;

static const char *const op_names[OP_COUNT] = {
    "idle", "submit", "post", "cancel", "timedwait", "wait", "release-early", "done",
    "group", "crew_run", "loops", "own-graph", "shared-graph", "objpool", "short-thread",
    "stats", "end-race", "shutdown", "resolve", "destroy"};

/* ---- failures ---- */

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    if (atomic_fetch_add(&fz->failures, 1) != 0)
        return;
    char detail[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&fz->msg_lock);
    snprintf(fz->first_failure, sizeof fz->first_failure, "%s:%d: %s: %s", file, line, cond,
             detail);
    pthread_mutex_unlock(&fz->msg_lock);
}

int fz_ending(void)
{
    return atomic_load(&fz->shutdown_started);
}

/* Whether an outside call's refusal is documented right now: ESHUTDOWN
 * once a shutdown began, EAGAIN on a bounded queue that does not block. */
int fz_refusal_ok(int err)
{
    if (err == ESHUTDOWN)
        return fz_ending();
    if (err == EAGAIN)
        return fz->queue_limit != 0 && !fz->block;
    return 0;
}

/* ---- the task table ---- */

long fz_new_id(unsigned depth)
{
    long id = atomic_fetch_add_explicit(&fz->next_id, 1, memory_order_relaxed);
    if (id >= FZ_MAX_TASKS)
        return -1; /* table full: the call is skipped */
    fz->depth[id] = (unsigned char)depth;
    return id;
}

void fz_set_flag(long id, unsigned char f)
{
    atomic_fetch_or(&fz->flags[id], f);
}

void *fz_ret_of(long id)
{
    return IP(id ^ 0x5a5a);
}

/* ---- callers ---- */

static void set_op(fz_caller *c, int op)
{
    atomic_store_explicit(&fz->last_op[c->index], op, memory_order_relaxed);
}

static void one_op(fz_caller *c)
{
    unsigned x = fz_rnd(&c->rng, 100);
    if (x < 14) {
        set_op(c, OP_SUBMIT);
        fz_op_submit(c, 0);
    } else if (x < 26) {
        set_op(c, OP_POST);
        fz_op_post(c);
    } else if (x < 31) {
        set_op(c, OP_CANCEL);
        fz_op_cancel(c);
    } else if (x < 37) {
        set_op(c, OP_TIMEDWAIT);
        fz_op_timedwait(c);
    } else if (x < 45) {
        set_op(c, OP_WAIT);
        fz_op_wait(c);
    } else if (x < 49) {
        set_op(c, OP_RELEASE_EARLY);
        fz_op_submit(c, 1);
    } else if (x < 51) {
        set_op(c, OP_DONE);
        if (fz_rnd(&c->rng, 2))
            fz_op_done(c);
        else
            fz_op_waiter(c);
    } else if (x < 59) {
        set_op(c, OP_GROUP);
        fz_op_group(c);
    } else if (x < 68) {
        set_op(c, OP_RUN);
        fz_op_run(c);
    } else if (x < 74) {
        set_op(c, OP_LOOPS);
        fz_loops_once(&c->rng, 0);
    } else if (x < 81) {
        set_op(c, OP_OWN_GRAPH);
        fz_own_graph_op(&c->own, &c->rng);
    } else if (x < 88) {
        set_op(c, OP_SHARED_GRAPH);
        fz_shared_graph_op(&c->rng, 0);
    } else if (x < 95) {
        set_op(c, OP_OBJPOOL);
        fz_objpool_once(&c->rng, 1 + c->index);
    } else if (x < 98) {
        set_op(c, OP_SHORT_THREAD);
        fz_op_short_thread(c);
    } else {
        set_op(c, OP_STATS);
        fz_op_stats();
    }
}

static void *caller_main(void *arg)
{
    fz_caller *c = arg;
    fz_own_reset(&c->own);
    for (c->ops_done = 0; c->ops_done < fz->opts.ops && !atomic_load(&fz->stop); c->ops_done++) {
        one_op(c);
        if (fz->opts.max_seconds > 0 && fz_now_s() - fz->t0 > fz->opts.max_seconds)
            atomic_store(&fz->stop, 1);
        if (atomic_load(&fz->failures) != 0)
            atomic_store(&fz->stop, 1);
    }
    /* The end: two callers shut down at once, the others keep calling. */
    pthread_barrier_wait(&fz->end_barrier);
    if (c->index < 2) {
        set_op(c, OP_SHUTDOWN);
        int cancel = fz->cancel_mode[c->index];
        /* A backlog for the shutdown to find (cancel or drain). */
        if (c->index == 0) {
            unsigned burst = 20 + fz_rnd(&c->rng, 200);
            for (unsigned k = 0; k < burst; k++)
                fz_op_post(c);
        }
        atomic_store(&fz->shutdown_started, 1);
        if (cancel)
            atomic_store(&fz->cancel_started, 1);
        int rc = crew_pool_shutdown(fz->pool, cancel);
        FZ_CHECK(rc == 0, "crew_pool_shutdown(%d) returned %d", cancel, rc);
        /* Again (idempotent), now and then cancelling where the first did
         * not: the other caller may still be shutting down. */
        int again = !cancel && (int)fz_rnd(&c->rng, 2);
        if (again)
            atomic_store(&fz->cancel_started, 1);
        rc = crew_pool_shutdown(fz->pool, again);
        FZ_CHECK(rc == 0, "a repeated crew_pool_shutdown returned %d", rc);
    } else {
        set_op(c, OP_END_RACE);
        for (int k = 0; k < 30; k++) {
            unsigned x = fz_rnd(&c->rng, 5);
            if (x == 0)
                fz_op_submit(c, 0);
            else if (x == 1)
                fz_op_post(c);
            else if (x == 2)
                fz_op_submit(c, 1);
            else if (x == 3)
                fz_op_run(c);
            else
                fz_op_group(c);
        }
    }
    set_op(c, OP_RESOLVE);
    /* Half the futures now, the rest after destroy. */
    for (int i = c->nfuts; i-- > c->nfuts / 2;) {
        fz_resolve(&c->futs[i]);
        fz_drop_fut(c, i);
    }
    set_op(c, OP_IDLE);
    return NULL;
}

/* ---- the watchdog's report (async-signal-safe: write(2) only) ---- */

static void fz_report(void)
{
    char num[24];
    test_watchdog_write_("fuzz: seed ");
    test_watchdog_write_(test_watchdog_utoa(fz->seed, num));
    test_watchdog_write_("; what each caller was doing:");
    for (unsigned i = 0; i < fz->opts.threads; i++) {
        int op = atomic_load_explicit(&fz->last_op[i], memory_order_relaxed);
        test_watchdog_write_(" ");
        test_watchdog_write_(test_watchdog_utoa(i, num));
        test_watchdog_write_("=");
        test_watchdog_write_(op >= 0 && op < OP_COUNT ? op_names[op] : "?");
    }
    int m = atomic_load_explicit(&fz->main_op, memory_order_relaxed);
    test_watchdog_write_("; main=");
    test_watchdog_write_(m >= 0 && m < OP_COUNT ? op_names[m] : "?");
    test_watchdog_write_("\n");
}

/* ---- a run ---- */

static int accounting(void)
{
    long n = atomic_load(&fz->next_id);
    if (n > FZ_MAX_TASKS)
        n = FZ_MAX_TASKS;
    int cancel = atomic_load(&fz->cancel_started);
    for (long id = 0; id < n; id++) {
        int r = atomic_load(&fz->runs[id]), c = atomic_load(&fz->cancels[id]);
        unsigned char fl = atomic_load(&fz->flags[id]);
        if (!(fl & FZ_ACCEPTED)) {
            FZ_CHECK(r + c == 0, "refused task %ld ran %d times, cancelled %d times", id, r, c);
        } else if (fl & FZ_CANCEL_OK) {
            FZ_CHECK(r == 0, "task %ld ran %d times after crew_future_cancel returned 0", id, r);
        } else if (fl & FZ_RELEASED) {
            /* Nobody waited: a shutdown that cancelled it could not tell. */
            FZ_CHECK(c == 0 && (r == 1 || (r == 0 && cancel && !(fl & FZ_INSIDE))),
                     "task %ld (future released before done%s) ran %d times", id,
                     fl & FZ_INSIDE ? ", from inside" : "", r);
        } else {
            FZ_CHECK(r + c == 1, "task %ld (flags %#x) ran %d times, cancelled %d times", id, fl,
                     r, c);
        }
        if (atomic_load(&fz->failures) != 0)
            break;
    }
    return n;
}

int crew_fuzz_run(uint64_t seed, const crew_fuzz_opts *opts)
{
    fz_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return 1;
    fz = s;
    s->seed = seed;
    s->opts = *opts;
    if (s->opts.threads < 2)
        s->opts.threads = 2;
    if (s->opts.threads > FZ_MAX_THREADS)
        s->opts.threads = FZ_MAX_THREADS;
    s->runs = calloc(FZ_MAX_TASKS, sizeof *s->runs);
    s->cancels = calloc(FZ_MAX_TASKS, sizeof *s->cancels);
    s->flags = calloc(FZ_MAX_TASKS, sizeof *s->flags);
    s->depth = calloc(FZ_MAX_TASKS, 1);
    pthread_mutex_init(&s->msg_lock, NULL);
    pthread_mutex_init(&s->shared_edit, NULL);
    pthread_barrier_init(&s->end_barrier, NULL, s->opts.threads);
    int setup_ok = s->runs && s->cancels && s->flags && s->depth;

    /* The configuration, from the seed. */
    uint64_t cfg_rng = seed;
    s->workers = 1 + fz_rnd(&cfg_rng, 4);
    s->queue_limit = fz_rnd(&cfg_rng, 3) == 0 ? 4 + fz_rnd(&cfg_rng, 60) : 0;
    s->block = (int)fz_rnd(&cfg_rng, 2);
    static const unsigned spins[] = {0, 5, 100};
    unsigned spin = spins[fz_rnd(&cfg_rng, 3)];
    size_t max_idle = fz_rnd(&cfg_rng, 2) ? 0 : 1 + fz_rnd(&cfg_rng, 40);
    s->cancel_mode[0] = (int)fz_rnd(&cfg_rng, 2);
    s->cancel_mode[1] = (int)fz_rnd(&cfg_rng, 2);

    char what[96];
    snprintf(what, sizeof what, "the fuzz run of seed %llu", (unsigned long long)seed);
    if (opts->verbose)
        printf("fuzz: seed %llu: %u workers, queue_limit %zu%s, spin_us %u, objpool max_idle "
               "%zu, %u callers x %ld calls, shutdowns cancel_pending %d and %d\n",
               (unsigned long long)seed, s->workers, s->queue_limit,
               s->queue_limit ? (s->block ? " (blocking)" : " (EAGAIN)") : "", spin, max_idle,
               s->opts.threads, s->opts.ops, s->cancel_mode[0], s->cancel_mode[1]);

    crew_config c;
    crew_config_default(&c);
    c.workers = s->workers;
    c.queue_limit = s->queue_limit;
    c.block_when_full = s->block;
    c.spin_us = spin;
    c.name = "fuzz";
    c.on_cancel = fz_on_cancel;
    c.ctx = s;
    crew_objpool_config oc = {.obj_size = sizeof(fz_obj), .max_idle = max_idle,
                              .init = fz_obj_init, .reset = fz_obj_reset, .fini = fz_obj_fini};
    if (setup_ok) {
        s->pool = crew_pool_create(&c);
        s->objs = crew_objpool_create(&oc);
        s->shared = crew_graph_create();
        setup_ok = s->pool && s->objs && s->shared;
    }
    FZ_CHECK(setup_ok, "setup failed (errno %d)", errno);
    atomic_store(&s->next_id, 1); /* 0 is never used */

    double watch = opts->max_seconds > 0 ? opts->max_seconds * 3 + 30 : 600;
    test_watchdog_arm(what, (unsigned)watch, fz_report);
    s->t0 = fz_now_s();
    unsigned started = 0;
    if (setup_ok) {
        for (unsigned i = 0; i < s->opts.threads; i++) {
            fz_caller *cl = &s->callers[i];
            cl->index = i;
            cl->rng = seed * 0x2545f4914f6cdd1dull + i + 1;
            if (pthread_create(&cl->thread, NULL, caller_main, cl) != 0)
                break;
            started++;
        }
        FZ_CHECK(started == s->opts.threads, "could not start the callers");
        /* A caller that did not start would leave the barrier short. */
        if (started != s->opts.threads) {
            fprintf(stderr, "fuzz: cannot start %u threads\n", s->opts.threads);
            abort();
        }
        for (unsigned i = 0; i < started; i++)
            pthread_join(s->callers[i].thread, NULL);

        atomic_store_explicit(&s->main_op, OP_DESTROY, memory_order_relaxed);
        FZ_CHECK(crew_pool_destroy(s->pool) == 0, "crew_pool_destroy");
        atomic_store_explicit(&s->main_op, OP_RESOLVE, memory_order_relaxed);
        for (unsigned i = 0; i < started; i++) {
            fz_caller *cl = &s->callers[i];
            for (int k = 0; k < cl->nfuts; k++)
                fz_resolve(&cl->futs[k]); /* futures outlive their pool */
            cl->nfuts = 0;
            crew_graph_destroy(cl->own.g);
        }
        /* Nodes added before any run ran in every successful run. */
        long initial = atomic_load(&s->shared_initial), ok = atomic_load(&s->shared_runs_ok);
        for (long v = 0; v < initial; v++)
            FZ_CHECK(atomic_load(&s->sruns[v]) == ok,
                     "shared graph: node %ld ran %ld times in %ld runs", v,
                     atomic_load(&s->sruns[v]), ok);
        crew_objpool_destroy(s->objs);
        FZ_CHECK(atomic_load(&s->obj_inits) == atomic_load(&s->obj_finis),
                 "objpool: %ld built, %ld finalized", atomic_load(&s->obj_inits),
                 atomic_load(&s->obj_finis));
    }
    crew_graph_destroy(s->shared);
    long tasks = setup_ok ? accounting() : 0;
    test_watchdog_disarm();

    int failed = atomic_load(&s->failures) != 0;
    long ops = 0;
    for (unsigned i = 0; i < started; i++)
        ops += s->callers[i].ops_done;
    if (failed)
        fprintf(stderr,
                "fuzz: FAILED seed %llu (%u workers, queue_limit %zu%s, spin_us %u): %s\n"
                "fuzz: reproduce with: scripts/fuzz.sh 60 %llu\n",
                (unsigned long long)seed, s->workers, s->queue_limit,
                s->queue_limit ? (s->block ? " blocking" : " EAGAIN") : "", spin,
                s->first_failure, (unsigned long long)seed);
    else if (opts->verbose)
        printf("fuzz: seed %llu ok: %ld calls, %ld tasks (%ld submits, %ld posts, %ld crew_runs, "
               "%ld groups, %ld graph runs, %ld refused, %ld cancelled by shutdown, %ld EBUSY, "
               "%ld short threads), %.2f s\n",
               (unsigned long long)seed, ops, tasks - 1, atomic_load(&s->n_submits),
               atomic_load(&s->n_posts), atomic_load(&s->n_runs), atomic_load(&s->n_groups),
               atomic_load(&s->n_graph_runs), atomic_load(&s->n_refused),
               atomic_load(&s->n_cancelled_by_shutdown), atomic_load(&s->n_ebusy),
               atomic_load(&s->n_short_threads), fz_now_s() - s->t0);
    fflush(stdout);
    pthread_barrier_destroy(&s->end_barrier);
    pthread_mutex_destroy(&s->shared_edit);
    pthread_mutex_destroy(&s->msg_lock);
    free(s->runs);
    free(s->cancels);
    free(s->flags);
    free(s->depth);
    free(s);
    fz = NULL;
    return failed;
}
