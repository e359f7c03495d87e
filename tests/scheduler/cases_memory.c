/* Suite `scheduler`, memory: spawns whose deque cannot grow still run
 * exactly once (at their sync); a pool whose creation runs out of memory
 * or threads returns NULL with errno and leaks nothing (the ASan build's
 * leak check sees every case); the injection queue's memory does not grow
 * with the number of threads that ever posted. Each crashed, aborted,
 * leaked or grew on the code before its fix. */
#include "scheduler_cases.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "scheduler/internal.h"
#include "util.h"

/* Spawns enough that the deque (256 slots at first) must grow three
 * times: at 256, 512 and 1024 public tasks. */
#define NM_SPAWNS 1500

typedef struct nm_frame {
    long spawns;         /* how many the frame spawns */
    long fail_after;     /* allocations that succeed before the one that fails */
    int force_request;   /* ask for work before every spawn (as a thief does) */
    int publish_all;     /* after the spawns, arm the fault and publish them all */
    int submit_inside;   /* after the spawns, arm the fault and submit + post */
    _Atomic long ran[NM_SPAWNS];
    _Atomic long posted_ran;
    void *submitted_result;
    int fired;
    long bad;            /* spawns whose result was wrong */
} nm_frame;

static nm_frame *nm_cur;

static void *nm_leaf(void *arg)
{
    long i = PI(arg);
    atomic_fetch_add(&nm_cur->ran[i], 1);
    return IP(i * 3 + 1);
}

static void *nm_posted(void *arg)
{
    atomic_fetch_add(&nm_cur->posted_ran, 1);
    return arg;
}

/* Two records used and released before the frame: the pool's idle
 * records then serve its submit and post without allocating, so the one
 * armed failure lands on the deque. */
static void nm_warm_records(crew_pool *p)
{
    crew_future *a = crew_submit(p, nm_posted, NULL);
    crew_future *b = crew_submit(p, nm_posted, NULL);
    crew_future_wait(a, NULL);
    crew_future_wait(b, NULL);
    crew_future_release(a);
    crew_future_release(b);
    atomic_store(&nm_cur->posted_ran, 0);
}

static crew_pool *nm_pool;

static void *nm_root(void *arg)
{
    nm_frame *f = arg;
    static crew_task t[NM_SPAWNS];
    if (f->force_request)
        crew_fault_inject_alloc(f->fail_after);
    for (long i = 0; i < f->spawns; i++) {
        if (f->force_request)
            /* What a thief does when it finds our public part empty: the
             * next spawn publishes its oldest private task (mid-round). */
            crew_ask_for_work(crew_current_worker_);
        crew_spawn(&t[i], nm_leaf, IP(i));
    }
    if (f->publish_all) {
        /* A group wait publishes every private spawn first (others could
         * run them meanwhile): the deque grows at 256, 512 and 1024. */
        crew_group *g = crew_group_create(nm_pool);
        crew_fault_inject_alloc(f->fail_after);
        if (g == NULL || crew_group_wait(g) != 0)
            f->bad++;
        f->fired = crew_fault_alloc_fired();
        crew_fault_inject_alloc(-1);
        crew_group_destroy(g);
    }
    if (f->submit_inside) {
        crew_fault_inject_alloc(f->fail_after);
        crew_future *fut = crew_submit(nm_pool, nm_posted, IP(42));
        int post_rc = crew_post(nm_pool, nm_posted, NULL);
        if (fut == NULL || post_rc != 0 || crew_future_wait(fut, &f->submitted_result) != 0) {
            f->bad++;
        }
        crew_future_release(fut);
    }
    for (long i = f->spawns; i-- > 0;)
        if (PI(crew_sync(&t[i])) != i * 3 + 1)
            f->bad++;
    f->fired |= crew_fault_alloc_fired();
    crew_fault_inject_alloc(-1);
    return NULL;
}

/* One pool worker: nobody else allocates while the frame runs, so the
 * armed failure lands on the frame's own deque growth. */
static int nm_run(nm_frame *f)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    nm_pool = p;
    nm_cur = f;
    if (f->submit_inside)
        nm_warm_records(p);
    CHECK(crew_run(p, nm_root, f, NULL) == 0);
    CHECK(crew_pool_destroy(p) == 0);
    CHECKF(f->bad == 0, "%ld spawns or submissions went wrong", f->bad);
    for (long i = 0; i < f->spawns; i++)
        CHECKF(atomic_load(&f->ran[i]) == 1, "spawn %ld ran %ld times", i,
               atomic_load(&f->ran[i]));
    CHECKF(f->fired, "the armed allocation (%ld) was not reached", f->fail_after);
    return 0;
}

static int nm_sweep(int force_request, int publish_all)
{
    /* Allocations 0, 1 and 2 of the frame are the deque's three growths. */
    for (long k = 0; k < 3; k++) {
        nm_frame *f = calloc(1, sizeof(*f));
        CHECK(f != NULL);
        f->spawns = NM_SPAWNS;
        f->fail_after = k;
        f->force_request = force_request;
        f->publish_all = publish_all;
        int rc = nm_run(f);
        free(f);
        CHECKF(rc == 0, "failing growth %ld", k);
    }
    return 0;
}

