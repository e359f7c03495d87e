/* Suite `pool`, many threads: the Treiber stack's ABA guard (torture
 * tests) and the pool's exactly-once accounting under contention, on the
 * shared stack, through slot caches and through thread caches (the public
 * calls). The contract itself: cases_pool_contract.c. */
#include "pool_cases.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool/objpool.h"
#include "pool/stack.h"
#include "pool_tracked.h"

/* ---- the Treiber stack on its own ---- */

int treiber_stack_is_lifo_and_pops_null_when_empty(void)
{
    crew_objpool_stack *s = crew_objpool_stack_create();
    CHECK(s != NULL);
    crew_objpool_node n[3];
    CHECK(crew_objpool_stack_pop(s) == NULL);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3; i++)
            crew_objpool_stack_push(s, &n[i]);
        for (int i = 2; i >= 0; i--)
            CHECKF(crew_objpool_stack_pop(s) == &n[i], "round %d, node %d", round,
                   i);
        CHECK(crew_objpool_stack_pop(s) == NULL);
    }
    crew_objpool_stack_destroy(s);
    return 0;
}

/* ---- ABA torture ----
 * Four threads, three items. Each thread takes A, takes B, gives A back
 * while it still holds B, then gives B back. A pop that read "top A, next
 * B" before such a round and reaches its CAS after it is the ABA case:
 * with the version guard its CAS fails; without it the head becomes B,
 * which a thread holds, and the next taker gets B too. Every take sets the
 * item's ownership flag with an atomic exchange, so a second holder is
 * seen at once.
 *
 * A pop's window (from its read of the head to its CAS) is a few
 * nanoseconds; on two cores, timer preemption lands in it too rarely to
 * rely on. So a fifth thread plays a busy scheduler: every few dozen
 * microseconds it signals one torture thread, whose handler sleeps for a
 * moment wherever the thread was, sometimes inside a pop. That is a
 * preemption at a random instruction, thousands of times a second. */

enum {
    TORTURE_THREADS = 4,
    TORTURE_NODES = 3,
    STALL_SIGNAL = SIGUSR1,
};

typedef struct torture {
    void *(*take)(struct torture *t);
    void (*give)(struct torture *t, void *x);
    _Atomic int *(*flag)(struct torture *t, void *x);
    crew_objpool_stack *stack;
    crew_objpool_node nodes[TORTURE_NODES];
    _Atomic int node_held[TORTURE_NODES];
    crew_objpool *pool;
    long iterations;
    double deadline;
    _Atomic int failed;
    _Atomic int running; /* torture threads not yet finished */
    _Atomic long ops, double_holds;
} torture;

typedef struct torture_thread {
    torture *t;
    pthread_t tid;
    unsigned seed;
} torture_thread;

/* Leaves the processor for a moment (nanosleep is async-signal-safe), so
 * that other threads run even where all torture threads share one core. */
static void stall_handler(int sig)
{
    (void)sig;
    int saved = errno;
    const struct timespec stall = {0, 2000};
    nanosleep(&stall, NULL);
    errno = saved;
}

static int torture_claim(torture *t, void *x)
{
    if (atomic_exchange_explicit(t->flag(t, x), 1, memory_order_acq_rel) == 0)
        return 1;
    atomic_fetch_add(&t->double_holds, 1);
    atomic_store(&t->failed, 1);
    return 0;
}

static void torture_give(torture *t, void *x)
{
    atomic_store_explicit(t->flag(t, x), 0, memory_order_release);
    t->give(t, x);
}

static void *torture_main(void *arg)
{
    torture_thread *me = arg;
    torture *t = me->t;
    long ops = 0;
    for (long i = 0; i < t->iterations; i++) {
        if ((i & 255) == 0 &&
            (atomic_load_explicit(&t->failed, memory_order_relaxed) ||
             now_s() > t->deadline))
            break;
        void *a = t->take(t);
        if (a == NULL) {
            sched_yield();
            continue;
        }
        if (!torture_claim(t, a))
            break; /* someone else holds a: leave it to them */
        void *b = t->take(t);
        if (b != NULL && !torture_claim(t, b))
            break;
        torture_give(t, a);
        if (b != NULL)
            torture_give(t, b);
        ops++;
    }
    atomic_fetch_add(&t->ops, ops);
    atomic_fetch_sub(&t->running, 1);
    return NULL;
}

