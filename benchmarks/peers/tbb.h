/* The oneTBB peer of crew-bench (peers/tbb.cpp, C++; built only when Meson
 * finds oneTBB and a C++ compiler, which defines CREW_BENCH_HAVE_TBB).
 * The C workloads reach oneTBB through this C interface only.
 *
 * Threads: a workload asks for an arena of W threads with
 * peer_tbb_prepare(W) before it starts its clock. peer_tbb_execute(W, ...)
 * then runs a function inside that arena: the calling thread joins it
 * (task_arena::execute), so W threads in all work on it, the caller
 * included, as with `omp parallel num_threads(W)`. The executor
 * (peer_tbb_exec_*) is an arena of W worker threads that outside threads
 * enqueue into and never join. The peer raises oneTBB's thread limit
 * (global_control max_allowed_parallelism) to what its arenas need, and
 * gives oneTBB's threads 16 MiB stacks (deep recursions: uts_bin).
 *
 * Every function catches what oneTBB throws: an error is a return value. */
#ifndef CREW_BENCH_PEER_TBB_H
#define CREW_BENCH_PEER_TBB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Creates (untimed) the arena of `workers` threads the calls below use;
 * 0, or ENOMEM. Again for the same count: nothing new. */
int peer_tbb_prepare(unsigned workers);

/* Runs fn(arg) in the arena of `workers` threads (prepared before), on
 * the calling thread, which joins the arena; 0, or EINVAL (no such
 * arena), or ENOMEM (oneTBB threw). */
int peer_tbb_execute(unsigned workers, void (*fn)(void *), void *arg);

/* A tbb::task_group in the caller's storage (its stack frame), for the
 * fork-join workloads written in C: init, run any number of fn(arg),
 * then wait, which waits for all of them and destroys the group. Only
 * inside peer_tbb_execute. */
#ifdef __cplusplus
#define PEER_TBB_ALIGN16 alignas(16)
#else
#define PEER_TBB_ALIGN16 _Alignas(16)
#endif
typedef struct peer_tbb_group {
    PEER_TBB_ALIGN16 unsigned char opaque[256];
} peer_tbb_group;
void peer_tbb_group_init(peer_tbb_group *g);
void peer_tbb_group_run(peer_tbb_group *g, void (*fn)(void *), void *arg);
void peer_tbb_group_wait(peer_tbb_group *g);

/* fib(n) with a task_group per call, no cutoff (oneTBB's own example),
 * in the arena of `workers` threads; -1 on error. */
long peer_tbb_fib(unsigned workers, long n);

/* The sum of sum_range over [0, n), by tbb::parallel_for over a
 * blocked_range with the default (auto) partitioner, each chunk's sum
 * added to its thread's padded partial (reduce 0), or by
 * tbb::parallel_reduce (reduce 1); in the arena of `workers` threads.
 * 0, or an error as for peer_tbb_execute. */
int peer_tbb_for_sum(unsigned workers, size_t n,
                     uint64_t (*sum_range)(size_t begin, size_t end),
                     int reduce, uint64_t *out);

/* The executor: an arena of `workers` worker threads (no slot kept for
 * outside threads) and one task_group per producer. post enqueues fn(arg)
 * into the arena as a task of producer k's group (arena.enqueue of
 * group.defer), from producer k's thread, without joining the arena;
 * wait waits for every group's tasks (arena.execute of group.wait). */
typedef struct peer_tbb_exec peer_tbb_exec;
/* NULL on failure. */
peer_tbb_exec *peer_tbb_exec_create(unsigned workers, unsigned producers);
/* 0, or ENOMEM. */
int peer_tbb_exec_post(peer_tbb_exec *e, unsigned producer,
                       void *(*fn)(void *), void *arg);
/* 0, or ENOMEM. */
int peer_tbb_exec_wait(peer_tbb_exec *e);
void peer_tbb_exec_destroy(peer_tbb_exec *e);

#ifdef __cplusplus
}
#endif

#endif
