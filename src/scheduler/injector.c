/*
 * The injection queue (see injector.h and docs/scheduler.md).
 *
 * Invariants:
 *  - Positions are lap * 64 + offset; offset 63 is never handed out: an end
 *    there is being moved to the next segment by the thread that took the
 *    segment's last slot. The tail's top bit is the closed flag.
 *  - A position is claimed by exactly one producer (CAS on tail) and then
 *    by exactly one consumer (CAS on head), and a consumer claims only a
 *    position whose slot it has seen WRITTEN, so a claimed position always
 *    holds its item. Head therefore never passes tail.
 *  - A consumer copies its items out of the slots *before* its claiming
 *    CAS; the CAS succeeding proves the copy was of the right, written
 *    slots (the segment cannot be reused while head has not passed them).
 *  - The consumer that claims a segment's last slot recycles the segment.
 *    Every earlier slot's consumer copied its item before its own CAS on
 *    head, and the CASes on head form one release sequence, so those
 *    copies happen before the recycling. Segments are never freed before
 *    destroy, so a thread holding a stale segment pointer reads valid
 *    memory, and its CAS on the end's position (which only grows) fails.
 */
#include "scheduler/injector.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "common/port.h"
#include "pool/objpool.h"

enum { WRITTEN = 1u };

#define CLOSED ((uint64_t)1 << 63)

static void pause_briefly(unsigned *spins)
{
    if (++*spins < 32)
        crew_spin_hint();
    else
        sched_yield();
}

/*
 * Segments come from, and go back to, the object pool's shared stack
 * alone, never through a per-thread cache: a producer thread that posts
 * and exits would otherwise strand the segments its cache held until the
 * queue is destroyed (one short-lived thread after another grew memory
 * without bound). On the shared stack, idle segments are at most the most
 * segments ever in use at once, which is the largest backlog / 63 plus
 * the two ends' segments and one prepared by each producer that is about
 * to claim a last slot: the queue's memory is bounded by its largest
 * backlog, whatever the number of threads that ever posted. A segment is
 * taken once per 63 items, so the shared stack's CAS is not a cost.
 */
static void segment_put(crew_injector *q, crew_inj_segment *s)
{
    crew_objpool_release_at(q->segments, CREW_OBJPOOL_SHARED, s);
}

/* A reset segment, or NULL. The caller publishes it with a release store.
 * Stale readers may still look at its slots: they see 0 or WRITTEN, and
 * their CAS on head fails either way. */
static crew_inj_segment *segment_get(crew_injector *q)
{
    crew_inj_segment *s = crew_objpool_acquire_at(q->segments, CREW_OBJPOOL_SHARED);
    if (s == NULL)
        return NULL;
    /* [mo: inj.segment.next] */
    atomic_store_explicit(&s->next, NULL, memory_order_relaxed);
    for (int i = 0; i < CREW_INJ_SLOTS; i++) /* [mo: inj.segment.state] */
        atomic_store_explicit(&s->slots[i].state, 0, memory_order_relaxed);
    return s;
}

int crew_injector_init(crew_injector *q)
{
    crew_objpool_config cfg = {.obj_size = sizeof(crew_inj_segment), .max_idle = 0};
    q->segments = crew_objpool_create(&cfg);
    if (q->segments == NULL)
        return ENOMEM;
    crew_inj_segment *s = segment_get(q);
    if (s == NULL) {
        crew_objpool_destroy(q->segments);
        q->segments = NULL;
        return ENOMEM;
    }
    atomic_init(&q->head.index, 0);
    atomic_init(&q->head.seg, s);
    atomic_init(&q->tail.index, 0);
    atomic_init(&q->tail.seg, s);
    return 0;
}

void crew_injector_destroy(crew_injector *q)
{
    /* Quiescent: the segments still linked run from head's to tail's. */
    crew_inj_segment *s = atomic_load_explicit(&q->head.seg, memory_order_relaxed);
    while (s != NULL) {
        crew_inj_segment *next = atomic_load_explicit(&s->next, memory_order_relaxed);
        segment_put(q, s);
        s = next;
    }
    crew_objpool_destroy(q->segments);
}

