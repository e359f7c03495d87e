/* Suite `serial`: serial queues and the pool's shutdown and destroy (the
 * rules of crew_post: outside posts are refused once the pool is shut
 * down and cancelled by cancel_pending while queued; posts from the
 * pool's own tasks are accepted until it is quiet and always run), and
 * crew_serial_destroy. */
#include "serial_cases.h"

#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "scheduler/internal.h"
#include "util.h"

static _Atomic long ran_outside, ran_inside, cancelled_posts;

static void *outside_task(void *arg)
{
    atomic_fetch_add(&ran_outside, 1);
    return arg;
}

static void *inside_task(void *arg)
{
    atomic_fetch_add(&ran_inside, 1);
    return arg;
}

static void count_cancel(crew_fn fn, void *arg, void *ctx)
{
    (void)arg;
    (void)ctx;
    if (fn == outside_task)
        atomic_fetch_add(&cancelled_posts, 1);
}

static crew_pool *pool_with_on_cancel(unsigned workers)
{
    crew_config c;
    crew_config_default(&c);
    c.workers = workers;
    c.on_cancel = count_cancel;
    return crew_pool_create(&c);
}

static void reset_counts(void)
{
    atomic_store(&ran_outside, 0);
    atomic_store(&ran_inside, 0);
    atomic_store(&cancelled_posts, 0);
}

