/* Built at -O0 as C++11 and run by the cpp_examples suite: the typed
 * macros (<crew/typed.h>) in C++ with no optimization, inside task bodies
 * and outside them, on the main thread (outside every pool) and in a
 * pool. An earlier header referred, outside a body, to a function it
 * declared and never defined: the optimizer removed the reference, so only
 * an -O0 build failed, at link time. Returns 0 only if every result is
 * right. */
#include <crew.h>

#include <cstdio>

CREW_TASK(long, o0_fib, (long, n))
{
    if (n < 2)
        return n;
    CREW_SPAWN(o0_fib, n - 1);
    long b = CREW_CALL(o0_fib, n - 2);
    return CREW_SYNC(o0_fib) + b;
}

CREW_TASK(long, o0_fib_h, (long, n))
{
    if (n < 2)
        return n;
    crew_task t;
    CREW_SPAWN_TO(&t, o0_fib_h, n - 1);
    long b = CREW_CALL(o0_fib_h, n - 2);
    return CREW_SYNC_FROM(&t, o0_fib_h) + b;
}

CREW_VOID_TASK(o0_add, (long *, into), (long, v))
{
    __atomic_fetch_add(into, v, __ATOMIC_RELAXED);
}

int main()
{
    int bad = 0;
    /* Outside every pool and every body. */
    CREW_SPAWN(o0_fib, 15);
    crew_task t;
    CREW_SPAWN_TO(&t, o0_fib_h, 16);
    long sum = 0;
    CREW_SPAWN(o0_add, &sum, 5);
    CREW_SYNC(o0_add);
    long h = CREW_SYNC_FROM(&t, o0_fib_h);
    long f = CREW_SYNC(o0_fib);
    long c = CREW_CALL(o0_fib, 17) + o0_fib_h(18);
    if (f != 610 || h != 987 || sum != 5 || c != 1597 + 2584) {
        std::fprintf(stderr, "outside a pool: %ld %ld %ld %ld\n", f, h, sum, c);
        bad = 1;
    }
    /* In a pool. */
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 2;
    crew_pool *pool = crew_pool_create(&cfg);
    if (pool == nullptr)
        return 1;
    long r = 0, rh = 0;
    if (CREW_RUN(pool, o0_fib, &r, 22) != 0 || CREW_RUN(pool, o0_fib_h, &rh, 21) != 0 ||
        CREW_RUN(pool, o0_add, nullptr, &sum, 7) != 0 || r != 17711 || rh != 10946 ||
        sum != 12) {
        std::fprintf(stderr, "in a pool: %ld %ld %ld\n", r, rh, sum);
        bad = 1;
    }
    crew_pool_destroy(pool);
    return bad;
}