typedef struct staller {
    torture *t;
    torture_thread *th;
} staller;

/* Signals a random torture thread about every 20 to 70 microseconds (the
 * sleep plus timer slack) until all have finished. Their thread ids stay
 * valid until they are joined, which happens after this thread ends. */
static void *staller_main(void *arg)
{
    staller *s = arg;
    unsigned seed = 4242;
    const struct timespec gap = {0, 20000};
    while (atomic_load(&s->t->running) > 0) {
        unsigned k = next_rand(&seed) % TORTURE_THREADS;
        pthread_kill(s->th[k].tid, STALL_SIGNAL);
        nanosleep(&gap, NULL);
    }
    return NULL;
}

static int torture_run(torture *t)
{
    t->iterations = crew_scaled(5000000, 200000);
    t->deadline = now_s() + 1.5;
    struct sigaction stall = {.sa_handler = stall_handler,
                              .sa_flags = SA_RESTART};
    struct sigaction old;
    sigemptyset(&stall.sa_mask);
    CHECK(sigaction(STALL_SIGNAL, &stall, &old) == 0);
    torture_thread th[TORTURE_THREADS];
    atomic_store(&t->running, TORTURE_THREADS);
    for (int k = 0; k < TORTURE_THREADS; k++) {
        th[k].t = t;
        th[k].seed = 1234u + 77u * (unsigned)k;
        CHECK(pthread_create(&th[k].tid, NULL, torture_main, &th[k]) == 0);
    }
    staller st = {.t = t, .th = th};
    pthread_t stid;
    CHECK(pthread_create(&stid, NULL, staller_main, &st) == 0);
    pthread_join(stid, NULL);
    for (int k = 0; k < TORTURE_THREADS; k++)
        pthread_join(th[k].tid, NULL);
    CHECK(sigaction(STALL_SIGNAL, &old, NULL) == 0);
    fprintf(stderr, "aba torture: %ld rounds, %ld double holds\n",
            atomic_load(&t->ops), atomic_load(&t->double_holds));
    CHECKF(atomic_load(&t->double_holds) == 0,
           "%ld items were held by two threads at once (ABA)",
           atomic_load(&t->double_holds));
    CHECK(atomic_load(&t->ops) > 0);
    return 0;
}

static void *stack_take(torture *t)
{
    return crew_objpool_stack_pop(t->stack);
}

static void stack_give(torture *t, void *x)
{
    crew_objpool_stack_push(t->stack, x);
}

static _Atomic int *stack_flag(torture *t, void *x)
{
    return &t->node_held[(crew_objpool_node *)x - t->nodes];
}

int treiber_aba_torture_never_gives_a_node_to_two_threads(void)
{
    torture *t = calloc(1, sizeof(*t));
    CHECK(t != NULL);
    t->take = stack_take;
    t->give = stack_give;
    t->flag = stack_flag;
    t->stack = crew_objpool_stack_create();
    CHECK(t->stack != NULL);
    for (int i = 0; i < TORTURE_NODES; i++)
        crew_objpool_stack_push(t->stack, &t->nodes[i]);
    if (torture_run(t) != 0)
        return 1; /* the stack may be corrupt: leave it */

    /* Every node is back, exactly once. Bounded: a corrupt stack may hold
     * a cycle. */
    int seen[TORTURE_NODES] = {0};
    int popped = 0;
    crew_objpool_node *n;
    while (popped <= 2 * TORTURE_NODES &&
           (n = crew_objpool_stack_pop(t->stack)) != NULL) {
        long i = n - t->nodes;
        CHECKF(i >= 0 && i < TORTURE_NODES, "popped a foreign node");
        seen[i]++;
        popped++;
    }
    for (int i = 0; i < TORTURE_NODES; i++)
        CHECKF(seen[i] == 1, "node %d is on the stack %d times", i, seen[i]);
    crew_objpool_stack_destroy(t->stack);
    free(t);
    return 0;
}

/* The shared stack itself, not the public calls: their thread caches
 * would keep each torture thread's objects to itself. */
static void *pool_take(torture *t)
{
    return crew_objpool_acquire_at(t->pool, CREW_OBJPOOL_SHARED);
}

