/*
 * What is CPU-specific, in one place: nothing else in src/ may name an
 * architecture. Supported: x86-64 and AArch64 (Linux). The double-width
 * compare-and-swap of the object pool's stack comes from libatomic_ops
 * (src/pool/treiber.h); this header checks that the target has one.
 */
#ifndef CREW_COMMON_PORT_H
#define CREW_COMMON_PORT_H

#if defined(__x86_64__)
/* `pause`: tells the core we spin (it saves power and the sibling
 * hyperthread's cycles, and avoids a memory-order flush at loop exit). */
#define crew_spin_hint() __asm__ __volatile__("pause" ::: "memory")
#elif defined(__aarch64__)
/* `yield`: the AArch64 spin hint (a no-op on most cores, but the
 * architected way to say it; `isb` would stall longer, which Linux's own
 * spin loops do not use either). */
#define crew_spin_hint() __asm__ __volatile__("yield" ::: "memory")
#else
#error "crew supports x86-64 and AArch64 Linux only (src/common/port.h)"
#endif

/* The cache line the layout pads hot words to. 64 bytes on every x86-64
 * and on the AArch64 cores crew is tested on (Neoverse, Cortex-A); Apple's
 * cores use 128, where crew's padding halves its effect, not its
 * correctness. */
#define CREW_CACHE_LINE 64

#endif
