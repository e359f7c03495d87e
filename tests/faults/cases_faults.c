/*
 * Suite `faults`: one scenario that calls every public function of crew.h
 * (a pool created with a trace path, a second pool, submit, post, cancel,
 * timed waits, release before done, groups, crew_run with nested spawns,
 * cross-pool runs, loops, reduce, map, graphs with edits and a cycle, the
 * object pool, shutdown with cancel, destroy), run once per allocation:
 * the sweep arms the fault hook (src/common/fault.h) to fail allocation N,
 * for N = 0, 1, 2, ... until the scenario no longer reaches N. Then the
 * same for worker thread creation (EAGAIN).
 *
 * At every point:
 *   - each call returns success or its documented error (ENOMEM, or NULL
 *     with errno ENOMEM; EAGAIN for pool creation without threads), and a
 *     call that failed had no effect (a loop that got ENOMEM ran nothing,
 *     a graph run that got ENOMEM ran no node, reduce left *result alone);
 *   - every accepted task ran exactly once or was reported cancelled
 *     (on_cancel for posts and group tasks, ECANCELED for futures), and no
 *     refused task ever ran: counted per task id;
 *   - nothing leaks: in the ASan build each point ends with a leak check
 *     (LeakSanitizer's recoverable check), so a leak names its point.
 *
 * Allocations made by the workers in the background (a worker's trace
 * buffer on its first event, records of tasks submitted from inside) count
 * too: with two workers a sweep point may land on either side of a race.
 * Every outcome is checked, so that only changes which call fails; the
 * sweep ends after several points in a row reach no failure, and the
 * one-worker sweep is the near-deterministic twin.
 */
#include "faults_cases.h"

#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fault.h"
#include "faults/watchdog.h"
#include "scheduler/internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define FX_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FX_LSAN 1
#endif
#endif
#ifdef FX_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define IP(x) ((void *)(intptr_t)(x))
#define PI(p) ((long)(intptr_t)(p))

enum {
    FX_MAX_TASKS = 2048,
    FX_MAX_FUTURES = 64,
    FX_NODES = 9,     /* graph nodes: 8 at first, one added by an edit */
    FX_WIDE = 300,    /* spawns in one frame: the deque must grow */
    FX_LOOP_N = 1000, /* outside parallel_for */
    FX_NESTED_N = 300,
    FX_MAP_N = 200,
    FX_OBJS = 6,
    FX_INSIDE_SUBMITS = 40, /* futures held at once by one task */
    FX_INSIDE_POSTS = 20,
    /* Points in a row that reach no failure before the sweep ends: with
     * two workers the number of allocations a run makes varies a little. */
    FX_QUIET_RUNS = 6,
    FX_MAX_POINTS = 20000,
};

typedef struct fx_future {
    crew_future *f;
    long id;
    int cancelled; /* crew_future_cancel returned 0: it must never run */
} fx_future;

typedef struct fx {
    long point; /* the allocation or thread creation that fails; -1: none */
    int threads; /* the point is a thread creation (else an allocation) */
    unsigned workers;
    size_t queue_limit; /* of the main pool: 0, or large enough never to refuse */
    _Atomic(const char *) phase; /* for messages; tasks read it too */

    crew_pool *pool, *other;
    crew_objpool *objs;
    crew_graph *graph;
    crew_group *group; /* where group tasks post their children */

    _Atomic long next_id;
    _Atomic int runs[FX_MAX_TASKS];
    _Atomic int cancels[FX_MAX_TASKS];
    _Atomic int accepted[FX_MAX_TASKS];
    _Atomic int released[FX_MAX_TASKS]; /* futures released before done */

    fx_future futs[FX_MAX_FUTURES];
    int nfuts;

    _Atomic int gate_open, gate_started;
    _Atomic int cancelling; /* shutdown with cancel_pending has begun */

    _Atomic long obj_init_calls, obj_inits, obj_finis, obj_resets;

    crew_node *nodes[FX_NODES];
    int edge[FX_NODES][FX_NODES]; /* precede(u, v) returned 0 */
    _Atomic int node_runs[FX_NODES];

    _Atomic int wide_runs[FX_WIDE];

    _Atomic int failures;
    pthread_mutex_t msg_lock;
    char first_failure[768];
} fx;

static fx *cur;

/* ---- failure reports (any thread) ---- */

