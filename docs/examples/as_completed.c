/* docs/guide: futures that compose: take results in the order they finish
 * (crew_completion, Python's as_completed), run a callback when a future
 * is done (crew_future_on_done), and wait for the first or for all of
 * several (crew_future_wait_any, crew_future_wait_all). */
#include <crew.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static void *slow_square(void *arg) /* a "request" that takes 10 - x ms */
{
    intptr_t x = (intptr_t)arg;
    struct timespec ts = {0, (long)(10 - x) * 1000000L};
    nanosleep(&ts, NULL);
    return (void *)(x * x);
}

static atomic_int finished;

static void count_finished(crew_future *f, void *ctx) /* once per future, when done */
{
    (void)ctx;
    if (crew_future_wait(f, NULL) == 0) /* done: returns at once */
        atomic_fetch_add(&finished, 1);
}

static struct timespec in_ms(long ms) /* an absolute CLOCK_REALTIME deadline */
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

int main(void)
{
    crew_pool *pool = crew_pool_create(NULL);
    crew_completion *done = crew_completion_create();
    if (pool == NULL || done == NULL)
        return 1;

    enum { N = 10 };
    for (intptr_t i = 0; i < N; i++) {
        crew_future *f = crew_submit(pool, slow_square, (void *)i);
        if (f == NULL || crew_completion_add(done, f) != 0 ||
            crew_future_on_done(f, count_finished, NULL) != 0)
            return 1;
        crew_future_release(f); /* the queue keeps its own reference */
    }

    long total = 0;
    int taken = 0;
    crew_future *f;
    while (crew_completion_next(done, NULL, &f) == 0) { /* ENOENT: all handed out */
        void *r = NULL;
        if (crew_future_wait(f, &r) == 0) /* it is done: no waiting */
            total += (intptr_t)r;
        printf("%s%ld", taken++ ? " " : "finished first: ", (long)(intptr_t)r);
        crew_future_release(f); /* next handed us the queue's reference */
    }
    printf("\n");
    crew_completion_destroy(done);

    /* The first of several to finish, with a deadline; then all of them. */
    crew_future *fs[3];
    for (int i = 0; i < 3; i++)
        if ((fs[i] = crew_submit(pool, slow_square, (void *)(intptr_t)(7 + i))) == NULL)
            return 1;
    struct timespec deadline = in_ms(2000);
    size_t first;
    int any = crew_future_wait_any(fs, 3, &deadline, &first); /* 0 or ETIMEDOUT */
    int all = crew_future_wait_all(fs, 3, NULL);
    for (int i = 0; i < 3; i++)
        crew_future_release(fs[i]);

    crew_pool_destroy(pool); /* every callback has run by now */
    printf("sum = %ld, callbacks = %d, wait_any: %s (index %zu), wait_all: %d\n", total,
           atomic_load(&finished), any == 0 ? "0" : "ETIMEDOUT", any == 0 ? first : 0, all);
    return total == 285 && taken == N && atomic_load(&finished) == N && any == 0 && first < 3 &&
                   all == 0
               ? 0
               : 1;
}
