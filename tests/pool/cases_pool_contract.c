/* Suite `pool`, one thread: the object pool's contract (reuse, max_idle,
 * init/reset/fini, errors, alignment), the slot caches' bookkeeping and
 * the thread caches' pool id guard, checked exactly. */
#include "pool_cases.h"

#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "pool/objpool.h"
#include "pool_tracked.h"

/* ---- the contract, one thread ---- */

int bad_arguments_give_einval_or_do_nothing(void)
{
    errno = 0;
    CHECK(crew_objpool_create(NULL) == NULL && errno == EINVAL);
    const size_t bad_sizes[] = {0, SIZE_MAX, SIZE_MAX - 8, SIZE_MAX / 2,
                                (size_t)PTRDIFF_MAX};
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        crew_objpool_config cfg = {.obj_size = bad_sizes[i]};
        errno = 0;
        CHECKF(crew_objpool_create(&cfg) == NULL && errno == EINVAL,
               "obj_size %zu", bad_sizes[i]);
    }
    crew_objpool_config cfg = {.obj_size = 8};
    errno = 0;
    CHECK(crew_objpool_create_slots(&cfg, CREW_OBJPOOL_MAX_SLOTS + 1) == NULL &&
          errno == EINVAL);
    errno = 0;
    CHECK(crew_objpool_acquire(NULL) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(crew_objpool_acquire_at(NULL, 0) == NULL && errno == EINVAL);

    crew_objpool *p = crew_objpool_create_slots(&cfg, 1);
    CHECK(p != NULL);
    int dummy;
    crew_objpool_release(NULL, &dummy);
    crew_objpool_release(p, NULL);
    crew_objpool_release_at(NULL, 0, &dummy);
    crew_objpool_release_at(p, 0, NULL);
    crew_objpool_destroy(NULL);
    crew_objpool_stats st;
    memset(&st, 0xff, sizeof(st));
    crew_objpool_stats_get(NULL, &st);
    CHECK(st.created == 0 && st.reused == 0 && st.freed == 0 && st.idle == 0);
    crew_objpool_stats_get(p, NULL);
    crew_objpool_stats_get(p, &st);
    CHECK(st.created == 0 && st.reused == 0 && st.freed == 0 && st.idle == 0);
    crew_objpool_destroy(p);
    return 0;
}

int allocation_failures_give_enomem_and_leak_nothing(void)
{
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, 0);
    crew_fault_inject_alloc(0); /* the pool itself */
    errno = 0;
    crew_objpool *p = crew_objpool_create(&cfg);
    crew_fault_inject_alloc(-1);
    CHECK(p == NULL && errno == ENOMEM);
    crew_fault_inject_alloc(1); /* the slot caches */
    errno = 0;
    p = crew_objpool_create_slots(&cfg, 4);
    crew_fault_inject_alloc(-1);
    CHECK(p == NULL && errno == ENOMEM);

    p = crew_objpool_create_slots(&cfg, 1);
    CHECK(p != NULL);
    crew_fault_inject_alloc(0); /* the first slab of nodes */
    errno = 0;
    void *x = crew_objpool_acquire_at(p, 0);
    crew_fault_inject_alloc(-1);
    CHECK(x == NULL && errno == ENOMEM);
    crew_fault_inject_alloc(1); /* the slab works, the object's memory not */
    errno = 0;
    x = crew_objpool_acquire_at(p, CREW_OBJPOOL_SHARED);
    crew_fault_inject_alloc(-1);
    CHECK(x == NULL && errno == ENOMEM);
    CHECK(atomic_load(&h.init_calls) == 0);

    /* No memory for this thread's cache: the public calls use the shared
     * stack instead, without an error (and the node of the failed try is
     * reused). */
    crew_fault_inject_alloc(0);
    errno = 0;
    x = crew_objpool_acquire(p);
    crew_fault_inject_alloc(-1);
    CHECK(x != NULL && errno == 0);
    CHECK(crew_objpool_thread_caches(p) == 0);
    CHECK(check_stats(p, 1, 0, 0, 0) == 0);
    crew_fault_inject_alloc(0);
    crew_objpool_release(p, x);
    crew_fault_inject_alloc(-1);
    CHECK(errno == 0 && crew_objpool_thread_caches(p) == 0);
    CHECK(check_stats(p, 1, 0, 0, 1) == 0);
    /* With memory, the cache is made; it refills from the shared stack. */
    CHECK(crew_objpool_acquire(p) == x);
    CHECK(crew_objpool_thread_caches(p) == 1);
    CHECK(check_stats(p, 1, 1, 0, 0) == 0);
    crew_fault_inject_alloc(0); /* an object's memory, behind the cache */
    errno = 0;
    CHECK(crew_objpool_acquire(p) == NULL && errno == ENOMEM);
    crew_fault_inject_alloc(-1);

    crew_objpool_release_at(p, 0, x);
    crew_objpool_destroy(p);
    CHECK(atomic_load(&h.inits) == 1 && atomic_load(&h.finis) == 1);
    return 0;
}

