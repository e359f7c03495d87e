/*
 * The Chase-Lev work-stealing deque (Chase and Lev, SPAA 2005), with the
 * C11 memory orders of Le, Pop, Cohen and Zappa Nardelli (PPoPP 2013).
 * docs/deque.md holds the invariant and the full ordering argument.
 *
 * Who may call what, concurrently:
 *   crew_deque_push, crew_deque_pop      the owner only (one thread);
 *   crew_deque_steal                     any thread, any number at once,
 *                                        concurrently with the owner;
 *   crew_deque_init, crew_deque_destroy  nobody else may touch the deque;
 *   crew_deque_size_estimate             any thread (a racy hint).
 *
 * Items are non-NULL pointers. The owner works at the bottom (LIFO), thieves
 * take from the top (FIFO: the oldest item first).
 */
#ifndef CREW_DEQUE_H
#define CREW_DEQUE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* A circular array of 2^k slots. Arrays replaced by growth are kept on the
 * owner's retired list until destroy: a thief may still be reading one. */
typedef struct crew_deque_array {
    int64_t mask; /* capacity - 1 */
    struct crew_deque_array *retired_next;
    _Atomic(void *) slots[];
} crew_deque_array;

typedef struct crew_deque {
    /* Thieves CAS top; the owner writes bottom. Each on its own cache line
     * so a steal does not invalidate the line the owner's push writes. */
    _Alignas(64) _Atomic(int64_t) top;
    _Alignas(64) _Atomic(int64_t) bottom;
    _Atomic(crew_deque_array *) array;
    crew_deque_array *retired; /* owner only */
} crew_deque;

typedef enum crew_steal_result {
    CREW_STEAL_OK = 0, /* *out holds the oldest item, now the thief's */
    CREW_STEAL_EMPTY,  /* the deque was empty when looked at */
    CREW_STEAL_RETRY,  /* lost a race (to the owner or another thief): the
                          deque may hold work, try again */
} crew_steal_result;

/* capacity is rounded up to a power of two (at least 2). 0 or ENOMEM. */
int crew_deque_init(crew_deque *d, size_t capacity);

/* Frees the array and every retired array. Items still inside are not
 * touched: the caller owns them. */
void crew_deque_destroy(crew_deque *d);

/* Owner only. 0, or ENOMEM when the deque was full and could not grow: the
 * item was not pushed and is still the caller's (run it inline). */
int crew_deque_push(crew_deque *d, void *item);

/* Owner only. The newest item, or NULL when empty (or when a thief won the
 * race for the last item). */
void *crew_deque_pop(crew_deque *d);

/* Any thread. See crew_steal_result. */
crew_steal_result crew_deque_steal(crew_deque *d, void **out);

/* Any thread: like crew_deque_steal, but only an item at index floor or
 * above (pushed after the owner's bottom was at floor); an older top item
 * gives CREW_STEAL_EMPTY. If veto is not NULL, it is asked after bottom has
 * been read (acquire) and before the claiming CAS; a non-zero answer gives
 * CREW_STEAL_EMPTY. Leapfrogging uses both to take only the subtasks of
 * the job a victim runs, and nothing once that job is done. */
crew_steal_result crew_deque_steal_above(crew_deque *d, int64_t floor,
                                         int (*veto)(void *), void *veto_arg,
                                         void **out);

/* Owner only: the current bottom index (for crew_deque_steal_above). */
int64_t crew_deque_bottom(crew_deque *d);

/* Any thread: bottom - top as read at some recent moment, never negative.
 * Exact only when nobody else is using the deque. */
size_t crew_deque_size_estimate(crew_deque *d);

/* Test hook: how the last-item race of one pop went. */
typedef enum crew_pop_path {
    CREW_POP_NO_RACE = 0, /* took an item that was not the last, or none */
    CREW_POP_CAS_WON,     /* last item: the CAS on top won against thieves */
    CREW_POP_CAS_LOST,    /* last item: a thief's CAS came first */
} crew_pop_path;

/* Owner only: crew_deque_pop that also reports which path it took. */
void *crew_deque_pop_traced(crew_deque *d, crew_pop_path *path);

#endif /* CREW_DEQUE_H */
