/* Suite `scheduler`, second review's regressions: each case deadlocked,
 * returned a false EDEADLK, ran a task twice or read freed memory on the
 * code before its fix. */
#include "scheduler_cases.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "util.h"

static crew_pool *rp;
static crew_future *rF, *rP;
static _Atomic int r_f_started, r_p_running;
static _Atomic long r_j_rc;

static void *r_nop(void *a)
{
    return a;
}

static void *r_ptask(void *a)
{
    (void)a;
    atomic_store(&r_p_running, 1);
    test_sleep_ms(50);
    return NULL;
}

/* Waits on P, which the frame below runs from its sync's pop loop. */
static void *r_ftask_waits_p(void *a)
{
    (void)a;
    atomic_store(&r_f_started, 1);
    test_spin_until(&r_p_running);
    crew_future_wait(rP, NULL);
    return NULL;
}

static void *r_jtask(void *a)
{
    (void)a;
    atomic_store(&r_j_rc, crew_future_wait(rF, NULL));
    return NULL;
}

static void *r_popfloor_root(void *a)
{
    (void)a;
    rF = crew_submit(rp, r_ftask_waits_p, NULL); /* the other worker takes it */
    test_spin_until(&r_f_started);
    crew_task j;
    crew_spawn(&j, r_jtask, NULL);
    rP = crew_submit(rp, r_ptask, NULL); /* publishes j, pushes P above it */
    crew_sync(&j);                       /* pops P and runs it: with a floor */
    return NULL;
}

int a_task_run_from_a_sync_pop_has_its_own_leapfrog_floor(void)
{
    for (int round = 0; round < 3; round++) {
        atomic_store(&r_f_started, 0);
        atomic_store(&r_p_running, 0);
        atomic_store(&r_j_rc, -1);
        rp = test_pool(2, 0, false);
        CHECK(rp != NULL);
        CHECK(crew_run(rp, r_popfloor_root, NULL, NULL) == 0);
        CHECKF(atomic_load(&r_j_rc) == 0, "j's wait on F returned %ld (EDEADLK: j was "
               "stolen from under the frame)", atomic_load(&r_j_rc));
        crew_future_release(rF);
        crew_future_release(rP);
        CHECK(crew_pool_destroy(rp) == 0);
    }
    return 0;
}

static void *r_stask(void *a)
{
    (void)a;
    return NULL;
}

/* Spawns s and keeps spawning for a while, so a waiter steals s. */
static void *r_ftask_spawns(void *a)
{
    (void)a;
    atomic_store(&r_f_started, 1);
    crew_task s;
    crew_spawn(&s, r_stask, NULL);
    double t0 = test_now_s();
    while (test_now_s() - t0 < 0.02) {
        crew_task t;
        crew_spawn(&t, r_nop, NULL);
        crew_sync(&t);
    }
    crew_sync(&s);
    return NULL;
}

static void *r_atask(void *a)
{
    (void)a;
    atomic_store(&r_j_rc, crew_future_wait(rF, NULL));
    return NULL;
}

static void *r_entry_root(void *a)
{
    (void)a;
    rF = crew_submit(rp, r_ftask_spawns, NULL);
    test_spin_until(&r_f_started);
    crew_task A;
    crew_spawn(&A, r_atask, NULL);
    crew_post(rp, r_nop, NULL); /* publishes A */
    crew_future_wait(rF, NULL); /* leapfrogs: steals s from F's worker */
    crew_sync(&A);
    return NULL;
}

int a_thief_is_named_runner_only_once_its_floor_is_set(void)
{
    for (int round = 0; round < 5; round++) {
        atomic_store(&r_f_started, 0);
        atomic_store(&r_j_rc, -1);
        rp = test_pool(2, 0, false);
        CHECK(rp != NULL);
        CHECK(crew_run(rp, r_entry_root, NULL, NULL) == 0);
        CHECKF(atomic_load(&r_j_rc) == 0, "round %d: A's wait on F returned %ld", round,
               atomic_load(&r_j_rc));
        crew_future_release(rF);
        CHECK(crew_pool_destroy(rp) == 0);
    }
    return 0;
}

static crew_group *rg;
static _Atomic long r_ran;
static _Atomic int r_stop;

static void *r_count(void *a)
{
    (void)a;
    atomic_fetch_add(&r_ran, 1);
    return NULL;
}

static void *r_group_waiter(void *a)
{
    (void)a;
    while (!atomic_load(&r_stop))
        crew_group_wait(rg);
    return NULL;
}

static void *r_shutdown(void *a)
{
    crew_pool_shutdown(a, false);
    return NULL;
}

int a_failed_group_post_never_runs_and_shutdown_still_returns(void)
{
    atomic_store(&r_ran, 0);
    atomic_store(&r_stop, 0);
    crew_config c;
    crew_config_default(&c);
    c.workers = 1;
    c.queue_limit = 1;
    c.block_when_full = false;
    rp = crew_pool_create(&c);
    CHECK(rp != NULL);
    rg = crew_group_create(rp);
    CHECK(rg != NULL);
    crew_future *w = crew_submit(rp, r_group_waiter, NULL);
    CHECK(w != NULL);
    test_sleep_ms(20); /* the only worker loops in crew_group_wait */
    long ok = 0, refused = 0;
    double t0 = test_now_s();
    while (test_now_s() - t0 < crew_scaled(100, 20) / 100.0) {
        int rc = crew_group_post(rg, r_count, NULL);
        CHECKF(rc == 0 || rc == EAGAIN, "post returned %d", rc);
        ok += rc == 0;
        refused += rc == EAGAIN;
        CHECKF(atomic_load(&r_ran) <= ok, "a task whose post failed ran (%ld ran, %ld "
               "accepted)", atomic_load(&r_ran), ok);
    }
    atomic_store(&r_stop, 1);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    CHECKF(crew_future_timedwait(w, &dl, NULL) == 0, "the group waiter never returned");
    crew_future_release(w);
    CHECK(crew_group_wait(rg) == 0);
    CHECK(atomic_load(&r_ran) == ok);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, r_shutdown, rp) == 0);
    pthread_join(t, NULL); /* hung when completions outran acceptances */
    crew_group_destroy(rg);
    CHECK(crew_pool_destroy(rp) == 0);
    CHECK(refused > 0); /* the queue really was full at times */
    return 0;
}

int a_group_destroyed_after_its_pool_is_safe(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    crew_group *g = crew_group_create(p);
    CHECK(g != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(crew_group_post(g, r_nop, NULL) == 0);
    CHECK(crew_pool_destroy(p) == 0); /* runs everything queued */
    crew_group_destroy(g);            /* its records outlive the pool */
    return 0;
}
