/*
 * Done callbacks: crew_future_on_done, and the internal notes of
 * waitset.c and completion.c (callbacks.h). docs/scheduler.md, "Futures
 * that compose", is the design and the argument.
 *
 * The record's `callbacks` word:
 *   0 / chain   pending: registrations push nodes with a CAS (LIFO);
 *   BUSY        claimed: one thread holds the future's callback turn and
 *               runs what it claimed, in registration order;
 *   CLOSED      claimed, the turn is free.
 * Anyone who knows the record is final may claim with an exchange to
 * BUSY: it then holds the turn if the old value was 0, a chain or CLOSED,
 * and has changed nothing if it was BUSY. The holder stores CLOSED when
 * done. The completer claims only when its one load sees a non-zero word
 * (record.c), so completion without callbacks costs that load alone.
 */
#include "scheduler/callbacks.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "common/alloc.h"

/* The turns this thread holds, innermost first (a callback of one future
 * may complete or cancel another, which runs that one's callbacks here). */
typedef struct cb_frame {
    crew_record *r;
    crew_done_node *deferred; /* on_done from inside r's callbacks, in order */
    crew_done_node **deferred_tail;
    struct cb_frame *outer;
} cb_frame;

static _Thread_local cb_frame *cb_frames;

static cb_frame *frame_of(const crew_record *r)
{
    for (cb_frame *f = cb_frames; f != NULL; f = f->outer)
        if (f->r == r)
            return f;
    return NULL;
}

static crew_done_node *reverse(crew_done_node *n)
{
    crew_done_node *out = NULL;
    while (n != NULL) {
        crew_done_node *next = n->next;
        n->next = out;
        out = n;
        n = next;
    }
    return out;
}

/* Runs a list in order. Each node is read, and freed if owned, before its
 * function runs: the function may free the memory an unowned node lives
 * in. */
static void run_list(crew_record *r, crew_done_node *n)
{
    while (n != NULL) {
        crew_done_node *next = n->next;
        crew_done_fn fn = n->fn;
        void *ctx = n->ctx;
        if (n->owned)
            free(n);
        fn((crew_future *)r, ctx);
        n = next;
    }
}

static int turn_free(void *ctx)
{
    /* SeqCst: the condition's load in the event handshake (sleep.c). */
    crew_record *r = ctx;
    return atomic_load_explicit(&r->callbacks, memory_order_seq_cst) != CREW_CB_BUSY;
}

/* With the turn held (the word is BUSY) and a reference on r: runs the
 * claimed chain (LIFO as pushed) in registration order, then `last`, then
 * whatever those callbacks added to r from this thread, and gives the turn
 * back. */
static void run_turn(crew_record *r, uintptr_t claimed, crew_done_node *last)
{
    cb_frame frame = {r, NULL, NULL, cb_frames};
    frame.deferred_tail = &frame.deferred;
    cb_frames = &frame;
    if (claimed != 0 && claimed != CREW_CB_CLOSED)
        run_list(r, reverse((crew_done_node *)claimed));
    if (last != NULL)
        run_list(r, last);
    while (frame.deferred != NULL) {
        crew_done_node *list = frame.deferred;
        frame.deferred = NULL;
        frame.deferred_tail = &frame.deferred;
        run_list(r, list);
    }
    cb_frames = frame.outer;
    /* SeqCst store: the waker's change in the event handshake with late
     * on_done callers (they announce, then read the word). Release is what
     * the next holder needs: our callbacks happen before its own. */
    atomic_store_explicit(&r->callbacks, CREW_CB_CLOSED, memory_order_seq_cst);
    crew_event_signal(&r->cb_event, &r->cb_sleepers, INT_MAX);
}

/* Claims r's list (r is final; the caller holds a reference) and runs it
 * if it got the turn; returns at once if another thread holds it (that
 * thread runs everything that was on the list). */
void crew_record_run_callbacks(crew_record *r)
{
    /* AcqRel: acquire pairs with the registrations' release pushes (the
     * nodes' contents) and with the last holder's store of CLOSED; release
     * keeps our own earlier writes before the turn we take. */
    uintptr_t old = atomic_exchange_explicit(&r->callbacks, CREW_CB_BUSY, memory_order_acq_rel);
    if (old == CREW_CB_BUSY)
        return;
    /* A callback may release the last other reference to r. */
    crew_record_ref(r);
    run_turn(r, old, NULL);
    crew_record_unref(r);
}