static void fx_fail(int line, const char *cond, const char *fmt, ...)
{
    fx *f = cur;
    if (atomic_fetch_add(&f->failures, 1) != 0)
        return;
    char detail[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&f->msg_lock);
    snprintf(f->first_failure, sizeof f->first_failure,
             "cases_faults.c:%d: %s: %s [%s, %u workers, phase %s]", line, cond, detail,
             f->point < 0 ? "no fault" : "fault armed", f->workers,
             atomic_load_explicit(&f->phase, memory_order_relaxed));
    pthread_mutex_unlock(&f->msg_lock);
}

#define FX_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond))                                                         \
            fx_fail(__LINE__, #cond, __VA_ARGS__);                           \
    } while (0)

static void fx_phase(fx *f, const char *p)
{
    atomic_store_explicit(&f->phase, p, memory_order_relaxed);
}

/* Out of memory is a documented outcome only when a fault is armed. */
static int fx_nomem_ok(void)
{
    return cur->point >= 0 && !cur->threads;
}

/* What a failed crew_pool_create may say at this point. */
static int fx_create_errno_ok(int err)
{
    return cur->point >= 0 && err == (cur->threads ? EAGAIN : ENOMEM);
}

/* Which calls gave their documented error during a sweep, and how often:
 * printed at its end, so that a sweep that stopped reaching a call shows. */
enum { FX_SEEN_MAX = 48 };
static struct {
    const char *what;
    long n;
} fx_seen[FX_SEEN_MAX];
static pthread_mutex_t fx_seen_lock = PTHREAD_MUTEX_INITIALIZER;

static void fx_saw(const char *what)
{
    pthread_mutex_lock(&fx_seen_lock);
    int i = 0;
    while (i < FX_SEEN_MAX && fx_seen[i].what != NULL && strcmp(fx_seen[i].what, what) != 0)
        i++;
    if (i < FX_SEEN_MAX) {
        fx_seen[i].what = what;
        fx_seen[i].n++;
    }
    pthread_mutex_unlock(&fx_seen_lock);
}

static void fx_seen_print(const char *kind)
{
    fprintf(stderr, "faults: calls that gave %s:", kind);
    for (int i = 0; i < FX_SEEN_MAX && fx_seen[i].what != NULL; i++) {
        fprintf(stderr, "%s %s (%ld)", i ? "," : "", fx_seen[i].what, fx_seen[i].n);
        fx_seen[i].what = NULL;
        fx_seen[i].n = 0;
    }
    fputc('\n', stderr);
}

/* A call's int result: 0, or ENOMEM (under a fault). */
#define FX_RC(rc, what)                                                      \
    do {                                                                     \
        int fx_rc_ = (rc);                                                   \
        FX_CHECK(fx_rc_ == 0 || (fx_rc_ == ENOMEM && fx_nomem_ok()), "%s returned %d (%s)", \
                 what, fx_rc_, strerror(fx_rc_));                            \
        if (fx_rc_ == ENOMEM)                                                \
            fx_saw(what);                                                    \
    } while (0)

/* A NULL pointer result: errno must be ENOMEM (under a fault). */
#define FX_NULL_ERRNO(err, what)                                             \
    do {                                                                     \
        int fx_err_ = (err);                                                 \
        FX_CHECK(fx_err_ == ENOMEM && fx_nomem_ok(), "%s: NULL with errno %d (%s)", what, \
                 fx_err_, strerror(fx_err_));                                \
        fx_saw(what);                                                        \
    } while (0)

static long fx_new_id(void)
{
    long id = atomic_fetch_add(&cur->next_id, 1);
    if (id >= FX_MAX_TASKS) {
        fx_fail(__LINE__, "id < FX_MAX_TASKS", "the scenario made too many tasks");
        return FX_MAX_TASKS - 1;
    }
    return id;
}

/* Marks task `id` accepted, remembering the line that accepted it. */
static void fx_accept_at(long id, int line)
{
    atomic_store(&cur->accepted[id], line);
}
#define fx_accept(id) fx_accept_at((id), __LINE__)

static void fx_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static double fx_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- tasks ---- */

static void *fx_leaf(void *arg)
{
    long id = PI(arg);
    atomic_fetch_add(&cur->runs[id], 1);
    return IP(id * 7 + 3);
}

/* Holds a worker until the gate opens (the first on_cancel opens it), so
 * that what is posted behind it is still queued when shutdown cancels. */
static void *fx_gate(void *arg)
{
    long id = PI(arg);
    atomic_fetch_add(&cur->runs[id], 1);
    atomic_fetch_add(&cur->gate_started, 1);
    double t0 = fx_now_s();
    while (!atomic_load(&cur->gate_open) && fx_now_s() - t0 < 5)
        fx_sleep_us(100);
    FX_CHECK(atomic_load(&cur->gate_open), "a gate task waited 5 s for its gate");
    return NULL;
}

