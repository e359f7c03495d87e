/* Suite `serial`: waiting. A serial task's future is never run inline by
 * its waiter (that would break the queue's order); waits from inside the
 * queue itself are EDEADLK; crew_serial_wait waits for what was posted
 * before it, not for the queue to empty; cancel and timed waits. */
#include "serial_cases.h"

#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "util.h"

static _Atomic int gate;

/* Blocks its queue until the gate opens (or 2 s pass). */
static void *gate_task(void *arg)
{
    test_spin_until(&gate);
    return arg;
}

static void deadline_in_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += (ms % 1000) * 1000000;
    ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000;
    ts->tv_nsec %= 1000000000;
}

/* ---- never inline ---- */

static _Atomic int ni_first_done, ni_second_saw_first, ni_waiting;
static crew_future *ni_second;

static void *ni_first(void *arg)
{
    (void)arg;
    test_spin_until(&gate);
    atomic_store(&ni_first_done, 1);
    return NULL;
}

static void *ni_second_task(void *arg)
{
    atomic_store(&ni_second_saw_first, atomic_load(&ni_first_done));
    return arg;
}

/* A plain task on the other worker waits on the queue's second task. The
 * old crew_future_wait claimed unstarted records and ran them right there:
 * the second task would run before the first finished. */
static void *ni_waiter(void *arg)
{
    (void)arg;
    atomic_store(&ni_waiting, 1);
    void *r = NULL;
    int rc = crew_future_wait(ni_second, &r);
    return IP(rc == 0 && r == IP(5) ? 1 : 0);
}

