/*
 * The life of a thread pool: its configuration, create (every allocation
 * undone on failure), shutdown (closing the queue, cancelling, waiting for
 * quiet), destroy, and its statistics. It sits on top of the rest of the
 * scheduler: it starts workers (worker.c) and waits for them to go quiet
 * (sleep.c). docs/scheduler.md is the design.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/thread.h"
#include "pool/objpool.h"

#define DEFAULT_SPIN_US 100

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
    uint64_t n = crew_injector_pushed(&pool->inj) +
                 atomic_load_explicit(&pool->serial_accepted, memory_order_seq_cst);
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

/* ---- configuration and create ---- */

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
     * zeros mean defaults (docs/api.md). After crew_config_default, a spin_us
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
        crew_slots_free(&w->hot);
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
    if (pool->serial_nodes != NULL)
        crew_objpool_destroy(pool->serial_nodes);
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
        rc = crew_thread_create(&w->thread, &attr, crew_worker_main, w);
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
    /* [mo: lifecycle.stop.stopping] */
    atomic_store_explicit(&pool->stopping, 1, memory_order_seq_cst);
    crew_wake_all_workers(pool);
    for (unsigned i = 0; i < pool->nworkers; i++)
        if (pool->workers[i] != NULL && pool->workers[i]->started)
            pthread_join(pool->workers[i]->thread, NULL);
}

/* Everything a pool needs before its workers start: 0 or ENOMEM. */
static int pool_alloc_parts(crew_pool *pool, const char *trace)
{
    if (trace != NULL && trace[0] != '\0') {
        /* A file of its own: another pool of this process tracing to the
         * same path writes beside it, not over it (trace.h). */
        pool->trace_path = crew_trace_claim_path(trace, &pool->trace_number);
        if (pool->trace_path == NULL)
            return ENOMEM;
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
        if (crew_deque_init(&w->deque, 256) != 0 || crew_slots_init(&w->hot, 1) != 0)
            return ENOMEM;
    }
    pool->records = crew_records_create(pool->nworkers);
    if (pool->records == NULL)
        return ENOMEM;
    pool->serial_nodes = crew_serial_nodes_create(pool->nworkers);
    return pool->serial_nodes == NULL ? ENOMEM : 0;
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
    snprintf(pool->name, sizeof pool->name, "%s", c.name);
    pool->cfg.name = pool->name;
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
    if (crew_own_worker(pool) != NULL)
        return EDEADLK;
    pthread_mutex_lock(&pool->lifecycle);
    /* Serial queues' drains cancel the outside tasks they have not
     * started from now on. Before the close: a task that saw the queue
     * closed (crew_post's ESHUTDOWN) also sees this. */
    if (cancel_pending)
        atomic_store_explicit(&pool->serial_cancel, 1, memory_order_seq_cst);
    /* Close: outside submits from now on fail ESHUTDOWN. One claimed
     * before the close is accepted, counted, and in the queue. */
    crew_injector_close(&pool->inj);
    /* Producers blocked on a full queue give up with ESHUTDOWN. */
    crew_space_wake_all(pool);
    if (cancel_pending) {
        crew_inj_item it;
        crew_job_ *roots = NULL;
        while (crew_injector_pop_claimed(&pool->inj, &it)) {
            if (pool->cfg.queue_limit != 0)
                crew_space_release(pool, 1);
            cancel_or_keep(pool, &it, &roots);
        }
        /* Items workers claimed into their batches have not started
         * either: cancel those too. (A worker that claimed a batch between
         * the two drains runs it: cancelling is best effort for items a
         * worker already holds; exactly-once holds either way.) */
        for (unsigned i = 0; i < pool->nworkers; i++)
            while (crew_batch_take(pool->workers[i], &it))
                cancel_or_keep(pool, &it, &roots);
        requeue_roots(pool, roots);
        crew_wake_all_workers(pool);
    }
    crew_quiet_wait(pool, pool_quiet);
    pthread_mutex_unlock(&pool->lifecycle);
    return 0;
}

int crew_pool_destroy(crew_pool *pool)
{
    if (pool == NULL)
        return EINVAL;
    if (crew_own_worker(pool) != NULL)
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
        int wrc = crew_trace_write(pool->trace_path, pool->name, pool->trace_number,
                                   bufs, n, pool->trace_origin);
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
        uint64_t spawns = crew_spawns_counted(&w->hot);
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