/* A group task that posts two children into its own group (from inside the
 * pool: no queue limit, accepted even during shutdown). */
static void *fx_group_parent(void *arg)
{
    long id = PI(arg);
    atomic_fetch_add(&cur->runs[id], 1);
    for (int k = 0; k < 2; k++) {
        long c = fx_new_id();
        int rc = crew_group_post(cur->group, fx_leaf, IP(c));
        FX_RC(rc, "crew_group_post from a group task");
        if (rc == 0)
            fx_accept(c);
    }
    return NULL;
}

static void fx_on_cancel(crew_fn fn, void *arg, void *ctx)
{
    fx *f = ctx;
    FX_CHECK(f == cur, "on_cancel got the wrong ctx");
    FX_CHECK(atomic_load(&f->cancelling), "on_cancel called outside shutdown(cancel)");
    FX_CHECK(fn == fx_leaf || fn == fx_gate || fn == fx_group_parent,
             "on_cancel got a function that was never posted");
    FX_CHECK(crew_worker_index() == -1, "on_cancel ran on a worker");
    atomic_fetch_add(&f->cancels[PI(arg)], 1);
    atomic_store(&f->gate_open, 1);
}

/* ---- fork-join ---- */

static void *fx_fib(void *arg)
{
    long n = PI(arg);
    if (n < 2)
        return arg;
    crew_task t;
    void *b;
    if (n % 3 == 0) {
        /* The out-of-line copies, and crew_sync_call, now and then. */
        crew_spawn_extern(&t, fx_fib, IP(n - 1));
        b = fx_fib(IP(n - 2));
        return IP(PI(crew_sync_extern(&t)) + PI(b));
    }
    crew_spawn(&t, fx_fib, IP(n - 1));
    b = fx_fib(IP(n - 2));
    void *a = n % 3 == 1 ? crew_sync_call(&t, fx_fib) : crew_sync(&t);
    return IP(PI(a) + PI(b));
}

static void *fx_wide_child(void *arg)
{
    atomic_fetch_add(&cur->wide_runs[PI(arg)], 1);
    return arg;
}

/* FX_WIDE spawns in one frame: the private prefix fills (64), publishing
 * pushes the rest to the deque, which must grow past 256; a growth that
 * fails leaves tasks private, and they run at their sync. Never fails. */
static void fx_wide(void)
{
    crew_task t[FX_WIDE];
    for (long i = 0; i < FX_WIDE; i++) {
        atomic_store(&cur->wide_runs[i], 0);
        crew_spawn(&t[i], fx_wide_child, IP(i));
    }
    for (long i = FX_WIDE; i-- > 0;)
        FX_CHECK(PI(crew_sync(&t[i])) == i, "wide spawn %ld: wrong result", i);
    for (long i = 0; i < FX_WIDE; i++)
        FX_CHECK(atomic_load(&cur->wide_runs[i]) == 1, "wide spawn %ld ran %d times", i,
                 atomic_load(&cur->wide_runs[i]));
}

/* ---- loops ---- */

typedef struct fx_visit {
    _Atomic int *seen;
    size_t n;
} fx_visit;

static int fx_mark(size_t b, size_t e, void *arg)
{
    fx_visit *v = arg;
    for (size_t i = b; i < e; i++)
        atomic_fetch_add(&v->seen[i], 1);
    return 0;
}

/* Every index once (rc 0) or none (rc != 0). */
static void fx_check_visits(fx_visit *v, int rc, const char *what)
{
    long bad = 0;
    for (size_t i = 0; i < v->n; i++)
        bad += atomic_load(&v->seen[i]) != (rc == 0 ? 1 : 0);
    FX_CHECK(bad == 0, "%s returned %d and %ld indices were visited a wrong number of times",
             what, rc, bad);
}

static void fx_sum_range(size_t b, size_t e, void *acc, void *arg)
{
    (void)arg;
    for (size_t i = b; i < e; i++)
        *(long *)acc += (long)i;
}

static void fx_sum_combine(void *acc, const void *right, void *arg)
{
    (void)arg;
    *(long *)acc += *(const long *)right;
}

static void fx_double(const void *in, void *out, void *arg)
{
    (void)arg;
    *(int *)out = 2 * *(const int *)in;
}

/* ---- object pool ---- */