static void pool_give(torture *t, void *x)
{
    crew_objpool_release_at(t->pool, CREW_OBJPOOL_SHARED, x);
}

static _Atomic int *pool_flag(torture *t, void *x)
{
    (void)t;
    return &((tracked *)x)->held;
}

int pool_aba_torture_never_gives_an_object_to_two_threads(void)
{
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, 0);
    torture *t = calloc(1, sizeof(*t));
    CHECK(t != NULL);
    t->take = pool_take;
    t->give = pool_give;
    t->flag = pool_flag;
    t->pool = crew_objpool_create(&cfg);
    CHECK(t->pool != NULL);
    /* Start from a handful of idle objects on the stack. */
    void *x[TORTURE_NODES];
    for (int i = 0; i < TORTURE_NODES; i++)
        CHECK((x[i] = pool_take(t)) != NULL);
    for (int i = 0; i < TORTURE_NODES; i++)
        pool_give(t, x[i]);
    if (torture_run(t) != 0)
        return 1; /* the pool may be corrupt: leave it */

    crew_objpool_stats st;
    crew_objpool_stats_get(t->pool, &st);
    CHECKF(st.created == (uint64_t)atomic_load(&h.inits) && st.freed == 0 &&
               st.idle == st.created,
           "created %llu, freed %llu, idle %llu, inits %ld",
           (unsigned long long)st.created, (unsigned long long)st.freed,
           (unsigned long long)st.idle, atomic_load(&h.inits));
    /* A handful: at most what four threads can hold plus the start. */
    CHECKF(st.created <= 2 * TORTURE_THREADS + TORTURE_NODES,
           "%llu objects built", (unsigned long long)st.created);
    crew_objpool_destroy(t->pool);
    CHECK(atomic_load(&h.finis) == atomic_load(&h.inits));
    CHECK(atomic_load(&h.fini_on_held) == 0);
    free(t);
    return 0;
}

/* ---- concurrent rounds ----
 * Threads acquire a burst of objects, claim each (exclusive ownership),
 * then release them all, over and over. Afterwards every count must
 * balance exactly. */

enum { ROUND_THREADS = 4, MAX_BURST = 48 };

enum path {
    PATH_PUBLIC, /* crew_objpool_acquire/release: thread caches */
    PATH_SHARED, /* the shared stack alone (CREW_OBJPOOL_SHARED) */
    PATH_SLOTS,  /* thread k uses slot k (k >= nslots: shared fallback) */
};

typedef struct rounds {
    crew_objpool *pool;
    hooks *h;
    long rounds;
    int burst; /* at most this many held at once */
    enum path path;
    _Atomic int running; /* threads not yet finished */
    _Atomic long acquires, releases, double_holds, failed_acquires;
} rounds;

typedef struct rounds_thread {
    rounds *r;
    pthread_t tid;
    unsigned slot, seed;
} rounds_thread;

static tracked *rounds_get(rounds_thread *me)
{
    switch (me->r->path) {
    case PATH_PUBLIC:
        return crew_objpool_acquire(me->r->pool);
    case PATH_SHARED:
        return crew_objpool_acquire_at(me->r->pool, CREW_OBJPOOL_SHARED);
    default:
        return crew_objpool_acquire_at(me->r->pool, me->slot);
    }
}

static void rounds_put(rounds_thread *me, tracked *x)
{
    switch (me->r->path) {
    case PATH_PUBLIC:
        crew_objpool_release(me->r->pool, x);
        break;
    case PATH_SHARED:
        crew_objpool_release_at(me->r->pool, CREW_OBJPOOL_SHARED, x);
        break;
    default:
        crew_objpool_release_at(me->r->pool, me->slot, x);
        break;
    }
}

