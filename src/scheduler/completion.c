/*
 * Completion queues (Python's as_completed): crew_completion_add puts a
 * note on the future (callbacks.h); when the future is done, the note
 * pushes it onto the queue, and crew_completion_next takes the oldest.
 * docs/scheduler.md, "Completion queues", has the design and the
 * arguments.
 *
 * The queue is a multi-producer multi-consumer FIFO of 63-slot segments,
 * the injection queue's design (injector.c) cut down to one pointer per
 * slot (a record, never NULL: NULL means not written yet) and one item per
 * take, and with one difference that matters: a push never allocates. It
 * runs on the thread completing the future, where an ENOMEM could be
 * reported to nobody, so the segments it may need are allocated by
 * crew_completion_add, which can fail: every add first reserves a place
 * (`reserved`) and makes sure that at least reserved / 63 + CQ_MARGIN
 * segments exist (`provisioned`), in the queue or on its spare stack.
 *
 * Invariants:
 *  - Positions are lap * 64 + offset; offset 63 is never a slot: an end
 *    there is being moved to the next segment by the thread that took the
 *    segment's last slot (it waits for nobody; others wait for it).
 *  - A position is claimed by one pusher (CAS on tail) and then by one
 *    taker (CAS on head), who reads the slot before its CAS: the CAS
 *    succeeding proves the read was of the right, written slot.
 *  - Segments are type-stable: never freed before the queue is, so a
 *    thread holding a stale segment pointer reads valid memory, and its
 *    CAS on the end's position (which only grows) fails.
 *  - The spare stack has one popper at a time (the thread installing a
 *    segment: installations are serialized by offset 63 on the tail), so
 *    it has no ABA problem without a version.
 *  - reserved >= futures claimed by a push and not yet handed out, so the
 *    spare stack is never empty when an installer pops (the argument in
 *    docs/scheduler.md); if it ever were, the installer allocates, and
 *    counts it in `extra`, which the tests check stays 0.
 */
#include "scheduler/callbacks.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/port.h"

#define CQ_LAP 64
#define CQ_SLOTS (CQ_LAP - 1)
/* Segments beyond reserved / 63: the two partly used ends, the one being
 * installed, and one to spare. */
#define CQ_MARGIN 4

typedef struct cq_segment {
    _Atomic(struct cq_segment *) next; /* the queue's next, set by the installer */
    struct cq_segment *spare_next;     /* the spare stack's link */
    struct cq_segment *all_next;       /* every segment, for the final free */
    _Atomic(crew_record *) slots[CQ_SLOTS];
} cq_segment;

struct crew_completion {
    _Alignas(CREW_CACHE_LINE) _Atomic uint64_t head;
    _Atomic(cq_segment *) head_seg;
    _Alignas(CREW_CACHE_LINE) _Atomic uint64_t tail;
    _Atomic(cq_segment *) tail_seg;
    _Alignas(CREW_CACHE_LINE) _Atomic(cq_segment *) spare;
    _Atomic(cq_segment *) all;
    _Atomic uint64_t provisioned; /* segments made, in the queue or spare */
    _Atomic uint64_t extra;       /* made by an installer that found no spare */
    /* Added (from the start of add) and not yet handed out (to the end of
     * next): the reservation, and next's ENOENT test. */
    _Alignas(CREW_CACHE_LINE) _Atomic int64_t reserved;
    _Atomic uint32_t event;    /* takers sleep here (sleep.c, "events") */
    _Atomic uint32_t sleepers;
    _Atomic uint64_t refs;     /* the owner's, plus one per note not yet fired */
    _Atomic int destroyed;
};

static void pause_briefly(unsigned *spins)
{
    if (++*spins < 32)
        crew_spin_hint();
    else
        sched_yield();
}

/* ---- segments ---- */

static cq_segment *segment_new(crew_completion *c)
{
    cq_segment *s = crew_aligned_alloc(CREW_CACHE_LINE, sizeof(*s));
    if (s == NULL)
        return NULL;
    atomic_init(&s->next, NULL);
    for (int i = 0; i < CQ_SLOTS; i++)
        atomic_init(&s->slots[i], NULL);
    /* Push-only list of every segment. Release: the final free (after the
     * last reference's AcqRel drop) walks it. */
    cq_segment *head = atomic_load_explicit(&c->all, memory_order_relaxed);
    do
        s->all_next = head;
    while (!atomic_compare_exchange_weak_explicit(&c->all, &head, s, memory_order_release,
                                                  memory_order_relaxed));
    return s;
}

