/* docs/guide.md, part 1: a configured pool. Worker count, thread names,
 * start and stop hooks, crew_worker_index, statistics, the version. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_getname_np */
#endif
#include <crew.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct hooks {
    atomic_uint started, stopped; /* one bit per worker index */
} hooks;

static void worker_start(unsigned index, void *ctx) /* in the new worker */
{
    hooks *h = ctx;
    atomic_fetch_or(&h->started, 1u << index);
}

static void worker_stop(unsigned index, void *ctx) /* in the exiting worker */
{
    hooks *h = ctx;
    atomic_fetch_or(&h->stopped, 1u << index);
}

/* Runs on a worker: its own name and index. */
static void *whoami(void *arg)
{
    char *name = arg;
    if (pthread_getname_np(pthread_self(), name, 16) != 0)
        strcpy(name, "?");
    return (void *)(intptr_t)crew_worker_index();
}

int main(void)
{
    printf("crew %s (header %s)\n", crew_version(), CREW_VERSION_STRING);
    if (strcmp(crew_version(), CREW_VERSION_STRING) != 0)
        return 1;

    hooks h = {0};
    crew_config cfg;
    crew_config_default(&cfg);  /* always first: sets cfg.size and the defaults */
    cfg.workers = 3;            /* 0 would mean: the CPUs this process may use */
    cfg.name = "indexer-pool";  /* threads "indexer-po-0", "indexer-po-1", ... */
    cfg.on_worker_start = worker_start;
    cfg.on_worker_stop = worker_stop;
    cfg.ctx = &h;
    crew_pool *pool = crew_pool_create(&cfg);
    if (pool == NULL) {
        perror("crew_pool_create"); /* errno: EINVAL, ENOMEM, EAGAIN */
        return 1;
    }
    if (crew_pool_workers(pool) != 3 || crew_worker_index() != -1)
        return 1;

    char name[16];
    void *index;
    if (crew_run(pool, whoami, name, &index) != 0)
        return 1;
    char expect[16];
    snprintf(expect, sizeof expect, "indexer-po-%d", (int)(intptr_t)index);
    printf("a task ran on worker %d, thread name \"%s\"\n", (int)(intptr_t)index, name);
    if (strcmp(name, expect) != 0)
        return 1;

    crew_stats s;
    crew_pool_stats(pool, &s);  /* sums over the workers; exact once quiet */
    printf("tasks_run %llu, injected %llu\n", (unsigned long long)s.tasks_run,
           (unsigned long long)s.injected);
    if (s.tasks_run != 1 || s.injected != 1)
        return 1;

    if (crew_pool_destroy(pool) != 0)
        return 1;
    /* Every worker ran both hooks, each once. */
    return atomic_load(&h.started) == 7 && atomic_load(&h.stopped) == 7 ? 0 : 1;
}
