/* Suite `pool`, one thread: the bounds new in 0.2 (API.md, "Object pool
 * bounds"): max_live never exceeded, crew_objpool_acquire_timed's
 * deadlines, tries and every error value, validate (on reuse only; a
 * rejected object is finalized and the acquire goes on), and the config's
 * growth at its end. The waits: cases_pool_waits.c. */
#include "pool_cases.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fault.h"
#include "pool/objpool.h"
#include "pool_bounded.h"
#include "pool_tracked.h"

/* ---- max_live and the deadlines, one thread ---- */

int max_live_bounds_objects_and_timed_acquire_gives_up_at_its_deadline(void)
{
    bhooks h = {0};
    crew_objpool_config cfg = bconfig(&h, 3, 0);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    bobj *o[3];
    errno = 4321;
    for (int i = 0; i < 3; i++) {
        struct timespec past = deadline_ms(-1000);
        CHECK((o[i] = crew_objpool_acquire_timed(p, &past)) != NULL);
        CHECK(take(&h, o[i]));
    }
    CHECK(errno == 4321); /* success leaves errno alone */
    /* Exhausted: a past deadline is a try, and so is a negative tv_sec. */
    struct timespec past = deadline_ms(-1000), ancient = {-5, 0};
    errno = 0;
    CHECK(crew_objpool_acquire_timed(p, &past) == NULL && errno == ETIMEDOUT);
    errno = 0;
    CHECK(crew_objpool_acquire_timed(p, &ancient) == NULL && errno == ETIMEDOUT);
    /* A deadline ahead: it waits for it, not less. */
    struct timespec soon = deadline_ms(30);
    errno = 0;
    CHECK(crew_objpool_acquire_timed(p, &soon) == NULL && errno == ETIMEDOUT);
    CHECK(realtime_reached(&soon));
    CHECK(crew_objpool_waiters(p) == 0);
    CHECK(h.inits == 3 && h.alive_peak == 3);
    /* A release makes room again: the same object comes back, validated. */
    give(p, &h, o[1]);
    past = deadline_ms(-1);
    bobj *again = crew_objpool_acquire_timed(p, &past);
    CHECK(again == o[1] && take(&h, again));
    CHECK(h.validates == 1 && h.inits == 3);
    /* The public calls of a max_live pool use no thread cache: every idle
     * object is where any waiter finds it. */
    CHECK(crew_objpool_thread_caches(p) == 0);
    for (int i = 0; i < 3; i++)
        give(p, &h, o[i]);
    CHECK(check_stats(p, 3, 1, 0, 3) == 0);
    crew_objpool_destroy(p);
    CHECK(h.finis == 3 && h.double_holds == 0);
    return 0;
}

int acquire_timed_rejects_bad_deadlines_and_never_times_out_unbounded(void)
{
    bhooks h = {0};
    crew_objpool_config bounded = bconfig(&h, 1, 0);
    crew_objpool_config unbounded = bounded;
    unbounded.max_live = 0;
    crew_objpool *pools[2] = {crew_objpool_create(&bounded),
                              crew_objpool_create(&unbounded)};
    CHECK(pools[0] != NULL && pools[1] != NULL);
    const long bad_nsec[] = {-1, 1000000000L, 2000000000L};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof(bad_nsec) / sizeof(bad_nsec[0]); i++) {
            struct timespec ts = {0, bad_nsec[i]};
            errno = 0;
            CHECKF(crew_objpool_acquire_timed(pools[k], &ts) == NULL && errno == EINVAL,
                   "pool %d, tv_nsec %ld", k, bad_nsec[i]);
        }
    struct timespec ok = deadline_ms(-1);
    errno = 0;
    CHECK(crew_objpool_acquire_timed(NULL, &ok) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(crew_objpool_acquire_timed(NULL, NULL) == NULL && errno == EINVAL);
    /* tv_nsec at its largest is a valid deadline. */
    struct timespec edge = {ok.tv_sec - 1, 999999999L};
    bobj *x = crew_objpool_acquire_timed(pools[0], &edge);
    CHECK(x != NULL);
    crew_objpool_release(pools[0], x);
    /* max_live 0: a past deadline never makes an acquire fail. */
    bobj *many[64];
    for (int i = 0; i < 64; i++) {
        struct timespec past = deadline_ms(-1000);
        CHECK((many[i] = crew_objpool_acquire_timed(pools[1], &past)) != NULL);
    }
    for (int i = 0; i < 64; i++)
        crew_objpool_release(pools[1], many[i]);
    /* NULL abstime is acquire: on an unbounded pool it never waits. */
    CHECK((x = crew_objpool_acquire_timed(pools[1], NULL)) != NULL);
    crew_objpool_release(pools[1], x);
    crew_objpool_destroy(pools[0]);
    crew_objpool_destroy(pools[1]);
    CHECK(h.inits == h.finis && h.double_holds == 0);
    return 0;
}

