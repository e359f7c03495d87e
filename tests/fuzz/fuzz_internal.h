/*
 * The fuzzer's insides (fuzz.h is its interface): the state of a run, the
 * task table, and what each file provides.
 *   fuzz.c        a run: setup, the callers, the end, the accounting
 *   fuzz_tasks.c  the tasks, and the work they do inside the pool
 *   fuzz_work.c   loops, the object pool and graphs, from anywhere
 *   fuzz_calls.c  the callers' calls: futures, posts, groups, crew_run,
 *                 short-lived threads
 * Atomics here are the sequentially consistent defaults, or relaxed where
 * marked: the test's own counters and flags, read at the end after every
 * thread that wrote them was joined and the pool destroyed.
 */
#ifndef CREW_FUZZ_INTERNAL_H
#define CREW_FUZZ_INTERNAL_H

#include <crew.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fuzz.h"

#define IP(x) ((void *)(intptr_t)(x))
#define PI(p) ((long)(intptr_t)(p))

enum {
    FZ_MAX_THREADS = 8,
    FZ_MAX_TASKS = 1 << 20,
    FZ_FUTS = 24,       /* futures a caller holds at once */
    FZ_GROUP_TASKS = 48, /* tasks of one group op, children included */
    FZ_OWN_NODES = 40,
    FZ_SHARED_NODES = 64,
    FZ_OBJS = 8,
    FZ_MAX_DEPTH = 2, /* tasks that make tasks that make tasks */
};

/* Task flags (set by whoever made the call, read at the end). */
enum {
    FZ_ACCEPTED = 1,  /* the call that made it returned success */
    FZ_RELEASED = 2,  /* a future released before anyone waited on it */
    FZ_CANCEL_OK = 4, /* crew_future_cancel returned 0: it must never run */
    FZ_INSIDE = 8,    /* submitted from inside the pool: never cancelled */
};

/* Operations, for the watchdog's report of what each caller was doing. */
enum {
    OP_IDLE, OP_SUBMIT, OP_POST, OP_CANCEL, OP_TIMEDWAIT, OP_WAIT, OP_RELEASE_EARLY, OP_DONE,
    OP_GROUP, OP_RUN, OP_LOOPS, OP_OWN_GRAPH, OP_SHARED_GRAPH, OP_OBJPOOL, OP_SHORT_THREAD,
    OP_STATS, OP_END_RACE, OP_SHUTDOWN, OP_RESOLVE, OP_DESTROY, OP_COUNT
};

typedef struct fz_waiter fz_waiter;

typedef struct fz_fut {
    crew_future *f;
    long id;
    fz_waiter *waiter; /* f is a waiter task's future (fz_op_waiter) */
} fz_fut;

/* A task that waits, inside the pool, on the future of another task
 * submitted from outside: it claims and runs it if nobody has started it
 * (racing the worker that dequeues it, and cancels). The waiter releases
 * that future; if the waiter itself never runs (cancelled), the caller
 * does, when it resolves the waiter's future. */
struct fz_waiter {
    crew_future *target;
    long target_id;
    long id;
    int timed; /* a short timed wait first */
    int waited_rc; /* what the inside wait returned; -1: never ran */
};

/* A caller's own graph and its mirror: which edges exist, and whether
 * they make a cycle. */
typedef struct fz_onode {
    struct fz_own *own;
    int idx;
} fz_onode;

typedef struct fz_own {
    crew_graph *g;
    crew_node *nodes[FZ_OWN_NODES];
    fz_onode args[FZ_OWN_NODES];
    uint64_t preds[FZ_OWN_NODES]; /* bit u of preds[v]: u precedes v */
    int n;
    int cyclic;
    long epoch;                       /* the current run */
    _Atomic long stamp[FZ_OWN_NODES]; /* the run a node last ran in */
    _Atomic int runs[FZ_OWN_NODES];   /* in the current run */
} fz_own;

typedef struct fz_caller {
    unsigned index;
    uint64_t rng;
    pthread_t thread;
    fz_fut futs[FZ_FUTS];
    int nfuts;
    fz_own own;
    long ops_done;
} fz_caller;

