/*
 * What is CPU-specific, in one place: nothing else in src/ may name an
 * architecture. Supported: x86-64 and AArch64 (Linux); docs/portability.md
 * says how each is built and tested.
 *
 * The double-width compare-and-swap of the object pool's stack is
 * libatomic_ops' AO_compare_double_and_swap_double_full
 * (src/pool/treiber.h), whatever the target:
 *   x86-64   `lock cmpxchg16b`, which libatomic_ops uses only when the
 *            compiler may (-mcx16: meson.build gives it to the library's
 *            sources alone; checked below). A full barrier.
 *   AArch64  a load-acquire/store-release exclusive pair loop (LDAXP,
 *            STLXP: Armv8.0, no flag needed; this is libatomic_ops' path
 *            for gcc, the compiler crew is cross-built with): the pattern
 *            compilers emit for a C11 seq_cst read-modify-write of one
 *            word (LDAXR, STLXR), on both words at once.
 * So what treiber.h assumes of the CAS, a seq_cst read-modify-write of
 * each of its two words done for both at once, holds on both. treiber.h
 * stops the build if libatomic_ops has no such CAS for the target.
 */
#ifndef CREW_COMMON_PORT_H
#define CREW_COMMON_PORT_H

#if defined(__x86_64__)
/* `pause`: tells the core we spin (it saves power and the sibling
 * hyperthread's cycles, and avoids a memory-order flush at loop exit). */
#define crew_spin_hint() __asm__ __volatile__("pause" ::: "memory")
#if defined(CREW_BUILDING_LIBRARY) && !defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_16)
#error "x86-64: the library's sources need -mcx16 (cmpxchg16b, the double-width CAS)"
#endif
#elif defined(__aarch64__)
/* `yield`: the AArch64 spin hint (a no-op on most cores, but the
 * architected way to say it; `isb` would stall longer, which Linux's own
 * spin loops do not use either). */
#define crew_spin_hint() __asm__ __volatile__("yield" ::: "memory")
#else
#error "crew supports x86-64 and AArch64 Linux only (src/common/port.h)"
#endif

/* The cache line the layout pads hot words to. 64 bytes on every x86-64
 * and on Arm's own AArch64 designs (Neoverse, Cortex-A); Apple's cores use
 * 128, where crew's padding halves its effect, not its correctness. */
#define CREW_CACHE_LINE 64

#endif