int init_failure_returns_null_with_inits_errno_and_leaks_nothing(void)
{
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, 0);
    crew_objpool *p = crew_objpool_create_slots(&cfg, 1);
    CHECK(p != NULL);
    void *kept = crew_objpool_acquire(p);
    CHECK(kept != NULL);
    crew_objpool_release(p, kept);

    h.fail_rc = EBUSY;
    /* An idle object needs no init: served even while init fails. */
    void *x = crew_objpool_acquire(p);
    CHECK(x == kept);
    for (int i = 0; i < 100; i++) {
        errno = 0;
        CHECK(crew_objpool_acquire(p) == NULL);
        CHECKF(errno == EBUSY, "errno %d", errno);
        errno = 0;
        CHECK(crew_objpool_acquire_at(p, 0) == NULL && errno == EBUSY);
    }
    h.fail_rc = 0;
    void *y = crew_objpool_acquire_at(p, 0);
    CHECK(y != NULL && y != x);

    crew_objpool_stats st;
    crew_objpool_stats_get(p, &st);
    CHECKF(st.created == 2 && st.reused == 1 && st.freed == 0,
           "created %llu reused %llu freed %llu",
           (unsigned long long)st.created, (unsigned long long)st.reused,
           (unsigned long long)st.freed);
    CHECK(atomic_load(&h.init_calls) == 202);
    CHECK(atomic_load(&h.finis) == 0); /* failed builds are not finalized */
    crew_objpool_release(p, x);
    crew_objpool_release_at(p, 0, y);
    crew_objpool_destroy(p);
    CHECK(atomic_load(&h.inits) == 2 && atomic_load(&h.finis) == 2);
    return 0;
}

int init_reset_fini_are_called_the_right_number_of_times(void)
{
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, 0);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    void *x[10];
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < 10; i++)
            CHECK((x[i] = crew_objpool_acquire(p)) != NULL);
        CHECK(atomic_load(&h.inits) == 10); /* built in round 1 only */
        for (int i = 0; i < 10; i++)
            crew_objpool_release(p, x[i]);
        CHECK(atomic_load(&h.resets) == 10 * round);
        CHECK(atomic_load(&h.finis) == 0);
    }
    crew_objpool_stats st;
    crew_objpool_stats_get(p, &st);
    CHECK(st.created == 10 && st.reused == 20 && st.freed == 0 &&
          st.idle == 10);
    crew_objpool_destroy(p);
    CHECK(atomic_load(&h.finis) == 10);
    CHECK(atomic_load(&h.resets) == 30);

    /* No callbacks at all is fine too. */
    crew_objpool_config plain = {.obj_size = 24};
    p = crew_objpool_create(&plain);
    CHECK(p != NULL);
    void *y = crew_objpool_acquire(p);
    CHECK(y != NULL);
    crew_objpool_release(p, y);
    CHECK(crew_objpool_acquire(p) == y);
    crew_objpool_release(p, y);
    crew_objpool_destroy(p);
    return 0;
}

