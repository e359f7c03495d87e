/* Suite `serial`: what one serial queue promises (one task at a time, in
 * each producer's order, each exactly once, each seeing the last one's
 * writes), queues in parallel with each other and with other work, empty
 * queues idle, and futures. The plain (non-atomic)
 * fields the tasks share are the point: ThreadSanitizer reports them if
 * one task's writes do not happen before the next task. */
#include "serial_cases.h"

#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- order, exactly once, mutual exclusion ---- */

#define OR_OUTSIDE 6 /* producer threads */
#define OR_INSIDE 2  /* producer tasks on the pool */
#define OR_PRODUCERS (OR_OUTSIDE + OR_INSIDE)

typedef struct or_state or_state;

typedef struct or_item {
    or_state *st;
    int producer;
    long seq;
    _Atomic int runs;
} or_item;

struct or_state {
    crew_serial *q;
    long per_producer;
    or_item *items; /* OR_PRODUCERS x per_producer */
    _Atomic int inside;
    _Atomic long overlaps;
    /* Plain: only the queue's tasks touch them, one at a time. */
    long last[OR_PRODUCERS];
    long disorder, ran;
    _Atomic long post_errors;
};

static void *or_task(void *arg)
{
    or_item *it = arg;
    or_state *st = it->st;
    if (atomic_fetch_add(&st->inside, 1) != 0)
        atomic_fetch_add(&st->overlaps, 1);
    if (st->last[it->producer] + 1 != it->seq)
        st->disorder++;
    st->last[it->producer] = it->seq;
    st->ran++;
    atomic_fetch_add_explicit(&it->runs, 1, memory_order_relaxed);
    atomic_fetch_sub(&st->inside, 1);
    return NULL;
}

typedef struct or_producer {
    or_state *st;
    int index;
} or_producer;

static void or_post_all(or_state *st, int producer)
{
    for (long i = 0; i < st->per_producer; i++) {
        or_item *it = &st->items[producer * st->per_producer + i];
        if (crew_serial_post(st->q, or_task, it) != 0)
            atomic_fetch_add(&st->post_errors, 1);
    }
}

static void *or_thread(void *arg)
{
    or_producer *p = arg;
    or_post_all(p->st, p->index);
    return NULL;
}

static void *or_inside_task(void *arg)
{
    or_producer *p = arg;
    or_post_all(p->st, p->index);
    return NULL;
}

int tasks_of_one_queue_run_once_each_in_each_producers_order(void)
{
    crew_pool *p = test_pool(4, 0, false);
    CHECK(p != NULL);
    static or_state st;
    memset(&st, 0, sizeof st);
    st.q = crew_serial_create(p);
    CHECK(st.q != NULL);
    st.per_producer = crew_scaled(20000, 2000);
    st.items = calloc((size_t)(OR_PRODUCERS * st.per_producer), sizeof(or_item));
    CHECK(st.items != NULL);
    for (int k = 0; k < OR_PRODUCERS; k++) {
        st.last[k] = -1;
        for (long i = 0; i < st.per_producer; i++) {
            or_item *it = &st.items[k * st.per_producer + i];
            it->st = &st;
            it->producer = k;
            it->seq = i;
        }
    }
    or_producer prod[OR_PRODUCERS];
    pthread_t t[OR_OUTSIDE];
    crew_future *inside[OR_INSIDE];
    for (int k = 0; k < OR_PRODUCERS; k++)
        prod[k] = (or_producer){&st, k};
    for (int k = 0; k < OR_INSIDE; k++)
        CHECK((inside[k] = crew_submit(p, or_inside_task, &prod[OR_OUTSIDE + k])) != NULL);
    for (int k = 0; k < OR_OUTSIDE; k++)
        CHECK(pthread_create(&t[k], NULL, or_thread, &prod[k]) == 0);
    for (int k = 0; k < OR_OUTSIDE; k++)
        pthread_join(t[k], NULL);
    for (int k = 0; k < OR_INSIDE; k++) {
        CHECK(crew_future_wait(inside[k], NULL) == 0);
        crew_future_release(inside[k]);
    }
    CHECK(crew_serial_wait(st.q) == 0);
    long total = OR_PRODUCERS * st.per_producer, bad = 0;
    for (long i = 0; i < total; i++)
        bad += atomic_load(&st.items[i].runs) != 1;
    CHECK(atomic_load(&st.post_errors) == 0);
    CHECKF(st.ran == total, "ran %ld of %ld", st.ran, total);
    CHECKF(bad == 0, "%ld tasks did not run exactly once", bad);
    CHECKF(st.disorder == 0, "%ld tasks ran out of their producer's order", st.disorder);
    CHECKF(atomic_load(&st.overlaps) == 0, "%ld tasks overlapped another",
           atomic_load(&st.overlaps));
    for (int k = 0; k < OR_PRODUCERS; k++)
        CHECK(st.last[k] == st.per_producer - 1);
    crew_serial_destroy(st.q);
    CHECK(crew_pool_destroy(p) == 0);
    free(st.items);
    return 0;
}

