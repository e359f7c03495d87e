/*
 * Done callbacks (callbacks.c): what a future runs when it is done. Users
 * register them with crew_future_on_done; waitset.c (wait_any, wait_all)
 * and completion.c (completion queues) register internal "notes" through
 * the same list.
 *
 * A record's `callbacks` word is 0 or a LIFO chain of nodes while the
 * future is pending; whoever claims the list (the completer, or a
 * registration that raced the completion) swaps in CREW_CB_BUSY and holds
 * the future's callback "turn" while it runs them, then stores
 * CREW_CB_CLOSED. A registration that finds the word BUSY or CLOSED knows
 * the future is done. docs/scheduler.md, "Futures that compose", has the
 * argument.
 */
#ifndef CREW_SCHED_CALLBACKS_H
#define CREW_SCHED_CALLBACKS_H

#include "scheduler/record.h"

/* Claimed, a thread runs the callbacks (holds the turn). */
#define CREW_CB_BUSY ((uintptr_t)1)
/* Claimed, nobody runs callbacks: a late on_done may take the turn. */
#define CREW_CB_CLOSED ((uintptr_t)2)

/* A node for r: its own first_node if no one took it yet, else a new
 * one (NULL when out of memory); owned says which. */
crew_done_node *crew_done_node_get(crew_record *r);
/* Gives back a node got for r and never registered. */
void crew_done_node_put(crew_record *r, crew_done_node *node);

/* Registers an internal note on r: 1 if it will run (or already ran, in
 * this call, when the registration raced the completion), 0 if r was
 * already done (the node is untouched; the caller acts at once). The
 * note's fn runs without the turn: it must not call user code. */
int crew_record_add_note(crew_record *r, crew_done_node *node);

/* completion.c, for the tests: the segments made so far, and those an
 * installer had to make because it found no spare (0 while the
 * reservation argument holds). */
void crew_completion_segment_counts_(const crew_completion *c, uint64_t *made,
                                     uint64_t *extra);

#endif