#define FX_MAGIC 0x5eed5eedu

typedef struct fx_obj {
    unsigned magic;
    long holder;
    char pad[32];
} fx_obj;

static int fx_obj_init(void *obj, void *ctx)
{
    fx *f = ctx;
    /* Every fifth init fails with a value of its own: acquire must pass it
     * on as errno and count nothing. */
    if (atomic_fetch_add(&f->obj_init_calls, 1) % 5 == 4)
        return EILSEQ;
    ((fx_obj *)obj)->magic = FX_MAGIC;
    ((fx_obj *)obj)->holder = -1;
    atomic_fetch_add(&f->obj_inits, 1);
    return 0;
}

static void fx_obj_reset(void *obj, void *ctx)
{
    fx *f = ctx;
    FX_CHECK(((fx_obj *)obj)->magic == FX_MAGIC, "reset of an object init never built");
    ((fx_obj *)obj)->holder = -1;
    atomic_fetch_add(&f->obj_resets, 1);
}

static void fx_obj_fini(void *obj, void *ctx)
{
    fx *f = ctx;
    FX_CHECK(((fx_obj *)obj)->magic == FX_MAGIC, "fini of an object init never built");
    ((fx_obj *)obj)->magic = 0;
    atomic_fetch_add(&f->obj_finis, 1);
}

/* Acquires up to FX_OBJS objects, checks they are distinct, initialized
 * and unheld, and releases them. `holder` tells the callers apart. */
static void fx_objects(long holder)
{
    crew_objpool *p = cur->objs;
    if (p == NULL)
        return;
    fx_obj *held[FX_OBJS];
    int n = 0;
    for (int i = 0; i < FX_OBJS; i++) {
        errno = 0;
        fx_obj *o = crew_objpool_acquire(p);
        if (o == NULL) {
            int err = errno;
            FX_CHECK(err == EILSEQ || (err == ENOMEM && fx_nomem_ok()),
                     "crew_objpool_acquire: NULL with errno %d", err);
            if (err == ENOMEM)
                fx_saw("crew_objpool_acquire");
            continue;
        }
        FX_CHECK(((uintptr_t)o % _Alignof(max_align_t)) == 0, "object misaligned");
        FX_CHECK(o->magic == FX_MAGIC, "acquired an object init never built");
        FX_CHECK(o->holder == -1, "acquired an object held by %ld", o->holder);
        o->holder = holder;
        for (int k = 0; k < n; k++)
            FX_CHECK(held[k] != o, "one object handed out twice");
        held[n++] = o;
    }
    for (int k = 0; k < n; k++) {
        FX_CHECK(held[k]->holder == holder, "an object changed hands while held");
        crew_objpool_release(p, held[k]);
    }
}

/* ---- graphs ---- */

static void *fx_node(void *arg)
{
    long i = PI(arg);
    for (int u = 0; u < FX_NODES; u++)
        if (cur->edge[u][i])
            FX_CHECK(atomic_load(&cur->node_runs[u]) == 1,
                     "node %ld started before its predecessor %d returned", i, u);
    atomic_fetch_add(&cur->node_runs[i], 1);
    return IP(i + 100);
}

/* One run of the scenario's graph from wherever the caller is: every node
 * once in order (rc 0), or none (ENOMEM: only a preparation allocates). */
static void fx_graph_run(crew_pool *p, const char *what)
{
    fx *f = cur;
    if (f->graph == NULL)
        return;
    for (int i = 0; i < FX_NODES; i++)
        atomic_store(&f->node_runs[i], 0);
    int rc = crew_graph_run(p, f->graph);
    FX_RC(rc, what);
    for (int i = 0; i < FX_NODES; i++) {
        if (f->nodes[i] == NULL)
            continue;
        int r = atomic_load(&f->node_runs[i]);
        FX_CHECK(r == (rc == 0 ? 1 : 0), "%s returned %d and node %d ran %d times", what, rc,
                 i, r);
        if (rc == 0)
            FX_CHECK(crew_node_result(f->nodes[i]) == IP(i + 100), "node %d: wrong result", i);
    }
}

static void fx_graph_add(int i)
{
    errno = 0;
    cur->nodes[i] = crew_graph_add(cur->graph, fx_node, IP(i));
    if (cur->nodes[i] == NULL)
        FX_NULL_ERRNO(errno, "crew_graph_add");
}

static void fx_graph_edge(int u, int v)
{
    if (cur->nodes[u] == NULL || cur->nodes[v] == NULL)
        return;
    int rc = crew_graph_precede(cur->nodes[u], cur->nodes[v]);
    FX_RC(rc, "crew_graph_precede");
    if (rc == 0)
        cur->edge[u][v] = 1;
}

