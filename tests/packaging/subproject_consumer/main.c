/* The outside project's program: a parallel sum and a submitted task on a
 * crew built as its subproject. */
#include <crew.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void *answer(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)42;
}

static void add_range(size_t begin, size_t end, void *acc, void *arg)
{
    (void)arg;
    for (size_t i = begin; i < end; i++)
        *(uint64_t *)acc += i;
}

static void add(void *acc, const void *right, void *arg)
{
    (void)arg;
    *(uint64_t *)acc += *(const uint64_t *)right;
}

int main(void)
{
    enum { N = 100000 };
    crew_pool *pool = crew_pool_create(NULL);
    if (pool == NULL) {
        perror("crew_pool_create");
        return 1;
    }
    uint64_t zero = 0, sum = 0;
    int rc = crew_parallel_reduce(pool, 0, N, 1000, sizeof sum, &zero, add_range, add, NULL, &sum);

    void *r = NULL;
    crew_future *f = crew_submit(pool, answer, NULL);
    int frc = f == NULL ? -1 : crew_future_wait(f, &r);
    if (f != NULL)
        crew_future_release(f);
    crew_pool_destroy(pool);

    int ok = rc == 0 && sum == (uint64_t)N * (N - 1) / 2 && frc == 0 && (intptr_t)r == 42 &&
             strcmp(crew_version(), CREW_VERSION_STRING) == 0;
    printf("subproject consumer: crew %s, sum %llu, %s\n", crew_version(),
           (unsigned long long)sum, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
