#ifndef CREW_TEST_SCHED_UTIL_H
#define CREW_TEST_SCHED_UTIL_H
#include <crew.h>
#include <stdint.h>

#define IP(x) ((void *)(intptr_t)(x))
#define PI(p) ((long)(intptr_t)(p))

double test_now_s(void);
/* A pool with n workers and the given queue settings; NULL on failure. */
crew_pool *test_pool(unsigned workers, size_t queue_limit, bool block);
/* fib through spawn/sync, and its plain twin. */
void *test_fib(void *arg);
long test_fib_seq(long n);
/* CPU time of every thread of this process but the caller, in ticks. */
long test_other_threads_cpu_ticks(void);
void test_sleep_ms(long ms);
/* Spins until *flag is set, or 2 s pass (a test then fails on its own
 * check rather than hanging). */
void test_spin_until(_Atomic int *flag);
/* Runs body(arg) in a forked child, which then exits with body's return
 * value: the child's wait status (a crash or an abort shows as a signal),
 * or -1 if fork or waitpid failed. */
int test_child_status(int (*body)(void *), void *arg);
#endif
