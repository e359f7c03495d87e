/* Suite `api`: the contract of docs/api.md at its edges: every error value,
 * config versions, hooks. */
#include "api_cases.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void *identity(void *arg)
{
    return arg;
}

int null_pool_or_function_gives_einval(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    errno = 0;
    CHECK(crew_submit(NULL, identity, NULL) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(crew_submit(p, NULL, NULL) == NULL && errno == EINVAL);
    CHECK(crew_post(NULL, identity, NULL) == EINVAL);
    CHECK(crew_post(p, NULL, NULL) == EINVAL);
    CHECK(crew_run(NULL, identity, NULL, NULL) == EINVAL);
    CHECK(crew_run(p, NULL, NULL, NULL) == EINVAL);
    errno = 0;
    CHECK(crew_group_create(NULL) == NULL && errno == EINVAL);
    CHECK(crew_group_post(NULL, identity, NULL) == EINVAL);
    crew_group *g = crew_group_create(p);
    CHECK(g != NULL);
    CHECK(crew_group_post(g, NULL, NULL) == EINVAL);
    crew_group_destroy(g);
    CHECK(crew_group_wait(NULL) == EINVAL);
    CHECK(crew_future_wait(NULL, NULL) == EINVAL);
    CHECK(crew_future_cancel(NULL) == EINVAL);
    struct timespec ts = {0, 0};
    CHECK(crew_future_timedwait(NULL, &ts, NULL) == EINVAL);
    CHECK(crew_pool_shutdown(NULL, false) == EINVAL);
    CHECK(crew_pool_destroy(NULL) == EINVAL);
    CHECK(crew_pool_workers(NULL) == 0);
    crew_stats s;
    crew_pool_stats(NULL, &s);
    CHECK(s.tasks_run == 0);
    crew_config c;
    crew_config_default(&c);
    c.workers = 100000;
    errno = 0;
    CHECK(crew_pool_create(&c) == NULL && errno == EINVAL);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int submit_post_and_run_after_shutdown_give_eshutdown(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(crew_post(p, identity, NULL) == ESHUTDOWN);
    errno = 0;
    CHECK(crew_submit(p, identity, NULL) == NULL && errno == ESHUTDOWN);
    CHECK(crew_run(p, identity, NULL, NULL) == ESHUTDOWN);
    crew_group *g = crew_group_create(p);
    CHECK(g != NULL);
    CHECK(crew_group_post(g, identity, NULL) == ESHUTDOWN);
    CHECK(crew_group_wait(g) == 0);
    crew_group_destroy(g);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

static void *try_to_stop_own_pool(void *arg)
{
    crew_pool *p = arg;
    int a = crew_pool_shutdown(p, false);
    int b = crew_pool_destroy(p);
    return IP(a == EDEADLK && b == EDEADLK);
}

int shutdown_and_destroy_from_a_worker_give_edeadlk(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    void *r = NULL;
    CHECK(crew_run(p, try_to_stop_own_pool, p, &r) == 0);
    CHECK(PI(r) == 1);
    /* Nothing changed: the pool still takes work. */
    CHECK(crew_run(p, identity, IP(5), &r) == 0 && PI(r) == 5);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

static void *my_index(void *arg)
{
    (void)arg;
    return IP(crew_worker_index());
}

int worker_index_is_set_inside_and_minus_one_outside(void)
{
    CHECK(crew_worker_index() == -1);
    crew_pool *p = test_pool(3, 0, false);
    CHECK(p != NULL);
    for (int i = 0; i < 50; i++) {
        crew_future *f = crew_submit(p, my_index, NULL);
        void *r;
        CHECK(f != NULL && crew_future_wait(f, &r) == 0);
        CHECK(PI(r) >= 0 && PI(r) < 3);
        crew_future_release(f);
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int zero_sized_config_reads_as_defaults(void)
{
    crew_config c;
    memset(&c, 0, sizeof c); /* never passed through crew_config_default */
    c.workers = 2;
    crew_pool *p = crew_pool_create(&c);
    CHECK(p != NULL);
    CHECK(crew_pool_workers(p) == 2);
    void *r;
    CHECK(crew_run(p, identity, IP(3), &r) == 0 && PI(r) == 3);
    CHECK(crew_pool_destroy(p) == 0);
    /* An older, smaller config: fields past its size take defaults. */
    crew_config small;
    crew_config_default(&small);
    small.size = offsetof(crew_config, queue_limit);
    small.workers = 1;
    small.queue_limit = 1; /* past the size: must be ignored */
    p = crew_pool_create(&small);
    CHECK(p != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(crew_post(p, identity, NULL) == 0); /* unbounded */
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int pool_reports_its_worker_count_and_zero_means_the_cpus(void)
{
    crew_pool *p = crew_pool_create(NULL);
    CHECK(p != NULL);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(crew_pool_workers(p) >= 1 && (long)crew_pool_workers(p) <= cpus);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

static _Atomic int hold;

static void *held(void *arg)
{
    while (atomic_load(&hold))
        test_sleep_ms(1);
    return arg;
}

int future_cancel_after_start_is_ebusy_and_twice_is_zero(void)
{
    atomic_store(&hold, 1);
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_future *running = crew_submit(p, held, IP(1));
    crew_future *queued = crew_submit(p, identity, IP(2));
    CHECK(running != NULL && queued != NULL);
    while (!crew_future_done(running) && crew_pool_workers(p) == 1) {
        /* wait until the worker has started it */
        crew_stats s;
        crew_pool_stats(p, &s);
        if (s.injected >= 1)
            break;
        test_sleep_ms(1);
    }
    test_sleep_ms(5);
    CHECK(crew_future_cancel(running) == EBUSY);
    CHECK(crew_future_cancel(queued) == 0);
    CHECK(crew_future_cancel(queued) == 0);
    atomic_store(&hold, 0);
    void *r;
    CHECK(crew_future_wait(running, &r) == 0 && PI(r) == 1);
    CHECK(crew_future_cancel(running) == EBUSY); /* finished */
    CHECK(crew_future_wait(queued, &r) == ECANCELED);
    crew_future_release(running);
    crew_future_release(queued);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int timedwait_times_out_and_then_gets_the_result(void)
{
    atomic_store(&hold, 1);
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_future *f = crew_submit(p, held, IP(9));
    CHECK(f != NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    void *r = NULL;
    double t0 = test_now_s();
    CHECK(crew_future_timedwait(f, &ts, &r) == ETIMEDOUT);
    CHECK(test_now_s() - t0 >= 0.015);
    struct timespec bad = {0, 1000000000};
    CHECK(crew_future_timedwait(f, &bad, &r) == EINVAL);
    CHECK(crew_future_timedwait(f, NULL, &r) == EINVAL);
    atomic_store(&hold, 0);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    CHECK(crew_future_timedwait(f, &ts, &r) == 0 && PI(r) == 9);
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int future_done_and_release_null(void)
{
    crew_future_release(NULL); /* does nothing */
    CHECK(!crew_future_done(NULL));
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_future *f = crew_submit(p, identity, IP(4));
    CHECK(f != NULL);
    CHECK(crew_future_wait(f, NULL) == 0); /* result may be NULL */
    CHECK(crew_future_done(f));
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int shutdown_is_idempotent(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(crew_pool_shutdown(p, true) == 0);
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

static _Atomic unsigned started_mask, stopped_mask;

static void on_start(unsigned i, void *ctx)
{
    (void)ctx;
    atomic_fetch_or(&started_mask, 1u << i);
}

static void on_stop(unsigned i, void *ctx)
{
    (void)ctx;
    atomic_fetch_or(&stopped_mask, 1u << i);
}

int worker_hooks_run_once_per_worker(void)
{
    atomic_store(&started_mask, 0);
    atomic_store(&stopped_mask, 0);
    crew_config c;
    crew_config_default(&c);
    c.workers = 3;
    c.on_worker_start = on_start;
    c.on_worker_stop = on_stop;
    c.name = "a-very-long-thread-name-prefix";
    c.stack_size = 1 << 20;
    crew_pool *p = crew_pool_create(&c);
    CHECK(p != NULL);
    void *r;
    CHECK(crew_run(p, identity, IP(1), &r) == 0);
    CHECK(crew_pool_destroy(p) == 0);
    CHECK(atomic_load(&started_mask) == 7);
    CHECK(atomic_load(&stopped_mask) == 7);
    return 0;
}

static void *nested_run(void *arg)
{
    crew_pool *p = arg;
    void *r = NULL;
    int rc = crew_run(p, identity, IP(11), &r);
    return IP(rc == 0 ? PI(r) : -rc);
}

int crew_run_returns_the_result_and_from_a_worker_calls_directly(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    void *r = NULL;
    CHECK(crew_run(p, identity, IP(42), &r) == 0 && PI(r) == 42);
    CHECK(crew_run(p, identity, IP(42), NULL) == 0);
    CHECK(crew_run(p, nested_run, p, &r) == 0 && PI(r) == 11);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

typedef struct run_call {
    crew_pool *pool;
    _Atomic int rc; /* -1 until crew_run returns */
    void *result;
} run_call;

static void *call_crew_run(void *arg)
{
    run_call *c = arg;
    void *r = NULL;
    int rc = crew_run(c->pool, identity, IP(4), &r);
    c->result = r;
    atomic_store(&c->rc, rc);
    return NULL;
}

int crew_run_on_a_full_bounded_queue_waits_its_turn_not_eagain(void)
{
    atomic_store(&hold, 1);
    crew_pool *p = test_pool(1, 1, false); /* one place, never blocks */
    CHECK(p != NULL);
    crew_future *busy = crew_submit(p, held, IP(1)); /* the worker holds it */
    CHECK(busy != NULL);
    test_sleep_ms(10);
    crew_future *queued = crew_submit(p, identity, IP(2)); /* fills the place */
    CHECK(queued != NULL);
    errno = 0;
    CHECK(crew_submit(p, identity, IP(3)) == NULL && errno == EAGAIN);
    /* The queue is full: crew_run must queue its root anyway and wait. */
    run_call c = {.pool = p};
    atomic_init(&c.rc, -1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, call_crew_run, &c) == 0);
    test_sleep_ms(20);
    int early = atomic_load(&c.rc);
    atomic_store(&hold, 0);
    pthread_join(t, NULL);
    CHECKF(early == -1, "crew_run returned %d while the queue was full", early);
    CHECK(atomic_load(&c.rc) == 0 && PI(c.result) == 4);
    void *r = NULL;
    CHECK(crew_future_wait(busy, NULL) == 0 && crew_future_wait(queued, &r) == 0);
    CHECK(PI(r) == 2);
    crew_future_release(busy);
    crew_future_release(queued);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