static void spare_push(crew_completion *c, cq_segment *s)
{
    /* Relaxed load: a stale top only makes the CAS fail. Release CAS: the
     * popper sees spare_next (and, for a recycled segment, every taker's
     * reads of its slots happen before the installer resets them). */
    cq_segment *top = atomic_load_explicit(&c->spare, memory_order_relaxed);
    do
        s->spare_next = top;
    while (!atomic_compare_exchange_weak_explicit(&c->spare, &top, s, memory_order_release,
                                                  memory_order_relaxed));
}

/* One popper at a time (the installer): a segment seen on top stays there
 * until we pop it, so its spare_next is stable and the CAS has no ABA. */
static cq_segment *spare_pop(crew_completion *c)
{
    /* An RMW reads the top: the last value in the stack's modification
     * order, not an older one a plain load could return. Acquire: pairs
     * with the pushes' release. */
    cq_segment *top = NULL;
    if (atomic_compare_exchange_strong_explicit(&c->spare, &top, NULL, memory_order_acquire,
                                                memory_order_acquire))
        return NULL;
    while (top != NULL &&
           !atomic_compare_exchange_weak_explicit(&c->spare, &top, top->spare_next,
                                                  memory_order_acquire, memory_order_acquire))
        ;
    return top;
}

/* The segment to install after the tail's: a spare (reset by the taker
 * that recycled it, or new). */
static cq_segment *segment_for_install(crew_completion *c)
{
    cq_segment *s = spare_pop(c);
    if (s != NULL)
        return s;
    /* Not reached while the reservation holds (the tests check). */
    atomic_fetch_add_explicit(&c->extra, 1, memory_order_relaxed);
    unsigned spins = 0;
    while ((s = segment_new(c)) == NULL && (s = spare_pop(c)) == NULL)
        pause_briefly(&spins);
    atomic_fetch_add_explicit(&c->provisioned, 1, memory_order_relaxed);
    return s;
}

/* A segment whose every slot has been taken, back to the spare stack. */
static void segment_recycle(crew_completion *c, cq_segment *s)
{
    /* Relaxed: published by spare_push's release, which the installer's
     * acquire pop reads, and by the installer's release stores to the
     * threads that use the segment next. A stale taker may read these
     * slots meanwhile: its CAS on head fails. */
    atomic_store_explicit(&s->next, NULL, memory_order_relaxed);
    for (int i = 0; i < CQ_SLOTS; i++)
        atomic_store_explicit(&s->slots[i], NULL, memory_order_relaxed);
    spare_push(c, s);
}

/* Makes sure that at least reserved / 63 + CQ_MARGIN segments exist. */
static int provision(crew_completion *c, uint64_t reserved)
{
    uint64_t need = reserved / CQ_SLOTS + CQ_MARGIN;
    /* Acquire: pairs with the release increments, made after each push
     * onto the spare stack. Concurrent adds may each make one: a few
     * segments more than needed, never fewer. */
    while (atomic_load_explicit(&c->provisioned, memory_order_acquire) < need) {
        cq_segment *s = segment_new(c);
        if (s == NULL)
            return ENOMEM;
        spare_push(c, s);
        atomic_fetch_add_explicit(&c->provisioned, 1, memory_order_release);
    }
    return 0;
}

/* ---- the queue ---- */

/* On the thread completing r's future: r goes at the tail. */
static void cq_push(crew_completion *c, crew_record *r)
{
    unsigned spins = 0;
    for (;;) {
        /* Acquire on the position, then on the segment: pairs with the
         * installer's release stores (segment first, then position), so a
         * position in a new lap comes with its segment. */
        uint64_t t = atomic_load_explicit(&c->tail, memory_order_acquire);
        cq_segment *s = atomic_load_explicit(&c->tail_seg, memory_order_acquire);
        unsigned off = (unsigned)(t % CQ_LAP);
        if (off == CQ_SLOTS) {
            pause_briefly(&spins); /* another pusher installs a segment */
            continue;
        }
        /* Succeeds only if the tail did not move since we loaded s, so s
         * is position t's segment. AcqRel: the release sequence on the
         * tail carries the installations to later pushers. */
        if (!atomic_compare_exchange_weak_explicit(&c->tail, &t, t + 1, memory_order_acq_rel,
                                                   memory_order_relaxed))
            continue;
        if (off + 1 == CQ_SLOTS) {
            /* We took the last slot: install the next segment (reset
             * already). Nobody else changes the tail while it reads
             * offset 63. */
            cq_segment *n = segment_for_install(c);
            /* Release, all three: pushers that read the new position see
             * the segment (and its reset slots, which happened before our
             * pop); the taker of our slot (it reads the slot after this)
             * sees s->next. */
            atomic_store_explicit(&c->tail_seg, n, memory_order_release);
            atomic_store_explicit(&s->next, n, memory_order_release);
            atomic_store_explicit(&c->tail, t + 2, memory_order_release);
        }
        /* SeqCst store (release is what the taker needs): the waker's
         * change in the event handshake with sleeping takers. */
        atomic_store_explicit(&s->slots[off], r, memory_order_seq_cst);
        crew_event_signal(&c->event, &c->sleepers, 1);
        return;
    }
}

