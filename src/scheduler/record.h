/*
 * Detached task records: what a submitted, posted or group task lives in
 * (record.c), shared by the executor (executor.c) and groups (group.c).
 *
 * A record's job state moves PENDING -> RUNNING -> DONE, or PENDING ->
 * CANCELLED; whoever wins the CAS out of PENDING runs it (a worker that
 * dequeued it, or a worker waiting on its future or group) or cancels it.
 * References: the queue entry holds one (dropped by whoever dequeues it,
 * after running and waking), a future's submitter holds one
 * (crew_future_release), a group's list one per group task. Records go
 * back to the pool's object pool when the last reference goes. Futures
 * (and group tasks) may outlive their pool: each holds a reference on the
 * records' home, which the pool drops at destroy; the last one out
 * destroys the object pool.
 */
#ifndef CREW_SCHED_RECORD_H
#define CREW_SCHED_RECORD_H

#include "scheduler/internal.h"

#include <stddef.h>

typedef enum crew_record_kind {
    CREW_RECORD_FUTURE, /* crew_submit: the submitter holds a reference */
    CREW_RECORD_POST,   /* crew_post from inside the pool: the queue's only */
    CREW_RECORD_GROUP,  /* crew_group_post: the group's list holds one */
} crew_record_kind;

typedef struct crew_records crew_records;

/* A done callback or an internal note on a record (callbacks.c). */
typedef struct crew_done_node {
    struct crew_done_node *next; /* the LIFO chain (pointers are 8-aligned) */
    crew_done_fn fn;
    void *ctx;
    /* 1: crew_malloc'd, and the runner frees it after reading it, before
     * calling fn; 0: it lives in a record (first_node) or a waiter's
     * block, whose owner frees it. */
    int owned;
} crew_done_node;

/* A serial queue's task list is an intrusive MPSC list of these links
 * (serial.c): in a submitted task's record, in a posted task's node, in a
 * wait's marker; `kind` says which. */
typedef struct crew_serial_link {
    struct crew_serial_link *_Atomic next;
    uint32_t kind;
} crew_serial_link;

typedef struct crew_record {
    crew_job_ job; /* first: queues hold &job (the first cache line) */
    /* Then everything a submit writes or a run reads, up to byte 128;
     * after it what only groups, serial queues and callbacks use, written
     * by them alone, so a plain submit writes two cache lines' worth, as
     * before those features existed (with a million futures alive, as in
     * crew-bench submit, the records are memory traffic). */
    _Atomic uint32_t refs;
    _Atomic uint32_t waiters; /* threads sleeping on job.state */
    crew_record_kind kind;
    /* The first node registered while pending needs no allocation: most
     * futures get one callback or one completion queue's note. 0 whenever
     * first_node is free (set once when the object is built: every taker
     * puts it back before the record is recycled). */
    _Atomic uint32_t first_node_taken;
    crew_pool *pool;   /* valid while queued or running */
    crew_group *group; /* CREW_RECORD_GROUP, else NULL */
    crew_records *home;
    /* Done callbacks and notes (callbacks.c): 0, a push-only LIFO chain of
     * crew_done_node while the future is pending, then CREW_CB_BUSY (a
     * thread runs its callbacks: it holds the "turn") or CREW_CB_CLOSED.
     * Late on_done callers wait for the turn on cb_event (both set once
     * when the object is built; the sleepers' count is back to 0 whenever
     * nobody waits). */
    _Atomic uintptr_t callbacks;
    _Atomic uint32_t cb_event;
    _Atomic uint32_t cb_sleepers;
    struct crew_serial *serial; /* its serial queue; read only under CREW_JOB_SERIAL */

    /* The third line: set only by the feature that uses it. */
    struct crew_record *group_next; /* the group's list (CREW_RECORD_GROUP) */
    crew_serial_link serial_link;   /* its place in its serial queue's list */
    crew_done_node first_node;
} crew_record;
_Static_assert(offsetof(crew_record, group_next) <= 128,
               "a plain submit's fields fit two cache lines");

/* A record for fn(arg), its references counted for its kind, its finish
 * handler set to the dequeue handler: NULL with *rc EINVAL (NULL pool or
 * fn) or ENOMEM. */
crew_record *crew_record_new(crew_pool *pool, crew_fn fn, void *arg, crew_record_kind kind,
                             int *rc);
/* Undoes a record whose enqueue failed (it never ran, nobody saw it). */
void crew_record_discard(crew_record *r);
/* Drops one reference; the last one recycles the record. */
void crew_record_unref(crew_record *r);
/* Takes one more reference; the caller holds one already. */
void crew_record_ref(crew_record *r);
/* PENDING -> RUNNING: 1 if the caller won and must run it. */
int crew_record_claim(crew_record *r);
/* Runs a claimed record on worker w (its own leapfrog floor) and
 * completes it: result, DONE, waiters woken, counts, its group. */
void crew_record_run_claimed(crew_record *r, crew_worker *w);
/* Marks a record final (DONE or CANCELLED), wakes its waiters and runs
 * its done callbacks, if any (callbacks.c). The caller holds a reference. */
void crew_record_finalize(crew_record *r, uint32_t final);
/* DONE or CANCELLED (acquire). */
int crew_record_final(const crew_record *r);
/* Sleeps until final, or ns pass (ns > 0), or abstime (CLOCK_REALTIME)
 * passes: 0 or ETIMEDOUT. */
int crew_record_sleep(crew_record *r, long ns, const struct timespec *abstime);

/* callbacks.c: the completer saw callbacks registered on a final record:
 * claim and run them (the caller holds a reference). */
void crew_record_run_callbacks(crew_record *r);

/* group.c: one of the group's tasks finished or was cancelled. */
void crew_group_task_done(crew_group *g);

/* serial.c: the tasks a busy serial queue runs before its drain yields
 * its worker (goes to the back of the injection queue). */
#define CREW_SERIAL_TURN 64
/* serial.c: whether the calling thread is running a task of s, lower on
 * its stack (so that waiting for s's later tasks would wait for itself).
 * Compares addresses only: s may be gone. */
int crew_serial_running_here(const struct crew_serial *s);

#endif
