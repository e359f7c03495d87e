/* Suite `scheduler`: workers, stealing, fork-join, the executor, shutdown,
 * sleeping. Every concurrent case checks an exact count. */
#include "scheduler_cases.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static long fib_n(void)
{
    return CREW_TEST_SCALE >= 100 ? 30 : 22;
}

int fib_is_right_with_1_2_4_and_8_workers(void)
{
    unsigned counts[] = {1, 2, 4, 8};
    for (int i = 0; i < 4; i++) {
        crew_pool *p = test_pool(counts[i], 0, false);
        CHECK(p != NULL);
        for (long n = 0; n <= fib_n(); n += (n < 10 ? 1 : 4)) {
            void *r = NULL;
            CHECK(crew_run(p, test_fib, IP(n), &r) == 0);
            CHECKF(PI(r) == test_fib_seq(n), "fib(%ld) = %ld with %u workers", n,
                   PI(r), counts[i]);
        }
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

typedef struct run_arg {
    crew_pool *pool;
    long n, result;
    int rc;
} run_arg;

static void *outside_runner(void *a)
{
    run_arg *ra = a;
    void *r = NULL;
    ra->rc = crew_run(ra->pool, test_fib, IP(ra->n), &r);
    ra->result = PI(r);
    return NULL;
}

int fib_through_crew_run_from_several_outside_threads(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    pthread_t t[3];
    run_arg a[3];
    for (int i = 0; i < 3; i++) {
        a[i] = (run_arg){.pool = p, .n = fib_n() - i};
        CHECK(pthread_create(&t[i], NULL, outside_runner, &a[i]) == 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].rc == 0);
        CHECK(a[i].result == test_fib_seq(a[i].n));
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int spawn_and_sync_outside_a_pool_run_serially(void)
{
    CHECK(crew_worker_index() == -1);
    CHECK(PI(test_fib(IP(20))) == test_fib_seq(20));
    return 0;
}

/* ---- random spawn trees: every node exactly once ---- */

typedef struct tree {
    _Atomic unsigned *visits;
    long nodes; /* ids are assigned by the tree's shape, see node_count */
} tree;

typedef struct node_arg {
    tree *t;
    long id;
    unsigned seed;
    int depth;
} node_arg;

static unsigned fanout_of(unsigned seed, int depth)
{
    return depth <= 0 ? 0 : (seed >> 8) % 5; /* 0..4 children */
}

static unsigned child_seed(unsigned seed, unsigned k)
{
    unsigned x = seed * 2654435761u + k * 40503u + 7u;
    x ^= x >> 13;
    return x * 2246822519u;
}

/* Number of nodes in the subtree (computed sequentially, same shape). */
static long subtree_size(unsigned seed, int depth)
{
    long n = 1;
    unsigned f = fanout_of(seed, depth);
    for (unsigned k = 0; k < f; k++)
        n += subtree_size(child_seed(seed, k), depth - 1);
    return n;
}

static void *visit(void *arg)
{
    node_arg *a = arg;
    atomic_fetch_add_explicit(&a->t->visits[a->id], 1, memory_order_relaxed);
    unsigned f = fanout_of(a->seed, a->depth);
    crew_task tasks[4];
    node_arg kids[4];
    long next = a->id + 1;
    for (unsigned k = 0; k < f; k++) {
        kids[k] = (node_arg){a->t, next, child_seed(a->seed, k), a->depth - 1};
        next += subtree_size(kids[k].seed, kids[k].depth);
        if (k + 1 < f)
            crew_spawn(&tasks[k], visit, &kids[k]);
    }
    if (f > 0)
        visit(&kids[f - 1]); /* the last child runs here */
    for (int k = (int)f - 2; k >= 0; k--)
        crew_sync(&tasks[k]);
    return NULL;
}

int random_spawn_trees_run_every_node_exactly_once(void)
{
    crew_pool *p = test_pool(3, 0, false);
    CHECK(p != NULL);
    int depth = CREW_TEST_SCALE >= 100 ? 9 : 7;
    for (unsigned seed = 1; seed <= 6; seed++) {
        tree t;
        t.nodes = subtree_size(seed * 977u, depth);
        t.visits = calloc((size_t)t.nodes, sizeof(*t.visits));
        CHECK(t.visits != NULL);
        node_arg root = {&t, 0, seed * 977u, depth};
        CHECK(crew_run(p, visit, &root, NULL) == 0);
        long bad = 0;
        for (long i = 0; i < t.nodes; i++)
            bad += atomic_load(&t.visits[i]) != 1;
        free(t.visits);
        CHECKF(bad == 0, "seed %u: %ld of %ld nodes not run exactly once", seed,
               bad, t.nodes);
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- the executor ---- */

static void *square(void *arg)
{
    long x = PI(arg);
    return IP(x * x);
}

typedef struct producer {
    crew_pool *pool;
    long n, base, bad;
    int rc;
} producer;

static void *submit_and_wait_all(void *arg)
{
    producer *pr = arg;
    enum { BATCH = 1000 };
    crew_future *f[BATCH];
    for (long done = 0; done < pr->n; done += BATCH) {
        long k = pr->n - done < BATCH ? pr->n - done : BATCH;
        for (long i = 0; i < k; i++) {
            f[i] = crew_submit(pr->pool, square, IP(pr->base + done + i));
            if (f[i] == NULL) {
                pr->rc = errno;
                return NULL;
            }
        }
        for (long i = 0; i < k; i++) {
            void *r;
            long x = pr->base + done + i;
            if (crew_future_wait(f[i], &r) != 0 || PI(r) != x * x)
                pr->bad++;
            crew_future_release(f[i]);
        }
    }
    return NULL;
}

int four_outside_threads_submit_and_every_future_has_its_result(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    long n = crew_scaled(100000, 5000);
    pthread_t t[4];
    producer pr[4];
    for (int i = 0; i < 4; i++) {
        pr[i] = (producer){.pool = p, .n = n, .base = i * n};
        CHECK(pthread_create(&t[i], NULL, submit_and_wait_all, &pr[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECKF(pr[i].rc == 0, "producer %d: submit failed: %d", i, pr[i].rc);
        CHECKF(pr[i].bad == 0, "producer %d: %ld wrong results", i, pr[i].bad);
    }
    crew_stats s;
    crew_pool_stats(p, &s);
    CHECKF(s.injected == (uint64_t)(4 * n), "injected %llu, expected %ld",
           (unsigned long long)s.injected, 4 * n);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

static _Atomic long ran_count;
static _Atomic int gate_open;

static void *count_task(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran_count, 1);
    return NULL;
}

/* Holds a worker until the gate opens. */
static void *gate_task(void *arg)
{
    (void)arg;
    while (!atomic_load(&gate_open))
        test_sleep_ms(1);
    atomic_fetch_add(&ran_count, 1);
    return NULL;
}

static void *open_gate_later(void *arg)
{
    (void)arg;
    test_sleep_ms(50);
    atomic_store(&gate_open, 1);
    return NULL;
}

int bounded_queue_blocks_the_producer_and_loses_nothing(void)
{
    atomic_store(&ran_count, 0);
    atomic_store(&gate_open, 0);
    crew_pool *p = test_pool(1, 4, true);
    CHECK(p != NULL);
    CHECK(crew_post(p, gate_task, NULL) == 0);
    pthread_t opener;
    CHECK(pthread_create(&opener, NULL, open_gate_later, NULL) == 0);
    long n = 200;
    double t0 = test_now_s();
    for (long i = 0; i < n; i++)
        CHECK(crew_post(p, count_task, NULL) == 0); /* blocks while full */
    double waited = test_now_s() - t0;
    pthread_join(opener, NULL);
    CHECK(crew_pool_destroy(p) == 0);
    CHECK(atomic_load(&ran_count) == n + 1);
    /* The queue held 4 while the worker was gated: the producer had to
     * wait for the gate. */
    CHECKF(waited > 0.02, "the producer never blocked (%.3f s)", waited);
    return 0;
}

int bounded_queue_without_blocking_fails_eagain_and_loses_nothing(void)
{
    atomic_store(&ran_count, 0);
    atomic_store(&gate_open, 0);
    crew_pool *p = test_pool(1, 4, false);
    CHECK(p != NULL);
    CHECK(crew_post(p, gate_task, NULL) == 0);
    test_sleep_ms(10); /* let the worker take the gate task */
    long accepted = 0, refused = 0;
    for (int i = 0; i < 20; i++) {
        int rc = crew_post(p, count_task, NULL);
        CHECKF(rc == 0 || rc == EAGAIN, "crew_post returned %d", rc);
        accepted += rc == 0;
        refused += rc == EAGAIN;
    }
    crew_future *f = crew_submit(p, count_task, NULL);
    CHECK(f == NULL && errno == EAGAIN);
    atomic_store(&gate_open, 1);
    CHECK(crew_pool_destroy(p) == 0);
    CHECKF(accepted >= 4 && accepted <= 5 && refused == 20 - accepted,
           "accepted %ld, refused %ld", accepted, refused);
    CHECK(atomic_load(&ran_count) == accepted + 1);
    return 0;
}

int group_wait_returns_after_every_posted_task_ran(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    crew_group *g = crew_group_create(p);
    CHECK(g != NULL);
    for (int round = 0; round < 3; round++) {
        atomic_store(&ran_count, 0);
        long n = crew_scaled(20000, 1000);
        for (long i = 0; i < n; i++)
            CHECK(crew_group_post(g, count_task, NULL) == 0);
        CHECK(crew_group_wait(g) == 0);
        CHECKF(atomic_load(&ran_count) == n, "round %d: %ld of %ld ran", round,
               atomic_load(&ran_count), n);
    }
    crew_group_destroy(g);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* A task that submits a child to its own pool and waits for it. */
static void *wait_on_child(void *arg)
{
    crew_pool *p = arg;
    crew_future *f = crew_submit(p, square, IP(7));
    if (f == NULL)
        return IP(-1);
    void *r = NULL;
    int rc = crew_future_wait(f, &r);
    crew_future_release(f);
    return rc == 0 ? r : IP(-2);
}

int task_waiting_on_a_future_it_submitted_completes_on_one_worker(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_future *f = crew_submit(p, wait_on_child, p);
    CHECK(f != NULL);
    void *r = NULL;
    CHECK(crew_future_wait(f, &r) == 0);
    CHECK(PI(r) == 49);
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

typedef struct chain_arg {
    crew_pool *pool;
    long depth;
} chain_arg;

/* Each level submits the next and waits: a helping scheme that ran
 * unrelated queued work here would bury waits under waits. */
static void *chain(void *arg)
{
    chain_arg *a = arg;
    if (a->depth == 0)
        return IP(1);
    chain_arg next = {a->pool, a->depth - 1};
    crew_future *f = crew_submit(a->pool, chain, &next);
    if (f == NULL)
        return IP(-1000000);
    void *r = NULL;
    crew_future_wait(f, &r);
    crew_future_release(f);
    return IP(PI(r) + 1);
}

int nested_future_waits_inside_tasks_complete(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    /* Several chains at once, from outside. */
    crew_future *f[4];
    chain_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (chain_arg){p, 50};
        f[i] = crew_submit(p, chain, &a[i]);
        CHECK(f[i] != NULL);
    }
    for (int i = 0; i < 4; i++) {
        void *r;
        CHECK(crew_future_wait(f[i], &r) == 0);
        CHECKF(PI(r) == 51, "chain %d returned %ld", i, PI(r));
        crew_future_release(f[i]);
    }
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* Inside a task: post children to the own deque between spawn and sync. */
static void *mixed(void *arg)
{
    crew_pool *p = arg;
    crew_task t;
    crew_spawn(&t, test_fib, IP(15));
    for (int i = 0; i < 50; i++)
        crew_post(p, count_task, NULL);
    long a = PI(test_fib(IP(14)));
    long b = PI(crew_sync(&t));
    return IP(a + b);
}

int tasks_submitted_from_inside_run_at_sync_and_by_thieves(void)
{
    atomic_store(&ran_count, 0);
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    for (int i = 0; i < 20; i++) {
        void *r;
        CHECK(crew_run(p, mixed, p, &r) == 0);
        CHECK(PI(r) == test_fib_seq(16));
    }
    CHECK(crew_pool_destroy(p) == 0);
    CHECK(atomic_load(&ran_count) == 20 * 50);
    return 0;
}

int cancel_before_start_means_the_function_never_runs(void)
{
    atomic_store(&ran_count, 0);
    atomic_store(&gate_open, 0);
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_future *gate = crew_submit(p, gate_task, NULL);
    CHECK(gate != NULL);
    crew_future *f[10];
    for (int i = 0; i < 10; i++)
        CHECK((f[i] = crew_submit(p, count_task, NULL)) != NULL);
    for (int i = 0; i < 10; i += 2)
        CHECK(crew_future_cancel(f[i]) == 0);
    atomic_store(&gate_open, 1);
    for (int i = 0; i < 10; i++) {
        void *r;
        int rc = crew_future_wait(f[i], &r);
        CHECKF(rc == (i % 2 == 0 ? ECANCELED : 0), "future %d: %d", i, rc);
        CHECK(crew_future_done(f[i]));
        crew_future_release(f[i]);
    }
    CHECK(crew_future_wait(gate, NULL) == 0);
    crew_future_release(gate);
    CHECK(crew_pool_destroy(p) == 0);
    CHECK(atomic_load(&ran_count) == 1 + 5);
    return 0;
}

static _Atomic long cancelled_posts;

static void count_cancel(crew_fn fn, void *arg, void *ctx)
{
    (void)fn;
    (void)arg;
    (void)ctx;
    atomic_fetch_add(&cancelled_posts, 1);
}

int shutdown_with_cancel_pending_runs_or_cancels_every_task_exactly_once(void)
{
    atomic_store(&ran_count, 0);
    atomic_store(&cancelled_posts, 0);
    atomic_store(&gate_open, 0);
    crew_config c;
    crew_config_default(&c);
    c.workers = 2;
    c.on_cancel = count_cancel;
    crew_pool *p = crew_pool_create(&c);
    CHECK(p != NULL);
    pthread_t opener;
    CHECK(crew_post(p, gate_task, NULL) == 0);
    CHECK(crew_post(p, gate_task, NULL) == 0);
    long posts = crew_scaled(5000, 500), subs = 200;
    for (long i = 0; i < posts; i++)
        CHECK(crew_post(p, count_task, NULL) == 0);
    crew_future *f[200];
    for (long i = 0; i < subs; i++)
        CHECK((f[i] = crew_submit(p, count_task, NULL)) != NULL);
    CHECK(pthread_create(&opener, NULL, open_gate_later, NULL) == 0);
    CHECK(crew_pool_shutdown(p, true) == 0);
    pthread_join(opener, NULL);
    long fut_ran = 0, fut_cancelled = 0;
    for (long i = 0; i < subs; i++) {
        int rc = crew_future_wait(f[i], NULL);
        CHECK(rc == 0 || rc == ECANCELED);
        fut_ran += rc == 0;
        fut_cancelled += rc == ECANCELED;
        crew_future_release(f[i]);
    }
    long ran = atomic_load(&ran_count) - 2; /* the gates */
    CHECKF(ran + atomic_load(&cancelled_posts) + fut_cancelled == posts + subs,
           "ran %ld + cancelled posts %ld + cancelled futures %ld != %ld", ran,
           atomic_load(&cancelled_posts), fut_cancelled, posts + subs);
    CHECK(fut_ran + fut_cancelled == subs);
    CHECK(atomic_load(&cancelled_posts) > 0); /* the gate kept them queued */
    CHECK(crew_post(p, count_task, NULL) == ESHUTDOWN);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

typedef struct racer {
    crew_pool *pool;
    long accepted, refused, other;
} racer;

static void *racing_poster(void *arg)
{
    racer *r = arg;
    for (;;) {
        int rc = crew_post(r->pool, count_task, NULL);
        if (rc == 0)
            r->accepted++;
        else if (rc == ESHUTDOWN) {
            r->refused++;
            return NULL;
        } else {
            r->other++;
            return NULL;
        }
    }
}

int submits_racing_shutdown_are_run_or_refused_never_lost(void)
{
    for (int round = 0; round < 5; round++) {
        atomic_store(&ran_count, 0);
        crew_pool *p = test_pool(2, 0, false);
        CHECK(p != NULL);
        racer r[2] = {{.pool = p}, {.pool = p}};
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            CHECK(pthread_create(&t[i], NULL, racing_poster, &r[i]) == 0);
        test_sleep_ms(5);
        CHECK(crew_pool_shutdown(p, false) == 0);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        /* Shutdown returned: everything accepted has already run. */
        long accepted = r[0].accepted + r[1].accepted;
        CHECKF(atomic_load(&ran_count) == accepted, "round %d: accepted %ld, ran %ld",
               round, accepted, atomic_load(&ran_count));
        CHECK(r[0].refused == 1 && r[1].refused == 1);
        CHECK(r[0].other == 0 && r[1].other == 0);
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

int destroy_runs_all_queued_work(void)
{
    atomic_store(&ran_count, 0);
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    long n = crew_scaled(50000, 2000);
    for (long i = 0; i < n; i++)
        CHECK(crew_post(p, count_task, NULL) == 0);
    CHECK(crew_pool_destroy(p) == 0);
    CHECK(atomic_load(&ran_count) == n);
    return 0;
}

int two_pools_alive_at_once_both_work(void)
{
    crew_pool *a = test_pool(2, 0, false), *b = test_pool(1, 0, false);
    CHECK(a != NULL && b != NULL);
    crew_future *fa = crew_submit(a, test_fib, IP(20));
    crew_future *fb = crew_submit(b, test_fib, IP(19));
    void *ra, *rb;
    CHECK(crew_future_wait(fa, &ra) == 0 && crew_future_wait(fb, &rb) == 0);
    CHECK(PI(ra) == test_fib_seq(20) && PI(rb) == test_fib_seq(19));
    crew_future_release(fa);
    crew_future_release(fb);
    CHECK(crew_pool_destroy(a) == 0);
    CHECK(crew_pool_destroy(b) == 0);
    return 0;
}

int futures_released_after_their_pool_is_destroyed(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    crew_future *f[100];
    for (int i = 0; i < 100; i++)
        CHECK((f[i] = crew_submit(p, square, IP(i))) != NULL);
    CHECK(crew_pool_destroy(p) == 0);
    for (int i = 0; i < 100; i++) {
        void *r;
        CHECK(crew_future_done(f[i]));
        CHECK(crew_future_wait(f[i], &r) == 0 && PI(r) == i * i);
        crew_future_release(f[i]);
    }
    return 0;
}

int idle_workers_stop_using_cpu(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    void *r;
    CHECK(crew_run(p, test_fib, IP(fib_n()), &r) == 0);
    for (int i = 0; i < 1000; i++)
        crew_post(p, count_task, NULL);
    test_sleep_ms(100); /* spin_us is 100 us: asleep long before this */
    long before = test_other_threads_cpu_ticks();
    test_sleep_ms(500);
    long after = test_other_threads_cpu_ticks();
    CHECK(crew_pool_destroy(p) == 0);
    CHECK(before >= 0);
    /* Ticks are 10 ms: an idle crew must not gain even one. */
    CHECKF(after - before <= 1, "idle workers used %ld ticks in 0.5 s",
           after - before);
    return 0;
}

int stats_are_exact_once_quiet(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    long n = 20;
    void *r;
    CHECK(crew_run(p, test_fib, IP(n), &r) == 0);
    for (int i = 0; i < 100; i++)
        CHECK(crew_post(p, count_task, NULL) == 0);
    CHECK(crew_pool_shutdown(p, false) == 0);
    crew_stats s;
    crew_pool_stats(p, &s);
    /* fib(n) spawns fib(n+1) - 1 times: one per internal node. */
    uint64_t spawns = (uint64_t)test_fib_seq(n + 1) - 1;
    CHECKF(s.spawns == spawns, "spawns %lu, expected %lu", (unsigned long)s.spawns,
           (unsigned long)spawns);
    CHECKF(s.tasks_run == spawns + 1 + 100, "tasks_run %lu, expected %lu",
           (unsigned long)s.tasks_run, (unsigned long)(spawns + 101));
    CHECK(s.injected == 101);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- regressions found in review (each deadlocked, hung or aborted) ---- */

static crew_group *rg_group;
static crew_pool *rg_pool;
static _Atomic int rg_flag, rg_flag2;

static _Atomic int rg_q_started, rg_q_done;

static void *rg_value(void *arg)
{
    return arg;
}

static void *rg_long(void *arg)
{
    (void)arg;
    test_sleep_ms(100);
    return NULL;
}

/* The group's other task, on the other worker: it leaves that worker busy
 * afterwards, so nobody steals from the frame below. */
static void *rg_q(void *arg)
{
    (void)arg;
    atomic_store(&rg_q_started, 1);
    crew_post(rg_pool, rg_long, NULL);
    test_sleep_ms(30);
    atomic_store(&rg_q_done, 1);
    return NULL;
}

/* Spawned b outlasts q, so a wait that ran b would find the group idle
 * afterwards with a still queued under it. */
static void *rg_b(void *arg)
{
    test_spin_until(&rg_q_done);
    test_sleep_ms(10);
    return arg;
}

static void *rg_frame(void *arg)
{
    (void)arg;
    atomic_store(&rg_q_started, 0);
    atomic_store(&rg_q_done, 0);
    crew_group_post(rg_group, rg_q, NULL); /* stolen by the other worker */
    test_spin_until(&rg_q_started);
    crew_task a, b;
    crew_spawn(&a, rg_value, IP(1));
    crew_spawn(&b, rg_b, IP(2));
    crew_group_post(rg_group, rg_value, NULL); /* publishes a and b */
    crew_group_wait(rg_group); /* must run only the group's tasks */
    long rb = PI(crew_sync(&b));
    long ra = PI(crew_sync(&a));
    return IP(ra * 10 + rb);
}

int group_wait_inside_a_frame_with_spawns_keeps_sync_order(void)
{
    rg_pool = test_pool(2, 0, false);
    CHECK(rg_pool != NULL);
    rg_group = crew_group_create(rg_pool);
    CHECK(rg_group != NULL);
    for (int i = 0; i < 3; i++) {
        void *r;
        CHECK(crew_run(rg_pool, rg_frame, NULL, &r) == 0);
        CHECK(PI(r) == 12);
    }
    crew_group_destroy(rg_group);
    CHECK(crew_pool_destroy(rg_pool) == 0);
    return 0;
}

static void *rg_wait_group(void *arg)
{
    (void)arg;
    /* Wait for the post, so that the group is not idle yet (bounded). */
    test_spin_until(&rg_flag);
    return IP(crew_group_wait(rg_group));
}

int group_wait_on_the_only_worker_runs_a_task_posted_from_outside(void)
{
    atomic_store(&ran_count, 0);
    rg_pool = test_pool(1, 0, false);
    CHECK(rg_pool != NULL);
    rg_group = crew_group_create(rg_pool);
    CHECK(rg_group != NULL);
    /* The waiter is queued first: the group's task sits behind it in the
     * queue, and the only worker must run it from inside the wait. */
    atomic_store(&rg_flag, 0);
    crew_future *f = crew_submit(rg_pool, rg_wait_group, NULL);
    CHECK(f != NULL);
    CHECK(crew_group_post(rg_group, count_task, NULL) == 0);
    atomic_store(&rg_flag, 1);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    void *r;
    CHECK(crew_future_timedwait(f, &dl, &r) == 0);
    CHECK(PI(r) == 0 && atomic_load(&ran_count) == 1);
    crew_future_release(f);
    crew_group_destroy(rg_group);
    CHECK(crew_pool_destroy(rg_pool) == 0);
    return 0;
}

static crew_future *lf_future;
static _Atomic int lf_f_started, lf_s_started;

static void *lf_nop(void *a)
{
    return a;
}

static void *lf_s(void *a)
{
    (void)a;
    atomic_store(&lf_s_started, 1);
    test_sleep_ms(30);
    return NULL;
}

/* The awaited task: it spawns s and keeps spawning until s is stolen. */
static void *lf_F(void *a)
{
    (void)a;
    atomic_store(&lf_f_started, 1);
    crew_task s;
    crew_spawn(&s, lf_s, NULL);
    double t0 = test_now_s();
    while (!atomic_load(&lf_s_started) && test_now_s() - t0 < 2) {
        crew_task t;
        crew_spawn(&t, lf_nop, NULL);
        crew_sync(&t);
    }
    crew_sync(&s);
    return IP(7);
}

/* An unrelated task that also waits on the future: run by F's worker
 * while leapfrogging, it would wait on F buried under itself. */
static void *lf_a(void *a)
{
    (void)a;
    void *r = NULL;
    crew_future_wait(lf_future, &r);
    return r;
}

static void *lf_X(void *arg)
{
    crew_pool *p = arg;
    lf_future = crew_submit(p, lf_F, NULL);
    test_spin_until(&lf_f_started);
    crew_task a;
    crew_spawn(&a, lf_a, NULL);
    crew_post(p, lf_nop, NULL); /* makes `a` public on this worker's deque */
    void *r = NULL;
    crew_future_wait(lf_future, &r);
    crew_sync(&a);
    return r;
}

int leapfrogging_never_takes_work_older_than_the_awaited_job(void)
{
    for (int round = 0; round < 5; round++) {
        atomic_store(&lf_f_started, 0);
        atomic_store(&lf_s_started, 0);
        crew_pool *p = test_pool(2, 0, false);
        CHECK(p != NULL);
        crew_future *x = crew_submit(p, lf_X, p);
        CHECK(x != NULL);
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        void *r = NULL;
        CHECKF(crew_future_timedwait(x, &dl, &r) == 0, "round %d deadlocked", round);
        CHECK(PI(r) == 7);
        crew_future_release(x);
        crew_future_release(lf_future);
        CHECK(crew_pool_destroy(p) == 0);
    }
    return 0;
}

typedef struct root_arg {
    crew_pool *pool;
    int rc;
    void *result;
} root_arg;

static void *run_root_from_outside(void *arg)
{
    root_arg *ra = arg;
    ra->rc = crew_run(ra->pool, rg_value, IP(5), &ra->result);
    return NULL;
}

int shutdown_cancelling_with_a_queued_crew_run_root_returns(void)
{
    atomic_store(&gate_open, 0);
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    CHECK(crew_post(p, gate_task, NULL) == 0);
    test_sleep_ms(10); /* the worker holds the gate */
    root_arg ra = {.pool = p};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, run_root_from_outside, &ra) == 0);
    test_sleep_ms(10); /* the root is queued behind the gate */
    pthread_t opener;
    CHECK(pthread_create(&opener, NULL, open_gate_later, NULL) == 0);
    CHECK(crew_pool_shutdown(p, true) == 0); /* must return */
    pthread_join(t, NULL);
    pthread_join(opener, NULL);
    CHECK(ra.rc == 0 && PI(ra.result) == 5); /* roots always run */
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

static _Atomic int bm_started;

static void *bm_blocker(void *arg)
{
    (void)arg;
    atomic_fetch_add(&bm_started, 1);
    while (!atomic_load(&gate_open))
        test_sleep_ms(1);
    return NULL;
}

/* Waits (bounded) for a flag that only its batch-mate sets. */
static void *bm_waiter(void *arg)
{
    (void)arg;
    double t0 = test_now_s();
    while (!atomic_load(&rg_flag) && test_now_s() - t0 < 5)
        test_sleep_ms(1);
    atomic_store(&rg_flag2, atomic_load(&rg_flag));
    return NULL;
}

static void *bm_setter(void *arg)
{
    (void)arg;
    atomic_store(&rg_flag, 1);
    return NULL;
}

int a_batch_mate_of_a_blocked_task_runs_on_an_idle_worker(void)
{
    atomic_store(&gate_open, 0);
    atomic_store(&bm_started, 0);
    atomic_store(&rg_flag, 0);
    atomic_store(&rg_flag2, 0);
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    CHECK(crew_post(p, bm_blocker, NULL) == 0);
    CHECK(crew_post(p, bm_blocker, NULL) == 0);
    while (atomic_load(&bm_started) < 2)
        test_sleep_ms(1);
    /* Four queued: the first worker to get free claims the waiter and the
     * setter in one batch (1 + (4 - 1) / 2 = 2 items). */
    CHECK(crew_post(p, bm_waiter, NULL) == 0);
    CHECK(crew_post(p, bm_setter, NULL) == 0);
    CHECK(crew_post(p, lf_nop, NULL) == 0);
    CHECK(crew_post(p, lf_nop, NULL) == 0);
    atomic_store(&gate_open, 1);
    CHECK(crew_pool_destroy(p) == 0);
    CHECKF(atomic_load(&rg_flag2) == 1, "the setter was stranded behind the waiter");
    return 0;
}

static void *own_future_waiter(void *arg)
{
    crew_future **slot = arg;
    while (__atomic_load_n(slot, __ATOMIC_ACQUIRE) == NULL)
        ;
    return IP(crew_future_wait(*slot, NULL));
}

int a_task_waiting_on_its_own_future_gets_edeadlk(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    static crew_future *self_future;
    __atomic_store_n(&self_future, NULL, __ATOMIC_RELAXED);
    crew_future *f = crew_submit(p, own_future_waiter, &self_future);
    CHECK(f != NULL);
    __atomic_store_n(&self_future, f, __ATOMIC_RELEASE);
    void *r;
    CHECK(crew_future_wait(f, &r) == 0);
    CHECK(PI(r) == EDEADLK);
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
