/*
 * The injection queue (see injector.h and docs/scheduler.md).
 *
 * Invariants:
 *  - head.index <= tail.index + 1 in positions; positions with offset
 *    CREW_INJ_SLOTS are never handed out: an end at that offset is being
 *    moved to the next segment by the thread that took the last slot.
 *  - A position is claimed by exactly one producer (CAS on tail.index) and
 *    exactly one consumer (CAS on head.index); the consumer claims only
 *    positions below tail, i.e. already claimed by a producer.
 *  - A segment is recycled only after every one of its slots has been read:
 *    the reader of the last slot starts the release, and a reader still
 *    busy with an earlier slot finishes it (READ/DESTROY bits). Threads
 *    that loaded a segment pointer but lost their CAS never touch it.
 */
#include "scheduler/injector.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "common/alloc.h"

enum { WRITTEN = 1u, READ = 2u, DESTROY = 4u };

static void pause_briefly(unsigned *spins)
{
    if (++*spins < 32)
        __asm__ volatile("pause" ::: "memory");
    else
        sched_yield();
}

static void segment_reset(crew_inj_segment *s)
{
    atomic_store_explicit(&s->next, NULL, memory_order_relaxed);
    for (int i = 0; i < CREW_INJ_SLOTS; i++) {
        atomic_store_explicit(&s->slots[i].item, NULL, memory_order_relaxed);
        atomic_store_explicit(&s->slots[i].state, 0, memory_order_relaxed);
    }
}

/* A fresh segment: the spare if there is one, else a new allocation. The
 * caller publishes it with a release store after this returns. */
static crew_inj_segment *segment_get(crew_injector *q)
{
    /* Acquire: pairs with segment_put's exchange, so the last reader's
     * accesses to the old segment happen before we reset it. */
    crew_inj_segment *s =
        atomic_exchange_explicit(&q->spare, NULL, memory_order_acquire);
    if (s == NULL)
        s = crew_malloc(sizeof(*s));
    if (s != NULL)
        segment_reset(s);
    return s;
}

static void segment_put(crew_injector *q, crew_inj_segment *s)
{
    /* Release: our reads of the segment happen before its reuse. */
    crew_inj_segment *old =
        atomic_exchange_explicit(&q->spare, s, memory_order_acq_rel);
    free(old);
}

/* Called when every position of s has been claimed by a consumer: recycle
 * s once slots [start, CREW_INJ_SLOTS - 1) are read. A slot still being
 * read gets DESTROY, and its reader carries on from there. */
static void segment_release_from(crew_injector *q, crew_inj_segment *s,
                                 int start)
{
    for (int i = start; i < CREW_INJ_SLOTS - 1; i++) {
        _Atomic uint32_t *st = &s->slots[i].state;
        if (atomic_load_explicit(st, memory_order_acquire) & READ)
            continue;
        /* AcqRel: if the reader has finished, we see its READ and its
         * accesses are before ours; if not, it sees our DESTROY. */
        if (!(atomic_fetch_or_explicit(st, DESTROY, memory_order_acq_rel) &
              READ))
            return;
    }
    segment_put(q, s);
}

int crew_injector_init(crew_injector *q)
{
    crew_inj_segment *s = crew_malloc(sizeof(*s));
    if (s == NULL)
        return ENOMEM;
    segment_reset(s);
    atomic_init(&q->head.index, 0);
    atomic_init(&q->head.seg, s);
    atomic_init(&q->tail.index, 0);
    atomic_init(&q->tail.seg, s);
    atomic_init(&q->spare, NULL);
    return 0;
}

void crew_injector_destroy(crew_injector *q)
{
    /* Quiescent: the segments still linked run from head's to tail's. */
    crew_inj_segment *s = atomic_load_explicit(&q->head.seg, memory_order_relaxed);
    while (s != NULL) {
        crew_inj_segment *next = atomic_load_explicit(&s->next, memory_order_relaxed);
        free(s);
        s = next;
    }
    free(atomic_load_explicit(&q->spare, memory_order_relaxed));
}