/* Pushes node unless the list is claimed: 1 pushed, 0 claimed (r is
 * final). */
static int push_node(crew_record *r, crew_done_node *node)
{
    /* Relaxed: a stale value only makes the CAS fail. */
    uintptr_t head = atomic_load_explicit(&r->callbacks, memory_order_relaxed);
    do {
        if (head == CREW_CB_BUSY || head == CREW_CB_CLOSED)
            return 0;
        node->next = (crew_done_node *)head;
        /* SeqCst: the registration's half of the handshake with the
         * completer (below); release publishes the node's contents. */
    } while (!atomic_compare_exchange_weak_explicit(&r->callbacks, &head, (uintptr_t)node,
                                                    memory_order_seq_cst,
                                                    memory_order_relaxed));
#ifndef CREW_NEGATIVE_CONTROL_FUTURE_CALLBACK_RECHECK
    /* SeqCst load of the state after the seq_cst push; the completer
     * exchanges the state (seq_cst) and then loads the list (seq_cst).
     * In their single order, either its load follows our push (it sees a
     * non-zero list and claims it) or our load follows its exchange (we
     * see the record final here). In the second case it may have read the
     * list before our push and gone: claim it ourselves. Both may claim;
     * the exchange lets one run the list. */
    uint32_t s = __atomic_load_n(&r->job.state, __ATOMIC_SEQ_CST);
    if (s == CREW_JOB_DONE || s == CREW_JOB_CANCELLED)
        crew_record_run_callbacks(r);
#endif
    return 1;
}

crew_done_node *crew_done_node_get(crew_record *r)
{
    /* Relaxed test first (it is mostly taken once used); the exchange
     * decides. Acquire: pairs with crew_done_node_put's release, so a
     * thread that got the node back from another writes its fields after
     * that one's writes (the node's readers see it through its push). */
    if (atomic_load_explicit(&r->first_node_taken, memory_order_relaxed) == 0 &&
        atomic_exchange_explicit(&r->first_node_taken, 1, memory_order_acquire) == 0) {
        r->first_node.owned = 0;
        return &r->first_node;
    }
    crew_done_node *node = crew_malloc(sizeof(*node));
    if (node != NULL)
        node->owned = 1;
    return node;
}

void crew_done_node_put(crew_record *r, crew_done_node *node)
{
    if (node->owned)
        free(node);
    else
        /* Release: our writes to the node happen before the next taker's. */
        atomic_store_explicit(&r->first_node_taken, 0, memory_order_release);
}

int crew_record_add_note(crew_record *r, crew_done_node *node)
{
    if (crew_record_final(r))
        return 0;
    return push_node(r, node);
}

/* on_done on a future that is done: take the turn, waiting for a holder
 * on another thread to finish, and run the chain that may still be
 * unclaimed, then fn. */
static void run_late(crew_record *r, crew_done_fn fn, void *ctx)
{
    crew_done_node me = {NULL, fn, ctx, 0};
    for (;;) {
        /* AcqRel: as in crew_record_run_callbacks. */
        uintptr_t old =
            atomic_exchange_explicit(&r->callbacks, CREW_CB_BUSY, memory_order_acq_rel);
        if (old != CREW_CB_BUSY) {
            crew_record_ref(r);
            run_turn(r, old, &me);
            crew_record_unref(r);
            return;
        }
        /* Another thread runs r's callbacks: ours must come after them. */
        crew_event_wait(&r->cb_event, &r->cb_sleepers, turn_free, r, NULL);
    }
}

int crew_future_on_done(crew_future *f, crew_done_fn fn, void *ctx)
{
    crew_record *r = (crew_record *)f;
    if (r == NULL || fn == NULL)
        return EINVAL;
    cb_frame *mine = frame_of(r);
    if (mine != NULL || !crew_record_final(r)) {
        crew_done_node *node = crew_done_node_get(r);
        if (node == NULL)
            return ENOMEM;
        node->next = NULL;
        node->fn = fn;
        node->ctx = ctx;
        if (mine != NULL) {
            /* From inside one of r's callbacks, on the thread holding its
             * turn: after the callbacks already due, before the turn is
             * given back (waiting for the turn here would wait for
             * ourselves). */
            *mine->deferred_tail = node;
            mine->deferred_tail = &node->next;
            return 0;
        }
        if (push_node(r, node))
            return 0;
        crew_done_node_put(r, node); /* it became done: run it here */
    }
    run_late(r, fn, ctx);
    return 0;
}
