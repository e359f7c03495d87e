/* Suite `futures`: helpers shared by its case files. */
#ifndef CREW_TEST_FUTURES_UTIL_H
#define CREW_TEST_FUTURES_UTIL_H

#include <crew.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "util.h"

/* A task that returns `value` once `open` is set (sleeping in 50 us steps,
 * at most 10 s: a test then fails on its own check rather than hanging). */
typedef struct gated {
    _Atomic int open;
    long value;
} gated;
void *gated_task(void *arg);
void gate_open(gated *g);

/* An absolute CLOCK_REALTIME time ms from now (negative: in the past). */
struct timespec deadline_in_ms(long ms);

/* Waits (sleeping) until *count >= want or 5 s pass; the count's value. */
long wait_for_count(_Atomic long *count, long want);

/* Race tests: the n-th CPU of a mask (-1 if none), and pinning the
 * calling thread to one CPU. Two threads that must race are put on two
 * CPUs: on one, they would take turns instead. */
int nth_allowed_cpu(const cpu_set_t *set, int n);
void pin_to_cpu(int cpu);

#endif
