/* docs/guide.md, part 1: timed waits, cancelling a future, shutdown with
 * cancel_pending and the on_cancel hook, ESHUTDOWN, EDEADLK, and futures
 * released after their pool is gone. A gate task holds the only worker,
 * so what is cancelled is known exactly. */
#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum { POSTS = 5, FUTURES = 3 };

static atomic_int gate_open, gate_entered, cancelled, ran;
static atomic_int followup_rc = -1;
static crew_pool *pool;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool wait_for(atomic_int *flag, int want) /* at most about 10 s */
{
    for (int i = 0; i < 10000 && atomic_load(flag) < want; i++)
        sleep_ms(1);
    return atomic_load(flag) >= want;
}

static void *count_run(void *arg)
{
    atomic_fetch_add(&ran, 1);
    return arg;
}

static void *gate(void *arg)
{
    atomic_store(&gate_entered, 1);
    while (!atomic_load(&gate_open))
        sleep_ms(1);
    /* Shutdown has begun by now, yet a task of the pool may still submit:
     * pipelines drain. */
    atomic_store(&followup_rc, crew_post(pool, count_run, NULL));
    return arg;
}

/* on_cancel: a posted task that will never run (futures report ECANCELED
 * instead). Its argument might own memory: this is where to free it. */
static void on_cancel(crew_fn fn, void *arg, void *ctx)
{
    (void)fn;
    (void)arg;
    (void)ctx;
    atomic_fetch_add(&cancelled, 1);
}

static void *stop_own_pool(void *arg) /* a task may not stop its own pool */
{
    (void)arg;
    int a = crew_pool_shutdown(pool, false), b = crew_pool_destroy(pool);
    return (void *)(intptr_t)(a == EDEADLK && b == EDEADLK);
}

static void *shutdown_thread(void *arg)
{
    (void)arg;
    crew_pool_shutdown(pool, true); /* returns once nothing runs */
    return NULL;
}

static struct timespec in_ms(long ms) /* an absolute CLOCK_REALTIME deadline */
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

int main(void)
{
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 1;
    cfg.on_cancel = on_cancel;
    pool = crew_pool_create(&cfg);
    if (pool == NULL)
        return 1;

    void *ok;
    if (crew_run(pool, stop_own_pool, NULL, &ok) != 0 || ok != (void *)1)
        return 1;

    crew_future *held = crew_submit(pool, gate, NULL);
    if (held == NULL || !wait_for(&gate_entered, 1))
        return 1;

    /* A timed wait gives up at its deadline; it never runs the task itself. */
    crew_future *f = crew_submit(pool, count_run, (void *)7);
    struct timespec deadline = in_ms(20);
    void *r;
    if (f == NULL || crew_future_timedwait(f, &deadline, &r) != ETIMEDOUT)
        return 1;

    /* Cancel: 0 if it will never run (again 0 when repeated), EBUSY once started. */
    if (crew_future_cancel(f) != 0 || crew_future_cancel(f) != 0 ||
        crew_future_cancel(held) != EBUSY)
        return 1;
    if (crew_future_wait(f, &r) != ECANCELED || !crew_future_done(f))
        return 1;
    crew_future_release(f);

    /* Queue work behind the gate, then shut down with cancel_pending. */
    crew_future *queued[FUTURES];
    for (int i = 0; i < POSTS; i++)
        if (crew_post(pool, count_run, NULL) != 0)
            return 1;
    for (int i = 0; i < FUTURES; i++)
        if ((queued[i] = crew_submit(pool, count_run, NULL)) == NULL)
            return 1;
    pthread_t t;
    if (pthread_create(&t, NULL, shutdown_thread, NULL) != 0)
        return 1;
    if (!wait_for(&cancelled, POSTS)) /* on_cancel ran once per queued post */
        return 1;
    int late = crew_post(pool, count_run, NULL); /* closed: ESHUTDOWN */
    atomic_store(&gate_open, 1);                 /* let the running task finish */
    pthread_join(t, NULL);

    int ecanceled = 0;
    for (int i = 0; i < FUTURES; i++)
        ecanceled += crew_future_wait(queued[i], NULL) == ECANCELED;
    if (crew_future_wait(held, NULL) != 0)
        return 1;
    printf("cancelled: %d posts (on_cancel), %d futures (ECANCELED); ran after shutdown "
           "began: %d (the follow-up, rc %d); post after shutdown: %s\n",
           atomic_load(&cancelled), ecanceled, atomic_load(&ran), atomic_load(&followup_rc),
           late == ESHUTDOWN ? "ESHUTDOWN" : "accepted?");

    errno = 0;
    bool refused = late == ESHUTDOWN && crew_submit(pool, count_run, NULL) == NULL &&
                   errno == ESHUTDOWN && crew_run(pool, count_run, NULL, NULL) == ESHUTDOWN;
    if (crew_pool_destroy(pool) != 0)
        return 1;

    /* Futures may outlive their pool: release each exactly once, any time. */
    for (int i = 0; i < FUTURES; i++)
        crew_future_release(queued[i]);
    crew_future_release(held);

    return refused && atomic_load(&cancelled) == POSTS && ecanceled == FUTURES &&
                   atomic_load(&followup_rc) == 0 && atomic_load(&ran) == 1
               ? 0
               : 1;
}
