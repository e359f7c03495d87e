/* Suite `pool`: the bounds new in 0.2 (API.md, "Object pool bounds"):
 * max_live (never more objects alive; acquire sleeps while the pool is
 * exhausted, without spinning and without losing a wake-up),
 * crew_objpool_acquire_timed (deadlines, tries, every error value),
 * validate (run on reuse only; a rejected object is finalized and the
 * acquire goes on), and the config's growth at its end. */
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
#include "pool_tracked.h"

/* ---- objects that count themselves ---- */

typedef struct bobj {
    unsigned id;      /* from init: distinct for every object built */
    int bad;          /* validate rejects it on its next reuse */
    _Atomic int held; /* set by atomic exchange on every acquire */
} bobj;

typedef struct bhooks {
    size_t max_live;
    /* The test's own count of objects alive: up when init succeeds, down
     * when fini starts (so within the pool's own, which spans both). */
    _Atomic long alive, alive_peak;
    _Atomic long held, held_peak; /* acquired and not yet released */
    _Atomic long inits, finis, validates, rejects, double_holds;
    _Atomic long fail_inits; /* the next this many inits fail, with init_rc */
    int init_rc;
    _Atomic unsigned next_id;
    /* Optional: runs inside fini (tests that call the pool from there). */
    void (*on_fini)(struct bhooks *h, bobj *o);
    crew_objpool *pool;
    int fini_nested_rc; /* what on_fini saw */
    /* Optional: blocks the init of the object numbered block_id until
     * `go` is set (1: succeed, 2: fail). */
    unsigned block_id;
    _Atomic int in_init, go;
} bhooks;

static void raise_peak(_Atomic long *peak, long v)
{
    long cur = atomic_load(peak);
    while (v > cur && !atomic_compare_exchange_weak(peak, &cur, v))
        ;
}

static void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int bobj_init(void *obj, void *ctx)
{
    bhooks *h = ctx;
    long left = atomic_load(&h->fail_inits);
    while (left > 0)
        if (atomic_compare_exchange_weak(&h->fail_inits, &left, left - 1))
            return h->init_rc;
    bobj *o = obj;
    o->id = atomic_fetch_add(&h->next_id, 1) + 1;
    if (h->block_id != 0 && o->id == h->block_id) {
        atomic_store(&h->in_init, 1);
        for (int i = 0; i < 5000 && atomic_load(&h->go) == 0; i++)
            nap_us(1000);
        if (atomic_load(&h->go) != 1)
            return h->init_rc;
    }
    o->bad = 0;
    atomic_init(&o->held, 0);
    raise_peak(&h->alive_peak, atomic_fetch_add(&h->alive, 1) + 1);
    atomic_fetch_add(&h->inits, 1);
    return 0;
}

static void bobj_fini(void *obj, void *ctx)
{
    bhooks *h = ctx;
    if (h->on_fini != NULL)
        h->on_fini(h, obj);
    atomic_fetch_sub(&h->alive, 1);
    atomic_fetch_add(&h->finis, 1);
}

static int bobj_validate(void *obj, void *ctx)
{
    bhooks *h = ctx;
    bobj *o = obj;
    atomic_fetch_add(&h->validates, 1);
    if (o->bad) {
        atomic_fetch_add(&h->rejects, 1);
        return 1;
    }
    return 0;
}

static crew_objpool_config bconfig(bhooks *h, size_t max_live, size_t max_idle)
{
    h->max_live = max_live;
    crew_objpool_config cfg = {
        .obj_size = sizeof(bobj),
        .max_idle = max_idle,
        .init = bobj_init,
        .fini = bobj_fini,
        .ctx = h,
        .max_live = max_live,
        .validate = bobj_validate,
    };
    return cfg;
}

/* Marks o held (0 if somebody held it already) and counts it. */
static int take(bhooks *h, bobj *o)
{
    if (atomic_exchange(&o->held, 1) != 0) {
        atomic_fetch_add(&h->double_holds, 1);
        return 0;
    }
    raise_peak(&h->held_peak, atomic_fetch_add(&h->held, 1) + 1);
    return 1;
}

static void give(crew_objpool *p, bhooks *h, bobj *o)
{
    atomic_fetch_sub(&h->held, 1);
    atomic_store(&o->held, 0);
    crew_objpool_release(p, o);
}

/* CLOCK_REALTIME in ms from now (negative: in the past). */
static struct timespec deadline_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = (long long)ts.tv_nsec + (long long)ms * 1000000LL;
    long long sec = ns / 1000000000LL;
    ns %= 1000000000LL;
    if (ns < 0) {
        ns += 1000000000LL;
        sec--;
    }
    ts.tv_sec += (time_t)sec;
    ts.tv_nsec = (long)ns;
    return ts;
}

