/* The classic thread pool crew-bench races: one FIFO queue guarded by one
 * mutex, workers blocked on one condition variable. A post locks, appends,
 * unlocks and signals one idle worker (libuv's threadpool does the same).
 * Tasks have crew's shape, void *fn(void *), so the same task runs on both. */
#ifndef CREW_BENCH_PEER_MUTEX_POOL_H
#define CREW_BENCH_PEER_MUTEX_POOL_H

typedef struct peer_mutex_pool peer_mutex_pool;

/* NULL + errno on failure (ENOMEM, EAGAIN: no threads). */
peer_mutex_pool *peer_mutex_pool_create(unsigned workers);
/* 0, or ENOMEM (the queue could not grow). Any thread. */
int peer_mutex_pool_post(peer_mutex_pool *p, void *(*fn)(void *), void *arg);
/* Runs what is queued, joins the workers, frees the pool. */
void peer_mutex_pool_destroy(peer_mutex_pool *p);

#endif