static void fx_graphs(fx *f)
{
    fx_phase(f, "graph build");
    errno = 0;
    f->graph = crew_graph_create();
    if (f->graph == NULL) {
        FX_NULL_ERRNO(errno, "crew_graph_create");
        return;
    }
    for (int i = 0; i < FX_NODES - 1; i++)
        fx_graph_add(i);
    static const int edges[][2] = {{0, 2}, {1, 2}, {2, 3}, {2, 4}, {3, 5},
                                   {4, 5}, {5, 6}, {1, 6}, {0, 7}, {0, 2}};
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++)
        fx_graph_edge(edges[k][0], edges[k][1]);
    fx_phase(f, "graph run");
    fx_graph_run(f->pool, "crew_graph_run");
    fx_graph_run(f->pool, "crew_graph_run (again)");
    fx_phase(f, "graph edit");
    fx_graph_add(FX_NODES - 1);
    fx_graph_edge(7, FX_NODES - 1);
    fx_graph_edge(6, FX_NODES - 1);
    fx_phase(f, "graph run after the edit");
    fx_graph_run(f->pool, "crew_graph_run after an edit");

    /* A cycle: ELOOP and nothing runs (or ENOMEM, preparing). */
    fx_phase(f, "graph cycle");
    errno = 0;
    crew_graph *c = crew_graph_create();
    if (c == NULL) {
        FX_NULL_ERRNO(errno, "crew_graph_create");
        return;
    }
    long ida = fx_new_id(), idb = fx_new_id();
    crew_node *a = crew_graph_add(c, fx_leaf, IP(ida));
    if (a == NULL)
        FX_NULL_ERRNO(errno, "crew_graph_add");
    crew_node *b = crew_graph_add(c, fx_leaf, IP(idb));
    if (b == NULL)
        FX_NULL_ERRNO(errno, "crew_graph_add");
    if (a != NULL && b != NULL) {
        int r1 = crew_graph_precede(a, b);
        FX_RC(r1, "crew_graph_precede");
        int r2 = crew_graph_precede(b, a);
        FX_RC(r2, "crew_graph_precede");
        int rc = crew_graph_run(f->pool, c);
        if (r1 == 0 && r2 == 0)
            FX_CHECK(rc == ELOOP || (rc == ENOMEM && fx_nomem_ok()),
                     "a cycle ran with %d", rc);
        else
            FX_RC(rc, "crew_graph_run of a chain");
        if (rc == 0) {
            fx_accept(ida);
            fx_accept(idb);
        }
    }
    crew_graph_destroy(c);
}

/* ---- crew_run's root: everything inside a task ---- */