int waiting_on_a_serial_future_never_runs_the_task_inline(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    atomic_store(&gate, 0);
    atomic_store(&ni_first_done, 0);
    atomic_store(&ni_second_saw_first, 0);
    atomic_store(&ni_waiting, 0);
    crew_serial *q = crew_serial_create(p);
    CHECK(q != NULL);
    CHECK(crew_serial_post(q, ni_first, NULL) == 0);
    CHECK((ni_second = crew_serial_submit(q, ni_second_task, IP(5))) != NULL);
    crew_future *w = crew_submit(p, ni_waiter, NULL);
    CHECK(w != NULL);
    test_spin_until(&ni_waiting);
    test_sleep_ms(50); /* the waiter is in its wait by now */
    CHECK(!crew_future_done(ni_second));
    atomic_store(&gate, 1);
    void *ok = NULL;
    CHECK(crew_future_wait(w, &ok) == 0 && ok == IP(1));
    CHECK(atomic_load(&ni_second_saw_first) == 1);
    crew_future_release(w);
    crew_future_release(ni_second);
    crew_serial_destroy(q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- EDEADLK ---- */

static crew_serial *dl_q;
static crew_future *dl_own;
static _Atomic int dl_own_ready;

typedef struct dl_result {
    int later_wait, later_timed, own_wait, serial_wait;
} dl_result;

static dl_result dl;

static void *dl_later(void *arg)
{
    return arg;
}

static void *dl_first(void *arg)
{
    (void)arg;
    crew_future *later = crew_serial_submit(dl_q, dl_later, IP(3));
    if (later == NULL)
        return NULL;
    dl.later_wait = crew_future_wait(later, NULL);
    struct timespec ts;
    deadline_in_ms(&ts, 30);
    dl.later_timed = crew_future_timedwait(later, &ts, NULL);
    test_spin_until(&dl_own_ready);
    dl.own_wait = crew_future_wait(dl_own, NULL);
    dl.serial_wait = crew_serial_wait(dl_q);
    return later;
}

int waiting_on_a_later_task_from_a_task_of_the_same_queue_gets_edeadlk(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    memset(&dl, 0, sizeof dl);
    atomic_store(&dl_own_ready, 0);
    CHECK((dl_q = crew_serial_create(p)) != NULL);
    CHECK((dl_own = crew_serial_submit(dl_q, dl_first, NULL)) != NULL);
    atomic_store(&dl_own_ready, 1);
    void *later = NULL;
    CHECK(crew_future_wait(dl_own, &later) == 0 && later != NULL);
    CHECK(dl.later_wait == EDEADLK);
    CHECK(dl.later_timed == ETIMEDOUT); /* it never runs the task inline either */
    CHECK(dl.own_wait == EDEADLK);
    CHECK(dl.serial_wait == EDEADLK);
    /* The later task runs once the first has returned. */
    void *r = NULL;
    CHECK(crew_future_wait(later, &r) == 0 && r == IP(3));
    crew_future_release(later);
    crew_future_release(dl_own);
    crew_serial_destroy(dl_q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

static _Atomic int sw_rc = -1;

static void *sw_task(void *arg)
{
    atomic_store(&sw_rc, crew_serial_wait(arg));
    return NULL;
}

int serial_wait_from_a_task_of_its_own_queue_gets_edeadlk(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_serial *q = crew_serial_create(p);
    CHECK(q != NULL);
    atomic_store(&sw_rc, -1);
    CHECK(crew_serial_post(q, sw_task, q) == 0);
    CHECK(crew_serial_wait(q) == 0);
    CHECK(atomic_load(&sw_rc) == EDEADLK);
    crew_serial_destroy(q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* A task of queue A waits for queue B (it blocks its worker meanwhile;
 * the other worker runs B). */
static _Atomic long xw_b_ran;
static _Atomic long xw_seen = -1;

static void *xw_b_task(void *arg)
{
    test_sleep_ms(1);
    atomic_fetch_add(&xw_b_ran, 1);
    return arg;
}

static void *xw_a_task(void *arg)
{
    crew_serial *b = arg;
    for (int i = 0; i < 20; i++)
        if (crew_serial_post(b, xw_b_task, NULL) != 0)
            return NULL;
    int rc = crew_serial_wait(b);
    atomic_store(&xw_seen, rc == 0 ? atomic_load(&xw_b_ran) : -rc);
    return NULL;
}

int serial_wait_from_a_task_of_another_queue_blocks_then_returns(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    crew_serial *a = crew_serial_create(p), *b = crew_serial_create(p);
    CHECK(a != NULL && b != NULL);
    atomic_store(&xw_b_ran, 0);
    atomic_store(&xw_seen, -1);
    CHECK(crew_serial_post(a, xw_a_task, b) == 0);
    CHECK(crew_serial_wait(a) == 0);
    CHECKF(atomic_load(&xw_seen) == 20, "the waiting task saw %ld of 20", atomic_load(&xw_seen));
    crew_serial_destroy(a);
    crew_serial_destroy(b);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- crew_serial_wait: what was posted before it ---- */

typedef struct bg_state {
    crew_serial *q;
    _Atomic int stop;
    _Atomic long posted;
} bg_state;

static void *noop(void *arg)
{
    return arg;
}

/* Keeps the queue busy: it never empties while the waits below run. */
static void *bg_poster(void *arg)
{
    bg_state *bg = arg;
    long cap = crew_scaled(2000000, 200000);
    while (!atomic_load(&bg->stop) && atomic_load(&bg->posted) < cap) {
        if (crew_serial_post(bg->q, noop, NULL) != 0)
            break;
        atomic_fetch_add(&bg->posted, 1);
    }
    return NULL;
}

#define WB_MARKED 100
static _Atomic int wb_done[WB_MARKED];

static void *wb_task(void *arg)
{
    atomic_store(&wb_done[PI(arg)], 1);
    return NULL;
}

int serial_wait_returns_once_every_task_posted_before_it_ran(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    static bg_state bg;
    memset(&bg, 0, sizeof bg);
    CHECK((bg.q = crew_serial_create(p)) != NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, bg_poster, &bg) == 0);
    /* The waits must meet a busy queue: let the producer get going first
     * (in an ASan run the rounds below finished before it had posted
     * one task). */
    double t0 = test_now_s();
    while (atomic_load(&bg.posted) < 1000 && test_now_s() - t0 < 5)
        test_sleep_ms(1);
    int rounds = (int)crew_scaled(20, 5), missing = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < WB_MARKED; i++)
            atomic_store(&wb_done[i], 0);
        for (long i = 0; i < WB_MARKED; i++)
            CHECK(crew_serial_post(bg.q, wb_task, IP(i)) == 0);
        CHECK(crew_serial_wait(bg.q) == 0);
        for (int i = 0; i < WB_MARKED; i++)
            missing += !atomic_load(&wb_done[i]);
    }
    long posted_at_end = atomic_load(&bg.posted);
    atomic_store(&bg.stop, 1);
    pthread_join(t, NULL);
    CHECKF(missing == 0, "%d tasks posted before a wait had not run after it", missing);
    /* The waits returned while the background producer kept the queue
     * busy: they waited for their own tasks, not for an empty queue. */
    CHECK(posted_at_end > 0);
    CHECK(crew_serial_wait(bg.q) == 0);
    crew_serial_destroy(bg.q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- cancel ---- */

static _Atomic int cancelled_ran, after_ran;

static void *cancelled_task(void *arg)
{
    atomic_store(&cancelled_ran, 1);
    return arg;
}

static void *after_task(void *arg)
{
    atomic_store(&after_ran, 1);
    return arg;
}

int cancelling_a_queued_serial_task_returns_0_and_it_never_runs(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    atomic_store(&gate, 0);
    atomic_store(&cancelled_ran, 0);
    atomic_store(&after_ran, 0);
    crew_serial *q = crew_serial_create(p);
    CHECK(q != NULL);
    crew_future *g = crew_serial_submit(q, gate_task, NULL);
    crew_future *c = crew_serial_submit(q, cancelled_task, NULL);
    crew_future *a = crew_serial_submit(q, after_task, IP(9));
    CHECK(g != NULL && c != NULL && a != NULL);
    CHECK(crew_future_cancel(c) == 0);
    CHECK(crew_future_cancel(c) == 0); /* again: still cancelled */
    CHECK(crew_future_done(c));
    CHECK(crew_future_wait(c, NULL) == ECANCELED);
    atomic_store(&gate, 1);
    CHECK(crew_serial_wait(q) == 0); /* the cancelled task counts as done */
    CHECK(atomic_load(&cancelled_ran) == 0);
    CHECK(atomic_load(&after_ran) == 1);
    void *r = NULL;
    CHECK(crew_future_wait(a, &r) == 0 && r == IP(9));
    CHECK(crew_future_cancel(a) == EBUSY); /* finished: too late */
    crew_future_release(g);
    crew_future_release(c);
    crew_future_release(a);
    crew_serial_destroy(q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- timed waits ---- */

int timed_waits_on_serial_futures_time_out_and_then_complete(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    atomic_store(&gate, 0);
    crew_serial *q = crew_serial_create(p);
    CHECK(q != NULL);
    CHECK(crew_serial_post(q, gate_task, NULL) == 0);
    crew_future *f = crew_serial_submit(q, after_task, IP(4));
    CHECK(f != NULL);
    struct timespec ts;
    deadline_in_ms(&ts, 50);
    CHECK(crew_future_timedwait(f, &ts, NULL) == ETIMEDOUT);
    deadline_in_ms(&ts, -1000);
    CHECK(crew_future_timedwait(f, &ts, NULL) == ETIMEDOUT); /* in the past: at once */
    atomic_store(&gate, 1);
    deadline_in_ms(&ts, 10000);
    void *r = NULL;
    CHECK(crew_future_timedwait(f, &ts, &r) == 0 && r == IP(4));
    crew_future_release(f);
    crew_serial_destroy(q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
