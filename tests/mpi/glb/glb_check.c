/* The MPI program of suite `mpi`: run under mpirun by cases_mpi.c, it
 * runs a list of scenarios one after the other in the same processes and
 * checks on every rank that crew_mpi_run returned what it must (a result
 * equal to the sequential one, or the same error on every rank).
 *
 *   glb_check [--workers W] [--n N] [--level single|funneled]
 *             SCENARIO...
 *
 * Scenarios (the bag is a stack of integer ranges [lo, hi): a range
 * longer than 64 splits in two, a shorter one is summed, f(i) for each i:
 * dynamic, cheap, and its answer known):
 *   count           the whole range [0, N): the count and the sum of f
 *   bigloot         the same with 1 KiB of padding per item (loot of
 *                   hundreds of KiB: Open MPI's rendezvous path)
 *   empty           no rank has an item: the identity
 *   process_fails   rank 0's process fails EDOM at its 5th call
 *   remote_fails    every rank starts with a share of the range, and every
 *                   rank but 0 fails EDOM at its first process call (with
 *                   one rank: rank 0)
 *   merge_fails     merge fails EINVAL (on whichever rank gets loot first)
 *   split_overflows rank 0's split returns more than the cap: EMSGSIZE
 *   (in these two, rank 0 works slowly until its first split, so that the
 *   fault happens however the ranks are scheduled)
 *   init_fails      every rank's init fails with 100 + rank: all get 100
 *   timeout         every process call sleeps; timeout_ms 300: ETIMEDOUT
 *   bad_args        the last rank passes NULL ops: EINVAL everywhere
 *   mismatch        the last rank has another result size: EINVAL
 *   wrong_thread    a thread other than main calls: EPERM (FUNNELED)
 *   from_worker     a crew worker calls: EDEADLK
 *   level           with --level single: ENOTSUP; crew_mpi_init EALREADY
 *   stuck           rank 0's process sleeps 60 s, timeout_ms 200,
 *                   abort_ms 300: MPI_Abort ends the job (never returns)
 *   idle            rank 0 has one item that sleeps N ms; every rank
 *                   prints the CPU time it used (the idle ranks' cost)
 * Exit status 0 when every scenario gave what it must on this rank. */
#include <crew_mpi.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { LEAF = 64, PAD_BIG = 1024 };

typedef struct span {
    uint64_t lo, hi;
} span;

typedef struct sum_result {
    uint64_t count, sum;
} sum_result;

enum fault { NO_FAULT, PROCESS_FAILS, REMOTE_FAILS, MERGE_FAILS, SPLIT_OVERFLOWS, INIT_FAILS,
             SLOW, STUCK, ONE_SLOW_ITEM };

typedef struct check_ctx {
    int rank, nranks;
    uint64_t n;
    size_t pad;            /* bytes after each span in loot */
    enum fault fault;
    unsigned sleep_ms;     /* SLOW, STUCK, ONE_SLOW_ITEM */
    bool gate;             /* rank 0 works slowly until its first split */
    bool everywhere;       /* every rank starts with a share of [0, n) */
    atomic_bool split_yet;
    atomic_int calls;      /* process calls on this rank */
} check_ctx;

typedef struct stack {
    span *items;
    size_t top, cap;
} stack;

static uint64_t f(uint64_t i)
{
    uint64_t x = i * 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 31);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void *bag_create(void *ctx)
{
    (void)ctx;
    return calloc(1, sizeof(stack));
}

static void bag_destroy(void *bag, void *ctx)
{
    (void)ctx;
    stack *s = bag;
    free(s->items);
    free(s);
}

static int push(stack *s, span x)
{
    if (s->top == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        span *more = realloc(s->items, cap * sizeof *more);
        if (more == NULL)
            return ENOMEM;
        s->items = more;
        s->cap = cap;
    }
    s->items[s->top++] = x;
    return 0;
}

