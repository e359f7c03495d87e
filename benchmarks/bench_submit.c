/* crew-bench submit: N tiny tasks handed to a pool by outside threads, in
 * tasks per second. The producers (1, then 2, splitting N) are threads
 * created before the clock starts; they start together at a barrier, and
 * the clock starts when the first of them leaves it (its own reading). It
 * stops when every task has run and every producer has returned.
 *   impl=crew_post    crew_post of each task;
 *   impl=crew_submit  crew_submit of each task, then crew_future_wait and
 *                     crew_future_release of every future, in order (the
 *                     "single waits" the next two are measured against);
 *   impl=crew_as_completed  crew_submit of each task, crew_completion_add
 *                     of its future to the producer's completion queue and
 *                     crew_future_release of the producer's reference; then
 *                     crew_completion_next until every future came out
 *                     (each result checked, each future once), releasing
 *                     each;
 *   impl=crew_wait_all  crew_submit of each task, then one
 *                     crew_future_wait_all over the producer's futures,
 *                     then each result checked and each future released;
 *   impl=mutex_pool   peer_mutex_pool_post (one mutex, one FIFO, condvar);
 *   impl=raw_threads  pthread_create + pthread_join per task, on a smaller
 *                     N (N/50, at most 20,000): it is that slow. Its
 *                     lines say workers=0: each task is its own thread;
 *   impl=tbb          oneTBB (peers/tbb.cpp): a task_arena of W worker
 *                     threads and a task_group per producer; a producer
 *                     enqueues each task into the arena as a task of its
 *                     group (arena.enqueue(group.defer(task))), never
 *                     joining the arena; after the last task ran, the
 *                     groups are waited for (arena.execute(group.wait)),
 *                     inside the clock;
 *   impl=libuv        libuv's thread pool (peers/uv.c), UV_THREADPOOL_SIZE
 *                     = W: each producer thread is the thread of its own
 *                     event loop (uv_queue_work may only be called there),
 *                     queues each task with uv_queue_work (on a request of
 *                     an array allocated and touched before the clock:
 *                     libuv's requests are the caller's memory), then runs
 *                     its loop until every completion callback has run,
 *                     inside the clock, as crew_submit waits on futures;
 *   impl=moodycamel   a pool of W workers over moodycamel's lock-free
 *                     BlockingConcurrentQueue (peers/moodycamel.cpp): each
 *                     producer enqueues through its own producer token,
 *                     each worker dequeues with its own consumer token and
 *                     sleeps in wait_dequeue when the queue is empty (the
 *                     queue's semaphore: a short spin, then the kernel, as
 *                     crew's workers spin before they sleep on a futex).
 *                     crew_post's and crew_submit's lines give their ratio
 *                     to it (speed_vs_moodycamel) when it ran.
 * The task marks its own index (a byte per task) and counts itself; the
 * one that completes the count posts a semaphore. After each run every
 * index must have been marked exactly once, and every future must hold
 * its task's argument: anything else fails the run. Implementations run
 * interleaved, --repeat times (default 5), after an untimed warm-up.
 * crew's lines add its worker sleeps and wake calls per task. */
#include "bench.h"

#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "peers/mutex_pool.h"
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif
#ifdef CREW_BENCH_HAVE_UV
#include "peers/uv.h"
#endif
#ifdef CREW_BENCH_HAVE_MOODYCAMEL
#include "peers/moodycamel.h"
#endif

enum {
    IMPL_CREW_POST,
    IMPL_CREW_SUBMIT,
    IMPL_CREW_AS_COMPLETED,
    IMPL_CREW_WAIT_ALL,
    IMPL_MUTEX_POOL,
    IMPL_RAW,
    IMPL_TBB,
    IMPL_UV,
    IMPL_MOODYCAMEL,
    NIMPLS
};
static const char *const impl_names[] = {"crew_post",     "crew_submit", "crew_as_completed",
                                         "crew_wait_all", "mutex_pool",  "raw_threads",
                                         "tbb",           "libuv",       "moodycamel",
                                         NULL};

/* Peer handles, opaque here so that the code needs no #ifdef where a
 * peer is not built. */
struct peer_tbb_exec;
struct peer_uv_loop;
struct peer_mc_pool;

#define MAX_PRODUCERS 2
#define RAW_MAX 20000
#define TIMEOUT_S 60

/* What the tiny task touches. One run at a time. */
static struct {
    unsigned char *seen; /* per task, incremented atomically */
    long n;
    _Atomic long done;
    sem_t all_done;
} tally;

