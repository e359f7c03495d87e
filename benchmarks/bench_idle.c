/* crew-bench idle: what an idle pool costs. A pool of 2 workers (--workers)
 * runs a burst (fork-join fib through crew_run, then a crew_group of posted
 * tasks), then the main thread sleeps 1 s while the pool has nothing to
 * do; the process's CPU time (CLOCK_PROCESS_CPUTIME_ID: every thread) over
 * that second is the figure, in ms per wall second. Each measurement
 * starts right after the burst, so it includes the workers' search before
 * they sleep. --repeat R (default 3) bursts and measurements; the line
 * gives the median and the extremes. One pool exists at a time.
 *   impl=crew        default spin_us;
 *   impl=mutex_pool  the peer, for reference (blocked on a condvar). */
#include "bench.h"

#include <crew.h>
#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "peers/mutex_pool.h"

enum { IMPL_CREW, IMPL_MUTEX_POOL, NIMPLS };
static const char *const impl_names[] = {"crew", "mutex_pool", NULL};

#define BURST_FIB 27
#define BURST_POSTS 20000

static void *fib_task(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (n < 2)
        return arg;
    crew_task t;
    crew_spawn(&t, fib_task, (void *)(intptr_t)(n - 1));
    long b = (long)(intptr_t)fib_task((void *)(intptr_t)(n - 2));
    long a = (long)(intptr_t)crew_sync(&t);
    return (void *)(intptr_t)(a + b);
}

static struct {
    _Atomic long left;
    sem_t drained;
} burst;

static void *group_task(void *arg)
{
    bench_consume((uintptr_t)arg);
    return arg;
}

/* The mutex pool has no group: its tasks count down to a semaphore. */
static void *burst_task(void *arg)
{
    bench_consume((uintptr_t)arg);
    if (atomic_fetch_sub_explicit(&burst.left, 1, memory_order_acq_rel) == 1)
        sem_post(&burst.drained);
    return arg;
}

static int crew_burst(crew_pool *pool)
{
    void *r = NULL;
    int rc = crew_run(pool, fib_task, (void *)(intptr_t)BURST_FIB, &r);
    if (rc != 0 || (long)(intptr_t)r != seq_fib(BURST_FIB))
        return rc != 0 ? rc : -1;
    crew_group *g = crew_group_create(pool);
    if (g == NULL)
        return errno;
    for (long i = 0; i < BURST_POSTS && rc == 0; i++)
        rc = crew_group_post(g, group_task, (void *)(uintptr_t)i);
    crew_group_destroy(g); /* waits for the posted tasks */
    return rc;
}

static int mutex_burst(peer_mutex_pool *p)
{
    atomic_store_explicit(&burst.left, BURST_POSTS, memory_order_relaxed);
    for (long i = 0; i < BURST_POSTS; i++) {
        int rc = peer_mutex_pool_post(p, burst_task, (void *)(uintptr_t)i);
        if (rc != 0)
            return rc;
    }
    while (sem_wait(&burst.drained) != 0 && errno == EINTR)
        ;
    return 0;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU ms per wall second over one second of sleep in this thread. */
static double idle_second(void)
{
    double c0 = cpu_now(), w0 = bench_now();
    struct timespec rest = {1, 0};
    while (nanosleep(&rest, &rest) != 0 && errno == EINTR)
        ;
    double c1 = cpu_now(), w1 = bench_now();
    return (c1 - c0) * 1e3 / (w1 - w0);
}

int bench_idle(const bench_opts *o)
{
    if (bench_check_impl(o, "idle", impl_names) != 0)
        return 2;
    int repeat = o->repeat > 0 ? o->repeat : 3;
    unsigned workers = o->workers > 0 ? o->workers : 2;
    double *ms = calloc((size_t)repeat, sizeof(double));
    if (ms == NULL)
        return 1;
    sem_init(&burst.drained, 0, 0);
    int status = 0;
    long steps = 0, nsteps = (long)repeat * (bench_selected(o, "crew") +
                                             bench_selected(o, "mutex_pool"));

    /* One implementation alive at a time: the process's CPU time is all
     * the pool under test's. */
    if (bench_selected(o, "crew")) {
        crew_config cfg;
        crew_config_default(&cfg);
        cfg.workers = workers;
        crew_pool *pool = crew_pool_create(&cfg);
        if (pool == NULL) {
            fprintf(stderr, "crew-bench idle: crew_pool_create: %s\n",
                    strerror(errno));
            status = 1;
            goto out;
        }
        crew_stats before, after;
        crew_pool_stats(pool, &before);
        for (int r = 0; r < repeat && status == 0; r++) {
            int rc = crew_burst(pool);
            if (rc != 0) {
                fprintf(stderr, "crew-bench idle: crew burst failed: %s\n",
                        rc < 0 ? "WRONG RESULT" : strerror(rc));
                status = 1;
            }
            ms[r] = idle_second();
            bench_progress("idle", ++steps, nsteps);
        }
        crew_pool_stats(pool, &after);
        crew_pool_destroy(pool);
        if (status != 0)
            goto out;
        bench_summary s = bench_summarize(ms, (size_t)repeat);
        printf("bench=idle impl=crew workers=%u", workers);
        bench_print_stats("cpu_ms_per_s", &s);
        printf(" repeat=%d spin_us=%u sleeps_per_round=%.1f\n", repeat, cfg.spin_us,
               (double)(after.sleeps - before.sleeps) / repeat);
    }
    if (bench_selected(o, "mutex_pool")) {
        peer_mutex_pool *mpool = peer_mutex_pool_create(workers);
        if (mpool == NULL) {
            fprintf(stderr, "crew-bench idle: cannot create the mutex pool\n");
            status = 1;
            goto out;
        }
        for (int r = 0; r < repeat && status == 0; r++) {
            int rc = mutex_burst(mpool);
            if (rc != 0) {
                fprintf(stderr, "crew-bench idle: mutex burst: %s\n",
                        strerror(rc));
                status = 1;
            }
            ms[r] = idle_second();
            bench_progress("idle", ++steps, nsteps);
        }
        peer_mutex_pool_destroy(mpool);
        if (status != 0)
            goto out;
        bench_summary s = bench_summarize(ms, (size_t)repeat);
        printf("bench=idle impl=mutex_pool workers=%u", workers);
        bench_print_stats("cpu_ms_per_s", &s);
        printf(" repeat=%d\n", repeat);
    }

out:
    free(ms);
    sem_destroy(&burst.drained);
    return status;
}
