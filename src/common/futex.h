/* Thin wrappers over the Linux futex: a thread sleeps on a 32-bit word
 * while it holds an expected value, and a waker wakes n sleepers. Both may
 * return early (spurious wake-ups, signals): every caller loops. */
#ifndef CREW_COMMON_FUTEX_H
#define CREW_COMMON_FUTEX_H

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleeps while *word == expected, at most until the relative timeout (NULL:
 * no limit). 0, or ETIMEDOUT, EAGAIN (value differed), EINTR. */
static inline int crew_futex_wait(_Atomic uint32_t *word, uint32_t expected,
                                  const struct timespec *timeout)
{
    long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE,
                      expected, timeout, NULL, 0);
    return rc == 0 ? 0 : errno;
}

/* Sleeps while *word == expected, until an absolute CLOCK_REALTIME time. */
static inline int crew_futex_wait_abs_realtime(_Atomic uint32_t *word,
                                               uint32_t expected,
                                               const struct timespec *abstime)
{
    long rc = syscall(SYS_futex, (uint32_t *)word,
                      FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME,
                      expected, abstime, NULL, FUTEX_BITSET_MATCH_ANY);
    return rc == 0 ? 0 : errno;
}

static inline void crew_futex_wake(_Atomic uint32_t *word, int n)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

#endif