static int bag_init(void *bag, int rank, int nranks, void *ctx)
{
    check_ctx *c = ctx;
    if (c->fault == INIT_FAILS)
        return 100 + rank;
    if (c->everywhere) {
        span share = {c->n * (uint64_t)rank / (uint64_t)nranks,
                      c->n * ((uint64_t)rank + 1) / (uint64_t)nranks};
        return share.lo < share.hi ? push(bag, share) : 0;
    }
    if (rank != 0)
        return 0;
    return push(bag, (span){0, c->fault == ONE_SLOW_ITEM ? 1 : c->n});
}

static int bag_process(void *bag, size_t n, void *result, void *ctx)
{
    check_ctx *c = ctx;
    stack *s = bag;
    sum_result *r = result;
    int call = atomic_fetch_add(&c->calls, 1) + 1;
    if (c->fault == PROCESS_FAILS && c->rank == 0 && call == 5)
        return EDOM;
    if (c->fault == REMOTE_FAILS && (c->rank != 0 || c->nranks == 1))
        return EDOM;
    if (c->fault == SLOW || c->fault == ONE_SLOW_ITEM || (c->fault == STUCK && c->rank == 0))
        sleep_ms(c->sleep_ms);
    if (c->gate && c->rank == 0 && !atomic_load(&c->split_yet))
        sleep_ms(1); /* a thief will come: the fault must not depend on timing */
    for (size_t i = 0; i < n && s->top > 0; i++) {
        span x = s->items[--s->top];
        if (x.hi - x.lo > LEAF) {
            uint64_t mid = x.lo + (x.hi - x.lo) / 2;
            if (push(s, (span){mid, x.hi}) != 0 || push(s, (span){x.lo, mid}) != 0)
                return ENOMEM;
            continue;
        }
        for (uint64_t k = x.lo; k < x.hi; k++) {
            r->count++;
            r->sum += f(k);
        }
    }
    return 0;
}

static bool bag_empty(const void *bag, void *ctx)
{
    (void)ctx;
    return ((const stack *)bag)->top == 0;
}

/* The older half of the stack (the longest ranges), each span followed
 * by pad bytes of a pattern merge checks. */
static size_t bag_split(void *bag, void *loot, size_t cap, void *ctx)
{
    check_ctx *c = ctx;
    stack *s = bag;
    atomic_store(&c->split_yet, true);
    if (c->fault == SPLIT_OVERFLOWS && c->rank == 0)
        return cap + 1;
    size_t item = sizeof(span) + c->pad, give = s->top / 2;
    if (give > cap / item)
        give = cap / item;
    unsigned char *out = loot;
    for (size_t i = 0; i < give; i++) {
        memcpy(out + i * item, &s->items[i], sizeof(span));
        memset(out + i * item + sizeof(span), 0x5a, c->pad);
    }
    memmove(s->items, s->items + give, (s->top - give) * sizeof(span));
    s->top -= give;
    return give * item;
}

static int bag_merge(void *bag, const void *loot, size_t len, void *ctx)
{
    check_ctx *c = ctx;
    if (c->fault == MERGE_FAILS)
        return EINVAL;
    size_t item = sizeof(span) + c->pad;
    if (len % item != 0)
        return EINVAL;
    const unsigned char *in = loot;
    for (size_t i = 0; i < len / item; i++) {
        span x;
        memcpy(&x, in + i * item, sizeof x);
        for (size_t p = 0; p < c->pad; p++)
            if (in[i * item + sizeof x + p] != 0x5a)
                return EINVAL;
        if (x.lo >= x.hi || x.hi > c->n || push(bag, x) != 0)
            return EINVAL;
    }
    return 0;
}

static void add(void *acc, const void *other, void *ctx)
{
    (void)ctx;
    sum_result *a = acc;
    const sum_result *o = other;
    a->count += o->count;
    a->sum += o->sum;
}

static const sum_result zero;

/* The sequential answer for [0, n), computed once per n. */
static sum_result sequential(uint64_t n)
{
    static uint64_t known_n = UINT64_MAX;
    static sum_result known;
    if (n != known_n) {
        known = (sum_result){0, 0};
        for (uint64_t i = 0; i < n; i++) {
            known.count++;
            known.sum += f(i);
        }
        known_n = n;
    }
    return known;
}

