/* crew-bench serial: N tiny tasks posted by outside threads to serial
 * queues, in tasks per second, with 1 and 4 queues and 1 and 2 producers.
 * Producer k posts its share of the N tasks (N/P each) round-robin over
 * the queues; the producers are threads created before the clock starts,
 * they start together at a barrier, and the clock starts when the first
 * of them leaves it (its own reading). It stops when every task has run
 * and every producer has returned.
 *   impl=crew        crew_serial_post onto crew_serial queues of a crew
 *                    pool of W workers;
 *   impl=asio        Boost.Asio (peers/asio.cpp): boost::asio::post onto
 *                    strands (make_strand) of a boost::asio::thread_pool
 *                    of W threads;
 *   impl=mutex_fifo  a FIFO guarded by a mutex per queue, drained on the
 *                    mutex+condvar pool of W threads (peers/mutex_serial.c;
 *                    64 tasks per turn, as crew's).
 * Each task checks, with plain (unsynchronized) fields of its queue, that
 * it runs after its producer's earlier tasks of that queue and counts
 * itself; a queue's last task counts the queue done, the last queue posts
 * a semaphore. After each run every queue must hold its count with no
 * task out of order: anything else fails the run (and ThreadSanitizer
 * builds would see two tasks of a queue at once as a race). Implementations
 * run interleaved, --repeat times (default 5), after an untimed warm-up.
 * crew's lines add its drain runs, worker sleeps and wake calls per task.
 * The target (issue 14): crew at least as fast as Asio in each cell
 * (target_met=1 on crew's line). */
#include "bench.h"

#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "peers/mutex_pool.h"
#include "peers/mutex_serial.h"
#ifdef CREW_BENCH_HAVE_ASIO
#include "peers/asio.h"
#endif

enum { IMPL_CREW, IMPL_ASIO, IMPL_MUTEX, NIMPLS };
static const char *const impl_names[] = {"crew", "asio", "mutex_fifo", NULL};

/* Opaque here, so that the code needs no #ifdef where Asio is not built. */
struct peer_asio_pool;
struct peer_asio_strand;

#define MAX_QUEUES 4 /* a power of two: the task finds its queue in 2 bits */
#define MAX_PRODUCERS 2
#define TIMEOUT_S 60

static const int queue_counts[] = {1, 4};
#define NQCOUNTS 2

/* A queue's tally: its tasks alone touch it, one at a time. */
typedef struct queue_tally {
    _Alignas(64) long count, expected, disorder;
    long last[MAX_PRODUCERS];
} queue_tally;

static struct {
    queue_tally q[MAX_QUEUES];
    int nqueues;
    _Atomic int queues_done;
    sem_t all_done;
} tally;

static void *serial_task(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    queue_tally *t = &tally.q[v & (MAX_QUEUES - 1)];
    unsigned k = (unsigned)(v >> 2) & 1u;
    long i = (long)(v >> 3);
    if (i <= t->last[k])
        t->disorder++;
    t->last[k] = i;
    /* AcqRel: this queue's tally is visible to whoever sees the last
     * queue done (the main thread, through the semaphore). */
    if (++t->count == t->expected &&
        atomic_fetch_add_explicit(&tally.queues_done, 1, memory_order_acq_rel) ==
            tally.nqueues - 1)
        sem_post(&tally.all_done);
    return NULL;
}

typedef struct setup {
    crew_pool *pool;
    crew_serial *crew_q[MAX_QUEUES];
    peer_mutex_pool *mpool;
    peer_mutex_serial *mutex_q[MAX_QUEUES];
    struct peer_asio_pool *apool;
    struct peer_asio_strand *asio_q[MAX_QUEUES];
} setup;

typedef struct producer {
    pthread_t tid;
    const setup *s;
    int impl, nqueues;
    unsigned index;
    long begin, end;
    pthread_barrier_t *start;
    int err;
    double started; /* bench_now() when it left the barrier */
} producer;

static void *producer_main(void *arg)
{
    producer *p = arg;
    const setup *s = p->s;
    pthread_barrier_wait(p->start);
    p->started = bench_now();
    for (long i = p->begin; i < p->end && p->err == 0; i++) {
        int q = (int)(i % p->nqueues);
        void *a = (void *)(((uintptr_t)i << 3) | ((uintptr_t)p->index << 2) | (uintptr_t)q);
        switch (p->impl) {
        case IMPL_CREW:
            p->err = crew_serial_post(s->crew_q[q], serial_task, a);
            break;
        case IMPL_ASIO:
#ifdef CREW_BENCH_HAVE_ASIO
            p->err = peer_asio_strand_post(s->asio_q[q], serial_task, a);
#endif
            break;
        case IMPL_MUTEX:
            p->err = peer_mutex_serial_post(s->mutex_q[q], serial_task, a);
            break;
        }
    }
    return NULL;
}