static void *rounds_main(void *arg)
{
    rounds_thread *me = arg;
    rounds *r = me->r;
    tracked *held[MAX_BURST];
    long acquires = 0, releases = 0;
    for (long round = 0; round < r->rounds; round++) {
        int want = 1 + (int)(next_rand(&me->seed) % (unsigned)r->burst);
        int n = 0;
        while (n < want) {
            tracked *x = rounds_get(me);
            if (x == NULL) {
                atomic_fetch_add(&r->failed_acquires, 1);
                break;
            }
            acquires++;
            if (!claim(r->h, x)) {
                atomic_fetch_add(&r->double_holds, 1);
                goto out; /* not ours to release */
            }
            held[n++] = x;
        }
        if (next_rand(&me->seed) % 16 == 0)
            sched_yield();
        while (n > 0) {
            tracked *x = held[--n];
            unclaim(x);
            rounds_put(me, x);
            releases++;
        }
    }
out:
    atomic_fetch_add(&r->acquires, acquires);
    atomic_fetch_add(&r->releases, releases);
    atomic_fetch_sub(&r->running, 1);
    return NULL;
}

/* Runs the rounds, checks the balance, destroys the pool. */
static int rounds_run(rounds *r, size_t max_idle)
{
    hooks *h = r->h;
    rounds_thread th[ROUND_THREADS];
    atomic_store(&r->running, ROUND_THREADS);
    for (int k = 0; k < ROUND_THREADS; k++) {
        th[k].r = r;
        th[k].slot = (unsigned)k;
        th[k].seed = 99u + 31u * (unsigned)k;
        CHECK(pthread_create(&th[k].tid, NULL, rounds_main, &th[k]) == 0);
    }
    /* Meanwhile, read the statistics (which walk the thread caches'
     * registry while threads add to it): for the sanitizers to watch. */
    const struct timespec pause = {0, 200000};
    while (atomic_load(&r->running) > 0) {
        crew_objpool_stats mid;
        crew_objpool_stats_get(r->pool, &mid);
        nanosleep(&pause, NULL);
    }
    for (int k = 0; k < ROUND_THREADS; k++)
        pthread_join(th[k].tid, NULL);

    long acquires = atomic_load(&r->acquires);
    long releases = atomic_load(&r->releases);
    CHECKF(atomic_load(&r->double_holds) == 0,
           "%ld objects were held by two threads at once",
           atomic_load(&r->double_holds));
    CHECK(atomic_load(&r->failed_acquires) == 0);
    CHECK(acquires == releases);
    crew_objpool_stats st;
    crew_objpool_stats_get(r->pool, &st);
    fprintf(stderr,
            "rounds: %ld acquires, created %llu reused %llu freed %llu "
            "idle %llu, idle peak seen %ld\n",
            acquires, (unsigned long long)st.created,
            (unsigned long long)st.reused, (unsigned long long)st.freed,
            (unsigned long long)st.idle, atomic_load(&h->idle_peak));
    /* Exactly once: every object built is idle or freed, every acquire
     * was served once, every release kept or freed the object once. */
    CHECK(st.created == (uint64_t)atomic_load(&h->inits));
    CHECK(st.created == st.freed + st.idle);
    CHECK(st.created + st.reused == (uint64_t)acquires);
    CHECK(st.freed == (uint64_t)atomic_load(&h->finis));
    CHECK((uint64_t)atomic_load(&h->resets) + st.freed == (uint64_t)releases);
    CHECK(atomic_load(&h->idle_now) == (long)st.idle);
    /* One thread cache per thread that used the public calls. */
    unsigned caches = crew_objpool_thread_caches(r->pool);
    CHECKF(caches == (r->path == PATH_PUBLIC ? ROUND_THREADS : 0),
           "%u thread caches", caches);
    if (max_idle > 0) {
        CHECKF(st.idle <= max_idle, "idle %llu > max_idle %zu",
               (unsigned long long)st.idle, max_idle);
        /* The test's own idle count trails the pool's by at most the
         * threads between taking an object and claiming it. */
        CHECKF(atomic_load(&h->idle_peak) <= (long)max_idle + ROUND_THREADS,
               "idle peaked at %ld, max_idle %zu", atomic_load(&h->idle_peak),
               max_idle);
        CHECKF(st.freed > 0,
               "no object was ever freed: max_idle not exercised");
    }
    crew_objpool_destroy(r->pool);
    CHECK(atomic_load(&h->finis) == atomic_load(&h->inits));
    CHECK(atomic_load(&h->fini_on_held) == 0);
    return 0;
}

