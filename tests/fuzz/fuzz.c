/*
 * The fuzzer (fuzz.h). Each run:
 *   1. makes a pool whose configuration comes from the seed (1 to 4
 *      workers, sometimes a bounded queue, blocking or not, spin_us 0 or
 *      not), a public object pool and a graph shared by every thread;
 *   2. starts `threads` callers, each drawing its calls from its own
 *      generator: submit, post, cancel, timed waits, waits, release before
 *      done, crew_future_done, groups (whose tasks post into their group),
 *      crew_run with nested work (spawns, inside submits and posts, waits,
 *      nested loops and graph runs, the object pool, groups), loops,
 *      reduce and map, a graph of its own (edits, runs, cycles), the
 *      shared graph (runs and edits racing: EBUSY, EINVAL), the object
 *      pool, and short-lived threads that post and use the object pool;
 *   3. ends with shutdown racing shutdown (two threads, cancel_pending
 *      drawn from the seed) while the other threads keep submitting, then
 *      destroys the pool, waiting on some futures before and some after;
 *   4. accounts for every task: each accepted task ran exactly once or was
 *      reported cancelled (on_cancel for posts and group tasks, ECANCELED
 *      for futures), a refused one never ran, a future whose cancel
 *      returned 0 never ran, and a future released before done ran unless
 *      shutdown cancelled it.
 * Every wait is bounded (a timed wait of 10 s, or the caller's watchdog),
 * so a lost wake-up is a failure with a message, not a hang.
 */
#include "fuzz.h"

#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faults/watchdog.h"

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
static const char *const op_names[OP_COUNT] = {
    "idle", "submit", "post", "cancel", "timedwait", "wait", "release-early", "done",
    "group", "crew_run", "loops", "own-graph", "shared-graph", "objpool", "short-thread",
    "stats", "end-race", "shutdown", "resolve", "destroy"};

typedef struct fz_waiter fz_waiter;

typedef struct fz_fut {
    crew_future *f;
    long id;
    fz_waiter *waiter; /* f is a waiter task's future (op_waiter) */
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

    _Atomic int failures;
    pthread_mutex_t msg_lock;
    char first_failure[768];

    /* Counts for the summary. */
    _Atomic long n_submits, n_posts, n_cancelled_by_shutdown, n_refused, n_groups, n_runs,
        n_graph_runs, n_ebusy, n_short_threads;
} fz_state;

static fz_state *fz;

/* ---- random numbers ---- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rnd(uint64_t *s, unsigned n)
{
    return (unsigned)(splitmix(s) % n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- failures ---- */

static void fz_fail(int line, const char *cond, const char *fmt, ...)
{
    if (atomic_fetch_add(&fz->failures, 1) != 0)
        return;
    char detail[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&fz->msg_lock);
    snprintf(fz->first_failure, sizeof fz->first_failure, "fuzz.c:%d: %s: %s", line, cond,
             detail);
    pthread_mutex_unlock(&fz->msg_lock);
}

#define FZ_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond))                                                         \
            fz_fail(__LINE__, #cond, __VA_ARGS__);                           \
    } while (0)

static int ending(void)
{
    return atomic_load(&fz->shutdown_started);
}

/* Whether an outside call's refusal is documented right now: ESHUTDOWN
 * once a shutdown began, EAGAIN on a bounded queue that does not block. */
static int refusal_ok(int err)
{
    if (err == ESHUTDOWN)
        return ending();
    if (err == EAGAIN)
        return fz->queue_limit != 0 && !fz->block;
    return 0;
}

/* ---- the task table ---- */

static long new_id(unsigned depth)
{
    long id = atomic_fetch_add_explicit(&fz->next_id, 1, memory_order_relaxed);
    if (id >= FZ_MAX_TASKS)
        return -1; /* table full: the call is skipped */
    fz->depth[id] = (unsigned char)depth;
    return id;
}

static void set_flag(long id, unsigned char f)
{
    atomic_fetch_or(&fz->flags[id], f);
}

static void *ret_of(long id)
{
    return IP(id ^ 0x5a5a);
}

/* ---- tasks ---- */

/* About `us` microseconds of work (a task that holds its worker). */
static void spin_us(double us)
{
    double t0 = now_s();
    while ((now_s() - t0) * 1e6 < us)
        ;
}

static void *fz_leaf(void *arg)
{
    long id = PI(arg);
    atomic_fetch_add(&fz->runs[id], 1);
    if (id % 16 == 0)
        spin_us(20); /* one in 16 takes a while: queues build up */
    return ret_of(id);
}

static void inside_work(uint64_t *rng, unsigned depth);

/* A task that does work inside the pool: its choices come from its id. */
static void *fz_spawner(void *arg)
{
    long id = PI(arg);
    atomic_fetch_add(&fz->runs[id], 1);
    FZ_CHECK(crew_worker_index() >= 0, "a task ran off the workers");
    uint64_t rng = fz->seed ^ ((uint64_t)id * 0xd1342543de82ef95ull);
    inside_work(&rng, fz->depth[id]);
    return ret_of(id);
}

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

/* A group task; it may post children into its own group (never waits on
 * it: that would wait on itself). */
static void *fz_group_task(void *arg)
{
    fz_gtask *t = arg;
    atomic_fetch_add(&fz->runs[t->id], 1);
    if (t->depth >= FZ_MAX_DEPTH)
        return NULL;
    uint64_t rng = t->op->seed ^ (uint64_t)t->id;
    unsigned kids = rnd(&rng, 3);
    for (unsigned k = 0; k < kids; k++) {
        int slot = atomic_fetch_add(&t->op->n, 1);
        if (slot >= FZ_GROUP_TASKS)
            return NULL;
        long id = new_id(t->depth + 1);
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
            set_flag(id, FZ_ACCEPTED | FZ_INSIDE);
    }
    return NULL;
}