static void *tiny_task(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    /* Read before counting: once counted, the next run may reset tally. */
    long last = tally.n - 1;
    __atomic_fetch_add(&tally.seen[i], 1, __ATOMIC_RELAXED);
    /* Release: the marks above are visible to whoever sees the count. */
    if (atomic_fetch_add_explicit(&tally.done, 1, memory_order_acq_rel) == last)
        sem_post(&tally.all_done);
    return arg;
}

typedef struct producer {
    pthread_t tid;
    int impl;
    unsigned index; /* 0 or 1 */
    long begin, end;
    crew_pool *pool;
    peer_mutex_pool *mpool;
    struct peer_tbb_exec *tbb;
    struct peer_uv_loop *uv; /* this producer's loop */
    struct peer_mc_pool *mc;
    crew_future **futures; /* indexed like the tasks */
    crew_completion *cq;   /* this producer's (crew_as_completed) */
    unsigned char *handed; /* per task: futures handed out by next */
    pthread_barrier_t *start;
    int err;               /* an errno value, or -1: a wrong result */
    double started;        /* bench_now() when it left the barrier */
} producer;

/* crew_as_completed: every future the producer added, as they come out;
 * each result must be one of the producer's tasks, each exactly once. */
static void take_as_completed(producer *p)
{
    for (;;) {
        crew_future *f = NULL;
        int rc = crew_completion_next(p->cq, NULL, &f);
        if (rc == ENOENT)
            return;
        if (rc != 0) {
            p->err = rc;
            return;
        }
        void *r = NULL;
        rc = crew_future_wait(f, &r); /* done: returns at once */
        uintptr_t i = (uintptr_t)r;
        if (rc != 0 && p->err == 0)
            p->err = rc;
        else if ((i < (uintptr_t)p->begin || i >= (uintptr_t)p->end || p->handed[i]++ != 0) &&
                 p->err == 0)
            p->err = -1;
        crew_future_release(f);
    }
}

static void *producer_main(void *arg)
{
    producer *p = arg;
    pthread_barrier_wait(p->start);
    p->started = bench_now();
    for (long i = p->begin; i < p->end && p->err == 0; i++) {
        void *a = (void *)(uintptr_t)i;
        switch (p->impl) {
        case IMPL_CREW_POST:
            p->err = crew_post(p->pool, tiny_task, a);
            break;
        case IMPL_CREW_SUBMIT:
        case IMPL_CREW_WAIT_ALL:
            p->futures[i] = crew_submit(p->pool, tiny_task, a);
            if (p->futures[i] == NULL)
                p->err = errno;
            break;
        case IMPL_CREW_AS_COMPLETED: {
            crew_future *f = crew_submit(p->pool, tiny_task, a);
            if (f == NULL) {
                p->err = errno;
                break;
            }
            p->err = crew_completion_add(p->cq, f);
            crew_future_release(f); /* the queue holds its own */
            break;
        }
        case IMPL_MUTEX_POOL:
            p->err = peer_mutex_pool_post(p->mpool, tiny_task, a);
            break;
        case IMPL_RAW: {
            pthread_t t;
            p->err = pthread_create(&t, NULL, tiny_task, a);
            if (p->err == 0)
                pthread_join(t, NULL);
            break;
        }
        case IMPL_TBB:
#ifdef CREW_BENCH_HAVE_TBB
            p->err = peer_tbb_exec_post(p->tbb, p->index, tiny_task, a);
#endif
            break;
        case IMPL_UV:
#ifdef CREW_BENCH_HAVE_UV
            p->err = peer_uv_post(p->uv, tiny_task, a);
#endif
            break;
        case IMPL_MOODYCAMEL:
#ifdef CREW_BENCH_HAVE_MOODYCAMEL
            p->err = peer_mc_pool_post(p->mc, p->index, tiny_task, a);
#endif
            break;
        }
    }
#ifdef CREW_BENCH_HAVE_UV
    if (p->impl == IMPL_UV) {
        /* The completion callbacks run here, on the loop's thread. */
        int rc = peer_uv_drain(p->uv);
        if (rc != 0 && p->err == 0)
            p->err = rc;
    }
#endif
    if (p->impl == IMPL_CREW_AS_COMPLETED)
        take_as_completed(p);
    if (p->impl == IMPL_CREW_WAIT_ALL && p->err == 0) {
        int rc = crew_future_wait_all(p->futures + p->begin, (size_t)(p->end - p->begin), NULL);
        if (rc != 0)
            p->err = rc;
    }
    if (p->impl == IMPL_CREW_SUBMIT || p->impl == IMPL_CREW_WAIT_ALL) {
        for (long i = p->begin; i < p->end; i++) {
            if (p->futures[i] == NULL)
                continue;
            void *r = NULL;
            int rc = crew_future_wait(p->futures[i], &r);
            if (rc != 0 && p->err == 0)
                p->err = rc;
            else if (r != (void *)(uintptr_t)i && p->err == 0)
                p->err = -1;
            crew_future_release(p->futures[i]);
            p->futures[i] = NULL;
        }
    }
    return NULL;
}

