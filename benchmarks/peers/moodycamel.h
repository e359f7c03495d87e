/* The moodycamel peer of crew-bench (peers/moodycamel.cpp, C++; built only
 * when Meson finds Debian's libconcurrentqueue-dev headers and a C++
 * compiler of the C compiler's family, which defines
 * CREW_BENCH_HAVE_MOODYCAMEL). A thread pool over moodycamel's lock-free
 * queue, the one C++ users pick: W worker threads take tasks from one
 * moodycamel::BlockingConcurrentQueue, each with its own consumer token,
 * and sleep in its wait_dequeue when the queue is empty (the queue's own
 * semaphore: a short spin, then the OS semaphore, as crew's workers spin
 * spin_us before they sleep on a futex). Each producer posts through its
 * own producer token (the queue's fastest enqueue). A task is crew's
 * shape, void *fn(void *); a post allocates nothing once the queue's
 * blocks have grown to the run's size (the queue reuses them).
 *
 * Every function catches what the queue throws: an error is a return
 * value. */
#ifndef CREW_BENCH_PEER_MOODYCAMEL_H
#define CREW_BENCH_PEER_MOODYCAMEL_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct peer_mc_pool peer_mc_pool;

/* workers threads and `producers` producer tokens; NULL on failure. */
peer_mc_pool *peer_mc_pool_create(unsigned workers, unsigned producers);
/* Enqueues fn(arg) through producer k's token; only producer k's thread
 * may use k at a time. 0, or ENOMEM. */
int peer_mc_pool_post(peer_mc_pool *p, unsigned producer, void *(*fn)(void *), void *arg);
/* Stops and joins the workers, frees the pool. Call it once every task
 * posted has run (the stop tasks are behind this thread's posts only).
 * NULL: nothing. */
void peer_mc_pool_destroy(peer_mc_pool *p);

#ifdef __cplusplus
}
#endif

#endif