static void *fz_waiter_task(void *arg)
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
        FZ_CHECK(r == ret_of(w->target_id), "an inside wait: wrong result");
    if (rc == ECANCELED) {
        unsigned char fl = atomic_load(&fz->flags[w->target_id]);
        FZ_CHECK((fl & FZ_CANCEL_OK) || atomic_load(&fz->cancel_started),
                 "task %ld ECANCELED inside, never cancelled", w->target_id);
        atomic_fetch_add(&fz->cancels[w->target_id], 1);
    }
    w->waited_rc = rc;
    crew_future_release(w->target);
    return ret_of(w->id);
}

static void fz_on_cancel(crew_fn fn, void *arg, void *ctx)
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

/* ---- fork-join and loops, from anywhere ---- */

static void *fz_fib(void *arg)
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

static long fib_seq(long n)
{
    long a = 0, b = 1;
    for (long i = 0; i < n; i++) {
        long c = a + b;
        a = b;
        b = c;
    }
    return a;
}

typedef struct fz_visit {
    _Atomic unsigned char *seen;
    size_t base;
    size_t grain;
    _Atomic int too_long;
    int stop_at; /* -1: never stop */
} fz_visit;

static int fz_mark(size_t b, size_t e, void *arg)
{
    fz_visit *v = arg;
    if (v->grain != 0 && e - b > v->grain)
        atomic_store(&v->too_long, 1);
    for (size_t i = b; i < e; i++)
        atomic_fetch_add_explicit(&v->seen[i - v->base], 1, memory_order_relaxed);
    if (v->stop_at >= 0 && (size_t)v->stop_at >= b && (size_t)v->stop_at < e)
        return -5;
    return 0;
}

/* combine(acc of [a, m), right of [m, e)): acc * 31^(e - m) + right. The
 * length of the right part travels in the value's second word. */
typedef struct fz_fold {
    uint64_t h, len;
} fz_fold;

static void fz_fold_range(size_t b, size_t e, void *acc, void *arg)
{
    (void)arg;
    fz_fold *f = acc;
    for (size_t i = b; i < e; i++)
        f->h = f->h * 31 + i;
    f->len += e - b;
}

static void fz_fold_combine(void *acc, const void *right, void *arg)
{
    (void)arg;
    fz_fold *a = acc;
    const fz_fold *r = right;
    uint64_t p = 1;
    for (uint64_t k = 0; k < r->len; k++)
        p *= 31;
    a->h = a->h * p + r->h;
    a->len += r->len;
}

static void fz_square(const void *in, void *out, void *arg)
{
    (void)arg;
    long x = *(const int *)in;
    *(long *)out = x * x + 1;
}

/* A loop of each kind on n indices, checked against the sequential one. */
static void loops_once(uint64_t *rng, int inside)
{
    static const size_t grains[] = {0, 1, 7, 64, 1000};
    size_t n = rnd(rng, 4) == 0 ? rnd(rng, 20000) : rnd(rng, 2000);
    size_t grain = grains[rnd(rng, 5)];
    if (grain == 1 && n > 3000)
        n = 3000;
    size_t base = rnd(rng, 100);
    int kind = (int)rnd(rng, 4);
    int rc;
    if (kind == 0 || kind == 3) {
        fz_visit v = {.base = base, .grain = grain, .stop_at = -1};
        if (kind == 3 && n > 0)
            v.stop_at = (int)(base + rnd(rng, (unsigned)n));
        v.seen = calloc(n + 1, 1);
        if (v.seen == NULL)
            return;
        atomic_init(&v.too_long, 0);
        rc = crew_parallel_for(fz->pool, base, base + n, grain, fz_mark, &v);
        if (rc == ESHUTDOWN && !inside && ending()) {
            free(v.seen);
            return;
        }
        if (v.stop_at < 0) {
            FZ_CHECK(rc == 0, "crew_parallel_for returned %d", rc);
            long bad = 0;
            for (size_t i = 0; i < n; i++)
                bad += atomic_load(&v.seen[i]) != 1;
            FZ_CHECK(bad == 0, "crew_parallel_for(n %zu, grain %zu): %ld indices not once", n,
                     grain, bad);
        } else {
            FZ_CHECK(rc == -5, "a stopped crew_parallel_for returned %d", rc);
            long bad = 0;
            for (size_t i = 0; i < n; i++)
                bad += atomic_load(&v.seen[i]) > 1;
            FZ_CHECK(bad == 0, "a stopped crew_parallel_for: %ld indices twice", bad);
            FZ_CHECK(atomic_load(&v.seen[v.stop_at - base]) == 1,
                     "the stopping index was not visited once");
        }
        FZ_CHECK(!atomic_load(&v.too_long), "a subrange longer than grain %zu", grain);
        free(v.seen);
    } else if (kind == 1) {
        fz_fold id = {0, 0}, got = {1, 1}, want = id;
        fz_fold_range(base, base + n, &want, NULL);
        rc = crew_parallel_reduce(fz->pool, base, base + n, grain, sizeof(fz_fold), &id,
                                  fz_fold_range, fz_fold_combine, NULL, &got);
        if (rc == ESHUTDOWN && !inside && ending())
            return;
        FZ_CHECK(rc == 0, "crew_parallel_reduce returned %d", rc);
        FZ_CHECK(got.h == want.h && got.len == want.len,
                 "crew_parallel_reduce(n %zu, grain %zu): wrong fold", n, grain);
    } else {
        int *in = malloc((n + 1) * sizeof *in);
        long *out = malloc((n + 1) * sizeof *out);
        if (in == NULL || out == NULL) {
            free(in);
            free(out);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            in[i] = (int)(i * 2654435761u % 20011) - 10000;
            out[i] = -1;
        }
        rc = crew_parallel_map(fz->pool, in, sizeof *in, out, sizeof *out, n, grain, fz_square,
                               NULL);
        if (!(rc == ESHUTDOWN && !inside && ending())) {
            FZ_CHECK(rc == 0, "crew_parallel_map returned %d", rc);
            long bad = 0;
            for (size_t i = 0; i < n; i++)
                bad += out[i] != (long)in[i] * in[i] + 1;
            FZ_CHECK(bad == 0, "crew_parallel_map(n %zu, grain %zu): %ld wrong", n, grain, bad);
        }
        free(in);
        free(out);
    }
}

/* ---- the object pool ---- */

#define FZ_MAGIC 0xfeedbeefu

