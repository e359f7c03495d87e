/* The Boost.Asio peer of crew-bench (peers/asio.cpp, C++; built only when
 * Meson finds Boost's headers (Debian: libboost-dev) and a C++ compiler of
 * the C compiler's family, which defines CREW_BENCH_HAVE_ASIO). The C
 * workloads reach Asio through this C interface only.
 *
 * A pool is a boost::asio::thread_pool of `workers` threads; a strand is
 * boost::asio::make_strand of that pool's executor, the serial queue Asio
 * offers: handlers posted to one strand run one at a time, in order, on
 * the pool's threads. Posting is boost::asio::post(strand, handler), from
 * any thread, without joining the pool.
 *
 * Every function catches what Asio throws: an error is a return value. */
#ifndef CREW_BENCH_PEER_ASIO_H
#define CREW_BENCH_PEER_ASIO_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct peer_asio_pool peer_asio_pool;
typedef struct peer_asio_strand peer_asio_strand;

/* NULL on failure. */
peer_asio_pool *peer_asio_pool_create(unsigned workers);
/* Waits for the pool's queued handlers (thread_pool::join), then frees
 * it. Its strands must be destroyed first. NULL: nothing. */
void peer_asio_pool_destroy(peer_asio_pool *p);

/* NULL on failure. */
peer_asio_strand *peer_asio_strand_create(peer_asio_pool *p);
/* fn(arg) on the strand: 0, or ENOMEM (Asio threw). Any thread. */
int peer_asio_strand_post(peer_asio_strand *s, void *(*fn)(void *), void *arg);
/* After its handlers have run. NULL: nothing. */
void peer_asio_strand_destroy(peer_asio_strand *s);

#ifdef __cplusplus
}
#endif

#endif
