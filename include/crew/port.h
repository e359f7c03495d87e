/*
 * crew/port.h: PRIVATE TO CREW. Included by <crew/fastpath.h>, never on
 * its own; nothing here is API. What the inline fast path needs of the
 * processor, in one place, as src/common/port.h is for the library's own
 * sources (docs/portability.md): no other public header names an
 * architecture.
 */
#ifndef CREW_PORT_H
#define CREW_PORT_H

#ifndef CREW_H
#error "include <crew.h>, not <crew/port.h>"
#endif

#include <stdint.h>

/* crew_count_add_(c): one more in the statistics counter *c, which only
 * the calling thread writes and other threads read with relaxed atomic
 * loads. On x86-64 one add to memory: an aligned 8-byte store is
 * single-copy atomic there, so a reader sees the old value or the new one,
 * as with a relaxed atomic store; gcc makes a relaxed load and store three
 * instructions (load, add, store), and the typed spawns were 6-7% faster
 * with the one (scripts/fib-ab.sh). Elsewhere the relaxed load and store. */
#if defined(__x86_64__)
static inline void crew_count_add_(uint64_t *c)
{
    __asm__("addq $1, %0" : "+m"(*c));
}
#else
static inline void crew_count_add_(uint64_t *c)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}
#endif

#endif /* CREW_PORT_H */
