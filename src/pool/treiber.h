/*
 * A Treiber stack (Treiber, IBM RJ 5118, 1986) whose head is a
 * {top, version} pair swapped as one 16-byte unit by libatomic_ops'
 * AO_compare_double_and_swap_double_full (what it is on each target:
 * src/common/port.h). Every successful CAS adds one to the version, so a
 * pop whose snapshot of the head has gone stale always fails, even when
 * the same node is on top again: that is the ABA guard. docs/pool.md holds
 * the full argument.
 *
 * Library-private: AO_double_t may need compiler flags the library gets
 * and the tests do not (src/common/port.h). Tests use the same code
 * through stack.h.
 *
 * Any thread may push and pop at once. Nodes are type-stable: once pushed,
 * a node stays allocated for the life of the stack (see stack.h).
 *
 * Memory orders, in C11 terms (docs/pool.md has the argument). The one
 * assumption, libatomic_ops' contract for _full operations: the CAS is,
 * for each of the two words it reads and writes, a seq_cst read-modify-
 * write of that word, done for both at once. So it publishes every store
 * the pushing thread made before it (release), orders everything the
 * popping thread does after it (acquire), and a C11 acquire load of a half
 * that reads what a CAS wrote synchronizes with that CAS. The other
 * accesses are C11 atomics, the two halves of the head and node links;
 * each states its order below.
 */
#ifndef CREW_OBJPOOL_TREIBER_H
#define CREW_OBJPOOL_TREIBER_H

#ifndef CREW_BUILDING_LIBRARY
#error "treiber.h needs the library's compiler flags: include it from the library's sources only"
#endif

#include <atomic_ops.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/port.h"
#include "pool/stack.h"

#if defined(__SANITIZE_THREAD__)
#define CREW_OBJPOOL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CREW_OBJPOOL_TSAN 1
#endif
#endif
#ifdef CREW_OBJPOOL_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifndef AO_HAVE_compare_double_and_swap_double_full
#error "libatomic_ops has no double-width CAS for this target (see src/common/port.h)"
#endif

/* The head. `whole` is what the CAS compares and swaps; `half` names
 * the same two words for the plain (C11 atomic) loads that precede it.
 * Must be 16-byte aligned: callers embed it at the start of a 64-byte
 * cache line of its own. */
typedef union crew_treiber {
    AO_double_t whole;
    struct {
        _Atomic(crew_objpool_node *) top; /* AO_val1, the low quadword */
        _Atomic(uintptr_t) version;    /* AO_val2: successful CASes so far */
    } half;
} crew_treiber;

_Static_assert(sizeof(crew_treiber) == 16, "the head is two words");
_Static_assert(offsetof(crew_treiber, half.version) == sizeof(AO_t),
               "the version is the CAS's second word");

#ifdef CREW_NEGATIVE_CONTROL_POOL_ABA_VERSION
/* Broken on purpose: the version never changes, so the CAS compares the
 * top pointer only and a stale pop can succeed (the ABA problem). */
#define CREW_TREIBER_NEXT_VERSION(v) (v)
#else
#define CREW_TREIBER_NEXT_VERSION(v) ((v) + 1)
#endif

static inline void crew_treiber_init(crew_treiber *s)
{
    atomic_init(&s->half.top, NULL);
    atomic_init(&s->half.version, 0);
}

/* The CAS on the whole head: 1 when the head still was {old_top, old_ver}
 * and is now {new_top, new_ver}.
 *
 * ThreadSanitizer does not see the CAS's inline assembly, so TSan builds
 * tell it what the CAS does for ordering: a release on the head before
 * the attempt (covering what the thread stored before a push) and an
 * acquire after a success (so the popper's use of the node and its object
 * happens after the pusher's writes). The release on a failed attempt adds
 * an edge that is not there; it can only hide a race, never invent one. */
