/* Suite `faults`: the scenario's calls from an outside thread: futures
 * (cancel, timed waits, release before done), posts, groups, crew_run and
 * the loops, then, with every worker held by a gate task, each kind of
 * call at an injection queue segment boundary, and shutdown with cancel. */
#include "faults/scenario.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "scheduler/internal.h"

/* ---- futures ---- */

static fx_future *fx_submit(fx *f)
{
    long id = fx_new_id();
    errno = 0;
    crew_future *fu = crew_submit(f->pool, fx_leaf, IP(id));
    if (fu == NULL) {
        FX_NULL_ERRNO(errno, "crew_submit");
        return NULL;
    }
    fx_accept(id);
    if (f->nfuts == FX_MAX_FUTURES) {
        fx_fail(__FILE__, __LINE__, "nfuts < FX_MAX_FUTURES", "too many futures");
        crew_future_release(fu);
        return NULL;
    }
    fx_future *u = &f->futs[f->nfuts++];
    u->f = fu;
    u->id = id;
    u->cancelled = 0;
    return u;
}

/* Waits (bounded: a lost wake-up fails with a message), checks, releases. */
static void fx_resolve(fx_future *u, int may_be_cancelled)
{
    if (u->f == NULL)
        return;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    void *r = NULL;
    int rc = crew_future_timedwait(u->f, &dl, &r);
    FX_CHECK(rc != ETIMEDOUT, "future %ld not done after 10 s (lost wake-up?)", u->id);
    if (rc == 0) {
        FX_CHECK(!u->cancelled, "future %ld ran after crew_future_cancel returned 0", u->id);
        FX_CHECK(r == IP(u->id * 7 + 3), "future %ld: wrong result", u->id);
        FX_CHECK(crew_future_done(u->f), "crew_future_done false after the wait");
        /* A second wait returns at once with the same result. */
        void *r2 = NULL;
        FX_CHECK(crew_future_wait(u->f, &r2) == 0 && r2 == r, "a second wait differs");
    } else if (rc == ECANCELED) {
        FX_CHECK(u->cancelled || may_be_cancelled, "future %ld ECANCELED, never cancelled",
                 u->id);
        atomic_fetch_add(&fx_cur->cancels[u->id], 1);
    } else if (rc != ETIMEDOUT) {
        FX_CHECK(0, "crew_future_timedwait returned %d", rc);
    }
    if (rc != ETIMEDOUT) {
        crew_future_release(u->f);
        u->f = NULL;
    }
}

void fx_resolve_all(fx *f, int may_be_cancelled)
{
    for (int i = 0; i < f->nfuts; i++)
        fx_resolve(&f->futs[i], may_be_cancelled);
}

void fx_executor(fx *f)
{
    fx_phase(f, "submit and post");
    for (int i = 0; i < 6; i++)
        fx_submit(f);
    for (int i = 0; i < 6; i++) {
        long id = fx_new_id();
        int rc = crew_post(f->pool, fx_leaf, IP(id));
        FX_RC(rc, "crew_post");
        if (rc == 0)
            fx_accept(id);
    }

    fx_phase(f, "release before done");
    long early[2];
    int nearly = 0;
    for (int i = 0; i < 2; i++) {
        long id = fx_new_id();
        errno = 0;
        crew_future *fu = crew_submit(f->pool, fx_leaf, IP(id));
        if (fu == NULL) {
            FX_NULL_ERRNO(errno, "crew_submit");
            continue;
        }
        fx_accept(id);
        atomic_store(&f->released[id], 1);
        crew_future_release(fu); /* it still runs */
        early[nearly++] = id;
    }

    fx_phase(f, "cancel");
    fx_future *c = fx_submit(f);
    if (c != NULL) {
        int rc = crew_future_cancel(c->f);
        FX_CHECK(rc == 0 || rc == EBUSY, "crew_future_cancel returned %d", rc);
        c->cancelled = rc == 0;
        if (rc == 0)
            FX_CHECK(crew_future_done(c->f), "cancelled, but crew_future_done is false");
        FX_CHECK(crew_future_cancel(c->f) == (c->cancelled ? 0 : EBUSY), "a second cancel");
    }

    fx_phase(f, "timed waits");
    fx_future *t = fx_submit(f);
    if (t != NULL) {
        struct timespec past;
        clock_gettime(CLOCK_REALTIME, &past);
        past.tv_sec -= 1;
        int rc = crew_future_timedwait(t->f, &past, NULL);
        FX_CHECK(rc == 0 || rc == ETIMEDOUT, "a timed wait in the past returned %d", rc);
        struct timespec bad = past;
        bad.tv_nsec = 1000000000;
        FX_CHECK(crew_future_timedwait(t->f, &bad, NULL) == EINVAL, "tv_nsec 1e9 not EINVAL");
        struct timespec soon;
        clock_gettime(CLOCK_REALTIME, &soon);
        soon.tv_nsec += 2000000;
        if (soon.tv_nsec >= 1000000000) {
            soon.tv_sec++;
            soon.tv_nsec -= 1000000000;
        }
        rc = crew_future_timedwait(t->f, &soon, NULL);
        FX_CHECK(rc == 0 || rc == ETIMEDOUT, "a 2 ms timed wait returned %d", rc);
    }

    fx_phase(f, "waits");
    fx_resolve_all(f, 0);

    /* Released futures must still run (nothing cancels yet). */
    for (int i = 0; i < nearly; i++) {
        double t0 = fx_now_s();
        while (atomic_load(&f->runs[early[i]]) == 0 && fx_now_s() - t0 < 5)
            fx_sleep_us(100);
        FX_CHECK(atomic_load(&f->runs[early[i]]) == 1,
                 "a future released before done: its task ran %d times in 5 s",
                 atomic_load(&f->runs[early[i]]));
    }
}