static int push(crew_injector *q, const crew_inj_item *item, uint64_t closed_mask)
{
    crew_inj_segment *next = NULL;
    unsigned spins = 0;
    for (;;) {
        /* Acquire on index then seg: pairs with the release stores that
         * install a segment (seg first, then index), so a position in a
         * new lap comes with its segment. [mo: inj.push.tail] */
        uint64_t tail = atomic_load_explicit(&q->tail.index, memory_order_acquire);
        if (tail & closed_mask) {
            if (next != NULL)
                segment_put(q, next);
            return ESHUTDOWN;
        }
        /* [mo: inj.push.seg] */
        crew_inj_segment *s = atomic_load_explicit(&q->tail.seg, memory_order_acquire);
        unsigned off = (unsigned)((tail & ~CLOSED) % CREW_INJ_LAP);
        if (off == CREW_INJ_SLOTS) {
            pause_briefly(&spins); /* another producer installs a segment */
            continue;
        }
        if (off + 1 == CREW_INJ_SLOTS && next == NULL) {
            /* We may take the last slot: have the next segment ready
             * before claiming, so a failed allocation changes nothing. */
            next = segment_get(q);
            if (next == NULL)
                return ENOMEM;
        }
        /* The CAS succeeds only if tail did not move (nor close) since we
         * loaded s, so s is the segment of position `tail`. Relaxed
         * ordering would do for the claim itself; the release on success
         * is for the installation below. [mo: inj.push.claim] */
        if (!atomic_compare_exchange_weak_explicit(&q->tail.index, &tail, tail + 1,
                                                   memory_order_acq_rel,
                                                   memory_order_relaxed))
            continue;
        if (off + 1 == CREW_INJ_SLOTS) {
            /* Release: producers that read the new index see the segment;
             * the consumer of our slot (it sees WRITTEN after this) sees
             * s->next. [mo: inj.push.install_seg] */
            atomic_store_explicit(&q->tail.seg, next, memory_order_release);
            /* An RMW, not a store: a concurrent close sets the top bit,
             * which must survive. Offset 63 -> the next lap's offset 0.
             * [mo: inj.push.install_index] */
            atomic_fetch_add_explicit(&q->tail.index, 1, memory_order_release);
            /* [mo: inj.push.link] */
            atomic_store_explicit(&s->next, next, memory_order_release);
            next = NULL;
        }
        crew_inj_slot *slot = &s->slots[off];
        /* [mo: inj.push.fn] */
        atomic_store_explicit(&slot->fn, item->fn, memory_order_relaxed);
        /* [mo: inj.push.arg] */
        atomic_store_explicit(&slot->arg, item->arg, memory_order_relaxed);
        /* [mo: inj.push.ref] */
        atomic_store_explicit(&slot->ref, item->ref, memory_order_relaxed);
        /* [mo: inj.push.kind] */
        atomic_store_explicit(&slot->kind, item->kind, memory_order_relaxed);
        /* SeqCst store (release is what the item needs): the sleep
         * protocol orders this publication before the publisher's read of
         * the idle word (crew_wake_after_sc_publish). [mo: inj.push.written] */
        atomic_store_explicit(&slot->state, WRITTEN, memory_order_seq_cst);
        if (next != NULL)
            segment_put(q, next);
        return 0;
    }
}

int crew_injector_push(crew_injector *q, const crew_inj_item *item)
{
    return push(q, item, CLOSED);
}

int crew_injector_push_even_closed(crew_injector *q, const crew_inj_item *item)
{
    return push(q, item, 0);
}

static void slot_copy(crew_inj_slot *slot, crew_inj_item *out)
{
    /* [mo: inj.copy.fn] */
    out->fn = atomic_load_explicit(&slot->fn, memory_order_relaxed);
    /* [mo: inj.copy.arg] */
    out->arg = atomic_load_explicit(&slot->arg, memory_order_relaxed);
    /* [mo: inj.copy.ref] */
    out->ref = atomic_load_explicit(&slot->ref, memory_order_relaxed);
    /* [mo: inj.copy.kind] */
    out->kind = atomic_load_explicit(&slot->kind, memory_order_relaxed);
}

/* One attempt at the oldest positions: n > 0 (taken), 0 (the oldest slot
 * is not written: empty, or a producer is mid-push), or -1 (lost a race).
 * Takes up to max written slots of the head segment with one CAS. */
static int try_pop(crew_injector *q, crew_inj_item *out, unsigned max, unsigned share)
{
    /* [mo: inj.pop.head] */
    uint64_t head = atomic_load_explicit(&q->head.index, memory_order_acquire);
    /* [mo: inj.pop.seg] */
    crew_inj_segment *s = atomic_load_explicit(&q->head.seg, memory_order_acquire);
    unsigned off = (unsigned)(head % CREW_INJ_LAP);
    if (off == CREW_INJ_SLOTS)
        return -1; /* a consumer moves head to the next segment */
    /* SeqCst on the first slot: the worker's side of the sleep protocol.
     * Acquire is what the items need: pairs with the producers' stores of
     * WRITTEN. If s is stale (reused), the CAS below discards all this.
     * [mo: inj.pop.first] */
    unsigned run = 0;
    if (atomic_load_explicit(&s->slots[off].state, memory_order_seq_cst) & WRITTEN) {
        run = 1;
        while (run < max && off + run < CREW_INJ_SLOTS && /* [mo: inj.pop.run] */
               (atomic_load_explicit(&s->slots[off + run].state, memory_order_acquire) &
                WRITTEN))
            run++;
    }
    if (run == 0)
        return 0;
    unsigned n = share > 1 ? 1 + (run - 1) / share : run;
    for (unsigned i = 0; i < n; i++)
        slot_copy(&s->slots[off + i], &out[i]);
    /* AcqRel: the release half orders our copies before the recycling of
     * s by whoever claims its last slot (see the invariants).
     * [mo: inj.pop.claim] */
    if (!atomic_compare_exchange_strong_explicit(&q->head.index, &head, head + n,
                                                 memory_order_acq_rel,
                                                 memory_order_relaxed))
        return -1;
    if (off + n == CREW_INJ_SLOTS) {
        /* We took the last slot: move head on and recycle s. Its producer
         * installed the next segment before writing the slot.
         * [mo: inj.pop.next] */
        crew_inj_segment *next = atomic_load_explicit(&s->next, memory_order_acquire);
        /* [mo: inj.pop.move_seg] */
        atomic_store_explicit(&q->head.seg, next, memory_order_release);
        /* [mo: inj.pop.move_index] */
        atomic_store_explicit(&q->head.index, head + n + 1, memory_order_release);
        segment_put(q, s);
    }
    return (int)n;
}

