/* crew-bench: shared helpers. Each workload lives in bench_<name>.c and
 * prints lines of the form `bench=NAME key=value ...`. */
#ifndef CREW_BENCH_H
#define CREW_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sorts v in place and returns its median. */
double bench_median(double *v, size_t n);

/* Options every workload understands. */
typedef struct bench_opts {
    const char *impl; /* NULL: all implementations */
    unsigned workers; /* 0: the workload's default */
    long n;           /* 0: the workload's default size */
    int repeat;       /* 0: the workload's default */
} bench_opts;

/* Keeps the compiler from deleting a computation. */
static inline void bench_consume(uintptr_t v)
{
    __asm__ volatile("" : : "r"(v) : "memory");
}

#define BENCH_WORKLOADS(X)                                                   \
    X(deque, "Chase-Lev push+pop pair cost and steal throughput")           \
    X(objpool, "object pool acquire+release against malloc+free")

#define BENCH_DECLARE(name, help) int bench_##name(const bench_opts *o);
BENCH_WORKLOADS(BENCH_DECLARE)

#endif
