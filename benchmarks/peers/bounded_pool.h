/* The bounded object pool crew-bench races crew's max_live pool against:
 * what a C program writes without crew. One mutex guards a stack of idle
 * objects and the count of objects alive; an acquirer that finds no idle
 * object and max_live alive waits on one condition variable; a release
 * pushes its object and signals one waiter, if any waits. New objects are
 * malloc'ed outside the lock. Like crew's pool it lets a newcomer take a
 * released object before a woken waiter does (a mutex and condvar give no
 * hand-off either). */
#ifndef CREW_BENCH_PEER_BOUNDED_POOL_H
#define CREW_BENCH_PEER_BOUNDED_POOL_H

#include <stddef.h>

typedef struct peer_bounded_pool peer_bounded_pool;

/* NULL + errno (EINVAL for max_live 0 or obj_size 0, ENOMEM). */
peer_bounded_pool *peer_bounded_pool_create(size_t obj_size, size_t max_live);
/* An object (idle or new); waits while max_live are alive and none is
 * idle. NULL + ENOMEM. Any thread. */
void *peer_bounded_pool_acquire(peer_bounded_pool *p);
/* Any thread; obj came from p. */
void peer_bounded_pool_release(peer_bounded_pool *p, void *obj);
/* Objects ever built (at most max_live: none is ever freed before destroy). */
size_t peer_bounded_pool_built(peer_bounded_pool *p);
/* Every object released first. Frees them all. */
void peer_bounded_pool_destroy(peer_bounded_pool *p);

#endif
