/*
 * Model of the sleep/wake handshake for injected work: outside threads
 * push into the injection queue (a seq_cst store of WRITTEN) and call
 * crew_wake_after_sc_publish (a seq_cst load of the idle word); workers
 * that find nothing go to sleep through crew_idle_sleep (seq_cst RMW
 * announcement, then crew_work_visible's seq_cst look at the queue's
 * head). The queue is injector_model.hpp, the idle word sleep_model.hpp:
 * both transcriptions of the C code with its orders (model_orders.h).
 *
 * A worker runs crew_worker_main's loop: take an item (the queue, batches
 * of one), else crew_idle_sleep, and leave once stopping is set and no
 * work is visible. Whoever takes the last item stops the pool (stop_and_
 * join's stopping + crew_wake_all_workers), and only then: so until every
 * item is taken nothing but the handshake under test wakes a sleeper.
 *
 * Property: no lost wake-up. If a worker sleeps while an item it did not
 * see stays in the queue and no wake is sent for it, that worker sleeps
 * forever and the producers end: Relacy reports DEADLOCK. Also: every item
 * is taken exactly once.
 *
 * Negative control: with the sleeper's announcement weakened to relaxed
 * (-DCREW_MO_OVERRIDE_sleep_idle_announce=rl::mo_relaxed), scenario
 * injected must report DEADLOCK: the producer's seq_cst load of the idle
 * word no longer has to see the sleeper, nor the sleeper's look the item.
 */
#include "injector_model.hpp"
#include "sleep_model.hpp"

namespace {

using crew_model::inj_item;

const int WORKERS_MAX = 2;

template <class Derived, int Threads, int Workers, int Items>
struct injected_test : rl::test_suite<Derived, Threads> {
    crew_model::injector q;
    crew_model::idle_pool pool;
    rl::atomic<uint64_t> batch_ctl[WORKERS_MAX]; /* the workers' batches: unused, empty */
    int taken[Items + 1];
    int total = 0;

    void before()
    {
        q.init(0);
        pool.init();
        for (int i = 0; i < WORKERS_MAX; i++)
            batch_ctl[i].store(0, rl::mo_relaxed, $);
        for (int i = 0; i <= Items; i++)
            taken[i] = 0;
    }

    void produce(int id)
    {
        inj_item it{reinterpret_cast<void *>(uintptr_t(0x1000 + id)), NULL, NULL,
                    uintptr_t(id)};
        RL_ASSERT(q.push(&it, CLOSED) == 0);
        pool.wake_after_sc_publish(false);
    }

    /* crew_work_visible: the queue's head, and every worker's batch
     * (there are no deques in this model). */
    bool work_visible()
    {
        if (!q.empty())
            return true;
        for (int i = 0; i < Workers; i++) {
            uint64_t c = batch_ctl[i].load(MO_LOAD(sleep_visible_batch));
            if (((unsigned)(c >> 8) & 0xffu) < ((unsigned)c & 0xffu))
                return true;
        }
        return false;
    }

    void worker()
    {
        for (;;) {
            inj_item it;
            if (q.pop_batch(&it, 1, 1) == 1) {
                int id = (int)it.kind;
                RL_ASSERT(id >= 1 && id <= Items);
                RL_ASSERT(++taken[id] == 1);
                if (++total == Items)
                    pool.stop();
                continue;
            }
            pool.idle_sleep([] {}, [this] { return work_visible(); });
            if (pool.stopping.load(MO_LOAD(worker_main_stopping)) && !work_visible())
                return;
        }
    }

    void after()
    {
        for (int i = 1; i <= Items; i++)
            RL_ASSERT(taken[i] == 1);
    }
};

/* One outside producer, one worker, one item. */
struct injected : injected_test<injected, 2, 1, 1> {
    void thread(unsigned t)
    {
        if (t == 0)
            produce(1);
        else
            worker();
    }
};

/* One producer posting two items, two workers: the tokens (a wake per
 * item while sleepers outnumber the wakes already coming). */
struct injected_two_workers : injected_test<injected_two_workers, 3, 2, 2> {
    void thread(unsigned t)
    {
        if (t == 0) {
            produce(1);
            produce(2);
        } else {
            worker();
        }
    }
};

const crew_model::scenario scenarios[] = {
    {"injected", 200000, 2, crew_model::run_test<injected>},
    {"injected_two_workers", 200000, 0, crew_model::run_test<injected_two_workers>},
};

} // namespace

CREW_MODEL_MAIN(scenarios)
