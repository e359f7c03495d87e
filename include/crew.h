/*
 * crew: a lock-free work-stealing task runtime for C11.
 *
 * This header is the manual's table of contents: every public name lives
 * here. Conventions (see docs/api.md):
 *   - an int result is 0 or a positive errno value (as pthreads does);
 *   - a pointer result is NULL on failure, with errno set;
 *   - bad arguments give EINVAL, never a crash.
 */
#ifndef CREW_H
#define CREW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CREW_API __attribute__((visibility("default")))
#else
#define CREW_API
#endif

#define CREW_VERSION_MAJOR 0
#define CREW_VERSION_MINOR 2
#define CREW_VERSION_PATCH 0
#define CREW_VERSION_STRING "0.2.0"

/* The version of the library actually linked, "MAJOR.MINOR.PATCH". */
CREW_API const char *crew_version(void);

/* ------------------------------------------------------------------ */
/* Object pool: a lock-free, ABA-safe free list of reusable objects.   */
/* ------------------------------------------------------------------ */

typedef struct crew_objpool crew_objpool;

typedef struct crew_objpool_config {
    size_t obj_size;                    /* bytes per object, > 0 */
    size_t max_idle;                    /* most released objects kept for reuse; 0: unlimited */
    int  (*init)(void *obj, void *ctx); /* optional: build a new object; 0 or an errno value */
    void (*reset)(void *obj, void *ctx);/* optional: on release, before reuse */
    void (*fini)(void *obj, void *ctx); /* optional: before the memory is freed */
    void  *ctx;
    /* New in 0.2, at the end (zero keeps 0.1's behaviour; no size field:
     * the soname changed, see docs/install.md). */
    size_t max_live;                    /* most objects alive at once, acquired + idle; 0: unlimited */
    int  (*validate)(void *obj, void *ctx); /* optional: on reusing an idle object; non-zero: discard it */
} crew_objpool_config;

typedef struct crew_objpool_stats {
    uint64_t created; /* objects built (init succeeded) */
    uint64_t reused;  /* acquires served by an idle object */
    uint64_t freed;   /* objects finalized and freed (past max_idle, or rejected by validate) */
    uint64_t idle;    /* released objects waiting for reuse now */
} crew_objpool_stats;

/* NULL cfg, obj_size 0 or absurd sizes: NULL with errno EINVAL. */
CREW_API crew_objpool *crew_objpool_create(const crew_objpool_config *cfg);
/* A reused or new object, aligned for max_align_t; NULL + errno (ENOMEM,
 * or init's value, or EINVAL for a NULL pool). Any thread, lock-free
 * while the pool is not exhausted; with max_live, sleeps (no spinning)
 * while max_live objects are alive and none is idle. */
CREW_API void *crew_objpool_acquire(crew_objpool *p);
/* As crew_objpool_acquire, giving up at abstime (CLOCK_REALTIME) with NULL
 * + ETIMEDOUT; a past abstime makes it a try; NULL abstime: acquire. A
 * tv_nsec outside [0, 1e9): EINVAL. With max_live 0 it never times out. */
CREW_API void *crew_objpool_acquire_timed(crew_objpool *p, const struct timespec *abstime);
/* Any thread, lock-free. NULL p or obj: does nothing. */
CREW_API void crew_objpool_release(crew_objpool *p, void *obj);
/* Every object must be released first. NULL: does nothing. */
CREW_API void crew_objpool_destroy(crew_objpool *p);
/* Counts; exact when no acquire or release is in flight. */
CREW_API void crew_objpool_stats_get(const crew_objpool *p, crew_objpool_stats *out);


/* ------------------------------------------------------------------ */
/* Pools                                                               */
/* ------------------------------------------------------------------ */

typedef void *(*crew_fn)(void *arg);

typedef struct crew_pool crew_pool;