void fx_groups(fx *f)
{
    fx_phase(f, "groups");
    errno = 0;
    crew_group *g = crew_group_create(f->pool);
    if (g == NULL) {
        FX_NULL_ERRNO(errno, "crew_group_create");
        return;
    }
    f->group = g;
    long ids[6];
    int ok[6];
    for (int k = 0; k < 6; k++) {
        ids[k] = fx_new_id();
        int rc = crew_group_post(g, k % 2 ? fx_group_parent : fx_leaf, IP(ids[k]));
        FX_RC(rc, "crew_group_post");
        ok[k] = rc == 0;
        if (ok[k])
            fx_accept(ids[k]);
    }
    FX_CHECK(crew_group_wait(g) == 0, "crew_group_wait");
    for (int k = 0; k < 6; k++)
        if (ok[k])
            FX_CHECK(atomic_load(&f->runs[ids[k]]) == 1,
                     "group task %ld had run %d times when the wait returned", ids[k],
                     atomic_load(&f->runs[ids[k]]));
    f->group = NULL;
    crew_group_destroy(g);
}

void fx_run_and_loops(fx *f)
{
    fx_phase(f, "crew_run");
    long id = fx_new_id();
    void *r = NULL;
    int rc = crew_run(f->pool, fx_root, IP(id), &r);
    FX_RC(rc, "crew_run");
    if (rc == 0) {
        fx_accept(id);
        FX_CHECK(r == IP(id * 7 + 3), "crew_run: wrong result");
    }

    fx_phase(f, "parallel_for");
    _Atomic int seen[FX_LOOP_N];
    for (int i = 0; i < FX_LOOP_N; i++)
        atomic_init(&seen[i], 0);
    fx_visit v = {seen, FX_LOOP_N};
    rc = crew_parallel_for(f->pool, 0, FX_LOOP_N, 0, fx_mark, &v);
    FX_RC(rc, "crew_parallel_for");
    fx_check_visits(&v, rc, "crew_parallel_for");

    fx_phase(f, "parallel_reduce");
    long zero = 0, sum = -1;
    rc = crew_parallel_reduce(f->pool, 0, FX_LOOP_N, 10, sizeof(long), &zero, fx_sum_range,
                              fx_sum_combine, NULL, &sum);
    FX_RC(rc, "crew_parallel_reduce");
    FX_CHECK(sum == (rc == 0 ? (long)FX_LOOP_N * (FX_LOOP_N - 1) / 2 : -1),
             "crew_parallel_reduce returned %d and the result is %ld", rc, sum);

    fx_phase(f, "parallel_map");
    int in[FX_MAP_N], out[FX_MAP_N];
    for (int i = 0; i < FX_MAP_N; i++) {
        in[i] = i - 50;
        out[i] = 12345;
    }
    rc = crew_parallel_map(f->pool, in, sizeof in[0], out, sizeof out[0], FX_MAP_N, 0,
                           fx_double, NULL);
    FX_RC(rc, "crew_parallel_map");
    long bad = 0;
    for (int i = 0; i < FX_MAP_N; i++)
        bad += out[i] != (rc == 0 ? 2 * in[i] : 12345);
    FX_CHECK(bad == 0, "crew_parallel_map returned %d and %ld outputs are wrong", rc, bad);
}

/* ---- shutdown with cancel ---- */

typedef struct fx_runner {
    long id;
    int rc;
    void *result;
} fx_runner;

