/* The libuv peer of crew-bench (peers/uv.c; built only when Meson finds
 * libuv, which defines CREW_BENCH_HAVE_UV): libuv's thread pool, reached
 * the only way libuv offers, uv_queue_work on an event loop.
 *
 * libuv's pool is one per process, shared by every loop, sized once from
 * UV_THREADPOOL_SIZE when the first work is queued: peer_uv_init(W) sets
 * it first. A request is queued from its loop's thread only, and its
 * completion callback runs on that thread inside uv_run; so the thread
 * that posts is the loop's thread: it posts, then drains (runs the loop
 * until every completion it is owed has run). Each post uses one of the
 * loop's preallocated requests (libuv's requests are the caller's
 * memory); a drain makes them all free again. Tasks have crew's shape,
 * void *fn(void *); their return value is dropped. */
#ifndef CREW_BENCH_PEER_UV_H
#define CREW_BENCH_PEER_UV_H

/* Sizes libuv's pool to `workers` threads (UV_THREADPOOL_SIZE, replacing
 * any value from the environment); before any loop exists. 0, or EINVAL
 * (0 workers, more than libuv's 1024), or EBUSY (a loop exists already). */
int peer_uv_init(unsigned workers);

typedef struct peer_uv_loop peer_uv_loop;

/* A loop with `capacity` requests, their pages touched (untimed). NULL
 * and errno on failure. Use it from one thread at a time. */
peer_uv_loop *peer_uv_loop_create(long capacity);

/* Queues fn(arg) on the pool (uv_queue_work). 0, or ENOSPC (every
 * request is in flight: drain first), or libuv's error as a positive
 * errno value. */
int peer_uv_post(peer_uv_loop *l, void *(*fn)(void *), void *arg);

/* Runs the loop until the completion callback of every posted request
 * has run (uv_run, UV_RUN_DEFAULT). 0, or EIO: a request was cancelled,
 * or completed twice, or not at all. */
int peer_uv_drain(peer_uv_loop *l);

/* Drains, closes the loop, frees it. */
void peer_uv_loop_destroy(peer_uv_loop *l);

#endif
