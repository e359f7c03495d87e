/* docs/choosing.md: pinning each worker to its own CPU from
 * on_worker_start, for a pool that owns the machine (or its affinity
 * mask). Worker i gets the i-th CPU the process may run on. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* CPU_SET, sched_getcpu, pthread_setaffinity_np */
#endif
#include <crew.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

typedef struct pinning {
    cpu_set_t allowed;  /* the process's mask, read before the pool starts */
    int cpu_of[CPU_SETSIZE];
    atomic_int failed;
} pinning;

/* The n-th CPU of a mask (n < CPU_COUNT). */
static int nth_cpu(const cpu_set_t *set, unsigned n)
{
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, set) && n-- == 0)
            return cpu;
    return -1;
}

static void pin_worker(unsigned index, void *ctx) /* runs in worker `index` */
{
    pinning *p = ctx;
    int cpu = nth_cpu(&p->allowed, index % (unsigned)CPU_COUNT(&p->allowed));
    p->cpu_of[index] = cpu;
    cpu_set_t one;
    CPU_ZERO(&one);
    if (cpu >= 0)
        CPU_SET(cpu, &one);
    if (cpu < 0 || pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0)
        atomic_store(&p->failed, 1);
}

static int check(size_t begin, size_t end, void *arg) /* each piece: on its CPU? */
{
    const pinning *p = arg;
    (void)begin;
    (void)end;
    return sched_getcpu() == p->cpu_of[crew_worker_index()] ? 0 : -1;
}

int main(void)
{
    static pinning p;
    if (sched_getaffinity(0, sizeof p.allowed, &p.allowed) != 0)
        return 1;
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 0;                    /* one per CPU of the mask */
    cfg.on_worker_start = pin_worker;
    cfg.ctx = &p;
    crew_pool *pool = crew_pool_create(&cfg);
    if (pool == NULL)
        return 1;
    int rc = crew_parallel_for(pool, 0, 100000, 100, check, &p);
    printf("%u workers pinned, one per CPU: %s\n", crew_pool_workers(pool),
           rc == 0 && !atomic_load(&p.failed) ? "yes" : "no");
    crew_pool_destroy(pool);
    return rc == 0 && !atomic_load(&p.failed) ? 0 : 1;
}