int crew_injector_push(crew_injector *q, crew_job_ *job)
{
    crew_inj_segment *next = NULL;
    unsigned spins = 0;
    for (;;) {
        /* Acquire on index then seg: pairs with the release stores that
         * install a segment (seg first, then index), so a position in a
         * new lap comes with its segment. */
        uint64_t tail = atomic_load_explicit(&q->tail.index, memory_order_acquire);
        crew_inj_segment *s = atomic_load_explicit(&q->tail.seg, memory_order_acquire);
        unsigned off = (unsigned)(tail % CREW_INJ_LAP);
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
        /* SeqCst: the sleep protocol orders this claim before the
         * publisher's read of the sleepers count (see crew_wake_one). The
         * CAS succeeds only if tail did not move since we loaded s, so s
         * is the segment of position `tail`. */
        if (!atomic_compare_exchange_weak_explicit(&q->tail.index, &tail, tail + 1,
                                                   memory_order_seq_cst,
                                                   memory_order_relaxed))
            continue;
        if (off + 1 == CREW_INJ_SLOTS) {
            /* Release: producers that read the new index see the segment;
             * consumers waiting at the end of s see s->next. */
            atomic_store_explicit(&q->tail.seg, next, memory_order_release);
            atomic_store_explicit(&q->tail.index, tail + 2, memory_order_release);
            atomic_store_explicit(&s->next, next, memory_order_release);
            next = NULL;
        }
        crew_inj_slot *slot = &s->slots[off];
        atomic_store_explicit(&slot->item, job, memory_order_relaxed);
        /* Release: the consumer that sees WRITTEN sees the item and the
         * job record's contents. */
        atomic_fetch_or_explicit(&slot->state, WRITTEN, memory_order_release);
        if (next != NULL)
            segment_put(q, next);
        return 0;
    }
}

crew_job_ *crew_injector_pop(crew_injector *q)
{
    unsigned spins = 0;
    for (;;) {
        uint64_t head = atomic_load_explicit(&q->head.index, memory_order_acquire);
        crew_inj_segment *s = atomic_load_explicit(&q->head.seg, memory_order_acquire);
        unsigned off = (unsigned)(head % CREW_INJ_LAP);
        if (off == CREW_INJ_SLOTS) {
            pause_briefly(&spins); /* a consumer moves head to the next segment */
            continue;
        }
        /* SeqCst: the worker's side of the sleep protocol (it announced
         * itself as a sleeper before looking). */
        uint64_t tail = atomic_load_explicit(&q->tail.index, memory_order_seq_cst);
        if (head >= tail)
            return NULL;
        if (!atomic_compare_exchange_weak_explicit(&q->head.index, &head, head + 1,
                                                   memory_order_seq_cst,
                                                   memory_order_relaxed))
            continue;
        if (off + 1 == CREW_INJ_SLOTS) {
            /* We took the last slot: move head to the next segment, which
             * the producer of this slot installs (acquire: its reset is
             * visible). */
            crew_inj_segment *next;
            while ((next = atomic_load_explicit(&s->next, memory_order_acquire)) == NULL)
                pause_briefly(&spins);
            atomic_store_explicit(&q->head.seg, next, memory_order_release);
            atomic_store_explicit(&q->head.index, head + 2, memory_order_release);
        }
        crew_inj_slot *slot = &s->slots[off];
        /* Acquire: pairs with the producer's release of WRITTEN. The wait
         * is the "in practice" in non-blocking in practice. */
        while (!(atomic_load_explicit(&slot->state, memory_order_acquire) & WRITTEN))
            pause_briefly(&spins);
        crew_job_ *job = atomic_load_explicit(&slot->item, memory_order_relaxed);
        if (off + 1 == CREW_INJ_SLOTS)
            segment_release_from(q, s, 0);
        else if (atomic_fetch_or_explicit(&slot->state, READ, memory_order_acq_rel) &
                 DESTROY)
            segment_release_from(q, s, (int)off + 1);
        return job;
    }
}

int crew_injector_empty(crew_injector *q)
{
    uint64_t head = atomic_load_explicit(&q->head.index, memory_order_seq_cst);
    uint64_t tail = atomic_load_explicit(&q->tail.index, memory_order_seq_cst);
    return head >= tail;
}