int max_idle_is_honoured_at_the_moment_of_release(void)
{
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, 2);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    void *x[5];
    for (int i = 0; i < 5; i++)
        CHECK((x[i] = crew_objpool_acquire(p)) != NULL);
    crew_objpool_release(p, x[0]);
    crew_objpool_release(p, x[1]);
    CHECK(atomic_load(&h.finis) == 0);
    CHECK(check_stats(p, 5, 0, 0, 2) == 0);
    /* Past max_idle: finalized and freed during the release itself. */
    for (int i = 2; i < 5; i++) {
        crew_objpool_release(p, x[i]);
        CHECKF(atomic_load(&h.finis) == i - 1, "release %d", i);
    }
    CHECK(atomic_load(&h.resets) == 2);
    CHECK(check_stats(p, 5, 0, 3, 2) == 0);
    /* Room again once an idle object is taken. */
    void *y = crew_objpool_acquire(p);
    CHECK(y == x[1] || y == x[0]);
    CHECK(check_stats(p, 5, 1, 3, 1) == 0);
    crew_objpool_release(p, y);
    CHECK(atomic_load(&h.finis) == 3);
    CHECK(check_stats(p, 5, 1, 3, 2) == 0);
    crew_objpool_destroy(p);
    CHECK(atomic_load(&h.finis) == 5);

    /* max_idle 0: no limit. */
    hooks u = {0};
    cfg = tracked_config(&u, 0);
    p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    void *many[100];
    for (int i = 0; i < 100; i++)
        CHECK((many[i] = crew_objpool_acquire(p)) != NULL);
    for (int i = 0; i < 100; i++)
        crew_objpool_release(p, many[i]);
    CHECK(atomic_load(&u.finis) == 0);
    CHECK(check_stats(p, 100, 0, 0, 100) == 0);
    crew_objpool_destroy(p);
    CHECK(atomic_load(&u.finis) == 100);
    return 0;
}

int objects_are_aligned_for_max_align_t_and_fully_usable(void)
{
    const size_t sizes[] = {1, 7, 16, 24, 100, 4097};
    enum { N = 8 };
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        crew_objpool_config cfg = {.obj_size = sizes[s], .max_idle = 4};
        crew_objpool *p = crew_objpool_create_slots(&cfg, 1);
        CHECK(p != NULL);
        for (int round = 0; round < 2; round++) {
            unsigned char *x[N];
            for (int i = 0; i < N; i++) {
                x[i] = i % 2 ? crew_objpool_acquire_at(p, 0)
                             : crew_objpool_acquire(p);
                CHECK(x[i] != NULL);
                CHECKF((uintptr_t)x[i] % alignof(max_align_t) == 0,
                       "size %zu: object %p misaligned", sizes[s],
                       (void *)x[i]);
                memset(x[i], i + 1, sizes[s]); /* every byte is ours */
            }
            for (int i = 0; i < N; i++) /* and nobody else's */
                for (size_t b = 0; b < sizes[s]; b++)
                    CHECK(x[i][b] == (unsigned char)(i + 1));
            for (int i = 0; i < N; i++) {
                if (i % 2)
                    crew_objpool_release_at(p, 0, x[i]);
                else
                    crew_objpool_release(p, x[i]);
            }
        }
        crew_objpool_destroy(p);
    }
    return 0;
}

/* ---- slot caches ---- */

int slot_caches_spill_to_and_refill_from_the_shared_stack(void)
{
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, 0);
    crew_objpool *p = crew_objpool_create_slots(&cfg, 2);
    CHECK(p != NULL);
    enum { N = 100 };
    void *x[N];
    for (int i = 0; i < N; i++)
        CHECK((x[i] = crew_objpool_acquire_at(p, 0)) != NULL);
    for (int i = 0; i < N; i++)
        crew_objpool_release_at(p, 0, x[i]);
    CHECK(check_stats(p, N, 0, 0, N) == 0);
    /* Slot 1 never released anything: what it reuses, slot 0 spilled. */
    for (int i = 0; i < N; i++)
        CHECK((x[i] = crew_objpool_acquire_at(p, 1)) != NULL);
    crew_objpool_stats st;
    crew_objpool_stats_get(p, &st);
    CHECKF(st.reused >= N / 2, "slot 1 reused only %llu objects",
           (unsigned long long)st.reused);
    /* Slot 0 serves the rest of the old objects from its cache. */
    void *y[N];
    for (int i = 0; i < N; i++)
        CHECK((y[i] = crew_objpool_acquire_at(p, 0)) != NULL);
    CHECK(check_stats(p, 2 * N, N, 0, 0) == 0);
    /* Release everything: half on the shared stack (slot out of range),
     * half through this thread's cache (the public call). */
    for (int i = 0; i < N; i++) {
        crew_objpool_release_at(p, 7, x[i]);
        crew_objpool_release(p, y[i]);
    }
    CHECK(check_stats(p, 2 * N, N, 0, 2 * N) == 0);
    crew_objpool_destroy(p);
    CHECK(atomic_load(&h.finis) == 2 * N);
    return 0;
}

