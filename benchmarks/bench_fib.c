/* crew-bench fib: fork-join fib(n) with no cutoff, the pure cost of a
 * spawn/sync pair, against its sequential twin seq_fib (seq/fib.c).
 *   impl=seq             seq_fib(n), a plain recursive function;
 *   impl=crew            docs/api.md's example: crew_spawn + crew_sync;
 *   impl=crew_sync_call  the same, syncing with crew_sync_call(&t, fib),
 *                        whose unstolen path is a direct call;
 *   impl=crew_typed      the typed layer: CREW_TASK(long, fib, (long, n)),
 *                        CREW_SPAWN / CREW_SYNC, run with CREW_RUN;
 *   impl=crew_typed_to   the same with a handle: CREW_SPAWN_TO(&t, ...) /
 *                        CREW_SYNC_FROM(&t, ...);
 *   impl=crew_cpp        the same in C++: crew.hpp's crew::join of two
 *                        lambdas (fib_cpp.cpp, when the build has a C++
 *                        compiler of the C compiler's family);
 *   impl=omp_tasks       `#pragma omp task` for fib(n-1), fib(n-2) called,
 *                        `taskwait`, inside `parallel num_threads(W)` +
 *                        `single`; no cutoff (when the build has OpenMP);
 *   impl=tbb             oneTBB's own example: a tbb::task_group per call,
 *                        run(fib(n-1)), fib(n-2) called, wait; no cutoff;
 *                        in a task_arena of W threads (peers/tbb.cpp, when
 *                        the build has oneTBB);
 *   impl=raw_threads     a thread per spawn: pthread_create for fib(n-1)
 *                        and pthread_join, in the top RAW_CUTOFF_DEPTH (10)
 *                        levels of the tree (1,023 threads per run), the
 *                        sequential twin below them. Its lines say
 *                        workers=0: it runs as many threads as it creates.
 * One crew pool and one oneTBB arena per worker count, 1 and --workers
 * (default 2), as in the other workloads (crew-bench report passes
 * --workers and shows both counts), created before timing. Every
 * repetition runs each cell once, in turn (seq, then per worker count crew,
 * crew_sync_call, crew_typed, crew_typed_to, crew_cpp, omp_tasks, tbb, then raw_threads),
 * --repeat times (default 10), after
 * one untimed warm-up of each. The peers (omp_tasks, tbb, raw_threads)
 * run in the first PEER_REPEAT (5) repetitions only: they are 40 to 300
 * times slower than the twin here (fib(34): 0.5 to 4 s a run), and their
 * lines say repeat=5. A peer's cell is followed by a 20 ms pause (plus
 * LLVM libomp's blocktime) so its idle threads' spinning is not charged
 * to the next cell. Every result is checked against the sequential
 * value; a mismatch fails the run.
 * oneTBB's tbb::parallel_invoke instead of the task_group measured the
 * same here (fib(34): 0.97 s on 1 thread, both). */
#include "bench.h"

#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef CREW_BENCH_HAVE_TBB
#include "peers/tbb.h"
#endif
#ifdef CREW_BENCH_HAVE_CPP
/* fib_cpp.cpp: fib((long)arg) through crew::join, a crew_fn. */
void *bench_fib_cpp_root(void *arg);
#endif

enum {
    IMPL_SEQ,
    IMPL_CREW,
    IMPL_CREW_CALL,
    IMPL_CREW_TYPED,
    IMPL_CREW_TYPED_TO,
    IMPL_CREW_CPP,
    IMPL_OMP,
    IMPL_TBB,
    IMPL_RAW,
    NIMPLS
};
static const char *const impl_names[] = {"seq",      "crew",      "crew_sync_call", "crew_typed", "crew_typed_to",
                                         "crew_cpp", "omp_tasks", "tbb",            "raw_threads",
                                         NULL};

#define MAX_POOLS 2
/* seq, raw_threads, and one cell per pool for each of crew .. tbb. */
#define MAX_CELLS (2 + (IMPL_TBB - IMPL_CREW + 1) * MAX_POOLS)
#define PAUSE_MS 20
#define RAW_CUTOFF_DEPTH 10
#define RAW_STACK (128 * 1024)
#define PEER_REPEAT 5