typedef struct crew_config {
    size_t      size;             /* sizeof(crew_config), set by crew_config_default: lets the struct grow */
    unsigned    workers;          /* 0: the CPUs this process may run on (sched_getaffinity) */
    size_t      queue_limit;      /* most external submissions waiting; 0: unbounded */
    bool        block_when_full;  /* full queue: crew_submit waits (true) or fails EAGAIN */
    unsigned    spin_us;          /* how long an idle worker searches before sleeping */
    size_t      stack_size;       /* worker stack bytes; 0: the system default */
    const char *name;             /* worker thread name prefix (the kernel keeps 15 chars) */
    void      (*on_worker_start)(unsigned index, void *ctx);  /* optional, in each worker */
    void      (*on_worker_stop)(unsigned index, void *ctx);   /* optional */
    void      (*on_cancel)(crew_fn fn, void *arg, void *ctx); /* optional: a posted task that will never run */
    void       *ctx;
    const char *trace_path;       /* write a Chrome trace-event JSON file here at destroy; NULL:
                                     the CREW_TRACE environment variable, if set, else no trace */
} crew_config;

CREW_API void       crew_config_default(crew_config *cfg);
/* NULL cfg: defaults. NULL + errno (EINVAL, ENOMEM, EAGAIN: no threads). */
CREW_API crew_pool *crew_pool_create(const crew_config *cfg);
/* Stops outside submissions (ESHUTDOWN); with cancel_pending, cancels the
 * outside submissions that have not started. Returns when nothing runs.
 * Idempotent. From one of the pool's workers: EDEADLK. */
CREW_API int        crew_pool_shutdown(crew_pool *pool, bool cancel_pending);
/* Shutdown without cancelling, join the workers, free everything.
 * From one of the pool's workers: EDEADLK, nothing destroyed. */
CREW_API int        crew_pool_destroy(crew_pool *pool);
CREW_API unsigned   crew_pool_workers(const crew_pool *pool);
/* 0..workers-1 inside a worker, -1 elsewhere. */
CREW_API int        crew_worker_index(void);

/* ------------------------------------------------------------------ */
/* Executor: submit from any thread                                    */
/* ------------------------------------------------------------------ */

typedef struct crew_future crew_future;

CREW_API crew_future *crew_submit(crew_pool *pool, crew_fn fn, void *arg);
CREW_API int          crew_post(crew_pool *pool, crew_fn fn, void *arg);
CREW_API int          crew_future_wait(crew_future *f, void **result);
CREW_API int          crew_future_timedwait(crew_future *f, const struct timespec *abstime,
                                            void **result);
CREW_API bool         crew_future_done(const crew_future *f);
CREW_API int          crew_future_cancel(crew_future *f);
CREW_API void         crew_future_release(crew_future *f);

typedef struct crew_group crew_group;
CREW_API crew_group  *crew_group_create(crew_pool *pool);
CREW_API int          crew_group_post(crew_group *g, crew_fn fn, void *arg);
CREW_API int          crew_group_wait(crew_group *g);
CREW_API void         crew_group_destroy(crew_group *g);

/* ------------------------------------------------------------------ */
/* Futures that compose: callbacks, waiting for several, as completed  */
/* ------------------------------------------------------------------ */

/* Called once when f is done; f is valid during the call. */
typedef void (*crew_done_fn)(crew_future *f, void *ctx);

/* Runs fn(f, ctx) exactly once, when f is done (finished or cancelled):
 * at once in the caller if it already is; otherwise on the thread that
 * completes or cancels it, after the result is visible (a wait on f
 * inside fn returns at once), or, for a registration that meets the
 * completion, in that registering call (docs/api.md).
 * The callbacks of one future run in the order they were added, never two
 * at a time; one added after f is done runs before this returns, after
 * every earlier one has returned (from inside one of f's own callbacks:
 * right after the callbacks already due, on the same thread). f stays
 * valid during fn even if every other reference is released. 0, EINVAL
 * (NULL f or fn), ENOMEM (nothing registered, nothing will run). */