static inline int crew_treiber_cas(crew_treiber *s, crew_objpool_node *old_top,
                                   uintptr_t old_ver, crew_objpool_node *new_top,
                                   uintptr_t new_ver)
{
#ifdef CREW_OBJPOOL_TSAN
    __tsan_release(s);
#endif
    /* [mo: treiber.cas] */
    int ok = AO_compare_double_and_swap_double_full(
        &s->whole, (AO_t)old_top, (AO_t)old_ver, (AO_t)new_top, (AO_t)new_ver);
#ifdef CREW_OBJPOOL_TSAN
    if (ok)
        __tsan_acquire(s);
#endif
    return ok;
}

/* After a failed CAS, wait before the next try: 1, 2, 4 ... up to 64
 * spin hints (crew_spin_hint). Without it, two threads that keep
 * colliding pass the head's cache line back and forth on every attempt;
 * with two threads hammering one pool, backing off raised throughput from
 * about 3.5 to 30 million pairs a second in one measurement
 * (docs/pool.md). */
static inline void crew_treiber_backoff(unsigned *spins)
{
    for (unsigned i = 0; i < *spins; i++)
        crew_spin_hint();
    if (*spins < 64)
        *spins *= 2;
}

/* Pushes the chain first -> ... -> last (linked through `next`, all held
 * by the caller) with one CAS. */
static inline void crew_treiber_push_chain(crew_treiber *s,
                                           crew_objpool_node *first,
                                           crew_objpool_node *last)
{
    for (unsigned spins = 1;; crew_treiber_backoff(&spins)) {
        /* Relaxed, both: push never dereferences the old top, and a stale
         * or torn pair only makes the CAS fail. If the CAS succeeds, the
         * head was exactly this pair and last->next below is right.
         * [mo: treiber.push.version] */
        uintptr_t ver =
            atomic_load_explicit(&s->half.version, memory_order_relaxed);
        /* [mo: treiber.push.top] */
        crew_objpool_node *top =
            atomic_load_explicit(&s->half.top, memory_order_relaxed);
        /* Relaxed: the CAS (a release) publishes it together with the new
         * top; poppers read it only after an acquire load of that top.
         * [mo: treiber.push.link] */
        atomic_store_explicit(&last->next, top, memory_order_relaxed);
        if (crew_treiber_cas(s, top, ver, first,
                             CREW_TREIBER_NEXT_VERSION(ver)))
            return;
    }
}

static inline void crew_treiber_push(crew_treiber *s, crew_objpool_node *n)
{
    crew_treiber_push_chain(s, n, n);
}

/* The top node, now the caller's, or NULL when the stack was empty. */
static inline crew_objpool_node *crew_treiber_pop(crew_treiber *s)
{
    for (unsigned spins = 1;; crew_treiber_backoff(&spins)) {
        /* The version first, then the top (the acquire keeps the top load
         * after this one). If
         * the CAS succeeds with this version, no CAS happened since it was
         * read, so the top read after it, and that top's `next`, belong to
         * that same, still current, state. Read the other way round, a
         * node popped and pushed back in between could pair an old `next`
         * with a new version. [mo: treiber.pop.version] */
        uintptr_t ver =
            atomic_load_explicit(&s->half.version, memory_order_acquire);
        /* Acquire: synchronizes with the CAS that installed this top (a
         * release), which its thread's store of `next` precedes, so the
         * load of top->next below sees that store (or a later one, when
         * the node moved on: then the CAS fails).
         * [mo: treiber.pop.top] */
        crew_objpool_node *top =
            atomic_load_explicit(&s->half.top, memory_order_acquire);
        if (top == NULL)
            return NULL;
        /* Relaxed: `top` may already have been popped and be written by
         * its new holder; any value read here is checked by the CAS, which
         * fails unless the head still is {top, ver}. The node itself is
         * never freed while the stack is in use, so the read is safe.
         * [mo: treiber.pop.next] */
        crew_objpool_node *next =
            atomic_load_explicit(&top->next, memory_order_relaxed);
        if (crew_treiber_cas(s, top, ver, next, CREW_TREIBER_NEXT_VERSION(ver)))
            return top;
    }
}

#endif /* CREW_OBJPOOL_TREIBER_H */