static void *fx_root(void *arg)
{
    fx *f = cur;
    long id = PI(arg);
    atomic_fetch_add(&f->runs[id], 1);
    int wi = crew_worker_index();
    FX_CHECK(wi >= 0 && (unsigned)wi < f->workers, "crew_worker_index %d in a task", wi);

    FX_CHECK(PI(fx_fib(IP(15))) == 610, "fib(15) through spawns is wrong");
    fx_wide();

    /* Submit and wait from inside: claimed and run inline if not started. */
    long sid = fx_new_id();
    errno = 0;
    crew_future *fu = crew_submit(f->pool, fx_leaf, IP(sid));
    if (fu == NULL) {
        FX_NULL_ERRNO(errno, "crew_submit from a task");
    } else {
        fx_accept(sid);
        void *r = NULL;
        int rc = crew_future_wait(fu, &r);
        FX_CHECK(rc == 0 && r == IP(sid * 7 + 3), "an inside future: %d", rc);
        crew_future_release(fu);
    }
    /* More futures at once than the pool has idle records: new ones are
     * built, and may fail. */
    crew_future *burst[FX_INSIDE_SUBMITS];
    long bid[FX_INSIDE_SUBMITS];
    for (int k = 0; k < FX_INSIDE_SUBMITS; k++) {
        bid[k] = fx_new_id();
        errno = 0;
        burst[k] = crew_submit(f->pool, fx_leaf, IP(bid[k]));
        if (burst[k] == NULL)
            FX_NULL_ERRNO(errno, "crew_submit from a task");
        else
            fx_accept(bid[k]);
    }
    for (int k = FX_INSIDE_SUBMITS; k-- > 0;) {
        if (burst[k] == NULL)
            continue;
        void *r = NULL;
        int rc = crew_future_wait(burst[k], &r);
        FX_CHECK(rc == 0 && r == IP(bid[k] * 7 + 3), "an inside future: %d", rc);
        crew_future_release(burst[k]);
    }
    for (int k = 0; k < FX_INSIDE_POSTS; k++) {
        long pid = fx_new_id();
        int prc = crew_post(f->pool, fx_leaf, IP(pid));
        FX_RC(prc, "crew_post from a task");
        if (prc == 0)
            fx_accept(pid);
    }

    /* A nested loop: never ENOMEM inside the pool. */
    _Atomic int seen[FX_NESTED_N];
    for (int i = 0; i < FX_NESTED_N; i++)
        atomic_init(&seen[i], 0);
    fx_visit v = {seen, FX_NESTED_N};
    int lrc = crew_parallel_for(f->pool, 0, FX_NESTED_N, 3, fx_mark, &v);
    FX_CHECK(lrc == 0, "a nested crew_parallel_for returned %d", lrc);
    fx_check_visits(&v, lrc, "a nested crew_parallel_for");

    /* Another pool, from this worker: it blocks here until done. */
    if (f->other != NULL) {
        long oid = fx_new_id();
        void *r = NULL;
        int rc = crew_run(f->other, fx_leaf, IP(oid), &r);
        FX_RC(rc, "crew_run on another pool from a task");
        if (rc == 0) {
            fx_accept(oid);
            FX_CHECK(r == IP(oid * 7 + 3), "cross-pool crew_run: wrong result");
        }
    }

    /* A nested graph run (the graph is idle: the caller waits for us). */
    fx_graph_run(f->pool, "a nested crew_graph_run");

    fx_objects(1000 + wi);

    /* A group inside: a worker waiting on it runs its tasks itself. */
    errno = 0;
    crew_group *g = crew_group_create(f->pool);
    if (g == NULL) {
        FX_NULL_ERRNO(errno, "crew_group_create from a task");
    } else {
        long ids[3];
        int ok[3];
        for (int k = 0; k < 3; k++) {
            ids[k] = fx_new_id();
            int rc = crew_group_post(g, fx_leaf, IP(ids[k]));
            FX_RC(rc, "crew_group_post from a task");
            ok[k] = rc == 0;
            if (ok[k])
                fx_accept(ids[k]);
        }
        FX_CHECK(crew_group_wait(g) == 0, "crew_group_wait");
        for (int k = 0; k < 3; k++)
            if (ok[k])
                FX_CHECK(atomic_load(&f->runs[ids[k]]) == 1,
                         "a group task had not run when the wait returned");
        crew_group_destroy(g);
    }
    return IP(id * 7 + 3);
}

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
        fx_fail(__LINE__, "nfuts < FX_MAX_FUTURES", "too many futures");
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
        atomic_fetch_add(&cur->cancels[u->id], 1);
    } else if (rc != ETIMEDOUT) {
        FX_CHECK(0, "crew_future_timedwait returned %d", rc);
    }
    if (rc != ETIMEDOUT) {
        crew_future_release(u->f);
        u->f = NULL;
    }
}

static void fx_resolve_all(fx *f, int may_be_cancelled)
{
    for (int i = 0; i < f->nfuts; i++)
        fx_resolve(&f->futs[i], may_be_cancelled);
}

static void fx_executor(fx *f)
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

static void fx_groups(fx *f)
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

static void fx_run_and_loops(fx *f)
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
    h->rc = crew_run(cur->pool, fx_leaf, IP(h->id), &h->result);
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
    crew_pool *p = cur->pool;
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

static void fx_shutdown_cancelling(fx *f)
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
    /* Nothing is queued once shutdown returns: a bounded queue has all its
     * places back (a failed push that kept its place would shrink the
     * queue for good). Internal: the count behind queue_limit. */
    if (f->queue_limit != 0) {
        int64_t q = atomic_load(&f->pool->queued);
        FX_CHECK(q == 0, "after shutdown the bounded queue still counts %lld places taken",
                 (long long)q);
    }
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

/* ---- the scenario ---- */

