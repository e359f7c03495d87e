#include "common/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

static int injected_failure(void)
{
    if (!crew_fault_hit(CREW_FAULT_ALLOC))
        return 0;
    errno = ENOMEM;
    return 1;
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

void *crew_reserve(size_t size)
{
    if (injected_failure())
        return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

void crew_unreserve(void *p, size_t size)
{
    if (p != NULL)
        munmap(p, size);
}