typedef struct setup {
    crew_pool *pool;
    peer_mutex_pool *mpool;
    crew_future **futures;
    crew_completion *cq[MAX_PRODUCERS];
    unsigned char *handed;
    struct peer_tbb_exec *tbb;
    struct peer_uv_loop *uv[MAX_PRODUCERS];
    struct peer_mc_pool *mc;
} setup;

/* One run; returns seconds, or -1 after printing why. */
static double run_once(const setup *s, int impl, int nproducers, long n)
{
    memset(tally.seen, 0, (size_t)n);
    memset(s->handed, 0, (size_t)n);
    tally.n = n;
    atomic_store_explicit(&tally.done, 0, memory_order_relaxed);

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)nproducers + 1);
    producer prod[MAX_PRODUCERS];
    int started = 0, err = 0;
    for (int k = 0; k < nproducers; k++) {
        prod[k] = (producer){.impl = impl,
                             .index = (unsigned)k,
                             .begin = n * k / nproducers,
                             .end = n * (k + 1) / nproducers,
                             .pool = s->pool,
                             .mpool = s->mpool,
                             .tbb = s->tbb,
                             .uv = s->uv[k],
                             .mc = s->mc,
                             .futures = s->futures,
                             .cq = s->cq[k],
                             .handed = s->handed,
                             .start = &start};
        err = pthread_create(&prod[k].tid, NULL, producer_main, &prod[k]);
        if (err != 0)
            break;
        started++;
    }
    if (err != 0) {
        /* A producer may be waiting at the barrier already: give up. */
        fprintf(stderr, "crew-bench submit: pthread_create: %s\n",
                strerror(err));
        exit(1);
    }
    pthread_barrier_wait(&start);
    /* The clock starts when the first producer does (below, from their
     * own readings): this thread may be descheduled after the barrier
     * while the producers and the pool do the whole run (with small N a
     * reading taken here made runs of 20,000 tasks look like a
     * microsecond). */
    /* Every task ran (a lost task or a lost wake-up shows as a timeout),
     * then every producer returned (crew_submit's waited on its futures). */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += TIMEOUT_S;
    int rc;
    while ((rc = sem_timedwait(&tally.all_done, &deadline)) != 0 &&
           errno == EINTR)
        ;
    if (rc != 0) {
        fprintf(stderr,
                "crew-bench submit: impl=%s producers=%d n=%ld: TIMEOUT, "
                "%ld tasks ran in %d s (lost task or lost wake-up?)\n",
                impl_names[impl], nproducers, n,
                atomic_load_explicit(&tally.done, memory_order_relaxed),
                TIMEOUT_S);
        for (int k = 0; k < started; k++)
            if (prod[k].err > 0)
                fprintf(stderr, "crew-bench submit: producer %d: %s\n", k,
                        strerror(prod[k].err));
        exit(1);
    }
    for (int k = 0; k < started; k++)
        pthread_join(prod[k].tid, NULL);
    double t0 = prod[0].started;
    for (int k = 1; k < started; k++)
        if (prod[k].started < t0)
            t0 = prod[k].started;
#ifdef CREW_BENCH_HAVE_TBB
    /* Every task has run; the groups' own bookkeeping ends here. */
    if (impl == IMPL_TBB && (err = peer_tbb_exec_wait(s->tbb)) != 0) {
        fprintf(stderr, "crew-bench submit: impl=tbb: the wait failed\n");
        return -1;
    }
#endif
    double t = bench_now() - t0;
    for (int k = 0; k < started; k++)
        if (prod[k].err != 0) {
            fprintf(stderr, "crew-bench submit: impl=%s producer %d: %s\n",
                    impl_names[impl], k,
                    prod[k].err < 0 ? "WRONG RESULT from a future"
                                    : strerror(prod[k].err));
            return -1;
        }
    pthread_barrier_destroy(&start);

    long done = atomic_load_explicit(&tally.done, memory_order_acquire);
    long missing = 0, repeated = 0;
    for (long i = 0; i < n; i++) {
        unsigned char v = __atomic_load_n(&tally.seen[i], __ATOMIC_RELAXED);
        missing += v == 0;
        repeated += v > 1;
    }
    long not_handed = 0;
    if (impl == IMPL_CREW_AS_COMPLETED)
        for (long i = 0; i < n; i++)
            not_handed += s->handed[i] != 1;
    if (done != n || missing != 0 || repeated != 0 || not_handed != 0) {
        fprintf(stderr,
                "crew-bench submit: impl=%s producers=%d n=%ld: %ld tasks "
                "counted, %ld never ran, %ld ran more than once, %ld futures "
                "not handed out exactly once\n",
                impl_names[impl], nproducers, n, done, missing, repeated, not_handed);
        return -1;
    }
    return t;
}

