/*
 * Chase-Lev deque, C11 orderings after Le, Pop, Cohen, Zappa Nardelli
 * (PPoPP 2013). The argument for each order is in docs/deque.md; the
 * comments here say the one sentence that matters at each access.
 *
 * Invariant: the items in the deque are exactly the slots with indices
 * top <= i < bottom (mod capacity); every item pushed is taken exactly
 * once, by the owner's pop or by one thief's successful CAS on top; top
 * only ever increases.
 *
 * Allowance from the published version (ThreadSanitizer ignores standalone
 * fences): where the paper writes a release fence followed by a relaxed
 * store, we write a release store, and where it writes a relaxed load
 * followed by an acquire fence, an acquire load. The store/load forms are
 * stronger per access, never weaker. The two seq_cst fences stay fences.
 */
#include "deque/deque.h"

#include <errno.h>
#include <stdlib.h>

#include "common/alloc.h"

static crew_deque_array *array_new(int64_t capacity)
{
    crew_deque_array *a =
        crew_malloc(sizeof(*a) + (size_t)capacity * sizeof(_Atomic(void *)));
    if (a == NULL)
        return NULL;
    a->mask = capacity - 1;
    a->retired_next = NULL;
    for (int64_t i = 0; i < capacity; i++)
        atomic_init(&a->slots[i], NULL);
    return a;
}

static inline void *slot_load(crew_deque_array *a, int64_t i)
{
    /* Relaxed: the item's visibility is carried by bottom (release/acquire)
     * and the thief's claim by the CAS on top; the slot is atomic only
     * because an owner may overwrite a wrapped slot that a stale thief
     * reads (that thief's CAS then fails and discards the value). */
    return atomic_load_explicit(&a->slots[i & a->mask], memory_order_relaxed);
}

static inline void slot_store(crew_deque_array *a, int64_t i, void *x)
{
    atomic_store_explicit(&a->slots[i & a->mask], x, memory_order_relaxed);
}

int crew_deque_init(crew_deque *d, size_t capacity)
{
    int64_t cap = 2;
    while ((size_t)cap < capacity && cap < ((int64_t)1 << 40))
        cap <<= 1;
    crew_deque_array *a = array_new(cap);
    if (a == NULL)
        return ENOMEM;
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->array, a);
    d->retired = NULL;
    return 0;
}

void crew_deque_destroy(crew_deque *d)
{
    free(atomic_load_explicit(&d->array, memory_order_relaxed));
    crew_deque_array *r = d->retired;
    while (r != NULL) {
        crew_deque_array *next = r->retired_next;
        free(r);
        r = next;
    }
    d->retired = NULL;
    atomic_store_explicit(&d->array, NULL, memory_order_relaxed);
}

/*
 * Owner only, deque full. Copies the live range [t, b) into an array twice
 * the size and publishes it. The old array is retired, not freed: a thief
 * that loaded it before the swap may still read a slot of it, and that slot
 * still holds the same item (the owner never writes an old array again),
 * so the thief's CAS on top decides as usual. Retired arrays are freed at
 * destroy; their total size is less than the final array's.
 */
static crew_deque_array *grow(crew_deque *d, crew_deque_array *old, int64_t b,
                              int64_t t)
{
    int64_t cap = (old->mask + 1) * 2;
    crew_deque_array *a = array_new(cap);
    if (a == NULL)
        return NULL;
    for (int64_t i = t; i < b; i++)
        slot_store(a, i, slot_load(old, i));
    /* Release: a thief that acquires the new array pointer sees the copied
     * slots. */
    atomic_store_explicit(&d->array, a, memory_order_release);
    old->retired_next = d->retired;
    d->retired = old;
    return a;
}

