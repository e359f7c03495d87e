/* Suite `scheduler`, wake-ups: whenever k stealable tasks and s sleeping
 * workers exist, min(k, s) workers are woken, without waiting for the
 * poster's next spawn or sync. The tests assert where tasks ran, never how
 * long they took: K tasks that each wait (bounded) until all K have
 * started can start on K distinct workers only if K workers were woken
 * for them; a worker left asleep shows up as two of them on one worker,
 * one after the other once the wait gives up. */
#include "scheduler_cases.h"

#include <stdatomic.h>
#include <stdio.h>

#include "util.h"

enum { WK_MAX = 8 };

typedef struct wk_run {
    crew_pool *pool;
    int k;                  /* tasks posted from inside */
    _Atomic int started;
    _Atomic int where[WK_MAX];
    _Atomic int poster;     /* the poster's worker */
    _Atomic int all_in;     /* every task started within the wait */
} wk_run;

static wk_run *wk_cur;

/* Polls with short sleeps: the poster and the waiting tasks must not eat
 * the cores the woken workers need (the machine may have 2). */
static int wk_wait_all_started(wk_run *r)
{
    for (int i = 0; i < 3000; i++) {
        if (atomic_load(&r->started) >= r->k)
            return 1;
        test_sleep_ms(1);
    }
    return 0;
}

static void *wk_task(void *arg)
{
    wk_run *r = wk_cur;
    int i = (int)PI(arg);
    atomic_store(&r->where[i], crew_worker_index());
    atomic_fetch_add(&r->started, 1);
    if (!wk_wait_all_started(r))
        atomic_store(&r->all_in, 0);
    return NULL;
}

static void *wk_poster(void *arg)
{
    wk_run *r = arg;
    atomic_store(&r->poster, crew_worker_index());
    /* Back to back, while the other workers sleep. */
    for (int i = 0; i < r->k; i++)
        crew_post(r->pool, wk_task, IP(i));
    /* Busy (not in a sync or a wait) until they have all started. */
    wk_wait_all_started(r);
    return NULL;
}

static int wk_check(unsigned workers, int k)
{
    crew_pool *p = test_pool(workers, 0, false);
    CHECK(p != NULL);
    static wk_run r;
    r = (wk_run){.pool = p, .k = k};
    atomic_store(&r.all_in, 1);
    wk_cur = &r;
    test_sleep_ms(50); /* spin_us is 100 us: every worker is asleep */
    CHECK(crew_post(p, wk_poster, &r) == 0);
    CHECK(crew_pool_shutdown(p, false) == 0);
    CHECK(crew_pool_destroy(p) == 0);
    CHECK(atomic_load(&r.started) == k);
    int poster = atomic_load(&r.poster);
    for (int i = 0; i < k; i++) {
        int wi = atomic_load(&r.where[i]);
        CHECKF(wi != poster, "task %d ran on the poster's worker %d", i, wi);
        for (int j = 0; j < i; j++)
            CHECKF(atomic_load(&r.where[j]) != wi,
                   "tasks %d and %d both ran on worker %d: a sleeper was left asleep", j, i,
                   wi);
    }
    CHECKF(atomic_load(&r.all_in), "some task waited 3 s for the others to start");
    return 0;
}

int tasks_posted_inside_back_to_back_each_wake_a_sleeper(void)
{
    /* 3 tasks on a 4-worker pool, and 5 on a 6-worker pool. */
    CHECK(wk_check(4, 3) == 0);
    CHECK(wk_check(6, 5) == 0);
    return 0;
}