int slot_caches_honour_max_idle(void)
{
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, 3);
    crew_objpool *p = crew_objpool_create_slots(&cfg, 2);
    CHECK(p != NULL);
    void *x[5];
    for (int i = 0; i < 5; i++)
        CHECK((x[i] = crew_objpool_acquire_at(p, 0)) != NULL);
    for (int i = 0; i < 5; i++) {
        crew_objpool_release_at(p, i % 2, x[i]);
        CHECKF(atomic_load(&h.finis) == (i < 3 ? 0 : i - 2), "release %d", i);
    }
    CHECK(check_stats(p, 5, 0, 2, 3) == 0);
    for (int i = 0; i < 5; i++)
        CHECK((x[i] = crew_objpool_acquire_at(p, 0)) != NULL);
    /* Slot 0 had two cached, slot 1 one (not reachable from slot 0). */
    CHECK(check_stats(p, 8, 2, 2, 1) == 0);
    for (int i = 0; i < 5; i++)
        crew_objpool_release_at(p, 0, x[i]);
    CHECK(check_stats(p, 8, 2, 5, 3) == 0);
    CHECK(atomic_load(&h.finis) == 5);
    crew_objpool_destroy(p);
    CHECK(atomic_load(&h.finis) == 8);
    return 0;
}

int slot_caches_take_idle_credit_in_batches_within_max_idle(void)
{
    /* 2 slots, max_idle 256: batches of 16 units, at most 32 of credit
     * per slot, so a slot release frees only while at least 128 objects
     * (half of max_idle) are idle, and idle never passes 256. */
    enum { MAX_IDLE = 256, N = 300 };
    hooks h = {0};
    crew_objpool_config cfg = tracked_config(&h, MAX_IDLE);
    crew_objpool *p = crew_objpool_create_slots(&cfg, 2);
    CHECK(p != NULL);
    static void *x[N];
    for (int i = 0; i < N; i++)
        CHECK((x[i] = crew_objpool_acquire_at(p, 0)) != NULL);
    /* One slot alone holds no credit it cannot use: exact. */
    for (int i = 0; i < N; i++)
        crew_objpool_release_at(p, 0, x[i]);
    CHECK(check_stats(p, N, 0, N - MAX_IDLE, MAX_IDLE) == 0);

    /* Slot 1 takes 40 through the shared stack, slot 0 takes 40 from its
     * cache and the stack; then both release everything, alternating. */
    for (int i = 0; i < 80; i++)
        CHECK((x[i] = crew_objpool_acquire_at(p, (unsigned)i % 2)) != NULL);
    CHECK(check_stats(p, N, 80, N - MAX_IDLE, MAX_IDLE - 80) == 0);
    for (int i = 0; i < 80; i++) {
        long finis = atomic_load(&h.finis);
        crew_objpool_stats st;
        crew_objpool_stats_get(p, &st);
        crew_objpool_release_at(p, (unsigned)i % 3 % 2, x[i]);
        if (atomic_load(&h.finis) != finis)
            CHECKF(st.idle >= MAX_IDLE / 2,
                   "release %d freed its object with only %llu idle", i,
                   (unsigned long long)st.idle);
        crew_objpool_stats_get(p, &st);
        CHECKF(st.idle <= MAX_IDLE, "%llu idle", (unsigned long long)st.idle);
    }
    crew_objpool_stats st;
    crew_objpool_stats_get(p, &st);
    fprintf(stderr,
            "batched credit: %llu freed by the last 80 releases, "
            "%llu idle after them\n",
            (unsigned long long)st.freed - (N - MAX_IDLE),
            (unsigned long long)st.idle);
    CHECK(st.created == N && st.reused == 80);
    CHECK(st.created == st.freed + st.idle);
    CHECK(st.freed == (uint64_t)atomic_load(&h.finis));
    crew_objpool_destroy(p);
    CHECK(atomic_load(&h.finis) == N);
    return 0;
}

