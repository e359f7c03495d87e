#include "common/alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

static _Atomic long fault_countdown = -1;

/* true when this allocation is the injected failure. Relaxed: the hook only
 * needs each allocation to take one distinct countdown value. */
static int injected_failure(void)
{
    if (atomic_load_explicit(&fault_countdown, memory_order_relaxed) < 0)
        return 0;
    long left = atomic_fetch_sub_explicit(&fault_countdown, 1,
                                          memory_order_relaxed);
    if (left == 0) {
        errno = ENOMEM;
        return 1;
    }
    if (left < 0) /* raced past the armed value: disarm again */
        atomic_store_explicit(&fault_countdown, -1, memory_order_relaxed);
    return 0;
}

void crew_fault_inject_alloc(long successes)
{
    atomic_store_explicit(&fault_countdown, successes < 0 ? -1 : successes,
                          memory_order_relaxed);
}

void *crew_malloc(size_t size)
{
    return injected_failure() ? NULL : malloc(size);
}

void *crew_calloc(size_t count, size_t size)
{
    return injected_failure() ? NULL : calloc(count, size);
}

void *crew_aligned_alloc(size_t alignment, size_t size)
{
    if (injected_failure())
        return NULL;
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size_t rounded = (size + alignment - 1) / alignment * alignment;
    return aligned_alloc(alignment, rounded);
}