typedef struct fz_obj {
    unsigned magic;
    _Atomic long holder; /* 0: idle */
    char payload[48];
} fz_obj;

static int fz_obj_init(void *obj, void *ctx)
{
    (void)ctx;
    fz_obj *o = obj;
    o->magic = FZ_MAGIC;
    atomic_init(&o->holder, 0);
    atomic_fetch_add(&fz->obj_inits, 1);
    return 0;
}

static void fz_obj_reset(void *obj, void *ctx)
{
    (void)ctx;
    FZ_CHECK(((fz_obj *)obj)->magic == FZ_MAGIC, "reset: not an object init built");
}

static void fz_obj_fini(void *obj, void *ctx)
{
    (void)ctx;
    fz_obj *o = obj;
    FZ_CHECK(o->magic == FZ_MAGIC, "fini: not an object init built");
    FZ_CHECK(atomic_load(&o->holder) == 0, "fini of an object still held");
    o->magic = 0;
    atomic_fetch_add(&fz->obj_finis, 1);
}

/* Acquires some objects, checks nobody else holds them, releases them
 * (sometimes in another order). */
static void objpool_once(uint64_t *rng, long token)
{
    fz_obj *held[FZ_OBJS];
    unsigned n = 1 + rnd(rng, FZ_OBJS);
    for (unsigned i = 0; i < n; i++) {
        errno = 0;
        held[i] = crew_objpool_acquire(fz->objs);
        FZ_CHECK(held[i] != NULL, "crew_objpool_acquire: errno %d", errno);
        if (held[i] == NULL) {
            n = i;
            break;
        }
        FZ_CHECK(held[i]->magic == FZ_MAGIC, "acquired an object init never built");
        long prev = 0;
        FZ_CHECK(atomic_compare_exchange_strong(&held[i]->holder, &prev, token),
                 "an object handed out while %ld holds it", prev);
        memset(held[i]->payload, (int)(token & 0xff), sizeof held[i]->payload);
    }
    int backwards = (int)rnd(rng, 2);
    for (unsigned j = 0; j < n; j++) {
        unsigned i = backwards ? n - 1 - j : j;
        FZ_CHECK(held[i]->payload[0] == (char)(token & 0xff), "an object changed while held");
        long mine = token;
        FZ_CHECK(atomic_compare_exchange_strong(&held[i]->holder, &mine, 0),
                 "an object we held changed holder to %ld", mine);
        crew_objpool_release(fz->objs, held[i]);
        held[i] = NULL;
    }
}

/* ---- graphs ---- */

static void *fz_own_node(void *arg)
{
    fz_onode *a = arg;
    fz_own *o = a->own;
    uint64_t preds = o->preds[a->idx];
    for (int u = 0; u < o->n; u++)
        if (preds >> u & 1)
            FZ_CHECK(atomic_load(&o->stamp[u]) == o->epoch,
                     "own graph: node %d started before its predecessor %d returned", a->idx,
                     u);
    atomic_store(&o->stamp[a->idx], o->epoch);
    atomic_fetch_add(&o->runs[a->idx], 1);
    return IP(a->idx + 1);
}

/* Whether the mirror's edges contain a cycle (Kahn on 64-bit sets). */
static int own_has_cycle(const fz_own *o)
{
    uint64_t done = 0, all = o->n == 64 ? ~0ull : ((1ull << o->n) - 1);
    for (;;) {
        uint64_t ready = 0;
        for (int v = 0; v < o->n; v++)
            if (!(done >> v & 1) && (o->preds[v] & ~done) == 0)
                ready |= 1ull << v;
        if (ready == 0)
            return done != all;
        done |= ready;
    }
}

static void own_reset(fz_own *o)
{
    crew_graph_destroy(o->g);
    memset(o->nodes, 0, sizeof o->nodes);
    memset(o->preds, 0, sizeof o->preds);
    o->n = 0;
    o->cyclic = 0;
    errno = 0;
    o->g = crew_graph_create();
    FZ_CHECK(o->g != NULL, "crew_graph_create: errno %d", errno);
}

static void own_run(fz_own *o, int nested)
{
    if (o->g == NULL)
        return;
    o->epoch++;
    for (int i = 0; i < o->n; i++)
        atomic_store(&o->runs[i], 0);
    int rc = crew_graph_run(fz->pool, o->g);
    if (rc == ESHUTDOWN && !nested && ending())
        return;
    if (o->cyclic) {
        FZ_CHECK(rc == ELOOP, "a graph with a cycle: run returned %d", rc);
    } else {
        FZ_CHECK(rc == 0, "crew_graph_run returned %d", rc);
        atomic_fetch_add(&fz->n_graph_runs, 1);
    }
    for (int i = 0; i < o->n; i++) {
        int r = atomic_load(&o->runs[i]);
        FZ_CHECK(r == (rc == 0 ? 1 : 0), "graph run %d: node %d ran %d times", rc, i, r);
        if (rc == 0)
            FZ_CHECK(crew_node_result(o->nodes[i]) == IP(i + 1), "node %d: wrong result", i);
    }
}

static void own_graph_op(fz_own *o, uint64_t *rng)
{
    if (o->g == NULL || o->cyclic || rnd(rng, 50) == 0)
        own_reset(o);
    if (o->g == NULL)
        return;
    unsigned edits = rnd(rng, 8);
    for (unsigned k = 0; k < edits; k++) {
        if ((o->n < 2 || rnd(rng, 3) == 0) && o->n < FZ_OWN_NODES) {
            int i = o->n;
            o->args[i].own = o;
            o->args[i].idx = i;
            errno = 0;
            o->nodes[i] = crew_graph_add(o->g, fz_own_node, &o->args[i]);
            FZ_CHECK(o->nodes[i] != NULL, "crew_graph_add: errno %d", errno);
            if (o->nodes[i] == NULL)
                return;
            atomic_store(&o->stamp[i], 0);
            o->n++;
        } else if (o->n >= 2) {
            int u = (int)rnd(rng, (unsigned)o->n), v = (int)rnd(rng, (unsigned)o->n);
            if (u == v) {
                FZ_CHECK(crew_graph_precede(o->nodes[u], o->nodes[u]) == EINVAL,
                         "a node preceding itself is not EINVAL");
                continue;
            }
            /* Mostly forward edges; one in 40 backward (maybe a cycle). */
            if (u > v && rnd(rng, 40) != 0) {
                int t = u;
                u = v;
                v = t;
            }
            int rc = crew_graph_precede(o->nodes[u], o->nodes[v]);
            FZ_CHECK(rc == 0, "crew_graph_precede returned %d", rc);
            if (rc == 0)
                o->preds[v] |= 1ull << u;
        }
    }
    o->cyclic = own_has_cycle(o);
    unsigned runs = 1 + rnd(rng, 2);
    for (unsigned r = 0; r < runs; r++)
        own_run(o, 0);
}

