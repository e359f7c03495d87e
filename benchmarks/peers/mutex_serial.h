/* The plain serial queue crew-bench races crew_serial_* with: a FIFO
 * guarded by a mutex, per queue, drained on a peer_mutex_pool (one mutex
 * and condition variable for the pool). A post locks the queue, appends,
 * and, if no drain is running or queued, marks one and posts it to the
 * pool; the drain pops and runs one task at a time (unlocked while it
 * runs) and, like crew's, goes back to the pool after 64 tasks if more are
 * queued. Tasks have crew's shape, void *fn(void *). */
#ifndef CREW_BENCH_PEER_MUTEX_SERIAL_H
#define CREW_BENCH_PEER_MUTEX_SERIAL_H

#include "peers/mutex_pool.h"

typedef struct peer_mutex_serial peer_mutex_serial;

/* NULL + errno (ENOMEM). */
peer_mutex_serial *peer_mutex_serial_create(peer_mutex_pool *pool);
/* 0, or ENOMEM (the FIFO could not grow, or the pool's). Any thread. */
int peer_mutex_serial_post(peer_mutex_serial *q, void *(*fn)(void *), void *arg);
/* After its tasks have run (and before its pool's destroy). */
void peer_mutex_serial_destroy(peer_mutex_serial *q);

#endif