static int run_rounds(size_t max_idle, unsigned nslots, enum path path,
                      int burst, long nrounds)
{
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, max_idle);
    rounds r = {.h = &h, .rounds = nrounds, .burst = burst, .path = path};
    r.pool = crew_objpool_create_slots(&cfg, nslots);
    CHECK(r.pool != NULL);
    return rounds_run(&r, max_idle);
}

/* The shared stack under contention, with no cache in front of it. */
int concurrent_rounds_account_for_every_object_exactly_once(void)
{
    return run_rounds(0, 0, PATH_SHARED, 4, crew_scaled(200000, 20000));
}

int concurrent_release_with_small_max_idle_frees_bodies_and_keeps_bound(void)
{
    /* Bursts of up to 8 against room for 2: most releases free the body
     * while other threads pop and push the same nodes. */
    return run_rounds(2, 0, PATH_SHARED, 8, crew_scaled(100000, 10000));
}

int slot_caches_under_concurrency_drain_at_destroy_with_exact_counts(void)
{
    /* Three threads with a slot each, the fourth on the shared fallback;
     * bursts above the cache's size make them spill and refill. */
    return run_rounds(0, ROUND_THREADS - 1, PATH_SLOTS, MAX_BURST,
                      crew_scaled(40000, 4000));
}

int slot_caches_with_small_max_idle_keep_counts_exact(void)
{
    return run_rounds(8, ROUND_THREADS - 1, PATH_SLOTS, 24,
                      crew_scaled(40000, 4000));
}

int slot_caches_with_batched_idle_credit_keep_counts_exact(void)
{
    /* max_idle 64 over 3 slots: batches of 5 units of credit. */
    return run_rounds(64, ROUND_THREADS - 1, PATH_SLOTS, 24,
                      crew_scaled(40000, 4000));
}

/* ---- thread caches (the public calls) ---- */

int thread_caches_under_concurrency_account_for_every_object_exactly_once(void)
{
    /* Bursts above a thread cache's 32 objects: every thread spills to
     * and refills from the shared stack, so objects move between threads
     * while others pop and push the same nodes. */
    return run_rounds(0, 0, PATH_PUBLIC, MAX_BURST, crew_scaled(40000, 4000));
}

int thread_caches_with_small_max_idle_free_bodies_and_keep_bound(void)
{
    /* max_idle 8 (below 128: no credit, exact) against bursts of 24 from
     * four threads: most releases free their object, under contention. */
    return run_rounds(8, 0, PATH_PUBLIC, 24, crew_scaled(40000, 4000));
}

int thread_caches_with_batched_idle_credit_keep_bound(void)
{
    /* max_idle 128: batches of 2 units; four threads holding up to 48
     * objects each still pass the limit and free. */
    return run_rounds(128, 0, PATH_PUBLIC, MAX_BURST,
                      crew_scaled(40000, 4000));
}

/* Threads that end with objects in their caches, wave after wave: at
 * their exit their caches go back to the pool (the objects to the shared
 * stack, still idle; the cache to the next wave's threads), so the pool
 * never has more caches than threads alive at once, and destroy
 * finalizes and frees everything (ASan would report a lost cache or
 * object). Bounded pools: the objects keep their units, the dead threads'
 * credit goes back, and the limit still holds. */

enum { EXIT_WAVES = 6, EXIT_THREADS = 4, EXIT_MAX_HELD = 40 };

typedef struct exiter {
    crew_objpool *pool;
    hooks *h;
    pthread_t tid;
    unsigned seed;
    tracked *handed; /* still held at exit; the main thread releases it */
    long acquires, releases;
    int double_holds, failed;
} exiter;

static void *exiter_main(void *arg)
{
    exiter *e = arg;
    tracked *held[EXIT_MAX_HELD];
    int n = 1 + (int)(next_rand(&e->seed) % EXIT_MAX_HELD);
    for (int i = 0; i < n; i++) {
        held[i] = crew_objpool_acquire(e->pool);
        if (held[i] == NULL) {
            e->failed = 1;
            n = i;
            break;
        }
        e->acquires++;
        if (!claim(e->h, held[i])) {
            e->double_holds++;
            return NULL;
        }
    }
    if (n == 0)
        return NULL;
    /* All but one go back into this thread's cache, which it then
     * abandons by ending. */
    for (int i = 1; i < n; i++) {
        unclaim(held[i]);
        crew_objpool_release(e->pool, held[i]);
        e->releases++;
    }
    e->handed = held[0];
    return NULL;
}