int bounded_pools_give_back_the_unit_of_a_failed_build(void)
{
    bhooks h = {0};
    crew_objpool_config cfg = bconfig(&h, 1, 0);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    /* init fails: its errno, at once (no wait), and the unit is back. */
    h.init_rc = EIO;
    atomic_store(&h.fail_inits, 1);
    errno = 0;
    CHECK(crew_objpool_acquire(p) == NULL && errno == EIO);
    struct timespec later = deadline_ms(5000);
    bobj *x = crew_objpool_acquire_timed(p, &later);
    CHECKF(x != NULL, "errno %d: the failed build kept its unit", errno);
    crew_objpool_release(p, x);
    crew_objpool_destroy(p);

    /* init's value may be EAGAIN, or anything: it is returned as it is,
     * never taken for "exhausted, wait", on bounded and unbounded pools
     * and on the shared path, where both kinds of pool build. */
    for (size_t max_live = 0; max_live < 2; max_live++) {
        bhooks g = {0};
        crew_objpool_config gcfg = bconfig(&g, max_live, 0);
        p = crew_objpool_create(&gcfg);
        CHECK(p != NULL);
        g.init_rc = EAGAIN;
        atomic_store(&g.fail_inits, 2);
        errno = 0;
        CHECKF(crew_objpool_acquire_at(p, CREW_OBJPOOL_SHARED) == NULL && errno == EAGAIN,
               "max_live %zu, errno %d", max_live, errno);
        errno = 0;
        later = deadline_ms(5000);
        CHECKF(crew_objpool_acquire_timed(p, &later) == NULL && errno == EAGAIN,
               "max_live %zu, errno %d", max_live, errno);
        CHECK((x = crew_objpool_acquire(p)) != NULL);
        crew_objpool_release(p, x);
        crew_objpool_destroy(p);
        CHECK(g.inits == 1 && g.finis == 1);
    }

    /* No memory for the object: ENOMEM, and again the unit is back. */
    p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    crew_fault_inject_alloc(0); /* the first slab of nodes */
    errno = 0;
    x = crew_objpool_acquire(p);
    crew_fault_inject_alloc(-1);
    CHECK(x == NULL && errno == ENOMEM);
    crew_fault_inject_alloc(1); /* the slab works, the object's memory not */
    later = deadline_ms(5000);
    errno = 0;
    x = crew_objpool_acquire_timed(p, &later);
    crew_fault_inject_alloc(-1);
    CHECK(x == NULL && errno == ENOMEM);
    later = deadline_ms(5000);
    CHECK((x = crew_objpool_acquire_timed(p, &later)) != NULL);
    CHECK(h.alive_peak == 1);
    crew_objpool_release(p, x);
    crew_objpool_destroy(p);
    CHECK(h.inits == h.finis);
    return 0;
}

static void try_from_fini(bhooks *h, bobj *o)
{
    (void)o;
    struct timespec past = deadline_ms(-1);
    errno = 0;
    void *x = crew_objpool_acquire_timed(h->pool, &past);
    h->fini_nested_rc = x == NULL ? errno : 0;
    if (x != NULL)
        crew_objpool_release(h->pool, x);
}

int validate_runs_on_reuse_only_and_a_rejected_object_is_finalized(void)
{
    /* Every path an idle object is reused from: the calling thread's
     * cache (max_live 0), a slot's cache, the shared stack, and a
     * max_live pool (the shared stack too). */
    for (int mode = 0; mode < 4; mode++) {
        bhooks h = {0};
        crew_objpool_config cfg = bconfig(&h, mode == 3 ? 3 : 0, 0);
        crew_objpool *p = crew_objpool_create_slots(&cfg, mode == 1 ? 1 : 0);
        CHECK(p != NULL);
        unsigned slot = mode == 1 ? 0 : CREW_OBJPOOL_SHARED;
        int pub = mode == 0 || mode == 3;
#define ACQ() (pub ? crew_objpool_acquire(p) : crew_objpool_acquire_at(p, slot))
#define REL(o) (pub ? crew_objpool_release(p, o) : crew_objpool_release_at(p, slot, o))
        bobj *o[3];
        for (int i = 0; i < 3; i++)
            CHECK((o[i] = ACQ()) != NULL);
        CHECKF(h.validates == 0, "mode %d: validate ran on new objects", mode);
        unsigned bad_id = o[1]->id;
        o[1]->bad = 1;
        for (int i = 0; i < 3; i++)
            REL(o[i]);
        CHECK(check_stats(p, 3, 0, 0, 3) == 0);
        for (int i = 0; i < 3; i++) {
            CHECK((o[i] = ACQ()) != NULL);
            CHECKF(o[i]->id != bad_id, "mode %d: the rejected object came back", mode);
        }
        CHECKF(h.validates == 3 && h.rejects == 1 && h.finis == 1 && h.inits == 4,
               "mode %d: validates %ld rejects %ld finis %ld inits %ld", mode,
               (long)h.validates, (long)h.rejects, (long)h.finis, (long)h.inits);
        CHECK(check_stats(p, 4, 2, 1, 0) == 0);
        for (int i = 0; i < 3; i++)
            REL(o[i]);
        CHECK(check_stats(p, 4, 2, 1, 3) == 0);
        /* All idle objects rejected: a new one is built. */
        for (int i = 0; i < 3; i++)
            CHECK((o[i] = ACQ()) != NULL);
        for (int i = 0; i < 3; i++) {
            o[i]->bad = 1;
            REL(o[i]);
        }
        bobj *x = ACQ();
        CHECK(x != NULL && x->id == 5);
        CHECKF(h.rejects == 4 && h.finis == 4, "mode %d: rejects %ld finis %ld", mode,
               (long)h.rejects, (long)h.finis);
        CHECK(check_stats(p, 5, 5, 4, 0) == 0);
        REL(x);
#undef ACQ
#undef REL
        crew_objpool_destroy(p);
        CHECK(h.inits == h.finis && h.alive_peak <= 3);
    }
    return 0;
}