static void *fib_sync(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (n < 2)
        return arg;
    crew_task t;
    crew_spawn(&t, fib_sync, (void *)(intptr_t)(n - 1));
    long b = (long)(intptr_t)fib_sync((void *)(intptr_t)(n - 2));
    long a = (long)(intptr_t)crew_sync(&t);
    return (void *)(intptr_t)(a + b);
}

static void *fib_sync_call(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (n < 2)
        return arg;
    crew_task t;
    crew_spawn(&t, fib_sync_call, (void *)(intptr_t)(n - 1));
    long b = (long)(intptr_t)fib_sync_call((void *)(intptr_t)(n - 2));
    long a = (long)(intptr_t)crew_sync_call(&t, fib_sync_call);
    return (void *)(intptr_t)(a + b);
}

CREW_TASK(long, fib_typed, (long, n))
{
    if (n < 2)
        return n;
    CREW_SPAWN(fib_typed, n - 1);
    long b = CREW_CALL(fib_typed, n - 2);
    return CREW_SYNC(fib_typed) + b;
}

CREW_TASK(long, fib_typed_to, (long, n))
{
    if (n < 2)
        return n;
    crew_task t;
    CREW_SPAWN_TO(&t, fib_typed_to, n - 1);
    long b = CREW_CALL(fib_typed_to, n - 2);
    return CREW_SYNC_FROM(&t, fib_typed_to) + b;
}

#ifdef _OPENMP
static long fib_omp(long n)
{
    if (n < 2)
        return n;
    long a = 0;
#pragma omp task default(none) firstprivate(n) shared(a)
    a = fib_omp(n - 1);
    long b = fib_omp(n - 2);
#pragma omp taskwait
    return a + b;
}
#endif

/* raw_threads: a node above the cutoff depth runs fib(n-1) on a thread of
 * its own and fib(n-2) itself, then joins; a thread that cannot be
 * created is counted and its work done inline (the result stays right). */
typedef struct raw_arg {
    long n;
    int depth;
    long result;
} raw_arg;

static pthread_attr_t raw_attr;
static _Atomic long raw_created, raw_failed;

static void *fib_raw(void *p)
{
    raw_arg *a = p;
    if (a->n < 2 || a->depth >= RAW_CUTOFF_DEPTH) {
        a->result = seq_fib(a->n);
        return NULL;
    }
    raw_arg l = {a->n - 1, a->depth + 1, 0};
    raw_arg r = {a->n - 2, a->depth + 1, 0};
    pthread_t t;
    int rc = pthread_create(&t, &raw_attr, fib_raw, &l);
    fib_raw(&r);
    if (rc == 0) {
        atomic_fetch_add_explicit(&raw_created, 1, memory_order_relaxed);
        pthread_join(t, NULL);
    } else {
        atomic_fetch_add_explicit(&raw_failed, 1, memory_order_relaxed);
        fib_raw(&l);
    }
    a->result = l.result + r.result;
    return NULL;
}

static int impl_built(int impl)
{
    switch (impl) {
    case IMPL_OMP:
#ifdef _OPENMP
        return 1;
#else
        return 0;
#endif
    case IMPL_TBB:
#ifdef CREW_BENCH_HAVE_TBB
        return 1;
#else
        return 0;
#endif
    case IMPL_CREW_CPP:
#ifdef CREW_BENCH_HAVE_CPP
        return 1;
#else
        return 0;
#endif
    default:
        return 1;
    }
}

static int is_peer(int impl)
{
    return impl == IMPL_OMP || impl == IMPL_TBB || impl == IMPL_RAW;
}

