/* Suite `futures`, waiting for several: crew_future_wait_any gives the
 * lowest index of a done future, crew_future_wait_all returns once every
 * one is done, a cancelled future counts as done, a deadline gives
 * ETIMEDOUT unless a future is done, neither runs a task inline, neither
 * fails without memory (wait_any falls back, wait_all allocates nothing),
 * notes left on pending futures are freed when those complete (the ASan
 * build's leak check), and every error value. */
#include "futures_cases.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/fault.h"
#include "futures_util.h"

static void *identity(void *arg)
{
    return arg;
}

#define NG 6

typedef struct gated_set {
    gated g[NG];
    crew_future *f[NG];
} gated_set;

static int gated_set_start(crew_pool *p, gated_set *s)
{
    for (int i = 0; i < NG; i++) {
        s->g[i] = (gated){0, i};
        s->f[i] = crew_submit(p, gated_task, &s->g[i]);
        if (s->f[i] == NULL)
            return -1;
    }
    return 0;
}

static void gated_set_finish(gated_set *s)
{
    for (int i = 0; i < NG; i++)
        gate_open(&s->g[i]);
    for (int i = 0; i < NG; i++) {
        crew_future_wait(s->f[i], NULL);
        crew_future_release(s->f[i]);
    }
}

/* Waits until f is done (sleeping; at most 5 s). */
static int settle(crew_future *f)
{
    for (int i = 0; i < 5000 && !crew_future_done(f); i++)
        test_sleep_ms(1);
    return crew_future_done(f);
}