/* The oldest future, or NULL if the oldest position is not written (the
 * queue is empty, or a pusher is between its claim and its write: its
 * wake follows its write). */
static crew_record *cq_pop(crew_completion *c)
{
    unsigned spins = 0;
    for (;;) {
        /* Acquire, both: as in cq_push, for the head's moves. */
        uint64_t h = atomic_load_explicit(&c->head, memory_order_acquire);
        cq_segment *s = atomic_load_explicit(&c->head_seg, memory_order_acquire);
        unsigned off = (unsigned)(h % CQ_LAP);
        if (off == CQ_SLOTS) {
            pause_briefly(&spins); /* another taker moves the head */
            continue;
        }
        /* Acquire: pairs with the pusher's store (the record's result and
         * state, and s->next for the last slot). */
        crew_record *r = atomic_load_explicit(&s->slots[off], memory_order_acquire);
        if (r == NULL) {
            /* Relaxed: only tells an empty slot from a stale segment. */
            if (atomic_load_explicit(&c->head, memory_order_relaxed) != h)
                continue;
            return NULL;
        }
#ifdef CREW_NEGATIVE_CONTROL_COMPLETION_TAKE_CAS
        /* Broken on purpose: the claim is a plain store, so two takers can
         * take the same slot (and recycle the same segment twice). */
        atomic_store_explicit(&c->head, h + 1, memory_order_release);
#else
        /* AcqRel: the CASes on head form one release sequence, so every
         * earlier taker's read of this segment happens before its
         * recycling below; and a success proves our read (above). */
        if (!atomic_compare_exchange_weak_explicit(&c->head, &h, h + 1, memory_order_acq_rel,
                                                   memory_order_relaxed))
            continue;
#endif
        if (off + 1 == CQ_SLOTS) {
            /* We took the last slot: every slot of s is taken and read.
             * Recycle it, then move the head (other takers wait at
             * offset 63 and do not read s meanwhile). Recycling before
             * the move keeps s counted as the head's segment until it is
             * on the spare stack (the reservation argument). */
            cq_segment *n = atomic_load_explicit(&s->next, memory_order_acquire);
            segment_recycle(c, s);
            /* Release, both: as the installer's stores. */
            atomic_store_explicit(&c->head_seg, n, memory_order_release);
            atomic_store_explicit(&c->head, h + 2, memory_order_release);
        }
        return r;
    }
}

/* The condition of a taker's sleep: a written slot at the head, or
 * nothing left to hand out. All loads seq_cst (the event handshake). The
 * head is two words that a move changes in steps: a look is believed only
 * if the position read the same before and after (the injection queue's
 * argument: docs/scheduler.md, "Looking without taking"); otherwise it
 * answers "ready", and the taker looks again. */
static int cq_ready(void *ctx)
{
    crew_completion *c = ctx;
    if (atomic_load_explicit(&c->reserved, memory_order_seq_cst) == 0)
        return 1;
    for (int tries = 0; tries < 4; tries++) {
        uint64_t h = atomic_load_explicit(&c->head, memory_order_seq_cst);
        cq_segment *s = atomic_load_explicit(&c->head_seg, memory_order_seq_cst);
        unsigned off = (unsigned)(h % CQ_LAP);
        if (off == CQ_SLOTS)
            continue;
        crew_record *r = atomic_load_explicit(&s->slots[off], memory_order_seq_cst);
        if (atomic_load_explicit(&c->head, memory_order_seq_cst) == h)
            return r != NULL;
    }
    return 1;
}

/* One future added is handed out, or an add failed: the last one wakes
 * takers, who answer ENOENT. */
static void reserved_drop(crew_completion *c)
{
    /* SeqCst: the waker's change in the event handshake. */
    if (atomic_fetch_sub_explicit(&c->reserved, 1, memory_order_seq_cst) == 1)
        crew_event_signal(&c->event, &c->sleepers, INT_MAX);
}

/* ---- life ---- */

static void free_segments(crew_completion *c)
{
    cq_segment *s = atomic_load_explicit(&c->all, memory_order_acquire);
    while (s != NULL) {
        cq_segment *next = s->all_next;
        free(s);
        s = next;
    }
}

