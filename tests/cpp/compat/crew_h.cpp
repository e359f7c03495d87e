/* Compiled, not run, by the cpp_headers tests: <crew.h> in a C++
 * translation unit, as C++11, 14, 17 and 20, with g++ and clang++, at
 * -Wall -Wextra -pedantic-errors -Werror. The inline fast path is
 * instantiated (fib below), so its code is checked too, not only the
 * declarations; so are the typed macros' (<crew/typed.h>: a task, a void
 * task, every macro inside and outside a body). */
#include <crew.h>

#include <cstdint>

extern "C" void *compat_fib(void *arg);

void *compat_fib(void *arg)
{
    intptr_t n = reinterpret_cast<intptr_t>(arg);
    if (n < 2)
        return arg;
    crew_task t, u;
    crew_spawn(&t, compat_fib, reinterpret_cast<void *>(n - 1));
    crew_spawn(&u, compat_fib, reinterpret_cast<void *>(n - 2));
    intptr_t b = reinterpret_cast<intptr_t>(crew_sync_call(&u, compat_fib));
    intptr_t a = reinterpret_cast<intptr_t>(crew_sync(&t));
    return reinterpret_cast<void *>(a + b);
}

CREW_TASK(long, compat_tfib, (long, n))
{
    if (n < 2)
        return n;
    crew_task t;
    CREW_SPAWN(compat_tfib, n - 1);
    CREW_SPAWN_TO(&t, compat_tfib, n - 2);
    long b = CREW_SYNC_FROM(&t, compat_tfib) + CREW_CALL(compat_tfib, n - 3);
    return CREW_SYNC(compat_tfib) + b;
}

CREW_VOID_TASK(compat_store, (long *, into), (long, v))
{
    *into = v;
}

int compat_main();

int compat_main()
{
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 2;
    crew_pool *pool = crew_pool_create(&cfg);
    if (pool == nullptr)
        return 1;
    void *r = nullptr;
    int rc = crew_run(pool, compat_fib, reinterpret_cast<void *>(20), &r);
    crew_task t;
    crew_spawn_extern(&t, compat_fib, reinterpret_cast<void *>(3));
    crew_sync_extern(&t);
    long f = 0;
    rc |= CREW_RUN(pool, compat_tfib, &f, 20);
    rc |= CREW_RUN(pool, compat_store, nullptr, &f, compat_tfib(5));
    CREW_SPAWN(compat_store, &f, 1);
    CREW_SYNC(compat_store);
    crew_pool_destroy(pool);
    return rc;
}
