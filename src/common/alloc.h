/*
 * crew's allocation calls, with a fault-injection hook for the tests: no
 * hot path allocates, so the one relaxed load here costs nothing that
 * matters, and every ENOMEM path can be driven by a test.
 */
#ifndef CREW_COMMON_ALLOC_H
#define CREW_COMMON_ALLOC_H

#include <stddef.h>

/* malloc / calloc / aligned_alloc, or NULL with errno ENOMEM. */
void *crew_malloc(size_t size);
void *crew_calloc(size_t count, size_t size);
void *crew_aligned_alloc(size_t alignment, size_t size);

/* Tests only: after `successes` more successful allocations, make the next
 * one fail (once). A negative value disarms. Any thread. */
void crew_fault_inject_alloc(long successes);

#endif
