/* The fuzzer's callers' calls (fuzz_internal.h): futures held and waited
 * on, posts, cancels, waiter tasks, groups, crew_run, short-lived threads,
 * statistics. A refusal is checked against fz_refusal_ok. */
#include "fuzz_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- futures held by a caller ---- */

void fz_resolve(fz_fut *u)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    void *r = NULL;
    int rc = crew_future_timedwait(u->f, &dl, &r);
    FZ_CHECK(rc != ETIMEDOUT, "future of task %ld not done after 10 s (lost wake-up?)", u->id);
    if (rc == ETIMEDOUT)
        return; /* leaked on purpose: the run failed anyway */
    unsigned char fl = atomic_load(&fz->flags[u->id]);
    if (rc == 0) {
        FZ_CHECK(r == fz_ret_of(u->id), "future of task %ld: wrong result", u->id);
        FZ_CHECK(crew_future_done(u->f), "crew_future_done false after a wait");
    } else if (rc == ECANCELED) {
        FZ_CHECK((fl & FZ_CANCEL_OK) || atomic_load(&fz->cancel_started),
                 "future of task %ld ECANCELED, never cancelled", u->id);
        atomic_fetch_add(&fz->cancels[u->id], 1);
    } else {
        FZ_CHECK(0, "crew_future_timedwait returned %d", rc);
    }
    crew_future_release(u->f);
    u->f = NULL;
    if (u->waiter != NULL) {
        fz_waiter *w = u->waiter;
        u->waiter = NULL;
        if (rc == ECANCELED) {
            /* The waiter never ran: its target is ours to wait for. */
            fz_fut t = {w->target, w->target_id, NULL};
            fz_resolve(&t);
        } else {
            FZ_CHECK(w->waited_rc == 0 || w->waited_rc == ECANCELED,
                     "a waiter task finished without waiting (%d)", w->waited_rc);
        }
        free(w);
    }
}

void fz_drop_fut(fz_caller *c, int i)
{
    c->futs[i] = c->futs[--c->nfuts];
}

void fz_op_submit(fz_caller *c, int release_early)
{
    if (!release_early && c->nfuts == FZ_FUTS) {
        fz_resolve(&c->futs[0]);
        fz_drop_fut(c, 0);
    }
    long id = fz_new_id(0);
    if (id < 0)
        return;
    int spawner = fz_rnd(&c->rng, 3) == 0;
    errno = 0;
    crew_future *f = crew_submit(fz->pool, spawner ? fz_spawner : fz_leaf, IP(id));
    if (f == NULL) {
        int err = errno;
        FZ_CHECK(fz_refusal_ok(err), "crew_submit: NULL with errno %d", err);
        atomic_fetch_add(&fz->n_refused, 1);
        return;
    }
    fz_set_flag(id, FZ_ACCEPTED);
    atomic_fetch_add(&fz->n_submits, 1);
    if (release_early) {
        fz_set_flag(id, FZ_RELEASED);
        crew_future_release(f);
        return;
    }
    c->futs[c->nfuts].f = f;
    c->futs[c->nfuts].id = id;
    c->futs[c->nfuts].waiter = NULL;
    c->nfuts++;
}

/* A target submitted from outside, then a waiter task on it. */
void fz_op_waiter(fz_caller *c)
{
    if (c->nfuts == FZ_FUTS) {
        fz_resolve(&c->futs[0]);
        fz_drop_fut(c, 0);
    }
    fz_waiter *w = calloc(1, sizeof *w);
    if (w == NULL)
        return;
    w->target_id = fz_new_id(0);
    w->id = fz_new_id(0);
    if (w->target_id < 0 || w->id < 0) {
        free(w);
        return;
    }
    w->timed = (int)fz_rnd(&c->rng, 2);
    w->waited_rc = -1;
    errno = 0;
    w->target = crew_submit(fz->pool, fz_leaf, IP(w->target_id));
    if (w->target == NULL) {
        FZ_CHECK(fz_refusal_ok(errno), "crew_submit: NULL with errno %d", errno);
        free(w);
        return;
    }
    fz_set_flag(w->target_id, FZ_ACCEPTED);
    /* Now and then cancel the target first: the waiter sees ECANCELED. */
    if (fz_rnd(&c->rng, 6) == 0 && crew_future_cancel(w->target) == 0)
        fz_set_flag(w->target_id, FZ_CANCEL_OK);
    errno = 0;
    crew_future *f = crew_submit(fz->pool, fz_waiter_task, w);
    if (f == NULL) {
        FZ_CHECK(fz_refusal_ok(errno), "crew_submit: NULL with errno %d", errno);
        fz_fut t = {w->target, w->target_id, NULL};
        fz_resolve(&t);
        free(w);
        return;
    }
    fz_set_flag(w->id, FZ_ACCEPTED);
    c->futs[c->nfuts].f = f;
    c->futs[c->nfuts].id = w->id;
    c->futs[c->nfuts].waiter = w;
    c->nfuts++;
}

