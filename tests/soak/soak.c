/*
 * crew-soak: a mixed load on one pool for a given time, with threads that
 * come and go, sampling the process's resident set size (VmRSS in
 * /proc/self/status) every second. scripts/soak.sh builds and runs it.
 *
 *   crew-soak SECONDS [--warmup S] [--bound-mib M] [--no-churn-posts]
 *                     [--no-churn-objpool]
 *
 * The load, each part on threads of its own until the time is up:
 *   - fork-join: crew_run of fib(20) through spawns, a parallel_for and a
 *     parallel_reduce, results checked;
 *   - two long-lived producers: 64 futures and 64 posts at a time, then
 *     the 64 waits and releases;
 *   - two churners of posting threads: a new thread posts 200 tasks and
 *     exits, over and over (thousands of threads);
 *   - a churner of object-pool threads: a new thread acquires 64 objects of
 *     a pool without an idle limit and 32 of a pool with max_idle 256,
 *     releases them all, and exits;
 *   - groups: 100 posts into a new group, wait, destroy;
 *   - graphs: a new 32-node graph run 5 times, then destroyed.
 *
 * The bound. After a warm-up (by default a quarter of the run, at least
 * 10 s and at most 60 s) the load is in its steady state, and crew's
 * memory is bounded by the load's peak, whatever the number of threads
 * that ever called: task records are kept up to the records pool's
 * max_idle (4096 of about 128 bytes: 0.5 MiB); injection queue segments
 * are bounded by the largest backlog (here at most 2 x 200 + 2 x 64
 * queued items, under 10 segments of 2.5 KiB); each worker's deque keeps
 * the largest size it grew to; the object pools keep what their max_idle
 * allows, and for the unlimited one the peak number of objects out at
 * once (64 per live thread); the per-thread caches of threads that have
 * exited must not add up. All of that is reached within the warm-up and
 * totals about 2 MiB. What else moves RSS is the C library: malloc arenas
 * (at most 8 per CPU, reused by later threads) and cached thread stacks
 * (reused). So past the warm-up RSS may grow by at most 16 MiB (the
 * --bound-mib default) above its largest warm-up sample: eight times
 * crew's whole steady-state footprint. Memory that is stranded per thread
 * that ever posted or used the object pool (a few KiB each) grows by
 * tens of MiB a minute at this rate of threads and passes that bound.
 *
 * Exit status 0 when every check and the bound held.
 */
#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "faults/watchdog.h"

#define IP(x) ((void *)(intptr_t)(x))
#define PI(p) ((long)(intptr_t)(p))

static crew_pool *pool;
static crew_objpool *objs_unbounded, *objs_bounded;
static _Atomic int stop;
static _Atomic int failed;

static _Atomic long posted, ran, churn_threads, objpool_threads, forkjoin_runs, group_runs,
    graph_runs, produced;

static void fail(const char *what)
{
    if (atomic_fetch_add(&failed, 1) == 0)
        fprintf(stderr, "soak: FAILED: %s\n", what);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* VmRSS in KiB, or -1. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = atol(line + 6);
            break;
        }
    fclose(f);
    return kib;
}

static void *count_task(void *arg)
{
    atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
    return arg;
}

/* ---- fork-join ---- */

static void *fib(void *arg)
{
    long n = PI(arg);
    if (n < 2)
        return arg;
    crew_task t;
    crew_spawn(&t, fib, IP(n - 1));
    long b = PI(fib(IP(n - 2)));
    return IP(PI(crew_sync(&t)) + b);
}

static int add_range(size_t b, size_t e, void *arg)
{
    atomic_fetch_add_explicit((_Atomic long *)arg, (long)(e - b), memory_order_relaxed);
    return 0;
}

static void sum_range(size_t b, size_t e, void *acc, void *arg)
{
    (void)arg;
    for (size_t i = b; i < e; i++)
        *(long *)acc += (long)i;
}

static void sum_combine(void *acc, const void *right, void *arg)
{
    (void)arg;
    *(long *)acc += *(const long *)right;
}

static void *forkjoin_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        void *r = NULL;
        if (crew_run(pool, fib, IP(20), &r) != 0 || PI(r) != 6765)
            fail("crew_run(fib(20))");
        _Atomic long count = 0;
        if (crew_parallel_for(pool, 0, 100000, 0, add_range, &count) != 0 ||
            atomic_load(&count) != 100000)
            fail("crew_parallel_for");
        long zero = 0, sum = 0;
        if (crew_parallel_reduce(pool, 0, 10000, 100, sizeof(long), &zero, sum_range,
                                 sum_combine, NULL, &sum) != 0 ||
            sum != 10000L * 9999 / 2)
            fail("crew_parallel_reduce");
        atomic_fetch_add(&forkjoin_runs, 1);
    }
    return NULL;
}

/* ---- long-lived producers ---- */

