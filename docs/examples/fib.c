/* docs/guide: fork-join with spawn and sync (docs/api.md's example). */
#include <crew.h>
#include <stdint.h>
#include <stdio.h>

static void *fib(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (n < 2)
        return arg;
    crew_task t;                                     /* on the stack: no malloc */
    crew_spawn(&t, fib, (void *)(intptr_t)(n - 1));  /* thieves may take it */
    long b = (long)(intptr_t)fib((void *)(intptr_t)(n - 2));
    long a = (long)(intptr_t)crew_sync(&t);          /* runs it here if nobody did */
    return (void *)(intptr_t)(a + b);
}

int main(void)
{
    crew_pool *pool = crew_pool_create(NULL);
    if (pool == NULL)
        return 1;
    void *r;
    if (crew_run(pool, fib, (void *)(intptr_t)30, &r) != 0)
        return 1;
    printf("fib(30) = %ld\n", (long)(intptr_t)r);
    crew_pool_destroy(pool);
    return (long)(intptr_t)r == 832040 ? 0 : 1;
}