static int realtime_reached(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > t->tv_sec ||
           (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Polls until p has `want` sleepers, for at most 10 s; 1 when it got there. */
static int await_waiters(crew_objpool *p, unsigned want)
{
    for (int i = 0; i < 10000; i++) {
        if (crew_objpool_waiters(p) == want)
            return 1;
        nap_us(1000);
    }
    return 0;
}

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

/* ---- sleeping and waking ---- */

typedef struct sleeper {
    pthread_t tid;
    crew_objpool *p;
    bhooks *h;
    int timed;          /* acquire_timed with a far deadline, else acquire */
    bobj *got;
    int err;
    _Atomic int done;
} sleeper;

static void *sleeper_main(void *arg)
{
    sleeper *s = arg;
    errno = 0;
    if (s->timed) {
        struct timespec far = deadline_ms(20000);
        s->got = crew_objpool_acquire_timed(s->p, &far);
    } else {
        s->got = crew_objpool_acquire(s->p);
    }
    s->err = s->got == NULL ? errno : 0;
    atomic_store(&s->done, 1);
    return NULL;
}

static double thread_cpu_s(pthread_t t)
{
    clockid_t id;
    struct timespec ts;
    if (pthread_getcpuclockid(t, &id) != 0 || clock_gettime(id, &ts) != 0)
        return -1;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int acquire_sleeps_without_spinning_until_a_release_wakes_it(void)
{
    for (int timed = 0; timed < 2; timed++) {
        bhooks h = {0};
        crew_objpool_config cfg = bconfig(&h, 2, 0);
        crew_objpool *p = crew_objpool_create(&cfg);
        CHECK(p != NULL);
        bobj *a = crew_objpool_acquire(p), *b = crew_objpool_acquire(p);
        CHECK(a != NULL && b != NULL);
        sleeper s = {.p = p, .h = &h, .timed = timed};
        CHECK(pthread_create(&s.tid, NULL, sleeper_main, &s) == 0);
        CHECK(await_waiters(p, 1));
        /* Asleep: it neither returns nor uses the processor meanwhile. */
        double cpu0 = thread_cpu_s(s.tid);
        nap_us(200000);
        double cpu1 = thread_cpu_s(s.tid);
        CHECK(atomic_load(&s.done) == 0);
        CHECKF(cpu0 >= 0 && cpu1 - cpu0 < 0.05,
               "the sleeping acquirer used %.3f s of CPU in 0.2 s", cpu1 - cpu0);
        crew_objpool_release(p, b);
        pthread_join(s.tid, NULL);
        CHECKF(s.got == b, "timed %d: got %p (errno %d), want the released %p", timed,
               (void *)s.got, s.err, (void *)b);
        CHECK(crew_objpool_waiters(p) == 0);
        crew_objpool_release(p, a);
        crew_objpool_release(p, b);
        crew_objpool_destroy(p);
        CHECK(h.inits == 2 && h.finis == 2);
    }
    return 0;
}

int releases_back_to_back_wake_as_many_sleepers(void)
{
    enum { K = 4 };
    bhooks h = {0};
    crew_objpool_config cfg = bconfig(&h, K, 0);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    bobj *o[K];
    for (int i = 0; i < K; i++)
        CHECK((o[i] = crew_objpool_acquire(p)) != NULL);
    sleeper s[K];
    for (int i = 0; i < K; i++) {
        s[i] = (sleeper){.p = p, .h = &h, .timed = 1};
        CHECK(pthread_create(&s[i].tid, NULL, sleeper_main, &s[i]) == 0);
    }
    CHECK(await_waiters(p, K));
    /* K releases in a row, each seeing K sleepers still counted: each
     * must wake one, so that all K get an object. */
    for (int i = 0; i < K; i++)
        crew_objpool_release(p, o[i]);
    int got = 0;
    for (int i = 0; i < K; i++) {
        pthread_join(s[i].tid, NULL);
        got += s[i].got != NULL;
    }
    CHECKF(got == K, "%d of %d sleepers got an object (the others timed out)", got, K);
    for (int i = 0; i < K; i++)
        crew_objpool_release(p, s[i].got);
    CHECK(h.inits == K);
    crew_objpool_destroy(p);
    return 0;
}

/* The lost wake-up's window, opened on purpose: between the try that
 * found the pool exhausted and the announcement, the hook makes an object
 * available. A waker then sees nobody announced and wakes nobody: only the
 * acquirer's own look after announcing finds it. */
typedef struct window {
    crew_objpool *p;
    bhooks *h;
    bobj *release_me;      /* a: release this object */
    sleeper *builder;      /* b: let this acquirer's init fail, and wait */
    int fired;
} window;

static void window_hook(crew_objpool *p, void *arg)
{
    window *w = arg;
    if (w->fired || p != w->p)
        return;
    w->fired = 1;
    if (w->release_me != NULL)
        crew_objpool_release(p, w->release_me);
    if (w->builder != NULL) {
        atomic_store(&w->h->go, 2);
        pthread_join(w->builder->tid, NULL);
    }
}

int an_object_freed_in_the_lost_wakeup_window_is_still_found(void)
{
    /* a: an object released in the window. */
    bhooks h = {0};
    crew_objpool_config cfg = bconfig(&h, 1, 0);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    bobj *x = crew_objpool_acquire(p);
    CHECK(x != NULL);
    window w = {.p = p, .h = &h, .release_me = x};
    crew_objpool_set_wait_hook(window_hook, &w);
    struct timespec later = deadline_ms(2000);
    errno = 0;
    bobj *y = crew_objpool_acquire_timed(p, &later);
    int err = errno;
    crew_objpool_set_wait_hook(NULL, NULL);
    CHECK(w.fired);
    CHECKF(y == x, "a release in the window was missed (errno %d)", err);
    crew_objpool_release(p, y);
    crew_objpool_destroy(p);

    /* b: a unit given back in the window (another acquirer's init fails). */
    bhooks g = {0};
    cfg = bconfig(&g, 1, 0);
    g.block_id = 1;
    g.init_rc = EIO;
    p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    sleeper b = {.p = p, .h = &g};
    CHECK(pthread_create(&b.tid, NULL, sleeper_main, &b) == 0);
    for (int i = 0; i < 10000 && !atomic_load(&g.in_init); i++)
        nap_us(1000);
    CHECK(atomic_load(&g.in_init));
    window v = {.p = p, .h = &g, .builder = &b};
    crew_objpool_set_wait_hook(window_hook, &v);
    later = deadline_ms(2000);
    errno = 0;
    y = crew_objpool_acquire_timed(p, &later);
    err = errno;
    crew_objpool_set_wait_hook(NULL, NULL);
    if (!v.fired) {
        atomic_store(&g.go, 2);
        pthread_join(b.tid, NULL);
    }
    CHECK(v.fired && b.got == NULL && b.err == EIO);
    CHECKF(y != NULL, "a unit given back in the window was missed (errno %d)", err);
    CHECK(g.alive_peak == 1);
    crew_objpool_release(p, y);
    crew_objpool_destroy(p);
    return 0;
}

int rejected_objects_and_failed_builds_make_room_for_sleepers(void)
{
    bhooks h = {0};
    crew_objpool_config cfg = bconfig(&h, 1, 0);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    bobj *x = crew_objpool_acquire(p);
    CHECK(x != NULL);
    sleeper s[2];
    for (int i = 0; i < 2; i++) {
        s[i] = (sleeper){.p = p, .h = &h, .timed = 1};
        CHECK(pthread_create(&s[i].tid, NULL, sleeper_main, &s[i]) == 0);
    }
    CHECK(await_waiters(p, 2));
    /* x goes back rejected: whoever pops it finalizes it (a unit back),
     * and the next build fails once (a unit back again): each must wake
     * a sleeper, so one ends with EIO and the other with a new object. */
    h.init_rc = EIO;
    atomic_store(&h.fail_inits, 1);
    x->bad = 1;
    crew_objpool_release(p, x);
    for (int i = 0; i < 2; i++)
        pthread_join(s[i].tid, NULL);
    int with_obj = (s[0].got != NULL) + (s[1].got != NULL);
    int with_eio = (s[0].err == EIO) + (s[1].err == EIO);
    CHECKF(with_obj == 1 && with_eio == 1, "errno %d and %d", s[0].err, s[1].err);
    bobj *y = s[0].got != NULL ? s[0].got : s[1].got;
    CHECK(y->id == 2 && h.rejects == 1 && h.alive_peak == 1);
    crew_objpool_release(p, y);
    crew_objpool_destroy(p);
    CHECK(h.inits == h.finis);
    return 0;
}

/* ---- under contention ---- */

enum { STRESS_THREADS = 6, STRESS_MAX_LIVE = 3 };

typedef struct stresser {
    pthread_t tid;
    crew_objpool *p;
    bhooks *h;
    long rounds;
    unsigned seed;
    long tries_failed, waits;
    char failure[160]; /* empty: none */
    _Atomic int done;
} stresser;

static void *stress_main(void *arg)
{
    stresser *t = arg;
    for (long i = 0; i < t->rounds && t->failure[0] == 0; i++) {
        unsigned r = next_rand(&t->seed);
        bobj *o;
        errno = 0;
        if (r % 4 == 0) {
            /* A try. */
            struct timespec past = deadline_ms(-1);
            o = crew_objpool_acquire_timed(t->p, &past);
            if (o == NULL) {
                if (errno != ETIMEDOUT)
                    snprintf(t->failure, sizeof t->failure, "a try failed with %d", errno);
                t->tries_failed++;
                continue;
            }
        } else if (r % 4 == 1) {
            /* A deadline far off: reaching it means a lost wake-up. */
            struct timespec far = deadline_ms(20000);
            o = crew_objpool_acquire_timed(t->p, &far);
        } else {
            o = crew_objpool_acquire(t->p);
        }
        if (o == NULL) {
            snprintf(t->failure, sizeof t->failure,
                     "an acquire failed with %d (a lost wake-up?)", errno);
            break;
        }
        if (!take(t->h, o)) {
            snprintf(t->failure, sizeof t->failure, "an object had two holders");
            break;
        }
        /* Now and then a connection breaks: validate rejects it later. */
        if ((r >> 8) % 16 == 0)
            o->bad = 1;
        if ((r >> 12) % 4 == 0)
            sched_yield();
        give(t->p, t->h, o);
    }
    atomic_store(&t->done, 1);
    return NULL;
}

int max_live_under_contention_keeps_the_bound_and_loses_no_wakeup(void)
{
    /* max_idle 2 below max_live 3: some releases free their object
     * (units back while others sleep); validate rejects broken ones. */
    bhooks h = {0};
    crew_objpool_config cfg = bconfig(&h, STRESS_MAX_LIVE, 2);
    crew_objpool *p = crew_objpool_create(&cfg);
    CHECK(p != NULL);
    static stresser t[STRESS_THREADS];
    long rounds = crew_scaled(12000, 2000);
    for (int i = 0; i < STRESS_THREADS; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].p = p;
        t[i].h = &h;
        t[i].rounds = rounds;
        t[i].seed = 77u + (unsigned)i * 7919u;
        CHECK(pthread_create(&t[i].tid, NULL, stress_main, &t[i]) == 0);
    }
    /* Every thread must finish: one left asleep while the others are done
     * would be a lost wake-up. Bounded: never wait for ever here. */
    int stuck = 0;
    struct timespec until = deadline_ms(30000);
    for (int i = 0; i < STRESS_THREADS; i++) {
        if (pthread_timedjoin_np(t[i].tid, NULL, &until) != 0)
            stuck++;
    }
    CHECKF(stuck == 0, "%d threads never finished (a lost wake-up), %u waiting", stuck,
           crew_objpool_waiters(p));
    long tries_failed = 0;
    for (int i = 0; i < STRESS_THREADS; i++) {
        CHECKF(t[i].failure[0] == 0, "thread %d: %s", i, t[i].failure);
        tries_failed += t[i].tries_failed;
    }
    fprintf(stderr,
            "max_live stress: %d threads x %ld rounds, built %ld, rejected %ld, "
            "tries that found the pool exhausted %ld, peak alive %ld held %ld\n",
            STRESS_THREADS, rounds, (long)h.inits, (long)h.rejects, tries_failed,
            (long)h.alive_peak, (long)h.held_peak);
    CHECKF(h.alive_peak <= STRESS_MAX_LIVE && h.held_peak <= STRESS_MAX_LIVE,
           "up to %ld objects alive and %ld held at once, max_live %d",
           (long)h.alive_peak, (long)h.held_peak, STRESS_MAX_LIVE);
    CHECK(h.double_holds == 0);
    CHECK(crew_objpool_waiters(p) == 0);
    crew_objpool_stats st;
    crew_objpool_stats_get(p, &st);
    CHECKF(st.created == (uint64_t)h.inits && st.freed == (uint64_t)h.finis &&
               st.idle == (uint64_t)(h.inits - h.finis),
           "created %llu freed %llu idle %llu; inits %ld finis %ld",
           (unsigned long long)st.created, (unsigned long long)st.freed,
           (unsigned long long)st.idle, (long)h.inits, (long)h.finis);
    crew_objpool_destroy(p);
    CHECK(h.inits == h.finis);
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