static void *fx_run_thread(void *arg)
{
    fx_runner *h = arg;
    h->rc = crew_run(fx_cur->pool, fx_leaf, IP(h->id), &h->result);
    return NULL;
}

/* ---- each kind of outside call at a queue segment boundary ---- */

/* The injection queue takes a new segment when a push claims a segment's
 * last slot (every CREW_INJ_SLOTS items); with the workers held by the
 * gates nothing is consumed, so no segment is recycled and that one must
 * be allocated. Before each kind of call below, fillers bring the queue to
 * the boundary, so that the call's own push is the one that allocates: the
 * sweep then fails it with ENOMEM at some point. */

static uint64_t fx_pushed(crew_pool *p)
{
    return crew_injector_pushed(&p->inj);
}

static void fx_fill_to_boundary(fx *f)
{
    while (fx_pushed(f->pool) % CREW_INJ_SLOTS != CREW_INJ_SLOTS - 1) {
        long id = fx_new_id();
        int rc = crew_post(f->pool, fx_leaf, IP(id));
        /* A filler never takes a last slot, so never allocates. */
        FX_CHECK(rc == 0, "a filler post returned %d", rc);
        if (rc != 0)
            return;
        fx_accept(id);
    }
}

enum { FXB_RUN, FXB_FOR, FXB_REDUCE, FXB_MAP, FXB_GRAPH, FXB_KINDS };
static const char *const fxb_names[FXB_KINDS] = {
    "crew_run at a segment boundary", "crew_parallel_for at a segment boundary",
    "crew_parallel_reduce at a segment boundary", "crew_parallel_map at a segment boundary",
    "crew_graph_run at a segment boundary"};

enum { FXB_N = 64 };

/* A blocking call made from a thread of its own (it returns only once the
 * gates open), and what it needs to check its outcome. */
typedef struct fx_blocked {
    int kind;
    int rc;
    _Atomic int done;
    long id;
    _Atomic int seen[FXB_N];
    long sum;
    int in[FXB_N], out[FXB_N];
    crew_graph *graph;
    long node_ids[3];
    int node_added[3];
    pthread_t thread;
    int started;
} fx_blocked;

static void *fx_blocked_main(void *arg)
{
    fx_blocked *b = arg;
    crew_pool *p = fx_cur->pool;
    fx_visit v = {b->seen, FXB_N};
    long zero = 0;
    switch (b->kind) {
    case FXB_RUN:
        b->rc = crew_run(p, fx_leaf, IP(b->id), NULL);
        break;
    case FXB_FOR:
        b->rc = crew_parallel_for(p, 0, FXB_N, 5, fx_mark, &v);
        break;
    case FXB_REDUCE:
        b->rc = crew_parallel_reduce(p, 0, FXB_N, 5, sizeof(long), &zero, fx_sum_range,
                                     fx_sum_combine, NULL, &b->sum);
        break;
    case FXB_MAP:
        b->rc = crew_parallel_map(p, b->in, sizeof b->in[0], b->out, sizeof b->out[0], FXB_N, 5,
                                  fx_double, NULL);
        break;
    case FXB_GRAPH:
        b->rc = crew_graph_run(p, b->graph);
        break;
    }
    atomic_store(&b->done, 1);
    return NULL;
}

static void fx_blocked_start(fx *f, fx_blocked *b, int kind)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->rc = -1;
    b->sum = -1;
    for (int i = 0; i < FXB_N; i++) {
        atomic_init(&b->seen[i], 0);
        b->in[i] = i;
        b->out[i] = -7;
    }
    if (kind == FXB_RUN)
        b->id = fx_new_id();
    if (kind == FXB_GRAPH) {
        errno = 0;
        b->graph = crew_graph_create();
        if (b->graph == NULL) {
            FX_NULL_ERRNO(errno, "crew_graph_create");
            return;
        }
        crew_node *n[3];
        for (int k = 0; k < 3; k++) {
            b->node_ids[k] = fx_new_id();
            errno = 0;
            n[k] = crew_graph_add(b->graph, fx_leaf, IP(b->node_ids[k]));
            b->node_added[k] = n[k] != NULL;
            if (n[k] == NULL)
                FX_NULL_ERRNO(errno, "crew_graph_add");
        }
        if (n[0] != NULL && n[1] != NULL)
            FX_RC(crew_graph_precede(n[0], n[1]), "crew_graph_precede");
    }
    fx_fill_to_boundary(f);
    uint64_t before = fx_pushed(f->pool);
    b->started = pthread_create(&b->thread, NULL, fx_blocked_main, b) == 0;
    FX_CHECK(b->started, "pthread_create failed");
    if (!b->started)
        return;
    /* Wait for its push (or its failure) before the next boundary. */
    double t0 = fx_now_s();
    while (fx_pushed(f->pool) == before && !atomic_load(&b->done) && fx_now_s() - t0 < 5)
        fx_sleep_us(20);
    FX_CHECK(fx_pushed(f->pool) != before || atomic_load(&b->done),
             "%s neither queued nor returned in 5 s", fxb_names[kind]);
}

