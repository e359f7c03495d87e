/*
 * Model of the injection queue (src/scheduler/injector.c, transcribed in
 * injector_model.hpp with the C code's orders): producers claiming slots
 * by CAS on tail and installing the next segment when they take a
 * segment's last slot; consumers claiming by CAS on head after seeing
 * WRITTEN, and the one that takes the last slot moving head to the next
 * segment; crew_injector_empty looking while head moves.
 *
 * Every queue starts at lap 0, offset 61: the second item pushed takes
 * the segment's last slot (62), so each scenario crosses a segment's end.
 *
 * Properties, in every explored execution:
 *  - every item pushed is popped exactly once, whole: its four words are
 *    those one push wrote (a consumer copies them before its claiming CAS;
 *    the copy must be of the written slot);
 *  - one producer's items come out in its order when one thread consumes;
 *  - crew_injector_empty never answers "empty" while the queue holds an
 *    item throughout the look.
 *
 * Negative control: built with the WRITTEN store weakened to relaxed
 * (-DCREW_MO_OVERRIDE_inj_push_written=rl::mo_relaxed), a consumer that
 * sees WRITTEN may copy the item's words before the producer's stores:
 * scenario two_producers must report a torn or empty item.
 */
#include "injector_model.hpp"

namespace {

using crew_model::inj_item;

const uint64_t START = 61; /* lap 0, offset 61: two slots before the segment's end */
const int MAX_ITEMS = 4;

inj_item make_item(int id)
{
    inj_item it;
    it.fn = reinterpret_cast<void *>(uintptr_t(0x1000 + id));
    it.arg = reinterpret_cast<void *>(uintptr_t(0x2000 + id));
    it.ref = reinterpret_cast<void *>(uintptr_t(0x3000 + id));
    it.kind = uintptr_t(id);
    return it;
}

template <class Derived, int Threads>
struct injector_test : rl::test_suite<Derived, Threads> {
    crew_model::injector q;
    int taken[MAX_ITEMS] = {0, 0, 0, 0};
    int pushed = 0;
    int total_taken = 0;

    void push(int id)
    {
        inj_item it = make_item(id);
        RL_ASSERT(q.push(&it, CLOSED) == 0);
        pushed++;
    }

    /* The item's id, after checking it is whole and new. */
    int took(const inj_item &it)
    {
        int id = (int)it.kind;
        RL_ASSERT(id >= 1 && id < MAX_ITEMS); /* 0: copied before it was written */
        RL_ASSERT(reinterpret_cast<uintptr_t>(it.fn) == uintptr_t(0x1000 + id));
        RL_ASSERT(reinterpret_cast<uintptr_t>(it.arg) == uintptr_t(0x2000 + id));
        RL_ASSERT(reinterpret_cast<uintptr_t>(it.ref) == uintptr_t(0x3000 + id));
        taken[id]++;
        RL_ASSERT(taken[id] == 1);
        total_taken++;
        return id;
    }

    /* One item: waits (yielding) while the queue looks empty. */
    int pop_one()
    {
        inj_item it;
        while (q.pop_batch(&it, 1, 1) == 0)
            rl::yield(1, $);
        return took(it);
    }

    void after()
    {
        inj_item it;
        while (q.pop_batch(&it, 1, 1) == 1)
            took(it);
        for (int id = 1; id <= pushed; id++)
            RL_ASSERT(taken[id] == 1);
    }
};

/* Two producers race for the last two slots of the first segment (the
 * winner of slot 62 installs the next one); one consumer takes both,
 * moving head to the next segment. */
struct two_producers : injector_test<two_producers, 3> {
    void before() { q.init(START); }
    void thread(unsigned t)
    {
        if (t < 2) {
            push(1 + (int)t);
        } else {
            pop_one();
            pop_one();
        }
    }
};

/* One producer pushes three items (the third into the next segment)
 * while two consumers take them, with batches of up to two: a consumer
 * may claim slots 61 and 62 at once and move head. One producer's items
 * come out in order. */
struct two_consumers : injector_test<two_consumers, 3> {
    int order[2][MAX_ITEMS];
    int count[2] = {0, 0};
    void before() { q.init(START); }
    void thread(unsigned t)
    {
        if (t == 0) {
            push(1);
            push(2);
            push(3);
            return;
        }
        unsigned c = t - 1;
        while (total_taken < 3) {
            inj_item it[2];
            unsigned n = q.pop_batch(it, 2, 1);
            if (n == 0) {
                rl::yield(1, $);
                continue;
            }
            for (unsigned i = 0; i < n; i++)
                order[c][count[c]++] = took(it[i]);
        }
        /* each consumer saw the producer's items in push order */
        for (int i = 1; i < count[c]; i++)
            RL_ASSERT(order[c][i - 1] < order[c][i]);
    }
};

/* Three items are in the queue; a consumer takes two (claiming the last
 * slot and moving head in three steps) while another thread asks
 * crew_injector_empty: the third item is there throughout, so the answer
 * must be "not empty", whatever step of the move the look meets. */
struct empty_during_move : injector_test<empty_during_move, 2> {
    void before()
    {
        q.init(START);
        push(1);
        push(2);
        push(3);
    }
    void thread(unsigned t)
    {
        if (t == 0) {
            pop_one();
            pop_one();
        } else {
            RL_ASSERT(!q.empty());
            RL_ASSERT(!q.empty());
        }
    }
};

const crew_model::scenario scenarios[] = {
    {"two_producers", 200000, 2, crew_model::run_test<two_producers>},
    {"two_consumers", 200000, 0, crew_model::run_test<two_consumers>},
    {"empty_during_move", 200000, 2, crew_model::run_test<empty_during_move>},
};

} // namespace

CREW_MODEL_MAIN(scenarios)
