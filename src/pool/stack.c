/*
 * The Treiber stack of treiber.h behind an opaque type, for the tests
 * (which are built without the library's flags and so may not include
 * treiber.h). The pool inlines the same functions.
 */
#include "pool/stack.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "pool/treiber.h"

struct crew_objpool_stack {
    /* 16-byte alignment is what the double-width CAS needs; a line of its
     * own keeps the test's other data off it. */
    _Alignas(64) crew_treiber head;
};

crew_objpool_stack *crew_objpool_stack_create(void)
{
    crew_objpool_stack *s = crew_aligned_alloc(64, sizeof(*s));
    if (s == NULL)
        return NULL;
    crew_treiber_init(&s->head);
    return s;
}

void crew_objpool_stack_destroy(crew_objpool_stack *s)
{
    free(s);
}

void crew_objpool_stack_push(crew_objpool_stack *s, crew_objpool_node *n)
{
    crew_treiber_push(&s->head, n);
}

crew_objpool_node *crew_objpool_stack_pop(crew_objpool_stack *s)
{
    return crew_treiber_pop(&s->head);
}
