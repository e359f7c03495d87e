/* A program from outside the tree: built by check_install.sh with
 *   cc consumer.c $(pkg-config --cflags --libs crew)
 * against an installed crew, and by the subproject test. It touches the
 * three ways in: submit (futures), spawn/sync, parallel_for. */
#include <crew.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void *square(void *arg)
{
    intptr_t x = (intptr_t)arg;
    return (void *)(x * x);
}

static void *fib(void *arg)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2)
        return arg;
    crew_task t;
    crew_spawn(&t, fib, (void *)(n - 1));
    intptr_t b = (intptr_t)fib((void *)(n - 2));
    intptr_t a = (intptr_t)crew_sync(&t);
    return (void *)(a + b);
}

static int mark(size_t begin, size_t end, void *arg)
{
    unsigned char *seen = arg;
    for (size_t i = begin; i < end; i++)
        seen[i]++;
    return 0;
}

int main(void)
{
    enum { N = 10000 };
    static unsigned char seen[N];
    int ok = 1;

    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 2;
    crew_pool *pool = crew_pool_create(&cfg);
    if (pool == NULL) {
        perror("crew_pool_create");
        return 1;
    }

    crew_future *f = crew_submit(pool, square, (void *)(intptr_t)12);
    void *r = NULL;
    if (f == NULL || crew_future_wait(f, &r) != 0 || (intptr_t)r != 144) {
        fprintf(stderr, "crew_submit: wrong result\n");
        ok = 0;
    }
    if (f != NULL)
        crew_future_release(f);

    if (crew_run(pool, fib, (void *)(intptr_t)20, &r) != 0 || (intptr_t)r != 6765) {
        fprintf(stderr, "crew_run(fib): wrong result\n");
        ok = 0;
    }

    memset(seen, 0, sizeof seen);
    if (crew_parallel_for(pool, 0, N, 0, mark, seen) != 0) {
        fprintf(stderr, "crew_parallel_for failed\n");
        ok = 0;
    }
    for (size_t i = 0; i < N; i++) {
        if (seen[i] != 1) {
            fprintf(stderr, "crew_parallel_for: index %zu seen %d times\n", i, seen[i]);
            ok = 0;
            break;
        }
    }

    if (crew_pool_destroy(pool) != 0)
        ok = 0;
    printf("consumer: crew %s, %s\n", crew_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
