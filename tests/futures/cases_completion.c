/* Suite `futures`, completion queues: crew_completion_next hands out each
 * added future exactly once, in the order they became done, sleeping until
 * one is done or its deadline; ENOENT once everything added has been
 * handed out; add takes its own reference; destroy releases what it holds;
 * ENOMEM loses nothing; concurrent adders and takers; takers racing over
 * a full queue (the negative control completion_take_cas makes that case
 * fail); memory bounded by the backlog; every error value. */
#include "futures_cases.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/fault.h"
#include "futures_util.h"
#include "scheduler/callbacks.h"

static void *identity(void *arg)
{
    return arg;
}

static void count_call(crew_future *f, void *ctx)
{
    (void)f;
    atomic_fetch_add((_Atomic long *)ctx, 1);
}

static long result_of(crew_future *f)
{
    void *r = NULL;
    return crew_future_wait(f, &r) == 0 ? PI(r) : -1;
}

static int no_extra_segments(const crew_completion *c)
{
    uint64_t made, extra;
    crew_completion_segment_counts_(c, &made, &extra);
    return extra == 0;
}

/* ---- order ---- */

#define NORD 6

int completion_hands_out_futures_in_the_order_they_became_done(void)
{
    crew_pool *p = test_pool(NORD, 0, false);
    CHECK(p != NULL);
    crew_completion *c = crew_completion_create();
    CHECK(c != NULL);
    gated g[NORD];
    crew_future *f[NORD];
    _Atomic long passed[NORD];
    for (int i = 0; i < NORD; i++) {
        g[i] = (gated){0, i};
        atomic_init(&passed[i], 0);
        f[i] = crew_submit(p, gated_task, &g[i]);
        CHECK(f[i] != NULL);
        CHECK(crew_completion_add(c, f[i]) == 0);
        /* Added after the queue's note: runs once f[i] is in the queue. */
        CHECK(crew_future_on_done(f[i], count_call, &passed[i]) == 0);
    }
    const int order[NORD] = {3, 0, 5, 1, 4, 2};
    for (int k = 0; k < NORD; k++) {
        /* Each completes after the one before is in the queue. */
        gate_open(&g[order[k]]);
        CHECK(wait_for_count(&passed[order[k]], 1) == 1);
        if (k == 2) {
            crew_future *out = NULL;
            CHECK(crew_completion_next(c, NULL, &out) == 0 && out == f[order[0]]);
            crew_future_release(out);
        }
    }
    for (int k = 1; k < NORD; k++) {
        crew_future *out = NULL;
        CHECK(crew_completion_next(c, NULL, &out) == 0);
        CHECKF(out == f[order[k]], "place %d: got future %ld, wanted %d", k, result_of(out),
               order[k]);
        crew_future_release(out);
    }
    crew_future *out = NULL;
    CHECK(crew_completion_next(c, NULL, &out) == ENOENT);
    for (int i = 0; i < NORD; i++)
        crew_future_release(f[i]);
    crew_completion_destroy(c);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int completion_on_one_worker_hands_out_futures_in_submission_order(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_completion *c = crew_completion_create();
    CHECK(c != NULL);
    enum { N = 500 };
    for (long i = 0; i < N; i++) {
        crew_future *f = crew_submit(p, identity, IP(i));
        CHECK(f != NULL);
        CHECK(crew_completion_add(c, f) == 0);
        crew_future_release(f);
    }
    for (long i = 0; i < N; i++) {
        crew_future *out = NULL;
        CHECK(crew_completion_next(c, NULL, &out) == 0);
        CHECKF(result_of(out) == i, "place %ld: got %ld", i, result_of(out));
        crew_future_release(out);
    }
    CHECK(no_extra_segments(c));
    crew_completion_destroy(c);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- sleeping, deadlines, ENOENT ---- */

typedef struct later {
    gated *g;
    long ms;
} later;

static void *open_later(void *arg)
{
    later *l = arg;
    test_sleep_ms(l->ms);
    gate_open(l->g);
    return NULL;
}

int completion_next_sleeps_until_one_is_done_or_the_deadline(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    crew_completion *c = crew_completion_create();
    CHECK(c != NULL);
    gated g = {0, 1};
    crew_future *f = crew_submit(p, gated_task, &g);
    CHECK(f != NULL && crew_completion_add(c, f) == 0);
    crew_future *out = NULL;
    struct timespec soon = deadline_in_ms(20), past = deadline_in_ms(-1000);
    CHECK(crew_completion_next(c, &soon, &out) == ETIMEDOUT);
    CHECK(crew_completion_next(c, &past, &out) == ETIMEDOUT); /* a try */
    later l = {&g, 20};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, open_later, &l) == 0);
    CHECK(crew_completion_next(c, NULL, &out) == 0 && out == f);
    pthread_join(t, NULL);
    crew_future_release(out);
    /* A done future wins over a passed deadline. */
    crew_future *h = crew_submit(p, identity, IP(2));
    CHECK(h != NULL && crew_future_wait(h, NULL) == 0);
    CHECK(crew_completion_add(c, h) == 0);
    CHECK(crew_completion_next(c, &past, &out) == 0 && out == h);
    crew_future_release(out);
    /* Far deadline, woken by the completion. */
    gated g2 = {0, 3};
    crew_future *k = crew_submit(p, gated_task, &g2);
    CHECK(k != NULL && crew_completion_add(c, k) == 0);
    later l2 = {&g2, 20};
    CHECK(pthread_create(&t, NULL, open_later, &l2) == 0);
    struct timespec far = deadline_in_ms(10000);
    CHECK(crew_completion_next(c, &far, &out) == 0 && out == k);
    pthread_join(t, NULL);
    crew_future_release(out);
    crew_future_release(f);
    crew_future_release(h);
    crew_future_release(k);
    crew_completion_destroy(c);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

typedef struct taker {
    crew_completion *c;
    int rc;
    crew_future *out;
} taker;

static void *take_one(void *arg)
{
    taker *t = arg;
    t->rc = crew_completion_next(t->c, NULL, &t->out);
    return NULL;
}

int completion_next_gives_enoent_once_everything_added_was_handed_out(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_completion *c = crew_completion_create();
    CHECK(c != NULL);
    crew_future *out = NULL;
    struct timespec far = deadline_in_ms(10000);
    CHECK(crew_completion_next(c, NULL, &out) == ENOENT);
    CHECK(crew_completion_next(c, &far, &out) == ENOENT);
    crew_future *f = crew_submit(p, identity, IP(1));
    CHECK(f != NULL && crew_completion_add(c, f) == 0);
    CHECK(crew_completion_next(c, NULL, &out) == 0 && out == f);
    crew_future_release(out);
    CHECK(crew_completion_next(c, NULL, &out) == ENOENT);
    /* Two takers sleep on one pending future: one gets it, the other is
     * woken when it is handed out and gets ENOENT. */
    gated g = {0, 2};
    crew_future *h = crew_submit(p, gated_task, &g);
    CHECK(h != NULL && crew_completion_add(c, h) == 0);
    taker a = {c, -1, NULL}, b = {c, -1, NULL};
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, take_one, &a) == 0);
    CHECK(pthread_create(&tb, NULL, take_one, &b) == 0);
    test_sleep_ms(20);
    gate_open(&g);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK((a.rc == 0 && b.rc == ENOENT) || (a.rc == ENOENT && b.rc == 0));
    CHECK((a.rc == 0 ? a.out : b.out) == h);
    crew_future_release(h);
    crew_future_release(h); /* the queue's, handed out */
    crew_future_release(f);
    crew_completion_destroy(c);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- references ---- */