CREW_API int crew_future_on_done(crew_future *f, crew_done_fn fn, void *ctx);

/* Sleeps until one of fs[0..n) is done, or abstime (CLOCK_REALTIME; NULL:
 * no deadline) passes: 0 with *index the lowest index of a done future,
 * or ETIMEDOUT (*index unspecified). A done future wins over a passed
 * deadline. Never runs a task inline; cancelled counts as done. EINVAL:
 * NULL fs, a NULL element, NULL index, n == 0, tv_nsec out of range. */
CREW_API int crew_future_wait_any(crew_future *const *fs, size_t n,
                                  const struct timespec *abstime, size_t *index);
/* The same until every one of fs[0..n) is done: 0 or ETIMEDOUT; n == 0
 * returns 0. EINVAL: NULL fs with n > 0, a NULL element, tv_nsec out of
 * range. */
CREW_API int crew_future_wait_all(crew_future *const *fs, size_t n,
                                  const struct timespec *abstime);

/* A completion queue (Python's as_completed): futures come out in the
 * order they became done. Any number of threads may add and take at
 * once. */
typedef struct crew_completion crew_completion;

/* NULL + ENOMEM. */
CREW_API crew_completion *crew_completion_create(void);
/* Takes its own reference to f (the caller may release its own at once);
 * f comes out of next exactly once, after it is done. 0, EINVAL (NULL c
 * or f), ENOMEM (not added). */
CREW_API int crew_completion_add(crew_completion *c, crew_future *f);
/* The next future to have become done, with the queue's reference, which
 * the caller releases. Sleeps until one is done or abstime (CLOCK_REALTIME;
 * NULL: no deadline) passes; O(1). 0, ETIMEDOUT, ENOENT (every future
 * added so far has been handed out), EINVAL (NULL c or out, tv_nsec out
 * of range). */
CREW_API int crew_completion_next(crew_completion *c, const struct timespec *abstime,
                                  crew_future **out);
/* Releases the references it still holds (a future not yet done: when it
 * completes). Once, with no other call on c in flight or to come. NULL:
 * does nothing. */
CREW_API void crew_completion_destroy(crew_completion *c);

/* ------------------------------------------------------------------ */
/* Serial queues: tasks that run one at a time, in order               */
/* ------------------------------------------------------------------ */

/* A serial queue on a pool (an Asio strand, a libdispatch serial queue):
 * its tasks run one at a time, each exactly once, in the order they were
 * accepted, on the pool's workers; what one task wrote is visible to the
 * next. Queues run in parallel with each other and with the pool's other
 * work; an empty queue costs no worker anything. A queue that always has
 * work yields its worker every 64 tasks if other work waits (docs/api.md). */
typedef struct crew_serial crew_serial;

/* NULL + errno: EINVAL (NULL pool), ENOMEM. */
CREW_API crew_serial *crew_serial_create(crew_pool *pool);
/* Queues fn(arg) behind the queue's accepted tasks. Any thread, lock-free
 * (a task of the same queue included: it runs after the current one).
 * From a thread outside the pool, as crew_post: ESHUTDOWN once the pool
 * is shut down, and shutdown's cancel_pending cancels it while queued
 * (on_cancel); from the pool's own tasks it is accepted until the pool is
 * quiet and always runs. 0, EINVAL (NULL s or fn), ESHUTDOWN, ENOMEM. */
CREW_API int          crew_serial_post(crew_serial *s, crew_fn fn, void *arg);
/* crew_serial_post with a future (NULL + errno, the same values).
 * Waiting on it never runs the task inline; crew_future_wait from a task
 * of the same queue is EDEADLK; crew_future_cancel of a queued task
 * returns 0 and the task never runs. */
CREW_API crew_future *crew_serial_submit(crew_serial *s, crew_fn fn, void *arg);
/* Blocks until every task accepted before the call has run or been
 * cancelled: 0, EINVAL (NULL), EDEADLK (from a task of this queue). From
 * a worker of the pool it blocks that worker. */
