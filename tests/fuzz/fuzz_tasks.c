/* The fuzzer's tasks (fuzz_internal.h), and the work they do inside the
 * pool: spawns, submits and posts from a task, waits on their futures,
 * nested loops, groups and graph runs, the object pool. */
#include "fuzz_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- tasks ---- */

/* About `us` microseconds of work (a task that holds its worker). */
static void fz_spin_us(double us)
{
    double t0 = fz_now_s();
    while ((fz_now_s() - t0) * 1e6 < us)
        ;
}

void *fz_leaf(void *arg)
{
    long id = PI(arg);
    atomic_fetch_add(&fz->runs[id], 1);
    if (id % 16 == 0)
        fz_spin_us(20); /* one in 16 takes a while: queues build up */
    return fz_ret_of(id);
}

/* A task that does work inside the pool: its choices come from its id. */
void *fz_spawner(void *arg)
{
    long id = PI(arg);
    atomic_fetch_add(&fz->runs[id], 1);
    FZ_CHECK(crew_worker_index() >= 0, "a task ran off the workers");
    uint64_t rng = fz->seed ^ ((uint64_t)id * 0xd1342543de82ef95ull);
    fz_inside_work(&rng, fz->depth[id]);
    return fz_ret_of(id);
}

/* A group task; it may post children into its own group (never waits on
 * it: that would wait on itself). */
void *fz_group_task(void *arg)
{
    fz_gtask *t = arg;
    atomic_fetch_add(&fz->runs[t->id], 1);
    if (t->depth >= FZ_MAX_DEPTH)
        return NULL;
    uint64_t rng = t->op->seed ^ (uint64_t)t->id;
    unsigned kids = fz_rnd(&rng, 3);
    for (unsigned k = 0; k < kids; k++) {
        int slot = atomic_fetch_add(&t->op->n, 1);
        if (slot >= FZ_GROUP_TASKS)
            return NULL;
        long id = fz_new_id(t->depth + 1);
        if (id < 0)
            return NULL;
        fz_gtask *c = &t->op->tasks[slot];
        c->id = id;
        c->op = t->op;
        c->depth = t->depth + 1;
        int rc = crew_group_post(t->op->g, fz_group_task, c);
        /* From inside the pool: accepted, even during shutdown. */
        FZ_CHECK(rc == 0, "crew_group_post from a group task returned %d", rc);
        if (rc == 0)
            fz_set_flag(id, FZ_ACCEPTED | FZ_INSIDE);
    }
    return NULL;
}

void *fz_waiter_task(void *arg)
{
    fz_waiter *w = arg;
    atomic_fetch_add(&fz->runs[w->id], 1);
    if (w->timed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        int rc = crew_future_timedwait(w->target, &ts, NULL);
        FZ_CHECK(rc == 0 || rc == ETIMEDOUT || rc == ECANCELED,
                 "an inside timed wait on an outside future: %d", rc);
    }
    void *r = NULL;
    int rc = crew_future_wait(w->target, &r);
    FZ_CHECK(rc == 0 || rc == ECANCELED, "an inside wait on an outside future: %d", rc);
    if (rc == 0)
        FZ_CHECK(r == fz_ret_of(w->target_id), "an inside wait: wrong result");
    if (rc == ECANCELED) {
        unsigned char fl = atomic_load(&fz->flags[w->target_id]);
        FZ_CHECK((fl & FZ_CANCEL_OK) || atomic_load(&fz->cancel_started),
                 "task %ld ECANCELED inside, never cancelled", w->target_id);
        atomic_fetch_add(&fz->cancels[w->target_id], 1);
    }
    w->waited_rc = rc;
    crew_future_release(w->target);
    return fz_ret_of(w->id);
}

void fz_on_cancel(crew_fn fn, void *arg, void *ctx)
{
    FZ_CHECK(ctx == fz, "on_cancel: wrong ctx");
    FZ_CHECK(atomic_load(&fz->cancel_started), "on_cancel outside shutdown(cancel)");
    long id;
    if (fn == fz_group_task)
        id = ((fz_gtask *)arg)->id;
    else if (fn == fz_leaf || fn == fz_spawner)
        id = PI(arg);
    else {
        FZ_CHECK(0, "on_cancel got a function never posted");
        return;
    }
    FZ_CHECK(!(atomic_load(&fz->flags[id]) & FZ_INSIDE),
             "task %ld, posted from inside the pool, was cancelled", id);
    atomic_fetch_add(&fz->cancels[id], 1);
    atomic_fetch_add(&fz->n_cancelled_by_shutdown, 1);
}

/* ---- fork-join ---- */

void *fz_fib(void *arg)
{
    long n = PI(arg);
    if (n < 2)
        return arg;
    crew_task t;
    crew_spawn(&t, fz_fib, IP(n - 1));
    long b = PI(fz_fib(IP(n - 2)));
    long a = PI(n & 1 ? crew_sync_call(&t, fz_fib) : crew_sync(&t));
    return IP(a + b);
}

long fz_fib_seq(long n)
{
    long a = 0, b = 1;
    for (long i = 0; i < n; i++) {
        long c = a + b;
        a = b;
        b = c;
    }
    return a;
}

/* ---- inside the pool ---- */