static int exited_threads_case(size_t max_idle)
{
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, max_idle);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    long acquires = 0, releases = 0;
    unsigned seed = 7u + (unsigned)max_idle;
    for (int wave = 0; wave < EXIT_WAVES; wave++) {
        exiter e[EXIT_THREADS];
        for (int k = 0; k < EXIT_THREADS; k++) {
            e[k] = (exiter){.pool = p, .h = &h, .seed = next_rand(&seed)};
            CHECK(pthread_create(&e[k].tid, NULL, exiter_main, &e[k]) == 0);
        }
        for (int k = 0; k < EXIT_THREADS; k++) {
            pthread_join(e[k].tid, NULL);
            CHECK(e[k].double_holds == 0 && !e[k].failed);
            acquires += e[k].acquires;
            releases += e[k].releases;
            /* The object an ended thread still held: released here, into
             * this thread's cache. */
            if (e[k].handed != NULL) {
                unclaim(e[k].handed);
                crew_objpool_release(p, e[k].handed);
                releases++;
            }
        }
    }
    CHECK(acquires == releases);
    crew_objpool_stats st;
    crew_objpool_stats_get(p, &st);
    fprintf(stderr,
            "exited threads, max_idle %zu: created %llu reused %llu freed "
            "%llu idle %llu\n",
            max_idle, (unsigned long long)st.created,
            (unsigned long long)st.reused, (unsigned long long)st.freed,
            (unsigned long long)st.idle);
    CHECK(st.created == (uint64_t)atomic_load(&h.inits));
    CHECK(st.created == st.freed + st.idle);
    CHECK(st.created + st.reused == (uint64_t)acquires);
    CHECK(st.freed == (uint64_t)atomic_load(&h.finis));
    CHECK((uint64_t)atomic_load(&h.resets) + st.freed == (uint64_t)releases);
    CHECK(atomic_load(&h.idle_now) == (long)st.idle);
    if (max_idle == 0)
        CHECK(st.freed == 0 && st.idle == st.created);
    else
        /* The test's own count trails the pool's by at most the threads
         * between taking an object and claiming it. */
        CHECKF(st.idle <= max_idle &&
                   atomic_load(&h.idle_peak) <= (long)max_idle + EXIT_THREADS,
               "idle %llu, peak %ld, max_idle %zu",
               (unsigned long long)st.idle, atomic_load(&h.idle_peak),
               max_idle);
    /* At most one wave's threads, plus this one: the later waves took the
     * caches the earlier ones gave back. */
    CHECKF(crew_objpool_thread_caches(p) <= EXIT_THREADS + 1,
           "%u thread caches", crew_objpool_thread_caches(p));
    crew_objpool_destroy(p);
    CHECKF(atomic_load(&h.finis) == atomic_load(&h.inits),
           "%ld fini calls, %ld inits", atomic_load(&h.finis),
           atomic_load(&h.inits));
    CHECK(atomic_load(&h.fini_on_held) == 0);
    return 0;
}

int thread_caches_of_exited_threads_go_back_and_destroy_drains_them(void)
{
    /* Unlimited; exact (no credit); batched credit (max_idle 256: batches
     * of 4, which dead threads keep). */
    const size_t limits[] = {0, 16, 256};
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
        if (exited_threads_case(limits[i]) != 0)
            return 1;
    return 0;
}

/* More pools than a thread's table has entries, used in turn by the same
 * threads: one pool (the first) every other call, found in the table, the
 * others pushed out of it and found again on their registries. A thread
 * that lost track of its cache and made a new one would strand the old
 * one's objects and build new ones: each pool must have built exactly
 * what one round needs and no more, with one cache per thread. */

enum { ALT_POOLS = 6, ALT_THREADS = 3, ALT_HELD = 5 };

typedef struct alternator {
    crew_objpool **pools;
    hooks *h;
    pthread_t tid;
    long rounds;
    long uses[ALT_POOLS];
    int bad;
} alternator;