static void fx_accounting(fx *f)
{
    long n = atomic_load(&f->next_id);
    if (n > FX_MAX_TASKS)
        n = FX_MAX_TASKS;
    long cancelled = 0;
    for (long id = 0; id < n; id++)
        cancelled += atomic_load(&f->cancels[id]);
    /* Without faults the tasks queued behind the gates are there when
     * shutdown cancels: the scenario does test cancellation. */
    if (f->point < 0 && f->pool != NULL)
        FX_CHECK(cancelled > 0, "shutdown with cancel_pending cancelled nothing");
    for (long id = 0; id < n; id++) {
        int r = atomic_load(&f->runs[id]), c = atomic_load(&f->cancels[id]);
        int line = atomic_load(&f->accepted[id]);
        if (line != 0)
            FX_CHECK(r + c == 1,
                     "task %ld (accepted at line %d) ran %d times and was cancelled %d times", id,
                     line, r, c);
        else
            FX_CHECK(r + c == 0, "refused task %ld ran %d times and was cancelled %d times",
                     id, r, c);
    }
}

static void fx_pool_config(crew_config *c, fx *f, unsigned workers, const char *trace)
{
    crew_config_default(c);
    c->workers = workers;
    c->queue_limit = trace != NULL ? f->queue_limit : 0;
    c->name = "faults";
    c->trace_path = trace;
    c->on_cancel = fx_on_cancel;
    c->ctx = f;
}

/* One run at f->point (the caller armed the hook). 0 or 1. */
static int fx_scenario(fx *f)
{
    cur = f;
    atomic_store(&f->next_id, 1); /* id 0: the throwaway of refused calls */
    FX_CHECK(strcmp(crew_version(), CREW_VERSION_STRING) == 0, "crew_version");
    FX_CHECK(crew_worker_index() == -1, "crew_worker_index outside a pool");

    fx_phase(f, "objpool create");
    crew_objpool_config oc = {.obj_size = sizeof(fx_obj), .max_idle = 4, .init = fx_obj_init,
                              .reset = fx_obj_reset, .fini = fx_obj_fini, .ctx = f};
    errno = 0;
    f->objs = crew_objpool_create(&oc);
    if (f->objs == NULL)
        FX_NULL_ERRNO(errno, "crew_objpool_create");

    fx_phase(f, "pool create");
    crew_config c;
    fx_pool_config(&c, f, f->workers, "/dev/null");
    errno = 0;
    f->pool = crew_pool_create(&c);
    if (f->pool == NULL) {
        int err = errno;
        FX_CHECK(fx_create_errno_ok(err), "crew_pool_create: NULL with errno %d", err);
        fx_saw("crew_pool_create");
        goto done;
    }
    FX_CHECK(crew_pool_workers(f->pool) == f->workers, "crew_pool_workers");
    fx_pool_config(&c, f, 1, NULL);
    errno = 0;
    f->other = crew_pool_create(&c);
    if (f->other == NULL) {
        int err = errno;
        FX_CHECK(fx_create_errno_ok(err), "crew_pool_create (second pool): NULL with errno %d",
                 err);
        fx_saw("crew_pool_create (second pool)");
    }

    fx_phase(f, "objpool");
    fx_objects(1);
    fx_phase(f, "executor");
    fx_executor(f);
    fx_groups(f);
    fx_graphs(f);
    fx_run_and_loops(f);
    fx_objects(2);
    crew_stats st;
    crew_pool_stats(f->pool, &st);
    fx_shutdown_cancelling(f);

    fx_phase(f, "destroy");
    FX_CHECK(crew_pool_destroy(f->pool) == 0, "crew_pool_destroy");
    if (f->other != NULL)
        FX_CHECK(crew_pool_destroy(f->other) == 0, "crew_pool_destroy (second pool)");
    /* Futures outlive their pool. */
    fx_resolve_all(f, 1);
    crew_graph_destroy(f->graph);

done:
    fx_phase(f, "objpool destroy");
    if (f->objs != NULL) {
        crew_objpool_stats os;
        crew_objpool_stats_get(f->objs, &os);
        FX_CHECK(os.created == (uint64_t)atomic_load(&f->obj_inits),
                 "objpool created %llu, init succeeded %ld times",
                 (unsigned long long)os.created, atomic_load(&f->obj_inits));
        FX_CHECK(os.idle <= 4, "objpool keeps %llu idle, max_idle 4",
                 (unsigned long long)os.idle);
        crew_objpool_destroy(f->objs);
        FX_CHECK(atomic_load(&f->obj_inits) == atomic_load(&f->obj_finis),
                 "objpool: %ld objects built, %ld finalized", atomic_load(&f->obj_inits),
                 atomic_load(&f->obj_finis));
    }
    fx_phase(f, "accounting");
    fx_accounting(f);
    return atomic_load(&f->failures) != 0;
}