/* The shared graph: every caller runs and edits it at once. Node v checks
 * that each predecessor u (always older) has run more often than v had
 * before this run: u ran in this run, v in at most every run since it
 * was added after u. */
static void *fz_shared_node(void *arg)
{
    long v = PI(arg);
    long mine = atomic_load(&fz->sruns[v]);
    uint64_t preds = atomic_load(&fz->spreds[v]);
    for (int u = 0; u < FZ_SHARED_NODES; u++)
        if (preds >> u & 1)
            FZ_CHECK(atomic_load(&fz->sruns[u]) > mine,
                     "shared graph: node %ld started before its predecessor %d returned", v, u);
    atomic_fetch_add(&fz->sruns[v], 1);
    return IP(v + 1000);
}

static void shared_graph_op(uint64_t *rng, int nested)
{
    unsigned what = rnd(rng, 4);
    if (what == 0) {
        /* Add a node, with an edge from an older one. The mirror lock
         * makes "crew accepted the node" and "the mirror has it" one step
         * for other editors; runs never take it. */
        pthread_mutex_lock(&fz->shared_edit);
        int n = atomic_load(&fz->sn);
        if (n < FZ_SHARED_NODES) {
            errno = 0;
            crew_node *x = crew_graph_add(fz->shared, fz_shared_node, IP(n));
            if (x == NULL) {
                FZ_CHECK(errno == EINVAL, "crew_graph_add on the shared graph: errno %d", errno);
            } else {
                fz->snodes[n] = x;
                if (!atomic_load(&fz->shared_ran_once))
                    atomic_fetch_add(&fz->shared_initial, 1);
                atomic_store(&fz->sn, n + 1);
                if (n > 0) {
                    int u = (int)rnd(rng, (unsigned)n);
                    int rc = crew_graph_precede(fz->snodes[u], x);
                    FZ_CHECK(rc == 0 || rc == EBUSY, "shared precede returned %d", rc);
                    if (rc == 0)
                        atomic_fetch_or(&fz->spreds[n], 1ull << u);
                    else
                        atomic_fetch_add(&fz->n_ebusy, 1);
                }
            }
        }
        pthread_mutex_unlock(&fz->shared_edit);
        return;
    }
    if (what == 1) {
        /* A duplicate of an existing edge: 0 (counts once) or EBUSY. */
        pthread_mutex_lock(&fz->shared_edit);
        int n = atomic_load(&fz->sn);
        for (int v = 1; v < n; v++)
            if (atomic_load(&fz->spreds[v]) != 0) {
                int u = __builtin_ctzll(atomic_load(&fz->spreds[v]));
                int rc = crew_graph_precede(fz->snodes[u], fz->snodes[v]);
                FZ_CHECK(rc == 0 || rc == EBUSY, "a duplicate shared edge: %d", rc);
                break;
            }
        pthread_mutex_unlock(&fz->shared_edit);
        return;
    }
    atomic_store(&fz->shared_ran_once, 1);
    int rc = crew_graph_run(fz->pool, fz->shared);
    if (rc == ESHUTDOWN && !nested && ending())
        return;
    FZ_CHECK(rc == 0 || rc == EBUSY, "crew_graph_run of the shared graph returned %d", rc);
    if (rc == 0)
        atomic_fetch_add(&fz->shared_runs_ok, 1);
    else
        atomic_fetch_add(&fz->n_ebusy, 1);
}

/* ---- inside the pool ---- */

typedef struct fz_root {
    fz_caller *caller;
    long id;
} fz_root;