typedef struct fz_state {
    uint64_t seed;
    crew_fuzz_opts opts;
    double t0;
    crew_pool *pool;
    unsigned workers;
    size_t queue_limit;
    int block;
    crew_objpool *objs;

    /* The task table. */
    _Atomic long next_id;
    _Atomic int *runs, *cancels;
    _Atomic unsigned char *flags;
    unsigned char *depth;

    /* The shared graph. */
    crew_graph *shared;
    crew_node *snodes[FZ_SHARED_NODES];
    /* Bit u of spreds[v]: u precedes v. Set once crew accepted the edge; a
     * run that starts meanwhile may not see the bit yet, which only
     * weakens its check. */
    _Atomic uint64_t spreds[FZ_SHARED_NODES];
    _Atomic int sn;                  /* nodes made */
    _Atomic long sruns[FZ_SHARED_NODES];
    _Atomic long shared_runs_ok; /* runs that returned 0 */
    _Atomic long shared_initial; /* nodes added before any run started */
    _Atomic int shared_ran_once;
    pthread_mutex_t shared_edit; /* our mirror of the edits, not crew's */

    _Atomic long obj_inits, obj_finis;

    int cancel_mode[2];           /* the two shutdowns' cancel_pending */
    _Atomic int stop;             /* the callers stop their normal phase */
    _Atomic int shutdown_started; /* some crew_pool_shutdown began */
    _Atomic int cancel_started;   /* ... with cancel_pending */
    pthread_barrier_t end_barrier;

    fz_caller callers[FZ_MAX_THREADS];
    _Atomic int last_op[FZ_MAX_THREADS];
    _Atomic int main_op; /* what the thread running crew_fuzz_run does */

    _Atomic int failures;
    pthread_mutex_t msg_lock;
    char first_failure[768];

    /* Counts for the summary. */
    _Atomic long n_submits, n_posts, n_cancelled_by_shutdown, n_refused, n_groups, n_runs,
        n_graph_runs, n_ebusy, n_short_threads;
} fz_state;

typedef struct fz_gop fz_gop;
typedef struct fz_gtask {
    long id;
    fz_gop *op;
    unsigned depth;
} fz_gtask;

struct fz_gop {
    crew_group *g;
    fz_gtask tasks[FZ_GROUP_TASKS];
    _Atomic int n;
    uint64_t seed;
};

typedef struct fz_root {
    fz_caller *caller;
    long id;
} fz_root;

#define FZ_MAGIC 0xfeedbeefu

typedef struct fz_obj {
    unsigned magic;
    _Atomic long holder; /* 0: idle */
    char payload[48];
} fz_obj;

/* The run in progress (one at a time). */
extern fz_state *fz;

/* ---- random numbers ---- */

static inline uint64_t fz_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline unsigned fz_rnd(uint64_t *s, unsigned n)
{
    return (unsigned)(fz_splitmix(s) % n);
}

static inline double fz_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- checks (any thread): a failed one is recorded, the run goes on ---- */

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define FZ_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond))                                                         \
            fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                 \
    } while (0)

/* A shutdown has begun: outside calls may get ESHUTDOWN. */
int fz_ending(void);
/* Whether an outside call's refusal `err` is documented right now. */
int fz_refusal_ok(int err);

/* ---- the task table (fuzz.c) ---- */

/* A new task id (-1: the table is full, skip the call). */
long fz_new_id(unsigned depth);
void fz_set_flag(long id, unsigned char f);
/* What a task returns: its id, scrambled. */
void *fz_ret_of(long id);

/* ---- tasks (fuzz_tasks.c) ---- */

void *fz_leaf(void *arg);
void *fz_spawner(void *arg);
void *fz_group_task(void *arg);
void *fz_waiter_task(void *arg);
void *fz_root_fn(void *arg);
void fz_on_cancel(crew_fn fn, void *arg, void *ctx);
void *fz_fib(void *arg);
long fz_fib_seq(long n);
void fz_inside_work(uint64_t *rng, unsigned depth);

/* ---- loops, the object pool, graphs (fuzz_work.c) ---- */

void fz_loops_once(uint64_t *rng, int inside);
int fz_obj_init(void *obj, void *ctx);
void fz_obj_reset(void *obj, void *ctx);
void fz_obj_fini(void *obj, void *ctx);
void fz_objpool_once(uint64_t *rng, long token);
void fz_own_reset(fz_own *o);
void fz_own_run(fz_own *o, int nested);
void fz_own_graph_op(fz_own *o, uint64_t *rng);
void fz_shared_graph_op(uint64_t *rng, int nested);

/* ---- a caller's calls (fuzz_calls.c) ---- */

void fz_resolve(fz_fut *u);
void fz_drop_fut(fz_caller *c, int i);
void fz_op_submit(fz_caller *c, int release_early);
void fz_op_waiter(fz_caller *c);
void fz_op_post(fz_caller *c);
void fz_op_cancel(fz_caller *c);
void fz_op_timedwait(fz_caller *c);
void fz_op_wait(fz_caller *c);
void fz_op_done(fz_caller *c);
void fz_op_group(fz_caller *c);
void fz_op_run(fz_caller *c);
void fz_op_short_thread(fz_caller *c);
void fz_op_stats(void);

#endif