/* After the shutdown: it returned; check what it did. */
static void fx_blocked_finish(fx_blocked *b)
{
    if (!b->started)
        return;
    pthread_join(b->thread, NULL);
    const char *what = fxb_names[b->kind];
    int rc = b->rc;
    /* Queued before the close: run (crew_run roots are never cancelled);
     * after it: ESHUTDOWN; at the boundary: ENOMEM. */
    FX_CHECK(rc == 0 || rc == ESHUTDOWN || (rc == ENOMEM && fx_nomem_ok()),
             "%s returned %d", what, rc);
    if (rc == ENOMEM)
        fx_saw(what);
    fx_visit v = {b->seen, FXB_N};
    long bad = 0;
    switch (b->kind) {
    case FXB_RUN:
        if (rc == 0)
            fx_accept(b->id);
        break;
    case FXB_FOR:
        fx_check_visits(&v, rc, what);
        break;
    case FXB_REDUCE:
        FX_CHECK(b->sum == (rc == 0 ? (long)FXB_N * (FXB_N - 1) / 2 : -1),
                 "%s returned %d and the result is %ld", what, rc, b->sum);
        break;
    case FXB_MAP:
        for (int i = 0; i < FXB_N; i++)
            bad += b->out[i] != (rc == 0 ? 2 * b->in[i] : -7);
        FX_CHECK(bad == 0, "%s returned %d and %ld outputs are wrong", what, rc, bad);
        break;
    case FXB_GRAPH:
        if (b->graph != NULL && rc == 0)
            for (int k = 0; k < 3; k++)
                if (b->node_added[k])
                    fx_accept(b->node_ids[k]);
        crew_graph_destroy(b->graph);
        break;
    }
}

