/* crew-bench grain: the measurements of docs/choosing.md (grain, cutoffs,
 * worker counts, pinning, spin_us): one command makes every figure there.
 *
 *   crew-bench grain [--impl for|reduce|uneven|fib|spin] [--workers N]
 *                    [--n SIZE] [--repeat R]
 *
 * --impl picks one part (default: all). Pools of 1, N and 2N workers
 * (N = --workers, default 2: on a 2-CPU machine 2N oversubscribes), all
 * created before timing and kept for the run; an untimed warm-up round,
 * then --repeat rounds (default 11) in which every cell (part x
 * implementation x worker count x grain or cutoff) runs once, in turn,
 * each followed by a 20 ms pause, so that every cell starts with sleeping
 * workers, as a program's first loop after a pause does. Every answer is
 * checked against the sequential loop or twin; a mismatch prints WRONG
 * RESULT and exits 1. The parts:
 *   for     crew_parallel_for over --n indices (default 100,000,000) of
 *           bench_for's cheap hash (about 0.5 ns each), a per-worker
 *           padded partial sum; grains 0, 64, 1,024, 16,384, 1,000,000;
 *           calls_per_run counts the calls of the body;
 *   reduce  crew_parallel_reduce over the same, the same grains;
 *           calls_per_run counts the leaves;
 *   uneven  crew_parallel_for over 65,536 indices of which the first 256
 *           cost HEAVY_ROUNDS mixing rounds (tens of microseconds) and the
 *           rest one hash; grains 0, 1, 16, 64, 1,024;
 *   fib     fib(30) and fib(34), spawning down to a cutoff (none, 10, 20),
 *           seq_fib below it; and crew_pinned: fib(34) with cutoff 20 on N
 *           workers pinned one per CPU from on_worker_start (when the
 *           affinity mask has N CPUs);
 *   spin    a 1-worker pool, spin_us 100 (impl crew_spin100) or 0
 *           (crew_spin0); an outside thread posts a task, waits until it
 *           started, then a gap (20 us, busy-waiting; 1 ms, sleeping) and
 *           posts the next; 200 posts per repetition; the post-to-start
 *           latency, the worker's sleeps per post and its CPU time
 *           (CLOCK_THREAD_CPUTIME_ID of the worker) per wall second.
 * Lines: bench=grain part=P impl=I workers=W [grain=G | cutoff_n=C] n=...
 * median_s= p10_s= p90_s= min_s= max_s= result=... speed_vs_seq= (spin:
 * the _us statistics of the latency). */
#include "bench.h"

#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_COUNTS 3
#define MAX_SLOTS (2 * BENCH_MAX_WORKERS + 1)
#define PAUSE_MS 20
#define UNEVEN_N 65536
#define UNEVEN_HEAVY 256
#define HEAVY_ROUNDS 40000
#define SPIN_POSTS_PER_REP 200

static const char *const part_names[] = {"for", "reduce", "uneven", "fib", "spin", NULL};
enum { P_FOR, P_REDUCE, P_UNEVEN, P_FIB, P_SPIN };

static const size_t loop_grains[] = {0, 64, 1024, 16384, 1000000};
static const size_t uneven_grains[] = {0, 1, 16, 64, 1024};
static const long fib_cutoffs[] = {0, 10, 20};
static const long fib_sizes[] = {30, 34};

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- the loop bodies --------------------------------------------------- */

static inline uint64_t cheap(uint64_t i)
{
    uint64_t x = i * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return x & 0xffff;
}

/* An expensive iteration of the uneven loop: HEAVY_ROUNDS dependent
 * mixing rounds. */
static uint64_t heavy(uint64_t i)
{
    uint64_t x = i + 1;
    for (int r = 0; r < HEAVY_ROUNDS; r++) {
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ull;
    }
    return x & 0xffff;
}

static inline uint64_t uneven_cost(uint64_t i)
{
    return i < UNEVEN_HEAVY ? heavy(i) : cheap(i);
}

/* The sequential loops: the bodies' own loops, one function each (a
 * branch inside one loop would keep the compiler from vectorizing the
 * cheap one, as it does in the bodies). */
static uint64_t seq_cheap(size_t b, size_t e)
{
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += cheap(i);
    return s;
}

static uint64_t seq_uneven(size_t b, size_t e)
{
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += uneven_cost(i);
    return s;
}

static uint64_t seq_loop(int part, size_t b, size_t e)
{
    return part == P_UNEVEN ? seq_uneven(b, e) : seq_cheap(b, e);
}

