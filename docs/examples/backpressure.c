/* docs/guide.md, part 1: a bounded queue. With block_when_full false a
 * full queue refuses work (EAGAIN) and the producer decides what to do;
 * with block_when_full true the producer waits for room. A gate task holds
 * the only worker, so the queue fills deterministically. */
#include <crew.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

enum { LIMIT = 4 };

static atomic_int gate_open, gate_entered;
static atomic_long done_count;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits (at most about 10 s) until *flag reaches want. */
static bool wait_for(atomic_int *flag, int want)
{
    for (int i = 0; i < 10000 && atomic_load(flag) < want; i++)
        sleep_ms(1);
    return atomic_load(flag) >= want;
}

static void *gate(void *arg) /* holds its worker until the gate opens */
{
    (void)arg;
    atomic_store(&gate_entered, 1);
    while (!atomic_load(&gate_open))
        sleep_ms(1);
    return NULL;
}

static void *count_one(void *arg)
{
    (void)arg;
    atomic_fetch_add(&done_count, 1);
    return NULL;
}

static crew_pool *one_worker_pool(bool block_when_full)
{
    crew_config cfg;
    crew_config_default(&cfg);
    cfg.workers = 1;
    cfg.queue_limit = LIMIT;              /* at most 4 outside submissions waiting */
    cfg.block_when_full = block_when_full;
    return crew_pool_create(&cfg);
}

/* A producer thread for the blocking pool: posts 2 * LIMIT tasks. */
typedef struct producer {
    crew_pool *pool;
    atomic_int accepted;
    int rc;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    for (int i = 0; i < 2 * LIMIT; i++) {
        p->rc = crew_post(p->pool, count_one, NULL); /* waits while the queue is full */
        if (p->rc != 0)
            return NULL;
        atomic_fetch_add(&p->accepted, 1);
    }
    return NULL;
}

int main(void)
{
    /* 1. block_when_full = false: the fifth waiting task is refused. */
    crew_pool *pool = one_worker_pool(false);
    if (pool == NULL || crew_post(pool, gate, NULL) != 0 || !wait_for(&gate_entered, 1))
        return 1;
    long ran_here = 0;
    int refused = 0;
    for (int i = 0; i < 3 * LIMIT; i++) {
        int rc = crew_post(pool, count_one, NULL);
        if (rc == EAGAIN) {   /* full: here the producer runs the task itself */
            refused++;
            count_one(NULL);
            ran_here++;
        } else if (rc != 0) {
            return 1;         /* ESHUTDOWN, ENOMEM, EINVAL */
        }
    }
    printf("bounded, non-blocking: %d accepted, %d refused with EAGAIN\n", 3 * LIMIT - refused,
           refused);
    atomic_store(&gate_open, 1);
    crew_pool_destroy(pool);  /* runs what was accepted, then joins */
    if (refused != 2 * LIMIT || ran_here != 2 * LIMIT || atomic_load(&done_count) != 3 * LIMIT)
        return 1;

    /* 2. block_when_full = true: the producer waits instead. */
    atomic_store(&gate_open, 0);
    atomic_store(&gate_entered, 0);
    atomic_store(&done_count, 0);
    pool = one_worker_pool(true);
    if (pool == NULL || crew_post(pool, gate, NULL) != 0 || !wait_for(&gate_entered, 1))
        return 1;
    producer p = {.pool = pool};
    pthread_t t;
    if (pthread_create(&t, NULL, produce, &p) != 0)
        return 1;
    /* The queue takes LIMIT tasks; the next crew_post blocks while the
     * gate holds the worker, so the count stays at LIMIT. */
    if (!wait_for(&p.accepted, LIMIT))
        return 1;
    sleep_ms(20);
    int stuck_at = atomic_load(&p.accepted);
    atomic_store(&gate_open, 1);  /* the worker drains the queue, the producer goes on */
    pthread_join(t, NULL);
    crew_pool_destroy(pool);
    printf("bounded, blocking: producer waited at %d, then posted all %d\n", stuck_at,
           atomic_load(&p.accepted));
    return stuck_at == LIMIT && p.rc == 0 && atomic_load(&done_count) == 2 * LIMIT ? 0 : 1;
}