/* ALT_HELD objects from pool k, claimed, then released. */
static int alternate_use(alternator *a, int k)
{
    tracked *x[ALT_HELD];
    for (int i = 0; i < ALT_HELD; i++) {
        x[i] = crew_objpool_acquire(a->pools[k]);
        if (x[i] == NULL || !claim(&a->h[k], x[i]))
            return 1;
    }
    for (int i = ALT_HELD - 1; i >= 0; i--) {
        unclaim(x[i]);
        crew_objpool_release(a->pools[k], x[i]);
    }
    a->uses[k]++;
    return 0;
}

static void *alternator_main(void *arg)
{
    alternator *a = arg;
    for (long r = 0; r < a->rounds && !a->bad; r++)
        for (int k = 1; k < ALT_POOLS && !a->bad; k++)
            a->bad = alternate_use(a, 0) || alternate_use(a, k);
    return NULL;
}

int thread_caches_survive_table_eviction_with_pools_used_alternately(void)
{
    hooks h[ALT_POOLS];
    crew_objpool *pools[ALT_POOLS];
    memset(h, 0, sizeof(h));
    for (int k = 0; k < ALT_POOLS; k++) {
        crew_objpool_config cfg = tracked_config(&h[k], 0);
        CHECK((pools[k] = crew_objpool_create(&cfg)) != NULL);
    }
    alternator a[ALT_THREADS];
    for (int t = 0; t < ALT_THREADS; t++) {
        a[t] = (alternator){.pools = pools, .h = h,
                            .rounds = crew_scaled(20000, 2000)};
        CHECK(pthread_create(&a[t].tid, NULL, alternator_main, &a[t]) == 0);
    }
    for (int t = 0; t < ALT_THREADS; t++)
        pthread_join(a[t].tid, NULL);
    for (int t = 0; t < ALT_THREADS; t++)
        CHECKF(!a[t].bad, "thread %d: a failed acquire or a double hold", t);
    for (int k = 0; k < ALT_POOLS; k++) {
        uint64_t uses = 0;
        for (int t = 0; t < ALT_THREADS; t++)
            uses += (uint64_t)a[t].uses[k];
        const uint64_t built = ALT_THREADS * ALT_HELD;
        CHECKF(check_stats(pools[k], built, uses * ALT_HELD - built, 0, built) == 0,
               "pool %d", k);
        CHECKF(crew_objpool_thread_caches(pools[k]) == ALT_THREADS,
               "pool %d: %u thread caches", k,
               crew_objpool_thread_caches(pools[k]));
        crew_objpool_destroy(pools[k]);
        CHECK(atomic_load(&h[k].finis) == (long)built);
        CHECK(atomic_load(&h[k].fini_on_held) == 0);
    }
    return 0;
}

/* A thread cache of large objects holds few of them (about 32 KiB, at
 * least 2): the rest spill to the shared stack, where another thread finds
 * them. 8 KiB objects: 2 at most stay in the releasing thread's cache. */

enum { BIG_SIZE = 8192, BIG_N = 10 };

typedef struct big_taker {
    crew_objpool *pool;
    void *x[BIG_N];
} big_taker;

static void *big_taker_main(void *arg)
{
    big_taker *b = arg;
    for (int i = 0; i < BIG_N; i++)
        b->x[i] = crew_objpool_acquire(b->pool);
    return NULL;
}

int thread_caches_of_large_objects_stay_small_and_spill(void)
{
    crew_objpool_config cfg = {.obj_size = BIG_SIZE};
    big_taker b = {.pool = crew_objpool_create(&cfg)};
    CHECK(b.pool != NULL);
    void *x[BIG_N];
    for (int i = 0; i < BIG_N; i++)
        CHECK((x[i] = crew_objpool_acquire(b.pool)) != NULL);
    for (int i = 0; i < BIG_N; i++)
        crew_objpool_release(b.pool, x[i]);
    CHECK(check_stats(b.pool, BIG_N, 0, 0, BIG_N) == 0);
    pthread_t tid;
    CHECK(pthread_create(&tid, NULL, big_taker_main, &b) == 0);
    pthread_join(tid, NULL);
    for (int i = 0; i < BIG_N; i++)
        CHECK(b.x[i] != NULL);
    /* The other thread reused all but the 2 this thread's cache kept. */
    CHECK(check_stats(b.pool, BIG_N + 2, BIG_N - 2, 0, 2) == 0);
    for (int i = 0; i < BIG_N; i++)
        crew_objpool_release(b.pool, b.x[i]);
    CHECK(check_stats(b.pool, BIG_N + 2, BIG_N - 2, 0, BIG_N + 2) == 0);
    crew_objpool_destroy(b.pool);
    return 0;
}