static fx *fx_new(long point, int threads, unsigned workers)
{
    fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->point = point;
    f->threads = threads;
    f->workers = workers;
    atomic_init(&f->phase, "start");
    pthread_mutex_init(&f->msg_lock, NULL);
    return f;
}

static void fx_free(fx *f)
{
    pthread_mutex_destroy(&f->msg_lock);
    free(f);
}

/* Leaks of this point, if the build can tell: 1 when LeakSanitizer found
 * some (it prints them). */
static int fx_leaked(void)
{
#ifdef FX_LSAN
    return __lsan_do_recoverable_leak_check() != 0;
#else
    return 0;
#endif
}

static char fx_watch_what[128];

static int fx_sweep(unsigned workers, int threads, size_t queue_limit)
{
    const char *kind = threads ? "thread creation" : "allocation";
    snprintf(fx_watch_what, sizeof fx_watch_what, "the faults sweep (%s, %u workers%s)", kind,
             workers, queue_limit ? ", bounded queue" : "");
    /* The whole sweep, not one point: a hang anywhere stops it. */
    test_watchdog_arm(fx_watch_what, 50, NULL);
    double t0 = fx_now_s();
    long fired_points = 0, quiet = 0, n;
    for (n = 0; quiet < FX_QUIET_RUNS; n++) {
        CHECKF(n < FX_MAX_POINTS, "the scenario never stopped reaching new %s points", kind);
        fx *f = fx_new(n, threads, workers);
        CHECK(f != NULL);
        f->queue_limit = queue_limit;
        if (threads)
            crew_fault_inject_thread(n);
        else
            crew_fault_inject_alloc(n);
        int rc = fx_scenario(f);
        int fired = threads ? crew_fault_thread_fired() : crew_fault_alloc_fired();
        crew_fault_inject_alloc(-1);
        crew_fault_inject_thread(-1);
        if (rc != 0) {
            fprintf(stderr, "faults: %s %ld failing (%d failed checks): %s\n", kind, n,
                    atomic_load(&f->failures), f->first_failure);
            fx_free(f);
            test_watchdog_disarm();
            return 1;
        }
        fx_free(f);
        if (fx_leaked()) {
            fprintf(stderr, "faults: %s %ld failing, %u workers: the leak above\n", kind, n,
                    workers);
            test_watchdog_disarm();
            return 1;
        }
        if (fired) {
            fired_points++;
            quiet = 0;
        } else {
            quiet++;
        }
    }
    test_watchdog_disarm();
    fx_seen_print(threads ? "EAGAIN" : "ENOMEM");
    fprintf(stderr,
            "faults: swept %ld %s points with %u workers%s (%ld runs, the last %d reaching no "
            "failure), %.2f s\n",
            fired_points, kind, workers, queue_limit ? " and a bounded queue" : "", n,
            FX_QUIET_RUNS, fx_now_s() - t0);
    /* Pool creation alone passes 8 allocation points (nomem test), and a
     * pool of w workers plus the second pool start w + 1 threads. */
    if (threads)
        CHECKF(fired_points == (long)workers + 1, "%ld thread creations swept, %u expected",
               fired_points, workers + 1);
    else
        CHECKF(fired_points >= 30, "only %ld allocation points swept", fired_points);
    return 0;
}

int the_scenario_runs_clean_without_faults(void)
{
    test_watchdog_arm("the faults scenario without faults", 30, NULL);
    for (unsigned w = 1; w <= 4; w++) {
        fx *f = fx_new(-1, 0, w < 4 ? w : 2);
        CHECK(f != NULL);
        f->queue_limit = w < 4 ? 0 : 4096;
        int rc = fx_scenario(f);
        if (rc != 0)
            fprintf(stderr, "faults: %d failed checks, the first: %s\n",
                    atomic_load(&f->failures), f->first_failure);
        fx_free(f);
        CHECK(rc == 0);
        CHECK(!fx_leaked());
    }
    test_watchdog_disarm();
    return 0;
}

int every_allocation_failing_in_turn_gives_documented_errors_two_workers(void)
{
    return fx_sweep(2, 0, 0);
}

int every_allocation_failing_in_turn_gives_documented_errors_bounded_queue(void)
{
    return fx_sweep(2, 0, 4096);
}

int every_allocation_failing_in_turn_gives_documented_errors_one_worker(void)
{
    return fx_sweep(1, 0, 0);
}

int every_thread_creation_failing_in_turn_gives_eagain(void)
{
    return fx_sweep(2, 1, 0) || fx_sweep(3, 1, 0);
}
