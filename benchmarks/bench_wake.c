/* crew-bench wake: how long a task posted to a sleeping pool waits before
 * it starts. Each sample sleeps 2 ms (longer than an idle crew worker's
 * spin_us search, default 100 us, so every worker is asleep), reads
 * CLOCK_MONOTONIC, posts a task that reads it again first thing, and waits
 * for it. --n samples per implementation (default 2000), interleaved:
 *   impl=crew         2 workers, default spin_us;
 *   impl=crew_spin0   2 workers, spin_us = 0 (sleep at once when idle);
 *   impl=mutex_pool   2 workers blocked on the peer's condition variable;
 *   impl=tbb          oneTBB: the task enqueued into a task_arena of 2
 *                     worker threads as a task of a task_group (see
 *                     bench_submit.c), the group waited for after the
 *                     sample (untimed);
 *   impl=libuv        libuv's thread pool, 2 threads: uv_queue_work on an
 *                     event loop of the sampling thread, whose completion
 *                     callback runs (uv_run) after the sample (untimed).
 * Lines give the median, 99th percentile and maximum in microseconds; for
 * crew also sleeps and wake calls per sample (crew_pool_stats), which show
 * that the workers really slept. A task that does not start within 5 s is
 * reported as a lost wake-up and fails the run. */
#include "bench.h"

#include <crew.h>
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "peers/mutex_pool.h"
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif
#ifdef CREW_BENCH_HAVE_UV
#include "peers/uv.h"
#endif

enum { IMPL_CREW, IMPL_CREW_SPIN0, IMPL_MUTEX_POOL, IMPL_TBB, IMPL_UV, NIMPLS };
static const char *const impl_names[] = {"crew", "crew_spin0", "mutex_pool",
                                         "tbb",  "libuv",      NULL};

/* Peer handles, opaque here so that the code needs no #ifdef where a
 * peer is not built. */
struct peer_tbb_exec;
struct peer_uv_loop;

#define GAP_NS 2000000L /* sleep before each sample */
#define LOST_S 5

typedef struct probe {
    double started;
    sem_t ran;
} probe;

static void *probe_task(void *arg)
{
    probe *p = arg;
    p->started = bench_now();
    sem_post(&p->ran);
    return NULL;
}

typedef struct target {
    crew_pool *pool;
    peer_mutex_pool *mpool;
    struct peer_tbb_exec *tbb;
    struct peer_uv_loop *uv;
    double *us;
    unsigned spin_us;
    crew_stats before;
} target;