/* ---- thread caches: the pool id guard ----
 * A thread's table remembers its cache of a pool by the pool's address and
 * id. Destroy a pool whose cache holds objects, create another (malloc
 * often hands back the same address): the new pool must get a new cache
 * of its own, never the freed one (which ASan would report, and which
 * would serve the old pool's freed objects). */

int a_new_pool_at_a_freed_pools_address_gets_its_own_thread_cache(void)
{
    enum { TRIES = 64, OLD = 3 };
    int same = 0;
    for (int t = 0; t < TRIES; t++) {
        hooks ha = {0}, hb = {0};
        crew_objpool_config ca = tracked_config(&ha, t % 2 ? 0 : 2);
        crew_objpool_config cb = tracked_config(&hb, t % 2 ? 0 : 2);
        crew_objpool *a = crew_objpool_create(&ca);
        CHECK(a != NULL);
        void *x[OLD];
        for (int i = 0; i < OLD; i++)
            CHECK((x[i] = crew_objpool_acquire(a)) != NULL);
        for (int i = 0; i < OLD; i++)
            crew_objpool_release(a, x[i]);
        const void *old = a;
        crew_objpool_destroy(a);
        CHECK(atomic_load(&ha.finis) == OLD);

        crew_objpool *b = crew_objpool_create(&cb);
        CHECK(b != NULL);
        same += (const void *)b == old;
        void *y = crew_objpool_acquire(b);
        CHECKF(y != NULL && atomic_load(&hb.inits) == 1,
               "try %d: the new pool served an object it did not build", t);
        CHECK(check_stats(b, 1, 0, 0, 0) == 0);
        crew_objpool_release(b, y);
        CHECK(check_stats(b, 1, 0, 0, 1) == 0);
        CHECK(crew_objpool_thread_caches(b) == 1);
        CHECK(crew_objpool_acquire(b) == y);
        crew_objpool_release(b, y);
        crew_objpool_destroy(b);
        CHECK(atomic_load(&hb.finis) == 1 && atomic_load(&ha.finis) == OLD);
    }
    fprintf(stderr, "id guard: %d of %d new pools had the freed pool's address\n",
            same, TRIES);
    return 0;
}

/* ---- callbacks that use their own pool ----
 * A reset that takes an object from the pool it belongs to and gives it
 * back (from the releasing thread, so from the very cache the release is
 * working on) must not upset the pool's books: max_idle still holds and
 * the counts stay exact. */

typedef struct reentrant {
    crew_objpool *pool;
    int depth;
    long nested;
} reentrant;

static void reentrant_reset(void *obj, void *ctx)
{
    reentrant *r = ctx;
    (void)obj;
    if (r->depth > 0)
        return;
    r->depth++;
    void *other = crew_objpool_acquire(r->pool);
    if (other != NULL) {
        crew_objpool_release(r->pool, other);
        r->nested++;
    }
    r->depth--;
}

int callbacks_may_use_their_own_pool(void)
{
    const size_t limits[] = {2, 200}; /* exact; batched credit */
    for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
        const size_t max_idle = limits[l];
        reentrant r = {0};
        crew_objpool_config cfg = {.obj_size = 32,
                                   .max_idle = max_idle,
                                   .reset = reentrant_reset,
                                   .ctx = &r};
        r.pool = crew_objpool_create(&cfg);
        CHECK(r.pool != NULL);
        enum { N = 40 };
        void *x[N];
        uint64_t acquires = 0;
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < N; i++)
                CHECK((x[i] = crew_objpool_acquire(r.pool)) != NULL);
            acquires += N;
            for (int i = 0; i < N; i++) {
                crew_objpool_release(r.pool, x[i]);
                crew_objpool_stats st;
                crew_objpool_stats_get(r.pool, &st);
                CHECKF(st.idle <= max_idle, "max_idle %zu: %llu idle",
                       max_idle, (unsigned long long)st.idle);
            }
        }
        crew_objpool_stats st;
        crew_objpool_stats_get(r.pool, &st);
        CHECK(r.nested > 0);
        CHECK(st.created == st.freed + st.idle);
        CHECK(st.created + st.reused == acquires + (uint64_t)r.nested);
        crew_objpool_destroy(r.pool);
    }
    return 0;
}