/* One run; tasks per second, or -1 after printing why. */
static double run_once(const setup *s, int impl, int nqueues, int nproducers, long n)
{
    memset(tally.q, 0, sizeof tally.q);
    for (int q = 0; q < nqueues; q++) {
        tally.q[q].expected = (n - q + nqueues - 1) / nqueues; /* i % nqueues == q */
        for (int k = 0; k < MAX_PRODUCERS; k++)
            tally.q[q].last[k] = -1;
    }
    tally.nqueues = nqueues;
    atomic_store_explicit(&tally.queues_done, 0, memory_order_relaxed);

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)nproducers + 1);
    producer prod[MAX_PRODUCERS];
    for (int k = 0; k < nproducers; k++) {
        prod[k] = (producer){.s = s,
                             .impl = impl,
                             .nqueues = nqueues,
                             .index = (unsigned)k,
                             .begin = n * k / nproducers,
                             .end = n * (k + 1) / nproducers,
                             .start = &start};
        int err = pthread_create(&prod[k].tid, NULL, producer_main, &prod[k]);
        if (err != 0) {
            /* A producer may be waiting at the barrier already: give up. */
            fprintf(stderr, "crew-bench serial: pthread_create: %s\n", strerror(err));
            exit(1);
        }
    }
    pthread_barrier_wait(&start);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += TIMEOUT_S;
    int rc;
    while ((rc = sem_timedwait(&tally.all_done, &deadline)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        fprintf(stderr,
                "crew-bench serial: impl=%s queues=%d producers=%d n=%ld: TIMEOUT after %d s "
                "(lost task or lost wake-up?)\n",
                impl_names[impl], nqueues, nproducers, n, TIMEOUT_S);
        exit(1);
    }
    for (int k = 0; k < nproducers; k++)
        pthread_join(prod[k].tid, NULL);
    double t0 = prod[0].started;
    for (int k = 1; k < nproducers; k++)
        if (prod[k].started < t0)
            t0 = prod[k].started;
    double t = bench_now() - t0;
    pthread_barrier_destroy(&start);
    for (int k = 0; k < nproducers; k++)
        if (prod[k].err != 0) {
            fprintf(stderr, "crew-bench serial: impl=%s producer %d: %s\n", impl_names[impl], k,
                    strerror(prod[k].err));
            return -1;
        }
    for (int q = 0; q < nqueues; q++)
        if (tally.q[q].count != tally.q[q].expected || tally.q[q].disorder != 0) {
            fprintf(stderr,
                    "crew-bench serial: impl=%s queues=%d producers=%d: WRONG RESULT: queue %d "
                    "ran %ld of %ld tasks, %ld out of order\n",
                    impl_names[impl], nqueues, nproducers, q, tally.q[q].count,
                    tally.q[q].expected, tally.q[q].disorder);
            return -1;
        }
    return (double)n / t;
}

static int setup_create(setup *s, const int *run_impl, unsigned workers)
{
    s->pool = bench_pool_create("serial", workers);
    s->mpool = peer_mutex_pool_create(workers);
    if (s->pool == NULL || s->mpool == NULL) {
        fprintf(stderr, "crew-bench serial: cannot create the pools: %s\n", strerror(errno));
        return -1;
    }
    for (int q = 0; q < MAX_QUEUES; q++)
        if ((s->crew_q[q] = crew_serial_create(s->pool)) == NULL ||
            (s->mutex_q[q] = peer_mutex_serial_create(s->mpool)) == NULL) {
            fprintf(stderr, "crew-bench serial: cannot create the queues: %s\n",
                    strerror(errno));
            return -1;
        }
#ifdef CREW_BENCH_HAVE_ASIO
    if (run_impl[IMPL_ASIO]) {
        if ((s->apool = peer_asio_pool_create(workers)) == NULL) {
            fprintf(stderr, "crew-bench serial: cannot create the Asio thread_pool\n");
            return -1;
        }
        for (int q = 0; q < MAX_QUEUES; q++)
            if ((s->asio_q[q] = peer_asio_strand_create(s->apool)) == NULL) {
                fprintf(stderr, "crew-bench serial: cannot create the Asio strands\n");
                return -1;
            }
    }
#else
    (void)run_impl;
#endif
    return 0;
}

static void setup_destroy(setup *s)
{
    for (int q = 0; q < MAX_QUEUES; q++) {
        crew_serial_destroy(s->crew_q[q]);
        peer_mutex_serial_destroy(s->mutex_q[q]);
    }
    if (s->pool != NULL)
        crew_pool_destroy(s->pool);
    peer_mutex_pool_destroy(s->mpool);
#ifdef CREW_BENCH_HAVE_ASIO
    for (int q = 0; q < MAX_QUEUES; q++)
        peer_asio_strand_destroy(s->asio_q[q]);
    peer_asio_pool_destroy(s->apool);
#endif
}