int completion_add_takes_its_own_reference_and_destroy_releases_them(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    crew_completion *c = crew_completion_create();
    CHECK(c != NULL);
    /* Released by the caller at once: the queue's reference keeps them. */
    gated g = {0, 11};
    crew_future *pending = crew_submit(p, gated_task, &g);
    crew_future *done = crew_submit(p, identity, IP(12));
    CHECK(pending != NULL && done != NULL && crew_future_wait(done, NULL) == 0);
    CHECK(crew_completion_add(c, pending) == 0);
    CHECK(crew_completion_add(c, done) == 0);
    crew_future_release(pending);
    crew_future_release(done);
    gate_open(&g);
    long sum = 0;
    for (int i = 0; i < 2; i++) {
        crew_future *out = NULL;
        CHECK(crew_completion_next(c, NULL, &out) == 0);
        sum += result_of(out);
        crew_future_release(out);
    }
    CHECK(sum == 23);
    /* Destroy with futures done and not taken, and others still pending
     * (released when they complete): the ASan build's leak check sees a
     * reference kept (the records' home would never be freed). */
    gated g2 = {0, 0};
    for (int i = 0; i < 10; i++) {
        int pending_one = i >= 5; /* the first five are done when added */
        crew_future *f = crew_submit(p, pending_one ? gated_task : identity, &g2);
        CHECK(f != NULL);
        if (!pending_one)
            CHECK(crew_future_wait(f, NULL) == 0);
        CHECK(crew_completion_add(c, f) == 0);
        crew_future_release(f);
    }
    crew_completion_destroy(c);
    gate_open(&g2);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- errors and out of memory ---- */

int completion_errors_are_einval_and_enomem_loses_nothing(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    gated g = {0, 4};
    crew_future *f = crew_submit(p, gated_task, &g);
    CHECK(f != NULL);
    /* Create: every allocation it makes, failed in turn. */
    long fails = 0;
    for (long k = 0;; k++) {
        crew_fault_inject_alloc(k);
        errno = 0;
        crew_completion *c = crew_completion_create();
        int fired = crew_fault_alloc_fired();
        crew_fault_inject_alloc(-1);
        if (!fired) {
            CHECK(c != NULL);
            crew_completion_destroy(c);
            break;
        }
        CHECK(c == NULL && errno == ENOMEM);
        fails++;
    }
    CHECK(fails >= 2); /* the queue and its segments */
    crew_completion *c = crew_completion_create();
    CHECK(c != NULL);
    crew_future *out = NULL;
    struct timespec neg = {0, -1}, big = {0, 1000000000};
    CHECK(crew_completion_add(NULL, f) == EINVAL);
    CHECK(crew_completion_add(c, NULL) == EINVAL);
    CHECK(crew_completion_next(NULL, NULL, &out) == EINVAL);
    CHECK(crew_completion_next(c, NULL, NULL) == EINVAL);
    CHECK(crew_completion_next(c, &neg, &out) == EINVAL);
    CHECK(crew_completion_next(c, &big, &out) == EINVAL);
    crew_completion_destroy(NULL);
    /* Adds of a pending future whose allocation fails (its note, or a
     * segment the reservation needs) are not added: never handed out,
     * and the caller's reference is untouched. Every other add is. (The
     * first add's note lives in the record: no allocation.) */
    long added = 0, refused = 0;
    for (long i = 0; i < 400; i++) {
        if (i % 3 == 1)
            crew_fault_inject_alloc(0);
        int rc = crew_completion_add(c, f);
        int fired = crew_fault_alloc_fired();
        crew_fault_inject_alloc(-1);
        if (i % 3 == 1 && fired) {
            CHECK(rc == ENOMEM);
            refused++;
        } else {
            CHECK(rc == 0);
            added++;
        }
    }
    CHECK(refused > 100);
    gate_open(&g);
    for (long i = 0; i < added; i++) {
        CHECK(crew_completion_next(c, NULL, &out) == 0 && out == f);
        crew_future_release(out);
    }
    CHECK(crew_completion_next(c, NULL, &out) == ENOENT);
    /* A done future needs no note: only the segments can fail. */
    for (long i = 0; i < 200; i++) {
        crew_fault_inject_alloc(0);
        int rc = crew_completion_add(c, f);
        int fired = crew_fault_alloc_fired();
        crew_fault_inject_alloc(-1);
        CHECK(fired ? rc == ENOMEM : rc == 0);
        if (rc == 0) {
            CHECK(crew_completion_next(c, NULL, &out) == 0 && out == f);
            crew_future_release(out);
        }
    }
    CHECK(crew_completion_next(c, NULL, &out) == ENOENT);
    CHECK(no_extra_segments(c));
    crew_completion_destroy(c);
    CHECK(result_of(f) == 4);
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

/* ---- concurrency ---- */

#define ADDERS 2
#define TAKERS 2

typedef struct cq_run {
    crew_pool *pool;
    crew_completion *c;
    long per_adder;
    _Atomic long adders_left;
    _Atomic long taken;
    _Atomic unsigned char *seen;
    _Atomic long errors;
} cq_run;

typedef struct adder_arg {
    cq_run *run;
    long first;
} adder_arg;

static void *add_many(void *arg)
{
    adder_arg *a = arg;
    cq_run *run = a->run;
    for (long i = 0; i < run->per_adder; i++) {
        crew_future *f = crew_submit(run->pool, identity, IP(a->first + i));
        if (f == NULL || crew_completion_add(run->c, f) != 0) {
            atomic_fetch_add(&run->errors, 1);
            continue;
        }
        crew_future_release(f);
    }
    atomic_fetch_sub(&run->adders_left, 1);
    return NULL;
}

static void *take_many(void *arg)
{
    cq_run *run = arg;
    long total = run->per_adder * ADDERS;
    double t0 = test_now_s();
    while (atomic_load(&run->taken) < total && test_now_s() - t0 < 20) {
        crew_future *out = NULL;
        struct timespec soon = deadline_in_ms(50);
        int rc = crew_completion_next(run->c, &soon, &out);
        if (rc == ENOENT || rc == ETIMEDOUT)
            continue; /* the adders are behind (ENOENT), or the others took the rest */
        if (rc != 0) {
            atomic_fetch_add(&run->errors, 1);
            continue;
        }
        long i = result_of(out);
        if (i < 0 || i >= total)
            atomic_fetch_add(&run->errors, 1);
        else
            atomic_fetch_add(&run->seen[i], 1);
        crew_future_release(out);
        atomic_fetch_add(&run->taken, 1);
    }
    return NULL;
}

int completion_with_concurrent_adders_and_takers_hands_out_each_future_once(void)
{
    cq_run run = {0};
    run.pool = test_pool(2, 0, false);
    CHECK(run.pool != NULL);
    run.c = crew_completion_create();
    CHECK(run.c != NULL);
    run.per_adder = crew_scaled(50000, 3000);
    long total = run.per_adder * ADDERS;
    run.seen = calloc((size_t)total, 1);
    CHECK(run.seen != NULL);
    atomic_store(&run.adders_left, ADDERS);
    pthread_t a[ADDERS], t[TAKERS];
    adder_arg args[ADDERS];
    for (int k = 0; k < TAKERS; k++)
        CHECK(pthread_create(&t[k], NULL, take_many, &run) == 0);
    for (int k = 0; k < ADDERS; k++) {
        args[k] = (adder_arg){&run, k * run.per_adder};
        CHECK(pthread_create(&a[k], NULL, add_many, &args[k]) == 0);
    }
    for (int k = 0; k < ADDERS; k++)
        pthread_join(a[k], NULL);
    for (int k = 0; k < TAKERS; k++)
        pthread_join(t[k], NULL);
    CHECK(atomic_load(&run.errors) == 0);
    long missing = 0, repeated = 0;
    for (long i = 0; i < total; i++) {
        missing += run.seen[i] == 0;
        repeated += run.seen[i] > 1;
    }
    CHECKF(missing == 0 && repeated == 0, "%ld never handed out, %ld more than once", missing,
           repeated);
    crew_future *out = NULL;
    CHECK(crew_completion_next(run.c, NULL, &out) == ENOENT);
    CHECK(no_extra_segments(run.c));
    crew_completion_destroy(run.c);
    free((void *)run.seen);
    CHECK(crew_pool_destroy(run.pool) == 0);
    return 0;
}

/* Takers only, over a queue filled beforehand (futures already done are
 * pushed by add itself): every future handed out once, across many
 * segment boundaries. The claim's CAS is what this case guards, so the
 * takers do nothing but take (they look at what they got afterwards). */
#define RACERS 3

typedef struct drainer {
    crew_completion *c;
    crew_future **got;
    long n_got;
    int rc;  /* 0, or what next returned other than 0 and ENOENT */
    int cpu; /* pinned there, or -1 */
} drainer;

static void *drain(void *arg)
{
    drainer *d = arg;
    if (d->cpu >= 0)
        pin_to_cpu(d->cpu);
    for (;;) {
        struct timespec soon = deadline_in_ms(2000);
        int rc = crew_completion_next(d->c, &soon, &d->got[d->n_got]);
        if (rc == ENOENT)
            return NULL;
        if (rc != 0) {
            d->rc = rc;
            return NULL;
        }
        d->n_got++;
    }
}

int completion_takers_racing_over_a_full_queue_take_each_future_once(void)
{
    crew_pool *p = test_pool(2, 0, false);
    CHECK(p != NULL);
    long n = crew_scaled(100000, 10000);
    crew_future **fs = calloc((size_t)n, sizeof(*fs));
    unsigned char *seen = calloc((size_t)n, 1);
    drainer d[RACERS];
    CHECK(fs != NULL && seen != NULL);
    for (int k = 0; k < RACERS; k++) {
        /* Room for twice n: a broken claim may hand out more than n. */
        d[k].got = calloc(2 * (size_t)n, sizeof(crew_future *));
        CHECK(d[k].got != NULL);
    }
    for (long i = 0; i < n; i++) {
        fs[i] = crew_submit(p, identity, IP(i));
        CHECK(fs[i] != NULL);
    }
    CHECK(crew_future_wait_all(fs, (size_t)n, NULL) == 0);
    /* Takers on different CPUs where the process may use several. */
    cpu_set_t allowed;
    int ncpu = sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : 0;
    for (int k = 0; k < RACERS; k++)
        d[k].cpu = ncpu >= 2 ? nth_allowed_cpu(&allowed, k % ncpu) : -1;
    double t0 = test_now_s();
    for (long round = 0; round < 20 && (round < 3 || test_now_s() - t0 < 5); round++) {
        crew_completion *c = crew_completion_create();
        CHECK(c != NULL);
        memset(seen, 0, (size_t)n);
        for (long i = 0; i < n; i++)
            CHECK(crew_completion_add(c, fs[i]) == 0);
        pthread_t t[RACERS];
        for (int k = 0; k < RACERS; k++) {
            d[k].c = c;
            d[k].n_got = 0;
            d[k].rc = 0;
            CHECK(pthread_create(&t[k], NULL, drain, &d[k]) == 0);
        }
        long errors = 0, total = 0;
        for (int k = 0; k < RACERS; k++) {
            pthread_join(t[k], NULL);
            errors += d[k].rc != 0;
            for (long j = 0; j < d[k].n_got && j < 2 * n; j++) {
                long i = result_of(d[k].got[j]);
                if (i < 0 || i >= n)
                    errors++;
                else if (seen[i]++ == 0)
                    crew_future_release(d[k].got[j]); /* a repeat was not ours to release */
                total++;
            }
        }
        long missing = 0, repeated = 0;
        for (long i = 0; i < n; i++) {
            missing += seen[i] == 0;
            repeated += seen[i] > 1;
        }
        CHECKF(errors == 0 && missing == 0 && repeated == 0 && total == n,
               "round %ld: %ld errors, %ld never handed out, %ld more than once", round, errors,
               missing, repeated);
        CHECK(no_extra_segments(c));
        crew_completion_destroy(c);
    }
    for (long i = 0; i < n; i++)
        crew_future_release(fs[i]);
    for (int k = 0; k < RACERS; k++)
        free(d[k].got);
    free(fs);
    free(seen);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}

int completion_memory_is_bounded_by_its_backlog(void)
{
    crew_pool *p = test_pool(1, 0, false);
    CHECK(p != NULL);
    crew_future *f = crew_submit(p, identity, NULL);
    CHECK(f != NULL && crew_future_wait(f, NULL) == 0);
    crew_completion *c = crew_completion_create();
    CHECK(c != NULL);
    enum { BACKLOG = 200 };
    for (int i = 0; i < BACKLOG; i++)
        CHECK(crew_completion_add(c, f) == 0);
    long rounds = crew_scaled(100000, 10000);
    for (long i = 0; i < rounds; i++) {
        crew_future *out = NULL;
        CHECK(crew_completion_add(c, f) == 0);
        CHECK(crew_completion_next(c, NULL, &out) == 0 && out == f);
        crew_future_release(out);
    }
    uint64_t made, extra;
    crew_completion_segment_counts_(c, &made, &extra);
    /* reserved / 63 + 4 at most, with reserved <= BACKLOG + 1. */
    CHECKF(made <= (BACKLOG + 1) / 63 + 4 && extra == 0, "%llu segments (%llu extra)",
           (unsigned long long)made, (unsigned long long)extra);
    crew_completion_destroy(c);
    crew_future_release(f);
    CHECK(crew_pool_destroy(p) == 0);
    return 0;
}