static crew_mpi_bag_ops make_ops(check_ctx *c)
{
    return (crew_mpi_bag_ops){
        .create = bag_create,
        .destroy = bag_destroy,
        .init = bag_init,
        .process = bag_process,
        .empty = bag_empty,
        .split = bag_split,
        .merge = bag_merge,
        .result_size = sizeof(sum_result),
        .identity = &zero,
        .reduce = add,
        .ctx = c,
    };
}

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec +
           1e-6 * (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

typedef struct call {
    crew_pool *pool;
    const crew_mpi_bag_ops *ops;
    const crew_mpi_config *cfg;
    sum_result *res;
    int rc;
} call;

static void *call_run(void *arg)
{
    call *k = arg;
    k->rc = crew_mpi_run(k->pool, MPI_COMM_WORLD, k->ops, k->cfg, k->res, NULL);
    return NULL;
}

/* One scenario on this rank: 0 when crew_mpi_run did what it must. */
static int scenario(const char *name, crew_pool *pool, int rank, int nranks, uint64_t n,
                    unsigned workers)
{
    check_ctx c = {.rank = rank, .nranks = nranks, .n = n};
    crew_mpi_bag_ops ops = make_ops(&c);
    crew_mpi_config cfg;
    crew_mpi_config_default(&cfg);
    cfg.chunk = 64;
    cfg.timeout_ms = 20000; /* a hang fails the test instead of stalling it */
    cfg.abort_ms = 5000;
    int expect = 0, rc = -1;
    double t0 = MPI_Wtime();
    sum_result res = {0, 0};
    bool splits_at_all = nranks > 1 || workers > 1;

    if (strcmp(name, "count") == 0) {
    } else if (strcmp(name, "bigloot") == 0) {
        c.pad = PAD_BIG;
        cfg.max_loot = 1u << 20;
    } else if (strcmp(name, "empty") == 0) {
        ops.init = NULL;
        c.n = 0;
    } else if (strcmp(name, "process_fails") == 0) {
        c.fault = PROCESS_FAILS;
        expect = EDOM;
    } else if (strcmp(name, "remote_fails") == 0) {
        c.fault = REMOTE_FAILS;
        c.everywhere = true;
        expect = EDOM;
    } else if (strcmp(name, "merge_fails") == 0) {
        c.fault = MERGE_FAILS;
        c.gate = splits_at_all;
        expect = splits_at_all ? EINVAL : 0;
    } else if (strcmp(name, "split_overflows") == 0) {
        c.fault = SPLIT_OVERFLOWS;
        c.gate = splits_at_all;
        expect = splits_at_all ? EMSGSIZE : 0;
    } else if (strcmp(name, "init_fails") == 0) {
        c.fault = INIT_FAILS;
        expect = 100;
    } else if (strcmp(name, "timeout") == 0) {
        c.fault = SLOW;
        c.sleep_ms = 2;
        c.n = 1ull << 40;
        cfg.timeout_ms = 300;
        expect = ETIMEDOUT;
    } else if (strcmp(name, "bad_args") == 0) {
        expect = EINVAL;
        if (rank == nranks - 1)
            rc = crew_mpi_run(pool, MPI_COMM_WORLD, NULL, &cfg, &res, NULL);
    } else if (strcmp(name, "mismatch") == 0) {
        expect = nranks > 1 ? EINVAL : 0; /* alone, a rank agrees with itself */
        if (rank == nranks - 1 && nranks > 1)
            ops.result_size = sizeof(uint64_t);
    } else if (strcmp(name, "wrong_thread") == 0) {
        call k = {pool, &ops, &cfg, &res, 0};
        pthread_t t;
        pthread_create(&t, NULL, call_run, &k);
        pthread_join(t, NULL);
        rc = k.rc;
        printf("glb_check: rank %d: %s: %d (expected %d)\n", rank, name, rc, EPERM);
        return rc == EPERM ? 0 : 1;
    } else if (strcmp(name, "from_worker") == 0) {
        call k = {pool, &ops, &cfg, &res, 0};
        crew_future *fu = crew_submit(pool, call_run, &k);
        if (fu == NULL || crew_future_wait(fu, NULL) != 0)
            return 1;
        crew_future_release(fu);
        rc = k.rc;
        printf("glb_check: rank %d: %s: %d (expected %d)\n", rank, name, rc, EDEADLK);
        return rc == EDEADLK ? 0 : 1;
    } else if (strcmp(name, "level") == 0) {
        int again = crew_mpi_init(NULL, NULL);
        rc = crew_mpi_run(pool, MPI_COMM_WORLD, &ops, &cfg, &res, NULL);
        int ok = crew_mpi_thread_level_ok();
        printf("glb_check: rank %d: level: run %d, thread_level_ok %d, init again %d\n", rank,
               rc, ok, again);
        return rc == ENOTSUP && ok == ENOTSUP && again == EALREADY ? 0 : 1;
    } else if (strcmp(name, "stuck") == 0) {
        c.fault = STUCK;
        c.sleep_ms = 60000;
        cfg.timeout_ms = 200;
        cfg.abort_ms = 300;
    } else if (strcmp(name, "idle") == 0) {
        c.fault = ONE_SLOW_ITEM;
        c.sleep_ms = (unsigned)n;
        c.n = 1;
        cfg.chunk = 1;
        double cpu0 = cpu_seconds();
        crew_mpi_stats st;
        rc = crew_mpi_run(pool, MPI_COMM_WORLD, &ops, &cfg, &res, &st);
        double cpu = cpu_seconds() - cpu0;
        printf("glb_check: rank %d: idle: %.3f s, cpu %.2f ms (%.2f ms per second), "
               "wakeups %llu\n",
               rank, st.seconds, cpu * 1e3, cpu * 1e3 / st.seconds,
               (unsigned long long)st.wakeups);
        return rc;
    } else {
        fprintf(stderr, "glb_check: unknown scenario %s\n", name);
        return 1;
    }
    if (strcmp(name, "bad_args") != 0 || rank != nranks - 1)
        rc = crew_mpi_run(pool, MPI_COMM_WORLD, &ops, &cfg, &res, NULL);
    if (c.fault == STUCK) {
        printf("glb_check: rank %d: stuck: returned %d instead of MPI_Abort\n", rank, rc);
        return 1;
    }
    bool check_sum = expect == 0;
    sum_result want = check_sum ? sequential(c.n) : res;
    bool ok = rc == expect && (!check_sum || (res.count == want.count && res.sum == want.sum));
    printf("glb_check: rank %d: %s: %d (expected %d), count %llu (expected %llu), %.3f s%s\n",
           rank, name, rc, expect, (unsigned long long)res.count,
           (unsigned long long)want.count, MPI_Wtime() - t0,
           ok ? "" : " FAILED");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines reach mpirun as they come */
    unsigned workers = 1;
    uint64_t n = 20000000;
    int level = MPI_THREAD_FUNNELED, first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first += 2) {
        if (first + 1 >= argc)
            return 2;
        if (strcmp(argv[first], "--workers") == 0)
            workers = (unsigned)atoi(argv[first + 1]);
        else if (strcmp(argv[first], "--n") == 0)
            n = strtoull(argv[first + 1], NULL, 10);
        else if (strcmp(argv[first], "--level") == 0)
            level = strcmp(argv[first + 1], "single") == 0 ? MPI_THREAD_SINGLE
                                                            : MPI_THREAD_FUNNELED;
    }
    int provided;
    if (level == MPI_THREAD_FUNNELED) {
        if (crew_mpi_init(&argc, &argv) != 0) {
            fprintf(stderr, "glb_check: no MPI_THREAD_FUNNELED\n");
            return 1;
        }
    } else {
        MPI_Init_thread(&argc, &argv, level, &provided);
    }
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    crew_config pc;
    crew_config_default(&pc);
    pc.workers = workers;
    crew_pool *pool = crew_pool_create(&pc);
    if (pool == NULL) {
        perror("glb_check: crew_pool_create");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int failed = 0, total = 0;
    for (int i = first; i < argc; i++, total++)
        failed += scenario(argv[i], pool, rank, nranks, n, workers) != 0;
    printf("glb_check: rank %d of %d, %u workers: %d of %d scenarios right\n", rank, nranks,
           workers, total - failed, total);
    crew_pool_destroy(pool);
    MPI_Finalize();
    return failed == 0 ? 0 : 1;
}