void fz_op_post(fz_caller *c)
{
    long id = fz_new_id(0);
    if (id < 0)
        return;
    int spawner = fz_rnd(&c->rng, 3) == 0;
    int rc = crew_post(fz->pool, spawner ? fz_spawner : fz_leaf, IP(id));
    if (rc != 0) {
        FZ_CHECK(fz_refusal_ok(rc), "crew_post returned %d", rc);
        atomic_fetch_add(&fz->n_refused, 1);
        return;
    }
    fz_set_flag(id, FZ_ACCEPTED);
    atomic_fetch_add(&fz->n_posts, 1);
}

void fz_op_cancel(fz_caller *c)
{
    if (c->nfuts == 0)
        return;
    fz_fut *u = &c->futs[fz_rnd(&c->rng, (unsigned)c->nfuts)];
    int rc = crew_future_cancel(u->f);
    FZ_CHECK(rc == 0 || rc == EBUSY, "crew_future_cancel returned %d", rc);
    if (rc == 0) {
        fz_set_flag(u->id, FZ_CANCEL_OK);
        FZ_CHECK(crew_future_done(u->f), "cancelled, yet crew_future_done is false");
    }
}

void fz_op_timedwait(fz_caller *c)
{
    if (c->nfuts == 0)
        return;
    fz_fut *u = &c->futs[fz_rnd(&c->rng, (unsigned)c->nfuts)];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long ns = (long)fz_rnd(&c->rng, 3) * 500000; /* 0, 0.5 or 1 ms */
    ts.tv_nsec += ns;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    int rc = crew_future_timedwait(u->f, &ts, NULL);
    FZ_CHECK(rc == 0 || rc == ETIMEDOUT || rc == ECANCELED, "a short timed wait returned %d",
             rc);
    if (rc == 0 || rc == ECANCELED)
        FZ_CHECK(crew_future_done(u->f), "a wait returned, yet crew_future_done is false");
}

void fz_op_wait(fz_caller *c)
{
    if (c->nfuts == 0)
        return;
    int i = (int)fz_rnd(&c->rng, (unsigned)c->nfuts);
    fz_resolve(&c->futs[i]);
    fz_drop_fut(c, i);
}

void fz_op_done(fz_caller *c)
{
    for (int i = 0; i < c->nfuts; i++)
        if (crew_future_done(c->futs[i].f)) {
            /* Done means a wait returns at once: a zero-time timed wait
             * must not time out. */
            struct timespec past = {0, 0};
            int rc = crew_future_timedwait(c->futs[i].f, &past, NULL);
            FZ_CHECK(rc == 0 || rc == ECANCELED, "done, but a timed wait gave %d", rc);
        }
}

static void *fz_group_waiter(void *arg)
{
    FZ_CHECK(crew_group_wait(arg) == 0, "crew_group_wait on a worker");
    return NULL;
}