/* Thread churn: a thousand threads one after another, each acquiring and
 * releasing a few objects and ending. Each one's objects go back to the
 * pool when it ends, and the next reuses them: the pool builds what one
 * thread holds at once, not that much per thread that ever used it, and
 * keeps one cache per thread alive at once. */
typedef struct churner {
    crew_objpool *pool;
    int failed;
} churner;

enum { CHURN_HELD = 10 };

static void *churner_main(void *arg)
{
    churner *c = arg;
    void *held[CHURN_HELD];
    for (int i = 0; i < CHURN_HELD; i++)
        if ((held[i] = crew_objpool_acquire(c->pool)) == NULL)
            c->failed = 1;
    for (int i = 0; i < CHURN_HELD; i++)
        crew_objpool_release(c->pool, held[i]);
    return NULL;
}

int short_lived_threads_one_after_another_reuse_what_the_last_one_built(void)
{
    crew_objpool_config cfg = {.obj_size = 48};
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    long threads = crew_scaled(1000, 100);
    for (long t = 0; t < threads; t++) {
        churner c = {p, 0};
        pthread_t tid;
        CHECK(pthread_create(&tid, NULL, churner_main, &c) == 0);
        CHECK(pthread_join(tid, NULL) == 0);
        CHECK(!c.failed);
    }
    crew_objpool_stats st;
    crew_objpool_stats_get(p, &st);
    CHECKF(st.created == CHURN_HELD, "%ld threads built %llu objects (%d needed)", threads,
           (unsigned long long)st.created, CHURN_HELD);
    CHECKF(crew_objpool_thread_caches(p) == 1, "%u thread caches", crew_objpool_thread_caches(p));
    CHECK(st.idle == CHURN_HELD && st.freed == 0);
    crew_objpool_destroy(p);
    return 0;
}

/* More threads alive at once than a pool makes caches (64): the rest use
 * the shared stack, and every object is still accounted for exactly. */
enum { CROWD = 80 };

typedef struct crowd {
    crew_objpool *pool;
    hooks *h;
    pthread_barrier_t *all_in;
    int failed, double_holds;
} crowd;

static void *crowd_main(void *arg)
{
    crowd *c = arg;
    tracked *held[4];
    for (int i = 0; i < 4; i++) {
        held[i] = crew_objpool_acquire(c->pool);
        if (held[i] == NULL) {
            c->failed = 1;
            return NULL;
        }
        if (!claim(c->h, held[i]))
            c->double_holds++;
    }
    /* Everybody holds objects (and a cache, or none) at the same time. */
    pthread_barrier_wait(c->all_in);
    for (int i = 0; i < 4; i++) {
        unclaim(held[i]);
        crew_objpool_release(c->pool, held[i]);
    }
    return NULL;
}

int more_live_threads_than_caches_use_the_shared_stack_and_lose_nothing(void)
{
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, 0);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    pthread_barrier_t all_in;
    CHECK(pthread_barrier_init(&all_in, NULL, CROWD) == 0);
    static crowd c[CROWD];
    pthread_t tid[CROWD];
    for (int k = 0; k < CROWD; k++) {
        c[k] = (crowd){p, &h, &all_in, 0, 0};
        CHECK(pthread_create(&tid[k], NULL, crowd_main, &c[k]) == 0);
    }
    for (int k = 0; k < CROWD; k++) {
        pthread_join(tid[k], NULL);
        CHECK(!c[k].failed && c[k].double_holds == 0);
    }
    pthread_barrier_destroy(&all_in);
    CHECKF(crew_objpool_thread_caches(p) == 64, "%u thread caches", crew_objpool_thread_caches(p));
    crew_objpool_stats st;
    crew_objpool_stats_get(p, &st);
    CHECK(st.created == 4 * CROWD);
    CHECK(st.idle == st.created && st.freed == 0);
    crew_objpool_destroy(p);
    CHECK(atomic_load(&h.finis) == atomic_load(&h.inits));
    return 0;
}