CREW_API int          crew_serial_wait(crew_serial *s);
/* Waits for the accepted tasks (no other call on the queue may be in
 * flight or follow), then frees the queue. NULL: nothing. Never from a
 * task of this queue (debug builds abort). May follow the pool's destroy
 * (the only call a queue takes then). */
CREW_API void         crew_serial_destroy(crew_serial *s);

/* ------------------------------------------------------------------ */
/* Fork-join: inside a task                                            */
/* ------------------------------------------------------------------ */

/* A spawn's record, caller-allocated (a local variable of the spawning
 * function is the natural place). Its contents are private. */
typedef struct crew_task { void *crew_reserved_[6]; } crew_task;

/* Runs fn(arg) as a root task on the pool and blocks the caller until it
 * returns: 0, or EINVAL / ESHUTDOWN / ENOMEM; result may be NULL. From a
 * worker of the same pool it simply calls fn. */
CREW_API int crew_run(crew_pool *pool, crew_fn fn, void *arg, void **result);

/* Inside a task (on any thread, in fact: outside a worker both run the
 * task serially at the sync). The rules, undefined behaviour if broken
 * (docs/api.md): syncs happen in reverse spawn order on each thread;
 * every spawn is synced exactly once, on the thread that spawned it,
 * before the spawning task returns; the record stays alive and in place
 * until then, and so does what arg points to. Debug builds (CREW_DEBUG)
 * abort on a sync out of order. */

/* Makes fn(arg) available to idle workers and returns at once. Never
 * fails: a task that cannot be published runs at its sync. No lock, no
 * malloc, no fence. Inline (crew/fastpath.h). */
static inline void crew_spawn(crew_task *t, crew_fn fn, void *arg);
/* fn(arg)'s result: runs it here if nobody took it (a plain call);
 * otherwise works on the thief's subtasks (leapfrogging) or sleeps until
 * the thief is done. Inline. */
static inline void *crew_sync(crew_task *t);
/* crew_sync for a task known to run fn, which must be the function it was
 * spawned with: the unstolen path is a direct call the compiler can
 * inline. Inline. */
static inline void *crew_sync_call(crew_task *t, crew_fn fn);
/* Out-of-line copies of crew_spawn and crew_sync, for other languages and
 * for function pointers. */
CREW_API void  crew_spawn_extern(crew_task *t, crew_fn fn, void *arg);
CREW_API void *crew_sync_extern(crew_task *t);

/* ------------------------------------------------------------------ */
/* Data parallelism                                                    */
/* ------------------------------------------------------------------ */

/* Called on a subrange [begin, end); a non-zero return stops the loop. */
typedef int (*crew_range_fn)(size_t begin, size_t end, void *arg);

/* Calls fn on disjoint subranges covering [begin, end) exactly once, from
 * a pool's workers, and returns when all have returned: 0, the first
 * non-zero value fn returned (no further subranges start after it), or
 * EINVAL / ESHUTDOWN / ENOMEM. grain 0: subranges are sized and split
 * adaptively (lazily, only when an idle worker asks for work); otherwise no
 * subrange is longer than grain. From outside the pool the caller blocks;
 * inside a task it is a nested parallel loop. */
CREW_API int crew_parallel_for(crew_pool *pool, size_t begin, size_t end, size_t grain,
                               crew_range_fn fn, void *arg);

/* Folds [begin, end) into *acc (which starts as a copy of identity). */
typedef void (*crew_reduce_range_fn)(size_t begin, size_t end, void *acc, void *arg);
/* Merges `right` (the fold of a later subrange) into `acc`. */
typedef void (*crew_reduce_combine_fn)(void *acc, const void *right, void *arg);

#define CREW_REDUCE_MAX_VALUE 256 /* most bytes a reduction value may have */

