/* docs/guide: replacing raw threads or a mutex pool: submit, wait,
 * cancel, a bounded queue, shutdown. */
#include <crew.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

static void *square(void *arg)
{
    intptr_t x = (intptr_t)arg;
    return (void *)(x * x);
}

int main(void)
{
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 2;
    cfg.queue_limit = 1024;      /* backpressure: at most 1024 waiting */
    cfg.block_when_full = true;  /* a full queue makes crew_submit wait */
    crew_pool *pool = crew_pool_create(&cfg);
    if (pool == NULL)
        return 1;

    enum { N = 10000 };
    static crew_future *f[N];
    for (intptr_t i = 0; i < N; i++)
        if ((f[i] = crew_submit(pool, square, (void *)i)) == NULL)
            return 1;                     /* errno: ENOMEM, ESHUTDOWN, ... */

    long long total = 0;
    for (int i = 0; i < N; i++) {
        void *r;
        if (crew_future_wait(f[i], &r) == 0)  /* or ECANCELED */
            total += (intptr_t)r;
        crew_future_release(f[i]);            /* exactly once per future */
    }

    crew_pool_shutdown(pool, false);                  /* run what was accepted */
    int late = crew_post(pool, square, (void *)1);    /* refused now */
    printf("sum of squares = %lld, post after shutdown: %s\n", total,
           late == ESHUTDOWN ? "ESHUTDOWN" : "accepted?");
    crew_pool_destroy(pool);
    return total == (long long)(N - 1) * N * (2 * N - 1) / 6 && late == ESHUTDOWN ? 0 : 1;
}
