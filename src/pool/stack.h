/*
 * The node of the object pool's Treiber stack, and an out-of-line form of
 * the stack for the tests.
 *
 * The stack itself lives in treiber.h, whose double-width CAS may need a
 * compiler flag (src/common/port.h): only the library is built with it.
 * This header has no libatomic_ops type in it, so the tests (built
 * without it) can include it and drive the very same push and pop
 * through the crew_objpool_stack_* functions below.
 *
 * Who may call what, concurrently:
 *   crew_objpool_stack_push, crew_objpool_stack_pop  any thread, any number at once;
 *   crew_objpool_stack_create, _destroy           nobody else may touch it.
 *
 * A node pushed must stay allocated until the stack is destroyed, even
 * after it has been popped again: a concurrent pop may still read its
 * `next` (docs/pool.md, "Why no pop reads freed memory").
 */
#ifndef CREW_OBJPOOL_STACK_H
#define CREW_OBJPOOL_STACK_H

#include <stdatomic.h>

typedef struct crew_objpool_node {
    /* The link to the node below while on a stack. Atomic because a stale
     * pop may read it while the node's new owner writes it before pushing
     * it again (that pop's CAS then fails). */
    _Atomic(struct crew_objpool_node *) next;
    /* The object this node carries; NULL for a node that carries none.
     * Read and written only by the thread that holds the node. */
    void *obj;
} crew_objpool_node;

typedef struct crew_objpool_stack crew_objpool_stack;

/* An empty stack, or NULL with errno ENOMEM. */
crew_objpool_stack *crew_objpool_stack_create(void);

/* Frees the stack, not the nodes: they are the caller's. */
void crew_objpool_stack_destroy(crew_objpool_stack *s);

/* Any thread. n must be held by the caller (not on any stack). */
void crew_objpool_stack_push(crew_objpool_stack *s, crew_objpool_node *n);

/* Any thread. The node most recently pushed, now the caller's; NULL when
 * the stack was empty when looked at. */
crew_objpool_node *crew_objpool_stack_pop(crew_objpool_stack *s);

#endif /* CREW_OBJPOOL_STACK_H */