/* One sample, in microseconds; -1 after printing why. */
static double sample(target *t, int impl, probe *p)
{
    struct timespec gap = {0, GAP_NS};
    while (nanosleep(&gap, &gap) != 0 && errno == EINTR)
        ;
    double t0 = bench_now();
    int rc = 0;
    switch (impl) {
    case IMPL_MUTEX_POOL:
        rc = peer_mutex_pool_post(t->mpool, probe_task, p);
        break;
    case IMPL_TBB:
#ifdef CREW_BENCH_HAVE_TBB
        rc = peer_tbb_exec_post(t->tbb, 0, probe_task, p);
#endif
        break;
    case IMPL_UV:
#ifdef CREW_BENCH_HAVE_UV
        rc = peer_uv_post(t->uv, probe_task, p);
#endif
        break;
    default:
        rc = crew_post(t->pool, probe_task, p);
        break;
    }
    if (rc != 0) {
        fprintf(stderr, "crew-bench wake: impl=%s post: %s\n",
                impl_names[impl], strerror(rc));
        return -1;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += LOST_S;
    while ((rc = sem_timedwait(&p->ran, &deadline)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        fprintf(stderr,
                "crew-bench wake: impl=%s: the task did not start within %d s "
                "(LOST WAKE-UP?)\n",
                impl_names[impl], LOST_S);
        exit(1);
    }
    double us = (p->started - t0) * 1e6;
    /* The peers' completion bookkeeping, outside the sample. */
#ifdef CREW_BENCH_HAVE_TBB
    if (impl == IMPL_TBB)
        rc = peer_tbb_exec_wait(t->tbb);
#endif
#ifdef CREW_BENCH_HAVE_UV
    if (impl == IMPL_UV)
        rc = peer_uv_drain(t->uv);
#endif
    if (rc != 0) {
        fprintf(stderr, "crew-bench wake: impl=%s: completion failed\n",
                impl_names[impl]);
        return -1;
    }
    return us;
}

int bench_wake(const bench_opts *o)
{
    if (bench_check_impl(o, "wake", impl_names) != 0)
        return 2;
    long n = o->n > 0 ? o->n : 2000;
    unsigned workers = o->workers > 0 ? o->workers : 2;
    target t[NIMPLS];
    memset(t, 0, sizeof(t));
    probe p;
    sem_init(&p.ran, 0, 0);
    int status = 0;

    for (int i = 0; i < NIMPLS; i++) {
        if (!bench_selected(o, impl_names[i]))
            continue;
        if (i == IMPL_MUTEX_POOL) {
            t[i].mpool = peer_mutex_pool_create(workers);
        } else if (i == IMPL_TBB) {
#ifdef CREW_BENCH_HAVE_TBB
            t[i].tbb = peer_tbb_exec_create(workers, 1);
#else
            printf("bench=wake impl=tbb skipped=1 reason=not_built_with_onetbb\n");
            continue;
#endif
        } else if (i == IMPL_UV) {
#ifdef CREW_BENCH_HAVE_UV
            if (peer_uv_init(workers) == 0)
                t[i].uv = peer_uv_loop_create(1);
#else
            printf("bench=wake impl=libuv skipped=1 reason=not_built_with_libuv\n");
            continue;
#endif
        } else {
            crew_config cfg;
            crew_config_default(&cfg);
            cfg.workers = workers;
            if (i == IMPL_CREW_SPIN0)
                cfg.spin_us = 0;
            t[i].spin_us = cfg.spin_us;
            t[i].pool = crew_pool_create(&cfg);
        }
        t[i].us = calloc((size_t)n, sizeof(double));
        if ((t[i].pool == NULL && t[i].mpool == NULL && t[i].tbb == NULL &&
             t[i].uv == NULL) ||
            t[i].us == NULL) {
            fprintf(stderr, "crew-bench wake: cannot set up impl=%s\n",
                    impl_names[i]);
            status = 1;
            goto out;
        }
    }

    /* Warm-up: the first post of a pool allocates its records. */
    for (int i = 0; i < NIMPLS; i++)
        if (t[i].us != NULL && sample(&t[i], i, &p) < 0) {
            status = 1;
            goto out;
        }
    for (int i = 0; i < NIMPLS; i++)
        if (t[i].pool != NULL)
            crew_pool_stats(t[i].pool, &t[i].before);
    for (long k = 0; k < n; k++) {
        for (int i = 0; i < NIMPLS; i++) {
            if (t[i].us == NULL)
                continue;
            double us = sample(&t[i], i, &p);
            if (us < 0) {
                status = 1;
                goto out;
            }
            t[i].us[k] = us;
        }
        if ((k + 1) % 50 == 0 || k + 1 == n)
            bench_progress("wake", k + 1, n);
    }

    for (int i = 0; i < NIMPLS; i++) {
        if (t[i].us == NULL)
            continue;
        bench_summary s = bench_summarize(t[i].us, (size_t)n);
        printf("bench=wake impl=%s workers=%u samples=%ld", impl_names[i], workers, n);
        bench_print_stats("us", &s);
        printf(" p99_us=%.6g", bench_percentile(t[i].us, (size_t)n, 0.99));
        if (t[i].pool != NULL) {
            crew_stats after;
            crew_pool_stats(t[i].pool, &after);
            printf(" spin_us=%u sleeps_per_sample=%.2f wakeups_per_sample=%.2f",
                   t[i].spin_us,
                   (double)(after.sleeps - t[i].before.sleeps) / (double)n,
                   (double)(after.wakeups - t[i].before.wakeups) / (double)n);
        }
        printf("\n");
    }

out:
    for (int i = 0; i < NIMPLS; i++) {
        if (t[i].pool != NULL)
            crew_pool_destroy(t[i].pool);
        peer_mutex_pool_destroy(t[i].mpool);
#ifdef CREW_BENCH_HAVE_TBB
        peer_tbb_exec_destroy(t[i].tbb);
#endif
#ifdef CREW_BENCH_HAVE_UV
        peer_uv_loop_destroy(t[i].uv);
#endif
        free(t[i].us);
    }
    sem_destroy(&p.ran);
    return status;
}