void fz_op_group(fz_caller *c)
{
    fz_gop *op = calloc(1, sizeof *op);
    if (op == NULL)
        return;
    op->seed = fz_splitmix(&c->rng);
    errno = 0;
    op->g = crew_group_create(fz->pool);
    FZ_CHECK(op->g != NULL, "crew_group_create: errno %d", errno);
    if (op->g == NULL) {
        free(op);
        return;
    }
    atomic_init(&op->n, 0);
    unsigned k = 1 + fz_rnd(&c->rng, 8);
    for (unsigned i = 0; i < k; i++) {
        int slot = atomic_fetch_add(&op->n, 1);
        if (slot >= FZ_GROUP_TASKS)
            break;
        long id = fz_new_id(0);
        if (id < 0)
            break;
        fz_gtask *t = &op->tasks[slot];
        t->id = id;
        t->op = op;
        t->depth = 0;
        int rc = crew_group_post(op->g, fz_group_task, t);
        if (rc != 0) {
            FZ_CHECK(fz_refusal_ok(rc), "crew_group_post returned %d", rc);
            atomic_fetch_add(&fz->n_refused, 1);
            continue;
        }
        fz_set_flag(id, FZ_ACCEPTED);
    }
    unsigned how = fz_rnd(&c->rng, 3);
    if (how == 2) {
        /* Waited for by a worker: it claims the group's unstarted tasks
         * and runs them itself. (The root is not in the group.) */
        int rc = crew_run(fz->pool, fz_group_waiter, op->g, NULL);
        FZ_CHECK(rc == 0 || (rc == ESHUTDOWN && fz_ending()), "crew_run returned %d", rc);
        how = 0;
    }
    if (how == 0) {
        FZ_CHECK(crew_group_wait(op->g) == 0, "crew_group_wait");
        /* Every task posted before the wait, and their children, finished
         * or were cancelled. */
        int n = atomic_load(&op->n);
        if (n > FZ_GROUP_TASKS)
            n = FZ_GROUP_TASKS;
        for (int i = 0; i < n; i++) {
            long id = op->tasks[i].id;
            if (!(atomic_load(&fz->flags[id]) & FZ_ACCEPTED))
                continue;
            int done = atomic_load(&fz->runs[id]) + atomic_load(&fz->cancels[id]);
            FZ_CHECK(done == 1, "group task %ld: %d runs and cancels when the wait returned", id,
                     done);
        }
    }
    crew_group_destroy(op->g); /* waits first */
    free(op);
    atomic_fetch_add(&fz->n_groups, 1);
}

void fz_op_run(fz_caller *c)
{
    long id = fz_new_id(0);
    if (id < 0)
        return;
    fz_root r = {c, id};
    void *res = NULL;
    int rc = crew_run(fz->pool, fz_root_fn, &r, &res);
    if (rc != 0) {
        FZ_CHECK(rc == ESHUTDOWN && fz_ending(), "crew_run returned %d", rc);
        return;
    }
    FZ_CHECK(res == fz_ret_of(id), "crew_run: wrong result");
    fz_set_flag(id, FZ_ACCEPTED);
    atomic_fetch_add(&fz->n_runs, 1);
}

/* A thread that lives for a few calls: posts, and the object pool. */
typedef struct fz_short {
    uint64_t seed;
    long token;
} fz_short;

static void *fz_short_thread(void *arg)
{
    fz_short *s = arg;
    uint64_t rng = s->seed;
    unsigned posts = fz_rnd(&rng, 6);
    for (unsigned i = 0; i < posts; i++) {
        long id = fz_new_id(0);
        if (id < 0)
            break;
        int rc = crew_post(fz->pool, fz_leaf, IP(id));
        if (rc != 0) {
            FZ_CHECK(fz_refusal_ok(rc), "crew_post from a short thread returned %d", rc);
            continue;
        }
        fz_set_flag(id, FZ_ACCEPTED);
    }
    fz_objpool_once(&rng, s->token);
    return NULL;
}

void fz_op_short_thread(fz_caller *c)
{
    fz_short s = {fz_splitmix(&c->rng), 2000000 + (long)c->index * 100000 + c->ops_done};
    pthread_t t;
    if (pthread_create(&t, NULL, fz_short_thread, &s) != 0)
        return;
    pthread_join(t, NULL);
    atomic_fetch_add(&fz->n_short_threads, 1);
}

void fz_op_stats(void)
{
    crew_stats st;
    crew_pool_stats(fz->pool, &st);
    FZ_CHECK(st.spawns <= st.tasks_run, "stats: more spawns than tasks run");
    crew_objpool_stats os;
    crew_objpool_stats_get(fz->objs, &os);
    FZ_CHECK(crew_pool_workers(fz->pool) == fz->workers, "crew_pool_workers");
}