static void *producer_main(void *arg)
{
    (void)arg;
    crew_future *f[64];
    while (!atomic_load(&stop)) {
        for (int i = 0; i < 64; i++) {
            f[i] = crew_submit(pool, count_task, IP(i));
            if (f[i] == NULL)
                fail("crew_submit");
            if (crew_post(pool, count_task, NULL) != 0)
                fail("crew_post");
            else
                atomic_fetch_add(&posted, 1);
        }
        for (int i = 0; i < 64; i++) {
            if (f[i] == NULL)
                continue;
            void *r = NULL;
            if (crew_future_wait(f[i], &r) != 0 || PI(r) != i)
                fail("crew_future_wait");
            crew_future_release(f[i]);
            atomic_fetch_add(&posted, 1); /* the submitted task ran (counted in ran) */
        }
        atomic_fetch_add(&produced, 128);
    }
    return NULL;
}

/* ---- threads that come and go ---- */

static void *poster_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        if (crew_post(pool, count_task, NULL) != 0)
            fail("crew_post from a short-lived thread");
        else
            atomic_fetch_add_explicit(&posted, 1, memory_order_relaxed);
    }
    return NULL;
}

static void *objpool_thread(void *arg)
{
    (void)arg;
    void *a[64], *b[32];
    for (int i = 0; i < 64; i++) {
        a[i] = crew_objpool_acquire(objs_unbounded);
        if (a[i] == NULL)
            fail("crew_objpool_acquire (unbounded)");
        else
            memset(a[i], 0x5a, 256);
    }
    for (int i = 0; i < 32; i++) {
        b[i] = crew_objpool_acquire(objs_bounded);
        if (b[i] == NULL)
            fail("crew_objpool_acquire (bounded)");
        else
            memset(b[i], 0xa5, 256);
    }
    for (int i = 0; i < 64; i++)
        crew_objpool_release(objs_unbounded, a[i]);
    for (int i = 0; i < 32; i++)
        crew_objpool_release(objs_bounded, b[i]);
    return NULL;
}

typedef struct churner {
    void *(*body)(void *);
    _Atomic long *count;
} churner;

static void *churn_main(void *arg)
{
    churner *c = arg;
    while (!atomic_load(&stop)) {
        pthread_t t;
        if (pthread_create(&t, NULL, c->body, NULL) != 0) {
            fail("pthread_create");
            break;
        }
        pthread_join(t, NULL);
        atomic_fetch_add(c->count, 1);
    }
    return NULL;
}

/* ---- groups and graphs ---- */

static void *group_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        crew_group *g = crew_group_create(pool);
        if (g == NULL) {
            fail("crew_group_create");
            break;
        }
        for (int i = 0; i < 100; i++) {
            if (crew_group_post(g, count_task, NULL) != 0)
                fail("crew_group_post");
            else
                atomic_fetch_add(&posted, 1);
        }
        if (crew_group_wait(g) != 0)
            fail("crew_group_wait");
        crew_group_destroy(g);
        atomic_fetch_add(&group_runs, 1);
    }
    return NULL;
}

static void *node_fn(void *arg)
{
    atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
    return arg;
}

static void *graph_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        crew_graph *g = crew_graph_create();
        if (g == NULL) {
            fail("crew_graph_create");
            break;
        }
        crew_node *n[32];
        for (int i = 0; i < 32; i++) {
            n[i] = crew_graph_add(g, node_fn, IP(i));
            if (n[i] == NULL)
                fail("crew_graph_add");
        }
        for (int i = 1; i < 32; i++)
            if (n[i] != NULL && n[i / 2] != NULL && crew_graph_precede(n[i / 2], n[i]) != 0)
                fail("crew_graph_precede");
        for (int r = 0; r < 5; r++) {
            if (crew_graph_run(pool, g) != 0)
                fail("crew_graph_run");
            else
                atomic_fetch_add(&posted, 32);
        }
        crew_graph_destroy(g);
        atomic_fetch_add(&graph_runs, 1);
    }
    return NULL;
}

/* ---- main ---- */

