/*
 * Model of the object pool's Treiber stack (src/pool/treiber.h): push,
 * pop and the {top, version} head swapped by one 16-byte CAS.
 *
 * The transcription is line for line; the orders are the C code's, read
 * from its tags by gen_orders.py (model_orders.h), and so is the version
 * step, CREW_TREIBER_NEXT_VERSION, copied from treiber.h with its
 * negative-control switch. The 16-byte head is one Relacy atomic of a
 * two-word struct: the C code's two plain loads of its halves (version,
 * then top) are two loads of the whole, each keeping its half, which is
 * what an 8-byte load of half of a 16-byte location can return (some
 * store to the pair, in the pair's modification order); the double-width
 * CAS compares and swaps both words at once, as cmpxchg16b does.
 *
 * Properties, in every explored execution:
 *  - a node is held by at most one thread: a pop never returns a node
 *    that another thread holds (the ABA guard), and after the threads are
 *    done the stack holds exactly the nodes nobody holds;
 *  - the popper sees what the pusher wrote into the node's object before
 *    pushing it (a Relacy variable: a data race otherwise).
 *
 * Negative control: built with -DCREW_NEGATIVE_CONTROL_POOL_ABA_VERSION
 * (treiber.h's own switch, the C negative control's), the version never
 * changes, and scenario aba must report a node held twice.
 */
#include "model.hpp"

#include <cstdint>
#include <ostream>

#include "model_orders.h"

namespace {

struct node {
    rl::atomic<node *> next;
    rl::var<int> obj; /* written by the node's holder only */
    int held;         /* ghost: threads holding it (the model's own state) */
};

/* The 16-byte head: AO_double_t's two words. */
struct head_t {
    node *top;
    uintptr_t version;
    bool operator==(const head_t &o) const { return top == o.top && version == o.version; }
    bool operator!=(const head_t &o) const { return !(*this == o); }
};

std::ostream &operator<<(std::ostream &s, const head_t &h)
{
    return s << "{top=" << static_cast<void *>(h.top) << ", version=" << h.version << "}";
}

struct stack {
    rl::atomic<head_t> head;

    void init() { head.store(head_t{NULL, 0}, rl::mo_relaxed, $); }

    /* crew_treiber_cas */
    bool cas(node *old_top, uintptr_t old_ver, node *new_top, uintptr_t new_ver)
    {
        head_t expected{old_top, old_ver};
        return head.compare_exchange_strong(expected, head_t{new_top, new_ver},
                                            MO_CAS(treiber_cas));
    }

    /* crew_treiber_push_chain with first == last (crew_treiber_push) */
    void push(node *n)
    {
        for (;;) {
            uintptr_t ver = head.load(MO_LOAD(treiber_push_version)).version;
            node *top = head.load(MO_LOAD(treiber_push_top)).top;
            n->next.store(top, MO_STORE(treiber_push_link));
            if (cas(top, ver, n, CREW_TREIBER_NEXT_VERSION(ver)))
                return;
            rl::yield(1, $); /* crew_treiber_backoff */
        }
    }

    /* crew_treiber_pop */
    node *pop()
    {
        for (;;) {
            uintptr_t ver = head.load(MO_LOAD(treiber_pop_version)).version;
            node *top = head.load(MO_LOAD(treiber_pop_top)).top;
            if (top == NULL)
                return NULL;
            node *next = top->next.load(MO_LOAD(treiber_pop_next));
            if (cas(top, ver, next, CREW_TREIBER_NEXT_VERSION(ver)))
                return top;
            rl::yield(1, $);
        }
    }
};

template <class Derived, int Threads, int Nodes>
struct treiber_test : rl::test_suite<Derived, Threads> {
    stack s;
    node nodes[Nodes];

    void setup(int on_stack)
    {
        s.init();
        for (int i = 0; i < Nodes; i++) {
            nodes[i].next.store(NULL, rl::mo_relaxed, $);
            nodes[i].obj($) = 0;
            nodes[i].held = 1;
        }
        /* nodes[0] ends on top */
        for (int i = on_stack - 1; i >= 0; i--)
            give(&nodes[i], i);
    }

    node *take()
    {
        node *n = s.pop();
        if (n != NULL) {
            RL_ASSERT(n->held == 0); /* held by another thread: ABA */
            n->held = 1;
            (void)(int)n->obj($); /* the object the pusher left: ordered after it */
        }
        return n;
    }

    void give(node *n, int value)
    {
        RL_ASSERT(n->held == 1);
        n->obj($) = value;
        n->held = 0;
        s.push(n);
    }

    void after()
    {
        /* Quiescent: the stack holds exactly the nodes nobody holds. */
        int on_stack = 0;
        node *n;
        while ((n = s.pop()) != NULL) {
            RL_ASSERT(n->held == 0);
            n->held = 1;
            on_stack++;
        }
        for (int i = 0; i < Nodes; i++)
            RL_ASSERT(nodes[i].held == 1);
        (void)on_stack;
    }
};

/* The ABA scenario. The stack is A -> B. Thread 0 pops: it reads the
 * version, top A and A's next B, and may be preempted before its CAS;
 * meanwhile thread 1 pops A, pops B and pushes A back. Thread 0's CAS must
 * then fail (the version moved on): with a frozen version it succeeds and
 * installs B, which thread 1 holds, as the top. */
struct aba : treiber_test<aba, 2, 2> {
    node *mine[2] = {NULL, NULL};
    void before() { setup(2); }
    void thread(unsigned t)
    {
        if (t == 0) {
            mine[0] = take();
        } else {
            node *a = take();
            node *b = take();
            if (a != NULL)
                give(a, 10);
            mine[1] = b;
        }
    }
};

/* Three threads each push a node of their own and pop one, on a stack
 * holding one node: exactly-once, and each popper sees the object the
 * pusher wrote. */
struct push_pop : treiber_test<push_pop, 3, 4> {
    void before()
    {
        setup(1);
        /* nodes[1..3] are the threads' own */
    }
    void thread(unsigned t)
    {
        give(&nodes[1 + t], 20 + (int)t);
        node *n = take();
        if (n != NULL && t == 0)
            give(n, 30);
    }
};

const crew_model::scenario scenarios[] = {
    {"aba", 300000, 3, crew_model::run_test<aba>},
    {"push_pop", 200000, 2, crew_model::run_test<push_pop>},
};

} // namespace

CREW_MODEL_MAIN(scenarios)
