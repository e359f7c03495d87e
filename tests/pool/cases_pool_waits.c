/* Suite `pool`, several threads: acquirers of an exhausted max_live pool
 * sleep without spinning and are woken, no wake-up is lost (the window
 * between the failed try and the announcement, opened on purpose by the
 * wait hook; releases back to back; room made by rejections and failed
 * builds), and the bound holds under contention. */
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