void fz_inside_work(uint64_t *rng, unsigned depth)
{
    unsigned steps = 1 + fz_rnd(rng, 3);
    for (unsigned s = 0; s < steps; s++) {
        switch (fz_rnd(rng, 10)) {
        case 0: {
            long n = 5 + fz_rnd(rng, 12);
            FZ_CHECK(PI(fz_fib(IP(n))) == fz_fib_seq(n), "fib(%ld) through spawns is wrong", n);
            break;
        }
        case 1:
        case 2: {
            /* Children submitted from here: onto this worker's deque, never
             * refused, never cancelled; waited for here (a timed wait
             * first, sometimes). */
            crew_future *kids[4];
            long ids[4];
            unsigned nk = 1 + fz_rnd(rng, 4);
            for (unsigned k = 0; k < nk; k++) {
                int spawner = depth < FZ_MAX_DEPTH && fz_rnd(rng, 3) == 0;
                ids[k] = fz_new_id(depth + 1);
                kids[k] = NULL;
                if (ids[k] < 0)
                    continue;
                errno = 0;
                kids[k] = crew_submit(fz->pool, spawner ? fz_spawner : fz_leaf, IP(ids[k]));
                FZ_CHECK(kids[k] != NULL, "crew_submit from a task: errno %d", errno);
                if (kids[k] != NULL)
                    fz_set_flag(ids[k], FZ_ACCEPTED | FZ_INSIDE);
            }
            for (unsigned k = nk; k-- > 0;) {
                if (kids[k] == NULL)
                    continue;
                if (fz_rnd(rng, 4) == 0) {
                    struct timespec ts;
                    clock_gettime(CLOCK_REALTIME, &ts);
                    ts.tv_nsec += 100000;
                    if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                    }
                    int rc = crew_future_timedwait(kids[k], &ts, NULL);
                    FZ_CHECK(rc == 0 || rc == ETIMEDOUT, "an inside timed wait: %d", rc);
                }
                if (fz_rnd(rng, 6) == 0) {
                    fz_set_flag(ids[k], FZ_RELEASED);
                    crew_future_release(kids[k]); /* it runs anyway */
                    continue;
                }
                void *r = NULL;
                int rc = crew_future_wait(kids[k], &r);
                FZ_CHECK(rc == 0 && r == fz_ret_of(ids[k]), "an inside future: %d", rc);
                crew_future_release(kids[k]);
            }
            break;
        }
        case 3: {
            long id = fz_new_id(depth + 1);
            if (id < 0)
                break;
            int spawner = depth < FZ_MAX_DEPTH && fz_rnd(rng, 3) == 0;
            int rc = crew_post(fz->pool, spawner ? fz_spawner : fz_leaf, IP(id));
            FZ_CHECK(rc == 0, "crew_post from a task returned %d", rc);
            if (rc == 0)
                fz_set_flag(id, FZ_ACCEPTED | FZ_INSIDE);
            break;
        }
        case 4:
            fz_loops_once(rng, 1);
            break;
        case 5:
            fz_objpool_once(rng, 1000000 + crew_worker_index());
            break;
        case 6: {
            errno = 0;
            crew_group *g = crew_group_create(fz->pool);
            FZ_CHECK(g != NULL, "crew_group_create from a task: errno %d", errno);
            if (g == NULL)
                break;
            long ids[3];
            int n = 0;
            for (int k = 0; k < 3; k++) {
                long id = fz_new_id(depth + 1);
                if (id < 0)
                    break;
                int rc = crew_group_post(g, fz_leaf, IP(id));
                FZ_CHECK(rc == 0, "crew_group_post from a task returned %d", rc);
                if (rc == 0) {
                    fz_set_flag(id, FZ_ACCEPTED | FZ_INSIDE);
                    ids[n++] = id;
                }
            }
            FZ_CHECK(crew_group_wait(g) == 0, "crew_group_wait in a task");
            for (int k = 0; k < n; k++)
                FZ_CHECK(atomic_load(&fz->runs[ids[k]]) == 1,
                         "a group task had not run when the wait returned");
            crew_group_destroy(g);
            break;
        }
        case 7:
            if (depth == 0)
                fz_shared_graph_op(rng, 1);
            break;
        case 8: {
            /* crew_run on its own pool from a task: a direct call. */
            long id = fz_new_id(depth + 1);
            if (id < 0)
                break;
            void *r = NULL;
            int rc = crew_run(fz->pool, fz_leaf, IP(id), &r);
            FZ_CHECK(rc == 0 && r == fz_ret_of(id), "crew_run from a task: %d", rc);
            if (rc == 0)
                fz_set_flag(id, FZ_ACCEPTED | FZ_INSIDE);
            break;
        }
        case 9:
            /* Shutdown or destroy of its own pool from a task: EDEADLK,
             * nothing changes (even while a caller shuts the pool down). */
            if (fz_rnd(rng, 4) == 0) {
                int rc = fz_rnd(rng, 2) ? crew_pool_shutdown(fz->pool, fz_rnd(rng, 2))
                                        : crew_pool_destroy(fz->pool);
                FZ_CHECK(rc == EDEADLK, "shutdown or destroy from a task returned %d", rc);
            }
            break;
        }
    }
}

void *fz_root_fn(void *arg)
{
    fz_root *r = arg;
    atomic_fetch_add(&fz->runs[r->id], 1);
    uint64_t rng = fz->seed ^ ((uint64_t)r->id * 0x9fb21c651e98df25ull);
    fz_inside_work(&rng, 0);
    /* Now and then the caller's own graph, nested (the caller is blocked
     * in crew_run, so the graph is ours). */
    if (fz_rnd(&rng, 3) == 0)
        fz_own_run(&r->caller->own, 1);
    return fz_ret_of(r->id);
}