int wait_any_gives_the_lowest_index_of_a_done_future(void)
{
    crew_pool *p = test_pool(NG, 0, false);
    CHECK(p != NULL);
    gated_set s;
    CHECK(gated_set_start(p, &s) == 0);
    gate_open(&s.g[4]);
    CHECK(settle(s.f[4]));
    size_t index = 99;
    CHECK(crew_future_wait_any(s.f, NG, NULL, &index) == 0 && index == 4);
    gate_open(&s.g[2]);
    CHECK(settle(s.f[2]));
    CHECK(crew_future_wait_any(s.f, NG, NULL, &index) == 0 && index == 2);
    /* A cancelled future counts as done. */
    crew_pool *one = test_pool(1, 0, false);
    CHECK(one != NULL);
    gated hold = {0, 0};
    crew_future *blocker = crew_submit(one, gated_task, &hold);
    crew_future *queued = crew_submit(one, identity, NULL);
    CHECK(blocker != NULL && queued != NULL);
    crew_future *mix[3] = {blocker, s.f[0], queued};
    CHECK(crew_future_cancel(queued) == 0);
    CHECK(crew_future_wait_any(mix, 3, NULL, &index) == 0 && index == 2);
    gate_open(&hold);
    crew_future_release(blocker);
    crew_future_release(queued);
    CHECK(crew_pool_destroy(one) == 0);
    gated_set_finish(&s);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

typedef struct opener {
    gated *g;
    long ms;
} opener;

static void *open_later(void *arg)
{
    opener *o = arg;
    test_sleep_ms(o->ms);
    gate_open(o->g);
    return NULL;
}

int wait_any_sleeps_until_one_is_done_or_the_deadline(void)
{
    crew_pool *p = test_pool(NG, 0, false);
    CHECK(p != NULL);
    gated_set s;
    CHECK(gated_set_start(p, &s) == 0);
    size_t index = 99;
    /* None done: the deadline passes. */
    struct timespec soon = deadline_in_ms(30);
    CHECK(crew_future_wait_any(s.f, NG, &soon, &index) == ETIMEDOUT);
    struct timespec past = deadline_in_ms(-1000);
    CHECK(crew_future_wait_any(s.f, NG, &past, &index) == ETIMEDOUT);
    /* One done later: it wakes the waiter (no deadline). */
    opener o = {&s.g[3], 20};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, open_later, &o) == 0);
    CHECK(crew_future_wait_any(s.f, NG, NULL, &index) == 0 && index == 3);
    pthread_join(t, NULL);
    /* A done future wins over a deadline that has passed. */
    CHECK(crew_future_wait_any(s.f, NG, &past, &index) == 0 && index == 3);
    /* With a deadline far off, woken by the completion. */
    opener o2 = {&s.g[1], 20};
    CHECK(pthread_create(&t, NULL, open_later, &o2) == 0);
    struct timespec later = deadline_in_ms(10000);
    crew_future *first_three[3] = {s.f[0], s.f[1], s.f[2]};
    CHECK(crew_future_wait_any(first_three, 3, &later, &index) == 0 && index == 1);
    pthread_join(t, NULL);
    gated_set_finish(&s);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int wait_all_returns_once_every_future_is_done(void)
{
    crew_pool *p = test_pool(NG, 0, false);
    CHECK(p != NULL);
    CHECK(crew_future_wait_all(NULL, 0, NULL) == 0);
    gated_set s;
    CHECK(gated_set_start(p, &s) == 0);
    struct timespec soon = deadline_in_ms(20);
    struct timespec past = deadline_in_ms(-1000);
    CHECK(crew_future_wait_all(s.f, NG, &soon) == ETIMEDOUT);
    for (int i = 0; i < NG - 1; i++)
        gate_open(&s.g[i]);
    /* One left: still ETIMEDOUT, now or at a deadline. */
    soon = deadline_in_ms(20);
    CHECK(crew_future_wait_all(s.f, NG, &soon) == ETIMEDOUT);
    CHECK(crew_future_wait_all(s.f, NG, &past) == ETIMEDOUT);
    opener o = {&s.g[NG - 1], 20};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, open_later, &o) == 0);
    CHECK(crew_future_wait_all(s.f, NG, NULL) == 0);
    pthread_join(t, NULL);
    for (int i = 0; i < NG; i++)
        CHECK(crew_future_done(s.f[i]));
    /* All done wins over a passed deadline. */
    CHECK(crew_future_wait_all(s.f, NG, &past) == 0);
    /* Cancelled ones count as done. */
    crew_pool *one = test_pool(1, 0, false);
    CHECK(one != NULL);
    gated hold = {0, 0};
    crew_future *blocker = crew_submit(one, gated_task, &hold);
    crew_future *queued = crew_submit(one, identity, NULL);
    CHECK(blocker != NULL && queued != NULL);
    CHECK(crew_future_cancel(queued) == 0);
    crew_future *mix[3] = {s.f[0], queued, s.f[1]};
    CHECK(crew_future_wait_all(mix, 3, &past) == 0);
    gate_open(&hold);
    crew_future_release(blocker);
    crew_future_release(queued);
    CHECK(crew_pool_destroy(one) == 0);
    gated_set_finish(&s);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int wait_any_and_wait_all_errors_are_einval(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_future *f = crew_submit(p, identity, NULL);
    CHECK(f != NULL && crew_future_wait(f, NULL) == 0);
    crew_future *one[1] = {f};
    crew_future *with_null[2] = {f, NULL};
    size_t index;
    struct timespec neg = {0, -1}, big = {0, 1000000000};
    CHECK(crew_future_wait_any(NULL, 1, NULL, &index) == EINVAL);
    CHECK(crew_future_wait_any(one, 0, NULL, &index) == EINVAL);
    CHECK(crew_future_wait_any(one, 1, NULL, NULL) == EINVAL);
    CHECK(crew_future_wait_any(with_null, 2, NULL, &index) == EINVAL);
    CHECK(crew_future_wait_any(one, 1, &neg, &index) == EINVAL);
    CHECK(crew_future_wait_any(one, 1, &big, &index) == EINVAL);
    CHECK(crew_future_wait_all(NULL, 1, NULL) == EINVAL);
    CHECK(crew_future_wait_all(with_null, 2, NULL) == EINVAL);
    CHECK(crew_future_wait_all(one, 1, &neg) == EINVAL);
    CHECK(crew_future_wait_all(one, 1, &big) == EINVAL);
    CHECK(crew_future_wait_all(one, 0, &big) == EINVAL);
    /* The valid forms. */
    CHECK(crew_future_wait_any(one, 1, NULL, &index) == 0 && index == 0);
    CHECK(crew_future_wait_all(one, 1, NULL) == 0);
    CHECK(crew_future_wait_all(one, 0, NULL) == 0);
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- never inline ---- */

typedef struct inline_probe {
    crew_pool *pool;
    _Atomic int ran;
    int any_rc, all_rc;
    int ran_during_wait;
} inline_probe;

static void *mark_ran(void *arg)
{
    atomic_store(&((inline_probe *)arg)->ran, 1);
    return NULL;
}

static void *wait_on_own_submission(void *arg)
{
    inline_probe *pr = arg;
    /* On the pool's only worker: the future goes on this worker's deque,
     * where crew_future_wait would run it inline. */
    crew_future *f = crew_submit(pr->pool, mark_ran, pr);
    if (f == NULL)
        return NULL;
    struct timespec soon = deadline_in_ms(30);
    size_t index;
    pr->any_rc = crew_future_wait_any(&f, 1, &soon, &index);
    soon = deadline_in_ms(30);
    pr->all_rc = crew_future_wait_all(&f, 1, &soon);
    pr->ran_during_wait = atomic_load(&pr->ran);
    crew_future_release(f);
    return NULL;
}

int wait_any_and_wait_all_never_run_a_task_inline(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    inline_probe pr = {.pool = p};
    CHECK(crew_run(p, wait_on_own_submission, &pr, NULL) == 0);
    CHECK(pr.any_rc == ETIMEDOUT && pr.all_rc == ETIMEDOUT);
    CHECK(!pr.ran_during_wait);
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(atomic_load(&pr.ran)); /* it ran after the waiting task returned */
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- without memory ---- */

int wait_any_and_wait_all_without_memory_still_wait_and_never_fail(void)
{
    crew_pool *p = test_pool(NG, 0, false);
    CHECK(p != NULL);
    gated_set s;
    CHECK(gated_set_start(p, &s) == 0);
    size_t index = 99;
    /* Every allocation fails for the time of the waits below: the waiter
     * has no block and sleeps on the futures themselves. */
    for (int round = 0; round < 2; round++) {
        crew_fault_inject_alloc(0);
        struct timespec soon = deadline_in_ms(20);
        int rc = crew_future_wait_any(s.f, NG, &soon, &index);
        int fired = crew_fault_alloc_fired();
        crew_fault_inject_alloc(-1);
        CHECK(fired && rc == ETIMEDOUT);
        /* wait_all allocates nothing at all. */
        crew_fault_inject_alloc(0);
        soon = deadline_in_ms(20);
        rc = crew_future_wait_all(s.f, NG, &soon);
        fired = crew_fault_alloc_fired();
        crew_fault_inject_alloc(-1);
        CHECK(!fired && rc == ETIMEDOUT);
    }
    opener o = {&s.g[5], 20};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, open_later, &o) == 0);
    crew_fault_inject_alloc(0);
    int rc = crew_future_wait_any(s.f, NG, NULL, &index);
    crew_fault_inject_alloc(-1);
    pthread_join(t, NULL);
    CHECK(rc == 0 && index == 5);
    for (int i = 0; i < NG; i++)
        gate_open(&s.g[i]);
    crew_fault_inject_alloc(0);
    rc = crew_future_wait_all(s.f, NG, NULL);
    crew_fault_inject_alloc(-1);
    CHECK(rc == 0);
    for (int i = 0; i < NG; i++)
        CHECK(crew_future_done(s.f[i]));
    gated_set_finish(&s);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- many futures, several waiters ---- */

#define MANY 2000

static crew_future *many[MANY];

static void *spin_a_little(void *arg)
{
    for (volatile int i = 0; i < 200; i++)
        ;
    return arg;
}

typedef struct waiter_job {
    long begin, end;
    int rc;
} waiter_job;

static void *wait_all_part(void *arg)
{
    waiter_job *j = arg;
    j->rc = crew_future_wait_all(many + j->begin, (size_t)(j->end - j->begin), NULL);
    for (long i = j->begin; i < j->end && j->rc == 0; i++)
        if (!crew_future_done(many[i]))
            j->rc = -1;
    return NULL;
}

int waiters_of_overlapping_sets_each_return_once_their_futures_are_done(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    long rounds = crew_scaled(20, 3);
    for (long round = 0; round < rounds; round++) {
        for (long i = 0; i < MANY; i++) {
            many[i] = crew_submit(p, spin_a_little, IP(i));
            CHECK(many[i] != NULL);
        }
        waiter_job jobs[3] = {{0, MANY, 0}, {MANY / 4, MANY / 2, 0}, {MANY / 2, MANY, 0}};
        pthread_t t[3];
        for (int k = 0; k < 3; k++)
            CHECK(pthread_create(&t[k], NULL, wait_all_part, &jobs[k]) == 0);
        /* wait_any over the tail while they run: the notes it leaves on
         * futures still pending fire later and are freed then. */
        size_t index;
        CHECK(crew_future_wait_any(many + MANY / 2, MANY / 2, NULL, &index) == 0);
        CHECK(crew_future_done(many[MANY / 2 + index]));
        for (int k = 0; k < 3; k++) {
            pthread_join(t[k], NULL);
            CHECK(jobs[k].rc == 0);
        }
        for (long i = 0; i < MANY; i++) {
            void *r;
            CHECK(crew_future_wait(many[i], &r) == 0 && r == IP(i));
            crew_future_release(many[i]);
        }
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* Python's wait(FIRST_COMPLETED) loop: wait_any, drop the done one, wait
 * again. Every future is found once; the notes each call leaves behind
 * are freed as their futures complete (leak check). */
int a_wait_any_loop_finds_every_future_once(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    enum { N = 300 };
    static crew_future *fs[N];
    static int found[N];
    memset(found, 0, sizeof found);
    for (long i = 0; i < N; i++) {
        fs[i] = crew_submit(p, spin_a_little, IP(i));
        CHECK(fs[i] != NULL);
    }
    size_t left = N;
    while (left > 0) {
        size_t index;
        CHECK(crew_future_wait_any(fs, left, NULL, &index) == 0);
        CHECK(index < left && crew_future_done(fs[index]));
        void *r;
        CHECK(crew_future_wait(fs[index], &r) == 0);
        found[PI(r)]++;
        crew_future_release(fs[index]);
        fs[index] = fs[--left];
    }
    for (long i = 0; i < N; i++)
        CHECK(found[i] == 1);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