static int usage(void)
{
    fprintf(stderr, "usage: crew-soak SECONDS [--warmup S] [--bound-mib M] [--no-churn-posts] "
                    "[--no-churn-objpool]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    long seconds = atol(argv[1]);
    if (seconds < 2)
        return usage();
    long warmup = seconds / 4;
    if (warmup < 10)
        warmup = 10;
    if (warmup > 60)
        warmup = 60;
    double bound_mib = 16;
    int churn_posts = 1, churn_objpool = 1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
            warmup = atol(argv[++i]);
        else if (strcmp(argv[i], "--bound-mib") == 0 && i + 1 < argc)
            bound_mib = atof(argv[++i]);
        else if (strcmp(argv[i], "--no-churn-posts") == 0)
            churn_posts = 0;
        else if (strcmp(argv[i], "--no-churn-objpool") == 0)
            churn_objpool = 0;
        else
            return usage();
    }
    if (warmup >= seconds) {
        fprintf(stderr, "soak: the warm-up (%ld s) must be shorter than the run (%ld s)\n",
                warmup, seconds);
        return 2;
    }

    pool = crew_pool_create(NULL);
    crew_objpool_config u = {.obj_size = 256, .max_idle = 0};
    crew_objpool_config b = {.obj_size = 256, .max_idle = 256};
    objs_unbounded = crew_objpool_create(&u);
    objs_bounded = crew_objpool_create(&b);
    if (pool == NULL || objs_unbounded == NULL || objs_bounded == NULL) {
        fprintf(stderr, "soak: setup failed: %s\n", strerror(errno));
        return 1;
    }
    printf("soak: %ld s on %u workers; warm-up %ld s; after it RSS may grow at most %.0f MiB "
           "above its largest warm-up sample\n",
           seconds, crew_pool_workers(pool), warmup, bound_mib);
    printf("soak: load: fork-join, 2 producers, 2 churners of posting threads (200 posts "
           "each)%s, a churner of object-pool threads%s, groups, graphs\n",
           churn_posts ? "" : " [off]", churn_objpool ? "" : " [off]");
    fflush(stdout);

    pthread_t th[16];
    int nth = 0;
    static churner post_churn = {poster_thread, &churn_threads};
    static churner obj_churn = {objpool_thread, &objpool_threads};
    int ok = 1;
    ok &= pthread_create(&th[nth++], NULL, forkjoin_main, NULL) == 0;
    ok &= pthread_create(&th[nth++], NULL, producer_main, NULL) == 0;
    ok &= pthread_create(&th[nth++], NULL, producer_main, NULL) == 0;
    if (churn_posts) {
        ok &= pthread_create(&th[nth++], NULL, churn_main, &post_churn) == 0;
        ok &= pthread_create(&th[nth++], NULL, churn_main, &post_churn) == 0;
    }
    if (churn_objpool)
        ok &= pthread_create(&th[nth++], NULL, churn_main, &obj_churn) == 0;
    ok &= pthread_create(&th[nth++], NULL, group_main, NULL) == 0;
    ok &= pthread_create(&th[nth++], NULL, graph_main, NULL) == 0;
    if (!ok) {
        fprintf(stderr, "soak: cannot start the load threads\n");
        return 1;
    }

    double t0 = now_s();
    long warm_max = 0, after_max = 0, first = -1;
    long t_after_max = 0;
    long last_ran = -1, stalled = 0;
    for (long s = 1; s <= seconds && !atomic_load(&failed); s++) {
        double until = t0 + (double)s;
        double left;
        while ((left = until - now_s()) > 0) {
            struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
            nanosleep(&ts, NULL);
        }
        long kib = rss_kib();
        if (first < 0)
            first = kib;
        if (s <= warmup) {
            if (kib > warm_max)
                warm_max = kib;
        } else if (kib > after_max) {
            after_max = kib;
            t_after_max = s;
        }
        printf("soak: t=%4ld s rss=%7.1f MiB%s  threads: %ld posting, %ld objpool; tasks run %ld\n",
               s, (double)kib / 1024, s <= warmup ? " (warm-up)" : "",
               atomic_load(&churn_threads), atomic_load(&objpool_threads),
               atomic_load(&ran));
        fflush(stdout);
        /* Tasks complete all the time under this load: none for 10 s is
         * a hang (a lost wake-up, a deadlock). */
        long r = atomic_load(&ran);
        stalled = r == last_ran ? stalled + 1 : 0;
        last_ran = r;
        if (stalled >= 10) {
            fprintf(stderr, "soak: FAILED: no task completed for 10 s (a hang)\n");
            abort();
        }
    }
    test_watchdog_arm("the soak's shutdown (joining the load, destroying the pool)", 120, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    if (crew_pool_destroy(pool) != 0)
        fail("crew_pool_destroy");
    crew_objpool_destroy(objs_unbounded);
    crew_objpool_destroy(objs_bounded);
    test_watchdog_disarm();

    /* Every post, group task, graph node and submitted task ran. */
    if (!atomic_load(&failed) && atomic_load(&ran) != atomic_load(&posted) + 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "%ld tasks accepted, %ld ran", atomic_load(&posted),
                 atomic_load(&ran));
        fail(msg);
    }
    double growth = (double)(after_max - warm_max) / 1024;
    printf("soak: RSS at 1 s %.1f MiB, largest in the warm-up %.1f MiB, largest after it %.1f MiB "
           "(at %ld s): growth %.1f MiB, bound %.0f MiB\n",
           (double)first / 1024, (double)warm_max / 1024, (double)after_max / 1024, t_after_max,
           growth, bound_mib);
    printf("soak: %ld posting threads, %ld object-pool threads, %ld fork-join rounds, %ld groups, "
           "%ld graphs, %ld tasks run\n",
           atomic_load(&churn_threads), atomic_load(&objpool_threads),
           atomic_load(&forkjoin_runs), atomic_load(&group_runs), atomic_load(&graph_runs),
           atomic_load(&ran));
    if (growth > bound_mib)
        fail("RSS grew past the bound after the warm-up (memory stranded per thread?)");
    if (atomic_load(&failed)) {
        printf("soak: FAILED\n");
        return 1;
    }
    printf("soak: ok\n");
    return 0;
}