static void inside_work(uint64_t *rng, unsigned depth)
{
    unsigned steps = 1 + rnd(rng, 3);
    for (unsigned s = 0; s < steps; s++) {
        switch (rnd(rng, 9)) {
        case 0: {
            long n = 5 + rnd(rng, 12);
            FZ_CHECK(PI(fz_fib(IP(n))) == fib_seq(n), "fib(%ld) through spawns is wrong", n);
            break;
        }
        case 1:
        case 2: {
            /* Children submitted from here: onto this worker's deque, never
             * refused, never cancelled; waited for here (a timed wait
             * first, sometimes). */
            crew_future *kids[4];
            long ids[4];
            unsigned nk = 1 + rnd(rng, 4);
            for (unsigned k = 0; k < nk; k++) {
                int spawner = depth < FZ_MAX_DEPTH && rnd(rng, 3) == 0;
                ids[k] = new_id(depth + 1);
                kids[k] = NULL;
                if (ids[k] < 0)
                    continue;
                errno = 0;
                kids[k] = crew_submit(fz->pool, spawner ? fz_spawner : fz_leaf, IP(ids[k]));
                FZ_CHECK(kids[k] != NULL, "crew_submit from a task: errno %d", errno);
                if (kids[k] != NULL)
                    set_flag(ids[k], FZ_ACCEPTED | FZ_INSIDE);
            }
            for (unsigned k = nk; k-- > 0;) {
                if (kids[k] == NULL)
                    continue;
                if (rnd(rng, 4) == 0) {
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
                if (rnd(rng, 6) == 0) {
                    set_flag(ids[k], FZ_RELEASED);
                    crew_future_release(kids[k]); /* it runs anyway */
                    continue;
                }
                void *r = NULL;
                int rc = crew_future_wait(kids[k], &r);
                FZ_CHECK(rc == 0 && r == ret_of(ids[k]), "an inside future: %d", rc);
                crew_future_release(kids[k]);
            }
            break;
        }
        case 3: {
            long id = new_id(depth + 1);
            if (id < 0)
                break;
            int spawner = depth < FZ_MAX_DEPTH && rnd(rng, 3) == 0;
            int rc = crew_post(fz->pool, spawner ? fz_spawner : fz_leaf, IP(id));
            FZ_CHECK(rc == 0, "crew_post from a task returned %d", rc);
            if (rc == 0)
                set_flag(id, FZ_ACCEPTED | FZ_INSIDE);
            break;
        }
        case 4:
            loops_once(rng, 1);
            break;
        case 5:
            objpool_once(rng, 1000000 + crew_worker_index());
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
                long id = new_id(depth + 1);
                if (id < 0)
                    break;
                int rc = crew_group_post(g, fz_leaf, IP(id));
                FZ_CHECK(rc == 0, "crew_group_post from a task returned %d", rc);
                if (rc == 0) {
                    set_flag(id, FZ_ACCEPTED | FZ_INSIDE);
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
                shared_graph_op(rng, 1);
            break;
        case 8: {
            /* crew_run on its own pool from a task: a direct call. */
            long id = new_id(depth + 1);
            if (id < 0)
                break;
            void *r = NULL;
            int rc = crew_run(fz->pool, fz_leaf, IP(id), &r);
            FZ_CHECK(rc == 0 && r == ret_of(id), "crew_run from a task: %d", rc);
            if (rc == 0)
                set_flag(id, FZ_ACCEPTED | FZ_INSIDE);
            break;
        }
        }
    }
}

static void *fz_root_fn(void *arg)
{
    fz_root *r = arg;
    atomic_fetch_add(&fz->runs[r->id], 1);
    uint64_t rng = fz->seed ^ ((uint64_t)r->id * 0x9fb21c651e98df25ull);
    inside_work(&rng, 0);
    /* Now and then the caller's own graph, nested (the caller is blocked
     * in crew_run, so the graph is ours). */
    if (rnd(&rng, 3) == 0)
        own_run(&r->caller->own, 1);
    return ret_of(r->id);
}

/* ---- futures held by a caller ---- */

static void resolve(fz_fut *u)
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
        FZ_CHECK(r == ret_of(u->id), "future of task %ld: wrong result", u->id);
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
            resolve(&t);
        } else {
            FZ_CHECK(w->waited_rc == 0 || w->waited_rc == ECANCELED,
                     "a waiter task finished without waiting (%d)", w->waited_rc);
        }
        free(w);
    }
}

static void drop_fut(fz_caller *c, int i)
{
    c->futs[i] = c->futs[--c->nfuts];
}

static void op_submit(fz_caller *c, int release_early)
{
    if (!release_early && c->nfuts == FZ_FUTS) {
        resolve(&c->futs[0]);
        drop_fut(c, 0);
    }
    long id = new_id(0);
    if (id < 0)
        return;
    int spawner = rnd(&c->rng, 3) == 0;
    errno = 0;
    crew_future *f = crew_submit(fz->pool, spawner ? fz_spawner : fz_leaf, IP(id));
    if (f == NULL) {
        int err = errno;
        FZ_CHECK(refusal_ok(err), "crew_submit: NULL with errno %d", err);
        atomic_fetch_add(&fz->n_refused, 1);
        return;
    }
    set_flag(id, FZ_ACCEPTED);
    atomic_fetch_add(&fz->n_submits, 1);
    if (release_early) {
        set_flag(id, FZ_RELEASED);
        crew_future_release(f);
        return;
    }
    c->futs[c->nfuts].f = f;
    c->futs[c->nfuts].id = id;
    c->futs[c->nfuts].waiter = NULL;
    c->nfuts++;
}

/* A target submitted from outside, then a waiter task on it. */
static void op_waiter(fz_caller *c)
{
    if (c->nfuts == FZ_FUTS) {
        resolve(&c->futs[0]);
        drop_fut(c, 0);
    }
    fz_waiter *w = calloc(1, sizeof *w);
    if (w == NULL)
        return;
    w->target_id = new_id(0);
    w->id = new_id(0);
    if (w->target_id < 0 || w->id < 0) {
        free(w);
        return;
    }
    w->timed = (int)rnd(&c->rng, 2);
    w->waited_rc = -1;
    errno = 0;
    w->target = crew_submit(fz->pool, fz_leaf, IP(w->target_id));
    if (w->target == NULL) {
        FZ_CHECK(refusal_ok(errno), "crew_submit: NULL with errno %d", errno);
        free(w);
        return;
    }
    set_flag(w->target_id, FZ_ACCEPTED);
    /* Now and then cancel the target first: the waiter sees ECANCELED. */
    if (rnd(&c->rng, 6) == 0 && crew_future_cancel(w->target) == 0)
        set_flag(w->target_id, FZ_CANCEL_OK);
    errno = 0;
    crew_future *f = crew_submit(fz->pool, fz_waiter_task, w);
    if (f == NULL) {
        FZ_CHECK(refusal_ok(errno), "crew_submit: NULL with errno %d", errno);
        fz_fut t = {w->target, w->target_id, NULL};
        resolve(&t);
        free(w);
        return;
    }
    set_flag(w->id, FZ_ACCEPTED);
    c->futs[c->nfuts].f = f;
    c->futs[c->nfuts].id = w->id;
    c->futs[c->nfuts].waiter = w;
    c->nfuts++;
}

static void op_post(fz_caller *c)
{
    long id = new_id(0);
    if (id < 0)
        return;
    int spawner = rnd(&c->rng, 3) == 0;
    int rc = crew_post(fz->pool, spawner ? fz_spawner : fz_leaf, IP(id));
    if (rc != 0) {
        FZ_CHECK(refusal_ok(rc), "crew_post returned %d", rc);
        atomic_fetch_add(&fz->n_refused, 1);
        return;
    }
    set_flag(id, FZ_ACCEPTED);
    atomic_fetch_add(&fz->n_posts, 1);
}