unsigned crew_injector_pop_batch(crew_injector *q, crew_inj_item *out,
                                 unsigned max, unsigned share)
{
    unsigned spins = 0;
    for (;;) {
        int r = try_pop(q, out, max, share);
        if (r >= 0)
            return (unsigned)r;
        pause_briefly(&spins);
    }
}

int crew_injector_pop_claimed(crew_injector *q, crew_inj_item *out)
{
    unsigned spins = 0;
    for (;;) {
        int r = try_pop(q, out, 1, 1);
        if (r == 1)
            return 1;
        if (r == 0) {
            uint64_t head = atomic_load_explicit(&q->head.index, memory_order_acquire);
            uint64_t tail = atomic_load_explicit(&q->tail.index, memory_order_acquire) & ~CLOSED;
            if (head >= tail)
                return 0; /* nothing claimed is left */
        }
        pause_briefly(&spins); /* a producer is writing, or we lost a race */
    }
}

int crew_injector_empty(crew_injector *q)
{
    /*
     * The head's index and segment are two words, moved by a consumer that
     * takes a segment's last slot in three steps: the index to offset 63
     * (its claiming CAS), the segment (release), the index to the next
     * lap (release). A look reads the index, the segment, the oldest slot
     * and the index again, all seq_cst, and trusts them only if the index
     * read the same both times and is not at offset 63:
     *  - the segment read is the index's: if it came from a move M's
     *    store, M's claiming CAS (before that store) comes before our
     *    second read, which would then see offset 63 or a later index,
     *    not the first one (the index only grows); and a segment older
     *    than the index's would mean missing the store that the move
     *    that produced our first index made before it;
     *  - the slot read is of a segment still in place: the head never
     *    left the position in between, so the segment (which is recycled
     *    only once the head has passed all its slots) was not reused.
     * So "not written" means: at the moment of the slot read, the oldest
     * position held no item (none was pushed, or its producer had claimed
     * it and not yet written it: that producer wakes a sleeper after its
     * write, see crew_wake_after_sc_publish). A look that cannot be
     * trusted is tried again a few times, then answers "not empty" (the
     * head is moving: somebody is popping).
     */
    for (int tries = 0; tries < 4; tries++) {
        /* [mo: inj.empty.head] */
        uint64_t head = atomic_load_explicit(&q->head.index, memory_order_seq_cst);
        /* [mo: inj.empty.seg] */
        crew_inj_segment *s = atomic_load_explicit(&q->head.seg, memory_order_seq_cst);
        unsigned off = (unsigned)(head % CREW_INJ_LAP);
        if (off == CREW_INJ_SLOTS)
            continue; /* mid-move */
        /* [mo: inj.empty.state] */
        uint32_t state = atomic_load_explicit(&s->slots[off].state, memory_order_seq_cst);
        /* [mo: inj.empty.recheck] */
        if (atomic_load_explicit(&q->head.index, memory_order_seq_cst) != head)
            continue;
        return !(state & WRITTEN);
    }
    return 0;
}

void crew_injector_close(crew_injector *q)
{
    /* SeqCst RMW: a producer's claiming CAS is ordered before or after it;
     * before: its item is accepted (and counted); after: it sees CLOSED. */
    atomic_fetch_or_explicit(&q->tail.index, CLOSED, memory_order_seq_cst);
}

int crew_injector_closed(crew_injector *q)
{
    return (atomic_load_explicit(&q->tail.index, memory_order_seq_cst) & CLOSED) != 0;
}

uint64_t crew_injector_pushed(crew_injector *q)
{
    uint64_t t = atomic_load_explicit(&q->tail.index, memory_order_seq_cst) & ~CLOSED;
    uint64_t off = t % CREW_INJ_LAP;
    /* Offset 63 means all 63 slots of that lap were claimed. */
    return (t / CREW_INJ_LAP) * CREW_INJ_SLOTS +
           (off == CREW_INJ_SLOTS ? CREW_INJ_SLOTS : off);
}