static void cq_free(crew_completion *c)
{
    /* Quiescent: what notes pushed after destroy's drain is still here. */
    crew_record *r;
    while ((r = cq_pop(c)) != NULL)
        crew_record_unref(r);
    free_segments(c);
    free(c);
}

static void cq_unref(crew_completion *c)
{
    /* AcqRel: every note's push happens before the final drain. */
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        cq_free(c);
}

/* A note: r's future is done. Runs on the completing thread (or in add,
 * for a future already done). */
static void note_fired(crew_future *f, void *ctx)
{
    crew_completion *c = ctx;
    crew_record *r = (crew_record *)f;
    /* Acquire: pairs with destroy's store; a note that misses it pushes,
     * and the final free drains what destroy's drain missed. */
    if (atomic_load_explicit(&c->destroyed, memory_order_acquire))
        crew_record_unref(r);
    else
        cq_push(c, r);
    cq_unref(c);
}

crew_completion *crew_completion_create(void)
{
    crew_completion *c = crew_aligned_alloc(CREW_CACHE_LINE, sizeof(*c));
    if (c == NULL)
        return NULL;
    atomic_init(&c->spare, NULL);
    atomic_init(&c->all, NULL);
    atomic_init(&c->extra, 0);
    atomic_init(&c->reserved, 0);
    atomic_init(&c->event, 0);
    atomic_init(&c->sleepers, 0);
    atomic_init(&c->refs, 1);
    atomic_init(&c->destroyed, 0);
    cq_segment *first = segment_new(c);
    atomic_init(&c->provisioned, 1);
    atomic_init(&c->head, 0);
    atomic_init(&c->head_seg, first);
    atomic_init(&c->tail, 0);
    atomic_init(&c->tail_seg, first);
    if (first == NULL || provision(c, 0) != 0) {
        free_segments(c);
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    return c;
}

int crew_completion_add(crew_completion *c, crew_future *f)
{
    crew_record *r = (crew_record *)f;
    if (c == NULL || r == NULL)
        return EINVAL;
    /* SeqCst: next's ENOENT test reads it in the event handshake. */
    int64_t reserved = atomic_fetch_add_explicit(&c->reserved, 1, memory_order_seq_cst) + 1;
    crew_done_node *note = NULL;
    if (provision(c, (uint64_t)reserved) != 0 ||
        (!crew_record_final(r) && (note = crew_done_node_get(r)) == NULL)) {
        reserved_drop(c);
        return ENOMEM;
    }
    crew_record_ref(r); /* the queue's own, handed out by next */
    /* Relaxed: the owner holds a reference; the note's drop is AcqRel. */
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    if (note != NULL) {
        note->next = NULL;
        note->fn = note_fired;
        note->ctx = c;
        if (crew_record_add_note(r, note))
            return 0;
        crew_done_node_put(r, note);
    }
    note_fired(f, c); /* done already: it counts as done now */
    return 0;
}

int crew_completion_next(crew_completion *c, const struct timespec *abstime, crew_future **out)
{
    if (c == NULL || out == NULL ||
        (abstime != NULL && (abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000)))
        return EINVAL;
    for (;;) {
        crew_record *r = cq_pop(c);
        if (r == NULL) {
            /* SeqCst: as in cq_ready. */
            if (atomic_load_explicit(&c->reserved, memory_order_seq_cst) == 0)
                return ENOENT;
            if (crew_event_wait(&c->event, &c->sleepers, cq_ready, c, abstime) != ETIMEDOUT)
                continue;
            /* A done future wins over a passed deadline. */
            if ((r = cq_pop(c)) == NULL)
                return atomic_load_explicit(&c->reserved, memory_order_seq_cst) == 0 ? ENOENT
                                                                                     : ETIMEDOUT;
        }
        reserved_drop(c);
        *out = (crew_future *)r;
        return 0;
    }
}

void crew_completion_destroy(crew_completion *c)
{
    if (c == NULL)
        return;
    /* Release: pairs with the notes' acquire load. */
    atomic_store_explicit(&c->destroyed, 1, memory_order_release);
    crew_record *r;
    while ((r = cq_pop(c)) != NULL)
        crew_record_unref(r);
    cq_unref(c);
}

void crew_completion_segment_counts_(const crew_completion *c, uint64_t *made, uint64_t *extra)
{
    /* Relaxed: statistics, read when the queue is quiet. */
    *made = atomic_load_explicit(&c->provisioned, memory_order_relaxed);
    *extra = atomic_load_explicit(&c->extra, memory_order_relaxed);
}
