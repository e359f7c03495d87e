/*
 * The injection queue: where threads outside the crew put work. An
 * unbounded multi-producer multi-consumer FIFO of fixed-size segments.
 *
 * Progress, honestly: producers and consumers claim positions with a CAS
 * (lock-free), but a consumer that claims a position whose producer has
 * claimed it and not yet written the item waits for that write. So it is
 * "non-blocking in practice", like Vyukov's ring: a producer preempted in
 * the two instructions between its claim and its write stalls the one
 * consumer of that slot (nobody else). docs/scheduler.md has the argument.
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

typedef struct crew_inj_slot {
    _Atomic(crew_job_ *) item;
    _Atomic uint32_t state; /* CREW_INJ_WRITTEN | READ | DESTROY bits */
} crew_inj_slot;

typedef struct crew_inj_segment {
    _Atomic(struct crew_inj_segment *) next;
    crew_inj_slot slots[CREW_INJ_SLOTS];
} crew_inj_segment;

/* One end of the queue: a position (lap * 64 + offset) and its segment. */
typedef struct crew_inj_end {
    _Alignas(64) _Atomic uint64_t index;
    _Atomic(crew_inj_segment *) seg;
} crew_inj_end;

typedef struct crew_injector {
    crew_inj_end head;
    crew_inj_end tail;
    /* One retired segment kept for the next producer that needs one, so a
     * steady stream of submissions allocates nothing. */
    _Alignas(64) _Atomic(crew_inj_segment *) spare;
} crew_injector;

int crew_injector_init(crew_injector *q);
/* Frees the segments. Items still inside are the caller's: pop them first. */
void crew_injector_destroy(crew_injector *q);
/* Any thread. 0 or ENOMEM (a new segment could not be had; nothing
 * changed). */
int crew_injector_push(crew_injector *q, crew_job_ *job);
/* Any thread. The oldest item, or NULL when the queue was empty. */
crew_job_ *crew_injector_pop(crew_injector *q);
/* Any thread: whether the queue looked empty (seq_cst loads: the sleep
 * protocol relies on them). */
int crew_injector_empty(crew_injector *q);

#endif