int bench_serial(const bench_opts *o)
{
    if (bench_check_impl(o, "serial", impl_names) != 0)
        return 2;
    long n = o->n > 0 ? o->n : 1000000;
    int repeat = o->repeat > 0 ? o->repeat : 5;
    unsigned workers = o->workers > 0 ? o->workers : 2;

    /* mutex_fifo always runs: the ratios divide by it. (Without --impl
     * Asio runs too, when built: crew's target is measured against it in
     * the same run.) */
    int run_impl[NIMPLS];
    for (int i = 0; i < NIMPLS; i++)
        run_impl[i] = i == IMPL_MUTEX || bench_selected(o, impl_names[i]);
#ifndef CREW_BENCH_HAVE_ASIO
    if (bench_selected(o, "asio"))
        printf("bench=serial impl=asio skipped=1 reason=not_built_with_boost_asio\n");
    run_impl[IMPL_ASIO] = 0;
#endif
    int status = 0;
    setup s;
    memset(&s, 0, sizeof s);
    double *rate[NQCOUNTS][MAX_PRODUCERS][NIMPLS] = {{{NULL}}};
    /* crew's worker sleeps, wake calls and drain runs (each taken from
     * the injection queue: a queue going busy, or a turn) over the timed
     * runs, per cell */
    uint64_t sleeps[NQCOUNTS][MAX_PRODUCERS] = {{0}}, wakeups[NQCOUNTS][MAX_PRODUCERS] = {{0}};
    uint64_t drain_runs[NQCOUNTS][MAX_PRODUCERS] = {{0}};
    sem_init(&tally.all_done, 0, 0);
    if (setup_create(&s, run_impl, workers) != 0) {
        status = 1;
        goto out;
    }
    for (int c = 0; c < NQCOUNTS; c++)
        for (int p = 0; p < MAX_PRODUCERS; p++)
            for (int i = 0; i < NIMPLS; i++)
                if (run_impl[i] &&
                    (rate[c][p][i] = calloc((size_t)repeat, sizeof(double))) == NULL) {
                    fprintf(stderr, "crew-bench serial: out of memory\n");
                    status = 1;
                    goto out;
                }

    /* Warm-up: grows the queues and record pools, faults the pages in. */
    for (int i = 0; i < NIMPLS; i++)
        if (run_impl[i] && run_once(&s, i, MAX_QUEUES, 1, n / 4 > 0 ? n / 4 : 1) < 0) {
            status = 1;
            goto out;
        }
    for (int r = 0; r < repeat; r++) {
        for (int c = 0; c < NQCOUNTS; c++)
            for (int p = 0; p < MAX_PRODUCERS; p++)
                for (int i = 0; i < NIMPLS; i++) {
                    if (!run_impl[i])
                        continue;
                    crew_stats c0, c1;
                    crew_pool_stats(s.pool, &c0);
                    double v = run_once(&s, i, queue_counts[c], p + 1, n);
                    crew_pool_stats(s.pool, &c1);
                    if (v < 0) {
                        status = 1;
                        goto out;
                    }
                    if (i == IMPL_CREW) {
                        sleeps[c][p] += c1.sleeps - c0.sleeps;
                        wakeups[c][p] += c1.wakeups - c0.wakeups;
                        drain_runs[c][p] += c1.injected - c0.injected;
                    }
                    rate[c][p][i][r] = v;
                }
        bench_progress("serial", r + 1, repeat);
    }

    for (int c = 0; c < NQCOUNTS; c++)
        for (int p = 0; p < MAX_PRODUCERS; p++) {
            bench_summary m[NIMPLS] = {{0, 0, 0, 0, 0}};
            for (int i = 0; i < NIMPLS; i++)
                if (run_impl[i])
                    m[i] = bench_summarize(rate[c][p][i], (size_t)repeat);
            for (int i = 0; i < NIMPLS; i++) {
                if (!run_impl[i] || !bench_selected(o, impl_names[i]))
                    continue;
                printf("bench=serial impl=%s queues=%d producers=%d workers=%u n=%ld",
                       impl_names[i], queue_counts[c], p + 1, workers, n);
                bench_print_stats("tasks_per_s", &m[i]);
                printf(" speed_vs_mutex_fifo=%.3g", m[i].median / m[IMPL_MUTEX].median);
                if (run_impl[IMPL_ASIO])
                    printf(" speed_vs_asio=%.3g", m[i].median / m[IMPL_ASIO].median);
                printf(" repeat=%d", repeat);
                if (i == IMPL_CREW) {
                    double tasks = (double)n * repeat;
                    printf(" drain_runs_per_task=%.3f sleeps_per_task=%.3f wakeups_per_task=%.3f",
                           (double)drain_runs[c][p] / tasks, (double)sleeps[c][p] / tasks,
                           (double)wakeups[c][p] / tasks);
                    if (run_impl[IMPL_ASIO])
                        printf(" target_met=%d", m[i].median >= m[IMPL_ASIO].median);
                }
                printf("\n");
            }
        }

out:
    for (int c = 0; c < NQCOUNTS; c++)
        for (int p = 0; p < MAX_PRODUCERS; p++)
            for (int i = 0; i < NIMPLS; i++)
                free(rate[c][p][i]);
    setup_destroy(&s);
    sem_destroy(&tally.all_done);
    return status;
}