/* Four queues, eight producer threads each posting to all four in turn;
 * the tasks are long enough (a little spinning) that two running at once
 * would be seen. */
#define MX_QUEUES 4
#define MX_PRODUCERS 8

typedef struct mx_queue {
    crew_serial *q;
    _Atomic int inside;
    _Atomic long overlaps;
    long count; /* plain: the queue's tasks only */
} mx_queue;

static mx_queue mx[MX_QUEUES];
static long mx_per_producer;

static void *mx_task(void *arg)
{
    mx_queue *m = arg;
    if (atomic_fetch_add(&m->inside, 1) != 0)
        atomic_fetch_add(&m->overlaps, 1);
    long c = m->count;
    for (volatile int i = 0; i < 50; i++)
        ;
    m->count = c + 1;
    atomic_fetch_sub(&m->inside, 1);
    return NULL;
}

static void *mx_producer(void *arg)
{
    long k = PI(arg);
    for (long i = 0; i < mx_per_producer; i++)
        if (crew_serial_post(mx[(k + i) % MX_QUEUES].q, mx_task, &mx[(k + i) % MX_QUEUES]) != 0)
            return IP(1);
    return NULL;
}

int no_two_tasks_of_one_queue_run_at_once_across_four_queues(void)
{
    crew_pool *p = test_pool(4, 0, false);
    CHECK(p != NULL);
    mx_per_producer = crew_scaled(20000, 2000);
    for (int i = 0; i < MX_QUEUES; i++) {
        memset(&mx[i], 0, sizeof mx[i]);
        CHECK((mx[i].q = crew_serial_create(p)) != NULL);
    }
    pthread_t t[MX_PRODUCERS];
    for (long k = 0; k < MX_PRODUCERS; k++)
        CHECK(pthread_create(&t[k], NULL, mx_producer, IP(k)) == 0);
    int failed = 0;
    for (int k = 0; k < MX_PRODUCERS; k++) {
        void *r;
        pthread_join(t[k], &r);
        failed += r != NULL;
    }
    CHECK(failed == 0);
    long expect = MX_PRODUCERS * mx_per_producer / MX_QUEUES;
    for (int i = 0; i < MX_QUEUES; i++) {
        CHECK(crew_serial_wait(mx[i].q) == 0);
        CHECKF(atomic_load(&mx[i].overlaps) == 0, "queue %d: %ld tasks overlapped another", i,
               atomic_load(&mx[i].overlaps));
        CHECKF(mx[i].count == expect, "queue %d: count %ld, expected %ld", i, mx[i].count,
               expect);
        crew_serial_destroy(mx[i].q);
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* Producers that post a task or two at a time, with short gaps, keep the
 * queue going idle and busy again: every post lands just before, during
 * or after a drain's leaving. None may be lost (the leaving is a CAS that
 * fails when a post came in; the negative control serial_leave_cas makes
 * it a blind store). */
#define ID_PRODUCERS 4
#define ID_QUEUES 2

static struct {
    crew_serial *q[ID_QUEUES];
    long count[ID_QUEUES]; /* plain: each queue's tasks only */
    long per_producer;
} idl;

static void *idl_task(void *arg)
{
    idl.count[PI(arg)]++;
    return NULL;
}

static void *idl_producer(void *arg)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(PI(arg) + 1);
    for (long i = 0; i < idl.per_producer; i++) {
        long q = (long)(i % ID_QUEUES);
        if (crew_serial_post(idl.q[q], idl_task, IP(q)) != 0)
            return IP(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for (volatile unsigned spin = (unsigned)(x % 64); spin > 0; spin--)
            ;
    }
    return NULL;
}

static int idl_round(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    memset(&idl, 0, sizeof idl);
    for (int i = 0; i < ID_QUEUES; i++)
        CHECK((idl.q[i] = crew_serial_create(p)) != NULL);
    idl.per_producer = crew_scaled(100000, 10000);
    pthread_t t[ID_PRODUCERS];
    for (long k = 0; k < ID_PRODUCERS; k++)
        CHECK(pthread_create(&t[k], NULL, idl_producer, IP(k)) == 0);
    int failed = 0;
    for (int k = 0; k < ID_PRODUCERS; k++) {
        void *r;
        pthread_join(t[k], &r);
        failed += r != NULL;
    }
    CHECK(failed == 0);
    long expect = ID_PRODUCERS * idl.per_producer / ID_QUEUES;
    for (int i = 0; i < ID_QUEUES; i++) {
        CHECK(crew_serial_wait(idl.q[i]) == 0);
        CHECKF(idl.count[i] == expect, "queue %d: %ld of %ld tasks ran", i, idl.count[i],
               expect);
    }
    for (int i = 0; i < ID_QUEUES; i++)
        crew_serial_destroy(idl.q[i]);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int posts_racing_a_queue_going_idle_are_never_lost(void)
{
    for (int round = 0; round < 4; round++)
        CHECK(idl_round() == 0);
    return 0;
}

/* A chain of plain writes: every task checks that all 64 words hold the
 * number of tasks before it, then raises them all. */
#define VIS_WORDS 64

static struct {
    long words[VIS_WORDS];
    long wrong;
} vis;

static void *vis_task(void *arg)
{
    (void)arg;
    long n = vis.words[0];
    for (int i = 0; i < VIS_WORDS; i++) {
        if (vis.words[i] != n)
            vis.wrong++;
        vis.words[i] = n + 1;
    }
    return NULL;
}

typedef struct vis_producer {
    crew_serial *q;
    long n;
} vis_producer;

static void *vis_thread(void *arg)
{
    vis_producer *v = arg;
    for (long i = 0; i < v->n; i++)
        if (crew_serial_post(v->q, vis_task, NULL) != 0)
            return IP(1);
    return NULL;
}

int each_task_sees_what_the_previous_task_of_its_queue_wrote(void)
{
    crew_pool *p = test_pool(4, 0, false);
    CHECK(p != NULL);
    memset(&vis, 0, sizeof vis);
    crew_serial *q = crew_serial_create(p);
    CHECK(q != NULL);
    vis_producer v = {q, crew_scaled(30000, 3000)};
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        CHECK(pthread_create(&t[k], NULL, vis_thread, &v) == 0);
    for (int k = 0; k < 2; k++) {
        void *r;
        pthread_join(t[k], &r);
        CHECK(r == NULL);
    }
    /* Past idle spells too: the queue empties, a new drain starts. */
    for (int round = 0; round < 50; round++) {
        CHECK(crew_serial_post(q, vis_task, NULL) == 0);
        test_sleep_ms(1);
    }
    CHECK(crew_serial_wait(q) == 0);
    CHECK(vis.wrong == 0);
    for (int i = 0; i < VIS_WORDS; i++)
        CHECK(vis.words[i] == 2 * v.n + 50);
    crew_serial_destroy(q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- parallelism ---- */

static _Atomic int par_a_started, par_b_ran, par_a_saw_b;

static void *par_a(void *arg)
{
    (void)arg;
    atomic_store(&par_a_started, 1);
    test_spin_until(&par_b_ran);
    atomic_store(&par_a_saw_b, atomic_load(&par_b_ran));
    return NULL;
}

static void *par_b(void *arg)
{
    (void)arg;
    test_spin_until(&par_a_started);
    atomic_store(&par_b_ran, 1);
    return NULL;
}

int different_queues_run_in_parallel_with_each_other(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    atomic_store(&par_a_started, 0);
    atomic_store(&par_b_ran, 0);
    atomic_store(&par_a_saw_b, 0);
    crew_serial *a = crew_serial_create(p), *b = crew_serial_create(p);
    CHECK(a != NULL && b != NULL);
    CHECK(crew_serial_post(a, par_a, NULL) == 0);
    CHECK(crew_serial_post(b, par_b, NULL) == 0);
    CHECK(crew_serial_wait(a) == 0 && crew_serial_wait(b) == 0);
    CHECK(atomic_load(&par_a_saw_b) == 1);
    crew_serial_destroy(a);
    crew_serial_destroy(b);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int a_queue_runs_in_parallel_with_the_pools_other_work(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    atomic_store(&par_a_started, 0);
    atomic_store(&par_b_ran, 0);
    atomic_store(&par_a_saw_b, 0);
    crew_serial *a = crew_serial_create(p);
    CHECK(a != NULL);
    CHECK(crew_serial_post(a, par_a, NULL) == 0);
    crew_future *f = crew_submit(p, par_b, NULL);
    CHECK(f != NULL);
    CHECK(crew_serial_wait(a) == 0);
    CHECK(crew_future_wait(f, NULL) == 0);
    crew_future_release(f);
    CHECK(atomic_load(&par_a_saw_b) == 1);
    crew_serial_destroy(a);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- a task posting into its own queue ---- */

static crew_serial *own_q;
static long own_first_done; /* plain: written by the first task, read by the second */
static _Atomic int own_second_saw;

static void *own_second(void *arg)
{
    atomic_store(&own_second_saw, (int)own_first_done);
    return arg;
}

static void *own_first(void *arg)
{
    (void)arg;
    if (crew_serial_post(own_q, own_second, NULL) != 0)
        return IP(-1);
    crew_future *f = crew_serial_submit(own_q, own_second, IP(7));
    /* Give the queue every chance to run its next task too early. */
    test_sleep_ms(20);
    own_first_done = 1;
    return f;
}

int a_task_posted_from_its_own_queue_runs_after_the_current_one_returns(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    own_q = crew_serial_create(p);
    CHECK(own_q != NULL);
    own_first_done = 0;
    atomic_store(&own_second_saw, 0);
    crew_future *f = crew_serial_submit(own_q, own_first, NULL);
    CHECK(f != NULL);
    void *inner;
    CHECK(crew_future_wait(f, &inner) == 0);
    CHECK(inner != NULL && inner != IP(-1));
    void *r;
    CHECK(crew_future_wait(inner, &r) == 0 && r == IP(7));
    crew_future_release(inner);
    crew_future_release(f);
    CHECK(crew_serial_wait(own_q) == 0);
    CHECK(atomic_load(&own_second_saw) == 1);
    crew_serial_destroy(own_q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- empty queues ---- */

static _Atomic long idle_ran;

static void *idle_task(void *arg)
{
    atomic_fetch_add(&idle_ran, 1);
    return arg;
}

int empty_queues_cost_the_workers_nothing(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    enum { QUEUES = 64 };
    crew_serial *q[QUEUES];
    atomic_store(&idle_ran, 0);
    for (int i = 0; i < QUEUES; i++) {
        CHECK((q[i] = crew_serial_create(p)) != NULL);
        for (int k = 0; k < 10; k++)
            CHECK(crew_serial_post(q[i], idle_task, NULL) == 0);
    }
    for (int i = 0; i < QUEUES; i++)
        CHECK(crew_serial_wait(q[i]) == 0);
    CHECK(atomic_load(&idle_ran) == QUEUES * 10);
    test_sleep_ms(100); /* spin_us is 100 us: asleep long before this */
    crew_stats s0, s1;
    crew_pool_stats(p, &s0);
    long before = test_other_threads_cpu_ticks();
    test_sleep_ms(500);
    long after = test_other_threads_cpu_ticks();
    crew_pool_stats(p, &s1);
    CHECK(before >= 0);
    /* Ticks are 10 ms: 64 empty queues must not cost even one. */
    CHECKF(after - before <= 1, "workers used %ld ticks in 0.5 s beside 64 empty queues",
           after - before);
    CHECK(s1.tasks_run == s0.tasks_run);
    for (int i = 0; i < QUEUES; i++)
        crew_serial_destroy(q[i]);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- futures ---- */

static void *twice(void *arg)
{
    return IP(PI(arg) * 2);
}

typedef struct fut_inside {
    crew_serial *other;
    long n;
} fut_inside;

/* On a worker: submit to a queue and wait for each result (that blocks
 * this worker; the other one runs the queue). */
static void *fut_inside_task(void *arg)
{
    fut_inside *fi = arg;
    long bad = 0;
    for (long i = 0; i < fi->n; i++) {
        crew_future *f = crew_serial_submit(fi->other, twice, IP(i));
        void *r = NULL;
        if (f == NULL || crew_future_wait(f, &r) != 0 || r != IP(2 * i))
            bad++;
        crew_future_release(f);
    }
    return IP(bad);
}

int serial_futures_hold_their_tasks_results(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    crew_serial *q = crew_serial_create(p), *other = crew_serial_create(p);
    CHECK(q != NULL && other != NULL);
    long n = crew_scaled(20000, 2000);
    crew_future **f = calloc((size_t)n, sizeof *f);
    CHECK(f != NULL);
    for (long i = 0; i < n; i++)
        CHECK((f[i] = crew_serial_submit(q, twice, IP(i))) != NULL);
    long bad = 0;
    for (long i = n - 1; i >= 0; i--) {
        void *r = NULL;
        bad += crew_future_wait(f[i], &r) != 0 || r != IP(2 * i);
        crew_future_release(f[i]);
    }
    CHECK(bad == 0);
    fut_inside fi = {other, crew_scaled(2000, 200)};
    crew_future *g = crew_serial_submit(q, fut_inside_task, &fi);
    CHECK(g != NULL);
    void *r = IP(-1);
    CHECK(crew_future_wait(g, &r) == 0);
    CHECKF(r == NULL, "%ld inside submits had a wrong result", PI(r));
    crew_future_release(g);
    crew_serial_destroy(q);
    crew_serial_destroy(other);
    CHECK(crew_pool_destroy(p) == 0);
    free(f);
    return 0;
}