int bench_submit(const bench_opts *o)
{
    if (bench_check_impl(o, "submit", impl_names) != 0)
        return 2;
    long n = o->n > 0 ? o->n : 1000000;
    long raw_n = n / 50 < RAW_MAX ? n / 50 : RAW_MAX;
    if (raw_n < 100)
        raw_n = n < 100 ? n : 100;
    int repeat = o->repeat > 0 ? o->repeat : 5;
    unsigned workers = o->workers > 0 ? o->workers : 2;

    int status = 0;
    setup s = {0};
    double *secs[MAX_PRODUCERS][NIMPLS] = {{NULL}};
    /* crew's sleeps and wake calls over the timed runs, per cell */
    uint64_t sleeps[MAX_PRODUCERS][NIMPLS] = {{0}};
    uint64_t wakeups[MAX_PRODUCERS][NIMPLS] = {{0}};
    tally.seen = calloc((size_t)n, 1);
    s.futures = calloc((size_t)n, sizeof(*s.futures));
    s.handed = calloc((size_t)n, 1);
    if (tally.seen == NULL || s.futures == NULL || s.handed == NULL) {
        fprintf(stderr, "crew-bench submit: out of memory\n");
        free(tally.seen);
        free(s.futures);
        free(s.handed);
        return 1;
    }
    sem_init(&tally.all_done, 0, 0);
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = workers;
    s.pool = crew_pool_create(&cfg);
    s.mpool = peer_mutex_pool_create(workers);
    for (int k = 0; k < MAX_PRODUCERS; k++)
        s.cq[k] = crew_completion_create();
    if (s.pool == NULL || s.mpool == NULL || s.cq[0] == NULL || s.cq[1] == NULL) {
        fprintf(stderr, "crew-bench submit: cannot create the pools: %s\n",
                strerror(errno));
        status = 1;
        goto out;
    }

    /* mutex_pool always runs: it is what the ratios divide by. */
    int run_impl[NIMPLS];
    for (int i = 0; i < NIMPLS; i++)
        run_impl[i] = i == IMPL_MUTEX_POOL || bench_selected(o, impl_names[i]);
#ifdef CREW_BENCH_HAVE_TBB
    if (run_impl[IMPL_TBB] &&
        (s.tbb = peer_tbb_exec_create(workers, MAX_PRODUCERS)) == NULL) {
        fprintf(stderr, "crew-bench submit: cannot create the oneTBB arena\n");
        status = 1;
        goto out;
    }
#else
    if (run_impl[IMPL_TBB])
        printf("bench=submit impl=tbb skipped=1 reason=not_built_with_onetbb\n");
    run_impl[IMPL_TBB] = 0;
#endif
#ifdef CREW_BENCH_HAVE_UV
    if (run_impl[IMPL_UV]) {
        int rc = peer_uv_init(workers);
        /* Loop k is producer k's: n requests for producer 0 (alone),
         * n - n / 2 for producer 1 (of 2). */
        for (int k = 0; rc == 0 && k < MAX_PRODUCERS; k++)
            if ((s.uv[k] = peer_uv_loop_create(n - n * k / (k + 1))) == NULL)
                rc = errno;
        if (rc != 0) {
            fprintf(stderr, "crew-bench submit: cannot set up libuv: %s\n",
                    strerror(rc));
            status = 1;
            goto out;
        }
    }
#else
    if (run_impl[IMPL_UV])
        printf("bench=submit impl=libuv skipped=1 reason=not_built_with_libuv\n");
    run_impl[IMPL_UV] = 0;
#endif
#ifdef CREW_BENCH_HAVE_MOODYCAMEL
    if (run_impl[IMPL_MOODYCAMEL] &&
        (s.mc = peer_mc_pool_create(workers, MAX_PRODUCERS)) == NULL) {
        fprintf(stderr, "crew-bench submit: cannot create the moodycamel pool\n");
        status = 1;
        goto out;
    }
#else
    if (run_impl[IMPL_MOODYCAMEL])
        printf("bench=submit impl=moodycamel skipped=1 "
               "reason=not_built_with_libconcurrentqueue\n");
    run_impl[IMPL_MOODYCAMEL] = 0;
#endif
    for (int p = 0; p < MAX_PRODUCERS; p++)
        for (int i = 0; i < NIMPLS; i++)
            if (run_impl[i] &&
                (secs[p][i] = calloc((size_t)repeat, sizeof(double))) == NULL) {
                fprintf(stderr, "crew-bench submit: out of memory\n");
                status = 1;
                goto out;
            }

    /* Warm-up: grows the queues and record pools, faults the pages in. */
    for (int i = 0; i < NIMPLS; i++)
        if (run_impl[i] && i != IMPL_RAW &&
            run_once(&s, i, 1, n / 4 > 0 ? n / 4 : 1) < 0) {
            status = 1;
            goto out;
        }
    for (int r = 0; r < repeat; r++) {
        for (int p = 0; p < MAX_PRODUCERS; p++)
            for (int i = 0; i < NIMPLS; i++) {
                if (!run_impl[i])
                    continue;
                long tasks = i == IMPL_RAW ? raw_n : n;
                crew_stats c0, c1;
                crew_pool_stats(s.pool, &c0);
                double t = run_once(&s, i, p + 1, tasks);
                crew_pool_stats(s.pool, &c1);
                sleeps[p][i] += c1.sleeps - c0.sleeps;
                wakeups[p][i] += c1.wakeups - c0.wakeups;
                if (t < 0) {
                    status = 1;
                    goto out;
                }
                secs[p][i][r] = (double)tasks / t; /* tasks per second */
            }
        bench_progress("submit", r + 1, repeat);
    }

    for (int p = 0; p < MAX_PRODUCERS; p++) {
        bench_summary base =
            bench_summarize(secs[p][IMPL_MUTEX_POOL], (size_t)repeat);
        /* moodycamel's median, for crew's lines (summarized here, before
         * the loop reaches it: bench_summarize sorts in place, and a
         * sorted sample summarizes the same). */
        double mc_median = run_impl[IMPL_MOODYCAMEL]
                               ? bench_summarize(secs[p][IMPL_MOODYCAMEL], (size_t)repeat).median
                               : 0;
        for (int i = 0; i < NIMPLS; i++) {
            if (!run_impl[i] || !bench_selected(o, impl_names[i]))
                continue;
            bench_summary m = i == IMPL_MUTEX_POOL
                                  ? base
                                  : bench_summarize(secs[p][i], (size_t)repeat);
            printf("bench=submit impl=%s producers=%d workers=%u n=%ld",
                   impl_names[i], p + 1, i == IMPL_RAW ? 0 : workers,
                   i == IMPL_RAW ? raw_n : n);
            bench_print_stats("tasks_per_s", &m);
            printf(" speed_vs_mutex_pool=%.3g repeat=%d", m.median / base.median, repeat);
            if ((i == IMPL_CREW_POST || i == IMPL_CREW_SUBMIT) && mc_median > 0)
                printf(" speed_vs_moodycamel=%.3g", m.median / mc_median);
            if (i == IMPL_CREW_POST || i == IMPL_CREW_SUBMIT || i == IMPL_CREW_AS_COMPLETED ||
                i == IMPL_CREW_WAIT_ALL) {
                double tasks = (double)n * repeat;
                printf(" sleeps_per_task=%.3f wakeups_per_task=%.3f",
                       (double)sleeps[p][i] / tasks,
                       (double)wakeups[p][i] / tasks);
            }
            printf("\n");
        }
    }

out:
    for (int p = 0; p < MAX_PRODUCERS; p++)
        for (int i = 0; i < NIMPLS; i++)
            free(secs[p][i]);
    if (s.pool != NULL)
        crew_pool_destroy(s.pool);
    peer_mutex_pool_destroy(s.mpool);
#ifdef CREW_BENCH_HAVE_TBB
    peer_tbb_exec_destroy(s.tbb);
#endif
#ifdef CREW_BENCH_HAVE_UV
    for (int k = 0; k < MAX_PRODUCERS; k++)
        peer_uv_loop_destroy(s.uv[k]);
#endif
#ifdef CREW_BENCH_HAVE_MOODYCAMEL
    peer_mc_pool_destroy(s.mc);
#endif
    for (int k = 0; k < MAX_PRODUCERS; k++)
        crew_completion_destroy(s.cq[k]);
    sem_destroy(&tally.all_done);
    free(tally.seen);
    free(s.futures);
    free(s.handed);
    return status;
}
