/* The UTS tree generator (see uts.h for the definition it follows). */
#include "uts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Published in UTS's sample_trees.sh (size, leaves, depth). The depth of
 * the default tree is not published: -1. */
const uts_preset uts_t1 = {"T1", {.type = UTS_GEOMETRIC, .shape = UTS_FIXED, .b0 = 4, .gen_mx = 10,
                                  .seed = 19, .granularity = 1},
                           {4130071, 3305118, 10}};
const uts_preset uts_t2 = {"T2", {.type = UTS_GEOMETRIC, .shape = UTS_CYCLIC, .b0 = 6, .gen_mx = 16,
                                  .seed = 502, .granularity = 1},
                           {4117769, 2342762, 81}};
const uts_preset uts_t3 = {"T3", {.type = UTS_BINOMIAL, .b0 = 2000, .q = 0.124875, .m = 8,
                                  .seed = 42, .granularity = 1},
                           {4112897, 3599034, 1572}};
const uts_preset uts_t5 = {"T5", {.type = UTS_GEOMETRIC, .shape = UTS_LINEAR, .b0 = 4, .gen_mx = 20,
                                  .seed = 34, .granularity = 1},
                           {4147582, 2181318, 20}};
const uts_preset uts_small = {"small", {.type = UTS_GEOMETRIC, .shape = UTS_LINEAR, .b0 = 4,
                                        .gen_mx = 6, .seed = 0, .granularity = 1},
                              {1732, 1050, -1}};

const uts_preset *uts_preset_find(const char *name)
{
    static const uts_preset *const all[] = {&uts_t1, &uts_t2, &uts_t3, &uts_t5, &uts_small};
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

int uts_params_check(const uts_params *p)
{
    if (p == NULL || p->granularity < 1 || !(p->b0 >= 0 && p->b0 <= 1e6))
        return EINVAL;
    if (p->type == UTS_BINOMIAL)
        return p->m >= 0 && p->m <= UTS_MAX_CHILDREN && p->q >= 0 && p->q <= 1 ? 0 : EINVAL;
    if (p->type != UTS_GEOMETRIC || p->shape < UTS_LINEAR || p->shape > UTS_FIXED)
        return EINVAL;
    /* expdec divides by log(d): d = 1 would make it infinite. */
    return p->gen_mx >= 1 && !(p->shape == UTS_EXPDEC && p->gen_mx < 2) ? 0 : EINVAL;
}

static void store_be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

void uts_root(const uts_params *p, uts_node *root)
{
    unsigned char msg[20] = {0};
    store_be32(msg + 16, (uint32_t)p->seed);
    uts_sha1(msg, sizeof msg, root->state);
    root->depth = 0;
}

/* The draw: bytes 16..19, big-endian, top bit cleared, over 2^31. */
static double uniform(const uts_node *n)
{
    const unsigned char *s = n->state;
    uint32_t v = (uint32_t)s[16] << 24 | (uint32_t)s[17] << 16 | (uint32_t)s[18] << 8 | s[19];
    return (double)(v & 0x7fffffffu) / 2147483648.0;
}

static double expected_branching(const uts_params *p, int h)
{
    if (h == 0)
        return p->b0;
    double d = p->gen_mx;
    switch (p->shape) {
    case UTS_EXPDEC:
        return p->b0 * pow((double)h, -log(p->b0) / log(d));
    case UTS_CYCLIC:
        return h > 5 * p->gen_mx ? 0.0 : pow(p->b0, sin(2.0 * 3.141592653589793 * h / d));
    case UTS_FIXED:
        return h < p->gen_mx ? p->b0 : 0.0;
    case UTS_LINEAR:
    default:
        return p->b0 * (1.0 - h / d);
    }
}

int uts_num_children(const uts_params *p, const uts_node *n)
{
    int k;
    if (p->type == UTS_BINOMIAL) {
        if (n->depth == 0)
            return (int)floor(p->b0);
        k = uniform(n) < p->q ? p->m : 0;
    } else {
        double b = expected_branching(p, n->depth);
        /* b = 0: p = 1, log(1 - p) = -inf and the quotient is 0 (or -0):
         * no children, as in UTS. A negative b (linear past depth d) gives
         * p > 1 and a NaN logarithm: also none. */
        if (!(b > 0))
            return 0;
        double prob = 1.0 / (1.0 + b);
        double c = floor(log(1.0 - uniform(n)) / log(1.0 - prob));
        k = c > UTS_MAX_CHILDREN ? UTS_MAX_CHILDREN : (int)c;
    }
    return k > UTS_MAX_CHILDREN ? UTS_MAX_CHILDREN : k;
}

void uts_child(const uts_params *p, const uts_node *parent, int i, uts_node *child)
{
    unsigned char msg[UTS_STATE_BYTES + 4];
    memcpy(msg, parent->state, UTS_STATE_BYTES);
    store_be32(msg + UTS_STATE_BYTES, (uint32_t)i);
    for (int g = 0; g < p->granularity; g++)
        uts_sha1(msg, sizeof msg, child->state);
    child->depth = parent->depth + 1;
}

void uts_count_add(uts_count *a, const uts_count *b)
{
    a->nodes += b->nodes;
    a->leaves += b->leaves;
    if (b->max_depth > a->max_depth)
        a->max_depth = b->max_depth;
}

/* One frame of the walk: a node and the children still to visit. */
typedef struct frame {
    uts_node node;
    int next, count;
} frame;

uts_count uts_walk(const uts_params *p)
{
    uts_count c = {0, 0, 0};
    size_t cap = 64, top = 0;
    frame *stack = malloc(cap * sizeof *stack);
    if (stack == NULL)
        return c;
    uts_root(p, &stack[0].node);
    stack[0].next = 0;
    stack[0].count = uts_num_children(p, &stack[0].node);
    top = 1;
    c.nodes = 1;
    c.leaves = stack[0].count == 0;
    while (top > 0) {
        frame *f = &stack[top - 1];
        if (f->next == f->count) {
            top--;
            continue;
        }
        if (top == cap) {
            frame *bigger = realloc(stack, 2 * cap * sizeof *stack);
            if (bigger == NULL) {
                free(stack);
                return (uts_count){0, 0, 0};
            }
            stack = bigger;
            cap *= 2;
            f = &stack[top - 1];
        }
        frame *g = &stack[top];
        uts_child(p, &f->node, f->next++, &g->node);
        g->next = 0;
        g->count = uts_num_children(p, &g->node);
        c.nodes++;
        c.leaves += g->count == 0;
        if (g->node.depth > c.max_depth)
            c.max_depth = g->node.depth;
        top++;
    }
    free(stack);
    return c;
}