int outside_serial_posts_after_shutdown_fail_eshutdown(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    reset_counts();
    crew_serial *q = crew_serial_create(p);
    CHECK(q != NULL);
    CHECK(crew_serial_post(q, outside_task, NULL) == 0);
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(atomic_load(&ran_outside) == 1); /* accepted before: it ran */
    CHECK(crew_serial_post(q, outside_task, NULL) == ESHUTDOWN);
    errno = 0;
    CHECK(crew_serial_submit(q, outside_task, NULL) == NULL && errno == ESHUTDOWN);
    CHECK(crew_serial_wait(q) == 0);
    /* Creating one on a shut-down pool works; posting to it does not. */
    crew_serial *late = crew_serial_create(p);
    CHECK(late != NULL);
    CHECK(crew_serial_post(late, outside_task, NULL) == ESHUTDOWN);
    crew_serial_destroy(late);
    CHECK(atomic_load(&ran_outside) == 1);
    crew_serial_destroy(q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* A task that holds the pool busy until shutdown has closed it, then
 * posts to a serial queue from inside: accepted, and it runs before
 * shutdown returns. */
typedef struct during {
    crew_pool *pool;
    crew_serial *q;
    _Atomic int started;
    int posts;
    int rc_post, rc_submit;
    crew_future *f;
} during;

static void wait_closed(crew_pool *p)
{
    double t0 = test_now_s();
    while (!crew_injector_closed(&p->inj) && test_now_s() - t0 < 2)
        test_sleep_ms(1);
}

static void *during_task(void *arg)
{
    during *d = arg;
    atomic_store(&d->started, 1);
    wait_closed(d->pool);
    d->rc_post = 0;
    for (int i = 0; i < d->posts; i++) {
        int rc = crew_serial_post(d->q, inside_task, NULL);
        if (rc != 0)
            d->rc_post = rc;
    }
    d->f = crew_serial_submit(d->q, inside_task, IP(6));
    d->rc_submit = d->f == NULL ? errno : 0;
    return NULL;
}

int serial_posts_from_tasks_during_shutdown_are_accepted_and_run(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    reset_counts();
    crew_serial *q = crew_serial_create(p);
    CHECK(q != NULL);
    static during d;
    memset(&d, 0, sizeof d);
    d.pool = p;
    d.q = q;
    d.posts = 100;
    CHECK(crew_post(p, during_task, &d) == 0);
    test_spin_until(&d.started); /* or shutdown would cancel it */
    CHECK(crew_pool_shutdown(p, true) == 0);
    CHECK(d.rc_post == 0 && d.rc_submit == 0);
    /* Shutdown returned: all 101 ran already, none was cancelled. */
    CHECK(atomic_load(&ran_inside) == 101);
    void *r = NULL;
    CHECK(crew_future_wait(d.f, &r) == 0 && r == IP(6));
    crew_future_release(d.f);
    crew_serial_destroy(q);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* The queue's first task blocks until shutdown(cancel_pending) has closed
 * the pool; behind it wait outside posts and submits. The blocker then
 * posts from inside. The outside ones are cancelled (on_cancel, ECANCELED),
 * the inside ones run. */
#define CP_POSTS 50
#define CP_SUBMITS 20

static crew_pool *cp_pool;
static crew_serial *cp_q;
static _Atomic int cp_started;

static void *cp_blocker(void *arg)
{
    (void)arg;
    atomic_store(&cp_started, 1);
    wait_closed(cp_pool);
    for (int i = 0; i < 10; i++)
        crew_serial_post(cp_q, inside_task, NULL);
    return NULL;
}

int shutdown_cancel_pending_cancels_queued_outside_tasks_runs_inside_ones(void)
{
    for (int round = 0; round < 3; round++) {
        reset_counts();
        cp_pool = pool_with_on_cancel(2);
        CHECK(cp_pool != NULL);
        CHECK((cp_q = crew_serial_create(cp_pool)) != NULL);
        atomic_store(&cp_started, 0);
        CHECK(crew_serial_post(cp_q, cp_blocker, NULL) == 0);
        crew_future *f[CP_SUBMITS];
        for (int i = 0; i < CP_POSTS; i++)
            CHECK(crew_serial_post(cp_q, outside_task, NULL) == 0);
        for (int i = 0; i < CP_SUBMITS; i++)
            CHECK((f[i] = crew_serial_submit(cp_q, outside_task, IP(i))) != NULL);
        test_spin_until(&cp_started); /* started: it is not cancelled */
        CHECK(crew_pool_shutdown(cp_pool, true) == 0);
        /* Shutdown returned: nothing of the queue is left to run. */
        CHECKF(atomic_load(&ran_outside) == 0, "round %d: %ld outside tasks ran", round,
               atomic_load(&ran_outside));
        CHECK(atomic_load(&cancelled_posts) == CP_POSTS);
        CHECK(atomic_load(&ran_inside) == 10);
        for (int i = 0; i < CP_SUBMITS; i++) {
            CHECK(crew_future_wait(f[i], NULL) == ECANCELED);
            crew_future_release(f[i]);
        }
        CHECK(crew_serial_wait(cp_q) == 0); /* cancelled counts as done */
        crew_serial_destroy(cp_q);
        CHECK(crew_pool_destroy(cp_pool) == 0);
    }
    return 0;
}

/* Producers post to two queues while the main thread shuts the pool down:
 * every post returns 0 (and its task then runs, or is cancelled, before
 * shutdown returns) or ESHUTDOWN; nothing is lost. */
typedef struct racer {
    crew_serial *q[2];
    long accepted, refused, other;
} racer;

static void *racing_poster(void *arg)
{
    racer *r = arg;
    for (long i = 0;; i++) {
        int rc = crew_serial_post(r->q[i & 1], outside_task, NULL);
        if (rc == 0) {
            r->accepted++;
        } else if (rc == ESHUTDOWN) {
            r->refused++;
            return NULL;
        } else {
            r->other++;
            return NULL;
        }
    }
}

int serial_posts_racing_shutdown_are_run_or_refused_never_lost(void)
{
    for (int round = 0; round < 6; round++) {
        bool cancel = round % 2 == 1;
        reset_counts();
        crew_pool *p = pool_with_on_cancel(2);
        CHECK(p != NULL);
        crew_serial *q[2] = {crew_serial_create(p), crew_serial_create(p)};
        CHECK(q[0] != NULL && q[1] != NULL);
        racer r[3];
        pthread_t t[3];
        for (int i = 0; i < 3; i++) {
            r[i] = (racer){{q[0], q[1]}, 0, 0, 0};
            CHECK(pthread_create(&t[i], NULL, racing_poster, &r[i]) == 0);
        }
        test_sleep_ms(5);
        CHECK(crew_pool_shutdown(p, cancel) == 0);
        long done_at_return = atomic_load(&ran_outside) + atomic_load(&cancelled_posts);
        long accepted = 0;
        for (int i = 0; i < 3; i++) {
            pthread_join(t[i], NULL);
            accepted += r[i].accepted;
            CHECK(r[i].refused == 1 && r[i].other == 0);
        }
        long done = atomic_load(&ran_outside) + atomic_load(&cancelled_posts);
        CHECKF(done == accepted, "round %d: accepted %ld, ran %ld, cancelled %ld", round,
               accepted, atomic_load(&ran_outside), atomic_load(&cancelled_posts));
        /* Every accepted post was accepted before shutdown's quiet test,
         * so shutdown waited for it. */
        CHECKF(done_at_return == accepted, "round %d: %ld of %ld done when shutdown returned",
               round, done_at_return, accepted);
        if (!cancel)
            CHECK(atomic_load(&cancelled_posts) == 0);
        CHECK(crew_serial_wait(q[0]) == 0 && crew_serial_wait(q[1]) == 0);
        crew_serial_destroy(q[0]);
        crew_serial_destroy(q[1]);
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

/* ---- destroy ---- */

static void *slow_task(void *arg)
{
    test_sleep_ms(20);
    atomic_fetch_add(&ran_outside, 1);
    return arg;
}

int serial_destroy_waits_for_every_accepted_task(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    reset_counts();
    long n = crew_scaled(20000, 2000);
    crew_serial *q = crew_serial_create(p);
    CHECK(q != NULL);
    CHECK(crew_serial_post(q, slow_task, NULL) == 0);
    for (long i = 0; i < n; i++)
        CHECK(crew_serial_post(q, outside_task, NULL) == 0);
    crew_future *f = crew_serial_submit(q, outside_task, IP(8));
    CHECK(f != NULL);
    crew_serial_destroy(q);
    CHECK(atomic_load(&ran_outside) == n + 2);
    /* Its future outlives it. */
    void *r = NULL;
    CHECK(crew_future_wait(f, &r) == 0 && r == IP(8));
    crew_future_release(f);
    /* And a queue may be destroyed after its pool. */
    crew_serial *late = crew_serial_create(p);
    CHECK(late != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(crew_serial_post(late, outside_task, NULL) == 0);
    CHECK(crew_pool_destroy(p) == 0);
    CHECK(atomic_load(&ran_outside) == n + 102);
    crew_serial_destroy(late);
    return 0;
}

#ifdef CREW_DEBUG

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *destroy_own(void *arg)
{
    crew_serial_destroy(arg);
    return NULL;
}

int serial_destroy_from_its_own_task_aborts_in_debug_builds(void)
{
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        crew_pool *p = test_pool(1, 0, false);
        crew_serial *q = p != NULL ? crew_serial_create(p) : NULL;
        if (q == NULL)
            _exit(3);
        crew_serial_post(q, destroy_own, q);
        crew_serial_wait(q);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status %#x", st);
    return 0;
}

#endif
