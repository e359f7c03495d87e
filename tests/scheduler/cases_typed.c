/* Suite `scheduler`, typed tasks (crew/typed.h): CREW_TASK, CREW_SPAWN,
 * CREW_SYNC, CREW_RUN; and the stealability of the oldest spawn. */
#include "scheduler_cases.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/fault.h"
#include "util.h"

static crew_pool *crew_current_pool_for_test;

CREW_TASK(long, tfib, (long, n))
{
    if (n < 2)
        return n;
    CREW_SPAWN(tfib, n - 1);
    long b = tfib(n - 2);
    return CREW_SYNC(tfib) + b;
}

int typed_fib_is_right_on_pools_and_outside_them(void)
{
    /* Outside every pool: the serial elision, on this thread's own slots. */
    CHECK(tfib(20) == 6765);
    unsigned sizes[] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        crew_pool *p = test_pool(sizes[i], 0, false);
        CHECK(p != NULL);
        long r = -1;
        CHECK(CREW_RUN(p, tfib, &r, 25) == 0);
        CHECKF(r == 75025, "%u workers: fib(25) = %ld", sizes[i], r);
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

/* fib with a handle, spawning with CREW_CALL for the other half. */
CREW_TASK(long, tfib_h, (long, n))
{
    if (n < 2)
        return n;
    crew_task t;
    CREW_SPAWN_TO(&t, tfib_h, n - 1);
    long b = CREW_CALL(tfib_h, n - 2);
    return CREW_SYNC_FROM(&t, tfib_h) + b;
}

/* Typed spawns count in `spawns` and `tasks_run` as crew_spawn's do, on
 * 1 and 2 workers (published, stolen or taken back: the typed fast path
 * counts with its own add, crew/port.h). */
int typed_spawns_are_counted_exactly_in_the_stats(void)
{
    for (unsigned workers = 1; workers <= 2; workers++) {
        crew_pool *p = test_pool(workers, 0, false);
        CHECK(p != NULL);
        long n = 18, a = -1, b = -1;
        CHECK(CREW_RUN(p, tfib, &a, n) == 0);
        CHECK(CREW_RUN(p, tfib_h, &b, n) == 0);
        CHECK(a == test_fib_seq(n) && b == test_fib_seq(n));
        CHECK(crew_pool_shutdown(p, false) == 0);
        crew_stats s;
        crew_pool_stats(p, &s);
        /* fib(n) spawns fib(n+1) - 1 times: one per internal node. */
        uint64_t spawns = 2 * ((uint64_t)test_fib_seq(n + 1) - 1);
        CHECKF(s.spawns == spawns, "%u workers: spawns %lu, expected %lu", workers,
               (unsigned long)s.spawns, (unsigned long)spawns);
        CHECKF(s.tasks_run == spawns + 2, "%u workers: tasks_run %lu, expected %lu", workers,
               (unsigned long)s.tasks_run, (unsigned long)(spawns + 2));
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

/* A tree whose nodes have a number of children that depends on their
 * data: each node's children are spawned in a loop and synced in a loop,
 * with no storage of the caller's. */
static unsigned tree_kids(uint64_t seed, int depth)
{
    if (depth >= 6)
        return 0;
    return (unsigned)((seed * 0x9e3779b97f4a7c15ull) >> 60); /* 0..15 */
}

static uint64_t tree_child(uint64_t seed, unsigned i)
{
    uint64_t x = seed + 0x632be59bd9b4e019ull * (i + 1);
    x ^= x >> 29;
    return x * 0xbf58476d1ce4e5b9ull;
}

static long tree_count_seq(uint64_t seed, int depth)
{
    long n = 1;
    unsigned k = tree_kids(seed, depth);
    for (unsigned i = 0; i < k; i++)
        n += tree_count_seq(tree_child(seed, i), depth + 1);
    return n;
}

CREW_TASK(long, tree_count, (uint64_t, seed), (int, depth))
{
    unsigned k = tree_kids(seed, depth);
    for (unsigned i = 0; i < k; i++)
        CREW_SPAWN(tree_count, tree_child(seed, i), depth + 1);
    long n = 1;
    for (unsigned i = 0; i < k; i++)
        n += CREW_SYNC(tree_count);
    return n;
}

int typed_children_of_data_dependent_number_are_each_synced_once(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    for (uint64_t seed = 1; seed < 40; seed += 3) {
        long want = tree_count_seq(seed, 0), got = 0;
        CHECK(CREW_RUN(p, tree_count, &got, seed, 0) == 0);
        CHECKF(got == want, "seed %llu: %ld nodes, %ld expected", (unsigned long long)seed, got,
               want);
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* Several parameters of several types, and a result wider than a
 * pointer, through slots that thieves take (2 workers, many spawns). */
typedef struct wide {
    double sum;
    long count;
    char tag[24];
} wide;

CREW_TASK(wide, mixed, (int, depth), (double, x), (char, c), (const long *, base))
{
    wide r = {x, 1, {0}};
    r.tag[0] = c;
    if (depth == 0) {
        r.sum += (double)*base;
        return r;
    }
    CREW_SPAWN(mixed, depth - 1, x / 2, (char)(c + 1), base);
    wide b = mixed(depth - 1, x / 2, (char)(c + 1), base);
    wide a = CREW_SYNC(mixed);
    r.sum += a.sum + b.sum;
    r.count += a.count + b.count;
    if (a.tag[0] != c + 1 || b.tag[0] != c + 1)
        r.count = -1000000;
    return r;
}

static _Atomic long void_hits;

CREW_VOID_TASK(mark, (int, depth))
{
    atomic_fetch_add(&void_hits, 1);
    if (depth == 0)
        return;
    CREW_SPAWN(mark, depth - 1);
    mark(depth - 1);
    CREW_SYNC(mark);
}

int typed_tasks_take_mixed_arguments_wide_results_and_void(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    long base = 3;
    wide w;
    memset(&w, 0, sizeof w);
    CHECK(CREW_RUN(p, mixed, &w, 12, 1.0, 'a', &base) == 0);
    /* 2^13 - 1 nodes; every level's x halves and the levels sum to 1 each,
     * and each of the 2^12 leaves adds base. */
    CHECKF(w.count == 8191, "count %ld", w.count);
    CHECKF(w.sum == 13.0 + 3.0 * 4096, "sum %f", w.sum);
    CHECK(w.tag[0] == 'a');
    atomic_store(&void_hits, 0);
    CHECK(CREW_RUN(p, mark, NULL, 14) == 0);
    CHECK(atomic_load(&void_hits) == (1 << 15) - 1);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* The handle forms (CREW_SPAWN_TO / CREW_SYNC_FROM), with arguments the
 * handle keeps (40 bytes: kept5) and ones it cannot (56 bytes: big6, read
 * back from the slot), mixed with a handle-less spawn between them, on
 * pools where thieves take some of the slots, and outside every pool.
 * Each node's result carries its arguments' sum, so an argument read back
 * wrong (from the handle or the slot) changes the total. */
CREW_TASK(long, big6, (int, depth), (long, a), (long, b), (long, c), (long, d), (long, e),
          (long, f))
{
    long self = a + b + c + d + e + f;
    if (depth == 0)
        return self;
    crew_task t;
    CREW_SPAWN_TO(&t, big6, depth - 1, a + e, b, c, d, e + 1, f);
    long y = big6(depth - 1, a, b, c + f, d, e, f);
    return self + y + CREW_SYNC_FROM(&t, big6);
}

CREW_TASK(long, kept5, (int, depth), (long, a), (long, b), (long, c), (long, d))
{
    long self = a + b + c + d;
    if (depth == 0)
        return self;
    crew_task t1, t2;
    CREW_SPAWN_TO(&t1, kept5, depth - 1, a + 1, b, c, d);
    CREW_SPAWN_TO(&t2, big6, depth - 1, a, b + 1, c, d, 1, 2);
    CREW_SPAWN(kept5, depth - 1, a, b, c + 1, d);
    long x = kept5(depth - 1, a, b, c, d + 1);
    x += CREW_SYNC(kept5);
    x += CREW_SYNC_FROM(&t2, big6);
    x += CREW_SYNC_FROM(&t1, kept5);
    return self + x;
}

/* The same recursion, plainly. */
static long handles_seq(int kind, int depth, long a, long b, long c, long d, long e, long f)
{
    if (kind == 5) {
        long self = a + b + c + d;
        if (depth == 0)
            return self;
        return self + handles_seq(5, depth - 1, a + 1, b, c, d, 0, 0) +
               handles_seq(6, depth - 1, a, b + 1, c, d, 1, 2) +
               handles_seq(5, depth - 1, a, b, c + 1, d, 0, 0) +
               handles_seq(5, depth - 1, a, b, c, d + 1, 0, 0);
    }
    long self = a + b + c + d + e + f;
    if (depth == 0)
        return self;
    return self + handles_seq(6, depth - 1, a + e, b, c, d, e + 1, f) +
           handles_seq(6, depth - 1, a, b, c + f, d, e, f);
}

static _Atomic long handle_void_hits;

CREW_VOID_TASK(hmark, (int, depth))
{
    atomic_fetch_add(&handle_void_hits, 1);
    if (depth == 0)
        return;
    crew_task t;
    CREW_SPAWN_TO(&t, hmark, depth - 1);
    hmark(depth - 1);
    CREW_SYNC_FROM(&t, hmark);
}

int typed_handles_keep_or_reload_arguments_and_sync_each_once(void)
{
    const int depth = 7;
    long want = handles_seq(5, depth, 1, 10, 100, 1000, 0, 0);
    /* Outside every pool. */
    CHECKF(kept5(depth, 1, 10, 100, 1000) == want, "outside: %ld, %ld expected",
           kept5(depth, 1, 10, 100, 1000), want);
    unsigned sizes[] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        crew_pool *p = test_pool(sizes[i], 0, false);
        CHECK(p != NULL);
        for (int round = 0; round < 5; round++) {
            long got = -1;
            CHECK(CREW_RUN(p, kept5, &got, depth, 1, 10, 100, 1000) == 0);
            CHECKF(got == want, "%u workers: %ld, %ld expected", sizes[i], got, want);
        }
        atomic_store(&handle_void_hits, 0);
        CHECK(CREW_RUN(p, hmark, NULL, 14) == 0);
        CHECKF(atomic_load(&handle_void_hits) == (1 << 15) - 1, "%u workers: %ld runs",
               sizes[i], atomic_load(&handle_void_hits));
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

/* ---- CREW_CALL, and spawns made outside a body ----
 *
 * A body hands its spawn state along (its hidden parameter); code outside
 * a body reads the thread's. Both must see one slot stack: here a plain
 * helper spawns two children and returns with them unsynced, the body
 * syncs them (newest first); the body also mixes in crew_spawn/crew_sync
 * and calls itself with CREW_CALL and plainly. Every node must run
 * exactly once and the sums must be exact, on pools and on a thread
 * outside every pool whose first spawn is in the helper. */

static _Atomic long mixed_runs;

static void *msum_raw(void *arg);
static void msum_spawn_two(int depth, long base);

CREW_TASK(long, msum, (int, depth), (long, base))
{
    atomic_fetch_add(&mixed_runs, 1);
    if (depth == 0)
        return base;
    msum_spawn_two(depth - 1, base);
    crew_task raw;
    crew_spawn(&raw, msum_raw, (void *)(intptr_t)(depth - 1));
    long x = CREW_CALL(msum, depth - 1, base + 3);
    x += (long)(intptr_t)crew_sync(&raw);
    x += CREW_SYNC(msum); /* base + 2's */
    x += CREW_SYNC(msum); /* base + 1's */
    return x + msum(depth - 1, base + 4);
}

/* Not a task: two spawns of msum, left for the caller to sync. */
static void msum_spawn_two(int depth, long base)
{
    CREW_SPAWN(msum, depth, base + 1);
    CREW_SPAWN(msum, depth, base + 2);
}

/* The raw API's child: msum(depth, 0) through a plain call. */
static void *msum_raw(void *arg)
{
    return (void *)(intptr_t)msum((int)(intptr_t)arg, 0);
}

static long msum_seq(int depth, long base, long *nodes)
{
    ++*nodes;
    if (depth == 0)
        return base;
    return msum_seq(depth - 1, base + 1, nodes) + msum_seq(depth - 1, base + 2, nodes) +
           msum_seq(depth - 1, 0, nodes) + msum_seq(depth - 1, base + 3, nodes) +
           msum_seq(depth - 1, base + 4, nodes);
}

typedef struct msum_outside {
    int depth;
    long got_call, got_plain;
} msum_outside;

/* A thread outside every pool that has never spawned: its first spawn is
 * msum_spawn_two's, inside a body entered by CREW_CALL from here. */
static void *msum_on_fresh_thread(void *arg)
{
    msum_outside *o = arg;
    o->got_call = CREW_CALL(msum, o->depth, 7);
    o->got_plain = msum(o->depth, 7);
    return NULL;
}

int typed_calls_and_spawns_outside_bodies_share_the_slot_stack(void)
{
    const int depth = 6;
    long nodes = 0;
    long want = msum_seq(depth, 7, &nodes);
    msum_outside o = {depth, -1, -1};
    pthread_t th;
    atomic_store(&mixed_runs, 0);
    CHECK(pthread_create(&th, NULL, msum_on_fresh_thread, &o) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECKF(o.got_call == want && o.got_plain == want, "fresh thread: %ld and %ld, %ld expected",
           o.got_call, o.got_plain, want);
    CHECKF(atomic_load(&mixed_runs) == 2 * nodes, "fresh thread: %ld runs, %ld expected",
           atomic_load(&mixed_runs), 2 * nodes);
    unsigned sizes[] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        crew_pool *p = test_pool(sizes[i], 0, false);
        CHECK(p != NULL);
        for (int round = 0; round < 3; round++) {
            long got = -1;
            atomic_store(&mixed_runs, 0);
            CHECK(CREW_RUN(p, msum, &got, depth, 7) == 0);
            CHECKF(got == want, "%u workers: %ld, %ld expected", sizes[i], got, want);
            CHECKF(atomic_load(&mixed_runs) == nodes, "%u workers: %ld runs, %ld expected",
                   sizes[i], atomic_load(&mixed_runs), nodes);
        }
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

/* A thread outside every pool whose first typed call finds no memory for
 * its own state must stop with a message, not hand the read-only
 * crew_outside_worker_ down to the body (before this, each spawn below
 * made a new slot stack and leaked the last, and fib(15) came out 8). */

CREW_TASK(long, ofib, (long, n))
{
    if (n < 2)
        return n;
    CREW_SPAWN(ofib, n - 1);
    long b = CREW_CALL(ofib, n - 2);
    return CREW_SYNC(ofib) + b;
}

static void *typed_on_fresh_thread(void *arg)
{
    long *got = arg;
    *got = ofib(15);
    return NULL;
}

static void *typed_after_failed_state(void *arg)
{
    long *got = arg;
    crew_fault_inject_alloc(0); /* the next allocation fails: the state's */
    *got = ofib(15);
    return NULL;
}

/* The child's body: 3 no thread, 4 a wrong answer, 5 the right one. */
static int failed_state_in_child(void *unused)
{
    (void)unused;
    long r = -1;
    pthread_t t;
    if (pthread_create(&t, NULL, typed_after_failed_state, &r) != 0)
        return 3;
    pthread_join(t, NULL);
    return r == 610 ? 5 : 4;
}

int typed_task_on_a_thread_whose_state_failed_first(void)
{
    int st = test_child_status(failed_state_in_child, NULL);
    CHECK(st != -1);
    CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
           "status %#x (exit 4: a wrong answer; 5: the right one, without the abort)", st);
    /* And a fresh thread whose allocations succeed gets the answer. */
    long got = -1;
    pthread_t th;
    crew_fault_inject_alloc(-1);
    CHECK(pthread_create(&th, NULL, typed_on_fresh_thread, &got) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECKF(got == 610, "fib(15) = %ld", got);
    return 0;
}

/* A typed sync with nothing spawned stops with a message (SIGABRT), on a
 * pool's worker and on a thread outside every pool; before, it ran the
 * thunk on the payload of slot -1, out of the stack's bounds. */

CREW_TASK(long, sync_of_nothing, (long, n))
{
    if (n == 0)
        return 0;
    return n + CREW_SYNC(sync_of_nothing);
}

/* The child's body: 3 no pool, 4 or 5 the sync returned. */
static int sync_of_nothing_in_child(void *on_pool)
{
    long r = -1;
    if (*(const int *)on_pool) {
        crew_pool *p = test_pool(1, 0, false);
        if (p == NULL || CREW_RUN(p, sync_of_nothing, &r, 1) != 0)
            return 3;
    } else {
        r = sync_of_nothing(1);
    }
    return r == -1 ? 4 : 5;
}

int typed_sync_with_nothing_spawned_aborts_with_a_message(void)
{
    for (int on_pool = 0; on_pool < 2; on_pool++) {
        int st = test_child_status(sync_of_nothing_in_child, &on_pool);
        CHECK(st != -1);
        CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
               "%s: status %#x (signal %d; exit 4 or 5: the sync returned)",
               on_pool ? "on a pool" : "outside every pool", st,
               WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
    return 0;
}

/* ---- stealability ---- */

typedef struct steal_round {
    _Atomic int b_started, a_spawned, a_started;
    _Atomic int where;
} steal_round;

static void *nothing(void *arg)
{
    return arg;
}

/* Keeps the other worker busy until A exists, then lets it go idle. */
static void *task_b(void *arg)
{
    steal_round *r = arg;
    atomic_store(&r->b_started, 1);
    for (int i = 0; i < 3000 && !atomic_load(&r->a_spawned); i++)
        test_sleep_ms(1);
    return NULL;
}

static void *task_a(void *arg)
{
    steal_round *r = arg;
    atomic_store(&r->where, crew_worker_index());
    atomic_store(&r->a_started, 1);
    return NULL;
}

/* spawn(A); work without spawning; sync(A). The other worker is busy
 * (with B) when A is spawned, and goes idle while the spawner works: it
 * must then take A without the spawner's help, so A runs there. The
 * spawner "works" until A has started, at most 3 s: code that kept A
 * private until the sync ran it on the spawner, after the 3 s. */
static void *spawner(void *arg)
{
    steal_round *r = arg;
    /* A spawn and its sync first: whatever request an idle worker left
     * before this round is answered and gone. */
    crew_task d;
    crew_spawn(&d, nothing, NULL);
    crew_sync(&d);
    crew_post(crew_current_pool_for_test, task_b, r);
    for (int i = 0; i < 3000 && !atomic_load(&r->b_started); i++)
        test_sleep_ms(1);
    crew_task t;
    crew_spawn(&t, task_a, r);
    atomic_store(&r->a_spawned, 1);
    for (int i = 0; i < 3000 && !atomic_load(&r->a_started); i++)
        test_sleep_ms(1);
    crew_sync(&t);
    return (void *)(intptr_t)crew_worker_index();
}

int a_spawn_is_taken_by_an_idle_worker_while_its_spawner_works(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    crew_current_pool_for_test = p;
    for (int round = 0; round < 8; round++) {
        steal_round r;
        atomic_init(&r.b_started, 0);
        atomic_init(&r.a_spawned, 0);
        atomic_init(&r.a_started, 0);
        atomic_init(&r.where, -1);
        void *who = NULL;
        CHECK(crew_run(p, spawner, &r, &who) == 0);
        int spawner_worker = (int)(intptr_t)who;
        CHECK(atomic_load(&r.b_started));
        CHECKF(atomic_load(&r.where) != spawner_worker,
               "round %d: the spawn ran on its spawner's worker %d", round, spawner_worker);
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