int max_live_counts_an_object_until_its_fini_has_returned(void)
{
    bhooks h = {0};
    crew_objpool_config cfg = bconfig(&h, 1, 0);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    h.pool = p;
    bobj *x = crew_objpool_acquire(p);
    CHECK(x != NULL);
    x->bad = 1;
    crew_objpool_release(p, x);
    /* The reuse rejects x: during its fini the pool is still full (a try
     * from inside it times out), and after it a new object is built. */
    h.on_fini = try_from_fini;
    h.fini_nested_rc = -1;
    bobj *y = crew_objpool_acquire(p);
    h.on_fini = NULL;
    CHECK(y != NULL && y->id == 2);
    CHECKF(h.fini_nested_rc == ETIMEDOUT, "a try inside fini got %d",
           h.fini_nested_rc);
    CHECK(h.alive_peak == 1);
    crew_objpool_release(p, y);
    crew_objpool_destroy(p);
    return 0;
}

/* ---- the config ---- */

/* 0.1's crew_objpool_config, as its header declared it. */
typedef struct objpool_config_0_1 {
    size_t obj_size;
    size_t max_idle;
    int (*init)(void *obj, void *ctx);
    void (*reset)(void *obj, void *ctx);
    void (*fini)(void *obj, void *ctx);
    void *ctx;
} objpool_config_0_1;

int the_config_grows_at_its_end_and_0_1_initializers_mean_unbounded(void)
{
    /* 0.1's fields keep their places; the new ones come after them. */
    CHECK(offsetof(crew_objpool_config, obj_size) == offsetof(objpool_config_0_1, obj_size));
    CHECK(offsetof(crew_objpool_config, max_idle) == offsetof(objpool_config_0_1, max_idle));
    CHECK(offsetof(crew_objpool_config, init) == offsetof(objpool_config_0_1, init));
    CHECK(offsetof(crew_objpool_config, reset) == offsetof(objpool_config_0_1, reset));
    CHECK(offsetof(crew_objpool_config, fini) == offsetof(objpool_config_0_1, fini));
    CHECK(offsetof(crew_objpool_config, ctx) == offsetof(objpool_config_0_1, ctx));
    CHECK(offsetof(crew_objpool_config, max_live) >= sizeof(objpool_config_0_1));
    CHECK(offsetof(crew_objpool_config, validate) > offsetof(crew_objpool_config, max_live));
    CHECK(sizeof(crew_objpool_config) ==
          offsetof(crew_objpool_config, validate) + sizeof(int (*)(void *, void *)));

    /* 0.1's ways of filling it: designated fields only, and positional
     * (which -Wextra flags as missing initializers, hence the pragma).
     * Both leave max_live 0 and validate NULL: unbounded, no check. */
    hooks h = {0};
    crew_objpool_config designated = {.obj_size = sizeof(tracked),
                                      .max_idle = 0,
                                      .init = tracked_init,
                                      .reset = tracked_reset,
                                      .fini = tracked_fini,
                                      .ctx = &h};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
    crew_objpool_config positional = {sizeof(tracked), 0, tracked_init, tracked_reset,
                                      tracked_fini, &h};
#pragma GCC diagnostic pop
    const crew_objpool_config *cfgs[2] = {&designated, &positional};
    for (int k = 0; k < 2; k++) {
        CHECK(cfgs[k]->max_live == 0 && cfgs[k]->validate == NULL);
        crew_objpool *p = crew_objpool_create(cfgs[k]);
        CHECK(p != NULL);
        enum { N = 200 };
        static void *o[N];
        for (int i = 0; i < N; i++) {
            struct timespec past = deadline_ms(-1);
            CHECK((o[i] = crew_objpool_acquire_timed(p, &past)) != NULL);
        }
        for (int i = 0; i < N; i++)
            crew_objpool_release(p, o[i]);
        crew_objpool_destroy(p);
    }
    CHECK(h.inits == 2 * 200 && h.finis == 2 * 200);
    return 0;
}
