/*
 * The injection queue: where threads outside the crew put work. An
 * unbounded multi-producer multi-consumer FIFO of fixed-size segments.
 *
 * Progress, exactly (docs/scheduler.md, "The injection queue"): lock-free
 * except in three windows of a few instructions each, none holding a lock,
 * allocating or making a system call:
 *  1. the producer that claims a segment's last slot installs the next
 *     segment: other producers wait for it (they see offset 63);
 *  2. the consumer that claims a segment's last slot moves the head to the
 *     next segment: other consumers wait for it (crew_injector_empty does
 *     not wait: it answers "not empty");
 *  3. a producer between its claim and its write hides the items behind
 *     it: consumers see the queue as empty until it writes (and its wake
 *     call follows the write).
 * A thread preempted in window 1 or 2 stops the other threads of its side
 * until it runs again, so strictly the queue is blocking, not lock-free in
 * the formal sense. Outside the windows, an operation finishes in a
 * bounded number of its own steps unless another's CAS succeeded
 * meanwhile.
 *
 * Who may call what: push and pop from any thread, concurrently.
 */
#ifndef CREW_SCHED_INJECTOR_H
#define CREW_SCHED_INJECTOR_H

#include <crew.h>

#include <stdatomic.h>
#include <stdint.h>

#define CREW_INJ_LAP 64                   /* positions per segment lap */
#define CREW_INJ_SLOTS (CREW_INJ_LAP - 1) /* usable; the last position
                                             marks "next segment being
                                             installed" */

/* What a slot carries: a posted function and argument inline (no record
 * needed), or a job record (futures, group tasks, crew_run roots). */
typedef enum crew_inj_kind {
    CREW_INJ_POST = 0, /* fn(arg) */
    CREW_INJ_JOB = 1,  /* ref is a crew_job_ with a finish handler */
} crew_inj_kind;

typedef struct crew_inj_item {
    crew_fn fn;
    void *arg;
    void *ref;
    uintptr_t kind;
} crew_inj_item;

/* The item's words are atomics (relaxed) because a consumer copies them
 * before its claiming CAS, possibly from a slot being reused: the failed
 * CAS then discards the copy. */
typedef struct crew_inj_slot {
    _Atomic(crew_fn) fn;
    _Atomic(void *) arg;
    _Atomic(void *) ref;
    _Atomic uintptr_t kind;
    _Atomic uint32_t state; /* 0, or WRITTEN once the item is in place */
} crew_inj_slot;

/* Segments are type-stable: they come from an object pool that never frees
 * them before the queue is destroyed, because a consumer may read a slot
 * of a segment that has meanwhile been recycled (its CAS then fails). */
typedef struct crew_inj_segment {
    _Atomic(struct crew_inj_segment *) next;
    crew_inj_slot slots[CREW_INJ_SLOTS];
} crew_inj_segment;

/* One end of the queue: a position (lap * 64 + offset) and its segment.
 * The tail's top bit is the queue's closed flag. */
typedef struct crew_inj_end {
    _Alignas(64) _Atomic uint64_t index;
    _Atomic(crew_inj_segment *) seg;
} crew_inj_end;

typedef struct crew_injector {
    crew_inj_end head;
    crew_inj_end tail;
    crew_objpool *segments; /* unlimited idle: never frees before destroy */
} crew_injector;

int crew_injector_init(crew_injector *q);
/* Frees the segments. Items still inside are the caller's: pop them first. */
void crew_injector_destroy(crew_injector *q);
/* Any thread. 0, ENOMEM (a new segment could not be had) or ESHUTDOWN
 * (closed); on failure nothing changed. */
int crew_injector_push(crew_injector *q, const crew_inj_item *item);
/* The same, even when closed (shutdown putting back a crew_run root). */
int crew_injector_push_even_closed(crew_injector *q, const crew_inj_item *item);
/* Any thread. Up to max (<= CREW_INJ_SLOTS) of the oldest items with one
 * claim, in order; how many. Takes only a run of items already written,
 * and at most 1 + (run - 1) / share of it, so that other consumers get
 * their part of a short queue. */
unsigned crew_injector_pop_batch(crew_injector *q, crew_inj_item *out,
                                 unsigned max, unsigned share);
/* Refuses pushes from now on. A push that claimed its position before
 * still completes, and its item can be popped. Any thread. */
void crew_injector_close(crew_injector *q);
int crew_injector_closed(crew_injector *q);
/* Items ever accepted (seq_cst): the position count, less skipped ones. */
uint64_t crew_injector_pushed(crew_injector *q);
/* Any thread: whether the oldest position looked empty (seq_cst loads:
 * the sleep protocol relies on them). */
int crew_injector_empty(crew_injector *q);
/* Shutdown's drain: like pop, but waits for positions claimed and not yet
 * written instead of reporting empty. */
int crew_injector_pop_claimed(crew_injector *q, crew_inj_item *out);

#endif
