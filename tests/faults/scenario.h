/*
 * The scenario of suite `faults` (cases_faults.c has the sweep): its
 * state, one per run, the checks every part uses, and the parts.
 *   scenario_util.c     failure reports, task ids, the tasks, loop and
 *                       object-pool helpers
 *   scenario_inside.c   what runs inside the pool: fork-join, graphs,
 *                       crew_run's root
 *   scenario_outside.c  the calls of an outside thread: futures, posts,
 *                       groups, loops, each call at a queue segment
 *                       boundary, shutdown with cancel
 * Atomics here are the sequentially consistent defaults: the test's own
 * counters, read after the threads that wrote them were joined or their
 * tasks waited for.
 */
#ifndef CREW_FAULTS_SCENARIO_H
#define CREW_FAULTS_SCENARIO_H

#include <crew.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

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

/* The run in progress (one at a time). */
extern fx *fx_cur;

/* ---- checks (any thread): a failed one is recorded, the run goes on ---- */

void fx_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define FX_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond))                                                         \
            fx_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                 \
    } while (0)

void fx_phase(fx *f, const char *p);
/* Out of memory is a documented outcome only when an allocation fault is
 * armed; EAGAIN from pool creation only when a thread fault is. */
int fx_nomem_ok(void);
int fx_create_errno_ok(int err);
/* Notes that `what` gave its documented error (the sweep's coverage). */
void fx_saw(const char *what);
void fx_seen_print(const char *kind);

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

/* ---- task ids ---- */

long fx_new_id(void);
/* Marks task `id` accepted, remembering the line that accepted it. */
void fx_accept_at(long id, int line);
#define fx_accept(id) fx_accept_at((id), __LINE__)
void fx_sleep_us(long us);
double fx_now_s(void);

/* ---- tasks and helpers (scenario_util.c) ---- */

void *fx_leaf(void *arg);
void *fx_gate(void *arg);
void *fx_group_parent(void *arg);
void fx_on_cancel(crew_fn fn, void *arg, void *ctx);

typedef struct fx_visit {
    _Atomic int *seen;
    size_t n;
} fx_visit;
int fx_mark(size_t b, size_t e, void *arg);
void fx_check_visits(fx_visit *v, int rc, const char *what);
void fx_sum_range(size_t b, size_t e, void *acc, void *arg);
void fx_sum_combine(void *acc, const void *right, void *arg);
void fx_double(const void *in, void *out, void *arg);

#define FX_MAGIC 0x5eed5eedu

typedef struct fx_obj {
    unsigned magic;
    long holder;
    char pad[32];
} fx_obj;
int fx_obj_init(void *obj, void *ctx);
void fx_obj_reset(void *obj, void *ctx);
void fx_obj_fini(void *obj, void *ctx);
void fx_objects(long holder);

/* ---- the parts (scenario_inside.c, scenario_outside.c) ---- */

void fx_graphs(fx *f);
void fx_graph_run(crew_pool *p, const char *what);
void *fx_root(void *arg);

void fx_resolve_all(fx *f, int may_be_cancelled);
void fx_executor(fx *f);
void fx_groups(fx *f);
void fx_run_and_loops(fx *f);
void fx_shutdown_cancelling(fx *f);

#endif