/* A parallel reduction: *result = identity folded with every index of
 * [begin, end), combining partial results in index order (combine must be
 * associative). With a fixed grain the split tree, and so the result, is
 * the same on every run (floating point included); grain 0 picks a grain
 * from the range and the pool's size (the same tree for the same pool
 * size; docs/api.md promises determinism only for a fixed grain). value_size is at most
 * CREW_REDUCE_MAX_VALUE bytes. 0 or EINVAL / ESHUTDOWN / ENOMEM. */
CREW_API int crew_parallel_reduce(crew_pool *pool, size_t begin, size_t end, size_t grain,
                                  size_t value_size, const void *identity,
                                  crew_reduce_range_fn range, crew_reduce_combine_fn combine,
                                  void *arg, void *result);

/* The Pool.map of C: out[i] = fn(in[i]) for i in [0, count), element sizes
 * in_size and out_size, in parallel. 0 or EINVAL / ESHUTDOWN / ENOMEM. */
typedef void (*crew_map_fn)(const void *in, void *out, void *arg);
CREW_API int crew_parallel_map(crew_pool *pool, const void *in, size_t in_size, void *out,
                               size_t out_size, size_t count, size_t grain, crew_map_fn fn,
                               void *arg);

/* ------------------------------------------------------------------ */
/* Task graphs                                                         */
/* ------------------------------------------------------------------ */

typedef struct crew_graph crew_graph;
typedef struct crew_node crew_node;

/* NULL + ENOMEM. */
CREW_API crew_graph *crew_graph_create(void);
/* A node that runs fn(arg) once per run. NULL + EINVAL (NULL graph or fn,
 * or the graph is running) or ENOMEM. */
CREW_API crew_node *crew_graph_add(crew_graph *g, crew_fn fn, void *arg);
/* `before` must return before `after` starts. EINVAL (NULL nodes, a node
 * preceding itself, nodes of two graphs; nothing added), EBUSY (running),
 * ENOMEM. A duplicate edge is allowed and counts once. */
CREW_API int crew_graph_precede(crew_node *before, crew_node *after);
/* Runs every node once, never before all its predecessors have returned;
 * blocks the caller. ELOOP (a cycle: nothing runs), EBUSY (already
 * running), EINVAL, ESHUTDOWN, ENOMEM. A graph can run again and again. */
CREW_API int crew_graph_run(crew_pool *pool, crew_graph *g);
/* What the node's function returned in the last run (NULL before). */
CREW_API void *crew_node_result(const crew_node *n);
/* Not while it runs. NULL: does nothing. */
CREW_API void crew_graph_destroy(crew_graph *g);
/* The node's name in a pool's trace (docs/trace.md): `label` is kept, not
 * copied, and must stay valid until the pools that run the graph are
 * destroyed; NULL: the node's function's name. EINVAL for a NULL node,
 * EBUSY while the graph runs. */
CREW_API int crew_node_set_label(crew_node *n, const char *label);

/* ------------------------------------------------------------------ */
/* Tracing (docs/trace.md)                                             */
/* ------------------------------------------------------------------ */

/* The calling thread's label, from now on, for what it starts on a pool:
 * the tasks it submits or posts (from outside or inside the pool), the
 * root tasks of its crew_run calls, and the pieces of the loops it runs.
 * A traced pool shows the label instead of the function's name. The string
 * is kept, not copied: it must stay valid until those pools are destroyed.
 * NULL: no label. Returns the previous label. Costs nothing measurable
 * when no pool traces (a thread-local store). */
CREW_API const char *crew_trace_label(const char *label);

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

typedef struct crew_stats {
    uint64_t tasks_run, spawns, steals, failed_steals, injected, sleeps, wakeups;
} crew_stats;
CREW_API void crew_pool_stats(const crew_pool *pool, crew_stats *out);

#ifdef __cplusplus
}
#endif

/* The inline fast path's private layout and definitions. */
#include <crew/fastpath.h>
/* Typed fork-join tasks: CREW_TASK, CREW_SPAWN, CREW_SYNC, CREW_RUN. */
#include <crew/typed.h>

#endif /* CREW_H */
