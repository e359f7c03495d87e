/*
 * crew's allocation calls. Each passes the allocation fault point
 * (common/fault.h), so every ENOMEM path can be driven by a test; no hot
 * path allocates, so the hook's one relaxed load costs nothing that
 * matters.
 */
#ifndef CREW_COMMON_ALLOC_H
#define CREW_COMMON_ALLOC_H

#include <stddef.h>

#include "common/fault.h"

/* malloc / calloc / aligned_alloc, or NULL with errno ENOMEM. */
void *crew_malloc(size_t size);
void *crew_calloc(size_t count, size_t size);
void *crew_aligned_alloc(size_t alignment, size_t size);

/* Address space for a large array the kernel commits only as it is
 * touched (mmap, MAP_NORESERVE): zeroed, page aligned, or NULL with errno
 * ENOMEM. Passes the allocation fault point too. */
void *crew_reserve(size_t size);
void crew_unreserve(void *p, size_t size);

#endif