int spawns_whose_deque_cannot_grow_at_publish_all_run_once_at_their_sync(void)
{
    return nm_sweep(0, 1);
}

int spawns_whose_deque_cannot_grow_at_a_requested_publish_run_once_at_their_sync(void)
{
    return nm_sweep(1, 0);
}

int an_inside_submit_whose_deque_cannot_grow_runs_and_loses_no_spawn(void)
{
    /* 256 spawns: the submit's publish-all fills the 256 slots exactly and
     * the submitted task's own push must grow. 266: 256 are public and
     * the publish-all's first push must grow. */
    const long spawns[] = {256, 266};
    for (int c = 0; c < 2; c++) {
        nm_frame *f = calloc(1, sizeof(*f));
        CHECK(f != NULL);
        f->spawns = spawns[c];
        f->submit_inside = 1;
        f->fail_after = 0;
        int rc = nm_run(f);
        long posted = atomic_load(&f->posted_ran);
        void *res = f->submitted_result;
        free(f);
        CHECKF(rc == 0, "after %ld spawns", spawns[c]);
        CHECKF(posted == 2, "the submitted and posted tasks ran %ld times in all (2 wanted)", posted);
        CHECK(res == IP(42));
    }
    return 0;
}

/* Creation with a trace file and 3 workers, failing each allocation in
 * turn until one run makes no allocation fail: every failure is NULL with
 * ENOMEM, and nothing leaks (ASan). Then each thread creation in turn:
 * NULL with EAGAIN, the started workers joined. */
int pool_create_out_of_memory_or_threads_returns_null_and_leaks_nothing(void)
{
    crew_config c;
    crew_config_default(&c);
    c.workers = 3;
    c.trace_path = "/dev/null";
    long k = 0;
    for (;; k++) {
        CHECKF(k < 10000, "creation never stopped allocating");
        crew_fault_inject_alloc(k);
        errno = 0;
        crew_pool *p = crew_pool_create(&c);
        int fired = crew_fault_alloc_fired();
        crew_fault_inject_alloc(-1);
        if (!fired) {
            CHECK(p != NULL);
            CHECK(crew_pool_destroy(p) == 0);
            break;
        }
        if (p != NULL) {
            /* The failure hit an allocation the pool can do without (a
             * worker's trace buffer, say): it must still work. */
            void *r = NULL;
            CHECK(crew_run(p, test_fib, IP(10), &r) == 0 && PI(r) == 55);
            CHECK(crew_pool_destroy(p) == 0);
            continue;
        }
        CHECKF(errno == ENOMEM, "allocation %ld: errno %d", k, errno);
    }
    CHECKF(k >= 8, "only %ld allocations swept", k);
    for (long t = 0; t < 3; t++) {
        crew_fault_inject_thread(t);
        errno = 0;
        crew_pool *p = crew_pool_create(&c);
        int fired = crew_fault_thread_fired();
        crew_fault_inject_thread(-1);
        CHECK(fired);
        CHECK(p == NULL);
        CHECKF(errno == EAGAIN, "thread %ld: errno %d", t, errno);
    }
    return 0;
}

/* Servers post from short-lived threads: round after round, a new thread
 * posts a burst of tasks and ends. The queue's segments must be reused
 * whatever the number of threads: its memory is bounded by its largest
 * backlog (here a burst: 200 tasks, 4 segments), not by the threads. */
typedef struct churn {
    crew_pool *pool;
    _Atomic long *ran;
    int failed;
} churn;

static void *churn_task(void *arg)
{
    atomic_fetch_add((_Atomic long *)arg, 1);
    return NULL;
}

static void *churn_poster(void *arg)
{
    churn *c = arg;
    for (int i = 0; i < 200; i++)
        if (crew_post(c->pool, churn_task, (void *)c->ran) != 0)
            c->failed = 1;
    return NULL;
}

int producer_threads_that_come_and_go_do_not_grow_the_queue(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    _Atomic long ran = 0;
    long rounds = crew_scaled(500, 50);
    for (long r = 0; r < rounds; r++) {
        churn c = {p, &ran, 0};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, churn_poster, &c) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        CHECK(!c.failed);
        /* The round's tasks run before the next round posts, so the
         * backlog never passes one burst, however slow the workers are. */
        for (int i = 0; i < 5000 && atomic_load(&ran) < (r + 1) * 200; i++)
            test_sleep_ms(1);
        CHECK(atomic_load(&ran) == (r + 1) * 200);
    }
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(atomic_load(&ran) == rounds * 200);
    crew_objpool_stats st;
    crew_objpool_stats_get(p->inj.segments, &st);
    /* The largest backlog is one burst (4 segments), plus the two ends'
     * segments and one a producer prepares: 16 leaves room for bursts
     * that overlap the workers' batches, and is far below one per round. */
    CHECKF(st.created <= 16, "%ld producer threads: %llu queue segments built", rounds,
           (unsigned long long)st.created);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