void fx_shutdown_cancelling(fx *f)
{
    fx_phase(f, "gates");
    atomic_store(&f->gate_open, 0);
    atomic_store(&f->gate_started, 0);
    int gates = 0;
    for (unsigned w = 0; w < f->workers; w++) {
        long id = fx_new_id();
        int rc = crew_post(f->pool, fx_gate, IP(id));
        FX_RC(rc, "crew_post");
        if (rc == 0) {
            fx_accept(id);
            gates++;
        }
    }
    /* A posted task on an idle pool starts: not within 5 s is a lost
     * wake-up. */
    double t0 = fx_now_s();
    while (atomic_load(&f->gate_started) < gates && fx_now_s() - t0 < 5)
        fx_sleep_us(50);
    FX_CHECK(atomic_load(&f->gate_started) == gates, "%d of %d gate tasks started in 5 s",
             atomic_load(&f->gate_started), gates);

    fx_phase(f, "queued behind the gates");
    /* With every worker held, each kind of call at a segment boundary. The
     * fillers are posts, so on_cancel will open the gates. */
    int cancellable_posts = 0;
    int first_fut = f->nfuts;
    if (atomic_load(&f->gate_started) == (int)f->workers) {
        fx_fill_to_boundary(f);
        long id = fx_new_id();
        int rc = crew_post(f->pool, fx_leaf, IP(id));
        FX_RC(rc, "crew_post at a segment boundary");
        if (rc == 0)
            fx_accept(id);
        fx_fill_to_boundary(f);
        fx_submit(f);
        cancellable_posts = 1;
    }
    fx_blocked blocked[FXB_KINDS];
    int nblocked = 0;
    if (atomic_load(&f->gate_started) == (int)f->workers)
        for (; nblocked < FXB_KINDS; nblocked++)
            fx_blocked_start(f, &blocked[nblocked], nblocked);
    for (int i = 0; i < 4; i++) {
        long id = fx_new_id();
        int rc = crew_post(f->pool, fx_leaf, IP(id));
        FX_RC(rc, "crew_post");
        if (rc == 0) {
            fx_accept(id);
            cancellable_posts++;
        }
    }
    for (int i = 0; i < 3; i++)
        fx_submit(f);
    errno = 0;
    crew_group *g = crew_group_create(f->pool);
    if (g == NULL)
        FX_NULL_ERRNO(errno, "crew_group_create");
    f->group = g;
    if (g != NULL) {
        for (int k = 0; k < 2; k++) {
            long id = fx_new_id();
            int rc = crew_group_post(g, k ? fx_group_parent : fx_leaf, IP(id));
            FX_RC(rc, "crew_group_post");
            if (rc == 0) {
                fx_accept(id);
                cancellable_posts++;
            }
        }
    }
    /* A crew_run root racing the shutdown: run (never cancelled) or
     * refused, ESHUTDOWN or ENOMEM. */
    fx_runner h = {fx_new_id(), -1, NULL};
    pthread_t th;
    int started = pthread_create(&th, NULL, fx_run_thread, &h) == 0;
    FX_CHECK(started, "pthread_create failed");

    /* on_cancel opens the gate; with nothing that would reach it, open it
     * now (futures are cancelled without on_cancel). */
    if (cancellable_posts == 0)
        atomic_store(&f->gate_open, 1);
    fx_phase(f, "shutdown with cancel");
    atomic_store(&f->cancelling, 1);
    int rc = crew_pool_shutdown(f->pool, true);
    FX_CHECK(rc == 0, "crew_pool_shutdown(cancel) returned %d", rc);
    atomic_store(&f->gate_open, 1);
    if (started) {
        pthread_join(th, NULL);
        FX_CHECK(h.rc == 0 || h.rc == ESHUTDOWN || (h.rc == ENOMEM && fx_nomem_ok()),
                 "crew_run racing shutdown returned %d", h.rc);
        if (h.rc == ENOMEM)
            fx_saw("crew_run racing shutdown");
        if (h.rc == 0) {
            fx_accept(h.id);
            FX_CHECK(h.result == IP(h.id * 7 + 3), "crew_run racing shutdown: wrong result");
        }
    }

    for (int i = 0; i < nblocked; i++)
        fx_blocked_finish(&blocked[i]);
    /* Nothing is queued once shutdown has returned and the calls racing it
     * (the crew_run root, the blocked producers) have returned too: a
     * bounded queue has all its places back (a failed push that kept its
     * place would shrink the queue for good). Checked only then: a call
     * still in flight holds the place it took until its push fails
     * (ESHUTDOWN, ENOMEM) and it gives the place back, which CI caught
     * as a count of 1 right after shutdown. Internal: the count behind
     * queue_limit. */
    if (f->queue_limit != 0) {
        int64_t q = atomic_load(&f->pool->queued);
        FX_CHECK(q == 0, "after shutdown the bounded queue still counts %lld places taken",
                 (long long)q);
    }

    fx_phase(f, "after shutdown");
    FX_CHECK(crew_post(f->pool, fx_leaf, IP(0)) == ESHUTDOWN, "post after shutdown");
    /* A submit allocates its record before it finds the pool closed: out
     * of memory first is a documented answer too. */
    errno = 0;
    crew_future *late = crew_submit(f->pool, fx_leaf, IP(0));
    int late_err = errno;
    FX_CHECK(late == NULL && (late_err == ESHUTDOWN || (late_err == ENOMEM && fx_nomem_ok())),
             "submit after shutdown: errno %d", late_err);
    crew_future_release(late);
    FX_CHECK(crew_run(f->pool, fx_leaf, IP(0), NULL) == ESHUTDOWN, "crew_run after shutdown");
    _Atomic int seen[4];
    for (int i = 0; i < 4; i++)
        atomic_init(&seen[i], 0);
    fx_visit v = {seen, 4};
    FX_CHECK(crew_parallel_for(f->pool, 0, 4, 1, fx_mark, &v) == ESHUTDOWN,
             "parallel_for after shutdown");
    fx_check_visits(&v, ESHUTDOWN, "parallel_for after shutdown");
    if (g != NULL) {
        int grc = crew_group_post(g, fx_leaf, IP(0));
        FX_CHECK(grc == ESHUTDOWN || (grc == ENOMEM && fx_nomem_ok()),
                 "group post after shutdown: %d", grc);
    }
    if (f->graph != NULL) {
        /* A graph left dirty by an earlier failure prepares first, and
         * that may still run out of memory. */
        int grc = crew_graph_run(f->pool, f->graph);
        FX_CHECK(grc == ESHUTDOWN || (grc == ENOMEM && fx_nomem_ok()),
                 "graph run after shutdown returned %d", grc);
    }
    FX_CHECK(crew_pool_shutdown(f->pool, false) == 0, "a second shutdown");

    for (int i = first_fut; i < f->nfuts; i++)
        fx_resolve(&f->futs[i], 1);
    if (g != NULL) {
        FX_CHECK(crew_group_wait(g) == 0, "crew_group_wait after shutdown");
        f->group = NULL;
        crew_group_destroy(g);
    }
}