static void op_cancel(fz_caller *c)
{
    if (c->nfuts == 0)
        return;
    fz_fut *u = &c->futs[rnd(&c->rng, (unsigned)c->nfuts)];
    int rc = crew_future_cancel(u->f);
    FZ_CHECK(rc == 0 || rc == EBUSY, "crew_future_cancel returned %d", rc);
    if (rc == 0) {
        set_flag(u->id, FZ_CANCEL_OK);
        FZ_CHECK(crew_future_done(u->f), "cancelled, yet crew_future_done is false");
    }
}

static void op_timedwait(fz_caller *c)
{
    if (c->nfuts == 0)
        return;
    fz_fut *u = &c->futs[rnd(&c->rng, (unsigned)c->nfuts)];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long ns = (long)rnd(&c->rng, 3) * 500000; /* 0, 0.5 or 1 ms */
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

static void op_wait(fz_caller *c)
{
    if (c->nfuts == 0)
        return;
    int i = (int)rnd(&c->rng, (unsigned)c->nfuts);
    resolve(&c->futs[i]);
    drop_fut(c, i);
}

static void op_done(fz_caller *c)
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

static void op_group(fz_caller *c)
{
    fz_gop *op = calloc(1, sizeof *op);
    if (op == NULL)
        return;
    op->seed = splitmix(&c->rng);
    errno = 0;
    op->g = crew_group_create(fz->pool);
    FZ_CHECK(op->g != NULL, "crew_group_create: errno %d", errno);
    if (op->g == NULL) {
        free(op);
        return;
    }
    atomic_init(&op->n, 0);
    unsigned k = 1 + rnd(&c->rng, 8);
    for (unsigned i = 0; i < k; i++) {
        int slot = atomic_fetch_add(&op->n, 1);
        if (slot >= FZ_GROUP_TASKS)
            break;
        long id = new_id(0);
        if (id < 0)
            break;
        fz_gtask *t = &op->tasks[slot];
        t->id = id;
        t->op = op;
        t->depth = 0;
        int rc = crew_group_post(op->g, fz_group_task, t);
        if (rc != 0) {
            FZ_CHECK(refusal_ok(rc), "crew_group_post returned %d", rc);
            atomic_fetch_add(&fz->n_refused, 1);
            continue;
        }
        set_flag(id, FZ_ACCEPTED);
    }
    unsigned how = rnd(&c->rng, 3);
    if (how == 2) {
        /* Waited for by a worker: it claims the group's unstarted tasks
         * and runs them itself. (The root is not in the group.) */
        int rc = crew_run(fz->pool, fz_group_waiter, op->g, NULL);
        FZ_CHECK(rc == 0 || (rc == ESHUTDOWN && ending()), "crew_run returned %d", rc);
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

static void op_run(fz_caller *c)
{
    long id = new_id(0);
    if (id < 0)
        return;
    fz_root r = {c, id};
    void *res = NULL;
    int rc = crew_run(fz->pool, fz_root_fn, &r, &res);
    if (rc != 0) {
        FZ_CHECK(rc == ESHUTDOWN && ending(), "crew_run returned %d", rc);
        return;
    }
    FZ_CHECK(res == ret_of(id), "crew_run: wrong result");
    set_flag(id, FZ_ACCEPTED);
    atomic_fetch_add(&fz->n_runs, 1);
}

/* A thread that lives for a few calls: posts, and the object pool. */
typedef struct fz_short {
    uint64_t seed;
    long token;
} fz_short;

static void *short_thread(void *arg)
{
    fz_short *s = arg;
    uint64_t rng = s->seed;
    unsigned posts = rnd(&rng, 6);
    for (unsigned i = 0; i < posts; i++) {
        long id = new_id(0);
        if (id < 0)
            break;
        int rc = crew_post(fz->pool, fz_leaf, IP(id));
        if (rc != 0) {
            FZ_CHECK(refusal_ok(rc), "crew_post from a short thread returned %d", rc);
            continue;
        }
        set_flag(id, FZ_ACCEPTED);
    }
    objpool_once(&rng, s->token);
    return NULL;
}

static void op_short_thread(fz_caller *c)
{
    fz_short s = {splitmix(&c->rng), 2000000 + (long)c->index * 100000 + c->ops_done};
    pthread_t t;
    if (pthread_create(&t, NULL, short_thread, &s) != 0)
        return;
    pthread_join(t, NULL);
    atomic_fetch_add(&fz->n_short_threads, 1);
}

static void op_stats(void)
{
    crew_stats st;
    crew_pool_stats(fz->pool, &st);
    FZ_CHECK(st.spawns <= st.tasks_run, "stats: more spawns than tasks run");
    crew_objpool_stats os;
    crew_objpool_stats_get(fz->objs, &os);
    FZ_CHECK(crew_pool_workers(fz->pool) == fz->workers, "crew_pool_workers");
}

/* ---- callers ---- */

static void set_op(fz_caller *c, int op)
{
    atomic_store_explicit(&fz->last_op[c->index], op, memory_order_relaxed);
}

static void one_op(fz_caller *c)
{
    unsigned x = rnd(&c->rng, 100);
    if (x < 14) {
        set_op(c, OP_SUBMIT);
        op_submit(c, 0);
    } else if (x < 26) {
        set_op(c, OP_POST);
        op_post(c);
    } else if (x < 31) {
        set_op(c, OP_CANCEL);
        op_cancel(c);
    } else if (x < 37) {
        set_op(c, OP_TIMEDWAIT);
        op_timedwait(c);
    } else if (x < 45) {
        set_op(c, OP_WAIT);
        op_wait(c);
    } else if (x < 49) {
        set_op(c, OP_RELEASE_EARLY);
        op_submit(c, 1);
    } else if (x < 51) {
        set_op(c, OP_DONE);
        if (rnd(&c->rng, 2))
            op_done(c);
        else
            op_waiter(c);
    } else if (x < 59) {
        set_op(c, OP_GROUP);
        op_group(c);
    } else if (x < 68) {
        set_op(c, OP_RUN);
        op_run(c);
    } else if (x < 74) {
        set_op(c, OP_LOOPS);
        loops_once(&c->rng, 0);
    } else if (x < 81) {
        set_op(c, OP_OWN_GRAPH);
        own_graph_op(&c->own, &c->rng);
    } else if (x < 88) {
        set_op(c, OP_SHARED_GRAPH);
        shared_graph_op(&c->rng, 0);
    } else if (x < 95) {
        set_op(c, OP_OBJPOOL);
        objpool_once(&c->rng, 1 + c->index);
    } else if (x < 98) {
        set_op(c, OP_SHORT_THREAD);
        op_short_thread(c);
    } else {
        set_op(c, OP_STATS);
        op_stats();
    }
}

static void *caller_main(void *arg)
{
    fz_caller *c = arg;
    own_reset(&c->own);
    for (c->ops_done = 0; c->ops_done < fz->opts.ops && !atomic_load(&fz->stop); c->ops_done++) {
        one_op(c);
        if (fz->opts.max_seconds > 0 && now_s() - fz->t0 > fz->opts.max_seconds)
            atomic_store(&fz->stop, 1);
        if (atomic_load(&fz->failures) != 0)
            atomic_store(&fz->stop, 1);
    }
    /* The end: two callers shut down at once, the others keep calling. */
    pthread_barrier_wait(&fz->end_barrier);
    if (c->index < 2) {
        set_op(c, OP_SHUTDOWN);
        int cancel = fz->cancel_mode[c->index];
        /* A backlog for the shutdown to find (cancel or drain). */
        if (c->index == 0) {
            unsigned burst = 20 + rnd(&c->rng, 200);
            for (unsigned k = 0; k < burst; k++)
                op_post(c);
        }
        atomic_store(&fz->shutdown_started, 1);
        if (cancel)
            atomic_store(&fz->cancel_started, 1);
        int rc = crew_pool_shutdown(fz->pool, cancel);
        FZ_CHECK(rc == 0, "crew_pool_shutdown(%d) returned %d", cancel, rc);
        /* Again (idempotent), now and then cancelling where the first did
         * not: the other caller may still be shutting down. */
        int again = !cancel && (int)rnd(&c->rng, 2);
        if (again)
            atomic_store(&fz->cancel_started, 1);
        rc = crew_pool_shutdown(fz->pool, again);
        FZ_CHECK(rc == 0, "a repeated crew_pool_shutdown returned %d", rc);
    } else {
        set_op(c, OP_END_RACE);
        for (int k = 0; k < 30; k++) {
            unsigned x = rnd(&c->rng, 5);
            if (x == 0)
                op_submit(c, 0);
            else if (x == 1)
                op_post(c);
            else if (x == 2)
                op_submit(c, 1);
            else if (x == 3)
                op_run(c);
            else
                op_group(c);
        }
    }
    set_op(c, OP_RESOLVE);
    /* Half the futures now, the rest after destroy. */
    for (int i = c->nfuts; i-- > c->nfuts / 2;) {
        resolve(&c->futs[i]);
        drop_fut(c, i);
    }
    set_op(c, OP_IDLE);
    return NULL;
}

/* ---- the watchdog's report (async-signal-safe: write(2) only) ---- */

static void fz_report(void)
{
    char num[24];
    test_watchdog_write_("fuzz: seed ");
    test_watchdog_write_(test_watchdog_utoa(fz->seed, num));
    test_watchdog_write_("; what each caller was doing:");
    for (unsigned i = 0; i < fz->opts.threads; i++) {
        int op = atomic_load_explicit(&fz->last_op[i], memory_order_relaxed);
        test_watchdog_write_(" ");
        test_watchdog_write_(test_watchdog_utoa(i, num));
        test_watchdog_write_("=");
        test_watchdog_write_(op >= 0 && op < OP_COUNT ? op_names[op] : "?");
    }
    test_watchdog_write_("\n");
}

/* ---- a run ---- */

static int accounting(void)
{
    long n = atomic_load(&fz->next_id);
    if (n > FZ_MAX_TASKS)
        n = FZ_MAX_TASKS;
    int cancel = atomic_load(&fz->cancel_started);
    for (long id = 0; id < n; id++) {
        int r = atomic_load(&fz->runs[id]), c = atomic_load(&fz->cancels[id]);
        unsigned char fl = atomic_load(&fz->flags[id]);
        if (!(fl & FZ_ACCEPTED)) {
            FZ_CHECK(r + c == 0, "refused task %ld ran %d times, cancelled %d times", id, r, c);
        } else if (fl & FZ_CANCEL_OK) {
            FZ_CHECK(r == 0, "task %ld ran %d times after crew_future_cancel returned 0", id, r);
        } else if (fl & FZ_RELEASED) {
            /* Nobody waited: a shutdown that cancelled it could not tell. */
            FZ_CHECK(c == 0 && (r == 1 || (r == 0 && cancel && !(fl & FZ_INSIDE))),
                     "task %ld (future released before done%s) ran %d times", id,
                     fl & FZ_INSIDE ? ", from inside" : "", r);
        } else {
            FZ_CHECK(r + c == 1, "task %ld (flags %#x) ran %d times, cancelled %d times", id, fl,
                     r, c);
        }
        if (atomic_load(&fz->failures) != 0)
            break;
    }
    return n;
}

int crew_fuzz_run(uint64_t seed, const crew_fuzz_opts *opts)
{
    fz_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return 1;
    fz = s;
    s->seed = seed;
    s->opts = *opts;
    if (s->opts.threads < 2)
        s->opts.threads = 2;
    if (s->opts.threads > FZ_MAX_THREADS)
        s->opts.threads = FZ_MAX_THREADS;
    s->runs = calloc(FZ_MAX_TASKS, sizeof *s->runs);
    s->cancels = calloc(FZ_MAX_TASKS, sizeof *s->cancels);
    s->flags = calloc(FZ_MAX_TASKS, sizeof *s->flags);
    s->depth = calloc(FZ_MAX_TASKS, 1);
    pthread_mutex_init(&s->msg_lock, NULL);
    pthread_mutex_init(&s->shared_edit, NULL);
    pthread_barrier_init(&s->end_barrier, NULL, s->opts.threads);
    int setup_ok = s->runs && s->cancels && s->flags && s->depth;

    /* The configuration, from the seed. */
    uint64_t cfg_rng = seed;
    s->workers = 1 + rnd(&cfg_rng, 4);
    s->queue_limit = rnd(&cfg_rng, 3) == 0 ? 4 + rnd(&cfg_rng, 60) : 0;
    s->block = (int)rnd(&cfg_rng, 2);
    static const unsigned spins[] = {0, 5, 100};
    unsigned spin = spins[rnd(&cfg_rng, 3)];
    size_t max_idle = rnd(&cfg_rng, 2) ? 0 : 1 + rnd(&cfg_rng, 40);
    s->cancel_mode[0] = (int)rnd(&cfg_rng, 2);
    s->cancel_mode[1] = (int)rnd(&cfg_rng, 2);

    char what[96];
    snprintf(what, sizeof what, "the fuzz run of seed %llu", (unsigned long long)seed);
    if (opts->verbose)
        printf("fuzz: seed %llu: %u workers, queue_limit %zu%s, spin_us %u, objpool max_idle "
               "%zu, %u callers x %ld calls, shutdowns cancel_pending %d and %d\n",
               (unsigned long long)seed, s->workers, s->queue_limit,
               s->queue_limit ? (s->block ? " (blocking)" : " (EAGAIN)") : "", spin, max_idle,
               s->opts.threads, s->opts.ops, s->cancel_mode[0], s->cancel_mode[1]);

    crew_config c;
    crew_config_default(&c);
    c.workers = s->workers;
    c.queue_limit = s->queue_limit;
    c.block_when_full = s->block;
    c.spin_us = spin;
    c.name = "fuzz";
    c.on_cancel = fz_on_cancel;
    c.ctx = s;
    crew_objpool_config oc = {.obj_size = sizeof(fz_obj), .max_idle = max_idle,
                              .init = fz_obj_init, .reset = fz_obj_reset, .fini = fz_obj_fini};
    if (setup_ok) {
        s->pool = crew_pool_create(&c);
        s->objs = crew_objpool_create(&oc);
        s->shared = crew_graph_create();
        setup_ok = s->pool && s->objs && s->shared;
    }
    FZ_CHECK(setup_ok, "setup failed (errno %d)", errno);
    atomic_store(&s->next_id, 1); /* 0 is never used */

    double watch = opts->max_seconds > 0 ? opts->max_seconds * 3 + 30 : 600;
    test_watchdog_arm(what, (unsigned)watch, fz_report);
    s->t0 = now_s();
    unsigned started = 0;
    if (setup_ok) {
        for (unsigned i = 0; i < s->opts.threads; i++) {
            fz_caller *cl = &s->callers[i];
            cl->index = i;
            cl->rng = seed * 0x2545f4914f6cdd1dull + i + 1;
            if (pthread_create(&cl->thread, NULL, caller_main, cl) != 0)
                break;
            started++;
        }
        FZ_CHECK(started == s->opts.threads, "could not start the callers");
        /* A caller that did not start would leave the barrier short. */
        if (started != s->opts.threads) {
            fprintf(stderr, "fuzz: cannot start %u threads\n", s->opts.threads);
            abort();
        }
        for (unsigned i = 0; i < started; i++)
            pthread_join(s->callers[i].thread, NULL);

        FZ_CHECK(crew_pool_destroy(s->pool) == 0, "crew_pool_destroy");
        for (unsigned i = 0; i < started; i++) {
            fz_caller *cl = &s->callers[i];
            for (int k = 0; k < cl->nfuts; k++)
                resolve(&cl->futs[k]); /* futures outlive their pool */
            cl->nfuts = 0;
            crew_graph_destroy(cl->own.g);
        }
        /* Nodes added before any run ran in every successful run. */
        long initial = atomic_load(&s->shared_initial), ok = atomic_load(&s->shared_runs_ok);
        for (long v = 0; v < initial; v++)
            FZ_CHECK(atomic_load(&s->sruns[v]) == ok,
                     "shared graph: node %ld ran %ld times in %ld runs", v,
                     atomic_load(&s->sruns[v]), ok);
        crew_objpool_destroy(s->objs);
        FZ_CHECK(atomic_load(&s->obj_inits) == atomic_load(&s->obj_finis),
                 "objpool: %ld built, %ld finalized", atomic_load(&s->obj_inits),
                 atomic_load(&s->obj_finis));
    }
    crew_graph_destroy(s->shared);
    long tasks = setup_ok ? accounting() : 0;
    test_watchdog_disarm();

    int failed = atomic_load(&s->failures) != 0;
    long ops = 0;
    for (unsigned i = 0; i < started; i++)
        ops += s->callers[i].ops_done;
    if (failed)
        fprintf(stderr,
                "fuzz: FAILED seed %llu (%u workers, queue_limit %zu%s, spin_us %u): %s\n"
                "fuzz: reproduce with: scripts/fuzz.sh 60 %llu\n",
                (unsigned long long)seed, s->workers, s->queue_limit,
                s->queue_limit ? (s->block ? " blocking" : " EAGAIN") : "", spin,
                s->first_failure, (unsigned long long)seed);
    else if (opts->verbose)
        printf("fuzz: seed %llu ok: %ld calls, %ld tasks (%ld submits, %ld posts, %ld crew_runs, "
               "%ld groups, %ld graph runs, %ld refused, %ld cancelled by shutdown, %ld EBUSY, "
               "%ld short threads), %.2f s\n",
               (unsigned long long)seed, ops, tasks - 1, atomic_load(&s->n_submits),
               atomic_load(&s->n_posts), atomic_load(&s->n_runs), atomic_load(&s->n_groups),
               atomic_load(&s->n_graph_runs), atomic_load(&s->n_refused),
               atomic_load(&s->n_cancelled_by_shutdown), atomic_load(&s->n_ebusy),
               atomic_load(&s->n_short_threads), now_s() - s->t0);
    fflush(stdout);
    pthread_barrier_destroy(&s->end_barrier);
    pthread_mutex_destroy(&s->shared_edit);
    pthread_mutex_destroy(&s->msg_lock);
    free(s->runs);
    free(s->cancels);
    free(s->flags);
    free(s->depth);
    free(s);
    fz = NULL;
    return failed;
}