int crew_deque_push(crew_deque *d, void *item)
{
    /* Relaxed: only the owner writes bottom. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    /* Acquire: pairs with thieves' CAS on top, so the slots they emptied
     * are theirs no more before we reuse them. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    crew_deque_array *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    if (b - t > a->mask) {
        a = grow(d, a, b, t);
        if (a == NULL)
            return ENOMEM;
    }
    slot_store(a, b, item);
    /* Release (the paper: release fence + relaxed store): a thief that
     * reads the new bottom with acquire also sees the slot and everything
     * the owner wrote into the item before pushing it. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return 0;
}

void *crew_deque_pop_traced(crew_deque *d, crew_pop_path *path)
{
    *path = CREW_POP_NO_RACE;
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    crew_deque_array *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    /* Reserve slot b before looking at top. Release keeps bottom's
     * release sequence for thieves (see steal). */
    atomic_store_explicit(&d->bottom, b, memory_order_release);
#ifndef CREW_NEGATIVE_CONTROL_DEQUE_POP_FENCE
    /* The store-load fence: our store of bottom must be visible before we
     * read top. Together with the fence in steal, either we see the
     * thief's new top or the thief sees our smaller bottom, never neither;
     * without it both could take the same item. */
    atomic_thread_fence(memory_order_seq_cst);
#endif
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    void *x = NULL;
    if (t <= b) {
        x = slot_load(a, b);
        if (t == b) {
            /* The last item: thieves may be after it too. The CAS on top
             * arbitrates; seq_cst as in the paper (it orders against the
             * thieves' CAS on the same location). */
            if (atomic_compare_exchange_strong_explicit(
                    &d->top, &t, t + 1, memory_order_seq_cst,
                    memory_order_relaxed)) {
                *path = CREW_POP_CAS_WON;
            } else {
                *path = CREW_POP_CAS_LOST;
                x = NULL;
            }
            /* Either way the deque is now empty at top == b + 1. */
            atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
        }
    } else {
        /* Empty: restore bottom to top. */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    }
    return x;
}

void *crew_deque_pop(crew_deque *d)
{
    crew_pop_path path;
    return crew_deque_pop_traced(d, &path);
}

crew_steal_result crew_deque_steal(crew_deque *d, void **out)
{
    return crew_deque_steal_above(d, INT64_MIN, NULL, NULL, out);
}

int64_t crew_deque_bottom(crew_deque *d)
{
    return atomic_load_explicit(&d->bottom, memory_order_relaxed);
}

crew_steal_result crew_deque_steal_above(crew_deque *d, int64_t floor,
                                         int (*veto)(void *), void *veto_arg,
                                         void **out)
{
    /* Acquire: pairs with other thieves' and the owner's CAS on top. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    if (t < floor)
        return CREW_STEAL_EMPTY; /* the oldest item predates the floor */
    /* The thieves' half of the store-load pairing with pop: read top
     * before bottom, in the single total order of seq_cst fences. */
    atomic_thread_fence(memory_order_seq_cst);
    /* Acquire: pairs with push's release store of bottom (and, in C11,
     * with the owner's later release stores in pop), so slot t and the
     * item it points to are visible. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b)
        return CREW_STEAL_EMPTY;
    /* Anything the owner pushed after the event the veto tests for is seen
     * only through a bottom that (acquire) also shows that event. */
    if (veto != NULL && veto(veto_arg))
        return CREW_STEAL_EMPTY;
    /* Acquire (the paper's consume): pairs with grow's release store, so
     * the copied slots of a new array are visible. */
    crew_deque_array *a = atomic_load_explicit(&d->array, memory_order_acquire);
    void *x = slot_load(a, t);
    /* Claim slot t. seq_cst per the paper; failure means the owner or
     * another thief took it first: the item read above is not ours. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1,
                                                 memory_order_seq_cst,
                                                 memory_order_relaxed))
        return CREW_STEAL_RETRY;
    *out = x;
    return CREW_STEAL_OK;
}

size_t crew_deque_size_estimate(crew_deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    return b > t ? (size_t)(b - t) : 0;
}
