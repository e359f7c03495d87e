/*
 * Model of the Chase-Lev deque: src/deque/deque.c itself, compiled into
 * the model through shim/stdatomic.h (each C11 atomic a Relacy atomic,
 * each access a Relacy access with the order written in deque.c). So the
 * model checks the code, not a transcription of it: a change of an order,
 * or of the algorithm, in deque.c is what the model runs at its next build.
 *
 * Properties, in every explored execution:
 *  - every item pushed is taken exactly once (by a pop or one successful
 *    steal), counting what after() pops once the threads are done;
 *  - the taker sees what the owner wrote into the item before pushing it
 *    (the item's payload is a Relacy variable: a read not ordered after the
 *    write is reported as a data race);
 *  - no retired array is freed while a thief may read it, and none leaks
 *    (Relacy checks accesses to freed memory and leaks).
 *
 * Negative control: built with -DCREW_NEGATIVE_CONTROL_DEQUE_POP_FENCE
 * (deque.c's own switch, the one the C negative control uses), the pop's
 * seq_cst fence is gone and scenario two_items must report an item taken
 * twice.
 */
#include "model.hpp"

#include "deque/deque.c"

namespace {

const int MAX_ITEMS = 4;

struct item {
    rl::var<int> payload;
    int taken; /* ghost: how many times taken (the model's own state) */
};

/* The deque, with the items it carries and the checks. */
template <class Derived, int Threads>
struct deque_test : rl::test_suite<Derived, Threads> {
    crew_deque d;
    item items[MAX_ITEMS];
    int pushed = 0;

    void init(size_t capacity)
    {
        crew_model::new_iteration();
        RL_ASSERT(crew_deque_init(&d, capacity) == 0);
        for (int i = 0; i < MAX_ITEMS; i++)
            items[i].taken = 0;
    }

    /* Owner only. */
    void push_next()
    {
        item *it = &items[pushed];
        it->payload($) = 100 + pushed;
        pushed++;
        RL_ASSERT(crew_deque_push(&d, it) == 0);
    }

    void took(void *x)
    {
        item *it = static_cast<item *>(x);
        RL_ASSERT(it >= items && it < items + MAX_ITEMS);
        int v = it->payload($);
        RL_ASSERT(v == 100 + (int)(it - items));
        it->taken++;
        RL_ASSERT(it->taken == 1); /* taken twice: the deque's invariant broke */
    }

    void pop_one()
    {
        void *x = crew_deque_pop(&d);
        if (x != NULL)
            took(x);
    }

    void steal_one()
    {
        void *x;
        if (crew_deque_steal(&d, &x) == CREW_STEAL_OK)
            took(x);
    }

    void after()
    {
        /* Quiescent: what is left is popped, then every item pushed must
         * have been taken exactly once. */
        void *x;
        while ((x = crew_deque_pop(&d)) != NULL)
            took(x);
        for (int i = 0; i < pushed; i++)
            RL_ASSERT(items[i].taken == 1);
        crew_deque_destroy(&d);
    }
};

/* Two items pushed before the threads start; the owner pops both while a
 * thief steals twice: the race for the last item, and the store-load
 * pairing of pop's fence with steal's (the negative control's scenario). */
struct two_items : deque_test<two_items, 2> {
    void before()
    {
        init(4);
        push_next();
        push_next();
    }
    void thread(unsigned t)
    {
        if (t == 0) {
            pop_one();
            pop_one();
        } else {
            steal_one();
            steal_one();
        }
    }
};

/* The owner pushes while a thief steals: push's release of bottom
 * against steal's acquire (the payload check), then the owner pops. */
struct push_pop_steal : deque_test<push_pop_steal, 2> {
    void before() { init(4); }
    void thread(unsigned t)
    {
        if (t == 0) {
            push_next();
            push_next();
            pop_one();
            push_next();
            pop_one();
        } else {
            steal_one();
            steal_one();
        }
    }
};

/* Growth: capacity 2, the third push copies the items into an array of 4
 * and retires the old one while a thief may still read it. */
struct growth : deque_test<growth, 2> {
    void before()
    {
        init(2);
        push_next();
    }
    void thread(unsigned t)
    {
        if (t == 0) {
            push_next();
            push_next(); /* grows */
            pop_one();
        } else {
            steal_one();
            steal_one();
        }
    }
};

/* Two thieves and the owner on two items. */
struct two_thieves : deque_test<two_thieves, 3> {
    void before()
    {
        init(4);
        push_next();
        push_next();
    }
    void thread(unsigned t)
    {
        if (t == 0)
            pop_one();
        else
            steal_one();
    }
};

const crew_model::scenario scenarios[] = {
    {"two_items", 200000, 3, crew_model::run_test<two_items>},
    {"push_pop_steal", 200000, 3, crew_model::run_test<push_pop_steal>},
    {"growth", 200000, 3, crew_model::run_test<growth>},
    {"two_thieves", 200000, 3, crew_model::run_test<two_thieves>},
};

} // namespace

CREW_MODEL_MAIN(scenarios)