/* How long to pause after a cell of `impl` (see the top). */
static long pause_after(int impl)
{
    if (!is_peer(impl))
        return 0;
#if defined(_OPENMP) && defined(KMP_VERSION_MAJOR)
    if (impl == IMPL_OMP) {
        int bt = kmp_get_blocktime();
        return PAUSE_MS + (bt > 0 ? bt : 0);
    }
#endif
    return PAUSE_MS;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long fib_iterative(long n)
{
    long a = 0, b = 1;
    for (long i = 0; i < n; i++) {
        long c = a + b;
        a = b;
        b = c;
    }
    return a;
}

/* One cell: an implementation on a worker count (1 for seq, 0 for
 * raw_threads). */
typedef struct cell {
    int impl;
    unsigned workers;
    crew_pool *pool;
    double *secs;
    int runs;        /* timed runs: repeat, at most PEER_REPEAT for a peer */
    uint64_t steals; /* summed over the timed runs */
} cell;

/* Runs the cell once; returns seconds, or -1 after printing the error. */
static double run_cell(cell *c, long n, long expect)
{
    long got = -1;
    double t0 = bench_now();
    switch (c->impl) {
    case IMPL_SEQ:
        got = seq_fib(n);
        break;
    case IMPL_CREW:
    case IMPL_CREW_CALL:
    case IMPL_CREW_CPP: {
        void *r = NULL;
        crew_fn fn = c->impl == IMPL_CREW ? fib_sync : fib_sync_call;
#ifdef CREW_BENCH_HAVE_CPP
        if (c->impl == IMPL_CREW_CPP)
            fn = bench_fib_cpp_root;
#endif
        int rc = crew_run(c->pool, fn, (void *)(intptr_t)n, &r);
        if (rc != 0) {
            fprintf(stderr, "crew-bench fib: crew_run: %s\n", strerror(rc));
            return -1;
        }
        got = (long)(intptr_t)r;
        break;
    }
    case IMPL_CREW_TYPED:
    case IMPL_CREW_TYPED_TO: {
        int rc = c->impl == IMPL_CREW_TYPED ? CREW_RUN(c->pool, fib_typed, &got, n)
                                            : CREW_RUN(c->pool, fib_typed_to, &got, n);
        if (rc != 0) {
            fprintf(stderr, "crew-bench fib: CREW_RUN: %s\n", strerror(rc));
            return -1;
        }
        break;
    }
    case IMPL_OMP:
#ifdef _OPENMP
#pragma omp parallel num_threads((int)c->workers) default(none) shared(got, n)
#pragma omp single
        got = fib_omp(n);
#endif
        break;
    case IMPL_TBB:
#ifdef CREW_BENCH_HAVE_TBB
        got = peer_tbb_fib(c->workers, n);
#endif
        break;
    case IMPL_RAW: {
        raw_arg root = {n, 0, 0};
        fib_raw(&root);
        got = root.result;
        break;
    }
    }
    double t = bench_now() - t0;
    if (got != expect) {
        fprintf(stderr,
                "crew-bench fib: WRONG RESULT impl=%s workers=%u n=%ld: "
                "got %ld, expected %ld\n",
                impl_names[c->impl], c->workers, n, got, expect);
        return -1;
    }
    return t;
}

static uint64_t pool_steals(crew_pool *pool)
{
    crew_stats s;
    crew_pool_stats(pool, &s);
    return s.steals;
}

int bench_fib(const bench_opts *o)
{
    if (bench_check_impl(o, "fib", impl_names) != 0)
        return 2;
    long n = o->n > 0 ? o->n : 34;
    if (n > 90) {
        fprintf(stderr, "crew-bench fib: n %ld overflows a long\n", n);
        return 2;
    }
    int repeat = o->repeat > 0 ? o->repeat : 10;
    unsigned worker_counts[MAX_POOLS] = {1, o->workers > 0 ? o->workers : 2};
    int npools = worker_counts[1] == 1 ? 1 : MAX_POOLS;

    const long expect = fib_iterative(n);
    if (seq_fib(n) != expect) {
        fprintf(stderr, "crew-bench fib: the sequential twin is wrong\n");
        return 1;
    }

    int want[NIMPLS];
    for (int i = 0; i < NIMPLS; i++) {
        want[i] = i == IMPL_SEQ || bench_selected(o, impl_names[i]);
        if (want[i] && !impl_built(i)) {
            printf("bench=fib impl=%s skipped=1 reason=not_built_with_%s\n", impl_names[i],
                   i == IMPL_OMP ? "openmp" : i == IMPL_TBB ? "onetbb" : "cpp");
            want[i] = 0;
        }
    }

    /* seq always runs: it is what the ratios divide by. */
    cell cells[MAX_CELLS];
    int ncells = 0;
    cells[ncells++] = (cell){.impl = IMPL_SEQ, .workers = 1};
    crew_pool *pools[MAX_POOLS] = {NULL, NULL};
    int status = 0;
    int raw_attr_ready = 0;
    for (int p = 0; p < npools; p++) {
        pools[p] = bench_pool_create("fib", worker_counts[p]);
        if (pools[p] == NULL) {
            status = 1;
            goto out;
        }
#ifdef CREW_BENCH_HAVE_TBB
        if (want[IMPL_TBB] && peer_tbb_prepare(worker_counts[p]) != 0) {
            fprintf(stderr, "crew-bench fib: cannot create a oneTBB arena\n");
            status = 1;
            goto out;
        }
#endif
        for (int impl = IMPL_CREW; impl <= IMPL_TBB; impl++)
            if (want[impl])
                cells[ncells++] = (cell){.impl = impl,
                                         .workers = worker_counts[p],
                                         .pool = impl == IMPL_CREW ||
                                                         impl == IMPL_CREW_CALL ||
                                                         impl == IMPL_CREW_TYPED ||
                                                         impl == IMPL_CREW_TYPED_TO ||
                                                         impl == IMPL_CREW_CPP
                                                     ? pools[p]
                                                     : NULL};
    }
    if (want[IMPL_RAW]) {
        pthread_attr_init(&raw_attr);
        pthread_attr_setstacksize(&raw_attr, RAW_STACK);
        raw_attr_ready = 1;
        cells[ncells++] = (cell){.impl = IMPL_RAW, .workers = 0};
    }
    for (int c = 0; c < ncells; c++) {
        cells[c].runs = is_peer(cells[c].impl) && repeat > PEER_REPEAT
                            ? PEER_REPEAT
                            : repeat;
        cells[c].secs = calloc((size_t)repeat, sizeof(double));
        if (cells[c].secs == NULL) {
            fprintf(stderr, "crew-bench fib: out of memory\n");
            status = 1;
            goto out;
        }
    }

    for (int c = 0; c < ncells; c++) {
        if (run_cell(&cells[c], n, expect) < 0) {
            status = 1;
            goto out;
        }
        pause_ms(pause_after(cells[c].impl));
    }
    atomic_store(&raw_created, 0);
    atomic_store(&raw_failed, 0);
    long runs_done = 0, runs_total = 0;
    for (int c = 0; c < ncells; c++)
        runs_total += cells[c].runs;
    for (int r = 0; r < repeat; r++) {
        for (int c = 0; c < ncells; c++) {
            if (r >= cells[c].runs)
                continue;
            uint64_t s0 = cells[c].pool ? pool_steals(cells[c].pool) : 0;
            double t = run_cell(&cells[c], n, expect);
            if (t < 0) {
                status = 1;
                goto out;
            }
            cells[c].secs[r] = t;
            if (cells[c].pool)
                cells[c].steals += pool_steals(cells[c].pool) - s0;
            pause_ms(pause_after(cells[c].impl));
            bench_progress("fib", ++runs_done, runs_total);
        }
    }

    bench_summary seq = bench_summarize(cells[0].secs, (size_t)cells[0].runs);
    for (int c = 0; c < ncells; c++) {
        int impl = cells[c].impl;
        if (!bench_selected(o, impl_names[impl]))
            continue;
        bench_summary s =
            c == 0 ? seq : bench_summarize(cells[c].secs, (size_t)cells[c].runs);
        printf("bench=fib impl=%s workers=%u n=%ld", impl_names[impl], cells[c].workers, n);
        bench_print_stats("s", &s);
        printf(" result=%ld speed_vs_seq=%.3g repeat=%d", expect, seq.median / s.median,
               cells[c].runs);
        if (cells[c].pool)
            printf(" steals_per_run=%.0f", (double)cells[c].steals / cells[c].runs);
        if (impl == IMPL_OMP || impl == IMPL_TBB)
            printf(" cutoff=none");
        if (impl == IMPL_RAW) {
            printf(" cutoff_depth=%d spawned_threads_per_run=%ld",
                   RAW_CUTOFF_DEPTH, atomic_load(&raw_created) / cells[c].runs);
            long failed = atomic_load(&raw_failed);
            if (failed > 0)
                printf(" failed_creates=%ld", failed);
        }
        printf("\n");
    }

out:
    for (int c = 0; c < ncells; c++)
        free(cells[c].secs);
    for (int p = 0; p < npools; p++)
        if (pools[p] != NULL)
            crew_pool_destroy(pools[p]);
    if (raw_attr_ready)
        pthread_attr_destroy(&raw_attr);
    return status;
}