/* Per-worker partials: only worker w writes slot w (the last slot is for
 * a caller outside the pool, which crew never uses for a loop body). */
typedef struct slot {
    _Alignas(64) _Atomic uint64_t sum;
    _Atomic uint64_t calls;
} slot;
static slot slots[MAX_SLOTS];

static slot *my_slot(void)
{
    int w = crew_worker_index();
    return &slots[w >= 0 && w < MAX_SLOTS - 1 ? w : MAX_SLOTS - 1];
}

static void slot_add(slot *sl, uint64_t s)
{
    /* Relaxed: one writer per slot; the loop's return orders these stores
     * before the caller's reads (crew_parallel_for returns after every
     * call returned). */
    atomic_store_explicit(&sl->sum, atomic_load_explicit(&sl->sum, memory_order_relaxed) + s,
                          memory_order_relaxed);
    atomic_store_explicit(&sl->calls,
                          atomic_load_explicit(&sl->calls, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static int for_body(size_t b, size_t e, void *arg)
{
    (void)arg;
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += cheap(i);
    slot_add(my_slot(), s);
    return 0;
}

static int uneven_body(size_t b, size_t e, void *arg)
{
    (void)arg;
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += uneven_cost(i);
    slot_add(my_slot(), s);
    return 0;
}

/* The reduction's value: the sum and the number of leaves folded. */
typedef struct acc {
    uint64_t sum, leaves;
} acc;

static void reduce_range(size_t b, size_t e, void *a, void *arg)
{
    (void)arg;
    acc *x = a;
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += cheap(i);
    x->sum += s;
    x->leaves++;
}

static void reduce_combine(void *a, const void *right, void *arg)
{
    (void)arg;
    acc *x = a;
    const acc *y = right;
    x->sum += y->sum;
    x->leaves += y->leaves;
}

/* ---- fib with a cutoff ------------------------------------------------- */

/* The cutoff of the fib cell running now: written by the main thread
 * before crew_run, whose submission orders it before the tasks' reads. */
static long cutoff;

static void *fib(void *arg)  /* the measured function */
{
    long n = (long)(intptr_t)arg;
    if (n < 2)
        return arg;
    if (n < cutoff)                      /* cutoff 0: none */
        return (void *)(intptr_t)seq_fib(n);
    crew_task t;
    crew_spawn(&t, fib, (void *)(intptr_t)(n - 1));
    long b = (long)(intptr_t)fib((void *)(intptr_t)(n - 2));
    long a = (long)(intptr_t)crew_sync(&t);
    return (void *)(intptr_t)(a + b);
}

/* ---- pinning (docs/examples/pin_workers.c's way) ---------------------- */

typedef struct pinning {
    cpu_set_t allowed;
    _Atomic int failed;
} pinning;

static void pin_worker(unsigned index, void *ctx)
{
    pinning *p = ctx;
    int cpu = -1;
    unsigned n = index % (unsigned)CPU_COUNT(&p->allowed);
    for (int c = 0; c < CPU_SETSIZE && cpu < 0; c++)
        if (CPU_ISSET(c, &p->allowed) && n-- == 0)
            cpu = c;
    cpu_set_t one;
    CPU_ZERO(&one);
    if (cpu >= 0)
        CPU_SET(cpu, &one);
    if (cpu < 0 || pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0)
        /* Relaxed: read after crew_pool_create returned, which waited for
         * the workers' start. */
        atomic_store_explicit(&p->failed, 1, memory_order_relaxed);
}

/* ---- the cells --------------------------------------------------------- */

enum { I_SEQ, I_CREW, I_PINNED };
static const char *const impl_names[] = {"seq", "crew", "crew_pinned"};

typedef struct cell {
    int part, impl;
    unsigned workers;
    crew_pool *pool;
    size_t grain; /* for, reduce, uneven */
    long n;       /* loop size, or fib's n */
    long cutoff;  /* fib */
    uint64_t want, calls;
    double *secs;
} cell;

/* Runs c once: its seconds, or -1 after printing why. */
static double run_cell(cell *c)
{
    uint64_t got = 0, calls = 0;
    double t0 = bench_now();
    if (c->impl == I_SEQ) {
        got = c->part == P_FIB ? (uint64_t)seq_fib(c->n) : seq_loop(c->part, 0, (size_t)c->n);
        bench_consume((uintptr_t)got);
    } else if (c->part == P_FOR || c->part == P_UNEVEN) {
        for (int i = 0; i < MAX_SLOTS; i++) {
            /* Relaxed: no loop runs now; the next one starts after these
             * stores (its submission orders them). */
            atomic_store_explicit(&slots[i].sum, 0, memory_order_relaxed);
            atomic_store_explicit(&slots[i].calls, 0, memory_order_relaxed);
        }
        t0 = bench_now();
        int rc = crew_parallel_for(c->pool, 0, (size_t)c->n, c->grain,
                                   c->part == P_FOR ? for_body : uneven_body, NULL);
        if (rc != 0) {
            fprintf(stderr, "crew-bench grain: crew_parallel_for: %s\n", strerror(rc));
            return -1;
        }
        double t = bench_now() - t0;
        for (int i = 0; i < MAX_SLOTS; i++) {
            /* Relaxed: the loop returned after every body did. */
            got += atomic_load_explicit(&slots[i].sum, memory_order_relaxed);
            calls += atomic_load_explicit(&slots[i].calls, memory_order_relaxed);
        }
        t0 = bench_now() - t;
    } else if (c->part == P_REDUCE) {
        acc zero = {0, 0}, r = {0, 0};
        int rc = crew_parallel_reduce(c->pool, 0, (size_t)c->n, c->grain, sizeof r, &zero,
                                      reduce_range, reduce_combine, NULL, &r);
        if (rc != 0) {
            fprintf(stderr, "crew-bench grain: crew_parallel_reduce: %s\n", strerror(rc));
            return -1;
        }
        got = r.sum;
        calls = r.leaves;
    } else {
        cutoff = c->cutoff;
        void *r = NULL;
        int rc = crew_run(c->pool, fib, (void *)(intptr_t)c->n, &r);
        if (rc != 0) {
            fprintf(stderr, "crew-bench grain: crew_run: %s\n", strerror(rc));
            return -1;
        }
        got = (uint64_t)(intptr_t)r;
    }
    double t = bench_now() - t0;
    if (got != c->want) {
        fprintf(stderr, "crew-bench grain: part=%s impl=%s workers=%u: WRONG RESULT %llu, "
                        "expected %llu\n",
                part_names[c->part], impl_names[c->impl], c->workers,
                (unsigned long long)got, (unsigned long long)c->want);
        return -1;
    }
    c->calls = calls;
    return t;
}

static void print_cell(cell *c, int repeat, double seq_median)
{
    bench_summary s = bench_summarize(c->secs, (size_t)repeat);
    printf("bench=grain part=%s", part_names[c->part]);
    if (c->part == P_FIB)
        printf("%ld", c->n);
    printf(" impl=%s workers=%u", impl_names[c->impl], c->workers);
    if (c->impl != I_SEQ && c->part != P_FIB)
        printf(" grain=%zu", c->grain);
    if (c->impl != I_SEQ && c->part == P_FIB) {
        if (c->cutoff == 0)
            printf(" cutoff_n=none");
        else
            printf(" cutoff_n=%ld", c->cutoff);
    }
    printf(" n=%ld", c->n);
    bench_print_stats("s", &s);
    printf(" result=%llu speed_vs_seq=%.3g repeat=%d", (unsigned long long)c->want,
           seq_median / s.median, repeat);
    if (c->impl != I_SEQ && c->part != P_FIB)
        printf(" calls_per_run=%llu", (unsigned long long)c->calls);
    printf("\n");
}

/* ---- spin_us ----------------------------------------------------------- */

typedef struct spin_probe {
    _Atomic int started;
    double started_at;
    clockid_t worker_clock;
    _Atomic int have_clock;
} spin_probe;

static void spin_worker_start(unsigned index, void *ctx)
{
    (void)index;
    spin_probe *p = ctx;
    if (pthread_getcpuclockid(pthread_self(), &p->worker_clock) == 0)
        /* Release: publishes worker_clock to the reader's acquire. */
        atomic_store_explicit(&p->have_clock, 1, memory_order_release);
}

static void *spin_task(void *arg)
{
    spin_probe *p = arg;
    p->started_at = bench_now();
    /* Release: publishes started_at to the poster's acquire load. */
    atomic_store_explicit(&p->started, 1, memory_order_release);
    return NULL;
}

static double cpu_seconds(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One row of the spin table: 0, or 1 after printing why. */
static int spin_row(unsigned spin_us, double gap_us, long posts, long *step, long steps)
{
    static spin_probe probe;
    atomic_store_explicit(&probe.have_clock, 0, memory_order_relaxed); /* no worker yet */
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 1;
    cfg.spin_us = spin_us;
    cfg.on_worker_start = spin_worker_start;
    cfg.ctx = &probe;
    crew_pool *pool = crew_pool_create(&cfg);
    if (pool == NULL) {
        fprintf(stderr, "crew-bench grain: crew_pool_create: %s\n", strerror(errno));
        return 1;
    }
    double *us = calloc((size_t)posts, sizeof *us);
    if (us == NULL) {
        crew_pool_destroy(pool);
        return 1;
    }
    /* Acquire: pairs with the worker's release of worker_clock. */
    while (!atomic_load_explicit(&probe.have_clock, memory_order_acquire))
        sched_yield();
    pause_ms(PAUSE_MS);
    crew_stats before, after;
    crew_pool_stats(pool, &before);
    double c0 = cpu_seconds(probe.worker_clock), w0 = bench_now();
    int status = 0;
    for (long k = 0; k < posts && status == 0; k++) {
        /* Relaxed: the previous task finished storing (we saw started). */
        atomic_store_explicit(&probe.started, 0, memory_order_relaxed);
        double t = bench_now();
        int rc = crew_post(pool, spin_task, &probe);
        if (rc != 0) {
            fprintf(stderr, "crew-bench grain: crew_post: %s\n", strerror(rc));
            status = 1;
            break;
        }
        /* Acquire: pairs with the task's release; started_at is then read. */
        while (!atomic_load_explicit(&probe.started, memory_order_acquire))
            ;
        us[k] = (probe.started_at - t) * 1e6;
        if (gap_us < 100) {
            double until = bench_now() + gap_us * 1e-6;
            while (bench_now() < until)
                ;
        } else {
            struct timespec ts = {0, (long)(gap_us * 1000)};
            nanosleep(&ts, NULL);
        }
        if ((k + 1) % 50 == 0)
            bench_progress("grain", ++*step, steps);
    }
    double c1 = cpu_seconds(probe.worker_clock), w1 = bench_now();
    crew_pool_stats(pool, &after);
    crew_pool_destroy(pool);
    if (status == 0) {
        bench_summary s = bench_summarize(us, (size_t)posts);
        printf("bench=grain part=spin_gap_%s impl=crew_spin%u workers=1 spin_us=%u gap_us=%g "
               "n=%ld",
               gap_us < 1000 ? "20us" : "1ms", spin_us, spin_us, gap_us, posts);
        bench_print_stats("us", &s);
        printf(" sleeps_per_post=%.2f worker_cpu_pct=%.1f\n",
               (double)(after.sleeps - before.sleeps) / (double)posts,
               100 * (c1 - c0) / (w1 - w0));
    }
    free(us);
    return status;
}

/* ---- the driver -------------------------------------------------------- */

#define MAX_CELLS 80

int bench_grain(const bench_opts *o)
{
    if (bench_check_impl(o, "grain", part_names) != 0)
        return 2;
    long n = o->n > 0 ? o->n : 100000000;
    int repeat = o->repeat > 0 ? o->repeat : 11;
    unsigned base = o->workers > 0 ? o->workers : 2;
    unsigned counts[MAX_COUNTS] = {1, base, 2 * base};
    int ncounts = base > 1 ? 3 : 2;
    if (base == 1)
        counts[1] = 2; /* 1 and 2 */
    int want[5];
    for (int p = 0; p < 5; p++)
        want[p] = bench_selected(o, part_names[p]);

    crew_pool *pools[MAX_COUNTS] = {NULL, NULL, NULL}, *pinned = NULL;
    pinning pin;
    CPU_ZERO(&pin.allowed);
    atomic_init(&pin.failed, 0);
    static cell cells[MAX_CELLS];
    int ncells = 0, status = 0;
    if (want[P_FOR] || want[P_REDUCE] || want[P_UNEVEN] || want[P_FIB])
        for (int k = 0; k < ncounts; k++)
            if ((pools[k] = bench_pool_create("grain", counts[k])) == NULL) {
                status = 1;
                goto out;
            }
    int can_pin = want[P_FIB] && base > 1 &&
                  sched_getaffinity(0, sizeof pin.allowed, &pin.allowed) == 0 &&
                  (unsigned)CPU_COUNT(&pin.allowed) >= base;
    if (want[P_FIB] && base > 1 && !can_pin)
        printf("bench=grain part=fib34 impl=crew_pinned skipped=1 "
               "reason=fewer_cpus_than_workers\n");
    if (can_pin) {
        crew_config cfg;
        crew_config_default(&cfg);
        cfg.workers = base;
        cfg.on_worker_start = pin_worker;
        cfg.ctx = &pin;
        pinned = crew_pool_create(&cfg);
        /* Relaxed: the workers started before crew_pool_create returned. */
        if (pinned != NULL && atomic_load_explicit(&pin.failed, memory_order_relaxed)) {
            crew_pool_destroy(pinned);
            pinned = NULL;
        }
        if (pinned == NULL)
            printf("bench=grain part=fib34 impl=crew_pinned skipped=1 reason=cannot_pin\n");
    }

    /* The cells, in the order they run within a round. */
    for (int part = P_FOR; part <= P_UNEVEN; part++) {
        if (!want[part])
            continue;
        long size = part == P_UNEVEN ? UNEVEN_N : n;
        uint64_t expect = seq_loop(part, 0, (size_t)size);
        const size_t *grains = part == P_UNEVEN ? uneven_grains : loop_grains;
        cells[ncells++] = (cell){.part = part, .impl = I_SEQ, .workers = 1, .n = size,
                                 .want = expect};
        for (int k = 0; k < ncounts; k++)
            for (int g = 0; g < 5; g++)
                cells[ncells++] = (cell){.part = part, .impl = I_CREW, .workers = counts[k],
                                         .pool = pools[k], .grain = grains[g], .n = size,
                                         .want = expect};
    }
    if (want[P_FIB])
        for (int f = 0; f < 2; f++) {
            uint64_t expect = (uint64_t)seq_fib(fib_sizes[f]);
            cells[ncells++] = (cell){.part = P_FIB, .impl = I_SEQ, .workers = 1,
                                     .n = fib_sizes[f], .want = expect};
            for (int k = 0; k < ncounts; k++)
                for (int c = 0; c < 3; c++)
                    cells[ncells++] = (cell){.part = P_FIB, .impl = I_CREW,
                                             .workers = counts[k], .pool = pools[k],
                                             .n = fib_sizes[f], .cutoff = fib_cutoffs[c],
                                             .want = expect};
            if (f == 1 && pinned != NULL)
                cells[ncells++] = (cell){.part = P_FIB, .impl = I_PINNED, .workers = base,
                                         .pool = pinned, .n = fib_sizes[f], .cutoff = 20,
                                         .want = expect};
        }
    for (int c = 0; c < ncells; c++)
        if ((cells[c].secs = calloc((size_t)repeat, sizeof(double))) == NULL) {
            status = 1;
            goto out;
        }

    /* Progress steps: a cell run, or 50 posts of the spin part. */
    long posts = (long)SPIN_POSTS_PER_REP * repeat;
    long steps = (long)(repeat + 1) * ncells + (want[P_SPIN] ? 4 * (posts / 50) : 0), step = 0;
    for (int r = -1; r < repeat; r++) /* r = -1: the warm-up */
        for (int c = 0; c < ncells; c++) {
            double t = run_cell(&cells[c]);
            if (t < 0) {
                status = 1;
                goto out;
            }
            if (r >= 0)
                cells[c].secs[r] = t;
            pause_ms(PAUSE_MS);
            bench_progress("grain", ++step, steps);
        }
    for (int c = 0; c < ncells; c++) {
        int s = c; /* the seq cell of c's part and size: the last seq before c */
        while (s > 0 && cells[s].impl != I_SEQ)
            s--;
        double copy[BENCH_MAX_REPEAT];
        memcpy(copy, cells[s].secs, (size_t)repeat * sizeof(double));
        print_cell(&cells[c], repeat, bench_median(copy, (size_t)repeat));
    }
    if (want[P_SPIN]) {
        fflush(stdout);
        const double gaps[2] = {20, 1000};
        for (int g = 0; g < 2 && status == 0; g++)
            for (int sp = 0; sp < 2 && status == 0; sp++)
                status = spin_row(sp == 0 ? 100 : 0, gaps[g], posts, &step, steps);
    }

out:
    for (int c = 0; c < ncells; c++)
        free(cells[c].secs);
    for (int k = 0; k < MAX_COUNTS; k++)
        if (pools[k] != NULL)
            crew_pool_destroy(pools[k]);
    if (pinned != NULL)
        crew_pool_destroy(pinned);
    return status;
}
